#!/usr/bin/env bash
#
# bench.sh: the benchmark (`make bench` builds, installs wrk and AzCopy,
# then calls this).  ngx_blob_module against plain nginx (static GET with
# sendfile, DAV PUT, autoindex) on one data directory, in one run; writes
# the table to docs/BENCHMARKS.md and prints it.  6-10 minutes on 2 cores.
#
#   BLOB_MODULE     the module .so (default build/nginx/objs/...)
#   BLOB_RUN_DIR    scratch: data, configs, logs (default build/bench; it is
#                   emptied first and removed afterwards unless BENCH_KEEP=1;
#                   needs about 8 GB free)
#   BENCH_DURATION  seconds per wrk/hload measurement (default 6)
#   BENCH_ROUNDS    measurements per server and metric (default 3)
#   BENCH_WORKERS   worker_processes of every nginx (default 2)
#   BENCH_QUICK=1   small sizes and short runs, to check the script itself
#   BENCH_OUT       where the report goes (default docs/BENCHMARKS.md, "-"
#                   for stdout only)
#
# The logic is in scripts/bench/bench.py (its docstring says how each
# figure is measured); /usr/bin/python3 because it has the packages the
# tests use, though the benchmark needs only the standard library.

set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)

module=$repo/build/nginx/objs/ngx_http_blob_module.so
export BLOB_MODULE=${BLOB_MODULE:-$module}
export BLOB_RUN_DIR=${BLOB_RUN_DIR:-$repo/build/bench}

if [ ! -f "$BLOB_MODULE" ]; then
    echo "bench.sh: $BLOB_MODULE not built: run make" >&2
    exit 1
fi

for tool in wrk curl; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "bench.sh: $tool missing: run scripts/install-deps.sh bench" >&2
        exit 1
    fi
done

exec /usr/bin/python3 "$repo/scripts/bench/bench.py"
