/*
 * seg_build_int.h: the builder's state, shared by seg_analyze.c (analysing documents),
 * seg_build.c (adding them), seg_stored.c (stored records) and seg_write.c (serializing).
 * Private to index/seg/.
 */
#ifndef SEARCHD_SEG_BUILD_INT_H
#define SEARCHD_SEG_BUILD_INT_H

#include <stdatomic.h>

#include "seg_arena.h"
#include "seg_attr_int.h"
#include "seg_int.h"

/* One (field, kind, term) of the segment being built. Lives in the arena. */
struct seg_term_rec {
    struct seg_stream docs;    /* committed docs: varint gap (doc - last - 1), varint tf - 1 */
    struct seg_stream pos;     /* SEG_EXACT: per doc, tf varint deltas (first from 0) */
    struct seg_term_rec *stem; /* SEG_EXACT: the record of this word's stem, once known */
    uint64_t total_tf;
    uint32_t df;
    uint32_t last_doc; /* last committed doc (when df > 0) */
    uint32_t cur_doc;  /* doc being added if touched by it, else UINT32_MAX */
    uint32_t cur_tf;
    uint16_t key_len;
    uint8_t key[]; /* field u8, kind u8, term bytes */
};

struct seg_term_slot {
    uint64_t hash; /* XXH3 of the key */
    struct seg_term_rec *rec;
};

/* A term the current document touched, and where its positions stood before it. */
struct seg_touch {
    struct seg_term_rec *rec;
    struct seg_stream_mark pos_mark;
};

struct seg_build_field {
    char name[SEG_MAX_NAME + 1];
    size_t name_len;
    uint64_t total_len;
    uint32_t docs;
    struct sd_buf norms; /* one byte per doc up to the last doc with the field */
};

/* A full stored block handed to a scheduler (seg.h), compressed on whichever thread runs it. */
struct seg_zjob {
    struct seg_zjob *next; /* the builder's list of jobs not yet collected, in block order */
    struct sd_buf raw;     /* the block's records */
    struct sd_buf out;     /* room for LZ4_compressBound(raw.len), then the compressed block */
    struct sd_buf entry;   /* its STORED_BLOCKS entry as seg_stored_flush_to writes it (offset 0) */
    int rc;
    atomic_bool is_done; /* set last by seg_zjob_run */
};

struct seg_builder {
    struct stem_ctx *stem;         /* borrowed; for seg_builder_add only */
    struct seg_analyzer *analyzer; /* owned; made by the first seg_builder_add */
    struct seg_analysis *analysis; /* owned; seg_builder_add's scratch */
    struct seg_arena arena;
    struct seg_term_slot *slots; /* owned; nslots is a power of two, load <= 1/2 */
    size_t nslots;
    size_t nterms;
    struct seg_touch *touched; /* owned; terms of the document being added */
    size_t ntouched;
    size_t touched_cap;
    struct seg_build_field *fields; /* owned; SEG_MAX_SEG_FIELDS entries */
    unsigned field_count;
    uint32_t doc_count;
    struct sd_buf ids;                   /* id bytes of all docs */
    struct sd_buf id_offs;               /* u32 start of each doc's id in ids */
    struct sd_buf stored_raw;            /* records of the pending stored block */
    struct sd_buf stored_data;           /* compressed blocks */
    struct sd_buf stored_blocks;         /* SEG_SBLOCK_ENTRY_LEN per block */
    struct sd_buf stored_docs;           /* SEG_SDOC_ENTRY_LEN per doc */
    struct sd_buf chunk_entries;         /* CHUNKS: SEG_CHUNK_ENTRY_LEN per record in chunks */
    struct sd_buf chunk_sums;            /* CHUNKS: their summaries */
    const struct seg_zjob_sched *zsched; /* borrowed; NULL: compress full blocks here */
    struct seg_zjob *zfirst;             /* owned; full blocks submitted, not yet collected */
    struct seg_zjob *zlast;
    uint32_t nzjobs;
    struct sd_buf titles;              /* title bytes of all docs (seg_stored_title) */
    struct sd_buf title_offs;          /* u32 start of each doc's title in titles */
    struct seg_acols acols;            /* attribute columns (seg_attr_write.c) */
    uint8_t attr_order[SEG_MAX_ATTRS]; /* column given i -> acols.cols index */
    uint32_t cur_doc;                  /* the doc being added (= doc_count) */
    bool is_finished;
    uint8_t key[SEG_MAX_KEY];
};

/* ---- seg_analyze.c: an analysed document ---- */

/* One distinct (field, folded word) of the document. */
struct seg_an_term {
    uint64_t hash;      /* XXH3-64 of the word */
    uint64_t stem_hash; /* XXH3-64 of the stem (when stem_len > 0) */
    uint32_t word_off;  /* the word: text[word_off, + word_len) */
    uint32_t stem_off;  /* its stem: text[stem_off, + stem_len) */
    uint32_t pos_off;   /* its positions: pos[pos_off, + pos_len), tf varint deltas, the */
    uint32_t pos_len;   /* first from 0 (the POSITIONS encoding of one doc) */
    uint32_t tf;
    uint8_t field;    /* index of the field in the document */
    uint8_t word_len; /* 1..STEM_MAX_TOKEN */
    uint8_t stem_len; /* 0: no stem term (Snowball gave nothing usable) */
};

struct seg_an_field {
    uint32_t name_off; /* text[name_off, + name_len) */
    uint32_t fid_at;   /* record[fid_at] is the field id byte, the field's index here */
    uint32_t value_at; /* record[value_at, + value_len) is the value */
    uint32_t value_len;
    uint32_t len; /* SEG_TEXT: tokens, for the length norm */
    uint8_t name_len;
    uint8_t type; /* enum seg_value_type */
};

struct seg_analysis {
    struct sd_buf text;        /* id, field names, words, stems */
    struct sd_buf pos;         /* every term's positions, term after term */
    struct sd_buf record;      /* the stored record (seg_stored.c), ids to be rewritten */
    struct sd_buf chunks;      /* a record over SEG_STORED_BLOCK_TARGET: its chunks' summary
                                  (seg_chunk_summarize); empty otherwise */
    struct seg_an_term *terms; /* owned; in order of first occurrence */
    size_t nterms;
    size_t terms_cap;
    struct seg_an_field fields[SEG_MAX_FIELDS];
    size_t nfields;
    uint32_t id_len; /* the id is text[0, id_len) */
};

/* ---- seg_zjob.c ---- */

/* Closes the pending stored block if adding `next` bytes would pass the target: as a job
 * when b has a scheduler, else through seg_stored_flush. SD_OK, SD_ENOMEM or SD_ELIMIT, with
 * the block still pending on error. */
int seg_zjob_close_block(struct seg_builder *b, size_t next);
/* Appends the blocks compressed by jobs, in order, to stored_data and stored_blocks, waiting
 * for each. SD_OK, or the error (jobs not yet collected stay pending). */
int seg_build_collect_zjobs(struct seg_builder *b);
/* Waits for every job still out and frees them all. */
void seg_zjob_free_all(struct seg_builder *b);
size_t seg_zjob_mem_bytes(const struct seg_builder *b);

/* ---- seg_stored.c ---- */

/* Appends the analysed doc's title to titles and title_offs: cannot fail once both have
 * room for SEG_TITLE_MAX and 4 more bytes. */
void seg_stored_title(struct seg_builder *b, const struct seg_analysis *an);
/* Compresses the pending block into stored_data if adding `next` bytes would pass the
 * target (or next == 0 and anything is pending). Returns SD_OK or SD_ENOMEM / SD_ELIMIT;
 * the pending records stay pending on failure. */
int seg_stored_flush(struct seg_builder *b, size_t next);

#endif
