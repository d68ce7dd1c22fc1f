/* cpuid.c -- building each vCPU's CPUID table from what KVM supports. */
#include "cpuid.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define HV_CPUID_MAX_ENTRIES 4096 /* far above any real table; bounds the retry */

static size_t cpuid_bytes(unsigned nent)
{
    return sizeof(struct kvm_cpuid2) + (size_t)nent * sizeof(struct kvm_cpuid_entry2);
}

struct kvm_cpuid2 *hv_cpuid_get_supported(int kvm_fd, struct hvk_err *err)
{
    for (unsigned nent = 128; nent <= HV_CPUID_MAX_ENTRIES; nent *= 2) {
        struct kvm_cpuid2 *c = calloc(1, cpuid_bytes(nent));
        if (!c) {
            hvk_err_set(err, "out of memory");
            return NULL;
        }
        c->nent = nent;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        int e = errno;
        free(c);
        if (e != E2BIG) {
            hvk_err_set(err, "KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
            return NULL;
        }
    }
    hvk_err_set(err, "KVM_GET_SUPPORTED_CPUID: more than %d entries", HV_CPUID_MAX_ENTRIES);
    return NULL;
}

struct kvm_cpuid_entry2 *hv_cpuid_find(struct kvm_cpuid2 *cpuid, unsigned function, unsigned index)
{
    for (unsigned i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
        if (e->function != function)
            continue;
        if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
            continue;
        return e;
    }
    return NULL;
}

struct kvm_cpuid2 *hv_cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned index,
                                     unsigned nr_vcpus, struct hvk_err *err)
{
    size_t bytes = cpuid_bytes(supported->nent);
    struct kvm_cpuid2 *c = malloc(bytes);
    if (!c) {
        hvk_err_set(err, "out of memory");
        return NULL;
    }
    memcpy(c, supported, bytes);

    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            /* EBX[31:24] initial APIC ID, EBX[23:16] logical processors. */
            e->ebx = (e->ebx & 0x0000ffffu) | ((index & 0xffu) << 24) | ((nr_vcpus & 0xffu) << 16);
            e->ecx |= 1u << 31; /* running under a hypervisor */
            break;
        case 0xb:
        case 0x1f:
            e->edx = index; /* x2APIC ID, every subleaf */
            break;
        default:
            break;
        }
    }
    return c;
}
