/*
 * memcap.c: the engine's own memory, counted against --memory-limit (idx_config.memory_limit).
 *
 * WHAT IS COUNTED. One atomic counter per data directory (struct idx_memcap in idx_db),
 * charged and uncharged where the memory is taken and given back:
 *   - queued writes: their encoded log records, from idx_write's acceptance to the ack
 *     (db.c, writer.c);
 *   - the memtable's builder, as it grows, op by op, until the refresh that turns it into an
 *     image (mem.c: seg_builder_mem_bytes after each op);
 *   - in-memory segments: their images, from the refresh that makes one until the flush or
 *     memory merge that removes it (mem.c, merge.c: everywhere ix->mem_bytes moves);
 *   - merges and flushes while they run: a memory merge's output image (its inputs' size),
 *     a merge to a file's gathered positions and dictionary (bounded by its inputs'
 *     postings sections; merge.c, idx_job_buffer_bytes). A merge that would hold more than
 *     a quarter of the limit is not started, so segments stop growing at about that size
 *     under a small limit;
 *   - analyses made ahead of the writer and the pool of reusable ones (analyze.c);
 *   - the stem caches of the writer and the analysis thread: their full size, charged when
 *     the index opens (recover.c), and sized from the limit (idx_memcap_stem_words);
 *   - each segment's search caches: its exact forms copied into memory for typo walks
 *     (seg_terms.c) and its memo (seg_memo.c), charged when a search fills them, given back
 *     when the segment closes (idx_segref_new sets the charge).
 * Not counted (the overhead the README states): disk segments (read-only mappings: page
 * cache the kernel reclaims), a re-index job's twin and stem cache, the scratch of the writer
 * (the analysis of the op it applies), of idx_write (the analysis of a large document, below)
 * and of each search (a trie the limit did not let its segment keep, decode buffers), and the
 * daemon's connection buffers (--max-unfinished).
 *
 * THE BOUND: the counter U never passes the limit L. L is the admission ceiling A = 3L/4 plus
 * the writer's room, the last quarter.
 *   Optional charges take U up to A and no further (idx_memcap_try, one compare-and-swap):
 *     a write's records: else SD_EBUSY and nothing of it is logged; a write that could not
 *       fit even into an engine holding only its stem caches gets SD_ELIMIT instead, so that
 *       its client does not retry it for ever (idx_memcap_admit);
 *     an analysis made ahead or pooled: else it is freed, and the writer analyses that op
 *       itself; the analysis thread takes no op while U is over A;
 *     a merge's buffers: else the merge waits for a later look, and a flush, which must run,
 *       writes each in-memory segment's image to a file of its own instead, which takes no
 *       buffer (merge.c, idx_job_reserve). A disk merge put off holds its buffers back from
 *       writes meanwhile (idx_memcap_hold: admitted up to A less those), so that writes that
 *       keep the counter at A do not put it off for ever while segments pile up;
 *     a segment's search caches, which also stop at a quarter of the limit together, so that
 *       they never take the room writes need: else the segment keeps nothing and the search
 *       uses its build once (idx_memcap_cache, seg_set_charge);
 *     a new index's stem caches: else SD_EBUSY (recover.c).
 *   Essential charges are never refused, so each is bounded where it is made:
 *     the builder: under a limit the writer refreshes it once it holds L/32 (L/16 from 64 MiB
 *       on: idx_memcap_builder_bytes) and takes each document whole, so it ends under L/8: that,
 *       one document's inversion of at most idx_memcap_doc_bytes (a document that could take
 *       more is refused by idx_write with SD_ELIMIT, from its analysis: db.c), an arena
 *       block and its buffers' first allocations. The image made of it is no larger than
 *       the builder (the same postings and records, packed), so the two fit the writer's room;
 *     the image then becomes an in-memory segment and the builder is given back: U may pass A
 *       by that one image. Nothing optional gets in meanwhile, and the writer starts no
 *       builder until U is back within A (idx_writer_make_room): what is over A is in-memory
 *       segments, and a flush, which needs no buffer, can always remove them;
 *     a merge's commit swaps its inputs for an output no larger than they are, and gives its
 *       buffers back only after that: it never adds;
 *     the stem caches of the indexes a data directory holds at start: a sixteenth of the
 *       limit each, charged at open (idx_memcap_fix).
 *   So U <= A + builder + image <= L while a builder exists, and U <= A + image < L otherwise.
 *   The counted peak is measured: test_memcap and tests/e2e/test_memcap.py assert it, and
 *   bench/memcap_peak.py reports it (README "Memory limit").
 *
 * WHAT HAPPENS NEAR THE LIMIT (levels from idx_memcap_level):
 *   U >= L/2     FLUSH: the writer flushes its in-memory segments now, whatever flush_bytes
 *                says, and the memory merger merges no in-memory segments (a merge doubles
 *                them while it runs): the flush takes them all at once anyway;
 *   U >= 2L/3    SLOW: the writer takes no new batch while its index has in-memory
 *                segments, until their flush is done (back-pressure: acks wait, writes
 *                queue), and a batch holds at most L/16 of records (writer.c);
 *   U + w > A    a write of w bytes is refused with SD_EBUSY and a message saying so; the
 *                client retries (nothing of it was logged). Searches are never refused.
 * Without a limit (0) the counter still runs (idx_memory reports it), and nothing changes: no
 * charge is refused, and a builder holds a whole batch.
 * Every charge also raises a high-water mark (idx_memory_peak, stats' engine_memory_peak_bytes):
 * a transient between two reads of the counter is not missed (bench/memcap_peak.py).
 */
#include <stdio.h>

#include "engine_int.h"

#define IDX_STEM_WORD_BYTES 64 /* a stem cache entry, as IDX_STEM_CACHE_WORDS' comment says */

void idx_memcap_init(struct idx_memcap *c, uint64_t limit)
{
    atomic_init(&c->used, 0);
    atomic_init(&c->peak, 0);
    atomic_init(&c->fixed, 0);
    atomic_init(&c->cached, 0);
    atomic_init(&c->held, 0);
    c->limit = limit;
}

/* Raises the high-water mark to now: one load when it is not a new peak. */
static void idx_memcap_note(struct idx_memcap *c, uint64_t now)
{
    uint64_t peak = atomic_load_explicit(&c->peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak_explicit(
                             &c->peak, &peak, now, memory_order_relaxed, memory_order_relaxed)) {
    }
}

void idx_memcap_charge(struct idx_memcap *c, int64_t delta)
{
    if (delta >= 0) {
        idx_memcap_note(c, atomic_fetch_add(&c->used, (uint64_t)delta) + (uint64_t)delta);
    } else {
        atomic_fetch_sub(&c->used, (uint64_t)-delta);
    }
}

uint64_t idx_memcap_used(const struct idx_memcap *c)
{
    return atomic_load(&c->used);
}

/* A: what optional charges may fill (the file comment, THE BOUND). */
static uint64_t idx_memcap_ceiling(const struct idx_memcap *c)
{
    return c->limit / 4 * 3;
}

enum idx_mem_level idx_memcap_level(const struct idx_memcap *c)
{
    uint64_t used = atomic_load(&c->used);
    if (!c->limit || used < c->limit / 2) {
        return IDX_MEM_OK;
    }
    if (used < c->limit / 3 * 2) {
        return IDX_MEM_FLUSH;
    }
    return used < idx_memcap_ceiling(c) ? IDX_MEM_SLOW : IDX_MEM_FULL;
}

/* Charges bytes if the counter stays within max (a limit is set). */
static bool idx_memcap_try_under(struct idx_memcap *c, size_t bytes, uint64_t max)
{
    uint64_t used = atomic_load(&c->used);
    do {
        if (bytes > max || used > max - bytes) {
            return false;
        }
    } while (!atomic_compare_exchange_weak(&c->used, &used, used + bytes));
    idx_memcap_note(c, used + bytes);
    return true;
}

bool idx_memcap_try(struct idx_memcap *c, size_t bytes)
{
    if (!c->limit) {
        idx_memcap_charge(c, (int64_t)bytes);
        return true;
    }
    return idx_memcap_try_under(c, bytes, idx_memcap_ceiling(c));
}

void idx_memcap_hold(struct idx_memcap *c, int64_t delta)
{
    if (delta >= 0) {
        atomic_fetch_add(&c->held, (uint64_t)delta);
    } else {
        atomic_fetch_sub(&c->held, (uint64_t)-delta);
    }
}

bool idx_memcap_has_room(const struct idx_memcap *c)
{
    return !c->limit || atomic_load(&c->used) <= idx_memcap_ceiling(c);
}

int idx_memcap_admit(struct idx_memcap *c, size_t bytes, struct sd_error *err)
{
    uint64_t fixed = atomic_load(&c->fixed), max = idx_memcap_ceiling(c);
    if (c->limit && (fixed > max || bytes > max - fixed)) {
        return sd_errorf(err, SD_ELIMIT,
                         "memory limit: this write needs %zu bytes, more than --memory-limit "
                         "%llu ever admits (%llu: three quarters of it, less %llu of stem "
                         "caches); send it in smaller batches",
                         bytes, (unsigned long long)c->limit,
                         (unsigned long long)(fixed < max ? max - fixed : 0),
                         (unsigned long long)fixed);
    }
    /* merges waiting for room get it before more writes do (at most a quarter of the limit) */
    uint64_t held = atomic_load(&c->held);
    held = held < c->limit / 4 ? held : c->limit / 4;
    if (!c->limit) {
        idx_memcap_charge(c, (int64_t)bytes);
    } else if (!idx_memcap_try_under(c, bytes, max - held)) {
        return sd_errorf(err, SD_EBUSY,
                         "memory limit: the engine holds %llu of %llu bytes (--memory-limit) "
                         "and this write needs %zu more; retry once flushes have caught up",
                         (unsigned long long)idx_memcap_used(c), (unsigned long long)c->limit,
                         bytes);
    }
    return SD_OK;
}

bool idx_memcap_cache(struct idx_memcap *c, int64_t delta)
{
    if (delta < 0) {
        atomic_fetch_sub(&c->cached, (uint64_t)-delta);
        idx_memcap_charge(c, delta);
        return true;
    }
    uint64_t bytes = (uint64_t)delta;
    uint64_t cached = atomic_fetch_add(&c->cached, bytes);
    if ((c->limit && cached + bytes > c->limit / 4) || !idx_memcap_try(c, (size_t)bytes)) {
        atomic_fetch_sub(&c->cached, bytes);
        return false;
    }
    return true;
}

bool idx_memcap_fix(struct idx_memcap *c, int64_t delta, bool must_fit)
{
    if (delta < 0) {
        atomic_fetch_sub(&c->fixed, (uint64_t)-delta);
        idx_memcap_charge(c, delta);
        return true;
    }
    if (must_fit && !idx_memcap_try(c, (size_t)delta)) {
        return false;
    }
    if (!must_fit) {
        idx_memcap_charge(c, delta);
    }
    atomic_fetch_add(&c->fixed, (uint64_t)delta);
    return true;
}

/* A 32nd leaves a small limit's document room (idx_memcap_doc_bytes: 640 KiB at 8 MiB); from
 * 64 MiB on a 16th still leaves megabytes, and fewer, larger segments per batch keep a bulk
 * import as fast as without a limit (a 32nd of 256 MiB made it 11% slower: more memory merges). */
size_t idx_memcap_builder_bytes(const struct idx_memcap *c)
{
    if (!c->limit) {
        return SIZE_MAX;
    }
    return (size_t)(c->limit / (c->limit >= ((uint64_t)64 << 20) ? 16 : 32));
}

/* The builder ends at idx_memcap_builder_bytes plus the last document's inversion, plus an
 * arena block (seg_builder_new_bounded: an eighth of the builder, 64 KiB to 1 MiB) and the
 * first allocations of its buffers (under 64 KiB): at most an eighth of the limit, so that
 * it and the image made of it (no larger) fit the writer's quarter. */
size_t idx_memcap_doc_bytes(const struct idx_memcap *c)
{
    if (!c->limit) {
        return SIZE_MAX;
    }
    size_t builder = idx_memcap_builder_bytes(c), block = builder / 8;
    block = block < ((size_t)64 << 10) ? (size_t)64 << 10 : block > (1u << 20) ? 1u << 20 : block;
    return (size_t)(c->limit / 8) - builder - 2 * block;
}

size_t idx_memcap_share(const struct idx_memcap *c, size_t dflt, unsigned div)
{
    if (!c->limit || c->limit / div >= dflt) {
        return dflt;
    }
    return (size_t)(c->limit / div);
}

size_t idx_memcap_stem_words(const struct idx_memcap *c)
{
    /* two caches per index share a sixteenth of the limit; at least 1024 words each */
    size_t words = idx_memcap_share(c, (size_t)IDX_STEM_CACHE_WORDS * IDX_STEM_WORD_BYTES * 2, 16) /
                   (2 * IDX_STEM_WORD_BYTES);
    return words < 1024 ? 1024 : words;
}

size_t idx_memcap_stem_bytes(const struct idx_memcap *c)
{
    return idx_memcap_stem_words(c) * IDX_STEM_WORD_BYTES;
}

void idx_memory(struct idx_db *db, uint64_t *used, uint64_t *limit)
{
    *used = idx_memcap_used(&db->memcap);
    *limit = db->memcap.limit;
}

uint64_t idx_memcap_peak(const struct idx_memcap *c)
{
    return atomic_load(&c->peak);
}

uint64_t idx_memory_peak(struct idx_db *db)
{
    return idx_memcap_peak(&db->memcap);
}
