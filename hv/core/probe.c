/* probe.c -- capability probes: a few instructions of 32-bit protected-mode
 * code (paging off) in a throw-away VM, watched the way hv would watch a
 * guest. */
#include "probe.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROBE_MEM   0x10000u
#define PROBE_CODE  0x1000u
#define PROBE_DATA  0x2000u

struct probe_vm {
    int vm, vcpu, run_size;
    struct kvm_run *run;
    uint8_t *mem;
};

static void probe_close(struct probe_vm *p)
{
    if (p->run && p->run != MAP_FAILED)
        munmap(p->run, (size_t)p->run_size);
    if (p->vcpu >= 0)
        close(p->vcpu);
    if (p->vm >= 0)
        close(p->vm);
    if (p->mem && p->mem != MAP_FAILED)
        munmap(p->mem, PROBE_MEM);
}

/* A VM whose one vCPU is about to run `code` at PROBE_CODE under `dbg`. */
static bool probe_open(int kvm_fd, const uint8_t *code, size_t len, const struct kvm_guest_debug *dbg,
                       struct probe_vm *p)
{
    *p = (struct probe_vm){ .vm = -1, .vcpu = -1 };
    p->run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    p->mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p->mem == MAP_FAILED || p->run_size <= 0)
        return false;
    memcpy(p->mem + PROBE_CODE, code, len);
    p->vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    struct kvm_userspace_memory_region slot = { .slot = 0, .memory_size = PROBE_MEM,
                                                .userspace_addr = (uint64_t)(uintptr_t)p->mem };
    if (p->vm < 0 || ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return false;
    p->vcpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
    if (p->vcpu < 0)
        return false;
    p->run = mmap(NULL, (size_t)p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu, 0);
    struct kvm_sregs s;
    if (p->run == MAP_FAILED || ioctl(p->vcpu, KVM_GET_SREGS, &s) < 0)
        return false;
    struct kvm_segment cs = { .limit = 0xffffffff, .selector = 0x10, .type = 11, .present = 1, .db = 1, .s = 1,
                              .g = 1 };
    struct kvm_segment ds = cs;
    ds.selector = 0x18;
    ds.type = 3;
    s.cs = cs;
    s.ds = s.es = s.fs = s.gs = s.ss = ds;
    s.cr0 = 0x11;
    struct kvm_regs r = { .rip = PROBE_CODE, .rflags = 2, .rax = 0x1234 };
    return ioctl(p->vcpu, KVM_SET_SREGS, &s) == 0 && ioctl(p->vcpu, KVM_SET_REGS, &r) == 0 &&
           ioctl(p->vcpu, KVM_SET_GUEST_DEBUG, dbg) == 0;
}

/* One mov under a DR0 write watch, then hlt: a debug exit means data
 * breakpoints work; a hlt exit means the write ran unobserved (as on this
 * machine's kvm_pvm). */
bool hv_probe_data_breakpoints(int kvm_fd)
{
    static const uint8_t code[] = { 0xa3, 0x00, 0x20, 0x00, 0x00, /* mov [0x2000], eax */
                                    0xf4 };                       /* hlt */
    struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP };
    dbg.arch.debugreg[0] = PROBE_DATA;
    dbg.arch.debugreg[7] = 0x2 /* G0 */ | (1ull << 16) /* write */ | (3ull << 18) /* 4 bytes */ | (1u << 9);
    struct probe_vm p;
    bool works = probe_open(kvm_fd, code, sizeof code, &dbg, &p) && ioctl(p.vcpu, KVM_RUN, 0) == 0 &&
                 p.run->exit_reason == KVM_EXIT_DEBUG && (p.run->debug.arch.dr6 & 1u);
    probe_close(&p);
    return works;
}

/* An int3 under KVM_GUESTDBG_USE_SW_BP: a debug exit for #BP at the int3
 * means KVM's software breakpoints work. On this machine's kvm_pvm an int3
 * in kernel code fails instruction emulation instead. */
bool hv_probe_sw_breakpoints(int kvm_fd)
{
    static const uint8_t code[] = { 0xcc,   /* int3 */
                                    0xf4 }; /* hlt */
    struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP };
    struct probe_vm p;
    bool works = probe_open(kvm_fd, code, sizeof code, &dbg, &p) && ioctl(p.vcpu, KVM_RUN, 0) == 0 &&
                 p.run->exit_reason == KVM_EXIT_DEBUG && p.run->debug.arch.exception == 3 &&
                 p.run->debug.arch.pc == PROBE_CODE;
    probe_close(&p);
    return works;
}
