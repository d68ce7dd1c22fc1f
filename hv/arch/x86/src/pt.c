/* pt.c -- decoding of one x86 paging-structure entry (SDM Vol 3A 4.3-4.5 tables). */
#include "pt.h"

int pt_ctx_init(struct pt_ctx *ctx, const struct x86_paging_regs *regs,
                const struct x86_cpu_facts *cpu, struct hvk_err *err)
{
    if (!ctx || !regs || !cpu)
        return hvk_err_set(err, "x86 paging: NULL argument");
    if (cpu->maxphyaddr < 32 || cpu->maxphyaddr > 52)
        return hvk_err_set(err, "MAXPHYADDR %u outside 32..52", cpu->maxphyaddr);
    if (x86_paging_mode(regs, &ctx->mode, err) < 0)
        return -1;
    /* fields written one by one: this runs on every walk */
    uint64_t cr4 = regs->cr4;
    bool wide = ctx->mode != X86_MODE_OFF && ctx->mode != X86_MODE_32;
    bool ia32e = ctx->mode == X86_MODE_4LEVEL || ctx->mode == X86_MODE_5LEVEL;
    ctx->maxphy = cpu->maxphyaddr;
    ctx->nxe = wide && (regs->efer & X86_EFER_NXE);
    ctx->pse = cr4 & X86_CR4_PSE;
    ctx->pse36 = cpu->pse36;
    ctx->pdpe1gb = cpu->pdpe1gb;
    ctx->pke = ia32e && (cr4 & X86_CR4_PKE);
    ctx->wp = regs->cr0 & X86_CR0_WP;
    ctx->smep = cr4 & X86_CR4_SMEP;
    ctx->smap = cr4 & X86_CR4_SMAP;
    ctx->ac = regs->rflags & X86_RFLAGS_AC;
    ctx->pkru = regs->pkru;
    return 0;
}
