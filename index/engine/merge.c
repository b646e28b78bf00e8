/*
 * merge.c: the two merge threads of an index: flushes, memory merges and
 * tiered disk merges.
 *
 * Every job has the same three steps:
 *  1. pick (state_lock): choose input segments from the live list, take a
 *     reference to each and a copy of its tombstones as of now;
 *  2. rewrite (no lock): the live documents of the inputs go into one new
 *     segment image; a flush or disk merge writes it to seg-NNNNNN.seg and
 *     maps it, a memory merge keeps it in memory. A flush of exactly one
 *     in-memory segment skips the rewrite and writes its image as it is. When a
 *     typo search has walked an input's exact forms, the output's are built too
 *     (idx_job_warm), so no search builds them after the commit (and each merger
 *     builds those of the other segments of its kind when it has nothing to do,
 *     idx_warm_segments);
 *  3. commit (manifest_lock -> state_lock): deletes that hit the inputs since
 *     step 1 are carried over to the output by id, the inputs are replaced by
 *     the output in the live list, a snapshot is published, and for disk
 *     changes a MANIFEST is written (flush: with the new checkpoint). Disk
 *     inputs are unlinked only after that MANIFEST is durable, when their last
 *     query ends.
 *
 * Two threads run jobs, split by the kind of segment they remove: the memory
 * merger (IDX_MERGER_MEMORY) flushes and merges in-memory segments, the disk
 * merger (IDX_MERGER_DISK) merges and expunges disk segments. A disk merge of
 * the whole index can take many seconds; on one thread the flushes queued
 * behind it, and the in-memory segments of a bulk import grew without bound
 * (measured: 1.4 GiB of a 200k-document import). Each segment is removed only
 * by the thread of its kind, so inputs picked in step 1 are still in the live
 * list in step 3; a flush only appends a disk segment, which the disk merger
 * may pick next. Queries never wait: they hold snapshots.
 *
 * Policy of the memory merger, in order: a requested flush; the in-memory
 * segments of one size tier (tier.c: tiers of 1 document, 2-3, 4-15, ... for
 * merge_factor 8), once merge_factor / 2 of them wait, -> one in-memory segment (the
 * refresh that may have filled a tier wakes the merger, mem.c); when writes have paused,
 * all in-memory segments -> one (idx_pick_idle, unless they are many and one holds half). Of
 * the disk merger: merge_factor disk segments of one tier (tiers of up to
 * 1000 documents, then 1000-7999, ...) -> one; a disk segment over half
 * deleted -> rewrite it alone.
 */
#include "engine_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define IDX_IDLE_MERGE_MS 500u  /* no write for this long: in-memory segments become one */
#define IDX_IDLE_ANY_DOCS 1000u /* ... always when they hold this few documents together */
#define IDX_MERGE_NICE    10   /* merge threads yield the cores to searches and writes */
#define IDX_FAIL_LOG_NS   (60ull * 1000000000u) /* a failing merger logs at most this often */

struct idx_job {
    bool is_flush;
    bool to_disk;
    bool as_is;          /* a flush whose buffers did not fit the memory limit: each input's image
                            written to a file of its own (idx_job_output_as_is) */
    uint64_t checkpoint; /* flush: new checkpoint */
    size_t n;
    struct idx_segref **inputs; /* one reference each */
    uint64_t **start_bits;      /* tombstones at pick time (copies) */
    uint64_t max_seq;           /* of in-memory inputs */
    struct idx_segref **outs;   /* as_is: input i's file, one reference each until the commit
                                   hands them to the live list; NULL entries: none (yet) */
};

static void idx_job_free(struct idx_job *job)
{
    for (size_t i = 0; i < job->n; i++) {
        idx_segref_unref(job->inputs[i]);
        free(job->start_bits[i]);
        if (job->outs && job->outs[i]) { /* written, not committed: the file goes too */
            atomic_store(&job->outs[i]->is_obsolete, true);
            idx_segref_unref(job->outs[i]);
        }
    }
    free(job->outs);
    free(job->inputs);
    free(job->start_bits);
    memset(job, 0, sizeof *job);
}

static uint32_t idx_live_count(const struct idx_live *l)
{
    return seg_doc_count(l->ref->seg) - l->ndeleted;
}

/* Adds live[i] to the job (state_lock held). */
static int idx_job_add(struct idx_job *job, struct idx_live *l)
{
    size_t words = ((size_t)seg_doc_count(l->ref->seg) + 63) / 64;
    uint64_t *bits = malloc((words ? words : 1) * sizeof *bits);
    struct idx_segref **in = realloc(job->inputs, (job->n + 1) * sizeof *in);
    if (in) {
        job->inputs = in;
    }
    uint64_t **sb = realloc(job->start_bits, (job->n + 1) * sizeof *sb);
    if (sb) {
        job->start_bits = sb;
    }
    if (!bits || !in || !sb) {
        free(bits);
        return SD_ENOMEM;
    }
    memcpy(bits, l->bits, words * sizeof *bits);
    atomic_fetch_add(&l->ref->refs, 1);
    job->inputs[job->n] = l->ref;
    job->start_bits[job->n] = bits;
    job->n++;
    if (l->max_seq > job->max_seq) {
        job->max_seq = l->max_seq;
    }
    return SD_OK;
}

static bool idx_is_kind(const struct idx_live *l, bool in_memory)
{
    return (l->ref->seg_no == 0) == in_memory;
}

/* The segments of one kind, in memory or on disk, that a tier merge would take now
 * (state_lock held), by the ladder of their kind (tier.c): their places in the live list into
 * at[0, *taken) (at: room for ix->nlive). SD_OK or SD_ENOMEM. */
static int idx_tier_due(const struct idx_index *ix, bool in_memory, size_t *at, size_t *taken)
{
    uint32_t factor =
        in_memory ? idx_mem_merge_factor(ix->db->cfg.merge_factor) : ix->db->cfg.merge_factor;
    size_t max_inputs = in_memory ? IDX_TIER_MAX_INPUTS : factor;
    size_t n = 0, room = ix->nlive ? ix->nlive : 1;
    uint32_t *docs = malloc(room * sizeof *docs);
    size_t *pick = malloc(room * sizeof *pick);
    if (!docs || !pick) {
        free(docs);
        free(pick);
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < ix->nlive; i++) {
        if (idx_is_kind(&ix->live[i], in_memory)) {
            docs[n] = idx_live_count(&ix->live[i]);
            at[n++] = i;
        }
    }
    *taken = idx_tier_pick(docs, n, in_memory ? IDX_MEM_TIER_BASE : IDX_TIER_BASE, factor,
                           max_inputs < room ? max_inputs : room, pick);
    for (size_t k = 0; k < *taken; k++) {
        at[k] = at[pick[k]]; /* pick is ascending: at[pick[k]] is not overwritten yet */
    }
    free(docs);
    free(pick);
    return SD_OK;
}

/* Picks segments of one size tier, in memory or on disk (state_lock held). */
static int idx_pick_tier(struct idx_index *ix, struct idx_job *job, bool in_memory)
{
    size_t *at = malloc((ix->nlive ? ix->nlive : 1) * sizeof *at);
    size_t taken = 0;
    int rc = at ? idx_tier_due(ix, in_memory, at, &taken) : SD_ENOMEM;
    for (size_t k = 0; rc == SD_OK && k < taken; k++) {
        rc = idx_job_add(job, &ix->live[at[k]]);
    }
    job->to_disk = !in_memory && taken > 0;
    free(at);
    return rc;
}

size_t idx_memory_segment_count(const struct idx_index *ix)
{
    size_t count = 0;
    for (size_t i = 0; i < ix->nlive; i++) {
        count += idx_is_kind(&ix->live[i], true);
    }
    return count;
}

bool idx_memory_backlog(struct idx_index *ix)
{
    if (ix->is_degraded || idx_memcap_level(&ix->db->memcap) != IDX_MEM_OK) {
        return false; /* no memory merge is picked then (idx_pick) */
    }
    if (idx_memory_segment_count(ix) < (size_t)IDX_MEM_BACKLOG * ix->db->cfg.merge_factor) {
        return false; /* the writer asks after every batch: nothing allocated then */
    }
    size_t *at = malloc(ix->nlive * sizeof *at);
    size_t taken = 0;
    bool is_behind = at && idx_tier_due(ix, true, at, &taken) == SD_OK && taken > 0;
    free(at);
    return is_behind;
}

/* Whether the writes have paused for IDX_IDLE_MERGE_MS. */
static bool idx_writes_paused(struct idx_index *ix)
{
    return sd_now_ns() - atomic_load(&ix->last_write_ns) >= IDX_IDLE_MERGE_MS * 1000000ull;
}

/* Whether a pause in writing should merge the in-memory segments into one (state_lock
 * held; idx_pick_idle): they are several, and either hold IDX_IDLE_ANY_DOCS documents or fewer
 * together, or none of them holds half their documents. */
static bool idx_memory_segments_to_join(struct idx_index *ix)
{
    size_t count = 0;
    uint64_t total = 0, largest = 0;
    for (size_t i = 0; i < ix->nlive; i++) {
        if (idx_is_kind(&ix->live[i], true)) {
            uint64_t docs = idx_live_count(&ix->live[i]);
            count++;
            total += docs;
            largest = docs > largest ? docs : largest;
        }
    }
    return count > 1 && (total <= IDX_IDLE_ANY_DOCS || largest * 2 <= total);
}

/* When no write has come for IDX_IDLE_MERGE_MS, the in-memory segments go into one
 * (state_lock held) if idx_memory_segments_to_join says so. A bulk import leaves several
 * tiers of them (6 for 41k documents in batches of 1000) until the flush, flush_ms later,
 * and a search pays for each segment (measured: 12-20% slower on 6 segments than on one);
 * writes one at a time leave up to 3 a tier (tier.c). The half rule keeps a trickle of
 * writes from rewriting one big segment after every pause: a document is rewritten here only
 * when the set at least doubles, as in the tiers. Up to IDX_IDLE_ANY_DOCS documents the
 * rewrite is cheap (20-35 ms for 1,000 of corpus-large's: bench/memory_segments.py), and the
 * searches of the pause meet one segment. */
static int idx_pick_idle(struct idx_index *ix, struct idx_job *job)
{
    if (!idx_writes_paused(ix) || !idx_memory_segments_to_join(ix)) {
        return SD_OK;
    }
    for (size_t i = 0; i < ix->nlive; i++) {
        if (idx_is_kind(&ix->live[i], true) && idx_job_add(job, &ix->live[i])) {
            return SD_ENOMEM;
        }
    }
    return SD_OK;
}

/* A disk segment more than half deleted is rewritten alone. */
static int idx_pick_expunge(struct idx_index *ix, struct idx_job *job)
{
    for (size_t i = 0; i < ix->nlive; i++) {
        struct idx_live *l = &ix->live[i];
        if (l->ref->seg_no && l->ndeleted * 2 > seg_doc_count(l->ref->seg)) {
            job->to_disk = true;
            return idx_job_add(job, l);
        }
    }
    return SD_OK;
}

/* The memory a job holds while it builds its output (memcap.c): a memory merge builds the
 * whole image (about its inputs' size); a merge to a file streams the postings but gathers
 * positions and the dictionary until they are done (seg_merge.c, MEMORY), bounded here by
 * the inputs' postings sections. A flush of one in-memory segment writes its image as is. */
static uint64_t idx_job_buffer_bytes(const struct idx_job *job)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < job->n && !(job->is_flush && job->n == 1) && !job->as_is; i++) {
        const struct seg *s = job->inputs[i]->seg;
        bytes += job->to_disk ? seg_postings_bytes(s) : seg_size_bytes(s);
    }
    return bytes;
}

/* Under a memory limit, a merge that would hold more than a quarter of it is not started
 * (flushes always are: they give memory back). Segments then stop growing at about that
 * size: more of them per search, memory bounded. */
static void idx_pick_bound(struct idx_index *ix, struct idx_job *job)
{
    uint64_t limit = ix->db->memcap.limit;
    if (limit && !job->is_flush && job->n && idx_job_buffer_bytes(job) > limit / 4) {
        idx_job_free(job);
    }
}

static int idx_pick(struct idx_index *ix, enum idx_merger_role role, uint64_t flush_seq,
                    struct idx_job *job)
{
    memset(job, 0, sizeof *job);
    int rc = SD_OK;
    if (ix->is_degraded) {
        return SD_OK; /* nothing is rewritten while a file is not served (recover.c) */
    }
    pthread_mutex_lock(&ix->state_lock);
    if (role == IDX_MERGER_DISK) {
        rc = idx_pick_tier(ix, job, false);
        if (rc == SD_OK) {
            idx_pick_bound(ix, job);
        }
        if (rc == SD_OK && job->n == 0) {
            rc = idx_pick_expunge(ix, job);
            if (rc == SD_OK) {
                idx_pick_bound(ix, job);
            }
        }
    } else if (flush_seq > ix->checkpoint_seq) {
        /* Every in-memory segment goes, not only those up to flush_seq: a
         * memory merge may have mixed older and newer writes into one. The
         * new checkpoint is the newest write they hold (each refresh takes
         * the whole memtable, so every op up to it is in a segment). */
        job->is_flush = job->to_disk = true;
        job->checkpoint = flush_seq;
        for (size_t i = 0; i < ix->nlive && rc == SD_OK; i++) {
            struct idx_live *l = &ix->live[i];
            if (!l->ref->seg_no) {
                rc = idx_job_add(job, l);
            }
        }
        if (job->max_seq > job->checkpoint) {
            job->checkpoint = job->max_seq;
        }
    } else if (idx_memcap_level(&ix->db->memcap) == IDX_MEM_OK) {
        /* Near the memory limit the flush takes the in-memory segments all at once; a
         * memory merge would hold them twice meanwhile (memcap.c). */
        rc = idx_pick_tier(ix, job, true);
        if (rc == SD_OK && job->n == 0) {
            rc = idx_pick_idle(ix, job);
        }
        if (rc == SD_OK) {
            idx_pick_bound(ix, job);
        }
    }
    pthread_mutex_unlock(&ix->state_lock);
    return rc;
}

/* The live documents of the job's inputs, in input order, as one new segment: seg_merge
 * renumbers and re-encodes their postings without tokenizing them. Into image (a memory
 * merge), or with a path streamed into a new file there (seg_merge_file: a disk merge never
 * holds its output in memory). */
static int idx_rewrite(struct idx_index *ix, const struct idx_job *job, struct sd_buf *image,
                       const char *path, struct sd_error *err)
{
    struct seg **segs = malloc((job->n ? job->n : 1) * sizeof *segs);
    if (!segs) {
        return sd_errorf(err, SD_ENOMEM, "merge: out of memory");
    }
    for (size_t i = 0; i < job->n; i++) {
        segs[i] = job->inputs[i]->seg;
    }
    const uint64_t *const *bits = (const uint64_t *const *)job->start_bits;
    uint64_t len;
    int rc = path ? seg_merge_file(segs, bits, job->n, path, &len, err)
                  : seg_merge(segs, bits, job->n, image, &ix->flush_asked, err);
    free(segs);
    return rc;
}

static uint32_t idx_alloc_seg_no(struct idx_index *ix)
{
    pthread_mutex_lock(&ix->state_lock);
    uint32_t no = ix->next_seg_no++;
    pthread_mutex_unlock(&ix->state_lock);
    return no;
}

/* Writes a new segment file: the image of a single in-memory segment as it is, or (image
 * NULL) the merge of the job's inputs streamed to the file; then maps it. */
static int idx_write_segment(struct idx_index *ix, struct idx_job *job, const uint8_t *image,
                             size_t len, struct idx_segref **out, struct sd_error *err)
{
    uint32_t no = idx_alloc_seg_no(ix);
    char name[WAL_NAME_MAX], path[PATH_MAX];
    wal_seg_name(name, no);
    if (sd_path_join(path, sizeof path, ix->dir, name)) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", ix->dir);
    }
    int rc;
    if (image) {
        rc = sd_write_file_new(ix->dir, name, image, len, err);
    } else {
        rc = idx_rewrite(ix, job, NULL, path, err);
        if (rc == SD_OK) {
            rc = sd_fsync_dir(ix->dir, err);
        }
    }
    struct seg *s;
    if (rc == SD_OK && (rc = seg_open_file_written(path, &s, err)) == SD_OK) {
        *out = idx_segref_new(s, no, ix->dir, &ix->db->memcap);
        if (!*out) {
            seg_close(s);
            rc = sd_errorf(err, SD_ENOMEM, "%s: out of memory", path);
        }
    }
    if (rc) {
        unlink(path);
    }
    return rc;
}

/* When a typo search has walked an input's exact forms (seg_exact_terms: built on the first
 * walk, a pass over the dictionary), the output gets them too, here, before it is published:
 * otherwise the first typo search after the merge would build them while its user waits
 * (about 0.2 s for a segment of 200k documents). A failure leaves the build to that search. */
static void idx_job_warm(const struct idx_job *job, struct idx_segref *out)
{
    for (size_t i = 0; out && i < job->n; i++) {
        if (seg_exact_terms_built(job->inputs[i]->seg)) {
            const struct seg_exact_terms *t = NULL;
            struct sd_error ignored;
            (void)seg_exact_terms(out->seg, &t, &ignored);
            seg_exact_terms_release(out->seg, t); /* kept, or refused by the memory limit */
            return;
        }
    }
}

/* Step 2 of a flush without buffers (as_is): each in-memory input's image goes to a file as
 * it is, as a flush of one segment does, into job->outs. Its documents keep their numbers, so
 * its tombstones carry over whole (idx_job_swap_as_is). More and smaller disk segments than
 * one merged file: the disk merger merges them once memory allows. On error idx_job_free
 * removes the files written. */
static int idx_job_output_as_is(struct idx_index *ix, struct idx_job *job, struct sd_error *err)
{
    job->outs = calloc(job->n, sizeof *job->outs);
    if (!job->outs) {
        return sd_errorf(err, SD_ENOMEM, "flush: out of memory");
    }
    for (size_t i = 0; i < job->n; i++) {
        size_t len;
        const uint8_t *data = seg_image(job->inputs[i]->seg, &len);
        int rc = idx_write_segment(ix, job, data, len, &job->outs[i], err);
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

/* Step 2: the output segment of a job, or NULL when no document survives (as_is: the
 * outputs, in job->outs). */
static int idx_job_output(struct idx_index *ix, struct idx_job *job, struct idx_segref **out,
                          struct sd_error *err)
{
    *out = NULL;
    if (job->n == 0) {
        return SD_OK;
    }
    if (job->as_is) {
        return idx_job_output_as_is(ix, job, err);
    }
    if (job->is_flush && job->n == 1) {
        size_t len;
        const uint8_t *data = seg_image(job->inputs[0]->seg, &len); /* tombstones: a file */
        return idx_write_segment(ix, job, data, len, out, err);
    }
    uint64_t live = 0;
    for (size_t i = 0; i < job->n; i++) {
        uint32_t nd = seg_doc_count(job->inputs[i]->seg);
        for (uint32_t d = 0; d < nd; d++) {
            live += !idx_bits_test(job->start_bits[i], d);
        }
    }
    if (live == 0) {
        return SD_OK;
    }
    if (job->to_disk) {
        return idx_write_segment(ix, job, NULL, 0, out, err);
    }
    struct sd_buf image;
    sd_buf_init(&image);
    int rc = idx_rewrite(ix, job, &image, NULL, err);
    if (rc == SD_OK) {
        size_t n;
        uint8_t *owned = sd_buf_detach(&image, &n);
        struct seg *s;
        if ((rc = seg_open_mem_written(owned, n, ix->name, &s, err)) == SD_OK &&
            !(*out = idx_segref_new(s, 0, "", &ix->db->memcap))) {
            seg_close(s);
            rc = sd_errorf(err, SD_ENOMEM, "merge: out of memory");
        }
    }
    sd_buf_free(&image);
    return rc;
}

static size_t idx_live_find(const struct idx_index *ix, const struct idx_segref *ref)
{
    for (size_t i = 0; i < ix->nlive; i++) {
        if (ix->live[i].ref == ref) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* Bits of the output: docs deleted in the inputs since pick time, by id. A
 * single-segment flush keeps doc numbers, so the whole bitmap carries over. */
static void idx_carry_deletes(struct idx_index *ix, struct idx_job *job, struct idx_live *out)
{
    for (size_t i = 0; i < job->n; i++) {
        const struct idx_live *in = &ix->live[idx_live_find(ix, job->inputs[i])];
        uint32_t nd = seg_doc_count(in->ref->seg);
        bool same_numbers = job->is_flush && job->n == 1;
        for (uint32_t d = 0; d < nd; d++) {
            bool now = idx_bits_test(in->bits, d);
            if (!now || (!same_numbers && idx_bits_test(job->start_bits[i], d))) {
                continue;
            }
            uint32_t od = d;
            if (!same_numbers) {
                const char *id;
                size_t len;
                seg_doc_id(in->ref->seg, d, &id, &len);
                if (seg_doc_find(out->ref->seg, id, len, &od) != SD_OK) {
                    continue;
                }
            }
            idx_live_set_deleted(out, od);
        }
    }
}

/* Step 3 under state_lock: swap inputs for the output. */
static int idx_job_swap(struct idx_index *ix, struct idx_job *job, struct idx_segref *out)
{
    if (idx_live_reserve(ix)) {
        return SD_ENOMEM;
    }
    size_t pos = idx_live_find(ix, job->inputs[0]);
    if (out) {
        /* Append, carry deletes, then move the entry to the first input's place. */
        if (idx_live_append(ix, out, NULL, 0, 0)) {
            return SD_ENOMEM;
        }
        struct idx_live *o = &ix->live[ix->nlive - 1];
        o->max_seq = job->max_seq;
        idx_carry_deletes(ix, job, o);
        struct idx_live tmp = *o;
        memmove(&ix->live[pos + 1], &ix->live[pos], (ix->nlive - 1 - pos) * sizeof tmp);
        ix->live[pos] = tmp;
    }
    for (size_t i = 0; i < job->n; i++) {
        size_t at = idx_live_find(ix, job->inputs[i]);
        struct idx_live *l = &ix->live[at];
        if (!l->ref->seg_no) {
            ix->mem_bytes -= seg_size_bytes(l->ref->seg);
            idx_memcap_charge(&ix->db->memcap, -(int64_t)seg_size_bytes(l->ref->seg));
        }
        free(l->bits);
        if (l->published) {
            idx_bits_free_unused(l->published);
        }
        idx_segref_unref(l->ref); /* the job still holds one reference */
        memmove(l, l + 1, (ix->nlive - at - 1) * sizeof *l);
        ix->nlive--;
    }
    if (out && !out->seg_no) {
        ix->mem_bytes += seg_size_bytes(out->seg);
        idx_memcap_charge(&ix->db->memcap, (int64_t)seg_size_bytes(out->seg));
    }
    pthread_cond_broadcast(&ix->mem_cond); /* a writer may wait for mem_bytes to drop */
    return idx_publish(ix);
}

/* Step 3 of an as_is flush under state_lock: each input's live entry takes its own file and
 * keeps its tombstones (the same doc numbers), deletes made since the pick included; the
 * manifest commit writes them as the new segment's tombstone file. */
static int idx_job_swap_as_is(struct idx_index *ix, struct idx_job *job)
{
    for (size_t i = 0; i < job->n; i++) {
        struct idx_live *l = &ix->live[idx_live_find(ix, job->inputs[i])];
        ix->mem_bytes -= seg_size_bytes(l->ref->seg);
        idx_memcap_charge(&ix->db->memcap, -(int64_t)seg_size_bytes(l->ref->seg));
        idx_segref_unref(l->ref); /* the job still holds one reference */
        l->ref = job->outs[i];
        job->outs[i] = NULL;
        l->max_seq = 0;
        l->is_dirty_disk = l->ndeleted > 0;
    }
    pthread_cond_broadcast(&ix->mem_cond); /* a writer may wait for memory */
    return idx_publish(ix);
}

static int idx_job_commit(struct idx_index *ix, struct idx_job *job, struct idx_segref *out,
                          struct sd_error *err)
{
    pthread_mutex_lock(&ix->manifest_lock);
    pthread_mutex_lock(&ix->state_lock);
    int rc = SD_OK;
    if (job->n) {
        rc = job->as_is ? idx_job_swap_as_is(ix, job) : idx_job_swap(ix, job, out);
    }
    pthread_mutex_unlock(&ix->state_lock);
    if (rc) {
        pthread_mutex_unlock(&ix->manifest_lock);
        idx_segref_unref(out);
        return sd_errorf(err, rc, "merge commit: out of memory");
    }
    if (job->to_disk) {
        uint64_t checkpoint = job->is_flush ? job->checkpoint : ix->checkpoint_seq;
        rc = idx_manifest_commit(ix, checkpoint, err);
        for (size_t i = 0; i < job->n && rc == SD_OK; i++) {
            atomic_store(&job->inputs[i]->is_obsolete, true);
        }
    }
    pthread_mutex_unlock(&ix->manifest_lock);
    return rc;
}

/* What the disk merger waits for (0: nothing), held back from writes (idx_memcap_hold). */
static void idx_merge_hold(struct idx_index *ix, uint64_t bytes)
{
    idx_memcap_hold(&ix->db->memcap, (int64_t)bytes - (int64_t)ix->merge_hold);
    ix->merge_hold = bytes;
}

/* Charges the buffers the job will hold while it runs (idx_job_buffer_bytes), if they fit the
 * memory limit's admission ceiling (memcap.c, THE BOUND). A merge that does not fit is not
 * started (false): a disk merge then holds its buffers back from writes until it fits, so
 * that the segments do not pile up under a steady stream of writes; a flush must run, so it
 * goes without buffers (as_is) instead. */
static bool idx_job_reserve(struct idx_index *ix, struct idx_job *job)
{
    uint64_t buffers = idx_job_buffer_bytes(job);
    bool is_disk_merge = job->to_disk && !job->is_flush;
    if (buffers == 0 || idx_memcap_try(&ix->db->memcap, (size_t)buffers)) {
        if (is_disk_merge) {
            idx_merge_hold(ix, 0);
        }
        return true;
    }
    if (is_disk_merge) {
        idx_merge_hold(ix, buffers);
    }
    job->as_is = job->is_flush;
    return job->as_is;
}

/* The first output's file number and the documents of the outputs, for the log. */
static void idx_job_out_info(const struct idx_job *job, const struct idx_segref *out, uint32_t *no,
                             uint32_t *docs)
{
    *no = out ? out->seg_no : 0;
    *docs = out ? seg_doc_count(out->seg) : 0;
    for (size_t i = 0; job->outs && i < job->n; i++) {
        if (job->outs[i]) {
            *no = *no ? *no : job->outs[i]->seg_no;
            *docs += seg_doc_count(job->outs[i]->seg);
        }
    }
}

static int idx_run_job(struct idx_index *ix, enum idx_merger_role role, uint64_t flush_seq,
                       bool *did_work, struct sd_error *err)
{
    if (role == IDX_MERGER_DISK) { /* documents of older settings first (reindex.c) */
        int rrc = idx_reindex_run(ix, did_work, err);
        if (rrc || *did_work) {
            return rrc;
        }
    }
    struct idx_job job;
    int rc = idx_pick(ix, role, flush_seq, &job);
    *did_work = job.n > 0 || job.is_flush;
    if (role == IDX_MERGER_DISK && job.n == 0) {
        idx_merge_hold(ix, 0); /* no merge is due: none waits */
    }
    if (rc || !*did_work) {
        idx_job_free(&job);
        return rc ? sd_errorf(err, rc, "merge: out of memory") : SD_OK;
    }
    if (!idx_job_reserve(ix, &job)) {
        idx_job_free(&job); /* picked again at a later look, once memory allows */
        *did_work = false;
        return SD_OK;
    }
    atomic_fetch_add(&ix->merges_running, 1);
    uint64_t t0 = sd_now_ns();
    struct idx_segref *out = NULL;
    rc = idx_job_output(ix, &job, &out, err);
    if (rc == SD_OK) {
        idx_job_warm(&job, out);
    }
    /* read before the commit: once published, another thread may release the outputs */
    uint32_t out_no = 0, out_docs = 0;
    idx_job_out_info(&job, out, &out_no, &out_docs);
    if (rc == SD_OK) {
        rc = idx_job_commit(ix, &job, out, err);
    } else {
        idx_segref_unref(out);
    }
    /* after the commit, which swapped the inputs for a smaller output: never more counted */
    idx_memcap_charge(&ix->db->memcap, -(int64_t)idx_job_buffer_bytes(&job));
    atomic_fetch_sub(&ix->merges_running, 1);
    uint64_t took_ns = sd_now_ns() - t0;
    if (rc == SD_OK && job.to_disk) { /* memory merges are too frequent to report */
        idx_event(ix->db, IDX_LOG_INFO, "event=%s index=%s seg=%u inputs=%zu docs=%u ms=%llu%s",
                  job.is_flush ? "flush" : "merge", ix->name, out_no, job.n, out_docs,
                  (unsigned long long)(took_ns / 1000000), job.as_is ? " as_is=1" : "");
    }
    if (rc == SD_EBUSY && !job.to_disk) { /* a memory merge stopped for a flush */
        idx_job_free(&job);
        return SD_OK;
    }
    if (rc == SD_OK) {
        /* timed before the count moves: whoever sees the count sees the time */
        idx_hist_record(job.is_flush ? &ix->flush_time : &ix->merge_time, took_ns);
        atomic_fetch_add(job.is_flush ? &ix->flushes_done : &ix->merges_done, 1);
    }
    if (rc == SD_OK && job.is_flush) {
        atomic_store(&ix->removable_seq, job.checkpoint);
        idx_merger_wake(ix, IDX_MERGER_DISK); /* a tier, or stale segments, may be complete */
    }
    idx_job_free(&job);
    return rc;
}

static void idx_merge_wait(struct idx_merger *m, uint64_t wait_ms)
{
    struct idx_index *ix = m->ix;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + wait_ms * 1000000u;
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    while (!m->wake && !ix->merge_stop) {
        if (pthread_cond_timedwait(&ix->merge_cond, &ix->merge_lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
}

/* Whether a merger is finished once merge_stop is set (merge_lock held): the
 * memory merger first completes the requested flush, the disk merger stops
 * after its current job (the next open picks the merges up). */
static bool idx_merger_is_done(const struct idx_merger *m)
{
    const struct idx_index *ix = m->ix;
    return ix->merge_stop &&
           (m->role == IDX_MERGER_DISK || ix->is_degraded || ix->flush_seq <= ix->checkpoint_seq);
}

/* The exact forms of the segments of one merger's kind (seg_exact_terms), built by that merger
 * when it has no job to do, so that the first typo search after a restart or an import does
 * not build them while its user waits (a pass over the dictionary: 40-60 ms for corpus-large's
 * one segment, about 0.2 s per 200k documents; bench/RESULTS.md).
 *  - The disk merger, before its first job, for the segments an index opens with, and
 *    whenever it runs out of jobs, for those that flushes and merges made since.
 *  - The memory merger, once writes have paused for IDX_IDLE_MERGE_MS and its idle merge has
 *    made the in-memory segments one (or has nothing to merge): a search right after an
 *    import (its documents stay in memory for flush_ms) finds them built. While writes go on,
 *    the segments are about to be merged, so none is built for nothing.
 * Not when the index's settings turn typos off, and not under a memory limit, where they are
 * built on first use as before: they count toward the limit's flush levels (memcap.c), and an
 * index never searched with a typo would pay them for nothing. Stops at close between two
 * segments; a failure leaves the build to the first walk. Only the disk merger's builds are
 * logged: the memory merger's come after every pause in writing, like its merges, which are
 * not logged either. */
static void idx_warm_segments(struct idx_index *ix, enum idx_merger_role role)
{
    bool in_memory = role == IDX_MERGER_MEMORY;
    if (ix->db->memcap.limit) {
        return;
    }
    if (in_memory) {
        pthread_mutex_lock(&ix->state_lock);
        bool is_settled = idx_writes_paused(ix) && !idx_memory_segments_to_join(ix);
        pthread_mutex_unlock(&ix->state_lock);
        if (!is_settled) { /* writes go on, or the idle merge is still to come */
            return;
        }
    }
    struct idx_settings *st = idx_settings_acquire(ix);
    bool no_typos = st->schema->no_typos;
    idx_settings_release(st);
    if (no_typos) {
        return;
    }
    uint64_t t0 = sd_now_ns();
    size_t built = 0;
    struct idx_snap *snap = idx_snap_acquire(ix);
    for (size_t i = 0; snap && i < snap->nsegs; i++) {
        const struct idx_segref *ref = snap->segs[i].ref;
        if ((ref->seg_no == 0) != in_memory || seg_exact_terms_built(ref->seg)) {
            continue;
        }
        pthread_mutex_lock(&ix->merge_lock);
        bool is_stopping = ix->merge_stop;
        pthread_mutex_unlock(&ix->merge_lock);
        if (is_stopping) {
            break;
        }
        const struct seg_exact_terms *t = NULL;
        struct sd_error ignored;
        built += seg_exact_terms(ref->seg, &t, &ignored) == SD_OK;
        seg_exact_terms_release(ref->seg, t);
    }
    if (snap) {
        idx_snap_release(snap);
    }
    if (built && !in_memory) {
        idx_event(ix->db, IDX_LOG_INFO, "event=warmed index=%s segments=%zu ms=%llu", ix->name,
                  built, (unsigned long long)((sd_now_ns() - t0) / 1000000));
    }
}

/* The failures of one merger in a row. A merger that fails retries after 0.5 s, then twice as
 * long each time up to 30 s (a write's flush request wakes it sooner): on a full disk it fails
 * for as long as the disk stays full, and a line per retry said the same thing again and again
 * (once a second, with writes going on). So the first failure is logged with its message, then
 * at most one line per IDX_FAIL_LOG_NS saying how many retries failed since the last line (and
 * the latest message), and when a job succeeds again, event=merge_recovered says how many
 * failed and for how long. Every failure still counts (merge_failures: waiting writers give up;
 * flush_error: stats and health say why). */
struct idx_fail_log {
    uint64_t first_ns;  /* the first failure in a row; 0: the last job succeeded */
    uint64_t logged_ns; /* the last merge_failed line */
    uint64_t count;     /* failures in a row */
    uint64_t unlogged;  /* failures since the last line */
};

static const char *idx_merger_name(enum idx_merger_role role)
{
    return role == IDX_MERGER_MEMORY ? "memory" : "disk";
}

static void idx_fail_log_failure(struct idx_index *ix, enum idx_merger_role role,
                                 struct idx_fail_log *f, const char *msg, uint64_t retry_ms)
{
    uint64_t now = sd_now_ns();
    f->count++;
    if (f->count == 1) {
        f->first_ns = f->logged_ns = now;
        idx_event(ix->db, IDX_LOG_ERROR,
                  "event=merge_failed index=%s merger=%s msg=\"%s\" retry_ms=%llu", ix->name,
                  idx_merger_name(role), msg, (unsigned long long)retry_ms);
        return;
    }
    f->unlogged++;
    if (now - f->logged_ns < IDX_FAIL_LOG_NS) {
        return;
    }
    idx_event(ix->db, IDX_LOG_ERROR,
              "event=merge_failed index=%s merger=%s failures=%llu failing_s=%llu msg=\"%s\" "
              "retry_ms=%llu",
              ix->name, idx_merger_name(role), (unsigned long long)f->unlogged,
              (unsigned long long)((now - f->first_ns) / 1000000000u), msg,
              (unsigned long long)retry_ms);
    f->logged_ns = now;
    f->unlogged = 0;
}

static void idx_fail_log_success(struct idx_index *ix, enum idx_merger_role role,
                                 struct idx_fail_log *f)
{
    if (f->count == 0) {
        return;
    }
    idx_event(ix->db, IDX_LOG_INFO,
              "event=merge_recovered index=%s merger=%s failures=%llu ms=%llu", ix->name,
              idx_merger_name(role), (unsigned long long)f->count,
              (unsigned long long)((sd_now_ns() - f->first_ns) / 1000000u));
    memset(f, 0, sizeof *f);
}

static uint64_t idx_next_backoff(uint64_t backoff_ms)
{
    return backoff_ms ? (backoff_ms * 2 > 30000 ? 30000 : backoff_ms * 2) : 500;
}

static void *idx_merger_main(void *arg)
{
    struct idx_merger *m = arg;
    struct idx_index *ix = m->ix;
    pthread_setname_np(pthread_self(),
                       m->role == IDX_MERGER_MEMORY ? "sd-merge-mem" : "sd-merge-disk");
    /* Linux: a thread id names one thread. A merge is background work: on 2 cores a search
     * that met a running merge waited for CPU (corpus-large en-2and p99 3.5 ms against 0.5
     * without one, bench/run). Advice only: a failure leaves the default priority. */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), IDX_MERGE_NICE);
    if (m->role == IDX_MERGER_DISK) {
        idx_warm_segments(ix, m->role);
    }
    uint64_t backoff_ms = 0;
    struct idx_fail_log fails = {0};
    pthread_mutex_lock(&ix->merge_lock);
    for (;;) {
        idx_merge_wait(m, backoff_ms ? backoff_ms : 200);
        m->wake = false;
        bool did_work = true;
        /* Jobs until there is nothing to do; the flush request is read
         * anew before each job, so a flush never waits behind memory merges. */
        while (did_work && !idx_merger_is_done(m)) {
            uint64_t flush_seq = ix->flush_seq;
            if (m->role == IDX_MERGER_MEMORY) {
                atomic_store(&ix->flush_asked, false);
            }
            pthread_mutex_unlock(&ix->merge_lock);
            struct sd_error err = {0};
            int rc = idx_run_job(ix, m->role, flush_seq, &did_work, &err);
            if (rc) {
                idx_fail_log_failure(ix, m->role, &fails, err.msg, idx_next_backoff(backoff_ms));
                pthread_mutex_lock(&ix->state_lock);
                snprintf(ix->flush_error, sizeof ix->flush_error, "%s", err.msg);
                ix->merge_failures++;
                pthread_cond_broadcast(&ix->mem_cond); /* a waiting writer gives up */
                pthread_mutex_unlock(&ix->state_lock);
            } else if (did_work) {
                idx_fail_log_success(ix, m->role, &fails);
            }
            pthread_mutex_lock(&ix->merge_lock);
            if (rc) {
                backoff_ms = idx_next_backoff(backoff_ms);
                break;
            }
            backoff_ms = 0;
        }
        if (idx_merger_is_done(m) || (ix->merge_stop && backoff_ms)) {
            break;
        }
        if (!did_work && !backoff_ms) { /* out of jobs */
            pthread_mutex_unlock(&ix->merge_lock);
            idx_warm_segments(ix, m->role);
            pthread_mutex_lock(&ix->merge_lock);
        }
    }
    pthread_mutex_unlock(&ix->merge_lock);
    if (m->role == IDX_MERGER_DISK) {
        idx_merge_hold(ix, 0); /* the index is closing: its merges wait for nothing */
    }
    return NULL;
}

int idx_merger_start(struct idx_index *ix, struct sd_error *err)
{
    for (int r = 0; r < IDX_MERGER_COUNT; r++) {
        struct idx_merger *m = &ix->mergers[r];
        m->ix = ix;
        m->role = (enum idx_merger_role)r;
        int e = pthread_create(&m->thread, NULL, idx_merger_main, m);
        if (e) {
            idx_merger_stop(ix);
            return sd_errorf(err, SD_EIO, "index %s: merge thread: %s", ix->name, strerror(e));
        }
        m->is_started = true;
    }
    return SD_OK;
}

void idx_merger_wake(struct idx_index *ix, enum idx_merger_role role)
{
    pthread_mutex_lock(&ix->merge_lock);
    ix->mergers[role].wake = true;
    pthread_cond_broadcast(&ix->merge_cond);
    pthread_mutex_unlock(&ix->merge_lock);
}

void idx_merger_stop(struct idx_index *ix)
{
    pthread_mutex_lock(&ix->merge_lock);
    ix->merge_stop = true;
    pthread_cond_broadcast(&ix->merge_cond);
    pthread_mutex_unlock(&ix->merge_lock);
    for (int r = 0; r < IDX_MERGER_COUNT; r++) {
        if (ix->mergers[r].is_started) {
            pthread_join(ix->mergers[r].thread, NULL);
        }
        ix->mergers[r].is_started = false;
    }
}
