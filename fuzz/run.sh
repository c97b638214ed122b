#!/usr/bin/env bash
#
# run.sh: runs each fuzz target (built by fuzz/build.sh) for FUZZ_SECONDS,
# one after the other, and prints executions, coverage and crashes.
#
#   FUZZ_SECONDS   per target (default 60); 0: run the seed corpus once
#   FUZZ_TARGETS   default: every $OUT/fuzz_* binary
#   FUZZ_RUNS      stop a target after this many executions instead
#                  (FUZZ_SECONDS still bounds it)
#   FUZZ_JOBS      parallel libFuzzer workers per target (default 1)
#   OUT            default $BUILD/fuzz (BUILD default ./build)
#
# New inputs go to $OUT/corpus/<target>, never into the committed seeds
# (fuzz/corpus/<target>); crashes, leaks, timeouts and out-of-memory inputs
# to $OUT/artifacts/<target>/, the libFuzzer output to $OUT/logs/<target>.log.
# The exit status is 1 when any target crashed.

set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
out=${OUT:-$build/fuzz}
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}

if [ -z "${FUZZ_TARGETS:-}" ]; then
    FUZZ_TARGETS=$(cd "$out" && ls fuzz_* 2>/dev/null | sed 's/^fuzz_//')
fi

if [ -z "$FUZZ_TARGETS" ]; then
    echo "fuzz: no targets in $out: run fuzz/build.sh" >&2
    exit 1
fi


# the longest input worth trying: a request head (nginx's 8k lines), a
# block list, a header value

max_len() {
    case $1 in
        block_list) echo 16384 ;;
        range)      echo 256 ;;
        *)          echo 8192 ;;
    esac
}


failed=0

printf '%-12s %8s %12s %9s %6s %7s %8s\n' \
       target seconds executions exec/s cov ft crashes

for t in $FUZZ_TARGETS; do
    bin=$out/fuzz_$t
    seeds=$repo/fuzz/corpus/$t
    work=$out/corpus/$t
    art=$out/artifacts/$t
    log=$out/logs/$t.log

    mkdir -p "$work" "$art" "$out/logs" "$seeds"

    opts=(-timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$t")"
          -print_final_stats=1 -artifact_prefix="$art/")

    if [ -n "${FUZZ_RUNS:-}" ]; then
        opts+=(-runs="$FUZZ_RUNS")
    fi

    if [ -f "$repo/fuzz/dict/$t.dict" ]; then
        opts+=(-dict="$repo/fuzz/dict/$t.dict")
    fi

    start=$(date +%s)
    touch "$out/logs/$t.start"

    if [ "$secs" -eq 0 ]; then
        "$bin" "${opts[@]}" -runs=0 "$seeds" > "$log" 2>&1
        rc=$?

    elif [ "$jobs" -gt 1 ]; then
        # workers share the corpus directory; their logs go to fuzz-N.log
        (cd "$out/logs" && "$bin" "${opts[@]}" -max_total_time="$secs" \
             -jobs="$jobs" -workers="$jobs" "$work" "$seeds") > "$log" 2>&1
        rc=$?
        cat "$out"/logs/fuzz-*.log >> "$log" 2>/dev/null
        rm -f "$out"/logs/fuzz-*.log

    else
        "$bin" "${opts[@]}" -max_total_time="$secs" "$work" "$seeds" \
            > "$log" 2>&1
        rc=$?
    fi

    elapsed=$(( $(date +%s) - start ))

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" \
            | awk '{ n += $1 } END { print n + 0 }')
    rate=$(( execs / (elapsed > 0 ? elapsed : 1) ))
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{ print $2 }')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{ print $2 }')
    crashes=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' \
                  -o -name 'timeout-*' -o -name 'oom-*' \) \
                  -newer "$out/logs/$t.start" \
                  2>/dev/null | wc -l)

    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1
    fi

    printf '%-12s %8d %12d %9d %6s %7s %8d\n' \
           "$t" "$elapsed" "$execs" "$rate" "${cov:--}" "${ft:--}" \
           "$crashes"

    if [ "$crashes" -ne 0 ]; then
        failed=1
        echo "fuzz: $t crashed: $log" >&2
        grep -m3 -E 'ERROR|runtime error|fuzz:' "$log" >&2
        ls "$art" >&2
    fi
done

exit $failed
