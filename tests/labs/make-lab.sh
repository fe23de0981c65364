#!/bin/sh
# make-lab.sh - writes a lab's starter tree: `make lab LAB=N DIR=path`.
#
#     sh tests/labs/make-lab.sh N DIR
#
# The reference programs are the solutions. Around the code a student writes, a source file
# carries lab markers, comments only, so the reference builds and runs as it is:
#
#     /* LAB 1 BEGIN
#      * Find each complete line (up to '\n') in data, answer it, and return how many bytes
#      * you used: the stream keeps the rest for the next read.
#      * STUB: return len;
#      */
#     ... the reference code ...
#     /* LAB 1 END */
#
# In lab N's starter the code between BEGIN and END is gone: in its place stands a TODO comment
# holding the marker's text, and the STUB: lines (code) that keep the file compiling. Markers
# of the other labs are dropped and their code kept. Several STUB: lines may follow one another;
# a marker without one leaves nothing but the TODO.
#
# DIR gets the sources (common/, tcp/, udp/, http/, websocket/), the Makefile and what it
# needs to build (tests/tools/embed.sh), README.md and the handout docs/labs/labN.md. Lab 0
# (networking by hand) also gets lab0/answers.txt to fill in. DIR may exist but must hold no
# sources yet.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: make-lab.sh N DIR   (or: make lab LAB=N DIR=path)" >&2
    exit 2
fi
LAB=$1
DIR=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$LAB" in
[0-7]) ;;
*)
    echo "make-lab.sh: no lab '$LAB' (the labs are 0 to 7)" >&2
    exit 2
    ;;
esac
HANDOUT=$ROOT/docs/labs/lab$LAB.md
if [ ! -f "$HANDOUT" ]; then
    echo "make-lab.sh: lab $LAB has no handout yet ($HANDOUT)" >&2
    exit 2
fi
if [ -e "$DIR/Makefile" ] || [ -e "$DIR/common" ]; then
    echo "make-lab.sh: $DIR already holds a tree; choose an empty directory" >&2
    exit 2
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# 1. The tree, as it is (timestamps kept).
cd "$ROOT"
cp -Rp Makefile common tcp udp http websocket "$DIR"/
for f in .clang-format README.md; do
    [ -f "$f" ] && cp -p "$f" "$DIR"/
done
mkdir -p "$DIR/tests/tools" "$DIR/docs/labs"
cp -p tests/tools/embed.sh "$DIR/tests/tools/"
cp -p "$HANDOUT" "$DIR/docs/labs/"
rm -f "$DIR"/*/*.o

# 2. Markers: lab N's code becomes its TODO and stub; other labs' markers go.
STRIP_AWK='
function flush_todo(   i) {
    print indent "/* TODO (lab " lab "):"
    for (i = 1; i <= ntodo; i++)
        print indent " * " todo[i]
    print indent " */"
    for (i = 1; i <= nstub; i++)
        print indent stub[i]
}
# state 0: plain code; 1: inside a BEGIN comment; 2: inside the marked code (of lab N: dropped)
state == 0 && match($0, /^[ \t]*\/\* LAB [0-9]+ BEGIN/) {
    indent = substr($0, 1, match($0, /[^ \t]/) - 1)
    split($0, w, " ")
    mine = (w[3] == lab)
    ntodo = nstub = 0
    rest = $0
    sub(/^[ \t]*\/\* LAB [0-9]+ BEGIN:?[ \t]*/, "", rest)
    closed = sub(/[ \t]*\*\/[ \t]*$/, "", rest)
    if (rest != "")
        todo[++ntodo] = rest
    state = closed ? 2 : 1
    if (state == 2 && mine)
        flush_todo()
    next
}
state == 1 {
    line = $0
    closed = sub(/[ \t]*\*\/[ \t]*$/, "", line)
    sub(/^[ \t]*\* ?/, "", line)
    if (line ~ /^STUB:/) {
        sub(/^STUB: ?/, "", line)
        stub[++nstub] = line
    } else if (line != "" || ntodo > 0) {
        todo[++ntodo] = line
    }
    if (closed) {
        while (ntodo > 0 && todo[ntodo] == "")
            ntodo--
        state = 2
        if (mine)
            flush_todo()
    }
    next
}
state == 2 && /^[ \t]*\/\* LAB [0-9]+ END/ { state = 0; next }
state == 2 && mine { next }
{ print }
END {
    if (state != 0) {
        print FILENAME ": a LAB BEGIN marker without its END" > "/dev/stderr"
        exit 1
    }
}
'
found=0
for f in $(grep -l 'LAB [0-9][0-9]* BEGIN' common/* tcp/* udp/* http/* websocket/* 2>/dev/null); do
    awk -v lab="$LAB" "$STRIP_AWK" "$f" >"$DIR/$f.tmp"
    mv "$DIR/$f.tmp" "$DIR/$f"
    if grep -q "LAB $LAB BEGIN" "$f"; then
        found=1
    fi
done

# 3. Lab 0 is done at the terminal: a questionnaire to fill in.
if [ "$LAB" = 0 ]; then
    mkdir -p "$DIR/lab0"
    cp "$ROOT/tests/labs/lab0/answers.txt" "$DIR/lab0/answers.txt"
    found=1
fi
if [ "$found" = 0 ]; then
    echo "make-lab.sh: no source carries a LAB $LAB marker" >&2
    exit 1
fi
echo "lab $LAB starter written to $DIR: read docs/labs/lab$LAB.md, then make grade LAB=$LAB DIR=$DIR"
