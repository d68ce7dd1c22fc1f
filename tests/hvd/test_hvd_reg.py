"""test_hvd_reg.py -- hvd's registration side against a test peer (hvd_peer,
which plays hv): wrong descriptor counts, malformed hellos, an unsealed
memfd, a ring size that disagrees, duplicate live names, a gone VM replaced
by a new one, a ring turned corrupt (that VM dropped, another untouched),
and the sockets: mode 0600, a live hvd refused, a stale socket replaced."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvdtest as T  # noqa: E402


def peer(env, peer_bin, name, mode, vcpus=1, stay=False):
    p = subprocess.Popen([peer_bin, "--rundir", env.rundir, "--name", name, "--vcpus", str(vcpus), mode],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline().decode().strip()
    if not stay:
        p.stdin.close()
        p.wait(10)
    T.check(line, "peer %s/%s printed nothing: %s" % (name, mode, p.stderr.read().decode() if not stay else ""))
    return p, (json.loads(line) if line.startswith("{") else line)


def refused(env, peer_bin, mode, what, name="bad"):
    _, ans = peer(env, peer_bin, name, mode)
    T.check(isinstance(ans, dict) and "error" in ans, "%s: hvd did not refuse: %r" % (what, ans))
    T.check(ans["error"]["class"] == "InvalidRequest" and ans["error"]["desc"], "%s: %r" % (what, ans))
    return ans["error"]["desc"]


def hello(**over):
    h = {"proto": 1, "name": "h", "uuid": "00000000-0000-4000-8000-000000000001", "pid": 1, "vcpus": 1,
         "kernel": "k", "memory": [{"gpa": "0x0", "size": "0x1000", "offset": "0x0"}], "ring_size": 1,
         "allow_write": False}
    h.update(over)
    h = {k: v for k, v in h.items() if v is not None}
    return "hello=" + json.dumps({"hello": h})


def run(argv):
    hvd_bin, peer_bin = argv
    env = T.Env(hvd_bin, keep=os.environ.get("HVD_TEST_KEEP") == "1")
    try:
        env.start_hvd()
        st = os.stat(env.sock)
        T.check(stat.S_IMODE(st.st_mode) == 0o600, "API socket mode %o" % stat.S_IMODE(st.st_mode))
        T.check(stat.S_IMODE(os.stat(env.rundir).st_mode) == 0o700, "rundir not 0700")
        c = T.Client(env.sock)

        for n in (0, 1, 3, 5, 9):
            d = refused(env, peer_bin, "fds=%d" % n, "%d descriptors" % n)
            T.check("descriptors" in d, d)
        for what, mode in [("not JSON", "hello={"), ("not an object", "hello=[1]"),
                           ("no hello member", 'hello={"x":{}}'), ("proto 2", hello(proto=2)),
                           ("no name", hello(name=None)), ("bad name", hello(name="a b")),
                           ("long name", hello(name="x" * 65)), ("bad uuid", hello(uuid="1234")),
                           ("vcpus 0", hello(vcpus=0)), ("vcpus 255", hello(vcpus=255)),
                           ("pid string", hello(pid="1")), ("unknown field", hello(colour="red")),
                           ("memory empty", hello(memory=[])),
                           ("memory not hex", hello(memory=[{"gpa": "0", "size": "0x1", "offset": "0x0"}])),
                           ("memory wraps", hello(memory=[{"gpa": "0xffffffffffffffff", "size": "0x2",
                                                           "offset": "0x0"}])),
                           ("ring size mismatch", hello())]:
            refused(env, peer_bin, mode, what)
        d = refused(env, peer_bin, "unsealed", "unsealed memfd")
        T.check("seal" in d, "unsealed: " + d)
        refused(env, peer_bin, "ringsize", "ring_size disagreeing with the memfd")
        T.check(c.call("query-vms")["return"] == [], "a refused peer was listed")

        # a live name cannot register twice; once gone, it can
        a, ans = peer(env, peer_bin, "dup", "ok", stay=True)
        T.check("welcome" in ans, "first registration refused: %r" % ans)
        d = refused(env, peer_bin, "ok", "second VM with a live name", name="dup")
        T.check("already registered" in d, d)
        a.stdin.close()
        a.wait(10)
        env.wait_vm(c, "dup", "gone", timeout=5)
        b, ans = peer(env, peer_bin, "dup", "ok", stay=True)
        T.check("welcome" in ans, "re-registration after gone refused: %r" % ans)
        vms = c.call("query-vms")["return"]
        T.check([(v["name"], v["state"]) for v in vms] == [("dup", "running")], repr(vms))

        # gone VMs are remembered up to a cap
        for i in range(20):
            p, ans = peer(env, peer_bin, "short%d" % i, "ok")
            T.check("welcome" in ans, repr(ans))
        deadline = time.time() + 5
        while True:
            vms = c.call("query-vms")["return"]
            gone = [v for v in vms if v["state"] == "gone"]
            if len(gone) == 16 or time.time() > deadline:
                break
            time.sleep(0.05)
        T.check(len(gone) == 16, "%d gone VMs remembered, expected the cap of 16" % len(gone))
        T.check(gone[0]["name"] == "short19", "newest gone first: %r" % gone[0]["name"])

        # a corrupt ring drops that VM only
        bad, ans = peer(env, peer_bin, "corrupt", "corrupt", vcpus=2, stay=True)
        T.check("welcome" in ans, repr(ans))
        bad.stdin.write(b"go\n")
        bad.stdin.flush()
        out = bad.stdout.readline().decode().strip()
        T.check(out == "dropped", "hvd did not hang up on a corrupt ring: %r" % out)
        bad.wait(10)
        env.wait_vm(c, "corrupt", "gone", timeout=5)
        T.check("ring 0 is corrupt" in env.hvd_log(), "no clear log line for the corrupt ring")
        T.check([v["state"] for v in c.call("query-vms")["return"] if v["name"] == "dup"] == ["running"],
                "the other VM was touched")
        T.check(env.hvd.poll() is None, "hvd died")

        # a VM that never answers: Busy when its command ring is full, then
        # Timeout after 10 s for what was sent; in order on each connection
        mute, ans = peer(env, peer_bin, "mute", "ok", stay=True)
        T.check("welcome" in ans, repr(ans))
        req = b'{"execute": "walk", "arguments": {"vm": "mute", "gva": "0x1000"}}\n'
        conns = [T.Client(env.sock, timeout=40) for _ in range(48)]
        # one more client asks, then shuts down its writing side (like
        # `socat` at the end of its input): it still gets its answers, and
        # hvd does not spin while it waits for them
        half = T.Client(env.sock, timeout=40)
        half.send_raw(b'{"execute": "query-version", "id": 1}\n' + req.replace(b"}}", b'}, "id": 2}', 1))
        half.s.shutdown(socket.SHUT_WR)
        def cpu():
            f = open("/proc/%d/stat" % env.hvd.pid).read().rsplit(")", 1)[1].split()
            return int(f[11]) + int(f[12])
        cpu0 = cpu()
        t0 = time.time()
        for cl in conns:
            cl.send_raw(req * 16)
        classes = {}
        for cl in conns:
            for _ in range(16):
                r = cl.read()
                k = r.get("error", {}).get("class")
                classes[k] = classes.get(k, 0) + 1
            cl.close()
        took = time.time() - t0
        r1, r2 = half.read(), half.read()
        T.check(r1.get("id") == 1 and "return" in r1 and r2.get("id") == 2 and
                r2.get("error", {}).get("class") in ("Timeout", "Busy"), "half-closed client: %r %r" % (r1, r2))
        T.check(half.s.recv(1) == b"", "hvd did not close after answering a half-closed client")
        ticks = cpu() - cpu0
        print("hvd CPU while waiting: %d ticks in %.1f s" % (ticks, took))
        T.check(ticks < 50, "hvd used %d ticks of CPU while requests waited %.0f s" % (ticks, took))
        T.check(classes.get("Busy", 0) > 0 and classes.get("Timeout", 0) > 0 and
                classes.get("Busy", 0) + classes.get("Timeout", 0) == 48 * 16,
                "expected only Busy and Timeout, got %r" % classes)
        T.check(9.5 < took < 25, "timeouts came after %.1f s, not 10" % took)
        mute.stdin.close()
        mute.wait(10)
        # a request in flight when the VM goes away fails with VMGone
        mute, ans = peer(env, peer_bin, "mute2", "ok", stay=True)
        T.check("welcome" in ans, repr(ans))
        cl = T.Client(env.sock)
        cl.send_raw(b'{"execute": "regs", "arguments": {"vm": "mute2"}, "id": 5}\n')
        time.sleep(0.2)
        mute.stdin.close()
        mute.wait(10)
        r = cl.read()
        T.check(r.get("id") == 5 and r.get("error", {}).get("class") == "VMGone", repr(r))
        T.check(cl.call("regs", {"vm": "mute2"})["error"]["class"] == "VMGone", "gone VM not refused")

        # another hvd on the same runtime directory refuses to start
        r = subprocess.run([hvd_bin, "--rundir", env.rundir], capture_output=True, timeout=10)
        T.check(r.returncode == 1 and b"another hvd is running" in r.stderr,
                "second hvd: rc %d, %r" % (r.returncode, r.stderr[-300:]))
        T.check("return" in c.call("query-version"), "first hvd disturbed by the second")
        b.stdin.close()
        b.wait(10)

        # out of descriptors: connections are refused, the loop does not spin
        lim = T.Env(hvd_bin)
        try:
            import resource
            def low():
                resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))
            os.makedirs(lim.rundir, mode=0o700)
            h = subprocess.Popen([hvd_bin, "--rundir", lim.rundir], stderr=subprocess.DEVNULL, preexec_fn=low)
            lim.procs.append(h)
            deadline = time.time() + 10
            while not os.path.exists(lim.sock):
                T.check(time.time() < deadline and h.poll() is None, "low-limit hvd did not start")
                time.sleep(0.02)
            import socket as so
            held = []
            for _ in range(40):
                s = so.socket(so.AF_UNIX)
                s.connect(lim.sock)
                held.append(s)
            # every connection is either served (greeting) or closed; with
            # the loop spinning on accept they would hang in the backlog
            served = refused_n = 0
            for s in held:
                s.settimeout(3)
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    data = b""
                except so.timeout:
                    raise T.Fail("a connection hangs while hvd is out of descriptors")
                if data.startswith(b'{"hvkit"'):
                    served += 1
                else:
                    refused_n += 1
            T.check(served and refused_n, "served %d, refused %d of 40 at 24 descriptors" % (served, refused_n))
            for s in held:
                s.close()
            time.sleep(0.3)
            T.check("return" in T.Client(lim.sock).call("query-version"), "hvd unusable after EMFILE")
        finally:
            lim.close()

        # kill -9 leaves stale sockets; a new hvd replaces them
        env.hvd.send_signal(signal.SIGKILL)
        env.hvd.wait()
        T.check(os.path.exists(env.sock), "socket vanished with kill -9?")
        env.start_hvd()
        T.check("removed stale socket" in env.hvd_log(), "stale socket not reported")
        c = T.Client(env.sock)
        T.check(c.call("query-vms")["return"] == [], "new hvd knows old VMs")
        # kill -9 hvd in the middle of an event flood, restart it: the peer
        # registers again with the same ring, the new hvd resumes at the
        # shared tail, and every record since is delivered or counted lost
        fl = subprocess.Popen([peer_bin, "--rundir", env.rundir, "--name", "flood", "--vcpus", "1", "flood=3"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        T.check("welcome" in fl.stdout.readline().decode(), "flood peer not registered")
        time.sleep(0.8)
        env.hvd.send_signal(signal.SIGKILL)
        env.hvd.wait()
        time.sleep(0.2)
        env.start_hvd()
        res = json.loads(fl.stdout.readline())
        generated = res["written"] + res["dropped"]
        T.check(res["reattached"] >= 1, "the peer never registered again: %r" % res)
        c = T.Client(env.sock)
        deadline = time.time() + 10
        while True:
            vm = [v for v in c.call("query-vms")["return"] if v["name"] == "flood"]
            ring = vm[0]["rings"][0] if vm and "rings" in vm[0] else None
            if ring and ring["next_seq"] == generated:
                break
            T.check(time.time() < deadline, "hvd did not catch up with the flood: %r of %d" % (ring, generated))
            time.sleep(0.05)
        T.check(ring["first_seq"] > 0, "the new hvd started at seq 0: the old one read nothing? %r" % ring)
        T.check(ring["delivered"] + ring["lost"] == ring["next_seq"] - ring["first_seq"],
                "records unaccounted for across the restart: %r" % ring)
        fl.stdin.close()
        fl.wait(10)
        print("restart mid-flood: joined at seq %d, %d delivered + %d lost of %d"
              % (ring["first_seq"], ring["delivered"], ring["lost"], generated))

        # a non-socket file in the way is not removed
        env.stop_hvd()
        open(env.sock, "w").close()
        r = subprocess.run([hvd_bin, "--rundir", env.rundir], capture_output=True, timeout=10)
        T.check(r.returncode == 1 and b"not a socket" in r.stderr, "file in the way: %r" % r.stderr)
        T.check(os.path.isfile(env.sock), "hvd removed a regular file")
    except T.Fail:
        print(env.logs(), file=sys.stderr)
        raise
    finally:
        env.close()


T.main(run)
