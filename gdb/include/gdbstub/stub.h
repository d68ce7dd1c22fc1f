/* stub.h -- one GDB remote protocol session over a target ops table; bytes in, bytes out, never blocks.
 *
 * Use: gdb_stub_new() per connection with the target already stopped; feed
 * every byte read from the peer to gdb_stub_feed(); the library writes replies
 * through the write callback. When gdb resumes the target (c, s, vCont) the
 * stub calls ops->resume and waits: the target reports the stop later with
 * gdb_stub_report_stop(), which sends the stop reply. Ctrl-C from gdb calls
 * ops->stop_request (the target then reports a stop as usual).
 *
 * Error replies (all packets):
 *   ""   (empty) the packet, or this variant of it, is not supported
 *   E01  malformed: the arguments do not have the declared shape (not hex,
 *        missing separator, odd hex digit count, data length different from
 *        the declared length, trailing characters, '*' with nothing to repeat,
 *        '}' or '*' right before '#')
 *   E02  out of range: a number wider than 64 bits, an m/M/X length above
 *        GDB_STUB_MEM_MAX, addr+len wrapping past 2^64, an unknown register
 *        number, a qXfer offset past the end of the object or an unknown
 *        annex, a packet longer than PacketSize (GDB_RSP_PACKET_SIZE)
 *   E03  bad thread: 0/-1 where one thread is needed, a thread the target
 *        does not list, too many vCont actions
 *   E04  the target refused or failed (unreadable memory, no free debug
 *        register, writes not allowed, ...)
 *   E05  the target is running: only Ctrl-C, D and k are taken then
 * Bytes outside packets other than '$', '+', '-', 0x03 are ignored; 0x03 while
 * halted is ignored. A packet with a bad checksum gets '-' (ack mode) or is
 * dropped (no-ack mode).
 */
#ifndef GDBSTUB_STUB_H
#define GDBSTUB_STUB_H

#include <stddef.h>
#include <stdint.h>

#include "gdbstub/arch.h"
#include "gdbstub/rsp.h"

/* Thread ids are gdb's: > 0 a thread, 0 "any thread", -1 "all threads". */
typedef int64_t gdb_tid_t;
#define GDB_TID_ANY ((gdb_tid_t)0)
#define GDB_TID_ALL ((gdb_tid_t)-1)

/* Most threads the stub lists or names in one vCont. */
#define GDB_STUB_MAX_THREADS 256
/* Largest m / M / X transfer (bytes): the hex reply of an 'm' of this size is exactly PacketSize. */
#define GDB_STUB_MEM_MAX (GDB_RSP_PACKET_SIZE / 2)
/* Longest monitor command (decoded). */
#define GDB_STUB_MONITOR_MAX 1024

/* Op results besides 0 / a byte count. */
#define GDB_ERR (-1)          /* failed: E04 */
#define GDB_UNSUPPORTED (-2)  /* not supported: empty reply (gdb falls back) */
#define GDB_PENDING (-3)      /* started; call gdb_stub_retry() when ready, the packet is then dispatched again */

enum gdb_resume_kind { GDB_RESUME_CONTINUE, GDB_RESUME_STEP, GDB_RESUME_STOP };

/* One vCont action. The list passed to ops->resume is in gdb's order; a
 * thread takes the first action whose tid is itself or GDB_TID_ALL (the
 * default action, if any, is always last). Threads matched by no action stay
 * stopped. */
struct gdb_resume_action {
    gdb_tid_t tid;            /* a listed thread, or GDB_TID_ALL */
    enum gdb_resume_kind kind;
    int signo;                /* C/S signal number, -1 for none */
};

enum gdb_bp_type {
    GDB_BP_SW = 0,       /* Z0: software breakpoint */
    GDB_BP_HW = 1,       /* Z1: hardware breakpoint */
    GDB_WP_WRITE = 2,    /* Z2 */
    GDB_WP_READ = 3,     /* Z3 */
    GDB_WP_ACCESS = 4,   /* Z4 */
};

enum gdb_stop_reason {
    GDB_STOP_SIGNAL,   /* plain stop with signo (e.g. 2 after Ctrl-C, 5 after a step) */
    GDB_STOP_SWBREAK,  /* hit a Z0 breakpoint (signo 5) */
    GDB_STOP_HWBREAK,  /* hit a Z1 breakpoint (signo 5) */
    GDB_STOP_WATCH,    /* Z2 hit at addr */
    GDB_STOP_RWATCH,   /* Z3 hit at addr */
    GDB_STOP_AWATCH,   /* Z4 hit at addr */
    GDB_STOP_EXITED,   /* the target is gone: "W<code>", the session then ends */
};

struct gdb_stop {
    enum gdb_stop_reason reason;
    gdb_tid_t tid;     /* the thread that stopped (> 0) */
    int signo;         /* for GDB_STOP_SIGNAL; others use 5 (SIGTRAP) */
    uint64_t addr;     /* data address for watchpoints */
    int exit_code;     /* for GDB_STOP_EXITED */
};

struct gdb_stub;

/* Every op gets the opaque target pointer first. Optional ops may be NULL
 * (their packets then get an empty reply, or the documented fallback). Ops
 * that may return GDB_PENDING say so. */
struct gdb_target_ops {
    /* Fill size bytes of register regnum (target byte order). Returns size,
     * 0 when the value is unavailable (sent as "xx"), GDB_ERR, GDB_PENDING. */
    int (*read_reg)(void *t, gdb_tid_t tid, int regnum, uint8_t *buf, size_t size);
    /* 0, GDB_ERR, GDB_PENDING. Optional (G/P then E04). */
    int (*write_reg)(void *t, gdb_tid_t tid, int regnum, const uint8_t *buf, size_t size);
    /* Bytes read from addr (may be fewer than len when the rest is
     * unreadable; 0 = nothing readable), GDB_ERR, GDB_PENDING. */
    long (*read_mem)(void *t, gdb_tid_t tid, uint64_t addr, uint8_t *buf, size_t len);
    /* 0 when all len bytes were written, GDB_ERR, GDB_PENDING. Optional. */
    int (*write_mem)(void *t, gdb_tid_t tid, uint64_t addr, const uint8_t *buf, size_t len);
    /* Start running per the actions. 0 (the stop comes later through
     * gdb_stub_report_stop), GDB_ERR (stays stopped: E04). */
    int (*resume)(void *t, const struct gdb_resume_action *acts, size_t n);
    /* Ctrl-C while running: ask the target to stop (asynchronously). */
    void (*stop_request)(void *t);
    /* 0, GDB_ERR (e.g. out of debug registers), GDB_UNSUPPORTED. Optional. */
    int (*insert_bp)(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t kind);
    int (*remove_bp)(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t kind);
    /* Write up to max thread ids (> 0, ascending is nicest); returns the count. */
    size_t (*thread_list)(void *t, gdb_tid_t *tids, size_t max);
    /* Optional: a short human description into buf (NUL-terminated). 0 / GDB_ERR. */
    int (*thread_extra)(void *t, gdb_tid_t tid, char *buf, size_t size);
    /* Optional: "monitor CMD". Print with gdb_stub_monitor_output(); return 0
     * (gdb gets OK), GDB_ERR (E04), GDB_UNSUPPORTED, GDB_PENDING. */
    int (*monitor)(void *t, struct gdb_stub *s, const char *cmd);
    /* Optional: gdb detaches (D): remove every breakpoint and let the target run. */
    void (*detach)(void *t);
    /* Optional: gdb kills (k): the session ends; what happens to the target is
     * the target's choice (hvkit: like detach, the VM lives on). */
    void (*kill)(void *t);
};

enum gdb_stub_state {
    GDB_STUB_HALTED,   /* target stopped, packets are served */
    GDB_STUB_RUNNING,  /* resumed, waiting for gdb_stub_report_stop() */
    GDB_STUB_PENDING,  /* an op returned GDB_PENDING, waiting for gdb_stub_retry() */
    GDB_STUB_CLOSED,   /* detached, killed, target exited or the write callback failed: drop the connection */
};

/* write: takes all bytes without blocking (queue them), -1 if the peer is
 * gone. The target must be stopped; its first listed thread is the current
 * one and '?' reports SIGTRAP on it until a stop is reported. NULL on ENOMEM. */
struct gdb_stub *gdb_stub_new(const struct gdb_arch *arch, const struct gdb_target_ops *ops,
                              void *target, int (*write)(void *ctx, const void *buf, size_t len),
                              void *write_ctx);
void gdb_stub_free(struct gdb_stub *s);

/* Bytes from gdb. In the PENDING state bytes are queued (up to
 * 2 * GDB_RSP_PACKET_SIZE) and processed after the retry. 0, or -1 when the
 * session is closed or the queue overflowed. */
int gdb_stub_feed(struct gdb_stub *s, const void *buf, size_t len);

/* The target stopped. RUNNING: the stop reply is sent, the stopped thread
 * becomes current, state HALTED. HALTED: only remembered for '?'. EXITED: "W"
 * is sent (if running) and the session closes. 0, or -1 if the write failed. */
int gdb_stub_report_stop(struct gdb_stub *s, const struct gdb_stop *stop);

/* Data an op waited for (GDB_PENDING) is ready: dispatch that packet again,
 * then any queued input. 0 / -1 as gdb_stub_feed. */
int gdb_stub_retry(struct gdb_stub *s);

/* From inside ops->monitor: send text to gdb's console (as O packets). */
int gdb_stub_monitor_output(struct gdb_stub *s, const char *text, size_t len);

enum gdb_stub_state gdb_stub_state(const struct gdb_stub *s);
/* The thread 'g'/'m' and friends act on (Hg), and the one 'c'/'s' act on (Hc, may be 0/-1). */
gdb_tid_t gdb_stub_current_thread(const struct gdb_stub *s);

#endif
