"""test_telemetry.py -- hvd's fault telemetry against real peers: the real hv
running the bundled guest on /dev/kvm, the real hvd, API replies and events
validated against schemas/.

1. faults mode (the guest causes every class a known number of times and
   reports `hvk faults-total class=C caused=K exact=1`): query-fault-stats
   per class equals the guest's counts exactly, total equals the FAULT
   records hvd received (sum of classes, sum of vCPUs), the history and
   every FAULT event validate; a subscriber gets exactly the faults after
   its subscription; a subscriber that never reads (tiny queue) does not
   stall another client and, once it reads, its FAULT events + LOST counts
   equal what it was offered, exactly.
2. workload with iterations=N: exception.ud equals the guest's int80_ud and
   guest.not_present its demand faults.
3. tracing off costs nothing: no debug exits in hv's own exit counters, no
   FAULT record; trace-config turns it on (debug exits, records) and off
   again (no record after the answer).
4. loss is exact: on a deliberately tiny event ring, and with hvd stopped
   (SIGSTOP) through a fault storm, every fault the guest caused is either
   delivered to hvd or counted as dropped by hv, exactly; hvd's LOST total
   equals every record hv dropped; and the guest never stalls (it finishes
   its battery while hvd is frozen).
5. the guest changes its IDT (issue 5, `idt-swap`): mid-battery it points
   the #PF/#GP/#UD gates at other stubs and then does not fault for >= 1.5 s;
   trace-config shows each vector armed on the old handler before and on the
   new one within that pause (hv polls the gates every 500 ms), and hvd's
   counts per class still equal the guest's exactly: no fault after the swap
   went untraced."""
import json
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hvd"))
import hvdtest as T  # noqa: E402

check = T.check


class Sub(T.Client):
    """A client that keeps the events it reads while waiting for replies."""

    def __init__(self, path, rcvbuf=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(60)
        self.s.connect(path)
        self.buf = b""
        self.events = []
        self.greeting = self.read()

    def reply(self):
        while True:
            m = self.read()
            if "event" in m:
                self.events.append(m)
            else:
                return m

    def call(self, execute, arguments=None, id=None):
        req = {"execute": execute}
        if arguments is not None:
            req["arguments"] = arguments
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.reply()

    def call2(self, a, b):
        """Two requests in one write: hvd handles both before it reads a
        ring again, so nothing happens between them."""
        self.send_raw(b"".join(json.dumps({"execute": e, "arguments": x}).encode() + b"\n" for e, x in (a, b)))
        return self.reply(), self.reply()


def ok(r, what):
    check("return" in r, "%s failed: %r" % (what, r))
    return r["return"]


def console(env, name):
    with open(os.path.join(env.dir, "console-%s.txt" % name), errors="replace") as f:
        return f.read()


def guest_totals(text):
    """{class: caused} from the guest's exact faults-total lines."""
    out = {}
    for m in re.finditer(r"^hvk faults-total class=(\S+) caused=(\d+)(.*)$", text, re.M):
        check("exact=1" in m.group(3), "the guest says its count of %s is not exact: %s" % (m.group(1), m.group(0)))
        out[m.group(1)] = int(m.group(2))
    check(out, "the guest printed no faults-total lines:\n" + text[-2000:])
    return out


def wait_exit(env, p, timeout=240):
    try:
        rc = p.wait(timeout=timeout)
    except Exception:
        raise T.Fail("hv did not finish within %d s\n%s" % (timeout, env.logs()))
    check(rc == 0, "hv exited %d\n%s" % (rc, env.logs()))


def wait_gone(env, c, name, timeout=20):
    env.wait_vm(c, name, "gone", timeout)


def exits(env, name):
    """hv --stats: {vcpu: {reason: n}}."""
    with open(os.path.join(env.dir, "hv-%s.log" % name), errors="replace") as f:
        text = f.read()
    out = {}
    for m in re.finditer(r"^hv: vCPU (\d+) exits:(.*)$", text, re.M):
        out[int(m.group(1))] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    check(out, "hv printed no exit counters:\n" + text[-2000:])
    return out


def check_stats(S, st, vcpus):
    S.check_def("query-fault-stats", "return", st)
    check(sum(st["by_class"].values()) == st["total"], "classes do not add up to total: %r" % st)
    check(len(st["by_vcpu"]) == vcpus, "by_vcpu has %d entries" % len(st["by_vcpu"]))
    check(sum(v["total"] for v in st["by_vcpu"]) == st["total"], "vCPUs do not add up to total: %r" % st)
    check(sum(v["lost"] for v in st["by_vcpu"]) == st["lost"], "vCPU losses do not add up: %r" % st)
    for v in st["by_vcpu"]:
        check(sum(v["by_class"].values()) == v["total"], "vCPU %d classes do not add up" % v["vcpu"])


def check_exact(st, text):
    """hvd's query-fault-stats per class equals the guest's faults-total lines
    exactly, nothing lost; returns the guest's {class: caused}."""
    want = guest_totals(text)
    check(st["lost"] == 0 and st["invalid"] == 0, "records lost or invalid: %r" % st)
    for cls, n in want.items():
        check(st["by_class"].get(cls, 0) == n, "%s: hvd counted %d, the guest caused %d\n%r" %
              (cls, st["by_class"].get(cls, 0), n, st["by_class"]))
    extra = set(st["by_class"]) - set(want)
    check(not extra, "hvd counted classes the guest did not cause: %r" % extra)
    check(st["total"] == sum(want.values()), "total %d != %d caused" % (st["total"], sum(want.values())))
    return want


def faults_mode(env, S, reps):
    name = "fm"
    c = Sub(env.sock)
    p = env.start_hv(name, 2, ["--cmdline", "faults=%d" % reps, "--trace", "pf,gp,ud", "--trace-stage2", "--stats"])
    env.wait_vm(c, name)
    # The subscriber that reads everything, and one that never reads: its
    # queue is tiny (HVKIT_HVD_SUB_QUEUE) and its socket buffer small.
    sub = Sub(env.sock)
    r_sub, r_st = sub.call2(("subscribe", {"vm": name, "events": ["FAULT"]}), ("query-fault-stats", {"vm": name}))
    S.check_def("subscribe", "return", ok(r_sub, "subscribe"))
    base_sub = ok(r_st, "query-fault-stats")["total"]
    slow = Sub(env.sock, rcvbuf=4096)
    r_sub, r_st = slow.call2(("subscribe", {"vm": name}), ("query-fault-stats", {"vm": name}))
    ok(r_sub, "subscribe (slow)")
    base_slow = ok(r_st, "query-fault-stats")["total"]
    # While the slow one does not read, another client is served at once.
    worst = 0.0
    while p.poll() is None:
        t0 = time.time()
        ok(c.call("query-fault-stats", {"vm": name}), "query-fault-stats while the slow client stalls")
        worst = max(worst, time.time() - t0)
        # the good subscriber reads its events as they come
        sub.s.settimeout(0.05)
        try:
            while True:
                m = sub.read()
                check("event" in m, "unexpected reply %r" % m)
                sub.events.append(m)
        except (socket.timeout, BlockingIOError):
            pass
        sub.s.settimeout(60)
    wait_exit(env, p)
    wait_gone(env, c, name)
    check(worst < 2.0, "a query took %.1f s while a subscriber did not read" % worst)

    # Rates count complete seconds only: let the storm's last second end.
    time.sleep(1.1)
    st = ok(c.call("query-fault-stats", {"vm": name}), "query-fault-stats")
    check_stats(S, st, 2)
    want = check_exact(st, console(env, name))
    check(st["total"] > 0 and st["hot_rips"] and st["rates"]["60s"] > 0, "no activity: %r" % st)

    # History: the newest faults, exactly FAULT events, filters work.
    h = ok(c.call("query-faults", {"vm": name, "limit": 1024}), "query-faults")
    S.check_def("query-faults", "return", h)
    check(len(h["faults"]) == min(st["total"], 1024), "history has %d of %d" % (len(h["faults"]), st["total"]))
    for cls in want:
        if want[cls] and want[cls] <= 1024:
            f = ok(c.call("query-faults", {"vm": name, "limit": 1024, "class": cls}), "query-faults class")
            got = len(f["faults"])
            check(all(e["data"]["class"] == cls for e in f["faults"]), "class filter leaked")
            check(st["total"] > 1024 or got == want[cls], "%s: history has %d, caused %d" % (cls, got, want[cls]))
    g = ok(c.call("query-faults", {"vm": name, "class": "guest", "vcpu": 1, "limit": 5}), "query-faults prefix")
    check(len(g["faults"]) <= 5 and all(e["data"]["class"].startswith("guest.") and e["data"]["vcpu"] == 1
                                        for e in g["faults"]), "prefix/vcpu filter: %r" % g)
    bad = c.call("query-faults", {"vm": name, "class": "Guest!"})
    check(bad.get("error", {}).get("class") == "InvalidArgument", "bad class accepted: %r" % bad)

    # The reading subscriber: every event valid, exactly the faults after
    # its subscription (its queue never filled).
    u = ok(sub.call("unsubscribe"), "unsubscribe")
    S.check_def("unsubscribe", "return", u)
    faults = [e for e in sub.events if e["event"] == "FAULT"]
    lost = [e for e in sub.events if e["event"] == "LOST"]
    for e in faults:
        S.check("fault-event", e, "a FAULT event")
        check(e["data"]["vm"] == name, "event of another VM")
    for e in lost:
        S.check("lost-event", e, "a LOST event")
    qlost = sum(e["data"]["count"] for e in lost if e["data"]["reason"] == "queue")
    check(len(faults) == u["delivered"], "received %d FAULT events, hvd says it sent %d" % (len(faults), u["delivered"]))
    check(len(faults) + qlost == st["total"] - base_sub, "subscriber: %d events + %d lost != %d faults after subscribing"
          % (len(faults), qlost, st["total"] - base_sub))
    check(len(faults) > 0, "the subscriber got no event")

    # The slow subscriber reads now: events + LOST(queue) add up exactly.
    u = ok(slow.call("unsubscribe"), "unsubscribe (slow)")
    faults = [e for e in slow.events if e["event"] == "FAULT"]
    lost = [e for e in slow.events if e["event"] == "LOST"]
    for e in lost:
        S.check("lost-event", e, "a LOST event")
    qlost = sum(e["data"]["count"] for e in lost if e["data"]["reason"] == "queue")
    check(len(faults) == u["delivered"] and qlost == u["dropped"], "slow: got %d events %d lost, hvd says %r"
          % (len(faults), qlost, u))
    check(len(faults) + qlost == st["total"] - base_slow, "slow: %d + %d != %d" % (len(faults), qlost, st["total"] - base_slow))
    check(qlost > 0, "the slow subscriber lost nothing: the test did not overflow its queue (%d events)" % len(faults))
    # LOST comes before what follows a gap: each notice's total is the running sum
    run = 0
    for e in lost:
        if e["data"]["reason"] == "queue":
            run += e["data"]["count"]
            check(e["data"]["total"] == run, "LOST totals do not run: %r" % lost)
    for e in faults[:50]:
        S.check("fault-event", e, "a FAULT event (slow)")
    print("faults mode: %d faults in %d classes, subscriber %d events, slow subscriber %d events + %d lost"
          % (st["total"], len(want), len(sub.events), len(faults), qlost))
    for x in (c, sub, slow):
        x.close()


IDT_SWAP_TSC_HZ = 4e9      # the guest's pause is at least wait_tsc / 4 GHz (REPORT.md `idt-swap`)


def idt_swaps(text):
    """{vector name: fields} of the guest's complete `hvk idt-swap` lines (REPORT.md)."""
    out = {}
    for m in re.finditer(r"^hvk idt-swap (.*?)\r?\n", text, re.M):
        f = dict(kv.split("=", 1) for kv in m.group(1).split() if "=" in kv)
        out[f.get("name")] = f
    return out


def trace_handlers(S, c, name):
    """trace-config without arguments (the state): {vector name: armed handler or None}."""
    r = ok(c.call("trace-config", {"vm": name}), "trace-config (state)")
    S.check_def("trace-config", "return", r)
    return {v["vector"]: int(v["handler"], 16) if v["armed"] else None for v in r["vectors"]}


def idt_swap(env, S, reps):
    """Issue 5: re-arm when the guest changes its IDT. The guest (`idt-swap`)
    moves the #PF/#GP/#UD gates to alternate stubs before the second half of
    its battery, with every vCPU quiet, and faults again only >= 1.5 s later."""
    name = "idtswap"
    c = Sub(env.sock)
    p = env.start_hv(name, 2, ["--cmdline", "faults=%d idt-swap quiet" % reps, "--trace", "pf,gp,ud",
                               "--trace-stage2", "--stats"])
    env.wait_vm(c, name)
    # Before the swap: all three armed, on the guest's first IDT.
    deadline = time.time() + 30
    while True:
        before = trace_handlers(S, c, name)
        pre_swap = not idt_swaps(console(env, name))
        if all(before.get(v) for v in ("pf", "gp", "ud")) or not pre_swap:
            break
        check(time.time() < deadline and p.poll() is None, "pf, gp, ud not armed within 30 s: %r" % before)
        time.sleep(0.05)
    check(pre_swap, "the guest swapped its IDT before the test saw the first arming: make faults=N larger (%d)" % reps)
    # The swap: the guest's lines name the old and new handlers.
    deadline = time.time() + 120
    while True:
        swaps = idt_swaps(console(env, name))
        if len(swaps) == 3:
            break
        check(p.poll() is None, "hv exited; the guest printed %d idt-swap lines\n%s" % (
            len(swaps), console(env, name)[-3000:]))
        check(time.time() < deadline, "no idt-swap within 120 s")
        time.sleep(0.02)
    seen = time.time()
    wait_s = min(int(f["wait_tsc"]) for f in swaps.values()) / IDT_SWAP_TSC_HZ
    check(sorted(swaps) == ["gp", "pf", "ud"], "idt-swap lines for %r" % sorted(swaps))
    old = {v: int(f["old"], 16) for v, f in swaps.items()}
    new = {v: int(f["new"], 16) for v, f in swaps.items()}
    check(all(old[v] != new[v] for v in old), "the guest did not move its handlers: %r" % swaps)
    check(before == old, "before the swap hv armed %r, the guest's handlers were %r" % (
        {k: hex(x or 0) for k, x in before.items()}, {k: hex(x) for k, x in old.items()}))
    # During the guest's pause hv must notice the new gates (it polls them every 500 ms).
    while True:
        now = trace_handlers(S, c, name)
        took = time.time() - seen
        if now == new:
            break
        check(p.poll() is None and took < wait_s, "%.1f s after the swap (the guest pauses >= %.1f s) hv is armed "
              "on %r, the guest's handlers are %r" % (took, wait_s, {k: hex(x or 0) for k, x in now.items()},
                                                     {k: hex(x) for k, x in new.items()}))
        time.sleep(0.05)
    wait_exit(env, p)
    wait_gone(env, c, name)
    st = ok(c.call("query-fault-stats", {"vm": name}), "query-fault-stats")
    check_stats(S, st, 2)
    want = check_exact(st, console(env, name))
    print("idt-swap: hv armed the new handlers %.2f s after the swap (the guest pauses >= %.1f s); "
          "%d faults in %d classes, all traced" % (took, wait_s, st["total"], len(want)))
    c.close()


def hv_counters(env, name):
    """hv --stats: per vCPU trace counters and event-ring counters."""
    with open(os.path.join(env.dir, "hv-%s.log" % name), errors="replace") as f:
        text = f.read()
    trace = {int(m.group(1)): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
             for m in re.finditer(r"^hv: vCPU (\d+) trace:(.*)$", text, re.M)}
    ring = {int(m.group(1)): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^hv: vCPU (\d+) ring:(.*)$", text, re.M)}
    check(trace and ring, "hv printed no trace/ring counters:\n" + text[-2000:])
    return trace, ring


def check_loss_exact(env, c, name, what):
    """delivered + dropped == caused, exactly; hvd's LOST == hv's drops."""
    st = ok(c.call("query-fault-stats", {"vm": name}), "query-fault-stats")
    want = guest_totals(console(env, name))
    trace, ring = hv_counters(env, name)
    caused = sum(want.values())
    recorded = sum(t["recorded"] for t in trace.values())
    dropped = sum(t["dropped"] for t in trace.values())
    ring_lost = sum(r["lost"] for r in ring.values())
    unreported = sum(r["unreported"] for r in ring.values())
    check(recorded == caused, "%s: hv recorded %d faults, the guest caused %d" % (what, recorded, caused))
    check(st["total"] + dropped == caused, "%s: hvd got %d + hv dropped %d != %d caused"
          % (what, st["total"], dropped, caused))
    check(unreported == 0, "%s: %d drops were never reported to hvd" % (what, unreported))
    check(st["lost"] == ring_lost, "%s: hvd's LOST total %d != %d records hv dropped" % (what, st["lost"], ring_lost))
    check(st["invalid"] == 0, "%s: invalid records %r" % (what, st))
    return st["total"], dropped


def wait_faults_flowing(c, name, timeout=60):
    """Return once hvd has counted faults of this VM: the storm is on."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = c.call("query-fault-stats", {"vm": name})
        if r.get("return", {}).get("total", 0) > 0:
            return
        time.sleep(0.05)
    raise T.Fail("no fault of %s reached hvd within %d s" % (name, timeout))


def tiny_ring(env, S):
    name = "tiny"
    c = Sub(env.sock)
    p = env.start_hv(name, 2, ["--cmdline", "faults=150 quiet", "--trace", "pf,gp,ud", "--trace-stage2",
                               "--event-ring", "4K", "--stats"])
    env.wait_vm(c, name)
    wait_faults_flowing(c, name)
    # hvd drains a 4 KiB ring faster than this guest faults, so hold it for
    # a second mid-storm: the ring must overflow, and resume afterwards.
    env.hvd.send_signal(signal.SIGSTOP)
    time.sleep(1.0)
    env.hvd.send_signal(signal.SIGCONT)
    wait_exit(env, p)
    wait_gone(env, c, name)
    got, dropped = check_loss_exact(env, c, name, "tiny ring")
    check(dropped > 0, "a 4 KiB ring dropped nothing: the test did not exercise loss (%d delivered)" % got)
    print("tiny ring: %d delivered + %d dropped, exactly what the guest caused" % (got, dropped))
    c.close()


def cpu_seconds(pid):
    """user + system CPU time of a process (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hvd_frozen(env, S):
    """SIGSTOP hvd through a fault storm: the guest runs on (its vCPUs keep
    burning CPU while hvd is frozen); after SIGCONT, with the storm still
    going, every drop is reported and the counts are exact."""
    name = "frozen"
    c = Sub(env.sock)
    p = env.start_hv(name, 2, ["--cmdline", "faults=400 quiet beat=0", "--trace", "pf,gp,ud",
                               "--trace-stage2", "--stats"])
    env.wait_vm(c, name)
    wait_faults_flowing(c, name)
    c.close()
    env.hvd.send_signal(signal.SIGSTOP)
    try:
        before = cpu_seconds(p.pid)
        time.sleep(2.0)
        ran = cpu_seconds(p.pid) - before
        still_running = p.poll() is None
    finally:
        env.hvd.send_signal(signal.SIGCONT)
    check(ran > 0.5, "the guest used only %.2f s of CPU in 2 s with hvd stopped: a vCPU stalled" % ran)
    check(still_running, "the storm ended while hvd was stopped: make it longer (faults=N)")
    wait_exit(env, p)
    c = Sub(env.sock)
    wait_gone(env, c, name, timeout=30)
    got, dropped = check_loss_exact(env, c, name, "hvd stopped")
    check(dropped > 0, "nothing was dropped while hvd was stopped (%d delivered)" % got)
    print("hvd stopped for 2 s: the guest ran on (%.1f s of CPU); %d delivered + %d dropped, exact" % (ran, got, dropped))
    c.close()


def workload(env, S):
    name = "wl"
    c = Sub(env.sock)
    p = env.start_hv(name, 2, ["--cmdline", "iterations=24 beat=0", "--trace", "pf,ud", "--stats"])
    env.wait_vm(c, name)
    wait_exit(env, p)
    wait_gone(env, c, name)
    st = ok(c.call("query-fault-stats", {"vm": name}), "query-fault-stats")
    check_stats(S, st, 2)
    text = console(env, name)
    m = re.search(r"^hvk stats .*demand_faults=(\d+) demand_spurious=(\d+) int80_ud=(\d+)", text, re.M)
    check(m, "no stats line:\n" + text[-2000:])
    demand, spurious, ud = (int(x) for x in m.groups())
    check(st["lost"] == 0, "lost %d" % st["lost"])
    check(ud > 0 and st["by_class"].get("exception.ud", 0) == ud, "exception.ud %r != int80_ud %d" % (st["by_class"], ud))
    pf = sum(n for k, n in st["by_class"].items() if k.startswith("guest."))
    check(pf == demand + spurious, "#PF classes %d != demand faults %d + %d" % (pf, demand, spurious))
    x = exits(env, name)
    check(all(v.get("debug", 0) > 0 for v in x.values()), "traced run without debug exits: %r" % x)
    c.close()


def tracing_off(env, S):
    name = "off"
    c = Sub(env.sock)
    p = env.start_hv(name, 2, ["--cmdline", "iterations=16 beat=0", "--stats"])
    env.wait_vm(c, name)
    wait_exit(env, p)
    wait_gone(env, c, name)
    st = ok(c.call("query-fault-stats", {"vm": name}), "query-fault-stats")
    check_stats(S, st, 2)
    check(st["total"] == 0 and st["lost"] == 0, "untraced VM produced fault records: %r" % st)
    x = exits(env, name)
    check(all(v.get("debug", 0) == 0 for v in x.values()), "untraced run has debug exits: %r" % x)

    # On and off through the API while the workload runs.
    name = "toggle"
    p = env.start_hv(name, 1, ["--cmdline", "beat=0", "--stats"])
    env.wait_vm(c, name)
    env.wait_guest_tables(c, name)
    r = ok(c.call("trace-config", {"vm": name, "vectors": "pf,ud", "stack_depth": 4}), "trace-config on")
    S.check_def("trace-config", "return", r)
    check(sorted(v["vector"] for v in r["vectors"]) == ["pf", "ud"] and r["stack_depth"] == 4, "trace-config: %r" % r)
    deadline = time.time() + 60
    while ok(c.call("query-fault-stats", {"vm": name}), "stats")["total"] < 4:
        check(time.time() < deadline, "no fault traced within 60 s of trace-config")
        time.sleep(0.2)
    h = ok(c.call("query-faults", {"vm": name, "limit": 4}), "query-faults")
    for e in h["faults"]:
        S.check("fault-event", e, "a FAULT event from the history")
        check(len(e["data"]["stack"]) <= 4, "stack_depth 4 not honoured")
    r = ok(c.call("trace-config", {"vm": name, "enabled": False}), "trace-config off")
    S.check_def("trace-config", "return", r)
    check(r["vectors"] == [] and r["stage2"] is False, "tracing still on: %r" % r)
    time.sleep(0.5)   # records written before the answer may still be in the ring
    before = ok(c.call("query-fault-stats", {"vm": name}), "stats")["total"]
    time.sleep(2)
    after = ok(c.call("query-fault-stats", {"vm": name}), "stats")["total"]
    check(after == before, "tracing off, yet %d more faults" % (after - before))
    for bad in [{"vectors": 5}, {"stack_depth": 17}, {"sample": 0}, {"stage2": "yes"}, {"bogus": 1}]:
        bad["vm"] = name
        r = c.call("trace-config", bad)
        check(r.get("error", {}).get("class") == "InvalidArgument", "trace-config accepted %r: %r" % (bad, r))
    p.terminate()
    p.wait(timeout=30)
    c.close()


def hvctl_cli(env, S, hvctl, guest_elf):
    """hvctl trace/faults/top against the same hvd: exit codes, JSON that
    validates, text that agrees with hvd's numbers, RIPs named by the ELF."""
    import subprocess
    name = "cli"

    def run(*args, timeout=60):
        p = subprocess.run([hvctl, "--rundir", env.rundir] + list(args), capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    c = Sub(env.sock)
    p = env.start_hv(name, 1, ["--cmdline", "beat=0", "--stats"])
    env.wait_vm(c, name)
    env.wait_guest_tables(c, name)
    rc, out, err = run("trace", "on", "--vm", name, "--vectors", "ud", "--depth", "3")
    check(rc == 0 and "ud (armed" in out and "stack depth: 3" in out, "hvctl trace on: %d %r %r" % (rc, out, err))
    rc, out, err = run("trace", "off", "--vectors", "ud")
    check(rc == 2, "trace off --vectors must be a usage error, got %d" % rc)
    rc, out, err = run("trace", "on", "--vm", "nope")
    check(rc == 4, "trace on an unknown VM: exit %d, want 4 (%s)" % (rc, err))
    deadline = time.time() + 60
    while ok(c.call("query-fault-stats", {"vm": name}), "stats")["total"] < 3:
        check(time.time() < deadline, "no #UD traced within 60 s")
        time.sleep(0.2)
    # --follow streams: what it prints validates and is of the VM
    try:
        fp = subprocess.run([hvctl, "--rundir", env.rundir, "faults", "--follow", "--json", "--vm", name],
                            capture_output=True, text=True, timeout=4)
        check(False, "faults --follow ended by itself: %d %r" % (fp.returncode, fp.stderr))
    except subprocess.TimeoutExpired as e:
        lines = (e.stdout or b"").decode().splitlines() if isinstance(e.stdout, bytes) else (e.stdout or "").splitlines()
    check(lines, "faults --follow printed nothing in 4 s")
    for line in lines:
        ev = json.loads(line)
        S.check("lost-event" if ev["event"] == "LOST" else "fault-event", ev, "hvctl faults --follow --json")
    rc, out, err = run("trace", "off", "--vm", name)
    check(rc == 0 and "vectors: none" in out, "hvctl trace off: %d %r" % (rc, out))
    time.sleep(0.5)
    st = ok(c.call("query-fault-stats", {"vm": name}), "stats")
    rc, out, err = run("faults", "--vm", name, "--limit", "5", "--json")
    evs = [json.loads(x) for x in out.splitlines()]
    check(rc == 0 and 1 <= len(evs) <= 5, "faults --json: %d, %d lines" % (rc, len(evs)))
    for ev in evs:
        S.check("fault-event", ev, "hvctl faults --json")
    rc, out, err = run("faults", "--vm", name, "--limit", "5", "--symbols", guest_elf)
    check(rc == 0 and len(out.splitlines()) == len(evs), "faults text: %d %r %r" % (rc, out, err))
    for line in out.splitlines():
        check(" exception.ud " in line and "rip=0x" in line and "<" in line and ">" in line,
              "a #UD line without its class or a symbolized RIP: %r" % line)
    rc, out, err = run("faults", "--vm", name, "--symbols", "/nonexistent")
    check(rc == 4, "a missing symbol file: exit %d" % rc)
    rc, out, err = run("top", "--once", "--vm", name)
    check(rc == 0, "top --once: %d %s" % (rc, err))
    m = re.search(r"^exception\.ud\s+(\d+)", out, re.M)
    check(m and int(m.group(1)) == st["by_class"]["exception.ud"], "top shows %r, hvd counted %r" % (out, st["by_class"]))
    rc, out, err = run("top", "--json", "--vm", name)
    check(rc == 0, "top --json: %d" % rc)
    S.check_def("query-fault-stats", "return", json.loads(out), "hvctl top --json")
    p.terminate()
    p.wait(timeout=30)
    c.close()


def run(argv):
    hvd_bin, hv_bin, sdir = argv[:3]
    reps = int(os.environ.get("TELEMETRY_REPS", "60"))
    S = T.Schemas(sdir)
    os.environ["HVKIT_HVD_SUB_QUEUE"] = "16384"
    env = T.Env(hvd_bin, hv_bin)
    try:
        env.start_hvd()
        parts = [("faults_mode", lambda: faults_mode(env, S, reps)), ("idt_swap", lambda: idt_swap(env, S, reps)),
                 ("tiny_ring", lambda: tiny_ring(env, S)), ("hvd_frozen", lambda: hvd_frozen(env, S)),
                 ("workload", lambda: workload(env, S)), ("tracing_off", lambda: tracing_off(env, S))]
        if len(argv) >= 5:
            parts.append(("hvctl_cli", lambda: hvctl_cli(env, S, argv[3], argv[4])))
        # TELEMETRY_PARTS=a,b runs only those (by hand; ctest runs all).
        only = [x for x in os.environ.get("TELEMETRY_PARTS", "").split(",") if x]
        check(set(only) <= {n for n, _ in parts}, "TELEMETRY_PARTS: unknown %r" % (set(only) - {n for n, _ in parts}))
        for n, fn in parts:
            if not only or n in only:
                fn()
        env.stop_hvd()
    except T.Fail as e:
        raise T.Fail("%s\n%s" % (e, env.logs()))
    finally:
        env.close()


T.main(run)
