/* test_walk_gen.c -- access.c-style generator: combinations of entry bits x access x control bits, walker vs reference model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <x86/walk.h>

#include "walk_ref.h"

/* Flat guest RAM of GEN_RAM bytes; tables live in its pages. The reader
 * checks the walker's promises: natural alignment, 4 or 8 bytes, in bounds
 * (an out-of-bounds request is refused, and counted as a violation only if
 * it is not a plain "outside RAM" case, i.e. it overflows). */
#define GEN_RAM (64u * 1024)

struct gen_mem {
    unsigned char ram[GEN_RAM];
    unsigned reads;
    unsigned bad_requests;
};

static struct gen_mem gmem;

static int gen_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct gen_mem *m = ctx;
    m->reads++;
    if ((len != 4 && len != 8) || (gpa & (len - 1)) || gpa + len < gpa)
        m->bad_requests++;
    if (gpa >= GEN_RAM || len > GEN_RAM - gpa)
        return -1;
    memcpy(buf, m->ram + gpa, len);
    return 0;
}

static bool gen_ref_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
    struct gen_mem *m = ctx;
    if (gpa >= GEN_RAM || size > GEN_RAM - gpa)
        return false;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)m->ram[gpa + i] << (8 * i);
    *val = v;
    return true;
}

static void gen_put(uint64_t gpa, unsigned size, uint64_t v)
{
    assert_true(gpa + size <= GEN_RAM);
    for (unsigned i = 0; i < size; i++)
        gmem.ram[gpa + i] = (unsigned char)(v >> (8 * i));
}

static const struct x86_mem gen_x86mem = { gen_read, &gmem };

static unsigned long long gen_walks;
/* outcomes seen, by walker reason: proves the random test reaches every case */
static unsigned long long gen_seen[X86_WALK_REASON_COUNT];

/* Run both models and compare outcome, error code, translation, read count. */
static void gen_compare(const struct x86_paging_regs *regs, const struct x86_cpu_facts *cpu,
                        uint64_t gva, struct x86_access acc, const char *what)
{
    struct x86_walk w;
    struct ref_result ref;
    struct hvk_err err = { "" };

    gmem.reads = 0;
    gmem.bad_requests = 0;
    if (x86_walk(regs, cpu, &gen_x86mem, gva, acc, &w, &err) < 0)
        fail_msg("%s: x86_walk refused: %s", what, err.msg);
    ref_walk(regs, cpu, gen_ref_read, &gmem, gva, acc, &ref);
    gen_walks++;
    gen_seen[w.reason]++;

    enum ref_kind got;
    if (w.reason == X86_WALK_OK) got = REF_OK;
    else if (w.reason == X86_WALK_READ_FAILED) got = REF_UNREADABLE;
    else if (w.reason == X86_WALK_ADDR_WIDTH) got = REF_WIDTH;
    else if (w.vector == X86_VECTOR_GP) got = REF_GP;
    else got = REF_PF;

    bool same = got == ref.kind && (got != REF_PF || w.error_code == ref.ec) &&
                w.mapped == ref.mapped && (!ref.mapped || (w.gpa == ref.gpa && w.page_size == ref.page_size)) &&
                gmem.reads == ref.reads && gmem.bad_requests == 0 &&
                (ref.rsvd_level < 0 ? w.reason != X86_WALK_RESERVED
                                    : (w.reason == X86_WALK_RESERVED && w.fault_level == ref.rsvd_level));
    /* consistency of the walker's own report */
    if (same && got == REF_PF)
        same = w.vector == X86_VECTOR_PF && w.why[0] != '\0';
    if (same && got == REF_OK)
        same = w.fault_level == -1 && w.error_code == 0;
    if (!same) {
        char text[4096];
        x86_walk_format(&w, text, sizeof text);
        fail_msg("%s: walker and reference disagree\n"
                 "  cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx rflags %#llx pkru %#x maxphy %u 1g %d pse36 %d\n"
                 "  ref: kind %d ec %#x mapped %d gpa %#llx size %#llx rsvd_level %d reads %u\n"
                 "  walker: reads %u bad %u\n%s",
                 what, (unsigned long long)regs->cr0, (unsigned long long)regs->cr3,
                 (unsigned long long)regs->cr4, (unsigned long long)regs->efer,
                 (unsigned long long)regs->rflags, regs->pkru, cpu->maxphyaddr, cpu->pdpe1gb,
                 cpu->pse36, ref.kind, ref.ec, ref.mapped, (unsigned long long)ref.gpa,
                 (unsigned long long)ref.page_size, ref.rsvd_level, ref.reads, gmem.reads,
                 gmem.bad_requests, text);
    }
}

#define CR0_BASE (X86_CR0_PE | X86_CR0_PG)
#define EFER_LM (X86_EFER_LME | X86_EFER_LMA)
#define GVA4 0x00007fabcdef1234ull

static const struct x86_cpu_facts gen_cpu = {
    .maxphyaddr = 46, .nx = true, .pdpe1gb = true, .la57 = true, .smep = true,
    .smap = true, .pku = true, .pse = true, .pse36 = true,
};

/* Build a 4-level path for GVA4 with the given entries' flag bits; leaf_level
 * 3 = PTE (4K), 2 = PDE (2M), 1 = PDPTE (1G). Tables at 0x1000.. */
static void gen_build4(const uint64_t flags[4], int leaf_level, uint64_t leaf_extra)
{
    static const unsigned shifts[4] = { 39, 30, 21, 12 };
    memset(gmem.ram, 0, sizeof gmem.ram);
    for (int i = 0; i <= leaf_level; i++) {
        uint64_t table = 0x1000 + 0x1000 * (uint64_t)i;
        uint64_t idx = (GVA4 >> shifts[i]) & 511;
        uint64_t v = flags[i] | 1;
        if (i == leaf_level)
            v |= 0x3c0000000ull | leaf_extra | (i < 3 ? 0x80 : 0);
        else
            v |= table + 0x1000;
        gen_put(table + idx * 8, 8, v);
    }
}

/* Every combination of RW/US at each level x XD position x page size x
 * access x CR0.WP, EFER.NXE, CR4.SMEP/SMAP/PKE, RFLAGS.AC x PKRU AD/WD. */
static void test_gen_permissions(void **state)
{
    (void)state;
    unsigned long long before = gen_walks;
    for (int leaf = 1; leaf <= 3; leaf++) {
        unsigned nl = (unsigned)leaf + 1;
        for (unsigned rwus = 0; rwus < (1u << (2 * nl)); rwus++) {
            for (unsigned xdpos = 0; xdpos <= nl; xdpos++) {
                uint64_t flags[4] = { 0 };
                for (unsigned i = 0; i < nl; i++) {
                    flags[i] = ((rwus >> (2 * i)) & 1 ? 2 : 0) | ((rwus >> (2 * i + 1)) & 1 ? 4 : 0);
                    if (xdpos == i + 1)
                        flags[i] |= 1ull << 63;
                }
                unsigned key = (rwus + xdpos) & 15;
                gen_build4(flags, leaf, (uint64_t)key << 59);
                for (unsigned ctl = 0; ctl < 64; ctl++) {
                    struct x86_paging_regs regs = {
                        .cr0 = CR0_BASE | (ctl & 1 ? X86_CR0_WP : 0),
                        .cr3 = 0x1000,
                        .cr4 = X86_CR4_PAE | (ctl & 2 ? X86_CR4_SMEP : 0) |
                               (ctl & 4 ? X86_CR4_SMAP : 0) | (ctl & 8 ? X86_CR4_PKE : 0),
                        .efer = EFER_LM | (ctl & 16 ? X86_EFER_NXE : 0),
                        .rflags = 2 | (ctl & 32 ? X86_RFLAGS_AC : 0),
                    };
                    unsigned npk = (ctl & 8) ? 4 : 1;
                    for (unsigned pk = 0; pk < npk; pk++) {
                        regs.pkru = (uint32_t)pk << (2 * key);
                        for (unsigned a = 0; a < 9; a++) {
                            struct x86_access acc = { (enum x86_access_type)(a % 3),
                                                      (enum x86_access_priv)(a / 3) };
                            gen_compare(&regs, &gen_cpu, GVA4, acc, "permissions");
                        }
                    }
                }
            }
        }
    }
    print_message("permissions: %llu walks compared\n", gen_walks - before);
}

/* Every single bit of every entry of every level, in every mode, against
 * several MAXPHYADDR / NXE / 1G / PSE-36 settings: reserved or not, and the
 * translated address when it is an address bit (PAT of large pages is not). */
static void test_gen_reserved_bits(void **state)
{
    (void)state;
    static const unsigned maxphys[] = { 36, 39, 40, 46, 52 };
    unsigned long long before = gen_walks;
    struct x86_access acc = { X86_ACCESS_READ, X86_PRIV_SUPERVISOR };

    for (unsigned mp = 0; mp < sizeof maxphys / sizeof maxphys[0]; mp++) {
        for (unsigned opt = 0; opt < 8; opt++) {
            struct x86_cpu_facts cpu = gen_cpu;
            cpu.maxphyaddr = maxphys[mp];
            cpu.pdpe1gb = opt & 1;
            cpu.pse36 = opt & 2;
            bool nxe = opt & 4;
            /* IA-32e 4- and 5-level, every leaf level */
            for (int la57 = 0; la57 <= 1; la57++) {
                for (int leaf = 1; leaf <= 3; leaf++) {
                    int nl = leaf + 1 + la57;
                    for (int lvl = 0; lvl < nl; lvl++) {
                        for (int b = 1; b < 64; b++) {
                            memset(gmem.ram, 0, sizeof gmem.ram);
                            uint64_t gva = la57 ? 0x00fabcdef0123456ull : GVA4;
                            for (int i = 0; i < nl; i++) {
                                unsigned shift = 12 + 9 * (unsigned)(nl - 1 - i);
                                uint64_t table = 0x1000 + 0x1000 * (uint64_t)i;
                                uint64_t v = 0x7 | ((i == nl - 1) ? 0x3c0000000ull | (i < nl - 1 || leaf < 3 ? 0x80 : 0)
                                                                    : table + 0x1000);
                                if (i == lvl)
                                    v |= 1ull << b;
                                gen_put(table + ((gva >> shift) & 511) * 8, 8, v);
                            }
                            struct x86_paging_regs regs = {
                                .cr0 = CR0_BASE, .cr3 = 0x1000,
                                .cr4 = X86_CR4_PAE | (la57 ? X86_CR4_LA57 : 0),
                                .efer = EFER_LM | (nxe ? X86_EFER_NXE : 0), .rflags = 2,
                            };
                            gen_compare(&regs, &cpu, gva, acc, "reserved bits (IA-32e)");
                        }
                    }
                }
            }
            /* PAE: PDPTE register, PDE (2M or table), PTE */
            for (int leaf = 1; leaf <= 2; leaf++) {
                for (int lvl = 0; lvl <= leaf; lvl++) {
                    for (int b = 1; b < 64; b++) {
                        memset(gmem.ram, 0, sizeof gmem.ram);
                        uint64_t gva = 0xc0801abc;
                        gen_put(0x1020 + 3 * 8, 8, 0x2001 | (lvl == 0 ? 1ull << b : 0));
                        uint64_t pde = 0x7 | (leaf == 1 ? 0x3c0000080ull : 0x3000);
                        gen_put(0x2000 + ((gva >> 21) & 511) * 8, 8, pde | (lvl == 1 ? 1ull << b : 0));
                        gen_put(0x3000 + ((gva >> 12) & 511) * 8, 8, 0x3c0000007ull | (lvl == 2 ? 1ull << b : 0));
                        struct x86_paging_regs regs = {
                            .cr0 = CR0_BASE, .cr3 = 0x1020, .cr4 = X86_CR4_PAE,
                            .efer = nxe ? X86_EFER_NXE : 0, .rflags = 2,
                        };
                        gen_compare(&regs, &cpu, gva, acc, "reserved bits (PAE)");
                    }
                }
            }
            /* 32-bit: 4 MiB PDE with CR4.PSE, PDE+PTE */
            for (int big = 0; big <= 1; big++) {
                for (int lvl = 0; lvl <= 1 - big; lvl++) {
                    for (int b = 1; b < 32; b++) {
                        memset(gmem.ram, 0, sizeof gmem.ram);
                        uint64_t gva = 0xc0801abc;
                        uint64_t pde = big ? 0x3fc00087 : 0x2007;
                        gen_put(0x1000 + (gva >> 22) * 4, 4, (pde | (lvl == 0 ? 1ull << b : 0)) & 0xffffffff);
                        gen_put(0x2000 + ((gva >> 12) & 1023) * 4, 4, 0x3fc01007 | (lvl == 1 ? 1ull << b : 0));
                        struct x86_paging_regs regs = {
                            .cr0 = CR0_BASE, .cr3 = 0x1000, .cr4 = X86_CR4_PSE, .rflags = 2,
                        };
                        gen_compare(&regs, &cpu, gva, acc, "reserved bits (32-bit)");
                    }
                }
            }
        }
    }
    print_message("reserved bits: %llu walks compared\n", gen_walks - before);
}

/* xorshift64: deterministic, seedable with HVKIT_TEST_SEED */
static uint64_t gen_rng = 0x9e3779b97f4a7c15ull;

static uint64_t gen_rand(void)
{
    gen_rng ^= gen_rng << 13;
    gen_rng ^= gen_rng >> 7;
    gen_rng ^= gen_rng << 17;
    return gen_rng;
}

/* A plausible-but-random entry: usually present, pointing at a page of RAM,
 * random flags, sometimes garbage high bits. */
static uint64_t gen_rand_entry(void)
{
    uint64_t r = gen_rand();
    uint64_t v = ((r >> 8) % (GEN_RAM / 4096 + 2)) << 12;   /* sometimes just past RAM */
    v |= r & 0xfff;
    if ((r >> 20) % 8 != 0)
        v |= 1;
    if ((r >> 24) % 4 == 0)
        v |= gen_rand() & 0xfff0000000000000ull;
    if ((r >> 28) % 8 == 0)
        v |= 1ull << (gen_rand() % 64);
    return v;
}

/* Random tables, registers and accesses in every mode: the walker must agree
 * with the reference on everything, and read exactly as the reference does. */
static void test_gen_random(void **state)
{
    (void)state;
    static const unsigned maxphys[] = { 32, 36, 40, 46, 52 };
    const char *seed = getenv("HVKIT_TEST_SEED");
    if (seed)
        gen_rng = strtoull(seed, NULL, 0) | 1;
    unsigned long long before = gen_walks;
    memset(gen_seen, 0, sizeof gen_seen);
    for (unsigned round = 0; round < 2000; round++) {
        for (size_t i = 0; i < GEN_RAM; i += 8) {
            uint64_t v = gen_rand_entry();
            memcpy(gmem.ram + i, &v, 8);
        }
        for (unsigned k = 0; k < 100; k++) {
            uint64_t r = gen_rand();
            struct x86_cpu_facts cpu = gen_cpu;
            cpu.maxphyaddr = maxphys[r % 5];
            cpu.pdpe1gb = (r >> 3) & 1;
            cpu.pse36 = (r >> 4) & 1;
            unsigned mode = (unsigned)((r >> 5) % 5);
            uint64_t ctl = gen_rand();
            struct x86_paging_regs regs = {
                .cr0 = X86_CR0_PE | (mode ? X86_CR0_PG : 0) | (ctl & X86_CR0_WP),
                .cr3 = gen_rand() & 0xfffffffffff0ull & (mode == 2 ? 0xffffffe0 : ~0ull),
                .cr4 = (ctl & (X86_CR4_PSE | X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE)) |
                       (mode >= 2 ? X86_CR4_PAE : 0) | (mode == 4 ? X86_CR4_LA57 : 0),
                .efer = (mode >= 3 ? EFER_LM : 0) | (ctl & X86_EFER_NXE),
                .rflags = 2 | (ctl & X86_RFLAGS_AC),
                .pkru = (uint32_t)gen_rand(),
            };
            if ((r >> 9) % 4 != 0)
                regs.cr3 %= GEN_RAM;   /* mostly inside RAM */
            uint64_t gva = gen_rand();
            switch ((r >> 11) % 4) {
            case 0: gva &= 0xffffffffull; break;
            case 1: gva = (uint64_t)((int64_t)(gva << 16) >> 16); break;
            case 2: gva = (uint64_t)((int64_t)(gva << 7) >> 7); break;
            default: break;
            }
            if (mode <= 2 && (r >> 17) % 8 != 0)
                gva &= 0xffffffffull;   /* mostly within the 32-bit modes' reach */
            struct x86_access acc = { (enum x86_access_type)((r >> 13) % 3),
                                      (enum x86_access_priv)((r >> 15) % 3) };
            gen_compare(&regs, &cpu, gva, acc, "random");
        }
    }
    print_message("random: %llu walks compared\n", gen_walks - before);
    for (unsigned i = 0; i < X86_WALK_REASON_COUNT; i++) {
        print_message("  %-16s %llu\n", x86_walk_reason_name((enum x86_walk_reason)i), gen_seen[i]);
        if (gen_seen[i] == 0)
            fail_msg("random walks never ended with reason %s", x86_walk_reason_name((enum x86_walk_reason)i));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gen_permissions),
        cmocka_unit_test(test_gen_reserved_bits),
        cmocka_unit_test(test_gen_random),
    };
    return cmocka_run_group_tests_name("walk_gen", tests, NULL, NULL);
}
