/*
 * fuzz_settings.c: the settings parser (sch_parse: the JSON of create_index and set_settings,
 * and of an index's SETTINGS file) and its canonical form (sch_encode). Settings that parse
 * are encoded; the encoding must parse again, encode to the same bytes (the canonical form is
 * a fixed point: settings are compared by these bytes) and index alike (sch_same_index), or
 * the target aborts. The input is also a merge patch (sch_merge_patch, set_settings with
 * "merge": true) of fixed settings, and settings that parse, merged into their own canonical
 * form, must give that form again (a patch naming only what is already so changes nothing).
 * Errors are fine; crashes, leaks and undefined behaviour are findings.
 */
#include <stdbool.h>
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

/* The canonical form of patch merged into base (nothing when either fails). */
static void merge(const char *base, size_t base_len, const uint8_t *patch, size_t len,
                  struct sd_buf *out)
{
    struct sd_buf merged;
    sd_buf_init(&merged);
    struct sd_error err = {0};
    if (sch_merge_patch(base, base_len, (const char *)patch, len, &merged, &err) == SD_OK) {
        sch_free(encode((const char *)merged.data, merged.len, out));
    }
    sd_buf_free(&merged);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char base[] = "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":2},\"year\":"
                               "{\"type\":\"int\"}},\"synonyms\":[{\"synonyms\":[\"a\",\"b\"]}]}";
    struct sd_buf once, twice, merged;
    sd_buf_init(&once);
    sd_buf_init(&twice);
    sd_buf_init(&merged);
    merge(base, sizeof base - 1, data, size, &merged);
    sd_buf_reset(&merged);
    struct sch_schema *a = encode((const char *)data, size, &once);
    if (a) {
        struct sch_schema *b = encode((const char *)once.data, once.len, &twice);
        if (!b || twice.len != once.len || memcmp(twice.data, once.data, once.len) != 0 ||
            !sch_same_index(a, b)) {
            abort(); /* the canonical form is not canonical */
        }
        sch_free(b);
        merge((const char *)once.data, once.len, data, size, &merged);
        bool may_fit = once.len + size <= SCH_MAX_SETTINGS; /* else the merge may be too long */
        if (may_fit && (merged.len != once.len || memcmp(merged.data, once.data, once.len) != 0)) {
            abort(); /* settings merged into their own canonical form changed them */
        }
    }
    sd_buf_free(&merged);
    sch_free(a);
    sd_buf_free(&once);
    sd_buf_free(&twice);
    return 0;
}
