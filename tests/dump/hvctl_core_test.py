#!/usr/bin/env python3
"""hvctl_core_test.py -- hvctl walk/maps --core on a synthetic core with
known page tables (dump_mkcore): exact results, exit codes, human output,
and every --json output validated against schemas/."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvschema  # noqa: E402

EXIT_OK, EXIT_FAULTED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_BAD_INPUT = 0, 1, 2, 4, 5


def run(hvctl, *args):
    p = subprocess.run([hvctl] + list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hvctl", required=True)
    ap.add_argument("--mkcore", required=True)
    ap.add_argument("--schemas", required=True)
    a = ap.parse_args()
    val = hvschema.load(a.schemas)
    hvschema.check_examples(val, a.schemas)
    failures = []

    def expect(cond, msg):
        if not cond:
            failures.append(msg)

    with tempfile.TemporaryDirectory() as tmp:
        core = os.path.join(tmp, "guest.core")
        subprocess.run([a.mkcore, core], check=True)

        def walk(gva, *extra, rc=None):
            code, out, err = run(a.hvctl, "--json", "walk", "--core", core, *extra, gva)
            expect(code in (EXIT_OK, EXIT_FAULTED), "walk %s %s: exit %d: %s" % (gva, extra, code, err))
            if code not in (EXIT_OK, EXIT_FAULTED):
                return None
            obj = json.loads(out)
            hvschema.check(val, "walk-result.json", obj, "walk %s" % gva)
            expect(code == (EXIT_OK if obj["ok"] else EXIT_FAULTED),
                   "walk %s: exit %d but ok=%s" % (gva, code, obj["ok"]))
            if rc is not None:
                expect(code == rc, "walk %s %s: exit %d, want %d" % (gva, extra, code, rc))
            return obj

        def field(obj, key, want, what):
            if obj is not None:
                expect(obj.get(key) == want, "%s: %s = %r, want %r" % (what, key, obj.get(key), want))

        w = walk("0x1234", rc=EXIT_OK)
        field(w, "gpa", "0x7234", "0x1234")
        field(w, "page_size", 4096, "0x1234")
        field(w, "mode", "4-level", "0x1234")
        if w:
            expect([l["level"] for l in w["levels"]] == ["pml4e", "pdpte", "pde", "pte"], "0x1234 levels")
            expect(w["levels"][3]["raw"] == "0x7003", "0x1234 PTE raw %s" % w["levels"][3]["raw"])
            expect(w["rights"]["str"] == "srwx", "0x1234 rights %s" % w["rights"]["str"])
        w = walk("0x2000", "--user", "--access", "w", rc=EXIT_FAULTED)
        field(w, "reason", "write_ro", "0x2000 user write")
        field(w, "error_code", 7, "0x2000 user write")
        field(w, "fault_level", 3, "0x2000 user write")
        w = walk("0x2000", "--user", rc=EXIT_OK)
        field(w, "gpa", "0x8000", "0x2000 user read")
        w = walk("0x1000", "--user", rc=EXIT_FAULTED)
        field(w, "reason", "user_supervisor", "0x1000 user read")
        w = walk("0x3000", rc=EXIT_FAULTED)
        field(w, "reason", "not_present", "0x3000")
        field(w, "fault_level", 3, "0x3000")
        field(w, "gpa", None, "0x3000")
        w = walk("0x4000", rc=EXIT_OK)
        field(w, "gpa", "0x8000000009000", "0x4000 (bit 51 is an address bit at MAXPHYADDR 52)")
        w = walk("0x4000", "--maxphyaddr", "46", rc=EXIT_FAULTED)
        field(w, "reason", "reserved", "0x4000 maxphyaddr 46")
        field(w, "reserved_bit", 51, "0x4000 maxphyaddr 46")
        w = walk("0x234567", "--user", rc=EXIT_OK)
        field(w, "gpa", "0x234567", "2M page")
        field(w, "page_size", 2 << 20, "2M page")
        w = walk("0x234567", "--user", "--access", "x", rc=EXIT_FAULTED)
        field(w, "reason", "nx", "2M page fetch")
        w = walk("0x234567", "--user", "--access", "x", "--efer", "0x500", rc=EXIT_FAULTED)
        field(w, "reason", "reserved", "XD with EFER.NXE=0")
        w = walk("0x40001234", rc=EXIT_OK)
        field(w, "gpa", "0x40001234", "1G page")
        field(w, "page_size", 1 << 30, "1G page")
        w = walk("0xffffffffc0001008", rc=EXIT_OK)
        field(w, "gpa", "0x7008", "high half")
        w = walk("0xffffffffc0400000", rc=EXIT_FAULTED)
        field(w, "reason", "not_present", "high half PDE")
        field(w, "fault_level", 2, "high half PDE")
        w = walk("0x800000000000", rc=EXIT_FAULTED)
        field(w, "reason", "noncanonical", "non-canonical")
        w = walk("0x1234", "--cr3", "0x4000", rc=EXIT_FAULTED)  # PD as PML4: PML4[0] -> 0x5000 ...
        expect(w is not None and len(w["levels"]) >= 1, "--cr3 override walk")
        if w:
            field(w["levels"][0], "entry_gpa", "0x4000", "--cr3 0x4000 first entry")
        w = walk("0x1234", "--cr3", "0x20000", rc=EXIT_FAULTED)  # outside RAM
        field(w, "reason", "read_failed", "CR3 outside RAM")

        # maps: exact ranges of the synthetic tables
        code, out, err = run(a.hvctl, "--json", "maps", "--core", core)
        expect(code == EXIT_OK, "maps exit %d: %s" % (code, err))
        if code == EXIT_OK:
            m = json.loads(out)
            hvschema.check(val, "maps-result.json", m, "maps")
            got = [(r["va"], r["gpa"], r["size"], r["page_size"], r["rights"]["str"]) for r in m["ranges"]]
            want = [
                ("0x1000", "0x7000", "0x1000", 4096, "srwx"),
                ("0x2000", "0x8000", "0x1000", 4096, "ur-x"),
                ("0x4000", "0x8000000009000", "0x1000", 4096, "srwx"),
                ("0x5000", "0xa000", "0x1000", 4096, "srwx"),
                ("0x200000", "0x200000", "0x200000", 2 << 20, "ur--"),
                ("0x40000000", "0x40000000", "0x40000000", 1 << 30, "srwx"),
                ("0xffffffffc0001000", "0x7000", "0x1000", 4096, "srwx"),
                ("0xffffffffc0002000", "0x8000", "0x1000", 4096, "sr-x"),
                ("0xffffffffc0004000", "0x8000000009000", "0x1000", 4096, "srwx"),
                ("0xffffffffc0005000", "0xa000", "0x1000", 4096, "srwx"),
            ]
            expect(got == want, "maps ranges:\n  got  %s\n  want %s" % (got, want))
            expect(m["stats"]["truncated"] is False, "maps truncated")

        # human output: table, failing level marked, aligned maps columns
        code, out, _ = run(a.hvctl, "--color=never", "walk", "--core", core, "0x3000")
        expect(code == EXIT_FAULTED and "<==" in out and "PTE not present" in out,
               "human walk of a hole:\n" + out)
        code, out, _ = run(a.hvctl, "--color=always", "walk", "--core", core, "0x3000")
        expect("\033[1;31m" in out, "--color=always gives no colour")
        code, out, _ = run(a.hvctl, "walk", "--core", core, "0x1234")
        expect(code == EXIT_OK and "<==" not in out and "=> GPA 0x7234" in out
               and "\033[" not in out, "human walk (not a tty: no colour):\n" + out)
        code, out, _ = run(a.hvctl, "maps", "--core", core)
        lines = [l for l in out.splitlines() if len(l) > 16 and l[16] == "-"]
        expect(code == EXIT_OK and len(lines) == 10 and len({len(l) for l in lines}) == 1,
               "maps columns not aligned:\n" + out)

        # exit codes
        for args, want in [
            ((), EXIT_USAGE),
            (("walk",), EXIT_USAGE),
            (("walk", "--core", core), EXIT_USAGE),
            (("walk", "--core", core, "zzz"), EXIT_USAGE),
            (("walk", "--core", core, "--access", "q", "0x1000"), EXIT_USAGE),
            (("frobnicate",), EXIT_USAGE),
            (("walk", "--core", os.path.join(tmp, "missing"), "0x1000"), EXIT_NOT_FOUND),
            (("walk", "--core", core, "--vcpu", "3", "0x1000"), EXIT_NOT_FOUND),
            (("maps", "--core", a.mkcore), EXIT_BAD_INPUT),  # an ELF, not a core
            (("--help",), EXIT_OK),
            (("walk", "--help"), EXIT_OK),
            (("maps", "--help"), EXIT_OK),
        ]:
            code, out, err = run(a.hvctl, *args)
            expect(code == want, "hvctl %s: exit %d, want %d (%s)" % (" ".join(args), code, want, err.strip()))
        code, out, _ = run(a.hvctl, "--help")
        for token in ("walk", "maps", "Exit status", "not found", "faulted", "--json"):
            expect(token in out, "--help lacks %r" % token)

        with open(core, "rb") as f:
            data = f.read()
        trunc = os.path.join(tmp, "trunc.core")
        with open(trunc, "wb") as f:
            f.write(data[: len(data) // 2])
        code, _, err = run(a.hvctl, "walk", "--core", trunc, "0x1000")
        expect(code == EXIT_BAD_INPUT and "truncated" in err, "truncated core: exit %d %s" % (code, err))

    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print("hvctl_core: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
