/* transcript_test.c -- replay one tests/data/gdb/<case>.txt transcript against the stub and the fake target.
 *
 * Format, one item per line:
 *   # comment            (and blank lines)
 *   > BYTES              bytes gdb sends, fed to the stub in one call
 *   < BYTES              bytes the stub must emit (concatenated with the next '<' lines)
 *   ! run                let the fake target run (reports a stop if it hits one)
 *   ! retry              gdb_stub_retry() (after an op answered GDB_PENDING)
 *   ! state NAME         the stub must be halted / running / pending / closed
 *   ! stop TID SIGNO     report a plain stop (e.g. while halted: only remembered)
 * BYTES are literal, with escapes \xHH and \\, and "#@@" stands for '#' plus
 * the correct checksum of the bytes since the last '$'. The output produced
 * after a '>' or '!' line must equal exactly the '<' lines that follow it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_target.h"

#define TR_MAX (4 * GDB_RSP_PACKET_SIZE)

struct tr_buf {
    unsigned char *p;
    size_t n;
};

static struct tr_buf tr_out, tr_want;

static int tr_write(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    if (len > TR_MAX - tr_out.n)
        return -1;
    memcpy(tr_out.p + tr_out.n, buf, len);
    tr_out.n += len;
    return 0;
}

/* Decode a BYTES field into b (appending). -1 on a bad escape or overflow. */
static int tr_decode(const char *s, struct tr_buf *b)
{
    size_t start = b->n, dollar = b->n;

    while (*s && *s != '\n') {
        unsigned char c = (unsigned char)*s++;
        if (b->n + 3 > TR_MAX)
            return -1;
        if (c == '\\') {
            if (*s == '\\') {
                c = '\\';
                s++;
            } else if (*s == 'x' && s[1] && s[2]) {
                char h[3] = { s[1], s[2], 0 };
                char *e;
                c = (unsigned char)strtoul(h, &e, 16);
                if (*e)
                    return -1;
                s += 3;
            } else {
                return -1;
            }
            b->p[b->n++] = c;
            continue;
        }
        if (c == '$')
            dollar = b->n + 1;
        if (c == '#' && s[0] == '@' && s[1] == '@') {
            unsigned sum = 0;
            for (size_t i = dollar; i < b->n; i++)
                sum += b->p[i];
            b->n += (size_t)sprintf((char *)b->p + b->n, "#%02x", sum & 0xff);
            s += 2;
            continue;
        }
        b->p[b->n++] = c;
    }
    (void)start;
    return 0;
}

static void tr_print(const char *what, const struct tr_buf *b)
{
    fprintf(stderr, "  %s (%zu bytes): ", what, b->n);
    for (size_t i = 0; i < b->n && i < 600; i++) {
        unsigned char c = b->p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputs(b->n > 600 ? "...\n" : "\n", stderr);
}

static int tr_check(const char *path, int line)
{
    int ok = tr_out.n == tr_want.n && memcmp(tr_out.p, tr_want.p, tr_out.n) == 0;

    if (!ok) {
        fprintf(stderr, "%s: output before line %d differs\n", path, line);
        tr_print("expected", &tr_want);
        tr_print("got     ", &tr_out);
    }
    tr_out.n = tr_want.n = 0;
    return ok ? 0 : -1;
}

static const char *tr_state_name(enum gdb_stub_state st)
{
    switch (st) {
    case GDB_STUB_HALTED: return "halted";
    case GDB_STUB_RUNNING: return "running";
    case GDB_STUB_PENDING: return "pending";
    case GDB_STUB_CLOSED: return "closed";
    }
    return "?";
}

int main(int argc, char **argv)
{
    static struct fake_target fake;
    static char line[TR_MAX];
    struct tr_buf in = { 0 };
    struct gdb_stub *stub;
    FILE *fp;
    int lineno = 0, failed = 0, steps = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s TRANSCRIPT\n", argv[0]);
        return 2;
    }
    fp = fopen(argv[1], "r");
    if (!fp) {
        perror(argv[1]);
        return 2;
    }
    tr_out.p = malloc(TR_MAX);
    tr_want.p = malloc(TR_MAX);
    in.p = malloc(TR_MAX);
    fake_target_init(&fake);
    stub = gdb_stub_new(&gdb_arch_x86_64, &fake_target_ops, &fake, tr_write, NULL);
    if (!tr_out.p || !tr_want.p || !in.p || !stub) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (line[0] == '<' && line[1] == ' ') {
            if (tr_decode(line + 2, &tr_want) < 0)
                goto bad_line;
            continue;
        }
        /* A new action: what the previous one produced must match. */
        if (tr_check(argv[1], lineno) < 0)
            failed = 1;
        steps++;
        if (line[0] == '>' && line[1] == ' ') {
            in.n = 0;
            if (tr_decode(line + 2, &in) < 0)
                goto bad_line;
            gdb_stub_feed(stub, in.p, in.n);
        } else if (strcmp(line, "! run\n") == 0) {
            fake_target_run(&fake, stub);
        } else if (strcmp(line, "! retry\n") == 0) {
            gdb_stub_retry(stub);
        } else if (strncmp(line, "! state ", 8) == 0) {
            const char *want = line + 8, *got = tr_state_name(gdb_stub_state(stub));
            if (strncmp(want, got, strlen(got)) != 0 || want[strlen(got)] != '\n') {
                fprintf(stderr, "%s:%d: state is %s\n", argv[1], lineno, got);
                failed = 1;
            }
        } else if (strncmp(line, "! stop ", 7) == 0) {
            struct gdb_stop st = { .reason = GDB_STOP_SIGNAL };
            long long tid;
            if (sscanf(line + 7, "%lld %d", &tid, &st.signo) != 2)
                goto bad_line;
            st.tid = tid;
            gdb_stub_report_stop(stub, &st);
        } else {
            goto bad_line;
        }
    }
    if (tr_check(argv[1], lineno + 1) < 0)
        failed = 1;
    fclose(fp);
    gdb_stub_free(stub);
    free(tr_out.p);
    free(tr_want.p);
    free(in.p);
    if (steps == 0) {
        fprintf(stderr, "%s: no steps: an empty transcript proves nothing\n", argv[1]);
        return 1;
    }
    printf("%s: %d steps, %s\n", argv[1], steps, failed ? "FAILED" : "ok");
    return failed;

bad_line:
    fprintf(stderr, "%s:%d: bad transcript line: %s", argv[1], lineno, line);
    return 2;
}
