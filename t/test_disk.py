"""Full and failing disks: ENOSPC, EACCES and EIO under the data root.

- ENOSPC: the account root is on a 16 MiB tmpfs.  A write that does not
  fit answers 507 InsufficientStorage (Azure has no such state; see
  docs/RELIABILITY.md for why 507 and not 503 or 500), leaves no partial
  blob and no staging file, and once space is freed the same upload works.
- EACCES: the workers run as nobody (root bypasses permissions) and a
  container directory is made read-only: 403 AuthorizationFailure, nothing
  half done.
- EIO: ext4 on a loop device, shut down with EXT4_IOC_SHUTDOWN (this
  kernel has no device-mapper, so no dm-error target): 500 InternalError
  for what touches the disk, the gateway stays up, and after the
  filesystem is mounted again it serves the blobs written before.

No worker may crash: a "worker process ... exited on signal" line is an
[alert], which fails the run (t/lib/gateway.py).
"""

import base64
import hashlib
import os
import pwd
import shutil
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from lib import crash
from lib import disk


MiB = 1 << 20

# what the module logs when the disk fails it; anything else at these
# levels still fails the run
EIO_LOG = r"\(5: Input/output error\)"


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def bid(n):
    return base64.b64encode(b"%08d" % n).decode()


def path(c, n):
    return "/%s/%s" % (c, urllib.parse.quote(n))


def put_blob(g, c, n, data, headers=None):
    h = {"x-ms-blob-type": "BlockBlob"}
    h.update(headers or {})
    return g.request("PUT", path(c, n), headers=h, body=data)


def put_block(g, c, n, i, data):
    return g.request("PUT", path(c, n),
                     query=[("comp", "block"), ("blockid", bid(i))],
                     body=data)


def put_list(g, c, n, ids):
    xml = ('<?xml version="1.0" encoding="utf-8"?><BlockList>'
           + "".join("<Latest>%s</Latest>" % bid(i) for i in ids)
           + "</BlockList>")
    return g.request("PUT", path(c, n), query=[("comp", "blocklist")],
                     body=xml)


def make_container(g, c):
    r = g.request("PUT", "/" + c, query=[("restype", "container")])
    assert r.status == 201, r


def listed(g, c):
    r = g.request("GET", "/" + c,
                  query=[("restype", "container"), ("comp", "list")])
    assert r.status == 200, r
    return {b.find("Name").text:
            int(b.find("Properties/Content-Length").text)
            for b in r.xml().find("Blobs")}


def assert_azure_error(r, status, code):
    assert r.status == status, r
    assert r.headers.get("x-ms-error-code") == code, r
    assert r.xml().find("Code").text == code, r


def assert_blob(g, c, n, data):
    r = g.request("GET", path(c, n))
    assert r.status == 200, r
    assert r.body == data
    assert r.headers["Content-MD5"] == md5_b64(data)


def staging(root):
    d = root / ".blob" / "tmp"
    return sorted(os.listdir(d)) if d.is_dir() else []


def files_under(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())


# --- ENOSPC -----------------------------------------------------------------

@pytest.fixture
def small(gateway_factory):
    """(gateway, account root, mount) on a 16 MiB tmpfs; the root is a
    directory of the mount, so that fill() can take space beside it."""

    try:
        with disk.tmpfs("16m") as mnt:
            root = mnt / "data"
            root.mkdir()
            g = gateway_factory(root=root, name="disk")
            make_container(g, "full")
            yield g, root, mnt
            g.stop()
    except disk.Unavailable as e:
        pytest.skip(str(e))


def test_full_disk_put_blob_507(small):
    g, root, mnt = small
    a = os.urandom(6 * MiB)
    b = os.urandom(6 * MiB)
    assert put_blob(g, "full", "a", a).status == 201
    assert put_blob(g, "full", "b", b).status == 201

    r = put_blob(g, "full", "c", os.urandom(6 * MiB))

    assert_azure_error(r, 507, "InsufficientStorage")
    assert g.request("GET", path("full", "c")).status == 404
    assert staging(root) == []
    assert listed(g, "full") == {"a": len(a), "b": len(b)}
    assert files_under(root / "full") == ["a", "b"]
    assert_blob(g, "full", "a", a)
    assert_blob(g, "full", "b", b)


def test_full_disk_overwrite_keeps_old_version(small):
    g, root, mnt = small
    old = os.urandom(1000)
    assert put_blob(g, "full", "x", old).status == 201
    disk.fill(mnt, leave=64 * 1024)

    r = put_blob(g, "full", "x", os.urandom(1 * MiB))

    assert_azure_error(r, 507, "InsufficientStorage")
    assert_blob(g, "full", "x", old)
    assert staging(root) == []


def test_space_freed_serves_again(small):
    g, root, mnt = small
    filler = disk.fill(mnt, leave=0)
    data = os.urandom(2 * MiB)

    assert_azure_error(put_blob(g, "full", "later", data), 507,
                       "InsufficientStorage")

    filler.unlink()

    assert put_blob(g, "full", "later", data).status == 201
    assert_blob(g, "full", "later", data)
    assert staging(root) == []


def test_space_freed_by_delete_blob(small):
    g, root, mnt = small
    big = os.urandom(6 * MiB)
    assert put_blob(g, "full", "big", big).status == 201
    disk.fill(mnt, leave=1 * MiB)
    data = os.urandom(4 * MiB)
    assert_azure_error(put_blob(g, "full", "next", data), 507,
                       "InsufficientStorage")

    assert g.request("DELETE", path("full", "big")).status == 202

    assert put_blob(g, "full", "next", data).status == 201
    assert_blob(g, "full", "next", data)
    assert listed(g, "full") == {"next": len(data)}


def test_full_disk_put_block_507(small):
    g, root, mnt = small
    disk.fill(mnt, leave=1 * MiB)
    assert put_block(g, "full", "blk", 1, os.urandom(512 * 1024)).status \
        == 201

    r = put_block(g, "full", "blk", 2, os.urandom(2 * MiB))

    assert_azure_error(r, 507, "InsufficientStorage")
    assert staging(root) == []
    r = g.request("GET", path("full", "blk"),
                  query=[("comp", "blocklist"), ("blocklisttype", "all")])
    assert r.status == 200, r
    assert [b.find("Name").text
            for b in r.xml().find("UncommittedBlocks")] == [bid(1)]


def test_full_disk_put_block_list_507(small):
    """The commit copies the blocks into a new file: no room for the copy
    gives 507, no blob, and the blocks stay staged for a retry."""

    g, root, mnt = small
    blocks = [os.urandom(2 * MiB) for _ in range(3)]
    for i, b in enumerate(blocks):
        assert put_block(g, "full", "pbl", i, b).status == 201
    filler = disk.fill(mnt, leave=1 * MiB)

    r = put_list(g, "full", "pbl", range(3))

    assert_azure_error(r, 507, "InsufficientStorage")
    assert g.request("GET", path("full", "pbl")).status == 404
    assert staging(root) == []
    assert files_under(root / "full") == []

    filler.unlink()
    r = put_list(g, "full", "pbl", range(3))
    assert r.status == 201, r
    r = g.request("GET", path("full", "pbl"))
    assert r.status == 200 and r.body == b"".join(blocks)


def test_full_disk_zero_byte_blob(small):
    """Not a byte of data, but its properties need a block of their own:
    507 and no blob, not a blob without properties."""

    g, root, mnt = small
    disk.fill(mnt, leave=0)

    r = put_blob(g, "full", "empty", b"", headers={"x-ms-meta-k": "v"})

    if r.status == 201:
        # tmpfs had room left in a partly used page: then it must be whole
        r = g.request("HEAD", path("full", "empty"))
        assert r.headers["x-ms-meta-k"] == "v"
    else:
        assert_azure_error(r, 507, "InsufficientStorage")
        assert g.request("GET", path("full", "empty")).status == 404
    assert staging(root) == []


def test_full_disk_set_metadata_507(small):
    g, root, mnt = small
    assert put_blob(g, "full", "m", b"data",
                    headers={"x-ms-meta-k": "old"}).status == 201
    disk.fill(mnt, leave=0)

    r = g.request("PUT", path("full", "m"), query=[("comp", "metadata")],
                  headers={"x-ms-meta-k": "new" * 2000})

    assert_azure_error(r, 507, "InsufficientStorage")
    r = g.request("HEAD", path("full", "m"))
    assert r.status == 200 and r.headers["x-ms-meta-k"] == "old"


def test_full_disk_create_container(small):
    g, root, mnt = small
    disk.fill(mnt, leave=0)

    r = g.request("PUT", "/newc", query=[("restype", "container"),],
                  headers={"x-ms-meta-k": "v" * 4000})

    assert_azure_error(r, 507, "InsufficientStorage")
    assert g.request("GET", "/newc",
                     query=[("restype", "container")]).status == 404


# --- EACCES -----------------------------------------------------------------

@pytest.fixture
def nobody(gateway_factory):
    """(gateway, account root) with the workers running as nobody."""

    if os.geteuid() != 0:
        pytest.skip("not root: the workers cannot change user")
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")

    # (mkdtemp makes 0700 directories, which nobody cannot enter)
    base = Path(tempfile.mkdtemp(prefix="blob-eacces-", dir="/tmp"))
    root = base / "data"
    (root / ".blob" / "tmp").mkdir(parents=True)
    os.chmod(base, 0o755)
    for dirpath, dirs, files in os.walk(root):
        os.chown(dirpath, pw.pw_uid, pw.pw_gid)

    try:
        g = gateway_factory(root=root, name="eacces",
                            extra_main_conf="user nobody nogroup;")
        g.allow_log(r"\(13: Permission denied\)")
        make_container(g, "rdonly")
        yield g, root
        g.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_eacces_put_blob_403(nobody):
    g, root = nobody
    os.chmod(root / "rdonly", 0o555)

    r = put_blob(g, "rdonly", "b", b"data")

    assert_azure_error(r, 403, "AuthorizationFailure")
    assert staging(root) == []
    assert files_under(root / "rdonly") == []


def test_eacces_overwrite_keeps_old(nobody):
    g, root = nobody
    assert put_blob(g, "rdonly", "b", b"old").status == 201
    os.chmod(root / "rdonly", 0o555)

    r = put_blob(g, "rdonly", "b", b"new")

    assert_azure_error(r, 403, "AuthorizationFailure")
    assert_blob(g, "rdonly", "b", b"old")
    assert staging(root) == []


def test_eacces_delete_blob_403(nobody):
    g, root = nobody
    assert put_blob(g, "rdonly", "b", b"data").status == 201
    os.chmod(root / "rdonly", 0o555)

    r = g.request("DELETE", path("rdonly", "b"))

    assert_azure_error(r, 403, "AuthorizationFailure")
    assert_blob(g, "rdonly", "b", b"data")


def test_eacces_unreadable_blob_403(nobody):
    g, root = nobody
    assert put_blob(g, "rdonly", "b", b"data").status == 201
    os.chmod(root / "rdonly" / "b", 0o000)

    r = g.request("GET", path("rdonly", "b"))

    assert_azure_error(r, 403, "AuthorizationFailure")
    os.chmod(root / "rdonly" / "b", 0o644)


def test_eacces_virtual_directory_403(nobody):
    g, root = nobody
    assert put_blob(g, "rdonly", "d/b", b"data").status == 201
    os.chmod(root / "rdonly" / "d", 0o555)

    assert_azure_error(put_blob(g, "rdonly", "d/c", b"x"), 403,
                       "AuthorizationFailure")
    assert_azure_error(g.request("DELETE", path("rdonly", "d/b")), 403,
                       "AuthorizationFailure")
    assert_blob(g, "rdonly", "d/b", b"data")


def test_eacces_put_block_list_403_then_retry(nobody):
    g, root = nobody
    blocks = [os.urandom(1000) for _ in range(2)]
    for i, b in enumerate(blocks):
        assert put_block(g, "rdonly", "pbl", i, b).status == 201
    os.chmod(root / "rdonly", 0o555)

    assert_azure_error(put_list(g, "rdonly", "pbl", range(2)), 403,
                       "AuthorizationFailure")
    assert staging(root) == []

    os.chmod(root / "rdonly", 0o755)
    assert put_list(g, "rdonly", "pbl", range(2)).status == 201
    r = g.request("GET", path("rdonly", "pbl"))
    assert r.status == 200 and r.body == b"".join(blocks)


def test_eacces_create_container_403(nobody):
    g, root = nobody
    os.chmod(root, 0o555)

    r = g.request("PUT", "/newc", query=[("restype", "container")])

    assert_azure_error(r, 403, "AuthorizationFailure")
    assert not (root / "newc").exists()


def test_eacces_list_unreadable_directory(nobody):
    """A directory the gateway may not read fails the listing with 403:
    a listing that skipped it would hide blobs without saying so."""

    g, root = nobody
    assert put_blob(g, "rdonly", "a", b"1").status == 201
    assert put_blob(g, "rdonly", "d/b", b"2").status == 201
    os.chmod(root / "rdonly" / "d", 0o000)

    r = g.request("GET", "/rdonly",
                  query=[("restype", "container"), ("comp", "list")])

    assert_azure_error(r, 403, "AuthorizationFailure")
    os.chmod(root / "rdonly" / "d", 0o755)
    assert listed(g, "rdonly") == {"a": 1, "d/b": 1}


def test_eacces_staging_directory(nobody):
    """The gateway's own staging directory unwritable: 403 too (the errno
    decides, not the directory), and no blob."""

    g, root = nobody
    os.chmod(root / ".blob" / "tmp", 0o555)

    r = put_blob(g, "rdonly", "b", b"data")

    assert_azure_error(r, 403, "AuthorizationFailure")
    assert g.request("GET", path("rdonly", "b")).status == 404
    os.chmod(root / ".blob" / "tmp", 0o755)
    assert put_blob(g, "rdonly", "b", b"data").status == 201


# --- EIO --------------------------------------------------------------------

@pytest.fixture
def ext4():
    fs = disk.Ext4Loop()
    try:
        try:
            fs.setup()
        except disk.Unavailable as e:
            pytest.skip(str(e))
        yield fs
    finally:
        fs.cleanup()


@pytest.fixture
def eio(gateway_factory, ext4):
    """(gateway, account root, filesystem) on ext4 that can fail."""

    root = ext4.mnt / "data"
    root.mkdir()
    g = gateway_factory(root=root, name="eio", extra_conf="blob_fsync on;")
    g.allow_log(EIO_LOG)
    make_container(g, "eio")
    yield g, root, ext4
    g.stop()


def test_eio_answers_500_and_stays_up(eio):
    g, root, fs = eio
    data = os.urandom(100000)
    assert put_blob(g, "eio", "keep", data,
                    headers={"x-ms-meta-k": "v"}).status == 201
    assert put_block(g, "eio", "blk", 1, b"block").status == 201
    workers = sorted(crash_children(g))

    fs.shutdown()

    answers = {
        "put blob": put_blob(g, "eio", "new", os.urandom(5000)),
        "overwrite": put_blob(g, "eio", "keep", b"x"),
        "get blob": g.request("GET", path("eio", "keep")),
        "head blob": g.request("HEAD", path("eio", "keep")),
        "delete blob": g.request("DELETE", path("eio", "keep")),
        "set metadata": g.request("PUT", path("eio", "keep"),
                                  query=[("comp", "metadata")],
                                  headers={"x-ms-meta-k": "w"}),
        "put block": put_block(g, "eio", "blk", 2, b"more"),
        "put block list": put_list(g, "eio", "blk", [1]),
        "create container": g.request("PUT", "/other",
                                      query=[("restype", "container")]),
    }
    for what, r in answers.items():
        assert r.status == 500, (what, r)
        assert r.headers.get("x-ms-error-code") == "InternalError", (what, r)
        if what != "head blob":
            assert r.xml().find("Code").text == "InternalError", (what, r)

    # a listing may still be served from the directory cache: whole or 500
    r = g.request("GET", "/eio", query=[("restype", "container"),
                                        ("comp", "list")])
    assert r.status in (200, 500), r
    if r.status == 200:
        r.xml()

    # no worker died, the server answers what does not touch the disk
    assert sorted(crash_children(g)) == workers
    r = g.request("GET", "/eio", query=[("restype", "container")],
                  sign=False)
    assert r.status in (401, 403, 404), r

    g.stop()
    fs.remount()
    g.start()

    assert_blob(g, "eio", "keep", data)
    r = g.request("HEAD", path("eio", "keep"))
    assert r.headers["x-ms-meta-k"] == "v"
    assert g.request("GET", path("eio", "new")).status == 404
    assert put_list(g, "eio", "blk", [1]).status == 201
    assert put_blob(g, "eio", "new", b"after").status == 201
    assert_blob(g, "eio", "new", b"after")


def test_eio_mid_upload_no_partial_blob(eio):
    g, root, fs = eio
    old = os.urandom(3000)
    assert put_blob(g, "eio", "up", old).status == 201
    total, first = 4 * MiB, 1 * MiB
    s = crash.start_partial_upload(g, path("eio", "up"), total, first,
                                   headers={"x-ms-blob-type": "BlockBlob"})
    try:
        assert crash.wait_for(lambda: any(
            (root / ".blob/tmp" / f).stat().st_size >= first
            for f in staging(root)), 10)

        fs.shutdown()

        try:
            s.sendall(os.urandom(total - first))
        except OSError:
            pass                # the early answer may close the socket
        s.settimeout(10)
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    finally:
        s.close()

    assert answer.startswith(b"HTTP/1.1 500 "), answer[:300]
    assert b"x-ms-error-code: InternalError" in answer, answer[:600]

    g.stop()
    fs.remount()
    g.start()

    assert_blob(g, "eio", "up", old)
    assert listed(g, "eio") == {"up": len(old)}


POWER_CUT_OPS = ["put_blob", "put_block_list", "put_block", "delete_blob",
                 "create_container"]


@pytest.mark.parametrize("op", POWER_CUT_OPS)
def test_power_cut_keeps_acknowledged_write(eio, op):
    """EXT4_IOC_SHUTDOWN without flushing the journal is a power cut for
    the filesystem: what was not committed to the device is lost.  With
    blob_fsync on, the write acknowledged just before must be there."""

    g, root, fs = eio
    data = os.urandom(70000)
    blocks = [os.urandom(5000), os.urandom(7000)]
    assert put_blob(g, "eio", "old", b"old").status == 201
    for i, b in enumerate(blocks):
        assert put_block(g, "eio", "b", i, b).status == 201
    os.sync()                   # all of the above is on the device

    if op == "put_blob":
        r = put_blob(g, "eio", "a", data, headers={"x-ms-meta-k": "a"})
    elif op == "put_block_list":
        r = g.request("PUT", path("eio", "b"),
                      query=[("comp", "blocklist")],
                      headers={"x-ms-meta-k": "b"},
                      body='<?xml version="1.0" encoding="utf-8"?>'
                           '<BlockList><Latest>%s</Latest>'
                           '<Latest>%s</Latest></BlockList>'
                           % (bid(0), bid(1)))
    elif op == "put_block":
        r = put_block(g, "eio", "b", 2, b"staged")
    elif op == "delete_blob":
        r = g.request("DELETE", path("eio", "old"))
    else:
        r = g.request("PUT", "/later", query=[("restype", "container")])
    assert r.status in (201, 202), r

    fs.shutdown()               # nothing more reaches the device
    g.stop()
    fs.remount()
    g.start()

    if op == "put_blob":
        assert_blob(g, "eio", "a", data)
        r = g.request("HEAD", path("eio", "a"))
        assert r.headers["x-ms-meta-k"] == "a"
    elif op == "put_block_list":
        r = g.request("GET", path("eio", "b"))
        assert r.status == 200 and r.body == b"".join(blocks), r
        assert r.headers["x-ms-meta-k"] == "b"
    elif op == "put_block":
        r = g.request("GET", path("eio", "b"),
                      query=[("comp", "blocklist"),
                             ("blocklisttype", "uncommitted")])
        assert r.status == 200, r
        assert [b.find("Name").text
                for b in r.xml().find("UncommittedBlocks")] == \
            [bid(0), bid(1), bid(2)]
    elif op == "delete_blob":
        assert g.request("GET", path("eio", "old")).status == 404
    else:
        assert g.request("GET", "/later",
                         query=[("restype", "container")]).status == 200


def crash_children(g):
    return crash.children(g.proc.pid)
