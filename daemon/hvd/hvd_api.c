/* hvd_api.c -- the JSON API: one request line -> checks (depth, JSON, shape)
 * -> the command table -> an answer now (queries, errors) or a request on
 * the VM's command ring (answered by hvd_req.c). */
#include <stdlib.h>
#include <string.h>

#include "hvd_args.h"
#include "hvd_telemetry.h"
#include "hvd_gdb.h"

#ifndef HVKIT_VERSION
#define HVKIT_VERSION "0.0.0"
#endif
#define HVD_API_LEVEL 1

struct hvd_cmd {
    const char *name;
    /* Answer or forward; -1 with err->code = class for an immediate error. */
    int (*run)(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err);
};

static const struct hvd_cmd hvd_cmds[];

#define FAIL(err, cls, ...) (hvk_err_set(err, __VA_ARGS__), hvk_err_code(err, cls))

/* Send one ring request for slot s; a full ring is Busy. Steals args. */
static int hvd_api_forward(struct hvd *d, struct hvd_slot *s, struct hvd_vm *vm, uint32_t cmd,
                           uint32_t vcpu, json_t *args, struct hvk_err *err)
{
    if (!args)
        return FAIL(err, HVD_E_INTERNAL, "out of memory");
    s->ring_cmd = cmd;
    s->vcpu = vcpu;
    int rc = hvd_req_send(d, vm, s, cmd, vcpu, args, 0, err);
    json_decref(args);
    if (rc == 1)
        return FAIL(err, HVD_E_BUSY, "VM '%s': command ring full, retry later", vm->name);
    if (rc < 0)
        return hvk_err_code(err, HVD_E_INTERNAL);
    return 0;
}

static json_t *hvd_hexj(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    return json_string(b);
}

static int hvd_cmd_query_version(struct hvd *d, struct hvd_slot *s, const json_t *args,
                                 struct hvk_err *err)
{
    static const char *const allowed[] = {NULL};
    if (hvd_args_only(args, allowed, err) < 0)
        return -1;
    hvd_slot_return(d, s, json_pack("{s:s,s:i}", "version", HVKIT_VERSION, "api", HVD_API_LEVEL));
    return 0;
}

/* Per event ring: where hvd joined it (first_seq, null before any record),
 * the next seq it expects, and what it read (delivered) or was told was
 * dropped (lost): delivered + lost == next_seq - first_seq. */
static json_t *hvd_api_rings(const struct hvd_vm *vm)
{
    json_t *a = json_array();
    for (uint32_t i = 0; a && i <= vm->vcpus; i++) {
        const struct ring_consumer *c = &vm->cons[i];
        bool seen = vm->first_seq[i] != UINT64_MAX;
        json_t *o = json_pack("{s:I,s:s,s:o,s:o,s:I,s:I}", "index", (json_int_t)i, "kind",
                              i < vm->vcpus ? "vcpu" : "control", "first_seq",
                              seen ? json_integer((json_int_t)vm->first_seq[i]) : json_null(),
                              "next_seq", seen ? json_integer((json_int_t)c->seq_next) : json_null(),
                              "delivered", (json_int_t)c->delivered, "lost", (json_int_t)c->lost);
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int hvd_cmd_query_vms(struct hvd *d, struct hvd_slot *s, const json_t *args,
                             struct hvk_err *err)
{
    static const char *const allowed[] = {NULL};
    if (hvd_args_only(args, allowed, err) < 0)
        return -1;
    json_t *a = json_array();
    for (struct hvd_vm *vm = d->vms; vm && a; vm = vm->next) {
        json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s?,s:I,s:I}", "name", vm->name, "uuid",
                              vm->uuid, "pid", (json_int_t)vm->pid, "vcpus", (json_int_t)vm->vcpus,
                              "memory", (json_int_t)vm->memory, "state",
                              hvd_vm_state_name(vm->state), "kernel", vm->kernel, "events",
                              (json_int_t)vm->events, "lost", (json_int_t)vm->lost);
        json_t *gdb = o ? hvd_gdb_json(vm) : NULL;
        if (gdb)
            json_object_set_new(o, "gdb", gdb);
        if (o && vm->cons && json_object_set_new(o, "rings", hvd_api_rings(vm)) < 0) {
            json_decref(o);
            o = NULL;
        }
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    if (!a)
        return FAIL(err, HVD_E_INTERNAL, "out of memory");
    hvd_slot_return(d, s, a);
    return 0;
}

static int hvd_cmd_query_vcpus(struct hvd *d, struct hvd_slot *s, const json_t *args,
                               struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", NULL};
    struct hvd_vm *vm;
    if (hvd_args_only(args, allowed, err) < 0 || hvd_args_vm(d, args, &vm, err) < 0)
        return -1;
    return hvd_api_forward(d, s, vm, RING_CMD_VCPUS, UINT32_MAX, json_object(), err);
}

/* vm, vcpu, access, user: common to walk and translate. */
static int hvd_walk_common(struct hvd *d, const json_t *args, struct hvd_vm **vm, uint32_t *vcpu,
                           char *access, bool *user, struct hvk_err *err)
{
    if (hvd_args_vm(d, args, vm, err) < 0 || hvd_args_vcpu(args, *vm, vcpu, err) < 0 ||
        hvd_args_access(args, access, err) < 0 || hvd_args_bool(args, "user", false, user, err) < 0)
        return -1;
    return 0;
}

static int hvd_cmd_walk(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", "vcpu", "gva", "access", "user", "cr3", NULL};
    struct hvd_vm *vm;
    uint32_t vcpu;
    char access[2] = "r";
    bool user, has_cr3;
    uint64_t gva, cr3 = 0;
    if (hvd_args_only(args, allowed, err) < 0 ||
        hvd_walk_common(d, args, &vm, &vcpu, access, &user, err) < 0 ||
        hvd_args_hex(args, "gva", &gva, NULL, err) < 0 ||
        hvd_args_hex(args, "cr3", &cr3, &has_cr3, err) < 0)
        return -1;
    json_t *a = json_pack("{s:i,s:o,s:s,s:b}", "vcpu", (int)vcpu, "gva", hvd_hexj(gva), "access",
                          access, "user", user);
    if (a && has_cr3)
        json_object_set_new(a, "cr3", hvd_hexj(cr3));
    return hvd_api_forward(d, s, vm, RING_CMD_WALK, vcpu, a, err);
}

static int hvd_cmd_translate(struct hvd *d, struct hvd_slot *s, const json_t *args,
                             struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", "vcpu", "addresses", "access", "user", NULL};
    struct hvd_vm *vm;
    uint32_t vcpu;
    char access = 'r';
    bool user;
    if (hvd_args_only(args, allowed, err) < 0 ||
        hvd_walk_common(d, args, &vm, &vcpu, &access, &user, err) < 0)
        return -1;
    json_t *list = json_object_get(args, "addresses");
    if (!json_is_array(list) || json_array_size(list) > HVD_TRANSLATE_MAX)
        return FAIL(err, HVD_E_INVALID_ARGUMENT, "'addresses' must be an array of at most %d hex strings",
                    HVD_TRANSLATE_MAX);
    size_t n = json_array_size(list);
    s->addrs = calloc(n ? n : 1, sizeof *s->addrs);
    s->results = json_array();
    if (!s->addrs || !s->results)
        return FAIL(err, HVD_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!hvd_parse_hex(json_string_value(json_array_get(list, i)), &s->addrs[i]))
            return FAIL(err, HVD_E_INVALID_ARGUMENT, "addresses[%zu] is not a hex string \"0x...\"", i);
        if (json_array_append_new(s->results, json_null()) < 0)
            return FAIL(err, HVD_E_INTERNAL, "out of memory");
    }
    s->naddrs = n;
    s->vm = vm;
    s->vcpu = vcpu;
    s->access = access;
    s->user = user;
    s->ring_cmd = RING_CMD_WALK;
    hvd_translate_pump(d, s);
    return 0;
}

static int hvd_cmd_maps(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", "vcpu", "cr3", NULL};
    struct hvd_vm *vm;
    uint32_t vcpu;
    bool has_cr3;
    uint64_t cr3 = 0;
    if (hvd_args_only(args, allowed, err) < 0 || hvd_args_vm(d, args, &vm, err) < 0 ||
        hvd_args_vcpu(args, vm, &vcpu, err) < 0 || hvd_args_hex(args, "cr3", &cr3, &has_cr3, err) < 0)
        return -1;
    json_t *a = json_pack("{s:i}", "vcpu", (int)vcpu);
    if (a && has_cr3)
        json_object_set_new(a, "cr3", hvd_hexj(cr3));
    return hvd_api_forward(d, s, vm, RING_CMD_MAPS, vcpu, a, err);
}

static int hvd_cmd_stack(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", "vcpu", "max_frames", "raw_words", NULL};
    struct hvd_vm *vm;
    uint32_t vcpu;
    uint64_t frames, raw;
    if (hvd_args_only(args, allowed, err) < 0 || hvd_args_vm(d, args, &vm, err) < 0 ||
        hvd_args_vcpu(args, vm, &vcpu, err) < 0 ||
        hvd_args_uint(args, "max_frames", true, 64, 1, 256, &frames, err) < 0 ||
        hvd_args_uint(args, "raw_words", true, 0, 0, 512, &raw, err) < 0)
        return -1;
    return hvd_api_forward(d, s, vm, RING_CMD_STACK, vcpu,
                           json_pack("{s:i,s:i,s:i}", "vcpu", (int)vcpu, "max_frames", (int)frames,
                                     "raw_words", (int)raw), err);
}

static int hvd_cmd_regs(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", "vcpu", NULL};
    struct hvd_vm *vm;
    uint32_t vcpu;
    if (hvd_args_only(args, allowed, err) < 0 || hvd_args_vm(d, args, &vm, err) < 0 ||
        hvd_args_vcpu(args, vm, &vcpu, err) < 0)
        return -1;
    return hvd_api_forward(d, s, vm, RING_CMD_REGS, vcpu, json_pack("{s:i}", "vcpu", (int)vcpu), err);
}

static int hvd_cmd_read_memory(struct hvd *d, struct hvd_slot *s, const json_t *args,
                               struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", "vcpu", "address", "size", "physical", NULL};
    struct hvd_vm *vm;
    uint32_t vcpu;
    uint64_t addr, size;
    bool phys;
    if (hvd_args_only(args, allowed, err) < 0 || hvd_args_vm(d, args, &vm, err) < 0 ||
        hvd_args_vcpu(args, vm, &vcpu, err) < 0 || hvd_args_hex(args, "address", &addr, NULL, err) < 0)
        return -1;
    json_t *js = json_object_get(args, "size");
    if (json_is_integer(js) && json_integer_value(js) > HVK_READ_MEM_MAX)
        return FAIL(err, HVD_E_TOO_LARGE, "'size' is at most %d bytes", HVK_READ_MEM_MAX);
    if (hvd_args_uint(args, "size", false, 0, 1, HVK_READ_MEM_MAX, &size, err) < 0 ||
        hvd_args_bool(args, "physical", false, &phys, err) < 0)
        return -1;
    if (addr + size - 1 < addr)
        return FAIL(err, HVD_E_INVALID_ARGUMENT, "address + size wraps around 2^64");
    return hvd_api_forward(d, s, vm, RING_CMD_READ_MEM, vcpu,
                           json_pack("{s:i,s:o,s:i,s:b}", "vcpu", (int)vcpu, "address", hvd_hexj(addr),
                                     "size", (int)size, "physical", phys), err);
}

static int hvd_cmd_pause_resume(struct hvd *d, struct hvd_slot *s, const json_t *args,
                                uint32_t cmd, struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", NULL};
    struct hvd_vm *vm;
    if (hvd_args_only(args, allowed, err) < 0 || hvd_args_vm(d, args, &vm, err) < 0)
        return -1;
    return hvd_api_forward(d, s, vm, cmd, UINT32_MAX, json_object(), err);
}

static int hvd_cmd_pause(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    return hvd_cmd_pause_resume(d, s, args, RING_CMD_PAUSE, err);
}

static int hvd_cmd_resume(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    return hvd_cmd_pause_resume(d, s, args, RING_CMD_RESUME, err);
}

static const struct hvd_cmd hvd_cmds[] = {
    {"query-version", hvd_cmd_query_version},
    {"query-vms", hvd_cmd_query_vms},
    {"query-vcpus", hvd_cmd_query_vcpus},
    {"walk", hvd_cmd_walk},
    {"translate", hvd_cmd_translate},
    {"maps", hvd_cmd_maps},
    {"stack", hvd_cmd_stack},
    {"regs", hvd_cmd_regs},
    {"read-memory", hvd_cmd_read_memory},
    {"pause", hvd_cmd_pause},
    {"resume", hvd_cmd_resume},
    {"trace-config", hvd_cmd_trace_config},
    {"query-fault-stats", hvd_cmd_query_fault_stats},
    {"query-faults", hvd_cmd_query_faults},
    {"subscribe", hvd_cmd_subscribe},
    {"unsubscribe", hvd_cmd_unsubscribe},
    {NULL, NULL},
};

json_t *hvd_api_greeting(void)
{
    json_t *caps = json_array();
    for (const struct hvd_cmd *c = hvd_cmds; c->name && caps; c++)
        json_array_append_new(caps, json_string(c->name));
    return json_pack("{s:{s:s,s:i,s:o}}", "hvkit", "version", HVKIT_VERSION, "api", HVD_API_LEVEL,
                     "capabilities", caps);
}

/* Parse and run one request; err->code set on an immediate error. */
static int hvd_api_run(struct hvd *d, struct hvd_slot *s, json_t *req, struct hvk_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(req, key, v) {
        if (strcmp(key, "execute") && strcmp(key, "arguments") && strcmp(key, "id")) {
            char k[48];
            hvd_one_line(k, sizeof k, key, strlen(key));
            return FAIL(err, HVD_E_INVALID_REQUEST, "unknown member '%s' in the request", k);
        }
    }
    const char *name = json_string_value(json_object_get(req, "execute"));
    if (!name)
        return FAIL(err, HVD_E_INVALID_REQUEST, "'execute' (a string) is missing");
    json_t *args = json_object_get(req, "arguments");
    if (args && !json_is_object(args))
        return FAIL(err, HVD_E_INVALID_REQUEST, "'arguments' must be an object");
    json_t *empty = NULL;
    if (!args)
        args = empty = json_object();
    for (const struct hvd_cmd *c = hvd_cmds; c->name; c++)
        if (strcmp(c->name, name) == 0) {
            int rc = args ? c->run(d, s, args, err) : FAIL(err, HVD_E_INTERNAL, "out of memory");
            json_decref(empty);
            return rc;
        }
    json_decref(empty);
    char n[64];
    hvd_one_line(n, sizeof n, name, strlen(name));
    return FAIL(err, HVD_E_COMMAND_NOT_FOUND, "no command '%s'", n);
}

void hvd_api_request(struct hvd *d, struct hvd_client *c, const char *line, size_t len)
{
    struct hvk_err err = {{0}};
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t lead = 0;
    while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
        lead++;
    if (lead == len)
        return;   /* blank line: nothing asked, nothing answered */
    json_t *req = NULL;
    if (hvd_json_depth(line, len, HVD_DEPTH_MAX) > HVD_DEPTH_MAX) {
        FAIL(&err, HVD_E_INVALID_REQUEST, "JSON nested deeper than %d", HVD_DEPTH_MAX);
    } else {
        json_error_t je;
        req = json_loadb(line, len, JSON_DECODE_ANY, &je);
        if (!req) {
            char t[160];
            hvd_one_line(t, sizeof t, je.text, strlen(je.text));
            FAIL(&err, HVD_E_INVALID_REQUEST, "not JSON: %s (column %d)", t, je.column);
        } else if (!json_is_object(req)) {
            FAIL(&err, HVD_E_INVALID_REQUEST, "a request must be a JSON object");
        }
    }
    json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
    struct hvd_slot *s = hvd_slot_new(c, id);
    if (!s) {
        json_decref(req);
        hvd_client_close(d, c, "out of memory");
        return;
    }
    if (!err.code && hvd_api_run(d, s, req, &err) == 0) {
        json_decref(req);
        return;
    }
    json_decref(req);
    if (s->outstanding) {
        /* translate sent some WALKs before failing: they answer first. */
        s->failed = true;
    }
    hvd_slot_error(d, s, hvd_class_name(err.code), "%s", err.msg);
}
