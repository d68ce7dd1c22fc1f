/* fault.h -- classify a traced guest exception (a #PF by the walk of CR2) and fill/check the FAULT record. */
#ifndef X86_FAULT_H
#define X86_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>
#include <hvkit/fault.h>
#include <x86/paging.h>
#include <x86/unwind.h>
#include <x86/walk.h>

/* What hv knows at the handler's first instruction (DESIGN.md "Faults"):
 * the vector it trapped, the error code from the exception frame, CR2 and
 * the paging registers (CR3 = the faulting CR3), and the CPL the fault came
 * from (the frame's CS & 3). Everything here came from the guest. */
struct x86_fault_input {
    unsigned vector;                 /* 0..31 */
    uint32_t error_code;             /* read only when the vector pushes one */
    uint64_t cr2;                    /* read only for #PF */
    struct x86_paging_regs regs;
    unsigned cpl;                    /* 0..3 */
};

/* Odd cases, recorded beside the class (x86_fault.notes). The walk is
 * authoritative: a note never changes the class the walk gave. */
enum x86_fault_note {
    X86_FN_EC_MISMATCH   = 1u << 0,  /* P/RSVD/PK of the error code differ from what the walk would push */
    X86_FN_EC_ACCESS     = 1u << 1,  /* the error code's access bits are contradictory (W with I/D, U at CPL<3) */
    X86_FN_NONCANONICAL  = 1u << 2,  /* CR2 is not canonical: no CPU raises #PF for it */
    X86_FN_ADDR_WIDTH    = 1u << 3,  /* CR2 above 4 GiB in a 32-bit paging mode */
    X86_FN_TABLE_NOT_RAM = 1u << 4,  /* a paging-structure entry's GPA is not RAM */
    X86_FN_NO_WALK       = 1u << 5,  /* #PF with paging off, or registers no CPU can hold: not walked */
    X86_FN_PDPTE_GP      = 1u << 6,  /* reserved bit in a PAE PDPTE: the CPU would #GP at CR3 load */
};

/* The classification. Invariants after x86_fault_classify() returns 0:
 * cls is never HVK_FC_NONE; walked only for vector 14; level is -1 or a
 * valid index into walk.levels[0..walk.nlevels); the guest.* classes come
 * only from a walk (cls == HVK_FC_GUEST_SPURIOUS <=> walked && walk.reason
 * == X86_WALK_OK); why is one NUL-terminated line. */
struct x86_fault {
    enum hvk_fault_class cls;
    unsigned vector;
    bool has_error_code;             /* the vector pushes one (hvk_vector_has_error_code) */
    uint32_t error_code;             /* as pushed; 0 when none */
    uint64_t addr;                   /* CR2 for #PF, else 0 */
    uint64_t cr3;
    unsigned cpl;
    struct x86_access access;        /* #PF: derived from the error code and CPL */
    bool walked;
    struct x86_walk walk;            /* valid when walked */
    int level;                       /* the level the walk blames, -1 none */
    unsigned notes;                  /* enum x86_fault_note */
    char why[192];
};

/* Classify one traced exception. For #PF (vector 14) the access comes from
 * the error code (W -> write, I/D -> fetch, U -> user; U=0 at CPL 3 is an
 * implicit supervisor access) and CR2 is walked now, under in->regs, through
 * mem: the class is the walk's outcome (guest.spurious when the tables now
 * allow the access), never the error code's. The CPU pushes I/D only with
 * EFER.NXE or CR4.SMEP: without them a fetch is indistinguishable from a
 * read and is walked as one. The odd cases:
 *   - a table entry whose GPA is not RAM -> stage2.mmio (the walk itself hit
 *     a GPA outside guest RAM), level = that entry, note TABLE_NOT_RAM;
 *   - non-canonical CR2 or CR2 above 4 GiB in 32-bit paging (walked), paging
 *     off or paging registers no CPU can hold (not walked, note NO_WALK) ->
 *     exception.pf with a note: no page table is to blame;
 *   - a reserved bit in a PAE PDPTE -> guest.reserved_bit, note PDPTE_GP;
 *   - an error code that contradicts the walk -> the walk's class, note
 *     EC_MISMATCH; both stay in the record (error_code and the walk).
 * Other vectors -> HVK_FC_EXCEPTION ("exception.<name>"), no walk; a vector
 * without an error code ignores in->error_code.
 * Returns 0, or -1 with err for NULL arguments, vector > 31, cpl > 3 or CPU
 * facts the walker refuses. */
int x86_fault_classify(const struct x86_fault_input *in, const struct x86_cpu_facts *cpu,
                       const struct x86_mem *mem, struct x86_fault *out, struct hvk_err *err);

/* The exception frame values the caller read (or, for stage-2 events, the
 * vCPU's registers at the exit; all zero when unknown). */
struct x86_fault_frame {
    uint64_t rip;
    uint64_t rsp;
    uint64_t rflags;
    uint16_t cs;
    uint16_t ss;
};

/* Fill *r from a classification, the frame and the unwinder's frames
 * (frames[0..nframes), frame 0 = the faulting RIP: unwind from the exception
 * frame, not from the handler). More than HVK_FAULT_MAX_FRAMES frames are
 * cut to the first HVK_FAULT_MAX_FRAMES; frames may be NULL when nframes is
 * 0. The record is zeroed first, so it never carries stale bytes. Returns 0,
 * or -1 with err for NULL arguments, frames[0].pc != frame->rip, or
 * frame->cs & 3 != f->cpl. The result always passes x86_fault_rec_check(). */
int x86_fault_fill_record(struct hvk_fault_rec *r, unsigned vcpu, const struct x86_fault *f,
                          const struct x86_fault_frame *frame,
                          const struct x86_unwind_frame *frames, unsigned nframes,
                          struct hvk_err *err);

/* Stage-2 records, classified by hv directly. MMIO: a KVM_EXIT_MMIO of size
 * 1..8 bytes at gpa (value holds the written or read bytes, little-endian).
 * Fault-in: first touch of lazily backed RAM at gpa. frame may be NULL
 * (registers unknown, e.g. seen by the userfaultfd thread). Returns 0, or -1
 * with err for a NULL record or an MMIO size outside 1..8. */
int x86_fault_rec_mmio(struct hvk_fault_rec *r, unsigned vcpu, uint64_t cr3,
                       const struct x86_fault_frame *frame, uint64_t gpa, unsigned size,
                       bool write, uint64_t value, struct hvk_err *err);
int x86_fault_rec_fault_in(struct hvk_fault_rec *r, unsigned vcpu, uint64_t cr3,
                           const struct x86_fault_frame *frame, uint64_t gpa,
                           struct hvk_err *err);

/* Check a record read from a ring before any field is used: class and vector
 * in range and consistent with each other, flags known and consistent,
 * nlevels / nframes / walk_level / walk_reason / level kinds in range, a
 * guest.* class only with a walk whose reason matches it, mmio_size only for
 * stage2.mmio, flag USER exactly when CS & 3 == 3, frame 0 = rip,
 * HAS_ERROR_CODE only on vectors that push one (and clear there only on an
 * unwalked exception record: hv could not read the exception frame). nvcpus > 0 also bounds vcpu. Returns 0, or -1
 * with one line in err naming the first bad field. Never trusts the record. */
int x86_fault_rec_check(const struct hvk_fault_rec *r, unsigned nvcpus, struct hvk_err *err);

/* "guest.not_present", "exception.gp", ... for a checked record (or a
 * classification): class name, with the vector's name for exceptions.
 * Returns snprintf-style length. */
size_t x86_fault_class_format(unsigned cls, unsigned vector, char *buf, size_t len);

/* One line explaining a checked record's walk ("PDE not present", "write to
 * read-only page at PTE"), rebuilt from walk_reason / walk_level / levels
 * since the record carries no text. "" when the record has no walk.
 * Returns snprintf-style length. */
size_t x86_fault_rec_why(const struct hvk_fault_rec *r, char *buf, size_t len);

/* The notes of a checked record, rebuilt from its fields (the record has no
 * notes field): equal to the classification's notes for a record filled by
 * x86_fault_fill_record(). */
unsigned x86_fault_rec_notes(const struct hvk_fault_rec *r);

/* Stable token of one note bit ("ec_mismatch", "ec_access", "noncanonical",
 * "addr_width", "table_not_ram", "no_walk", "pdpte_gp"), NULL for others. */
const char *x86_fault_note_name(unsigned bit);

/* The notes as space-separated tokens; "-" when none. Returns
 * snprintf-style length. */
size_t x86_fault_notes_format(unsigned notes, char *buf, size_t len);

#endif
