/* control_debug.c -- the debugger's requests: breakpoints and watchpoints,
 * single-step, and (only with `hv run --allow-write`) memory and register
 * writes. Stops are reported by STOP records (runctl.c). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <hvkit/hvjson.h>
#include <hvkit/proto.h>
#include <x86/walk.h>

#include "control_int.h"
#include "machine.h"
#include "runctl.h"
#include "vcpu.h"

static int bp_type_arg(json_t *args, enum hv_bp_type *type, unsigned *len, char *why, size_t whylen)
{
    const char *t = json_string_value(json_object_get(args, "type"));
    uint64_t l = 1;
    if (!t) {
        snprintf(why, whylen, "'type' is required: \"sw\", \"hw\", \"watch\" or \"awatch\"");
        return -1;
    }
    if (!strcmp(t, "sw"))
        *type = HV_BP_SW;
    else if (!strcmp(t, "hw"))
        *type = HV_BP_HW;
    else if (!strcmp(t, "watch"))
        *type = HV_BP_WATCH_WRITE;
    else if (!strcmp(t, "awatch"))
        *type = HV_BP_WATCH_ACCESS;
    else {
        snprintf(why, whylen, "'type' must be \"sw\", \"hw\", \"watch\" or \"awatch\" (x86 has no read-only watchpoint)");
        return -1;
    }
    if (arg_uint(args, "len", 8, &l, why, whylen) < 0)
        return -1;
    *len = (unsigned)l;
    return 0;
}

struct control_answer control_breakpoint(struct hv_control *c, struct control_req *r, bool set)
{
    char why[256] = "";
    enum hv_bp_type type;
    unsigned len;
    uint64_t addr;
    struct hv_vcpu *vcpu = arg_vcpu(c, r, why, sizeof why);
    if (!vcpu)
        return answer_error(RING_ST_NOVCPU, "%s", why);
    if (arg_hex(r->args, "address", true, &addr, why, sizeof why) < 0)
        return answer_error(RING_ST_INVAL, "%s", why);
    if (bp_type_arg(r->args, &type, &len, why, sizeof why) < 0)
        return answer_error(RING_ST_INVAL, "%s", why);
    struct hvk_err err = { "", 0 };
    hv_vm_pause(c->m->vm);
    int rc = set ? hv_runctl_set_bp(c->m->vm, vcpu->index, type, addr, len, &err)
                 : hv_runctl_clear_bp(c->m->vm, type, addr, len, &err);
    hv_vm_resume(c->m->vm);
    if (rc < 0)
        return answer_error(set ? RING_ST_BUSY : RING_ST_INVAL, "%s", err.msg);
    return answer_ok(json_object());
}

struct control_answer control_step(struct hv_control *c, struct control_req *r)
{
    char why[256] = "";
    struct hv_vcpu *vcpu = arg_vcpu(c, r, why, sizeof why);
    if (!vcpu)
        return answer_error(RING_ST_NOVCPU, "%s", why);
    struct hvk_err err = { "", 0 };
    if (hv_runctl_step(c->m->vm, vcpu->index, &err) < 0)
        return answer_error(RING_ST_INVAL, "%s", err.msg);
    /* The answer only says the step started; its STOP record says it ended. */
    return answer_ok(json_object());
}

static int unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char ch = s[2 * i + (size_t)k];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                  : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

struct control_answer control_write_mem(struct hv_control *c, struct control_req *r)
{
    char why[256] = "";
    uint64_t addr;
    bool physical = json_is_true(json_object_get(r->args, "physical"));
    if (!c->m->vm->allow_write)
        return answer_error(RING_ST_INVAL, "writes to guest memory need `hv run --allow-write`");
    struct hv_vcpu *vcpu = arg_vcpu(c, r, why, sizeof why);
    if (!vcpu)
        return answer_error(RING_ST_NOVCPU, "%s", why);
    int have_addr = arg_hex(r->args, "address", true, &addr, why, sizeof why);
    const char *hex = json_string_value(json_object_get(r->args, "data"));
    size_t n = hex ? strlen(hex) / 2 : 0;
    if (have_addr < 0 || !hex || strlen(hex) % 2 || n == 0 || n > HVK_READ_MEM_MAX)
        return answer_error(RING_ST_INVAL, "'address' (hex string) and 'data' (1 to %d bytes as an even hex string) are required",
                            HVK_READ_MEM_MAX);
    uint8_t *buf = malloc(n);
    if (!buf)
        return answer_error(RING_ST_INTERNAL, "out of memory");
    if (unhex(hex, n, buf) < 0) {
        free(buf);
        return answer_error(RING_ST_INVAL, "'data' is not hex");
    }
    struct hvk_err err = { "", 0 };
    struct control_answer a = answer_ok(json_object());
    struct hv_snapshot s;
    struct x86_cpu_facts facts;
    hv_vm_pause(c->m->vm);
    if (physical) {
        if (hv_vm_write_gpa(c->m->vm, addr, buf, n) < 0)
            a = answer_error(RING_ST_FAULT, "GPA range 0x%llx+0x%zx is not all guest RAM", (unsigned long long)addr, n);
    } else if (hv_snapshot_take(vcpu, &s, &err) < 0 || hv_cpu_facts(c->m->vm, &facts, &err) < 0) {
        a = answer_error(RING_ST_INTERNAL, "%s", err.msg);
    } else {
        /* Translate every page first: a write is all or nothing. */
        struct x86_mem mem = hv_guest_mem(c->m->vm);
        struct x86_access acc = { .type = X86_ACCESS_READ, .priv = X86_PRIV_IMPLICIT };
        uint64_t gpas[HVK_READ_MEM_MAX / 4096 + 2], lens[HVK_READ_MEM_MAX / 4096 + 2];
        unsigned np = 0;
        for (size_t done = 0; done < n && a.status == RING_ST_OK;) {
            struct x86_walk w;
            if (x86_walk(&s.paging, &facts, &mem, addr + done, acc, &w, &err) < 0 || !w.mapped) {
                a = answer_error(RING_ST_FAULT, "0x%llx does not translate%s%s", (unsigned long long)(addr + done),
                                 w.mapped ? "" : ": ", w.mapped ? "" : w.why);
                break;
            }
            uint64_t in_page = w.page_size - (w.gpa & (w.page_size - 1));
            uint64_t k = n - done < in_page ? n - done : in_page;
            if (!hv_vm_gpa_to_host(c->m->vm, w.gpa, k)) {
                a = answer_error(RING_ST_FAULT, "0x%llx is not guest RAM", (unsigned long long)(addr + done));
                break;
            }
            gpas[np] = w.gpa;
            lens[np++] = k;
            done += k;
        }
        for (unsigned i = 0, off = 0; a.status == RING_ST_OK && i < np; off += (unsigned)lens[i], i++)
            hv_vm_write_gpa(c->m->vm, gpas[i], buf + off, lens[i]);
    }
    hv_vm_resume(c->m->vm);
    free(buf);
    return a;
}

struct control_answer control_set_regs(struct hv_control *c, struct control_req *r)
{
    char why[256] = "";
    if (!c->m->vm->allow_write)
        return answer_error(RING_ST_INVAL, "writes to guest registers need `hv run --allow-write`");
    struct hv_vcpu *vcpu = arg_vcpu(c, r, why, sizeof why);
    if (!vcpu)
        return answer_error(RING_ST_NOVCPU, "%s", why);
    json_t *regs = json_object_get(r->args, "regs");
    if (!json_is_object(regs))
        return answer_error(RING_ST_INVAL, "'regs' must be an object of register names to hex strings");
    struct kvm_regs g;
    struct control_answer a = answer_ok(json_object());
    hv_vm_pause(c->m->vm);
    if (ioctl(vcpu->fd, KVM_GET_REGS, &g) < 0) {
        a = answer_error(RING_ST_INTERNAL, "KVM_GET_REGS: %s", strerror(errno));
        goto out;
    }
    struct { const char *name; __u64 *p; } map[] = {
        { "rax", &g.rax }, { "rbx", &g.rbx }, { "rcx", &g.rcx }, { "rdx", &g.rdx }, { "rsi", &g.rsi },
        { "rdi", &g.rdi }, { "rbp", &g.rbp }, { "rsp", &g.rsp }, { "r8", &g.r8 }, { "r9", &g.r9 },
        { "r10", &g.r10 }, { "r11", &g.r11 }, { "r12", &g.r12 }, { "r13", &g.r13 }, { "r14", &g.r14 },
        { "r15", &g.r15 }, { "rip", &g.rip }, { "rflags", &g.rflags },
    };
    const char *key;
    json_t *val;
    json_object_foreach(regs, key, val) {
        size_t i = 0;
        while (i < sizeof map / sizeof map[0] && strcmp(map[i].name, key))
            i++;
        uint64_t v = 0;
        json_t *one = json_pack("{s:O}", "v", val);
        bool ok = arg_hex(one, "v", true, &v, why, sizeof why) > 0;
        json_decref(one);
        if (i == sizeof map / sizeof map[0]) {
            a = answer_error(RING_ST_INVAL, "register '%s' cannot be written (general registers, rip and rflags can)", key);
            goto out;
        }
        if (!ok) {
            a = answer_error(RING_ST_INVAL, "'%s' must be a hex string", key);
            goto out;
        }
        *map[i].p = v;
    }
    if (ioctl(vcpu->fd, KVM_SET_REGS, &g) < 0)
        a = answer_error(RING_ST_INTERNAL, "KVM_SET_REGS: %s", strerror(errno));
out:
    hv_vm_resume(c->m->vm);
    return a;
}
