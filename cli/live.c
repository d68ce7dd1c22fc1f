/* live.c -- helpers every live hvctl command uses (see live.h). */
#include "live.h"

#include <string.h>
#include <unistd.h>

struct hvctl_client *hvctl_live_connect(const struct hvctl_source_opts *so,
                                        const struct hvctl_opts *g, struct hvk_err *err)
{
    struct hvctl_client_opts co = {
        .rundir = so->rundir ? so->rundir : g->rundir,
        .socket = so->socket ? so->socket : (so->rundir ? NULL : g->socket),
        .timeout_ms = g->timeout_ms,
    };
    return hvctl_client_connect(&co, err);
}

json_t *hvctl_live_args(const struct hvctl_source_opts *so, bool with_vcpu)
{
    json_t *a = json_object();
    if (!a)
        return NULL;
    if (so->vm)
        json_object_set_new(a, "vm", json_string(so->vm));
    if (with_vcpu)
        json_object_set_new(a, "vcpu", json_integer(so->vcpu));
    return a;
}

/* "a, b, c" of query-vms' names into buf; the count, or -1. */
static int hvctl_live_vm_names(struct hvctl_client *c, char *buf, size_t len)
{
    json_t *vms = NULL, *v;
    struct hvk_err e = { "" };
    size_t i, used = 0;
    int n = 0;
    buf[0] = '\0';
    if (hvctl_client_exec(c, "query-vms", NULL, &vms, NULL, &e) < 0 || !json_is_array(vms)) {
        json_decref(vms);
        return -1;
    }
    json_array_foreach(vms, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *state = json_string_value(json_object_get(v, "state"));
        if (!name || (state && !strcmp(state, "gone")))
            continue;
        int k = snprintf(buf + used, len - used, "%s%s", n ? ", " : "", name);
        if (k < 0 || (size_t)k >= len - used) {
            snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
            used = len - 1;
        } else {
            used += (size_t)k;
        }
        n++;
    }
    json_decref(vms);
    return n;
}

int hvctl_live_call(struct hvctl_client *c, const struct hvctl_source_opts *so, const char *cmd,
                    json_t *args, json_t **ret, struct hvk_err *err)
{
    const char *cls;
    char names[256];
    int n;

    /* Busy: hv's command ring is full right now; a few short retries */
    for (int tries = 0;; tries++) {
        if (hvctl_client_exec(c, cmd, json_incref(args), ret, &cls, err) == 0) {
            json_decref(args);
            return 0;
        }
        if (strcmp(cls, "Busy") != 0 || tries == 5)
            break;
        usleep(2000u << tries);
    }
    json_decref(args);
    if (strcmp(cls, "VMNotFound") != 0)
        return -1;
    /* hvd's desc already says something; make it say which VMs exist */
    n = hvctl_live_vm_names(c, names, sizeof names);
    if (n < 0)
        return -1;
    if (so->vm)
        hvk_err_set(err, "no VM named '%s' (%s%s)", so->vm, n ? "running: " : "no VM is running",
                    names);
    else if (n == 0)
        hvk_err_set(err, "no VM is running");
    else
        hvk_err_set(err, "%d VMs are running (%s): choose one with --vm NAME", n, names);
    return hvk_err_code(err, HVCTL_EXIT_NOT_FOUND);
}

void hvctl_live_print_json(const json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    fputc('\n', stdout);
}

int hvctl_live_fail(const struct hvk_err *err)
{
    return hvctl_fail(err->code ? err->code : HVCTL_EXIT_INTERNAL, "%s", err->msg);
}

int hvctl_live_query_vms(const struct hvctl_source_opts *so, const struct hvctl_opts *g, struct hvctl_client **c,
                         json_t **vms)
{
    struct hvk_err err = { "" };
    *vms = NULL;
    *c = hvctl_live_connect(so, g, &err);
    if (!*c)
        return hvctl_live_fail(&err);
    if (hvctl_client_exec(*c, "query-vms", NULL, vms, NULL, &err) < 0)
        return hvctl_live_fail(&err);
    if (!json_is_array(*vms))
        return hvctl_fail(HVCTL_EXIT_BAD_INPUT, "bad reply from hvd: query-vms did not return an array");
    return HVCTL_EXIT_OK;
}
