/* hvd_main.c -- the `hvd` command: options, the runtime directory, then the
 * event loop until SIGINT/SIGTERM. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvkit/rundir.h>

#include "hvd.h"
#include "hvd_gdb.h"

#ifndef HVKIT_VERSION
#define HVKIT_VERSION "0.0.0"
#endif

static void hvd_usage(FILE *f)
{
    fprintf(f,
            "usage: hvd [--rundir DIR] [--socket PATH] [--gdb-port BASE | --no-gdb]\n"
            "  hvkit's host daemon: VMs run by `hv` register with it, clients (hvctl)\n"
            "  query them over a JSON API.\n"
            "  --rundir DIR   runtime directory (default $%s, /run/hvkit as root,\n"
            "                 $XDG_RUNTIME_DIR/hvkit otherwise); created with mode 0700\n"
            "  --socket PATH  the API socket (default DIR/%s)\n"
            "  --gdb-port BASE  a GDB remote server per VM on 127.0.0.1:BASE+i (default:\n"
            "                 an ephemeral port each; query-vms and `hvctl gdb` tell it)\n"
            "  --no-gdb       no GDB servers\n"
            "  --help         this text\n"
            "  --version      print the version\n"
            "Registration socket for hv: DIR/%s. Logs go to stderr, one line per event.\n"
            "Exit status: 0 stopped by SIGINT/SIGTERM, 1 cannot start, 2 usage.\n",
            HVK_RUNDIR_ENV, HVK_API_SOCKET_NAME, HVK_REG_SOCKET_NAME);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rundir", required_argument, NULL, 'r'},
        {"socket", required_argument, NULL, 's'},
        {"gdb-port", required_argument, NULL, 'g'},
        {"no-gdb", no_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *rundir = NULL, *sock = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': rundir = optarg; break;
        case 's': sock = optarg; break;
        case 'g': {
            char *end;
            long p = strtol(optarg, &end, 10);
            if (*end || end == optarg || p < 1 || p > 65535) {
                fprintf(stderr, "hvd: --gdb-port wants a port number 1..65535, not '%s'\n", optarg);
                return 2;
            }
            hvd_gdb_config((int)p);
            break;
        }
        case 'G': hvd_gdb_config(-1); break;
        case 'h': hvd_usage(stdout); return 0;
        case 'V': printf("hvd %s (api 1, proto %d)\n", HVKIT_VERSION, HVK_PROTO_VERSION); return 0;
        default: hvd_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hvd: unexpected argument '%s'\n", argv[optind]);
        hvd_usage(stderr);
        return 2;
    }
    struct hvk_err err = {{0}};
    char api[108], reg[108];
    if (hvk_rundir_create(rundir, &err) < 0 ||
        hvk_rundir_socket(rundir, HVK_REG_SOCKET_NAME, reg, sizeof reg, &err) < 0) {
        fprintf(stderr, "hvd: %s\n", err.msg);
        return 1;
    }
    if (sock) {
        if (strlen(sock) >= sizeof api) {
            fprintf(stderr, "hvd: --socket path is too long for a unix socket\n");
            return 2;
        }
        snprintf(api, sizeof api, "%s", sock);
    } else if (hvk_rundir_socket(rundir, HVK_API_SOCKET_NAME, api, sizeof api, &err) < 0) {
        fprintf(stderr, "hvd: %s\n", err.msg);
        return 1;
    }
    static struct hvd d;
    if (hvd_init(&d, api, reg, &err) < 0) {
        fprintf(stderr, "hvd: %s\n", err.msg);
        hvd_fini(&d);
        return 1;
    }
    int rc = hvd_run(&d);
    hvd_fini(&d);
    hvd_log("stopped");
    return rc < 0 ? 1 : 0;
}
