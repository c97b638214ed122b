"""Load for t/test_load.py: many keep-alive connections from one asyncio
loop, and slow clients.

run_load()   N raw HTTP/1.1 connections, each alternating Put Block (its
             own blob, a few block ids reused) and Get Blob (one of a set
             of known blobs, body checked), for a set time; authorized by
             an account SAS in the URL, so no per-request signing eats the
             client's CPU.  Returns a Stats.
RssSampler   VmRSS of the workers, once a second, in a thread.
"""

import asyncio
import base64
import hashlib
import re
import threading
import time

from .hostile import rss_kib, worker_pids


class Stats:

    def __init__(self):
        self.requests = {"PutBlock": 0, "GetBlob": 0}
        self.errors = []
        self.error_count = 0
        self.open = 0
        self.peak_open = 0
        self.reconnects = 0
        self.latency_max = 0.0
        self.latencies = []

    def error(self, what):
        self.error_count += 1
        if len(self.errors) < 20:
            self.errors.append(what)

    @property
    def total(self):
        return sum(self.requests.values())

    def p99(self):
        if not self.latencies:
            return 0.0
        s = sorted(self.latencies)
        return s[int(len(s) * 0.99)]


async def _read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(m.group(1)) if m else 0
    body = await reader.readexactly(length) if length else b""
    close = re.search(rb"(?im)^connection:\s*close", head) is not None
    return status, head, body, close


async def _connection(n, host, port, account, container, sas, gets,
                      run, stats, timeout):
    blob = "load-%05d" % n
    put_body = (b"%05d" % n) * 820              # 4,100 bytes
    reader = writer = None
    i = 0

    async def connect():
        nonlocal reader, writer
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout)
        stats.open += 1
        stats.peak_open = max(stats.peak_open, stats.open)

    def disconnect():
        nonlocal reader, writer
        if writer is not None:
            writer.close()
            stats.open -= 1
        reader = writer = None

    try:
        await connect()
    except (OSError, asyncio.TimeoutError) as e:
        stats.error("connect %d: %r" % (n, e))
        return

    # every connection is open before the first request goes
    await run["gate"].wait()

    try:
        while time.monotonic() < run["deadline"]:
            i += 1
            if i % 2:
                bid = base64.b64encode(b"blk-%d" % (i // 2 % 8)).decode()
                target = "/%s/%s/%s?comp=block&blockid=%s&%s" % (
                    account, container, blob, bid.replace("=", "%3D"), sas)
                req = (b"PUT %s HTTP/1.1\r\nHost: %s:%d\r\n"
                       b"x-ms-version: 2021-12-02\r\n"
                       b"Content-Length: %d\r\n\r\n"
                       % (target.encode(), host.encode(), port,
                          len(put_body))) + put_body
                op, want = "PutBlock", 201
            else:
                name, digest = gets[(n + i) % len(gets)]
                target = "/%s/%s/%s?%s" % (account, container, name, sas)
                req = (b"GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
                       b"x-ms-version: 2021-12-02\r\n\r\n"
                       % (target.encode(), host.encode(), port))
                op, want = "GetBlob", 200

            if writer is None:
                await connect()
                stats.reconnects += 1

            t = time.monotonic()
            try:
                writer.write(req)
                await writer.drain()
                status, head, body, close = await asyncio.wait_for(
                    _read_response(reader), timeout)
            except (OSError, asyncio.IncompleteReadError,
                    asyncio.TimeoutError) as e:
                stats.error("%s on connection %d: %r" % (op, n, e))
                disconnect()
                continue

            elapsed = time.monotonic() - t
            stats.latency_max = max(stats.latency_max, elapsed)
            if len(stats.latencies) < 200000:
                stats.latencies.append(elapsed)

            if status != want:
                stats.error("%s on connection %d: %d %r" % (
                    op, n, status, head[:200] + body[:300]))
            elif op == "GetBlob" and hashlib.md5(body).digest() != digest:
                stats.error("GetBlob on connection %d: wrong bytes" % n)
            else:
                stats.requests[op] += 1

            # keepalive_requests reached: the server says so, we reconnect
            if close:
                disconnect()
    finally:
        disconnect()


async def _run(host, port, account, container, sas, gets, connections,
               seconds, stats, timeout, ramp):
    run = {"gate": asyncio.Event(), "deadline": 0.0}
    tasks = []
    for n in range(connections):
        tasks.append(asyncio.ensure_future(_connection(
            n, host, port, account, container, sas, gets, run, stats,
            timeout)))
        if n % ramp == ramp - 1:
            await asyncio.sleep(0.05)

    # wait until all are connected (or failed)
    t = time.monotonic()
    while (stats.open + stats.error_count < connections
           and time.monotonic() - t < 60):
        await asyncio.sleep(0.05)

    stats.connected = stats.open
    stats.started = time.monotonic()
    run["deadline"] = stats.started + seconds
    run["gate"].set()
    await asyncio.gather(*tasks)
    stats.elapsed = time.monotonic() - stats.started


def run_load(host, port, account, container, sas, gets, connections,
             seconds, timeout=60, ramp=100):
    """gets: [(blob name, md5 digest)] to read.  Blocks for `seconds`
    (plus the ramp-up) and returns the Stats."""

    stats = Stats()
    asyncio.run(_run(host, port, account, container, sas, gets,
                     connections, seconds, stats, timeout, ramp))
    return stats


class RssSampler(threading.Thread):
    """samples[pid] = [(seconds since start, VmRSS KiB)], every period."""

    def __init__(self, g, period=1.0):
        super().__init__(daemon=True)
        self.pids = worker_pids(g)
        self.period = period
        self.samples = {pid: [] for pid in self.pids}
        self.halt = threading.Event()
        self.t0 = time.monotonic()

    def sample(self):
        now = time.monotonic() - self.t0
        for pid in self.pids:
            self.samples[pid].append((now, rss_kib(pid)))

    def run(self):
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(self.period)

    def stop(self):
        self.halt.set()
        self.join(10)
        self.sample()

    def total(self):
        """[(t, sum of the workers' RSS)]"""
        n = min(len(s) for s in self.samples.values())
        return [(self.samples[self.pids[0]][i][0],
                 sum(self.samples[p][i][1] for p in self.pids))
                for i in range(n)]
