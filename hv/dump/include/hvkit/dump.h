/* dump.h -- read guest RAM and per-vCPU state from an ELF core dump made by
 * QEMU's dump-guest-memory (ELF format) or `virsh dump --memory-only`.
 *
 * Everything in the file is untrusted: dump_open() checks every header,
 * offset, size, count and note before anything is exposed, and a corrupt
 * file is an error with a one-line reason (struct hvk_err), never a crash.
 * A struct dump_core is read-only after dump_open(); it may be shared by
 * threads that only read.
 */
#ifndef HVKIT_DUMP_H
#define HVKIT_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>

/* Hard limits on what a dump may declare (anything above is refused). */
#define DUMP_MAX_SEGMENTS 65536u /* PT_LOAD segments */
#define DUMP_MAX_VCPUS    4096u  /* CPU notes of one kind */
#define DUMP_MAX_NOTES    65536u /* notes of any kind, all PT_NOTEs together */

/* One guest-RAM range: [gpa, gpa + size) lives in the file at file_off.
 * Bytes past filesz (when memsz > filesz) read as zero. Ranges never
 * overlap and are sorted by gpa. */
struct dump_ram {
    uint64_t gpa;
    uint64_t size;     /* p_memsz */
    uint64_t file_off; /* p_offset */
    uint64_t filesz;   /* p_filesz, <= size, inside the file */
};

/* A segment register or descriptor-table register as QEMU saves it:
 * flags is QEMU's SegmentCache.flags, i.e. the descriptor's second dword
 * (bit 21 = L, bit 22 = D/B, bit 15 = P, bits 13-14 = DPL, bits 8-11 = type). */
struct dump_seg {
    uint32_t selector;
    uint32_t limit;
    uint32_t flags;
    uint64_t base;
};

#define DUMP_SEG_L (1u << 21)

/* Where a vCPU's EFER came from. QEMUCPUState (version 1, QEMU <= 7.2 and
 * later) carries no EFER, so it is usually derived: see dump_derive_efer(). */
enum dump_efer_source {
    DUMP_EFER_NONE = 0,   /* no control registers at all (PRSTATUS only) */
    DUMP_EFER_DERIVED,    /* reconstructed from CR0/CR4/CS.L/e_machine */
};

/* General registers, indexed like the x86 encoding. */
enum dump_gpr {
    DUMP_RAX, DUMP_RCX, DUMP_RDX, DUMP_RBX, DUMP_RSP, DUMP_RBP, DUMP_RSI, DUMP_RDI,
    DUMP_R8, DUMP_R9, DUMP_R10, DUMP_R11, DUMP_R12, DUMP_R13, DUMP_R14, DUMP_R15,
    DUMP_NGPR
};

enum dump_sreg { DUMP_ES, DUMP_CS, DUMP_SS, DUMP_DS, DUMP_FS, DUMP_GS, DUMP_NSREG };

struct dump_vcpu {
    unsigned index;        /* 0-based, in note order */
    bool have_prstatus;    /* an NT_PRSTATUS note was found for this vCPU */
    bool have_qemu;        /* a "QEMU" QEMUCPUState note was found */
    uint32_t pid;          /* PRSTATUS pr_pid: QEMU writes cpu_index + 1 */
    uint32_t qemu_version; /* QEMUCPUState.version */
    uint64_t gpr[DUMP_NGPR];
    uint64_t rip, rflags;
    struct dump_seg sreg[DUMP_NSREG];
    struct dump_seg ldt, tr, gdt, idt; /* only with have_qemu */
    uint64_t cr0, cr2, cr3, cr4;       /* only with have_qemu */
    uint64_t kernel_gs_base;           /* only with have_qemu */
    uint64_t efer;
    enum dump_efer_source efer_source;
};

struct dump_core;

/* Open and validate a dump. On success *out owns the mapping; free it with
 * dump_close(). */
int dump_open(const char *path, struct dump_core **out, struct hvk_err *err);

/* Same on bytes already in memory (tests, fuzzers). The buffer must stay
 * valid and unchanged until dump_close(); it is not copied or freed. */
int dump_open_mem(const void *buf, size_t len, struct dump_core **out,
                  struct hvk_err *err);

void dump_close(struct dump_core *core);

/* ELF e_machine (EM_X86_64 or EM_386) and class (64 or 32). */
unsigned dump_machine(const struct dump_core *core);
unsigned dump_elf_class(const struct dump_core *core);

size_t dump_ram_count(const struct dump_core *core);
const struct dump_ram *dump_ram_at(const struct dump_core *core, size_t i);

size_t dump_vcpu_count(const struct dump_core *core);
/* NULL when i is out of range. */
const struct dump_vcpu *dump_vcpu_at(const struct dump_core *core, size_t i);

/* Copy len bytes of guest-physical memory starting at gpa. Fails (nothing
 * partially reported as success) when any byte is outside the dumped RAM;
 * a read may span adjacent segments. */
int dump_read_gpa(const struct dump_core *core, uint64_t gpa, void *buf,
                  size_t len, struct hvk_err *err);

/* Reader callback shape for page-table walkers: opaque is the
 * struct dump_core *. Returns 0, or -1 when [gpa, gpa+len) is not RAM. */
int dump_gpa_reader(void *opaque, uint64_t gpa, void *buf, size_t len);

/* The EFER rule for dumps without EFER (documented in docs/post-mortem.md):
 *   LMA = LME = CR0.PG && CR4.PAE && (CS.L || machine == EM_X86_64)
 *   NXE = CR0.PG && CR4.PAE  (assumed: every PAE/long-mode OS that uses XD
 *         enables it, and assuming NXE=0 would turn every XD bit into a
 *         reserved-bit fault)
 * machine is the dump's e_machine: QEMU writes EM_X86_64 exactly when the
 * first vCPU had EFER.LMA set at dump time. */
uint64_t dump_derive_efer(uint64_t cr0, uint64_t cr4, uint32_t cs_flags,
                          unsigned machine);

#endif
