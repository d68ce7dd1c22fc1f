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
It fails (never skips) when QEMU is missing or the guest never gets ready."""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvschema  # noqa: E402

PAGE = 4096
INFO_MEM_RE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16}) ([0-9a-f]{16}) ([u-])r([w-])$")


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


def canon(va):
    va &= (1 << 64) - 1
    return va


def coalesce_like_info_mem(ranges):
    """QEMU's info mem merges by VA contiguity and equal (user, writable)."""
    out = []
    for r in ranges:
        va, end = int(r["va"], 16), int(r["va"], 16) + int(r["size"], 16)
        prot = (r["rights"]["user"], r["rights"]["writable"])
        if out and out[-1][1] == va and out[-1][2] == prot:
            out[-1][1] = end
        else:
            out.append([va, end, prot])
    return [(a, b & ((1 << 64) - 1), p) for a, b, p in out]


def sample_pages(start, end, per_range, budget):
    n = (end - start) // PAGE
    if n <= per_range:
        idx = range(n)
    else:
        k = per_range // 3
        idx = sorted(set(list(range(k)) + list(range(n - k, n)) +
                         [i * n // k for i in range(k)]))
    return [start + i * PAGE for i in idx][:max(budget, 1)]


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
        ready = re.compile(a.ready, re.M)
        deadline = time.monotonic() + a.boot_timeout
        text = ""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if os.path.exists(log):
                with open(log, errors="replace") as f:
                    text = f.read()
                if ready.search(text):
                    break
            time.sleep(0.2)
        else:
            text = open(log, errors="replace").read() if os.path.exists(log) else ""
        if not ready.search(text):
            out = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
            print("FAIL: guest not ready (exit %s)\n--- serial ---\n%s\n--- qemu ---\n%s"
                  % (proc.poll(), text[-4000:], out[-2000:]))
            return 1
        qmp = Qmp(sock, 60)
        qmp.cmd("stop")
        info_mem = qmp.hmp("info mem")
        regs = qmp.hmp("info registers")
        qmp.cmd("dump-guest-memory", paging=False, protocol="file:" + core)

        qranges = []
        for line in info_mem.splitlines():
            line = line.strip()
            if not line:
                continue
            m = INFO_MEM_RE.match(line)
            if not m:
                failures.append("unparsed info mem line %r" % line)
                continue
            qranges.append((int(m[1], 16), int(m[2], 16), (m[4] == "u", m[5] == "w")))
        if not qranges:
            failures.append("info mem is empty:\n" + info_mem)

        def hvctl(*args):
            p = subprocess.run([a.hvctl, "--json"] + list(args), capture_output=True,
                               text=True, timeout=60)
            if p.returncode not in (0, 1):
                raise RuntimeError("hvctl %s: exit %d: %s" % (args, p.returncode, p.stderr))
            return json.loads(p.stdout)

        # maps vs info mem
        m = hvctl("maps", "--core", core)
        hvschema.check(val, "maps-result.json", m, "maps")
        if m["stats"]["truncated"]:
            failures.append("hvctl maps truncated its enumeration")
        ours = coalesce_like_info_mem(m["ranges"])
        theirs = [(s, e & ((1 << 64) - 1), p) for s, e, p in qranges]
        if ours != theirs:
            fmt = lambda rs: "\n".join("  %016x-%016x %s" % (s, e, p) for s, e, p in rs[:40])
            failures.append("maps != info mem\n hvctl:\n%s\n info mem:\n%s" % (fmt(ours), fmt(theirs)))

        # walks vs gva2gpa: mapped pages
        def gva2gpa(va):
            r = qmp.hmp("gva2gpa 0x%x" % va).strip()
            if r.startswith("gpa: "):
                return int(r[5:], 16)
            if "Unmapped" in r:
                return None
            raise RuntimeError("gva2gpa 0x%x: %r" % (va, r))

        checked = 0
        budget = a.max_pages
        for s, e, _ in qranges:
            pages = sample_pages(s, e, a.per_range, budget - checked)
            for va in pages:
                va = canon(va + 0x5a8)  # an offset inside the page
                want = gva2gpa(va)
                w = hvctl("walk", "--core", core, "0x%x" % va)
                hvschema.check(val, "walk-result.json", w, "walk 0x%x" % va)
                got = int(w["gpa"], 16) if w["mapped"] else None
                if got != want:
                    failures.append("walk 0x%x: hvctl %s (%s), gva2gpa %s"
                                    % (va, hex(got) if got is not None else "unmapped",
                                       w["why"], hex(want) if want is not None else "unmapped"))
                checked += 1
        # unmapped samples: start, middle and last page of each gap (capped)
        gaps, prev = [], 0
        for s, e, _ in qranges:
            if s > prev:
                gaps.append((prev, s))
            prev = e if e else 1 << 64
        if prev < 1 << 64:
            gaps.append((prev, 1 << 64))
        holes = 0
        for gs, ge in gaps[:200]:
            for va in sorted({gs, (gs + ge) // 2 & ~(PAGE - 1), ge - PAGE}):
                noncanon = 1 << 47 <= va < (1 << 64) - (1 << 47)
                if noncanon and "LA57" not in regs:
                    w = hvctl("walk", "--core", core, "0x%x" % va)
                    if w["reason"] != "noncanonical":
                        failures.append("walk 0x%x: %s, want noncanonical" % (va, w["reason"]))
                    continue
                want = gva2gpa(va)
                w = hvctl("walk", "--core", core, "0x%x" % va)
                hvschema.check(val, "walk-result.json", w, "walk 0x%x" % va)
                if want is not None or w["mapped"]:
                    failures.append("hole 0x%x: hvctl mapped=%s, gva2gpa %s" % (va, w["mapped"], want))
                holes += 1
        print("checked %d info mem ranges, %d mapped pages, %d unmapped addresses"
              % (len(qranges), checked, holes))
        if checked == 0:
            failures.append("no mapped page checked")
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
