/* exit_port.c -- the exit port (docs/guest-abi.md): a write ends the VM and
 * the value becomes hv's exit status; QEMU's isa-debug-exit sits at the same
 * port so the bundled guest needs no second way out. */
#include "exit_port.h"

#include <stdio.h>

#include "../core/vcpu.h"
#include "../core/vm.h"

static void exit_port_io(void *opaque, struct hv_vcpu *vcpu, uint64_t offset, uint8_t *data,
                         unsigned size, bool is_write)
{
    struct hv_vm *vm = opaque;
    if (!is_write) {
        for (unsigned i = 0; i < size; i++)
            data[i] = 0;
        return;
    }
    uint64_t value = 0;
    for (unsigned i = 0; i < size; i++)
        value |= (uint64_t)data[i] << (8 * (offset + i));
    int status = value > HV_EXIT_GUEST_MAX ? HV_EXIT_GUEST_MAX : (int)value;
    if (value > HV_EXIT_GUEST_MAX)
        fprintf(stderr, "hv: %s: guest wrote status %llu to the exit port (vCPU %u); reported as %d\n",
                vm->name, (unsigned long long)value, vcpu->index, status);
    else
        fprintf(stderr, "hv: %s: guest exited with status %d (vCPU %u)\n", vm->name, status, vcpu->index);
    hv_vm_end(vm, status);
}

int hv_exit_port_attach(struct hv_vm *vm, struct hvk_err *err)
{
    return hv_iobus_register(&vm->pio, "exit-port", HV_EXIT_PORT_BASE, HV_EXIT_PORT_LEN, exit_port_io,
                             vm, err);
}
