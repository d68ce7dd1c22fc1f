/* machine.c -- assembling a bootable machine: VM, devices, kernel, vCPUs. */
#include "machine.h"

#include <stdio.h>
#include <stdlib.h>

#include <hvkit/hvsym.h>

#include "../boot/elf_load.h"
#include "../boot/pvh.h"
#include "../devices/exit_port.h"
#include "vcpu.h"

struct hv_machine *hv_machine_create(const struct hv_machine_config *cfg, struct hvk_err *err)
{
    struct hv_machine *m = calloc(1, sizeof *m);
    if (!m) {
        hvk_err_set(err, "out of memory");
        hvk_err_code(err, HV_EXIT_INTERNAL);
        return NULL;
    }
    struct hv_vm_config vc = { .name = cfg->name, .mem_size = cfg->mem_size, .nr_vcpus = cfg->nr_vcpus };
    m->vm = hv_vm_create(&vc, err);
    if (!m->vm) {
        if (err && !err->code)
            hvk_err_code(err, HV_EXIT_INTERNAL);
        goto fail;
    }
    if (hv_elf_load(m->vm, cfg->image, cfg->image_len, &m->entry, err) < 0) {
        hvk_err_code(err, HV_EXIT_BAD_INPUT);
        goto fail;
    }
    if (hv_serial_attach(&m->uart, m->vm, cfg->console_fd, err) < 0 || hv_exit_port_attach(m->vm, err) < 0 ||
        hv_test_mmio_attach(&m->test_mmio, m->vm, err) < 0 || hv_pvh_setup(m->vm, cfg->cmdline, err) < 0) {
        hvk_err_code(err, HV_EXIT_INTERNAL);
        goto fail;
    }
    /* Symbols make stacks readable; a kernel without them still boots. */
    struct hvk_err serr = { "", 0 };
    m->symbols = hvsym_load_elf_mem(cfg->image, cfg->image_len, &serr);
    if (!m->symbols)
        fprintf(stderr, "hv: %s: no kernel symbols, stacks will show bare addresses (%s)\n", m->vm->name, serr.msg);
    for (unsigned i = 0; i < m->vm->nr_vcpus; i++) {
        if (hv_pvh_vcpu_reset(&m->vm->vcpus[i], m->entry, err) < 0) {
            hvk_err_code(err, HV_EXIT_INTERNAL);
            goto fail;
        }
    }
    return m;
fail:
    hv_machine_destroy(m);
    return NULL;
}

void hv_machine_destroy(struct hv_machine *m)
{
    if (!m)
        return;
    hv_vm_destroy(m->vm);
    hvsym_free(m->symbols);
    free(m);
}
