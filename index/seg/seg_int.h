/*
 * seg_int.h: private interfaces between the files of index/seg/. Never included from outside
 * the module (seg_test.c and bench_seg.c, which live here, may include it).
 *
 *   seg_codec.c   the block codec (128 integers bit-packed) and the one-byte length norms
 *   seg_arena.c   the builder's bump allocator and chunked byte streams
 *   seg_build.c   the in-memory inverter: documents in, term records and doc tables out
 *   seg_write.c   serialization of a builder into a segment image (FORMAT IS DOCUMENTED THERE)
 *   seg_open.c    opening and verifying an image; fields, norms, doc ids
 *   seg_stored.c  stored documents: record encoding (builder side) and loading
 *   seg_dict.c    term dictionary lookups and prefix walks
 *   seg_post.c    the postings iterator
 */
#ifndef SEARCHD_SEG_INT_H
#define SEARCHD_SEG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seg.h"

/* ---- format constants (see the table at the top of seg_write.c) ---- */

#define SEG_MAGIC          "SDSG"
#define SEG_FORMAT_VERSION 1 /* bump on any layout change; see docs/FORMAT.md */
#define SEG_FORMAT_OLDEST  1 /* oldest version this reader accepts */
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
    SEG_SECT_POSTINGS,
    SEG_SECT_POSITIONS,
    SEG_SECT_DICT,
    SEG_SECT_DICT_INDEX,
    SEG_NSECT
};

/* nsect u32, nsect x (offset u64, length u64), doc count u32, field count u32, term count u64 */
#define SEG_FOOTER_BODY_LEN (4 + SEG_NSECT * 16 + 4 + 4 + 8)
#define SEG_FOOTER_LEN      (SEG_FOOTER_BODY_LEN + SEG_FOOTER_TAIL_LEN)

#define SEG_IDMAP_ENTRY_LEN  12 /* XXH3 of the id u64, doc u32 */
#define SEG_SDOC_ENTRY_LEN   12 /* stored block u32, offset in raw block u32, raw length u32 */
#define SEG_SBLOCK_ENTRY_LEN 16 /* offset in STORED_DATA u64, compressed u32, raw length u32 */
#define SEG_SKIP_ENTRY_LEN   17 /* last doc, block offset, positions offset, max tf: u32; norm */
#define SEG_DICT_ENTRY_LEN   32 /* see seg_write.c */
#define SEG_DICT_BLOCK_TERMS 64 /* terms per dictionary block */
#define SEG_MAX_KEY          (2 + STEM_MAX_TOKEN) /* field u8, kind u8, term bytes */

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
    struct sd_map map; /* file segments: the mapping (released by seg_close) */
    uint8_t *owned;    /* memory segments: the malloc'd image (freed by seg_close) */
    uint16_t version;
    uint8_t codec;
    uint32_t doc_count;
    unsigned field_count;
    uint64_t term_count;
    struct seg_span sect[SEG_NSECT];
    struct seg_field_info *fields; /* owned; field_count entries */
    const uint8_t *id_bytes;       /* DOC_IDS after its offset table */
    size_t id_bytes_len;
    uint32_t dict_nblocks;
    const uint8_t *dict_keys; /* DICT_INDEX after its entries */
    size_t dict_keys_len;
    uint32_t stored_nblocks;
};

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

/* Validates the dictionary index against the sections (called by open). */
int seg_dict_check(struct seg *s, struct sd_error *err);

/* ---- seg_codec.c ---- */

/* Bits needed for the largest of v[0, n) (0 when all are 0). */
unsigned seg_bits_max(const uint32_t *v, size_t n);
/* Packs 128 values (each < 2^bits, bits <= 32) into 16 * bits bytes at out. */
void seg_pack128(const uint32_t *in, unsigned bits, uint8_t *out);
/* Unpacks 16 * bits bytes at in into 128 values. Reads exactly 16 * bits bytes. */
void seg_unpack128(const uint8_t *in, unsigned bits, uint32_t *out);

/* Unpacks 128 gaps (as seg_unpack128) straight into doc ids: out[i] = next + gap, then
 * next = out[i] + 1. Returns the final next (one past the last doc, 64-bit: no overflow). */
uint64_t seg_unpack128_gaps(const uint8_t *in, unsigned bits, uint32_t *out, uint64_t next);

uint8_t seg_norm_encode(uint32_t len);

#endif
