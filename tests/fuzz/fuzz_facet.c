/*
 * fuzz_facet.c: the facet-spec parser (qry_facets_parse: "lang:size=5", "year:interval=10",
 * "date:interval=month", "price:ranges=..2.5|2.5..", "tags:values=a|b", options joined by
 * ';'), over a schema with every attribute type (fuzz_attr.h). The input is split at '\n'
 * into specs, as the daemon hands over the pieces of the `facets` list (at most 20 specs, so
 * the limit of QRY_MAX_FACETS is crossed too); each spec is a NUL-terminated copy, as the
 * daemon's are. Specs that parse are counted over the small attribute segment (facet_count.c,
 * facet_label.c); errors are fine, crashes, leaks and undefined behaviour are findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_attr.h"

#define FUZZ_MAX_SPECS 20

static struct qry_ctx *g_ctx;

/* Splits data[0, size) at '\n' into at most FUZZ_MAX_SPECS owned NUL-terminated copies (the
 * rest of the input joins the last one); returns the count. */
static size_t split_specs(const uint8_t *data, size_t size, char **specs)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < FUZZ_MAX_SPECS; i++) {
        if (i < size && (data[i] != '\n' || n == FUZZ_MAX_SPECS - 1)) {
            continue;
        }
        size_t len = i - start;
        specs[n] = malloc(len + 1);
        if (!specs[n]) {
            abort();
        }
        memcpy(specs[n], data + start, len);
        specs[n][len] = '\0';
        n++;
        start = i + 1;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_attr_setup();
    if (!g_ctx && qry_ctx_new(&g_ctx)) {
        abort();
    }
    char *specs[FUZZ_MAX_SPECS];
    size_t n = split_specs(data, size, specs);
    struct qry_facets *facets = NULL;
    struct sd_error err = {0};
    if (qry_facets_parse((const char *const *)specs, n, fuzz_attr_schema_, &facets, &err) ==
        SD_OK) {
        struct qry_params params;
        qry_params_default(&params);
        params.facets = facets;
        fuzz_attr_search(g_ctx, NULL, &params);
        qry_facets_free(facets);
    }
    for (size_t i = 0; i < n; i++) {
        free(specs[i]);
    }
    return 0;
}
