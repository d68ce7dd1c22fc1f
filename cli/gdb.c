/* gdb.c -- `hvctl gdb`: the exact gdb command line that attaches to a VM's
 * GDB server in hvd (query-vms' "gdb" member), with the kernel's symbols
 * when hvd knows the kernel file. */
#include "hvctl.h"
#include "live.h"
#include "table.h"
#include "util.h"

#include <string.h>

const char hvctl_gdb_usage[] =
    "usage: hvctl gdb [--vm NAME] [--json] [--rundir DIR] [--socket PATH]\n"
    "Print the gdb command that attaches to the VM's GDB server in hvd:\n"
    "  gdb -ex 'target remote 127.0.0.1:PORT'\n"
    "with -ex 'file KERNEL' in front when hv booted a kernel file (for the\n"
    "bundled guest, load its ELF, hvkit-guest, yourself). vCPUs are gdb threads\n"
    "(thread N = vCPU N-1); `monitor help` lists hvkit's monitor commands.\n"
    "\n"
    "  --vm NAME          the VM (default: the only running one)\n"
    "  --json             {\"vm\", \"host\", \"port\", \"kernel\"?, \"command\"}\n"
    "  --rundir DIR       hvd's runtime directory (as the global option)\n"
    "  --socket PATH      hvd's API socket (as the global option)\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 done, 2 usage, 3 cannot reach hvd, 4 no such VM (or hvd\n"
    "serves no GDB server for it), 5 bad reply.\n";

/* Append s to the command as one shell word inside single quotes. */
static void hvctl_gdb_quote(char *dst, size_t len, const char *s)
{
    size_t n = strlen(dst);
    for (; *s && n + 5 < len; s++) {
        if (*s == '\'') {
            memcpy(dst + n, "'\\''", 4);
            n += 4;
        } else {
            dst[n++] = *s;
        }
    }
    dst[n] = '\0';
}

int hvctl_gdb_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        { "vm", required_argument, NULL, 'v' },
        { "rundir", required_argument, NULL, HVCTL_OPT_RUNDIR },
        { "socket", required_argument, NULL, HVCTL_OPT_SOCKET },
        { "json", no_argument, NULL, HVCTL_OPT_JSON },
        { "help", no_argument, NULL, HVCTL_OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct hvctl_client *c;
    json_t *vms = NULL, *v, *pick = NULL;
    const char *want = NULL;
    bool json = o->json;
    int opt, rc = HVCTL_EXIT_OK;
    unsigned live = 0;
    size_t i;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'v':
            want = optarg;
            break;
        case HVCTL_OPT_RUNDIR:
        case HVCTL_OPT_SOCKET:
            hvctl_source_opt(opt, optarg, &so);
            break;
        case HVCTL_OPT_JSON:
            json = true;
            break;
        case HVCTL_OPT_HELP:
            fputs(hvctl_gdb_usage, stdout);
            return HVCTL_EXIT_OK;
        default:
            fputs(hvctl_gdb_usage, stderr);
            return HVCTL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(hvctl_gdb_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "gdb takes no arguments (use --vm NAME)");
    }
    c = NULL;
    rc = hvctl_live_query_vms(&so, o, &c, &vms);
    if (rc != HVCTL_EXIT_OK)
        goto out;
    json_array_foreach(vms, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *st = json_string_value(json_object_get(v, "state"));
        if (!name || (st && !strcmp(st, "gone")))
            continue;
        live++;
        if (!want || !strcmp(want, name))
            pick = v;
    }
    if (!want && live > 1) {
        rc = hvctl_fail(HVCTL_EXIT_NOT_FOUND, "%u VMs are running: choose one with --vm NAME (hvctl list)", live);
        goto out;
    }
    if (!pick) {
        char name[80];
        hvctl_sanitize(name, sizeof name, want ? want : "");
        if (want)
            rc = hvctl_fail(HVCTL_EXIT_NOT_FOUND, "no running VM named '%s' (hvctl list)", name);
        else
            rc = hvctl_fail(HVCTL_EXIT_NOT_FOUND, "no VM is running");
        goto out;
    }
    json_t *g = json_object_get(pick, "gdb");
    json_t *jport = json_object_get(g, "port");
    const char *host = json_string_value(json_object_get(g, "host"));
    const char *kernel = json_string_value(json_object_get(pick, "kernel"));
    char vmname[80];
    hvctl_sanitize(vmname, sizeof vmname, json_string_value(json_object_get(pick, "name")));
    if (!g) {
        rc = hvctl_fail(HVCTL_EXIT_NOT_FOUND, "VM '%s' has no GDB server (hvd runs with --no-gdb, or could not listen: see its log)",
                        vmname);
        goto out;
    }
    if (!json_is_integer(jport) || json_integer_value(jport) < 1 || json_integer_value(jport) > 65535 || !host ||
        strspn(host, "0123456789.:abcdef") != strlen(host) || strlen(host) > 45) {
        rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "bad reply from hvd: VM '%s' has a malformed \"gdb\" member", vmname);
        goto out;
    }
    char cmd[4200] = "gdb ";
    bool has_file = kernel && kernel[0] == '/';
    if (has_file) {
        strcat(cmd, "-ex 'file ");
        hvctl_gdb_quote(cmd, sizeof cmd - 64, kernel);
        strcat(cmd, "' ");
    }
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "-ex 'target remote %s:%d'", host,
             (int)json_integer_value(jport));
    if (json) {
        json_t *out = json_pack("{s:s,s:s,s:I,s:s}", "vm", vmname, "host", host, "port",
                                json_integer_value(jport), "command", cmd);
        if (out && has_file)
            json_object_set_new(out, "kernel", json_string(kernel));
        hvctl_live_print_json(out);
        json_decref(out);
    } else {
        puts(cmd);
        if (!has_file)
            fprintf(stderr, "hvctl: symbols: hvd does not know the kernel file of '%s' (%s); load it in gdb with "
                            "`file PATH` (the bundled guest's ELF is hvkit-guest in the build tree)\n",
                    vmname, kernel ? kernel : "no kernel path");
    }
out:
    json_decref(vms);
    hvctl_client_close(c);
    return rc;
}
