#!/bin/sh
# real_gdb_interrupt_test.sh -- Ctrl-C with the real gdb: `continue` on a target with no breakpoint, SIGINT to gdb, gdb sends 0x03, the stop comes back as SIGINT.
# usage: real_gdb_interrupt_test.sh GDB SERVER
set -u
GDB=$1
SERVER=$2
tmp=$(mktemp -d)
out=$tmp/gdb.out
gdbpid=
trap '[ -n "$gdbpid" ] && kill "$gdbpid" 2>/dev/null; rm -rf "$tmp"' EXIT

"$GDB" -nx -batch \
    -ex 'set pagination off' \
    -ex "target remote | $SERVER" \
    -ex 'continue' \
    -ex 'p/x $pc' \
    -ex 'info threads' \
    -ex 'detach' >"$out" 2>&1 &
gdbpid=$!
# Wait until the server saw the resume, so gdb is blocked in `continue`.
i=0
while ! grep -q 'gdb_demo_server: resumed' "$out" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'gdb_demo_server: resumed' "$out" || { echo "the target was never resumed"; cat "$out"; exit 1; }
sleep 0.2
kill -INT "$gdbpid"
i=0
while kill -0 "$gdbpid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$gdbpid" 2>/dev/null; then
    echo "gdb did not finish after Ctrl-C"; cat "$out"; exit 1
fi
wait "$gdbpid"; rc=$?
gdbpid=
fail=0
[ $rc -eq 0 ] || { echo "gdb exited with $rc"; fail=1; }
for w in 'received signal SIGINT, Interrupt' '^\$1 = 0x1000$' '^\* 1 +Thread 1' \
         'gdb_demo_server: detach requested' '\[Inferior 1 \(Remote target\) detached\]'; do
    grep -E -q -- "$w" "$out" || { echo "MISSING: $w"; fail=1; }
done
if [ $fail -ne 0 ]; then
    echo "---- gdb output ----"; cat "$out"; exit 1
fi
echo "real gdb Ctrl-C: all checks passed"
