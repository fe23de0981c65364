#!/bin/sh
# websocket.sh - the WebSocket section of `make bench`: wirelab's ws-echo against Node's `ws`
# echo server (tests/bench/node/ws-echo.js), both started in this run, both on the server
# core, driven by tests/tools/ws-load on the other core (masking every frame with a fresh key,
# as a browser does).
#
#   echo    text messages of 16 bytes and of 1 KiB, echoed: at 1 connection with one message
#           in flight (each message waits for the previous echo: latency), and at 50
#           connections with 8 messages in flight on each (throughput). Messages per second,
#           median and 99th-percentile time from send to echo, and the server's CPU time per
#           message (utime + stime from /proc/PID/stat over the run, divided by the messages).
#   idle    5,000 connections opened (handshake done) and left silent, against a fresh server
#           of each kind: the growth of its VmRSS (/proc/PID/status), divided by 5,000, is its
#           memory per idle connection. Kernel socket memory is not in it (the same for both).
#
# Each echo measurement runs BENCH_REPEAT times, alternating between the two servers so both
# see the same disturbances; the tables show the median run and CPU totals over all runs.
# Targets (from the benchmark's issue), at 50 connections: at least 1.2x Node's messages/s
# (the load generator's core caps both), at most one third of its CPU per message; and at
# most 1 KiB per idle connection.
#
#   BENCH=websocket make bench      this section alone
#   BENCH_WS_SECONDS=5              seconds per echo run
#   BENCH_WS_IDLE=5000              idle connections for the memory figure (0: skip it)

. "$(dirname "$0")/lib.sh"
trap stop_all_servers EXIT
trap 'exit 130' INT TERM

SECONDS_PER_RUN=${BENCH_WS_SECONDS:-5}
IDLE_N=${BENCH_WS_IDLE:-5000}
IDLE_HOLD=4
MANY=50
INFLIGHT=8
LOAD=$WIRELAB_TOOLS/ws-load
OURS='wirelab `ws-echo -q`'
NODE='Node `ws` WebSocketServer'

[ -d "$BENCH_DIR/../node_modules/ws" ] ||
    bench_die "tests/node_modules/ws is missing: run make check once (it runs npm ci)"

md_start websocket
md "Machine: $(machine); $(machine_load) as the section started." \
   "" \
   "Command: \`${BENCH_COMMAND:-make bench}\`, which runs:" \
   "" \
   "- ours: \`taskset -c $BENCH_SERVER_CPU bin/ws-echo -q -p 0\`" \
   "- Node: \`taskset -c $BENCH_SERVER_CPU node tests/bench/node/ws-echo.js 0\` (ws $(node -p "require('$BENCH_DIR/../node_modules/ws/package.json').version"))" \
   "- load: \`taskset -c $BENCH_LOAD_CPU build/default/tools/ws-load echo 127.0.0.1 PORT --connections C --inflight K --size S --seconds $SECONDS_PER_RUN\`," \
   "  C/K = 1/1 and $MANY/$INFLIGHT, S = 16 and 1024; then \`ws-load idle 127.0.0.1 PORT --connections $IDLE_N --hold $IDLE_HOLD\`" \
   "" \
   "$BENCH_REPEAT runs of each echo load, alternating between the servers. Rates and latencies: the median run." \
   "CPU: totals over all runs (utime + stime from /proc/PID/stat) divided by all the messages echoed;" \
   "\"busy\" is CPU time over wall time." \
   ""

# label NAME: the server's name in the tables.
label() {
    if [ "$1" = ours ]; then echo "$OURS"; else echo "$NODE"; fi
}

# ---- echo ----

# run_both TAG ARGS...: BENCH_REPEAT runs of `ws-load echo ARGS` against each server, ours first
# on odd runs and Node first on even ones. Results go to $BENCH_OUT/TAG-<server>.runs.
run_both() {
    tag=$1
    shift
    run=1
    while [ $run -le "$BENCH_REPEAT" ]; do
        if [ $((run % 2)) -eq 1 ]; then order="ours node"; else order="node ours"; fi
        for name in $order; do
            measure "$name" "$BENCH_OUT/$tag-$name.runs" \
                "$LOAD" echo 127.0.0.1 "$(server_port "$name")" --seconds "$SECONDS_PER_RUN" "$@"
        done
        run=$((run + 1))
    done
}

# busy FILE KEY: CPU seconds (server_cpu, or the generator's cpu) over the wall time of all
# runs, in per cent.
busy() { calc "int(100 * $(sum_of "$1" "$2") / $(sum_of "$1" seconds) + 0.5)"; }

# rate TAG NAME, per_msg TAG NAME: the median messages/s; server CPU µs per message.
rate() { median_of "$BENCH_OUT/$1-$2.runs" messages_per_sec; }
per_msg() {
    f=$BENCH_OUT/$1-$2.runs
    calc "1e6 * $(sum_of "$f" server_cpu) / $(sum_of "$f" messages)"
}

# echo_row TAG NAME LOAD: one table row.
echo_row() {
    f=$BENCH_OUT/$1-$2.runs
    printf '| %s | %s | %.0f | %.2fx | %.0f µs | %.0f µs | %.2f µs | %.2fx | %s%% | %s%% | %s ms |\n' \
        "$3" "$(label "$2")" "$(rate "$1" "$2")" "$(calc "$(rate "$1" "$2") / $(rate "$1" node)")" \
        "$(median_of "$f" p50_us)" "$(median_of "$f" p99_us)" "$(per_msg "$1" "$2")" \
        "$(calc "$(per_msg "$1" "$2") / $(per_msg "$1" node)")" \
        "$(busy "$f" server_cpu)" "$(busy "$f" cpu)" "$(sum_of "$f" wait_ms)"
}

start_server ours "$WIRELAB_BIN/ws-echo" -q -p 0
start_server node node "$BENCH_DIR/node/ws-echo.js" 0

for size in 16 1024; do
    echo "websocket: echo of $size-byte messages, $BENCH_REPEAT x $SECONDS_PER_RUN s per server and load" >&2
    run_both "one-$size" --connections 1 --inflight 1 --size "$size"
    run_both "many-$size" --connections "$MANY" --inflight "$INFLIGHT" --size "$size"
    md "### Echo of $size-byte text messages, $SECONDS_PER_RUN s per run" "" \
       "| load | server | messages/s | vs Node | p50 | p99 | server CPU per message | vs Node | server busy | generator busy | server waited for a CPU |" \
       "|---|---|---|---|---|---|---|---|---|---|---|" \
       "$(echo_row "one-$size" ours "1 connection, 1 in flight")" \
       "$(echo_row "one-$size" node "1 connection, 1 in flight")" \
       "$(echo_row "many-$size" ours "$MANY connections, $INFLIGHT in flight each")" \
       "$(echo_row "many-$size" node "$MANY connections, $INFLIGHT in flight each")" \
       ""
done
stop_server ours
stop_server node

# ---- idle connections ----

# vm_rss_kib PID: resident memory in KiB.
vm_rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# idle_run NAME COMMAND...: a fresh server; a few connections first, so that code and buffers
# any connection touches are in the "before" figure; then IDLE_N idle connections, and the
# server's VmRSS while they are held. Writes "before=KiB after=KiB still_open=N" to NAME.idle.
idle_run() {
    name=$1
    shift
    start_server "$name" "$@"
    port=$(server_port "$name")
    pid=$(server_pid "$name")
    run_load "$LOAD" idle 127.0.0.1 "$port" --connections 10 --hold 0 >/dev/null ||
        bench_die "ws-load idle warm-up failed against $name"
    sleep 0.5
    before=$(vm_rss_kib "$pid")
    out=$BENCH_OUT/idle-$name.out
    : >"$out"
    run_load "$LOAD" idle 127.0.0.1 "$port" --connections "$IDLE_N" --hold "$IDLE_HOLD" >"$out" &
    tool=$!
    tries=0
    while ! grep -q 'open and idle' "$out" && [ $tries -lt 300 ]; do
        kill -0 "$tool" 2>/dev/null || break
        sleep 0.1
        tries=$((tries + 1))
    done
    sleep 1
    after=$(vm_rss_kib "$pid")
    wait "$tool" || bench_die "ws-load idle failed against $name"
    still=$(col "$out" still_open)
    [ -n "$still" ] || bench_die "ws-load idle did not finish against $name"
    echo "before=$before after=$after still_open=$still" >"$BENCH_OUT/$name.idle"
    stop_server "$name"
}

per_conn() {
    f=$BENCH_OUT/$1.idle
    calc "($(col "$f" after) - $(col "$f" before)) / $IDLE_N"
}

idle_row() {
    f=$BENCH_OUT/$1.idle
    printf '| %s | %.1f MiB | %.1f MiB | %.2f KiB | %s |\n' "$(label "$1")" \
        "$(calc "$(col "$f" before) / 1024")" "$(calc "$(col "$f" after) / 1024")" \
        "$(per_conn "$1")" "$(col "$f" still_open)"
}

if [ "$IDLE_N" -gt 0 ]; then
    echo "websocket: idle memory, $IDLE_N connections per server" >&2
    idle_run ours "$WIRELAB_BIN/ws-echo" -q -p 0
    idle_run node node "$BENCH_DIR/node/ws-echo.js" 0
    md "### Idle connections: $IDLE_N, handshake done, then held ${IDLE_HOLD} s" "" \
       "| server | VmRSS before | VmRSS with them open | per connection | still open at the end |" \
       "|---|---|---|---|---|" \
       "$(idle_row ours)" "$(idle_row node)" ""
fi

# ---- targets ----

md "Targets:"
for size in 16 1024; do
    ours_rate=$(rate "many-$size" ours)
    node_rate=$(rate "many-$size" node)
    md "- $(printf '%s B, %s connections: at least 1.2x Node'"'"'s messages/s: %s (%.2fx); at most a third of its CPU per message: %s (%.2fx)' \
        "$size" "$MANY" "$(met "$ours_rate >= 1.2 * $node_rate")" "$(calc "$ours_rate / $node_rate")" \
        "$(met "$(per_msg "many-$size" ours) <= $(per_msg "many-$size" node) / 3")" \
        "$(calc "$(per_msg "many-$size" ours) / $(per_msg "many-$size" node)")")"
done
if [ "$IDLE_N" -gt 0 ]; then
    md "- $(printf 'idle memory at most 1 KiB per connection: %s (%.2f KiB)' \
        "$(met "$(per_conn ours) <= 1")" "$(per_conn ours)")"
fi
