/* fuzz_hvctl_reply.c -- hvd's replies are untrusted by hvctl: any bytes, as
 * one message line through the client (socketpair) and as a return value
 * through every parser and renderer, must neither crash nor be accepted
 * half-checked (a parsed walk must keep fault_level inside its levels). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "jparse.h"
#include "render.h"
#include "render_regs.h"
#include "stackview.h"

static FILE *fuzz_null;

static void fuzz_value(const json_t *j)
{
    static struct hvctl_stackview sv;
    struct hvk_err err = { "" };
    struct x86_walk w;
    enum x86_mode mode;
    uint64_t cr3;
    struct x86_maps_stats st;

    if (hvctl_jparse_walk(j, &w, &err) == 0) {
        if (w.nlevels > X86_WALK_MAX_LEVELS || w.fault_level >= (int)w.nlevels)
            abort();
        hvctl_render_walk(fuzz_null, &w, &cr3, true);
    }
    if (hvctl_jparse_maps_head(j, &mode, &cr3, &st, &err) == 0) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(j, "ranges"), i, v) {
            struct x86_map_range r;
            if (hvctl_jparse_map_range(v, &r, &err) == 0)
                hvctl_render_maps_range(fuzz_null, &r);
        }
    }
    if (hvctl_stackview_parse(j, &sv, &err) == 0) {
        if (sv.nframes > HVCTL_STACK_MAX_FRAMES || sv.nraw > HVCTL_STACK_MAX_RAW)
            abort();
        hvctl_render_stack(fuzz_null, &sv, false);
    }
    if (json_is_object(j))
        hvctl_render_regs(fuzz_null, j, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_null)
        fuzz_null = fopen("/dev/null", "w");
    if (size > (1 << 20))
        return 0;

    /* 1. as a value */
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (j) {
        fuzz_value(j);
        json_decref(j);
    }

    /* 2. as hvd's side of a session: a greeting, then these bytes as the reply */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 0;
    static const char greet[] = "{\"hvkit\": {\"version\": \"0.1.0\", \"api\": 1}}\n";
    if (write(sv[1], greet, sizeof greet - 1) == (ssize_t)(sizeof greet - 1)) {
        struct hvk_err err = { "" };
        struct hvctl_client *c = hvctl_client_from_fd(sv[0], 50, &err);
        sv[0] = -1;
        if (c) {
            size_t off = 0;
            /* what does not fit the socket buffer is dropped: still a reply */
            while (off < size) {
                ssize_t n = send(sv[1], data + off, size - off, MSG_DONTWAIT);
                if (n <= 0)
                    break;
                off += (size_t)n;
            }
            shutdown(sv[1], SHUT_WR);
            json_t *ret = NULL;
            if (hvctl_client_exec(c, "walk", NULL, &ret, NULL, &err) == 0) {
                fuzz_value(ret);
                json_decref(ret);
            }
            hvctl_client_close(c);
        }
    }
    if (sv[0] >= 0)
        close(sv[0]);
    close(sv[1]);
    return 0;
}
