/* x86_64_layout_test.c -- the x86-64 register table must match target.xml (names, sizes, regnum order) and the g block size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub/x86_64.h"

/* Copy attribute attr of the element starting at el (up to '>') into out. */
static int attr(const char *el, const char *attr, char *out, size_t size)
{
    const char *end = strchr(el, '>');
    char key[32];
    const char *p;

    snprintf(key, sizeof key, " %s=\"", attr);
    p = strstr(el, key);
    if (!p || !end || p > end)
        return -1;
    p += strlen(key);
    const char *q = strchr(p, '"');
    if (!q || (size_t)(q - p) >= size)
        return -1;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = 0;
    return 0;
}

int main(void)
{
    const struct gdb_arch *a = &gdb_arch_x86_64;
    size_t len, n = 0;
    const char *xml = a->xml("target.xml", &len), *p;
    int fail = 0;

    if (!xml || strlen(xml) != len) {
        fprintf(stderr, "target.xml missing or has a NUL inside\n");
        return 1;
    }
    if (a->xml("other.xml", &len) != NULL) {
        fprintf(stderr, "unknown annex must give NULL\n");
        fail = 1;
    }
    for (p = strstr(xml, "<reg "); p; p = strstr(p + 1, "<reg ")) {
        char name[32], bits[16], num[16];
        if (attr(p, "name", name, sizeof name) || attr(p, "bitsize", bits, sizeof bits) ||
            attr(p, "regnum", num, sizeof num)) {
            fprintf(stderr, "reg element without name/bitsize/regnum near %.40s\n", p);
            return 1;
        }
        if ((size_t)atoi(num) != n) {
            fprintf(stderr, "%s: regnum %s, expected %zu (XML order)\n", name, num, n);
            fail = 1;
        }
        if (n >= a->nregs) {
            fprintf(stderr, "%s: beyond the C table (%zu registers)\n", name, a->nregs);
            return 1;
        }
        if (strcmp(name, a->regs[n].name) != 0 || (size_t)atoi(bits) != 8u * a->regs[n].size) {
            fprintf(stderr, "reg %zu: XML %s/%s bits, table %s/%u bytes\n", n, name, bits,
                    a->regs[n].name, a->regs[n].size);
            fail = 1;
        }
        n++;
    }
    if (n != a->nregs || n != GDB_X86_64_NREGS) {
        fprintf(stderr, "XML has %zu registers, table %zu\n", n, a->nregs);
        fail = 1;
    }
    /* gdb's amd64 needs these features; the control registers must be there. */
    const char *need[] = { "org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse",
                           "org.gnu.gdb.i386.segments", "<architecture>i386:x86-64<",
                           "\"cr0\"", "\"cr3\"", "\"cr4\"", "\"efer\"", "\"fs_base\"" };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!strstr(xml, need[i])) {
            fprintf(stderr, "target.xml lacks %s\n", need[i]);
            fail = 1;
        }
    if (gdb_arch_regs_bytes(a) != 608) { /* 16*8+8+4+6*4+8*10+8*4+16*16+4+9*8 */
        fprintf(stderr, "g block is %zu bytes, expected 608\n", gdb_arch_regs_bytes(a));
        fail = 1;
    }
    if (a->regs[GDB_X86_64_CR3].size != 8 || strcmp(a->regs[GDB_X86_64_EFER].name, "efer") ||
        strcmp(a->regs[GDB_X86_64_RIP].name, "rip") || a->pc_regnum != GDB_X86_64_RIP) {
        fprintf(stderr, "enum gdb_x86_64_reg does not match the table\n");
        fail = 1;
    }
    printf("x86_64 layout: %zu registers %s\n", n, fail ? "MISMATCH" : "ok");
    return fail;
}
