/*
 * query_test.c: evaluation over segments built in the test: every operator,
 * fields, deletes, global statistics across segments, paging, ties, the
 * top-k pruning against a full ranking, known-item ranking (exact form first,
 * Russian and English inflections) and snippets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query_test_util.h"

static struct qry_ctx *g_ctx;
static struct stem_ctx *g_stem;

static int setup(void **state)
{
    (void)state;
    if (qry_ctx_new(&g_ctx) || stem_ctx_new(&g_stem)) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    qry_ctx_free(g_ctx);
    stem_ctx_free(g_stem);
    return 0;
}

static const struct tdoc small_docs[] = {
    {"d1", "Cats and dogs", "The cat sat on the mat. Dogs bark.", NULL},
    {"d2", "Running fast", "She runs every morning with her dog.", NULL},
    {"d3", "Green trees", "Trees are green in summer. The cat climbs trees.", NULL},
    {"d4", "E-mail tips", "Send an e-mail or an email to the city council.", NULL},
    {"d5", "City life", "Cities are big. Life in the city is fast.", "urban"},
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hit ids of text over segs, sorted by id, space-separated. */
static void search_set(const char *text, const struct qry_segment *segs, size_t nsegs, char *out,
                       size_t cap)
{
    char buf[8192];
    uint64_t total = tsearch_ids(g_ctx, text, segs, nsegs, NULL, buf, sizeof buf);
    char *ids[QRY_MAX_LIMIT];
    size_t n = 0;
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        ids[n++] = tok;
    }
    assert_int_equal(total, n);
    qsort(ids, n, sizeof *ids, cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "", ids[i]);
    }
}

static void assert_set(const struct qry_segment *segs, size_t nsegs, const char *text,
                       const char *want)
{
    char got[8192];
    search_set(text, segs, nsegs, got, sizeof got);
    if (strcmp(got, want) != 0) {
        fail_msg("'%s': got [%s], want [%s]", text, got, want);
    }
}

static void test_qry_search_operators_match_expected_docs(void **state)
{
    (void)state;
    struct seg *s = tseg_build(g_stem, small_docs, 5);
    struct qry_segment segs[] = {{s, NULL}};
    assert_set(segs, 1, "cat", "d1 d3");
    assert_set(segs, 1, "cat trees", "d3");
    assert_set(segs, 1, "cat AND trees", "d3");
    assert_set(segs, 1, "dogs OR trees", "d1 d2 d3");
    assert_set(segs, 1, "cat -trees", "d1");
    assert_set(segs, 1, "(dogs OR cities) -bark", "d2 d4 d5");
    assert_set(segs, 1, "run", "d2");
    assert_set(segs, 1, "\"cat sat\"", "d1");
    assert_set(segs, 1, "\"sat cat\"", "");
    assert_set(segs, 1, "\"dogs the\"", ""); /* title end + body start is no phrase */
    assert_set(segs, 1, "\"cats\"", "d1");   /* exact form only */
    assert_set(segs, 1, "tre*", "d3");
    assert_set(segs, 1, "cit*", "d4 d5");
    assert_set(segs, 1, "title:cat", "d1");
    assert_set(segs, 1, "body:cat", "d1 d3");
    assert_set(segs, 1, "tags:urban", "d5");
    assert_set(segs, 1, "title:urban", "");
    assert_set(segs, 1, "title:(green OR life)", "d3 d5");
    assert_set(segs, 1, "body:\"the cat\"", "d1 d3");
    assert_set(segs, 1, "e-mail", "d4");
    assert_set(segs, 1, "email", "d4");
    assert_set(segs, 1, "\"e-mail tips\"", "d4");
    assert_set(segs, 1, "zebra", "");
    assert_set(segs, 1, "cat zebra", "");
    assert_set(segs, 1, "cat OR zebra", "d1 d3");
    assert_set(segs, 1, "cat -zebra", "d1 d3");
    seg_close(s);
}

/* A phrase finds a compound written either way, wherever it stands in the phrase: typed with
 * the hyphen it finds the joined spelling too, typed joined it finds the joined spelling, and
 * the words around the compound must still stand next to it. */
static void test_qry_phrase_with_a_compound_finds_both_spellings(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {"hyphen", NULL, "Send it to the e-mail address we gave.", NULL},
        {"joined", NULL, "Send it to the email address we gave.", NULL},
        {"apart", NULL, "An e mail address, and a long e-mail thread with an address.", NULL},
        {"ru", NULL, "Северо-западный федеральный округ.", NULL},
        {"ru_joined", NULL, "Северозападный федеральный округ.", NULL},
    };
    struct seg *s = tseg_build(g_stem, docs, 5);
    struct qry_segment segs[] = {{s, NULL}};
    assert_set(segs, 1, "\"e-mail address\"", "apart hyphen joined");
    assert_set(segs, 1, "\"the e-mail address we\"", "hyphen joined");
    assert_set(segs, 1, "\"to the e-mail\"", "hyphen joined");
    assert_set(segs, 1, "\"e-mail\"", "apart hyphen joined");
    assert_set(segs, 1, "\"email address\"", "joined"); /* QUERY.md: the joined form ends it */
    assert_set(segs, 1, "\"the email\"", "hyphen joined");
    assert_set(segs, 1, "\"e-mail thread address\"", ""); /* the words must stand together */
    assert_set(segs, 1, "\"e-mail we\"", "");
    assert_set(segs, 1, "\"северо-западный федеральный\"", "ru ru_joined");
    assert_set(segs, 1, "\"северо-западный округ\"", "");
    seg_close(s);
}

/* A segment built before stress marks were dropped holds "за́мок" with the mark: it still
 * answers a query typed with the mark, while a segment built now finds the word by its plain
 * form too (stem.h, parse_leaf.c). */
static void test_qry_search_stress_marks_old_and_new_segments(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {"castle", NULL, "Старый за\xCC\x81мок на горе, молоко\xCC\x81.", NULL},
        {"plain", NULL, "Новый замок в двери.", NULL},
    };
    stem_ctx_keep_stress(g_stem, true);
    struct seg *old = tseg_build(g_stem, docs, 2);
    stem_ctx_keep_stress(g_stem, false);
    struct seg *now = tseg_build(g_stem, docs, 2);
    struct qry_segment olds[] = {{old, NULL}};
    struct qry_segment nows[] = {{now, NULL}};
    assert_set(olds, 1, "за\xCC\x81мок", "castle plain"); /* as before the rule */
    assert_set(olds, 1, "замок", "plain");
    assert_set(olds, 1, "\"за\xCC\x81мок на\"", "castle");
    assert_set(nows, 1, "за\xCC\x81мок", "castle plain");
    assert_set(nows, 1, "замок", "castle plain");
    assert_set(nows, 1, "молока", "castle"); /* and inflections: stem молок */
    assert_set(olds, 1, "молока", "");
    assert_set(nows, 1, "\"замок на\"", "castle");
    seg_close(old);
    seg_close(now);
}

static void test_qry_search_unknown_field_is_einval(void **state)
{
    (void)state;
    struct seg *s = tseg_build(g_stem, small_docs, 5);
    struct qry_segment segs[] = {{s, NULL}};
    struct qry *q = tqry(g_ctx, "foo:bar");
    struct qry_params p;
    qry_params_default(&p);
    struct qry_result r;
    struct sd_error err = {0};
    assert_int_equal(qry_search(g_ctx, q, segs, 1, &p, &r, &err), SD_EINVAL);
    assert_string_equal(err.msg, "unknown field 'foo'");
    qry_free(q);
    seg_close(s);
}

/* Issue 15, item 6: a phrase whose positions are damaged behind a valid
 * checksum fails the query (ECORRUPT); it must not quietly drop the hit. An
 * eval.c that returned false without setting e->rc would answer "no match". */
static void test_qry_phrase_with_damaged_positions_fails_the_query(void **state)
{
    (void)state;
    struct seg *clean = tseg_build(g_stem, small_docs, 5);
    size_t len;
    const uint8_t *img = seg_image(clean, &len);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, img, len);
    struct seg_term t;
    struct sd_error err = {0};
    int f = seg_field_find(clean, "body", 4);
    assert_true(f >= 0);
    assert_int_equal(seg_term_find(clean, (unsigned)f, SEG_EXACT, "climbs", 6, &t, &err), SD_OK);
    assert_true(t.pos_len > 0);
    copy[t.pos_off + t.pos_len - 1] |= 0x80; /* its last position runs past its span */
    sd_put_le64(copy + len - 16, sd_hash64(copy, len - 16));
    struct seg *bad = NULL;
    assert_int_equal(seg_open_mem(copy, len, "damaged", &bad, &err), SD_OK);
    struct qry_segment segs[] = {{bad, NULL}};
    char buf[64];
    assert_int_equal(tsearch_ids(g_ctx, "climbs", segs, 1, NULL, buf, sizeof buf), 1);
    struct qry *q = tqry(g_ctx, "\"cat climbs\"");
    struct qry_params p;
    qry_params_default(&p);
    struct qry_result r;
    assert_int_equal(qry_search(g_ctx, q, segs, 1, &p, &r, &err), SD_ECORRUPT);
    qry_free(q);
    segs[0].seg = clean; /* the same phrase on the sound segment finds d3 */
    assert_int_equal(tsearch_ids(g_ctx, "\"cat climbs\"", segs, 1, NULL, buf, sizeof buf), 1);
    assert_string_equal(buf, "d3");
    seg_close(bad);
    seg_close(clean);
}

static void test_qry_search_limits_are_checked(void **state)
{
    (void)state;
    struct seg *s = tseg_build(g_stem, small_docs, 5);
    struct qry_segment segs[] = {{s, NULL}};
    struct qry *q = tqry(g_ctx, "cat");
    struct qry_params p;
    qry_params_default(&p);
    struct qry_result r;
    struct sd_error err = {0};
    p.limit = QRY_MAX_LIMIT + 1;
    assert_int_equal(qry_search(g_ctx, q, segs, 1, &p, &r, &err), SD_ELIMIT);
    p.limit = 10;
    p.offset = QRY_MAX_OFFSET + 1;
    assert_int_equal(qry_search(g_ctx, q, segs, 1, &p, &r, &err), SD_ELIMIT);
    p.offset = 0;
    p.b = 2;
    assert_int_equal(qry_search(g_ctx, q, segs, 1, &p, &r, &err), SD_EINVAL);
    qry_free(q);
    seg_close(s);
}

static void test_qry_search_skips_deleted_docs(void **state)
{
    (void)state;
    struct seg *s = tseg_build(g_stem, small_docs, 5);
    uint64_t deleted[1] = {1u << 0}; /* d1 */
    struct qry_segment segs[] = {{s, deleted}};
    assert_set(segs, 1, "cat", "d3");
    assert_set(segs, 1, "dogs OR trees", "d2 d3");
    assert_set(segs, 1, "\"cat sat\"", "");
    seg_close(s);
}

static void test_qry_search_limit_zero_counts_only(void **state)
{
    (void)state;
    struct seg *s = tseg_build(g_stem, small_docs, 5);
    struct qry_segment segs[] = {{s, NULL}};
    struct qry *q = tqry(g_ctx, "cat OR city");
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 0;
    struct qry_result r;
    struct sd_error err = {0};
    assert_int_equal(qry_search(g_ctx, q, segs, 1, &p, &r, &err), SD_OK);
    assert_int_equal(r.total, 4);
    assert_int_equal(r.nhits, 0);
    qry_result_free(&r);
    qry_free(q);
    seg_close(s);
}

/* ---- ranking ---- */

static void test_qry_rank_exact_form_first_russian(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {"r1", "История дипломатии", "Книга о дипломатии девятнадцатого века и о войнах.", NULL},
        {"r2", "Цифровая дипломатия", "Цифровая дипломатия использует социальные сети.", NULL},
        {"r3", "Школа дипломатии", "Дипломатию изучают в университетах.", NULL},
        {"r4", "Погода", "Сегодня солнечно и тепло.", NULL},
    };
    struct seg *s = tseg_build(g_stem, docs, 4);
    struct qry_segment segs[] = {{s, NULL}};
    char buf[256];
    assert_int_equal(tsearch_ids(g_ctx, "дипломатия", segs, 1, NULL, buf, sizeof buf), 3);
    assert_memory_equal(buf, "r2 ", 3);
    assert_int_equal(tsearch_ids(g_ctx, "цифровой дипломатии", segs, 1, NULL, buf, sizeof buf), 1);
    assert_string_equal(buf, "r2");
    assert_int_equal(tsearch_ids(g_ctx, "дипломатию", segs, 1, NULL, buf, sizeof buf), 3);
    assert_memory_equal(buf, "r3 ", 3);
    seg_close(s);
}

static void test_qry_rank_english_inflection_finds_doc(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {"e1", "Steam power", "The industrial revolution began in Britain.", NULL},
        {"e2", "Farming", "Agricultural change came before industry.", NULL},
        {"e3", "Politics", "The French revolution of 1789.", NULL},
    };
    struct seg *s = tseg_build(g_stem, docs, 3);
    struct qry_segment segs[] = {{s, NULL}};
    char buf[256];
    assert_int_equal(tsearch_ids(g_ctx, "industrial revolutions", segs, 1, NULL, buf, sizeof buf),
                     1);
    assert_string_equal(buf, "e1");
    seg_close(s);
}

/* A simple query read with QRY_SIMPLE_PREFIX_LAST, searched; its ids into buf. */
static uint64_t typing_ids(const char *text, const struct qry_segment *segs, char *buf, size_t cap)
{
    struct qry *q = tqry_typing(g_ctx, text);
    uint64_t total = tsearch_query_ids(g_ctx, q, segs, 1, NULL, buf, cap);
    qry_free(q);
    return total;
}

/* The first hit's id of q over segs (one segment). */
static void first_id(const struct qry *q, const struct qry_segment *segs, char *out, size_t cap)
{
    struct qry_params p;
    qry_params_default(&p);
    struct qry_result r;
    struct sd_error err = {0};
    assert_int_equal(qry_search(g_ctx, q, segs, 1, &p, &r, &err), SD_OK);
    assert_true(r.nhits > 0);
    const char *id;
    size_t len;
    seg_doc_id(segs[0].seg, r.hits[0].doc, &id, &len);
    snprintf(out, cap, "%.*s", (int)len, id);
    qry_result_free(&r);
}

/* A box's words made optional (qry_with_any_words): a document that says the rare word over
 * and over but nothing else ranks first in a plain OR, and below one that has most of the
 * words when each document scores the share of the words' idf it holds; each hit says which
 * of the words it has. */
static void test_qry_any_words_rank_by_the_share_of_idf_they_hold(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {"one", "Zebrafinch", "Zebrafinch zebrafinch zebrafinch zebrafinch.", NULL},
        {"most", "Field notes", "A zebrafinch in the report of the notes.", NULL},
        {"f1", "Notes", "Field notes, a report.", NULL},
        {"f2", "Report", "The report of the notes.", NULL},
        {"f3", "Weekly", "Report notes.", NULL},
        {"none", "Dogs", "A dog sat on the mat.", NULL},
    };
    struct seg *s = tseg_build(g_stem, docs, 6);
    struct qry_segment segs[] = {{s, NULL}};
    char id[16];
    struct qry *q = tqry(g_ctx, "zebrafinch OR notes OR report OR xyzzy");
    first_id(q, segs, id, sizeof id);
    assert_string_equal(id, "one");
    qry_free(q);
    struct sd_error err = {0};
    static const char text[] = "zebrafinch notes report xyzzy";
    assert_int_equal(qry_parse_simple(g_ctx, text, sizeof text - 1, 0, &q, &err), SD_OK);
    bool is_grouped = false;
    assert_int_equal(qry_with_any_words(q, &is_grouped), SD_OK);
    assert_true(is_grouped);
    first_id(q, segs, id, sizeof id);
    assert_string_equal(id, "most");
    struct qry_params p;
    qry_params_default(&p);
    struct qry_result r;
    assert_int_equal(qry_search(g_ctx, q, segs, 1, &p, &r, &err), SD_OK);
    assert_int_equal(r.total, 5);               /* every document with one of the words */
    assert_int_equal(r.hits[0].any_words, 0x7); /* zebrafinch, notes, report */
    assert_int_equal(r.hits[1].any_words, 0x1);
    for (size_t i = 2; i < r.nhits; i++) {
        assert_int_equal(r.hits[i].any_words, 0x6); /* notes, report */
    }
    qry_result_free(&r);
    qry_free(q);
    seg_close(s);
}

/* The word being typed finds its completions; the word itself, in any inflection, ranks above
 * a longer word that only starts like it; a word done (a space after it) is only itself. */
static void test_qry_rank_word_being_typed(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {"long", "Catalogs", "A catalog of catalogs, catalogued.", NULL},
        {"word", "Cat", "The cat sat on the mat.", NULL},
        {"infl", "Cats", "Two cats sat on the mat.", NULL},
        {"none", "Dogs", "A dog sat on the mat.", NULL},
        {"ru", "Дипломатия", "Цифровая дипломатия.", NULL},
    };
    struct seg *s = tseg_build(g_stem, docs, 5);
    struct qry_segment segs[] = {{s, NULL}};
    char buf[256];
    assert_int_equal(typing_ids("ca", segs, buf, sizeof buf), 3);
    assert_int_equal(typing_ids("cat", segs, buf, sizeof buf), 3);
    assert_string_equal(buf, "word infl long"); /* "catalogs" only starts like it */
    assert_int_equal(typing_ids("cat ", segs, buf, sizeof buf), 2);
    assert_int_equal(typing_ids("sat ca", segs, buf, sizeof buf), 2);
    assert_int_equal(typing_ids("dog ca", segs, buf, sizeof buf), 0);
    assert_int_equal(typing_ids("цифровая дипл", segs, buf, sizeof buf), 1);
    seg_close(s);
}

/* A whole word at the end of a box's text (no space after it yet) ranks as it will with the
 * space: its own inflections are not completions too, which would reward the form typed,
 * and the exact-form bonus is decided with it. Typed in other forms than the document's,
 * stems alone rank: "target" says both words twice, "decoy" says the last word as typed. */
static void test_qry_rank_whole_word_being_typed_as_with_a_space(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {"target", "Цифровая дипломатия", "Цифровая дипломатия меняет политику.", NULL},
        {"decoy", "Новости", "Цифровые каналы и роль дипломатии сегодня.", NULL},
        {"other", "Экономика", "Цифровой экономики отчёт.", NULL},
        {"fill", "Погода", "Сегодня солнечно и тепло.", NULL},
    };
    struct seg *s = tseg_build(g_stem, docs, 4);
    struct qry_segment segs[] = {{s, NULL}};
    char typing[256], done[256];
    static const char *const queries[] = {"цифровой дипломатии", "цифровая дипломатия",
                                          "цифровые дипломатии", "дипломатии цифровой"};
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        char spaced[64];
        snprintf(spaced, sizeof spaced, "%s ", queries[i]);
        assert_int_equal(typing_ids(queries[i], segs, typing, sizeof typing),
                         typing_ids(spaced, segs, done, sizeof done));
        assert_string_equal(typing, done);
    }
    seg_close(s);
}

/* A short prefix has more completions than a prefix expands to (QRY_MAX_EXPANSIONS, the most
 * frequent first); the word being typed after another word reaches further, to the rare word
 * the user is heading to. */
static void test_qry_word_being_typed_after_another_reaches_rare_completions(void **state)
{
    (void)state;
    enum { COMMON = QRY_MAX_EXPANSIONS + 8 };
    static struct tdoc docs[COMMON + 1];
    static char text[COMMON][64];
    static char ids[COMMON][16];
    for (int i = 0; i < COMMON; i++) {
        /* "zq" + three letters, twice: each more frequent than the rare one */
        char w[6] = {'z', 'q', (char)('a' + i / 676), (char)('a' + i / 26 % 26),
                     (char)('a' + i % 26), '\0'};
        snprintf(text[i], sizeof text[i], "%s %s common", w, w);
        snprintf(ids[i], sizeof ids[i], "c%d", i);
        docs[i] = (struct tdoc){ids[i], NULL, text[i], NULL};
    }
    docs[COMMON] = (struct tdoc){"rare", NULL, "zqzzz target", NULL};
    struct seg *s = tseg_build(g_stem, docs, COMMON + 1);
    struct qry_segment segs[] = {{s, NULL}};
    char buf[4096];
    assert_int_equal(typing_ids("target zq", segs, buf, sizeof buf), 1);
    assert_string_equal(buf, "rare");
    assert_int_equal(typing_ids("target zqz", segs, buf, sizeof buf), 1);
    seg_close(s);
}

/* A prefix keeps its QRY_MAX_EXPANSIONS most frequent completions, df summed over segments,
 * ties in byte order (stats.c: the candidates of each segment merged, then the best selected
 * without sorting the rest): checked against a sort of all of them. 300 completions in three
 * segments, with df 1-5 (most of them tied). */
static int cmp_word_df(const void *a, const void *b)
{
    const int *x = a;
    const int *y = b; /* {df, index}: df descending, then the word (its index: same order) */
    return x[0] != y[0] ? y[0] - x[0] : x[1] - y[1];
}

static void test_qry_prefix_keeps_the_most_frequent_completions(void **state)
{
    (void)state;
    enum { WORDS = 300, MAX_DOCS = WORDS * 5 };
    static struct tdoc docs[3][MAX_DOCS];
    static char text[MAX_DOCS][16];
    static char ids[MAX_DOCS][32];
    static int order[WORDS][2];
    size_t count[3] = {0};
    size_t n = 0;
    for (int i = 0; i < WORDS; i++) {
        int df = 1 + i * 37 % 5;
        order[i][0] = df;
        order[i][1] = i;
        for (int j = 0; j < df; j++, n++) {
            snprintf(text[n], sizeof text[n], "zq%c%c%c", 'a' + i / 100, 'a' + i / 10 % 10,
                     'a' + i % 10);
            snprintf(ids[n], sizeof ids[n], "w%03d-%d", i, j);
            int seg = (i + j) % 3;
            docs[seg][count[seg]++] = (struct tdoc){ids[n], NULL, text[n], NULL};
        }
    }
    qsort(order, WORDS, sizeof order[0], cmp_word_df);
    bool kept[WORDS] = {false};
    uint64_t want = 0;
    for (int k = 0; k < QRY_MAX_EXPANSIONS; k++) {
        kept[order[k][1]] = true;
        want += (uint64_t)order[k][0];
    }
    struct seg *sg[3];
    struct qry_segment segs[3];
    for (int i = 0; i < 3; i++) {
        sg[i] = tseg_build(g_stem, docs[i], count[i]);
        segs[i] = (struct qry_segment){sg[i], NULL};
    }
    static char buf[MAX_DOCS * 8];
    assert_int_equal(tsearch_ids(g_ctx, "zq*", segs, 3, NULL, buf, sizeof buf), want);
    for (char *id = strtok(buf, " "); id; id = strtok(NULL, " ")) {
        int word = atoi(id + 1);
        if (!kept[word]) {
            fail_msg("%s: its word is not among the %d most frequent", id, QRY_MAX_EXPANSIONS);
        }
    }
    for (int i = 0; i < 3; i++) {
        seg_close(sg[i]);
    }
}

static void test_qry_rank_title_weight_and_override(void **state)
{
    (void)state;
    static const struct tdoc docs[] = {
        {"a", "apple x", "pie y z", NULL},
        {"b", "pie x", "apple y z", NULL},
    };
    struct seg *s = tseg_build(g_stem, docs, 2);
    struct qry_segment segs[] = {{s, NULL}};
    char buf[64];
    tsearch_ids(g_ctx, "apple", segs, 1, NULL, buf, sizeof buf);
    assert_string_equal(buf, "a b");
    struct qry_params p;
    qry_params_default(&p);
    struct qry_weight w[] = {{"body", 5.0f}};
    p.weights = w;
    p.nweights = 1;
    tsearch_ids(g_ctx, "apple", segs, 1, &p, buf, sizeof buf);
    assert_string_equal(buf, "b a");
    seg_close(s);
}

static void test_qry_rank_ties_by_segment_then_doc(void **state)
{
    (void)state;
    static const struct tdoc one[] = {{"a", "same words", "", NULL}, {"b", "same words", "", NULL}};
    static const struct tdoc two[] = {{"c", "same words", "", NULL}};
    struct seg *s0 = tseg_build(g_stem, one, 2);
    struct seg *s1 = tseg_build(g_stem, two, 1);
    struct qry_segment segs[] = {{s0, NULL}, {s1, NULL}};
    char buf[64];
    tsearch_ids(g_ctx, "same", segs, 2, NULL, buf, sizeof buf);
    assert_string_equal(buf, "a b c");
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 1;
    p.offset = 1;
    tsearch_ids(g_ctx, "same", segs, 2, &p, buf, sizeof buf);
    assert_string_equal(buf, "b");
    seg_close(s0);
    seg_close(s1);
}

/* ---- a larger random corpus ---- */

static const char *const words[] = {
    "run",   "runs",   "running", "cat",    "cats",  "green",  "tree",  "trees",  "water",
    "city",  "cities", "walk",    "walked", "house", "houses", "play",  "player", "blue",
    "stone", "river",  "дом",     "дома",   "домов", "книга",  "книги", "north",  "light",
};
#define NWORDS (sizeof words / sizeof words[0])

static unsigned g_seed;

static unsigned rnd(unsigned n)
{
    g_seed = g_seed * 1103515245u + 12345u;
    return (g_seed >> 8) % n;
}

static char *random_text(unsigned min, unsigned max)
{
    unsigned n = min + rnd(max - min + 1);
    char *t = calloc(1, 16 * (size_t)n + 1);
    for (unsigned i = 0; i < n; i++) {
        /* skewed: low indexes are frequent, so some terms span several blocks */
        unsigned w = rnd(2) ? rnd(6) : rnd(NWORDS);
        strcat(t, i ? " " : "");
        strcat(t, words[w]);
    }
    return t;
}

static struct tdoc *random_docs(size_t n, unsigned seed)
{
    g_seed = seed;
    struct tdoc *d = calloc(n, sizeof *d);
    for (size_t i = 0; i < n; i++) {
        char *id = malloc(24);
        snprintf(id, 24, "x%zu", i);
        d[i].id = id;
        d[i].title = random_text(1, 4);
        d[i].body = random_text(3, 30);
    }
    return d;
}

static void free_docs(struct tdoc *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)d[i].id);
        free((char *)d[i].title);
        free((char *)d[i].body);
    }
    free(d);
}

static struct qry_result run(const char *text, const struct qry_segment *segs, size_t nsegs,
                             uint32_t offset, uint32_t limit)
{
    struct qry *q = tqry(g_ctx, text);
    struct qry_params p;
    qry_params_default(&p);
    p.offset = offset;
    p.limit = limit;
    struct qry_result r;
    struct sd_error err = {0};
    if (qry_search(g_ctx, q, segs, nsegs, &p, &r, &err)) {
        fail_msg("'%s': %s", text, err.msg);
    }
    qry_free(q);
    return r;
}

/* An index with no segment yet (a fresh start) answers with nothing, on a fresh context
 * whose scratch vectors were never allocated (UBSan caught a memset of a NULL vector). */
static void test_qry_search_without_segments_finds_nothing(void **state)
{
    (void)state;
    struct qry_ctx *ctx;
    assert_int_equal(qry_ctx_new(&ctx), SD_OK);
    struct qry *q = tqry(ctx, "run");
    struct qry_params p;
    qry_params_default(&p);
    struct qry_result r;
    struct sd_error err = {0};
    assert_int_equal(qry_search(ctx, q, NULL, 0, &p, &r, &err), SD_OK);
    assert_int_equal(r.total, 0);
    qry_result_free(&r);
    qry_free(q);
    qry_ctx_free(ctx);
}

static const char *const ranked_queries[] = {
    "run",
    "cat",
    "run cat",
    "run OR cat",
    "green OR water OR дом",
    "trees -run",
    "\"run cat\"",
    "ru*",
    "title:run OR body:cat",
    "(cat OR trees) run",
    "дом",
};

static void test_qry_topk_equals_prefix_of_full_ranking(void **state)
{
    (void)state;
    size_t n = 700;
    struct tdoc *d = random_docs(n, 7);
    struct seg *s0 = tseg_build(g_stem, d, 400);
    struct seg *s1 = tseg_build(g_stem, d + 400, 300);
    struct qry_segment segs[] = {{s0, NULL}, {s1, NULL}};
    for (size_t qi = 0; qi < sizeof ranked_queries / sizeof *ranked_queries; qi++) {
        struct qry_result full = run(ranked_queries[qi], segs, 2, 0, QRY_MAX_LIMIT);
        assert_true(full.total > 0);
        static const uint32_t ks[] = {1, 3, 10, 50};
        for (size_t ki = 0; ki < 4; ki++) {
            struct qry_result top = run(ranked_queries[qi], segs, 2, 0, ks[ki]);
            assert_int_equal(top.total, full.total);
            assert_int_equal(top.nhits, ks[ki] < full.nhits ? ks[ki] : full.nhits);
            for (size_t i = 0; i < top.nhits; i++) {
                assert_int_equal(top.hits[i].segment, full.hits[i].segment);
                assert_int_equal(top.hits[i].doc, full.hits[i].doc);
                assert_true(top.hits[i].score == full.hits[i].score);
            }
            qry_result_free(&top);
        }
        qry_result_free(&full);
    }
    seg_close(s0);
    seg_close(s1);
    free_docs(d, n);
}

static void test_qry_paging_is_consistent_with_full_ranking(void **state)
{
    (void)state;
    size_t n = 300;
    struct tdoc *d = random_docs(n, 11);
    struct seg *s = tseg_build(g_stem, d, n);
    struct qry_segment segs[] = {{s, NULL}};
    struct qry_result full = run("run OR cat", segs, 1, 0, QRY_MAX_LIMIT);
    size_t at = 0;
    for (uint32_t off = 0; off < full.nhits + 7; off += 7) {
        struct qry_result page = run("run OR cat", segs, 1, off, 7);
        assert_int_equal(page.total, full.total);
        for (size_t i = 0; i < page.nhits; i++, at++) {
            assert_int_equal(page.hits[i].doc, full.hits[at].doc);
        }
        qry_result_free(&page);
    }
    assert_int_equal(at, full.nhits);
    qry_result_free(&full);
    seg_close(s);
    free_docs(d, n);
}

/* Splitting a corpus into segments changes nothing: N, df and avglen are global. */
static void test_qry_stats_are_global_across_segments(void **state)
{
    (void)state;
    size_t n = 300;
    struct tdoc *d = random_docs(n, 5);
    struct seg *whole = tseg_build(g_stem, d, n);
    struct seg *parts[3] = {tseg_build(g_stem, d, 100), tseg_build(g_stem, d + 100, 120),
                            tseg_build(g_stem, d + 220, 80)};
    struct qry_segment one[] = {{whole, NULL}};
    struct qry_segment three[] = {{parts[0], NULL}, {parts[1], NULL}, {parts[2], NULL}};
    static const uint32_t base[] = {0, 100, 220};
    for (size_t qi = 0; qi < sizeof ranked_queries / sizeof *ranked_queries; qi++) {
        struct qry_result a = run(ranked_queries[qi], one, 1, 0, QRY_MAX_LIMIT);
        struct qry_result b = run(ranked_queries[qi], three, 3, 0, QRY_MAX_LIMIT);
        assert_int_equal(a.total, b.total);
        assert_int_equal(a.nhits, b.nhits);
        for (size_t i = 0; i < a.nhits; i++) {
            assert_int_equal(a.hits[i].doc, base[b.hits[i].segment] + b.hits[i].doc);
            assert_float_equal(a.hits[i].score, b.hits[i].score, 1e-5);
        }
        qry_result_free(&a);
        qry_result_free(&b);
    }
    seg_close(whole);
    for (int i = 0; i < 3; i++) {
        seg_close(parts[i]);
    }
    free_docs(d, n);
}

/* ---- snippets ---- */

static void snippet(const char *query, const char *text, size_t max_len, char *out, size_t cap)
{
    struct qry *q = tqry(g_ctx, query);
    struct sd_buf b;
    sd_buf_init(&b);
    assert_int_equal(qry_snippet(g_ctx, q, text, strlen(text), max_len, &b), SD_OK);
    assert_int_equal(strlen((char *)b.data), b.len);
    assert_true(stem_utf8_valid((char *)b.data, b.len));
    snprintf(out, cap, "%s", (char *)b.data);
    sd_buf_free(&b);
    qry_free(q);
}

static void test_qry_snippet_short_text_is_whole(void **state)
{
    (void)state;
    char out[256];
    snippet("cat", "A cat.\nAnother line.", 100, out, sizeof out);
    assert_string_equal(out, "A cat. Another line.");
}

static void test_qry_snippet_window_around_match(void **state)
{
    (void)state;
    const char *text = "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu "
                       "xi omicron pi rho sigma tau upsilon phi chi psi omega, and over again.";
    char out[256];
    snippet("sigma", text, 40, out, sizeof out);
    assert_non_null(strstr(out, "sigma"));
    assert_memory_equal(out, "\xE2\x80\xA6", 3);
    assert_string_equal(out + strlen(out) - 3, "\xE2\x80\xA6");
    assert_true(strlen(out) <= 40 + 6);
    assert_true(out[3] != ' ');
}

/* Not the first match: the passage where the most distinct query words stand together. */
static void test_qry_snippet_is_the_passage_with_most_words(void **state)
{
    (void)state;
    const char *text = "Музей выложил цифровую копию картины, и её скачали тысячи раз. Потом "
                       "сотрудники долго спорили о лицензиях, о правах наследников и о том, "
                       "кто вообще должен платить за хранение файлов. Выставки в цифровом "
                       "формате стали частью культурной дипломатии: тур по залам видят везде.";
    char out[512];
    snippet("цифровая дипломатия", text, 160, out, sizeof out);
    assert_non_null(strstr(out, "цифровом"));
    assert_non_null(strstr(out, "дипломатии"));
    assert_null(strstr(out, "копию"));
}

static void test_qry_snippet_no_match_is_text_start(void **state)
{
    (void)state;
    char out[256];
    snippet("zebra", "one two three four five six seven eight nine ten", 20, out, sizeof out);
    assert_string_equal(out, "one two three four\xE2\x80\xA6");
}

static void test_qry_snippet_matches_stem_not_excluded(void **state)
{
    (void)state;
    const char *text = "Кошки спят весь день, а вечером собака выходит гулять по длинной улице, "
                       "потом дипломатия и переговоры о мире продолжаются до самого утра.";
    char out[512];
    snippet("дипломатию -собака", text, 50, out, sizeof out);
    assert_non_null(strstr(out, "дипломатия"));
    assert_null(strstr(out, "Кошки"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_search_operators_match_expected_docs),
        cmocka_unit_test(test_qry_phrase_with_a_compound_finds_both_spellings),
        cmocka_unit_test(test_qry_search_stress_marks_old_and_new_segments),
        cmocka_unit_test(test_qry_search_unknown_field_is_einval),
        cmocka_unit_test(test_qry_search_limits_are_checked),
        cmocka_unit_test(test_qry_search_skips_deleted_docs),
        cmocka_unit_test(test_qry_search_limit_zero_counts_only),
        cmocka_unit_test(test_qry_rank_exact_form_first_russian),
        cmocka_unit_test(test_qry_rank_english_inflection_finds_doc),
        cmocka_unit_test(test_qry_rank_word_being_typed),
        cmocka_unit_test(test_qry_any_words_rank_by_the_share_of_idf_they_hold),
        cmocka_unit_test(test_qry_rank_whole_word_being_typed_as_with_a_space),
        cmocka_unit_test(test_qry_word_being_typed_after_another_reaches_rare_completions),
        cmocka_unit_test(test_qry_prefix_keeps_the_most_frequent_completions),
        cmocka_unit_test(test_qry_rank_title_weight_and_override),
        cmocka_unit_test(test_qry_search_without_segments_finds_nothing),
        cmocka_unit_test(test_qry_rank_ties_by_segment_then_doc),
        cmocka_unit_test(test_qry_topk_equals_prefix_of_full_ranking),
        cmocka_unit_test(test_qry_paging_is_consistent_with_full_ranking),
        cmocka_unit_test(test_qry_stats_are_global_across_segments),
        cmocka_unit_test(test_qry_snippet_short_text_is_whole),
        cmocka_unit_test(test_qry_snippet_window_around_match),
        cmocka_unit_test(test_qry_snippet_is_the_passage_with_most_words),
        cmocka_unit_test(test_qry_snippet_no_match_is_text_start),
        cmocka_unit_test(test_qry_snippet_matches_stem_not_excluded),
        cmocka_unit_test(test_qry_phrase_with_damaged_positions_fails_the_query),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
