/*
 * facet_int.h: what facet_count.c (counting) and facet_map.c (the bucket map) share.
 */
#ifndef SEARCHD_FACET_INT_H
#define SEARCHD_FACET_INT_H

#include "eval_int.h"

/* A bucket of a value or interval facet: a number (as bits) or keyword bytes (in pool). */
struct qry_fslot {
    uint64_t key; /* numbers: the value or bucket; keywords: offset in pool */
    uint64_t hash;
    uint64_t count;
    uint32_t len; /* keywords: bytes */
    bool is_used;
};

struct qry_fmap {
    struct qry_fslot *slots; /* cap (a power of two, or 0) */
    size_t cap;
    size_t used;
    struct qry_vec pool; /* char: keyword bytes */
};

struct qry_facet_acc {
    const struct qry_facet_spec *spec; /* borrowed for the search */
    uint64_t mask;                     /* conjuncts that restrict only this field */
    const struct seg_attr *col;        /* the current segment's column, or NULL */
    uint64_t missing;
    uint64_t others;
    struct qry_vec cond_count; /* uint64_t per clause of values= / ranges= */
    struct qry_vec cond_stamp; /* uint32_t per clause: doc + 1 of the last count */
    struct qry_vec ord_count;  /* uint32_t per ordinal of the segment */
    struct qry_vec ord_stamp;  /* uint32_t per ordinal: doc + 1 of the last count */
    struct qry_vec ord_cond;   /* int32_t per ordinal: its values= clause, or -1 */
    struct qry_fmap map;
    int rc; /* sticky SD_ENOMEM of a map that could not grow */
};

/* facet_map.c: the bucket map. qry_fmap_num and qry_fmap_bytes return the slot of a number or of
 * keyword bytes (found, or new with count 0), NULL only when the map could not grow. */
void qry_fmap_clear(struct qry_fmap *m);
struct qry_fslot *qry_fmap_num(struct qry_fmap *m, uint64_t key);
struct qry_fslot *qry_fmap_bytes(struct qry_fmap *m, const char *s, size_t len);

#endif
