/* x.c -- `hvctl x`: hexdump guest memory by GVA (the vCPU's CR3) or GPA,
 * read through hvd's read-memory in chunks of at most 64 KiB. */
#include "hvctl.h"
#include "jparse.h"
#include "live.h"
#include "render_hex.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <hvkit/hvjson.h>
#include <hvkit/proto.h>

#define HVCTL_X_DEFAULT 128u
#define HVCTL_X_MAX     (1u << 20)

const char hvctl_x_usage[] =
    "usage: hvctl x [options] ADDRESS [LEN]\n"
    "Hexdump LEN bytes (default 128, at most 1 MiB) of guest memory at ADDRESS,\n"
    "a guest virtual address translated with the vCPU's page tables, or with\n"
    "--phys a guest physical address. 16 bytes a line, with ASCII.\n"
    "\n"
    HVCTL_LIVE_HELP
    "  --phys             ADDRESS is guest physical\n"
    "  --help             this text\n"
    "\n"
    "With --json: hvd's read-memory value ({address, size, data: hex, ...});\n"
    "a read over 64 KiB is made in pieces and printed as one such object.\n"
    "\n"
    "Exit status: 0 done, 1 the memory is not mapped or not RAM, 2 usage,\n"
    "3 cannot reach hvd, 4 VM or vCPU not found, 5 bad reply, 6 hvd or hv failed.\n";

static int hvctl_x_unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Check one read-memory reply (untrusted) and copy its bytes to out. */
static int hvctl_x_take(const json_t *r, uint64_t addr, size_t n, uint8_t *out, struct hvk_err *err)
{
    const json_t *size = json_object_get(r, "size");
    const char *data = json_string_value(json_object_get(r, "data"));
    uint64_t a;
    if (hvctl_jparse_hex_member(r, "address", &a, "read-memory", err) < 0)
        return -1;
    if (a != addr || !json_is_integer(size) || json_integer_value(size) != (json_int_t)n || !data ||
        strlen(data) != 2 * n)
        return hvk_err_set(err, "bad reply from hvd: read-memory of 0x%llx+%zu answered with another range",
                           (unsigned long long)addr, n);
    for (size_t i = 0; i < n; i++) {
        int hi = hvctl_x_unhex(data[2 * i]), lo = hvctl_x_unhex(data[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return hvk_err_set(err, "bad reply from hvd: read-memory data is not hex");
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int hvctl_x_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        HVCTL_LIVE_LONGOPTS,
        { "phys", no_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct hvk_err err = { "" };
    struct hvctl_client *c = NULL;
    unsigned long long addr, len = HVCTL_X_DEFAULT;
    bool json = o->json, phys = false;
    json_t *first = NULL;
    uint8_t *buf = NULL;
    int opt, rc = 0;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == HVCTL_OPT_JSON) {
            json = true;
        } else if (opt == 'p') {
            phys = true;
        } else if (opt == HVCTL_OPT_HELP) {
            fputs(hvctl_x_usage, stdout);
            return HVCTL_EXIT_OK;
        } else if (opt == '?' || (rc = hvctl_source_opt(opt, optarg, &so)) != 0) {
            if (opt == '?' || rc > 0)
                fputs(hvctl_x_usage, stderr);
            return HVCTL_EXIT_USAGE;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        fputs(hvctl_x_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "x needs an ADDRESS and optionally a LEN");
    }
    if (hvctl_parse_u64(argv[optind], &addr) < 0)
        return hvctl_fail(HVCTL_EXIT_USAGE, "bad address '%s'", argv[optind]);
    if (argc - optind == 2 &&
        (hvctl_parse_u64(argv[optind + 1], &len) < 0 || len < 1 || len > HVCTL_X_MAX))
        return hvctl_fail(HVCTL_EXIT_USAGE, "bad LEN '%s' (1..%u)", argv[optind + 1], HVCTL_X_MAX);
    if (len - 1 > ~0ull - addr)
        return hvctl_fail(HVCTL_EXIT_USAGE, "0x%llx + %llu wraps around the address space", addr, len);
    buf = malloc(len);
    if (!buf)
        return hvctl_fail(HVCTL_EXIT_INTERNAL, "out of memory");
    c = hvctl_live_connect(&so, o, &err);
    if (!c) {
        rc = hvctl_live_fail(&err);
        goto out;
    }
    for (unsigned long long done = 0; done < len;) {
        size_t n = len - done > HVK_READ_MEM_MAX ? HVK_READ_MEM_MAX : (size_t)(len - done);
        json_t *args = hvctl_live_args(&so, true), *ret = NULL;
        if (args) {
            json_object_set_new(args, "address", hvjson_hex(addr + done));
            json_object_set_new(args, "size", json_integer((json_int_t)n));
            json_object_set_new(args, "physical", json_boolean(phys));
        }
        if (hvctl_live_call(c, &so, "read-memory", args, &ret, &err) < 0) {
            rc = hvctl_live_fail(&err);
            goto out;
        }
        if (hvctl_x_take(ret, addr + done, n, buf + done, &err) < 0) {
            json_decref(ret);
            rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "%s", err.msg);
            goto out;
        }
        if (!first)
            first = ret;
        else
            json_decref(ret);
        done += n;
    }
    if (json && len <= HVK_READ_MEM_MAX) {
        hvctl_live_print_json(first);
    } else if (json) {
        /* one object of the same shape as a single read-memory value */
        char *hex = malloc(2 * len + 1);
        if (!hex) {
            rc = hvctl_fail(HVCTL_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        for (unsigned long long i = 0; i < len; i++)
            snprintf(hex + 2 * i, 3, "%02x", buf[i]);
        json_object_set_new(first, "size", json_integer((json_int_t)len));
        json_object_set_new(first, "data", json_string(hex));
        free(hex);
        hvctl_live_print_json(first);
    } else {
        hvctl_render_hex(stdout, addr, buf, len);
    }
    rc = HVCTL_EXIT_OK;
out:
    json_decref(first);
    free(buf);
    hvctl_client_close(c);
    return rc;
}
