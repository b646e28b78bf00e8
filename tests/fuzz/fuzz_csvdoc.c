/*
 * fuzz_csvdoc.c: `searchq import` of a .csv file (client/csvdoc.c): the input is the file,
 * read with declared fields of every type the reader converts to (int, float, bool, keyword).
 * Every row handed on must be a document as the import sends it: an object of at most 64
 * fields named 1 to 64 bytes, its strings valid UTF-8 without a NUL, its numbers finite, and
 * its JSON text read back by json-c as an equal document.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli_int.h"

static int check_row(void *arg, const char *path, uint64_t line, uint64_t ordinal,
                     struct json_object *doc)
{
    (void)arg, (void)path, (void)line, (void)ordinal;
    size_t bad;
    if (!json_object_is_type(doc, json_type_object) || json_object_object_length(doc) > 64) {
        abort();
    }
    json_object_object_foreach(doc, key, val)
    {
        size_t n = strlen(key);
        if (n < 1 || n > 64) {
            abort();
        }
        if (json_object_is_type(val, json_type_string)) {
            const char *s = json_object_get_string(val);
            size_t len = (size_t)json_object_get_string_len(val);
            if (len == 0 || memchr(s, '\0', len) || !cli_utf8_valid(s, len, &bad)) {
                abort();
            }
        } else if (json_object_is_type(val, json_type_double) &&
                   !isfinite(json_object_get_double(val))) {
            abort();
        }
    }
    const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    struct json_object *back = json_tokener_parse(text);
    if (!back || !json_object_equal(back, doc)) {
        abort();
    }
    json_object_put(back);
    return CLI_EXIT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct json_object *fields;
    if (!fields && !(fields = json_tokener_parse(
                         "{\"year\":{\"type\":\"int\"},\"price\":{\"type\":\"float\"},"
                         "\"open\":{\"type\":\"bool\"},\"lang\":{\"type\":\"keyword\"}}"))) {
        abort();
    }
    FILE *f = size ? fmemopen((void *)data, size, "r") : fopen("/dev/null", "r");
    if (!f) {
        abort();
    }
    cli_csv_each_doc_in(f, "fuzz.csv", fields, check_row, NULL);
    fclose(f);
    return 0;
}
