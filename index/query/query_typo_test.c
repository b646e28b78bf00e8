/*
 * query_typo_test.c: the typo reading over real segments (typo.c, stats.c's walk_fuzzy): the
 * pruning rules of the dictionary walk and what each could miss. A word that some document
 * has gets no near misses; the narrow walk (the typed form's first k characters fixed) finds
 * typos past them; when it finds no form one edit away, the whole dictionary is walked, so a
 * typo in the first letters (a swap of the first two, an edit of the second) and a closer form
 * outside the narrow subtree are still found, and did_you_mean names the closest.
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

/* The typo reading of text over docs: hit ids in rank order into ids, the correction into dym
 * ("" when none). Returns the total. */
static uint64_t typo_search_parsed(const struct tdoc *docs, size_t n, struct qry *q,
                                   const char *text, bool is_every_word, char *ids, size_t cap,
                                   char *dym, size_t dym_cap)
{
    struct seg *s = tseg_build(tq_stem, docs, n);
    struct qry_segment seg = {.seg = s};
    struct qry *fq = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_with_typos(q, is_every_word, &fq, &err), SD_OK);
    assert_non_null(fq);
    struct qry_params p;
    qry_params_default(&p);
    p.limit = 100;
    struct qry_result r;
    if (qry_search(tq_ctx, fq, &seg, 1, &p, &r, &err)) {
        fail_msg("qry_search '%s': %s", text, err.msg);
    }
    size_t len = 0;
    ids[0] = '\0';
    for (size_t i = 0; i < r.nhits; i++) {
        const char *id;
        size_t id_len;
        seg_doc_id(s, r.hits[i].doc, &id, &id_len);
        len += (size_t)snprintf(ids + len, cap - len, "%s%.*s", i ? " " : "", (int)id_len, id);
        assert_true(len < cap);
    }
    struct sd_buf out;
    sd_buf_init(&out);
    bool is_corrected = false;
    assert_int_equal(qry_did_you_mean(tq_ctx, fq, text, strlen(text), &out, &is_corrected), SD_OK);
    snprintf(dym, dym_cap, "%s", is_corrected ? (const char *)out.data : "");
    sd_buf_free(&out);
    uint64_t total = r.total;
    qry_result_free(&r);
    qry_free(fq);
    qry_free(q);
    seg_close(s);
    return total;
}

/* The typo reading of text (the full syntax) over docs: see typo_search_parsed. */
static uint64_t typo_search_every(const struct tdoc *docs, size_t n, const char *text,
                                  bool is_every_word, char *ids, size_t cap, char *dym,
                                  size_t dym_cap)
{
    return typo_search_parsed(docs, n, tqry(tq_ctx, text), text, is_every_word, ids, cap, dym,
                              dym_cap);
}

static uint64_t typo_search(const struct tdoc *docs, size_t n, const char *text, char *ids,
                            size_t cap, char *dym, size_t dym_cap)
{
    return typo_search_every(docs, n, text, false, ids, cap, dym, dym_cap);
}

/* The typo reading of text as a search box sends it (prefix_last: its last word being typed). */
static uint64_t typing_typo_search(const struct tdoc *docs, size_t n, const char *text,
                                   char *ids, size_t cap, char *dym, size_t dym_cap)
{
    return typo_search_parsed(docs, n, tqry_typing(tq_ctx, text), text, false, ids, cap, dym,
                              dym_cap);
}

/* The typo reading of text finds want_total documents, want_ids first, and corrects it to
 * want_dym (NULL: not checked), both as the full syntax reads it and as a search box sends
 * it (its last word being typed: no space after it). */
static void assert_both_readings(const struct tdoc *docs, size_t n, const char *text,
                                 uint64_t want_total, const char *want_ids, const char *want_dym)
{
    char ids[256], dym[256];
    for (int is_typing = 0; is_typing < 2; is_typing++) {
        uint64_t total = is_typing
                             ? typing_typo_search(docs, n, text, ids, sizeof ids, dym, sizeof dym)
                             : typo_search(docs, n, text, ids, sizeof ids, dym, sizeof dym);
        if (total != want_total || strcmp(ids, want_ids) != 0 ||
            (want_dym && strcmp(dym, want_dym) != 0)) {
            fail_msg("'%s'%s: %llu '%s' '%s', want %llu '%s' '%s'", text,
                     is_typing ? " being typed" : "", (unsigned long long)total, ids, dym,
                     (unsigned long long)want_total, want_ids, want_dym ? want_dym : "");
        }
    }
}

/* The near forms of one typed word share the df of the most frequent (Lucene's blended
 * fuzzy rewrite), and a word typed alone weighs them by their share of it: the documents of
 * the common reading, the one did_you_mean names, come first. Each with its own idf, the rare
 * form's page (which says it over and over, in a short text) outranked them all. */
static void test_qry_typo_rare_near_form_ranks_below_the_common_one(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "rare", .title = "inet_pton", .body = "inet_pton pton pton"},
        {.id = "common1", .title = "python", .body = "the python language and its library"},
        {.id = "common2", .body = "scripts in python run on every system we ship"},
        {.id = "common3", .body = "a python module for the network, with a long manual"},
        {.id = "other", .body = "nothing near"},
    };
    char ids[256], dym[256];
    for (int is_typing = 0; is_typing < 2; is_typing++) {
        uint64_t total =
            is_typing ? typing_typo_search(docs, 5, "pyton", ids, sizeof ids, dym, sizeof dym)
                      : typo_search(docs, 5, "pyton", ids, sizeof ids, dym, sizeof dym);
        assert_int_equal(total, 4);
        assert_string_equal(dym, "python");
        assert_memory_equal(ids, "common", 6); /* a page of "python" first, not "rare" */
    }
}

static void test_qry_typo_known_word_gets_no_near_misses(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "right", .body = "public diplomacy"},
        {.id = "near", .body = "public diplomacu"}, /* one edit from a word some document has */
    };
    char ids[256], dym[256];
    assert_int_equal(typo_search(docs, 2, "diplomacy", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "right");
    assert_string_equal(dym, "");
    /* the unknown word next to it still gets its near misses */
    assert_int_equal(typo_search(docs, 2, "publik diplomacy", ids, sizeof ids, dym, sizeof dym),
                     1);
    assert_string_equal(ids, "right");
    assert_string_equal(dym, "public diplomacy");
}

/* A misspelling that a few documents share is a word some document has: only the every-word
 * reading (the engine's when the words, each found, find nothing together) corrects it, and
 * names the correction when it is clearly the commoner form. */
static void test_qry_typo_every_word_corrects_a_shared_misspelling(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "target", .body = "программное штамповать деталей"},
        {.id = "common1", .body = "программное обеспечение"},
        {.id = "common2", .body = "программное управление"},
        {.id = "common3", .body = "программное решение"},
        {.id = "common4", .body = "программное средство"},
        {.id = "misspelt", .body = "програмное обеспечение"},
    };
    char ids[256], dym[256];
    assert_int_equal(typo_search_every(docs, 6, "програмное штамповать", false, ids, sizeof ids,
                                       dym, sizeof dym),
                     0);
    assert_int_equal(typo_search_every(docs, 6, "програмное штамповать", true, ids, sizeof ids,
                                       dym, sizeof dym),
                     1);
    assert_string_equal(ids, "target");
    assert_string_equal(dym, "программное штамповать");
    /* "штамповать" (one document) has no commoner near form: it stays as typed */
    assert_int_equal(typo_search_every(docs, 6, "программное штамповать", true, ids, sizeof ids,
                                       dym, sizeof dym),
                     1);
    assert_string_equal(dym, "");
}

/* A typo in a word's stem is one edit from the form meant and further from its other
 * inflections: the document with that form ranks first, as it does for the query typed right
 * (its exact-form bonus), though another says another inflection of the stem more often. */
static void test_qry_typo_ranks_the_closest_form_first(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "other", .body = "receives receives receives"},
        {.id = "meant", .body = "received the parcel"},
        {.id = "ru-other", .body = "параметры параметры параметры функции"},
        {.id = "ru-meant", .body = "параметром функции"},
    };
    assert_both_readings(docs, 4, "recieved", 2, "meant other", "received");
    assert_both_readings(docs, 4, "парамтером", 2, "ru-meant ru-other", "параметром");
}

/* In an AND, a corrected word's closest form counts as its typed form: the exact-form bonus
 * goes only to a document with every word's form (the word as typed, or the form closest to
 * the typo), as for the query typed right; one that repeats the other word as typed but says
 * the corrected one otherwise gets none. */
static void test_qry_typo_bonus_needs_every_form(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "repeats", .body = "express express express express parcels"},
        {.id = "meant", .body = "express parcel notes"},
        {.id = "pascal", .body = "pascal language"}, /* "parcal" has two near stems */
        /* "parcel" common, "express" rare: without the gate, the repeated word wins */
        {.id = "f1", .body = "parcel one"},
        {.id = "f2", .body = "parcel two"},
        {.id = "f3", .body = "parcel three"},
        {.id = "f4", .body = "parcel four"},
    };
    assert_both_readings(docs, 7, "express parcal", 2, "meant repeats", NULL);
}

/* A finished query in a search box gives the exact-form bonus in the typo reading as it does
 * with a space after its last word: only to a document with every word's form (the word as
 * typed, the corrected one's closest form), not to one with only the last word as typed. */
static void test_qry_typo_word_being_typed_gives_the_bonus_as_a_word(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "one-typed", .body = "expressed parcels"},
        {.id = "neither", .body = "expressing parcels expressing parcels"},
        {.id = "closest", .body = "parcel"}, /* makes "parcel" the closest form of "parcal" */
    };
    /* the word corrected first, the one typed right last: as a box sends it, the last word is
     * the word being typed, and in the typo reading that word stands with its near forms */
    assert_both_readings(docs, 3, "parcal expressed", 2, "neither one-typed", NULL);
}

/* The typo reading weighs the forms as the reading typed right does (typed.c: exact_boost x
 * QRY_TYPED_GAIN), so a rare corrected form in a short document beats a common word repeated. */
static void test_qry_typo_reading_weighs_forms_as_typed(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "repeats", .body = "website website website website general"},
        {.id = "meant", .body = "website generalized notes"},
        {.id = "f1", .body = "generalized one"},
        {.id = "f2", .body = "generalized two"},
        {.id = "f3", .body = "generalized three"},
        {.id = "f4", .body = "generalized four"},
    };
    assert_both_readings(docs, 6, "website genfralized", 2, "meant repeats",
                         "website generalized");
}

/* Over two segments: the closest form is in one, the other inflection in the other; each
 * segment looks the form up (or, from its trie, knows it lacks it) on its own, and the
 * document with the form still ranks first. */
static void test_qry_typo_closest_form_across_segments(void **state)
{
    (void)state;
    const struct tdoc first[] = {{.id = "other", .body = "receives receives receives"}};
    const struct tdoc second[] = {{.id = "meant", .body = "received the parcel"}};
    struct seg *s1 = tseg_build(tq_stem, first, 1);
    struct seg *s2 = tseg_build(tq_stem, second, 1);
    struct qry_segment segs[] = {{.seg = s1}, {.seg = s2}};
    struct qry *q = tqry(tq_ctx, "recieved");
    struct qry *fq = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_with_typos(q, false, &fq, &err), SD_OK);
    struct qry_params p;
    qry_params_default(&p);
    struct qry_result r;
    assert_int_equal(qry_search(tq_ctx, fq, segs, 2, &p, &r, &err), SD_OK);
    assert_int_equal(r.nhits, 2);
    assert_int_equal(r.hits[0].segment, 1);
    assert_int_equal(r.hits[1].segment, 0);
    assert_true(r.hits[0].score > r.hits[1].score);
    qry_result_free(&r);
    qry_free(fq);
    qry_free(q);
    seg_close(s2);
    seg_close(s1);
}

static void test_qry_typo_narrow_walk_finds_typos_past_the_first_letters(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "en", .body = "the information age"},
        {.id = "ru", .body = "цифровая дипломатия"},
        {.id = "other", .body = "formation of diplomats"},
    };
    char ids[256], dym[256];
    /* 11 letters: the first one fixed, one edit (a swap) further on */
    assert_int_equal(typo_search(docs, 3, "inofrmation", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "en");
    assert_string_equal(dym, "information");
    /* two swaps: no form one edit away, so the whole dictionary within two */
    assert_int_equal(typo_search(docs, 3, "infromatoin", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "en");
    assert_string_equal(dym, "information");
    /* the second letter swapped with the third: one edit, under the first letter */
    assert_int_equal(typo_search(docs, 3, "ifnormation", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "en");
    /* 8 letters, 1 edit: the first one fixed; a deletion */
    assert_int_equal(typo_search(docs, 3, "цифрвая", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "ru");
    assert_string_equal(dym, "цифровая");
}

/* What the narrow walk cannot see: the typo is in the letters it keeps. It finds no form one
 * edit away, so the whole dictionary is walked. */
static void test_qry_typo_in_the_first_letters_widens_the_walk(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "graph", .body = "a graph of cities"},
        {.id = "info", .body = "the information age"},
        {.id = "dip", .body = "цифровая дипломатия"},
    };
    char ids[256], dym[256];
    /* the first two letters swapped (1 edit): nothing starts with "r" */
    assert_int_equal(typo_search(docs, 3, "rgaph", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "graph");
    assert_string_equal(dym, "graph");
    /* the second letter deleted, in Russian */
    assert_int_equal(typo_search(docs, 3, "дпломатия", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "dip");
    assert_string_equal(dym, "дипломатия");
}

/* Under the typed first letter only a form two edits away: the narrow walk (one edit) finds
 * nothing, the whole dictionary is walked, and a form one edit away under other first letters
 * is the reading kept and the one did_you_mean names. */
static void test_qry_typo_two_edit_narrow_match_still_widens(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "far", .body = "kaxydefghij"},  /* the first letter kept, two edits further on */
        {.id = "near", .body = "akbcdefghij"}, /* the first two swapped: one edit */
    };
    char ids[256], dym[256];
    /* the wide walk finds the form one edit away; the one two edits away is then not
     * searched (closest_only: a worse reading of the same typo) */
    assert_int_equal(typo_search(docs, 2, "kabcdefghij", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "near");
    assert_string_equal(dym, "akbcdefghij");
}

/* Every form one edit away is a reading of the typo, wherever the edit is but the first letter:
 * in a word long enough for two edits, one edit at the second letter is found beside one edit
 * at the last (the narrow walk keeps the first letter only, whatever the word's length). */
static void test_qry_typo_long_word_edit_at_the_second_letter(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "last", .body = "kabcdefghiq"},   /* the last letter substituted */
        {.id = "second", .body = "kxbcdefghij"}, /* the second letter substituted */
        {.id = "two", .body = "kabcdefgxyj"},    /* two edits: a worse reading */
    };
    char ids[256], dym[256];
    assert_int_equal(typo_search(docs, 3, "kabcdefghij", ids, sizeof ids, dym, sizeof dym), 2);
    assert_non_null(strstr(ids, "last"));
    assert_non_null(strstr(ids, "second"));
}

/* One walk reads the forms of every field in scope: a form in title and body counts its
 * documents in both (did_you_mean prefers it to a form only the body has, in fewer), and a
 * word searched in the title only gets the near misses the title has. */
static void test_qry_typo_walks_the_fields_in_scope(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "a", .title = "diplomacy", .body = "one"},
        {.id = "b", .body = "diplomary"},
        {.id = "c", .body = "diplomary"},
        {.id = "d", .title = "diplomacy", .body = "diplomacy"},
    };
    char ids[256], dym[256];
    assert_int_equal(typo_search(docs, 4, "diplomazy", ids, sizeof ids, dym, sizeof dym), 4);
    assert_string_equal(dym, "diplomacy"); /* in 3 documents' fields, against 2 */
    assert_int_equal(typo_search(docs, 4, "title:diplomazy", ids, sizeof ids, dym, sizeof dym),
                     2);
    assert_string_equal(ids, "a d"); /* not b or c: their near miss is in the body */
    assert_string_equal(dym, "title:diplomacy");
}

/* A misspelt compound ("e-mial") is corrected whole, its joined form spelt with the typed
 * hyphens where the corrected letters line up with the typed parts: "e-mail", not the first
 * part replaced by the joined form ("email-mial"). */
static void test_qry_typo_did_you_mean_keeps_a_compound_whole(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "mail", .body = "send an e-mail today"},
        {.id = "course", .body = "новый онлайн-курс открыт"},
    };
    static const struct {
        const char *typed, *want;
    } cases[] = {
        {"e-mial", "e-mail"},           /* a swap */
        {"e-mmail", "e-mail"},          /* a letter too many, after the hyphen */
        {"онлаин-курс", "онлайн-курс"}, /* a substitution */
        {"онлйн-курс", "онлайн-курс"},  /* a letter left out, before the hyphen */
        {"send e-mial today", "send e-mail today"},
    };
    char ids[256], dym[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        typo_search(docs, 2, cases[i].typed, ids, sizeof ids, dym, sizeof dym);
        if (strcmp(dym, cases[i].want) != 0) {
            fail_msg("'%s': did_you_mean '%s', want '%s'", cases[i].typed, dym, cases[i].want);
        }
    }
}

/* The correction is spelt in the case the word was typed in: a capital first letter, or all
 * capitals ("Windos 11" is "Windows 11", not "windows 11"); a word typed otherwise gets the
 * form as the index holds it. */
static void test_qry_typo_did_you_mean_keeps_the_case(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "win", .body = "windows upgrade"},
        {.id = "dip", .body = "цифровая дипломатия"},
    };
    static const struct {
        const char *typed, *want;
    } cases[] = {
        {"Windos", "Windows"},
        {"WINDOS upgrade", "WINDOWS upgrade"},
        {"windos", "windows"},
        {"wINDOS", "windows"},
        {"Цифравая дипломатия", "Цифровая дипломатия"},
        {"ЦИФРАВАЯ ДИПЛОМАТИЯ", "ЦИФРОВАЯ ДИПЛОМАТИЯ"},
        {"E-Mial", "E-mail"},
    };
    const struct tdoc mail = {.id = "mail", .body = "e-mail"};
    char ids[256], dym[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool is_mail = cases[i].typed[0] == 'E';
        typo_search(is_mail ? &mail : docs, is_mail ? 1 : 2, cases[i].typed, ids, sizeof ids, dym,
                    sizeof dym);
        if (strcmp(dym, cases[i].want) != 0) {
            fail_msg("'%s': did_you_mean '%s', want '%s'", cases[i].typed, dym, cases[i].want);
        }
    }
}

/* The word being typed may hold a typo before it is whole: its near forms are sought as a
 * prefix, so "diplomc" finds what "diploma..." starts, and "дипломти" finds "дипломатия",
 * where as a whole word they find only what lies within an edit of them. A form within reach
 * as a whole ranks first and is the correction named, as the word itself ranks above its
 * completions; a first letter typed wrong still costs two edits. */
static void test_qry_typo_word_being_typed_finds_near_completions(void **state)
{
    (void)state;
    const struct tdoc docs[] = {
        {.id = "digital", .body = "digital diplomacy"},
        {.id = "public", .body = "public diplomacy"},
        {.id = "school", .body = "a diploma from school"},
        {.id = "mission", .body = "a diplomatic mission"},
        {.id = "other", .body = "a dipper of water"},
        {.id = "ru", .body = "цифровая дипломатия"},
    };
    size_t n = sizeof docs / sizeof docs[0];
    char ids[256], dym[256];
    assert_int_equal(typing_typo_search(docs, n, "diplomc", ids, sizeof ids, dym, sizeof dym),
                     4);
    /* "diploma", one edit from the word as typed, first and named; then what it starts */
    assert_memory_equal(ids, "school ", 7);
    assert_non_null(strstr(ids, "digital"));
    assert_non_null(strstr(ids, "public"));
    assert_non_null(strstr(ids, "mission"));
    assert_string_equal(dym, "diploma");
    /* the same word, whole (the full syntax has no word being typed): "diploma" alone */
    assert_int_equal(typo_search(docs, n, "diplomc", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "school");
    /* and before other words, it is whole too */
    assert_int_equal(typing_typo_search(docs, n, "diplomc public", ids, sizeof ids, dym,
                                        sizeof dym),
                     0);
    assert_int_equal(typing_typo_search(docs, n, "дипломти", ids, sizeof ids, dym, sizeof dym),
                     1);
    assert_string_equal(ids, "ru");
    assert_string_equal(dym, "дипломатия");
    assert_int_equal(typo_search(docs, n, "дипломти", ids, sizeof ids, dym, sizeof dym), 0);
    assert_int_equal(typing_typo_search(docs, n, "tiplomc", ids, sizeof ids, dym, sizeof dym),
                     0);
    /* a word being typed that starts some document's word is no typo: "expre" is on its way
     * to "expressive", and "exprimo" (one edit from its start) is not added */
    const struct tdoc more[] = {{.id = "expressive", .body = "expressive art"},
                                {.id = "exprimo", .body = "exprimo"}};
    assert_int_equal(typing_typo_search(more, 2, "expre", ids, sizeof ids, dym, sizeof dym), 1);
    assert_string_equal(ids, "expressive");
    assert_string_equal(dym, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_typo_known_word_gets_no_near_misses),
        cmocka_unit_test(test_qry_typo_every_word_corrects_a_shared_misspelling),
        cmocka_unit_test(test_qry_typo_ranks_the_closest_form_first),
        cmocka_unit_test(test_qry_typo_bonus_needs_every_form),
        cmocka_unit_test(test_qry_typo_reading_weighs_forms_as_typed),
        cmocka_unit_test(test_qry_typo_closest_form_across_segments),
        cmocka_unit_test(test_qry_typo_narrow_walk_finds_typos_past_the_first_letters),
        cmocka_unit_test(test_qry_typo_in_the_first_letters_widens_the_walk),
        cmocka_unit_test(test_qry_typo_two_edit_narrow_match_still_widens),
        cmocka_unit_test(test_qry_typo_long_word_edit_at_the_second_letter),
        cmocka_unit_test(test_qry_typo_walks_the_fields_in_scope),
        cmocka_unit_test(test_qry_typo_word_being_typed_finds_near_completions),
        cmocka_unit_test(test_qry_typo_word_being_typed_gives_the_bonus_as_a_word),
        cmocka_unit_test(test_qry_typo_did_you_mean_keeps_a_compound_whole),
        cmocka_unit_test(test_qry_typo_did_you_mean_keeps_the_case),
        cmocka_unit_test(test_qry_typo_rare_near_form_ranks_below_the_common_one),
    };
    return cmocka_run_group_tests(tests, tq_setup, tq_teardown);
}
