/* fuzz_common.h -- shared decoding of fuzz input into paging registers, CPU facts and a bounded guest RAM. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <x86/paging.h>

/* Input layout: FUZZ_HDR bytes of header, the rest is guest RAM from GPA 0
 * (at most FUZZ_MAX_RAM bytes; the buffer is exactly that size so ASan sees
 * any read past it). */
#define FUZZ_HDR 48
#define FUZZ_MAX_RAM (256u * 1024)

struct fuzz_ram {
    const uint8_t *ram;
    size_t size;
    unsigned reads;
};

static inline uint64_t fuzz_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Decode the header. Mode bits are steered so every paging mode is reached
 * often; everything else is raw. */
static inline void fuzz_decode(const uint8_t *h, struct x86_paging_regs *regs,
                               struct x86_cpu_facts *cpu, uint64_t *gva,
                               struct x86_access *acc, size_t ram_size)
{
    uint64_t ctl = fuzz_u64(h);
    unsigned mode = (unsigned)(ctl % 5);
    static const unsigned maxphys[] = { 32, 36, 39, 40, 46, 48, 52 };
    memset(regs, 0, sizeof *regs);
    regs->cr0 = X86_CR0_PE | (mode ? X86_CR0_PG : 0) | ((ctl >> 3) & 1 ? X86_CR0_WP : 0);
    regs->cr4 = ((ctl >> 4) & (X86_CR4_PSE >> 4)) << 4;
    regs->cr4 |= (ctl & (X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE));
    if (mode >= 2) regs->cr4 |= X86_CR4_PAE;
    if (mode == 4) regs->cr4 |= X86_CR4_LA57;
    regs->efer = (mode >= 3 ? X86_EFER_LME | X86_EFER_LMA : 0) | (ctl & X86_EFER_NXE);
    regs->rflags = 2 | (ctl & X86_RFLAGS_AC);
    regs->cr3 = fuzz_u64(h + 8);
    if (((ctl >> 40) & 3) != 0 && ram_size)
        regs->cr3 %= ram_size;   /* mostly a root inside RAM */
    regs->pkru = (uint32_t)fuzz_u64(h + 16);
    memset(cpu, 0, sizeof *cpu);
    cpu->maxphyaddr = maxphys[(ctl >> 48) % 7];
    cpu->nx = true;
    cpu->pdpe1gb = (ctl >> 56) & 1;
    cpu->pse36 = (ctl >> 57) & 1;
    cpu->pse = true;
    *gva = fuzz_u64(h + 24);
    acc->type = (enum x86_access_type)(h[32] % 3);
    acc->priv = (enum x86_access_priv)(h[33] % 3);
}

static inline int fuzz_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct fuzz_ram *r = ctx;
    r->reads++;
    if (gpa >= r->size || len > r->size - gpa)
        return -1;
    memcpy(buf, r->ram + gpa, len);
    return 0;
}

#endif
