"""test_hvd_schemas.py -- the API schemas are valid JSON Schema, each has an
example that validates, every command hvd announces has a schema, and the
greeting and errors of a real hvd (no VM needed) validate."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvdtest as T  # noqa: E402


def run(argv):
    hvd_bin, sdir = argv[0], argv[1]
    S = T.Schemas(sdir)
    for name, doc in S.docs.items():
        ex = doc.get("examples") or []
        T.check(ex, "%s.json has no example" % name)
        for i, e in enumerate(ex):
            S.check(name, e, "%s example %d" % (name, i))
    # A schema that accepts everything would pass the above: make sure bad
    # values are refused (the checks can fail).
    for name, bad in [("walk", {"arguments": {"gva": "12"}, "return": {}}),
                      ("query-vms", {"return": [{"name": "x"}]}),
                      ("error", {"error": {"class": "Nope", "desc": "x"}}),
                      ("read-memory", {"return": {"address": "0x0", "size": 1, "data": "zz"}}),
                      ("pause", {"return": {"x": 1}})]:
        try:
            S.check(name, bad)
        except T.Fail:
            continue
        raise T.Fail("%s accepted an invalid object %r" % (name, bad))

    # the command line
    import subprocess
    r = subprocess.run([hvd_bin, "--version"], capture_output=True, text=True, timeout=10)
    T.check(r.returncode == 0 and r.stdout.startswith("hvd 0."), "--version: %r" % r.stdout)
    r = subprocess.run([hvd_bin, "--help"], capture_output=True, text=True, timeout=10)
    T.check(r.returncode == 0 and "--rundir" in r.stdout and "--socket" in r.stdout, "--help: %r" % r.stdout)
    for bad in (["--bogus"], ["extra"], ["--rundir"]):
        r = subprocess.run([hvd_bin] + bad, capture_output=True, text=True, timeout=10)
        T.check(r.returncode == 2 and "usage" in r.stderr, "%r: rc %d %r" % (bad, r.returncode, r.stderr))

    # --socket puts the API elsewhere; registration stays in the rundir
    env = T.Env(hvd_bin)
    try:
        alt = os.path.join(env.dir, "alt.sock")
        p = subprocess.Popen([hvd_bin, "--rundir", env.rundir, "--socket", alt], stderr=subprocess.DEVNULL)
        env.procs.append(p)
        deadline = time.time() + 10
        while not os.path.exists(alt):
            T.check(time.time() < deadline and p.poll() is None, "hvd --socket did not listen")
            time.sleep(0.02)
        T.check("return" in T.Client(alt).call("query-version"), "no API on --socket path")
        T.check(os.path.exists(os.path.join(env.rundir, "hvd-reg.sock")), "no registration socket")
        T.check(not os.path.exists(env.sock), "default API socket created despite --socket")
    finally:
        env.close()

    env = T.Env(hvd_bin)
    try:
        env.start_hvd()
        c = T.Client(env.sock)
        S.check("greeting", c.greeting, "the greeting")
        caps = c.greeting["hvkit"]["capabilities"]
        for cmd in caps:
            T.check(cmd in S.docs, "command %s has no schemas/%s.json" % (cmd, cmd))
        for cmd in ["query-version", "query-vms", "query-vcpus", "walk", "translate", "maps", "stack",
                    "regs", "read-memory", "pause", "resume"]:
            T.check(cmd in caps, "hvd does not announce %s" % cmd)
        r = c.call("query-version", id="v")
        T.check(r.get("id") == "v", "id not echoed: %r" % r)
        S.check_def("query-version", "return", r["return"])
        r = c.call("query-vms")
        S.check_def("query-vms", "return", r["return"])
        T.check(r["return"] == [], "no VM registered yet, got %r" % r)
        r = c.call("walk", {"gva": "0x1000"}, id=[1, {"a": None}])
        S.check("error", r, "walk without VM")
        T.check(r["error"]["class"] == "VMNotFound" and r["id"] == [1, {"a": None}], repr(r))
        env.stop_hvd()
    finally:
        env.close()


T.main(run)
