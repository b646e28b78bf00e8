/*
 * memcap.c: the engine's own memory, counted against --memory-limit (idx_config.memory_limit).
 *
 * WHAT IS COUNTED. One atomic counter per data directory (struct idx_memcap in idx_db),
 * charged and uncharged where the memory is taken and given back:
 *   - queued writes: their encoded log records, from idx_write's acceptance to the ack
 *     (db.c, writer.c). They also stand for the memtable builder's peak while the writer
 *     applies them: every batch becomes an in-memory segment before its acks;
 *   - in-memory segments: their images, from the refresh that makes one until the flush or
 *     memory merge that removes it (mem.c, merge.c: everywhere ix->mem_bytes moves);
 *   - merges and flushes while they run: a memory merge's output image (its inputs' size),
 *     a merge to a file's gathered positions and dictionary (bounded by its inputs'
 *     postings sections; merge.c, idx_job_buffer_bytes). A merge that would hold more than
 *     a quarter of the limit is not started (flushes always are), so segments stop growing
 *     at about that size under a small limit;
 *   - analyses made ahead of the writer and the pool of reusable ones (analyze.c);
 *   - the stem caches of the writer and the analysis thread: their full size, charged when
 *     the index opens (recover.c), and sized from the limit (idx_memcap_stem_words);
 *   - each segment's exact forms copied into memory for typo walks (seg_terms.c): charged by
 *     the segment's first typo walk, given back when it closes (idx_segref_new sets the
 *     charge). A search is never refused for them; they count toward the flush levels.
 * Not counted (the overhead the README states): disk segments (read-only mappings: page
 * cache the kernel reclaims), a re-index job's twin and stem cache, query
 * scratch per search thread, and the daemon's connection buffers (--max-unfinished).
 *
 * WHAT HAPPENS NEAR THE LIMIT L (used U, levels from idx_memcap_level):
 *   U >= L/2     FLUSH: the writer flushes its in-memory segments now, whatever flush_bytes
 *                says, and the memory merger merges no in-memory segments (a merge doubles
 *                them while it runs): the flush takes them all at once anyway;
 *   U >= 2L/3    SLOW: the writer takes no new batch while its index has in-memory
 *                segments, until their flush is done (back-pressure: acks wait, writes
 *                queue), and a batch holds at most L/16 of records (writer.c);
 *   U + w > 3L/4 a write of w bytes is refused with SD_EBUSY and a message saying so; the
 *                client retries (nothing of it was logged). The last quarter is headroom for
 *                what admitted writes become (a batch's builder, its image) before their
 *                records are freed. Searches are never refused.
 * The counter can still pass L by what is in flight (measured: test_memcap prints its peak);
 * the limit bounds what is admitted, not each transient byte.
 * Without a limit (0) the counter still runs (idx_memory reports it), and nothing changes.
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

/* Writes are admitted up to 3/4 of the limit: the last quarter is room for what admitted
 * writes become before their records are freed (a batch's builder, then its image). */
static uint64_t idx_memcap_admit_limit(const struct idx_memcap *c)
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
    return used < idx_memcap_admit_limit(c) ? IDX_MEM_SLOW : IDX_MEM_FULL;
}

int idx_memcap_admit(struct idx_memcap *c, size_t bytes, struct sd_error *err)
{
    uint64_t used = atomic_load(&c->used);
    uint64_t max = idx_memcap_admit_limit(c);
    do {
        if (c->limit && (bytes > max || used > max - bytes)) {
            return sd_errorf(err, SD_EBUSY,
                             "memory limit: the engine holds %llu of %llu bytes "
                             "(--memory-limit) and this write needs %zu more; retry once "
                             "flushes have caught up",
                             (unsigned long long)used, (unsigned long long)c->limit, bytes);
        }
    } while (!atomic_compare_exchange_weak(&c->used, &used, used + bytes));
    idx_memcap_note(c, used + bytes);
    return SD_OK;
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

uint64_t idx_memory_peak(struct idx_db *db)
{
    return atomic_load(&db->memcap.peak);
}
