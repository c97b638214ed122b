#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets: fuzz/corpus/<target>/seed-*.

    /usr/bin/python3 fuzz/make_corpus.py

Deterministic: the same files every run (fixed dates, the development
key).  Only seed-* files are replaced; crash-* files (inputs that once
crashed a target, kept as regression tests) are left alone.

Shared Key requests are signed with t/lib/azsign.py at a fixed x-ms-date
(the harness sets its clock from that header); SAS tokens come from
azsign.py for each signed-version layout and from the Python SDK, valid
from 2024-05-01 to 2030-01-01 around the harness's default clock,
2024-06-01.
"""

import base64
import datetime
import os
import shutil
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "t", "lib"))

import azsign  # noqa: E402

ACCOUNT = "devstoreaccount1"
KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
       "K1SZFPTOtr/KBHBeksoGMGw==")
DATE = "Sat, 01 Jun 2024 00:00:00 GMT"
START = datetime.datetime(2024, 5, 1)
EXPIRY = datetime.datetime(2030, 1, 1)
HOST = "127.0.0.1:10000"
VHOST = ACCOUNT + ".blob.core.windows.net"


def q(v):
    return urllib.parse.quote(v, safe="")


def bid(n, width=8):
    return base64.b64encode(("%0*d" % (width, n)).encode()).decode()


def head(method, path, query=None, headers=None, host=HOST, raw_query=None):
    """An HTTP/1.1 request head; query: [(name, value)] to encode."""

    target = path
    if raw_query is not None:
        target += "?" + raw_query
    elif query:
        target += "?" + "&".join(n if v is None else "%s=%s" % (n, q(v))
                                 for n, v in query)
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + host]
    for name, value in (headers or {}).items():
        if isinstance(value, list):
            lines += ["%s: %s" % (name, v) for v in value]
        else:
            lines.append("%s: %s" % (name, value))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def signed(method, path, query=None, headers=None, host_style=False,
           lite=False, single_account=False):
    h = dict(headers or {})
    h.setdefault("x-ms-date", DATE)
    h.setdefault("x-ms-version", azsign.DEFAULT_VERSION)
    signed_path = path
    if host_style:
        signed_path = path
    out = azsign.shared_key_headers(ACCOUNT, KEY, method, signed_path,
                                    query=query, headers=h,
                                    host_style=host_style, lite=lite,
                                    single_account=single_account)
    return head(method, path, query, out,
                host=VHOST if host_style else HOST)


C = "/" + ACCOUNT + "/cont"
B = C + "/dir/b.txt"

# (method, path, query, headers): one of every operation of the table
OPERATIONS = [
    ("GET", "/" + ACCOUNT + "/", [("comp", "list"), ("prefix", "c"),
                                  ("maxresults", "2"),
                                  ("include", "metadata"),
                                  ("marker", "cont")], {}),
    ("GET", "/" + ACCOUNT, [("restype", "account"),
                            ("comp", "properties")], {}),
    ("HEAD", "/" + ACCOUNT + "/", [("restype", "account"),
                                   ("comp", "properties")], {}),
    ("GET", "/" + ACCOUNT + "/", [("restype", "service"),
                                  ("comp", "properties")], {}),
    ("PUT", "/" + ACCOUNT + "/", [("restype", "service"),
                                  ("comp", "properties")],
     {"Content-Length": "220", "Content-Type": "application/xml"}),
    ("PUT", C, [("restype", "container")],
     {"x-ms-meta-owner": "fuzz", "x-ms-blob-public-access": "container",
      "Content-Length": "0"}),
    ("GET", C, [("restype", "container")], {}),
    ("HEAD", C, [("restype", "container"), ("comp", "metadata")], {}),
    ("PUT", C, [("restype", "container"), ("comp", "metadata")],
     {"x-ms-meta-a": "b", "x-ms-meta-Other_Key": "v v",
      "If-Modified-Since": DATE}),
    ("GET", C, [("restype", "container"), ("comp", "acl")], {}),
    ("PUT", C, [("restype", "container"), ("comp", "acl")],
     {"Content-Length": "310", "x-ms-blob-public-access": "blob"}),
    ("DELETE", C, [("restype", "container")],
     {"x-ms-lease-id": "00000000-0000-0000-0000-000000000000"}),
    ("GET", C, [("restype", "container"), ("comp", "list"),
                ("prefix", "dir/"), ("delimiter", "/"),
                ("maxresults", "5000"),
                ("include", "metadata,uncommittedblobs")],
     {}),
    ("GET", C, [("restype", "container"), ("comp", "list"),
                ("marker", "dir/a"), ("include", "snapshots,metadata")], {}),
    ("PUT", B, None,
     {"x-ms-blob-type": "BlockBlob", "Content-Length": "11",
      "Content-Type": "text/plain; charset=utf-8",
      "Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww==",
      "x-ms-blob-content-disposition": "attachment; filename=b.txt",
      "x-ms-blob-cache-control": "no-cache",
      "x-ms-blob-content-language": "en", "x-ms-meta-k1": "v1",
      "If-None-Match": "*"}),
    ("PUT", B, None,
     {"x-ms-blob-type": "BlockBlob", "Transfer-Encoding": "chunked",
      "x-ms-content-crc64": "AAAAAAAAAAA="}),
    ("GET", B, None, {"Range": "bytes=0-99",
                      "If-Match": '"0x8DC81F6B0A3C4D5"'}),
    ("GET", B, None, {"x-ms-range": "bytes=5-",
                      "x-ms-range-get-content-md5": "true",
                      "If-Range": DATE}),
    ("HEAD", B, None, {"If-Unmodified-Since": DATE}),
    ("PUT", B, [("comp", "properties")],
     {"x-ms-blob-content-type": "application/json",
      "x-ms-blob-content-md5": "XrY7u+Ae7tCTyyK7j1rNww=="}),
    ("GET", B, [("comp", "metadata")], {}),
    ("PUT", B, [("comp", "metadata")], {"x-ms-meta-n": "1",
                                        "x-ms-meta-N2": "2"}),
    ("DELETE", B, None, {"x-ms-delete-snapshots": "include"}),
    ("PUT", B, [("comp", "block"), ("blockid", bid(1))],
     {"Content-Length": "4", "x-ms-content-crc64": "AAAAAAAAAAA="}),
    ("PUT", B, [("comp", "block"), ("blockid", bid(2, 48))],
     {"Content-Length": "4", "Content-MD5": "CY9rzUYh03PK3k6DJie09g=="}),
    ("PUT", B, [("comp", "blocklist")],
     {"Content-Length": "120", "x-ms-blob-content-type": "text/plain",
      "x-ms-meta-a": "b", "If-Match": "*"}),
    ("GET", B, [("comp", "blocklist"), ("blocklisttype", "all")], {}),
    ("GET", B, [("comp", "blocklist"), ("blocklisttype", "committed"),
                ("snapshot", "2024-05-01T00:00:00.0000000Z")], {}),
    ("PUT", B, [("comp", "page")], {"x-ms-page-write": "update"}),
    ("PUT", B, [("comp", "appendblock")], {"Content-Length": "1"}),
    ("PUT", B, [("comp", "seal")], {}),
    ("GET", B, [("comp", "pagelist")], {}),
    ("GET", B, [("timeout", "30")], {"x-ms-client-request-id": "abc-123"}),
]

# names that must be refused (docs/LAYOUT.md), and names that must not
NAMES = [
    C + "/../x", C + "/%2e%2e/x", C + "/a%2F..%2Fb", C + "/a/%2E/b",
    C + "//a", C + "/a//b", C + "/a/", C + "/%00", C + "/a%0", C + "/a%zz",
    C + "/a%2", "/" + ACCOUNT + "/Cont/a", "/" + ACCOUNT + "/co/a",
    "/" + ACCOUNT + "/c--t/a", "/" + ACCOUNT + "/-ct/a",
    "/" + ACCOUNT + "/" + "c" * 64 + "/a", C + "/a\\b", C + "/..",
    C + "/%E2%98%83/snow", C + "/" + "s" * 255 + "/x",
    C + "/" + "s" * 256, C + "/" + "/".join(["d"] * 512),
    C + "/a%2Fb", C + "/a+b", C + "/sp%20ace", C + "/%25", C + "/q%3Fx",
    "/otheraccount/cont/b", "/", "/" + ACCOUNT, "//" + ACCOUNT + "/cont",
]


def dispatch_seeds():
    seeds = {}
    for i, (m, p, qy, h) in enumerate(OPERATIONS):
        seeds["op%02d" % i] = head(m, p, qy, h)
        seeds["op%02d-signed" % i] = signed(m, p, qy, h)
    for i, p in enumerate(NAMES):
        seeds["name%02d" % i] = head("GET", p)
    seeds["vhost"] = head("GET", "/cont/dir/b.txt", host=VHOST)
    seeds["vhost-list"] = head("GET", "/", [("comp", "list")], host=VHOST)
    seeds["vhost-port"] = head("PUT", "/cont", [("restype", "container")],
                               host=VHOST.upper() + ":443")
    seeds["absolute"] = (b"GET http://" + VHOST.encode() +
                         b"/cont/b?comp=metadata HTTP/1.1\r\nHost: x\r\n\r\n")
    seeds["plus"] = head("GET", C, raw_query="restype=container&comp=list"
                                             "&prefix=a+b%2Bc")
    seeds["repeat"] = head("GET", C, raw_query="&&restype=container&comp=list"
                                               "&comp=list&include=&x")
    seeds["noeq"] = head("GET", C, raw_query="restype&comp")
    seeds["method"] = head("POST", B, [("comp", "block")])
    seeds["options"] = head("OPTIONS", B)
    seeds["http10"] = b"GET /devstoreaccount1/cont/b HTTP/1.0\r\n\r\n"
    seeds["real-auth"] = head("GET", B, None, {"fuzz-auth": "real"})
    seeds["anon"] = head("GET", B, None, {"fuzz-auth": "real",
                                          "x-ms-version": "2021-12-02"})
    seeds["meta-bad"] = head("PUT", B, None, {"x-ms-blob-type": "BlockBlob",
                                              "Content-Length": "1",
                                              "x-ms-meta-1a": "x",
                                              "x-ms-meta-": "y"})
    seeds["blockid-bad"] = head("PUT", B, raw_query="comp=block&blockid=QQ%3D")
    seeds["blockid-long"] = head("PUT", B, [("comp", "block"),
                                            ("blockid", bid(1, 65))],
                                 {"Content-Length": "1"})
    seeds["list-bad"] = head("GET", C, [("restype", "container"),
                                        ("comp", "list"),
                                        ("maxresults", "-1"),
                                        ("include", "bogus")])
    return seeds


SDK_ORDER = ("-!#$%&*.^_|~+\"'(),/`~0123456789:;<=>?@"
             "ABCDEFGHIJKLMNOPQRSTUVWXYZ[]abcdefghijklmnopqrstuvwxyz{}")


def sdk_canonicalized_headers(headers):
    merged = {}
    for name, value in headers.items():
        n = name.lower()
        if n.startswith("x-ms-") and value is not None:
            merged.setdefault(n, []).append(azsign._fold(value))
    names = sorted(merged, key=lambda w: [SDK_ORDER.index(c) for c in w])
    return "".join("%s:%s\n" % (n, ",".join(merged[n])) for n in names)


def shared_key_seeds():
    seeds = {}
    for i, (m, p, qy, h) in enumerate(OPERATIONS):
        seeds["op%02d" % i] = signed(m, p, qy, h)
        seeds["op%02d-lite" % i] = signed(m, p, qy, h, lite=True)
    vp = "/cont/dir/b.txt"
    seeds["vhost"] = signed("GET", vp, host_style=True)
    seeds["vhost-lite"] = signed("PUT", "/cont", [("restype", "container"),
                                                  ("comp", "metadata")],
                                 {"x-ms-meta-a": "1"}, host_style=True,
                                 lite=True)
    seeds["single"] = signed("GET", B, single_account=True)
    seeds["fold"] = signed("PUT", B, None,
                           {"x-ms-blob-type": "BlockBlob",
                            "Content-Length": "3",
                            "x-ms-meta-spaces": "a   b    c",
                            "x-ms-client-request-id": "a \t b  "})
    # the service's header order, which the SDKs emulate ('_' before the
    # digits) and azsign.py does not (byte order)
    plain = azsign.canonicalized_headers
    azsign.canonicalized_headers = sdk_canonicalized_headers
    seeds["order"] = signed("PUT", B, [("comp", "metadata")],
                            {"x-ms-meta-a_b": "1", "x-ms-meta-ab": "2",
                             "x-ms-meta-A0": "3", "x-ms-meta-Cd": "4"})
    azsign.canonicalized_headers = plain
    seeds["cl0-old"] = signed("PUT", C, [("restype", "container")],
                              {"Content-Length": "0",
                               "x-ms-version": "2014-02-14"})
    seeds["cl0-new"] = signed("PUT", C, [("restype", "container")],
                              {"Content-Length": "0"})
    seeds["query"] = signed("GET", C, [("restype", "container"),
                                       ("comp", "list"), ("prefix", "a b/c"),
                                       ("include", "metadata"),
                                       ("include", "snapshots"),
                                       ("MaxResults", "3")])
    seeds["date"] = signed("GET", B, None, {"Date": DATE,
                                            "x-ms-date": DATE})
    seeds["dup"] = head("GET", B, None,
                        {"x-ms-date": DATE, "x-ms-meta-d": ["1", "2"],
                         "Authorization": "SharedKey %s:AAAA" % ACCOUNT})
    seeds["bad-account"] = head("GET", B, None,
                                {"x-ms-date": DATE,
                                 "Authorization": "SharedKey other:QUJD"})
    seeds["bad-format"] = head("GET", B, None,
                               {"x-ms-date": DATE,
                                "Authorization": "SharedKey nocolon"})
    seeds["bad-scheme"] = head("GET", B, None, {"Authorization": "Bearer x"})
    seeds["old"] = head("GET", B, None,
                        {"x-ms-date": DATE, "fuzz-clock": "1917200000",
                         "Authorization": "SharedKey %s:QUJD" % ACCOUNT})
    seeds["nodate"] = head("GET", B, None,
                           {"Authorization": "SharedKey %s:QUJD" % ACCOUNT})
    return seeds


SAS_VERSIONS = ["2015-04-05", "2017-11-09", "2018-11-09", "2019-12-12",
                "2020-12-06", "2021-12-02", "2025-01-05"]


def sas_seeds():
    seeds = {}
    blob = "dir/b.txt"

    def req(m, p, token, headers=None, extra=""):
        return head(m, p, raw_query=token + extra, headers=headers)

    for v in SAS_VERSIONS:
        acc = azsign.account_sas(ACCOUNT, KEY, "rwdlac", "b", "sco",
                                 expiry=EXPIRY, start=START, version=v)
        seeds["account-%s-list" % v] = req("GET", "/" + ACCOUNT + "/",
                                           acc, extra="&comp=list")
        seeds["account-%s-put" % v] = req("PUT", B, acc,
                                          {"x-ms-blob-type": "BlockBlob",
                                           "Content-Length": "3"})
        svc = azsign.service_sas(ACCOUNT, KEY, "cont", blob, "rcw",
                                 expiry=EXPIRY, start=START, version=v,
                                 cache_control="no-cache",
                                 content_type="text/plain")
        seeds["service-%s-get" % v] = req("GET", B, svc)
        cont = azsign.service_sas(ACCOUNT, KEY, "cont", None, "rl",
                                  expiry=EXPIRY, version=v)
        seeds["container-%s-list" % v] = req(
            "GET", C, cont, extra="&restype=container&comp=list")

    snap = "2024-05-01T00:00:00.0000000Z"
    tok = azsign.service_sas(ACCOUNT, KEY, "cont", blob, "r", expiry=EXPIRY,
                             snapshot=snap)
    seeds["snapshot"] = req("GET", B, tok, extra="&snapshot=" + q(snap))
    tok = azsign.account_sas(ACCOUNT, KEY, "r", "bqt", "o", expiry=EXPIRY,
                             ip="127.0.0.0-127.255.255.255",
                             protocol="https,http")
    seeds["ip-range"] = req("GET", B, tok)
    tok = azsign.account_sas(ACCOUNT, KEY, "r", "b", "o", expiry=EXPIRY,
                             ip="10.0.0.1", protocol="https")
    seeds["ip-https"] = req("GET", B, tok)
    tok = azsign.service_sas(ACCOUNT, KEY, "cont", blob, "r", expiry=EXPIRY,
                             content_disposition="attachment",
                             content_encoding="gzip",
                             content_language="de",
                             encryption_scope="scope1")
    seeds["overrides"] = req("GET", B, tok)
    tok = azsign.service_sas(ACCOUNT, KEY, "cont", blob, "r", expiry=EXPIRY,
                             identifier="policy1")
    seeds["policy"] = req("GET", B, tok)
    tok = azsign.account_sas(ACCOUNT, KEY, "r", "b", "sco",
                             expiry="2024-05-31", start="2024-05-01T00:00Z")
    seeds["expired-short"] = req("GET", B, tok)
    tok = azsign.account_sas(ACCOUNT, KEY, "r", "b", "sco",
                             expiry="2029-12-31T23:59:59.1234567Z")
    seeds["fraction"] = req("GET", B, tok)
    seeds["delegation"] = req("GET", B, "sv=2021-12-02&sr=b&sp=r&se=2030-01-"
                              "01&skoid=x&sktid=y&sig=QUJD")
    seeds["old-version"] = req("GET", B, "sv=2013-08-15&sr=b&sp=r&se=2030-"
                               "01-01&sig=QUJD")
    seeds["plus-sig"] = req("GET", B, "sv=2021-12-02&ss=b&srt=o&sp=r&se=2030"
                            "-01-01T00:00:00Z&sig=a+b/c==")
    seeds["no-sig"] = req("GET", B, "sv=2021-12-02&ss=b&srt=o&sp=r")
    seeds["bad-time"] = req("GET", B, "sv=2021-12-02&ss=b&srt=o&sp=r&se=2030"
                            "-02-30T25:61:61Z&st=1969-12-31&sig=QUJD")

    # the Python SDK's own tokens (field order and encoding as it sends)
    from azure.storage.blob import (AccountSasPermissions,
                                    BlobSasPermissions,
                                    ContainerSasPermissions, ResourceTypes,
                                    generate_account_sas, generate_blob_sas,
                                    generate_container_sas)
    tok = generate_account_sas(ACCOUNT, KEY,
                               ResourceTypes(service=True, container=True,
                                             object=True),
                               AccountSasPermissions(read=True, write=True,
                                                     list=True, create=True),
                               expiry=EXPIRY, start=START)
    seeds["sdk-account"] = req("GET", C, tok,
                               extra="&restype=container&comp=list")
    tok = generate_container_sas(ACCOUNT, "cont", account_key=KEY,
                                 permission=ContainerSasPermissions(
                                     read=True, list=True),
                                 expiry=EXPIRY)
    seeds["sdk-container"] = req("GET", C, tok,
                                 extra="&restype=container&comp=list")
    tok = generate_blob_sas(ACCOUNT, "cont", blob, account_key=KEY,
                            permission=BlobSasPermissions(read=True),
                            expiry=EXPIRY, ip="127.0.0.1",
                            content_type="text/plain")
    seeds["sdk-blob"] = req("GET", B, tok)
    return seeds


def block_list_seeds():
    decl = b'<?xml version="1.0" encoding="utf-8"?>'

    def doc(*items):
        return (decl + b"<BlockList>" +
                b"".join(b"<%s>%s</%s>" % (t.encode(), i.encode(), t.encode())
                         for t, i in items) + b"</BlockList>")

    seeds = {
        "latest": doc(*[("Latest", bid(n)) for n in range(3)]),
        "mixed": doc(("Committed", bid(0)), ("Uncommitted", bid(1)),
                     ("Latest", bid(2))),
        "indented": (decl + b"\n<BlockList>\n  <Latest>  " +
                     bid(7).encode() + b"  </Latest>\r\n\t<Committed>\n" +
                     bid(8).encode() + b"\n</Committed>\n</BlockList>\n"),
        "empty": decl + b"<BlockList />",
        "noheader": b"<BlockList><Latest>" + bid(1).encode() +
                    b"</Latest></BlockList>",
        "long-id": doc(("Latest", bid(1, 64)), ("Latest", bid(2, 65))),
        "bad-b64": doc(("Latest", "QQ"), ("Latest", "QR=="),
                       ("Latest", "!!!!")),
        "cdata": (decl + b"<BlockList><Latest><![CDATA[" + bid(3).encode() +
                  b"]]></Latest></BlockList>"),
        "comment-pi": (decl + b"<!-- c --><BlockList><?pi x?><Latest>" +
                       bid(4).encode() + b"<!--x--></Latest></BlockList>"),
        "namespace": (decl + b'<b:BlockList xmlns:b="urn:x"><b:Latest>' +
                      bid(5).encode() + b"</b:Latest></b:BlockList>"),
        "attr": (decl + b'<BlockList a="1"><Latest x="y">' +
                 bid(6).encode() + b"</Latest></BlockList>"),
        "nested": doc(("Latest", "<Latest>" + bid(1) + "</Latest>")),
        "unknown": doc(("Block", bid(1))),
        "text": decl + b"<BlockList>junk<Latest>" + bid(1).encode() +
                b"</Latest></BlockList>",
        "billion-laughs": (b'<?xml version="1.0"?><!DOCTYPE lolz [' +
                           b'<!ENTITY lol "lol">' +
                           b"".join(b'<!ENTITY lol%d "%s">' %
                                    (i, (b"&lol%d;" % (i - 1) if i > 1
                                         else b"&lol;") * 10)
                                    for i in range(1, 10)) +
                           b"]><BlockList><Latest>&lol9;</Latest>"
                           b"</BlockList>"),
        "xxe-file": (b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY x SYSTEM '
                     b'"file:///etc/passwd">]><BlockList><Latest>&x;'
                     b"</Latest></BlockList>"),
        "xxe-http": (b'<?xml version="1.0"?><!DOCTYPE b SYSTEM '
                     b'"http://127.0.0.1:1/x.dtd"><BlockList/>'),
        "param-entity": (b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY % p '
                         b'SYSTEM "file:///etc/hostname"> %p;]><BlockList/>'),
        "xinclude": (b'<BlockList xmlns:xi="http://www.w3.org/2001/XInclude">'
                     b'<xi:include href="file:///etc/passwd" parse="text"/>'
                     b"</BlockList>"),
        "charref": doc(("Latest", "&#77;&#68;&#65;&#119;&#77;&#68;&#65;"
                                  "&#119;&#77;&#68;&#65;&#120;")),
        "predef": doc(("Latest", "&amp;&lt;")),
        "utf16": ('<?xml version="1.0" encoding="utf-16"?><BlockList>'
                  '<Latest>' + bid(1) + '</Latest></BlockList>'
                  ).encode("utf-16"),
        "latin1": (b'<?xml version="1.0" encoding="iso-8859-1"?><BlockList>'
                   b"<Latest>\xe9</Latest></BlockList>"),
        "two-roots": doc(("Latest", bid(1))) + b"<BlockList/>",
        "truncated": doc(("Latest", bid(1)))[:-5],
        "deep": b"<BlockList>" + b"<a>" * 300 + b"</a>" * 300 +
                b"</BlockList>",
        "many": doc(*[("Latest", bid(n)) for n in range(200)]),
    }

    out = {}
    for name, body in seeds.items():
        out[name] = b"\x00" + body
    for mode in (1, 3, 7, 64):
        out["latest-chunk%d" % mode] = bytes([mode]) + seeds["latest"]
        out["laughs-chunk%d" % mode] = bytes([mode]) + seeds["billion-laughs"]
        out["indented-chunk%d" % mode] = bytes([mode]) + seeds["indented"]
    out["limit"] = b"\xff" + seeds["latest"]
    return out


def xml_body_seeds():
    decl = b'<?xml version="1.0" encoding="utf-8"?>'

    def ident(i, start="2024-05-01T00:00:00.0000000Z",
              expiry="2030-01-01T00:00:00.0000000Z", perm="rwdl"):
        return ("<SignedIdentifier><Id>%s</Id><AccessPolicy><Start>%s"
                "</Start><Expiry>%s</Expiry><Permission>%s</Permission>"
                "</AccessPolicy></SignedIdentifier>"
                % (i, start, expiry, perm)).encode()

    def acl(*ids):
        return decl + b"<SignedIdentifiers>" + b"".join(ids) + \
            b"</SignedIdentifiers>"

    laughs = (b'<!DOCTYPE SignedIdentifiers [<!ENTITY a "aaaaaaaaaa">' +
              b"".join(b'<!ENTITY a%d "%s">' % (i, (b"&a%d;" % (i - 1)
                                                    if i > 1 else b"&a;")
                                               * 10) for i in range(1, 9)) +
              b"]>")
    acls = {
        "acl-one": acl(ident("policy1")),
        "acl-five": acl(*[ident("p%d" % i) for i in range(5)]),
        "acl-six": acl(*[ident("p%d" % i) for i in range(6)]),
        "acl-empty": decl + b"<SignedIdentifiers />",
        "acl-noap": acl(b"<SignedIdentifier><Id>x</Id></SignedIdentifier>"),
        "acl-partial": acl(b"<SignedIdentifier><Id>x</Id><AccessPolicy>"
                           b"<Permission>r</Permission></AccessPolicy>"
                           b"</SignedIdentifier>"),
        "acl-longid": acl(ident("i" * 65)),
        "acl-id64": acl(ident("i" * 64)),
        "acl-escape": acl(ident("a&amp;b&lt;c&gt;&quot;&#233;",
                                perm="r&#x77;")),
        "acl-cdata": acl(b"<SignedIdentifier><Id><![CDATA[<x>]]></Id>"
                         b"</SignedIdentifier>"),
        "acl-unknown": acl(b"<SignedIdentifier><Id>x</Id><Bogus/>"
                           b"</SignedIdentifier>"),
        "acl-ns": (b'<SignedIdentifiers xmlns="urn:x" xmlns:p="urn:p">'
                   b"<SignedIdentifier><p:Id>x</p:Id></SignedIdentifier>"
                   b"</SignedIdentifiers>"),
        "acl-laughs": b'<?xml version="1.0"?>' + laughs +
                      b"<SignedIdentifiers><SignedIdentifier><Id>&a8;"
                      b"</Id></SignedIdentifier></SignedIdentifiers>",
        "acl-utf16-doctype": ('<?xml version="1.0" encoding="utf-16"?>'
                              '<!DOCTYPE SignedIdentifiers [<!ENTITY x '
                              'SYSTEM "file:///etc/passwd">]>'
                              "<SignedIdentifiers><SignedIdentifier><Id>&x;"
                              "</Id></SignedIdentifier></SignedIdentifiers>"
                              ).encode("utf-16"),
        "acl-nul-doctype": b"<!--\x00-->" + laughs +
                           b"<SignedIdentifiers/>",
        "acl-comment": acl(b"<!-- c --><SignedIdentifier><?pi?><Id>x<!--y-->"
                           b"z</Id></SignedIdentifier>"),
    }

    full = (b"<StorageServiceProperties><Logging><Version>1.0</Version>"
            b"<Delete>true</Delete><Read>false</Read><Write>true</Write>"
            b"<RetentionPolicy><Enabled>true</Enabled><Days>7</Days>"
            b"</RetentionPolicy></Logging><HourMetrics><Version>1.0</Version>"
            b"<Enabled>true</Enabled><IncludeAPIs>false</IncludeAPIs>"
            b"<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>"
            b"</HourMetrics><MinuteMetrics><Version>1.0</Version>"
            b"<Enabled>false</Enabled><RetentionPolicy><Enabled>false"
            b"</Enabled></RetentionPolicy></MinuteMetrics><Cors><CorsRule>"
            b"<AllowedOrigins>http://a.example,https://b.example"
            b"</AllowedOrigins><AllowedMethods>GET,PUT</AllowedMethods>"
            b"<MaxAgeInSeconds>500</MaxAgeInSeconds><ExposedHeaders>"
            b"x-ms-meta-*</ExposedHeaders><AllowedHeaders>x-ms-meta-abc"
            b"</AllowedHeaders></CorsRule></Cors><DefaultServiceVersion>"
            b"2021-12-02</DefaultServiceVersion><DeleteRetentionPolicy>"
            b"<Enabled>true</Enabled><Days>5</Days></DeleteRetentionPolicy>"
            b"<StaticWebsite><Enabled>true</Enabled><IndexDocument>"
            b"index.html</IndexDocument><ErrorDocument404Path>404.html"
            b"</ErrorDocument404Path></StaticWebsite>"
            b"</StorageServiceProperties>")
    services = {
        "svc-full": decl + full,
        "svc-cors": decl + b"<StorageServiceProperties><Cors/>"
                           b"</StorageServiceProperties>",
        "svc-version": b"<StorageServiceProperties><DefaultServiceVersion>"
                       b"2020-10-02</DefaultServiceVersion>"
                       b"</StorageServiceProperties>",
        "svc-twice": b"<StorageServiceProperties><Cors/><Cors><CorsRule/>"
                     b"</Cors></StorageServiceProperties>",
        "svc-unknown": b"<StorageServiceProperties><Bogus/>"
                       b"</StorageServiceProperties>",
        "svc-escape": b"<StorageServiceProperties><StaticWebsite><Index"
                      b"Document>a&amp;b&#10;&lt;</IndexDocument>"
                      b"</StaticWebsite></StorageServiceProperties>",
        "svc-ns": b'<StorageServiceProperties xmlns:p="urn:p"><p:Cors a="1"'
                  b' p:b="2"/></StorageServiceProperties>',
        "svc-laughs": laughs.replace(b"SignedIdentifiers",
                                     b"StorageServiceProperties") +
                      b"<StorageServiceProperties><Cors>&a8;</Cors>"
                      b"</StorageServiceProperties>",
        "svc-utf16": ('<?xml version="1.0" encoding="utf-16"?>'
                      "<StorageServiceProperties><Cors/>"
                      "</StorageServiceProperties>").encode("utf-16"),
        "svc-root": b"<SignedIdentifiers/>",
    }

    out = {}
    for name, body in acls.items():
        out[name] = b"\x00" + body
    for name, body in services.items():
        out[name] = b"\x01" + body
    return out


def range_seeds():
    values = [
        "bytes=0-99", "bytes=100-", "bytes=-500", "bytes=0-0",
        "bytes=0-9223372036854775807", "bytes=9223372036854775807-",
        "bytes=0-9223372036854775808", "bytes=-9223372036854775807",
        "bytes=1-0", "bytes=0-1,5-6", " bytes = 0 - 4194303 ", "BYTES=0-1",
        "items=0-1", "bytes=", "bytes=-", "bytes=-0", "bytes=0--1",
        "bytes=00000000000000000000000001-2", "bytes=99999999999999999999-",
        "bytes=0-4194304", "bytes=4194304-8388607", "bytes=1-2 x",
        "bytes=\t1-2",
    ]
    out = {}
    for i, v in enumerate(values):
        for mode in range(4):
            out["r%02d-%d" % (i, mode)] = bytes([mode]) + v.encode()
    return out


def main():
    targets = {
        "dispatch": dispatch_seeds(),
        "shared_key": shared_key_seeds(),
        "sas": sas_seeds(),
        "block_list": block_list_seeds(),
        "xml_body": xml_body_seeds(),
        "range": range_seeds(),
    }
    for target, seeds in targets.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("seed-"):
                os.unlink(os.path.join(d, f))
        for name, data in seeds.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)
        print("%-12s %4d seeds" % (target, len(seeds)))


if __name__ == "__main__":
    main()
