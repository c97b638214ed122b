"""Crash-consistency workload and checker (t/test_crash.py).

A round: many client threads write, stage, commit and delete a small set of
blobs while a killer sends SIGKILL to nginx workers, and at the end to the
master and the whole process group.  Every operation is recorded with the
wall-clock interval in which the client saw it (sent .. answered or failed),
so that after the restart the state of every blob can be checked against
what the clients were told:

- a blob's final state is the effect of one operation O (its bytes, or its
  absence for a delete) that may have been applied: acknowledged, or cut
  by the crash (not a definite 4xx refusal);
- no acknowledged operation A on the same blob began after O ended, since
  then A is later than O in every serial order (this is what makes every
  acknowledged, not-superseded write survive);
- the bytes are exactly those of O (MD5 and length), its Content-MD5
  property is the MD5 of the bytes and its metadata names O: properties
  and bytes of one version, never a mix.

The bytes of a body are not kept: a body is a function of a seed, so only
its MD5 and length are stored.
"""

import base64
import hashlib
import http.client
import os
import random
import signal
import threading
import time
import urllib.parse


ACKED_DELETE = (202, 404)


def md5_b64(digest):
    return base64.b64encode(digest).decode()


def body(seed, size):
    return random.Random(seed).randbytes(size)


def pick_size(rnd):
    """Mostly small and middling bodies, some large enough that a kill
    lands while one streams into a staging file."""

    x = rnd.random()
    if x < 0.05:
        return 0
    if x < 0.45:
        return rnd.randint(1, 4096)
    if x < 0.85:
        return rnd.randint(16 * 1024, 256 * 1024)
    return rnd.randint(1024 * 1024, 3 * 1024 * 1024)


class Op:
    __slots__ = ("id", "kind", "container", "name", "md5", "size",
                 "t_start", "t_end", "status", "error")

    def __init__(self, op_id, kind, container, name):
        self.id = op_id
        self.kind = kind            # "put", "blocks", "delete", "initial"
        self.container = container
        self.name = name
        self.md5 = None             # base64 MD5 of the whole blob written
        self.size = None
        self.t_start = time.time()
        self.t_end = None
        self.status = None          # final status, None: no answer
        self.error = None

    @property
    def key(self):
        return (self.container, self.name)

    @property
    def writes(self):
        return self.kind in ("put", "blocks", "initial") and \
            self.md5 is not None

    @property
    def acked(self):
        if self.kind == "delete":
            return self.status in ACKED_DELETE
        if self.kind == "initial":
            return True
        return self.status == 201

    @property
    def maybe_applied(self):
        """Acknowledged, or no answer / a 5xx (the crash may have cut it
        after the commit).  A 4xx is a refusal: nothing changed."""

        if self.acked:
            return True
        if self.kind == "blocks" and self.md5 is None:
            return False        # Put Block List was never sent
        return self.status is None or self.status >= 500

    def __repr__(self):
        return ("<op %s %s %s/%s md5=%s size=%s [%.3f, %.3f] %s %s>"
                % (self.id, self.kind, self.container, self.name, self.md5,
                   self.size, self.t_start, self.t_end or -1, self.status,
                   self.error))


class Workload:
    """Client threads doing Put Blob, Put Block + Put Block List and
    Delete Blob on a fixed set of names."""

    def __init__(self, gateway, names, threads, seed):
        self.gw = gateway
        self.names = names          # [(container, name)]
        self.threads = threads
        self.seed = seed
        self.ops = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self._threads = []
        self._ids = 0

    def _new_op(self, kind, container, name):
        with self.lock:
            self._ids += 1
            op = Op("%d-%d" % (self.seed, self._ids), kind, container, name)
            self.ops.append(op)
        return op

    def _request(self, method, container, name, query=None, headers=None,
                 data=b""):
        return self.gw.request(
            method, "/%s/%s" % (container, urllib.parse.quote(name)),
            query=query, headers=headers, body=data, timeout=120)

    def _put(self, rnd, container, name):
        op = self._new_op("put", container, name)
        size = pick_size(rnd)
        data = body(rnd.getrandbits(64), size)
        op.md5 = md5_b64(hashlib.md5(data).digest())
        op.size = size
        op.t_start = time.time()
        try:
            r = self._request("PUT", container, name, headers={
                "x-ms-blob-type": "BlockBlob",
                "x-ms-meta-op": op.id}, data=data)
            op.status = r.status
            if r.status >= 400:
                op.error = r.error_code
            if r.status == 201 and r.headers.get("Content-MD5") != op.md5:
                op.error = "Content-MD5 %r in the answer" % \
                    r.headers.get("Content-MD5")
        except (OSError, http.client.HTTPException) as e:
            op.error = type(e).__name__
        op.t_end = time.time()

    def _blocks(self, rnd, container, name):
        op = self._new_op("blocks", container, name)
        h = hashlib.md5()
        ids = []
        size = 0
        op.t_start = time.time()
        try:
            for _ in range(rnd.randint(1, 4)):
                n = pick_size(rnd) // 2 + 1
                data = body(rnd.getrandbits(64), n)
                block_id = base64.b64encode(
                    b"%032x" % rnd.getrandbits(128)).decode()
                r = self._request("PUT", container, name,
                                  query=[("comp", "block"),
                                         ("blockid", block_id)], data=data)
                if r.status != 201:
                    op.status = r.status
                    op.error = "staging"
                    if r.status >= 500:
                        op.error = "staging " + str(r.error_code)
                    op.t_end = time.time()
                    return
                h.update(data)
                size += n
                ids.append(block_id)
        except (OSError, http.client.HTTPException):
            op.error = "staging"
            op.t_end = time.time()
            return

        op.md5 = md5_b64(h.digest())
        op.size = size
        xml = ('<?xml version="1.0" encoding="utf-8"?><BlockList>'
               + "".join("<Latest>%s</Latest>" % i for i in ids)
               + "</BlockList>").encode()
        try:
            r = self._request("PUT", container, name,
                              query=[("comp", "blocklist")],
                              headers={"x-ms-blob-content-md5": op.md5,
                                       "x-ms-meta-op": op.id}, data=xml)
            op.status = r.status
            if r.status >= 400:
                op.error = r.error_code
        except (OSError, http.client.HTTPException) as e:
            op.error = type(e).__name__
        op.t_end = time.time()

    def _delete(self, rnd, container, name):
        op = self._new_op("delete", container, name)
        op.t_start = time.time()
        try:
            r = self._request("DELETE", container, name)
            op.status = r.status
            if r.status >= 400:
                op.error = r.error_code
        except (OSError, http.client.HTTPException) as e:
            op.error = type(e).__name__
        op.t_end = time.time()

    def _run(self, n):
        rnd = random.Random("%d-%d" % (self.seed, n))
        while not self.stop.is_set():
            container, name = rnd.choice(self.names)
            x = rnd.random()
            if x < 0.45:
                self._put(rnd, container, name)
            elif x < 0.8:
                self._blocks(rnd, container, name)
            else:
                self._delete(rnd, container, name)

    def start(self):
        for n in range(self.threads):
            t = threading.Thread(target=self._run, args=(n,), daemon=True)
            t.start()
            self._threads.append(t)

    def join(self, timeout=150):
        self.stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)


# processes

def children(pid):
    """The pids whose parent is pid (nginx workers of a master)."""

    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return out


def group_members(pgid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d))
    return out


def kill9(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def kill_group(gateway, master_first_for=0.0, before=None):
    """SIGKILL the master (then, after a while in which the orphaned
    workers go on serving, everything else) or the whole group at once;
    before() is called just before the group dies."""

    proc, pgid = gateway.proc, gateway._pgid
    if master_first_for:
        kill9(proc.pid)
        time.sleep(master_first_for)
    if before:
        before()
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    gateway.proc = None
    if gateway in gateway_live():
        gateway_live().remove(gateway)

    # orphaned workers are reaped by init: wait until none is left, so
    # that nothing of the old gateway touches the root after the restart
    deadline = time.monotonic() + 10
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not group_members(pgid)


def gateway_live():
    from . import gateway as gw
    return gw.live


# checks

def candidates(history, key):
    """The operations whose effect may be the final state of key."""

    ops = [o for o in history if o.key == key]
    acked = [o for o in ops if o.acked]
    out = []
    for o in ops:
        if not o.maybe_applied:
            continue
        if o.kind not in ("delete", "initial") and not o.writes:
            continue
        if any(a is not o and a.t_start > o.t_end for a in acked):
            continue
        out.append(o)
    return out


def verify_blob(history, key, status, data_md5, size, prop_md5, meta_op):
    """An error string, or None if the state is one the history allows."""

    cands = candidates(history, key)
    if status == 404:
        if any(o.kind == "delete" or (o.kind == "initial" and o.md5 is None)
               for o in cands):
            return None
        return ("%s/%s is missing; it may only be one of:\n  %s"
                % (key + ("\n  ".join(map(repr, cands)),)))

    if status != 200:
        return "%s/%s: Get Blob answered %s" % (key + (status,))

    # several candidates may have sent the same bytes (empty bodies are
    # common): the state is right if one of them explains it whole
    same = [o for o in cands
            if o.writes and o.md5 == data_md5 and o.size == size]
    if same:
        if prop_md5 != data_md5:
            return ("%s/%s: bytes of %r but Content-MD5 %r"
                    % (key + (same[0], prop_md5)))
        if any(o.id == meta_op for o in same):
            return None
        return ("%s/%s: bytes of %s but metadata of op %r"
                % (key + (" or ".join(map(repr, same)), meta_op)))

    every = [o for o in history if o.key == key and o.md5 == data_md5]
    return ("%s/%s has %d bytes, MD5 %s, metadata op %r: %s; "
            "it may only be one of:\n  %s"
            % (key + (size, data_md5, meta_op,
                      "the bytes of " + repr(every[0]) if every
                      else "bytes no client sent in full",
                      "\n  ".join(map(repr, cands)))))


def start_partial_upload(gateway, path, total, sent, query=None,
                         headers=None):
    """A signed PUT whose body stops after `sent` of `total` bytes: the
    socket, kept open, so that the request is mid-body when killed."""

    import socket
    from . import azsign
    from .gateway import encode_query

    url_path = "/%s%s" % (gateway.account, path)
    h = {"Host": "%s:%d" % (gateway.host, gateway.port),
         "Content-Length": str(total)}
    h.update(headers or {})
    h.update(azsign.shared_key_headers(gateway.account, gateway.key, "PUT",
                                       url_path, query=query or [],
                                       headers=h))
    q = encode_query(query or [])
    head = "PUT %s%s HTTP/1.1\r\n" % (url_path, "?" + q if q else "")
    head += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"

    s = socket.create_connection((gateway.host, gateway.port), 10)
    s.sendall(head.encode() + random.Random(1).randbytes(sent))
    return s


def wait_for(predicate, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(step)
    return predicate()
