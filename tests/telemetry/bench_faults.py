#!/usr/bin/env python3
"""bench_faults.py -- sustained FAULT events per second into hvd, with none
lost: the bundled guest's faults battery on 2 vCPUs, every exception class
and MMIO traced, real hvd. Prints the rate over the storm and hvd's lost
and invalid counts (the rate only counts if both are 0). The guest (its
kernel code emulated on this machine) is the limit here, not hvd: the raw
ring limit bench_ring prints is orders of magnitude higher."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hvd"))
import hvdtest as T  # noqa: E402


def main():
    hvd_bin, hv_bin = sys.argv[1:3]
    smoke = "--smoke" in sys.argv
    reps = 20 if smoke else 400
    env = T.Env(hvd_bin, hv_bin)
    try:
        env.start_hvd()
        c = T.Client(env.sock)
        p = env.start_hv("bench", 2, ["--cmdline", "faults=%d quiet beat=0" % reps, "--trace", "pf,gp,ud",
                                      "--trace-stage2"])
        env.wait_vm(c, "bench")
        t0 = time.monotonic()
        first = c.call("query-fault-stats", {"vm": "bench"})["return"]["total"]
        rc = p.wait(timeout=600)
        t1 = time.monotonic()
        T.check(rc == 0, "hv exited %d" % rc)
        env.wait_vm(c, "bench", "gone")
        st = c.call("query-fault-stats", {"vm": "bench"})["return"]
        n = st["total"] - first
        print("FAULT events into hvd: %d in %.2f s = %.0f events/s (lost %d, invalid %d)"
              % (n, t1 - t0, n / (t1 - t0), st["lost"], st["invalid"]))
        T.check(st["lost"] == 0 and st["invalid"] == 0, "events were lost: the rate above does not count")
        c.close()
        env.stop_hvd()
        print("1 passed, 0 failed")
    finally:
        env.close()


if __name__ == "__main__":
    main()
