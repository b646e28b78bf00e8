/*
 * seg_chunk.c: records larger than a stored block, cut into chunks a reader can load one at a
 * time (format v5, issue 12).
 *
 * WHY. A hit's snippet needs a few hundred bytes of its body. Up to format v4 a record larger
 * than SEG_STORED_BLOCK_TARGET was one LZ4 block, and LZ4 decodes a block from its start: the
 * snippet of a match near the end of a 1 MB body decompressed (and tokenized) the megabyte.
 * From v5 such a record is cut into chunks of at most SEG_STORED_BLOCK_TARGET raw bytes, each
 * its own stored block, consecutive in STORED_BLOCKS; its STORED_DOCS entry names the first
 * (offset 0, the whole length), and a reader knows it is cut because the length is more than
 * that block holds. Each chunk has a summary in the CHUNKS section: one flag byte and a
 * Bloom filter of the stems of the tokens that overlap it, so a snippet decides which chunks
 * can hold a query word without decompressing any (seg_doc_view_may_hold).
 *
 * CUTS (seg_chunk_cuts). From the start of the remaining bytes, a chunk ends at most
 * SEG_STORED_BLOCK_TARGET bytes on. When that end falls inside a text field's value, it moves
 * back to the last ASCII space, tab, CR or LF of the value at or before it, if one lies in
 * the chunk's second half: the next chunk then starts with that byte, and since such a byte
 * separates words, tokenizing from there gives the tokens the whole text has (flag bit 0, "the
 * chunk starts at a word boundary"). Otherwise an end inside any value backs up over UTF-8
 * continuation bytes (10xxxxxx), so no chunk splits a character. Cuts depend on the record's
 * bytes and field types only, not its field ids: a merge, which rewrites ids, cuts the same.
 *
 * SUMMARIES (seg_chunk_summarize). Every SEG_TEXT value is tokenized as the query side
 * tokenizes a snippet (stem_tokenize); each token's stem (its sd_hash64, XXH3-64) goes into the
 * filter of every chunk the token overlaps. Stems only: a token whose folded form is w has the stem
 * stem_word(w), so a reader tests an exact form by its stem (a superset, never a miss). Per
 * record, every chunk's filter has the same size: 10 bits per distinct stem of its fullest
 * chunk, rounded up to 8 bytes (6 probes: about 1% false positives). Bit i of the filter is
 * bit i % 8 of byte i / 8; a stem with hash h sets bits (lo + k * hi) mod (8 * bytes) for k in
 * 0..5, lo the low 32 bits of h and hi the high 32 bits with bit 0 set.
 */
#include <stdlib.h>

#include "seg_int.h"

#define CHUNK_BLOOM_PROBES 6
#define CHUNK_BLOOM_BITS   10 /* per distinct stem of the fullest chunk */

static bool is_break(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The values of a record's fields, in record order. */
struct chunk_value {
    size_t at;
    size_t len;
    uint8_t type;
};

/* Reads the field headers of rec[0, len) into v (SEG_MAX_FIELDS entries). SD_ECORRUPT when
 * the record does not parse (a builder's records always do). */
static int record_values(const uint8_t *rec, size_t len, struct chunk_value *v, size_t *n)
{
    struct sd_rd rd;
    sd_rd_init(&rd, rec, len);
    uint64_t nf;
    if (sd_rd_varint(&rd, &nf) || nf > SEG_MAX_FIELDS) {
        return SD_ECORRUPT;
    }
    for (size_t i = 0; i < nf; i++) {
        uint8_t fid, type;
        uint64_t vlen;
        if (sd_rd_u8(&rd, &fid) || sd_rd_u8(&rd, &type) || sd_rd_varint(&rd, &vlen) ||
            vlen > sd_rd_left(&rd)) {
            return SD_ECORRUPT;
        }
        v[i] = (struct chunk_value){.at = len - sd_rd_left(&rd), .len = (size_t)vlen, .type = type};
        (void)sd_rd_skip(&rd, (size_t)vlen);
    }
    *n = (size_t)nf;
    return sd_rd_left(&rd) == 0 ? SD_OK : SD_ECORRUPT;
}

/* Where the chunk that starts at `from` ends (see CUTS above). */
static size_t cut_after(const uint8_t *rec, size_t len, size_t from, const struct chunk_value *v,
                        size_t nv)
{
    size_t end = from + SEG_STORED_BLOCK_TARGET;
    if (end >= len) {
        return len;
    }
    for (size_t i = 0; i < nv; i++) {
        if (end <= v[i].at || end >= v[i].at + v[i].len) {
            continue; /* a cut at a value's first byte splits nothing */
        }
        size_t half = from + SEG_STORED_BLOCK_TARGET / 2;
        size_t low = v[i].at > half ? v[i].at : half;
        for (size_t p = end; v[i].type == SEG_TEXT && p > low; p--) {
            if (is_break(rec[p])) {
                return p;
            }
        }
        size_t p = end; /* a UTF-8 sequence has at most 3 continuation bytes */
        while (p > v[i].at && p + 3 > end && (rec[p] & 0xC0) == 0x80) {
            p--;
        }
        return p;
    }
    return end;
}

int seg_chunk_cuts(const uint8_t *rec, size_t len, uint32_t **ends, size_t *count)
{
    struct chunk_value v[SEG_MAX_FIELDS];
    size_t nv;
    *ends = NULL;
    *count = 0;
    int rc = record_values(rec, len, v, &nv);
    if (rc) {
        return rc;
    }
    /* every chunk but the last holds at least half the target (less 3 bytes) */
    size_t cap = len / (SEG_STORED_BLOCK_TARGET / 2 - 3) + 1;
    uint32_t *e = malloc(cap * sizeof *e);
    if (!e) {
        return SD_ENOMEM;
    }
    size_t n = 0, at = 0;
    while (at < len && n < cap) {
        at = cut_after(rec, len, at, v, nv);
        e[n++] = (uint32_t)at;
    }
    if (at != len) { /* cannot happen (cap above): a bug, not a record to store */
        free(e);
        return SD_ECORRUPT;
    }
    *ends = e;
    *count = n;
    return SD_OK;
}

/* ---- summaries ---- */

struct chunk_stem {
    uint32_t chunk;
    uint64_t hash;
};

struct summarizer {
    const uint32_t *ends; /* chunk i holds record bytes [ends[i-1], ends[i]) */
    size_t nchunks;
    size_t value_at; /* the value being tokenized starts here in the record */
    struct chunk_stem *stems;
    size_t count, cap;
};

static int add_stem(void *arg, const struct stem_token *tok)
{
    struct summarizer *z = arg;
    size_t from = z->value_at + tok->offset, to = from + tok->len;
    uint64_t h = sd_hash64(tok->stem, tok->stem_len);
    size_t c = 0;
    while (z->ends[c] <= from) {
        c++; /* tokens come in order: a linear walk from the start is cheap next to tokenizing */
    }
    for (; c < z->nchunks && (c == 0 || z->ends[c - 1] < to); c++) {
        struct chunk_stem *s = sd_grow(z->stems, &z->cap, z->count + 1, sizeof *s, 4096);
        if (!s) {
            return SD_ENOMEM;
        }
        z->stems = s;
        z->stems[z->count++] = (struct chunk_stem){(uint32_t)c, h};
    }
    return 0;
}

static int cmp_stem(const void *a, const void *b)
{
    const struct chunk_stem *x = a, *y = b;
    if (x->chunk != y->chunk) {
        return x->chunk < y->chunk ? -1 : 1;
    }
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static void bloom_set(uint8_t *bits, size_t len, uint64_t h)
{
    uint32_t lo = (uint32_t)h, hi = (uint32_t)(h >> 32) | 1u, m = (uint32_t)(len * 8);
    for (uint32_t k = 0; k < CHUNK_BLOOM_PROBES; k++) {
        uint32_t bit = (lo + k * hi) % m;
        bits[bit / 8] |= (uint8_t)(1u << (bit % 8));
    }
}

void seg_chunk_add(struct sd_buf *entries, struct sd_buf *sums, uint32_t block, const uint8_t *sum,
                   size_t sum_len)
{
    uint8_t e[SEG_CHUNK_ENTRY_LEN];
    sd_put_le32(e, block);
    memcpy(e + 4, sum, 8); /* chunk count, filter bytes */
    sd_put_le64(e + 12, sums->len);
    sd_buf_put(entries, e, sizeof e);
    sd_buf_put(sums, sum + 8, sum_len - 8);
}

void seg_chunk_copy(const struct seg *s, const uint8_t *entry, uint32_t first,
                    struct sd_buf *entries, struct sd_buf *sums)
{
    uint32_t count = sd_get_le32(entry + 4), bytes = sd_get_le32(entry + 8);
    uint8_t e[SEG_CHUNK_ENTRY_LEN];
    memcpy(e, entry, sizeof e);
    sd_put_le32(e, first);
    sd_put_le64(e + 12, sums->len);
    sd_buf_put(entries, e, sizeof e);
    /* seg_open checked that the summaries lie inside the section */
    sd_buf_put(sums, s->chunk_sums + sd_get_le64(entry + 12), (size_t)count * (1 + bytes));
}

void seg_chunk_write(struct sd_buf *out, const struct sd_buf *entries, const struct sd_buf *sums)
{
    sd_buf_put_le32(out, (uint32_t)(entries->len / SEG_CHUNK_ENTRY_LEN));
    sd_buf_put(out, entries->data, entries->len);
    sd_buf_put(out, sums->data, sums->len);
}

bool seg_chunk_bloom_test(const uint8_t *bits, size_t len, uint64_t h)
{
    uint32_t lo = (uint32_t)h, hi = (uint32_t)(h >> 32) | 1u, m = (uint32_t)(len * 8);
    for (uint32_t k = 0; k < CHUNK_BLOOM_PROBES; k++) {
        uint32_t bit = (lo + k * hi) % m;
        if (!(bits[bit / 8] & (1u << (bit % 8)))) {
            return false;
        }
    }
    return true;
}

/* Sorts and dedups z's (chunk, stem) pairs; returns the filter size in bytes. */
static size_t dedup(struct summarizer *z)
{
    if (z->count > 0) {
        qsort(z->stems, z->count, sizeof *z->stems, cmp_stem);
    }
    size_t n = 0, most = 0, run = 0;
    for (size_t i = 0; i < z->count; i++) {
        if (n > 0 && z->stems[n - 1].chunk == z->stems[i].chunk &&
            z->stems[n - 1].hash == z->stems[i].hash) {
            continue;
        }
        run = n > 0 && z->stems[n - 1].chunk == z->stems[i].chunk ? run + 1 : 1;
        most = run > most ? run : most;
        z->stems[n++] = z->stems[i];
    }
    z->count = n;
    size_t bytes = (most * CHUNK_BLOOM_BITS + 7) / 8;
    bytes = (bytes + 7) / 8 * 8;
    return bytes < 8 ? 8 : bytes;
}

static int tokenize_values(struct stem_ctx *stem, const uint8_t *rec, const struct chunk_value *v,
                           size_t nv, struct summarizer *z)
{
    for (size_t i = 0; i < nv; i++) {
        if (v[i].type != SEG_TEXT) {
            continue;
        }
        z->value_at = v[i].at;
        int rc = stem_tokenize(stem, (const char *)rec + v[i].at, v[i].len, 0, add_stem, z, NULL);
        if (rc != 0) {
            return SD_ENOMEM;
        }
    }
    return SD_OK;
}

int seg_chunk_summarize(struct stem_ctx *stem, const uint8_t *rec, size_t len, struct sd_buf *out)
{
    struct chunk_value v[SEG_MAX_FIELDS];
    size_t nv;
    uint32_t *ends = NULL;
    struct summarizer z = {0};
    int rc = record_values(rec, len, v, &nv);
    if (rc == SD_OK) {
        rc = seg_chunk_cuts(rec, len, &ends, &z.nchunks);
    }
    if (rc == SD_OK) {
        z.ends = ends;
        rc = tokenize_values(stem, rec, v, nv, &z);
    }
    if (rc == SD_OK) {
        size_t bytes = dedup(&z);
        size_t each = 1 + bytes;
        sd_buf_put_le32(out, (uint32_t)z.nchunks);
        sd_buf_put_le32(out, (uint32_t)bytes);
        rc = sd_buf_reserve(out, z.nchunks * each);
        if (rc == SD_OK) {
            uint8_t *p = out->data + out->len;
            memset(p, 0, z.nchunks * each);
            for (size_t c = 1; c < z.nchunks; c++) {
                p[c * each] = is_break(rec[ends[c - 1]]) ? SEG_CHUNK_AT_BREAK : 0;
            }
            p[0] = SEG_CHUNK_AT_BREAK; /* the record's start is a word boundary of every value */
            for (size_t i = 0; i < z.count; i++) {
                bloom_set(p + z.stems[i].chunk * each + 1, bytes, z.stems[i].hash);
            }
            out->len += z.nchunks * each;
        }
    }
    free(z.stems);
    free(ends);
    return rc;
}
