"""corediff.py -- compare hvctl walk/maps --core on a guest dump with what the
QEMU that made the dump says (HMP `info mem` and `gva2gpa`).

Shared by the differential tests, whatever drives QEMU: qemu_diff_test.py
(QMP on a QEMU it starts) and virsh_diff_test.py (a libvirt domain, through
`virsh qemu-monitor-command --hmp`). The caller takes the dump with the guest
stopped, hands over the HMP texts it read from that same stopped guest, and a
function that answers `gva2gpa` for a list of addresses at once (one virsh
round trip costs tens of milliseconds; a batch costs one).

The checks:
  * `hvctl maps --core` coalesced the way `info mem` coalesces (VA
    contiguity, same user/writable) equals `info mem` line for line;
  * for every range of `info mem` (every page of small ranges, first/last/
    spread pages of large ones, capped) and for sampled unmapped addresses,
    `hvctl walk --core` agrees with QEMU's `gva2gpa`;
  * every --json output validates against schemas/."""
import json
import re
import subprocess
import time

import hvschema

PAGE = 4096
INFO_MEM_RE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16}) ([0-9a-f]{16}) ([u-])r([w-])$")


def canon(va):
    return va & ((1 << 64) - 1)


def coalesce_like_info_mem(ranges):
    """QEMU's info mem merges by VA contiguity and equal (user, writable)."""
    out = []
    for r in ranges:
        va, end = int(r["va"], 16), int(r["va"], 16) + int(r["size"], 16)
        prot = (r["rights"]["user"], r["rights"]["writable"])
        if out and out[-1][1] == va and out[-1][2] == prot:
            out[-1][1] = end
        else:
            out.append([va, end, prot])
    return [(a, b & ((1 << 64) - 1), p) for a, b, p in out]


def sample_pages(start, end, per_range, budget):
    n = (end - start) // PAGE
    if n <= per_range:
        idx = range(n)
    else:
        k = per_range // 3
        idx = sorted(set(list(range(k)) + list(range(n - k, n)) +
                         [i * n // k for i in range(k)]))
    return [start + i * PAGE for i in idx][:max(budget, 1)]


def parse_info_mem(text, failures):
    """[(start, end, (user, writable))]; unparsed lines go to failures."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        m = INFO_MEM_RE.match(line)
        if not m:
            failures.append("unparsed info mem line %r" % line)
            continue
        out.append((int(m[1], 16), int(m[2], 16), (m[4] == "u", m[5] == "w")))
    if not out:
        failures.append("info mem is empty:\n" + text)
    return out


def parse_gva2gpa(va, reply):
    """GPA, or None for QEMU's "Unmapped"; anything else is an error."""
    r = reply.strip()
    if r.startswith("gpa: "):
        return int(r[5:], 16)
    if "Unmapped" in r:
        return None
    raise RuntimeError("gva2gpa 0x%x: %r" % (va, r))


def wait_for_line(path, regex, timeout, alive):
    """Poll the console log at path until regex matches a line. Returns the
    text and whether it matched; stops early once alive() is false."""
    ready = re.compile(regex, re.M)
    deadline = time.monotonic() + timeout
    text = ""
    while True:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            pass
        if ready.search(text):
            return text, True
        if time.monotonic() >= deadline or not alive():
            return text, False
        time.sleep(0.2)


def compare(hvctl_path, validators, core, info_mem, regs, gva2gpa_many,
            max_pages=1500, per_range=48):
    """Run the checks; return (failures, summary line). gva2gpa_many takes a
    list of addresses and returns {va: gpa or None}."""
    failures = []
    qranges = parse_info_mem(info_mem, failures)

    def hvctl(*args):
        p = subprocess.run([hvctl_path, "--json"] + list(args), capture_output=True,
                           text=True, timeout=60)
        if p.returncode not in (0, 1):
            raise RuntimeError("hvctl %s: exit %d: %s" % (args, p.returncode, p.stderr))
        return json.loads(p.stdout)

    # maps vs info mem
    m = hvctl("maps", "--core", core)
    hvschema.check(validators, "maps-result.json", m, "maps")
    if m["stats"]["truncated"]:
        failures.append("hvctl maps truncated its enumeration")
    ours = coalesce_like_info_mem(m["ranges"])
    theirs = [(s, e & ((1 << 64) - 1), p) for s, e, p in qranges]
    if ours != theirs:
        fmt = lambda rs: "\n".join("  %016x-%016x %s" % (s, e, p) for s, e, p in rs[:40])
        failures.append("maps != info mem\n hvctl:\n%s\n info mem:\n%s" % (fmt(ours), fmt(theirs)))

    # The addresses: mapped pages (an offset inside each; past the cap still
    # one page per range), then the start, middle and last page of each gap
    # (capped).
    mapped = []
    for s, e, _ in qranges:
        for va in sample_pages(s, e, per_range, max_pages - len(mapped)):
            mapped.append(canon(va + 0x5a8))
    gaps, prev = [], 0
    for s, e, _ in qranges:
        if s > prev:
            gaps.append((prev, s))
        prev = e if e else 1 << 64
    if prev < 1 << 64:
        gaps.append((prev, 1 << 64))
    holes, noncanon = [], []
    for gs, ge in gaps[:200]:
        for va in sorted({gs, (gs + ge) // 2 & ~(PAGE - 1), ge - PAGE}):
            if 1 << 47 <= va < (1 << 64) - (1 << 47) and "LA57" not in regs:
                noncanon.append(va)
            else:
                holes.append(va)
    want = gva2gpa_many(mapped + holes)

    for va in mapped:
        w = hvctl("walk", "--core", core, "0x%x" % va)
        hvschema.check(validators, "walk-result.json", w, "walk 0x%x" % va)
        got = int(w["gpa"], 16) if w["mapped"] else None
        if got != want[va]:
            failures.append("walk 0x%x: hvctl %s (%s), gva2gpa %s"
                            % (va, hex(got) if got is not None else "unmapped", w["why"],
                               hex(want[va]) if want[va] is not None else "unmapped"))
    for va in noncanon:
        w = hvctl("walk", "--core", core, "0x%x" % va)
        if w["reason"] != "noncanonical":
            failures.append("walk 0x%x: %s, want noncanonical" % (va, w["reason"]))
    for va in holes:
        w = hvctl("walk", "--core", core, "0x%x" % va)
        hvschema.check(validators, "walk-result.json", w, "walk 0x%x" % va)
        if want[va] is not None or w["mapped"]:
            failures.append("hole 0x%x: hvctl mapped=%s, gva2gpa %s" % (va, w["mapped"], want[va]))
    if not mapped:
        failures.append("no mapped page checked")
    summary = ("checked %d info mem ranges, %d mapped pages, %d unmapped addresses"
               % (len(qranges), len(mapped), len(holes) + len(noncanon)))
    return failures, summary
