/* paging.c -- x86 paging mode selection, CPUID facts and the names of paging inputs. */
#include <x86/paging.h>

int x86_paging_mode(const struct x86_paging_regs *regs, enum x86_mode *mode,
                    struct hvk_err *err)
{
    if (!regs || !mode)
        return hvk_err_set(err, "x86_paging_mode: NULL argument");
    bool pg = regs->cr0 & X86_CR0_PG;
    bool pae = regs->cr4 & X86_CR4_PAE;
    bool lma = regs->efer & X86_EFER_LMA;

    if (lma && !pg)
        return hvk_err_set(err, "inconsistent paging state: EFER.LMA=1 with CR0.PG=0");
    if (lma && !pae)
        return hvk_err_set(err, "inconsistent paging state: EFER.LMA=1 with CR4.PAE=0");
    if (!pg)
        *mode = X86_MODE_OFF;
    else if (!pae)
        *mode = X86_MODE_32;
    else if (!lma)
        *mode = X86_MODE_PAE;
    else if (regs->cr4 & X86_CR4_LA57)
        *mode = X86_MODE_5LEVEL;
    else
        *mode = X86_MODE_4LEVEL;
    return 0;
}

const char *x86_mode_name(enum x86_mode mode)
{
    switch (mode) {
    case X86_MODE_OFF: return "off";
    case X86_MODE_32: return "32-bit";
    case X86_MODE_PAE: return "pae";
    case X86_MODE_4LEVEL: return "4-level";
    case X86_MODE_5LEVEL: return "5-level";
    }
    return "?";
}

const char *x86_access_type_name(enum x86_access_type type)
{
    switch (type) {
    case X86_ACCESS_READ: return "read";
    case X86_ACCESS_WRITE: return "write";
    case X86_ACCESS_FETCH: return "fetch";
    }
    return "?";
}

const char *x86_access_priv_name(enum x86_access_priv priv)
{
    switch (priv) {
    case X86_PRIV_USER: return "user";
    case X86_PRIV_SUPERVISOR: return "supervisor";
    case X86_PRIV_IMPLICIT: return "implicit";
    }
    return "?";
}

static const struct x86_cpuid_leaf *cpuid_find(const struct x86_cpuid_leaf *l, size_t n,
                                               uint32_t fn, uint32_t idx)
{
    for (size_t i = 0; i < n; i++)
        if (l[i].function == fn && l[i].index == idx)
            return &l[i];
    return NULL;
}

int x86_cpu_facts_from_cpuid(struct x86_cpu_facts *out,
                             const struct x86_cpuid_leaf *leaves, size_t n,
                             struct hvk_err *err)
{
    if (!out || (n > 0 && !leaves))
        return hvk_err_set(err, "x86_cpu_facts_from_cpuid: NULL argument");
    struct x86_cpu_facts f = {0};
    const struct x86_cpuid_leaf *l1 = cpuid_find(leaves, n, 1, 0);
    const struct x86_cpuid_leaf *l7 = cpuid_find(leaves, n, 7, 0);
    const struct x86_cpuid_leaf *e1 = cpuid_find(leaves, n, 0x80000001u, 0);
    const struct x86_cpuid_leaf *e8 = cpuid_find(leaves, n, 0x80000008u, 0);
    bool pae = false;

    if (l1) {
        f.pse = l1->edx & (1u << 3);
        pae = l1->edx & (1u << 6);
        f.pse36 = l1->edx & (1u << 17);
    }
    if (l7) {
        f.smep = l7->ebx & (1u << 7);
        f.smap = l7->ebx & (1u << 20);
        f.pku = l7->ecx & (1u << 3);
        f.la57 = l7->ecx & (1u << 16);
    }
    if (e1) {
        f.nx = e1->edx & (1u << 20);
        f.pdpe1gb = e1->edx & (1u << 26);
    }
    if (e8) {
        f.maxphyaddr = e8->eax & 0xff;
        if (f.maxphyaddr < 32 || f.maxphyaddr > 52)
            return hvk_err_set(err, "CPUID 0x80000008: MAXPHYADDR %u outside 32..52",
                               f.maxphyaddr);
    } else {
        f.maxphyaddr = pae ? 36 : 32;
    }
    *out = f;
    return 0;
}
