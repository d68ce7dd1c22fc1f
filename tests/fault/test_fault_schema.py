"""test_fault_schema.py -- every FAULT event hvjson_fault produces (all data
cases and stage-2 records, via fault_json_dump) validates against
schemas/fault-event.json; so do the schema's examples; and bad events are
refused (the check can fail)."""
import copy
import json
import subprocess
import sys

import jsonschema


def main(dump, datadir, schema_path):
    with open(schema_path) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    v = cls(schema, format_checker=jsonschema.FormatChecker())

    def errors(obj):
        return sorted(v.iter_errors(obj), key=lambda e: list(e.path))

    ex = schema.get("examples") or []
    assert ex, "fault-event.json has no example"
    for i, obj in enumerate(ex):
        errs = errors(obj)
        assert not errs, "example %d: %s at %s" % (i, errs[0].message, list(errs[0].absolute_path))

    out = subprocess.run([dump, datadir], check=True, capture_output=True, text=True).stdout
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) >= 30, "only %d events" % len(events)
    seen = set()
    for ev in events:
        errs = errors(ev)
        assert not errs, "%s: %s at %s" % (json.dumps(ev), errs[0].message, list(errs[0].absolute_path))
        seen.add(ev["data"]["class"].split(".")[0] + "." + ev["data"]["class"].split(".")[1])
    for c in ["guest.not_present", "guest.protection", "guest.reserved_bit", "guest.spurious",
              "stage2.mmio", "stage2.fault_in", "exception.gp", "exception.ud", "exception.pf"]:
        assert c in seen, "no %s event was produced" % c

    # The schema must refuse what is wrong.
    good = next(e for e in events if e["data"]["class"] == "guest.not_present")
    bad = []
    for path, val in [(("data", "class"), "guest.nope"), (("data", "address"), "0xZZ"),
                      (("data", "error_bits"), ["P", "X"]), (("data", "vector"), 40),
                      (("event",), "WALK"), (("timestamp", "microseconds"), 1000000),
                      (("data", "walk", "reason"), "maybe"), (("data", "stack"), [{"pc": "0x1"}] * 17)]:
        b = copy.deepcopy(good)
        o = b
        for k in path[:-1]:
            o = o[k]
        o[path[-1]] = val
        bad.append((path, b))
    b = copy.deepcopy(good)
    del b["data"]["walk"]
    bad.append(("guest class without walk", b))
    b = copy.deepcopy(good)
    b["data"]["extra"] = 1
    bad.append(("unknown key", b))
    for what, b in bad:
        assert errors(b), "schema accepted a bad event (%s)" % (what,)
    print("%d events valid, %d bad ones refused" % (len(events), len(bad)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
