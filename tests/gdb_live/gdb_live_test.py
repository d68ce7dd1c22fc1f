#!/usr/bin/env python3
"""gdb_live_test.py -- the real gdb (batch mode, the guest ELF loaded for
symbols) against hvd's GDB server for a real hv running the bundled guest on
/dev/kvm, checked against hvctl / hvd's JSON API and the guest's own report
(hv/guest/REPORT.md). While gdb holds the VM stopped, `shell` runs hvctl and
API queries at that very moment: a gdb session and JSON clients share the VM.

  gdb_live_test.py --gdb GDB --hvd HVD --hv HV --hvctl HVCTL --elf GUEST_ELF --part PART

parts:
  regs       info registers == hvctl regs (every vCPU); x/16gx $rsp == hvctl x
  break      break hvk_chain_leaf, continue, bt shows the chain in order; x/16gx $rsp
  stepi      stepi 100 times: 100 distinct stops, hv counted the debug exits
  threads    info threads lists every vCPU; thread 2 switches (its rip is vCPU 1's)
  watch      watch hvk_workload_counter stops on the write (new = old + 1, = memory)
  interrupt  Ctrl-C (SIGINT to gdb) on a running guest stops it
  monitor    monitor walk/regs print what hvctl prints; monitor phys on reads by GPA
  writes     without --allow-write, memory and register writes are refused and change nothing
  detach     detach leaves the guest running and hvctl works; a second gdb attaches again
  vmgone     the VM dying while gdb waits in continue ends the session cleanly
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "hvctl"))
from hvkit_env import Env  # noqa: E402

failures = []
CHAIN = ["hvk_chain_leaf", "hvk_chain_4", "hvk_chain_3", "hvk_chain_2", "hvk_chain_1"]


def expect(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


class Ctx:
    def __init__(self, args, env):
        self.a, self.env = args, env
        self.n = 0

    def port(self):
        api = self.env.api()
        vms = api.ret("query-vms")
        api.close()
        vm = [v for v in vms if v["name"] == self.env.name and v["state"] != "gone"][0]
        g = vm.get("gdb")
        if not g:
            raise AssertionError("query-vms has no 'gdb' member: %r" % vm)
        expect(g["host"] == "127.0.0.1", "gdb server not on loopback: %r" % g)
        return g["port"]

    def hvctl_cmd(self, *args):
        return "%s --rundir %s --color=never %s" % (self.a.hvctl, self.env.rundir, " ".join(args))

    def path(self, name):
        return os.path.join(self.env.dir, name)

    def gdb(self, cmds, timeout=180, background=False):
        """Run gdb in batch mode on `cmds` (a list of gdb command lines)."""
        self.n += 1
        script = self.path("cmds%d.gdb" % self.n)
        with open(script, "w") as f:
            f.write("set pagination off\nset confirm off\nset width 0\n")
            f.write("file %s\n" % self.a.elf)
            f.write("target remote 127.0.0.1:%d\n" % self.port())
            f.write("\n".join(cmds) + "\n")
        argv = [self.a.gdb, "-nx", "-batch", "-x", script]
        if background:
            out = open(self.path("gdb%d.out" % self.n), "w")
            return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), out.name
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        return p.returncode, p.stdout

    def api(self, cmd, **args):
        a = self.env.api()
        try:
            return a.ret(cmd, **args)
        finally:
            a.close()


def gdb_regs(text):
    """{name: int} from `info registers` output."""
    regs = {}
    for m in re.finditer(r"^([a-z0-9_]+)\s+(0x[0-9a-f]+|-?\d+)\b", text, re.M):
        regs[m.group(1)] = int(m.group(2), 0)
    return regs


def part_regs(c):
    env = c.env
    cmds = []
    for t in range(1, env.vcpus + 1):
        cmds += ["thread %d" % t,
                 "shell %s --json regs --vcpu %d > %s" % (c.hvctl_cmd(), t - 1, c.path("regs%d.json" % t)),
                 "echo ==REGS %d==\\n" % t, "info registers", "echo ==END==\\n"]
    # A user-mode thread may sit near the top of its stack: the read then runs
    # into the unmapped page above, and gdb must show the readable prefix
    # and fail exactly at that page boundary (the documented rule).
    cmds += ["echo ==X==\\n", "python",
             "try:",
             "    gdb.execute('x/16gx $rsp')",
             "except gdb.error as e:",
             "    print('XERR', e)",
             "end", "echo ==END==\\n",
             "eval \"shell %s --json x --vcpu %%d 0x%%lx 128 > %s\", $_thread - 1, $rsp" % (c.hvctl_cmd(), c.path("x.json")),
             "p/x $rsp", "detach"]
    rc, out = c.gdb(cmds)
    expect(rc == 0, "gdb exited with %d" % rc)
    # gdb prints the failing line's address label before the error
    xerr = re.search(r"XERR Cannot access memory at address (0x[0-9a-f]+)", out)
    if xerr:
        bad = int(xerr.group(1), 16)
        rsp = int(re.findall(r"^\$\d+ = (0x[0-9a-f]+)", out, re.M)[-1], 16)
        expect(bad % 4096 == 0 and rsp < bad < rsp + 128, "x/16gx $rsp (0x%x) failed at 0x%x, not at a page end" % (rsp, bad))
        printed = re.findall(r"^0x[0-9a-f]+:\s+(.*)$", out.split("==X==")[1], re.M)
        words = sum(len([w for w in l.split("XERR")[0].split() if re.match(r"^0x[0-9a-f]+$", w)]) for l in printed)
        expect(words == (bad - rsp) // 8, "x/16gx showed %d words before the unmapped page, want %d" % (words, (bad - rsp) // 8))
    for t in range(1, env.vcpus + 1):
        m = re.search(r"==REGS %d==\n(.*?)==END==" % t, out, re.S)
        if not expect(m, "no info registers for thread %d:\n%s" % (t, out[-3000:])):
            continue
        g = gdb_regs(m.group(1))
        try:
            h = json.load(open(c.path("regs%d.json" % t)))
        except (OSError, ValueError) as e:
            expect(False, "hvctl regs --vcpu %d gave no JSON while gdb held the VM: %s" % (t - 1, e))
            continue
        names = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
                 "r14", "r15", "rip", "cr0", "cr2", "cr3", "cr4", "cr8", "efer"]
        for n in names:
            expect(n in g and g[n] == int(h[n], 16),
                   "thread %d %s: gdb %s, hvctl regs %s" % (t, n, hex(g[n]) if n in g else "missing", h[n]))
        expect(g.get("eflags") == int(h["rflags"], 16), "thread %d eflags %r != rflags %s" % (t, g.get("eflags"), h["rflags"]))
        for s in ("cs", "ss", "ds", "es", "fs", "gs"):
            expect(g.get(s) == h["segments"][s]["selector"], "thread %d %s: gdb %r, hvctl %r" % (t, s, g.get(s), h["segments"][s]["selector"]))
        expect(g.get("fs_base") == int(h["segments"]["fs"]["base"], 16), "thread %d fs_base" % t)
        expect(g.get("gs_base") == int(h["segments"]["gs"]["base"], 16), "thread %d gs_base" % t)
    if not xerr:
        check_x16(c, out)


def check_x16(c, out):
    """x/16gx $rsp printed by gdb == the same bytes read through hvctl x."""
    m = re.search(r"==X==\n(.*?)==END==", out, re.S)
    if not expect(m, "no x/16gx output:\n%s" % out[-2000:]):
        return
    words = []
    first = None
    for line in m.group(1).splitlines():
        lm = re.match(r"^(0x[0-9a-f]+)(?: <[^>]*>)?:\s+(.*)$", line)
        if lm:
            if first is None:
                first = int(lm.group(1), 16)
            words += [int(w, 16) for w in lm.group(2).split()]
    expect(len(words) == 16, "x/16gx printed %d words:\n%s" % (len(words), m.group(1)))
    try:
        h = json.load(open(c.path("x.json")))
    except (OSError, ValueError) as e:
        expect(False, "hvctl x gave no JSON: %s" % e)
        return
    data = bytes.fromhex(h["data"])
    want = [int.from_bytes(data[i * 8:i * 8 + 8], "little") for i in range(len(data) // 8)]
    expect(int(h["address"], 16) == first, "x/16gx started at %s, hvctl x at %s" % (hex(first or 0), h["address"]))
    expect(words == want[:16], "x/16gx $rsp differs from hvctl x:\n gdb   %s\n hvctl %s" %
           ([hex(w) for w in words], [hex(w) for w in want[:16]]))


def part_break(c):
    rc, out = c.gdb(["break hvk_chain_leaf", "continue", "echo ==BT==\\n", "bt", "echo ==END==\\n",
                     "echo ==X==\\n", "x/16gx $rsp", "echo ==END==\\n",
                     "eval \"shell %s --json x --vcpu %%d 0x%%lx 128 > %s\", $_thread - 1, $rsp" % (c.hvctl_cmd(), c.path("x.json")),
                     "p/x $pc", "shell %s --json list > %s" % (c.hvctl_cmd(), c.path("list.json")),
                     "delete", "detach"])
    expect(rc == 0, "gdb exited with %d" % rc)
    try:
        vms = json.load(open(c.path("list.json")))
    except (OSError, ValueError) as e:
        vms = []
        expect(False, "hvctl list at the breakpoint: %s" % e)
    expect([v["state"] for v in vms if v["name"] == c.env.name] == ["paused"],
           "at the breakpoint the VM must be listed paused: %r" % vms)
    expect(re.search(r"Thread \d+ hit Breakpoint 1, .*hvk_chain_leaf", out) or
           re.search(r"Breakpoint 1, .*hvk_chain_leaf", out), "continue did not stop at hvk_chain_leaf:\n%s" % out[-3000:])
    m = re.search(r"==BT==\n(.*?)==END==", out, re.S)
    if expect(m, "no bt"):
        frames = re.findall(r"^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\w+)", m.group(1), re.M)
        names = [f[1] for f in frames]
        expect(names[:5] == CHAIN, "bt is %s, want %s first" % (names, CHAIN))
        expect([int(f[0]) for f in frames] == list(range(len(frames))), "bt frame numbers not 0..n")
    # the breakpoint address gdb chose lies in hvk_chain_leaf (report: its entry)
    leaf = c.env.of("chain", name="hvk_chain_leaf")[0].get("addr")
    pcm = re.findall(r"^\$\d+ = (0x[0-9a-f]+)", out, re.M)
    expect(pcm and 0 <= int(pcm[-1], 16) - leaf < 64, "stopped pc %s is not just past hvk_chain_leaf's entry %s" %
           (pcm, hex(leaf)))
    check_x16(c, out)


def part_stepi(c):
    before = c.path("vcpus-before.json")
    after = c.path("vcpus-after.json")
    py = "%s -c 'import sys; sys.path.insert(0, \"%s\"); from hvkit_env import Api; a = Api(\"%s\"); " \
         "import json; print(json.dumps(a.ret(\"query-vcpus\")))'" % (sys.executable, os.path.join(HERE, "..", "hvctl"),
                                                                     os.path.join(c.env.rundir, "hvd.sock"))
    cmds = ["break hvk_chain_leaf", "continue", "delete",
            "shell %s > %s" % (py, before),
            "set $i = 0", "while $i < 100", "stepi", "printf \"STEP %d 0x%lx\\n\", $i, $pc", "set $i = $i + 1", "end",
            "shell %s > %s" % (py, after), "printf \"THREAD %d\\n\", $_thread", "detach"]
    rc, out = c.gdb(cmds, timeout=300)
    expect(rc == 0, "gdb exited with %d" % rc)
    steps = re.findall(r"^STEP (\d+) (0x[0-9a-f]+)$", out, re.M)
    expect(len(steps) == 100, "%d of 100 stepi reported a pc:\n%s" % (len(steps), out[-2000:]))
    pcs = [int(p, 16) for _, p in steps]
    expect(all(a != b for a, b in zip(pcs, pcs[1:])), "two consecutive stepi ended at the same pc")
    text = [m for m in c.env.of("map") if m.get("name") == "kernel.text"]
    if text:
        expect(all(text[0]["va"] <= p < text[0]["end"] for p in pcs), "a stepi left kernel.text")
    t = re.search(r"^THREAD (\d+)$", out, re.M)
    try:
        b, a = json.load(open(before)), json.load(open(after))
        v = int(t.group(1)) - 1
        db = b[v]["exits"]["debug"]
        da = a[v]["exits"]["debug"]
        expect(da - db >= 100, "hv counted %d debug exits on vCPU %d for 100 stepi" % (da - db, v))
    except (OSError, ValueError, KeyError, AttributeError, IndexError) as e:
        expect(False, "query-vcpus around the steps: %s" % e)


def part_threads(c):
    n = c.env.vcpus
    rc, out = c.gdb(["echo ==T==\\n", "info threads", "echo ==END==\\n", "thread 2", "p $_thread",
                     "shell %s --json regs --vcpu 1 > %s" % (c.hvctl_cmd(), c.path("r1.json")),
                     "p/x $rip", "thread 1", "p $_thread", "detach"])
    expect(rc == 0, "gdb exited with %d" % rc)
    m = re.search(r"==T==\n(.*?)==END==", out, re.S)
    if expect(m, "no info threads"):
        ids = re.findall(r"^\*?\s+(\d+)\s+Thread (\d+) \(vCPU (\d+)\)", m.group(1), re.M)
        expect(sorted(int(i[0]) for i in ids) == list(range(1, n + 1)), "info threads lists %s, want 1..%d" % (ids, n))
        expect(all(int(i[2]) == int(i[0]) - 1 for i in ids), "thread N is not vCPU N-1: %s" % ids)
    expect("[Switching to thread 2 (Thread 2)]" in out, "thread 2 did not switch:\n%s" % out[-2000:])
    vals = re.findall(r"^\$\d+ = (\S+)", out, re.M)
    expect(len(vals) >= 3 and vals[0] == "2" and vals[2] == "1", "$_thread after the switches: %s" % vals)
    try:
        r1 = json.load(open(c.path("r1.json")))
        expect(len(vals) >= 2 and int(vals[1], 16) == int(r1["rip"], 16), "thread 2's rip %s != vCPU 1's %s" %
               (vals[1:2], r1["rip"]))
    except (OSError, ValueError) as e:
        expect(False, "hvctl regs --vcpu 1: %s" % e)


def part_watch(c):
    var = c.env.of("var", name="hvk_workload_counter")[0]
    va = var.get("va")
    rc, out = c.gdb(["watch hvk_workload_counter", "continue", "p/x &hvk_workload_counter", "p hvk_workload_counter",
                     "eval \"shell %s --json x --vcpu %%d 0x%%lx 8 > %s\", $_thread - 1, &hvk_workload_counter" %
                     (c.hvctl_cmd(), c.path("w.json")), "delete", "detach"], timeout=300)
    expect(rc == 0, "gdb exited with %d" % rc)
    m = re.search(r"Hardware watchpoint \d+: hvk_workload_counter\s+Old value = (\d+)\s+New value = (\d+)", out)
    if expect(m, "no watchpoint stop:\n%s" % out[-3000:]):
        old, new = int(m.group(1)), int(m.group(2))
        expect(new == old + 1, "the counter went %d -> %d, the guest adds 1" % (old, new))
        try:
            h = json.load(open(c.path("w.json")))
            mem = int.from_bytes(bytes.fromhex(h["data"]), "little")
            expect(mem == new, "memory holds %d after the stop, gdb said %d" % (mem, new))
        except (OSError, ValueError) as e:
            expect(False, "hvctl x of the counter: %s" % e)
    addrs = re.findall(r"^\$\d+ = (0x[0-9a-f]+)", out, re.M)
    expect(addrs and int(addrs[0], 16) == va, "&hvk_workload_counter %s != report's %s" % (addrs, hex(va)))


def wait_state(c, want, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        vms = c.api("query-vms")
        st = [v["state"] for v in vms if v["name"] == c.env.name and v["state"] != "gone"]
        if st and st[0] == want:
            return True
        time.sleep(0.05)
    return False


def wait_attached(c, n=1, timeout=60):
    """hvd logged gdb session n attached (the VM was paused for it)."""
    end = time.time() + timeout
    while time.time() < end:
        if "gdb session %d attached" % n in c.env.log("hvd.log") or \
           "gdb session %d attached" % n in open(os.path.join(c.env.dir, "hvd.log"), errors="replace").read():
            return True
        time.sleep(0.05)
    return False


def part_interrupt(c):
    p, outname = c.gdb(["continue", "p/x $pc", "info threads",
                        "shell %s --json regs --vcpu 0 > %s" % (c.hvctl_cmd(), c.path("i.json")), "detach"],
                       background=True)
    try:
        expect(wait_attached(c), "gdb never attached")
        expect(wait_state(c, "running"), "gdb's continue never resumed the VM")
        time.sleep(0.5)
        rip = [int(v["rip"], 16) for v in c.api("query-vcpus") if "rip" in v]
        time.sleep(0.3)
        rip2 = [int(v["rip"], 16) for v in c.api("query-vcpus") if "rip" in v]
        expect(rip != rip2, "the guest does not run during continue (rips %s)" % rip)
        p.send_signal(signal.SIGINT)
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        expect(False, "gdb did not finish after Ctrl-C")
    out = open(outname).read()
    expect(p.returncode == 0, "gdb exited with %r" % p.returncode)
    expect("received signal SIGINT" in out, "no SIGINT stop:\n%s" % out[-2000:])
    expect(re.search(r"^\$1 = 0x[0-9a-f]+", out, re.M), "no pc after the stop")
    expect(os.path.exists(c.path("i.json")) and os.path.getsize(c.path("i.json")) > 0,
           "hvctl regs did not answer while gdb held the VM after Ctrl-C")
    expect("[Inferior 1 (Remote target) detached]" in out, "no detach after Ctrl-C:\n%s" % out[-1500:])


def part_monitor(c):
    var = c.env.of("var", name="hvk_workload_counter")[0]
    va = var["va"]
    leaf = c.env.of("chain", name="hvk_chain_leaf")[0]["addr"]
    kt = [m for m in c.env.of("map") if m.get("name") == "kernel.text" and m["va"] <= leaf < m["end"]]
    # Trace the workload's #UDs (its int $0x80 calls) for a moment first, so
    # `monitor faults` has faults to print.
    subprocess.run(c.hvctl_cmd("trace", "on", "--vectors", "ud").split(), check=True, stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    # monitor commands act on the thread gdb last selected for registers
    # (Hg): after `thread 1`, flush gdb's cache so it selects it.
    cmds = ["break hvk_chain_leaf", "continue", "delete",
            "thread 1", "maintenance flush register-cache", "p $pc",
            "echo ==WALK==\\n", "monitor walk 0x%x" % va, "echo ==END==\\n",
            "shell %s walk --vcpu 0 0x%x > %s" % (c.hvctl_cmd(), va, c.path("walk0.txt")),
            "echo ==REGS==\\n", "monitor regs", "echo ==END==\\n",
            "shell %s regs --vcpu 0 > %s" % (c.hvctl_cmd(), c.path("regs0.txt")),
            "echo ==STACK==\\n", "monitor stack", "echo ==END==\\n",
            "echo ==FAULTS==\\n", "monitor faults", "echo ==END==\\n",
            "shell %s faults --limit 20 > %s" % (c.hvctl_cmd(), c.path("faults.txt")),
            "x/2gx 0x%x" % leaf,
            "monitor phys on", "x/2gx 0x%x" % (kt[0]["pa"] + leaf - kt[0]["va"] if kt else 0),
            "monitor phys off", "x/2gx 0x%x" % leaf,
            "monitor no-such-command",
            "detach"]
    rc, out = c.gdb(cmds)
    expect(rc == 0, "gdb exited with %d" % rc)
    m = re.search(r"==WALK==\n(.*?)==END==", out, re.S)
    try:
        want = open(c.path("walk0.txt")).read()
    except OSError:
        want = None
    expect(m and want and m.group(1) == want, "monitor walk != hvctl walk:\n--- monitor\n%s--- hvctl\n%s" %
           (m.group(1) if m else None, want))
    m = re.search(r"==REGS==\n(.*?)==END==", out, re.S)
    try:
        want = open(c.path("regs0.txt")).read()
    except OSError:
        want = None
    expect(m and want and m.group(1) == want, "monitor regs != hvctl regs:\n--- monitor\n%s--- hvctl\n%s" %
           (m.group(1) if m else None, want))
    m = re.search(r"==STACK==\n(.*?)==END==", out, re.S)
    expect(m and "hvk_chain" in m.group(1) or (m and "0x" in m.group(1)), "monitor stack printed nothing useful:\n%s" %
           (m.group(1) if m else out[-1500:]))
    m = re.search(r"==FAULTS==\n(.*?)==END==", out, re.S)
    expect(m and m.group(1).strip(), "monitor faults printed nothing")
    # The fault lines are hvctl's, exactly (the VM is stopped: no new ones);
    # monitor adds one closing line of hvd's counts.
    try:
        want = open(c.path("faults.txt")).read()
    except OSError:
        want = None
    got = "".join(l for l in (m.group(1) if m else "").splitlines(True) if not l.startswith("("))
    expect(want and "exception.ud" in want and got == want,
           "monitor faults != hvctl faults:\n--- monitor\n%s--- hvctl\n%s" % (got, want))
    expect(kt, "the report has no kernel.text map around hvk_chain_leaf")
    xs = re.findall(r"^0x[0-9a-f]+(?: <[^>]*>)?:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)$", out, re.M)
    expect(len(xs) == 3 and xs[0] == xs[1] == xs[2], "x by GVA / by GPA (phys on) / GVA again differ: %s" % xs)
    expect("guest-physical" in out and "unknown monitor command" in out, "monitor phys / unknown command output")


def part_writes(c):
    def tried(cmd):
        return ["python", "try:", "    gdb.execute(%r)" % cmd, "except gdb.error as e:", "    print('REFUSED', e)", "end"]
    rc, out = c.gdb(["p hvk_workload_counter"] + tried("set var hvk_workload_counter = 12345") +
                    ["p hvk_workload_counter", "p $rax"] + tried("set $rax = 0x1234") + ["p $rax", "detach"])
    expect(rc == 0, "gdb exited with %d" % rc)
    expect(len(re.findall(r"^REFUSED", out, re.M)) == 2, "both writes must be refused:\n%s" % out[-2000:])
    expect(re.search(r"Cannot access memory at address|Could not write|E04|writing memory", out),
           "memory write not refused:\n%s" % out[-2000:])
    expect(re.search(r"Could not write register|E04", out), "register write not refused:\n%s" % out[-2000:])
    vals = re.findall(r"^\$\d+ = (\S+)", out, re.M)
    expect(len(vals) >= 4 and vals[1] != "12345" and vals[3] != "4660" and vals[3] != "0x1234",
           "a refused write changed something: %s" % vals)


def part_writes_allowed(c):
    """hv run --allow-write: gdb's memory and register writes land, as hv and
    hvctl see them at the same stop."""
    var = c.env.of("var", name="hvk_workload_counter")[0]
    rc, out = c.gdb(["break hvk_chain_leaf", "continue", "delete", "thread 1", "maintenance flush register-cache",
                     "set var hvk_workload_counter = 12345", "p hvk_workload_counter",
                     "set $rax = 0x1234", "p/x $rax",
                     "shell %s x --vcpu 0 0x%x 8 > %s" % (c.hvctl_cmd(), var["va"], c.path("x.txt")),
                     "shell %s --json regs --vcpu 0 > %s" % (c.hvctl_cmd(), c.path("regs.json")),
                     "detach"])
    expect(rc == 0, "gdb exited with %d:\n%s" % (rc, out[-2000:]))
    vals = re.findall(r"^\$\d+ = (\S+)", out, re.M)
    expect(vals[-2:] == ["12345", "0x1234"], "gdb's writes did not land: %s\n%s" % (vals, out[-1500:]))
    try:
        x = open(c.path("x.txt")).read()
        regs = json.load(open(c.path("regs.json")))
    except (OSError, ValueError) as e:
        expect(False, "hvctl at the stop: %s" % e)
        return
    expect("39 30 00 00" in x, "hvctl x does not show 12345 (0x3039) at the counter:\n%s" % x)
    expect(regs.get("rax") == "0x1234", "hvctl regs shows rax %r, gdb wrote 0x1234" % regs.get("rax"))


def part_dr_full(c):
    """Fault tracing holds all four debug registers (hv run --trace
    pf,gp,ud,de): a hardware breakpoint is refused, and the reason names
    the registers' users; software breakpoints still work."""
    rc, out = c.gdb(["python", "try:", "    gdb.execute('hbreak hvk_chain_leaf')",
                     "    gdb.execute('continue')", "except gdb.error as e:", "    print('REFUSED', e)", "end",
                     "delete", "break hvk_chain_leaf", "continue", "bt 1", "detach"])
    expect(rc == 0, "gdb exited with %d:\n%s" % (rc, out[-2000:]))
    expect("REFUSED" in out and "Cannot insert hardware breakpoint" in out,
           "the hardware breakpoint was not refused:\n%s" % out[-2000:])
    expect("hvk_chain_leaf" in out.split("REFUSED", 1)[-1], "the software breakpoint after it did not stop:\n%s" % out[-1500:])
    log = c.env.log("hvd.log") + c.env.log("hv.log")
    expect("all four debug registers are in use" in log and "fault tracing" in log,
           "no clear reason for the refusal in hvd's or hv's log:\n%s" % log[-1500:])


def part_detach(c):
    rc, out = c.gdb(["break hvk_chain_leaf", "continue", "detach"])
    expect(rc == 0 and "[Inferior 1 (Remote target) detached]" in out, "detach failed (rc %d):\n%s" % (rc, out[-2000:]))
    expect(wait_state(c, "running", 10), "the VM is not running after detach")
    var = c.env.of("var", name="hvk_workload_counter")[0]
    r1 = c.api("read-memory", vcpu=0, address=hex(var["va"]), size=8)
    time.sleep(1.0)
    r2 = c.api("read-memory", vcpu=0, address=hex(var["va"]), size=8)
    v1 = int.from_bytes(bytes.fromhex(r1["data"]), "little")
    v2 = int.from_bytes(bytes.fromhex(r2["data"]), "little")
    expect(v2 > v1, "the guest does not run after detach (counter %d -> %d): a breakpoint left behind?" % (v1, v2))
    code, stdout, stderr = c.env.hvctl("regs", "--vcpu", "0")
    expect(code == 0 and "rip" in stdout.lower(), "hvctl regs after detach: %d %s" % (code, stderr))
    code, stdout, _ = c.env.hvctl("gdb")
    expect(code == 0 and stdout.strip() == "gdb -ex 'target remote 127.0.0.1:%d'" % c.port(),
           "hvctl gdb printed %r" % stdout)
    # a second session works, and `kill` ends only the session
    rc, out = c.gdb(["info threads", "kill"])
    expect(rc == 0, "second gdb session: rc %d\n%s" % (rc, out[-1500:]))
    expect(wait_state(c, "running", 10), "the VM is not running after kill")
    expect(c.env.hv.poll() is None, "kill ended the VM")


def part_vmgone(c):
    p, outname = c.gdb(["continue", "info threads"], background=True)
    try:
        expect(wait_attached(c), "gdb never attached")
        expect(wait_state(c, "running"), "continue never resumed the VM")
        c.env.hv.send_signal(signal.SIGKILL)
        c.env.hv.wait(30)
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        expect(False, "gdb did not end after the VM died")
    out = open(outname).read()
    expect(re.search(r"\[Inferior 1 \((?:process \d+|Remote target)\) exited normally\]|exited with code|Remote connection closed", out),
           "gdb did not see the VM end:\n%s" % out[-2000:])
    expect(c.env.hvd.poll() is None, "hvd died with the VM")


PARTS = {"regs": part_regs, "break": part_break, "stepi": part_stepi, "threads": part_threads,
         "watch": part_watch, "interrupt": part_interrupt, "monitor": part_monitor, "writes": part_writes,
         "detach": part_detach, "vmgone": part_vmgone, "writes_allowed": part_writes_allowed,
         "dr_full": part_dr_full}
# hv options a part needs beyond the defaults
PART_HV_ARGS = {"writes_allowed": ["--allow-write"], "dr_full": ["--trace", "pf,gp,ud,de"]}


def main():
    ap = argparse.ArgumentParser()
    for k in ("gdb", "hvd", "hv", "hvctl", "elf"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--part", required=True, choices=sorted(PARTS))
    ap.add_argument("--vcpus", type=int, default=2)
    a = ap.parse_args()
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        if os.environ.get("HVKIT_SKIP_KVM_TESTS"):
            print("SKIP: /dev/kvm is not usable and HVKIT_SKIP_KVM_TESTS is set")
            return 77
        print("FAIL: /dev/kvm is not usable (set HVKIT_SKIP_KVM_TESTS=1 to skip on purpose)")
        return 1
    env = Env(a.hvd, a.hv, a.hvctl, vcpus=a.vcpus, hv_args=PART_HV_ARGS.get(a.part, ()))
    try:
        env.start()
        PARTS[a.part](Ctx(a, env))
        expect(env.hvd.poll() is None, "hvd died")
    except Exception as e:  # noqa: BLE001 -- report, with the logs
        failures.append("%s: %s" % (type(e).__name__, e))
    if failures:
        for f in failures:
            print("FAIL:", f)
        print("---- hvd.log ----\n" + env.log("hvd.log"))
        env.stop()
        return 1
    env.stop()
    print("gdb_live %s: all checks passed" % a.part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
