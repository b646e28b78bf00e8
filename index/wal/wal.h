/*
 * wal.h: what makes an index durable (prefix wal_). Two things live here:
 *
 *  - The write-ahead log: files wal-000001.log, wal-000002.log... in the
 *    index directory. Every write is appended as a record (seq, type, payload)
 *    and acknowledged only after wal_sync() made it durable; one wal_sync()
 *    covers every record appended before it (group commit). On open the log
 *    is replayed; a torn tail (a record cut or garbled by a crash, never
 *    acknowledged) is dropped, damage anywhere else is SD_ECORRUPT.
 *  - The MANIFEST (the live segments and the log checkpoint), replaced
 *    atomically, plus the per-segment tombstone files and the garbage
 *    collector that removes files the MANIFEST does not name.
 *
 * The file formats are documented at the top of wal_log.c (log records),
 * wal_manifest.c (MANIFEST) and wal_tomb.c (tombstones), and in docs/DATA.md.
 * The WAL does not know what a payload means: the engine encodes documents
 * and deletes and picks the type bytes.
 *
 * Threads: a struct wal belongs to one thread at a time (the index's writer
 * thread); nothing in it is locked. The manifest, tombstone and gc functions
 * keep no state; callers serialize writes to one directory.
 */
#ifndef SEARCHD_WAL_H
#define SEARCHD_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_base.h"

#define WAL_FORMAT_VERSION   1
#define WAL_MANIFEST_VERSION 2 /* 2: entries carry the segment and tombstone hashes */
#define WAL_MANIFEST_OLDEST  1 /* v1 is read (hashes 0: not checked), never written */
#define WAL_TOMB_VERSION     1
#define WAL_MAX_RECORD       (64u << 20) /* bytes of one record's payload */
#define WAL_MANIFEST_NAME    "MANIFEST"
#define WAL_SYNCED_NAME      "wal.synced" /* the last acknowledged seq (wal_synced.c) */
#define WAL_MAX_MANIFEST_LEN (64u << 20) /* a bigger MANIFEST is refused as corrupt */
#define WAL_NAME_MAX         40          /* buffer size for wal_seg_name()/wal_tomb_name() */

/* ---- the log ---- */

struct wal;

/* One record as replay hands it over. payload points into the log file's
 * mapping and is valid during the callback only. */
struct wal_record {
    uint64_t seq; /* strictly increasing by 1 across all log files, from 1 */
    uint8_t type; /* chosen by the engine; the WAL does not interpret it */
    const uint8_t *payload;
    size_t len; /* at most WAL_MAX_RECORD */
};

/* Called for each valid record with seq > from_seq, in seq order. Returning
 * non-zero (a negative enum sd_status, with err filled in) stops the replay and
 * wal_open()/wal_check() return that code. */
typedef int (*wal_replay_fn)(void *arg, const struct wal_record *rec, struct sd_error *err);

/* What wal_open() or wal_check() found. */
struct wal_open_info {
    uint64_t last_seq;    /* last valid record, or first_seq - 1 of an empty log;
                             the next append gets last_seq + 1 */
    uint64_t replayed;    /* records handed to the callback */
    uint64_t torn_bytes;  /* bytes of torn tail dropped (wal_check: found) */
    uint32_t torn_file;   /* number of the file with the torn tail (0: none) */
    uint64_t torn_offset; /* where the torn tail started in that file */
    uint32_t removed;     /* log files removed as entirely <= from_seq */
    uint32_t files;       /* log files in use after the open */
};

/*
 * Opens the log in dir (borrowed for the call; copied) for replay and append,
 * creating wal-000001.log when the directory has no log file.
 *
 * from_seq is the MANIFEST checkpoint: records with seq <= from_seq are
 * already in segments and are verified but not replayed; fn (may be NULL) is
 * called for every later record in order. Then:
 *  - a bad record (checksum, length, truncation) at the end of the last file
 *    with no valid record after it, past the last acknowledged seq that
 *    dir/wal.synced records, is a torn tail: the file is truncated to the
 *    last good record and fsynced, and info->torn_* say what was dropped;
 *  - any other damage (a bad record followed by a valid one, a bad record in
 *    a file that is not the last, a seq gap, a missing file, records missing
 *    after from_seq, a log ending before the acknowledged seq, no log file
 *    while records were acknowledged) is SD_ECORRUPT naming the file and
 *    offset, and nothing is changed;
 *  - an error from fn is returned with the file, offset and seq prefixed;
 *  - log files whose records are all <= from_seq are removed.
 * On success *out is owned by the caller (wal_close()). info may be NULL.
 */
int wal_open(const char *dir, uint64_t from_seq, wal_replay_fn fn, void *arg, struct wal **out,
             struct wal_open_info *info, struct sd_error *err);

/* Like wal_open() but changes nothing (for `searchd --check`): a torn tail is
 * reported in info, not truncated, and no file is created or removed. An
 * empty directory is SD_ENOTFOUND. */
int wal_check(const char *dir, uint64_t from_seq, wal_replay_fn fn, void *arg,
              struct wal_open_info *info, struct sd_error *err);

/* Closes the files and frees w (NULL is a no-op). Records appended since the
 * last successful wal_sync() may or may not survive: they were never durable,
 * so no one may have acknowledged them. */
void wal_close(struct wal *w);

/*
 * Appends one record (payload borrowed for the call: it is copied) and stores
 * its seq in *seq. The record is buffered and written, not fsynced: it is not
 * durable and must not be acknowledged before a successful wal_sync().
 * SD_ELIMIT if len > WAL_MAX_RECORD and SD_ENOMEM change nothing. A failed
 * write (SD_ENOSPC, SD_EIO) rolls back as wal_rollback() does: every record
 * appended since the last successful wal_sync() is gone, not only this one.
 */
int wal_append(struct wal *w, uint8_t type, const void *payload, size_t len, uint64_t *seq,
               struct sd_error *err);

/*
 * Makes every record appended so far durable with one fdatasync (group commit:
 * append all queued requests, sync once, acknowledge them all).
 * On failure (SD_ENOSPC, SD_EIO) every record appended since the previous
 * successful sync is discarded as by wal_rollback(): none of them may be
 * acknowledged, and their seqs will be given again.
 */
int wal_sync(struct wal *w, struct sd_error *err);

/*
 * Discards the records appended since the last successful wal_sync(): the
 * file is truncated back to the last sync point and fsynced, and the next
 * append gets synced_seq + 1 again. Why truncate and fsync rather than retry
 * the fsync: after a failed fsync Linux may have dropped the dirty pages and
 * cleared the error ("fsyncgate"), so a second fsync can succeed without the
 * data being on disk. Cutting the file back to bytes known to be durable and
 * making that size durable is the only state we can vouch for. If the
 * truncate or its fsync fails too, the log is marked broken: every later call
 * returns SD_EIO until the index is reopened (which replays and repairs).
 */
int wal_rollback(struct wal *w, struct sd_error *err);

/*
 * Syncs (as wal_sync()), then starts the next log file; *first_seq receives
 * the seq the next append will get, which is the first seq of the new file.
 * The engine rotates when it freezes its memtable: records < *first_seq are
 * then covered once that memtable is flushed and a MANIFEST with checkpoint
 * *first_seq - 1 is durable, after which wal_remove_upto(w, *first_seq - 1).
 */
int wal_rotate(struct wal *w, uint64_t *first_seq, struct sd_error *err);

/* Starts the log of a directory that has none, at first_seq: wal-000001.log, empty, its
 * header saying first_seq (written atomically and fsynced with the directory). For a copy of
 * an index (a snapshot, engine/backup.c) whose MANIFEST checkpoint is first_seq - 1 and whose
 * every record up to it is in segments: the copy opens, replays nothing and appends from
 * first_seq on. SD_EIO / SD_ENOSPC name the file. */
int wal_create_empty(const char *dir, uint64_t first_seq, struct sd_error *err);

/* Deletes the log files (never the current one) whose records all have
 * seq <= seq, and fsyncs the directory. Returns how many were removed (>= 0)
 * or a negative status. Call it only once a durable MANIFEST covers seq. */
int wal_remove_upto(struct wal *w, uint64_t seq, struct sd_error *err);

/* Like every wal_ call, these belong to the writer thread: to show them in
 * stats from another thread, the engine copies them into its own counters. */
uint64_t wal_bytes(const struct wal *w);      /* all log files, written or buffered */
uint64_t wal_last_seq(const struct wal *w);   /* last appended (maybe not durable) */
uint64_t wal_synced_seq(const struct wal *w); /* last durable */
bool wal_is_broken(const struct wal *w);      /* see wal_rollback() */
/* Nanoseconds the last successful wal_sync() spent making records durable: the log's
 * fdatasync, then wal.synced's write and fdatasync (wal_synced.c); 0 when it had nothing to
 * make durable. For the engine's fsync histogram: measured here, around the calls only, so
 * the time of writing out buffered records is not in it. */
uint64_t wal_last_sync_ns(const struct wal *w);

/* ---- the MANIFEST ---- */

/* One live segment: its data file is seg-NNNNNN.seg (wal_seg_name()); its
 * deletes, when tomb_gen != 0, are in seg-NNNNNN.GGGGGG.del (wal_tomb_name()).
 * A new tombstone file gets tomb_gen + 1, so the old one stays valid until
 * the MANIFEST that names the new one is durable. */
struct wal_seg_entry {
    uint32_t seg_no;        /* >= 1, unique, < next_seg_no */
    uint32_t doc_count;     /* documents in the segment file */
    uint32_t deleted_count; /* <= doc_count; > 0 requires tomb_gen > 0 */
    uint32_t tomb_gen;      /* 0: no tombstone file */
    uint64_t seg_hash;      /* the segment file's footer XXH3-64; 0: unknown (v1 MANIFEST) */
    uint64_t tomb_hash;     /* the tombstone file's XXH3-64 (wal_tomb_write()); 0: unknown
                               or no tombstone file */
};

struct wal_manifest {
    uint64_t generation;        /* +1 on each wal_manifest_write() */
    uint64_t checkpoint_seq;    /* log records with seq <= it are in the segments */
    uint32_t next_seg_no;       /* number for the next new segment */
    uint32_t count;             /* entries in segs */
    struct wal_seg_entry *segs; /* owned (malloc'd), in the engine's order */
};

/* An empty manifest: generation 0, checkpoint 0, next_seg_no 1, no segments. */
void wal_manifest_init(struct wal_manifest *m);

/* Frees m->segs and re-initializes m (NULL is a no-op). */
void wal_manifest_free(struct wal_manifest *m);

/* Reads dir/MANIFEST into *m (initialized by the call; free it with
 * wal_manifest_free(), also on error). SD_ENOTFOUND when there is no MANIFEST
 * (a new index); SD_ECORRUPT naming the file on a bad magic, version, size,
 * checksum or entry. A leftover MANIFEST.tmp is ignored. */
int wal_manifest_read(const char *dir, struct wal_manifest *m, struct sd_error *err);

/* Writes m as dir/MANIFEST durably and atomically (tmp, fsync, rename, fsync
 * dir) with generation m->generation + 1, stored in m on success only.
 * SD_EINVAL if m breaks a rule of struct wal_seg_entry (a bug in the caller). */
int wal_manifest_write(const char *dir, struct wal_manifest *m, struct sd_error *err);

/* ---- tombstones ---- */

/* Writes the deleted-docs bitmap of segment seg_no, generation gen (>= 1), as
 * dir/seg-NNNNNN.GGGGGG.del durably and atomically. bits (borrowed) holds
 * (ndocs + 63) / 64 words; bit d of word d / 64 set = doc d is deleted. Bits
 * at and past ndocs must be zero. On success *hash (may be NULL) is the
 * file's XXH3-64, for the MANIFEST entry (struct wal_seg_entry.tomb_hash). */
int wal_tomb_write(const char *dir, uint32_t seg_no, uint32_t gen, const uint64_t *bits,
                   uint32_t ndocs, uint64_t *hash, struct sd_error *err);

/* Reads and verifies that file; ndocs must match the one it was written with,
 * and its XXH3-64 must be want_hash unless that is 0 (unknown: a v1 MANIFEST).
 * On success *bits is returned owned (free()) and *ndeleted (may be NULL) is
 * the number of bits set. SD_ENOTFOUND if missing, SD_ECORRUPT otherwise. */
int wal_tomb_read(const char *dir, uint32_t seg_no, uint32_t gen, uint32_t ndocs,
                  uint64_t want_hash, uint64_t **bits, uint32_t *ndeleted, struct sd_error *err);

/* ---- file names and garbage collection ---- */

/* "seg-000042.seg" and "seg-000042.000003.del" into name[WAL_NAME_MAX]. */
void wal_seg_name(char *name, uint32_t seg_no);
void wal_tomb_name(char *name, uint32_t seg_no, uint32_t gen);
/* "wal-000001.log" into name[WAL_NAME_MAX]. */
void wal_log_name(char *name, uint32_t no);

/* What an index directory holds, by kind (wal_dir_scan()). */
struct wal_dir_files {
    uint32_t segments;        /* seg-*.seg */
    uint32_t tombstones;      /* seg-*.*.del */
    uint32_t logs;            /* wal-*.log */
    char first[WAL_NAME_MAX]; /* one segment or tombstone file's name, for messages */
};

/* Counts the files of ours in dir (borrowed). */
int wal_dir_scan(const char *dir, struct wal_dir_files *out, struct sd_error *err);

/* Called by wal_dir_each() for each segment file (gen 0) and tombstone file
 * (gen >= 1) in a directory, in no order; name is valid during the call. A
 * non-zero return stops the walk and is returned. */
typedef int (*wal_dir_fn)(void *arg, const char *name, uint32_t seg_no, uint32_t gen);
int wal_dir_each(const char *dir, wal_dir_fn fn, void *arg, struct sd_error *err);

/* The first seq of the oldest log file in dir (its header checked);
 * SD_ENOTFOUND when there is no log file. For `searchd --repair`. */
int wal_log_first_seq(const char *dir, uint64_t *first_seq, struct sd_error *err);

/* Moves dir/name into dir/lost+found/ (created if needed) under its own name,
 * or name.1, name.2... when that is taken: never over another file. */
int wal_move_to_lost(const char *dir, const char *name, struct sd_error *err);

/* What wal_gc() does with a file of ours the MANIFEST does not reference. */
enum wal_gc_action {
    WAL_GC_REMOVE = 1, /* provably obsolete (wal_dir.c says when): unlinked */
    WAL_GC_LOST = 2,   /* not accounted for: moved into dir/lost+found/ */
};
#define WAL_LOST_DIR "lost+found"

/* Told about each file wal_gc() removes or moves; name is valid during the call. */
typedef void (*wal_gc_fn)(void *arg, const char *name, enum wal_gc_action action);

/*
 * Cleans dir of the files of ours that m (borrowed) does not reference:
 * obsolete ones (leftover .tmp files, segments and tombstone generations a
 * durable MANIFEST dropped) are removed; the others (segments numbered past
 * m->next_seg_no, tombstone generations past the listed one) are moved into
 * dir/lost+found/, never deleted. Never touches MANIFEST, wal.synced, log
 * files (wal_open() removes the ones below the checkpoint) or any name we do
 * not write. With is_dry_run nothing changes and fn still hears of every file
 * (for `searchd --check`, and before the log is opened, so that an open it
 * would refuse changes nothing). Nothing changes either when one of the
 * files cannot be dealt with (lost+found/ is a file or a link, an obsolete
 * name is a directory): every file is looked at before the first is
 * touched, and the error names it. Call it (not dry) only after the
 * MANIFEST, the log and every referenced file were validated, and while no
 * flush or merge runs. Returns how many files were (or would be) removed or
 * moved (>= 0), or a negative status.
 */
int wal_gc(const char *dir, const struct wal_manifest *m, bool is_dry_run, wal_gc_fn fn, void *arg,
           struct sd_error *err);

/* SD_OK when wal_gc() could deal with every file it would act on (remove or
 * move it); else the error naming the first it could not. Changes nothing. */
int wal_gc_check(const char *dir, const struct wal_manifest *m, struct sd_error *err);

#endif
