/* walk.h -- x86 guest page-table walk: one GVA, level by level, with the exact reason it stops. */
#ifndef X86_WALK_H
#define X86_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>
#include <x86/paging.h>

/* Which table an entry belongs to. The PAE PDPTE is the register form
 * (loaded from the 32-byte PDPT at CR3); the walker reads it from memory at
 * walk time, which is what the CPU cached unless the guest changed the PDPT
 * without reloading CR3. */
enum x86_level_kind {
    X86_LEVEL_PML5E = 0,
    X86_LEVEL_PML4E,
    X86_LEVEL_PDPTE,
    X86_LEVEL_PDE,
    X86_LEVEL_PTE,
    X86_LEVEL_PDPTE_PAE,
    X86_LEVEL_PDE32,
    X86_LEVEL_PTE32,
};

#define X86_WALK_MAX_LEVELS 5

/* Decoded entry bits (x86_walk_level.bits). A bit is set only when the
 * entry has it at the position that level defines: PS only where the level
 * can map a page, PAT at bit 7 of a PTE or bit 12 of a large page, XD only in
 * 64-bit entries (PAE and IA-32e), nothing but P/PWT/PCD in a PAE PDPTE. */
enum x86_entry_bit {
    X86_E_P   = 1u << 0,
    X86_E_RW  = 1u << 1,
    X86_E_US  = 1u << 2,
    X86_E_PWT = 1u << 3,
    X86_E_PCD = 1u << 4,
    X86_E_A   = 1u << 5,
    X86_E_D   = 1u << 6,
    X86_E_PS  = 1u << 7,
    X86_E_G   = 1u << 8,
    X86_E_PAT = 1u << 9,
    X86_E_XD  = 1u << 10,
};

struct x86_walk_level {
    enum x86_level_kind kind;
    unsigned index;        /* index of the entry in its table */
    uint64_t entry_gpa;    /* where the entry is */
    bool read_ok;          /* false: entry_gpa was not readable RAM; raw invalid */
    uint64_t raw;          /* the entry (32-bit entries zero-extended) */
    unsigned bits;         /* enum x86_entry_bit */
    int pkey;              /* bits 62:59 of a 64-bit leaf when CR4.PKE=1, else -1 */
    uint64_t addr;         /* physical address field: next table or page frame */
    bool leaf;             /* this entry maps the page */
};

/* Why a walk ended. X86_WALK_OK: translated and the access is allowed. */
enum x86_walk_reason {
    X86_WALK_OK = 0,
    X86_WALK_NONCANONICAL,     /* #GP: bits above 47 (56) not a sign extension */
    X86_WALK_ADDR_WIDTH,       /* GVA >= 4 GiB with paging off / 32-bit / PAE */
    X86_WALK_READ_FAILED,      /* an entry's GPA is not readable RAM */
    X86_WALK_NOT_PRESENT,      /* #PF, P=0 at fault_level */
    X86_WALK_RESERVED,         /* #PF RSVD (or #GP for a PAE PDPTE) */
    X86_WALK_USER_SUPERVISOR,  /* user access, US=0 at fault_level */
    X86_WALK_WRITE_RO,         /* write, RW=0 at fault_level (user, or CR0.WP=1) */
    X86_WALK_NX,               /* fetch, XD=1 at fault_level with EFER.NXE=1 */
    X86_WALK_SMEP,             /* supervisor fetch from a user page, CR4.SMEP=1 */
    X86_WALK_SMAP,             /* supervisor data access to a user page, CR4.SMAP=1 */
    X86_WALK_PKEY_AD,          /* data access, PKRU.AD[key]=1 */
    X86_WALK_PKEY_WD,          /* write, PKRU.WD[key]=1 (supervisor: with CR0.WP=1) */
    X86_WALK_REASON_COUNT
};

/* Page-fault error code bits (SDM Vol 3A 4.7). */
#define X86_PFEC_P    (1u << 0)
#define X86_PFEC_W    (1u << 1)
#define X86_PFEC_U    (1u << 2)
#define X86_PFEC_RSVD (1u << 3)
#define X86_PFEC_ID   (1u << 4)
#define X86_PFEC_PK   (1u << 5)

#define X86_VECTOR_GP 13
#define X86_VECTOR_PF 14

struct x86_walk {
    /* what was asked */
    enum x86_mode mode;
    uint64_t gva;
    struct x86_access access;

    /* levels[0..nlevels) in walk order; the failing level is included;
     * levels[nlevels..] are unspecified */
    unsigned nlevels;
    struct x86_walk_level levels[X86_WALK_MAX_LEVELS];

    /* translation: valid when mapped (all levels present, no reserved bit),
     * even if the access itself is refused by a permission rule */
    bool mapped;
    uint64_t gpa;
    uint64_t page_size;        /* 4K, 2M, 4M, 1G; 4K with paging off */
    struct x86_rights rights;

    /* outcome */
    enum x86_walk_reason reason;
    int fault_level;           /* index into levels[], -1 when no level is to blame */
    int reserved_bit;          /* X86_WALK_RESERVED: lowest reserved bit set, else -1 */
    unsigned vector;           /* 14 (#PF), 13 (#GP) or 0 (no CPU fault / not a CPU event) */
    uint32_t error_code;       /* X86_PFEC_* the CPU would push with #PF, else 0 */
    char why[128];             /* one line: "PDE not present", "write to read-only page: PDE.RW=0" */
};

/* Walk gva for access acc. Reads at most one entry per level through mem
 * (2 reads in 32-bit paging, 3 in PAE counting the PDPTE, 4, or 5 with
 * LA57; none with paging off or for a refused address), never writes,
 * and always terminates whatever the tables hold.
 * Returns 0 when the walk was carried out: out->reason says whether the
 * access is allowed (X86_WALK_OK) or why not. Returns -1 with err only for
 * bad arguments (NULL pointer, MAXPHYADDR outside 32..52, inconsistent
 * registers); out then has reason X86_WALK_OK, nlevels 0, mapped false. */
int x86_walk(const struct x86_paging_regs *regs, const struct x86_cpu_facts *cpu,
             const struct x86_mem *mem, uint64_t gva, struct x86_access acc,
             struct x86_walk *out, struct hvk_err *err);

/* Stable machine token for a reason: "ok", "noncanonical", "addr_width",
 * "read_failed", "not_present", "reserved", "user_supervisor", "write_ro",
 * "nx", "smep", "smap", "pkey_ad", "pkey_wd". "?" if out of range. */
const char *x86_walk_reason_name(enum x86_walk_reason reason);

/* Short human description of a reason ("page not present"...). The per-walk
 * line with the level and bit is x86_walk.why. */
const char *x86_walk_reason_str(enum x86_walk_reason reason);

/* "PML5E" "PML4E" "PDPTE" "PDE" "PTE" (the PAE/32-bit forms print the same
 * as their 64-bit namesakes) and x86_level_id: unique tokens "pml5e",
 * "pml4e", "pdpte", "pde", "pte", "pdpte_pae", "pde32", "pte32". */
const char *x86_level_name(enum x86_level_kind kind);
const char *x86_level_id(enum x86_level_kind kind);

/* Decoded bits as space-separated names, e.g. "P RW US A D PS"; XD appears
 * as "XD", PKEY as "PKEY=5" when pkey >= 0. Returns snprintf-style length. */
size_t x86_walk_bits_format(const struct x86_walk_level *lvl, char *buf, size_t len);

/* The per-level table hvctl prints (crash `vtop` style), ending with the
 * translation or the fault; the failing level is marked with "<== ". Output
 * is deterministic (goldens depend on it). Returns snprintf-style length:
 * the full text needs the return value + 1 bytes. */
size_t x86_walk_format(const struct x86_walk *w, char *buf, size_t len);

#endif
