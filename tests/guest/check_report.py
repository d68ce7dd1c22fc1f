#!/usr/bin/env python3
"""check_report.py -- parse the bundled guest's console report (hv/guest/REPORT.md) and check it is complete and self-consistent.

  check_report.py --log FILE [--elf ELF] [--mode selftest|workload] [--status N] [--crash KIND]
      check a captured console (from hv or QEMU)
  check_report.py --qemu QEMU --elf ELF [--append STR] [--mem MIB] [--timeout S] [...]
      boot the ELF under QEMU (TCG, PVH) and check the console and the exit status
  check_report.py --hv HV --elf ELF [--append STR] [--vcpus N] [--mem MIB] [...]
      boot the ELF under `hv run` and check the console and hv's exit status (= the guest's)
  check_report.py --mutations FILE
      check that the checker rejects broken variants of a good report (it must be able to fail)
"""
import argparse
import os
import re
import subprocess
import tempfile
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest_elf  # noqa: E402

KERNEL_VMA = 0xffffffff80000000
DIRECT_MAP = 0xffff888000000000
USER_TOP = 0x0000800000000000
PAGE = {"4k": 0x1000, "2m": 0x200000, "1g": 0x40000000}
LEVEL_SPAN = {1: 0x1000, 2: 0x200000, 3: 0x40000000, 4: 0x8000000000}
LEVEL_ENTRY = {1: "pte", 2: "pde", 3: "pdpte", 4: "pml4e"}
NUMERIC = {"va", "end", "pa", "base", "addr", "cr2", "rip", "err", "vec", "cpu", "idx", "level", "pages",
           "per_cpu", "status", "failed", "cpus", "w", "u", "nx", "type", "size", "iter", "arrived",
           "report", "enforced", "cpuid_cpus", "pdpe1gb", "max_cpus", "cr3", "kstack_top", "got", "want", "pt_pages", "pt_max",
           "rsp", "cs", "rflags", "value", "counter", "demand_faults", "demand_spurious", "int80_ud",
           "faults", "caused", "pte", "pde", "pdpte", "pml4e", "exact", "reps", "demand", "reserved", "mmio",
           "attempts", "observed", "maxphyaddr", "rsvd_va", "rsvd_level", "rsvd_bit", "rep", "old", "new",
           "wait_tsc"}
# `idt-swap`: the vectors whose gates move to the alternate stubs, in the order of their lines.
IDT_SWAP_VECS = {14: "pf", 13: "gp", 6: "ud"}
# The classes the guest always lists in its `faults` lines (REPORT.md); others appear only when they happened.
FAULT_CLASSES = ["guest.not_present", "guest.protection.write", "guest.protection.user", "guest.protection.nx",
                 "guest.reserved_bit", "guest.spurious", "stage2.mmio", "exception.ud", "exception.gp"]
NP_LEVELS = ["pte", "pde", "pdpte", "pml4e"]
SPURIOUS_PER_REP = 4
PER_CPU_TESTS = ["stack-guard", "demand", "demand-again", "chain-result", "chain-frames", "user-task",
                 "user-task-repeat", "mmio", "workload-step"]
GLOBAL_TESTS = ["map-walk", "map-access", "holes", "ro-write", "text-write", "nx-exec", "user-read-kernel",
                "user-write-text", "user-read-data"]


class Record(dict):
    def __init__(self, kind, fields, line):
        super().__init__(fields)
        self.kind = kind
        self.line = line


def parse(text):
    """Every line that starts with 'hvk ' (anything else is firmware/hv noise)."""
    records = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.startswith("hvk "):
            continue
        parts = line.split(" ")
        kind, fields = parts[1], {}
        if kind == "cmdline":
            fields["text"] = line.split(" text=", 1)[1] if " text=" in line else ""
        else:
            for tok in parts[2:]:
                if "=" not in tok:
                    raise ValueError("token without '=': %r in %r" % (tok, line))
                k, v = tok.split("=", 1)
                if k in NUMERIC:
                    v = int(v, 0)
                fields[k] = v
        records.append(Record(kind, fields, line))
    return records


def overlaps(a0, a1, b0, b1):
    return a0 < b1 and b0 < a1


class Checker:
    def __init__(self, records, mode=None, status=None, crash=None, elf=None):
        self.r = records
        self.mode, self.status, self.crash, self.elf = mode, status, crash, elf
        self.errors = []

    def err(self, msg):
        self.errors.append(msg)

    def of(self, _kind, **match):
        return [x for x in self.r if x.kind == _kind and all(x.get(k) == v for k, v in match.items())]

    def one(self, _kind, **match):
        xs = self.of(_kind, **match)
        if len(xs) != 1:
            self.err("expected exactly one '%s' line%s, found %d" % (_kind, (" with %s" % match) if match else "", len(xs)))
            return None
        return xs[0]

    def run(self):
        boot = self.one("boot")
        self.one("cmdline")
        if boot is not None:
            if boot.get("report") != 1:
                self.err("unknown report version %r" % boot.get("report"))
            if self.mode and boot.get("mode") != self.mode:
                self.err("mode is %r, expected %r" % (boot.get("mode"), self.mode))
        for f in self.of("fault"):
            if not self.crash:
                self.err("unexpected fault: " + f.line)
        for e in self.of("error"):
            self.err("guest error: " + e.line)
        self.check_memmap()
        self.check_maps()
        self.check_holes()
        self.check_demand()
        self.check_pages()
        self.check_chain()
        self.check_cpus()
        self.check_lab()
        self.check_fault_counts()
        self.check_idt_swap()
        if self.elf:
            self.check_elf()
        if self.mode == "selftest":
            self.check_selftest()
        if self.crash:
            self.check_crash()
        if self.status is not None:
            ex = self.one("exit")
            if ex is not None and ex["status"] != self.status:
                self.err("exit status %d, expected %d" % (ex["status"], self.status))
        return self.errors

    def ram(self):
        return [(m["base"], m["end"]) for m in self.of("memmap", type=1)]

    def in_ram(self, pa, end):
        return any(b <= pa and end <= e for b, e in self.ram())

    def check_memmap(self):
        mm = self.of("memmap")
        if not self.ram():
            self.err("no RAM (type 1) in the memory map")
        for m in mm:
            if m["base"] >= m["end"]:
                self.err("empty memmap range: " + m.line)

    def check_maps(self):
        maps = self.of("map")
        names = {m.get("name") for m in maps}
        for need in ["kernel.text", "kernel.rodata", "kernel.data", "kernel.bss", "direct", "mmio", "user.text",
                     "user.data", "kstack.0", "dfstack.0", "user.stack.0"]:
            if need not in names:
                self.err("no map named %s" % need)
        for m in maps:
            page = PAGE.get(m.get("page"))
            if page is None:
                self.err("bad page size: " + m.line)
                continue
            if not (m["va"] < m["end"]) or m["va"] % page or m["end"] % page or m["pa"] % page:
                self.err("map not aligned to its page size: " + m.line)
            if any(m.get(k) not in (0, 1) for k in ("w", "u", "nx")) or m.get("cache") not in ("wb", "uc"):
                self.err("bad rights fields: " + m.line)
            user = m["va"] < USER_TOP
            if user != (m["u"] == 1):
                self.err("U bit disagrees with the half of the address space: " + m.line)
            if not user and m["va"] < 0xffff800000000000:
                self.err("non-canonical map: " + m.line)
            name = m["name"]
            if name == "mmio":
                if m["pa"] != 0xd0000000 or m["cache"] != "uc" or m["w"] != 1:
                    self.err("mmio map is not the uncached test window at 0xd0000000: " + m.line)
                if self.in_ram(m["pa"], m["pa"] + 1):
                    self.err("mmio map points into RAM: " + m.line)
            elif not self.in_ram(m["pa"], m["pa"] + (m["end"] - m["va"])):
                self.err("map is not backed by RAM of the memory map: " + m.line)
            if name.startswith(("kernel.", "kstack.", "dfstack.")) and m["va"] - m["pa"] != KERNEL_VMA:
                self.err("kernel map is not at KERNEL_VMA + pa: " + m.line)
            if name == "direct" and (m["va"] - m["pa"] != DIRECT_MAP or m["page"] == "4k"):
                self.err("direct map is not DIRECT_MAP + pa with large pages: " + m.line)
            want = {"kernel.text": (0, 0), "kernel.rodata": (0, None), "kernel.data": (1, None),
                    "kernel.bss": (1, None), "user.text": (0, 0), "user.data": (1, None)}.get(name)
            if name.startswith(("kstack.", "dfstack.", "user.stack.")):
                want = (1, None)
            if want and (m["w"] != want[0] or (want[1] is not None and m["nx"] != want[1])):
                self.err("wrong rights for %s: %s" % (name, m.line))
            if name in ("kernel.text", "user.text") and m["page"] != "4k":
                self.err("text must be mapped with 4 KiB pages: " + m.line)
        s = sorted(maps, key=lambda m: m["va"])
        for a, b in zip(s, s[1:]):
            if a["end"] > b["va"]:
                self.err("maps overlap: %s / %s" % (a.line, b.line))
        nx = self.one("boot")
        if nx is not None and nx.get("nx") == 1:
            for name in ("kernel.rodata", "kernel.data", "kernel.bss", "user.data", "direct"):
                for m in self.of("map", name=name):
                    if m["nx"] != 1:
                        self.err("%s should be NX: %s" % (name, m.line))

    def check_holes(self):
        maps = self.of("map")
        holes = self.of("hole")
        levels = {h.get("level") for h in holes}
        for lvl in (1, 2, 3, 4):
            if lvl not in levels:
                self.err("no hole whose walk fails at level %d" % lvl)
        for h in holes:
            lvl = h.get("level")
            if lvl not in LEVEL_SPAN or h.get("entry") != LEVEL_ENTRY.get(lvl):
                self.err("bad hole level/entry: " + h.line)
                continue
            span = LEVEL_SPAN[lvl]
            if h["va"] % span or h["end"] % span or h["va"] >= h["end"]:
                self.err("hole not aligned to what one level-%d entry covers: %s" % (lvl, h.line))
            for m in maps:
                if overlaps(h["va"], h["end"], m["va"], m["end"]):
                    self.err("hole overlaps a map: %s / %s" % (h.line, m.line))
        for m in maps:
            n = m["name"]
            if n.startswith(("kstack.", "dfstack.", "user.stack.")):
                g = self.of("hole", name=n + ".guard")
                if len(g) != 1 or g[0]["end"] != m["va"] or g[0]["level"] != 1:
                    self.err("no 4 KiB guard hole right below %s" % n)

    def check_demand(self):
        d = self.one("demand")
        if d is None:
            return
        if d["end"] - d["va"] != d["pages"] * 0x1000 or d.get("level") != 1:
            self.err("demand region size/level inconsistent: " + d.line)
        for m in self.of("map"):
            if overlaps(d["va"], d["end"], m["va"], m["end"]):
                self.err("demand region overlaps a map: " + m.line)
        image = [(m["pa"], m["pa"] + m["end"] - m["va"]) for m in self.of("map")
                 if m["name"] not in ("direct", "mmio")]
        seen_va, seen_pa = set(), set()
        for x in self.of("demand-map"):
            if not (d["va"] <= x["va"] < d["end"]) or x["va"] % 0x1000 or x["pa"] % 0x1000:
                self.err("demand-map outside the demand region or unaligned: " + x.line)
            if x["va"] in seen_va or x["pa"] in seen_pa:
                self.err("page demand-mapped twice or frame reused: " + x.line)
            seen_va.add(x["va"])
            seen_pa.add(x["pa"])
            if not self.in_ram(x["pa"], x["pa"] + 0x1000) or x["pa"] < 0x100000:
                self.err("demand frame not in free RAM: " + x.line)
            if any(overlaps(x["pa"], x["pa"] + 0x1000, a, b) for a, b in image):
                self.err("demand frame overlaps the loaded image: " + x.line)

    def containing(self, va):
        return [m for m in self.of("map") if m["va"] <= va < m["end"]]

    def check_pages(self):
        ro = self.one("page", kind="ro")
        nx = self.one("page", kind="nx")
        if ro is not None:
            c = self.containing(ro["va"])
            if len(c) != 1 or c[0]["w"] != 0:
                self.err("read-only page is not in a read-only map: " + ro.line)
        if nx is not None:
            c = self.containing(nx["va"])
            if len(c) != 1 or (nx.get("enforced") == 1 and c[0]["nx"] != 1):
                self.err("no-execute page is not in an NX map: " + nx.line)
        var = self.one("var", name="hvk_workload_counter")
        if var is not None:
            c = self.containing(var["va"])
            if len(c) != 1 or c[0]["name"] not in ("kernel.data", "kernel.bss") or var["va"] % 8:
                self.err("counter variable not in kernel data/bss: " + var.line)

    def check_chain(self):
        chain = sorted(self.of("chain"), key=lambda c: c["idx"])
        names = [c.get("name") for c in chain]
        if names != guest_elf.CHAIN or [c["idx"] for c in chain] != list(range(len(guest_elf.CHAIN))):
            self.err("chain markers %r, expected %r outermost first" % (names, guest_elf.CHAIN))
        text = self.of("map", name="kernel.text")
        for c in chain:
            if not text or not (text[0]["va"] <= c["addr"] < text[0]["end"]):
                self.err("chain function outside kernel.text: " + c.line)
        if len({c["addr"] for c in chain}) != len(chain):
            self.err("chain functions share an address")

    def check_cpus(self):
        online = self.of("online")
        cpus = [o["cpu"] for o in online]
        if 0 not in cpus:
            self.err("vCPU 0 never came online")
        if len(set(cpus)) != len(cpus):
            self.err("a vCPU came online twice")
        if len({o["cr3"] for o in online}) > 1:
            self.err("vCPUs run on different CR3s")
        ready = self.one("ready")
        if ready is not None:
            if ready["cpus"] != len(online):
                self.err("ready says cpus=%d but %d online lines" % (ready["cpus"], len(online)))
            later = self.r[self.r.index(ready):]
            for kind in ("map", "hole", "demand", "chain", "page", "var", "online"):
                if any(x.kind == kind for x in later):
                    self.err("'%s' line after 'ready': the report must be complete at 'ready'" % kind)
        for kind in ("kstack", "dfstack", "user.stack"):
            for c in cpus:
                if not self.of("map", name="%s.%d" % (kind, c)):
                    self.err("online vCPU %d has no %s map" % (c, kind))

    def check_lab(self):
        lab = self.one("lab")
        if lab is None:
            return
        if lab["end"] - lab["va"] != lab["pages"] * 0x1000 or lab["va"] % 0x200000 or lab.get("level") != 1:
            self.err("lab size/alignment/level inconsistent: " + lab.line)
        others = [(x["va"], x["end"], x.line) for x in self.of("map") + self.of("hole") + self.of("demand")]
        for a, b, line in others:
            if overlaps(lab["va"], lab["end"], a, b) or (a <= lab["rsvd_va"] < b):
                self.err("lab overlaps: %s / %s" % (lab.line, line))
        if lab["maxphyaddr"] < 52:
            ok = lab["rsvd_level"] == 1 and lab["rsvd_bit"] == 51 and lab["va"] <= lab["rsvd_va"] < lab["end"]
        else:
            ok = lab["rsvd_level"] == 2 and lab["rsvd_bit"] == 13 and not (lab["va"] <= lab["rsvd_va"] < lab["end"])
        if not ok or not (0 < lab["maxphyaddr"] <= 52):
            self.err("reserved-bit probe does not fit MAXPHYADDR: " + lab.line)

    def check_fault_counts(self):
        """The per-class counts printed at exit: complete, summed right, consistent with the other lines.
        In mode faults they are checked exactly against what the battery and the workload steps did."""
        if not self.of("exit"):
            return
        counts = fault_counts(self.r)
        cpus = sorted(o["cpu"] for o in self.of("online"))
        crashed = bool(self.of("fault"))
        for f in self.of("faults"):
            if f["cpu"] not in cpus:
                self.err("faults line for a vCPU that never came online: " + f.line)
        seen = {}
        for f in self.of("faults") + self.of("faults-total"):
            key = (f.kind, f.get("cpu"), f.get("class"))
            if key in seen:
                self.err("class listed twice: " + f.line)
            seen[key] = f
            # After a fatal fault the other vCPUs may still count while the lines are printed.
            if not crashed and f["class"] == "guest.not_present" and sum(f.get(k, -1) for k in NP_LEVELS) != f["caused"]:
                self.err("not_present levels do not add up: " + f.line)
            if f.kind == "faults-total" and f.get("exact") != (0 if crashed else 1):
                self.err("faults-total exact=%r after %s exit: %s" % (f.get("exact"), "a fatal" if crashed else "a clean", f.line))
        for c in cpus:
            for cls in FAULT_CLASSES:
                if ("faults", c, cls) not in seen:
                    self.err("no faults line for class %s on vCPU %d" % (cls, c))
        classes = set(counts["total"]) | {k for c in cpus for k in counts["cpu"].get(c, {})}
        for cls in sorted(classes) if not crashed else []:
            want = sum(counts["cpu"].get(c, {}).get(cls, 0) for c in cpus)
            if counts["total"].get(cls) != want:
                self.err("faults-total for %s is %r, the vCPUs add up to %d" % (cls, counts["total"].get(cls), want))
            for lvl in NP_LEVELS if cls == "guest.not_present" else []:
                got = seen.get(("faults-total", None, cls), {}).get(lvl)
                if got != sum(seen[("faults", c, cls)].get(lvl, 0) for c in cpus if ("faults", c, cls) in seen):
                    self.err("faults-total not_present %s does not add up" % lvl)
        tot = counts["total"]
        st = self.of("stats")
        spur = self.of("faults-spurious")
        observed = spur[0]["observed"] if spur else 0
        if st and not crashed:
            st = st[0]
            if tot.get("guest.not_present", 0) < st["demand_faults"]:
                self.err("fewer not_present faults than demand-mapped pages: %r" % tot)
            if tot.get("exception.ud", 0) < st["int80_ud"]:
                self.err("fewer #UD than int $0x80 calls that arrived as #UD: %r" % tot)
            # Spurious faults come only from demand races and the battery's attempts.
            if tot.get("guest.spurious", 0) != observed + st["demand_spurious"]:
                self.err("guest.spurious total %r != observed %d + demand_spurious %d" % (
                    tot.get("guest.spurious"), observed, st["demand_spurious"]))
        boot = self.one("boot")
        reps = boot.get("faults", 0) if boot is not None else 0
        if reps:
            self.check_battery(counts, cpus, reps, crashed, self.of("stats"))

    def check_idt_swap(self):
        """`idt-swap` lines: one per swapped vector, before the second half of the battery, old != new
        (with the ELF: the stub of that vector in hvk_isr_table and in hvk_isr_table_alt); none without the option."""
        lines = self.of("idt-swap")
        cmd = self.of("cmdline")
        boot = self.of("boot")
        wanted = bool(cmd) and "idt-swap" in cmd[0].get("text", "").split()
        reps = boot[0].get("faults", 0) if boot else 0
        if not (wanted and reps):
            for x in lines:
                self.err("idt-swap line without `idt-swap` and `faults`: " + x.line)
            return
        if self.of("fault") and not lines:
            return
        if sorted(x.get("vec") for x in lines) != sorted(IDT_SWAP_VECS):
            self.err("idt-swap lines for vectors %r, expected one each for %r" % (
                [x.get("vec") for x in lines], sorted(IDT_SWAP_VECS)))
        elf = guest_elf.Elf(self.elf) if self.elf else None
        for x in lines:
            if IDT_SWAP_VECS.get(x.get("vec")) != x.get("name") or x.get("rep") != reps // 2:
                self.err("idt-swap: wrong name or not before repetition %d of %d: %s" % (reps // 2, reps, x.line))
            if x.get("old") == x.get("new") or x.get("wait_tsc", 0) <= 0:
                self.err("idt-swap: the handler did not move, or no wait: " + x.line)
            if elf and x.get("vec") in IDT_SWAP_VECS:
                for key, sym in (("old", "hvk_isr_table"), ("new", "hvk_isr_table_alt")):
                    want = elf.symbols.get(sym, 0) + 16 * x["vec"]
                    if x.get(key) != want:
                        self.err("idt-swap: %s=0x%x, the ELF's %s stub of vector %d is 0x%x" % (
                            key, x.get(key), sym, x["vec"], want))
        done = [i for i, x in enumerate(self.r) if x.kind == "faults-done"]
        if lines and done and self.r.index(lines[-1]) > min(done):
            self.err("idt-swap line after a faults-done line: the swap must come before the second half")

    def check_battery(self, counts, cpus, reps, crashed, stats):
        done = {d["cpu"]: d for d in self.of("faults-done")}
        spur = self.of("faults-spurious")
        for c in cpus:
            d = done.get(c)
            if d is None:
                if not crashed:
                    self.err("no faults-done line for vCPU %d" % c)
                continue
            if d["reps"] != reps or d.get("result") != "pass" or d["failed"] != 0:
                self.err("faults battery did not pass: " + d.line)
        if len(spur) != 1:
            if not crashed:
                self.err("expected one faults-spurious line, found %d" % len(spur))
            return
        sp = spur[0]
        pair = 1 in cpus
        if sp["attempts"] != (SPURIOUS_PER_REP * reps if pair else 0) or sp.get("helper") != ("1" if pair else "none"):
            self.err("spurious attempts do not match the vCPUs and repetitions: " + sp.line)
        if sp["observed"] > sp["attempts"]:
            self.err("more spurious faults observed than attempted: " + sp.line)
        if crashed:
            return
        # What one repetition causes on each vCPU, from the faults-done line's own description.
        for c in cpus:
            d = done.get(c)
            if d is None:
                continue
            per_rep = {"guest.not_present": d["demand"], "guest.protection.write": 1, "guest.protection.user": 1,
                       "guest.protection.nx": d["nx"], "guest.reserved_bit": d["reserved"],
                       "stage2.mmio": d["mmio"], "exception.gp": 1, "exception.ud": 1}
            got = counts["cpu"].get(c, {})
            for cls, n in per_rep.items():
                if got.get(cls, 0) < n * reps:
                    self.err("vCPU %d: %s caused=%d, the battery alone causes %d" % (c, cls, got.get(cls, 0), n * reps))
            if self.mode != "faults":
                continue
            # Mode faults: the battery, then `iter` workload steps, nothing else.
            it = [x["iter"] for x in self.of("done", cpu=c)]
            iters = it[0] if len(it) == 1 else None
            if iters is None:
                self.err("mode faults: no single done line for vCPU %d" % c)
                continue
            want = {cls: n * reps for cls, n in per_rep.items()}
            want["guest.not_present"] += len(self.of("demand-map", cpu=c))
            want["stage2.mmio"] += 4 * iters
            want["guest.spurious"] = sp["observed"] if c == 0 else 0
            for cls in set(want) | set(got):
                if cls == "exception.ud":
                    continue    # plus this vCPU's int $0x80 #UDs: only their total is reported (below)
                if got.get(cls, 0) != want.get(cls, 0):
                    self.err("mode faults: vCPU %d %s caused=%d, expected exactly %d" % (c, cls, got.get(cls, 0), want.get(cls, 0)))
        if self.mode == "faults" and stats:
            ud = counts["total"].get("exception.ud", 0)
            if ud != reps * len(cpus) + stats[0]["int80_ud"]:
                self.err("mode faults: exception.ud total %d != %d battery ud2s + int80_ud %d" % (
                    ud, reps * len(cpus), stats[0]["int80_ud"]))

    def check_elf(self):
        elf = guest_elf.Elf(self.elf)
        for c in self.of("chain"):
            if elf.symbols.get(c["name"]) != c["addr"]:
                self.err("chain %s at 0x%x but the ELF says %s" % (c["name"], c["addr"], hex(elf.symbols.get(c["name"], 0))))
        for x in self.of("var") + self.of("page"):
            if elf.symbols.get(x["name"]) != x["va"]:
                self.err("%s at 0x%x but the ELF says %s" % (x["name"], x["va"], hex(elf.symbols.get(x["name"], 0))))
        for m in self.of("map"):
            if not m["name"].startswith(("kernel.", "user.text")):
                continue
            for va in (m["va"], m["end"] - 1):
                pa = elf.va_to_pa(va)
                if pa is None or pa != m["pa"] + (va - m["va"]):
                    self.err("%s: VA 0x%x is PA %s in the ELF, the report says 0x%x" % (
                        m["name"], va, hex(pa) if pa is not None else "none", m["pa"] + (va - m["va"])))

    def check_selftest(self):
        tests = self.of("test")
        for t in tests:
            if t.get("result") != "pass":
                self.err("failed check: " + t.line)
        for name in GLOBAL_TESTS:
            if not self.of("test", name=name, cpu=0):
                self.err("global check %s missing" % name)
        for o in self.of("online"):
            for name in PER_CPU_TESTS:
                if not self.of("test", name=name, cpu=o["cpu"]):
                    self.err("check %s missing on vCPU %d" % (name, o["cpu"]))
        st = self.one("selftest")
        if st is not None and (st.get("result") != "pass" or st.get("failed") != 0):
            self.err("selftest did not pass: " + st.line)
        if st is not None and st.get("cpus") != len(self.of("online")):
            self.err("selftest cpus=%r but %d online" % (st.get("cpus"), len(self.of("online"))))

    def check_crash(self):
        f = self.one("fault")
        if f is None:
            return
        want = {"pf": 14, "ud": 6, "gp": 13, "de": 0}.get(self.crash)
        if f["vec"] != want:
            self.err("crash=%s reported vector %d, expected %r" % (self.crash, f["vec"], want))
        if self.crash == "pf":
            h = self.of("hole", name="hole.pml4e")
            if not h or f["cr2"] != h[0]["va"] or f["err"] != 0:
                self.err("crash=pf: cr2/err do not name the hole.pml4e read: " + f.line)
        text = self.of("map", name="kernel.text")
        if text and not (text[0]["va"] <= f["rip"] < text[0]["end"]):
            self.err("fault RIP outside kernel.text: " + f.line)
        # The fatal fault itself is counted on its vCPU before the report.
        cls = {"pf": "guest.not_present", "ud": "exception.ud", "gp": "exception.gp", "de": "exception.de"}[self.crash]
        line = self.of("faults", cpu=f["cpu"], **{"class": cls})
        if self.of("exit") and (not line or line[0]["caused"] < 1 or (self.crash == "pf" and line[0].get("pml4e", 0) < 1)):
            self.err("crash=%s: the fatal fault is not counted as %s on vCPU %d" % (self.crash, cls, f["cpu"]))


def fault_counts(records):
    """{'cpu': {cpu: {class: caused}}, 'total': {class: caused}} from the `faults` / `faults-total` lines."""
    out = {"cpu": {}, "total": {}}
    for x in records:
        if x.kind == "faults":
            out["cpu"].setdefault(x.get("cpu"), {})[x.get("class")] = x.get("caused")
        elif x.kind == "faults-total":
            out["total"][x.get("class")] = x.get("caused")
    return out


def check_text(text, **kw):
    try:
        records = parse(text)
    except ValueError as e:
        return ["unparseable report: %s" % e]
    return Checker(records, **kw).run()


def mutations(text):
    """Broken variants of a good report; the checker must reject every one."""
    lines = text.splitlines()

    def drop(prefix):
        return "\n".join(x for x in lines if not x.startswith(prefix))

    def edit(prefix, old, new):
        done, out = False, []
        for x in lines:
            if not done and x.startswith(prefix) and old in x:
                x, done = x.replace(old, new, 1), True
            out.append(x)
        return "\n".join(out)

    def bump(prefix, key, delta, src=None):
        """Add delta to key= of the first line starting with prefix (of src, a text or a list of lines)."""
        src = lines if src is None else (src.splitlines() if isinstance(src, str) else src)
        done, out = False, []
        for x in src:
            m = re.search(r" %s=(\d+)" % re.escape(key), x)
            if not done and x.startswith(prefix) and m:
                x, done = x[:m.start(1)] + str(int(m.group(1)) + delta) + x[m.end(1):], True
            out.append(x)
        return "\n".join(out)

    text_map = next(x for x in lines if x.startswith("hvk map name=kernel.text "))
    va = re.search(r" va=(\S+)", text_map).group(1)
    cases = {
        "no ready": drop("hvk ready"),
        "no chain leaf": drop("hvk chain idx=4"),
        "text writable": edit("hvk map name=kernel.text ", " w=0", " w=1"),
        "rodata executable": edit("hvk map name=kernel.rodata ", " nx=1", " nx=0"),
        "hole inside text": "\n".join(lines + ["hvk hole name=bad va=%s end=0x%x level=1 entry=pte" % (va, int(va, 16) + 0x1000)]),
        "no level-4 hole": drop("hvk hole name=hole.pml4e"),
        "guard missing": drop("hvk hole name=kstack.0.guard"),
        "failed test": edit("hvk test name=demand ", "result=pass", "result=fail"),
        "fault line": "\n".join(lines + ["hvk fault cpu=0 vec=13 name=GP err=0x0 rip=0x0 cr2=0x0"]),
        "demand frame in image": edit("hvk demand-map ", " pa=", " pa=0x200000 old="),
        "misaligned map": edit("hvk map name=user.data ", " va=0x410000", " va=0x410800"),
        "mmio cached": edit("hvk map name=mmio ", "cache=uc", "cache=wb"),
        "no lab": drop("hvk lab "),
        "lab over demand": edit("hvk lab ", " va=0xffffc90000200000", " va=0xffffc90000000000"),
        "class line missing": drop("hvk faults cpu=0 class=stage2.mmio "),
        "total off by one": bump("hvk faults-total class=guest.protection.write ", "caused", 1),
        "cpu count off by one": bump("hvk faults cpu=0 class=exception.gp ", "caused", 1),
        "levels do not add up": bump("hvk faults cpu=0 class=guest.not_present ", "pte", 1),
        "unexplained spurious": bump("hvk faults-total class=guest.spurious ", "caused", 1),
        "inexact after clean exit": edit("hvk faults-total class=guest.reserved_bit ", "exact=1", "exact=0"),
        "fewer #UD than int80": edit("hvk stats ", " int80_ud=", " int80_ud=1000 was="),
    }
    if any(x.startswith("hvk faults-done ") for x in lines):
        cases.update({
            "battery failed": edit("hvk faults-done cpu=0 ", "result=pass", "result=fail"),
            "battery missing": drop("hvk faults-done cpu=0 "),
            "fewer reps": edit("hvk faults-done cpu=0 ", " reps=", " reps=1 was="),
            "no spurious line": drop("hvk faults-spurious "),
            "spurious attempts": bump("hvk faults-spurious ", "attempts", 1),
            "observed > attempts": edit("hvk faults-spurious ", " observed=", " observed=1000 was="),
            # Consistent sums, but one class more than the battery and workload caused.
            "extra nx fault": bump("hvk faults-total class=guest.protection.nx ", "caused", 1,
                                   bump("hvk faults cpu=0 class=guest.protection.nx ", "caused", 1)),
            "extra exception": "\n".join(
                lines + ["hvk faults cpu=0 class=exception.de caused=1",
                         "hvk faults-total class=exception.de caused=1 exact=1"]),
        })
    if any(x.startswith("hvk idt-swap ") for x in lines):
        cases.update({
            "idt-swap line missing": drop("hvk idt-swap vec=13 "),
            "idt-swap did not move": "\n".join(
                re.sub(r" new=\S+", " new=" + re.search(r" old=(\S+)", x).group(1), x)
                if x.startswith("hvk idt-swap vec=14 ") else x for x in lines),
            "idt-swap in the first rep": edit("hvk idt-swap vec=6 ", " rep=", " rep=0 was="),
            "idt-swap without option": edit("hvk cmdline ", "idt-swap", "idt-swop"),
        })
    return cases


def run_qemu(args):
    cmd = [args.qemu, "-accel", "tcg", "-kernel", args.elf, "-append", args.append, "-nographic", "-no-reboot",
           "-device", "isa-debug-exit,iobase=0x501,iosize=4", "-m", str(args.mem)] + (args.qemu_arg or [])
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=args.timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return None, out
    return p.returncode, p.stdout.decode("utf-8", "replace")


def run_hv(args):
    # The console goes to its own file: hv's log lines (stderr) must never
    # land in the middle of a report line.
    with tempfile.TemporaryDirectory() as tmp:
        console = os.path.join(tmp, "console")
        cmd = [args.hv, "run", "--kernel", args.elf, "--cmdline", args.append, "--vcpus", str(args.vcpus),
               "--mem", "%dM" % args.mem, "--console", console, "--no-hvd"]
        try:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               timeout=args.timeout)
            status = p.returncode
            sys.stderr.write(p.stderr.decode("utf-8", "replace"))
        except subprocess.TimeoutExpired:
            status = None
        with open(console, encoding="utf-8", errors="replace") as f:
            return status, f.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log")
    ap.add_argument("--qemu")
    ap.add_argument("--elf")
    ap.add_argument("--append", default="selftest")
    ap.add_argument("--mem", type=int, default=64)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--qemu-arg", action="append")
    ap.add_argument("--hv")
    ap.add_argument("--vcpus", type=int, default=2)
    ap.add_argument("--mode", choices=["selftest", "workload", "faults"])
    ap.add_argument("--status", type=int, help="expected guest exit status (exit line / exit port)")
    ap.add_argument("--crash", choices=["pf", "ud", "gp", "de"])
    ap.add_argument("--require", action="append", default=[], help="regex that some report line must match")
    ap.add_argument("--mutations")
    args = ap.parse_args()

    if args.mutations:
        text = open(args.mutations, encoding="utf-8", errors="replace").read()
        mode = re.search(r"^hvk boot .* mode=(\S+)", text, re.M).group(1)
        base = check_text(text, mode=mode, status=0)
        if base:
            print("FAIL: the unmutated report is rejected:\n  " + "\n  ".join(base))
            return 1
        bad = 0
        for name, mutated in mutations(text).items():
            if mutated.split() == text.split():
                print("%-24s n/a (nothing to mutate in this report)" % name)
                continue
            errs = check_text(mutated, mode=mode, status=0)
            print("%-24s %s" % (name, ("rejected: " + errs[0]) if errs else "NOT REJECTED"))
            bad += not errs
        return 1 if bad else 0

    if args.qemu:
        if not args.elf:
            ap.error("--qemu needs --elf")
        rc, text = run_qemu(args)
        errors = []
        if rc is None:
            errors.append("QEMU timed out after %ds" % args.timeout)
        elif args.status is not None and rc != (args.status << 1) | 1:
            errors.append("QEMU exit code %d, expected %d (guest status %d)" % (rc, (args.status << 1) | 1, args.status))
    elif args.hv:
        if not args.elf:
            ap.error("--hv needs --elf")
        rc, text = run_hv(args)
        errors = []
        if rc is None:
            errors.append("hv timed out after %ds" % args.timeout)
        elif args.status is not None and rc != args.status:
            errors.append("hv exit status %d, expected %d" % (rc, args.status))
        if args.vcpus and args.status == 0 and not re.search(r"^hvk ready cpus=%d " % args.vcpus, text, re.M):
            errors.append("not all %d vCPUs came online before 'ready'" % args.vcpus)
    elif args.log:
        text = open(args.log, encoding="utf-8", errors="replace").read()
        errors = []
    else:
        ap.error("give --log or --qemu")
    errors += check_text(text, mode=args.mode, status=args.status, crash=args.crash, elf=args.elf)
    for rx in args.require:
        if not any(re.search(rx, x) for x in text.splitlines()):
            errors.append("no line matches %r" % rx)
    if errors:
        print("console:\n" + text[-20000:])
        print("FAIL:\n  " + "\n  ".join(errors))
        return 1
    print("ok: %d report lines checked" % sum(1 for x in text.splitlines() if x.startswith("hvk ")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
