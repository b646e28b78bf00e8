/*
 * ctx.c: the per-thread query context. It owns the thread's stemmer (Snowball
 * stemmers are not thread-safe) and all the scratch arrays a search uses, so
 * a worker that keeps one context allocates only while its arrays still grow.
 */
#include <stdlib.h>

#include "eval_int.h"

int qry_ctx_new(struct qry_ctx **out)
{
    struct qry_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        return SD_ENOMEM;
    }
    ctx->scratch = calloc(1, sizeof *ctx->scratch);
    if (!ctx->scratch) {
        goto out_free;
    }
    if (stem_ctx_new(&ctx->stem) != STEM_OK) {
        goto out_scratch;
    }
    *out = ctx;
    return SD_OK;
out_scratch:
    free(ctx->scratch);
out_free:
    free(ctx);
    return SD_ENOMEM;
}

void qry_ctx_set_exhaustive(struct qry_ctx *ctx, bool is_exhaustive)
{
    ctx->scratch->is_exhaustive = is_exhaustive;
}

void qry_ctx_free(struct qry_ctx *ctx)
{
    if (!ctx) {
        return;
    }
    struct qry_scratch *s = ctx->scratch;
    struct qry_vec *vecs[] = {&s->gfields,   &s->field_map, &s->map_off, &s->scope, &s->sterms,
                              &s->prefix,    &s->pool,      &s->cand,    &s->dfs,   &s->found,
                              &s->nodes,     &s->posts,     &s->kids,    &s->norms, &s->heap,
                              &s->typo_best, &s->fleaves,   &s->conj,    &s->sorted,
                              &s->prox,      &s->prox_words, &s->prox_posts, &s->bulk,
                              &s->cand_tmp, &s->cand_entries};
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        qry_vec_free(vecs[i]);
    }
    qry_facets_acc_free(s->facet_acc, QRY_MAX_FACETS);
    qry_memo_free(&s->memo);
    free(s);
    stem_ctx_free(ctx->stem);
    free(ctx);
}
