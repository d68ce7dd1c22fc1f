/* probe.c -- the data-breakpoint probe: 32-bit protected mode, paging off,
 * one `mov [0x2000], eax` under a DR0 write watch on 0x2000, then `hlt`.
 * A debug exit means watchpoints work; a hlt exit means the write ran
 * unobserved (as on this machine's kvm_pvm). */
#include "probe.h"

#include <fcntl.h>
#include <stdint.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROBE_MEM   0x10000u
#define PROBE_CODE  0x1000u
#define PROBE_DATA  0x2000u

bool hv_probe_data_breakpoints(int kvm_fd)
{
    static const uint8_t code[] = { 0xa3, 0x00, 0x20, 0x00, 0x00, /* mov [0x2000], eax */
                                    0xf4 };                       /* hlt */
    bool works = false;
    int vm = -1, vcpu = -1;
    struct kvm_run *run = MAP_FAILED;
    int run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    uint8_t *mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED || run_size <= 0)
        goto out;
    memcpy(mem + PROBE_CODE, code, sizeof code);
    vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    struct kvm_userspace_memory_region slot = { .slot = 0, .memory_size = PROBE_MEM,
                                                .userspace_addr = (uint64_t)(uintptr_t)mem };
    if (vm < 0 || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        goto out;
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        goto out;
    run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs s;
    if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
        goto out;
    struct kvm_segment cs = { .limit = 0xffffffff, .selector = 0x10, .type = 11, .present = 1, .db = 1, .s = 1,
                              .g = 1 };
    struct kvm_segment ds = cs;
    ds.selector = 0x18;
    ds.type = 3;
    s.cs = cs;
    s.ds = s.es = s.fs = s.gs = s.ss = ds;
    s.cr0 = 0x11;
    struct kvm_regs r = { .rip = PROBE_CODE, .rflags = 2, .rax = 0x1234 };
    struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP };
    dbg.arch.debugreg[0] = PROBE_DATA;
    dbg.arch.debugreg[7] = 0x2 /* G0 */ | (1ull << 16) /* write */ | (3ull << 18) /* 4 bytes */ | (1u << 9);
    if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0 || ioctl(vcpu, KVM_SET_REGS, &r) < 0 ||
        ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0 || ioctl(vcpu, KVM_RUN, 0) < 0)
        goto out;
    works = run->exit_reason == KVM_EXIT_DEBUG && (run->debug.arch.dr6 & 1u);
out:
    if (run != MAP_FAILED)
        munmap(run, (size_t)run_size);
    if (vcpu >= 0)
        close(vcpu);
    if (vm >= 0)
        close(vm);
    if (mem != MAP_FAILED)
        munmap(mem, PROBE_MEM);
    return works;
}
