#!/bin/sh
# real_gdb_test.sh -- drive the real gdb (batch mode, `target remote | server`) against gdb_demo_server and check what it prints.
# usage: real_gdb_test.sh GDB SERVER stdio|tcp
#   stdio: gdb runs the server itself (`target remote | SERVER`)
#   tcp:   the server listens on 127.0.0.1 with its non-blocking loop (`target remote 127.0.0.1:PORT`)
set -u
GDB=$1
SERVER=$2
MODE=${3:-stdio}
tmp=$(mktemp -d)
out=$tmp/gdb.out
srvpid=
trap '[ -n "$srvpid" ] && kill "$srvpid" 2>/dev/null; rm -rf "$tmp"' EXIT

case $MODE in
stdio)
    target="target remote | $SERVER" ;;
tcp)
    "$SERVER" --tcp "$tmp/port" 2>"$tmp/server.err" &
    srvpid=$!
    i=0
    while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$tmp/port" ] || { echo "server did not listen"; exit 1; }
    target="target remote 127.0.0.1:$(cat "$tmp/port")" ;;
*)
    echo "unknown mode $MODE"; exit 2 ;;
esac

timeout 60 "$GDB" -nx -batch \
    -ex 'set pagination off' \
    -ex 'set width 0' \
    -ex "$target" \
    -ex 'info registers' \
    -ex 'x/4gx 0x2000' \
    -ex 'break *0x1234' \
    -ex 'continue' \
    -ex 'p/x $pc' \
    -ex 'info threads' \
    -ex 'thread 2' \
    -ex 'p/x $rip' \
    -ex 'stepi' \
    -ex 'p/x $rip' \
    -ex 'monitor echo hello-from-monitor' \
    -ex 'detach' >"$out" 2>&1
rc=$?
fail=0
[ $rc -eq 0 ] || { echo "gdb exited with $rc"; fail=1; }
if [ -n "$srvpid" ]; then
    # The server exits 0 once detached; give it a moment.
    i=0
    while kill -0 "$srvpid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    wait "$srvpid"; src=$?
    srvpid=
    [ $src -eq 0 ] || { echo "server exited with $src"; fail=1; }
    cat "$tmp/server.err" >>"$out"
fi

want() {
    grep -E -q -- "$1" "$out" || { echo "MISSING: $1"; fail=1; }
}
reject() {
    if grep -E -q -- "$1" "$out"; then echo "UNEXPECTED: $1"; fail=1; fi
}

# info registers: general, selectors, bases and the control registers.
want '^rip +0x1000 '
want '^rsp +0x8000 '
want '^eflags +0x2 '
want '^cs +0x10 '
want '^fs_base +0x7000 '
want '^cr0 +0x80050033 '
want '^cr3 +0x5000 '
want '^cr4 +0x20 '
want '^efer +0xd01 '
# x/4gx
want '^0x2000:[[:space:]]+0x1122334455667788[[:space:]]+0x99aabbccddeeff00'
want '^0x2010:[[:space:]]+0x0123456789abcdef[[:space:]]+0xfedcba9876543210'
# break + continue: the stop reply is understood (swbreak: no pc adjustment).
want 'Breakpoint 1 at 0x1234'
want 'hit Breakpoint 1, 0x0000000000001234 in'
want '^\$1 = 0x1234$'
# info threads: two threads with their extra info; thread 2 switches.
want '^\* 1 +Thread 1 \(vCPU 0\)'
want '^  2 +Thread 2 \(vCPU 1\)'
want 'Switching to thread 2 \(Thread 2\)'
want '^\$2 = 0x1100$'
want '^\$3 = 0x1101$'
# monitor and detach.
want '^hello-from-monitor$'
want '^gdb_demo_server: detach requested$'
want '\[Inferior 1 \(Remote target\) detached\]'
# gdb complained about nothing in our protocol.
reject 'target description'
reject "Remote 'g' packet"
reject 'Remote communication error'
reject 'Protocol error'
reject 'Ignoring packet error'

if [ $fail -ne 0 ]; then
    echo "---- gdb output ----"
    cat "$out"
    exit 1
fi
echo "real gdb: all checks passed"
