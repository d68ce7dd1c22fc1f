/* main.c -- the `hv` command: boot a PVH kernel (by default the bundled
 * guest) on KVM and run it until it powers off, crashes or is stopped. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/embedded_guest.h"
#include "boot/pvh.h"
#include <hvkit/ring.h>

#include "core/hvd_link.h"
#include "core/lazymem.h"
#include "core/machine.h"
#include "core/runctl.h"
#include "core/trace.h"
#include "core/vcpu.h"
#include "core/vm.h"

#define HV_DEFAULT_MEM    (64ull << 20)
#define HV_DEFAULT_VCPUS  2u
#define HV_MAX_MEM        (1ull << 40)
#define HV_MAX_KERNEL_FILE (1ull << 30)

struct hv_run_opts {
    const char *kernel;
    const char *cmdline;
    const char *name;
    const char *console;
    const char *rundir;
    const char *trace;            /* --trace VECTORS */
    bool trace_stage2;
    bool allow_write;
    bool lazy_mem;
    uint64_t event_ring;          /* --event-ring: data bytes per vCPU ring, 0 = default */
    bool no_hvd;
    uint64_t mem;
    unsigned vcpus;
    bool stats;
};

static void usage_main(FILE *f)
{
    fprintf(f,
        "Usage: hv COMMAND [OPTIONS]\n"
        "hv is hvkit's minimal hypervisor core on KVM.\n"
        "\n"
        "Commands:\n"
        "  run        boot a guest (by default the bundled demo guest)\n"
        "\n"
        "  hv --help | hv run --help | hv --version\n");
}

static void usage_run(FILE *f)
{
    fprintf(f,
        "Usage: hv run [OPTIONS]\n"
        "Boot a PVH ELF kernel on KVM and run it until it powers off, crashes or is stopped.\n"
        "\n"
        "  -k, --kernel FILE   PVH ELF kernel (default: the bundled guest built into hv)\n"
        "  -c, --cmdline STR   kernel command line, at most %u bytes (bundled guest: 'selftest')\n"
        "  -m, --mem SIZE      guest RAM: bytes or a K/M/G suffix, a multiple of 4K (default 64M, minimum 4M)\n"
        "  -n, --vcpus N       number of vCPUs (default %u)\n"
        "      --name NAME     VM name used in reports (default 'guest'; letters, digits, '.', '_', '-')\n"
        "      --console DEST  serial console: 'stdio' (default) or a FILE to write\n"
        "      --stats         print each vCPU's VM-exit counts when the VM ends\n"
        "      --rundir DIR    runtime directory where hvd listens (default: $HVKIT_RUNDIR,\n"
        "                      /run/hvkit as root, else $XDG_RUNTIME_DIR/hvkit)\n"
        "      --no-hvd        do not register with hvd (no introspection)\n"
        "      --trace VECTORS trace these exceptions from the start (e.g. pf or pf,gp,ud; at most 4)\n"
        "      --trace-stage2  trace MMIO exits as stage2.mmio events\n"
        "      --allow-write   let debuggers write guest memory and registers (off: refused)\n"
        "      --lazy-mem      back guest RAM on first touch (userfaultfd); with --trace-stage2\n"
        "                      each first touch is a stage2.fault_in event\n"
        "      --event-ring SIZE  bytes of each vCPU's event ring to hvd, a power of two from 4K\n"
        "                      to 64M (default 256K); records that do not fit are dropped and counted\n"
        "  -h, --help          this help\n"
        "\n"
        "Exit status:\n"
        "  0-63  the guest wrote this status to the exit port (0x501)\n"
        "  64    usage error            65  bad kernel image     66  kernel file unreadable\n"
        "  69    /dev/kvm unusable       70  internal error\n"
        "  80    guest crashed (triple fault, KVM internal error, unhandled I/O or MMIO)\n"
        "  81    every vCPU halted for good\n"
        "  130   stopped by SIGINT      143  stopped by SIGTERM\n",
        HV_PVH_CMDLINE_MAX, HV_DEFAULT_VCPUS);
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
        end += strlen(end);
    if (*end)
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_count(const char *s, unsigned *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > UINT_MAX)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "hv: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'hv run --help'.\n");
    return HV_EXIT_USAGE;
}

/* Returns -1 on success, else the exit status to leave with. */
static int parse_run_opts(int argc, char **argv, struct hv_run_opts *o)
{
    enum { OPT_NAME = 256, OPT_CONSOLE, OPT_STATS, OPT_RUNDIR, OPT_NO_HVD, OPT_TRACE, OPT_TRACE_STAGE2, OPT_ALLOW_WRITE, OPT_LAZY_MEM, OPT_EVENT_RING };
    static const struct option longopts[] = {
        { "kernel", required_argument, NULL, 'k' },
        { "cmdline", required_argument, NULL, 'c' },
        { "mem", required_argument, NULL, 'm' },
        { "vcpus", required_argument, NULL, 'n' },
        { "name", required_argument, NULL, OPT_NAME },
        { "console", required_argument, NULL, OPT_CONSOLE },
        { "stats", no_argument, NULL, OPT_STATS },
        { "rundir", required_argument, NULL, OPT_RUNDIR },
        { "no-hvd", no_argument, NULL, OPT_NO_HVD },
        { "trace", required_argument, NULL, OPT_TRACE },
        { "trace-stage2", no_argument, NULL, OPT_TRACE_STAGE2 },
        { "allow-write", no_argument, NULL, OPT_ALLOW_WRITE },
        { "lazy-mem", no_argument, NULL, OPT_LAZY_MEM },
        { "event-ring", required_argument, NULL, OPT_EVENT_RING },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *o = (struct hv_run_opts){ .mem = HV_DEFAULT_MEM, .vcpus = HV_DEFAULT_VCPUS, .name = "guest",
                               .console = "stdio", .cmdline = "" };
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    uint64_t host_mem = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : HV_MAX_MEM;
    uint64_t max_mem = host_mem < HV_MAX_MEM ? host_mem : HV_MAX_MEM;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":k:c:m:n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': o->kernel = optarg; break;
        case 'c': o->cmdline = optarg; break;
        case 'm':
            if (parse_size(optarg, &o->mem) < 0)
                return usage_error("--mem '%s' is not a size (examples: 64M, 1G, 268435456)", optarg);
            if (o->mem < HV_MIN_MEM)
                return usage_error("--mem %s is too small: the minimum is 4M", optarg);
            if (o->mem % 4096)
                return usage_error("--mem %s is not a multiple of 4K", optarg);
            if (o->mem > max_mem) {
                fprintf(stderr, "hv: --mem %s is more than this host's %llu MiB of RAM\n", optarg,
                        (unsigned long long)(max_mem >> 20));
                return HV_EXIT_USAGE;
            }
            break;
        case 'n':
            if (parse_count(optarg, &o->vcpus) < 0 || o->vcpus == 0 || o->vcpus > HV_MAX_VCPUS)
                return usage_error("--vcpus '%s' must be a whole number from 1 to 255", optarg);
            break;
        case OPT_NAME:
            if (!valid_name(optarg))
                return usage_error("--name '%s': use 1-63 letters, digits, '.', '_' or '-'", optarg);
            o->name = optarg;
            break;
        case OPT_CONSOLE: o->console = optarg; break;
        case OPT_STATS: o->stats = true; break;
        case OPT_RUNDIR: o->rundir = optarg; break;
        case OPT_NO_HVD: o->no_hvd = true; break;
        case OPT_TRACE: {
            uint32_t mask;
            struct hvk_err e = { "", 0 };
            if (hv_trace_parse_vectors(optarg, &mask, &e) < 0)
                return usage_error("--trace: %s", e.msg);
            o->trace = optarg;
            break;
        }
        case OPT_TRACE_STAGE2: o->trace_stage2 = true; break;
        case OPT_ALLOW_WRITE: o->allow_write = true; break;
        case OPT_LAZY_MEM: o->lazy_mem = true; break;
        case OPT_EVENT_RING:
            if (parse_size(optarg, &o->event_ring) < 0 || o->event_ring < 4096 || o->event_ring > (64u << 20) ||
                (o->event_ring & (o->event_ring - 1)))
                return usage_error("--event-ring '%s' must be a power of two from 4K to 64M", optarg);
            break;
        case 'h': usage_run(stdout); return 0;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (strlen(o->cmdline) > HV_PVH_CMDLINE_MAX)
        return usage_error("--cmdline is longer than %u bytes", HV_PVH_CMDLINE_MAX);
    return -1;
}

/* Read the kernel file. Returns 0, or the exit status for the failure. */
static int read_kernel_file(const char *path, void **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "hv: cannot open kernel '%s': %s\n", path, strerror(errno));
        return HV_EXIT_NO_INPUT;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "hv: kernel '%s' is not a regular file\n", path);
        close(fd);
        return HV_EXIT_NO_INPUT;
    }
    if ((uint64_t)st.st_size > HV_MAX_KERNEL_FILE || st.st_size == 0) {
        fprintf(stderr, "hv: kernel '%s' is %s\n", path, st.st_size ? "larger than 1 GiB" : "empty");
        close(fd);
        return HV_EXIT_BAD_INPUT;
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len);
    size_t got = 0;
    while (*buf && got < *len) {
        ssize_t n = read(fd, (char *)*buf + got, *len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!*buf || got != *len) {
        fprintf(stderr, "hv: cannot read kernel '%s': %s\n", path, *buf ? "short read" : "out of memory");
        free(*buf);
        *buf = NULL;
        return HV_EXIT_NO_INPUT;
    }
    return 0;
}

/* After the vCPU threads are gone the main thread may use their ring
 * producers: report any drops still pending as a LOST record, waiting a
 * little (bounded) for hvd to make room, so hvd's count ends exact. */
static void flush_event_rings(struct hv_vm *vm, struct hv_link *link)
{
    for (unsigned i = 0; link && i < vm->nr_vcpus; i++)
        for (unsigned tries = 0; tries < 50 && ring_flush(&link->vcpu_prod[i]) != 0; tries++)
            usleep(10000);
}

static void print_exit_stats(struct hv_vm *vm, struct hv_link *link)
{
    static const char *const names[HV_EXIT_REASON_SLOTS] = {
        [2] = "io", [4] = "debug", [5] = "hlt", [6] = "mmio", [8] = "shutdown", [10] = "intr",
        [17] = "internal_error",
    };
    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        fprintf(stderr, "hv: vCPU %u exits:", i);
        for (unsigned r = 0; r < HV_EXIT_REASON_SLOTS; r++)
            if (vm->vcpus[i].exit_count[r])
                fprintf(stderr, " %s=%llu", names[r] ? names[r] : "other",
                        (unsigned long long)vm->vcpus[i].exit_count[r]);
        fputc('\n', stderr);
        if (vm->trace) {
            const struct hv_trace_counters *c = &vm->trace->counters[i];
            fprintf(stderr, "hv: vCPU %u trace: hits=%llu recorded=%llu dropped=%llu sampled_out=%llu "
                            "cost_ns=%llu costed=%llu\n", i,
                    (unsigned long long)c->hits, (unsigned long long)c->recorded, (unsigned long long)c->dropped,
                    (unsigned long long)c->sampled_out, (unsigned long long)c->cost_ns,
                    (unsigned long long)c->costed);
        }
        if (link) {
            const struct ring_producer *p = &link->vcpu_prod[i];
            fprintf(stderr, "hv: vCPU %u ring: written=%llu lost=%llu unreported=%llu\n", i,
                    (unsigned long long)p->written, (unsigned long long)p->lost_total,
                    (unsigned long long)p->lost_pending);
        }
    }
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* hv's main loop: wait for the VM to end or a signal to stop it, and drive
 * the link to hvd (registration, requests) meanwhile. Returns the exit status. */
static int run_main_loop(struct hv_vm *vm, int sigfd, struct hv_link *link)
{
    uint64_t next_tick = 0;
    for (;;) {
        struct pollfd pfd[4] = { { .fd = vm->done_fd, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
        int n = 2, timeout = -1;
        if (link) {
            n += hv_link_pollfds(link, pfd + 2);
            timeout = hv_link_timeout(link);
        }
        int period = vm->trace ? hv_trace_tick_ms(vm->trace) : -1;
        if (period >= 0) {
            uint64_t now = monotonic_ms();
            if (now >= next_tick) {
                hv_trace_tick(vm->trace);
                period = hv_trace_tick_ms(vm->trace);
                next_tick = now + (uint64_t)period;
            }
            int until = (int)(next_tick - now);
            if (timeout < 0 || until < timeout)
                timeout = until;
        }
        int r = poll(pfd, (nfds_t)n, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            hv_vm_end(vm, HV_EXIT_INTERNAL);
            break;
        }
        if (pfd[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                fprintf(stderr, "hv: %s: stopping on %s\n", vm->name, strsignal((int)si.ssi_signo));
                hv_vm_end(vm, HV_EXIT_SIGNAL_BASE + (int)si.ssi_signo);
            }
        }
        if (pfd[0].revents & POLLIN)
            break;
        if (link)
            hv_link_run(link, pfd + 2, n - 2);
    }
    return hv_vm_join(vm);
}

static int cmd_run(int argc, char **argv)
{
    struct hv_run_opts o;
    int rc = parse_run_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;

    void *file = NULL;
    struct hv_link link_storage, *link = NULL;
    struct hv_runctl runctl;
    const void *image;
    size_t image_len;
    const char *image_name = o.kernel ? o.kernel : "bundled guest";
    if (o.kernel) {
        rc = read_kernel_file(o.kernel, &file, &image_len);
        if (rc)
            return rc;
        image = file;
    } else {
        image = hv_embedded_guest(&image_len);
        if (!image) {
            fprintf(stderr, "hv: this hv was built without the bundled guest; give --kernel FILE\n");
            return HV_EXIT_USAGE;
        }
    }

    int console_fd = STDOUT_FILENO;
    if (strcmp(o.console, "stdio") != 0) {
        console_fd = open(o.console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (console_fd < 0) {
            fprintf(stderr, "hv: cannot open console file '%s': %s\n", o.console, strerror(errno));
            free(file);
            return HV_EXIT_USAGE;
        }
    }

    /* Signals: SIGINT/SIGTERM arrive through a signalfd in this thread only;
     * vCPU threads inherit the blocked mask. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sigfd = signalfd(-1, &stop_set, SFD_CLOEXEC);

    struct hvk_err err = { "", 0 };
    struct hv_machine_config mc = {
        .name = o.name, .mem_size = o.mem, .nr_vcpus = o.vcpus, .image = image, .image_len = image_len,
        .cmdline = o.cmdline, .console_fd = console_fd,
    };
    struct hv_machine *m = hv_machine_create(&mc, &err);
    struct hv_vm *vm = m ? m->vm : NULL;
    if (!m) {
        if (err.code == HV_EXIT_BAD_INPUT)
            fprintf(stderr, "hv: kernel '%s': %s\n", image_name, err.msg);
        else
            fprintf(stderr, "hv: %s\n", err.msg);
        rc = err.code ? err.code : HV_EXIT_INTERNAL;
        goto out;
    }
    if (!o.no_hvd) {
        struct hv_link_config lc = { .rundir = o.rundir, .kernel = o.kernel ? o.kernel : "(bundled)",
                                     .vcpu_ring_size = o.event_ring };
        if (hv_link_init(&link_storage, m, &lc, &err) < 0) {
            fprintf(stderr, "hv: %s\n", err.msg);
            hv_link_destroy(&link_storage);
            rc = HV_EXIT_USAGE;
            goto out;
        }
        link = &link_storage;
    }
    vm->allow_write = o.allow_write;
    hv_runctl_init(&runctl, link ? link->vcpu_prod : NULL);
    vm->runctl = &runctl;
    vm->trace = hv_trace_create(vm, link ? link->vcpu_prod : NULL, m->symbols, &err);
    if (!vm->trace) {
        fprintf(stderr, "hv: %s\n", err.msg);
        rc = HV_EXIT_INTERNAL;
        goto out;
    }
    if (o.trace || o.trace_stage2) {
        /* Before the guest has an IDT the vectors stay pending; the main
         * loop arms them as soon as it has one. */
        struct hv_trace_config tc = { .stage2 = o.trace_stage2, .stack_depth = HV_TRACE_DEFAULT_DEPTH, .sample = 1 };
        if (o.trace && hv_trace_parse_vectors(o.trace, &tc.vectors, &err) < 0) {
            fprintf(stderr, "hv: --trace: %s\n", err.msg);
            rc = HV_EXIT_USAGE;
            goto out;
        }
        if (hv_trace_configure(vm->trace, &tc, &err) < 0) {
            fprintf(stderr, "hv: --trace: %s\n", err.msg);
            rc = HV_EXIT_USAGE;
            goto out;
        }
    }
    if (o.lazy_mem && hv_lazymem_start(vm, &err) < 0) {
        fprintf(stderr, "hv: --lazy-mem: %s\n", err.msg);
        rc = HV_EXIT_NO_KVM;
        goto out;
    }
    if (hv_vm_start(vm, &err) < 0) {
        fprintf(stderr, "hv: %s\n", err.msg);
        hv_vm_join(vm);
        rc = HV_EXIT_INTERNAL;
        goto out;
    }
    rc = run_main_loop(vm, sigfd, link);
    flush_event_rings(vm, link);
    if (o.stats)
        print_exit_stats(vm, link);
out:
    if (vm) {
        hv_lazymem_stop(vm);
        hv_trace_destroy(vm->trace);
        vm->trace = NULL;
    }
    if (link)
        hv_link_destroy(link);
    hv_machine_destroy(m);
    if (console_fd != STDOUT_FILENO)
        close(console_fd);
    if (sigfd >= 0)
        close(sigfd);
    free(file);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return HV_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage_main(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("hv (hvkit) %s\n", HVKIT_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    fprintf(stderr, "hv: unknown command '%s'\nTry 'hv --help'.\n", argv[1]);
    return HV_EXIT_USAGE;
}
