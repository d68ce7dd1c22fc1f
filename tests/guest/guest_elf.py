#!/usr/bin/env python3
"""guest_elf.py -- read the bundled guest's ELF (program headers, PVH note, symbols) and check its boot shape.

As a program: guest_elf.py ELF -> exit 0 when the image is bootable per
docs/guest-abi.md (PVH note, every PT_LOAD at p_paddr >= 1 MiB, high-half
kernel) and keeps the symbols stacks and gdb need; otherwise 1 with reasons.
"""
import struct
import sys

PT_LOAD, PT_NOTE = 1, 4
SHT_SYMTAB = 2
XEN_ELFNOTE_PHYS32_ENTRY = 18
KERNEL_VMA = 0xffffffff80000000
CHAIN = ["hvk_chain_1", "hvk_chain_2", "hvk_chain_3", "hvk_chain_4", "hvk_chain_leaf"]
REQUIRED_SYMBOLS = CHAIN + ["hvk_workload_counter", "hvk_ro_page", "hvk_nx_page", "hvk_pvh_entry",
                            "hvk_trap", "hvk_user_task"]


class Elf:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise ValueError("not a little-endian ELF64 file")
        (self.e_type, self.e_machine, _, self.e_entry, phoff, shoff, _, _, phentsize, phnum,
         shentsize, shnum, shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", d, 16)
        self.phdrs = []
        for i in range(phnum):
            t, flags, off, vaddr, paddr, filesz, memsz, align = struct.unpack_from("<IIQQQQQQ", d, phoff + i * phentsize)
            self.phdrs.append(dict(type=t, flags=flags, offset=off, vaddr=vaddr, paddr=paddr,
                                   filesz=filesz, memsz=memsz, align=align))
        self.sections = []
        for i in range(shnum):
            name, t, flags, addr, off, size, link, info, align, entsize = struct.unpack_from(
                "<IIQQQQIIQQ", d, shoff + i * shentsize)
            self.sections.append(dict(name_off=name, type=t, addr=addr, offset=off, size=size,
                                      link=link, entsize=entsize))
        self.symbols = {}
        for s in self.sections:
            if s["type"] != SHT_SYMTAB:
                continue
            strtab = self.sections[s["link"]]
            for k in range(s["size"] // 24):
                name_off, info, other, shndx, value, size = struct.unpack_from("<IBBHQQ", d, s["offset"] + 24 * k)
                start = strtab["offset"] + name_off
                name = d[start:d.index(b"\0", start)].decode()
                if name:
                    self.symbols[name] = value

    def loads(self):
        return [p for p in self.phdrs if p["type"] == PT_LOAD]

    def pvh_entry(self):
        """The XEN_ELFNOTE_PHYS32_ENTRY value from any PT_NOTE, or None."""
        for p in self.phdrs:
            if p["type"] != PT_NOTE:
                continue
            off, end = p["offset"], p["offset"] + p["filesz"]
            while off + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", self.data, off)
                name = self.data[off + 12:off + 12 + namesz].rstrip(b"\0")
                desc_off = off + 12 + ((namesz + 3) & ~3)
                if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                    if descsz == 8:
                        return struct.unpack_from("<Q", self.data, desc_off)[0]
                    if descsz == 4:
                        return struct.unpack_from("<I", self.data, desc_off)[0]
                off = desc_off + ((descsz + 3) & ~3)
        return None

    def va_to_pa(self, va):
        for p in self.loads():
            if p["vaddr"] <= va < p["vaddr"] + p["memsz"]:
                return p["paddr"] + (va - p["vaddr"])
        return None


def check(path):
    errors = []
    elf = Elf(path)
    if elf.e_machine != 62:
        errors.append("e_machine %d is not x86-64" % elf.e_machine)
    entry = elf.pvh_entry()
    loads = elf.loads()
    if entry is None:
        errors.append("no Xen PHYS32_ENTRY note")
    elif entry >= 1 << 32:
        errors.append("PVH entry 0x%x is not a 32-bit address" % entry)
    elif not any(p["paddr"] <= entry < p["paddr"] + p["filesz"] and p["flags"] & 1 and p["paddr"] == p["vaddr"]
                 for p in loads):
        errors.append("PVH entry 0x%x is not in an executable identity-mapped PT_LOAD" % entry)
    if not loads:
        errors.append("no PT_LOAD segment")
    for p in loads:
        if p["paddr"] < 0x100000:
            errors.append("PT_LOAD p_paddr 0x%x is below 1 MiB" % p["paddr"])
        if p["filesz"] > p["memsz"]:
            errors.append("PT_LOAD at 0x%x has filesz > memsz" % p["paddr"])
    high = [p for p in loads if p["vaddr"] >= KERNEL_VMA]
    if not high:
        errors.append("no high-half PT_LOAD (kernel)")
    for p in high:
        if p["vaddr"] - p["paddr"] != KERNEL_VMA:
            errors.append("high-half PT_LOAD vaddr 0x%x is not KERNEL_VMA + paddr 0x%x" % (p["vaddr"], p["paddr"]))
    if entry is not None and elf.symbols.get("hvk_pvh_entry") != entry:
        errors.append("PVH note does not point at hvk_pvh_entry")
    for name in REQUIRED_SYMBOLS:
        if name not in elf.symbols:
            errors.append("symbol %s missing (stripped?)" % name)
    for name in CHAIN:
        v = elf.symbols.get(name)
        if v is not None and v < KERNEL_VMA:
            errors.append("%s at 0x%x is not in the high-half kernel" % (name, v))
    return errors


def main(argv):
    if len(argv) != 2:
        print("usage: guest_elf.py ELF", file=sys.stderr)
        return 2
    try:
        errors = check(argv[1])
    except (OSError, ValueError, struct.error) as e:
        errors = ["cannot read %s: %s" % (argv[1], e)]
    for e in errors:
        print("FAIL:", e)
    if not errors:
        print("ok: PVH note, PT_LOADs at >= 1 MiB, high-half kernel, symbols present")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
