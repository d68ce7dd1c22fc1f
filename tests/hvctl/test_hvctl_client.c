/* test_hvctl_client.c -- hvctl's hvd client, JSON parsers and renderers on
 * hand-written hvd lines (a socketpair plays hvd): greeting checks, id
 * matching, events skipped, error classes to exit codes, size bounds, EOF
 * and timeouts; walk/maps/stack values parsed back and refused when off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvkit/hvjson.h>

#include "client.h"
#include "hvctl.h"
#include "jparse.h"
#include "render_hex.h"
#include "stackview.h"

#define GREETING "{\"hvkit\": {\"version\": \"0.1.0\", \"api\": 1, \"capabilities\": [\"walk\", \"regs\"]}}\n"

/* A client whose peer (*peer) has already sent `script`. */
static struct hvctl_client *client_with(const char *script, int *peer, int timeout_ms, struct hvk_err *err)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    size_t n = strlen(script);
    assert_int_equal(write(sv[1], script, n), (ssize_t)n);
    *peer = sv[1];
    return hvctl_client_from_fd(sv[0], timeout_ms, err);
}

/* What the client sent, as one JSON object (its first line). */
static json_t *peer_request(int peer)
{
    char buf[4096];
    ssize_t n = read(peer, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    assert_true(nl == buf + n - 1);   /* exactly one line */
    *nl = '\0';
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_exec_ok(void **state)
{
    (void)state;
    struct hvk_err err = { "" };
    int peer;
    struct hvctl_client *c = client_with(GREETING
        "{\"event\": \"FAULT\", \"data\": {}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\n"
        "{\"return\": {\"cr3\": \"0x268000\"}, \"id\": 1}\n", &peer, 2000, &err);
    assert_non_null(c);
    assert_true(hvctl_client_has_capability(c, "walk"));
    assert_false(hvctl_client_has_capability(c, "stack"));
    json_t *ret = NULL;
    assert_int_equal(hvctl_client_exec(c, "regs", json_pack("{s:s, s:i}", "vm", "g", "vcpu", 1), &ret, NULL, &err), 0);
    assert_string_equal(json_string_value(json_object_get(ret, "cr3")), "0x268000");
    json_t *req = peer_request(peer);
    assert_string_equal(json_string_value(json_object_get(req, "execute")), "regs");
    assert_int_equal(json_integer_value(json_object_get(req, "id")), 1);
    json_t *args = json_object_get(req, "arguments");
    assert_string_equal(json_string_value(json_object_get(args, "vm")), "g");
    assert_int_equal(json_integer_value(json_object_get(args, "vcpu")), 1);
    json_decref(req);
    json_decref(ret);
    hvctl_client_close(c);
    close(peer);
}

/* One exec against a scripted reply: the exit code it maps to. */
static int exec_code(const char *reply, const char **cls_out)
{
    struct hvk_err err = { "" };
    int peer;
    char script[4096];
    snprintf(script, sizeof script, GREETING "%s", reply);
    struct hvctl_client *c = client_with(script, &peer, 300, &err);
    assert_non_null(c);
    json_t *ret = NULL;
    const char *cls = NULL;
    int rc = hvctl_client_exec(c, "walk", NULL, &ret, &cls, &err);
    assert_int_equal(rc, -1);
    assert_null(ret);
    assert_true(err.msg[0] != '\0');
    if (cls_out)
        *cls_out = cls;
    hvctl_client_close(c);
    close(peer);
    return err.code;
}

static void test_error_classes(void **state)
{
    (void)state;
    const char *cls;
    assert_int_equal(exec_code("{\"error\": {\"class\": \"VMNotFound\", \"desc\": \"no VM 'x'\"}, \"id\": 1}\n", &cls),
                     HVCTL_EXIT_NOT_FOUND);
    assert_string_equal(cls, "VMNotFound");
    assert_int_equal(exec_code("{\"error\": {\"class\": \"VCPUNotFound\", \"desc\": \"d\"}, \"id\": 1}\n", NULL),
                     HVCTL_EXIT_NOT_FOUND);
    assert_int_equal(exec_code("{\"error\": {\"class\": \"InvalidArgument\", \"desc\": \"d\"}, \"id\": 1}\n", NULL),
                     HVCTL_EXIT_USAGE);
    assert_int_equal(exec_code("{\"error\": {\"class\": \"AddressFault\", \"desc\": \"d\"}, \"id\": 1}\n", NULL),
                     HVCTL_EXIT_FAULTED);
    assert_int_equal(exec_code("{\"error\": {\"class\": \"VMGone\", \"desc\": \"d\"}, \"id\": 1}\n", NULL),
                     HVCTL_EXIT_REMOTE);
    assert_int_equal(exec_code("{\"error\": {\"class\": \"SomethingNew\", \"desc\": \"d\"}, \"id\": 1}\n", NULL),
                     HVCTL_EXIT_REMOTE);
    /* malformed replies */
    assert_int_equal(exec_code("{\"return\": {}, \"id\": 2}\n", NULL), HVCTL_EXIT_BAD_INPUT);
    assert_int_equal(exec_code("{\"return\": {}}\n", NULL), HVCTL_EXIT_BAD_INPUT);
    assert_int_equal(exec_code("{\"return\": {}, \"error\": {\"class\": \"X\"}, \"id\": 1}\n", NULL),
                     HVCTL_EXIT_BAD_INPUT);
    assert_int_equal(exec_code("{\"error\": \"VMGone\", \"id\": 1}\n", NULL), HVCTL_EXIT_BAD_INPUT);
    assert_int_equal(exec_code("{\"return\": {, \"id\": 1}\n", NULL), HVCTL_EXIT_BAD_INPUT);
    assert_int_equal(exec_code("[1, 2]\n", NULL), HVCTL_EXIT_BAD_INPUT);
    assert_int_equal(exec_code("{\"return\": 1, \"id\": 1, \"id\": 1}\n", NULL), HVCTL_EXIT_BAD_INPUT);
    /* EOF in the middle of a line, and no answer at all (timeout) */
    assert_int_equal(exec_code("{\"return\": ", NULL), HVCTL_EXIT_CONNECT);
    assert_int_equal(exec_code("", NULL), HVCTL_EXIT_CONNECT);
}

static void test_eof_and_timeout(void **state)
{
    (void)state;
    struct hvk_err err = { "" };
    int peer;
    struct hvctl_client *c = client_with(GREETING, &peer, 200, &err);
    assert_non_null(c);
    json_t *ret = NULL;
    assert_int_equal(hvctl_client_exec(c, "walk", NULL, &ret, NULL, &err), -1);
    assert_int_equal(err.code, HVCTL_EXIT_CONNECT);
    assert_non_null(strstr(err.msg, "did not answer"));
    shutdown(peer, SHUT_WR);
    assert_int_equal(hvctl_client_exec(c, "walk", NULL, &ret, NULL, &err), -1);
    assert_int_equal(err.code, HVCTL_EXIT_CONNECT);
    assert_non_null(strstr(err.msg, "closed"));
    hvctl_client_close(c);
    close(peer);
}

static void test_greetings(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"qmp\": {}}\n",
        "{\"hvkit\": {\"api\": 1}}\n",
        "{\"hvkit\": {\"version\": \"0.1.0\", \"api\": 2}}\n",
        "{\"hvkit\": {\"version\": \"0.1.0\", \"api\": \"1\"}}\n",
        "not json\n",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct hvk_err err = { "" };
        int peer;
        struct hvctl_client *c = client_with(bad[i], &peer, 200, &err);
        if (!bad[i][0])
            shutdown(peer, SHUT_WR);
        assert_null(c);
        assert_true(err.code == HVCTL_EXIT_CONNECT || err.code == HVCTL_EXIT_BAD_INPUT);
        assert_non_null(strstr(err.msg, "greeting"));
        close(peer);
    }
    /* no capabilities list: everything is assumed */
    struct hvk_err err = { "" };
    int peer;
    struct hvctl_client *c = client_with("{\"hvkit\": {\"version\": \"0.1.0\"}}\n", &peer, 200, &err);
    assert_non_null(c);
    assert_true(hvctl_client_has_capability(c, "stack"));
    hvctl_client_close(c);
    close(peer);
}

static void test_line_bound(void **state)
{
    (void)state;
    struct hvk_err err = { "" };
    int peer;
    struct hvctl_client *c = client_with(GREETING, &peer, 2000, &err);
    assert_non_null(c);
    hvctl_client_set_line_max(c, 100000);
    /* 150000 bytes and no newline: refused once over the bound, not read forever */
    size_t n = 150000;
    char *big = malloc(n);
    memset(big, ' ', n);
    big[0] = '{';
    assert_int_equal(send(peer, big, n, MSG_DONTWAIT) > 0, 1);
    json_t *ret = NULL;
    assert_int_equal(hvctl_client_exec(c, "maps", NULL, &ret, NULL, &err), -1);
    assert_int_equal(err.code, HVCTL_EXIT_BAD_INPUT);
    assert_non_null(strstr(err.msg, "longer than"));
    hvctl_client_close(c);
    close(peer);
    /* just under the bound passes */
    c = client_with(GREETING, &peer, 2000, &err);
    hvctl_client_set_line_max(c, 100000);
    char *line = malloc(100001);
    int k = snprintf(line, 100001, "{\"id\": 1, \"return\": \"");
    memset(line + k, 'a', 99990 - (size_t)k);
    strcpy(line + 99990, "\"}\n");
    assert_int_equal(send(peer, line, strlen(line), 0), (ssize_t)strlen(line));
    assert_int_equal(hvctl_client_exec(c, "maps", NULL, &ret, NULL, &err), 0);
    assert_int_equal(strlen(json_string_value(ret)), 99990 - (size_t)k);
    json_decref(ret);
    hvctl_client_close(c);
    close(peer);
    free(line);
    free(big);
}

static void test_connect_missing(void **state)
{
    (void)state;
    struct hvk_err err = { "" };
    struct hvctl_client_opts o = { .rundir = "/nonexistent-hvkit-dir", .timeout_ms = 200 };
    assert_null(hvctl_client_connect(&o, &err));
    assert_int_equal(err.code, HVCTL_EXIT_CONNECT);
    assert_non_null(strstr(err.msg, "/nonexistent-hvkit-dir/hvd.sock"));
    struct hvctl_client_opts o2 = { .socket = "/nonexistent-hvkit-dir/x.sock" };
    assert_null(hvctl_client_connect(&o2, &err));
    assert_int_equal(err.code, HVCTL_EXIT_CONNECT);
}

/* A walk built by hand, through hvjson (what hv sends) and back. */
static void test_walk_roundtrip(void **state)
{
    (void)state;
    struct x86_walk w = { 0 }, back;
    struct hvk_err err = { "" };
    w.mode = X86_MODE_4LEVEL;
    w.gva = 0xffffffff80206123ull;
    w.access = (struct x86_access){ X86_ACCESS_WRITE, X86_PRIV_SUPERVISOR };
    w.nlevels = 4;
    for (unsigned i = 0; i < 4; i++)
        w.levels[i] = (struct x86_walk_level){ .kind = X86_LEVEL_PML4E + i, .index = 511 - i,
                                               .entry_gpa = 0x268000 + i * 0x1000, .read_ok = true,
                                               .raw = 0x269003 + i, .bits = X86_E_P | (i < 3 ? X86_E_RW : 0),
                                               .pkey = -1, .addr = 0x269000, .leaf = i == 3 };
    w.mapped = true;
    w.gpa = 0x206123;
    w.page_size = 4096;
    w.rights = (struct x86_rights){ .writable = false, .user = false, .executable = false, .pkey = -1 };
    w.reason = X86_WALK_WRITE_RO;
    w.fault_level = 3;
    w.reserved_bit = -1;
    w.vector = X86_VECTOR_PF;
    w.error_code = X86_PFEC_P | X86_PFEC_W;
    snprintf(w.why, sizeof w.why, "write to read-only page: PTE.RW=0");
    json_t *j = hvjson_walk(&w, &err);
    assert_non_null(j);
    assert_int_equal(hvctl_jparse_walk(j, &back, &err), 0);
    assert_int_equal(back.mode, w.mode);
    assert_true(back.gva == w.gva);
    assert_int_equal(back.access.type, X86_ACCESS_WRITE);
    assert_int_equal(back.nlevels, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(back.levels[i].kind, w.levels[i].kind);
        assert_int_equal(back.levels[i].index, w.levels[i].index);
        assert_true(back.levels[i].raw == w.levels[i].raw);
        assert_int_equal(back.levels[i].bits, w.levels[i].bits);
        assert_int_equal(back.levels[i].leaf, w.levels[i].leaf);
    }
    assert_true(back.gpa == w.gpa);
    assert_int_equal(back.reason, X86_WALK_WRITE_RO);
    assert_int_equal(back.fault_level, 3);
    assert_int_equal(back.error_code, w.error_code);
    assert_string_equal(back.why, w.why);
    /* the JSON hvctl would rebuild is the JSON it got */
    json_t *again = hvjson_walk(&back, &err);
    assert_true(json_equal(j, again));
    json_decref(again);

    /* each of these edits must be refused */
    static const struct { const char *key; const char *json; } bad[] = {
        { "fault_level", "7" }, { "fault_level", "\"3\"" }, { "gva", "\"ffff\"" }, { "gva", "\"0x\"" },
        { "gva", "\"0x11112222333344445\"" }, { "reason", "\"bogus\"" }, { "ok", "true" },
        { "mode", "\"6-level\"" }, { "page_size", "12345" }, { "rights", "null" }, { "why", "5" },
        { "vector", "6" }, { "levels", "[1,2,3,4,5,6]" }, { "levels", "{}" }, { "error_code", "-1" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *m = json_deep_copy(j);
        json_object_set_new(m, bad[i].key, json_loads(bad[i].json, JSON_DECODE_ANY, NULL));
        assert_int_equal(hvctl_jparse_walk(m, &back, &err), -1);
        assert_non_null(strstr(err.msg, "bad reply"));
        json_decref(m);
    }
    /* a level with an unknown bit, and a level that is not an object */
    json_t *m = json_deep_copy(j);
    json_array_append_new(json_object_get(json_array_get(json_object_get(m, "levels"), 0), "bits"), json_string("NX"));
    assert_int_equal(hvctl_jparse_walk(m, &back, &err), -1);
    json_array_set_new(json_object_get(m, "levels"), 0, json_integer(1));
    assert_int_equal(hvctl_jparse_walk(m, &back, &err), -1);
    json_decref(m);
    json_decref(j);
}

static void test_maps_parse(void **state)
{
    (void)state;
    struct hvk_err err = { "" };
    json_t *j = json_loads("{\"mode\": \"4-level\", \"cr3\": \"0x102000\", \"ranges\": ["
        "{\"va\": \"0x200000\", \"end\": \"0x400000\", \"gpa\": \"0x200000\", \"size\": \"0x200000\", \"page_size\": 2097152,"
        " \"rights\": {\"user\": false, \"writable\": true, \"executable\": false, \"pkey\": null, \"str\": \"srw-\"}}],"
        " \"stats\": {\"entries\": 48, \"tables\": 7, \"ranges\": 1, \"unreadable\": 0, \"reserved\": 0, \"truncated\": false}}",
        0, NULL);
    enum x86_mode mode;
    uint64_t cr3;
    struct x86_maps_stats st;
    struct x86_map_range r;
    assert_int_equal(hvctl_jparse_maps_head(j, &mode, &cr3, &st, &err), 0);
    assert_int_equal(mode, X86_MODE_4LEVEL);
    assert_true(cr3 == 0x102000);
    assert_int_equal(st.entries, 48);
    json_t *r0 = json_array_get(json_object_get(j, "ranges"), 0);
    assert_int_equal(hvctl_jparse_map_range(r0, &r, &err), 0);
    assert_true(r.size == 0x200000 && r.rights.writable && !r.rights.user);
    json_object_set_new(r0, "size", json_string("0x1000"));   /* below its page size */
    assert_int_equal(hvctl_jparse_map_range(r0, &r, &err), -1);
    json_object_set_new(json_object_get(j, "stats"), "tables", json_integer(-1));
    assert_int_equal(hvctl_jparse_maps_head(j, &mode, &cr3, &st, &err), -1);
    json_decref(j);
}

static void test_stack_parse(void **state)
{
    (void)state;
    struct hvk_err err = { "" };
    struct hvctl_stackview *v = malloc(sizeof *v);
    json_t *j = json_loads("{\"vcpu\": 0, \"rip\": \"0xffffffff802029f5\", \"rsp\": \"0xffffffff8020fe00\","
        " \"rbp\": \"0xffffffff8020fe10\", \"frames\": ["
        "{\"pc\": \"0xffffffff802029f5\", \"frame\": \"0xffffffff8020fe10\", \"symbol\": \"hvk_chain_leaf\", \"offset\": 5},"
        "{\"pc\": \"0xffffffff80202a75\", \"frame\": \"0xffffffff8020fe20\", \"symbol\": \"hvk_chain_4\", \"offset\": \"0x15\"},"
        "{\"pc\": \"0xffffffff80202000\", \"frame\": \"0xffffffff8020fe30\", \"symbol\": \"x\\u001b[31m\"},"
        "{\"pc\": \"0x1\", \"frame\": \"0x0\"}], \"stop\": \"end\"}", 0, NULL);
    assert_non_null(j);
    assert_int_equal(hvctl_stackview_parse(j, v, &err), 0);
    assert_int_equal(v->nframes, 4);
    assert_string_equal(v->frames[0].sym, "hvk_chain_leaf+0x5");
    assert_string_equal(v->frames[1].sym, "hvk_chain_4+0x15");
    assert_string_equal(v->frames[2].sym, "x?[31m");   /* no escape reaches the terminal */
    assert_string_equal(v->frames[3].sym, "");
    assert_string_equal(v->stop, "end");
    json_object_set_new(json_array_get(json_object_get(j, "frames"), 0), "pc", json_integer(5));
    assert_int_equal(hvctl_stackview_parse(j, v, &err), -1);
    json_object_del(j, "frames");
    assert_int_equal(hvctl_stackview_parse(j, v, &err), -1);
    json_decref(j);
    free(v);
}

static void test_hexdump(void **state)
{
    (void)state;
    uint8_t data[20];
    char *out = NULL;
    size_t len = 0;
    for (int i = 0; i < 20; i++)
        data[i] = (uint8_t)(i < 16 ? 'A' + i : i);
    FILE *f = open_memstream(&out, &len);
    hvctl_render_hex(f, 0xffffffff80206000ull, data, sizeof data);
    fclose(f);
    assert_string_equal(out,
        "ffffffff80206000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|\n"
        "ffffffff80206010  10 11 12 13                                       |....|\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_ok),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_eof_and_timeout),
        cmocka_unit_test(test_greetings),
        cmocka_unit_test(test_line_bound),
        cmocka_unit_test(test_connect_missing),
        cmocka_unit_test(test_walk_roundtrip),
        cmocka_unit_test(test_maps_parse),
        cmocka_unit_test(test_stack_parse),
        cmocka_unit_test(test_hexdump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
