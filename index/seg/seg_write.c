/*
 * seg_write.c: serializes a seg_builder into one immutable segment image.
 *
 * Segment format v5 (SEG_FORMAT_VERSION). Integers are little-endian, fixed width unless
 * marked varint (LEB128). Offsets are from the start of the image. The sections lie between
 * header and footer in the order below and are found only through the footer's table.
 *
 *   HEADER (8 bytes)
 *   offset  size  field
 *   0       4     magic "SDSG"
 *   4       2     format version (5; 4 lacks CHUNKS, 3 the keyword doc sets, 2 ATTRS)
 *   6       1     postings codec (1 = BP128: 128 values bit-packed at one width, scalar)
 *   7       1     flags (0)
 *
 *   section        contents
 *   FIELDS         u32 count; per field: u8 name length, name, u64 total tokens, u32 docs with it
 *   DOC_IDS        (docs + 1) u32 offsets into the id bytes (first 0, last = their length),
 *                  then the id bytes; doc d's id is bytes [off[d], off[d+1])
 *   ID_MAP         docs x (u64 XXH3-64 of the id, u32 doc), sorted by (hash, doc)
 *   NORMS          fields x docs bytes, field-major: byte f*docs + d is the length norm of
 *                  field f in doc d (seg_codec.c; 0 = doc lacks the field or it is empty)
 *   STORED_DOCS    docs x (u32 stored block, u32 offset in its raw bytes, u32 raw length);
 *                  (v5) a length more than the block holds (offset 0): the record is
 *                  stored in chunks, one block each from this one on (CHUNKS)
 *   STORED_BLOCKS  blocks x (u64 offset in STORED_DATA, u32 compressed len, u32 raw len)
 *   STORED_DATA    LZ4 blocks (raw LZ4, no frame) of records: varint nfields; per field
 *                  u8 field id, u8 type (0 text, 1 raw JSON, 2 (v3) JSON array of strings
 *                  indexed as text: seg_textarr.c), varint length, bytes
 *   TITLES         (docs + 1) u32 offsets into the title bytes (first 0, last = their
 *                  length), then the title bytes, uncompressed; doc d's title is bytes
 *                  [off[d], off[d+1]): the value of its text field "title" (SEG_TITLE_FIELD)
 *                  cut to at most SEG_TITLE_MAX = 300 bytes at a UTF-8 character boundary,
 *                  empty if it has none
 *   POSTINGS       per term in dictionary order, its postings (below)
 *   POSITIONS      per SEG_EXACT term in dictionary order: for each doc of its postings,
 *                  tf varint deltas (the first from 0)
 *   DICT           dictionary blocks (below)
 *   DICT_INDEX     u32 nblocks; nblocks x 32-byte entries; first-key bytes
 *   ATTRS          (v3) attribute columns: u32 count, a directory sorted by name, the column
 *                  bodies (format at the top of seg_attr_write.c)
 *   CHUNKS         (v5) records over SEG_STORED_BLOCK_TARGET = 16384 raw bytes, cut into
 *                  chunks of at most that many bytes (seg_chunk.c: at a space of a text
 *                  value when one is in the chunk's second half, else never inside a
 *                  UTF-8 sequence): u32 count; count x 20-byte entries ascending by first
 *                  block (u32 first block, u32 chunks >= 2, u32 filter bytes F, u64 offset
 *                  of the summaries after the entries); then per record, per chunk: u8
 *                  flags (1: its first byte is an ASCII space, tab, CR or LF), F bytes of
 *                  Bloom filter of the stems of the tokens overlapping the chunk (6 probes
 *                  of XXH3-64: lo + k * (hi | 1) mod 8F; 10 bits per stem of the fullest
 *                  chunk)
 *
 *   FOOTER (260 bytes, at end - 260)
 *   0       4     section count (14)
 *   4       224   14 x (u64 offset, u64 length), in the order of the table above
 *   228     4     doc count       232  4  field count       236  8  term count
 *   244     8     XXH3-64 of [0, end - 16)
 *   252     4     footer length (260)
 *   256     4     magic "SDSG"
 *
 * Formats v3 and v4 are the same without CHUNKS (every record in one block): 13 sections and
 * a 244-byte footer (its fields 16 bytes earlier); v2 also lacks ATTRS: 12 sections, 228
 * bytes. Older segments open with no chunks (and v2 no attribute columns); merges write v5.
 *
 * Term key: u8 field id, u8 kind ('s' SEG_STEM, 'e' SEG_EXACT), term bytes (1..255). Keys
 * sort by memcmp, a key before its extensions, so the terms of one (field, kind) are
 * contiguous and a prefix is a range.
 *
 * DICT block (up to 64 terms; SEG_DICT_WRITE_TERMS = 16 written): per term varint shared-prefix length with the previous key
 * of the block (0 for the first), varint suffix length, suffix, varint df, varint
 * total_tf - df, varint postings length, and for SEG_EXACT only varint positions length
 * (SEG_STEM terms have no positions; the kind is key byte 1).
 * DICT_INDEX entry: u32 first-key offset in the key bytes, u16 first-key length, u16 terms in
 * the block, u64 block offset in DICT, u64 postings offset of its first term in POSTINGS,
 * u64 positions offset in POSITIONS. A block ends where the next one starts; a term's
 * postings/positions start where the previous term's end. A lookup binary-searches the
 * entries' first keys in the mapping and decodes one block.
 *
 * POSTINGS of a term with df docs: gap = doc - previous doc - 1 (the first doc's gap is the
 * doc itself; a block's first gap is from the previous block's last doc); freqs are stored
 * as tf - 1. Docs go in blocks of 128, the last block holding the rest (df % 128 if not 0).
 * A block of n docs (codec 1):
 *   n >= 2:  u8 b1, u8 b2 (b2 <= 31), ceil(n*b1/8) bytes of the n gaps, ceil(n*b2/8) bytes
 *            of the n (tf - 1), bit-packed (seg_codec.c): value i at bits [i*b, i*b + b)
 *            of a little-endian bit stream. A full block (n = 128) takes 2 + 16*(b1 + b2).
 *   n == 1:  varint gap, varint tf - 1.
 *   df < 128:  one block of df docs. No skip data: decoded at once.
 *   df >= 128: nb = ceil(df / 128) blocks after a skip table of nb x 14 bytes:
 *                u32 last doc of the block, u32 block offset (from the end of the skip
 *                table), u32 positions offset of its first doc (from the term's positions
 *                start), u8 max tf of the block (255 = 255 or more), u8 min norm of the
 *                term's field over the block's docs.
 *
 * Readers accept versions [SEG_FORMAT_OLDEST, SEG_FORMAT_VERSION] and postings codec 1, and
 * reject others by name. The checksum is verified before any offset is trusted.
 * docs/FORMAT.md carries a copy of this table.
 */
#include <stdlib.h>

#include "seg_build_int.h"

struct seg_writer {
    struct seg_builder *b;
    struct sd_buf *out; /* the image starts at out->data + base */
    size_t base;
    struct seg_sink sink; /* out, memory only */
    uint64_t sect_off[SEG_NSECT];
    uint64_t sect_len[SEG_NSECT];
    struct seg_term_rec **terms; /* owned; sorted */
    size_t nterms;
    struct seg_tw tw;  /* POSTINGS, POSITIONS, DICT, DICT_INDEX */
    struct sd_buf tmp; /* one term's streams, contiguous */
    uint32_t *docs;    /* owned; one term's docs and tfs */
    uint32_t *tfs;
    size_t cap;
};

static int cmp_terms(const void *a, const void *b)
{
    const struct seg_term_rec *x = *(struct seg_term_rec *const *)a;
    const struct seg_term_rec *y = *(struct seg_term_rec *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (int)x->key_len - (int)y->key_len;
}

static void sect_begin(struct seg_writer *w, enum seg_section s)
{
    w->sect_off[s] = w->out->len - w->base;
}

static void sect_end(struct seg_writer *w, enum seg_section s)
{
    w->sect_len[s] = w->out->len - w->base - w->sect_off[s];
}

void seg_write_header(struct sd_buf *out)
{
    sd_buf_put(out, SEG_MAGIC, 4);
    sd_buf_put_le16(out, SEG_FORMAT_VERSION);
    sd_buf_put_u8(out, SEG_CODEC_BP128);
    sd_buf_put_u8(out, 0);
}

static void write_fields(struct seg_writer *w)
{
    const struct seg_builder *b = w->b;
    sect_begin(w, SEG_SECT_FIELDS);
    sd_buf_put_le32(w->out, b->field_count);
    for (unsigned f = 0; f < b->field_count; f++) {
        const struct seg_build_field *bf = &b->fields[f];
        sd_buf_put_u8(w->out, (uint8_t)bf->name_len);
        sd_buf_put(w->out, bf->name, bf->name_len);
        sd_buf_put_le64(w->out, bf->total_len);
        sd_buf_put_le32(w->out, bf->docs);
    }
    sect_end(w, SEG_SECT_FIELDS);
}

/* DOC_IDS or TITLES: offs holds each doc's start in bytes; the table ends with their length. */
static void write_doc_table(struct seg_writer *w, enum seg_section sect, const struct sd_buf *offs,
                            const struct sd_buf *bytes)
{
    sect_begin(w, sect);
    sd_buf_put(w->out, offs->data, offs->len);
    sd_buf_put_le32(w->out, (uint32_t)bytes->len);
    sd_buf_put(w->out, bytes->data, bytes->len);
    sect_end(w, sect);
}

static int cmp_id_hash(const void *a, const void *b)
{
    const struct seg_id_hash *x = a, *y = b;
    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

void seg_write_id_map(struct sd_buf *out, struct seg_id_hash *ids, uint32_t n)
{
    qsort(ids, n, sizeof *ids, cmp_id_hash);
    sd_buf_reserve(out, (size_t)n * SEG_IDMAP_ENTRY_LEN);
    for (uint32_t d = 0; d < n; d++) {
        sd_buf_put_le64(out, ids[d].hash);
        sd_buf_put_le32(out, ids[d].doc);
    }
}

static int write_id_map(struct seg_writer *w)
{
    const struct seg_builder *b = w->b;
    struct seg_id_hash *ids = malloc(((size_t)b->doc_count + 1) * sizeof *ids);
    if (!ids) {
        return SD_ENOMEM;
    }
    for (uint32_t d = 0; d < b->doc_count; d++) {
        uint32_t start = sd_get_le32(b->id_offs.data + 4 * (size_t)d);
        uint32_t end = d + 1 < b->doc_count ? sd_get_le32(b->id_offs.data + 4 * (size_t)d + 4)
                                            : (uint32_t)b->ids.len;
        ids[d].hash = sd_hash64(b->ids.data + start, end - start);
        ids[d].doc = d;
    }
    sect_begin(w, SEG_SECT_ID_MAP);
    seg_write_id_map(w->out, ids, b->doc_count);
    sect_end(w, SEG_SECT_ID_MAP);
    free(ids);
    return SD_OK;
}

static void write_norms(struct seg_writer *w)
{
    struct seg_builder *b = w->b;
    sect_begin(w, SEG_SECT_NORMS);
    for (unsigned f = 0; f < b->field_count; f++) {
        const struct sd_buf *n = &b->fields[f].norms;
        sd_buf_put(w->out, n->data, n->len);
        if (sd_buf_reserve(w->out, b->doc_count - n->len) == SD_OK) {
            memset(w->out->data + w->out->len, 0, b->doc_count - n->len); /* docs after the */
            w->out->len += b->doc_count - n->len; /* last one with the field */
        }
    }
    sect_end(w, SEG_SECT_NORMS);
}

static void write_stored(struct seg_writer *w)
{
    const struct seg_builder *b = w->b;
    sect_begin(w, SEG_SECT_STORED_DOCS);
    sd_buf_put(w->out, b->stored_docs.data, b->stored_docs.len);
    sect_end(w, SEG_SECT_STORED_DOCS);
    sect_begin(w, SEG_SECT_STORED_BLOCKS);
    sd_buf_put(w->out, b->stored_blocks.data, b->stored_blocks.len);
    sect_end(w, SEG_SECT_STORED_BLOCKS);
    sect_begin(w, SEG_SECT_STORED_DATA);
    sd_buf_put(w->out, b->stored_data.data, b->stored_data.len);
    sect_end(w, SEG_SECT_STORED_DATA);
}

/* ---- the term writer (shared with seg_merge.c) ---- */

void seg_tw_init(struct seg_tw *w, struct seg_sink *sink, uint64_t base, uint64_t *sect_off)
{
    memset(w, 0, sizeof *w);
    w->sink = sink;
    w->out = sink->buf;
    w->base = base;
    w->post_start = seg_sink_pos(sink);
    sect_off[SEG_SECT_POSTINGS] = w->post_start - base;
    sd_buf_init(&w->pos);
    sd_buf_init(&w->dict);
    sd_buf_init(&w->dindex);
    sd_buf_init(&w->dkeys);
}

void seg_tw_free(struct seg_tw *w)
{
    free(w->blk_pos);
    sd_buf_free(&w->pos);
    sd_buf_free(&w->dict);
    sd_buf_free(&w->dindex);
    sd_buf_free(&w->dkeys);
}

/* Records where each block's first doc starts in the term's positions [start, pos.len). The
 * bytes were written by us (builder streams or the merge's re-encoding): trusted. */
static int index_positions(struct seg_tw *w, const uint32_t *tfs, uint32_t df, size_t start)
{
    size_t nblocks = (size_t)df / SEG_BLOCK + 1;
    if (nblocks > w->blk_cap) {
        uint32_t *p = realloc(w->blk_pos, nblocks * sizeof *p);
        if (!p) {
            return SD_ENOMEM;
        }
        w->blk_pos = p;
        w->blk_cap = nblocks;
    }
    const uint8_t *base = w->pos.data + start, *p = base;
    for (uint32_t i = 0; i < df; i++) {
        if (i % SEG_BLOCK == 0) {
            w->blk_pos[i / SEG_BLOCK] = (uint32_t)(p - base);
        }
        for (uint32_t k = 0; k < tfs[i]; k++) {
            while (*p++ & 0x80) {
            }
        }
    }
    return SD_OK;
}

/* One block of n docs: n == 1 is a varint pair (gap, tf - 1); otherwise u8 b1, u8 b2 and the
 * n gaps and n (tf - 1) bit-packed, a full block (n == SEG_BLOCK) or a truncated one. */
static void put_block(struct sd_buf *out, const uint32_t *docs, const uint32_t *tfs, uint32_t n,
                      uint64_t next)
{
    if (n == 1) {
        sd_buf_put_varint(out, docs[0] - next);
        sd_buf_put_varint(out, tfs[0] - 1);
        return;
    }
    uint32_t gaps[SEG_BLOCK], tf1[SEG_BLOCK];
    uint8_t packed[16 * 32];
    for (uint32_t i = 0; i < n; i++) {
        gaps[i] = (uint32_t)(docs[i] - next);
        tf1[i] = tfs[i] - 1;
        next = (uint64_t)docs[i] + 1;
    }
    unsigned b1 = seg_bits_max(gaps, n), b2 = seg_bits_max(tf1, n);
    sd_buf_put_u8(out, (uint8_t)b1);
    sd_buf_put_u8(out, (uint8_t)b2);
    sd_buf_put(out, packed, seg_pack(gaps, n, b1, packed));
    sd_buf_put(out, packed, seg_pack(tf1, n, b2, packed));
}

static void fill_skip(const struct seg_tw *w, const struct seg_tw_term *t, uint32_t blk,
                      uint32_t first, uint32_t n, uint32_t off, uint8_t *e)
{
    uint32_t max_tf = 0;
    uint8_t min_norm = 255;
    for (uint32_t i = first; i < first + n; i++) {
        max_tf = t->tfs[i] > max_tf ? t->tfs[i] : max_tf;
        uint8_t nb = t->docs[i] < t->norms_len ? t->norms[t->docs[i]] : 0;
        min_norm = nb < min_norm ? nb : min_norm;
    }
    sd_put_le32(e, t->docs[first + n - 1]);
    sd_put_le32(e + 4, off);
    sd_put_le32(e + 8, t->key[1] == SEG_EXACT ? w->blk_pos[blk] : 0);
    e[12] = (uint8_t)(max_tf < SEG_SKIP_TF_MAX ? max_tf : SEG_SKIP_TF_MAX);
    e[13] = min_norm;
}

/* Writes the blocked form (df >= SEG_BLOCK): skip table first, patched as blocks go out. */
static int write_blocks(struct seg_tw *w, const struct seg_tw_term *t)
{
    struct sd_buf *out = w->out;
    uint32_t nblocks = (t->df + SEG_BLOCK - 1) / SEG_BLOCK;
    size_t skip = out->len;
    if (sd_buf_reserve(out, (size_t)nblocks * SEG_SKIP_ENTRY_LEN) != SD_OK) {
        return SD_ENOMEM;
    }
    out->len += (size_t)nblocks * SEG_SKIP_ENTRY_LEN;
    size_t data = out->len;
    for (uint32_t blk = 0; blk < nblocks; blk++) {
        uint32_t first = blk * SEG_BLOCK;
        uint32_t n = t->df - first < SEG_BLOCK ? t->df - first : SEG_BLOCK;
        uint64_t next = first ? (uint64_t)t->docs[first - 1] + 1 : 0;
        if (out->len - data > UINT32_MAX) {
            return SD_ELIMIT;
        }
        uint8_t e[SEG_SKIP_ENTRY_LEN];
        fill_skip(w, t, blk, first, n, (uint32_t)(out->len - data), e);
        put_block(out, t->docs + first, t->tfs + first, n, next);
        if (out->rc) {
            return out->rc;
        }
        memcpy(out->data + skip + (size_t)blk * SEG_SKIP_ENTRY_LEN, e, sizeof e);
    }
    return SD_OK;
}

static void dict_add(struct seg_tw *w, const struct seg_tw_term *t, uint64_t post_len,
                     uint64_t pos_len, uint64_t post_off, uint64_t pos_off)
{
    size_t shared = 0;
    if (w->block_terms == SEG_DICT_WRITE_TERMS || w->nterms == 0) {
        w->block_terms = 0;
        uint8_t e[SEG_DICT_ENTRY_LEN];
        sd_put_le32(e, (uint32_t)w->dkeys.len);
        sd_put_le16(e + 4, (uint16_t)t->key_len);
        sd_put_le16(e + 6, 0); /* terms: patched below */
        sd_put_le64(e + 8, w->dict.len);
        sd_put_le64(e + 16, post_off);
        sd_put_le64(e + 24, pos_off);
        sd_buf_put(&w->dindex, e, sizeof e);
        sd_buf_put(&w->dkeys, t->key, t->key_len);
    } else {
        size_t n = w->prev_len < t->key_len ? w->prev_len : t->key_len;
        while (shared < n && w->prev_key[shared] == t->key[shared]) {
            shared++;
        }
    }
    sd_buf_put_varint(&w->dict, shared);
    sd_buf_put_varint(&w->dict, t->key_len - shared);
    sd_buf_put(&w->dict, t->key + shared, t->key_len - shared);
    sd_buf_put_varint(&w->dict, t->df);
    sd_buf_put_varint(&w->dict, t->total_tf - t->df);
    sd_buf_put_varint(&w->dict, post_len);
    if (t->key[1] == SEG_EXACT) {
        sd_buf_put_varint(&w->dict, pos_len); /* stems have no positions: nothing to say */
    }
    w->block_terms++;
    if (w->dindex.rc == SD_OK) {
        sd_put_le16(w->dindex.data + w->dindex.len - SEG_DICT_ENTRY_LEN + 6,
                    (uint16_t)w->block_terms);
    }
    memcpy(w->prev_key, t->key, t->key_len);
    w->prev_len = t->key_len;
    w->nterms++;
}

int seg_tw_add(struct seg_tw *w, const struct seg_tw_term *t)
{
    if (w->pos.rc) {
        return w->pos.rc;
    }
    uint64_t pos_off = t->pos_start, pos_len = w->pos.len - t->pos_start;
    if (pos_len > UINT32_MAX) {
        return SD_ELIMIT;
    }
    int rc = SD_OK;
    if (t->key[1] == SEG_EXACT && t->df >= SEG_BLOCK) {
        rc = index_positions(w, t->tfs, t->df, t->pos_start);
    }
    if (rc) {
        return rc;
    }
    uint64_t post_off = seg_sink_pos(w->sink) - w->post_start;
    if (t->df < SEG_BLOCK) {
        put_block(w->out, t->docs, t->tfs, t->df, 0);
    } else if ((rc = write_blocks(w, t)) != SD_OK) {
        return rc;
    }
    uint64_t post_len = seg_sink_pos(w->sink) - w->post_start - post_off;
    dict_add(w, t, post_len, pos_len, post_off, pos_off);
    return w->out->rc;
}

int seg_tw_finish(struct seg_tw *w, uint64_t *sect_off, uint64_t *sect_len)
{
    struct sd_buf *out = w->out;
    uint64_t at = seg_sink_pos(w->sink) - w->base;
    sect_len[SEG_SECT_POSTINGS] = at - sect_off[SEG_SECT_POSTINGS];
    sect_off[SEG_SECT_POSITIONS] = at;
    int rc = w->pos.rc ? w->pos.rc : w->dict.rc;
    if (rc || (rc = seg_sink_put(w->sink, w->pos.data, w->pos.len)) ||
        (rc = seg_sink_put(w->sink, w->dict.data, w->dict.len))) {
        return rc;
    }
    sect_len[SEG_SECT_POSITIONS] = w->pos.len;
    sect_off[SEG_SECT_DICT] = at + w->pos.len;
    sect_len[SEG_SECT_DICT] = w->dict.len;
    sect_off[SEG_SECT_DICT_INDEX] = at + w->pos.len + w->dict.len;
    sd_buf_put_le32(out, (uint32_t)(w->dindex.len / SEG_DICT_ENTRY_LEN));
    sd_buf_put(out, w->dindex.data, w->dindex.len);
    sd_buf_put(out, w->dkeys.data, w->dkeys.len);
    sect_len[SEG_SECT_DICT_INDEX] = 4 + w->dindex.len + w->dkeys.len;
    rc = w->dindex.rc ? w->dindex.rc : w->dkeys.rc;
    return rc ? rc : out->rc;
}

/* ---- the builder's terms ---- */

/* A term and the first 8 bytes of its key, big-endian and zero-padded: ordering these
 * numbers orders the keys as cmp_terms does, except between keys that agree in them. */
struct term_prefix {
    uint64_t prefix;
    struct seg_term_rec *rec;
};

static uint64_t key_prefix(const struct seg_term_rec *r)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        v = v << 8 | (i < r->key_len ? r->key[i] : 0);
    }
    return v;
}

/* Sorts t[0, n) by prefix: LSD radix sort a byte at a time (stable), skipping the bytes all
 * prefixes share (the field and kind bytes, mostly). tmp has n entries. */
static void radix_sort(struct term_prefix *t, struct term_prefix *tmp, size_t n)
{
    struct term_prefix *src = t, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++) {
            count[(src[i].prefix >> shift) & 0xff]++;
        }
        if (n == 0 || count[(src[0].prefix >> shift) & 0xff] == n) {
            continue;
        }
        size_t at = 0;
        for (unsigned d = 0; d < 256; d++) {
            size_t c = count[d];
            count[d] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++) {
            dst[count[(src[i].prefix >> shift) & 0xff]++] = src[i];
        }
        struct term_prefix *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != t) {
        memcpy(t, src, n * sizeof *t);
    }
}

static int cmp_prefixed(const void *a, const void *b)
{
    return cmp_terms(&((const struct term_prefix *)a)->rec, &((const struct term_prefix *)b)->rec);
}

/* The builder's terms with postings, sorted by key. Sorting pointers with cmp_terms went
 * to the records for every comparison: 7% of a 200k-document build (perf). Now the radix
 * sort orders 16-byte entries by key prefix and only runs of equal prefixes (long words
 * sharing 6 leading bytes) are compared whole. */
static int collect_terms(struct seg_writer *w)
{
    const struct seg_builder *b = w->b;
    w->terms = malloc((b->nterms + 1) * sizeof *w->terms);
    struct term_prefix *t = malloc((2 * b->nterms + 1) * sizeof *t);
    if (!w->terms || !t) {
        free(t);
        return SD_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < b->nslots; i++) {
        struct seg_term_rec *r = b->slots[i].rec;
        if (r && r->df > 0) {
            t[n++] = (struct term_prefix){key_prefix(r), r};
        }
    }
    radix_sort(t, t + n, n);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && t[j].prefix == t[i].prefix; j++) {
        }
        if (j - i > 1) {
            qsort(t + i, j - i, sizeof *t, cmp_prefixed);
        }
    }
    for (size_t i = 0; i < n; i++) {
        w->terms[i] = t[i].rec;
    }
    w->nterms = n;
    free(t);
    return SD_OK;
}

static int grow_arrays(struct seg_writer *w, size_t df)
{
    if (df <= w->cap) {
        return SD_OK;
    }
    size_t cap = df < 1024 ? 1024 : df;
    uint32_t *d = realloc(w->docs, cap * sizeof *d);
    if (d) {
        w->docs = d;
    }
    uint32_t *t = realloc(w->tfs, cap * sizeof *t);
    if (t) {
        w->tfs = t;
    }
    if (!d || !t) {
        return SD_ENOMEM;
    }
    w->cap = cap;
    return SD_OK;
}

/* Decodes r's committed postings stream into w->docs / w->tfs. The stream is our own
 * memory, so it is trusted. */
static int load_postings(struct seg_writer *w, const struct seg_term_rec *r)
{
    if (grow_arrays(w, r->df) != SD_OK) {
        return SD_ENOMEM;
    }
    sd_buf_reset(&w->tmp);
    if (sd_buf_reserve(&w->tmp, r->docs.len) != SD_OK) {
        return SD_ENOMEM;
    }
    seg_stream_copy(&r->docs, w->tmp.data);
    struct sd_rd rd;
    sd_rd_init(&rd, w->tmp.data, r->docs.len);
    uint64_t next = 0;
    for (uint32_t i = 0; i < r->df; i++) {
        uint32_t gap = 0, tf1 = 0;
        (void)sd_rd_varint32(&rd, &gap);
        (void)sd_rd_varint32(&rd, &tf1);
        w->docs[i] = (uint32_t)(next + gap);
        w->tfs[i] = tf1 + 1;
        next = (uint64_t)w->docs[i] + 1;
    }
    return SD_OK;
}

static int write_term(struct seg_writer *w, const struct seg_term_rec *r)
{
    int rc = load_postings(w, r);
    struct sd_buf *pos = &w->tw.pos;
    size_t pos_start = pos->len;
    if (rc == SD_OK && r->key[1] == SEG_EXACT && r->pos.len > 0) {
        rc = sd_buf_reserve(pos, r->pos.len);
        if (rc == SD_OK) {
            seg_stream_copy(&r->pos, pos->data + pos->len);
            pos->len += r->pos.len;
        }
    }
    if (rc) {
        return rc;
    }
    const struct sd_buf *norms = &w->b->fields[r->key[0]].norms;
    struct seg_tw_term t = {
        .key = r->key,
        .key_len = r->key_len,
        .docs = w->docs,
        .tfs = w->tfs,
        .df = r->df,
        .total_tf = r->total_tf,
        .pos_start = pos_start,
        .norms = norms->data,
        .norms_len = norms->len,
    };
    return seg_tw_add(&w->tw, &t);
}

static int write_terms(struct seg_writer *w)
{
    int rc = collect_terms(w);
    seg_tw_init(&w->tw, &w->sink, w->base, w->sect_off);
    for (size_t i = 0; i < w->nterms && rc == SD_OK; i++) {
        rc = write_term(w, w->terms[i]);
    }
    int frc = seg_tw_finish(&w->tw, w->sect_off, w->sect_len);
    return rc ? rc : frc;
}

int seg_write_footer(struct seg_sink *s, uint64_t base, const uint64_t *sect_off,
                     const uint64_t *sect_len, uint32_t docs, uint32_t fields, uint64_t nterms)
{
    struct sd_buf *out = s->buf;
    sd_buf_put_le32(out, SEG_NSECT);
    for (int i = 0; i < SEG_NSECT; i++) {
        sd_buf_put_le64(out, sect_off[i]);
        sd_buf_put_le64(out, sect_len[i]);
    }
    sd_buf_put_le32(out, docs);
    sd_buf_put_le32(out, fields);
    sd_buf_put_le64(out, nterms);
    if (out->rc) {
        return out->rc;
    }
    uint64_t hash;
    if (s->fd < 0) {
        hash = sd_hash64(out->data + base, out->len - base);
    } else {
        int rc = seg_sink_hash(s, &hash);
        if (rc) {
            return rc;
        }
    }
    sd_buf_put_le64(out, hash);
    sd_buf_put_le32(out, SEG_FOOTER_LEN);
    sd_buf_put(out, SEG_MAGIC, 4);
    return out->rc;
}

static void writer_free(struct seg_writer *w)
{
    free(w->terms);
    free(w->docs);
    free(w->tfs);
    seg_tw_free(&w->tw);
    sd_buf_free(&w->tmp);
}

int seg_builder_finish(struct seg_builder *b, struct sd_buf *out, struct sd_error *err)
{
    if (b->is_finished) {
        return sd_errorf(err, SD_EINVAL, "seg_builder_finish called twice");
    }
    b->is_finished = true;
    struct seg_writer w = {.b = b, .out = out, .base = out->len,
                           .sink = {.buf = out, .fd = -1, .path = "segment image", .err = err}};
    int rc = seg_stored_flush(b, 0);
    if (rc) {
        return sd_errorf(err, rc, "seg_builder_finish: stored documents: %s", sd_status_name(rc));
    }
    seg_write_header(out);
    write_fields(&w);
    write_doc_table(&w, SEG_SECT_DOC_IDS, &b->id_offs, &b->ids);
    rc = write_id_map(&w);
    write_norms(&w);
    write_stored(&w);
    write_doc_table(&w, SEG_SECT_TITLES, &b->title_offs, &b->titles);
    if (rc == SD_OK) {
        rc = write_terms(&w);
    }
    if (rc == SD_OK) {
        sect_begin(&w, SEG_SECT_ATTRS);
        rc = seg_acols_write(&b->acols, out);
        sect_end(&w, SEG_SECT_ATTRS);
    }
    if (rc == SD_OK) {
        sect_begin(&w, SEG_SECT_CHUNKS);
        seg_chunk_write(out, &b->chunk_entries, &b->chunk_sums);
        sect_end(&w, SEG_SECT_CHUNKS);
        rc = out->rc;
    }
    if (rc == SD_OK) {
        rc = seg_write_footer(&w.sink, w.base, w.sect_off, w.sect_len, b->doc_count,
                              b->field_count, w.tw.nterms);
    }
    writer_free(&w);
    if (rc) {
        out->len = w.base;
        return sd_errorf(err, rc, "seg_builder_finish: %s", sd_status_name(rc));
    }
    return SD_OK;
}
