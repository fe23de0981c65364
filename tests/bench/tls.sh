#!/bin/sh
# tls.sh - the TLS section of `make bench`: http-server over https against Node's `https`
# hello world, both started in this run on the server core, driven by wrk on the other core.
#
#   ours    bin/http-server -q --tls-cert CERT --tls-key KEY
#   Node    tests/bench/node/https-hello.js CERT KEY (the document's hello world on https)
#
# The certificate: an ECDSA P-256 key and a self-signed certificate for 127.0.0.1, made with
# the openssl command in the run's scratch folder (wrk does not verify certificates). Both
# servers negotiate TLS 1.3 with the same cipher (wrk's OpenSSL picks it).
#
# Throughput: `wrk -t1 -cN -d5s --latency https://127.0.0.1:PORT/` with keep-alive at 1, 50
# and 200 connections (the handshake once per connection, then records), and at 50 connections
# with `Connection: close`, where every request pays a full handshake. Each load runs
# BENCH_REPEAT times, the servers taking turns; the tables show the median run and, for CPU,
# the server's utime + stime over all runs divided by the requests wrk counted.
#
# Idle memory: tests/bench/node/tls-idle.js opens BENCH_TLS_IDLE (2000) TLS connections to a
# freshly started server, one request and answer on each, and holds them; the server's VmRSS
# before and while they are held, divided by their number, is its memory per idle TLS
# connection (kernel socket memory is not in it). Each server's keep-alive timeout is raised
# above the hold.
#
# Target (from the TLS issue): https keep-alive requests/s at least 2x Node's.
#
#   BENCH=tls make bench               this section alone
#   BENCH_TLS_SECONDS=5                seconds per wrk run
#   BENCH_TLS_LOADS="1 50 200 close"   which loads to run
#   BENCH_TLS_IDLE=2000                idle connections for the memory figure (0: skip it)

. "$(dirname "$0")/lib.sh"
trap stop_all_servers EXIT
trap 'exit 130' INT TERM

command -v wrk >/dev/null 2>&1 || bench_die "wrk not found (apt package wrk)"
command -v openssl >/dev/null 2>&1 || bench_die "openssl not found (apt package openssl)"
"$WIRELAB_BIN/http-server" -p 0 --tls-cert /nonexistent --tls-key /nonexistent 2>&1 |
    grep -q 'no TLS' && bench_die "this build has no TLS (rebuild with OpenSSL: apt-get install libssl-dev)"

DURATION=${BENCH_TLS_SECONDS:-5}
LOADS=${BENCH_TLS_LOADS:-"1 50 200 close"}
CLOSE_CONNECTIONS=50
IDLE_N=${BENCH_TLS_IDLE:-2000}
IDLE_HOLD=4
SERVERS="ours node"
CERT=$BENCH_OUT/tls-cert.pem
KEY=$BENCH_OUT/tls-key.pem

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$KEY" -out "$CERT" \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>"$BENCH_OUT/openssl.err" ||
    bench_die "openssl: $(cat "$BENCH_OUT/openssl.err")"

label() {
    case $1 in
    ours) echo 'wirelab `http-server -q --tls-cert --tls-key`' ;;
    node) echo 'Node `https`, the hello world' ;;
    esac
}

# wrk_figures: wrk's report on stdin as key=value pairs (requests, seconds, rps, p50_us,
# p99_us, errors).
wrk_figures() {
    awk '
        function us(v) {
            if (v ~ /us$/) return v + 0
            if (v ~ /ms$/) return v * 1000
            if (v ~ /s$/) return v * 1000000
            return v
        }
        / requests in / { requests = $1; seconds = $4 + 0 }
        /^Requests\/sec:/ { rps = $2 }
        /^ +50% / { p50 = us($2) }
        /^ +99% / { p99 = us($2) }
        /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { errors += $5 }
        END {
            if (rps == "") exit 1
            printf "requests=%d seconds=%s rps=%s p50_us=%s p99_us=%s errors=%d\n",
                requests, seconds, rps, p50, p99, errors
        }'
}

# one_run NAME FILE CONNECTIONS [HEADER]: one wrk run against NAME; appends its figures and the
# server's CPU seconds to FILE.
one_run() {
    pid=$(server_pid "$1")
    t0=$(cpu_ticks "$pid")
    run_load wrk -t1 -c"$3" -d"${DURATION}s" --latency ${4:+-H "$4"} \
        "https://127.0.0.1:$(server_port "$1")/" >"$BENCH_OUT/wrk.out" ||
        bench_die "wrk failed against $1: $(cat "$BENCH_OUT/wrk.out")"
    t1=$(cpu_ticks "$pid")
    line=$(wrk_figures <"$BENCH_OUT/wrk.out") || bench_die "no figures from wrk: $(cat "$BENCH_OUT/wrk.out")"
    echo "$line server_cpu=$(calc "($t1 - $t0) / $CLK_TCK")" >>"$2"
}

cpu_per_request() { calc "1e6 * $(sum_of "$1" server_cpu) / $(sum_of "$1" requests)"; }

md_start tls
md "Machine: $(machine), $(openssl version | cut -d' ' -f1-2), wrk $(wrk --version 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p');" \
   "$(machine_load) as the section started." \
   "" \
   "Command: \`${BENCH_COMMAND:-make bench}\`, which runs:" \
   "" \
   "- ours: \`taskset -c $BENCH_SERVER_CPU bin/http-server -q -p 0 --tls-cert CERT --tls-key KEY\`" \
   "- Node: \`taskset -c $BENCH_SERVER_CPU node tests/bench/node/https-hello.js CERT KEY 0\`" \
   "- CERT, KEY: a self-signed ECDSA P-256 certificate for 127.0.0.1 made by \`openssl req -x509\` for the run" \
   "- load: \`taskset -c $BENCH_LOAD_CPU wrk -t1 -cN -d${DURATION}s --latency https://127.0.0.1:PORT/\` for N = 1, 50, 200," \
   "  and \`-c$CLOSE_CONNECTIONS -H 'Connection: close'\` (a full TLS handshake per request)" \
   "" \
   "$BENCH_REPEAT runs of each load, the servers taking turns. Requests/s and latencies: the median run." \
   "CPU per request: the server's utime + stime (/proc/PID/stat) over all runs divided by the requests wrk counted." \
   ""

start_server ours "$WIRELAB_BIN/http-server" -q -p 0 --tls-cert "$CERT" --tls-key "$KEY"
start_server node node "$BENCH_DIR/node/https-hello.js" "$CERT" "$KEY" 0

for load in $LOADS; do
    echo "tls: $load, $BENCH_REPEAT x $DURATION s per server" >&2
    conns=$load
    header=
    title="### https keep-alive, $load connection$([ "$load" = 1 ] || echo s), ${DURATION} s"
    if [ "$load" = close ]; then
        conns=$CLOSE_CONNECTIONS
        header="Connection: close"
        title="### https with Connection: close, $CLOSE_CONNECTIONS connections (a handshake per request), ${DURATION} s"
    fi
    run=1
    while [ $run -le "$BENCH_REPEAT" ]; do
        order="ours node"
        [ $((run % 2)) = 0 ] && order="node ours"
        for name in $order; do
            one_run "$name" "$BENCH_OUT/tls-$load-$name.runs" "$conns" "$header"
        done
        run=$((run + 1))
    done
    md "$title" "" \
       "| server | requests/s | vs Node | p50 | p99 | CPU per request | errors |" \
       "|---|---|---|---|---|---|---|"
    node_rate=$(median_of "$BENCH_OUT/tls-$load-node.runs" rps)
    for name in $SERVERS; do
        f=$BENCH_OUT/tls-$load-$name.runs
        rate=$(median_of "$f" rps)
        md "$(printf '| %s | %.0f | %.2fx | %.0f µs | %.0f µs | %.1f µs | %s |' "$(label "$name")" \
            "$rate" "$(calc "$rate / $node_rate")" "$(median_of "$f" p50_us)" \
            "$(median_of "$f" p99_us)" "$(cpu_per_request "$f")" "$(sum_of "$f" errors)")"
    done
    md ""
done

# At one connection wrk waits for each answer before it sends the next request, so requests/s
# is the round trip through two processes on two cores, whoever the server is; the target is
# judged where the servers' own work decides, at 50 and 200 connections, and the one-connection
# ratio (and CPU per request there) is shown beside it.
# ---- idle TLS connections ----

vm_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# idle_run NAME: IDLE_N idle TLS connections to server NAME (started fresh); writes
# "before=KiB after=KiB still_open=N" to NAME.idle.
idle_run() {
    port=$(server_port "$1")
    pid=$(server_pid "$1")
    run_load node "$BENCH_DIR/node/tls-idle.js" "$port" 10 0 >/dev/null ||
        bench_die "tls-idle warm-up failed against $1"
    sleep 0.5
    before=$(vm_rss_kib "$pid")
    out=$BENCH_OUT/tls-idle-$1.out
    : >"$out"
    run_load node "$BENCH_DIR/node/tls-idle.js" "$port" "$IDLE_N" "$IDLE_HOLD" >"$out" &
    tool=$!
    tries=0
    while ! grep -q 'open and idle' "$out" && [ $tries -lt 600 ]; do
        kill -0 "$tool" 2>/dev/null || break
        sleep 0.1
        tries=$((tries + 1))
    done
    sleep 1
    after=$(vm_rss_kib "$pid")
    wait "$tool" || bench_die "tls-idle failed against $1"
    echo "before=$before after=$after $(grep still_open "$out")" >"$BENCH_OUT/$1.idle"
}

idle_row() {
    f=$BENCH_OUT/$1.idle
    printf '| %s | %.1f MiB | %.1f MiB | %.1f KiB | %s |' "$(label "$1")" \
        "$(calc "$(col "$f" before) / 1024")" "$(calc "$(col "$f" after) / 1024")" \
        "$(calc "($(col "$f" after) - $(col "$f" before)) / $IDLE_N")" "$(col "$f" still_open)"
}

if [ "$IDLE_N" -gt 0 ]; then
    echo "tls: idle memory, $IDLE_N connections per server" >&2
    stop_server ours
    stop_server node
    start_server ours "$WIRELAB_BIN/http-server" -q -p 0 --keep-alive-timeout 60000 --tls-cert "$CERT" --tls-key "$KEY"
    idle_run ours
    stop_server ours
    start_server node node "$BENCH_DIR/node/https-hello.js" "$CERT" "$KEY" 0 60000
    idle_run node
    stop_server node
    md "### Idle TLS connections: $IDLE_N, one request each, then held ${IDLE_HOLD} s" "" \
       "| server | VmRSS before | VmRSS with them open | per connection | still open at the end |" \
       "|---|---|---|---|---|" "$(idle_row ours)" "$(idle_row node)" ""
fi

md "Target: https keep-alive requests/s at least 2x Node's (ours over Node):"
for load in $LOADS; do
    [ "$load" = close ] && continue
    f=$BENCH_OUT/tls-$load-ours.runs
    r=$(calc "$(median_of "$f" rps) / $(median_of "$BENCH_OUT/tls-$load-node.runs" rps)")
    c=$(calc "$(cpu_per_request "$BENCH_OUT/tls-$load-node.runs") / $(cpu_per_request "$f")")
    if [ "$load" = 1 ]; then
        md "- 1 connection (round-trip bound, not a target): $(printf '%.2fx' "$r") requests/s, $(printf '%.2fx' "$c") less CPU per request"
    else
        md "- $load connections: $(met "$r >= 2") ($(printf '%.2fx' "$r") requests/s; $(printf '%.2fx' "$c") less CPU per request)"
    fi
done
