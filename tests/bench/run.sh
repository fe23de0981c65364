#!/bin/sh
# run.sh - the benchmarks behind `make bench` (never part of `make check`).
#
# Each section is a script beside this one (tcp.sh, udp.sh, http.sh, websocket.sh)
# that measures a wirelab server against its Node equivalent, started in the same run:
# servers pinned to one core, the C load generators (tests/tools/*-load.c) to another, the
# servers' CPU time read from /proc/PID/stat. A section leaves a Markdown fragment (machine,
# commands, a table per benchmark, whether each target was met); this script prints it and
# records it in docs/performance.md between the section's markers,
#
#     <!-- bench:tcp begin -->  ...  <!-- bench:tcp end -->
#
# adding a "## <section>" heading at the end of the file for a section that has none yet. Text
# outside the markers (the readings) is never touched. A new section is a script NAME.sh here
# that sources lib.sh and writes $BENCH_OUT/NAME.md, and NAME added to SECTIONS below.
#
#   make bench                      every section, in SECTIONS order
#   BENCH=tcp make bench            one section (or several: BENCH="tcp udp")
#   BENCH_REPEAT=5 make bench       more runs per measurement (default 3; the median is shown)
#   BENCH_RECORD=0 make bench       print the figures, leave docs/performance.md alone
#
# The exit status is 0 when every section ran, whether or not its targets were met: a missed
# target is a finding, printed in the table, not a failure of the benchmark.

SECTIONS="tcp udp http websocket tls"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
export WIRELAB_BIN=${WIRELAB_BIN:-$ROOT/bin}
export WIRELAB_TOOLS=${WIRELAB_TOOLS:-$ROOT/build/default/tools}
DOC=$ROOT/docs/performance.md

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "bench: $1 not found (apt package $2)" >&2
        exit 1
    }
}
need taskset util-linux
need timeout coreutils
need node nodejs

# Two cores at least: one for the servers, one for the load generator. With one, both share it
# and the figures say little; run anyway, but say so.
if [ "$(nproc)" -lt 2 ]; then
    echo "bench: only one CPU: servers and load generators will share it" >&2
    export BENCH_LOAD_CPU=0
fi

# Many-connection sections need descriptors; raise the soft limit to the hard one.
ulimit -n "$(ulimit -H -n)" 2>/dev/null

BENCH_OUT=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-bench.XXXXXX")
export BENCH_OUT
trap 'rm -rf "$BENCH_OUT"' EXIT
if [ -n "${BENCH:-}" ]; then
    export BENCH_COMMAND="BENCH=\"$BENCH\" make bench"
else
    export BENCH_COMMAND="make bench"
fi
if [ -n "${BENCH_REPEAT:-}" ]; then
    BENCH_COMMAND="BENCH_REPEAT=$BENCH_REPEAT $BENCH_COMMAND"
fi

# record SECTION: replaces the section's fragment in docs/performance.md.
record() {
    begin="<!-- bench:$1 begin -->"
    end="<!-- bench:$1 end -->"
    [ -f "$DOC" ] || printf '# Performance\n' >"$DOC"
    if ! grep -q "^$begin\$" "$DOC"; then
        printf '\n## %s\n\n%s\n%s\n' "$1" "$begin" "$end" >>"$DOC"
    fi
    awk -v begin="$begin" -v end="$end" -v frag="$BENCH_OUT/$1.md" '
        $0 == begin { print; while ((getline line < frag) > 0) print line; skip = 1; next }
        $0 == end { skip = 0 }
        !skip { print }' "$DOC" >"$BENCH_OUT/doc.tmp" && cat "$BENCH_OUT/doc.tmp" >"$DOC"
}

status=0
for section in ${BENCH:-$SECTIONS}; do
    script=$ROOT/tests/bench/$section.sh
    if [ ! -f "$script" ]; then
        echo "bench: no section '$section' (tests/bench/$section.sh)" >&2
        status=1
        continue
    fi
    echo "== $section" >&2
    if ! sh "$script" || [ ! -s "$BENCH_OUT/$section.md" ]; then
        echo "bench: section $section failed" >&2
        status=1
        continue
    fi
    cat "$BENCH_OUT/$section.md"
    echo
    if [ "${BENCH_RECORD:-1}" != 0 ]; then
        record "$section"
        echo "(recorded in docs/performance.md)"
    fi
done
exit $status
