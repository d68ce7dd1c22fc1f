/* trace_record.h -- building one FAULT record on the faulting vCPU's thread
 * (trace.c's helpers; the vCPU is outside KVM_RUN, so its registers are
 * consistent). */
#ifndef HV_TRACE_RECORD_H
#define HV_TRACE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include <hvkit/fault.h>

struct hv_trace;
struct hv_vcpu;

/* At the first instruction of vector's handler: read the exception frame
 * from the guest stack, classify (a #PF by walking CR2 under CR3 now), take
 * a short stack, and fill rec. Never fails: what cannot be read is left
 * out and said in the record's flags. */
void trace_record_exception(struct hv_trace *t, struct hv_vcpu *vcpu, unsigned vector, struct hvk_fault_rec *rec);
/* An MMIO exit (data holds the value written, or read by the device). */
void trace_record_mmio(struct hv_trace *t, struct hv_vcpu *vcpu, uint64_t gpa, unsigned len, bool is_write,
                       const uint8_t *data, struct hvk_fault_rec *rec);

/* A first touch of lazily backed RAM. */
void trace_record_fault_in(struct hv_trace *t, struct hv_vcpu *vcpu, uint64_t gpa, struct hvk_fault_rec *rec);

#endif
