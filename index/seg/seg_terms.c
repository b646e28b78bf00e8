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
 * field is a path in one trie of characters (UTF-8 sequences, split as seg_utf8_next splits
 * them), shared by all fields, and a node's children sit next to each other in one array:
 *
 *   node   ch     code point (bits 0-20), byte length - 1 (bits 24-25), SEG_TRIE_TERM (a term
 *                 ends here), SEG_TRIE_LAST (the last of its parent's children)
 *          kids   index of the first child (its siblings follow it), 0 when none
 *   term[node]    the term that ends there: its document frequency in field f is
 *                 df[term * nfields + f] (0 when the field does not have it)
 *
 * A node is 8 bytes, so that a walk's cache lines hold 8 of them: the character's bytes are
 * not kept but made again from its code point and length (seg_trie_char_bytes; exact, since
 * seg_utf8_next keeps every bit of a sequence it accepts and takes a byte it does not as its
 * own code point), and the term's number sits in an array of its own that only a walk that
 * reaches a term reads.
 *
 * Children are in byte order, so a depth-first walk meets the terms in dictionary order. A
 * character is decoded once, here, and a child is reached without any search. One trie for
 * all fields, because most forms of a title are also forms of the body: a typo walk over
 * every field reads each of them once. Memory: 12 bytes per node (about 3.5 nodes per
 * distinct form on corpus-large) and 4 bytes per form and field; seg_exact_terms_bytes says
 * how much, and the engine charges it to its memory limit through seg_set_charge. When the
 * limit refuses it, the build serves its one caller and is freed (seg_exact_terms_release):
 * typo walks then pay a build each, and memory stays within the limit.
 *
 * Built on first use, by one pass over the dictionary; then immutable and shared by every
 * thread until seg_close. Threads that find it missing at once each build one and publish it
 * with a compare-and-swap: the first wins, the others free theirs (rare, and each copy is
 * correct), so no lock is needed.
 *
 * The build merges the fields' sorted runs of exact forms (one dictionary cursor per field) and
 * inserts the forms in sorted order, comparing each with the previous one only: their
 * shared characters are the path that stays, the rest are new nodes (a depth-first layout in
 * which a node's first child is the next node and siblings are linked). A second pass lays the
 * nodes out again with siblings contiguous, their blocks in depth-first order (lay_out). On
 * corpus-large (205,463 distinct forms, 671,006 nodes, 9.7 MB; 12.4 MB when a node kept its
 * bytes and term, 16 bytes) the build takes about twice the instructions and time of the
 * sorted arrays it replaced (185M instructions). (A byte that
 * starts no valid sequence is a character of its own; when the next term's same bytes decode
 * otherwise, it gets another node: the walk reads both, in byte order.)
 */
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

/* Build only: the node has children, the first being the next node (kids links siblings). */
#define TRIE_KIDS (1u << 28)

size_t seg_utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : c >= 0xF5 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
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
    free(t->nodes);
    free(t->term);
    free(t->df);
    free(t);
}

/* A node of the trie under construction: seg_trie_node's fields, and its term. */
struct build_node {
    uint32_t ch;
    uint32_t kids; /* build: the next sibling (TRIE_KIDS: the first child is the next node) */
    uint32_t term;
};

/* The depth-first trie under construction. */
struct trie_build {
    struct build_node *n; /* owned */
    uint32_t count, cap;
    uint32_t terms;
    uint32_t path[SEG_MAX_KEY + 1];  /* the last term's nodes: path[0] its field's root */
    size_t ends[SEG_MAX_KEY + 1];    /* byte end of the last term's character d (path[d + 1]) */
    /* the bytes the split of character d depended on: its end, or further for a byte that
     * starts a sequence cut short (the next term's bytes there may complete it) */
    size_t seen[SEG_MAX_KEY + 1];
    size_t depth;                    /* characters of the last term */
    uint8_t prev[SEG_MAX_KEY];       /* the last term's bytes */
    size_t prev_len;
};

static uint32_t new_node(struct trie_build *b)
{
    if (b->count == b->cap) {
        uint32_t cap = b->cap ? 2 * b->cap : 1024;
        struct build_node *n = cap > b->cap ? realloc(b->n, (size_t)cap * sizeof *n) : NULL;
        if (!n) {
            return 0; /* node 0 is the first root: never a new node after it */
        }
        b->n = n;
        b->cap = cap;
    }
    memset(&b->n[b->count], 0, sizeof *b->n);
    return b->count++;
}

/* Starts the trie: its root, and no previous term. */
static int begin(struct trie_build *b, uint32_t *root)
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

/* Adds term[0, len) (after every term added since begin_field, in byte order) as term number
 * b->terms (counted up). */
static int add_term(struct trie_build *b, const uint8_t *term, size_t len)
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
    size_t d = 0;
    while (d < b->depth && b->seen[d] <= same) {
        d++;
    }
    size_t i = d ? b->ends[d - 1] : 0;
    size_t old_depth = b->depth;
    while (i < len) {
        uint32_t cp;
        size_t clen = seg_utf8_next(term, len, i, &cp);
        uint32_t parent = b->path[d];
        uint32_t x = new_node(b);
        if (x == 0) {
            return SD_ENOMEM;
        }
        struct build_node *p = &b->n[parent];
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
        b->n[x].ch = seg_trie_char(cp, clen);
        unsigned char lead = term[i];
        b->seen[d] = i + (lead < 0xC2 || lead >= 0xF5 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4);
        i += clen;
        b->ends[d] = i;
        b->path[++d] = x;
        old_depth = 0; /* deeper nodes are new: none has children yet */
    }
    struct build_node *end = &b->n[b->path[d]]; /* new: the term sorts after the last */
    end->ch |= SEG_TRIE_TERM;
    end->term = b->terms;
    b->depth = d;
    memcpy(b->prev, term, len);
    b->prev_len = len;
    b->terms++;
    return SD_OK;
}

/* Lays the nodes of b out with each node's children contiguous (the last marked
 * SEG_TRIE_LAST) into t->nodes, the root (build index 0) first. The blocks of children go in
 * depth-first order (a node's block, then its first child's, ...): the build reads its nodes
 * in about the order it wrote them, instead of sweeping them once per level (which cost a
 * cache miss a node), and a walk going down finds the next block close by. */
static int lay_out(struct trie_build *b, struct seg_exact_terms *t)
{
    uint32_t n = b->count ? b->count : 1;
    uint32_t *stack = malloc(2 * (size_t)n * sizeof *stack); /* (build, new) index pairs */
    t->nodes = malloc(n * sizeof *t->nodes);
    t->term = malloc(n * sizeof *t->term);
    if (!stack || !t->nodes || !t->term) {
        free(stack);
        return SD_ENOMEM;
    }
    uint32_t tail = b->count ? 1 : 0; /* the root is new node 0 */
    size_t top = 0;
    if (tail) {
        stack[top++] = 0;
        stack[top++] = 0;
    }
    while (top > 0) {
        uint32_t nw = stack[--top];
        uint32_t o = stack[--top];
        const struct build_node *on = &b->n[o];
        struct seg_trie_node *nn = &t->nodes[nw];
        nn->ch = on->ch & ~TRIE_KIDS;
        nn->kids = 0;
        t->term[nw] = on->term;
        if (!(on->ch & TRIE_KIDS)) {
            continue;
        }
        nn->kids = tail;
        uint32_t first = tail;
        for (uint32_t c = o + 1;; c = b->n[c].kids) {
            tail++;
            if (b->n[c].kids == 0) {
                b->n[c].ch |= SEG_TRIE_LAST; /* copied when its turn comes */
                break;
            }
        }
        /* push the children last one first, so that the first is laid out next */
        size_t at = top + 2 * (size_t)(tail - first);
        top = at;
        for (uint32_t c = o + 1, k = first;; c = b->n[c].kids, k++) {
            stack[at - 2] = c;
            stack[at - 1] = k;
            at -= 2;
            if (b->n[c].ch & SEG_TRIE_LAST) {
                break;
            }
        }
    }
    free(stack);
    t->nnodes = tail;
    t->root = tail ? 0 : SEG_TRIE_NONE;
    return SD_OK;
}

/* The df table being filled: nfields counts per term. */
struct df_table {
    uint32_t *df; /* owned */
    size_t cap;   /* terms it has room for */
};

/* Room for term `term`'s counts, zeroed; NULL when out of memory. */
static uint32_t *df_row(struct df_table *d, uint32_t term, unsigned nfields)
{
    if (term >= d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 1024;
        uint32_t *df = realloc(d->df, cap * nfields * sizeof *df);
        if (!df) {
            return NULL;
        }
        d->df = df;
        d->cap = cap;
    }
    uint32_t *row = d->df + (size_t)term * nfields;
    memset(row, 0, nfields * sizeof *row);
    return row;
}

/* One field's run of exact forms, read by its own dictionary cursor. */
struct field_run {
    struct seg_dict_cursor c;
    uint32_t df; /* of the form under the cursor */
    bool is_live; /* a form is under the cursor */
};

/* From the term the cursor of run r (field f) just read (rc as the cursor returned it, *t its
 * information), on to the field's next exact form, if any: the exact forms of a field are one
 * run, before its stems ('e' < 's'), so the first key past them ends the run unread. SD_OK or
 * SD_ECORRUPT. */
static int run_settle(struct field_run *r, unsigned f, int rc, struct seg_term *t)
{
    while (rc == 1 && r->c.key[0] == f && r->c.key[1] < SEG_EXACT) {
        rc = seg_dict_cursor_next(&r->c, t);
    }
    r->is_live = rc == 1 && r->c.key[0] == f && r->c.key[1] == SEG_EXACT;
    r->df = r->is_live ? t->df : 0;
    return rc < 0 ? SD_ECORRUPT : SD_OK;
}

static int run_next(struct field_run *r, unsigned f)
{
    struct seg_term t;
    return run_settle(r, f, seg_dict_cursor_next(&r->c, &t), &t);
}

static int run_cmp(const struct field_run *x, const struct field_run *y)
{
    size_t n = x->c.key_len < y->c.key_len ? x->c.key_len : y->c.key_len;
    int c = memcmp(x->c.key + 2, y->c.key + 2, n - 2); /* keys have 3 bytes or more */
    return c ? c : (x->c.key_len > y->c.key_len) - (x->c.key_len < y->c.key_len);
}

/* Run r on the first exact form of field f, if any. */
static int run_start(const struct seg *s, struct field_run *r, unsigned f)
{
    struct seg_term t;
    return run_settle(r, f, seg_dict_cursor_field(&r->c, s, f, &t), &t);
}

/* Merges the exact forms of every field of s (runs[f]) into the builder, in byte order, each
 * form once with its df per field. */
static int merge(const struct seg *s, struct field_run *runs, struct trie_build *b,
                 struct df_table *d, struct sd_error *err)
{
    unsigned nf = s->field_count;
    for (unsigned f = 0; f < nf; f++) {
        if (run_start(s, &runs[f], f)) {
            return SD_CORRUPT(err, "%s: dictionary block %u damaged", s->name, runs[f].c.block);
        }
    }
    for (;;) {
        int low = -1;
        for (unsigned f = 0; f < nf; f++) {
            if (runs[f].is_live && (low < 0 || run_cmp(&runs[f], &runs[low]) < 0)) {
                low = (int)f;
            }
        }
        if (low < 0) {
            return SD_OK;
        }
        uint32_t term = b->terms;
        const struct seg_dict_cursor *c = &runs[low].c;
        int rc = add_term(b, c->key + 2, c->key_len - 2);
        uint32_t *row = rc == SD_OK ? df_row(d, term, nf) : NULL;
        if (rc == SD_OK && !row) {
            rc = SD_ENOMEM;
        }
        if (rc == SD_ENOMEM) {
            return sd_errorf(err, rc, "%s: exact forms: out of memory", s->name);
        }
        if (rc) {
            return SD_CORRUPT(err, "%s: dictionary out of order at block %u", s->name, c->block);
        }
        /* every field whose run is on this form (fields before `low` are past it) */
        for (unsigned f = nf; f-- > (unsigned)low;) {
            struct field_run *r = &runs[f];
            if (!r->is_live || (f != (unsigned)low && run_cmp(r, &runs[low]) != 0)) {
                continue;
            }
            row[f] = r->df;
            if (run_next(r, f)) {
                return SD_CORRUPT(err, "%s: dictionary block %u damaged", s->name, r->c.block);
            }
        }
    }
}

/* The finished table of b and d (both freed either way) for nfields fields. */
static int finish(struct trie_build *b, struct df_table *d, unsigned nfields,
                  struct seg_exact_terms **out)
{
    struct seg_exact_terms *t = calloc(1, sizeof *t);
    int rc = t ? lay_out(b, t) : SD_ENOMEM;
    free(b->n);
    b->n = NULL;
    if (rc) {
        seg_exact_terms_free(t);
        free(d->df);
        return rc;
    }
    /* give back the room grown for terms that never came (a failed shrink keeps it) */
    uint32_t *df = realloc(d->df, ((size_t)b->terms * nfields + 1) * sizeof *df);
    t->df = df ? df : d->df;
    d->df = NULL;
    t->count = b->terms;
    t->nfields = nfields;
    t->mem_bytes = sizeof *t + (size_t)t->nnodes * (sizeof *t->nodes + sizeof *t->term) +
                   (size_t)t->count * nfields * sizeof *t->df;
    *out = t;
    return SD_OK;
}

static int build(const struct seg *s, struct seg_exact_terms **out, struct sd_error *err)
{
    unsigned nf = s->field_count;
    struct field_run *runs = calloc(nf ? nf : 1, sizeof *runs);
    struct trie_build *b = calloc(1, sizeof *b); /* 2 KB of path: off the worker's stack */
    struct df_table d = {0};
    uint32_t root;
    int rc = runs && b ? begin(b, &root) : SD_ENOMEM;
    if (rc == SD_OK) {
        rc = merge(s, runs, b, &d, err);
        if (rc == SD_OK) {
            rc = finish(b, &d, nf, out);
            if (rc) {
                sd_errorf(err, rc, "%s: exact forms: out of memory", s->name);
            }
        }
    } else {
        sd_errorf(err, rc, "%s: exact forms: out of memory", s->name);
    }
    if (b) {
        free(b->n);
    }
    free(d.df);
    free(runs);
    free(b);
    return rc;
}

int seg_exact_terms_of(const char *const *terms, const uint32_t *df, size_t n,
                       struct seg_exact_terms **out)
{
    *out = NULL;
    struct trie_build *b = calloc(1, sizeof *b);
    struct df_table d = {0};
    uint32_t root;
    int rc = b ? begin(b, &root) : SD_ENOMEM;
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        uint32_t term = b->terms;
        rc = add_term(b, (const uint8_t *)terms[i], strlen(terms[i]));
        uint32_t *row = rc == SD_OK ? df_row(&d, term, 1) : NULL;
        if (row) {
            row[0] = df[i];
        } else if (rc == SD_OK) {
            rc = SD_ENOMEM;
        }
    }
    if (rc == SD_OK) {
        rc = finish(b, &d, 1, out);
    }
    if (b) {
        free(b->n);
    }
    free(d.df);
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
    if (w->charge && !w->charge(w->charge_arg, (int64_t)t->mem_bytes)) {
        *out = t; /* not paid for: not kept, the caller's until seg_exact_terms_release */
        return SD_OK;
    }
    struct seg_exact_terms *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&w->exact_terms, &expected, t,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        if (w->charge) {
            (void)w->charge(w->charge_arg, -(int64_t)t->mem_bytes);
        }
        seg_exact_terms_free(t); /* another thread published one first */
        t = expected;
    }
    *out = t;
    return SD_OK;
}

void seg_exact_terms_release(const struct seg *s, const struct seg_exact_terms *t)
{
    /* a kept build is published once and never replaced: any other one is a caller's own */
    if (t && t != atomic_load_explicit(&((struct seg *)s)->exact_terms, memory_order_acquire)) {
        seg_exact_terms_free((struct seg_exact_terms *)t);
    }
}

const struct seg_exact_terms *seg_exact_terms_built(const struct seg *s)
{
    struct seg *w = (struct seg *)s;
    return atomic_load_explicit(&w->exact_terms, memory_order_acquire);
}

/* The df in field f of the form p[i, len) under node x (the path p[0, i)), 0 when none. A
 * stray byte may have several nodes under one parent (its split depended on bytes the build
 * had not seen yet, see the file comment), so every child that matches is tried. (A
 * character of well-formed UTF-8 has one node under a parent: the first that matches.) */
static uint32_t df_under(const struct seg_exact_terms *t, uint32_t x, const unsigned char *p,
                         size_t i, size_t len, unsigned f)
{
    const struct seg_trie_node *nodes = t->nodes;
    if (i == len) {
        return nodes[x].ch & SEG_TRIE_TERM ? t->df[(size_t)t->term[x] * t->nfields + f] : 0;
    }
    uint32_t cp;
    size_t clen = seg_utf8_next(p, len, i, &cp); /* split as the build split it */
    uint32_t ch = seg_trie_char(cp, clen);
    for (uint32_t c = nodes[x].kids; c != 0; c++) {
        const struct seg_trie_node *kid = &nodes[c];
        if ((kid->ch & SEG_TRIE_CHAR) == ch) {
            uint32_t df = df_under(t, c, p, i + clen, len, f);
            if (df) {
                return df;
            }
        }
        if (kid->ch & SEG_TRIE_LAST) {
            break;
        }
    }
    return 0;
}

uint32_t seg_exact_terms_df(const struct seg_exact_terms *t, unsigned field, const char *term,
                            size_t len)
{
    if (t->root == SEG_TRIE_NONE || field >= t->nfields || len == 0 || len > SEG_MAX_KEY) {
        return 0;
    }
    const unsigned char *p = (const unsigned char *)term;
    const struct seg_trie_node *nodes = t->nodes;
    uint32_t x = t->root;
    for (size_t i = 0; i < len;) { /* the first child that matches: the only one... */
        uint32_t cp;
        size_t clen = seg_utf8_next(p, len, i, &cp);
        if (clen == 1 && p[i] >= 0x80) {
            return df_under(t, t->root, p, 0, len, field); /* ...unless a byte is stray */
        }
        uint32_t ch = seg_trie_char(cp, clen);
        uint32_t c = nodes[x].kids;
        while (c != 0 && (nodes[c].ch & SEG_TRIE_CHAR) != ch) {
            c = nodes[c].ch & SEG_TRIE_LAST ? 0 : c + 1;
        }
        if (c == 0) {
            return 0;
        }
        x = c;
        i += clen;
    }
    return nodes[x].ch & SEG_TRIE_TERM ? t->df[(size_t)t->term[x] * t->nfields + field] : 0;
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

