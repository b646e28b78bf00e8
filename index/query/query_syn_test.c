/*
 * query_syn_test.c: synonyms and stopwords (lexicon.c, synonym.c): two-way and one-way entries,
 * multi-word members, inflected forms on both sides, the typed words never outscored by a
 * synonym, stopwords dropped but never emptying a query nor touching a phrase, both syntaxes,
 * QRY_MAX_TERMS, highlights of synonym matches, and what a lexicon refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query_int.h"
#include "query_test_util.h"

static void add_syn(struct qry_lexicon *lex, bool is_one_way, const char *const *m, size_t n)
{
    size_t lens[32];
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(m[i]);
    }
    struct sd_error err = {0};
    if (qry_lexicon_add_synonyms(lex, is_one_way, m, lens, n, &err)) {
        fail_msg("add_synonyms: %s", err.msg);
    }
}

/* ИИ <-> искусственный интеллект, ноутбук -> лэптоп, the en and ru lists, and "пожалуйста". */
static struct qry_lexicon *test_lexicon(void)
{
    struct qry_lexicon *lex = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_lexicon_new(&lex, &err), SD_OK);
    const char *ai[] = {"ИИ", "искусственный интеллект"};
    const char *laptop[] = {"ноутбук", "лэптоп"};
    add_syn(lex, false, ai, 2);
    add_syn(lex, true, laptop, 2);
    assert_int_equal(qry_lexicon_add_stoplist(lex, "en", &err), SD_OK);
    assert_int_equal(qry_lexicon_add_stoplist(lex, "ru", &err), SD_OK);
    assert_int_equal(qry_lexicon_add_stopword(lex, "Пожалуйста", strlen("Пожалуйста"), &err),
                     SD_OK);
    qry_lexicon_seal(lex);
    return lex;
}

/* text parsed with the syntax (the simple one with qry_parse_simple's flags) and read with lex
 * (the parsed query when lex changes nothing). */
static struct qry *lex_query_flags(const struct qry_lexicon *lex, const char *text,
                                   enum qry_syntax syntax, unsigned flags)
{
    struct qry *q = NULL, *lq = NULL;
    struct sd_error err = {0};
    int rc = syntax == QRY_SYNTAX_SIMPLE
                 ? qry_parse_simple(tq_ctx, text, strlen(text), flags, &q, &err)
                 : qry_parse(tq_ctx, text, strlen(text), &q, &err);
    if (rc) {
        fail_msg("parse '%s': %s", text, err.msg);
    }
    assert_int_equal(qry_with_lexicon(lex, q, &lq, &err), SD_OK);
    if (lq) {
        qry_free(q);
        return lq;
    }
    return q;
}

/* text parsed with the syntax and read with lex (the parsed query when lex changes nothing). */
static struct qry *lex_query(const struct qry_lexicon *lex, const char *text,
                             enum qry_syntax syntax)
{
    return lex_query_flags(lex, text, syntax, 0);
}

/* The hit ids of text in rank order; scores into scores[] when not NULL. */
static void ranked_flags(const struct qry_lexicon *lex, const struct qry_segment *segs,
                         const char *text, enum qry_syntax syntax, unsigned flags, char *out,
                         size_t cap, float *scores)
{
    struct qry *q = lex_query_flags(lex, text, syntax, flags);
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 100;
    struct qry_result r;
    struct sd_error err = {0};
    if (qry_search(tq_ctx, q, segs, 1, &p, &r, &err)) {
        fail_msg("search '%s': %s", text, err.msg);
    }
    out[0] = '\0';
    for (size_t i = 0; i < r.nhits; i++) {
        const char *id;
        size_t len;
        seg_doc_id(segs[0].seg, r.hits[i].doc, &id, &len);
        snprintf(out + strlen(out), cap - strlen(out), "%s%.*s", i ? " " : "", (int)len, id);
        if (scores) {
            scores[i] = r.hits[i].score;
        }
    }
    assert_int_equal(r.total, r.nhits);
    qry_result_free(&r);
    qry_free(q);
}

static void ranked(const struct qry_lexicon *lex, const struct qry_segment *segs, const char *text,
                   enum qry_syntax syntax, char *out, size_t cap, float *scores)
{
    ranked_flags(lex, segs, text, syntax, 0, out, cap, scores);
}

static void expect(const struct qry_lexicon *lex, const struct qry_segment *segs, const char *text,
                   const char *want)
{
    for (int syntax = QRY_SYNTAX_FULL; syntax <= QRY_SYNTAX_SIMPLE; syntax++) {
        char got[512];
        ranked(lex, segs, text, (enum qry_syntax)syntax, got, sizeof got, NULL);
        if (strcmp(got, want) != 0) {
            fail_msg("'%s' (%s syntax): got [%s], want [%s]", text,
                     syntax == QRY_SYNTAX_FULL ? "full" : "simple", got, want);
        }
    }
}

static const struct tdoc docs[] = {
    {"ai", "Медицина", "ИИ помогает врачам", NULL},
    {"aifull", "Медицина", "Искусственный интеллект помогает врачам", NULL},
    {"aiinfl", "Обзор", "Системы искусственного интеллекта учатся", NULL},
    {"intel", "Собаки", "Интеллект собаки", NULL},
    {"nb1", "Покупка", "Купил новый ноутбук", NULL},
    {"nb2", "Покупка", "Продал старый ноутбук", NULL},
    {"nb3", "Покупка", "Потерял мой ноутбук", NULL},
    {"lap", "Покупка", "Купил новый лэптоп", NULL},
    {"who", "The Who", "The Who is a band", NULL},
    {"thecat", "Cats", "the cat and the dog", NULL},
    {"acat", "Cats", "a cat sat", NULL},
    {"conj", "Союз", "кошки и собаки", NULL},
};

static struct seg *g_seg;

static void build_docs(struct qry_segment *segs)
{
    if (!g_seg) {
        g_seg = tseg_build(tq_stem, docs, sizeof docs / sizeof *docs);
    }
    segs[0] = (struct qry_segment){g_seg, NULL};
}

/* Each member of a two-way entry finds the other; a multi-word member by all its words, in any
 * inflection, on either side. */
static void test_qry_syn_two_way_multi_word_inflected(void **state)
{
    (void)state;
    struct qry_segment segs[1];
    build_docs(segs);
    struct qry_lexicon *lex = test_lexicon();
    expect(lex, segs, "ИИ", "ai aifull aiinfl");
    expect(lex, segs, "искусственный интеллект", "aifull aiinfl ai");
    expect(lex, segs, "искусственного интеллекта", "aiinfl aifull ai");
    expect(lex, segs, "ИИ врачам", "ai aifull");
    /* "ИИ" stems to "и" (the conjunction): a member word with so short a stem goes by its form,
     * so neither "и" typed nor a document's "и" is taken for "ИИ" (the index still stems a
     * document's "ИИ" to "и": "и" typed finds it, synonyms or not) */
    expect(lex, segs, "и", "conj ai");
    expect(lex, segs, "кошки и", "conj");
    /* a word of a member alone is not the member */
    expect(lex, segs, "интеллект", "intel aifull aiinfl");
    /* exclusions and phrases are as typed */
    expect(lex, segs, "помогает -ИИ", "aifull");
    expect(lex, segs, "\"искусственный интеллект\"", "aifull");
    qry_lexicon_free(lex);
}

/* One-way: the root also finds its synonyms (its inflections too), a synonym only itself. */
static void test_qry_syn_one_way(void **state)
{
    (void)state;
    struct qry_segment segs[1];
    build_docs(segs);
    struct qry_lexicon *lex = test_lexicon();
    char got[512];
    ranked(lex, segs, "ноутбук", QRY_SYNTAX_FULL, got, sizeof got, NULL);
    assert_non_null(strstr(got, "lap"));
    ranked(lex, segs, "ноутбуки", QRY_SYNTAX_SIMPLE, got, sizeof got, NULL);
    assert_non_null(strstr(got, "lap"));
    expect(lex, segs, "лэптоп", "lap");
    expect(lex, segs, "лэптопы", "lap");
    qry_lexicon_free(lex);
}

/* "лэптоп" is rarer than "ноутбук" (1 document against 3, all as long), so its own idf is the
 * higher: uncapped, the synonym's document would rank first. The cap keeps every document of
 * the typed word above it, and the typed word's documents score as without synonyms. */
static void test_qry_syn_typed_word_never_outscored(void **state)
{
    (void)state;
    struct qry_segment segs[1];
    build_docs(segs);
    struct qry_lexicon *lex = test_lexicon();
    char got[512], plain[512];
    float s[16], p[16];
    ranked(lex, segs, "ноутбук", QRY_SYNTAX_FULL, got, sizeof got, s);
    assert_string_equal(strstr(got, "lap"), "lap"); /* last */
    assert_true(s[2] >= s[3]);
    ranked(NULL, segs, "ноутбук", QRY_SYNTAX_FULL, plain, sizeof plain, p);
    assert_int_equal(strncmp(got, plain, strlen(plain)), 0);
    for (int i = 0; i < 3; i++) {
        assert_true(s[i] == p[i]);
    }
    /* a multi-word synonym's words share the cap: "ИИ" finds its own document first */
    ranked(lex, segs, "ИИ", QRY_SYNTAX_FULL, got, sizeof got, s);
    assert_int_equal(strncmp(got, "ai ", 3), 0);
    qry_lexicon_free(lex);
}

/* Stopwords go, except in phrases and when nothing would be left. */
static void test_qry_syn_stopwords_never_empty_a_query(void **state)
{
    (void)state;
    struct qry_segment segs[1];
    build_docs(segs);
    struct qry_lexicon *lex = test_lexicon();
    expect(lex, segs, "the cat", "acat thecat");
    expect(lex, segs, "Пожалуйста лэптоп", "lap");
    expect(lex, segs, "cat -the", "acat thecat");
    /* only stopwords: kept, the query still finds what it names */
    expect(lex, segs, "the who", "who");
    expect(lex, segs, "the OR who", "who thecat");
    /* an AND that would keep only an exclusion keeps its stopwords */
    expect(lex, segs, "the -dog", "who");
    /* in a phrase, never */
    expect(lex, segs, "\"the cat\"", "thecat");
    struct qry *q = NULL, *lq = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_parse(tq_ctx, "the", 3, &q, &err), SD_OK);
    assert_int_equal(qry_with_lexicon(lex, q, &lq, &err), SD_OK);
    assert_null(lq); /* nothing changes */
    qry_free(q);
    qry_lexicon_free(lex);
}

/* The word being typed (a search box's prefix_last) is read with the lexicon as the word it is:
 * a stopword goes with its completions, as it would with a space after it (the completions of
 * "пожалуйста" alone would find nothing beside "лэптоп"), and a word with synonyms ranks as it
 * does finished: its inflections are not counted again as completions, the exact-form bonus of
 * the word typed is its own. */
static void test_qry_syn_word_being_typed(void **state)
{
    (void)state;
    struct qry_segment segs[1];
    build_docs(segs);
    struct qry_lexicon *lex = test_lexicon();
    char got[512], done[512];
    float s[16], d[16];
    static const char *const texts[] = {"лэптоп пожалуйста",
                                        "cat the",
                                        "ноутбук",
                                        "купил ноутбук",
                                        "искусственный интеллект",
                                        "искусственного интеллекта",
                                        "ИИ",
                                        "помогает ИИ"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char finished[64];
        snprintf(finished, sizeof finished, "%s ", texts[i]);
        ranked_flags(lex, segs, texts[i], QRY_SYNTAX_SIMPLE, QRY_SIMPLE_PREFIX_LAST, got,
                     sizeof got, s);
        ranked_flags(lex, segs, finished, QRY_SYNTAX_SIMPLE, QRY_SIMPLE_PREFIX_LAST, done,
                     sizeof done, d);
        if (strcmp(got, done) != 0 || done[0] == '\0') {
            fail_msg("'%s' being typed: [%s], finished: [%s]", texts[i], got, done);
        }
        size_t hits = 1;
        for (const char *c = done; *c; c++) {
            hits += *c == ' ';
        }
        for (size_t k = 0; k < hits && k < 16; k++) {
            if (s[k] != d[k]) {
                fail_msg("'%s' being typed: hit %zu of [%s] scores %g, finished %g", texts[i], k,
                         done, (double)s[k], (double)d[k]);
            }
        }
    }
    /* a stopword alone is kept, its completions with it */
    ranked_flags(lex, segs, "the", QRY_SYNTAX_SIMPLE, QRY_SIMPLE_PREFIX_LAST, got, sizeof got, s);
    assert_non_null(strstr(got, "who"));
    qry_lexicon_free(lex);
}

/* The words of q as the parser counts them against QRY_MAX_TERMS. */
static size_t count_words(const struct qry *q)
{
    size_t n = 0;
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *nd = &q->nodes[i];
        if (nd->type == QN_WORD || nd->type == QN_PREFIX) {
            n++;
        } else if (nd->type == QN_EXACT || nd->type == QN_PHRASE) {
            n += nd->term_count;
        }
    }
    return n;
}

/* Three words with 31 synonyms each (fewer distinct stems: "alphaas" stems as "alphaa"): the
 * first two get theirs, the third only what is left of QRY_MAX_TERMS, and the query runs. */
static void test_qry_syn_expansion_respects_max_terms(void **state)
{
    (void)state;
    struct qry_lexicon *lex = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_lexicon_new(&lex, &err), SD_OK);
    static const char *const stems[] = {"alpha", "beta", "gamma"};
    char words[3][32][16];
    const char *m[32];
    for (int g = 0; g < 3; g++) {
        for (int i = 0; i < 32; i++) {
            snprintf(words[g][i], sizeof words[g][i], "%s%c%c", stems[g], 'a' + i / 26,
                     'a' + i % 26);
            m[i] = words[g][i];
        }
        add_syn(lex, false, m, 32);
    }
    qry_lexicon_seal(lex);
    struct qry *q = lex_query(lex, "alphaaa betaaa gammaaa", QRY_SYNTAX_FULL);
    assert_int_equal(count_words(q), QRY_MAX_TERMS);
    size_t kids[3] = {0};
    size_t groups = 0;
    for (size_t i = 0; i < q->node_count && groups < 3; i++) {
        if (q->nodes[i].syn_role == QRY_SYN_GROUP) {
            for (int32_t c = q->nodes[i].first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
                kids[groups]++;
            }
            groups++;
        }
    }
    assert_int_equal(groups, 3);
    assert_true(kids[0] > 20 && kids[1] == kids[0]);
    assert_int_equal(kids[0] - 1 + kids[1] - 1 + kids[2] - 1 + 3, QRY_MAX_TERMS);
    assert_true(kids[2] < kids[1]);
    struct qry_segment segs[1];
    build_docs(segs);
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 10;
    struct qry_result r;
    assert_int_equal(qry_search(tq_ctx, q, segs, 1, &p, &r, &err), SD_OK);
    qry_result_free(&r);
    qry_free(q);
    qry_lexicon_free(lex);
}

/* Given the rewritten query, the highlighter marks the synonym's words (inflected too), a
 * multi-word one where its words stand together in order, as a phrase. */
static void test_qry_syn_highlight_marks_synonyms(void **state)
{
    (void)state;
    struct qry_lexicon *lex = test_lexicon();
    struct qry *q = lex_query(lex, "ИИ", QRY_SYNTAX_FULL);
    const char *text = "Системы искусственного интеллекта, или ИИ; интеллекта искусственного нет";
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 0;
    struct sd_buf out, spans;
    sd_buf_init(&out);
    sd_buf_init(&spans);
    size_t count = 0;
    assert_int_equal(qry_highlight(tq_ctx, q, text, strlen(text), &o, 0, &out, &count, &spans),
                     SD_OK);
    assert_string_equal((const char *)out.data,
                        "Системы <mark>искусственного</mark> <mark>интеллекта</mark>, или "
                        "<mark>ИИ</mark>; интеллекта искусственного нет");
    sd_buf_free(&out);
    sd_buf_free(&spans);
    qry_free(q);
    qry_lexicon_free(lex);
}

static void expect_lex_refused(int which, const char *s, const char *want)
{
    struct qry_lexicon *lex = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_lexicon_new(&lex, &err), SD_OK);
    int rc;
    if (which == 0) {
        rc = qry_lexicon_add_stopword(lex, s, strlen(s), &err);
    } else if (which == 1) {
        rc = qry_lexicon_add_stoplist(lex, s, &err);
    } else {
        const char *m[] = {"ok", s};
        size_t lens[] = {2, strlen(s)};
        rc = qry_lexicon_add_synonyms(lex, false, m, lens, 2, &err);
    }
    assert_int_equal(rc, SD_EINVAL);
    if (!strstr(err.msg, want)) {
        fail_msg("'%s': message '%s', want '%s'", s, err.msg, want);
    }
    qry_lexicon_free(lex);
}

static void test_qry_lexicon_refuses_what_cannot_match(void **state)
{
    (void)state;
    expect_lex_refused(0, "new york", "stopwords: 'new york' is not one word");
    expect_lex_refused(0, "...", "stopwords: '...' is not one word");
    expect_lex_refused(1, "de", "unknown list 'de'");
    expect_lex_refused(2, "!!!", "synonyms: '!!!' holds no word");
    expect_lex_refused(2, "a b c d e f g h i", "has more than 8 words");
}

/* Filter clauses in the query survive the rewrite: the copy owns its own clauses (q and the
 * copy are freed apart) and its QN_FILTER leaves still name them. */
static void test_qry_syn_keeps_filter_clauses(void **state)
{
    (void)state;
    struct qry_lexicon *lex = test_lexicon();
    struct sch_schema *schema = NULL;
    struct sd_error err = {0};
    const char *json = "{\"fields\": {\"title\": {\"type\": \"text\"},"
                       " \"lang\": {\"type\": \"keyword\"}, \"year\": {\"type\": \"int\"}}}";
    assert_int_equal(sch_parse(json, strlen(json), &schema, &err), SD_OK);
    const char *text = "ноутбук lang:ru year:>=2010";
    struct qry *q = NULL, *lq = NULL;
    assert_int_equal(qry_parse_schema(tq_ctx, text, strlen(text), schema, &q, &err), SD_OK);
    assert_int_equal(q->filter_count, 2);
    assert_int_equal(qry_with_lexicon(lex, q, &lq, &err), SD_OK);
    assert_non_null(lq); /* ноутбук -> лэптоп */
    assert_int_equal(lq->filter_count, q->filter_count);
    assert_ptr_not_equal(lq->filters, q->filters);
    size_t leaves = 0;
    for (size_t i = 0; i < lq->node_count; i++) {
        if (lq->nodes[i].type == QN_FILTER) {
            assert_true(lq->nodes[i].term < lq->filter_count);
            leaves++;
        }
    }
    assert_int_equal(leaves, 2);
    assert_memory_equal(lq->filters, q->filters, q->filter_count * sizeof *q->filters);
    qry_free(q);
    qry_free(lq);
    sch_free(schema);
    qry_lexicon_free(lex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_syn_two_way_multi_word_inflected),
        cmocka_unit_test(test_qry_syn_one_way),
        cmocka_unit_test(test_qry_syn_typed_word_never_outscored),
        cmocka_unit_test(test_qry_syn_stopwords_never_empty_a_query),
        cmocka_unit_test(test_qry_syn_word_being_typed),
        cmocka_unit_test(test_qry_syn_expansion_respects_max_terms),
        cmocka_unit_test(test_qry_syn_highlight_marks_synonyms),
        cmocka_unit_test(test_qry_lexicon_refuses_what_cannot_match),
        cmocka_unit_test(test_qry_syn_keeps_filter_clauses),
    };
    int rc = cmocka_run_group_tests(tests, tq_setup, tq_teardown);
    seg_close(g_seg);
    return rc;
}
