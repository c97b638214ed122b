"""The basic life of a blob in raw HTTP: exact statuses and the headers
every Azure response carries, checked on the wire and on disk."""

import base64
import email.utils
import hashlib
import re
import uuid

VERSION = "2021-12-02"      # what lib/azsign.py sends
ETAG = re.compile(r'^"[^"\s]+"$')
HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                       r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       r"\d{4} \d\d:\d\d:\d\d GMT$")


def assert_common(r):
    """What every response of the Blob service carries."""

    assert r.headers.get("x-ms-request-id"), r.headers
    assert r.headers.get("x-ms-version") == VERSION, r.headers
    assert HTTP_DATE.match(r.headers.get("Date", "")), r.headers
    assert email.utils.parsedate_to_datetime(r.headers["Date"]) is not None


def assert_etag_lm(r):
    assert ETAG.match(r.headers.get("ETag", "")), r.headers
    assert HTTP_DATE.match(r.headers.get("Last-Modified", "")), r.headers


def new_name():
    return "smoke" + uuid.uuid4().hex[:12]


def create_container(gateway, name):
    return gateway.request("PUT", "/" + name, query=[("restype", "container")])


def put_blob(gateway, container, blob, data, headers=None):
    h = {"x-ms-blob-type": "BlockBlob"}
    h.update(headers or {})
    return gateway.request("PUT", "/%s/%s" % (container, blob), headers=h,
                           body=data)


def test_create_container(gateway):
    name = new_name()
    client_id = str(uuid.uuid4())

    r = gateway.request("PUT", "/" + name, query=[("restype", "container")],
                        headers={"x-ms-client-request-id": client_id})

    assert r.status == 201, r
    assert_common(r)
    assert_etag_lm(r)
    assert r.headers.get("x-ms-client-request-id") == client_id
    assert r.body == b""
    assert (gateway.root / name).is_dir()


def test_create_container_twice(gateway):
    name = new_name()
    assert create_container(gateway, name).status == 201

    r = create_container(gateway, name)

    assert r.status == 409, r
    assert r.headers.get("x-ms-error-code") == "ContainerAlreadyExists"
    assert_common(r)


def test_put_blob(gateway, new_container):
    data = b"hello, blob\n" * 100

    r = put_blob(gateway, new_container, "hello.txt", data)

    assert r.status == 201, r
    assert_common(r)
    assert_etag_lm(r)
    assert r.headers.get("Content-MD5") == \
        base64.b64encode(hashlib.md5(data).digest()).decode()
    assert r.body == b""
    assert (gateway.root / new_container / "hello.txt").read_bytes() == data


def test_get_blob(gateway, new_container):
    data = b"\x00\x01binary\xff" * 1000
    put = put_blob(gateway, new_container, "dir/get.bin", data,
                   {"x-ms-blob-content-type": "application/x-test"})
    assert put.status == 201, put

    r = gateway.request("GET", "/%s/dir/get.bin" % new_container)

    assert r.status == 200, r
    assert_common(r)
    assert r.body == data
    assert r.headers.get("Content-Length") == str(len(data))
    assert r.headers.get("Content-Type") == "application/x-test"
    assert r.headers.get("ETag") == put.headers["ETag"]
    assert r.headers.get("Last-Modified") == put.headers["Last-Modified"]
    assert r.headers.get("x-ms-blob-type") == "BlockBlob"


def test_head_blob(gateway, new_container):
    data = b"properties only"
    put = put_blob(gateway, new_container, "head.txt", data)
    assert put.status == 201, put

    r = gateway.request("HEAD", "/%s/head.txt" % new_container)

    assert r.status == 200, r
    assert_common(r)
    assert r.body == b""
    assert r.headers.get("Content-Length") == str(len(data))
    assert r.headers.get("ETag") == put.headers["ETag"]
    assert r.headers.get("Last-Modified") == put.headers["Last-Modified"]
    assert r.headers.get("x-ms-blob-type") == "BlockBlob"


def test_list_blobs(gateway, new_container):
    blobs = {"a.txt": b"a", "d/b.txt": b"bb", "d/e/c.txt": b"ccc"}
    etags = {}
    for name, data in blobs.items():
        put = put_blob(gateway, new_container, name, data)
        assert put.status == 201, put
        etags[name] = put.headers["ETag"]

    r = gateway.request("GET", "/" + new_container,
                        query=[("restype", "container"), ("comp", "list")])

    assert r.status == 200, r
    assert_common(r)
    assert r.headers.get("Content-Type", "").startswith("application/xml")
    root = r.xml()
    assert root.tag == "EnumerationResults"
    assert root.get("ContainerName") == new_container
    listed = {}
    for b in root.findall("./Blobs/Blob"):
        listed[b.findtext("Name")] = b
    assert sorted(listed) == sorted(blobs)
    for name, data in blobs.items():
        props = listed[name].find("Properties")
        assert props.findtext("Content-Length") == str(len(data))
        assert props.findtext("BlobType") == "BlockBlob"
        # the listing may or may not quote it; the value is the same
        assert props.findtext("Etag").strip('"') == etags[name].strip('"')


def test_delete_blob(gateway, new_container):
    assert put_blob(gateway, new_container, "gone.txt", b"x").status == 201

    r = gateway.request("DELETE", "/%s/gone.txt" % new_container)

    assert r.status == 202, r
    assert_common(r)
    assert not (gateway.root / new_container / "gone.txt").exists()

    r = gateway.request("GET", "/%s/gone.txt" % new_container)
    assert r.status == 404, r
    assert r.headers.get("x-ms-error-code") == "BlobNotFound"
    assert_common(r)
    assert r.xml().findtext("Code") == "BlobNotFound"

    r = gateway.request("HEAD", "/%s/gone.txt" % new_container)
    assert r.status == 404, r
    assert r.headers.get("x-ms-error-code") == "BlobNotFound"
    assert r.body == b""


def test_delete_container(gateway):
    name = new_name()
    assert create_container(gateway, name).status == 201
    assert put_blob(gateway, name, "x.txt", b"x").status == 201

    r = gateway.request("DELETE", "/" + name,
                        query=[("restype", "container")])

    assert r.status == 202, r
    assert_common(r)

    r = gateway.request("GET", "/" + name,
                        query=[("restype", "container"), ("comp", "list")])
    assert r.status == 404, r
    assert r.headers.get("x-ms-error-code") == "ContainerNotFound"
