/*
 * fuzz_settings.c: the settings parser (sch_parse: the JSON of create_index and set_settings,
 * and of an index's SETTINGS file) and its canonical form (sch_encode). Settings that parse
 * are encoded; the encoding must parse again, encode to the same bytes (the canonical form is
 * a fixed point: settings are compared by these bytes) and index alike (sch_same_index), or
 * the target aborts. Errors are fine; crashes, leaks and undefined behaviour are findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

/* The canonical form of json[0, len), into out; NULL (nothing allocated) when it does not
 * parse. */
static struct sch_schema *encode(const char *json, size_t len, struct sd_buf *out)
{
    struct sch_schema *s = NULL;
    struct sd_error err = {0};
    if (sch_parse(json, len, &s, &err) != SD_OK) {
        return NULL;
    }
    sch_encode(s, out);
    if (out->rc != SD_OK) {
        abort(); /* no memory for a few kilobytes: not the input's doing */
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sd_buf once, twice;
    sd_buf_init(&once);
    sd_buf_init(&twice);
    struct sch_schema *a = encode((const char *)data, size, &once);
    if (a) {
        struct sch_schema *b = encode((const char *)once.data, once.len, &twice);
        if (!b || twice.len != once.len || memcmp(twice.data, once.data, once.len) != 0 ||
            !sch_same_index(a, b)) {
            abort(); /* the canonical form is not canonical */
        }
        sch_free(b);
    }
    sch_free(a);
    sd_buf_free(&once);
    sd_buf_free(&twice);
    return 0;
}
