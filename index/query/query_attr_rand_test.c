/*
 * query_attr_rand_test.c: filters, sort and facets against a brute-force evaluation. Each
 * round builds three segments of random documents (random attribute values, multi-valued
 * tags with duplicates, values missing, one segment sometimes built before any attribute
 * was declared, random deletions), then runs random filters (AND of random clauses) with
 * and without a word, random sorts and facets, and compares hits, totals and counts with
 * what a plain loop over the documents computes from the clauses' documented meaning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query_attr_util.h"

#define NSEG  3
#define PER   120
#define NDOCS (NSEG * PER)

static uint64_t g_rng = 42;

static const char *const g_langs[] = {"en", "ru", "de", "fr", "pt-BR"};
static const char *const g_tags[] = {"t0", "t1", "t2", "t3", "t4", "t5"};
static const char *const g_words[] = {"alpha", "bravo", "charlie", "delta"};

static uint32_t rnd(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

struct rdoc {
    struct tadoc d;
    char id[16];
    char title[16];
    char body[64];
    bool is_deleted;
    bool has_cols; /* false: its segment has no columns */
};

static struct rdoc g_docs[NDOCS];

static void make_doc(struct rdoc *r, uint32_t seg, uint32_t i)
{
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "s%u-%03u", seg, rnd(1000));
    snprintf(r->id + strlen(r->id), sizeof r->id - strlen(r->id), "-%u", i);
    snprintf(r->title, sizeof r->title, "T%03u", rnd(40));
    snprintf(r->body, sizeof r->body, "%s %s", g_words[rnd(4)], g_words[rnd(4)]);
    r->d = (struct tadoc){.id = r->id, .title = r->title, .body = r->body, .flag = -1};
    r->d.has_year = rnd(10) != 0;
    r->d.year = 1990 + rnd(35);
    r->d.has_price = rnd(8) != 0;
    r->d.price = (double)rnd(100) * 0.5;
    r->d.lang = rnd(10) ? g_langs[rnd(5)] : NULL;
    uint32_t nt = rnd(4);
    for (uint32_t k = 0; k < nt; k++) {
        r->d.tags[k] = g_tags[rnd(6)]; /* duplicates happen */
    }
    r->d.flag = (int)rnd(3) - 1;
}

/* ---- the brute-force meaning of a clause ---- */

enum ckind { C_YEAR_GE, C_YEAR_RANGE, C_LANG, C_NOT_LANG, C_TAGS_OR, C_PRICE_LT, C_FLAG };

struct clause {
    enum ckind kind;
    int64_t a, b;
    uint32_t s, t;
    const char *field;
    char text[64];
};

static bool has_tag(const struct tadoc *d, const char *t)
{
    for (size_t k = 0; k < TATTR_MAX_TAGS && d->tags[k]; k++) {
        if (strcmp(d->tags[k], t) == 0) {
            return true;
        }
    }
    return false;
}

static bool clause_match(const struct clause *c, const struct rdoc *r)
{
    const struct tadoc *d = &r->d;
    bool cols = r->has_cols;
    switch (c->kind) {
    case C_YEAR_GE:
        return cols && d->has_year && d->year >= c->a;
    case C_YEAR_RANGE:
        return cols && d->has_year && d->year >= c->a && d->year <= c->b;
    case C_LANG:
        return cols && d->lang && strcmp(d->lang, g_langs[c->s]) == 0;
    case C_NOT_LANG:
        return !(cols && d->lang && strcmp(d->lang, g_langs[c->s]) == 0);
    case C_TAGS_OR:
        return cols && (has_tag(d, g_tags[c->s]) || has_tag(d, g_tags[c->t]));
    case C_PRICE_LT:
        return cols && d->has_price && d->price < (double)c->a * 0.5;
    default:
        return cols && d->flag == (int)c->a;
    }
}

static void make_clause(struct clause *c)
{
    c->kind = (enum ckind)rnd(7);
    c->a = 1990 + rnd(35);
    c->b = c->a + rnd(10);
    c->s = rnd(5);
    c->t = rnd(6);
    switch (c->kind) {
    case C_YEAR_GE:
        c->field = "year";
        snprintf(c->text, sizeof c->text, "year:>=%lld", (long long)c->a);
        break;
    case C_YEAR_RANGE:
        c->field = "year";
        snprintf(c->text, sizeof c->text, "year:%lld..%lld", (long long)c->a, (long long)c->b);
        break;
    case C_LANG:
        c->field = "lang";
        snprintf(c->text, sizeof c->text, "lang:\"%s\"", g_langs[c->s]);
        break;
    case C_NOT_LANG:
        c->field = "lang";
        snprintf(c->text, sizeof c->text, "-lang:%s", g_langs[c->s]);
        break;
    case C_TAGS_OR:
        c->field = "tags";
        snprintf(c->text, sizeof c->text, "tags:(%s OR %s)", g_tags[c->s], g_tags[c->t]);
        break;
    case C_PRICE_LT:
        c->field = "price";
        c->a = rnd(100);
        snprintf(c->text, sizeof c->text, "price:<%g", (double)c->a * 0.5);
        break;
    default:
        c->field = "flag";
        c->a = rnd(2);
        snprintf(c->text, sizeof c->text, "flag:%s", c->a ? "true" : "false");
        break;
    }
}

/* The live documents a request matches: word (NULL: browse) and every clause but `skip`
 * (a field whose clauses are lifted, NULL: none). */
static bool doc_matches(const struct rdoc *r, const char *word, const struct clause *cl, size_t ncl,
                        const char *skip)
{
    if (r->is_deleted || (word && !strstr(r->body, word))) {
        return false;
    }
    for (size_t i = 0; i < ncl; i++) {
        if (!(skip && strcmp(cl[i].field, skip) == 0) && !clause_match(&cl[i], r)) {
            return false;
        }
    }
    return true;
}

/* ---- sort ---- */

struct skey {
    const char *name;
    bool is_desc;
};

static const struct skey *g_sort;

/* -1/0/1 by one key; no value last. */
static int key_cmp(const struct skey *k, const struct rdoc *x, const struct rdoc *y)
{
    double u = 0, v = 0;
    const char *su = NULL, *sv = NULL;
    bool hu = x->has_cols, hv = y->has_cols;
    if (strcmp(k->name, "year") == 0) {
        hu = hu && x->d.has_year;
        hv = hv && y->d.has_year;
        u = (double)x->d.year;
        v = (double)y->d.year;
    } else if (strcmp(k->name, "price") == 0) {
        hu = hu && x->d.has_price;
        hv = hv && y->d.has_price;
        u = x->d.price;
        v = y->d.price;
    } else if (strcmp(k->name, "lang") == 0) {
        hu = hu && x->d.lang;
        hv = hv && y->d.lang;
        su = x->d.lang;
        sv = y->d.lang;
    } else if (strcmp(k->name, "tags") == 0) {
        const struct rdoc *r[2] = {x, y};
        const char *best[2] = {NULL, NULL};
        for (int j = 0; j < 2; j++) {
            for (size_t t = 0; t < TATTR_MAX_TAGS && r[j]->d.tags[t]; t++) {
                int c = best[j] ? strcmp(r[j]->d.tags[t], best[j]) : 0;
                if (!best[j] || (k->is_desc ? c > 0 : c < 0)) {
                    best[j] = r[j]->d.tags[t];
                }
            }
        }
        hu = hu && best[0];
        hv = hv && best[1];
        su = best[0];
        sv = best[1];
    } else { /* title: always there */
        hu = hv = true;
        su = x->title;
        sv = y->title;
    }
    if (hu != hv) {
        return hu ? -1 : 1;
    }
    if (!hu) {
        return 0;
    }
    int c = su ? strcmp(su, sv) : (u > v) - (u < v);
    c = c > 0 ? 1 : c < 0 ? -1 : 0;
    return k->is_desc ? -c : c;
}

static int cmp_sorted(const void *a, const void *b)
{
    const struct rdoc *x = *(const struct rdoc *const *)a, *y = *(const struct rdoc *const *)b;
    for (const struct skey *k = g_sort; k->name; k++) {
        int c = key_cmp(k, x, y);
        if (c) {
            return c;
        }
    }
    return strcmp(x->id, y->id); /* browsing: every score is 0 */
}

static int cmp_ptr_id(const void *a, const void *b)
{
    return strcmp((*(const struct rdoc *const *)a)->id, (*(const struct rdoc *const *)b)->id);
}

/* ---- facets ---- */

struct count {
    char key[32];
    uint64_t n;
};

static int cmp_count(const void *a, const void *b)
{
    const struct count *x = a, *y = b;
    if (x->n != y->n) {
        return x->n > y->n ? -1 : 1;
    }
    return strcmp(x->key, y->key);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const struct count *)a)->key, ((const struct count *)b)->key);
}

static void bump(struct count *c, size_t *n, const char *key)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(c[i].key, key) == 0) {
            c[i].n++;
            return;
        }
    }
    snprintf(c[*n].key, sizeof c[*n].key, "%s", key);
    c[(*n)++].n = 1;
}

/* The brute-force "v=c ... o=0 m=N" of facet lang, tags or year:interval=10. */
static void brute_facet(const char *field, const char *word, const struct clause *cl, size_t ncl,
                        char *out, size_t cap)
{
    struct count c[64];
    size_t n = 0;
    uint64_t missing = 0;
    for (size_t i = 0; i < NDOCS; i++) {
        const struct rdoc *r = &g_docs[i];
        if (!doc_matches(r, word, cl, ncl, field)) {
            continue;
        }
        const struct tadoc *d = &r->d;
        char key[32];
        if (strcmp(field, "lang") == 0) {
            if (!r->has_cols || !d->lang) {
                missing++;
                continue;
            }
            bump(c, &n, d->lang);
        } else if (strcmp(field, "year") == 0) {
            if (!r->has_cols || !d->has_year) {
                missing++;
                continue;
            }
            snprintf(key, sizeof key, "%lld", (long long)(d->year / 10 * 10));
            bump(c, &n, key);
        } else {
            if (!r->has_cols || !d->tags[0]) {
                missing++;
                continue;
            }
            for (size_t t = 0; t < TATTR_MAX_TAGS && d->tags[t]; t++) {
                bool is_dup = false;
                for (size_t u = 0; u < t; u++) {
                    is_dup |= strcmp(d->tags[u], d->tags[t]) == 0;
                }
                if (!is_dup) {
                    bump(c, &n, d->tags[t]);
                }
            }
        }
    }
    if (strcmp(field, "year") == 0) {
        qsort(c, n, sizeof *c, cmp_key); /* intervals by value: four digits each */
    } else {
        qsort(c, n, sizeof *c, cmp_count);
    }
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(out + len, cap - len, "%s=%llu ", c[i].key,
                                (unsigned long long)c[i].n);
    }
    snprintf(out + len, cap - len, "o=0 m=%llu", (unsigned long long)missing);
}

/* ---- one round ---- */

struct round {
    struct seg *segs[NSEG];
    uint64_t del[NSEG][(PER + 63) / 64];
    struct qry_segment qs[NSEG];
};

static void build_round(struct round *rd)
{
    bool old_seg = rnd(2) == 0;
    memset(rd->del, 0, sizeof rd->del);
    for (uint32_t s = 0; s < NSEG; s++) {
        struct tadoc d[PER];
        for (uint32_t i = 0; i < PER; i++) {
            struct rdoc *r = &g_docs[s * PER + i];
            make_doc(r, s, i);
            r->has_cols = !(old_seg && s == 1);
            r->is_deleted = rnd(10) == 0;
            if (r->is_deleted) {
                rd->del[s][i / 64] |= UINT64_C(1) << (i % 64);
            }
            d[i] = r->d;
        }
        rd->segs[s] = tattr_build(tattr_stem, d, PER, !(old_seg && s == 1));
        rd->qs[s] = (struct qry_segment){rd->segs[s], rd->del[s]};
    }
}

/* Runs q with sort and one facet spec (either may be NULL) over the round: the hit ids
 * space-separated into ids, the facet as "v=c ... o=N m=N" into facet. Returns total. */
static uint64_t engine(struct round *rd, const char *q, const char *sort, const char *spec,
                       char *ids, size_t cap, char *facet, size_t fcap)
{
    struct sd_error err = {0};
    struct qry *qq = NULL;
    struct qry_sort *so = NULL;
    struct qry_facets *f = NULL;
    if (qry_parse_schema(tattr_ctx, q, strlen(q), tattr_schema_, &qq, &err) ||
        (sort && qry_sort_parse(sort, strlen(sort), tattr_schema_, &so, &err)) ||
        (spec && qry_facets_parse(&spec, 1, tattr_schema_, &f, &err))) {
        fail_msg("'%s': %s", q, err.msg);
    }
    struct qry_params p;
    qry_params_default(&p);
    p.limit = QRY_MAX_LIMIT;
    p.sort = so;
    p.facets = f;
    struct qry_result r;
    if (qry_search(tattr_ctx, qq, rd->qs, NSEG, &p, &r, &err)) {
        fail_msg("search '%s': %s", q, err.msg);
    }
    assert_true(r.total_is_exact);
    size_t len = 0;
    ids[0] = '\0';
    for (size_t i = 0; i < r.nhits; i++) {
        const char *id;
        size_t id_len;
        seg_doc_id(rd->qs[r.hits[i].segment].seg, r.hits[i].doc, &id, &id_len);
        len += (size_t)snprintf(ids + len, cap - len, "%s%.*s", i ? " " : "", (int)id_len, id);
    }
    if (spec) {
        const struct qry_facet *fc = &r.facets[0];
        size_t fl = 0;
        facet[0] = '\0';
        for (size_t i = 0; i < fc->nbuckets; i++) {
            fl += (size_t)snprintf(facet + fl, fcap - fl, "%s=%llu ", fc->buckets[i].value,
                                   (unsigned long long)fc->buckets[i].count);
        }
        snprintf(facet + fl, fcap - fl, "o=%llu m=%llu", (unsigned long long)fc->others,
                 (unsigned long long)fc->missing);
    }
    uint64_t total = r.total;
    qry_result_free(&r);
    qry_sort_free(so);
    qry_facets_free(f);
    qry_free(qq);
    return total;
}

/* The brute-force hits: matches in sort order (g_sort set) or by id. */
static uint64_t brute(const char *word, const struct clause *cl, size_t ncl, bool is_sorted,
                      char *ids, size_t cap)
{
    const struct rdoc *m[NDOCS];
    size_t n = 0;
    for (size_t i = 0; i < NDOCS; i++) {
        if (doc_matches(&g_docs[i], word, cl, ncl, NULL)) {
            m[n++] = &g_docs[i];
        }
    }
    qsort(m, n, sizeof *m, is_sorted ? cmp_sorted : cmp_ptr_id);
    size_t len = 0;
    ids[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(ids + len, cap - len, "%s%s", i ? " " : "", m[i]->id);
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The ids of a space-separated list, sorted (for searches ranked by score). */
static void sort_ids(char *ids)
{
    char *parts[NDOCS];
    size_t n = 0;
    char copy[NDOCS * 16];
    snprintf(copy, sizeof copy, "%s", ids);
    for (char *t = strtok(copy, " "); t; t = strtok(NULL, " ")) {
        parts[n++] = t;
    }
    qsort(parts, n, sizeof *parts, cmp_str);
    char out[NDOCS * 16];
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? " " : "", parts[i]);
    }
    strcpy(ids, out);
}

static void test_attr_random_filters_sorts_facets_equal_brute_force(void **state)
{
    (void)state;
    static const struct skey sorts[][3] = {
        {{"year", false}, {NULL, false}},  {{"year", true}, {"lang", false}, {NULL, false}},
        {{"price", false}, {NULL, false}}, {{"lang", true}, {"price", true}, {NULL, false}},
        {{"tags", false}, {NULL, false}},  {{"tags", true}, {"year", false}, {NULL, false}},
        {{"title", false}, {NULL, false}},
    };
    static const char *const sort_text[] = {
        "year", "year:desc,lang", "price:asc", "lang:desc,price:desc",
        "tags", "tags:desc,year", "title"};
    static const char *const facets[] = {"lang", "tags", "year"};
    static const char *const specs[] = {"lang", "tags", "year:interval=10"};
    char want[NDOCS * 16], got[NDOCS * 16], wf[512], gf[512];
    for (int round = 0; round < 12; round++) {
        struct round rd;
        build_round(&rd);
        for (int t = 0; t < 25; t++) {
            struct clause cl[3];
            size_t ncl = 1 + rnd(3);
            char q[256] = "";
            for (size_t i = 0; i < ncl; i++) {
                make_clause(&cl[i]);
                strcat(q, i ? " " : "");
                strcat(q, cl[i].text);
            }
            const char *word = rnd(2) ? g_words[rnd(4)] : NULL;
            char full[300];
            snprintf(full, sizeof full, "%s%s%s", word ? word : "", word ? " " : "", q);
            size_t si = rnd(7), fi = rnd(3);
            bool is_sorted = word == NULL; /* browsing: every score is 0, ties by id */
            g_sort = sorts[si];
            uint64_t bt = brute(word, cl, ncl, is_sorted, want, sizeof want);
            uint64_t et = engine(&rd, full, is_sorted ? sort_text[si] : NULL, specs[fi], got,
                                 sizeof got, gf, sizeof gf);
            if (!is_sorted) {
                sort_ids(got);
            }
            brute_facet(facets[fi], word, cl, ncl, wf, sizeof wf);
            if (bt != et || strcmp(want, got) != 0 || strcmp(wf, gf) != 0) {
                fail_msg("round %d '%s' sort '%s' facet '%s':\n total %llu / %llu\n want %s\n "
                         "got  %s\n facet want %s\n facet got  %s",
                         round, full, is_sorted ? sort_text[si] : "-", specs[fi],
                         (unsigned long long)bt, (unsigned long long)et, want, got, wf, gf);
            }
        }
        for (uint32_t s = 0; s < NSEG; s++) {
            seg_close(rd.segs[s]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attr_random_filters_sorts_facets_equal_brute_force),
    };
    return cmocka_run_group_tests(tests, tattr_setup, tattr_teardown);
}
