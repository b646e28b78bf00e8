/*
 * query_lev_test.c: the Levenshtein automaton (lev.c) against a brute-force
 * Damerau (optimal string alignment) distance (an edit of the first letter
 * counting 2), on random Russian and English
 * words and their misspellings, fed in dictionary order; and a dictionary walk
 * that seeks past dead prefixes finds exactly the brute-force matches while
 * reading a fraction of the terms; and the walk over a dictionary in memory (qry_lev_walk)
 * reports exactly the brute-force matches, in order, over the whole of it or under a prefix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query_int.h"

#define NWORDS 3000
#define MAXW   64 /* bytes of a test word */

static unsigned g_seed = 99;

static unsigned rnd(unsigned n)
{
    g_seed = g_seed * 1103515245u + 12345u;
    return (g_seed >> 16) % n;
}

/* Code points of a UTF-8 word (test words are valid). */
static size_t cps(const char *s, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; s[i];) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            out[n++] = c;
            i++;
        } else {
            out[n++] = ((uint32_t)(c & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3Fu);
            i += 2;
        }
    }
    return n;
}

/* Optimal string alignment distance in which an edit of a's first letter (substituting or
 * deleting it, inserting before it) costs 2, the automaton's rule. */
static unsigned osa(const char *a, const char *b)
{
    uint32_t x[MAXW], y[MAXW];
    size_t n = cps(a, x), m = cps(b, y);
    unsigned d[MAXW + 1][MAXW + 1];
    d[0][0] = 0;
    for (size_t i = 1; i <= n; i++) {
        d[i][0] = (unsigned)i + 1;
    }
    for (size_t j = 1; j <= m; j++) {
        d[0][j] = (unsigned)j + 1;
    }
    for (size_t i = 1; i <= n; i++) {
        unsigned first = i == 1;
        for (size_t j = 1; j <= m; j++) {
            unsigned v = d[i - 1][j - 1] + (x[i - 1] != y[j - 1] ? 1 + first : 0);
            v = d[i - 1][j] + 1 + first < v ? d[i - 1][j] + 1 + first : v;
            v = d[i][j - 1] + 1 < v ? d[i][j - 1] + 1 : v;
            if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] &&
                d[i - 2][j - 2] + 1 < v) {
                v = d[i - 2][j - 2] + 1;
            }
            d[i][j] = v;
        }
    }
    return d[n][m];
}

static const char *const ru_letters[] = {"а", "б", "в", "г", "д", "е", "ж", "з", "и", "й", "к",
                                         "л", "м", "н", "о", "п", "р", "с", "т", "у", "ф", "х",
                                         "ц", "ч", "ш", "щ", "ъ", "ы", "ь", "э", "ю", "я"};

/* A random word of min..12 letters. */
static void random_word(char *w, bool is_ru, unsigned alphabet, unsigned min)
{
    size_t len = min + rnd(13 - min), o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned c = rnd(alphabet);
        if (is_ru) {
            memcpy(w + o, ru_letters[c], 2);
            o += 2;
        } else {
            w[o++] = (char)('a' + c);
        }
    }
    w[o] = '\0';
}

/* word with up to `edits` random Damerau edits. */
static void misspell(const char *word, char *out, bool is_ru, unsigned edits)
{
    uint32_t c[MAXW];
    size_t n = cps(word, c);
    for (unsigned e = 0; e < edits && n + 1 < MAXW / 2; e++) {
        unsigned op = rnd(4);
        size_t at = n ? rnd((unsigned)n) : 0;
        uint32_t letter = is_ru ? 0x0430 + rnd(32) : 'a' + rnd(26);
        if (op == 0 || n == 0) {
            memmove(c + at + 1, c + at, (n - at) * sizeof *c);
            c[at] = letter;
            n++;
        } else if (op == 1) {
            memmove(c + at, c + at + 1, (n - at - 1) * sizeof *c);
            n--;
        } else if (op == 2) {
            c[at] = letter;
        } else if (at + 1 < n) {
            uint32_t t = c[at];
            c[at] = c[at + 1];
            c[at + 1] = t;
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i] < 0x80) {
            out[o++] = (char)c[i];
        } else {
            out[o++] = (char)(0xC0 | (c[i] >> 6));
            out[o++] = (char)(0x80 | (c[i] & 0x3F));
        }
    }
    out[o] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char g_store[2 * NWORDS][MAXW];
static const char *g_dict[2 * NWORDS];

/* Sorts g_dict[0, n), drops repeats and empty words; returns how many are left. */
static size_t sort_dict(size_t n)
{
    qsort(g_dict, n, sizeof *g_dict, cmp_str);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (g_dict[i][0] && (out == 0 || strcmp(g_dict[out - 1], g_dict[i]) != 0)) {
            g_dict[out++] = g_dict[i];
        }
    }
    return out;
}

/* A sorted, deduplicated dictionary: random words and misspellings of pattern. */
static size_t make_dict(const char *pattern, bool is_ru)
{
    size_t n = 0;
    for (size_t i = 0; i < 2 * NWORDS; i++) {
        if (i % 10 == 0) {
            misspell(pattern, g_store[i], is_ru, 1 + rnd(3));
        } else {
            random_word(g_store[i], is_ru, is_ru ? 32 : 26, 1);
        }
        g_dict[n++] = g_store[i];
    }
    return sort_dict(n);
}

/* First index >= lo of a term >= key. */
static size_t lower_bound(size_t lo, size_t n, const char *key)
{
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(g_dict[mid], key) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Every term fed in order: match and distance agree with brute force (want[i], the pattern's
 * distance from g_dict[i]), and a seek target or "done" never skips a term within reach. */
static void check_feed_all(const char *pattern, unsigned k, size_t n, const unsigned *want)
{
    struct qry_lev *a = malloc(sizeof *a);
    assert_non_null(a);
    assert_int_equal(qry_lev_init(a, pattern, strlen(pattern), k), SD_OK);
    for (size_t i = 0; i < n; i++) {
        unsigned dist = 99;
        char seek[STEM_MAX_TOKEN + 1];
        size_t seek_len = 0;
        int r = qry_lev_feed(a, g_dict[i], strlen(g_dict[i]), &dist, seek, &seek_len);
        if ((r == QRY_LEV_MATCH) != (want[i] <= k) || (r == QRY_LEV_MATCH && dist != want[i])) {
            fail_msg("'%s' vs '%s' k=%u: automaton %d/%u, brute %u", pattern, g_dict[i], k, r, dist,
                     want[i]);
        }
        size_t skip_to = i + 1;
        if (r == QRY_LEV_SEEK) {
            seek[seek_len] = '\0';
            assert_true(strcmp(seek, g_dict[i]) > 0);
            skip_to = lower_bound(i + 1, n, seek);
        } else if (r == QRY_LEV_DONE) {
            skip_to = n;
        }
        for (size_t j = i + 1; j < skip_to; j++) {
            if (want[j] <= k) {
                fail_msg("'%s' k=%u: after '%s' the walk skips '%s', within reach", pattern, k,
                         g_dict[i], g_dict[j]);
            }
        }
    }
    free(a);
}

/* A walk that seeks as the automaton says (a caller of qry_lev_feed that can seek) finds the
 * same terms (want as in check_feed_all). */
static void check_seek_walk(const char *pattern, unsigned k, size_t n, const unsigned *want_dist,
                            size_t *visited)
{
    struct qry_lev *a = malloc(sizeof *a);
    assert_non_null(a);
    assert_int_equal(qry_lev_init(a, pattern, strlen(pattern), k), SD_OK);
    size_t found = 0, want = 0;
    for (size_t i = 0; i < n; i++) {
        want += want_dist[i] <= k;
    }
    *visited = 0;
    for (size_t i = 0; i < n;) {
        unsigned dist;
        char seek[STEM_MAX_TOKEN + 1];
        size_t seek_len = 0;
        (*visited)++;
        int r = qry_lev_feed(a, g_dict[i], strlen(g_dict[i]), &dist, seek, &seek_len);
        found += r == QRY_LEV_MATCH;
        if (r == QRY_LEV_DONE) {
            break;
        }
        if (r != QRY_LEV_SEEK) {
            i++;
            continue;
        }
        seek[seek_len] = '\0';
        i = lower_bound(i + 1, n, seek);
    }
    assert_int_equal(found, want);
    free(a);
}

/* The exact forms of a dictionary as seg_exact_terms has them (one field, field 0); df[i] = i + 1
 * so that a test can tell which term a callback saw. Caller frees with seg_exact_terms_free. */
static struct seg_exact_terms *mem_terms(const char *const *dict, size_t n)
{
    static uint32_t df[2 * NWORDS];
    for (size_t i = 0; i < n; i++) {
        df[i] = (uint32_t)i + 1; /* a df of 0 would say the field has no such term */
    }
    struct seg_exact_terms *t = NULL;
    assert_int_equal(seg_exact_terms_of(dict, df, n, &t), SD_OK);
    return t;
}

struct seen {
    const char *const *dict;
    uint32_t idx[2 * NWORDS];
    unsigned dist[2 * NWORDS];
    size_t n;
};

static int see_term(void *arg, const char *term, size_t len, unsigned dist, uint32_t df)
{
    struct seen *v = arg;
    assert_true(df >= 1);
    df--;
    assert_true(len == strlen(v->dict[df]) && memcmp(term, v->dict[df], len) == 0);
    assert_true(v->n < 2 * NWORDS);
    v->idx[v->n] = df;
    v->dist[v->n++] = dist;
    return 0;
}

/* qry_lev_walk (qry_lev_walk_prefix with is_prefix_mode) over dict[0, n) in memory (under
 * prefix when set) reports exactly the terms that `want` says are within k (want[i] its
 * distance, or above k), in order, with their distance. */
static void check_walk_mode(const char *pattern, unsigned k, const char *const *dict, size_t n,
                            const char *prefix, const unsigned *want, bool is_prefix_mode)
{
    struct seg_exact_terms *t = mem_terms(dict, n);
    struct qry_lev *a = malloc(sizeof *a);
    struct seen *v = calloc(1, sizeof *v);
    assert_true(a && v);
    v->dict = dict;
    assert_int_equal(qry_lev_init(a, pattern, strlen(pattern), k), SD_OK);
    size_t plen = strlen(prefix);
    static const unsigned field0[] = {0};
    int rc = is_prefix_mode ? qry_lev_walk_prefix(a, t, field0, 1, prefix, plen, see_term, v)
                            : qry_lev_walk(a, t, field0, 1, prefix, plen, see_term, v);
    assert_int_equal(rc, SD_OK);
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        bool is_in = want[i] <= k && strncmp(dict[i], prefix, plen) == 0;
        bool is_seen = got < v->n && v->idx[got] == i;
        if (is_in != is_seen || (is_seen && v->dist[got] != want[i])) {
            fail_msg("'%s' k=%u prefix '%s'%s: '%s' (distance %u) %s", pattern, k, prefix,
                     is_prefix_mode ? " (prefix walk)" : "", dict[i], want[i],
                     is_seen ? "reported wrongly" : "missed");
        }
        got += is_seen;
    }
    assert_int_equal(got, v->n);
    free(v);
    free(a);
    seg_exact_terms_free(t);
}

static void check_mem_walk(const char *pattern, unsigned k, const char *const *dict, size_t n,
                           const char *prefix, const unsigned *want)
{
    check_walk_mode(pattern, k, dict, n, prefix, want, false);
}

/* The walk in memory against brute force (want as in check_feed_all): every term, under the
 * first k characters (as the narrow typo walk reads) and under a prefix of one character. */
static void check_mem_walks(const char *pattern, unsigned k, size_t n, const unsigned *want)
{
    char prefix[MAXW];
    size_t plen = qry_lev_prefix_len(pattern, strlen(pattern), k);
    memcpy(prefix, pattern, plen);
    prefix[plen] = '\0';
    check_mem_walk(pattern, k, g_dict, n, "", want);
    check_mem_walk(pattern, k, g_dict, n, prefix, want);
    plen = qry_lev_prefix_len(g_dict[n / 2], strlen(g_dict[n / 2]), 1);
    memcpy(prefix, g_dict[n / 2], plen);
    prefix[plen] = '\0';
    check_mem_walk(pattern, k, g_dict, n, prefix, want);
}

static void run_alphabet(bool is_ru)
{
    /* The brute-force distances, once per dictionary: the checks for both k share them (osa
     * dominated this test's time, ASan's most of all, when each check computed its own). */
    static unsigned want[2 * NWORDS];
    char pattern[MAXW];
    size_t visited_total[3] = {0}, terms_total = 0;
    for (int round = 0; round < 12; round++) {
        random_word(pattern, is_ru, is_ru ? 32 : 26, QRY_TYPO_ONE_EDIT);
        size_t n = make_dict(pattern, is_ru);
        terms_total += n;
        for (size_t i = 0; i < n; i++) {
            want[i] = osa(pattern, g_dict[i]);
        }
        for (unsigned k = 1; k <= 2; k++) {
            check_feed_all(pattern, k, n, want);
            size_t visited;
            check_seek_walk(pattern, k, n, want, &visited);
            visited_total[k] += visited;
            check_mem_walks(pattern, k, n, want);
        }
    }
    /* The walk skips what no match can start with: with 1 edit only terms starting with the
     * word's first letter (or its second, swapped) are read; with 2 a first letter costs the
     * whole budget, so few. One term in ten is a misspelling of the pattern, and is read. */
    printf("walk visited %zu (k=1), %zu (k=2) of %zu terms\n", visited_total[1], visited_total[2],
           terms_total);
    assert_true(visited_total[1] * 5 < terms_total);
    assert_true(visited_total[2] * 3 < terms_total);
}

/* The least distance of pattern from a prefix of term (the empty one included), in whole
 * characters: what the prefix walk reports a term at. */
static unsigned prefix_osa(const char *pattern, const char *term)
{
    char p[MAXW];
    size_t len = strlen(term);
    unsigned best = osa(pattern, "");
    for (size_t i = 1; i <= len; i++) {
        if (i < len && ((unsigned char)term[i] & 0xC0) == 0x80) {
            continue; /* not the end of a character */
        }
        memcpy(p, term, i);
        p[i] = '\0';
        unsigned d = osa(pattern, p);
        best = d < best ? d : best;
    }
    return best;
}

/* A sorted, deduplicated dictionary for the prefix walk: random words, and words that start
 * with a misspelling of pattern or of its first half (a word being typed) and go on. */
static size_t make_prefix_dict(const char *pattern, bool is_ru)
{
    size_t n = 0;
    char half[MAXW], suffix[MAXW];
    size_t chars = strlen(pattern) / (is_ru ? 2 : 1);
    size_t hlen = qry_lev_prefix_len(pattern, strlen(pattern), (chars + 1) / 2);
    memcpy(half, pattern, hlen);
    half[hlen] = '\0';
    for (size_t i = 0; i < 2 * NWORDS; i++) {
        if (i % 5 == 0) {
            misspell(i % 10 == 0 ? pattern : half, g_store[i], is_ru, rnd(3));
            random_word(suffix, is_ru, is_ru ? 32 : 26, 1);
            size_t used = strlen(g_store[i]);
            suffix[rnd(4) * (is_ru ? 2 : 1)] = '\0'; /* 0-3 more letters */
            if (used + strlen(suffix) < MAXW) {
                strcat(g_store[i], suffix);
            }
        } else {
            random_word(g_store[i], is_ru, is_ru ? 32 : 26, 1);
        }
        g_dict[n++] = g_store[i];
    }
    return sort_dict(n);
}

/* The prefix walk against brute force (prefix_osa), with the whole dictionary and under the
 * pattern's first letter, as stats.c walks a word being typed, and the same rule for one term
 * (qry_lev_match_prefix, as the highlighter checks a word), for words of both alphabets. */
static void test_qry_lev_prefix_walk_matches_brute_force(void **state)
{
    (void)state;
    static unsigned want[2 * NWORDS];
    for (int round = 0; round < 16; round++) {
        bool is_ru = round % 2;
        char pattern[MAXW];
        random_word(pattern, is_ru, is_ru ? 32 : 26, QRY_TYPO_ONE_EDIT);
        size_t n = make_prefix_dict(pattern, is_ru);
        size_t within = 0;
        for (size_t i = 0; i < n; i++) {
            want[i] = prefix_osa(pattern, g_dict[i]);
            within += want[i] <= 1;
        }
        assert_true(within > n / 20); /* the dictionary does test completions */
        char first[8];
        size_t flen = qry_lev_prefix_len(pattern, strlen(pattern), 1);
        memcpy(first, pattern, flen);
        first[flen] = '\0';
        for (unsigned k = 1; k <= 2; k++) {
            struct qry_lev *a = malloc(sizeof *a);
            assert_non_null(a);
            assert_int_equal(qry_lev_init(a, pattern, strlen(pattern), k), SD_OK);
            for (size_t i = 0; i < n; i++) {
                unsigned dist = 99;
                bool is_match = qry_lev_match_prefix(a, g_dict[i], strlen(g_dict[i]), &dist);
                if (is_match != (want[i] <= k) || (is_match && dist != want[i])) {
                    fail_msg("'%s' k=%u: '%s' matched as a prefix %d at %u, brute force %u",
                             pattern, k, g_dict[i], is_match, dist, want[i]);
                }
            }
            free(a);
            check_walk_mode(pattern, k, g_dict, n, "", want, true);
            check_walk_mode(pattern, k, g_dict, n, first, want, true);
        }
    }
}

static void test_qry_lev_prefix_walk_examples(void **state)
{
    (void)state;
    static const char *const dict[] = {"diploma",  "diplomacy", "diplomat", "diplomatic",
                                       "dipper",   "цифровая",  "цифровой", "цифры"};
    size_t n = sizeof dict / sizeof dict[0];
    static const struct {
        const char *word;
        unsigned want[8]; /* per dict term; 9: not reported */
    } cases[] = {
        {"diplomc", {1, 1, 1, 1, 9, 9, 9, 9}},  /* "diploma" one edit away starts them all */
        {"diplom", {0, 0, 0, 0, 9, 9, 9, 9}},   /* typed right: every completion, at 0 */
        {"dipolmat", {9, 9, 1, 1, 9, 9, 9, 9}}, /* a transposition */
        {"цифров", {9, 9, 9, 9, 9, 0, 0, 9}},
        {"шифров", {9, 9, 9, 9, 9, 9, 9, 9}},   /* the first letter costs 2 */
        {"цифрвая", {9, 9, 9, 9, 9, 1, 9, 9}},  /* an insertion, at the end of the term */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_walk_mode(cases[i].word, 1, dict, n, "", cases[i].want, true);
    }
}

static void test_qry_lev_matches_brute_force_english(void **state)
{
    (void)state;
    run_alphabet(false);
}

static void test_qry_lev_matches_brute_force_russian(void **state)
{
    (void)state;
    run_alphabet(true);
}

/* Both alphabets in one dictionary, Latin-1 letters, and bytes that start no valid sequence
 * (a stray 0xE9 decodes to the value of "é", as in qry_lev_feed): the walk reports what the
 * automaton fed term by term matches. */
static void test_qry_lev_walk_mixed_and_stray_bytes(void **state)
{
    (void)state;
    static const char *const extra[] = {"caf\xc3\xa9s", "caf\xe9s", "cafes", "caf\xe9", "caf\xd0",
                                        "caf\xd0x", "caf\xd0\xb0s", "caf\xc3", "cafe\x80s",
                                        "\xc3\xa9tude", "\xe9tude", "etudes", "bxaf\xe9s",
                                        "bxaf\xc3\xa9s"};
    size_t n = 0, nextra = sizeof extra / sizeof extra[0];
    for (size_t i = 0; i < 2 * NWORDS; i++) {
        if (i < nextra) {
            strcpy(g_store[i], extra[i]);
        } else if (i < nextra + 26) {
            /* many terms under "bxaf", where the pattern "bcafés" has spent its edit: the node
             * is searched for the band's characters, "é" among them, which a stray byte matches */
            snprintf(g_store[i], MAXW, "bxaf%cq", (char)('a' + (i - nextra)));
        } else {
            random_word(g_store[i], i % 2, i % 2 ? 32 : 26, 1);
        }
        g_dict[n++] = g_store[i];
    }
    qsort(g_dict, n, sizeof *g_dict, cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || strcmp(g_dict[m - 1], g_dict[i]) != 0) {
            g_dict[m++] = g_dict[i];
        }
    }
    static const char *const patterns[] = {"caf\xc3\xa9s", "cafes", "\xc3\xa9tudes", "caf\xe9s",
                                           "кафес", "\xd0\xb0" "bcde",
                                           "bcaf\xc3\xa9s"};
    struct qry_lev *a = malloc(sizeof *a);
    static unsigned want[2 * NWORDS];
    assert_non_null(a);
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        for (unsigned k = 1; k <= 2; k++) {
            for (size_t i = 0; i < m; i++) {
                assert_int_equal(qry_lev_init(a, patterns[p], strlen(patterns[p]), k), SD_OK);
                char seek[STEM_MAX_TOKEN + 1];
                size_t seek_len;
                unsigned dist = k + 1;
                int r = qry_lev_feed(a, g_dict[i], strlen(g_dict[i]), &dist, seek, &seek_len);
                want[i] = r == QRY_LEV_MATCH ? dist : k + 1;
            }
            check_mem_walk(patterns[p], k, g_dict, m, "", want);
            check_mem_walk(patterns[p], k, g_dict, m, "caf", want);
        }
    }
    free(a);
}

/* seg_exact_terms_df finds every form of the trie (stray bytes and forms that are prefixes of
 * others too) with its df, and 0 for a prefix that is no form, an extension, a form split
 * otherwise, and a field the table does not have. */
static void test_seg_exact_terms_df_finds_every_form(void **state)
{
    (void)state;
    static const char *const forms[] = {"caf",          "cafes",    "caf\xc3", "caf\xc3\xa9",
                                        "caf\xc3\xa9s", "caf\xe9",   "caf\xe9s", "zz",
                                        "\xd0\xba\xd0\xb0", "\xd0\xba\xd0\xb0\xd1\x84"};
    size_t n = sizeof forms / sizeof forms[0];
    struct seg_exact_terms *t = mem_terms(forms, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(seg_exact_terms_df(t, 0, forms[i], strlen(forms[i])), i + 1);
        assert_int_equal(seg_exact_terms_df(t, 1, forms[i], strlen(forms[i])), 0);
    }
    static const char *const absent[] = {"ca", "cafe", "cafesx", "caf\xc3\xa9x", "\xd0\xba", "z",
                                         "zzz", "\xe9"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        assert_int_equal(seg_exact_terms_df(t, 0, absent[i], strlen(absent[i])), 0);
    }
    assert_int_equal(seg_exact_terms_df(t, 0, "", 0), 0);
    seg_exact_terms_free(t);
}

static void test_qry_lev_examples(void **state)
{
    (void)state;
    struct qry_lev *a = malloc(sizeof *a);
    assert_non_null(a);
    static const struct {
        const char *word, *term;
        unsigned k;
        int is_match;
        unsigned dist;
    } cases[] = {
        {"diplomacy", "diplomcy", 1, 1, 1},
        {"diplomacy", "dipolmacy", 1, 1, 1}, /* transpose */
        {"diplomacy", "diplomacies", 1, 0, 0},
        {"diplomacy", "diplomacies", 2, 0, 0},
        {"цифровая", "цифравая", 1, 1, 1},
        {"цифровая", "цифровя", 1, 1, 1},
        {"цифровая", "цыфравая", 1, 0, 0},
        {"цифровая", "цыфравая", 2, 1, 2},
        {"abc", "abc", 0, 1, 0},
        {"diplomacy", "tiplomacy", 1, 0, 0},
        {"diplomacy", "tiplomacy", 2, 1, 2}, /* 1st letter */
        {"diplomacy", "iplomacy", 1, 0, 0},
        {"diplomacy", "idplomacy", 1, 1, 1},
        {"diplomacy", "adiplomacy", 1, 0, 0},
        {"diplomacy", "diplomacyy", 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(qry_lev_init(a, cases[i].word, strlen(cases[i].word), cases[i].k), SD_OK);
        unsigned dist = 99;
        char seek[STEM_MAX_TOKEN + 1];
        size_t seek_len;
        int m = qry_lev_feed(a, cases[i].term, strlen(cases[i].term), &dist, seek, &seek_len) ==
                QRY_LEV_MATCH;
        if (m != cases[i].is_match || (m && dist != cases[i].dist)) {
            fail_msg("%s ~ %s k=%u: %d/%u", cases[i].word, cases[i].term, cases[i].k, m, dist);
        }
    }
    char w[QRY_LEV_MAX_CHARS + 2];
    memset(w, 'a', sizeof w);
    assert_int_equal(qry_lev_init(a, w, sizeof w, 1), SD_ELIMIT);
    assert_int_equal(qry_lev_max_edits("абвг", 8), 0);
    assert_int_equal(qry_lev_max_edits("абвгд", 10), 1);
    assert_int_equal(qry_lev_max_edits("diplomacy", 9), 2);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_lev_walk_mixed_and_stray_bytes),
        cmocka_unit_test(test_qry_lev_examples),
        cmocka_unit_test(test_seg_exact_terms_df_finds_every_form),
        cmocka_unit_test(test_qry_lev_matches_brute_force_english),
        cmocka_unit_test(test_qry_lev_matches_brute_force_russian),
        cmocka_unit_test(test_qry_lev_prefix_walk_examples),
        cmocka_unit_test(test_qry_lev_prefix_walk_matches_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
