/*
 * wal_synced.c: wal.synced, the last acknowledged log seq, kept beside the
 * log so that losing records off its end is noticed.
 *
 * Why a separate file. A log cut exactly at a record boundary (a bad copy, a
 * restore of an older log file, a filesystem that lost the last pages) is a
 * well-formed log: every record checks, it just ends early, and replay alone
 * cannot tell it from a log whose last write was never made. So after every
 * successful wal_sync() that made new records durable, the seq of the last one
 * is written here and fdatasynced, before any of them is acknowledged. On open
 * a log that ends before that seq is corruption (named, the index is not
 * opened), and a "torn tail" that holds acknowledged records is no tear.
 * Ordering: the log's fdatasync comes first, so the seq recorded here is never
 * ahead of what the log holds durably; a crash between the two syncs leaves
 * it behind, which is safe (the records past it were not acknowledged).
 * Cost: a second fdatasync per group commit (docs/DATA.md has the numbers).
 *
 * Format v1, 4096 + 32 bytes: two slots of 32 bytes at offsets 0 and 4096 (in
 * different pages and sectors, so a torn write of one leaves the other).
 * Writes alternate between them; readers take the valid slot with the larger
 * counter. Integers are little-endian. Each slot:
 *   offset  size  field
 *   0       4     magic "SDWS"
 *   4       2     format version (1)
 *   6       2     reserved, 0
 *   8       8     seq: every record up to it was acknowledged
 *   16      8     counter: +1 per write (0: the slot was never written)
 *   24      8     XXH3-64 of bytes [0, 24)
 * The file is created atomically (tmp, fsync, rename) when the log is opened,
 * then rewritten in place slot by slot. A directory without it (written by a
 * searchd before this file existed) is checked without it, and gets one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "wal_int.h"

#define WAL_SYNCED_MAGIC   "SDWS"
#define WAL_SYNCED_VERSION 1u
#define WAL_SYNCED_SLOT    32u
#define WAL_SYNCED_STRIDE  4096u
#define WAL_SYNCED_LEN     (WAL_SYNCED_STRIDE + WAL_SYNCED_SLOT)

static void wal_synced_encode(uint8_t *p, uint64_t seq, uint64_t counter)
{
    memset(p, 0, WAL_SYNCED_SLOT);
    memcpy(p, WAL_SYNCED_MAGIC, 4);
    sd_put_le16(p + 4, WAL_SYNCED_VERSION);
    sd_put_le64(p + 8, seq);
    sd_put_le64(p + 16, counter);
    sd_put_le64(p + 24, sd_hash64(p, 24));
}

static bool wal_synced_slot_ok(const uint8_t *p)
{
    return memcmp(p, WAL_SYNCED_MAGIC, 4) == 0 && sd_get_le16(p + 4) == WAL_SYNCED_VERSION &&
           sd_get_le64(p + 16) != 0 && sd_get_le64(p + 24) == sd_hash64(p, 24);
}

int wal_synced_read(const char *dir, uint64_t *seq, struct sd_error *err)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    *seq = 0;
    int rc = wal_join(path, sizeof path, dir, WAL_SYNCED_NAME, err);
    if (rc == SD_OK) {
        rc = sd_read_file(path, WAL_SYNCED_LEN, &data, &len, err);
    }
    if (rc == SD_ELIMIT || (rc == SD_OK && len != WAL_SYNCED_LEN)) {
        rc = SD_CORRUPT(err, "%s: %zu bytes, expected %u", path, len, WAL_SYNCED_LEN);
    }
    if (rc) {
        free(data);
        return rc;
    }
    const uint8_t *a = data, *b = data + WAL_SYNCED_STRIDE;
    bool a_ok = wal_synced_slot_ok(a), b_ok = wal_synced_slot_ok(b);
    if (!a_ok && !b_ok) {
        rc = SD_CORRUPT(err, "%s: offset 0: neither slot is valid", path);
    } else if (a_ok && (!b_ok || sd_get_le64(a + 16) > sd_get_le64(b + 16))) {
        *seq = sd_get_le64(a + 8);
    } else {
        *seq = sd_get_le64(b + 8);
    }
    free(data);
    return rc;
}

int wal_synced_create(struct wal *w, uint64_t seq, struct sd_error *err)
{
    uint8_t *data = calloc(1, WAL_SYNCED_LEN);
    char path[PATH_MAX];
    if (!data) {
        return sd_errorf(err, SD_ENOMEM, "%s: %s", w->dir, WAL_SYNCED_NAME);
    }
    wal_synced_encode(data, seq, 1);
    int rc = sd_write_file_atomic(w->dir, WAL_SYNCED_NAME, data, WAL_SYNCED_LEN, err);
    free(data);
    if (rc == SD_OK) {
        rc = wal_join(path, sizeof path, w->dir, WAL_SYNCED_NAME, err);
    }
    if (rc) {
        return rc;
    }
    rc = sd_open_file(path, O_WRONLY, 0, &w->synced_fd, err);
    if (rc) {
        return rc;
    }
    w->synced_counter = 1;
    w->recorded_seq = seq;
    return SD_OK;
}

int wal_synced_record(struct wal *w, uint64_t seq, struct sd_error *err)
{
    uint8_t slot[WAL_SYNCED_SLOT];
    uint64_t counter = w->synced_counter + 1;
    off_t off = (off_t)((counter % 2) * WAL_SYNCED_STRIDE);
    wal_synced_encode(slot, seq, counter);
    ssize_t n = pwrite(w->synced_fd, slot, sizeof slot, off);
    if (n != (ssize_t)sizeof slot || fdatasync(w->synced_fd) != 0) {
        char path[PATH_MAX];
        int e = n < 0 || n == (ssize_t)sizeof slot ? errno : EIO;
        snprintf(path, sizeof path, "%s/%s", w->dir, WAL_SYNCED_NAME);
        return wal_syserr(err, e, "write", path);
    }
    w->synced_counter = counter;
    w->recorded_seq = seq;
    return SD_OK;
}
