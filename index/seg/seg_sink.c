/*
 * seg_sink.c: where a segment image is written: a buffer, and for merges a file behind it.
 *
 * A merge of a large index used to hold its whole output image in memory (hundreds of MiB at
 * 200k documents, on top of the mapped inputs). With a file behind the buffer, the merger
 * hands the buffer's bytes to the file at points where nothing before them will change
 * (seg_sink_spill), so memory stays at a few MiB whatever the output's size. Positions are
 * logical: bytes already in the file plus bytes in the buffer. The one field written after
 * later bytes (the stored-block table, known only once the blocks are compressed) goes in
 * with seg_sink_patch, to the buffer or to the file, wherever it is by then. The checksum of
 * a file image is computed by reading the file back once it is complete (seg_sink_hash):
 * a patch after a spill would break a running hash, and the page cache makes the read cheap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg_int.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#define SEG_SINK_READ_CHUNK (1u << 20)

static int sink_error(struct seg_sink *s, const char *what)
{
    int e = errno;
    return sd_errorf(s->err, sd_status_from_errno(e), "%s: %s: %s", s->path, what, strerror(e));
}

uint64_t seg_sink_pos(const struct seg_sink *s)
{
    return s->spilled + s->buf->len;
}

/* Writes all of data[0, len) at file offset at, and starts its writeback: the merge's final
 * fsync then finds little left to write (it took 0.26 s of a 200k-document flush).
 * sync_file_range is advice here: durability still comes from that fsync. */
static int write_at(struct seg_sink *s, const void *data, size_t len, uint64_t at)
{
    const uint8_t *p = data;
    const off64_t start = (off64_t)at, total = (off64_t)len;
    while (len > 0) {
        ssize_t n = pwrite(s->fd, p, len, (off_t)at);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return sink_error(s, "write");
        }
        p += n;
        at += (uint64_t)n;
        len -= (size_t)n;
    }
    if (total > 0) {
        (void)sync_file_range(s->fd, start, total, SYNC_FILE_RANGE_WRITE);
    }
    return SD_OK;
}

int seg_sink_spill(struct seg_sink *s, size_t min_bytes)
{
    if (s->fd < 0 || s->buf->len == 0 || s->buf->len < min_bytes) {
        return SD_OK;
    }
    if (s->buf->rc) {
        return sd_errorf(s->err, s->buf->rc, "%s: out of memory", s->path);
    }
    int rc = write_at(s, s->buf->data, s->buf->len, s->spilled);
    if (rc == SD_OK) {
        s->spilled += s->buf->len;
        s->buf->len = 0;
    }
    return rc;
}

int seg_sink_put(struct seg_sink *s, const void *data, size_t len)
{
    if (s->fd < 0 || len < s->spill_bytes) {
        sd_buf_put(s->buf, data, len);
        return s->buf->rc;
    }
    int rc = seg_sink_spill(s, 0);
    if (rc == SD_OK && (rc = write_at(s, data, len, s->spilled)) == SD_OK) {
        s->spilled += len;
    }
    return rc;
}

int seg_sink_patch(struct seg_sink *s, uint64_t at, const void *data, size_t len)
{
    if (at >= s->spilled) {
        memcpy(s->buf->data + (at - s->spilled), data, len);
        return SD_OK;
    }
    /* A spill writes the whole buffer, and a patched field lies in one buffer fill, so the
     * field is either all in the file or all in the buffer. */
    return write_at(s, data, len, at);
}

int seg_sink_hash(struct seg_sink *s, uint64_t *hash)
{
    int rc = seg_sink_spill(s, 0);
    if (rc) {
        return rc;
    }
    uint8_t *chunk = malloc(SEG_SINK_READ_CHUNK);
    XXH3_state_t *st = XXH3_createState();
    if (!chunk || !st) {
        free(chunk);
        XXH3_freeState(st);
        return sd_errorf(s->err, SD_ENOMEM, "%s: out of memory", s->path);
    }
    XXH3_64bits_reset(st);
    for (uint64_t at = 0; at < s->spilled && rc == SD_OK;) {
        size_t want = s->spilled - at < SEG_SINK_READ_CHUNK ? (size_t)(s->spilled - at)
                                                            : SEG_SINK_READ_CHUNK;
        ssize_t n = pread(s->fd, chunk, want, (off_t)at);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO; /* the file is shorter than what was written to it */
            }
            rc = sink_error(s, "read back");
            break;
        }
        XXH3_64bits_update(st, chunk, (size_t)n);
        at += (uint64_t)n;
    }
    *hash = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    free(chunk);
    return rc;
}
