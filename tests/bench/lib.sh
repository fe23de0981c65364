# lib.sh - what every benchmark section shares. Sourced (with `.`) by tcp.sh, udp.sh, ...
#
# A section starts its servers with start_server (pinned to the server core, ready line
# awaited), runs a load generator with run_load (pinned to the other core, time-limited),
# reads the servers' CPU time around each run with cpu_ticks, and stops only the servers it
# started, by PID, with stop_server. It writes its results as a Markdown fragment to
# $BENCH_OUT/<section>.md; run.sh prints it and records it in docs/performance.md.
#
# Settings (environment; run.sh sets the first three):
#   WIRELAB_BIN, WIRELAB_TOOLS   where the programs and the load generators are
#   BENCH_OUT                    a scratch folder for this run's files
#   BENCH_REPEAT=3               runs of each measurement; tables show the median
#   BENCH_SERVER_CPU=0, BENCH_LOAD_CPU=1   the cores for the servers and the load generators

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
BENCH_REPEAT=${BENCH_REPEAT:-3}
BENCH_SERVER_CPU=${BENCH_SERVER_CPU:-0}
BENCH_LOAD_CPU=${BENCH_LOAD_CPU:-1}
BENCH_OUT=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wirelab-bench.XXXXXX")}
CLK_TCK=$(getconf CLK_TCK)

bench_die() {
    echo "bench: $*" >&2
    exit 1
}

# ---- servers ----

# start_server NAME COMMAND...: starts COMMAND on the server core and waits (at most 10 s) for
# its ready line, "<program> listening on <addr>:<port>". Its PID and port are then in
# $BENCH_OUT/NAME.pid and NAME.port (see server_pid, server_port); its stdout in NAME.out.
start_server() {
    name=$1
    shift
    : >"$BENCH_OUT/$name.out"
    taskset -c "$BENCH_SERVER_CPU" "$@" >"$BENCH_OUT/$name.out" 2>"$BENCH_OUT/$name.err" &
    echo $! >"$BENCH_OUT/$name.pid"
    tries=0
    while [ $tries -lt 100 ]; do
        port=$(sed -n '1s/.* listening on .*:\([0-9][0-9]*\)$/\1/p' "$BENCH_OUT/$name.out")
        if [ -n "$port" ]; then
            echo "$port" >"$BENCH_OUT/$name.port"
            return 0
        fi
        kill -0 "$(server_pid "$name")" 2>/dev/null || break
        sleep 0.1
        tries=$((tries + 1))
    done
    cat "$BENCH_OUT/$name.err" >&2
    bench_die "$name ($*) did not print its ready line"
}

server_pid() { cat "$BENCH_OUT/$1.pid"; }
server_port() { cat "$BENCH_OUT/$1.port"; }

# stop_server NAME: SIGTERM, then up to 5 s for it to exit (a server prints its summary on the
# way out), then SIGKILL. Only the PID start_server recorded is signalled.
stop_server() {
    [ -f "$BENCH_OUT/$1.pid" ] || return 0
    pid=$(server_pid "$1")
    rm -f "$BENCH_OUT/$1.pid"
    kill -TERM "$pid" 2>/dev/null || return 0
    tries=0
    while kill -0 "$pid" 2>/dev/null && [ $tries -lt 50 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# Stops every server still running; sections call it from an EXIT trap.
stop_all_servers() {
    for f in "$BENCH_OUT"/*.pid; do
        [ -f "$f" ] && stop_server "$(basename "$f" .pid)"
    done
}

# ---- measuring ----

# cpu_ticks PID: user + system CPU time the process (all its threads) has used, in clock ticks
# (fields 14 and 15 of /proc/PID/stat). The command name, field 2, may contain spaces, so the
# fields are counted after its closing parenthesis.
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# wait_ns PID: how long the process's main thread has waited for a CPU while runnable, in
# nanoseconds (/proc/PID/schedstat, second field; 0 where the kernel does not keep it). Other
# programs busy on the server core show up here.
wait_ns() {
    if [ -r "/proc/$1/schedstat" ]; then
        awk '{ print $2 }' "/proc/$1/schedstat"
    else
        echo 0
    fi
}

# run_load COMMAND...: runs a load generator on the load core, with a time limit.
run_load() {
    taskset -c "$BENCH_LOAD_CPU" timeout 120 "$@"
}

# kv LINE KEY: the value of KEY in a line of key=value pairs.
kv() {
    echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# median VALUES...: the middle value (the mean of the two middle ones for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# calc EXPRESSION: floating-point arithmetic, printed with up to 6 significant digits.
calc() {
    awk "BEGIN { print $1 }"
}

# ---- reporting ----

# The Markdown fragment of a section: md_start writes its heading, md adds lines.
md_start() {
    BENCH_MD=$BENCH_OUT/$1.md
    : >"$BENCH_MD"
}

md() {
    printf '%s\n' "$@" >>"$BENCH_MD"
}

# met CONDITION: "met" or "**missed**" for an awk condition.
met() {
    awk "BEGIN { print ($1) ? \"met\" : \"**missed**\" }"
}

# The machine the figures come from, for the top of each section.
machine() {
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    echo "$(nproc) CPUs ($model), Linux $(uname -r), node $(node --version)"
}

# What else was busy: the load average and the busiest other processes, so a reader can judge
# how quiet the machine was.
machine_load() {
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- results: one line of key=value pairs per run, in a file per measurement ----

# col FILE KEY: the KEY value of every line in FILE.
col() {
    awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$1"
}

# median_of FILE KEY, sum_of FILE KEY: over all runs.
median_of() {
    median $(col "$1" "$2")
}

sum_of() {
    col "$1" "$2" | awk '{ s += $1 } END { print s + 0 }'
}

# measure NAME FILE COMMAND...: one run of a load generator against server NAME. Appends the
# generator's result line to FILE, with the CPU seconds the server used (server_cpu=) and the
# milliseconds it waited for a CPU (wait_ms=) during the run. SETTLE (seconds) lets a server finish the work
# already sent before its CPU time is read (UDP: the datagrams still queued).
measure() {
    name=$1
    file=$2
    shift 2
    pid=$(server_pid "$name")
    t0=$(cpu_ticks "$pid")
    w0=$(wait_ns "$pid")
    line=$(run_load "$@") || bench_die "load generator failed against $name: $*"
    [ -n "${SETTLE:-}" ] && sleep "$SETTLE"
    t1=$(cpu_ticks "$pid")
    w1=$(wait_ns "$pid")
    echo "$line server_cpu=$(calc "($t1 - $t0) / $CLK_TCK") wait_ms=$(calc "int(($w1 - $w0) / 1e6)")" >>"$file"
}
