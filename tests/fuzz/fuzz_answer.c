/*
 * fuzz_answer.c: searchq's reading of the daemon's answers (client/print.c): the input is an
 * answer line, parsed by json-c as searchq parses it, then printed by every printer (hits as
 * one line each and with --highlight's fragments, a document, stats, indexes, settings, a
 * snapshot). The answer comes from the network: its members may be missing, of another
 * type, or hold offsets that point anywhere, and no printer may read outside its strings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "cli_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *out;
    if (!out && !(out = fopen("/dev/null", "w"))) {
        abort();
    }
    if (size > (size_t)INT32_MAX) {
        return 0;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        abort();
    }
    struct json_object *answer = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    if (!answer) {
        return 0;
    }
    cli_print_hits(out, answer, "цифровая дипломатия", 0, false);
    cli_print_hits(out, answer, "q", 10, true);
    cli_print_doc(out, answer);
    cli_print_stats(out, answer);
    cli_print_indexes(out, answer);
    cli_print_settings(out, answer);
    cli_print_snapshot(out, answer);
    json_object_put(answer);
    return 0;
}
