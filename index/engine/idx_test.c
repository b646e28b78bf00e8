/*
 * idx_test.c: the engine end to end, in process: an acknowledged write is
 * durable and already searchable (no test here waits for visibility),
 * upserts and deletes are exact, a reopen (log replay) and
 * flushes and merges never change an answer, and damage is reported.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_int.h"
#include "idx.h"
#include "idx_test_util.h"

static int put_doc(struct idx_db *db, const char *id, const char *title, const char *body)
{
    struct seg_field f[2] = {
        {.name = "title", .name_len = 5, .value = title, .value_len = strlen(title)},
        {.name = "body", .name_len = 4, .value = body, .value_len = strlen(body)},
    };
    struct idx_op op = {.type = IDX_OP_UPSERT,
                        .doc = {.id = id, .id_len = strlen(id), .fields = f, .nfields = 2}};
    return tidx_write(db, "default", &op, 1, NULL, NULL);
}

static int del_doc(struct idx_db *db, const char *id, struct idx_write_result *res)
{
    struct idx_op op = {.type = IDX_OP_DELETE, .doc = {.id = id, .id_len = strlen(id)}};
    return tidx_write(db, "default", &op, 1, res, NULL);
}

static uint64_t hist_count(const struct idx_histogram *h)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i <= h->nbounds; i++) {
        n += h->counts[i];
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A digest of every matching id, sorted: scores may move when merges drop
 * deleted docs from the statistics, the set of matches may not. */
static uint64_t match_digest(struct idx_db *db, const char *q)
{
    struct idx_search_req req = {.q = q, .q_len = strlen(q)};
    idx_search_params_default(db, &req.params);
    req.params.limit = QRY_MAX_LIMIT;
    struct idx_search_res res;
    struct sd_error err;
    assert_int_equal(idx_search(db, "default", &req, &res, &err), SD_OK);
    assert_true(res.total <= QRY_MAX_LIMIT);
    char **ids = calloc(res.nhits + 1, sizeof *ids);
    for (size_t i = 0; i < res.nhits; i++) {
        ids[i] = res.hits[i].id;
    }
    qsort(ids, res.nhits, sizeof *ids, cmp_str);
    uint64_t h = res.nhits;
    for (size_t i = 0; i < res.nhits; i++) {
        h = h * 1000003u ^ sd_hash64(ids[i], strlen(ids[i]));
    }
    free(ids);
    idx_search_res_free(&res);
    return h;
}

static struct idx_db *open_db(const char *dir, size_t flush_bytes, uint32_t merge_factor)
{
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    if (flush_bytes) {
        cfg.flush_bytes = flush_bytes;
    }
    if (merge_factor) {
        cfg.merge_factor = merge_factor;
    }
    cfg.flush_ms = 300;
    struct idx_db *db;
    struct sd_error err;
    if (idx_open(&cfg, &db, &err) != SD_OK) {
        fail_msg("idx_open: %s", err.msg);
    }
    return db;
}

static void test_idx_write_then_search_get_and_stats(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    assert_int_equal(put_doc(db, "ru1", "Цифровая дипломатия", "Дипломатия в эпоху сетей."),
                     SD_OK);
    assert_int_equal(put_doc(db, "en1", "Steam", "The industrial revolution began."), SD_OK);
    assert_int_equal(tidx_count(db, "default", "дипломатии"), 1);
    assert_int_equal(tidx_count(db, "default", "industrial revolutions"), 1);
    struct seg_stored st;
    struct sd_error err;
    assert_int_equal(idx_get(db, "default", "ru1", 3, &st, &err), SD_OK);
    assert_int_equal(st.nfields, 2);
    assert_memory_equal(st.fields[0].value, "Цифровая дипломатия", st.fields[0].value_len);
    seg_stored_free(&st);
    assert_int_equal(idx_get(db, "default", "nope", 4, &st, &err), SD_ENOTFOUND);
    seg_stored_free(&st);
    struct idx_stats stats;
    assert_int_equal(idx_stats(db, "default", &stats, &err), SD_OK);
    assert_int_equal(stats.docs, 2);
    assert_int_equal(idx_stats(db, "other", &stats, &err), SD_ENOTFOUND);
    struct idx_search_req req = {.q = "x", .q_len = 1};
    idx_search_params_default(db, &req.params);
    struct idx_search_res res;
    assert_int_equal(idx_search(db, "missing", &req, &res, &err), SD_ENOTFOUND);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Hits take id and title from the segment's tables, with or without a snippet: a long
 * title is cut to SEG_TITLE_MAX bytes without splitting a UTF-8 character, a doc without
 * one shows "", and only a snippet reads the stored body. */
static void test_idx_hit_titles_with_and_without_snippet(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    char title[512] = "x"; /* "x" then 2-byte letters: byte 300 is inside one */
    while (strlen(title) + 2 < sizeof title) {
        strcat(title, "ж");
    }
    assert_int_equal(put_doc(db, "long", title, "shared words here"), SD_OK);
    struct seg_field f = {.name = "body", .name_len = 4, .value = "shared", .value_len = 6};
    struct idx_op op = {.type = IDX_OP_UPSERT,
                        .doc = {.id = "untitled", .id_len = 8, .fields = &f, .nfields = 1}};
    assert_int_equal(tidx_write(db, "default", &op, 1, NULL, NULL), SD_OK);
    for (size_t snippet_len = 0; snippet_len <= 100; snippet_len += 100) {
        struct idx_search_req req = {.q = "shared", .q_len = 6, .snippet_len = snippet_len};
        idx_search_params_default(db, &req.params);
        struct idx_search_res res;
        struct sd_error err;
        assert_int_equal(idx_search(db, "default", &req, &res, &err), SD_OK);
        assert_int_equal(res.nhits, 2);
        for (size_t i = 0; i < 2; i++) {
            const struct idx_hit *h = &res.hits[i];
            if (strcmp(h->id, "long") == 0) {
                assert_int_equal(strlen(h->title), SEG_TITLE_MAX - 1);
                assert_memory_equal(h->title, title, SEG_TITLE_MAX - 1);
            } else {
                assert_string_equal(h->id, "untitled");
                assert_string_equal(h->title, "");
            }
            assert_true(snippet_len ? strstr(h->snippet, "shared") != NULL : !h->snippet[0]);
        }
        idx_search_res_free(&res);
    }
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_upsert_replaces_and_delete_counts(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    assert_int_equal(put_doc(db, "a", "first", "alpha version"), SD_OK);
    assert_int_equal(put_doc(db, "a", "second", "beta version"), SD_OK);
    assert_int_equal(tidx_count(db, "default", "alpha"), 0);
    assert_int_equal(tidx_count(db, "default", "beta"), 1);
    assert_int_equal(tidx_count(db, "default", "version"), 1);
    /* upsert twice within one refresh window, then delete */
    assert_int_equal(put_doc(db, "b", "one", "gamma"), SD_OK);
    assert_int_equal(put_doc(db, "b", "two", "delta"), SD_OK);
    struct idx_write_result res;
    assert_int_equal(del_doc(db, "b", &res), SD_OK);
    assert_int_equal(res.deleted, 1);
    assert_int_equal(del_doc(db, "b", &res), SD_OK);
    assert_int_equal(res.not_found, 1);
    assert_int_equal(tidx_count(db, "default", "gamma OR delta"), 0);
    /* replaced three times within one refresh window: the newest wins, and
     * it is the one copy get and delete find (ids unique per segment) */
    assert_int_equal(put_doc(db, "r", "v", "zeta0"), SD_OK);
    assert_int_equal(put_doc(db, "r", "v", "zeta1"), SD_OK);
    assert_int_equal(put_doc(db, "r", "v", "zeta2"), SD_OK);
    assert_int_equal(tidx_count(db, "default", "zeta0 OR zeta1 OR zeta2"), 1);
    assert_int_equal(tidx_count(db, "default", "zeta2"), 1);
    struct seg_stored st;
    struct sd_error err;
    assert_int_equal(idx_get(db, "default", "r", 1, &st, &err), SD_OK);
    assert_memory_equal(st.fields[1].value, "zeta2", 5);
    seg_stored_free(&st);
    assert_int_equal(del_doc(db, "r", &res), SD_OK);
    assert_int_equal(res.deleted, 1);
    assert_int_equal(tidx_count(db, "default", "zeta0 OR zeta1 OR zeta2"), 0);
    /* replaced three times across refreshes, then deleted */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(put_doc(db, "d1", "thrice", "epsilon"), SD_OK);
        }
        assert_int_equal(tidx_count(db, "default", "epsilon"), 1);
        assert_int_equal(del_doc(db, "d1", &res), SD_OK);
        assert_int_equal(res.deleted, 1);
        assert_int_equal(tidx_count(db, "default", "epsilon"), 0);
        struct idx_stats stats;
        assert_int_equal(idx_stats(db, "default", &stats, &err), SD_OK);
        assert_int_equal(stats.docs, 1);
        idx_close(db);
        tidx_remove_tree(dir);
        free(dir);
}

static void test_idx_bad_ops_rejected_before_logging(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    struct seg_field f = {.name = "body", .name_len = 4, .value = "\xff", .value_len = 1};
    struct idx_op op = {.type = IDX_OP_UPSERT,
                        .doc = {.id = "x", .id_len = 1, .fields = &f, .nfields = 1}};
    struct sd_error err;
    assert_int_equal(tidx_write(db, "default", &op, 1, NULL, &err), SD_EINVAL);
    op.doc.id_len = 0;
    assert_int_equal(tidx_write(db, "default", &op, 1, NULL, &err), SD_EINVAL);
    f.value = "ok";
    f.value_len = 2;
    op.doc.id_len = 1;
    assert_int_equal(tidx_write(db, "../etc", &op, 1, NULL, &err), SD_EINVAL);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

#define NDOCS 3000

static void write_corpus(struct idx_db *db)
{
    static const char *words[] = {"river", "mountain", "city", "history", "science",
                                  "music",  "река",     "гора", "город",  "история"};
    char id[32];
    struct idx_op ops[100];
    char bodies[100][256], ids[100][32];
    for (int base = 0; base < NDOCS; base += 100) {
        for (int k = 0; k < 100; k++) {
            int i = base + k;
            snprintf(ids[k], sizeof ids[k], "d%d", i);
            snprintf(bodies[k], sizeof bodies[k], "%s %s %s number%d", words[i % 10],
                     words[(i / 10) % 10], words[(i * 7) % 10], i % 13);
            ops[k].type = IDX_OP_UPSERT;
            ops[k].doc.id = ids[k];
            ops[k].doc.id_len = strlen(ids[k]);
        }
        /* every doc gets the same field array shape; fill per op */
        struct seg_field fields[100][1];
        for (int k = 0; k < 100; k++) {
            fields[k][0] = (struct seg_field){.name = "body", .name_len = 4,
                                              .value = bodies[k],
                                              .value_len = strlen(bodies[k])};
            ops[k].doc.fields = fields[k];
            ops[k].doc.nfields = 1;
        }
        assert_int_equal(tidx_write(db, "default", ops, 100, NULL, NULL), SD_OK);
    }
    /* delete every 5th doc, upsert every 7th with new text */
    for (int i = 0; i < NDOCS; i += 5) {
        snprintf(id, sizeof id, "d%d", i);
        assert_int_equal(del_doc(db, id, NULL), SD_OK);
    }
    for (int i = 1; i < NDOCS; i += 7) {
        snprintf(id, sizeof id, "d%d", i);
        assert_int_equal(put_doc(db, id, "updated", "river updated"), SD_OK);
    }
}

static const char *queries[] = {"river history",  "history city", "река гора",
                                "music -science", "updated",      "number3",
                                "\"river mountain\"", "hist*"};

static void snapshot_answers(struct idx_db *db, char out[][2048])
{
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        snprintf(out[q], 2048, "%s: %llu %llx", queries[q],
                 (unsigned long long)tidx_count(db, "default", queries[q]),
                 (unsigned long long)match_digest(db, queries[q]));
    }
}

static void test_idx_reopen_flush_and_merge_keep_answers(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    /* tiny flush threshold and factor 2: many flushes and merges */
    struct idx_db *db = open_db(dir, 16 << 10, 2);
    write_corpus(db);
    static char before[8][2048], after[8][2048];
    snapshot_answers(db, before);
    struct idx_stats st;
    struct sd_error err;
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    uint64_t expect_docs = NDOCS - NDOCS / 5;
    for (int i = 1; i < NDOCS; i += 7) {
        expect_docs += i % 5 == 0; /* deleted, then upserted again */
    }
    assert_int_equal(st.docs, expect_docs);
    /* let flushes and merges run, answers must not move */
    for (int i = 0; i < 30; i++) {
        usleep(100 * 1000);
        snapshot_answers(db, after);
        for (int q = 0; q < 8; q++) {
            assert_string_equal(before[q], after[q]);
        }
    }
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    assert_true(st.flushes_done > 0);
    assert_true(st.segments <= 12);
    idx_close(db);
    db = open_db(dir, 16 << 10, 2);
    snapshot_answers(db, after);
    for (int q = 0; q < 8; q++) {
        assert_string_equal(before[q], after[q]);
    }
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    assert_int_equal(st.docs, expect_docs);
    idx_close(db);
    assert_int_equal(idx_check_dir(dir, stderr, &err), SD_OK);
    tidx_remove_tree(dir);
    free(dir);
}

/* Flips one byte in the middle of the first segment file of the index. */
static bool damage_a_segment(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/default", dir);
    DIR *d = opendir(path);
    struct dirent *e;
    bool done = false;
    while (!done && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".seg") != 0) {
            continue;
        }
        char file[1024];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        FILE *f = fopen(file, "r+b");
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, len / 2, SEEK_SET);
        int c = fgetc(f);
        fseek(f, len / 2, SEEK_SET);
        fputc(c ^ 0x55, f);
        fclose(f);
        done = true;
    }
    closedir(d);
    return done;
}

static void test_idx_corrupt_segment_degrades_and_check_fails(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    assert_int_equal(put_doc(db, "a", "alpha", "first file"), SD_OK);
    idx_close(db); /* flushes: segment 1 */
    db = open_db(dir, 0, 0);
    assert_int_equal(put_doc(db, "b", "beta", "second file"), SD_OK);
    idx_close(db);
    assert_true(damage_a_segment(dir));
    struct sd_error err;
    assert_int_equal(idx_check_dir(dir, stderr, &err), SD_ECORRUPT);
    db = open_db(dir, 0, 0);
    struct idx_stats st;
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    assert_true(st.degraded);
    assert_non_null(strstr(st.degraded_reason, ".seg"));
    assert_int_equal(st.docs, 1); /* the other segment is served */
    assert_int_equal(tidx_count(db, "default", "file"), 1);
    idx_close(db);
    /* still reported after a restart that wrote nothing new */
    db = open_db(dir, 0, 0);
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    assert_true(st.degraded);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* ---- an index whose open is refused by damage: unavailable, the others served ---- */

static char g_error_events[4096]; /* the engine's error-level events, one per line */

static void collect_error_event(void *arg, enum idx_log_level level, const char *line)
{
    (void)arg;
    size_t used = strlen(g_error_events);
    if (level == IDX_LOG_ERROR) {
        snprintf(g_error_events + used, sizeof g_error_events - used, "%s\n", line);
    }
}

/* A digest of every file of dir, names and bytes (order-independent). */
static uint64_t dir_digest(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    uint64_t h = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[1024];
        uint8_t *data = NULL;
        size_t len = 0;
        struct sd_error err;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint64_t one = sd_hash64(e->d_name, strlen(e->d_name));
        if (e->d_name[0] != '.' && sd_read_file(path, 1u << 24, &data, &len, &err) == SD_OK) {
            one ^= sd_hash64(data, len) * 31u;
        }
        free(data);
        h += one;
    }
    closedir(d);
    return h;
}

static void flip_byte(const char *path, long at)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
}

/* The message `searchd --check` prints for index (its first FAIL line), into out. */
static void check_message(const char *dir, const char *index, char *out, size_t cap)
{
    char report[8192] = {0}, prefix[128];
    FILE *f = fmemopen(report, sizeof report - 1, "w");
    struct sd_error err;
    assert_int_equal(idx_check_dir(dir, f, &err), SD_ECORRUPT);
    fclose(f);
    snprintf(prefix, sizeof prefix, "FAIL index=%s ", index);
    const char *p = strstr(report, prefix);
    assert_non_null(p);
    p += strlen(prefix);
    size_t n = strcspn(p, "\n");
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Every call naming an unavailable index is SD_EUNAVAIL with the open's message. */
static void expect_unavailable(struct idx_db *db, const char *index, const char *msg)
{
    struct sd_error err;
    struct idx_stats st;
    assert_int_equal(idx_stats(db, index, &st, &err), SD_EUNAVAIL);
    assert_string_equal(err.msg, msg);
    struct idx_search_req req = {.q = "file", .q_len = 4};
    idx_search_params_default(db, &req.params);
    struct idx_search_res res;
    assert_int_equal(idx_search(db, index, &req, &res, &err), SD_EUNAVAIL);
    idx_search_res_free(&res);
    struct seg_stored doc;
    assert_int_equal(idx_get(db, index, "a", 1, &doc, &err), SD_EUNAVAIL);
    seg_stored_free(&doc);
    struct seg_field f = {.name = "body", .name_len = 4, .value = "x", .value_len = 1};
    struct idx_op op = {.type = IDX_OP_UPSERT,
                        .doc = {.id = "n", .id_len = 1, .fields = &f, .nfields = 1}};
    assert_int_equal(tidx_write(db, index, &op, 1, NULL, &err), SD_EUNAVAIL);
    op.type = IDX_OP_DELETE;
    assert_int_equal(tidx_write(db, index, &op, 1, NULL, &err), SD_EUNAVAIL);
    uint64_t version;
    assert_int_equal(idx_set_settings(db, index, "{}", 2, IDX_SETTINGS_CREATE, &version, &err),
                     SD_EUNAVAIL);
    assert_int_equal(idx_set_settings(db, index, "{}", 2, IDX_SETTINGS_UPSERT, &version, &err),
                     SD_EUNAVAIL);
    char *json = NULL;
    size_t len;
    assert_int_equal(idx_get_settings(db, index, &json, &len, &version, &err), SD_EUNAVAIL);
    free(json);
    assert_int_equal(idx_drop(db, index, &err), SD_EUNAVAIL);
    assert_string_equal(err.msg, msg);
}

static void test_idx_damaged_manifest_makes_one_index_unavailable_not_the_start(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    struct seg_field f = {.name = "body", .name_len = 4, .value = "file", .value_len = 4};
    struct idx_op op = {.type = IDX_OP_UPSERT,
                        .doc = {.id = "a", .id_len = 1, .fields = &f, .nfields = 1}};
    assert_int_equal(tidx_write(db, "bad", &op, 1, NULL, NULL), SD_OK);
    assert_int_equal(tidx_write(db, "good", &op, 1, NULL, NULL), SD_OK);
    idx_close(db); /* flushed: each has a segment and a MANIFEST naming it */
    char bad[512], manifest[600], msg[512];
    snprintf(bad, sizeof bad, "%s/bad", dir);
    snprintf(manifest, sizeof manifest, "%s/MANIFEST", bad);
    flip_byte(manifest, 20);
    check_message(dir, "bad", msg, sizeof msg);
    uint64_t before = dir_digest(bad);

    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.log = collect_error_event;
    g_error_events[0] = '\0';
    struct sd_error err;
    assert_int_equal(idx_open(&cfg, &db, &err), SD_OK);
    char event[800];
    snprintf(event, sizeof event, "event=index_unavailable index=bad msg=\"%s\"\n", msg);
    assert_string_equal(g_error_events, event);
    expect_unavailable(db, "bad", msg);
    assert_int_equal(tidx_count(db, "good", "file"), 1); /* the other is served */
    assert_int_equal(tidx_write(db, "good", &op, 1, NULL, NULL), SD_OK);
    char **names;
    size_t n;
    assert_int_equal(idx_list(db, &names, &n, &err), SD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "bad");
    assert_string_equal(names[1], "good");
    free(names[0]);
    free(names[1]);
    free(names);
    struct idx_index_info *info;
    assert_int_equal(idx_indexes(db, &info, &n, &err), SD_OK);
    assert_int_equal(n, 2);
    assert_true(info[0].is_unavailable);
    assert_string_equal(info[0].reason, msg);
    assert_false(info[1].is_unavailable);
    assert_int_equal(info[1].docs, 1);
    free(info);
    idx_close(db);
    assert_true(dir_digest(bad) == before); /* not a byte changed, the close included */

    flip_byte(manifest, 20); /* the operator puts the right file back: served again */
    db = open_db(dir, 0, 0);
    assert_int_equal(tidx_count(db, "bad", "file"), 1);
    assert_int_equal(tidx_write(db, "bad", &op, 1, NULL, NULL), SD_OK);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* A link with an index's name is unavailable, never followed; so is every index when all are
 * damaged: the start still succeeds (docs/DATA.md, "Damage"). */
static void test_idx_link_and_every_index_damaged_still_start(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    assert_int_equal(put_doc(db, "a", "alpha", "file"), SD_OK);
    idx_close(db);
    char path[512], link[512], msg[512];
    snprintf(path, sizeof path, "%s/default/MANIFEST", dir);
    flip_byte(path, 20);
    snprintf(path, sizeof path, "%s/default", dir);
    snprintf(link, sizeof link, "%s/books", dir);
    assert_int_equal(symlink(path, link), 0);
    check_message(dir, "books", msg, sizeof msg);
    assert_non_null(strstr(msg, "a symbolic link, not an index directory"));
    struct sd_error err;
    db = open_db(dir, 0, 0);
    expect_unavailable(db, "books", msg);
    struct idx_stats st;
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_EUNAVAIL);
    assert_non_null(strstr(err.msg, "MANIFEST"));
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* A full disk: RLIMIT_FSIZE makes every write past the limit fail with EFBIG,
 * which the engine treats as ENOSPC, without needing root or a small mount. */
static void test_idx_disk_full_refuses_writes_keeps_acked_and_resumes(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    assert_int_equal(put_doc(db, "a", "kept", "written before the disk filled"), SD_OK);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 64 << 10;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    static char big[200 << 10];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(put_doc(db, "b", "lost", big), SD_ENOSPC);
    struct idx_stats st;
    struct sd_error err;
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    assert_true(st.writes_refused);
    assert_int_equal(tidx_count(db, "default", "written"), 1); /* queries go on */
    assert_int_equal(tidx_count(db, "default", "lost"), 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(put_doc(db, "c", "after", "space came back"), SD_OK);
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    assert_false(st.writes_refused);
    idx_close(db);
    db = open_db(dir, 0, 0);
    assert_int_equal(tidx_count(db, "default", "written"), 1);
    assert_int_equal(tidx_count(db, "default", "space"), 1);
    assert_int_equal(tidx_count(db, "default", "lost"), 0);
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    assert_int_equal(st.docs, 2);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Appends bytes to the newest log file, as a crash in mid-append leaves it. */
static void tear_log_tail(const char *dir)
{
    char path[512], newest[512] = "";
    snprintf(path, sizeof path, "%s/default", dir);
    DIR *d = opendir(path);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "wal-", 4) == 0 && strcmp(e->d_name, newest) > 0) {
            snprintf(newest, sizeof newest, "%s", e->d_name);
        }
    }
    closedir(d);
    assert_true(newest[0]);
    char file[1100];
    snprintf(file, sizeof file, "%s/%s", path, newest);
    FILE *f = fopen(file, "ab");
    /* a plausible header of a record that never finished */
    static const unsigned char torn[] = {0x40, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 'p', 'a'};
    fwrite(torn, 1, sizeof torn, f);
    fclose(f);
}

static void test_idx_torn_log_tail_is_dropped_on_reopen(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child writes and dies without closing, as under kill -9 */
        struct idx_db *child = open_db(dir, 0, 0);
        int rc = put_doc(child, "a", "one", "acknowledged");
        rc |= put_doc(child, "b", "two", "acknowledged too");
        _exit(rc == SD_OK ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    tear_log_tail(dir);
    struct idx_db *db = open_db(dir, 0, 0);
    assert_int_equal(tidx_count(db, "default", "acknowledged"), 2);
    assert_int_equal(put_doc(db, "c", "three", "acknowledged after"), SD_OK);
    assert_int_equal(tidx_count(db, "default", "acknowledged"), 3);
    struct idx_db *second;
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    struct sd_error err;
    assert_int_equal(idx_open(&cfg, &second, &err), SD_EBUSY); /* one process per dir */
    idx_close(db);
    db = open_db(dir, 0, 0);
    assert_int_equal(tidx_count(db, "default", "acknowledged"), 3);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Tombstone files in dir/default whose segment file is gone: a merge dropped the segment,
 * and its last tombstone generation stayed behind (until the next open cleaned it up). */
static int stray_tombstones(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/default", dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        unsigned seg_no, gen;
        char seg[1024];
        if (sscanf(e->d_name, "seg-%6u.%6u.del", &seg_no, &gen) == 2) {
            snprintf(seg, sizeof seg, "%s/seg-%06u.seg", path, seg_no);
            n += access(seg, F_OK) != 0;
        }
    }
    closedir(d);
    return n;
}

static void test_idx_long_write_stream_keeps_segment_count_bounded(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 8 << 10, 4);
    char id[32], body[64];
    struct idx_stats st;
    struct sd_error err;
    uint32_t max_segments = 0;
    for (int i = 0; i < 4000; i++) {
        snprintf(id, sizeof id, "s%d", i % 1500); /* later rounds are upserts */
        snprintf(body, sizeof body, "stream item %d round %d", i % 1500, i / 1500);
        assert_int_equal(put_doc(db, id, "stream", body), SD_OK);
        if (i % 100 == 0) {
            assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
            if (st.segments > max_segments) {
                max_segments = st.segments;
            }
        }
    }
    assert_int_equal(tidx_count(db, "default", "stream"), 1500);
    assert_int_equal(tidx_count(db, "default", "round"), 1500);
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    assert_true(st.merges_done > 0);
    assert_true(hist_count(&st.merge_time) >= st.merges_done); /* each merge timed */
    assert_true(st.merge_time.sum_ns > 0);
    /* merge_factor 4 per size tier: a few tiers of at most 4 segments */
    assert_true(max_segments <= 24);
    idx_close(db);
    /* the segments merged away took their tombstone files with them */
    assert_int_equal(stray_tombstones(dir), 0);
    tidx_remove_tree(dir);
    free(dir);
}

/* ---- many writes in flight: analysis thread and writer in step ---- */

#define PIPE_WRITES 60
#define PIPE_OPS    50
#define PIPE_IDS    300

struct pipe_ack {
    pthread_mutex_t *lock;
    int *order; /* acks in the order they came */
    int *nacks;
    int no;
    int rc;
    struct idx_write_result res;
};

static void on_pipe_done(void *arg, int rc, const struct idx_write_result *res,
                         const struct sd_error *err)
{
    (void)err;
    struct pipe_ack *a = arg;
    pthread_mutex_lock(a->lock);
    a->rc = rc;
    if (res) {
        a->res = *res;
    }
    a->order[(*a->nacks)++] = a->no;
    pthread_mutex_unlock(a->lock);
}

/* Write w's ops: mostly upserts of ids shared with other writes (some twice in one write,
 * which makes the writer refresh in mid-batch), every seventh a delete. Bodies of about
 * 700 bytes fill several 16 KiB stored blocks per write (compressed on the analysis
 * thread). */
static size_t pipe_ops(int w, struct idx_op *ops, struct seg_field (*f)[2], char (*ids)[16],
                       char (*bodies)[768])
{
    for (int i = 0; i < PIPE_OPS; i++) {
        snprintf(ids[i], sizeof ids[i], "p%d", (w * 37 + i * 11 + (i % 5 == 0 ? 0 : w)) % PIPE_IDS);
        int n = snprintf(bodies[i], sizeof bodies[i], "tag%d северо-запад running runs", w);
        for (int k = 0; n < 700; k++) {
            n += snprintf(bodies[i] + n, sizeof bodies[i] - (size_t)n, " filler%d", (i + k) % 97);
        }
        f[i][0] = (struct seg_field){"title", 5, "pipelined", 9, SEG_TEXT};
        f[i][1] = (struct seg_field){"body", 4, bodies[i], strlen(bodies[i]), SEG_TEXT};
        bool is_delete = (i + w) % 7 == 0;
        ops[i] = (struct idx_op){.type = is_delete ? IDX_OP_DELETE : IDX_OP_UPSERT,
                                 .doc = {.id = ids[i],
                                         .id_len = strlen(ids[i]),
                                         .fields = is_delete ? NULL : f[i],
                                         .nfields = is_delete ? 0 : 2}};
    }
    return PIPE_OPS;
}

static void test_idx_pipelined_writes_apply_and_ack_in_queue_order(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int order[PIPE_WRITES], nacks = 0;
    struct pipe_ack acks[PIPE_WRITES];
    int model[PIPE_IDS];                   /* write that holds the id's live version, or -1 */
    uint32_t want[PIPE_WRITES][4] = {{0}}; /* added, replaced, deleted, not found */
    for (int k = 0; k < PIPE_IDS; k++) {
        model[k] = -1;
    }
    static struct idx_op ops[PIPE_OPS];
    static struct seg_field f[PIPE_OPS][2];
    static char ids[PIPE_OPS][16], bodies[PIPE_OPS][768];
    for (int w = 0; w < PIPE_WRITES; w++) {
        size_t n = pipe_ops(w, ops, f, ids, bodies);
        for (size_t i = 0; i < n; i++) {
            int k = atoi(ids[i] + 1);
            bool existed = model[k] >= 0;
            if (ops[i].type == IDX_OP_UPSERT) {
                want[w][existed ? 1 : 0]++;
                model[k] = w;
            } else {
                want[w][existed ? 2 : 3]++;
                model[k] = -1;
            }
        }
        acks[w] = (struct pipe_ack){&lock, order, &nacks, w, -1, {0}};
        struct sd_error err;
        assert_int_equal(idx_write(db, "default", ops, n, on_pipe_done, &acks[w], &err), SD_OK);
    }
    idx_close(db); /* waits for every queued write */
    assert_int_equal(nacks, PIPE_WRITES);
    for (int w = 0; w < PIPE_WRITES; w++) {
        assert_int_equal(order[w], w); /* one submitter: acks in queue order */
        assert_int_equal(acks[w].rc, SD_OK);
        assert_int_equal(acks[w].res.added, want[w][0]);
        assert_int_equal(acks[w].res.replaced, want[w][1]);
        assert_int_equal(acks[w].res.deleted, want[w][2]);
        assert_int_equal(acks[w].res.not_found, want[w][3]);
    }
    db = open_db(dir, 0, 0);
    uint64_t live = 0;
    for (int w = 0; w < PIPE_WRITES; w++) {
        uint64_t n = 0;
        for (int k = 0; k < PIPE_IDS; k++) {
            n += model[k] == w;
        }
        char q[16];
        snprintf(q, sizeof q, "tag%d", w);
        assert_int_equal(tidx_count(db, "default", q), n);
        live += n;
    }
    assert_int_equal(tidx_count(db, "default", "северо-запад"), live);
    assert_int_equal(tidx_count(db, "default", "pipelined"), live);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* How many live segments of the default index pass is(). */
static size_t live_segments(struct idx_db *db, bool (*is)(const struct idx_segref *))
{
    struct idx_index *ix;
    struct sd_error err;
    assert_int_equal(idx_db_find(db, "default", false, &ix, &err), SD_OK);
    pthread_mutex_lock(&ix->state_lock);
    size_t n = 0;
    for (size_t i = 0; i < ix->nlive; i++) {
        n += is(ix->live[i].ref);
    }
    pthread_mutex_unlock(&ix->state_lock);
    idx_index_put(ix);
    return n;
}

static bool is_in_memory(const struct idx_segref *r)
{
    return r->seg_no == 0;
}

/* Its exact forms are in memory (built by a typo walk). */
static bool has_exact_terms(const struct idx_segref *r)
{
    return seg_exact_terms_built(r->seg) != NULL;
}

static size_t mem_segments(struct idx_db *db)
{
    return live_segments(db, is_in_memory);
}

/* A database that keeps its segments in memory for the whole test (no flush), with five
 * documents "<prefix>0".."<prefix>4" saying "pause then merge", each its own acknowledged
 * batch and so its own segment until the idle merge. */
static struct idx_db *open_five_in_memory(const char *dir, const char *prefix)
{
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.flush_ms = 60000; /* no flush to disk during the test */
    /* in-memory tiers of 8 (tier.c): five one-document segments never fill one, so only the
     * idle merge joins them */
    cfg.merge_factor = 16;
    struct idx_db *db;
    struct sd_error err;
    assert_int_equal(idx_open(&cfg, &db, &err), SD_OK);
    char id[32];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "%s%d", prefix, i);
        assert_int_equal(put_doc(db, id, prefix, "pause then merge"), SD_OK);
    }
    return db;
}

/* Waits (generously: a sanitizer build on a busy machine) until db has one in-memory segment. */
static void wait_one_mem_segment(struct idx_db *db)
{
    for (int waited = 0; waited < 300 && mem_segments(db) > 1; waited++) {
        usleep(100 * 1000);
    }
    assert_int_equal(mem_segments(db), 1);
}

/* Each acknowledged batch is its own in-memory segment; once writes pause, they become one,
 * and so do they with the next write after the pause (few documents: the rewrite is cheap). */
static void test_idx_idle_merges_memory_segments(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_five_in_memory(dir, "idle");
    assert_true(mem_segments(db) > 1);
    wait_one_mem_segment(db);
    assert_int_equal(tidx_count(db, "default", "pause"), 5);
    assert_int_equal(put_doc(db, "idle5", "idle", "pause then merge"), SD_OK);
    wait_one_mem_segment(db);
    assert_int_equal(tidx_count(db, "default", "pause"), 6);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Past 1000 documents in memory, a pause merges the in-memory segments only when none holds
 * half their documents: a trickle of writes does not rewrite a big segment after each pause. */
static void test_idx_idle_merge_spares_a_big_segment(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_five_in_memory(dir, "big");
    wait_one_mem_segment(db);
    enum { NBIG = 1200 };
    struct seg_field(*f)[2] = calloc(NBIG, sizeof *f);
    struct idx_op *ops = calloc(NBIG, sizeof *ops);
    char(*ids)[16] = calloc(NBIG, sizeof *ids);
    assert_true(f && ops && ids);
    for (int i = 0; i < NBIG; i++) {
        snprintf(ids[i], sizeof ids[i], "many%d", i);
        f[i][0] = (struct seg_field){.name = "title", .name_len = 5, .value = "t", .value_len = 1};
        f[i][1] =
            (struct seg_field){.name = "body", .name_len = 4, .value = "one batch", .value_len = 9};
        ops[i] = (struct idx_op){
            .type = IDX_OP_UPSERT,
            .doc = {.id = ids[i], .id_len = strlen(ids[i]), .fields = f[i], .nfields = 2}};
    }
    assert_int_equal(tidx_write(db, "default", ops, NBIG, NULL, NULL), SD_OK);
    usleep(1200 * 1000); /* past the pause: an idle merge would have been picked by now */
    assert_int_equal(mem_segments(db), 2); /* 5 + 1200 documents */
    assert_int_equal(tidx_count(db, "default", "pause"), 5);
    assert_int_equal(tidx_count(db, "default", "batch"), NBIG);
    free(f);
    free(ops);
    free(ids);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Segments whose exact forms a typo search has walked pass them on to their merge's output,
 * built by the merge thread before it is published: the next typo search does not build them
 * while its user waits. */
static void test_idx_merge_keeps_exact_forms_warm(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_five_in_memory(dir, "warm");
    /* a typo: every segment's forms walked */
    assert_int_equal(tidx_count(db, "default", "pauze"), 5);
    size_t before = mem_segments(db);
    assert_true(before > 1);
    assert_int_equal(live_segments(db, has_exact_terms), before);
    for (int waited = 0; waited < 100 && mem_segments(db) > 1; waited++) {
        usleep(100 * 1000);
    }
    assert_int_equal(mem_segments(db), 1); /* merged once writes paused */
    assert_int_equal(live_segments(db, has_exact_terms), 1);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static bool is_on_disk(const struct idx_segref *r)
{
    return r->seg_no != 0;
}

static bool is_warm_on_disk(const struct idx_segref *r)
{
    return is_on_disk(r) && has_exact_terms(r);
}

/* Waits (generously: a sanitizer build on a busy machine) until every disk segment of db has
 * its exact forms; returns how many disk segments it has. */
static size_t wait_disk_segments_warm(struct idx_db *db)
{
    for (int waited = 0; waited < 300; waited++) {
        size_t n = live_segments(db, is_on_disk);
        if (n > 0 && live_segments(db, is_warm_on_disk) == n) {
            return n;
        }
        usleep(100 * 1000);
    }
    fail_msg("disk segments without their exact forms after 30 s");
    return 0;
}

/* Disk segments get their exact forms from the disk merger when it has nothing to merge, with
 * no typo search asking (merge.c idx_warm_segments): after an import's flushes, and for
 * the segments an index opens with, so the first typo search after either does not wait. */
static void test_idx_disk_segments_get_warm_exact_forms(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0); /* flushes after 300 ms */
    assert_int_equal(put_doc(db, "w1", "warm", "forms built once flushed"), SD_OK);
    assert_int_equal(put_doc(db, "w2", "warm", "before any typo"), SD_OK);
    assert_true(wait_disk_segments_warm(db) > 0);
    idx_close(db);
    db = open_db(dir, 0, 0);
    assert_true(wait_disk_segments_warm(db) > 0);
    /* a typo reading, on the forms already there */
    assert_int_equal(tidx_count(db, "default", "befroe"), 1);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* In-memory segments get theirs from the memory merger once writes pause (merge.c
 * idx_warm_segments), with no typo search asking: a typo search right after an import, whose
 * documents stay in memory until the flush, does not build them while its user waits. */
static void test_idx_memory_segments_get_warm_exact_forms_when_writes_pause(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_five_in_memory(dir, "calm");
    /* generous: a sanitizer build on a busy machine */
    for (int waited = 0; waited < 300 && live_segments(db, has_exact_terms) == 0; waited++) {
        usleep(100 * 1000);
    }
    assert_int_equal(mem_segments(db), 1); /* merged first, so only the merge's output is built */
    assert_int_equal(live_segments(db, has_exact_terms), 1);
    assert_int_equal(tidx_count(db, "default", "pauze"), 5);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* A simple search of req.q with opts.drop_words: total; the words the best hit lacks joined by
 * '|' into dropped, then for each hit " id:missing" (its missing words joined by '|'). */
static uint64_t search_most(struct idx_db *db, const char *q, bool drop_words, char *dropped,
                             size_t cap)
{
    struct idx_search_req req = {.q = q, .q_len = strlen(q)};
    idx_search_params_default(db, &req.params);
    req.opts.syntax = QRY_SYNTAX_SIMPLE;
    req.opts.drop_words = drop_words;
    struct idx_search_res res;
    struct sd_error err;
    if (idx_search(db, "default", &req, &res, &err)) {
        fail_msg("search '%s': %s", q, err.msg);
    }
    dropped[0] = '\0';
    for (size_t i = 0; i < res.ndropped; i++) {
        snprintf(dropped + strlen(dropped), cap - strlen(dropped), "%s%s", i ? "|" : "",
                 res.dropped[i]);
    }
    for (size_t i = 0; i < res.nhits; i++) {
        const struct idx_hit *h = &res.hits[i];
        snprintf(dropped + strlen(dropped), cap - strlen(dropped), " %s:", h->id);
        for (size_t k = 0; k < h->nmissing; k++) {
            snprintf(dropped + strlen(dropped), cap - strlen(dropped), "%s%s", k ? "|" : "",
                     h->missing[k]);
        }
        assert_true(res.is_most_words == (h->missing != NULL));
    }
    if (res.is_most_words) {
        snprintf(dropped + strlen(dropped), cap - strlen(dropped), " every:%llu",
                 (unsigned long long)res.every_word);
    }
    uint64_t total = res.total;
    idx_search_res_free(&res);
    return total;
}

/* A search box's words that find nothing together: documents with most of them, by the share
 * of the words' idf they hold, each hit naming the words it lacks, and dropped those the best
 * lacks (most_words.c); phrases stay required; words that find something together are all needed. */
static void test_idx_most_words_when_all_together_find_nothing(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 0);
    assert_int_equal(put_doc(db, "d1", "Cats", "cats and dogs play"), SD_OK);
    assert_int_equal(put_doc(db, "d2", "Mice", "mice and birds sing"), SD_OK);
    char dropped[256];
    assert_int_equal(search_most(db, "cats dogs Birds", true, dropped, sizeof dropped), 2);
    assert_string_equal(dropped, "birds d1:birds d2:cats|dogs every:0"); /* folded, as typed */
    assert_int_equal(search_most(db, "cats zzqxv dogs", true, dropped, sizeof dropped), 1);
    assert_string_equal(dropped, "zzqxv d1:zzqxv every:0"); /* nobody's word */
    /* of two words that each find something alone, "cats" is d1's title too */
    assert_int_equal(search_most(db, "birds cats", true, dropped, sizeof dropped), 2);
    assert_string_equal(dropped, "birds d1:birds d2:cats every:0");
    assert_int_equal(search_most(db, "birds mice cats", true, dropped, sizeof dropped), 2);
    assert_string_equal(dropped, "cats d2:cats d1:birds|mice every:0"); /* wherever it stands */
    /* words that find something together come first, and when they find less than the page,
     * it goes on with documents that have some of them */
    assert_int_equal(search_most(db, "cats dogs", true, dropped, sizeof dropped), 1);
    assert_string_equal(dropped, " d1:");
    assert_int_equal(put_doc(db, "d3", "Dogs", "dogs sleep"), SD_OK);
    assert_int_equal(search_most(db, "cats dogs", true, dropped, sizeof dropped), 2);
    assert_string_equal(dropped, " d1: d3:cats every:1");
    assert_int_equal(search_most(db, "cats dogs", false, dropped, sizeof dropped), 1);
    assert_string_equal(dropped, " d1:");
    /* every page of one limit says the same total: a page of 1 is full with d1, and so is
     * the second page of 1 (empty), though d1 is fewer than its end */
    for (uint32_t limit = 1; limit <= 2; limit++) {
        uint64_t totals[3];
        for (uint32_t page = 0; page < 3; page++) {
            struct idx_search_req req = {.q = "cats dogs", .q_len = 9};
            idx_search_params_default(db, &req.params);
            req.opts.syntax = QRY_SYNTAX_SIMPLE;
            req.opts.drop_words = true;
            req.params.limit = limit;
            req.params.offset = page * limit;
            struct idx_search_res res;
            struct sd_error err;
            assert_int_equal(idx_search(db, "default", &req, &res, &err), SD_OK);
            totals[page] = res.total;
            assert_true(res.is_most_words == (limit == 2));
            idx_search_res_free(&res);
        }
        assert_int_equal(totals[0], limit == 1 ? 1 : 2);
        assert_int_equal(totals[1], totals[0]);
        assert_int_equal(totals[2], totals[0]);
    }
    /* a phrase stays required, and one word alone is no group */
    assert_int_equal(search_most(db, "\"dogs cats\" mice", true, dropped, sizeof dropped), 0);
    assert_string_equal(dropped, "");
    assert_int_equal(search_most(db, "zzqxv", true, dropped, sizeof dropped), 0);
    /* turned off: nothing */
    assert_int_equal(search_most(db, "cats dogs birds", false, dropped, sizeof dropped), 0);
    assert_string_equal(dropped, "");
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Issue 13's /metrics numbers as the engine keeps them: one fsync timed per group commit (each
 * acknowledged write here is its own), every record and its bytes counted, the in-memory
 * segment's bytes while documents sit in it, and a duration for each flush and merge. */
static void test_idx_stats_time_fsyncs_flushes_and_merges(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 0, 2); /* flush_ms 300: flushes come by themselves */
    struct idx_stats st;
    struct sd_error err;
    char id[32];
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "t%d", i);
        assert_int_equal(put_doc(db, id, "timed", "group commit then flush"), SD_OK);
    }
    assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    assert_int_equal(st.fsync_time.nbounds, 14);
    assert_int_equal(st.fsync_time.bounds_ns[0], 50000); /* 50 us */
    assert_int_equal(hist_count(&st.fsync_time), 4);
    assert_true(st.fsync_time.sum_ns > 0);
    assert_int_equal(st.wal_records, 4);
    assert_true(st.wal_synced_bytes > 4 * strlen("group commit then flush"));
    assert_int_equal(st.queued_writes, 0);
    assert_int_equal(st.queued_bytes, 0);
    if (st.mem_docs > 0) { /* not flushed yet: the documents' segments are charged */
        assert_true(st.mem_bytes > 0);
        assert_true(st.engine_memory_bytes >= st.mem_bytes);
    }
    assert_int_equal(st.engine_memory_limit, 0);
    for (int waited = 0; waited < 200 && (st.flushes_done == 0 || st.merges_running); waited++) {
        usleep(50 * 1000);
        assert_int_equal(idx_stats(db, "default", &st, &err), SD_OK);
    }
    assert_true(st.flushes_done > 0);
    assert_int_equal(st.mem_bytes, 0);
    /* a duration is recorded before its count moves: never fewer durations than counted */
    assert_true(hist_count(&st.flush_time) >= st.flushes_done);
    assert_true(st.flush_time.sum_ns > 0);
    assert_int_equal(st.flush_time.bounds_ns[st.flush_time.nbounds - 1], 300000000000ull);
    assert_true(hist_count(&st.merge_time) >= st.merges_done);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_write_then_search_get_and_stats),
        cmocka_unit_test(test_idx_hit_titles_with_and_without_snippet),
        cmocka_unit_test(test_idx_upsert_replaces_and_delete_counts),
        cmocka_unit_test(test_idx_bad_ops_rejected_before_logging),
        cmocka_unit_test(test_idx_reopen_flush_and_merge_keep_answers),
        cmocka_unit_test(test_idx_corrupt_segment_degrades_and_check_fails),
        cmocka_unit_test(test_idx_damaged_manifest_makes_one_index_unavailable_not_the_start),
        cmocka_unit_test(test_idx_link_and_every_index_damaged_still_start),
        cmocka_unit_test(test_idx_disk_full_refuses_writes_keeps_acked_and_resumes),
        cmocka_unit_test(test_idx_torn_log_tail_is_dropped_on_reopen),
        cmocka_unit_test(test_idx_long_write_stream_keeps_segment_count_bounded),
        cmocka_unit_test(test_idx_idle_merges_memory_segments),
        cmocka_unit_test(test_idx_idle_merge_spares_a_big_segment),
        cmocka_unit_test(test_idx_merge_keeps_exact_forms_warm),
        cmocka_unit_test(test_idx_disk_segments_get_warm_exact_forms),
        cmocka_unit_test(test_idx_memory_segments_get_warm_exact_forms_when_writes_pause),
        cmocka_unit_test(test_idx_most_words_when_all_together_find_nothing),
        cmocka_unit_test(test_idx_pipelined_writes_apply_and_ack_in_queue_order),
        cmocka_unit_test(test_idx_stats_time_fsyncs_flushes_and_merges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
