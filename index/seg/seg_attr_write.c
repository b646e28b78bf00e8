/*
 * seg_attr_write.c: attribute columns (doc values) as the builder and merges write them.
 *
 * A column holds, per document, zero or more values of one type. The builder is given each
 * document's values (seg_builder_add_analyzed_attrs); a merge takes them from its inputs'
 * columns (seg_acols_add_from), so both fill the same struct seg_acols in document order and
 * seg_acols_write makes the same bytes from the same values: a merge is byte-identical to a
 * direct build of its live documents.
 *
 * ATTRS section (segment format v3 and v4; a v2 segment has none). Little-endian; offsets are from
 * the start of the section.
 *
 *   u64 settings version (of the engine's settings the columns come from; 0: none)
 *   u32 column count C (at most SEG_MAX_ATTRS), then C directory entries, sorted by name:
 *     u8 name length, name bytes, u8 type (1 int64, 2 double, 3 keyword),
 *     u8 flags (1 = MULTI), u64 value count N, u64 body offset, u64 body length
 *   then the bodies, in directory order:
 *     MULTI only: u8 width S, (docs + 1) values packed at S bits: doc d's values are value
 *                 numbers [start(d), start(d + 1)); without MULTI every doc has exactly one
 *                 value, value number d (N = docs)
 *     int64:      i64 min, u8 width B, N values (v - min) packed at B bits
 *     keyword:    i64 min (0), u8 width B, N ordinals packed at B bits, then the dictionary:
 *                 u32 K, (K + 1) u32 offsets into the bytes after them (first 0, ascending),
 *                 K distinct values sorted bytewise; ordinal o is bytes [off(o), off(o + 1));
 *                 v4: then the documents of each value (format at the top of seg_attr_docs.c)
 *     double:     N x u64 (IEEE 754 bits)
 *   Packed: value i is bits [i*B, i*B + B) of a little-endian bit stream (frame of reference
 *   plus bit packing: a year column, 35 distinct years, costs 6 bits per document), followed
 *   by 8 zero bytes so that a reader may load 8 bytes at any value's first byte. Widths are
 *   0..56, or 64 (values stored as they are, 8 bytes each).
 *
 * Readers check every count and length against the section on open (seg_attr.c), a MULTI
 * starts table ascending to N, and every keyword ordinal below K.
 */
#include <stdlib.h>
#include <string.h>

#include "seg_attr_int.h"
#include "seg_int.h"

static int cmp_spec(const void *x, const void *y)
{
    const struct seg_acol *a = x, *b = y;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

void seg_acols_free(struct seg_acols *a)
{
    for (size_t i = 0; a->cols && i < a->n; i++) {
        sd_buf_free(&a->cols[i].starts);
        sd_buf_free(&a->cols[i].vals);
        sd_buf_free(&a->cols[i].kw);
    }
    free(a->cols);
    memset(a, 0, sizeof *a);
}

static int acols_alloc(struct seg_acols *a, size_t n, struct sd_error *err)
{
    memset(a, 0, sizeof *a);
    if (n > SEG_MAX_ATTRS) {
        return sd_errorf(err, SD_ELIMIT, "%zu attribute columns, at most %d", n, SEG_MAX_ATTRS);
    }
    a->cols = calloc(n ? n : 1, sizeof *a->cols);
    if (!a->cols) {
        return sd_errorf(err, SD_ENOMEM, "attribute columns: out of memory");
    }
    a->n = n;
    for (size_t i = 0; i < n; i++) {
        sd_buf_init(&a->cols[i].starts);
        sd_buf_init(&a->cols[i].vals);
        sd_buf_init(&a->cols[i].kw);
        sd_buf_put_le32(&a->cols[i].starts, 0);
    }
    return SD_OK;
}

static bool acol_set(struct seg_acol *c, const char *name, size_t len, uint8_t type)
{
    if (len == 0 || len > SEG_MAX_NAME || memchr(name, 0, len) || type < SEG_ATTR_INT ||
        type > SEG_ATTR_KEYWORD) {
        return false;
    }
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    c->name_len = len;
    c->type = type;
    return true;
}

int seg_acols_init(struct seg_acols *a, const struct seg_attr_spec *specs, size_t n,
                   struct sd_error *err)
{
    int rc = acols_alloc(a, n, err);
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        if (!acol_set(&a->cols[i], specs[i].name, specs[i].name_len, specs[i].type)) {
            rc = sd_errorf(err, SD_EINVAL, "attribute column %zu: bad name or type", i);
        }
    }
    if (rc == SD_OK) {
        qsort(a->cols, n, sizeof *a->cols, cmp_spec);
    }
    for (size_t i = 1; rc == SD_OK && i < n; i++) {
        if (cmp_spec(&a->cols[i - 1], &a->cols[i]) == 0) {
            rc = sd_errorf(err, SD_EINVAL, "attribute column '%s' given twice", a->cols[i].name);
        }
    }
    if (rc) {
        seg_acols_free(a);
    }
    return rc;
}

int seg_acols_init_merge(struct seg_acols *a, struct seg *const *inputs, size_t n,
                         struct sd_error *err)
{
    struct seg_attr_spec specs[SEG_MAX_ATTRS] = {{0}};
    size_t count = 0;
    memset(a, 0, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < seg_attr_count(inputs[i]); k++) {
            const struct seg_attr *c = seg_attr_at(inputs[i], k);
            size_t len = strlen(c->name), j = 0;
            while (j < count &&
                   !(specs[j].name_len == len && !memcmp(specs[j].name, c->name, len))) {
                j++;
            }
            if (j == count && count == SEG_MAX_ATTRS) {
                return sd_errorf(err, SD_ELIMIT, "seg_merge: more than %d attribute columns",
                                 SEG_MAX_ATTRS);
            }
            specs[j] = (struct seg_attr_spec){c->name, len, c->type}; /* the last input's type */
            count += j == count;
        }
    }
    int rc = seg_acols_init(a, specs, count, err);
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        uint64_t v = seg_settings_version(inputs[i]);
        a->version = i == 0 || v < a->version ? v : a->version;
    }
    return rc;
}

/* ---- adding values ---- */

static void acol_put_keyword(struct seg_acol *c, const char *s, size_t len)
{
    sd_buf_put_le32(&c->vals, (uint32_t)c->kw.len);
    sd_buf_put_le32(&c->vals, (uint32_t)len);
    sd_buf_put(&c->kw, s, len);
}

/* Room for one more document with vals (NULL: none) in every column. */
static int acols_reserve(struct seg_acols *a, const struct seg_attr_vals *vals,
                         const uint8_t *order)
{
    for (size_t i = 0; i < a->n; i++) {
        struct seg_acol *c = &a->cols[order ? order[i] : i];
        uint32_t count = vals ? vals[i].count : 0;
        size_t kw = 0;
        for (uint32_t k = 0; c->type == SEG_ATTR_KEYWORD && k < count; k++) {
            kw += vals[i].lens[k];
        }
        if (c->kw.len + kw > UINT32_MAX || sd_buf_reserve(&c->starts, 4) ||
            sd_buf_reserve(&c->vals, (size_t)count * 8) || sd_buf_reserve(&c->kw, kw)) {
            return SD_ENOMEM;
        }
    }
    return SD_OK;
}

int seg_acols_add_doc(struct seg_acols *a, const struct seg_attr_vals *vals, const uint8_t *order)
{
    if (acols_reserve(a, vals, order) != SD_OK) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; vals && i < a->n; i++) {
        struct seg_acol *c = &a->cols[order ? order[i] : i];
        for (uint32_t k = 0; k < vals[i].count; k++) {
            if (c->type == SEG_ATTR_INT) {
                sd_buf_put_le64(&c->vals, (uint64_t)vals[i].ints[k]);
            } else if (c->type == SEG_ATTR_FLOAT) {
                uint64_t bits;
                memcpy(&bits, &vals[i].floats[k], 8);
                sd_buf_put_le64(&c->vals, bits);
            } else {
                acol_put_keyword(c, vals[i].strs[k], vals[i].lens[k]);
            }
        }
    }
    for (size_t i = 0; i < a->n; i++) {
        struct seg_acol *c = &a->cols[i];
        sd_buf_put_le32(&c->starts, (uint32_t)(c->vals.len / 8));
    }
    a->docs++;
    return SD_OK;
}

int seg_acols_add_from(struct seg_acols *a, const struct seg *s, uint32_t doc)
{
    for (size_t i = 0; i < a->n; i++) {
        struct seg_acol *c = &a->cols[i];
        const struct seg_attr *in = seg_attr_find(s, c->name, c->name_len);
        uint64_t first = 0;
        uint32_t count = 0;
        if (in && in->type == c->type) {
            seg_attr_values(in, doc, &first, &count);
        }
        if (sd_buf_reserve(&c->starts, 4) || sd_buf_reserve(&c->vals, (size_t)count * 8)) {
            return SD_ENOMEM;
        }
        for (uint32_t k = 0; k < count; k++) {
            if (c->type == SEG_ATTR_KEYWORD) {
                const char *kw;
                size_t len;
                seg_attr_keyword(in, seg_attr_ord(in, first + k), &kw, &len);
                acol_put_keyword(c, kw, len);
            } else if (c->type == SEG_ATTR_INT) {
                sd_buf_put_le64(&c->vals, (uint64_t)seg_attr_int(in, first + k));
            } else {
                double v = seg_attr_float(in, first + k);
                uint64_t bits;
                memcpy(&bits, &v, 8);
                sd_buf_put_le64(&c->vals, bits);
            }
        }
        sd_buf_put_le32(&c->starts, (uint32_t)(c->vals.len / 8));
        if (c->kw.rc || c->vals.rc || c->kw.len > UINT32_MAX) {
            return SD_ENOMEM;
        }
    }
    a->docs++;
    return SD_OK;
}

/* ---- writing ---- */

static unsigned width_of(uint64_t range)
{
    unsigned bits = range ? 64u - (unsigned)__builtin_clzll(range) : 0;
    return bits > SEG_ATTR_MAX_BITS ? 64 : bits;
}

/* Appends n values v[i] - min packed at their width, padding included (the width first). */
static void put_packed(struct sd_buf *out, const uint64_t *v, uint64_t n, uint64_t min)
{
    uint64_t range = 0;
    for (uint64_t i = 0; i < n; i++) {
        range |= v[i] - min; /* the width of the OR is the width of the largest */
    }
    unsigned bits = width_of(range);
    sd_buf_put_u8(out, (uint8_t)bits);
    size_t len = seg_attr_packed_len(n, bits);
    if (sd_buf_reserve(out, len)) {
        return;
    }
    uint8_t *p = out->data + out->len;
    memset(p, 0, len);
    for (uint64_t i = 0; bits && i < n; i++) {
        uint64_t x = v[i] - min;
        if (bits == 64) {
            sd_put_le64(p + 8 * i, x);
            continue;
        }
        uint64_t bit = i * bits;
        sd_put_le64(p + bit / 8, sd_get_le64(p + bit / 8) | x << (bit % 8));
    }
    out->len += len;
}

struct kw_ref {
    uint32_t off, len, idx;
    const uint8_t *base;
};

static int cmp_kw(const void *x, const void *y)
{
    const struct kw_ref *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->base + a->off, b->base + b->off, n);
    if (c == 0) {
        c = (a->len > b->len) - (a->len < b->len);
    }
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

/* Keyword values -> ordinals (into ords, nvals) and the dictionary (appended to dict) of
 * *nkw distinct values. */
static int keyword_dict(const struct seg_acol *c, uint64_t *ords, struct sd_buf *dict,
                        uint32_t *nkw)
{
    uint64_t n = c->vals.len / 8;
    struct kw_ref *r = malloc((n ? n : 1) * sizeof *r);
    if (!r) {
        return SD_ENOMEM;
    }
    for (uint64_t i = 0; i < n; i++) {
        r[i] = (struct kw_ref){sd_get_le32(c->vals.data + 8 * i),
                               sd_get_le32(c->vals.data + 8 * i + 4), (uint32_t)i, c->kw.data};
    }
    qsort(r, n, sizeof *r, cmp_kw);
    struct sd_buf offs, bytes;
    sd_buf_init(&offs);
    sd_buf_init(&bytes);
    uint32_t k = 0;
    for (uint64_t i = 0; i < n; i++) {
        bool is_new = i == 0 || r[i].len != r[i - 1].len ||
                      memcmp(r[i].base + r[i].off, r[i - 1].base + r[i - 1].off, r[i].len) != 0;
        if (is_new) {
            sd_buf_put_le32(&offs, (uint32_t)bytes.len);
            sd_buf_put(&bytes, r[i].base + r[i].off, r[i].len);
            k++;
        }
        ords[r[i].idx] = k - 1;
    }
    sd_buf_put_le32(&offs, (uint32_t)bytes.len);
    *nkw = k;
    sd_buf_put_le32(dict, k);
    sd_buf_put(dict, offs.data, offs.len);
    sd_buf_put(dict, bytes.data, bytes.len);
    int rc = offs.rc || bytes.rc || bytes.len > UINT32_MAX ? SD_ENOMEM : SD_OK;
    sd_buf_free(&offs);
    sd_buf_free(&bytes);
    free(r);
    return rc;
}

static bool is_dense(const struct seg_acol *c, uint32_t docs)
{
    for (uint32_t d = 0; d <= docs; d++) {
        if (sd_get_le32(c->starts.data + 4 * (size_t)d) != d) {
            return false;
        }
    }
    return true;
}

/* One column's body into out. */
static int write_body(const struct seg_acol *c, uint32_t docs, bool dense, struct sd_buf *out)
{
    uint64_t n = c->vals.len / 8;
    uint64_t *v = malloc((n > docs ? n + 1 : (uint64_t)docs + 1) * sizeof *v);
    if (!v) {
        return SD_ENOMEM;
    }
    if (!dense) {
        for (uint32_t d = 0; d <= docs; d++) {
            v[d] = sd_get_le32(c->starts.data + 4 * (size_t)d);
        }
        put_packed(out, v, (uint64_t)docs + 1, 0);
    }
    int rc = SD_OK;
    if (c->type == SEG_ATTR_FLOAT) {
        sd_buf_put(out, c->vals.data, c->vals.len);
    } else if (c->type == SEG_ATTR_INT) {
        uint64_t min = n ? sd_get_le64(c->vals.data) : 0;
        for (uint64_t i = 0; i < n; i++) {
            v[i] = sd_get_le64(c->vals.data + 8 * i);
            min = (int64_t)v[i] < (int64_t)min ? v[i] : min;
        }
        sd_buf_put_le64(out, min);
        put_packed(out, v, n, min);
    } else {
        struct sd_buf dict;
        sd_buf_init(&dict);
        uint32_t nkw = 0;
        rc = keyword_dict(c, v, &dict, &nkw);
        sd_buf_put_le64(out, 0);
        put_packed(out, v, n, 0);
        sd_buf_put(out, dict.data, dict.len);
        sd_buf_free(&dict);
        if (!rc) {
            rc = seg_attr_docs_put(out, v, dense ? NULL : &c->starts, docs, nkw);
        }
    }
    free(v);
    return rc ? rc : out->rc;
}

int seg_acols_write(const struct seg_acols *a, struct sd_buf *out)
{
    struct sd_buf dir, bodies;
    sd_buf_init(&dir);
    sd_buf_init(&bodies);
    int rc = SD_OK;
    size_t dir_len = 8 + 4;
    for (size_t i = 0; i < a->n; i++) {
        dir_len += 1 + a->cols[i].name_len + 2 + 24;
    }
    sd_buf_put_le64(&dir, a->version);
    sd_buf_put_le32(&dir, (uint32_t)a->n);
    for (size_t i = 0; i < a->n && rc == SD_OK; i++) {
        const struct seg_acol *c = &a->cols[i];
        bool dense = is_dense(c, a->docs);
        size_t start = bodies.len;
        rc = write_body(c, a->docs, dense, &bodies);
        sd_buf_put_u8(&dir, (uint8_t)c->name_len);
        sd_buf_put(&dir, c->name, c->name_len);
        sd_buf_put_u8(&dir, c->type);
        sd_buf_put_u8(&dir, dense ? 0 : SEG_ATTR_MULTI);
        sd_buf_put_le64(&dir, c->vals.len / 8);
        sd_buf_put_le64(&dir, dir_len + start);
        sd_buf_put_le64(&dir, bodies.len - start);
    }
    sd_buf_put(out, dir.data, dir.len);
    sd_buf_put(out, bodies.data, bodies.len);
    if (rc == SD_OK && (dir.rc || bodies.rc)) {
        rc = SD_ENOMEM;
    }
    sd_buf_free(&dir);
    sd_buf_free(&bodies);
    return rc ? rc : out->rc;
}
