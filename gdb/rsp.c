/* rsp.c -- GDB RSP framing state machine: idle -> data -> checksum 1/2, acks, escapes, run-length input. */
#include "gdbstub/rsp.h"

#include <stdlib.h>
#include <string.h>

#include "hex.h"

enum rsp_state {
    RSP_IDLE,   /* between packets: '$' starts one, 0x03 interrupts, '+'/'-' are acks, anything else is dropped */
    RSP_DATA,   /* inside "$...": until '#' */
    RSP_CSUM1,  /* first checksum digit */
    RSP_CSUM2,  /* second checksum digit */
};

struct gdb_rsp {
    const struct gdb_rsp_ops *ops;
    void *ctx;
    enum rsp_state state;
    int noack;
    int broken;
    /* Packet being received. Invariant: len <= GDB_RSP_PACKET_SIZE, so the
     * NUL written at buf[len] is in bounds; raw counts every data character
     * seen, even those not stored after an overflow. */
    uint8_t buf[GDB_RSP_PACKET_SIZE + 1];
    size_t len;
    size_t raw;
    uint8_t sum;       /* running checksum over the raw data characters */
    uint8_t csum_hi;   /* first checksum digit's value */
    int csum_bad;      /* a checksum digit was not hex */
    int escape;        /* the previous character was '}' */
    int repeat;        /* the previous character was '*' */
    enum gdb_rsp_status status;
    /* Last framed packet sent (for '-' retransmit). */
    uint8_t *out;
    size_t out_len;
};

struct gdb_rsp *gdb_rsp_new(const struct gdb_rsp_ops *ops, void *ctx)
{
    struct gdb_rsp *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    /* Worst case: every byte escaped, plus "$", "#cs". */
    r->out = malloc(2 * (size_t)GDB_RSP_REPLY_MAX + 4);
    if (!r->out) {
        free(r);
        return NULL;
    }
    r->ops = ops;
    r->ctx = ctx;
    r->state = RSP_IDLE;
    return r;
}

void gdb_rsp_free(struct gdb_rsp *r)
{
    if (!r)
        return;
    free(r->out);
    free(r);
}

static int rsp_write(struct gdb_rsp *r, const void *buf, size_t len)
{
    if (r->broken)
        return -1;
    if (r->ops->write(r->ctx, buf, len) < 0) {
        r->broken = 1;
        return -1;
    }
    return 0;
}

static void rsp_start(struct gdb_rsp *r)
{
    r->state = RSP_DATA;
    r->len = 0;
    r->raw = 0;
    r->sum = 0;
    r->escape = 0;
    r->repeat = 0;
    r->csum_bad = 0;
    r->status = GDB_RSP_OK;
}

static void rsp_store(struct gdb_rsp *r, uint8_t c)
{
    if (r->status != GDB_RSP_OK)
        return;
    if (r->len >= GDB_RSP_PACKET_SIZE) {
        r->status = GDB_RSP_TOO_LONG;
        return;
    }
    r->buf[r->len++] = c;
}

/* One data character of a packet (not '$' or '#'). */
static void rsp_data(struct gdb_rsp *r, uint8_t c)
{
    r->sum += c;
    if (++r->raw > GDB_RSP_PACKET_SIZE && r->status == GDB_RSP_OK)
        r->status = GDB_RSP_TOO_LONG;
    if (r->escape) {
        r->escape = 0;
        rsp_store(r, c ^ 0x20);
        return;
    }
    if (r->repeat) {
        /* Count character: repeat the previous byte (c - 29) more times.
         * gdb only sends counts 3..97 (' '..'~'). */
        r->repeat = 0;
        if (c < ' ' || c > '~' || r->len == 0) {
            if (r->status == GDB_RSP_OK)
                r->status = GDB_RSP_MALFORMED;
            return;
        }
        for (unsigned n = (unsigned)c - 29u, i = 0; i < n; i++)
            rsp_store(r, r->buf[r->len - 1]);
        return;
    }
    if (c == '}') {
        r->escape = 1;
        return;
    }
    if (c == '*') {
        r->repeat = 1;
        if (r->len == 0 && r->status == GDB_RSP_OK)
            r->status = GDB_RSP_MALFORMED; /* '*' first: nothing to repeat */
        return;
    }
    rsp_store(r, c);
}

/* The packet is complete: ack it and hand it over. Returns the callback's verdict. */
static int rsp_finish(struct gdb_rsp *r, int csum_ok)
{
    r->state = RSP_IDLE;
    if (!csum_ok) {
        /* In no-ack mode gdb will not retransmit: the packet is dropped silently. */
        if (!r->noack)
            rsp_write(r, "-", 1);
        return 0;
    }
    if (!r->noack)
        rsp_write(r, "+", 1);
    if (r->status == GDB_RSP_OK && (r->escape || r->repeat))
        r->status = GDB_RSP_MALFORMED; /* '}' or '*' right before '#' */
    r->buf[r->len] = 0;
    return r->ops->packet(r->ctx, r->buf, r->len, r->status);
}

size_t gdb_rsp_feed(struct gdb_rsp *r, const uint8_t *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        uint8_t c = buf[i];

        switch (r->state) {
        case RSP_IDLE:
            if (c == '$') {
                rsp_start(r);
            } else if (c == 0x03) {
                r->ops->interrupt(r->ctx);
            } else if (c == '-' && !r->noack && r->out_len) {
                rsp_write(r, r->out, r->out_len);
            }
            /* '+' and any other byte: nothing to do (garbage resyncs at '$'). */
            break;
        case RSP_DATA:
            if (c == '$')
                rsp_start(r); /* resync: an unescaped '$' can only start a packet */
            else if (c == '#')
                r->state = RSP_CSUM1;
            else
                rsp_data(r, c);
            break;
        case RSP_CSUM1: {
            int v = gdb_hex_digit(c);
            if (c == '$') {
                rsp_finish(r, 0);
                rsp_start(r);
                break;
            }
            r->csum_bad = v < 0;
            r->csum_hi = (uint8_t)(v < 0 ? 0 : v);
            r->state = RSP_CSUM2;
            break;
        }
        case RSP_CSUM2: {
            int v = gdb_hex_digit(c);
            if (c == '$') {
                rsp_finish(r, 0);
                rsp_start(r);
                break;
            }
            int ok = !r->csum_bad && v >= 0 &&
                     (uint8_t)(r->csum_hi << 4 | v) == r->sum;
            if (rsp_finish(r, ok) == 1)
                return i + 1;
            break;
        }
        }
    }
    return i;
}

int gdb_rsp_send(struct gdb_rsp *r, const void *payload, size_t len)
{
    const uint8_t *p = payload;
    uint8_t sum = 0;
    size_t o = 0;

    if (len > GDB_RSP_REPLY_MAX)
        return -1;
    r->out[o++] = '$';
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (c == '$' || c == '#' || c == '}' || c == '*') {
            r->out[o++] = '}';
            sum += '}';
            c ^= 0x20;
        }
        r->out[o++] = c;
        sum += c;
    }
    r->out[o++] = '#';
    r->out[o++] = (uint8_t)gdb_hex_chars[sum >> 4];
    r->out[o++] = (uint8_t)gdb_hex_chars[sum & 15];
    r->out_len = o;
    return rsp_write(r, r->out, o);
}

void gdb_rsp_set_noack(struct gdb_rsp *r)
{
    r->noack = 1;
}

int gdb_rsp_noack(const struct gdb_rsp *r)
{
    return r->noack;
}

int gdb_rsp_broken(const struct gdb_rsp *r)
{
    return r->broken ? -1 : 0;
}
