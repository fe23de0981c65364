#!/bin/sh
# http.sh - the HTTP section of `make bench`: the hello-world server against Node's and nginx's,
# all three started in this run, all on the server core, driven by wrk on the other core.
#
#   ours    bin/http-server -q (document 000's hello world on http/http_server.c)
#   Node    tests/bench/node/http-hello.js (the document's own server)
#   nginx   one process, access log off, `return 200 "hello world"` with default_type
#           text/plain, from a configuration written into the run's scratch folder
#
# Throughput: `wrk -t1 -cN -d5s --latency` with keep-alive at 1, 50 and 200 connections, then
# at 50 connections with `-H 'Connection: close'` (a new connection for every request). Each
# load runs BENCH_REPEAT times, the three servers taking turns; the tables show the median run
# (requests/s, p50, p99) and, for CPU, the totals over all runs: the server's utime + stime
# from /proc/PID/stat divided by the requests wrk counted. wrk saturates its own core before
# any of these servers does, so requests/s says more about wrk than about the server, and CPU
# per request is the figure that compares the servers; "wrk busy" shows how close wrk was to
# its limit (its CPU time, read as its parent shell's cutime + cstime).
#
# Idle memory: tests/tools/idle-conns opens BENCH_IDLE_CONNECTIONS (5000) connections to a
# freshly started server, one request and response on each, and holds them open; the
# server's VmRSS (/proc/PID/status) before and while they are held, divided by their number,
# is its memory per idle keep-alive connection. Kernel socket memory is not in it (it is the
# same for all three). Each server gets a keep-alive timeout longer than the hold.
#
# Targets (from the benchmark's issue): CPU per request no more than nginx's; requests/s
# within 5% of nginx's or better at 50 and 200 connections; p99 no worse than nginx's; idle
# memory at most 1 KiB per connection.
#
#   BENCH=http make bench              this section alone
#   BENCH_HTTP_SECONDS=5               seconds per wrk run
#   BENCH_HTTP_LOADS="1 50 200 close"  which loads to run
#   BENCH_IDLE_CONNECTIONS=5000        idle clients for the memory figure (0: skip it)

. "$(dirname "$0")/lib.sh"
trap stop_all_servers EXIT
trap 'exit 130' INT TERM

command -v wrk >/dev/null 2>&1 || bench_die "wrk not found (apt package wrk)"
command -v nginx >/dev/null 2>&1 || bench_die "nginx not found (apt package nginx)"

DURATION=${BENCH_HTTP_SECONDS:-5}
LOADS=${BENCH_HTTP_LOADS:-"1 50 200 close"}
CLOSE_CONNECTIONS=50
IDLE_N=${BENCH_IDLE_CONNECTIONS:-5000}
IDLE_HOLD=4
SERVERS="ours node nginx"
OURS='wirelab `http-server -q`'
NODE='Node `http`, document 000'"'"'s hello world'
NGINX='nginx, one process, `return 200`'

# ---- nginx: a configuration of our own, in the scratch folder ----

# free_port: a port the kernel has just handed out and taken back (nginx cannot be told to
# use "any free port" and report it, as the other servers are).
free_port() {
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
             () => { console.log(s.address().port); s.close(); });'
}

# nginx_conf DIR PORT KEEPALIVE_S: one process (no master: its CPU and memory are the worker's),
# no access log, the hello world for every request.
nginx_conf() {
    cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections $((IDLE_N + 1024)); }
http {
    access_log off;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    keepalive_timeout ${3}s;
    server {
        listen 127.0.0.1:$2;
        default_type text/plain;
        location / { return 200 "hello world"; }
    }
}
EOF
}

# start_nginx NAME KEEPALIVE_S: like start_server, for nginx: its PID and port go to
# $BENCH_OUT/NAME.pid and NAME.port, so server_pid, measure and stop_server work on it. It is
# ready once it answers a request.
start_nginx() {
    dir=$BENCH_OUT/$1-nginx
    mkdir -p "$dir"
    port=$(free_port)
    nginx_conf "$dir" "$port" "$2" >"$dir/nginx.conf"
    taskset -c "$BENCH_SERVER_CPU" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        >"$BENCH_OUT/$1.out" 2>"$BENCH_OUT/$1.err" &
    echo $! >"$BENCH_OUT/$1.pid"
    echo "$port" >"$BENCH_OUT/$1.port"
    tries=0
    while [ $tries -lt 100 ]; do
        "$WIRELAB_BIN/http-client" --timeout 1000 -o /dev/null "http://127.0.0.1:$port/" \
            2>/dev/null && return 0
        kill -0 "$(server_pid "$1")" 2>/dev/null || break
        sleep 0.1
        tries=$((tries + 1))
    done
    cat "$BENCH_OUT/$1.err" "$dir/error.log" >&2
    bench_die "nginx did not start (port $port)"
}

# ---- wrk ----

# wrk_kv: wrk's report on stdin as one line of key=value pairs: requests, seconds, rps,
# p50_us, p99_us, errors (socket errors of every kind plus non-2xx responses).
wrk_kv() {
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

# run_wrk NAME FILE CONNECTIONS [HEADER]: one wrk run against server NAME on the load core.
# Appends wrk's figures to FILE with the server's CPU seconds (server_cpu), the milliseconds it
# waited for a CPU (wait_ms) and wrk's own CPU seconds (wrk_cpu). wrk runs under a shell that
# reports its children's CPU time once wrk has ended.
run_wrk() {
    name=$1
    file=$2
    conns=$3
    pid=$(server_pid "$name")
    url=http://127.0.0.1:$(server_port "$name")/
    t0=$(cpu_ticks "$pid")
    w0=$(wait_ns "$pid")
    taskset -c "$BENCH_LOAD_CPU" timeout $((DURATION + 60)) sh -c '
        out=$1
        shift
        "$@" >"$out" || exit 1
        sed "s/.*) //" /proc/$$/stat | awk "{ print \$14 + \$15 }" >"$out.cpu"' \
        wrk "$BENCH_OUT/wrk.out" wrk -t1 -c"$conns" -d"${DURATION}s" --latency ${4:+-H "$4"} "$url" ||
        bench_die "wrk failed against $name: $(cat "$BENCH_OUT/wrk.out")"
    t1=$(cpu_ticks "$pid")
    w1=$(wait_ns "$pid")
    line=$(wrk_kv <"$BENCH_OUT/wrk.out") || bench_die "no figures from wrk: $(cat "$BENCH_OUT/wrk.out")"
    echo "$line server_cpu=$(calc "($t1 - $t0) / $CLK_TCK")" \
        "wait_ms=$(calc "int(($w1 - $w0) / 1e6)")" \
        "wrk_cpu=$(calc "$(cat "$BENCH_OUT/wrk.out.cpu") / $CLK_TCK")" >>"$file"
}

# ---- the report ----

NODE_VERSION=$(node --version)
NGINX_VERSION=$(nginx -v 2>&1 | sed 's/.*nginx\///')
WRK_VERSION=$(wrk --version 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p')

md_start http
md "Machine: $(machine), nginx $NGINX_VERSION, wrk $WRK_VERSION; $(machine_load) as the section started." \
   "" \
   "Command: \`${BENCH_COMMAND:-make bench}\`, which runs:" \
   "" \
   "- ours: \`taskset -c $BENCH_SERVER_CPU bin/http-server -q -p 0\`" \
   "- Node: \`taskset -c $BENCH_SERVER_CPU node tests/bench/node/http-hello.js 0\`" \
   "- nginx: \`taskset -c $BENCH_SERVER_CPU nginx -p DIR -c DIR/nginx.conf\`, with \`daemon off; master_process off;\`" \
   "  (one process), \`access_log off;\`, \`default_type text/plain;\` and \`location / { return 200 \"hello world\"; }\`" \
   "  on \`127.0.0.1:PORT\` (tests/bench/http.sh writes the file)" \
   "- load: \`taskset -c $BENCH_LOAD_CPU wrk -t1 -cN -d${DURATION}s --latency http://127.0.0.1:PORT/\` for N = 1, 50, 200," \
   "  and \`-c$CLOSE_CONNECTIONS -H 'Connection: close'\`" \
   "- idle: \`build/default/tools/idle-conns 127.0.0.1 PORT $IDLE_N --hold $IDLE_HOLD\` against a fresh server of each kind" \
   "" \
   "$BENCH_REPEAT runs of each load, the servers taking turns. Requests/s and latencies: the median run." \
   "CPU per request: the server's utime + stime (/proc/PID/stat) over all runs divided by the requests" \
   "wrk counted. \"busy\": CPU time over wall time." \
   ""

start_server ours "$WIRELAB_BIN/http-server" -q -p 0
start_server node node "$BENCH_DIR/node/http-hello.js" 0
start_nginx nginx 75

# label NAME: the server's name in the tables.
label() {
    case $1 in
    ours) echo "$OURS" ;;
    node) echo "$NODE" ;;
    nginx) echo "$NGINX" ;;
    esac
}

# busy FILE KEY: CPU seconds over the wall time of all runs, in per cent.
busy() { calc "int(100 * $(sum_of "$1" "$2") / $(sum_of "$1" seconds) + 0.5)"; }

# cpu_per_request FILE: µs of server CPU per request, over all runs.
cpu_per_request() { calc "1e6 * $(sum_of "$1" server_cpu) / $(sum_of "$1" requests)"; }

# run_load_rounds LOAD: BENCH_REPEAT rounds of wrk against each server, the first server of a round
# moving on by one each round. Results go to $BENCH_OUT/http-LOAD-<server>.runs.
run_load_rounds() {
    load=$1
    conns=$load
    header=
    if [ "$load" = close ]; then
        conns=$CLOSE_CONNECTIONS
        header="Connection: close"
    fi
    run=1
    while [ $run -le "$BENCH_REPEAT" ]; do
        case $((run % 3)) in
        1) order="ours node nginx" ;;
        2) order="node nginx ours" ;;
        0) order="nginx ours node" ;;
        esac
        for name in $order; do
            run_wrk "$name" "$BENCH_OUT/http-$load-$name.runs" "$conns" "$header"
        done
        run=$((run + 1))
    done
}

# load_title LOAD: a table's heading.
load_title() {
    if [ "$1" = close ]; then
        echo "### Connection: close, $CLOSE_CONNECTIONS connections (a new connection per request), ${DURATION} s"
    else
        echo "### Keep-alive, $1 connection$([ "$1" = 1 ] || echo s), ${DURATION} s"
    fi
}

# load_row LOAD NAME: one table row.
load_row() {
    f=$BENCH_OUT/http-$1-$2.runs
    rate=$(median_of "$f" rps)
    node_rate=$(median_of "$BENCH_OUT/http-$1-node.runs" rps)
    nginx_rate=$(median_of "$BENCH_OUT/http-$1-nginx.runs" rps)
    printf '| %s | %.0f | %.2fx | %.2fx | %.0f µs | %.0f µs | %.1f µs | %s%% | %s%% | %s | %s ms |\n' \
        "$(label "$2")" "$rate" "$(calc "$rate / $node_rate")" "$(calc "$rate / $nginx_rate")" \
        "$(median_of "$f" p50_us)" "$(median_of "$f" p99_us)" "$(cpu_per_request "$f")" \
        "$(busy "$f" server_cpu)" "$(busy "$f" wrk_cpu)" "$(sum_of "$f" errors)" \
        "$(sum_of "$f" wait_ms)"
}

for load in $LOADS; do
    echo "http: $load, $BENCH_REPEAT x $DURATION s per server" >&2
    run_load_rounds "$load"
    md "$(load_title "$load")" "" \
       "| server | requests/s | vs Node | vs nginx | p50 | p99 | CPU per request | server busy | wrk busy | errors | server waited for a CPU |" \
       "|---|---|---|---|---|---|---|---|---|---|---|"
    for name in $SERVERS; do
        md "$(load_row "$load" "$name")"
    done
    md ""
done

# ---- idle keep-alive connections ----

# vm_rss_kib PID: resident memory in KiB.
vm_rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# idle_run NAME: opens IDLE_N idle connections to server NAME (started fresh, its keep-alive
# timeout longer than the hold) and writes "before=KiB after=KiB still_open=N" to NAME.idle.
idle_run() {
    name=$1
    port=$(server_port "$name")
    pid=$(server_pid "$name")
    # A few requests first, so that code and buffers touched by any connection are in the
    # "before" figure and the difference is what each connection adds.
    run_load "$WIRELAB_TOOLS/idle-conns" 127.0.0.1 "$port" 10 --hold 0 >/dev/null ||
        bench_die "idle-conns warm-up failed against $name"
    sleep 0.5
    before=$(vm_rss_kib "$pid")
    out=$BENCH_OUT/idle-$name.out
    : >"$out"
    run_load "$WIRELAB_TOOLS/idle-conns" 127.0.0.1 "$port" "$IDLE_N" --hold "$IDLE_HOLD" >"$out" &
    tool=$!
    tries=0
    while ! grep -q 'open and idle' "$out" && [ $tries -lt 300 ]; do
        kill -0 "$tool" 2>/dev/null || break
        sleep 0.1
        tries=$((tries + 1))
    done
    sleep 1
    after=$(vm_rss_kib "$pid")
    wait "$tool" || bench_die "idle-conns failed against $name"
    still=$(col "$out" still_open)
    [ -n "$still" ] || bench_die "idle-conns did not finish against $name"
    echo "before=$before after=$after still_open=$still" >"$BENCH_OUT/$name.idle"
}

idle_row() {
    f=$BENCH_OUT/$1.idle
    before=$(col "$f" before)
    after=$(col "$f" after)
    printf '| %s | %.1f MiB | %.1f MiB | %.2f KiB | %s |\n' "$(label "$1")" \
        "$(calc "$before / 1024")" "$(calc "$after / 1024")" \
        "$(calc "($after - $before) / $IDLE_N")" "$(col "$f" still_open)"
}

if [ "$IDLE_N" -gt 0 ]; then
    echo "http: idle memory, $IDLE_N connections per server" >&2
    for name in $SERVERS; do
        stop_server "$name"
    done
    start_server ours "$WIRELAB_BIN/http-server" -q -p 0 --keep-alive-timeout 60000
    idle_run ours
    stop_server ours
    start_server node node "$BENCH_DIR/node/http-hello.js" 0 60000
    idle_run node
    stop_server node
    start_nginx nginx 60
    idle_run nginx
    stop_server nginx
    md "### Idle keep-alive connections: $IDLE_N, one request each, then held ${IDLE_HOLD} s" "" \
       "| server | VmRSS before | VmRSS with them open | per connection | still open at the end |" \
       "|---|---|---|---|---|" \
       "$(idle_row ours)" "$(idle_row node)" "$(idle_row nginx)" "" \
       "nginx allocates its connection table (worker_connections = $((IDLE_N + 1024)) slots) at start," \
       "so that part of its cost is in the \"before\" figure." \
       ""
fi

# ---- targets ----

# ours_vs_nginx LOAD KEY: ours' median KEY over nginx's.
ours_vs_nginx() {
    calc "$(median_of "$BENCH_OUT/http-$1-ours.runs" "$2") / $(median_of "$BENCH_OUT/http-$1-nginx.runs" "$2")"
}

# target_line TEXT LOADS CHECK: "TEXT: met/missed at each load (value)"; CHECK is a function
# LOAD printing "RATIO CONDITION-HOLDS(0/1)".
target_line() {
    text=$1
    loads=$2
    check=$3
    parts=
    for load in $loads; do
        case " $LOADS " in *" $load "*) ;; *) continue ;; esac
        set -- $($check "$load")
        verdict=$(awk "BEGIN { print ($2) ? \"met\" : \"**missed**\" }")
        parts="$parts${parts:+; }$load: $verdict ($(printf '%.2fx' "$1"))"
    done
    [ -n "$parts" ] && md "- $text: $parts"
}

cpu_check() {
    r=$(calc "$(cpu_per_request "$BENCH_OUT/http-$1-ours.runs") / $(cpu_per_request "$BENCH_OUT/http-$1-nginx.runs")")
    echo "$r $r<=1"
}
rps_check() {
    r=$(ours_vs_nginx "$1" rps)
    echo "$r $r>=0.95"
}
p99_check() {
    r=$(ours_vs_nginx "$1" p99_us)
    echo "$r $r<=1"
}

md "Targets, ours against nginx (ratios: ours over nginx):" ""
target_line "CPU per request no more than nginx's" "$LOADS" cpu_check
target_line "requests/s within 5% of nginx's or better" "50 200" rps_check
target_line "p99 no worse than nginx's" "$LOADS" p99_check
if [ "$IDLE_N" -gt 0 ]; then
    f=$BENCH_OUT/ours.idle
    per=$(calc "($(col "$f" after) - $(col "$f" before)) / $IDLE_N")
    md "- idle memory at most 1 KiB per connection: $(met "$per <= 1") ($(printf '%.2f' "$per") KiB)"
fi
