/*
 * memcap_test.c: the memory limit's accounting. Levels and admission on the counter alone;
 * then the engine: a burst of writes over a small limit is acknowledged or refused with
 * SD_EBUSY (never more charged than the limit allows, searches answered throughout), and
 * once everything is acked, flushed and idle the counter is back to what an empty index
 * holds: every charge was given back. Writers on several threads and two indexes, with typo
 * searches filling the segments' caches, never take the counter past the limit (its
 * high-water mark, which every charge raises); a write or a document that could never fit
 * is refused with SD_ELIMIT, not SD_EBUSY.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_int.h"
#include "idx.h"
#include "idx_test_util.h"

static void test_memcap_levels_admit_and_shares(void **state)
{
    (void)state;
    struct idx_memcap c;
    idx_memcap_init(&c, 1000);
    struct sd_error err;
    assert_int_equal(idx_memcap_level(&c), IDX_MEM_OK);
    idx_memcap_charge(&c, 499);
    assert_int_equal(idx_memcap_level(&c), IDX_MEM_OK);
    idx_memcap_charge(&c, 1);
    assert_int_equal(idx_memcap_level(&c), IDX_MEM_FLUSH);
    idx_memcap_charge(&c, 165);
    assert_int_equal(idx_memcap_level(&c), IDX_MEM_FLUSH);
    idx_memcap_charge(&c, 1);
    assert_int_equal(idx_memcap_level(&c), IDX_MEM_SLOW);
    assert_int_equal(idx_memcap_admit(&c, 84, &err), SD_OK); /* exactly up to 3/4 */
    assert_int_equal(idx_memcap_used(&c), 750);
    assert_int_equal(idx_memcap_level(&c), IDX_MEM_FULL);
    assert_int_equal(idx_memcap_admit(&c, 1, &err), SD_EBUSY);
    assert_non_null(strstr(err.msg, "memory limit"));
    assert_int_equal(idx_memcap_used(&c), 750); /* a refusal charges nothing */
    idx_memcap_charge(&c, -750);
    /* a write that could never fit is not busy (its client would retry for ever) */
    assert_int_equal(idx_memcap_admit(&c, 751, &err), SD_ELIMIT);
    assert_non_null(strstr(err.msg, "smaller batches"));
    assert_true(
        idx_memcap_fix(&c, 100, false)); /* stem caches: what a write can ever get shrinks */
    assert_int_equal(idx_memcap_admit(&c, 651, &err), SD_ELIMIT);
    assert_int_equal(idx_memcap_admit(&c, 650, &err), SD_OK);
    assert_int_equal(idx_memcap_used(&c), 750);
    assert_false(idx_memcap_try(&c, 1)); /* optional charges stop at the ceiling... */
    assert_true(idx_memcap_has_room(&c));
    idx_memcap_charge(&c, 250); /* ...essential ones do not */
    assert_false(idx_memcap_has_room(&c));
    idx_memcap_charge(&c, -250 - 650);
    idx_memcap_fix(&c, -100, false);
    assert_int_equal(idx_memcap_used(&c), 0);
    /* a put-off disk merge holds its room back from writes, not from itself */
    idx_memcap_hold(&c, 200);
    assert_int_equal(idx_memcap_admit(&c, 551, &err), SD_EBUSY);
    assert_int_equal(idx_memcap_admit(&c, 550, &err), SD_OK);
    assert_true(idx_memcap_try(&c, 200));
    idx_memcap_hold(&c, -200);
    idx_memcap_charge(&c, -750);
    /* search caches: at most a quarter of the limit, and within the ceiling */
    assert_true(idx_memcap_cache(&c, 200));
    assert_false(idx_memcap_cache(&c, 51));
    assert_true(idx_memcap_cache(&c, 50));
    assert_true(idx_memcap_cache(&c, -250));
    idx_memcap_charge(&c, 700);
    assert_false(idx_memcap_cache(&c, 51));
    idx_memcap_charge(&c, -700);
    assert_int_equal(idx_memcap_used(&c), 0);
    assert_int_equal(idx_memcap_peak(&c), 1000);
    assert_int_equal(idx_memcap_builder_bytes(&c), 1000 / 32);
    assert_int_equal(idx_memcap_share(&c, 500, 4), 250);
    assert_int_equal(idx_memcap_share(&c, 100, 4), 100);
    assert_int_equal(idx_memcap_stem_words(&c), 1024); /* the floor */

    idx_memcap_init(&c, 0); /* no limit: counted, never refused, no level */
    idx_memcap_charge(&c, (int64_t)1 << 40);
    assert_int_equal(idx_memcap_level(&c), IDX_MEM_OK);
    assert_int_equal(idx_memcap_admit(&c, 1u << 30, &err), SD_OK);
    assert_true(idx_memcap_try(&c, 1u << 30));
    assert_true(idx_memcap_cache(&c, 1 << 30));
    assert_int_equal(idx_memcap_builder_bytes(&c), SIZE_MAX); /* a builder holds a batch */
    assert_int_equal(idx_memcap_share(&c, 500, 4), 500);
    assert_int_equal(idx_memcap_stem_words(&c), IDX_STEM_CACHE_WORDS);
}

/* Many threads charge and give back at once: the counter ends where it started. */
static void *churn(void *arg)
{
    struct idx_memcap *c = arg;
    struct sd_error err;
    for (int i = 0; i < 100000; i++) {
        if (idx_memcap_admit(c, 7, &err) == SD_OK) {
            idx_memcap_charge(c, -7);
        }
    }
    return NULL;
}

static void test_memcap_concurrent_charges_balance(void **state)
{
    (void)state;
    struct idx_memcap c;
    idx_memcap_init(&c, 64);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, churn, &c), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(idx_memcap_used(&c), 0);
}

struct acks {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t pending, ok, failed;
};

static void on_done(void *arg, int rc, const struct idx_write_result *res,
                    const struct sd_error *err)
{
    (void)res;
    (void)err;
    struct acks *a = arg;
    pthread_mutex_lock(&a->lock);
    a->pending--;
    rc == SD_OK ? a->ok++ : a->failed++;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

static struct idx_db *open_db(const char *dir, uint64_t limit)
{
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.memory_limit = limit;
    cfg.flush_ms = 200;
    struct idx_db *db;
    struct sd_error err;
    if (idx_open(&cfg, &db, &err) != SD_OK) {
        fail_msg("idx_open: %s", err.msg);
    }
    return db;
}

/* 100 documents of about 1 KiB, ids d<first> to d<first + 99>: every token is new to the
 * vocabulary (a word and a number run together), the builder's worst case. */
struct batch {
    struct idx_op ops[100];
    struct seg_field f[100];
    char ids[100][16], bodies[100][1100];
};

static void fill_batch(struct batch *b, int first)
{
    static const char *words[] = {"river", "city", "history", "mountain", "archive", "garden"};
    for (int i = 0; i < 100; i++) {
        snprintf(b->ids[i], sizeof b->ids[i], "d%d", first + i);
        size_t len = 0;
        for (int w = 0; len < 1000; w++) {
            len += (size_t)snprintf(b->bodies[i] + len, sizeof b->bodies[i] - len, "%s%d ",
                                    words[(first + i + w) % 6], (first + i) * 31 + w);
        }
        b->f[i] = (struct seg_field){
            .name = "body", .name_len = 4, .value = b->bodies[i], .value_len = len};
        b->ops[i] = (struct idx_op){
            .type = IDX_OP_UPSERT,
            .doc = {
                .id = b->ids[i], .id_len = strlen(b->ids[i]), .fields = &b->f[i], .nfields = 1}};
    }
}

/* Queues the first n documents (of about 1 KiB) of a batch without waiting for their ack. */
static int queue_docs(struct idx_db *db, int first, uint32_t n, struct acks *a)
{
    struct batch *b = malloc(sizeof *b);
    assert_non_null(b);
    fill_batch(b, first);
    pthread_mutex_lock(&a->lock);
    a->pending++;
    pthread_mutex_unlock(&a->lock);
    struct sd_error err;
    int rc = idx_write(db, "books", b->ops, n, on_done, a, &err);
    free(b); /* idx_write copied what it keeps */
    if (rc) {
        pthread_mutex_lock(&a->lock);
        a->pending--;
        pthread_mutex_unlock(&a->lock);
    }
    return rc;
}

static int queue_batch(struct idx_db *db, int first, struct acks *a)
{
    return queue_docs(db, first, 100, a);
}

static void wait_all_acked(struct acks *a)
{
    pthread_mutex_lock(&a->lock);
    while (a->pending) {
        pthread_cond_wait(&a->cond, &a->lock);
    }
    pthread_mutex_unlock(&a->lock);
}

static uint64_t search_total(struct idx_db *db)
{
    struct idx_search_req req = {.q = "river", .q_len = 5};
    idx_search_params_default(db, &req.params);
    req.params.limit = 0;
    struct idx_search_res res;
    struct sd_error err;
    assert_int_equal(idx_search(db, "books", &req, &res, &err), SD_OK);
    uint64_t total = res.total;
    idx_search_res_free(&res);
    return total;
}

/* What the live segments' exact forms (seg_exact_terms: built by a typo walk) and memos
 * (seg_memo: a proximity search's forms) take. */
static uint64_t exact_terms_bytes(struct idx_db *db)
{
    uint64_t bytes = 0;
    pthread_mutex_lock(&db->lock);
    for (size_t i = 0; i < db->nindexes; i++) {
        struct idx_snap *snap = idx_snap_acquire(db->indexes[i]);
        for (size_t k = 0; k < snap->nsegs; k++) {
            bytes += seg_exact_terms_bytes(snap->segs[k].ref->seg) +
                     seg_memo_bytes(snap->segs[k].ref->seg);
        }
        idx_snap_release(snap);
    }
    pthread_mutex_unlock(&db->lock);
    return bytes;
}

/* Once everything is acked, flushed (flush_ms) and idle (the analysis pool is trimmed after a
 * second), only the stem caches stay charged, and the exact forms that the searches' typo
 * reading copied into memory, for as long as their segments live: waits up to 2 minutes (merges
 * under ASan on a loaded machine) for the counter to come back to that, and says what the
 * index was doing when it did not. */
static void assert_memory_given_back(struct idx_db *db)
{
    uint64_t used = 0, lim, baseline = 0;
    for (int i = 0; i < 12000; i++) {
        baseline = 2 * idx_memcap_stem_bytes(&db->memcap) + exact_terms_bytes(db);
        idx_memory(db, &used, &lim);
        if (used == baseline) {
            return;
        }
        usleep(10000);
    }
    struct idx_stats st;
    struct sd_error err;
    assert_int_equal(idx_stats(db, "books", &st, &err), SD_OK);
    print_error("memcap: used %llu, baseline %llu: %llu segments, %llu in memory, %llu merges "
                "running\n",
                (unsigned long long)used, (unsigned long long)baseline,
                (unsigned long long)st.segments, (unsigned long long)st.mem_segments,
                (unsigned long long)st.merges_running);
    assert_int_equal(used, baseline);
}

static void test_memcap_burst_over_limit_acks_or_busy_and_gives_all_back(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    uint64_t limit = 8u << 20;
    struct idx_db *db = open_db(dir, limit);
    struct acks a = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    assert_int_equal(queue_batch(db, 0, &a), SD_OK);
    uint64_t used, lim;
    wait_all_acked(&a);
    size_t busy = 0, queued = 1;
    uint64_t peak = 0;
    for (int b = 1; b < 400; b++) { /* 40 MB of documents, as fast as idx_write takes them */
        int rc = queue_batch(db, b * 100, &a);
        assert_true(rc == SD_OK || rc == SD_EBUSY);
        busy += rc == SD_EBUSY;
        queued += rc == SD_OK;
        idx_memory(db, &used, &lim);
        peak = used > peak ? used : peak;
        if (b % 50 == 0) {
            assert_true(search_total(db) > 0); /* searches are answered throughout */
        }
        if (rc == SD_EBUSY) {
            usleep(2000); /* the client's retry pause */
        }
    }
    assert_int_equal(lim, limit);
    /* Writes are admitted only under 3/4 of the limit, and what they become meanwhile (a
     * builder, its image, a flush) takes the last quarter at most (memcap.c, THE BOUND):
     * every charge raised the high-water mark, so no transient between two reads escapes.
     * (Before the bound: 1.6-1.8 x the limit on these documents.) */
    assert_true(peak <= idx_memory_peak(db));
    assert_true(idx_memory_peak(db) <= limit);
    wait_all_acked(&a);
    assert_int_equal(a.ok, queued);
    assert_int_equal(a.failed, 0);
    print_message("memcap: %zu batches acked, %zu refused busy, peak %llu of %llu bytes\n", queued,
                  busy, (unsigned long long)idx_memory_peak(db), (unsigned long long)limit);
    struct idx_stats st;
    struct sd_error err;
    assert_int_equal(idx_stats(db, "books", &st, &err), SD_OK);
    assert_int_equal(st.docs, queued * 100); /* every acked one, none of the refused */
    assert_memory_given_back(db);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* One writer thread: `batches` batches to `index`, ids from `first` on, up to four
 * unacknowledged (pipelining); every fourth batch writes the ids of the one three before
 * again (replacements), and every fifth deletes ten documents of the one before. A batch
 * answered SD_EBUSY is sent again after a pause, as a client would. alive[k] says whether
 * d<first + k> should be found at the end (a thread's writes apply in its order). */
struct writer {
    pthread_t thread;
    struct idx_db *db;
    const char *index;
    int first, batches;
    bool alive[4000];
    size_t busy;
    int rc;
    struct sd_error err;
    struct acks acks;
};

static void wait_acks(struct acks *a, size_t most)
{
    pthread_mutex_lock(&a->lock);
    while (a->pending > most) {
        pthread_cond_wait(&a->cond, &a->lock);
    }
    pthread_mutex_unlock(&a->lock);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct batch *b = malloc(sizeof *b);
    for (int i = 0; b && i < w->batches && w->rc == SD_OK; i++) {
        int at = i % 4 == 3 ? i - 3 : i;
        fill_batch(b, w->first + at * 100);
        for (int k = 0; i % 5 == 4 && k < 10; k++) { /* delete ten of batch i - 1 */
            snprintf(b->ids[k], sizeof b->ids[k], "d%d", w->first + (i - 1) * 100 + k * 7);
            b->ops[k] = (struct idx_op){.type = IDX_OP_DELETE,
                                        .doc = {.id = b->ids[k], .id_len = strlen(b->ids[k])}};
        }
        wait_acks(&w->acks, 3);
        pthread_mutex_lock(&w->acks.lock);
        w->acks.pending++;
        pthread_mutex_unlock(&w->acks.lock);
        while ((w->rc = idx_write(w->db, w->index, b->ops, 100, on_done, &w->acks, &w->err)) ==
               SD_EBUSY) {
            w->busy++;
            usleep(2000);
        }
        if (w->rc) {
            break;
        }
        for (int k = 0; k < 100; k++) {
            bool is_delete = b->ops[k].type == IDX_OP_DELETE;
            int id = atoi(b->ids[k] + 1) - w->first;
            w->alive[id] = !is_delete;
            if (!is_delete) {
                w->alive[at * 100 + k] = true;
            }
        }
    }
    wait_acks(&w->acks, 0);
    if (w->rc == SD_OK && w->acks.failed) {
        w->rc = SD_EIO;
        snprintf(w->err.msg, sizeof w->err.msg, "%zu writes failed", w->acks.failed);
    }
    free(b);
    return NULL;
}

struct searcher {
    pthread_t thread;
    struct idx_db *db;
    atomic_bool stop;
    size_t count;
};

/* Typo searches ("river" alone matches no token: every reading is tried, typo walks fill the
 * segments' exact forms) and two-word ones (proximity memos), until told to stop. */
static void *searcher_main(void *arg)
{
    struct searcher *s = arg;
    static const char *qs[] = {"river", "histroy city", "mountian", "garden archive"};
    while (!atomic_load(&s->stop)) {
        for (int i = 0; i < 2; i++) {
            struct idx_search_req req = {.q = qs[s->count % 4], .q_len = strlen(qs[s->count % 4])};
            idx_search_params_default(s->db, &req.params);
            struct idx_search_res res;
            struct sd_error err;
            if (idx_search(s->db, i ? "films" : "books", &req, &res, &err) == SD_OK) {
                idx_search_res_free(&res);
            }
        }
        s->count++;
        usleep(1000);
    }
    return NULL;
}

static void test_memcap_threads_writing_to_two_indexes_never_pass_the_limit(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    uint64_t limit = 8u << 20;
    struct idx_db *db = open_db(dir, limit);
    static struct writer w[4];
    struct searcher s = {.db = db};
    atomic_init(&s.stop, false);
    assert_int_equal(pthread_create(&s.thread, NULL, searcher_main, &s), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){
            .db = db,
            .index = i % 2 ? "films" : "books",
            .first = i * 100000,
            .batches = 30,
            .acks = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER}};
        assert_int_equal(pthread_create(&w[i].thread, NULL, writer_main, &w[i]), 0);
    }
    size_t busy = 0;
    uint64_t expect[2] = {0, 0};
    for (int i = 0; i < 4; i++) {
        pthread_join(w[i].thread, NULL);
        if (w[i].rc) {
            fail_msg("writer %d: %s", i, w[i].err.msg);
        }
        busy += w[i].busy;
        for (int k = 0; k < 4000; k++) {
            expect[i % 2] += w[i].alive[k];
        }
    }
    atomic_store(&s.stop, true);
    pthread_join(s.thread, NULL);
    print_message("memcap: 4 writers, %zu refused busy, %zu searches, peak %llu of %llu bytes\n",
                  busy, s.count, (unsigned long long)idx_memory_peak(db),
                  (unsigned long long)limit);
    assert_true(idx_memory_peak(db) <= limit);
    for (int i = 0; i < 2; i++) {
        struct idx_stats st;
        struct sd_error err;
        assert_int_equal(idx_stats(db, i ? "films" : "books", &st, &err), SD_OK);
        assert_int_equal(st.docs, expect[i]);
    }
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* A write no engine under this limit could hold, or a document whose inversion is larger than
 * the writer's room, gets SD_ELIMIT and a message saying what to do: SD_EBUSY would have its
 * client retry for ever. Nothing of it is stored. */
static void test_memcap_write_that_can_never_fit_is_elimit_not_busy(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 8u << 20);
    enum { N = 60 }; /* 60 batches' worth of documents in one write: 6 MB of records */
    struct batch *b = malloc(N * sizeof *b);
    struct idx_op *ops = malloc(N * 100 * sizeof *ops);
    assert_non_null(b);
    assert_non_null(ops);
    for (int i = 0; i < N; i++) {
        fill_batch(&b[i], i * 100);
        memcpy(&ops[i * 100], b[i].ops, sizeof b[i].ops);
    }
    struct sd_error err;
    assert_int_equal(tidx_write(db, "books", ops, N * 100, NULL, &err), SD_ELIMIT);
    assert_non_null(strstr(err.msg, "smaller batches"));
    /* one document of 30,000 distinct made-up words: about 10 MB to invert */
    size_t len = 0, cap = 30000 * 8;
    char *text = malloc(cap);
    for (int i = 0; i < 30000; i++) {
        len +=
            (size_t)snprintf(text + len, cap - len, "%c%c%c%c%c ", 'a' + i % 26, 'a' + i / 26 % 26,
                             'a' + i / 676 % 26, 'a' + i / 17576 % 26, 'q' + i % 7);
    }
    struct seg_field f = {.name = "body", .name_len = 4, .value = text, .value_len = len};
    struct idx_op big = {.type = IDX_OP_UPSERT,
                         .doc = {.id = "big", .id_len = 3, .fields = &f, .nfields = 1}};
    assert_int_equal(tidx_write(db, "books", &big, 1, NULL, &err), SD_ELIMIT);
    assert_non_null(strstr(err.msg, "document 'big'"));
    /* the same text, a fiftieth of it, fits */
    f.value_len = len / 50;
    assert_int_equal(tidx_write(db, "books", &big, 1, NULL, &err), SD_OK);
    assert_true(idx_memory_peak(db) <= 8u << 20);
    struct idx_stats st;
    assert_int_equal(idx_stats(db, "books", &st, &err), SD_OK);
    assert_int_equal(st.docs, 1);
    free(text);
    free(ops);
    free(b);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* A write of one document at a time: the analysis thread made the analysis, the writer gave
 * it to the pool while that thread slept with the pool empty, and nothing woke it to free the
 * pool once idle: its bytes stayed charged for ever (2 of 5 CI runs, 14.5 KB after the burst
 * above). Each write here is acked, then the counter must come back. */
static void test_memcap_pool_of_single_writes_is_given_back(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 8u << 20);
    struct acks a = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(queue_docs(db, i * 100, 1, &a), SD_OK);
        wait_all_acked(&a);
        assert_memory_given_back(db);
    }
    assert_int_equal(a.ok, 5);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_memcap_full_refuses_writes_not_searches(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir, 8u << 20);
    struct acks a = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    assert_int_equal(queue_batch(db, 0, &a), SD_OK);
    wait_all_acked(&a);
    idx_memcap_charge(&db->memcap, 8 << 20); /* as if something held it all */
    assert_int_equal(queue_batch(db, 100, &a), SD_EBUSY);
    assert_true(search_total(db) > 0);
    idx_memcap_charge(&db->memcap, -(8 << 20));
    assert_int_equal(queue_batch(db, 100, &a), SD_OK);
    wait_all_acked(&a);
    assert_int_equal(a.ok, 2);
    idx_close(db);

    struct idx_config cfg; /* a limit too small to hold anything is refused at open */
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.memory_limit = 1u << 20;
    struct sd_error err;
    assert_int_equal(idx_open(&cfg, &db, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "memory limit"));
    tidx_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memcap_levels_admit_and_shares),
        cmocka_unit_test(test_memcap_concurrent_charges_balance),
        cmocka_unit_test(test_memcap_burst_over_limit_acks_or_busy_and_gives_all_back),
        cmocka_unit_test(test_memcap_pool_of_single_writes_is_given_back),
        cmocka_unit_test(test_memcap_full_refuses_writes_not_searches),
        cmocka_unit_test(test_memcap_threads_writing_to_two_indexes_never_pass_the_limit),
        cmocka_unit_test(test_memcap_write_that_can_never_fit_is_elimit_not_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
