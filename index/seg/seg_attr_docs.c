/*
 * seg_attr_docs.c: the documents of each keyword value (format v4), so that a keyword filter
 * can skip to its next document instead of testing every candidate the words match.
 *
 * A keyword column maps doc -> values; a selective filter (`source:man-ru`) wants the other
 * direction, value -> docs, the way a boolean term's postings serve Xapian's OP_FILTER and a
 * StringField's serve Lucene. A search that lands on a document failing the filter asks
 * seg_attr_keyword_next() for the value's next document and advances its words there,
 * skipping whole posting blocks undecoded (index/query/filter_eval.c).
 *
 * Layout, appended to a keyword column's body after its dictionary bytes (little-endian):
 *
 *   K x u32       documents holding value o (each document once, however many times it
 *                 holds the value)
 *   (K + 1) x u64 offsets of the sets, from the end of this table (first 0, ascending)
 *   the sets, in ordinal order. Set o is either
 *     a bitmap    ceil(docs / 64) x u64 words, bit d % 64 of word d / 64 set for doc d,
 *                 when 4 * count(o) > the bitmap's bytes (a common value: lang, a big
 *                 source), or
 *     an array    count(o) x u32 doc ids, ascending (a rare value: a small bound per doc).
 *   The count decides which, so a set costs at most min(4 * count, docs / 8) bytes: at most
 *   4 bytes per value of the column, and docs / 8 per value a quarter of the documents hold.
 *
 * The sets are a pure function of the column's values, written by the one column writer for
 * builds and merges alike (seg_attr_write.c), so a merge stays byte-identical to a build.
 * On open every set is checked (seg_attr_docs_load): sizes against the counts, arrays
 * strictly ascending below docs, bitmaps with count bits and none past docs. The check is
 * linear in the sets' size, once.
 */
#include <stdlib.h>
#include <string.h>

#include "seg_attr_int.h"
#include "seg_int.h"

static size_t bitmap_bytes(uint32_t docs)
{
    return ((size_t)docs + 63) / 64 * 8;
}

static bool is_bitmap(uint32_t count, uint32_t docs)
{
    return (uint64_t)count * 4 > bitmap_bytes(docs);
}

static size_t set_bytes(uint32_t count, uint32_t docs)
{
    return is_bitmap(count, docs) ? bitmap_bytes(docs) : (size_t)count * 4;
}

/* ---- writing ---- */

/* Values [first, end) of one document: true when value i repeats one before it. */
static bool repeats(const uint64_t *ords, uint64_t first, uint64_t i)
{
    for (uint64_t j = first; j < i; j++) {
        if (ords[j] == ords[i]) {
            return true;
        }
    }
    return false;
}

static uint64_t doc_start(const struct sd_buf *starts, uint32_t d)
{
    return starts ? sd_get_le32(starts->data + 4 * (size_t)d) : d;
}

int seg_attr_docs_put(struct sd_buf *out, const uint64_t *ords, const struct sd_buf *starts,
                      uint32_t docs, uint32_t nkw)
{
    uint32_t *count = calloc(nkw ? nkw : 1, sizeof *count);
    uint64_t *off = malloc(((size_t)nkw + 1) * sizeof *off);
    uint64_t *fill = malloc((nkw ? nkw : 1) * sizeof *fill);
    if (!count || !off || !fill) {
        free(count);
        free(off);
        free(fill);
        return SD_ENOMEM;
    }
    for (uint32_t d = 0; d < docs; d++) {
        uint64_t first = doc_start(starts, d), end = doc_start(starts, d + 1);
        for (uint64_t i = first; i < end; i++) {
            count[ords[i]] += !repeats(ords, first, i);
        }
    }
    off[0] = 0;
    for (uint32_t o = 0; o < nkw; o++) {
        off[o + 1] = off[o] + set_bytes(count[o], docs);
        fill[o] = 0;
    }
    for (uint32_t o = 0; o < nkw; o++) {
        sd_buf_put_le32(out, count[o]);
    }
    for (uint32_t o = 0; o <= nkw; o++) {
        sd_buf_put_le64(out, off[o]);
    }
    int rc = sd_buf_reserve(out, (size_t)off[nkw]);
    if (rc == SD_OK) {
        uint8_t *sets = out->data + out->len;
        memset(sets, 0, (size_t)off[nkw]);
        for (uint32_t d = 0; d < docs; d++) {
            uint64_t first = doc_start(starts, d), end = doc_start(starts, d + 1);
            for (uint64_t i = first; i < end; i++) {
                uint64_t o = ords[i];
                if (repeats(ords, first, i)) {
                    continue;
                }
                uint8_t *set = sets + off[o];
                if (is_bitmap(count[o], docs)) {
                    uint8_t *w = set + 8 * (size_t)(d / 64);
                    sd_put_le64(w, sd_get_le64(w) | UINT64_C(1) << (d % 64));
                } else {
                    sd_put_le32(set + 4 * (size_t)fill[o]++, d);
                }
            }
        }
        out->len += (size_t)off[nkw];
    }
    free(count);
    free(off);
    free(fill);
    return rc ? rc : out->rc;
}

/* ---- reading ---- */

static int check_set(const uint8_t *set, uint32_t count, uint32_t docs)
{
    if (!is_bitmap(count, docs)) {
        for (uint32_t i = 0; i < count; i++) {
            uint32_t d = sd_get_le32(set + 4 * (size_t)i);
            if (d >= docs || (i > 0 && d <= sd_get_le32(set + 4 * (size_t)(i - 1)))) {
                return SD_ECORRUPT;
            }
        }
        return SD_OK;
    }
    uint64_t bits = 0;
    size_t words = bitmap_bytes(docs) / 8;
    for (size_t w = 0; w < words; w++) {
        uint64_t x = sd_get_le64(set + 8 * w);
        if (w == words - 1 && docs % 64 != 0 && (x >> (docs % 64)) != 0) {
            return SD_ECORRUPT; /* a bit past the last document */
        }
        bits += (uint64_t)__builtin_popcountll(x);
    }
    return bits == count ? SD_OK : SD_ECORRUPT;
}

int seg_attr_docs_load(struct seg_attr *a, struct sd_rd *rd)
{
    const uint8_t *counts, *offs;
    size_t n = a->nkw;
    if (sd_rd_bytes(rd, n * 4, &counts) || sd_rd_bytes(rd, (n + 1) * 8, &offs)) {
        return SD_ECORRUPT;
    }
    size_t left = sd_rd_left(rd);
    uint64_t total = 0;
    for (size_t o = 0; o < n; o++) {
        uint32_t c = sd_get_le32(counts + 4 * o);
        uint64_t from = sd_get_le64(offs + 8 * o);
        if (c > a->docs || from != total) {
            return SD_ECORRUPT;
        }
        total += set_bytes(c, a->docs);
        if (total > left) {
            return SD_ECORRUPT;
        }
    }
    const uint8_t *sets;
    if (sd_get_le64(offs + 8 * n) != total || total != left ||
        sd_rd_bytes(rd, (size_t)total, &sets)) {
        return SD_ECORRUPT;
    }
    for (size_t o = 0; o < n; o++) {
        if (check_set(sets + sd_get_le64(offs + 8 * o), sd_get_le32(counts + 4 * o), a->docs)) {
            return SD_ECORRUPT;
        }
    }
    a->doc_counts = counts;
    a->doc_offs = offs;
    a->doc_sets = sets;
    return SD_OK;
}

bool seg_attr_has_doc_sets(const struct seg_attr *a)
{
    return a->doc_sets != NULL;
}

uint32_t seg_attr_keyword_docs(const struct seg_attr *a, uint32_t ord)
{
    return sd_get_le32(a->doc_counts + 4 * (size_t)ord);
}

static uint32_t array_next(const uint8_t *set, uint32_t count, uint32_t doc)
{
    uint32_t lo = 0, hi = count; /* the first entry >= doc */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (sd_get_le32(set + 4 * (size_t)mid) < doc) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < count ? sd_get_le32(set + 4 * (size_t)lo) : SEG_DOC_END;
}

static uint32_t bitmap_next(const uint8_t *set, uint32_t docs, uint32_t doc)
{
    size_t words = bitmap_bytes(docs) / 8;
    size_t w = doc / 64;
    uint64_t x = sd_get_le64(set + 8 * w) & (~UINT64_C(0) << (doc % 64));
    while (x == 0) {
        if (++w == words) {
            return SEG_DOC_END;
        }
        x = sd_get_le64(set + 8 * w);
    }
    return (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
}

uint32_t seg_attr_keyword_next(const struct seg_attr *a, uint32_t ord, uint32_t doc)
{
    if (doc >= a->docs) {
        return SEG_DOC_END;
    }
    uint32_t count = seg_attr_keyword_docs(a, ord);
    const uint8_t *set = a->doc_sets + sd_get_le64(a->doc_offs + 8 * (size_t)ord);
    return is_bitmap(count, a->docs) ? bitmap_next(set, a->docs, doc) : array_next(set, count, doc);
}
