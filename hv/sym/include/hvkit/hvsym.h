/* hvsym.h -- guest symbol tables (ELF .symtab via libelf, or System.map): address -> function+offset and "is this text". */
#ifndef HVKIT_HVSYM_H
#define HVKIT_HVSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>

/* Limits on untrusted input. Over a limit the load fails with err, except an
 * ELF symbol whose name is too long or holds control characters, which is
 * skipped and counted (a System.map line like that is refused). */
#define HVSYM_MAX_SYMBOLS    1000000u             /* symbols (ELF entries / System.map lines with an address) */
#define HVSYM_NAME_MAX       512u                 /* bytes of one name, NUL excluded (Linux KSYM_NAME_LEN) */
#define HVSYM_NAMES_MAX      (64u * 1024 * 1024)  /* bytes of all names */
#define HVSYM_LINE_MAX       4096u                /* bytes of one System.map line */
#define HVSYM_FILE_MAX       (256u * 1024 * 1024) /* bytes of a System.map file */
#define HVSYM_ELF_MAX_SECTIONS 65536u
#define HVSYM_LAST_EXTENT    4096u   /* extent of a sizeless symbol with nothing above it (System.map) */

/* An immutable table once loaded: lookups may run from several threads. */
struct hvsym_table;

/* Function symbols of an ELF executable: STT_FUNC and STT_NOTYPE in
 * allocated executable sections, from .symtab (else .dynsym). Text = those
 * sections' address ranges. Addresses are as linked (no load bias). */
struct hvsym_table *hvsym_load_elf_file(const char *path, struct hvk_err *err);
/* The same from an ELF image in memory (copied; image may be freed after). */
struct hvsym_table *hvsym_load_elf_mem(const void *image, size_t len, struct hvk_err *err);

/* System.map / nm / kallsyms text: "ADDR TYPE NAME" per line (an optional
 * "\t[module]" after NAME is ignored). Types t/T are text; other symbols
 * only bound the extent of the text symbol below them. Lines without an
 * address are accepted only for U/w/v (undefined). A malformed line fails
 * the load with "line N: ...". Text = the extents of t/T symbols. */
struct hvsym_table *hvsym_load_sysmap_file(const char *path, struct hvk_err *err);
struct hvsym_table *hvsym_load_sysmap_mem(const char *text, size_t len, struct hvk_err *err);

/* ELF if the file starts with \x7fELF, System.map otherwise (`--symbols`). */
struct hvsym_table *hvsym_load_file(const char *path, struct hvk_err *err);

void hvsym_free(struct hvsym_table *t);

size_t hvsym_count(const struct hvsym_table *t);     /* symbols kept */
size_t hvsym_skipped(const struct hvsym_table *t);   /* ELF names over HVSYM_NAME_MAX or with control characters */

struct hvsym_hit {
    const char *name;    /* valid until hvsym_free() */
    uint64_t start;
    uint64_t size;       /* st_size, or up to the next symbol / end of text */
    uint64_t offset;     /* addr - start, < size */
};

/* The function containing addr: addr must be in text and inside the
 * symbol's extent (its size; for a sizeless one, up to the next higher
 * symbol or the end of its text range). Among aliases at one address the
 * choice is stable: FUNC before NOTYPE, global before local, names without
 * a leading '_' first, then by name. false when none (hit untouched). */
bool hvsym_lookup(const struct hvsym_table *t, uint64_t addr, struct hvsym_hit *hit);

/* addr lies in known executable text. */
bool hvsym_is_text(const struct hvsym_table *t, uint64_t addr);

/* Address of the first symbol called name (any alias); linear time. */
bool hvsym_find(const struct hvsym_table *t, const char *name, uint64_t *addr);

/* "name+0x1f" (or "name" at offset 0), else "0x<addr>"; snprintf semantics. */
int hvsym_format(const struct hvsym_table *t, uint64_t addr, char *buf, size_t len);

/* Adapters with the shapes of struct x86_symbolizer (x86/unwind.h):
 * struct x86_symbolizer s = { hvsym_lookup_cb, hvsym_is_text_cb, table }; */
int hvsym_lookup_cb(void *table, uint64_t addr, const char **name, uint64_t *offset);
bool hvsym_is_text_cb(void *table, uint64_t addr);

#endif
