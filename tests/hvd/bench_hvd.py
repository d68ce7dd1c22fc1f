"""bench_hvd.py -- hvd's figures: latency of one `walk` over a persistent API
connection (median, p99) against a real hv running the bundled guest, and
event records per second hvd drains from a VM's rings (a test peer floods
them as fast as one thread can), next to the raw two-thread ring limit that
bench_ring measures on this machine. The flood also checks the ring's
accounting end to end: delivered + lost == generated.
Usage: bench_hvd.py HVD HV HVD_PEER BENCH_RING [--smoke]"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvdtest as T  # noqa: E402


def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p))]


def run(argv):
    smoke = "--smoke" in argv
    hvd_bin, hv_bin, peer_bin, ring_bin = [a for a in argv if a != "--smoke"]
    walks, flood_s = (300, 0.5) if smoke else (5000, 3.0)
    env = T.Env(hvd_bin, hv_bin)
    try:
        env.start_hvd()
        env.start_hv("bench", vcpus=2)
        c = T.Client(env.sock)
        env.wait_vm(c, "bench")
        env.wait_guest_tables(c, "bench")
        lat = []
        for i in range(walks):
            t0 = time.perf_counter()
            r = c.call("walk", {"vm": "bench", "gva": "0x400000"})
            lat.append(time.perf_counter() - t0)
            T.check("return" in r, "walk failed: %r" % r)
        lat.sort()
        print("hvd_bench walk_latency_us median=%.1f p99=%.1f max=%.1f n=%d"
              % (pct(lat, 0.5) * 1e6, pct(lat, 0.99) * 1e6, lat[-1] * 1e6, walks))

        p = subprocess.Popen([peer_bin, "--rundir", env.rundir, "--name", "flood", "--vcpus", "2",
                              "flood=%g" % flood_s], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        welcome = p.stdout.readline().decode()
        T.check("welcome" in welcome, "flood peer not registered: %s" % welcome)
        import json
        res = json.loads(p.stdout.readline())
        generated = res["written"] + res["dropped"]
        deadline = time.time() + 10
        while True:
            vm = [v for v in c.call("query-vms")["return"] if v["name"] == "flood"][0]
            if vm["events"] + vm["lost"] >= generated or time.time() > deadline:
                break
            time.sleep(0.05)
        p.stdin.close()
        p.wait(10)
        T.check(vm["events"] + vm["lost"] == generated,
                "ring accounting: hvd saw %d + %d lost, peer generated %d"
                % (vm["events"], vm["lost"], generated))
        print("hvd_bench events_per_s=%.0f offered_per_s=%.0f lost=%d record_bytes=88 seconds=%.2f"
              % (vm["events"] / res["seconds"], generated / res["seconds"], vm["lost"], res["seconds"]))
        ring = subprocess.run([ring_bin, "--smoke"] if smoke else [ring_bin, "--seconds", "1"],
                              capture_output=True, text=True, timeout=300)
        T.check(ring.returncode == 0, "bench_ring failed: %s" % ring.stderr)
        for line in ring.stdout.splitlines():
            print("raw " + line)
        env.stop_hvd()
    except T.Fail:
        print(env.logs(), file=sys.stderr)
        raise
    finally:
        env.close()


T.main(run)
