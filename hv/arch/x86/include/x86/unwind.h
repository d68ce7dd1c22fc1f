/* unwind.h -- x86-64 frame-pointer unwinder and raw stack dump over a guest-virtual reader (pure C, no KVM). */
#ifndef X86_UNWIND_H
#define X86_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>

#define X86_UNWIND_MAX_FRAMES      256u               /* hard cap on frames (frame 0 included) */
#define X86_UNWIND_DEFAULT_FRAMES  64u
#define X86_UNWIND_MAX_RAW         512u               /* hard cap on raw words */
#define X86_UNWIND_DEFAULT_WINDOW  (64u * 1024)       /* stack region: bytes above RSP */
#define X86_UNWIND_MAX_WINDOW      (16u * 1024 * 1024)
#define X86_UNWIND_PAGE            4096u

/* Guest-virtual reader: copy exactly len (1..8) bytes at gva into buf and
 * return 0, or return -1 when any byte does not translate under the vCPU's
 * CR3 or is not RAM. The unwinder's own reads are 8-byte aligned (never
 * across a page); raw mode reads at RSP + 8*i, which may cross a page when
 * RSP is misaligned. The reader must not write guest memory. */
typedef int (*x86_read_gva_fn)(void *ctx, uint64_t gva, void *buf, size_t len);

struct x86_gva_reader {
    x86_read_gva_fn read_gva;
    void *ctx;
};

/* Optional symbol source, shared by the unwinder (text checks), raw mode
 * (text flags) and hvjson (names). Any member may be NULL. hvsym provides
 * hvsym_lookup_cb / hvsym_is_text_cb with these signatures (ctx = table). */
struct x86_symbolizer {
    /* 0 with *name (valid while the source lives) and *offset into the
     * function containing addr; -1 when addr is in no known function. */
    int (*lookup)(void *ctx, uint64_t addr, const char **name, uint64_t *offset);
    /* true when addr lies in known executable text */
    bool (*is_text)(void *ctx, uint64_t addr);
    void *ctx;
};

/* The vCPU state the unwind starts from (a snapshot). long_mode means
 * 64-bit code (EFER.LMA and CS.L); la57 selects 57-bit canonical addresses
 * instead of 48-bit. */
struct x86_unwind_regs {
    uint64_t rip;
    uint64_t rsp;
    uint64_t rbp;
    unsigned cpl;      /* 0..3 */
    bool long_mode;
    bool la57;
};

struct x86_unwind_opts {
    unsigned max_frames;   /* 0 = X86_UNWIND_DEFAULT_FRAMES; 1..X86_UNWIND_MAX_FRAMES */
    uint64_t window;       /* 0 = X86_UNWIND_DEFAULT_WINDOW; at most X86_UNWIND_MAX_WINDOW */
    /* Stop with X86_UNWIND_BAD_RETURN when a return address is not text
     * according to sym->is_text (ignored without one). */
    bool require_text;
    const struct x86_symbolizer *sym;   /* may be NULL */
};

/* Why the walk up the chain ended. END is the only normal ending; every other
 * reason names what was wrong with the next frame pointer or return address. */
enum x86_unwind_stop {
    X86_UNWIND_END = 0,        /* frame pointer 0 or return address 0 */
    X86_UNWIND_UNMAPPED,       /* frame record does not translate / is not RAM */
    X86_UNWIND_CYCLE,          /* frame pointer seen before */
    X86_UNWIND_NOT_GROWING,    /* frame pointer not above the previous one */
    X86_UNWIND_MISALIGNED,     /* frame pointer not 8-byte aligned */
    X86_UNWIND_NONCANONICAL,   /* frame pointer or return address not canonical */
    X86_UNWIND_OUTSIDE_STACK,  /* frame record outside the stack region */
    X86_UNWIND_DEPTH_LIMIT,    /* max_frames reached with the chain still going */
    X86_UNWIND_BAD_RETURN,     /* return address not text (require_text), or kernel half at CPL 3 */
    X86_UNWIND_NOT_64BIT,      /* not 64-bit code: only frame 0 is given */
    X86_UNWIND_NR_STOPS
};

struct x86_unwind_frame {
    uint64_t pc;      /* frame 0: RIP; frame i>0: the return address in frame i-1's record */
    uint64_t frame;   /* RBP while this frame runs: frame 0: RBP; frame i>0: the saved RBP */
};

/* Result. Invariants after x86_unwind() returns 0: 1 <= nframes <= max_frames;
 * frames[1..].frame are the frame pointers that were followed or rejected,
 * those followed strictly increasing inside [stack_lo, stack_hi);
 * stop_desc is one NUL-terminated line. */
struct x86_stack {
    struct x86_unwind_regs regs;
    unsigned nframes;
    struct x86_unwind_frame frames[X86_UNWIND_MAX_FRAMES];
    enum x86_unwind_stop stop;
    uint64_t stop_addr;     /* the offending frame pointer / return address (0 for END, DEPTH_LIMIT) */
    char stop_desc[160];    /* e.g. "frame pointer 0x1003 is not 8-byte aligned" */
    /* The stack region [stack_lo, stack_hi): RSP up to RSP + window, cut at
     * the end of RSP's canonical half (empty if RSP is not canonical), and
     * lowered to the first unmapped page when the unwind found one. */
    uint64_t stack_lo;
    uint64_t stack_hi;
    unsigned reads;         /* reader calls made (bounded: 2 per frame + window/4 KiB probes) */
};

/* Unwind the frame-pointer chain from regs. Reads guest memory only through
 * mem, at most 2 * max_frames + window / 4 KiB + 1 times, and never loops
 * more than max_frames times: it always terminates. A bad chain is a result
 * (out->stop), not an error. Returns 0, or -1 with err for NULL arguments,
 * max_frames or window above the caps, or cpl > 3. */
int x86_unwind(const struct x86_gva_reader *mem, const struct x86_unwind_regs *regs,
               const struct x86_unwind_opts *opts, struct x86_stack *out,
               struct hvk_err *err);

/* Raw mode, like Xen's show_guest_stack: the 8-byte words at RSP, RSP+8, ...
 * up to nwords (<= X86_UNWIND_MAX_RAW). It stops early at the first word
 * that does not read, that would wrap the address space or leave canonical
 * space (why says which). */
struct x86_raw_word {
    uint64_t address;
    uint64_t value;
    bool text;        /* sym->is_text(value) */
};

struct x86_stack_raw {
    unsigned nwords;
    unsigned requested;
    bool truncated;          /* fewer than requested words: why says where it stopped */
    uint64_t stop_addr;
    char why[96];
    struct x86_raw_word words[X86_UNWIND_MAX_RAW];
};

/* Returns 0 (even when truncated), or -1 with err for NULL mem/regs/out or
 * nwords > X86_UNWIND_MAX_RAW. sym may be NULL (no text flags). */
int x86_stack_raw(const struct x86_gva_reader *mem, const struct x86_unwind_regs *regs,
                  unsigned nwords, const struct x86_symbolizer *sym,
                  struct x86_stack_raw *out, struct hvk_err *err);

/* Stable machine token: "end", "unmapped", "cycle", "not_growing",
 * "misaligned", "noncanonical", "outside_stack", "depth_limit",
 * "bad_return", "not_64bit"; "?" for values out of range. */
const char *x86_unwind_stop_name(enum x86_unwind_stop stop);

/* Generic one-line text for a reason ("frame pointer chain ends"). */
const char *x86_unwind_stop_str(enum x86_unwind_stop stop);

/* True when v is canonical for 48-bit (or 57-bit with la57) addressing. */
bool x86_unwind_canonical(uint64_t v, bool la57);

#endif
