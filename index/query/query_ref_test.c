/*
 * query_ref_test.c: a brute-force reference check. Random documents and
 * random query trees; each query is rendered to text, searched, and compared
 * with a naive evaluator that walks every document's tokens (from the same
 * tokenizer) and applies the documented semantics directly:
 *   word      some token in scope has the word's stem
 *   phrase    the words' folded forms at consecutive positions in one field
 *   prefix    some token's folded form starts with the prefix
 *   AND/OR/-  as usual; deleted documents never match
 * Totals and hit sets must be equal, over two segments with deletes (fewer
 * than QRY_TOTAL_EXACT_UPTO matches, so totals are exact; query_prune_test.c
 * checks pruned top-k against exhaustive evaluation on a larger corpus).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query_test_util.h"

#define NDOCS   360
#define SPLIT   200
#define NFIELDS 2
#define MAXTOK  40

static const char *const vocab[] = {
    "run",   "runs",   "running", "cat",    "cats",  "green", "tree",  "trees",
    "city",  "cities", "walk",    "walked", "stone", "river", "дом",   "дома",
    "домов", "книга",  "книги",   "north",  "light", "blue",  "water", "player",
};
#define NVOCAB (sizeof vocab / sizeof vocab[0])

struct rtok {
    char word[32];
    char stem[32];
};

struct rdoc {
    char id[16];
    char text[NFIELDS][MAXTOK * 16];
    struct rtok tok[NFIELDS][MAXTOK];
    size_t ntok[NFIELDS];
    bool is_deleted;
};

static struct rdoc g_docs[NDOCS];
static unsigned g_seed = 42;
static const char *const field_names[NFIELDS] = {"title", "body"};

static unsigned rnd(unsigned n)
{
    g_seed = g_seed * 1103515245u + 12345u;
    return (g_seed >> 8) % n;
}

struct collect {
    struct rdoc *d;
    int f;
};

static int collect(void *arg, const struct stem_token *t)
{
    struct collect *c = arg;
    size_t *n = &c->d->ntok[c->f];
    assert_true(*n < MAXTOK && t->pos == *n && !t->is_compound);
    snprintf(c->d->tok[c->f][*n].word, 32, "%s", t->word);
    snprintf(c->d->tok[c->f][*n].stem, 32, "%s", t->stem);
    (*n)++;
    return 0;
}

static void make_docs(void)
{
    for (size_t i = 0; i < NDOCS; i++) {
        struct rdoc *d = &g_docs[i];
        snprintf(d->id, sizeof d->id, "r%zu", i);
        for (int f = 0; f < NFIELDS; f++) {
            unsigned n = f == 0 ? 1 + rnd(4) : 2 + rnd(25);
            d->text[f][0] = '\0';
            for (unsigned k = 0; k < n; k++) {
                unsigned w = rnd(3) ? rnd(8) : rnd(NVOCAB);
                strcat(d->text[f], k ? " " : "");
                strcat(d->text[f], vocab[w]);
            }
            struct collect c = {d, f};
            assert_int_equal(
                stem_tokenize(tq_stem, d->text[f], strlen(d->text[f]), 0, collect, &c, NULL), 0);
        }
        d->is_deleted = rnd(10) == 0;
    }
}

/* ---- query trees ---- */

enum rtype { R_WORD, R_PHRASE, R_PREFIX, R_AND, R_OR };

struct rnode {
    enum rtype type;
    int field; /* -1 = all */
    char a[32];
    char b[32];
    struct rnode *kid[4];
    bool is_neg[4];
    int nkids;
};

static void leaf(struct rnode *n)
{
    int r = (int)rnd(10);
    n->field = rnd(4) == 0 ? (int)rnd(NFIELDS) : -1;
    if (r < 5) {
        n->type = R_WORD;
        snprintf(n->a, sizeof n->a, "%s", vocab[rnd(3) ? rnd(10) : rnd(NVOCAB)]);
    } else if (r < 8) {
        /* a pair that occurs somewhere, so phrases sometimes match */
        const struct rdoc *d = &g_docs[rnd(NDOCS)];
        int f = 1;
        unsigned at = rnd((unsigned)d->ntok[f] - 1);
        n->type = R_PHRASE;
        snprintf(n->a, sizeof n->a, "%s", d->tok[f][at].word);
        snprintf(n->b, sizeof n->b, "%s", d->tok[f][at + 1].word);
    } else {
        const char *w = vocab[rnd(NVOCAB)];
        size_t len = (unsigned char)w[0] >= 0x80 ? 4 : 2 + rnd(2);
        n->type = R_PREFIX;
        snprintf(n->a, sizeof n->a, "%.*s", (int)len, w);
    }
}

static struct rnode *gen(int depth)
{
    struct rnode *n = calloc(1, sizeof *n);
    if (depth == 0 || rnd(3) == 0) {
        leaf(n);
        return n;
    }
    n->type = rnd(2) ? R_AND : R_OR;
    n->field = -1;
    n->nkids = 2 + (int)rnd(2);
    for (int i = 0; i < n->nkids; i++) {
        n->kid[i] = gen(depth - 1);
    }
    if (n->type == R_AND && rnd(2)) {
        n->kid[n->nkids] = gen(depth - 1);
        n->is_neg[n->nkids++] = true;
    }
    return n;
}

static void free_tree(struct rnode *n)
{
    for (int i = 0; i < n->nkids; i++) {
        free_tree(n->kid[i]);
    }
    free(n);
}

static void render(const struct rnode *n, char *buf, size_t cap)
{
    size_t len = strlen(buf);
    const char *f = n->field >= 0 ? field_names[n->field] : "";
    const char *colon = n->field >= 0 ? ":" : "";
    switch (n->type) {
    case R_WORD:
        snprintf(buf + len, cap - len, "%s%s%s", f, colon, n->a);
        return;
    case R_PHRASE:
        snprintf(buf + len, cap - len, "%s%s\"%s %s\"", f, colon, n->a, n->b);
        return;
    case R_PREFIX:
        snprintf(buf + len, cap - len, "%s%s%s*", f, colon, n->a);
        return;
    default:
        break;
    }
    strcat(buf, "(");
    for (int i = 0; i < n->nkids; i++) {
        if (i) {
            strcat(buf, n->type == R_OR ? " OR " : " ");
        }
        strcat(buf, n->is_neg[i] ? "-" : "");
        render(n->kid[i], buf, cap);
    }
    strcat(buf, ")");
}

/* ---- the naive evaluator ---- */

static bool field_matches(const struct rnode *n, const struct rdoc *d, int f, const char *stem)
{
    for (size_t i = 0; i < d->ntok[f]; i++) {
        const struct rtok *t = &d->tok[f][i];
        if (n->type == R_WORD && strcmp(t->stem, stem) == 0) {
            return true;
        }
        if (n->type == R_PREFIX && strncmp(t->word, n->a, strlen(n->a)) == 0) {
            return true;
        }
        if (n->type == R_PHRASE && i + 1 < d->ntok[f] && strcmp(t->word, n->a) == 0 &&
            strcmp(d->tok[f][i + 1].word, n->b) == 0) {
            return true;
        }
    }
    return false;
}

static bool naive(const struct rnode *n, const struct rdoc *d)
{
    if (n->type == R_AND || n->type == R_OR) {
        bool any = false;
        bool all = true;
        for (int i = 0; i < n->nkids; i++) {
            bool m = naive(n->kid[i], d);
            if (n->is_neg[i]) {
                all = all && !m;
            } else {
                all = all && m;
                any = any || m;
            }
        }
        return n->type == R_AND ? all : any;
    }
    const char *stem = NULL;
    size_t stem_len;
    if (n->type == R_WORD) {
        assert_int_equal(stem_word(tq_stem, n->a, strlen(n->a), &stem, &stem_len), 0);
    }
    char copy[64];
    snprintf(copy, sizeof copy, "%s", stem ? stem : "");
    for (int f = 0; f < NFIELDS; f++) {
        if ((n->field < 0 || n->field == f) && field_matches(n, d, f, copy)) {
            return true;
        }
    }
    return false;
}

static struct seg *build(size_t from, size_t to)
{
    struct tdoc *t = calloc(to - from, sizeof *t);
    for (size_t i = from; i < to; i++) {
        t[i - from] = (struct tdoc){g_docs[i].id, g_docs[i].text[0], g_docs[i].text[1], NULL};
    }
    struct seg *s = tseg_build(tq_stem, t, to - from);
    free(t);
    return s;
}

static void set_deleted(uint64_t *bits, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (g_docs[i].is_deleted) {
            bits[(i - from) / 64] |= 1ull << ((i - from) % 64);
        }
    }
}

/* Checks one query; returns the number of matches. */
static uint64_t check_query(const struct rnode *tree, const char *text,
                            const struct qry_segment *segs)
{
    char ids[NDOCS * 8];
    uint64_t total = tsearch_ids(tq_ctx, text, segs, 2, NULL, ids, sizeof ids);
    bool seen[NDOCS] = {false};
    for (char *tok = strtok(ids, " "); tok; tok = strtok(NULL, " ")) {
        seen[atoi(tok + 1)] = true;
    }
    uint64_t want = 0;
    for (size_t i = 0; i < NDOCS; i++) {
        bool m = !g_docs[i].is_deleted && naive(tree, &g_docs[i]);
        want += m;
        if (m != seen[i]) {
            fail_msg("'%s': doc r%zu (%s | %s): engine %d, reference %d", text, i,
                     g_docs[i].text[0], g_docs[i].text[1], seen[i], m);
        }
    }
    /* Every match fits in one answer here, so total is exact with a limit too;
     * with limit 0 it is exact by contract. */
    assert_int_equal(total, want);
    struct qry_params count_only;
    qry_params_default(&count_only);
    count_only.limit = 0;
    assert_int_equal(tsearch_ids(tq_ctx, text, segs, 2, &count_only, ids, sizeof ids), want);
    return want;
}

static void test_qry_matches_brute_force_reference(void **state)
{
    (void)state;
    make_docs();
    struct seg *s0 = build(0, SPLIT);
    struct seg *s1 = build(SPLIT, NDOCS);
    uint64_t del0[(SPLIT + 63) / 64] = {0};
    uint64_t del1[(NDOCS - SPLIT + 63) / 64] = {0};
    set_deleted(del0, 0, SPLIT);
    set_deleted(del1, SPLIT, NDOCS);
    struct qry_segment segs[] = {{s0, del0}, {s1, del1}};
    unsigned nonempty = 0;
    for (int i = 0; i < 1500; i++) {
        struct rnode *tree = gen(3);
        char text[QRY_MAX_LEN] = "";
        render(tree, text, sizeof text);
        struct qry *q = NULL;
        struct sd_error err;
        int rc = qry_parse(tq_ctx, text, strlen(text), &q, &err);
        qry_free(q);
        if (rc == SD_OK) { /* skip the rare tree made only of exclusions */
            nonempty += check_query(tree, text, segs) > 0;
        } else {
            assert_int_equal(rc, SD_EPARSE);
        }
        free_tree(tree);
    }
    assert_true(nonempty > 300); /* the check is not vacuous */
    seg_close(s0);
    seg_close(s1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_matches_brute_force_reference),
    };
    return cmocka_run_group_tests(tests, tq_setup, tq_teardown);
}
