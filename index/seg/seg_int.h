/*
 * seg_int.h: private interfaces between the files of index/seg/. Never included from outside
 * the module (seg_test.c and bench_seg.c, which live here, may include it).
 *
 *   seg_codec.c   the block codec (128 integers bit-packed) and the one-byte length norms
 *   seg_arena.c   the builder's bump allocator and chunked byte streams
 *   seg_build.c   the in-memory inverter: documents in, term records and doc tables out
 *   seg_write.c   serialization of a builder into a segment image (FORMAT IS DOCUMENTED THERE),
 *                 and the term writer (postings, positions, dictionary) it shares with merges
 *   seg_merge.c   merging segments postings to postings, without tokenizing
 *   seg_open.c    opening and verifying an image; fields, norms, doc ids
 *   seg_stored.c  stored documents: record encoding (builder side), loading, views by chunk
 *   seg_chunk.c   records larger than a block: where they are cut, their chunks' stem filters
 *   seg_dict.c    term dictionary lookups and prefix walks
 *   seg_terms.c   the exact forms copied into memory for automaton walks
 *   seg_post.c    the postings iterator
 */
#ifndef SEARCHD_SEG_INT_H
#define SEARCHD_SEG_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seg.h"

/* ---- format constants (see the table at the top of seg_write.c) ---- */

#define SEG_MAGIC          "SDSG"
#define SEG_FORMAT_VERSION 5 /* bump on any layout change; see docs/FORMAT.md */
#define SEG_FORMAT_OLDEST  2 /* oldest version this reader accepts (v1 never shipped) */
#define SEG_CODEC_BP128    1 /* full blocks: 128 values bit-packed at one width */

#define SEG_HEADER_LEN      8
#define SEG_FOOTER_TAIL_LEN 16 /* checksum u64, footer length u32, magic */

enum seg_section {
    SEG_SECT_FIELDS = 0,
    SEG_SECT_DOC_IDS,
    SEG_SECT_ID_MAP,
    SEG_SECT_NORMS,
    SEG_SECT_STORED_DOCS,
    SEG_SECT_STORED_BLOCKS,
    SEG_SECT_STORED_DATA,
    SEG_SECT_TITLES,
    SEG_SECT_POSTINGS,
    SEG_SECT_POSITIONS,
    SEG_SECT_DICT,
    SEG_SECT_DICT_INDEX,
    SEG_SECT_ATTRS,  /* format 3 on: attribute columns (seg_attr_write.c) */
    SEG_SECT_CHUNKS, /* format 5 on: summaries of records stored in chunks (seg_chunk.c) */
    SEG_NSECT
};
#define SEG_NSECT_V2 12 /* format 2 had no ATTRS section */
#define SEG_NSECT_V4 13 /* formats 3 and 4 had no CHUNKS section */

/* nsect u32, nsect x (offset u64, length u64), doc count u32, field count u32, term count u64 */
#define SEG_FOOTER_BODY_LEN (4 + SEG_NSECT * 16 + 4 + 4 + 8)
#define SEG_FOOTER_LEN      (SEG_FOOTER_BODY_LEN + SEG_FOOTER_TAIL_LEN)
#define SEG_FOOTER_LEN_V4   (SEG_FOOTER_LEN - 16)
#define SEG_FOOTER_LEN_V2   (SEG_FOOTER_LEN - 32)

#define SEG_IDMAP_ENTRY_LEN  12 /* XXH3 of the id u64, doc u32 */
#define SEG_SDOC_ENTRY_LEN   12 /* stored block u32, offset in raw block u32, raw length u32 */
#define SEG_SBLOCK_ENTRY_LEN 16 /* offset in STORED_DATA u64, compressed u32, raw length u32 */
#define SEG_CHUNK_ENTRY_LEN  20 /* first block u32, chunks u32, filter bytes u32, offset u64 */
#define SEG_CHUNK_AT_BREAK   1  /* chunk flag: its first byte is an ASCII space, tab, CR or LF */
#define SEG_SKIP_ENTRY_LEN   14 /* last doc, block offset, positions offset: u32; max tf, norm */
#define SEG_DICT_ENTRY_LEN   32 /* see seg_write.c */
#define SEG_DICT_BLOCK_TERMS 64 /* most terms a dictionary block may hold (readers) */
#define SEG_DICT_WRITE_TERMS 16 /* terms per dictionary block the writer makes */
#define SEG_MAX_KEY          (2 + STEM_MAX_TOKEN) /* field u8, kind u8, term bytes */

/* A skip entry's max tf is one byte, saturating: this value means "this or more". */
#define SEG_SKIP_TF_MAX 255

/* Raw bytes of stored records gathered into one LZ4 block (see seg_stored.c). */
#define SEG_STORED_BLOCK_TARGET 16384
#define SEG_STORED_MAX_RAW      (1u << 30) /* a stored block never exceeds 1 GiB raw */

/* ---- the open segment ---- */

struct seg_span {
    const uint8_t *p; /* into seg.img */
    size_t len;
    uint64_t off; /* offset of p in the image */
};

struct seg_field_info {
    char name[SEG_MAX_NAME + 1]; /* NUL-terminated copy */
    size_t name_len;
    uint64_t total_len;
    uint32_t docs;
};

struct seg {
    char *name;         /* owned; the path or name used in error messages */
    const uint8_t *img; /* the whole image: map.data or owned */
    size_t len;
    struct sd_map map;    /* file segments: the mapping (released by seg_close) */
    uint8_t *owned;       /* memory segments: the malloc'd image (freed by seg_close) */
    bool verify_checksum; /* seg_load recomputes the checksum (not for _written opens) */
    uint16_t version;
    uint8_t codec;
    uint32_t doc_count;
    unsigned field_count;
    uint64_t term_count;
    struct seg_span sect[SEG_NSECT];
    struct seg_field_info *fields; /* owned; field_count entries */
    const uint8_t *id_bytes;       /* DOC_IDS after its offset table */
    size_t id_bytes_len;
    const uint8_t *title_bytes; /* TITLES after its offset table */
    size_t title_bytes_len;
    uint32_t dict_nblocks;
    const uint8_t *dict_keys; /* DICT_INDEX after its entries */
    size_t dict_keys_len;
    uint32_t stored_nblocks;
    uint32_t chunk_count;      /* CHUNKS: records stored in chunks (0 before format 5) */
    const uint8_t *chunk_sums; /* CHUNKS after its entries: the chunks' summaries */
    size_t chunk_sums_len;
    struct seg_attr *attrs; /* owned; nattrs columns sorted by name (seg_attr.c) */
    unsigned nattrs;
    uint64_t settings_version; /* ATTRS: the engine's settings version; 0 for v2 */
    /* owned; built on first use by seg_exact_terms (seg_terms.c), then immutable */
    _Atomic(struct seg_exact_terms *) exact_terms;
    /* owned; allocated by the first seg_memo_put (seg_memo.c), entries only added */
    _Atomic(struct seg_memo *) memo;
    seg_charge_fn charge; /* told of exact_terms' and memo's bytes (seg_set_charge); may be NULL */
    void *charge_arg;
};

/* Frees the memo (seg_memo.c) and gives its bytes back to the charge function: seg_close. */
void seg_memo_free(struct seg *s);

/* Dictionary index entry b, decoded (all offsets relative to their sections). */
struct seg_dict_entry {
    uint32_t key_off;
    uint16_t key_len;
    uint16_t nterms;
    uint64_t block_off;
    uint64_t post_off;
    uint64_t pos_off;
};

void seg_dict_entry_get(const struct seg *s, uint32_t b, struct seg_dict_entry *e);

/* A forward walk over the dictionary, one term at a time (seg_dict.c). */
struct seg_dict_cursor {
    const struct seg *s; /* borrowed */
    uint32_t block;
    uint32_t left; /* terms left in the block */
    struct sd_rd rd;
    uint64_t post_off; /* of the next term, relative to POSTINGS */
    uint64_t pos_off;  /* relative to POSITIONS */
    uint8_t kind;      /* of the last key read (its byte 1): SEG_EXACT entries say pos_len */
    uint8_t key[SEG_MAX_KEY + 1];
    size_t key_len;
};

/* Positions c on the first term of `field` (or the first term after it): returns 1 with
 * c->key and *t set, 0 when no term follows, SD_ECORRUPT on a damaged block. */
int seg_dict_cursor_field(struct seg_dict_cursor *c, const struct seg *s, unsigned field,
                          struct seg_term *t);
/* The next term: 1 with c->key and *t set, 0 at the end of the dictionary, SD_ECORRUPT. */
int seg_dict_cursor_next(struct seg_dict_cursor *c, struct seg_term *t);

/* Validates the dictionary index against the sections (called by open). */
int seg_dict_check(struct seg *s, struct sd_error *err);

/* ---- seg_codec.c ---- */

/* Bits needed for the largest of v[0, n) (0 when all are 0). */
unsigned seg_bits_max(const uint32_t *v, size_t n);
/* Bytes that n values take packed at `bits` per value. */
static inline size_t seg_packed_len(uint32_t n, unsigned bits)
{
    return ((size_t)n * bits + 7) / 8;
}
/* Packs in[0, n) (each < 2^bits, bits <= 32) into seg_packed_len(n, bits) bytes at out (16 *
 * bits for a full block of SEG_BLOCK) and returns that length. */
size_t seg_pack(const uint32_t *in, uint32_t n, unsigned bits, uint8_t *out);
/* Unpacks 16 * bits bytes at in into 128 values. Reads exactly 16 * bits bytes. */
void seg_unpack128(const uint8_t *in, unsigned bits, uint32_t *out);

/* Unpacks 128 gaps (as seg_unpack128) straight into doc ids: out[i] = next + gap, then
 * next = out[i] + 1. Returns the final next (one past the last doc, 64-bit: no overflow). */
uint64_t seg_unpack128_gaps(const uint8_t *in, unsigned bits, uint32_t *out, uint64_t next);
/* Unpacks n values (n <= SEG_BLOCK, bits <= 32) from seg_packed_len(n, bits) bytes at in,
 * reading none past them: the decoder of tail blocks, which are shorter than a full one. */
void seg_unpack(const uint8_t *in, uint32_t n, unsigned bits, uint32_t *out);

uint8_t seg_norm_encode(uint32_t len);

/* Varint ends (bytes below 0x80) among the 8 bytes of w, counted by one multiply. */
static inline unsigned seg_varint_ends8(uint64_t w)
{
    return (unsigned)((((~w & 0x8080808080808080ull) >> 7) * 0x0101010101010101ull) >> 56);
}
/* Varint ends in p[0, len): how many varints a run of them holds. */
uint64_t seg_varint_ends(const uint8_t *p, size_t len);

/* ---- seg_write.c: pieces of the image shared by the builder and the merge ---- */

void seg_write_header(struct sd_buf *out);

struct seg_id_hash {
    uint64_t hash;
    uint32_t doc;
};
/* Sorts ids[0, n) by (hash, doc) and appends them as the ID_MAP section. */
void seg_write_id_map(struct sd_buf *out, struct seg_id_hash *ids, uint32_t n);

/* ---- seg_sink.c: where an image is written ---- */

/* The image goes to buf; with a file (fd >= 0) the buffer's bytes move to the file at each
 * seg_sink_spill. Positions (seg_sink_pos) count both. path and err name the file in errors. */
#define SEG_SPILL_BYTES (4u << 20) /* a merge's output buffer moves to its file at this size */

struct seg_sink {
    struct sd_buf *buf; /* borrowed */
    int fd;             /* -1: memory only (spills do nothing) */
    size_t spill_bytes; /* file sinks: seg_sink_put writes runs this long straight to fd */
    uint64_t spilled;   /* bytes written to fd */
    const char *path;
    struct sd_error *err;
};

uint64_t seg_sink_pos(const struct seg_sink *s);
/* Moves the buffer's bytes to the file if it holds at least min_bytes. Callers spill only
 * where no earlier byte will change except through seg_sink_patch. */
int seg_sink_spill(struct seg_sink *s, size_t min_bytes);
/* Appends data[0, len). Through the buffer, except that a file sink writes a run of
 * spill_bytes or more straight to the file after the buffer's bytes: a merge's positions
 * section (150 MB on 200k documents) was copied into the buffer whole, then written. Only
 * where seg_sink_spill may be called. SD_ENOMEM, or a file error (err set). */
int seg_sink_put(struct seg_sink *s, const void *data, size_t len);
/* Overwrites len bytes at position at (all in the file or all in the buffer). */
int seg_sink_patch(struct seg_sink *s, uint64_t at, const void *data, size_t len);
/* Spills everything, then XXH3-64 of the whole file, read back. */
int seg_sink_hash(struct seg_sink *s, uint64_t *hash);

/* seg_merge_file with the spill size as a parameter: tests spill after every record and term
 * (spill_bytes 1) to exercise every position and patch across the buffer and the file. */
int seg_merge_file_spilling(struct seg *const *inputs, const uint64_t *const *deleted, size_t n,
                            const char *path, size_t spill_bytes, uint64_t *len,
                            struct sd_error *err);

/* Appends the footer (section table, counts, checksum of the image from base; base is 0 for
 * an image in a file). Returns SD_OK or an error (set in s->err for file errors). */
int seg_write_footer(struct seg_sink *s, uint64_t base, const uint64_t *sect_off,
                     const uint64_t *sect_len, uint32_t docs, uint32_t fields, uint64_t nterms);

/* The term writer. Terms are added in key order; each one's postings go straight to the
 * image (the POSTINGS section), its positions, dictionary entry and index entry to the
 * writer's own buffers until seg_tw_finish appends POSITIONS, DICT and DICT_INDEX. */
struct seg_tw {
    struct seg_sink *sink; /* borrowed: where the image goes */
    struct sd_buf *out;    /* sink->buf */
    uint64_t base;         /* sink position where the image starts */
    uint64_t post_start;   /* sink position where POSTINGS began */
    struct sd_buf pos;     /* POSITIONS: callers append a term's positions before adding it */
    struct sd_buf dict;
    struct sd_buf dindex;
    struct sd_buf dkeys;
    uint32_t *blk_pos; /* owned; per block of the current term, its positions offset */
    size_t blk_cap;
    uint32_t block_terms; /* terms in the current DICT block */
    uint64_t nterms;
    uint8_t prev_key[SEG_MAX_KEY];
    size_t prev_len;
};

/* One term for seg_tw_add. Every pointer is borrowed for the call. */
struct seg_tw_term {
    const uint8_t *key; /* field u8, kind u8, term bytes */
    size_t key_len;
    const uint32_t *docs; /* df ascending doc ids */
    const uint32_t *tfs;  /* df frequencies, each >= 1 */
    uint32_t df;          /* >= 1 */
    uint64_t total_tf;
    size_t pos_start;     /* SEG_EXACT: its positions are tw.pos[pos_start, tw.pos.len) */
    const uint8_t *norms; /* the field's norm bytes of docs [0, norms_len); later docs: 0 */
    size_t norms_len;
};

/* Starts POSTINGS at the sink's position (sets sect_off[SEG_SECT_POSTINGS]). */
void seg_tw_init(struct seg_tw *w, struct seg_sink *sink, uint64_t base, uint64_t *sect_off);
int seg_tw_add(struct seg_tw *w, const struct seg_tw_term *t);
/* Ends POSTINGS and appends POSITIONS, DICT and DICT_INDEX, filling their table entries. */
int seg_tw_finish(struct seg_tw *w, uint64_t *sect_off, uint64_t *sect_len);
void seg_tw_free(struct seg_tw *w);

/* ---- seg_textarr.c ---- */

/* seg_text_array_each is declared in seg.h: the engine shows a stored text array's strings. */

/* ---- seg_stored.c ---- */

/* Compresses the pending records raw[] into one LZ4 block appended to data with its entry
 * appended to blocks, if adding `next` bytes would pass the target (or next == 0 and
 * anything is pending). data_origin is the STORED_DATA offset of data->data[0] (negative
 * when the section starts inside data; a merge moves data's bytes to a file as it goes).
 * Returns SD_OK, SD_ENOMEM or SD_ELIMIT; the pending records stay pending on failure. */
int seg_stored_flush_to(struct sd_buf *raw, struct sd_buf *data, int64_t data_origin,
                        struct sd_buf *blocks, size_t next);

/* Format 5: whether the record of a STORED_DOCS entry (block, off, len) is stored in chunks
 * (longer than its first block holds). */
bool seg_stored_is_chunked(const struct seg *s, uint32_t block, uint32_t off, uint32_t len);

/* ---- seg_chunk.c ---- */

/* The ends of the chunks of the record rec[0, len) (len > SEG_STORED_BLOCK_TARGET), in
 * order, the last = len: *ends returns owned (free()), *count entries. SD_OK, SD_ENOMEM, or
 * SD_ECORRUPT when rec is not a record. */
int seg_chunk_cuts(const uint8_t *rec, size_t len, uint32_t **ends, size_t *count);
/* Appends the summary of rec's chunks to out: u32 chunk count, u32 filter bytes F, then per
 * chunk a flag byte (SEG_CHUNK_AT_BREAK) and its F-byte Bloom filter of stems. stem is the
 * caller's (borrowed). SD_OK, SD_ENOMEM or SD_ECORRUPT. */
int seg_chunk_summarize(struct stem_ctx *stem, const uint8_t *rec, size_t len, struct sd_buf *out);
/* Appends a CHUNKS entry for the record whose first block is `block` to entries, and its
 * summary (sum, sum_len bytes, as seg_chunk_summarize made it) to sums. Room for both must
 * be reserved (sd_buf errors stay sticky otherwise). */
void seg_chunk_add(struct sd_buf *entries, struct sd_buf *sums, uint32_t block, const uint8_t *sum,
                   size_t sum_len);
/* Appends to entries and sums the CHUNKS entry `entry` of s (seg_chunk_entry), renumbered to
 * start at block `first`, with its summary: what a merge that copies the blocks carries. */
void seg_chunk_copy(const struct seg *s, const uint8_t *entry, uint32_t first,
                    struct sd_buf *entries, struct sd_buf *sums);
/* Writes the CHUNKS section: u32 count, the entries, the summaries. */
void seg_chunk_write(struct sd_buf *out, const struct sd_buf *entries, const struct sd_buf *sums);
/* May the len-byte filter bits hold the stem with XXH3-64 h? False only if it does not. */
bool seg_chunk_bloom_test(const uint8_t *bits, size_t len, uint64_t h);
/* The CHUNKS entry of the record whose first stored block is `block`: NULL when the record is
 * not cut (the entries were checked by seg_open). */
const uint8_t *seg_chunk_entry(const struct seg *s, uint32_t block);

#endif
