"""Blob and container names on the wire and on disk (docs/LAYOUT.md, "Names
a filesystem cannot hold"): names that need percent-encoding, traversal in
every spelling, names too long, blob/virtual-directory conflicts, symbolic
links planted by NFS clients, and invalid container names.

The rule checked everywhere: whatever the request, nothing is read from or
written to a place outside the container it names.
"""

import base64
import os
import urllib.parse
import uuid

import pytest

DATA = b"name test"


def uniq(prefix="n"):
    return prefix + uuid.uuid4().hex[:10]


def enc(name):
    """A blob name as the SDKs put it in a URL: '/' kept, all else quoted."""
    return urllib.parse.quote(name, safe="/")


def put_raw(gw, c, raw, data=DATA, headers=None):
    h = {"x-ms-blob-type": "BlockBlob"}
    h.update(headers or {})
    return gw.request("PUT", "/%s/%s" % (c, raw), headers=h, body=data)


def get_raw(gw, c, raw, method="GET"):
    return gw.request(method, "/%s/%s" % (c, raw))


def assert_error(r, status, codes, head=False):
    if isinstance(codes, str):
        codes = (codes,)
    assert r.status == status, r
    assert r.headers.get("x-ms-error-code") in codes, r
    assert r.headers.get("x-ms-request-id"), r.headers
    if head:
        assert r.body == b""
        return
    assert r.headers.get("Content-Type", "").startswith("application/xml"), r
    assert r.xml().findtext("Code") == r.headers["x-ms-error-code"], r.body


def files_named(top, marker):
    """Every path under top whose name holds marker."""
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            if marker in n:
                out.append(os.path.join(dirpath, n))
    return out


def escaped(gw, c, marker):
    """Paths holding marker that are not inside container c: anywhere in
    the gateway's directory (data root, .blob, nginx prefix) and in the
    directories above it."""

    inside = str(gw.root / c) + os.sep
    found = [p for p in files_named(gw.base, marker)
             if not p.startswith(inside)]
    for d in (gw.base.parent, gw.base.parent.parent, "/"):
        found += [os.path.join(str(d), n) for n in os.listdir(d)
                  if marker in n]
    return found


# names that need encoding

@pytest.mark.parametrize("name", [
    "with space.txt",
    "dir with space/file name.txt",
    "données/日本語 ✓.txt",
    "emoji-\U0001F600.bin",
    "a#b",
    "q?x=1&y=2",
    "100%.txt",
    "semi;colon,comma=eq",
    "tilde~and'quote\"",
    "brackets[1](2){3}",
    "trailing.dot.",
    "...",
    ".hidden",
    "-leading-dash",
])
def test_name_round_trip(gateway, new_container, name):
    r = put_raw(gateway, new_container, enc(name), name.encode())

    assert r.status == 201, r
    assert (gateway.root / new_container / name).read_bytes() == \
        name.encode()
    g = get_raw(gateway, new_container, enc(name))
    assert g.status == 200, g
    assert g.body == name.encode()


def test_name_encoded_slash_is_a_slash(gateway, new_container):
    r = put_raw(gateway, new_container, "x%2Fy%2fz.txt")

    assert r.status == 201, r
    assert (gateway.root / new_container / "x" / "y" / "z.txt").is_file()
    assert get_raw(gateway, new_container, "x/y/z.txt").body == DATA


def test_name_plus_is_plus(gateway, new_container):
    r = put_raw(gateway, new_container, "a+b.txt")

    assert r.status == 201, r
    assert (gateway.root / new_container / "a+b.txt").is_file()
    assert not (gateway.root / new_container / "a b.txt").exists()
    assert get_raw(gateway, new_container, "a%2Bb.txt").body == DATA


def test_name_unreserved_escapes_are_the_same_name(gateway, new_container):
    assert put_raw(gateway, new_container, "%41bc%2Dd").status == 201

    assert (gateway.root / new_container / "Abc-d").is_file()
    assert get_raw(gateway, new_container, "Abc-d").body == DATA


def test_name_lowercase_escape(gateway, new_container):
    assert put_raw(gateway, new_container, "sp%2dace%c3%a9").status == 201

    assert (gateway.root / new_container / "sp-aceé").is_file()


def test_name_case_sensitive(gateway, new_container):
    assert put_raw(gateway, new_container, "Case", b"upper").status == 201
    assert put_raw(gateway, new_container, "case", b"lower").status == 201

    assert get_raw(gateway, new_container, "Case").body == b"upper"
    assert get_raw(gateway, new_container, "case").body == b"lower"


# long names

def test_name_segment_255(gateway, new_container):
    name = "s" * 255

    r = put_raw(gateway, new_container, name)

    assert r.status == 201, r
    assert (gateway.root / new_container / name).is_file()


def test_name_segment_256(gateway, new_container):
    r = put_raw(gateway, new_container, "s" * 256)

    assert_error(r, 400, "InvalidResourceName")


def test_name_segment_255_percent_encoded(gateway, new_container):
    r = put_raw(gateway, new_container, "%61" * 255)

    assert r.status == 201, r
    assert (gateway.root / new_container / ("a" * 255)).is_file()


def test_name_1024(gateway, new_container):
    name = "/".join(["d" * 200] * 4 + ["f" * 220])
    assert len(name) == 1024

    r = put_raw(gateway, new_container, name)

    assert r.status == 201, r
    assert (gateway.root / new_container / name).is_file()
    assert get_raw(gateway, new_container, name).body == DATA


def test_name_1025(gateway, new_container):
    name = "/".join(["d" * 200] * 4 + ["f" * 221])
    assert len(name) == 1025

    r = put_raw(gateway, new_container, name)

    assert_error(r, 400, "InvalidResourceName")
    assert not (gateway.root / new_container / ("d" * 200)).exists()


def test_name_1025_on_read(gateway, new_container):
    r = get_raw(gateway, new_container, "x" * 200 + "/" + "y" * 824 + "z")

    assert_error(r, 400, "InvalidResourceName")


# traversal and names a filesystem cannot hold

# (raw path after the container, expected error codes); {m} is a marker
# that names the file the request would create if it escaped
TRAVERSAL = [
    ("../{m}", "InvalidResourceName"),
    ("../../{m}", "InvalidResourceName"),
    ("%2e%2e/{m}", "InvalidResourceName"),
    ("%2E%2E%2F{m}", "InvalidResourceName"),
    ("..%2f{m}", "InvalidResourceName"),
    ("%2e%2e%2f%2e%2e%2f{m}", "InvalidResourceName"),
    ("a/../../{m}", "InvalidResourceName"),
    ("a%2F..%2F..%2F{m}", "InvalidResourceName"),
    ("a/../{m}", "InvalidResourceName"),
    ("./{m}", "InvalidResourceName"),
    ("a/./{m}", "InvalidResourceName"),
    ("a/%2e/{m}", "InvalidResourceName"),
    ("{m}/.", "InvalidResourceName"),
    ("{m}/..", "InvalidResourceName"),
    ("..", "InvalidResourceName"),
    (".", "InvalidResourceName"),
    ("a//{m}", "InvalidResourceName"),
    ("a%2F%2F{m}", "InvalidResourceName"),
    ("/{m}", "InvalidResourceName"),
    ("{m}/", "InvalidResourceName"),
    ("{m}%2F", "InvalidResourceName"),
]

# nginx itself refuses these request lines before any module runs
NGINX_LEVEL = [
    ("../../../{m}", ("InvalidUri", "InvalidResourceName")),
    ("{m}%00", "InvalidUri"),
    ("%00{m}", "InvalidUri"),
    ("{m}%zz", "InvalidUri"),
    ("{m}%4", "InvalidUri"),
]

BACKSLASH = [
    "..\\{m}",
    "..%5C{m}",
    "a\\..\\..\\{m}",
    "..%5c..%5c{m}",
]


def _ids(cases):
    return [c[0] if isinstance(c, tuple) else c for c in cases]


@pytest.mark.parametrize("raw,code", TRAVERSAL, ids=_ids(TRAVERSAL))
def test_traversal_put_refused(gateway, new_container, raw, code):
    m = uniq("esc")

    r = put_raw(gateway, new_container, raw.format(m=m))

    assert_error(r, 400, code)
    assert escaped(gateway, new_container, m) == []
    assert files_named(gateway.root / new_container, m) == []


@pytest.mark.parametrize("raw,code", TRAVERSAL[:9], ids=_ids(TRAVERSAL[:9]))
def test_traversal_get_refused(gateway, new_container, raw, code):
    m = uniq("esc")

    r = get_raw(gateway, new_container, raw.format(m=m))

    assert_error(r, 400, code)


@pytest.mark.parametrize("raw,code", NGINX_LEVEL, ids=_ids(NGINX_LEVEL))
def test_bad_uri_writes_nothing(gateway, new_container, raw, code):
    m = uniq("esc")

    r = put_raw(gateway, new_container, raw.format(m=m))

    assert r.status == 400, r
    assert escaped(gateway, new_container, m) == []
    assert files_named(gateway.root / new_container, m) == []


@pytest.mark.parametrize("raw,code", NGINX_LEVEL, ids=_ids(NGINX_LEVEL))
def test_bad_uri_is_an_azure_error(gateway, new_container, raw, code):
    """docs/LAYOUT.md: NUL or a malformed escape is 400 InvalidUri, an
    Azure error (x-ms-error-code, XML), never nginx's HTML page."""

    r = put_raw(gateway, new_container, raw.format(m=uniq("esc")))

    assert_error(r, 400, code)


@pytest.mark.parametrize("raw", BACKSLASH)
def test_backslash_traversal_stays_in_container(gateway, new_container, raw):
    m = uniq("esc")

    put_raw(gateway, new_container, raw.format(m=m))

    assert escaped(gateway, new_container, m) == []


@pytest.mark.parametrize("raw", BACKSLASH)
def test_backslash_traversal_refused(gateway, new_container, raw):
    m = uniq("esc")

    r = put_raw(gateway, new_container, raw.format(m=m))

    assert_error(r, 400, ("InvalidResourceName", "InvalidUri"))
    assert files_named(gateway.root / new_container, m) == []


def test_name_backslash_is_a_slash(gateway, new_container):
    """Azure's front end turns "\\" in a URL path into "/" (its .NET Uri
    does; the JS SDK notes it): a\\b is the blob a/b."""

    r = put_raw(gateway, new_container, "bs\\x.txt")

    assert r.status == 201, r
    assert (gateway.root / new_container / "bs" / "x.txt").is_file()
    assert get_raw(gateway, new_container, "bs/x.txt").body == DATA


def test_traversal_cannot_read_other_container(gateway, new_container):
    other = uniq("other")
    assert gateway.request("PUT", "/" + other,
                           query=[("restype", "container")]).status == 201
    assert put_raw(gateway, other, "secret", b"secret bytes").status == 201

    for raw in ("../%s/secret" % other, "..%%2F%s%%2Fsecret" % other,
                "%%2e%%2e/%s/secret" % other):
        r = get_raw(gateway, new_container, raw)
        assert r.status == 400, (raw, r)
        assert b"secret bytes" not in r.body


def test_traversal_cannot_delete_other_container_blob(gateway, new_container):
    other = uniq("other")
    assert gateway.request("PUT", "/" + other,
                           query=[("restype", "container")]).status == 201
    assert put_raw(gateway, other, "keep", b"keep").status == 201

    r = gateway.request("DELETE", "/%s/..%%2F%s%%2Fkeep"
                        % (new_container, other))

    assert_error(r, 400, "InvalidResourceName")
    assert (gateway.root / other / "keep").read_bytes() == b"keep"


def test_internal_state_not_reachable(gateway):
    for raw in ("/.blob/tmp/x", "/.blob/service.xml", "/%2Eblob/tmp/x",
                "/.blob"):
        r = gateway.request("GET", raw)
        assert_error(r, 400, "InvalidResourceName")

    m = uniq("esc")
    r = put_raw(gateway, ".blob", "tmp/" + m)
    assert_error(r, 400, "InvalidResourceName")
    assert files_named(gateway.root / ".blob", m) == []


# a blob beside a virtual directory of the same name

def test_blob_below_a_blob_conflicts(gateway, new_container):
    assert put_raw(gateway, new_container, "a", b"file a").status == 201

    r = put_raw(gateway, new_container, "a/b")

    assert_error(r, 409, "PathConflict")
    assert (gateway.root / new_container / "a").read_bytes() == b"file a"


def test_blob_deep_below_a_blob_conflicts(gateway, new_container):
    assert put_raw(gateway, new_container, "a").status == 201

    r = put_raw(gateway, new_container, "a/b/c/d")

    assert_error(r, 409, "PathConflict")
    assert (gateway.root / new_container / "a").is_file()


def test_blob_over_a_virtual_directory_conflicts(gateway, new_container):
    assert put_raw(gateway, new_container, "d/e", b"e").status == 201

    r = put_raw(gateway, new_container, "d")

    assert_error(r, 409, "PathConflict")
    assert (gateway.root / new_container / "d" / "e").read_bytes() == b"e"


def test_conflict_if_none_match_star(gateway, new_container):
    assert put_raw(gateway, new_container, "d2/e").status == 201

    r = put_raw(gateway, new_container, "d2", headers={"If-None-Match": "*"})

    assert r.status == 409, r
    assert r.headers.get("x-ms-error-code") in ("PathConflict",
                                                "BlobAlreadyExists")
    assert (gateway.root / new_container / "d2" / "e").is_file()


# symbolic links written by NFS clients

@pytest.fixture
def outside(tmp_path):
    """A directory outside every data root, with a file in it."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "secret.txt").write_bytes(b"outside secret")
    return d


def test_symlinked_directory_read_not_followed(gateway, new_container,
                                               outside):
    os.symlink(outside, gateway.root / new_container / "link")

    r = get_raw(gateway, new_container, "link/secret.txt")

    assert_error(r, 404, "BlobNotFound")
    assert b"outside secret" not in r.body


def test_symlinked_directory_head_not_followed(gateway, new_container,
                                               outside):
    os.symlink(outside, gateway.root / new_container / "link")

    r = get_raw(gateway, new_container, "link/secret.txt", method="HEAD")

    assert_error(r, 404, "BlobNotFound", head=True)


def test_symlinked_directory_write_refused(gateway, new_container, outside):
    os.symlink(outside, gateway.root / new_container / "link")

    r = put_raw(gateway, new_container, "link/new.txt")

    assert_error(r, 409, "PathConflict")
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_symlinked_directory_overwrite_refused(gateway, new_container,
                                               outside):
    os.symlink(outside, gateway.root / new_container / "link")

    r = put_raw(gateway, new_container, "link/secret.txt", b"pwned")

    assert_error(r, 409, "PathConflict")
    assert (outside / "secret.txt").read_bytes() == b"outside secret"


def test_symlinked_directory_nested_write_refused(gateway, new_container,
                                                  outside):
    os.symlink(outside, gateway.root / new_container / "link")

    r = put_raw(gateway, new_container, "link/sub/new.txt")

    assert_error(r, 409, "PathConflict")
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_symlinked_directory_delete_refused(gateway, new_container, outside):
    os.symlink(outside, gateway.root / new_container / "link")

    r = gateway.request("DELETE", "/%s/link/secret.txt" % new_container)

    assert r.status in (404, 409), r
    assert (outside / "secret.txt").read_bytes() == b"outside secret"


def test_symlinked_directory_set_metadata_refused(gateway, new_container,
                                                  outside):
    os.symlink(outside, gateway.root / new_container / "link")
    before = os.stat(outside / "secret.txt").st_mtime_ns

    r = gateway.request("PUT", "/%s/link/secret.txt" % new_container,
                        query=[("comp", "metadata")],
                        headers={"x-ms-meta-a": "1"})

    assert r.status in (404, 409), r
    assert os.stat(outside / "secret.txt").st_mtime_ns == before


def test_symlinked_file_read_not_followed(gateway, new_container, outside):
    os.symlink(outside / "secret.txt", gateway.root / new_container / "fl")

    r = get_raw(gateway, new_container, "fl")

    assert_error(r, 404, "BlobNotFound")
    assert b"outside secret" not in r.body


def test_symlinked_file_set_properties_not_followed(gateway, new_container,
                                                    outside):
    os.symlink(outside / "secret.txt", gateway.root / new_container / "fl")
    before = os.stat(outside / "secret.txt").st_mtime_ns

    r = gateway.request("PUT", "/%s/fl" % new_container,
                        query=[("comp", "properties")],
                        headers={"x-ms-blob-content-type": "a/b"})

    assert r.status in (404, 409), r
    assert os.stat(outside / "secret.txt").st_mtime_ns == before


def test_symlinked_file_overwrite_leaves_target(gateway, new_container,
                                                outside):
    os.symlink(outside / "secret.txt", gateway.root / new_container / "fl")

    r = put_raw(gateway, new_container, "fl", b"pwned")

    assert r.status in (201, 409), r
    assert (outside / "secret.txt").read_bytes() == b"outside secret"


def test_symlinked_file_delete_leaves_target(gateway, new_container,
                                             outside):
    os.symlink(outside / "secret.txt", gateway.root / new_container / "fl")

    r = gateway.request("DELETE", "/%s/fl" % new_container)

    assert r.status in (202, 404, 409), r
    assert (outside / "secret.txt").read_bytes() == b"outside secret"


@pytest.fixture
def linked_container(gateway, outside):
    """A container directory that is a symbolic link out of the root."""
    name = "lc" + uuid.uuid4().hex[:12]
    os.symlink(outside, gateway.root / name)
    yield name
    os.unlink(gateway.root / name)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_symlinked_container_read_refused(gateway, linked_container, outside,
                                          method):
    r = get_raw(gateway, linked_container, "secret.txt", method=method)

    assert_error(r, 404, "ContainerNotFound", head=(method == "HEAD"))
    assert b"outside secret" not in r.body


def test_symlinked_container_writes_refused(gateway, linked_container,
                                            outside):
    path = "/%s/secret.txt" % linked_container
    before = os.stat(outside / "secret.txt").st_mtime_ns
    block = base64.b64encode(b"block-1").decode()
    answers = {
        "put blob": put_raw(gateway, linked_container, "secret.txt", b"pwned"),
        "new blob": put_raw(gateway, linked_container, "new.txt"),
        "set metadata": gateway.request("PUT", path,
                                        query=[("comp", "metadata")],
                                        headers={"x-ms-meta-a": "1"}),
        "set properties": gateway.request(
            "PUT", path, query=[("comp", "properties")],
            headers={"x-ms-blob-content-type": "a/b"}),
        "put block": gateway.request("PUT", path, query=[
            ("comp", "block"), ("blockid", block)], body=b"pwned"),
        "put block list": gateway.request(
            "PUT", path, query=[("comp", "blocklist")],
            body=("<BlockList><Latest>%s</Latest></BlockList>"
                  % block).encode()),
        "delete blob": gateway.request("DELETE", path),
    }

    for what, r in answers.items():
        assert r.status == 404, (what, r)
        assert r.error_code == "ContainerNotFound", (what, r)
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"outside secret"
    assert os.stat(outside / "secret.txt").st_mtime_ns == before


def test_relative_symlink_to_other_container(gateway, new_container):
    other = uniq("other")
    assert gateway.request("PUT", "/" + other,
                           query=[("restype", "container")]).status == 201
    assert put_raw(gateway, other, "secret", b"other secret").status == 201
    os.symlink("../" + other, gateway.root / new_container / "rel")

    r = get_raw(gateway, new_container, "rel/secret")

    assert_error(r, 404, "BlobNotFound")
    w = put_raw(gateway, new_container, "rel/new")
    assert_error(w, 409, "PathConflict")
    assert sorted(os.listdir(gateway.root / other)) == ["secret"]


# container names

@pytest.mark.parametrize("name", [
    "ab", "a" * 64, "UPPER", "Mixed1", "a--b", "-ab", "ab-", "a_b", "a.b",
    "a%20b", "%2Eblob",
])
def test_invalid_container_name_blob_put(gateway, name):
    r = put_raw(gateway, name, "x")

    assert_error(r, 400, "InvalidResourceName")
    assert not (gateway.root / urllib.parse.unquote(name) / "x").exists()


@pytest.mark.parametrize("name", ["ab", "a" * 64, "UPPER", "a--b", "-ab"])
def test_invalid_container_name_blob_get(gateway, name):
    r = get_raw(gateway, name, "x")

    assert_error(r, 400, "InvalidResourceName")


@pytest.mark.parametrize("name", ["ab", "a" * 64, "UPPER", "a--b", "ab-"])
def test_invalid_container_name_create(gateway, name):
    r = gateway.request("PUT", "/" + name, query=[("restype", "container")])

    assert_error(r, 400, "InvalidResourceName")
    assert not (gateway.root / name).exists()


@pytest.mark.parametrize("name", ["a1b", "0" * 63, "a-b-c"])
def test_edge_valid_container_names(gateway, name):
    name = name if len(name) == 63 else name + uuid.uuid4().hex[:6]

    r = gateway.request("PUT", "/" + name, query=[("restype", "container")])

    assert r.status in (201, 409), r
    assert put_raw(gateway, name, "x").status == 201


@pytest.mark.time_limit(30)
def test_fifo_in_container_is_not_a_blob(gateway, new_container):
    # an NFS client's FIFO must neither be served nor stall a thread
    fifo = gateway.root / new_container / "pipe"
    os.mkfifo(fifo)
    for method in ("GET", "HEAD"):
        r = gateway.request(method, "/%s/pipe" % new_container)
        assert r.status == 404, r
        assert r.headers["x-ms-error-code"] == "BlobNotFound"
    r = gateway.request("GET", "/%s/pipe" % new_container,
                        query={"comp": "metadata"})
    assert r.status == 404, r
    # and the gateway still serves
    r = gateway.request("GET", "/" + new_container,
                        query={"restype": "container"})
    assert r.status == 200, r
