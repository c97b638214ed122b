"""Blob operations on the wire: Put Blob, Get Blob, Get Blob Properties,
Set Blob Properties, Get/Set Blob Metadata, Delete Blob, and Azure's
answer to page/append blob operations, in raw HTTP.

Exact statuses, headers and <Error> bodies as Azure documents them ("Put
Blob", "Get Blob", "Specifying the range header for Blob service
operations", "Specifying conditional headers for Blob service operations",
"Blob service error codes"), and the data root checked on disk.
"""

import base64
import email.utils
import hashlib
import os
import re
import socket
import time
import uuid

import pytest

VERSION = "2021-12-02"      # what lib/azsign.py sends
ETAG = re.compile(r'^"0x[0-9A-F]{16}"$')
HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                       r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       r"\d{4} \d\d:\d\d:\d\d GMT$")
EMPTY_MD5 = "1B2M2Y8AsgTpgAmY7PhCfg=="
MIB = 1024 * 1024
DATA = b"0123456789"


# helpers

from lib.checksums import crc64_b64, md5_b64  # noqa: E402


def http_date(offset):
    return email.utils.formatdate(time.time() + offset, usegmt=True)


def new_blob(prefix="b"):
    return prefix + uuid.uuid4().hex[:12]


def put(gw, c, b, data=DATA, headers=None, query=None):
    h = {"x-ms-blob-type": "BlockBlob"}
    h.update(headers or {})
    return gw.request("PUT", "/%s/%s" % (c, b), query=query, headers=h,
                      body=data)


def get(gw, c, b, headers=None, query=None):
    return gw.request("GET", "/%s/%s" % (c, b), query=query, headers=headers)


def head(gw, c, b, headers=None, query=None):
    return gw.request("HEAD", "/%s/%s" % (c, b), query=query, headers=headers)


def delete(gw, c, b, headers=None):
    return gw.request("DELETE", "/%s/%s" % (c, b), headers=headers)


def set_props(gw, c, b, headers=None):
    return gw.request("PUT", "/%s/%s" % (c, b),
                      query=[("comp", "properties")], headers=headers)


def set_meta(gw, c, b, headers=None):
    return gw.request("PUT", "/%s/%s" % (c, b),
                      query=[("comp", "metadata")], headers=headers)


def get_meta(gw, c, b, headers=None):
    return gw.request("GET", "/%s/%s" % (c, b),
                      query=[("comp", "metadata")], headers=headers)


def made(gw, c, b, data=DATA, headers=None):
    r = put(gw, c, b, data, headers)
    assert r.status == 201, r
    return r


def assert_common(r, version=VERSION):
    """What every Blob service response carries, errors included."""

    assert r.headers.get("x-ms-request-id"), r.headers
    assert r.headers.get("x-ms-version") == version, r.headers
    assert HTTP_DATE.match(r.headers.get("Date", "")), r.headers


def assert_error(r, status, code, head=False):
    """An Azure error: status, x-ms-error-code, the <Error> XML (none on
    HEAD) whose <Code> is the header's."""

    assert r.status == status, r
    assert r.headers.get("x-ms-error-code") == code, r
    assert_common(r)
    if head or status == 304:
        assert r.body == b"", r
        return
    assert r.headers.get("Content-Type", "").startswith("application/xml"), \
        r.headers
    root = r.xml()
    assert root.tag == "Error", r.body
    assert root.findtext("Code") == code, r.body
    assert root.findtext("Message"), r.body
    assert int(r.headers["Content-Length"]) == len(r.body)


def etag_of(r):
    assert ETAG.match(r.headers.get("ETag", "")), r.headers
    return r.headers["ETag"]


def on_disk(gw, c, b):
    return gw.root / c / b


# Put Blob

def test_put_blob_201(gateway, new_container):
    r = put(gateway, new_container, "p.bin", DATA)

    assert r.status == 201, r
    assert r.body == b""
    assert r.headers["Content-Length"] == "0"
    assert ETAG.match(r.headers["ETag"]), r.headers
    assert HTTP_DATE.match(r.headers["Last-Modified"]), r.headers
    assert r.headers["Content-MD5"] == md5_b64(DATA)
    assert r.headers["x-ms-request-server-encrypted"] == "true"
    assert_common(r)


def test_put_blob_writes_plain_file(gateway, new_container):
    data = os.urandom(100000)

    made(gateway, new_container, "plain.bin", data)

    assert on_disk(gateway, new_container, "plain.bin").read_bytes() == data


def test_put_blob_last_modified_is_now(gateway, new_container):
    r = made(gateway, new_container, new_blob())

    lm = email.utils.parsedate_to_datetime(r.headers["Last-Modified"])
    assert abs(lm.timestamp() - time.time()) < 60


def test_put_blob_right_content_md5(gateway, new_container):
    r = put(gateway, new_container, new_blob(), DATA,
            {"Content-MD5": md5_b64(DATA)})

    assert r.status == 201, r
    assert r.headers["Content-MD5"] == md5_b64(DATA)


def test_put_blob_wrong_content_md5(gateway, new_container):
    b = new_blob()

    r = put(gateway, new_container, b, DATA,
            {"Content-MD5": md5_b64(b"something else")})

    assert_error(r, 400, "Md5Mismatch")
    assert not on_disk(gateway, new_container, b).exists()
    assert get(gateway, new_container, b).status == 404


def test_put_blob_wrong_content_md5_keeps_old(gateway, new_container):
    b = new_blob()
    old = made(gateway, new_container, b, b"old")

    r = put(gateway, new_container, b, b"new",
            {"Content-MD5": md5_b64(b"other")})

    assert_error(r, 400, "Md5Mismatch")
    g = get(gateway, new_container, b)
    assert g.body == b"old"
    assert g.headers["ETag"] == old.headers["ETag"]


@pytest.mark.parametrize("value", ["notbase64!!", "AAAA",
                                   base64.b64encode(b"x" * 15).decode(),
                                   base64.b64encode(b"x" * 17).decode()])
def test_put_blob_malformed_content_md5(gateway, new_container, value):
    b = new_blob()

    r = put(gateway, new_container, b, DATA, {"Content-MD5": value})

    assert_error(r, 400, "InvalidMd5")
    assert not on_disk(gateway, new_container, b).exists()


def test_put_blob_crc64_echoed(gateway, new_container):
    data = b"crc me" * 1000

    r = put(gateway, new_container, new_blob(), data,
            {"x-ms-content-crc64": crc64_b64(data)})

    assert r.status == 201, r
    assert r.headers["x-ms-content-crc64"] == crc64_b64(data)


def test_put_blob_crc64_mismatch(gateway, new_container):
    b = new_blob()

    r = put(gateway, new_container, b, DATA,
            {"x-ms-content-crc64": crc64_b64(b"other")})

    assert_error(r, 400, "Crc64Mismatch")
    assert not on_disk(gateway, new_container, b).exists()


def test_put_blob_crc64_malformed(gateway, new_container):
    r = put(gateway, new_container, new_blob(), DATA,
            {"x-ms-content-crc64": "AAAA"})

    assert_error(r, 400, "InvalidHeaderValue")


def test_put_blob_missing_blob_type(gateway, new_container):
    b = new_blob()

    r = gateway.request("PUT", "/%s/%s" % (new_container, b), body=DATA)

    assert_error(r, 400, "MissingRequiredHeader")
    assert r.xml().findtext("HeaderName") == "x-ms-blob-type"
    assert not on_disk(gateway, new_container, b).exists()


@pytest.mark.parametrize("kind", ["PageBlob", "AppendBlob"])
def test_put_blob_other_types_refused(gateway, new_container, kind):
    b = new_blob()
    h = {"x-ms-blob-type": kind}
    if kind == "PageBlob":
        h["x-ms-blob-content-length"] = "512"

    r = gateway.request("PUT", "/%s/%s" % (new_container, b), headers=h)

    assert_error(r, 400, "InvalidHeaderValue")
    assert r.xml().findtext("HeaderName") == "x-ms-blob-type"
    assert not on_disk(gateway, new_container, b).exists()


def test_put_blob_other_type_keeps_existing(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, b"keep")

    r = gateway.request("PUT", "/%s/%s" % (new_container, b),
                        headers={"x-ms-blob-type": "AppendBlob"})

    assert_error(r, 400, "InvalidHeaderValue")
    assert get(gateway, new_container, b).body == b"keep"


def _raw(gw, request_bytes, timeout=10):
    """Send bytes as they are; return (status, head, body) of the reply."""

    s = socket.create_connection((gw.host, gw.port), timeout)
    try:
        s.sendall(request_bytes)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head_end = data.find(b"\r\n\r\n")
            if head_end != -1:
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)",
                              data[:head_end])
                if m and len(data) >= head_end + 4 + int(m.group(1)):
                    break
    finally:
        s.close()
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    return status, head_bytes.decode("latin-1"), body


def test_put_blob_chunked_is_411(gateway, new_container):
    from lib import azsign

    b = new_blob()
    path = "/%s/%s/%s" % (gateway.account, new_container, b)
    h = {"x-ms-blob-type": "BlockBlob", "Transfer-Encoding": "chunked",
         "Host": "%s:%d" % (gateway.host, gateway.port)}
    h.update(azsign.shared_key_headers(gateway.account, gateway.key, "PUT",
                                       path, headers=h))
    req = "PUT %s HTTP/1.1\r\n" % path
    req += "".join("%s: %s\r\n" % kv for kv in h.items())
    req += "Connection: close\r\n\r\n"
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(DATA), DATA)

    status, head_text, body_out = _raw(gateway, req.encode() + body)

    assert status == 411, head_text
    assert re.search(r"(?im)^x-ms-error-code: MissingContentLengthHeader\r?$",
                     head_text), head_text
    assert b"<Code>MissingContentLengthHeader</Code>" in body_out
    assert not on_disk(gateway, new_container, b).exists()


def test_put_blob_content_properties_stored(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {
        "x-ms-blob-content-type": "text/plain; charset=utf-8",
        "x-ms-blob-content-encoding": "identity",
        "x-ms-blob-content-language": "en-GB",
        "x-ms-blob-content-disposition": "attachment; filename=x.txt",
        "x-ms-blob-cache-control": "max-age=60",
    })

    r = get(gateway, new_container, b)

    assert r.status == 200, r
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.headers["Content-Encoding"] == "identity"
    assert r.headers["Content-Language"] == "en-GB"
    assert r.headers["Content-Disposition"] == "attachment; filename=x.txt"
    assert r.headers["Cache-Control"] == "max-age=60"


def test_put_blob_standard_content_headers_stored(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {
        "Content-Type": "image/png",
        "Content-Language": "fr",
        "Cache-Control": "no-cache",
    })

    r = head(gateway, new_container, b)

    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Language"] == "fr"
    assert r.headers["Cache-Control"] == "no-cache"


def test_put_blob_x_ms_blob_content_type_wins(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {
        "Content-Type": "image/png",
        "x-ms-blob-content-type": "text/csv",
    })

    assert head(gateway, new_container, b).headers["Content-Type"] == \
        "text/csv"


def test_put_blob_metadata_stored(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA,
         {"x-ms-meta-Color": "blue", "x-ms-meta-size_2": "big"})

    r = get(gateway, new_container, b)

    assert r.headers.get("x-ms-meta-Color") == "blue"
    assert r.headers.get("x-ms-meta-size_2") == "big"
    assert "Color" in [k[len("x-ms-meta-"):] for k in r.headers
                       if k.lower().startswith("x-ms-meta-")]


def test_put_blob_invalid_metadata_creates_nothing(gateway, new_container):
    b = new_blob()

    r = put(gateway, new_container, b, DATA, {"x-ms-meta-1bad": "v"})

    assert_error(r, 400, "InvalidMetadata")
    assert not on_disk(gateway, new_container, b).exists()


def test_put_blob_defaults(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)

    r = head(gateway, new_container, b)

    assert r.headers["Content-Type"] == "application/octet-stream"
    for h in ("Content-Encoding", "Content-Language", "Content-Disposition",
              "Cache-Control"):
        assert h not in r.headers, r.headers
    assert not [k for k in r.headers if k.lower().startswith("x-ms-meta-")]


def test_put_blob_empty_blob_headers_are_unset(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {
        "x-ms-blob-content-type": "",
        "x-ms-blob-content-encoding": "",
        "x-ms-blob-content-language": "",
        "x-ms-blob-content-disposition": "",
        "x-ms-blob-cache-control": "",
        "x-ms-blob-content-md5": "",
    })

    r = head(gateway, new_container, b)

    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-MD5"] == md5_b64(DATA)
    for h in ("Content-Encoding", "Content-Language", "Content-Disposition",
              "Cache-Control"):
        assert h not in r.headers, r.headers


def test_put_blob_x_ms_blob_content_md5_stored(gateway, new_container):
    b = new_blob()
    given = md5_b64(b"the whole file, elsewhere")
    made(gateway, new_container, b, DATA, {"x-ms-blob-content-md5": given})

    assert head(gateway, new_container, b).headers["Content-MD5"] == given


def test_put_blob_overwrite_changes_etag(gateway, new_container):
    b = new_blob()
    first = made(gateway, new_container, b, b"one")

    second = made(gateway, new_container, b, b"two")

    assert etag_of(second) != etag_of(first)
    r = get(gateway, new_container, b)
    assert r.body == b"two"
    assert r.headers["ETag"] == second.headers["ETag"]


def test_put_blob_same_bytes_twice_changes_etag(gateway, new_container):
    b = new_blob()
    first = made(gateway, new_container, b, DATA)

    second = made(gateway, new_container, b, DATA)

    assert etag_of(second) != etag_of(first)


def test_put_blob_overwrite_drops_old_properties(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA,
         {"x-ms-meta-old": "1", "x-ms-blob-content-type": "text/old"})

    made(gateway, new_container, b, DATA)

    r = head(gateway, new_container, b)
    assert "x-ms-meta-old" not in r.headers
    assert r.headers["Content-Type"] == "application/octet-stream"


def test_put_blob_if_none_match_star_new(gateway, new_container):
    r = put(gateway, new_container, new_blob(), DATA, {"If-None-Match": "*"})

    assert r.status == 201, r


def test_put_blob_if_none_match_star_existing(gateway, new_container):
    b = new_blob()
    old = made(gateway, new_container, b, b"first")

    r = put(gateway, new_container, b, b"second", {"If-None-Match": "*"})

    assert_error(r, 409, "BlobAlreadyExists")
    g = get(gateway, new_container, b)
    assert g.body == b"first"
    assert g.headers["ETag"] == old.headers["ETag"]


def test_put_blob_if_match_wrong(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, b"first")

    r = put(gateway, new_container, b, b"second",
            {"If-Match": '"0x0000000000000001"'})

    assert_error(r, 412, "ConditionNotMet")
    assert get(gateway, new_container, b).body == b"first"


def test_put_blob_if_match_right(gateway, new_container):
    b = new_blob()
    old = made(gateway, new_container, b, b"first")

    r = put(gateway, new_container, b, b"second",
            {"If-Match": old.headers["ETag"]})

    assert r.status == 201, r
    assert get(gateway, new_container, b).body == b"second"


def test_put_blob_if_unmodified_since_past(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, b"first")

    r = put(gateway, new_container, b, b"second",
            {"If-Unmodified-Since": http_date(-3600)})

    assert_error(r, 412, "ConditionNotMet")
    assert get(gateway, new_container, b).body == b"first"


def test_put_blob_container_missing(gateway):
    c = "nocontainer" + uuid.uuid4().hex[:8]

    r = put(gateway, c, "x.bin", DATA)

    assert_error(r, 404, "ContainerNotFound")
    assert not (gateway.root / c).exists()


def test_put_blob_nested_container_missing(gateway):
    c = "nocontainer" + uuid.uuid4().hex[:8]

    r = put(gateway, c, "a/b/x.bin", DATA)

    assert_error(r, 404, "ContainerNotFound")
    assert not (gateway.root / c).exists()


def test_put_blob_zero_bytes(gateway, new_container):
    b = new_blob()

    r = put(gateway, new_container, b, b"")

    assert r.status == 201, r
    assert r.headers["Content-MD5"] == EMPTY_MD5
    assert on_disk(gateway, new_container, b).read_bytes() == b""

    g = get(gateway, new_container, b)
    assert g.status == 200, g
    assert g.body == b""
    assert g.headers["Content-Length"] == "0"
    assert g.headers["Content-MD5"] == EMPTY_MD5


def test_put_blob_nested_name_makes_directories(gateway, new_container):
    made(gateway, new_container, "x/y/z.txt", DATA)

    assert (gateway.root / new_container / "x" / "y").is_dir()
    assert on_disk(gateway, new_container, "x/y/z.txt").read_bytes() == DATA


def test_put_blob_no_staging_file_left(gateway, new_container):
    tmp = gateway.root / ".blob" / "tmp"
    before = set(tmp.iterdir())

    made(gateway, new_container, new_blob(), DATA)
    put(gateway, new_container, new_blob(), DATA,
        {"Content-MD5": md5_b64(b"no")})
    put(gateway, new_container, new_blob(), DATA,
        {"If-Match": '"0x0000000000000001"'})

    assert [p.name for p in set(tmp.iterdir()) - before
            if p.suffix == ".tmp"] == []


# Get Blob

@pytest.fixture
def ten(gateway, new_container):
    """A blob of 10 bytes "0123456789": (container, name, put response)."""
    b = new_blob("ten")
    r = made(gateway, new_container, b, DATA,
             {"x-ms-blob-content-type": "text/plain"})
    return new_container, b, r


def test_get_blob_200(gateway, ten):
    c, b, p = ten

    r = get(gateway, c, b)

    assert r.status == 200, r
    assert r.body == DATA
    assert r.headers["Content-Length"] == "10"
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["ETag"] == p.headers["ETag"]
    assert r.headers["Last-Modified"] == p.headers["Last-Modified"]
    assert r.headers["Content-MD5"] == md5_b64(DATA)
    assert r.headers["x-ms-blob-type"] == "BlockBlob"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert HTTP_DATE.match(r.headers["x-ms-creation-time"]), r.headers
    assert r.headers["x-ms-lease-state"] == "available"
    assert r.headers["x-ms-lease-status"] == "unlocked"
    assert r.headers["x-ms-server-encrypted"] == "true"
    assert "Content-Range" not in r.headers
    assert_common(r)


def test_get_blob_etag_stable(gateway, ten):
    c, b, _ = ten

    assert get(gateway, c, b).headers["ETag"] == \
        get(gateway, c, b).headers["ETag"]


def test_get_blob_large(gateway, new_container):
    data = os.urandom(3 * MIB + 17)
    b = new_blob()
    made(gateway, new_container, b, data)

    r = get(gateway, new_container, b)

    assert r.status == 200, r
    assert r.body == data


def test_get_blob_range(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=2-5"})

    assert r.status == 206, r
    assert r.body == b"2345"
    assert r.headers["Content-Length"] == "4"
    assert r.headers["Content-Range"] == "bytes 2-5/10"
    assert r.headers["Content-Type"] == "text/plain"
    assert_common(r)


def test_get_blob_x_ms_range(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"x-ms-range": "bytes=0-0"})

    assert r.status == 206, r
    assert r.body == b"0"
    assert r.headers["Content-Range"] == "bytes 0-0/10"


def test_get_blob_x_ms_range_wins(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=0-1", "x-ms-range": "bytes=7-8"})

    assert r.status == 206, r
    assert r.body == b"78"
    assert r.headers["Content-Range"] == "bytes 7-8/10"


def test_get_blob_open_range(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"x-ms-range": "bytes=6-"})

    assert r.status == 206, r
    assert r.body == b"6789"
    assert r.headers["Content-Range"] == "bytes 6-9/10"


def test_get_blob_range_past_end_clipped(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=5-1000"})

    assert r.status == 206, r
    assert r.body == b"56789"
    assert r.headers["Content-Length"] == "5"
    assert r.headers["Content-Range"] == "bytes 5-9/10"


def test_get_blob_whole_range(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=0-9"})

    assert r.status == 206, r
    assert r.body == DATA
    assert r.headers["Content-Range"] == "bytes 0-9/10"


@pytest.mark.parametrize("value", ["bytes=10-", "bytes=10-20", "bytes=50-60"])
def test_get_blob_range_start_past_end(gateway, ten, value):
    c, b, _ = ten

    r = get(gateway, c, b, {"x-ms-range": value})

    assert_error(r, 416, "InvalidRange")


def test_get_blob_range_start_past_end_std_header(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=10-"})

    assert_error(r, 416, "InvalidRange")


@pytest.mark.parametrize("value", ["bytes=0-", "bytes=0-0", "bytes=0-100"])
def test_get_blob_any_range_of_empty_blob(gateway, new_container, value):
    b = new_blob()
    made(gateway, new_container, b, b"")

    r = get(gateway, new_container, b, {"x-ms-range": value})

    assert_error(r, 416, "InvalidRange")


def test_get_blob_suffix_range(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=-3"})

    assert r.status == 206, r
    assert r.body == b"789"
    assert r.headers["Content-Range"] == "bytes 7-9/10"


def test_get_blob_suffix_longer_than_blob(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=-100"})

    assert r.status == 206, r
    assert r.body == DATA
    assert r.headers["Content-Range"] == "bytes 0-9/10"


def test_get_blob_multi_range_is_whole_blob(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=0-1,4-5"})

    assert r.status == 200, r
    assert r.body == DATA
    assert "Content-Range" not in r.headers


def test_get_blob_malformed_range_ignored(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=abc"})

    assert r.status == 200, r
    assert r.body == DATA


def test_get_blob_malformed_x_ms_range(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"x-ms-range": "bytes=5-2"})

    assert_error(r, 400, "InvalidHeaderValue")


def test_get_blob_range_keeps_whole_md5_apart(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"x-ms-range": "bytes=1-3"})

    assert r.status == 206, r
    assert r.headers["x-ms-blob-content-md5"] == md5_b64(DATA)
    assert "Content-MD5" not in r.headers


def test_get_blob_range_content_md5(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"x-ms-range": "bytes=1-3",
                            "x-ms-range-get-content-md5": "true"})

    assert r.status == 206, r
    assert r.body == b"123"
    assert r.headers["Content-MD5"] == md5_b64(b"123")
    assert r.headers["x-ms-blob-content-md5"] == md5_b64(DATA)


def test_get_blob_range_content_md5_4mib(gateway, new_container):
    data = os.urandom(4 * MIB + 100)
    b = new_blob()
    made(gateway, new_container, b, data)

    r = get(gateway, new_container, b,
            {"x-ms-range": "bytes=50-%d" % (50 + 4 * MIB - 1),
             "x-ms-range-get-content-md5": "true"})

    assert r.status == 206, r
    assert r.headers["Content-MD5"] == md5_b64(data[50:50 + 4 * MIB])
    assert r.body == data[50:50 + 4 * MIB]


def test_get_blob_range_content_md5_over_4mib(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"x-ms-range": "bytes=0-%d" % (4 * MIB),
                            "x-ms-range-get-content-md5": "true"})

    assert r.status == 400, r
    assert_error(r, 400, r.headers.get("x-ms-error-code"))


def test_get_blob_range_content_md5_without_range(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"x-ms-range-get-content-md5": "true"})

    assert r.status == 400, r
    assert_error(r, 400, r.headers.get("x-ms-error-code"))


def test_get_blob_range_content_md5_false_is_plain(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"x-ms-range-get-content-md5": "false"})

    assert r.status == 200, r
    assert r.body == DATA


def test_get_blob_if_range_etag_matches(gateway, ten):
    c, b, p = ten

    r = get(gateway, c, b, {"Range": "bytes=0-1",
                            "If-Range": p.headers["ETag"]})

    assert r.status == 206, r
    assert r.body == b"01"


def test_get_blob_if_range_etag_differs(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=0-1",
                            "If-Range": '"0x0000000000000001"'})

    assert r.status == 200, r
    assert r.body == DATA


def test_get_blob_if_range_date_matches(gateway, ten):
    c, b, p = ten

    r = get(gateway, c, b, {"Range": "bytes=0-1",
                            "If-Range": p.headers["Last-Modified"]})

    assert r.status == 206, r
    assert r.body == b"01"


def test_get_blob_if_range_date_differs(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"Range": "bytes=0-1",
                            "If-Range": http_date(-86400)})

    assert r.status == 200, r
    assert r.body == DATA


def test_get_blob_if_none_match_304(gateway, ten):
    c, b, p = ten

    r = get(gateway, c, b, {"If-None-Match": p.headers["ETag"]})

    assert r.status == 304, r
    assert r.body == b""
    assert r.headers.get("ETag") == p.headers["ETag"]
    assert_common(r)


def test_get_blob_if_none_match_star_304(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"If-None-Match": "*"})

    assert r.status == 304, r
    assert r.body == b""


def test_get_blob_if_none_match_other(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"If-None-Match": '"0x0000000000000001"'})

    assert r.status == 200, r
    assert r.body == DATA


def test_get_blob_if_modified_since_future_304(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"If-Modified-Since": http_date(3600)})

    assert r.status == 304, r
    assert r.body == b""


def test_get_blob_if_modified_since_past(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"If-Modified-Since": http_date(-3600)})

    assert r.status == 200, r
    assert r.body == DATA


def test_get_blob_if_unmodified_since_past_412(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"If-Unmodified-Since": http_date(-3600)})

    assert_error(r, 412, "ConditionNotMet")


def test_get_blob_if_unmodified_since_future(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"If-Unmodified-Since": http_date(3600)})

    assert r.status == 200, r


def test_get_blob_if_match_wrong_412(gateway, ten):
    c, b, _ = ten

    r = get(gateway, c, b, {"If-Match": '"0x0000000000000001"'})

    assert_error(r, 412, "ConditionNotMet")


def test_get_blob_if_match_right(gateway, ten):
    c, b, p = ten

    r = get(gateway, c, b, {"If-Match": p.headers["ETag"]})

    assert r.status == 200, r
    assert r.body == DATA


def test_get_blob_if_match_list(gateway, ten):
    c, b, p = ten

    r = get(gateway, c, b,
            {"If-Match": '"0x0000000000000001", ' + p.headers["ETag"]})

    assert r.status == 200, r


def test_get_blob_if_match_unquoted(gateway, ten):
    c, b, p = ten

    r = get(gateway, c, b, {"If-Match": p.headers["ETag"].strip('"')})

    assert r.status == 200, r


def test_get_blob_not_found(gateway, new_container):
    r = get(gateway, new_container, new_blob())

    assert_error(r, 404, "BlobNotFound")


def test_get_blob_container_not_found(gateway):
    r = get(gateway, "nocontainer" + uuid.uuid4().hex[:8], "x")

    assert_error(r, 404, "ContainerNotFound")


def test_get_blob_virtual_directory_is_not_a_blob(gateway, new_container):
    made(gateway, new_container, "dir/file.txt")

    r = get(gateway, new_container, "dir")

    assert_error(r, 404, "BlobNotFound")


def test_get_blob_under_a_file_is_not_found(gateway, new_container):
    made(gateway, new_container, "file")

    r = get(gateway, new_container, "file/below")

    assert_error(r, 404, "BlobNotFound")


# Get Blob Properties (HEAD)

def test_head_blob_properties(gateway, new_container):
    b = new_blob()
    p = made(gateway, new_container, b, DATA, {
        "x-ms-blob-content-type": "text/plain",
        "x-ms-blob-content-encoding": "gzip",
        "x-ms-blob-content-language": "de",
        "x-ms-blob-content-disposition": "inline",
        "x-ms-blob-cache-control": "no-store",
        "x-ms-meta-k": "v",
    })

    r = head(gateway, new_container, b)

    assert r.status == 200, r
    assert r.body == b""
    assert r.headers["Content-Length"] == "10"
    assert r.headers["ETag"] == p.headers["ETag"]
    assert r.headers["Last-Modified"] == p.headers["Last-Modified"]
    assert HTTP_DATE.match(r.headers["x-ms-creation-time"]), r.headers
    assert r.headers["x-ms-blob-type"] == "BlockBlob"
    assert r.headers["Content-MD5"] == md5_b64(DATA)
    assert r.headers["x-ms-lease-state"] == "available"
    assert r.headers["x-ms-lease-status"] == "unlocked"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["Content-Encoding"] == "gzip"
    assert r.headers["Content-Language"] == "de"
    assert r.headers["Content-Disposition"] == "inline"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["x-ms-meta-k"] == "v"
    assert_common(r)


def test_head_blob_not_found(gateway, new_container):
    r = head(gateway, new_container, new_blob())

    assert_error(r, 404, "BlobNotFound", head=True)


def test_head_blob_container_not_found(gateway):
    r = head(gateway, "nocontainer" + uuid.uuid4().hex[:8], "x")

    assert_error(r, 404, "ContainerNotFound", head=True)


def test_head_blob_if_none_match_304(gateway, ten):
    c, b, p = ten

    r = head(gateway, c, b, {"If-None-Match": p.headers["ETag"]})

    assert r.status == 304, r
    assert r.body == b""


def test_head_blob_if_match_wrong_412(gateway, ten):
    c, b, _ = ten

    r = head(gateway, c, b, {"If-Match": '"0x0000000000000001"'})

    assert_error(r, 412, "ConditionNotMet", head=True)


# Set Blob Properties

def test_set_blob_properties(gateway, new_container):
    b = new_blob()
    p = made(gateway, new_container, b, DATA)

    r = set_props(gateway, new_container, b,
                  {"x-ms-blob-content-type": "text/html",
                   "x-ms-blob-cache-control": "max-age=1"})

    assert r.status == 200, r
    assert r.body == b""
    assert etag_of(r) != p.headers["ETag"]
    assert HTTP_DATE.match(r.headers["Last-Modified"])
    assert_common(r)

    h = head(gateway, new_container, b)
    assert h.headers["ETag"] == r.headers["ETag"]
    assert h.headers["Content-Type"] == "text/html"
    assert h.headers["Cache-Control"] == "max-age=1"
    assert get(gateway, new_container, b).body == DATA


def test_set_blob_properties_clears_what_is_not_sent(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {
        "x-ms-blob-content-type": "text/plain",
        "x-ms-blob-content-encoding": "gzip",
        "x-ms-blob-content-language": "en",
        "x-ms-blob-content-disposition": "inline",
        "x-ms-blob-cache-control": "no-cache",
    })

    r = set_props(gateway, new_container, b,
                  {"x-ms-blob-content-language": "fr"})

    assert r.status == 200, r
    h = head(gateway, new_container, b)
    assert h.headers["Content-Language"] == "fr"
    assert h.headers["Content-Type"] == "application/octet-stream"
    for name in ("Content-Encoding", "Content-Disposition", "Cache-Control",
                 "Content-MD5"):
        assert name not in h.headers, h.headers


def test_set_blob_properties_sets_md5(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA)
    given = md5_b64(b"something")

    r = set_props(gateway, new_container, b, {"x-ms-blob-content-md5": given})

    assert r.status == 200, r
    assert head(gateway, new_container, b).headers["Content-MD5"] == given


def test_set_blob_properties_keeps_metadata(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {"x-ms-meta-keep": "me"})

    assert set_props(gateway, new_container, b,
                     {"x-ms-blob-content-type": "a/b"}).status == 200

    assert head(gateway, new_container, b).headers.get("x-ms-meta-keep") == \
        "me"


def test_set_blob_properties_keeps_creation_time(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA)
    before = head(gateway, new_container, b).headers["x-ms-creation-time"]

    assert set_props(gateway, new_container, b).status == 200

    assert head(gateway, new_container, b).headers["x-ms-creation-time"] == \
        before


def test_set_blob_properties_not_found(gateway, new_container):
    r = set_props(gateway, new_container, new_blob(),
                  {"x-ms-blob-content-type": "text/plain"})

    assert_error(r, 404, "BlobNotFound")


def test_set_blob_properties_if_match_wrong(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {"x-ms-blob-content-type": "a/b"})

    r = set_props(gateway, new_container, b,
                  {"If-Match": '"0x0000000000000001"',
                   "x-ms-blob-content-type": "c/d"})

    assert_error(r, 412, "ConditionNotMet")
    assert head(gateway, new_container, b).headers["Content-Type"] == "a/b"


def test_set_blob_properties_malformed_md5(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)

    r = set_props(gateway, new_container, b, {"x-ms-blob-content-md5": "xx"})

    assert_error(r, 400, "InvalidMd5")


# Get/Set Blob Metadata

def test_set_blob_metadata(gateway, new_container):
    b = new_blob()
    p = made(gateway, new_container, b, DATA, {"x-ms-meta-old": "1"})

    r = set_meta(gateway, new_container, b,
                 {"x-ms-meta-New": "2", "x-ms-meta-other": "three"})

    assert r.status == 200, r
    assert r.body == b""
    assert etag_of(r) != p.headers["ETag"]
    assert HTTP_DATE.match(r.headers["Last-Modified"])
    assert r.headers["x-ms-request-server-encrypted"] == "true"
    assert_common(r)

    g = get_meta(gateway, new_container, b)
    assert g.status == 200, g
    assert g.body == b""
    assert g.headers["ETag"] == r.headers["ETag"]
    assert g.headers.get("x-ms-meta-New") == "2"
    assert g.headers.get("x-ms-meta-other") == "three"
    assert "x-ms-meta-old" not in g.headers


def test_set_blob_metadata_empty_clears(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {"x-ms-meta-a": "1"})

    assert set_meta(gateway, new_container, b).status == 200

    g = get_meta(gateway, new_container, b)
    assert not [k for k in g.headers if k.lower().startswith("x-ms-meta-")]


def test_set_blob_metadata_keeps_properties(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {"x-ms-blob-content-type": "a/b"})

    assert set_meta(gateway, new_container, b,
                    {"x-ms-meta-x": "y"}).status == 200

    h = head(gateway, new_container, b)
    assert h.headers["Content-Type"] == "a/b"
    assert h.headers["Content-MD5"] == md5_b64(DATA)
    assert get(gateway, new_container, b).body == DATA


def test_get_blob_metadata_head(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {"x-ms-meta-a": "1"})

    r = gateway.request("HEAD", "/%s/%s" % (new_container, b),
                        query=[("comp", "metadata")])

    assert r.status == 200, r
    assert r.headers.get("x-ms-meta-a") == "1"


# (names with "." or "$" never reach the module: nginx drops such header
# lines, ignore_invalid_headers, so the signature fails first)
@pytest.mark.parametrize("name", ["1abc", "a-b", "_-x", "9"])
def test_set_blob_metadata_invalid_name(gateway, new_container, name):
    b = new_blob()
    made(gateway, new_container, b, DATA, {"x-ms-meta-keep": "1"})

    r = set_meta(gateway, new_container, b, {"x-ms-meta-" + name: "v"})

    assert_error(r, 400, "InvalidMetadata")
    assert head(gateway, new_container, b).headers.get("x-ms-meta-keep") == "1"


def test_set_blob_metadata_8k_fits(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)
    h = {"x-ms-meta-m%d" % i: "v" * (1024 - len("m%d" % i)) for i in range(8)}

    r = set_meta(gateway, new_container, b, h)

    assert r.status == 200, r


def test_set_blob_metadata_over_8k(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)
    h = {"x-ms-meta-m%d" % i: "v" * 1024 for i in range(9)}

    r = set_meta(gateway, new_container, b, h)

    assert_error(r, 400, "MetadataTooLarge")


def test_set_blob_metadata_not_found(gateway, new_container):
    r = set_meta(gateway, new_container, new_blob(), {"x-ms-meta-a": "1"})

    assert_error(r, 404, "BlobNotFound")


def test_get_blob_metadata_not_found(gateway, new_container):
    r = get_meta(gateway, new_container, new_blob())

    assert_error(r, 404, "BlobNotFound")


def test_set_blob_metadata_if_match_wrong(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)

    r = set_meta(gateway, new_container, b,
                 {"If-Match": '"0x0000000000000001"', "x-ms-meta-a": "1"})

    assert_error(r, 412, "ConditionNotMet")


# Delete Blob

def test_delete_blob_202(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)

    r = delete(gateway, new_container, b)

    assert r.status == 202, r
    assert r.body == b""
    assert r.headers.get("x-ms-delete-type-permanent") == "true"
    assert_common(r)
    assert not on_disk(gateway, new_container, b).exists()
    assert_error(get(gateway, new_container, b), 404, "BlobNotFound")


def test_delete_blob_not_found(gateway, new_container):
    r = delete(gateway, new_container, new_blob())

    assert_error(r, 404, "BlobNotFound")


def test_delete_blob_twice(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)
    assert delete(gateway, new_container, b).status == 202

    assert_error(delete(gateway, new_container, b), 404, "BlobNotFound")


def test_delete_blob_container_not_found(gateway):
    r = delete(gateway, "nocontainer" + uuid.uuid4().hex[:8], "x")

    assert_error(r, 404, "ContainerNotFound")


def test_delete_blob_removes_empty_parents(gateway, new_container):
    made(gateway, new_container, "p/q/r/leaf.txt")

    assert delete(gateway, new_container, "p/q/r/leaf.txt").status == 202

    assert not (gateway.root / new_container / "p").exists()
    assert (gateway.root / new_container).is_dir()


def test_delete_blob_keeps_nonempty_parents(gateway, new_container):
    made(gateway, new_container, "p/q/one.txt")
    made(gateway, new_container, "p/two.txt")

    assert delete(gateway, new_container, "p/q/one.txt").status == 202

    assert not (gateway.root / new_container / "p" / "q").exists()
    assert on_disk(gateway, new_container, "p/two.txt").read_bytes() == DATA


def test_delete_blob_virtual_directory_not_found(gateway, new_container):
    made(gateway, new_container, "vd/file.txt")

    r = delete(gateway, new_container, "vd")

    assert_error(r, 404, "BlobNotFound")
    assert on_disk(gateway, new_container, "vd/file.txt").exists()


def test_delete_blob_if_match_wrong(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)

    r = delete(gateway, new_container, b,
               {"If-Match": '"0x0000000000000001"'})

    assert_error(r, 412, "ConditionNotMet")
    assert on_disk(gateway, new_container, b).exists()


def test_delete_blob_if_match_right(gateway, new_container):
    b = new_blob()
    p = made(gateway, new_container, b)

    r = delete(gateway, new_container, b, {"If-Match": p.headers["ETag"]})

    assert r.status == 202, r
    assert not on_disk(gateway, new_container, b).exists()


def test_delete_blob_then_recreate_has_fresh_properties(gateway,
                                                        new_container):
    b = new_blob()
    made(gateway, new_container, b, DATA, {"x-ms-meta-gone": "1"})
    assert delete(gateway, new_container, b).status == 202

    made(gateway, new_container, b, DATA)

    assert "x-ms-meta-gone" not in head(gateway, new_container, b).headers


# page and append blob operations

@pytest.mark.parametrize("method,comp", [("PUT", "page"),
                                         ("PUT", "appendblock"),
                                         ("GET", "pagelist")])
def test_page_append_ops_on_block_blob(gateway, new_container, method, comp):
    b = new_blob()
    made(gateway, new_container, b)

    r = gateway.request(method, "/%s/%s" % (new_container, b),
                        query=[("comp", comp)],
                        headers={"x-ms-range": "bytes=0-511",
                                 "x-ms-page-write": "update"}
                        if comp == "page" else None,
                        body=b"\0" * 512 if comp != "pagelist" else b"")

    assert_error(r, 409, "InvalidBlobType")
    assert get(gateway, new_container, b).body == DATA


@pytest.mark.parametrize("method,comp", [("PUT", "page"),
                                         ("PUT", "appendblock"),
                                         ("GET", "pagelist")])
def test_page_append_ops_on_missing_blob(gateway, new_container, method,
                                         comp):
    b = new_blob()

    r = gateway.request(method, "/%s/%s" % (new_container, b),
                        query=[("comp", comp)],
                        body=b"\0" * 512 if comp != "pagelist" else b"")

    assert_error(r, 404, "BlobNotFound")
    assert not on_disk(gateway, new_container, b).exists()


# requests the module does not serve, and what it ignores

def test_unknown_comp(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)

    r = get(gateway, new_container, b, query=[("comp", "nosuchthing")])

    assert_error(r, 400, "InvalidQueryParameterValue")
    assert r.xml().findtext("QueryParameterName") == "comp"
    assert r.xml().findtext("QueryParameterValue") == "nosuchthing"


def test_post_is_405(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)

    r = gateway.request("POST", "/%s/%s" % (new_container, b), body=b"x")

    assert_error(r, 405, "UnsupportedHttpVerb")
    assert get(gateway, new_container, b).body == DATA


def test_any_version_accepted(gateway, new_container):
    b = new_blob()

    r = put(gateway, new_container, b, DATA, {"x-ms-version": "2099-01-01"})

    assert r.status == 201, r
    assert r.headers["x-ms-version"] == "2099-01-01"
    g = get(gateway, new_container, b, {"x-ms-version": "2099-01-01"})
    assert g.status == 200, g
    assert_common(g, version="2099-01-01")


def test_error_echoes_version(gateway, new_container):
    r = get(gateway, new_container, new_blob(),
            {"x-ms-version": "2019-02-02"})

    assert r.status == 404, r
    assert r.headers["x-ms-version"] == "2019-02-02"


def test_client_request_id_echoed(gateway, new_container):
    cid = str(uuid.uuid4())

    r = get(gateway, new_container, new_blob(),
            {"x-ms-client-request-id": cid})

    assert r.status == 404, r
    assert r.headers.get("x-ms-client-request-id") == cid


def test_request_ids_differ(gateway, new_container):
    b = new_blob()
    made(gateway, new_container, b)

    ids = {get(gateway, new_container, b).headers["x-ms-request-id"]
           for _ in range(3)}

    assert len(ids) == 3


def test_unknown_headers_ignored(gateway, new_container):
    b = new_blob()

    r = put(gateway, new_container, b, DATA,
            {"x-ms-not-a-real-header": "whatever", "X-Custom": "1",
             "x-ms-access-tier": "Hot"})

    assert r.status == 201, r
    g = get(gateway, new_container, b, {"x-ms-frobnicate": "yes"})
    assert g.status == 200, g
    assert g.body == DATA


def test_unknown_query_parameters_ignored(gateway, new_container):
    b = new_blob()

    r = put(gateway, new_container, b, DATA,
            query=[("timeout", "30"), ("foo", "bar")])

    assert r.status == 201, r
    g = get(gateway, new_container, b, query=[("zzz", "1"), ("timeout", "5")])
    assert g.status == 200, g
    assert g.body == DATA


# files written by NFS clients straight into the data root

def test_foreign_file_is_a_blob(gateway, new_container):
    p = gateway.root / new_container / "dropped" / "by-nfs.bin"
    p.parent.mkdir(parents=True)
    p.write_bytes(b"written by hand")

    r = get(gateway, new_container, "dropped/by-nfs.bin")

    assert r.status == 200, r
    assert r.body == b"written by hand"
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "Content-MD5" not in r.headers
    assert not [k for k in r.headers if k.lower().startswith("x-ms-meta-")]
    assert ETAG.match(r.headers["ETag"]), r.headers
    assert r.headers["x-ms-blob-type"] == "BlockBlob"
    assert HTTP_DATE.match(r.headers["Last-Modified"])


def test_foreign_change_changes_etag(gateway, new_container):
    p = gateway.root / new_container / "nfs.bin"
    p.write_bytes(b"version one")
    first = head(gateway, new_container, "nfs.bin")
    assert first.status == 200, first

    p.write_bytes(b"version two!")

    second = head(gateway, new_container, "nfs.bin")
    assert second.headers["ETag"] != first.headers["ETag"]
    assert second.headers["Content-Length"] == "12"


def test_foreign_rewrite_of_api_blob_drops_properties(gateway,
                                                      new_container):
    b = new_blob()
    p = made(gateway, new_container, b, DATA,
             {"x-ms-blob-content-type": "text/x-api",
              "x-ms-meta-api": "1"})

    with open(on_disk(gateway, new_container, b), "r+b") as f:
        f.write(b"X")

    r = get(gateway, new_container, b)
    assert r.status == 200, r
    assert r.body == b"X" + DATA[1:]
    assert r.headers["ETag"] != p.headers["ETag"]
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "Content-MD5" not in r.headers
    assert "x-ms-meta-api" not in r.headers


def test_foreign_touch_changes_etag(gateway, new_container):
    b = new_blob()
    p = made(gateway, new_container, b)
    path = on_disk(gateway, new_container, b)

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))

    assert head(gateway, new_container, b).headers["ETag"] != \
        p.headers["ETag"]


def test_foreign_file_if_none_match(gateway, new_container):
    (gateway.root / new_container / "nfs2.bin").write_bytes(b"abc")
    etag = head(gateway, new_container, "nfs2.bin").headers["ETag"]

    r = get(gateway, new_container, "nfs2.bin", {"If-None-Match": etag})

    assert r.status == 304, r


def test_foreign_file_delete(gateway, new_container):
    p = gateway.root / new_container / "nd" / "gone.bin"
    p.parent.mkdir()
    p.write_bytes(b"abc")

    r = delete(gateway, new_container, "nd/gone.bin")

    assert r.status == 202, r
    assert not p.exists()
    assert not p.parent.exists()
