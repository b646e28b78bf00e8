/*
 * seg_terms.c: a segment's exact forms copied into memory as a trie, for walks that jump around
 * the dictionary.
 *
 * The typo automaton (index/query/lev.c) intersects itself with the dictionary: it reads the
 * terms under a prefix only while some extension of that prefix can still match, so it moves
 * from a prefix to its extensions one character at a time, hundreds of times per word. Over
 * the front-coded blocks every move was a binary search of the block index plus the decoding
 * of a block's keys and term info; over sorted arrays in memory (the previous layout here) it
 * was still a binary search per child, a third of a typo walk. Here every SEG_EXACT term of a
 * field is a path in a trie of characters (UTF-8 sequences, split as seg_utf8_next splits
 * them), and a node's children sit next to each other in one array:
 *
 *   node   ch     code point (bits 0-20), byte length - 1 (bits 24-25), SEG_TRIE_TERM (a term
 *                 ends here), SEG_TRIE_LAST (the last of its parent's children)
 *          bytes  the character's bytes, the first in the low 8 bits
 *          kids   index of the first child (its siblings follow it), 0 when none
 *          df     the document frequency of the term that ends here
 *
 * Each field has a root (a node with no character, field_root). Children are in byte order, so
 * a depth-first walk meets the terms in dictionary order. A character is decoded once, here,
 * and a child is reached without any search. Memory: 16 bytes per node (about 3 nodes per
 * term on corpus-large, so about twice the sorted arrays); seg_exact_terms_bytes says how
 * much, and the engine charges it to its memory limit through seg_set_charge.
 *
 * Built on first use, by one pass over the dictionary; then immutable and shared by every
 * thread until seg_close. Threads that find it missing at once each build one and publish it
 * with a compare-and-swap: the first wins, the others free theirs (rare, and each copy is
 * correct), so no lock is needed.
 *
 * The build inserts terms in sorted order, comparing each with the previous one only: their
 * shared characters are the path that stays, the rest are new nodes (a depth-first layout in
 * which a node's first child is the next node and siblings are linked). A second pass lays the
 * nodes out breadth first, so that siblings are contiguous. (A byte that starts no valid
 * sequence is a character of its own; when the next term's same bytes decode otherwise, it
 * gets another node: the walk reads both, in byte order.)
 */
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

/* Build only: the node has children, the first being the next node (kids links siblings). */
#define TRIE_KIDS (1u << 28)

size_t seg_utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || n > len - i) {
        *cp = c;
        return 1;
    }
    uint32_t v = n == 1 ? c : c & (0x7Fu >> n);
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80) {
            *cp = c;
            return 1;
        }
        v = (v << 6) | (s[i + k] & 0x3Fu);
    }
    *cp = v;
    return n;
}

void seg_exact_terms_free(struct seg_exact_terms *t)
{
    if (!t) {
        return;
    }
    free(t->field_root);
    free(t->nodes);
    free(t);
}

/* The depth-first trie under construction. */
struct trie_build {
    struct seg_trie_node *n; /* owned */
    uint32_t count, cap;
    uint32_t terms;
    uint32_t path[SEG_MAX_KEY + 1];  /* the last term's nodes: path[0] its field's root */
    size_t ends[SEG_MAX_KEY + 1];    /* byte end of the last term's character d (path[d + 1]) */
    size_t depth;                    /* characters of the last term */
    uint8_t prev[SEG_MAX_KEY];       /* the last term's bytes */
    size_t prev_len;
};

static uint32_t new_node(struct trie_build *b)
{
    if (b->count == b->cap) {
        uint32_t cap = b->cap ? 2 * b->cap : 1024;
        struct seg_trie_node *n = cap > b->cap ? realloc(b->n, (size_t)cap * sizeof *n) : NULL;
        if (!n) {
            return 0; /* node 0 is the first root: never a new node after it */
        }
        b->n = n;
        b->cap = cap;
    }
    memset(&b->n[b->count], 0, sizeof *b->n);
    return b->count++;
}

/* Starts a field: a new root, and no previous term. Returns its node (0 on ENOMEM after the
 * first). */
static int begin_field(struct trie_build *b, uint32_t *root)
{
    uint32_t r = new_node(b);
    if (r == 0 && b->count != 1) {
        return SD_ENOMEM;
    }
    b->path[0] = r;
    b->depth = 0;
    b->prev_len = 0;
    *root = r;
    return SD_OK;
}

/* Adds term[0, len) (after every term added since begin_field, in byte order) with df. */
static int add_term(struct trie_build *b, const uint8_t *term, size_t len, uint32_t df)
{
    if (len > sizeof b->prev) {
        return SD_ELIMIT;
    }
    size_t same = 0;
    size_t max = len < b->prev_len ? len : b->prev_len;
    while (same < max && term[same] == b->prev[same]) {
        same++;
    }
    if (len == 0 || same == len || (same < b->prev_len && term[same] < b->prev[same])) {
        return SD_ECORRUPT; /* empty, or not after the previous term */
    }
    /* the previous term's characters that this one has too: same bytes, same split */
    size_t d = 0, i = 0;
    while (d < b->depth) {
        uint32_t cp;
        size_t clen = seg_utf8_next(term, len, i, &cp);
        if (i + clen > same || b->ends[d] != i + clen) {
            break;
        }
        i += clen;
        d++;
    }
    size_t old_depth = b->depth;
    while (i < len) {
        uint32_t cp;
        size_t clen = seg_utf8_next(term, len, i, &cp);
        uint32_t parent = b->path[d];
        uint32_t x = new_node(b);
        if (x == 0) {
            return SD_ENOMEM;
        }
        struct seg_trie_node *p = &b->n[parent];
        if (p->ch & TRIE_KIDS) {
            if (d + 1 > old_depth) {
                return SD_ECORRUPT; /* children, yet none on the previous term's path */
            }
            b->n[b->path[d + 1]].kids = x; /* the previous last child links to x */
        } else if (x != parent + 1) {
            return SD_ECORRUPT; /* terms out of order */
        } else {
            p->ch |= TRIE_KIDS;
        }
        uint32_t bytes = 0;
        for (size_t k = 0; k < clen; k++) {
            bytes |= (uint32_t)term[i + k] << (8 * k);
        }
        b->n[x].ch = cp | (uint32_t)(clen - 1) << SEG_TRIE_LEN_SHIFT;
        b->n[x].bytes = bytes;
        i += clen;
        b->ends[d] = i;
        b->path[++d] = x;
        old_depth = 0; /* deeper nodes are new: none has children yet */
    }
    struct seg_trie_node *end = &b->n[b->path[d]]; /* new: the term sorts after the last */
    end->ch |= SEG_TRIE_TERM;
    end->df = df;
    b->depth = d;
    memcpy(b->prev, term, len);
    b->prev_len = len;
    b->terms++;
    return SD_OK;
}

/* Lays the depth-first nodes of b out breadth first (children contiguous, the last marked
 * SEG_TRIE_LAST) into t->nodes, the roots first (roots[f]: build index, or SEG_TRIE_NONE). */
static int lay_out(struct trie_build *b, const uint32_t *roots, unsigned nfields,
                   struct seg_exact_terms *t)
{
    uint32_t *order = malloc((b->count ? b->count : 1) * sizeof *order);
    t->nodes = malloc((b->count ? b->count : 1) * sizeof *t->nodes);
    if (!order || !t->nodes) {
        free(order);
        return SD_ENOMEM;
    }
    uint32_t tail = 0;
    for (unsigned f = 0; f < nfields; f++) {
        t->field_root[f] = roots[f] == SEG_TRIE_NONE ? SEG_TRIE_NONE : tail;
        if (roots[f] != SEG_TRIE_NONE) {
            order[tail++] = roots[f];
        }
    }
    for (uint32_t p = 0; p < tail; p++) {
        const struct seg_trie_node *o = &b->n[order[p]];
        struct seg_trie_node *nn = &t->nodes[p];
        *nn = *o;
        nn->ch &= ~TRIE_KIDS;
        nn->kids = 0;
        if (!(o->ch & TRIE_KIDS)) {
            continue;
        }
        nn->kids = tail;
        for (uint32_t c = order[p] + 1;; c = b->n[c].kids) {
            order[tail++] = c;
            if (b->n[c].kids == 0) {
                b->n[c].ch |= SEG_TRIE_LAST; /* copied when its turn comes (after p) */
                break;
            }
        }
    }
    free(order);
    t->nnodes = tail;
    return SD_OK;
}

/* Copies every SEG_EXACT term of s into the builder, field by field; roots[f] gets each
 * field's root (SEG_TRIE_NONE for a field without exact forms). */
static int fill(const struct seg *s, struct trie_build *b, uint32_t *roots, struct sd_error *err)
{
    struct seg_dict_cursor c;
    struct seg_term term;
    int r = seg_dict_cursor_field(&c, s, 0, &term);
    int field = -1;
    for (; r == 1; r = seg_dict_cursor_next(&c, &term)) {
        if (c.key[1] != SEG_EXACT) {
            continue;
        }
        if (c.key[0] >= s->field_count || (int)c.key[0] < field) {
            return SD_CORRUPT(err, "%s: dictionary key of field %u", s->name, c.key[0]);
        }
        int rc = SD_OK;
        if ((int)c.key[0] != field) {
            field = c.key[0];
            rc = begin_field(b, &roots[field]);
        }
        if (rc == SD_OK) {
            rc = add_term(b, c.key + 2, c.key_len - 2, term.df);
        }
        if (rc == SD_ENOMEM) {
            return sd_errorf(err, rc, "%s: exact forms: out of memory", s->name);
        }
        if (rc) {
            return SD_CORRUPT(err, "%s: dictionary out of order at block %u", s->name, c.block);
        }
    }
    if (r < 0) {
        return SD_CORRUPT(err, "%s: dictionary block %u damaged", s->name, c.block);
    }
    return SD_OK;
}

/* The finished table of b (freed either way) with nfields roots. */
static int finish(struct trie_build *b, const uint32_t *roots, unsigned nfields,
                  struct seg_exact_terms **out)
{
    struct seg_exact_terms *t = calloc(1, sizeof *t);
    int rc = t ? SD_OK : SD_ENOMEM;
    if (t) {
        t->field_root = malloc((nfields ? nfields : 1) * sizeof *t->field_root);
        rc = t->field_root ? lay_out(b, roots, nfields, t) : SD_ENOMEM;
    }
    free(b->n);
    b->n = NULL;
    if (rc) {
        seg_exact_terms_free(t);
        return rc;
    }
    t->count = b->terms;
    t->nfields = nfields;
    t->mem_bytes = sizeof *t + nfields * sizeof *t->field_root + t->nnodes * sizeof *t->nodes;
    *out = t;
    return SD_OK;
}

static int build(const struct seg *s, struct seg_exact_terms **out, struct sd_error *err)
{
    uint32_t *roots = malloc((s->field_count ? s->field_count : 1) * sizeof *roots);
    struct trie_build *b = calloc(1, sizeof *b); /* 2 KB of path: off the worker's stack */
    if (!roots || !b) {
        free(roots);
        free(b);
        return sd_errorf(err, SD_ENOMEM, "%s: exact forms: out of memory", s->name);
    }
    for (unsigned f = 0; f < s->field_count; f++) {
        roots[f] = SEG_TRIE_NONE;
    }
    int rc = fill(s, b, roots, err);
    if (rc) {
        free(b->n);
    } else if ((rc = finish(b, roots, s->field_count, out)) != SD_OK) {
        rc = sd_errorf(err, rc, "%s: exact forms: out of memory", s->name);
    }
    free(roots);
    free(b);
    return rc;
}

int seg_exact_terms_of(const char *const *terms, const uint32_t *df, size_t n,
                       struct seg_exact_terms **out)
{
    *out = NULL;
    struct trie_build *b = calloc(1, sizeof *b);
    if (!b) {
        return SD_ENOMEM;
    }
    uint32_t root = SEG_TRIE_NONE;
    int rc = n ? begin_field(b, &root) : SD_OK;
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        rc = add_term(b, (const uint8_t *)terms[i], strlen(terms[i]), df[i]);
    }
    if (rc == SD_OK) {
        rc = finish(b, &root, 1, out);
    }
    free(b->n);
    free(b);
    return rc;
}

int seg_exact_terms(const struct seg *s, const struct seg_exact_terms **out,
                    struct sd_error *err)
{
    /* The cache is no part of what the segment holds: a const segment still fills it. */
    struct seg *w = (struct seg *)s;
    struct seg_exact_terms *t = atomic_load_explicit(&w->exact_terms, memory_order_acquire);
    if (t) {
        *out = t;
        return SD_OK;
    }
    int rc = build(s, &t, err);
    if (rc) {
        return rc;
    }
    struct seg_exact_terms *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&w->exact_terms, &expected, t,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        seg_exact_terms_free(t); /* another thread published one first */
        t = expected;
    } else if (w->charge) {
        w->charge(w->charge_arg, (int64_t)t->mem_bytes);
    }
    *out = t;
    return SD_OK;
}

void seg_set_charge(struct seg *s, seg_charge_fn fn, void *arg)
{
    s->charge = fn;
    s->charge_arg = arg;
}

size_t seg_exact_terms_bytes(const struct seg *s)
{
    struct seg *w = (struct seg *)s;
    const struct seg_exact_terms *t =
        atomic_load_explicit(&w->exact_terms, memory_order_acquire);
    return t ? t->mem_bytes : 0;
}

