/* exit_port.h -- port 0x501: the guest ends the VM with a status. */
#ifndef HV_EXIT_PORT_H
#define HV_EXIT_PORT_H

#include <hvkit/error.h>

struct hv_vm;

#define HV_EXIT_PORT_BASE 0x501
#define HV_EXIT_PORT_LEN  4

int hv_exit_port_attach(struct hv_vm *vm, struct hvk_err *err);

#endif
