/* hvd_args.h -- checking a command's arguments: types, ranges, hex strings
 * and the VM / vCPU selection rules of docs/api.md. Each getter returns -1
 * with err->code = an error class (enum hvd_class) and a one-line desc. */
#ifndef HVD_ARGS_H
#define HVD_ARGS_H

#include "hvd.h"

enum hvd_class {
    HVD_E_NONE = 0, HVD_E_INVALID_REQUEST, HVD_E_INVALID_ARGUMENT, HVD_E_COMMAND_NOT_FOUND,
    HVD_E_VM_NOT_FOUND, HVD_E_VM_GONE, HVD_E_VCPU_NOT_FOUND, HVD_E_TOO_LARGE, HVD_E_BUSY,
    HVD_E_INTERNAL,
};

const char *hvd_class_name(int cls);

/* Refuse any key of args not in allowed (NULL-terminated). */
int hvd_args_only(const json_t *args, const char *const *allowed, struct hvk_err *err);
/* "vm": a named VM, or the only live one when omitted; gone -> VMGone. */
int hvd_args_vm(struct hvd *d, const json_t *args, struct hvd_vm **vm, struct hvk_err *err);
/* "vcpu": 0..vm->vcpus-1, default 0. */
int hvd_args_vcpu(const json_t *args, const struct hvd_vm *vm, uint32_t *vcpu, struct hvk_err *err);
/* A "0x..." hex string; *present tells whether it was given (NULL: required). */
int hvd_args_hex(const json_t *args, const char *key, uint64_t *v, bool *present, struct hvk_err *err);
int hvd_args_bool(const json_t *args, const char *key, bool def, bool *v, struct hvk_err *err);
/* An integer in [min, max]; required when def_present is false. */
int hvd_args_uint(const json_t *args, const char *key, bool has_def, uint64_t def, uint64_t min,
                  uint64_t max, uint64_t *v, struct hvk_err *err);
/* "access": "r" | "w" | "x", default "r". */
int hvd_args_access(const json_t *args, char *access, struct hvk_err *err);

#endif
