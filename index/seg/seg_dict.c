/*
 * seg_dict.c: the term dictionary reader: exact lookups and ordered prefix walks.
 *
 * The dictionary is a sorted run of front-coded blocks of up to 64 terms (16 written), plus
 * an index of each block's first key (format in seg_write.c). A lookup binary-searches the
 * index in the mapping (fixed 32-byte entries, keys beside them: log2(blocks) comparisons
 * over a few pages that stay hot), then scans one block of a few hundred bytes, comparing
 * each key's suffix in place and stopping once the target is passed (block_find). A prefix
 * walk starts in the block that may hold the first match and decodes forward, across blocks,
 * until the keys leave the range. (An automaton that jumps around the dictionary reads the
 * exact forms copied into memory instead: seg_terms.c.) Every byte of a block is read through
 * a bounds-checked cursor.
 */
#include <string.h>

#include "seg_int.h"

void seg_dict_entry_get(const struct seg *s, uint32_t b, struct seg_dict_entry *e)
{
    const uint8_t *p = s->sect[SEG_SECT_DICT_INDEX].p + 4 + (size_t)b * SEG_DICT_ENTRY_LEN;
    e->key_off = sd_get_le32(p);
    e->key_len = sd_get_le16(p + 4);
    e->nterms = sd_get_le16(p + 6);
    e->block_off = sd_get_le64(p + 8);
    e->post_off = sd_get_le64(p + 16);
    e->pos_off = sd_get_le64(p + 24);
}

static int check_entry(const struct seg *s, const struct seg_dict_entry *e, uint64_t prev_off)
{
    if (e->key_len < 3 || e->key_len > SEG_MAX_KEY || e->key_off > s->dict_keys_len ||
        e->key_len > s->dict_keys_len - e->key_off) {
        return SD_ECORRUPT;
    }
    if (e->nterms == 0 || e->nterms > SEG_DICT_BLOCK_TERMS || e->block_off < prev_off ||
        e->block_off > s->sect[SEG_SECT_DICT].len) {
        return SD_ECORRUPT;
    }
    if (e->post_off > s->sect[SEG_SECT_POSTINGS].len ||
        e->pos_off > s->sect[SEG_SECT_POSITIONS].len) {
        return SD_ECORRUPT;
    }
    return SD_OK;
}

int seg_dict_check(struct seg *s, struct sd_error *err)
{
    const struct seg_span *ix = &s->sect[SEG_SECT_DICT_INDEX];
    if (ix->len < 4) {
        return SD_CORRUPT(err, "%s: dictionary index too short", s->name);
    }
    uint32_t n = sd_get_le32(ix->p);
    if (n > (ix->len - 4) / SEG_DICT_ENTRY_LEN) {
        return SD_CORRUPT(err, "%s: dictionary index: %u blocks do not fit", s->name, n);
    }
    s->dict_nblocks = n;
    s->dict_keys = ix->p + 4 + (size_t)n * SEG_DICT_ENTRY_LEN;
    s->dict_keys_len = ix->len - 4 - (size_t)n * SEG_DICT_ENTRY_LEN;
    uint64_t prev_off = 0, terms = 0;
    for (uint32_t b = 0; b < n; b++) {
        struct seg_dict_entry e;
        seg_dict_entry_get(s, b, &e);
        if (check_entry(s, &e, prev_off) != SD_OK || (b == 0 && e.block_off != 0)) {
            return SD_CORRUPT(err, "%s: dictionary index entry %u damaged", s->name, b);
        }
        prev_off = e.block_off;
        terms += e.nterms;
    }
    if (terms != s->term_count) {
        return SD_CORRUPT(err, "%s: dictionary holds %llu terms, footer says %llu", s->name,
                          (unsigned long long)terms, (unsigned long long)s->term_count);
    }
    return SD_OK;
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) {
        return c;
    }
    return alen < blen ? -1 : alen > blen;
}

/* Index of the last block whose first key is <= key, or UINT32_MAX if there is none. */
static uint32_t find_block(const struct seg *s, const uint8_t *key, size_t len)
{
    uint32_t lo = 0, hi = s->dict_nblocks; /* blocks [0, lo) start <= key */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        struct seg_dict_entry e;
        seg_dict_entry_get(s, mid, &e);
        if (key_cmp(s->dict_keys + e.key_off, e.key_len, key, len) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo == 0 ? UINT32_MAX : lo - 1;
}

static void cursor_seek(struct seg_dict_cursor *c, uint32_t b)
{
    const struct seg *s = c->s;
    struct seg_dict_entry e, next;
    seg_dict_entry_get(s, b, &e);
    uint64_t end = s->sect[SEG_SECT_DICT].len;
    if (b + 1 < s->dict_nblocks) {
        seg_dict_entry_get(s, b + 1, &next);
        end = next.block_off; /* ascending: checked at open */
    }
    sd_rd_init(&c->rd, s->sect[SEG_SECT_DICT].p + e.block_off, (size_t)(end - e.block_off));
    c->block = b;
    c->left = e.nterms;
    c->post_off = e.post_off;
    c->pos_off = e.pos_off;
    c->key_len = 0;
}

static int read_term_info(struct seg_dict_cursor *c, struct seg_term *t)
{
    const struct seg *s = c->s;
    uint64_t df, extra, post_len, pos_len = 0;
    if (sd_rd_varint(&c->rd, &df) || sd_rd_varint(&c->rd, &extra) ||
        sd_rd_varint(&c->rd, &post_len) ||
        (c->kind == SEG_EXACT && sd_rd_varint(&c->rd, &pos_len))) {
        return SD_ECORRUPT;
    }
    if (df == 0 || df > s->doc_count || extra > UINT64_MAX - df ||
        post_len > s->sect[SEG_SECT_POSTINGS].len - c->post_off ||
        pos_len > s->sect[SEG_SECT_POSITIONS].len - c->pos_off) {
        return SD_ECORRUPT;
    }
    t->df = (uint32_t)df;
    t->total_tf = df + extra;
    t->off = s->sect[SEG_SECT_POSTINGS].off + c->post_off;
    t->len = post_len;
    t->pos_off = s->sect[SEG_SECT_POSITIONS].off + c->pos_off;
    t->pos_len = pos_len;
    c->post_off += post_len;
    c->pos_off += pos_len;
    return SD_OK;
}

/* Reads the shared-prefix and suffix lengths of the next front-coded key and points *suffix_p
 * at its suffix bytes; c->key_len becomes the new key's length and c->kind its kind byte, from
 * the suffix or, when the prefix covers it, the previous key (c->key is not touched). */
static int read_key(struct seg_dict_cursor *c, size_t *shared_out, const uint8_t **suffix_p)
{
    uint64_t shared, suffix;
    if (sd_rd_varint(&c->rd, &shared) || sd_rd_varint(&c->rd, &suffix) || shared > c->key_len ||
        suffix > SEG_MAX_KEY - shared || shared + suffix < 3 ||
        sd_rd_bytes(&c->rd, (size_t)suffix, suffix_p)) {
        return SD_ECORRUPT;
    }
    *shared_out = (size_t)shared;
    c->kind = shared >= 2 ? c->kind : (*suffix_p)[1 - shared]; /* shared + suffix >= 3 */
    c->key_len = (size_t)(shared + suffix);
    c->left--;
    return SD_OK;
}

/* Reads the next term. Returns 1 with c->key and *t set, 0 at the end of the dictionary,
 * or SD_ECORRUPT. */
static int cursor_next(struct seg_dict_cursor *c, struct seg_term *t)
{
    if (c->left == 0) {
        if (c->block + 1 >= c->s->dict_nblocks) {
            return 0;
        }
        cursor_seek(c, c->block + 1);
    }
    size_t shared;
    const uint8_t *p;
    if (read_key(c, &shared, &p)) {
        return SD_ECORRUPT;
    }
    memcpy(c->key + shared, p, c->key_len - shared);
    c->key[c->key_len] = '\0';
    if (read_term_info(c, t)) {
        return SD_ECORRUPT;
    }
    t->field = c->key[0];
    t->kind = c->key[1];
    return 1;
}

/* Looks key up in block b without rebuilding any key. Keys ascend, and front coding says
 * how much of each key equals its predecessor, so the scan only tracks m: how many leading
 * bytes the previous key shares with the target (that key sorting before the target).
 * A key sharing more than m bytes with its predecessor also sorts before the target (its
 * byte m is the predecessor's, which is below the target's) and needs no comparison. Any
 * other key equals the target on its first `shared` bytes, so it is compared from there,
 * against its suffix in place; with the writer's longest shared prefixes, a key sharing
 * fewer than m bytes differs at once and ends the search. Term info is still decoded for
 * every key passed, since postings offsets are running sums. */
static int block_find(const struct seg *s, uint32_t b, const uint8_t *key, size_t klen,
                      struct seg_term *out)
{
    struct seg_dict_cursor c;
    c.s = s;
    cursor_seek(&c, b); /* c.key stays unused */
    size_t m = 0;
    while (c.left > 0) {
        size_t shared;
        const uint8_t *p;
        if (read_key(&c, &shared, &p)) {
            return SD_ECORRUPT;
        }
        int cmp = -1;
        if (shared <= m) {
            m = shared;
            size_t suffix = c.key_len - shared;
            size_t n = suffix < klen - m ? suffix : klen - m;
            size_t i = 0;
            while (i < n && p[i] == key[m + i]) {
                i++;
            }
            m += i;
            if (i < n) {
                cmp = p[i] < key[m] ? -1 : 1;
            } else {
                cmp = c.key_len < klen ? -1 : c.key_len > klen;
            }
        }
        if (cmp > 0) {
            return SD_ENOTFOUND;
        }
        struct seg_term t;
        if (read_term_info(&c, &t)) {
            return SD_ECORRUPT;
        }
        if (cmp == 0) {
            *out = t;
            out->field = key[0];
            out->kind = key[1];
            return SD_OK;
        }
    }
    return SD_ENOTFOUND;
}

static size_t make_key(uint8_t *key, unsigned field, enum seg_kind kind, const char *term,
                       size_t len)
{
    key[0] = (uint8_t)field;
    key[1] = (uint8_t)kind;
    if (len) {
        memcpy(key + 2, term, len);
    }
    return len + 2;
}

int seg_term_find(const struct seg *s, unsigned field, enum seg_kind kind, const char *term,
                  size_t len, struct seg_term *out, struct sd_error *err)
{
    if (len == 0 || len > STEM_MAX_TOKEN || field >= s->field_count) {
        return SD_ENOTFOUND;
    }
    uint8_t key[SEG_MAX_KEY];
    size_t klen = make_key(key, field, kind, term, len);
    uint32_t b = find_block(s, key, klen);
    if (b == UINT32_MAX) {
        return SD_ENOTFOUND;
    }
    int rc = block_find(s, b, key, klen, out);
    if (rc == SD_ECORRUPT) {
        return SD_CORRUPT(err, "%s: dictionary block %u damaged", s->name, b);
    }
    return rc;
}

int seg_term_prefix(const struct seg *s, unsigned field, enum seg_kind kind, const char *prefix,
                    size_t len, seg_term_fn fn, void *arg, struct sd_error *err)
{
    if (len > STEM_MAX_TOKEN || field >= s->field_count || s->dict_nblocks == 0) {
        return SD_OK;
    }
    uint8_t key[SEG_MAX_KEY];
    size_t klen = make_key(key, field, kind, prefix, len);
    uint32_t b = find_block(s, key, klen);
    struct seg_dict_cursor c = {.s = s};
    cursor_seek(&c, b == UINT32_MAX ? 0 : b);
    struct seg_term t;
    int r;
    while ((r = cursor_next(&c, &t)) == 1) {
        if (c.key_len >= klen && memcmp(c.key, key, klen) == 0) {
            int rc = fn(arg, (const char *)c.key + 2, c.key_len - 2, &t);
            if (rc) {
                return rc;
            }
        } else if (key_cmp(c.key, c.key_len, key, klen) > 0) {
            return SD_OK;
        }
    }
    if (r < 0) {
        return SD_CORRUPT(err, "%s: dictionary block %u damaged", s->name, c.block);
    }
    return SD_OK;
}

int seg_dict_cursor_next(struct seg_dict_cursor *c, struct seg_term *t)
{
    return c->s->dict_nblocks == 0 ? 0 : cursor_next(c, t);
}

int seg_dict_cursor_field(struct seg_dict_cursor *c, const struct seg *s, unsigned field,
                          struct seg_term *t)
{
    memset(c, 0, sizeof *c);
    c->s = s;
    if (s->dict_nblocks == 0) {
        return 0;
    }
    uint8_t key[1] = {(uint8_t)field};
    uint32_t b = find_block(s, key, 1);
    cursor_seek(c, b == UINT32_MAX ? 0 : b);
    int r;
    while ((r = cursor_next(c, t)) == 1 && c->key[0] < field) {
    }
    return r;
}
