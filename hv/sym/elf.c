/* elf.c -- hvsym's ELF loader: function symbols and executable sections via libelf, from a file or an image in memory. */
#include "sym_int.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rank among aliases at one address (lower wins): FUNC before NOTYPE,
 * GLOBAL before WEAK before LOCAL, and names with a leading '_' (markers
 * such as __text_start) after the rest. */
static unsigned symelf_rank(const GElf_Sym *s, const char *name)
{
    unsigned r = GELF_ST_TYPE(s->st_info) == STT_FUNC ? 0 : 3;
    unsigned b = GELF_ST_BIND(s->st_info);
    r += b == STB_GLOBAL ? 0 : b == STB_WEAK ? 1 : 2;
    return r + (name[0] == '_' ? 6 : 0);
}

static int symelf_read(Elf *e, struct hvsym_table *t, struct hvk_err *err)
{
    size_t shnum;
    Elf_Scn *symscn = NULL, *dynscn = NULL;
    bool *exec = NULL;
    int ret = -1;

    if (elf_kind(e) != ELF_K_ELF)
        return hvk_err_set(err, "not an ELF file");
    if (gelf_getclass(e) == ELFCLASSNONE)
        return hvk_err_set(err, "bad ELF class: %s", elf_errmsg(-1));
    if (elf_getshdrnum(e, &shnum) != 0)
        return hvk_err_set(err, "cannot read the section count: %s", elf_errmsg(-1));
    if (shnum > HVSYM_ELF_MAX_SECTIONS)
        return hvk_err_set(err, "%zu sections is more than %u", shnum, HVSYM_ELF_MAX_SECTIONS);
    exec = calloc(shnum ? shnum : 1, sizeof *exec);
    if (!exec)
        return hvk_err_set(err, "out of memory");

    /* elf_nextscn visits each of the shnum sections once */
    for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
        GElf_Shdr sh;
        size_t idx = elf_ndxscn(scn);
        if (!gelf_getshdr(scn, &sh)) {
            hvk_err_set(err, "section %zu: %s", idx, elf_errmsg(-1));
            goto out;
        }
        if (sh.sh_type == SHT_SYMTAB && !symscn)
            symscn = scn;
        if (sh.sh_type == SHT_DYNSYM && !dynscn)
            dynscn = scn;
        if ((sh.sh_flags & SHF_ALLOC) && (sh.sh_flags & SHF_EXECINSTR) &&
            sh.sh_type != SHT_NOBITS && sh.sh_size > 0 && idx < shnum) {
            uint64_t end = sh.sh_addr + sh.sh_size;
            if (end < sh.sh_addr)
                end = UINT64_MAX;
            exec[idx] = true;
            if (hvsym_tab_add_text(t, sh.sh_addr, end, err) < 0)
                goto out;
        }
    }
    if (!symscn)
        symscn = dynscn;
    if (!symscn) {
        hvk_err_set(err, "no symbol table (.symtab or .dynsym): stripped?");
        goto out;
    }

    GElf_Shdr ssh;
    Elf_Data *data;
    if (!gelf_getshdr(symscn, &ssh) || !(data = elf_getdata(symscn, NULL))) {
        hvk_err_set(err, "cannot read the symbol table: %s", elf_errmsg(-1));
        goto out;
    }
    size_t entsize = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
    if (entsize == 0) {
        hvk_err_set(err, "bad symbol entry size");
        goto out;
    }
    size_t nsyms = data->d_size / entsize;
    if (nsyms > HVSYM_MAX_SYMBOLS) {
        hvk_err_set(err, "symbol table of %zu entries is more than %u", nsyms, HVSYM_MAX_SYMBOLS);
        goto out;
    }
    for (size_t i = 1; i < nsyms; i++) {
        GElf_Sym s;
        if (!gelf_getsym(data, (int)i, &s)) {
            hvk_err_set(err, "symbol %zu: %s", i, elf_errmsg(-1));
            goto out;
        }
        unsigned type = GELF_ST_TYPE(s.st_info);
        if (type != STT_FUNC && type != STT_NOTYPE)
            continue;
        if (s.st_shndx == SHN_UNDEF || s.st_shndx >= SHN_LORESERVE || s.st_shndx >= shnum ||
            !exec[s.st_shndx])
            continue;
        /* elf_strptr checks the offset and the terminating NUL inside the section */
        const char *name = elf_strptr(e, ssh.sh_link, s.st_name);
        if (!name || !name[0])
            continue;
        size_t len = strnlen(name, HVSYM_NAME_MAX + 1);
        bool ctl = false;
        for (size_t k = 0; k < len && !ctl; k++)
            ctl = (unsigned char)name[k] < 0x20 || name[k] == 0x7f;
        if (len > HVSYM_NAME_MAX || ctl) {
            t->skipped++;
            continue;
        }
        if (hvsym_tab_add(t, s.st_value, s.st_size, name, len, symelf_rank(&s, name), err) < 0)
            goto out;
    }
    if (hvsym_tab_finish(t, false, err) < 0)
        goto out;
    if (t->n == 0) {
        hvk_err_set(err, "no function symbols in executable sections");
        goto out;
    }
    ret = 0;
out:
    free(exec);
    return ret;
}

static struct hvsym_table *symelf_load(Elf *e, struct hvk_err *err)
{
    struct hvsym_table *t = hvsym_tab_new(err);
    if (!t)
        return NULL;
    if (symelf_read(e, t, err) < 0) {
        hvsym_free(t);
        return NULL;
    }
    return t;
}

static int symelf_init(struct hvk_err *err)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return hvk_err_set(err, "libelf: %s", elf_errmsg(-1));
    return 0;
}

struct hvsym_table *hvsym_load_elf_mem(const void *image, size_t len, struct hvk_err *err)
{
    if (!image || len == 0)
        return hvk_err_set(err, "ELF image: empty"), NULL;
    if (symelf_init(err) < 0)
        return NULL;
    /* libelf takes a non-const image and may convert in place: work on a copy */
    char *copy = malloc(len);
    if (!copy)
        return hvk_err_set(err, "ELF image: out of memory (%zu bytes)", len), NULL;
    memcpy(copy, image, len);
    struct hvsym_table *t = NULL;
    Elf *e = elf_memory(copy, len);
    if (!e)
        hvk_err_set(err, "ELF image: %s", elf_errmsg(-1));
    else if (!(t = symelf_load(e, err)))
        hvk_err_prefix(err, "ELF image");
    if (e)
        elf_end(e);
    free(copy);
    return t;
}

struct hvsym_table *hvsym_load_elf_file(const char *path, struct hvk_err *err)
{
    if (!path)
        return hvk_err_set(err, "ELF: NULL path"), NULL;
    if (symelf_init(err) < 0)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hvk_err_set(err, "%s: %s", path, strerror(errno)), NULL;
    struct hvsym_table *t = NULL;
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    if (!e)
        hvk_err_set(err, "%s: %s", path, elf_errmsg(-1));
    else if (!(t = symelf_load(e, err)))
        hvk_err_prefix(err, "%s", path);
    if (e)
        elf_end(e);
    close(fd);
    return t;
}
