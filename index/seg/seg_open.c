/*
 * seg_open.c: opening a segment image, and the per-document tables (fields, norms, ids,
 * titles).
 *
 * Open order (nothing read from the image is trusted before the step that checks it):
 *   1. length >= header + footer tail; head magic; version in [OLDEST, VERSION]; codec known;
 *   2. tail magic and footer length, then the XXH3-64 of [0, end - 16) against the stored
 *      checksum: a truncated or damaged image stops here in practice. The _written opens
 *      skip this one step for an image this process has just made: its writer computed the
 *      checksum over the very bytes (seg_builder_finish, seg_merge; seg_merge_file read its
 *      file back to do so), so a second pass could only find a bug the next steps catch
 *      too, and it cost 8% of the writer thread and 5% of a merge (perf, corpus-large);
 *   3. the footer's section table: every (offset, length) inside [header, footer);
 *   4. each section's own shape: sizes that follow from the counts, the id and title offset
 *      tables ascending, stored blocks inside STORED_DATA, the dictionary index (seg_dict.c).
 * After that, accessors may index the fixed-size tables directly; variable-length data
 * (dictionary blocks, postings, stored records) is still decoded through bounds-checked
 * cursors, so a bug in the writer that the checksum cannot see is an error, not a crash.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "seg_attr_int.h"
#include "seg_int.h"

static int check_header(struct seg *s, struct sd_error *err)
{
    if (s->len < SEG_HEADER_LEN + SEG_FOOTER_LEN_V2) {
        return SD_CORRUPT(err, "%s: truncated: %zu bytes", s->name, s->len);
    }
    if (memcmp(s->img, SEG_MAGIC, 4) != 0) {
        return SD_CORRUPT(err, "%s: not a segment (bad magic)", s->name);
    }
    s->version = sd_get_le16(s->img + 4);
    if (s->version < SEG_FORMAT_OLDEST || s->version > SEG_FORMAT_VERSION) {
        return SD_CORRUPT(err,
                          "%s: unsupported segment format version %u (this build reads %d..%d)",
                          s->name, s->version, SEG_FORMAT_OLDEST, SEG_FORMAT_VERSION);
    }
    s->codec = s->img[6];
    if (s->codec != SEG_CODEC_BP128) {
        return SD_CORRUPT(err, "%s: unknown postings codec %u", s->name, s->codec);
    }
    return SD_OK;
}

static int check_sections(struct seg *s, struct sd_rd *rd, size_t foot, unsigned nsect,
                          struct sd_error *err)
{
    for (unsigned i = 0; i < nsect; i++) {
        uint64_t off, len;
        (void)sd_rd_le64(rd, &off);
        (void)sd_rd_le64(rd, &len);
        if (off < SEG_HEADER_LEN || off > foot || len > foot - off) {
            return SD_CORRUPT(err, "%s: section %u out of bounds", s->name, i);
        }
        s->sect[i].p = s->img + off;
        s->sect[i].len = (size_t)len;
        s->sect[i].off = off;
    }
    return SD_OK;
}

static int check_footer(struct seg *s, struct sd_error *err)
{
    const uint8_t *end = s->img + s->len;
    uint32_t foot_len = sd_get_le32(end - 8);
    if (memcmp(end - 4, SEG_MAGIC, 4) != 0) {
        return SD_CORRUPT(err, "%s: truncated or damaged (no footer magic)", s->name);
    }
    /* format 2 has no ATTRS section, 3 and 4 no CHUNKS: footers one table entry shorter each */
    unsigned want_nsect = s->version < 3 ? SEG_NSECT_V2 : s->version < 5 ? SEG_NSECT_V4 : SEG_NSECT;
    uint32_t want_len = s->version < 3   ? SEG_FOOTER_LEN_V2
                        : s->version < 5 ? SEG_FOOTER_LEN_V4
                                         : SEG_FOOTER_LEN;
    if (foot_len < want_len || foot_len > s->len - SEG_HEADER_LEN) {
        return SD_CORRUPT(err, "%s: bad footer length %u", s->name, foot_len);
    }
    if (s->verify_checksum && sd_hash64(s->img, s->len - 8 - 8) != sd_get_le64(end - 16)) {
        return SD_CORRUPT(err, "%s: checksum mismatch", s->name);
    }
    size_t foot = s->len - foot_len;
    struct sd_rd rd;
    sd_rd_init(&rd, s->img + foot, foot_len - SEG_FOOTER_TAIL_LEN);
    uint32_t nsect = 0, docs = 0, fields = 0;
    (void)sd_rd_le32(&rd, &nsect);
    if (nsect != want_nsect) {
        return SD_CORRUPT(err, "%s: %u sections, expected %u", s->name, nsect, want_nsect);
    }
    int rc = check_sections(s, &rd, foot, nsect, err);
    if (rc) {
        return rc;
    }
    (void)sd_rd_le32(&rd, &docs);
    (void)sd_rd_le32(&rd, &fields);
    (void)sd_rd_le64(&rd, &s->term_count);
    if (docs == UINT32_MAX || fields > SEG_MAX_SEG_FIELDS) {
        return SD_CORRUPT(err, "%s: bad doc or field count", s->name);
    }
    s->doc_count = docs;
    s->field_count = fields;
    return SD_OK;
}

static int parse_fields(struct seg *s, struct sd_error *err)
{
    struct sd_rd rd;
    sd_rd_init(&rd, s->sect[SEG_SECT_FIELDS].p, s->sect[SEG_SECT_FIELDS].len);
    uint32_t count;
    if (sd_rd_le32(&rd, &count) || count != s->field_count) {
        return SD_CORRUPT(err, "%s: field table: bad count", s->name);
    }
    s->fields = calloc(count + 1, sizeof *s->fields);
    if (!s->fields) {
        return sd_errorf(err, SD_ENOMEM, "%s: out of memory", s->name);
    }
    for (uint32_t f = 0; f < count; f++) {
        struct seg_field_info *fi = &s->fields[f];
        uint8_t n;
        const uint8_t *name;
        if (sd_rd_u8(&rd, &n) || n == 0 || n > SEG_MAX_NAME || sd_rd_bytes(&rd, n, &name) ||
            sd_rd_le64(&rd, &fi->total_len) || sd_rd_le32(&rd, &fi->docs)) {
            return SD_CORRUPT(err, "%s: field table: entry %u damaged", s->name, f);
        }
        memcpy(fi->name, name, n);
        fi->name[n] = '\0';
        fi->name_len = n;
    }
    return SD_OK;
}

/* DOC_IDS and TITLES: (docs + 1) u32 offsets from 0 ascending to the length of the bytes
 * after them, no entry longer than max. *bytes and *bytes_len get those bytes. */
static int check_doc_table(struct seg *s, enum seg_section sect, size_t max, const char *what,
                           const uint8_t **bytes, size_t *bytes_len, struct sd_error *err)
{
    const struct seg_span *t = &s->sect[sect];
    size_t table = ((size_t)s->doc_count + 1) * 4;
    if (t->len < table) {
        return SD_CORRUPT(err, "%s: %s table too short", s->name, what);
    }
    *bytes = t->p + table;
    *bytes_len = t->len - table;
    uint32_t prev = 0;
    for (size_t d = 0; d <= s->doc_count; d++) {
        uint32_t off = sd_get_le32(t->p + 4 * d);
        if (off < prev || (d == 0 && off != 0) || off > *bytes_len || off - prev > max) {
            return SD_CORRUPT(err, "%s: %s offset %zu out of order", s->name, what, d);
        }
        prev = off;
    }
    if (prev != *bytes_len) {
        return SD_CORRUPT(err, "%s: %s bytes have trailing data", s->name, what);
    }
    return SD_OK;
}

static int check_stored(struct seg *s, struct sd_error *err)
{
    const struct seg_span *blocks = &s->sect[SEG_SECT_STORED_BLOCKS];
    if (s->sect[SEG_SECT_STORED_DOCS].len != (size_t)s->doc_count * SEG_SDOC_ENTRY_LEN ||
        blocks->len % SEG_SBLOCK_ENTRY_LEN != 0 ||
        blocks->len / SEG_SBLOCK_ENTRY_LEN > UINT32_MAX) {
        return SD_CORRUPT(err, "%s: stored document tables have the wrong size", s->name);
    }
    s->stored_nblocks = (uint32_t)(blocks->len / SEG_SBLOCK_ENTRY_LEN);
    size_t data_len = s->sect[SEG_SECT_STORED_DATA].len;
    for (uint32_t b = 0; b < s->stored_nblocks; b++) {
        const uint8_t *e = blocks->p + (size_t)b * SEG_SBLOCK_ENTRY_LEN;
        uint64_t off = sd_get_le64(e);
        uint32_t comp = sd_get_le32(e + 8), raw = sd_get_le32(e + 12);
        if (off > data_len || comp > data_len - off || comp > INT32_MAX ||
            raw > SEG_STORED_MAX_RAW + SEG_STORED_BLOCK_TARGET) {
            return SD_CORRUPT(err, "%s: stored block %u out of bounds", s->name, b);
        }
    }
    return SD_OK;
}

/* CHUNKS (format 5): entries ascending by first block, each a run of at least 2 blocks that
 * ends before the next run starts, with its summaries inside the section. */
static int check_chunks(struct seg *s, struct sd_error *err)
{
    const struct seg_span *c = &s->sect[SEG_SECT_CHUNKS];
    if (s->version < 5) {
        return SD_OK;
    }
    uint32_t n = c->len >= 4 ? sd_get_le32(c->p) : 0;
    if (c->len < 4 || n > (c->len - 4) / SEG_CHUNK_ENTRY_LEN) {
        return SD_CORRUPT(err, "%s: chunk table has the wrong size", s->name);
    }
    s->chunk_count = n;
    s->chunk_sums = c->p + 4 + (size_t)n * SEG_CHUNK_ENTRY_LEN;
    s->chunk_sums_len = c->len - 4 - (size_t)n * SEG_CHUNK_ENTRY_LEN;
    uint64_t next_free = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = c->p + 4 + (size_t)i * SEG_CHUNK_ENTRY_LEN;
        uint32_t first = sd_get_le32(e), count = sd_get_le32(e + 4), bytes = sd_get_le32(e + 8);
        uint64_t off = sd_get_le64(e + 12);
        if (first < next_free || count < 2 || count > s->stored_nblocks ||
            first > s->stored_nblocks - count || bytes == 0 || bytes > SEG_STORED_BLOCK_TARGET ||
            off > s->chunk_sums_len ||
            (uint64_t)count * (1 + (uint64_t)bytes) > s->chunk_sums_len - off) {
            return SD_CORRUPT(err, "%s: chunk entry %u out of bounds", s->name, i);
        }
        next_free = (uint64_t)first + count;
    }
    return SD_OK;
}

const uint8_t *seg_chunk_entry(const struct seg *s, uint32_t block)
{
    const uint8_t *base = s->sect[SEG_SECT_CHUNKS].p + 4;
    size_t lo = 0, hi = s->chunk_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t first = sd_get_le32(base + mid * SEG_CHUNK_ENTRY_LEN);
        if (first == block) {
            return base + mid * SEG_CHUNK_ENTRY_LEN;
        }
        if (first < block) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static int check_tables(struct seg *s, struct sd_error *err)
{
    uint64_t docs = s->doc_count;
    if (s->sect[SEG_SECT_ID_MAP].len != docs * SEG_IDMAP_ENTRY_LEN) {
        return SD_CORRUPT(err, "%s: id map has the wrong size", s->name);
    }
    if (s->sect[SEG_SECT_NORMS].len != docs * s->field_count) {
        return SD_CORRUPT(err, "%s: norms have the wrong size", s->name);
    }
    int rc = parse_fields(s, err);
    if (rc == SD_OK) {
        rc = check_doc_table(s, SEG_SECT_DOC_IDS, SEG_MAX_ID, "doc id", &s->id_bytes,
                             &s->id_bytes_len, err);
    }
    if (rc == SD_OK) {
        rc = check_doc_table(s, SEG_SECT_TITLES, SEG_TITLE_MAX, "title", &s->title_bytes,
                             &s->title_bytes_len, err);
    }
    if (rc == SD_OK) {
        rc = check_stored(s, err);
    }
    if (rc == SD_OK) {
        rc = check_chunks(s, err);
    }
    if (rc == SD_OK) {
        rc = seg_dict_check(s, err);
    }
    if (rc == SD_OK) {
        rc = seg_attr_load(s, err);
    }
    return rc;
}

static int seg_load(struct seg *s, struct sd_error *err)
{
    int rc = check_header(s, err);
    if (rc == SD_OK) {
        rc = check_footer(s, err);
    }
    if (rc == SD_OK) {
        rc = check_tables(s, err);
    }
    return rc;
}

static int open_file(const char *path, bool verify_checksum, struct seg **out, struct sd_error *err)
{
    struct seg *s = calloc(1, sizeof *s);
    char *name = strdup(path);
    if (!s || !name) {
        free(s);
        free(name);
        return sd_errorf(err, SD_ENOMEM, "seg_open %s: out of memory", path);
    }
    s->name = name;
    s->verify_checksum = verify_checksum;
    int rc = sd_map_file(path, &s->map, err);
    if (rc) {
        seg_close(s);
        return rc;
    }
    s->img = s->map.data;
    s->len = s->map.len;
    rc = seg_load(s, err);
    if (rc) {
        seg_close(s);
        return rc;
    }
    /* Verifying the checksum touched every page (a _written open touches the tables and
     * the dictionary index only). Dropping them from this process's page tables (they stay
     * in the page cache; queries fault back in the few they read) keeps a merge's new
     * segment from counting in RSS next to its still-mapped inputs: measured on a
     * 200k-document import, that was a second copy of the index. Advice only: a failure
     * changes nothing but memory use. */
    (void)madvise((void *)s->map.data, s->map.len, MADV_DONTNEED);
    *out = s;
    return SD_OK;
}

int seg_open_file(const char *path, struct seg **out, struct sd_error *err)
{
    return open_file(path, true, out, err);
}

int seg_open_file_written(const char *path, struct seg **out, struct sd_error *err)
{
    return open_file(path, false, out, err);
}

static int open_mem(uint8_t *image, size_t len, const char *name, bool verify_checksum,
                    struct seg **out, struct sd_error *err)
{
    struct seg *s = calloc(1, sizeof *s);
    char *copy = strdup(name ? name : "(memory segment)");
    if (!s || !copy) {
        free(s);
        free(copy);
        free(image);
        return sd_errorf(err, SD_ENOMEM, "seg_open %s: out of memory", name ? name : "");
    }
    s->name = copy;
    s->verify_checksum = verify_checksum;
    s->owned = image;
    s->img = image;
    s->len = image ? len : 0;
    int rc = seg_load(s, err);
    if (rc) {
        seg_close(s);
        return rc;
    }
    *out = s;
    return SD_OK;
}

int seg_open_mem(uint8_t *image, size_t len, const char *name, struct seg **out,
                 struct sd_error *err)
{
    return open_mem(image, len, name, true, out, err);
}

int seg_open_mem_written(uint8_t *image, size_t len, const char *name, struct seg **out,
                         struct sd_error *err)
{
    return open_mem(image, len, name, false, out, err);
}

void seg_close(struct seg *s)
{
    if (!s) {
        return;
    }
    if (s->map.data) {
        sd_unmap(&s->map);
    }
    free(s->owned);
    free(s->fields);
    free(s->attrs);
    struct seg_exact_terms *terms = atomic_load(&s->exact_terms);
    if (terms && s->charge) {
        (void)s->charge(s->charge_arg, -(int64_t)terms->mem_bytes);
    }
    seg_exact_terms_free(terms);
    seg_memo_free(s);
    free(s->name);
    free(s);
}

int seg_verify_file(const char *path, struct sd_error *err)
{
    struct seg *s = NULL;
    int rc = seg_open_file(path, &s, err);
    if (rc == SD_OK) {
        seg_close(s);
    }
    return rc;
}

/* ---- counts and sizes ---- */

uint32_t seg_doc_count(const struct seg *s)
{
    return s->doc_count;
}

uint64_t seg_checksum(const struct seg *s)
{
    return sd_get_le64(s->img + s->len - 16); /* check_footer() saw the footer fit */
}

const uint8_t *seg_image(const struct seg *s, size_t *len)
{
    *len = s->len;
    return s->img;
}

size_t seg_size_bytes(const struct seg *s)
{
    return s->len;
}

size_t seg_postings_bytes(const struct seg *s)
{
    return s->sect[SEG_SECT_DICT].len + s->sect[SEG_SECT_DICT_INDEX].len +
           s->sect[SEG_SECT_POSTINGS].len + s->sect[SEG_SECT_POSITIONS].len +
           s->sect[SEG_SECT_NORMS].len;
}

/* ---- fields and norms ---- */

unsigned seg_field_count(const struct seg *s)
{
    return s->field_count;
}

const char *seg_field_name(const struct seg *s, unsigned field)
{
    return field < s->field_count ? s->fields[field].name : "";
}

int seg_field_find(const struct seg *s, const char *name, size_t len)
{
    for (unsigned f = 0; f < s->field_count; f++) {
        if (s->fields[f].name_len == len && memcmp(s->fields[f].name, name, len) == 0) {
            return (int)f;
        }
    }
    return -1;
}

void seg_field_stats(const struct seg *s, unsigned field, uint64_t *total_len, uint32_t *docs)
{
    *total_len = field < s->field_count ? s->fields[field].total_len : 0;
    *docs = field < s->field_count ? s->fields[field].docs : 0;
}

uint8_t seg_field_norm(const struct seg *s, uint32_t doc, unsigned field)
{
    if (doc >= s->doc_count || field >= s->field_count) {
        return 0;
    }
    return s->sect[SEG_SECT_NORMS].p[(size_t)field * s->doc_count + doc];
}

const uint8_t *seg_field_norms(const struct seg *s, unsigned field)
{
    return s->sect[SEG_SECT_NORMS].p + (size_t)field * s->doc_count;
}

uint32_t seg_field_len(const struct seg *s, uint32_t doc, unsigned field)
{
    return seg_norm_decode(seg_field_norm(s, doc, field));
}

/* ---- document ids and titles ---- */

/* Entry doc of DOC_IDS or TITLES (whose bytes are at `bytes`): SD_OK, or SD_ENOTFOUND and "". */
static int doc_table_get(const struct seg *s, enum seg_section sect, const uint8_t *bytes,
                         uint32_t doc, const char **p, size_t *len)
{
    if (doc >= s->doc_count) {
        *p = "";
        *len = 0;
        return SD_ENOTFOUND;
    }
    const uint8_t *t = s->sect[sect].p + 4 * (size_t)doc;
    uint32_t start = sd_get_le32(t), end = sd_get_le32(t + 4); /* checked ascending at open */
    *p = (const char *)bytes + start;
    *len = end - start;
    return SD_OK;
}

void seg_doc_id(const struct seg *s, uint32_t doc, const char **id, size_t *len)
{
    (void)doc_table_get(s, SEG_SECT_DOC_IDS, s->id_bytes, doc, id, len);
}

int seg_doc_title(const struct seg *s, uint32_t doc, const char **title, size_t *len)
{
    return doc_table_get(s, SEG_SECT_TITLES, s->title_bytes, doc, title, len);
}

uint64_t seg_id_hash(const char *id, size_t len)
{
    return sd_hash64(id, len);
}

int seg_doc_find(const struct seg *s, const char *id, size_t len, uint32_t *doc)
{
    return seg_doc_find_hashed(s, id, len, seg_id_hash(id, len), doc);
}

int seg_doc_find_hashed(const struct seg *s, const char *id, size_t len, uint64_t h, uint32_t *doc)
{
    const uint8_t *map = s->sect[SEG_SECT_ID_MAP].p;
    size_t lo = 0, hi = s->doc_count; /* first entry with hash >= h */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sd_get_le64(map + mid * SEG_IDMAP_ENTRY_LEN) < h) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (; lo < s->doc_count; lo++) {
        const uint8_t *e = map + lo * SEG_IDMAP_ENTRY_LEN;
        if (sd_get_le64(e) != h) {
            break;
        }
        uint32_t d = sd_get_le32(e + 8);
        const char *cand;
        size_t cand_len;
        seg_doc_id(s, d, &cand, &cand_len);
        if (d < s->doc_count && cand_len == len && memcmp(cand, id, len) == 0) {
            *doc = d;
            return SD_OK;
        }
    }
    return SD_ENOTFOUND;
}
