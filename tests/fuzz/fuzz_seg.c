/*
 * fuzz_seg.c: opening a segment image (seg_open.c: header, footer, section table, every
 * section's bounds) and then reading all of it the way searches and `get` do: field names and
 * stats, each doc's id, title, norms and stored fields (LZ4 blocks; records in chunks through
 * a view too: chunk bounds, flags, stem filters, each chunk loaded), the id map, and every
 * term's dictionary entry, postings (blocks, skip data) and positions.
 *
 * Byte 0 is flags (bit 0: fix the XXH3 checksum the footer holds, so the structure behind it
 * is reached; without it the input only meets the checksum test); the rest is the image.
 * The walk is bounded (docs, terms, postings) so one input stays fast. A segment that opens
 * promised its bounds were checked, so nothing read from it may fail with anything but an
 * error code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "seg.h"

#define TAIL_LEN 16u /* checksum u64, footer length u32, magic: seg_write.c */
#define MAX_WALK 256u

struct walk {
    const struct seg *s;
    unsigned field;
    enum seg_kind kind;
    unsigned terms;
};

static void walk_postings(const struct seg *s, const struct seg_term *t)
{
    struct seg_postings *p = NULL;
    struct sd_error err = {0};
    unsigned flags = t->kind == SEG_EXACT ? SEG_WANT_POSITIONS : 0;
    if (seg_postings_open(s, t, flags, &p, &err) != SD_OK) {
        return;
    }
    uint32_t max_tf = 0;
    uint8_t min_norm = 0;
    seg_postings_block_bound(p, 0, &max_tf, &min_norm);
    unsigned steps = 0;
    for (uint32_t d = seg_postings_next(p); d != SEG_DOC_END && steps < MAX_WALK; steps++) {
        if (d >= seg_doc_count(s)) {
            abort(); /* a checked segment gave a doc id past its doc count */
        }
        seg_postings_freq(p);
        const uint32_t *pos = NULL;
        uint32_t count = 0;
        if (flags) {
            seg_postings_positions(p, &pos, &count);
        }
        d = (steps & 1) ? seg_postings_advance(p, d + 2) : seg_postings_next(p);
    }
    seg_postings_error(p, &err);
    seg_postings_free(p);
}

static int on_term(void *arg, const char *term, size_t len, const struct seg_term *t)
{
    struct walk *w = arg;
    struct seg_term again;
    struct sd_error err = {0};
    seg_term_find(w->s, w->field, w->kind, term, len, &again, &err);
    walk_postings(w->s, t);
    return ++w->terms >= MAX_WALK;
}

/* A record read a chunk at a time (seg_doc_view_*), each chunk tested and loaded. */
static void walk_view(const struct seg *s, uint32_t d)
{
    struct seg_doc_view v;
    struct sd_error err = {0};
    if (seg_doc_view_open(s, d, &v, &err) == SD_OK) {
        for (uint32_t i = 0; i < v.nchunks; i++) {
            size_t start, end;
            seg_doc_view_chunk(&v, i, &start, &end);
            (void)seg_doc_view_at_break(&v, i);
            if (seg_doc_view_may_hold(&v, i, sd_hash64("почт", 8)) &&
                seg_doc_view_load(&v, start, end, &err) != SD_OK) {
                break;
            }
        }
    }
    seg_doc_view_free(&v);
}

static void walk_docs(const struct seg *s)
{
    uint32_t n = seg_doc_count(s);
    for (uint32_t d = 0; d < n && d < MAX_WALK; d++) {
        const char *id, *title;
        size_t id_len, title_len;
        uint32_t found;
        struct seg_stored st;
        struct sd_error err = {0};
        seg_doc_id(s, d, &id, &id_len);
        seg_doc_find(s, id, id_len, &found);
        seg_doc_title(s, d, &title, &title_len);
        for (unsigned f = 0; f < seg_field_count(s); f++) {
            seg_field_len(s, d, f);
        }
        seg_doc_load(s, d, &st, &err);
        seg_stored_free(&st);
        walk_view(s, d);
    }
}

static void walk(const struct seg *s)
{
    struct walk w = {.s = s};
    struct sd_error err = {0};
    for (unsigned f = 0; f < seg_field_count(s); f++) {
        uint64_t total = 0;
        uint32_t docs = 0;
        const char *name = seg_field_name(s, f);
        seg_field_find(s, name, strlen(name));
        seg_field_stats(s, f, &total, &docs);
        w.field = f;
        w.kind = SEG_STEM;
        seg_term_prefix(s, f, SEG_STEM, "", 0, on_term, &w, &err);
        w.kind = SEG_EXACT;
        seg_term_prefix(s, f, SEG_EXACT, "", 0, on_term, &w, &err);
    }
    walk_docs(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t len = size - 1;
    uint8_t *image = fuzz_copy(data + 1, len);
    if ((data[0] & 1) && len >= TAIL_LEN) {
        fuzz_fix_hash(image, len - TAIL_LEN);
    }
    struct seg *s = NULL;
    struct sd_error err = {0};
    if (seg_open_mem(image, len, "fuzz", &s, &err) == SD_OK) { /* takes image */
        walk(s);
        seg_close(s);
    }
    return 0;
}
