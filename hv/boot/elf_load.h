/* elf_load.h -- loading a PVH ELF kernel into guest RAM. */
#ifndef HV_ELF_LOAD_H
#define HV_ELF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>

struct hv_vm;

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* Validate `image` (the ELF file's bytes; untrusted), copy its PT_LOAD
 * segments to their p_paddr in guest RAM, and return the PVH entry point. */
int hv_elf_load(struct hv_vm *vm, const void *image, size_t size, uint32_t *entry, struct hvk_err *err);

#endif
