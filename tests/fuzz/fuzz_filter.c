/*
 * fuzz_filter.c: the filter language (qry_parse_filter, the `filter` parameter) and the same
 * clauses inside a query (qry_parse_schema, `q`), over a schema with every attribute type
 * (fuzz_attr.h). The input is the text as a client sends it (any bytes: the parser must refuse
 * what is not valid UTF-8). A filter that parses is evaluated over the small attribute
 * segment as a search's filter, and a query that parses is searched, so ranges, dates,
 * keyword sets and negations reach filter_eval.c; errors are fine, crashes, leaks and
 * undefined behaviour are findings.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_attr.h"

static struct qry_ctx *g_ctx; /* lives as long as the process, as a worker's does */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_attr_setup();
    if (!g_ctx && qry_ctx_new(&g_ctx)) {
        abort();
    }
    const char *text = (const char *)data;
    struct sd_error err = {0};
    struct qry *q = NULL;
    if (qry_parse_filter(g_ctx, text, size, fuzz_attr_schema_, &q, &err) == SD_OK) {
        struct qry_params params;
        qry_params_default(&params);
        params.filter = q;
        fuzz_attr_search(g_ctx, NULL, &params);
        qry_free(q);
    }
    q = NULL;
    if (qry_parse_schema(g_ctx, text, size, fuzz_attr_schema_, &q, &err) == SD_OK) {
        struct qry_params params;
        qry_params_default(&params);
        fuzz_attr_search(g_ctx, q, &params);
        qry_free(q);
    }
    return 0;
}
