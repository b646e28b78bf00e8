/*
 * srv_metrics.c: what GET /metrics answers, in the Prometheus text exposition
 * format, version 0.0.4 (Content-Type: text/plain; version=0.0.4).
 *
 * Two kinds of numbers:
 *  - Counters kept as requests complete (struct srv_metrics in srv_int.h):
 *    requests by protocol, op and HTTP status, latency histograms for
 *    searches and writes, connections refused by a limit. srv_complete
 *    bumps them with relaxed atomic adds: one uncontended add per number,
 *    no lock, so a search costs a handful of instructions more (bench
 *    numbers in bench/RESULTS.md, "Metrics"). They are written on the loop
 *    thread today; atomics keep a scrape from any thread, or a recorder on a
 *    worker, correct without a lock order to think about.
 *  - Gauges read when scraped: open connections per protocol (the loop's
 *    own counts), the worker queue's depth (pool.nqueued, under pool.mu),
 *    the bytes buffered on connections (a walk of them: a scrape's cost,
 *    not a request's), the engine's memory against --memory-limit, every
 *    index's idx_stats, the process's resident memory (/proc/self/statm)
 *    and uptime, and the build.
 *  - Histograms the engine keeps (idx_stats: flush, merge and group-commit
 *    fsync durations, bucket counts per bucket), made cumulative here as the
 *    format wants, by the same writer as the request latencies.
 *
 * The format, as Prometheus parses it: for each family one "# HELP name
 * text" and one "# TYPE name counter|gauge|histogram" line, then all of its
 * samples, "name{label="value",...} number", one per line, every family's
 * samples together. Label values escape backslash, double quote and newline
 * as \\, \" and \n. A histogram is name_bucket{le="..."} cumulative counts
 * ending with le="+Inf" (= name_count), then name_sum and name_count.
 * Families whose every sample would be zero (a request kind never seen) show
 * only the samples seen so far.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "srv_int.h"

/* Upper bounds of the latency buckets, in microseconds (500 us to 10 s). */
static const uint64_t bucket_us[SRV_M_BUCKETS] = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

/* The statuses counted by name; everything else is counted as "other". */
static const int statuses[SRV_M_STATUSES - 1] = {200, 204, 304, 400, 401, 403, 404, 405,
                                                 408, 409, 413, 431, 500, 503, 507};

static const char *const refusal_names[SRV_REFUSED_N] = {
    "max_per_client",  "max_protocol_connections",
    "max_connections", "max_unfinished",
    "shutting_down",   "max_unsent",
};

static const char *const latency_names[SRV_M_LAT] = {"search", "write"};

static const char *const proto_names[SRV_NPROTO] = {"line", "http"};

void srv_metrics_init(struct srv_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->start_ns = sd_now_ns();
    m->start_unix = (uint64_t)time(NULL);
}

static unsigned status_slot(int status)
{
    for (unsigned i = 0; i < SRV_M_STATUSES - 1; i++) {
        if (statuses[i] == status) {
            return i;
        }
    }
    return SRV_M_STATUSES - 1;
}

const char *srv_metrics_op_name(unsigned mop)
{
    switch (mop) {
    case SRV_MOP_PAGE:
        return "page";
    case SRV_MOP_METRICS:
        return "metrics";
    case SRV_MOP_PREFLIGHT:
        return "preflight";
    default:
        return proto_op_name((enum proto_op)mop);
    }
}

void srv_metrics_request(struct srv_metrics *m, enum srv_proto proto, unsigned mop, int status,
                         uint64_t ns)
{
    if (mop >= SRV_M_OPS) {
        mop = PROTO_OP_NONE; /* an op added without a slot: still counted, as "none" */
    }
    atomic_fetch_add_explicit(&m->requests[proto][mop][status_slot(status)], 1,
                              memory_order_relaxed);
    int lat = mop == PROTO_OP_SEARCH                          ? SRV_M_LAT_SEARCH
              : mop == PROTO_OP_ADD || mop == PROTO_OP_DELETE ? SRV_M_LAT_WRITE
                                                              : -1;
    if (lat < 0) {
        return;
    }
    uint64_t us = ns / 1000;
    unsigned b = 0;
    while (b < SRV_M_BUCKETS && us > bucket_us[b]) {
        b++;
    }
    atomic_fetch_add_explicit(&m->latency[lat].bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency[lat].sum_us, us, memory_order_relaxed);
}

void srv_metrics_refused(struct srv_metrics *m, enum srv_proto proto, enum srv_refusal why)
{
    atomic_fetch_add_explicit(&m->refused[proto][why], 1, memory_order_relaxed);
}

/* ---- the text format ---- */

static void putf(struct sd_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct sd_buf *out, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0) {
        /* every format here is a name, labels we built and a number: far below the cap */
        sd_buf_put(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
}

static void family(struct sd_buf *out, const char *name, const char *type, const char *help)
{
    putf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \\, \" and \n escaped (the only escapes of the format). */
static void put_label_value(struct sd_buf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            sd_buf_put_u8(out, '\\');
            sd_buf_put_u8(out, (uint8_t)*v);
        } else if (*v == '\n') {
            sd_buf_put(out, "\\n", 2);
        } else {
            sd_buf_put_u8(out, (uint8_t)*v);
        }
    }
}

static uint64_t load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* The start of a sample of family name: "name<suffix>{key="value"" with value escaped; the
 * caller closes the labels. */
static void put_sample_start(struct sd_buf *out, const char *name, const char *suffix,
                             const char *key, const char *value)
{
    putf(out, "%s%s{%s=\"", name, suffix, key);
    put_label_value(out, value);
    sd_buf_put_u8(out, '"');
}

/* The samples of one histogram labelled key=value: cumulative name_bucket lines, le in
 * seconds (a bound times unit) ending with +Inf, then name_sum in seconds and name_count
 * (= the +Inf bucket). counts has nbounds + 1 entries, per bucket, the last above every
 * bound (srv_metrics.latency and idx_histogram both keep them so). */
static void put_histogram(struct sd_buf *out, const char *name, const char *key, const char *value,
                          const uint64_t *bounds, uint32_t nbounds, double unit,
                          const uint64_t *counts, double sum_seconds)
{
    uint64_t cum = 0;
    for (uint32_t b = 0; b <= nbounds; b++) {
        cum += counts[b];
        put_sample_start(out, name, "_bucket", key, value);
        if (b < nbounds) {
            putf(out, ",le=\"%g\"} %llu\n", (double)bounds[b] * unit, (unsigned long long)cum);
        } else {
            putf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
    }
    put_sample_start(out, name, "_sum", key, value);
    putf(out, "} %.6f\n", sum_seconds);
    put_sample_start(out, name, "_count", key, value);
    putf(out, "} %llu\n", (unsigned long long)cum);
}

void srv_metrics_render_counters(struct srv_metrics *m, struct sd_buf *out)
{
    family(out, "searchd_requests_total", "counter",
           "Requests answered, by protocol, op and HTTP status (the line protocol's errors "
           "carry the same status).");
    for (unsigned p = 0; p < SRV_NPROTO; p++) {
        for (unsigned op = 0; op < SRV_M_OPS; op++) {
            for (unsigned st = 0; st < SRV_M_STATUSES; st++) {
                uint64_t n = load(&m->requests[p][op][st]);
                if (n == 0) {
                    continue;
                }
                char code[12];
                if (st < SRV_M_STATUSES - 1) {
                    snprintf(code, sizeof code, "%d", statuses[st]);
                } else {
                    snprintf(code, sizeof code, "other");
                }
                putf(out, "searchd_requests_total{proto=\"%s\",op=\"%s\",code=\"%s\"} %llu\n",
                     proto_names[p], srv_metrics_op_name(op), code, (unsigned long long)n);
            }
        }
    }
    family(out, "searchd_request_duration_seconds", "histogram",
           "Time from a request read whole to its answer ready, queueing included: searches, "
           "and writes (add, delete) until durable.");
    for (unsigned l = 0; l < SRV_M_LAT; l++) {
        uint64_t counts[SRV_M_BUCKETS + 1];
        for (unsigned b = 0; b <= SRV_M_BUCKETS; b++) {
            counts[b] = load(&m->latency[l].bucket[b]);
        }
        put_histogram(out, "searchd_request_duration_seconds", "op", latency_names[l], bucket_us,
                      SRV_M_BUCKETS, 1e-6, counts, (double)load(&m->latency[l].sum_us) / 1e6);
    }
    family(out, "searchd_connections_rejected_total", "counter",
           "Connections refused or cut by a limit (--max-connections, --max-per-client, "
           "--max-unfinished...) or by shutdown.");
    for (unsigned p = 0; p < SRV_NPROTO; p++) {
        for (unsigned r = 0; r < SRV_REFUSED_N; r++) {
            putf(out, "searchd_connections_rejected_total{proto=\"%s\",reason=\"%s\"} %llu\n",
                 proto_names[p], refusal_names[r], (unsigned long long)load(&m->refused[p][r]));
        }
    }
}

/* The per-index families: one gauge or counter each, a sample per index. */
struct index_family {
    const char *name, *type, *help;
    uint64_t (*get)(const struct idx_stats *st);
};

#define GETTER(fn, expr)                                                                           \
    static uint64_t fn(const struct idx_stats *st)                                                 \
    {                                                                                              \
        return (uint64_t)(expr);                                                                   \
    }
GETTER(get_docs, st->docs)
GETTER(get_deleted, st->deleted_docs)
GETTER(get_segments, st->segments)
GETTER(get_mem_docs, st->mem_docs)
GETTER(get_mem_segments, st->mem_segments)
GETTER(get_disk, st->disk_bytes)
GETTER(get_wal, st->wal_bytes)
GETTER(get_merging, st->merges_running)
GETTER(get_merges, st->merges_done)
GETTER(get_flushes, st->flushes_done)
GETTER(get_degraded, st->degraded)
GETTER(get_reindex, st->reindex_pending)
GETTER(get_refused, st->writes_refused)
GETTER(get_settings, st->settings_version)
GETTER(get_mem_bytes, st->mem_bytes)
GETTER(get_queued, st->queued_writes)
GETTER(get_queued_bytes, st->queued_bytes)
GETTER(get_wal_records, st->wal_records)
GETTER(get_wal_synced, st->wal_synced_bytes)

static const struct index_family index_families[] = {
    {"searchd_index_docs", "gauge", "Live documents.", get_docs},
    {"searchd_index_deleted_docs", "gauge", "Deleted documents not yet merged away.", get_deleted},
    {"searchd_index_segments", "gauge", "Disk segments.", get_segments},
    {"searchd_index_memory_docs", "gauge", "Documents only in the in-memory segment.",
     get_mem_docs},
    {"searchd_index_memory_segments", "gauge", "In-memory segments (not yet flushed).",
     get_mem_segments},
    {"searchd_index_disk_bytes", "gauge", "Bytes of segment files.", get_disk},
    {"searchd_index_wal_bytes", "gauge", "Bytes of write-ahead log files.", get_wal},
    {"searchd_index_merges_running", "gauge", "Merges in progress.", get_merging},
    {"searchd_index_merges_total", "counter", "Merges done since start.", get_merges},
    {"searchd_index_flushes_total", "counter", "Flushes done since start.", get_flushes},
    {"searchd_index_degraded", "gauge",
     "1 when a file of the index failed its checks and is not served (writes refused).",
     get_degraded},
    {"searchd_index_reindex_pending", "gauge",
     "1 while documents indexed under older settings are still served.", get_reindex},
    {"searchd_index_writes_refused", "gauge", "1 while writes fail (disk full).", get_refused},
    {"searchd_index_settings_version", "gauge", "Version of the settings (0: never set).",
     get_settings},
    {"searchd_index_memory_bytes", "gauge",
     "Bytes of the in-memory segments (part of searchd_engine_memory_bytes).", get_mem_bytes},
    {"searchd_index_queued_writes", "gauge",
     "Write requests waiting for the index's next group commit.", get_queued},
    {"searchd_index_queued_write_bytes", "gauge", "Bytes of the log records of those writes.",
     get_queued_bytes},
    {"searchd_index_wal_records_total", "counter",
     "Log records made durable by group commits since the index opened.", get_wal_records},
    {"searchd_index_wal_synced_bytes_total", "counter",
     "Log bytes made durable by group commits since the index opened.", get_wal_synced},
};

/* The per-index histograms of idx_stats (durations in ns, rendered in seconds). */
struct index_histogram {
    const char *name, *help;
    const struct idx_histogram *(*get)(const struct idx_stats *st);
};

#define HIST_GETTER(fn, field)                                                                     \
    static const struct idx_histogram *fn(const struct idx_stats *st)                              \
    {                                                                                              \
        return &st->field;                                                                         \
    }
HIST_GETTER(get_flush_time, flush_time)
HIST_GETTER(get_merge_time, merge_time)
HIST_GETTER(get_fsync_time, fsync_time)

static const struct index_histogram index_histograms[] = {
    {"searchd_index_flush_duration_seconds",
     "Flushes since the index opened, from picking the in-memory segments to the durable "
     "MANIFEST.",
     get_flush_time},
    {"searchd_index_merge_duration_seconds",
     "Merges since the index opened (in memory, on disk, re-index), as merges_total counts them.",
     get_merge_time},
    {"searchd_index_wal_fsync_duration_seconds",
     "Each group commit's fdatasyncs (the log's, then wal.synced's); _count is the number of "
     "group commits that made records durable.",
     get_fsync_time},
};

void srv_metrics_render_indexes(const char *const *names, const struct idx_stats *stats,
                                size_t count, struct sd_buf *out)
{
    for (size_t f = 0; f < sizeof index_families / sizeof index_families[0]; f++) {
        const struct index_family *fam = &index_families[f];
        family(out, fam->name, fam->type, fam->help);
        for (size_t i = 0; i < count; i++) {
            putf(out, "%s{index=\"", fam->name);
            put_label_value(out, names[i]);
            putf(out, "\"} %llu\n", (unsigned long long)fam->get(&stats[i]));
        }
    }
    for (size_t f = 0; f < sizeof index_histograms / sizeof index_histograms[0]; f++) {
        const struct index_histogram *fam = &index_histograms[f];
        family(out, fam->name, "histogram", fam->help);
        for (size_t i = 0; i < count; i++) {
            const struct idx_histogram *h = fam->get(&stats[i]);
            put_histogram(out, fam->name, "index", names[i], h->bounds_ns, h->nbounds, 1e-9,
                          h->counts, (double)h->sum_ns / 1e9);
        }
    }
}

/* Resident set size in bytes, from /proc/self/statm (its second field, in pages); 0 when it
 * cannot be read. */
static uint64_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) {
        return 0;
    }
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? resident * (uint64_t)page : 0;
}

/* A family of one sample without labels. */
static void put_gauge(struct sd_buf *out, const char *name, const char *help, uint64_t v)
{
    family(out, name, "gauge", help);
    putf(out, "%s %llu\n", name, (unsigned long long)v);
}

void srv_metrics_render_server(const struct srv_metrics *m, const struct srv_metrics_now *now,
                               struct sd_buf *out)
{
    family(out, "searchd_connections", "gauge", "Open client connections, by protocol.");
    for (unsigned p = 0; p < SRV_NPROTO; p++) {
        putf(out, "searchd_connections{proto=\"%s\"} %u\n", proto_names[p], now->connections[p]);
    }
    put_gauge(out, "searchd_requests_in_flight",
              "Requests read and not yet answered: queued for a worker, searching, or waiting "
              "for their write to be durable (this scrape included).",
              now->inflight);
    put_gauge(out, "searchd_worker_queue_requests",
              "Requests queued for a worker thread and not yet started (searches, gets, index "
              "management).",
              now->worker_queue);
    put_gauge(out, "searchd_connection_output_bytes",
              "Answer bytes buffered on client connections, not yet taken by their sockets.",
              now->output_bytes);
    put_gauge(out, "searchd_unsent_bytes",
              "Answer bytes not yet taken by clients, all connections: made by a worker, waiting "
              "in request order, or buffered on a connection (bounded by --max-unsent).",
              now->unsent_bytes);
    put_gauge(out, "searchd_unsent_limit_bytes", "--max-unsent.", now->unsent_limit);
    put_gauge(out, "searchd_unsent_waiting_requests",
              "Searches and gets waiting for searchd_unsent_bytes to go under --max-unsent.",
              now->unsent_waiting);
    put_gauge(out, "searchd_connection_unfinished_bytes",
              "Bytes of requests read but not yet complete, all connections (bounded by "
              "--max-unfinished).",
              now->unfinished_bytes);
    put_gauge(out, "searchd_engine_memory_bytes",
              "The engine's own memory as --memory-limit counts it: queued writes, in-memory "
              "segments, running merges, analyses, stem caches.",
              now->engine_memory);
    put_gauge(out, "searchd_engine_memory_peak_bytes",
              "The most searchd_engine_memory_bytes has been since the server started.",
              now->engine_memory_peak);
    put_gauge(out, "searchd_engine_memory_limit_bytes", "--memory-limit (0: none).",
              now->engine_memory_limit);
    put_gauge(out, "searchd_indexes_unavailable",
              "Indexes that did not open at start (damage on disk): every request naming one "
              "is refused with index_unavailable; /health names the first.",
              now->unavailable_indexes);
    put_gauge(out, "process_resident_memory_bytes", "Resident memory of searchd.",
              resident_bytes());
    put_gauge(out, "process_start_time_seconds", "When the server started, unix seconds.",
              m->start_unix);
    family(out, "searchd_uptime_seconds", "gauge", "Seconds since the server started.");
    putf(out, "searchd_uptime_seconds %.3f\n", (double)(sd_now_ns() - m->start_ns) / 1e9);
    family(out, "searchd_build_info", "gauge", "The build: always 1, the version as a label.");
    putf(out, "searchd_build_info{version=\"%s\"} 1\n", SEARCHD_VERSION);
}

/* The server's own numbers, read on the loop thread that owns them (pool.nqueued under its
 * lock, a worker may be taking a job). */
static void read_server(struct srv *s, struct srv_metrics_now *now)
{
    memset(now, 0, sizeof *now);
    for (unsigned p = 0; p < SRV_NPROTO; p++) {
        now->connections[p] = s->nproto[p];
    }
    now->inflight = s->inflight;
    pthread_mutex_lock(&s->pool.mu);
    now->worker_queue = s->pool.nqueued;
    pthread_mutex_unlock(&s->pool.mu);
    now->output_bytes = srv_conn_output_bytes(s);
    now->unfinished_bytes = s->held_total;
    now->unsent_bytes = atomic_load_explicit(&s->unsent, memory_order_relaxed);
    now->unsent_limit = s->cfg.max_unsent;
    now->unsent_waiting = srv_unsent_waiting(s);
    idx_memory(s->db, &now->engine_memory, &now->engine_memory_limit);
    now->engine_memory_peak = idx_memory_peak(s->db);
}

/* Every index's stats; *names and *stats owned by the caller (free_indexes). An index that
 * disappears between the list and its stats (dropped) is left out, and so is an unavailable
 * one (no stats: counted in *unavailable). */
static int collect_indexes(struct srv *s, char ***names, struct idx_stats **stats, size_t *count,
                           uint32_t *unavailable, struct sd_error *err)
{
    size_t n = 0;
    int rc = idx_list(s->db, names, &n, err);
    if (rc) {
        return rc;
    }
    *stats = calloc(n ? n : 1, sizeof **stats);
    if (!*stats) {
        for (size_t i = 0; i < n; i++) {
            free((*names)[i]);
        }
        free(*names);
        return sd_errorf(err, SD_ENOMEM, "metrics: index stats");
    }
    size_t kept = 0;
    *unavailable = 0;
    for (size_t i = 0; i < n; i++) {
        int src = idx_stats(s->db, (*names)[i], &(*stats)[kept], err);
        if (src == SD_OK) {
            (*names)[kept++] = (*names)[i];
        } else {
            *unavailable += src == SD_EUNAVAIL;
            free((*names)[i]);
        }
    }
    *count = kept;
    return SD_OK;
}

void srv_metrics_answer(struct srv *s, struct srv_job *job)
{
    char **names = NULL;
    struct idx_stats *stats = NULL;
    size_t count = 0;
    struct sd_error err = {0};
    uint32_t unavailable = 0;
    int rc = collect_indexes(s, &names, &stats, &count, &unavailable, &err);
    if (rc) {
        log_error("event=metrics_failed rc=%s msg=\"%s\"", sd_status_name(rc), err.msg);
        srv_job_fail(job, proto_code_from_sd(rc), err.msg);
        return;
    }
    struct srv_metrics_now now;
    read_server(s, &now);
    now.unavailable_indexes = unavailable;
    sd_buf_reset(&job->out);
    srv_metrics_render_counters(&s->metrics, &job->out);
    srv_metrics_render_server(&s->metrics, &now, &job->out);
    srv_metrics_render_indexes((const char *const *)names, stats, count, &job->out);
    for (size_t i = 0; i < count; i++) {
        free(names[i]);
    }
    free(names);
    free(stats);
    if (job->out.rc) {
        srv_job_fail(job, PROTO_INTERNAL, "out of memory writing the metrics");
        return;
    }
    job->content_type = SRV_METRICS_CONTENT_TYPE;
}
