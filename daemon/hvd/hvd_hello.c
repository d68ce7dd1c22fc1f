/* hvd_hello.c -- validating hv's registration hello (proto.h section 1).
 * The text comes from a guest-facing process: every field is checked for
 * type, range and shape, unknown fields are refused. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "hvd.h"

#define HVD_HELLO_MEM_MAX   64       /* memory ranges */
#define HVD_KERNEL_MAX      4096     /* bytes of the kernel path */

static bool hvd_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > HVD_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
            return false;
    }
    return true;
}

static bool hvd_uuid_ok(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static int hvd_hello_memory(json_t *mem, uint64_t *total, struct hvd_vm *vm, struct hvk_err *err)
{
    if (!json_is_array(mem) || json_array_size(mem) < 1 || json_array_size(mem) > HVD_HELLO_MEM_MAX)
        return hvk_err_set(err, "hello: memory must be an array of 1..%d ranges", HVD_HELLO_MEM_MAX);
    uint64_t sum = 0;
    size_t i;
    json_t *r;
    json_array_foreach(mem, i, r) {
        uint64_t gpa, size, off;
        if (!json_is_object(r) || json_object_size(r) != 3 ||
            !hvd_parse_hex(json_string_value(json_object_get(r, "gpa")), &gpa) ||
            !hvd_parse_hex(json_string_value(json_object_get(r, "size")), &size) ||
            !hvd_parse_hex(json_string_value(json_object_get(r, "offset")), &off))
            return hvk_err_set(err, "hello: memory[%zu] needs exactly gpa, size, offset as hex strings", i);
        if (size == 0 || gpa + size < gpa || off + size < off || sum + size < sum)
            return hvk_err_set(err, "hello: memory[%zu] is empty or wraps", i);
        sum += size;
        vm->ram[i] = (struct hvd_ram_range){gpa, size, off};   /* i < HVD_HELLO_MEM_MAX */
        vm->nram = (unsigned)i + 1;
    }
    *total = sum;
    return 0;
}

int hvd_hello_parse(const char *text, size_t len, struct hvd_vm *vm, uint64_t *ring_size,
                    struct hvk_err *err)
{
    int rc = -1;
    json_error_t je;
    if (hvd_json_depth(text, len, 8) > 8)
        return hvk_err_set(err, "hello: nested too deep");
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return hvk_err_set(err, "hello: not JSON: %s", je.text);
    json_t *h = json_object_get(root, "hello");
    if (!json_is_object(root) || json_object_size(root) != 1 || !json_is_object(h)) {
        hvk_err_set(err, "hello: expected {\"hello\": {...}}");
        goto out;
    }
    static const char *const known[] = {"proto", "name", "uuid", "pid", "vcpus", "kernel",
                                        "memory", "ring_size", "allow_write"};
    const char *key;
    json_t *v;
    json_object_foreach(h, key, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok) {
            char k[64];
            hvd_one_line(k, sizeof k, key, strlen(key));
            hvk_err_set(err, "hello: unknown field '%s'", k);
            goto out;
        }
    }
    json_t *proto = json_object_get(h, "proto");
    if (!json_is_integer(proto) || json_integer_value(proto) != HVK_PROTO_VERSION) {
        hvk_err_set(err, "hello: proto must be %d", HVK_PROTO_VERSION);
        goto out;
    }
    const char *name = json_string_value(json_object_get(h, "name"));
    if (!name || !hvd_name_ok(name)) {
        hvk_err_set(err, "hello: name must be 1..%d of [A-Za-z0-9._-]", HVD_NAME_MAX);
        goto out;
    }
    const char *uuid = json_string_value(json_object_get(h, "uuid"));
    if (!uuid || !hvd_uuid_ok(uuid)) {
        hvk_err_set(err, "hello: uuid must be 8-4-4-4-12 hex digits");
        goto out;
    }
    json_t *pid = json_object_get(h, "pid");
    if (!json_is_integer(pid) || json_integer_value(pid) < 1 || json_integer_value(pid) > (1 << 30)) {
        hvk_err_set(err, "hello: pid must be a positive integer");
        goto out;
    }
    json_t *vcpus = json_object_get(h, "vcpus");
    if (!json_is_integer(vcpus) || json_integer_value(vcpus) < 1 ||
        json_integer_value(vcpus) > RING_MAX_VCPUS) {
        hvk_err_set(err, "hello: vcpus must be 1..%u", RING_MAX_VCPUS);
        goto out;
    }
    const char *kernel = json_string_value(json_object_get(h, "kernel"));
    if (!kernel || strlen(kernel) > HVD_KERNEL_MAX) {
        hvk_err_set(err, "hello: kernel must be a string of at most %d bytes", HVD_KERNEL_MAX);
        goto out;
    }
    json_t *rs = json_object_get(h, "ring_size");
    if (!json_is_integer(rs) || json_integer_value(rs) < 1) {
        hvk_err_set(err, "hello: ring_size must be a positive integer");
        goto out;
    }
    json_t *aw = json_object_get(h, "allow_write");
    if (aw && !json_is_boolean(aw)) {
        hvk_err_set(err, "hello: allow_write must be a boolean");
        goto out;
    }
    uint64_t total = 0;
    if (hvd_hello_memory(json_object_get(h, "memory"), &total, vm, err) < 0)
        goto out;

    char *k = strdup(kernel);
    if (!k) {
        hvk_err_set(err, "hello: out of memory");
        goto out;
    }
    /* The name was checked to be printable and short; kernel is kept as
     * given (JSON-escaped on output) but logged only through hvd_one_line. */
    snprintf(vm->name, sizeof vm->name, "%s", name);
    snprintf(vm->uuid, sizeof vm->uuid, "%s", uuid);
    for (char *p = vm->uuid; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    vm->pid = json_integer_value(pid);
    vm->vcpus = (uint32_t)json_integer_value(vcpus);
    vm->memory = total;
    free(vm->kernel);
    vm->kernel = k;
    vm->allow_write = json_is_true(aw);
    *ring_size = (uint64_t)json_integer_value(rs);
    rc = 0;
out:
    json_decref(root);
    return rc;
}
