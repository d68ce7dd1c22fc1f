/* pvh.h -- booting a kernel through the PVH entry (docs/guest-abi.md): the
 * hvm_start_info, memory map and command line in guest RAM, and the 32-bit
 * protected-mode entry state of every vCPU. */
#ifndef HV_PVH_H
#define HV_PVH_H

#include <stdint.h>

#include <hvkit/error.h>

struct hv_vm;
struct hv_vcpu;

#define HV_PVH_BOOT_GDT_GPA   0x5000ull
#define HV_PVH_START_INFO_GPA 0x6000ull
#define HV_PVH_MEMMAP_GPA     0x6040ull
#define HV_PVH_CMDLINE_GPA    0x7000ull
#define HV_PVH_CMDLINE_MAX    4095u     /* bytes, without the NUL */
#define HV_PVH_KERNEL_MIN_GPA 0x100000ull

/* The layout of Xen's public arch-x86/hvm/start_info.h, version 1. */
#define HVM_START_MAGIC_VALUE 0x336ec578u
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

#define HV_E820_RAM      1u
#define HV_E820_RESERVED 2u

/* Write start_info, memory map, command line and a boot GDT into guest RAM. */
int hv_pvh_setup(struct hv_vm *vm, const char *cmdline, struct hvk_err *err);
/* Put a vCPU in the PVH entry state at `entry`. */
int hv_pvh_vcpu_reset(struct hv_vcpu *vcpu, uint32_t entry, struct hvk_err *err);

#endif
