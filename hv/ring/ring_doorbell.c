/* ring_doorbell.c -- eventfd doorbells that wake a ring's consumer (the
 * protocol deciding when to ring them is in hvkit/ring.h, section 6). */
#include <errno.h>
#include <unistd.h>

#include "hvkit/ring.h"

int ring_doorbell_kick(int fd, struct hvk_err *err)
{
    uint64_t one = 1;
    for (int tries = 0; tries < 8; tries++) {   /* EINTR only; bounded */
        ssize_t n = write(fd, &one, sizeof one);
        if (n == (ssize_t)sizeof one)
            return 0;
        if (n < 0 && errno == EAGAIN)   /* counter saturated: already rung */
            return 0;
        if (n < 0 && errno != EINTR)
            return hvk_err_set(err, "doorbell: write to eventfd %d: %s", fd, strerror(errno));
    }
    return hvk_err_set(err, "doorbell: write to eventfd %d kept being interrupted", fd);
}

int ring_doorbell_drain(int fd, struct hvk_err *err)
{
    uint64_t v;
    for (int tries = 0; tries < 8; tries++) {
        ssize_t n = read(fd, &v, sizeof v);
        if (n == (ssize_t)sizeof v)
            return 1;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0 && errno != EINTR)
            return hvk_err_set(err, "doorbell: read from eventfd %d: %s", fd, strerror(errno));
        if (n >= 0)
            return hvk_err_set(err, "doorbell: short read (%zd bytes) from eventfd %d", n, fd);
    }
    return hvk_err_set(err, "doorbell: read from eventfd %d kept being interrupted", fd);
}
