#!/usr/bin/env python3
"""qemu_diff_test.py -- differential test of hvctl --core against QEMU.

Boot a guest under qemu-system-x86_64 -accel tcg, wait for its `ready` line
on COM1, pause it, take `dump-guest-memory` (ELF, no paging), then check:
  * `hvctl maps --core` coalesced the way `info mem` coalesces (VA
    contiguity, same user/writable) equals `info mem` line for line;
  * for every range of `info mem` (every page of small ranges, first/last/
    spread pages of large ones, capped) and for sampled unmapped addresses,
    `hvctl walk --core` agrees with QEMU's `gva2gpa`;
  * every --json output validates against schemas/.
The checks themselves live in corediff.py (shared with virsh_diff_test.py).
It fails (never skips) when QEMU is missing or the guest never gets ready."""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corediff  # noqa: E402
import hvschema  # noqa: E402


class Qmp:
    """Minimal QMP client over a unix socket (one command at a time)."""

    def __init__(self, path, timeout):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        for _ in range(10000):  # skip asynchronous events, bounded
            line = self.f.readline()
            if not line:
                raise RuntimeError("QMP connection closed during %s" % name)
            r = json.loads(line)
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError("QMP %s: %s" % (name, r["error"]))
        raise RuntimeError("QMP %s: no reply" % name)

    def hmp(self, line):
        return self.cmd("human-monitor-command", **{"command-line": line})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hvctl", required=True)
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--append", default="")
    ap.add_argument("--ready", default=r"^ready\b", help="regex for the guest's ready line")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--cpu", default="max")
    ap.add_argument("--mem", default="128")
    ap.add_argument("--boot-timeout", type=float, default=180)
    ap.add_argument("--max-pages", type=int, default=1500, help="cap on mapped pages checked")
    ap.add_argument("--per-range", type=int, default=48)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()

    qemu = shutil.which(a.qemu)
    if not qemu:
        print("FAIL: %s not found (Debian package qemu-system-x86)" % a.qemu)
        return 1
    val = hvschema.load(a.schemas)
    tmp = tempfile.mkdtemp(prefix="hvkit-qemu-diff-")
    sock, log, core = (os.path.join(tmp, n) for n in ("qmp.sock", "serial.log", "guest.core"))
    cmd = [qemu, "-accel", "tcg", "-cpu", a.cpu, "-m", a.mem, "-display", "none",
           "-no-reboot", "-nodefaults", "-kernel", a.kernel, "-serial", "file:" + log,
           "-qmp", "unix:%s,server=on,wait=off" % sock,
           "-device", "isa-debug-exit,iobase=0x501,iosize=4"]
    if a.append:
        cmd += ["-append", a.append]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    failures = []
    try:
        text, ok = corediff.wait_for_line(log, a.ready, a.boot_timeout,
                                          lambda: proc.poll() is None)
        if not ok:
            out = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
            print("FAIL: guest not ready (exit %s)\n--- serial ---\n%s\n--- qemu ---\n%s"
                  % (proc.poll(), text[-4000:], out[-2000:]))
            return 1
        qmp = Qmp(sock, 60)
        qmp.cmd("stop")
        info_mem = qmp.hmp("info mem")
        regs = qmp.hmp("info registers")
        qmp.cmd("dump-guest-memory", paging=False, protocol="file:" + core)

        def gva2gpa_many(vas):
            return {va: corediff.parse_gva2gpa(va, qmp.hmp("gva2gpa 0x%x" % va)) for va in vas}

        failures, summary = corediff.compare(a.hvctl, val, core, info_mem, regs, gva2gpa_many,
                                             a.max_pages, a.per_range)
        print(summary)
        qmp.cmd("quit")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("work directory kept:", tmp)
    for f in failures[:50]:
        print("FAIL:", f)
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("qemu_diff: hvctl agrees with QEMU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
