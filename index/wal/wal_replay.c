/*
 * wal_replay.c: opening the log: verify every file, replay the records past
 * the MANIFEST checkpoint, and tell a torn tail from corruption.
 *
 * The format is in wal_log.c. A record is valid when its length is within
 * bounds, its XXH3-64 matches and its seq is the one expected (previous + 1,
 * or the file header's first seq). What to make of the first invalid record:
 *
 *  - In a file that is not the last: corruption. wal_rotate() fsyncs a file
 *    before it starts the next, so every byte of an older file was durable.
 *  - In the last file, followed by at least one valid record: corruption
 *    (bit rot, a bad copy), reported with both offsets. A later record can
 *    only have been written after this one, so it is not a crash's tear.
 *  - In the last file with nothing valid after it: a torn tail, the part of
 *    the last batch a crash cut short. Its sync never returned, so none of it
 *    was acknowledged: it is dropped and the file truncated to the last good
 *    record, so appends continue on a clean end. Unless wal.synced
 *    (wal_synced.c) says a seq at or past it was acknowledged: then it is
 *    damage, as is a log that ends cleanly before that seq. The truncation
 *    waits until that is known, so a refused open changes nothing.
 * The scan for "a valid record after" tries every later offset but hashes
 * only where the length fits and the seq is plausible (at least the expected
 * one, at most one per 21 bytes left), so zeros and garbage cost a few
 * compares per byte. The trade-off: a tear that left a
 * later record of the same unsynced batch intact (pages written out of order
 * at a power cut) is reported as corruption rather than guessed away.
 *
 * Log files entirely at or below the checkpoint are not read record by record
 * (their headers are checked) and wal_open() removes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal_int.h"

struct wal_scan {
    const char *dir;   /* borrowed */
    uint64_t from_seq; /* records <= it are verified, not replayed */
    wal_replay_fn fn;  /* may be NULL */
    void *arg;
    bool is_repair;         /* wal_open(): truncate the torn tail, remove covered files */
    struct wal_file *files; /* owned until handed to wal_attach() */
    uint32_t nfiles;
    uint32_t start;    /* files[0, start) hold only records <= from_seq */
    uint64_t next_seq; /* the seq the next valid record must have */
    uint64_t acked_seq; /* from wal.synced: records up to it were acknowledged (0: unknown) */
    struct wal_open_info info;
};

int wal_header_decode(const uint8_t *p, const char *path, uint32_t no, uint64_t *first_seq,
                      struct sd_error *err)
{
    if (memcmp(p, WAL_MAGIC, 4) != 0) {
        return SD_CORRUPT(err, "%s: not a log file (bad magic)", path);
    }
    uint16_t version = sd_get_le16(p + 4);
    if (version != WAL_FORMAT_VERSION) {
        return SD_CORRUPT(err, "%s: log format version %u is not supported (this build reads %u)",
                          path, version, WAL_FORMAT_VERSION);
    }
    if (sd_get_le64(p + 24) != sd_hash64(p, 24)) {
        return SD_CORRUPT(err, "%s: log header checksum mismatch", path);
    }
    if (sd_get_le16(p + 6) != WAL_HEADER_LEN || sd_get_le32(p + 8) != no) {
        return SD_CORRUPT(err, "%s: log header names file %u, length %u", path, sd_get_le32(p + 8),
                          sd_get_le16(p + 6));
    }
    *first_seq = sd_get_le64(p + 16);
    if (*first_seq == 0) {
        return SD_CORRUPT(err, "%s: log header first seq is 0", path);
    }
    return SD_OK;
}

/* Reads files[i]'s header and size. */
static int wal_load_header(struct wal_scan *s, uint32_t i, struct sd_error *err)
{
    char name[WAL_NAME_MAX], path[PATH_MAX];
    uint8_t h[WAL_HEADER_LEN];
    wal_log_name(name, s->files[i].no);
    int rc = wal_join(path, sizeof path, s->dir, name, err);
    if (rc) {
        return rc;
    }
    int fd;
    rc = sd_open_file(path, O_RDONLY, 0, &fd, err);
    if (rc) {
        return rc;
    }
    struct stat st;
    ssize_t n;
    if (fstat(fd, &st) != 0) {
        rc = wal_syserr(err, errno, "stat", path);
    } else if (st.st_size < WAL_HEADER_LEN) {
        rc = SD_CORRUPT(err, "%s: %lld bytes, too short for a log header", path,
                        (long long)st.st_size);
    } else if ((n = pread(fd, h, sizeof h, 0)) != (ssize_t)sizeof h) {
        rc = wal_syserr(err, n < 0 ? errno : EIO, "read", path);
    } else {
        rc = wal_header_decode(h, path, s->files[i].no, &s->files[i].first_seq, err);
    }
    if (rc == SD_OK) {
        s->files[i].size = (uint64_t)st.st_size;
    }
    close(fd);
    return rc;
}

/* Lists the log files and checks their headers; finds the first file that
 * holds a record past from_seq. */
static int wal_load_files(struct wal_scan *s, struct sd_error *err)
{
    uint32_t *nos;
    int rc = wal_list_logs(s->dir, &nos, &s->nfiles, err);
    if (rc || s->nfiles == 0) {
        return rc;
    }
    s->files = calloc(s->nfiles, sizeof *s->files);
    if (!s->files) {
        free(nos);
        return sd_errorf(err, SD_ENOMEM, "wal_open %s", s->dir);
    }
    for (uint32_t i = 0; i < s->nfiles; i++) {
        s->files[i].no = nos[i];
    }
    free(nos);
    for (uint32_t i = 0; i < s->nfiles && rc == SD_OK; i++) {
        rc = wal_load_header(s, i, err);
    }
    if (rc) {
        return rc;
    }
    while (s->start + 1 < s->nfiles && s->files[s->start + 1].first_seq - 1 <= s->from_seq) {
        s->start++;
    }
    s->next_seq = s->files[s->start].first_seq;
    if (s->next_seq - 1 > s->from_seq) {
        return SD_CORRUPT(err,
                          "%s: log starts at seq %" PRIu64 " but the checkpoint is %" PRIu64
                          ": records are missing",
                          s->dir, s->next_seq, s->from_seq);
    }
    return SD_OK;
}

/* Parses the record at the start of [p, p + left) without checking its seq. */
static int wal_record_parse(const uint8_t *p, size_t left, struct wal_record *rec, size_t *rec_len)
{
    struct sd_rd rd;
    uint32_t len;
    uint64_t hash;
    sd_rd_init(&rd, p, left);
    if (sd_rd_le32(&rd, &len) || len > WAL_MAX_RECORD || sd_rd_le64(&rd, &rec->seq) ||
        sd_rd_u8(&rd, &rec->type) || sd_rd_bytes(&rd, len, &rec->payload) ||
        sd_rd_le64(&rd, &hash)) {
        return SD_ECORRUPT;
    }
    if (hash != sd_hash64(p, WAL_REC_PREFIX + (size_t)len)) {
        return SD_ECORRUPT;
    }
    rec->len = len;
    *rec_len = WAL_REC_OVERHEAD + (size_t)len;
    return SD_OK;
}

/* Looks for a valid record with a plausible seq in (off, len) of data; returns
 * its offset, or 0 if there is none. */
static size_t wal_find_valid_after(const uint8_t *data, size_t len, size_t off, uint64_t seq)
{
    uint64_t max_seq = seq + (len - off) / WAL_REC_OVERHEAD;
    for (size_t p = off + 1; len - p >= WAL_REC_OVERHEAD; p++) {
        uint64_t s = sd_get_le64(data + p + 4);
        if (s < seq || s > max_seq || sd_get_le32(data + p) > len - p - WAL_REC_OVERHEAD) {
            continue;
        }
        struct wal_record rec;
        size_t rec_len;
        if (wal_record_parse(data + p, len - p, &rec, &rec_len) == SD_OK) {
            return p;
        }
    }
    return 0;
}

/* The record at off of files[i] is invalid: corruption, or a torn tail that
 * ends the file's good part at off. */
static int wal_bad_record(struct wal_scan *s, uint32_t i, const struct sd_map *m, size_t off,
                          const char *path, struct sd_error *err)
{
    if (i + 1 < s->nfiles) {
        return SD_CORRUPT(err,
                          "%s: offset %zu: bad record (seq %" PRIu64 ") in a log file "
                          "that is not the last",
                          path, off, s->next_seq);
    }
    size_t next = wal_find_valid_after(m->data, m->len, off, s->next_seq);
    if (next) {
        return SD_CORRUPT(err,
                          "%s: offset %zu: bad record (seq %" PRIu64 ") followed by a "
                          "valid one at offset %zu",
                          path, off, s->next_seq, next);
    }
    s->info.torn_file = s->files[i].no;
    s->info.torn_offset = off;
    s->info.torn_bytes = m->len - off;
    return SD_OK;
}

static int wal_deliver(struct wal_scan *s, const struct wal_record *rec, const char *path,
                       size_t off, struct sd_error *err)
{
    if (rec->seq != s->next_seq) {
        return SD_CORRUPT(err, "%s: offset %zu: record seq %" PRIu64 ", expected %" PRIu64, path,
                          off, rec->seq, s->next_seq);
    }
    s->next_seq++;
    if (rec->seq <= s->from_seq || !s->fn) {
        return SD_OK;
    }
    s->info.replayed++;
    int rc = s->fn(s->arg, rec, err);
    if (rc && rc != SD_ENOMEM && err) {
        /* The payload passed its checksum but the engine cannot use it: say
         * where it is, as for any other damage. */
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        sd_errorf(err, rc, "%s: offset %zu: record seq %" PRIu64 ": %s", path, off, rec->seq, why);
    }
    return rc;
}

static int wal_truncate_tail(const char *path, uint64_t len, struct sd_error *err)
{
    int fd;
    int rc = sd_open_file(path, O_WRONLY, 0, &fd, err);
    if (rc) {
        return rc;
    }
    if (ftruncate(fd, (off_t)len) != 0 || fsync(fd) != 0) {
        rc = wal_syserr(err, errno, "truncate torn tail of", path);
    }
    close(fd);
    return rc;
}

/* Verifies and replays the records of files[i]; sets its size to the end of
 * its good part. */
static int wal_scan_file(struct wal_scan *s, uint32_t i, struct sd_error *err)
{
    char name[WAL_NAME_MAX], path[PATH_MAX];
    struct sd_map m;
    wal_log_name(name, s->files[i].no);
    int rc = wal_join(path, sizeof path, s->dir, name, err);
    if (rc == SD_OK) {
        rc = sd_map_file(path, &m, err);
    }
    if (rc) {
        return rc;
    }
    if (m.len < WAL_HEADER_LEN) {
        sd_unmap(&m);
        return SD_CORRUPT(err, "%s: file shrank below its header", path);
    }
    size_t off = WAL_HEADER_LEN;
    while (off < m.len && rc == SD_OK) {
        struct wal_record rec;
        size_t rec_len;
        if (wal_record_parse(m.data + off, m.len - off, &rec, &rec_len) != SD_OK) {
            rc = wal_bad_record(s, i, &m, off, path, err);
            break;
        }
        rc = wal_deliver(s, &rec, path, off, err);
        off += rec_len;
    }
    s->files[i].size = off;
    sd_unmap(&m);
    return rc;
}

static int wal_scan_records(struct wal_scan *s, struct sd_error *err)
{
    for (uint32_t i = s->start; i < s->nfiles; i++) {
        if (s->files[i].first_seq != s->next_seq) {
            return SD_CORRUPT(err, "%s: wal-%06u.log starts at seq %" PRIu64 ", expected %" PRIu64,
                              s->dir, s->files[i].no, s->files[i].first_seq, s->next_seq);
        }
        int rc = wal_scan_file(s, i, err);
        if (rc) {
            return rc;
        }
    }
    s->info.last_seq = s->next_seq - 1;
    if (s->info.last_seq < s->acked_seq) {
        const struct wal_file *last = &s->files[s->nfiles - 1];
        uint64_t off = s->info.torn_file ? s->info.torn_offset : last->size;
        return SD_CORRUPT(err,
                          "%s/wal-%06u.log: offset %" PRIu64 ": log ends at seq %" PRIu64
                          " but %s says seq %" PRIu64 " was acknowledged: records are missing",
                          s->dir, last->no, off, s->info.last_seq, WAL_SYNCED_NAME, s->acked_seq);
    }
    if (s->info.last_seq < s->from_seq) {
        return SD_CORRUPT(err, "%s: log ends at seq %" PRIu64 ", before the checkpoint %" PRIu64,
                          s->dir, s->info.last_seq, s->from_seq);
    }
    if (s->info.torn_file != 0 && s->is_repair) {
        /* Only now, with the tail known to hold nothing acknowledged. */
        char name[WAL_NAME_MAX], path[PATH_MAX];
        wal_log_name(name, s->info.torn_file);
        int rc = wal_join(path, sizeof path, s->dir, name, err);
        if (rc == SD_OK) {
            rc = wal_truncate_tail(path, s->info.torn_offset, err);
        }
        if (rc) {
            return rc;
        }
    }
    s->info.files = s->nfiles - (s->is_repair ? s->start : 0);
    return SD_OK;
}

/* Removes files[0, start): every record in them is in a segment. */
static int wal_remove_covered(struct wal_scan *s, struct sd_error *err)
{
    for (uint32_t i = 0; i < s->start; i++) {
        char name[WAL_NAME_MAX], path[PATH_MAX];
        wal_log_name(name, s->files[i].no);
        int rc = wal_join(path, sizeof path, s->dir, name, err);
        if (rc == SD_OK && unlink(path) != 0 && errno != ENOENT) {
            rc = wal_syserr(err, errno, "unlink", path);
        }
        if (rc) {
            return rc;
        }
    }
    s->info.removed = s->start;
    s->nfiles -= s->start;
    memmove(s->files, s->files + s->start, s->nfiles * sizeof *s->files);
    return s->start > 0 ? sd_fsync_dir(s->dir, err) : SD_OK;
}

/* A directory without log files: a new index, unless the MANIFEST says
 * records were logged. */
static int wal_no_files(const struct wal_scan *s, struct sd_error *err)
{
    if (s->from_seq > 0) {
        return SD_CORRUPT(err, "%s: no log files, but the MANIFEST checkpoint is seq %" PRIu64,
                          s->dir, s->from_seq);
    }
    if (s->acked_seq > 0) {
        return SD_CORRUPT(err, "%s: no log files, but %s says seq %" PRIu64 " was acknowledged",
                          s->dir, WAL_SYNCED_NAME, s->acked_seq);
    }
    return SD_OK;
}

/* Reads wal.synced into s->acked_seq; a directory without one is older than
 * it and is checked without it. */
static int wal_load_synced(struct wal_scan *s, struct sd_error *err)
{
    int rc = wal_synced_read(s->dir, &s->acked_seq, err);
    return rc == SD_ENOTFOUND ? SD_OK : rc;
}

static int wal_create_first(struct wal_scan *s, struct sd_error *err)
{
    int rc = wal_no_files(s, err);
    if (rc) {
        return rc;
    }
    s->files = calloc(1, sizeof *s->files);
    if (!s->files) {
        return sd_errorf(err, SD_ENOMEM, "wal_open %s", s->dir);
    }
    rc = wal_create_log(s->dir, 1, 1, err);
    if (rc) {
        return rc;
    }
    s->files[0] = (struct wal_file){1, 1, WAL_HEADER_LEN};
    s->nfiles = 1;
    s->info.files = 1;
    return SD_OK;
}

int wal_open(const char *dir, uint64_t from_seq, wal_replay_fn fn, void *arg, struct wal **out,
             struct wal_open_info *info, struct sd_error *err)
{
    struct wal_scan s = {.dir = dir, .from_seq = from_seq, .fn = fn, .arg = arg, .is_repair = true};
    int rc = wal_load_synced(&s, err);
    if (rc == SD_OK) {
        rc = wal_load_files(&s, err);
    }
    if (rc == SD_OK && s.nfiles == 0) {
        rc = wal_create_first(&s, err);
    } else if (rc == SD_OK) {
        rc = wal_scan_records(&s, err);
    }
    if (rc == SD_OK) {
        rc = wal_remove_covered(&s, err);
    }
    if (rc) {
        free(s.files);
        return rc;
    }
    if (info) {
        *info = s.info;
    }
    return wal_attach(dir, s.files, s.nfiles, s.info.last_seq, out, err);
}

int wal_check(const char *dir, uint64_t from_seq, wal_replay_fn fn, void *arg,
              struct wal_open_info *info, struct sd_error *err)
{
    struct wal_scan s = {.dir = dir, .from_seq = from_seq, .fn = fn, .arg = arg};
    int rc = wal_load_synced(&s, err);
    if (rc == SD_OK) {
        rc = wal_load_files(&s, err);
    }
    if (rc == SD_OK && s.nfiles == 0 && (rc = wal_no_files(&s, err)) == SD_OK) {
        rc = sd_errorf(err, SD_ENOTFOUND, "%s: no log files", dir);
    } else if (rc == SD_OK) {
        rc = wal_scan_records(&s, err);
    }
    if (rc == SD_OK && info) {
        *info = s.info;
    }
    free(s.files);
    return rc;
}
