"""List Blobs in raw HTTP: the exact EnumerationResults document, Azure's
byte order with BlobPrefix entries among the blobs, pagination across
markers with prefix and delimiter, what on disk is and is not a blob, and
every error."""

import base64
import hashlib
import os
import re
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest

HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                       r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       r"\d{4} \d\d:\d\d:\d\d GMT$")
LIST_ETAG = re.compile(r"^0x[0-9A-F]+$")

PROPERTIES = ["Creation-Time", "Last-Modified", "Etag", "Content-Length",
              "Content-Type", "Content-Encoding", "Content-Language",
              "Content-MD5", "Cache-Control", "Content-Disposition",
              "BlobType", "AccessTier", "AccessTierInferred", "LeaseStatus",
              "LeaseState", "ServerEncrypted"]


def put(gateway, container, name, data=b"data", headers=None):
    h = {"x-ms-blob-type": "BlockBlob"}
    h.update(headers or {})
    r = gateway.request("PUT", "/%s/%s" % (container,
                                           urllib.parse.quote(name)),
                        headers=h, body=data)
    assert r.status == 201, r
    return r


def on_disk(gateway, container, name, data=b"x"):
    """A file written by someone else on the shared filesystem."""
    path = gateway.root / container / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def list_blobs(gateway, container, query=()):
    return gateway.request("GET", "/" + container,
                           query=[("restype", "container"),
                                  ("comp", "list")] + list(query))


def entries(x):
    """[("Blob"|"BlobPrefix", name)] in document order."""
    out = []
    for e in x.find("Blobs"):
        name = e.find("Name")
        text = name.text
        if name.get("Encoded") == "true":
            text = urllib.parse.unquote(text)
        out.append((e.tag, text))
    return out


def list_all(gateway, container, query=(), maxresults=None):
    """Every entry over all pages, and the number of pages."""
    seen = []
    marker = None
    pages = 0
    while True:
        q = list(query)
        if maxresults:
            q.append(("maxresults", str(maxresults)))
        if marker is not None:
            q.append(("marker", marker))
        r = list_blobs(gateway, container, q)
        assert r.status == 200, r
        x = r.xml()
        page = entries(x)
        if maxresults:
            assert len(page) <= maxresults
        seen += page
        pages += 1
        marker = x.find("NextMarker").text
        if not marker:
            return seen, pages
        assert pages < 1000


def assert_error(r, status, code, query_name=None):
    assert r.status == status, r
    assert r.headers.get("x-ms-error-code") == code, r
    x = r.xml()
    assert x.find("Code").text == code
    if query_name:
        assert x.find("QueryParameterName").text == query_name


# the document

def test_document_exact(gateway, new_container):
    body = b"hello world"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    put(gateway, new_container, "dir/file.txt", body,
        headers={"x-ms-blob-content-type": "text/plain",
                 "x-ms-blob-content-encoding": "identity",
                 "x-ms-blob-content-language": "en",
                 "x-ms-blob-cache-control": "no-cache",
                 "x-ms-blob-content-disposition": "inline"})

    r = list_blobs(gateway, new_container)

    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/xml"
    assert int(r.headers["Content-Length"]) == len(r.body)
    assert r.headers.get("x-ms-request-id")
    assert r.body.startswith(
        b'<?xml version="1.0" encoding="utf-8"?><EnumerationResults '
        b'ServiceEndpoint="' + gateway.endpoint.encode() + b'/" '
        b'ContainerName="' + new_container.encode() + b'">')
    x = r.xml()
    assert [c.tag for c in x] == ["Blobs", "NextMarker"]
    assert x.find("NextMarker").text is None
    assert b"<NextMarker />" in r.body

    (blob,) = x.find("Blobs")
    assert blob.tag == "Blob"
    assert [c.tag for c in blob] == ["Name", "Properties"]
    assert blob.find("Name").text == "dir/file.txt"

    p = blob.find("Properties")
    assert [c.tag for c in p] == PROPERTIES
    assert HTTP_DATE.match(p.find("Creation-Time").text)
    assert HTTP_DATE.match(p.find("Last-Modified").text)
    assert LIST_ETAG.match(p.find("Etag").text)
    assert p.find("Content-Length").text == str(len(body))
    assert p.find("Content-Type").text == "text/plain"
    assert p.find("Content-Encoding").text == "identity"
    assert p.find("Content-Language").text == "en"
    assert p.find("Content-MD5").text == md5
    assert p.find("Cache-Control").text == "no-cache"
    assert p.find("Content-Disposition").text == "inline"
    assert p.find("BlobType").text == "BlockBlob"
    assert p.find("AccessTier").text == "Hot"
    assert p.find("AccessTierInferred").text == "true"
    assert p.find("LeaseStatus").text == "unlocked"
    assert p.find("LeaseState").text == "available"
    assert p.find("ServerEncrypted").text == "true"


def test_etag_and_dates_match_blob_properties(gateway, new_container):
    put(gateway, new_container, "b")
    h = gateway.request("HEAD", "/%s/b" % new_container)

    p = list_blobs(gateway, new_container).xml().find(
        "Blobs/Blob/Properties")

    assert '"%s"' % p.find("Etag").text == h.headers["ETag"]
    assert p.find("Last-Modified").text == h.headers["Last-Modified"]
    assert p.find("Content-Length").text == h.headers["Content-Length"]


def test_empty_properties_are_empty_elements(gateway, new_container):
    put(gateway, new_container, "b")

    r = list_blobs(gateway, new_container)

    for name in ("Content-Encoding", "Content-Language", "Cache-Control",
                 "Content-Disposition"):
        assert ("<%s />" % name).encode() in r.body
    p = r.xml().find("Blobs/Blob/Properties")
    assert p.find("Content-Type").text == "application/octet-stream"


def test_request_echoed(gateway, new_container):
    r = list_blobs(gateway, new_container, [("prefix", "p"),
                                            ("delimiter", "/"),
                                            ("maxresults", "7")])

    x = r.xml()
    assert [c.tag for c in x] == ["Prefix", "MaxResults", "Delimiter",
                                  "Blobs", "NextMarker"]
    assert x.find("Prefix").text == "p"
    assert x.find("MaxResults").text == "7"
    assert x.find("Delimiter").text == "/"
    assert b"<Blobs />" in r.body


def test_marker_echoed(gateway, new_container):
    for n in ("a", "b", "c"):
        put(gateway, new_container, n)
    marker = list_blobs(gateway, new_container,
                        [("maxresults", "1")]).xml().find("NextMarker").text

    x = list_blobs(gateway, new_container, [("marker", marker)]).xml()

    assert [c.tag for c in x] == ["Marker", "Blobs", "NextMarker"]
    assert x.find("Marker").text == marker
    assert entries(x) == [("Blob", "b"), ("Blob", "c")]


def test_metadata(gateway, new_container):
    put(gateway, new_container, "m", headers={"x-ms-meta-Alpha": "1",
                                              "x-ms-meta-beta": "two"})
    put(gateway, new_container, "n")

    x = list_blobs(gateway, new_container, [("include", "metadata")]).xml()

    m, n = x.find("Blobs")
    assert [c.tag for c in m] == ["Name", "Properties", "Metadata"]
    assert sorted((e.tag, e.text) for e in m.find("Metadata")) == \
        [("Alpha", "1"), ("beta", "two")]
    assert len(n.find("Metadata")) == 0

    x = list_blobs(gateway, new_container).xml()
    assert x.find("Blobs/Blob/Metadata") is None


def test_include_is_repeatable_and_comma_separated(gateway, new_container):
    put(gateway, new_container, "m", headers={"x-ms-meta-a": "1"})

    for q in ([("include", "metadata"), ("include", "copy")],
              [("include", "copy,metadata,tags")],
              [("include", "snapshots,metadata,versions,deleted")]):
        x = list_blobs(gateway, new_container, q).xml()
        assert x.find("Blobs/Blob/Metadata/a").text == "1", q


# order and hierarchy

NAMES = ["a", "a!", "a-b", "a.txt", "a0", "ab", "b/c", "b/c/d", "b/c.txt",
         "b/c0", "b-", "b/x/y/z", "c", "é", "z/z", "~"]


def make_tree(gateway, container, names):
    for n in names:
        on_disk(gateway, container, n)


def test_byte_order_flat(gateway, new_container):
    # "b/c" cannot be a file and a directory at once: drop the file
    names = [n for n in NAMES if n != "b/c"]
    make_tree(gateway, new_container, names)

    got = entries(list_blobs(gateway, new_container).xml())

    assert got == [("Blob", n) for n in sorted(
        names, key=lambda s: s.encode())]


def test_byte_order_with_delimiter(gateway, new_container):
    names = [n for n in NAMES if n != "b/c"]
    make_tree(gateway, new_container, names)

    got = entries(list_blobs(gateway, new_container,
                             [("delimiter", "/")]).xml())

    assert got == [("Blob", "a"), ("Blob", "a!"), ("Blob", "a-b"),
                   ("Blob", "a.txt"), ("Blob", "a0"), ("Blob", "ab"),
                   ("Blob", "b-"), ("BlobPrefix", "b/"), ("Blob", "c"),
                   ("BlobPrefix", "z/"), ("Blob", "~"), ("Blob", "é")]


def test_prefix_and_delimiter(gateway, new_container):
    make_tree(gateway, new_container, ["b/c/d", "b/c.txt", "b/c0",
                                       "b/x/y/z", "b/c/e/f", "bc"])

    # "." < "/" < "0": the BlobPrefix sits between the blobs
    got = entries(list_blobs(gateway, new_container,
                             [("prefix", "b/"), ("delimiter", "/")]).xml())
    assert got == [("Blob", "b/c.txt"), ("BlobPrefix", "b/c/"),
                   ("Blob", "b/c0"), ("BlobPrefix", "b/x/")]

    got = entries(list_blobs(gateway, new_container,
                             [("prefix", "b/c"), ("delimiter", "/")]).xml())
    assert got == [("Blob", "b/c.txt"), ("BlobPrefix", "b/c/"),
                   ("Blob", "b/c0")]

    got = entries(list_blobs(gateway, new_container,
                             [("prefix", "b/c/")]).xml())
    assert got == [("Blob", "b/c/d"), ("Blob", "b/c/e/f")]

    got = entries(list_blobs(gateway, new_container,
                             [("prefix", "b")]).xml())
    assert [n for _, n in got] == ["b/c.txt", "b/c/d", "b/c/e/f", "b/c0",
                                   "b/x/y/z", "bc"]


def test_plus_in_query_is_a_space(gateway, new_container):
    # what Go's url.Values (rclone) sends for a prefix "e f/"; a real "+"
    # arrives as %2B
    make_tree(gateway, new_container, ["e f/1", "e+f/2"])

    url = gateway.sas_url(container=new_container) + \
        "&restype=container&comp=list&prefix=e+f%2F&delimiter=%2F"
    with urllib.request.urlopen(url) as f:
        x = ET.fromstring(f.read())
    assert entries(x) == [("Blob", "e f/1")]
    assert x.find("Prefix").text == "e f/"

    x = list_blobs(gateway, new_container, [("prefix", "e+f/")]).xml()
    assert entries(x) == [("Blob", "e+f/2")]


def test_prefix_of_missing_directory(gateway, new_container):
    make_tree(gateway, new_container, ["a/b"])

    for prefix in ("nothing/", "a/b/", "a/b/c", "a/x/y"):
        x = list_blobs(gateway, new_container, [("prefix", prefix)]).xml()
        assert entries(x) == [], prefix


def test_delimiter_other_than_slash(gateway, new_container):
    make_tree(gateway, new_container, ["2024-01-a", "2024-01-b", "2024-02-a",
                                       "2025", "x/2024-03"])

    got = entries(list_blobs(gateway, new_container,
                             [("delimiter", "-")]).xml())
    assert got == [("BlobPrefix", "2024-"), ("Blob", "2025"),
                   ("BlobPrefix", "x/2024-")]

    got = entries(list_blobs(gateway, new_container,
                             [("prefix", "2024-"), ("delimiter", "-")]).xml())
    assert got == [("BlobPrefix", "2024-01-"), ("BlobPrefix", "2024-02-")]


def test_multi_character_delimiter(gateway, new_container):
    make_tree(gateway, new_container, ["a--b", "a-b", "c--d--e", "f"])

    got = entries(list_blobs(gateway, new_container,
                             [("delimiter", "--")]).xml())

    assert got == [("BlobPrefix", "a--"), ("Blob", "a-b"),
                   ("BlobPrefix", "c--"), ("Blob", "f")]


def test_empty_directories_are_not_listed(gateway, new_container):
    (gateway.root / new_container / "empty" / "deeper").mkdir(parents=True)
    (gateway.root / new_container / "full" / "deep").mkdir(parents=True)
    on_disk(gateway, new_container, "full/deep/f")

    got = entries(list_blobs(gateway, new_container,
                             [("delimiter", "/")]).xml())
    assert got == [("BlobPrefix", "full/")]

    got = entries(list_blobs(gateway, new_container).xml())
    assert got == [("Blob", "full/deep/f")]


def test_what_is_not_a_blob(gateway, new_container):
    base = gateway.root / new_container
    on_disk(gateway, new_container, "real")
    os.symlink("real", base / "link")
    os.symlink("/etc", base / "dirlink")
    os.mkfifo(base / "fifo")
    (base / b"bad\xff\xfename".decode("utf-8", "surrogateescape")).write_bytes(
        b"x")

    got = entries(list_blobs(gateway, new_container).xml())

    assert got == [("Blob", "real")]


def test_control_characters_are_encoded(gateway, new_container):
    on_disk(gateway, new_container, "a\x01b")
    on_disk(gateway, new_container, "plain & <ok>")

    r = list_blobs(gateway, new_container)

    assert b'<Name Encoded="true">a%01b</Name>' in r.body
    assert b"<Name>plain &amp; &lt;ok&gt;</Name>" in r.body
    assert entries(r.xml()) == [("Blob", "a\x01b"), ("Blob", "plain & <ok>")]


def test_prefix_cannot_leave_the_container(gateway, new_container):
    other = "o" + uuid.uuid4().hex[:12]
    (gateway.root / other).mkdir()
    on_disk(gateway, other, "secret")

    for prefix in ("../%s/" % other, "../%s/s" % other, "./", "a//b"):
        r = list_blobs(gateway, new_container, [("prefix", prefix)])
        assert r.status == 200, r
        assert entries(r.xml()) == [], prefix


def test_files_written_on_disk_have_default_properties(gateway,
                                                       new_container):
    on_disk(gateway, new_container, "nfs/file.bin", b"12345")

    p = list_blobs(gateway, new_container).xml().find(
        "Blobs/Blob/Properties")

    assert p.find("Content-Length").text == "5"
    assert p.find("Content-Type").text == "application/octet-stream"
    assert p.find("Content-MD5").text is None
    assert LIST_ETAG.match(p.find("Etag").text)


# pagination

def test_pages_flat(gateway, new_container):
    names = ["f%03d" % i for i in range(25)]
    make_tree(gateway, new_container, names)

    seen, pages = list_all(gateway, new_container, maxresults=7)

    assert seen == [("Blob", n) for n in names]
    assert pages == 4


def test_pages_exact_multiple(gateway, new_container):
    make_tree(gateway, new_container, ["a", "b", "c", "d"])

    r = list_blobs(gateway, new_container, [("maxresults", "2")])
    marker = r.xml().find("NextMarker").text
    assert marker

    x = list_blobs(gateway, new_container, [("maxresults", "2"),
                                            ("marker", marker)]).xml()
    assert entries(x) == [("Blob", "c"), ("Blob", "d")]
    assert x.find("NextMarker").text is None


@pytest.mark.parametrize("maxresults", [1, 2, 3, 5])
def test_pages_with_prefix_and_delimiter(gateway, new_container, maxresults):
    names = ["p/a", "p/b/1", "p/b/2", "p/b/3/x", "p/c", "p/d/e/f", "p/d/g",
             "p/e", "p/f/1", "q/1", "p0"]
    make_tree(gateway, new_container, names)
    query = [("prefix", "p/"), ("delimiter", "/")]

    seen, pages = list_all(gateway, new_container, query,
                           maxresults=maxresults)

    expected = [("Blob", "p/a"), ("BlobPrefix", "p/b/"), ("Blob", "p/c"),
                ("BlobPrefix", "p/d/"), ("Blob", "p/e"),
                ("BlobPrefix", "p/f/")]
    assert seen == expected
    assert pages == (len(expected) + maxresults - 1) // maxresults


def test_pages_without_delimiter_match_one_page(gateway, new_container):
    names = ["d%d/f%d" % (i, j) for i in range(6) for j in range(4)]
    names += ["d%d" % i for i in range(6, 9)]
    make_tree(gateway, new_container, names)

    whole = entries(list_blobs(gateway, new_container).xml())
    seen, _ = list_all(gateway, new_container, maxresults=5)

    assert seen == whole
    assert [n for _, n in whole] == sorted(names, key=lambda s: s.encode())


def test_blob_added_between_pages(gateway, new_container):
    make_tree(gateway, new_container, ["a", "c", "e"])
    x = list_blobs(gateway, new_container, [("maxresults", "2")]).xml()
    assert entries(x) == [("Blob", "a"), ("Blob", "c")]

    on_disk(gateway, new_container, "d")
    on_disk(gateway, new_container, "b")

    # the next page starts right after "c": "b" is behind, "d" ahead
    x = list_blobs(gateway, new_container,
                   [("marker", x.find("NextMarker").text)]).xml()
    assert entries(x) == [("Blob", "d"), ("Blob", "e")]


def test_prefix_added_between_pages(gateway, new_container):
    make_tree(gateway, new_container, ["a/1", "c/1", "e"])
    q = [("delimiter", "/"), ("maxresults", "1")]
    x = list_blobs(gateway, new_container, q).xml()
    assert entries(x) == [("BlobPrefix", "a/")]

    on_disk(gateway, new_container, "a/2")
    on_disk(gateway, new_container, "b/1")

    x = list_blobs(gateway, new_container,
                   [("delimiter", "/"),
                    ("marker", x.find("NextMarker").text)]).xml()
    assert entries(x) == [("BlobPrefix", "b/"), ("BlobPrefix", "c/"),
                          ("Blob", "e")]


@pytest.mark.slow
def test_large_directory(gateway, new_container):
    base = gateway.root / new_container / "big"
    base.mkdir()
    names = ["n%05d" % i for i in range(6000)]
    for n in names:
        (base / n).write_bytes(b"")

    r = list_blobs(gateway, new_container)
    assert len(r.xml().find("Blobs")) == 5000
    assert r.xml().find("NextMarker").text

    seen, pages = list_all(gateway, new_container, maxresults=1000)
    assert seen == [("Blob", "big/" + n) for n in names]
    assert pages == 6


# errors

def test_missing_container(gateway):
    r = list_blobs(gateway, "nosuch" + uuid.uuid4().hex[:8])

    assert_error(r, 404, "ContainerNotFound")


@pytest.mark.parametrize("value,code", [
    ("0", "OutOfRangeQueryParameterValue"),
    ("-5", "OutOfRangeQueryParameterValue"),
    ("abc", "InvalidQueryParameterValue"),
    ("1.5", "InvalidQueryParameterValue"),
    ("", "InvalidQueryParameterValue"),
    ("99999999999999999999", "InvalidQueryParameterValue"),
])
def test_maxresults_errors(gateway, new_container, value, code):
    r = list_blobs(gateway, new_container, [("maxresults", value)])

    assert_error(r, 400, code, "maxresults")


def test_maxresults_above_limit_is_capped(gateway, new_container):
    put(gateway, new_container, "a")

    x = list_blobs(gateway, new_container, [("maxresults", "10000")]).xml()

    assert x.find("MaxResults").text == "10000"
    assert entries(x) == [("Blob", "a")]


def test_unknown_include(gateway, new_container):
    r = list_blobs(gateway, new_container, [("include", "metadata,bogus")])

    assert_error(r, 400, "InvalidQueryParameterValue", "include")


def test_snapshots_with_delimiter(gateway, new_container):
    r = list_blobs(gateway, new_container, [("include", "snapshots"),
                                            ("delimiter", "/")])

    assert_error(r, 400, "InvalidQueryParameterValue", "include")


def test_bad_marker(gateway, new_container):
    for marker in ("garbage", "1!%%%", "1!a"):
        r = list_blobs(gateway, new_container, [("marker", marker)])
        assert_error(r, 400, "InvalidQueryParameterValue", "marker")


# uncommitted blobs

def put_block(gateway, container, name, block_id, data):
    bid = base64.b64encode(block_id).decode()
    return gateway.request("PUT", "/%s/%s" % (container,
                                              urllib.parse.quote(name)),
                           query=[("comp", "block"), ("blockid", bid)],
                           body=data)


def test_uncommitted_blobs(gateway, new_container):
    put(gateway, new_container, "committed")
    r = put_block(gateway, new_container, "pending/blob", b"block-0001",
                  b"abc")
    if r.status != 201:
        pytest.skip("Put Block not available: %r" % r)
    put_block(gateway, new_container, "committed", b"block-0001", b"abc")

    assert entries(list_blobs(gateway, new_container).xml()) == \
        [("Blob", "committed")]

    x = list_blobs(gateway, new_container,
                   [("include", "uncommittedblobs")]).xml()
    assert entries(x) == [("Blob", "committed"), ("Blob", "pending/blob")]

    p = x.find("Blobs")[1].find("Properties")
    assert p.find("Content-Length").text == "0"
    assert p.find("BlobType").text == "BlockBlob"
    assert p.find("Etag") is None
    assert p.find("Last-Modified") is None

    x = list_blobs(gateway, new_container,
                   [("include", "uncommittedblobs"), ("delimiter", "/")]).xml()
    assert entries(x) == [("Blob", "committed"), ("BlobPrefix", "pending/")]

    seen, _ = list_all(gateway, new_container,
                       [("include", "uncommittedblobs")], maxresults=1)
    assert seen == [("Blob", "committed"), ("Blob", "pending/blob")]


# a real client

def test_python_sdk(gateway, new_container):
    from azure.storage.blob import BlobServiceClient, ContentSettings

    svc = BlobServiceClient.from_connection_string(gateway.conn_str)
    cc = svc.get_container_client(new_container)

    names = ["x/1", "x/2", "x/y/3", "z", "a b", "ü"]
    for n in names:
        cc.upload_blob(n, n.encode(), metadata={"name": "v"},
                       content_settings=ContentSettings(
                           content_type="text/plain"))

    got = [b.name for b in cc.list_blobs(results_per_page=2)]
    assert got == sorted(names, key=lambda s: s.encode())

    blobs = list(cc.list_blobs(name_starts_with="x/", include=["metadata"]))
    assert [b.name for b in blobs] == ["x/1", "x/2", "x/y/3"]
    assert blobs[0].metadata == {"name": "v"}
    assert blobs[0].size == 3
    assert blobs[0].content_settings.content_type == "text/plain"
    assert blobs[0].content_settings.content_md5 == \
        hashlib.md5(b"x/1").digest()

    # the SDK puts a page's prefixes before its blobs
    walked = [b.name for b in cc.walk_blobs(delimiter="/")]
    assert sorted(walked) == ["a b", "x/", "z", "ü"]

    walked = [b.name for b in cc.walk_blobs(name_starts_with="x/",
                                            delimiter="/")]
    assert sorted(walked) == ["x/1", "x/2", "x/y/"]
