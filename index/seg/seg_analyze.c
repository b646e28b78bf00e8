/*
 * seg_analyze.c: document analysis, the half of adding a document that needs no builder, so
 * it can run on any thread (seg.h) while the builder's thread inverts earlier documents.
 *
 * WHAT IT MAKES (struct seg_analysis, seg_build_int.h):
 *   - the id and field names, copied, and every check of the document that does not depend
 *     on the builder (the same checks and messages seg_builder_add always made);
 *   - per field, its token count (compound joined forms do not count, over-long tokens do:
 *     the length norm of seg_write.c);
 *   - the distinct (field, folded word) terms in order of first occurrence, each with its tf,
 *     its positions already encoded as the POSITIONS section wants them for one doc (tf
 *     varint deltas, the first from 0), the XXH3 of the word, and its stem with the stem's
 *     XXH3 (the builder mixes the field and kind into these, so it hashes nothing);
 *   - the stored record (format in seg_stored.c), with each field's index in the document
 *     where the segment's field id goes: the builder knows the ids and patches those bytes;
 *   - for a record larger than a stored block, the summary of its chunks (seg_chunk.c: the
 *     stems each chunk holds), so the tokenizing it needs runs here, off the builder thread.
 *
 * HOW. Each SEG_TEXT field is walked once with stem_tokenize_words (no Snowball per token).
 * A token finds its term in a per-document open-addressing table keyed by (field, XXH3 of
 * the word); slots carry a generation number, so starting the next document is a counter
 * increment, not a clear. Tokens are logged as (term, position); when every field is done,
 * each distinct word is stemmed once (stem_word: the stem a token would have carried, see
 * stem.h), and a counting sort by term turns the token log into each term's contiguous run
 * of positions, encoded straight into reserved room.
 *
 * WHY THE OUTPUT IS THE SAME AS TOKEN AT A TIME. The builder used to bump a word's exact and
 * stem records once per token and append one position delta per token. Per distinct word it
 * now adds tf to both at once and appends the same deltas in the same order (positions of a
 * field never go backwards, and a word's deltas restart from 0 in each doc). A word always
 * gets the same stem (stem_word is a function of the folded word), so "the stem of its
 * first token" is "its stem".
 */
#include <stdlib.h>
#include <string.h>

#include "seg_build_int.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#define AN_INITIAL_SLOTS 1024u
#define AN_TEXT_MAX      UINT32_MAX /* offsets in an analysis are u32 */

struct seg_an_slot {
    uint32_t gen;  /* the slot is empty unless gen is the analyzer's */
    uint32_t term; /* index into the analysis' terms */
};

struct seg_an_tok {
    uint32_t term;
    uint32_t pos;
};

struct seg_analyzer {
    struct stem_ctx *stem;     /* borrowed: this thread's */
    struct seg_an_slot *slots; /* owned; nslots a power of two, load <= 1/2 */
    size_t nslots;
    uint32_t gen;
    struct seg_an_tok *toks; /* owned; the token log of the document */
    size_t ntoks, toks_cap;
    uint32_t *sorted; /* owned; positions grouped by term, toks_cap entries */
    /* the walk in progress */
    struct seg_analysis *an;
    uint8_t field;
    uint32_t len;
    uint32_t next_pos;       /* SEG_TEXT_ARRAY: where the next string's tokens start */
    struct sd_buf unescaped; /* SEG_TEXT_ARRAY: the string being walked */
};

/* ---- lifetimes ---- */

int seg_analyzer_new(struct stem_ctx *stem, struct seg_analyzer **out, struct sd_error *err)
{
    struct seg_analyzer *a = calloc(1, sizeof *a);
    if (a) {
        a->slots = calloc(AN_INITIAL_SLOTS, sizeof *a->slots);
    }
    if (!a || !a->slots) {
        free(a);
        return sd_errorf(err, SD_ENOMEM, "seg_analyzer_new: out of memory");
    }
    a->stem = stem;
    sd_buf_init(&a->unescaped);
    a->nslots = AN_INITIAL_SLOTS;
    a->gen = 1;
    *out = a;
    return SD_OK;
}

void seg_analyzer_free(struct seg_analyzer *a)
{
    if (!a) {
        return;
    }
    free(a->slots);
    sd_buf_free(&a->unescaped);
    free(a->toks);
    free(a->sorted);
    free(a);
}

int seg_analysis_new(struct seg_analysis **out, struct sd_error *err)
{
    struct seg_analysis *an = calloc(1, sizeof *an);
    if (!an) {
        return sd_errorf(err, SD_ENOMEM, "seg_analysis_new: out of memory");
    }
    sd_buf_init(&an->text);
    sd_buf_init(&an->pos);
    sd_buf_init(&an->record);
    sd_buf_init(&an->chunks);
    *out = an;
    return SD_OK;
}

void seg_analysis_free(struct seg_analysis *an)
{
    if (!an) {
        return;
    }
    sd_buf_free(&an->text);
    sd_buf_free(&an->pos);
    sd_buf_free(&an->record);
    sd_buf_free(&an->chunks);
    free(an->terms);
    free(an);
}

size_t seg_analysis_mem_bytes(const struct seg_analysis *an)
{
    return sizeof *an + an->text.cap + an->pos.cap + an->record.cap + an->chunks.cap +
           an->terms_cap * sizeof *an->terms;
}

static void analysis_reset(struct seg_analysis *an)
{
    sd_buf_reset(&an->text);
    sd_buf_reset(&an->pos);
    sd_buf_reset(&an->record);
    sd_buf_reset(&an->chunks);
    an->nterms = 0;
    an->nfields = 0;
    an->id_len = 0;
}

/* ---- checks that need no builder ---- */

static int check_field(const struct seg_field *f, size_t i, struct sd_error *err)
{
    if (f->name_len == 0 || f->name_len > SEG_MAX_NAME || !f->name) {
        return sd_errorf(err, SD_EINVAL, "field %zu: name must be 1 to %d bytes", i, SEG_MAX_NAME);
    }
    if (memchr(f->name, 0, f->name_len)) {
        return sd_errorf(err, SD_EINVAL, "field %zu: name contains a NUL byte", i);
    }
    if (f->type > SEG_TEXT_ARRAY) {
        return sd_errorf(err, SD_EINVAL, "field %.*s: unknown value type %u", (int)f->name_len,
                         f->name, f->type);
    }
    if (!f->value && f->value_len > 0) {
        return sd_errorf(err, SD_EINVAL, "field %.*s: no value", (int)f->name_len, f->name);
    }
    return SD_OK;
}

static int check_doc(const struct seg_doc *doc, struct sd_error *err)
{
    if (!doc->id || doc->id_len == 0 || doc->id_len > SEG_MAX_ID) {
        return sd_errorf(err, SD_EINVAL, "document id must be 1 to %d bytes", SEG_MAX_ID);
    }
    if (doc->nfields > SEG_MAX_FIELDS) {
        return sd_errorf(err, SD_ELIMIT, "document %.*s: %zu fields, at most %d allowed",
                         (int)doc->id_len, doc->id, doc->nfields, SEG_MAX_FIELDS);
    }
    if (doc->nfields > 0 && !doc->fields) {
        return sd_errorf(err, SD_EINVAL, "document %.*s: no fields array", (int)doc->id_len,
                         doc->id);
    }
    for (size_t i = 0; i < doc->nfields; i++) {
        const struct seg_field *f = &doc->fields[i];
        int rc = check_field(f, i, err);
        if (rc) {
            return rc;
        }
        for (size_t j = 0; j < i; j++) {
            const struct seg_field *g = &doc->fields[j];
            if (g->name_len == f->name_len && memcmp(g->name, f->name, f->name_len) == 0) {
                return sd_errorf(err, SD_EINVAL, "duplicate field %.*s", (int)f->name_len, f->name);
            }
        }
    }
    return SD_OK;
}

/* ---- the stored record and the names ---- */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Encodes the record with field i's id byte = i, noting where each id and value lies.
 * SD_ELIMIT past SEG_STORED_MAX_RAW bytes, checked before a value is copied. */
static int encode_record(struct seg_analysis *an, const struct seg_doc *doc)
{
    struct sd_buf *r = &an->record;
    sd_buf_put_varint(r, doc->nfields);
    for (size_t i = 0; i < doc->nfields; i++) {
        const struct seg_field *f = &doc->fields[i];
        if (f->value_len > SEG_STORED_MAX_RAW ||
            r->len + 2 + varint_len(f->value_len) + f->value_len > SEG_STORED_MAX_RAW) {
            return SD_ELIMIT;
        }
        struct seg_an_field *af = &an->fields[i];
        af->fid_at = (uint32_t)r->len;
        sd_buf_put_u8(r, (uint8_t)i);
        sd_buf_put_u8(r, f->type);
        sd_buf_put_varint(r, f->value_len);
        af->value_at = (uint32_t)r->len;
        af->value_len = (uint32_t)f->value_len;
        sd_buf_put(r, f->value, f->value_len);
    }
    return r->rc;
}

static int copy_names(struct seg_analysis *an, const struct seg_doc *doc)
{
    sd_buf_put(&an->text, doc->id, doc->id_len);
    an->id_len = (uint32_t)doc->id_len;
    for (size_t i = 0; i < doc->nfields; i++) {
        const struct seg_field *f = &doc->fields[i];
        struct seg_an_field *af = &an->fields[i];
        af->name_off = (uint32_t)an->text.len;
        af->name_len = (uint8_t)f->name_len;
        af->type = f->type;
        af->len = 0;
        sd_buf_put(&an->text, f->name, f->name_len);
    }
    an->nfields = doc->nfields;
    return an->text.rc;
}

/* ---- the walk: distinct words and the token log ---- */

static size_t slot_of(uint64_t hash, uint8_t field, size_t mask)
{
    return (size_t)(hash + field * 0x9E3779B97F4A7C15ull) & mask;
}

static int grow_slots(struct seg_analyzer *a)
{
    size_t n = a->nslots * 2;
    struct seg_an_slot *slots = calloc(n, sizeof *slots);
    if (!slots) {
        return SD_ENOMEM;
    }
    free(a->slots);
    a->slots = slots;
    a->nslots = n;
    a->gen = 1;
    const struct seg_analysis *an = a->an;
    for (size_t t = 0; t < an->nterms; t++) {
        size_t i = slot_of(an->terms[t].hash, an->terms[t].field, n - 1);
        while (slots[i].gen == a->gen) {
            i = (i + 1) & (n - 1);
        }
        slots[i] = (struct seg_an_slot){a->gen, (uint32_t)t};
    }
    return SD_OK;
}

/* Adds the word as a new term of the current field at slot i. */
static int new_term(struct seg_analyzer *a, const char *word, size_t len, uint64_t h, size_t i)
{
    struct seg_analysis *an = a->an;
    struct seg_an_term *grown =
        sd_grow(an->terms, &an->terms_cap, an->nterms + 1, sizeof *grown, 256);
    if (!grown) {
        return SD_ENOMEM;
    }
    an->terms = grown;
    if (an->text.len > AN_TEXT_MAX - len) {
        return SD_ELIMIT;
    }
    struct seg_an_term *t = &an->terms[an->nterms];
    memset(t, 0, sizeof *t);
    t->hash = h;
    t->word_off = (uint32_t)an->text.len;
    t->word_len = (uint8_t)len;
    t->field = a->field;
    sd_buf_put(&an->text, word, len);
    if (an->text.rc) {
        return an->text.rc;
    }
    a->slots[i] = (struct seg_an_slot){a->gen, (uint32_t)an->nterms++};
    if (an->nterms > a->nslots / 2) {
        return grow_slots(a);
    }
    return SD_OK;
}

/* memcmp(a, b, len) == 0 for the short words of one document, without the library call
 * (which was a tenth of the analysis time: nearly every token compares equal to its term). */
static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t len)
{
    for (; len >= 8; a += 8, b += 8, len -= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) {
            return false;
        }
    }
    for (; len > 0; len--) {
        if (*a++ != *b++) {
            return false;
        }
    }
    return true;
}

/* The index of the current field's term for word, created on first sight; -1 on error
 * (*rc says which). */
static int64_t term_index(struct seg_analyzer *a, const char *word, size_t len, int *rc)
{
    const struct seg_analysis *an = a->an;
    uint64_t h = XXH3_64bits(word, len);
    size_t mask = a->nslots - 1;
    size_t i = slot_of(h, a->field, mask);
    for (; a->slots[i].gen == a->gen; i = (i + 1) & mask) {
        const struct seg_an_term *t = &an->terms[a->slots[i].term];
        if (t->hash == h && t->field == a->field && t->word_len == len &&
            same_bytes(an->text.data + t->word_off, (const uint8_t *)word, len)) {
            return a->slots[i].term;
        }
    }
    int64_t idx = (int64_t)an->nterms;
    *rc = new_term(a, word, len, h, i);
    return *rc ? -1 : idx;
}

static int log_token(struct seg_analyzer *a, uint32_t term, uint32_t pos)
{
    if (a->ntoks == a->toks_cap) {
        size_t cap = a->toks_cap ? a->toks_cap * 2 : 4096;
        struct seg_an_tok *t = realloc(a->toks, cap * sizeof *t);
        if (!t) {
            return SD_ENOMEM;
        }
        a->toks = t;
        uint32_t *s = realloc(a->sorted, cap * sizeof *s);
        if (!s) {
            return SD_ENOMEM; /* toks grew: harmless, toks_cap stays the smaller size */
        }
        a->sorted = s;
        a->toks_cap = cap;
    }
    a->toks[a->ntoks++] = (struct seg_an_tok){term, pos};
    return SD_OK;
}

static int on_token(void *arg, const struct stem_token *tok)
{
    struct seg_analyzer *a = arg;
    if (!tok->is_compound) {
        a->len++;
    }
    if (tok->word_len == 0 || tok->word_len > STEM_MAX_TOKEN) {
        return SD_OK; /* the tokenizer's own limit */
    }
    int rc = SD_OK;
    int64_t t = term_index(a, tok->word, tok->word_len, &rc);
    if (t < 0) {
        return rc;
    }
    a->an->terms[t].tf++;
    return log_token(a, (uint32_t)t, tok->pos);
}

/* One string of a SEG_TEXT_ARRAY field: its tokens follow the previous string's after a gap
 * of one position (seg_textarr.c unescaped it). */
static int walk_array_string(void *arg, const char *s, size_t len)
{
    struct seg_analyzer *a = arg;
    uint32_t next = 0;
    int rc = stem_tokenize_words(a->stem, s, len, a->next_pos, on_token, a, &next);
    a->next_pos = next + 1;
    return rc == 0 ? SD_OK : rc == SD_ELIMIT ? SD_ELIMIT : SD_ENOMEM;
}

static int walk_fields(struct seg_analyzer *a, const struct seg_doc *doc)
{
    for (size_t i = 0; i < doc->nfields; i++) {
        const struct seg_field *f = &doc->fields[i];
        if (f->type == SEG_RAW) {
            continue;
        }
        a->field = (uint8_t)i;
        a->len = 0;
        int rc;
        if (f->type == SEG_TEXT_ARRAY) {
            a->next_pos = 0;
            rc = seg_text_array_each(f->value ? f->value : "", f->value_len, &a->unescaped,
                                     walk_array_string, a);
            if (rc == SD_EINVAL) {
                return SD_EINVAL;
            }
        } else {
            rc = stem_tokenize_words(a->stem, f->value ? f->value : "", f->value_len, 0, on_token,
                                     a, NULL);
        }
        if (rc != 0) {
            return rc == SD_ELIMIT ? SD_ELIMIT : SD_ENOMEM;
        }
        a->an->fields[i].len = a->len;
    }
    return SD_OK;
}

/* ---- once per distinct word: stems and positions ---- */

static int stem_terms(struct seg_analyzer *a)
{
    struct seg_analysis *an = a->an;
    for (size_t i = 0; i < an->nterms; i++) {
        struct seg_an_term *t = &an->terms[i];
        const char *stem;
        size_t len;
        if (stem_word(a->stem, (const char *)an->text.data + t->word_off, t->word_len, &stem,
                      &len) != STEM_OK) {
            return SD_ENOMEM; /* the word is 1..STEM_MAX_TOKEN bytes: only ENOMEM is left */
        }
        if (len == 0 || len > STEM_MAX_TOKEN) {
            continue; /* no stem term, as the token-at-a-time builder skipped it */
        }
        if (len == t->word_len && memcmp(stem, an->text.data + t->word_off, len) == 0) {
            t->stem_off = t->word_off; /* unstemmed words and stems that are the word */
            t->stem_hash = t->hash;
        } else {
            if (an->text.len > AN_TEXT_MAX - len) {
                return SD_ELIMIT;
            }
            t->stem_off = (uint32_t)an->text.len;
            t->stem_hash = XXH3_64bits(stem, len);
            sd_buf_put(&an->text, stem, len);
        }
        t->stem_len = (uint8_t)len;
    }
    return an->text.rc;
}

/* Groups the token log by term (counting sort: each term's run starts at the sum of the
 * tfs before it) and encodes each run as varint deltas. Position clamping keeps deltas >= 0
 * as the old per-token builder did; within a field positions never go backwards anyway. */
static int encode_positions(struct seg_analyzer *a)
{
    struct seg_analysis *an = a->an;
    if (a->ntoks == 0) {
        return SD_OK; /* no terms either */
    }
    if (a->ntoks > AN_TEXT_MAX / 5) {
        return SD_ELIMIT;
    }
    if (sd_buf_reserve(&an->pos, a->ntoks * 5) != SD_OK) {
        return SD_ENOMEM;
    }
    uint32_t start = 0;
    for (size_t i = 0; i < an->nterms; i++) {
        an->terms[i].pos_off = start; /* for now: the next free index of its run */
        start += an->terms[i].tf;
    }
    for (size_t k = 0; k < a->ntoks; k++) {
        a->sorted[an->terms[a->toks[k].term].pos_off++] = a->toks[k].pos;
    }
    uint8_t *p = an->pos.data + an->pos.len;
    const uint32_t *run = a->sorted;
    for (size_t i = 0; i < an->nterms; i++) {
        struct seg_an_term *t = &an->terms[i];
        uint8_t *begin = p;
        uint32_t last = 0;
        for (uint32_t k = 0; k < t->tf; k++) {
            uint32_t pos = run[k] < last ? last : run[k];
            p += sd_varint_encode(p, pos - last);
            last = pos;
        }
        run += t->tf;
        t->pos_off = (uint32_t)(begin - an->pos.data);
        t->pos_len = (uint32_t)(p - begin);
    }
    an->pos.len = (size_t)(p - an->pos.data);
    return SD_OK;
}

/* ---- the entry point ---- */

static void next_generation(struct seg_analyzer *a)
{
    a->ntoks = 0;
    if (++a->gen == 0) { /* wrapped: stale slots could look current */
        memset(a->slots, 0, a->nslots * sizeof *a->slots);
        a->gen = 1;
    }
}

int seg_analyze(struct seg_analyzer *a, const struct seg_doc *doc, struct seg_analysis *out,
                struct sd_error *err)
{
    analysis_reset(out);
    int rc = check_doc(doc, err);
    if (rc) {
        return rc;
    }
    next_generation(a);
    a->an = out;
    rc = copy_names(out, doc);
    if (rc == SD_OK) {
        rc = encode_record(out, doc);
    }
    if (rc == SD_OK && out->record.len > SEG_STORED_BLOCK_TARGET) {
        rc = seg_chunk_summarize(a->stem, out->record.data, out->record.len, &out->chunks);
    }
    if (rc == SD_OK) {
        rc = walk_fields(a, doc);
    }
    if (rc == SD_OK) {
        rc = stem_terms(a);
    }
    if (rc == SD_OK) {
        rc = encode_positions(a);
    }
    a->an = NULL;
    if (rc) {
        analysis_reset(out);
        return sd_errorf(err, rc, "document %.*s: %s", (int)doc->id_len, doc->id,
                         rc == SD_ELIMIT   ? "stored document too large"
                         : rc == SD_EINVAL ? "a text array is not a JSON array of strings"
                                           : "out of memory");
    }
    return SD_OK;
}
