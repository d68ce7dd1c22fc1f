/* proto.h -- the protocol between hv and hvd beyond the ring framing
 * (ring.h): registration over hvd's unix socket, and what the payloads of
 * REQUEST, REPLY, CONSOLE and LIFECYCLE records carry.
 *
 * 1. Registration. hv connects (SOCK_SEQPACKET) to HVK_REG_SOCKET_NAME in the
 *    runtime directory and sends ONE message: the hello, a JSON object as text
 *    (no NUL), at most HVK_HELLO_MAX bytes, with HVK_HELLO_NR_FDS file
 *    descriptors attached by SCM_RIGHTS in the order of enum hvk_hello_fd:
 *
 *      {"hello": {"proto": 1, "name": "guest", "uuid": "8-4-4-4-12 hex",
 *                 "pid": 1234, "vcpus": 2, "kernel": "/path or (bundled)",
 *                 "memory": [{"gpa": "0x0", "size": "0xc0000000",
 *                             "offset": "0x0"}, ...],
 *                 "ring_size": 1052672, "allow_write": false}}
 *
 *    hvd answers with one message: {"welcome": {"proto": 1}} or
 *    {"error": {"class": "...", "desc": "..."}}, then keeps the socket open:
 *    EOF on it is how each side learns the other is gone. Nothing else is sent
 *    on it. The ring memfd persists in hv; a hello after an hvd restart passes
 *    the same memfd, and hvd resumes each ring at its shared tail.
 *
 * 2. Commands (command ring, RING_REC_REQUEST). struct ring_req carries the
 *    request id and enum ring_cmd; the argument bytes that follow are a JSON
 *    object as text (no NUL), e.g. WALK: {"vcpu":0,"gva":"0xffff...",
 *    "access":"r","user":false}. docs/api.md gives every command's arguments;
 *    hvd checks them before forwarding, hv checks them again.
 *
 * 3. Replies (control ring, RING_REC_REPLY). struct ring_reply carries the
 *    same request id, the command and enum ring_status; the data that follows
 *    is JSON text: with RING_ST_OK, the value hvd returns to the client as
 *    "return"; otherwise {"desc": "one line"} which hvd turns into an error.
 *    hvd parses it (bounded, with jansson) before using it: hv is the
 *    guest-facing process and is not trusted to produce valid JSON.
 *
 * 4. Events. CONSOLE (vCPU or control ring): raw console bytes, at most
 *    HVK_CONSOLE_CHUNK per record. LIFECYCLE (control ring): JSON text
 *    {"event": "started|paused|resumed|stopped", "status": N}. FAULT: see
 *    hvkit/fault.h. STOP (the stopping vCPU's ring): struct hvk_stop_rec,
 *    written when a debugger's breakpoint, watchpoint or single-step stops
 *    the VM (all-stop: every vCPU is parked until RESUME).
 */
#ifndef HVKIT_PROTO_H
#define HVKIT_PROTO_H

#define HVK_PROTO_VERSION    1
#define HVK_REG_SOCKET_NAME  "hvd-reg.sock"   /* hv -> hvd registration */
#define HVK_API_SOCKET_NAME  "hvd.sock"       /* clients -> hvd JSON API */
#define HVK_HELLO_MAX        8192             /* bytes of hello JSON */
#define HVK_CMD_ARGS_MAX     (64 * 1024)      /* bytes of JSON arguments */
#define HVK_CONSOLE_CHUNK    256
#define HVK_READ_MEM_MAX     (64 * 1024)      /* bytes one read-memory returns */

enum hvk_hello_fd {
    HVK_FD_RING = 0,      /* the ring region memfd (ring.h), sealed */
    HVK_FD_BELL_HVD,      /* eventfd hv writes: records for hvd */
    HVK_FD_BELL_HV,       /* eventfd hvd writes: requests for hv */
    HVK_FD_RAM,           /* guest RAM memfd (hvd maps it read-only) */
    HVK_HELLO_NR_FDS
};

#include <stdint.h>

enum hvk_stop_reason {
    HVK_STOP_SW_BREAK = 1,     /* a software breakpoint (SET_BP type "sw") */
    HVK_STOP_HW_BREAK,         /* a hardware execute breakpoint */
    HVK_STOP_WATCH_WRITE,      /* a write watchpoint fired (after the write) */
    HVK_STOP_WATCH_ACCESS,     /* a read/write watchpoint fired */
    HVK_STOP_STEP,             /* a requested single-step finished */
};

/* The stopped vCPU's registers, carried in the STOP record so a debugger
 * needs no round trip to hv to show them (gdb reads them at every stop). */
struct hvk_stop_regs {
    uint64_t gpr[16];          /* rax rbx rcx rdx rsi rdi rbp rsp r8..r15 (KVM's order) */
    uint64_t rip, rflags;
    uint16_t cs, ss, ds, es, fs, gs;
    uint32_t pad;
    uint64_t fs_base, gs_base;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
};

#define HVK_STOP_HAS_REGS 1u   /* hvk_stop_rec.flags: regs is valid */

/* Payload of RING_REC_STOP. */
struct hvk_stop_rec {
    uint32_t vcpu;
    uint32_t reason;           /* enum hvk_stop_reason */
    uint64_t pc;               /* where the vCPU stopped (the breakpoint's address) */
    uint64_t data_addr;        /* the watched address for watchpoints, else 0 */
    uint32_t flags;            /* HVK_STOP_HAS_REGS */
    uint32_t pad;
    struct hvk_stop_regs regs; /* the registers at the stop (pc already applied) */
};

/* The runtime directory shared by hv, hvd and hvctl: --rundir DIR, else
 * $HVKIT_RUNDIR, else /run/hvkit as root, else $XDG_RUNTIME_DIR/hvkit. */
#define HVK_RUNDIR_ENV       "HVKIT_RUNDIR"
#define HVK_RUNDIR_ROOT      "/run/hvkit"

#endif
