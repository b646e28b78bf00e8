/*
 * fuzz_jsonarr.c: `searchq import` of a .json file (client/jsonarr.c): the input is the file.
 * Every text handed on must be one line (no line break: it goes into a line-protocol request)
 * and NUL-terminated at its length; and when json-c reads the whole input as an array, or as
 * one object, the texts must be its elements: json-c writes what it reads of each as it writes
 * the element.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli_int.h"

static int collect(void *arg, const char *path, uint64_t line, uint64_t ordinal, char *text,
                   size_t len)
{
    (void)path, (void)line;
    struct json_object *docs = arg;
    if (strlen(text) != len || memchr(text, '\n', len) || memchr(text, '\r', len) ||
        ordinal != json_object_array_length(docs) + 1) {
        abort();
    }
    /* (NULL, for text json-c does not read, stands in the array as null) */
    json_object_array_add(docs, json_tokener_parse(text));
    return CLI_EXIT_OK;
}

/* Equal as written (json_object_equal says NaN is not NaN). */
static bool same_json(struct json_object *a, struct json_object *b)
{
    char *text = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
    if (!text) {
        abort();
    }
    bool same = strcmp(text, json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN)) == 0;
    free(text);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = size ? fmemopen((void *)data, size, "r") : fopen("/dev/null", "r");
    struct json_object *docs = json_object_new_array();
    if (!f || !docs) {
        abort();
    }
    int rc = cli_json_each_doc_in(f, "fuzz.json", collect, docs);
    fclose(f);
    /* What json-c reads of the whole input, when it is JSON without a control character (the
     * scanner refuses one in a string) and without a byte order mark. */
    struct json_tokener *tok = json_tokener_new();
    struct json_object *whole = NULL;
    if (tok) {
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* no comments, no single quotes */
    }
    bool has_ctl_or_bom = size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0;
    for (size_t i = 0; i < size && !has_ctl_or_bom; i++) {
        has_ctl_or_bom = data[i] < 0x20 && data[i] != ' ' && data[i] != '\n' && data[i] != '\r' &&
                         data[i] != '\t';
    }
    if (tok && size <= (size_t)INT32_MAX && !has_ctl_or_bom && !memchr(data, 0, size)) {
        whole = json_tokener_parse_ex(tok, (const char *)data, (int)size);
        if (whole && json_tokener_get_parse_end(tok) != size) {
            json_object_put(whole); /* (text after it, or a number json-c waits on) */
            whole = NULL;
        }
    }
    json_tokener_free(tok);
    if (rc == CLI_EXIT_OK && whole && json_object_is_type(whole, json_type_object)) {
        if (json_object_array_length(docs) != 1 ||
            !same_json(whole, json_object_array_get_idx(docs, 0))) {
            abort();
        }
    } else if (rc == CLI_EXIT_OK && whole && json_object_is_type(whole, json_type_array)) {
        if (!same_json(whole, docs)) {
            abort();
        }
    }
    json_object_put(whole);
    json_object_put(docs);
    return 0;
}
