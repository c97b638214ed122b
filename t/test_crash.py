"""Crash consistency: SIGKILL of workers and of the master during writes.

Many client threads run Put Blob, Put Block + Put Block List and Delete
Blob on a few dozen names while workers, and at the end of every round the
master and the whole process group, are killed with SIGKILL.  A gateway
restarted on the same root must then show, for every blob, a state that
the clients' acknowledgements allow (t/lib/crash.py says which), never a
partial blob, listings that agree with the directory, and a collector that
removes the staging files and the state the dead processes left.

SIGKILL ends processes, not the kernel: the page cache survives, so these
tests prove the order of operations (nothing is acknowledged before it is
in place, nothing is visible before it is whole), not durability across a
power loss, which blob_fsync is for.
"""

import base64
import hashlib
import os
import random
import shutil
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from lib import crash


# the load runs with production-like lifetimes (a slow commit must not have
# its staging file collected under it); the gateway that checks after a
# restart collects everything stale within a second or two
LOAD_HTTP_CONF = "blob_temp_ttl 1h;\n    blob_uncommitted_block_ttl 7d;\n"
CHECK_HTTP_CONF = "blob_temp_ttl 1s;\n    blob_uncommitted_block_ttl 1s;\n"
FSYNC = "blob_fsync on;"

KILLED = r"exited on signal 9\b"

ROUNDS = 4
ROUND_SECONDS = 4.0
THREADS = 48
CONTAINERS = ("crash-a", "crash-b")
NAMES = ["f%02d" % i for i in range(14)] + \
        ["d%d/f%02d" % (i % 3, i) for i in range(10)]

GC_WAIT = 20


@pytest.fixture
def root():
    d = Path(tempfile.mkdtemp(prefix="blob-crashroot-", dir="/tmp"))
    yield d
    if not os.environ.get("BLOB_CRASH_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def blob_path(container, name):
    return "/%s/%s" % (container, urllib.parse.quote(name))


def make_containers(g):
    for c in CONTAINERS:
        r = g.request("PUT", "/" + c, query=[("restype", "container")])
        assert r.status in (201, 409), r


def restart(g, http_conf):
    g.extra_http_conf = http_conf
    g.start()
    g.allow_log(KILLED)


def staging_files(root):
    d = root / ".blob" / "tmp"
    return sorted(os.listdir(d)) if d.is_dir() else []


def disk_blobs(root, container):
    """{name: size} of the regular files in a container directory."""

    out = {}
    base = root / container
    for dirpath, dirs, files in os.walk(base):
        for f in files:
            p = Path(dirpath) / f
            if p.is_file() and not p.is_symlink():
                out[str(p.relative_to(base))] = p.stat().st_size
    return out


def list_all(g, container):
    """{name: (Content-Length, Content-MD5, Etag)} over every page."""

    out = {}
    marker = None
    for _ in range(100):
        q = [("restype", "container"), ("comp", "list"),
             ("maxresults", "7")]
        if marker:
            q.append(("marker", marker))
        r = g.request("GET", "/" + container, query=q)
        assert r.status == 200, r
        x = r.xml()
        for b in x.find("Blobs"):
            p = b.find("Properties")
            out[b.find("Name").text] = (int(p.find("Content-Length").text),
                                        p.find("Content-MD5").text,
                                        p.find("Etag").text)
        marker = x.find("NextMarker").text
        if not marker:
            return out
    pytest.fail("listing of %s does not end" % container)


def read_state(g, keys):
    """{key: (status, md5, size, Content-MD5, meta op, ETag)}"""

    out = {}
    for c, n in keys:
        r = g.request("GET", blob_path(c, n))
        if r.status == 200:
            out[(c, n)] = (200, md5_b64(r.body), len(r.body),
                           r.headers.get("Content-MD5"),
                           r.headers.get("x-ms-meta-op"),
                           r.headers.get("ETag", "").strip('"'))
        else:
            assert r.status == 404 and \
                r.headers.get("x-ms-error-code") == "BlobNotFound", r
            out[(c, n)] = (404, None, None, None, None, None)
    return out


def check_against_history(history, state):
    errors = []
    for key, (status, md5, size, prop_md5, meta_op, _) in state.items():
        e = crash.verify_blob(history, key, status, md5, size, prop_md5,
                              meta_op)
        if e:
            errors.append(e)
    assert not errors, "\n".join(errors[:10])


def check_listings(g, root, state):
    for c in CONTAINERS:
        listed = list_all(g, c)
        on_disk = disk_blobs(root, c)
        present = {n: s for (cc, n), s in state.items()
                   if cc == c and s[0] == 200}

        assert set(listed) == set(on_disk), \
            "%s: listed %s, on disk %s" % (c, sorted(listed), sorted(on_disk))
        assert set(listed) == set(present), \
            "%s: listed %s, readable %s" % (c, sorted(listed), sorted(present))

        for n, (length, md5, etag) in listed.items():
            status, body_md5, size, prop_md5, _, get_etag = present[n]
            assert length == size == on_disk[n], (c, n, length, size)
            assert md5 == body_md5, (c, n, md5, body_md5)
            assert etag == get_etag, (c, n, etag, get_etag)


def stale_state(root, state):
    """What the collector should have removed: staging files, trash, and
    per-blob state that belongs to no current version."""

    stale = ["tmp/" + f for f in staging_files(root)]

    trash = root / ".blob" / "trash"
    if trash.is_dir():
        stale += ["trash/" + f for f in os.listdir(trash)]

    base = root / ".blob" / "state"
    if not base.is_dir():
        return stale

    for c in os.listdir(base):
        for hh in os.listdir(base / c):
            for h in os.listdir(base / c / hh):
                d = base / c / hh / h
                try:
                    name = (d / "name").read_bytes().decode()
                except FileNotFoundError:
                    name = None
                s = state.get((c, name))
                if s is None or s[0] != 200:
                    stale.append("state/%s/%s/%s (blob %r gone): %s"
                                 % (c, hh, h, name, os.listdir(d)))
                    continue
                keep = {"name", "m-" + s[5][2:].lower(),
                        "l-" + s[5][2:].lower()}
                extra = [f for f in os.listdir(d) if f.lower() not in keep]
                if extra:
                    stale.append("state/%s/%s/%s (%s): %s"
                                 % (c, hh, h, name, extra))
    return stale


def wait_collected(root, state, seconds=GC_WAIT):
    deadline = time.monotonic() + seconds
    while True:
        left = stale_state(root, state)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def put_blob(g, c, n, data, meta):
    r = g.request("PUT", blob_path(c, n), body=data,
                  headers={"x-ms-blob-type": "BlockBlob",
                           "x-ms-meta-op": meta})
    assert r.status == 201, r
    return r


def assert_blob(g, c, n, data, meta):
    r = g.request("GET", blob_path(c, n))
    assert r.status == 200, r
    assert r.body == data
    assert r.headers["Content-MD5"] == md5_b64(data)
    assert r.headers["x-ms-meta-op"] == meta


def test_worker_killed_mid_body(gateway_factory, root):
    """An upload cut by SIGKILL halfway through its body: the old version
    stays whole, the staging file is left, and the collector removes it."""

    g = gateway_factory(root=root, workers=1, extra_conf=FSYNC,
                        extra_http_conf=LOAD_HTTP_CONF, name="crash")
    g.allow_log(KILLED)
    make_containers(g)
    c = CONTAINERS[0]
    old = os.urandom(5000)
    put_blob(g, c, "cut", old, "old")

    s = crash.start_partial_upload(g, blob_path(c, "cut"), 4 << 20, 1 << 20,
                                   headers={"x-ms-blob-type": "BlockBlob",
                                            "x-ms-meta-op": "new"})
    try:
        staged = crash.wait_for(
            lambda: [f for f in staging_files(root)
                     if (root / ".blob/tmp" / f).stat().st_size >= 1 << 20],
            10)
        assert staged, staging_files(root)

        (worker,) = crash.children(g.proc.pid)
        assert crash.kill9(worker)
        assert s.recv(1) == b""         # cut, no answer
    finally:
        s.close()

    # the master respawned the worker: the old version, whole
    assert crash.wait_for(lambda: crash.children(g.proc.pid), 5)
    assert_blob(g, c, "cut", old, "old")
    assert set(staged) <= set(staging_files(root))

    g.stop()
    restart(g, CHECK_HTTP_CONF)
    assert crash.wait_for(lambda: not staging_files(root), GC_WAIT), \
        staging_files(root)
    assert_blob(g, c, "cut", old, "old")


def test_blocks_of_killed_upload_collected(gateway_factory, root):
    """Blocks staged by a client whose commit never came are removed by
    the collector after blob_uncommitted_block_ttl; the committed blob
    and its block list stay."""

    g = gateway_factory(root=root, workers=1, extra_conf=FSYNC,
                        extra_http_conf=LOAD_HTTP_CONF, name="crash")
    g.allow_log(KILLED)
    make_containers(g)
    c = CONTAINERS[0]
    data = os.urandom(3000)
    put_blob(g, c, "blocks", data, "committed")

    for i in range(3):
        r = g.request("PUT", blob_path(c, "blocks"),
                      query=[("comp", "block"),
                             ("blockid", base64.b64encode(b"%04d" % i)
                              .decode())], body=os.urandom(1000))
        assert r.status == 201, r

    # a fourth block cut halfway through its body
    s = crash.start_partial_upload(
        g, blob_path(c, "blocks"), 1 << 20, 1 << 18,
        query=[("comp", "block"),
               ("blockid", base64.b64encode(b"0004").decode())])
    try:
        assert crash.wait_for(lambda: staging_files(root), 10)
        assert crash.kill_group(g)
    finally:
        s.close()

    h = hashlib.sha256(b"blocks").hexdigest()
    state = root / ".blob" / "state" / c / h[:2] / h
    assert len([f for f in os.listdir(state) if f.startswith("b-")]) == 3

    restart(g, CHECK_HTTP_CONF)

    def collected():
        return not staging_files(root) and not [
            f for f in os.listdir(state) if f[0] in "bi" or f[0] == "."]

    assert crash.wait_for(collected, GC_WAIT), \
        (staging_files(root), os.listdir(state))
    r = g.request("GET", blob_path(c, "blocks"),
                  query=[("comp", "blocklist"), ("blocklisttype", "all")])
    assert r.status == 200, r
    assert len(r.xml().find("UncommittedBlocks")) == 0
    assert_blob(g, c, "blocks", data, "committed")


def killer(g, stop, rnd, kills):
    """SIGKILL a random worker every 0.1-0.5 s until stop is set."""

    while not stop.wait(rnd.uniform(0.1, 0.5)):
        workers = crash.children(g.proc.pid) if g.proc else []
        if workers and crash.kill9(rnd.choice(workers)):
            kills.append(time.time())


@pytest.mark.slow
@pytest.mark.time_limit(170)
def test_kill9_rounds(gateway_factory, root):
    seed = int(os.environ.get("BLOB_CRASH_SEED", random.randrange(1 << 30)))
    print("BLOB_CRASH_SEED=%d" % seed)
    rnd = random.Random(seed)

    g = gateway_factory(root=root, workers=4, extra_conf=FSYNC,
                        extra_http_conf=LOAD_HTTP_CONF, name="crash")
    g.allow_log(KILLED)
    make_containers(g)

    keys = [(c, n) for c in CONTAINERS for n in NAMES]
    initial = {}
    totals = {"ops": 0, "acked": 0, "worker_kills": 0, "staging_left": 0,
              "cut": 0}

    for rnd_no in range(ROUNDS):
        history = []
        for key in keys:
            op = crash.Op("initial-%d" % rnd_no, "initial", *key)
            s = initial.get(key)
            if s and s[0] == 200:
                op.md5, op.size, op.id = s[1], s[2], s[4]
            op.t_start = op.t_end = time.time()
            history.append(op)

        work = crash.Workload(g, keys, THREADS, seed * 10 + rnd_no)
        stop = threading.Event()
        kills = []
        k = threading.Thread(target=killer, args=(g, stop, rnd, kills),
                             daemon=True)

        work.start()
        k.start()
        time.sleep(ROUND_SECONDS)
        stop.set()
        k.join()

        # the master too, in the middle of the traffic: alone first in
        # odd rounds (the orphaned workers go on serving for a while)
        # (no new operation starts after that: the ones running are cut)
        assert crash.kill_group(g, master_first_for=0.5 * (rnd_no % 2),
                                before=work.stop.set), \
            "processes of the killed gateway are still running"
        assert work.join(), "client threads did not finish"

        history += work.ops
        left = staging_files(root)
        totals["ops"] += len(work.ops)
        totals["acked"] += sum(o.acked for o in work.ops)
        totals["cut"] += sum(o.status is None for o in work.ops)
        totals["worker_kills"] += len(kills)
        for kind in ("put", "blocks", "delete"):
            totals["acked_" + kind] = totals.get("acked_" + kind, 0) + sum(
                o.acked for o in work.ops if o.kind == kind)
        totals["staging_left"] += len(left)

        bad = [o for o in work.ops if o.status and o.status >= 500]
        assert not bad, "5xx answers under crashes: %s\n%s" % (
            bad[:5], "\n".join(l for l in g.log_tail(400).splitlines()
                               if "[error]" in l or "[warn]" in l)[-3000:])
        lying = [o for o in work.ops if o.kind == "put" and o.acked
                 and o.error]
        assert not lying, lying[:5]

        # a restarted gateway, as a client sees it right away ...
        restart(g, CHECK_HTTP_CONF)
        state = read_state(g, keys)
        check_against_history(history, state)
        check_listings(g, root, state)

        # ... and after the collector ran: nothing stale, nothing lost
        left = wait_collected(root, state)
        assert not left, "not collected after %ds: %s" % (GC_WAIT, left[:10])
        after = read_state(g, keys)
        assert after == state
        check_listings(g, root, after)

        initial = state
        g.stop()
        restart(g, LOAD_HTTP_CONF)

    print("crash totals: %s" % totals)
    assert totals["worker_kills"] >= ROUNDS * 4
    assert totals["acked"] >= 200
    # the kills must have cut uploads for the test to prove anything
    assert totals["staging_left"] > 0 and totals["cut"] > 0, totals
