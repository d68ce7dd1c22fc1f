#!/usr/bin/env python3
"""bench_hvctl_walk.py -- how long `hvctl walk` takes end to end (process
start to exit, as a shell user sees it) against a real hvd + hv running the
bundled guest: median and p99, for --json (one API call) and the text view
(regs for the CR3 header + walk), beside the process floor (`hvctl --help`,
no connection) and one walk over a persistent API connection (a Python
client, so its figure includes Python's own overhead).

  bench_hvctl_walk.py --hvd HVD --hv HV --hvctl HVCTL [--runs N] [--smoke]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hvkit_env import Env  # noqa: E402


def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def timed(argv, runs, want):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out.append(time.perf_counter() - t0)
        if p.returncode != want:
            raise RuntimeError("%s: exit %d, want %d: %s" % (" ".join(argv), p.returncode, want, p.stderr))
    return out


def report(name, xs):
    print("%-44s n=%-5d median %8.3f ms   p99 %8.3f ms   min %8.3f ms" % (
        name, len(xs), statistics.median(xs) * 1e3, pct(xs, 99) * 1e3, min(xs) * 1e3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hvd", required=True)
    ap.add_argument("--hv", required=True)
    ap.add_argument("--hvctl", required=True)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--smoke", action="store_true", help="20 runs: prove it works")
    a = ap.parse_args()
    runs = 20 if a.smoke else a.runs
    env = Env(a.hvd, a.hv, a.hvctl, vcpus=2)
    try:
        env.start()
        ro = env.of("page", kind="ro")[0]["va"]
        hole = env.of("hole", name="hole.pml4e")[0]["va"]
        base = [a.hvctl, "--rundir", env.rundir, "--color=never"]
        print("hvctl walk end to end (fork+exec+connect+greeting+request+exit), %d runs each" % runs)
        report("hvctl --help (process floor, no hvd)", timed([a.hvctl, "--help"], runs, 0))
        report("hvctl --json walk <mapped>", timed(base + ["--json", "walk", "%#x" % ro], runs, 0))
        report("hvctl --json walk <hole, faults>", timed(base + ["--json", "walk", "%#x" % hole], runs, 1))
        report("hvctl walk <mapped> (text: regs + walk)", timed(base + ["walk", "%#x" % ro], runs, 0))
        api = env.api()
        xs = []
        for _ in range(runs * 4):
            t0 = time.perf_counter()
            api.ret("walk", gva="%#x" % ro)
            xs.append(time.perf_counter() - t0)
        api.close()
        report("walk over one persistent API connection", xs)
    finally:
        env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
