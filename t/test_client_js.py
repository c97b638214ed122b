"""Gate: the @azure/storage-blob JS SDK (node, installed in t/node) against
the gateway.  The client side runs in t/js/sdk_gate.mjs, which asserts each
step itself; this test then checks what it left behind with the Python
SDK."""

import hashlib
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import clients  # noqa: E402

pytestmark = pytest.mark.clients

BLOCK = 64 * 1024


def test_js_sdk_roundtrip(gateway, tmp_path):
    node = clients.node_bin()
    size = 2 * 1024 * 1024 + 4321
    data = clients.stamped_bytes(size, seed=42)
    src = tmp_path / "data.bin"
    src.write_bytes(data)
    out = tmp_path / "out.bin"
    container = clients.unique_name("js")

    res = clients.run(
        [node, str(clients.JS_DIR / "sdk_gate.mjs")],
        env={"BLOB_CONN_STR": gateway.conn_str,
             "BLOB_CONTAINER": container,
             "BLOB_DATA": str(src), "BLOB_OUT": str(out)},
        timeout=300)
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["ok"] is True
    assert report["blocks"] == -(-size // BLOCK)
    assert out.read_bytes() == data

    # what the JS client wrote, seen by another client
    blob_sdk = pytest.importorskip("azure.storage.blob")
    svc = blob_sdk.BlobServiceClient.from_connection_string(
        gateway.conn_str, retry_total=0)
    cc = svc.get_container_client(container)
    try:
        assert [b.name for b in cc.list_blobs()] == ["keep/meta.bin"]
        keep = data[:3 * BLOCK + 17]
        bc = cc.get_blob_client("keep/meta.bin")
        p = bc.get_blob_properties()
        assert p.etag == report["keep_etag"]
        assert p.size == len(keep)
        assert p.metadata == {"gamma": "3", "delta": "x y"}
        cs = p.content_settings
        assert cs.content_type == "text/x-gate"
        assert cs.content_language == "de"
        assert cs.content_disposition == "inline"
        assert cs.cache_control == "max-age=5"
        assert cs.content_encoding == "identity"
        assert bytes(cs.content_md5) == hashlib.md5(keep).digest()
        assert bc.download_blob().readall() == keep
        assert cc.get_container_properties().metadata == {"owner": "js-gate"}
        clients.assert_stored(gateway, container, "keep/meta.bin", data=keep)
    finally:
        cc.delete_container()
