/* stub-int.h -- the gdb stub's private session state, shared by its packet handler files. */
#ifndef GDBSTUB_STUB_INT_H
#define GDBSTUB_STUB_INT_H

#include "gdbstub/stub.h"

/* Error codes of the reply table in stub.h. */
#define STUB_E_MALFORMED 1
#define STUB_E_RANGE 2
#define STUB_E_THREAD 3
#define STUB_E_TARGET 4
#define STUB_E_RUNNING 5

/* Handler results. */
#define STUB_REPLY 0      /* s->reply[0..rlen) is the reply (rlen 0 = empty = unsupported) */
#define STUB_NO_REPLY 1   /* nothing to send now (resumed, killed) */
#define STUB_WAIT 2       /* an op returned GDB_PENDING */

/* Arguments parsed from a packet by its declared shape (see stub.c). */
struct stub_args {
    uint64_t num[4];
    size_t nnum;
    gdb_tid_t tid;
    const uint8_t *data; /* 'h': decoded into s->scratch; 'b'/'s': points into the packet */
    size_t dlen;
};

struct gdb_stub {
    const struct gdb_arch *arch;
    const struct gdb_target_ops *ops;
    void *t;
    int (*write)(void *ctx, const void *buf, size_t len);
    void *write_ctx;
    struct gdb_rsp *rsp;
    enum gdb_stub_state state;
    gdb_tid_t g_tid;          /* > 0 always once a thread exists */
    gdb_tid_t c_tid;          /* Hc: > 0, 0 or -1 */
    struct gdb_stop last_stop;
    int peer_swbreak, peer_hwbreak; /* gdb said swbreak+ / hwbreak+ in qSupported */
    int noack_after_reply;    /* QStartNoAckMode: switch once OK is sent */
    char reply[GDB_RSP_REPLY_MAX];
    size_t rlen;
    uint8_t scratch[GDB_STUB_MEM_MAX + 1];
    /* PENDING: the packet to dispatch again, and input that arrived meanwhile. */
    uint8_t *pending;
    size_t pending_len;
    uint8_t *backlog;
    size_t backlog_len;
};

#define STUB_BACKLOG_MAX (2 * (size_t)GDB_RSP_PACKET_SIZE)

int stub_error(struct gdb_stub *s, int code);
int stub_ok(struct gdb_stub *s);
/* Append formatted text to the reply; returns STUB_REPLY. Truncation cannot
 * happen for the short replies it is used for (checked: E02 instead). */
__attribute__((format(printf, 2, 3)))
int stub_printf(struct gdb_stub *s, const char *fmt, ...);
/* Thread ids the target lists (at most GDB_STUB_MAX_THREADS). */
size_t stub_threads(struct gdb_stub *s, gdb_tid_t *tids);
int stub_thread_known(struct gdb_stub *s, gdb_tid_t tid);
/* The thread register/memory accesses go to (Hg, or the first thread). */
gdb_tid_t stub_g_thread(struct gdb_stub *s);
int stub_send_stop(struct gdb_stub *s, const struct gdb_stop *st);
int stub_format_stop(struct gdb_stub *s, const struct gdb_stop *st);

#define STUB_HANDLER(name) int name(struct gdb_stub *s, const struct stub_args *a)
/* stub-regmem.c */
STUB_HANDLER(stub_cmd_g); STUB_HANDLER(stub_cmd_G); STUB_HANDLER(stub_cmd_p); STUB_HANDLER(stub_cmd_P);
STUB_HANDLER(stub_cmd_m); STUB_HANDLER(stub_cmd_M); STUB_HANDLER(stub_cmd_X);
/* stub-run.c */
STUB_HANDLER(stub_cmd_stop_reason); STUB_HANDLER(stub_cmd_c); STUB_HANDLER(stub_cmd_s);
STUB_HANDLER(stub_cmd_vcont_query); STUB_HANDLER(stub_cmd_vcont); STUB_HANDLER(stub_cmd_Z);
STUB_HANDLER(stub_cmd_z);
/* stub-query.c */
STUB_HANDLER(stub_cmd_supported); STUB_HANDLER(stub_cmd_noack); STUB_HANDLER(stub_cmd_xfer_features);
STUB_HANDLER(stub_cmd_Hg); STUB_HANDLER(stub_cmd_Hc); STUB_HANDLER(stub_cmd_T);
STUB_HANDLER(stub_cmd_thread_first); STUB_HANDLER(stub_cmd_thread_next); STUB_HANDLER(stub_cmd_qC);
STUB_HANDLER(stub_cmd_thread_extra); STUB_HANDLER(stub_cmd_attached); STUB_HANDLER(stub_cmd_rcmd);
STUB_HANDLER(stub_cmd_D); STUB_HANDLER(stub_cmd_k); STUB_HANDLER(stub_cmd_vkill);

#endif
