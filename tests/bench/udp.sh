#!/bin/sh
# udp.sh - the UDP section of `make bench`: how many 64-byte datagrams a receiver keeps up with
# when a sender on the other core sends as fast as it can, and what each one costs the
# receiver. wirelab's udp-server -q (counts quietly, prints a summary on exit) against a Node
# dgram socket that only counts (tests/bench/node/dgram-sink.js), both started in this run.
#
# Each run starts a fresh receiver on the server core, sends for BENCH_UDP_SECONDS (default 5)
# with tests/tools/udp-load from the load core, gives the receiver a moment to empty its
# queue, reads its CPU time and stops it; the receiver's exit line says how many datagrams it
# got. Loss is what was sent and never received: on loopback, datagrams that arrived while the
# receive buffer was full. Both receivers keep the system's default receive buffer.
#
# Target (from the benchmark's issue): no more loss than Node, with at most half its CPU per
# datagram.
#
#   BENCH=udp make bench

. "$(dirname "$0")/lib.sh"
trap stop_all_servers EXIT
trap 'exit 130' INT TERM

SECONDS_PER_RUN=${BENCH_UDP_SECONDS:-5}
SIZE=64
LOAD=$WIRELAB_TOOLS/udp-load
OURS='wirelab `udp-server -q`'
NODE='Node `dgram`, a counting `message` listener'

md_start udp
md "Machine: $(machine); $(machine_load) as the section started." \
   "" \
   "Command: \`${BENCH_COMMAND:-make bench}\`, which runs, with a fresh receiver each run:" \
   "" \
   "- ours: \`taskset -c $BENCH_SERVER_CPU bin/udp-server -q -p 0\`" \
   "- Node: \`taskset -c $BENCH_SERVER_CPU node tests/bench/node/dgram-sink.js 0\`" \
   "- load: \`taskset -c $BENCH_LOAD_CPU build/default/tools/udp-load 127.0.0.1 PORT --seconds $SECONDS_PER_RUN --size $SIZE\`" \
   "" \
   "$BENCH_REPEAT runs of each, alternating between the receivers. Counts and CPU: totals over all runs" \
   "(utime + stime from /proc/PID/stat); \"busy\" is CPU time over wall time." \
   ""

# received NAME: the datagram count in the receiver's exit line, "received N datagrams, ...".
received() {
    sed -n 's/^received \([0-9][0-9]*\) datagrams.*/\1/p' "$BENCH_OUT/$1.out"
}

# one_run NAME COMMAND...: a fresh receiver, one blast, its count.
one_run() {
    name=$1
    shift
    start_server "$name" "$@"
    : >"$BENCH_OUT/last.run"
    SETTLE=0.3 measure "$name" "$BENCH_OUT/last.run" \
        "$LOAD" 127.0.0.1 "$(server_port "$name")" --seconds "$SECONDS_PER_RUN" --size "$SIZE"
    stop_server "$name"
    count=$(received "$name")
    [ -n "$count" ] || bench_die "$name printed no count: $(cat "$BENCH_OUT/$name.out")"
    echo "$(cat "$BENCH_OUT/last.run") received=$count" >>"$BENCH_OUT/udp-$name.runs"
}

echo "udp: $BENCH_REPEAT x $SECONDS_PER_RUN s per receiver" >&2
run=1
while [ $run -le "$BENCH_REPEAT" ]; do
    if [ $((run % 2)) -eq 1 ]; then order="ours node"; else order="node ours"; fi
    for name in $order; do
        if [ "$name" = ours ]; then
            one_run ours "$WIRELAB_BIN/udp-server" -q -p 0
        else
            one_run node node "$BENCH_DIR/node/dgram-sink.js" 0
        fi
    done
    run=$((run + 1))
done

# Per receiver: datagrams sent and received, loss in per cent, CPU per datagram received.
sent_total() { sum_of "$BENCH_OUT/udp-$1.runs" sent; }
recv_total() { sum_of "$BENCH_OUT/udp-$1.runs" received; }
loss() { calc "100 * ($(sent_total "$1") - $(recv_total "$1")) / $(sent_total "$1")"; }
per_dgram() { calc "1e6 * $(sum_of "$BENCH_OUT/udp-$1.runs" server_cpu) / $(recv_total "$1")"; }

udp_row() {
    f=$BENCH_OUT/udp-$1.runs
    printf '| %s | %.0f | %s | %s | %.1f%% | %.0f | %.2f µs | %.2fx | %s%% | %s ms |\n' "$2" \
        "$(median_of "$f" per_sec)" "$(sent_total "$1")" "$(recv_total "$1")" "$(loss "$1")" \
        "$(calc "$(recv_total "$1") / $(sum_of "$f" seconds)")" "$(per_dgram "$1")" \
        "$(calc "$(per_dgram "$1") / $(per_dgram node)")" \
        "$(calc "int(100 * $(sum_of "$f" server_cpu) / $(sum_of "$f" seconds) + 0.5)")" \
        "$(sum_of "$f" wait_ms)"
}
md "### Receiving $SIZE-byte datagrams at the sender's top rate, $SECONDS_PER_RUN s per run" "" \
   "| receiver | sent/s | sent | received | lost | received/s | CPU per datagram | vs Node | receiver busy | receiver waited for a CPU |" \
   "|---|---|---|---|---|---|---|---|---|---|" \
   "$(udp_row ours "$OURS")" \
   "$(udp_row node "$NODE")" \
   "" \
   "Target, no more loss than Node: $(met "$(loss ours) <= $(loss node)");" \
   "$(printf 'at most half its CPU per datagram: %s (%.2fx).' \
       "$(met "$(per_dgram ours) <= 0.5 * $(per_dgram node)")" \
       "$(calc "$(per_dgram ours) / $(per_dgram node)")")"
