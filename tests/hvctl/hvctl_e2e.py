#!/usr/bin/env python3
"""hvctl_e2e.py -- hvctl end to end against a real hvd and a real hv running
the bundled guest on /dev/kvm, compared with the guest's self-report
(hv/guest/REPORT.md) and with what hvd itself returns.

  hvctl_e2e.py --hvd HVD --hv HV --hvctl HVCTL --elf GUEST_ELF --part walk|stack|show|errors [--schemas DIR]

walk:   every self-reported mapping (sampled pages) walks to its GPA and
        rights; every hole fails not-present at its level; maps covers them.
stack:  a vCPU paused inside hvk_chain_leaf shows the self-reported chain.
show:   list, regs and x agree with hvd and with the report.
errors: no hvd, unknown VM/vCPU, bad GVA, unmapped x -> documented exit codes.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hvkit_env import Env  # noqa: E402

EXIT_OK, EXIT_FAULTED, EXIT_USAGE, EXIT_CONNECT, EXIT_NOT_FOUND, EXIT_BAD_INPUT, EXIT_REMOTE = 0, 1, 2, 3, 4, 5, 6
PAGE = {"4k": 0x1000, "2m": 0x200000, "1g": 0x40000000}
LEVEL_ID = {1: "pte", 2: "pde", 3: "pdpte", 4: "pml4e"}
failures = []


def expect(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def validator(schemas, cmd):
    """A jsonschema validator for the return value of API command `cmd`
    (schemas/CMD.json#/$defs/return), or None when there is no such schema."""
    if not schemas or not os.path.exists(os.path.join(schemas, cmd + ".json")):
        return None
    import jsonschema
    store = {}
    for fn in os.listdir(schemas):
        if fn.endswith(".json"):
            with open(os.path.join(schemas, fn)) as f:
                sch = json.load(f)
            store[sch.get("$id", fn)] = sch
    with open(os.path.join(schemas, cmd + ".json")) as f:
        base = json.load(f)
    ref = {"$ref": base["$id"] + "#/$defs/return"}
    resolver = jsonschema.RefResolver(base_uri=base["$id"], referrer=base, store=store)
    return jsonschema.Draft202012Validator(ref, resolver=resolver)


def schema_check(schemas, cmd, value, what):
    v = validator(schemas, cmd)
    expect(v is not None or not schemas, "no schema for %s in %s" % (cmd, schemas))
    if v:
        errs = list(v.iter_errors(value))
        expect(not errs, "%s: hvctl --json output violates schemas/%s.json: %s" % (what, cmd, errs[:1]))


def samples(m):
    """Page-aligned addresses to check in a mapping: first, last, middle and a
    few between for large ranges (at most 6)."""
    page = PAGE[m["page"]]
    n = (m["end"] - m["va"]) // page
    idx = sorted({0, n - 1, n // 2, n // 3, (2 * n) // 3, n // 7})
    return [m["va"] + i * page + (0x123 if page > 0x1000 else 0x10) for i in idx if 0 <= i < n]


def part_walk(env, schemas):
    vwalk = validator(schemas, "walk")
    expect(vwalk is not None or not schemas, "no walk schema")
    nx_on = env.of("boot")[0].get("nx") == 1
    checked = 0
    for m in env.of("map"):
        for va in samples(m):
            args = ["walk", "%#x" % va] + (["--user"] if m["u"] else [])
            code, w, err = env.hvctl_json(*args)
            what = "walk %#x (%s)" % (va, m["name"])
            if not expect(code == EXIT_OK and w, "%s: exit %d %s" % (what, code, err.strip())):
                continue
            if vwalk:
                errs = list(vwalk.iter_errors(w))
                expect(not errs, "%s: reply violates schemas/walk.json: %s" % (what, errs[:1]))
            want_gpa = m["pa"] + (va - m["va"])
            expect(w["mapped"] and int(w["gpa"], 16) == want_gpa,
                   "%s: GPA %s, the guest says %#x" % (what, w.get("gpa"), want_gpa))
            expect(w["page_size"] == PAGE[m["page"]], "%s: page size %s, guest says %s" % (what, w["page_size"], m["page"]))
            r = w["rights"] or {}
            expect(r.get("writable") == bool(m["w"]), "%s: writable %s, guest w=%d" % (what, r.get("writable"), m["w"]))
            expect(r.get("user") == bool(m["u"]), "%s: user %s, guest u=%d" % (what, r.get("user"), m["u"]))
            if nx_on:
                expect(r.get("executable") == (not m["nx"]),
                       "%s: executable %s, guest nx=%d" % (what, r.get("executable"), m["nx"]))
            checked += 1
            # a write must fault exactly where the guest made the page read-only
            if not m["w"] and va == m["va"] + (0x123 if PAGE[m["page"]] > 0x1000 else 0x10):
                code, ww, err = env.hvctl_json("walk", "--access", "w", "%#x" % va, *(["--user"] if m["u"] else []))
                expect(code == EXIT_FAULTED and ww and ww["reason"] == "write_ro",
                       "%s: write walk gave exit %d reason %s" % (what, code, ww and ww.get("reason")))
    holes = env.of("hole")
    for h in holes:
        for va in (h["va"], h["end"] - 0x1000 + 0x8):
            code, w, err = env.hvctl_json("walk", "%#x" % va)
            what = "walk %#x (hole %s, level %d)" % (va, h["name"], h["level"])
            if not expect(code == EXIT_FAULTED and w, "%s: exit %d %s" % (what, code, err.strip())):
                continue
            if vwalk:
                errs = list(vwalk.iter_errors(w))
                expect(not errs, "%s: reply violates schemas/walk.json: %s" % (what, errs[:1]))
            fl = w.get("fault_level")
            lvl = w["levels"][fl]["level"] if isinstance(fl, int) and 0 <= fl < len(w["levels"]) else None
            expect(not w["mapped"] and w["reason"] == "not_present" and lvl == LEVEL_ID[h["level"]],
                   "%s: reason %s at %s, the guest says not present at %s" % (what, w["reason"], lvl, LEVEL_ID[h["level"]]))
            checked += 1
        # the human view marks that level and says why
        code, out, _ = env.hvctl("walk", "%#x" % h["va"])
        marked = [l for l in out.splitlines() if "<==" in l]
        expect(code == EXIT_FAULTED and len(marked) == 1 and marked[0].startswith(LEVEL_ID[h["level"]].upper())
               and "not present" in marked[0], "hvctl walk %#x (hole %s): the failing level is not marked:\n%s"
               % (h["va"], h["name"], out))
    expect(checked >= 100, "only %d walks checked" % checked)

    # maps: every self-reported mapping lies inside ranges with its rights
    code, mp, err = env.hvctl_json("maps")
    schema_check(schemas, "maps", mp, "maps")
    if expect(code == EXIT_OK and mp and mp.get("ranges"), "maps: exit %d %s" % (code, err)):
        rng = [(int(r["va"], 16), int(r["end"], 16) or 1 << 64, int(r["gpa"], 16), r["rights"]) for r in mp["ranges"]]
        for m in env.of("map"):
            va = m["va"]
            while va < m["end"]:
                hit = [r for r in rng if r[0] <= (va & ((1 << 64) - 1)) < r[1]]
                if not expect(hit, "maps: %#x (%s) is in no range" % (va, m["name"])):
                    break
                r = hit[0]
                expect(r[2] + (va - r[0]) == m["pa"] + (va - m["va"]) and r[3]["writable"] == bool(m["w"])
                       and r[3]["user"] == bool(m["u"]), "maps: range %#x.. disagrees with %s" % (r[0], m.line))
                va = min(r[1], m["end"])
        code, out, _ = env.hvctl("maps")
        lines = [l for l in out.splitlines() if re.match(r"^[0-9a-f]{16}-", l)]
        expect(code == EXIT_OK and len(lines) == len(mp["ranges"]) and len({len(l.rstrip()) for l in lines}) == 1,
               "maps text: %d lines for %d ranges, or unaligned" % (len(lines), len(mp["ranges"])))
    print("walk: %d walks checked against %d maps and %d holes" % (checked, len(env.of("map")), len(holes)))


def leaf_extent(elf_path, leaf):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "guest"))
    import guest_elf
    syms = guest_elf.Elf(elf_path).symbols
    above = [a for a in syms.values() if a > leaf]
    return leaf, min(above) if above else leaf + 0x100, syms


def part_stack(env, schemas, elf_path):
    chain = [c["name"] for c in sorted(env.of("chain"), key=lambda c: c["idx"])]
    leaf = env.of("chain", name="hvk_chain_leaf")[0]["addr"]
    lo, hi, syms = leaf_extent(elf_path, leaf)
    a = env.api()
    found = None
    tries = 0
    try:
        for tries in range(1, 301):
            a.ret("pause")
            vc = a.ret("query-vcpus")
            inside = [v["index"] for v in vc if lo <= int(v.get("rip", "0x0"), 16) < hi]
            if inside:
                found = inside[0]
                break
            a.ret("resume")
            time.sleep(0.01)
        if not expect(found is not None, "no vCPU was inside hvk_chain_leaf [%#x, %#x) in %d pauses" % (lo, hi, tries)):
            return
        code, st, err = env.hvctl_json("stack", "--vcpu", found)
        if expect(code == EXIT_OK and st, "stack --vcpu %d: exit %d %s" % (found, code, err.strip())):
            schema_check(schemas, "stack", st, "stack --vcpu %d" % found)
            names = [(f.get("symbol") or "?").split("+")[0] for f in st["frames"]]
            expect(names[:len(chain)] == chain[::-1],
                   "stack frames %r, the guest's chain innermost first is %r" % (names, chain[::-1]))
            for f in st["frames"]:   # symbol + offset is the pc, by the ELF's own table
                off = f.get("offset", 0)
                off = int(off, 16) if isinstance(off, str) else off
                expect("symbol" not in f or syms.get(f["symbol"], -1) + off == int(f["pc"], 16),
                       "frame %r: symbol+offset is not its pc per the ELF" % f)
            expect(int(st["frames"][0]["pc"], 16) == int(st["rip"], 16), "frame 0's pc is not RIP")
            # the VM stayed paused: a second look is the same stack
            code2, st2, _ = env.hvctl_json("stack", "--vcpu", found)
            expect(code2 == EXIT_OK and st2 == st, "a paused vCPU's stack changed between two looks")
        code, out, err = env.hvctl("stack", "--vcpu", found, "--raw", "32")
        rows = [l.split()[3] for l in out.splitlines() if re.match(r"^\s*\d+\s+0x[0-9a-f]{16}\s+0x", l)]
        expect(code == EXIT_OK and [r.split("+")[0] for r in rows[:len(chain)]] == chain[::-1],
               "hvctl stack text frames %r:\n%s%s" % (rows, out, err))
        # client-side symbols from a System.map written from the ELF's symbol table
        with tempfile.NamedTemporaryFile("w", suffix=".map", delete=False) as f:
            for name, addr in sorted(syms.items(), key=lambda kv: kv[1]):
                if addr >= 0xffffffff80000000:
                    f.write("%016x T %s\n" % (addr, name))
            smap = f.name
        code, out, err = env.hvctl("stack", "--vcpu", found, "--symbols", smap)
        os.unlink(smap)
        rows = [l.split()[3] for l in out.splitlines() if re.match(r"^\s*\d+\s+0x[0-9a-f]{16}\s+0x", l)]
        expect(code == EXIT_OK and [r.split("+")[0] for r in rows[:len(chain)]] == chain[::-1],
               "hvctl stack --symbols frames %r:\n%s%s" % (rows, out, err))
    finally:
        a.call("resume")
        a.close()
    print("stack: vCPU %d inside hvk_chain_leaf after %d pauses" % (found, tries))


def elf_bytes(elf_path, va, n):
    """n bytes of the loaded image at va, from the ELF file (None if not all in file data)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "guest"))
    import guest_elf
    e = guest_elf.Elf(elf_path)
    for p in e.loads():
        if p["vaddr"] <= va and va + n <= p["vaddr"] + p["filesz"]:
            off = p["offset"] + va - p["vaddr"]
            return e.data[off:off + n]
    return None


def part_show(env, schemas, elf_path):
    a = env.api()
    try:
        # list: hvctl --json list is query-vms; the text has the name and UUID aligned
        vms = a.ret("query-vms")
        code, lst, err = env.hvctl_json("list")
        # counters (events, lost) and the state move on their own; the rest is fixed
        stable = ("name", "uuid", "pid", "vcpus", "memory", "kernel")
        strip = lambda vs: [{k: x.get(k) for k in stable} for x in vs]
        expect(code == EXIT_OK and strip(lst or []) == strip(vms), "list --json %r != query-vms %r" % (lst, vms))
        schema_check(schemas, "query-vms", lst, "list")
        code, out, _ = env.hvctl("list")
        lines = out.splitlines()
        expect(code == EXIT_OK and len(lines) == 2 and lines[0].split()[0] == "NAME" and env.name in lines[1]
               and vms[0]["uuid"] in lines[1], "list text:\n" + out)
        expect(lines and lines[0].index("UUID") == lines[1].index(vms[0]["uuid"]), "list columns not aligned:\n" + out)
        code, out, _ = env.hvctl("list", "--names")
        expect(code == EXIT_OK and out == env.name + "\n", "list --names: %r" % out)

        # regs: CR3 is what the guest reported; a paused VM's regs equal hvd's own answer
        cr3 = env.of("online", cpu=0)[0]["cr3"]
        a.ret("pause")
        for vcpu in range(env.vcpus):
            direct = a.ret("regs", vcpu=vcpu)
            code, regs, err = env.hvctl_json("regs", "--vcpu", vcpu)
            expect(code == EXIT_OK and regs == direct, "regs --vcpu %d differs from hvd's: %r" % (vcpu, err))
            schema_check(schemas, "regs", regs, "regs --vcpu %d" % vcpu)
            expect(regs and int(regs["cr3"], 16) == cr3, "regs CR3 %s, the guest says %#x" % (regs and regs.get("cr3"), cr3))
            code, out, _ = env.hvctl("regs", "--vcpu", vcpu)
            m = re.search(r"CR3\s+([0-9a-f]{16})", out)
            expect(code == EXIT_OK and m and int(m.group(1), 16) == cr3, "regs text lacks CR3 %#x:\n%s" % (cr3, out))
            m = re.search(r"RIP\s+([0-9a-f]{16})", out)
            expect(m and int(m.group(1), 16) == int(direct["rip"], 16), "regs text RIP != hvd's")
        a.ret("resume")

        # x: the read-only page by GVA equals its frame by GPA and the ELF; the text parses back
        ro = env.of("page", kind="ro")[0]
        m = [x for x in env.of("map") if x["va"] <= ro["va"] < x["end"]][0]
        ro_pa = m["pa"] + ro["va"] - m["va"]
        code, xv, err = env.hvctl_json("x", "%#x" % ro["va"], 256)
        code2, xp, err2 = env.hvctl_json("x", "--phys", "%#x" % ro_pa, 256)
        schema_check(schemas, "read-memory", xv, "x")
        direct = a.ret("read-memory", address="%#x" % ro["va"], size=256)
        expect(code == EXIT_OK and code2 == EXIT_OK and xv and xp and xv["data"] == xp["data"] == direct["data"]
               and len(xv["data"]) == 512, "x of the read-only page: %s %s / %s %s" % (code, err, code2, err2))
        want = elf_bytes(elf_path, ro["va"], 256)
        expect(want is not None and xv and xv["data"] == want.hex(),
               "x of the read-only page differs from the ELF's bytes at %#x" % ro["va"])
        code, out, _ = env.hvctl("x", "%#x" % ro["va"], 256)
        hexed = "".join("".join(l[18:67].split()) for l in out.splitlines())
        expect(code == EXIT_OK and xv and hexed == xv["data"] and len(out.splitlines()) == 16,
               "x text does not match its JSON:\n" + out)
        expect(out.startswith("%016x  " % ro["va"]), "x text does not start at the address:\n" + out[:80])
        # a read over 64 KiB comes in pieces and matches hvd's own reads (VM
        # paused: the direct map covers memory the guest writes)
        big = [x for x in env.of("map") if x["name"] == "direct"][0]
        a.ret("pause")
        code, xb, err = env.hvctl_json("x", "%#x" % big["va"], 0x18000)
        d1 = a.ret("read-memory", address="%#x" % big["va"], size=0x10000, physical=False)
        a.ret("resume")
        expect(code == EXIT_OK and xb and xb["size"] == 0x18000 and len(xb["data"]) == 0x30000
               and xb["data"][:0x20000] == d1["data"], "x of 96 KiB: exit %d %s" % (code, err))
    finally:
        a.call("resume")
        a.close()
    print("show: list, regs, x agree with hvd and the report")


def part_errors(env, schemas):
    empty = tempfile.mkdtemp(prefix="hvctl-nohvd-")
    for args in (("walk", "0x1000"), ("list",), ("regs",), ("stack",), ("x", "0x1000"), ("maps",)):
        p = subprocess.run([env.hvctl_bin, "--rundir", empty] + list(args), capture_output=True, text=True, timeout=30)
        expect(p.returncode == EXIT_CONNECT and "hvd" in p.stderr,
               "no hvd: hvctl %s: exit %d %s" % (" ".join(args), p.returncode, p.stderr))
    os.rmdir(empty)
    hole = env.of("hole", name="hole.pml4e")[0]["va"]
    for args, want, says in [
        (("walk", "--vm", "nosuch", "0x400000"), EXIT_NOT_FOUND, env.name),
        (("regs", "--vm", "nosuch"), EXIT_NOT_FOUND, env.name),
        (("walk", "--vcpu", "9", "0x400000"), EXIT_NOT_FOUND, "vCPU"),
        (("walk", "zzz"), EXIT_USAGE, "zzz"),
        (("walk", "-- -1"), EXIT_USAGE, ""),
        (("walk",), EXIT_USAGE, "GVA"),
        (("walk", "--access", "q", "0x1000"), EXIT_USAGE, "access"),
        (("x", "0x1000", "0"), EXIT_USAGE, "LEN"),
        (("x", "0xffffffffffffffff", "16"), EXIT_USAGE, "wraps"),
        (("stack", "--max-frames", "0"), EXIT_USAGE, "max-frames"),
        (("frobnicate",), EXIT_USAGE, "unknown command"),
        (("x", "%#x" % hole, "16"), EXIT_FAULTED, ""),
        (("walk", "0x8000000000000000"), EXIT_FAULTED, ""),
        (("walk", "%#x" % hole), EXIT_FAULTED, "not present"),
    ]:
        code, out, err = env.hvctl(*args)
        expect(code == want and says in (err + out), "hvctl %s: exit %d (want %d), %r" % (" ".join(args), code, want, err))
    # two VMs: no --vm is ambiguous and the message lists both
    other = subprocess.Popen([env.hv_bin, "run", "--rundir", env.rundir, "--vcpus", "1", "--name", "second",
                              "--console", os.path.join(env.dir, "c2.log")], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            code, out, _ = env.hvctl("list", "--names")
            if "second" in out.split():
                break
            time.sleep(0.1)
        code, out, err = env.hvctl("regs")
        expect(code == EXIT_NOT_FOUND and "second" in err and env.name in err and "--vm" in err,
               "two VMs, no --vm: exit %d %r" % (code, err))
        code, out, err = env.hvctl("regs", "--vm", "second")
        expect(code == EXIT_OK and "CR3" in out, "regs --vm second: exit %d %r" % (code, err))
        # hv killed: the VM is listed as gone, asking it is "hvd or hv failed", and
        # the other VM is the default again
        other.kill()
        other.wait(10)
        deadline = time.time() + 10
        while time.time() < deadline:
            code, lst, _ = env.hvctl_json("list")
            if any(v["name"] == "second" and v["state"] == "gone" for v in lst or []):
                break
            time.sleep(0.1)
        code, out, _ = env.hvctl("list")
        expect(re.search(r"^second\s+gone\s", out, re.M), "list does not show the killed VM as gone:\n" + out)
        code, out, _ = env.hvctl("list", "--names")
        expect(out.split() == [env.name], "list --names after a VM died: %r" % out)
        code, out, err = env.hvctl("regs", "--vm", "second")
        expect(code == EXIT_REMOTE and "gone" in err, "regs of a dead VM: exit %d %r" % (code, err))
        code, out, err = env.hvctl("walk", "0x400000")
        expect(code == EXIT_OK, "the one live VM is the default again: exit %d %r" % (code, err))
    finally:
        other.terminate()
        other.wait(10)
    # hvd killed: connection error, not a crash
    env.hvd.kill()
    env.hvd.wait()
    code, out, err = env.hvctl("walk", "0x400000")
    expect(code == EXIT_CONNECT, "hvd killed: exit %d %r" % (code, err))
    print("errors: exit codes as documented")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hvd", required=True)
    ap.add_argument("--hv", required=True)
    ap.add_argument("--hvctl", required=True)
    ap.add_argument("--elf", required=True)
    ap.add_argument("--schemas")
    ap.add_argument("--part", required=True, choices=["walk", "stack", "show", "errors"])
    a = ap.parse_args()
    # the stack part slows the guest's user loop down so the leaf is often on a vCPU
    cmdline = "leaf-iters=30000 user-iters=20000" if a.part == "stack" else None
    env = Env(a.hvd, a.hv, a.hvctl, vcpus=2, cmdline=cmdline)
    try:
        env.start()
        if a.part == "walk":
            part_walk(env, a.schemas)
        elif a.part == "stack":
            part_stack(env, a.schemas, a.elf)
        elif a.part == "show":
            part_show(env, a.schemas, a.elf)
        else:
            part_errors(env, a.schemas)
    except Exception as e:   # a crash of the harness is a failure too
        failures.append("%s: %s" % (type(e).__name__, e))
    finally:
        logs = env.log("hvd.log"), env.log("hv.log")
        env.stop()
    if failures:
        for f in failures[:40]:
            print("FAIL:", f)
        print("(%d failures)\n--- hvd.log tail\n%s\n--- hv.log tail\n%s" % (len(failures), logs[0], logs[1]))
        return 1
    print("hvctl_e2e %s: all checks passed" % a.part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
