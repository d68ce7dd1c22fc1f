#!/usr/bin/env python3
"""guest_names.py -- the guest's fault-class and vector names (hv/guest/faults.c) must be hv's (hvkit/fault.h),
or its `faults` lines could not be compared with hvd's query-fault-stats.

  guest_names.py FAULTS_C FAULT_H
"""
import re
import sys


def array(text, name):
    """The string literals of the C array initializer that follows `name[`."""
    m = re.search(re.escape(name) + r"\s*\[[^\]]*\]\s*=\s*\{(.*?)\};", text, re.S)
    if not m:
        raise SystemExit("no array %s" % name)
    return re.findall(r'"([^"]*)"', m.group(1))


def main():
    guest = open(sys.argv[1], encoding="utf-8").read()
    hv = open(sys.argv[2], encoding="utf-8").read()
    errors = []
    gv = array(guest, "hvk_vec_short")
    # fault.h's vector names are its `names[32]` array (the class names are sized HVK_FC__COUNT).
    hv_vectors = re.findall(r"names\[32\]\s*=\s*\{(.*?)\};", hv, re.S)
    hv_v = re.findall(r'"([^"]*)"', hv_vectors[0]) if hv_vectors else []
    if len(gv) != 32 or gv != hv_v:
        errors.append("vector names differ:\n  guest %r\n  hv    %r" % (gv, hv_v))
    hv_classes = set(re.findall(r'\[HVK_FC_\w+\]\s*=\s*"([^"]+)"', hv))
    for name in array(guest, "hvk_fcl_names"):
        if name == "guest.other":
            continue    # the guest's own "none of the above": never expected, never compared
        if name not in hv_classes:
            errors.append("guest class %r is not one of hv's %r" % (name, sorted(hv_classes)))
    if errors:
        print("FAIL:\n  " + "\n  ".join(errors))
        return 1
    print("ok: %d vector names, guest classes all hv's" % len(gv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
