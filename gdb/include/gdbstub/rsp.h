/* rsp.h -- GDB Remote Serial Protocol framing: bytes in, decoded packets out. */
#ifndef GDBSTUB_RSP_H
#define GDBSTUB_RSP_H

#include <stddef.h>
#include <stdint.h>

/* The PacketSize we advertise: the most data characters (between '$' and '#',
 * as sent, i.e. still escaped / run-length encoded) we accept in one packet.
 * A longer packet is consumed up to its checksum and then reported as
 * GDB_RSP_TOO_LONG (the stub answers E02); nothing of it is buffered beyond
 * this size. The decoded form is bounded by the same size. */
#define GDB_RSP_PACKET_SIZE 65536u

/* The largest payload gdb_rsp_send() frames (before escaping). */
#define GDB_RSP_REPLY_MAX (GDB_RSP_PACKET_SIZE + 256u)

enum gdb_rsp_status {
    GDB_RSP_OK = 0,
    GDB_RSP_MALFORMED, /* '*' with nothing to repeat or a bad count, '}' right before '#' */
    GDB_RSP_TOO_LONG,  /* more than GDB_RSP_PACKET_SIZE data characters, or decodes to more */
};

struct gdb_rsp_ops {
    /* A packet whose checksum matched (or, in no-ack mode, any packet).
     * data is decoded (escapes, run-length) and NUL-terminated after len; it
     * stays valid until the callback returns. Return 0 to keep consuming
     * input, 1 to make gdb_rsp_feed() return right after this packet. */
    int (*packet)(void *ctx, const uint8_t *data, size_t len, enum gdb_rsp_status st);
    /* A 0x03 byte outside a packet (gdb's Ctrl-C). */
    void (*interrupt)(void *ctx);
    /* Emit bytes. Must take all of them without blocking (queue them); return
     * -1 if the connection is gone. */
    int (*write)(void *ctx, const void *buf, size_t len);
};

struct gdb_rsp;

/* NULL when out of memory. */
struct gdb_rsp *gdb_rsp_new(const struct gdb_rsp_ops *ops, void *ctx);
void gdb_rsp_free(struct gdb_rsp *r);

/* Consume up to len bytes; returns how many were consumed (less than len only
 * when the packet callback returned 1). Never blocks. */
size_t gdb_rsp_feed(struct gdb_rsp *r, const uint8_t *buf, size_t len);

/* Frame payload as "$<escaped payload>#cs" and write it. '$', '#', '}' and '*'
 * are escaped (only binary replies can contain them). The framed packet is
 * kept for a retransmit on '-' while in ack mode. -1 if payload is longer than
 * GDB_RSP_REPLY_MAX or the write callback failed. */
int gdb_rsp_send(struct gdb_rsp *r, const void *payload, size_t len);

/* After QStartNoAckMode: stop sending '+'/'-' and checking incoming acks. */
void gdb_rsp_set_noack(struct gdb_rsp *r);
int gdb_rsp_noack(const struct gdb_rsp *r);

/* -1 once a write callback failed, 0 otherwise. */
int gdb_rsp_broken(const struct gdb_rsp *r);

#endif
