"""test_hvd_schemas.py -- the API schemas are valid JSON Schema, each has an
example that validates, every command hvd announces has a schema, and the
greeting and errors of a real hvd (no VM needed) validate."""
import os
import sys

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
