/* render.h -- hvctl's human output for walk and maps results, whatever
 * source (core dump or hvd) produced them. */
#ifndef HVCTL_RENDER_H
#define HVCTL_RENDER_H

#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>

#include <x86/maps.h>
#include <x86/walk.h>

/* The crash-`vtop`-style per-level table, then the translation or fault.
 * cr3 NULL: not known (not printed). */
void hvctl_render_walk(FILE *f, const struct x86_walk *w, const uint64_t *cr3, bool color);

/* `info mem`-style aligned columns: header, one line per range, footer. */
void hvctl_render_maps_header(FILE *f, enum x86_mode mode, uint64_t cr3, bool color);
void hvctl_render_maps_range(FILE *f, const struct x86_map_range *r);
void hvctl_render_maps_footer(FILE *f, const struct x86_maps_stats *st, bool color);

/* "4K" "2M" "4M" "1G", or the byte count in hex for anything else. */
const char *hvctl_size_token(uint64_t size, char buf[24]);

/* One line for a FAULT or LOST event (schemas/fault-event.json,
 * lost-event.json), as `hvctl faults` prints it; syms may be NULL. */
struct hvsym_table;
void hvctl_render_fault_event(FILE *f, const json_t *ev, const struct hvsym_table *syms);

#endif
