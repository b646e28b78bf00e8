/*
 * seg_merge_test.c: seg_merge against the builder. Three segments are built from random
 * bilingual documents (fields that only some segments or docs have, in differing orders, so
 * field ids differ per segment; common words in more than 300 docs, so postings have
 * blocks and skip data; compounds, long fields, an over-long token), random docs are
 * deleted, and the merge must equal a segment built directly from the same live docs in
 * the same order: the same bytes, and, checked through the reader API so a failure says
 * what differs, the same ids, stored docs, titles (some cut at SEG_TITLE_MAX), field stats,
 * norms, terms with their postings and positions, and block bounds that hold for every doc.
 * Edge cases: everything deleted, a single input, no deletes, no inputs, a merge of merges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "seg.h"
#include "seg_int.h"
#include "seg_test_util.h"


/* ---- random documents ---- */

static uint64_t g_rng;
static uint32_t g_big_terms; /* terms over 300 docs seen by compare_terms */

static uint32_t rnd(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

static const char *const g_words[] = {
    "the",      "and",      "of",     "revolution", "industry",     "changed",    "changes",
    "running",  "runs",     "search", "engine",     "engines",      "index",      "indexes",
    "e-mail",   "don't",    "quick",  "brown",      "fox",          "jumps",      "over",
    "lazy",     "dog",      "и",      "в",          "дипломатия",   "дипломатии", "цифровая",
    "цифровой", "меняет",   "мир",    "мира",       "северо-запад", "ёлка",       "йогурт",
    "поиск",    "поиска",   "движок", "индекс",     "индексы",      "быстрый",    "2024",
    "x1",       "ДИПЛОМАТ", "Search", "THE",
};
#define NWORDS (sizeof g_words / sizeof g_words[0])

#define MAX_DOCS   1600
#define TEXT_MAX   2048
#define DOC_FIELDS 5

struct tdoc {
    char id[32];
    struct seg_field fields[DOC_FIELDS];
    char text[DOC_FIELDS][TEXT_MAX];
    struct seg_doc doc;
};

struct corpus {
    struct tdoc docs[MAX_DOCS];
    size_t n;
};

/* Random text: 0 to max words; common words often, so they reach > 300 docs. */
static size_t make_text(char *out, uint32_t max_words, bool over_long)
{
    size_t len = 0;
    uint32_t n = rnd(max_words + 1);
    for (uint32_t k = 0; k < n; k++) {
        const char *w = rnd(3) == 0 ? g_words[rnd(3)] : g_words[rnd(NWORDS)];
        size_t wl = strlen(w);
        if (len + wl + 2 >= TEXT_MAX - 320) {
            break;
        }
        if (len) {
            out[len++] = rnd(8) == 0 ? ',' : ' ';
        }
        memcpy(out + len, w, wl);
        len += wl;
    }
    if (over_long) { /* longer than STEM_MAX_TOKEN: skipped, but it takes a position */
        out[len++] = ' ';
        for (int k = 0; k < 300; k++) {
            out[len++] = 'z';
        }
    }
    out[len] = '\0';
    return len;
}

static void add_field(struct tdoc *d, const char *name, uint8_t type, uint32_t max_words)
{
    size_t i = d->doc.nfields++;
    struct seg_field *f = &d->fields[i];
    f->name = name;
    f->name_len = strlen(name);
    f->type = type;
    if (type == SEG_RAW) {
        f->value_len = (size_t)snprintf(d->text[i], TEXT_MAX, "[%u,\"ёж\"]", rnd(1000));
    } else {
        f->value_len = make_text(d->text[i], max_words, rnd(40) == 0);
    }
    f->value = d->text[i];
}

/* Segment `seg` of the corpus: its own mix of fields and field orders. */
static void make_doc(struct tdoc *d, int seg, size_t no)
{
    memset(&d->doc, 0, sizeof d->doc);
    snprintf(d->id, sizeof d->id, "s%d-%zu", seg, no);
    d->doc.id = d->id;
    d->doc.id_len = strlen(d->id);
    d->doc.fields = d->fields;
    if (seg == 1) {
        add_field(d, "body", SEG_TEXT, 60); /* body before title: other field ids */
        if (rnd(2)) {
            add_field(d, "note", SEG_TEXT, 8); /* only segment 1 has notes */
        }
        add_field(d, "title", SEG_TEXT, rnd(6) ? 6 : 120); /* some past SEG_TITLE_MAX */
        return;
    }
    if (seg == 2 && rnd(2)) {
        add_field(d, "tags", SEG_RAW, 0); /* a stored-only field, first in some docs */
    }
    add_field(d, "title", SEG_TEXT, rnd(6) ? 6 : 120);
    if (rnd(8)) {
        add_field(d, "body", SEG_TEXT, seg == 0 ? 40 : 80);
    }
    if (seg == 0 && no % 50 == 7) {
        add_field(d, "extra", SEG_TEXT, 5); /* deleted below wherever it occurs */
    }
}

static void make_corpus(struct corpus *c, const size_t *sizes, size_t nseg)
{
    c->n = 0;
    for (size_t s = 0; s < nseg; s++) {
        for (size_t k = 0; k < sizes[s]; k++) {
            assert_true(c->n < MAX_DOCS);
            make_doc(&c->docs[c->n++], (int)s, k);
        }
    }
}

/* ---- building and opening ---- */

static uint8_t *build(const struct seg_doc *const *docs, size_t n, size_t *len)
{
    return seg_test_build(g_stem, docs, n, NULL, len);
}

static struct seg *open_copy(const uint8_t *img, size_t len, const char *name)
{
    return seg_test_open_copy(img, len, name);
}

static struct seg *build_open(const struct seg_doc *const *docs, size_t n, const char *name)
{
    size_t len;
    uint8_t *img = build(docs, n, &len);
    struct seg *s = open_copy(img, len, name);
    free(img);
    return s;
}

static uint8_t *merge(struct seg *const *in, const uint64_t *const *del, size_t n, size_t *len)
{
    struct sd_buf out;
    sd_buf_init(&out);
    struct sd_error err = {0};
    if (seg_merge(in, del, n, &out, NULL, &err) != SD_OK) {
        fail_msg("seg_merge: %s", err.msg);
    }
    return sd_buf_detach(&out, len);
}

/* ---- comparing two segments through the reader ---- */

static void compare_stored(const struct seg *a, const struct seg *b, uint32_t d)
{
    struct seg_stored x, y;
    struct sd_error err = {0};
    assert_int_equal(seg_doc_load(a, d, &x, &err), SD_OK);
    assert_int_equal(seg_doc_load(b, d, &y, &err), SD_OK);
    assert_int_equal(x.id_len, y.id_len);
    assert_memory_equal(x.id, y.id, x.id_len);
    assert_int_equal(x.nfields, y.nfields);
    for (size_t k = 0; k < x.nfields; k++) {
        assert_string_equal(x.fields[k].name, y.fields[k].name);
        assert_int_equal(x.fields[k].type, y.fields[k].type);
        assert_int_equal(x.fields[k].value_len, y.fields[k].value_len);
        assert_memory_equal(x.fields[k].value, y.fields[k].value, x.fields[k].value_len);
    }
    seg_stored_free(&x);
    seg_stored_free(&y);
}

/* Block bounds of b's term must cover every doc of their block, and equal a's. */
static void check_bounds(const struct seg *a, const struct seg_term *ta, const struct seg *b,
                         const struct seg_term *tb)
{
    struct seg_postings *p, *q, *r;
    struct sd_error err = {0};
    assert_int_equal(seg_postings_open(b, tb, 0, &p, &err), SD_OK);
    assert_int_equal(seg_postings_open(b, tb, 0, &q, &err), SD_OK);
    assert_int_equal(seg_postings_open(a, ta, 0, &r, &err), SD_OK);
    for (uint32_t d = seg_postings_next(p); d != SEG_DOC_END; d = seg_postings_next(p)) {
        uint32_t max_tf, max_tf_a;
        uint8_t min_norm, min_norm_a;
        uint32_t last = seg_postings_block_bound(q, d, &max_tf, &min_norm);
        assert_true(last != SEG_DOC_END && last >= d);
        assert_true(seg_postings_freq(p) <= max_tf);
        assert_true(seg_field_norm(b, d, tb->field) >= min_norm);
        assert_int_equal(seg_postings_block_bound(r, d, &max_tf_a, &min_norm_a), last);
        assert_int_equal(max_tf_a, max_tf);
        assert_int_equal(min_norm_a, min_norm);
    }
    seg_postings_free(p);
    seg_postings_free(q);
    seg_postings_free(r);
}

static void compare_postings(const struct seg *a, const struct seg_term *ta, const struct seg *b,
                             const struct seg_term *tb)
{
    struct seg_postings *p, *q;
    struct sd_error err = {0};
    assert_int_equal(seg_postings_open(a, ta, SEG_WANT_POSITIONS, &p, &err), SD_OK);
    assert_int_equal(seg_postings_open(b, tb, SEG_WANT_POSITIONS, &q, &err), SD_OK);
    for (;;) {
        uint32_t d = seg_postings_next(p);
        assert_int_equal(seg_postings_next(q), d);
        if (d == SEG_DOC_END) {
            break;
        }
        assert_int_equal(seg_postings_freq(p), seg_postings_freq(q));
        if (ta->kind == SEG_EXACT) {
            const uint32_t *pa, *pb;
            uint32_t na, nb;
            assert_int_equal(seg_postings_positions(p, &pa, &na), SD_OK);
            assert_int_equal(seg_postings_positions(q, &pb, &nb), SD_OK);
            assert_int_equal(na, nb);
            assert_memory_equal(pa, pb, na * sizeof *pa);
        }
    }
    assert_int_equal(seg_postings_error(p, &err), SD_OK);
    assert_int_equal(seg_postings_error(q, &err), SD_OK);
    seg_postings_free(p);
    seg_postings_free(q);
}

/* Walks a's dictionary and finds every term in b by field name; returns the terms seen. */
static uint64_t compare_terms(const struct seg *a, const struct seg *b, uint32_t *big_terms)
{
    uint64_t n = 0;
    struct seg_dict_cursor c;
    struct seg_term ta, tb;
    struct sd_error err = {0};
    int r = seg_dict_cursor_field(&c, a, 0, &ta);
    for (; r == 1; r = seg_dict_cursor_next(&c, &ta)) {
        const char *name = seg_field_name(a, c.key[0]);
        int fb = seg_field_find(b, name, strlen(name));
        assert_true(fb >= 0);
        if (seg_term_find(b, (unsigned)fb, c.key[1], (const char *)c.key + 2, c.key_len - 2, &tb,
                          &err) != SD_OK) {
            fail_msg("term %s:%c:%.*s missing", name, c.key[1], (int)c.key_len - 2, c.key + 2);
        }
        assert_int_equal(ta.df, tb.df);
        assert_int_equal(ta.total_tf, tb.total_tf);
        compare_postings(a, &ta, b, &tb);
        check_bounds(a, &ta, b, &tb);
        *big_terms += ta.df > 300;
        n++;
    }
    assert_int_equal(r, 0);
    return n;
}

/* Everything the reader can see must agree; field ids may differ, names may not. */
static void compare_segs(const struct seg *want, const struct seg *got)
{
    assert_int_equal(seg_doc_count(want), seg_doc_count(got));
    assert_int_equal(seg_field_count(want), seg_field_count(got));
    for (unsigned f = 0; f < seg_field_count(want); f++) {
        const char *name = seg_field_name(want, f);
        int g = seg_field_find(got, name, strlen(name));
        assert_true(g >= 0);
        uint64_t lw, lg;
        uint32_t dw, dg;
        seg_field_stats(want, f, &lw, &dw);
        seg_field_stats(got, (unsigned)g, &lg, &dg);
        assert_int_equal(lw, lg);
        assert_int_equal(dw, dg);
        for (uint32_t d = 0; d < seg_doc_count(want); d++) {
            assert_int_equal(seg_field_norm(want, d, f), seg_field_norm(got, d, (unsigned)g));
        }
    }
    for (uint32_t d = 0; d < seg_doc_count(want); d++) {
        const char *iw, *ig;
        size_t nw, ng;
        seg_doc_id(want, d, &iw, &nw);
        seg_doc_id(got, d, &ig, &ng);
        assert_int_equal(nw, ng);
        assert_memory_equal(iw, ig, nw);
        uint32_t found;
        assert_int_equal(seg_doc_find(got, ig, ng, &found), SD_OK);
        assert_int_equal(found, d);
        compare_stored(want, got, d);
        seg_doc_title(want, d, &iw, &nw);
        seg_doc_title(got, d, &ig, &ng);
        assert_int_equal(nw, ng);
        assert_memory_equal(iw, ig, nw);
    }
    uint64_t nw = compare_terms(want, got, &g_big_terms);
    uint64_t ng = compare_terms(got, want, &g_big_terms);
    assert_int_equal(nw, ng);
    assert_int_equal(nw, want->term_count);
}

/* ---- the scenario ---- */

#define NSEG 3

struct scenario {
    struct corpus c;
    size_t sizes[NSEG];
    size_t first[NSEG]; /* corpus index of each segment's first doc */
    struct seg *in[NSEG];
    uint64_t bits[NSEG][MAX_DOCS / 64 + 1];
    const uint64_t *del[NSEG];
    const struct seg_doc *live[MAX_DOCS];
    size_t nlive;
};

static struct scenario *scenario_new(uint64_t seed)
{
    struct scenario *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    g_rng = seed;
    sc->sizes[0] = 450;
    sc->sizes[1] = 300;
    sc->sizes[2] = 520;
    make_corpus(&sc->c, sc->sizes, NSEG);
    size_t at = 0;
    for (size_t s = 0; s < NSEG; s++) {
        const struct seg_doc *docs[MAX_DOCS];
        sc->first[s] = at;
        for (size_t k = 0; k < sc->sizes[s]; k++) {
            docs[k] = &sc->c.docs[at + k].doc;
        }
        sc->in[s] = build_open(docs, sc->sizes[s], "input");
        at += sc->sizes[s];
    }
    return sc;
}

static void scenario_free(struct scenario *sc)
{
    for (size_t s = 0; s < NSEG; s++) {
        seg_close(sc->in[s]);
    }
    free(sc);
}

/* Deletes each doc with probability pct / 100 (and every doc with an "extra" field), and
 * lists the live docs of the chosen inputs in merge order. */
static void delete_some(struct scenario *sc, unsigned pct, const size_t *which, size_t n)
{
    memset(sc->bits, 0, sizeof sc->bits);
    for (size_t s = 0; s < NSEG; s++) {
        for (size_t k = 0; k < sc->sizes[s]; k++) {
            const struct seg_doc *d = &sc->c.docs[sc->first[s] + k].doc;
            bool extra = false;
            for (size_t f = 0; f < d->nfields; f++) {
                extra |= strcmp(d->fields[f].name, "extra") == 0;
            }
            if (extra || rnd(100) < pct) {
                sc->bits[s][k / 64] |= 1ull << (k % 64);
            }
        }
        sc->del[s] = sc->bits[s];
    }
    sc->nlive = 0;
    for (size_t i = 0; i < n; i++) {
        size_t s = which[i];
        for (size_t k = 0; k < sc->sizes[s]; k++) {
            if (!((sc->bits[s][k / 64] >> (k % 64)) & 1)) {
                sc->live[sc->nlive++] = &sc->c.docs[sc->first[s] + k].doc;
            }
        }
    }
}

/* Each live doc's title in s is its title field cut as seg_doc_title says; returns how many
 * were cut. */
static size_t check_titles(const struct seg *s, const struct seg_doc *const *live, size_t n)
{
    size_t cut = 0;
    assert_int_equal(seg_doc_count(s), n);
    for (uint32_t d = 0; d < n; d++) {
        const char *want = "";
        size_t want_len = 0;
        for (size_t f = 0; f < live[d]->nfields; f++) {
            if (strcmp(live[d]->fields[f].name, "title") == 0) {
                want = live[d]->fields[f].value;
                want_len = live[d]->fields[f].value_len;
            }
        }
        if (want_len > SEG_TITLE_MAX) {
            cut++;
            want_len = SEG_TITLE_MAX;
            while (((unsigned char)want[want_len] & 0xC0) == 0x80) {
                want_len--;
            }
        }
        const char *t;
        size_t len;
        assert_int_equal(seg_doc_title(s, d, &t, &len), SD_OK);
        assert_int_equal(len, want_len);
        assert_memory_equal(t, want, len);
    }
    return cut;
}

/* Every section but the stored documents' four agrees byte for byte (compare_segs
 * compares the stored documents by content). */
static void compare_sections_but_stored(const uint8_t *a, size_t alen, const uint8_t *b,
                                        size_t blen)
{
    struct seg *x = open_copy(a, alen, "a");
    struct seg *y = open_copy(b, blen, "b");
    for (int i = 0; i < SEG_NSECT; i++) {
        if (i == SEG_SECT_STORED_DOCS || i == SEG_SECT_STORED_BLOCKS ||
            i == SEG_SECT_STORED_DATA || i == SEG_SECT_CHUNKS) {
            continue;
        }
        assert_int_equal(x->sect[i].len, y->sect[i].len);
        assert_memory_equal(x->sect[i].p, y->sect[i].p, x->sect[i].len);
    }
    seg_close(x);
    seg_close(y);
}

/* A merge's image against a direct build of the same live docs, where blocks may have been
 * copied: the same through the reader, and byte for byte but for the stored documents. */
static void compare_to_build(const uint8_t *img, size_t len, const uint8_t *bimg, size_t blen)
{
    struct seg *got = open_copy(img, len, "merged");
    struct seg *want = open_copy(bimg, blen, "built");
    compare_segs(want, got);
    seg_close(got);
    seg_close(want);
    compare_sections_but_stored(img, len, bimg, blen);
}

static bool lost_nothing(const struct scenario *sc, size_t s, bool use_bits)
{
    for (size_t k = 0; use_bits && k < sc->sizes[s]; k++) {
        if ((sc->bits[s][k / 64] >> (k % 64)) & 1) {
            return false;
        }
    }
    return true;
}

/* Merges in[0, n) (del: their tombstones, or NULL) and checks the result against a direct
 * build of live[0, nlive): the very same bytes unless may_copy (an input lost nothing, and its
 * stored blocks may be copied as they are, which the builder would have packed otherwise);
 * returns the live docs whose title was cut. */
static size_t check_merged(struct seg *const *in, const uint64_t *const *del, size_t n,
                           const struct seg_doc *const *live, size_t nlive, bool may_copy)
{
    size_t mlen, blen;
    uint8_t *mimg = merge(in, del, n, &mlen);
    uint8_t *bimg = build(live, nlive, &blen);
    struct seg *got = open_copy(mimg, mlen, "merged");
    struct seg *want = open_copy(bimg, blen, "built");
    compare_segs(want, got);
    size_t cut = check_titles(got, live, nlive); /* deleted docs' titles are gone */
    if (may_copy) {
        compare_sections_but_stored(mimg, mlen, bimg, blen);
    } else {
        assert_int_equal(mlen, blen);
        assert_memory_equal(mimg, bimg, blen);
    }
    seg_close(got);
    seg_close(want);
    free(mimg);
    free(bimg);
    return cut;
}

/* check_merged for inputs which[0, n) of the scenario. */
static size_t check_merge(struct scenario *sc, const size_t *which, size_t n, bool use_bits)
{
    bool may_copy = false;
    for (size_t i = 0; i < n; i++) {
        may_copy |= lost_nothing(sc, which[i], use_bits);
    }
    struct seg *in[NSEG];
    const uint64_t *del[NSEG];
    for (size_t i = 0; i < n; i++) {
        in[i] = sc->in[which[i]];
        del[i] = sc->del[which[i]];
    }
    return check_merged(in, use_bits ? del : NULL, n, sc->live, sc->nlive, may_copy);
}

static void test_merge_random_deletes_equals_direct_build(void **state)
{
    (void)state;
    static const size_t all[NSEG] = {0, 1, 2};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct scenario *sc = scenario_new(0x9e3779b97f4a7c15ull * seed);
        delete_some(sc, 10 + 15 * (unsigned)seed, all, NSEG);
        g_big_terms = 0;
        assert_true(check_merge(sc, all, NSEG, true) > 10); /* long titles were cut */
        assert_true(g_big_terms > 10);                      /* blocks and skip data compared */
        scenario_free(sc);
    }
}

static void test_merge_keeps_big_terms_blocked(void **state)
{
    (void)state;
    static const size_t all[NSEG] = {0, 1, 2};
    struct scenario *sc = scenario_new(77);
    delete_some(sc, 20, all, NSEG);
    struct seg *in[NSEG] = {sc->in[0], sc->in[1], sc->in[2]};
    size_t len;
    uint8_t *img = merge(in, sc->del, NSEG, &len);
    struct seg *s = open_copy(img, len, "merged");
    /* "the" (any case) is in most bodies and titles: several blocks after the merge */
    int body = seg_field_find(s, "body", 4);
    assert_true(body >= 0);
    struct seg_term t;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, (unsigned)body, SEG_EXACT, "the", 3, &t, &err), SD_OK);
    assert_true(t.df > 300);
    /* "extra" was only in deleted docs: the field is gone; "note" only in segment 1 stays */
    assert_int_equal(seg_field_find(s, "extra", 5), -1);
    assert_true(seg_field_find(s, "note", 4) >= 0);
    seg_close(s);
    free(img);
    scenario_free(sc);
}

static void test_merge_without_deletes(void **state)
{
    (void)state;
    static const size_t all[NSEG] = {0, 1, 2};
    struct scenario *sc = scenario_new(5);
    delete_some(sc, 0, all, NSEG);
    memset(sc->bits, 0, sizeof sc->bits); /* not even the "extra" docs */
    sc->nlive = 0;
    for (size_t i = 0; i < sc->c.n; i++) {
        sc->live[sc->nlive++] = &sc->c.docs[i].doc;
    }
    check_merge(sc, all, NSEG, false); /* deleted == NULL */
    check_merge(sc, all, NSEG, true);  /* all-zero bitmaps */
    const uint64_t *none[NSEG] = {NULL, NULL, NULL};
    size_t a, b;
    uint8_t *x = merge(sc->in, none, NSEG, &a);
    uint8_t *y = merge(sc->in, NULL, NSEG, &b);
    assert_int_equal(a, b);
    assert_memory_equal(x, y, a);
    free(x);
    free(y);
    scenario_free(sc);
}

/* A memory merge that catches up takes tens of small segments at once (IDX_TIER_MAX_INPUTS):
 * 48 inputs of 2 to 31 docs, each losing its first doc (so nothing is copied as it is), give
 * the very bytes of a direct build, whichever input holds a term first or last. */
static void test_merge_of_many_small_inputs(void **state)
{
    (void)state;
    enum { NIN = 48 };
    struct corpus *c = calloc(1, sizeof *c);
    assert_non_null(c);
    g_rng = 0x51ed2701u;
    struct seg *in[NIN];
    uint64_t bits[NIN];
    const uint64_t *del[NIN];
    const struct seg_doc *live[MAX_DOCS];
    size_t nlive = 0;
    for (size_t s = 0; s < NIN; s++) {
        size_t size = 2 + rnd(30), first = c->n;
        const struct seg_doc *docs[32];
        for (size_t k = 0; k < size; k++) {
            struct tdoc *d = &c->docs[c->n++];
            make_doc(d, 1 + (int)(s % 2), k); /* no "extra" field (seg 0's); ids of its own: */
            snprintf(d->id, sizeof d->id, "m%zu-%zu", s, k);
            d->doc.id_len = strlen(d->id);
            docs[k] = &d->doc;
            if (k > 0) {
                live[nlive++] = &c->docs[first + k].doc;
            }
        }
        in[s] = build_open(docs, size, "input");
        bits[s] = 1; /* its first doc deleted */
        del[s] = &bits[s];
    }
    check_merged(in, del, NIN, live, nlive, false);
    for (size_t s = 0; s < NIN; s++) {
        seg_close(in[s]);
    }
    free(c);
}

static void test_merge_single_input(void **state)
{
    (void)state;
    static const size_t one[1] = {1};
    struct scenario *sc = scenario_new(11);
    delete_some(sc, 30, one, 1);
    check_merge(sc, one, 1, true);
    /* no deletes: the image comes back unchanged */
    size_t len, ilen;
    uint8_t *img = merge(&sc->in[1], NULL, 1, &len);
    const uint8_t *orig = seg_image(sc->in[1], &ilen);
    assert_int_equal(len, ilen);
    assert_memory_equal(img, orig, len);
    free(img);
    scenario_free(sc);
}

static void test_merge_everything_deleted(void **state)
{
    (void)state;
    static const size_t all[NSEG] = {0, 1, 2};
    struct scenario *sc = scenario_new(13);
    delete_some(sc, 100, all, NSEG);
    assert_int_equal(sc->nlive, 0);
    check_merge(sc, all, NSEG, true);
    size_t len;
    uint8_t *img = merge(sc->in, sc->del, NSEG, &len);
    struct seg *s = open_copy(img, len, "empty");
    assert_int_equal(seg_doc_count(s), 0);
    assert_int_equal(seg_field_count(s), 0);
    assert_int_equal(s->term_count, 0);
    seg_close(s);
    /* no inputs at all: the same empty segment */
    size_t len0;
    uint8_t *img0 = merge(NULL, NULL, 0, &len0);
    assert_int_equal(len0, len);
    assert_memory_equal(img0, img, len0);
    free(img0);
    free(img);
    scenario_free(sc);
}

static void test_merge_of_merges(void **state)
{
    (void)state;
    static const size_t all[NSEG] = {0, 1, 2};
    struct scenario *sc = scenario_new(21);
    delete_some(sc, 25, all, NSEG);
    /* (0 + 1) first, then with 2: deletes apply at the first level only */
    size_t len01;
    uint8_t *img01 = merge(sc->in, sc->del, 2, &len01);
    struct seg *m01 = open_copy(img01, len01, "m01");
    struct seg *in2[2] = {m01, sc->in[2]};
    const uint64_t *del2[2] = {NULL, sc->del[2]};
    size_t len, blen;
    uint8_t *img = merge(in2, del2, 2, &len);
    uint8_t *bimg = build(sc->live, sc->nlive, &blen);
    compare_to_build(img, len, bimg, blen); /* m01 lost nothing: its blocks were copied */
    seg_close(m01);
    free(img01);
    free(img);
    free(bimg);
    scenario_free(sc);
}

/* Inputs that lost nothing and number their fields alike: their stored blocks go out as
 * they are, one after the other, and every document reads back whole. */
static void test_merge_copies_stored_blocks(void **state)
{
    (void)state;
    struct scenario *sc = scenario_new(31);
    const struct seg_doc *docs[MAX_DOCS];
    for (size_t k = 0; k < sc->sizes[0]; k++) {
        docs[k] = &sc->c.docs[k].doc;
    }
    size_t half = sc->sizes[0] / 2;
    struct seg *in[2] = {build_open(docs, half, "first"),
                         build_open(docs + half, sc->sizes[0] - half, "second")};
    assert_int_equal(seg_field_count(in[0]), seg_field_count(in[1]));
    for (unsigned f = 0; f < seg_field_count(in[0]); f++) {
        assert_string_equal(seg_field_name(in[0], f), seg_field_name(in[1], f));
    }
    assert_true(in[0]->stored_nblocks > 1 && in[1]->stored_nblocks > 1);
    size_t len, blen;
    uint8_t *img = merge(in, NULL, 2, &len);
    uint8_t *bimg = build(docs, sc->sizes[0], &blen);
    compare_to_build(img, len, bimg, blen);
    struct seg *got = open_copy(img, len, "merged");
    assert_int_equal(got->stored_nblocks, in[0]->stored_nblocks + in[1]->stored_nblocks);
    const struct seg_span *d0 = &in[0]->sect[SEG_SECT_STORED_DATA];
    const struct seg_span *d1 = &in[1]->sect[SEG_SECT_STORED_DATA];
    const struct seg_span *dm = &got->sect[SEG_SECT_STORED_DATA];
    assert_int_equal(dm->len, d0->len + d1->len);
    assert_memory_equal(dm->p, d0->p, d0->len);
    assert_memory_equal(dm->p + d0->len, d1->p, d1->len);
    seg_close(got);
    seg_close(in[0]);
    seg_close(in[1]);
    free(img);
    free(bimg);
    scenario_free(sc);
}

/* Positions copied whole from an input that lost nothing are counted first: bytes that
 * do not hold the tfs' varints (here the last one never ends) stop the merge as damage,
 * as the decoder would have. */
static void test_merge_refuses_damaged_positions_it_copies(void **state)
{
    (void)state;
    struct scenario *sc = scenario_new(41);
    size_t len;
    const uint8_t *orig = seg_image(sc->in[0], &len);
    uint8_t *img = malloc(len);
    assert_non_null(img);
    memcpy(img, orig, len);
    const struct seg_span *pos = &sc->in[0]->sect[SEG_SECT_POSITIONS];
    assert_true(pos->len > 0);
    img[pos->off + pos->len - 1] |= 0x80;
    sd_put_le64(img + len - 16, sd_hash64(img, len - 16));
    struct seg *bad = open_copy(img, len, "damaged");
    struct sd_buf out;
    sd_buf_init(&out);
    struct sd_error err = {0};
    assert_int_equal(seg_merge(&bad, NULL, 1, &out, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "positions"));
    assert_int_equal(out.len, 0);
    sd_buf_free(&out);
    seg_close(bad);
    free(img);
    scenario_free(sc);
}

static void test_merge_appends_to_out(void **state)
{
    (void)state;
    struct scenario *sc = scenario_new(3);
    struct sd_buf out;
    sd_buf_init(&out);
    sd_buf_put(&out, "prefix", 6);
    struct sd_error err = {0};
    assert_int_equal(seg_merge(sc->in, NULL, 1, &out, NULL, &err), SD_OK);
    struct seg *s = open_copy(out.data + 6, out.len - 6, "appended");
    assert_int_equal(seg_doc_count(s), sc->sizes[0]);
    seg_close(s);
    /* asked to stop: SD_EBUSY, and out is as it was */
    atomic_bool stop = true;
    size_t before = out.len;
    assert_int_equal(seg_merge(sc->in, NULL, NSEG, &out, &stop, &err), SD_EBUSY);
    assert_int_equal(out.len, before);
    assert_non_null(strstr(err.msg, "stopped"));
    sd_buf_free(&out);
    scenario_free(sc);
}

/* seg_merge_file writes the bytes seg_merge makes in memory, however often it spills to the
 * file (1: after every record, copied block and term, so the stored-block table is patched
 * in the file), with every input losing documents or some copying their blocks,
 * the file opens and verifies, and a failed merge leaves no file behind. */
static void test_merge_to_file_equals_merge_in_memory(void **state)
{
    (void)state;
    static const size_t all[NSEG] = {0, 1, 2};
    struct scenario *sc = scenario_new(11);
    delete_some(sc, 30, all, NSEG);
    const uint64_t *none[NSEG] = {NULL, sc->del[1], NULL}; /* 0 and 2 copy their blocks */
    char dir[] = "/tmp/seg_merge_test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/out.seg", dir);
    static const size_t spills[] = {1, 4096, SEG_SPILL_BYTES};
    for (size_t k = 0; k < 2 * sizeof spills / sizeof spills[0]; k++) {
        const uint64_t *const *del = k % 2 ? none : sc->del;
        size_t mlen;
        uint8_t *mimg = merge(sc->in, del, NSEG, &mlen);
        struct sd_error err = {0};
        uint64_t len = 0;
        if (seg_merge_file_spilling(sc->in, del, NSEG, path, spills[k / 2], &len, &err) != SD_OK) {
            fail_msg("seg_merge_file: %s", err.msg);
        }
        assert_int_equal(len, mlen);
        uint8_t *file;
        size_t flen;
        assert_int_equal(sd_read_file(path, mlen + 1, &file, &flen, &err), SD_OK);
        assert_int_equal(flen, mlen);
        assert_memory_equal(file, mimg, mlen);
        free(file);
        struct seg *s;
        assert_int_equal(seg_open_file(path, &s, &err), SD_OK);
        struct seg *mem = open_copy(mimg, mlen, "in memory");
        assert_int_equal(seg_doc_count(s), seg_doc_count(mem));
        seg_close(mem);
        seg_close(s);
        /* the path exists now: the next merge must refuse it and keep it */
        assert_int_not_equal(seg_merge_file(sc->in, sc->del, NSEG, path, &len, &err), SD_OK);
        assert_int_equal(seg_verify_file(path, &err), SD_OK);
        assert_int_equal(unlink(path), 0);
        free(mimg);
    }
    assert_int_equal(rmdir(dir), 0);
    scenario_free(sc);
}


/* ---- issue 15, item 6: damage behind a valid checksum that only a merge reads ---- */

static struct seg *damaged_copy(const struct seg *s,
                                uint8_t *(*edit)(uint8_t *, const struct seg *))
{
    size_t len;
    const uint8_t *orig = seg_image(s, &len);
    uint8_t *img = malloc(len);
    assert_non_null(img);
    memcpy(img, orig, len);
    edit(img, s);
    sd_put_le64(img + len - 16, sd_hash64(img, len - 16));
    struct seg *bad = open_copy(img, len, "damaged");
    free(img);
    return bad;
}

static uint8_t *longer_raw_len(uint8_t *img, const struct seg *s)
{
    uint8_t *e = img + s->sect[SEG_SECT_STORED_BLOCKS].off; /* block 0's entry */
    sd_put_le32(e + 12, sd_get_le32(e + 12) + 1);
    return img;
}

/* An LZ4 block that decompresses to fewer bytes than its table entry says
 * (seg_merge.c: `(uint32_t)got != raw_len`) fails the merge by name. */
static void test_issue_15_lz4_block_shorter_than_its_table_fails_merge(void **state)
{
    (void)state;
    struct seg_field f[3][1] = {{{"body", 4, "first stored document", 21, SEG_TEXT}},
                                {{"body", 4, "second stored document", 22, SEG_TEXT}},
                                {{"body", 4, "third stored document", 21, SEG_TEXT}}};
    struct seg_doc docs[3] = {{"a", 1, f[0], 1}, {"b", 1, f[1], 1}, {"c", 1, f[2], 1}};
    const struct seg_doc *ptrs[3] = {&docs[0], &docs[1], &docs[2]};
    struct seg *s = build_open(ptrs, 3, "clean");
    struct seg *bad = damaged_copy(s, longer_raw_len);
    uint64_t del = 2; /* doc 1 deleted: the merge decodes the stored block */
    const uint64_t *dels[1] = {&del};
    struct sd_buf out;
    sd_buf_init(&out);
    struct sd_error err = {0};
    assert_int_equal(seg_merge(&bad, dels, 1, &out, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "does not decompress"));
    sd_buf_free(&out);
    sd_buf_init(&out);
    assert_int_equal(seg_merge(&s, dels, 1, &out, NULL, &err), SD_OK);
    sd_buf_free(&out);
    seg_close(bad);
    seg_close(s);
}

static char g_far_body[2048];

static uint8_t *split_varint(uint8_t *img, const struct seg *s)
{
    struct seg_term t;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, "target", 6, &t, &err), SD_OK);
    assert_int_equal(t.pos_len, 2); /* position 200: varint c8 01 */
    assert_int_equal(img[t.pos_off], 0xc8);
    img[t.pos_off] = 0x48; /* now two one-byte varints in the same span */
    return img;
}

/* A term's positions span holding more varints than its docs' tfs (seg_merge.c:
 * `seg_varint_ends(p, len) != count`) fails a merge that copies it whole. */
static void test_issue_15_positions_span_with_extra_varints_fails_merge(void **state)
{
    (void)state;
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        n += (size_t)snprintf(g_far_body + n, sizeof g_far_body - n, "filler ");
    }
    n += (size_t)snprintf(g_far_body + n, sizeof g_far_body - n, "target");
    struct seg_field f[1] = {{"body", 4, g_far_body, n, SEG_TEXT}};
    struct seg_doc doc = {"far", 3, f, 1};
    const struct seg_doc *ptrs[1] = {&doc};
    struct seg *s = build_open(ptrs, 1, "clean");
    struct seg *bad = damaged_copy(s, split_varint);
    struct sd_buf out;
    sd_buf_init(&out);
    struct sd_error err = {0};
    assert_int_equal(seg_merge(&bad, NULL, 1, &out, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "positions damaged"));
    sd_buf_free(&out);
    sd_buf_init(&out);
    assert_int_equal(seg_merge(&s, NULL, 1, &out, NULL, &err), SD_OK);
    sd_buf_free(&out);
    seg_close(bad);
    seg_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_random_deletes_equals_direct_build),
        cmocka_unit_test(test_merge_keeps_big_terms_blocked),
        cmocka_unit_test(test_merge_without_deletes),
        cmocka_unit_test(test_merge_single_input),
        cmocka_unit_test(test_merge_of_many_small_inputs),
        cmocka_unit_test(test_merge_everything_deleted),
        cmocka_unit_test(test_merge_of_merges),
        cmocka_unit_test(test_merge_copies_stored_blocks),
        cmocka_unit_test(test_merge_refuses_damaged_positions_it_copies),
        cmocka_unit_test(test_merge_appends_to_out),
        cmocka_unit_test(test_merge_to_file_equals_merge_in_memory),
        cmocka_unit_test(test_issue_15_lz4_block_shorter_than_its_table_fails_merge),
        cmocka_unit_test(test_issue_15_positions_span_with_extra_varints_fails_merge),
    };
    return cmocka_run_group_tests(tests, seg_test_stem_setup, seg_test_stem_teardown);
}
