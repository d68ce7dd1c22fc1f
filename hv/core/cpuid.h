/* cpuid.h -- the CPUID a vCPU sees: what KVM supports, with per-vCPU topology. */
#ifndef HV_CPUID_H
#define HV_CPUID_H

#include <hvkit/error.h>

struct kvm_cpuid2;

/* KVM_GET_SUPPORTED_CPUID, sized as the kernel needs. Caller frees. */
struct kvm_cpuid2 *hv_cpuid_get_supported(int kvm_fd, struct hvk_err *err);
/* A copy of `supported` for vCPU `index` of `nr_vcpus`: initial APIC ID and
 * x2APIC ID = index (docs/guest-abi.md, SMP), hypervisor bit set. Caller frees. */
struct kvm_cpuid2 *hv_cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned index,
                                     unsigned nr_vcpus, struct hvk_err *err);
/* Find a leaf/subleaf in a CPUID table, or NULL. */
struct kvm_cpuid_entry2 *hv_cpuid_find(struct kvm_cpuid2 *cpuid, unsigned function, unsigned index);

#endif
