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
 * work of one load to a few microseconds. A doc larger than the target gets a block of its
 * own. Per-doc entries (block, offset, length) make finding a record O(1).
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

int seg_stored_flush_to(struct sd_buf *raw_buf, struct sd_buf *d, int64_t data_origin,
                        struct sd_buf *blocks, size_t next)
{
    size_t raw = raw_buf->len;
    if (raw == 0 || (next != 0 && raw + next <= SEG_STORED_BLOCK_TARGET)) {
        return SD_OK;
    }
    if (raw > LZ4_MAX_INPUT_SIZE || d->len > UINT64_MAX / 2) {
        return SD_ELIMIT;
    }
    int bound = LZ4_compressBound((int)raw);
    if (sd_buf_reserve(d, (size_t)bound) || sd_buf_reserve(blocks, 16)) {
        return SD_ENOMEM;
    }
    int n = LZ4_compress_default((const char *)raw_buf->data, (char *)d->data + d->len, (int)raw,
                                 bound);
    if (n <= 0) {
        return SD_ENOMEM; /* cannot happen with a bound-sized output */
    }
    uint8_t e[SEG_SBLOCK_ENTRY_LEN];
    sd_put_le64(e, (uint64_t)(data_origin + (int64_t)d->len));
    sd_put_le32(e + 8, (uint32_t)n);
    sd_put_le32(e + 12, (uint32_t)raw);
    sd_buf_put(blocks, e, sizeof e);
    d->len += (size_t)n;
    raw_buf->len = 0;
    return SD_OK;
}

int seg_stored_flush(struct seg_builder *b, size_t next)
{
    int rc = seg_build_collect_zjobs(b); /* blocks compressed elsewhere come first */
    return rc ? rc
              : seg_stored_flush_to(&b->stored_raw, &b->stored_data, 0, &b->stored_blocks, next);
}

/* ---- loading ---- */

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
        uint8_t fid, type;
        uint64_t vlen;
        const uint8_t *v;
        if (sd_rd_u8(&rd, &fid) || sd_rd_u8(&rd, &type) || sd_rd_varint(&rd, &vlen) ||
            vlen > sd_rd_left(&rd) || sd_rd_bytes(&rd, (size_t)vlen, &v)) {
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
    }
    if (sd_rd_left(&rd) != 0) {
        return SD_CORRUPT(err, "%s: doc %u: stored record: trailing bytes", s->name, doc);
    }
    out->nfields = (size_t)n;
    return SD_OK;
}

int seg_doc_load(const struct seg *s, uint32_t doc, struct seg_stored *out, struct sd_error *err)
{
    memset(out, 0, sizeof *out);
    sd_buf_init(&out->buf);
    if (doc >= s->doc_count) {
        return sd_errorf(err, SD_ENOTFOUND, "%s: no doc %u", s->name, doc);
    }
    seg_doc_id(s, doc, &out->id, &out->id_len);
    const uint8_t *e = s->sect[SEG_SECT_STORED_DOCS].p + (size_t)doc * SEG_SDOC_ENTRY_LEN;
    uint32_t block = sd_get_le32(e), off = sd_get_le32(e + 4), len = sd_get_le32(e + 8);
    if (block >= s->stored_nblocks) {
        return SD_CORRUPT(err, "%s: doc %u: stored block %u out of range", s->name, doc, block);
    }
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

void seg_stored_free(struct seg_stored *st)
{
    if (st) {
        sd_buf_free(&st->buf);
        st->nfields = 0;
    }
}
