/*
 * query_prune_test.c: dynamic pruning (prune.c) never changes the answer.
 *
 * A corpus of several thousand documents with Zipf-like word frequencies (so
 * common terms have dozens of 128-doc blocks and skip data, rare ones a single
 * varint block), in three segments with deletes. Every query runs twice on
 * the same context: pruned (the default) and exhaustive (every match scored,
 * nothing skipped). The hits (segment, doc and score, in order) must be
 * identical for every limit and offset; totals must follow query.h: exact
 * with limit 0, exact when total_is_exact, otherwise a lower bound of at
 * least QRY_TOTAL_EXACT_UPTO.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eval_int.h"
#include "query_test_util.h"

#define NDOCS 7000

static struct qry_ctx *g_ctx;
static struct stem_ctx *g_stem;
static unsigned g_seed = 1234;
static float g_proximity = QRY_PROXIMITY; /* qry_params.proximity of run() */
static bool g_typing; /* run() reads the simple syntax with QRY_SIMPLE_PREFIX_LAST */
static bool g_any;    /* run() reads the simple syntax, its words made optional */

static const char *const vocab[] = {
    "the",     "run",    "runs",   "running", "cat",    "cats",   "green",  "tree",
    "trees",   "city",   "cities", "walk",    "walked", "stone",  "river",  "дом",
    "дома",    "домов",  "книга",  "книги",   "north",  "light",  "blue",   "water",
    "player",  "market", "bridge", "silver",  "garden", "window", "valley", "winter",
    "история", "город",  "города", "река",    "реки",   "свет",   "мост",   "зима",
};
#define NVOCAB (sizeof vocab / sizeof vocab[0])

static unsigned rnd(unsigned n)
{
    g_seed = g_seed * 1103515245u + 12345u;
    return (g_seed >> 8) % n;
}

#define NSYN 400 /* synthetic words after the vocabulary: the long tail */

/* The name of word i: vocab[i], or a made-up word (base-26 letters) beyond it. */
static void word_name(unsigned i, char *out, size_t cap)
{
    if (i < NVOCAB) {
        snprintf(out, cap, "%s", vocab[i]);
        return;
    }
    i -= (unsigned)NVOCAB;
    snprintf(out, cap, "zq%c%c", 'a' + (char)(i / 26), 'a' + (char)(i % 26));
}

/* Zipf-like: low indexes are much more frequent. */
static void word(char *out, size_t cap)
{
    double r = (double)rnd(100000) / 100000.0;
    unsigned i = (unsigned)((double)(NVOCAB + NSYN) * r * r * r);
    word_name(i, out, cap);
}

static char *text(unsigned min, unsigned span)
{
    unsigned n = min + rnd(span);
    char *s = malloc((size_t)n * 24 + 1);
    s[0] = '\0';
    for (unsigned k = 0; k < n; k++) {
        char w[32];
        word(w, sizeof w);
        strcat(s, k ? " " : "");
        strcat(s, w);
    }
    return s;
}

static struct tdoc g_docs[NDOCS];
static struct seg *g_segs[3];
static uint64_t g_del[3][(NDOCS + 63) / 64];
static struct qry_segment g_qsegs[3];
static const size_t split[4] = {0, 3000, 5200, NDOCS};

static int setup(void **state)
{
    (void)state;
    if (qry_ctx_new(&g_ctx) || stem_ctx_new(&g_stem)) {
        return -1;
    }
    for (size_t i = 0; i < NDOCS; i++) {
        char *id = malloc(24);
        snprintf(id, 24, "p%zu", i);
        g_docs[i] = (struct tdoc){.id = id, .title = text(1, 5), .body = text(2, 60)};
    }
    for (size_t s = 0; s < 3; s++) {
        g_segs[s] = tseg_build(g_stem, g_docs + split[s], split[s + 1] - split[s]);
        for (size_t d = 0; d < split[s + 1] - split[s]; d++) {
            if (rnd(7) == 0) {
                g_del[s][d / 64] |= 1ull << (d % 64);
            }
        }
        g_qsegs[s] = (struct qry_segment){g_segs[s], s == 1 ? NULL : g_del[s]};
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3; s++) {
        seg_close(g_segs[s]);
    }
    for (size_t i = 0; i < NDOCS; i++) {
        free((char *)g_docs[i].id);
        free((char *)g_docs[i].title);
        free((char *)g_docs[i].body);
    }
    qry_ctx_free(g_ctx);
    stem_ctx_free(g_stem);
    return 0;
}

/* The segments a search runs over. */
struct corpus {
    const struct qry_segment *segs;
    size_t n;
};

static const struct corpus g_main = {g_qsegs, 3};

static struct qry_result run(const struct corpus *c, const char *q_text, uint32_t offset,
                             uint32_t limit, bool exhaustive)
{
    struct qry *q = g_typing ? tqry_typing(g_ctx, q_text) : tqry(g_ctx, q_text);
    if (g_any) {
        qry_free(q);
        struct sd_error err = {0};
        bool is_grouped = false;
        assert_int_equal(qry_parse_simple(g_ctx, q_text, strlen(q_text), 0, &q, &err), SD_OK);
        assert_int_equal(qry_with_any_words(q, &is_grouped), SD_OK);
        assert_true(is_grouped);
    }
    struct qry_params p;
    qry_params_default(&p);
    p.offset = offset;
    p.limit = limit;
    p.proximity = g_proximity;
    struct qry_result r;
    struct sd_error err = {0};
    qry_ctx_set_exhaustive(g_ctx, exhaustive);
    int rc = qry_search(g_ctx, q, c->segs, c->n, &p, &r, &err);
    qry_ctx_set_exhaustive(g_ctx, false);
    if (rc) {
        fail_msg("'%s': %s", q_text, err.msg);
    }
    qry_free(q);
    return r;
}

/* Compares one pruned search with the exhaustive one; true when it pruned. */
static bool check(const struct corpus *c, const char *q_text, uint32_t offset, uint32_t limit,
                  uint64_t exact)
{
    struct qry_result want = run(c, q_text, offset, limit, true);
    struct qry_result got = run(c, q_text, offset, limit, false);
    assert_int_equal(want.total, exact);
    assert_true(want.total_is_exact);
    if (got.total_is_exact) {
        assert_int_equal(got.total, exact);
    } else {
        assert_true(got.total >= QRY_TOTAL_EXACT_UPTO && got.total <= exact);
    }
    if (got.nhits != want.nhits) {
        fail_msg("'%s' offset %u limit %u: %zu hits, want %zu", q_text, offset, limit, got.nhits,
                 want.nhits);
    }
    for (size_t i = 0; i < got.nhits; i++) {
        const struct qry_hit *a = &got.hits[i];
        const struct qry_hit *b = &want.hits[i];
        if (a->segment != b->segment || a->doc != b->doc || a->score != b->score ||
            a->any_words != b->any_words) {
            fail_msg("'%s' offset %u limit %u: hit %zu is %u/%u %.9g, want %u/%u %.9g", q_text,
                     offset, limit, i, a->segment, a->doc, (double)a->score, b->segment, b->doc,
                     (double)b->score);
        }
    }
    bool is_pruned = !got.total_is_exact;
    qry_result_free(&got);
    qry_result_free(&want);
    return is_pruned;
}

static uint64_t count(const struct corpus *c, const char *q_text)
{
    struct qry_result r = run(c, q_text, 0, 0, false);
    assert_true(r.total_is_exact);
    assert_int_equal(r.nhits, 0);
    uint64_t total = r.total;
    qry_result_free(&r);
    return total;
}

static const char *const queries[] = {
    /* one word: common, middle, rare */
    "the", "run", "cat", "green", "river", "дом", "зима", "valley",
    /* AND */
    "the run", "run cat", "the cat green", "дом книга", "the -run", "run cat -green",
    "title:run cat",
    /* OR and mixed */
    "the OR run", "run OR cat", "cat OR river", "run OR дом", "green OR water OR дом",
    "the OR cat OR valley OR зима", "title:run OR body:cat", "(run OR cat) the",
    "(run OR cat) -the", "(the run) OR (cat green)",
    /* phrase and prefix */
    "\"the run\"", "\"the the\"", "\"run cat\"", "title:\"the run\"", "ru*", "ci*",
    "\"the run\" OR cat", "\"the run\" cat", "zqaa", "zqaa OR zqba", "zqca zqcb", "zqa*",
    "zqpa", "zqpa OR run", "\"zqaa zqab\"",
    /* wide ORs, scored in bulk (bulk.c): one level, and ORs inside the root OR */
    "zqb*", "zqpa OR zqb*", "zqa* OR zqb* OR river", "(zqc* OR zqd*) OR (cat OR zqe*)",
    /* AND of typed words: the proximity bonus (prox.c) in bounds and windows */
    "runs cat", "cats the green", "книги дом", "city trees river", "run runs", "дома -книга город",
    "(the run) OR river", "title:green tree", "the zqaa", "water light blue north",
};

static void test_qry_prune_topk_equals_exhaustive(void **state)
{
    (void)state;
    static const uint32_t limits[][2] = {{0, 1}, {0, 10}, {0, 100}, {5, 10}, {200, 30}};
    unsigned pruned = 0;
    for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++) {
        uint64_t exact = count(&g_main, queries[qi]);
        for (size_t li = 0; li < sizeof limits / sizeof *limits; li++) {
            pruned += check(&g_main, queries[qi], limits[li][0], limits[li][1], exact);
        }
    }
    assert_true(pruned > 30); /* the check is not vacuous */
}

/* The word being typed: a word and its completions (one of them more often than not the
 * word itself), scored at QRY_COMPLETION_WEIGHT, and in an AND with proximity through the
 * word; with the default proximity weight and a heavy one. */
static void test_qry_prune_word_being_typed_equals_exhaustive(void **state)
{
    (void)state;
    static const char *const typing[] = {"ru", "the", "the ru", "run ca", "cats the gr",
                                         "книги до", "zqa", "the zq", "city trees riv", "run run"};
    static const float weights[] = {QRY_PROXIMITY, 20};
    unsigned pruned = 0;
    g_typing = true;
    for (size_t wi = 0; wi < sizeof weights / sizeof *weights; wi++) {
        g_proximity = weights[wi];
        for (size_t qi = 0; qi < sizeof typing / sizeof *typing; qi++) {
            uint64_t exact = count(&g_main, typing[qi]);
            pruned += check(&g_main, typing[qi], 0, 10, exact);
            pruned += check(&g_main, typing[qi], 5, 3, exact);
        }
    }
    g_typing = false;
    g_proximity = QRY_PROXIMITY;
    assert_true(pruned > 4);
}

/* A box's words of which a document needs only some, scored by the share of their idf it has
 * (qry_with_any_words; eval.c any_score): bounds that sum the words' bounds stay bounds, and
 * the hits say which words they hold, pruned or not; beside required words and exclusions. */
static void test_qry_prune_any_words_equals_exhaustive(void **state)
{
    (void)state;
    static const char *const any[] = {
        "the run",
        "run cat river",
        "the run дом",
        "cat green zqaa",
        "city trees river north",
        "the cat -green water",
        "\"the run\" cat valley",
        "zqpa run cat",
        "run ci*",
    };
    unsigned pruned = 0;
    g_any = true;
    for (size_t qi = 0; qi < sizeof any / sizeof *any; qi++) {
        uint64_t exact = count(&g_main, any[qi]);
        pruned += check(&g_main, any[qi], 0, 10, exact);
        pruned += check(&g_main, any[qi], 5, 3, exact);
        pruned += check(&g_main, any[qi], 0, 1, exact);
    }
    g_any = false;
    assert_true(pruned > 4);
}

/* The same with a proximity weight far above the default: bounds that missed part of the
 * bonus would now prune documents that belong in the top-k. And the bonus does move scores
 * on this corpus, so the checks above cover it. */
static void test_qry_prune_exact_with_heavy_proximity(void **state)
{
    (void)state;
    static const char *const and_queries[] = {"the run", "run cat", "runs cat", "cats the green",
                                              "книги дом", "city trees river", "(the run) OR river"};
    g_proximity = 0;
    struct qry_result off = run(&g_main, "the run", 0, 10, false);
    g_proximity = 20;
    struct qry_result on = run(&g_main, "the run", 0, 10, false);
    assert_true(off.nhits == 10 && on.nhits == 10);
    bool differs = false;
    for (size_t i = 0; i < 10; i++) {
        differs |= off.hits[i].doc != on.hits[i].doc || off.hits[i].score != on.hits[i].score;
    }
    assert_true(differs);
    qry_result_free(&off);
    qry_result_free(&on);
    unsigned pruned = 0;
    for (size_t qi = 0; qi < sizeof and_queries / sizeof *and_queries; qi++) {
        uint64_t exact = count(&g_main, and_queries[qi]);
        pruned += check(&g_main, and_queries[qi], 0, 10, exact);
        pruned += check(&g_main, and_queries[qi], 5, 3, exact);
    }
    g_proximity = QRY_PROXIMITY;
    assert_true(pruned > 4);
}

static void test_qry_prune_total_exact_semantics(void **state)
{
    (void)state;
    /* limit 0 always counts exactly. */
    struct qry_result all = run(&g_main, "the", 0, 0, true);
    assert_true(all.total > 3 * QRY_TOTAL_EXACT_UPTO);
    assert_int_equal(count(&g_main, "the"), all.total);
    /* A common word with limit 10 prunes and says so. */
    struct qry_result top = run(&g_main, "run", 0, 10, false);
    assert_false(top.total_is_exact);
    assert_true(top.total >= QRY_TOTAL_EXACT_UPTO && top.total < count(&g_main, "run"));
    /* Under the threshold nothing is skipped. */
    uint64_t rare = count(&g_main, "zqpa");
    assert_true(rare > 0 && rare < QRY_TOTAL_EXACT_UPTO);
    struct qry_result few = run(&g_main, "zqpa", 0, 10, false);
    assert_true(few.total_is_exact);
    assert_int_equal(few.total, rare);
    qry_result_free(&all);
    qry_result_free(&top);
    qry_result_free(&few);
}

/* Skip entries hold a block's max tf in one byte, 255 meaning "255 or more", so the bound of
 * such a block must be BM25's limit as tf grows. Every doc has the same length (one norm),
 * so a bound taken at tf 255 would be tight: below doc 700's score (tf 300), and the block of
 * doc 1600 (tf 400, the best) would be skipped once pruning starts after 1000 matches. */
#define HEAVY_DOCS 2000
#define HEAVY_LEN  400

static void test_qry_prune_saturated_max_tf_keeps_bound(void **state)
{
    (void)state;
    struct tdoc *docs = calloc(HEAVY_DOCS, sizeof *docs);
    assert_non_null(docs);
    for (size_t i = 0; i < HEAVY_DOCS; i++) {
        unsigned tf = i == 700 ? 300 : i == 1600 ? 400 : 1 + (unsigned)(i % 3);
        char *body = malloc(HEAVY_LEN * 6 + 1), *id = malloc(24);
        assert_true(body && id);
        size_t len = 0;
        for (unsigned k = 0; k < HEAVY_LEN; k++) {
            len += (size_t)sprintf(body + len, k < tf ? "heavy " : "pad ");
        }
        snprintf(id, 24, "h%zu", i);
        docs[i] = (struct tdoc){.id = id, .body = body};
    }
    struct seg *s = tseg_build(g_stem, docs, HEAVY_DOCS);
    struct qry_segment seg = {s, NULL};
    struct corpus c = {&seg, 1};
    uint64_t exact = count(&c, "heavy");
    assert_int_equal(exact, HEAVY_DOCS);
    assert_true(check(&c, "heavy", 0, 1, exact)); /* pruned, and still finds doc 1600 */
    struct qry_result r = run(&c, "heavy", 0, 2, false);
    assert_int_equal(r.nhits, 2);
    assert_int_equal(r.hits[0].doc, 1600);
    assert_int_equal(r.hits[1].doc, 700);
    qry_result_free(&r);
    static const char *const more[] = {"heavy pad", "heavy OR pad", "\"heavy heavy\""};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++) {
        check(&c, more[i], 0, 1, count(&c, more[i]));
    }
    seg_close(s);
    for (size_t i = 0; i < HEAVY_DOCS; i++) {
        free((char *)docs[i].id);
        free((char *)docs[i].body);
    }
    free(docs);
}

/* Issue 15, item 6 (prune.c: the rejected-tf cache is reset when the window's exact-form
 * bonus grows). Docs have 10 words with the stem twice, the exact form "running" once
 * ("running runs pad..."), except: doc 0 has 9 words, so its score is the top-1 threshold
 * once pruning starts after 1000 matches; the deleted doc 1100 has the stem 10 times, so
 * the bound of its window (docs 1024-1151) lets the walk in, and there it turns away doc
 * after doc with tf 2 under a bonus tf of 1, and caches that; doc 2050 has "running
 * running": the same tf 2, but its window (the exact form's block 2048-2175) has a bonus
 * tf of 2, and so has its score, which beats doc 0's. A cache kept across the larger bonus
 * would turn it away with one comparison. */
#define BONUS_DOCS 3000
#define BONUS_DOC  2050
#define BONUS_DEL  1100

static void test_qry_prune_rejected_tf_cache_resets_when_bonus_grows(void **state)
{
    (void)state;
    struct tdoc *docs = calloc(BONUS_DOCS, sizeof *docs);
    assert_non_null(docs);
    for (size_t i = 0; i < BONUS_DOCS; i++) {
        char *body = malloc(128), *id = malloc(24);
        assert_true(body && id);
        snprintf(body, 128, "%s",
                 i == 0           ? "running runs pad pad pad pad pad pad pad"
                 : i == BONUS_DOC ? "running running pad pad pad pad pad pad pad pad"
                 : i == BONUS_DEL ? "running runs runs runs runs runs runs runs runs runs"
                                  : "running runs pad pad pad pad pad pad pad pad");
        snprintf(id, 24, "b%zu", i);
        docs[i] = (struct tdoc){.id = id, .body = body};
    }
    struct seg *s = tseg_build(g_stem, docs, BONUS_DOCS);
    static uint64_t del[(BONUS_DOCS + 63) / 64];
    del[BONUS_DEL / 64] |= UINT64_C(1) << (BONUS_DEL % 64);
    struct qry_segment seg = {s, del};
    struct corpus c = {&seg, 1};
    uint64_t exact = count(&c, "running");
    assert_int_equal(exact, BONUS_DOCS - 1);
    assert_true(check(&c, "running", 0, 1, exact)); /* pruned, and still finds it */
    struct qry_result r = run(&c, "running", 0, 1, false);
    assert_int_equal(r.nhits, 1);
    assert_int_equal(r.hits[0].doc, BONUS_DOC);
    qry_result_free(&r);
    seg_close(s);
    for (size_t i = 0; i < BONUS_DOCS; i++) {
        free((char *)docs[i].id);
        free((char *)docs[i].body);
    }
    free(docs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_prune_topk_equals_exhaustive),
        cmocka_unit_test(test_qry_prune_exact_with_heavy_proximity),
        cmocka_unit_test(test_qry_prune_word_being_typed_equals_exhaustive),
        cmocka_unit_test(test_qry_prune_any_words_equals_exhaustive),
        cmocka_unit_test(test_qry_prune_total_exact_semantics),
        cmocka_unit_test(test_qry_prune_saturated_max_tf_keeps_bound),
        cmocka_unit_test(test_qry_prune_rejected_tf_cache_resets_when_bonus_grows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
