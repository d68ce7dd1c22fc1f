/* control.c -- the control service: one request in, one JSON reply out.
 * Arguments are JSON (proto.h) checked here again even though hvd checked
 * them; every answer is bounded by the control ring's largest record. */
#include "control.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <hvkit/hvjson.h>
#include <hvkit/proto.h>
#include <x86/maps.h>
#include <x86/walk.h>

#include "control_int.h"
#include "inspect.h"
#include "machine.h"
#include "vcpu.h"

#define CONTROL_MAX_RANGES 65536   /* maps: more are reported truncated */

/* ---- argument parsing ---------------------------------------------------- */

int arg_hex(json_t *args, const char *key, bool required, uint64_t *out, char *why, size_t whylen)
{
    json_t *v = json_object_get(args, key);
    if (!v) {
        if (required)
            snprintf(why, whylen, "'%s' is required", key);
        return required ? -1 : 0;
    }
    const char *s = json_string_value(v);
    char *end;
    if (!s || strncmp(s, "0x", 2) != 0 || !s[2] || strlen(s) > 18) {
        snprintf(why, whylen, "'%s' must be a hex string like \"0x1000\"", key);
        return -1;
    }
    *out = strtoull(s + 2, &end, 16);
    if (*end) {
        snprintf(why, whylen, "'%s' must be a hex string like \"0x1000\"", key);
        return -1;
    }
    return 1;
}

int arg_uint(json_t *args, const char *key, uint64_t max, uint64_t *out, char *why, size_t whylen)
{
    json_t *v = json_object_get(args, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
        snprintf(why, whylen, "'%s' must be an integer from 0 to %llu", key, (unsigned long long)max);
        return -1;
    }
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static int arg_bool(json_t *args, const char *key, bool *out, char *why, size_t whylen)
{
    json_t *v = json_object_get(args, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        snprintf(why, whylen, "'%s' must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

/* The vCPU a request names (the `vcpu` argument wins over the record's). */
struct hv_vcpu *arg_vcpu(struct hv_control *c, struct control_req *r, char *why, size_t whylen)
{
    uint64_t idx = r->req.vcpu == UINT32_MAX ? 0 : r->req.vcpu;
    if (arg_uint(r->args, "vcpu", UINT32_MAX, &idx, why, whylen) < 0)
        return NULL;
    if (idx >= c->m->vm->nr_vcpus) {
        snprintf(why, whylen, "no vCPU %llu: this VM has %u", (unsigned long long)idx, c->m->vm->nr_vcpus);
        return NULL;
    }
    return &c->m->vm->vcpus[idx];
}

static int arg_access(json_t *args, struct x86_access *acc, char *why, size_t whylen)
{
    bool user = false;
    acc->type = X86_ACCESS_READ;
    acc->priv = X86_PRIV_SUPERVISOR;
    json_t *v = json_object_get(args, "access");
    if (v) {
        const char *s = json_string_value(v);
        if (s && !strcmp(s, "r"))
            acc->type = X86_ACCESS_READ;
        else if (s && !strcmp(s, "w"))
            acc->type = X86_ACCESS_WRITE;
        else if (s && !strcmp(s, "x"))
            acc->type = X86_ACCESS_FETCH;
        else {
            snprintf(why, whylen, "'access' must be \"r\", \"w\" or \"x\"");
            return -1;
        }
    }
    if (arg_bool(args, "user", &user, why, whylen) < 0)
        return -1;
    if (user)
        acc->priv = X86_PRIV_USER;
    return 0;
}

/* ---- handlers ------------------------------------------------------------- */

/* Take a consistent snapshot of one vCPU: pause the VM around it. */
int control_snapshot(struct hv_control *c, struct hv_vcpu *vcpu, struct hv_snapshot *s,
                            struct x86_cpu_facts *facts, struct hvk_err *err)
{
    hv_vm_pause(c->m->vm);
    int rc = hv_snapshot_take(vcpu, s, err);
    if (rc == 0 && facts)
        rc = hv_cpu_facts(c->m->vm, facts, err);
    return rc;
}

static struct control_answer do_walk(struct hv_control *c, struct control_req *r)
{
    char why[256] = "";
    uint64_t gva = 0, cr3 = 0;
    struct x86_access acc;
    struct hv_vcpu *vcpu = arg_vcpu(c, r, why, sizeof why);
    int have_cr3;
    if (!vcpu)
        return answer_error(RING_ST_NOVCPU, "%s", why);
    if (arg_hex(r->args, "gva", true, &gva, why, sizeof why) < 0 || arg_access(r->args, &acc, why, sizeof why) < 0 ||
        (have_cr3 = arg_hex(r->args, "cr3", false, &cr3, why, sizeof why)) < 0)
        return answer_error(RING_ST_INVAL, "%s", why);

    struct hv_snapshot s;
    struct x86_cpu_facts facts;
    struct hvk_err err = { "", 0 };
    struct x86_walk w;
    struct control_answer a;
    if (control_snapshot(c, vcpu, &s, &facts, &err) < 0) {
        a = answer_error(RING_ST_INTERNAL, "%s", err.msg);
        goto out;
    }
    if (have_cr3 > 0)
        s.paging.cr3 = cr3;
    struct x86_mem mem = hv_guest_mem(c->m->vm);
    if (x86_walk(&s.paging, &facts, &mem, gva, acc, &w, &err) < 0) {
        a = answer_error(RING_ST_INVAL, "%s", err.msg);
        goto out;
    }
    json_t *j = hvjson_walk(&w, &err);
    if (j)
        json_object_set_new(j, "vcpu", json_integer(vcpu->index));
    a = j ? answer_ok(j) : answer_error(RING_ST_INTERNAL, "%s", err.msg);
out:
    hv_vm_resume(c->m->vm);
    return a;
}

struct maps_ctx {
    json_t *maps;
    uint64_t n;
    struct hvk_err *err;
    bool failed;
};

static int maps_add(void *ctx, const struct x86_map_range *range)
{
    struct maps_ctx *mc = ctx;
    if (hvjson_maps_add(mc->maps, range, mc->err) < 0) {
        mc->failed = true;
        return 1;
    }
    return 0;
}

static struct control_answer do_maps(struct hv_control *c, struct control_req *r)
{
    char why[256] = "";
    uint64_t cr3 = 0;
    int have_cr3;
    struct hv_vcpu *vcpu = arg_vcpu(c, r, why, sizeof why);
    if (!vcpu)
        return answer_error(RING_ST_NOVCPU, "%s", why);
    if ((have_cr3 = arg_hex(r->args, "cr3", false, &cr3, why, sizeof why)) < 0)
        return answer_error(RING_ST_INVAL, "%s", why);

    struct hv_snapshot s;
    struct x86_cpu_facts facts;
    struct hvk_err err = { "", 0 };
    struct control_answer a;
    if (control_snapshot(c, vcpu, &s, &facts, &err) < 0) {
        a = answer_error(RING_ST_INTERNAL, "%s", err.msg);
        goto out;
    }
    if (have_cr3 > 0)
        s.paging.cr3 = cr3;
    enum x86_mode mode;
    if (x86_paging_mode(&s.paging, &mode, &err) < 0) {
        a = answer_error(RING_ST_INVAL, "%s", err.msg);
        goto out;
    }
    struct maps_ctx mc = { .maps = hvjson_maps_new(mode, s.paging.cr3, &err), .err = &err };
    struct x86_maps_limits lim = { .max_ranges = CONTROL_MAX_RANGES };
    struct x86_maps_stats st;
    struct x86_mem mem = hv_guest_mem(c->m->vm);
    if (!mc.maps || x86_maps_enum(&s.paging, &facts, &mem, &lim, maps_add, &mc, &st, &err) < 0 || mc.failed ||
        hvjson_maps_finish(mc.maps, &st, &err) < 0) {
        json_decref(mc.maps);
        a = answer_error(RING_ST_INTERNAL, "%s", err.msg);
        goto out;
    }
    json_object_set_new(mc.maps, "vcpu", json_integer(vcpu->index));
    a = answer_ok(mc.maps);
out:
    hv_vm_resume(c->m->vm);
    return a;
}

static json_t *segment_json(const struct kvm_segment *seg)
{
    return json_pack("{s:i, s:o, s:o, s:i, s:i, s:b, s:b, s:b, s:b, s:b}", "selector", seg->selector,
                     "base", hvjson_hex(seg->base), "limit", hvjson_hex(seg->limit), "type", seg->type, "dpl",
                     seg->dpl, "present", seg->present, "db", seg->db, "l", seg->l, "g", seg->g, "s", seg->s);
}

static const char *snapshot_mode(const struct kvm_sregs *sr)
{
    if (!(sr->cr0 & X86_CR0_PE))
        return "real";
    if (sr->efer & X86_EFER_LMA)
        return sr->cs.l ? "long" : "compat";
    return "protected";
}

static struct control_answer do_regs(struct hv_control *c, struct control_req *r)
{
    char why[256] = "";
    struct hv_vcpu *vcpu = arg_vcpu(c, r, why, sizeof why);
    if (!vcpu)
        return answer_error(RING_ST_NOVCPU, "%s", why);
    struct hv_snapshot s;
    struct hvk_err err = { "", 0 };
    int rc = control_snapshot(c, vcpu, &s, NULL, &err);
    hv_vm_resume(c->m->vm);
    if (rc < 0)
        return answer_error(RING_ST_INTERNAL, "%s", err.msg);

    const struct kvm_regs *g = &s.regs;
    const struct kvm_sregs *sr = &s.sregs;
    json_t *j = json_object();
    const struct { const char *name; uint64_t v; } gprs[] = {
        { "rax", g->rax }, { "rbx", g->rbx }, { "rcx", g->rcx }, { "rdx", g->rdx }, { "rsi", g->rsi },
        { "rdi", g->rdi }, { "rbp", g->rbp }, { "rsp", g->rsp }, { "r8", g->r8 }, { "r9", g->r9 },
        { "r10", g->r10 }, { "r11", g->r11 }, { "r12", g->r12 }, { "r13", g->r13 }, { "r14", g->r14 },
        { "r15", g->r15 }, { "rip", g->rip }, { "rflags", g->rflags }, { "cr0", sr->cr0 }, { "cr2", sr->cr2 },
        { "cr3", sr->cr3 }, { "cr4", sr->cr4 }, { "cr8", sr->cr8 }, { "efer", sr->efer },
        { "apic_base", sr->apic_base },
    };
    json_object_set_new(j, "vcpu", json_integer(vcpu->index));
    for (size_t i = 0; i < sizeof gprs / sizeof gprs[0]; i++)
        json_object_set_new(j, gprs[i].name, hvjson_hex(gprs[i].v));
    json_object_set_new(j, "pkru", hvjson_hex(s.pkru));
    json_object_set_new(j, "segments",
                        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "cs", segment_json(&sr->cs), "ss",
                                  segment_json(&sr->ss), "ds", segment_json(&sr->ds), "es", segment_json(&sr->es),
                                  "fs", segment_json(&sr->fs), "gs", segment_json(&sr->gs), "tr",
                                  segment_json(&sr->tr), "ldt", segment_json(&sr->ldt)));
    json_object_set_new(j, "gdt", json_pack("{s:o, s:i}", "base", hvjson_hex(sr->gdt.base), "limit", sr->gdt.limit));
    json_object_set_new(j, "idt", json_pack("{s:o, s:i}", "base", hvjson_hex(sr->idt.base), "limit", sr->idt.limit));
    json_object_set_new(j, "mode", json_string(snapshot_mode(sr)));
    json_object_set_new(j, "cpl", json_integer(sr->cs.selector & 3));
    return answer_ok(j);
}

static struct control_answer do_read_mem(struct hv_control *c, struct control_req *r)
{
    char why[256] = "";
    uint64_t addr = 0, size = 0, stopped_at = 0;
    bool physical = false, partial = false;
    struct hv_vcpu *vcpu = arg_vcpu(c, r, why, sizeof why);
    if (!vcpu)
        return answer_error(RING_ST_NOVCPU, "%s", why);
    if (arg_hex(r->args, "address", true, &addr, why, sizeof why) < 0 ||
        arg_uint(r->args, "size", HVK_READ_MEM_MAX, &size, why, sizeof why) <= 0 ||
        arg_bool(r->args, "physical", &physical, why, sizeof why) < 0 ||
        arg_bool(r->args, "partial", &partial, why, sizeof why) < 0) {
        if (!why[0])
            snprintf(why, sizeof why, "'size' is required (1 to %d)", HVK_READ_MEM_MAX);
        return answer_error(RING_ST_INVAL, "%s", why);
    }
    if (size == 0)
        return answer_error(RING_ST_INVAL, "'size' must be from 1 to %d", HVK_READ_MEM_MAX);

    uint8_t *buf = malloc(size);
    char *hex = malloc(size * 2 + 1);
    struct hvk_err err = { "", 0 };
    struct control_answer a;
    if (!buf || !hex) {
        a = answer_error(RING_ST_INTERNAL, "out of memory");
        goto out;
    }
    if (physical) {
        hv_vm_pause(c->m->vm);
        int rc = hv_vm_read_gpa(c->m->vm, addr, buf, size);
        hv_vm_resume(c->m->vm);
        if (rc < 0) {
            a = answer_error(RING_ST_FAULT, "GPA range 0x%llx+0x%llx is not all guest RAM", (unsigned long long)addr,
                             (unsigned long long)size);
            goto out;
        }
    } else {
        struct hv_snapshot s;
        struct x86_cpu_facts facts;
        uint64_t bad = addr;
        int rc = control_snapshot(c, vcpu, &s, &facts, &err);
        if (rc == 0)
            rc = hv_read_gva(c->m->vm, &s, &facts, addr, buf, size, &bad, &err);
        hv_vm_resume(c->m->vm);
        /* The one rule for reads that run into an unmapped page: with
         * "partial", the bytes before the first unreadable one come back
         * (and where it stopped); without it, or when not even the first
         * byte reads, the read fails naming that address. */
        if (rc < 0 && partial && bad > addr && bad - addr < size) {
            size = bad - addr;
            stopped_at = bad;
        } else if (rc < 0) {
            a = answer_error(RING_ST_FAULT, "%s", err.msg);
            goto out;
        }
    }
    static const char digits[] = "0123456789abcdef";
    for (uint64_t i = 0; i < size; i++) {
        hex[2 * i] = digits[buf[i] >> 4];
        hex[2 * i + 1] = digits[buf[i] & 15];
    }
    hex[2 * size] = '\0';
    a = answer_ok(json_pack("{s:o, s:I, s:s, s:b}", "address", hvjson_hex(addr), "size", (json_int_t)size, "data",
                            hex, "physical", physical));
    if (a.value && stopped_at)
        json_object_set_new(a.value, "stopped_at", hvjson_hex(stopped_at));
out:
    free(buf);
    free(hex);
    return a;
}

/* `pause` is the all-stop a debugger's breakpoint also causes: one state,
 * so gdb's continue and hvctl's resume end either. */
static struct control_answer do_pause(struct hv_control *c, bool pause)
{
    if (pause) {
        hv_vm_stop_async(c->m->vm);
        hv_vm_wait_parked(c->m->vm);
    } else {
        hv_vm_continue(c->m->vm);
    }
    return answer_ok(json_object());
}

static struct control_answer do_vcpus(struct hv_control *c)
{
    struct hv_vm *vm = c->m->vm;
    json_t *list = json_array();
    hv_vm_pause(vm);
    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        struct hv_snapshot s;
        struct hvk_err err = { "", 0 };
        pthread_mutex_lock(&vm->lock);
        bool halted = vm->vcpus[i].halted, stopped = vm->stopped;
        pthread_mutex_unlock(&vm->lock);
        const char *state = halted ? "halted" : stopped ? "paused" : "running";
        json_t *v = json_pack("{s:i, s:s}", "index", i, "state", state);
        /* hv's own exit counters (vCPU-thread counters, read while paused). */
        const uint64_t *ec = vm->vcpus[i].exit_count;
        uint64_t total = 0;
        for (unsigned k = 0; k < HV_EXIT_REASON_SLOTS; k++)
            total += ec[k];
        json_object_set_new(v, "exits", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)total,
                                                  "io", (json_int_t)ec[KVM_EXIT_IO], "mmio",
                                                  (json_int_t)ec[KVM_EXIT_MMIO], "debug", (json_int_t)ec[KVM_EXIT_DEBUG],
                                                  "hlt", (json_int_t)ec[KVM_EXIT_HLT], "intr",
                                                  (json_int_t)ec[KVM_EXIT_INTR]));
        json_object_set_new(v, "fault_ins", json_integer((json_int_t)vm->vcpus[i].fault_ins));
        if (hv_snapshot_take(&vm->vcpus[i], &s, &err) == 0) {
            json_object_set_new(v, "rip", hvjson_hex(s.regs.rip));
            json_object_set_new(v, "cpl", json_integer(s.sregs.cs.selector & 3));
        }
        json_array_append_new(list, v);
    }
    hv_vm_resume(vm);
    return answer_ok(list);
}

static struct control_answer control_dispatch(struct hv_control *c, struct control_req *r)
{
    switch (r->req.cmd) {
    case RING_CMD_WALK: return do_walk(c, r);
    case RING_CMD_MAPS: return do_maps(c, r);
    case RING_CMD_REGS: return do_regs(c, r);
    case RING_CMD_READ_MEM: return do_read_mem(c, r);
    case RING_CMD_PAUSE: return do_pause(c, true);
    case RING_CMD_RESUME: return do_pause(c, false);
    case RING_CMD_VCPUS: return do_vcpus(c);
    case RING_CMD_STACK: return control_stack(c, r);
    case RING_CMD_TRACE_CONFIG: return control_trace(c, r);
    case RING_CMD_SET_BP: return control_breakpoint(c, r, true);
    case RING_CMD_CLR_BP: return control_breakpoint(c, r, false);
    case RING_CMD_STEP: return control_step(c, r);
    case RING_CMD_WRITE_MEM: return control_write_mem(c, r);
    case RING_CMD_SET_REGS: return control_set_regs(c, r);
    default: return answer_error(RING_ST_UNSUPP, "command %u is not supported by this hv", r->req.cmd);
    }
}

static void control_reply(struct hv_control *c, const struct ring_req *req, struct control_answer a)
{
    struct hvk_err err = { "", 0 };
    char *text = a.value ? json_dumps(a.value, JSON_COMPACT) : NULL;
    json_decref(a.value);
    size_t max = (size_t)ring_max_record(c->ctl->cap) - sizeof(struct ring_rec_hdr) - sizeof(struct ring_reply);
    if (text && strlen(text) > max) {
        free(text);
        char desc[160];
        snprintf(desc, sizeof desc, "{\"desc\":\"the answer is larger than the %zu bytes a reply can carry\"}", max);
        text = strdup(desc);
        a.status = RING_ST_TOOBIG;
    }
    if (!text) {
        text = strdup("{\"desc\":\"out of memory\"}");
        a.status = RING_ST_INTERNAL;
    }
    /* A reply that does not fit is dropped: hvd times the request out and
     * says so to its client. */
    if (text)
        ring_reply_send(c->ctl, req->req_id, req->cmd, a.status, text, (uint32_t)strlen(text), &err);
    free(text);
}

int hv_control_serve(struct hv_control *c, struct hvk_err *err)
{
    size_t bufsize = ring_consumer_max_payload(c->cmd);
    uint8_t *buf = malloc(bufsize);
    if (!buf)
        return hvk_err_set(err, "out of memory");
    int rc = 0;
    for (unsigned budget = 0; budget < 1024; budget++) {
        struct ring_rec_hdr hdr;
        int n = ring_read_next(c->cmd, &hdr, buf, bufsize, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        if (hdr.type == RING_REC_LOST)
            continue;
        struct control_req r = { .args = NULL };
        const void *args;
        uint32_t args_len;
        struct hvk_err perr = { "", 0 };
        if (ring_cmd_parse(&hdr, buf, &r.req, &args, &args_len, &perr) < 0)
            continue; /* malformed request: nothing to answer, no id to answer to */
        json_error_t jerr;
        r.args = args_len ? json_loadb(args, args_len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
        if (!r.args || !json_is_object(r.args))
            control_reply(c, &r.req, answer_error(RING_ST_INVAL, "arguments are not a JSON object"));
        else
            control_reply(c, &r.req, control_dispatch(c, &r));
        json_decref(r.args);
    }
    free(buf);
    return rc;
}
