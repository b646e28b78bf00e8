/*
 * fuzz_doc.c: the document side of the index: a document whose text is the input goes
 * through the tokenizer (any bytes: invalid UTF-8, compounds, over-long words, every script),
 * analysis, the segment builder and writer; the segment is opened and each term is looked up
 * again and its postings and positions read. Then the input is tokenized as a query would be
 * (stem_tokenize) to check the two sides agree: every token of the query side must be a term
 * of the segment. Layout: the input is the body; its first 64 bytes are the title too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seg.h"

static struct stem_ctx *g_stem;

struct agree {
    const struct seg *s;
    int body;
};

/* Each token the tokenizer reports for the text was indexed, under both kinds. */
static int check_token(void *arg, const struct stem_token *t)
{
    struct agree *a = arg;
    struct seg_term term;
    struct sd_error err = {0};
    if (t->word_len > STEM_MAX_TOKEN ||
        seg_term_find(a->s, (unsigned)a->body, SEG_EXACT, t->word, t->word_len, &term, &err) !=
            SD_OK ||
        seg_term_find(a->s, (unsigned)a->body, SEG_STEM, t->stem, t->stem_len, &term, &err) !=
            SD_OK) {
        abort(); /* the query side would look for a term the document side did not index */
    }
    return 0;
}

static void read_back(const struct seg *s, const uint8_t *data, size_t size)
{
    struct agree a = {s, seg_field_find(s, "body", 4)};
    if (a.body < 0) {
        return; /* no token at all: the field has no terms */
    }
    stem_tokenize(g_stem, (const char *)data, size, 0, check_token, &a, NULL);
    struct seg_stored st;
    struct sd_error err = {0};
    if (seg_doc_load(s, 0, &st, &err) != SD_OK || st.nfields != 2 ||
        st.fields[1].value_len != size || (size && memcmp(st.fields[1].value, data, size) != 0)) {
        abort(); /* the stored body must come back byte for byte */
    }
    seg_stored_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_stem && stem_ctx_new(&g_stem)) {
        abort();
    }
    struct seg_builder *b = NULL;
    struct sd_error err = {0};
    if (seg_builder_new(g_stem, &b, &err)) {
        abort();
    }
    const char *text = (const char *)data;
    struct seg_field f[2] = {
        {"title", 5, text, size < 64 ? size : 64, SEG_TEXT},
        {"body", 4, text, size, SEG_TEXT},
    };
    struct seg_doc d = {"doc", 3, f, 2};
    struct sd_buf img;
    sd_buf_init(&img);
    if (seg_builder_add(b, &d, &err) || seg_builder_finish(b, &img, &err)) {
        abort(); /* any bytes are a valid text field */
    }
    seg_builder_free(b);
    size_t len;
    uint8_t *image = sd_buf_detach(&img, &len);
    struct seg *s = NULL;
    if (seg_open_mem(image, len, "fuzz", &s, &err) != SD_OK) {
        abort(); /* what the writer made, the reader opens */
    }
    read_back(s, data, size);
    seg_close(s);
    return 0;
}
