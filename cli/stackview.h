/* stackview.h -- a guest stack as hvctl shows it: hvd's `stack` return value
 * (docs/api.md), checked and flattened, optionally re-symbolized here. */
#ifndef HVCTL_STACKVIEW_H
#define HVCTL_STACKVIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <hvkit/error.h>

#define HVCTL_STACK_MAX_FRAMES 256   /* the API's max_frames bound */
#define HVCTL_STACK_MAX_RAW    512   /* the API's raw_words bound */

struct hvctl_stack_frame {
    uint64_t pc;
    uint64_t frame;
    char sym[160];      /* "name+0xoff", "" when unknown */
};

struct hvctl_stack_word {
    uint64_t address;
    uint64_t value;
    char sym[160];      /* "" when the value is not in known text */
};

struct hvctl_stackview {
    long long vcpu;
    uint64_t rip, rsp, rbp;
    unsigned nframes;
    struct hvctl_stack_frame frames[HVCTL_STACK_MAX_FRAMES];
    char stop[48];       /* the reason token */
    char stop_desc[160]; /* a longer line when hvd gives one, else "" */
    bool have_raw;
    unsigned nraw;
    struct hvctl_stack_word raw[HVCTL_STACK_MAX_RAW];
};

/* Parse hvd's stack return (untrusted) into *v. */
int hvctl_stackview_parse(const json_t *j, struct hvctl_stackview *v, struct hvk_err *err);

struct hvsym_table;
/* Replace every symbol with one from t (frames after the first are looked
 * up at pc - 1: a return address may be the next function's first byte). */
void hvctl_stackview_resymbolize(struct hvctl_stackview *v, const struct hvsym_table *t);

/* The human view: header, aligned frame table, stop reason, raw words. */
void hvctl_render_stack(FILE *f, const struct hvctl_stackview *v, bool color);

#endif
