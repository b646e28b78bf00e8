/*
 * seg_test.c: unit tests of index/seg/: building, the image format, lookups, the postings
 * iterator against a brute-force reference, stored documents, and damaged images
 * (truncated at every offset, every byte flipped, and damage behind a valid checksum).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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


/* clang-format off */
#define F(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1, SEG_TEXT}
#define RAW(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1, SEG_RAW}
#define DOC(i, fs) {i, sizeof(i) - 1, fs, sizeof(fs) / sizeof(fs[0])}
/* clang-format on */

static const struct seg_field d0f[] = {
    F("title", "Цифровая дипломатия"),
    F("body", "Цифровая дипломатия меняет дипломатию. Дипломаты пишут e-mail."),
};
static const struct seg_field d1f[] = {
    F("title", "Industrial revolution"),
    F("body", "The industrial revolutions changed industry. Revolution after revolution."),
};
static const struct seg_field d2f[] = {
    F("title", "Ёлка и ЙОГУРТ"),
    RAW("tags", "[\"a\",\"b\",\"ёж\"]"),
    F("body", "Северо-запад don't stop"),
    RAW("year", "2024"),
};
static const struct seg_field d3f[] = {
    F("body", "дипломатии нет"),
};
static const struct seg_doc g_docs[] = {
    DOC("ru-1", d0f),
    DOC("en-1", d1f),
    DOC("mix-1", d2f),
    DOC("ru-2", d3f),
};
#define NDOCS (sizeof g_docs / sizeof g_docs[0])

/* ---- helpers ---- */

static uint8_t *build_image(const struct seg_doc *docs, size_t n, size_t *len)
{
    const struct seg_doc **ptrs = malloc((n + 1) * sizeof *ptrs);
    assert_non_null(ptrs);
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = &docs[i];
    }
    uint8_t *img = seg_test_build(g_stem, ptrs, n, NULL, len);
    free(ptrs);
    return img;
}

static struct seg *open_image(const uint8_t *img, size_t len)
{
    return seg_test_open_copy(img, len, "test.seg");
}

/* Finishes and frees b, and opens the image it made. */
static struct seg *finish_open(struct seg_builder *b)
{
    struct sd_buf out;
    struct sd_error err = {0};
    sd_buf_init(&out);
    assert_int_equal(seg_builder_finish(b, &out, &err), SD_OK);
    seg_builder_free(b);
    size_t len;
    uint8_t *img = sd_buf_detach(&out, &len);
    struct seg *s = open_image(img, len);
    free(img);
    return s;
}

static struct seg *open_docs(const struct seg_doc *docs, size_t n)
{
    size_t len;
    uint8_t *img = build_image(docs, n, &len);
    struct seg *s = open_image(img, len);
    free(img);
    return s;
}

static const char *stem_of(const char *word)
{
    const char *st;
    size_t len;
    assert_int_equal(stem_word(g_stem, word, strlen(word), &st, &len), STEM_OK);
    return st;
}

/* Reads every (doc, tf) of a term; returns df, or -1 when the term is absent. */
static int term_docs(const struct seg *s, const char *field, enum seg_kind kind, const char *term,
                     uint32_t *docs, uint32_t *tfs, size_t cap)
{
    int f = seg_field_find(s, field, strlen(field));
    assert_true(f >= 0);
    struct seg_term t;
    struct sd_error err = {0};
    int rc = seg_term_find(s, (unsigned)f, kind, term, strlen(term), &t, &err);
    if (rc == SD_ENOTFOUND) {
        return -1;
    }
    assert_int_equal(rc, SD_OK);
    struct seg_postings *p;
    assert_int_equal(seg_postings_open(s, &t, 0, &p, &err), SD_OK);
    size_t n = 0;
    uint64_t total = 0;
    for (uint32_t d = seg_postings_next(p); d != SEG_DOC_END; d = seg_postings_next(p)) {
        assert_true(n < cap);
        docs[n] = d;
        tfs[n] = seg_postings_freq(p);
        total += tfs[n++];
    }
    assert_int_equal(seg_postings_error(p, &err), SD_OK);
    seg_postings_free(p);
    assert_int_equal(n, t.df);
    assert_int_equal(total, t.total_tf);
    return (int)n;
}

static void positions_of(const struct seg *s, const char *field, const char *word, uint32_t doc,
                         uint32_t *pos, uint32_t *count)
{
    int f = seg_field_find(s, field, strlen(field));
    struct seg_term t;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, (unsigned)f, SEG_EXACT, word, strlen(word), &t, &err), SD_OK);
    struct seg_postings *p;
    assert_int_equal(seg_postings_open(s, &t, SEG_WANT_POSITIONS, &p, &err), SD_OK);
    assert_int_equal(seg_postings_advance(p, doc), doc);
    const uint32_t *pp;
    assert_int_equal(seg_postings_positions(p, &pp, count), SD_OK);
    assert_int_equal(*count, seg_postings_freq(p));
    memcpy(pos, pp, *count * sizeof *pos);
    seg_postings_free(p);
}

/* ---- terms ---- */

static void test_seg_term_find_stem_and_exact(void **state)
{
    (void)state;
    struct seg *s = open_docs(g_docs, NDOCS);
    assert_int_equal(seg_doc_count(s), NDOCS);
    uint32_t docs[8], tfs[8];
    /* stem: "дипломатия", "дипломатию", "дипломаты", "дипломатии" share one stem */
    char st[64];
    snprintf(st, sizeof st, "%s", stem_of("дипломатия"));
    assert_string_equal(stem_of("дипломаты"), st);
    assert_int_equal(term_docs(s, "body", SEG_STEM, st, docs, tfs, 8), 2);
    assert_int_equal(docs[0], 0);
    assert_int_equal(tfs[0], 3);
    assert_int_equal(docs[1], 3);
    assert_int_equal(tfs[1], 1);
    /* exact: only the surface form, case-folded */
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "дипломатию", docs, tfs, 8), 1);
    assert_int_equal(docs[0], 0);
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "Дипломатию", docs, tfs, 8), -1);
    /* English: three inflections under one stem, two of one exact form */
    snprintf(st, sizeof st, "%s", stem_of("revolution"));
    assert_int_equal(term_docs(s, "body", SEG_STEM, st, docs, tfs, 8), 1);
    assert_int_equal(tfs[0], 3);
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "revolution", docs, tfs, 8), 1);
    assert_int_equal(tfs[0], 2);
    assert_int_equal(term_docs(s, "title", SEG_EXACT, "revolution", docs, tfs, 8), 1);
    assert_int_equal(docs[0], 1);
    /* ё folds to е; fields are separate */
    assert_int_equal(term_docs(s, "title", SEG_EXACT, "елка", docs, tfs, 8), 1);
    assert_int_equal(docs[0], 2);
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "елка", docs, tfs, 8), -1);
    /* raw fields are not indexed */
    int tags = seg_field_find(s, "tags", 4);
    assert_true(tags >= 0);
    struct seg_term t;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, (unsigned)tags, SEG_EXACT, "a", 1, &t, &err), SD_ENOTFOUND);
    assert_int_equal(seg_term_find(s, 200, SEG_EXACT, "a", 1, &t, &err), SD_ENOTFOUND);
    seg_close(s);
}

static void test_seg_positions_and_compounds(void **state)
{
    (void)state;
    struct seg *s = open_docs(g_docs, NDOCS);
    uint32_t pos[16], n;
    positions_of(s, "body", "revolution", 1, pos, &n);
    assert_int_equal(n, 2);
    assert_int_equal(pos[0], 5);
    assert_int_equal(pos[1], 7);
    positions_of(s, "body", "industrial", 1, pos, &n);
    assert_int_equal(n, 1);
    assert_int_equal(pos[0], 1);
    /* "Северо-запад don't stop": северо 0, северозапад 0 (joined), запад 1, don 2, dont 2,
     * t 3, stop 4 */
    positions_of(s, "body", "северозапад", 2, pos, &n);
    assert_int_equal(n, 1);
    assert_int_equal(pos[0], 0);
    positions_of(s, "body", "запад", 2, pos, &n);
    assert_int_equal(pos[0], 1);
    positions_of(s, "body", "dont", 2, pos, &n);
    assert_int_equal(pos[0], 2);
    positions_of(s, "body", "stop", 2, pos, &n);
    assert_int_equal(pos[0], 4);
    uint32_t docs[4], tfs[4];
    assert_int_equal(term_docs(s, "body", SEG_STEM, stem_of("северозапад"), docs, tfs, 4), 1);
    /* field length counts parts, not joined forms */
    int body = seg_field_find(s, "body", 4);
    assert_int_equal(seg_field_len(s, 2, (unsigned)body), 5);
    assert_int_equal(seg_field_len(s, 1, (unsigned)body), 8);
    int title = seg_field_find(s, "title", 5);
    assert_int_equal(seg_field_len(s, 3, (unsigned)title), 0); /* no title */
    uint64_t total;
    uint32_t with;
    seg_field_stats(s, (unsigned)title, &total, &with);
    assert_int_equal(with, 3);
    assert_int_equal(total, 2 + 2 + 3);
    seg_close(s);
}

/* Positions of docs reached by advance() past others in the block: the skip over the
 * positions of the docs passed (eight bytes at a time where it can) lands on the right
 * ones, with tfs from 0 to 40 and first positions past 127 (two-byte varints). */
static void test_seg_positions_after_skipping_docs(void **state)
{
    (void)state;
    enum { N = 300, TEXT = 4096 };
    static char text[N][TEXT];
    static struct seg_field fields[N];
    static struct seg_doc docs[N];
    static char ids[N][16];
    for (uint32_t i = 0; i < N; i++) {
        uint32_t lead = i % 7 == 0 ? 150 : i % 5, tf = (i * 7) % 41;
        size_t at = 0;
        for (uint32_t k = 0; k < lead; k++) {
            at += (size_t)snprintf(text[i] + at, TEXT - at, "filler ");
        }
        for (uint32_t k = 0; k < tf; k++) {
            at += (size_t)snprintf(text[i] + at, TEXT - at, "alpha filler ");
        }
        at += (size_t)snprintf(text[i] + at, TEXT - at, "omega");
        fields[i] = (struct seg_field){"body", 4, text[i], at, SEG_TEXT};
        snprintf(ids[i], sizeof ids[i], "d%u", i);
        docs[i] = (struct seg_doc){ids[i], strlen(ids[i]), &fields[i], 1};
    }
    struct seg *s = open_docs(docs, N);
    struct seg_term t;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, "alpha", 5, &t, &err), SD_OK);
    for (uint32_t stride = 1; stride <= 13; stride += 3) {
        struct seg_postings *p;
        assert_int_equal(seg_postings_open(s, &t, SEG_WANT_POSITIONS, &p, &err), SD_OK);
        uint32_t checked = 0;
        for (uint32_t target = 0; target < N; target += stride) {
            uint32_t d = seg_postings_advance(p, target);
            if (d == SEG_DOC_END) {
                break;
            }
            uint32_t lead = d % 7 == 0 ? 150 : d % 5, tf = (d * 7) % 41;
            assert_true(tf > 0);
            const uint32_t *pos;
            uint32_t count;
            assert_int_equal(seg_postings_positions(p, &pos, &count), SD_OK);
            assert_int_equal(count, tf);
            for (uint32_t k = 0; k < tf; k++) {
                assert_int_equal(pos[k], lead + 2 * k);
            }
            checked++;
            target = d;
        }
        assert_true(checked > N / (stride + 1) / 2);
        seg_postings_free(p);
    }
    seg_close(s);
}

struct walk {
    char terms[64][64];
    size_t n;
    int stop_after;
};

static int collect(void *arg, const char *term, size_t len, const struct seg_term *t)
{
    struct walk *w = arg;
    assert_true(t->df >= 1);
    assert_true(len < 64 && w->n < 64);
    memcpy(w->terms[w->n], term, len);
    w->terms[w->n][len] = '\0';
    w->n++;
    return w->stop_after && (int)w->n == w->stop_after ? 42 : 0;
}

static void test_seg_term_prefix_walks_in_order(void **state)
{
    (void)state;
    struct seg *s = open_docs(g_docs, NDOCS);
    struct sd_error err = {0};
    unsigned body = (unsigned)seg_field_find(s, "body", 4);
    struct walk w = {0};
    assert_int_equal(seg_term_prefix(s, body, SEG_EXACT, "ind", 3, collect, &w, &err), SD_OK);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.terms[0], "industrial");
    assert_string_equal(w.terms[1], "industry");
    memset(&w, 0, sizeof w);
    assert_int_equal(
        seg_term_prefix(s, body, SEG_EXACT, "дипломат", strlen("дипломат"), collect, &w, &err),
        SD_OK);
    assert_int_equal(w.n, 4); /* дипломатии, дипломатию, дипломатия, дипломаты */
    for (size_t i = 1; i < w.n; i++) {
        assert_true(strcmp(w.terms[i - 1], w.terms[i]) < 0);
    }
    /* the whole (field, kind) range, in byte order */
    memset(&w, 0, sizeof w);
    assert_int_equal(seg_term_prefix(s, body, SEG_EXACT, "", 0, collect, &w, &err), SD_OK);
    assert_true(w.n > 15);
    for (size_t i = 1; i < w.n; i++) {
        assert_true(strcmp(w.terms[i - 1], w.terms[i]) < 0);
    }
    memset(&w, 0, sizeof w);
    w.stop_after = 2;
    assert_int_equal(seg_term_prefix(s, body, SEG_EXACT, "", 0, collect, &w, &err), 42);
    memset(&w, 0, sizeof w);
    assert_int_equal(seg_term_prefix(s, body, SEG_EXACT, "zzz", 3, collect, &w, &err), SD_OK);
    assert_int_equal(w.n, 0);
    seg_close(s);
}

/* ---- documents ---- */

static void test_seg_doc_ids_and_find(void **state)
{
    (void)state;
    struct seg *s = open_docs(g_docs, NDOCS);
    for (uint32_t d = 0; d < NDOCS; d++) {
        const char *id;
        size_t len;
        seg_doc_id(s, d, &id, &len);
        assert_int_equal(len, g_docs[d].id_len);
        assert_memory_equal(id, g_docs[d].id, len);
        uint32_t found = UINT32_MAX;
        assert_int_equal(seg_doc_find(s, g_docs[d].id, g_docs[d].id_len, &found), SD_OK);
        assert_int_equal(found, d);
        uint64_t h = seg_id_hash(g_docs[d].id, g_docs[d].id_len);
        found = UINT32_MAX;
        assert_int_equal(seg_doc_find_hashed(s, g_docs[d].id, g_docs[d].id_len, h, &found), SD_OK);
        assert_int_equal(found, d);
        assert_int_equal(seg_doc_find_hashed(s, g_docs[d].id, g_docs[d].id_len, h + 1, &found),
                         SD_ENOTFOUND);
    }
    uint32_t found;
    assert_int_equal(seg_doc_find(s, "nope", 4, &found), SD_ENOTFOUND);
    assert_int_equal(seg_doc_find(s, "ru-", 3, &found), SD_ENOTFOUND);
    seg_close(s);
}

static void test_seg_doc_load_roundtrips_raw_and_unicode(void **state)
{
    (void)state;
    struct seg *s = open_docs(g_docs, NDOCS);
    struct sd_error err = {0};
    for (uint32_t d = 0; d < NDOCS; d++) {
        struct seg_stored st;
        assert_int_equal(seg_doc_load(s, d, &st, &err), SD_OK);
        assert_int_equal(st.id_len, g_docs[d].id_len);
        assert_memory_equal(st.id, g_docs[d].id, st.id_len);
        assert_int_equal(st.nfields, g_docs[d].nfields);
        for (size_t i = 0; i < st.nfields; i++) {
            const struct seg_field *a = &g_docs[d].fields[i], *b = &st.fields[i];
            assert_int_equal(b->name_len, a->name_len);
            assert_memory_equal(b->name, a->name, a->name_len);
            assert_int_equal(b->name[b->name_len], '\0');
            assert_int_equal(b->type, a->type);
            assert_int_equal(b->value_len, a->value_len);
            assert_memory_equal(b->value, a->value, a->value_len);
        }
        seg_stored_free(&st);
    }
    struct seg_stored st;
    assert_int_equal(seg_doc_load(s, NDOCS, &st, &err), SD_ENOTFOUND);
    seg_stored_free(&st);
    seg_close(s);
}

/* ---- titles ---- */

/* The cut hits' titles always had (the engine's idx_strndup_utf8 before segments kept
 * titles): at SEG_TITLE_MAX, backing up while the byte at the cut is a continuation byte. */
static size_t ref_title_cut(const char *s, size_t len)
{
    if (len > SEG_TITLE_MAX) {
        len = SEG_TITLE_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) {
            len--;
        }
    }
    return len;
}

static void check_title(const struct seg *s, uint32_t doc, const char *want, size_t want_len)
{
    const char *t;
    size_t len;
    assert_int_equal(seg_doc_title(s, doc, &t, &len), SD_OK);
    assert_int_equal(len, want_len);
    assert_memory_equal(t, want, len);
}

/* Titles of 300 - pad ASCII bytes followed by a run of one UTF-8 character of `w` bytes: the
 * cut falls at every offset inside a sequence and between sequences. */
static void test_seg_doc_title_cut_at_utf8_boundary(void **state)
{
    (void)state;
    static const char *const chars[] = {"a", "ж", "€", "😀"};
    char text[4][4][400];
    struct seg_field fields[4][4][2];
    struct seg_doc docs[4 * 4 + 3];
    char ids[4 * 4 + 3][8];
    size_t n = 0;
    for (size_t c = 0; c < 4; c++) {
        for (size_t pad = 0; pad < 4; pad++, n++) {
            char *t = text[c][pad];
            size_t len = 300 - pad;
            memset(t, 'x', len);
            while (len + strlen(chars[c]) < sizeof text[c][pad]) {
                memcpy(t + len, chars[c], strlen(chars[c]));
                len += strlen(chars[c]);
            }
            fields[c][pad][0] = (struct seg_field){"body", 4, "words", 5, SEG_TEXT};
            fields[c][pad][1] = (struct seg_field){"title", 5, t, len, SEG_TEXT};
            snprintf(ids[n], sizeof ids[n], "t%zu", n);
            docs[n] = (struct seg_doc){ids[n], strlen(ids[n]), fields[c][pad], 2};
        }
    }
    static const struct seg_field short_title[] = {F("title", "a short title")};
    static const struct seg_field none[] = {F("body", "no title here")};
    static const struct seg_field raw[] = {RAW("title", "[1,2]")};
    docs[n++] = (struct seg_doc)DOC("short", short_title);
    docs[n++] = (struct seg_doc)DOC("none", none);
    docs[n++] = (struct seg_doc)DOC("raw", raw);
    struct seg *s = open_docs(docs, n);
    for (uint32_t d = 0; d < 16; d++) {
        const struct seg_field *f = &docs[d].fields[1];
        size_t want = ref_title_cut(f->value, f->value_len);
        assert_true(want <= SEG_TITLE_MAX && want > SEG_TITLE_MAX - 4);
        check_title(s, d, f->value, want);
    }
    check_title(s, 16, "a short title", 13); /* kept whole */
    check_title(s, 17, "", 0);               /* no title field */
    check_title(s, 18, "", 0);               /* "title" is not text */
    const char *t;
    size_t len;
    assert_int_equal(seg_doc_title(s, 19, &t, &len), SD_ENOTFOUND);
    assert_int_equal(len, 0);
    seg_close(s);
}

static void test_seg_norms_monotonic_and_close(void **state)
{
    (void)state;
    uint8_t prev = 0;
    for (uint32_t n = 0; n < 5000000; n += n < 1000 ? 1 : 997) {
        uint8_t b = seg_norm_encode(n);
        uint32_t back = seg_norm_decode(b);
        assert_true(b >= prev);
        assert_true(back <= n);
        if (n < 24) {
            assert_int_equal(back, n);
        } else {
            assert_true((double)back >= (double)n * 0.875); /* 4 significant bits */
        }
        if (b < 255) {
            assert_true(seg_norm_decode((uint8_t)(b + 1)) > n);
        }
        prev = b;
    }
    assert_int_equal(seg_norm_encode(UINT32_MAX), 255);
    for (unsigned b = 1; b < 256; b++) {
        assert_true(seg_norm_decode((uint8_t)b) > seg_norm_decode((uint8_t)(b - 1)));
    }
}

/* ---- the block codec ---- */

static uint32_t lcg(uint64_t *x);

static void test_seg_codec_roundtrips_every_width(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (unsigned bits = 0; bits <= 32; bits++) {
        uint32_t in[SEG_BLOCK], out[SEG_BLOCK];
        uint8_t packed[16 * 32 + 1];
        uint64_t mask = bits == 32 ? UINT32_MAX : (1ull << bits) - 1;
        for (unsigned i = 0; i < SEG_BLOCK; i++) {
            in[i] = (uint32_t)((i == 5 ? UINT32_MAX : lcg(&seed) * 2654435761u) & mask);
        }
        assert_int_equal(seg_bits_max(in, SEG_BLOCK), bits);
        packed[16 * bits] = 0xAB; /* the byte after the block is never written */
        assert_int_equal(seg_pack(in, SEG_BLOCK, bits, packed), 16 * bits);
        assert_int_equal(packed[16 * bits], 0xAB);
        seg_unpack128(packed, bits, out);
        assert_memory_equal(in, out, sizeof in);
        uint64_t next = seg_unpack128_gaps(packed, bits, out, 10);
        uint64_t ref = 10;
        for (unsigned i = 0; i < SEG_BLOCK; i++) {
            ref += in[i];
            assert_int_equal(out[i], (uint32_t)ref);
            ref++;
        }
        assert_true(next == ref);
    }
}

/* Short runs (tail blocks): n values take exactly ceil(n*bits/8) bytes, and unpacking reads
 * only those (the buffer is malloc'd to that size, so ASan builds catch an over-read). */
static void test_seg_codec_short_runs_roundtrip_in_exact_bytes(void **state)
{
    (void)state;
    static const uint32_t counts[] = {1, 2, 3, 7, 8, 9, 127};
    uint64_t seed = 11;
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        uint32_t n = counts[c];
        for (unsigned bits = 0; bits <= 32; bits++) {
            uint32_t in[SEG_BLOCK], out[SEG_BLOCK];
            uint8_t packed[16 * 32 + 1];
            uint64_t mask = bits == 32 ? UINT32_MAX : (1ull << bits) - 1;
            for (uint32_t i = 0; i < n; i++) {
                in[i] = (uint32_t)((i == n - 1 ? UINT32_MAX : lcg(&seed) * 2654435761u) & mask);
            }
            size_t len = ((size_t)n * bits + 7) / 8;
            packed[len] = 0xAB;
            assert_int_equal(seg_pack(in, n, bits, packed), len);
            assert_int_equal(packed[len], 0xAB);
            uint8_t *exact = malloc(len ? len : 1);
            assert_non_null(exact);
            memcpy(exact, packed, len);
            seg_unpack(exact, n, bits, out);
            assert_memory_equal(in, out, n * sizeof *in);
            free(exact);
        }
    }
}

/* ---- a large term: several blocks ---- */

#define BIG_DOCS 3000

struct big {
    char ids[BIG_DOCS][16];
    char *bodies[BIG_DOCS];
    struct seg_field fields[BIG_DOCS][1];
    struct seg_doc docs[BIG_DOCS];
    uint32_t ref_docs[BIG_DOCS];
    uint32_t ref_tfs[BIG_DOCS];
    uint32_t nref;
};

static bool big_has(uint32_t i)
{
    return i % 3 == 0 || i % 7 == 0 || (i > 2000 && i < 2300);
}

static uint32_t big_tf(uint32_t i)
{
    return 1 + (i * 7) % 5 + (i == 999 ? 300 : 0);
}

/* "common" at every even position, tf times; the body length varies with i. */
static struct big *big_make(void)
{
    struct big *g = calloc(1, sizeof *g);
    assert_non_null(g);
    for (uint32_t i = 0; i < BIG_DOCS; i++) {
        size_t cap = 64 + 16 * 400;
        char *b = malloc(cap);
        assert_non_null(b);
        size_t len = 0;
        uint32_t tf = big_has(i) ? big_tf(i) : 0;
        for (uint32_t k = 0; k < tf; k++) {
            len += (size_t)snprintf(b + len, cap - len, "common x ");
        }
        for (uint32_t k = 0; k < i % 37; k++) {
            len += (size_t)snprintf(b + len, cap - len, "filler ");
        }
        len += (size_t)snprintf(b + len, cap - len, "doc%u", i);
        g->bodies[i] = b;
        snprintf(g->ids[i], sizeof g->ids[i], "big-%u", i);
        g->fields[i][0] = (struct seg_field){"body", 4, b, len, SEG_TEXT};
        g->docs[i] = (struct seg_doc){g->ids[i], strlen(g->ids[i]), g->fields[i], 1};
        if (tf) {
            g->ref_docs[g->nref] = i;
            g->ref_tfs[g->nref++] = tf;
        }
    }
    return g;
}

static void big_free(struct big *g)
{
    for (uint32_t i = 0; i < BIG_DOCS; i++) {
        free(g->bodies[i]);
    }
    free(g);
}

static uint32_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*x >> 33);
}

static struct seg_postings *open_common(const struct seg *s, unsigned flags)
{
    struct seg_term t;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, "common", 6, &t, &err), SD_OK);
    struct seg_postings *p;
    assert_int_equal(seg_postings_open(s, &t, flags, &p, &err), SD_OK);
    return p;
}

/* Index of the first reference doc >= target (nref if none). */
static uint32_t ref_lower(const struct big *g, uint32_t target)
{
    uint32_t k = 0;
    while (k < g->nref && g->ref_docs[k] < target) {
        k++;
    }
    return k;
}

/* The current doc has tf positions 0, step, 2 * step... */
static void check_positions_step(struct seg_postings *p, uint32_t tf, uint32_t step)
{
    const uint32_t *pos;
    uint32_t n;
    assert_int_equal(seg_postings_positions(p, &pos, &n), SD_OK);
    assert_int_equal(n, tf);
    for (uint32_t k = 0; k < n; k++) {
        assert_int_equal(pos[k], step * k);
    }
}

static void test_seg_postings_advance_matches_brute_force(void **state)
{
    (void)state;
    struct big *g = big_make();
    assert_true(g->nref > 3 * SEG_BLOCK);
    struct seg *s = open_docs(g->docs, BIG_DOCS);
    uint32_t docs[BIG_DOCS], tfs[BIG_DOCS];
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "common", docs, tfs, BIG_DOCS), (int)g->nref);
    assert_memory_equal(docs, g->ref_docs, g->nref * sizeof *docs);
    assert_memory_equal(tfs, g->ref_tfs, g->nref * sizeof *tfs);
    uint64_t seed = 12345;
    for (int round = 0; round < 200; round++) {
        struct seg_postings *p = open_common(s, SEG_WANT_POSITIONS);
        uint32_t cur = 0, k = 0;
        bool started = false;
        for (;;) {
            uint32_t got;
            if (lcg(&seed) % 3 == 0) {
                got = seg_postings_next(p);
                k = started ? k + 1 : 0;
            } else {
                uint32_t target = (started ? cur + 1 : 0) + lcg(&seed) % (1u << (round % 12));
                got = seg_postings_advance(p, target);
                k = ref_lower(g, target);
            }
            started = true;
            if (k >= g->nref) {
                assert_int_equal(got, SEG_DOC_END);
                break;
            }
            assert_int_equal(got, g->ref_docs[k]);
            assert_int_equal(seg_postings_freq(p), g->ref_tfs[k]);
            if (lcg(&seed) % 4 == 0) {
                check_positions_step(p, g->ref_tfs[k], 2);
            }
            cur = got;
        }
        assert_int_equal(seg_postings_next(p), SEG_DOC_END);
        assert_int_equal(seg_postings_error(p, NULL), SD_OK);
        seg_postings_free(p);
    }
    seg_close(s);
    big_free(g);
}

static void test_seg_block_bound_matches_blocks(void **state)
{
    (void)state;
    struct big *g = big_make();
    struct seg *s = open_docs(g->docs, BIG_DOCS);
    struct seg_postings *p = open_common(s, 0);
    for (uint32_t target = 0; target < BIG_DOCS + 5; target += 17) {
        uint32_t max_tf;
        uint8_t min_norm;
        uint32_t last = seg_postings_block_bound(p, target, &max_tf, &min_norm);
        uint32_t k = ref_lower(g, target);
        if (k >= g->nref) {
            assert_int_equal(last, SEG_DOC_END);
            continue;
        }
        uint32_t first = k / SEG_BLOCK * SEG_BLOCK;
        uint32_t end = first + SEG_BLOCK < g->nref ? first + SEG_BLOCK : g->nref;
        assert_int_equal(last, g->ref_docs[end - 1]);
        uint32_t mt = 0;
        uint8_t mn = 255;
        for (uint32_t j = first; j < end; j++) {
            mt = g->ref_tfs[j] > mt ? g->ref_tfs[j] : mt;
            uint8_t nb = seg_field_norm(s, g->ref_docs[j], 0);
            mn = nb < mn ? nb : mn;
        }
        assert_int_equal(max_tf, mt < 255 ? mt : SEG_TF_UNBOUNDED); /* doc 999 has tf 301 */
        assert_int_equal(min_norm, mn);
        /* the bound does not move the iterator */
        if (target % 5 == 0) {
            assert_int_equal(seg_postings_advance(p, target), g->ref_docs[k]);
        }
    }
    seg_postings_free(p);
    /* a small term: one block, bound computed from the decoded docs */
    struct seg_term t;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, "doc999", 6, &t, &err), SD_OK);
    assert_int_equal(seg_postings_open(s, &t, 0, &p, &err), SD_OK);
    uint32_t max_tf;
    uint8_t min_norm;
    assert_int_equal(seg_postings_block_bound(p, 0, &max_tf, &min_norm), 999);
    assert_int_equal(max_tf, 1);
    assert_int_equal(min_norm, seg_field_norm(s, 999, 0));
    assert_int_equal(seg_postings_next(p), 999);
    assert_int_equal(seg_postings_block_bound(p, 1000, &max_tf, &min_norm), SEG_DOC_END);
    seg_postings_free(p);
    seg_close(s);
    big_free(g);
}

/* DICT bytes as the format prescribes: the exact term states its positions length, the stem
 * (sorting after it: 's' > 'e') does not. */
static void test_seg_dict_stem_entry_has_no_positions_length(void **state)
{
    (void)state;
    static const struct seg_field f[] = {F("body", "cat")};
    static const struct seg_doc d[] = {DOC("c", f)};
    struct seg *s = open_docs(d, 1);
    /* clang-format off */
    static const uint8_t want[] = {
        0, 5, 0, 'e', 'c', 'a', 't', 1, 0, 2, 1, /* exact: ..., postings 2, positions 1 */
        1, 4, 's', 'c', 'a', 't', 1, 0, 2,       /* stem: ..., postings 2 */
    };
    /* clang-format on */
    assert_int_equal(s->sect[SEG_SECT_DICT].len, sizeof want);
    assert_memory_equal(s->sect[SEG_SECT_DICT].p, want, sizeof want);
    uint32_t docs[1], tfs[1];
    assert_int_equal(term_docs(s, "body", SEG_STEM, "cat", docs, tfs, 1), 1);
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "cat", docs, tfs, 1), 1);
    seg_close(s);
}

/* ---- tail blocks: lists of n docs, n % 128 packed short ---- */

/* The k-th doc of the "tail" term is reached by gap tail_gap(k) (mostly small, every 17th a
 * few hundred) and holds the word tail_tf(k) times (every 11th and the first of each block
 * 300 or more: past a skip entry's one-byte max tf). */
static uint32_t tail_gap(uint32_t k)
{
    return k % 17 == 5 ? 700 + k : k % 4;
}

static uint32_t tail_tf(uint32_t k)
{
    return k % 11 == 3 || k % SEG_BLOCK == 0 ? 300 + k : 1 + k % 6;
}

/* A segment whose "tail" term lies in n docs; docs[] and tfs[] get its postings. */
static struct seg *tail_segment(uint32_t n, uint32_t *docs, uint32_t *tfs)
{
    struct seg_builder *b;
    struct sd_error err = {0};
    assert_int_equal(seg_builder_new(g_stem, &b, &err), SD_OK);
    char *text = malloc(8 * 1024);
    assert_non_null(text);
    uint32_t doc = 0;
    for (uint32_t k = 0; k < n; k++) {
        for (uint32_t target = doc + tail_gap(k); doc <= target; doc++) {
            size_t len = 0;
            uint32_t tf = doc == target ? tail_tf(k) : 0;
            for (uint32_t j = 0; j < tf; j++) {
                len += (size_t)sprintf(text + len, "tail ");
            }
            len += (size_t)sprintf(text + len, "other");
            char id[16];
            snprintf(id, sizeof id, "t%u", doc);
            struct seg_field f = {"body", 4, text, len, SEG_TEXT};
            struct seg_doc d = {id, strlen(id), &f, 1};
            assert_int_equal(seg_builder_add(b, &d, &err), SD_OK);
        }
        docs[k] = doc - 1;
        tfs[k] = tail_tf(k);
    }
    free(text);
    return finish_open(b);
}

/* Postings bytes the format prescribes for a block of docs[first, first + n). */
static size_t block_len(const uint32_t *docs, const uint32_t *tfs, uint32_t first, uint32_t n)
{
    uint32_t gaps[SEG_BLOCK], tf1[SEG_BLOCK];
    uint8_t tmp[16];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t prev = first + i ? docs[first + i - 1] + 1 : 0;
        gaps[i] = docs[first + i] - prev;
        tf1[i] = tfs[first + i] - 1;
    }
    if (n == 1) {
        return sd_varint_encode(tmp, gaps[0]) + sd_varint_encode(tmp, tf1[0]);
    }
    unsigned b1 = seg_bits_max(gaps, n), b2 = seg_bits_max(tf1, n);
    return 2 + ((size_t)n * b1 + 7) / 8 + ((size_t)n * b2 + 7) / 8;
}

/* Block bounds: a long list's skip entries saturate at 255, a short list's bound is exact. */
static void check_tail_bounds(const struct seg *s, const struct seg_term *t, const uint32_t *docs,
                              const uint32_t *tfs, uint32_t n)
{
    struct seg_postings *p;
    struct sd_error err = {0};
    assert_int_equal(seg_postings_open(s, t, 0, &p, &err), SD_OK);
    for (uint32_t first = 0; first < n; first += SEG_BLOCK) {
        uint32_t end = n - first < SEG_BLOCK ? n : first + SEG_BLOCK, mt = 0, max_tf;
        for (uint32_t k = first; k < end; k++) {
            mt = tfs[k] > mt ? tfs[k] : mt;
        }
        assert_true(mt >= 300); /* every block holds a tf past the skip entry's byte */
        uint8_t min_norm;
        assert_int_equal(seg_postings_block_bound(p, docs[first], &max_tf, &min_norm),
                         docs[end - 1]);
        assert_int_equal(max_tf, n >= SEG_BLOCK ? SEG_TF_UNBOUNDED : mt);
    }
    seg_postings_free(p);
}

static void check_tail_list(uint32_t n)
{
    uint32_t *want_docs = malloc(n * sizeof *want_docs), *want_tfs = malloc(n * sizeof *want_tfs);
    uint32_t *docs = malloc(n * sizeof *docs), *tfs = malloc(n * sizeof *tfs);
    assert_true(want_docs && want_tfs && docs && tfs);
    struct seg *s = tail_segment(n, want_docs, want_tfs);
    for (int kind = 0; kind < 2; kind++) {
        const char *word = kind ? "tail" : stem_of("tail");
        enum seg_kind k = kind ? SEG_EXACT : SEG_STEM;
        assert_int_equal(term_docs(s, "body", k, word, docs, tfs, n), (int)n);
        assert_memory_equal(docs, want_docs, n * sizeof *docs);
        assert_memory_equal(tfs, want_tfs, n * sizeof *tfs);
    }
    struct seg_term t;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, "tail", 4, &t, &err), SD_OK);
    uint32_t nb = (n + SEG_BLOCK - 1) / SEG_BLOCK;
    size_t len = n >= SEG_BLOCK ? (size_t)nb * SEG_SKIP_ENTRY_LEN : 0;
    for (uint32_t first = 0; first < n; first += SEG_BLOCK) {
        len += block_len(want_docs, want_tfs, first, n - first < SEG_BLOCK ? n - first : SEG_BLOCK);
    }
    assert_int_equal(t.len, len); /* the tail is packed, not varints */
    check_tail_bounds(s, &t, want_docs, want_tfs, n);
    /* advance into the tail, with positions */
    struct seg_postings *p;
    assert_int_equal(seg_postings_open(s, &t, SEG_WANT_POSITIONS, &p, &err), SD_OK);
    uint32_t k = n - 1 - (n - 1) % 3;
    assert_int_equal(seg_postings_advance(p, want_docs[k]), want_docs[k]);
    for (; k < n; k++) {
        assert_int_equal(seg_postings_doc(p), want_docs[k]);
        assert_int_equal(seg_postings_freq(p), want_tfs[k]);
        check_positions_step(p, want_tfs[k], 1);
        seg_postings_next(p);
    }
    assert_int_equal(seg_postings_doc(p), SEG_DOC_END);
    assert_int_equal(seg_postings_error(p, NULL), SD_OK);
    seg_postings_free(p);
    seg_close(s);
    free(want_docs);
    free(want_tfs);
    free(docs);
    free(tfs);
}

static void test_seg_tail_blocks_roundtrip_packed(void **state)
{
    (void)state;
    static const uint32_t counts[] = {1, 2, 127, 129, 255, 256};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        check_tail_list(counts[i]);
    }
}

/* ---- images: files, memory, damage ---- */

static void test_seg_open_file_and_verify(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = build_image(g_docs, NDOCS, &len);
    char dir[] = "/tmp/seg_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sd_error err = {0};
    assert_int_equal(sd_write_file_new(dir, "seg-000001.seg", img, len, &err), SD_OK);
    assert_int_equal(sd_write_file_new(dir, "seg-000002.seg", img, len - 1, &err), SD_OK);
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/seg-000001.seg", dir);
    snprintf(bad, sizeof bad, "%s/seg-000002.seg", dir);
    struct seg *s;
    assert_int_equal(seg_open_file(path, &s, &err), SD_OK);
    assert_int_equal(seg_size_bytes(s), len);
    assert_true(seg_postings_bytes(s) > 0 && seg_postings_bytes(s) < len);
    uint32_t docs[4], tfs[4];
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "revolution", docs, tfs, 4), 1);
    seg_close(s);
    assert_int_equal(seg_verify_file(path, &err), SD_OK);
    assert_int_equal(seg_open_file(bad, &s, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "seg-000002.seg"));
    assert_int_equal(seg_verify_file(bad, &err), SD_ECORRUPT);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.seg", dir);
    assert_int_equal(seg_open_file(missing, &s, &err), SD_ENOTFOUND);
    unlink(path);
    unlink(bad);
    rmdir(dir);
    free(img);
}

static void test_seg_open_truncated_image_returns_corrupt(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = build_image(g_docs, NDOCS, &len);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        assert_non_null(copy);
        memcpy(copy, img, cut);
        struct seg *s = NULL;
        struct sd_error err = {0};
        assert_int_equal(seg_open_mem(copy, cut, "cut.seg", &s, &err), SD_ECORRUPT);
        assert_non_null(strstr(err.msg, "cut.seg"));
        assert_null(s);
    }
    free(img);
}

static void test_seg_open_flipped_byte_returns_corrupt(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = build_image(g_docs, NDOCS, &len);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit += 3) {
            uint8_t *copy = malloc(len);
            assert_non_null(copy);
            memcpy(copy, img, len);
            copy[i] ^= (uint8_t)(1u << bit);
            struct seg *s = NULL;
            struct sd_error err = {0};
            assert_int_equal(seg_open_mem(copy, len, "flip.seg", &s, &err), SD_ECORRUPT);
            assert_true(strlen(err.msg) > 0);
        }
    }
    free(img);
}

/* An image this process just made opens without the second checksum pass: the checksum is
 * not recomputed (a flipped postings byte still opens), every structural check still runs
 * (a cut image is refused), and the result reads as the verified open's does. */
/* A malloc'd copy of img[0, n), for the opens that take one. */
static uint8_t *copy_of(const uint8_t *img, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, img, n);
    return copy;
}

static void test_seg_open_written_skips_only_the_checksum(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = build_image(g_docs, NDOCS, &len);
    struct sd_error err = {0};
    struct seg *s = NULL;
    uint8_t *copy = copy_of(img, len);
    assert_int_equal(seg_open_mem_written(copy, len, "fresh.seg", &s, &err), SD_OK);
    uint32_t docs[4], tfs[4];
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "revolution", docs, tfs, 4), 1);
    /* the last byte of the last title: text, which no structural check reads */
    size_t text_at = s->sect[SEG_SECT_TITLES].off + s->sect[SEG_SECT_TITLES].len - 1;
    seg_close(s);
    copy = copy_of(img, len);
    copy[text_at] ^= 1;
    assert_int_equal(seg_open_mem_written(copy, len, "fresh.seg", &s, &err), SD_OK);
    seg_close(s);
    copy = copy_of(img, len);
    copy[text_at] ^= 1;
    assert_int_equal(seg_open_mem(copy, len, "found.seg", &s, &err), SD_ECORRUPT);
    for (size_t cut = 0; cut < len; cut += 7) {
        copy = copy_of(img, cut);
        s = NULL;
        assert_int_equal(seg_open_mem_written(copy, cut, "cut.seg", &s, &err), SD_ECORRUPT);
        assert_null(s);
    }
    char dir[] = "/tmp/seg_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(sd_write_file_new(dir, "seg-000001.seg", img, len, &err), SD_OK);
    char path[256];
    snprintf(path, sizeof path, "%s/seg-000001.seg", dir);
    assert_int_equal(seg_open_file_written(path, &s, &err), SD_OK);
    assert_int_equal(seg_size_bytes(s), len);
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "revolution", docs, tfs, 4), 1);
    seg_close(s);
    unlink(path);
    rmdir(dir);
    free(img);
}

static int walk_term(void *arg, const char *term, size_t len, const struct seg_term *t)
{
    (void)term;
    (void)len;
    const struct seg *s = arg;
    struct seg_postings *p;
    struct sd_error err;
    if (seg_postings_open(s, t, SEG_WANT_POSITIONS, &p, &err) != SD_OK) {
        return 0;
    }
    uint32_t mt;
    uint8_t mn;
    (void)seg_postings_block_bound(p, 5, &mt, &mn);
    uint32_t n = 0;
    for (uint32_t d = seg_postings_next(p); d != SEG_DOC_END; d = seg_postings_next(p)) {
        assert_true(d < seg_doc_count(s));
        const uint32_t *pos;
        uint32_t cnt;
        (void)seg_postings_positions(p, &pos, &cnt);
        if (++n % 3 == 0) {
            (void)seg_postings_advance(p, d + 100);
        }
    }
    seg_postings_free(p);
    return 0;
}

/* Everything a query could touch, for the damage tests: must never crash. */
static void walk_all(const struct seg *s)
{
    struct sd_error err;
    for (unsigned f = 0; f < seg_field_count(s); f++) {
        (void)seg_term_prefix(s, f, SEG_EXACT, "", 0, walk_term, (void *)s, &err);
        (void)seg_term_prefix(s, f, SEG_STEM, "", 0, walk_term, (void *)s, &err);
        struct seg_term t;
        (void)seg_term_find(s, f, SEG_EXACT, "common", 6, &t, &err);
        (void)seg_field_len(s, 0, f);
    }
    for (uint32_t d = 0; d < seg_doc_count(s); d++) {
        struct seg_stored st;
        if (d % 16 == 0 || d + 1 == seg_doc_count(s)) { /* each stored block, cheaply */
            (void)seg_doc_load(s, d, &st, &err);
            seg_stored_free(&st);
        }
        const char *id;
        size_t len;
        uint32_t found;
        seg_doc_id(s, d, &id, &len);
        (void)seg_doc_find(s, id, len, &found);
    }
}

static void damage_behind_checksum(const uint8_t *img, size_t len, size_t stride)
{
    for (size_t i = 0; i + SEG_FOOTER_TAIL_LEN < len; i += stride) {
        for (int pattern = 0; pattern < 3; pattern++) {
            uint8_t *copy = malloc(len);
            assert_non_null(copy);
            memcpy(copy, img, len);
            copy[i] = pattern == 0 ? (uint8_t)(copy[i] ^ 0x80) : pattern == 1 ? 0xff : 0x00;
            sd_put_le64(copy + len - 16, sd_hash64(copy, len - 16));
            struct seg *s = NULL;
            struct sd_error err = {0};
            if (seg_open_mem(copy, len, "fuzz.seg", &s, &err) == SD_OK) {
                walk_all(s);
                seg_close(s);
            } else {
                assert_true(strlen(err.msg) > 0);
            }
        }
    }
}

static void test_seg_damage_behind_valid_checksum_never_crashes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = build_image(g_docs, NDOCS, &len);
    damage_behind_checksum(img, len, 1);
    free(img);
    struct big *g = big_make();
    img = build_image(g->docs, 400, &len);
    damage_behind_checksum(img, len, 29);
    free(img);
    big_free(g);
}

/* Version 1 never shipped, so this reader takes v2 only; a newer version is refused too. */
static void test_seg_open_mem_rejects_other_versions(void **state)
{
    (void)state;
    const unsigned versions[] = {1, SEG_FORMAT_VERSION + 1};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        uint8_t *img = build_image(g_docs, NDOCS, &len);
        sd_put_le16(img + 4, (uint16_t)versions[i]);
        struct seg *s;
        struct sd_error err = {0};
        assert_int_equal(seg_open_mem(img, len, "other.seg", &s, &err), SD_ECORRUPT);
        char want[64];
        snprintf(want, sizeof want, "format version %u", versions[i]);
        assert_non_null(strstr(err.msg, want));
    }
}

/* The exact forms in memory: field by field, the terms and document frequencies that the
 * dictionary walk gives, as the paths of a trie whose children are contiguous and in byte
 * order; built once and shared, even by threads that ask at the same time. */
struct dfs {
    struct walk w;
    uint32_t df[64];
};

static int collect_df(void *arg, const char *term, size_t len, const struct seg_term *t)
{
    struct dfs *d = arg;
    d->df[d->w.n] = t->df;
    return collect(&d->w, term, len, t);
}

/* Every term of field f under node x (whose path is path[0, len)), depth first, into d;
 * checks that the children of each node ascend in byte order and that the last is marked. */
static void trie_terms(const struct seg_exact_terms *t, unsigned f, uint32_t x, char *path,
                       size_t len, struct dfs *d)
{
    const struct seg_trie_node *nd = &t->nodes[x];
    if (nd->ch & SEG_TRIE_TERM) {
        assert_true(t->term[x] < t->count);
        struct seg_term term = {.df = t->df[(size_t)t->term[x] * t->nfields + f]};
        if (term.df > 0) {
            collect_df(d, path, len, &term);
        }
    }
    uint32_t prev = 0;
    for (uint32_t c = nd->kids; c != 0; c++) {
        assert_true(c < t->nnodes);
        const struct seg_trie_node *kid = &t->nodes[c];
        assert_true(len + 4 < 64);
        size_t clen = seg_trie_char_bytes(kid->ch, path + len);
        uint32_t cp;
        assert_int_equal(seg_utf8_next((unsigned char *)path, len + clen, len, &cp), clen);
        assert_int_equal(cp, kid->ch & SEG_TRIE_CP);
        uint32_t first = (uint8_t)path[len];
        assert_true(c == nd->kids || first >= prev);
        prev = first;
        trie_terms(t, f, c, path, len + clen, d);
        if (kid->ch & SEG_TRIE_LAST) {
            break;
        }
    }
}

static void *ask_exact_terms(void *arg)
{
    const struct seg_exact_terms *t = NULL;
    struct sd_error err = {0};
    assert_int_equal(seg_exact_terms(arg, &t, &err), SD_OK);
    return (void *)t;
}

/* Atomic: the segment charges from whichever search thread fills its caches. */
static bool count_charge(void *arg, int64_t delta)
{
    atomic_fetch_add((_Atomic int64_t *)arg, delta);
    return true;
}

/* A memory limit with no room: refuses every charge, counts the refusals and the bytes told
 * back (which must be none). */
struct refusals {
    _Atomic int64_t refused, given_back;
};

static bool refuse_charge(void *arg, int64_t delta)
{
    struct refusals *r = arg;
    if (delta > 0) {
        atomic_fetch_add(&r->refused, 1);
        return false;
    }
    atomic_fetch_add(&r->given_back, -delta);
    return true;
}

static void test_seg_exact_terms_match_the_dictionary(void **state)
{
    (void)state;
    struct seg *s = open_docs(g_docs, NDOCS);
    struct sd_error err = {0};
    _Atomic int64_t charged = 0;
    seg_set_charge(s, count_charge, &charged);
    assert_int_equal(seg_exact_terms_bytes(s), 0); /* nothing before the first use */
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, ask_exact_terms, s), 0);
    }
    const struct seg_exact_terms *t = NULL;
    for (int i = 0; i < 4; i++) {
        void *got;
        pthread_join(th[i], &got);
        assert_true(t == NULL || got == t); /* one table wins; the others were freed */
        t = got;
    }
    const struct seg_exact_terms *again = NULL;
    assert_int_equal(seg_exact_terms(s, &again, &err), SD_OK);
    assert_ptr_equal(again, t);
    assert_true(seg_exact_terms_bytes(s) >= t->nnodes * sizeof *t->nodes);
    assert_int_equal(charged, (int64_t)seg_exact_terms_bytes(s)); /* once, by the winner */
    unsigned nf = seg_field_count(s);
    assert_int_equal(t->nfields, nf);
    size_t terms = 0, shared = 0;
    assert_int_equal(t->root, 0);
    assert_false(t->nodes[0].ch & SEG_TRIE_TERM); /* no empty term */
    for (unsigned f = 0; f < nf; f++) {
        struct dfs d = {0}, got = {0};
        assert_int_equal(seg_term_prefix(s, f, SEG_EXACT, "", 0, collect_df, &d, &err), SD_OK);
        char path[64];
        trie_terms(t, f, t->root, path, 0, &got);
        assert_int_equal(got.w.n, d.w.n);
        for (size_t i = 0; i < d.w.n; i++) {
            assert_string_equal(got.w.terms[i], d.w.terms[i]);
            assert_int_equal(got.df[i], d.df[i]);
        }
        terms += d.w.n;
    }
    /* a form in several fields is one term: title's words are body's too */
    for (uint32_t i = 0; i < t->count; i++) {
        unsigned in = 0;
        for (unsigned f = 0; f < nf; f++) {
            in += t->df[(size_t)i * nf + f] > 0;
        }
        assert_true(in >= 1);
        shared += in - 1;
    }
    assert_true(shared > 0);
    assert_int_equal(t->count + shared, terms);
    /* the node of "ind", and the two terms of body under it */
    unsigned body = (unsigned)seg_field_find(s, "body", 4);
    uint32_t x = t->root;
    for (const char *p = "ind"; *p; p++) {
        uint32_t c = t->nodes[x].kids;
        while (c != 0 && (t->nodes[c].ch & SEG_TRIE_CHAR) != seg_trie_char((uint8_t)*p, 1)) {
            c = t->nodes[c].ch & SEG_TRIE_LAST ? 0 : c + 1;
        }
        assert_int_not_equal(c, 0);
        x = c;
    }
    struct dfs under = {0};
    char path[64] = "ind";
    trie_terms(t, body, x, path, 3, &under);
    assert_int_equal(under.w.n, 2);
    assert_string_equal(under.w.terms[0], "industrial");
    assert_string_equal(under.w.terms[1], "industry");
    seg_close(s);
    assert_int_equal(charged, 0); /* given back at close */
}

/* ---- the memo (seg_memo.c) ---- */

static void test_seg_memo_remembers_the_first_put_bounded_and_charged(void **state)
{
    (void)state;
    struct seg *s = open_docs(g_docs, NDOCS);
    _Atomic int64_t charged = 0;
    seg_set_charge(s, count_charge, &charged);
    const void *val = NULL;
    size_t len = 7;
    assert_false(seg_memo_get(s, "k", 1, &val, &len)); /* nothing before the first put */
    assert_int_equal(seg_memo_bytes(s), 0);
    assert_int_equal(seg_memo_put(s, "k", 1, "first", 5), SD_OK);
    assert_int_equal(seg_memo_put(s, "k", 1, "second", 6), SD_OK); /* the first stays */
    assert_int_equal(seg_memo_put(s, "k2", 2, "", 0), SD_OK);      /* an empty value */
    assert_true(seg_memo_get(s, "k", 1, &val, &len));
    assert_int_equal(len, 5);
    assert_memory_equal(val, "first", 5);
    assert_true(seg_memo_get(s, "k2", 2, &val, &len));
    assert_int_equal(len, 0);
    assert_false(seg_memo_get(s, "k3", 2, &val, &len));
    assert_false(seg_memo_get(s, "kk", 2, &val, &len)); /* same length, other bytes */
    static char big[SEG_MEMO_MAX_BYTES + 1];
    assert_int_equal(seg_memo_put(s, big, sizeof big, "v", 1), SD_ELIMIT);
    assert_int_equal(seg_memo_put(s, "k4", 2, big, sizeof big), SD_ELIMIT);
    /* bounded: once full, new keys are refused and the old ones still found */
    int rc = SD_OK;
    unsigned n = 0;
    for (; n < 100000 && rc == SD_OK; n++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "key %u", n);
        rc = seg_memo_put(s, key, (size_t)klen, &n, sizeof n);
    }
    assert_int_equal(rc, SD_ELIMIT);
    assert_true(n > 1000 && n < 100000);
    for (unsigned i = 0; i + 1 < n; i++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "key %u", i);
        assert_true(seg_memo_get(s, key, (size_t)klen, &val, &len));
        assert_int_equal(len, sizeof i);
        assert_memory_equal(val, &i, sizeof i);
    }
    assert_true(seg_memo_get(s, "k", 1, &val, &len));
    assert_memory_equal(val, "first", 5);
    assert_true(seg_memo_bytes(s) > (n - 1) * (sizeof n + 5));
    assert_int_equal(charged, (int64_t)seg_memo_bytes(s)); /* every byte told */
    seg_close(s);
    assert_int_equal(charged, 0); /* and given back */
}

/* Four threads put and get the same 512 keys at once: every get finds its key's one value. */
static void *memo_worker(void *arg)
{
    struct seg *s = arg;
    for (unsigned round = 0; round < 4; round++) {
        for (unsigned i = 0; i < 512; i++) {
            char key[16];
            int klen = snprintf(key, sizeof key, "w%u", i);
            unsigned v = i * 7 + 1;
            if (seg_memo_put(s, key, (size_t)klen, &v, sizeof v) != SD_OK) {
                return (void *)1;
            }
            const void *val = NULL;
            size_t len = 0;
            if (!seg_memo_get(s, key, (size_t)klen, &val, &len) || len != sizeof v ||
                memcmp(val, &v, sizeof v) != 0) {
                return (void *)2;
            }
        }
    }
    return NULL;
}

static void test_seg_memo_concurrent_puts_and_gets(void **state)
{
    (void)state;
    struct seg *s = open_docs(g_docs, NDOCS);
    _Atomic int64_t charged = 0;
    seg_set_charge(s, count_charge, &charged);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, memo_worker, s), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *got;
        pthread_join(th[i], &got);
        assert_null(got);
    }
    assert_int_equal(charged, (int64_t)seg_memo_bytes(s)); /* the losers' copies not charged */
    seg_close(s);
    assert_int_equal(charged, 0);
}

/* When the charge is refused the caches keep nothing: each walk gets a build of its own (the
 * same forms), freed by seg_exact_terms_release (ASan: no leak), and a memo put is SD_ELIMIT. */
static void test_seg_caches_refused_by_the_charge_are_not_kept(void **state)
{
    (void)state;
    struct seg *s = open_docs(g_docs, NDOCS);
    struct refusals r = {0};
    seg_set_charge(s, refuse_charge, &r);
    struct sd_error err = {0};
    const struct seg_exact_terms *a = NULL, *b = NULL;
    assert_int_equal(seg_exact_terms(s, &a, &err), SD_OK);
    assert_int_equal(seg_exact_terms(s, &b, &err), SD_OK);
    assert_ptr_not_equal(a, b); /* built twice: the first was not kept */
    assert_int_equal(a->count, b->count);
    assert_null(seg_exact_terms_built(s));
    assert_int_equal(seg_exact_terms_bytes(s), 0);
    seg_exact_terms_release(s, a);
    seg_exact_terms_release(s, b);
    assert_int_equal(seg_memo_put(s, "k", 1, "v", 1), SD_ELIMIT);
    const void *val = NULL;
    size_t len = 0;
    assert_false(seg_memo_get(s, "k", 1, &val, &len));
    assert_int_equal(seg_memo_bytes(s), 0);
    assert_int_equal(r.refused, 3); /* two builds and the memo's table */
    /* a kept build is not freed by a release */
    _Atomic int64_t charged = 0;
    seg_set_charge(s, count_charge, &charged);
    assert_int_equal(seg_exact_terms(s, &a, &err), SD_OK);
    seg_exact_terms_release(s, a);
    assert_ptr_equal(seg_exact_terms_built(s), a);
    assert_int_equal(charged, (int64_t)seg_exact_terms_bytes(s));
    seg_close(s);
    assert_int_equal(charged, 0);
    assert_int_equal(r.given_back, 0);
}

/* Text of n words for test_seg_analysis_build_bytes_bound_one_document: kind 'u' words none
 * of which repeats (a new term per token: the builder's worst case), 's' two-character ones
 * (the most tokens per byte), 'p' a few repeated often, as prose has. */
static char *doc_words(char kind, size_t n)
{
    char *text = malloc(n * 8 + 1), *p = text;
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        if (kind == 's') {
            p += sprintf(p, "%c%c ", 'a' + (int)(x >> 16) % 26, 'a' + (int)(x >> 8) % 26);
        } else if (kind == 'p') {
            p += sprintf(p, "w%u ", (unsigned)(x >> 16) % 300);
        } else {
            for (int k = 0; k < 6; k++) {
                *p++ = (char)('a' + (int)((i >> (k * 4)) + (size_t)k * 7 + (x >> 20)) % 26);
            }
            *p++ = ' ';
        }
    }
    *p = 0;
    return text;
}

/* seg_analysis_build_bytes bounds what one document grows a fresh builder by, beyond the
 * builder's first allocations and one arena block (the engine's memory limit relies on it:
 * engine/memcap.c, THE BOUND). */
static void test_seg_analysis_build_bytes_bound_one_document(void **state)
{
    (void)state;
    static const struct {
        char kind;
        size_t words;
    } docs[] = {{'u', 3000}, {'u', 30000}, {'s', 20000}, {'p', 20000}, {'u', 1}};
    struct seg_analyzer *az;
    struct seg_analysis *an;
    struct sd_error err = {0};
    assert_int_equal(seg_analyzer_new(g_stem, &az, &err), SD_OK);
    assert_int_equal(seg_analysis_new(&an, &err), SD_OK);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        char *text = doc_words(docs[i].kind, docs[i].words);
        struct seg_field f = {
            .name = "body", .name_len = 4, .value = text, .value_len = strlen(text)};
        struct seg_doc d = {.id = "d", .id_len = 1, .fields = &f, .nfields = 1};
        assert_int_equal(seg_analyze(az, &d, an, &err), SD_OK);
        struct seg_builder *b;
        size_t bound = (size_t)1 << 20; /* the builder of a 16 MiB memory limit */
        assert_int_equal(seg_builder_new_bounded(g_stem, bound, &b, &err), SD_OK);
        size_t empty = seg_builder_mem_bytes(b);
        assert_int_equal(seg_builder_add_analyzed(b, an, &err), SD_OK);
        size_t grew = seg_builder_mem_bytes(b) - empty, est = seg_analysis_build_bytes(an);
        print_message("%c x %zu: %zu bytes of text grew the builder by %zu, estimate %zu\n",
                      docs[i].kind, docs[i].words, f.value_len, grew, est);
        assert_true(grew <= est + bound / 8 + (64 << 10)); /* + the first block and buffers */
        seg_builder_free(b);
        free(text);
    }
    seg_analysis_free(an);
    seg_analyzer_free(az);
}

/* The trie t of seg_exact_terms_of(terms, df, n) gives back every term, byte for byte, with its
 * df, in order, both by walking it and by looking each term up. */
static void assert_trie_holds(const struct seg_exact_terms *t, const char *const *terms,
                              const uint32_t *df, size_t n)
{
    struct dfs got = {0};
    char path[64];
    trie_terms(t, 0, t->root, path, 0, &got);
    assert_int_equal(got.w.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got.w.terms[i], terms[i]);
        assert_int_equal(got.df[i], df[i]);
        assert_int_equal(seg_exact_terms_df(t, 0, terms[i], strlen(terms[i])), df[i]);
    }
}

/* The table of a sorted list: shared prefixes are shared nodes, a term may end inside
 * another, and a byte that starts no valid sequence is a character of its own (with the
 * bytes after it deciding, term by term, how it splits). Out-of-order, repeated or empty
 * terms are refused. */
static void test_seg_exact_terms_of_sorted_terms(void **state)
{
    (void)state;
    static const char *const terms[] = {"a",       "ab",           "abc",     "abd",
                                        "a\xd0x", "a\xd0\xb0", "a\xd0\xc3\xa9", "b"};
    static const uint32_t df[] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n = sizeof terms / sizeof terms[0];
    struct seg_exact_terms *t = NULL;
    assert_int_equal(seg_exact_terms_of(terms, df, n, &t), SD_OK);
    assert_int_equal(t->count, n);
    assert_int_equal(t->nfields, 1);
    assert_int_equal(t->root, 0);
    /* root, a, b, c, d, the stray 0xD0 twice (its bytes after it split otherwise), "x", "а",
     * "é" and b */
    assert_int_equal(t->nnodes, 11);
    assert_trie_holds(t, terms, df, n);
    seg_exact_terms_free(t);
    static const char *const unsorted[] = {"b", "a"};
    static const char *const twice[] = {"a", "a"};
    static const char *const empty[] = {""};
    assert_int_equal(seg_exact_terms_of(unsorted, df, 2, &t), SD_ECORRUPT);
    assert_int_equal(seg_exact_terms_of(twice, df, 2, &t), SD_ECORRUPT);
    assert_int_equal(seg_exact_terms_of(empty, df, 1, &t), SD_ECORRUPT);
    assert_int_equal(seg_exact_terms_of(NULL, df, 0, &t), SD_OK);
    assert_int_equal(t->count, 0);
    assert_int_equal(t->nnodes, 1); /* the root alone */
    assert_int_equal(t->nodes[0].kids, 0);
    seg_exact_terms_free(t);
}

/* A node keeps no bytes, only a code point and a length: every term still comes back byte for
 * byte, overlong, beyond U+10FFFF and stray bytes (0xF5-0xFF start no sequence) included, and
 * is found by its bytes. */
static void test_seg_exact_terms_give_back_every_byte(void **state)
{
    (void)state;
    static const char *const terms[] = {"\x7f",
                                        "\xc2\x80",
                                        "\xe0\x80\x80",
                                        "\xef\xbf\xbf",
                                        "\xf0\x9f\x98\x80",
                                        "\xf4\x90\x80\x80",
                                        "\xf8\x80\x80\x80",
                                        "\xff\xfe"};
    static const uint32_t df[] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n = sizeof terms / sizeof terms[0];
    struct seg_exact_terms *t = NULL;
    assert_int_equal(seg_exact_terms_of(terms, df, n, &t), SD_OK);
    assert_trie_holds(t, terms, df, n);
    assert_int_equal(seg_exact_terms_df(t, 0, "\xf8\x80\x80", 3), 0);
    seg_exact_terms_free(t);
}

static void test_seg_empty_segment_works(void **state)
{
    (void)state;
    struct seg *s = open_docs(NULL, 0);
    assert_int_equal(seg_doc_count(s), 0);
    assert_int_equal(seg_field_count(s), 0);
    struct seg_term t;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, "a", 1, &t, &err), SD_ENOTFOUND);
    struct walk w = {0};
    assert_int_equal(seg_term_prefix(s, 0, SEG_EXACT, "", 0, collect, &w, &err), SD_OK);
    assert_int_equal(w.n, 0);
    uint32_t d;
    assert_int_equal(seg_doc_find(s, "x", 1, &d), SD_ENOTFOUND);
    assert_int_equal(seg_field_find(s, "body", 4), -1);
    seg_close(s);
}

/* ---- builder validation ---- */

static int add_fields(struct seg_builder *b, const char *id, struct seg_field *fs, size_t n,
                      struct sd_error *err)
{
    struct seg_doc d = {id, strlen(id), fs, n};
    return seg_builder_add(b, &d, err);
}

static void test_seg_builder_rejects_bad_docs_unchanged(void **state)
{
    (void)state;
    struct seg_builder *b;
    struct sd_error err = {0};
    assert_int_equal(seg_builder_new(g_stem, &b, &err), SD_OK);
    struct seg_field fs[SEG_MAX_FIELDS + 1];
    char names[SEG_MAX_FIELDS + 1][16];
    fs[0] = (struct seg_field){"", 0, "x", 1, SEG_TEXT};
    assert_int_equal(add_fields(b, "a", fs, 1, &err), SD_EINVAL);
    char longname[SEG_MAX_NAME + 1];
    memset(longname, 'n', sizeof longname);
    fs[0] = (struct seg_field){longname, sizeof longname, "x", 1, SEG_TEXT};
    assert_int_equal(add_fields(b, "a", fs, 1, &err), SD_EINVAL);
    fs[0] = (struct seg_field){"t", 1, "x", 1, SEG_TEXT};
    fs[1] = (struct seg_field){"t", 1, "y", 1, SEG_RAW};
    assert_int_equal(add_fields(b, "a", fs, 2, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "duplicate"));
    assert_int_equal(add_fields(b, "", fs, 1, &err), SD_EINVAL);
    fs[0].type = 7;
    assert_int_equal(add_fields(b, "a", fs, 1, &err), SD_EINVAL);
    for (int i = 0; i <= SEG_MAX_FIELDS; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        fs[i] = (struct seg_field){names[i], strlen(names[i]), "word", 4, SEG_TEXT};
    }
    assert_int_equal(add_fields(b, "a", fs, SEG_MAX_FIELDS + 1, &err), SD_ELIMIT);
    assert_int_equal(seg_builder_doc_count(b), 0);
    /* 255 distinct names per segment: the 256th is refused, the doc is not added */
    char many[4 * SEG_MAX_FIELDS][16];
    for (int d = 0; d < 4; d++) {
        for (int i = 0; i < SEG_MAX_FIELDS; i++) {
            snprintf(many[d * SEG_MAX_FIELDS + i], 16, "g%d", d * SEG_MAX_FIELDS + i);
            fs[i] = (struct seg_field){many[d * SEG_MAX_FIELDS + i],
                                       strlen(many[d * SEG_MAX_FIELDS + i]), "w", 1, SEG_TEXT};
        }
        char id[16];
        snprintf(id, sizeof id, "d%d", d);
        assert_int_equal(add_fields(b, id, fs, SEG_MAX_FIELDS, &err), d < 3 ? SD_OK : SD_ELIMIT);
    }
    assert_int_equal(seg_builder_doc_count(b), 3);
    fs[0] = (struct seg_field){"body", 4, "hello", 5, SEG_TEXT};
    assert_int_equal(add_fields(b, "ok", fs, 1, &err), SD_OK);
    struct seg *s = finish_open(b);
    assert_int_equal(seg_doc_count(s), 4);
    assert_int_equal(seg_field_count(s), 3 * SEG_MAX_FIELDS + 1);
    assert_string_equal(seg_field_name(s, 3 * SEG_MAX_FIELDS), "body");
    uint32_t docs[4], tfs[4];
    assert_int_equal(term_docs(s, "body", SEG_EXACT, "hello", docs, tfs, 4), 1);
    assert_int_equal(docs[0], 3);
    seg_close(s);
}


/* ---- issue 15, item 6: checks behind a valid checksum ---- */

/* A term's df above the document count is refused when its postings are
 * opened (seg_post.c check_term); a df equal to it is a term in every doc. */
static void test_issue_15_term_df_above_doc_count_is_corrupt(void **state)
{
    (void)state;
    struct seg_field f[3][1] = {{{"body", 4, "every one", 9, SEG_TEXT}},
                                {{"body", 4, "every two", 9, SEG_TEXT}},
                                {{"body", 4, "every three", 11, SEG_TEXT}}};
    struct seg_doc docs[3] = {{"a", 1, f[0], 1}, {"b", 1, f[1], 1}, {"c", 1, f[2], 1}};
    struct seg *s = open_docs(docs, 3);
    struct seg_term t;
    struct seg_postings *p = NULL;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, "every", 5, &t, &err), SD_OK);
    assert_int_equal(t.df, 3);
    assert_int_equal(seg_postings_open(s, &t, 0, &p, &err), SD_OK);
    uint32_t n = 0;
    for (uint32_t d = seg_postings_next(p); d != SEG_DOC_END; d = seg_postings_next(p)) {
        n++;
    }
    assert_int_equal(n, 3);
    seg_postings_free(p);
    t.df = 4; /* as a damaged dictionary entry would say */
    p = NULL;
    assert_int_equal(seg_postings_open(s, &t, 0, &p, &err), SD_ECORRUPT);
    assert_null(p);
    seg_close(s);
}

/* Walks a term to the end; returns the iterator's sticky status. */
static int walk_status(const struct seg *s, const char *term, uint32_t *count)
{
    struct seg_term t;
    struct seg_postings *p;
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, term, strlen(term), &t, &err), SD_OK);
    assert_int_equal(seg_postings_open(s, &t, 0, &p, &err), SD_OK);
    *count = 0;
    for (uint32_t d = seg_postings_next(p); d != SEG_DOC_END; d = seg_postings_next(p)) {
        (*count)++;
    }
    int rc = seg_postings_error(p, &err);
    seg_postings_free(p);
    return rc;
}

/* A skip entry whose last doc is not its block's last doc (seg_post.c:
 * `p->docs[p->n - 1] != sd_get_le32(e)`) stops the walk with an error. Lowered
 * by one, the next block's docs would shift by one and still look sound. */
static void test_issue_15_skip_entry_last_doc_mismatch_is_corrupt(void **state)
{
    (void)state;
    struct big *g = big_make();
    size_t len;
    uint8_t *img = build_image(g->docs, BIG_DOCS, &len);
    struct seg *s = open_image(img, len);
    struct seg_term t;
    struct sd_error err = {0};
    uint32_t n;
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, "common", 6, &t, &err), SD_OK);
    assert_true(t.df > 2 * SEG_BLOCK);
    assert_int_equal(walk_status(s, "common", &n), SD_OK);
    assert_int_equal(n, g->nref);
    seg_close(s);
    uint8_t *copy = copy_of(img, len);
    sd_put_le32(copy + t.off, sd_get_le32(copy + t.off) - 1); /* entry 0's last doc */
    sd_put_le64(copy + len - 16, sd_hash64(copy, len - 16));
    struct seg *bad = NULL;
    assert_int_equal(seg_open_mem(copy, len, "damaged", &bad, &err), SD_OK);
    assert_int_equal(walk_status(bad, "common", &n), SD_ECORRUPT);
    seg_close(bad);
    free(img);
    big_free(g);
}

/* Builds n docs, "mark" in the docs listed in has[] ("blank" elsewhere); returns the image
 * and the term. */
static uint8_t *mark_image(uint32_t n, const uint32_t *has, size_t nhas, size_t *len,
                           struct seg_term *t)
{
    struct seg_field *f = calloc(n, sizeof *f);
    struct seg_doc *docs = calloc(n, sizeof *docs);
    char(*ids)[16] = calloc(n, sizeof *ids);
    assert_true(f && docs && ids);
    for (uint32_t i = 0; i < n; i++) {
        bool marked = false;
        for (size_t k = 0; k < nhas; k++) {
            marked |= has[k] == i;
        }
        f[i] = (struct seg_field){"body", 4, marked ? "mark" : "blank", marked ? 4u : 5u, SEG_TEXT};
        snprintf(ids[i], sizeof ids[i], "m%u", i);
        docs[i] = (struct seg_doc){ids[i], strlen(ids[i]), &f[i], 1};
    }
    uint8_t *img = build_image(docs, n, len);
    struct seg *s = open_image(img, *len);
    struct sd_error err = {0};
    assert_int_equal(seg_term_find(s, 0, SEG_EXACT, "mark", 4, t, &err), SD_OK);
    assert_int_equal(t->df, nhas);
    seg_close(s);
    free(f);
    free(docs);
    free(ids);
    return img;
}

static int walk_copy(const uint8_t *img, size_t len, uint32_t *count)
{
    struct sd_error err = {0};
    struct seg *s = NULL;
    uint8_t *copy = copy_of(img, len);
    sd_put_le64(copy + len - 16, sd_hash64(copy, len - 16));
    assert_int_equal(seg_open_mem(copy, len, "damaged", &s, &err), SD_OK);
    int rc = walk_status(s, "mark", count);
    seg_close(s);
    return rc;
}

/* A tail block (2 <= n < 128 docs) whose last doc is the document count, one past the last
 * doc (seg_post.c decode_tail: `next - 1 < doc_count`), is corrupt. */
static void test_issue_15_tail_block_last_doc_equal_to_doc_count_is_corrupt(void **state)
{
    (void)state;
    static const uint32_t has[] = {0, 9};
    struct seg_term t;
    size_t len;
    uint32_t n;
    uint8_t *img = mark_image(10, has, 2, &len, &t);
    assert_int_equal(walk_copy(img, len, &n), SD_OK);
    assert_int_equal(n, 2);
    uint8_t *in = img + t.off;     /* no skip table: width of the gaps, of the tfs, then gaps */
    assert_int_equal(in[0], 4);    /* gaps 0 and 8 */
    assert_int_equal(in[2], 0x80); /* gap 1 in bits 4-7 */
    in[2] |= 0x10;                 /* gap 9: doc 0 + 9 + 1 = 10, the document count */
    assert_int_equal(walk_copy(img, len, &n), SD_ECORRUPT);
    free(img);
}

/* The same for a full packed block (decode_packed), with its skip entry saying the same
 * last doc, so only the block's own bound can tell. */
static void test_issue_15_packed_block_last_doc_equal_to_doc_count_is_corrupt(void **state)
{
    (void)state;
    uint32_t has[SEG_BLOCK];
    for (uint32_t i = 0; i < SEG_BLOCK - 1; i++) {
        has[i] = i;
    }
    has[SEG_BLOCK - 1] = 129; /* 130 docs; the last gap is 2 */
    struct seg_term t;
    size_t len;
    uint32_t n;
    uint8_t *img = mark_image(130, has, SEG_BLOCK, &len, &t);
    assert_int_equal(walk_copy(img, len, &n), SD_OK);
    assert_int_equal(n, SEG_BLOCK);
    uint8_t *e = img + t.off; /* one skip entry, then the block */
    assert_int_equal(sd_get_le32(e), 129);
    assert_int_equal(sd_get_le32(e + 4), 0);
    uint8_t *in = e + SEG_SKIP_ENTRY_LEN;
    assert_int_equal(in[0], 2);
    assert_int_equal(in[2 + 31] >> 6, 2); /* value 127 in bits 254-255 */
    in[2 + 31] |= 0x40;                   /* gap 3: doc 130 */
    sd_put_le32(e, 130);
    assert_int_equal(walk_copy(img, len, &n), SD_ECORRUPT);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seg_term_find_stem_and_exact),
        cmocka_unit_test(test_seg_positions_and_compounds),
        cmocka_unit_test(test_seg_positions_after_skipping_docs),
        cmocka_unit_test(test_seg_term_prefix_walks_in_order),
        cmocka_unit_test(test_seg_exact_terms_match_the_dictionary),
        cmocka_unit_test(test_seg_memo_remembers_the_first_put_bounded_and_charged),
        cmocka_unit_test(test_seg_memo_concurrent_puts_and_gets),
        cmocka_unit_test(test_seg_caches_refused_by_the_charge_are_not_kept),
        cmocka_unit_test(test_seg_analysis_build_bytes_bound_one_document),
        cmocka_unit_test(test_seg_exact_terms_of_sorted_terms),
        cmocka_unit_test(test_seg_exact_terms_give_back_every_byte),
        cmocka_unit_test(test_seg_doc_ids_and_find),
        cmocka_unit_test(test_seg_doc_load_roundtrips_raw_and_unicode),
        cmocka_unit_test(test_seg_doc_title_cut_at_utf8_boundary),
        cmocka_unit_test(test_seg_norms_monotonic_and_close),
        cmocka_unit_test(test_seg_codec_roundtrips_every_width),
        cmocka_unit_test(test_seg_codec_short_runs_roundtrip_in_exact_bytes),
        cmocka_unit_test(test_seg_postings_advance_matches_brute_force),
        cmocka_unit_test(test_seg_block_bound_matches_blocks),
        cmocka_unit_test(test_seg_tail_blocks_roundtrip_packed),
        cmocka_unit_test(test_seg_dict_stem_entry_has_no_positions_length),
        cmocka_unit_test(test_seg_open_file_and_verify),
        cmocka_unit_test(test_seg_open_truncated_image_returns_corrupt),
        cmocka_unit_test(test_seg_open_flipped_byte_returns_corrupt),
        cmocka_unit_test(test_seg_damage_behind_valid_checksum_never_crashes),
        cmocka_unit_test(test_seg_open_written_skips_only_the_checksum),
        cmocka_unit_test(test_seg_open_mem_rejects_other_versions),
        cmocka_unit_test(test_seg_empty_segment_works),
        cmocka_unit_test(test_seg_builder_rejects_bad_docs_unchanged),
        cmocka_unit_test(test_issue_15_term_df_above_doc_count_is_corrupt),
        cmocka_unit_test(test_issue_15_skip_entry_last_doc_mismatch_is_corrupt),
        cmocka_unit_test(test_issue_15_tail_block_last_doc_equal_to_doc_count_is_corrupt),
        cmocka_unit_test(test_issue_15_packed_block_last_doc_equal_to_doc_count_is_corrupt),
    };
    return cmocka_run_group_tests(tests, seg_test_stem_setup, seg_test_stem_teardown);
}
