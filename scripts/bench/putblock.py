"""N concurrent Put Block requests against one gateway, with RSS sampling.

Used by bench.py (the "1,000 concurrent Put Block" check); runnable alone:

    /usr/bin/python3 scripts/bench/putblock.py PORT MASTER_PID [N [MiB]]

against a running gateway (account SAS built here; the container "conc"
must exist).

Each request is its own connection (asyncio).  Every client sends its
headers and the first 64 KiB of its body, then waits until all N have got
that far, and only then sends the rest: so all N requests are inside the
server at once, each with a body partly received, which is when a server
that buffers bodies in memory would need the most.  Meanwhile a thread
reads VmRSS of every worker from /proc every 20 ms (and every 100 ms
counts its sockets, to see how the connections split between the
workers); VmHWM (the kernel's own peak) is read at the end.  Errors are
non-201 answers, resets and timeouts.  Afterwards Get Block List must show
all N blocks uncommitted.
"""

import asyncio
import base64
import http.client
import os
import re
import resource
import sys
import threading
import time
import urllib.parse

FIRST = 64 * 1024
CHUNK = 256 * 1024
TIMEOUT = 600


def _proc_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _sockets(pid):
    n = 0
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(
                        "socket:"):
                    n += 1
            except OSError:
                pass
    except OSError:
        pass
    return n


def _raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 256
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            raise RuntimeError("RLIMIT_NOFILE hard limit %d < %d" % (hard,
                                                                     want))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def _burst(port, path, sas, n, size, stats):
    body = memoryview(bytes(range(256)) * (size // 256 + 1))[:size]
    started = 0
    go = asyncio.Event()

    async def one(i):
        nonlocal started
        # Azure wants every block id of a blob to have the same length
        bid = base64.b64encode(b"block-%08d" % i).decode()
        target = "%s?comp=block&blockid=%s&%s" % (
            path, urllib.parse.quote(bid, safe=""), sas)
        head = ("PUT %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n"
                % (target, port, size)).encode()
        counted = False
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head + body[:FIRST])
            await writer.drain()
            stats["in_flight"] += 1
            stats["peak_in_flight"] = max(stats["peak_in_flight"],
                                          stats["in_flight"])
            counted = True
            started += 1
            if started == n:
                stats["all_started"] = time.monotonic()
                go.set()
            await go.wait()

            off = FIRST
            while off < size:
                writer.write(body[off:off + CHUNK])
                off += CHUNK
                await writer.drain()

            status = await reader.readline()
            m = re.match(rb"HTTP/1\.[01] (\d{3})", status)
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            if length:
                await reader.readexactly(length)
            code = int(m.group(1)) if m else 0
            if code == 201:
                stats["ok"] += 1
            else:
                stats["errors"] += 1
                stats["kinds"][str(code)] = stats["kinds"].get(str(code),
                                                               0) + 1
        except Exception as e:      # a reset, a timeout: all are errors
            stats["errors"] += 1
            k = type(e).__name__
            stats["kinds"][k] = stats["kinds"].get(k, 0) + 1
            if not go.is_set():
                # do not leave the others waiting for this one
                started += 1
                if started == n:
                    go.set()
        finally:
            if counted:
                stats["in_flight"] -= 1
            if writer is not None:
                writer.close()

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))),
                           TIMEOUT)


def block_count(port, path, sas):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        c.request("GET", "%s?comp=blocklist&blocklisttype=uncommitted&%s"
                  % (path, sas))
        r = c.getresponse()
        data = r.read()
        if r.status != 200:
            return -1
        return data.count(b"<Block>")
    finally:
        c.close()


def run(srv, path, sas, n, size):
    """srv: an object with .port and .worker_pids(); returns a dict."""

    _raise_nofile(n)
    pids = srv.worker_pids()
    rss = {pid: _proc_kib(pid, "VmRSS") for pid in pids}
    before = dict(rss)
    socks = {pid: 0 for pid in pids}
    stop = threading.Event()

    def sample():
        i = 0
        while not stop.is_set():
            for pid in pids:
                rss[pid] = max(rss[pid], _proc_kib(pid, "VmRSS"))
                # how the connections split between the workers
                if i % 5 == 0:
                    socks[pid] = max(socks[pid], _sockets(pid))
            i += 1
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    stats = {"ok": 0, "errors": 0, "kinds": {}, "in_flight": 0,
             "peak_in_flight": 0}
    t0 = time.monotonic()
    try:
        asyncio.run(_burst(srv.port, path, sas, n, size, stats))
    except asyncio.TimeoutError:
        stats["errors"] += n - stats["ok"] - stats["errors"]
        stats["kinds"]["overall timeout"] = 1
    seconds = time.monotonic() - t0
    stop.set()
    sampler.join()

    workers = {pid: {"rss": rss[pid], "before": before[pid],
                     "hwm": _proc_kib(pid, "VmHWM"), "sockets": socks[pid]}
               for pid in pids}
    return {"ok": stats["ok"], "errors": stats["errors"],
            "error_kinds": ", ".join("%s: %d" % kv
                                     for kv in stats["kinds"].items()),
            "peak_in_flight": stats["peak_in_flight"], "seconds": seconds,
            "workers": workers,
            "max_rss": max([max(w["rss"], w["hwm"])
                            for w in workers.values()] or [0]),
            "listed": block_count(srv.port, path, sas)}


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                    "t"))
    from lib import azsign

    class _Srv:
        def __init__(self, port, master):
            self.port, self.master = port, master

        def worker_pids(self):
            with open("/proc/%d/task/%d/children" % (self.master,
                                                     self.master)) as f:
                return [int(p) for p in f.read().split()]

    port, master = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    size = int(sys.argv[4]) * 1024 * 1024 if len(sys.argv) > 4 else 4 << 20
    sas = azsign.account_sas("devstoreaccount1",
                             "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6I"
                             "FsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
                             "racwdl")
    res = run(_Srv(port, master), "/devstoreaccount1/conc/blocks.bin", sas,
              n, size)
    for k, v in res.items():
        print("%s: %s" % (k, v))
