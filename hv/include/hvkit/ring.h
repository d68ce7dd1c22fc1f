/* ring.h -- the shared-memory ring ABI between hv (producer of events,
 * consumer of commands) and hvd (consumer of events, producer of commands),
 * and the C API both sides use to touch it.
 *
 * ===== 1. Region layout ====================================================
 *
 * One memfd, mapped MAP_SHARED by both processes. Offsets are from the start
 * of the region; all integers are little-endian host order (hv and hvd run
 * on the same host).
 *
 *   0                      struct ring_region_hdr  (64 bytes)
 *   desc_offset            struct ring_desc[nr_rings]  (32 bytes each)
 *   desc[i].ctrl_offset    struct ring_ctrl  (128 bytes, 64-aligned)
 *   desc[i].data_offset    data area of desc[i].data_size bytes (page aligned)
 *
 * Ring numbering (fixed by the ABI, checked through desc[i].kind):
 *   i in [0, nr_vcpus)   RING_KIND_VCPU  event ring of vCPU i (producer: that
 *                        vCPU's thread; consumer: hvd)
 *   i == nr_vcpus        RING_KIND_CTL   control event ring (producer: hv's
 *                        control service -- REPLY, LIFECYCLE...; consumer: hvd)
 *   i == nr_vcpus + 1    RING_KIND_CMD   command ring (producer: hvd;
 *                        consumer: hv's control service)
 * nr_rings == nr_vcpus + 2. Every ring is single-producer/single-consumer:
 * if several hv threads must write the control ring they serialise among
 * themselves (the lock-free rule binds the vCPU rings).
 *
 * The region is created by hv (ring_memfd_create + ring_region_init) and is
 * sealed against shrinking and growing, so a peer cannot make the other side
 * fault (SIGBUS) by truncating it. hvd checks the seals (ring_memfd_check)
 * before mapping.
 *
 * ===== 2. One ring =========================================================
 *
 * struct ring_ctrl holds two free-running 64-bit byte counters, each on its
 * own cache line: `head` (written only by the producer) and `tail` (written
 * only by the consumer). They never wrap in practice (2^64 bytes) and are
 * never reset. The data area is a power of two, `cap` bytes; byte counter x
 * lives at data[x & (cap - 1)]. Invariants a correct peer keeps:
 *     tail <= head,  head - tail <= cap,  head % 8 == 0,  tail % 8 == 0.
 * Bytes in [tail, head) are published records; [head, tail + cap) is free.
 *
 * ===== 3. Records ==========================================================
 *
 * Each record starts at an 8-aligned counter value with struct ring_rec_hdr
 * {u16 type, u16 flags, u32 size, u64 seq, u64 time_ns}. `size` is the exact
 * length of header + payload; the record occupies RING_ALIGN8(size) bytes and
 * the next record starts right after. time_ns is CLOCK_MONOTONIC.
 *
 * Wrap-around: a record never straddles the end of the data area. When the
 * bytes left before the end are too few for the next record, the producer
 * fills them with a PAD record whose `size` is exactly those bytes; only the
 * first 8 bytes of a PAD (type, flags, size) are meaningful, so a PAD can be
 * as short as 8 bytes (shorter than a full header). A PAD never starts at
 * offset 0 of the data area and is invisible to API users.
 *
 * Size limit: a record (header included) is at most cap / 4 bytes
 * (ring_max_record()), so an empty ring always has room for a pad, a LOST
 * record, another pad and the largest record together.
 *
 * ===== 4. Sequence numbers and loss ========================================
 *
 * The producer numbers every record it is asked to write, 0, 1, 2, ...
 * (PAD and LOST do not take numbers of their own). On an event ring the
 * producer never blocks and never waits: if the record does not fit it is
 * dropped, its number is consumed, and a private count of losses grows.
 * While losses are pending, the next record is accepted only if a LOST
 * record AND that record both fit; the LOST record is then written first,
 * in the same publication. A LOST record has seq = the first lost number and
 * payload struct ring_lost {count, first_seq, total}: the numbers
 * [first_seq, first_seq + count) were dropped. Because nothing is accepted
 * while losses are pending, dropped numbers are always contiguous.
 * So for a consumer that reads from seq 0:  delivered + sum(LOST.count) ==
 * records generated, exactly, and seq is continuous: every record's seq
 * equals the previous record's seq + 1 (or + count after a LOST).
 * ring_flush() writes a pending LOST record on its own (e.g. from a timer),
 * so losses at the end of a burst are reported too.
 * A command-ring producer (hvd) uses RING_PROD_NOLOSS: a full ring returns
 * RING_FULL and takes no number, the caller retries later.
 *
 * ===== 5. Memory ordering ==================================================
 *
 * Producer: write records into [head, new_head) with plain stores, then
 * atomic_store_explicit(&head, new_head, memory_order_release) (ring_commit).
 * It reads tail with acquire (so the consumer's copies of the bytes it is
 * about to overwrite are complete) and only when its cached tail does not
 * leave enough room.
 * Consumer: load head with acquire, copy the record out, then
 * atomic_store_explicit(&tail, new_tail, memory_order_release).
 * No locks anywhere; the producer path makes no syscall except the doorbell
 * (time_ns comes from clock_gettime, a vDSO call).
 * The producer never reads back what it wrote into shared memory (a peer
 * could change it): build a record in place through ring_reserve's pointer,
 * but do not read it back.
 *
 * ===== 6. Doorbell protocol (eventfd) ======================================
 *
 * Two eventfds travel with the memfd: one hv -> hvd (shared by all event
 * rings), one hvd -> hv (command ring). A producer does not signal per
 * record. ring_ctrl.waiting (on the consumer's line) is the consumer's
 * request for a wakeup:
 *   consumer (ring_consumer_arm):   waiting = 1;  fence(seq_cst);  h = head;
 *                                   if h != tail: waiting = 0, don't sleep
 *                                   else: sleep in epoll on the eventfd
 *   producer (ring_commit):         head = new_head (release);  fence(seq_cst);
 *                                   if waiting && exchange(waiting, 0): write
 *                                   1 to the eventfd
 * Race freedom: both sides store then (after a seq_cst fence) load the
 * other's variable -- the store-buffering pattern, which seq_cst fences
 * forbid from losing both stores. So either the consumer sees the new head
 * and does not sleep, or the producer sees waiting == 1 and signals. The
 * exchange makes one wakeup request cost at most one write(2). A spurious
 * wakeup is harmless (the consumer drains, finds nothing, re-arms).
 * With one eventfd for many rings, hvd's loop per wakeup is: drain the
 * eventfd; for each ring read at most a budget of records (a producer can
 * publish forever, so a drain loop must be bounded); then ring_consumer_arm
 * every ring; sleep only if every arm returned 1, else go round again.
 * A producer without a doorbell fd (-1) leaves the request pending for the
 * next producer that has one.
 *
 * ===== 7. Validation (the consumer trusts nothing in the region) ===========
 *
 * ring_region_check() copies the header and descriptors once into private
 * memory and refuses: wrong magic, ABI version, header/descriptor/ctrl/record
 * header sizes, region_size != the mapped size, nr_vcpus outside
 * [1, RING_MAX_VCPUS], nr_rings != nr_vcpus + 2, a descriptor table or ctrl
 * block or data area outside the region (overflow-safe), misaligned ctrl
 * (64) or data (page), data_size not a power of two in [RING_DATA_MIN,
 * RING_DATA_MAX], a wrong kind/id, or any two areas overlapping. Nothing in
 * the header is read again afterwards.
 * The consumer keeps its own copy of tail and validates each load of head:
 * head behind tail, head more than cap ahead, misaligned head. For each
 * record it copies the first 8 bytes once, then the rest of the header once,
 * and refuses: size < header (or != the bytes left, for a PAD), size larger
 * than ring_max_record(), record beyond head, record straddling the end of
 * the data area, PAD at offset 0, type unknown to this ABI version (an
 * ERROR, not skipped: the ABI version is checked exactly, so an unknown type
 * can only be corruption), a type not allowed on this ring (REQUEST only on
 * the command ring and only there), a LOST record with a bad payload, and a
 * seq discontinuity. Any of these marks the ring broken: every later call
 * fails at once with the same message, and hvd drops the VM. The payload is
 * copied out after validation (memcpy into the caller's buffer), so a peer
 * rewriting shared memory concurrently can garble a payload but never make
 * the consumer read outside the data area. Each read advances at least 8
 * bytes or fails, skips at most one PAD, and never loops on shared data.
 * The producer validates the tail it reads too: an impossible tail is
 * treated as "ring full" (records dropped and counted), never trusted.
 */
#ifndef HVKIT_RING_H
#define HVKIT_RING_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvkit/error.h"

/* ---- ABI constants ------------------------------------------------------ */

#define RING_MAGIC        0x31474e49524b5648ull /* "HVKRING1" in memory */
#define RING_ABI_VERSION  1u
#define RING_MAX_VCPUS    254u
#define RING_MAX_RINGS    (RING_MAX_VCPUS + 2u)
#define RING_DATA_MIN     256u                 /* bytes, power of two */
#define RING_DATA_MAX     (1ull << 30)
#define RING_PAGE         4096u                /* data area alignment */
#define RING_CACHELINE    64u
#define RING_ALIGN8(x)    (((x) + 7u) & ~(uint64_t)7u)

enum ring_kind {
    RING_KIND_VCPU = 1,
    RING_KIND_CTL  = 2,
    RING_KIND_CMD  = 3,
};

/* At offset 0 of the region. */
struct ring_region_hdr {
    uint64_t magic;         /* RING_MAGIC */
    uint32_t abi_version;   /* RING_ABI_VERSION, checked exactly */
    uint32_t hdr_size;      /* sizeof(struct ring_region_hdr) */
    uint64_t region_size;   /* bytes; equals the memfd size */
    uint32_t nr_vcpus;      /* event rings of vCPUs */
    uint32_t nr_rings;      /* nr_vcpus + 2 */
    uint32_t desc_offset;   /* offset of struct ring_desc[nr_rings] */
    uint32_t desc_size;     /* sizeof(struct ring_desc) */
    uint32_t ctrl_size;     /* sizeof(struct ring_ctrl) */
    uint32_t rec_hdr_size;  /* sizeof(struct ring_rec_hdr) */
    uint64_t reserved[2];   /* zero */
};
static_assert(sizeof(struct ring_region_hdr) == 64, "ring ABI");

struct ring_desc {
    uint32_t kind;          /* enum ring_kind */
    uint32_t id;            /* vCPU index for RING_KIND_VCPU, else 0 */
    uint64_t ctrl_offset;   /* struct ring_ctrl, 64-aligned */
    uint64_t data_offset;   /* data area, RING_PAGE-aligned */
    uint64_t data_size;     /* power of two in [RING_DATA_MIN, RING_DATA_MAX] */
};
static_assert(sizeof(struct ring_desc) == 32, "ring ABI");

/* The two cache lines of one ring. The producer writes only the first line,
 * the consumer only the second. lost_total and seq_next are informational
 * (hvd may show them while a LOST record is still pending): exact at every
 * publication of head, refreshed only now and then while records are being
 * dropped (they share head's line); the consumer must not rely on them. */
struct ring_ctrl {
    _Alignas(RING_CACHELINE) _Atomic uint64_t head;
    _Atomic uint64_t lost_total;   /* records dropped so far (relaxed) */
    _Atomic uint64_t seq_next;     /* next seq the producer will assign */
    uint8_t pad_producer[RING_CACHELINE - 3 * sizeof(uint64_t)];
    _Alignas(RING_CACHELINE) _Atomic uint64_t tail;
    _Atomic uint32_t waiting;      /* consumer asks for a doorbell (1) */
    uint32_t reserved;
    uint8_t pad_consumer[RING_CACHELINE - 2 * sizeof(uint64_t)];
};
static_assert(sizeof(struct ring_ctrl) == 2 * RING_CACHELINE, "ring ABI");
static_assert(offsetof(struct ring_ctrl, tail) == RING_CACHELINE, "ring ABI");
static_assert(sizeof(_Atomic uint64_t) == 8 && ATOMIC_LLONG_LOCK_FREE == 2,
              "ring needs lock-free 64-bit atomics");
static_assert(sizeof(_Atomic uint32_t) == 4 && ATOMIC_INT_LOCK_FREE == 2,
              "ring needs lock-free 32-bit atomics");

/* Record types. 0 is never valid (zeroed memory is not a record). */
enum ring_rec_type {
    RING_REC_PAD       = 1,  /* filler up to the end of the data area */
    RING_REC_LOST      = 2,  /* payload struct ring_lost */
    RING_REC_FAULT     = 3,  /* payloads of 3..9: see hvkit/proto.h */
    RING_REC_WALK      = 4,
    RING_REC_STACK     = 5,
    RING_REC_STOP      = 6,  /* debug stop */
    RING_REC_REPLY     = 7,  /* payload struct ring_reply + data */
    RING_REC_CONSOLE   = 8,
    RING_REC_LIFECYCLE = 9,
    RING_REC_REQUEST   = 10, /* command ring only: struct ring_req + args */
    RING_REC__END
};

/* Record flags: none defined yet; producers write 0, consumers ignore. */

struct ring_rec_hdr {
    uint16_t type;          /* enum ring_rec_type */
    uint16_t flags;
    uint32_t size;          /* header + payload, exact (not padded) */
    uint64_t seq;
    uint64_t time_ns;       /* CLOCK_MONOTONIC */
};
static_assert(sizeof(struct ring_rec_hdr) == 24, "ring ABI");
#define RING_PAD_MIN 8u     /* a PAD needs only type, flags and size */

struct ring_lost {
    uint64_t count;         /* records dropped, >= 1 */
    uint64_t first_seq;     /* == the LOST record's hdr.seq */
    uint64_t total;         /* all drops on this ring so far */
};
static_assert(sizeof(struct ring_lost) == 24, "ring ABI");
#define RING_LOST_REC_SIZE (sizeof(struct ring_rec_hdr) + sizeof(struct ring_lost))

/* ---- command ring: requests and replies -------------------------------- */

enum ring_cmd {
    RING_CMD_WALK = 1, RING_CMD_STACK, RING_CMD_REGS, RING_CMD_READ_MEM,
    RING_CMD_WRITE_MEM, RING_CMD_PAUSE, RING_CMD_RESUME, RING_CMD_STEP,
    RING_CMD_SET_BP, RING_CMD_CLR_BP, RING_CMD_TRACE_CONFIG, RING_CMD_MAPS,
    RING_CMD_VCPUS,         /* states and RIPs of every vCPU (query-vcpus) */
    RING_CMD_SET_REGS,      /* write general registers (needs hv run --allow-write) */
    RING_CMD__END
};

/* Reply status; the data after struct ring_reply is empty unless OK. */
enum ring_status {
    RING_ST_OK = 0,
    RING_ST_INVAL,          /* malformed request or arguments */
    RING_ST_NOVCPU,         /* no such vCPU */
    RING_ST_FAULT,          /* address not mapped / not RAM */
    RING_ST_BUSY,           /* cannot serve now (retry) */
    RING_ST_UNSUPP,         /* command not supported by this hv */
    RING_ST_TOOBIG,         /* answer would exceed the max record */
    RING_ST_INTERNAL,
    RING_ST__END
};

/* Payload of a REQUEST record, followed by command-specific arguments
 * (layouts in hvkit/proto.h). req_id is chosen by hvd and echoed. */
struct ring_req {
    uint64_t req_id;
    uint32_t cmd;           /* enum ring_cmd */
    uint32_t vcpu;          /* target vCPU, or UINT32_MAX for the VM */
};
static_assert(sizeof(struct ring_req) == 16, "ring ABI");

/* Payload of a REPLY record, followed by command-specific data. */
struct ring_reply {
    uint64_t req_id;        /* the request's id */
    uint32_t cmd;           /* the request's command */
    int32_t status;         /* enum ring_status */
};
static_assert(sizeof(struct ring_reply) == 16, "ring ABI");

/* ---- layout: sizing, creation, validation ------------------------------- */

struct ring_layout {
    uint32_t nr_vcpus;
    uint64_t vcpu_ring_size;  /* data bytes per vCPU ring (power of two) */
    uint64_t ctl_ring_size;
    uint64_t cmd_ring_size;
};

/* A validated private snapshot of the region's header and descriptors.
 * Filled by ring_region_init (creator) or ring_region_check (peer). */
struct ring_region {
    uint8_t *base;
    size_t size;
    uint32_t nr_vcpus;
    uint32_t nr_rings;
    struct ring_desc desc[RING_MAX_RINGS];
};

static inline uint32_t ring_idx_vcpu(uint32_t vcpu) { return vcpu; }
static inline uint32_t ring_idx_ctl(const struct ring_region *r) { return r->nr_vcpus; }
static inline uint32_t ring_idx_cmd(const struct ring_region *r) { return r->nr_vcpus + 1; }

/* Largest record (header included) a ring of data_size bytes carries. */
static inline uint64_t ring_max_record(uint64_t data_size) { return data_size / 4; }

/* Bytes the region needs for layout l (page multiple). */
int ring_layout_size(const struct ring_layout *l, size_t *size, struct hvk_err *err);
/* Write header, descriptors and zeroed ctrl blocks into base[0, len)
 * (len >= ring_layout_size). Fills *r if r is not NULL. */
int ring_region_init(void *base, size_t len, const struct ring_layout *l,
                     struct ring_region *r, struct hvk_err *err);
/* Validate a region mapped at base (len = its mapped size) per section 7 and
 * snapshot it into *r. Never reads beyond base + len. */
int ring_region_check(struct ring_region *r, void *base, size_t len,
                      struct hvk_err *err);

/* memfd helpers: create a sealed region of `size` bytes (MFD_CLOEXEC,
 * F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL); check a received fd has those
 * seals and return its size. Both return an fd / 0, or -1. */
int ring_memfd_create(const char *name, size_t size, struct hvk_err *err);
int ring_memfd_check(int fd, size_t *size, struct hvk_err *err);

/* ---- producer ----------------------------------------------------------- */

#define RING_PROD_NOLOSS 1u   /* full ring -> RING_FULL, nothing counted */

enum ring_wr {                /* non-error results of reserve/write */
    RING_OK = 0,
    RING_DROPPED = 1,         /* full: dropped and counted as lost */
    RING_FULL = 2,            /* full, RING_PROD_NOLOSS: nothing consumed */
};

/* Private producer state (in the producer's own memory). One thread. */
struct ring_producer {
    struct ring_ctrl *ctrl;
    uint8_t *data;
    uint64_t cap, mask, max_rec;
    unsigned flags;
    bool cmd_ring;            /* REQUEST allowed (and only REQUEST) */
    _Atomic int doorbell_fd;  /* eventfd or -1; may be swapped by others */
    uint64_t head;            /* published head */
    uint64_t tail_cache;      /* last valid tail seen */
    uint64_t seq;             /* next number to assign */
    uint64_t lost_pending;    /* dropped since the last LOST record */
    uint64_t lost_first;      /* first seq of the pending run */
    uint64_t lost_total;
    /* open reservation */
    bool resv_open;
    uint64_t resv_head;       /* head after the reserved record */
    uint64_t resv_lost_end;   /* head after its LOST record, or 0 if none */
    uint64_t resv_seq;
    /* statistics (producer-private) */
    uint64_t written, kicks, bad_tail;
};

int ring_producer_init(struct ring_producer *p, const struct ring_region *r,
                       uint32_t ring, unsigned flags, int doorbell_fd,
                       struct hvk_err *err);
/* The fd written when the consumer asked for a wakeup; -1 disables. Safe
 * to call from another thread (e.g. on reconnect). */
void ring_producer_set_doorbell(struct ring_producer *p, int fd);

/* Reserve room for a record with payload_len bytes; on RING_OK *payload
 * points at it in shared memory (write it, then ring_commit or ring_abort;
 * nothing is visible before ring_commit). RING_DROPPED / RING_FULL: see
 * enum ring_wr. -1: caller bug (bad type, reservation already open, or a
 * record larger than the max -- on an event ring that one is also counted
 * as lost so the accounting stays exact). Never blocks. */
int ring_reserve(struct ring_producer *p, uint16_t type, uint16_t flags,
                 uint32_t payload_len, void **payload, struct hvk_err *err);
/* Publish the reserved record (and a LOST record before it, if any); ring
 * the doorbell if the consumer is waiting. */
void ring_commit(struct ring_producer *p);
/* Give up the reservation: the record counts as lost (event ring) or is
 * forgotten (NOLOSS); a LOST record reserved with it is still published. */
void ring_abort(struct ring_producer *p);
/* reserve + copy + commit. */
int ring_write(struct ring_producer *p, uint16_t type, uint16_t flags,
               const void *payload, uint32_t len, struct hvk_err *err);
/* Write a pending LOST record on its own. Returns 0 when nothing is
 * pending any more, RING_DROPPED if it still does not fit. */
int ring_flush(struct ring_producer *p);

/* ---- consumer ----------------------------------------------------------- */

/* Private consumer state. One thread. */
struct ring_consumer {
    struct ring_ctrl *ctrl;
    const uint8_t *data;
    uint64_t cap, mask, max_rec;
    uint32_t kind;            /* enum ring_kind of this ring */
    uint32_t ring;            /* its index, for messages */
    uint64_t tail;            /* private copy; shared tail is only written */
    uint64_t head_cache;      /* last valid head seen */
    bool broken;
    bool seq_known;           /* false until the first record after attach */
    uint64_t seq_next;
    uint64_t delivered;       /* records handed out (LOST excluded) */
    uint64_t lost;            /* sum of LOST counts seen */
    char why[256];            /* the error that broke the ring */
};

/* Attach to ring `ring`: reads the shared tail once (a previous consumer's
 * position) and validates it against head; the ring resumes there. */
int ring_consumer_init(struct ring_consumer *c, const struct ring_region *r,
                       uint32_t ring, struct hvk_err *err);
/* Payload bytes of the largest record this ring can carry: a buffer this
 * big never makes ring_read_next fail with "buffer too small". */
static inline size_t ring_consumer_max_payload(const struct ring_consumer *c)
{
    return (size_t)(c->max_rec - sizeof(struct ring_rec_hdr));
}
/* Copy out the next record: 1 = *hdr and buf[0, hdr->size - 24) filled;
 * 0 = ring empty; -1 = error. A too-small buffer fails without consuming
 * the record or breaking the ring; every other error breaks the ring. LOST
 * records are returned to the caller like any other (type RING_REC_LOST). */
int ring_read_next(struct ring_consumer *c, struct ring_rec_hdr *hdr,
                   void *buf, size_t bufsize, struct hvk_err *err);
/* Like ring_read_next but leaves the record in place (header only). The
 * header is validated but advisory: ring_read_next reads and validates it
 * again, and its result is the one that counts. */
int ring_peek(struct ring_consumer *c, struct ring_rec_hdr *hdr,
              struct hvk_err *err);
/* Doorbell: ask for a wakeup. Returns 1 if the ring is still empty and the
 * caller may sleep on the eventfd, 0 if data arrived (request withdrawn),
 * -1 if the ring is broken. */
int ring_consumer_arm(struct ring_consumer *c, struct hvk_err *err);

/* ---- doorbells (eventfd) ------------------------------------------------ */

/* Add 1 to an eventfd; EAGAIN (counter saturated) counts as success. */
int ring_doorbell_kick(int fd, struct hvk_err *err);
/* Reset an eventfd (non-blocking fd): 0 if it was clear, 1 if it had rung. */
int ring_doorbell_drain(int fd, struct hvk_err *err);

/* ---- command helpers ---------------------------------------------------- */

/* hvd: send a request on the command ring (producer with RING_PROD_NOLOSS).
 * Returns RING_OK, RING_FULL, or -1. */
int ring_cmd_send(struct ring_producer *p, uint64_t req_id, uint32_t cmd,
                  uint32_t vcpu, const void *args, uint32_t args_len,
                  struct hvk_err *err);
/* hv: decode a REQUEST record read from the command ring. *args points
 * into payload. Refuses a wrong type, short payload or unknown command. */
int ring_cmd_parse(const struct ring_rec_hdr *hdr, const void *payload,
                   struct ring_req *req, const void **args, uint32_t *args_len,
                   struct hvk_err *err);
/* hv: answer on the control ring. Returns RING_OK, RING_DROPPED, or -1. */
int ring_reply_send(struct ring_producer *p, uint64_t req_id, uint32_t cmd,
                    int32_t status, const void *data, uint32_t data_len,
                    struct hvk_err *err);
/* hvd: decode a REPLY record. */
int ring_reply_parse(const struct ring_rec_hdr *hdr, const void *payload,
                     struct ring_reply *rep, const void **data,
                     uint32_t *data_len, struct hvk_err *err);

const char *ring_rec_type_name(uint16_t type);
const char *ring_status_name(int32_t status);

#endif
