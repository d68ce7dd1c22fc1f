/* fault.h -- the fault taxonomy (DESIGN.md "Faults") and the FAULT record
 * hv writes on a vCPU's ring (ring.h, RING_REC_FAULT) for hvd's telemetry.
 *
 * The record is fixed-size binary (not JSON like replies): faults come in
 * storms, and hvd aggregates them, so it must read them cheaply. hvd still
 * treats every field as untrusted: counts are clamped to the array sizes,
 * class and vector are checked against their ranges before use.
 */
#ifndef HVKIT_FAULT_H
#define HVKIT_FAULT_H

#include <assert.h>
#include <stdint.h>

/* Whose fault is it, and why. Names (hvk_fault_class_name) are the API's. */
enum hvk_fault_class {
    HVK_FC_NONE = 0,
    HVK_FC_GUEST_NOT_PRESENT,      /* "guest.not_present" (+ level) */
    HVK_FC_GUEST_PROT_WRITE,       /* "guest.protection.write" */
    HVK_FC_GUEST_PROT_USER,        /* "guest.protection.user" */
    HVK_FC_GUEST_PROT_NX,          /* "guest.protection.nx" */
    HVK_FC_GUEST_PROT_SMEP,        /* "guest.protection.smep" */
    HVK_FC_GUEST_PROT_SMAP,        /* "guest.protection.smap" */
    HVK_FC_GUEST_PROT_PKEY,        /* "guest.protection.pkey" */
    HVK_FC_GUEST_RESERVED_BIT,     /* "guest.reserved_bit" */
    HVK_FC_GUEST_SPURIOUS,         /* "guest.spurious": the walk now succeeds with the needed rights */
    HVK_FC_STAGE2_MMIO,            /* "stage2.mmio": GPA outside guest RAM */
    HVK_FC_STAGE2_FAULT_IN,        /* "stage2.fault_in": first touch of lazily backed RAM */
    HVK_FC_EXCEPTION,              /* "exception.<name>" by vector: gp, ud, de, df, ... */
    HVK_FC__COUNT
};

#define HVK_FAULT_MAX_LEVELS 5
#define HVK_FAULT_MAX_FRAMES 16    /* the short stack snapshot */

/* One level of the walk of the faulting address (x86/walk.h, condensed). */
struct hvk_fault_level {
    uint64_t entry_gpa;
    uint64_t raw;
    uint8_t kind;                  /* enum x86_level_kind */
    uint8_t read_ok;
    uint8_t pad[6];
};

enum hvk_fault_flags {
    HVK_FF_HAS_ERROR_CODE = 1u << 0,   /* the vector pushes one */
    HVK_FF_WALKED         = 1u << 1,   /* levels[] / walk_* are valid */
    HVK_FF_MAPPED         = 1u << 2,   /* the walk translated addr (gpa valid) */
    HVK_FF_MMIO_WRITE     = 1u << 3,
    HVK_FF_USER           = 1u << 4,   /* the fault came from CPL 3 */
};

/* Payload of RING_REC_FAULT. Size is fixed whatever the guest does. */
struct hvk_fault_rec {
    uint32_t vcpu;
    uint16_t cls;                  /* enum hvk_fault_class */
    uint8_t vector;                /* exception vector; 0xff for stage-2 events */
    uint8_t walk_level;            /* index in levels[] the walk blames, 0xff none */
    uint32_t error_code;           /* as pushed by the CPU (if HAS_ERROR_CODE) */
    uint32_t flags;                /* enum hvk_fault_flags */
    uint64_t addr;                 /* CR2 for #PF; the GPA for stage-2 events; else 0 */
    uint64_t gpa;                  /* the translation when MAPPED; for MMIO the GPA */
    uint64_t rip, rsp, cr3, rflags;
    uint16_t cs, ss;
    uint8_t walk_reason;           /* enum x86_walk_reason */
    uint8_t nlevels;               /* <= HVK_FAULT_MAX_LEVELS */
    uint8_t nframes;               /* <= HVK_FAULT_MAX_FRAMES */
    uint8_t mmio_size;             /* 1..8 */
    uint64_t mmio_value;
    struct hvk_fault_level levels[HVK_FAULT_MAX_LEVELS];
    uint64_t frames[HVK_FAULT_MAX_FRAMES];   /* return addresses, frame 0 = rip */
};
static_assert(sizeof(struct hvk_fault_rec) == 328, "fault record ABI");

static inline const char *hvk_fault_class_name(unsigned cls)
{
    static const char *const names[HVK_FC__COUNT] = {
        [HVK_FC_NONE] = "none",
        [HVK_FC_GUEST_NOT_PRESENT] = "guest.not_present",
        [HVK_FC_GUEST_PROT_WRITE] = "guest.protection.write",
        [HVK_FC_GUEST_PROT_USER] = "guest.protection.user",
        [HVK_FC_GUEST_PROT_NX] = "guest.protection.nx",
        [HVK_FC_GUEST_PROT_SMEP] = "guest.protection.smep",
        [HVK_FC_GUEST_PROT_SMAP] = "guest.protection.smap",
        [HVK_FC_GUEST_PROT_PKEY] = "guest.protection.pkey",
        [HVK_FC_GUEST_RESERVED_BIT] = "guest.reserved_bit",
        [HVK_FC_GUEST_SPURIOUS] = "guest.spurious",
        [HVK_FC_STAGE2_MMIO] = "stage2.mmio",
        [HVK_FC_STAGE2_FAULT_IN] = "stage2.fault_in",
        [HVK_FC_EXCEPTION] = "exception",
    };
    return cls < HVK_FC__COUNT && names[cls] ? names[cls] : "unknown";
}

/* Short names of the exception vectors, as in "exception.gp". */
static inline const char *hvk_vector_name(unsigned vector)
{
    static const char *const names[32] = {
        "de", "db", "nmi", "bp", "of", "br", "ud", "nm", "df", "cso", "ts", "np", "ss", "gp", "pf", "v15",
        "mf", "ac", "mc", "xm", "ve", "cp", "v22", "v23", "v24", "v25", "v26", "v27", "hv", "vc", "sx", "v31",
    };
    return vector < 32 ? names[vector] : "?";
}

/* Vectors that push an error code. */
static inline int hvk_vector_has_error_code(unsigned vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 ||
           vector == 30;
}

#endif
