/* fault_case.h -- test fixture for fault classification: a case (sparse memory, registers, one trapped exception) loaded from JSON. */
#ifndef FAULT_CASE_H
#define FAULT_CASE_H

#include <hvkit/error.h>
#include <x86/fault.h>

#include "walk_case.h"   /* struct wc_mem: sparse guest RAM, shared with tests/walk */

struct fc_case {
    struct x86_fault_input in;
    struct x86_cpu_facts cpu;
    struct wc_mem mem;
    struct x86_fault_frame frame;   /* rip from the case, cs from its cpl */
};

/* Load a case (format: tests/data/fault/README.md). -1 with err when the
 * file is malformed. */
int fc_case_load(const char *path, struct fc_case *c, struct hvk_err *err);
void fc_case_free(struct fc_case *c);

/* Classify, fill the record with a 2-frame stack, check it, and describe
 * the outcome as text (malloc'd into *out). -1 with err when the
 * classifier, the fill or the check refuses, or when the record's rebuilt
 * notes differ from the classification's. rec may be NULL. */
int fc_case_run(struct fc_case *c, char **out, struct hvk_fault_rec *rec, struct hvk_err *err);

#endif
