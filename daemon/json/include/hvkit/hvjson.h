/* hvjson.h -- walk, maps, stack results and FAULT event data as the JSON objects hvd's API returns
 * (schemas/walk-result.json, schemas/maps-result.json). hvctl --json prints
 * exactly these. 64-bit addresses and raw entries are "0x..." hex strings
 * (JSON numbers lose precision above 2^53); counts are numbers. */
#ifndef HVKIT_HVJSON_H
#define HVKIT_HVJSON_H

#include <jansson.h>

#include <hvkit/error.h>
#include <hvkit/fault.h>
#include <x86/fault.h>
#include <x86/maps.h>
#include <x86/unwind.h>
#include <x86/walk.h>

/* New reference, or NULL with err (out of memory). */
json_t *hvjson_walk(const struct x86_walk *w, struct hvk_err *err);

/* Builder for a maps result: create, add ranges in order, finish. */
json_t *hvjson_maps_new(enum x86_mode mode, uint64_t cr3, struct hvk_err *err);
int hvjson_maps_add(json_t *maps, const struct x86_map_range *r, struct hvk_err *err);
int hvjson_maps_finish(json_t *maps, const struct x86_maps_stats *st, struct hvk_err *err);

/* The stack result: {"vcpu", "rip", "rsp", "rbp", "frames": [{"pc", "frame",
 * "symbol"?, "offset"?}], "stop": x86_unwind_stop_name(), "stop_desc",
 * "raw"?: [{"address", "value", "symbol"?, "offset"?}]}; offsets are numbers,
 * addresses "0x..." strings. raw NULL = no
 * "raw" key; sym NULL = no names. Frames after frame 0 are named by pc - 1
 * (the call), raw words only when flagged text. New reference, or NULL with
 * err (out of memory). */
json_t *hvjson_stack(unsigned vcpu, const struct x86_stack *st, const struct x86_stack_raw *raw,
                     const struct x86_symbolizer *sym, struct hvk_err *err);

/* The data object of a FAULT event (schemas/fault-event.json) from a record
 * read from a ring: {"vcpu", "class" ("guest.not_present", "exception.gp"),
 * "vector"/"vector_name" (null for stage-2 events), "error_code" (number or
 * null) + "error_bits" (["P","W","U","RSVD","I/D","PK"] as set, #PF only),
 * "address", "rip", "rsp", "cr3", "rflags", "cs", "ss", "user", "notes"
 * (x86_fault_note_name tokens), "stack": [{"pc", "symbol"?, "offset"?}],
 * "level"? (x86_level_id of the blamed entry), "gpa"?, "walk"?: {"levels",
 * "reason", "why", "fault_level"}, "mmio"?: {"gpa", "size", "write",
 * "value"}}. The record is checked first (x86_fault_rec_check, nvcpus as
 * there): a bad record gives NULL with the checker's message. sym may be
 * NULL (no names). New reference, or NULL with err. */
json_t *hvjson_fault(const struct hvk_fault_rec *r, const struct x86_symbolizer *sym, unsigned nvcpus,
                     struct hvk_err *err);

/* {"user","writable","executable","pkey","str"} as a new object. */
json_t *hvjson_rights(const struct x86_rights *r);

/* Add "symbol" and "offset" to o when sym (may be NULL) knows addr. A
 * return address (is_return) is looked up at addr - 1, the call, so a call
 * that ends a function is not named after the next one; offset still counts
 * from addr. Invalid UTF-8 in names becomes '?'. -1 only when out of memory. */
int hvjson_add_symbol(json_t *o, const struct x86_symbolizer *sym, uint64_t addr, bool is_return);

/* "0x%llx" as a new JSON string. */
json_t *hvjson_hex(uint64_t v);

/* Rights as the short token hvctl prints and the API carries: user/super
 * "u"/"s", then "r", "w"/"-", "x"/"-": e.g. "srw-". buf >= 5 bytes. */
const char *hvjson_rights_str(const struct x86_rights *r, char buf[5]);

#endif
