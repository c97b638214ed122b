"""Gate: rclone (Debian 1.60, azureblob backend) against the gateway.  It
reaches a loopback endpoint only through `sas_url`; every file goes as
4 MiB Put Block + Put Block List, with empty x-ms-blob-* headers."""

import hashlib
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import clients  # noqa: E402

pytestmark = pytest.mark.clients

azure_blob = pytest.importorskip("azure.storage.blob")

MiB = clients.MiB
# larger than rclone's 4 MiB chunk: several blocks, last one partial
LARGE = {"big/one.bin": 9 * MiB + 777, "big/two.bin": 4 * MiB}


def rclone(args, env, check=True):
    return clients.run([clients.rclone_bin()] + args + [
        "--retries", "1", "--low-level-retries", "1", "-v",
        "--stats-one-line", "--stats", "0"], env=env, check=check,
        timeout=300)


def test_rclone_copy_check_download_purge(gateway, tmp_path):
    svc = azure_blob.BlobServiceClient.from_connection_string(
        gateway.conn_str, retry_total=0)
    name = clients.unique_name("rc")
    cc = svc.create_container(name)
    try:
        _roundtrip(gateway, tmp_path, cc, name)
    finally:
        if cc.exists():
            cc.delete_container()


def _roundtrip(gateway, tmp_path, cc, name):
    env = clients.rclone_config(tmp_path, gateway.sas_url())
    src = tmp_path / "src"
    files = clients.make_tree(src, 60, extra=LARGE)
    remote = "gw:%s/tree" % name

    rclone(["copy", str(src), remote], env)

    listed = {b.name: b for b in cc.list_blobs()}
    assert sorted(listed) == sorted("tree/" + n for n in files)
    for n, data in files.items():
        b = listed["tree/" + n]
        assert b.size == len(data), n
        # rclone sets Content-MD5 (in Put Block List for block uploads)
        assert b.content_settings.content_md5 is not None, n
        assert bytes(b.content_settings.content_md5) == \
            hashlib.md5(data).digest(), n
    committed, _ = cc.get_blob_client("tree/big/one.bin").get_block_list()
    assert [b.size for b in committed] == [4 * MiB, 4 * MiB, MiB + 777]
    for n in LARGE:
        clients.assert_stored(gateway, name, "tree/" + n, data=files[n])

    # rclone check compares sizes and the MD5s from the listing
    res = rclone(["check", str(src), remote], env)
    out = res.stdout + res.stderr
    assert re.search(r"\b0 differences found", out), out
    assert re.search(r"\b%d matching files" % len(files), out), out
    assert "hashes could not be checked" not in out, out

    # and notices a difference
    changed = src / "a" / "f0001.bin"
    changed.write_bytes(b"different")
    res = rclone(["check", str(src), remote], env, check=False)
    assert res.returncode != 0
    assert re.search(r"\b1 differences found", res.stdout + res.stderr)
    changed.write_bytes(files["a/f0001.bin"])

    dst = tmp_path / "dst"
    rclone(["copy", remote, str(dst)], env)
    clients.assert_same_tree(src, dst)

    # listing through rclone sees the same sizes
    res = rclone(["lsl", remote], env)
    sizes = {}
    for line in res.stdout.splitlines():
        m = re.match(r"^\s*(\d+) \S+ \S+ (.+)$", line)
        if m:
            sizes[m.group(2)] = int(m.group(1))
    assert sizes == {n: len(d) for n, d in files.items()}

    # purge of a directory removes it and only it
    cc.upload_blob("other/keep.txt", b"keep")
    rclone(["purge", remote + "/a"], env)
    left = sorted(b.name for b in cc.list_blobs())
    assert left == sorted(["other/keep.txt"] + [
        "tree/" + n for n in files if not n.startswith("a/")])

    # purge of the container removes the container
    rclone(["purge", "gw:" + name], env)
    assert not cc.exists()
    root = getattr(gateway, "root", None)
    if root is not None:
        assert not (Path(root) / name).exists()
