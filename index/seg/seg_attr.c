/*
 * seg_attr.c: an open segment's attribute columns (format at the top of seg_attr_write.c).
 *
 * On open the ATTRS directory and every body are checked against the section: counts,
 * widths, packed lengths, a MULTI starts table that begins at 0, never goes down and ends at
 * the value count, keyword offsets ascending inside the dictionary bytes and every ordinal
 * below the dictionary size. After that the accessors read packed values straight from the
 * image with no further check: a value number below the column's count is always in bounds.
 * That check is linear in the values, once per open (about a millisecond per 200k values).
 */
#include <stdlib.h>
#include <string.h>

#include "seg_attr_int.h"
#include "seg_int.h"

static bool width_ok(uint8_t bits)
{
    return bits <= SEG_ATTR_MAX_BITS || bits == 64;
}

/* A packed array of n values at the cursor: its width, then the bytes. */
static int rd_packed(struct sd_rd *rd, uint64_t n, unsigned *bits, const uint8_t **p)
{
    uint8_t b;
    if (sd_rd_u8(rd, &b) || !width_ok(b) || n > SIZE_MAX / 64) {
        return SD_ECORRUPT;
    }
    *bits = b;
    return sd_rd_bytes(rd, seg_attr_packed_len(n, b), p);
}

static int check_starts(const struct seg_attr *a)
{
    uint64_t prev = 0;
    for (uint64_t d = 0; d <= a->docs; d++) {
        uint64_t v = seg_attr_unpack(a->starts, d, a->start_bits);
        if (v < prev || (d == 0 && v != 0)) {
            return SD_ECORRUPT;
        }
        prev = v;
    }
    return prev == a->nvals ? SD_OK : SD_ECORRUPT;
}

/* The dictionary, and from format 4 on the documents of each value after it. */
static int check_keywords(struct seg_attr *a, struct sd_rd *rd, uint16_t version)
{
    const uint8_t *p;
    if (sd_rd_le32(rd, &a->nkw) || sd_rd_bytes(rd, ((size_t)a->nkw + 1) * 4, &p)) {
        return SD_ECORRUPT;
    }
    a->kw_offs = p;
    size_t left = sd_rd_left(rd);
    uint32_t prev = 0;
    for (uint32_t k = 0; k <= a->nkw; k++) {
        uint32_t off = sd_get_le32(p + 4 * (size_t)k);
        if (off < prev || off > left || (k == 0 && off != 0)) {
            return SD_ECORRUPT;
        }
        prev = off;
    }
    /* format 3: the dictionary bytes are the rest of the body; 4: the sets follow them */
    if ((version < 4 && prev != left) || sd_rd_bytes(rd, prev, &a->kw_bytes)) {
        return SD_ECORRUPT;
    }
    for (uint64_t i = 0; i < a->nvals; i++) {
        if ((uint64_t)a->min + seg_attr_unpack(a->vals, i, a->bits) >= a->nkw) {
            return SD_ECORRUPT;
        }
    }
    return version < 4 ? SD_OK : seg_attr_docs_load(a, rd);
}

/* One column body [p, p + len) of a segment of format version. */
static int parse_body(struct seg_attr *a, const uint8_t *p, size_t len, uint16_t version)
{
    struct sd_rd rd;
    sd_rd_init(&rd, p, len);
    if (a->flags & SEG_ATTR_MULTI) {
        if (rd_packed(&rd, (uint64_t)a->docs + 1, &a->start_bits, &a->starts) || check_starts(a)) {
            return SD_ECORRUPT;
        }
    } else if (a->nvals != a->docs) {
        return SD_ECORRUPT;
    }
    if (a->type == SEG_ATTR_FLOAT) {
        if (a->nvals > SIZE_MAX / 8 || sd_rd_bytes(&rd, (size_t)a->nvals * 8, &a->vals)) {
            return SD_ECORRUPT;
        }
        return sd_rd_left(&rd) == 0 ? SD_OK : SD_ECORRUPT;
    }
    uint64_t min;
    if (sd_rd_le64(&rd, &min) || rd_packed(&rd, a->nvals, &a->bits, &a->vals)) {
        return SD_ECORRUPT;
    }
    a->min = (int64_t)min;
    if (a->type == SEG_ATTR_KEYWORD) {
        return min == 0 ? check_keywords(a, &rd, version) : SD_ECORRUPT;
    }
    return sd_rd_left(&rd) == 0 ? SD_OK : SD_ECORRUPT;
}

/* Directory entry i at the cursor; its body checked. */
static int parse_column(struct seg *s, struct sd_rd *rd, struct seg_attr *a, unsigned i,
                        struct sd_error *err)
{
    const struct seg_span *sect = &s->sect[SEG_SECT_ATTRS];
    uint8_t n;
    const uint8_t *name;
    uint64_t off, len;
    if (sd_rd_u8(rd, &n) || n == 0 || n > SEG_MAX_NAME || sd_rd_bytes(rd, n, &name) ||
        memchr(name, 0, n) || sd_rd_u8(rd, &a->type) || sd_rd_u8(rd, &a->flags) ||
        sd_rd_le64(rd, &a->nvals) || sd_rd_le64(rd, &off) || sd_rd_le64(rd, &len)) {
        return SD_CORRUPT(err, "%s: attribute column %u: damaged directory entry", s->name, i);
    }
    memcpy(a->name, name, n);
    a->name[n] = '\0';
    a->docs = s->doc_count;
    a->bytes = (size_t)len;
    if (a->type < SEG_ATTR_INT || a->type > SEG_ATTR_KEYWORD || (a->flags & ~SEG_ATTR_MULTI) ||
        off > sect->len || len > sect->len - off ||
        parse_body(a, sect->p + off, (size_t)len, s->version) != SD_OK) {
        return SD_CORRUPT(err, "%s: attribute column '%s': damaged", s->name, a->name);
    }
    if (i > 0 && strcmp(a[-1].name, a->name) >= 0) {
        return SD_CORRUPT(err, "%s: attribute columns out of order at '%s'", s->name, a->name);
    }
    return SD_OK;
}

int seg_attr_load(struct seg *s, struct sd_error *err)
{
    const struct seg_span *sect = &s->sect[SEG_SECT_ATTRS];
    if (s->version < 3) {
        return SD_OK; /* format 2: no columns */
    }
    struct sd_rd rd;
    sd_rd_init(&rd, sect->p, sect->len);
    uint32_t n;
    if (sd_rd_le64(&rd, &s->settings_version) || sd_rd_le32(&rd, &n) || n > SEG_MAX_ATTRS) {
        return SD_CORRUPT(err, "%s: attribute section: bad column count", s->name);
    }
    s->attrs = calloc(n ? n : 1, sizeof *s->attrs);
    if (!s->attrs) {
        return sd_errorf(err, SD_ENOMEM, "%s: out of memory", s->name);
    }
    for (uint32_t i = 0; i < n; i++) {
        int rc = parse_column(s, &rd, &s->attrs[i], i, err);
        if (rc) {
            return rc;
        }
    }
    s->nattrs = n;
    return SD_OK;
}

/* ---- accessors ---- */

uint64_t seg_settings_version(const struct seg *s)
{
    return s->settings_version;
}

unsigned seg_attr_count(const struct seg *s)
{
    return s->nattrs;
}

const struct seg_attr *seg_attr_at(const struct seg *s, unsigned i)
{
    return &s->attrs[i];
}

const struct seg_attr *seg_attr_find(const struct seg *s, const char *name, size_t len)
{
    unsigned lo = 0, hi = s->nattrs; /* sorted by name (checked on open) */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const char *m = s->attrs[mid].name;
        size_t mlen = strlen(m);
        int c = memcmp(m, name, mlen < len ? mlen : len);
        if (c == 0) {
            c = (mlen > len) - (mlen < len);
        }
        if (c == 0) {
            return &s->attrs[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

const char *seg_attr_name(const struct seg_attr *a)
{
    return a->name;
}

enum seg_attr_type seg_attr_type(const struct seg_attr *a)
{
    return (enum seg_attr_type)a->type;
}

void seg_attr_values(const struct seg_attr *a, uint32_t doc, uint64_t *first, uint32_t *count)
{
    if (!(a->flags & SEG_ATTR_MULTI)) {
        *first = doc;
        *count = 1;
        return;
    }
    uint64_t s = seg_attr_unpack(a->starts, doc, a->start_bits);
    *first = s;
    *count = (uint32_t)(seg_attr_unpack(a->starts, (uint64_t)doc + 1, a->start_bits) - s);
}

int64_t seg_attr_int(const struct seg_attr *a, uint64_t i)
{
    return (int64_t)((uint64_t)a->min + seg_attr_unpack(a->vals, i, a->bits));
}

double seg_attr_float(const struct seg_attr *a, uint64_t i)
{
    uint64_t bits = sd_get_le64(a->vals + 8 * i);
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

uint32_t seg_attr_ord(const struct seg_attr *a, uint64_t i)
{
    return (uint32_t)seg_attr_unpack(a->vals, i, a->bits);
}

uint32_t seg_attr_keyword_count(const struct seg_attr *a)
{
    return a->nkw;
}

void seg_attr_keyword(const struct seg_attr *a, uint32_t ord, const char **s, size_t *len)
{
    uint32_t from = sd_get_le32(a->kw_offs + 4 * (size_t)ord);
    *s = (const char *)a->kw_bytes + from;
    *len = sd_get_le32(a->kw_offs + 4 * ((size_t)ord + 1)) - from;
}

int seg_attr_keyword_find(const struct seg_attr *a, const char *s, size_t len, uint32_t *ord)
{
    uint32_t lo = 0, hi = a->nkw;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const char *k;
        size_t klen;
        seg_attr_keyword(a, mid, &k, &klen);
        int c = memcmp(k, s, klen < len ? klen : len);
        if (c == 0) {
            c = (klen > len) - (klen < len);
        }
        if (c == 0) {
            *ord = mid;
            return SD_OK;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return SD_ENOTFOUND;
}

size_t seg_attr_bytes(const struct seg_attr *a)
{
    return a->bytes;
}
