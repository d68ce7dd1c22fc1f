/* hvd.h -- the host daemon's shared state: event loop watches, VMs registered
 * by hv, API clients, and the requests in flight between them.
 *
 * Ownership: the loop (struct hvd) owns every VM and client. A client owns its
 * slots (one per request, in request order). A request in flight (struct
 * hvd_req) points at its VM and its slot; a VM going away fails all of its
 * requests first, and a client going away detaches its slots (slot->client =
 * NULL) so late replies are dropped. Single-threaded: no locks. */
#ifndef HVD_H
#define HVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <hvkit/error.h>
#include <hvkit/proto.h>
#include <hvkit/ring.h>

#define HVD_LINE_MAX        (64u << 20)   /* bytes of one request line */
#define HVD_DEPTH_MAX       1024          /* JSON nesting of a request or reply */
#define HVD_OUT_MAX         (16u << 20)   /* client output buffer, then disconnect */
#define HVD_TIMEOUT_NS      (10ull * 1000000000ull)
#define HVD_CLIENT_INFLIGHT 16            /* slots per client before it stops being read:
                                             also bounds its share of hv's command queue */
#define HVD_TRANSLATE_MAX   4096          /* addresses in one translate */
#define HVD_TRANSLATE_WINDOW 64           /* WALKs of one translate in flight */
#define HVD_GONE_MAX        16            /* gone VMs remembered */
#define HVD_CLIENTS_MAX     1024          /* API connections at once */
#define HVD_RING_BUDGET     256           /* records per ring per round */
#define HVD_PAYLOAD_MAX     (16u << 20)   /* largest ring record hvd accepts */
#define HVD_DESC_MAX        512           /* bytes of an error desc from hv */
#define HVD_NAME_MAX        64
#define HVD_HELLO_TIMEOUT_NS (5ull * 1000000000ull)

enum hvd_watch_kind {
    HVD_W_API_LISTEN, HVD_W_REG_LISTEN, HVD_W_SIGNAL, HVD_W_CLIENT,
    HVD_W_VM_SOCK, HVD_W_VM_BELL, HVD_W_GDB,
};

/* What epoll_event.data.ptr points at. */
struct hvd_watch {
    enum hvd_watch_kind kind;
    void *obj;
};

struct hvd_buf {
    char *p;
    size_t off, len, cap;   /* live bytes are p[off, len) */
};

enum hvd_vm_state { HVD_VM_HELLO, HVD_VM_RUNNING, HVD_VM_PAUSED, HVD_VM_GONE };

struct hvd_vm {
    struct hvd_vm *next;          /* hvd.vms (registered and gone) or hvd.hellos */
    struct hvd_watch w_sock, w_bell;
    enum hvd_vm_state state;
    uint64_t last_stop_ns;          /* hv's time of the last debugger STOP record */
    unsigned serial;              /* for log lines before the name is known */
    uint64_t accepted_ns;         /* hello deadline */
    int sock, fd_ring, fd_bell_hvd, fd_bell_hv, fd_ram;
    char name[HVD_NAME_MAX + 1];
    char uuid[37];
    long long pid;
    uint32_t vcpus;
    uint64_t memory;              /* RAM bytes (sum of the hello's ranges) */
    char *kernel;
    bool allow_write;
    void *base;                   /* the ring region mapping */
    size_t size;
    struct ring_region *region;
    struct ring_consumer *cons;   /* [vcpus + 1]: vCPU rings then the control ring */
    uint64_t *first_seq;          /* [vcpus + 1]: seq of the first record read
                                     since attaching (UINT64_MAX: none yet) */
    struct ring_producer prod;    /* the command ring */
    uint8_t *rbuf;
    size_t rbuf_size;
    bool again;                   /* a ring had more than a budget: drain again */
    unsigned inflight;            /* requests in flight to this VM */
    uint64_t events, lost, replies, unmatched, console_bytes;
    char gone_why[160];
    struct hvd_telem *telem;      /* fault telemetry (hvd_telemetry.c), NULL until used */
    struct hvd_gdb *gdb;          /* the VM's gdb server (hvd_gdb.c), or NULL */
    struct hvd_ram_range { uint64_t gpa, size, off; } ram[64];   /* the hello's memory: GPA -> fd_ram offset */
    unsigned nram;
};

struct hvd_client;
struct hvd;
struct hvd_gdb;

/* One request's place in its client's reply order. */
struct hvd_slot {
    struct hvd_slot *next;
    struct hvd_client *client;    /* NULL: the client left; drop the answer */
    json_t *id;                   /* echoed verbatim; NULL when absent */
    char *line;                   /* finished reply line (with '\n'), or NULL */
    size_t line_len;
    unsigned outstanding;         /* ring requests in flight for this slot */
    uint32_t ring_cmd;
    /* translate */
    struct hvd_vm *vm;
    uint32_t vcpu;
    char access;
    bool user;
    uint64_t *addrs;
    size_t naddrs, next_send, done;
    json_t *results;
    bool failed;
};

struct hvd_client {
    struct hvd_client *prev, *next;
    struct hvd_watch w;
    unsigned serial;
    int fd;
    struct hvd_buf in, out;
    size_t scanned;               /* bytes of in already searched for '\n' */
    bool discarding;              /* inside a too-long line */
    struct hvd_slot *head, *tail;
    unsigned nslots;
    uint32_t events;              /* epoll mask registered */
    bool closing;                 /* flush what is queued, then close */
    bool processing;              /* inside hvd_client_process (no re-entry) */
    struct hvd_sub *sub;          /* FAULT event subscription (hvd_telemetry.c), or NULL */
};

/* A ring request in flight. */
struct hvd_req {
    struct hvd_req *hnext;        /* hash chain */
    struct hvd_req *prev, *next;  /* FIFO by deadline */
    uint64_t id;
    uint64_t deadline_ns;
    struct hvd_vm *vm;
    struct hvd_slot *slot;
    uint32_t cmd;
    uint32_t index;               /* translate: which address */
    /* Internal requests (no slot): the answer goes to cb instead. */
    void (*cb)(struct hvd *d, void *ctx, uint64_t tag, int32_t st, json_t *value, const char *cls,
               const char *desc);
    void *ctx;
    uint64_t tag;
};

struct hvd {
    int epfd;
    int api_fd, reg_fd, sig_fd;
    struct hvd_watch w_api, w_reg, w_sig;
    char api_path[108], reg_path[108];
    bool stop;
    unsigned serial;
    struct hvd_vm *vms;           /* registered and gone, newest first */
    struct hvd_vm *hellos;        /* connected, hello not yet received */
    struct hvd_vm *graveyard;     /* freed after the current epoll batch */
    struct hvd_client *clients;
    unsigned nclients;
    /* requests in flight */
    struct hvd_req **htab;
    size_t hsize, hcount;
    struct hvd_req *fifo_head, *fifo_tail;
    uint64_t next_id;
};

/* hvd_log.c */
__attribute__((format(printf, 1, 2))) void hvd_log(const char *fmt, ...);
uint64_t hvd_now_ns(void);

/* hvd_buf.c */
int hvd_buf_append(struct hvd_buf *b, const void *p, size_t n);
void hvd_buf_consume(struct hvd_buf *b, size_t n);
void hvd_buf_free(struct hvd_buf *b);

/* hvd_scan.c: nesting depth of JSON text (strings skipped), stopping as soon
 * as it exceeds max. Returns the depth reached, or max + 1. */
unsigned hvd_json_depth(const char *s, size_t n, unsigned max);
/* Parse "0x" followed by 1..16 hex digits, nothing else. */
bool hvd_parse_hex(const char *s, uint64_t *v);
/* Copy src into dst (dstlen >= 1) as one printable line: control bytes
 * and non-ASCII bytes become ?, cut at dstlen - 1 bytes. */
void hvd_one_line(char *dst, size_t dstlen, const char *src, size_t srclen);

/* hvd_sock.c */
int hvd_sock_listen(const char *path, int type, struct hvk_err *err);
/* Keep one descriptor in reserve (call at start); after EMFILE/ENFILE from
 * accept, hvd_sock_shed uses it to accept and drop the pending connection. */
void hvd_sock_reserve_init(void);
void hvd_sock_shed(int listen_fd);

/* hvd_hello.c: validate a hello's JSON text into vm (name, uuid, pid,
 * vcpus, memory, kernel, allow_write); *ring_size = its ring_size. */
int hvd_hello_parse(const char *text, size_t len, struct hvd_vm *vm, uint64_t *ring_size,
                    struct hvk_err *err);

/* hvd_reg.c: registration */
void hvd_reg_accept(struct hvd *d);
void hvd_reg_on_hello(struct hvd *d, struct hvd_vm *vm);
void hvd_reg_expire(struct hvd *d, uint64_t now);

/* hvd_vm.c */
int hvd_vm_attach(struct hvd *d, struct hvd_vm *vm, uint64_t ring_size, struct hvk_err *err);
void hvd_vm_on_sock(struct hvd *d, struct hvd_vm *vm);
void hvd_vm_drain(struct hvd *d, struct hvd_vm *vm);
void hvd_vm_drop(struct hvd *d, struct hvd_vm *vm, const char *why);
void hvd_vm_free(struct hvd_vm *vm);
/* Release vm's resources now and free it after the current epoll batch
 * (events of the batch may still point at it). */
void hvd_vm_bury(struct hvd *d, struct hvd_vm *vm);
struct hvd_vm *hvd_vm_find(struct hvd *d, const char *name);
const char *hvd_vm_state_name(enum hvd_vm_state s);
void hvd_vm_trim_gone(struct hvd *d);

/* hvd_client.c */
void hvd_client_accept(struct hvd *d);
/* Serve a connected, non-blocking socket as an API client (sends the
 * greeting). Takes fd. NULL when refused (fd closed). */
struct hvd_client *hvd_client_adopt(struct hvd *d, int fd);
void hvd_client_on_event(struct hvd *d, struct hvd_client *c, uint32_t events);
/* A slot got its line: move finished slots at the head into the output. */
void hvd_client_flush(struct hvd *d, struct hvd_client *c);
void hvd_client_close(struct hvd *d, struct hvd_client *c, const char *why);
void hvd_client_process(struct hvd *d, struct hvd_client *c);
/* Whether the client with this serial is still connected (c may be freed). */
bool hvd_client_alive(const struct hvd *d, unsigned serial);

/* hvd_slot.c: finishing a slot */
struct hvd_slot *hvd_slot_new(struct hvd_client *c, json_t *id);
void hvd_slot_return(struct hvd *d, struct hvd_slot *s, json_t *value);   /* steals value */
__attribute__((format(printf, 4, 5)))
void hvd_slot_error(struct hvd *d, struct hvd_slot *s, const char *cls, const char *fmt, ...);
void hvd_slot_free(struct hvd_slot *s);
/* After any change to s: free it if orphaned and idle, else flush its
 * client when it is complete (line set, nothing outstanding). */
void hvd_slot_settle(struct hvd *d, struct hvd_slot *s);

/* hvd_api.c: one request line */
void hvd_api_request(struct hvd *d, struct hvd_client *c, const char *line, size_t len);
json_t *hvd_api_greeting(void);

/* hvd_req.c: ring requests in flight */
int hvd_req_init(struct hvd *d);
/* Send one request; 0 sent, 1 ring full, -1 error (err set). */
int hvd_req_send(struct hvd *d, struct hvd_vm *vm, struct hvd_slot *slot, uint32_t cmd,
                 uint32_t vcpu, json_t *args, uint32_t index, struct hvk_err *err);
/* Same, for hvd's own users (the gdb glue): no slot; cb gets the answer
 * exactly once (value stolen, NULL on error with cls/desc set), also for a
 * timeout or the VM going away; never from inside this call. */
int hvd_req_send_cb(struct hvd *d, struct hvd_vm *vm, uint32_t cmd, uint32_t vcpu, json_t *args,
                    void (*cb)(struct hvd *, void *, uint64_t, int32_t, json_t *, const char *,
                               const char *),
                    void *ctx, uint64_t tag, struct hvk_err *err);
void hvd_req_on_reply(struct hvd *d, struct hvd_vm *vm, const struct ring_rec_hdr *hdr,
                      const void *payload);
void hvd_req_fail_vm(struct hvd *d, struct hvd_vm *vm, const char *why);
/* Expire requests past their deadline; returns ms until the next one (-1: none). */
int hvd_req_expire(struct hvd *d, uint64_t now);
void hvd_req_fini(struct hvd *d);

/* hvd_translate.c */
void hvd_translate_pump(struct hvd *d, struct hvd_slot *s);
void hvd_translate_result(struct hvd *d, struct hvd_slot *s, uint32_t index, int32_t status,
                          json_t *value, const char *desc);

/* hvd_loop.c */
int hvd_init(struct hvd *d, const char *api_path, const char *reg_path, struct hvk_err *err);
int hvd_run(struct hvd *d);
void hvd_fini(struct hvd *d);
int hvd_watch_add(struct hvd *d, int fd, uint32_t events, struct hvd_watch *w);
int hvd_watch_mod(struct hvd *d, int fd, uint32_t events, struct hvd_watch *w);
void hvd_watch_del(struct hvd *d, int fd);

#endif
