/* kvm_step_rate.c -- KVM's own single-step rate on this host, the floor for
 * any debugger stepping through hvd: a tiny real-mode guest (a two-instruction
 * loop), KVM_GUESTDBG_SINGLESTEP, and KVM_RUN until KVM_EXIT_DEBUG, counted
 * for a fixed time. Prints "kvm_singlestep_per_s N" or "kvm_singlestep
 * unavailable: WHY" (exit 0 either way; 2 on bad usage).
 *
 *   kvm_step_rate [SECONDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int unavailable(const char *what)
{
    printf("kvm_singlestep unavailable: %s: %s\n", what, strerror(errno));
    return 0;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (argc > 2 || secs <= 0 || secs > 600) {
        fprintf(stderr, "usage: kvm_step_rate [SECONDS]\n");
        return 2;
    }
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return unavailable("open /dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return unavailable("KVM_CREATE_VM");
    size_t memsz = 0x10000;
    uint8_t *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return unavailable("mmap");
    /* 0x1000: inc %ax; jmp 0x1000 */
    static const uint8_t code[] = {0x40, 0xeb, 0xfd};
    memcpy(mem + 0x1000, code, sizeof code);
    struct kvm_userspace_memory_region r = {.slot = 0, .guest_phys_addr = 0, .memory_size = memsz,
                                            .userspace_addr = (uint64_t)(uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return unavailable("KVM_SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        return unavailable("KVM_CREATE_VCPU");
    int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = runsz > 0 ? mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0) : MAP_FAILED;
    if (run == MAP_FAILED)
        return unavailable("mmap kvm_run");
    struct kvm_sregs sr;
    if (ioctl(vcpu, KVM_GET_SREGS, &sr) < 0)
        return unavailable("KVM_GET_SREGS");
    sr.cs.base = 0;
    sr.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sr) < 0)
        return unavailable("KVM_SET_SREGS");
    struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        return unavailable("KVM_SET_REGS");
    struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP};
    if (ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0)
        return unavailable("KVM_SET_GUEST_DEBUG");
    unsigned long steps = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 256; i++) {
            if (ioctl(vcpu, KVM_RUN, 0) < 0)
                return unavailable("KVM_RUN");
            if (run->exit_reason != KVM_EXIT_DEBUG) {
                printf("kvm_singlestep unavailable: KVM_RUN exited with reason %u, not KVM_EXIT_DEBUG\n",
                       run->exit_reason);
                return 0;
            }
            steps++;
        }
        t = now_s() - t0;
    } while (t < secs);
    if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
        return unavailable("KVM_GET_REGS");
    /* Every other step is an inc: the guest really ran step by step. */
    if ((regs.rax & 0xffff) != ((steps + 1) / 2 & 0xffff)) {
        printf("kvm_singlestep unavailable: ax is 0x%llx after %lu steps (want 0x%lx): not one instruction per exit\n",
               (unsigned long long)regs.rax, steps, (steps + 1) / 2 & 0xffff);
        return 0;
    }
    printf("kvm_singlestep_per_s %.0f\n", (double)steps / t);
    return 0;
}
