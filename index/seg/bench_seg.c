/*
 * bench_seg.c: micro-benchmark of the postings block codec (issue 5 asks for block decode
 * speed in integers per nanosecond). Not a test: it prints numbers and asserts nothing but
 * a round trip.
 *
 * It packs 10M integers in blocks of 128 at widths drawn like real doc-id gaps (mostly small,
 * a few wide), then decodes all blocks several times and reports the best pass, both for the
 * raw unpack and for unpack + prefix sum (what seg_post.c does per block of doc ids).
 *
 * With `tails` it measures tail blocks (lists' last df % 128 docs): decoding them bit-packed
 * (format v2, seg_unpack) against varint pairs (v1), in docs per ns.
 *
 * With `index FILE... ` it also measures the inverter: the files' text is cut into documents
 * of about 1.3 KB (the corpus average of issue 5), repeated with shifted boundaries up to
 * 64 MB, and fed to a seg_builder; it prints MB/s for adding, for finishing, and for the
 * tokenizer alone (the part of the cost that is stemmer/'s).
 *
 * With `attrs` it prints what attribute columns (issue 11) cost on disk for 200k documents
 * with the bench's attributes: year = 1990 + xxh64(id) % 35, a length in bytes, a source
 * keyword (10 values); the issue asks at most 4 bytes per document for an int.
 *
 *   bench_seg [count]
 *   bench_seg tails
 *   bench_seg index FILE... [--mb N]
 *   bench_seg attrs
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

#define PASSES 7

static uint32_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*x >> 33);
}

static uint8_t *encode_all(const uint32_t *in, size_t nblocks, size_t **offs)
{
    uint8_t *out = malloc(nblocks * (1 + 16 * 32));
    *offs = malloc((nblocks + 1) * sizeof **offs);
    if (!out || !*offs) {
        exit(1);
    }
    size_t o = 0;
    for (size_t b = 0; b < nblocks; b++) {
        const uint32_t *v = in + b * SEG_BLOCK;
        unsigned bits = seg_bits_max(v, SEG_BLOCK);
        (*offs)[b] = o;
        out[o++] = (uint8_t)bits;
        (void)seg_pack(v, SEG_BLOCK, bits, out + o);
        o += 16u * bits;
    }
    (*offs)[nblocks] = o;
    return out;
}

static double decode_pass(const uint8_t *enc, const size_t *offs, size_t nblocks, uint32_t *out,
                          bool prefix_sum, uint64_t *check)
{
    uint64_t t0 = sd_now_ns();
    uint64_t sum = 0;
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *p = enc + offs[b];
        if (prefix_sum) {
            (void)seg_unpack128_gaps(p + 1, p[0], out, 0);
        } else {
            seg_unpack128(p + 1, p[0], out);
        }
        sum += out[b % SEG_BLOCK];
    }
    *check += sum;
    return (double)(sd_now_ns() - t0);
}

/* ---- the inverter ---- */

#define DOC_BYTES 1300

static int count_token(void *arg, const struct stem_token *tok)
{
    (void)tok;
    (*(size_t *)arg)++;
    return 0;
}

static int read_all(int nfiles, char **files, struct sd_buf *text)
{
    for (int i = 0; i < nfiles; i++) {
        uint8_t *data;
        size_t len;
        struct sd_error err;
        if (sd_read_file(files[i], 1u << 30, &data, &len, &err) != SD_OK) {
            fprintf(stderr, "bench_seg: %s\n", err.msg);
            return 1;
        }
        sd_buf_put(text, data, len);
        sd_buf_put_u8(text, ' ');
        free(data);
    }
    return text->len < DOC_BYTES;
}

/* Next document: [*pos, end) cut at a space near DOC_BYTES. */
static size_t next_doc(const struct sd_buf *text, size_t *pos)
{
    size_t start = *pos, end = start + DOC_BYTES;
    if (end >= text->len) {
        end = text->len;
    }
    while (end < text->len && text->data[end] != ' ') {
        end++;
    }
    *pos = end >= text->len ? (start * 7 + 13) % 997 : end; /* wrap with a new shift */
    return end - start;
}

static int bench_index(int nfiles, char **files, size_t mb)
{
    struct sd_buf text, out;
    sd_buf_init(&text);
    sd_buf_init(&out);
    struct stem_ctx *stem;
    struct seg_builder *b;
    struct sd_error err;
    if (read_all(nfiles, files, &text) || stem_ctx_new(&stem) != STEM_OK ||
        seg_builder_new(stem, &b, &err) != SD_OK) {
        return 1;
    }
    size_t pos = 0, total = 0, tokens = 0;
    uint64_t t0 = sd_now_ns();
    for (uint32_t d = 0; total < mb << 20; d++) {
        size_t start = pos, len = next_doc(&text, &pos);
        char id[32];
        struct seg_field f = {"body", 4, (const char *)text.data + start, len, SEG_TEXT};
        struct seg_doc doc = {id, (size_t)snprintf(id, sizeof id, "doc-%u", d), &f, 1};
        if (seg_builder_add(b, &doc, &err) != SD_OK) {
            fprintf(stderr, "bench_seg: %s\n", err.msg);
            return 1;
        }
        total += len;
    }
    uint64_t t1 = sd_now_ns();
    size_t mem = seg_builder_mem_bytes(b);
    uint32_t docs = seg_builder_doc_count(b);
    if (seg_builder_finish(b, &out, &err) != SD_OK) {
        fprintf(stderr, "bench_seg: %s\n", err.msg);
        return 1;
    }
    uint64_t t2 = sd_now_ns();
    for (size_t p = 0, n = 0; n < total;) { /* the tokenizer alone, same text */
        size_t start = p, len = next_doc(&text, &p);
        stem_tokenize(stem, (const char *)text.data + start, len, 0, count_token, &tokens, NULL);
        n += len;
    }
    uint64_t t3 = sd_now_ns();
    double mbytes = (double)total / (1 << 20);
    size_t img_len, inverted = 0;
    uint8_t *img = sd_buf_detach(&out, &img_len);
    struct seg *s;
    if (seg_open_mem(img, img_len, "bench", &s, &err) == SD_OK) {
        inverted = seg_postings_bytes(s);
        seg_close(s);
    }
    printf("{\"docs\":%u,\"text_mb\":%.1f,\"add_mb_s\":%.1f,\"finish_s\":%.3f,"
           "\"overall_mb_s\":%.1f,\"tokenize_only_mb_s\":%.1f,\"builder_mem_mb\":%.1f,"
           "\"segment_mb\":%.1f,\"inverted_mb\":%.1f}\n",
           docs, mbytes, mbytes / ((double)(t1 - t0) / 1e9), (double)(t2 - t1) / 1e9,
           mbytes / ((double)(t2 - t0) / 1e9), mbytes / ((double)(t3 - t2) / 1e9),
           (double)mem / (1 << 20), (double)img_len / (1 << 20), (double)inverted / (1 << 20));
    seg_builder_free(b);
    stem_ctx_free(stem);
    sd_buf_free(&text);
    sd_buf_free(&out);
    return 0;
}

static int bench_codec(size_t count)
{
    size_t nblocks = count / SEG_BLOCK;
    count = nblocks * SEG_BLOCK;
    uint32_t *in = malloc(count * sizeof *in);
    uint32_t out[SEG_BLOCK];
    if (!in || nblocks == 0) {
        return 1;
    }
    uint64_t seed = 42;
    for (size_t b = 0; b < nblocks; b++) {
        unsigned width = 1 + lcg(&seed) % 12; /* gaps of frequent and mid-frequency terms */
        for (unsigned i = 0; i < SEG_BLOCK; i++) {
            in[b * SEG_BLOCK + i] = lcg(&seed) & ((1u << width) - 1);
        }
    }
    uint64_t t0 = sd_now_ns();
    size_t *offs;
    uint8_t *enc = encode_all(in, nblocks, &offs);
    double enc_ns = (double)(sd_now_ns() - t0);
    for (size_t b = 0; b < nblocks; b++) { /* round trip */
        seg_unpack128(enc + offs[b] + 1, enc[offs[b]], out);
        if (memcmp(out, in + b * SEG_BLOCK, sizeof out) != 0) {
            fprintf(stderr, "bench_seg: block %zu does not round-trip\n", b);
            return 1;
        }
    }
    double best_raw = 1e30, best_sum = 1e30;
    uint64_t check = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        double r = decode_pass(enc, offs, nblocks, out, false, &check);
        double s = decode_pass(enc, offs, nblocks, out, true, &check);
        best_raw = r < best_raw ? r : best_raw;
        best_sum = s < best_sum ? s : best_sum;
    }
    printf("{\"codec\":\"bp128-scalar\",\"integers\":%zu,\"bytes\":%zu,"
           "\"bits_per_int\":%.2f,\"encode_int_per_ns\":%.3f,\"decode_int_per_ns\":%.3f,"
           "\"decode_prefix_sum_int_per_ns\":%.3f,\"check\":%llu}\n",
           count, offs[nblocks], 8.0 * (double)offs[nblocks] / (double)count,
           (double)count / enc_ns, (double)count / best_raw, (double)count / best_sum,
           (unsigned long long)(check % 1000));
    free(enc);
    free(offs);
    free(in);
    return 0;
}

/* ---- tail blocks ---- */

#define TAILS 200000

/* One tail of n docs decoded to doc ids as seg_post.c does: gaps, then tf - 1. */
static uint64_t decode_tail_packed(const uint8_t *p, uint32_t n, uint32_t *docs, uint32_t *tfs)
{
    seg_unpack(p + 2, n, p[0], docs);
    seg_unpack(p + 2 + seg_packed_len(n, p[0]), n, p[1], tfs);
    uint64_t next = 0;
    for (uint32_t k = 0; k < n; k++) {
        next += docs[k];
        docs[k] = (uint32_t)next++;
        tfs[k]++;
    }
    return next;
}

/* The same tail as v1 stored it: varint pairs. */
static uint64_t decode_tail_varint(const uint8_t *p, size_t len, uint32_t n, uint32_t *docs,
                                   uint32_t *tfs)
{
    struct sd_rd rd;
    sd_rd_init(&rd, p, len);
    uint64_t next = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t gap = 0, tf1 = 0;
        (void)sd_rd_varint32(&rd, &gap);
        (void)sd_rd_varint32(&rd, &tf1);
        next += gap;
        docs[k] = (uint32_t)next++;
        tfs[k] = tf1 + 1;
    }
    return next;
}

/* Tails of 2..127 docs (most short, as in a real dictionary), gaps of rare terms (wide) and
 * small tfs, encoded both ways; prints docs decoded per ns for each. */
static int bench_tails(void)
{
    struct sd_buf packed, varint;
    sd_buf_init(&packed);
    sd_buf_init(&varint);
    uint32_t *n = malloc(TAILS * sizeof *n);
    size_t *po = malloc((TAILS + 1) * sizeof *po), *vo = malloc((TAILS + 1) * sizeof *vo);
    uint64_t seed = 7, total = 0;
    for (size_t t = 0; n && po && vo && t < TAILS; t++) {
        uint32_t r = lcg(&seed) % 1000, gaps[SEG_BLOCK], tf1[SEG_BLOCK];
        n[t] = 2 + (uint32_t)((uint64_t)r * r * r * 125 / 1000000000);
        vo[t] = varint.len;
        for (uint32_t k = 0; k < n[t]; k++) {
            gaps[k] = lcg(&seed) % (1u << (4 + lcg(&seed) % 12));
            tf1[k] = lcg(&seed) % 4 == 0 ? lcg(&seed) % 8 : 0;
            sd_buf_put_varint(&varint, gaps[k]);
            sd_buf_put_varint(&varint, tf1[k]);
        }
        uint8_t buf[16 * 32];
        unsigned b1 = seg_bits_max(gaps, n[t]), b2 = seg_bits_max(tf1, n[t]);
        po[t] = packed.len;
        sd_buf_put_u8(&packed, (uint8_t)b1);
        sd_buf_put_u8(&packed, (uint8_t)b2);
        sd_buf_put(&packed, buf, seg_pack(gaps, n[t], b1, buf));
        sd_buf_put(&packed, buf, seg_pack(tf1, n[t], b2, buf));
        total += n[t];
    }
    if (!n || !po || !vo || packed.rc || varint.rc) {
        return 1;
    }
    po[TAILS] = packed.len;
    vo[TAILS] = varint.len;
    uint32_t docs[SEG_BLOCK], tfs[SEG_BLOCK], docs2[SEG_BLOCK], tfs2[SEG_BLOCK];
    for (size_t t = 0; t < TAILS; t++) { /* both forms decode alike */
        decode_tail_packed(packed.data + po[t], n[t], docs, tfs);
        decode_tail_varint(varint.data + vo[t], vo[t + 1] - vo[t], n[t], docs2, tfs2);
        if (memcmp(docs, docs2, n[t] * sizeof *docs) || memcmp(tfs, tfs2, n[t] * sizeof *tfs)) {
            fprintf(stderr, "bench_seg: tail %zu does not round-trip\n", t);
            return 1;
        }
    }
    double best_p = 1e30, best_v = 1e30;
    uint64_t check = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        uint64_t t0 = sd_now_ns();
        for (size_t t = 0; t < TAILS; t++) {
            check += decode_tail_packed(packed.data + po[t], n[t], docs, tfs);
        }
        uint64_t t1 = sd_now_ns();
        for (size_t t = 0; t < TAILS; t++) {
            check += decode_tail_varint(varint.data + vo[t], vo[t + 1] - vo[t], n[t], docs, tfs);
        }
        uint64_t t2 = sd_now_ns();
        best_p = (double)(t1 - t0) < best_p ? (double)(t1 - t0) : best_p;
        best_v = (double)(t2 - t1) < best_v ? (double)(t2 - t1) : best_v;
    }
    printf("{\"tails\":%d,\"docs\":%llu,\"packed_bytes\":%zu,\"varint_bytes\":%zu,"
           "\"packed_docs_per_ns\":%.3f,\"varint_docs_per_ns\":%.3f,\"check\":%llu}\n",
           TAILS, (unsigned long long)total, packed.len, varint.len, (double)total / best_p,
           (double)total / best_v, (unsigned long long)(check % 1000));
    free(n);
    free(po);
    free(vo);
    sd_buf_free(&packed);
    sd_buf_free(&varint);
    return 0;
}

static int bench_attrs(void)
{
    enum { N = 200000 };
    static const char *const sources[] = {"wiki", "news", "gut", "arxiv", "lenta",
                                          "habr", "rbc",  "bbc", "cnn",   "nyt"};
    struct stem_ctx *stem;
    struct seg_builder *b;
    struct seg_analyzer *a;
    struct seg_analysis *an;
    struct sd_error err;
    struct seg_attr_spec specs[] = {
        {"year", 4, SEG_ATTR_INT}, {"length", 6, SEG_ATTR_INT}, {"source", 6, SEG_ATTR_KEYWORD}};
    if (stem_ctx_new(&stem) || seg_builder_new(stem, &b, &err) ||
        seg_builder_set_attrs(b, 1, specs, 3, &err) || seg_analyzer_new(stem, &a, &err) ||
        seg_analysis_new(&an, &err)) {
        fprintf(stderr, "bench_seg attrs: setup failed\n");
        return 1;
    }
    for (unsigned k = 0; k < N; k++) {
        char id[32];
        snprintf(id, sizeof id, "%s:%u", sources[k % 10], k);
        struct seg_field f = {"body", 4, "w", 1, SEG_TEXT};
        struct seg_doc doc = {id, strlen(id), &f, 1};
        uint64_t h = seg_id_hash(id, strlen(id)); /* XXH3 here; the bench's xxh64 alike */
        int64_t year = 1990 + (int64_t)(h % 35), len = 200 + (int64_t)((h >> 20) % 60000);
        const char *src = sources[k % 10];
        size_t sl = strlen(src);
        struct seg_attr_vals v[3] = {
            {1, &year, NULL, NULL, NULL}, {1, &len, NULL, NULL, NULL}, {1, NULL, NULL, &src, &sl}};
        if (seg_analyze(a, &doc, an, &err) || seg_builder_add_analyzed_attrs(b, an, v, &err)) {
            fprintf(stderr, "bench_seg attrs: %s\n", err.msg);
            return 1;
        }
    }
    struct sd_buf out;
    sd_buf_init(&out);
    struct seg *s;
    if (seg_builder_finish(b, &out, &err) || seg_open_mem(out.data, out.len, "attrs", &s, &err)) {
        fprintf(stderr, "bench_seg attrs: %s\n", err.msg);
        return 1;
    }
    for (unsigned i = 0; i < seg_attr_count(s); i++) {
        const struct seg_attr *c = seg_attr_at(s, i);
        printf("%-7s %8zu bytes  %.3f bytes/doc\n", seg_attr_name(c), seg_attr_bytes(c),
               (double)seg_attr_bytes(c) / N);
    }
    seg_close(s);
    seg_builder_free(b);
    seg_analyzer_free(a);
    seg_analysis_free(an);
    stem_ctx_free(stem);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "attrs") == 0) {
        return bench_attrs();
    }
    if (argc > 2 && strcmp(argv[1], "index") == 0) {
        size_t mb = 64;
        if (argc > 4 && strcmp(argv[argc - 2], "--mb") == 0) {
            mb = strtoull(argv[argc - 1], NULL, 10);
            argc -= 2;
        }
        return bench_index(argc - 2, argv + 2, mb);
    }
    if (argc == 2 && strcmp(argv[1], "tails") == 0) {
        return bench_tails();
    }
    return bench_codec(argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000);
}
