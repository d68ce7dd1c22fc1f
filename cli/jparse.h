/* jparse.h -- hvd's JSON values back into the walker's structs (the inverse
 * of hvjson for walk-result and maps-result), so live results render through
 * the same code as --core ones. Input is untrusted: every field is type-,
 * range- and consistency-checked; anything off is refused with a message. */
#ifndef HVCTL_JPARSE_H
#define HVCTL_JPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include <hvkit/error.h>
#include <x86/maps.h>
#include <x86/walk.h>

/* "0x..." (1..16 hex digits, as the API writes them) into *out. */
int hvctl_jparse_hex(const json_t *j, uint64_t *out);

/* Member `key` of object o as hex; a missing or malformed one is an error
 * naming `what`.key. */
int hvctl_jparse_hex_member(const json_t *o, const char *key, uint64_t *out, const char *what,
                            struct hvk_err *err);

/* schemas/walk-result.json into *w. */
int hvctl_jparse_walk(const json_t *j, struct x86_walk *w, struct hvk_err *err);

/* schemas/walk-result.json#/$defs/rights into *r. */
int hvctl_jparse_rights(const json_t *j, struct x86_rights *r, struct hvk_err *err);

/* One element of maps-result's ranges. */
int hvctl_jparse_map_range(const json_t *j, struct x86_map_range *r, struct hvk_err *err);

/* The header (mode, cr3) and stats of a maps-result; the ranges are walked
 * by the caller with hvctl_jparse_map_range. */
int hvctl_jparse_maps_head(const json_t *j, enum x86_mode *mode, uint64_t *cr3,
                           struct x86_maps_stats *st, struct hvk_err *err);

/* Token lookups: the inverse of x86_mode_name() etc. -1 when unknown. */
int hvctl_jparse_mode(const char *s, enum x86_mode *out);

#endif
