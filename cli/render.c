/* render.c -- hvctl's human output: walk tables and maps columns. Colours
 * are ANSI and only used when the caller says stdout is a colour tty. */
#include "render.h"

#include <hvkit/hvjson.h>

#define C_RED   "\033[1;31m"
#define C_GREEN "\033[32m"
#define C_BOLD  "\033[1m"
#define C_DIM   "\033[2m"
#define C_OFF   "\033[0m"

const char *hvctl_size_token(uint64_t size, char buf[24])
{
    switch (size) {
    case 1ull << 12: return "4K";
    case 1ull << 21: return "2M";
    case 1ull << 22: return "4M";
    case 1ull << 30: return "1G";
    }
    snprintf(buf, 24, "0x%llx", (unsigned long long)size);
    return buf;
}

void hvctl_render_walk(FILE *f, const struct x86_walk *w, const uint64_t *cr3, bool color)
{
    unsigned n = w->nlevels <= X86_WALK_MAX_LEVELS ? w->nlevels : X86_WALK_MAX_LEVELS;
    bool fault = w->reason != X86_WALK_OK;
    char sz[24], rights[5], cr3s[32] = "";

    if (cr3)
        snprintf(cr3s, sizeof cr3s, "  CR3 0x%llx", (unsigned long long)*cr3);
    fprintf(f, "%sGVA 0x%016llx%s  mode %s%s  access %s %s\n",
            color ? C_BOLD : "", (unsigned long long)w->gva, color ? C_OFF : "",
            x86_mode_name(w->mode), cr3s,
            x86_access_priv_name(w->access.priv), x86_access_type_name(w->access.type));
    if (n > 0)
        fprintf(f, "%-6s %5s  %-18s  %-18s  %s\n", "LEVEL", "INDEX", "ENTRY GPA", "RAW",
                "FLAGS");
    for (unsigned i = 0; i < n; i++) {
        const struct x86_walk_level *l = &w->levels[i];
        bool bad = fault && w->fault_level == (int)i;
        char bits[128], raw[24];
        if (l->read_ok) {
            x86_walk_bits_format(l, bits, sizeof bits);
            snprintf(raw, sizeof raw, "0x%016llx", (unsigned long long)l->raw);
        } else {
            snprintf(bits, sizeof bits, "(not readable RAM)");
            snprintf(raw, sizeof raw, "%-18s", "-");
        }
        fprintf(f, "%s%-6s %5u  0x%016llx  %s  %s%s%s%s\n", bad && color ? C_RED : "",
                x86_level_name(l->kind), l->index, (unsigned long long)l->entry_gpa, raw,
                bits[0] ? bits : "-", bad ? "   <== " : "", bad ? w->why : "",
                bad && color ? C_OFF : "");
    }
    if (w->mapped)
        fprintf(f, "%s=> GPA 0x%llx  page %s  rights %s%s\n", color ? C_GREEN : "",
                (unsigned long long)w->gpa, hvctl_size_token(w->page_size, sz),
                hvjson_rights_str(&w->rights, rights), color ? C_OFF : "");
    if (fault) {
        fprintf(f, "%s=> FAULT: %s", color ? C_RED : "", w->why);
        if (w->vector == X86_VECTOR_PF)
            fprintf(f, "  (#PF, error code 0x%x)", w->error_code);
        else if (w->vector == X86_VECTOR_GP)
            fprintf(f, "  (#GP)");
        fprintf(f, "%s\n", color ? C_OFF : "");
    }
}

void hvctl_render_maps_header(FILE *f, enum x86_mode mode, uint64_t cr3, bool color)
{
    fprintf(f, "%smode %s  CR3 0x%llx%s\n", color ? C_BOLD : "", x86_mode_name(mode),
            (unsigned long long)cr3, color ? C_OFF : "");
    fprintf(f, "%-33s %-16s %-16s %-4s %s\n", "VA START-END", "SIZE", "GPA", "PAGE",
            "RIGHTS");
}

void hvctl_render_maps_range(FILE *f, const struct x86_map_range *r)
{
    char sz[24], rights[5];
    fprintf(f, "%016llx-%016llx %016llx %016llx %-4s %s",
            (unsigned long long)r->va, (unsigned long long)(r->va + r->size),
            (unsigned long long)r->size, (unsigned long long)r->gpa,
            hvctl_size_token(r->page_size, sz), hvjson_rights_str(&r->rights, rights));
    if (r->rights.pkey >= 0)
        fprintf(f, " pkey=%d", r->rights.pkey);
    fputc('\n', f);
}

void hvctl_render_maps_footer(FILE *f, const struct x86_maps_stats *st, bool color)
{
    fprintf(f, "%s%llu ranges, %llu tables, %llu entries", color ? C_DIM : "",
            (unsigned long long)st->ranges, (unsigned long long)st->tables,
            (unsigned long long)st->entries);
    if (st->unreadable)
        fprintf(f, ", %llu tables outside RAM skipped", (unsigned long long)st->unreadable);
    if (st->reserved)
        fprintf(f, ", %llu entries with reserved bits skipped",
                (unsigned long long)st->reserved);
    fprintf(f, "%s\n", color ? C_OFF : "");
    if (st->truncated)
        fprintf(f, "%sWARNING: limit reached, the list is incomplete%s\n",
                color ? C_RED : "", color ? C_OFF : "");
}
