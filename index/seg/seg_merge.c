/*
 * seg_merge.c: merges segments postings to postings, without tokenizing anything.
 *
 * WHY. A segment already holds everything a new one needs: sorted terms with their docs,
 * frequencies and positions, the length bytes, the stored records. Rebuilding from stored
 * text (tokenize, fold, stem, invert: what seg_builder does) costs the same at every merge
 * level and holds a whole inverted index in memory; a document that goes through five tiers
 * would be analysed six times. Here each level is a sequential walk over bytes already
 * sorted: decode, renumber, re-encode.
 *
 * WHAT COMES OUT. The image seg_builder would write for the live documents of the inputs
 * added in order (input 0's live docs ascending, then input 1's...), byte for byte but for
 * one thing: the stored blocks of an input that lost no document and whose field ids stay
 * as they are are copied compressed, where the builder would have filled every block to
 * the target (an input's last block may be short). A bulk import merges only such inputs,
 * and recompressing their blocks was a fifth of the final flush (perf, corpus-large). The
 * tests compare the images byte for byte where nothing is copied, and section by section
 * (stored documents by content) where something is. Four passes:
 *   0. an input with nothing deleted is planned without parsing a record: its fields come
 *      from its field table (ids are in order of first appearance there too), its planned
 *      STORED_DOCS entries from its own entries (block numbers shifted when copied);
 *   1. records (scan_records): every stored record of every other input is parsed once. A live
 *      doc's fields get new field ids in order of first appearance, as the builder gives
 *      them, so the field table is the union of the names live docs use; its
 *      "docs with the field" counts the live docs with a text field of that name. Its entry
 *      in STORED_DOCS is planned (block, offset, length) with the builder's block rule.
 *      Field lengths are exact in the source segment only as sums (the length byte rounds
 *      lengths >= 24), so a field's total length is the inputs' totals minus what deleted
 *      docs held: a deleted doc's field length is its length byte when that is exact
 *      (< 24), otherwise the field is tokenized again to count its tokens. This is the only
 *      tokenizing, it touches deleted docs only, and a bulk import (no deletes) does none.
 *   2. tables: FIELDS, DOC_IDS, ID_MAP (ids hashed again and sorted), NORMS (the input
 *      length bytes copied under the new field and doc numbering), STORED_DOCS.
 *   3. stored data (write_stored): blocks of a copied input as they are; otherwise records
 *      are copied with their field ids rewritten, and gathered into LZ4 blocks again (a
 *      record's field ids change). TITLES are copied as they are: cut when first built.
 *   4. terms (write_terms): for each new field in id order, a k-way merge of the inputs'
 *      dictionaries restricted to that field's old id in each input (field ids differ per
 *      input; within one field all inputs sort (kind, term) alike, so the merge is by the
 *      key bytes after the field). Each input holding the term is iterated with the
 *      ordinary postings iterator, deleted docs are dropped, and the rest are renumbered;
 *      the concatenation is ascending because input i's docs come before input i + 1's.
 *      The term writer shared with the builder (seg_write.c) encodes blocks with fresh skip
 *      data: max tf and min length byte are recomputed over the new blocks. A term whose
 *      docs are all deleted is dropped.
 *
 * DOC NUMBERS. remap[d] of input i is base_i + (live docs of input i before d), base_i the
 * live docs of inputs before i (a prefix sum), or NONE for a deleted doc: one u32 per input
 * doc, built once.
 *
 * MEMORY. The output goes through a seg_sink: seg_merge builds the image in the caller's
 * buffer (memory merges), seg_merge_file moves it to its file every SEG_SPILL_BYTES, between
 * records and between terms (disk merges: the output of a merge of the whole index is never
 * in memory at once). Beyond that: the remap arrays
 * (4 bytes per input doc), one planned STORED_DOCS entry per live doc (12 bytes), the norms
 * of the output (fields x docs bytes), one decompressed stored block per input at a time
 * (about 16 KiB), and the decoded docs and frequencies of ONE term at a time (8 bytes per
 * doc of it). Positions, dictionary and dictionary index are gathered in the term writer's
 * buffers until the postings are done, as in the builder (they follow POSTINGS in the
 * image). Nothing is proportional to the number of terms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <lz4.h>

#include "seg_attr_int.h"
#include "seg_int.h"

#define NONE UINT32_MAX

struct merge_in {
    const struct seg *s;                  /* borrowed */
    const uint64_t *del;                  /* borrowed; NULL: nothing deleted */
    uint32_t *remap;                      /* owned; new doc number per doc, or NONE */
    uint32_t ndeleted;                    /* docs of it that remap to NONE */
    int to_new[SEG_MAX_SEG_FIELDS];       /* this input's field id -> new id, or -1 */
    uint64_t del_len[SEG_MAX_SEG_FIELDS]; /* tokens deleted docs held, per field id */
    bool copy_blocks;                     /* its stored blocks go out compressed as they are */
    uint32_t blk;                         /* stored block in blk_raw, or NONE */
    struct sd_buf blk_raw;                /* its decompressed bytes */
    struct seg_dict_cursor cur;
    struct seg_term term; /* the cursor's current term */
    bool has_term;        /* cur is on a term of the field being merged */
};

struct merge_field {
    char name[SEG_MAX_NAME + 1];
    size_t name_len;
    uint64_t total_len;
    uint32_t docs;
};

struct merger {
    struct merge_in *in; /* owned; n entries */
    size_t n;
    struct seg_sink sink; /* the output image */
    struct sd_buf *out;   /* sink.buf */
    uint64_t base;        /* sink position where the image starts */
    size_t spill_bytes;   /* the sink's buffer goes to its file at this size */
    struct sd_error *err;
    const atomic_bool *stop; /* borrowed; NULL: never stops early */
    uint64_t sect_off[SEG_NSECT];
    uint64_t sect_len[SEG_NSECT];
    uint32_t doc_count;
    unsigned nfields;
    struct merge_field fields[SEG_MAX_SEG_FIELDS];
    int *from;    /* owned; nfields x n: old field id in input i of new field f, -1 */
    size_t *heap; /* owned; n: the inputs on a term of the field being merged */
    size_t nheap;
    size_t *same;                /* owned; n: the inputs on the term being merged */
    struct sd_buf sdocs;         /* planned STORED_DOCS */
    uint32_t nsblocks;           /* stored blocks planned */
    uint8_t *norms;              /* owned; nfields x doc_count, the NORMS section */
    struct sd_buf raw;           /* pending raw stored block */
    struct sd_buf sblocks;       /* STORED_BLOCKS entries */
    struct sd_buf chunk_entries; /* CHUNKS entries (format 5, seg_chunk.c) */
    struct sd_buf chunk_sums;    /* CHUNKS summaries */
    struct sd_buf chunk_sum;     /* one record's summary (seg_chunk_summarize) */
    struct seg_tw tw;
    uint32_t *docs; /* owned; one term's new docs and tfs */
    uint32_t *tfs;
    size_t cap;
    struct stem_ctx *stem; /* owned, made on first need */
};

static bool is_deleted(const uint64_t *del, uint32_t d)
{
    return del && (del[d / 64] >> (d % 64)) & 1;
}

/* ---- pass 1: records ---- */

/* A record stored in chunks, reassembled into in->blk_raw (which then holds no block). */
static int load_chunked(struct merger *m, struct merge_in *in, uint32_t d, const uint8_t **rec,
                        uint32_t *len)
{
    struct seg_doc_view v;
    int rc = seg_doc_view_open(in->s, d, &v, m->err);
    if (rc == SD_OK) {
        rc = seg_doc_view_load(&v, 0, v.rec_len, m->err);
    }
    in->blk = NONE;
    sd_buf_reset(&in->blk_raw);
    if (rc == SD_OK) {
        sd_buf_put(&in->blk_raw, v.rec, v.rec_len);
        rc = in->blk_raw.rc ? sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory") : SD_OK;
    }
    seg_doc_view_free(&v);
    *rec = in->blk_raw.data;
    *len = (uint32_t)in->blk_raw.len;
    return rc;
}

/* The stored record of doc d of input i: *rec points into in->blk_raw. */
static int load_record(struct merger *m, struct merge_in *in, uint32_t d, const uint8_t **rec,
                       uint32_t *len)
{
    const struct seg *s = in->s;
    const uint8_t *e = s->sect[SEG_SECT_STORED_DOCS].p + (size_t)d * SEG_SDOC_ENTRY_LEN;
    uint32_t block = sd_get_le32(e), off = sd_get_le32(e + 4), n = sd_get_le32(e + 8);
    if (block >= s->stored_nblocks) {
        return SD_CORRUPT(m->err, "%s: doc %u: stored block %u out of range", s->name, d, block);
    }
    if (seg_stored_is_chunked(s, block, off, n)) {
        return load_chunked(m, in, d, rec, len);
    }
    if (block != in->blk) {
        const uint8_t *be =
            s->sect[SEG_SECT_STORED_BLOCKS].p + (size_t)block * SEG_SBLOCK_ENTRY_LEN;
        uint64_t comp_off = sd_get_le64(be); /* checked by seg_open */
        uint32_t comp_len = sd_get_le32(be + 8), raw_len = sd_get_le32(be + 12);
        in->blk = NONE;
        sd_buf_reset(&in->blk_raw);
        if (sd_buf_reserve(&in->blk_raw, (size_t)raw_len + 1) != SD_OK) {
            return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
        }
        const char *src = (const char *)s->sect[SEG_SECT_STORED_DATA].p + comp_off;
        int got = LZ4_decompress_safe(src, (char *)in->blk_raw.data, (int)comp_len, (int)raw_len);
        if (got < 0 || (uint32_t)got != raw_len) {
            return SD_CORRUPT(m->err, "%s: stored block %u does not decompress", s->name, block);
        }
        in->blk_raw.len = raw_len;
        in->blk = block;
    }
    if (n == 0 || n > in->blk_raw.len || off > in->blk_raw.len - n) {
        return SD_CORRUPT(m->err, "%s: doc %u: record past its stored block", s->name, d);
    }
    *rec = in->blk_raw.data + off;
    *len = n;
    return SD_OK;
}

/* One field of a record, as parse_field reads it. */
struct rec_field {
    uint8_t fid;
    uint8_t type;
    const uint8_t *value;
    size_t len;
    const uint8_t *fid_at; /* where the field id byte is in the record */
};

static int parse_field(const struct seg *s, uint32_t d, struct sd_rd *rd, struct rec_field *f,
                       struct sd_error *err)
{
    uint64_t vlen;
    f->fid_at = rd->p;
    if (sd_rd_u8(rd, &f->fid) || sd_rd_u8(rd, &f->type) || sd_rd_varint(rd, &vlen) ||
        vlen > sd_rd_left(rd) || sd_rd_bytes(rd, (size_t)vlen, &f->value)) {
        return SD_CORRUPT(err, "%s: doc %u: stored record truncated", s->name, d);
    }
    if (f->fid >= s->field_count || f->type > SEG_TEXT_ARRAY) {
        return SD_CORRUPT(err, "%s: doc %u: stored field: bad id or type", s->name, d);
    }
    f->len = (size_t)vlen;
    return SD_OK;
}

static int count_token(void *arg, const struct stem_token *tok)
{
    uint32_t *n = arg;
    *n += !tok->is_compound; /* as seg_build.c's on_token counts a field's length */
    return 0;
}

struct count_strings {
    struct stem_ctx *stem;
    uint32_t *len;
};

static int count_string(void *arg, const char *s, size_t len)
{
    struct count_strings *cs = arg;
    return stem_tokenize(cs->stem, s, len, 0, count_token, cs->len, NULL) ? SD_ENOMEM : SD_OK;
}

/* Tokens of field f of deleted doc d: its length byte when exact, else counted again. */
static int deleted_len(struct merger *m, struct merge_in *in, uint32_t d, const struct rec_field *f,
                       uint32_t *len)
{
    const struct seg *s = in->s;
    uint8_t norm = s->sect[SEG_SECT_NORMS].p[(size_t)f->fid * s->doc_count + d];
    *len = seg_norm_decode(norm);
    if (norm < 255 && seg_norm_decode((uint8_t)(norm + 1)) == *len + 1) {
        return SD_OK; /* the byte stands for one length only (all below 32, seg_codec.c) */
    }
    if (!m->stem && stem_ctx_new(&m->stem) != STEM_OK) {
        return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
    }
    *len = 0;
    int rc;
    if (f->type == SEG_TEXT_ARRAY) { /* every string, as seg_analyze.c walks them */
        struct count_strings cs = {m->stem, len};
        struct sd_buf scratch;
        sd_buf_init(&scratch);
        rc = seg_text_array_each((const char *)f->value, f->len, &scratch, count_string, &cs);
        sd_buf_free(&scratch);
        if (rc == SD_EINVAL) {
            return SD_CORRUPT(m->err, "%s: doc %u: text array is not JSON", in->s->name, d);
        }
    } else {
        rc = stem_tokenize(m->stem, (const char *)f->value, f->len, 0, count_token, len, NULL);
    }
    if (rc != 0) {
        return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
    }
    return SD_OK;
}

static int new_field(struct merger *m, struct merge_in *in, uint8_t fid)
{
    if (m->nfields == SEG_MAX_SEG_FIELDS) {
        return sd_errorf(m->err, SD_ELIMIT, "seg_merge: more than %d distinct fields",
                         SEG_MAX_SEG_FIELDS);
    }
    const struct seg_field_info *fi = &in->s->fields[fid];
    struct merge_field *mf = &m->fields[m->nfields];
    memcpy(mf->name, fi->name, fi->name_len + 1);
    mf->name_len = fi->name_len;
    for (size_t i = 0; i < m->n; i++) {
        int id = seg_field_find(m->in[i].s, fi->name, fi->name_len);
        if (id >= 0) {
            m->in[i].to_new[id] = (int)m->nfields;
        }
    }
    m->nfields++;
    return SD_OK;
}

/* Plans the record of the next live doc into STORED_DOCS, as seg_build.c + seg_stored.c
 * would place it: a new block when the pending one would pass the target. */
static void plan_record(struct merger *m, uint32_t len, uint64_t *pending)
{
    if (*pending > 0 && *pending + len > SEG_STORED_BLOCK_TARGET) {
        m->nsblocks++;
        *pending = 0;
    }
    uint8_t e[SEG_SDOC_ENTRY_LEN];
    sd_put_le32(e, m->nsblocks);
    sd_put_le32(e + 4, (uint32_t)*pending);
    sd_put_le32(e + 8, len);
    sd_buf_put(&m->sdocs, e, sizeof e);
    *pending += len;
}

/* plan_record for the record rec[0, len): one larger than a block takes a block per chunk
 * (seg_stored_flush_to cuts it as seg_chunk_cuts says), the last still pending. */
static int plan_chunks(struct merger *m, const struct merge_in *in, uint32_t d, const uint8_t *rec,
                       uint32_t len, uint64_t *pending)
{
    plan_record(m, len, pending);
    if (len <= SEG_STORED_BLOCK_TARGET) {
        return SD_OK;
    }
    uint32_t *ends;
    size_t n;
    int rc = seg_chunk_cuts(rec, len, &ends, &n);
    free(ends);
    if (rc) {
        return rc == SD_ENOMEM
                   ? sd_errorf(m->err, rc, "seg_merge: out of memory")
                   : SD_CORRUPT(m->err, "%s: doc %u: bad stored record", in->s->name, d);
    }
    m->nsblocks += (uint32_t)n - 1;
    return SD_OK;
}

static int scan_doc(struct merger *m, struct merge_in *in, uint32_t d, uint64_t *pending)
{
    const uint8_t *rec;
    uint32_t len;
    int rc = load_record(m, in, d, &rec, &len);
    if (rc) {
        return rc;
    }
    bool live = in->remap[d] != NONE;
    struct sd_rd rd;
    sd_rd_init(&rd, rec, len);
    uint64_t nf;
    if (sd_rd_varint(&rd, &nf) || nf > SEG_MAX_FIELDS) {
        return SD_CORRUPT(m->err, "%s: doc %u: stored record: bad field count", in->s->name, d);
    }
    for (uint64_t k = 0; k < nf; k++) {
        struct rec_field f;
        if ((rc = parse_field(in->s, d, &rd, &f, m->err)) != SD_OK) {
            return rc;
        }
        if (live && in->to_new[f.fid] < 0 && (rc = new_field(m, in, f.fid)) != SD_OK) {
            return rc;
        }
        if (live && f.type != SEG_RAW) {
            m->fields[in->to_new[f.fid]].docs++;
        } else if (!live && f.type != SEG_RAW) {
            uint32_t n;
            if ((rc = deleted_len(m, in, d, &f, &n)) != SD_OK) {
                return rc;
            }
            in->del_len[f.fid] += n;
        }
    }
    if (sd_rd_left(&rd) != 0) {
        return SD_CORRUPT(m->err, "%s: doc %u: stored record: trailing bytes", in->s->name, d);
    }
    if (live && (rc = plan_chunks(m, in, d, rec, len, pending)) != SD_OK) {
        return rc;
    }
    return m->sdocs.rc ? sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory") : SD_OK;
}

/* Whether s (before format 5) holds a record larger than a block, stored whole: its blocks
 * cannot be copied, the output cuts such records into chunks. */
static bool has_whole_big(const struct seg *s)
{
    for (uint32_t b = 0; s->version < 5 && b < s->stored_nblocks; b++) {
        const uint8_t *e = s->sect[SEG_SECT_STORED_BLOCKS].p + (size_t)b * SEG_SBLOCK_ENTRY_LEN;
        if (sd_get_le32(e + 12) > SEG_STORED_BLOCK_TARGET) {
            return true;
        }
    }
    return false;
}

/* An input that lost no document: fields from its table, STORED_DOCS entries planned from
 * its own (copied whole, block numbers shifted, when its field ids stay as they are). */
static int plan_whole_input(struct merger *m, struct merge_in *in, uint64_t *pending)
{
    const struct seg *s = in->s;
    bool same_ids = true;
    for (unsigned f = 0; f < s->field_count; f++) {
        int rc = in->to_new[f] < 0 ? new_field(m, in, (uint8_t)f) : SD_OK;
        if (rc) {
            return rc;
        }
        m->fields[in->to_new[f]].docs += s->fields[f].docs;
        same_ids &= in->to_new[f] == (int)f;
    }
    in->copy_blocks = same_ids && !has_whole_big(s);
    if (in->copy_blocks) {
        m->nsblocks += *pending > 0; /* the pending block closes short */
        *pending = 0;
    }
    uint32_t base = m->nsblocks;
    for (uint32_t d = 0; d < s->doc_count; d++) {
        const uint8_t *e = s->sect[SEG_SECT_STORED_DOCS].p + (size_t)d * SEG_SDOC_ENTRY_LEN;
        uint32_t block = sd_get_le32(e), off = sd_get_le32(e + 4), len = sd_get_le32(e + 8);
        if (block >= s->stored_nblocks || len == 0 ||
            (!seg_stored_is_chunked(s, block, off, len) &&
             (uint64_t)off + len > sd_get_le32(s->sect[SEG_SECT_STORED_BLOCKS].p +
                                               (size_t)block * SEG_SBLOCK_ENTRY_LEN + 12))) {
            return SD_CORRUPT(m->err, "%s: doc %u: stored record out of bounds", s->name, d);
        }
        if (in->copy_blocks) {
            uint8_t out[SEG_SDOC_ENTRY_LEN];
            sd_put_le32(out, base + block);
            memcpy(out + 4, e + 4, SEG_SDOC_ENTRY_LEN - 4);
            sd_buf_put(&m->sdocs, out, sizeof out);
        } else if (len <= SEG_STORED_BLOCK_TARGET) {
            plan_record(m, len, pending);
        } else {
            const uint8_t *rec;
            uint32_t n;
            int rc = load_record(m, in, d, &rec, &n);
            rc = rc ? rc : plan_chunks(m, in, d, rec, n, pending);
            if (rc) {
                return rc;
            }
        }
    }
    if (in->copy_blocks) {
        m->nsblocks += s->stored_nblocks;
    }
    return m->sdocs.rc ? sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory") : SD_OK;
}

static int scan_records(struct merger *m)
{
    uint64_t pending = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct merge_in *in = &m->in[i];
        if (in->ndeleted == 0) {
            int rc = plan_whole_input(m, in, &pending);
            if (rc) {
                return rc;
            }
            continue;
        }
        for (uint32_t d = 0; d < in->s->doc_count; d++) {
            int rc = scan_doc(m, in, d, &pending);
            if (rc) {
                return rc;
            }
        }
    }
    m->nsblocks += pending > 0;
    /* Total lengths: every input's total for the field, less its deleted docs' share. */
    for (size_t i = 0; i < m->n; i++) {
        struct merge_in *in = &m->in[i];
        for (unsigned f = 0; f < in->s->field_count; f++) {
            uint64_t total = in->s->fields[f].total_len;
            if (in->to_new[f] >= 0) {
                m->fields[in->to_new[f]].total_len +=
                    total - (in->del_len[f] < total ? in->del_len[f] : total);
            }
        }
    }
    return SD_OK;
}

/* ---- pass 2: tables ---- */

static void sect_begin(struct merger *m, enum seg_section s)
{
    m->sect_off[s] = seg_sink_pos(&m->sink) - m->base;
}

static void sect_end(struct merger *m, enum seg_section s)
{
    m->sect_len[s] = seg_sink_pos(&m->sink) - m->base - m->sect_off[s];
}

static void write_fields(struct merger *m)
{
    sect_begin(m, SEG_SECT_FIELDS);
    sd_buf_put_le32(m->out, m->nfields);
    for (unsigned f = 0; f < m->nfields; f++) {
        sd_buf_put_u8(m->out, (uint8_t)m->fields[f].name_len);
        sd_buf_put(m->out, m->fields[f].name, m->fields[f].name_len);
        sd_buf_put_le64(m->out, m->fields[f].total_len);
        sd_buf_put_le32(m->out, m->fields[f].docs);
    }
    sect_end(m, SEG_SECT_FIELDS);
}

/* DOC_IDS or TITLES: the live docs' entries copied in order (titles were cut when built). */
static int write_doc_table(struct merger *m, enum seg_section sect)
{
    sect_begin(m, sect);
    uint64_t off = 0;
    for (int pass = 0; pass < 2; pass++) { /* offsets, then the bytes */
        for (size_t i = 0; i < m->n; i++) {
            const struct merge_in *in = &m->in[i];
            for (uint32_t d = 0; d < in->s->doc_count; d++) {
                if (in->remap[d] == NONE) {
                    continue;
                }
                const char *p;
                size_t len;
                if (sect == SEG_SECT_TITLES) {
                    (void)seg_doc_title(in->s, d, &p, &len);
                } else {
                    seg_doc_id(in->s, d, &p, &len);
                }
                if (pass == 0) {
                    sd_buf_put_le32(m->out, (uint32_t)off);
                    off += len;
                } else {
                    sd_buf_put(m->out, p, len);
                }
            }
        }
        if (pass == 0) {
            if (off > UINT32_MAX) {
                return sd_errorf(m->err, SD_ELIMIT, "seg_merge: %s exceed 4 GiB",
                                 sect == SEG_SECT_TITLES ? "titles" : "ids");
            }
            sd_buf_put_le32(m->out, (uint32_t)off);
        }
    }
    sect_end(m, sect);
    return SD_OK;
}

static int write_id_map(struct merger *m)
{
    struct seg_id_hash *ids = malloc(((size_t)m->doc_count + 1) * sizeof *ids);
    if (!ids) {
        return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct merge_in *in = &m->in[i];
        for (uint32_t d = 0; d < in->s->doc_count; d++) {
            uint32_t nd = in->remap[d];
            if (nd != NONE) {
                const char *id;
                size_t len;
                seg_doc_id(in->s, d, &id, &len);
                ids[nd].hash = sd_hash64(id, len);
                ids[nd].doc = nd;
            }
        }
    }
    sect_begin(m, SEG_SECT_ID_MAP);
    seg_write_id_map(m->out, ids, m->doc_count);
    sect_end(m, SEG_SECT_ID_MAP);
    free(ids);
    return SD_OK;
}

static int write_norms(struct merger *m)
{
    size_t docs = m->doc_count;
    m->norms = calloc((size_t)m->nfields * docs + 1, 1);
    if (!m->norms) {
        return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct merge_in *in = &m->in[i];
        const struct seg *s = in->s;
        for (unsigned f = 0; f < s->field_count; f++) {
            if (in->to_new[f] < 0) {
                continue;
            }
            const uint8_t *src = s->sect[SEG_SECT_NORMS].p + (size_t)f * s->doc_count;
            uint8_t *dst = m->norms + (size_t)in->to_new[f] * docs;
            for (uint32_t d = 0; d < s->doc_count; d++) {
                if (in->remap[d] != NONE) {
                    dst[in->remap[d]] = src[d];
                }
            }
        }
    }
    sect_begin(m, SEG_SECT_NORMS);
    sd_buf_put(m->out, m->norms, (size_t)m->nfields * docs);
    sect_end(m, SEG_SECT_NORMS);
    return SD_OK;
}

/* ---- pass 3: stored data ---- */

/* Between records, blocks and terms: moves the output to its file (if any) once a few MiB
 * have gathered, and ends the merge if the caller asked it to stop. */
static int between_items(struct merger *m)
{
    if (m->stop && atomic_load_explicit(m->stop, memory_order_relaxed)) {
        return sd_errorf(m->err, SD_EBUSY, "seg_merge: stopped on request");
    }
    return seg_sink_spill(&m->sink, m->spill_bytes);
}

/* The STORED_DATA offset of the output buffer's first byte (section at data_start). */
static int64_t data_origin(const struct merger *m, uint64_t data_start)
{
    return (int64_t)m->sink.spilled - (int64_t)data_start;
}

/* The CHUNKS entry of a record in chunks about to start a block: its summary copied from the
 * input when it has one (the same bytes: the summary depends on the record's text only),
 * else made by tokenizing it (a record of a format 4 input). */
static int carry_chunks(struct merger *m, struct merge_in *in, uint32_t d, const uint8_t *rec,
                        uint32_t len)
{
    const struct seg *s = in->s;
    uint32_t first = (uint32_t)(m->sblocks.len / SEG_SBLOCK_ENTRY_LEN);
    const uint8_t *e = s->sect[SEG_SECT_STORED_DOCS].p + (size_t)d * SEG_SDOC_ENTRY_LEN;
    const uint8_t *entry = s->version >= 5 ? seg_chunk_entry(s, sd_get_le32(e)) : NULL;
    if (entry) {
        seg_chunk_copy(s, entry, first, &m->chunk_entries, &m->chunk_sums);
    } else {
        if (!m->stem && stem_ctx_new(&m->stem) != STEM_OK) {
            return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
        }
        sd_buf_reset(&m->chunk_sum);
        int rc = seg_chunk_summarize(m->stem, rec, len, &m->chunk_sum);
        if (rc) {
            return rc == SD_ENOMEM
                       ? sd_errorf(m->err, rc, "seg_merge: out of memory")
                       : SD_CORRUPT(m->err, "%s: doc %u: bad stored record", s->name, d);
        }
        seg_chunk_add(&m->chunk_entries, &m->chunk_sums, first, m->chunk_sum.data,
                      m->chunk_sum.len);
    }
    return m->chunk_entries.rc || m->chunk_sums.rc
               ? sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory")
               : SD_OK;
}

static int copy_record(struct merger *m, struct merge_in *in, uint32_t d, uint64_t data_start)
{
    const uint8_t *rec;
    uint32_t len;
    int rc = load_record(m, in, d, &rec, &len);
    if (rc == SD_OK) {
        rc = seg_stored_flush_to(&m->raw, m->out, data_origin(m, data_start), &m->sblocks, len);
    }
    if (rc == SD_OK) {
        rc = sd_buf_reserve(&m->raw, len);
    }
    if (rc) {
        return sd_errorf(m->err, rc, "seg_merge: stored documents: %s", sd_status_name(rc));
    }
    if (len > SEG_STORED_BLOCK_TARGET && (rc = carry_chunks(m, in, d, rec, len)) != SD_OK) {
        return rc;
    }
    uint8_t *dst = m->raw.data + m->raw.len;
    memcpy(dst, rec, len);
    m->raw.len += len;
    struct sd_rd rd;
    sd_rd_init(&rd, rec, len);
    uint64_t nf;
    (void)sd_rd_varint(&rd, &nf); /* parsed in pass 1 */
    for (uint64_t k = 0; k < nf; k++) {
        struct rec_field f;
        if ((rc = parse_field(in->s, d, &rd, &f, m->err)) != SD_OK) {
            return rc;
        }
        dst[f.fid_at - rec] = (uint8_t)in->to_new[f.fid];
    }
    return SD_OK;
}

/* The stored blocks of a copied input, compressed as they are, after the pending block. */
static int copy_blocks(struct merger *m, struct merge_in *in, uint64_t data_start)
{
    int rc = seg_stored_flush_to(&m->raw, m->out, data_origin(m, data_start), &m->sblocks, 0);
    if (rc) {
        return sd_errorf(m->err, rc, "seg_merge: stored documents: %s", sd_status_name(rc));
    }
    const struct seg *s = in->s;
    uint32_t shift = (uint32_t)(m->sblocks.len / SEG_SBLOCK_ENTRY_LEN);
    for (uint32_t i = 0; i < s->chunk_count; i++) {
        const uint8_t *entry = s->sect[SEG_SECT_CHUNKS].p + 4 + (size_t)i * SEG_CHUNK_ENTRY_LEN;
        seg_chunk_copy(s, entry, shift + sd_get_le32(entry), &m->chunk_entries, &m->chunk_sums);
    }
    for (uint32_t b = 0; b < s->stored_nblocks && rc == SD_OK; b++) {
        const uint8_t *e = s->sect[SEG_SECT_STORED_BLOCKS].p + (size_t)b * SEG_SBLOCK_ENTRY_LEN;
        uint64_t off = sd_get_le64(e); /* bounds checked by seg_open */
        uint32_t comp = sd_get_le32(e + 8);
        uint8_t out[SEG_SBLOCK_ENTRY_LEN];
        sd_put_le64(out, (uint64_t)(data_origin(m, data_start) + (int64_t)m->out->len));
        memcpy(out + 8, e + 8, SEG_SBLOCK_ENTRY_LEN - 8);
        sd_buf_put(&m->sblocks, out, sizeof out);
        sd_buf_put(m->out, s->sect[SEG_SECT_STORED_DATA].p + off, comp);
        if (m->out->rc || m->sblocks.rc) {
            return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
        }
        rc = between_items(m);
    }
    return rc;
}

static int write_stored(struct merger *m)
{
    sect_begin(m, SEG_SECT_STORED_DOCS);
    sd_buf_put(m->out, m->sdocs.data, m->sdocs.len);
    sect_end(m, SEG_SECT_STORED_DOCS);
    sd_buf_free(&m->sdocs);
    sect_begin(m, SEG_SECT_STORED_BLOCKS);
    uint64_t blocks_at = seg_sink_pos(&m->sink);
    size_t blocks_len = (size_t)m->nsblocks * SEG_SBLOCK_ENTRY_LEN;
    if (sd_buf_reserve(m->out, blocks_len) != SD_OK) {
        return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
    }
    memset(m->out->data + m->out->len, 0, blocks_len);
    m->out->len += blocks_len; /* filled in below, once the blocks are compressed */
    sect_end(m, SEG_SECT_STORED_BLOCKS);
    sect_begin(m, SEG_SECT_STORED_DATA);
    uint64_t data_start = seg_sink_pos(&m->sink);
    for (size_t i = 0; i < m->n; i++) {
        if (m->in[i].copy_blocks) {
            int rc = copy_blocks(m, &m->in[i], data_start);
            if (rc) {
                return rc;
            }
            continue;
        }
        for (uint32_t d = 0; d < m->in[i].s->doc_count; d++) {
            int rc = m->in[i].remap[d] != NONE ? copy_record(m, &m->in[i], d, data_start) : SD_OK;
            if (rc == SD_OK) {
                rc = between_items(m);
            }
            if (rc) {
                return rc;
            }
        }
    }
    int rc = seg_stored_flush_to(&m->raw, m->out, data_origin(m, data_start), &m->sblocks, 0);
    if (rc) {
        return sd_errorf(m->err, rc, "seg_merge: stored documents: %s", sd_status_name(rc));
    }
    sect_end(m, SEG_SECT_STORED_DATA);
    if (m->sblocks.len != blocks_len) { /* pass 1 planned the same blocks: a bug otherwise */
        return sd_errorf(m->err, SD_EINVAL, "seg_merge: stored blocks %zu, planned %zu",
                         m->sblocks.len / SEG_SBLOCK_ENTRY_LEN, blocks_len / SEG_SBLOCK_ENTRY_LEN);
    }
    return blocks_len > 0 ? seg_sink_patch(&m->sink, blocks_at, m->sblocks.data, blocks_len)
                          : SD_OK;
}

/* ---- pass 4: terms ---- */

static int grow_arrays(struct merger *m, size_t need)
{
    if (need <= m->cap) {
        return SD_OK;
    }
    size_t cap = m->cap ? m->cap : 1024;
    while (cap < need) {
        cap *= 2;
    }
    uint32_t *d = realloc(m->docs, cap * sizeof *d);
    if (d) {
        m->docs = d;
    }
    uint32_t *t = realloc(m->tfs, cap * sizeof *t);
    if (t) {
        m->tfs = t;
    }
    if (!d || !t) {
        return SD_ENOMEM;
    }
    m->cap = cap;
    return SD_OK;
}

/* The positions of in's current term, all of its docs' in doc order, copied as they are:
 * a doc's positions are coded from 0 within the doc, so renumbering docs leaves their
 * bytes as they were. The bytes must hold exactly `count` varints, the tfs of the docs,
 * as the decoder would read them (the term writer walks them by tf). */
static int copy_positions(struct merger *m, struct merge_in *in, uint64_t count)
{
    const struct seg_span *sect = &in->s->sect[SEG_SECT_POSITIONS];
    const struct seg_term *t = &in->term; /* pos_off: from the start of the image */
    if (t->pos_off < sect->off || t->pos_off - sect->off > sect->len ||
        t->pos_len > sect->len - (t->pos_off - sect->off)) {
        return SD_CORRUPT(m->err, "%s: positions out of bounds", in->s->name);
    }
    const uint8_t *p = sect->p + (t->pos_off - sect->off);
    size_t len = (size_t)t->pos_len;
    if (seg_varint_ends(p, len) != count || (len > 0 && p[len - 1] & 0x80)) {
        return SD_CORRUPT(m->err, "%s: positions damaged", in->s->name);
    }
    sd_buf_put(&m->tw.pos, p, len);
    return m->tw.pos.rc ? sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory") : SD_OK;
}

/* Appends input in's postings of its current term to the term being merged: live docs
 * renumbered, their positions re-encoded into the term writer's POSITIONS, or copied whole
 * when the input lost no document (a bulk import's merges: decoding and encoding every
 * position was about a fifth of a merge). */
static int merge_postings(struct merger *m, struct merge_in *in, uint32_t *df, uint64_t *total_tf)
{
    bool exact = in->term.kind == SEG_EXACT;
    bool copy_pos = exact && in->ndeleted == 0;
    uint64_t tf_sum = 0;
    struct seg_postings *p;
    int rc = seg_postings_open(in->s, &in->term, exact && !copy_pos ? SEG_WANT_POSITIONS : 0, &p,
                               m->err);
    if (rc) {
        return rc;
    }
    if (grow_arrays(m, (size_t)*df + in->term.df) != SD_OK) {
        seg_postings_free(p);
        return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
    }
    struct sd_buf *pos = &m->tw.pos;
    for (uint32_t d = seg_postings_next(p); d != SEG_DOC_END; d = seg_postings_next(p)) {
        uint32_t nd = in->remap[d], tf = seg_postings_freq(p);
        if (nd == NONE) {
            continue;
        }
        m->docs[*df] = nd;
        m->tfs[*df] = tf;
        (*df)++;
        *total_tf += tf;
        tf_sum += tf;
        if (!exact || copy_pos) {
            continue;
        }
        const uint32_t *ps;
        uint32_t count;
        if ((rc = seg_postings_positions(p, &ps, &count)) != SD_OK) {
            break;
        }
        if (sd_buf_reserve(pos, (size_t)count * 5) != SD_OK) {
            rc = SD_ENOMEM;
            break;
        }
        uint32_t last = 0;
        for (uint32_t k = 0; k < count; k++) {
            pos->len += sd_varint_encode(pos->data + pos->len, ps[k] - last);
            last = ps[k];
        }
    }
    if (rc == SD_ENOMEM) {
        rc = sd_errorf(m->err, rc, "seg_merge: out of memory");
    } else if (seg_postings_error(p, m->err) != SD_OK) {
        rc = seg_postings_error(p, NULL); /* a damaged block: err names it */
    } else if (rc) {
        rc = SD_CORRUPT(m->err, "%s: positions damaged", in->s->name);
    } else if (copy_pos) {
        rc = copy_positions(m, in, tf_sum);
    }
    seg_postings_free(p);
    return rc;
}

/* Moves in's cursor to its next term, which counts only while still in field `fid`. */
static int step(struct merger *m, struct merge_in *in, int fid)
{
    int r = seg_dict_cursor_next(&in->cur, &in->term);
    if (r < 0) {
        return SD_CORRUPT(m->err, "%s: dictionary damaged", in->s->name);
    }
    in->has_term = r == 1 && in->cur.key[0] == fid;
    return SD_OK;
}

static int key_tail_cmp(const struct merge_in *a, const struct merge_in *b)
{
    size_t la = a->cur.key_len - 1, lb = b->cur.key_len - 1;
    int c = memcmp(a->cur.key + 1, b->cur.key + 1, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* ---- the inputs on a term, as a binary heap ---- */

/* Whether input a's term comes before input b's: by key, then by input number, so that the
 * inputs holding one term leave the heap in input order (their docs concatenate ascending).
 * A heap, not a scan of every input for each term: a memory merge that catches up takes up to
 * IDX_TIER_MAX_INPUTS (64) small segments, and the scan's key compares were a third of the
 * memory merger's time under a steady writer (perf). */
static bool in_before(const struct merger *m, size_t a, size_t b)
{
    int c = key_tail_cmp(&m->in[a], &m->in[b]);
    return c ? c < 0 : a < b;
}

static void heap_down(struct merger *m, size_t at)
{
    size_t *h = m->heap;
    for (;;) {
        size_t kid = 2 * at + 1;
        if (kid >= m->nheap) {
            return;
        }
        if (kid + 1 < m->nheap && in_before(m, h[kid + 1], h[kid])) {
            kid++;
        }
        if (!in_before(m, h[kid], h[at])) {
            return;
        }
        size_t t = h[at];
        h[at] = h[kid];
        h[kid] = t;
        at = kid;
    }
}

static void heap_push(struct merger *m, size_t input)
{
    size_t *h = m->heap;
    size_t at = m->nheap++;
    h[at] = input;
    while (at > 0 && in_before(m, h[at], h[(at - 1) / 2])) {
        size_t up = (at - 1) / 2;
        h[at] = h[up];
        h[up] = input;
        at = up;
    }
}

static size_t heap_pop(struct merger *m)
{
    size_t top = m->heap[0];
    m->heap[0] = m->heap[--m->nheap];
    heap_down(m, 0);
    return top;
}

/* Merges one (kind, term) of new field nf: the smallest key among the inputs' cursors. The
 * inputs holding it leave the heap, in input order, and those with a term left in the field
 * go back. */
static int merge_term(struct merger *m, unsigned nf, const int *from)
{
    size_t nsame = 0;
    do {
        m->same[nsame++] = heap_pop(m);
    } while (m->nheap && key_tail_cmp(&m->in[m->heap[0]], &m->in[m->same[0]]) == 0);
    const struct merge_in *first = &m->in[m->same[0]];
    uint8_t key[SEG_MAX_KEY];
    size_t key_len = first->cur.key_len;
    memcpy(key, first->cur.key, key_len);
    key[0] = (uint8_t)nf;
    size_t pos_start = m->tw.pos.len;
    uint32_t df = 0;
    uint64_t total_tf = 0;
    int rc = SD_OK;
    for (size_t k = 0; k < nsame && rc == SD_OK; k++) {
        rc = merge_postings(m, &m->in[m->same[k]], &df, &total_tf);
    }
    for (size_t k = 0; k < nsame && rc == SD_OK; k++) {
        size_t i = m->same[k];
        rc = step(m, &m->in[i], from[i]);
        if (rc == SD_OK && m->in[i].has_term) {
            heap_push(m, i);
        }
    }
    if (rc || df == 0) {
        m->tw.pos.len = pos_start; /* every doc deleted: the term goes */
        return rc;
    }
    struct seg_tw_term t = {
        .key = key,
        .key_len = key_len,
        .docs = m->docs,
        .tfs = m->tfs,
        .df = df,
        .total_tf = total_tf,
        .pos_start = pos_start,
        .norms = m->norms + (size_t)nf * m->doc_count,
        .norms_len = m->doc_count,
    };
    rc = seg_tw_add(&m->tw, &t);
    if (rc) {
        return sd_errorf(m->err, rc, "seg_merge: postings: %s", sd_status_name(rc));
    }
    return between_items(m); /* between terms: a term's skip table is filled in after its blocks */
}

static int merge_field(struct merger *m, unsigned nf)
{
    const int *from = m->from + (size_t)nf * m->n;
    m->nheap = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct merge_in *in = &m->in[i];
        in->has_term = false;
        if (from[i] < 0) {
            continue;
        }
        int r = seg_dict_cursor_field(&in->cur, in->s, (unsigned)from[i], &in->term);
        if (r < 0) {
            return SD_CORRUPT(m->err, "%s: dictionary damaged", in->s->name);
        }
        in->has_term = r == 1 && in->cur.key[0] == from[i];
        if (in->has_term) {
            heap_push(m, i);
        }
    }
    while (m->nheap > 0) {
        int rc = merge_term(m, nf, from);
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

static int write_terms(struct merger *m)
{
    m->from = malloc(((size_t)m->nfields * m->n + 1) * sizeof *m->from);
    m->heap = malloc((m->n + 1) * sizeof *m->heap);
    m->same = malloc((m->n + 1) * sizeof *m->same);
    if (!m->from || !m->heap || !m->same) {
        return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
    }
    for (size_t k = 0; k < (size_t)m->nfields * m->n; k++) {
        m->from[k] = -1;
    }
    for (size_t i = 0; i < m->n; i++) {
        for (unsigned f = 0; f < m->in[i].s->field_count; f++) {
            if (m->in[i].to_new[f] >= 0) {
                m->from[(size_t)m->in[i].to_new[f] * m->n + i] = (int)f;
            }
        }
    }
    seg_tw_init(&m->tw, &m->sink, m->base, m->sect_off);
    for (unsigned nf = 0; nf < m->nfields; nf++) {
        int rc = merge_field(m, nf);
        if (rc) {
            return rc;
        }
    }
    int rc = seg_tw_finish(&m->tw, m->sect_off, m->sect_len);
    if (rc == SD_EIO || rc == SD_ENOSPC) {
        return rc; /* the sink named the file */
    }
    return rc ? sd_errorf(m->err, rc, "seg_merge: %s", sd_status_name(rc)) : SD_OK;
}

/* ---- attribute columns ---- */

/* ATTRS: every input column's values of the live docs, in output order, through the same
 * struct seg_acols a direct build fills, so the section has the same bytes. */
static int seg_attr_merge(struct merger *m, struct seg *const *inputs)
{
    struct seg_acols a;
    int rc = seg_acols_init_merge(&a, inputs, m->n, m->err);
    for (size_t i = 0; rc == SD_OK && i < m->n; i++) {
        for (uint32_t d = 0; rc == SD_OK && d < m->in[i].s->doc_count; d++) {
            if (m->in[i].remap[d] != NONE) {
                rc = seg_acols_add_from(&a, inputs[i], d);
            }
        }
    }
    struct sd_buf body;
    sd_buf_init(&body);
    if (rc == SD_OK) {
        rc = seg_acols_write(&a, &body);
    }
    if (rc == SD_OK) {
        sect_begin(m, SEG_SECT_ATTRS);
        rc = seg_sink_put(&m->sink, body.data, body.len);
        sect_end(m, SEG_SECT_ATTRS);
    }
    sd_buf_free(&body);
    seg_acols_free(&a); /* init_merge leaves it empty on failure */
    if (rc == SD_ENOMEM) {
        return sd_errorf(m->err, rc, "seg_merge: attribute columns: out of memory");
    }
    return rc;
}

/* ---- the whole merge ---- */

static int setup(struct merger *m, struct seg *const *inputs, const uint64_t *const *deleted)
{
    uint64_t next = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct merge_in *in = &m->in[i];
        in->s = inputs[i];
        in->del = deleted ? deleted[i] : NULL;
        in->blk = NONE;
        sd_buf_init(&in->blk_raw);
        for (unsigned f = 0; f < SEG_MAX_SEG_FIELDS; f++) {
            in->to_new[f] = -1;
        }
        in->remap = malloc(((size_t)in->s->doc_count + 1) * sizeof *in->remap);
        if (!in->remap) {
            return sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
        }
        for (uint32_t d = 0; d < in->s->doc_count; d++) {
            bool gone = is_deleted(in->del, d);
            in->remap[d] = gone ? NONE : (uint32_t)next++;
            in->ndeleted += gone;
        }
        if (next >= UINT32_MAX) {
            return sd_errorf(m->err, SD_ELIMIT, "seg_merge: more than %u documents",
                             UINT32_MAX - 1);
        }
    }
    m->doc_count = (uint32_t)next;
    return SD_OK;
}

static void merger_free(struct merger *m)
{
    for (size_t i = 0; m->in && i < m->n; i++) {
        free(m->in[i].remap);
        sd_buf_free(&m->in[i].blk_raw);
    }
    free(m->in);
    free(m->from);
    free(m->heap);
    free(m->same);
    free(m->norms);
    free(m->docs);
    free(m->tfs);
    sd_buf_free(&m->sdocs);
    sd_buf_free(&m->raw);
    sd_buf_free(&m->sblocks);
    sd_buf_free(&m->chunk_entries);
    sd_buf_free(&m->chunk_sums);
    sd_buf_free(&m->chunk_sum);
    seg_tw_free(&m->tw);
    stem_ctx_free(m->stem);
}

/* The whole merge into m->sink: pass 1 plans, the others write the sections in order,
 * spilling to the sink's file (if any) between them and inside the big ones. */
static int merge_run(struct merger *m, struct seg *const *inputs, const uint64_t *const *deleted)
{
    sd_buf_init(&m->sdocs);
    sd_buf_init(&m->raw);
    sd_buf_init(&m->sblocks);
    sd_buf_init(&m->chunk_entries);
    sd_buf_init(&m->chunk_sums);
    sd_buf_init(&m->chunk_sum);
    m->in = calloc(m->n + 1, sizeof *m->in);
    int rc = m->in ? setup(m, inputs, deleted)
                   : sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory");
    if (rc == SD_OK) {
        rc = scan_records(m);
    }
    if (rc == SD_OK) {
        seg_write_header(m->out);
        write_fields(m);
        rc = write_doc_table(m, SEG_SECT_DOC_IDS);
    }
    if (rc == SD_OK && (rc = between_items(m)) == SD_OK) {
        rc = write_id_map(m);
    }
    if (rc == SD_OK && (rc = between_items(m)) == SD_OK) {
        rc = write_norms(m);
    }
    if (rc == SD_OK && (rc = between_items(m)) == SD_OK) {
        rc = write_stored(m);
    }
    if (rc == SD_OK && (rc = between_items(m)) == SD_OK) {
        rc = write_doc_table(m, SEG_SECT_TITLES);
    }
    if (rc == SD_OK && (rc = between_items(m)) == SD_OK) {
        rc = write_terms(m);
    }
    if (rc == SD_OK && (rc = between_items(m)) == SD_OK) {
        rc = seg_attr_merge(m, inputs); /* seg_attr_write.c carries the columns */
    }
    if (rc == SD_OK) {
        sect_begin(m, SEG_SECT_CHUNKS);
        seg_chunk_write(m->out, &m->chunk_entries, &m->chunk_sums);
        sect_end(m, SEG_SECT_CHUNKS);
        rc = m->out->rc || m->chunk_entries.rc || m->chunk_sums.rc
                 ? sd_errorf(m->err, SD_ENOMEM, "seg_merge: out of memory")
                 : SD_OK;
    }
    if (rc == SD_OK) {
        rc = seg_write_footer(&m->sink, m->base, m->sect_off, m->sect_len, m->doc_count, m->nfields,
                              m->tw.nterms);
        if (rc == SD_ENOMEM) {
            rc = sd_errorf(m->err, rc, "seg_merge: out of memory");
        }
    }
    if (rc == SD_OK) {
        rc = seg_sink_spill(&m->sink, 0);
    }
    merger_free(m);
    return rc;
}

int seg_merge(struct seg *const *inputs, const uint64_t *const *deleted, size_t n,
              struct sd_buf *out, const atomic_bool *stop, struct sd_error *err)
{
    struct merger m = {.n = n,
                       .out = out,
                       .base = out->len,
                       .err = err,
                       .stop = stop,
                       .sink = {.buf = out, .fd = -1, .path = "merge output", .err = err}};
    int rc = merge_run(&m, inputs, deleted);
    if (rc) {
        out->len = m.base;
    }
    return rc;
}

int seg_merge_file(struct seg *const *inputs, const uint64_t *const *deleted, size_t n,
                   const char *path, uint64_t *len, struct sd_error *err)
{
    return seg_merge_file_spilling(inputs, deleted, n, path, SEG_SPILL_BYTES, len, err);
}

int seg_merge_file_spilling(struct seg *const *inputs, const uint64_t *const *deleted, size_t n,
                            const char *path, size_t spill_bytes, uint64_t *len,
                            struct sd_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        return sd_errorf(err, sd_status_from_errno(e), "%s: create: %s", path, strerror(e));
    }
    struct sd_buf out;
    sd_buf_init(&out);
    struct merger m = {
        .n = n,
        .out = &out,
        .err = err,
        .spill_bytes = spill_bytes,
        .sink = {.buf = &out, .fd = fd, .spill_bytes = spill_bytes, .path = path, .err = err}};
    int rc = merge_run(&m, inputs, deleted);
    sd_buf_free(&out);
    if (rc == SD_OK && fsync(fd) != 0) {
        int e = errno;
        rc = sd_errorf(err, sd_status_from_errno(e), "%s: fsync: %s", path, strerror(e));
    }
    if (close(fd) != 0 && rc == SD_OK) {
        int e = errno;
        rc = sd_errorf(err, sd_status_from_errno(e), "%s: close: %s", path, strerror(e));
    }
    if (rc) {
        unlink(path);
        return rc;
    }
    *len = m.sink.spilled;
    return SD_OK;
}
