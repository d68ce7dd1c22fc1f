/* translate_diff.c -- three-way differential test on the bundled guest:
 * its self-report, KVM's own walker (KVM_TRANSLATE) and hvkit's walker
 * (x86_walk). Boot the guest in-process, wait for its report, pause it, and
 * ask both walkers about every reported mapping (each page, or an even
 * sample of large ranges), every reported hole, and pseudo-random addresses
 * outside everything reported. Validity and GPA must agree three ways (KVM's
 * writeable/usermode fields are not reliable, so rights are not compared
 * with KVM; hvctl's end-to-end test checks rights against the report). */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "boot/embedded_guest.h"
#include "core/machine.h"
#include "core/inspect.h"
#include "core/vcpu.h"

#define CONSOLE_MAX      (1u << 20)
#define MAX_RANGES       512
#define PAGES_PER_RANGE  512   /* ranges with more pages are sampled evenly */
#define RANDOM_SAMPLES   4000
#define READY_TIMEOUT_S  120

struct range {
    char name[48];
    uint64_t va, end, pa;
    bool mapped;
};

struct console {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char buf[CONSOLE_MAX];
    size_t len;
};

static struct console con = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, "", 0 };

static void console_sink(void *ctx, struct hv_vcpu *vcpu, const uint8_t *bytes, size_t len)
{
    (void)ctx;
    (void)vcpu;
    pthread_mutex_lock(&con.lock);
    if (len > CONSOLE_MAX - 1 - con.len)
        len = CONSOLE_MAX - 1 - con.len;
    memcpy(con.buf + con.len, bytes, len);
    con.len += len;
    con.buf[con.len] = '\0';
    pthread_cond_broadcast(&con.cond);
    pthread_mutex_unlock(&con.lock);
}

/* Wait for a line starting with "hvk ready"; false on timeout or VM end. */
static bool wait_ready(struct hv_vm *vm)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += READY_TIMEOUT_S;
    bool ready = false;
    pthread_mutex_lock(&con.lock);
    for (;;) {
        if (strncmp(con.buf, "hvk ready", 9) == 0 || strstr(con.buf, "\nhvk ready")) {
            ready = true;
            break;
        }
        pthread_mutex_lock(&vm->lock);
        bool ended = vm->stopping;
        pthread_mutex_unlock(&vm->lock);
        if (ended)
            break;
        struct timespec step;
        clock_gettime(CLOCK_REALTIME, &step);
        step.tv_nsec += 200 * 1000 * 1000;
        if (step.tv_nsec >= 1000000000L) {
            step.tv_sec++;
            step.tv_nsec -= 1000000000L;
        }
        if (step.tv_sec > deadline.tv_sec)
            break;
        pthread_cond_timedwait(&con.cond, &con.lock, &step);
    }
    pthread_mutex_unlock(&con.lock);
    return ready;
}

static bool field(const char *line, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    for (const char *p = line; (p = strstr(p, key)) != NULL; p += kl) {
        if ((p == line || p[-1] == ' ') && p[kl] == '=') {
            p += kl + 1;
            size_t n = strcspn(p, " \n");
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, p, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}

static bool field_u64(const char *line, const char *key, uint64_t *v)
{
    char tmp[40], *end;
    if (!field(line, key, tmp, sizeof tmp))
        return false;
    errno = 0;
    *v = strtoull(tmp, &end, 0);
    return errno == 0 && *end == '\0' && end != tmp;
}

/* Parse "hvk map", "hvk hole" and "hvk demand" lines (hv/guest/REPORT.md). */
static int parse_report(struct range *r, unsigned *n, struct range *demand)
{
    *n = 0;
    bool have_demand = false;
    for (char *line = con.buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        bool is_map = !strncmp(line, "hvk map ", 8), is_hole = !strncmp(line, "hvk hole ", 9);
        if ((is_map || is_hole) && *n < MAX_RANGES) {
            struct range *x = &r[*n];
            memset(x, 0, sizeof *x);
            x->mapped = is_map;
            field(line, "name", x->name, sizeof x->name);
            if (!field_u64(line, "va", &x->va) || !field_u64(line, "end", &x->end) || x->end <= x->va ||
                (is_map && !field_u64(line, "pa", &x->pa))) {
                fprintf(stderr, "malformed report line: %s\n", line);
                return -1;
            }
            (*n)++;
        } else if (!strncmp(line, "hvk demand ", 11)) {
            if (!field_u64(line, "va", &demand->va) || !field_u64(line, "end", &demand->end)) {
                fprintf(stderr, "malformed report line: %s\n", line);
                return -1;
            }
            have_demand = true;
        }
        if (nl)
            *nl = '\n';
        line = nl ? nl + 1 : NULL;
    }
    if (!have_demand)
        demand->va = demand->end = 0;
    return 0;
}

static int translate(struct hv_vcpu *vcpu, uint64_t va, bool *valid, uint64_t *gpa)
{
    struct kvm_translation tr = { .linear_address = va };
    if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) < 0) {
        fprintf(stderr, "KVM_TRANSLATE 0x%" PRIx64 ": %s\n", va, strerror(errno));
        return -1;
    }
    *valid = tr.valid;
    *gpa = tr.physical_address;
    return 0;
}

static bool in_any(const struct range *r, unsigned n, const struct range *demand, uint64_t va)
{
    for (unsigned i = 0; i < n; i++)
        if (r[i].mapped && va >= r[i].va && va < r[i].end)
            return true;
    return demand->end && va >= demand->va && va < demand->end;
}

static unsigned failures, checks;

/* The walker's view of the same address, under the paused vCPU's registers. */
struct walker_view {
    struct hv_vm *vm;
    struct hv_snapshot snap;
    struct x86_cpu_facts facts;
};
static struct walker_view wv;

static void check_walker(uint64_t va, bool kvm_valid, uint64_t kvm_gpa)
{
    struct x86_walk w;
    struct hvk_err err = { "", 0 };
    struct x86_mem mem = hv_guest_mem(wv.vm);
    struct x86_access acc = { .type = X86_ACCESS_READ, .priv = X86_PRIV_IMPLICIT };
    if (x86_walk(&wv.snap.paging, &wv.facts, &mem, va, acc, &w, &err) < 0) {
        if (failures++ < 20)
            fprintf(stderr, "FAIL walker refused 0x%" PRIx64 ": %s\n", va, err.msg);
        return;
    }
    if (w.mapped != kvm_valid || (kvm_valid && w.gpa != kvm_gpa)) {
        if (failures++ < 20)
            fprintf(stderr, "FAIL walker vs KVM at 0x%" PRIx64 ": walker %s 0x%" PRIx64 " (%s), KVM %s 0x%" PRIx64 "\n",
                    va, w.mapped ? "GPA" : "no mapping", w.gpa, w.why, kvm_valid ? "GPA" : "no mapping", kvm_gpa);
    }
}

static void check_page(struct hv_vcpu *vcpu, const struct range *x, uint64_t va)
{
    bool valid;
    uint64_t gpa;
    checks++;
    if (translate(vcpu, va, &valid, &gpa) < 0) {
        failures++;
        return;
    }
    check_walker(va, valid, gpa);
    if (x->mapped && (!valid || gpa != x->pa + (va - x->va))) {
        if (failures++ < 20)
            fprintf(stderr, "FAIL %s: va 0x%" PRIx64 " reported at GPA 0x%" PRIx64 ", KVM says %s 0x%" PRIx64 "\n",
                    x->name, va, x->pa + (va - x->va), valid ? "GPA" : "no mapping", gpa);
    } else if (!x->mapped && valid) {
        if (failures++ < 20)
            fprintf(stderr, "FAIL %s: va 0x%" PRIx64 " reported unmapped, KVM maps it to GPA 0x%" PRIx64 "\n",
                    x->name, va, gpa);
    }
}

int main(int argc, char **argv)
{
    unsigned vcpus = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
    size_t len;
    const void *image = hv_embedded_guest(&len);
    if (!image) {
        fprintf(stderr, "FAIL: hv was built without the bundled guest\n");
        return 1;
    }
    struct hvk_err err = { "", 0 };
    struct hv_machine_config mc = { .name = "translate", .mem_size = 64ull << 20, .nr_vcpus = vcpus,
                                    .image = image, .image_len = len, .cmdline = "", .console_fd = -1 };
    struct hv_machine *m = hv_machine_create(&mc, &err);
    if (!m) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    hv_serial_set_sink(&m->uart, console_sink, NULL);
    if (hv_vm_start(m->vm, &err) < 0) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    bool ready = wait_ready(m->vm);
    hv_vm_pause(m->vm);
    int rc = 1;
    if (!ready) {
        fprintf(stderr, "FAIL: the guest did not print 'hvk ready' within %ds; console:\n%s\n", READY_TIMEOUT_S,
                con.buf);
        goto out;
    }

    static struct range ranges[MAX_RANGES];
    struct range demand;
    unsigned n;
    if (parse_report(ranges, &n, &demand) < 0)
        goto out;
    unsigned nmaps = 0, nholes = 0;
    for (unsigned i = 0; i < n; i++)
        ranges[i].mapped ? nmaps++ : nholes++;
    if (nmaps < 5 || nholes < 3) {
        fprintf(stderr, "FAIL: the report has %u mappings and %u holes; expected at least 5 and 3\n", nmaps, nholes);
        goto out;
    }

    for (unsigned v = 0; v < m->vm->nr_vcpus; v++) {
        struct hv_vcpu *vcpu = &m->vm->vcpus[v];
        wv.vm = m->vm;
        if (hv_snapshot_take(vcpu, &wv.snap, &err) < 0 || hv_cpu_facts(m->vm, &wv.facts, &err) < 0) {
            fprintf(stderr, "FAIL: %s\n", err.msg);
            goto out;
        }
        for (unsigned i = 0; i < n; i++) {
            const struct range *x = &ranges[i];
            uint64_t pages = (x->end - x->va + 4095) / 4096;
            uint64_t step = pages > PAGES_PER_RANGE ? pages / PAGES_PER_RANGE : 1;
            for (uint64_t p = 0; p < pages; p += step)
                check_page(vcpu, x, x->va + p * 4096 + (p % 7) * 8);
            check_page(vcpu, x, x->end - 8);
        }
        /* Pseudo-random canonical addresses outside everything reported. */
        uint64_t seed = 0x9e3779b97f4a7c15ull + v;
        struct range unmapped = { .name = "unreported address", .mapped = false };
        unsigned sampled = 0;
        for (unsigned i = 0; i < RANDOM_SAMPLES; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t va = (seed >> 16) & 0x0000ffffffffff000ull;     /* 48-bit */
            if (va & (1ull << 47))
                va |= 0xffff000000000000ull;                         /* canonical */
            if (i % 4 == 0)                                           /* near the kernel too */
                va = 0xffffffff80000000ull + ((seed >> 20) & 0x7ffff000ull);
            if (in_any(ranges, n, &demand, va))
                continue;
            unmapped.va = va;
            unmapped.end = va + 4096;
            check_page(vcpu, &unmapped, va);
            sampled++;
        }
        printf("vCPU %u: %u mappings and %u holes checked page by page, %u unreported addresses sampled,\n"
               "        each by KVM_TRANSLATE and by x86_walk\n", v, nmaps, nholes, sampled);
    }
    rc = failures ? 1 : 0;
    printf("%u checks, %u disagreements\n", checks, failures);
out:
    hv_vm_end(m->vm, 0);
    hv_vm_resume(m->vm);
    hv_vm_join(m->vm);
    hv_machine_destroy(m);
    printf("%d passed, %d failed\n", rc == 0, rc != 0);
    return rc;
}
