#!/bin/sh
# tcp.sh - the TCP section of `make bench`: wirelab's tcp-server --echo against Node's net echo
# (tests/bench/node/echo.js, socket.pipe(socket)), both started in this run, both on the
# server core, driven by tests/tools/tcp-load on the other core.
#
#   stream     one connection; 1 GiB sent while the echo is read back. Throughput, and the
#              server's CPU time per MiB echoed.
#   pingpong   one connection; 64 bytes out, 64 bytes back, again, for 5 s. Round trips per
#              second, median and 99th-percentile round-trip time, server CPU per round trip.
#
# Each measurement runs BENCH_REPEAT times, alternating between the two servers so both see
# the same disturbances; the tables show the median run and CPU totals over all runs.
# Targets (from the benchmark's issue): stream at least 1.5x Node; ping-pong no slower.
#
#   BENCH=tcp make bench            this section alone
#   BENCH_STREAM_BYTES=...          a different stream size (default 1 GiB)
#   BENCH_PINGPONG_SECONDS=...      a different ping-pong duration (default 5)

. "$(dirname "$0")/lib.sh"
trap stop_all_servers EXIT
trap 'exit 130' INT TERM

STREAM_BYTES=${BENCH_STREAM_BYTES:-1073741824}
PINGPONG_SECONDS=${BENCH_PINGPONG_SECONDS:-5}
LOAD=$WIRELAB_TOOLS/tcp-load
OURS='wirelab `tcp-server --echo`'
NODE='Node `net`, `socket.pipe(socket)`'

md_start tcp
md "Machine: $(machine); $(machine_load) as the section started." \
   "" \
   "Command: \`${BENCH_COMMAND:-make bench}\`, which runs:" \
   "" \
   "- ours: \`taskset -c $BENCH_SERVER_CPU bin/tcp-server --echo -q -p 0\`" \
   "- Node: \`taskset -c $BENCH_SERVER_CPU node tests/bench/node/echo.js 0\`" \
   "- load: \`taskset -c $BENCH_LOAD_CPU build/default/tools/tcp-load stream 127.0.0.1 PORT --bytes $STREAM_BYTES\`," \
   "  then \`tcp-load pingpong 127.0.0.1 PORT --seconds $PINGPONG_SECONDS\`" \
   "" \
   "$BENCH_REPEAT runs of each, alternating between the servers. Rates and latencies: the median run." \
   "CPU: totals over all runs (utime + stime from /proc/PID/stat); \"busy\" is CPU time over wall time." \
   ""

start_server ours "$WIRELAB_BIN/tcp-server" --echo -q -p 0
start_server node node "$BENCH_DIR/node/echo.js" 0

# run_both MODE ARGS...: BENCH_REPEAT runs of `tcp-load MODE` against each server, ours first
# on odd runs and Node first on even ones. Results go to $BENCH_OUT/MODE-<server>.runs.
run_both() {
    mode=$1
    shift
    run=1
    while [ $run -le "$BENCH_REPEAT" ]; do
        if [ $((run % 2)) -eq 1 ]; then order="ours node"; else order="node ours"; fi
        for name in $order; do
            measure "$name" "$BENCH_OUT/$mode-$name.runs" \
                "$LOAD" "$mode" 127.0.0.1 "$(server_port "$name")" "$@"
        done
        run=$((run + 1))
    done
}

# busy FILE KEY: CPU seconds (server_cpu, or the generator's cpu) over the wall time of all
# runs, in per cent.
busy() { calc "int(100 * $(sum_of "$1" "$2") / $(sum_of "$1" seconds) + 0.5)"; }

# ---- streaming ----

echo "tcp: stream, $BENCH_REPEAT x $STREAM_BYTES bytes per server" >&2
run_both stream --bytes "$STREAM_BYTES"

# stream_row NAME LABEL NODE_RATE: one table row.
stream_row() {
    f=$BENCH_OUT/stream-$1.runs
    rate=$(median_of "$f" bytes_per_sec)
    per_mib=$(calc "1e6 * $(sum_of "$f" server_cpu) / ($(sum_of "$f" bytes) / 1048576)")
    printf '| %s | %.2f GB/s | %.2fx | %.0f µs | %s%% | %s%% | %s ms |\n' "$2" \
        "$(calc "$rate / 1e9")" "$(calc "$rate / $3")" "$per_mib" \
        "$(busy "$f" server_cpu)" "$(busy "$f" cpu)" "$(sum_of "$f" wait_ms)"
}
node_rate=$(median_of "$BENCH_OUT/stream-node.runs" bytes_per_sec)
ours_rate=$(median_of "$BENCH_OUT/stream-ours.runs" bytes_per_sec)
md "### Streaming: one connection, $STREAM_BYTES bytes echoed" "" \
   "| server | throughput | vs Node | server CPU per MiB | server busy | generator busy | server waited for a CPU |" \
   "|---|---|---|---|---|---|---|" \
   "$(stream_row ours "$OURS" "$node_rate")" \
   "$(stream_row node "$NODE" "$node_rate")" \
   "" \
   "$(printf 'Target, stream at least 1.5x Node: %s (%.2fx).' \
       "$(met "$ours_rate >= 1.5 * $node_rate")" "$(calc "$ours_rate / $node_rate")")" \
   ""

# ---- ping-pong ----

echo "tcp: pingpong, $BENCH_REPEAT x $PINGPONG_SECONDS s per server" >&2
run_both pingpong --seconds "$PINGPONG_SECONDS"

pingpong_row() {
    f=$BENCH_OUT/pingpong-$1.runs
    rate=$(median_of "$f" round_trips_per_sec)
    per_trip=$(calc "1e6 * $(sum_of "$f" server_cpu) / $(sum_of "$f" round_trips)")
    printf '| %s | %.0f | %.2fx | %.0f µs | %.0f µs | %.1f µs | %s%% | %s%% | %s ms |\n' "$2" \
        "$rate" "$(calc "$rate / $3")" "$(median_of "$f" p50_us)" "$(median_of "$f" p99_us)" \
        "$per_trip" "$(busy "$f" server_cpu)" "$(busy "$f" cpu)" "$(sum_of "$f" wait_ms)"
}
node_rate=$(median_of "$BENCH_OUT/pingpong-node.runs" round_trips_per_sec)
ours_rate=$(median_of "$BENCH_OUT/pingpong-ours.runs" round_trips_per_sec)
md "### Ping-pong: 64 bytes each way, one connection, $PINGPONG_SECONDS s" "" \
   "| server | round trips/s | vs Node | p50 | p99 | server CPU per round trip | server busy | generator busy | server waited for a CPU |" \
   "|---|---|---|---|---|---|---|---|---|" \
   "$(pingpong_row ours "$OURS" "$node_rate")" \
   "$(pingpong_row node "$NODE" "$node_rate")" \
   "" \
   "$(printf 'Target, ping-pong no slower than Node: %s (%.2fx).' \
       "$(met "$ours_rate >= $node_rate")" "$(calc "$ours_rate / $node_rate")")"
