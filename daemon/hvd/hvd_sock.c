/* hvd_sock.c -- creating hvd's listening unix sockets: mode 0600 before
 * listen(), a stale socket file removed only when nothing listens on it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hvd.h"

/* 1: something accepts connections at path; 0: nobody listens. */
static int hvd_sock_live(const char *path, int type)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 1;   /* cannot tell: do not remove anything */
    int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (r == 0)
        return 1;
    /* ECONNREFUSED: a socket file nobody listens on. EPROTOTYPE: a socket
     * of another type, which is not ours either way (refuse below). */
    return e == ECONNREFUSED ? 0 : 1;
}

int hvd_sock_listen(const char *path, int type, struct hvk_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof sa.sun_path)
        return hvk_err_set(err, "socket path '%s' is empty or too long for a unix socket", path);
    memcpy(sa.sun_path, path, n + 1);

    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return hvk_err_set(err, "'%s' exists and is not a socket; not touching it", path);
        if (hvd_sock_live(path, type))
            return hvk_err_set(err, "'%s' is in use: another hvd is running", path);
        if (unlink(path) < 0 && errno != ENOENT)
            return hvk_err_set(err, "cannot remove stale socket '%s': %s", path, strerror(errno));
        hvd_log("removed stale socket %s", path);
    }

    int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return hvk_err_set(err, "socket: %s", strerror(errno));
    /* The file is created with mode 0600: the umask covers bind() itself,
     * the chmod re-asserts it before anyone can connect (before listen). */
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    umask(old);
    if (r < 0) {
        close(fd);
        return hvk_err_set(err, "bind '%s': %s", path, strerror(e));
    }
    if (chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
        e = errno;
        unlink(path);
        close(fd);
        return hvk_err_set(err, "listen '%s': %s", path, strerror(e));
    }
    return fd;
}

/* One descriptor held in reserve: when accept fails for lack of
 * descriptors, it is released to accept and close the waiting connection,
 * so a level-triggered listening socket does not spin the loop. */
static int hvd_sock_reserve = -1;

void hvd_sock_shed(int listen_fd)
{
    if (hvd_sock_reserve < 0)
        return;
    close(hvd_sock_reserve);
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    hvd_sock_reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
    hvd_log("out of file descriptors: refused a connection");
}

void hvd_sock_reserve_init(void)
{
    if (hvd_sock_reserve < 0)
        hvd_sock_reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}
