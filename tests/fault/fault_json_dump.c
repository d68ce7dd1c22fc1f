/* fault_json_dump.c -- print a FAULT event (hvjson_fault data) per line for every case in a directory, plus stage-2 records, for schema validation. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvkit/hvjson.h>

#include "fault_case.h"

/* A tiny symbolizer: everything in [0x400000, 0x500000) is "user_fn", the
 * kernel half above 0xffffffff81000000 is "kernel_fn". */
static int dump_lookup(void *ctx, uint64_t addr, const char **name, uint64_t *off)
{
    (void)ctx;
    if (addr >= 0x400000 && addr < 0x500000) {
        *name = "user_fn";
        *off = addr - 0x400000;
        return 0;
    }
    if (addr >= 0xffffffff81000000ull) {
        *name = "kernel_fn";
        *off = addr - 0xffffffff81000000ull;
        return 0;
    }
    return -1;
}

static int dump_event(const struct hvk_fault_rec *r, const struct x86_symbolizer *sym, const char *what)
{
    struct hvk_err err = { "" };
    json_t *data = hvjson_fault(r, sym, 2, &err);
    if (!data) {
        fprintf(stderr, "%s: %s\n", what, err.msg);
        return -1;
    }
    json_t *ev = json_pack("{s:s, s:o, s:{s:I, s:I}}", "event", "FAULT", "data", data, "timestamp",
                           "seconds", (json_int_t)1763700000, "microseconds", (json_int_t)123456);
    char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    if (!s) {
        fprintf(stderr, "%s: out of memory\n", what);
        json_decref(ev);
        return -1;
    }
    printf("%s\n", s);
    free(s);
    json_decref(ev);
    return 0;
}

int main(int argc, char **argv)
{
    struct x86_symbolizer sym = { .lookup = dump_lookup };
    struct hvk_fault_rec r;
    struct hvk_err err = { "" };
    int bad = 0, n = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATADIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char path[4096];
        struct fc_case c;
        char *text = NULL;
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") || strstr(e->d_name, "-invalid."))
            continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        if (fc_case_load(path, &c, &err) < 0 || fc_case_run(&c, &text, &r, &err) < 0) {
            fprintf(stderr, "%s: %s\n", e->d_name, err.msg);
            bad++;
            continue;
        }
        free(text);
        fc_case_free(&c);
        /* every other case without a symbolizer: both shapes of "stack" */
        bad += dump_event(&r, n++ % 2 ? &sym : NULL, e->d_name) < 0;
    }
    closedir(d);
    struct x86_fault_frame fr = { .rip = 0x401000, .rsp = 0x7ff0, .rflags = 0x202, .cs = 0x2b, .ss = 0x23 };
    if (x86_fault_rec_mmio(&r, 0, 0x1000, &fr, 0xfee00000, 4, true, 0xdeadbeef, &err) < 0 ||
        dump_event(&r, &sym, "mmio write") < 0)
        bad++;
    if (x86_fault_rec_mmio(&r, 1, 0x1000, &fr, 0xd0000000, 1, false, 0x7f, &err) < 0 ||
        dump_event(&r, NULL, "mmio read") < 0)
        bad++;
    if (x86_fault_rec_fault_in(&r, 1, 0x1000, NULL, 0x123000, &err) < 0 || dump_event(&r, NULL, "fault_in") < 0)
        bad++;
    return bad ? 1 : 0;
}
