"""Azure Storage request signing, written from the REST documentation.

An implementation independent of the SDKs, so that the tests do not trust
the code they check against: "Authorize with Shared Key", "Create an
account SAS" and "Create a service SAS".  `python3 t/lib/azsign.py` (with
/usr/bin/python3, which has azure-storage-blob) compares it with the SDK.

    shared_key_headers(account, key_b64, method, path, query=None,
                       headers=None, host_style=False) -> dict
    account_sas(account, key_b64, permissions, ...) -> "sv=...&sig=..."
    service_sas(account, key_b64, container, blob=None, ...) -> "sv=..."

The string_to_sign_* functions are public so that tests can show what was
signed when the gateway disagrees.
"""

import base64
import datetime
import email.utils
import hashlib
import hmac
import re
import urllib.parse


DEFAULT_VERSION = "2021-12-02"

# the standard headers of the Shared Key string-to-sign, in order
SHARED_KEY_HEADERS = (
    "content-encoding", "content-language", "content-length", "content-md5",
    "content-type", "date", "if-modified-since", "if-match", "if-none-match",
    "if-unmodified-since", "range",
)

SHARED_KEY_LITE_HEADERS = ("content-md5", "content-type", "date")


def sign(key_b64, string_to_sign):
    """base64(HMAC-SHA256(base64decode(key), utf-8 string))."""

    key = base64.b64decode(key_b64)
    mac = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def http_date(t=None):
    """An RFC 1123 date as x-ms-date wants it: "Sun, 06 Nov 1994 08:49:37 GMT".
    """

    if isinstance(t, datetime.datetime):
        t = t.timestamp()
    return email.utils.formatdate(t, usegmt=True)


def iso_time(t):
    """A SAS time: datetime -> "YYYY-MM-DDThh:mm:ssZ" (UTC); str unchanged."""

    if t is None or isinstance(t, str):
        return t
    if t.tzinfo is not None:
        t = t.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fold(value):
    # "Replace any linear whitespace in the header value with a single space"
    return re.sub(r"[ \t\r\n]+", " ", str(value).strip())


# --- Shared Key -----------------------------------------------------------

def canonicalized_headers(headers):
    """x-ms-* headers: lowercase names in ascending order, "name:value\\n"."""

    merged = {}
    for name, value in headers.items():
        n = name.lower()
        if not n.startswith("x-ms-") or value is None:
            continue
        merged.setdefault(n, []).append(_fold(value))
    return "".join("%s:%s\n" % (n, ",".join(merged[n]))
                   for n in sorted(merged))


def canonicalized_resource(account, path, query=None, single_account=False):
    """"/account" + the encoded path + "\\nname:v1,v2" per query parameter.

    path is the URL path as sent.  For a path-style URL it already starts
    with the account, which the SDKs sign twice; single_account=True signs
    the path alone, as Azure's IP-style endpoints do.
    """

    out = path if single_account else "/" + account + path

    params = {}
    for name, value in (query or []):
        params.setdefault(name.lower(), []).append(
            "" if value is None else str(value))
    for name in sorted(params):
        out += "\n%s:%s" % (name, ",".join(sorted(params[name])))
    return out


def string_to_sign_shared_key(account, method, path, query=None,
                              headers=None, single_account=False):
    lower = {k.lower(): ("" if v is None else str(v))
             for k, v in (headers or {}).items()}

    values = []
    for name in SHARED_KEY_HEADERS:
        v = lower.get(name, "")
        # version 2015-02-21 and later: a zero length is signed as empty
        if name == "content-length" and v == "0" \
                and lower.get("x-ms-version", "9999") >= "2015-02-21":
            v = ""
        values.append(v)

    return (method.upper() + "\n" + "\n".join(values) + "\n"
            + canonicalized_headers(headers or {})
            + canonicalized_resource(account, path, query, single_account))


def string_to_sign_shared_key_lite(account, method, path, query=None,
                                   headers=None, single_account=False):
    lower = {k.lower(): ("" if v is None else str(v))
             for k, v in (headers or {}).items()}

    resource = path if single_account else "/" + account + path
    comp = [v for n, v in (query or []) if n == "comp"]
    if comp:
        resource += "?comp=" + comp[0]

    return (method.upper() + "\n"
            + "".join(lower.get(n, "") + "\n"
                      for n in SHARED_KEY_LITE_HEADERS)
            + canonicalized_headers(headers or {}) + resource)


def shared_key_headers(account, key_b64, method, path, query=None,
                       headers=None, host_style=False, body=None,
                       single_account=False, lite=False):
    """The headers to send: `headers` plus x-ms-date, x-ms-version (unless
    given) and Authorization.

    path: the URL path as sent, percent-encoded ("/devstoreaccount1/c/b",
    or "/c/b" when host_style); query: [(name, value)] unencoded.  A body
    is signed by its Content-Length: put that into headers, or pass body=
    and it is added.
    """

    out = dict(headers or {})
    names = {k.lower() for k in out}

    if "x-ms-date" not in names:
        out["x-ms-date"] = http_date()
    if "x-ms-version" not in names:
        out["x-ms-version"] = DEFAULT_VERSION
    if body is not None and "content-length" not in names \
            and (len(body) or method.upper() in ("PUT", "POST")):
        out["Content-Length"] = str(len(body))

    if host_style:
        single_account = False

    if lite:
        sts = string_to_sign_shared_key_lite(account, method, path, query,
                                             out, single_account)
        scheme = "SharedKeyLite"
    else:
        sts = string_to_sign_shared_key(account, method, path, query, out,
                                        single_account)
        scheme = "SharedKey"

    out["Authorization"] = "%s %s:%s" % (scheme, account, sign(key_b64, sts))
    return out


# --- SAS ------------------------------------------------------------------

def _token(fields):
    return "&".join("%s=%s" % (n, urllib.parse.quote(v, safe=""))
                    for n, v in fields if v)


def _default_expiry(expiry):
    if expiry is None:
        expiry = (datetime.datetime.now(datetime.timezone.utc)
                  + datetime.timedelta(hours=1))
    return iso_time(expiry)


def string_to_sign_account_sas(account, permissions, services,
                               resource_types, start, expiry, ip, protocol,
                               version, encryption_scope=None):
    fields = [account, permissions, services, resource_types, start or "",
              expiry or "", ip or "", protocol or "", version]
    # version 2020-12-06 added the encryption scope
    if version >= "2020-12-06":
        fields.append(encryption_scope or "")
    return "\n".join(fields) + "\n"


def account_sas(account, key_b64, permissions, services="b",
                resource_types="sco", expiry=None, start=None,
                version=DEFAULT_VERSION, ip=None, protocol=None,
                encryption_scope=None):
    """An account SAS token (the query string, without "?")."""

    expiry = _default_expiry(expiry)
    start = iso_time(start)

    sts = string_to_sign_account_sas(account, permissions, services,
                                     resource_types, start, expiry, ip,
                                     protocol, version, encryption_scope)
    return _token([("sv", version), ("ss", services),
                   ("srt", resource_types), ("sp", permissions),
                   ("st", start), ("se", expiry), ("sip", ip),
                   ("spr", protocol), ("ses", encryption_scope),
                   ("sig", sign(key_b64, sts))])


def string_to_sign_service_sas(account, container, blob, permissions, start,
                               expiry, identifier, ip, protocol, version,
                               resource, snapshot, encryption_scope,
                               cache_control, content_disposition,
                               content_encoding, content_language,
                               content_type):
    canonical = "/blob/%s/%s" % (account, container)
    if blob:
        canonical += "/" + blob

    fields = [permissions or "", start or "", expiry or "", canonical,
              identifier or "", ip or "", protocol or "", version]
    # 2018-11-09 added the signed resource and the snapshot time
    if version >= "2018-11-09":
        fields += [resource, snapshot or ""]
    # 2020-12-06 added the encryption scope
    if version >= "2020-12-06":
        fields.append(encryption_scope or "")
    fields += [cache_control or "", content_disposition or "",
               content_encoding or "", content_language or "",
               content_type or ""]
    return "\n".join(fields)


def service_sas(account, key_b64, container, blob=None, permissions="r",
                expiry=None, start=None, version=DEFAULT_VERSION, ip=None,
                protocol=None, cache_control=None, content_disposition=None,
                content_encoding=None, content_language=None,
                content_type=None, identifier=None, snapshot=None,
                encryption_scope=None):
    """A service SAS token for a container (blob=None) or one blob.

    blob is the decoded blob name.  With snapshot, the token is sr=bs and
    the request must carry the same snapshot=; the token leaves it out.
    """

    expiry = _default_expiry(expiry)
    start = iso_time(start)
    resource = "c" if blob is None else ("bs" if snapshot else "b")

    sts = string_to_sign_service_sas(
        account, container, blob, permissions, start, expiry, identifier,
        ip, protocol, version, resource, snapshot, encryption_scope,
        cache_control, content_disposition, content_encoding,
        content_language, content_type)

    return _token([("sv", version), ("sr", resource), ("sp", permissions),
                   ("st", start), ("se", expiry), ("si", identifier),
                   ("sip", ip), ("spr", protocol), ("ses", encryption_scope),
                   ("rscc", cache_control), ("rscd", content_disposition),
                   ("rsce", content_encoding), ("rscl", content_language),
                   ("rsct", content_type), ("sig", sign(key_b64, sts))])


# --- self check against the Python SDK ------------------------------------

def _parse_token(token):
    return dict(urllib.parse.parse_qsl(token, keep_blank_values=True))


def selfcheck():
    """Compares with azure-storage-blob; raises AssertionError on a
    difference, returns the number of cases checked."""

    from azure.core.pipeline import PipelineContext, PipelineRequest
    from azure.core.pipeline.transport import HttpRequest
    from azure.storage.blob import (generate_account_sas,
                                    generate_blob_sas,
                                    generate_container_sas)
    from azure.storage.blob._shared.authentication import \
        SharedKeyCredentialPolicy
    from azure.storage.blob._shared.constants import X_MS_VERSION

    account = "devstoreaccount1"
    key = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
           "K1SZFPTOtr/KBHBeksoGMGw==")
    start = datetime.datetime(2024, 1, 2, 3, 4, 5)
    expiry = datetime.datetime(2031, 6, 7, 8, 9, 10)
    n = 0

    def same(mine, theirs, what):
        a, b = _parse_token(mine), _parse_token(theirs)
        assert a == b, "%s:\n  azsign %r\n  sdk    %r" % (what, a, b)

    for perms, ip, proto in (("racwdl", None, None),
                             ("rl", "127.0.0.1", "https"),
                             ("w", "10.0.0.1-10.0.0.9", "https,http")):
        same(account_sas(account, key, perms, resource_types="sco",
                         expiry=expiry, start=start, version=X_MS_VERSION,
                         ip=ip, protocol=proto),
             generate_account_sas(account, key, resource_types="sco",
                                  permission=perms, expiry=expiry,
                                  start=start, ip=ip, protocol=proto),
             "account sas %s" % perms)
        n += 1

    overrides = dict(cache_control="no-cache, max-age=0",
                     content_disposition='attachment; filename="a b.txt"',
                     content_encoding="gzip", content_language="de-CH",
                     content_type="text/plain; charset=utf-8")

    for blob, extra in (("a.txt", {}),
                        ("dir/sub dir/ü+%20&=.bin", overrides),
                        ("x", dict(content_type="application/json"))):
        same(service_sas(account, key, "cont", blob, permissions="rw",
                         expiry=expiry, start=start, version=X_MS_VERSION,
                         ip="127.0.0.1", protocol="https,http", **extra),
             generate_blob_sas(account, "cont", blob, account_key=key,
                               permission="rw", expiry=expiry, start=start,
                               ip="127.0.0.1", protocol="https,http",
                               **extra),
             "blob sas %r" % blob)
        n += 1

    for extra in ({}, overrides):
        same(service_sas(account, key, "cont", permissions="rl",
                         expiry=expiry, version=X_MS_VERSION, **extra),
             generate_container_sas(account, "cont", account_key=key,
                                    permission="rl", expiry=expiry,
                                    **extra),
             "container sas")
        n += 1

    # Shared Key: the SDK's own policy on a request it would send
    policy = SharedKeyCredentialPolicy(account, key)
    base = "http://127.0.0.1:10000/" + account
    cases = [
        ("GET", base + "/?comp=list&prefix=a%20b&maxresults=5", {}, None),
        ("PUT", base + "/cont?restype=container", {"Content-Length": "0"},
         None),
        ("PUT", base + "/cont/dir/a%20b%2Bc.txt",
         {"Content-Length": "11", "Content-Type": "text/plain",
          "x-ms-blob-type": "BlockBlob", "x-ms-meta-Zeta": "1",
          "x-ms-meta-alpha": "two words", "x-ms-client-request-id": "r1",
          "Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww=="}, None),
        ("GET", base + "/cont/b?comp=blocklist&blocklisttype=all",
         {"If-Match": '"0x8D"', "x-ms-range": "bytes=0-9"}, None),
        ("DELETE", "http://devstoreaccount1.blob.core.windows.net/cont/b",
         {"If-None-Match": "*"}, True),
    ]

    for method, url, hdrs, host_style in cases:
        hdrs = dict(hdrs)
        hdrs["x-ms-date"] = "Tue, 02 Jan 2024 03:04:05 GMT"
        hdrs["x-ms-version"] = X_MS_VERSION

        req = HttpRequest(method, url, headers=dict(hdrs))
        policy.on_request(PipelineRequest(req, PipelineContext(None)))
        theirs = req.headers["Authorization"]

        u = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
        mine = shared_key_headers(account, key, method, u.path, query=query,
                                  headers=hdrs,
                                  host_style=bool(host_style))
        assert mine["Authorization"] == theirs, (
            "shared key %s %s:\n  azsign %s\n  sdk    %s\n%s"
            % (method, url, mine["Authorization"], theirs,
               string_to_sign_shared_key(account, method, u.path, query,
                                         hdrs)))
        n += 1

    return n


if __name__ == "__main__":
    print("azsign matches azure-storage-blob in %d cases" % selfcheck())
