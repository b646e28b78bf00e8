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
 */
#include <stdlib.h>

#include <lz4.h>

#include "seg_build_int.h"

int seg_stored_flush_to(struct sd_buf *raw_buf, struct sd_buf *d, size_t data_base,
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
    sd_put_le64(e, d->len - data_base);
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
        if (fid >= s->field_count || type > SEG_RAW) {
            return SD_CORRUPT(err, "%s: doc %u: stored field %zu: bad id or type", s->name, doc, i);
        }
        struct seg_field *f = &out->fields[i];
        f->name = s->fields[fid].name;
        f->name_len = s->fields[fid].name_len;
        f->value = (const char *)v;
        f->value_len = (size_t)vlen;
        f->type = type;
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
