/* live.h -- what hvctl's live commands share: connecting to hvd with the
 * global and per-command options, the {vm, vcpu} arguments, one call with
 * a clear message when the VM is missing or ambiguous, and JSON output. */
#ifndef HVCTL_LIVE_H
#define HVCTL_LIVE_H

#include <jansson.h>

#include <hvkit/error.h>

#include "client.h"
#include "hvctl.h"
#include "source.h"

/* Connect to hvd: per-command --rundir/--socket (so) win over the global
 * ones (g). NULL with err->code on failure. */
struct hvctl_client *hvctl_live_connect(const struct hvctl_source_opts *so,
                                        const struct hvctl_opts *g, struct hvk_err *err);

/* {"vm": NAME (only when given), "vcpu": N (only when with_vcpu)}. */
json_t *hvctl_live_args(const struct hvctl_source_opts *so, bool with_vcpu);

/* hvctl_client_exec, plus: when hvd says VMNotFound, the message lists the
 * running VMs (from query-vms) and says how to choose one. */
int hvctl_live_call(struct hvctl_client *c, const struct hvctl_source_opts *so, const char *cmd,
                    json_t *args, json_t **ret, struct hvk_err *err);

/* Print a JSON value (indented, keys in hvd's order) and a newline. */
void hvctl_live_print_json(const json_t *j);

/* Print "hvctl: msg" and return err->code (HVCTL_EXIT_INTERNAL if unset). */
int hvctl_live_fail(const struct hvk_err *err);
/* Connect and fetch query-vms (an array). HVCTL_EXIT_OK with *c and *vms
 * set, else the exit code after saying why; either way the caller closes
 * *c if set and decrefs *vms. */
int hvctl_live_query_vms(const struct hvctl_source_opts *so, const struct hvctl_opts *g, struct hvctl_client **c,
                         json_t **vms);

#endif
