/* probe.h -- capabilities learned by running a few instructions in a
 * throw-away VM, where KVM_CHECK_EXTENSION cannot tell (DESIGN.md "This
 * machine": some debug features differ by host). */
#ifndef HV_PROBE_H
#define HV_PROBE_H

#include <stdbool.h>

/* Does a hardware data breakpoint (a write to a watched address) stop the
 * guest with KVM_EXIT_DEBUG? false also when the probe cannot run. */
bool hv_probe_data_breakpoints(int kvm_fd);
/* Does KVM's own software-breakpoint support (KVM_GUESTDBG_USE_SW_BP)
 * report an int3 as a #BP debug exit? */
bool hv_probe_sw_breakpoints(int kvm_fd);

#endif
