/* hvd_args.c -- argument checks shared by the API commands (hvd_args.h). */
#include <string.h>

#include "hvd_args.h"

const char *hvd_class_name(int cls)
{
    static const char *const names[] = {
        [HVD_E_NONE] = "InternalError", [HVD_E_INVALID_REQUEST] = "InvalidRequest",
        [HVD_E_INVALID_ARGUMENT] = "InvalidArgument", [HVD_E_COMMAND_NOT_FOUND] = "CommandNotFound",
        [HVD_E_VM_NOT_FOUND] = "VMNotFound", [HVD_E_VM_GONE] = "VMGone",
        [HVD_E_VCPU_NOT_FOUND] = "VCPUNotFound", [HVD_E_TOO_LARGE] = "TooLarge",
        [HVD_E_BUSY] = "Busy", [HVD_E_INTERNAL] = "InternalError",
    };
    return cls >= 0 && cls <= HVD_E_INTERNAL ? names[cls] : "InternalError";
}

#define HVD_FAIL(err, cls, ...) (hvk_err_set(err, __VA_ARGS__), hvk_err_code(err, cls))

/* A key as it may appear in a desc: printable, short. */
static const char *hvd_args_key(const char *key, char buf[48])
{
    hvd_one_line(buf, 48, key, strlen(key));
    return buf;
}

int hvd_args_only(const json_t *args, const char *const *allowed, struct hvk_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)args, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            char b[48];
            return HVD_FAIL(err, HVD_E_INVALID_ARGUMENT, "unknown argument '%s'", hvd_args_key(key, b));
        }
    }
    return 0;
}

int hvd_args_vm(struct hvd *d, const json_t *args, struct hvd_vm **out, struct hvk_err *err)
{
    json_t *jv = json_object_get(args, "vm");
    if (jv) {
        const char *name = json_string_value(jv);
        if (!name)
            return HVD_FAIL(err, HVD_E_INVALID_ARGUMENT, "'vm' must be a string (a VM name)");
        struct hvd_vm *vm = hvd_vm_find(d, name);
        char b[48];
        if (!vm)
            return HVD_FAIL(err, HVD_E_VM_NOT_FOUND, "no VM named '%s'", hvd_args_key(name, b));
        if (vm->state == HVD_VM_GONE)
            return HVD_FAIL(err, HVD_E_VM_GONE, "VM '%s' is gone: %s", vm->name, vm->gone_why);
        *out = vm;
        return 0;
    }
    struct hvd_vm *only = NULL;
    unsigned live = 0;
    char names[300] = "";
    size_t used = 0;
    for (struct hvd_vm *vm = d->vms; vm; vm = vm->next) {
        if (vm->state == HVD_VM_GONE)
            continue;
        only = vm;
        live++;
        int n = snprintf(names + used, sizeof names - used, "%s%s", live > 1 ? ", " : "", vm->name);
        if (n > 0 && used + (size_t)n < sizeof names)
            used += (size_t)n;
    }
    if (live == 1) {
        *out = only;
        return 0;
    }
    if (live == 0)
        return HVD_FAIL(err, HVD_E_VM_NOT_FOUND, "no VM is registered");
    return HVD_FAIL(err, HVD_E_VM_NOT_FOUND, "%u VMs are registered, give 'vm': %s", live, names);
}

int hvd_args_vcpu(const json_t *args, const struct hvd_vm *vm, uint32_t *vcpu, struct hvk_err *err)
{
    json_t *v = json_object_get(args, "vcpu");
    if (!v) {
        *vcpu = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return HVD_FAIL(err, HVD_E_INVALID_ARGUMENT, "'vcpu' must be a non-negative integer");
    json_int_t i = json_integer_value(v);
    if (i >= (json_int_t)vm->vcpus)
        return HVD_FAIL(err, HVD_E_VCPU_NOT_FOUND, "VM '%s' has vCPUs 0..%u, not %lld", vm->name,
                        vm->vcpus - 1, (long long)i);
    *vcpu = (uint32_t)i;
    return 0;
}

int hvd_args_hex(const json_t *args, const char *key, uint64_t *v, bool *present, struct hvk_err *err)
{
    json_t *j = json_object_get(args, key);
    if (present)
        *present = j != NULL;
    if (!j) {
        if (present)
            return 0;
        return HVD_FAIL(err, HVD_E_INVALID_ARGUMENT, "missing argument '%s'", key);
    }
    if (!hvd_parse_hex(json_string_value(j), v))
        return HVD_FAIL(err, HVD_E_INVALID_ARGUMENT,
                        "'%s' must be a hex string \"0x...\" of 1 to 16 digits", key);
    return 0;
}

int hvd_args_bool(const json_t *args, const char *key, bool def, bool *v, struct hvk_err *err)
{
    json_t *j = json_object_get(args, key);
    if (!j) {
        *v = def;
        return 0;
    }
    if (!json_is_boolean(j))
        return HVD_FAIL(err, HVD_E_INVALID_ARGUMENT, "'%s' must be true or false", key);
    *v = json_is_true(j);
    return 0;
}

int hvd_args_uint(const json_t *args, const char *key, bool has_def, uint64_t def, uint64_t min,
                  uint64_t max, uint64_t *v, struct hvk_err *err)
{
    json_t *j = json_object_get(args, key);
    if (!j) {
        if (!has_def)
            return HVD_FAIL(err, HVD_E_INVALID_ARGUMENT, "missing argument '%s'", key);
        *v = def;
        return 0;
    }
    if (!json_is_integer(j) || json_integer_value(j) < 0 ||
        (uint64_t)json_integer_value(j) < min || (uint64_t)json_integer_value(j) > max)
        return HVD_FAIL(err, HVD_E_INVALID_ARGUMENT, "'%s' must be an integer in %llu..%llu", key,
                        (unsigned long long)min, (unsigned long long)max);
    *v = (uint64_t)json_integer_value(j);
    return 0;
}

int hvd_args_access(const json_t *args, char *access, struct hvk_err *err)
{
    json_t *j = json_object_get(args, "access");
    if (!j) {
        *access = 'r';
        return 0;
    }
    const char *s = json_string_value(j);
    if (!s || strlen(s) != 1 || !strchr("rwx", s[0]))
        return HVD_FAIL(err, HVD_E_INVALID_ARGUMENT, "'access' must be \"r\", \"w\" or \"x\"");
    *access = s[0];
    return 0;
}
