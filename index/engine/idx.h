/*
 * idx.h: the storage and search engine behind searchd (prefix idx_). This is
 * the only header of index/ that daemon/ includes.
 *
 * A struct idx_db owns a data directory. Each named index is a subdirectory
 * (docs/DATA.md describes the files) with a write-ahead log, immutable
 * segments and a MANIFEST. Writes are logged and fsynced (group commit),
 * published in an in-memory segment, and only then acknowledged, so every
 * later search or get sees them; they are flushed to disk segments and
 * merged in the background.
 * Searches run on a refcounted snapshot of segments, so flushes and merges
 * never disturb a query in flight.
 *
 * Threads: every function here may be called from any thread. Each index has
 * one writer thread (WAL, memtable, flush) and two merge threads; searches run
 * on the caller's thread with a thread-local query context.
 */
#ifndef SEARCHD_IDX_H
#define SEARCHD_IDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "sd_base.h"
#include "seg.h"

#define IDX_MAX_NAME   64 /* index names: [a-z0-9_-], 1..64 bytes, not starting with '-' */
#define IDX_MAX_BATCH  10000 /* operations in one write */

enum idx_sync {
    IDX_SYNC_ALWAYS = 0, /* every write is fsynced before its ack; concurrent
                            writers share one fsync (group commit). Default. */
    IDX_SYNC_BATCH = 1,  /* fsync at most every sync_ms; acks wait for it */
};

/* How much an engine event matters (struct idx_config.log). */
enum idx_log_level {
    IDX_LOG_ERROR = 0, /* something failed: a merge, a refresh, a log rotation */
    IDX_LOG_WARN = 1,  /* served with a loss: a segment not served, a torn log tail */
    IDX_LOG_INFO = 2,  /* routine: flush, merge, recovery, re-index */
};

struct idx_config {
    const char *data_dir; /* borrowed for idx_open() only (copied) */
    enum idx_sync sync;
    uint32_t sync_ms;      /* IDX_SYNC_BATCH interval; default 5 */
    uint32_t refresh_ms;   /* retry interval when publishing a write failed; 100 */
    size_t flush_bytes;    /* in-memory segment flushed to disk above this; default 64 MiB */
    uint32_t flush_ms;     /* ... or when its oldest write is this old; default 30000 */
    uint32_t merge_factor; /* tiered merge: this many segments of one size tier
                              are merged into one; default 8 */
    float k1, b;           /* BM25 defaults for searches; 1.2 and 0.75 */
    /* The engine's events (flush, merge, recovery, warm-up, degraded, re-index, failures), one
     * line of space-separated key=value pairs each, without time or level:
     *   event=flush index=books seg=17 docs=4096 ms=38
     * line is valid for the call only. Called on the engine's threads, at times with an
     * engine lock held, so it must not call into the engine and should only write the line
     * (the daemon's log.h does).
     * NULL (the default): events are not reported. */
    void (*log)(void *arg, enum idx_log_level level, const char *line);
    void *log_arg; /* passed to log, borrowed: must outlive the idx_db */
    /* The one directory snapshots are written under (idx_snapshot); NULL: snapshots are
     * off. Borrowed for idx_open() only (copied). It must exist and lie outside data_dir. */
    const char *snapshot_dir;
    /* Bound on the engine's own memory (in-memory segments, queued writes, memory merges,
     * analyses, stem caches; memcap.c): near it flushes come early, then writes wait, then
     * they are refused with SD_EBUSY. 0: no bound. At least IDX_MIN_MEMORY_LIMIT. */
    uint64_t memory_limit;
};

#define IDX_MIN_MEMORY_LIMIT (8u << 20)

void idx_config_default(struct idx_config *cfg);

struct idx_db;

/* Opens (creating if needed) the data directory and every index in it:
 * verifies each MANIFEST and every file it names, replays the logs, and only
 * then removes obsolete files and moves unaccounted ones to lost+found/
 * (docs/DATA.md). A damaged segment does not stop the others: its index is
 * served without it, marked degraded (idx_stats) and refuses writes. An index
 * whose open is refused by damage (SD_ECORRUPT: its MANIFEST, SETTINGS or log,
 * a link or special file in a file's place; `searchd --check` fails it with the
 * same message) does not stop the others either: it is logged at error
 * (event=index_unavailable), nothing in its directory is changed, and every
 * call naming it (search, get, write, stats, settings, drop, creation of the
 * name, snapshot) is SD_EUNAVAIL with that message until a restart opens it;
 * idx_list and idx_indexes list it. Other failures (memory, I/O, the
 * directory's lock) fail the open. *out owned by caller. */
int idx_open(const struct idx_config *cfg, struct idx_db **out, struct sd_error *err);

/* Stops the writer and merge threads after the writes already queued are
 * durable and acknowledged, and frees everything. No search may be running. */
void idx_close(struct idx_db *db);

/* True when name is a valid index name. */
bool idx_name_valid(const char *name, size_t len);

/* ---- writes ---- */

enum idx_op_type {
    IDX_OP_UPSERT = 0, /* add, or replace the document with the same id */
    IDX_OP_DELETE = 1, /* only doc.id is used */
};

struct idx_op {
    enum idx_op_type type;
    struct seg_doc doc;
};

struct idx_write_result {
    uint32_t added;     /* upserts of new ids */
    uint32_t replaced;  /* upserts of existing ids */
    uint32_t deleted;   /* deletes of existing ids */
    uint32_t not_found; /* deletes of missing ids (logged, harmless) */
    uint64_t seq;       /* log sequence number of the last operation */
};

/* Called exactly once per accepted idx_write(), from an engine thread, when
 * the write is durable (rc SD_OK) or has failed (rc < 0, err says why; nothing
 * of it was applied). res and err are valid during the call only. */
typedef void (*idx_done_fn)(void *arg, int rc, const struct idx_write_result *res,
                            const struct sd_error *err);

/* Queues ops[0, nops) (borrowed for the call: they are validated and encoded
 * into log records before it returns) for the index named `index`, creating
 * the index on first write (without settings, atomically as idx_set_settings creates
 * one: a write racing a creation with settings waits for it and is checked against
 * them). Returns SD_OK when accepted (done will be called),
 * or an error without calling done: SD_EINVAL (bad index name, id, field),
 * SD_ELIMIT (batch too large), SD_ENOSPC (the disk is full: writes are refused
 * until a flush succeeds again), SD_EBUSY (closing, or the memory limit is reached: retry
 * later; idx_config.memory_limit), SD_EDEGRADED (a file of
 * the index is not served: every write to it is refused, so that restoring
 * the file can never resurrect or duplicate a document; docs/DATA.md). */
int idx_write(struct idx_db *db, const char *index, const struct idx_op *ops, size_t nops,
              idx_done_fn done, void *arg, struct sd_error *err);

/* ---- reads ---- */

/* What a search request may ask beyond the ranking parameters; all-zero is the
 * default of the wire protocol (full syntax). */
struct idx_search_opts {
    enum qry_syntax syntax;
    bool prefix_last; /* simple syntax: the last word is being typed (QRY_SIMPLE_PREFIX_LAST) */
    bool no_layout; /* never search the other keyboard layout's reading */
    bool no_typos;  /* never search the typo-tolerant reading */
    bool drop_words;    /* simple syntax: when the words find nothing together, rank documents
                           with most of them (docs/QUERY.md "Most words"); the wire's default
                           with syntax simple */
    bool is_any_words;  /* the engine's own, for that reading (most_words.c): callers leave it false */
    size_t snippet_len; /* bytes of a snippet (fragment); 0: idx_search_req.snippet_len */
    bool highlight;     /* fill idx_hit.hl: title and fragments with the matches marked */
    struct qry_hl_opts hl; /* marks (borrowed), fragments, offsets; fragment_len unused */
};

#define IDX_MAX_FACETS       16   /* facet specs in one request */
#define IDX_MAX_FACET_SIZE   1000 /* buckets one facet may return */
#define IDX_FACET_SIZE       10   /* buckets of a keyword facet without size= */
#define IDX_MAX_SORT_KEYS    4    /* keys in one sort */
#define IDX_MAX_CHOSEN       64   /* names in `fields` */

/* A search request. Filters, sort, facets and chosen fields (docs/QUERY.md "Filters, sort
 * and facets"; every string borrowed for the call):
 *  - filter: the filter syntax (`year:>=2010 lang:ru -collection:drafts`), ANDed with q and
 *    never scoring. The same clauses may also stand in q itself. A request whose q is empty
 *    (or only spaces) but that has a filter, a sort or facets browses: every live document that
 *    passes the filter, in sort order (index order without one), with an exact total.
 *  - sort: "key[:asc|:desc],..." (at most IDX_MAX_SORT_KEYS keys; asc is the default) over
 *    declared int, float, date, bool and keyword attributes, `title`, and `_score`
 *    (desc by default). Relevance breaks ties, then the document id, so pages are stable.
 *  - facets: specs "field[:option=value[;option=value]]" (docs/QUERY.md): size=N, values=a|b,
 *    interval=N (int, float) or interval=day|month|year (date), ranges=lo..hi|lo..|..hi.
 *    Counted over every match, not the top hits; when the filter restricts the same field
 *    at its top level, that field's counts are as if it were not restricted.
 *  - fields: names of stored fields copied into each hit's fields_json ("*": all).
 * An undeclared field or one whose type cannot do what is asked is SD_EFIELD, naming it; a
 * malformed filter, range, date or spec is SD_EPARSE with "at OFFSET: what". */
struct idx_search_req {
    const char *q; /* borrowed */
    size_t q_len;
    struct qry_params params; /* start from idx_search_params_default() */
    size_t snippet_len;       /* bytes of snippet per hit; 0 = none */
    struct idx_search_opts opts;
    const char *filter; /* NULL or filter_len 0: none */
    size_t filter_len;
    const char *sort; /* NULL or sort_len 0: by relevance */
    size_t sort_len;
    const char *const *facets; /* nfacets NUL-terminated specs */
    size_t nfacets;
    const char *const *fields; /* nfields NUL-terminated names */
    size_t nfields;
};

void idx_search_params_default(const struct idx_db *db, struct qry_params *p);

struct idx_hit {
    char *id; /* owned by the result, NUL-terminated */
    float score;
    char *title;   /* the "title" field cut to SEG_TITLE_MAX bytes (seg_doc_title), or "" */
    char *snippet; /* "" when snippet_len is 0 */
    /* With opts.highlight (else NULL/0), owned: hl holds hl_len bytes, the marked title then
     * hl_nsnippets marked fragments of the body (none without a snippet), each
     * NUL-terminated; with opts.hl.wants_offsets they are plain and hl_spans lists the
     * matches (part 0 = the title, i+1 = fragment i). */
    char *hl;
    size_t hl_len;
    size_t hl_nsnippets;
    struct qry_hl_span *hl_spans;
    size_t hl_nspans;
    bool is_hl_offsets; /* hl is plain text, hl_spans the matches */
    /* With req.nfields (else NULL), owned, NUL-terminated: a JSON object of the chosen stored
     * fields this document has, in the order requested, values as stored. */
    char *fields_json;
    /* In an answer with idx_search_res.is_most_words: the query's words this document lacks
     * (each owned, folded as typed); else NULL. */
    char **missing;
    size_t nmissing;
};

/* One bucket of a facet. value is owned, NUL-terminated: a keyword value, "true"/"false",
 * an interval's start ("1990", "2.5", "2015-03-01", "2015-03", "2015"), or a range as
 * written in the spec ("2000..2010", "..2000"). */
struct idx_facet_bucket {
    char *value;
    uint64_t count;
};

/* The counts of one facet spec, exact over the whole match set. Keyword facets are ordered
 * by count (desc), then value; interval and range facets by value; values= in the order
 * given (zero counts included). */
struct idx_facet {
    char *field; /* owned */
    struct idx_facet_bucket *buckets; /* owned, nbuckets */
    size_t nbuckets;
    uint64_t others;  /* values= and ranges=: matching documents with a value in no bucket;
                         top values and intervals: the counts of the buckets not returned
                         (documents, for a single-valued field; docs/QUERY.md) */
    uint64_t missing; /* matching documents without a value */
};

struct idx_search_res {
    uint64_t total;
    bool total_is_exact; /* as struct qry_result says */
    bool is_truncated;   /* the simple syntax dropped words past its limits */
    /* The query as typed with the other keyboard layout (owned, NUL-terminated) when the
     * typed words found at most a few documents and that reading found clearly more: the hits
     * and total are then its, and is_layout_used is true. NULL otherwise. */
    char *layout_query;
    bool is_layout_used;
    /* When the words (as typed, or in the other layout) found at most a few documents and the
     * typo-tolerant reading found clearly more, is_typo_used is true and the hits are its;
     * did_you_mean (owned, or NULL) is then the text with each word no document has replaced
     * by its closest form that some document has. */
    bool is_typo_used;
    char *did_you_mean;
    /* When every word together found nothing and opts.drop_words was set, and documents with
     * some of the words were found: is_most_words, the hits and total are those (each hit
     * names the words it lacks), and dropped the words that the best hit lacks (each owned,
     * folded as typed). NULL otherwise. */
    bool is_most_words;
    uint64_t every_word; /* is_most_words: documents with every word, first (total: with any) */
    char **dropped;
    size_t ndropped;
    struct idx_hit *hits;
    size_t nhits;
    struct idx_facet *facets; /* owned; one per req.facets, in that order */
    size_t nfacets;
};

/* Searches the index's current snapshot. SD_ENOTFOUND ("unknown index 'x'")
 * when the index does not exist; SD_EPARSE/SD_ELIMIT/SD_EINVAL/SD_EFIELD from the
 * query, filter, sort, facets or fields. out is owned by the caller: idx_search_res_free(), also on error. */
int idx_search(struct idx_db *db, const char *index, const struct idx_search_req *req,
               struct idx_search_res *out, struct sd_error *err);
void idx_search_res_free(struct idx_search_res *r);

/* Loads the stored document with this id (a snapshot read). out is
 * initialized by the call; release with seg_stored_free(), also on error.
 * It sees every write acknowledged before the call.
 * SD_ENOTFOUND for an unknown index or id. */
int idx_get(struct idx_db *db, const char *index, const char *id, size_t id_len,
            struct seg_stored *out, struct sd_error *err);

/* A histogram of durations as idx_stats reports it (flushes, merges, log fsyncs). Counts
 * are read one by one while work goes on, so the sum may be a record ahead of or behind the
 * counts, as in any Prometheus client. */
#define IDX_HIST_MAX_BOUNDS 16
struct idx_histogram {
    const uint64_t *bounds_ns; /* upper bounds of the buckets, ascending; static (never freed),
                                  NULL when nbounds is 0 */
    uint32_t nbounds;          /* <= IDX_HIST_MAX_BOUNDS */
    /* per bucket, not cumulative: counts[i] durations in (bounds_ns[i-1], bounds_ns[i]],
     * counts[nbounds] those above the last bound; their sum is the number recorded */
    uint64_t counts[IDX_HIST_MAX_BOUNDS + 1];
    uint64_t sum_ns;
};

struct idx_stats {
    uint64_t docs;         /* live documents */
    uint64_t deleted_docs; /* tombstoned, not yet merged away */
    uint32_t segments;     /* disk segments */
    uint32_t mem_docs;     /* documents only in the in-memory segments */
    uint32_t mem_segments; /* in-memory segments (each search looks words up in each) */
    uint64_t disk_bytes;   /* segment files */
    uint64_t wal_bytes;    /* log files */
    uint32_t merges_running;
    uint64_t merges_done;
    uint64_t flushes_done;
    uint64_t last_seq;       /* last durable log sequence number */
    bool degraded;           /* a segment or tombstone file failed its checks and is not
                                served; writes to the index are refused (SD_EDEGRADED) */
    char degraded_reason[256];
    uint32_t torn_tails;     /* torn log tails dropped when the index opened (0 or 1) */
    uint64_t torn_bytes;     /* their size */
    uint64_t torn_at;        /* when, unix seconds; 0: none */
    char torn_file[40];      /* the log file it was in, "wal-000003.log"; "" when none */
    uint64_t torn_offset;    /* where in it the dropped part started */
    bool writes_refused;     /* a write failed (disk full); cleared when one succeeds */
    char write_error[256];
    uint64_t settings_version; /* 0: settings never set */
    bool reindex_pending;      /* documents indexed under older settings are still served */
    /* Timings since the index opened, each taken where the work is done: */
    struct idx_histogram flush_time; /* successful flushes, pick to durable MANIFEST */
    struct idx_histogram merge_time; /* successful merges (memory, disk, re-index): as
                                        merges_done counts them */
    struct idx_histogram fsync_time; /* each group commit's fdatasyncs: the log's, then
                                        wal.synced's (wal_sync) */
    uint64_t wal_records;            /* log records made durable by group commits since open */
    uint64_t wal_synced_bytes;       /* ... and the log bytes they took */
    uint32_t queued_writes;          /* writes (idx_write calls) waiting for the writer's next
                                        group commit */
    uint64_t queued_bytes;           /* their encoded records */
    uint64_t mem_bytes;              /* this index's in-memory segments (their images) */
    /* The whole engine's, the same in every index's stats (idx_memory): */
    uint64_t engine_memory_bytes;      /* what --memory-limit counts (memcap.c) */
    uint64_t engine_memory_peak_bytes; /* the most engine_memory_bytes has been since open */
    uint64_t engine_memory_limit;      /* 0: no limit */
};

/* SD_ENOTFOUND for an unknown index, SD_EUNAVAIL (err: why) for an unavailable one. */
int idx_stats(struct idx_db *db, const char *index, struct idx_stats *out, struct sd_error *err);

/* Names of the existing indexes, unavailable ones included (idx_stats says
 * SD_EUNAVAIL for them), sorted; *names owned by the caller: free each string
 * and the array. */
int idx_list(struct idx_db *db, char ***names, size_t *count, struct sd_error *err);

/* ---- settings and index management (issue 11; docs/DATA.md "Settings") ---- */

enum idx_settings_mode {
    IDX_SETTINGS_UPSERT = 0,  /* create the index if needed, else replace its settings */
    IDX_SETTINGS_CREATE = 1,  /* the index must not exist yet: SD_EEXIST "... exists" */
    IDX_SETTINGS_REPLACE = 2, /* the index must exist: SD_ENOTFOUND */
};

/* Parses and validates settings JSON (schema.h; borrowed for the call) and stores it for the
 * index durably (DIR/SETTINGS replaced atomically) before returning. Settings whose canonical
 * form equals the current one change nothing; otherwise the version goes up by one. *version
 * (may be NULL) gets the version in force. From the return on, every write is checked against
 * the new settings; documents written before keep answering as they were indexed until the
 * background re-index (reindex.c) switches them all at once (idx_stats.reindex_pending).
 * Creating the index (CREATE, or UPSERT of a new name) is atomic: no request sees the index
 * before it is open with these settings, durable, in force; of two creations of one name
 * exactly one succeeds (version 1), the other is SD_EEXIST (CREATE) or a change (UPSERT);
 * a write racing the creation either created the index first (CREATE is then SD_EEXIST)
 * or is checked against these settings.
 * Errors: SD_EPARSE / SD_EINVAL / SD_ELIMIT naming the key or field, SD_EINVAL for a bad
 * index name, SD_EEXIST, SD_ENOTFOUND, SD_EBUSY (the name is being dropped), SD_EIO /
 * SD_ENOSPC. */
int idx_set_settings(struct idx_db *db, const char *index, const char *json, size_t len,
                     enum idx_settings_mode mode, uint64_t *version, struct sd_error *err);

/* idx_set_settings (UPSERT) of patch[0, len) (borrowed) merged into the settings in force
 * (sch_merge_patch, JSON merge patch: what it names changes, the rest is kept; null removes a
 * key), or into none when it creates the index. The merge reads the settings under the lock
 * that orders their changes, so concurrent updates never lose one another. The result must be
 * valid settings (errors as idx_set_settings', naming the key or field). */
int idx_update_settings(struct idx_db *db, const char *index, const char *patch, size_t len,
                        uint64_t *version, struct sd_error *err);

/* The index's settings in canonical JSON (*json owned by the caller, free(); NUL-terminated,
 * "{}" when never set) and their version (0 when never set). SD_ENOTFOUND. */
int idx_get_settings(struct idx_db *db, const char *index, char **json, size_t *len,
                     uint64_t *version, struct sd_error *err);

struct idx_index_info {
    char name[IDX_MAX_NAME + 1];
    uint64_t docs;             /* live documents */
    uint64_t disk_bytes;       /* segment files */
    uint64_t settings_version; /* 0: never set */
    bool is_degraded;          /* idx_stats.degraded */
    bool is_unavailable;       /* its open at start was refused (SD_EUNAVAIL): the numbers
                                  above are 0, reason is the open's message */
    char reason[256];
};

/* Every index, unavailable ones included, sorted by name; *out owned by the caller (free()),
 * *count entries. */
int idx_indexes(struct idx_db *db, struct idx_index_info **out, size_t *count,
                struct sd_error *err);

/* Drops the index: waits for the calls using it to end, stops its threads (queued writes
 * are acknowledged first), renames its directory to DATA/.dropped-NAME (atomic: a crash
 * leaves the index whole or gone, and startup removes what is left) and removes it. Only
 * that directory is touched: the name must be a valid index name (SD_EINVAL otherwise, so
 * no name reaches another path). SD_ENOTFOUND when there is no such index. A write to the
 * name afterwards creates a new, empty index. */
int idx_drop(struct idx_db *db, const char *index, struct sd_error *err);

/* The engine's memory now and its limit (0: none), bytes; what is counted: memcap.c. */
void idx_memory(struct idx_db *db, uint64_t *used, uint64_t *limit);
/* The most the engine's memory has been since idx_open, bytes: every charge is seen, so a
 * transient between two reads of idx_memory is not missed. */
uint64_t idx_memory_peak(struct idx_db *db);

/* ---- online snapshot (backup.c; docs/DATA.md "Snapshots") ---- */

struct idx_snapshot_info {
    char path[4096];     /* where the snapshot is: SNAPSHOT_DIR/NAME, a data directory
                            holding the one index */
    uint64_t seq;        /* its MANIFEST checkpoint: every write up to it is in it */
    uint32_t segments;   /* segment files */
    uint32_t linked;     /* files hard-linked ... */
    uint32_t copied;     /* ... and copied (another filesystem) */
    uint64_t bytes;      /* bytes of the files */
    uint64_t ms;         /* how long it took */
};

/* Makes a consistent copy of the index named `index` while searches and writes go on, as
 * SNAPSHOT_DIR/NAME (config snapshot_dir; name validated like an index name, so no request
 * names another path): a data directory that `searchd --check` accepts and that searchd
 * serves with every write acknowledged before the call began. How: the index is flushed up
 * to the last durable write, then under manifest_lock the MANIFEST of that moment is read,
 * its segments pinned (a merge cannot unlink them) and its tombstone files linked; segments
 * and SETTINGS follow outside the lock. Files are hard-linked when SNAPSHOT_DIR is on the
 * data directory's filesystem, else copied. It is written as SNAPSHOT_DIR/.NAME.partial,
 * fsynced, then renamed: a crash leaves no NAME, only a .partial that the next snapshot
 * removes. Blocks for the flush and the copy; call it off the event loop.
 * Errors: SD_EINVAL (snapshots off, a bad name, NAME exists), SD_ENOTFOUND (unknown index),
 * SD_EDEGRADED, SD_EBUSY (a snapshot of that name is being written), SD_EIO / SD_ENOSPC
 * naming the file (nothing named NAME is left behind). info may be NULL. */
int idx_snapshot(struct idx_db *db, const char *index, const char *name,
                 struct idx_snapshot_info *info, struct sd_error *err);

/* Offline check of a data directory (nothing is changed): every MANIFEST,
 * every file it names (checksum and identity), the log chain and every log
 * record, with the daemon's own checks and messages. Prints one line per
 * problem and a summary to out. Returns SD_OK when all is sound, SD_ECORRUPT
 * otherwise. */
int idx_check_dir(const char *data_dir, void *out_file, struct sd_error *err);

/* Offline repair (`searchd --repair`): rebuilds the MANIFEST of every index
 * that has none or a damaged one from the segment, tombstone and log files
 * it finds (repair.c says how), moving what it cannot place into
 * INDEX/lost+found/; deletes nothing; leaves sound indexes alone. Prints what
 * it did to out. SD_EBUSY while a searchd holds the directory. */
int idx_repair_dir(const char *data_dir, void *out_file, struct sd_error *err);

#endif
