/* list.c -- `hvctl list`: the VMs hvd knows (query-vms) as an aligned table,
 * their names only (--names, for shell completion), or hvd's JSON. */
#include "hvctl.h"
#include "live.h"
#include "table.h"
#include "util.h"

#include <inttypes.h>
#include <string.h>

const char hvctl_list_usage[] =
    "usage: hvctl list [--names] [--json] [--rundir DIR] [--socket PATH]\n"
    "List the VMs registered with hvd: name, state, vCPUs, memory, hv's pid,\n"
    "UUID and kernel.\n"
    "\n"
    "  --names            only the names of running (not gone) VMs, one a line\n"
    "  --json             print hvd's query-vms return value as it came\n"
    "  --rundir DIR       hvd's runtime directory (as the global option)\n"
    "  --socket PATH      hvd's API socket (as the global option)\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 done, 2 usage, 3 cannot reach hvd, 5 bad reply.\n";

/* "64 MiB" style; exact bytes when not a whole number of KiB. */
static void hvctl_list_size(char *buf, size_t len, uint64_t bytes)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    unsigned u = 0;
    while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, len, "%" PRIu64 " %s", bytes, unit[u]);
}

/* Check the shape of one query-vms element (untrusted). */
static int hvctl_list_check(const json_t *v, struct hvk_err *err)
{
    if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")))
        return hvk_err_set(err, "bad reply from hvd: a query-vms entry has no name");
    return 0;
}

int hvctl_list_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        { "names", no_argument, NULL, 'n' },
        { "rundir", required_argument, NULL, HVCTL_OPT_RUNDIR },
        { "socket", required_argument, NULL, HVCTL_OPT_SOCKET },
        { "json", no_argument, NULL, HVCTL_OPT_JSON },
        { "help", no_argument, NULL, HVCTL_OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct hvk_err err = { "" };
    struct hvctl_client *c;
    json_t *vms = NULL, *v;
    bool json = o->json, names = false;
    int opt, rc = HVCTL_EXIT_OK;
    size_t i;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            names = true;
            break;
        case HVCTL_OPT_RUNDIR:
        case HVCTL_OPT_SOCKET:
            hvctl_source_opt(opt, optarg, &so);
            break;
        case HVCTL_OPT_JSON:
            json = true;
            break;
        case HVCTL_OPT_HELP:
            fputs(hvctl_list_usage, stdout);
            return HVCTL_EXIT_OK;
        default:
            fputs(hvctl_list_usage, stderr);
            return HVCTL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(hvctl_list_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "list takes no arguments");
    }
    c = NULL;
    rc = hvctl_live_query_vms(&so, o, &c, &vms);
    if (rc != HVCTL_EXIT_OK)
        goto out;
    json_array_foreach(vms, i, v)
        if (hvctl_list_check(v, &err) < 0) {
            rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "%s", err.msg);
            goto out;
        }
    if (json) {
        hvctl_live_print_json(vms);
    } else if (names) {
        json_array_foreach(vms, i, v) {
            const char *st = json_string_value(json_object_get(v, "state"));
            char name[256];
            if (st && !strcmp(st, "gone"))
                continue;
            hvctl_sanitize(name, sizeof name, json_string_value(json_object_get(v, "name")));
            puts(name);
        }
    } else {
        static const char *const head[] = { "NAME", "STATE", "VCPUS", "MEMORY", "PID", "UUID", "KERNEL" };
        struct hvctl_table t;
        hvctl_table_init(&t, 7, head);
        t.right[2] = t.right[3] = t.right[4] = true;
        json_array_foreach(vms, i, v) {
            char vcpus[24] = "-", mem[32] = "-", pid[24] = "-";
            json_t *x;
            if (json_is_integer(x = json_object_get(v, "vcpus")))
                snprintf(vcpus, sizeof vcpus, "%" JSON_INTEGER_FORMAT, json_integer_value(x));
            if (json_is_integer(x = json_object_get(v, "memory")) && json_integer_value(x) >= 0)
                hvctl_list_size(mem, sizeof mem, (uint64_t)json_integer_value(x));
            if (json_is_integer(x = json_object_get(v, "pid")))
                snprintf(pid, sizeof pid, "%" JSON_INTEGER_FORMAT, json_integer_value(x));
            const char *row[] = {
                json_string_value(json_object_get(v, "name")),
                json_string_value(json_object_get(v, "state")),
                vcpus, mem, pid,
                json_string_value(json_object_get(v, "uuid")),
                json_string_value(json_object_get(v, "kernel")),
            };
            hvctl_table_add(&t, row);
        }
        if (json_array_size(vms) == 0)
            fputs("no VMs\n", stderr);
        else if (hvctl_table_print(&t, stdout, o->color) < 0)
            rc = hvctl_fail(HVCTL_EXIT_INTERNAL, "out of memory");
        hvctl_table_free(&t);
    }
out:
    json_decref(vms);
    hvctl_client_close(c);
    return rc;
}
