/* vm.h -- a KVM virtual machine: guest RAM in a memfd, memslots, vCPU threads
 * and the lifecycle (start, pause, resume, end) that every part of hv shares. */
#ifndef HV_VM_H
#define HV_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>

#include "guestdbg.h"
#include "iobus.h"

struct hv_vcpu;
struct hv_trace;
struct hv_runctl;
struct hv_lazymem;
struct kvm_cpuid2;

/* hv's exit statuses (docs/guest-abi.md keeps the table users read). */
enum {
    HV_EXIT_GUEST_MAX   = 63,  /* 0..63: the status the guest wrote to the exit port */
    HV_EXIT_USAGE       = 64,
    HV_EXIT_BAD_INPUT   = 65,
    HV_EXIT_NO_INPUT    = 66,
    HV_EXIT_NO_KVM      = 69,
    HV_EXIT_INTERNAL    = 70,
    HV_EXIT_CRASHED     = 80,  /* triple fault, internal error, unhandled exit */
    HV_EXIT_ALL_HALTED  = 81,
    HV_EXIT_SIGNAL_BASE = 128, /* + signal number */
};

/* The 32-bit MMIO hole: RAM beyond 3 GiB continues at 4 GiB. */
#define HV_LOW_RAM_END  0xc0000000ull
#define HV_HIGH_RAM_BASE 0x100000000ull
#define HV_MAX_VCPUS    255u   /* initial APIC IDs are 8 bits */
#define HV_MIN_MEM      (4ull << 20)
#define HV_MAX_KVM_SLOTS 32

struct hv_mem_region {
    uint64_t gpa;           /* guest-physical start */
    uint64_t size;
    uint64_t memfd_offset;  /* where these bytes live in the memfd */
};

struct hv_vm_config {
    const char *name;
    uint64_t mem_size;
    unsigned nr_vcpus;
};

/* KVM facts probed once at VM creation; nothing else assumes a capability. */
struct hv_caps {
    int max_vcpus;          /* KVM_CAP_MAX_VCPUS (or NR_VCPUS) */
    bool immediate_exit;    /* KVM_CAP_IMMEDIATE_EXIT: required */
    bool set_tss_addr;
    bool sync_regs;
    bool guest_debug;
    bool readonly_mem;
    bool data_breakpoints;  /* probed: do write watchpoints on debug registers fire? */
    bool sw_breakpoints;    /* probed: does KVM_GUESTDBG_USE_SW_BP report int3? */
};

struct hv_vm {
    char name[64];
    int kvm_fd, vm_fd, mem_fd;
    uint8_t *ram;                 /* host mapping of the whole memfd */
    uint64_t ram_size;            /* bytes of guest RAM (== memfd size) */
    struct hv_mem_region regions[2];
    unsigned nr_regions;
    unsigned nr_kvm_slots;        /* KVM memslots in use: RAM pieces + read-only watch pages */
    struct hv_caps caps;
    struct kvm_cpuid2 *supported_cpuid;
    int vcpu_mmap_size;

    unsigned nr_vcpus;            /* vCPUs created so far */
    unsigned nr_vcpus_planned;    /* vCPUs the VM will have (CPUID reports it) */
    struct hv_vcpu *vcpus;

    struct hv_iobus pio;          /* port I/O devices; immutable once vCPUs run */
    struct hv_iobus mmio;         /* MMIO devices outside RAM; same rule */
    struct hv_guestdbg dbg;       /* the four debug registers */
    struct hv_trace *trace;       /* fault tracing, or NULL (trace.c) */
    struct hv_runctl *runctl;     /* debugger run control, or NULL (runctl.c) */
    struct hv_lazymem *lazymem;   /* --lazy-mem, or NULL (lazymem.c) */

    /* Lifecycle. lock protects everything below; cond signals any change.
     * attention is set whenever a vCPU must look at the state before its
     * next KVM_RUN (a stop or a pause); vCPUs read it without the lock. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_bool attention;
    bool stopping;
    int exit_status;
    unsigned pause_depth;         /* hv_vm_pause() calls not yet resumed, + 1 while stopped */
    bool stopped;                 /* all-stop for a debugger or a `pause` request */
    bool allow_write;             /* hv run --allow-write: memory/register writes allowed */
    int solo_vcpu;                /* while stopped: the one vCPU allowed to run (a step), or -1 */
    unsigned nr_parked;           /* vCPU threads waiting outside KVM_RUN */
    unsigned nr_live_threads;     /* vCPU threads started and not yet exited */
    unsigned nr_halted;           /* vCPUs halted for good */
    int done_fd;                  /* eventfd: written once when the VM ends */
};

struct hv_vm *hv_vm_create(const struct hv_vm_config *cfg, struct hvk_err *err);
void hv_vm_destroy(struct hv_vm *vm);

/* Host pointer for [gpa, gpa+len) if it lies wholly in one RAM region, else NULL. */
void *hv_vm_gpa_to_host(struct hv_vm *vm, uint64_t gpa, uint64_t len);
/* Copy guest-physical memory; -1 if any byte is outside RAM. */
int hv_vm_read_gpa(struct hv_vm *vm, uint64_t gpa, void *buf, size_t len);
int hv_vm_write_gpa(struct hv_vm *vm, uint64_t gpa, const void *buf, size_t len);

/* Re-lay guest RAM out in KVM memslots with these 4 KiB pages (sorted,
 * unique) read-only, so guest writes to them exit as MMIO (write
 * watchpoints where debug registers cannot watch data). VM paused. */
int hv_vm_set_readonly_pages(struct hv_vm *vm, const uint64_t *pages, unsigned n, struct hvk_err *err);

/* Start one thread per vCPU. */
int hv_vm_start(struct hv_vm *vm, struct hvk_err *err);
/* End the VM with a status; the first caller's status wins. Any thread. */
void hv_vm_end(struct hv_vm *vm, int status);
/* Join every vCPU thread and return the exit status. */
int hv_vm_join(struct hv_vm *vm);
/* Stop every vCPU outside KVM_RUN and wait until all are parked. Nests. */
void hv_vm_pause(struct hv_vm *vm);
void hv_vm_resume(struct hv_vm *vm);
/* All-stop (debuggers, `pause`): stop every vCPU without waiting; safe from
 * a vCPU thread, which then parks itself. Idempotent; true for the call
 * that started the stop. */
bool hv_vm_stop_async(struct hv_vm *vm);
/* Is an all-stop in force (or starting)? */
bool hv_vm_is_stopped(struct hv_vm *vm);
/* Wait until every vCPU thread is parked (after hv_vm_stop_async). Not from
 * a vCPU thread. */
void hv_vm_wait_parked(struct hv_vm *vm);
/* End the all-stop: every vCPU runs again. */
void hv_vm_continue(struct hv_vm *vm);
/* While stopped, let vCPU `index` alone run (-1: none), e.g. for a step. */
void hv_vm_set_solo(struct hv_vm *vm, int index);
/* Called by a vCPU thread: this vCPU is halted for good. */
void hv_vm_vcpu_halted(struct hv_vm *vm, struct hv_vcpu *vcpu);

#endif
