/*
 * seg_zjob.c: compressing a builder's full stored blocks on another thread (seg.h).
 *
 * WHY. LZ4 on every 16 KiB block of stored records was about a fifth of the time of the
 * thread that feeds a builder, and nothing about it needs the builder: the bytes of a full
 * block never change again. So a builder with a scheduler makes each full block a job and
 * goes on inverting; whoever runs the job compresses it.
 *
 * HOW. seg_zjob_close_block replaces the synchronous seg_stored_flush when a block fills
 * (not for a record larger than a block, which goes out as several chunks, seg_chunk.c: those
 * are rare enough to compress on the builder's thread):
 * the job takes the block's records (stored_raw's buffer) and gets, on the builder's thread,
 * all the room compression can need (LZ4_compressBound), so running it cannot fail and errors
 * stay where they were: in seg_builder_add_analyzed, which leaves the builder unchanged.
 * Documents keep being numbered into blocks as before (a doc's block is the count of blocks
 * closed before it, compressed or not). Jobs wait in a list in block order; before anything
 * reads STORED_DATA (seg_stored_flush at finish), seg_build_collect_zjobs waits for each in
 * turn and appends its bytes and its STORED_BLOCKS entry exactly where the synchronous path
 * would have put them. A job is compressed with the same seg_stored_flush_to on the same
 * bytes, so the image does not depend on where, when or whether jobs ran elsewhere.
 * seg_builder_free waits for jobs still out before freeing them.
 */
#include <stdlib.h>

#include <lz4.h>

#include "seg_build_int.h"

void seg_builder_set_zjob_sched(struct seg_builder *b, const struct seg_zjob_sched *sched)
{
    b->zsched = sched;
}

void seg_zjob_run(struct seg_zjob *job)
{
    job->rc = seg_stored_flush_to(&job->raw, &job->out, 0, &job->entry, 0);
    atomic_store_explicit(&job->is_done, true, memory_order_release); /* last: see seg.h */
}

bool seg_zjob_is_done(const struct seg_zjob *job)
{
    return atomic_load_explicit(&job->is_done, memory_order_acquire);
}

static void zjob_free(struct seg_zjob *job)
{
    sd_buf_free(&job->raw);
    sd_buf_free(&job->out);
    sd_buf_free(&job->entry);
    free(job);
}

int seg_zjob_close_block(struct seg_builder *b, size_t next)
{
    size_t raw = b->stored_raw.len;
    if (!b->zsched || raw > SEG_STORED_BLOCK_TARGET) {
        return seg_stored_flush(b, next); /* a record in chunks (several blocks): here, rare */
    }
    if (raw == 0 || raw + next <= SEG_STORED_BLOCK_TARGET) {
        return SD_OK;
    }
    if (raw > LZ4_MAX_INPUT_SIZE) {
        return SD_ELIMIT;
    }
    struct seg_zjob *job = calloc(1, sizeof *job);
    if (!job) {
        return SD_ENOMEM;
    }
    if (sd_buf_reserve(&job->out, (size_t)LZ4_compressBound((int)raw)) != SD_OK ||
        sd_buf_reserve(&job->entry, SEG_SBLOCK_ENTRY_LEN) != SD_OK) {
        zjob_free(job);
        return SD_ENOMEM;
    }
    atomic_init(&job->is_done, false);
    job->raw = b->stored_raw; /* the job takes the block; the builder starts a new one */
    sd_buf_init(&b->stored_raw);
    uint8_t *room = malloc(SEG_STORED_BLOCK_TARGET); /* a block's worth at once, not doubling */
    if (room) {
        b->stored_raw.data = room;
        b->stored_raw.cap = SEG_STORED_BLOCK_TARGET;
    }
    if (b->zlast) {
        b->zlast->next = job;
    } else {
        b->zfirst = job;
    }
    b->zlast = job;
    b->nzjobs++;
    b->zsched->submit(b->zsched->arg, job);
    return SD_OK;
}

int seg_build_collect_zjobs(struct seg_builder *b)
{
    while (b->zfirst) {
        struct seg_zjob *job = b->zfirst;
        b->zsched->wait(b->zsched->arg, job);
        if (job->rc) {
            return job->rc;
        }
        size_t n = job->out.len;
        if (sd_buf_reserve(&b->stored_data, n) != SD_OK ||
            sd_buf_reserve(&b->stored_blocks, SEG_SBLOCK_ENTRY_LEN) != SD_OK) {
            return SD_ENOMEM;
        }
        uint8_t e[SEG_SBLOCK_ENTRY_LEN];
        memcpy(e, job->entry.data, sizeof e);
        sd_put_le64(e, b->stored_data.len); /* where the synchronous path would have put it */
        sd_buf_put(&b->stored_data, job->out.data, n);
        sd_buf_put(&b->stored_blocks, e, sizeof e);
        b->zfirst = job->next;
        if (!b->zfirst) {
            b->zlast = NULL;
        }
        b->nzjobs--;
        zjob_free(job);
    }
    return SD_OK;
}

void seg_zjob_free_all(struct seg_builder *b)
{
    while (b->zfirst) {
        struct seg_zjob *job = b->zfirst;
        b->zsched->wait(b->zsched->arg, job); /* nobody may be running it when it goes */
        b->zfirst = job->next;
        zjob_free(job);
    }
    b->zlast = NULL;
    b->nzjobs = 0;
}

size_t seg_zjob_mem_bytes(const struct seg_builder *b)
{
    size_t n = 0;
    for (const struct seg_zjob *job = b->zfirst; job; job = job->next) {
        n += sizeof *job + job->raw.cap + job->out.cap + job->entry.cap;
    }
    return n;
}
