"""Hostile input: what a crafted request gets, and that the server is
still up afterwards.

Every request here is one no SDK sends: XML with entities and external
references in each operation that takes XML, headers and bodies past every
limit, malformed base64, dates and ranges, and header values built to
inject.  Each must get a 4xx with Azure's <Error> document (or, where
HTTP says so, be ignored), fast, with nothing read from disk; after each
test a normal write/read/delete still works, and the harness fails the
run if a worker crashed (nginx logs that at [alert]).

Elsewhere: names and traversal (test_names.py), block ids of 65 bytes,
block lists over 50,000 and malformed Content-MD5/block ids
(test_block.py, test_blob.py).
"""

import base64
import os
import select
import socket
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import azsign  # noqa: E402
from lib.hostile import (Fifo, assert_azure_error, assert_up, raw,  # noqa
                         read_response, sas_query)


# a refusal must not cost more than this (the parse of a 64 KiB document
# takes a millisecond; an expansion or a blocked open would take minutes)
FAST = 2.0


@pytest.fixture
def c(gateway, new_container):
    """A container; after the test, the gateway still serves it."""

    yield new_container
    assert_up(gateway, new_container)


# --- XML: entities, external references, XInclude -------------------------

# every operation that reads an XML body: (method, path, query, root)
XML_OPS = {
    "acl": ("PUT", "/{c}", [("restype", "container"), ("comp", "acl")],
            "SignedIdentifiers"),
    "service": ("PUT", "/", [("restype", "service"),
                             ("comp", "properties")],
                "StorageServiceProperties"),
    "blocklist": ("PUT", "/{c}/xml-target", [("comp", "blocklist")],
                  "BlockList"),
}

# what the root element holds where an entity is referenced
XML_INNER = {
    "SignedIdentifiers": "<SignedIdentifier><Id>{ref}</Id><AccessPolicy>"
                         "<Permission>r</Permission></AccessPolicy>"
                         "</SignedIdentifier>",
    "StorageServiceProperties": "<Logging><Version>{ref}</Version>"
                                "</Logging>",
    "BlockList": "<Latest>{ref}</Latest>",
}


def billion_laughs(root, url):
    # 10^10 expansions of a 50-byte string
    dtd = '<!ENTITY e0 "%s">' % ("A" * 50)
    for i in range(1, 11):
        dtd += '<!ENTITY e%d "%s">' % (i, ("&e%d;" % (i - 1)) * 10)
    return "<!DOCTYPE %s [%s]>" % (root, dtd), "&e10;"


def quadratic(root, url):
    # no nesting, so no nesting limit trips: one 20 KB entity, 1,500 times
    dtd = '<!ENTITY big "%s">' % ("B" * 20000)
    return "<!DOCTYPE %s [%s]>" % (root, dtd), "&big;" * 1500


def external_entity(root, url):
    return ('<!DOCTYPE %s [<!ENTITY x SYSTEM "%s">]>' % (root, url),
            "&x;")


def parameter_entity(root, url):
    return ('<!DOCTYPE %s [<!ENTITY %% p SYSTEM "%s"> %%p;]>' % (root, url),
            "AAAA")


def external_dtd(root, url):
    return '<!DOCTYPE %s SYSTEM "%s">' % (root, url), "AAAA"


def xinclude(root, url):
    return "", ('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                'href="%s" parse="text"/>' % url)


ATTACKS = {
    "billion-laughs": billion_laughs,
    "quadratic": quadratic,
    "external-entity": external_entity,
    "parameter-entity": parameter_entity,
    "external-dtd": external_dtd,
    "xinclude": xinclude,
}

# a byte-level search for "<!DOCTYPE" misses a UTF-16 document
ENCODINGS = {
    "utf-8": lambda s: s.encode("utf-8"),
    "utf-16le": lambda s: s.replace(
        '<?xml version="1.0"?>',
        '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16"),
    "utf-16be": lambda s: b"\xfe\xff" + s.replace(
        '<?xml version="1.0"?>',
        '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16-be"),
}


def xml_document(root, attack, url, encoding):
    prolog, ref = ATTACKS[attack](root, url)
    inner = XML_INNER[root].format(ref=ref)
    text = '<?xml version="1.0"?>%s<%s>%s</%s>' % (prolog, root, inner, root)
    return ENCODINGS[encoding](text)


class Listener:
    """A TCP port that counts the connections made to it: an http://
    reference that libxml2 fetched would show here."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connections(self):
        n = 0
        while select.select([self.sock], [], [], 0)[0]:
            try:
                self.sock.accept()[0].close()
            except BlockingIOError:
                break
            n += 1
        return n

    def close(self):
        self.sock.close()


def xml_state(gateway, op, c):
    """What a refused document must leave unchanged (XML canonicalized:
    a stored document is written back in libxml2's own spelling)."""

    if op == "acl":
        r = gateway.request("GET", "/" + c, query=[("restype", "container"),
                                                   ("comp", "acl")])
        return r.status, r.body
    if op == "service":
        r = gateway.request("GET", "/", query=[("restype", "service"),
                                               ("comp", "properties")])
        return r.status, ET.canonicalize(r.body)
    return gateway.request("HEAD", "/%s/xml-target" % c).status


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("attack", list(ATTACKS))
@pytest.mark.parametrize("op", list(XML_OPS))
def test_xml_attack_refused_fast(gateway, c, tmp_path, op, attack,
                                 encoding):
    method, path, query, root = XML_OPS[op]
    fifo = Fifo(tmp_path / "fifo")
    listener = Listener()
    before = xml_state(gateway, op, c)
    try:
        for url in ("file://" + fifo.path, fifo.path,
                    "http://127.0.0.1:%d/x.dtd" % listener.port):
            body = xml_document(root, attack, url, encoding)
            t = time.monotonic()
            r = gateway.request(method, path.format(c=c), query=query,
                                body=body, timeout=30)
            elapsed = time.monotonic() - t

            assert elapsed < FAST, "%s took %.1fs" % (attack, elapsed)
            if r.status == 202 and op == "service" and attack == "xinclude":
                # below the top level the service document is stored as
                # parsed, unprocessed: an inert xi:include element
                r = gateway.request("PUT", "/", query=query,
                                    body=before[1].encode())
                assert r.status == 202, r
                continue
            assert_azure_error(r, 400)
            assert r.error_code in ("InvalidXmlDocument",
                                    "InvalidXmlNodeValue"), r
            assert not fifo.opened(), "the gateway opened " + url
            assert listener.connections() == 0, "the gateway fetched " + url
    finally:
        fifo.remove()
        listener.close()

    assert xml_state(gateway, op, c) == before


@pytest.mark.parametrize("op", ["acl", "service"])
def test_xml_doctype_alone_refused(gateway, c, op):
    """A DOCTYPE with nothing in it is refused too: no document Azure
    defines has one, so none is let through to be parsed."""

    method, path, query, root = XML_OPS[op]
    inner = XML_INNER[root].format(ref="1.0")
    for enc in ENCODINGS:
        body = ENCODINGS[enc]('<?xml version="1.0"?><!DOCTYPE %s><%s>%s</%s>'
                              % (root, root, inner, root))
        r = gateway.request(method, path.format(c=c), query=query, body=body)
        assert_azure_error(r, 400, "InvalidXmlDocument")


def test_xml_utf16_acl_without_doctype_accepted(gateway, c):
    """The refusal is of the DOCTYPE, not of UTF-16."""

    doc = ('<?xml version="1.0" encoding="UTF-16"?><SignedIdentifiers>'
           '<SignedIdentifier><Id>utf16-id</Id><AccessPolicy>'
           '<Permission>r</Permission></AccessPolicy></SignedIdentifier>'
           '</SignedIdentifiers>')
    q = [("restype", "container"), ("comp", "acl")]
    r = gateway.request("PUT", "/" + c, query=q, body=doc.encode("utf-16"))
    assert r.status == 200, r
    r = gateway.request("GET", "/" + c, query=q)
    assert b"<Id>utf16-id</Id>" in r.body, r


# --- headers past nginx's buffers ------------------------------------------
#
# large_client_header_buffers (4 x 8k here, 8 x 32k in conf.d) bounds one
# header line and all of them; nginx refuses more before any module runs,
# and blob_refused (error_page 400 414 494) turns that into Azure's XML.

def test_header_line_64k(gateway, c):
    r = raw(gateway, "GET", "/%s/x" % c,
            headers=[("x-ms-meta-big", "a" * 65536)])
    assert_azure_error(r, 400)
    assert r.headers.get("connection") == "close", r


def test_header_line_64k_on_put_writes_nothing(gateway, c):
    r = raw(gateway, "PUT", "/%s/big-header" % c,
            headers=[("x-ms-blob-type", "BlockBlob"),
                     ("x-ms-meta-big", "a" * 65536)], body=b"x")
    assert_azure_error(r, 400)
    assert not (gateway.root / c / "big-header").exists()


def test_thousands_of_metadata_headers(gateway, c):
    headers = [("x-ms-blob-type", "BlockBlob")]
    headers += [("x-ms-meta-k%d" % i, "v" * 20) for i in range(3000)]
    r = raw(gateway, "PUT", "/%s/many" % c, headers=headers, body=b"x")
    assert_azure_error(r, 400)
    assert not (gateway.root / c / "many").exists()


def test_metadata_in_buffers_but_over_8k(gateway, c):
    """Under nginx's limits, over Azure's: the module's own answer."""

    headers = [("x-ms-blob-type", "BlockBlob")]
    headers += [("x-ms-meta-k%d" % i, "v" * 60) for i in range(200)]
    r = raw(gateway, "PUT", "/%s/meta8k" % c, headers=headers, body=b"x")
    assert_azure_error(r, 400, "MetadataTooLarge")


def test_uri_64k(gateway, c):
    r = raw(gateway, "GET", "/%s/%s" % (c, "a" * 65536), sas=False)
    assert_azure_error(r, 414)


def test_query_64k(gateway, c):
    r = raw(gateway, "GET", "/" + c,
            query=[("restype", "container"), ("comp", "list"),
                   ("prefix", "p" * 65536)])
    assert_azure_error(r)


@pytest.mark.parametrize("headers", [
    [("Content-Length", "-1")],
    [("Content-Length", "abc")],
    [("Content-Length", "99999999999999999999999999")],
    [("Content-Length", "1"), ("Content-Length", "2")],
    [("Content-Length", "1"), ("Transfer-Encoding", "chunked")],
    [("Transfer-Encoding", "gzip, chunked")],
    [("Transfer-Encoding", "identity")],
], ids=["negative", "letters", "overflow", "twice", "cl-and-te",
        "te-gzip", "te-identity"])
def test_malformed_framing(gateway, c, headers):
    """Bodies whose length is ambiguous (request smuggling) are refused by
    nginx before the module, and the connection is not reused."""

    r = raw(gateway, "PUT", "/%s/framing" % c,
            headers=[("x-ms-blob-type", "BlockBlob")] + headers, body=b"x")
    assert r.status in (400, 411, 501), r
    assert r.headers.get("connection") == "close", r
    assert not (gateway.root / c / "framing").exists()


# --- bodies past the limits ------------------------------------------------

def send_headers_only(gateway, method, path, query, headers):
    """Sends a request's headers and no body: the answer must come anyway
    (the limit is judged on Content-Length, not on what was read)."""

    r, s = raw(gateway, method, path, query=query, headers=headers,
               timeout=FAST, keep=True)
    s.close()
    return r


@pytest.mark.parametrize("length", [5000 * 1024 * 1024 + 1, 2 ** 62])
def test_put_blob_over_limit_refused_before_body(gateway, c, length):
    t = time.monotonic()
    r = send_headers_only(gateway, "PUT", "/%s/huge" % c, [],
                          [("x-ms-blob-type", "BlockBlob"),
                           ("Content-Length", str(length))])
    assert time.monotonic() - t < FAST
    assert_azure_error(r, 413, "RequestBodyTooLarge")
    # a client still sending gigabytes is not read to the end
    assert r.headers.get("connection") == "close", r
    assert not (gateway.root / c / "huge").exists()


def test_put_blob_over_configured_limit(gateway_factory):
    g = gateway_factory(extra_conf="blob_max_put_blob_size 1m;")
    name = "lim" + uuid.uuid4().hex[:8]
    assert g.request("PUT", "/" + name,
                     query=[("restype", "container")]).status == 201
    r = send_headers_only(g, "PUT", "/%s/b" % name, [],
                          [("x-ms-blob-type", "BlockBlob"),
                           ("Content-Length", str(1024 * 1024 + 1))])
    assert_azure_error(r, 413, "RequestBodyTooLarge")
    r = g.request("PUT", "/%s/b" % name,
                  headers={"x-ms-blob-type": "BlockBlob"},
                  body=b"x" * (1024 * 1024))
    assert r.status == 201, r
    assert_up(g, name)


@pytest.mark.parametrize("op", list(XML_OPS))
def test_xml_body_content_length_over_limit(gateway, c, op):
    method, path, query, _ = XML_OPS[op]
    t = time.monotonic()
    r = send_headers_only(gateway, method, path.format(c=c), query,
                          [("Content-Length", str(2 ** 40))])
    assert time.monotonic() - t < FAST
    assert_azure_error(r, 413, "RequestBodyTooLarge")


def staging_files(gateway):
    return set(os.listdir(gateway.root / ".blob" / "tmp"))


@pytest.mark.parametrize("op", ["acl", "service"])
def test_endless_chunked_xml_body(gateway, c, op):
    """A chunked body has no length to judge up front: reading stops soon
    after the limit (64 KiB) instead of staging what never ends."""

    method, path, query, _ = XML_OPS[op]
    before = staging_files(gateway)
    q = "&".join("%s=%s" % kv for kv in query)
    sas = azsign.account_sas(gateway.account, gateway.key, "racwdl")
    s = socket.create_connection((gateway.host, gateway.port), 10)
    try:
        s.sendall(("%s /%s%s?%s&%s HTTP/1.1\r\nHost: x\r\n"
                   "x-ms-version: 2021-12-02\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n"
                   % (method, gateway.account, path.format(c=c), q, sas)
                   ).encode())
        chunk = b"<!-- " + b"x" * 16000 + b" -->"
        sent = 0
        while sent < 256 * 1024 * 1024:
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                break
            sent += len(chunk)
            if select.select([s], [], [], 0)[0]:
                break
        r = read_response(s, time.monotonic() + 10)
    finally:
        s.close()

    assert_azure_error(r, 413, "RequestBodyTooLarge")
    # what the kernel's socket buffers hold on top of what was read
    assert sent < 16 * 1024 * 1024, "%d bytes went in before the 413" % sent
    deadline = time.monotonic() + 5
    while staging_files(gateway) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not staging_files(gateway) - before


# --- malformed base64, dates, ranges ---------------------------------------

@pytest.mark.parametrize("sig", [
    "", "!!!!", "====", "YWJj\x00", "%%%", "a" * 4096,
    base64.b64encode(b"x" * 31).decode(),
], ids=["empty", "bang", "pads", "nul", "percent", "4k", "31-bytes"])
def test_sas_signature_malformed(gateway, c, sig):
    q = [(k, sig if k == "sig" else v) for k, v in sas_query(gateway)]
    r = gateway.request("GET", "/" + c,
                        query=[("restype", "container")] + q, sign=False)
    assert_azure_error(r, 403, "AuthenticationFailed")


@pytest.mark.parametrize("field,value", [
    ("expiry", "garbage"), ("expiry", "9999-99-99T99:99:99Z"),
    ("expiry", "2030-01-01T00:00:00+99:99"), ("expiry", "2030-01-01T"),
    ("start", "x"), ("start", "2020-13-45T25:61:61Z"),
    ("ip", "999.1.1.1"), ("ip", "1.1.1.1-"), ("ip", "1.1.1.1-2.2.2.2-3"),
    ("protocol", "gopher"), ("version", "9" * 200),
])
def test_sas_field_malformed(gateway, c, field, value):
    """Correctly signed, so that the field itself is what is judged."""

    sas = azsign.account_sas(gateway.account, gateway.key, "racwdl",
                             **{field: value})
    r = gateway.request("GET", "/%s?restype=container&%s" % (c, sas),
                        sign=False)
    assert_azure_error(r)
    assert r.status in (400, 403), r


@pytest.mark.parametrize("value", [
    "SharedKey devstoreaccount1:!!!!",
    "SharedKey devstoreaccount1:" + "A" * 4096,
    "SharedKey devstoreaccount1:",
    "SharedKey :" + base64.b64encode(b"x" * 32).decode(),
    "SharedKey " + "d" * 2000 + ":AAAA",
])
def test_shared_key_signature_malformed(gateway, c, value):
    r = gateway.request("GET", "/" + c, query=[("restype", "container")],
                        headers={"Authorization": value,
                                 "x-ms-date": azsign.http_date()})
    assert_azure_error(r)
    assert r.status in (400, 403), r


@pytest.mark.parametrize("date", [
    "garbage", "Mon, 32 Foo 2020 99:99:99 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT", "-1", "9" * 400, "Tue, 1 Jan 2030",
])
def test_x_ms_date_garbage(gateway, c, date):
    """Signed correctly, but over a date that is not a date or is out of
    the 15-minute window."""

    r = gateway.request("GET", "/" + c, query=[("restype", "container")],
                        headers={"x-ms-date": date})
    assert_azure_error(r, 403, "AuthenticationFailed")


@pytest.mark.parametrize("header", ["If-Modified-Since",
                                    "If-Unmodified-Since"])
@pytest.mark.parametrize("date", [
    "garbage", "", "Mon, 32 Foo 2020 99:99:99 GMT", "-1", "9" * 400,
    "Sun, 06 Nov",
])
def test_conditional_date_garbage_ignored(gateway, c, header, date):
    """HTTP/1.1, which Azure follows for conditional headers: a date that
    is not a date is ignored (the request is served as without it)."""

    path = "/%s/cond" % c
    r = gateway.request("PUT", path, headers={"x-ms-blob-type": "BlockBlob",
                                              header: date}, body=b"0123")
    assert r.status == 201, r
    r = gateway.request("GET", path, headers={header: date})
    assert r.status == 200 and r.body == b"0123", r


@pytest.mark.parametrize("value", [
    "bytes=99999999999999999999999-", "bytes=0-99999999999999999999999",
    "bytes=18446744073709551615-", "bytes=-9223372036854775808",
    "bytes=9223372036854775807-9223372036854775806", "bytes=--1",
    "bytes=-", "bytes=a-b", "bytes=0-1\t", "bytes=0x10-0x20",
    "bytes=" + "1" * 4000 + "-",
])
def test_x_ms_range_malformed(gateway, c, value):
    path = "/%s/range" % c
    assert gateway.request("PUT", path,
                           headers={"x-ms-blob-type": "BlockBlob"},
                           body=b"0123456789").status == 201
    r = gateway.request("GET", path, headers={"x-ms-range": value})
    assert_azure_error(r, 400, "InvalidHeaderValue")


@pytest.mark.parametrize("value", [
    "bytes=99999999999999999999999-", "bytes=0-99999999999999999999999",
    "bytes=18446744073709551615-", "bytes=-9223372036854775808",
    "bytes=a-b", "bytes=" + "1" * 4000 + "-",
])
def test_range_malformed_is_whole_blob(gateway, c, value):
    """Range (the standard header) that is not one is ignored, as HTTP
    says; never a 5xx nor a short body."""

    path = "/%s/range" % c
    assert gateway.request("PUT", path,
                           headers={"x-ms-blob-type": "BlockBlob"},
                           body=b"0123456789").status == 201
    r = gateway.request("GET", path, headers={"Range": value})
    assert r.status == 200 and r.body == b"0123456789", r


def test_range_at_off_t_max(gateway, c):
    path = "/%s/range" % c
    assert gateway.request("PUT", path,
                           headers={"x-ms-blob-type": "BlockBlob"},
                           body=b"0123456789").status == 201
    r = gateway.request("GET", path, headers={
        "x-ms-range": "bytes=9223372036854775807-9223372036854775807"})
    assert_azure_error(r, 416, "InvalidRange")
    r = gateway.request("GET", path,
                        headers={"x-ms-range": "bytes=0-9223372036854775807"})
    assert r.status == 206 and r.body == b"0123456789", r


# --- header injection through stored values --------------------------------
#
# Metadata and content properties are stored and later sent back as
# response headers: whatever goes in must not be able to add a header or
# break a response, and must not be silently lost.

def put_raw_header(gateway, c, name, value, blob="inj"):
    return raw(gateway, "PUT", "/%s/%s" % (c, blob),
               headers=[("x-ms-blob-type", "BlockBlob"), (name, value)],
               body=b"x")


def no_injected_header(r):
    for name, value in r.headers.items():
        assert name.lower() not in ("set-cookie", "x-injected"), r
        assert "\r" not in value and "\n" not in value, r


@pytest.mark.parametrize("value", [
    b"a\rSet-Cookie: evil=1", b"a\r\x00", b"a\x00b", b"a\r b",
], ids=["cr", "cr-nul", "nul", "cr-space"])
def test_metadata_cr_nul_refused(gateway, c, value):
    """A bare CR or a NUL in a header is malformed HTTP: nginx refuses it
    (Azure's error via blob_refused) and nothing is stored."""

    r = put_raw_header(gateway, c, "x-ms-meta-m", value)
    assert_azure_error(r, 400)
    no_injected_header(r)
    assert not (gateway.root / c / "inj").exists()


@pytest.mark.parametrize("value", [b"a\nSet-Cookie: evil=1",
                                   b"a\r\nX-Injected: 1"],
                         ids=["lf", "crlf"])
def test_metadata_line_break_is_a_new_request_header(gateway, c, value):
    """A line break ends the header (HTTP framing, the same for every
    server): what follows is another request header, never part of the
    value, so no stored value can carry a line break back out."""

    r = put_raw_header(gateway, c, "x-ms-meta-m", value)
    no_injected_header(r)
    if r.status == 201:
        h = gateway.request("HEAD", "/%s/inj" % c)
        assert h.headers.get("x-ms-meta-m") == "a", h
        no_injected_header(h)
    else:
        assert_azure_error(r, 400)


@pytest.mark.parametrize("value", [
    b"a\x01b", b"a\x7fb", b"\x1b[2J", b"a\tb\x0b", "\u00e9".encode(),
    b"\xe9", b"\xff\xfe", b"\xc0\xaf",
], ids=["soh", "del", "escape", "vt", "utf8", "latin1", "ff-fe",
        "overlong"])
def test_metadata_value_not_ascii_refused(gateway, c, value):
    r = put_raw_header(gateway, c, "x-ms-meta-m", value)
    assert_azure_error(r, 400, "InvalidMetadata")
    assert not (gateway.root / c / "inj").exists()


@pytest.mark.parametrize("op", ["set-blob-metadata", "create-container",
                                "set-container-metadata"])
def test_metadata_control_char_refused_everywhere(gateway, c, op):
    assert gateway.request("PUT", "/%s/meta" % c,
                           headers={"x-ms-blob-type": "BlockBlob"},
                           body=b"x").status == 201
    if op == "set-blob-metadata":
        path, query = "/%s/meta" % c, [("comp", "metadata")]
    elif op == "create-container":
        path, query = "/c" + uuid.uuid4().hex[:12], [("restype",
                                                      "container")]
    else:
        path, query = "/" + c, [("restype", "container"),
                                ("comp", "metadata")]
    r = raw(gateway, "PUT", path, query=query,
            headers=[("x-ms-meta-m", b"a\x01b")])
    assert_azure_error(r, 400, "InvalidMetadata")


CONTENT_HEADERS = ["x-ms-blob-content-type", "x-ms-blob-content-encoding",
                   "x-ms-blob-content-language",
                   "x-ms-blob-content-disposition",
                   "x-ms-blob-cache-control", "Content-Type"]


@pytest.mark.parametrize("value", [b"a\x01b", b"a\x7fb", b"\x1b[31m",
                                   b"\xe9", b"\xc3", b"\xed\xa0\x80"],
                         ids=["soh", "del", "escape", "latin1",
                              "truncated-utf8", "surrogate"])
@pytest.mark.parametrize("header", CONTENT_HEADERS)
def test_content_property_refused(gateway, c, header, value):
    """Stored in JSON (UTF-8 only) and sent back as a response header: a
    value that is not UTF-8 text would vanish after a 201, a control
    character would make strict clients (Node) refuse every response that
    carries it."""

    r = put_raw_header(gateway, c, header, value)
    assert_azure_error(r, 400, "InvalidHeaderValue")
    assert not (gateway.root / c / "inj").exists()


@pytest.mark.parametrize("header", CONTENT_HEADERS[:5])
def test_content_property_refused_on_commit_and_set(gateway, c, header):
    blob = "/%s/props" % c
    bid = base64.b64encode(b"blk-0").decode()
    assert gateway.request("PUT", blob, query=[("comp", "block"),
                                               ("blockid", bid)],
                           body=b"x").status == 201
    body = b"<BlockList><Latest>%s</Latest></BlockList>" % bid.encode()
    r = raw(gateway, "PUT", blob, query=[("comp", "blocklist")],
            headers=[(header, b"a\x01b")], body=body)
    assert_azure_error(r, 400, "InvalidHeaderValue")
    assert gateway.request("PUT", blob, query=[("comp", "blocklist")],
                           body=body).status == 201
    r = raw(gateway, "PUT", blob, query=[("comp", "properties")],
            headers=[(header, b"\xe9")])
    assert_azure_error(r, 400, "InvalidHeaderValue")


@pytest.mark.parametrize("header", CONTENT_HEADERS[:5])
def test_content_property_utf8_round_trips(gateway, c, header):
    value = "caf\u00e9 \u2603 \"q\" <x>&amp; \\"
    r = put_raw_header(gateway, c, header, value.encode())
    assert r.status == 201, r
    h = raw(gateway, "HEAD", "/%s/inj" % c)
    sent_back = {
        "x-ms-blob-content-type": "Content-Type",
        "x-ms-blob-content-encoding": "Content-Encoding",
        "x-ms-blob-content-language": "Content-Language",
        "x-ms-blob-content-disposition": "Content-Disposition",
        "x-ms-blob-cache-control": "Cache-Control",
    }[header]
    got = h.headers.get(sent_back).encode("latin-1").decode("utf-8")
    assert got == value, h
    # and the listing stays a well-formed XML document
    r = gateway.request("GET", "/" + c, query=[("restype", "container"),
                                               ("comp", "list")])
    assert r.status == 200, r
    r.xml()


def test_client_request_id_cannot_split_response(gateway, c):
    """x-ms-client-request-id is echoed: a line break cannot get into it."""

    r = raw(gateway, "GET", "/" + c, query=[("restype", "container")],
            headers=[("x-ms-client-request-id", b"id\nSet-Cookie: evil=1")])
    no_injected_header(r)
    r = raw(gateway, "GET", "/" + c, query=[("restype", "container")],
            headers=[("x-ms-client-request-id", b"id\rSet-Cookie: evil=1")])
    assert_azure_error(r, 400)
    no_injected_header(r)


# --- the server is still whole ---------------------------------------------

def test_hostile_requests_concurrently(gateway, c, tmp_path):
    """All of the above at once, from several threads, with normal
    traffic in between: every normal request succeeds."""

    fifo = Fifo(tmp_path / "fifo")
    bad = [
        lambda: gateway.request(
            "PUT", "/" + c, query=[("restype", "container"),
                                   ("comp", "acl")],
            body=xml_document("SignedIdentifiers", "billion-laughs",
                              "file://" + fifo.path, "utf-16le")),
        lambda: gateway.request(
            "PUT", "/%s/x" % c, query=[("comp", "blocklist")],
            body=xml_document("BlockList", "external-entity",
                              "file://" + fifo.path, "utf-8")),
        lambda: raw(gateway, "GET", "/%s/x" % c,
                    headers=[("x-ms-meta-big", "a" * 65536)]),
        lambda: send_headers_only(gateway, "PUT", "/%s/huge" % c, [],
                                  [("x-ms-blob-type", "BlockBlob"),
                                   ("Content-Length", str(2 ** 62))]),
        lambda: put_raw_header(gateway, c, "x-ms-meta-m", b"a\x00b"),
        lambda: put_raw_header(gateway, c, "x-ms-blob-content-type",
                               b"\xe9"),
    ]
    errors = []

    def hostile(i):
        for n in range(20):
            try:
                r = bad[(i + n) % len(bad)]()
                assert r is not None and 400 <= r.status < 500, r
            except Exception as e:      # collected, not lost in a thread
                errors.append(repr(e))

    def normal(i):
        for n in range(20):
            path = "/%s/n%d-%d" % (c, i, n)
            body = os.urandom(1000)
            try:
                r = gateway.request("PUT", path, headers={
                    "x-ms-blob-type": "BlockBlob"}, body=body)
                assert r.status == 201, r
                r = gateway.request("GET", path)
                assert r.status == 200 and r.body == body, r
            except Exception as e:
                errors.append(repr(e))

    threads = [threading.Thread(target=hostile, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=normal, args=(i,)) for i in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        opened = fifo.opened()
        fifo.remove()
    assert not errors, errors[:5]
    assert not opened
