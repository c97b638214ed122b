"""The fuzz targets (fuzz/) replay their seed corpora once.

`make fuzz` fuzzes for minutes; this only checks, in seconds, that the
targets still build against the module's current code and that no seed
crashes one (the corpora hold every input that once crashed a target, as
crash-*).  The first run builds the targets (about 20 s on 2 cores) and,
unless scripts/build-asan.sh has fetched it already, Debian's nginx source
package (about a minute).
"""

import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
@pytest.mark.time_limit(900)
def test_fuzz_targets_replay_corpus():
    module = os.environ.get("BLOB_MODULE")
    if not module:
        # the sanitizer run (make test-asan) has no module tree to build
        # against; the replay belongs to make test
        pytest.skip("no BLOB_MODULE: the fuzz replay runs in make test")

    # BLOB_MODULE is $BUILD/nginx/objs/ngx_http_blob_module.so
    build = os.path.dirname(os.path.dirname(os.path.dirname(module)))
    env = dict(os.environ, BUILD=build, FUZZ_SECONDS="0")

    r = subprocess.run([os.path.join(REPO, "fuzz", "build.sh")], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    assert r.returncode == 0, "fuzz/build.sh failed:\n" + r.stdout[-4000:]

    r = subprocess.run([os.path.join(REPO, "fuzz", "run.sh")], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    assert r.returncode == 0, "a seed crashed a target:\n" + r.stdout[-4000:]
