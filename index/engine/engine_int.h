/*
 * engine_int.h: the engine's private structures. Never included outside
 * index/engine/.
 *
 * One index = one directory = one struct idx_index:
 *
 *   writer thread   owns the WAL and the memtable; appends queued writes,
 *                   fsyncs once per batch (group commit), applies them to the
 *                   memtable, turns it into an in-memory segment appended to
 *                   `live` (publishing a snapshot), then acknowledges. When a
 *                   flush is due it rotates the log and asks the memory
 *                   merger to flush; while in-memory segments hold more than
 *                   twice flush_bytes it waits for that flush (back-pressure:
 *                   memory stays bounded however fast writes arrive).
 *   analysis thread analyses (seg_analyze) the upserts of queued writes in
 *                   queue order, a bounded distance ahead of the writer, which
 *                   inverts the analyses (seg_builder_add_analyzed) and
 *                   analyses ops too when the analysis thread is behind; it
 *                   also compresses the memtable builder's full stored
 *                   blocks (analyze.c).
 *   memory merger   the only thread that removes in-memory segments from
 *                   `live`. Jobs: flush (every in-memory segment -> one disk
 *                   segment + tombstone files + MANIFEST with the checkpoint)
 *                   and memory merges (many small in-memory segments -> one).
 *   disk merger     the only thread that removes disk segments from `live`:
 *                   tiered disk merges and rewrites of mostly deleted
 *                   segments. Its own thread, so a flush never waits behind a
 *                   long disk merge. The two mergers never share an input.
 *                   Both rewrite outside every lock; a commit carries over,
 *                   by id, deletes made meanwhile.
 *   query threads   idx_snap_acquire() -> read-only segments -> release.
 *
 * Lock order: manifest_lock -> state_lock -> snap_lock; queue_lock -> ana.lock
 * (idx_enqueue hands a write to both queues at once, so their orders agree);
 * settings_write_lock -> settings_lock (settings.c; nothing is taken while
 * settings_lock is held); settings_write_lock -> manifest_lock (a snapshot's
 * flush and pin, backup.c); otherwise they are leaves.
 * No lock is held across a search; manifest_lock is held across the
 * MANIFEST write because it serializes exactly that I/O (flush vs merge).
 */
#ifndef SEARCHD_ENGINE_INT_H
#define SEARCHD_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "idmap.h"
#include "idx.h"
#include "schema.h"
#include "sd_base.h"
#include "seg.h"
#include "wal.h"

/* Stem cache of the contexts that analyse documents (the analysis thread's and the
 * memtable's): 64K words, 4 MiB once full. A corpus has far more word forms than the
 * default 2048 slots hold, and each one forgotten is a Snowball call again. */
#define IDX_STEM_CACHE_WORDS 65536

/* ---- the memory limit (memcap.c says what is counted and what happens near it) ---- */

struct idx_memcap {
    atomic_uint_fast64_t used;   /* bytes charged now */
    atomic_uint_fast64_t peak;   /* the most used has been (idx_memory_peak) */
    atomic_uint_fast64_t fixed;  /* of used: the stem caches of the open indexes (idx_memcap_fix) */
    atomic_uint_fast64_t cached; /* of used: segments' search caches (idx_memcap_cache) */
    atomic_uint_fast64_t held;   /* not charged: what put-off merges wait for (idx_memcap_hold) */
    uint64_t limit;              /* cfg.memory_limit; 0: none (used is still counted) */
};

enum idx_mem_level {
    IDX_MEM_OK = 0, /* under half the limit, or no limit */
    IDX_MEM_FLUSH,  /* >= 1/2: flush in-memory segments now, no memory merges */
    IDX_MEM_SLOW,   /* >= 2/3: the writer waits for its flush before the next batch */
    IDX_MEM_FULL,   /* >= 3/4, the admission ceiling: writes are refused (SD_EBUSY) */
};

void idx_memcap_init(struct idx_memcap *c, uint64_t limit);
/* Charges delta (< 0 gives back) whatever the counter holds: for what is given back, and for
 * the essential charges memcap.c bounds where they are made (a builder, an image, a commit). */
void idx_memcap_charge(struct idx_memcap *c, int64_t delta);
uint64_t idx_memcap_used(const struct idx_memcap *c);
uint64_t idx_memcap_peak(const struct idx_memcap *c); /* the most used has been */
enum idx_mem_level idx_memcap_level(const struct idx_memcap *c);
/* Charges bytes when the counter stays within the admission ceiling (3/4 of the limit; always
 * without a limit) and returns true; else charges nothing and returns false. For what can be
 * refused or put off: writes, analyses made ahead, merges, search caches. */
bool idx_memcap_try(struct idx_memcap *c, size_t bytes);
/* A disk merge that did not fit waits for delta more bytes of room (< 0: it no longer waits):
 * writes are admitted only up to the ceiling less what merges wait for (at most a quarter of
 * the limit), so that a steady stream of writes does not keep them out. */
void idx_memcap_hold(struct idx_memcap *c, int64_t delta);
/* Whether the counter is within the admission ceiling (always without a limit). */
bool idx_memcap_has_room(const struct idx_memcap *c);
/* idx_memcap_try for a write of `bytes`, with the client's message: SD_EBUSY when it does not
 * fit now, SD_ELIMIT when it never could (more than the ceiling less the fixed charges);
 * nothing is charged then. */
int idx_memcap_admit(struct idx_memcap *c, size_t bytes, struct sd_error *err);
/* For the search caches of segments (exact forms, memo: seg_set_charge): delta > 0 is charged
 * (true) only while those caches together stay within a quarter of the limit and the counter
 * within the admission ceiling, so that they never take the room writes need; delta < 0
 * gives back (true). Always true without a limit. */
bool idx_memcap_cache(struct idx_memcap *c, int64_t delta);
/* Charges a fixed amount (an index's stem caches: delta > 0 at open, < 0 at close), which
 * idx_memcap_admit subtracts from what a write could ever get. With must_fit (a new index) only
 * as idx_memcap_try would (false: nothing charged); else always (an index the data directory
 * holds is opened whatever the limit). */
bool idx_memcap_fix(struct idx_memcap *c, int64_t delta, bool must_fit);
/* The builder size at which the writer refreshes (memcap.c, THE BOUND): a 32nd of the limit, a
 * 16th from 64 MiB on; SIZE_MAX without one (a builder then holds a whole batch). */
size_t idx_memcap_builder_bytes(const struct idx_memcap *c);
/* The most one document's inversion may take (seg_analysis_build_bytes): what keeps a builder
 * of idx_memcap_builder_bytes with that document, and the image made of them, within the
 * writer's room (memcap.c, THE BOUND): 640 KiB at 8 MiB, 1.4 MiB at 16, 3 MiB at 64, 14 MiB
 * at 256. SIZE_MAX without a limit. */
size_t idx_memcap_doc_bytes(const struct idx_memcap *c);
/* A document's inversion takes at most this many times its logged bytes (made-up words of two
 * to six letters, none repeated: 80 to 130; prose 5 to 10): a document of fewer bytes than
 * idx_memcap_doc_bytes / IDX_DOC_BYTES_PER_BYTE needs no analysis to know it fits. */
#define IDX_DOC_BYTES_PER_BYTE 160
/* min(dflt, limit / div): a bound that shrinks with a small limit (dflt without one). */
size_t idx_memcap_share(const struct idx_memcap *c, size_t dflt, unsigned div);
/* Words of each stem cache of an index (two per index), and the bytes of one when full. */
size_t idx_memcap_stem_words(const struct idx_memcap *c);
size_t idx_memcap_stem_bytes(const struct idx_memcap *c);

/* ---- timings (histo.c) ---- */

/* A histogram of durations: recorded by the thread that does the work, read by idx_stats on
 * any thread. Relaxed atomics, no lock: a record is two uncontended adds. */
struct idx_hist {
    const uint64_t *bounds_ns;                            /* static, ascending */
    uint32_t nbounds;                                     /* <= IDX_HIST_MAX_BOUNDS */
    atomic_uint_fast64_t counts[IDX_HIST_MAX_BOUNDS + 1]; /* not cumulative, as idx_histogram */
    atomic_uint_fast64_t sum_ns;
};

enum idx_hist_kind {
    IDX_HIST_JOB,   /* flushes and merges: 1 ms to 5 min */
    IDX_HIST_FSYNC, /* a group commit's fdatasyncs: 50 us to 1 s */
};

void idx_hist_init(struct idx_hist *h, enum idx_hist_kind kind);
void idx_hist_record(struct idx_hist *h, uint64_t ns);
void idx_hist_read(const struct idx_hist *h, struct idx_histogram *out);

/* ---- which segments a merge takes (tier.c says why) ---- */

#define IDX_TIER_BASE       1000u /* disk segments: docs of the smallest tier */
#define IDX_MEM_TIER_BASE   1u    /* in-memory segments: one document */
#define IDX_TIER_MAX_INPUTS 64u   /* in-memory segments one merge takes, at most */

/* The factor of the in-memory segments' tiers: half the disk's, at least 2 (tier.c). */
static inline uint32_t idx_mem_merge_factor(uint32_t merge_factor)
{
    return merge_factor / 2 > 2 ? merge_factor / 2 : 2;
}

/* The size tier of a segment of `docs` live documents: 0 up to base, then one more each
 * time docs reaches base times a power of factor. */
unsigned idx_tier_of(uint32_t docs, uint32_t base, uint32_t factor);
/* The segments (docs[i]: live documents of segment i, in the live list's order) one merge
 * takes: of the lowest tier with `factor` or more, the first max_inputs. Their indices,
 * ascending, into pick (room for max_inputs); returns how many (0: no merge is due). */
size_t idx_tier_pick(const uint32_t *docs, size_t n, uint32_t base, uint32_t factor,
                     size_t max_inputs, size_t *pick);

/* ---- refcounted pieces of a snapshot ---- */

/* One open segment. Freed when the last snapshot and the live list drop it;
 * then, if is_obsolete, its files are unlinked (the MANIFEST that dropped it
 * is durable by the time is_obsolete is set). */
struct idx_segref {
    atomic_int refs;
    struct seg *seg;    /* owned */
    uint32_t seg_no;    /* file number; 0 for an in-memory segment */
    char *dir;          /* owned copy of the index directory */
    atomic_bool is_obsolete;
    atomic_uint del_gen; /* its tombstone file's generation in the durable MANIFEST, 0: none;
                            unlinked with the segment */
};

/* An immutable tombstone bitmap as published in a snapshot. */
struct idx_bits {
    atomic_int refs;
    uint32_t ndocs;
    uint32_t ndeleted;
    uint64_t words[]; /* (ndocs + 63) / 64 */
};

struct idx_snap_seg {
    struct idx_segref *ref; /* one reference held by the snapshot */
    struct idx_bits *bits;  /* one reference, or NULL: nothing deleted */
};

/* What one query sees from start to end. */
struct idx_snap {
    atomic_int refs;
    size_t nsegs;
    struct idx_snap_seg segs[]; /* oldest first */
};

/* ---- the writer's view: live segments with mutable tombstones ---- */

struct idx_live {
    struct idx_segref *ref;   /* one reference held by the live list */
    uint64_t *bits;           /* master tombstones, owned, never NULL */
    uint32_t ndeleted;
    uint32_t del_gen;         /* generation of the tombstone file on disk; 0 = none */
    uint64_t del_hash;        /* that file's XXH3-64 for the MANIFEST; 0 = none or unknown */
    bool is_dirty_snap;       /* bits changed since the last publish */
    bool is_dirty_disk;       /* bits changed since the last tombstone file */
    struct idx_bits *published; /* last published copy (one reference) or NULL */
    uint64_t max_seq;         /* in-memory segments: last op they contain */
};

/* Where the analysis of one op of a queued write stands (analyze.c). */
enum idx_prep_state {
    IDX_PREP_PENDING = 0, /* nobody has it yet */
    IDX_PREP_CLAIMED,     /* being analysed ahead (by either thread) */
    IDX_PREP_DONE,        /* analysed ahead: an, or NULL (a delete, or the analysis failed) */
    IDX_PREP_WRITER,      /* the writer took it to analyse when applying it */
};

struct idx_prep {
    struct seg_analysis *an; /* owned by the write until the writer takes it */
    uint8_t state;           /* enum idx_prep_state; ana.lock */
};

/* A queued write: encoded log records plus whom to tell. */
struct idx_write {
    struct idx_write *next;
    struct idx_write *ana_next; /* the analysis queue (ana.lock) */
    struct sd_buf records;      /* op records: u8 type, varint len, payload; repeated */
    struct idx_prep *prep;      /* owned; nops entries, guarded by ana.lock */
    uint32_t nops;
    idx_done_fn done;
    void *arg;
    struct idx_memcap *memcap; /* borrowed: the db's; records are charged to it */
    size_t charged;            /* bytes charged for this write, given back when it is freed */
    int rc; /* after apply: its outcome */
    struct idx_write_result res;
    struct sd_error err;
};

/* The memtable: documents applied since the last refresh, in a builder. */
struct idx_mem {
    struct seg_builder *builder; /* NULL when empty */
    struct stem_ctx *stem;       /* the writer thread's */
    struct seg_analyzer *analyzer; /* the writer thread's, with stem */
    struct seg_analysis *analysis; /* scratch for the ops the writer analyses */
    /* id -> local doc in builder (open addressing, keys point into ids) */
    struct idx_idmap *ids;
    uint64_t *deleted;          /* local docs of the builder superseded since */
    size_t deleted_cap;         /* words */
    uint64_t first_ns;          /* when the first pending op was applied */
    uint64_t last_refresh_ns;   /* refreshes are at least refresh_ms apart */
    uint64_t first_flush_ns;    /* first op not yet handed to a flush; 0: none */
    bool has_pending;           /* something to publish (adds or deletes) */
    struct idx_settings *builder_settings; /* one reference while builder exists: its columns */
    struct idx_attr_scratch *attrs;        /* owned; a document's column values (settings.c) */
    struct idx_memcap *memcap; /* borrowed: the db's; pays for the builder as it grows */
    size_t charged;            /* the builder's bytes charged to memcap (0 without builder) */
};

/* The two merge threads of an index (merge.c); each picks only its kind of segment. */
enum idx_merger_role {
    IDX_MERGER_MEMORY, /* flushes and memory merges */
    IDX_MERGER_DISK,   /* disk merges */
    IDX_MERGER_COUNT,
};

struct idx_merger {
    struct idx_index *ix;
    enum idx_merger_role role;
    pthread_t thread;
    bool is_started;
    bool wake; /* merge_lock */
};

/* The analysis thread's state (analyze.c). */
struct idx_ana {
    pthread_mutex_t lock;       /* guards every field below and idx_write.prep, ana_next */
    pthread_cond_t work;        /* the analysis thread waits: nothing to do, or far enough ahead */
    pthread_cond_t done;        /* the writer waits for an op the analysis thread is on */
    struct idx_write *head;     /* writes with ops nobody claimed yet, queue order */
    struct idx_write *tail;
    uint32_t next_op;           /* head's first unclaimed op */
    size_t next_off;            /* ... and where its record starts in head->records */
    size_t ahead_ops;           /* analysed (or being analysed) ahead, not yet taken */
    size_t ahead_bytes;         /* memory of the finished analyses among them */
    struct seg_analysis **pool; /* owned; analyses to reuse */
    size_t npool;
    size_t pool_bytes; /* their memory */
    struct seg_zjob **zq;       /* owned ring of stored-block jobs submitted by the builder */
    size_t zq_head, zq_len, zq_cap;
    pthread_cond_t zdone;         /* the writer waits for a job the analysis thread runs */
    struct seg_zjob_sched zsched; /* set once by idx_ana_init; the memtable's builders use it */
    struct idx_memcap *memcap; /* borrowed: the db's; ahead_bytes and pool_bytes charge it */
    bool is_stopping;
    bool has_thread; /* the thread runs: set before the writer starts, cleared after it stops */
    pthread_t thread;
};

/* A torn log tail dropped when the index opened (stats and /health show it). */
struct idx_torn {
    uint32_t count; /* 0 or 1: tails dropped by this process */
    uint64_t bytes;
    uint64_t at; /* unix seconds */
    char file[WAL_NAME_MAX];
    uint64_t offset;
};

/* An index's settings as published: immutable, refcounted like a snapshot, so a write being
 * checked or a search being weighted keeps the version it started with (settings.c). */
struct idx_settings {
    atomic_int refs;
    uint64_t version;          /* 0: never set (schema declares nothing) */
    uint64_t index_version;    /* the version whose way of indexing these settings keep: a
                                  change of synonyms or stopwords only keeps the previous one */
    struct qry_lexicon *lex;   /* owned: synonyms and stopwords; NULL when there are none */
    struct sch_schema *schema; /* owned, never NULL */
    char *json;                /* owned, canonical, NUL-terminated */
    size_t json_len;
    struct qry_weight *weights; /* owned: the declared text fields' weights */
    size_t nweights;
};

struct idx_index {
    struct idx_db *db; /* borrowed */
    char *name;        /* owned */
    char *dir;         /* owned */
    size_t stem_charged; /* the stem caches' bytes charged to db->memcap (recover.c) */
    uint64_t merge_hold; /* the disk merger's idx_memcap_hold now (merge.c; that thread only) */

    /* Callers between idx_db_find and idx_index_put (manage.c): idx_drop waits for none. */
    atomic_int users;
    atomic_bool is_dropped; /* set under db->lock; the index is on its way out */

    pthread_mutex_t settings_lock; /* guards the settings pointer (swap only) */
    struct idx_settings *settings; /* one reference */
    atomic_uint_fast64_t settings_version; /* settings->version, read without the lock */
    atomic_uint_fast64_t index_version;    /* settings->index_version: older segments are stale */
    pthread_mutex_t settings_write_lock; /* serializes SETTINGS writes (held across that I/O) */

    pthread_mutex_t snap_lock; /* guards snap (the pointer swap only) */
    struct idx_snap *snap;

    pthread_mutex_t state_lock; /* guards live, nlive, next_seg_no, counters below */
    struct idx_live *live;
    size_t nlive, live_cap;
    uint32_t next_seg_no;
    struct wal_seg_entry *broken; /* manifest entries of damaged segments, kept */
    size_t nbroken;
    /* Set at open, before any thread starts, never changed: a file of the index
     * is not served, so writes, flushes and merges are refused (docs/DATA.md). */
    bool is_degraded;
    struct idx_torn torn; /* the torn log tail dropped at open, if any */
    char degraded_reason[256];
    uint64_t checkpoint_seq; /* every op <= it is in disk segments (MANIFEST) */
    uint64_t flush_seq;      /* flush requested up to here (merge_lock) */
    /* Set with flush_seq, cleared as the memory merger reads it: a memory merge that
     * started before the request stops (seg_merge polls it), as the flush rewrites its
     * inputs anyway. Measured: engine-bench's final flush waited 0.3 s behind one. */
    atomic_bool flush_asked;
    uint64_t mem_bytes;      /* in-memory segments' images */

    pthread_mutex_t manifest_lock; /* serializes MANIFEST writes (flush vs merge) */
    uint64_t manifest_gen;

    pthread_mutex_t queue_lock; /* guards the write queue and the flags below */
    pthread_cond_t queue_cond;
    struct idx_write *queue_head, *queue_tail;
    bool is_stopping;
    bool writes_refused;
    char write_error[256];
    bool flush_wanted; /* a snapshot waits for a flush of all that is logged (backup.c) */
    uint32_t queued_writes; /* writes in the queue (idx_stats reports them) */
    size_t queued_bytes;    /* their records */

    pthread_t writer;
    pthread_cond_t mem_cond; /* with state_lock: mem_bytes went down, a flush failed, or a
                                MANIFEST moved checkpoint_seq */
    struct idx_merger mergers[IDX_MERGER_COUNT];
    pthread_mutex_t merge_lock; /* guards the mergers' wake flags, merge_stop */
    pthread_cond_t merge_cond;  /* broadcast: each merger checks its own flag */
    bool merge_stop;
    struct idx_ana ana;

    struct wal *wal; /* writer thread only */
    struct idx_mem mem;
    uint64_t applied_seq;              /* writer thread: last op in the memtable */
    atomic_uint_fast64_t removable_seq; /* logs up to here may go (merge -> writer) */
    char flush_error[256];             /* last flush failure (state_lock) */
    uint64_t merge_failures;           /* jobs failed so far (state_lock) */

    atomic_uint_fast64_t durable_seq;
    atomic_uint_fast64_t last_write_ns; /* when the writer last committed a batch */
    atomic_uint_fast64_t wal_bytes;
    atomic_uint merges_running;
    atomic_uint_fast64_t merges_done;
    atomic_uint_fast64_t flushes_done;
    struct idx_hist flush_time;            /* merge.c: successful flushes */
    struct idx_hist merge_time;            /* merge.c, reindex.c: as merges_done counts */
    struct idx_hist fsync_time;            /* writer.c: each group commit's wal_sync */
    atomic_uint_fast64_t wal_records;      /* writer.c: records made durable */
    atomic_uint_fast64_t wal_synced_bytes; /* writer.c: their bytes in the log */
};

struct idx_creating; /* db.c: a name whose creation runs */

/* An index that did not open at start because of what is on disk (db.c): its name and the
 * open's message, which every request naming it gets (SD_EUNAVAIL). */
struct idx_unavailable {
    char name[IDX_MAX_NAME + 1];
    char msg[sizeof((struct sd_error *)0)->msg];
};

struct idx_db {
    struct idx_config cfg;
    char *dir; /* owned */
    int lock_fd; /* holds the flock on DIR/LOCK */
    pthread_mutex_t lock; /* guards indexes, nindexes, is_dropped of each, dropping, creating */
    pthread_cond_t users_cond; /* with lock: a dropped index lost its last user */
    char *dropping[8];         /* lock: names whose drop is running (manage.c); NULL: free */
    struct idx_creating *creating; /* lock: names whose creation runs (db.c), a list whose
                                      nodes are on the creating threads' stacks */
    pthread_cond_t created_cond;   /* with lock: a creation ended (its name is an index in
                                      indexes now, or free again) */
    struct idx_index **indexes;
    size_t nindexes;
    /* Indexes whose open at start was refused by damage (db.c, idx_open_existing): made by
     * idx_open before any other thread can reach the db and never changed after (a drop or a
     * creation of such a name is refused), so read without lock. */
    struct idx_unavailable *unavailable; /* owned, nunavailable */
    size_t nunavailable;
    char *snapshot_dir; /* owned, resolved (realpath); NULL: snapshots are off */
    struct idx_memcap memcap; /* the engine's memory against cfg.memory_limit (memcap.c) */
};

/* ---- functions shared between the engine's files ---- */

/* db.c: finds (or with create, creates without settings, as idx_db_create does) an index by
 * name. On SD_OK the caller is one of the index's users until idx_index_put. A dropped index,
 * or one whose creation is still running, is not found (SD_ENOTFOUND); with create, a name
 * being created is waited for and then found (or created, if that creation failed), and a
 * name being dropped is SD_EBUSY. An unavailable index (its open at start was refused by
 * damage) is SD_EUNAVAIL with the open's message, with create too. */
int idx_db_find(struct idx_db *db, const char *name, bool create, struct idx_index **out,
                struct sd_error *err);
/* db.c: creates index `name` with settings st (borrowed for the call; NULL: none), or
 * SD_EEXIST when the name is an index already (also one whose creation by another call was
 * running: its outcome is waited for). The index is visible to lookups and writes only once
 * its directory and SETTINGS are durable and it is open with st in force. On SD_OK the caller
 * is one of its users until idx_index_put. SD_EINVAL for a bad name, SD_EBUSY for a name
 * being dropped, SD_EIO / SD_ENOSPC / SD_ENOMEM (nothing was created). */
int idx_db_create(struct idx_db *db, const char *name, const struct idx_settings *st,
                  struct idx_index **out, struct sd_error *err);
/* DATA/.creating-NAME: an index directory being made (db.c); a crash leaves it for the next
 * start to remove (idx_remove_leftovers). */
#define IDX_CREATING_PREFIX ".creating-"

/* event.c: one engine event, formatted as key=value pairs, to db->cfg.log (if any). */
void idx_event(const struct idx_db *db, enum idx_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* manage.c */
void idx_index_put(struct idx_index *ix);
/* At open: removes DATA/.dropped-* left by a drop that a crash interrupted, and
 * DATA/.creating-* left by a creation that a crash interrupted (db.c: never an index yet). */
void idx_remove_leftovers(const struct idx_db *db);
/* db.c: whether the entry `name` of data_dir is an index to open, check or repair: a valid
 * index name that is not something other than a directory (*is_other: a file or another
 * non-directory with an index's name, which is left alone). */
bool idx_db_entry_is_index(const char *data_dir, const char *name, bool *is_other);
/* db.c: SD_ECORRUPT (named) when the entry `name` of data_dir has an index's name and is a
 * symbolic link: refused, never followed (`searchd --check` fails on it, and the start keeps
 * the name as an unavailable index). */
int idx_db_entry_check(const char *data_dir, const char *name, struct sd_error *err);

/* lexicon.c: the query-time part of a schema (its synonyms and stopwords) as the query
 * module's lexicon, sealed; *out NULL when it has none. SD_EINVAL names a string no query
 * could match ("synonyms: '!!!' holds no word"), or SD_ENOMEM. */
int idx_lexicon_build(const struct sch_lexicon *sl, struct qry_lexicon **out,
                      struct sd_error *err);
/* Removes the regular files of dir (it must hold no subdirectory) and dir; a missing dir is
 * SD_OK. */
int idx_remove_dir(const char *dir, struct sd_error *err);

/* settings.c */
#define IDX_SETTINGS_FILE "SETTINGS" /* DIR/SETTINGS (format at the top of settings.c) */
/* Reads DIR/SETTINGS into ix->settings (none: version 0, nothing declared). SD_ECORRUPT
 * names the file. */
int idx_settings_load(struct idx_index *ix, struct sd_error *err);
void idx_settings_free_all(struct idx_index *ix);
/* Writes st as dir/SETTINGS, atomically and durably (file and dir fsynced). */
int idx_settings_write(const char *dir, const struct idx_settings *st, struct sd_error *err);
/* For `searchd --check`: reads and checks DIR/SETTINGS (none is fine); *version (when not
 * NULL) is its settings version, 0 for none. */
int idx_settings_verify(const char *dir, uint64_t *version, struct sd_error *err);
struct idx_settings *idx_settings_acquire(struct idx_index *ix);
void idx_settings_release(struct idx_settings *st); /* NULL is a no-op */
/* The upsert op checked against st's schema and rewritten as it will be logged: declared
 * text fields stay text, every other string becomes stored JSON text (not indexed).
 * out->doc.fields points into fields[SEG_MAX_FIELDS] and scratch (reset here), valid until
 * scratch changes. SD_EINVAL (or SD_ELIMIT) names the document and the field. */
int idx_settings_check_op(const struct idx_settings *st, const struct idx_op *op,
                          struct idx_op *out, struct seg_field *fields, struct sd_buf *scratch,
                          struct sch_values *vals, struct sd_error *err);
/* The attribute columns of a builder made under st: one per declared field that is not
 * text, in the schema's order (by name). Returns the count; names point into st. */
size_t idx_settings_attr_specs(const struct idx_settings *st, struct seg_attr_spec *specs);
/* doc's values for those columns (an array of that count, valid until the next call or
 * idx_attr_scratch_free), converted from its fields. A value that does not convert (written
 * under older settings) is no value. *scratch is made on first use. NULL on ENOMEM. */
struct idx_attr_scratch;
const struct seg_attr_vals *idx_settings_attr_vals(const struct idx_settings *st,
                                                   const struct seg_doc *doc,
                                                   struct idx_attr_scratch **scratch);
void idx_attr_scratch_free(struct idx_attr_scratch *s);
/* A logged or stored upsert rewritten for st as idx_write would have (settings.c), but
 * leniently: it was accepted under the settings of its time, so a value that no longer fits
 * is kept stored only, never refused. *out points into *scratch (made on first use) until
 * the next call. *changed: it differs from op (an analysis of op is then stale). SD_ENOMEM. */
int idx_settings_retype_logged(const struct idx_settings *st, const struct idx_op *op,
                               struct idx_op *out, struct idx_attr_scratch **scratch,
                               bool *changed, struct sd_error *err);

/* opcodec.c: a write op as a log record payload and back. */
enum { IDX_REC_UPSERT = 1, IDX_REC_DELETE = 2 };
int idx_op_validate(const struct idx_op *op, struct sd_error *err);
void idx_op_encode(const struct idx_op *op, struct sd_buf *out);
/* Decodes payload (borrowed) into op; fields point into payload and into
 * fields[SEG_MAX_FIELDS] (caller's array). */
int idx_op_decode(uint8_t type, const uint8_t *payload, size_t len, struct idx_op *op,
                  struct seg_field *fields, struct sd_error *err);

/* snap.c */
/* memcap (borrowed, may be NULL) pays for what the segment takes after opening (its exact
 * forms for typo walks: seg_set_charge). */
struct idx_segref *idx_segref_new(struct seg *seg, uint32_t seg_no, const char *dir,
                                  struct idx_memcap *memcap);
void idx_segref_unref(struct idx_segref *r);
struct idx_snap *idx_snap_acquire(struct idx_index *ix);
void idx_snap_release(struct idx_snap *s);
/* Builds a snapshot from the live list (state_lock held) and swaps it in. */
int idx_publish(struct idx_index *ix);
bool idx_bits_test(const uint64_t *bits, uint32_t doc);
void idx_bits_free_unused(struct idx_bits *b);

/* live.c: the live list (state_lock held by the caller for all of these). */
int idx_live_reserve(struct idx_index *ix); /* room for one more */
/* Appends ref (reference taken over) with bits (taken over; NULL = none). */
int idx_live_append(struct idx_index *ix, struct idx_segref *ref, uint64_t *bits,
                    uint32_t ndeleted, uint32_t del_gen);
/* Marks the newest live copy of id deleted; true when one was found. */
bool idx_live_delete_id(struct idx_index *ix, const char *id, size_t len);
void idx_live_set_deleted(struct idx_live *l, uint32_t doc);
uint64_t idx_live_docs(const struct idx_index *ix, uint64_t *deleted);

/* mem.c: the memtable, writer thread only. memcap (borrowed) pays for its builder. */
int idx_mem_init(struct idx_mem *m, size_t stem_words, struct idx_memcap *memcap);
void idx_mem_free(struct idx_mem *m);
/* Applies one decoded op to memtable + live tombstones (state_lock taken
 * inside). an (borrowed for the call) is the upsert's analysis, or NULL: the
 * writer analyses op->doc itself. Fills res counters. */
int idx_mem_apply(struct idx_index *ix, const struct idx_op *op, const struct seg_analysis *an,
                  struct idx_write_result *res, struct sd_error *err);
/* Turns the pending builder into an in-memory segment and publishes. */
int idx_mem_refresh(struct idx_index *ix, struct sd_error *err);

/* writer.c */
void idx_write_free(struct idx_write *w); /* w must be out of the analysis queue */
int idx_writer_start(struct idx_index *ix, struct sd_error *err);
/* Queues w (taken over on SD_OK) for the writer thread. */
int idx_enqueue(struct idx_index *ix, struct idx_write *w, struct sd_error *err);
/* Rotates the log and asks the memory merger to flush up to the rotation. */
void idx_request_flush(struct idx_index *ix);
/* Before the memtable starts a builder (mem.c, writer thread): under a memory limit, waits
 * until the counter is back within the admission ceiling, asking for flushes of this index's
 * in-memory segments (memcap.c, THE BOUND). Ends early when a flush fails, and after
 * IDX_ROOM_WAIT_MS at most. */
void idx_writer_make_room(struct idx_index *ix);
void idx_writer_stop(struct idx_index *ix);

/* analyze.c: the analysis thread. */
void idx_ana_init(struct idx_ana *a, struct idx_memcap *memcap);
void idx_ana_free(struct idx_ana *a); /* after idx_ana_stop */
int idx_ana_start(struct idx_index *ix, struct sd_error *err);
void idx_ana_stop(struct idx_index *ix); /* after the writer has stopped */
/* Appends w to the analysis queue (queue_lock held by the caller). */
void idx_ana_enqueue(struct idx_index *ix, struct idx_write *w);
/* The writer's turn at op `op` of w; every op is taken, in queue order. Returns
 * the analysis made ahead (owned by the caller, handed back with
 * idx_ana_recycle), or NULL: a delete, or analyse it yourself (nobody had
 * claimed it, or its analysis failed). While the analysis thread is on this
 * op, the writer analyses later ones rather than wait. */
struct seg_analysis *idx_ana_take(struct idx_index *ix, struct idx_write *w, uint32_t op);
void idx_ana_recycle(struct idx_index *ix, struct seg_analysis *an); /* NULL is a no-op */
/* Takes w (a write that will not be applied) out of the analysis queue, waits
 * for the op being analysed, if any, and frees its analyses. */
void idx_ana_forget(struct idx_index *ix, struct idx_write *w);

/* reindex.c: on the disk merger's thread. *did_work when it switched stale segments in. */
int idx_reindex_run(struct idx_index *ix, bool *did_work, struct sd_error *err);
/* Whether a live segment was built before the settings last changed how documents are indexed
 * (idx_settings.index_version). */
bool idx_reindex_pending(struct idx_index *ix);

/* manifest.c */
int idx_manifest_commit(struct idx_index *ix, uint64_t checkpoint_seq, struct sd_error *err);

/* recover.c: opens the index directory DATA/name, which must exist (SD_ENOTFOUND): db.c makes
 * a new one whole before opening it. A new index (is_new) is refused SD_EBUSY when its caches
 * do not fit the memory limit now; one found at start is opened all the same. */
int idx_index_open(struct idx_db *db, const char *name, bool is_new, struct idx_index **out,
                   struct sd_error *err);
void idx_index_close(struct idx_index *ix);

/* verify.c: shared by recover.c and check.c, so both report the same words. */
/* Reads dir's MANIFEST into m (free with wal_manifest_free(), also on error).
 * A missing one: *is_new and an empty m when the directory holds no segment or
 * tombstone file, else SD_ECORRUPT naming the situation. */
int idx_manifest_load(const char *dir, struct wal_manifest *m, bool *is_new, struct sd_error *err);
/* A log error rc (err filled in) of an index without a MANIFEST says so when it is damage
 * (SD_ECORRUPT). Returns rc. */
int idx_log_error(const char *dir, bool is_new, int rc, struct sd_error *err);
/* Verifies the files of MANIFEST entry e in dir: the segment's checksum and
 * structure, its document count and footer XXH3 against e, and its tombstone
 * file against e. With seg_out non-NULL the open segment, its bits (owned,
 * NULL when e has no tombstone file) and their count are returned. */
int idx_entry_verify(const char *dir, const struct wal_seg_entry *e, struct seg **seg_out,
                     uint64_t **bits_out, uint32_t *ndeleted_out, struct sd_error *err);
/* Whether segment s (number seg_no of dir) may have been written under settings of version
 * settings_version (0: dir has no SETTINGS): SD_ECORRUPT naming both when s records a later
 * version, i.e. SETTINGS is missing or older than the index. */
int idx_settings_cover(const char *dir, uint64_t settings_version, const struct seg *s,
                       uint32_t seg_no, struct sd_error *err);
/* Decodes a log record as idx_op_decode() does, then validates it as
 * idx_op_validate() does a request: for replay and --check, where the payload
 * passed its checksum but may still hold what no request could. */
int idx_op_decode_checked(uint8_t type, const uint8_t *payload, size_t len, struct idx_op *op,
                          struct seg_field *fields, struct sd_error *err);

/* backup.c: checks cfg.snapshot_dir at open (a directory, outside the data directory) and
 * keeps its resolved path in db->snapshot_dir. */
int idx_backup_set_dir(struct idx_db *db, const char *dir, struct sd_error *err);

/* merge.c */
int idx_merger_start(struct idx_index *ix, struct sd_error *err);
void idx_merger_stop(struct idx_index *ix);
void idx_merger_wake(struct idx_index *ix, enum idx_merger_role role);
/* Whether the in-memory segments have piled up: IDX_MEM_BACKLOG x merge_factor of them or more,
 * with a memory merge due that the memory merger will run (state_lock held). The writer then
 * waits for it (writer.c). */
#define IDX_MEM_BACKLOG 4
bool idx_memory_backlog(struct idx_index *ix);
/* The in-memory segments in the live list (state_lock held). */
size_t idx_memory_segment_count(const struct idx_index *ix);

/* search.c: the readings of text[0, len) for req (its other options): as typed, then, when
 * that finds little, the other keyboard layout and typos. *q and *res are the caller's
 * (qry_free, qry_result_free), also on error; out gets the layout_query, did_you_mean and
 * is_*_used of the reading that was kept. The dictionary lookups of the typed reading may be
 * kept in ctx's memo (index/query/memo.c) for later readings of the same segments: the caller
 * ends it (qry_memo_end) before its snapshot is released. */
int idx_search_text(struct qry_ctx *ctx, const struct idx_search_req *req, const char *text,
                    size_t len, const struct sch_schema *schema, const struct qry_lexicon *lex,
                    const struct qry_segment *segs, size_t nsegs, struct qry **q,
                    struct qry_result *res, struct idx_search_res *out, struct sd_error *err);

/* most_words.c: when *res (of *q, req's text read every way) found nothing, the same text read
 * again with its one-word operands optional, documents with more of them (by idf) first
 * (qry_with_any_words); when that finds something it replaces *q and *res,
 * out->is_most_words is set and out->dropped names the words the best hit lacks. SD_OK (also
 * when no reading finds anything) or SD_ENOMEM. */
int idx_most_words(struct qry_ctx *ctx, const struct idx_search_req *req,
                    const struct sch_schema *schema, const struct qry_lexicon *lex,
                    const struct qry_segment *segs, size_t nsegs, struct qry **q,
                    struct qry_result *res, struct idx_search_res *out, struct sd_error *err);
/* most_words.c: when *res (of *q, req's text, as typed) found some documents with every word,
 * fewer than a page (the limit), the page goes on with the most-words reading's others, as
 * Meilisearch's does: *q, *res and out->is_most_words are then those. SD_OK (also when it
 * adds nothing) or SD_ENOMEM. */
int idx_most_words_after(struct qry_ctx *ctx, const struct idx_search_req *req,
                         const struct sch_schema *schema, const struct qry_lexicon *lex,
                         const struct qry_segment *segs, size_t nsegs, struct qry **q,
                         struct qry_result *res, struct idx_search_res *out, struct sd_error *err);
/* The words of q's group (qry_any_word) whose bit is not in has, each owned, into *words (an
 * owned array, NULL when q has no group) and *n. SD_OK or SD_ENOMEM. */
int idx_missing_words(const struct qry *q, uint32_t has, char ***words, size_t *n);
#endif
