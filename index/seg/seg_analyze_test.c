/*
 * seg_analyze_test.c: splitting seg_builder_add into seg_analyze (any thread) and
 * seg_builder_add_analyzed (the builder's thread) must not change a single byte.
 *
 * The corpus: Russian and English, compounds and apostrophes, words repeated hundreds of
 * times, words in hundreds of docs so postings get blocks, over-long tokens, invalid UTF-8,
 * other scripts, many fields in shifting orders, empty and raw fields, docs without fields,
 * stored records that fill several blocks and one larger than a block. It is built with
 * seg_builder_add, with analyses made on one thread (one analysis object reused), and with
 * analyses made on several threads (each with its own stem_ctx and analyzer) added in
 * order: the images must be equal byte for byte. So must images whose full stored blocks were
 * compressed as jobs (seg_builder_set_zjob_sched), late or on another thread.
 *
 * The token-at-a-time inverter the split replaced is gone, so its output is kept as a
 * fingerprint: an XXH3 of everything the reader API shows (fields and their stats, ids,
 * norms, stored documents, every term with df, total tf, postings and positions), recorded
 * from its build of this corpus (the images also matched byte for byte when the split was
 * made). It depends on what the segment holds, not on how the file lays it out, so a format
 * change that keeps the content keeps the fingerprint.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "seg.h"
#include "seg_test_util.h"

/* The fingerprint of the corpus below as the token-at-a-time inverter built it (028231e,
 * the last commit before the split; its image was also byte-identical, XXH3 c3e23a327f73b1ed). */
#define REFERENCE_DUMP_HASH 0x0c5e68a795e07b5full


/* ---- a varied corpus ---- */

static uint64_t g_rng;

/* The corpus comes from a 64-bit LCG (Knuth's MMIX constants), its high bits. */
static uint32_t rnd(uint32_t n)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((g_rng >> 33) % n);
}

/* clang-format off */
static const char *const g_words[] = {
    "the", "and", "of", "Revolution", "industry", "changed", "changes", "running", "runs",
    "search", "Engine", "engines", "e-mail", "E-Mail", "don't", "rock'n'roll", "a-b-c",
    "state-of-the-art", "и", "в", "не", "дипломатия", "Дипломатии", "дипломатов", "цифровая",
    "ЦИФРОВОЙ", "меняет", "мир", "мира", "северо-запад", "Северо-Западный", "ёлка", "Ёлки",
    "йогурт", "поиск", "поиска", "2024", "x1", "3d-печать", "αθήνα", "東京", "xдом",
    "naïve", "café", "straße", "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "электроэнцефалографический", "a--b", "-dash", "tail-", "it’s", "\xff\xfe", "l'été",
};
/* clang-format on */
#define NWORDS (sizeof g_words / sizeof g_words[0])

#define NDOCS       700
#define MAX_FIELDS  SEG_MAX_FIELDS
#define POOL_FIELDS 12

static const char *const g_field_names[POOL_FIELDS] = {
    "title", "body", "note", "tags", "author",    "summary",
    "year",  "lang", "x",    "url",  "заголовок", "t2",
};

struct tdoc {
    char id[32];
    struct seg_field fields[MAX_FIELDS];
    char *text[MAX_FIELDS]; /* owned */
    char names[MAX_FIELDS][16];
    struct seg_doc doc;
};

static struct tdoc g_docs[NDOCS];
static const struct seg_doc *g_doc_ptrs[NDOCS]; /* &g_docs[i].doc, for seg_test_build */

/* Random text of up to max_words words; the first three words are common. */
static char *make_text(uint32_t max_words, size_t *len)
{
    uint32_t n = rnd(max_words + 1);
    size_t cap = (size_t)n * 48 + 1024;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t l = 0;
    for (uint32_t k = 0; k < n; k++) {
        const char *w = rnd(3) == 0 ? g_words[rnd(3)] : g_words[rnd(NWORDS)];
        size_t wl = strlen(w);
        if (l) {
            static const char seps[] = " ,.;\n\t-'";
            out[l++] = rnd(6) ? ' ' : seps[rnd(sizeof seps - 1)];
        }
        memcpy(out + l, w, wl);
        l += wl;
    }
    if (rnd(30) == 0) { /* longer than STEM_MAX_TOKEN: skipped, but it takes a position */
        out[l++] = ' ';
        memset(out + l, 'z', 300);
        l += 300;
    }
    out[l] = '\0';
    *len = l;
    return out;
}

/* A raw field holds a JSON array; a text field up to max_words words (0: no value at all). */
static void add_field(struct tdoc *d, const char *name, uint8_t type, uint32_t max_words)
{
    size_t i = d->doc.nfields++, len = 0;
    if (type == SEG_RAW) {
        d->text[i] = malloc(64);
        assert_non_null(d->text[i]);
        len = (size_t)snprintf(d->text[i], 64, "[%u,\"ёж\"]", rnd(1000));
    } else if (max_words > 0) {
        d->text[i] = make_text(max_words, &len);
    }
    d->fields[i] = (struct seg_field){name, strlen(name), d->text[i], len, type};
}

/* One word repeated many times, with another word now and then. */
static void add_repeated(struct tdoc *d, const char *name, const char *word, unsigned times)
{
    size_t i = d->doc.nfields++;
    size_t wl = strlen(word);
    char *t = malloc(times * (wl + 8) + 1);
    assert_non_null(t);
    size_t l = 0;
    for (unsigned k = 0; k < times; k++) {
        memcpy(t + l, word, wl);
        l += wl;
        t[l++] = ' ';
        if (k % 37 == 5) {
            memcpy(t + l, "и ", 3);
            l += 3;
        }
    }
    t[l] = '\0';
    d->text[i] = t;
    d->fields[i] = (struct seg_field){name, strlen(name), t, l, SEG_TEXT};
}

static void make_doc(struct tdoc *d, size_t no)
{
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "doc-%zu", no);
    d->doc.id = d->id;
    d->doc.id_len = strlen(d->id);
    d->doc.fields = d->fields;
    if (no % 97 == 13) {
        return; /* no fields at all */
    }
    if (no == 41) { /* every field a document may have */
        for (int i = 0; i < MAX_FIELDS; i++) {
            snprintf(d->names[i], sizeof d->names[i], "m%d", i);
            add_field(d, d->names[i], i % 9 == 4 ? SEG_RAW : SEG_TEXT, 6);
        }
        return;
    }
    if (no == 77) { /* a stored record larger than a stored block */
        add_field(d, "body", SEG_TEXT, 4000);
        return;
    }
    if (no % 50 == 3) {
        add_repeated(d, "body", no % 100 == 3 ? "дипломатия" : "search", 300);
    }
    if (d->doc.nfields == 0 && rnd(3) != 0) {
        add_field(d, "body", SEG_TEXT, 120);
    }
    unsigned start = rnd(POOL_FIELDS), count = 1 + rnd(6);
    for (unsigned k = 0; k < count; k++) {
        const char *name = g_field_names[(start + k * 5) % POOL_FIELDS];
        bool taken = false;
        for (size_t j = 0; j < d->doc.nfields; j++) {
            taken = taken || strcmp(d->fields[j].name, name) == 0;
        }
        if (taken) {
            continue;
        }
        uint32_t r = rnd(10);
        add_field(d, name, r == 0 ? SEG_RAW : SEG_TEXT, r == 1 ? 0 : r < 5 ? 8 : 120);
    }
}

static void make_corpus(void)
{
    g_rng = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < NDOCS; i++) {
        make_doc(&g_docs[i], i);
        g_doc_ptrs[i] = &g_docs[i].doc;
    }
}

static void free_corpus(void)
{
    for (size_t i = 0; i < NDOCS; i++) {
        for (int f = 0; f < MAX_FIELDS; f++) {
            free(g_docs[i].text[f]);
        }
    }
}

/* ---- building ---- */

static uint8_t *finish(struct seg_builder *b, size_t *len)
{
    struct sd_buf out;
    struct sd_error err = {0};
    sd_buf_init(&out);
    assert_int_equal(seg_builder_finish(b, &out, &err), SD_OK);
    seg_builder_free(b);
    return sd_buf_detach(&out, len);
}

/* One analyzer, one analysis object reused for every doc; a builder without a stem_ctx. */
static uint8_t *build_one_thread(size_t *len)
{
    struct seg_analyzer *a;
    struct seg_analysis *an;
    struct seg_builder *b;
    struct sd_error err = {0};
    assert_int_equal(seg_analyzer_new(g_stem, &a, &err), SD_OK);
    assert_int_equal(seg_analysis_new(&an, &err), SD_OK);
    assert_int_equal(seg_builder_new(NULL, &b, &err), SD_OK);
    for (size_t i = 0; i < NDOCS; i++) {
        assert_int_equal(seg_analyze(a, &g_docs[i].doc, an, &err), SD_OK);
        assert_int_equal(seg_builder_add_analyzed(b, an, &err), SD_OK);
    }
    seg_analysis_free(an);
    seg_analyzer_free(a);
    return finish(b, len);
}

#define NTHREADS 3

struct worker {
    pthread_t thread;
    unsigned no;
    struct seg_analysis **analyses; /* shared array; this worker fills every NTHREADS-th */
    int rc;
};

static void *analyse_share(void *arg)
{
    struct worker *w = arg;
    struct stem_ctx *stem = NULL;
    struct seg_analyzer *a = NULL;
    struct sd_error err = {0};
    w->rc = stem_ctx_new(&stem) == STEM_OK ? SD_OK : SD_ENOMEM;
    if (w->rc == SD_OK) {
        w->rc = seg_analyzer_new(stem, &a, &err);
    }
    for (size_t i = w->no; i < NDOCS && w->rc == SD_OK; i += NTHREADS) {
        w->rc = seg_analysis_new(&w->analyses[i], &err);
        if (w->rc == SD_OK) {
            w->rc = seg_analyze(a, &g_docs[i].doc, w->analyses[i], &err);
        }
    }
    seg_analyzer_free(a);
    stem_ctx_free(stem);
    return NULL;
}

/* NTHREADS threads analyse interleaved docs; the builder adds them in doc order. */
static uint8_t *build_threads(size_t *len)
{
    struct seg_analysis **analyses = calloc(NDOCS, sizeof *analyses);
    assert_non_null(analyses);
    struct worker w[NTHREADS];
    for (unsigned k = 0; k < NTHREADS; k++) {
        w[k] = (struct worker){.no = k, .analyses = analyses};
        assert_int_equal(pthread_create(&w[k].thread, NULL, analyse_share, &w[k]), 0);
    }
    for (unsigned k = 0; k < NTHREADS; k++) {
        pthread_join(w[k].thread, NULL);
        assert_int_equal(w[k].rc, SD_OK);
    }
    struct seg_builder *b;
    struct sd_error err = {0};
    assert_int_equal(seg_builder_new(NULL, &b, &err), SD_OK);
    for (size_t i = 0; i < NDOCS; i++) {
        assert_int_equal(seg_builder_add_analyzed(b, analyses[i], &err), SD_OK);
        seg_analysis_free(analyses[i]);
    }
    free(analyses);
    return finish(b, len);
}

/* ---- schedulers for stored-block jobs ---- */

/* Runs nothing until the builder waits: every job is compressed late, in wait. */
static void lazy_submit(void *arg, struct seg_zjob *job)
{
    (*(unsigned *)arg)++;
    (void)job;
}

static void lazy_wait(void *arg, struct seg_zjob *job)
{
    (void)arg;
    if (!seg_zjob_is_done(job)) {
        seg_zjob_run(job);
    }
}

/* A worker thread compresses jobs in submission order while the builder goes on. */
#define ZQ_CAP 4096

struct zworker {
    pthread_mutex_t lock; /* guards q, head, tail, is_stopping */
    pthread_cond_t cond;
    struct seg_zjob *q[ZQ_CAP];
    size_t head, tail;
    bool is_stopping;
    pthread_t thread;
};

static void *zworker_main(void *arg)
{
    struct zworker *z = arg;
    pthread_mutex_lock(&z->lock);
    for (;;) {
        while (z->head == z->tail && !z->is_stopping) {
            pthread_cond_wait(&z->cond, &z->lock);
        }
        if (z->head == z->tail) {
            break;
        }
        struct seg_zjob *job = z->q[z->head++ % ZQ_CAP];
        pthread_mutex_unlock(&z->lock);
        seg_zjob_run(job);
        pthread_mutex_lock(&z->lock);
        pthread_cond_broadcast(&z->cond);
    }
    pthread_mutex_unlock(&z->lock);
    return NULL;
}

static void thread_submit(void *arg, struct seg_zjob *job)
{
    struct zworker *z = arg;
    pthread_mutex_lock(&z->lock);
    assert_true(z->tail - z->head < ZQ_CAP);
    z->q[z->tail++ % ZQ_CAP] = job;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->lock);
}

static void thread_wait(void *arg, struct seg_zjob *job)
{
    struct zworker *z = arg;
    pthread_mutex_lock(&z->lock);
    while (!seg_zjob_is_done(job)) {
        pthread_cond_wait(&z->cond, &z->lock);
    }
    pthread_mutex_unlock(&z->lock);
}

/* ---- the fingerprint: what the reader API shows ---- */

struct dump {
    struct sd_buf buf;
    const struct seg *s;
};

static int dump_term(void *arg, const char *term, size_t len, const struct seg_term *t)
{
    struct dump *d = arg;
    struct sd_error err = {0};
    sd_buf_put_varint(&d->buf, len);
    sd_buf_put(&d->buf, term, len);
    sd_buf_put_varint(&d->buf, t->df);
    sd_buf_put_varint(&d->buf, t->total_tf);
    struct seg_postings *p;
    bool is_exact = t->kind == SEG_EXACT;
    assert_int_equal(seg_postings_open(d->s, t, is_exact ? SEG_WANT_POSITIONS : 0, &p, &err),
                     SD_OK);
    for (uint32_t doc = seg_postings_next(p); doc != SEG_DOC_END; doc = seg_postings_next(p)) {
        sd_buf_put_varint(&d->buf, doc);
        sd_buf_put_varint(&d->buf, seg_postings_freq(p));
        if (is_exact) {
            const uint32_t *pos;
            uint32_t n;
            assert_int_equal(seg_postings_positions(p, &pos, &n), SD_OK);
            for (uint32_t k = 0; k < n; k++) {
                sd_buf_put_varint(&d->buf, pos[k]);
            }
        }
    }
    assert_int_equal(seg_postings_error(p, &err), SD_OK);
    seg_postings_free(p);
    return 0;
}

static void dump_docs(struct dump *d)
{
    const struct seg *s = d->s;
    unsigned nf = seg_field_count(s);
    for (uint32_t doc = 0; doc < seg_doc_count(s); doc++) {
        const char *id;
        size_t id_len;
        seg_doc_id(s, doc, &id, &id_len);
        sd_buf_put(&d->buf, id, id_len);
        for (unsigned f = 0; f < nf; f++) {
            sd_buf_put_u8(&d->buf, seg_field_norm(s, doc, f));
        }
        struct seg_stored st;
        struct sd_error err = {0};
        assert_int_equal(seg_doc_load(s, doc, &st, &err), SD_OK);
        sd_buf_put_varint(&d->buf, st.nfields);
        for (size_t i = 0; i < st.nfields; i++) {
            const struct seg_field *f = &st.fields[i];
            sd_buf_put(&d->buf, f->name, f->name_len);
            sd_buf_put_u8(&d->buf, f->type);
            sd_buf_put_varint(&d->buf, f->value_len);
            sd_buf_put(&d->buf, f->value, f->value_len);
        }
        seg_stored_free(&st);
    }
}

static uint64_t dump_hash(const uint8_t *img, size_t len)
{
    struct seg *s = seg_test_open_copy(img, len, "dump.seg");
    struct sd_error err = {0};
    struct dump d = {.s = s};
    sd_buf_init(&d.buf);
    sd_buf_put_varint(&d.buf, seg_doc_count(s));
    unsigned nf = seg_field_count(s);
    for (unsigned f = 0; f < nf; f++) {
        uint64_t total;
        uint32_t docs;
        seg_field_stats(s, f, &total, &docs);
        sd_buf_put(&d.buf, seg_field_name(s, f), strlen(seg_field_name(s, f)) + 1);
        sd_buf_put_varint(&d.buf, total);
        sd_buf_put_varint(&d.buf, docs);
        assert_int_equal(seg_term_prefix(s, f, SEG_STEM, "", 0, dump_term, &d, &err), SD_OK);
        assert_int_equal(seg_term_prefix(s, f, SEG_EXACT, "", 0, dump_term, &d, &err), SD_OK);
    }
    dump_docs(&d);
    assert_int_equal(d.buf.rc, SD_OK);
    uint64_t h = sd_hash64(d.buf.data, d.buf.len);
    sd_buf_free(&d.buf);
    seg_close(s);
    return h;
}

/* ---- tests ---- */

static void test_seg_builder_add_matches_reference_fingerprint(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = seg_test_build(g_stem, g_doc_ptrs, NDOCS, NULL, &len);
    struct seg *s = seg_test_open_copy(img, len, "test.seg");
    struct seg_term t;
    struct sd_error err = {0};
    int body = seg_field_find(s, "body", 4);
    assert_true(body >= 0); /* the corpus reaches packed blocks and skip data */
    assert_int_equal(seg_term_find(s, (unsigned)body, SEG_EXACT, "the", 3, &t, &err), SD_OK);
    assert_true(t.df >= 2 * SEG_BLOCK);
    seg_close(s);
    uint64_t h = dump_hash(img, len);
    free(img);
    if (h != REFERENCE_DUMP_HASH) {
        fail_msg("fingerprint 0x%016llxull, reference 0x%016llxull", (unsigned long long)h,
                 (unsigned long long)REFERENCE_DUMP_HASH);
    }
}

/* Frees img after checking it is want[0, want_len), byte for byte. */
static void assert_same_image(uint8_t *img, size_t len, const uint8_t *want, size_t want_len)
{
    assert_int_equal(len, want_len);
    assert_memory_equal(img, want, want_len);
    free(img);
}

static void test_seg_analyze_one_or_many_threads_same_bytes(void **state)
{
    (void)state;
    size_t want_len, len;
    uint8_t *want = seg_test_build(g_stem, g_doc_ptrs, NDOCS, NULL, &want_len);
    uint8_t *img = build_one_thread(&len);
    assert_same_image(img, len, want, want_len);
    img = build_threads(&len);
    assert_same_image(img, len, want, want_len);
    free(want);
}

static struct zworker *zworker_start(void)
{
    struct zworker *z = calloc(1, sizeof *z);
    assert_non_null(z);
    pthread_mutex_init(&z->lock, NULL);
    pthread_cond_init(&z->cond, NULL);
    assert_int_equal(pthread_create(&z->thread, NULL, zworker_main, z), 0);
    return z;
}

static void zworker_stop(struct zworker *z)
{
    pthread_mutex_lock(&z->lock);
    z->is_stopping = true;
    pthread_cond_broadcast(&z->cond);
    pthread_mutex_unlock(&z->lock);
    pthread_join(z->thread, NULL);
    pthread_mutex_destroy(&z->lock);
    pthread_cond_destroy(&z->cond);
    free(z);
}

static void test_seg_zjobs_late_or_on_a_thread_same_bytes(void **state)
{
    (void)state;
    size_t want_len, len;
    uint8_t *want = seg_test_build(g_stem, g_doc_ptrs, NDOCS, NULL, &want_len);
    unsigned submitted = 0;
    struct seg_zjob_sched lazy = {lazy_submit, lazy_wait, &submitted};
    uint8_t *img = seg_test_build(g_stem, g_doc_ptrs, NDOCS, &lazy, &len);
    assert_true(submitted > 20); /* the corpus fills many blocks */
    assert_same_image(img, len, want, want_len);
    struct zworker *z = zworker_start();
    struct seg_zjob_sched on_thread = {thread_submit, thread_wait, z};
    img = seg_test_build(g_stem, g_doc_ptrs, NDOCS, &on_thread, &len);
    assert_same_image(img, len, want, want_len);
    /* a builder freed with jobs out waits for them and frees them (ASan checks) */
    struct seg_builder *b;
    struct sd_error err = {0};
    assert_int_equal(seg_builder_new(g_stem, &b, &err), SD_OK);
    seg_builder_set_zjob_sched(b, &on_thread);
    for (size_t i = 0; i < NDOCS / 2; i++) {
        assert_int_equal(seg_builder_add(b, g_doc_ptrs[i], &err), SD_OK);
    }
    seg_builder_free(b);
    zworker_stop(z);
    free(want);
}

/* An analysis is only read by the builder: the same one added to two builders (and a
 * failed add in between) gives two equal segments. */
static void test_seg_add_analyzed_leaves_analysis_and_builder_unchanged(void **state)
{
    (void)state;
    struct seg_analyzer *a;
    struct seg_analysis *an;
    struct seg_builder *b1, *b2;
    struct sd_error err = {0};
    assert_int_equal(seg_analyzer_new(g_stem, &a, &err), SD_OK);
    assert_int_equal(seg_analysis_new(&an, &err), SD_OK);
    assert_int_equal(seg_builder_new(NULL, &b1, &err), SD_OK);
    assert_int_equal(seg_builder_new(NULL, &b2, &err), SD_OK);
    assert_int_equal(seg_analyze(a, &g_docs[41].doc, an, &err), SD_OK); /* 64 fields */
    assert_int_equal(seg_builder_add_analyzed(b1, an, &err), SD_OK);
    assert_int_equal(seg_builder_add_analyzed(b2, an, &err), SD_OK);
    /* Rounds of 64 new names: two fit (64 + 2 x 64 <= SEG_MAX_SEG_FIELDS), the next ones are
     * refused by b2 and leave nothing behind; b1 never sees them. */
    struct seg_field fs[SEG_MAX_FIELDS];
    char names[SEG_MAX_FIELDS][16];
    for (unsigned round = 0; round < 4; round++) {
        for (int i = 0; i < SEG_MAX_FIELDS; i++) {
            snprintf(names[i], sizeof names[i], "r%u-%d", round, i);
            fs[i] = (struct seg_field){names[i], strlen(names[i]), "слово word", 15, SEG_TEXT};
        }
        struct seg_doc d = {"many", 4, fs, SEG_MAX_FIELDS};
        struct seg_analysis *many;
        assert_int_equal(seg_analysis_new(&many, &err), SD_OK);
        assert_int_equal(seg_analyze(a, &d, many, &err), SD_OK);
        int want = round < 2 ? SD_OK : SD_ELIMIT;
        assert_int_equal(seg_builder_add_analyzed(b2, many, &err), want);
        if (round < 2) {
            assert_int_equal(seg_builder_add_analyzed(b1, many, &err), SD_OK);
        }
        seg_analysis_free(many);
    }
    assert_int_equal(seg_analyze(a, &g_docs[3].doc, an, &err), SD_OK);
    assert_int_equal(seg_builder_add_analyzed(b1, an, &err), SD_OK);
    assert_int_equal(seg_builder_add_analyzed(b2, an, &err), SD_OK);
    size_t len1, len2;
    uint8_t *img1 = finish(b1, &len1), *img2 = finish(b2, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(img1, img2, len1);
    free(img1);
    free(img2);
    seg_analysis_free(an);
    seg_analyzer_free(a);
}

static void test_seg_analyze_rejects_bad_docs_with_builder_messages(void **state)
{
    (void)state;
    struct seg_analyzer *a;
    struct seg_analysis *an;
    struct sd_error err = {0};
    assert_int_equal(seg_analyzer_new(g_stem, &a, &err), SD_OK);
    assert_int_equal(seg_analysis_new(&an, &err), SD_OK);
    struct seg_field fs[2] = {{"t", 1, "x", 1, SEG_TEXT}, {"t", 1, "y", 1, SEG_RAW}};
    struct seg_doc d = {"a", 1, fs, 2};
    assert_int_equal(seg_analyze(a, &d, an, &err), SD_EINVAL);
    assert_string_equal(err.msg, "duplicate field t");
    d.id_len = 0;
    assert_int_equal(seg_analyze(a, &d, an, &err), SD_EINVAL);
    assert_string_equal(err.msg, "document id must be 1 to 512 bytes");
    d = (struct seg_doc){"a", 1, fs, 1};
    fs[0].type = 9;
    assert_int_equal(seg_analyze(a, &d, an, &err), SD_EINVAL);
    assert_string_equal(err.msg, "field t: unknown value type 9");
    /* after errors the same objects analyse a good doc */
    fs[0].type = SEG_TEXT;
    assert_int_equal(seg_analyze(a, &d, an, &err), SD_OK);
    seg_analysis_free(an);
    seg_analyzer_free(a);
}

static int setup(void **state)
{
    make_corpus();
    return seg_test_stem_setup(state);
}

static int teardown(void **state)
{
    free_corpus();
    return seg_test_stem_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seg_builder_add_matches_reference_fingerprint),
        cmocka_unit_test(test_seg_analyze_one_or_many_threads_same_bytes),
        cmocka_unit_test(test_seg_zjobs_late_or_on_a_thread_same_bytes),
        cmocka_unit_test(test_seg_add_analyzed_leaves_analysis_and_builder_unchanged),
        cmocka_unit_test(test_seg_analyze_rejects_bad_docs_with_builder_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
