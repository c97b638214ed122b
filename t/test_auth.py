"""Authorization on the wire: Shared Key, account SAS and service SAS.

Requests are signed by t/lib/azsign.py (written from the REST docs) or by
the Python SDK, and sent raw, so that every test controls exactly what was
signed and what was sent.  Each error is checked for its status, its
x-ms-error-code header and the <Code> of its XML body.

The first tests need no gateway: they check azsign itself against the
Python SDK and, where it is installed, the JS SDK.
"""

import base64
import datetime
import http.client
import json
import os
import shutil
import subprocess
import urllib.parse
import uuid

import pytest

from lib import azsign
from lib import gateway as gw


SAS_VERSIONS = ["2015-04-05", "2018-11-09", "2020-12-06", "2026-04-06"]
OTHER_KEY = base64.b64encode(bytes(range(64))).decode()
BODY = b"hello, authorization\n"
BLOB = "dir/a b+c.txt"            # a name that needs escaping


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def hours(n):
    return utcnow() + datetime.timedelta(hours=n)


def quote_blob(name):
    return urllib.parse.quote(name, safe="/")


def send(g, method, path, token=None, headers=None, body=b"", host=None):
    """A raw request to /<account><path>?<token>, nothing added or signed."""

    headers = dict(headers or {})
    headers.setdefault("Host", host or "%s:%d" % (g.host, g.port))
    headers.setdefault("x-ms-version", azsign.DEFAULT_VERSION)
    if body or method in ("PUT", "POST"):
        headers.setdefault("Content-Length", str(len(body)))

    target = "/" + g.account + path + ("?" + token if token else "")

    conn = http.client.HTTPConnection(g.host, g.port, timeout=60)
    try:
        conn.putrequest(method, target, skip_host=True,
                        skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        data = resp.read()
        return gw.Response(resp.status, resp.reason,
                           gw.Headers(resp.getheaders()), data)
    finally:
        conn.close()


def signed(g, method, path, query=None, headers=None, key=None, **kw):
    """Shared Key headers for a path-style request to /<account><path>."""

    return azsign.shared_key_headers(g.account, key or g.key, method,
                                     "/" + g.account + path, query=query,
                                     headers=headers, **kw)


def assert_error(r, status, code, detail=None):
    assert r.status == status, r
    assert r.headers.get("x-ms-error-code") == code, r
    root = r.xml()
    assert root.tag == "Error", r
    assert root.findtext("Code") == code, r
    if detail is not None:
        text = root.findtext("AuthenticationErrorDetail") or ""
        assert detail in text, text


def assert_got_blob(r):
    assert r.status == 200, r
    assert r.body == BODY


@pytest.fixture(scope="module")
def blob(gateway):
    """(container, blob name) of a blob holding BODY."""

    container = "auth" + uuid.uuid4().hex[:12]

    r = gateway.request("PUT", "/" + container,
                        query=[("restype", "container")])
    assert r.status == 201, r

    r = gateway.request("PUT", "/%s/%s" % (container, quote_blob(BLOB)),
                        headers={"x-ms-blob-type": "BlockBlob",
                                 "Content-Type": "application/x-original"},
                        body=BODY)
    assert r.status == 201, r

    return container, BLOB


def blob_path(blob):
    return "/%s/%s" % (blob[0], quote_blob(blob[1]))


# --- the signer itself ----------------------------------------------------

def test_azsign_matches_python_sdk():
    pytest.importorskip("azure.storage.blob")
    assert azsign.selfcheck() > 10


JS_SAS = r"""
const sb = require("@azure/storage-blob");
const out = [];
for (const c of JSON.parse(require("fs").readFileSync(0, "utf8"))) {
  const cred = new sb.StorageSharedKeyCredential(c.account, c.key);
  const v = {version: c.version, expiresOn: new Date(c.expiry),
             startsOn: c.start ? new Date(c.start) : undefined,
             ipRange: c.ip ? {start: c.ip} : undefined,
             protocol: c.protocol || undefined};
  let q;
  if (c.kind === "account") {
    q = sb.generateAccountSASQueryParameters(Object.assign(v, {
      permissions: sb.AccountSASPermissions.parse(c.permissions),
      services: "b", resourceTypes: "sco"}), cred);
  } else {
    q = sb.generateBlobSASQueryParameters(Object.assign(v, {
      containerName: c.container, blobName: c.blob || undefined,
      permissions: c.blob ? sb.BlobSASPermissions.parse(c.permissions)
                          : sb.ContainerSASPermissions.parse(c.permissions),
      cacheControl: c.cache_control || undefined,
      contentType: c.content_type || undefined}), cred);
  }
  out.push(q.toString());
}
console.log(JSON.stringify(out));
"""


def test_azsign_matches_js_sdk_every_sas_version():
    node = shutil.which("node")
    modules = os.path.join(os.path.dirname(__file__), "node", "node_modules")
    if node is None or not os.path.isdir(
            os.path.join(modules, "@azure", "storage-blob")):
        pytest.skip("node and @azure/storage-blob are not installed")

    cases = []
    for v in SAS_VERSIONS:
        common = dict(account=gw.ACCOUNT, key=gw.KEY, version=v,
                      expiry="2031-06-07T08:09:10Z",
                      start="2024-01-02T03:04:05Z", ip="127.0.0.1",
                      protocol="https,http")
        cases.append(dict(common, kind="account", permissions="rwdlac"))
        cases.append(dict(common, kind="service", container="cont",
                          blob=BLOB, permissions="rw",
                          cache_control="no-cache", content_type="text/x"))
        cases.append(dict(common, kind="service", container="cont",
                          blob=None, permissions="rl"))

    env = dict(os.environ, NODE_PATH=modules)
    out = subprocess.run([node, "-e", JS_SAS], input=json.dumps(cases),
                         capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    theirs = json.loads(out.stdout)

    for c, js in zip(cases, theirs):
        if c["kind"] == "account":
            mine = azsign.account_sas(c["account"], c["key"],
                                      c["permissions"], expiry=c["expiry"],
                                      start=c["start"], version=c["version"],
                                      ip=c["ip"], protocol=c["protocol"])
        else:
            mine = azsign.service_sas(
                c["account"], c["key"], c["container"], c["blob"],
                c["permissions"], expiry=c["expiry"], start=c["start"],
                version=c["version"], ip=c["ip"], protocol=c["protocol"],
                cache_control=c.get("cache_control"),
                content_type=c.get("content_type"))
        a = dict(urllib.parse.parse_qsl(mine))
        b = dict(urllib.parse.parse_qsl(js))
        assert a["sig"] == b["sig"], (c, a, b)


# --- Shared Key -----------------------------------------------------------

def test_shared_key_path_style_account_twice(gateway, blob):
    # what the SDKs sign for an emulator URL: "/account/account/c/b"
    r = gateway.request("GET", blob_path(blob))
    assert_got_blob(r)


def test_shared_key_path_style_account_once(gateway, blob):
    path = blob_path(blob)
    h = signed(gateway, "GET", path, single_account=True)
    r = send(gateway, "GET", path, headers=h)
    assert_got_blob(r)


def test_shared_key_host_style(gateway, blob):
    r = gateway.request("GET", blob_path(blob), host_style=True)
    assert_got_blob(r)


def test_shared_key_host_style_account_once_is_refused(gateway, blob):
    # host-style paths have no account in them: only "/account/c/b"
    path = blob_path(blob)
    h = azsign.shared_key_headers(gateway.account, gateway.key, "GET", path,
                                  single_account=True)
    h["Host"] = "%s.blob.core.windows.net" % gateway.account

    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=60)
    try:
        conn.putrequest("GET", path, skip_host=True,
                        skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        r = gw.Response(resp.status, resp.reason,
                        gw.Headers(resp.getheaders()), resp.read())
    finally:
        conn.close()

    assert_error(r, 403, "AuthenticationFailed")


def test_shared_key_lite(gateway, blob):
    path = blob_path(blob)
    h = signed(gateway, "GET", path, lite=True)
    assert h["Authorization"].startswith("SharedKeyLite ")
    r = send(gateway, "GET", path, headers=h)
    assert_got_blob(r)


def test_shared_key_python_sdk(gateway, blob):
    sdk = pytest.importorskip("azure.storage.blob")
    client = sdk.BlobServiceClient.from_connection_string(gateway.conn_str)
    data = client.get_blob_client(*blob).download_blob().readall()
    assert data == BODY


def test_shared_key_query_and_headers(gateway, blob):
    # many query parameters, some repeated, an x-ms-* header with folded
    # whitespace and one twice in lower and upper case
    container = blob[0]
    query = [("restype", "container"), ("comp", "list"),
             ("prefix", "dir/"), ("maxresults", "10"),
             ("include", "metadata")]
    h = {"x-ms-client-request-id": "  a   b  ", "X-MS-Meta-Ignored": "x"}
    r = gateway.request("GET", "/" + container, query=query, headers=h)
    assert r.status == 200, r
    assert b"a b+c.txt" in r.body


def test_shared_key_put_with_body(gateway, blob):
    data = b"x" * 1000
    name = "/%s/put-%s" % (blob[0], uuid.uuid4().hex)
    r = gateway.request("PUT", name,
                        headers={"x-ms-blob-type": "BlockBlob",
                                 "Content-Type": "text/plain",
                                 "x-ms-meta-Alpha": "one",
                                 "x-ms-meta-beta": "two"},
                        body=data)
    assert r.status == 201, r


def test_shared_key_date_header_instead_of_x_ms_date(gateway, blob):
    path = blob_path(blob)
    h = signed(gateway, "GET", path, headers={"Date": azsign.http_date(),
                                              "x-ms-date": None})
    del h["x-ms-date"]
    r = send(gateway, "GET", path, headers=h)
    assert_got_blob(r)


def test_shared_key_second_key(gateway_factory, tmp_path):
    # rotation: both keys of the account are accepted
    keys = tmp_path / "keys"
    keys.write_text("%s %s %s\n" % (gw.ACCOUNT, OTHER_KEY, gw.KEY))
    keys.chmod(0o644)
    g = gateway_factory(extra_conf="blob_keys_file %s;" % keys)

    name = "/rot" + uuid.uuid4().hex[:12]
    q = [("restype", "container")]

    # gateway.request signs with gw.KEY, the second key in the file
    r = g.request("PUT", name, query=q)
    assert r.status == 201, r

    h = signed(g, "GET", name, query=q, key=OTHER_KEY)
    r = send(g, "GET", name, token="restype=container", headers=h)
    assert r.status == 200, r

    third = base64.b64encode(b"\x01" * 64).decode()
    h = signed(g, "GET", name, query=q, key=third)
    r = send(g, "GET", name, token="restype=container", headers=h)
    assert_error(r, 403, "AuthenticationFailed")


def test_shared_key_tampered_signature(gateway, blob):
    path = blob_path(blob)
    h = signed(gateway, "GET", path)
    scheme, cred = h["Authorization"].split(" ", 1)
    account, sig = cred.split(":", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[0] ^= 1
    h["Authorization"] = "%s %s:%s" % (scheme, account,
                                       base64.b64encode(raw).decode())
    r = send(gateway, "GET", path, headers=h)
    assert_error(r, 403, "AuthenticationFailed",
                 "Server used following string to sign")


def test_shared_key_wrong_key(gateway, blob):
    path = blob_path(blob)
    r = send(gateway, "GET", path,
             headers=signed(gateway, "GET", path, key=OTHER_KEY))
    assert_error(r, 403, "AuthenticationFailed")


def test_shared_key_request_changed_after_signing(gateway, blob):
    h = signed(gateway, "GET", blob_path(blob))
    r = send(gateway, "GET", "/%s/other" % blob[0], headers=h)
    assert_error(r, 403, "AuthenticationFailed")


def test_shared_key_header_changed_after_signing(gateway, blob):
    path = blob_path(blob)
    h = signed(gateway, "GET", path, headers={"x-ms-range": "bytes=0-3"})
    h["x-ms-range"] = "bytes=0-4"
    r = send(gateway, "GET", path, headers=h)
    assert_error(r, 403, "AuthenticationFailed")


@pytest.mark.parametrize("minutes", [-16, 16])
def test_shared_key_clock_skew(gateway, blob, minutes):
    path = blob_path(blob)
    date = utcnow() + datetime.timedelta(minutes=minutes)
    h = signed(gateway, "GET", path,
               headers={"x-ms-date": azsign.http_date(date)})
    r = send(gateway, "GET", path, headers=h)
    assert_error(r, 403, "AuthenticationFailed", "Request date header")


def test_shared_key_within_clock_skew(gateway, blob):
    path = blob_path(blob)
    date = utcnow() - datetime.timedelta(minutes=13)
    h = signed(gateway, "GET", path,
               headers={"x-ms-date": azsign.http_date(date)})
    assert_got_blob(send(gateway, "GET", path, headers=h))


def test_shared_key_without_date(gateway, blob):
    path = blob_path(blob)
    h = signed(gateway, "GET", path)
    del h["x-ms-date"]
    r = send(gateway, "GET", path, headers=h)
    assert_error(r, 403, "AuthenticationFailed")


def test_shared_key_other_account(gateway, blob):
    path = blob_path(blob)
    h = azsign.shared_key_headers("otheraccount", gateway.key, "GET",
                                  "/" + gateway.account + path)
    r = send(gateway, "GET", path, headers=h)
    assert_error(r, 403, "AuthenticationFailed",
                 "Cannot find the claimed account")


@pytest.mark.parametrize("value", [
    "SharedKey", "SharedKey devstoreaccount1", "SharedKey :abc",
    "SharedKey devstoreaccount1:", "Bearer eyJ0eXAiOiJKV1QifQ.e30.x",
    "Basic ZGV2OmtleQ==", "sharedkeyfoo a:b"])
def test_malformed_or_unknown_authorization(gateway, blob, value):
    path = blob_path(blob)
    h = {"x-ms-date": azsign.http_date(), "Authorization": value}
    r = send(gateway, "GET", path, headers=h)
    assert_error(r, 403, "AuthenticationFailed")


def test_no_credentials_is_not_access(gateway, blob):
    r = send(gateway, "GET", blob_path(blob))
    assert r.status in (401, 404), r
    assert r.headers.get("x-ms-error-code") in (
        "NoAuthenticationInformation", "ResourceNotFound"), r
    assert r.body != BODY


# --- SAS: every layout ----------------------------------------------------

@pytest.mark.parametrize("version", SAS_VERSIONS)
def test_account_sas_version(gateway, blob, version):
    token = azsign.account_sas(gateway.account, gateway.key, "r",
                               resource_types="o", version=version,
                               start=hours(-1), expiry=hours(1),
                               ip="127.0.0.1", protocol="https,http")
    assert_got_blob(send(gateway, "GET", blob_path(blob), token))


@pytest.mark.parametrize("version", SAS_VERSIONS)
def test_service_sas_blob_version(gateway, blob, version):
    token = azsign.service_sas(gateway.account, gateway.key, blob[0],
                               blob[1], "r", version=version,
                               start=hours(-1), expiry=hours(1),
                               ip="127.0.0.1", protocol="https,http")
    assert_got_blob(send(gateway, "GET", blob_path(blob), token))


@pytest.mark.parametrize("version", SAS_VERSIONS)
def test_service_sas_container_version(gateway, blob, version):
    token = azsign.service_sas(gateway.account, gateway.key, blob[0], None,
                               "rl", version=version, expiry=hours(1))
    assert_got_blob(send(gateway, "GET", blob_path(blob), token))

    r = send(gateway, "GET", "/" + blob[0],
             "restype=container&comp=list&" + token)
    assert r.status == 200, r


@pytest.mark.parametrize("version", ["2020-12-06", "2026-04-06"])
def test_sas_with_encryption_scope_field(gateway, blob, version):
    token = azsign.account_sas(gateway.account, gateway.key, "r",
                               version=version, encryption_scope="scope1")
    assert_got_blob(send(gateway, "GET", blob_path(blob), token))


def test_sas_from_python_sdk(gateway, blob):
    sdk = pytest.importorskip("azure.storage.blob")
    token = sdk.generate_blob_sas(gateway.account, blob[0], blob[1],
                                  account_key=gateway.key, permission="r",
                                  expiry=hours(1))
    client = sdk.BlobClient.from_blob_url(
        "%s/%s/%s?%s" % (gateway.endpoint, blob[0], quote_blob(blob[1]),
                         token))
    assert client.download_blob().readall() == BODY


def test_sas_signature_with_unescaped_plus(gateway, blob):
    # some clients leave '+' of the base64 signature unescaped
    for minutes in range(120):
        token = azsign.account_sas(gateway.account, gateway.key, "r",
                                   expiry=hours(1) + datetime.timedelta(
                                       minutes=minutes))
        sig = dict(urllib.parse.parse_qsl(token))["sig"]
        if "+" in sig:
            break
    else:
        pytest.skip("no signature with a '+' found")

    token = token.replace(urllib.parse.quote(sig, safe=""), sig)
    assert_got_blob(send(gateway, "GET", blob_path(blob), token))


# --- SAS: what a token grants ---------------------------------------------

def test_sas_put_blob_with_write(gateway, blob):
    token = azsign.account_sas(gateway.account, gateway.key, "w")
    r = send(gateway, "PUT", "/%s/w-%s" % (blob[0], uuid.uuid4().hex),
             token, headers={"x-ms-blob-type": "BlockBlob"}, body=b"w")
    assert r.status == 201, r


def test_sas_put_blob_with_create(gateway, blob):
    token = azsign.service_sas(gateway.account, gateway.key, blob[0], None,
                               "c")
    r = send(gateway, "PUT", "/%s/c-%s" % (blob[0], uuid.uuid4().hex),
             token, headers={"x-ms-blob-type": "BlockBlob"}, body=b"c")
    assert r.status == 201, r


def test_sas_put_block_with_write(gateway, blob):
    token = azsign.account_sas(gateway.account, gateway.key, "w")
    block = base64.b64encode(b"block-0001").decode()
    r = send(gateway, "PUT", "/%s/b-%s" % (blob[0], uuid.uuid4().hex),
             "comp=block&blockid=%s&%s"
             % (urllib.parse.quote(block, safe=""), token), body=b"blk")
    assert r.status == 201, r


@pytest.mark.parametrize("method,path,query,perm", [
    ("GET", None, "", "wdl"),                       # Get Blob needs r
    ("PUT", "new", "", "rdl"),                      # Put Blob needs w or c
    ("DELETE", None, "", "rwl"),                    # Delete Blob needs d
    ("GET", "", "restype=container&comp=list", "rw"),   # List Blobs needs l
    ("PUT", None, "comp=metadata", "rcl"),          # metadata needs w
])
def test_sas_permission_mismatch(gateway, blob, method, path, query, perm):
    if path is None:
        path = blob_path(blob)
    elif path == "":
        path = "/" + blob[0]
    else:
        path = "/%s/%s-%s" % (blob[0], path, uuid.uuid4().hex)

    token = azsign.account_sas(gateway.account, gateway.key, perm)
    h = {"x-ms-blob-type": "BlockBlob"} if method == "PUT" else {}
    r = send(gateway, method, path, (query + "&" if query else "") + token,
             headers=h)
    assert_error(r, 403, "AuthorizationPermissionMismatch")

    # the blob is untouched
    assert_got_blob(gateway.request("GET", blob_path(blob)))


def test_sas_get_account_information_any_permission(gateway, blob):
    token = azsign.account_sas(gateway.account, gateway.key, "d")
    r = send(gateway, "GET", "/", "restype=account&comp=properties&" + token)
    assert r.status == 200, r
    assert r.headers.get("x-ms-account-kind"), r


def test_service_sas_no_container_operations(gateway, blob):
    token = azsign.service_sas(gateway.account, gateway.key, blob[0], None,
                               "racwdl")
    r = send(gateway, "GET", "/" + blob[0], "restype=container&" + token)
    assert_error(r, 403, "AuthorizationPermissionMismatch")


def test_service_sas_blob_grants_one_blob(gateway, blob):
    other = "/%s/other-%s" % (blob[0], uuid.uuid4().hex)
    r = gateway.request("PUT", other, headers={"x-ms-blob-type": "BlockBlob"},
                        body=b"other")
    assert r.status == 201, r

    token = azsign.service_sas(gateway.account, gateway.key, blob[0],
                               blob[1], "r")
    r = send(gateway, "GET", other, token)
    assert_error(r, 403, "AuthenticationFailed", "Signature did not match")


def test_service_sas_container_grants_one_container(gateway, blob):
    token = azsign.service_sas(gateway.account, gateway.key,
                               "not" + blob[0], None, "r")
    r = send(gateway, "GET", blob_path(blob), token)
    assert_error(r, 403, "AuthenticationFailed")


def test_sas_expired(gateway, blob):
    token = azsign.account_sas(gateway.account, gateway.key, "r",
                               start=hours(-2), expiry=hours(-1))
    r = send(gateway, "GET", blob_path(blob), token)
    assert_error(r, 403, "AuthenticationFailed",
                 "Signature not valid in the specified time frame")


def test_sas_not_yet_valid(gateway, blob):
    token = azsign.service_sas(gateway.account, gateway.key, blob[0],
                               blob[1], "r", start=hours(1), expiry=hours(2))
    r = send(gateway, "GET", blob_path(blob), token)
    assert_error(r, 403, "AuthenticationFailed",
                 "Signature not valid in the specified time frame")


def test_sas_ip_mismatch(gateway, blob):
    token = azsign.account_sas(gateway.account, gateway.key, "r",
                               ip="10.1.2.3")
    r = send(gateway, "GET", blob_path(blob), token)
    assert_error(r, 403, "AuthorizationSourceIPMismatch")


def test_sas_ip_range(gateway, blob):
    token = azsign.account_sas(gateway.account, gateway.key, "r",
                               ip="127.0.0.0-127.0.0.255")
    assert_got_blob(send(gateway, "GET", blob_path(blob), token))

    token = azsign.account_sas(gateway.account, gateway.key, "r",
                               ip="127.0.0.2-127.0.0.255")
    r = send(gateway, "GET", blob_path(blob), token)
    assert_error(r, 403, "AuthorizationSourceIPMismatch")


def test_sas_https_only_on_http(gateway, blob):
    token = azsign.service_sas(gateway.account, gateway.key, blob[0],
                               blob[1], "r", protocol="https")
    r = send(gateway, "GET", blob_path(blob), token)
    assert_error(r, 403, "AuthorizationProtocolMismatch")


def test_sas_service_mismatch(gateway, blob):
    token = azsign.account_sas(gateway.account, gateway.key, "r",
                               services="qt")
    r = send(gateway, "GET", blob_path(blob), token)
    assert_error(r, 403, "AuthorizationServiceMismatch")


@pytest.mark.parametrize("srt,level", [("sc", "blob"), ("so", "container"),
                                       ("co", "service")])
def test_sas_resource_type_mismatch(gateway, blob, srt, level):
    path, query = {"blob": (blob_path(blob), ""),
                   "container": ("/" + blob[0],
                                 "restype=container&comp=list&"),
                   "service": ("/", "comp=list&")}[level]
    token = azsign.account_sas(gateway.account, gateway.key, "rl",
                               resource_types=srt)
    r = send(gateway, "GET", path, query + token)
    assert_error(r, 403, "AuthorizationResourceTypeMismatch")


def test_sas_tampered_signature(gateway, blob):
    token = azsign.account_sas(gateway.account, gateway.key, "r")
    q = urllib.parse.parse_qsl(token)
    sig = bytearray(base64.b64decode(dict(q)["sig"]))
    sig[-1] ^= 1
    q = [(n, base64.b64encode(sig).decode() if n == "sig" else v)
         for n, v in q]
    r = send(gateway, "GET", blob_path(blob), gw.encode_query(q))
    assert_error(r, 403, "AuthenticationFailed", "Signature did not match")


@pytest.mark.parametrize("field,value", [("sp", "rwdl"), ("se", None),
                                         ("srt", "sco"), ("sv", None)])
def test_sas_tampered_field(gateway, blob, field, value):
    token = azsign.account_sas(gateway.account, gateway.key, "r",
                               resource_types="o", expiry=hours(1),
                               version="2020-12-06")
    q = []
    for n, v in urllib.parse.parse_qsl(token):
        if n == field:
            if value is None:
                # a later time, or a newer version: still not what was signed
                v = v.replace("2020", "2021") if n == "sv" else \
                    azsign.iso_time(hours(5))
            else:
                v = value
        q.append((n, v))
    r = send(gateway, "GET", blob_path(blob), gw.encode_query(q))
    assert_error(r, 403, "AuthenticationFailed", "Signature did not match")


@pytest.mark.parametrize("drop", ["sp", "se", "sv", "sig"])
def test_sas_missing_field(gateway, blob, drop):
    token = azsign.account_sas(gateway.account, gateway.key, "r")
    q = [(n, v) for n, v in urllib.parse.parse_qsl(token) if n != drop]
    r = send(gateway, "GET", blob_path(blob), gw.encode_query(q))
    if drop == "sig":
        # no signature is no credentials at all: anonymous, and refused
        assert r.status in (401, 404), r
    else:
        assert_error(r, 403, "AuthenticationFailed")


def test_sas_stored_access_policy_is_refused(gateway, blob):
    token = azsign.service_sas(gateway.account, gateway.key, blob[0],
                               blob[1], permissions=None,
                               identifier="policy1", expiry="")
    r = send(gateway, "GET", blob_path(blob), token)
    assert_error(r, 403, "AuthenticationFailed", "Stored access polic")


def test_user_delegation_sas_is_refused(gateway, blob):
    token = azsign.service_sas(gateway.account, gateway.key, blob[0],
                               blob[1], "r")
    token += ("&skoid=00000000-0000-0000-0000-000000000001"
              "&sktid=00000000-0000-0000-0000-000000000002"
              "&skt=2024-01-01T00%3A00%3A00Z&ske=2099-01-01T00%3A00%3A00Z"
              "&sks=b&skv=2021-12-02")
    r = send(gateway, "GET", blob_path(blob), token)
    assert_error(r, 403, "AuthenticationFailed", "User delegation")


def test_sas_response_header_overrides(gateway, blob):
    token = azsign.service_sas(
        gateway.account, gateway.key, blob[0], blob[1], "r",
        cache_control="no-store, max-age=0",
        content_disposition='attachment; filename="report 1.txt"',
        content_encoding="identity", content_language="de-CH",
        content_type="text/plain; charset=utf-8")
    r = send(gateway, "GET", blob_path(blob), token)
    assert_got_blob(r)
    assert r.headers.get("Cache-Control") == "no-store, max-age=0"
    assert r.headers.get("Content-Disposition") == \
        'attachment; filename="report 1.txt"'
    assert r.headers.get("Content-Encoding") == "identity"
    assert r.headers.get("Content-Language") == "de-CH"
    assert r.headers.get("Content-Type") == "text/plain; charset=utf-8"


def test_sas_overrides_must_be_signed(gateway, blob):
    # an account SAS has no overrides: an rsct added to it changes nothing
    token = azsign.account_sas(gateway.account, gateway.key, "r")
    r = send(gateway, "GET", blob_path(blob), token + "&rsct=text%2Fhtml")
    assert_got_blob(r)
    assert r.headers.get("Content-Type") == "application/x-original"

    # and one added to a service SAS breaks its signature
    token = azsign.service_sas(gateway.account, gateway.key, blob[0],
                               blob[1], "r")
    r = send(gateway, "GET", blob_path(blob), token + "&rsct=text%2Fhtml")
    assert_error(r, 403, "AuthenticationFailed")
