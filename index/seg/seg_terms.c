/*
 * seg_terms.c: a segment's exact forms copied into memory, for walks that jump around the
 * dictionary.
 *
 * The typo automaton (index/query/lev.c) intersects itself with the dictionary: it reads a
 * few terms, then jumps to the next string it can still accept, hundreds of times per word.
 * Over the front-coded blocks every jump is a binary search of the block index plus the
 * decoding of up to 64 keys and their term info (postings offsets are running sums), which
 * perf put at half the cost of a typo query. Here every SEG_EXACT term's bytes (without the
 * field and kind bytes) sit in one buffer, with their offsets and document frequencies in
 * flat arrays, field by field in dictionary order: a jump is a binary search in memory.
 *
 * Built on first use, by one pass over the dictionary; then immutable and shared by every
 * thread until seg_close. Threads that find it missing at once each build one and publish it
 * with a compare-and-swap: the first wins, the others free theirs (rare, and each copy is
 * correct), so no lock is needed. Memory: the exact forms' bytes plus 8 bytes per term
 * (offset and df); seg_exact_terms_bytes says how much, and the engine charges it to its
 * memory limit through seg_set_charge.
 */
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

void seg_exact_terms_free(struct seg_exact_terms *t)
{
    if (!t) {
        return;
    }
    free(t->field_start);
    free(t->off);
    free(t->df);
    free(t->bytes);
    free(t);
}

/* Copies every SEG_EXACT term of s into t (arrays allocated for s->term_count terms: every
 * kind counts there, so they are large enough). */
static int fill(const struct seg *s, struct seg_exact_terms *t, struct sd_buf *bytes,
                struct sd_error *err)
{
    struct seg_dict_cursor c;
    struct seg_term term;
    int r = seg_dict_cursor_field(&c, s, 0, &term);
    for (; r == 1; r = seg_dict_cursor_next(&c, &term)) {
        if (c.key[1] != SEG_EXACT) {
            continue;
        }
        if (c.key[0] >= s->field_count || t->count == s->term_count) {
            return SD_CORRUPT(err, "%s: dictionary key of field %u", s->name, c.key[0]);
        }
        if (bytes->len + (c.key_len - 2) > UINT32_MAX) {
            return sd_errorf(err, SD_ELIMIT, "%s: over 4 GiB of exact forms", s->name);
        }
        t->off[t->count] = (uint32_t)bytes->len;
        t->df[t->count] = term.df;
        t->field_start[c.key[0] + 1]++; /* counts for now; summed below */
        t->count++;
        sd_buf_put(bytes, c.key + 2, c.key_len - 2);
    }
    if (r < 0) {
        return SD_CORRUPT(err, "%s: dictionary block %u damaged", s->name, c.block);
    }
    if (bytes->rc) {
        return sd_errorf(err, SD_ENOMEM, "%s: exact forms: out of memory", s->name);
    }
    t->off[t->count] = (uint32_t)bytes->len;
    for (unsigned f = 0; f < s->field_count; f++) {
        t->field_start[f + 1] += t->field_start[f];
    }
    return SD_OK;
}

static int build(const struct seg *s, struct seg_exact_terms **out, struct sd_error *err)
{
    struct seg_exact_terms *t = calloc(1, sizeof *t);
    size_t cap = (size_t)s->term_count;
    if (t) {
        t->field_start = calloc(s->field_count + 1u, sizeof *t->field_start);
        t->off = malloc((cap + 1) * sizeof *t->off);
        t->df = malloc((cap ? cap : 1) * sizeof *t->df);
    }
    if (!t || !t->field_start || !t->off || !t->df) {
        seg_exact_terms_free(t);
        return sd_errorf(err, SD_ENOMEM, "%s: exact forms: out of memory", s->name);
    }
    struct sd_buf bytes;
    sd_buf_init(&bytes);
    int rc = fill(s, t, &bytes, err);
    if (rc) {
        sd_buf_free(&bytes);
        seg_exact_terms_free(t);
        return rc;
    }
    size_t len = 0;
    t->bytes = (char *)sd_buf_detach(&bytes, &len);
    /* the stems took room too: give it back (a failed shrink keeps the larger block) */
    uint32_t *off = realloc(t->off, ((size_t)t->count + 1) * sizeof *off);
    t->off = off ? off : t->off;
    uint32_t *df = realloc(t->df, (t->count ? t->count : 1) * sizeof *df);
    t->df = df ? df : t->df;
    t->mem_bytes = sizeof *t + (s->field_count + 1u) * sizeof *t->field_start +
                   ((size_t)t->count + 1) * sizeof *t->off + t->count * sizeof *t->df + len;
    *out = t;
    return SD_OK;
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

/* Compares term i's bytes from `from` on with key[0, klen) over at most klen bytes: < 0, 0
 * (term i continues with key) or > 0. Keys here are a character or a prefix of a word, a few
 * bytes: a loop beats a call to memcmp. */
static int cmp_from(const struct seg_exact_terms *t, uint32_t i, size_t from, const char *key,
                    size_t klen)
{
    const unsigned char *p = (const unsigned char *)t->bytes + t->off[i] + from;
    const unsigned char *k = (const unsigned char *)key;
    size_t len = t->off[i + 1] - t->off[i] - from;
    size_t n = len < klen ? len : klen;
    for (size_t j = 0; j < n; j++) {
        if (p[j] != k[j]) {
            return p[j] < k[j] ? -1 : 1;
        }
    }
    return len < klen ? -1 : 0;
}

uint32_t seg_exact_terms_lower(const struct seg_exact_terms *t, uint32_t lo, uint32_t hi,
                               size_t from, const char *key, size_t klen)
{
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp_from(t, mid, from, key, klen) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Gallops from lo (1, 2, 4, ... terms on) before the binary search: the terms that continue
 * with a character are usually few, so their end is found in about log2(their count) steps
 * rather than log2(hi - lo). */
uint32_t seg_exact_terms_upper(const struct seg_exact_terms *t, uint32_t lo, uint32_t hi,
                               size_t from, const char *key, size_t klen)
{
    uint64_t step = 1;
    while (step < hi - lo && cmp_from(t, lo + step, from, key, klen) <= 0) {
        lo += (uint32_t)step; /* lo stays a term that sorts before or continues with key */
        step *= 2;
    }
    hi = step < hi - lo ? lo + (uint32_t)step : hi;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp_from(t, mid, from, key, klen) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

bool seg_exact_terms_starts(const struct seg_exact_terms *t, uint32_t i, size_t from,
                            const char *key, size_t klen)
{
    return cmp_from(t, i, from, key, klen) == 0;
}
