#!/bin/sh
# grade.sh - builds a lab tree and grades it: `make grade LAB=N DIR=path`.
#
#     sh tests/labs/grade.sh N DIR
#
# Builds DIR (make -C DIR), runs tests/labs/graders/labN.js against DIR/bin, writes
# DIR/results.json (Gradescope's format) and ends with the line "N passed, N failed". The exit
# status is 0 only when every case passed. A tree that does not build fails one case, "build",
# and the compiler's last lines are its hint.
#
# For make check (tests/integration/labs.js): LAB_BIN=path grades those programs instead of
# DIR/bin and LAB_NO_BUILD=1 skips the build; LAB_RESULTS=file writes the results there.
set -u

if [ $# -ne 2 ]; then
    echo "usage: grade.sh N DIR   (or: make grade LAB=N DIR=path)" >&2
    exit 2
fi
LAB=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GRADER=$ROOT/tests/labs/graders/lab$LAB.js
if [ ! -f "$GRADER" ]; then
    echo "grade.sh: no grader for lab '$LAB' ($GRADER)" >&2
    exit 2
fi
if [ ! -d "$2" ]; then
    echo "grade.sh: $2: no such directory (make lab LAB=$LAB DIR=$2 writes the starter)" >&2
    exit 2
fi
DIR=$(cd "$2" && pwd)
RESULTS=${LAB_RESULTS:-$DIR/results.json}
case "$RESULTS" in
/*) ;;
*) RESULTS=$(pwd)/$RESULTS ;;
esac

# A build that fails is one failed case, reported in the same formats as any other.
build_failed() {
    node -e '
        const fs = require("fs");
        const log = fs.readFileSync(process.argv[2], "utf8").split("\n").slice(-30).join("\n");
        const results = { score: 0, max_score: 0, output: "the tree does not build",
            tests: [{ name: "build", score: 0, max_score: 0, status: "failed", output: log }] };
        fs.writeFileSync(process.argv[1], JSON.stringify(results, null, 2) + "\n");
    ' "$RESULTS" "$1"
    echo "not ok 1 - build: make -C $DIR failed; its last lines:"
    tail -n 30 "$1" | sed 's/^/# /'
    echo "1..1"
    echo "0 passed, 1 failed"
    exit 1
}

if [ "${LAB_NO_BUILD:-0}" != 1 ]; then
    LOG=$DIR/build.log
    echo "# building $DIR (make -C $DIR; the compiler's output is in $LOG)"
    # The student's tree is its own, ordinary build: nothing of a parent make may leak into
    # it, neither its jobserver (make -j check: "-j2 forced in submake") nor the variables a
    # command line exports (make check SANITIZE=1 would send the programs to build/san/bin).
    if ! timeout 600 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u WERROR -u TLS \
        make -C "$DIR" -j2 all >"$LOG" 2>&1; then
        build_failed "$LOG"
    fi
    if ! ls "$DIR"/bin/* >/dev/null 2>&1; then
        echo "make -C $DIR put no programs in $DIR/bin" >>"$LOG"
        build_failed "$LOG"
    fi
    if grep -q 'warning:' "$LOG"; then
        echo "# the build printed warnings (see $LOG):"
        grep 'warning:' "$LOG" | head -n 10 | sed 's/^/#   /'
    fi
fi

# The programs under test. (make check exports WIRELAB_BIN for its own programs: a student's
# tree must never be graded with those, so WIRELAB_BIN is always set here.)
WIRELAB_BIN=${LAB_BIN:-$DIR/bin}
export WIRELAB_BIN
export LAB_DIR="$DIR" LAB_RESULTS="$RESULTS"
cd "$DIR" || exit 2
timeout -k 5 480 node "$GRADER"
rc=$?
if [ $rc -gt 1 ]; then
    echo "# grade.sh: the grader stopped with status $rc"
    exit 1
fi
exit $rc
