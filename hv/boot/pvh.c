/* pvh.c -- PVH boot: start_info, E820-style memory map, command line, and
 * the entry state (32-bit protected mode, paging off, EBX = start_info). */
#include "pvh.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../core/vcpu.h"
#include "../core/vm.h"

#define PVH_SEL_CODE32 0x10
#define PVH_SEL_DATA32 0x18
#define X86_CR0_PE 0x1u
#define X86_CR0_ET 0x10u

/* Flat 4 GiB descriptors matching the selectors the entry state loads, so a
 * guest that reloads a segment before its own lgdt still sees flat memory. */
static const uint64_t pvh_boot_gdt[] = {
    0,
    0,
    0x00cf9b000000ffffull, /* 0x10: code, 32-bit, DPL0, base 0, limit 4G */
    0x00cf93000000ffffull, /* 0x18: data, DPL0, base 0, limit 4G */
};

static unsigned pvh_fill_memmap(struct hv_vm *vm, struct hvm_memmap_table_entry *map)
{
    unsigned n = 0;
    map[n++] = (struct hvm_memmap_table_entry){ .addr = 0, .size = 0x9fc00, .type = HV_E820_RAM };
    map[n++] = (struct hvm_memmap_table_entry){ .addr = 0x9fc00, .size = 0x100000 - 0x9fc00,
                                                .type = HV_E820_RESERVED };
    map[n++] = (struct hvm_memmap_table_entry){ .addr = 0x100000, .size = vm->regions[0].size - 0x100000,
                                                .type = HV_E820_RAM };
    if (vm->nr_regions > 1)
        map[n++] = (struct hvm_memmap_table_entry){ .addr = vm->regions[1].gpa, .size = vm->regions[1].size,
                                                    .type = HV_E820_RAM };
    return n;
}

int hv_pvh_setup(struct hv_vm *vm, const char *cmdline, struct hvk_err *err)
{
    size_t len = cmdline ? strlen(cmdline) : 0;
    if (len > HV_PVH_CMDLINE_MAX)
        return hvk_err_set(err, "--cmdline is %zu bytes; the limit is %u", len, HV_PVH_CMDLINE_MAX);
    if (vm->regions[0].size <= HV_PVH_KERNEL_MIN_GPA)
        return hvk_err_set(err, "guest RAM too small for a PVH boot");

    struct hvm_memmap_table_entry map[4];
    unsigned n = pvh_fill_memmap(vm, map);
    struct hvm_start_info si = {
        .magic = HVM_START_MAGIC_VALUE,
        .version = 1,
        .cmdline_paddr = HV_PVH_CMDLINE_GPA,
        .memmap_paddr = HV_PVH_MEMMAP_GPA,
        .memmap_entries = n,
    };
    char *dst = hv_vm_gpa_to_host(vm, HV_PVH_CMDLINE_GPA, HV_PVH_CMDLINE_MAX + 1);
    if (!dst || hv_vm_write_gpa(vm, HV_PVH_START_INFO_GPA, &si, sizeof si) < 0 ||
        hv_vm_write_gpa(vm, HV_PVH_MEMMAP_GPA, map, n * sizeof map[0]) < 0 ||
        hv_vm_write_gpa(vm, HV_PVH_BOOT_GDT_GPA, pvh_boot_gdt, sizeof pvh_boot_gdt) < 0)
        return hvk_err_set(err, "guest RAM too small for the PVH boot structures");
    memset(dst, 0, HV_PVH_CMDLINE_MAX + 1);
    if (len)
        memcpy(dst, cmdline, len);
    return 0;
}

static struct kvm_segment pvh_flat_segment(uint16_t selector, uint8_t type)
{
    return (struct kvm_segment){
        .base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
        .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
    };
}

int hv_pvh_vcpu_reset(struct hv_vcpu *vcpu, uint32_t entry, struct hvk_err *err)
{
    struct kvm_sregs s;
    if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
        return hvk_err_set(err, "KVM_GET_SREGS on vCPU %u: %s", vcpu->index, strerror(errno));
    s.cs = pvh_flat_segment(PVH_SEL_CODE32, 0xb);  /* execute/read, accessed */
    s.ds = s.es = s.fs = s.gs = s.ss = pvh_flat_segment(PVH_SEL_DATA32, 0x3); /* read/write, accessed */
    s.gdt.base = HV_PVH_BOOT_GDT_GPA;
    s.gdt.limit = sizeof pvh_boot_gdt - 1;
    s.cr0 = X86_CR0_PE | X86_CR0_ET;
    s.cr3 = 0;
    s.cr4 = 0;
    s.efer = 0;
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0)
        return hvk_err_set(err, "KVM_SET_SREGS on vCPU %u: %s", vcpu->index, strerror(errno));

    struct kvm_regs r = { .rip = entry, .rbx = HV_PVH_START_INFO_GPA, .rflags = 0x2 };
    if (ioctl(vcpu->fd, KVM_SET_REGS, &r) < 0)
        return hvk_err_set(err, "KVM_SET_REGS on vCPU %u: %s", vcpu->index, strerror(errno));
    return 0;
}
