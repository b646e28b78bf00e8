/*
 * bench_snippet.c: what a hit's snippet of a 1 MB document costs (issue 12), through the
 * whole stored record (seg_doc_load + qry_snippet / qry_highlight: the path before format 5)
 * and through a view that decompresses only the chunks it needs (seg_doc_view_open +
 * qry_snippet_doc / qry_highlight_doc: the engine's path now).
 *
 *   bench-snippet DOCS.tsv [RUNS]
 *
 * DOCS.tsv is the peers' file (docid \t lang \t title \t body). The Russian bodies are joined
 * (a space between) into one body of about 1 MiB of real text, with the phrase "квантовой
 * криптографии" written at 2% of it ("start") and at 98% ("end"), and "Ярославль" at 98%
 * only. The cases: those words, a word no document has, the prefix "ярослав*" and the typo
 * reading of "ярославкь". That document is built into an in-memory segment beside a small one (the
 * first Russian document, "small": its record is one block, so both paths read it whole). Each case
 * is timed RUNS times (default 200) after one warm-up; the median per call is printed with the raw
 * bytes decompressed per call, as one JSON object per line. The two paths' outputs are compared
 * first: the program fails if they differ.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query.h"
#include "seg.h"

#define BODY_TARGET (1u << 20)

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The Russian bodies of path joined up to BODY_TARGET bytes, the phrases inserted. */
static char *read_body(const char *path, size_t *len, char **small)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *body = malloc(BODY_TARGET + 4096);
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    bool put_start = false, put_end = false;
    while (n < BODY_TARGET && (got = getline(&line, &cap, f)) > 0) {
        char *cols[4] = {line, NULL, NULL, NULL};
        for (int c = 1; c < 4 && cols[c - 1]; c++) {
            char *tab = strchr(cols[c - 1], '\t');
            cols[c] = tab ? tab + 1 : NULL;
            if (tab) {
                *tab = '\0';
            }
        }
        if (!cols[3] || strcmp(cols[1], "ru") != 0) {
            continue;
        }
        cols[3][strcspn(cols[3], "\n")] = '\0';
        if (!*small && strlen(cols[3]) < 4000) {
            *small = strdup(cols[3]);
        }
        size_t bl = strlen(cols[3]);
        bl = bl > BODY_TARGET - n ? BODY_TARGET - n : bl;
        while (bl > 0 && ((unsigned char)cols[3][bl] & 0xC0) == 0x80) {
            bl--; /* whole characters */
        }
        memcpy(body + n, cols[3], bl);
        n += bl;
        const char *phrase = NULL;
        if (!put_start && n > BODY_TARGET / 50) {
            phrase = " квантовой криптографии ";
            put_start = true;
        } else if (!put_end && n > BODY_TARGET / 50 * 49) {
            phrase = " квантовой криптографии Ярославль ";
            put_end = true;
        }
        n += (size_t)sprintf(body + n, "%s", phrase ? phrase : " ");
    }
    free(line);
    fclose(f);
    *len = n;
    return body;
}

struct bench {
    struct seg *s;
    uint32_t doc; /* 0: the small document, 1: the 1 MiB one */
    struct qry_ctx *ctx;
    const struct qry *q;
    size_t snippet_len;
    bool is_highlight;
};

/* One hit's snippet (or highlight) of doc 1; *raw gets the bytes decompressed. */
static int run_once(const struct bench *b, bool is_view, struct sd_buf *out, size_t *raw)
{
    struct sd_error err = {0};
    struct sd_buf spans;
    sd_buf_init(&spans);
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = b->snippet_len;
    size_t n;
    int rc;
    if (is_view) {
        struct seg_doc_view v;
        rc = seg_doc_view_open(b->s, b->doc, &v, &err);
        const struct seg_field *body = rc ? NULL : &v.st.fields[1];
        if (rc == SD_OK) {
            rc = b->is_highlight
                     ? qry_highlight_doc(b->ctx, b->q, &v, body, &o, 1, out, &n, &spans, NULL, &err)
                     : qry_snippet_doc(b->ctx, b->q, &v, body, b->snippet_len, out, &err);
        }
        *raw = v.raw_loaded;
        seg_doc_view_free(&v);
    } else {
        struct seg_stored st;
        rc = seg_doc_load(b->s, b->doc, &st, &err);
        const struct seg_field *body = rc ? NULL : &st.fields[1];
        if (rc == SD_OK) {
            rc = b->is_highlight
                     ? qry_highlight(b->ctx, b->q, body->value, body->value_len, &o, 1, out, &n,
                                     &spans)
                     : qry_snippet(b->ctx, b->q, body->value, body->value_len, b->snippet_len, out);
        }
        *raw = st.buf.len;
        seg_stored_free(&st);
    }
    sd_buf_free(&spans);
    if (rc) {
        fprintf(stderr, "bench-snippet: %s\n", err.msg[0] ? err.msg : "failed");
    }
    return rc;
}

/* Times one query; with is_typo, its typo reading (the engine's when the words as typed find
 * little: each word OR its typo leaf). */
static int run_case(struct bench *b, const char *name, const char *query, bool is_typo, int runs)
{
    struct qry *q, *fq = NULL;
    struct sd_error err = {0};
    if (qry_parse(b->ctx, query, strlen(query), &q, &err) ||
        (is_typo && (qry_with_typos(q, false, &fq, &err) || !fq))) {
        fprintf(stderr, "bench-snippet: %s: %s\n", query, err.msg);
        return 1;
    }
    if (fq) {
        qry_free(q);
        q = fq;
    }
    b->q = q;
    struct sd_buf whole, viewed;
    sd_buf_init(&whole);
    sd_buf_init(&viewed);
    size_t raw_whole, raw_view;
    int rc = run_once(b, false, &whole, &raw_whole) || run_once(b, true, &viewed, &raw_view);
    if (rc || whole.len != viewed.len || memcmp(whole.data, viewed.data, whole.len) != 0) {
        fprintf(stderr, "bench-snippet: %s: the two paths differ\n", name);
        return 1;
    }
    double *t = malloc((size_t)runs * sizeof *t), med[2];
    for (int is_view = 0; is_view < 2; is_view++) {
        for (int r = 0; r < runs; r++) {
            size_t raw;
            sd_buf_reset(&viewed);
            double t0 = now_us();
            run_once(b, is_view, &viewed, &raw);
            t[r] = now_us() - t0;
        }
        qsort(t, (size_t)runs, sizeof *t, cmp_double);
        med[is_view] = t[runs / 2];
    }
    printf("{\"case\":\"%s\",\"query\":\"", name);
    for (const char *c = query; *c; c++) {
        if (*c == '"') {
            fputs("\\\"", stdout); /* a phrase's quotes, escaped for JSON */
        } else {
            putchar(*c);
        }
    }
    printf("\",\"%s\":true,\"whole_us\":%.1f,"
           "\"whole_raw_bytes\":%zu,\"view_us\":%.1f,\"view_raw_bytes\":%zu,\"speedup\":%.1f}\n",
           b->is_highlight ? "highlight" : "snippet", med[0], raw_whole, med[1], raw_view,
           med[0] / med[1]);
    free(t);
    sd_buf_free(&whole);
    sd_buf_free(&viewed);
    qry_free(q);
    return 0;
}

static struct seg *build(struct stem_ctx *stem, const char *body, size_t len, const char *sbody)
{
    static const char title[] = "Длинный отчёт";
    struct seg_field f[2] = {{"title", 5, title, sizeof title - 1, SEG_TEXT},
                             {"body", 4, body, len, SEG_TEXT}};
    struct seg_field sf[2] = {f[0], {"body", 4, sbody, strlen(sbody), SEG_TEXT}};
    struct seg_doc small = {"small", 5, sf, 2}, big = {"big", 3, f, 2};
    struct seg_builder *sb;
    struct sd_error err = {0};
    struct sd_buf out;
    sd_buf_init(&out);
    struct seg *s = NULL;
    size_t n = 0;
    uint8_t *img = NULL;
    if (seg_builder_new(stem, &sb, &err) || seg_builder_add(sb, &small, &err) ||
        seg_builder_add(sb, &big, &err) || seg_builder_finish(sb, &out, &err) ||
        (img = sd_buf_detach(&out, &n)) == NULL || seg_open_mem(img, n, "bench", &s, &err)) {
        fprintf(stderr, "bench-snippet: build: %s\n", err.msg);
    }
    seg_builder_free(sb);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-snippet DOCS.tsv [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 200;
    size_t len;
    char *small = NULL;
    char *body = read_body(argv[1], &len, &small);
    struct stem_ctx *stem;
    struct qry_ctx *ctx;
    if (!body || stem_ctx_new(&stem) || qry_ctx_new(&ctx)) {
        return 1;
    }
    struct seg *s = build(stem, body, len, small);
    if (!s) {
        return 1;
    }
    struct seg_doc_view v;
    struct sd_error err;
    if (seg_doc_view_open(s, 1, &v, &err) == SD_OK) {
        printf("{\"body_bytes\":%zu,\"record_bytes\":%zu,\"chunks\":%u,\"filter_bytes\":%zu}\n",
               len, v.rec_len, v.nchunks, v.filter_len);
    }
    seg_doc_view_free(&v);
    struct bench b = {.s = s, .ctx = ctx, .snippet_len = 200};
    int rc = 0;
    for (int hl = 0; hl < 2 && rc == 0; hl++) {
        b.is_highlight = hl;
        b.doc = 0;
        rc = run_case(&b, "small document", "цифровая дипломатия", false, runs);
        b.doc = 1;
        rc = rc || run_case(&b, "match near the start", "квантовая криптография", false, runs) ||
             run_case(&b, "match near the end", "ярославль", false, runs) ||
             run_case(&b, "no match", "несуществующееслово", false, runs) ||
             run_case(&b, "prefix", "ярослав*", false, runs) ||
             run_case(&b, "typo", "ярославкь", true, runs) ||
             run_case(&b, "phrase", "\"квантовой криптографии\"", false, runs);
    }
    seg_close(s);
    qry_ctx_free(ctx);
    stem_ctx_free(stem);
    free(body);
    free(small);
    return rc;
}
