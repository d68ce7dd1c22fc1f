/* report.c -- the report hv prints when a guest cannot go on: reason, vCPU,
 * RIP, mode and every register a developer would look at first. */
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "vcpu.h"
#include "vm.h"

#define X86_CR0_PE   (1ull << 0)
#define X86_EFER_LMA (1ull << 10)

static const char *report_mode(const struct kvm_sregs *s)
{
    if (!(s->cr0 & X86_CR0_PE))
        return "real mode";
    if (s->efer & X86_EFER_LMA)
        return s->cs.l ? "64-bit mode" : "compatibility mode";
    return s->cs.db ? "32-bit protected mode" : "16-bit protected mode";
}

static void report_segment(FILE *f, const char *name, const struct kvm_segment *seg)
{
    fprintf(f, "  %-3s sel=0x%04x base=0x%016llx limit=0x%08x type=%u s=%u dpl=%u p=%u db=%u l=%u g=%u%s\n",
            name, seg->selector, (unsigned long long)seg->base, seg->limit, seg->type, seg->s, seg->dpl,
            seg->present, seg->db, seg->l, seg->g, seg->unusable ? " unusable" : "");
}

void hv_vcpu_report(struct hv_vcpu *vcpu, const char *fmt, ...)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    bool have_regs = ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0;
    bool have_sregs = ioctl(vcpu->fd, KVM_GET_SREGS, &s) == 0;
    FILE *f = stderr;
    va_list ap;

    flockfile(f);
    fprintf(f, "hv: %s: vCPU %u: ", vcpu->vm->name, vcpu->index);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    if (have_regs) {
        fprintf(f, "  rip=0x%016llx rflags=0x%08llx", (unsigned long long)r.rip, (unsigned long long)r.rflags);
        if (have_sregs)
            fprintf(f, "  %s, CPL %u", report_mode(&s), s.cs.selector & 3u);
        fputc('\n', f);
        fprintf(f, "  rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx\n",
                (unsigned long long)r.rax, (unsigned long long)r.rbx, (unsigned long long)r.rcx,
                (unsigned long long)r.rdx);
        fprintf(f, "  rsi=0x%016llx rdi=0x%016llx rbp=0x%016llx rsp=0x%016llx\n",
                (unsigned long long)r.rsi, (unsigned long long)r.rdi, (unsigned long long)r.rbp,
                (unsigned long long)r.rsp);
        fprintf(f, "  r8 =0x%016llx r9 =0x%016llx r10=0x%016llx r11=0x%016llx\n",
                (unsigned long long)r.r8, (unsigned long long)r.r9, (unsigned long long)r.r10,
                (unsigned long long)r.r11);
        fprintf(f, "  r12=0x%016llx r13=0x%016llx r14=0x%016llx r15=0x%016llx\n",
                (unsigned long long)r.r12, (unsigned long long)r.r13, (unsigned long long)r.r14,
                (unsigned long long)r.r15);
    } else {
        fprintf(f, "  (general registers unavailable)\n");
    }
    if (have_sregs) {
        fprintf(f, "  cr0=0x%016llx cr2=0x%016llx cr3=0x%016llx cr4=0x%016llx\n",
                (unsigned long long)s.cr0, (unsigned long long)s.cr2, (unsigned long long)s.cr3,
                (unsigned long long)s.cr4);
        fprintf(f, "  cr8=0x%016llx efer=0x%016llx apic_base=0x%016llx\n", (unsigned long long)s.cr8,
                (unsigned long long)s.efer, (unsigned long long)s.apic_base);
        report_segment(f, "cs", &s.cs);
        report_segment(f, "ss", &s.ss);
        report_segment(f, "ds", &s.ds);
        report_segment(f, "es", &s.es);
        report_segment(f, "fs", &s.fs);
        report_segment(f, "gs", &s.gs);
        report_segment(f, "tr", &s.tr);
        fprintf(f, "  gdt base=0x%016llx limit=0x%04x  idt base=0x%016llx limit=0x%04x\n",
                (unsigned long long)s.gdt.base, s.gdt.limit, (unsigned long long)s.idt.base, s.idt.limit);
    } else {
        fprintf(f, "  (system registers unavailable)\n");
    }
    fflush(f);
    funlockfile(f);
}
