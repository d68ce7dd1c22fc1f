/* hvd_telemetry.h -- fault telemetry (issue 5 part 4): what hvd keeps per VM
 * from the FAULT and LOST records of the vCPU rings (counters per class and
 * per vCPU, 1/10/60 s rates, hot RIPs and pages, recent history), the
 * commands that read it (query-fault-stats, query-faults), trace-config
 * (forwarded to hv), and FAULT event subscriptions with per-client bounded
 * queues and LOST notices.
 *
 * Hooks the rest of hvd calls (one line each):
 *   hvd_vm.c      hvd_telem_on_fault / hvd_telem_on_lost from the vCPU ring
 *                 drain, hvd_telem_free when the VM record is freed;
 *   hvd_client.c  hvd_sub_refill after writing, hvd_sub_free on close;
 *   hvd_api.c     the command table entries below. */
#ifndef HVD_TELEMETRY_H
#define HVD_TELEMETRY_H

#include "hvd.h"

#define HVD_TELEM_HISTORY   1024          /* recent faults kept per VM */
#define HVD_TELEM_HOT       64            /* tracked RIPs / pages per VM (space-saving) */
#define HVD_TELEM_HOT_SHOW  10            /* how many query-fault-stats lists */
#define HVD_TELEM_BUCKETS   64            /* seconds of per-second counts (>= 61) */
#define HVD_SUB_QUEUE_MAX   (1u << 20)    /* bytes queued to a subscriber before events are dropped */

struct hvd_telem;
struct hvd_sub;

/* A RING_REC_FAULT record read from vCPU ring `ring` (untrusted payload of
 * len bytes): checked with x86_fault_rec_check, counted, kept, and sent to
 * subscribers. A bad record is counted as invalid and logged (rate-limited). */
void hvd_telem_on_fault(struct hvd *d, struct hvd_vm *vm, uint32_t ring, const struct ring_rec_hdr *h,
                        const void *payload, size_t len);
/* A LOST record from vCPU ring `ring`: hv dropped l->count records there. */
void hvd_telem_on_lost(struct hvd *d, struct hvd_vm *vm, uint32_t ring, const struct ring_lost *l);
void hvd_telem_free(struct hvd_telem *t);
/* The newest `limit` FAULT events kept for vm (oldest first), filtered by
 * class name or prefix (cls "" = all) and vCPU (-1 = all); NULL if out of
 * memory. */
json_t *hvd_telem_recent(struct hvd_vm *vm, uint64_t limit, const char *cls, int vcpu);

/* After a write to c: queue pending LOST notices if there is room again. */
void hvd_sub_refill(struct hvd_client *c);
void hvd_sub_free(struct hvd_sub *s);

/* Commands (hvd_api.c's table). */
int hvd_cmd_trace_config(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err);
int hvd_cmd_query_fault_stats(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err);
int hvd_cmd_query_faults(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err);
int hvd_cmd_subscribe(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err);
int hvd_cmd_unsubscribe(struct hvd *d, struct hvd_slot *s, const json_t *args, struct hvk_err *err);

#endif
