/* fake_target.h -- TEST FIXTURE: an in-process fake x86-64 target (2 threads, known registers and memory) behind the gdb stub ops. */
#ifndef FAKE_TARGET_H
#define FAKE_TARGET_H

#include <stdint.h>

#include "gdbstub/stub.h"
#include "gdbstub/x86_64.h"

/* Memory: [FAKE_MEM_BASE, FAKE_MEM_BASE + FAKE_MEM_SIZE); byte at a is (a & 0xff)
 * except 4 known qwords at FAKE_QWORDS_ADDR (see fake_target.c). */
#define FAKE_MEM_BASE 0x1000u
#define FAKE_MEM_SIZE 0x10000u
#define FAKE_QWORDS_ADDR 0x2000u
#define FAKE_THREADS 2          /* tids 1 and 2 */
#define FAKE_MAX_BPS 16
#define FAKE_MAX_DEBUGREGS 4    /* Z1..Z4 share these, like DR0-DR3 */

struct fake_bp {
    enum gdb_bp_type type;
    uint64_t addr, kind;
};

struct fake_target {
    uint8_t regs[FAKE_THREADS][GDB_X86_64_NREGS][16];
    uint8_t mem[FAKE_MEM_SIZE];
    struct fake_bp bps[FAKE_MAX_BPS];
    int nbps;
    int running;
    int stop_requested;
    struct gdb_resume_action acts[GDB_STUB_MAX_THREADS + 1];
    size_t nacts;
    int detached, killed;
    int defer_reads;     /* read_mem/monitor answer GDB_PENDING this many more times */
    char last_resume[256];
};

extern const struct gdb_target_ops fake_target_ops;

void fake_target_init(struct fake_target *f);
/* If the target runs, decide how it stops (step: pc+1; continue: first
 * breakpoint, else first watchpoint; Ctrl-C: SIGINT) and report it. Returns 1
 * if a stop was reported, 0 if it keeps running (no breakpoint, no Ctrl-C). */
int fake_target_run(struct fake_target *f, struct gdb_stub *s);
uint64_t fake_target_reg64(const struct fake_target *f, int tid, int regnum);

#endif
