"""Helpers for t/test_races.py.

Export:    one backing directory, several `bindfs --xattr-none` mounts of it
           (the stand-in for gateway hosts on one NFS export, as in
           t/test_multigateway.py); unmounted on close()
Prepared:  a request signed and connected ahead, sent when a barrier
           opens, so that the contenders really overlap
"""

import base64
import hashlib
import http.client
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from . import azsign
from .gateway import Headers, Response, encode_query, normalize_query


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _umount(mnt):
    for cmd in (["fusermount", "-u", mnt], ["umount", mnt],
                ["fusermount3", "-u", mnt], ["umount", "-l", mnt]):
        if not os.path.ismount(mnt):
            return
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass


class Export:
    """backing: the directory; mounts: [Path] of bindfs views of it.
    Raises RuntimeError("FUSE unavailable: ...") when it cannot mount."""

    def __init__(self, hosts=2):
        if not os.path.exists("/dev/fuse"):
            raise RuntimeError("FUSE unavailable: no /dev/fuse")
        bindfs = shutil.which("bindfs")
        if not bindfs:
            raise RuntimeError("bindfs is not installed "
                               "(scripts/install-deps.sh test)")

        self.base = Path(tempfile.mkdtemp(prefix="blob-races-", dir="/tmp"))
        self.backing = self.base / "backing"
        self.backing.mkdir()
        self.mounts = []
        try:
            for i in range(hosts):
                mnt = self.base / ("host-%d" % i)
                mnt.mkdir()
                p = subprocess.run([bindfs, "--xattr-none",
                                    str(self.backing), str(mnt)],
                                   stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True,
                                   timeout=30)
                if p.returncode != 0 or not os.path.ismount(mnt):
                    raise RuntimeError("FUSE unavailable: bindfs: %s"
                                       % (p.stderr + p.stdout).strip())
                self.mounts.append(mnt)
        except BaseException:
            self.close()
            raise

    def close(self):
        for mnt in self.mounts:
            _umount(str(mnt))
        if not any(os.path.ismount(m) for m in self.mounts):
            shutil.rmtree(self.base, ignore_errors=True)
        self.mounts = []


class Prepared:
    """One request, signed (Shared Key) and connected now, sent by go()."""

    def __init__(self, g, method, path, query=None, headers=None,
                 body=b"", timeout=120):
        query = normalize_query(query)
        headers = dict(headers or {})
        url_path = "/" + g.account + path
        headers.setdefault("Host", "%s:%d" % (g.host, g.port))
        if body or method in ("PUT", "POST"):
            headers.setdefault("Content-Length", str(len(body)))
        headers.update(azsign.shared_key_headers(
            g.account, g.key, method, url_path,
            query=[(n, "" if v is None else str(v)) for n, v in query],
            headers=headers))
        q = encode_query(query)
        self.target = url_path + ("?" + q if q else "")
        self.method = method
        self.headers = headers
        self.body = body
        self.conn = http.client.HTTPConnection(g.host, g.port,
                                               timeout=timeout)
        self.conn.connect()

    def go(self):
        try:
            self.conn.putrequest(self.method, self.target, skip_host=True,
                                 skip_accept_encoding=True)
            for k, v in self.headers.items():
                self.conn.putheader(k, v)
            self.conn.endheaders(self.body if self.body else None)
            resp = self.conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.reason,
                            Headers(resp.getheaders()), data)
        finally:
            self.conn.close()


def run_threads(n, fn, timeout=120):
    """Runs fn(0) .. fn(n - 1) in n threads at once; fails with the first
    errors any of them raised."""

    errors = []

    def wrap(i):
        try:
            fn(i)
        except BaseException as e:          # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not errors, errors[:5]


def contend(prepared, timeout=120):
    """Sends every Prepared at once (a barrier); returns their responses
    in order, or the exception a request raised in its place."""

    results = [None] * len(prepared)
    barrier = threading.Barrier(len(prepared))

    def one(i):
        try:
            barrier.wait(timeout)
            results[i] = prepared[i].go()
        except BaseException as e:     # reported by the caller
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,))
               for i in range(len(prepared))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


def wait_for(fn, what, settle=10):
    """Polls fn() until true: each mount caches attributes for a while."""

    deadline = time.monotonic() + settle
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            assert v, "still not so after %ds: %s" % (settle, what)
            return v
        time.sleep(0.2)
