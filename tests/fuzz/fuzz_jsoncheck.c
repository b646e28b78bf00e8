/*
 * fuzz_jsoncheck.c: the check of a document's JSON before `searchq import` sends it
 * (client/jsoncheck.c): the input is the text. A fault must lie within the text and say why;
 * and the check, stricter than json-c, must never pass an object or array that json-c refuses
 * (a bare number is left out: json-c waits for more digits after one at the end).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct cli_json_fault fault = {.at = SIZE_MAX};
    bool is_ok = cli_json_check(text, size, &fault);
    if (!is_ok &&
        (fault.at > size || fault.why[0] == '\0' || !memchr(fault.why, '\0', sizeof fault.why))) {
        abort();
    }
    size_t first = 0;
    while (first < size && strchr(" \t\r\n", text[first]) && text[first] != '\0') {
        first++;
    }
    if (!is_ok || size > INT32_MAX || (text[first] != '{' && text[first] != '[')) {
        return 0;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        abort();
    }
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)size);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        abort(); /* passed here, refused by json-c */
    }
    json_object_put(obj);
    json_tokener_free(tok);
    return 0;
}
