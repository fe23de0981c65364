#!/bin/sh
# run.sh - the test runner behind `make check`.
#
# It runs every unit test binary ($WIRELAB_UNIT/test_*), then every integration test
# (tests/integration/*.js with node, tests/integration/*.sh with bash), each as its own process
# under a time limit, reads the TAP each one prints, and ends with one line:
#
#     N passed, N failed            (", N skipped" is added when something was skipped)
#
# The exit status is 0 only when nothing failed.
#
# Counting. Each "ok N" line is a pass ("ok N - x # SKIP why" is a skip, as is
# "not ok N - x # TODO"), each "not ok N" a failure. A file that crashes, times out, bails out,
# exits non-zero without a "not ok" line, prints fewer (or more) checks than its "1..N" plan or
# no plan at all, or leaves a sanitizer report on stderr gets one more failure, named on its
# FAIL line. "1..0 # SKIP why" skips the whole file.
#
# Integration test headers. In its first 30 lines a test may say, as a comment (// or #):
#     requires: node nc curl chromium    tools it needs; where one is missing the file is
#                                        skipped with the apt package to install. With CI=true
#                                        such a skip counts as a failure.
#     timeout: 300                       seconds for the whole file (120 unless given)
# Before the node tests run, `npm ci` fills tests/node_modules when it is missing or was made
# from another tests/package-lock.json (no root needed). If that fails, the tests that need the
# packages fail; they are not skipped.
#
# Usage (make check sets the WIRELAB_* variables; these are the defaults):
#     WIRELAB_BIN=bin WIRELAB_UNIT=build/default/tests WIRELAB_TOOLS=build/default/tools \
#     WIRELAB_VARIANT=default sh tests/run.sh [PATTERN...]
#     TESTS=pattern make check       only the files whose name (unit/test_buf,
#                                    integration/tcp_echo.js) contains a pattern; several
#                                    patterns may be given, separated by spaces or commas
#     VERBOSE=1 make check           show every file's whole output, not only failures
#     WIRELAB_INTEGRATION=dir        run the integration tests of another folder
# Under WIRELAB_VARIANT=san (make check SANITIZE=1) every time limit is longer.
#
# Self-test: `sh tests/run.sh --selftest` runs the fixtures in tests/lib/fixtures/ (passing,
# failing, crashing, hanging, short of their plan, skipped, and harness.js tests against small
# fake programs in tests/lib/fixtures/bin/) and checks that this runner counts each one as the
# fixture's "expect:" header says, and that a whole run of them ends with the right closing line
# and exit status. `make check` does not run it; run it after changing this file or harness.js.

# make runs this with sh; the runner itself is written for bash.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

export WIRELAB_BIN=${WIRELAB_BIN:-$ROOT/bin}
export WIRELAB_VARIANT=${WIRELAB_VARIANT:-default}
export WIRELAB_UNIT=${WIRELAB_UNIT:-$ROOT/build/$WIRELAB_VARIANT/tests}
export WIRELAB_TOOLS=${WIRELAB_TOOLS:-$ROOT/build/$WIRELAB_VARIANT/tools}
INTEGRATION_DIR=${WIRELAB_INTEGRATION:-$ROOT/tests/integration}

# Time limits in seconds. Sanitizer builds run a few times slower.
UNIT_TIMEOUT=60
INTEGRATION_TIMEOUT=120
SLOWDOWN=1
case $WIRELAB_VARIANT in san*) SAN_VARIANT=1 ;; *) SAN_VARIANT=0 ;; esac
if [ "$SAN_VARIANT" = 1 ]; then
    UNIT_TIMEOUT=180
    SLOWDOWN=2
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
fi
KILL_AFTER=5   # seconds between timeout's SIGTERM and its SIGKILL

# The Debian package that brings each tool a test can require.
declare -A APT_PACKAGE=(
    [nc]=netcat-openbsd [curl]=curl [chromium]=chromium [node]=nodejs [npm]=npm
    [wrk]=wrk [openssl]=openssl [nginx]=nginx-light [clang]=clang [certutil]=libnss3-tools
)

case "${CI:-}" in
true | TRUE | True | 1 | yes) CI_STRICT=1 ;;
*) CI_STRICT=0 ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-check.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT

TOTAL_PASS=0
TOTAL_FAIL=0
TOTAL_SKIP=0
FILES_RUN=0
FAILED_FILES=()
PATTERNS=()

# ---------------------------------------------------------------------------------------------
# Small helpers

now() {
    echo "${EPOCHREALTIME:-$(date +%s.%N)}"
}

# seconds_since START: elapsed seconds with one decimal.
seconds_since() {
    awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'
}

# header_value FILE KEY: the text after "KEY:" in a // or # comment in FILE's first 30 lines.
header_value() {
    awk -v key="$2" '
        NR > 30 { exit }
        match($0, "^[ \t]*(//|#)[ \t]*" key ":[ \t]*") {
            value = substr($0, RSTART + RLENGTH)
            sub(/[ \t\r]+$/, "", value)
            print value
            exit
        }' "$1"
}

# selected LABEL: true when no pattern was given or LABEL contains one of them.
selected() {
    local p
    [ ${#PATTERNS[@]} -eq 0 ] && return 0
    for p in "${PATTERNS[@]}"; do
        [[ $1 == *"$p"* ]] && return 0
    done
    return 1
}

# show_tail FILE N: the last N lines of FILE, indented under the FAIL line.
show_tail() {
    local lines
    lines=$(wc -l <"$1")
    if [ "$lines" -gt "$2" ]; then
        echo "       ($((lines - $2)) earlier lines left out)"
    fi
    tail -n "$2" "$1" | sed 's/^/       /'
}

# The sanitizers' reports all contain one of these.
SANITIZER_RE='ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: |SUMMARY: [A-Za-z]+Sanitizer'

# ---------------------------------------------------------------------------------------------
# Reading TAP

# Prints "pass fail skip plan ran bailed" for the TAP in $1 (plan is -1 when there is none) and
# writes the lines worth showing to $2: each "not ok" line with the "#" comments under it,
# "Bail out!" lines, and "SKIP" lines. Indented lines (subtests) are not counted.
TAP_AWK='
function shown(line) {
    if (nshown < 200)
        print line > details
    else if (nshown == 200)
        print "(more failing lines left out)" > details
    nshown++
}
BEGIN { pass = fail = skip = ran = bailed = 0; plan = -1; indiag = 0 }
/^ok([ \t]|$)/ {
    ran++
    indiag = 0
    if ($0 ~ /[^\\]#[ \t]*[Ss][Kk][Ii][Pp]/) {
        skip++
        print "skip: " $0 > skips
    } else {
        pass++
    }
    next
}
/^not ok([ \t]|$)/ {
    ran++
    if ($0 ~ /[^\\]#[ \t]*[Tt][Oo][Dd][Oo]/) {
        skip++
        indiag = 0
        print "todo: " $0 > skips
        next
    }
    fail++
    indiag = 1
    ndiag = 0
    shown($0)
    next
}
/^1\.\.[0-9]+/ {
    plan = substr($1, 4) + 0
    if (plan == 0 && $0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) {
        reason = $0
        sub(/^[^#]*#[ \t]*[Ss][Kk][Ii][Pp][ \t]*/, "", reason)
        print (reason == "" ? "skipped" : reason) > skipall
    }
    indiag = 0
    next
}
/^Bail out!/ { bailed = 1; shown($0); indiag = 0; next }
/^#/ {
    if (indiag && ndiag < 40) {
        shown($0)
        ndiag++
    }
    next
}
/^[ \t]/ { next }
{ indiag = 0 }
END { print pass, fail, skip, plan, ran, bailed }
'

# ---------------------------------------------------------------------------------------------
# Running one file

# Results of the last run_tap_file / skip_file, for the totals and the self-test.
F_PASS=0
F_FAIL=0
F_SKIP=0

count_file() {
    TOTAL_PASS=$((TOTAL_PASS + F_PASS))
    TOTAL_FAIL=$((TOTAL_FAIL + F_FAIL))
    TOTAL_SKIP=$((TOTAL_SKIP + F_SKIP))
    FILES_RUN=$((FILES_RUN + 1))
    if [ "$F_FAIL" -gt 0 ]; then
        FAILED_FILES+=("$1")
    fi
}

# run_tap_file LABEL SECONDS COMMAND...: runs COMMAND under a time limit with stdin closed,
# counts its TAP and prints one PASS / FAIL / SKIP line, with the failing lines under a FAIL.
# timeout(1) puts the command in a process group of its own and signals the whole group, so a
# test's children are stopped with it.
run_tap_file() {
    local label=$1 limit=$2
    shift 2
    local out=$WORK/stdout err=$WORK/stderr details=$WORK/details skips=$WORK/skips
    local skipall=$WORK/skipall start rc secs pass fail skip plan ran bailed
    local reasons=() summary
    : >"$details"
    : >"$skips"
    : >"$skipall"
    start=$(now)
    # (The braces keep bash's own "Segmentation fault" notice out of the report.)
    { timeout -k "$KILL_AFTER" "$limit" "$@" >"$out" 2>"$err" </dev/null; } 2>/dev/null
    rc=$?
    secs=$(seconds_since "$start")
    read -r pass fail skip plan ran bailed < <(awk -v details="$details" -v skips="$skips" \
        -v skipall="$skipall" "$TAP_AWK" "$out")

    if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && awk -v s="$secs" -v l="$limit" 'BEGIN { exit !(s >= l) }'; }; then
        reasons+=("timed out after ${limit}s")
    elif [ "$rc" -gt 128 ]; then
        reasons+=("killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))")
    elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && [ "$bailed" -eq 0 ]; then
        reasons+=("exited with status $rc without a failing check")
    fi
    if [ "$bailed" -eq 1 ]; then
        reasons+=("bailed out")
    fi
    if [ ${#reasons[@]} -eq 0 ]; then
        if [ "$plan" -lt 0 ] && [ "$ran" -eq 0 ]; then
            reasons+=("printed no TAP (no ok / not ok lines, no 1..N plan)")
        elif [ "$plan" -lt 0 ]; then
            reasons+=("no 1..N plan line: it stopped before the end?")
        elif [ "$ran" -lt "$plan" ]; then
            reasons+=("ran $ran of the $plan planned checks")
        elif [ "$ran" -gt "$plan" ]; then
            reasons+=("ran $ran checks, more than the $plan planned")
        fi
    fi
    if grep -Eq "$SANITIZER_RE" "$err"; then
        reasons+=("sanitizer report on stderr")
    fi

    F_PASS=$pass
    F_FAIL=$fail
    F_SKIP=$skip
    if [ ${#reasons[@]} -gt 0 ]; then
        F_FAIL=$((F_FAIL + 1))
    elif [ "$ran" -eq 0 ] && [ -s "$skipall" ]; then
        F_SKIP=1
        echo "SKIP $label: $(cat "$skipall")"
        return
    fi

    summary="$F_PASS passed"
    [ "$F_FAIL" -gt 0 ] && summary+=", $F_FAIL failed"
    [ "$F_SKIP" -gt 0 ] && summary+=", $F_SKIP skipped"
    if [ "$F_FAIL" -eq 0 ]; then
        echo "PASS $label ($summary, ${secs}s)"
        head -n 5 "$skips" | sed 's/^/       /'
    else
        echo "FAIL $label ($summary, ${secs}s)"
        sed 's/^/       /' "$details"
        local r
        for r in "${reasons[@]}"; do
            echo "       => $r"
        done
        if [ "$ran" -eq 0 ] && [ -s "$out" ]; then
            echo "     stdout:"
            show_tail "$out" 10
        fi
        if grep -Eq "$SANITIZER_RE" "$err"; then
            echo "     sanitizer report:"
            grep -Em1 -B2 -A40 "$SANITIZER_RE" "$err" | sed 's/^/       /'
        elif [ -s "$err" ]; then
            echo "     stderr:"
            show_tail "$err" 20
        fi
    fi
    if [ -n "${VERBOSE:-}" ] && [ "${VERBOSE:-}" != 0 ]; then
        echo "     --- stdout ---"
        sed 's/^/     | /' "$out"
        echo "     --- stderr ---"
        sed 's/^/     | /' "$err"
    fi
}

# skip_file LABEL MISSING_TOOLS...: the one line for a test whose tools are missing.
skip_file() {
    local label=$1 tool packages=()
    shift
    for tool in "$@"; do
        packages+=("${APT_PACKAGE[$tool]:-$tool}")
    done
    local needs
    needs="needs $(echo "$*" | sed 's/ /, /g') (apt-get install ${packages[*]})"
    F_PASS=0
    if [ "$CI_STRICT" -eq 1 ]; then
        F_FAIL=1
        F_SKIP=0
        echo "FAIL $label: $needs; with CI=true a skip is a failure"
    else
        F_FAIL=0
        F_SKIP=1
        echo "SKIP $label: $needs"
    fi
}

# run_integration FILE [LABEL]: one integration test, after checking what it requires.
run_integration() {
    local file=$1 label=${2:-integration/$(basename "$1")} cmd requires tool limit missing=()
    requires=$(header_value "$file" requires)
    case $file in
    *.js)
        cmd=(node "$file")
        requires="node $requires"
        ;;
    *) cmd=(bash "$file") ;;
    esac
    # shellcheck disable=SC2086 # the list is split on purpose
    for tool in $(printf '%s\n' $requires | awk '!seen[$0]++'); do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        skip_file "$label" "${missing[@]}"
        return
    fi
    limit=$(header_value "$file" timeout)
    case $limit in
    '' | *[!0-9]*) limit=$INTEGRATION_TIMEOUT ;;
    esac
    run_tap_file "$label" $((limit * SLOWDOWN)) "${cmd[@]}"
}

# ---------------------------------------------------------------------------------------------
# The node packages the integration tests use

# Runs `npm ci` in tests/ when tests/node_modules is missing or was made from another lockfile.
ensure_node_modules() {
    local lock=$ROOT/tests/package-lock.json stamp=$ROOT/tests/node_modules/.wirelab-lockfile-sum
    local want start
    [ -f "$lock" ] || return 0
    want=$(cksum <"$lock")
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm: not found (apt-get install npm); node tests that need ws or playwright-core will fail"
        return 0
    fi
    echo "npm ci: installing tests/node_modules from tests/package-lock.json"
    start=$(now)
    if (cd "$ROOT/tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 \
        npm ci --prefer-offline --no-audit --no-fund --loglevel=error) >"$WORK/npm.log" 2>&1 </dev/null; then
        echo "$want" >"$stamp"
        echo "npm ci: done ($(seconds_since "$start")s)"
    else
        echo "npm ci: FAILED (offline, or the npm registry unreachable?)." \
            "Node tests that need ws or playwright-core will fail. npm said:"
        grep -v 'Unknown user config' "$WORK/npm.log" | tail -n 10 | sed 's/^/       /'
    fi
}

# ---------------------------------------------------------------------------------------------
# The suite

run_unit_tests() {
    local f label
    [ -d "$WIRELAB_UNIT" ] || return 0
    for f in "$WIRELAB_UNIT"/test_*; do
        [ -f "$f" ] && [ -x "$f" ] || continue
        label=unit/$(basename "$f")
        selected "$label" || continue
        run_tap_file "$label" "$UNIT_TIMEOUT" "$f"
        count_file "$label"
    done
}

run_integration_tests() {
    local f label files=()
    for f in "$INTEGRATION_DIR"/*.js "$INTEGRATION_DIR"/*.sh; do
        [ -f "$f" ] || continue
        selected "integration/$(basename "$f")" && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    if printf '%s\n' "${files[@]}" | grep -q '\.js$' && command -v node >/dev/null 2>&1; then
        ensure_node_modules
    fi
    for f in $(printf '%s\n' "${files[@]}" | sort); do
        label=integration/$(basename "$f")
        run_integration "$f" "$label"
        count_file "$label"
    done
}

closing_line() {
    local line="$1 passed, $2 failed"
    [ "$3" -gt 0 ] && line+=", $3 skipped"
    echo "$line"
}

run_suite() {
    local start
    start=$(now)
    echo "wirelab tests ($WIRELAB_VARIANT build; programs in ${WIRELAB_BIN#"$ROOT"/})"
    run_unit_tests
    run_integration_tests
    if [ "$FILES_RUN" -eq 0 ]; then
        if [ ${#PATTERNS[@]} -gt 0 ]; then
            echo "no test file matches: ${PATTERNS[*]}"
            TOTAL_FAIL=1
        else
            echo "no tests found (no $WIRELAB_UNIT/test_* binaries, nothing in ${INTEGRATION_DIR#"$ROOT"/})"
        fi
    fi
    echo
    if [ ${#FAILED_FILES[@]} -gt 0 ]; then
        echo "Failed: ${FAILED_FILES[*]}"
    fi
    echo "Ran $FILES_RUN test file$([ "$FILES_RUN" -eq 1 ] || echo s) in $(seconds_since "$start")s."
    closing_line "$TOTAL_PASS" "$TOTAL_FAIL" "$TOTAL_SKIP"
    [ "$TOTAL_FAIL" -eq 0 ]
}

# ---------------------------------------------------------------------------------------------
# Self-test: does this runner count what the fixtures say it should?

SELFTEST_OK=0
SELFTEST_BAD=0

selftest_check() {
    local what=$1 want=$2 got=$3
    if [ "$want" = "$got" ]; then
        SELFTEST_OK=$((SELFTEST_OK + 1))
        echo "  ok: $what: $got"
    else
        SELFTEST_BAD=$((SELFTEST_BAD + 1))
        echo "  MISMATCH: $what: expected $want, got $got"
    fi
}

# expect_field "pass=2 fail=1 skip=0" fail: prints 1 (0 when the field is missing).
expect_field() {
    echo "$1" | awk -v key="$2" '{ for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[1] == key) n = kv[2] }
                                 END { print n + 0 }'
}

selftest() {
    local dir=$ROOT/tests/lib/fixtures f name want want_ci sum_pass=0 sum_fail=0 sum_skip=0 out rc
    local pidfile
    export WIRELAB_BIN=$dir/bin
    export WIRELAB_SELFTEST_DIR=$WORK
    echo "Self-test of tests/run.sh and tests/lib/harness.js with tests/lib/fixtures/"
    for f in "$dir"/*.sh "$dir"/*.js; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        want=$(header_value "$f" expect)
        if [ -z "$want" ]; then
            selftest_check "$name has an expect: header" yes no
            continue
        fi
        CI_STRICT=0
        run_integration "$f" "fixture/$name"
        selftest_check "$name counted" "$want" "pass=$F_PASS fail=$F_FAIL skip=$F_SKIP"
        sum_pass=$((sum_pass + $(expect_field "$want" pass)))
        sum_fail=$((sum_fail + $(expect_field "$want" fail)))
        sum_skip=$((sum_skip + $(expect_field "$want" skip)))
        want_ci=$(header_value "$f" expect-ci)
        if [ -n "$want_ci" ]; then
            CI_STRICT=1
            run_integration "$f" "fixture/$name (CI=true)"
            selftest_check "$name counted with CI=true" "$want_ci" "pass=$F_PASS fail=$F_FAIL skip=$F_SKIP"
            CI_STRICT=0
        fi
    done

    # The hanging fixture leaves the PID of its child here: timeout must have stopped it too.
    pidfile=$WORK/hang.pid
    if [ -s "$pidfile" ]; then
        # (A zombie waiting for its new parent to reap it has stopped too.)
        if kill -0 "$(cat "$pidfile")" 2>/dev/null &&
            ! ps -o stat= -p "$(cat "$pidfile")" 2>/dev/null | grep -q '^Z'; then
            selftest_check "the hanging fixture's child was stopped" stopped running
        else
            selftest_check "the hanging fixture's child was stopped" stopped stopped
        fi
    else
        selftest_check "the hanging fixture wrote its child's PID" yes no
    fi

    echo "A whole run over the fixtures:"
    out=$(WIRELAB_UNIT=$WORK/no-unit-tests WIRELAB_INTEGRATION=$dir CI='' TESTS='' bash "$0" 2>&1)
    rc=$?
    echo "$out" | sed 's/^/  | /'
    selftest_check "closing line" "$(closing_line "$sum_pass" "$sum_fail" "$sum_skip")" "$(echo "$out" | tail -n 1)"
    selftest_check "exit status of a run with failures" 1 "$rc"
    want=$(header_value "$dir/tap_pass.sh" expect)
    out=$(WIRELAB_UNIT=$WORK/no-unit-tests WIRELAB_INTEGRATION=$dir CI='' TESTS='' bash "$0" tap_pass 2>&1)
    rc=$?
    selftest_check "a run filtered to tap_pass" \
        "$(closing_line "$(expect_field "$want" pass)" "$(expect_field "$want" fail)" "$(expect_field "$want" skip)") / 0" \
        "$(echo "$out" | tail -n 1) / $rc"

    echo
    echo "selftest: $SELFTEST_OK passed, $SELFTEST_BAD failed"
    [ "$SELFTEST_BAD" -eq 0 ]
}

# ---------------------------------------------------------------------------------------------

MODE=suite
for arg in "$@"; do
    case $arg in
    --selftest) MODE=selftest ;;
    -h | --help)
        sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *) PATTERNS+=("$arg") ;;
    esac
done
set -f   # patterns are plain text, not file names
for p in ${TESTS:-}; do
    # Commas separate patterns too.
    for q in ${p//,/ }; do
        PATTERNS+=("$q")
    done
done
set +f

if [ "$MODE" = selftest ]; then
    selftest
else
    run_suite
fi
