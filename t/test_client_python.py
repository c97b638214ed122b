"""Gate: the azure-storage-blob Python SDK (Debian python3-azure, only
/usr/bin/python3 has it) against the gateway."""

import hashlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import clients  # noqa: E402

pytestmark = pytest.mark.clients

azure_blob = pytest.importorskip(
    "azure.storage.blob",
    reason="azure-storage-blob missing: run with /usr/bin/python3 "
           "(apt-get install python3-azure)")

from azure.core import MatchConditions  # noqa: E402
from azure.core.exceptions import (  # noqa: E402
    HttpResponseError, ResourceExistsError, ResourceModifiedError,
    ResourceNotFoundError)
from azure.storage.blob import (  # noqa: E402
    BlobBlock, BlobPrefix, BlobServiceClient, BlockState, ContentSettings)

KiB = 1024
# Small enough that a few hundred KiB already go as concurrent Put Block +
# Put Block List, and downloads as several ranged GETs.
BLOCK = 64 * KiB


@pytest.fixture(scope="module")
def service(gateway):
    return BlobServiceClient.from_connection_string(
        gateway.conn_str,
        max_single_put_size=BLOCK, max_block_size=BLOCK,
        max_single_get_size=BLOCK, max_chunk_get_size=BLOCK,
        retry_total=0)


@pytest.fixture
def container(service):
    cc = service.create_container(clients.unique_name("py"))
    yield cc
    try:
        cc.delete_container()
    except ResourceNotFoundError:
        pass


def _data(size, seed):
    return clients.stamped_bytes(size, seed=seed)


def test_create_container(service, gateway):
    name = clients.unique_name("py")
    cc = service.create_container(name, metadata={"owner": "gate",
                                                  "purpose": "py sdk"})
    try:
        props = cc.get_container_properties()
        assert props.name == name
        assert props.metadata == {"owner": "gate", "purpose": "py sdk"}
        assert props.etag and props.last_modified
        listed = [c.name for c in service.list_containers(
            name_starts_with=name)]
        assert listed == [name]
        with pytest.raises(ResourceExistsError):
            service.create_container(name)
        root = getattr(gateway, "root", None)
        if root is not None:
            assert (Path(root) / name).is_dir()
    finally:
        cc.delete_container()


def test_block_upload_concurrent(container, gateway):
    size = 2 * 1024 * KiB + 12345
    data = _data(size, 1)
    bc = container.get_blob_client("dir/big.bin")
    res = bc.upload_blob(data, max_concurrency=4)
    assert res["etag"]

    committed, uncommitted = bc.get_block_list("all")
    nblocks = -(-size // BLOCK)
    assert len(committed) == nblocks
    assert [b.size for b in committed] == \
        [BLOCK] * (nblocks - 1) + [size - BLOCK * (nblocks - 1)]
    assert len({b.id for b in committed}) == nblocks
    assert uncommitted == []

    props = bc.get_blob_properties()
    assert props.size == size
    assert props.blob_type == "BlockBlob"
    assert props.etag == res["etag"]

    assert bc.download_blob(max_concurrency=4).readall() == data
    clients.assert_stored(gateway, container.container_name, "dir/big.bin",
                          data=data)


def test_single_put_and_overwrite(container):
    bc = container.get_blob_client("small.txt")
    bc.upload_blob(b"hello, blob\n")
    assert bc.download_blob().readall() == b"hello, blob\n"
    assert bc.get_blob_properties().size == 12
    # overwrite with a block-uploaded blob, then with a shorter one
    big = _data(5 * BLOCK + 3, 2)
    bc.upload_blob(big, overwrite=True, max_concurrency=4)
    assert bc.download_blob().readall() == big
    bc.upload_blob(b"x", overwrite=True)
    assert bc.download_blob().readall() == b"x"
    assert bc.get_blob_properties().size == 1
    # empty blob: the SDK's first ranged GET is past the end
    bc.upload_blob(b"", overwrite=True)
    assert bc.download_blob().readall() == b""
    assert bc.get_blob_properties().size == 0


def test_list_prefix_and_walk(container):
    names = ["a/1", "a/2", "a/b/3", "a/b/c/4", "a-x", "b/5", "top",
             "dir one/naïve ü+%.txt"]
    for i, n in enumerate(names):
        container.upload_blob(n, b"%d" % i)

    flat = [b.name for b in container.list_blobs()]
    assert flat == sorted(names, key=lambda s: s.encode())

    assert [b.name for b in container.list_blobs(name_starts_with="a/")] == \
        ["a/1", "a/2", "a/b/3", "a/b/c/4"]

    # (the SDK yields a page's prefixes before its blobs)
    top = [(isinstance(i, BlobPrefix), i.name)
           for i in container.walk_blobs(delimiter="/")]
    assert top == [(True, "a/"), (True, "b/"), (True, "dir one/"),
                   (False, "a-x"), (False, "top")]

    sub = [(isinstance(i, BlobPrefix), i.name)
           for i in container.walk_blobs(name_starts_with="a/",
                                         delimiter="/")]
    assert sub == [(True, "a/b/"), (False, "a/1"), (False, "a/2")]

    # pagination: continuation markers must resume exactly where they left
    pages = list(container.list_blobs(results_per_page=3).by_page())
    paged = [b.name for p in pages for b in p]
    assert len(pages) == 3
    assert paged == flat

    item = next(iter(container.list_blobs(name_starts_with="dir one/")))
    assert item.name == "dir one/naïve ü+%.txt"
    assert item.size == 1
    assert container.download_blob(item.name).readall() == b"7"


def test_ranged_and_full_download(container):
    size = 5 * BLOCK + 777
    data = _data(size, 3)
    bc = container.get_blob_client("r.bin")
    bc.upload_blob(data)
    for off, length in [(0, 1), (1, 4096), (BLOCK - 5, 10),
                        (size - 10, 10), (size - 1, 1), (12345, 3 * BLOCK)]:
        got = bc.download_blob(offset=off, length=length).readall()
        assert got == data[off:off + length], (off, length)
    # open-ended ranges and a length running past the end
    assert bc.download_blob(offset=size - 100).readall() == data[-100:]
    assert bc.download_blob(offset=size - 5, length=50).readall() == \
        data[-5:]
    # whole blob: one ranged GET, then concurrent chunked GETs
    dl = bc.download_blob(max_concurrency=4)
    assert dl.size == size
    assert dl.readall() == data
    # a range that starts past the end is refused
    with pytest.raises(HttpResponseError) as ei:
        bc.download_blob(offset=size + 10, length=5).readall()
    assert ei.value.status_code == 416


def test_metadata_and_content_settings(container):
    data = _data(3 * BLOCK + 1, 4)
    settings = ContentSettings(
        content_type="application/x-gate", content_encoding="identity",
        content_language="en-GB", content_disposition="attachment; x=1",
        cache_control="no-cache")
    meta = {"alpha": "1", "beta": "two words", "empty": ""}
    for name, blob in (("single", data[:100]), ("blocks", data)):
        settings.content_md5 = bytearray(hashlib.md5(blob).digest())
        bc = container.get_blob_client(name)
        bc.upload_blob(blob, metadata=meta, content_settings=settings,
                       max_concurrency=4)
        p = bc.get_blob_properties()
        assert p.metadata == meta, name
        cs = p.content_settings
        assert cs.content_type == "application/x-gate"
        assert cs.content_encoding == "identity"
        assert cs.content_language == "en-GB"
        assert cs.content_disposition == "attachment; x=1"
        assert cs.cache_control == "no-cache"
        assert bytes(cs.content_md5) == bytes(settings.content_md5)
        # GET returns the same properties
        dl = bc.download_blob()
        assert dl.properties.metadata == meta
        assert dl.properties.content_settings.content_type == \
            "application/x-gate"
        assert dl.readall() == blob

    bc = container.get_blob_client("blocks")
    etag = bc.get_blob_properties().etag
    # Set Blob Metadata replaces the whole set
    bc.set_blob_metadata({"gamma": "3"})
    p = bc.get_blob_properties()
    assert p.metadata == {"gamma": "3"}
    assert p.etag != etag
    # Set Blob Properties replaces every content header; unset ones clear
    bc.set_http_headers(ContentSettings(content_type="text/plain"))
    cs = bc.get_blob_properties().content_settings
    assert cs.content_type == "text/plain"
    assert cs.content_language is None
    assert cs.content_disposition is None
    assert cs.cache_control is None
    assert bc.download_blob().readall() == data
    bc.set_blob_metadata({})
    assert bc.get_blob_properties().metadata == {}


def test_if_none_match_star(container):
    for name, first, second in (("put", b"first", b"second"),
                                ("blocks", _data(4 * BLOCK, 5),
                                 _data(4 * BLOCK + 9, 6))):
        bc = container.get_blob_client(name)
        bc.upload_blob(first, overwrite=False, max_concurrency=4)
        with pytest.raises(ResourceExistsError):
            bc.upload_blob(second, overwrite=False, max_concurrency=4)
        assert bc.download_blob().readall() == first, name


def test_etag_conditions(container):
    bc = container.get_blob_client("cond")
    e1 = bc.upload_blob(b"v1")["etag"]
    e2 = bc.upload_blob(b"v2", overwrite=True, etag=e1,
                        match_condition=MatchConditions.IfNotModified)["etag"]
    assert e2 != e1
    assert bc.download_blob().readall() == b"v2"

    with pytest.raises(ResourceModifiedError):
        bc.upload_blob(b"v3", overwrite=True, etag=e1,
                       match_condition=MatchConditions.IfNotModified)
    with pytest.raises(ResourceModifiedError):
        bc.upload_blob(_data(3 * BLOCK, 7), overwrite=True, etag=e1,
                       match_condition=MatchConditions.IfNotModified)
    assert bc.download_blob().readall() == b"v2"
    assert bc.get_blob_properties().etag == e2

    # reads
    with pytest.raises(ResourceModifiedError):
        bc.download_blob(etag=e1,
                         match_condition=MatchConditions.IfNotModified)
    assert bc.download_blob(
        etag=e2, match_condition=MatchConditions.IfNotModified
    ).readall() == b"v2"
    # If-None-Match on a read answers 304 (the SDK's exception class for it
    # depends on the error code the server sends, so check the status)
    with pytest.raises(HttpResponseError) as ei:
        bc.get_blob_properties(etag=e2,
                               match_condition=MatchConditions.IfModified)
    assert ei.value.status_code == 304
    with pytest.raises(HttpResponseError) as ei:
        bc.download_blob(etag=e2, match_condition=MatchConditions.IfModified)
    assert ei.value.status_code == 304
    assert bc.download_blob(
        etag=e1, match_condition=MatchConditions.IfModified
    ).readall() == b"v2"

    # metadata write and delete
    with pytest.raises(ResourceModifiedError):
        bc.set_blob_metadata({"k": "v"}, etag=e1,
                             match_condition=MatchConditions.IfNotModified)
    with pytest.raises(ResourceModifiedError):
        bc.delete_blob(etag=e1, match_condition=MatchConditions.IfNotModified)
    assert bc.exists()
    bc.delete_blob(etag=e2, match_condition=MatchConditions.IfNotModified)
    assert not bc.exists()


def test_uncommitted_block_list(container):
    bc = container.get_blob_client("staged/blob")
    parts = {"blk-%03d" % i: _data(1000 * (i + 1) + i, 10 + i)
             for i in range(4)}
    for bid, d in parts.items():
        bc.stage_block(bid, d)

    committed, uncommitted = bc.get_block_list("uncommitted")
    assert committed == []
    assert sorted((b.id, b.size) for b in uncommitted) == \
        sorted((k, len(v)) for k, v in parts.items())
    # staged blocks alone do not make a blob
    with pytest.raises(ResourceNotFoundError):
        bc.get_blob_properties()
    assert [b.name for b in container.list_blobs()] == []

    bc.commit_block_list(["blk-002", "blk-000"])
    assert bc.download_blob().readall() == parts["blk-002"] + \
        parts["blk-000"]
    committed, uncommitted = bc.get_block_list("all")
    assert [(b.id, b.size) for b in committed] == \
        [("blk-002", len(parts["blk-002"])),
         ("blk-000", len(parts["blk-000"]))]
    # the blocks not in the list are discarded by the commit
    assert uncommitted == []

    # a new block next to the committed ones; commit a mix of both
    extra = b"tail-block"
    bc.stage_block("blk-100", extra)
    committed, uncommitted = bc.get_block_list("all")
    assert [b.id for b in committed] == ["blk-002", "blk-000"]
    assert [(b.id, b.size) for b in uncommitted] == [("blk-100", 10)]
    bc.commit_block_list([BlobBlock("blk-000", BlockState.Committed),
                          BlobBlock("blk-100", BlockState.Uncommitted),
                          BlobBlock("blk-000", BlockState.Latest)])
    assert bc.download_blob().readall() == \
        parts["blk-000"] + extra + parts["blk-000"]
    committed, uncommitted = bc.get_block_list("all")
    assert [b.id for b in committed] == ["blk-000", "blk-100", "blk-000"]
    assert uncommitted == []


def test_delete(service, container, gateway):
    names = ["d/x/1", "d/x/2", "keep"]
    for n in names:
        container.upload_blob(n, n.encode())
    container.delete_blob("d/x/1")
    with pytest.raises(ResourceNotFoundError):
        container.get_blob_client("d/x/1").get_blob_properties()
    with pytest.raises(ResourceNotFoundError):
        container.delete_blob("d/x/1")
    assert [b.name for b in container.list_blobs()] == ["d/x/2", "keep"]
    container.delete_blob("d/x/2")
    assert [b.name for b in container.list_blobs()] == ["keep"]
    assert [i.name for i in container.walk_blobs(delimiter="/")] == ["keep"]

    name = container.container_name
    container.delete_container()
    assert not container.exists()
    with pytest.raises(ResourceNotFoundError):
        container.get_container_properties()
    assert [c.name for c in service.list_containers(
        name_starts_with=name)] == []
    root = getattr(gateway, "root", None)
    if root is not None:
        assert not (Path(root) / name).exists()
