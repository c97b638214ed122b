"""Put Block, Put Block List, Get Block List on the wire.

Raw HTTP through gateway.request(): exact statuses, error codes, headers
and XML, every error path; the directory is checked where the on-disk
layout is the point (uncommitted blocks discarded, nothing staged left).
"""

import base64
import hashlib
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import azsign  # noqa: E402


MiB = 1024 * 1024


# --- helpers ---------------------------------------------------------------

def bid(n, width=8):
    """A block id: base64 of a fixed-width decimal, as the SDKs make them."""
    return base64.b64encode(("%0*d" % (width, n)).encode()).decode()


from lib.checksums import crc64_b64, md5_b64  # noqa: E402


def block_list_xml(entries):
    """entries: [(element, base64 id)] -> the Put Block List body."""
    body = '<?xml version="1.0" encoding="utf-8"?><BlockList>'
    for kind, b in entries:
        body += "<%s>%s</%s>" % (kind, b, kind)
    return (body + "</BlockList>").encode()


def put_block(gw, c, b, block_id, data, headers=None):
    return gw.request("PUT", "/%s/%s" % (c, b),
                      query=[("comp", "block"), ("blockid", block_id)],
                      headers=headers, body=data)


def put_list(gw, c, b, entries, headers=None, body=None):
    if body is None:
        body = block_list_xml(entries)
    return gw.request("PUT", "/%s/%s" % (c, b),
                      query=[("comp", "blocklist")], headers=headers,
                      body=body)


def get_list(gw, c, b, list_type=None, method="GET"):
    q = [("comp", "blocklist")]
    if list_type is not None:
        q.append(("blocklisttype", list_type))
    return gw.request(method, "/%s/%s" % (c, b), query=q)


def get_blob(gw, c, b):
    return gw.request("GET", "/%s/%s" % (c, b))


def blocks_of(resp, element):
    """[(name, size)] of CommittedBlocks/UncommittedBlocks, or None."""
    sect = resp.xml().find(element)
    if sect is None:
        return None
    return [(blk.findtext("Name"), int(blk.findtext("Size")))
            for blk in sect.findall("Block")]


def state_dir(gw, c, b):
    h = hashlib.sha256(b.encode()).hexdigest()
    return gw.root / ".blob" / "state" / c / h[:2] / h


def state_files(gw, c, b, prefix):
    d = state_dir(gw, c, b)
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if p.name.startswith(prefix))


def staging_files(gw):
    d = gw.root / ".blob" / "tmp"
    return set(p.name for p in d.iterdir()) if d.is_dir() else set()


def commit(gw, c, b, blocks, headers=None):
    """Stages {id: data} in order and commits them as Latest."""
    for block_id, data in blocks:
        r = put_block(gw, c, b, block_id, data)
        assert r.status == 201, r
    r = put_list(gw, c, b, [("Latest", i) for i, _ in blocks], headers)
    assert r.status == 201, r
    return r


def raw_request(gw, method, path, query, headers, send_body=b""):
    """A signed request with exactly the given headers, over a raw socket:
    for what http.client would add (Content-Length) or refuse."""
    url_path = "/" + gw.account + path
    headers = dict(headers)
    headers.update(azsign.shared_key_headers(gw.account, gw.key, method,
                                             url_path, query=query,
                                             headers=headers))
    target = url_path + "?" + "&".join("%s=%s" % kv for kv in query)
    lines = ["%s %s HTTP/1.1" % (method, target),
             "Host: %s:%d" % (gw.host, gw.port), "Connection: close"]
    lines += ["%s: %s" % kv for kv in headers.items()]
    s = socket.create_connection((gw.host, gw.port), timeout=30)
    try:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + send_body)
        # the response only: the gateway may wait for a body never sent
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    finally:
        s.close()
    status = data.split(b"\r\n", 1)[0].decode()
    return int(status.split()[1]), data


@pytest.fixture
def c(new_container):
    return new_container


@pytest.fixture
def b():
    return "blob-" + uuid.uuid4().hex[:12]


# --- Put Block --------------------------------------------------------------

def test_put_block_created(gateway, c, b):
    data = b"hello block"
    r = put_block(gateway, c, b, bid(1), data)
    assert r.status == 201, r
    assert r.body == b""
    assert r.headers["Content-Length"] == "0"
    assert r.headers["x-ms-request-server-encrypted"] == "true"
    assert r.headers["x-ms-content-crc64"] == crc64_b64(data)
    assert "Content-MD5" not in r.headers
    assert "ETag" not in r.headers
    assert r.headers["x-ms-version"]
    assert r.headers["x-ms-request-id"]


def test_put_block_creates_nothing_visible(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = get_blob(gateway, c, b)
    assert r.status == 404, r
    assert r.error_code == "BlobNotFound"
    assert not (gateway.root / c / b).exists()


def test_put_block_stored_as_b_file(gateway, c, b):
    data = os.urandom(1000)
    assert put_block(gateway, c, b, bid(7), data).status == 201
    name = "b-" + base64.b64decode(bid(7)).hex()
    d = state_dir(gateway, c, b)
    assert (d / name).read_bytes() == data
    assert (d / "name").read_bytes() == b.encode()
    # the id length every further block of this blob must have
    assert state_files(gateway, c, b, "i-") == ["i-8"]


def test_put_block_content_md5_echoed(gateway, c, b):
    data = b"checked by md5"
    r = put_block(gateway, c, b, bid(1), data,
                  {"Content-MD5": md5_b64(data)})
    assert r.status == 201, r
    assert r.headers["Content-MD5"] == md5_b64(data)
    assert "x-ms-content-crc64" not in r.headers


def test_put_block_md5_mismatch(gateway, c, b):
    r = put_block(gateway, c, b, bid(1), b"data",
                  {"Content-MD5": md5_b64(b"other")})
    assert r.status == 400, r
    assert r.error_code == "Md5Mismatch"
    assert state_files(gateway, c, b, "b-") == []


def test_put_block_invalid_md5(gateway, c, b):
    r = put_block(gateway, c, b, bid(1), b"data",
                  {"Content-MD5": "bm90IGFuIG1kNQ=="})
    assert r.status == 400, r
    assert r.error_code == "InvalidMd5"


def test_put_block_crc64_echoed(gateway, c, b):
    data = b"checked by crc64" * 100
    r = put_block(gateway, c, b, bid(1), data,
                  {"x-ms-content-crc64": crc64_b64(data)})
    assert r.status == 201, r
    assert r.headers["x-ms-content-crc64"] == crc64_b64(data)


def test_put_block_crc64_mismatch(gateway, c, b):
    r = put_block(gateway, c, b, bid(1), b"data",
                  {"x-ms-content-crc64": crc64_b64(b"other")})
    assert r.status == 400, r
    assert r.error_code == "Crc64Mismatch"
    assert state_files(gateway, c, b, "b-") == []


def test_put_block_md5_and_crc64_together(gateway, c, b):
    data = b"both"
    r = put_block(gateway, c, b, bid(1), data,
                  {"Content-MD5": md5_b64(data),
                   "x-ms-content-crc64": crc64_b64(data)})
    assert r.status == 400, r
    assert r.error_code == "InvalidHeaderValue"


def test_put_block_missing_blockid(gateway, c, b):
    r = gateway.request("PUT", "/%s/%s" % (c, b), query=[("comp", "block")],
                        body=b"x")
    assert r.status == 400, r
    assert r.error_code == "MissingRequiredQueryParameter"
    assert r.xml().findtext("QueryParameterName") == "blockid"


@pytest.mark.parametrize("block_id", ["abc", "a*bc", "QR==", "====",
                                      "QQ==QQ==", "QUJD\nRA=="])
def test_put_block_invalid_blockid(gateway, c, b, block_id):
    r = put_block(gateway, c, b, block_id, b"x")
    assert r.status == 400, r
    assert r.error_code == "InvalidQueryParameterValue"
    assert r.xml().findtext("QueryParameterName") == "blockid"


def test_put_block_blockid_64_bytes(gateway, c, b):
    block_id = base64.b64encode(b"i" * 64).decode()
    assert put_block(gateway, c, b, block_id, b"x").status == 201


def test_put_block_blockid_65_bytes(gateway, c, b):
    block_id = base64.b64encode(b"i" * 65).decode()
    r = put_block(gateway, c, b, block_id, b"x")
    assert r.status == 400, r
    assert r.error_code == "OutOfRangeInput"


def test_put_block_blockid_length_differs(gateway, c, b):
    assert put_block(gateway, c, b, bid(1, 8), b"x").status == 201
    r = put_block(gateway, c, b, bid(2, 12), b"y")
    assert r.status == 400, r
    assert r.error_code == "InvalidBlobOrBlock"
    # the same length is still fine
    assert put_block(gateway, c, b, bid(3, 8), b"z").status == 201


def test_put_block_blockid_length_free_after_commit(gateway, c, b):
    commit(gateway, c, b, [(bid(1, 8), b"x")])
    assert put_block(gateway, c, b, bid(2, 12), b"y").status == 201


def test_put_block_same_id_replaces(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"first").status == 201
    assert put_block(gateway, c, b, bid(1), b"second!").status == 201
    r = get_list(gateway, c, b, "uncommitted")
    assert blocks_of(r, "UncommittedBlocks") == [(bid(1), 7)]


def test_put_block_container_not_found(gateway, b):
    r = put_block(gateway, "nocontainer" + uuid.uuid4().hex[:8], b, bid(1),
                  b"x")
    assert r.status == 404, r
    assert r.error_code == "ContainerNotFound"


def test_put_block_too_large(gateway_factory):
    g = gateway_factory(extra_conf="blob_max_put_block_size 1k;")
    c = "small"
    assert g.request("PUT", "/" + c,
                     query=[("restype", "container")]).status == 201
    r = put_block(g, c, "b", bid(1), b"x" * 2048)
    assert r.status == 413, r
    assert r.error_code == "RequestBodyTooLarge"
    assert put_block(g, c, "b", bid(1), b"x" * 1024).status == 201


def test_put_block_without_content_length(gateway, c, b):
    status, data = raw_request(
        gateway, "PUT", "/%s/%s" % (c, b),
        [("comp", "block"), ("blockid", bid(1))],
        {"Transfer-Encoding": "chunked"}, b"1\r\nx\r\n0\r\n\r\n")
    assert status == 411, data
    assert b"x-ms-error-code: MissingContentLengthHeader" in data


def test_put_block_empty_body(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"").status == 201
    r = get_list(gateway, c, b, "uncommitted")
    assert blocks_of(r, "UncommittedBlocks") == [(bid(1), 0)]


# --- Put Block List -------------------------------------------------------

def test_put_block_list_creates_blob(gateway, c, b):
    parts = [os.urandom(1000), os.urandom(3000), os.urandom(17)]
    blocks = [(bid(i), d) for i, d in enumerate(parts)]
    for i, d in blocks:
        assert put_block(gateway, c, b, i, d).status == 201
    body = block_list_xml([("Latest", i) for i, _ in blocks])
    r = put_list(gateway, c, b, None, body=body)
    assert r.status == 201, r
    assert r.body == b""
    assert r.headers["x-ms-request-server-encrypted"] == "true"
    assert r.headers["x-ms-content-crc64"] == crc64_b64(body)
    assert "Content-MD5" not in r.headers
    etag = r.headers["ETag"]
    assert etag.startswith('"0x') and etag.endswith('"')
    assert r.headers["Last-Modified"].endswith(" GMT")

    g = get_blob(gateway, c, b)
    assert g.status == 200, g
    assert g.body == b"".join(parts)
    assert g.headers["ETag"] == etag
    assert g.headers["Last-Modified"] == r.headers["Last-Modified"]
    assert g.headers["Content-Type"] == "application/octet-stream"
    assert (gateway.root / c / b).read_bytes() == b"".join(parts)


def test_put_block_list_content_md5_echoed(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    body = block_list_xml([("Latest", bid(1))])
    r = put_list(gateway, c, b, None, {"Content-MD5": md5_b64(body)}, body)
    assert r.status == 201, r
    assert r.headers["Content-MD5"] == md5_b64(body)
    assert "x-ms-content-crc64" not in r.headers


def test_put_block_list_md5_mismatch(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(1))],
                 {"Content-MD5": md5_b64(b"other")})
    assert r.status == 400, r
    assert r.error_code == "Md5Mismatch"
    assert get_blob(gateway, c, b).status == 404
    assert state_files(gateway, c, b, "b-") != []


def test_put_block_list_crc64_mismatch(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(1))],
                 {"x-ms-content-crc64": crc64_b64(b"other")})
    assert r.status == 400, r
    assert r.error_code == "Crc64Mismatch"


def test_put_block_list_leaves_no_state_behind(gateway, c, b):
    staged = staging_files(gateway)
    commit(gateway, c, b, [(bid(1), b"a" * 100), (bid(2), b"b" * 50)])
    assert put_block(gateway, c, b, bid(3), b"not committed").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(2)), ("Committed", bid(1))])
    assert r.status == 201, r
    etag = r.headers["ETag"].strip('"')[2:].lower()

    assert state_files(gateway, c, b, "b-") == []
    assert state_files(gateway, c, b, "i-") == []
    # the replaced version's m-/l- files may stay up to a minute (a
    # concurrent commit may still need them); the collector removes them
    assert "m-" + etag in state_files(gateway, c, b, "m-")
    assert "l-" + etag in state_files(gateway, c, b, "l-")
    assert len(state_files(gateway, c, b, "m-")) <= 2
    lines = (state_dir(gateway, c, b) / ("l-" + etag)).read_text().split("\n")
    assert lines == [base64.b64decode(bid(2)).hex() + " 50",
                     base64.b64decode(bid(1)).hex() + " 100", ""]
    assert staging_files(gateway) <= staged


def test_put_block_list_discards_uncommitted(gateway, c, b):
    for i in range(3):
        assert put_block(gateway, c, b, bid(i), b"%d" % i).status == 201
    assert put_list(gateway, c, b, [("Latest", bid(0))]).status == 201
    r = get_list(gateway, c, b, "all")
    assert blocks_of(r, "CommittedBlocks") == [(bid(0), 1)]
    assert blocks_of(r, "UncommittedBlocks") == []
    # a discarded block cannot be committed any more
    r = put_list(gateway, c, b, [("Uncommitted", bid(1))])
    assert r.status == 400, r
    assert r.error_code == "InvalidBlockList"


def test_put_block_list_missing_block(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(1)), ("Latest", bid(2))])
    assert r.status == 400, r
    assert r.error_code == "InvalidBlockList"
    assert get_blob(gateway, c, b).status == 404
    # the staged blocks survive a failed commit
    assert len(state_files(gateway, c, b, "b-")) == 1


def test_put_block_list_reuses_committed_blocks(gateway, c, b):
    a, bb, cc = b"A" * 1000, b"B" * 2000, b"C" * 3000
    commit(gateway, c, b, [(bid(1), a), (bid(2), bb)])
    assert put_block(gateway, c, b, bid(3), cc).status == 201
    r = put_list(gateway, c, b, [("Committed", bid(2)),
                                 ("Uncommitted", bid(3)),
                                 ("Committed", bid(1))])
    assert r.status == 201, r
    assert get_blob(gateway, c, b).body == bb + cc + a
    r = get_list(gateway, c, b)
    assert blocks_of(r, "CommittedBlocks") == [(bid(2), 2000), (bid(3), 3000),
                                               (bid(1), 1000)]


def test_put_block_list_latest_prefers_uncommitted(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"old")])
    assert put_block(gateway, c, b, bid(1), b"newer").status == 201
    assert put_list(gateway, c, b, [("Latest", bid(1))]).status == 201
    assert get_blob(gateway, c, b).body == b"newer"


def test_put_block_list_latest_falls_back_to_committed(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"one"), (bid(2), b"two")])
    assert put_list(gateway, c, b, [("Latest", bid(2))]).status == 201
    assert get_blob(gateway, c, b).body == b"two"


def test_put_block_list_committed_ignores_uncommitted(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"old")])
    assert put_block(gateway, c, b, bid(1), b"newer").status == 201
    assert put_list(gateway, c, b, [("Committed", bid(1))]).status == 201
    assert get_blob(gateway, c, b).body == b"old"


def test_put_block_list_uncommitted_only_looks_there(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"old")])
    r = put_list(gateway, c, b, [("Uncommitted", bid(1))])
    assert r.status == 400, r
    assert r.error_code == "InvalidBlockList"
    assert get_blob(gateway, c, b).body == b"old"


def test_put_block_list_committed_only_looks_there(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = put_list(gateway, c, b, [("Committed", bid(1))])
    assert r.status == 400, r
    assert r.error_code == "InvalidBlockList"


def test_put_block_list_repeated_block(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"ab").status == 201
    assert put_block(gateway, c, b, bid(2), b"-").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(1)), ("Latest", bid(2)),
                                 ("Latest", bid(1))])
    assert r.status == 201, r
    assert get_blob(gateway, c, b).body == b"ab-ab"


def test_put_block_list_same_id_from_both_lists(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"old")])
    assert put_block(gateway, c, b, bid(1), b"new").status == 201
    r = put_list(gateway, c, b, [("Uncommitted", bid(1)),
                                 ("Committed", bid(1))])
    assert r.status == 400, r
    assert r.error_code == "InvalidBlockList"


def test_put_block_list_empty_list(gateway, c, b):
    r = put_list(gateway, c, b, [])
    assert r.status == 201, r
    g = get_blob(gateway, c, b)
    assert g.status == 200, g
    assert g.body == b""
    assert g.headers["Content-Length"] == "0"


def test_put_block_list_large_blocks(gateway, c, b):
    parts = [os.urandom(3 * MiB + 17), os.urandom(2 * MiB), os.urandom(5)]
    commit(gateway, c, b, [(bid(i), d) for i, d in enumerate(parts)])
    assert hashlib.sha256((gateway.root / c / b).read_bytes()).digest() == \
        hashlib.sha256(b"".join(parts)).digest()


def test_put_block_list_in_virtual_directory(gateway, c):
    name = "dir/sub/" + uuid.uuid4().hex
    commit(gateway, c, name, [(bid(1), b"deep")])
    assert (gateway.root / c / "dir" / "sub" / name.split("/")[-1]) \
        .read_bytes() == b"deep"


def test_put_block_list_over_directory(gateway, c, b):
    commit(gateway, c, b + "/inside", [(bid(1), b"x")])
    assert put_block(gateway, c, b, bid(1), b"y").status == 201
    assert put_block(gateway, c, b, bid(2), b"z").status == 201
    staged = staging_files(gateway)
    r = put_list(gateway, c, b, [("Latest", bid(1)), ("Latest", bid(2))])
    assert r.status == 409, r
    assert r.error_code == "PathConflict"
    assert staging_files(gateway) <= staged
    assert state_files(gateway, c, b, "l-") == []
    assert state_files(gateway, c, b, "m-") == []


def test_put_block_list_overwrites_put_blob(gateway, c, b):
    r = gateway.request("PUT", "/%s/%s" % (c, b),
                        headers={"x-ms-blob-type": "BlockBlob"},
                        body=b"from put blob")
    assert r.status == 201, r
    # a Put Blob blob has no committed blocks to refer to
    r = put_list(gateway, c, b, [("Committed", bid(1))])
    assert r.status == 400, r
    assert r.error_code == "InvalidBlockList"
    commit(gateway, c, b, [(bid(1), b"from blocks")])
    assert get_blob(gateway, c, b).body == b"from blocks"


def test_put_block_list_properties(gateway, c, b):
    content_md5 = md5_b64(b"whatever")
    commit(gateway, c, b, [(bid(1), b"{}")], {
        "x-ms-blob-content-type": "application/json",
        "x-ms-blob-content-encoding": "identity",
        "x-ms-blob-content-language": "en",
        "x-ms-blob-content-disposition": "attachment",
        "x-ms-blob-cache-control": "no-cache",
        "x-ms-blob-content-md5": content_md5,
        "x-ms-meta-Owner": "blocks",
    })
    r = gateway.request("HEAD", "/%s/%s" % (c, b))
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Content-Encoding"] == "identity"
    assert r.headers["Content-Language"] == "en"
    assert r.headers["Content-Disposition"] == "attachment"
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["Content-MD5"] == content_md5
    assert r.headers["x-ms-meta-Owner"] == "blocks"
    assert r.headers["x-ms-blob-type"] == "BlockBlob"


def test_put_block_list_empty_headers_are_unset(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x")], {
        "x-ms-blob-content-type": "",
        "x-ms-blob-content-encoding": "",
        "x-ms-blob-cache-control": "",
        "x-ms-blob-content-md5": "",
    })
    r = gateway.request("HEAD", "/%s/%s" % (c, b))
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "Content-Encoding" not in r.headers
    assert "Cache-Control" not in r.headers
    assert "Content-MD5" not in r.headers


def test_put_block_list_replaces_properties(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x")],
           {"x-ms-meta-a": "1", "x-ms-blob-content-type": "text/plain"})
    assert put_list(gateway, c, b, [("Committed", bid(1))]).status == 201
    r = gateway.request("HEAD", "/%s/%s" % (c, b))
    assert "x-ms-meta-a" not in r.headers
    assert r.headers["Content-Type"] == "application/octet-stream"


def test_put_block_list_invalid_blob_content_md5(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(1))],
                 {"x-ms-blob-content-md5": "nope"})
    assert r.status == 400, r
    assert r.error_code == "InvalidMd5"


def test_put_block_list_invalid_metadata(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(1))],
                 {"x-ms-meta-1abc": "x"})
    assert r.status == 400, r
    assert r.error_code == "InvalidMetadata"


def test_put_block_list_keeps_creation_time(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x")])
    first = gateway.request("HEAD", "/%s/%s" % (c, b))
    time.sleep(1.1)
    commit(gateway, c, b, [(bid(2), b"y")])
    second = gateway.request("HEAD", "/%s/%s" % (c, b))
    assert second.headers["ETag"] != first.headers["ETag"]
    assert second.headers["x-ms-creation-time"] == \
        first.headers["x-ms-creation-time"]


def test_put_block_list_new_etag_each_commit(gateway, c, b):
    r1 = commit(gateway, c, b, [(bid(1), b"x")])
    r2 = put_list(gateway, c, b, [("Committed", bid(1))])
    assert r2.status == 201, r2
    assert r1.headers["ETag"] != r2.headers["ETag"]


def test_put_block_list_if_none_match_star(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(1))], {"If-None-Match": "*"})
    assert r.status == 201, r
    assert put_block(gateway, c, b, bid(2), b"y").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(2))], {"If-None-Match": "*"})
    assert r.status == 409, r
    assert r.error_code == "BlobAlreadyExists"
    assert get_blob(gateway, c, b).body == b"x"


def test_put_block_list_if_none_match_star_race(gateway, c, b):
    """Of concurrent create-only commits exactly one wins."""
    n = 6
    for i in range(n):
        assert put_block(gateway, c, b, bid(i), b"%d" % i).status == 201
    results = [None] * n

    def one(i):
        results[i] = put_list(gateway, c, b, [("Latest", bid(i))],
                              {"If-None-Match": "*"})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses.count(201) == 1, results
    for r in results:
        assert r.status == 201 or (r.status, r.error_code) in (
            (409, "BlobAlreadyExists"), (400, "InvalidBlockList")), r


def test_put_block_list_if_match(gateway, c, b):
    r = commit(gateway, c, b, [(bid(1), b"x")])
    etag = r.headers["ETag"]
    assert put_block(gateway, c, b, bid(2), b"y").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(2))],
                 {"If-Match": '"0x0000000000000001"'})
    assert r.status == 412, r
    assert r.error_code == "ConditionNotMet"
    r = put_list(gateway, c, b, [("Latest", bid(2))], {"If-Match": etag})
    assert r.status == 201, r
    assert get_blob(gateway, c, b).body == b"y"


def test_put_block_list_if_match_missing_blob(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = put_list(gateway, c, b, [("Latest", bid(1))], {"If-Match": "*"})
    assert r.status == 412, r
    assert r.error_code == "ConditionNotMet"


def test_put_block_list_if_unmodified_since(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x")])
    past = azsign.http_date(time.time() - 3600)
    r = put_list(gateway, c, b, [("Committed", bid(1))],
                 {"If-Unmodified-Since": past})
    assert r.status == 412, r
    assert r.error_code == "ConditionNotMet"


def test_put_block_list_container_not_found(gateway, b):
    r = put_list(gateway, "nocontainer" + uuid.uuid4().hex[:8], b,
                 [("Latest", bid(1))])
    assert r.status == 404, r
    assert r.error_code == "ContainerNotFound"


def test_put_block_list_without_content_length(gateway, c, b):
    body = block_list_xml([])
    status, data = raw_request(
        gateway, "PUT", "/%s/%s" % (c, b), [("comp", "blocklist")],
        {"Transfer-Encoding": "chunked"},
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert status == 411, data


def test_put_block_list_body_too_large(gateway, c, b):
    status, data = raw_request(
        gateway, "PUT", "/%s/%s" % (c, b), [("comp", "blocklist")],
        {"Content-Length": str(64 * MiB)})
    assert status == 413, data
    assert b"x-ms-error-code: RequestBodyTooLarge" in data


@pytest.mark.parametrize("body", [
    b"",
    b"<BlockList><Latest>AAAA</Latest>",
    b"not xml at all",
    b"<BlockList><Latest>AAAA</Committed></BlockList>",
])
def test_put_block_list_malformed_xml(gateway, c, b, body):
    r = put_list(gateway, c, b, None, body=body)
    assert r.status == 400, r
    assert r.error_code == "InvalidXmlDocument"


def test_put_block_list_wrong_root(gateway, c, b):
    r = put_list(gateway, c, b, None,
                 body=b"<Blocks><Latest>AAAA</Latest></Blocks>")
    assert r.status == 400, r
    assert r.error_code == "InvalidXmlDocument"


def test_put_block_list_unknown_element(gateway, c, b):
    r = put_list(gateway, c, b, None,
                 body=b"<BlockList><Newest>AAAA</Newest></BlockList>")
    assert r.status == 400, r
    assert r.error_code == "InvalidXmlNodeValue"


def test_put_block_list_nested_element(gateway, c, b):
    r = put_list(gateway, c, b, None,
                 body=b"<BlockList><Latest><x/></Latest></BlockList>")
    assert r.status == 400, r
    assert r.error_code == "InvalidXmlNodeValue"


def test_put_block_list_billion_laughs(gateway, c, b):
    body = b'<?xml version="1.0"?><!DOCTYPE BlockList ['
    body += b'<!ENTITY a "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA">'
    prev = b"a"
    for i in range(12):
        name = b"e%d" % i
        body += b'<!ENTITY ' + name + b' "' + (b"&" + prev + b";") * 10 \
            + b'">'
        prev = name
    body += b']><BlockList><Latest>&' + prev + b';</Latest></BlockList>'
    t = time.monotonic()
    r = put_list(gateway, c, b, None, body=body)
    assert r.status == 400, r
    assert r.error_code == "InvalidXmlDocument"
    assert time.monotonic() - t < 5


def test_put_block_list_external_entity(gateway, c, b):
    body = (b'<?xml version="1.0"?><!DOCTYPE BlockList ['
            b'<!ENTITY x SYSTEM "file:///etc/hostname">]>'
            b'<BlockList><Latest>&x;</Latest></BlockList>')
    r = put_list(gateway, c, b, None, body=body)
    assert r.status == 400, r
    assert r.error_code == "InvalidXmlDocument"


def test_put_block_list_whitespace_and_utf16(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"ws").status == 201
    xml = ('<?xml version="1.0" encoding="utf-16"?>\r\n<BlockList>\r\n'
           '    <Latest>\r\n  %s  \r\n</Latest>\r\n</BlockList>\r\n' % bid(1))
    r = put_list(gateway, c, b, None, body=xml.encode("utf-16"))
    assert r.status == 201, r
    assert get_blob(gateway, c, b).body == b"ws"


@pytest.mark.parametrize("block_id", ["abc", "QR==", "", "a b="])
def test_put_block_list_invalid_block_id(gateway, c, b, block_id):
    r = put_list(gateway, c, b, [("Latest", block_id)])
    assert r.status == 400, r
    assert r.error_code == "InvalidBlockList"


def test_put_block_list_block_id_too_long(gateway, c, b):
    r = put_list(gateway, c, b,
                 [("Latest", base64.b64encode(b"i" * 65).decode())])
    assert r.status == 400, r
    assert r.error_code == "InvalidBlockList"


def test_put_block_list_too_many_blocks(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    body = b"<BlockList>" + b"<Latest>%s</Latest>" % bid(1).encode() * 50001 \
        + b"</BlockList>"
    r = put_list(gateway, c, b, None, body=body)
    assert r.status == 400, r
    assert r.error_code == "BlockListTooLong"


def test_put_block_list_50000_blocks(gateway, c, b):
    """The limit itself: one block, committed 50,000 times."""
    assert put_block(gateway, c, b, bid(1), b"xy").status == 201
    body = b"<BlockList>" + b"<Latest>%s</Latest>" % bid(1).encode() * 50000 \
        + b"</BlockList>"
    r = put_list(gateway, c, b, None, body=body)
    assert r.status == 201, r
    assert (gateway.root / c / b).stat().st_size == 100000
    r = get_list(gateway, c, b)
    assert len(blocks_of(r, "CommittedBlocks")) == 50000


def test_put_block_list_on_another_gateway(gateway, gateway_factory, c, b):
    """Blocks staged through one host are committed through another."""
    other = gateway_factory(root=gateway.root)
    assert put_block(gateway, c, b, bid(1), b"staged here, ").status == 201
    assert put_block(other, c, b, bid(2), b"and there").status == 201
    r = put_list(other, c, b, [("Latest", bid(1)), ("Latest", bid(2))])
    assert r.status == 201, r
    g = get_blob(gateway, c, b)
    assert g.body == b"staged here, and there"
    assert g.headers["ETag"] == r.headers["ETag"]


# --- Get Block List ----------------------------------------------------------

def test_get_block_list_committed_by_default(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x" * 10), (bid(2), b"y" * 20)])
    assert put_block(gateway, c, b, bid(3), b"z").status == 201
    r = get_list(gateway, c, b)
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/xml"
    assert r.headers["x-ms-blob-content-length"] == "30"
    head = gateway.request("HEAD", "/%s/%s" % (c, b))
    assert r.headers["ETag"] == head.headers["ETag"]
    assert r.headers["Last-Modified"] == head.headers["Last-Modified"]
    assert r.xml().tag == "BlockList"
    assert blocks_of(r, "CommittedBlocks") == [(bid(1), 10), (bid(2), 20)]
    assert blocks_of(r, "UncommittedBlocks") is None


def test_get_block_list_uncommitted(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x")])
    assert put_block(gateway, c, b, bid(3), b"zzz").status == 201
    r = get_list(gateway, c, b, "uncommitted")
    assert r.status == 200, r
    assert blocks_of(r, "CommittedBlocks") is None
    assert blocks_of(r, "UncommittedBlocks") == [(bid(3), 3)]


def test_get_block_list_all(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x")])
    assert put_block(gateway, c, b, bid(3), b"zzz").status == 201
    r = get_list(gateway, c, b, "all")
    assert r.status == 200, r
    assert [e.tag for e in r.xml()] == ["CommittedBlocks", "UncommittedBlocks"]
    assert blocks_of(r, "CommittedBlocks") == [(bid(1), 1)]
    assert blocks_of(r, "UncommittedBlocks") == [(bid(3), 3)]


def test_get_block_list_type_case_insensitive(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x")])
    r = get_list(gateway, c, b, "ALL")
    assert r.status == 200, r
    assert blocks_of(r, "UncommittedBlocks") == []


def test_get_block_list_only_uncommitted_blocks(gateway, c, b):
    for i in (5, 2, 9):
        assert put_block(gateway, c, b, bid(i), b"q" * i).status == 201
        time.sleep(0.01)
    r = get_list(gateway, c, b, "all")
    assert r.status == 200, r
    assert "ETag" not in r.headers
    assert "Last-Modified" not in r.headers
    assert r.headers["x-ms-blob-content-length"] == "0"
    assert blocks_of(r, "CommittedBlocks") == []
    # in upload order
    assert blocks_of(r, "UncommittedBlocks") == [(bid(5), 5), (bid(2), 2),
                                                 (bid(9), 9)]
    r = get_list(gateway, c, b)
    assert r.status == 200, r
    assert blocks_of(r, "CommittedBlocks") == []


def test_get_block_list_not_found(gateway, c, b):
    for t in (None, "committed", "uncommitted", "all"):
        r = get_list(gateway, c, b, t)
        assert r.status == 404, (t, r)
        assert r.error_code == "BlobNotFound"


def test_get_block_list_container_not_found(gateway, b):
    r = get_list(gateway, "nocontainer" + uuid.uuid4().hex[:8], b)
    assert r.status == 404, r
    assert r.error_code == "ContainerNotFound"


def test_get_block_list_invalid_type(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x")])
    r = get_list(gateway, c, b, "some")
    assert r.status == 400, r
    assert r.error_code == "InvalidQueryParameterValue"
    assert r.xml().findtext("QueryParameterName") == "blocklisttype"


def test_get_block_list_put_blob_blob(gateway, c, b):
    r = gateway.request("PUT", "/%s/%s" % (c, b),
                        headers={"x-ms-blob-type": "BlockBlob"},
                        body=b"12345")
    assert r.status == 201, r
    g = get_list(gateway, c, b, "all")
    assert g.status == 200, g
    assert g.headers["ETag"] == r.headers["ETag"]
    assert g.headers["x-ms-blob-content-length"] == "5"
    assert blocks_of(g, "CommittedBlocks") == []


def test_get_block_list_file_written_directly(gateway, c, b):
    (gateway.root / c / b).write_bytes(b"from nfs")
    r = get_list(gateway, c, b)
    assert r.status == 200, r
    assert r.headers["x-ms-blob-content-length"] == "8"
    assert "ETag" in r.headers
    assert blocks_of(r, "CommittedBlocks") == []


def test_get_block_list_file_replaced_directly(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x"), (bid(2), b"y")])
    (gateway.root / c / b).write_bytes(b"changed by an nfs client")
    r = get_list(gateway, c, b)
    assert r.status == 200, r
    assert blocks_of(r, "CommittedBlocks") == []
    # and its old committed blocks cannot be reused
    r = put_list(gateway, c, b, [("Committed", bid(1))])
    assert r.status == 400, r
    assert r.error_code == "InvalidBlockList"


def test_get_block_list_survives_set_metadata(gateway, c, b):
    """A new version of the same bytes keeps its committed blocks."""
    commit(gateway, c, b, [(bid(1), b"x"), (bid(2), b"yy")])
    r = gateway.request("PUT", "/%s/%s" % (c, b),
                        query=[("comp", "metadata")],
                        headers={"x-ms-meta-k": "v"})
    assert r.status == 200, r
    r = get_list(gateway, c, b)
    assert r.status == 200, r
    assert blocks_of(r, "CommittedBlocks") == [(bid(1), 1), (bid(2), 2)]
    r = put_list(gateway, c, b, [("Committed", bid(2))])
    assert r.status == 201, r
    assert get_blob(gateway, c, b).body == b"yy"


def test_put_blob_discards_uncommitted(gateway, c, b):
    assert put_block(gateway, c, b, bid(1), b"x").status == 201
    r = gateway.request("PUT", "/%s/%s" % (c, b),
                        headers={"x-ms-blob-type": "BlockBlob"}, body=b"pb")
    assert r.status == 201, r
    r = get_list(gateway, c, b, "uncommitted")
    assert r.status == 200, r
    assert blocks_of(r, "UncommittedBlocks") == []


def test_get_block_list_head(gateway, c, b):
    commit(gateway, c, b, [(bid(1), b"x")])
    r = get_list(gateway, c, b, method="HEAD")
    assert r.status == 200, r
    assert r.body == b""
    assert r.headers["x-ms-blob-content-length"] == "1"


# --- a real client ----------------------------------------------------------

def test_sdk_stage_and_commit(gateway, c, b):
    blob_mod = pytest.importorskip("azure.storage.blob")
    svc = blob_mod.BlobServiceClient.from_connection_string(
        gateway.conn_str, retry_total=0)
    bc = svc.get_blob_client(c, b)
    bc.stage_block(bid(1), b"hello ")
    bc.stage_block(bid(2), b"world", validate_content=True)
    committed, uncommitted = bc.get_block_list("all")
    assert committed == []
    assert [(x.id, x.size) for x in uncommitted] == [(bid(1), 6), (bid(2), 5)]
    bc.commit_block_list([blob_mod.BlobBlock(bid(1)),
                          blob_mod.BlobBlock(bid(2))], metadata={"k": "v"})
    assert bc.download_blob().readall() == b"hello world"
    committed, uncommitted = bc.get_block_list("all")
    assert [(x.id, x.size) for x in committed] == [(bid(1), 6), (bid(2), 5)]
    assert uncommitted == []


@pytest.mark.parametrize("size", [1, 7, 8, 9, 4093, 65536 + 5, 300001])
def test_put_block_crc64_of_any_length(gateway, c, b, size):
    # every alignment and tail of the eight-bytes-a-step CRC
    data = os.urandom(size)
    r = put_block(gateway, c, b, bid(size), data)
    assert r.status == 201, r
    assert r.headers["x-ms-content-crc64"] == crc64_b64(data)
