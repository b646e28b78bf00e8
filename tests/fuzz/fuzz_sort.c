/*
 * fuzz_sort.c: the sort-spec parser (qry_sort_parse: "year:desc,title,_score:asc", at most
 * QRY_MAX_SORT_KEYS keys) over a schema with every attribute type (fuzz_attr.h). The input is
 * the `sort` text as a client sends it. A sort that parses orders a search of every document
 * of the small attribute segment (documents without a value, multi-valued keywords, ties), so
 * sort.c's comparisons run too; errors are fine, crashes, leaks and undefined behaviour are
 * findings.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_attr.h"

static struct qry_ctx *g_ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_attr_setup();
    if (!g_ctx && qry_ctx_new(&g_ctx)) {
        abort();
    }
    struct qry_sort *sort = NULL;
    struct sd_error err = {0};
    if (qry_sort_parse((const char *)data, size, fuzz_attr_schema_, &sort, &err) == SD_OK) {
        struct qry_params params;
        qry_params_default(&params);
        params.sort = sort;
        fuzz_attr_search(g_ctx, NULL, &params);
        qry_sort_free(sort);
    }
    return 0;
}
