/* render_regs.c -- hvctl's human view of hvd's `regs` value: general,
 * control and segment registers in aligned columns. Fields that are
 * missing or malformed print as '?' (the caller checked the essentials). */
#include "render_regs.h"

#include <string.h>

#include "jparse.h"
#include "table.h"

#define C_BOLD "\033[1m"
#define C_OFF  "\033[0m"

static void rr_hex(const json_t *o, const char *key, char *buf, size_t len)
{
    uint64_t v;
    if (hvctl_jparse_hex(json_object_get(o, key), &v) == 0)
        snprintf(buf, len, "%016llx", (unsigned long long)v);
    else
        snprintf(buf, len, "%16s", "?");
}

/* Rows of four "NAME value" cells. */
static void rr_block(FILE *f, const json_t *j, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char v[24], up[8];
        size_t k;
        for (k = 0; names[i][k] && k + 1 < sizeof up; k++)
            up[k] = (char)(names[i][k] >= 'a' && names[i][k] <= 'z' ? names[i][k] - 32 : names[i][k]);
        up[k] = '\0';
        rr_hex(j, names[i], v, sizeof v);
        fprintf(f, "%-6s %s%s", up, v, (i % 4 == 3 || i + 1 == n) ? "\n" : "   ");
    }
}

static void rr_rflags(FILE *f, const json_t *j)
{
    static const struct { unsigned bit; const char *name; } fl[] = {
        { 0, "CF" }, { 2, "PF" }, { 4, "AF" }, { 6, "ZF" }, { 7, "SF" }, { 8, "TF" }, { 9, "IF" },
        { 10, "DF" }, { 11, "OF" }, { 14, "NT" }, { 16, "RF" }, { 17, "VM" }, { 18, "AC" }, { 21, "ID" },
    };
    uint64_t v;
    if (hvctl_jparse_hex(json_object_get(j, "rflags"), &v) < 0)
        return;
    fputs("       [", f);
    bool any = false;
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
        if (v & (1ull << fl[i].bit)) {
            fprintf(f, "%s%s", any ? " " : "", fl[i].name);
            any = true;
        }
    fprintf(f, "] IOPL=%u\n", (unsigned)(v >> 12) & 3);
}

static void rr_segments(FILE *f, const json_t *segs, bool color)
{
    static const char *const head[] = { "SEG", "SELECTOR", "BASE", "LIMIT", "TYPE", "DPL", "P", "S", "L", "DB", "G" };
    static const char *const order[] = { "cs", "ss", "ds", "es", "fs", "gs", "tr", "ldt" };
    struct hvctl_table t;
    hvctl_table_init(&t, 11, head);
    for (size_t c = 1; c < 11; c++)
        t.right[c] = c != 2 && c != 3;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const json_t *s = json_object_get(segs, order[i]);
        char cell[11][24];
        const char *row[11];
        uint64_t v;
        if (!json_is_object(s))
            continue;
        snprintf(cell[0], sizeof cell[0], "%s", order[i]);
        const json_t *sel = json_object_get(s, "selector");
        if (json_is_integer(sel))
            snprintf(cell[1], sizeof cell[1], "0x%04llx", (unsigned long long)json_integer_value(sel) & 0xffff);
        else
            snprintf(cell[1], sizeof cell[1], "?");
        if (hvctl_jparse_hex(json_object_get(s, "base"), &v) == 0)
            snprintf(cell[2], sizeof cell[2], "0x%016llx", (unsigned long long)v);
        else
            snprintf(cell[2], sizeof cell[2], "?");
        const json_t *lim = json_object_get(s, "limit");
        snprintf(cell[3], sizeof cell[3], "?");
        if (hvctl_jparse_hex(lim, &v) == 0)
            snprintf(cell[3], sizeof cell[3], "0x%08llx", (unsigned long long)v);
        else if (json_is_integer(lim))
            snprintf(cell[3], sizeof cell[3], "0x%08llx", (unsigned long long)json_integer_value(lim));
        static const char *const keys[] = { "type", "dpl", "present", "s", "l", "db", "g" };
        for (size_t k = 0; k < 7; k++) {
            const json_t *x = json_object_get(s, keys[k]);
            if (json_is_boolean(x))
                snprintf(cell[4 + k], sizeof cell[4 + k], "%d", json_is_true(x));
            else if (json_is_integer(x))
                snprintf(cell[4 + k], sizeof cell[4 + k], "%lld", (long long)json_integer_value(x));
            else
                snprintf(cell[4 + k], sizeof cell[4 + k], "-");
        }
        for (size_t k = 0; k < 11; k++)
            row[k] = cell[k];
        hvctl_table_add(&t, row);
    }
    hvctl_table_print(&t, f, color);
    hvctl_table_free(&t);
}

static void rr_table_reg(FILE *f, const json_t *j, const char *key, const char *label)
{
    const json_t *d = json_object_get(j, key), *lim;
    uint64_t base;
    if (!json_is_object(d) || hvctl_jparse_hex(json_object_get(d, "base"), &base) < 0)
        return;
    lim = json_object_get(d, "limit");
    fprintf(f, "%-6s base 0x%016llx  limit 0x%llx\n", label, (unsigned long long)base,
            json_is_integer(lim) ? (unsigned long long)json_integer_value(lim) : 0ull);
}

void hvctl_render_regs(FILE *f, const json_t *j, bool color)
{
    static const char *const gprs[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
    static const char *const ip[] = { "rip", "rflags" };
    static const char *const crs[] = { "cr0", "cr2", "cr3", "cr4", "cr8", "efer" };
    const json_t *x = json_object_get(j, "vcpu"), *mode = json_object_get(j, "mode"),
                 *cpl = json_object_get(j, "cpl");
    char m[32] = "?";

    hvctl_sanitize(m, sizeof m, json_is_string(mode) ? json_string_value(mode) : "?");
    fprintf(f, "%svCPU %lld  mode %s  CPL %lld%s\n", color ? C_BOLD : "",
            json_is_integer(x) ? (long long)json_integer_value(x) : -1ll, m,
            json_is_integer(cpl) ? (long long)json_integer_value(cpl) : -1ll, color ? C_OFF : "");
    rr_block(f, j, gprs, 16);
    rr_block(f, j, ip, 2);
    rr_rflags(f, j);
    rr_block(f, j, crs, 6);
    rr_table_reg(f, j, "gdt", "GDT");
    rr_table_reg(f, j, "idt", "IDT");
    if (json_is_object(json_object_get(j, "segments"))) {
        fputc('\n', f);
        rr_segments(f, json_object_get(j, "segments"), color);
    }
}
