/*
 * alloc_fail_test.c: every important operation of index/ (segments, queries, the log, the
 * MANIFEST, tombstones) and of daemon/proto (parsing and encoding) run with its 1st, 2nd,
 * 3rd... allocation failing (failalloc.h), until it runs with none failing. Each run must end
 * in the operation's out-of-memory error with everything released, or in success once the
 * armed allocation is past its last one; ASan's leak check covers "released". Setup that is
 * not under test (the segments a merge reads, the documents of a search) runs disarmed.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "failalloc.h"
#include "proto.h"
#include "query.h"
#include "seg.h"
#include "wal.h"

#define MAX_RUNS 200000ul /* far more allocations than any operation here makes */

typedef int (*op_fn)(void *arg);

/* The message of the last error an operation saw, for the failure report. */
static char g_msg[512];

static int note(int rc, const char *msg)
{
    if (rc) {
        snprintf(g_msg, sizeof g_msg, "%s", msg);
    }
    return rc;
}

/* The failalloc loop of failalloc.h. enomem is the operation's out-of-memory code. */
static void fail_each_allocation(const char *name, op_fn op, void *arg, int enomem)
{
    for (unsigned long n = 1; n < MAX_RUNS; n++) {
        g_msg[0] = '\0';
        failalloc_arm(n);
        int rc = op(arg);
        bool fired = failalloc_disarm();
        if (!fired) {
            if (rc != 0) {
                fail_msg("%s: failed with %d (%s) and no allocation failing", name, rc, g_msg);
            }
            printf("%s: %lu allocations, each failed once: clean error every time\n", name, n - 1);
            return;
        }
        if (rc != enomem) {
            fail_msg("%s: allocation %lu failed, the operation returned %d (%s), want %d", name, n,
                     rc, g_msg, enomem);
        }
    }
    fail_msg("%s: still allocating after %lu runs", name, MAX_RUNS);
}

/* ---- segments ---- */

/* Document i of a test segment, into the caller's buffers. Doc 0 also has a 600-byte Greek
 * word: folding it takes utf8proc's path and grows the stemmer's code point scratch. */
static void make_doc(unsigned salt, unsigned i, char *id, size_t id_cap, char *body,
                     size_t body_cap, struct seg_field f[4], struct seg_doc *d)
{
    static char greek[601];
    if (!greek[0]) {
        for (int k = 0; k < 300; k++) {
            memcpy(greek + 2 * k, "\xce\xb1", 2); /* U+03B1 */
        }
    }
    snprintf(id, id_cap, "d%u-%u", salt, i);
    snprintf(body, body_cap, "%s e-mail цифровая дипломатия common w%u %u",
             i % 3 ? "industrial revolutions" : "ёлки палки", i % 5, i);
    f[0] = (struct seg_field){"title", 5, id, strlen(id), SEG_TEXT};
    f[1] = (struct seg_field){"body", 4, body, strlen(body), SEG_TEXT};
    f[2] = (struct seg_field){"n", 1, "[1,null]", 8, SEG_RAW};
    f[3] = (struct seg_field){"greek", 5, greek, 600, SEG_TEXT};
    *d = (struct seg_doc){id, strlen(id), f, i == 0 ? 4 : 3};
}

static int build_segment(unsigned ndocs, unsigned salt, struct seg **out)
{
    struct stem_ctx *stem = NULL;
    struct seg_builder *b = NULL;
    struct sd_error err = {0};
    struct sd_buf img;
    sd_buf_init(&img);
    *out = NULL;
    int rc = stem_ctx_new(&stem) ? SD_ENOMEM : seg_builder_new(stem, &b, &err);
    for (unsigned i = 0; rc == SD_OK && i < ndocs; i++) {
        char id[32], body[160];
        struct seg_field f[4];
        struct seg_doc d;
        make_doc(salt, i, id, sizeof id, body, sizeof body, f, &d);
        rc = seg_builder_add(b, &d, &err);
    }
    if (rc == SD_OK) {
        rc = seg_builder_finish(b, &img, &err);
    }
    seg_builder_free(b);
    stem_ctx_free(stem);
    if (rc == SD_OK) {
        size_t len;
        uint8_t *data = sd_buf_detach(&img, &len);
        rc = seg_open_mem(data, len, "alloc", out, &err);
    }
    sd_buf_free(&img);
    return note(rc, err.msg);
}

/* Reads a segment the way a search and a get do. */
static int read_segment(const struct seg *s)
{
    struct sd_error err = {0};
    struct seg_term t;
    int rc =
        seg_term_find(s, (unsigned)seg_field_find(s, "body", 4), SEG_EXACT, "common", 6, &t, &err);
    struct seg_postings *p = NULL;
    if (rc == SD_OK) {
        rc = seg_postings_open(s, &t, SEG_WANT_POSITIONS, &p, &err);
    }
    while (rc == SD_OK && seg_postings_next(p) != SEG_DOC_END) {
        const uint32_t *pos;
        uint32_t count;
        rc = seg_postings_positions(p, &pos, &count);
    }
    if (rc == SD_OK) {
        rc = seg_postings_error(p, &err);
    }
    seg_postings_free(p);
    for (uint32_t d = 0; rc == SD_OK && d < seg_doc_count(s); d += 37) {
        struct seg_stored st;
        rc = seg_doc_load(s, d, &st, &err);
        seg_stored_free(&st);
    }
    return note(rc, err.msg);
}

static int op_seg_build_open_read(void *arg)
{
    (void)arg;
    struct seg *s = NULL;
    int rc = build_segment(150, 0, &s); /* over SEG_BLOCK docs: skip data too */
    if (rc == SD_OK) {
        rc = read_segment(s);
    }
    seg_close(s);
    return rc;
}

static void test_alloc_seg_build_open_read_fails_cleanly(void **state)
{
    (void)state;
    fail_each_allocation("seg build+open+read", op_seg_build_open_read, NULL, SD_ENOMEM);
}

/* seg.h: "on error the builder is unchanged". Doc `target` of 150 is added with its n-th
 * allocation failing, then added again with none failing; the finished image must be the
 * same bytes as a build that never failed. */
static void build_with_failed_add(unsigned target, unsigned long n, struct sd_buf *img, bool *fired)
{
    struct stem_ctx *stem = NULL;
    struct seg_builder *b = NULL;
    struct sd_error err = {0};
    assert_int_equal(stem_ctx_new(&stem), STEM_OK);
    assert_int_equal(seg_builder_new(stem, &b, &err), SD_OK);
    *fired = false;
    for (unsigned i = 0; i < 150; i++) {
        char id[32], body[160];
        struct seg_field f[4];
        struct seg_doc d;
        make_doc(7, i, id, sizeof id, body, sizeof body, f, &d);
        if (i == target && n) {
            failalloc_arm(n);
            int rc = seg_builder_add(b, &d, &err);
            *fired = failalloc_disarm();
            if (!*fired) {
                assert_int_equal(rc, SD_OK);
                continue;
            }
            assert_int_equal(rc, SD_ENOMEM);
        }
        int rc = seg_builder_add(b, &d, &err);
        if (rc != SD_OK) {
            fail_msg("doc %u (allocation %lu of doc %u failed): %d %s", i, n, target, rc, err.msg);
        }
    }
    assert_int_equal(seg_builder_finish(b, img, &err), SD_OK);
    seg_builder_free(b);
    stem_ctx_free(stem);
}

static void test_alloc_seg_builder_add_failure_leaves_builder_unchanged(void **state)
{
    (void)state;
    struct sd_buf want;
    sd_buf_init(&want);
    bool fired;
    build_with_failed_add(0, 0, &want, &fired);
    const unsigned targets[] = {0, 1, 128, 149};
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        unsigned long n = 1;
        for (;; n++) {
            struct sd_buf got;
            sd_buf_init(&got);
            build_with_failed_add(targets[t], n, &got, &fired);
            if (got.len != want.len || memcmp(got.data, want.data, want.len) != 0) {
                fail_msg("doc %u, allocation %lu failed: the segment differs", targets[t], n);
            }
            sd_buf_free(&got);
            if (!fired) {
                break;
            }
        }
        printf("seg_builder_add of doc %u: %lu allocations, each failed once: builder "
               "unchanged\n",
               targets[t], n - 1);
    }
    sd_buf_free(&want);
}

struct merge_arg {
    struct seg *in[2];
    uint64_t deleted[3]; /* bitmap of the first input: a few docs deleted */
    char dir[64];
};

static int op_seg_merge(void *arg)
{
    struct merge_arg *m = arg;
    const uint64_t *deleted[2] = {m->deleted, NULL};
    struct sd_error err = {0};
    struct sd_buf out;
    sd_buf_init(&out);
    int rc = seg_merge(m->in, deleted, 2, &out, NULL, &err);
    struct seg *s = NULL;
    if (rc == SD_OK) {
        size_t len;
        uint8_t *data = sd_buf_detach(&out, &len);
        rc = seg_open_mem_written(data, len, "merged", &s, &err);
    }
    if (rc == SD_OK) {
        rc = read_segment(s);
    }
    seg_close(s);
    sd_buf_free(&out);
    char path[128];
    snprintf(path, sizeof path, "%s/merged.seg", m->dir);
    unlink(path);
    uint64_t len = 0;
    if (rc == SD_OK) {
        rc = seg_merge_file(m->in, deleted, 2, path, &len, &err);
    }
    if (rc == SD_OK) {
        rc = seg_open_file(path, &s, &err);
    }
    if (rc == SD_OK) {
        rc = read_segment(s);
        seg_close(s);
    }
    return note(rc, err.msg);
}

static void test_alloc_seg_merge_fails_cleanly(void **state)
{
    (void)state;
    struct merge_arg m = {.deleted = {0x8001, 0, 0x3}};
    snprintf(m.dir, sizeof m.dir, "/tmp/sd-alloc-XXXXXX");
    assert_non_null(mkdtemp(m.dir));
    assert_int_equal(build_segment(130, 1, &m.in[0]), SD_OK);
    assert_int_equal(build_segment(10, 2, &m.in[1]), SD_OK);
    fail_each_allocation("seg merge (memory and file)", op_seg_merge, &m, SD_ENOMEM);
    seg_close(m.in[0]);
    seg_close(m.in[1]);
    char path[128];
    snprintf(path, sizeof path, "%s/merged.seg", m.dir);
    unlink(path);
    rmdir(m.dir);
}

/* ---- queries ---- */

static int op_query(void *arg)
{
    const struct seg *seg = arg;
    static const char *queries[] = {
        "цифровая дипломатия",
        "\"industrial revolutions\" OR ёлки",
        "e-mail -палки",
        "body:(comm* OR w3) title:d0*",
        "common",
    };
    struct qry_ctx *ctx = NULL;
    int rc = qry_ctx_new(&ctx);
    for (size_t i = 0; rc == SD_OK && i < sizeof queries / sizeof queries[0]; i++) {
        struct qry *q = NULL;
        struct sd_error err = {0};
        rc = qry_parse(ctx, queries[i], strlen(queries[i]), &q, &err);
        struct qry_segment qs = {seg, NULL};
        struct qry_params params;
        qry_params_default(&params);
        params.limit = 5;
        struct qry_result r = {0};
        if (rc == SD_OK) {
            rc = qry_search(ctx, q, &qs, 1, &params, &r, &err);
            qry_result_free(&r);
        }
        note(rc, err.msg);
        struct sd_buf snip;
        sd_buf_init(&snip);
        if (rc == SD_OK) {
            const char *text = "Industrial revolutions and цифровая дипломатия by e-mail";
            rc = qry_snippet(ctx, q, text, strlen(text), 30, &snip);
        }
        if (rc == SD_OK) {
            rc = snip.rc;
        }
        sd_buf_free(&snip);
        qry_free(q);
    }
    qry_ctx_free(ctx);
    return rc;
}

static void test_alloc_query_parse_search_snippet_fails_cleanly(void **state)
{
    (void)state;
    struct seg *s = NULL;
    assert_int_equal(build_segment(150, 3, &s), SD_OK);
    fail_each_allocation("query parse+search+snippet", op_query, s, SD_ENOMEM);
    seg_close(s);
}

/* ---- the log, the MANIFEST, tombstones ---- */

static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[512];
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
    }
}

static int count_record(void *arg, const struct wal_record *rec, struct sd_error *err)
{
    (void)rec;
    (void)err;
    (*(unsigned *)arg)++;
    return 0;
}

static int op_wal(void *arg)
{
    const char *dir = arg;
    struct sd_error err = {0};
    struct wal *w = NULL;
    uint64_t seq, first;
    unsigned replayed = 0;
    clear_dir(dir);
    int rc = wal_open(dir, 0, NULL, NULL, &w, NULL, &err);
    for (int i = 0; rc == SD_OK && i < 3; i++) {
        rc = wal_append(w, 1, "payload", 7, &seq, &err);
    }
    if (rc == SD_OK) {
        rc = wal_rotate(w, &first, &err);
    }
    if (rc == SD_OK) {
        rc = wal_append(w, 2, "after", 5, &seq, &err);
    }
    if (rc == SD_OK) {
        rc = wal_sync(w, &err);
    }
    wal_close(w);
    w = NULL;
    if (rc == SD_OK) {
        rc = wal_open(dir, 1, count_record, &replayed, &w, NULL, &err);
    }
    wal_close(w);
    struct wal_open_info info;
    if (rc == SD_OK) {
        rc = wal_check(dir, 0, NULL, NULL, &info, &err);
    }
    if (rc == SD_OK && replayed != 3) {
        fail_msg("wal: replayed %u records, want 3", replayed);
    }
    return note(rc, err.msg);
}

static int op_manifest_tomb(void *arg)
{
    const char *dir = arg;
    struct sd_error err = {0};
    clear_dir(dir);
    struct wal_seg_entry segs[] = {{1, 100, 2, 1, 0, 0}, {2, 10, 0, 0, 0, 0}};
    struct wal_manifest m, back;
    wal_manifest_init(&m);
    wal_manifest_init(&back);
    m.segs = segs;
    m.count = 2;
    m.next_seg_no = 3;
    int rc = wal_manifest_write(dir, &m, &err);
    if (rc == SD_OK) {
        rc = wal_manifest_read(dir, &back, &err);
    }
    wal_manifest_free(&back);
    uint64_t bits[2] = {0x5, 0};
    uint64_t *read = NULL;
    uint32_t ndeleted = 0;
    if (rc == SD_OK) {
        rc = wal_tomb_write(dir, 1, 1, bits, 100, NULL, &err);
    }
    if (rc == SD_OK) {
        rc = wal_tomb_read(dir, 1, 1, 100, 0, &read, &ndeleted, &err);
    }
    free(read);
    if (rc == SD_OK) {
        rc = wal_gc(dir, &m, false, NULL, NULL, &err);
        rc = rc > 0 ? SD_OK : rc;
    }
    return note(rc, err.msg);
}

static void with_tmp_dir(const char *name, op_fn op)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/sd-alloc-XXXXXX");
    assert_non_null(mkdtemp(dir));
    fail_each_allocation(name, op, dir, SD_ENOMEM);
    clear_dir(dir);
    rmdir(dir);
}

static void test_alloc_wal_append_rotate_replay_fails_cleanly(void **state)
{
    (void)state;
    with_tmp_dir("wal append+rotate+replay+check", op_wal);
}

static void test_alloc_manifest_and_tombstones_fail_cleanly(void **state)
{
    (void)state;
    with_tmp_dir("manifest+tombstones+gc", op_manifest_tomb);
}

/* ---- the wire protocol ---- */

static int op_proto_parse(void *arg)
{
    (void)arg;
    static const char *lines[] = {
        "{\"op\":\"search\",\"q\":\"x\",\"limit\":5,\"weights\":{\"title\":2}}",
        "{\"op\":\"add\",\"docs\":[{\"id\":\"a\",\"title\":\"t\",\"n\":[1,2]},{\"id\":2}]}",
        "{\"op\":\"get\",\"id\":\"a\"}",
    };
    struct proto_request req;
    struct proto_error err;
    proto_request_init(&req);
    enum proto_code rc = PROTO_OK;
    for (size_t i = 0; rc == PROTO_OK && i < sizeof lines / sizeof lines[0]; i++) {
        rc = proto_parse_line(lines[i], strlen(lines[i]), &req, &err);
    }
    const char *uri = "/search?q=%D1%86+x&limit=3&weights=title:2";
    const char *body = "{\"id\":\"a\",\"title\":\"one\"}\n{\"id\":\"b\",\"body\":\"two\"}\n";
    if (rc == PROTO_OK) {
        rc = proto_parse_http(PROTO_GET, uri, strlen(uri), NULL, 0, &req, &err);
    }
    if (rc == PROTO_OK) {
        rc = proto_parse_http(PROTO_POST, "/docs", 5, body, strlen(body), &req, &err);
    }
    proto_request_free(&req);
    return note((int)rc, err.msg);
}

static void test_alloc_proto_parse_fails_cleanly(void **state)
{
    (void)state;
    fail_each_allocation("proto parse (line and HTTP)", op_proto_parse, NULL, PROTO_INTERNAL);
}

static int op_proto_encode(void *arg)
{
    (void)arg;
    struct idx_hit hits[2] = {{.id = "a", .score = 1.5f, .title = "Title", .snippet = "…snippet…"},
                              {.id = "b", .score = 0.5f, .title = "", .snippet = ""}};
    struct idx_search_res res = {.total = 2, .total_is_exact = true, .hits = hits, .nhits = 2};
    struct idx_stats st = {0};
    struct idx_write_result wr = {1, 2, 0, 0, 9};
    struct seg_stored doc = {.id = "a", .id_len = 1, .nfields = 1};
    doc.fields[0] = (struct seg_field){"title", 5, "x\"y", 3, SEG_TEXT};
    struct sd_buf out;
    sd_buf_init(&out);
    proto_encode_search(&out, &res, true, 0.25);
    proto_encode_write(&out, PROTO_OP_ADD, false, &wr);
    proto_encode_doc(&out, &doc);
    proto_encode_stats(&out, "default", &st);
    struct proto_health health = {.version = "1.0", .degraded = true, .reason = "index a: x"};
    proto_encode_health(&out, &health);
    proto_encode_error(&out, PROTO_BAD_QUERY, "at 0: empty query");
    int rc = out.rc;
    sd_buf_free(&out);
    return rc;
}

static void test_alloc_proto_encode_fails_cleanly(void **state)
{
    (void)state;
    fail_each_allocation("proto encode", op_proto_encode, NULL, SD_ENOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_seg_build_open_read_fails_cleanly),
        cmocka_unit_test(test_alloc_seg_builder_add_failure_leaves_builder_unchanged),
        cmocka_unit_test(test_alloc_seg_merge_fails_cleanly),
        cmocka_unit_test(test_alloc_query_parse_search_snippet_fails_cleanly),
        cmocka_unit_test(test_alloc_wal_append_rotate_replay_fails_cleanly),
        cmocka_unit_test(test_alloc_manifest_and_tombstones_fail_cleanly),
        cmocka_unit_test(test_alloc_proto_parse_fails_cleanly),
        cmocka_unit_test(test_alloc_proto_encode_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
