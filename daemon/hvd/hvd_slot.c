/* hvd_slot.c -- a request's answer: the reply line, built once, delivered
 * in request order by the client, or dropped if the client left. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hvd.h"

struct hvd_slot *hvd_slot_new(struct hvd_client *c, json_t *id)
{
    struct hvd_slot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->client = c;
    s->id = json_incref(id);
    if (c->tail)
        c->tail->next = s;
    else
        c->head = s;
    c->tail = s;
    c->nslots++;
    return s;
}

void hvd_slot_free(struct hvd_slot *s)
{
    json_decref(s->id);
    json_decref(s->results);
    free(s->addrs);
    free(s->line);
    free(s);
}

void hvd_slot_settle(struct hvd *d, struct hvd_slot *s)
{
    if (!s->client) {
        if (!s->outstanding)
            hvd_slot_free(s);
        return;
    }
    if (s->line && !s->outstanding)
        hvd_client_flush(d, s->client);
}

/* Set the reply line from msg (stolen), unless one is set already. */
static void hvd_slot_set(struct hvd *d, struct hvd_slot *s, json_t *msg)
{
    if (s->client && !s->line && msg) {
        if (s->id)
            json_object_set(msg, "id", s->id);
        char *text = json_dumps(msg, JSON_COMPACT);
        if (!text) {
            /* Out of memory: still answer, with a fixed line. */
            text = strdup("{\"error\":{\"class\":\"InternalError\",\"desc\":\"out of memory\"}}");
        }
        if (text) {
            size_t n = strlen(text);
            char *line = realloc(text, n + 2);
            if (line) {
                line[n] = '\n';
                line[n + 1] = '\0';
                s->line = line;
                s->line_len = n + 1;
            } else {
                free(text);
            }
        }
    }
    json_decref(msg);
    hvd_slot_settle(d, s);
}

void hvd_slot_return(struct hvd *d, struct hvd_slot *s, json_t *value)
{
    json_t *msg = value ? json_object() : NULL;
    if (msg)
        json_object_set_new(msg, "return", value);
    hvd_slot_set(d, s, msg);
}

void hvd_slot_error(struct hvd *d, struct hvd_slot *s, const char *cls, const char *fmt, ...)
{
    char desc[HVD_DESC_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    /* json_pack refuses invalid UTF-8: keep desc to what it accepts. */
    json_t *msg = json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", desc);
    if (!msg)
        msg = json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", "(unprintable description)");
    hvd_slot_set(d, s, msg);
}
