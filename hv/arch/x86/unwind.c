/* unwind.c -- x86-64 frame-pointer unwinder and raw stack words over an untrusted guest stack. */
#include <x86/unwind.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const unwind_stop_names[X86_UNWIND_NR_STOPS] = {
    [X86_UNWIND_END] = "end",
    [X86_UNWIND_UNMAPPED] = "unmapped",
    [X86_UNWIND_CYCLE] = "cycle",
    [X86_UNWIND_NOT_GROWING] = "not_growing",
    [X86_UNWIND_MISALIGNED] = "misaligned",
    [X86_UNWIND_NONCANONICAL] = "noncanonical",
    [X86_UNWIND_OUTSIDE_STACK] = "outside_stack",
    [X86_UNWIND_DEPTH_LIMIT] = "depth_limit",
    [X86_UNWIND_BAD_RETURN] = "bad_return",
    [X86_UNWIND_NOT_64BIT] = "not_64bit",
};

static const char *const unwind_stop_strs[X86_UNWIND_NR_STOPS] = {
    [X86_UNWIND_END] = "frame pointer chain ends",
    [X86_UNWIND_UNMAPPED] = "frame record is not mapped RAM",
    [X86_UNWIND_CYCLE] = "frame pointer chain loops",
    [X86_UNWIND_NOT_GROWING] = "frame pointer does not grow",
    [X86_UNWIND_MISALIGNED] = "frame pointer is not 8-byte aligned",
    [X86_UNWIND_NONCANONICAL] = "non-canonical frame pointer or return address",
    [X86_UNWIND_OUTSIDE_STACK] = "frame record outside the stack region",
    [X86_UNWIND_DEPTH_LIMIT] = "frame limit reached",
    [X86_UNWIND_BAD_RETURN] = "return address is not code",
    [X86_UNWIND_NOT_64BIT] = "not 64-bit code: no frame-pointer unwinding",
};

const char *x86_unwind_stop_name(enum x86_unwind_stop stop)
{
    return (unsigned)stop < X86_UNWIND_NR_STOPS ? unwind_stop_names[stop] : "?";
}

const char *x86_unwind_stop_str(enum x86_unwind_stop stop)
{
    return (unsigned)stop < X86_UNWIND_NR_STOPS ? unwind_stop_strs[stop] : "?";
}

bool x86_unwind_canonical(uint64_t v, bool la57)
{
    unsigned bits = la57 ? 57 : 48;
    int64_t s = (int64_t)(v << (64 - bits)) >> (64 - bits);
    return (uint64_t)s == v;
}

__attribute__((format(printf, 4, 5)))
static void unwind_stop(struct x86_stack *st, enum x86_unwind_stop why, uint64_t addr,
                        const char *fmt, ...)
{
    va_list ap;
    st->stop = why;
    st->stop_addr = addr;
    va_start(ap, fmt);
    vsnprintf(st->stop_desc, sizeof st->stop_desc, fmt, ap);
    va_end(ap);
}

static int unwind_read(const struct x86_gva_reader *mem, struct x86_stack *st, uint64_t gva,
                       uint64_t *v)
{
    st->reads++;
    return mem->read_gva(mem->ctx, gva, v, sizeof *v) == 0 ? 0 : -1;
}

/* The stack region is [lo, limit) cut at the first unmapped page. Pages are
 * probed lazily and only upwards: *probe_next is the first page not yet
 * known mapped, so each page is probed at most once per unwind. Returns 0
 * when [.., last] is all mapped, else -1 with *hole = the unmapped page. */
static int unwind_probe_upto(const struct x86_gva_reader *mem, struct x86_stack *st,
                             uint64_t *probe_next, uint64_t last, uint64_t *hole)
{
    uint64_t page_last = last & ~(uint64_t)(X86_UNWIND_PAGE - 1);
    /* bounded: probe_next only grows, from page(rsp) to at most page(limit - 1),
     * so at most window / 4 KiB + 1 probes in one unwind */
    while (*probe_next <= page_last) {
        uint64_t v;
        if (unwind_read(mem, st, *probe_next, &v) < 0) {
            *hole = *probe_next;
            return -1;
        }
        if (*probe_next > UINT64_MAX - X86_UNWIND_PAGE) {
            *probe_next = UINT64_MAX;   /* top page verified: nothing above */
            break;
        }
        *probe_next += X86_UNWIND_PAGE;
    }
    return 0;
}

int x86_unwind(const struct x86_gva_reader *mem, const struct x86_unwind_regs *regs,
               const struct x86_unwind_opts *opts, struct x86_stack *out,
               struct hvk_err *err)
{
    static const struct x86_unwind_opts defaults;
    if (!mem || !mem->read_gva || !regs || !out)
        return hvk_err_set(err, "x86_unwind: NULL argument");
    if (!opts)
        opts = &defaults;
    unsigned max = opts->max_frames ? opts->max_frames : X86_UNWIND_DEFAULT_FRAMES;
    uint64_t window = opts->window ? opts->window : X86_UNWIND_DEFAULT_WINDOW;
    if (max > X86_UNWIND_MAX_FRAMES)
        return hvk_err_set(err, "max_frames %u is above the limit %u", max, X86_UNWIND_MAX_FRAMES);
    if (window > X86_UNWIND_MAX_WINDOW)
        return hvk_err_set(err, "stack window %" PRIu64 " bytes is above the limit %u", window,
                           X86_UNWIND_MAX_WINDOW);
    if (regs->cpl > 3)
        return hvk_err_set(err, "cpl %u is not 0..3", regs->cpl);

    memset(out, 0, sizeof *out);
    out->regs = *regs;
    out->frames[0].pc = regs->rip;
    out->frames[0].frame = regs->rbp;
    out->nframes = 1;

    const bool la57 = regs->la57;
    const uint64_t lo = regs->rsp;
    uint64_t limit = lo;   /* empty region unless RSP is canonical */
    if (x86_unwind_canonical(lo, la57)) {
        /* bytes from RSP to the end of its canonical half (2^64 - lo for the
         * upper half, never 0 there since lo >= 2^63) */
        uint64_t room = (lo >> 63) ? 0 - lo : (1ull << (la57 ? 56 : 47)) - lo;
        if ((lo >> 63) && window >= room)
            limit = UINT64_MAX;   /* the top byte is lost to keep limit in range */
        else
            limit = lo + (window < room ? window : room);
    }
    out->stack_lo = lo;
    out->stack_hi = limit;

    if (!regs->long_mode) {
        unwind_stop(out, X86_UNWIND_NOT_64BIT, regs->rip,
                    "not in 64-bit mode: frame-pointer unwinding needs 64-bit code");
        return 0;
    }

    uint64_t seen[X86_UNWIND_MAX_FRAMES];
    unsigned nseen = 0;
    uint64_t fp = regs->rbp, prev = 0;
    uint64_t probe_next = lo & ~(uint64_t)(X86_UNWIND_PAGE - 1);

    /* Each pass either appends one frame or stops, and nframes <= max:
     * at most max passes. seen[] holds every followed frame pointer
     * (nseen <= nframes <= max), so a loop is caught as CYCLE before the
     * growth rule would call it NOT_GROWING. */
    for (;;) {
        unsigned idx = out->nframes - 1;   /* the frame whose record fp points at */
        uint64_t saved, ret, hole;

        if (fp == 0) {
            unwind_stop(out, X86_UNWIND_END, 0, "frame %u: frame pointer is 0 (end of chain)", idx);
            break;
        }
        if (!x86_unwind_canonical(fp, la57)) {
            unwind_stop(out, X86_UNWIND_NONCANONICAL, fp,
                        "frame %u: frame pointer 0x%" PRIx64 " is not canonical", idx, fp);
            break;
        }
        if (fp & 7) {
            unwind_stop(out, X86_UNWIND_MISALIGNED, fp,
                        "frame %u: frame pointer 0x%" PRIx64 " is not 8-byte aligned", idx, fp);
            break;
        }
        bool looped = false;
        for (unsigned i = 0; i < nseen && !looped; i++)
            looped = seen[i] == fp;
        if (looped) {
            unwind_stop(out, X86_UNWIND_CYCLE, fp,
                        "frame %u: frame pointer 0x%" PRIx64 " was already visited (cycle)", idx, fp);
            break;
        }
        if (nseen > 0 && fp <= prev) {
            unwind_stop(out, X86_UNWIND_NOT_GROWING, fp,
                        "frame %u: frame pointer 0x%" PRIx64 " is not above the previous 0x%" PRIx64,
                        idx, fp, prev);
            break;
        }
        /* the 16-byte record [fp, fp+16) must lie in [lo, limit) */
        if (fp < lo || limit - lo < 16 || fp - lo > limit - lo - 16) {
            unwind_stop(out, X86_UNWIND_OUTSIDE_STACK, fp,
                        "frame %u: frame pointer 0x%" PRIx64 " is outside the stack [0x%" PRIx64
                        ", 0x%" PRIx64 ")", idx, fp, lo, limit);
            break;
        }
        if (unwind_probe_upto(mem, out, &probe_next, fp + 15, &hole) < 0) {
            if (hole < (fp & ~(uint64_t)(X86_UNWIND_PAGE - 1))) {
                out->stack_hi = hole;
                unwind_stop(out, X86_UNWIND_OUTSIDE_STACK, fp,
                            "frame %u: frame pointer 0x%" PRIx64 " lies beyond unmapped stack page 0x%" PRIx64,
                            idx, fp, hole);
            } else {
                out->stack_hi = hole > lo ? hole : lo;
                unwind_stop(out, X86_UNWIND_UNMAPPED, fp,
                            "frame %u: frame record at 0x%" PRIx64 " is not mapped (page 0x%" PRIx64 ")",
                            idx, fp, hole);
            }
            break;
        }
        if (unwind_read(mem, out, fp, &saved) < 0 || unwind_read(mem, out, fp + 8, &ret) < 0) {
            unwind_stop(out, X86_UNWIND_UNMAPPED, fp,
                        "frame %u: frame record at 0x%" PRIx64 " does not read", idx, fp);
            break;
        }
        seen[nseen++] = fp;
        prev = fp;

        if (ret == 0) {
            unwind_stop(out, X86_UNWIND_END, 0,
                        "frame %u: return address is 0 (end of chain)", idx);
            break;
        }
        if (!x86_unwind_canonical(ret, la57)) {
            unwind_stop(out, X86_UNWIND_NONCANONICAL, ret,
                        "frame %u: return address 0x%" PRIx64 " at 0x%" PRIx64 " is not canonical",
                        idx, ret, fp + 8);
            break;
        }
        if (regs->cpl == 3 && (ret >> 63)) {
            unwind_stop(out, X86_UNWIND_BAD_RETURN, ret,
                        "frame %u: return address 0x%" PRIx64 " is in the kernel half at CPL 3",
                        idx, ret);
            break;
        }
        if (opts->require_text && opts->sym && opts->sym->is_text &&
            !opts->sym->is_text(opts->sym->ctx, ret)) {
            unwind_stop(out, X86_UNWIND_BAD_RETURN, ret,
                        "frame %u: return address 0x%" PRIx64 " is not in known text", idx, ret);
            break;
        }
        if (out->nframes >= max) {
            unwind_stop(out, X86_UNWIND_DEPTH_LIMIT, 0,
                        "stopped after %u frames (max_frames); the chain goes on", max);
            break;
        }
        out->frames[out->nframes].pc = ret;
        out->frames[out->nframes].frame = saved;
        out->nframes++;
        fp = saved;
    }
    return 0;
}

int x86_stack_raw(const struct x86_gva_reader *mem, const struct x86_unwind_regs *regs,
                  unsigned nwords, const struct x86_symbolizer *sym,
                  struct x86_stack_raw *out, struct hvk_err *err)
{
    if (!mem || !mem->read_gva || !regs || !out)
        return hvk_err_set(err, "x86_stack_raw: NULL argument");
    if (nwords > X86_UNWIND_MAX_RAW)
        return hvk_err_set(err, "raw words %u is above the limit %u", nwords, X86_UNWIND_MAX_RAW);

    memset(out, 0, sizeof *out);
    out->requested = nwords;
    const uint64_t rsp = regs->rsp;
    for (unsigned i = 0; i < nwords; i++) {
        uint64_t a = rsp + 8ull * i, v;
        if (a < rsp || a + 7 < a) {
            out->truncated = true;
            out->stop_addr = a;
            snprintf(out->why, sizeof out->why, "word %u would wrap the address space", i);
            break;
        }
        if (!x86_unwind_canonical(a, regs->la57) || !x86_unwind_canonical(a + 7, regs->la57)) {
            out->truncated = true;
            out->stop_addr = a;
            snprintf(out->why, sizeof out->why, "word at 0x%" PRIx64 " is not canonical", a);
            break;
        }
        if (mem->read_gva(mem->ctx, a, &v, sizeof v) != 0) {
            out->truncated = true;
            out->stop_addr = a;
            snprintf(out->why, sizeof out->why, "word at 0x%" PRIx64 " does not read", a);
            break;
        }
        out->words[i].address = a;
        out->words[i].value = v;
        out->words[i].text = sym && sym->is_text && sym->is_text(sym->ctx, v);
        out->nwords = i + 1;
    }
    return 0;
}
