/*
 * engine_bench.c: the engine in process, timed exactly like the Xapian peer
 * (../shared/bench/peers/xapian/xapian_bench.cc), so the two can be compared
 * figure by figure in one run_all.sh run (bench/engine-runner drives it).
 *
 *   engine-bench index DOCS.tsv DIR          -> prints {"build_s":..,"docs":..}
 *   engine-bench search DIR QUERIES_DIR RUNS HITS.tsv  -> prints per-category JSON
 *   engine-bench info DIR                    -> prints segment count and bytes (not timed),
 *                                               and each attribute column's bytes
 *   engine-bench attr-index DOCS.tsv ATTRS.tsv DIR        -> like index, with attributes
 *   engine-bench attr-search DIR WORKLOAD_DIR RUNS HITS.tsv -> like search, the workload
 *
 * attr-index and attr-search are the engine's side of the attribute workload (issue 11;
 * bench/attrs.py writes ATTRS.tsv and the workload, bench/attr-runner drives all engines):
 * the index is declared with BENCH_ATTR_SETTINGS (idx_set_settings) and every document
 * carries lang, source (keywords), year and length (ints); each workload line (q, filter,
 * sort, facets) is one idx_search with those request fields, whatever ENGINE_BENCH_MODE
 * says (the segments alone cannot filter). Its hits file has a fifth column with the facet
 * counts of faceted queries. A query the engine refuses counts as zero hits and in the
 * category's "errors".
 *
 * DOCS.tsv is the peers' shared file: docid \t lang \t title \t body. The
 * docid string becomes the document id; title and body are the two indexed
 * (and stored) fields, lang is ignored as by every peer.
 *
 * Indexing goes through the public API only (idx.h): idx_open, idx_write in
 * batches with at most BENCH_IN_FLIGHT batches queued (the done callback
 * counts them down), idx_close. So DIR is a real searchd data directory
 * (index "default") that `searchd --data DIR` serves. build_s is wall time
 * from reading DOCS.tsv to the return of idx_close: every document durable in
 * a segment and query-ready, as for the peers. Bulk-load settings (env):
 *   ENGINE_BENCH_BATCH (docs per idx_write, default 1000),
 *   ENGINE_BENCH_FLUSH_MB (flush_bytes, default 1024), ENGINE_BENCH_REFRESH_MS
 *   (default 10000; writes are published before they are acknowledged, so
 *   every batch becomes an in-memory segment whatever it says: it only paces
 *   the retries of a failed refresh, and raises flush_ms to at least itself),
 *   ENGINE_BENCH_SYNC=always|batch (default always), ENGINE_BENCH_MERGE_FACTOR
 *   (default 8).
 *
 * Searching (ENGINE_BENCH_MODE):
 *   seg (default): the segments of DIR/default/MANIFEST are opened read-only
 *     (wal.h, seg.h) and searched with qry_parse + qry_search; a hit's id is
 *     read from the segment's id table (seg_doc_id). Like Xapian (docid and
 *     weight) and Lucene (an int[] id map) nothing stored is read per hit.
 *   api: idx_open + idx_search (snippet_len 0), the path the daemon takes: it
 *     also decodes each hit's stored document to copy out id and title.
 * ENGINE_BENCH_SLOW_US=N prints every timed search of N microseconds or more
 * to stderr with its total (for profiling the tail; not in the JSON).
 * ENGINE_BENCH_PROXIMITY=W sets the searches' proximity weight (qry_params.proximity, the
 * request's proximity; the wire's "proximity": W), in [0, QRY_MAX_PROXIMITY]; unset, the
 * engine's default. It compares the bonus on and off on one binary.
 * ENGINE_BENCH_EXACT_BOOST=X sets qry_params.exact_boost, the exact-form bonus (query.h; 0 is
 * off, the engine checks X is in [0, 1000]); unset, the engine's default (0.5). It measures
 * what the bonus gives and costs a relevance set (bench/RESULTS.md "six held-out samples").
 * ENGINE_BENCH_SYNTAX=simple (api mode) reads the queries with the simple syntax, as a search
 * box sends them, with the wire's default drop_words (docs/QUERY.md "Most words");
 * ENGINE_BENCH_DROP_WORDS=0 turns that off.
 * Every query is parsed inside the timed call (Xapian's parse_query is too).
 *
 * Timing (same protocol as peers/benchlib.py): per category one untimed
 * warm-up pass, then RUNS timed passes; each pass gives qps = n / pass wall
 * time and p50/p99 of per-query latency (nearest rank); the median over the
 * passes is reported. Timed searches ask for the top 10; exact hit counts
 * come from a separate untimed pass with limit 0, the top-10 ids for the hits
 * file from one more untimed limit-10 search.
 */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "idx.h"
#include "query.h"
#include "seg.h"
#include "wal.h"

#define BENCH_INDEX       "default"
#define BENCH_IN_FLIGHT   4  /* idx_write batches queued at once */
#define BENCH_TOP         10 /* hits per timed search */
#define BENCH_MAX_QUERIES 100000
#define BENCH_MAX_CATS    256
#define BENCH_FIELDS      6 /* title, body and the attributes lang, source, year, length */

/* The settings of the attribute workload's index (bench/attrs.py): the two text fields as
 * the plain bench weighs them, two keyword and two int attributes. */
#define BENCH_ATTR_SETTINGS                                                                  \
    "{\"fields\": {\"title\": {\"type\": \"text\", \"weight\": 2}, "                          \
    "\"body\": {\"type\": \"text\", \"weight\": 1}, \"lang\": {\"type\": \"keyword\"}, "     \
    "\"source\": {\"type\": \"keyword\"}, \"year\": {\"type\": \"int\"}, "                   \
    "\"length\": {\"type\": \"int\"}}}"

static double bench_secs(uint64_t t0, uint64_t t1)
{
    return (double)(t1 - t0) / 1e9;
}

static unsigned long bench_env(const char *name, unsigned long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoul(v, NULL, 10) : dflt;
}

/* Reads a whole file (any size) into a NUL-terminated malloc'd buffer. */
static char *bench_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fileno(f), &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)st.st_size, f);
        buf[*len] = 0;
    }
    fclose(f);
    return buf;
}

/* ---- index ---- */

/* Counts queued batches down as the engine acknowledges them. */
struct bench_flow {
    pthread_mutex_t lock; /* guards every field below */
    pthread_cond_t cond;
    unsigned in_flight;
    uint64_t added;
    int rc; /* first failure */
    char msg[256];
};

static void bench_write_done(void *arg, int rc, const struct idx_write_result *res,
                             const struct sd_error *err)
{
    struct bench_flow *fl = arg;
    pthread_mutex_lock(&fl->lock);
    fl->in_flight--;
    if (rc == SD_OK) {
        fl->added += res->added + res->replaced;
    } else if (fl->rc == SD_OK) {
        fl->rc = rc;
        snprintf(fl->msg, sizeof fl->msg, "%s", err ? err->msg : "write failed");
    }
    pthread_cond_signal(&fl->cond);
    pthread_mutex_unlock(&fl->lock);
}

/* Waits until at most max batches are queued; returns the first failure. */
static int bench_flow_wait(struct bench_flow *fl, unsigned max)
{
    pthread_mutex_lock(&fl->lock);
    while (fl->in_flight > max) {
        pthread_cond_wait(&fl->cond, &fl->lock);
    }
    int rc = fl->rc;
    pthread_mutex_unlock(&fl->lock);
    return rc;
}

/* Splits one TSV line into an upsert of id, title, body. False if malformed. */
static bool bench_parse_doc(char *line, char *end, struct seg_field f[BENCH_FIELDS],
                            struct idx_op *op)
{
    char *a = memchr(line, '\t', (size_t)(end - line));
    char *b = a ? memchr(a + 1, '\t', (size_t)(end - a - 1)) : NULL;
    char *c = b ? memchr(b + 1, '\t', (size_t)(end - b - 1)) : NULL;
    if (!c || a == line) {
        return false;
    }
    f[0] = (struct seg_field){"title", 5, b + 1, (size_t)(c - b - 1), SEG_TEXT};
    f[1] = (struct seg_field){"body", 4, c + 1, (size_t)(end - c - 1), SEG_TEXT};
    *op = (struct idx_op){.type = IDX_OP_UPSERT};
    op->doc = (struct seg_doc){line, (size_t)(a - line), f, 2};
    return true;
}

/* Adds the attributes of one attrs.tsv line (docid, lang, source, year, length; see
 * bench/attrs.py) to op's document: keywords as strings, ints as their JSON text, which the
 * index's settings (BENCH_ATTR_SETTINGS) check and turn into columns. False when the line is
 * malformed or belongs to another document (the two files go line by line). */
static bool bench_parse_attrs(char *line, char *end, struct seg_field f[BENCH_FIELDS],
                              struct idx_op *op)
{
    static const char *const names[] = {"lang", "source", "year", "length"};
    char *col[5];
    size_t n = 0;
    for (char *p = line; n < 5 && p <= end; n++) {
        col[n] = p;
        char *t = memchr(p, '\t', (size_t)(end - p));
        p = (t ? t : end) + 1;
    }
    if (n != 5 || (size_t)(col[1] - col[0] - 1) != op->doc.id_len ||
        memcmp(col[0], op->doc.id, op->doc.id_len) != 0) {
        return false;
    }
    for (size_t k = 0; k < 4; k++) {
        char *vend = k == 3 ? end : col[k + 2] - 1;
        f[2 + k] = (struct seg_field){names[k], strlen(names[k]), col[k + 1],
                                      (size_t)(vend - col[k + 1]), k < 2 ? SEG_TEXT : SEG_RAW};
    }
    op->doc.nfields = BENCH_FIELDS;
    return true;
}

static int bench_send(struct idx_db *db, struct bench_flow *fl, const struct idx_op *ops,
                      size_t n)
{
    if (n == 0) {
        return SD_OK;
    }
    struct sd_error err = {0};
    pthread_mutex_lock(&fl->lock);
    fl->in_flight++;
    pthread_mutex_unlock(&fl->lock);
    int rc = idx_write(db, BENCH_INDEX, ops, n, bench_write_done, fl, &err);
    if (rc != SD_OK) {
        fprintf(stderr, "engine-bench: idx_write: %s\n", err.msg);
        return rc;
    }
    return bench_flow_wait(fl, BENCH_IN_FLIGHT);
}

/* The line at *p (up to end): returns its end and moves *p past it. */
static char *bench_next_line(char **p, char *end)
{
    char *nl = memchr(*p, '\n', (size_t)(end - *p));
    char *eol = nl ? nl : end;
    *p = eol + 1;
    return eol;
}

/* Feeds every line of tsv[0, len) to the engine in batches; *ndocs = sent. With attrs
 * (attrs.tsv, NULL: none), each document also gets its line of attributes. */
static int bench_feed(struct idx_db *db, struct bench_flow *fl, char *tsv, size_t len,
                      char *attrs, size_t attrs_len, uint64_t *ndocs)
{
    size_t batch = bench_env("ENGINE_BENCH_BATCH", 1000);
    if (batch == 0 || batch > IDX_MAX_BATCH) {
        batch = 1000;
    }
    struct idx_op *ops = calloc(batch, sizeof *ops);
    struct seg_field(*fields)[BENCH_FIELDS] = calloc(batch, sizeof *fields);
    int rc = ops && fields ? SD_OK : SD_ENOMEM;
    size_t n = 0;
    char *p = tsv, *end = tsv + len, *ap = attrs, *aend = attrs ? attrs + attrs_len : NULL;
    while (rc == SD_OK && p < end) {
        char *line = p, *eol = bench_next_line(&p, end);
        if (!bench_parse_doc(line, eol, fields[n], &ops[n])) {
            continue;
        }
        if (attrs) {
            char *aline = ap;
            char *aeol = ap < aend ? bench_next_line(&ap, aend) : aline;
            if (!bench_parse_attrs(aline, aeol, fields[n], &ops[n])) {
                fprintf(stderr, "engine-bench: attrs.tsv does not match docs.tsv at doc %.*s\n",
                        (int)ops[n].doc.id_len, ops[n].doc.id);
                rc = SD_EINVAL;
                break;
            }
        }
        if (++n == batch) {
            rc = bench_send(db, fl, ops, n); /* ops are copied into log records */
            *ndocs += n;
            n = 0;
        }
    }
    if (rc == SD_OK) {
        rc = bench_send(db, fl, ops, n);
        *ndocs += n;
    }
    free(ops);
    free(fields);
    return rc;
}

static void bench_bulk_config(struct idx_config *cfg, const char *dir)
{
    idx_config_default(cfg);
    cfg->data_dir = dir;
    const char *sync = getenv("ENGINE_BENCH_SYNC");
    cfg->sync = sync && strcmp(sync, "batch") == 0 ? IDX_SYNC_BATCH : IDX_SYNC_ALWAYS;
    cfg->flush_bytes = (size_t)bench_env("ENGINE_BENCH_FLUSH_MB", 1024) << 20;
    cfg->refresh_ms = (uint32_t)bench_env("ENGINE_BENCH_REFRESH_MS", 10000);
    cfg->flush_ms = cfg->refresh_ms > cfg->flush_ms ? cfg->refresh_ms : cfg->flush_ms;
    cfg->merge_factor = (uint32_t)bench_env("ENGINE_BENCH_MERGE_FACTOR", cfg->merge_factor);
    fprintf(stderr, "engine-bench: sync=%s flush_mb=%zu refresh_ms=%u merge_factor=%u\n",
            cfg->sync == IDX_SYNC_BATCH ? "batch" : "always", cfg->flush_bytes >> 20,
            cfg->refresh_ms, cfg->merge_factor);
}

/* Builds DIR from DOCS.tsv; with attrs_path (NULL: none) the index is declared with
 * BENCH_ATTR_SETTINGS first (timed: part of making the index) and every document carries
 * its attributes. */
static int bench_index(const char *tsv_path, const char *attrs_path, const char *dir)
{
    uint64_t t0 = sd_now_ns();
    size_t len = 0, attrs_len = 0;
    char *tsv = bench_slurp(tsv_path, &len);
    char *attrs = attrs_path ? bench_slurp(attrs_path, &attrs_len) : NULL;
    if (!tsv || (attrs_path && !attrs)) {
        free(tsv);
        free(attrs);
        return 1;
    }
    struct idx_config cfg;
    bench_bulk_config(&cfg, dir);
    struct sd_error err = {0};
    struct idx_db *db = NULL;
    if (idx_open(&cfg, &db, &err) != SD_OK) {
        fprintf(stderr, "engine-bench: idx_open %s: %s\n", dir, err.msg);
        free(tsv);
        free(attrs);
        return 1;
    }
    if (attrs && idx_set_settings(db, BENCH_INDEX, BENCH_ATTR_SETTINGS,
                                  strlen(BENCH_ATTR_SETTINGS), IDX_SETTINGS_UPSERT, NULL,
                                  &err) != SD_OK) {
        fprintf(stderr, "engine-bench: idx_set_settings: %s\n", err.msg);
        idx_close(db);
        free(tsv);
        free(attrs);
        return 1;
    }
    struct bench_flow fl = {.rc = SD_OK};
    pthread_mutex_init(&fl.lock, NULL);
    pthread_cond_init(&fl.cond, NULL);
    uint64_t ndocs = 0;
    int rc = bench_feed(db, &fl, tsv, len, attrs, attrs_len, &ndocs);
    int wrc = bench_flow_wait(&fl, 0);
    uint64_t t_acked = sd_now_ns();
    idx_close(db); /* flushes the memtable and finishes the merge thread's jobs */
    uint64_t t1 = sd_now_ns();
    free(tsv);
    free(attrs);
    if (rc != SD_OK || wrc != SD_OK) {
        fprintf(stderr, "engine-bench: indexing failed: %s (%s)\n", sd_status_name(rc ? rc : wrc),
                fl.msg);
        return 1;
    }
    fprintf(stderr, "engine-bench: acked %.3f s, close (flush + merges) %.3f s, acked docs %llu\n",
            bench_secs(t0, t_acked), bench_secs(t_acked, t1), (unsigned long long)fl.added);
    printf("{\"build_s\": %.3f, \"docs\": %llu}\n", bench_secs(t0, t1), (unsigned long long)ndocs);
    return 0;
}

/* ---- the searched index: segments read directly, or the idx.h API ---- */

struct bench_top {
    uint64_t total;
    size_t n;
    unsigned long long ids[BENCH_TOP];
    struct sd_buf *facets; /* NULL, or gets the facet counts as the hits file writes them */
};

/* One query of a category: a plain one has only q; the attribute workload's (attrs.py) also
 * a filter and a sort in searchd's syntax and the facets source (top 10) and year (every
 * value). label is what the hits file names it by. All strings borrowed from the file read. */
struct bench_query {
    const char *q, *label;
    const char *filter, *sort; /* "" when none */
    bool has_facets;
};

struct bench_engine {
    bool is_api;
    /* seg mode: the MANIFEST's segments, opened read-only (owned) */
    struct qry_ctx *ctx;
    struct qry_segment *qsegs;
    struct seg **segs;
    uint64_t **bits;
    size_t nsegs;
    uint64_t disk_bytes, postings_bytes, docs;
    /* api mode */
    struct idx_db *db;
    /* ENGINE_BENCH_PROXIMITY and ENGINE_BENCH_EXACT_BOOST, or < 0 for the engine's default */
    double proximity;
    double exact_boost;
    bool is_simple;  /* ENGINE_BENCH_SYNTAX=simple */
    bool drop_words; /* ... and ENGINE_BENCH_DROP_WORDS not 0 */
};

static unsigned long long bench_id(const char *id, size_t len)
{
    unsigned long long v = 0;
    for (size_t i = 0; i < len && id[i] >= '0' && id[i] <= '9'; i++) {
        v = v * 10 + (unsigned long long)(id[i] - '0');
    }
    return v;
}

static int bench_open_seg(struct bench_engine *e, const char *dir, const struct wal_seg_entry *se,
                          struct sd_error *err)
{
    char name[WAL_NAME_MAX], path[4096];
    wal_seg_name(name, se->seg_no);
    if (sd_path_join(path, sizeof path, dir, name)) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", dir);
    }
    size_t i = e->nsegs;
    int rc = seg_open_file(path, &e->segs[i], err);
    if (rc == SD_OK && se->tomb_gen) {
        rc = wal_tomb_read(dir, se->seg_no, se->tomb_gen, se->doc_count, se->tomb_hash, &e->bits[i],
                           NULL, err);
    }
    if (rc != SD_OK) {
        return rc;
    }
    e->qsegs[i] = (struct qry_segment){e->segs[i], e->bits[i]};
    e->disk_bytes += seg_size_bytes(e->segs[i]);
    e->postings_bytes += seg_postings_bytes(e->segs[i]);
    e->docs += se->doc_count - se->deleted_count;
    e->nsegs++;
    return SD_OK;
}

static int bench_open_segs(struct bench_engine *e, const char *data_dir, struct sd_error *err)
{
    char dir[4096];
    if (sd_path_join(dir, sizeof dir, data_dir, BENCH_INDEX)) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", data_dir);
    }
    struct wal_manifest m;
    int rc = wal_manifest_read(dir, &m, err);
    if (rc == SD_OK) {
        size_t n = m.count ? m.count : 1;
        e->segs = calloc(n, sizeof *e->segs);
        e->bits = calloc(n, sizeof *e->bits);
        e->qsegs = calloc(n, sizeof *e->qsegs);
        if (!e->segs || !e->bits || !e->qsegs) {
            rc = sd_errorf(err, SD_ENOMEM, "out of memory");
        }
    }
    for (uint32_t i = 0; rc == SD_OK && i < m.count; i++) {
        rc = bench_open_seg(e, dir, &m.segs[i], err);
    }
    wal_manifest_free(&m);
    if (rc == SD_OK && qry_ctx_new(&e->ctx) != SD_OK) {
        rc = sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    return rc;
}

static int bench_engine_open(struct bench_engine *e, const char *data_dir, struct sd_error *err)
{
    memset(e, 0, sizeof *e);
    const char *prox = getenv("ENGINE_BENCH_PROXIMITY");
    e->proximity = prox && *prox ? strtod(prox, NULL) : -1;
    const char *boost = getenv("ENGINE_BENCH_EXACT_BOOST");
    e->exact_boost = boost && *boost ? strtod(boost, NULL) : -1;
    const char *syntax = getenv("ENGINE_BENCH_SYNTAX");
    e->is_simple = syntax && strcmp(syntax, "simple") == 0;
    const char *drop = getenv("ENGINE_BENCH_DROP_WORDS");
    e->drop_words = e->is_simple && !(drop && strcmp(drop, "0") == 0);
    const char *mode = getenv("ENGINE_BENCH_MODE");
    e->is_api = mode && strcmp(mode, "api") == 0;
    if (!e->is_api) {
        return bench_open_segs(e, data_dir, err);
    }
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = data_dir;
    return idx_open(&cfg, &e->db, err);
}

static void bench_engine_close(struct bench_engine *e)
{
    for (size_t i = 0; i < e->nsegs; i++) {
        seg_close(e->segs[i]);
        free(e->bits[i]);
    }
    free(e->segs);
    free(e->bits);
    free(e->qsegs);
    qry_ctx_free(e->ctx);
    idx_close(e->db);
}

static int bench_search_segs(struct bench_engine *e, const struct bench_query *bq,
                             uint32_t limit, struct bench_top *top, struct sd_error *err)
{
    const char *q = bq->q;
    if (*bq->filter || *bq->sort || bq->has_facets) {
        return sd_errorf(err, SD_EINVAL, "filters, sort and facets need ENGINE_BENCH_MODE=api");
    }
    struct qry_params p;
    qry_params_default(&p);
    p.limit = limit;
    if (e->proximity >= 0) {
        p.proximity = (float)e->proximity;
    }
    if (e->exact_boost >= 0) {
        p.exact_boost = (float)e->exact_boost;
    }
    struct qry *parsed = NULL;
    struct qry_result res = {0};
    int rc = qry_parse(e->ctx, q, strlen(q), &parsed, err);
    if (rc == SD_OK) {
        rc = qry_search(e->ctx, parsed, e->qsegs, e->nsegs, &p, &res, err);
    }
    top->total = res.total;
    top->n = 0;
    for (size_t i = 0; rc == SD_OK && i < res.nhits && i < BENCH_TOP; i++) {
        const char *id;
        size_t len;
        seg_doc_id(e->segs[res.hits[i].segment], res.hits[i].doc, &id, &len);
        top->ids[top->n++] = bench_id(id, len);
    }
    qry_result_free(&res);
    qry_free(parsed);
    return rc;
}

/* The facets of res as the hits file writes them: "source=v:n,...;year=v:n,...". */
static void bench_put_facets(const struct idx_search_res *res, struct sd_buf *out)
{
    for (size_t f = 0; f < res->nfacets; f++) {
        const struct idx_facet *fc = &res->facets[f];
        if (f) {
            sd_buf_put(out, ";", 1);
        }
        sd_buf_put(out, fc->field, strlen(fc->field));
        sd_buf_put(out, "=", 1);
        for (size_t b = 0; b < fc->nbuckets; b++) {
            char num[32];
            int n = snprintf(num, sizeof num, ":%llu", (unsigned long long)fc->buckets[b].count);
            if (b) {
                sd_buf_put(out, ",", 1);
            }
            sd_buf_put(out, fc->buckets[b].value, strlen(fc->buckets[b].value));
            sd_buf_put(out, num, (size_t)n);
        }
    }
}

static int bench_search_api(struct bench_engine *e, const struct bench_query *bq,
                            uint32_t limit, struct bench_top *top, struct sd_error *err)
{
    static const char *const facets[] = {"source:size=10", "year:interval=1"};
    struct idx_search_req req = {.q = bq->q, .q_len = strlen(bq->q), .snippet_len = 0};
    idx_search_params_default(e->db, &req.params);
    req.params.limit = limit;
    if (e->proximity >= 0) {
        req.params.proximity = (float)e->proximity;
    }
    if (e->exact_boost >= 0) {
        req.params.exact_boost = (float)e->exact_boost;
    }
    req.opts.syntax = e->is_simple ? QRY_SYNTAX_SIMPLE : QRY_SYNTAX_FULL;
    req.opts.drop_words = e->drop_words;
    req.filter = bq->filter;
    req.filter_len = strlen(bq->filter);
    req.sort = bq->sort;
    req.sort_len = strlen(bq->sort);
    if (bq->has_facets) {
        req.facets = facets;
        req.nfacets = 2;
    }
    struct idx_search_res res;
    int rc = idx_search(e->db, BENCH_INDEX, &req, &res, err);
    top->total = res.total;
    top->n = 0;
    for (size_t i = 0; rc == SD_OK && i < res.nhits && i < BENCH_TOP; i++) {
        top->ids[top->n++] = bench_id(res.hits[i].id, strlen(res.hits[i].id));
    }
    if (rc == SD_OK && top->facets) {
        bench_put_facets(&res, top->facets);
    }
    idx_search_res_free(&res);
    return rc;
}

/* One search; a query the engine refuses counts as zero hits (the first 20 are told).
 * Returns its status. */
static int bench_one(struct bench_engine *e, const struct bench_query *bq, uint32_t limit,
                      struct bench_top *top)
{
    struct sd_error err = {0};
    int rc = e->is_api ? bench_search_api(e, bq, limit, top, &err)
                       : bench_search_segs(e, bq, limit, top, &err);
    if (rc != SD_OK) {
        static unsigned told;
        if (told++ < 20) {
            fprintf(stderr, "engine-bench: query '%s': %s: %s\n", bq->label, sd_status_name(rc),
                    err.msg);
        }
        top->total = 0;
        top->n = 0;
    }
    return rc;
}

/* ---- the timing protocol ---- */

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Nearest-rank percentile of v[0, n) (sorts v). */
static double bench_pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    size_t k = (size_t)ceil(p * (double)n);
    if (k == 0) {
        k = 1;
    }
    return v[(k < n ? k : n) - 1];
}

static double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* attrs.py's neutral filter "key=value" in searchd's syntax: key:value, the value quoted
 * unless it is only letters, digits and dots (a range). Returns malloc'd text or NULL. */
static char *bench_filter(const char *f)
{
    const char *eq = strchr(f, '=');
    if (!eq) {
        return NULL;
    }
    bool is_plain = true;
    for (const char *p = eq + 1; *p; p++) {
        is_plain &= (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.';
    }
    size_t size = strlen(f) + 3;
    char *out = malloc(size);
    if (out) {
        snprintf(out, size, is_plain ? "%.*s:%s" : "%.*s:\"%s\"", (int)(eq - f), f, eq + 1);
    }
    return out;
}

/* Splits an attrs.py workload line (q \t filter \t sort \t facets) in place into *bq;
 * bq->label and the translated filter are malloc'd (freed by bench_free_queries). */
static bool bench_parse_work(char *line, struct bench_query *bq)
{
    char *col[4] = {line, "", "", ""};
    for (size_t k = 1; k < 4; k++) {
        char *t = strchr(col[k - 1], '\t');
        if (!t) {
            break;
        }
        *t = 0;
        col[k] = t + 1;
    }
    size_t size = strlen(col[0]) + strlen(col[1]) + strlen(col[2]) + strlen(col[3]) + 10;
    char *label = malloc(size);
    char *filter = *col[1] ? bench_filter(col[1]) : strdup("");
    if (!label || !filter) {
        free(label);
        free(filter);
        return false;
    }
    snprintf(label, size, "%s | %s | %s | %s", col[0], col[1], col[2], col[3]);
    *bq = (struct bench_query){col[0], label, filter, col[2], *col[3] != 0};
    return true;
}

/* The non-empty lines of path, in place in *buf (owned by the caller): plain queries, or
 * with is_work attrs.py workload lines. */
static size_t bench_read_queries(const char *path, bool is_work, char **buf,
                                 struct bench_query *qs, size_t max)
{
    size_t len = 0, n = 0;
    *buf = bench_slurp(path, &len);
    for (char *p = *buf, *end = *buf + (*buf ? len : 0); p && p < end && n < max;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        *eol = 0;
        if (eol > p && eol[-1] == '\r') {
            eol[-1] = 0;
        }
        if (*p && !is_work) {
            qs[n++] = (struct bench_query){p, p, "", "", false};
        } else if (*p && bench_parse_work(p, &qs[n])) {
            n++;
        }
        p = eol + 1;
    }
    return n;
}

static void bench_free_queries(struct bench_query *qs, size_t n, bool is_work)
{
    for (size_t i = 0; is_work && i < n; i++) {
        free((char *)qs[i].label);
        free((char *)qs[i].filter);
    }
}

struct bench_cat_result {
    double qps, p50, p99;
    unsigned long long hits, zero;
    unsigned long long errors; /* queries the engine refused (counted as zero hits) */
};

static void bench_time(struct bench_engine *e, const struct bench_query *qs, size_t n, int runs,
                       struct bench_cat_result *r)
{
    struct bench_top top = {0};
    double *lat = calloc(n, sizeof *lat);
    double *qps = calloc((size_t)runs, sizeof *qps), *p50 = calloc((size_t)runs, sizeof *p50);
    double *p99 = calloc((size_t)runs, sizeof *p99);
    if (!lat || !qps || !p50 || !p99) {
        exit(1);
    }
    double slow_ms = (double)bench_env("ENGINE_BENCH_SLOW_US", 0) / 1000;
    for (size_t i = 0; i < n; i++) {
        bench_one(e, &qs[i], BENCH_TOP, &top); /* warm-up */
    }
    for (int run = 0; run < runs; run++) {
        uint64_t p0 = sd_now_ns();
        for (size_t i = 0; i < n; i++) {
            uint64_t t0 = sd_now_ns();
            bench_one(e, &qs[i], BENCH_TOP, &top);
            lat[i] = bench_secs(t0, sd_now_ns()) * 1000;
            if (slow_ms > 0 && lat[i] >= slow_ms) {
                fprintf(stderr, "engine-bench: slow: %.3f ms, total %llu: %s\n", lat[i],
                        (unsigned long long)top.total, qs[i].label);
            }
        }
        qps[run] = (double)n / bench_secs(p0, sd_now_ns());
        p50[run] = bench_pct(lat, n, 0.50);
        p99[run] = bench_pct(lat, n, 0.99);
    }
    r->qps = bench_median(qps, (size_t)runs);
    r->p50 = bench_median(p50, (size_t)runs);
    r->p99 = bench_median(p99, (size_t)runs);
    free(lat);
    free(qps);
    free(p50);
    free(p99);
}

/* Untimed: exact counts (limit 0) and the top-10 ids, into the hits file. */
/* Untimed: exact counts (limit 0) and the top-10 ids, into the hits file; with facets, the
 * facet counts of the count pass as a fifth column. */
static void bench_count(struct bench_engine *e, const char *cat, const struct bench_query *qs,
                        size_t n, FILE *hf, struct bench_cat_result *r)
{
    struct sd_buf facets;
    sd_buf_init(&facets);
    struct bench_top cnt = {.facets = &facets}, top = {0};
    r->hits = r->zero = r->errors = 0;
    for (size_t i = 0; i < n; i++) {
        sd_buf_reset(&facets);
        r->errors += bench_one(e, &qs[i], 0, &cnt) != SD_OK;
        bench_one(e, &qs[i], BENCH_TOP, &top);
        r->hits += cnt.total;
        r->zero += cnt.total == 0;
        if (!hf) {
            continue;
        }
        fprintf(hf, "%s\t%s\t%llu\t", cat, qs[i].label, (unsigned long long)cnt.total);
        for (size_t k = 0; k < top.n; k++) {
            fprintf(hf, k ? ",%llu" : "%llu", top.ids[k]);
        }
        if (qs[i].has_facets) {
            fprintf(hf, "\t%.*s", (int)facets.len, (const char *)facets.data);
        }
        fprintf(hf, "\n");
    }
    sd_buf_free(&facets);
}

/* The categories of qdir: the names of its files ending in ext (".txt", ".tsv"), sorted. */
static size_t bench_categories(const char *qdir, const char *ext, char **cats, size_t max)
{
    size_t n = 0;
    DIR *d = opendir(qdir);
    if (!d) {
        perror(qdir);
        return 0;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL && n < max;) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ext) == 0) {
            cats[n++] = strndup(de->d_name, len - 4);
        }
    }
    closedir(d);
    qsort(cats, n, sizeof *cats, bench_cmp_str);
    return n;
}

/* Times the categories of qdir: plain queries (*.txt), or with is_work the attribute
 * workload (*.tsv, searched through idx_search whatever ENGINE_BENCH_MODE says). */
static int bench_search(const char *dir, const char *qdir, bool is_work, int runs,
                        const char *hits_path)
{
    struct bench_engine e;
    if (is_work) {
        setenv("ENGINE_BENCH_MODE", "api", 1);
    }
    struct sd_error err = {0};
    if (runs < 1 || bench_engine_open(&e, dir, &err) != SD_OK) {
        fprintf(stderr, "engine-bench: open %s: %s\n", dir, runs < 1 ? "RUNS < 1" : err.msg);
        return 1;
    }
    char *cats[BENCH_MAX_CATS];
    const char *ext = is_work ? ".tsv" : ".txt";
    size_t ncats = bench_categories(qdir, ext, cats, BENCH_MAX_CATS);
    struct bench_query *qs = calloc(BENCH_MAX_QUERIES, sizeof *qs);
    FILE *hf = fopen(hits_path, "w");
    if (!qs || !hf) {
        perror(hits_path);
    }
    printf("{");
    bool is_first = true;
    for (size_t c = 0; qs && c < ncats; c++) {
        char path[4096], *buf = NULL;
        snprintf(path, sizeof path, "%s/%s%s", qdir, cats[c], ext);
        size_t n = bench_read_queries(path, is_work, &buf, qs, BENCH_MAX_QUERIES);
        if (n > 0) {
            struct bench_cat_result r;
            bench_time(&e, qs, n, runs, &r);
            bench_count(&e, cats[c], qs, n, hf, &r);
            printf("%s\n \"%s\": {\"queries\": %zu, \"qps\": %.1f, \"p50_ms\": %.4f, "
                   "\"p99_ms\": %.4f, \"hits\": %llu, \"zero_hit\": %llu, \"errors\": %llu}",
                   is_first ? "" : ",", cats[c], n, r.qps, r.p50, r.p99, r.hits, r.zero, r.errors);
            is_first = false;
            fflush(stdout);
        }
        bench_free_queries(qs, n, is_work);
        free(buf);
        free(cats[c]);
    }
    printf("\n}\n");
    if (hf) {
        fclose(hf);
    }
    free(qs);
    bench_engine_close(&e);
    return 0;
}

/* Prints "name": bytes, ... for every attribute column: the sum of seg_attr_bytes over the
 * segments (the column's cost on disk; divided by docs it is the cost per document). */
static void bench_info_attrs(const struct bench_engine *e)
{
    const char *names[SEG_MAX_SEG_FIELDS];
    unsigned long long bytes[SEG_MAX_SEG_FIELDS];
    size_t n = 0;
    for (size_t i = 0; i < e->nsegs; i++) {
        for (unsigned k = 0; k < seg_attr_count(e->segs[i]); k++) {
            const struct seg_attr *a = seg_attr_at(e->segs[i], k);
            size_t j = 0;
            while (j < n && strcmp(names[j], seg_attr_name(a)) != 0) {
                j++;
            }
            if (j == n && n == SEG_MAX_SEG_FIELDS) {
                continue;
            }
            if (j == n) {
                names[n] = seg_attr_name(a);
                bytes[n++] = 0;
            }
            bytes[j] += seg_attr_bytes(a);
        }
    }
    for (size_t j = 0; j < n; j++) {
        printf("%s\"%s\": %llu", j ? ", " : "", names[j], bytes[j]);
    }
}

static int bench_info(const char *dir)
{
    struct bench_engine e;
    struct sd_error err = {0};
    unsetenv("ENGINE_BENCH_MODE");
    if (bench_engine_open(&e, dir, &err) != SD_OK) {
        fprintf(stderr, "engine-bench: open %s: %s\n", dir, err.msg);
        return 1;
    }
    printf("{\"segments\": %zu, \"docs\": %llu, \"segment_bytes\": %llu, "
           "\"postings_bytes\": %llu, \"attr_bytes\": {",
           e.nsegs, (unsigned long long)e.docs, (unsigned long long)e.disk_bytes,
           (unsigned long long)e.postings_bytes);
    bench_info_attrs(&e);
    printf("}}\n");
    bench_engine_close(&e);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "index") == 0) {
        return bench_index(argv[2], NULL, argv[3]);
    }
    if (argc == 5 && strcmp(argv[1], "attr-index") == 0) {
        return bench_index(argv[2], argv[3], argv[4]);
    }
    if (argc == 6 && strcmp(argv[1], "search") == 0) {
        return bench_search(argv[2], argv[3], false, atoi(argv[4]), argv[5]);
    }
    if (argc == 6 && strcmp(argv[1], "attr-search") == 0) {
        return bench_search(argv[2], argv[3], true, atoi(argv[4]), argv[5]);
    }
    if (argc == 3 && strcmp(argv[1], "info") == 0) {
        return bench_info(argv[2]);
    }
    fprintf(stderr, "usage: engine-bench index DOCS.tsv DIR | search DIR QUERIES_DIR RUNS HITS.tsv"
                    " | info DIR\n       engine-bench attr-index DOCS.tsv ATTRS.tsv DIR"
                    " | attr-search DIR WORKLOAD_DIR RUNS HITS.tsv\n");
    return 2;
}
