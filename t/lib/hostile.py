"""Helpers for the hostile-input, race and load tests.

raw():            one HTTP/1.1 request written byte for byte on a socket,
                  so that a test can send what http.client refuses (CR,
                  NUL, Latin-1, 64 KiB header lines, endless bodies)
assert_azure_error(): a 4xx with x-ms-error-code and the <Error> document
assert_up():      the gateway still answers a normal request
Fifo:             a named pipe nobody may open: a parser that followed an
                  external reference to it would block, and the open shows
"""

import errno
import os
import re
import socket
import time
import xml.etree.ElementTree as ET
from urllib.parse import unquote

from . import azsign
from .gateway import Headers, Response, encode_query, normalize_query


def sas_query(g, permissions="racwdl"):
    """[(name, value)] of an account SAS on g: a request signed this way
    can carry any header bytes, since the signature does not cover them."""

    pairs = []
    for part in azsign.account_sas(g.account, g.key, permissions).split("&"):
        name, _, value = part.partition("=")
        pairs.append((name, unquote(value)))
    return pairs


def parse_response(data):
    """bytes of one response -> Response (no chunked bodies here)."""

    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
    assert m, "not an HTTP response: %r" % data[:200]
    pairs = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        pairs.append((name.decode("latin-1"),
                      value.strip().decode("latin-1")))
    headers = Headers(pairs)
    n = headers.get("content-length")
    if n is not None:
        body = body[:int(n)]
    return Response(int(m.group(1)), m.group(2).decode("latin-1"), headers,
                    body)


def read_response(s, deadline, head=False):
    """Reads one response from s; None if the peer closed before one.
    head: the answer to a HEAD, which has no body whatever it says."""

    data = b""
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            m = re.search(rb"(?im)^content-length:\s*(\d+)", data[:head_end])
            need = head_end + 4
            if m and not head:
                need += int(m.group(1))
            if len(data) >= need:
                return parse_response(data[:need])
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return parse_response(data) if data else None
        data += chunk


def raw(g, method, path, query=None, headers=(), body=b"", sas=True,
        timeout=10, keep=False):
    """One request on a new connection, headers as given (a list of
    (name, value), each bytes or str, sent verbatim).

    path is relative to the account and sent as is; sas=True appends an
    account SAS to the query; Host and Content-Length are added unless
    present (Content-Length only with a body or for PUT).  Returns the
    Response, or (Response, socket) with keep=True.
    """

    query = normalize_query(query)
    if sas:
        query = query + sas_query(g)
    target = "/" + g.account + path
    q = encode_query(query)
    if q:
        target += "?" + q

    def b(x):
        return x if isinstance(x, bytes) else x.encode("latin-1")

    headers = [(b(k), b(v)) for k, v in headers]
    names = {k.lower() for k, _ in headers}
    if b"host" not in names:
        headers.insert(0, (b"Host", b("%s:%d" % (g.host, g.port))))
    if b"x-ms-version" not in names:
        headers.append((b"x-ms-version", b"2021-12-02"))
    if (b"content-length" not in names and b"transfer-encoding" not in names
            and (body or method == "PUT")):
        headers.append((b"Content-Length", b"%d" % len(body)))

    req = b"%s %s HTTP/1.1\r\n" % (method.encode(), target.encode())
    req += b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    req += b"\r\n" + body

    s = socket.create_connection((g.host, g.port), timeout)
    try:
        s.sendall(req)
        r = read_response(s, time.monotonic() + timeout,
                          head=(method == "HEAD"))
    except BaseException:
        s.close()
        raise
    if keep:
        return r, s
    s.close()
    return r


def assert_azure_error(r, status=None, code=None):
    """A 4xx (or the given status) carrying Azure's error: the header and
    an <Error><Code> document that agree."""

    assert r is not None, "connection closed without a response"
    if status is None:
        assert 400 <= r.status < 500, r
    else:
        assert r.status == status, r
    assert r.error_code, r
    assert r.headers.get("content-type", "").startswith("application/xml"), r
    root = ET.fromstring(r.body)
    assert root.tag == "Error", r
    assert root.findtext("Code") == r.error_code, r
    if code is not None:
        assert r.error_code == code, r
    return r


def assert_up(g, container):
    """A normal request still works: write, read back, delete."""

    name = "/%s/still-up-%d" % (container, os.getpid())
    r = g.request("PUT", name, headers={"x-ms-blob-type": "BlockBlob"},
                  body=b"alive")
    assert r.status == 201, r
    r = g.request("GET", name)
    assert r.status == 200 and r.body == b"alive", r
    assert g.request("DELETE", name).status == 202


class Fifo:
    """A named pipe: opening it for reading blocks until a writer comes,
    so a gateway that dereferenced it would hang the request; whether a
    reader has it open shows in a non-blocking open for writing."""

    def __init__(self, path):
        self.path = str(path)
        os.mkfifo(self.path)

    def opened(self):
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno == errno.ENXIO:
                return False
            raise
        # someone is blocked reading it: let them go
        os.close(fd)
        return True

    def remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def worker_pids(g):
    """The worker processes of gateway g (children of its master)."""

    master = g.proc.pid
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(entry))
    return sorted(pids)


def rss_kib(pid):
    """VmRSS of pid in KiB (0 if it is gone)."""

    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
