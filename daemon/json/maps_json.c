/* maps_json.c -- an address-space enumeration as the API's maps-result JSON
 * object, built range by range so a large space is never held twice. */
#include <hvkit/hvjson.h>


json_t *hvjson_maps_new(enum x86_mode mode, uint64_t cr3, struct hvk_err *err)
{
    json_t *o = json_pack("{s:s, s:o, s:[]}", "mode", x86_mode_name(mode), "cr3",
                          hvjson_hex(cr3), "ranges");
    if (!o)
        hvk_err_set(err, "out of memory building maps JSON");
    return o;
}

int hvjson_maps_add(json_t *maps, const struct x86_map_range *r, struct hvk_err *err)
{
    json_t *a = json_object_get(maps, "ranges");
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:I, s:o}",
                          "va", hvjson_hex(r->va), "end", hvjson_hex(r->va + r->size),
                          "gpa", hvjson_hex(r->gpa), "size", hvjson_hex(r->size),
                          "page_size", (json_int_t)r->page_size,
                          "rights", hvjson_rights(&r->rights));
    if (!a || !o || json_array_append_new(a, o) < 0)
        return hvk_err_set(err, "out of memory building maps JSON");
    return 0;
}

int hvjson_maps_finish(json_t *maps, const struct x86_maps_stats *st, struct hvk_err *err)
{
    json_t *s = json_pack("{s:I, s:I, s:I, s:I, s:I, s:b}",
                          "entries", (json_int_t)st->entries, "tables", (json_int_t)st->tables,
                          "ranges", (json_int_t)st->ranges,
                          "unreadable", (json_int_t)st->unreadable,
                          "reserved", (json_int_t)st->reserved, "truncated", st->truncated);
    if (!s || json_object_set_new(maps, "stats", s) < 0)
        return hvk_err_set(err, "out of memory building maps JSON");
    return 0;
}
