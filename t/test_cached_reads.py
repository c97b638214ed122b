"""Reads answered from caches on the event loop (blob_cached_reads).

On a local filesystem, a Get Blob, Get Blob Properties or Get Blob Metadata
whose path is in the kernel's lookup cache, whose properties this worker
has cached for the file's ETag, and (Get Blob up to 64 KiB) whose bytes are
in the page cache is answered without a thread-pool task; anything else
goes to the pool as before.  The access log's $blob_thread_tasks says which
way a request went, so each test here checks both that the cached way was
taken and that its answer is the pool's answer, byte for byte: headers,
status, body, and every error.
"""

import os
import re
import urllib.parse
import stat
import subprocess
import threading
import time
import uuid

import pytest

from lib import azsign
from lib.races import run_threads

# what this gateway's access log says of each request
LOG_FORMAT = ("log_format tasks '$request_method $uri $status "
              "$blob_thread_tasks';")

# headers that differ between any two answers
VOLATILE = {"date", "x-ms-request-id"}

LOCAL_FS = {"ext2/ext3", "xfs", "btrfs", "tmpfs"}


def fs_type(path):
    return subprocess.run(["stat", "-f", "-c", "%T", str(path)],
                          capture_output=True, text=True,
                          check=True).stdout.strip()


class Logged:
    """A gateway whose access log records $blob_thread_tasks."""

    def __init__(self, g, log):
        self.g = g
        self.log = log
        self.sent = 0
        self.lock = threading.Lock()

    def request(self, *a, **kw):
        with self.lock:
            self.sent += 1
        return self.g.request(*a, **kw)

    def lines(self):
        """The log's lines once every request sent has its line: nginx
        logs after the last byte, which the client may have first."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.log.read_text().splitlines()
            if len(lines) >= self.sent or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def tasks(self):
        """$blob_thread_tasks of the last request."""
        return int(self.lines()[-1].split()[-1])


@pytest.fixture
def logged(gateway_factory, tmp_path):
    return _logged(gateway_factory, tmp_path)


def _logged(gateway_factory, tmp_path, extra_conf="", root=None):
    log = tmp_path / ("tasks-%s.log" % uuid.uuid4().hex[:8])
    log.touch()
    g = gateway_factory(
        root=root,
        extra_http_conf=LOG_FORMAT,
        extra_conf="access_log %s tasks;\n%s" % (log, extra_conf),
        workers=1)
    if root is None and fs_type(g.root) not in LOCAL_FS:
        why = ("the data root is on %s, not a local disk filesystem"
               % fs_type(g.root))
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return Logged(g, log)


def new_container(g):
    name = "cr" + uuid.uuid4().hex[:12]
    r = g.request("PUT", "/" + name, query={"restype": "container"})
    assert r.status == 201, r
    return name


def put(g, path, body, headers=None):
    h = {"x-ms-blob-type": "BlockBlob", "x-ms-blob-content-type": "text/x-t",
         "x-ms-meta-color": "blue"}
    h.update(headers or {})
    r = g.request("PUT", path, headers=h, body=body)
    assert r.status == 201, r
    return r.headers["ETag"]


def cached_blob(lg, body, name="b"):
    """A new blob whose properties the worker has cached (its first read
    went through the pool): (container, path, ETag)."""
    c = new_container(lg)
    path = "/%s/%s" % (c, name)
    etag = put(lg, path, body)
    lg.request("HEAD", path)
    return c, path, etag


def stable(r):
    body = re.sub(rb"\nRequestId:[^\n]*\nTime:[^<]*", b"", r.body)
    return (r.status, body,
            sorted((k.lower(), v) for k, v in r.headers.items()
                   if k.lower() not in VOLATILE))


def twice(lg, method, path, **kw):
    """The answer through the pool (a cold cache), then from caches."""
    first = lg.request(method, path, **kw)
    first_tasks = lg.tasks()
    second = lg.request(method, path, **kw)
    assert lg.tasks() == 0, "%s %s did not come from caches" % (method, path)
    assert stable(second) == stable(first)
    return first, first_tasks, second


def test_head_from_caches_equals_pool_answer(logged):
    c = new_container(logged)
    etag = put(logged, "/%s/b" % c, b"x" * 1000)
    first, first_tasks, second = twice(logged, "HEAD", "/%s/b" % c)
    assert first_tasks == 1
    assert second.status == 200
    assert second.headers["ETag"] == etag
    assert second.headers["Content-Length"] == "1000"
    assert second.headers["Content-Type"] == "text/x-t"
    assert second.headers["x-ms-meta-color"] == "blue"
    assert second.headers["x-ms-blob-type"] == "BlockBlob"
    assert "Content-MD5" in second.headers


@pytest.mark.parametrize("size", [0, 1, 4096, 65536, 65537, 300000])
def test_get_from_caches_equals_pool_answer(logged, size):
    # up to 64 KiB the bytes come from memory, above by sendfile
    c = new_container(logged)
    body = os.urandom(size)
    put(logged, "/%s/b" % c, body)
    _, _, second = twice(logged, "GET", "/%s/b" % c)
    assert second.status == 200
    assert second.body == body


def test_get_metadata_from_caches(logged):
    c = new_container(logged)
    put(logged, "/%s/b" % c, b"abc")
    _, _, second = twice(logged, "GET", "/%s/b" % c,
                         query={"comp": "metadata"})
    assert second.status == 200
    assert second.headers["x-ms-meta-color"] == "blue"
    assert second.body == b""


@pytest.mark.parametrize("rng,status,expect", [
    ("bytes=0-9", 206, slice(0, 10)),
    ("bytes=-5", 206, slice(95, 100)),
    ("bytes=90-", 206, slice(90, 100)),
    ("bytes=50-5000", 206, slice(50, 100)),
    ("bytes=100-200", 416, None),
    ("bytes=-0", 416, None),
])
def test_ranges_from_caches(logged, rng, status, expect):
    c = new_container(logged)
    body = os.urandom(100)
    put(logged, "/%s/b" % c, body)
    _, _, second = twice(logged, "GET", "/%s/b" % c, headers={"Range": rng})
    assert second.status == status, second
    if expect is not None:
        assert second.body == body[expect]
    else:
        assert second.headers["Content-Range"] == "bytes */100"
        assert second.error_code == "InvalidRange"


def test_conditions_from_caches(logged):
    _, path, etag = cached_blob(logged, b"conditional")

    r = logged.request("GET", path, headers={"If-None-Match": etag})
    assert logged.tasks() == 0
    assert r.status == 304 and r.headers["ETag"] == etag

    r = logged.request("GET", path, headers={"If-Match": '"0x1"'})
    assert logged.tasks() == 0
    assert r.status == 412 and r.error_code == "ConditionNotMet"

    r = logged.request("GET", path, headers={"Range": "bytes=0-3",
                                             "If-Range": '"0x1"'})
    assert logged.tasks() == 0
    assert r.status == 200 and r.body == b"conditional"

    r = logged.request("GET", path, headers={"Range": "bytes=0-3",
                                             "If-Range": etag})
    assert logged.tasks() == 0
    assert r.status == 206 and r.body == b"cond"


def test_range_md5_goes_to_the_pool(logged):
    # hashing up to 4 MiB is not event loop work
    _, path, _ = cached_blob(logged, b"0123456789")
    r = logged.request("GET", path, headers={
        "x-ms-range": "bytes=0-3", "x-ms-range-get-content-md5": "true"})
    assert r.status == 206 and r.body == b"0123"
    assert logged.tasks() == 1


def test_authorization_still_checked(logged):
    c = new_container(logged)
    path = "/%s/b" % c
    put(logged, path, b"secret")
    logged.request("GET", path)
    r = logged.request("GET", path, sign=False)
    # a private container's blob is not there for an anonymous reader
    assert r.status == 404 and r.error_code == "ResourceNotFound", r
    r = logged.request("GET", path, headers={
        "Authorization": "SharedKey %s:%s" % (logged.g.account, "A" * 44),
        "x-ms-date": azsign.http_date(), "x-ms-version": "2021-12-02"})
    assert r.status == 403 and r.error_code == "AuthenticationFailed"


def test_file_rewritten_behind_the_gateway(logged):
    # an NFS client's write changes the ETag: never the cached properties
    c, path, etag = cached_blob(logged, b"old content")
    logged.request("HEAD", path)
    assert logged.tasks() == 0

    f = logged.g.root / c / "b"
    f.write_bytes(b"new content")           # same size, new mtime
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1000000))

    r = logged.request("HEAD", path)
    assert logged.tasks() == 1
    assert r.status == 200 and r.headers["ETag"] != etag
    # a file the API did not write has default properties
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "x-ms-meta-color" not in r.headers

    r = logged.request("GET", path)
    assert r.body == b"new content"


def test_file_written_by_nfs_clients_from_caches(logged):
    # no properties file: default properties, cached for the file's ETag
    # like any others, and never past a change
    c = new_container(logged)
    path = "/%s/nfs" % c
    f = logged.g.root / c / "nfs"
    f.write_bytes(b"written beside the API")
    first, first_tasks, second = twice(logged, "HEAD", path)
    assert first_tasks == 1 and second.status == 200
    assert second.headers["Content-Type"] == "application/octet-stream"
    assert second.headers["Content-Length"] == "22"
    etag = second.headers["ETag"]

    # the API gives it properties: a new version, a new ETag
    r = logged.request("PUT", path, query={"comp": "metadata"},
                       headers={"x-ms-meta-k": "v"})
    assert r.status == 200 and r.headers["ETag"] != etag
    first, first_tasks, second = twice(logged, "HEAD", path)
    assert first_tasks == 1 and second.headers["x-ms-meta-k"] == "v"

    # an NFS client writes it again
    f.write_bytes(b"and again, longer than before")
    first, first_tasks, second = twice(logged, "GET", path)
    assert first_tasks == 1
    assert second.body == b"and again, longer than before"
    assert "x-ms-meta-k" not in second.headers


def test_file_removed_behind_the_gateway(logged):
    c, path, _ = cached_blob(logged, b"gone soon")
    (logged.g.root / c / "b").unlink()
    r = logged.request("GET", path)
    assert r.status == 404 and r.error_code == "BlobNotFound"
    assert logged.tasks() == 1


def test_file_replaced_by_directory(logged):
    c, path, _ = cached_blob(logged, b"file", "a")
    d = logged.g.root / c / "a"
    d.unlink()
    d.mkdir()
    (d / "b").write_bytes(b"inner")
    r = logged.request("HEAD", path)
    assert r.status == 404 and r.headers["x-ms-error-code"] == "BlobNotFound"
    assert logged.tasks() == 1


def swap_for_link(lg, c, name, target):
    """Caches blob name's properties, then moves its file to target and
    puts a symbolic link in its place: the link leads to the very file
    (same inode, size and time: same ETag), so only the refusal to follow
    links keeps the read off the event loop."""
    path = "/%s/%s" % (c, name)
    etag = put(lg, path, b"linked bytes")
    lg.request("HEAD", path)
    assert lg.tasks() == 1
    f = lg.g.root / c / name
    os.rename(f, target)
    os.symlink(os.path.relpath(target, f.parent), f)
    return path, etag


def test_symbolic_link_goes_to_the_pool(logged):
    c = new_container(logged)
    target = logged.g.root / c / "target"
    path, etag = swap_for_link(logged, c, "b", target)
    for _ in range(2):
        r = logged.request("GET", path)
        assert logged.tasks() == 1
        # inside its container, the pool's careful open follows it
        assert r.status == 200 and r.body == b"linked bytes"
        assert r.headers["ETag"] == etag


def test_link_out_of_the_container_is_not_followed(logged):
    c = new_container(logged)
    outside = logged.g.root.parent / ("outside-%s" % uuid.uuid4().hex[:8])
    try:
        path, _ = swap_for_link(logged, c, "b", outside)
        for _ in range(2):
            r = logged.request("GET", path)
            assert logged.tasks() == 1
            assert r.status == 404 and r.body != b"linked bytes"
            assert r.error_code == "BlobNotFound"
    finally:
        outside.unlink()


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_device_node_is_not_opened_on_the_event_loop(logged):
    c, path, _ = cached_blob(logged, b"file")
    f = logged.g.root / c / "b"
    f.unlink()
    os.mknod(f, stat.S_IFCHR | 0o600, os.makedev(1, 3))     # /dev/null
    r = logged.request("HEAD", path)
    assert logged.tasks() == 1
    assert r.status == 404 and r.headers["x-ms-error-code"] == "BlobNotFound"


def test_bytes_not_in_the_page_cache(logged):
    # a page the kernel dropped is not read on the event loop: sendfile
    # (in nginx's aio thread) sends the same bytes
    c = new_container(logged)
    body = os.urandom(50000)
    put(logged, "/%s/b" % c, body)
    logged.request("HEAD", "/%s/b" % c)
    f = logged.g.root / c / "b"
    fd = os.open(f, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    r = logged.request("GET", "/%s/b" % c)
    assert logged.tasks() == 0
    assert r.status == 200 and r.body == body


def test_public_container_anonymous_reads(logged):
    c = "cr" + uuid.uuid4().hex[:12]
    r = logged.request("PUT", "/" + c, query={"restype": "container"},
                       headers={"x-ms-blob-public-access": "blob"})
    assert r.status == 201
    put(logged, "/%s/b" % c, b"public")
    first = logged.request("GET", "/%s/b" % c, sign=False)
    second = logged.request("GET", "/%s/b" % c, sign=False)
    # the container's access level is read in the pool, the blob is not
    assert logged.tasks() == 1
    assert second.status == 200 and second.body == b"public"
    assert stable(first) == stable(second)


def test_sas_response_overrides_from_caches(logged):
    c = new_container(logged)
    put(logged, "/%s/b" % c, b"sas")
    sas = azsign.service_sas(logged.g.account, logged.g.key, c, "b", "r",
                             content_type="text/override",
                             content_disposition="attachment; filename=x")
    q = dict(urllib.parse.parse_qsl(sas))
    _, _, second = twice(logged, "GET", "/%s/b" % c, query=q, sign=False)
    assert second.status == 200 and second.body == b"sas"
    assert second.headers["Content-Type"] == "text/override"
    assert second.headers["Content-Disposition"] == "attachment; filename=x"


def test_dates_from_caches(logged):
    c = new_container(logged)
    path = "/%s/b" % c
    put(logged, path, b"dated")
    lm = logged.request("HEAD", path).headers["Last-Modified"]

    r = logged.request("GET", path, headers={"If-Modified-Since": lm})
    assert logged.tasks() == 0 and r.status == 304

    r = logged.request("GET", path, headers={"Range": "bytes=1-2",
                                             "If-Range": lm})
    assert logged.tasks() == 0 and r.status == 206 and r.body == b"at"

    r = logged.request("GET", path, headers={
        "Range": "bytes=1-2", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert logged.tasks() == 0 and r.status == 200 and r.body == b"dated"


@pytest.mark.parametrize("rng,expect", [
    ("bytes=100000-100099", slice(100000, 100100)),     # inside, in memory
    ("bytes=-150000", slice(0, 100001)),                 # longer than it
    ("bytes=99990-", slice(99990, 100001)),
])
def test_ranges_of_a_larger_blob(logged, rng, expect):
    c = new_container(logged)
    body = os.urandom(100001)
    put(logged, "/%s/b" % c, body)
    _, _, second = twice(logged, "GET", "/%s/b" % c, headers={"Range": rng})
    assert second.status == 206 and second.body == body[expect]


def test_cached_reads_off(gateway_factory, tmp_path):
    lg = _logged(gateway_factory, tmp_path, extra_conf="blob_cached_reads off;")
    c = new_container(lg)
    put(lg, "/%s/b" % c, b"abc")
    for _ in range(3):
        assert lg.request("HEAD", "/%s/b" % c).status == 200
        assert lg.tasks() == 1


def test_fuse_root_reads_through_the_pool(gateway_factory, tmp_path):
    # a FUSE open asks the daemon, as an NFS open asks the server: such a
    # root is not taken for a local one (bindfs's lookups are never in
    # the cache either, so this does not show the filesystem check alone)
    from lib.races import Export

    try:
        ex = Export(hosts=1)
    except RuntimeError as e:
        if "not installed" in str(e):
            pytest.fail(str(e))
        pytest.skip(str(e))
    try:
        lg = _logged(gateway_factory, tmp_path, root=ex.mounts[0])
        c = new_container(lg)
        put(lg, "/%s/b" % c, b"abc")
        for _ in range(3):
            r = lg.request("GET", "/%s/b" % c)
            assert r.status == 200 and r.body == b"abc"
            assert lg.tasks() == 1
        lg.g.stop()
    finally:
        ex.close()


def test_concurrent_cached_reads(logged):
    # many clients on one worker: every answer its own blob's
    c = new_container(logged)
    blobs = {}
    for i in range(40):
        body = os.urandom(100 + i * 37)
        blobs["/%s/b%02d" % (c, i)] = (body, put(logged,
                                                 "/%s/b%02d" % (c, i), body))
    for name in blobs:
        logged.request("HEAD", name)
    names = sorted(blobs)

    def reader(k):
        for j in range(60):
            name = names[(k * 7 + j) % len(names)]
            r = logged.request("GET", name)
            body, etag = blobs[name]
            assert r.status == 200 and r.body == body, name
            assert r.headers["ETag"] == etag

    run_threads(8, reader)
    tasks = [int(line.split()[-1]) for line in logged.lines()[-480:]]
    assert tasks.count(0) > 400, "the reads did not come from caches"
