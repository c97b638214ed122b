"""Several gateway hosts on one NFS export.

The kernel here has no NFS client; the stand-in is one `bindfs --xattr-none`
FUSE mount of a single backing directory per gateway: like NFS, each mount
refuses xattrs and O_TMPFILE and keeps its own attribute cache.  Whatever
one gateway writes, the other must see: staged blocks, committed blobs, and
files that users put into the export directly.
"""

import base64
import os
import time
import uuid

import pytest

# a mount's attribute cache may hide another host's change this long
SETTLE = 10


@pytest.fixture(scope="module")
def export():
    """(backing dir, [mount A, mount B]) or a skip if FUSE is unavailable."""

    from lib.races import Export

    try:
        ex = Export(hosts=2)
    except RuntimeError as e:
        err = str(e)
        if "not installed" not in err and ("fuse" in err.lower()
                                           or "permitted" in err.lower()):
            pytest.skip(err)
        pytest.fail(err)

    try:
        yield ex.backing, ex.mounts
    finally:
        ex.close()


@pytest.fixture
def hosts(export, gateway_factory):
    backing, mounts = export
    return backing, [gateway_factory(root=m, name=m.name) for m in mounts]


def block_id(n):
    # Azure wants all IDs of a blob to have the same length
    return base64.b64encode(b"block-%06d" % n).decode()


def block_list_xml(ids):
    return ('<?xml version="1.0" encoding="utf-8"?>\n<BlockList>'
            + "".join("<Latest>%s</Latest>" % i for i in ids)
            + "</BlockList>").encode()


def new_container(g):
    name = "multi" + uuid.uuid4().hex[:12]
    r = g.request("PUT", "/" + name, query=[("restype", "container")])
    assert r.status == 201, r
    return name


def wait_for(fn, what):
    """Polls fn() until it returns a true value: mounts cache attributes."""

    deadline = time.monotonic() + SETTLE
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            assert v, "still not so after %ds: %s" % (SETTLE, what)
            return v
        time.sleep(0.2)


def test_mounts_are_nfs_like(export):
    # the premise of this file: no xattrs and no O_TMPFILE, as on NFSv3
    _, mounts = export
    f = mounts[0] / "probe"
    f.write_bytes(b"x")
    try:
        with pytest.raises(OSError):
            os.setxattr(f, "user.probe", b"1")
        if hasattr(os, "O_TMPFILE"):
            with pytest.raises(OSError):
                os.close(os.open(mounts[0], os.O_TMPFILE | os.O_WRONLY))
    finally:
        f.unlink()


def test_blocks_staged_on_one_committed_on_other(hosts):
    backing, (a, b) = hosts
    container = new_container(a)
    path = "/%s/dir/big.bin" % container
    blocks = [os.urandom(100 * 1024 + n) for n in range(3)]
    ids = [block_id(n) for n in range(len(blocks))]

    for bid, data in zip(ids, blocks):
        r = a.request("PUT", path, query=[("comp", "block"), ("blockid", bid)],
                      body=data)
        assert r.status == 201, r

    r = b.request("PUT", path, query=[("comp", "blocklist")],
                  headers={"Content-Type": "application/xml"},
                  body=block_list_xml(ids))
    assert r.status == 201, r
    etag = r.headers["ETag"]

    whole = b"".join(blocks)
    assert (backing / container / "dir" / "big.bin").read_bytes() == whole

    for g in (a, b):
        r = wait_for(lambda: (lambda r: r if r.status == 200 else None)(
                         g.request("GET", path)),
                     "%s sees the blob" % g)
        assert r.body == whole
        assert r.headers["ETag"] == etag


def test_block_list_on_other_host(hosts):
    _, (a, b) = hosts
    container = new_container(a)
    path = "/%s/staged.bin" % container
    bid = block_id(7)

    r = a.request("PUT", path, query=[("comp", "block"), ("blockid", bid)],
                  body=b"staged on A")
    assert r.status == 201, r

    # Get Block List on B shows A's uncommitted block
    r = b.request("GET", path, query=[("comp", "blocklist"),
                                      ("blocklisttype", "uncommitted")])
    assert r.status == 200, r
    names = [e.findtext("Name")
             for e in r.xml().findall("./UncommittedBlocks/Block")]
    assert names == [bid]


def test_file_written_to_export_is_served_by_both(hosts):
    backing, (a, b) = hosts
    container = new_container(a)
    data = b"put there by a user, not by a gateway\n"
    d = backing / container / "user"
    d.mkdir()
    (d / "file.txt").write_bytes(data)

    for g in (a, b):
        def listed():
            r = g.request("GET", "/" + container,
                          query=[("restype", "container"), ("comp", "list")])
            assert r.status == 200, r
            return [n.text for n in r.xml().findall("./Blobs/Blob/Name")]

        assert wait_for(lambda: "user/file.txt" in listed(),
                        "%s lists user/file.txt" % g)

        r = g.request("GET", "/%s/user/file.txt" % container)
        assert r.status == 200, r
        assert r.body == data
        assert r.headers.get("x-ms-blob-type") == "BlockBlob"


def test_rewritten_file_changes_etag(hosts):
    backing, (a, b) = hosts
    container = new_container(a)
    f = backing / container / "rewritten.txt"
    f.write_bytes(b"first version\n")
    path = "/%s/rewritten.txt" % container

    before = {}
    for g in (a, b):
        r = g.request("HEAD", path)
        assert r.status == 200, r
        before[g] = r.headers["ETag"]
    assert before[a] == before[b]

    f.write_bytes(b"second, longer version\n")

    for g in (a, b):
        r = wait_for(lambda: (lambda r: r if r.headers.get("ETag")
                              != before[g] else None)(g.request("HEAD", path)),
                     "%s sees a new ETag" % g)
        assert r.status == 200, r
        r = g.request("GET", path)
        assert r.body == b"second, longer version\n"
        assert r.headers["ETag"] != before[g]


def test_concurrent_reads_through_both_hosts(hosts):
    # many reads at once through both mounts: each gets its own blob's
    # bytes and properties, whatever the batching of short tasks does on
    # a mount whose calls are slower than a local disk's
    import hashlib

    from lib.races import run_threads

    backing, (a, b) = hosts
    container = new_container(a)
    blobs = {}
    for i in range(40):
        body = os.urandom(100 + i * 97)
        path = "/%s/r%02d" % (container, i)
        r = a.request("PUT", path, headers={"x-ms-blob-type": "BlockBlob",
                                            "x-ms-meta-n": str(i)},
                      body=body)
        assert r.status == 201, r
        blobs[path] = (body, r.headers["ETag"], i)

    def reader(k):
        g = (a, b)[k % 2]
        for j in range(20):
            path = sorted(blobs)[(k * 7 + j) % len(blobs)]
            body, etag, i = blobs[path]
            r = g.request("GET" if j % 2 else "HEAD", path)
            assert r.status == 200, (path, r)
            assert r.headers["ETag"] == etag
            assert r.headers["x-ms-meta-n"] == str(i)
            assert r.headers["Content-MD5"] == base64.b64encode(
                hashlib.md5(body).digest()).decode()
            if j % 2:
                assert r.body == body

    run_threads(24, reader)
