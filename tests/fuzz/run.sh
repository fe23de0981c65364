#!/bin/sh
# run.sh - runs every libFuzzer target for a while and reports each one (behind make fuzz-run).
#
#     sh tests/fuzz/run.sh build/fuzz 30
#
# For each executable in the folder (built from tests/fuzz/fuzz_*.c by `make fuzz`), the seed
# inputs in tests/fuzz/corpus/<target>/, if any, are copied to a temporary folder, which the
# fuzzer then grows for the given number of seconds; the committed corpus is never changed.
# An input that makes a target crash, hang (10 s) or run out of memory is kept as
# <folder>/artifacts/<target>/crash-... (or timeout-..., oom-...); reproduce it with
# `build/fuzz/<target> <that file>`. Prints PASS or FAIL per target, then
# "fuzz: N passed, N failed"; exits 1 if any target failed.

set -u

if [ $# -lt 1 ]; then
    echo "usage: sh tests/fuzz/run.sh DIR [SECONDS]" >&2
    exit 2
fi
dir=$1
seconds=${2:-30}
root=$(cd "$(dirname "$0")/../.." && pwd)
passed=0
failed=0

work=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

for target in "$dir"/*; do
    [ -f "$target" ] && [ -x "$target" ] || continue
    name=$(basename "$target")
    corpus=$work/$name
    mkdir -p "$corpus"
    if [ -d "$root/tests/fuzz/corpus/$name" ]; then
        cp -R "$root/tests/fuzz/corpus/$name/." "$corpus/"
    fi
    artifacts=$dir/artifacts/$name
    mkdir -p "$artifacts"
    seeds=$(find "$corpus" -type f | wc -l | tr -d ' ')
    echo "fuzzing $name for ${seconds}s ($seeds seed inputs)"
    # The outer limit only guards against a fuzzer that ignores -max_total_time.
    timeout -k 10 $((seconds + 120)) "$target" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" \
        >"$work/$name.log" 2>&1 </dev/null
    rc=$?
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$work/$name.log" | tail -n 1)
        echo "PASS $name (${runs:-?} runs, ${cov:-cov: ?}, $(find "$corpus" -type f | wc -l | tr -d ' ') inputs in corpus)"
    else
        failed=$((failed + 1))
        echo "FAIL $name (exit $rc)"
        if grep -q 'ERROR: \|SUMMARY: \|ALARM: \|out-of-memory' "$work/$name.log"; then
            grep -m1 -A30 'ERROR: \|ALARM: \|out-of-memory' "$work/$name.log" | sed 's/^/    /'
        else
            tail -n 30 "$work/$name.log" | sed 's/^/    /'
        fi
        grep 'Test unit written to' "$work/$name.log" | sed 's/^/    /'
    fi
done

if [ $((passed + failed)) -eq 0 ]; then
    echo "no fuzz targets in $dir"
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
