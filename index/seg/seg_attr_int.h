/*
 * seg_attr_int.h: attribute columns inside index/seg/: the column set being built (by the
 * builder from given values, by a merge from its inputs' columns; seg_attr_write.c) and an
 * open segment's columns (seg_attr.c). Private to index/seg/.
 */
#ifndef SEARCHD_SEG_ATTR_INT_H
#define SEARCHD_SEG_ATTR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seg.h"

#define SEG_ATTR_MULTI    1u /* column flag: a starts table (docs without exactly one value) */
#define SEG_ATTR_PAD      8  /* zero bytes after each packed array: 8-byte loads stay inside */
#define SEG_ATTR_MAX_BITS 56 /* packed widths 0..56; wider values are stored as 64 */

/* ---- building (seg_attr_write.c) ---- */

struct seg_acol {
    char name[SEG_MAX_NAME + 1];
    size_t name_len;
    uint8_t type;         /* enum seg_attr_type */
    struct sd_buf starts; /* u32 per doc so far + 1: values before each doc, then the total */
    struct sd_buf vals;   /* 8 bytes per value: int64 or double bits; keyword: u32 off, u32 len */
    struct sd_buf kw;     /* keyword bytes */
};

struct seg_acols {
    struct seg_acol *cols; /* owned; sorted by name */
    size_t n;
    uint32_t docs;    /* documents ended */
    uint64_t version; /* settings version recorded in the section */
};

/* Columns from specs (copied, sorted by name). SD_EINVAL for a repeated or bad name or type. */
int seg_acols_init(struct seg_acols *a, const struct seg_attr_spec *specs, size_t n,
                   struct sd_error *err);
void seg_acols_free(struct seg_acols *a);
/* The column set of inputs[0, n): every column name of any input, sorted; a name with
 * different types takes the type of the last input that has it. The version is the oldest
 * of the inputs' (0 for none). */
int seg_acols_init_merge(struct seg_acols *a, struct seg *const *inputs, size_t n,
                         struct sd_error *err);
/* Appends one document: vals[i] for column i in the order of specs given to init (order[i]
 * maps that to the sorted column), or nothing for every column when vals is NULL. On error
 * nothing of the document is kept. */
int seg_acols_add_doc(struct seg_acols *a, const struct seg_attr_vals *vals, const uint8_t *order);
/* Appends doc of segment s: each column takes s's values of the same name and type. */
int seg_acols_add_from(struct seg_acols *a, const struct seg *s, uint32_t doc);
/* Appends the ATTRS section (format: seg_attr_write.c) for a->docs documents to out. */
int seg_acols_write(const struct seg_acols *a, struct sd_buf *out);

/* ---- reading (seg_attr.c) ---- */

struct seg_attr {
    char name[SEG_MAX_NAME + 1];
    uint8_t type;
    uint8_t flags;
    uint32_t docs;
    uint64_t nvals;
    const uint8_t *starts; /* SEG_ATTR_MULTI: docs + 1 packed at start_bits */
    unsigned start_bits;
    int64_t min; /* INT and KEYWORD ordinals: value = min + packed */
    unsigned bits;
    const uint8_t *vals; /* packed (INT, KEYWORD) or 8 bytes each (FLOAT) */
    uint32_t nkw;
    const uint8_t *kw_offs; /* nkw + 1 u32 */
    const uint8_t *kw_bytes;
    const uint8_t *doc_counts; /* v4 keyword: nkw u32, documents per value (seg_attr_docs.c) */
    const uint8_t *doc_offs;   /* nkw + 1 u64: each value's set, from doc_sets */
    const uint8_t *doc_sets;   /* NULL when the column has no sets (format 3) */
    size_t bytes; /* the column's body */
};

/* seg_attr_docs.c: appends the documents of each of the nkw keyword values, given each
 * value's ordinal (ords) and each document's first value (starts: u32 per doc + 1; NULL when
 * value d is doc d's only one). SD_OK or SD_ENOMEM. */
int seg_attr_docs_put(struct sd_buf *out, const uint64_t *ords, const struct sd_buf *starts,
                      uint32_t docs, uint32_t nkw);
/* Reads and checks them at rd (the rest of a keyword body) into a. SD_OK or SD_ECORRUPT. */
int seg_attr_docs_load(struct seg_attr *a, struct sd_rd *rd);

/* Parses and checks the ATTRS section of s (empty for format 2: no columns). */
int seg_attr_load(struct seg *s, struct sd_error *err);

/* Value i of a packed array of `bits`-wide values (SEG_ATTR_PAD bytes follow it). */
static inline uint64_t seg_attr_unpack(const uint8_t *p, uint64_t i, unsigned bits)
{
    if (bits == 0) {
        return 0;
    }
    if (bits == 64) {
        return sd_get_le64(p + 8 * i);
    }
    uint64_t bit = i * bits;
    return (sd_get_le64(p + bit / 8) >> (bit % 8)) & ((UINT64_C(1) << bits) - 1);
}

/* Bytes of n packed values of `bits`, padding included. */
static inline size_t seg_attr_packed_len(uint64_t n, unsigned bits)
{
    return (size_t)((n * bits + 7) / 8) + SEG_ATTR_PAD;
}

#endif
