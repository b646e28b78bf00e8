/*
 * fuzz_query.c: the query language from parse to answer. The input is the query text, as a
 * client sends it in "q" (any bytes: the parser must refuse what is not valid UTF-8). A query
 * that parses is then searched on a small segment built once (three documents, Russian and
 * English, with a compound and a tag field), so planning, prefix expansion, phrase matching,
 * pruning and snippets run on every query the fuzzer finds; errors are fine, crashes, leaks
 * and undefined behaviour are findings. Each query is also read with a lexicon of synonyms
 * (multi-word, one-way, a short-stemmed "ИИ") and both stopword lists (synonym.c), and that
 * reading searched too. So are its keyboard-layout readings (layout.c: every chunk, and only the
 * chunks at a few offsets), which must keep its chunks one for one. The same bytes are also read
 * with the simple syntax (parse_simple.c), which must never fail on any text, with the last word
 * read as being typed (QRY_SIMPLE_PREFIX_LAST) for inputs whose length has bit 1 set, and searched.
 * Both readings then take their typo reading (typo.c: the Levenshtein walk over the segment's
 * forms, in prefix mode for the word being typed), searched, corrected (did_you_mean) and
 * highlighted, as the engine does for a query that finds little; the simple one also its
 * most-words reading (qry_with_any_words), searched, and the input itself, as a document's
 * text, snippeted and highlighted for it (snippet_self).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "stem.h"

struct doc {
    const char *id, *title, *body, *tags;
};

static const struct doc docs[] = {
    {"ru1", "Цифровая дипломатия", "Северо-западный ветер и цифровые дипломаты в 2024 году.",
     "политика"},
    {"en1", "Industrial revolutions", "The e-mail of node.js users: don't panic, 3.14 is fine.",
     "history tech"},
    {"mix", "Ёлка", "ёлки и палки, industrial дипломатия, revolution revolutions revolutionary",
     NULL},
};

static struct qry_ctx *g_ctx;   /* lives as long as the process, as a worker's does */
static struct qry_ctx *g_fresh; /* made and freed for one input */
static struct seg *g_seg;
static struct qry_lexicon *g_lex;

static struct qry_lexicon *build_lexicon(void)
{
    static const char *const groups[][3] = {
        {"ИИ", "искусственный интеллект", "AI"},
        {"дипломатия", "diplomacy", "цифровая дипломатия"},
        {"revolution", "industrial revolution", "переворот"},
    };
    struct qry_lexicon *lex = NULL;
    struct sd_error err = {0};
    if (qry_lexicon_new(&lex, &err) || qry_lexicon_add_stoplist(lex, "en", &err) ||
        qry_lexicon_add_stoplist(lex, "ru", &err)) {
        abort();
    }
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        size_t lens[3];
        for (size_t k = 0; k < 3; k++) {
            lens[k] = strlen(groups[i][k]);
        }
        if (qry_lexicon_add_synonyms(lex, i == 2, groups[i], lens, 3, &err)) {
            abort();
        }
    }
    qry_lexicon_seal(lex);
    return lex;
}

static struct seg *build_segment(void)
{
    struct stem_ctx *stem = NULL;
    struct seg_builder *b = NULL;
    struct sd_error err = {0};
    struct sd_buf img;
    sd_buf_init(&img);
    if (stem_ctx_new(&stem) || seg_builder_new(stem, &b, &err)) {
        abort();
    }
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        const char *names[] = {"title", "body", "tags"};
        const char *values[] = {docs[i].title, docs[i].body, docs[i].tags};
        struct seg_field f[3];
        size_t nf = 0;
        for (size_t k = 0; k < 3; k++) {
            if (values[k]) {
                f[nf++] = (struct seg_field){names[k], strlen(names[k]), values[k],
                                             strlen(values[k]), SEG_TEXT};
            }
        }
        struct seg_doc d = {docs[i].id, strlen(docs[i].id), f, nf};
        if (seg_builder_add(b, &d, &err)) {
            abort();
        }
    }
    if (seg_builder_finish(b, &img, &err)) {
        abort();
    }
    seg_builder_free(b);
    stem_ctx_free(stem);
    size_t len;
    uint8_t *data = sd_buf_detach(&img, &len);
    struct seg *s = NULL;
    if (seg_open_mem(data, len, "fuzz", &s, &err)) {
        abort();
    }
    return s;
}

/* q searched on the segment, then the highlighter's snippet of a body; between the two, after
 * the search (whose walk it reads), is the place for the typo reading's correction. */
static void search_then(struct qry_ctx *ctx, const struct qry *q,
                        void (*after)(struct qry_ctx *, const struct qry *, const void *),
                        const void *arg)
{
    struct qry_segment seg = {g_seg, NULL};
    struct qry_params params;
    qry_params_default(&params);
    params.limit = 2; /* fewer than the matches, so top-k and pruning have work to do */
    struct qry_result r;
    struct sd_error err = {0};
    if (qry_search(ctx, q, &seg, 1, &params, &r, &err) == SD_OK) {
        qry_result_free(&r);
        if (after) {
            after(ctx, q, arg);
        }
    }
    struct sd_buf snip;
    sd_buf_init(&snip);
    qry_snippet(ctx, q, docs[2].body, strlen(docs[2].body), 40, &snip);
    sd_buf_free(&snip);
}

static void search(struct qry_ctx *ctx, const struct qry *q)
{
    search_then(ctx, q, NULL, NULL);
}

/* The input as a document's text (when it is one: stored text is valid UTF-8), snippet and
 * highlights: its words match themselves wherever they stand, the last at the very end,
 * inside windows of every length the protocol allows (16 to 4096 bytes). */
static void snippet_self(struct qry_ctx *ctx, const struct qry *q, const char *text, size_t len)
{
    if (!stem_utf8_valid(text, len)) {
        return;
    }
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 16 + len % 241;
    o.fragments = 1 + len % QRY_MAX_FRAGMENTS;
    struct sd_buf out, spans;
    sd_buf_init(&out);
    sd_buf_init(&spans);
    size_t count;
    qry_snippet(ctx, q, text, len, o.fragment_len, &out);
    sd_buf_reset(&out);
    qry_highlight(ctx, q, text, len, &o, 0, &out, &count, &spans);
    sd_buf_free(&out);
    sd_buf_free(&spans);
}

struct text {
    const char *s;
    size_t len;
};

/* The correction of a typo reading just searched. */
static void did_you_mean(struct qry_ctx *ctx, const struct qry *tq, const void *arg)
{
    const struct text *t = arg;
    struct sd_buf fix;
    sd_buf_init(&fix);
    bool is_corrected;
    if (qry_did_you_mean(ctx, tq, t->s, t->len, &fix, &is_corrected) == SD_OK &&
        ((is_corrected && fix.len == 0) ||
         (fix.len > 0 && ((const char *)fix.data)[fix.len] != '\0'))) {
        abort(); /* a correction is some text, NUL-terminated */
    }
    sd_buf_free(&fix);
}

/* The typo reading of q (parsed from text), searched as the engine searches it, then its
 * correction made from what that search's walk saw. Words found or not: is_every_word on
 * inputs whose length has bit 2 set. */
static void typo_reading(struct qry_ctx *ctx, const struct qry *q, const char *text, size_t len)
{
    struct qry *tq = NULL;
    struct sd_error err = {0};
    if (qry_with_typos(q, len & 4, &tq, &err) != SD_OK || !tq) {
        return;
    }
    struct text t = {text, len};
    search_then(ctx, tq, did_you_mean, &t);
    qry_free(tq);
}

/* Which chunk the last byte of text[0, len) is in: as many chunks as the text has, less one. */
static size_t last_chunk(const char *text, size_t len)
{
    return len ? qry_layout_chunk(text, len, len - 1) : 0;
}

/* The text read in the other layout, whole and at a few offsets, each reading parsed and
 * searched as the engine would. */
static void layout_readings(struct qry_ctx *ctx, const char *text, size_t len)
{
    uint32_t at[4];
    size_t nat = 0;
    for (size_t i = 0; i < len && nat < 4; i += 1 + len / 4) {
        at[nat++] = (uint32_t)i;
    }
    for (int pass = 0; pass < 2; pass++) {
        struct sd_buf out;
        sd_buf_init(&out);
        bool is_changed;
        int rc = pass ? qry_layout_swap_at(text, len, at, nat, &out, &is_changed)
                      : qry_layout_swap(text, len, &out, &is_changed);
        if (rc == SD_OK) {
            const char *alt = (const char *)out.data;
            if (alt[out.len] != '\0' || last_chunk(text, len) != last_chunk(alt, out.len)) {
                abort(); /* a reading rewrites chunks one for one, NUL-terminated */
            }
            struct qry *q = NULL;
            struct sd_error err = {0};
            if (qry_parse(ctx, alt, out.len, &q, &err) == SD_OK) {
                search(ctx, q);
                qry_free(q);
            }
        }
        sd_buf_free(&out);
    }
}

/* The most-words reading of a simple query (the engine's most_words.c): its one-word operands made
 * optional (qry_with_any_words), with and without the lexicon, searched (the hits say which
 * words they have), named, and read with typos, as the engine reads it. */
static void most_words_reading(struct qry_ctx *ctx, const char *text, size_t len, unsigned flags)
{
    struct qry *q = NULL;
    struct sd_error err = {0};
    if (qry_parse_simple(ctx, text, len, flags, &q, &err) != SD_OK) {
        abort();
    }
    if (len & 8) {
        struct qry *lq = NULL;
        if (qry_with_lexicon(g_lex, q, &lq, &err) != SD_OK) {
            qry_free(q);
            return;
        }
        if (lq) {
            qry_free(q);
            q = lq;
        }
    }
    bool is_grouped = false;
    if (qry_with_any_words(q, &is_grouped) == SD_OK && is_grouped) {
        const char *w;
        size_t wlen;
        unsigned n = 0;
        while (qry_any_word(q, n, &w, &wlen)) {
            if (wlen == 0 || !w) {
                abort(); /* every word of the group has a name */
            }
            n++;
        }
        if (n < 2 || n > 32) {
            abort(); /* a group has two words or more, one bit each */
        }
        search(ctx, q);
        typo_reading(ctx, q, text, len);
    }
    qry_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_seg) {
        g_seg = build_segment();
        g_lex = build_lexicon();
    }
    /* A fresh context for inputs of odd length, the long-lived one for the rest: a context's
     * scratch arrays are empty until some query needs them, and the first query of a thread is
     * where two null-pointer offsets hid (issue 10); a fresh context for every input costs
     * most of the speed (stemmers and caches each time). */
    bool is_fresh = size & 1;
    if (is_fresh || !g_ctx) {
        struct qry_ctx **ctx = is_fresh ? &g_fresh : &g_ctx;
        if (qry_ctx_new(ctx)) {
            abort();
        }
    }
    struct qry_ctx *ctx = is_fresh ? g_fresh : g_ctx;
    struct qry *q = NULL;
    struct sd_error err = {0};
    unsigned flags = size & 2 ? QRY_SIMPLE_PREFIX_LAST : 0;
    if (qry_parse_simple(ctx, (const char *)data, size, flags, &q, &err) != SD_OK) {
        abort(); /* the simple syntax takes any text; only memory can fail it */
    }
    search(ctx, q);
    snippet_self(ctx, q, (const char *)data, size);
    typo_reading(ctx, q, (const char *)data, size);
    most_words_reading(ctx, (const char *)data, size, flags);
    qry_free(q);
    q = NULL;
    if (qry_parse(ctx, (const char *)data, size, &q, &err) == SD_OK) {
        search(ctx, q);
        struct qry *lq = NULL;
        if (qry_with_lexicon(g_lex, q, &lq, &err) == SD_OK && lq) {
            search(ctx, lq);
            qry_free(lq);
        }
        typo_reading(ctx, q, (const char *)data, size);
        qry_free(q);
        layout_readings(ctx, (const char *)data, size);
    }
    qry_ctx_free(g_fresh);
    g_fresh = NULL;
    return 0;
}
