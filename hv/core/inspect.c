/* inspect.c -- register snapshots, CPU facts and guest memory readers for
 * the control service. */
#include "inspect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpuid.h"
#include "vcpu.h"
#include "vm.h"

#define XSAVE_PKRU_COMPONENT 9

/* PKRU lives in the XSAVE area at the offset CPUID.0DH.9:EBX gives. */
static uint32_t snapshot_pkru(struct hv_vcpu *vcpu)
{
    struct kvm_cpuid_entry2 *e = hv_cpuid_find(vcpu->vm->supported_cpuid, 0xd, XSAVE_PKRU_COMPONENT);
    struct kvm_xsave xs;
    uint32_t pkru = 0;
    if (!e || e->eax < sizeof pkru || e->ebx > sizeof xs.region - sizeof pkru)
        return 0;
    if (ioctl(vcpu->fd, KVM_GET_XSAVE, &xs) < 0)
        return 0;
    memcpy(&pkru, (const uint8_t *)xs.region + e->ebx, sizeof pkru);
    return pkru;
}

static void snapshot_fill_paging(struct hv_snapshot *s)
{
    s->paging = (struct x86_paging_regs){
        .cr0 = s->sregs.cr0, .cr3 = s->sregs.cr3, .cr4 = s->sregs.cr4,
        .efer = s->sregs.efer, .rflags = s->regs.rflags, .pkru = s->pkru,
    };
}

int hv_snapshot_take(struct hv_vcpu *vcpu, struct hv_snapshot *s, struct hvk_err *err)
{
    memset(s, 0, sizeof *s);
    s->vcpu = vcpu->index;
    if (ioctl(vcpu->fd, KVM_GET_REGS, &s->regs) < 0)
        return hvk_err_set(err, "KVM_GET_REGS on vCPU %u: %s", vcpu->index, strerror(errno));
    if (ioctl(vcpu->fd, KVM_GET_SREGS, &s->sregs) < 0)
        return hvk_err_set(err, "KVM_GET_SREGS on vCPU %u: %s", vcpu->index, strerror(errno));
    if (s->sregs.cr4 & X86_CR4_PKE)
        s->pkru = snapshot_pkru(vcpu);
    snapshot_fill_paging(s);
    return 0;
}

int hv_snapshot_at_exit(struct hv_vcpu *vcpu, struct hv_snapshot *s, struct hvk_err *err)
{
    const uint64_t both = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    if ((vcpu->run->kvm_valid_regs & both) != both)
        return hv_snapshot_take(vcpu, s, err);
    memset(s, 0, sizeof *s);
    s->vcpu = vcpu->index;
    s->regs = vcpu->run->s.regs.regs;
    s->sregs = vcpu->run->s.regs.sregs;
    if (s->sregs.cr4 & X86_CR4_PKE)
        s->pkru = snapshot_pkru(vcpu);
    snapshot_fill_paging(s);
    return 0;
}

int hv_cpu_facts(struct hv_vm *vm, struct x86_cpu_facts *facts, struct hvk_err *err)
{
    const struct kvm_cpuid2 *c = vm->supported_cpuid;
    struct x86_cpuid_leaf *leaves = calloc(c->nent ? c->nent : 1, sizeof *leaves);
    if (!leaves)
        return hvk_err_set(err, "out of memory");
    for (unsigned i = 0; i < c->nent; i++)
        leaves[i] = (struct x86_cpuid_leaf){
            .function = c->entries[i].function, .index = c->entries[i].index,
            .eax = c->entries[i].eax, .ebx = c->entries[i].ebx,
            .ecx = c->entries[i].ecx, .edx = c->entries[i].edx,
        };
    int rc = x86_cpu_facts_from_cpuid(facts, leaves, c->nent, err);
    free(leaves);
    return rc;
}

static int inspect_read_gpa(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    return hv_vm_read_gpa(ctx, gpa, buf, len);
}

struct x86_mem hv_guest_mem(struct hv_vm *vm)
{
    return (struct x86_mem){ .read_gpa = inspect_read_gpa, .ctx = vm };
}

int hv_read_gva(struct hv_vm *vm, const struct hv_snapshot *s, const struct x86_cpu_facts *facts, uint64_t gva,
                void *buf, size_t len, uint64_t *bad_gva, struct hvk_err *err)
{
    struct x86_mem mem = hv_guest_mem(vm);
    uint8_t *out = buf;
    /* Supervisor reads: introspection sees what the kernel could read. */
    struct x86_access acc = { .type = X86_ACCESS_READ, .priv = X86_PRIV_IMPLICIT };
    while (len > 0) {
        struct x86_walk w;
        if (x86_walk(&s->paging, facts, &mem, gva, acc, &w, err) < 0) {
            *bad_gva = gva;
            return -1;
        }
        if (!w.mapped) {
            *bad_gva = gva;
            return hvk_err_set(err, "0x%llx does not translate: %s", (unsigned long long)gva, w.why);
        }
        uint64_t in_page = w.page_size - (w.gpa & (w.page_size - 1));
        size_t n = len < in_page ? len : (size_t)in_page;
        if (hv_vm_read_gpa(vm, w.gpa, out, n) < 0) {
            *bad_gva = gva;
            return hvk_err_set(err, "0x%llx translates to GPA 0x%llx, which is not guest RAM",
                               (unsigned long long)gva, (unsigned long long)w.gpa);
        }
        out += n;
        gva += n;
        len -= n;
    }
    return 0;
}

static int inspect_read_gva(void *ctx, uint64_t gva, void *buf, size_t len)
{
    struct hv_gva_ctx *c = ctx;
    uint64_t bad;
    return hv_read_gva(c->vm, c->snap, c->facts, gva, buf, len, &bad, NULL);
}

struct x86_gva_reader hv_gva_reader(struct hv_gva_ctx *ctx)
{
    return (struct x86_gva_reader){ .read_gva = inspect_read_gva, .ctx = ctx };
}
