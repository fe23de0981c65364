#!/bin/sh
# demo.sh - the guided tour behind `make demo`: every section of the tutorials, on loopback.
#
# Each step starts a server on a free port (-p 0; the ready line says which), runs a client
# against it the way the documents do, and shows what the programs print and what the -v trace
# says happened on the wire. In a terminal it pauses between steps; piped or in CI it does not.
# It needs no root and no network, and stops every process it started, by PID, on any exit.
set -u

BIN=${WIRELAB_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-demo.XXXXXX")
PIDS=""

cleanup() {
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null
    done
    for pid in $PIDS; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 0 ] && [ -t 1 ]; then INTERACTIVE=1; else INTERACTIVE=0; fi
if [ -t 1 ]; then B=$(printf '\033[1m'); D=$(printf '\033[2m'); N=$(printf '\033[0m'); else B= D= N=; fi

say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note() { printf '%s\n' "$*"; }
show() { printf '%s$ %s%s\n' "$D" "$*" "$N"; }
pause() {
    if [ "$INTERACTIVE" = 1 ]; then
        printf '%s[Enter for the next step, Ctrl-C to stop]%s' "$D" "$N"
        read -r _ || true
    fi
}

# start NAME PROGRAM ARGS...: starts a server with -p 0 and its -v trace in $WORK/NAME.err,
# waits for its ready line and sets PORT.
start() {
    name=$1
    shift
    "$@" -p 0 >"$WORK/$name.out" 2>"$WORK/$name.err" &
    pid=$!
    PIDS="$PIDS $pid"
    eval "PID_$name=$pid"
    i=0
    while [ $i -lt 50 ]; do
        line=$(head -n 1 "$WORK/$name.out" 2>/dev/null)
        case "$line" in
        *" listening on "*)
            PORT=${line##*:}
            note "$line"
            return 0
            ;;
        esac
        i=$((i + 1))
        sleep 0.1
    done
    note "could not start $*:"
    cat "$WORK/$name.err"
    exit 1
}

# stop NAME: SIGTERM, wait, and show the server's trace.
stop() {
    eval "pid=\$PID_$1"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    PIDS=$(printf '%s' "$PIDS" | sed "s/ $pid\\b//")
}

trace_of() {
    note "${D}-- what $1 traced (-v, stderr):${N}"
    sed 's/^/   /' "$WORK/$1.err"
}

have() { command -v "$1" >/dev/null 2>&1; }

say "wirelab: a tour of the tutorials' programs (all on 127.0.0.1)"
note "Each server prints a ready line with the port it got, then we talk to it."
pause

say "1. TCP (document 000, section 一): the tutorial's server and client"
note "The server greets, answers each chunk with 'hello', and says 'end' when the client half-closes."
start tcp "$BIN/tcp-server" -v -x
show "tcp-client 127.0.0.1 $PORT          # sends 'world!\\r\\n', half-closes, prints all it gets"
"$BIN/tcp-client" 127.0.0.1 "$PORT"
echo
if have nc; then
    show "printf 'one\\ntwo\\n' | nc -N 127.0.0.1 $PORT"
    printf 'one\ntwo\n' | nc -N 127.0.0.1 "$PORT"
    echo
fi
stop tcp
trace_of tcp
note "One 'data' event per read, not per message: that is the tutorials' classic pitfall."
pause

say "1b. TCP framing: --lines answers once per complete line, however the bytes arrive"
start lines "$BIN/tcp-server" --lines --echo
show "(printf 'hel'; sleep 0.2; printf 'lo\\nwor'; sleep 0.2; printf 'ld\\n') | tcp-client -i 127.0.0.1 $PORT"
(printf 'hel'; sleep 0.2; printf 'lo\nwor'; sleep 0.2; printf 'ld\n') | "$BIN/tcp-client" -i 127.0.0.1 "$PORT"
stop lines
pause

say "2. UDP (document 000, section 二): datagrams keep their boundaries"
start udp "$BIN/udp-server" --echo -v
show "udp-client 127.0.0.1 $PORT                 # the tutorial's 'hello node udp'"
"$BIN/udp-client" 127.0.0.1 "$PORT"
show "udp-client -c 3 -i 100 -w 500 127.0.0.1 $PORT   # like ping: replies and round-trip times"
"$BIN/udp-client" -c 3 -i 100 -w 500 127.0.0.1 "$PORT"
sleep 0.2
stop udp
note "${D}-- what udp-server printed (stdout):${N}"
sed 's/^/   /' "$WORK/udp.out"
pause

say "3. HTTP (document 000, section 三): hello world, keep-alive, and the request as parsed"
start http "$BIN/http-server" -v
if have curl; then
    show "curl -sv http://127.0.0.1:$PORT/ http://127.0.0.1:$PORT/again   # two requests, one connection"
    curl -sv "http://127.0.0.1:$PORT/" "http://127.0.0.1:$PORT/again" 2>&1 | grep -E '^[<>*] (GET|HTTP|Re-using|Connection|Content|Date)|^hello'
else
    note "(curl is not installed: apt-get install curl)"
fi
if [ -x "$BIN/http-client" ]; then
    show "http-client --repeat 10 --parallel 2 --keep-alive --max-sockets 2 http://127.0.0.1:$PORT/"
    "$BIN/http-client" --repeat 10 --parallel 2 --keep-alive --max-sockets 2 "http://127.0.0.1:$PORT/" | tail -n 1
fi
show "printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n' | nc ...   # smuggling attempt"
if have nc; then
    printf 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n' | nc -N 127.0.0.1 "$PORT" | head -n 1
fi
stop http
trace_of http | head -n 40
pause

if [ -x "$BIN/ws-echo" ] && [ -x "$BIN/ws-client" ]; then
    say "4. WebSocket (documents 000 四, 001, 002): the handshake and frames, byte by byte"
    start ws "$BIN/ws-echo" -v
    show "ws-frame accept dGhlIHNhbXBsZSBub25jZQ==      # RFC 6455's own example key"
    "$BIN/ws-frame" accept dGhlIHNhbXBsZSBub25jZQ==
    show "echo hello | ws-client -v ws://127.0.0.1:$PORT/"
    echo hello | "$BIN/ws-client" -v "ws://127.0.0.1:$PORT/" 2>&1 | head -n 40
    stop ws
    pause
fi

if [ -x "$BIN/http-push" ] && have curl; then
    say "5. Server push (document 003): an EventSource stream, read with curl for 3 seconds"
    start push "$BIN/http-push"
    show "curl -sN --max-time 3 http://127.0.0.1:$PORT/clock/events"
    curl -sN --max-time 3 "http://127.0.0.1:$PORT/clock/events"
    note "Each event: an id (sent back as Last-Event-ID on reconnect), its type, and the data,"
    note "one 'data:' line per line. Open http://127.0.0.1:$PORT/ for all five techniques."
    stop push
    pause
fi

# TLS needs a build with OpenSSL: a server given a certificate that does not exist says which.
tls_build() {
    ! "$BIN/http-server" -p 0 --tls-cert /nonexistent --tls-key /nonexistent 2>&1 | grep -q 'no TLS'
}

if have openssl && have curl && tls_build; then
    say "6. TLS (docs/tls.md): the same hello world over https, with a CA made for the tour"
    show "openssl req -x509 ... -out ca.pem; openssl x509 -req ... -out cert.pem   # a test CA signs a certificate for localhost"
    ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$WORK/ext.cnf"
    openssl req -x509 $ec -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -days 1 -subj '/CN=demo CA' 2>/dev/null &&
        openssl req $ec -keyout "$WORK/key.pem" -out "$WORK/server.csr" -subj '/CN=localhost' 2>/dev/null &&
        openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
            -days 1 -out "$WORK/cert.pem" -extfile "$WORK/ext.cnf" 2>/dev/null
    start https "$BIN/http-server" -v --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" --keylog "$WORK/keys.log"
    show "curl -sv --cacert ca.pem https://localhost:$PORT/"
    curl -sv --cacert "$WORK/ca.pem" "https://localhost:$PORT/" 2>&1 |
        grep -E '^\* TLSv1\.3 \((IN|OUT)\)|^\* SSL connection|^\*  (subject|issuer|SSL certificate)|^hello'
    echo
    show "http-client https://localhost:$PORT/      # without --cacert: no CA we trust signed it"
    "$BIN/http-client" "https://localhost:$PORT/"
    show "curl -s http://localhost:$PORT/             # plain HTTP to the TLS port: that connection is dropped"
    curl -s "http://localhost:$PORT/" || true
    show "cut -c1-72 keys.log | head -n 2          # --keylog: what Wireshark needs to decrypt a capture"
    cut -c1-72 "$WORK/keys.log" | head -n 2
    stop https
    note "${D}-- what https traced: the handshake, and the two refused connections:${N}"
    grep -E 'secureConnection|error' "$WORK/https.err" | sed 's/^/   /'
    pause
fi

say "The browser demos (start one, then open the URL it prints):"
[ -x "$BIN/ws-echo" ] && note "  $BIN/ws-echo          then open http://127.0.0.1:8888/   (echo page)"
[ -x "$BIN/ws-chat" ] && note "  $BIN/ws-chat          then open http://127.0.0.1:8000/ in two tabs   (chat room)"
[ -x "$BIN/http-push" ] && note "  $BIN/http-push        then open http://127.0.0.1:7777/   (server push)"
note "  $BIN/http-server --static docs   then open http://127.0.0.1:8000/"
note ""
note "Next: the chapters in docs/ (tcp.md, udp.md, http.md, websocket.md, push.md, tls.md) and make check."
