/* hvd_telemetry.c -- fault telemetry per VM: FAULT/LOST records from the
 * vCPU rings -> checked, counted (class, vCPU, per-second buckets), hot RIPs
 * and pages (space-saving top-K), a ring of recent records, and FAULT/LOST
 * events to subscribers through bounded per-client queues.
 *
 * Cost per fault: one x86_fault_rec_check, a few array increments, two
 * linear scans of HVD_TELEM_HOT entries and one 328-byte copy; JSON is built
 * only when a subscriber wants the event (once for all of them) or when a
 * client asks for the history.
 *
 * Symbols: FAULT records carry none and hvd has no symbol tables, so hvd
 * reports raw RIPs and return addresses; hvctl names them on the client side
 * (hvsym, the kernel ELF). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hvkit/fault.h>
#include <hvkit/hvjson.h>
#include <x86/fault.h>

#include "hvd_args.h"
#include "hvd_telemetry.h"

/* Class slots: the non-exception classes by enum value, exceptions by
 * vector after them. */
#define HVD_TELEM_NCLS (HVK_FC__COUNT + 32)

struct hvd_hot {
    uint64_t key;
    uint64_t count;
    uint64_t err;            /* space-saving: count may exceed the truth by at most err */
    uint16_t cls;            /* class slot of the latest fault counted here */
};

struct hvd_hist {
    struct hvk_fault_rec rec;   /* checked */
    uint64_t seq, time_ns;
    uint16_t cls;
};

struct hvd_telem {
    uint32_t vcpus;
    uint64_t total, lost, invalid, lost_records;
    uint64_t by_class[HVD_TELEM_NCLS];
    uint64_t *vcpu_total, *vcpu_lost, *vcpu_class;   /* [vcpus], [vcpus], [vcpus * NCLS] */
    struct { uint64_t sec, count; } buckets[HVD_TELEM_BUCKETS];
    struct hvd_hot rips[HVD_TELEM_HOT], pages[HVD_TELEM_HOT];
    struct hvd_hist *hist;      /* ring of HVD_TELEM_HISTORY */
    uint64_t hist_next;         /* records ever put in hist */
    uint64_t invalid_logged_ns;
};

struct hvd_sub {
    const struct hvd_vm *vm;    /* the VM subscribed to: only compared, with its serial */
    unsigned vm_serial;         /* (a VM record may be freed while a client is subscribed) */
    char vm_name[HVD_NAME_MAX + 1];
    char cls[48];               /* class filter, "" = all */
    uint64_t delivered;         /* FAULT events queued to the client */
    uint64_t dropped_pending;   /* FAULT events dropped since the last queue LOST notice */
    uint64_t dropped_total;
    uint64_t ring_pending;      /* hv ring drops not yet told */
    uint64_t ring_total;
};

#define FAIL(err, cls, ...) (hvk_err_set(err, __VA_ARGS__), hvk_err_code(err, cls))

/* ---- per-VM state --------------------------------------------------------- */

static struct hvd_telem *hvd_telem_get(struct hvd_vm *vm)
{
    if (vm->telem)
        return vm->telem;
    struct hvd_telem *t = calloc(1, sizeof *t);
    uint32_t n = vm->vcpus ? vm->vcpus : 1;
    if (!t)
        return NULL;
    t->vcpus = vm->vcpus;
    t->vcpu_total = calloc(n, sizeof *t->vcpu_total);
    t->vcpu_lost = calloc(n, sizeof *t->vcpu_lost);
    t->vcpu_class = calloc((size_t)n * HVD_TELEM_NCLS, sizeof *t->vcpu_class);
    t->hist = calloc(HVD_TELEM_HISTORY, sizeof *t->hist);
    if (!t->vcpu_total || !t->vcpu_lost || !t->vcpu_class || !t->hist) {
        hvd_telem_free(t);
        return NULL;
    }
    vm->telem = t;
    return t;
}

void hvd_telem_free(struct hvd_telem *t)
{
    if (!t)
        return;
    free(t->vcpu_total);
    free(t->vcpu_lost);
    free(t->vcpu_class);
    free(t->hist);
    free(t);
}

static unsigned hvd_telem_slot(const struct hvk_fault_rec *r)
{
    /* r is checked: cls < HVK_FC__COUNT, vector <= 31 for exceptions */
    return r->cls == HVK_FC_EXCEPTION ? HVK_FC__COUNT + (r->vector & 31u) : r->cls;
}

static void hvd_telem_slot_name(unsigned slot, char *buf, size_t len)
{
    if (slot >= HVK_FC__COUNT)
        x86_fault_class_format(HVK_FC_EXCEPTION, slot - HVK_FC__COUNT, buf, len);
    else
        x86_fault_class_format(slot, 0xff, buf, len);
}

/* Space-saving (Metwally et al.): a key already tracked counts up; a new key
 * takes a free entry, or replaces the entry with the smallest count and
 * inherits that count (+1) as its error bound. The true top keys stay. */
static void hvd_hot_add(struct hvd_hot *h, uint64_t key, uint16_t cls)
{
    struct hvd_hot *min = &h[0];
    for (unsigned i = 0; i < HVD_TELEM_HOT; i++) {
        if (h[i].count && h[i].key == key) {
            h[i].count++;
            h[i].cls = cls;
            return;
        }
        if (!h[i].count) {
            h[i] = (struct hvd_hot){key, 1, 0, cls};
            return;
        }
        if (h[i].count < min->count)
            min = &h[i];
    }
    *min = (struct hvd_hot){key, min->count + 1, min->count, cls};
}

static void hvd_telem_bucket(struct hvd_telem *t, uint64_t now_ns, uint64_t rec_ns)
{
    /* Count by the record's time (hv and hvd share CLOCK_MONOTONIC), so a
     * backlog read late still lands in its second; an impossible time
     * (future, or older than the buckets) counts as now. */
    uint64_t ns = rec_ns <= now_ns && now_ns - rec_ns < (HVD_TELEM_BUCKETS - 2) * 1000000000ull ? rec_ns : now_ns;
    uint64_t sec = ns / 1000000000ull;
    unsigned i = (unsigned)(sec % HVD_TELEM_BUCKETS);
    if (t->buckets[i].sec != sec) {
        t->buckets[i].sec = sec;
        t->buckets[i].count = 0;
    }
    t->buckets[i].count++;
}

/* Events per second over the last n complete seconds. */
static double hvd_telem_rate(const struct hvd_telem *t, uint64_t now_ns, unsigned n)
{
    uint64_t now_sec = now_ns / 1000000000ull, sum = 0;
    for (unsigned i = 0; i < HVD_TELEM_BUCKETS; i++)
        if (t->buckets[i].sec < now_sec && t->buckets[i].sec + n >= now_sec)
            sum += t->buckets[i].count;
    return (double)sum / n;
}

/* The wall-clock time of a monotonic record time, as the event timestamp.
 * The offset between the two clocks is taken once, so one event has the
 * same timestamp in every query, every subscription and every gdb monitor
 * output (a wall-clock step after hvd starts is not followed). */
static json_t *hvd_telem_timestamp(uint64_t rec_ns)
{
    static bool have_offset;
    static uint64_t offset;   /* CLOCK_REALTIME - CLOCK_MONOTONIC, in ns */
    if (!have_offset) {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        uint64_t wall = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
        uint64_t mono = hvd_now_ns();
        offset = wall > mono ? wall - mono : 0;
        have_offset = true;
    }
    uint64_t wall = rec_ns + offset;
    return json_pack("{s:I,s:I}", "seconds", (json_int_t)(wall / 1000000000ull), "microseconds",
                     (json_int_t)(wall % 1000000000ull / 1000u));
}

/* {"event":"FAULT","data":{...,"vm"},"timestamp":...} for a checked record. */
static json_t *hvd_telem_event(const struct hvd_vm *vm, const struct hvk_fault_rec *r, uint64_t time_ns)
{
    struct hvk_err err = {{0}};
    json_t *data = hvjson_fault(r, NULL, vm->vcpus, &err);
    if (!data || json_object_set_new(data, "vm", json_string(vm->name)) < 0) {
        json_decref(data);
        return NULL;
    }
    return json_pack("{s:s,s:o,s:o}", "event", "FAULT", "data", data, "timestamp", hvd_telem_timestamp(time_ns));
}

/* ---- subscribers -------------------------------------------------------- */

static bool hvd_cls_match(const char *filter, const char *name)
{
    size_t n = strlen(filter);
    return !n || (strncmp(filter, name, n) == 0 && (name[n] == '\0' || name[n] == '.'));
}

static size_t hvd_sub_queued(const struct hvd_client *c)
{
    return c->out.len - c->out.off;
}

/* HVD_SUB_QUEUE_MAX, or $HVKIT_HVD_SUB_QUEUE bytes (4 KiB..1 GiB; tests use
 * a small queue to provoke overflows). */
static size_t hvd_sub_queue_max(void)
{
    static size_t max;
    if (!max) {
        const char *e = getenv("HVKIT_HVD_SUB_QUEUE");
        unsigned long long v = e ? strtoull(e, NULL, 0) : 0;
        max = v >= 4096 && v <= (1ull << 30) ? (size_t)v : HVD_SUB_QUEUE_MAX;
    }
    return max;
}

/* Append one line to c's output and get it written (the client may close). */
static void hvd_sub_push(struct hvd *d, struct hvd_client *c, const char *line, size_t len)
{
    /* Invariant of hvd_client.c: queued output means EPOLLOUT is watched,
     * so only the first line into an empty queue needs a write now. */
    bool was_empty = hvd_sub_queued(c) == 0;
    if (hvd_buf_append(&c->out, line, len) < 0) {
        hvd_client_close(d, c, "out of memory");
        return;
    }
    if (was_empty)
        hvd_client_flush(d, c);
}

static char *hvd_sub_line(json_t *msg, size_t *len)
{
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *l = realloc(text, n + 2);
    if (!l) {
        free(text);
        return NULL;
    }
    l[n] = '\n';
    l[n + 1] = '\0';
    *len = n + 1;
    return l;
}

static json_t *hvd_sub_lost_msg(const char *vm, const char *reason, uint64_t count, uint64_t total, int vcpu)
{
    json_t *m = json_pack("{s:s,s:{s:I,s:s,s:s,s:I},s:o}", "event", "LOST", "data", "count", (json_int_t)count,
                          "reason", reason, "vm", vm, "total", (json_int_t)total, "timestamp",
                          hvd_telem_timestamp(hvd_now_ns()));
    if (m && vcpu >= 0)
        json_object_set_new(json_object_get(m, "data"), "vcpu", json_integer(vcpu));
    return m;
}

/* Queue the notices a subscriber is owed, while its queue has room. A
 * notice that does not fit stays pending (its count only grows). */
static void hvd_sub_notices(struct hvd_client *c, bool force)
{
    struct hvd_sub *s = c->sub;
    if (!s || (!s->ring_pending && !s->dropped_pending) || (!force && hvd_sub_queued(c) >= hvd_sub_queue_max()))
        return;
    const char *name = s->vm_name;
    for (int k = 0; k < 2; k++) {
        uint64_t *pending = k ? &s->dropped_pending : &s->ring_pending;
        if (!*pending)
            continue;
        size_t len;
        char *line = hvd_sub_line(hvd_sub_lost_msg(name, k ? "queue" : "ring", *pending,
                                                   k ? s->dropped_total : s->ring_total, -1), &len);
        if (!line || hvd_buf_append(&c->out, line, len) < 0) {
            free(line);
            return;
        }
        free(line);
        *pending = 0;
    }
}

void hvd_sub_refill(struct hvd_client *c)
{
    hvd_sub_notices(c, false);
}

void hvd_sub_free(struct hvd_sub *s)
{
    free(s);
}

/* Offer one line to every subscriber of vm whose class filter matches; a
 * full queue drops it and counts. line is built on first need. */
static void hvd_sub_fanout(struct hvd *d, struct hvd_vm *vm, const char *cls, const struct hvd_hist *h)
{
    char *line = NULL;
    size_t len = 0;
    bool tried = false;
    for (struct hvd_client *c = d->clients, *next; c; c = next) {
        next = c->next;
        struct hvd_sub *s = c->sub;
        if (!s || s->vm != vm || s->vm_serial != vm->serial || !hvd_cls_match(s->cls, cls))
            continue;
        if (!tried) {
            tried = true;
            line = hvd_sub_line(hvd_telem_event(vm, &h->rec, h->time_ns), &len);
        }
        /* Notices first, so a LOST always precedes what follows the gap. */
        hvd_sub_refill(c);
        if (!line || s->dropped_pending || s->ring_pending || hvd_sub_queued(c) + len > hvd_sub_queue_max()) {
            s->dropped_pending++;
            s->dropped_total++;
            continue;
        }
        s->delivered++;
        hvd_sub_push(d, c, line, len);
    }
    free(line);
}

/* ---- ring hooks --------------------------------------------------------- */

void hvd_telem_on_fault(struct hvd *d, struct hvd_vm *vm, uint32_t ring, const struct ring_rec_hdr *h,
                        const void *payload, size_t len)
{
    struct hvd_telem *t = hvd_telem_get(vm);
    struct hvk_err err = {{0}};
    struct hvd_hist e;
    if (!t)
        return;
    memset(&e, 0, sizeof e);
    if (len != sizeof e.rec) {
        hvk_err_set(&err, "FAULT record of %zu bytes, expected %zu", len, sizeof e.rec);
    } else {
        memcpy(&e.rec, payload, sizeof e.rec);
        if (x86_fault_rec_check(&e.rec, vm->vcpus, &err) == 0 && e.rec.vcpu != ring)
            hvk_err_set(&err, "FAULT record for vCPU %u on the ring of vCPU %u", e.rec.vcpu, ring);
    }
    uint64_t now = hvd_now_ns();
    if (err.msg[0]) {
        t->invalid++;
        if (now - t->invalid_logged_ns > 1000000000ull) {
            t->invalid_logged_ns = now;
            hvd_log("vm '%s': ignoring a bad FAULT record (%" PRIu64 " so far): %s", vm->name, t->invalid, err.msg);
        }
        return;
    }
    e.seq = h->seq;
    e.time_ns = h->time_ns;
    e.cls = (uint16_t)hvd_telem_slot(&e.rec);
    t->total++;
    t->by_class[e.cls]++;
    t->vcpu_total[ring]++;
    t->vcpu_class[(size_t)ring * HVD_TELEM_NCLS + e.cls]++;
    hvd_telem_bucket(t, now, h->time_ns);
    hvd_hot_add(t->rips, e.rec.rip, e.cls);
    bool stage2 = e.rec.cls == HVK_FC_STAGE2_MMIO || e.rec.cls == HVK_FC_STAGE2_FAULT_IN;
    uint64_t page = stage2 ? e.rec.gpa : e.rec.addr;
    if (stage2 || e.rec.vector == 14)
        hvd_hot_add(t->pages, page & ~0xfffull, e.cls);
    t->hist[t->hist_next++ % HVD_TELEM_HISTORY] = e;
    char cls[48];
    hvd_telem_slot_name(e.cls, cls, sizeof cls);
    hvd_sub_fanout(d, vm, cls, &t->hist[(t->hist_next - 1) % HVD_TELEM_HISTORY]);
}

void hvd_telem_on_lost(struct hvd *d, struct hvd_vm *vm, uint32_t ring, const struct ring_lost *l)
{
    struct hvd_telem *t = hvd_telem_get(vm);
    if (!t)
        return;
    t->lost += l->count;
    t->lost_records++;
    t->vcpu_lost[ring] += l->count;
    for (struct hvd_client *c = d->clients, *next; c; c = next) {
        next = c->next;
        if (!c->sub || c->sub->vm != vm || c->sub->vm_serial != vm->serial)
            continue;
        c->sub->ring_pending += l->count;
        c->sub->ring_total += l->count;
        bool was_empty = hvd_sub_queued(c) == 0;
        hvd_sub_refill(c);
        if (was_empty && hvd_sub_queued(c))
            hvd_client_flush(d, c);
    }
}

/* ---- commands ----------------------------------------------------------- */

/* "vm" for the read-only telemetry commands: a gone VM still answers (its
 * last numbers are what a test compares once the guest has stopped). */
static int hvd_telem_vm(struct hvd *d, const json_t *args, struct hvd_vm **vm, struct hvk_err *err)
{
    const char *name = json_string_value(json_object_get(args, "vm"));
    if (name) {
        *vm = hvd_vm_find(d, name);
        if (*vm)
            return 0;
    }
    return hvd_args_vm(d, args, vm, err);
}

static json_t *hvd_telem_classes(const uint64_t *counts)
{
    json_t *o = json_object();
    char name[48];
    for (unsigned i = 1; o && i < HVD_TELEM_NCLS; i++) {
        if (!counts[i])
            continue;
        hvd_telem_slot_name(i, name, sizeof name);
        json_object_set_new(o, name, json_integer((json_int_t)counts[i]));
    }
    return o;
}

static int hvd_hot_cmp(const void *a, const void *b)
{
    const struct hvd_hot *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : x->key < y->key ? -1 : x->key > y->key;
}

static json_t *hvd_telem_hot(const struct hvd_hot *src, const char *keyname)
{
    struct hvd_hot h[HVD_TELEM_HOT];
    memcpy(h, src, sizeof h);
    qsort(h, HVD_TELEM_HOT, sizeof h[0], hvd_hot_cmp);
    json_t *a = json_array();
    char cls[48], key[24];
    for (unsigned i = 0; a && i < HVD_TELEM_HOT_SHOW && h[i].count; i++) {
        hvd_telem_slot_name(h[i].cls, cls, sizeof cls);
        snprintf(key, sizeof key, "0x%" PRIx64, h[i].key);
        json_array_append_new(a, json_pack("{s:s,s:I,s:I,s:s}", keyname, key, "count", (json_int_t)h[i].count,
                                           "error", (json_int_t)h[i].err, "class", cls));
    }
    return a;
}

int hvd_cmd_query_fault_stats(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", NULL};
    struct hvd_vm *vm;
    if (hvd_args_only(args, allowed, err) < 0 || hvd_telem_vm(d, args, &vm, err) < 0)
        return -1;
    struct hvd_telem *t = hvd_telem_get(vm);
    if (!t)
        return FAIL(err, HVD_E_INTERNAL, "out of memory");
    uint64_t now = hvd_now_ns();
    json_t *by_vcpu = json_array();
    for (uint32_t i = 0; by_vcpu && i < t->vcpus; i++)
        json_array_append_new(by_vcpu, json_pack("{s:I,s:I,s:I,s:o}", "vcpu", (json_int_t)i, "total",
                                                 (json_int_t)t->vcpu_total[i], "lost", (json_int_t)t->vcpu_lost[i],
                                                 "by_class", hvd_telem_classes(&t->vcpu_class[(size_t)i * HVD_TELEM_NCLS])));
    json_t *r = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:{s:f,s:f,s:f},s:o,s:o,s:{s:I,s:I}}", "vm", vm->name,
                          "state", hvd_vm_state_name(vm->state), "total", (json_int_t)t->total, "lost",
                          (json_int_t)t->lost, "invalid", (json_int_t)t->invalid, "by_class",
                          hvd_telem_classes(t->by_class), "by_vcpu", by_vcpu, "rates", "1s",
                          hvd_telem_rate(t, now, 1), "10s", hvd_telem_rate(t, now, 10), "60s",
                          hvd_telem_rate(t, now, 60), "hot_rips", hvd_telem_hot(t->rips, "rip"), "hot_pages",
                          hvd_telem_hot(t->pages, "page"), "history", "size",
                          (json_int_t)(t->hist_next < HVD_TELEM_HISTORY ? t->hist_next : HVD_TELEM_HISTORY),
                          "capacity", (json_int_t)HVD_TELEM_HISTORY);
    if (!r)
        return FAIL(err, HVD_E_INTERNAL, "out of memory");
    hvd_slot_return(d, s, r);
    return 0;
}

/* "class": a class name or a prefix ending at a dot ("guest", "guest.protection"). */
static int hvd_telem_class_arg(const json_t *args, char *buf, size_t len, struct hvk_err *err)
{
    json_t *v = json_object_get(args, "class");
    buf[0] = '\0';
    if (!v)
        return 0;
    const char *c = json_string_value(v);
    if (!c || !*c || strlen(c) >= len)
        return FAIL(err, HVD_E_INVALID_ARGUMENT, "'class' must be a class name or prefix such as \"guest\" or "
                                                 "\"exception.gp\" (at most %zu characters)", len - 1);
    for (const char *p = c; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_'))
            return FAIL(err, HVD_E_INVALID_ARGUMENT, "'class' may contain only a-z, 0-9, '.' and '_'");
    snprintf(buf, len, "%s", c);
    return 0;
}

json_t *hvd_telem_recent(struct hvd_vm *vm, uint64_t limit, const char *cls, int vcpu)
{
    struct hvd_telem *t = hvd_telem_get(vm);
    char name[48];
    if (!t)
        return NULL;
    if (limit > HVD_TELEM_HISTORY)
        limit = HVD_TELEM_HISTORY;
    /* Newest first while selecting, then reversed: oldest first out. */
    uint64_t kept = t->hist_next < HVD_TELEM_HISTORY ? t->hist_next : HVD_TELEM_HISTORY;
    static const struct hvd_hist *pick[HVD_TELEM_HISTORY];   /* hvd is single-threaded */
    size_t n = 0;
    for (uint64_t k = 0; k < kept && n < limit; k++) {
        const struct hvd_hist *h = &t->hist[(t->hist_next - 1 - k) % HVD_TELEM_HISTORY];
        hvd_telem_slot_name(h->cls, name, sizeof name);
        if ((vcpu >= 0 && h->rec.vcpu != (uint32_t)vcpu) || !hvd_cls_match(cls, name))
            continue;
        pick[n++] = h;
    }
    json_t *a = json_array();
    for (size_t i = n; a && i-- > 0;) {
        json_t *ev = hvd_telem_event(vm, &pick[i]->rec, pick[i]->time_ns);
        if (!ev || json_array_append_new(a, ev) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

int hvd_cmd_query_faults(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", "limit", "class", "vcpu", NULL};
    struct hvd_vm *vm;
    uint64_t limit, vcpu = 0;
    char cls[48];
    bool one_vcpu = json_object_get(args, "vcpu") != NULL;
    if (hvd_args_only(args, allowed, err) < 0 || hvd_telem_vm(d, args, &vm, err) < 0 ||
        hvd_args_uint(args, "limit", true, 64, 1, HVD_TELEM_HISTORY, &limit, err) < 0 ||
        hvd_telem_class_arg(args, cls, sizeof cls, err) < 0 ||
        (one_vcpu && hvd_args_uint(args, "vcpu", false, 0, 0, vm->vcpus ? vm->vcpus - 1 : 0, &vcpu, err) < 0))
        return -1;
    struct hvd_telem *t = hvd_telem_get(vm);
    json_t *a = t ? hvd_telem_recent(vm, limit, cls, one_vcpu ? (int)vcpu : -1) : NULL;
    json_t *r = a ? json_pack("{s:s,s:I,s:o}", "vm", vm->name, "total", (json_int_t)t->total, "faults", a) : NULL;
    if (!r)
        return FAIL(err, HVD_E_INTERNAL, "out of memory");
    hvd_slot_return(d, s, r);
    return 0;
}

int hvd_cmd_subscribe(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", "events", "class", NULL};
    struct hvd_vm *vm;
    char cls[48];
    if (hvd_args_only(args, allowed, err) < 0 || hvd_args_vm(d, args, &vm, err) < 0 ||
        hvd_telem_class_arg(args, cls, sizeof cls, err) < 0)
        return -1;
    json_t *ev = json_object_get(args, "events"), *e;
    size_t i;
    if (ev && (!json_is_array(ev) || json_array_size(ev) == 0))
        return FAIL(err, HVD_E_INVALID_ARGUMENT, "'events' must be a non-empty list of event names: [\"FAULT\"]");
    json_array_foreach(ev, i, e) {
        if (!json_is_string(e) || strcmp(json_string_value(e), "FAULT") != 0)
            return FAIL(err, HVD_E_INVALID_ARGUMENT, "'events'[%zu]: only \"FAULT\" can be subscribed to "
                                                     "(LOST notices come with it)", i);
    }
    struct hvd_client *c = s->client;
    if (!c)
        return FAIL(err, HVD_E_INTERNAL, "the client left");
    if (!c->sub && !(c->sub = calloc(1, sizeof *c->sub)))
        return FAIL(err, HVD_E_INTERNAL, "out of memory");
    struct hvd_sub *sub = c->sub;
    if (sub->vm != vm || sub->vm_serial != vm->serial)
        memset(sub, 0, sizeof *sub);
    sub->vm = vm;
    sub->vm_serial = vm->serial;
    snprintf(sub->vm_name, sizeof sub->vm_name, "%s", vm->name);
    snprintf(sub->cls, sizeof sub->cls, "%s", cls);
    json_t *r = json_pack("{s:[s],s:s}", "events", "FAULT", "vm", vm->name);
    if (r && cls[0])
        json_object_set_new(r, "class", json_string(cls));
    hvd_slot_return(d, s, r);
    return 0;
}

int hvd_cmd_unsubscribe(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    static const char *const allowed[] = {NULL};
    if (hvd_args_only(args, allowed, err) < 0)
        return -1;
    struct hvd_client *c = s->client;
    struct hvd_sub *sub = c ? c->sub : NULL;
    /* What the client is owed goes out before the reply, queue full or not:
     * its counts then add up exactly. */
    if (c)
        hvd_sub_notices(c, true);
    json_t *r = json_pack("{s:b,s:I,s:I,s:I}", "subscribed", sub != NULL, "delivered",
                          (json_int_t)(sub ? sub->delivered : 0), "dropped", (json_int_t)(sub ? sub->dropped_total : 0),
                          "ring_lost", (json_int_t)(sub ? sub->ring_total : 0));
    if (c) {
        hvd_sub_free(c->sub);
        c->sub = NULL;
    }
    if (!r)
        return FAIL(err, HVD_E_INTERNAL, "out of memory");
    hvd_slot_return(d, s, r);
    return 0;
}

/* trace-config: checked here for shape, then hv's TRACE_CONFIG with the
 * same members (hv checks ranges again) and hv's answer as the return. */
int hvd_cmd_trace_config(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err)
{
    static const char *const allowed[] = {"vm", "vectors", "stage2", "stack_depth", "sample", "enabled", NULL};
    struct hvd_vm *vm;
    uint64_t n;
    bool b;
    if (hvd_args_only(args, allowed, err) < 0 || hvd_args_vm(d, args, &vm, err) < 0)
        return -1;
    json_t *fwd = json_object();
    if (!fwd)
        return FAIL(err, HVD_E_INTERNAL, "out of memory");
    json_t *v = json_object_get(args, "vectors");
    if (v) {
        bool ok = json_is_string(v) || (json_is_array(v) && json_array_size(v) <= 32);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) ok = ok && (json_is_string(e) || json_is_integer(e));
        if (!ok) {
            json_decref(fwd);
            return FAIL(err, HVD_E_INVALID_ARGUMENT, "'vectors' must be \"pf,gp\" or a list of vector names or numbers");
        }
        json_object_set(fwd, "vectors", v);
    }
    static const char *const bools[] = {"stage2", "enabled"};
    for (unsigned k = 0; k < 2; k++)
        if (json_object_get(args, bools[k])) {
            if (hvd_args_bool(args, bools[k], false, &b, err) < 0) {
                json_decref(fwd);
                return -1;
            }
            json_object_set_new(fwd, bools[k], json_boolean(b));
        }
    if (json_object_get(args, "stack_depth")) {
        if (hvd_args_uint(args, "stack_depth", false, 0, 0, HVK_FAULT_MAX_FRAMES, &n, err) < 0) {
            json_decref(fwd);
            return -1;
        }
        json_object_set_new(fwd, "stack_depth", json_integer((json_int_t)n));
    }
    if (json_object_get(args, "sample")) {
        if (hvd_args_uint(args, "sample", false, 0, 1, 1000000, &n, err) < 0) {
            json_decref(fwd);
            return -1;
        }
        json_object_set_new(fwd, "sample", json_integer((json_int_t)n));
    }
    s->ring_cmd = RING_CMD_TRACE_CONFIG;
    s->vcpu = UINT32_MAX;
    int rc = hvd_req_send(d, vm, s, RING_CMD_TRACE_CONFIG, UINT32_MAX, fwd, 0, err);
    json_decref(fwd);
    if (rc == 1)
        return FAIL(err, HVD_E_BUSY, "VM '%s': command ring full, retry later", vm->name);
    if (rc < 0)
        return hvk_err_code(err, HVD_E_INTERNAL);
    return 0;
}
