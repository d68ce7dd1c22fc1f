/* machine.h -- the whole hv machine assembled from its parts: a VM with the
 * standard devices and a PVH kernel loaded, ready to start. `hv run` and the
 * in-process tests build it the same way. */
#ifndef HV_MACHINE_H
#define HV_MACHINE_H

#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>

#include "../devices/serial.h"
#include "../devices/test_mmio.h"
#include "vm.h"

struct hvsym_table;

struct hv_machine_config {
    const char *name;
    uint64_t mem_size;
    unsigned nr_vcpus;
    const void *image;        /* the kernel ELF's bytes (not kept after create) */
    size_t image_len;
    const char *cmdline;
    int console_fd;           /* -1: console only to the sink, if any */
};

struct hv_machine {
    struct hv_vm *vm;
    struct hv_serial uart;
    struct hv_test_mmio test_mmio;
    uint32_t entry;
    struct hvsym_table *symbols;  /* the kernel's function symbols, or NULL */
};

/* Create the VM, attach devices, load the kernel and put every vCPU at the
 * PVH entry. On failure err->code holds the hv exit status that fits. */
struct hv_machine *hv_machine_create(const struct hv_machine_config *cfg, struct hvk_err *err);
void hv_machine_destroy(struct hv_machine *m);

#endif
