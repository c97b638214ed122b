"""Races: many writers on one blob, writers against deleters, readers
against deleters, on one gateway and through two gateways on one export.

What must hold whatever the interleaving:
- If-None-Match: * -- exactly one writer wins, every other gets 409
  BlobAlreadyExists, and the blob is the winner's bytes;
- concurrent commits -- the blob is exactly one writer's bytes (never a
  mix of blocks), with that writer's properties, Content-MD5 and ETag;
- a read during a delete gets the whole blob or 404, never a short body;
- a commit racing a delete leaves the blob absent or exactly the new
  version, and the listing says what the disk holds.

Two gateways on one export are two `bindfs --xattr-none` mounts of one
directory, as in test_multigateway.py.
"""

import base64
import os
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib.races import Export, Prepared, contend, md5_b64, wait_for  # noqa


KiB = 1024


# --- fixtures and helpers --------------------------------------------------

@pytest.fixture(scope="module")
def export():
    try:
        e = Export(hosts=2)
    except RuntimeError as err:
        if "FUSE unavailable" in str(err):
            pytest.skip(str(err))
        raise
    try:
        yield e
    finally:
        e.close()


@pytest.fixture
def hosts(export, gateway_factory):
    return [gateway_factory(root=m, name=m.name) for m in export.mounts]


def container_on(g):
    name = "race" + uuid.uuid4().hex[:12]
    r = g.request("PUT", "/" + name, query=[("restype", "container")])
    assert r.status == 201, r
    return name


def no_exceptions(results):
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]


def block_id(writer, n):
    # one length for every id of the blob, as Azure requires
    return base64.b64encode(b"w%03d-b%03d" % (writer, n)).decode()


def block_list(ids):
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>"
            + "".join("<Latest>%s</Latest>" % i for i in ids)
            + "</BlockList>").encode()


def listed(g, container):
    """{name: (size, etag)} from List Blobs (all pages)."""

    out = {}
    marker = None
    while True:
        q = [("restype", "container"), ("comp", "list")]
        if marker:
            q.append(("marker", marker))
        r = g.request("GET", "/" + container, query=q)
        assert r.status == 200, r
        root = ET.fromstring(r.body)
        for b in root.iter("Blob"):
            p = b.find("Properties")
            out[b.findtext("Name")] = (int(p.findtext("Content-Length")),
                                       p.findtext("Etag"))
        marker = root.findtext("NextMarker")
        if not marker:
            return out


def on_disk(root, container):
    """{name: size} of the regular files of a container directory."""

    base = Path(root) / container
    out = {}
    for dirpath, _, files in os.walk(base):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(base))] = p.stat().st_size
    return out


def assert_listing_is_disk(g, root, container):
    lst = listed(g, container)
    disk = on_disk(root, container)
    assert {n: s for n, (s, _) in lst.items()} == disk, (lst, disk)


def unquote_etag(e):
    return e.strip('"')


# --- If-None-Match: * ------------------------------------------------------

WRITERS = 48


def test_if_none_match_star_exactly_one_wins(gateway, new_container):
    c = new_container
    for rnd in range(4):
        path = "/%s/once-%d" % (c, rnd)
        bodies = [b"writer %03d " % i + os.urandom(64 * KiB)
                  for i in range(WRITERS)]
        prepared = [Prepared(gateway, "PUT", path, headers={
            "x-ms-blob-type": "BlockBlob", "If-None-Match": "*",
            "x-ms-meta-writer": str(i)}, body=bodies[i])
            for i in range(WRITERS)]
        results = contend(prepared)
        no_exceptions(results)

        winners = [i for i, r in enumerate(results) if r.status == 201]
        assert len(winners) == 1, [r.status for r in results]
        w = winners[0]
        for i, r in enumerate(results):
            if i != w:
                assert (r.status, r.error_code) == (409,
                                                    "BlobAlreadyExists"), r

        r = gateway.request("GET", path)
        assert r.status == 200 and r.body == bodies[w], r
        assert r.headers["Content-MD5"] == md5_b64(bodies[w])
        assert r.headers["x-ms-meta-writer"] == str(w)
        assert r.headers["ETag"] == results[w].headers["ETag"]
        assert (gateway.root / c / ("once-%d" % rnd)).read_bytes() \
            == bodies[w]

    assert_listing_is_disk(gateway, gateway.root, c)


@pytest.mark.slow
def test_if_none_match_star_two_hosts(hosts):
    a, b = hosts
    c = container_on(a)
    n = 32
    for rnd in range(3):
        path = "/%s/once-%d" % (c, rnd)
        bodies = [b"writer %03d " % i + os.urandom(64 * KiB)
                  for i in range(n)]
        prepared = [Prepared(hosts[i % 2], "PUT", path, headers={
            "x-ms-blob-type": "BlockBlob", "If-None-Match": "*",
            "x-ms-meta-writer": str(i)}, body=bodies[i]) for i in range(n)]
        results = contend(prepared)
        no_exceptions(results)

        winners = [i for i, r in enumerate(results) if r.status == 201]
        assert len(winners) == 1, [r.status for r in results]
        w = winners[0]
        for i, r in enumerate(results):
            if i != w:
                assert (r.status, r.error_code) == (409,
                                                    "BlobAlreadyExists"), r
        for g in hosts:
            r = wait_for(lambda: (lambda r: r if r.status == 200
                                  and r.body == bodies[w] else None)(
                g.request("GET", path)), "winner's bytes on %r" % g)
            assert r.headers["x-ms-meta-writer"] == str(w)
            assert r.headers["Content-MD5"] == md5_b64(bodies[w])


# --- concurrent commits through two gateways -------------------------------

def stage(g, path, writer, blocks, size):
    """Puts a writer's blocks; returns (ids, content)."""

    ids, parts = [], []
    for n in range(blocks):
        data = (b"<%03d:%03d>" % (writer, n)) * (size // 9) + os.urandom(7)
        bid = block_id(writer, n)
        r = g.request("PUT", path, query=[("comp", "block"),
                                          ("blockid", bid)], body=data)
        assert r.status == 201, r
        ids.append(bid)
        parts.append(data)
    return ids, b"".join(parts)


@pytest.mark.slow
def test_commits_through_two_gateways_one_version_wins(hosts):
    a, b = hosts
    c = container_on(a)
    writers, blocks, size = 16, 4, 64 * KiB

    for rnd in range(3):
        name = "commit-%d" % rnd
        path = "/%s/%s" % (c, name)

        staged = [None] * writers

        def do_stage(w):
            staged[w] = stage(hosts[w % 2], path, w, blocks, size)

        threads = [threading.Thread(target=do_stage, args=(w,))
                   for w in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert all(staged), "staging failed"

        contents = {content: w for w, (_, content) in enumerate(staged)}
        prepared = [Prepared(hosts[w % 2], "PUT", path,
                             query=[("comp", "blocklist")], headers={
                                 "x-ms-blob-content-md5":
                                     md5_b64(staged[w][1]),
                                 "x-ms-meta-writer": str(w)},
                             body=block_list(staged[w][0]))
                    for w in range(writers)]
        results = contend(prepared)
        no_exceptions(results)

        # a commit discards every uncommitted block of the blob, so a
        # writer whose blocks went with another's commit gets
        # InvalidBlockList, as on Azure
        for r in results:
            assert r.status == 201 or (r.status, r.error_code) == (
                400, "InvalidBlockList"), r
        won = {w for w, r in enumerate(results) if r.status == 201}
        assert won

        # both gateways, once their mounts' caches agree, serve one
        # writer's complete version with that writer's properties
        def settled():
            heads = [g.request("HEAD", path) for g in hosts]
            etags = {h.headers.get("ETag") for h in heads}
            return heads if len(etags) == 1 and None not in etags else None

        wait_for(settled, "both gateways see one version")

        for g in hosts:
            r = g.request("GET", path)
            assert r.status == 200, r
            w = contents.get(r.body)
            assert w is not None, "the blob is no writer's bytes (mixed?)"
            assert w in won, "writer %d got %r but its bytes are there" % (
                w, results[w])
            assert r.headers["x-ms-meta-writer"] == str(w)
            assert r.headers["Content-MD5"] == md5_b64(r.body)
            assert r.headers["ETag"] == results[w].headers["ETag"]

            r = g.request("GET", path, query=[("comp", "blocklist")])
            assert r.status == 200, r
            ids = [e.findtext("Name") for e in
                   ET.fromstring(r.body).iter("Block")]
            assert ids == staged[w][0], ids

        disk = (hosts[0].root / c / name).read_bytes()
        assert contents.get(disk) in won

    assert_listing_is_disk(a, a.root, c)


# --- delete against read ---------------------------------------------------

def test_read_during_delete_is_whole_or_404(gateway, new_container):
    c = new_container
    path = "/%s/flicker" % c
    versions = [bytes([65 + k]) * (2 * 1024 * KiB - k) for k in range(4)]
    md5s = {md5_b64(v): v for v in versions}
    stop = threading.Event()
    seen = {"200": 0, "404": 0}
    errors = []

    assert gateway.request("PUT", path, headers={
        "x-ms-blob-type": "BlockBlob"}, body=versions[0]).status == 201

    def reader():
        while not stop.is_set():
            try:
                r = gateway.request("GET", path)
                if r.status == 404:
                    assert r.error_code == "BlobNotFound", r
                    seen["404"] += 1
                    continue
                assert r.status == 200, r
                assert int(r.headers["Content-Length"]) == len(r.body)
                assert r.body in versions, "a partial or mixed body"
                assert md5s[r.headers["Content-MD5"]] == r.body
                seen["200"] += 1
            except Exception as e:
                errors.append(repr(e))
                return

    def churn():
        k = 0
        while not stop.is_set():
            k = (k + 1) % len(versions)
            try:
                r = gateway.request("DELETE", path)
                assert r.status in (202, 404), r
                r = gateway.request("PUT", path, headers={
                    "x-ms-blob-type": "BlockBlob"}, body=versions[k])
                assert r.status == 201, r
            except Exception as e:
                errors.append(repr(e))
                return

    threads = [threading.Thread(target=reader) for _ in range(6)]
    threads.append(threading.Thread(target=churn))
    for t in threads:
        t.start()
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join(60)

    assert not errors, errors[:3]
    print("\nread during delete:", seen)
    assert seen["200"] > 10 and seen["404"] > 0, seen


# --- delete against commit -------------------------------------------------

def test_commit_against_delete_absent_or_new(gateway, new_container):
    c = new_container
    for rnd in range(20):
        name = "dc-%d" % rnd
        path = "/%s/%s" % (c, name)
        old = b"old version %d" % rnd
        if rnd % 2:
            # half the rounds replace an existing blob
            assert gateway.request("PUT", path, headers={
                "x-ms-blob-type": "BlockBlob"}, body=old).status == 201
        ids, content = stage(gateway, path, rnd, 2, 128 * KiB)

        results = contend([
            Prepared(gateway, "PUT", path, query=[("comp", "blocklist")],
                     headers={"x-ms-blob-content-md5": md5_b64(content)},
                     body=block_list(ids)),
            Prepared(gateway, "DELETE", path),
            Prepared(gateway, "DELETE", path),
        ])
        no_exceptions(results)
        commit, deletes = results[0], results[1:]

        assert commit.status == 201 or (commit.status, commit.error_code) \
            == (400, "InvalidBlockList"), commit
        for d in deletes:
            assert d.status == 202 or (d.status, d.error_code) == (
                404, "BlobNotFound"), d

        r = gateway.request("GET", path)
        file = gateway.root / c / name
        if r.status == 404:
            assert r.error_code == "BlobNotFound", r
            assert not file.exists()
            assert name not in listed(gateway, c)
        else:
            assert r.status == 200, r
            # a delete that answered 202 removed something: the old
            # version cannot be what is left
            assert r.body == content, "not the committed version"
            assert commit.status == 201
            assert r.headers["Content-MD5"] == md5_b64(content)
            assert r.headers["ETag"] == commit.headers["ETag"]
            assert file.read_bytes() == content
            size, etag = listed(gateway, c)[name]
            assert size == len(content)
            assert '"%s"' % unquote_etag(etag) == r.headers["ETag"]

    assert_listing_is_disk(gateway, gateway.root, c)


def test_put_against_delete_of_sibling(gateway, new_container):
    """Delete Blob removes the virtual directory its blob leaves empty;
    a Put Blob of a sibling that just created that directory must still
    land (and never fail with a 500)."""

    c = new_container
    for rnd in range(40):
        d = "vd%d/sub" % rnd
        assert gateway.request("PUT", "/%s/%s/old" % (c, d), headers={
            "x-ms-blob-type": "BlockBlob"}, body=b"old").status == 201
        results = contend([
            Prepared(gateway, "PUT", "/%s/%s/new" % (c, d), headers={
                "x-ms-blob-type": "BlockBlob"}, body=b"new %d" % rnd),
            Prepared(gateway, "DELETE", "/%s/%s/old" % (c, d)),
        ])
        no_exceptions(results)
        assert results[0].status == 201, results[0]
        assert results[1].status == 202, results[1]
        r = gateway.request("GET", "/%s/%s/new" % (c, d))
        assert r.status == 200 and r.body == b"new %d" % rnd, r

    assert_listing_is_disk(gateway, gateway.root, c)


def test_block_staging_against_commit_and_delete(gateway, new_container):
    """Put Block, Put Block List and Delete Blob of one blob, all at once:
    each answers with its own Azure status, never a 5xx, and what is left
    is a whole version or nothing."""

    c = new_container
    for rnd in range(15):
        path = "/%s/mix-%d" % (c, rnd)
        ids, content = stage(gateway, path, 1, 3, 64 * KiB)
        prepared = [
            Prepared(gateway, "PUT", path, query=[("comp", "blocklist")],
                     body=block_list(ids)),
            Prepared(gateway, "DELETE", path),
        ]
        prepared += [Prepared(gateway, "PUT", path, query=[
            ("comp", "block"), ("blockid", block_id(2, n))],
            body=b"late block %d" % n) for n in range(4)]
        results = contend(prepared)
        no_exceptions(results)
        for r in results:
            assert r.status < 500, r
        r = gateway.request("GET", path)
        assert r.status == 404 or (r.status == 200 and r.body == content), r

    assert_listing_is_disk(gateway, gateway.root, c)
