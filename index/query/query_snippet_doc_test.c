/*
 * query_snippet_doc_test.c: snippets and highlights of a stored body read a chunk at a time
 * (issue 12) are the ones the whole text gives, and a deep match costs a few chunks, not the
 * megabyte. Documents are built into a real segment (format 5: a body over a block is stored
 * in chunks with stem filters); each query's output through qry_snippet_doc /
 * qry_highlight_doc is compared with qry_snippet / qry_highlight over the whole value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query_int.h"
#include "query_test_util.h"

/* Filler: Russian and English words none of the queries below match. */
static const char *const g_filler[] = {
    "отчёт",   "о",      "развитии",   "сетей",    "связи",    "в",        "регионе",   "за",
    "прошлый", "год",    "данные",     "показали", "рост",     "числа",    "абонентов", "и",
    "network", "growth", "report",     "region",   "«цитата»", "(скобки)", "—",         "2025",
    "станций", "линий",  "оптических", "кабелей",  "города",   "области",  "план",      "работ",
};
#define NFILLER (sizeof g_filler / sizeof g_filler[0])

struct text {
    char *p;
    size_t len, cap;
};

static void put(struct text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, s, n + 1);
    t->len += n;
}

/* Filler words up to `upto` bytes (deterministic from x). */
static void fill(struct text *t, size_t upto, uint64_t *x)
{
    while (t->len < upto) {
        *x = *x * 6364136223846793005u + 1442695040888963407u;
        put(t, g_filler[(*x >> 33) % NFILLER]);
        put(t, (*x >> 20) % 13 == 0 ? ".\n" : (*x >> 20) % 7 == 0 ? ", " : " ");
    }
}

/* A body of about len bytes: filler, with `needles[i]` written at about at[i] (sorted), and
 * when glue_at is not 0 a 40 KB stretch with no space there: "кабель-кабель-...", one
 * compound longer than a chunk whose parts are words (chunks are cut inside it at character
 * boundaries, splitting parts). */
static char *make_body(size_t len, const char *const *needles, const size_t *at, size_t n,
                       size_t glue_at, size_t *out_len)
{
    struct text t = {0};
    uint64_t x = 12345;
    for (size_t i = 0; i <= n; i++) {
        size_t upto = i < n ? at[i] : len;
        if (glue_at && t.len < glue_at && glue_at < upto) {
            fill(&t, glue_at, &x);
            while (t.len < glue_at + 40000) {
                put(&t, "кабель-");
            }
            put(&t, "кабель ");
        }
        fill(&t, upto, &x);
        if (i < n) {
            put(&t, needles[i]);
            put(&t, " ");
        }
    }
    *out_len = t.len;
    return t.p;
}

struct built {
    uint8_t *img;
    size_t img_len;
    struct seg *s;
    char *body;
    size_t body_len;
};

static void build(struct built *b, char *body, size_t body_len)
{
    static const char title[] = "Длинный отчёт";
    struct seg_field f[3] = {
        {"title", 5, title, sizeof title - 1, SEG_TEXT},
        {"body", 4, body, body_len, SEG_TEXT},
        {"tags", 4, "[1]", 3, SEG_RAW},
    };
    struct seg_doc small = {"s", 1, f, 1}, big = {"big", 3, f, 3};
    struct seg_builder *sb;
    struct sd_error err = {0};
    assert_int_equal(seg_builder_new(tq_stem, &sb, &err), SD_OK);
    assert_int_equal(seg_builder_add(sb, &small, &err), SD_OK);
    assert_int_equal(seg_builder_add(sb, &big, &err), SD_OK);
    struct sd_buf out;
    sd_buf_init(&out);
    assert_int_equal(seg_builder_finish(sb, &out, &err), SD_OK);
    seg_builder_free(sb);
    size_t len;
    b->img = sd_buf_detach(&out, &len);
    assert_int_equal(seg_open_mem_written(b->img, len, "snippet", &b->s, &err), SD_OK);
    b->img_len = len; /* the segment owns img; the damage test writes into it */
    b->body = body;
    b->body_len = body_len;
}

static void unbuild(struct built *b)
{
    seg_close(b->s);
    free(b->body);
}

/* The snippet and highlight of the big doc for q (query: its text, for messages; q taken)
 * through a view equal the whole value's; returns the bytes the view decompressed for the
 * snippet. */
static size_t check_parsed(const struct built *b, struct qry *q, const char *query, size_t max_len,
                           unsigned fragments)
{
    struct sd_error err = {0};
    struct sd_buf want, got, want_sp, got_sp;
    sd_buf_init(&want);
    sd_buf_init(&got);
    sd_buf_init(&want_sp);
    sd_buf_init(&got_sp);
    struct seg_doc_view v;
    assert_int_equal(seg_doc_view_open(b->s, 1, &v, &err), SD_OK);
    assert_true(v.nchunks > 1);
    const struct seg_field *body = &v.st.fields[1];
    assert_int_equal(qry_snippet(tq_ctx, q, b->body, b->body_len, max_len, &want), SD_OK);
    assert_int_equal(qry_snippet_doc(tq_ctx, q, &v, body, max_len, &got, &err), SD_OK);
    if (want.len != got.len || memcmp(want.data, got.data, want.len) != 0) {
        fail_msg("'%s': snippet\n  want %.*s\n  got  %.*s", query, (int)want.len, want.data,
                 (int)got.len, got.data);
    }
    size_t loaded = v.raw_loaded;
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = max_len;
    o.fragments = fragments;
    for (int offsets = 0; offsets < 2; offsets++) {
        o.wants_offsets = offsets;
        size_t wn, gn;
        sd_buf_reset(&want);
        sd_buf_reset(&got);
        assert_int_equal(
            qry_highlight(tq_ctx, q, b->body, b->body_len, &o, 1, &want, &wn, &want_sp), SD_OK);
        assert_int_equal(
            qry_highlight_doc(tq_ctx, q, &v, body, &o, 1, &got, &gn, &got_sp, NULL, &err), SD_OK);
        assert_int_equal(wn, gn);
        assert_int_equal(want.len, got.len);
        assert_memory_equal(want.data, got.data, want.len);
        assert_int_equal(want_sp.len, got_sp.len);
        assert_memory_equal(want_sp.data, got_sp.data, want_sp.len);
    }
    seg_doc_view_free(&v);
    sd_buf_free(&want);
    sd_buf_free(&got);
    sd_buf_free(&want_sp);
    sd_buf_free(&got_sp);
    qry_free(q);
    return loaded;
}

static size_t check_query(const struct built *b, const char *query, size_t max_len,
                          unsigned fragments)
{
    return check_parsed(b, tqry(tq_ctx, query), query, max_len, fragments);
}

/* The same for the typo reading of query (typo.c's: each word OR its typo leaf). */
static size_t check_typos(const struct built *b, const char *query, size_t max_len,
                          unsigned fragments)
{
    struct qry *q = tqry(tq_ctx, query);
    struct qry *fq = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_with_typos(q, false, &fq, &err), SD_OK);
    assert_non_null(fq);
    qry_free(q);
    return check_parsed(b, fq, query, max_len, fragments);
}

/* The same for the typo reading of query as a search box sends it, its last word still being
 * typed (QRY_SIMPLE_PREFIX_LAST: that word's typo leaf matches the words that start within its
 * edits). */
static size_t check_typing(const struct built *b, const char *query, size_t max_len,
                           unsigned fragments)
{
    struct qry *q = NULL;
    struct qry *fq = NULL;
    struct sd_error err = {0};
    assert_int_equal(
        qry_parse_simple(tq_ctx, query, strlen(query), QRY_SIMPLE_PREFIX_LAST, &q, &err), SD_OK);
    assert_int_equal(qry_with_typos(q, false, &fq, &err), SD_OK);
    assert_non_null(fq);
    qry_free(q);
    return check_parsed(b, fq, query, max_len, fragments);
}

/* A ~1 MB Russian body with the query words near its end: the same snippet as the whole
 * text's, from a few chunks; near its start too; and queries whose words are spread, absent,
 * excluded, prefixes or typos (tested by the stems of the forms they can match), phrases,
 * several fragments. */
static void test_qry_snippet_doc_deep_match_equals_whole_scan(void **state)
{
    (void)state;
    static const char *const needles[] = {"Ярославль", "электронная почта", "почта",
                                          "квантовой криптографии"};
    size_t len = 1 << 20;
    const size_t at[] = {3000, len / 2, len / 2 + 90000, len - 5000};
    size_t body_len;
    char *body = make_body(len, needles, at, 4, 0, &body_len);
    struct built b;
    build(&b, body, body_len);
    size_t deep = check_query(&b, "квантовая криптография", 200, 1);
    assert_true(deep <= 4 * 16384); /* the directory's chunks and the match's, not 1 MB */
    size_t near = check_query(&b, "ярославль", 200, 1);
    assert_true(near <= 4 * 16384);
    check_query(&b, "\"электронная почта\"", 160, 2);
    check_query(&b, "почта ярославль криптографии", 300, 3);
    check_query(&b, "несуществующее слово", 200, 1);
    check_query(&b, "почта -ярославль", 200, 2);
    assert_true(check_query(&b, "крипто*", 200, 1) <= 4 * 16384);
    assert_true(check_typos(&b, "криптогрфии", 200, 1) <= 4 * 16384); /* one edit */
    assert_true(check_typos(&b, "квантвой криптогрфией", 200, 2) <= 4 * 16384);
    check_query(&b, "от*", 200, 1); /* a filler word's prefix: every chunk holds it */
    check_typos(&b, "отчот", 200, 1);
    /* The word being typed, with a typo in what was typed so far: "криптогрф" starts
     * "криптографии" within one edit, which no whole-word walk of the forms finds. */
    check_typing(&b, "криптогрф", 200, 1);
    check_typing(&b, "квантовой криптогрф", 200, 2);
    check_query(&b, "отчёт", 120, 3); /* a filler word: every chunk holds it */
    unbuild(&b);
}

/* Needles at many offsets, some right after a 40 KB token that spans chunks (no word
 * boundary inside: ranges widen back past it), and windows longer than a chunk. */
static void test_qry_snippet_doc_matches_at_every_offset(void **state)
{
    (void)state;
    static const char *const needles[] = {"почта"};
    for (size_t k = 0; k < 12; k++) {
        size_t len = 200000, where = 1000 + k * 16381 + k * k * 7;
        size_t body_len;
        char *body = make_body(len, needles, &where, 1, k % 3 == 0 ? where - 40100 : 0, &body_len);
        struct built b;
        build(&b, body, body_len);
        check_query(&b, "почты", 200, 1);
        check_query(&b, "почта отчёт", 40000, 2);
        check_query(&b, "кабель почта", 90, 2);
        unbuild(&b);
    }
}

struct tokens {
    size_t *off;
    size_t n, cap;
};

static int note_token(void *arg, const struct stem_token *tok)
{
    struct tokens *t = arg;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->off = realloc(t->off, t->cap * sizeof *t->off);
    }
    t->off[t->n++] = tok->offset << 8 | tok->len; /* offset and length (tokens < 256 bytes) */
    return 0;
}

/* The invariant the chunked snippet rests on (textsrc.c): tokenizing a piece's range widened
 * to word boundaries gives exactly the whole text's tokens there, also where chunks were cut
 * inside a compound "кабель-кабель-..." (no space for 40 KB). */
static void test_qry_src_word_ranges_tokenize_as_the_whole_text(void **state)
{
    (void)state;
    static const char *const needles[] = {"почта"};
    size_t where = 150000, body_len;
    char *body = make_body(200000, needles, &where, 1, 50000, &body_len);
    struct built b;
    build(&b, body, body_len);
    struct tokens whole = {0};
    assert_int_equal(stem_tokenize(tq_stem, body, body_len, 0, note_token, &whole, NULL), 0);
    struct seg_doc_view v;
    struct sd_error err = {0};
    assert_int_equal(seg_doc_view_open(b.s, 1, &v, &err), SD_OK);
    struct qry_src src;
    assert_int_equal(qry_src_doc(&src, &v, &v.st.fields[1], &err), SD_OK);
    unsigned widened = 0;
    for (uint32_t i = 0; i < qry_src_pieces(&src); i++) {
        size_t s, e, a, z;
        qry_src_piece(&src, i, &s, &e);
        if (s == e) {
            continue;
        }
        assert_int_equal(qry_src_load_words(&src, s, e, &a, &z), SD_OK);
        widened += a < s || z > e;
        struct tokens part = {0};
        assert_int_equal(stem_tokenize(tq_stem, src.text + a, z - a, 0, note_token, &part, NULL),
                         0);
        size_t k = 0;
        while (k < whole.n && (whole.off[k] >> 8) < a) {
            k++;
        }
        for (size_t j = 0; j < part.n; j++, k++) {
            assert_true(k < whole.n);
            assert_int_equal(part.off[j] + (a << 8), whole.off[k]);
        }
        assert_true(k == whole.n || (whole.off[k] >> 8) >= z);
        free(part.off);
    }
    assert_true(widened >= 2); /* the cuts inside the compound */
    seg_doc_view_free(&v);
    free(whole.off);
    unbuild(&b);
}

/* A body whose chunk no longer decompresses (checksum not verified): an error, not a crash,
 * and never a wrong snippet. */
/* Whether a piece boundary of the big doc's body falls inside [from, to). */
static bool straddles(const struct built *b, size_t from, size_t to)
{
    struct seg_doc_view v;
    struct sd_error err = {0};
    assert_int_equal(seg_doc_view_open(b->s, 1, &v, &err), SD_OK);
    struct qry_src src;
    assert_int_equal(qry_src_doc(&src, &v, &v.st.fields[1], &err), SD_OK);
    bool is_cut = false;
    for (uint32_t i = 0; i < qry_src_pieces(&src); i++) {
        size_t s = 0, e = 0;
        qry_src_piece(&src, i, &s, &e);
        is_cut |= s > from && s < to;
    }
    seg_doc_view_free(&v);
    return is_cut;
}

/* A phrase whose words lie in two chunks is marked as a phrase (the two candidate pieces are
 * tokenized as one range), the same as over the whole text, while its second word alone,
 * elsewhere, is not marked. */
static void test_qry_snippet_doc_phrase_across_a_chunk_boundary(void **state)
{
    (void)state;
    static const char *const needles[] = {"почта", "электронная почта"};
    size_t cut = 0;
    for (size_t k = 0; k < 400 && cut < 2; k += 2) {
        size_t at[] = {3000, 16384 * 2 - k}, body_len;
        char *body = make_body(60000, needles, at, 2, 0, &body_len);
        struct built b;
        build(&b, body, body_len);
        const char *phrase = strstr(body + 4000, "электронная почта");
        assert_non_null(phrase);
        size_t from = (size_t)(phrase - body);
        if (!straddles(&b, from, from + strlen("электронная почта"))) {
            unbuild(&b);
            continue;
        }
        cut++;
        check_query(&b, "\"электронная почта\"", 200, 2);
        struct qry *q = tqry(tq_ctx, "\"электронная почта\"");
        struct qry_hl_opts o;
        qry_hl_opts_default(&o);
        o.fragments = 2;
        struct sd_buf out, spans;
        sd_buf_init(&out);
        sd_buf_init(&spans);
        size_t n = 0;
        assert_int_equal(qry_highlight(tq_ctx, q, body, body_len, &o, 0, &out, &n, &spans), SD_OK);
        assert_int_equal(n, 1); /* the lone "почта" is no match: one fragment */
        assert_non_null(
            strstr((const char *)out.data, "<mark>электронная</mark> <mark>почта</mark>"));
        sd_buf_free(&out);
        sd_buf_free(&spans);
        qry_free(q);
        unbuild(&b);
    }
    assert_true(cut > 0);
}

static void test_qry_snippet_doc_damaged_chunk_is_an_error(void **state)
{
    (void)state;
    static const char *const needles[] = {"почта"};
    size_t where = 150000, body_len;
    char *body = make_body(200000, needles, &where, 1, 0, &body_len);
    struct built b;
    build(&b, body, body_len);
    struct seg_doc_view v;
    struct sd_error err = {0};
    assert_int_equal(seg_doc_view_open(b.s, 1, &v, &err), SD_OK);
    /* the middle of the image is the middle of the big body's compressed chunks (the rest
     * of the image is far smaller); the image is the test's malloc'd copy, writable */
    memset(b.img + b.img_len / 2, 0xFF, 2000);
    struct qry *q = tqry(tq_ctx, "почта");
    struct sd_buf out;
    sd_buf_init(&out);
    int rc = qry_snippet_doc(tq_ctx, q, &v, &v.st.fields[1], 200, &out, &err);
    if (rc != SD_OK) {
        assert_int_equal(rc, SD_ECORRUPT);
    }
    seg_doc_view_free(&v);
    assert_int_equal(seg_doc_view_open(b.s, 1, &v, &err), SD_OK);
    size_t n;
    struct sd_buf spans;
    sd_buf_init(&spans);
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 0; /* the whole text: every chunk, the damaged one too */
    assert_int_equal(
        qry_highlight_doc(tq_ctx, q, &v, &v.st.fields[1], &o, 0, &out, &n, &spans, NULL, &err),
        SD_ECORRUPT);
    seg_doc_view_free(&v);
    sd_buf_free(&out);
    sd_buf_free(&spans);
    qry_free(q);
    unbuild(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_snippet_doc_deep_match_equals_whole_scan),
        cmocka_unit_test(test_qry_snippet_doc_matches_at_every_offset),
        cmocka_unit_test(test_qry_src_word_ranges_tokenize_as_the_whole_text),
        cmocka_unit_test(test_qry_snippet_doc_phrase_across_a_chunk_boundary),
        cmocka_unit_test(test_qry_snippet_doc_damaged_chunk_is_an_error),
    };
    return cmocka_run_group_tests(tests, tq_setup, tq_teardown);
}
