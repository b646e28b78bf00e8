/*
 * seg_post.c: the postings iterator (next, advance, freq, positions, block bounds).
 *
 * An iterator decodes one block of up to 128 documents at a time into its own arrays: a full
 * block is two bit-unpacks (gaps, tf - 1) and a prefix sum, no per-document branching on
 * varints; a tail block (the last df % 128 docs, or all of a term with df < 128) is the same
 * packing cut short, decoded by a loop generic in the width, and a block of one doc is a
 * varint pair. advance(target) first consults the skip table (fixed 14-byte entries beside
 * the blocks, format in seg_write.c): it gallops over the entries' last-doc fields to the
 * first block whose last doc is >= target, so the blocks in between are never decoded, then
 * scans the decoded block. block_bound() reads the same entries without decoding anything
 * ("shallow advance").
 *
 * Positions are decoded only when asked for: a cursor into the term's positions follows the
 * current block (its start comes from the skip entry); asking for doc i of the block skips
 * the varints of the docs before it by counting terminator bytes and decodes doc i's.
 *
 * Every decoder checks bounds even though the checksum was verified: on damage the iterator
 * records a sticky error (seg_postings_error) and reports SEG_DOC_END. Nothing is allocated
 * per document: the arrays are part of the iterator, and the positions buffer grows only
 * when a document has more positions than any before.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

#define NO_BLOCK UINT32_MAX

struct seg_postings {
    const struct seg *s; /* borrowed; must outlive the iterator */
    struct seg_term t;
    const uint8_t *skip; /* skip table (df >= SEG_BLOCK) or NULL */
    const uint8_t *data; /* blocks, after the skip table */
    size_t data_len;
    uint32_t nblocks;
    const uint8_t *pos; /* the term's positions, NULL unless wanted and SEG_EXACT */
    size_t pos_len;
    const uint8_t *norms; /* the term's field in NORMS */
    bool is_started;
    uint32_t block;   /* decoded block or NO_BLOCK */
    uint32_t n;       /* docs in the decoded block */
    uint32_t i;       /* current doc's index in the block */
    uint32_t doc;     /* current doc (SEG_DOC_END at the end) */
    uint32_t shallow; /* block_bound's block */
    bool has_small_bound;
    uint32_t small_max_tf;
    uint8_t small_min_norm;
    const uint8_t *pcur; /* positions of doc pidx of the block start here */
    const uint8_t *pend;
    uint32_t pidx;
    uint32_t pos_for; /* index whose positions are in posbuf, or NO_BLOCK */
    uint32_t *posbuf; /* owned */
    uint32_t pos_count;
    uint32_t pos_cap;
    int rc; /* sticky; err holds the message */
    struct sd_error err;
    uint32_t docs[SEG_BLOCK];
    uint32_t tfs[SEG_BLOCK];
};

static uint32_t fail(struct seg_postings *p, const char *what)
{
    if (p->rc == SD_OK) {
        p->rc = SD_CORRUPT(&p->err, "%s: postings at %llu: %s", p->s->name,
                           (unsigned long long)p->t.off, what);
    }
    p->doc = SEG_DOC_END;
    return SEG_DOC_END;
}

static int check_term(const struct seg *s, const struct seg_term *t)
{
    const struct seg_span *post = &s->sect[SEG_SECT_POSTINGS];
    const struct seg_span *pos = &s->sect[SEG_SECT_POSITIONS];
    if (t->df == 0 || t->df > s->doc_count || t->field >= s->field_count) {
        return SD_ECORRUPT;
    }
    if (t->off < post->off || t->off - post->off > post->len ||
        t->len > post->len - (t->off - post->off)) {
        return SD_ECORRUPT;
    }
    if (t->pos_off < pos->off || t->pos_off - pos->off > pos->len ||
        t->pos_len > pos->len - (t->pos_off - pos->off)) {
        return SD_ECORRUPT;
    }
    return SD_OK;
}

int seg_postings_open(const struct seg *s, const struct seg_term *t, unsigned flags,
                      struct seg_postings **out, struct sd_error *err)
{
    if (check_term(s, t) != SD_OK) {
        return SD_CORRUPT(err, "%s: term entry out of bounds", s->name);
    }
    uint32_t nblocks = t->df >= SEG_BLOCK ? (t->df + SEG_BLOCK - 1) / SEG_BLOCK : 1;
    size_t skip_len = t->df >= SEG_BLOCK ? (size_t)nblocks * SEG_SKIP_ENTRY_LEN : 0;
    if (skip_len > t->len) {
        return SD_CORRUPT(err, "%s: postings at %llu: skip table truncated", s->name,
                          (unsigned long long)t->off);
    }
    struct seg_postings *p = malloc(sizeof *p);
    if (!p) {
        return sd_errorf(err, SD_ENOMEM, "%s: out of memory", s->name);
    }
    memset(p, 0, offsetof(struct seg_postings, docs));
    p->s = s;
    p->t = *t;
    p->skip = skip_len ? s->img + t->off : NULL;
    p->data = s->img + t->off + skip_len;
    p->data_len = (size_t)t->len - skip_len;
    p->nblocks = nblocks;
    if ((flags & SEG_WANT_POSITIONS) && t->kind == SEG_EXACT) {
        p->pos = s->img + t->pos_off;
        p->pos_len = (size_t)t->pos_len;
    }
    p->norms = s->sect[SEG_SECT_NORMS].p + (size_t)t->field * s->doc_count;
    p->block = NO_BLOCK;
    p->pos_for = NO_BLOCK;
    *out = p;
    return SD_OK;
}

void seg_postings_free(struct seg_postings *p)
{
    if (p) {
        free(p->posbuf);
        free(p);
    }
}

static uint32_t skip_last(const struct seg_postings *p, uint32_t b)
{
    return sd_get_le32(p->skip + (size_t)b * SEG_SKIP_ENTRY_LEN);
}

/* ---- block decoding ---- */

/* A block of one doc: a varint pair. */
static bool decode_one(struct seg_postings *p, const uint8_t *in, size_t len, uint64_t next)
{
    struct sd_rd rd;
    sd_rd_init(&rd, in, len);
    uint32_t gap, tf1;
    if (sd_rd_varint32(&rd, &gap) || sd_rd_varint32(&rd, &tf1) || tf1 == UINT32_MAX) {
        return false;
    }
    next += gap;
    p->docs[0] = (uint32_t)next;
    p->tfs[0] = tf1 + 1;
    return next < p->s->doc_count;
}

/* Checks a packed block's widths (b2 <= 31: tf - 1 + 1 fits) against its bytes, n values. */
static bool packed_fits(const uint8_t *in, size_t len, uint32_t n)
{
    return len >= 2 && in[0] <= 32 && in[1] <= 31 &&
           len - 2 >= seg_packed_len(n, in[0]) + seg_packed_len(n, in[1]);
}

/* The hot path: two unpacks, the first fused with the prefix sum (see seg_codec.c). */
static bool decode_packed(struct seg_postings *p, const uint8_t *in, size_t len, uint64_t next)
{
    if (!packed_fits(in, len, SEG_BLOCK)) {
        return false;
    }
    unsigned b1 = in[0], b2 = in[1];
    next = seg_unpack128_gaps(in + 2, b1, p->docs, next);
    seg_unpack128(in + 2 + 16u * b1, b2, p->tfs);
    for (unsigned k = 0; k < SEG_BLOCK; k++) {
        p->tfs[k] += 1; /* vectorized by the compiler */
    }
    return next - 1 < p->s->doc_count; /* ascending, so the last doc bounds them all */
}

/* A tail block of 2 <= n < SEG_BLOCK docs: the packed form cut after n values. */
static bool decode_tail(struct seg_postings *p, const uint8_t *in, size_t len, uint32_t n,
                        uint64_t next)
{
    if (!packed_fits(in, len, n)) {
        return false;
    }
    unsigned b1 = in[0], b2 = in[1];
    seg_unpack(in + 2, n, b1, p->docs);
    seg_unpack(in + 2 + seg_packed_len(n, b1), n, b2, p->tfs);
    for (uint32_t k = 0; k < n; k++) {
        next += p->docs[k];
        p->docs[k] = (uint32_t)next;
        p->tfs[k] += 1;
        next++;
    }
    return next - 1 < p->s->doc_count;
}

static bool decode_block(struct seg_postings *p, const uint8_t *in, size_t len, uint32_t n,
                         uint64_t next)
{
    if (n == SEG_BLOCK) {
        return decode_packed(p, in, len, next);
    }
    return n == 1 ? decode_one(p, in, len, next) : decode_tail(p, in, len, n, next);
}

static bool position_cursor(struct seg_postings *p, uint32_t b)
{
    p->pidx = 0;
    p->pos_for = NO_BLOCK;
    if (!p->pos) {
        return true;
    }
    uint32_t off = p->skip ? sd_get_le32(p->skip + (size_t)b * SEG_SKIP_ENTRY_LEN + 8) : 0;
    if (off > p->pos_len) {
        return false;
    }
    p->pcur = p->pos + off;
    p->pend = p->pos + p->pos_len;
    return true;
}

static bool load_block(struct seg_postings *p, uint32_t b)
{
    if (!p->skip) {
        p->n = p->t.df;
        if (!decode_block(p, p->data, p->data_len, p->n, 0)) {
            fail(p, "bad block");
            return false;
        }
    } else {
        const uint8_t *e = p->skip + (size_t)b * SEG_SKIP_ENTRY_LEN;
        uint32_t off = sd_get_le32(e + 4);
        size_t end = b + 1 < p->nblocks ? sd_get_le32(e + SEG_SKIP_ENTRY_LEN + 4) : p->data_len;
        uint64_t next = b ? (uint64_t)skip_last(p, b - 1) + 1 : 0;
        p->n = b + 1 < p->nblocks ? SEG_BLOCK : p->t.df - SEG_BLOCK * (p->nblocks - 1);
        bool ok = off <= end && end <= p->data_len &&
                  decode_block(p, p->data + off, end - off, p->n, next);
        if (!ok || p->docs[p->n - 1] != sd_get_le32(e)) {
            fail(p, "bad block");
            return false;
        }
    }
    p->block = b;
    if (!position_cursor(p, b)) {
        fail(p, "positions offset out of bounds");
        return false;
    }
    return true;
}

/* ---- moving ---- */

static uint32_t enter_block(struct seg_postings *p, uint32_t b)
{
    if (b >= p->nblocks) {
        p->doc = SEG_DOC_END;
        return SEG_DOC_END;
    }
    if (p->block != b && !load_block(p, b)) {
        return SEG_DOC_END;
    }
    p->i = 0;
    return p->doc = p->docs[0];
}

uint32_t seg_postings_next(struct seg_postings *p)
{
    if (p->is_started && p->doc == SEG_DOC_END) {
        return SEG_DOC_END;
    }
    if (p->is_started && p->i + 1 < p->n) {
        p->i++;
        return p->doc = p->docs[p->i];
    }
    uint32_t b = p->is_started ? p->block + 1 : 0;
    p->is_started = true;
    return enter_block(p, b);
}

/* First block >= from whose last doc is >= target, or nblocks: gallop, then binary search. */
static uint32_t skip_find(const struct seg_postings *p, uint32_t from, uint32_t target)
{
    if (from >= p->nblocks || skip_last(p, from) >= target) {
        return from;
    }
    uint32_t lo = from, step = 1; /* invariant: last(lo) < target */
    while (lo + step < p->nblocks && skip_last(p, lo + step) < target) {
        lo += step;
        step *= 2;
    }
    uint32_t hi = lo + step < p->nblocks ? lo + step : p->nblocks; /* last(hi) >= target */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (skip_last(p, mid) < target) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return hi;
}

uint32_t seg_postings_advance(struct seg_postings *p, uint32_t target)
{
    if (p->is_started && (p->doc == SEG_DOC_END || p->doc >= target)) {
        return p->doc;
    }
    uint32_t b = p->is_started ? p->block : 0;
    if (p->skip) {
        b = skip_find(p, b, target);
    }
    if (!p->is_started || b != p->block) {
        p->is_started = true;
        if (enter_block(p, b) == SEG_DOC_END) {
            return SEG_DOC_END;
        }
    }
    /* The first doc >= target in this block: a few steps cover a target close ahead (the
     * common case of a lead iterator), a binary search a far one (a long list led by a rare
     * term, where a scan would walk half a block per call). */
    uint32_t j = p->i;
    for (int step = 0; step < 4 && j < p->n && p->docs[j] < target; step++) {
        j++;
    }
    if (j < p->n && p->docs[j] < target) {
        uint32_t lo = j, hi = p->n; /* docs[lo] < target; docs[hi] >= target or hi == n */
        while (hi - lo > 1) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (p->docs[mid] < target) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        j = hi;
    }
    if (j == p->n) {
        p->doc = SEG_DOC_END; /* only a single-block term can run out here */
        return SEG_DOC_END;
    }
    p->i = j;
    return p->doc = p->docs[j];
}

uint32_t seg_postings_doc(const struct seg_postings *p)
{
    return p->doc;
}

uint32_t seg_postings_freq(const struct seg_postings *p)
{
    return p->is_started && p->doc != SEG_DOC_END ? p->tfs[p->i] : 0;
}

int seg_postings_error(const struct seg_postings *p, struct sd_error *err)
{
    if (p->rc && err) {
        *err = p->err;
    }
    return p->rc;
}

/* ---- block bounds ---- */

static uint32_t small_bound(struct seg_postings *p, uint32_t target, uint32_t *max_tf,
                            uint8_t *min_norm)
{
    if (!p->has_small_bound) {
        if (p->block != 0 && !load_block(p, 0)) {
            return SEG_DOC_END;
        }
        uint32_t mt = 0;
        uint8_t mn = 255;
        for (uint32_t k = 0; k < p->n; k++) {
            mt = p->tfs[k] > mt ? p->tfs[k] : mt;
            mn = p->norms[p->docs[k]] < mn ? p->norms[p->docs[k]] : mn;
        }
        p->small_max_tf = mt;
        p->small_min_norm = mn;
        p->has_small_bound = true;
    }
    uint32_t last = p->docs[p->n - 1];
    if (target > last) {
        return SEG_DOC_END;
    }
    *max_tf = p->small_max_tf;
    *min_norm = p->small_min_norm;
    return last;
}

uint32_t seg_postings_block_bound(struct seg_postings *p, uint32_t target, uint32_t *max_tf,
                                  uint8_t *min_norm)
{
    *max_tf = 0;
    *min_norm = 255;
    if (p->rc) {
        return SEG_DOC_END;
    }
    if (!p->skip) {
        return small_bound(p, target, max_tf, min_norm);
    }
    uint32_t from = p->is_started && p->block != NO_BLOCK ? p->block : 0;
    from = p->shallow > from ? p->shallow : from;
    uint32_t b = skip_find(p, from, target);
    p->shallow = b;
    if (b >= p->nblocks) {
        return SEG_DOC_END;
    }
    const uint8_t *e = p->skip + (size_t)b * SEG_SKIP_ENTRY_LEN;
    *max_tf = e[12] < SEG_SKIP_TF_MAX ? e[12] : SEG_TF_UNBOUNDED;
    *min_norm = e[13];
    return sd_get_le32(e);
}

/* ---- positions ---- */

/* Moves the positions cursor past the positions of docs [pidx, upto) of the block: as many
 * varints as their tfs add up to. Eight bytes at a time while at least eight varints are
 * left (eight bytes end at most eight of them, so the count never overshoots): a phrase
 * candidate deep in a common word's block skipped its predecessors byte by byte, 39% of
 * phrase-en's instructions on the 200k corpus (callgrind). */
static bool skip_positions(struct seg_postings *p, uint32_t upto)
{
    uint64_t need = 0;
    for (uint32_t i = p->pidx; i < upto; i++) {
        need += p->tfs[i];
    }
    const uint8_t *c = p->pcur;
    while (need >= 8 && p->pend - c >= 8) {
        uint64_t w;
        memcpy(&w, c, sizeof w);
        need -= seg_varint_ends8(w);
        c += 8;
    }
    while (need > 0 && c < p->pend) {
        need -= !(*c++ & 0x80);
    }
    p->pcur = c;
    if (need > 0) {
        return false;
    }
    p->pidx = upto > p->pidx ? upto : p->pidx;
    return true;
}

static int decode_positions(struct seg_postings *p, uint32_t tf)
{
    if (tf > (size_t)(p->pend - p->pcur)) {
        return SD_ECORRUPT; /* every position takes at least one byte */
    }
    if (tf > p->pos_cap) {
        uint32_t cap = tf < 64 ? 64 : tf;
        uint32_t *buf = realloc(p->posbuf, (size_t)cap * sizeof *buf);
        if (!buf) {
            return SD_ENOMEM;
        }
        p->posbuf = buf;
        p->pos_cap = cap;
    }
    struct sd_rd rd;
    sd_rd_init(&rd, p->pcur, (size_t)(p->pend - p->pcur));
    uint64_t pos = 0;
    for (uint32_t k = 0; k < tf; k++) {
        uint32_t delta;
        if (sd_rd_varint32(&rd, &delta) || (pos += delta) > UINT32_MAX) {
            return SD_ECORRUPT;
        }
        p->posbuf[k] = (uint32_t)pos;
    }
    p->pcur = rd.p;
    p->pos_count = tf;
    return SD_OK;
}

/* Positions of the current doc: decoded on demand, then cached until the iterator moves. An
 * allocation failure is returned (SD_ENOMEM) without ending the iterator. */
int seg_postings_positions(struct seg_postings *p, const uint32_t **pos, uint32_t *count)
{
    if (p->rc) {
        return p->rc;
    }
    if (!p->pos || !p->is_started || p->doc == SEG_DOC_END) {
        return SD_EINVAL;
    }
    if (p->pos_for != p->i) {
        if (p->pidx > p->i && !position_cursor(p, p->block)) {
            fail(p, "positions offset out of bounds");
            return p->rc;
        }
        int rc = skip_positions(p, p->i) ? decode_positions(p, p->tfs[p->i]) : SD_ECORRUPT;
        if (rc == SD_ENOMEM) {
            return SD_ENOMEM;
        }
        if (rc) {
            fail(p, "positions damaged");
            return p->rc;
        }
        p->pidx = p->i + 1;
        p->pos_for = p->i;
    }
    *pos = p->posbuf;
    *count = p->pos_count;
    return SD_OK;
}
