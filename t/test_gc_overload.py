"""The collector (worker timers, no request) and overload answers.

The collector removes uncommitted blocks past blob_uncommitted_block_ttl,
staging files past blob_temp_ttl, properties of replaced versions, state of
deleted blobs and containers, and the trash.  Overload is 503 ServerBusy with
Retry-After, never 429.
"""

import base64
import os
import threading
import time
import uuid

import pytest


def bid(n):
    return base64.b64encode(b"%08d" % n).decode()


def wait_for(cond, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def state_dirs(root, container):
    base = root / ".blob" / "state" / container
    if not base.is_dir():
        return []
    return [h for b in base.iterdir() for h in b.iterdir()]


@pytest.fixture
def gc_gateway(gateway_factory):
    return gateway_factory(extra_http_conf="blob_uncommitted_block_ttl 2s;\n"
                                           "    blob_temp_ttl 2s;")


def make_container(g):
    c = "gc" + uuid.uuid4().hex[:12]
    assert g.request("PUT", "/" + c, query={"restype": "container"}).status \
        == 201
    return c


def age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_uncommitted_blocks_expire(gc_gateway):
    g = gc_gateway
    c = make_container(g)
    r = g.request("PUT", "/%s/staged" % c,
                  query={"comp": "block", "blockid": bid(1)}, body=b"abc")
    assert r.status == 201, r
    (d,) = state_dirs(g.root, c)
    blocks = [p for p in d.iterdir() if p.name.startswith("b-")]
    assert len(blocks) == 1
    for p in d.iterdir():
        age(p, 60)

    assert wait_for(lambda: not d.exists()), list(d.iterdir())
    r = g.request("GET", "/%s/staged" % c, query={"comp": "blocklist",
                                                  "blocklisttype": "all"})
    assert r.status == 404, r
    assert r.error_code == "BlobNotFound"


def test_young_blocks_stay(gateway_factory):
    g = gateway_factory(extra_http_conf="blob_uncommitted_block_ttl 30s;")
    c = make_container(g)
    r = g.request("PUT", "/%s/young" % c,
                  query={"comp": "block", "blockid": bid(1)}, body=b"abc")
    assert r.status == 201, r
    time.sleep(3)   # several collector runs
    r = g.request("PUT", "/%s/young" % c, query={"comp": "blocklist"},
                  body=b"<BlockList><Latest>%s</Latest></BlockList>"
                  % bid(1).encode())
    assert r.status == 201, r
    assert g.request("GET", "/%s/young" % c).body == b"abc"


def test_abandoned_staging_files_expire(gc_gateway):
    g = gc_gateway
    tmp = g.root / ".blob" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    old = tmp / "12345-1-deadbeefdeadbeef.tmp"
    old.write_bytes(b"half a blob")
    age(old, 60)
    fresh = tmp / "12345-2-feedfacefeedface.tmp"
    fresh.write_bytes(b"upload in progress")

    assert wait_for(lambda: not old.exists())
    assert fresh.exists()


def test_trash_is_emptied(gc_gateway):
    g = gc_gateway
    c = make_container(g)
    r = g.request("PUT", "/%s/a/b" % c, headers={"x-ms-blob-type":
                                                 "BlockBlob"}, body=b"x")
    assert r.status == 201, r
    r = g.request("DELETE", "/" + c, query={"restype": "container"})
    assert r.status == 202, r
    trash = g.root / ".blob" / "trash"
    assert wait_for(lambda: not trash.exists() or not any(trash.iterdir()))
    assert not (g.root / c).exists()
    assert wait_for(lambda: not (g.root / ".blob" / "state" / c).exists())


def test_replaced_versions_are_collected(gc_gateway):
    g = gc_gateway
    c = make_container(g)
    for body in (b"one", b"two", b"three"):
        r = g.request("PUT", "/%s/v" % c,
                      headers={"x-ms-blob-type": "BlockBlob"}, body=body)
        assert r.status == 201, r
    etag = r.headers["ETag"].strip('"')[2:].lower()
    (d,) = state_dirs(g.root, c)
    for p in d.iterdir():
        age(p, 120)
    current = "m-" + etag

    def only_current():
        return sorted(p.name for p in d.iterdir()
                      if p.name.startswith("m-")) == [current]

    assert wait_for(only_current), list(d.iterdir())
    r = g.request("HEAD", "/%s/v" % c)
    assert r.status == 200
    assert r.headers["Content-MD5"] == base64.b64encode(
        __import__("hashlib").md5(b"three").digest()).decode()


def test_state_of_a_blob_deleted_by_nfs_is_collected(gc_gateway):
    g = gc_gateway
    c = make_container(g)
    r = g.request("PUT", "/%s/gone" % c,
                  headers={"x-ms-blob-type": "BlockBlob"}, body=b"x")
    assert r.status == 201, r
    (d,) = state_dirs(g.root, c)
    (g.root / c / "gone").unlink()     # an NFS client removes the file
    for p in d.iterdir():
        age(p, 120)
    assert wait_for(lambda: not d.exists()), list(d.iterdir())


def test_inflight_limit_is_server_busy(gateway_factory):
    g = gateway_factory(extra_conf="blob_max_inflight 1;", workers=1)
    c = make_container(g)
    results = []
    started = threading.Event()

    # a slow upload holds the worker's one slot while its body trickles in
    def slow_put():
        import socket
        from lib import azsign
        path = "/%s/%s/slow" % (g.account, c)
        headers = azsign.shared_key_headers(
            g.account, g.key, "PUT", path,
            headers={"x-ms-blob-type": "BlockBlob", "Content-Length": "4"})
        s = socket.create_connection((g.host, g.port))
        req = "PUT %s HTTP/1.1\r\nHost: x\r\n" % path
        req += "".join("%s: %s\r\n" % kv for kv in headers.items())
        s.sendall(req.encode() + b"\r\nab")
        started.set()
        time.sleep(1.5)
        s.sendall(b"cd")
        results.append(s.recv(4096))
        s.close()

    t = threading.Thread(target=slow_put)
    t.start()
    started.wait(5)
    time.sleep(0.3)
    r = g.request("GET", "/" + c, query={"restype": "container"})
    t.join(10)
    assert r.status == 503, r
    assert r.error_code == "ServerBusy"
    assert r.headers["Retry-After"]
    assert r.xml().find("Code").text == "ServerBusy"
    assert results and results[0].startswith(b"HTTP/1.1 201"), results
    # and once the slot is free again, requests are served
    assert g.request("GET", "/" + c,
                     query={"restype": "container"}).status == 200


def test_thread_queue_overflow_is_server_busy(gateway_factory):
    g = gateway_factory(extra_main_conf="thread_pool tiny threads=1 "
                                        "max_queue=1;",
                        extra_conf="blob_thread_pool tiny;", workers=1)
    g.allow_log(r"queue overflow")
    c = make_container(g)
    statuses = []
    lock = threading.Lock()

    def get():
        r = g.request("GET", "/" + c, query={"restype": "container"})
        with lock:
            statuses.append((r.status, r.error_code,
                             r.headers.get("Retry-After")))

    threads = [threading.Thread(target=get) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = {s for s, _, _ in statuses}
    assert codes <= {200, 503}, statuses
    assert all(e == "ServerBusy" and ra for s, e, ra in statuses
               if s == 503)
    assert len(statuses) == 64
