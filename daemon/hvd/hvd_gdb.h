/* hvd_gdb.h -- hvd's GDB remote protocol glue: one gdb server per VM on
 * 127.0.0.1, sessions of the gdb/ library driven over the command ring.
 *
 * Hooks the rest of hvd calls (one line each):
 *   hvd_main.c    hvd_gdb_config from --gdb-port / --no-gdb;
 *   hvd_reg.c     hvd_gdb_vm_up once a VM is registered;
 *   hvd_vm.c      hvd_gdb_on_stop for RING_REC_STOP, hvd_gdb_vm_down when the
 *                 VM's resources are released, hvd_gdb_free with the record;
 *   hvd_loop.c    hvd_gdb_on_event for HVD_W_GDB watches;
 *   hvd_api.c     hvd_gdb_json for query-vms' "gdb" member. */
#ifndef HVD_GDB_H
#define HVD_GDB_H

#include "hvd.h"

/* base < 0: no gdb servers; 0: an ephemeral port per VM; else base + i for
 * the i-th VM (the lowest i no live VM uses). */
void hvd_gdb_config(int base);

void hvd_gdb_vm_up(struct hvd *d, struct hvd_vm *vm);
/* The VM is gone (or hvd stops): a session gets W (if the guest was
 * running) and ends; the server closes. d may be NULL (no epoll left). */
void hvd_gdb_vm_down(struct hvd *d, struct hvd_vm *vm);
void hvd_gdb_free(struct hvd_vm *vm);
void hvd_gdb_on_event(struct hvd *d, struct hvd_watch *w, uint32_t events);
/* A STOP record (untrusted payload) from vCPU ring `ring`. */
void hvd_gdb_on_stop(struct hvd *d, struct hvd_vm *vm, uint32_t ring, const void *p, size_t len);
/* {"host": "127.0.0.1", "port": N}, or NULL when the VM has no server. */
json_t *hvd_gdb_json(const struct hvd_vm *vm);

#endif
