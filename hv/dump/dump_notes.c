/* dump_notes.c -- per-vCPU state from a guest dump's notes: NT_PRSTATUS
 * ("CORE") and QEMU's QEMUCPUState ("QEMU", type 0), and the EFER rule.
 *
 * Layouts (QEMU target/i386/arch_dump.c, all little-endian):
 *  - x86-64 NT_PRSTATUS desc: pid u32 at 32; user_regs at 112: r15 r14 r13
 *    r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags
 *    rsp ss fs_base gs_base ds es fs gs (27 x u64); 336 bytes in all.
 *  - i386 NT_PRSTATUS desc: pid u32 at 24; user_regs at 72: ebx ecx edx esi
 *    edi ebp eax ds es fs gs orig_eax eip cs eflags esp ss (17 x u32); 144.
 *  - QEMUCPUState: version u32, size u32, rax rbx rcx rdx rsi rdi rsp rbp
 *    r8..r15 rip rflags (u64), then 10 segments {selector u32, limit u32,
 *    flags u32, pad u32, base u64} in the order cs ds es fs gs ss ldt tr gdt
 *    idt, then cr[5] u64, kernel_gs_base u64; 440 bytes for version 1.
 * QEMU writes every vCPU's PRSTATUS first, then every vCPU's QEMU note, in
 * the same vCPU order; we pair them by position.
 */
#include "dump_internal.h"

#include <elf.h>
#include <stdlib.h>

#define DUMP_PRS64_SIZE   336u
#define DUMP_PRS64_PID    32u
#define DUMP_PRS64_REGS   112u
#define DUMP_PRS32_SIZE   144u
#define DUMP_PRS32_PID    24u
#define DUMP_PRS32_REGS   72u
#define DUMP_QEMU_V1_SIZE 440u
#define DUMP_QEMU_SEGS    (8u + 18u * 8u) /* offset of cs */
#define DUMP_QEMU_CR      (DUMP_QEMU_SEGS + 10u * 24u)

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

uint64_t dump_derive_efer(uint64_t cr0, uint64_t cr4, uint32_t cs_flags,
                          unsigned machine)
{
    const uint64_t efer_lme = 1u << 8, efer_lma = 1u << 10, efer_nxe = 1u << 11;
    uint64_t efer = 0;
    int pae_paging = (cr0 & (1u << 31)) && (cr4 & (1u << 5));

    if (pae_paging) {
        efer |= efer_nxe;
        if ((cs_flags & DUMP_SEG_L) || machine == EM_X86_64)
            efer |= efer_lme | efer_lma;
    }
    return efer;
}

/* Append a zeroed vCPU to *list; the list never exceeds DUMP_MAX_VCPUS. */
static struct dump_vcpu *dump_vcpu_push(struct dump_vcpu **list, size_t *n,
                                        struct hvk_err *err)
{
    struct dump_vcpu *l;
    if (*n >= DUMP_MAX_VCPUS) {
        hvk_err_set(err, "more than %u CPU notes of one kind", DUMP_MAX_VCPUS);
        return NULL;
    }
    l = realloc(*list, (*n + 1) * sizeof *l);
    if (!l) {
        hvk_err_set(err, "out of memory");
        return NULL;
    }
    *list = l;
    memset(&l[*n], 0, sizeof l[*n]);
    return &l[(*n)++];
}

static int dump_parse_prstatus(struct dump_core *core, const uint8_t *d,
                               uint32_t dsz, struct hvk_err *err)
{
    struct dump_vcpu *v;

    if (core->machine == EM_X86_64) {
        /* order of user_regs_struct, mapped onto enum dump_gpr */
        static const int map[] = {
            DUMP_R15, DUMP_R14, DUMP_R13, DUMP_R12, DUMP_RBP, DUMP_RBX, DUMP_R11,
            DUMP_R10, DUMP_R9, DUMP_R8, DUMP_RAX, DUMP_RCX, DUMP_RDX, DUMP_RSI, DUMP_RDI,
        };
        const uint8_t *r = d + DUMP_PRS64_REGS;
        if (dsz < DUMP_PRS64_SIZE)
            return hvk_err_set(err, "NT_PRSTATUS too short (%u bytes, need %u)",
                               dsz, DUMP_PRS64_SIZE);
        if (!(v = dump_vcpu_push(&core->prs, &core->nprs, err)))
            return -1;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            v->gpr[map[i]] = rd64(r + 8 * i);
        v->rip = rd64(r + 8 * 16);
        v->sreg[DUMP_CS].selector = (uint32_t)rd64(r + 8 * 17);
        v->rflags = rd64(r + 8 * 18);
        v->gpr[DUMP_RSP] = rd64(r + 8 * 19);
        v->sreg[DUMP_SS].selector = (uint32_t)rd64(r + 8 * 20);
        v->sreg[DUMP_FS].base = rd64(r + 8 * 21);
        v->sreg[DUMP_GS].base = rd64(r + 8 * 22);
        v->sreg[DUMP_DS].selector = (uint32_t)rd64(r + 8 * 23);
        v->sreg[DUMP_ES].selector = (uint32_t)rd64(r + 8 * 24);
        v->sreg[DUMP_FS].selector = (uint32_t)rd64(r + 8 * 25);
        v->sreg[DUMP_GS].selector = (uint32_t)rd64(r + 8 * 26);
        v->pid = rd32(d + DUMP_PRS64_PID);
    } else {
        static const int map[] = {
            DUMP_RBX, DUMP_RCX, DUMP_RDX, DUMP_RSI, DUMP_RDI, DUMP_RBP, DUMP_RAX,
        };
        const uint8_t *r = d + DUMP_PRS32_REGS;
        if (dsz < DUMP_PRS32_SIZE)
            return hvk_err_set(err, "NT_PRSTATUS too short (%u bytes, need %u)",
                               dsz, DUMP_PRS32_SIZE);
        if (!(v = dump_vcpu_push(&core->prs, &core->nprs, err)))
            return -1;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            v->gpr[map[i]] = rd32(r + 4 * i);
        v->sreg[DUMP_DS].selector = rd32(r + 4 * 7);
        v->sreg[DUMP_ES].selector = rd32(r + 4 * 8);
        v->sreg[DUMP_FS].selector = rd32(r + 4 * 9);
        v->sreg[DUMP_GS].selector = rd32(r + 4 * 10);
        v->rip = rd32(r + 4 * 12);
        v->sreg[DUMP_CS].selector = rd32(r + 4 * 13);
        v->rflags = rd32(r + 4 * 14);
        v->gpr[DUMP_RSP] = rd32(r + 4 * 15);
        v->sreg[DUMP_SS].selector = rd32(r + 4 * 16);
        v->pid = rd32(d + DUMP_PRS32_PID);
    }
    v->have_prstatus = true;
    return 0;
}

static void dump_seg_read(struct dump_seg *s, const uint8_t *p)
{
    s->selector = rd32(p);
    s->limit = rd32(p + 4);
    s->flags = rd32(p + 8);
    s->base = rd64(p + 16);
}

static int dump_parse_qemu(struct dump_core *core, const uint8_t *d,
                           uint32_t dsz, struct hvk_err *err)
{
    /* QEMUCPUState register order, mapped onto enum dump_gpr */
    static const int gmap[] = {
        DUMP_RAX, DUMP_RBX, DUMP_RCX, DUMP_RDX, DUMP_RSI, DUMP_RDI, DUMP_RSP, DUMP_RBP,
        DUMP_R8, DUMP_R9, DUMP_R10, DUMP_R11, DUMP_R12, DUMP_R13, DUMP_R14, DUMP_R15,
    };
    static const int smap[] = { DUMP_CS, DUMP_DS, DUMP_ES, DUMP_FS, DUMP_GS, DUMP_SS };
    struct dump_vcpu *v;
    uint32_t version, size;

    if (dsz < DUMP_QEMU_V1_SIZE)
        return hvk_err_set(err, "QEMU CPU note too short (%u bytes, need %u)",
                           dsz, DUMP_QEMU_V1_SIZE);
    version = rd32(d);
    size = rd32(d + 4);
    /* Later versions may only append fields: read the version-1 prefix. */
    if (version < 1)
        return hvk_err_set(err, "QEMU CPU note: bad version %u", version);
    if (size < DUMP_QEMU_V1_SIZE || size > dsz)
        return hvk_err_set(err, "QEMU CPU note: size field %u outside [%u, %u]",
                           size, DUMP_QEMU_V1_SIZE, dsz);
    if (!(v = dump_vcpu_push(&core->qemu, &core->nqemu, err)))
        return -1;
    v->have_qemu = true;
    v->qemu_version = version;
    for (size_t i = 0; i < 16; i++)
        v->gpr[gmap[i]] = rd64(d + 8 + 8 * i);
    v->rip = rd64(d + 8 + 8 * 16);
    v->rflags = rd64(d + 8 + 8 * 17);
    for (size_t i = 0; i < 6; i++)
        dump_seg_read(&v->sreg[smap[i]], d + DUMP_QEMU_SEGS + 24 * i);
    dump_seg_read(&v->ldt, d + DUMP_QEMU_SEGS + 24 * 6);
    dump_seg_read(&v->tr, d + DUMP_QEMU_SEGS + 24 * 7);
    dump_seg_read(&v->gdt, d + DUMP_QEMU_SEGS + 24 * 8);
    dump_seg_read(&v->idt, d + DUMP_QEMU_SEGS + 24 * 9);
    v->cr0 = rd64(d + DUMP_QEMU_CR);
    v->cr2 = rd64(d + DUMP_QEMU_CR + 16);
    v->cr3 = rd64(d + DUMP_QEMU_CR + 24);
    v->cr4 = rd64(d + DUMP_QEMU_CR + 32);
    v->kernel_gs_base = rd64(d + DUMP_QEMU_CR + 40);
    v->efer = dump_derive_efer(v->cr0, v->cr4, v->sreg[DUMP_CS].flags, core->machine);
    v->efer_source = DUMP_EFER_DERIVED;
    return 0;
}

int dump_notes_parse(struct dump_core *core, uint64_t off, uint64_t size,
                     size_t *nnotes, struct hvk_err *err)
{
    const uint8_t *p = core->base + off;
    uint64_t pos = 0;

    /* Each pass consumes at least the 12-byte header, and *nnotes is capped. */
    while (pos < size) {
        uint32_t namesz, descsz, type;
        uint64_t name_off, desc_off, next;
        if (size - pos < 12)
            return hvk_err_set(err, "truncated note header at +0x%llx",
                               (unsigned long long)pos);
        if (++*nnotes > DUMP_MAX_NOTES)
            return hvk_err_set(err, "more than %u notes", DUMP_MAX_NOTES);
        namesz = rd32(p + pos);
        descsz = rd32(p + pos + 4);
        type = rd32(p + pos + 8);
        /* all quantities < 2^34: no 64-bit overflow below */
        name_off = pos + 12;
        desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
        next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
        if (desc_off + descsz > size || next > size + 3)
            return hvk_err_set(err, "note at +0x%llx (name %u bytes, desc %u bytes) runs "
                               "past the end of the note segment",
                               (unsigned long long)pos, namesz, descsz);
        if (namesz == 5 && memcmp(p + name_off, "CORE", 5) == 0 && type == NT_PRSTATUS) {
            if (dump_parse_prstatus(core, p + desc_off, descsz, err) < 0)
                return hvk_err_prefix(err, "note at +0x%llx", (unsigned long long)pos);
        } else if (namesz == 5 && memcmp(p + name_off, "QEMU", 5) == 0 && type == 0) {
            if (dump_parse_qemu(core, p + desc_off, descsz, err) < 0)
                return hvk_err_prefix(err, "note at +0x%llx", (unsigned long long)pos);
        }
        pos = next;
    }
    return 0;
}

int dump_notes_finish(struct dump_core *core, struct hvk_err *err)
{
    size_t n;

    if (core->nprs && core->nqemu && core->nprs != core->nqemu)
        return hvk_err_set(err, "%zu NT_PRSTATUS notes but %zu QEMU CPU notes",
                           core->nprs, core->nqemu);
    n = core->nqemu ? core->nqemu : core->nprs;
    if (n == 0)
        return hvk_err_set(err, "no CPU state (no NT_PRSTATUS or QEMU note)");
    /* QEMU state is the complete one; PRSTATUS adds only the pid then. */
    if (core->nqemu) {
        core->vcpu = core->qemu;
        core->qemu = NULL;
        for (size_t i = 0; i < core->nprs; i++) {
            core->vcpu[i].have_prstatus = true;
            core->vcpu[i].pid = core->prs[i].pid;
        }
    } else {
        core->vcpu = core->prs;
        core->prs = NULL;
    }
    core->nvcpu = n;
    for (size_t i = 0; i < n; i++)
        core->vcpu[i].index = (unsigned)i;
    free(core->prs);
    free(core->qemu);
    core->prs = core->qemu = NULL;
    core->nprs = core->nqemu = 0;
    return 0;
}
