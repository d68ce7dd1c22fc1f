/* fuzz_walk.c -- libFuzzer harness: random guest RAM, registers and access through x86_walk, checked against the reference model. */
#include <stdio.h>

#include <x86/walk.h>

#include "fuzz_common.h"
#include "walk_ref.h"

static unsigned fuzz_bad;

/* Reader that also checks the walker's promises about what it asks for. */
static int fuzz_walk_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    if ((len != 4 && len != 8) || (gpa & (len - 1)))
        fuzz_bad++;
    return fuzz_read(ctx, gpa, buf, len);
}

static bool fuzz_ref_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
    struct fuzz_ram *r = ctx;
    if (gpa >= r->size || size > r->size - gpa)
        return false;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)r->ram[gpa + i] << (8 * i);
    *val = v;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_HDR)
        return 0;
    size_t ram_size = size - FUZZ_HDR;
    if (ram_size > FUZZ_MAX_RAM)
        ram_size = FUZZ_MAX_RAM;
    /* exact-size copy: ASan flags any read past the guest's RAM */
    uint8_t *ram = malloc(ram_size ? ram_size : 1);
    if (!ram)
        return 0;
    memcpy(ram, data + FUZZ_HDR, ram_size);
    struct fuzz_ram r = { ram, ram_size, 0 };
    struct x86_paging_regs regs;
    struct x86_cpu_facts cpu;
    struct x86_access acc;
    uint64_t gva;
    fuzz_decode(data, &regs, &cpu, &gva, &acc, ram_size);
    fuzz_bad = 0;

    struct x86_mem mem = { fuzz_walk_read, &r };
    struct x86_walk w;
    struct hvk_err err;
    if (x86_walk(&regs, &cpu, &mem, gva, acc, &w, &err) < 0) {
        fprintf(stderr, "x86_walk refused decoded inputs: %s\n", err.msg);
        abort();
    }
    /* at most one read per level, at most 5 levels */
    if (r.reads > X86_WALK_MAX_LEVELS || r.reads != w.nlevels || fuzz_bad)
        abort();
    if (w.nlevels > X86_WALK_MAX_LEVELS || (w.reason != X86_WALK_OK && w.why[0] == '\0'))
        abort();
    if (w.fault_level >= (int)w.nlevels)
        abort();

    struct ref_result ref;
    ref_walk(&regs, &cpu, fuzz_ref_read, &r, gva, acc, &ref);
    bool agree = ref.mapped == w.mapped && (!ref.mapped || ref.gpa == w.gpa) &&
                 (ref.kind == REF_OK) == (w.reason == X86_WALK_OK) &&
                 (ref.kind != REF_PF || (w.vector == X86_VECTOR_PF && w.error_code == ref.ec));
    if (!agree) {
        fprintf(stderr, "walker and reference disagree: ref kind %d ec %#x gpa %#llx; walker %s ec %#x gpa %#llx\n",
                ref.kind, ref.ec, (unsigned long long)ref.gpa, x86_walk_reason_name(w.reason),
                w.error_code, (unsigned long long)w.gpa);
        abort();
    }

    /* the formatter must survive truncation */
    char small[37], big[4096];
    size_t need = x86_walk_format(&w, small, sizeof small);
    if (strlen(small) >= sizeof small || x86_walk_format(&w, big, sizeof big) != need)
        abort();
    free(ram);
    return 0;
}
