/* dump.c -- open an ELF core dump of a guest: validate the ELF and program
 * headers with libelf, index guest RAM from PT_LOAD, read guest-physical
 * memory. CPU notes are in dump_notes.c. */
#include "dump_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int dump_ram_cmp(const void *a, const void *b)
{
    const struct dump_ram *x = a, *y = b;
    return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

static int dump_check_ident(const uint8_t *b, size_t len, struct hvk_err *err)
{
    if (len < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG) != 0)
        return hvk_err_set(err, "not an ELF file");
    if (b[EI_CLASS] != ELFCLASS64 && b[EI_CLASS] != ELFCLASS32)
        return hvk_err_set(err, "bad ELF class %u", b[EI_CLASS]);
    /* x86 dumps are little-endian; refusing others also keeps libelf from
     * converting anything in place. */
    if (b[EI_DATA] != ELFDATA2LSB)
        return hvk_err_set(err, "not a little-endian ELF file (EI_DATA %u)", b[EI_DATA]);
    return 0;
}

/* Walk the program headers: PT_LOAD -> RAM index, PT_NOTE -> CPU notes. */
static int dump_load_phdrs(struct dump_core *core, Elf *elf, struct hvk_err *err)
{
    GElf_Ehdr eh;
    size_t phnum, nnotes = 0, i;

    if (!gelf_getehdr(elf, &eh))
        return hvk_err_set(err, "bad ELF header: %s", elf_errmsg(-1));
    if (eh.e_type != ET_CORE)
        return hvk_err_set(err, "not a core dump (e_type %u)", (unsigned)eh.e_type);
    if (eh.e_machine != EM_X86_64 && eh.e_machine != EM_386)
        return hvk_err_set(err, "not an x86 dump (e_machine %u)", (unsigned)eh.e_machine);
    core->machine = eh.e_machine;
    core->elf_class = gelf_getclass(elf) == ELFCLASS64 ? 64 : 32;

    /* libelf quietly clamps a table that overruns the file: check the
     * declared count ourselves (PN_XNUM: the real count is in section 0). */
    phnum = eh.e_phnum;
    if (phnum == PN_XNUM && elf_getphdrnum(elf, &phnum) != 0)
        return hvk_err_set(err, "bad program header count: %s", elf_errmsg(-1));
    if (phnum == 0)
        return hvk_err_set(err, "no program headers");
    if (phnum > DUMP_MAX_SEGMENTS + 64)
        return hvk_err_set(err, "too many program headers (%zu, limit %u)",
                           phnum, DUMP_MAX_SEGMENTS + 64);
    if (eh.e_phentsize != (core->elf_class == 64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
        return hvk_err_set(err, "bad e_phentsize %u", (unsigned)eh.e_phentsize);
    if (!dump_in_file(eh.e_phoff, (uint64_t)phnum * eh.e_phentsize, core->len))
        return hvk_err_set(err, "program headers [0x%llx, +%zu*%u) beyond end of file (%zu bytes)",
                           (unsigned long long)eh.e_phoff, phnum,
                           (unsigned)eh.e_phentsize, core->len);

    {
        size_t lib_phnum;
        if (elf_getphdrnum(elf, &lib_phnum) != 0 || lib_phnum != phnum)
            return hvk_err_set(err, "bad program header count %zu", phnum);
    }
    core->ram = calloc(phnum, sizeof *core->ram);
    if (!core->ram)
        return hvk_err_set(err, "out of memory");

    for (i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph))
            return hvk_err_set(err, "program header %zu: %s", i, elf_errmsg(-1));
        if (ph.p_type == PT_NOTE) {
            if (!dump_in_file(ph.p_offset, ph.p_filesz, core->len))
                return hvk_err_set(err, "PT_NOTE %zu [0x%llx, +0x%llx) beyond end of file "
                                   "(%zu bytes): truncated dump?", i,
                                   (unsigned long long)ph.p_offset,
                                   (unsigned long long)ph.p_filesz, core->len);
            if (dump_notes_parse(core, ph.p_offset, ph.p_filesz, &nnotes, err) < 0)
                return hvk_err_prefix(err, "PT_NOTE %zu", i);
            continue;
        }
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (core->nram >= DUMP_MAX_SEGMENTS)
            return hvk_err_set(err, "more than %u PT_LOAD segments", DUMP_MAX_SEGMENTS);
        if (ph.p_filesz > ph.p_memsz)
            return hvk_err_set(err, "PT_LOAD %zu: p_filesz 0x%llx > p_memsz 0x%llx", i,
                               (unsigned long long)ph.p_filesz,
                               (unsigned long long)ph.p_memsz);
        if (ph.p_paddr + ph.p_memsz < ph.p_paddr)
            return hvk_err_set(err, "PT_LOAD %zu: GPA range 0x%llx+0x%llx wraps around", i,
                               (unsigned long long)ph.p_paddr,
                               (unsigned long long)ph.p_memsz);
        if (!dump_in_file(ph.p_offset, ph.p_filesz, core->len))
            return hvk_err_set(err, "PT_LOAD %zu (GPA 0x%llx) [0x%llx, +0x%llx) beyond end of "
                               "file (%zu bytes): truncated dump?", i,
                               (unsigned long long)ph.p_paddr,
                               (unsigned long long)ph.p_offset,
                               (unsigned long long)ph.p_filesz, core->len);
        core->ram[core->nram++] = (struct dump_ram){
            .gpa = ph.p_paddr, .size = ph.p_memsz,
            .file_off = ph.p_offset, .filesz = ph.p_filesz,
        };
    }
    if (core->nram == 0)
        return hvk_err_set(err, "no guest RAM (no PT_LOAD segment)");

    qsort(core->ram, core->nram, sizeof *core->ram, dump_ram_cmp);
    for (i = 1; i < core->nram; i++) {
        const struct dump_ram *a = &core->ram[i - 1], *b = &core->ram[i];
        /* a->gpa + a->size cannot wrap: checked above. */
        if (b->gpa < a->gpa + a->size)
            return hvk_err_set(err, "PT_LOAD segments overlap at GPA 0x%llx (a dump made with "
                               "paging, -p, is not supported: dump without -p)",
                               (unsigned long long)b->gpa);
    }
    return dump_notes_finish(core, err);
}

int dump_open_mem(const void *buf, size_t len, struct dump_core **out,
                  struct hvk_err *err)
{
    struct dump_core *core;
    Elf *elf;
    int rc;

    *out = NULL;
    if (dump_check_ident(buf, len, err) < 0)
        return -1;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return hvk_err_set(err, "libelf: %s", elf_errmsg(-1));
    core = calloc(1, sizeof *core);
    if (!core)
        return hvk_err_set(err, "out of memory");
    core->base = buf;
    core->len = len;
    /* libelf only reads a native-endian image (checked above). */
    elf = elf_memory((char *)(uintptr_t)buf, len);
    if (!elf) {
        dump_close(core);
        return hvk_err_set(err, "libelf: %s", elf_errmsg(-1));
    }
    rc = elf_kind(elf) == ELF_K_ELF ? dump_load_phdrs(core, elf, err)
                                    : hvk_err_set(err, "not an ELF object");
    elf_end(elf);
    if (rc < 0) {
        dump_close(core);
        return -1;
    }
    *out = core;
    return 0;
}

int dump_open(const char *path, struct dump_core **out, struct hvk_err *err)
{
    struct stat st;
    void *map;
    int fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hvk_err_set(err, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hvk_err_set(err, "%s: not a regular file", path);
    }
    if (st.st_size < EI_NIDENT) {
        close(fd);
        return hvk_err_set(err, "%s: not an ELF file (%lld bytes)", path,
                           (long long)st.st_size);
    }
    /* Private and read-only: a change to the file while we run cannot be
     * written back, and every later read is bounds-checked against len. */
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return hvk_err_set(err, "%s: mmap: %s", path, strerror(errno));
    if (dump_open_mem(map, (size_t)st.st_size, out, err) < 0) {
        munmap(map, (size_t)st.st_size);
        return hvk_err_prefix(err, "%s", path);
    }
    (*out)->map = map;
    return 0;
}

void dump_close(struct dump_core *core)
{
    if (!core)
        return;
    if (core->map)
        munmap(core->map, core->len);
    free(core->ram);
    free(core->vcpu);
    free(core->prs);
    free(core->qemu);
    free(core);
}

unsigned dump_machine(const struct dump_core *core) { return core->machine; }
unsigned dump_elf_class(const struct dump_core *core) { return core->elf_class; }
size_t dump_ram_count(const struct dump_core *core) { return core->nram; }
size_t dump_vcpu_count(const struct dump_core *core) { return core->nvcpu; }

const struct dump_ram *dump_ram_at(const struct dump_core *core, size_t i)
{
    return i < core->nram ? &core->ram[i] : NULL;
}

const struct dump_vcpu *dump_vcpu_at(const struct dump_core *core, size_t i)
{
    return i < core->nvcpu ? &core->vcpu[i] : NULL;
}

/* Index of the segment containing gpa, or -1. */
static long dump_find(const struct dump_core *core, uint64_t gpa)
{
    size_t lo = 0, hi = core->nram;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct dump_ram *r = &core->ram[mid];
        if (gpa < r->gpa)
            hi = mid;
        else if (gpa - r->gpa >= r->size)
            lo = mid + 1;
        else
            return (long)mid;
    }
    return -1;
}

int dump_read_gpa(const struct dump_core *core, uint64_t gpa, void *buf,
                  size_t len, struct hvk_err *err)
{
    uint8_t *out = buf;
    long i;

    if (len == 0)
        return 0;
    if (gpa + len - 1 < gpa)
        return hvk_err_set(err, "GPA range 0x%llx+%zu wraps around",
                           (unsigned long long)gpa, len);
    i = dump_find(core, gpa);
    /* Each pass consumes the rest of one segment, so at most nram passes. */
    while (len > 0) {
        const struct dump_ram *r;
        uint64_t in_seg, n;
        if (i < 0 || (size_t)i >= core->nram || gpa < core->ram[i].gpa ||
            gpa - core->ram[i].gpa >= core->ram[i].size)
            return hvk_err_set(err, "GPA 0x%llx is not in the dump's RAM",
                               (unsigned long long)gpa);
        r = &core->ram[i];
        in_seg = gpa - r->gpa;
        n = r->size - in_seg;
        if (n > len)
            n = len;
        if (in_seg < r->filesz) {
            uint64_t f = r->filesz - in_seg < n ? r->filesz - in_seg : n;
            memcpy(out, core->base + r->file_off + in_seg, f);
            memset(out + f, 0, n - f);
        } else {
            memset(out, 0, n);
        }
        out += n;
        gpa += n;
        len -= n;
        i++;
    }
    return 0;
}

int dump_gpa_reader(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    return dump_read_gpa(opaque, gpa, buf, len, NULL);
}
