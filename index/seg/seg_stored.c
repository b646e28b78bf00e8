/*
 * seg_stored.c: stored documents, written by the builder and loaded by id.
 *
 * A doc's record (format in seg_write.c, STORED_*) lists its fields in the order they were
 * given: varint nfields, then per field u8 field id, u8 value type, varint value length,
 * value bytes. Names are not repeated: the field id points into the segment's field table.
 * seg_analyze.c encodes it (with the field's index in the doc as its id, which
 * seg_builder_add_analyzed rewrites to the segment's id).
 *
 * Records are gathered into blocks of about SEG_STORED_BLOCK_TARGET raw bytes, and each
 * block is compressed with LZ4_compress_default. Why blocks and not one frame per doc: the
 * corpus of issue 5 averages ~1.3 KB per doc, and LZ4 on one such doc finds few matches
 * (it has no dictionary); a 16 KiB block lets words repeated across neighbouring documents
 * compress too. Why not larger blocks: a load is for a top-k hit, and it decodes with
 * LZ4_decompress_safe_partial only up to the end of the wanted record, so 16 KiB bounds the
 * work of one load to a few microseconds. A doc larger than the target gets blocks of its
 * own: from format 5 it is cut into chunks of at most the target, one block each, with a
 * filter of the stems each holds (seg_chunk.c), so a snippet reads the chunks it needs
 * through a view (seg_doc_view_*, below) instead of the whole record. Per-doc entries
 * (block, offset, length) make finding a record O(1).
 *
 * Titles. A result page shows each hit's id and title; decompressing a 16 KiB block per hit
 * for a few dozen bytes of title was most of the cost of filling a hit. So the builder also
 * keeps each doc's title field, cut to SEG_TITLE_MAX bytes at a UTF-8 character boundary, in
 * the uncompressed TITLES section (seg_stored_title here; read by seg_doc_title in
 * seg_open.c, beside the ids). A merge copies them as they are.
 */
#include <stdlib.h>

#include <lz4.h>

#include "seg_build_int.h"

/* How many of the len bytes of a title a segment keeps: all up to SEG_TITLE_MAX, else
 * SEG_TITLE_MAX less any bytes of the UTF-8 sequence the cut would split (a continuation byte
 * 10xxxxxx right after the cut means the cut is inside a sequence). The engine showed titles
 * cut this way before segments kept them, so hits' titles did not change. */
static size_t title_cut(const char *value, size_t len)
{
    if (len <= SEG_TITLE_MAX) {
        return len;
    }
    len = SEG_TITLE_MAX;
    while (len > 0 && ((unsigned char)value[len] & 0xC0) == 0x80) {
        len--;
    }
    return len;
}

void seg_stored_title(struct seg_builder *b, const struct seg_analysis *an)
{
    sd_buf_put_le32(&b->title_offs, (uint32_t)b->titles.len);
    for (size_t i = 0; i < an->nfields; i++) {
        const struct seg_an_field *f = &an->fields[i];
        const char *name = (const char *)an->text.data + f->name_off;
        if (f->type == SEG_TEXT && f->name_len == sizeof SEG_TITLE_FIELD - 1 &&
            memcmp(name, SEG_TITLE_FIELD, f->name_len) == 0 && f->value_len > 0) {
            const char *value = (const char *)an->record.data + f->value_at;
            sd_buf_put(&b->titles, value, title_cut(value, f->value_len));
            return; /* field names are unique within a doc */
        }
    }
}

/* Compresses raw[0, len) as one block: bytes appended to d, its entry to blocks. */
static int compress_block(const uint8_t *raw, size_t len, struct sd_buf *d, int64_t data_origin,
                          struct sd_buf *blocks)
{
    if (len > LZ4_MAX_INPUT_SIZE || d->len > UINT64_MAX / 2) {
        return SD_ELIMIT;
    }
    int bound = LZ4_compressBound((int)len);
    if (sd_buf_reserve(d, (size_t)bound) || sd_buf_reserve(blocks, SEG_SBLOCK_ENTRY_LEN)) {
        return SD_ENOMEM;
    }
    int n = LZ4_compress_default((const char *)raw, (char *)d->data + d->len, (int)len, bound);
    if (n <= 0) {
        return SD_ENOMEM; /* cannot happen with a bound-sized output */
    }
    uint8_t e[SEG_SBLOCK_ENTRY_LEN];
    sd_put_le64(e, (uint64_t)(data_origin + (int64_t)d->len));
    sd_put_le32(e + 8, (uint32_t)n);
    sd_put_le32(e + 12, (uint32_t)len);
    sd_buf_put(blocks, e, sizeof e);
    d->len += (size_t)n;
    return SD_OK;
}

/* A pending block larger than the target holds one record (a record that would pass the
 * target closes the pending block first): it goes out as its chunks (seg_chunk.c), one
 * block each. On failure, blocks and d are as they were. */
static int compress_chunks(const uint8_t *raw, size_t len, struct sd_buf *d, int64_t data_origin,
                           struct sd_buf *blocks)
{
    uint32_t *ends;
    size_t n;
    int rc = seg_chunk_cuts(raw, len, &ends, &n);
    size_t d_len = d->len, blocks_len = blocks->len;
    for (size_t i = 0, at = 0; rc == SD_OK && i < n; at = ends[i++]) {
        rc = compress_block(raw + at, ends[i] - at, d, data_origin, blocks);
    }
    free(ends);
    if (rc) {
        d->len = d_len;
        blocks->len = blocks_len;
    }
    return rc;
}

int seg_stored_flush_to(struct sd_buf *raw_buf, struct sd_buf *d, int64_t data_origin,
                        struct sd_buf *blocks, size_t next)
{
    size_t raw = raw_buf->len;
    if (raw == 0 || (next != 0 && raw + next <= SEG_STORED_BLOCK_TARGET)) {
        return SD_OK;
    }
    int rc = raw > SEG_STORED_BLOCK_TARGET
                 ? compress_chunks(raw_buf->data, raw, d, data_origin, blocks)
                 : compress_block(raw_buf->data, raw, d, data_origin, blocks);
    if (rc == SD_OK) {
        raw_buf->len = 0;
    }
    return rc;
}

int seg_stored_flush(struct seg_builder *b, size_t next)
{
    int rc = seg_build_collect_zjobs(b); /* blocks compressed elsewhere come first */
    return rc ? rc
              : seg_stored_flush_to(&b->stored_raw, &b->stored_data, 0, &b->stored_blocks, next);
}

/* ---- loading ---- */

/* Field i of a record at rd into out->fields[i]. */
static int parse_field(const struct seg *s, uint32_t doc, struct sd_rd *rd, size_t i,
                       struct seg_stored *out, struct sd_error *err)
{
    uint8_t fid, type;
    uint64_t vlen;
    const uint8_t *v;
    if (sd_rd_u8(rd, &fid) || sd_rd_u8(rd, &type) || sd_rd_varint(rd, &vlen) ||
        vlen > sd_rd_left(rd) || sd_rd_bytes(rd, (size_t)vlen, &v)) {
        return SD_CORRUPT(err, "%s: doc %u: stored record truncated", s->name, doc);
    }
    if (fid >= s->field_count || type > SEG_TEXT_ARRAY) {
        return SD_CORRUPT(err, "%s: doc %u: stored field %zu: bad id or type", s->name, doc, i);
    }
    struct seg_field *f = &out->fields[i];
    f->name = s->fields[fid].name;
    f->name_len = s->fields[fid].name_len;
    f->value = (const char *)v;
    f->value_len = (size_t)vlen;
    f->type = type == SEG_TEXT_ARRAY ? SEG_RAW : type; /* the JSON value it was (seg.h) */
    return SD_OK;
}

static int parse_record(const struct seg *s, uint32_t doc, const uint8_t *p, size_t len,
                        struct seg_stored *out, struct sd_error *err)
{
    struct sd_rd rd;
    sd_rd_init(&rd, p, len);
    uint64_t n;
    if (sd_rd_varint(&rd, &n) || n > SEG_MAX_FIELDS) {
        return SD_CORRUPT(err, "%s: doc %u: stored record: bad field count", s->name, doc);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = parse_field(s, doc, &rd, i, out, err);
        if (rc) {
            return rc;
        }
    }
    if (sd_rd_left(&rd) != 0) {
        return SD_CORRUPT(err, "%s: doc %u: stored record: trailing bytes", s->name, doc);
    }
    out->nfields = (size_t)n;
    return SD_OK;
}

/* Doc's STORED_DOCS entry; SD_ECORRUPT when its block is out of range. */
static int stored_entry(const struct seg *s, uint32_t doc, uint32_t *block, uint32_t *off,
                        uint32_t *len, struct sd_error *err)
{
    const uint8_t *e = s->sect[SEG_SECT_STORED_DOCS].p + (size_t)doc * SEG_SDOC_ENTRY_LEN;
    *block = sd_get_le32(e);
    *off = sd_get_le32(e + 4);
    *len = sd_get_le32(e + 8);
    if (*block >= s->stored_nblocks) {
        return SD_CORRUPT(err, "%s: doc %u: stored block %u out of range", s->name, doc, *block);
    }
    return SD_OK;
}

static uint32_t block_raw_len(const struct seg *s, uint32_t block)
{
    return sd_get_le32(s->sect[SEG_SECT_STORED_BLOCKS].p + (size_t)block * SEG_SBLOCK_ENTRY_LEN +
                       12);
}

bool seg_stored_is_chunked(const struct seg *s, uint32_t block, uint32_t off, uint32_t len)
{
    return s->version >= 5 && off == 0 && len > block_raw_len(s, block);
}

/* The record read whole, from the start of its block up to its end (v4 and small records). */
static int load_whole(const struct seg *s, uint32_t doc, uint32_t block, uint32_t off, uint32_t len,
                      struct seg_stored *out, struct sd_error *err)
{
    const uint8_t *be = s->sect[SEG_SECT_STORED_BLOCKS].p + (size_t)block * SEG_SBLOCK_ENTRY_LEN;
    uint64_t comp_off = sd_get_le64(be); /* block entries were checked by seg_open */
    uint32_t comp_len = sd_get_le32(be + 8), raw_len = sd_get_le32(be + 12);
    if (len > raw_len || off > raw_len - len) {
        return SD_CORRUPT(err, "%s: doc %u: record past its stored block", s->name, doc);
    }
    size_t want = (size_t)off + len;
    if (want == 0 || sd_buf_reserve(&out->buf, want) != SD_OK) {
        return want ? sd_errorf(err, SD_ENOMEM, "%s: doc %u: out of memory", s->name, doc)
                    : SD_CORRUPT(err, "%s: doc %u: empty stored record", s->name, doc);
    }
    const char *src = (const char *)s->sect[SEG_SECT_STORED_DATA].p + comp_off;
    int got = LZ4_decompress_safe_partial(src, (char *)out->buf.data, (int)comp_len, (int)want,
                                          (int)want);
    if (got < 0 || (size_t)got < want) {
        return SD_CORRUPT(err, "%s: doc %u: stored block %u does not decompress", s->name, doc,
                          block);
    }
    out->buf.len = want;
    return parse_record(s, doc, out->buf.data + off, len, out, err);
}

int seg_doc_load(const struct seg *s, uint32_t doc, struct seg_stored *out, struct sd_error *err)
{
    memset(out, 0, sizeof *out);
    sd_buf_init(&out->buf);
    if (doc >= s->doc_count) {
        return sd_errorf(err, SD_ENOTFOUND, "%s: no doc %u", s->name, doc);
    }
    seg_doc_id(s, doc, &out->id, &out->id_len);
    uint32_t block, off, len;
    int rc = stored_entry(s, doc, &block, &off, &len, err);
    if (rc || !seg_stored_is_chunked(s, block, off, len)) {
        return rc ? rc : load_whole(s, doc, block, off, len, out, err);
    }
    struct seg_doc_view v;
    rc = seg_doc_view_open(s, doc, &v, err);
    if (rc == SD_OK) {
        rc = seg_doc_view_load(&v, 0, v.rec_len, err);
    }
    if (rc == SD_OK) {
        *out = v.st; /* fields point into the buffer, which moves with it */
        sd_buf_init(&v.st.buf);
    }
    seg_doc_view_free(&v);
    return rc;
}

/* ---- a record a chunk at a time ---- */

/* The chunk layout of a record in chunks: its CHUNKS entry, its blocks' raw lengths adding up
 * to the record's. */
static int view_layout(struct seg_doc_view *v, struct sd_error *err)
{
    const struct seg *s = v->s;
    const uint8_t *e = seg_chunk_entry(s, v->first_block);
    if (!e) {
        return SD_CORRUPT(err, "%s: doc %u: record past its stored block", s->name, v->doc);
    }
    v->nchunks = sd_get_le32(e + 4); /* seg_open checked the run and its summaries */
    v->filter_len = sd_get_le32(e + 8);
    v->sums = s->chunk_sums + sd_get_le64(e + 12);
    v->chunk_end = malloc(v->nchunks * sizeof *v->chunk_end);
    v->is_loaded = calloc(v->nchunks, sizeof *v->is_loaded);
    if (!v->chunk_end || !v->is_loaded) {
        return sd_errorf(err, SD_ENOMEM, "%s: doc %u: out of memory", s->name, v->doc);
    }
    uint64_t at = 0;
    uint32_t i = 0;
    for (; i < v->nchunks; i++) {
        uint32_t raw = block_raw_len(s, v->first_block + i);
        at += raw;
        if (raw == 0 || at > v->rec_len) {
            break;
        }
        v->chunk_end[i] = (uint32_t)at;
    }
    if (i != v->nchunks || at != v->rec_len) {
        return SD_CORRUPT(err, "%s: doc %u: chunks do not add up to the record", s->name, v->doc);
    }
    if (sd_buf_reserve(&v->st.buf, v->rec_len) != SD_OK) {
        return sd_errorf(err, SD_ENOMEM, "%s: doc %u: out of memory", s->name, v->doc);
    }
    v->st.buf.len = v->rec_len;
    v->rec = v->st.buf.data;
    return SD_OK;
}

static int load_chunk(struct seg_doc_view *v, uint32_t i, struct sd_error *err)
{
    const struct seg *s = v->s;
    size_t start, end;
    seg_doc_view_chunk(v, i, &start, &end);
    const uint8_t *be =
        s->sect[SEG_SECT_STORED_BLOCKS].p + (size_t)(v->first_block + i) * SEG_SBLOCK_ENTRY_LEN;
    const char *src = (const char *)s->sect[SEG_SECT_STORED_DATA].p + sd_get_le64(be);
    int got = LZ4_decompress_safe(src, (char *)v->st.buf.data + start, (int)sd_get_le32(be + 8),
                                  (int)(end - start));
    if (got < 0 || (size_t)got != end - start) {
        return SD_CORRUPT(err, "%s: doc %u: stored block %u does not decompress", s->name, v->doc,
                          v->first_block + i);
    }
    v->is_loaded[i] = true;
    v->raw_loaded += end - start;
    return SD_OK;
}

int seg_doc_view_load(struct seg_doc_view *v, size_t from, size_t to, struct sd_error *err)
{
    to = to < v->rec_len ? to : v->rec_len;
    if (v->nchunks <= 1 || from >= to) {
        return SD_OK; /* read whole at open */
    }
    uint32_t lo = 0, hi = v->nchunks;
    while (lo < hi) { /* the first chunk ending after from */
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->chunk_end[mid] <= from) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (uint32_t i = lo; i < v->nchunks; i++) {
        int rc = v->is_loaded[i] ? SD_OK : load_chunk(v, i, err);
        if (rc) {
            return rc;
        }
        if (v->chunk_end[i] >= to) {
            break;
        }
    }
    return SD_OK;
}

/* The field headers, read where they lie: each needs at most 12 bytes (id, type, varint). */
static int view_fields(struct seg_doc_view *v, struct sd_error *err)
{
    const struct seg *s = v->s;
    size_t at = 0;
    uint64_t n = 0;
    int rc = seg_doc_view_load(v, 0, 10, err);
    struct sd_rd rd;
    sd_rd_init(&rd, v->rec, v->rec_len);
    if (rc == SD_OK && (sd_rd_varint(&rd, &n) || n > SEG_MAX_FIELDS)) {
        return SD_CORRUPT(err, "%s: doc %u: stored record: bad field count", s->name, v->doc);
    }
    at = v->rec_len - sd_rd_left(&rd);
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        rc = seg_doc_view_load(v, at, at + 12, err);
        sd_rd_init(&rd, v->rec + at, v->rec_len - at);
        rc = rc ? rc : parse_field(s, v->doc, &rd, i, &v->st, err);
        at = v->rec_len - sd_rd_left(&rd); /* past the value: parse_field skipped it */
    }
    if (rc == SD_OK && at != v->rec_len) {
        return SD_CORRUPT(err, "%s: doc %u: stored record: trailing bytes", s->name, v->doc);
    }
    v->st.nfields = rc ? 0 : (size_t)n;
    return rc;
}

int seg_doc_view_open(const struct seg *s, uint32_t doc, struct seg_doc_view *v,
                      struct sd_error *err)
{
    memset(v, 0, sizeof *v);
    sd_buf_init(&v->st.buf);
    v->s = s;
    v->doc = doc;
    v->nchunks = 1;
    uint32_t block = 0, off = 0, len = 0;
    int rc = doc < s->doc_count ? stored_entry(s, doc, &block, &off, &len, err) : SD_OK;
    if (rc == SD_OK && (doc >= s->doc_count || !seg_stored_is_chunked(s, block, off, len))) {
        rc = seg_doc_load(s, doc, &v->st, err);
        v->rec_len = len;
        v->rec = rc ? NULL : v->st.buf.data + off;
        v->raw_loaded = rc ? 0 : (size_t)off + len;
        return rc;
    }
    seg_doc_id(s, doc, &v->st.id, &v->st.id_len);
    v->first_block = block;
    v->rec_len = len;
    rc = rc ? rc : view_layout(v, err);
    return rc ? rc : view_fields(v, err);
}

void seg_doc_view_chunk(const struct seg_doc_view *v, uint32_t i, size_t *start, size_t *end)
{
    if (v->nchunks <= 1) {
        *start = 0;
        *end = v->rec_len;
        return;
    }
    *start = i > 0 ? v->chunk_end[i - 1] : 0;
    *end = v->chunk_end[i];
}

bool seg_doc_view_at_break(const struct seg_doc_view *v, uint32_t i)
{
    return i == 0 || (v->sums[(size_t)i * (1 + v->filter_len)] & SEG_CHUNK_AT_BREAK);
}

bool seg_doc_view_may_hold(const struct seg_doc_view *v, uint32_t i, uint64_t h)
{
    if (v->nchunks <= 1) {
        return true;
    }
    return seg_chunk_bloom_test(v->sums + (size_t)i * (1 + v->filter_len) + 1, v->filter_len, h);
}

void seg_doc_view_free(struct seg_doc_view *v)
{
    if (v) {
        seg_stored_free(&v->st);
        free(v->chunk_end);
        free(v->is_loaded);
        v->chunk_end = NULL;
        v->is_loaded = NULL;
        v->nchunks = 0;
    }
}

void seg_stored_free(struct seg_stored *st)
{
    if (st) {
        sd_buf_free(&st->buf);
        st->nfields = 0;
    }
}
