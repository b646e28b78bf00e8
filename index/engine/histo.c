/*
 * histo.c: histograms of how long the engine's work takes (flushes, merges, the group
 * commit's fdatasyncs), for idx_stats and from there /metrics.
 *
 * Each histogram has fixed buckets (upper bounds in ns, one static table per kind) and is
 * recorded by the one thread that did the work: a linear search of at most
 * IDX_HIST_MAX_BOUNDS bounds and two relaxed atomic adds, no lock. That is nothing beside
 * what it measures (an fdatasync takes tens of microseconds at best, a flush milliseconds).
 * A reader loads each count on its own, so a snapshot may be one record short in a bucket
 * or in the sum, never torn within a number: the tolerance every Prometheus client has.
 * The counts are per bucket, not cumulative; the daemon adds them up as the text format
 * wants (srv_metrics.c), so each record touches one bucket only.
 */
#include "engine_int.h"

/* Flushes and merges: a small flush takes a few ms, a disk merge of a big index minutes. */
static const uint64_t idx_job_bounds_ns[] = {
    1000000,     5000000,     10000000,     25000000,     50000000,   100000000,
    250000000,   500000000,   1000000000,   2500000000,   5000000000, 10000000000,
    30000000000, 60000000000, 120000000000, 300000000000,
};

/* fdatasync: tens of microseconds on NVMe with a write cache, ms on SSDs and disks, up to a
 * second on a busy or networked filesystem. */
static const uint64_t idx_fsync_bounds_ns[] = {
    50000,    100000,   250000,   500000,    1000000,   2500000,   5000000,
    10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
};

_Static_assert(sizeof idx_job_bounds_ns / sizeof idx_job_bounds_ns[0] <= IDX_HIST_MAX_BOUNDS,
               "job buckets fit in idx_histogram");
_Static_assert(sizeof idx_fsync_bounds_ns / sizeof idx_fsync_bounds_ns[0] <= IDX_HIST_MAX_BOUNDS,
               "fsync buckets fit in idx_histogram");

void idx_hist_init(struct idx_hist *h, enum idx_hist_kind kind)
{
    if (kind == IDX_HIST_FSYNC) {
        h->bounds_ns = idx_fsync_bounds_ns;
        h->nbounds = sizeof idx_fsync_bounds_ns / sizeof idx_fsync_bounds_ns[0];
    } else {
        h->bounds_ns = idx_job_bounds_ns;
        h->nbounds = sizeof idx_job_bounds_ns / sizeof idx_job_bounds_ns[0];
    }
    for (uint32_t i = 0; i <= IDX_HIST_MAX_BOUNDS; i++) {
        atomic_init(&h->counts[i], 0);
    }
    atomic_init(&h->sum_ns, 0);
}

void idx_hist_record(struct idx_hist *h, uint64_t ns)
{
    uint32_t b = 0;
    while (b < h->nbounds && ns > h->bounds_ns[b]) {
        b++;
    }
    atomic_fetch_add_explicit(&h->counts[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void idx_hist_read(const struct idx_hist *h, struct idx_histogram *out)
{
    memset(out, 0, sizeof *out);
    out->bounds_ns = h->bounds_ns;
    out->nbounds = h->nbounds;
    for (uint32_t i = 0; i <= h->nbounds; i++) {
        out->counts[i] = atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    }
    out->sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}
