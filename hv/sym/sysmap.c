/* sysmap.c -- hvsym's System.map / nm / kallsyms text parser: untrusted lines, refused by line number. */
#include "sym_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool sysmap_space(char c)
{
    return c == ' ' || c == '\t';
}

static int sysmap_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool sysmap_type_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '?' || c == '-';
}

/* One line without its '\n' (and '\r'); p[0..len) has no NUL. counted is
 * the number of address-carrying lines so far. */
static int sysmap_line(struct hvsym_table *t, const char *p, size_t len, size_t lineno,
                       size_t *counted, struct hvk_err *err)
{
    size_t i = 0;
    uint64_t addr = 0;
    unsigned digits = 0;

    while (i < len && sysmap_space(p[i]))
        i++;
    if (i == len)
        return 0;                                  /* blank line */
    bool blank_addr = i > 0;
    if (!blank_addr) {
        for (; i < len && sysmap_hex(p[i]) >= 0; i++) {
            if (++digits > 16)
                return hvk_err_set(err, "line %zu: address longer than 16 hex digits", lineno);
            addr = addr << 4 | (uint64_t)sysmap_hex(p[i]);
        }
        if (digits == 0)
            return hvk_err_set(err, "line %zu: expected a hex address", lineno);
        if (i == len || !sysmap_space(p[i]))
            return hvk_err_set(err, "line %zu: expected a space after the address", lineno);
        while (i < len && sysmap_space(p[i]))
            i++;
    }
    if (i == len || !sysmap_type_ok(p[i]))
        return hvk_err_set(err, "line %zu: expected a symbol type letter", lineno);
    char type = p[i++];
    if (i == len || !sysmap_space(p[i]))
        return hvk_err_set(err, "line %zu: expected a space after the type", lineno);
    while (i < len && sysmap_space(p[i]))
        i++;
    size_t name = i;
    while (i < len && !sysmap_space(p[i]))
        i++;
    size_t nlen = i - name;
    if (nlen == 0)
        return hvk_err_set(err, "line %zu: missing symbol name", lineno);
    if (nlen > HVSYM_NAME_MAX)
        return hvk_err_set(err, "line %zu: symbol name longer than %u bytes", lineno, HVSYM_NAME_MAX);
    for (size_t k = name; k < i; k++)
        if ((unsigned char)p[k] < 0x20 || p[k] == 0x7f)
            return hvk_err_set(err, "line %zu: control character in the symbol name", lineno);
    while (i < len && sysmap_space(p[i]))
        i++;
    if (i < len) {   /* only a kallsyms "[module]" may follow */
        if (p[i] != '[' || p[len - 1] != ']' || len - i < 3)
            return hvk_err_set(err, "line %zu: unexpected text after the symbol name", lineno);
    }
    if (blank_addr) {
        if (type == 'U' || type == 'w' || type == 'v')
            return 0;                              /* undefined: no address */
        return hvk_err_set(err, "line %zu: expected a hex address", lineno);
    }
    if (++*counted > HVSYM_MAX_SYMBOLS)
        return hvk_err_set(err, "line %zu: more than %u symbols", lineno, HVSYM_MAX_SYMBOLS);
    if (type == 't' || type == 'T') {
        unsigned rank = (type == 'T' ? 0 : 1) + (p[name] == '_' ? 2 : 0);
        if (hvsym_tab_add(t, addr, 0, p + name, nlen, rank, err) < 0)
            return hvk_err_prefix(err, "line %zu", lineno);
        return 0;
    }
    if (type == 'a' || type == 'A' || type == 'U' || type == 'w' || type == 'v')
        return 0;                                  /* not a location in memory */
    if (hvsym_tab_add_bound(t, addr, err) < 0)
        return hvk_err_prefix(err, "line %zu", lineno);
    return 0;
}

struct hvsym_table *hvsym_load_sysmap_mem(const char *text, size_t len, struct hvk_err *err)
{
    if (!text && len)
        return hvk_err_set(err, "System.map: NULL text"), NULL;
    if (len > HVSYM_FILE_MAX)
        return hvk_err_set(err, "System.map: %zu bytes is more than %u", len, HVSYM_FILE_MAX), NULL;
    struct hvsym_table *t = hvsym_tab_new(err);
    if (!t)
        return NULL;
    size_t lineno = 0, counted = 0, pos = 0;
    /* bounded: every pass consumes at least one byte */
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t llen = end - pos;
        lineno++;
        if (llen > HVSYM_LINE_MAX) {
            hvk_err_set(err, "line %zu: longer than %u bytes", lineno, HVSYM_LINE_MAX);
            goto fail;
        }
        if (memchr(text + pos, '\0', llen)) {
            hvk_err_set(err, "line %zu: NUL byte (not a text file?)", lineno);
            goto fail;
        }
        if (llen && text[pos + llen - 1] == '\r')
            llen--;
        if (sysmap_line(t, text + pos, llen, lineno, &counted, err) < 0)
            goto fail;
        pos = end + 1;
    }
    if (hvsym_tab_finish(t, true, err) < 0)
        goto fail;
    if (t->n == 0) {
        hvk_err_set(err, "no text symbols (types t/T) in %zu lines", lineno);
        goto fail;
    }
    return t;
fail:
    hvk_err_prefix(err, "System.map");
    hvsym_free(t);
    return NULL;
}

/* Read a whole regular file of at most max bytes; *len set; NULL with err. */
static char *sysmap_slurp(const char *path, size_t max, size_t *len, struct hvk_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    struct stat st;
    if (fd < 0) {
        hvk_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        hvk_err_set(err, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        hvk_err_set(err, "%s: %lld bytes is more than %zu", path, (long long)st.st_size, max);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        hvk_err_set(err, "%s: out of memory", path);
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {   /* bounded by the size checked above */
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            hvk_err_set(err, "%s: read: %s", path, r < 0 ? strerror(errno) : "file shrank");
            free(buf);
            buf = NULL;
            goto out;
        }
        got += (size_t)r;
    }
    *len = got;
out:
    close(fd);
    return buf;
}

struct hvsym_table *hvsym_load_sysmap_file(const char *path, struct hvk_err *err)
{
    size_t len = 0;
    if (!path)
        return hvk_err_set(err, "System.map: NULL path"), NULL;
    char *buf = sysmap_slurp(path, HVSYM_FILE_MAX, &len, err);
    if (!buf)
        return NULL;
    struct hvsym_table *t = hvsym_load_sysmap_mem(buf, len, err);
    free(buf);
    if (!t)
        hvk_err_prefix(err, "%s", path);
    return t;
}

struct hvsym_table *hvsym_load_file(const char *path, struct hvk_err *err)
{
    unsigned char magic[4] = { 0 };
    if (!path)
        return hvk_err_set(err, "symbols: NULL path"), NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hvk_err_set(err, "%s: %s", path, strerror(errno)), NULL;
    ssize_t r = read(fd, magic, sizeof magic);
    close(fd);
    if (r == 4 && memcmp(magic, "\177ELF", 4) == 0)
        return hvsym_load_elf_file(path, err);
    return hvsym_load_sysmap_file(path, err);
}
