/* rundir.h -- where hv, hvd and hvctl meet: the runtime directory
 * (DESIGN.md "Where the sockets live"), resolved the same way by all three. */
#ifndef HVKIT_RUNDIR_H
#define HVKIT_RUNDIR_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hvkit/error.h>
#include <hvkit/proto.h>

/* Resolve the directory: `override` (a --rundir value, may be NULL), else
 * $HVKIT_RUNDIR, else /run/hvkit for root, else $XDG_RUNTIME_DIR/hvkit. */
static inline int hvk_rundir_resolve(const char *override, char *buf, size_t len, struct hvk_err *err)
{
    const char *env = getenv(HVK_RUNDIR_ENV);
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (override && *override)
        n = snprintf(buf, len, "%s", override);
    else if (env && *env)
        n = snprintf(buf, len, "%s", env);
    else if (geteuid() == 0)
        n = snprintf(buf, len, "%s", HVK_RUNDIR_ROOT);
    else if (xdg && *xdg)
        n = snprintf(buf, len, "%s/hvkit", xdg);
    else
        return hvk_err_set(err, "no runtime directory: give --rundir DIR or set %s (XDG_RUNTIME_DIR is unset)",
                           HVK_RUNDIR_ENV);
    if (n < 0 || (size_t)n >= len)
        return hvk_err_set(err, "runtime directory path is too long");
    return 0;
}

/* The path of socket `name` in the resolved directory; it must fit a
 * sockaddr_un (108 bytes). */
static inline int hvk_rundir_socket(const char *override, const char *name, char *buf, size_t len,
                                    struct hvk_err *err)
{
    char dir[256];
    if (hvk_rundir_resolve(override, dir, sizeof dir, err) < 0)
        return -1;
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len || n >= 108)
        return hvk_err_set(err, "socket path '%s/%s' is too long for a unix socket", dir, name);
    return 0;
}

/* Create the directory (mode 0700) if it is missing. */
static inline int hvk_rundir_create(const char *override, struct hvk_err *err)
{
    char dir[256];
    if (hvk_rundir_resolve(override, dir, sizeof dir, err) < 0)
        return -1;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return hvk_err_set(err, "cannot create runtime directory '%s': %s", dir, strerror(errno));
    return 0;
}

#endif
