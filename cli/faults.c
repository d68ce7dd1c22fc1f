/* faults.c -- the fault tracing family: `hvctl trace` (hv's tracing through
 * trace-config), `hvctl faults` (hvd's recent history, or the FAULT event
 * stream with --follow) and `hvctl top` (query-fault-stats as a live view).
 * hvd carries raw RIPs; names come from here (hvsym, the kernel ELF). */
#include "hvctl.h"
#include "live.h"
#include "util.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hvkit/hvsym.h>

const char hvctl_trace_usage[] =
    "usage: hvctl trace [on|off] [options]\n"
    "Turn hv's fault tracing on or off, or (no argument) show its state: the\n"
    "traced vectors and where they are armed, stage-2 events, the stack depth\n"
    "and sampling, and per vCPU the faults hit, recorded, dropped, sampled out.\n"
    "\n"
    "  --vm NAME          the VM (default: the only one running)\n"
    "  --vectors LIST     on: exceptions to trace, e.g. pf,gp,ud (default pf; at most 4)\n"
    "  --stage2           on: also MMIO exits (stage2.mmio) and lazy-memory fault-ins\n"
    "  --depth N          on: stack snapshot depth, 0..16\n"
    "  --sample N         on: record 1 in N faults\n"
    "  --rundir DIR       hvd's runtime directory (as the global option)\n"
    "  --socket PATH      hvd's API socket (as the global option)\n"
    "  --json             print hvd's trace-config return value as it came\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 done, 2 usage, 3 cannot reach hvd, 4 VM not found, 6 hvd or hv failed.\n";

const char hvctl_faults_usage[] =
    "usage: hvctl faults [options]\n"
    "Show classified guest faults, one line each: time, vCPU, class, address,\n"
    "RIP (symbolized when a symbol file is known), and why (the walk's reason,\n"
    "the MMIO access, notes). Without --follow: the most recent faults hvd kept.\n"
    "\n"
    "  --vm NAME          the VM (default: the only one running)\n"
    "  --follow           stream faults as they happen, until interrupted\n"
    "  --class C          only this class or class prefix (guest, guest.protection, exception.gp)\n"
    "  --limit N          without --follow: at most the N newest (1..1024, default 64)\n"
    "  --symbols FILE     name RIPs with FILE (default: the VM's kernel when it is a file)\n"
    "  --rundir DIR       hvd's runtime directory (as the global option)\n"
    "  --socket PATH      hvd's API socket (as the global option)\n"
    "  --json             one FAULT or LOST event per line, as hvd sent it\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 done, 2 usage, 3 cannot reach hvd (or it went away while\n"
    "following), 4 VM or symbol file not found, 5 bad reply, 6 hvd or hv failed.\n";

const char hvctl_top_usage[] =
    "usage: hvctl top [options]\n"
    "A live view of a VM's faults, like perf top: totals, classes with counts\n"
    "and rates over 1 s, 10 s and 60 s, the hottest RIPs (symbolized) and pages.\n"
    "Refreshed in place on a terminal until interrupted.\n"
    "\n"
    "  --vm NAME          the VM (default: the only one running)\n"
    "  --once             print one snapshot and exit (for scripts)\n"
    "  --interval S       refresh every S seconds (1..3600, default 1)\n"
    "  --symbols FILE     name RIPs with FILE (default: the VM's kernel when it is a file)\n"
    "  --rundir DIR       hvd's runtime directory (as the global option)\n"
    "  --socket PATH      hvd's API socket (as the global option)\n"
    "  --json             print hvd's query-fault-stats return value (implies --once)\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 done, 2 usage, 3 cannot reach hvd, 4 VM or symbol file not found,\n"
    "5 bad reply, 6 hvd failed.\n";

enum { OPT_FOLLOW = 0x200, OPT_CLASS, OPT_LIMIT, OPT_SYMBOLS, OPT_VECTORS, OPT_STAGE2, OPT_DEPTH, OPT_SAMPLE,
       OPT_ONCE, OPT_INTERVAL };

#define FAULTS_LONGOPTS                                          \
    { "vm", required_argument, NULL, HVCTL_OPT_VM },            \
    { "rundir", required_argument, NULL, HVCTL_OPT_RUNDIR },    \
    { "socket", required_argument, NULL, HVCTL_OPT_SOCKET },    \
    { "json", no_argument, NULL, HVCTL_OPT_JSON },              \
    { "help", no_argument, NULL, HVCTL_OPT_HELP }

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static uint64_t jhex(const json_t *o, const char *k)
{
    const char *s = jstr(o, k);
    return strncmp(s, "0x", 2) == 0 ? strtoull(s, NULL, 16) : 0;
}

/* ---- symbols ------------------------------------------------------------ */

/* --symbols FILE, else the VM's kernel (query-vms) when it is a readable
 * file; NULL (raw addresses) when neither. rc: exit code for a bad FILE. */
static struct hvsym_table *faults_symbols(struct hvctl_client *c, const char *vm, const char *file, int *rc)
{
    struct hvk_err err = { "" };
    json_t *vms = NULL, *v;
    size_t i;
    char *kernel = NULL;
    *rc = 0;
    if (file) {
        if (access(file, R_OK) < 0) {
            *rc = hvctl_fail(HVCTL_EXIT_NOT_FOUND, "%s: cannot read it", file);
            return NULL;
        }
        struct hvsym_table *t = hvsym_load_file(file, &err);
        if (!t)
            *rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "%s: %s", file, err.msg);
        return t;
    }
    if (hvctl_client_exec(c, "query-vms", NULL, &vms, NULL, &err) < 0)
        return NULL;
    json_array_foreach(vms, i, v) {
        if (json_is_object(v) && (!vm || !strcmp(jstr(v, "name"), vm)) && strcmp(jstr(v, "state"), "gone")) {
            free(kernel);
            kernel = strdup(jstr(v, "kernel"));
            if (vm)
                break;
        }
    }
    json_decref(vms);
    struct hvsym_table *t = kernel && kernel[0] == '/' && access(kernel, R_OK) == 0 ? hvsym_load_file(kernel, &err) : NULL;
    free(kernel);
    return t;
}

static void faults_sym(const struct hvsym_table *t, uint64_t addr, char *buf, size_t len)
{
    struct hvsym_hit hit;
    if (t && hvsym_lookup(t, addr, &hit))
        snprintf(buf, len, "0x%" PRIx64 " <%s+0x%" PRIx64 ">", addr, hit.name, hit.offset);
    else
        snprintf(buf, len, "0x%" PRIx64, addr);
}

/* ---- trace -------------------------------------------------------------- */

static void trace_print(const json_t *r)
{
    const json_t *v;
    size_t i;
    printf("vectors:");
    if (!json_array_size(json_object_get(r, "vectors")))
        printf(" none");
    json_array_foreach(json_object_get(r, "vectors"), i, v) {
        if (json_is_true(json_object_get(v, "armed")))
            printf(" %s (armed at %s, DR%d)", jstr(v, "vector"), jstr(v, "handler"),
                   (int)json_integer_value(json_object_get(v, "debug_register")));
        else
            printf(" %s (not armed)", jstr(v, "vector"));
    }
    printf("\nstage2: %s\nstack depth: %d\nsample: 1 in %d\n", json_is_true(json_object_get(r, "stage2")) ? "on" : "off",
           (int)json_integer_value(json_object_get(r, "stack_depth")), (int)json_integer_value(json_object_get(r, "sample")));
    if (json_object_get(r, "pending"))
        printf("pending: %s\n", jstr(r, "pending"));
    printf("%-5s %10s %10s %10s %12s\n", "vCPU", "hits", "recorded", "dropped", "sampled_out");
    json_array_foreach(json_object_get(r, "vcpus"), i, v)
        printf("%-5d %10" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT "\n",
               (int)json_integer_value(json_object_get(v, "vcpu")), json_integer_value(json_object_get(v, "hits")),
               json_integer_value(json_object_get(v, "recorded")), json_integer_value(json_object_get(v, "dropped")),
               json_integer_value(json_object_get(v, "sampled_out")));
}

int hvctl_trace_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        FAULTS_LONGOPTS,
        { "vectors", required_argument, NULL, OPT_VECTORS },
        { "stage2", no_argument, NULL, OPT_STAGE2 },
        { "depth", required_argument, NULL, OPT_DEPTH },
        { "sample", required_argument, NULL, OPT_SAMPLE },
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct hvk_err err = { "" };
    const char *vectors = NULL;
    bool json = o->json, stage2 = false, on_opts = false;
    long long depth = -1, sample = -1;
    unsigned long long v;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_VECTORS: vectors = optarg; on_opts = true; break;
        case OPT_STAGE2: stage2 = true; on_opts = true; break;
        case OPT_DEPTH:
            if (hvctl_parse_u64(optarg, &v) < 0 || v > 16)
                return hvctl_fail(HVCTL_EXIT_USAGE, "bad --depth '%s' (0..16)", optarg);
            depth = (long long)v;
            on_opts = true;
            break;
        case OPT_SAMPLE:
            if (hvctl_parse_u64(optarg, &v) < 0 || v < 1 || v > 1000000)
                return hvctl_fail(HVCTL_EXIT_USAGE, "bad --sample '%s' (1..1000000)", optarg);
            sample = (long long)v;
            on_opts = true;
            break;
        case HVCTL_OPT_VM: case HVCTL_OPT_RUNDIR: case HVCTL_OPT_SOCKET:
            hvctl_source_opt(opt, optarg, &so);
            break;
        case HVCTL_OPT_JSON: json = true; break;
        case HVCTL_OPT_HELP: fputs(hvctl_trace_usage, stdout); return HVCTL_EXIT_OK;
        default: fputs(hvctl_trace_usage, stderr); return HVCTL_EXIT_USAGE;
        }
    }
    const char *what = optind < argc ? argv[optind] : NULL;
    if (argc - optind > 1 || (what && strcmp(what, "on") && strcmp(what, "off"))) {
        fputs(hvctl_trace_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "trace takes 'on', 'off' or nothing");
    }
    if (on_opts && (!what || strcmp(what, "on")))
        return hvctl_fail(HVCTL_EXIT_USAGE, "--vectors, --stage2, --depth and --sample go with 'trace on'");
    json_t *args = hvctl_live_args(&so, false), *ret = NULL;
    if (!args)
        return hvctl_fail(HVCTL_EXIT_INTERNAL, "out of memory");
    if (what && !strcmp(what, "off")) {
        json_object_set_new(args, "enabled", json_false());
    } else if (what) {
        json_object_set_new(args, "vectors", json_string(vectors ? vectors : "pf"));
        if (stage2)
            json_object_set_new(args, "stage2", json_true());
        if (depth >= 0)
            json_object_set_new(args, "stack_depth", json_integer(depth));
        if (sample >= 0)
            json_object_set_new(args, "sample", json_integer(sample));
    }
    struct hvctl_client *c = hvctl_live_connect(&so, o, &err);
    if (!c) {
        json_decref(args);
        return hvctl_live_fail(&err);
    }
    int rc = HVCTL_EXIT_OK;
    if (hvctl_live_call(c, &so, "trace-config", args, &ret, &err) < 0)
        rc = hvctl_live_fail(&err);
    else if (!json_is_object(ret))
        rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "bad reply from hvd: trace-config did not return an object");
    else if (json)
        hvctl_live_print_json(ret);
    else
        trace_print(ret);
    json_decref(ret);
    hvctl_client_close(c);
    return rc;
}

/* ---- faults ------------------------------------------------------------- */

/* One line for a FAULT or LOST event (untrusted: missing members print empty). */
void hvctl_render_fault_event(FILE *f, const json_t *ev, const struct hvsym_table *syms)
{
    const json_t *d = json_object_get(ev, "data"), *ts = json_object_get(ev, "timestamp");
    time_t sec = (time_t)json_integer_value(json_object_get(ts, "seconds"));
    struct tm tm;
    char when[32] = "", rip[160];
    if (gmtime_r(&sec, &tm))
        strftime(when, sizeof when, "%H:%M:%S", &tm);
    if (!strcmp(jstr(ev, "event"), "LOST")) {
        fprintf(f, "%s.%06d -- lost %" JSON_INTEGER_FORMAT " events (%s; %" JSON_INTEGER_FORMAT " so far)\n", when,
               (int)json_integer_value(json_object_get(ts, "microseconds")),
               json_integer_value(json_object_get(d, "count")),
               !strcmp(jstr(d, "reason"), "ring") ? "hv's ring was full" : "hvctl read too slowly",
               json_integer_value(json_object_get(d, "total")));
        return;
    }
    if (!json_is_object(d))
        return;
    faults_sym(syms, jhex(d, "rip"), rip, sizeof rip);
    char why[256] = "";
    const json_t *w = json_object_get(d, "walk"), *m = json_object_get(d, "mmio");
    if (w && *jstr(w, "why"))
        snprintf(why, sizeof why, "%s", jstr(w, "why"));
    else if (json_is_object(m))
        snprintf(why, sizeof why, "%s %d bytes at %s = %s", json_is_true(json_object_get(m, "write")) ? "write" : "read",
                 (int)json_integer_value(json_object_get(m, "size")), jstr(m, "gpa"), jstr(m, "value"));
    else if (json_is_integer(json_object_get(d, "error_code")))
        snprintf(why, sizeof why, "error code 0x%" JSON_INTEGER_FORMAT "x", json_integer_value(json_object_get(d, "error_code")));
    size_t n = strlen(why);
    const json_t *note;
    size_t i;
    json_array_foreach(json_object_get(d, "notes"), i, note)
        if (n < sizeof why - 1)
            n += (size_t)snprintf(why + n, sizeof why - n, "%s[%s]", n ? " " : "", json_string_value(note) ? json_string_value(note) : "?");
    fprintf(f, "%s.%06d vcpu%-2d %-24s %-18s %s%s%s %s\n", when, (int)json_integer_value(json_object_get(ts, "microseconds")),
           (int)json_integer_value(json_object_get(d, "vcpu")), jstr(d, "class"), jstr(d, "address"), "rip=", rip,
           json_is_true(json_object_get(d, "user")) ? " (user)" : "", why);
}

static void faults_show(const json_t *ev, bool json, const struct hvsym_table *syms)
{
    if (json) {
        char *t = json_dumps(ev, JSON_COMPACT);
        if (t)
            puts(t);
        free(t);
    } else {
        hvctl_render_fault_event(stdout, ev, syms);
    }
    fflush(stdout);
}

int hvctl_faults_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        FAULTS_LONGOPTS,
        { "follow", no_argument, NULL, OPT_FOLLOW },
        { "class", required_argument, NULL, OPT_CLASS },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "symbols", required_argument, NULL, OPT_SYMBOLS },
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct hvk_err err = { "" };
    const char *cls = NULL, *symfile = NULL;
    bool json = o->json, follow = false;
    unsigned long long limit = 64;
    int opt, rc = HVCTL_EXIT_OK;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_FOLLOW: follow = true; break;
        case OPT_CLASS: cls = optarg; break;
        case OPT_LIMIT:
            if (hvctl_parse_u64(optarg, &limit) < 0 || limit < 1 || limit > 1024)
                return hvctl_fail(HVCTL_EXIT_USAGE, "bad --limit '%s' (1..1024)", optarg);
            break;
        case OPT_SYMBOLS: symfile = optarg; break;
        case HVCTL_OPT_VM: case HVCTL_OPT_RUNDIR: case HVCTL_OPT_SOCKET:
            hvctl_source_opt(opt, optarg, &so);
            break;
        case HVCTL_OPT_JSON: json = true; break;
        case HVCTL_OPT_HELP: fputs(hvctl_faults_usage, stdout); return HVCTL_EXIT_OK;
        default: fputs(hvctl_faults_usage, stderr); return HVCTL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(hvctl_faults_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "faults takes no arguments");
    }
    struct hvctl_client *c = hvctl_live_connect(&so, o, &err);
    if (!c)
        return hvctl_live_fail(&err);
    struct hvsym_table *syms = json ? NULL : faults_symbols(c, so.vm, symfile, &rc);
    json_t *args = hvctl_live_args(&so, false), *ret = NULL, *ev;
    if (rc || !args)
        goto out;
    if (cls)
        json_object_set_new(args, "class", json_string(cls));
    if (!follow) {
        json_object_set_new(args, "limit", json_integer((json_int_t)limit));
        json_t *a = args;
        args = NULL;   /* hvctl_live_call steals it */
        if (hvctl_live_call(c, &so, "query-faults", a, &ret, &err) < 0) {
            rc = hvctl_live_fail(&err);
            goto out;
        }
        json_t *list = json_object_get(ret, "faults");
        if (!json_is_array(list)) {
            rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "bad reply from hvd: query-faults without 'faults'");
            goto out;
        }
        size_t i;
        json_array_foreach(list, i, ev)
            faults_show(ev, json, syms);
        goto out;
    }
    json_object_set_new(args, "events", json_pack("[s]", "FAULT"));
    json_t *a = args;
    args = NULL;
    if (hvctl_live_call(c, &so, "subscribe", a, &ret, &err) < 0) {
        rc = hvctl_live_fail(&err);
        goto out;
    }
    for (;;) {
        json_t *m = NULL;
        int n = hvctl_client_next(c, -1, &m, &err);
        if (n < 0) {
            rc = hvctl_live_fail(&err);
            goto out;
        }
        if (n > 0 && (!strcmp(jstr(m, "event"), "FAULT") || !strcmp(jstr(m, "event"), "LOST")))
            faults_show(m, json, syms);
        json_decref(m);
    }
out:
    json_decref(args);
    json_decref(ret);
    hvsym_free(syms);
    hvctl_client_close(c);
    return rc;
}

/* ---- top ---------------------------------------------------------------- */

static int top_cmp(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "n"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "n"));
    return x < y ? 1 : x > y ? -1 : 0;
}

static void top_print(const json_t *st, const struct hvsym_table *syms, json_t *prev, double dt)
{
    const json_t *r = json_object_get(st, "rates"), *v;
    const char *k;
    size_t i;
    printf("VM %s (%s)  faults %" JSON_INTEGER_FORMAT "  lost %" JSON_INTEGER_FORMAT "  invalid %" JSON_INTEGER_FORMAT
           "  rate/s: 1s %.1f  10s %.1f  60s %.1f\n\n",
           jstr(st, "vm"), jstr(st, "state"), json_integer_value(json_object_get(st, "total")),
           json_integer_value(json_object_get(st, "lost")), json_integer_value(json_object_get(st, "invalid")),
           json_number_value(json_object_get(r, "1s")), json_number_value(json_object_get(r, "10s")),
           json_number_value(json_object_get(r, "60s")));
    /* Classes by count; "now/s" is the change since the previous refresh. */
    json_t *rows = json_array();
    json_object_foreach((json_t *)json_object_get(st, "by_class"), k, v)
        json_array_append_new(rows, json_pack("{s:s,s:I}", "c", k, "n", json_integer_value(v)));
    size_t nr = json_array_size(rows);
    json_t **a = nr ? calloc(nr, sizeof *a) : NULL;
    for (i = 0; a && i < nr; i++)
        a[i] = json_array_get(rows, i);
    if (a)
        qsort(a, nr, sizeof *a, top_cmp);
    printf("%-28s %12s %10s\n", "CLASS", "COUNT", "NOW/S");
    for (i = 0; a && i < nr; i++) {
        const char *c = jstr(a[i], "c");
        json_int_t n = json_integer_value(json_object_get(a[i], "n"));
        json_int_t p = json_integer_value(json_object_get(prev, c));
        if (dt > 0)
            printf("%-28s %12" JSON_INTEGER_FORMAT " %10.1f\n", c, n, (double)(n - p) / dt);
        else
            printf("%-28s %12" JSON_INTEGER_FORMAT " %10s\n", c, n, "-");
        json_object_set_new(prev, c, json_integer(n));
    }
    free(a);
    json_decref(rows);
    printf("\n%-8s %-24s %s\n", "COUNT", "CLASS", "HOT RIP");
    json_array_foreach(json_object_get(st, "hot_rips"), i, v) {
        char rip[160];
        faults_sym(syms, jhex(v, "rip"), rip, sizeof rip);
        printf("%-8" JSON_INTEGER_FORMAT " %-24s %s%s\n", json_integer_value(json_object_get(v, "count")), jstr(v, "class"),
               rip, json_integer_value(json_object_get(v, "error")) ? " (~)" : "");
    }
    printf("\n%-8s %-24s %s\n", "COUNT", "CLASS", "HOT PAGE");
    json_array_foreach(json_object_get(st, "hot_pages"), i, v)
        printf("%-8" JSON_INTEGER_FORMAT " %-24s %s%s\n", json_integer_value(json_object_get(v, "count")), jstr(v, "class"),
               jstr(v, "page"), json_integer_value(json_object_get(v, "error")) ? " (~)" : "");
}

int hvctl_top_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        FAULTS_LONGOPTS,
        { "once", no_argument, NULL, OPT_ONCE },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "symbols", required_argument, NULL, OPT_SYMBOLS },
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct hvk_err err = { "" };
    const char *symfile = NULL;
    bool json = o->json, once = false;
    unsigned long long interval = 1;
    int opt, rc = HVCTL_EXIT_OK;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_ONCE: once = true; break;
        case OPT_INTERVAL:
            if (hvctl_parse_u64(optarg, &interval) < 0 || interval < 1 || interval > 3600)
                return hvctl_fail(HVCTL_EXIT_USAGE, "bad --interval '%s' (1..3600 seconds)", optarg);
            break;
        case OPT_SYMBOLS: symfile = optarg; break;
        case HVCTL_OPT_VM: case HVCTL_OPT_RUNDIR: case HVCTL_OPT_SOCKET:
            hvctl_source_opt(opt, optarg, &so);
            break;
        case HVCTL_OPT_JSON: json = true; break;
        case HVCTL_OPT_HELP: fputs(hvctl_top_usage, stdout); return HVCTL_EXIT_OK;
        default: fputs(hvctl_top_usage, stderr); return HVCTL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(hvctl_top_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "top takes no arguments");
    }
    once = once || json || !isatty(STDOUT_FILENO);
    struct hvctl_client *c = hvctl_live_connect(&so, o, &err);
    if (!c)
        return hvctl_live_fail(&err);
    struct hvsym_table *syms = json ? NULL : faults_symbols(c, so.vm, symfile, &rc);
    json_t *prev = json_object();
    struct timespec last = { 0, 0 };
    while (!rc) {
        json_t *st = NULL;
        if (hvctl_live_call(c, &so, "query-fault-stats", hvctl_live_args(&so, false), &st, &err) < 0) {
            rc = hvctl_live_fail(&err);
            break;
        }
        if (!json_is_object(st) || !json_is_object(json_object_get(st, "by_class"))) {
            json_decref(st);
            rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "bad reply from hvd: query-fault-stats");
            break;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double dt = last.tv_sec ? (double)(now.tv_sec - last.tv_sec) + (now.tv_nsec - last.tv_nsec) / 1e9 : 0;
        last = now;
        if (json) {
            hvctl_live_print_json(st);
        } else {
            if (!once)
                fputs("\033[H\033[2J", stdout);   /* home + clear: refresh in place */
            top_print(st, syms, prev, dt);
            fflush(stdout);
        }
        json_decref(st);
        if (once)
            break;
        sleep((unsigned)interval);
    }
    json_decref(prev);
    hvsym_free(syms);
    hvctl_client_close(c);
    return rc;
}
