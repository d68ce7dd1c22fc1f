/* elf_load.c -- PVH ELF kernel loader (libelf). The image is untrusted:
 * every offset and size is checked before use. */
#include "elf_load.h"

#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "../core/vm.h"
#include "pvh.h"

#define ELF_MAX_SEGMENTS 64 /* a kernel has a handful; bounds the loops */

/* Look for XEN_ELFNOTE_PHYS32_ENTRY in one PT_NOTE segment. 1 found, 0 not
 * found, -1 malformed. */
static int elf_find_pvh_note(Elf *elf, const GElf_Phdr *ph, uint32_t *entry, struct hvk_err *err)
{
    Elf_Data *data = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset, ph->p_filesz,
                                          ph->p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
    if (!data)
        return 0; /* outside the file or misaligned: libelf refused it */
    size_t off = 0, name_off, desc_off;
    GElf_Nhdr nh;
    for (unsigned guard = 0; guard < 4096; guard++) {
        size_t next = gelf_getnote(data, off, &nh, &name_off, &desc_off);
        if (next == 0 || next <= off)
            return 0;
        off = next;
        if (nh.n_type != XEN_ELFNOTE_PHYS32_ENTRY || nh.n_namesz != 4 ||
            memcmp((const char *)data->d_buf + name_off, "Xen", 4) != 0)
            continue;
        const uint8_t *d = (const uint8_t *)data->d_buf + desc_off;
        uint64_t v = 0;
        if (nh.n_descsz == 4) {
            uint32_t v32;
            memcpy(&v32, d, 4);
            v = v32;
        } else if (nh.n_descsz == 8) {
            memcpy(&v, d, 8);
        } else {
            hvk_err_set(err, "PVH entry note has a %u-byte value; expected 4 or 8", nh.n_descsz);
            return -1;
        }
        if (v == 0 || v > UINT32_MAX) {
            hvk_err_set(err, "PVH entry 0x%llx is not a 32-bit physical address", (unsigned long long)v);
            return -1;
        }
        *entry = (uint32_t)v;
        return 1;
    }
    return 0;
}

static int elf_check_header(Elf *elf, struct hvk_err *err)
{
    if (elf_kind(elf) != ELF_K_ELF)
        return hvk_err_set(err, "not an ELF file");
    GElf_Ehdr eh;
    if (!gelf_getehdr(elf, &eh))
        return hvk_err_set(err, "malformed ELF header: %s", elf_errmsg(-1));
    int cls = gelf_getclass(elf);
    if (!((cls == ELFCLASS64 && eh.e_machine == EM_X86_64) || (cls == ELFCLASS32 && eh.e_machine == EM_386)))
        return hvk_err_set(err, "not an x86 ELF (machine %u)", eh.e_machine);
    if (eh.e_type != ET_EXEC)
        return hvk_err_set(err, "ELF type %u is not an executable", eh.e_type);
    return 0;
}

int hv_elf_load(struct hv_vm *vm, const void *image, size_t size, uint32_t *entry, struct hvk_err *err)
{
    int ret = -1;
    Elf *elf = NULL;
    /* libelf wants a writable buffer; never hand it the caller's memory. */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return hvk_err_set(err, "out of memory");
    memcpy(copy, image, size);

    if (elf_version(EV_CURRENT) == EV_NONE) {
        hvk_err_set(err, "libelf: %s", elf_errmsg(-1));
        goto out;
    }
    elf = elf_memory(copy, size);
    if (!elf) {
        hvk_err_set(err, "not an ELF file");
        goto out;
    }
    if (elf_check_header(elf, err) < 0)
        goto out;

    size_t nph;
    if (elf_getphdrnum(elf, &nph) != 0 || nph == 0) {
        hvk_err_set(err, "ELF has no program headers");
        goto out;
    }
    if (nph > ELF_MAX_SEGMENTS) {
        hvk_err_set(err, "ELF has %zu program headers; at most %d are accepted", nph, ELF_MAX_SEGMENTS);
        goto out;
    }

    bool have_entry = false;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph)) {
            hvk_err_set(err, "malformed program header %zu", i);
            goto out;
        }
        if (ph.p_type == PT_NOTE && !have_entry) {
            int r = elf_find_pvh_note(elf, &ph, entry, err);
            if (r < 0)
                goto out;
            have_entry = r == 1;
        }
    }
    if (!have_entry) {
        hvk_err_set(err, "no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): hv boots PVH ELF kernels only");
        goto out;
    }

    bool entry_loaded = false;
    unsigned loaded = 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (ph.p_filesz > ph.p_memsz || ph.p_offset > size || ph.p_filesz > size - ph.p_offset) {
            hvk_err_set(err, "segment %zu: file range 0x%llx+0x%llx lies outside the %zu-byte file", i,
                        (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz, size);
            goto out;
        }
        if (ph.p_paddr < HV_PVH_KERNEL_MIN_GPA) {
            hvk_err_set(err, "segment %zu loads at GPA 0x%llx, below 1 MiB where hv keeps its boot data", i,
                        (unsigned long long)ph.p_paddr);
            goto out;
        }
        uint8_t *dst = hv_vm_gpa_to_host(vm, ph.p_paddr, ph.p_memsz);
        if (!dst) {
            hvk_err_set(err, "segment %zu (GPA 0x%llx, %llu bytes) does not fit in guest RAM (%llu MiB); raise --mem",
                        i, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
                        (unsigned long long)(vm->ram_size >> 20));
            goto out;
        }
        memcpy(dst, copy + ph.p_offset, ph.p_filesz);
        memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
        if (*entry >= ph.p_paddr && *entry - ph.p_paddr < ph.p_memsz)
            entry_loaded = true;
        loaded++;
    }
    if (!loaded) {
        hvk_err_set(err, "ELF has no loadable segment");
        goto out;
    }
    if (!entry_loaded) {
        hvk_err_set(err, "PVH entry 0x%x is not inside any loaded segment", *entry);
        goto out;
    }
    ret = 0;
out:
    if (elf)
        elf_end(elf);
    free(copy);
    return ret;
}
