/* exit.c -- what hv does with each KVM exit: port I/O and MMIO go to devices,
 * a halt parks the vCPU, anything hv cannot serve is reported and ends the VM. */
#include <linux/kvm.h>
#include <stdio.h>

#include "guestdbg.h"
#include "runctl.h"
#include "trace.h"
#include "vcpu.h"
#include "vm.h"

static const char *exit_reason_name(uint32_t reason)
{
    static const char *const names[] = {
        [KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
        [KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
        [KVM_EXIT_IO] = "KVM_EXIT_IO",
        [KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
        [KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
        [KVM_EXIT_HLT] = "KVM_EXIT_HLT",
        [KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
        [KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
        [KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
        [KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
        [KVM_EXIT_INTR] = "KVM_EXIT_INTR",
        [KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
        [KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
        [KVM_EXIT_NMI] = "KVM_EXIT_NMI",
        [KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
        [KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
    };
    if (reason < sizeof names / sizeof names[0] && names[reason])
        return names[reason];
    return "unknown exit reason";
}

static const char *internal_suberror_name(uint32_t sub)
{
    switch (sub) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
    default: return "unknown suberror";
    }
}

static bool exit_unhandled(struct hv_vcpu *vcpu)
{
    hv_vm_end(vcpu->vm, HV_EXIT_CRASHED);
    return false;
}

static bool exit_pio(struct hv_vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    unsigned size = run->io.size, count = run->io.count;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
    uint64_t bytes = (uint64_t)size * count;

    /* The data area lies inside the kvm_run mapping; check before touching it. */
    if (size == 0 || size > 4 || count == 0 ||
        run->io.data_offset > (uint64_t)vcpu->vm->vcpu_mmap_size ||
        bytes > (uint64_t)vcpu->vm->vcpu_mmap_size - run->io.data_offset) {
        hv_vcpu_report(vcpu, "malformed I/O exit from KVM (port 0x%x, size %u, count %u)",
                       run->io.port, size, count);
        return exit_unhandled(vcpu);
    }
    const struct hv_io_device *dev = hv_iobus_find(&vcpu->vm->pio, run->io.port, size);
    if (!dev) {
        uint64_t value = 0;
        if (is_write)
            for (unsigned i = 0; i < size; i++)
                value |= (uint64_t)((uint8_t *)run + run->io.data_offset)[i] << (8 * i);
        if (is_write)
            hv_vcpu_report(vcpu, "unhandled I/O: out to port 0x%x (%u byte%s, value 0x%llx%s): no device there",
                           run->io.port, size, size == 1 ? "" : "s", (unsigned long long)value,
                           count > 1 ? ", string I/O" : "");
        else
            hv_vcpu_report(vcpu, "unhandled I/O: in from port 0x%x (%u byte%s%s): no device there",
                           run->io.port, size, size == 1 ? "" : "s", count > 1 ? ", string I/O" : "");
        return exit_unhandled(vcpu);
    }
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    for (unsigned i = 0; i < count; i++, data += size)
        dev->handler(dev->opaque, vcpu, run->io.port - dev->base, data, size, is_write);
    return true;
}

static bool exit_mmio(struct hv_vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    unsigned len = run->mmio.len;
    if (len == 0 || len > sizeof run->mmio.data) {
        hv_vcpu_report(vcpu, "malformed MMIO exit from KVM (GPA 0x%llx, length %u)",
                       (unsigned long long)run->mmio.phys_addr, len);
        return exit_unhandled(vcpu);
    }
    if (vcpu->vm->runctl && hv_runctl_on_mmio(vcpu, run->mmio.phys_addr, len, run->mmio.is_write, run->mmio.data))
        return true; /* a write to a watched (read-only) RAM page */
    const struct hv_io_device *dev = hv_iobus_find(&vcpu->vm->mmio, run->mmio.phys_addr, len);
    if (!dev) {
        hv_vcpu_report(vcpu, "unhandled MMIO: %s of %u byte%s at GPA 0x%llx, outside guest RAM and every device",
                       run->mmio.is_write ? "write" : "read", len, len == 1 ? "" : "s",
                       (unsigned long long)run->mmio.phys_addr);
        return exit_unhandled(vcpu);
    }
    dev->handler(dev->opaque, vcpu, run->mmio.phys_addr - dev->base, run->mmio.data, len,
                 run->mmio.is_write);
    if (vcpu->vm->trace)
        hv_trace_on_mmio(vcpu, run->mmio.phys_addr, len, run->mmio.is_write, run->mmio.data);
    return true;
}

/* A hardware breakpoint or a single-step finished. Breakpoints belong to
 * fault tracing (gdb's come later); either way this vCPU now steps over
 * the instruction with the breakpoint off (guestdbg.c). */
static bool exit_debug(struct hv_vcpu *vcpu)
{
    int slot;
    switch (hv_vcpu_debug_exit(vcpu, &slot)) {
    case HV_DBG_BREAKPOINT: {
        struct hv_dr_slot s = hv_dr_get(vcpu->vm, slot);
        if (s.owner == HV_DR_TRACE) {
            hv_trace_on_breakpoint(vcpu, slot);
            hv_vcpu_step_over(vcpu, slot);
        } else if (s.owner == HV_DR_GDB) {
            hv_runctl_on_hw_break(vcpu, slot, &s);
        }
        return true;
    }
    case HV_DBG_SINGLE_STEP:
        hv_runctl_on_step(vcpu);
        return true;
    case HV_DBG_SW_BREAK:
        hv_runctl_on_int3(vcpu);
        return true;
    case HV_DBG_STEP_DONE:
        hv_trace_step_over_done(vcpu);
        return true;
    default:
        /* Not ours: a debug exit with no breakpoint or step of hv's (e.g. a
         * register freed while the exit was in flight). Resume. */
        return true;
    }
}

bool hv_vcpu_handle_exit(struct hv_vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        return exit_pio(vcpu);
    case KVM_EXIT_MMIO:
        return exit_mmio(vcpu);
    case KVM_EXIT_HLT:
        if (vcpu->vm->runctl && hv_runctl_on_hlt(vcpu))
            return true; /* one of hv's software breakpoints */
        /* hv has no interrupt source: nothing will ever wake this vCPU. */
        hv_vm_vcpu_halted(vcpu->vm, vcpu);
        return true;
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_DEBUG:
        return exit_debug(vcpu);
    case KVM_EXIT_SHUTDOWN:
        hv_vcpu_report(vcpu, "guest crashed: triple fault (KVM_EXIT_SHUTDOWN)");
        return exit_unhandled(vcpu);
    case KVM_EXIT_INTERNAL_ERROR: {
        char data[160] = "";
        size_t off = 0;
        uint32_t n = run->internal.ndata;
        if (n > sizeof run->internal.data / sizeof run->internal.data[0])
            n = sizeof run->internal.data / sizeof run->internal.data[0];
        for (uint32_t i = 0; i < n && off < sizeof data; i++)
            off += (size_t)snprintf(data + off, sizeof data - off, " 0x%llx",
                                    (unsigned long long)run->internal.data[i]);
        hv_vcpu_report(vcpu, "guest crashed: KVM internal error %u (%s)%s%s", run->internal.suberror,
                       internal_suberror_name(run->internal.suberror), n ? ", data" : "", data);
        return exit_unhandled(vcpu);
    }
    case KVM_EXIT_FAIL_ENTRY:
        hv_vcpu_report(vcpu, "guest crashed: VM entry failed, hardware reason 0x%llx",
                       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        return exit_unhandled(vcpu);
    case KVM_EXIT_SYSTEM_EVENT:
        hv_vcpu_report(vcpu, "guest requested a system event (type %u); hv does not reset or power-cycle guests",
                       run->system_event.type);
        return exit_unhandled(vcpu);
    default:
        hv_vcpu_report(vcpu, "unhandled KVM exit %u (%s)", run->exit_reason,
                       exit_reason_name(run->exit_reason));
        return exit_unhandled(vcpu);
    }
}
