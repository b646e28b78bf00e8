/*
 * query_int.h: what the files of index/query/ share and nobody else sees.
 *
 * A parsed query (struct qry) is a small tree kept in flat arrays: nodes refer
 * to their children by index (first_child, next_sibling), leaves refer to
 * terms, and every string (terms, field names) lives in one pool addressed by
 * offsets. Flat arrays make the tree one allocation per array, trivially
 * immutable once built, and safe to share between threads.
 *
 * Node kinds and what they match in a document:
 *   QN_AND     every positive child, and no child under a QN_NOT
 *   QN_OR      at least one child
 *   QN_NOT     only as a child of QN_AND: excludes what its child matches
 *   QN_WORD    the Snowball stem in any field in scope (term a = SEG_STEM);
 *              term b (SEG_EXACT, the typed form) only adds to the score
 *   QN_EXACT   the case-folded surface form (term a = SEG_EXACT), for a phrase
 *              of one word
 *   QN_PHRASE  terms a .. a+count-1 (SEG_EXACT) at positions rel_pos apart in
 *              one field
 *   QN_PREFIX  any SEG_EXACT term starting with term a, expanded at search time
 * A leaf's field is an index into the query's field names, or QRY_ALL_FIELDS.
 */
#ifndef SEARCHD_QUERY_INT_H
#define SEARCHD_QUERY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"

#define QRY_NONE       (-1) /* no node: a dropped word, the end of a sibling list */
#define QRY_ALL_FIELDS (-1)

enum qry_node_type {
    QN_AND = 1,
    QN_OR,
    QN_NOT,
    QN_WORD,
    QN_EXACT,
    QN_PHRASE,
    QN_PREFIX,
};

struct qry_node {
    uint8_t type;         /* enum qry_node_type */
    bool is_negative;     /* under an odd number of QN_NOTs (snippets skip these) */
    int16_t field;        /* leaves: index into qry.field_offs, or QRY_ALL_FIELDS */
    uint32_t offset;      /* byte offset in the query text, for messages */
    int32_t first_child;  /* inner nodes: first child or QRY_NONE */
    int32_t next_sibling; /* QRY_NONE ends the list */
    uint32_t term;        /* leaves: first term (index into qry.terms) */
    uint32_t term_count;  /* QN_PHRASE: words; QN_WORD: 2 (stem, exact); else 1 */
};

/* One term as it will be looked up in a segment dictionary. */
struct qry_term {
    uint32_t str_off; /* into qry.strings, NUL-terminated */
    uint32_t len;
    uint8_t kind;     /* enum seg_kind */
    uint32_t rel_pos; /* QN_PHRASE: position relative to the phrase's first word */
};

struct qry {
    struct qry_node *nodes; /* owned */
    size_t node_count;
    struct qry_term *terms; /* owned */
    size_t term_count;
    char *strings; /* owned pool of NUL-terminated strings */
    size_t strings_len;
    uint32_t *field_offs; /* owned: field names (offsets into strings) */
    size_t field_count;
    int32_t root;
};

/* Per-thread scratch. Buffers only grow; a search resets their lengths. */
struct qry_ctx {
    struct stem_ctx *stem;       /* owned */
    struct qry_scratch *scratch; /* owned: evaluation buffers (eval_int.h) */
};

static inline const char *qry_term_str(const struct qry *q, const struct qry_term *t)
{
    return q->strings + t->str_off;
}

/* A growable array of fixed-size elements (per-thread scratch and parser output). */
struct qry_vec {
    void *data;
    size_t count;
    size_t cap;
};

/* Makes room for one more element of size elem; returns a pointer to it (count is
 * incremented) or NULL when out of memory. */
void *qry_vec_push(struct qry_vec *v, size_t elem);
/* Makes sure count elements of size elem fit; SD_OK or SD_ENOMEM. */
int qry_vec_reserve(struct qry_vec *v, size_t count, size_t elem);
/* Element i of v (elem bytes each), or NULL while v has no storage: v->data + offset on a
 * vector nothing was ever pushed to would offset a null pointer (issue 10, libFuzzer). */
void *qry_vec_at(const struct qry_vec *v, size_t elem, size_t i);
void qry_vec_free(struct qry_vec *v);

#endif
