/*
 * seg_build_int.h: the builder's state, shared by seg_build.c (adding documents),
 * seg_stored.c (stored records) and seg_write.c (serializing). Private to index/seg/.
 */
#ifndef SEARCHD_SEG_BUILD_INT_H
#define SEARCHD_SEG_BUILD_INT_H

#include "seg_arena.h"
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
    uint32_t last_pos;
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

struct seg_builder {
    struct stem_ctx *stem; /* borrowed */
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
    struct sd_buf ids;           /* id bytes of all docs */
    struct sd_buf id_offs;       /* u32 start of each doc's id in ids */
    struct sd_buf stored_raw;    /* records of the pending stored block */
    struct sd_buf stored_data;   /* compressed blocks */
    struct sd_buf stored_blocks; /* SEG_SBLOCK_ENTRY_LEN per block */
    struct sd_buf stored_docs;   /* SEG_SDOC_ENTRY_LEN per doc */
    struct sd_buf titles;        /* title bytes of all docs (seg_title_cut) */
    struct sd_buf title_offs;    /* u32 start of each doc's title in titles */
    struct sd_buf record;        /* scratch: the stored record of the doc being added */
    /* tokenization state of the doc being added */
    uint32_t cur_doc;
    uint8_t cur_field;
    uint32_t cur_len;
    bool is_finished;
    uint8_t key[SEG_MAX_KEY];
};

/* ---- seg_stored.c ---- */

/* Encodes doc's fields (with their segment field ids fids[]) into b->record. */
int seg_stored_encode(struct seg_builder *b, const struct seg_doc *doc, const uint8_t *fids);
/* Appends doc's title to titles and title_offs: cannot fail once both have room for
 * SEG_TITLE_MAX and 4 more bytes. */
void seg_stored_title(struct seg_builder *b, const struct seg_doc *doc);
/* Compresses the pending block into stored_data if adding `next` bytes would pass the
 * target (or next == 0 and anything is pending). Returns SD_OK or SD_ENOMEM / SD_ELIMIT;
 * the pending records stay pending on failure. */
int seg_stored_flush(struct seg_builder *b, size_t next);

#endif
