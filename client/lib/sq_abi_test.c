/*
 * sq_abi_test.c: programs built against libsearchq 1.1, 1.2 and 1.3 still work with
 * libsearchq.so 1.5 (searchq.h, "ABI"; sq_compat.c). Linked against the shared library, it plays
 * such programs: it holds struct sq_search_params in its 1.1, 1.2 and 1.3 layouts (copied below,
 * as those headers had it) and calls sq_search_defaults, sq_req_search and sq_search by the
 * versions such programs were bound to, SEARCHQ_1, SEARCHQ_1.2 and SEARCHQ_1.3, through
 * .symver. The struct it passes ends where an unmapped page begins, so an entry point reading a
 * later field past it dies with SIGSEGV instead of reading whatever follows. On LP64 the 1.3
 * struct is as large as 1.4's (drop_words took its tail padding), so the page cannot catch a
 * read of drop_words there: the test fills those bytes with garbage, as a 1.3 program may leave
 * them, and checks that no drop_words is sent. The same program also calls the current
 * (SEARCHQ_1.4) names, which its own header gives it, to show all live side by side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "searchq.h"

/* searchq.h 1.1.0's struct sq_search_params. */
struct old_params {
    const char *index;
    const char *q;
    const char *syntax;
    int highlight;
    int highlight_offsets;
    int64_t snippet_len;
    int64_t fragments;
    int64_t limit;
    int64_t offset;
    const char *filter;
    const char *sort;
    const char *facets;
    const char *fields;
    const char *highlight_pre;
    const char *highlight_post;
    int snippet;
    int layout;
    int typo;
    struct json_object *weights;
};

/* searchq.h 1.2.0's struct sq_search_params: 1.1's, then proximity. */
struct old12_params {
    struct old_params v1_1;
    double proximity;
};

/* searchq.h 1.3.0's struct sq_search_params: 1.2's, then prefix_last. */
struct old13_params {
    struct old12_params v1_2;
    int prefix_last;
};

/* What a 1.1 program's calls resolve to. */
struct old_params old_search_defaults(const char *q);
struct json_object *old_req_search(const struct old_params *p);
int old_search(struct sq_conn *c, const struct old_params *p, struct json_object **answer,
               struct sq_error *err);
__asm__(".symver old_search_defaults, sq_search_defaults@SEARCHQ_1");
__asm__(".symver old_req_search, sq_req_search@SEARCHQ_1");
__asm__(".symver old_search, sq_search@SEARCHQ_1");

/* And a 1.2 program's. */
struct old12_params old12_search_defaults(const char *q);
struct json_object *old12_req_search(const struct old12_params *p);
int old12_search(struct sq_conn *c, const struct old12_params *p, struct json_object **answer,
                 struct sq_error *err);
__asm__(".symver old12_search_defaults, sq_search_defaults@SEARCHQ_1.2");
__asm__(".symver old12_req_search, sq_req_search@SEARCHQ_1.2");
__asm__(".symver old12_search, sq_search@SEARCHQ_1.2");

/* And a 1.3 program's. */
struct old13_params old13_search_defaults(const char *q);
struct json_object *old13_req_search(const struct old13_params *p);
int old13_search(struct sq_conn *c, const struct old13_params *p, struct json_object **answer,
                 struct sq_error *err);
__asm__(".symver old13_search_defaults, sq_search_defaults@SEARCHQ_1.3");
__asm__(".symver old13_req_search, sq_req_search@SEARCHQ_1.3");
__asm__(".symver old13_search, sq_search@SEARCHQ_1.3");

static const char *plain(struct json_object *o)
{
    return json_object_to_json_string_ext(o,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* size bytes that end exactly where an unmapped page starts. */
struct guarded {
    char *map;
    size_t page;
    void *p;
};

static void guarded_open(struct guarded *g, size_t size, size_t align)
{
    g->page = (size_t)sysconf(_SC_PAGESIZE);
    g->map = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + g->page, g->page, PROT_NONE), 0);
    assert_int_equal(size % align, 0);
    g->p = g->map + g->page - size;
}

static void guarded_close(struct guarded *g)
{
    munmap(g->map, 2 * g->page);
}

/* Fills the bytes of p past its last field (on LP64 the tail padding where 1.4 put drop_words)
 * with what reads as a positive int, as a 1.3 program may leave them: an entry point that read
 * drop_words there would send "drop_words":true. */
static void fill_1_3_tail(struct old13_params *p)
{
    size_t end = offsetof(struct old13_params, prefix_last) + sizeof p->prefix_last;
    memset((char *)p + end, 0x5a, sizeof *p - end);
}

static void test_sq_abi_old_layouts_end_before_the_later_fields(void **state)
{
    (void)state;
    /* the premise of the unmapped page: each old layout ends where a later field starts, so
     * reading that field means reading past the struct */
    assert_true(sizeof(struct old_params) < sizeof(struct old12_params));
    assert_true(sizeof(struct old12_params) < sizeof(struct old13_params));
    assert_int_equal(offsetof(struct sq_search_params, proximity), sizeof(struct old_params));
    assert_int_equal(offsetof(struct sq_search_params, prefix_last), sizeof(struct old12_params));
    /* except 1.3's: its last field ends where drop_words starts, but its struct may be no
     * smaller (LP64: the same size), which is what fill_1_3_tail is for */
    assert_int_equal(offsetof(struct sq_search_params, drop_words),
                     offsetof(struct old13_params, prefix_last) + sizeof(int));
    assert_true(sizeof(struct old13_params) <= sizeof(struct sq_search_params));
}

static void test_sq_abi_1_1_defaults_fill_the_old_layout(void **state)
{
    (void)state;
    struct old_params p = old_search_defaults("q");
    assert_string_equal(p.q, "q");
    assert_null(p.index);
    assert_null(p.syntax);
    assert_null(p.weights);
    assert_int_equal(p.highlight, -1);
    assert_int_equal(p.highlight_offsets, -1);
    assert_int_equal(p.snippet_len, -1);
    assert_int_equal(p.fragments, -1);
    assert_int_equal(p.limit, -1);
    assert_int_equal(p.offset, -1);
    assert_int_equal(p.snippet, -1);
    assert_int_equal(p.layout, -1);
    assert_int_equal(p.typo, -1);
}

static void test_sq_abi_1_1_req_search_reads_only_the_old_layout(void **state)
{
    (void)state;
    struct guarded g;
    guarded_open(&g, sizeof(struct old_params), _Alignof(struct old_params));
    struct old_params *p = g.p;
    *p = old_search_defaults("цифровая дипломатия");
    p->index = "books";
    p->limit = 5;
    p->typo = 0;
    struct json_object *req = old_req_search(p);
    assert_non_null(req);
    assert_string_equal(plain(req), "{\"op\":\"search\",\"index\":\"books\",\"q\":\"цифровая "
                                    "дипломатия\",\"limit\":5,\"typo\":false}");
    json_object_put(req);
    guarded_close(&g);
}

static void test_sq_abi_1_2_defaults_fill_the_old_layout(void **state)
{
    (void)state;
    struct old12_params p = old12_search_defaults("q");
    assert_string_equal(p.v1_1.q, "q");
    assert_null(p.v1_1.index);
    assert_int_equal(p.v1_1.limit, -1);
    assert_int_equal(p.v1_1.typo, -1);
    assert_true(p.proximity == SQ_PROXIMITY_DEFAULT);
}

static void test_sq_abi_1_2_req_search_reads_only_the_old_layout(void **state)
{
    (void)state;
    struct guarded g;
    guarded_open(&g, sizeof(struct old12_params), _Alignof(struct old12_params));
    struct old12_params *p = g.p;
    *p = old12_search_defaults("цифровая дипл");
    p->v1_1.syntax = "simple";
    p->proximity = 0.5;
    struct json_object *req = old12_req_search(p);
    assert_non_null(req);
    assert_string_equal(plain(req), "{\"op\":\"search\",\"q\":\"цифровая дипл\","
                                    "\"syntax\":\"simple\",\"proximity\":0.5}");
    json_object_put(req);
    guarded_close(&g);
}

static void test_sq_abi_1_3_defaults_fill_the_old_layout(void **state)
{
    (void)state;
    struct old13_params p = old13_search_defaults("q");
    assert_string_equal(p.v1_2.v1_1.q, "q");
    assert_int_equal(p.v1_2.v1_1.typo, -1);
    assert_true(p.v1_2.proximity == SQ_PROXIMITY_DEFAULT);
    assert_int_equal(p.prefix_last, -1);
}

static void test_sq_abi_1_3_req_search_reads_only_the_old_layout(void **state)
{
    (void)state;
    struct guarded g;
    guarded_open(&g, sizeof(struct old13_params), _Alignof(struct old13_params));
    struct old13_params *p = g.p;
    *p = old13_search_defaults("цифровая дипл");
    p->v1_2.v1_1.syntax = "simple";
    p->prefix_last = 1;
    fill_1_3_tail(p);
    struct json_object *req = old13_req_search(p);
    assert_non_null(req);
    assert_string_equal(plain(req), "{\"op\":\"search\",\"q\":\"цифровая дипл\","
                                    "\"syntax\":\"simple\",\"prefix_last\":true}");
    json_object_put(req);
    guarded_close(&g);
}

static void peer_expect_line(int peer, const char *want)
{
    char buf[256];
    size_t len = strlen(want);
    assert_true(len < sizeof buf);
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(peer, buf + got, len - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    buf[len] = '\0';
    assert_string_equal(buf, want);
}

/* sq_search of every version on one connection, over a socketpair whose other end answers. */
static void test_sq_abi_1_1_to_1_4_search_side_by_side(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct sq_conn *c;
    struct sq_error err;
    assert_int_equal(sq_attach_fd(sv[0], "pair", NULL, &c, &err), SQ_OK);
    const char *ok = "{\"ok\":true,\"hits\":[]}\n";
    assert_int_equal(write(sv[1], ok, strlen(ok)), (ssize_t)strlen(ok));

    struct guarded g;
    guarded_open(&g, sizeof(struct old_params), _Alignof(struct old_params));
    struct old_params *p11 = g.p;
    *p11 = old_search_defaults("a b");
    struct json_object *answer = NULL;
    assert_int_equal(old_search(c, p11, &answer, &err), SQ_OK);
    assert_non_null(answer);
    json_object_put(answer);
    peer_expect_line(sv[1], "{\"op\":\"search\",\"q\":\"a b\"}\n");
    guarded_close(&g);

    assert_int_equal(write(sv[1], ok, strlen(ok)), (ssize_t)strlen(ok));
    guarded_open(&g, sizeof(struct old12_params), _Alignof(struct old12_params));
    struct old12_params *p12 = g.p;
    *p12 = old12_search_defaults("a b");
    p12->proximity = SQ_PROXIMITY_OFF;
    assert_int_equal(old12_search(c, p12, &answer, &err), SQ_OK);
    json_object_put(answer);
    peer_expect_line(sv[1], "{\"op\":\"search\",\"q\":\"a b\",\"proximity\":false}\n");
    guarded_close(&g);

    assert_int_equal(write(sv[1], ok, strlen(ok)), (ssize_t)strlen(ok));
    guarded_open(&g, sizeof(struct old13_params), _Alignof(struct old13_params));
    struct old13_params *p13 = g.p;
    *p13 = old13_search_defaults("a b");
    p13->v1_2.v1_1.syntax = "simple";
    p13->prefix_last = 0;
    fill_1_3_tail(p13);
    assert_int_equal(old13_search(c, p13, &answer, &err), SQ_OK);
    json_object_put(answer);
    peer_expect_line(sv[1], "{\"op\":\"search\",\"q\":\"a b\",\"syntax\":\"simple\","
                            "\"prefix_last\":false}\n");
    guarded_close(&g);

    assert_int_equal(write(sv[1], ok, strlen(ok)), (ssize_t)strlen(ok));
    struct sq_search_params p = sq_search_defaults("a b");
    p.proximity = SQ_PROXIMITY_ON;
    p.syntax = "simple";
    p.prefix_last = 1;
    p.drop_words = 0;
    assert_int_equal(sq_search(c, &p, &answer, &err), SQ_OK);
    json_object_put(answer);
    peer_expect_line(sv[1], "{\"op\":\"search\",\"q\":\"a b\",\"syntax\":\"simple\","
                            "\"prefix_last\":true,\"drop_words\":false,\"proximity\":true}\n");
    sq_close(c);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sq_abi_old_layouts_end_before_the_later_fields),
        cmocka_unit_test(test_sq_abi_1_1_defaults_fill_the_old_layout),
        cmocka_unit_test(test_sq_abi_1_1_req_search_reads_only_the_old_layout),
        cmocka_unit_test(test_sq_abi_1_2_defaults_fill_the_old_layout),
        cmocka_unit_test(test_sq_abi_1_2_req_search_reads_only_the_old_layout),
        cmocka_unit_test(test_sq_abi_1_3_defaults_fill_the_old_layout),
        cmocka_unit_test(test_sq_abi_1_3_req_search_reads_only_the_old_layout),
        cmocka_unit_test(test_sq_abi_1_1_to_1_4_search_side_by_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
