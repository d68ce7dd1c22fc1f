/* coregen.c -- write minimal ELF64 core dumps (QEMU's layout) for tests. */
#include "coregen.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t *note_hdr(uint8_t *p, const char *name, uint32_t descsz, uint32_t type)
{
    put32(p, 5);
    put32(p + 4, descsz);
    put32(p + 8, type);
    memcpy(p + 12, name, 5);
    return p + 20; /* 12 + name padded to 8 */
}

uint8_t *coregen_build(const struct coregen_seg *segs, size_t nseg,
                       const struct coregen_cpu *cpus, size_t ncpu, unsigned flags,
                       size_t *len, size_t *note_off)
{
    size_t nprs = (flags & COREGEN_NO_PRSTATUS) ? 0 : ncpu;
    size_t nq = (flags & COREGEN_NO_QEMU) ? 0 : ncpu;
    size_t phoff = COREGEN_PHDR_OFF, nph = 1 + nseg;
    size_t notes = phoff + nph * sizeof(Elf64_Phdr);
    size_t notesz = nprs * COREGEN_PRS_NOTE_SIZE + nq * COREGEN_QEMU_NOTE_SIZE;
    size_t data = notes + notesz, total = data;
    uint8_t *img, *p;

    for (size_t i = 0; i < nseg; i++)
        total += segs[i].filesz;
    img = calloc(1, total);
    if (!img)
        return NULL;

    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_CORE;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_phoff = phoff;
    eh->e_ehsize = sizeof *eh;
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = (uint16_t)nph;

    Elf64_Phdr *ph = (Elf64_Phdr *)(img + phoff);
    ph[0].p_type = PT_NOTE;
    ph[0].p_offset = notes;
    ph[0].p_filesz = ph[0].p_memsz = notesz;
    size_t off = data;
    for (size_t i = 0; i < nseg; i++) {
        ph[1 + i].p_type = PT_LOAD;
        ph[1 + i].p_offset = off;
        ph[1 + i].p_paddr = segs[i].gpa;
        ph[1 + i].p_filesz = segs[i].filesz;
        ph[1 + i].p_memsz = segs[i].memsz ? segs[i].memsz : segs[i].filesz;
        if (segs[i].data)
            memcpy(img + off, segs[i].data, segs[i].filesz);
        off += segs[i].filesz;
    }

    p = img + notes;
    for (size_t i = 0; i < nprs; i++) {
        const struct coregen_cpu *c = &cpus[i];
        uint8_t *d = note_hdr(p, "CORE", 336, NT_PRSTATUS);
        put32(d + 32, c->pid);
        put64(d + 112 + 8 * 10, c->rax);
        put64(d + 112 + 8 * 16, c->rip);
        put64(d + 112 + 8 * 17, c->cs_sel);
        put64(d + 112 + 8 * 18, c->rflags);
        put64(d + 112 + 8 * 19, c->rsp);
        p += COREGEN_PRS_NOTE_SIZE;
    }
    for (size_t i = 0; i < nq; i++) {
        const struct coregen_cpu *c = &cpus[i];
        uint8_t *d = note_hdr(p, "QEMU", 440, 0);
        put32(d, 1);
        put32(d + 4, 440);
        put64(d + 8, c->rax);
        put64(d + 8 + 8 * 6, c->rsp);
        put64(d + 8 + 8 * 16, c->rip);
        put64(d + 8 + 8 * 17, c->rflags);
        put32(d + 152, c->cs_sel);           /* cs.selector */
        put32(d + 152 + 8, c->cs_flags);     /* cs.flags */
        put64(d + 392, c->cr0);
        put64(d + 392 + 16, c->cr2);
        put64(d + 392 + 24, c->cr3);
        put64(d + 392 + 32, c->cr4);
        p += COREGEN_QEMU_NOTE_SIZE;
    }
    *len = total;
    if (note_off)
        *note_off = notes;
    return img;
}
