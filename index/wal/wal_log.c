/*
 * wal_log.c: appending to the write-ahead log, group commit, rollback after
 * a failed write, rotation and removal of covered files.
 *
 * Log format v1 (WAL_FORMAT_VERSION). Integers are little-endian.
 * An index directory holds wal-000001.log, wal-000002.log... numbered
 * consecutively; together they hold records with seq increasing by 1.
 * Each file starts with a 32-byte header, written atomically (tmp + rename):
 *   offset  size  field
 *   0       4     magic "SDWL"
 *   4       2     format version (1)
 *   6       2     header length (32)
 *   8       4     file number (the NNNNNN of its name)
 *   12      4     reserved, 0
 *   16      8     first seq: the seq of the file's first record (or of the
 *                 next append, while the file is empty)
 *   24      8     XXH3-64 of bytes [0, 24)
 * then records, back to back, up to the end of the file:
 *   0       4     payload length L, at most WAL_MAX_RECORD (64 MiB)
 *   4       8     seq
 *   12      1     type (the engine's; not interpreted here)
 *   13      L     payload
 *   13+L    8     XXH3-64 of the record's bytes [0, 13+L)
 * The checksum is the full 64 bits: 4 more bytes per record (documents are
 * kilobytes) buy a false-accept rate of 2^-64 for a torn record and for the
 * forward scan that tells a torn tail from damage in the middle
 * (wal_replay.c). A checksum over the length too means a garbled length
 * fails like any other byte.
 *
 * Durability protocol. wal_append() encodes into a buffer that is written
 * with pwrite(2) once it passes WAL_WRITE_CHUNK; wal_sync() writes the rest
 * and calls fdatasync once (group commit), then moves the sync point
 * (synced_size, synced_seq). Only records below the sync point may be
 * acknowledged. Any failed write or fsync rolls back to the sync point: the
 * file is truncated to synced_size and fsynced, so replay never sees a record
 * that was refused (see wal_rollback() in wal.h for why we do not retry the
 * fsync). If that fails too the log is broken until reopened.
 * The window that remains: a crash between a failed fsync and the truncate
 * reaching disk may bring back records whose write was answered with an
 * error. No log can close it; replay treats them as written.
 * After the fdatasync, and before the sync point moves, the last seq is
 * recorded durably in wal.synced (wal_synced.c), so a log that later loses
 * records off its end (cut at a record boundary) is detected on open.
 */
#include "wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int wal_syserr(struct sd_error *err, int e, const char *what, const char *path)
{
    return sd_errorf(err, sd_status_from_errno(e), "%s %s: %s", what, path, strerror(e));
}

static void wal_cur_path(const struct wal *w, char *path, size_t cap)
{
    char name[WAL_NAME_MAX];
    wal_log_name(name, w->files[w->nfiles - 1].no);
    snprintf(path, cap, "%s/%s", w->dir, name);
}

static int wal_broken_error(const struct wal *w, struct sd_error *err)
{
    return sd_errorf(err, SD_EIO, "%s: log is broken after a failed rollback; reopen the index",
                     w->dir);
}

int wal_create_log(const char *dir, uint32_t no, uint64_t first_seq, struct sd_error *err)
{
    uint8_t h[WAL_HEADER_LEN] = {0};
    char name[WAL_NAME_MAX];
    memcpy(h, WAL_MAGIC, 4);
    sd_put_le16(h + 4, WAL_FORMAT_VERSION);
    sd_put_le16(h + 6, WAL_HEADER_LEN);
    sd_put_le32(h + 8, no);
    sd_put_le64(h + 16, first_seq);
    sd_put_le64(h + 24, sd_hash64(h, 24));
    wal_log_name(name, no);
    return sd_write_file_atomic(dir, name, h, sizeof h, err);
}

int wal_create_empty(const char *dir, uint64_t first_seq, struct sd_error *err)
{
    if (first_seq == 0) {
        return sd_errorf(err, SD_EINVAL, "%s: a log starts at seq 1 or later", dir);
    }
    return wal_create_log(dir, 1, first_seq, err);
}

static int wal_open_fd(const char *dir, uint32_t no, int *fd, struct sd_error *err)
{
    char name[WAL_NAME_MAX], path[PATH_MAX];
    wal_log_name(name, no);
    int rc = wal_join(path, sizeof path, dir, name, err);
    if (rc) {
        return rc;
    }
    return sd_open_file(path, O_WRONLY, 0, fd, err);
}

int wal_attach(const char *dir, struct wal_file *files, uint32_t nfiles, uint64_t last_seq,
               struct wal **out, struct sd_error *err)
{
    struct wal *w = calloc(1, sizeof *w);
    char *dir_copy = strdup(dir);
    if (!w || !dir_copy) {
        free(w);
        free(dir_copy);
        free(files);
        return sd_errorf(err, SD_ENOMEM, "wal_open %s", dir);
    }
    w->dir = dir_copy;
    w->files = files;
    w->nfiles = nfiles;
    sd_buf_init(&w->buf);
    w->fd = -1;
    w->synced_fd = -1;
    int rc = wal_open_fd(dir, files[nfiles - 1].no, &w->fd, err);
    if (rc == SD_OK) {
        rc = wal_synced_create(w, last_seq, err);
    }
    if (rc) {
        wal_close(w);
        return rc;
    }
    w->size = w->synced_size = files[nfiles - 1].size;
    w->last_seq = w->synced_seq = last_seq;
    for (uint32_t i = 0; i + 1 < nfiles; i++) {
        w->old_bytes += files[i].size;
    }
    *out = w;
    return SD_OK;
}

void wal_close(struct wal *w)
{
    if (!w) {
        return;
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    if (w->synced_fd >= 0) {
        close(w->synced_fd);
    }
    sd_buf_free(&w->buf);
    free(w->files);
    free(w->dir);
    free(w);
}

/* Writes the buffered records at the end of the current file. */
static int wal_write_buf(struct wal *w, struct sd_error *err)
{
    size_t done = 0;
    if (w->buf.len > 0) {
        w->is_dirty = true;
    }
    while (done < w->buf.len) {
        ssize_t n = pwrite(w->fd, w->buf.data + done, w->buf.len - done, (off_t)w->size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            char path[PATH_MAX];
            wal_cur_path(w, path, sizeof path);
            return wal_syserr(err, e, "write", path);
        }
        done += (size_t)n;
        w->size += (uint64_t)n;
    }
    sd_buf_reset(&w->buf);
    if (w->buf.cap > 4 * WAL_WRITE_CHUNK) {
        sd_buf_free(&w->buf); /* one huge record should not pin its buffer */
    }
    return SD_OK;
}

/* A write or fsync failed with rc (err says why): roll back, keep err. */
static int wal_fail(struct wal *w, int rc, struct sd_error *err)
{
    struct sd_error rb_err;
    if (wal_rollback(w, &rb_err) != SD_OK && err) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, "; rollback failed: %s", rb_err.msg);
    }
    return rc;
}

int wal_rollback(struct wal *w, struct sd_error *err)
{
    if (w->is_broken) {
        return wal_broken_error(w, err);
    }
    sd_buf_reset(&w->buf);
    w->last_seq = w->synced_seq;
    if (!w->is_dirty && w->size == w->synced_size) {
        return SD_OK;
    }
    char path[PATH_MAX];
    wal_cur_path(w, path, sizeof path);
    if (ftruncate(w->fd, (off_t)w->synced_size) != 0 || fsync(w->fd) != 0) {
        w->is_broken = true;
        return wal_syserr(err, errno, "truncate after a failed write", path);
    }
    w->size = w->synced_size;
    w->is_dirty = false;
    return SD_OK;
}

int wal_append(struct wal *w, uint8_t type, const void *payload, size_t len, uint64_t *seq,
               struct sd_error *err)
{
    if (w->is_broken) {
        return wal_broken_error(w, err);
    }
    if (len > WAL_MAX_RECORD) {
        return sd_errorf(err, SD_ELIMIT, "%s: log record of %zu bytes is over the limit of %u",
                         w->dir, len, WAL_MAX_RECORD);
    }
    if (sd_buf_reserve(&w->buf, len + WAL_REC_OVERHEAD)) {
        w->buf.rc = SD_OK; /* the buffer is intact; only this record is refused */
        return sd_errorf(err, SD_ENOMEM, "%s: log record of %zu bytes", w->dir, len);
    }
    size_t start = w->buf.len;
    uint64_t s = w->last_seq + 1;
    sd_buf_put_le32(&w->buf, (uint32_t)len);
    sd_buf_put_le64(&w->buf, s);
    sd_buf_put_u8(&w->buf, type);
    sd_buf_put(&w->buf, payload, len);
    sd_buf_put_le64(&w->buf, sd_hash64(w->buf.data + start, WAL_REC_PREFIX + len));
    w->last_seq = s;
    *seq = s;
    if (w->buf.len >= WAL_WRITE_CHUNK) {
        int rc = wal_write_buf(w, err);
        if (rc) {
            return wal_fail(w, rc, err);
        }
    }
    return SD_OK;
}

int wal_sync(struct wal *w, struct sd_error *err)
{
    if (w->is_broken) {
        return wal_broken_error(w, err);
    }
    int rc = wal_write_buf(w, err);
    if (rc) {
        return wal_fail(w, rc, err);
    }
    uint64_t t0 = sd_now_ns();
    bool has_new = w->is_dirty || w->last_seq != w->recorded_seq;
    if (w->is_dirty && fdatasync(w->fd) != 0) {
        int e = errno;
        char path[PATH_MAX];
        wal_cur_path(w, path, sizeof path);
        return wal_fail(w, wal_syserr(err, e, "fdatasync", path), err);
    }
    /* The records are durable; wal.synced says so before anyone acknowledges
     * them. If it cannot, they are rolled back like a failed sync. */
    if (w->last_seq != w->recorded_seq && (rc = wal_synced_record(w, w->last_seq, err)) != SD_OK) {
        /* The slot may have reached the disk all the same: put the old seq back in it
         * (same slot, same counter) before the records go, or a reopen would find the log
         * short of it. If that fails too, the records stay (durable, like a failed
         * rollback's) and the log is broken until the index is reopened. */
        struct sd_error ignored;
        if (wal_synced_record(w, w->recorded_seq, &ignored) == SD_OK) {
            return wal_fail(w, rc, err);
        }
        w->is_broken = true;
        return rc;
    }
    w->synced_size = w->size;
    w->synced_seq = w->last_seq;
    w->is_dirty = false;
    w->last_sync_ns = has_new ? sd_now_ns() - t0 : 0;
    return SD_OK;
}

/* A rotation failed after its new file may have appeared: the current file
 * stays current, so the new one must go, or replay would see its first seq
 * overlap the records still appended to the current one. */
static void wal_drop_new_file(struct wal *w, uint32_t no)
{
    char name[WAL_NAME_MAX], path[PATH_MAX];
    wal_log_name(name, no);
    snprintf(path, sizeof path, "%s/%s", w->dir, name);
    struct sd_error ignored;
    if ((unlink(path) != 0 && errno != ENOENT) || sd_fsync_dir(w->dir, &ignored) != SD_OK) {
        w->is_broken = true;
    }
}

int wal_rotate(struct wal *w, uint64_t *first_seq, struct sd_error *err)
{
    int rc = wal_sync(w, err);
    if (rc) {
        return rc;
    }
    if (w->files[w->nfiles - 1].no >= UINT32_MAX - 1) {
        return sd_errorf(err, SD_ELIMIT, "%s: log file numbers exhausted", w->dir);
    }
    struct wal_file *files = realloc(w->files, (w->nfiles + 1) * sizeof *files);
    if (!files) {
        return sd_errorf(err, SD_ENOMEM, "wal_rotate %s", w->dir);
    }
    w->files = files;
    struct wal_file next = {w->files[w->nfiles - 1].no + 1, w->last_seq + 1, WAL_HEADER_LEN};
    int fd;
    rc = wal_create_log(w->dir, next.no, next.first_seq, err);
    if (rc == SD_OK) {
        rc = wal_open_fd(w->dir, next.no, &fd, err);
    }
    if (rc) {
        wal_drop_new_file(w, next.no);
        return rc;
    }
    w->files[w->nfiles - 1].size = w->size;
    w->old_bytes += w->size;
    w->files[w->nfiles++] = next;
    close(w->fd);
    w->fd = fd;
    w->size = w->synced_size = WAL_HEADER_LEN;
    *first_seq = next.first_seq;
    return SD_OK;
}

int wal_remove_upto(struct wal *w, uint64_t seq, struct sd_error *err)
{
    uint32_t n = 0;
    int rc = SD_OK;
    /* file i holds seqs [first_seq(i), first_seq(i + 1)) */
    while (n + 1 < w->nfiles && w->files[n + 1].first_seq - 1 <= seq) {
        char name[WAL_NAME_MAX], path[PATH_MAX];
        wal_log_name(name, w->files[n].no);
        rc = wal_join(path, sizeof path, w->dir, name, err);
        if (rc == SD_OK && unlink(path) != 0 && errno != ENOENT) {
            rc = wal_syserr(err, errno, "unlink", path);
        }
        if (rc) {
            break;
        }
        w->old_bytes -= w->files[n].size;
        n++;
    }
    if (n == 0) {
        return rc;
    }
    w->nfiles -= n;
    memmove(w->files, w->files + n, w->nfiles * sizeof *w->files);
    if (rc == SD_OK) {
        rc = sd_fsync_dir(w->dir, err);
    }
    return rc ? rc : (int)n;
}

uint64_t wal_bytes(const struct wal *w)
{
    return w->old_bytes + w->size + w->buf.len;
}

uint64_t wal_last_seq(const struct wal *w)
{
    return w->last_seq;
}

uint64_t wal_synced_seq(const struct wal *w)
{
    return w->synced_seq;
}

bool wal_is_broken(const struct wal *w)
{
    return w->is_broken;
}

uint64_t wal_last_sync_ns(const struct wal *w)
{
    return w->last_sync_ns;
}
