/*
 * seg.h: immutable index segments (prefix seg_).
 *
 * A segment holds a batch of documents: their stored fields, a sorted term
 * dictionary, postings in blocks of SEG_BLOCK docs with skip data, positions
 * in a separate stream, and one length byte per (document, field) for BM25.
 * It is built once in memory by a struct seg_builder, serialized to one byte
 * image (the file format is documented at the top of seg_write.c and in
 * docs/FORMAT.md), and then only read: from a mmap'd file (disk segments) or
 * from a malloc'd image (the in-memory segment of recent writes). Readers never
 * change it; deletes are the engine's tombstone bitmaps, kept outside.
 *
 * Terms. Every indexed word is stored twice per field, like Xapian's STEM_SOME
 * and Manticore's index_exact_words: the Snowball stem (kind SEG_STEM, doc ids
 * and frequencies only) matches every inflection; the case-folded surface form
 * (kind SEG_EXACT, with positions) serves phrases, prefixes and the ranking
 * bonus for the form the user typed. Compound joined forms (stem.h) are
 * indexed under both kinds without taking a position of their own.
 *
 * Titles. Besides the compressed stored fields, a segment keeps each doc's
 * title (its "title" field, cut to SEG_TITLE_MAX bytes) uncompressed, so a
 * result page needs no decompression unless it asks for snippets.
 *
 * Threads: a struct seg is immutable and may be read by any number of threads
 * at once. A struct seg_builder, a struct seg_analyzer and a struct seg_postings
 * belong to one thread; a struct seg_analysis may be handed from the thread that
 * analysed it to the builder's.
 */
#ifndef SEARCHD_SEG_H
#define SEARCHD_SEG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_base.h"
#include "stem.h"

#define SEG_BLOCK          128        /* documents per postings block */
#define SEG_MAX_FIELDS     64         /* fields in one document */
#define SEG_MAX_SEG_FIELDS 255        /* distinct field names in one segment */
#define SEG_MAX_NAME       64         /* bytes of a field name */
#define SEG_MAX_ID         512        /* bytes of a document id */
#define SEG_TITLE_FIELD    "title"    /* the text field a doc's title comes from */
#define SEG_TITLE_MAX      300        /* bytes of title kept per doc (see seg_doc_title) */
#define SEG_DOC_END        UINT32_MAX /* an iterator past its last document */

enum seg_kind {
    SEG_STEM = 's',  /* Snowball stem: docs + freqs */
    SEG_EXACT = 'e', /* folded surface form: docs + freqs + positions */
};

enum seg_value_type {
    SEG_TEXT = 0, /* a string: indexed and stored */
    SEG_RAW = 1,  /* any other JSON value, kept as its JSON text: stored only */
    /* A JSON array of strings, kept as its JSON text, each string indexed as text (positions
     * continue across strings with a gap of one, so no phrase joins two of them). The
     * engine makes it for a declared text field given an array; a load reads it back as
     * SEG_RAW, the JSON value it was. */
    SEG_TEXT_ARRAY = 2,
};

/* One field of a document. All pointers are borrowed. Names must be 1 to
 * SEG_MAX_NAME bytes; the builder rejects duplicates within one document. */
struct seg_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    uint8_t type; /* enum seg_value_type */
};

/* A document as the builder takes it. Ids are 1 to SEG_MAX_ID bytes and
 * unique within a segment (the engine guarantees it). */
struct seg_doc {
    const char *id;
    size_t id_len;
    const struct seg_field *fields;
    size_t nfields;
};

/* ---- analysis: the half of adding a document that needs no builder ---- */

/* Adding a document is two steps. seg_analyze (any thread) validates it, tokenizes its text
 * fields, gathers each field's distinct words with their frequency, positions and stem
 * (stemmed once per document), counts each field's tokens and encodes its stored record.
 * seg_builder_add_analyzed (the builder's thread) then inverts that: one term lookup per
 * distinct word, not per token. Threads that analyse in parallel feed one builder in order;
 * the segment is the same, byte for byte, however the analyses were made. */

/* One thread's analysis state: its stem context (borrowed, used only by the thread that
 * calls seg_analyze, until free) and scratch tables. */
struct seg_analyzer;

int seg_analyzer_new(struct stem_ctx *stem, struct seg_analyzer **out, struct sd_error *err);
void seg_analyzer_free(struct seg_analyzer *a); /* NULL is a no-op */

/* One analysed document. It copies everything it needs from the document (id, field names,
 * values), so the document may go once seg_analyze returns. Reusable: each seg_analyze
 * overwrites it and keeps its memory. Any thread may hold it; only one at a time uses it. */
struct seg_analysis;

int seg_analysis_new(struct seg_analysis **out, struct sd_error *err);
void seg_analysis_free(struct seg_analysis *an);              /* NULL is a no-op */
size_t seg_analysis_mem_bytes(const struct seg_analysis *an); /* held, for bounding queues */

/* Analyses doc (borrowed for the call) into out. Returns SD_OK, SD_ENOMEM, SD_EINVAL (bad
 * id or field name, duplicate field, bad type) or SD_ELIMIT (too many fields, stored record
 * too large); on error out holds nothing usable (analyse again before adding it). */
int seg_analyze(struct seg_analyzer *a, const struct seg_doc *doc, struct seg_analysis *out,
                struct sd_error *err);

/* ---- building ---- */

struct seg_builder;

/* Returns a new empty builder in *out (owned; free with seg_builder_free()).
 * stem is borrowed and used from the calling thread only, until free (only
 * seg_builder_add uses it). */
int seg_builder_new(struct stem_ctx *stem, struct seg_builder **out, struct sd_error *err);
/* seg_builder_new for a builder its owner finishes once seg_builder_mem_bytes reaches about
 * max_bytes (the engine under a memory limit): its first allocations (the term table, the
 * arena's blocks) are sized from max_bytes rather than for millions of terms, so that they
 * are not already most of a small bound. SIZE_MAX: as seg_builder_new. */
int seg_builder_new_bounded(struct stem_ctx *stem, size_t max_bytes, struct seg_builder **out,
                            struct sd_error *err);
void seg_builder_free(struct seg_builder *b);

/* Analyses and adds one document (borrowed for the call; the builder copies
 * what it keeps): seg_analyze with the builder's own analyzer, then
 * seg_builder_add_analyzed. Local doc ids are given in order from 0. Returns
 * SD_OK, SD_ENOMEM, SD_EINVAL (bad id or field name, duplicate field) or
 * SD_ELIMIT (too many fields); on error the builder is unchanged. */
int seg_builder_add(struct seg_builder *b, const struct seg_doc *doc, struct sd_error *err);

/* Adds one analysed document (borrowed for the call, not changed; the builder copies what
 * it keeps) as the next local doc. Returns SD_OK, SD_ENOMEM, SD_EINVAL (after finish) or
 * SD_ELIMIT (segment full, more than SEG_MAX_SEG_FIELDS field names, stored data too large);
 * on error the builder is unchanged. */
int seg_builder_add_analyzed(struct seg_builder *b, const struct seg_analysis *an,
                             struct sd_error *err);

uint32_t seg_builder_doc_count(const struct seg_builder *b);
size_t seg_builder_mem_bytes(const struct seg_builder *b); /* memory held, for flush policy */
/* About the most seg_builder_mem_bytes grows by when an (borrowed) is added to a builder: two
 * term records per distinct word (its form and its stem) with their first chunks and table
 * slots, its positions, its stored record pending and compressed, its id and title. Not
 * counted: a builder's first allocations (seg_builder_new_bounded), the doubling of its shared
 * buffers, and the next chunk of a word the builder has seen, all bounded by the builder's
 * own size. For the engine's memory limit: a document is inverted whole. */
size_t seg_analysis_build_bytes(const struct seg_analysis *an);

/* Serializes everything added into out (appended; the caller owns out).
 * The builder may then only be freed. */
int seg_builder_finish(struct seg_builder *b, struct sd_buf *out, struct sd_error *err);

/* ---- attribute columns (doc values; format in seg_attr_write.c) ---- */

/* A segment may carry typed columns: per document zero or more values of one type, read by
 * doc id without touching stored documents (filters, sort and facets read them). The engine
 * declares them (index/schema: int, date and bool are SEG_ATTR_INT; keyword is
 * SEG_ATTR_KEYWORD) and gives each document's values; merges carry them. */
enum seg_attr_type {
    SEG_ATTR_INT = 1,     /* int64 */
    SEG_ATTR_FLOAT = 2,   /* double */
    SEG_ATTR_KEYWORD = 3, /* byte strings, kept as ordinals into a sorted per-segment dictionary */
};

#define SEG_MAX_ATTRS 64 /* columns in one segment */

struct seg_attr_spec {
    const char *name; /* borrowed; 1 to SEG_MAX_NAME bytes */
    size_t name_len;
    uint8_t type; /* enum seg_attr_type */
};

/* One document's values of one column; every pointer borrowed for the call. count 0: none.
 * ints for SEG_ATTR_INT, floats for SEG_ATTR_FLOAT, strs/lens for SEG_ATTR_KEYWORD. */
struct seg_attr_vals {
    uint32_t count;
    const int64_t *ints;
    const double *floats;
    const char *const *strs;
    const size_t *lens;
};

/* Declares b's columns (copied; kept sorted by name, so the order given does not matter) and
 * the version of the settings they come from (the engine's; 0: none), which the segment
 * records (seg_settings_version). Only before the first document. SD_EINVAL (a bad or
 * repeated name, unknown type, documents already added), SD_ELIMIT (more than
 * SEG_MAX_ATTRS), SD_ENOMEM. */
int seg_builder_set_attrs(struct seg_builder *b, uint64_t settings_version,
                          const struct seg_attr_spec *specs, size_t n, struct sd_error *err);

/* seg_builder_add_analyzed with the document's column values: vals[i] (borrowed for the call)
 * holds its values of the i-th column given to seg_builder_set_attrs, in the order given
 * there; vals NULL: no values (seg_builder_add_analyzed passes NULL). */
int seg_builder_add_analyzed_attrs(struct seg_builder *b, const struct seg_analysis *an,
                                   const struct seg_attr_vals *vals, struct sd_error *err);

/* ---- compressing stored blocks off the builder's thread ---- */

/* Stored records are gathered into blocks that are LZ4-compressed as they fill (seg_stored.c).
 * A builder given a scheduler hands each full block over as a job instead of compressing it
 * itself, so another thread can compress while the builder inverts; finish (and free) wait
 * for the jobs in order. The image is the same bytes. */
struct seg_zjob;

/* Compresses the job's block. Thread-safe (it touches only the job) and cannot fail: the
 * builder reserved the room when it made the job. Once seg_zjob_is_done says so, the job
 * belongs to the builder again and may be freed at any moment. */
void seg_zjob_run(struct seg_zjob *job);
bool seg_zjob_is_done(const struct seg_zjob *job);

struct seg_zjob_sched {
    /* Takes job (borrowed until wait returns for it) to run on some thread, or runs it. */
    void (*submit)(void *arg, struct seg_zjob *job);
    /* Returns once the job is done, running it here if nobody has started it. The builder
     * waits for its jobs in the order it submitted them. */
    void (*wait)(void *arg, struct seg_zjob *job);
    void *arg;
};

/* Full blocks of b go to sched (borrowed until seg_builder_free) from now on. */
void seg_builder_set_zjob_sched(struct seg_builder *b, const struct seg_zjob_sched *sched);

/* ---- merging ---- */

struct seg;

/* Writes into out (appended; the caller owns out) one segment image holding the live
 * documents of inputs[0, n), in input order: input 0's live docs ascending, then input 1's,
 * and so on. deleted (may be NULL) has n entries; deleted[i] (may be NULL: nothing deleted)
 * is a bitmap of seg_doc_count(inputs[i]) bits, bit d of word d / 64 set for a deleted doc.
 * Inputs and bitmaps are borrowed for the call and not changed; the inputs may be read by
 * other threads meanwhile. The result is the image seg_builder_finish would give for those
 * documents added in that order (the same bytes, but for stored blocks copied as they are
 * from an input that lost nothing), made without tokenizing live documents: postings are
 * decoded, renumbered and re-encoded (see seg_merge.c). With no live docs the image is that
 * of an empty segment. On error out->len is restored. stop (borrowed; NULL: never) is
 * polled between records and terms: once it reads true the merge ends with SD_EBUSY.
 * Returns SD_OK, SD_EBUSY, SD_ENOMEM, SD_ECORRUPT (an input is damaged; err names it) or
 * SD_ELIMIT (more than UINT32_MAX - 1 docs, 4 GiB of ids, or SEG_MAX_SEG_FIELDS field
 * names). */
int seg_merge(struct seg *const *inputs, const uint64_t *const *deleted, size_t n,
              struct sd_buf *out, const atomic_bool *stop, struct sd_error *err);

/* seg_merge into a new file at path (created; SD_EEXIST-like failure if it exists): the same
 * bytes, written to the file as they are made, so a merge of any size holds a few MiB of its
 * output in memory, not the whole image. The file is fsynced; the caller fsyncs the
 * directory. *len is the file's size. On error the file is removed; file errors come back as
 * SD_EIO or SD_ENOSPC with the path in err. */
int seg_merge_file(struct seg *const *inputs, const uint64_t *const *deleted, size_t n,
                   const char *path, uint64_t *len, struct sd_error *err);

/* ---- reading ---- */

struct seg;

/* Maps the file at path (borrowed for the call), checks magic, version and
 * the XXH3 checksum of the whole file before trusting any offset, and checks
 * every section's bounds. On success *out is owned by the caller and freed
 * with seg_close(). Errors name the file: SD_ECORRUPT for a truncated or
 * damaged file, SD_EIO/SD_ENOTFOUND for system errors. */
int seg_open_file(const char *path, struct seg **out, struct sd_error *err);

/* The same over an image in memory. Takes ownership of image (malloc'd), also
 * on failure. name is used in error messages (copied). */
int seg_open_mem(uint8_t *image, size_t len, const char *name, struct seg **out,
                 struct sd_error *err);

/* The same for an image this process has just made and checksummed (seg_builder_finish,
 * seg_merge, seg_merge_file, or a copy of an open segment's image): every check but
 * recomputing the checksum, which the writer did over the same bytes. Never for a file
 * found on disk. */
int seg_open_file_written(const char *path, struct seg **out, struct sd_error *err);
int seg_open_mem_written(uint8_t *image, size_t len, const char *name, struct seg **out,
                         struct sd_error *err);

void seg_close(struct seg *s); /* NULL is a no-op */

/* Only checks a file (magic, version, checksum, section bounds) without
 * keeping it open: for `searchd --check`. */
int seg_verify_file(const char *path, struct sd_error *err);

uint32_t seg_doc_count(const struct seg *s);
/* The XXH3-64 the segment's footer stores (of bytes [0, end - 16)): what the
 * MANIFEST records to tell this file from another valid segment. */
uint64_t seg_checksum(const struct seg *s);
size_t seg_size_bytes(const struct seg *s); /* whole image */
/* The whole image as it would be on disk (for flushing an in-memory segment
 * to a file); valid until seg_close(). */
const uint8_t *seg_image(const struct seg *s, size_t *len);
size_t seg_postings_bytes(const struct seg *s); /* dictionary + postings + positions + norms */

/* Fields of this segment: ids 0..count-1. seg_field_find returns the id or -1. */
unsigned seg_field_count(const struct seg *s);
const char *seg_field_name(const struct seg *s, unsigned field); /* NUL-terminated */
int seg_field_find(const struct seg *s, const char *name, size_t len);

/* Sum of the field's token counts over all docs of the segment and the number
 * of docs that have the field: for BM25's average field length. */
void seg_field_stats(const struct seg *s, unsigned field, uint64_t *total_len, uint32_t *docs);

/* Approximate token count of the field in doc (decoded from the length byte;
 * 0 when the doc does not have the field). doc < seg_doc_count(). */
uint32_t seg_field_len(const struct seg *s, uint32_t doc, unsigned field);
/* The raw length byte, and the length it stands for, for block-max bounds. */
uint8_t seg_field_norm(const struct seg *s, uint32_t doc, unsigned field);
/* All of field's length bytes, one per doc (seg_doc_count() of them), in the mapping: for
 * loops that read one per candidate doc. field < seg_field_count(). */
const uint8_t *seg_field_norms(const struct seg *s, unsigned field);
uint32_t seg_norm_decode(uint8_t norm);

/* External id of doc: *id points into the segment (not NUL-terminated),
 * valid until seg_close(). */
void seg_doc_id(const struct seg *s, uint32_t doc, const char **id, size_t *len);

/* Title of doc, for showing a hit without loading its stored fields: the value of its
 * SEG_TEXT field named SEG_TITLE_FIELD, cut to at most SEG_TITLE_MAX bytes without splitting
 * a UTF-8 sequence (the cut backs up over continuation bytes 10xxxxxx), or "" when the doc
 * has no such field. Bytes are as given, not NUL-terminated. *title points into the segment,
 * valid until seg_close(). SD_OK, or SD_ENOTFOUND when doc >= seg_doc_count() (*title is
 * then "" and *len 0). */
int seg_doc_title(const struct seg *s, uint32_t doc, const char **title, size_t *len);

/* Finds the local doc id of an external id. SD_OK or SD_ENOTFOUND. */
int seg_doc_find(const struct seg *s, const char *id, size_t len, uint32_t *doc);
/* The same with the id's hash given, for a caller that looks one id up in many segments:
 * hash is seg_id_hash(id, len) (the ID_MAP's XXH3-64). */
uint64_t seg_id_hash(const char *id, size_t len);
int seg_doc_find_hashed(const struct seg *s, const char *id, size_t len, uint64_t hash,
                        uint32_t *doc);

/* A stored document, decoded. fields[] and the strings they point to live in
 * buf or in the segment: valid until seg_stored_free() or seg_close(),
 * whichever comes first. */
struct seg_stored {
    const char *id;
    size_t id_len;
    struct seg_field fields[SEG_MAX_FIELDS];
    size_t nfields;
    struct sd_buf buf;
};

typedef int (*seg_text_fn)(void *arg, const char *s, size_t len);
/* Calls fn with each string of json[0, len), a SEG_TEXT_ARRAY value (a load reads it back as
 * SEG_RAW), unescaped into scratch (valid during the call). SD_OK, SD_EINVAL (not a JSON array
 * of strings), SD_ENOMEM, or fn's non-zero return. (seg_textarr.c) */
int seg_text_array_each(const char *json, size_t len, struct sd_buf *scratch, seg_text_fn fn,
                        void *arg);

/* Loads doc's stored fields into out (initialized by this call; release with
 * seg_stored_free() also after an error). */
int seg_doc_load(const struct seg *s, uint32_t doc, struct seg_stored *out, struct sd_error *err);
void seg_stored_free(struct seg_stored *st);

/* A stored document read a chunk at a time (issue 12). From format 5 a record larger than a
 * stored block is kept as chunks compressed one by one, each with a filter of the stems its
 * text holds (seg_chunk.c); a view decompresses only the chunks asked for. Any other record
 * is one chunk, read whole when the view opens.
 *
 * Record offsets: st.fields[i].value points into the record, whose bytes [from, to) may be
 * read once seg_doc_view_load(from, to) succeeded (names, types and lengths right away).
 * Everything is valid until seg_doc_view_free() or seg_close(). */
struct seg_doc_view {
    struct seg_stored st; /* fields, the record in st.buf (only loaded chunks' bytes are set) */
    const struct seg *s;  /* borrowed */
    uint32_t doc;
    const uint8_t *rec; /* the record: rec_len bytes in st.buf */
    size_t rec_len;
    uint32_t first_block; /* the first chunk's stored block */
    uint32_t nchunks;     /* 1: not cut (read whole) */
    uint32_t *chunk_end;  /* owned; nchunks record offsets, the last = rec_len */
    bool *is_loaded;      /* owned; nchunks flags */
    const uint8_t *sums;  /* into the segment: per chunk a flag byte and its filter */
    size_t filter_len;    /* bytes of one chunk's filter */
    size_t raw_loaded;    /* bytes decompressed so far (for benchmarks) */
};

/* Opens doc's record: reads its field directory, decompressing the chunks that hold the
 * field headers (the first, and those where a later field starts). v is initialized by the
 * call; release it with seg_doc_view_free(), also after an error. SD_OK, SD_ENOTFOUND,
 * SD_ENOMEM or SD_ECORRUPT. */
int seg_doc_view_open(const struct seg *s, uint32_t doc, struct seg_doc_view *v,
                      struct sd_error *err);
/* Decompresses the chunks that hold record bytes [from, to) (clamped to the record). */
int seg_doc_view_load(struct seg_doc_view *v, size_t from, size_t to, struct sd_error *err);
/* Chunk i holds record bytes [*start, *end). */
void seg_doc_view_chunk(const struct seg_doc_view *v, uint32_t i, size_t *start, size_t *end);
/* Whether chunk i starts at a word boundary: the record's first chunk, or its first byte is an
 * ASCII space, tab, CR or LF (tokenizing from there gives the whole text's tokens). */
bool seg_doc_view_at_break(const struct seg_doc_view *v, uint32_t i);
/* False only when chunk i holds no token whose stem has hash h (sd_hash64 of the stem). A
 * record read whole has no filter: always true. */
bool seg_doc_view_may_hold(const struct seg_doc_view *v, uint32_t i, uint64_t h);
void seg_doc_view_free(struct seg_doc_view *v);

/* ---- attribute columns ---- */

/* One column of an open segment, valid until seg_close(). A format-2 segment has none. */
struct seg_attr;

/* The settings version the segment was built under (seg_builder_set_attrs; a merge records
 * the oldest of its inputs'); 0 for none and for format-2 segments. */
uint64_t seg_settings_version(const struct seg *s);

unsigned seg_attr_count(const struct seg *s);
const struct seg_attr *seg_attr_at(const struct seg *s, unsigned i); /* i < seg_attr_count */
/* The column named name, or NULL. */
const struct seg_attr *seg_attr_find(const struct seg *s, const char *name, size_t len);
const char *seg_attr_name(const struct seg_attr *a); /* NUL-terminated */
enum seg_attr_type seg_attr_type(const struct seg_attr *a);

/* doc's values are value numbers [*first, *first + *count) of the column (ascending as
 * given, duplicates kept). doc < seg_doc_count(). */
void seg_attr_values(const struct seg_attr *a, uint32_t doc, uint64_t *first, uint32_t *count);
int64_t seg_attr_int(const struct seg_attr *a, uint64_t i);  /* SEG_ATTR_INT */
double seg_attr_float(const struct seg_attr *a, uint64_t i); /* SEG_ATTR_FLOAT */
uint32_t seg_attr_ord(const struct seg_attr *a, uint64_t i); /* SEG_ATTR_KEYWORD */
/* The keyword dictionary: distinct values sorted bytewise; ordinal ord's bytes (*s points
 * into the segment, valid until seg_close()). seg_attr_keyword_find: SD_OK or SD_ENOTFOUND. */
uint32_t seg_attr_keyword_count(const struct seg_attr *a);
void seg_attr_keyword(const struct seg_attr *a, uint32_t ord, const char **s, size_t *len);
int seg_attr_keyword_find(const struct seg_attr *a, const char *s, size_t len, uint32_t *ord);
/* The documents of each keyword value (format v4; seg_attr_docs.c): false for a segment of
 * format 3, whose filters test every candidate instead. seg_attr_keyword_docs: how many
 * documents hold value ord; seg_attr_keyword_next: the first of them >= doc, SEG_DOC_END when
 * none. Only on a keyword column that has them; ord below seg_attr_keyword_count(). */
bool seg_attr_has_doc_sets(const struct seg_attr *a);
uint32_t seg_attr_keyword_docs(const struct seg_attr *a, uint32_t ord);
uint32_t seg_attr_keyword_next(const struct seg_attr *a, uint32_t ord, uint32_t doc);
/* Bytes of the column in the image (for measuring its cost per document). */
size_t seg_attr_bytes(const struct seg_attr *a);

/* ---- terms ---- */

/* What the dictionary says about one term (all from the dictionary entry). */
struct seg_term {
    uint32_t df;       /* documents containing the term in this field */
    uint64_t total_tf; /* occurrences over all documents */
    uint64_t off;      /* where its postings start in the image */
    uint64_t len;      /* bytes of postings (docs, freqs, skip data) */
    uint64_t pos_off;  /* where its positions start (SEG_EXACT only) */
    uint64_t pos_len;
    uint8_t field;
    uint8_t kind;
};

/* Exact lookup. SD_OK, SD_ENOTFOUND or SD_ECORRUPT. */
int seg_term_find(const struct seg *s, unsigned field, enum seg_kind kind, const char *term,
                  size_t len, struct seg_term *out, struct sd_error *err);

/* Calls fn for every term of (field, kind) that starts with prefix, in byte
 * order. term points into a scratch buffer valid during the call. A non-zero
 * return of fn stops the walk and is returned. */
typedef int (*seg_term_fn)(void *arg, const char *term, size_t len, const struct seg_term *t);
int seg_term_prefix(const struct seg *s, unsigned field, enum seg_kind kind, const char *prefix,
                    size_t len, seg_term_fn fn, void *arg, struct sd_error *err);

/* ---- the exact forms in memory (seg_terms.c) ---- */

/* Every SEG_EXACT term of a segment as one trie of characters for all fields, copied out of
 * the front-coded blocks, so that a walk which jumps around the dictionary (the typo
 * automaton) moves from a prefix to its extensions without a search (layout: seg_terms.c).
 * Node x's children are nodes[kids, ...] up to the one marked SEG_TRIE_LAST (none when kids is
 * 0), in byte order; a node's character is one UTF-8 sequence as seg_utf8_next splits it: its
 * code point and byte length (seg_trie_char_bytes gives its bytes back). A form in several
 * fields is one path; the term ending at node x is number term[x], and its document frequency
 * in field f is df[term[x] * nfields + f], 0 when f does not have it. Immutable; owned by the
 * segment. A node is 8 bytes: walks read nothing else until they find a term. */
struct seg_trie_node {
    uint32_t ch;   /* code point (SEG_TRIE_CP), byte length - 1 (SEG_TRIE_LEN_SHIFT), flags */
    uint32_t kids; /* the first child, 0 when none */
};
#define SEG_TRIE_CP        0x1FFFFFu
#define SEG_TRIE_LEN_SHIFT 24
#define SEG_TRIE_CHAR      (SEG_TRIE_CP | 3u << SEG_TRIE_LEN_SHIFT) /* what tells them apart */
#define SEG_TRIE_TERM      (1u << 26) /* a term ends at this node */
#define SEG_TRIE_LAST      (1u << 27) /* the last child of its parent */
#define SEG_TRIE_NONE      UINT32_MAX

struct seg_exact_terms {
    uint32_t count;  /* distinct forms, over all fields */
    uint32_t nnodes; /* nodes, the root included */
    uint32_t nfields;
    uint32_t root; /* the root (no character): node 0, or SEG_TRIE_NONE when there are none */
    struct seg_trie_node *nodes;
    uint32_t *term;   /* per node: with SEG_TRIE_TERM, the number of the term ending there */
    uint32_t *df;     /* count * nfields */
    size_t mem_bytes; /* all of the above */
};

/* The ch of a trie node for character cp of clen bytes (seg_utf8_next's), flags aside. */
static inline uint32_t seg_trie_char(uint32_t cp, size_t clen)
{
    return cp | (uint32_t)(clen - 1) << SEG_TRIE_LEN_SHIFT;
}

/* The bytes of node character ch into out (room for 4); returns how many. A character of one
 * byte is its code point (a byte that starts no valid sequence too); a longer one is its code
 * point's UTF-8 in its own length, which is not stem_utf8_encode's for an overlong sequence
 * (seg_utf8_next accepts those: it keeps its own few lines, a call less on the walks' path
 * than stem_utf8_decode, whose strict checks cost a typo search 1-1.4% more instructions). */
static inline size_t seg_trie_char_bytes(uint32_t ch, char *out)
{
    uint32_t cp = ch & SEG_TRIE_CP;
    size_t n = ((ch >> SEG_TRIE_LEN_SHIFT) & 3u) + 1;
    if (n == 1) {
        out[0] = (char)cp;
    } else if (n == 2) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
    } else if (n == 3) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[0] = (char)(0xF0 | cp >> 18);
        out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
    }
    return n;
}

/* The segment's exact forms, built on first use (one pass over the dictionary) and kept until
 * seg_close(); safe to call from any number of threads at once. When the segment's charge
 * function (seg_set_charge) refuses to pay for a build, the build is not kept: *out is then
 * the caller's alone. Either way *out is valid until seg_exact_terms_release(s, *out), which
 * every caller calls after its walk (it frees a build that was not kept, and does nothing to
 * kept ones). SD_OK, SD_ENOMEM or SD_ECORRUPT. */
int seg_exact_terms(const struct seg *s, const struct seg_exact_terms **out,
                    struct sd_error *err);
void seg_exact_terms_release(const struct seg *s, const struct seg_exact_terms *t);
/* The exact forms when some walk has built them already, else NULL: never builds. */
const struct seg_exact_terms *seg_exact_terms_built(const struct seg *s);
/* The document frequency of the exact form term[0, len) in field f of t: 0 when that field
 * (or every field) does not have it. */
uint32_t seg_exact_terms_df(const struct seg_exact_terms *t, unsigned field, const char *term,
                            size_t len);
/* Bytes the exact forms take once built (0 before). */
size_t seg_exact_terms_bytes(const struct seg *s);
/* Who pays for the exact forms and the memo (below): fn(arg, +bytes) before a build or a memo
 * entry is kept, which fn may refuse by returning false (the segment then keeps nothing:
 * the build goes back to its caller, the memo entry is not made), and fn(arg, -bytes) when
 * they go (seg_close, or a copy that lost a race), whose result is ignored. Called from any
 * thread. Set before the segment is shared with other threads (the engine's memory limit,
 * memcap.c); without one, nothing is told and everything is kept. */
typedef bool (*seg_charge_fn)(void *arg, int64_t delta);
void seg_set_charge(struct seg *s, seg_charge_fn fn, void *arg);
/* The same table for terms[0, n) (NUL-terminated, ascending in byte order, distinct, not
 * empty) of one field (field 0), with document frequencies df[0, n): for tests and tools.
 * The caller frees *out with seg_exact_terms_free. SD_OK, SD_ENOMEM, SD_ECORRUPT (not
 * ascending, or empty) or SD_ELIMIT (a term over STEM_MAX_TOKEN bytes). */
int seg_exact_terms_of(const char *const *terms, const uint32_t *df, size_t n,
                       struct seg_exact_terms **out);
void seg_exact_terms_free(struct seg_exact_terms *t); /* NULL is a no-op */
/* One character of s[i, len) (i < len): its code point into *cp, its byte length returned
 * (>= 1). Lenient: a byte that starts no valid sequence (or one cut short) is a character of
 * its own, whose code point is the byte. The trie and the typo automaton split terms alike. */
size_t seg_utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp);

/* ---- the memo (seg_memo.c) ---- */

/* Values a caller derives from the segment's immutable data alone (the query's proximity
 * forms: index/query/prox.c), kept with the segment until seg_close so that the next search
 * looks them up. Keys and values are opaque bytes (a key's first bytes should name what kind
 * of value it keys). Entries are never replaced: the first put of a key stays. Safe from any
 * number of threads at once; bounded (SD_ELIMIT once full: derive the value each time). */
#define SEG_MEMO_MAX_BYTES 65536 /* of one key or one value */
/* True with *val (valid until seg_close) and *val_len when key was put; false otherwise. */
bool seg_memo_get(const struct seg *s, const void *key, size_t key_len, const void **val,
                  size_t *val_len);
/* Remembers a copy of val[0, val_len) under key. SD_OK (also when key was already there),
 * SD_ENOMEM, or SD_ELIMIT (the memo is full, a key or value over SEG_MEMO_MAX_BYTES, or the
 * segment's charge function refused to pay for it: seg_set_charge). */
int seg_memo_put(const struct seg *s, const void *key, size_t key_len, const void *val,
                 size_t val_len);
/* Bytes the memo takes (0 before the first put). */
size_t seg_memo_bytes(const struct seg *s);

/* ---- postings ---- */

/* Iterator over one term's postings. Starts before the first document:
 * call seg_postings_next() or seg_postings_advance() first. */
struct seg_postings;

#define SEG_WANT_POSITIONS 1u

/* *out is owned by the caller, freed with seg_postings_free(); it borrows s
 * and must be freed before seg_close(s). Positions are available only for
 * SEG_EXACT terms opened with SEG_WANT_POSITIONS. */
int seg_postings_open(const struct seg *s, const struct seg_term *t, unsigned flags,
                      struct seg_postings **out, struct sd_error *err);
void seg_postings_free(struct seg_postings *p);

/* Move to the next document / the first document >= target (target greater
 * than the current doc). Return the new doc, or SEG_DOC_END. A decoding error
 * (which the checksum makes a bug, not bad data) also ends the iterator and
 * is reported by seg_postings_error(). */
uint32_t seg_postings_next(struct seg_postings *p);
uint32_t seg_postings_advance(struct seg_postings *p, uint32_t target);
uint32_t seg_postings_doc(const struct seg_postings *p);
uint32_t seg_postings_freq(const struct seg_postings *p);
int seg_postings_error(const struct seg_postings *p, struct sd_error *err);

/* Positions of the current document, ascending, freq of them. *pos points
 * into the iterator, valid until it moves. */
int seg_postings_positions(struct seg_postings *p, const uint32_t **pos, uint32_t *count);

/* Skip data for block-max evaluation, readable without decoding a block:
 * shallow-advances to the block that may hold target and returns its last
 * doc id (SEG_DOC_END past the end) with the block's maximum frequency and
 * the smallest length byte of the field in the block. Skip data keeps the
 * maximum in one byte, so a block of a long list (df >= SEG_BLOCK) whose
 * maximum is 255 or more reports SEG_TF_UNBOUNDED: a bound must then take
 * the limit of its score as tf grows without end. A short list, decoded to
 * answer, reports its exact maximum. */
#define SEG_TF_UNBOUNDED UINT32_MAX
uint32_t seg_postings_block_bound(struct seg_postings *p, uint32_t target, uint32_t *max_tf,
                                  uint8_t *min_norm);

#endif
