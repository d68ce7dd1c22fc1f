/* fuzz_unwind.c -- libFuzzer harness: x86_unwind and x86_stack_raw over random stack pages and registers must terminate within their bounds. */
#include <stdlib.h>
#include <string.h>

#include <x86/unwind.h>

/* Input: 32 bytes of header, then the bytes of up to FUZZ_UW_PAGES pages
 * starting one page below RSP's page (so records below RSP exist too). */
#define FUZZ_UW_HDR   32
#define FUZZ_UW_PAGES 8
#define FUZZ_UW_PAGE  4096u

struct fuzz_uw {
    const uint8_t *mem;
    size_t len;
    uint64_t base;       /* GVA of mem[0], page aligned */
    uint8_t mapped;      /* bit i: page i is mapped */
    unsigned reads;
    bool raw;            /* raw mode may read unaligned words */
};

static int fuzz_uw_read(void *ctx, uint64_t gva, void *buf, size_t len)
{
    struct fuzz_uw *u = ctx;
    u->reads++;
    if (len != 8 || (!u->raw && (gva & 7)))
        abort();   /* the unwinder reads aligned 8-byte words only */
    for (size_t i = 0; i < len; i++) {
        uint64_t a = gva + i, off = a - u->base;
        if (a < gva || a < u->base || off >= u->len || off / FUZZ_UW_PAGE >= FUZZ_UW_PAGES ||
            !(u->mapped >> (off / FUZZ_UW_PAGE) & 1))
            return -1;
        ((uint8_t *)buf)[i] = u->mem[off];
    }
    return 0;
}

static bool fuzz_uw_text(void *ctx, uint64_t addr)
{
    (void)ctx;
    return (addr >> 40) == 0xffffff;   /* a fixed "kernel text" region */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_UW_HDR)
        return 0;
    uint64_t h[4];
    memcpy(h, data, sizeof h);
    uint8_t ctl = (uint8_t)h[3], ctl2 = (uint8_t)(h[3] >> 8);
    struct x86_unwind_regs regs = {
        .rip = h[0], .rsp = h[1], .rbp = h[2],
        .cpl = ctl & 3, .la57 = ctl & 4, .long_mode = !(ctl & 8),
    };
    if (ctl & 16)   /* steer rbp near rsp so chains get followed */
        regs.rbp = regs.rsp + (h[2] & 0x3ff8);
    struct fuzz_uw u = {
        .mem = data + FUZZ_UW_HDR, .len = size - FUZZ_UW_HDR,
        .base = (regs.rsp & ~(uint64_t)(FUZZ_UW_PAGE - 1)) - FUZZ_UW_PAGE,
        .mapped = (uint8_t)(h[3] >> 16) | 2,   /* RSP's page always mapped */
    };
    struct x86_symbolizer sym = { NULL, fuzz_uw_text, NULL };
    struct x86_unwind_opts opts = {
        .max_frames = 1 + ctl2 % X86_UNWIND_MAX_FRAMES,
        .window = (ctl & 32) ? 0 : ((h[3] >> 24) & 0xffff) * 8,
        .require_text = ctl & 64,
        .sym = (ctl & 128) ? &sym : NULL,
    };
    static struct x86_stack st;
    struct hvk_err err;
    if (x86_unwind(&(struct x86_gva_reader){ fuzz_uw_read, &u }, &regs, &opts, &st, &err) != 0)
        abort();   /* every input here is a valid request */
    uint64_t window = opts.window ? opts.window : X86_UNWIND_DEFAULT_WINDOW;
    if (st.nframes < 1 || st.nframes > opts.max_frames || st.stop >= X86_UNWIND_NR_STOPS)
        abort();
    if (u.reads != st.reads || st.reads > 2 * opts.max_frames + window / FUZZ_UW_PAGE + 1)
        abort();
    if (memchr(st.stop_desc, '\0', sizeof st.stop_desc) == NULL || st.stop_desc[0] == '\0')
        abort();
    if (st.frames[0].pc != regs.rip || st.frames[0].frame != regs.rbp)
        abort();
    for (unsigned i = 0; i + 1 < st.nframes; i++) {
        uint64_t fp = st.frames[i].frame;
        if (fp % 8 || fp < st.stack_lo || fp - st.stack_lo > window - 16 || fp + 16 > st.stack_hi)
            abort();
        if (i > 0 && fp <= st.frames[i - 1].frame)
            abort();
        if (opts.require_text && opts.sym && !fuzz_uw_text(NULL, st.frames[i + 1].pc))
            abort();
    }

    static struct x86_stack_raw raw;
    unsigned n = (unsigned)(h[0] >> 48) % (X86_UNWIND_MAX_RAW + 1);
    u.raw = true;
    if (x86_stack_raw(&(struct x86_gva_reader){ fuzz_uw_read, &u }, &regs, n, &sym, &raw, &err) != 0)
        abort();
    if (raw.nwords > n || raw.truncated != (raw.nwords < n))
        abort();
    for (unsigned i = 0; i < raw.nwords; i++)
        if (raw.words[i].address != regs.rsp + 8ull * i || raw.words[i].text != fuzz_uw_text(NULL, raw.words[i].value))
            abort();
    return 0;
}
