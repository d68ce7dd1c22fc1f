/* crash.c -- `crash=KIND`: make vCPU 0 die on purpose, so hv's and hvkit's fault reporting can be tested. */
#include "hvk.h"

struct hvk_crash_kind {
    const char *name;
    void (*fn)(void);
};

static void hvk_crash_pf(void) { (void)*(volatile u64 *)HVK_HOLE_PML4E_VA; }
static void hvk_crash_gp(void) { (void)*(volatile u64 *)0x8000000000000000ull; }   /* non-canonical */
static void hvk_crash_ud(void) { __asm__ volatile("ud2"); }
static void hvk_crash_de(void)
{
    u32 zero = 0, q;
    __asm__ volatile("xor %%edx, %%edx\n\tdivl %2" : "=a"(q) : "a"(1u), "r"(zero) : "rdx");
    (void)q;
}
/* An empty IDT: the #BP cannot be delivered, nor the #GP/#DF after it: a triple fault. */
static void hvk_crash_triple(void)
{
    struct { u16 limit; u64 base; } __attribute__((packed)) idtr = { 0, 0 };
    __asm__ volatile("lidt %0\n\tint3" : : "m"(idtr));
}

static const struct hvk_crash_kind hvk_crash_kinds[] = {
    { "pf", hvk_crash_pf }, { "gp", hvk_crash_gp }, { "ud", hvk_crash_ud },
    { "de", hvk_crash_de }, { "triple", hvk_crash_triple },
};

bool hvk_crash_valid(const char *kind)
{
    for (u32 i = 0; i < sizeof hvk_crash_kinds / sizeof hvk_crash_kinds[0]; i++)
        if (hvk_streq(kind, hvk_crash_kinds[i].name))
            return true;
    return false;
}

void hvk_crash(const char *kind)
{
    struct hvk_line l;
    for (u32 i = 0; i < sizeof hvk_crash_kinds / sizeof hvk_crash_kinds[0]; i++) {
        if (!hvk_streq(kind, hvk_crash_kinds[i].name))
            continue;
        hvk_line_begin(&l, "crash");
        hvk_line_str(&l, "kind", kind);
        hvk_line_end(&l);
        hvk_crash_kinds[i].fn();
    }
}
