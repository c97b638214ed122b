"""Short thread tasks in batches, and the worker's properties cache.

Opening a blob for Get Blob / Get Blob Properties / Get Blob Metadata is a
short task: those of one event loop iteration go to the thread pool
together (blob_task_batch).  Each request must still get its own answer,
a full thread queue must still be 503 ServerBusy, and a client that leaves
while its batch runs must not disturb the others.

The properties cache keeps the bytes of a blob's properties file for the
ETag they belong to; these tests change blobs behind one gateway's back
(through a second gateway on the same root, and by writing the file
directly) and check that no stale property is ever served.
"""

import base64
import hashlib
import os
import random
import socket
import threading
import time
import uuid

import pytest

from lib import azsign
from lib.races import run_threads


def make_container(g):
    c = "tb" + uuid.uuid4().hex[:12]
    assert g.request("PUT", "/" + c, query={"restype": "container"}).status \
        == 201
    return c


def put(g, path, body, meta=None, content_type=None):
    headers = {"x-ms-blob-type": "BlockBlob"}
    for k, v in (meta or {}).items():
        headers["x-ms-meta-" + k] = v
    if content_type:
        headers["x-ms-blob-content-type"] = content_type
    r = g.request("PUT", path, headers=headers, body=body)
    assert r.status == 201, r
    return r.headers["ETag"]


@pytest.mark.parametrize("batch", [1, 64])
def test_concurrent_reads_each_get_their_own_blob(gateway_factory, batch):
    g = gateway_factory(extra_http_conf="blob_task_batch %d;" % batch,
                        workers=1)
    c = make_container(g)
    blobs = {}
    for i in range(120):
        body = os.urandom(random.Random(i).randint(0, 9000))
        name = "/%s/b%03d" % (c, i)
        etag = put(g, name, body, meta={"n": str(i)},
                   content_type="text/x-%d" % i)
        blobs[name] = (body, etag, i)
    names = sorted(blobs)

    def reader(k):
        rnd = random.Random(k)
        for _ in range(40):
            name = rnd.choice(names)
            body, etag, i = blobs[name]
            method = rnd.choice(["GET", "HEAD", "META"])
            if method == "META":
                r = g.request("GET", name, query={"comp": "metadata"})
            else:
                r = g.request(method, name)
            assert r.status == 200, (name, r)
            assert r.headers["ETag"] == etag, name
            assert r.headers["x-ms-meta-n"] == str(i), name
            if method == "META":
                continue
            assert r.headers["Content-Type"] == "text/x-%d" % i
            assert r.headers["Content-Length"] == str(len(body))
            assert r.headers["Content-MD5"] == base64.b64encode(
                hashlib.md5(body).digest()).decode()
            if method == "GET":
                assert r.body == body, name

    run_threads(48, reader)


def test_batched_reads_on_a_full_queue_are_server_busy(gateway_factory):
    g = gateway_factory(extra_main_conf="thread_pool tiny threads=1 "
                                        "max_queue=1;",
                        extra_conf="blob_thread_pool tiny;",
                        extra_http_conf="blob_task_batch 2;", workers=1)
    g.allow_log(r"queue overflow")
    c = make_container(g)
    etag = put(g, "/%s/b" % c, b"x" * 100)
    statuses = []
    lock = threading.Lock()

    def head(i):
        r = g.request("GET" if i % 2 else "HEAD", "/%s/b" % c)
        with lock:
            statuses.append((r.status, r.error_code,
                             r.headers.get("Retry-After"),
                             r.headers.get("ETag")))

    run_threads(96, head)
    assert len(statuses) == 96

    # all at once, on connections opened beforehand: one event loop
    # iteration sees them all, so whole batches meet the full queue
    path = "/%s/%s/b" % (g.account, c)
    for _ in range(3):
        socks = [socket.create_connection((g.host, g.port), timeout=30)
                 for _ in range(64)]
        for s in socks:
            headers = azsign.shared_key_headers(g.account, g.key, "HEAD",
                                                path, headers={})
            req = "HEAD %s HTTP/1.1\r\nHost: x\r\n" % path
            req += "".join("%s: %s\r\n" % kv for kv in headers.items())
            s.sendall((req + "\r\n").encode())
        for s in socks:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                assert chunk, data
                data += chunk
            status = data.split(b" ", 2)[1]
            assert status in (b"200", b"503"), data
            if status == b"503":
                assert b"x-ms-error-code: ServerBusy" in data
            s.close()
    assert {s for s, _, _, _ in statuses} <= {200, 503}, statuses
    assert all(e == "ServerBusy" and ra for s, e, ra, _ in statuses
               if s == 503)
    assert all(t == etag for s, _, _, t in statuses if s == 200)
    # and the worker still answers
    r = g.request("HEAD", "/%s/b" % c)
    assert r.status == 200 and r.headers["ETag"] == etag


def test_clients_leaving_while_their_batch_runs(gateway_factory):
    g = gateway_factory(extra_http_conf="blob_task_batch 64;", workers=1)
    c = make_container(g)
    put(g, "/%s/b" % c, b"y" * 5000)

    path = "/%s/%s/b" % (g.account, c)

    def raw(method):
        headers = azsign.shared_key_headers(g.account, g.key, method, path,
                                            headers={})
        req = "%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path)
        req += "".join("%s: %s\r\n" % kv for kv in headers.items())
        return (req + "\r\n").encode()

    # pipelined requests, then the connection is gone (some with a reset)
    for round_ in range(5):
        socks = []
        for i in range(40):
            s = socket.create_connection((g.host, g.port))
            s.sendall(raw("HEAD") + raw("GET") * 2)
            socks.append(s)
        for i, s in enumerate(socks):
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        r = g.request("GET", "/%s/b" % c)
        assert r.status == 200 and r.body == b"y" * 5000


def test_properties_follow_changes_made_through_another_gateway(
        gateway_factory):
    a = gateway_factory()
    b = gateway_factory(root=a.root)
    c = make_container(a)
    name = "/%s/blob" % c
    put(a, name, b"one", meta={"v": "1"}, content_type="text/one")

    def head(g):
        r = g.request("HEAD", name)
        assert r.status == 200, r
        return r

    # A has it cached now
    for _ in range(3):
        assert head(a).headers["x-ms-meta-v"] == "1"

    r = b.request("PUT", name, query={"comp": "metadata"},
                  headers={"x-ms-meta-v": "2"})
    assert r.status == 200, r
    ra = head(a)
    assert ra.headers["x-ms-meta-v"] == "2"
    assert ra.headers["ETag"] == r.headers["ETag"]
    assert ra.headers["Content-Type"] == "text/one"

    r = b.request("PUT", name, query={"comp": "properties"},
                  headers={"x-ms-blob-content-type": "text/two"})
    assert r.status == 200, r
    ra = head(a)
    assert ra.headers["Content-Type"] == "text/two"
    assert ra.headers["ETag"] == r.headers["ETag"]

    put(b, name, b"three", meta={"v": "3"}, content_type="text/three")
    ra = a.request("GET", name)
    assert ra.body == b"three"
    assert ra.headers["x-ms-meta-v"] == "3"
    assert ra.headers["Content-Type"] == "text/three"
    assert ra.headers["Content-MD5"] == base64.b64encode(
        hashlib.md5(b"three").digest()).decode()


def test_a_file_rewritten_in_place_loses_the_cached_properties(gateway):
    g = gateway
    c = make_container(g)
    name = "/%s/f" % c
    etag = put(g, name, b"api bytes", meta={"from": "api"},
               content_type="text/api")
    assert g.request("HEAD", name).headers["x-ms-meta-from"] == "api"

    # an NFS client rewrites the file: a new ETag, no properties file
    path = g.root / c / "f"
    path.write_bytes(b"nfs bytes!")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
    r = g.request("HEAD", name)
    assert r.status == 200
    assert r.headers["ETag"] != etag
    assert "x-ms-meta-from" not in r.headers
    assert "Content-MD5" not in r.headers
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert g.request("GET", name).body == b"nfs bytes!"

    # and deleted behind its back: 404, nothing from the cache
    path.unlink()
    r = g.request("HEAD", name)
    assert r.status == 404
    assert r.headers["x-ms-error-code"] == "BlobNotFound"


@pytest.mark.parametrize("size", [0, 2])
def test_small_or_no_properties_cache(gateway_factory, size):
    g = gateway_factory(extra_http_conf="blob_properties_cache %d;" % size)
    c = make_container(g)
    etags = {}
    for i in range(8):
        etags[i] = put(g, "/%s/b%d" % (c, i), b"%d" % i, meta={"i": str(i)})
    # long metadata: a properties file too big to cache
    big = {"k%02d" % j: "v" * 100 for j in range(30)}
    etags["big"] = put(g, "/%s/big" % c, b"big", meta=big)
    for _ in range(3):
        for i in range(8):
            r = g.request("HEAD", "/%s/b%d" % (c, i))
            assert r.headers["x-ms-meta-i"] == str(i)
            assert r.headers["ETag"] == etags[i]
        r = g.request("HEAD", "/%s/big" % c)
        assert r.headers["ETag"] == etags["big"]
        assert all(r.headers["x-ms-meta-" + k] == v for k, v in big.items())


def test_task_batch_bounds(gateway_factory):
    for bad in ("0", "65", "x"):
        with pytest.raises(RuntimeError, match="between 1 and 64|invalid"):
            gateway_factory(extra_http_conf="blob_task_batch %s;" % bad)


def test_cached_properties_keep_empty_values(gateway):
    g = gateway
    c = make_container(g)
    name = "/%s/e" % c
    etag = put(g, name, b"e", meta={"empty": "", "full": "x"},
               content_type="text/plain")
    for _ in range(3):
        r = g.request("HEAD", name)
        assert r.status == 200
        assert r.headers["ETag"] == etag
        assert r.headers["x-ms-meta-empty"] == ""
        assert r.headers["x-ms-meta-full"] == "x"
        assert "Content-Encoding" not in r.headers
        assert "Content-Language" not in r.headers
