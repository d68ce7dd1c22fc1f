"""test_hvd_load.py -- 32 concurrent API clients each make 1000 walks of
addresses the bundled guest maps, on one real hv VM: every answer is a
walk of the address asked, mapped to the GPA the guest's tables give, and
no request fails."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvdtest as T  # noqa: E402

CLIENTS, WALKS = 32, 1000


def run(argv):
    hvd_bin, hv_bin = argv[0], argv[1]
    env = T.Env(hvd_bin, hv_bin, keep=os.environ.get("HVD_TEST_KEEP") == "1")
    try:
        env.start_hvd()
        env.start_hv("load", vcpus=2)
        c = T.Client(env.sock)
        env.wait_vm(c, "load")
        # user-mode ranges are the same under every CR3 the guest uses; wait
        # until the guest has built its tables
        maps = env.wait_guest_tables(c, "load")
        ranges = [r for r in maps["ranges"] if r["rights"]["user"]][:16]
        expect = {r["va"]: r["gpa"] for r in ranges}
        addrs = list(expect)
        failures = []
        done = [0] * CLIENTS

        def worker(k):
            try:
                cl = T.Client(env.sock, timeout=60)
                for i in range(WALKS):
                    a = addrs[(k + i) % len(addrs)]
                    r = cl.call("walk", {"gva": a, "user": True}, id=i)
                    if r.get("id") != i or "return" not in r:
                        failures.append("client %d walk %d: %r" % (k, i, str(r)[:300]))
                        return
                    w = r["return"]
                    if w["gva"] != a or w["gpa"] != expect[a]:
                        failures.append("client %d: %s -> %s, maps says %s" % (k, a, w["gpa"], expect[a]))
                        return
                    done[k] += 1
                cl.close()
            except Exception as e:   # noqa: BLE001 -- reported as a failure
                failures.append("client %d: %r" % (k, e))

        start = time.time()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        took = time.time() - start
        T.check(not failures, "%d clients failed, first: %s" % (len(failures), failures[:3]))
        T.check(sum(done) == CLIENTS * WALKS, "only %d of %d walks done" % (sum(done), CLIENTS * WALKS))
        print("%d clients x %d walks in %.1f s (%.0f walks/s)" % (CLIENTS, WALKS, took, CLIENTS * WALKS / took))
        env.stop_hvd()
    except T.Fail:
        print(env.logs(), file=sys.stderr)
        raise
    finally:
        env.close()


T.main(run)
