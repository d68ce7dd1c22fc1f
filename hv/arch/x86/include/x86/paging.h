/* paging.h -- x86 paging inputs shared by the walker and maps: registers, CPUID facts, access, GPA reader. */
#ifndef X86_PAGING_H
#define X86_PAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>

/* Architectural register bits the walker looks at. */
#define X86_CR0_PE      (1ull << 0)
#define X86_CR0_WP      (1ull << 16)
#define X86_CR0_PG      (1ull << 31)
#define X86_CR4_PSE     (1ull << 4)
#define X86_CR4_PAE     (1ull << 5)
#define X86_CR4_LA57    (1ull << 12)
#define X86_CR4_SMEP    (1ull << 20)
#define X86_CR4_SMAP    (1ull << 21)
#define X86_CR4_PKE     (1ull << 22)
#define X86_EFER_LME    (1ull << 8)
#define X86_EFER_LMA    (1ull << 10)
#define X86_EFER_NXE    (1ull << 11)
#define X86_RFLAGS_AC   (1ull << 18)

/* Paging state of one vCPU, as a snapshot. Values are trusted only as far as
 * the walker re-checks them: an inconsistent combination (EFER.LMA=1 with
 * CR4.PAE=0) is refused, not guessed at. */
struct x86_paging_regs {
    uint64_t cr0;
    uint64_t cr3;
    uint64_t cr4;
    uint64_t efer;
    uint64_t rflags;   /* only AC (bit 18) matters */
    uint32_t pkru;     /* bits 2i = AD of key i, 2i+1 = WD of key i */
};

/* What the vCPU's CPUID says about paging. The walker follows CR0/CR4/EFER
 * for what is enabled (a real CPU refuses to enable what it lacks), and these
 * facts for what the hardware can do: MAXPHYADDR (reserved address bits),
 * 1 GiB pages (PDPTE.PS reserved without), PSE-36 (32-bit 4 MiB address
 * bits). nx/la57/smep/smap/pku/pse are carried for callers and reports. */
struct x86_cpu_facts {
    unsigned maxphyaddr;   /* 32..52 */
    bool nx;
    bool pdpe1gb;
    bool la57;
    bool smep;
    bool smap;
    bool pku;
    bool pse;
    bool pse36;
};

/* One raw CPUID leaf, the same fields as KVM's kvm_cpuid_entry2 (without
 * including KVM headers). */
struct x86_cpuid_leaf {
    uint32_t function;
    uint32_t index;
    uint32_t eax, ebx, ecx, edx;
};

/* Fill *out from raw leaves (0x1, 0x7.0, 0x80000001, 0x80000008). A missing
 * leaf means "feature absent"; MAXPHYADDR defaults to 36 with PAE support,
 * 32 otherwise, as the SDM says. Returns 0, or -1 if n > 0 and leaves is NULL
 * or a leaf reports MAXPHYADDR outside 32..52. */
int x86_cpu_facts_from_cpuid(struct x86_cpu_facts *out,
                             const struct x86_cpuid_leaf *leaves, size_t n,
                             struct hvk_err *err);

/* The kind of access being checked. */
enum x86_access_type {
    X86_ACCESS_READ = 0,
    X86_ACCESS_WRITE,
    X86_ACCESS_FETCH,
};

/* Who makes it. USER = CPL 3 explicit access. SUPERVISOR = CPL < 3 explicit
 * access (SMAP honours RFLAGS.AC). IMPLICIT = supervisor-mode access the CPU
 * makes on its own (GDT/IDT/TSS...), at any CPL: SMAP ignores AC. */
enum x86_access_priv {
    X86_PRIV_USER = 0,
    X86_PRIV_SUPERVISOR,
    X86_PRIV_IMPLICIT,
};

struct x86_access {
    enum x86_access_type type;
    enum x86_access_priv priv;
};

/* Guest-physical reader. Must copy exactly len bytes at gpa into buf and
 * return 0, or return -1 when any byte of [gpa, gpa+len) is not readable RAM.
 * The walker asks for 4 or 8 bytes per level (naturally aligned); maps asks
 * for whole tables (4096 bytes, or 32 for the PAE PDPT), never crossing a
 * 4 KiB boundary. It never writes. */
typedef int (*x86_read_gpa_fn)(void *ctx, uint64_t gpa, void *buf, size_t len);

struct x86_mem {
    x86_read_gpa_fn read_gpa;
    void *ctx;
};

/* Paging mode selected by CR0.PG, CR4.PAE, EFER.LMA, CR4.LA57. */
enum x86_mode {
    X86_MODE_OFF = 0,   /* CR0.PG=0: linear = physical (32-bit) */
    X86_MODE_32,        /* 32-bit paging, optional 4 MiB PSE / PSE-36 */
    X86_MODE_PAE,       /* PAE paging, 4 PDPTE registers */
    X86_MODE_4LEVEL,    /* IA-32e, 48-bit linear */
    X86_MODE_5LEVEL,    /* IA-32e with CR4.LA57, 57-bit linear */
};

/* Returns the mode, or -1 with err for a state no CPU can be in
 * (EFER.LMA=1 with CR0.PG=0 or CR4.PAE=0). */
int x86_paging_mode(const struct x86_paging_regs *regs, enum x86_mode *mode,
                    struct hvk_err *err);

/* "off", "32-bit", "pae", "4-level", "5-level" (stable tokens). */
const char *x86_mode_name(enum x86_mode mode);
const char *x86_access_type_name(enum x86_access_type type); /* read write fetch */
const char *x86_access_priv_name(enum x86_access_priv priv); /* user supervisor implicit */

/* Rights accumulated over every level of a translation (AND of RW and US,
 * OR of XD when EFER.NXE=1). pkey is -1 unless CR4.PKE=1 in an IA-32e mode. */
struct x86_rights {
    bool writable;
    bool user;
    bool executable;
    int pkey;
};

#endif
