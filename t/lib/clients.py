"""Helpers for the real-client gate tests (Python SDK, JS SDK, AzCopy,
rclone): locating the client tools, generating test data, comparing
trees, parsing client summaries."""

import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

T_DIR = Path(__file__).resolve().parents[1]
NODE_DIR = T_DIR / "node"
JS_DIR = T_DIR / "js"

MiB = 1024 * 1024
GiB = 1024 * MiB


def unique_name(prefix="c"):
    """A container name: lowercase letters and digits, 3..63 characters."""
    return prefix + uuid.uuid4().hex[:20]


# --- locating tools -------------------------------------------------------

def _missing(what):
    pytest.fail("%s is not installed; run scripts/install-deps.sh" % what,
                pytrace=False)


def node_bin():
    node = shutil.which("node")
    if node is None:
        _missing("node")
    if not (NODE_DIR / "node_modules" / "@azure" / "storage-blob").is_dir():
        _missing("@azure/storage-blob (in %s)" % NODE_DIR)
    return node


def azcopy_bin(tmp_dir=None):
    """The AzCopy binary shipped in @azure-tools/azcopy-linux.  npm installs
    it without the execute bit; set it, or use an executable copy if the
    package directory is read-only."""
    exe = (NODE_DIR / "node_modules" / "@azure-tools" / "azcopy-linux"
           / "dist" / "bin" / "azcopy_linux_amd64")
    if not exe.is_file():
        _missing("azcopy (@azure-tools/azcopy-linux in %s)" % NODE_DIR)
    if os.access(exe, os.X_OK):
        return str(exe)
    try:
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP
                  | stat.S_IXOTH)
        return str(exe)
    except OSError:
        if tmp_dir is None:
            raise
    copy = Path(tmp_dir) / "azcopy"
    shutil.copyfile(exe, copy)
    copy.chmod(0o755)
    return str(copy)


def rclone_bin():
    rclone = shutil.which("rclone")
    if rclone is None:
        _missing("rclone")
    return rclone


# --- URLs -----------------------------------------------------------------

def sas_join(sas_url, *parts):
    """Insert path parts (percent-encoded here, '/' kept) into a SAS URL
    before its query string: sas_join("http://h/acct/c?sv=..", "d/x").
    A "*" stays literal: AzCopy reads it as a wildcard."""
    base, sep, query = sas_url.partition("?")
    for p in parts:
        base = base.rstrip("/") + "/" + quote(p, safe="/*")
    return base + sep + query


# --- data -----------------------------------------------------------------

def stamped_bytes(size, seed=0, pool=None):
    """size bytes of random-looking data, cheap to produce: a 1 MiB random
    pool repeated, with every 4 KiB page stamped with its offset and seed, so
    that no two pages are alike and a block stored at the wrong offset (or
    dropped, or duplicated) changes the content."""
    if pool is None:
        pool = os.urandom(MiB)
    out = bytearray()
    off = 0
    while off < size:
        chunk = bytearray(pool[: min(MiB, size - off)])
        for p in range(0, len(chunk), 4096):
            stamp = b"%016x%08x" % (off + p, seed)
            n = min(len(stamp), len(chunk) - p)
            chunk[p:p + n] = stamp[:n]
        out += chunk
        off += len(chunk)
    return bytes(out)


def write_big_file(path, size):
    """Write a large file quickly (no holes: every byte is written), with
    distinct content in every 4 KiB page; returns its MD5 hex digest."""
    pool = bytearray(os.urandom(MiB))
    md5 = hashlib.md5()
    with open(path, "wb") as f:
        off = 0
        while off < size:
            n = min(MiB, size - off)
            # vary the pool per MiB by stamping each page with its offset
            chunk = pool[:n]
            for p in range(0, n, 4096):
                stamp = b"%016x" % (off + p)
                k = min(16, n - p)
                chunk[p:p + k] = stamp[:k]
            f.write(chunk)
            md5.update(chunk)
            off += n
    return md5.hexdigest()


def make_tree(root, nfiles, max_size=64 * 1024, dirs=("", "a", "a/b",
              "a/b/c", "d", "e f", "g+h"), seed=1, extra=None):
    """Create nfiles small files spread over dirs under root (sizes vary,
    including 0 and 1); extra maps relative name -> size for additional
    files.  Returns {relative posix path: bytes}."""
    import random
    rnd = random.Random(seed)
    pool = os.urandom(max(max_size, 1))
    files = {}
    sizes = [0, 1, 4095, 4096, 4097]
    for i in range(nfiles):
        d = dirs[i % len(dirs)]
        size = sizes[i] if i < len(sizes) else rnd.randrange(0, max_size)
        name = (d + "/" if d else "") + "f%04d.bin" % i
        start = rnd.randrange(0, len(pool))
        data = (b"%08d" % i + (pool[start:] + pool[:start]))[:size]
        files[name] = data
    for name, size in (extra or {}).items():
        files[name] = stamped_bytes(size, seed=len(files))
    for name, data in files.items():
        p = Path(root) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def file_digest(path, algo="sha256"):
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def tree_digest(root):
    """{relative posix path: (size, sha256)} of every regular file."""
    root = Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = (p.stat().st_size,
                                                   file_digest(p))
    return out


def assert_same_tree(a, b):
    """The two directories hold the same files with identical bytes."""
    da, db = tree_digest(a), tree_digest(b)
    assert sorted(da) == sorted(db), (
        "only in %s: %s; only in %s: %s"
        % (a, sorted(set(da) - set(db))[:10], b,
           sorted(set(db) - set(da))[:10]))
    diff = [k for k in da if da[k] != db[k]]
    assert not diff, "files differ: %s" % diff[:10]
    return da


def assert_stored(gateway, container, name, data=None, digest=None):
    """When the fixture exposes the account root (the real gateway does),
    check that the blob is the plain file <root>/<container>/<name>."""
    root = getattr(gateway, "root", None)
    if root is None:
        return
    p = Path(root) / container / name
    assert p.is_file(), "blob %s/%s is not stored at %s" % (container, name, p)
    if data is not None:
        assert p.read_bytes() == data, "stored file %s differs" % p
    if digest is not None:
        assert file_digest(p) == digest, "stored file %s differs" % p


# --- running clients ------------------------------------------------------

def run(cmd, env=None, timeout=600, check=True, cwd=None):
    """Run a client; on failure show its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    res = subprocess.run(cmd, env=full_env, cwd=cwd, timeout=timeout,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    if check and res.returncode != 0:
        pytest.fail("%s exited with %d\n--- stdout\n%s\n--- stderr\n%s"
                    % (" ".join(map(str, cmd[:2])), res.returncode,
                       res.stdout[-20000:], res.stderr[-20000:]),
                    pytrace=False)
    return res


def azcopy_env(tmp_dir):
    """Keep AzCopy's logs and job plans in the test's tmp dir."""
    tmp_dir = Path(tmp_dir)
    (tmp_dir / "azlogs").mkdir(exist_ok=True)
    (tmp_dir / "azplans").mkdir(exist_ok=True)
    return {
        "AZCOPY_LOG_LOCATION": str(tmp_dir / "azlogs"),
        "AZCOPY_JOB_PLAN_LOCATION": str(tmp_dir / "azplans"),
        "AZCOPY_DISABLE_SYSLOG": "true",
        "AZCOPY_CONCURRENCY_VALUE": "16",
        "AZCOPY_BUFFER_GB": "1",
        "AZCOPY_AUTO_LOGIN_TYPE": "",
    }


def azcopy_summary(output):
    """The 'Key: value' lines of AzCopy's final job summary, as a dict
    (numbers converted to int)."""
    out = {}
    for line in output.splitlines():
        m = re.match(r"^([A-Z][A-Za-z ()]+?):\s+(\S.*?)\s*$", line)
        if m:
            v = m.group(2)
            out[m.group(1)] = int(v) if re.fullmatch(r"\d+", v) else v
    return out


def azcopy_log_tail(tmp_dir, n=60):
    """The last lines of AzCopy's newest log, for failure messages."""
    logs = sorted(Path(tmp_dir, "azlogs").glob("*.log"),
                  key=lambda p: p.stat().st_mtime)
    if not logs:
        return ""
    return "\n".join(logs[-1].read_text(errors="replace").splitlines()[-n:])


def rclone_config(tmp_dir, sas_url, remote="gw"):
    """Write an rclone config with one azureblob remote using the account
    SAS URL (the only way rclone 1.60 reaches a loopback endpoint); returns
    the env to run rclone with."""
    conf = Path(tmp_dir) / "rclone.conf"
    conf.write_text("[%s]\ntype = azureblob\nsas_url = %s\n"
                    % (remote, sas_url))
    return {"RCLONE_CONFIG": str(conf)}
