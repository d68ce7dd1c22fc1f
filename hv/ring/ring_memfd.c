/* ring_memfd.c -- create the sealed memfd that holds the ring region, and
 * check one received from a peer before mapping it. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvkit/ring.h"

/* Seals that keep the size fixed for good: a peer cannot truncate the file
 * under the other's mapping (which would turn reads into SIGBUS). */
#define RING_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

int ring_memfd_create(const char *name, size_t size, struct hvk_err *err)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return hvk_err_set(err, "ring memfd: memfd_create: %s", strerror(errno));
    if (ftruncate(fd, (off_t)size) < 0) {
        hvk_err_set(err, "ring memfd: ftruncate to %zu: %s", size, strerror(errno));
        goto fail;
    }
    if (fcntl(fd, F_ADD_SEALS, RING_SEALS) < 0) {
        hvk_err_set(err, "ring memfd: sealing: %s", strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

int ring_memfd_check(int fd, size_t *size, struct hvk_err *err)
{
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0)
        return hvk_err_set(err, "ring memfd: fd %d has no seals (not a memfd?): %s",
                           fd, strerror(errno));
    if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
        return hvk_err_set(err, "ring memfd: fd %d is not sealed against resizing (seals %#x)",
                           fd, seals);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return hvk_err_set(err, "ring memfd: fstat: %s", strerror(errno));
    if (st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX)
        return hvk_err_set(err, "ring memfd: size %lld unusable", (long long)st.st_size);
    *size = (size_t)st.st_size;
    return 0;
}
