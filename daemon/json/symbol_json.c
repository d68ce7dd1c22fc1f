/* symbol_json.c -- symbol+offset of a guest address, the one way every JSON
 * object of hvjson names code (stacks, fault records). */
#include <hvkit/hvjson.h>

#include <stdlib.h>
#include <string.h>

/* A symbol name as a JSON string. Names come from files the user gave and
 * may hold invalid UTF-8, which jansson refuses: such bytes become '?'. */
static json_t *hvjson_symname(const char *name)
{
    json_t *s = json_string(name);
    if (s)
        return s;
    size_t n = strlen(name);
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        c[i] = (unsigned char)name[i] >= 0x80 ? '?' : name[i];
    s = json_string(c);
    free(c);
    return s;
}

/* Add "symbol" and "offset" to o when sym knows addr. A return address is
 * looked up at pc - 1 (the call instruction), as a call that ends a function
 * would otherwise be named after the next one; offset still counts from pc. */
int hvjson_add_symbol(json_t *o, const struct x86_symbolizer *sym, uint64_t addr,
                      bool is_return)
{
    const char *name = NULL;
    uint64_t off = 0, at = is_return && addr ? addr - 1 : addr;
    if (!sym || !sym->lookup || sym->lookup(sym->ctx, at, &name, &off) != 0 || !name)
        return 0;
    if (is_return && addr)
        off++;
    if (off > (uint64_t)INT64_MAX)
        return 0;   /* a bogus symbol size: no name rather than a negative offset */
    if (json_object_set_new(o, "symbol", hvjson_symname(name)) < 0 ||
        json_object_set_new(o, "offset", json_integer((json_int_t)off)) < 0)
        return -1;
    return 0;
}
