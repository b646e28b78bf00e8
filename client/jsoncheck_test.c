/*
 * jsoncheck_test.c: the check of a document's JSON (jsoncheck.c). Every kind of text that
 * json-c takes and searchd refuses (docs/PROTOCOL.md "Input edge cases") is refused here, at its
 * byte, with searchd's reason; what searchd takes passes, at every boundary (the integer range
 * ends, a surrogate pair, 30 levels, raw control characters in a string); and json-c's own
 * output of random documents always passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_int.h"

static void expect_ok(const char *text)
{
    struct cli_json_fault f = {0};
    if (!cli_json_check(text, strlen(text), &f)) {
        fail_msg("%s: refused at %zu: %s", text, f.at, f.why);
    }
}

/* Refused at byte at (from 0) with a reason containing why. */
static void expect_fault(const char *text, size_t at, const char *why)
{
    struct cli_json_fault f = {0};
    if (cli_json_check(text, strlen(text), &f)) {
        fail_msg("%s: passed", text);
    }
    if (f.at != at || !strstr(f.why, why)) {
        fail_msg("%s: refused at %zu: %s (want at %zu: %s)", text, f.at, f.why, at, why);
    }
}

static void test_jsoncheck_what_searchd_takes_passes(void **state)
{
    (void)state;
    expect_ok("{\"id\":\"a1\",\"title\":\"Цифровая дипломатия\",\"n\":0,\"m\":-0,\"f\":1.5e-3}");
    expect_ok("  {\"a\":[1,2.0,-3E+2,true,false,null,{},[]],\"b\":{\"a\":1}}  \r\n");
    expect_ok("{\"max\":18446744073709551615,\"min\":-9223372036854775808}");
    expect_ok("{\"big\":1.7976931348623157e308,\"tiny\":1e-999}");
    expect_ok("{\"e\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041 \\ud83d\\ude00 \\u0000\"}");
    expect_ok("{\"raw\":\"a\tb\x01\"}"); /* raw control characters: searchd takes them */
    expect_ok("{\"a\":1,\"A\":2,\"a \":3,\"\\u00e9\":4,\"é \":5}"); /* all different */
    /* a key is unique in its own object: the same key in others, nested or not, is fine */
    expect_ok("{\"a\":{\"x\":1},\"b\":{\"x\":1},\"x\":[{\"x\":1},{\"x\":2}]}");
    char deep[128] = "{\"v\":";
    for (int i = 1; i < CLI_JSON_MAX_DEPTH; i++) {
        strcat(deep, "[");
    }
    for (int i = 1; i < CLI_JSON_MAX_DEPTH; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}");
    expect_ok(deep); /* 30 levels */
}

static void test_jsoncheck_numbers_json_c_takes_are_refused(void **state)
{
    (void)state;
    expect_fault("{\"n\":01}", 5, "malformed number (a leading zero)");
    expect_fault("{\"n\":-00}", 5, "a leading zero");
    expect_fault("{\"n\":1.}", 5, "no digit after the point");
    expect_fault("{\"n\":1.e5}", 5, "no digit after the point");
    expect_fault("{\"n\":1e}", 5, "an exponent without digits");
    expect_fault("{\"n\":-}", 5, "no digit after the sign");
    expect_fault("{\"n\":18446744073709551616}", 5, "integer out of range");
    expect_fault("{\"n\":-9223372036854775809}", 5, "integer out of range");
    expect_fault("{\"n\":99999999999999999999999}", 5, "integer out of range");
    expect_fault("{\"n\":1e999}", 5, "past a double's range");
    expect_fault("{\"n\":-1.5e400}", 5, "past a double's range");
    expect_fault("{\"n\":NaN}", 5, "NaN and Infinity are not JSON");
    expect_fault("{\"n\":-Infinity}", 5, "NaN and Infinity are not JSON");
    expect_fault("{\"n\":.5}", 5, "unexpected character");
}

static void test_jsoncheck_escapes_keys_and_literals_json_c_takes_are_refused(void **state)
{
    (void)state;
    expect_fault("{\"t\":\"\\ud800\"}", 6, "\\ud800 is a high surrogate without a low one");
    expect_fault("{\"t\":\"x\\ud800\\u0041\"}", 7, "high surrogate without a low one");
    expect_fault("{\"t\":\"\\udc00\\ud800\"}", 6, "\\udc00 is a lone low surrogate");
    expect_fault("{\"a\\u0000b\":1}", 1, "a key holds \\u0000 (NUL)");
    expect_fault("{\"id\":\"a\",\"id\":\"b\"}", 10, "key 'id' given twice");
    expect_fault("{\"\":1,\"\":2}", 6, "key '' given twice"); /* UBSan: NULL + 0 (fuzz) */
    expect_fault("{\"q\":1,\"\\u0071\":2}", 7, "key 'q' given twice");
    expect_fault("{\"o\":{\"k\":1,\"j\":2,\"k\":3}}", 18, "key 'k' given twice");
    expect_fault("{\"t\":tRue}", 5, "unexpected character");
    expect_fault("{\"t\":nul}", 5, "unexpected character");
    expect_fault("{\"a\":1,}", 7, "expected a key");
    expect_fault("[1,]", 3, "unexpected character");
    expect_fault("{\"a\":1}x", 7, "text after the JSON value");
    expect_fault("{\"a\":\"b}", 5, "without its closing quote");
    expect_fault("{\"a\":\"\\x\"}", 6, "malformed escape");
    expect_fault("{\"a\":\"\\u12G4\"}", 6, "malformed \\u escape");
    expect_fault("{\"a\":\"\xff\"}", 6, "not valid UTF-8");
    expect_fault("{\"a\" 1}", 5, "expected ':'");
    expect_fault("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'");
    expect_fault("", 0, "ends where a value should be");
    /* a raw NUL byte: searchd reads the text as ending there (fuzz_jsoncheck found it) */
    struct cli_json_fault f;
    assert_false(cli_json_check("{\"t\":\"a\0b\"}", 11, &f));
    assert_int_equal(f.at, 7);
    assert_non_null(strstr(f.why, "a NUL byte in a string"));
    assert_false(cli_json_check("{\"t\":1}\0", 8, &f));
    assert_int_equal(f.at, 7);
    char deep[128] = "{\"v\":";
    for (int i = 0; i < CLI_JSON_MAX_DEPTH; i++) {
        strcat(deep, "[");
    }
    expect_fault(deep, 5 + CLI_JSON_MAX_DEPTH - 1, "nested deeper than 30 levels");
}

/* A random value of json-c's making, depth levels at most. */
static struct json_object *random_value(unsigned *seed, int depth)
{
    int kind = rand_r(seed) % (depth > 0 ? 7 : 5);
    if (kind == 0) {
        return json_object_new_int64((int64_t)rand_r(seed) * (rand_r(seed) % 2 ? -1 : 1) *
                                     (int64_t)rand_r(seed));
    }
    if (kind == 1) {
        return json_object_new_double((double)rand_r(seed) / 7.0 * (rand_r(seed) % 2 ? 1e200 : 1));
    }
    if (kind == 2) {
        static const char *const texts[] = {"", "a\"b\\c/d", "Цифровая\n\t\x01", "😀 e\xcc\x81"};
        return json_object_new_string(texts[rand_r(seed) % 4]);
    }
    if (kind == 3) {
        return json_object_new_boolean(rand_r(seed) % 2);
    }
    if (kind == 4) {
        return NULL; /* null */
    }
    if (kind == 5) {
        struct json_object *a = json_object_new_array();
        for (int i = rand_r(seed) % 4; i > 0; i--) {
            json_object_array_add(a, random_value(seed, depth - 1));
        }
        return a;
    }
    struct json_object *o = json_object_new_object();
    for (int i = rand_r(seed) % 5; i > 0; i--) {
        char key[16];
        snprintf(key, sizeof key, "k%d", rand_r(seed) % 8); /* a repeat replaces: no two */
        json_object_object_add(o, key, random_value(seed, depth - 1));
    }
    return o;
}

static void test_jsoncheck_json_c_output_always_passes(void **state)
{
    (void)state;
    unsigned seed = 12;
    for (int i = 0; i < 2000; i++) {
        struct json_object *doc = json_object_new_object();
        json_object_object_add(doc, "id", json_object_new_string("x"));
        json_object_object_add(doc, "v", random_value(&seed, 6));
        const int flags[] = {JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_PRETTY,
                             JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE};
        expect_ok(json_object_to_json_string_ext(doc, flags[i % 3]));
        json_object_put(doc);
    }
}

/* Strings are read eight ASCII bytes at a time where they can be (jc_ascii_plain8): a byte that
 * stops such a run is found at every position of a long string, and a key read in runs keeps
 * all its bytes (the same key spelt with an escape is still the same key). */
static void test_jsoncheck_strings_read_in_runs_miss_no_byte(void **state)
{
    (void)state;
    const char filler[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";
    for (size_t at = 0; at < sizeof filler - 1; at++) {
        char value[64], text[160];
        struct cli_json_fault f = {0};
        const char prefix[] = "{\"id\":\"";
        size_t off = strlen(prefix) + at; /* where the byte stands in text */
        const unsigned char stops[] = {'\0', 0xFF, 0x80, 0xC0};
        for (size_t k = 0; k < sizeof stops; k++) {
            memcpy(value, filler, sizeof filler);
            value[at] = (char)stops[k];
            int n = snprintf(text, sizeof text, "%s", prefix);
            memcpy(text + n, value, sizeof filler - 1);
            memcpy(text + n + sizeof filler - 1, "\"}", 3);
            size_t len = (size_t)n + sizeof filler - 1 + 2;
            assert_false(cli_json_check(text, len, &f));
            assert_int_equal(f.at, off);
            assert_non_null(strstr(f.why, stops[k] ? "not valid UTF-8" : "NUL byte"));
        }
        char ok[160]; /* a Cyrillic letter, an escaped quote there: still one valid string */
        snprintf(ok, sizeof ok, "{\"id\":\"%.*s\u0416\\\"%s\"}", (int)at, filler, filler + at);
        expect_ok(ok);
        char dup[256]; /* the same key twice, the second time with its letter at `at` escaped */
        snprintf(dup, sizeof dup, "{\"%s\":1,\"%.*s\\u00%02x%s\":2}", filler, (int)at, filler,
                 (unsigned)filler[at], filler + at + 1);
        expect_fault(dup, strlen(filler) + 6, "given twice");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsoncheck_what_searchd_takes_passes),
        cmocka_unit_test(test_jsoncheck_numbers_json_c_takes_are_refused),
        cmocka_unit_test(test_jsoncheck_escapes_keys_and_literals_json_c_takes_are_refused),
        cmocka_unit_test(test_jsoncheck_json_c_output_always_passes),
        cmocka_unit_test(test_jsoncheck_strings_read_in_runs_miss_no_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
