/* client.h -- hvctl's connection to hvd's JSON API (docs/api.md): socket
 * resolution, greeting, one request at a time, bounded replies, and the map
 * from hvd's error classes to hvctl's exit codes. */
#ifndef HVCTL_CLIENT_H
#define HVCTL_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include <hvkit/error.h>

/* A reply line longer than this is refused (hvd's own answers stay far
 * below: read-memory is at most 64 KiB, maps is bounded by the walker). */
#define HVCTL_CLIENT_LINE_MAX   (128u * 1024 * 1024)
#define HVCTL_CLIENT_TIMEOUT_MS 30000   /* hvd gives up on hv after 10 s */

struct hvctl_client;

/* Where to connect: socket (--socket PATH) wins, else HVK_API_SOCKET_NAME in
 * the runtime directory (--rundir DIR, $HVKIT_RUNDIR, ...). timeout_ms
 * bounds every wait (connect, greeting, each reply); 0 = the default. */
struct hvctl_client_opts {
    const char *rundir;
    const char *socket;
    int timeout_ms;
};

/* Connect and check the greeting. On failure returns NULL with err filled
 * and err->code set to an HVCTL_EXIT_* (CONNECT, BAD_INPUT, INTERNAL). */
struct hvctl_client *hvctl_client_connect(const struct hvctl_client_opts *o, struct hvk_err *err);

/* The same over an already connected stream socket (tests); takes fd. */
struct hvctl_client *hvctl_client_from_fd(int fd, int timeout_ms, struct hvk_err *err);

void hvctl_client_close(struct hvctl_client *c);

/* Lower the reply size bound (tests); never above HVCTL_CLIENT_LINE_MAX. */
void hvctl_client_set_line_max(struct hvctl_client *c, size_t max);

/* True when the greeting listed this capability (an absent list: true). */
int hvctl_client_has_capability(const struct hvctl_client *c, const char *cmd);

/* Send {"execute": cmd, "arguments": args, "id": N} (args may be NULL; the
 * reference is stolen either way) and wait for the reply with that id,
 * skipping asynchronous events. On success *ret is a new reference to the
 * "return" value and 0 is returned. On failure -1, err->msg has the context
 * (for an error reply: hvd's desc) and err->code an HVCTL_EXIT_*; when hvd
 * answered with an error, *eclass (if given) points at a static copy of the
 * class name, else "". */
int hvctl_client_exec(struct hvctl_client *c, const char *cmd, json_t *args, json_t **ret,
                      const char **eclass, struct hvk_err *err);

/* After a subscribe: wait up to timeout_ms (-1: forever) for the next
 * message; 1 and *msg (a new reference to a JSON object: an event, or a
 * reply nobody waits for) when one came, 0 on timeout, -1 with err->code. */
int hvctl_client_next(struct hvctl_client *c, int timeout_ms, json_t **msg, struct hvk_err *err);

/* HVCTL_EXIT_* for an hvd error class (docs/api.md "Error classes"). */
int hvctl_client_class_exit(const char *eclass);

#endif
