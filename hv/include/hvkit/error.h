/* error.h -- the one error-reporting convention of hvkit's host code.
 *
 * A function that can fail takes `struct hvk_err *err` as its last parameter,
 * fills it with one line of context where the failure is known, and returns
 * -1 (or NULL / false). Callers pass it up unchanged or prefix context with
 * hvk_err_prefix(). err may be NULL when the caller does not care. Bad input
 * from a guest, a client or a file is an expected failure, never an assert.
 */
#ifndef HVKIT_ERROR_H
#define HVKIT_ERROR_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct hvk_err {
    char msg[512];
    int code;   /* optional category for the caller (e.g. an exit status); 0 = none */
};

/* Record a category beside the message; returns -1 like hvk_err_set(). */
static inline int hvk_err_code(struct hvk_err *err, int code)
{
    if (err)
        err->code = code;
    return -1;
}

__attribute__((format(printf, 2, 3)))
static inline int hvk_err_set(struct hvk_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Prepend "<context>: " to the message already in err. */
__attribute__((format(printf, 2, 3)))
static inline int hvk_err_prefix(struct hvk_err *err, const char *fmt, ...)
{
    if (err) {
        /* head + ": " + old always fits: 191 + 2 + 318 < sizeof msg. Longer
         * parts are cut, never overflowed. */
        char head[192], old[319];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(head, sizeof head, fmt, ap);
        va_end(ap);
        size_t hl = strlen(head), ol = strnlen(err->msg, sizeof old - 1);
        memcpy(old, err->msg, ol);
        old[ol] = '\0';
        memcpy(err->msg, head, hl);
        memcpy(err->msg + hl, ": ", 2);
        memcpy(err->msg + hl + 2, old, ol + 1);
    }
    return -1;
}

#endif
