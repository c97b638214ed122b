"""Gate: AzCopy 10 (from @azure-tools/azcopy-linux in t/node) against the
gateway, with an account SAS.  A loopback URL needs an explicit --from-to,
and AzCopy does not create containers, so the Python SDK does."""

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import clients  # noqa: E402

pytestmark = [pytest.mark.clients, pytest.mark.slow]

azure_blob = pytest.importorskip("azure.storage.blob")

MiB = clients.MiB
# >1 GiB and not a multiple of AzCopy's 8 MiB block; BLOB_AZCOPY_BIG_MB
# shrinks it for quick local iterations only.
BIG_SIZE = int(os.environ.get("BLOB_AZCOPY_BIG_MB", "1040")) * MiB + 12345
NSMALL = 300
BIG = "big/large.bin"


def azcopy(args, tmp_dir, timeout=600):
    res = clients.run([clients.azcopy_bin(tmp_dir)] + args,
                      env=clients.azcopy_env(tmp_dir), timeout=timeout,
                      check=False)
    summary = clients.azcopy_summary(res.stdout)
    if res.returncode != 0 or summary.get("Final Job Status") != "Completed":
        pytest.fail("azcopy %s: exit %d\n--- stdout\n%s\n--- stderr\n%s\n"
                    "--- log tail\n%s"
                    % (args[0], res.returncode, res.stdout[-10000:],
                       res.stderr[-5000:],
                       clients.azcopy_log_tail(tmp_dir)), pytrace=False)
    return summary


@pytest.fixture(scope="module")
def upload(gateway, tmp_path_factory):
    """A tree of NSMALL small files plus one >1 GiB file, uploaded once with
    `azcopy copy --put-md5` into a fresh container."""
    work = tmp_path_factory.mktemp("azcopy")
    src = work / "src"
    src.mkdir()
    files = clients.make_tree(src, NSMALL)
    (src / "big").mkdir()
    big_md5 = clients.write_big_file(src / BIG, BIG_SIZE)
    # sync compares mtimes with Last-Modified (whole seconds): keep the
    # sources clearly older than the upload
    old = time.time() - 3600
    for p in src.rglob("*"):
        os.utime(p, (old, old))

    svc = azure_blob.BlobServiceClient.from_connection_string(
        gateway.conn_str, retry_total=0)
    name = clients.unique_name("azc")
    cc = svc.create_container(name)
    url = gateway.sas_url(container=name)

    summary = azcopy(["copy", str(src) + "/*", url, "--recursive",
                      "--put-md5", "--from-to", "LocalBlob"], work)
    info = {"work": work, "src": src, "files": files, "big_md5": big_md5,
            "cc": cc, "url": url, "summary": summary}
    yield info
    cc.delete_container()
    # the big file and its download: do not leave GiBs in pytest's tmp
    shutil.rmtree(work, ignore_errors=True)


def test_upload_tree(upload, gateway):
    s = upload["summary"]
    n = NSMALL + 1
    assert s["Number of File Transfers"] == n
    assert s["Number of File Transfers Completed"] == n
    assert s["Number of File Transfers Failed"] == 0
    assert s["Number of File Transfers Skipped"] == 0
    assert s["Total Number of Bytes Transferred"] == \
        BIG_SIZE + sum(len(d) for d in upload["files"].values())

    cc = upload["cc"]
    listed = {b.name: b for b in cc.list_blobs()}
    assert sorted(listed) == sorted(list(upload["files"]) + [BIG])
    for name, data in upload["files"].items():
        b = listed[name]
        assert b.size == len(data), name
        assert bytes(b.content_settings.content_md5) == \
            hashlib.md5(data).digest(), name
    big = listed[BIG]
    assert big.size == BIG_SIZE
    assert bytes(big.content_settings.content_md5).hex() == \
        upload["big_md5"]

    # the large file went as blocks, in order, nothing left uncommitted
    committed, uncommitted = cc.get_blob_client(BIG).get_block_list("all")
    assert len(committed) > 1
    assert sum(b.size for b in committed) == BIG_SIZE
    assert len({b.size for b in committed[:-1]}) == 1
    assert uncommitted == []

    for name in ("f0000.bin", "e f/f0005.bin", "g+h/f0006.bin"):
        clients.assert_stored(gateway, cc.container_name, name,
                              data=upload["files"][name])
    clients.assert_stored(gateway, cc.container_name, BIG,
                          digest=clients.file_digest(upload["src"] / BIG))


def test_download_check_md5(upload):
    dst = upload["work"] / "download"
    dst.mkdir(exist_ok=True)
    s = azcopy(["copy", clients.sas_join(upload["url"], "*"), str(dst),
                "--recursive", "--check-md5", "FailIfDifferentOrMissing",
                "--from-to", "BlobLocal"], upload["work"])
    assert s["Number of File Transfers Completed"] == NSMALL + 1
    assert s["Number of File Transfers Failed"] == 0
    clients.assert_same_tree(upload["src"], dst)


def test_sync_copies_only_changes(upload):
    src, cc = upload["src"], upload["cc"]
    big_etag = cc.get_blob_client(BIG).get_blob_properties().etag
    before = {b.name: b.etag for b in cc.list_blobs()}

    changed = {"f0014.bin": b"changed fourteen\n",
               "e f/f0012.bin": os.urandom(70000)}
    added = {"new/one.txt": b"one", "new/deeper/two.bin": os.urandom(3000),
             "a/b/c/three": b""}
    newer = time.time() + 5
    for name, data in list(changed.items()) + list(added.items()):
        p = src / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.utime(p, (newer, newer))

    s = azcopy(["sync", str(src), upload["url"], "--recursive",
                "--put-md5", "--from-to", "LocalBlob"], upload["work"])
    assert s["Number of Copy Transfers for Files"] == 5
    assert s["Number of Copy Transfers Completed"] == 5
    assert s["Number of Copy Transfers Failed"] == 0
    assert s["Number of Deletions at Destination"] == 0

    after = {b.name: b.etag for b in cc.list_blobs()}
    assert sorted(after) == sorted(list(before) + list(added))
    for name, data in list(changed.items()) + list(added.items()):
        assert cc.download_blob(name).readall() == data, name
        assert after[name] != before.get(name)
    untouched = set(before) - set(changed)
    assert {n: after[n] for n in untouched} == \
        {n: before[n] for n in untouched}
    assert cc.get_blob_client(BIG).get_blob_properties().etag == big_etag

    # nothing newer than the blobs now (the edited files were stamped into
    # the future, so age them again): a second sync copies nothing
    old = time.time() - 600
    for name in list(changed) + list(added):
        os.utime(src / name, (old, old))
    s = azcopy(["sync", str(src), upload["url"], "--recursive",
                "--from-to", "LocalBlob"], upload["work"])
    assert s["Number of Copy Transfers for Files"] == 0
    assert s["Number of Copy Transfers Completed"] == 0


def test_remove_virtual_directory(upload, gateway):
    cc = upload["cc"]
    rm_src = upload["work"] / "rm"
    files = clients.make_tree(rm_src, 40, max_size=2000,
                              dirs=("x", "x/y", "x/y/z", "xx", "w"), seed=7)
    azcopy(["copy", str(rm_src), upload["url"], "--recursive",
            "--from-to", "LocalBlob"], upload["work"])
    before = sorted(b.name for b in cc.list_blobs())
    assert set("rm/" + n for n in files) <= set(before)

    s = azcopy(["remove", clients.sas_join(upload["url"], "rm/x"),
                "--recursive", "--from-to", "BlobTrash"], upload["work"])
    gone = sorted("rm/" + n for n in files if n.startswith("x/"))
    assert s["Number of File Transfers Completed"] == len(gone) == 24
    assert s["Number of File Transfers Failed"] == 0

    after = sorted(b.name for b in cc.list_blobs())
    assert after == sorted(set(before) - set(gone))
    assert [b.name for b in cc.list_blobs(name_starts_with="rm/x/")] == []
    # "rm/xx" shares the prefix "rm/x" but is not under the directory
    assert len([n for n in after if n.startswith("rm/xx/")]) == 8
    root = getattr(gateway, "root", None)
    if root is not None:
        d = Path(root) / cc.container_name / "rm" / "x"
        assert not d.exists() or not [p for p in d.rglob("*") if p.is_file()]
