/* render_stack.c -- hvctl's human view of a guest stack: frames as an
 * aligned table with symbols, why the unwind stopped, optional raw words. */
#include "stackview.h"

#include <string.h>

#define C_BOLD "\033[1m"
#define C_DIM  "\033[2m"
#define C_OFF  "\033[0m"

void hvctl_render_stack(FILE *f, const struct hvctl_stackview *v, bool color)
{
    if (v->vcpu >= 0)
        fprintf(f, "%svCPU %lld%s  ", color ? C_BOLD : "", v->vcpu, color ? C_OFF : "");
    fprintf(f, "RIP 0x%016llx  RSP 0x%016llx  RBP 0x%016llx\n", (unsigned long long)v->rip,
            (unsigned long long)v->rsp, (unsigned long long)v->rbp);
    fprintf(f, "%3s  %-18s  %-18s  %s\n", "#", "PC", "FRAME", "FUNCTION");
    for (unsigned i = 0; i < v->nframes; i++)
        fprintf(f, "%3u  0x%016llx  0x%016llx  %s\n", i, (unsigned long long)v->frames[i].pc,
                (unsigned long long)v->frames[i].frame, v->frames[i].sym[0] ? v->frames[i].sym : "?");
    /* The colour ends before the newline, so the next line starts plain. */
    fprintf(f, "%sstop: %s%s%s%s%s\n", color ? C_DIM : "", v->stop, v->stop_desc[0] ? " (" : "",
            v->stop_desc, v->stop_desc[0] ? ")" : "", color ? C_OFF : "");
    if (!v->have_raw)
        return;
    fprintf(f, "\n%-18s  %-18s  %s\n", "ADDRESS", "VALUE", "TEXT SYMBOL");
    for (unsigned i = 0; i < v->nraw; i++)
        fprintf(f, "0x%016llx  0x%016llx%s%s\n", (unsigned long long)v->raw[i].address,
                (unsigned long long)v->raw[i].value, v->raw[i].sym[0] ? "  " : "", v->raw[i].sym);
}
