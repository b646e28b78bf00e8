/*
 * seg_chunk_test.c: records larger than a stored block, kept in chunks (format 5, issue 12):
 * where the cuts fall, that the record comes back byte for byte whole and a chunk at a time,
 * that a chunk's stem filter never misses a stem its text holds, that merges carry chunks
 * and summaries (byte for byte the direct build), that a damaged chunk is an error, and that
 * a format-4 segment still opens (testdata/v4.seg: the docs of v4_docs() below written by
 * the format-4 builder at commit 0464722, its 40 KB body one block; checked in before the
 * format changed: regenerate never, compare always).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "seg.h"
#include "seg_int.h"
#include "seg_test_util.h"

#ifndef SEG_TESTDATA
#error "SEG_TESTDATA (the testdata directory) is set by CMake"
#endif


/* ---- documents ---- */

static const char *const g_words[] = {
    "дипломатия",   "дипломатии", "цифровая", "цифровой", "меняет", "мир",    "мира",
    "северо-запад", "ёлка",       "поиск",    "поиска",   "движок", "индекс", "быстрый",
    "search",       "engines",    "running",  "e-mail",   "don't",  "2024",   "Ярославль",
    "электронная",  "почта",      "письма",   "€",        "日本語", "😀ok",    "и",
};
#define NWORDS (sizeof g_words / sizeof g_words[0])

/* Deterministic text of about len bytes: words of g_words (2-, 3- and 4-byte UTF-8 among
 * them) with spaces, commas and newlines; `glue` drops the separators of a stretch in the
 * middle, a single token longer than a chunk (no word boundary to cut at). */
static char *make_text(uint32_t seed, size_t len, bool glue, size_t *out_len)
{
    char *t = malloc(len + 64);
    size_t n = 0;
    uint64_t x = seed * 2654435761u + 1;
    while (n < len) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        const char *w = g_words[(x >> 33) % NWORDS];
        size_t wl = strlen(w);
        memcpy(t + n, w, wl);
        n += wl;
        bool is_glued = glue && n > len / 3 && n < len / 3 + 3 * SEG_STORED_BLOCK_TARGET;
        if (!is_glued) {
            t[n++] = (x >> 20) % 17 == 0 ? '\n' : (x >> 20) % 11 == 0 ? ',' : ' ';
        }
    }
    t[n] = '\0';
    *out_len = n;
    return t;
}

struct big_doc {
    char *title;
    char *body;
    char *note;
    struct seg_field fields[4];
    struct seg_doc doc;
    char id[16];
};

/* A doc with a title, a body of body_len bytes, a raw field and a text field after it. */
static void make_big(struct big_doc *d, uint32_t seed, size_t body_len, bool glue)
{
    size_t tl, bl, nl;
    d->title = make_text(seed + 100, 40, false, &tl);
    d->body = make_text(seed, body_len, glue, &bl);
    d->note = make_text(seed + 200, 300, false, &nl);
    snprintf(d->id, sizeof d->id, "big%u", seed);
    d->fields[0] = (struct seg_field){"title", 5, d->title, tl, SEG_TEXT};
    d->fields[1] = (struct seg_field){"body", 4, d->body, bl, SEG_TEXT};
    d->fields[2] = (struct seg_field){"tags", 4, "[\"a\",\"b\"]", 9, SEG_RAW};
    d->fields[3] = (struct seg_field){"note", 4, d->note, nl, SEG_TEXT};
    d->doc = (struct seg_doc){d->id, strlen(d->id), d->fields, 4};
}

static void free_big(struct big_doc *d)
{
    free(d->title);
    free(d->body);
    free(d->note);
}

/* n docs: small ones, and big ones (body_len) at the indexes in big[]. */
struct corpus {
    struct big_doc docs[8];
    const struct seg_doc *ptrs[8];
    size_t n;
};

static void make_corpus(struct corpus *c, size_t n, size_t body_len, unsigned big_mask)
{
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        bool is_big = big_mask & (1u << i);
        make_big(&c->docs[i], (uint32_t)i + 1, is_big ? body_len : 500, i == 3);
        c->ptrs[i] = &c->docs[i].doc;
    }
}

static void free_corpus(struct corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free_big(&c->docs[i]);
    }
}

static struct seg *open_image(const uint8_t *img, size_t len)
{
    return seg_test_open_copy(img, len, "chunks");
}

/* ---- cuts ---- */

static bool is_break(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Cuts of a record with a glued stretch (no spaces for 3 chunks): none splits a UTF-8
 * sequence, each chunk holds at most a block, and in spaced text the next chunk starts
 * with a space (tokenizing from there is exact). */
static void test_seg_chunk_cuts_never_split_utf8(void **state)
{
    (void)state;
    struct corpus c;
    make_corpus(&c, 4, 300000, 1u << 3);
    size_t len;
    uint8_t *img = seg_test_build(g_stem, c.ptrs, c.n, NULL, &len);
    struct seg *s = open_image(img, len);
    struct seg_doc_view v;
    struct sd_error err;
    assert_int_equal(seg_doc_view_open(s, 3, &v, &err), SD_OK);
    assert_true(v.nchunks > 10);
    assert_int_equal(seg_doc_view_load(&v, 0, v.rec_len, &err), SD_OK);
    const struct seg_field *body = &v.st.fields[1];
    size_t body_at = (size_t)((const uint8_t *)body->value - v.rec);
    unsigned at_break = 0, glued = 0;
    for (uint32_t i = 1; i < v.nchunks; i++) {
        size_t start, end;
        seg_doc_view_chunk(&v, i, &start, &end);
        assert_true(end - start <= SEG_STORED_BLOCK_TARGET);
        assert_true((v.rec[start] & 0xC0) != 0x80);
        assert_int_equal(seg_doc_view_at_break(&v, i), is_break((char)v.rec[start]));
        if (start > body_at && start < body_at + body->value_len) {
            at_break += seg_doc_view_at_break(&v, i);
            glued += !seg_doc_view_at_break(&v, i);
        }
    }
    assert_true(at_break > 10);
    assert_true(glued >= 2); /* the glued stretch was cut at character boundaries */
    seg_doc_view_free(&v);
    seg_close(s);
    free(img);
    free_corpus(&c);
}

/* ---- reassembly ---- */

/* Names, types and lengths: what a view knows before any value's chunk is loaded. */
static void check_names(const struct seg_stored *st, const struct big_doc *d)
{
    assert_int_equal(st->nfields, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(st->fields[i].name_len, d->fields[i].name_len);
        assert_memory_equal(st->fields[i].name, d->fields[i].name, d->fields[i].name_len);
        assert_int_equal(st->fields[i].type, d->fields[i].type);
        assert_int_equal(st->fields[i].value_len, d->fields[i].value_len);
    }
}

static void check_fields(const struct seg_stored *st, const struct big_doc *d)
{
    check_names(st, d);
    for (size_t i = 0; i < 4; i++) {
        assert_memory_equal(st->fields[i].value, d->fields[i].value, d->fields[i].value_len);
    }
}

/* A 1 MB record between small ones comes back byte for byte with seg_doc_load, and a chunk
 * at a time through a view that decompressed only the chunks asked for. */
static void test_seg_chunk_record_reassembles_byte_for_byte(void **state)
{
    (void)state;
    struct corpus c;
    make_corpus(&c, 5, 1 << 20, 1u << 2);
    size_t len;
    uint8_t *img = seg_test_build(g_stem, c.ptrs, c.n, NULL, &len);
    struct seg *s = open_image(img, len);
    struct sd_error err;
    for (uint32_t d = 0; d < c.n; d++) {
        struct seg_stored st;
        assert_int_equal(seg_doc_load(s, d, &st, &err), SD_OK);
        check_fields(&st, &c.docs[d]);
        seg_stored_free(&st);
    }
    struct seg_doc_view v;
    assert_int_equal(seg_doc_view_open(s, 2, &v, &err), SD_OK);
    assert_true(v.nchunks >= 64);
    size_t opened = v.raw_loaded; /* the first chunk and the last (later field headers) */
    assert_true(opened <= 2 * SEG_STORED_BLOCK_TARGET);
    const struct seg_field *body = &v.st.fields[1];
    size_t at = (size_t)((const uint8_t *)body->value - v.rec) + body->value_len / 2;
    assert_int_equal(seg_doc_view_load(&v, at, at + 100, &err), SD_OK);
    assert_true(v.raw_loaded - opened <= 2 * SEG_STORED_BLOCK_TARGET);
    assert_memory_equal(v.rec + at, c.docs[2].body + body->value_len / 2, 100);
    check_names(&v.st, &c.docs[2]); /* without the values' chunks */
    seg_doc_view_free(&v);
    seg_close(s);
    free(img);
    free_corpus(&c);
}

/* ---- the stem filters ---- */

struct stems_of {
    const struct seg_doc_view *v;
    size_t value_at;
    size_t checked;
};

static int check_token(void *arg, const struct stem_token *tok)
{
    struct stems_of *so = arg;
    const struct seg_doc_view *v = so->v;
    size_t from = so->value_at + tok->offset, to = from + tok->len;
    uint64_t h = sd_hash64(tok->stem, tok->stem_len);
    for (uint32_t i = 0; i < v->nchunks; i++) {
        size_t start, end;
        seg_doc_view_chunk(v, i, &start, &end);
        if (start < to && from < end && !seg_doc_view_may_hold(v, i, h)) {
            fail_msg("chunk %u misses the stem of '%s'", i, tok->word);
        }
    }
    so->checked++;
    return 0;
}

/* Every token of every text field: each chunk it overlaps may hold its stem; and a stem
 * that is nowhere in the text is rarely reported (false positives are allowed, few). */
static void test_seg_chunk_filter_never_misses_a_stem(void **state)
{
    (void)state;
    struct corpus c;
    make_corpus(&c, 4, 400000, 1u << 3);
    size_t len;
    uint8_t *img = seg_test_build(g_stem, c.ptrs, c.n, NULL, &len);
    struct seg *s = open_image(img, len);
    struct seg_doc_view v;
    struct sd_error err;
    assert_int_equal(seg_doc_view_open(s, 3, &v, &err), SD_OK);
    assert_int_equal(seg_doc_view_load(&v, 0, v.rec_len, &err), SD_OK);
    struct stems_of so = {.v = &v};
    for (size_t f = 0; f < v.st.nfields; f++) {
        if (v.st.fields[f].type == SEG_TEXT) {
            so.value_at = (size_t)((const uint8_t *)v.st.fields[f].value - v.rec);
            assert_int_equal(stem_tokenize(g_stem, v.st.fields[f].value, v.st.fields[f].value_len,
                                           0, check_token, &so, NULL),
                             0);
        }
    }
    assert_true(so.checked > 10000);
    unsigned hits = 0, tries = 0;
    for (unsigned k = 0; k < 200; k++) {
        char absent[32];
        int n = snprintf(absent, sizeof absent, "zqx%uwv", k);
        for (uint32_t i = 0; i < v.nchunks; i++, tries++) {
            hits += seg_doc_view_may_hold(&v, i, sd_hash64(absent, (size_t)n));
        }
    }
    assert_true(hits * 20 < tries); /* under 5% (about 1% expected) */
    seg_doc_view_free(&v);
    seg_close(s);
    free(img);
    free_corpus(&c);
}

/* ---- merges ---- */

static uint8_t *merge(struct seg *const *in, const uint64_t *const *del, size_t n, size_t *len)
{
    struct sd_buf out;
    sd_buf_init(&out);
    struct sd_error err = {0};
    if (seg_merge(in, del, n, &out, NULL, &err) != SD_OK) {
        fail_msg("merge: %s", err.msg);
    }
    return sd_buf_detach(&out, len);
}

/* Inputs with big records, one doc deleted (records re-gathered): the image is the direct
 * build of the live docs, byte for byte, CHUNKS and all. Without deletes (blocks copied)
 * every doc and every chunk's filter reads the same. */
static void test_seg_chunk_merge_is_byte_identical_to_build(void **state)
{
    (void)state;
    struct corpus c;
    make_corpus(&c, 6, 200000, (1u << 1) | (1u << 3) | (1u << 4));
    size_t alen, blen, mlen, wlen;
    uint8_t *a = seg_test_build(g_stem, c.ptrs, 3, NULL, &alen);
    uint8_t *b = seg_test_build(g_stem, c.ptrs + 3, 3, NULL, &blen);
    struct seg *in[2] = {open_image(a, alen), open_image(b, blen)};
    uint64_t del0 = 1; /* doc 0 of the first input */
    const uint64_t *del[2] = {&del0, NULL};
    uint8_t *m = merge(in, del, 2, &mlen);
    uint8_t *want = seg_test_build(g_stem, c.ptrs + 1, 5, NULL, &wlen);
    assert_int_equal(mlen, wlen);
    assert_memory_equal(m, want, wlen);
    free(m);
    free(want);

    uint8_t *copied = merge(in, NULL, 2, &mlen);
    want = seg_test_build(g_stem, c.ptrs, 6, NULL, &wlen);
    struct seg *got = open_image(copied, mlen), *built = open_image(want, wlen);
    struct sd_error err;
    for (uint32_t d = 0; d < 6; d++) {
        struct seg_doc_view x, y;
        assert_int_equal(seg_doc_view_open(got, d, &x, &err), SD_OK);
        assert_int_equal(seg_doc_view_open(built, d, &y, &err), SD_OK);
        assert_int_equal(x.nchunks, y.nchunks);
        assert_int_equal(x.filter_len, y.filter_len);
        if (x.nchunks > 1) {
            assert_memory_equal(x.sums, y.sums, x.nchunks * (1 + x.filter_len));
        }
        assert_int_equal(seg_doc_view_load(&x, 0, x.rec_len, &err), SD_OK);
        check_fields(&x.st, &c.docs[d]);
        seg_doc_view_free(&x);
        seg_doc_view_free(&y);
    }
    seg_close(got);
    seg_close(built);
    free(copied);
    free(want);
    seg_close(in[0]);
    seg_close(in[1]);
    free(a);
    free(b);
    free_corpus(&c);
}

static void lazy_submit(void *arg, struct seg_zjob *job)
{
    (void)job;
    (*(unsigned *)arg)++;
}

static void lazy_wait(void *arg, struct seg_zjob *job)
{
    (void)arg;
    seg_zjob_run(job);
}

/* Full blocks handed to a scheduler (compressed late) and records in chunks (compressed on
 * the builder's thread) between them: the same image as a builder without one. */
static void test_seg_chunk_build_with_zjobs_same_bytes(void **state)
{
    (void)state;
    struct big_doc docs[40];
    const struct seg_doc *ptrs[40];
    for (uint32_t i = 0; i < 40; i++) {
        make_big(&docs[i], i + 1, i % 9 == 4 ? 70000 : 9000, false);
        ptrs[i] = &docs[i].doc;
    }
    size_t want_len, len;
    uint8_t *want = seg_test_build(g_stem, ptrs, 40, NULL, &want_len);
    unsigned submitted = 0;
    struct seg_zjob_sched lazy = {lazy_submit, lazy_wait, &submitted};
    uint8_t *img = seg_test_build(g_stem, ptrs, 40, &lazy, &len);
    assert_true(submitted > 10);
    assert_int_equal(len, want_len);
    assert_memory_equal(img, want, len);
    struct seg *s = open_image(img, len);
    struct sd_error err;
    for (uint32_t d = 0; d < 40; d++) {
        struct seg_stored st;
        assert_int_equal(seg_doc_load(s, d, &st, &err), SD_OK);
        check_fields(&st, &docs[d]);
        seg_stored_free(&st);
    }
    seg_close(s);
    free(img);
    free(want);
    for (uint32_t i = 0; i < 40; i++) {
        free_big(&docs[i]);
    }
}

/* ---- damage ---- */

/* Every byte of one chunk's compressed data flipped in turn (the checksum not verified, as a
 * _written open): loading the doc is SD_OK with the same bytes or SD_ECORRUPT, never a
 * crash; and a damaged CHUNKS section is refused at open or read within bounds. */
static void test_seg_chunk_damaged_chunk_is_an_error_not_a_crash(void **state)
{
    (void)state;
    struct corpus c;
    make_corpus(&c, 2, 60000, 1u << 1);
    size_t len;
    uint8_t *img = seg_test_build(g_stem, c.ptrs, c.n, NULL, &len);
    struct seg *s = open_image(img, len);
    const uint8_t *e = s->sect[SEG_SECT_STORED_DOCS].p + SEG_SDOC_ENTRY_LEN; /* doc 1 */
    uint32_t block = sd_get_le32(e) + 1;                                     /* its 2nd chunk */
    const uint8_t *be = s->sect[SEG_SECT_STORED_BLOCKS].p + (size_t)block * SEG_SBLOCK_ENTRY_LEN;
    size_t data_at = (size_t)s->sect[SEG_SECT_STORED_DATA].off + sd_get_le64(be);
    size_t data_len = sd_get_le32(be + 8);
    size_t chunks_at = (size_t)s->sect[SEG_SECT_CHUNKS].off,
           chunks_len = s->sect[SEG_SECT_CHUNKS].len;
    seg_close(s);
    unsigned corrupt = 0;
    for (size_t i = 0; i < data_len + chunks_len; i++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, img, len);
        copy[i < data_len ? data_at + i : chunks_at + (i - data_len)] ^= 0x5A;
        struct seg *d;
        struct sd_error err;
        int rc = seg_open_mem_written(copy, len, "flipped", &d, &err);
        if (rc != SD_OK) {
            assert_int_equal(rc, SD_ECORRUPT);
            corrupt++;
            continue;
        }
        struct seg_stored st;
        rc = seg_doc_load(d, 1, &st, &err);
        if (rc == SD_OK) {
            assert_int_equal(st.nfields, 4);
        } else {
            assert_int_equal(rc, SD_ECORRUPT);
            corrupt++;
        }
        seg_stored_free(&st);
        struct seg_doc_view v;
        if (seg_doc_view_open(d, 1, &v, &err) == SD_OK) {
            for (uint32_t k = 0; k < v.nchunks; k++) {
                (void)seg_doc_view_may_hold(&v, k, 42);
            }
            (void)seg_doc_view_load(&v, 0, v.rec_len, &err);
        }
        seg_doc_view_free(&v);
        seg_close(d);
    }
    assert_true(corrupt > data_len / 2);
    free(img);
    free_corpus(&c);
}

/* ---- format 4 ---- */

static struct corpus g_v4; /* v4_docs(): what testdata/v4.seg holds */

static void v4_docs(struct corpus *c)
{
    make_corpus(c, 3, 40000, 1u << 1);
}

static uint8_t *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SEG_TESTDATA, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *img = malloc((size_t)n);
    assert_int_equal(fread(img, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return img;
}

/* The format-4 fixture opens; its 40 KB record (one block, not cut) reads whole, through a
 * view too (one chunk, no filter); a merge of it cuts the record into chunks with summaries
 * made by tokenizing it: the image is the format-5 direct build's, byte for byte. */
static void test_seg_chunk_v4_fixture_opens_and_merges_into_chunks(void **state)
{
    (void)state;
    v4_docs(&g_v4);
    size_t len, mlen, wlen;
    uint8_t *img = read_fixture("v4.seg", &len);
    assert_int_equal(sd_get_le16(img + 4), 4);
    struct seg *s = open_image(img, len);
    struct sd_error err;
    for (uint32_t d = 0; d < g_v4.n; d++) {
        struct seg_stored st;
        assert_int_equal(seg_doc_load(s, d, &st, &err), SD_OK);
        check_fields(&st, &g_v4.docs[d]);
        seg_stored_free(&st);
        struct seg_doc_view v;
        assert_int_equal(seg_doc_view_open(s, d, &v, &err), SD_OK);
        assert_int_equal(v.nchunks, 1);
        assert_true(seg_doc_view_may_hold(&v, 0, 42));
        check_fields(&v.st, &g_v4.docs[d]); /* one chunk: read whole at open */
        seg_doc_view_free(&v);
    }
    uint8_t *m = merge(&s, NULL, 1, &mlen);
    uint8_t *want = seg_test_build(g_stem, g_v4.ptrs, g_v4.n, NULL, &wlen);
    assert_int_equal(mlen, wlen);
    assert_memory_equal(m, want, wlen);
    free(m);
    free(want);
    seg_close(s);
    free(img);
    free_corpus(&g_v4);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seg_chunk_cuts_never_split_utf8),
        cmocka_unit_test(test_seg_chunk_record_reassembles_byte_for_byte),
        cmocka_unit_test(test_seg_chunk_filter_never_misses_a_stem),
        cmocka_unit_test(test_seg_chunk_merge_is_byte_identical_to_build),
        cmocka_unit_test(test_seg_chunk_build_with_zjobs_same_bytes),
        cmocka_unit_test(test_seg_chunk_damaged_chunk_is_an_error_not_a_crash),
        cmocka_unit_test(test_seg_chunk_v4_fixture_opens_and_merges_into_chunks),
    };
    return cmocka_run_group_tests(tests, seg_test_stem_setup, seg_test_stem_teardown);
}
