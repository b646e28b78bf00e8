/*
 * jsonarr_test.c: the .json file scanner (jsonarr.c) against json-c. Random arrays of random
 * documents, written by json-c pretty-printed and plain, must come back element by element as
 * one-line texts that json-c reads as the same objects; and each malformed file is refused at
 * its line, with the documents before the fault handed on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_int.h"

struct collected {
    struct json_object *docs; /* an array of what json-c reads of each text */
    uint64_t lines[64];
    size_t n;
};

static int collect(void *arg, const char *path, uint64_t line, uint64_t ordinal, char *text,
                   size_t len)
{
    (void)path;
    struct collected *c = arg;
    assert_int_equal(ordinal, c->n + 1);
    assert_int_equal(strlen(text), len); /* NUL-terminated, no NUL inside */
    assert_null(memchr(text, '\n', len));
    assert_null(memchr(text, '\r', len));
    struct json_object *doc = json_tokener_parse(text);
    assert_non_null(doc);
    json_object_array_add(c->docs, doc);
    if (c->n < 64) {
        c->lines[c->n] = line;
    }
    c->n++;
    return CLI_EXIT_OK;
}

/* Scans text as a .json file into c (fresh). */
static int scan(const char *text, struct collected *c)
{
    *c = (struct collected){.docs = json_object_new_array()};
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    int rc = cli_json_each_doc_in(f, "test.json", collect, c);
    fclose(f);
    return rc;
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* A string of brackets, quotes, backslashes, commas, line breaks, tabs and UTF-8. */
static struct json_object *random_string(uint32_t *s)
{
    static const char *const parts[] = {"[",  "]", "{",     "}", "\"",   "\\",   ",", "\n",
                                        "\t", "a", "цифра", " ", "\\\"", "\x01", "/", "💡"};
    char buf[256] = "";
    size_t n = rnd(s) % 12;
    for (size_t i = 0; i < n; i++) {
        strcat(buf, parts[rnd(s) % (sizeof parts / sizeof parts[0])]);
    }
    return json_object_new_string(buf);
}

static struct json_object *random_value(uint32_t *s, int depth)
{
    switch (rnd(s) % (depth > 2 ? 4 : 6)) {
    case 0:
        return random_string(s);
    case 1:
        return json_object_new_int64((int64_t)rnd(s) - INT32_MAX);
    case 2:
        return json_object_new_boolean(rnd(s) & 1);
    case 3:
        return NULL; /* null */
    case 4: {
        struct json_object *a = json_object_new_array();
        for (uint32_t i = rnd(s) % 4; i > 0; i--) {
            json_object_array_add(a, random_value(s, depth + 1));
        }
        return a;
    }
    default: {
        struct json_object *o = json_object_new_object();
        for (uint32_t i = rnd(s) % 4; i > 0; i--) {
            char key[16];
            snprintf(key, sizeof key, "k%u]\"", rnd(s) % 100);
            json_object_object_add(o, key, random_value(s, depth + 1));
        }
        return o;
    }
    }
}

static void test_random_arrays_come_back_document_by_document(void **state)
{
    (void)state;
    uint32_t s = 12345;
    static const int flags[] = {JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_SPACED,
                                JSON_C_TO_STRING_PRETTY,
                                JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB};
    for (int round = 0; round < 400; round++) {
        struct json_object *arr = json_object_new_array();
        for (uint32_t i = rnd(&s) % 6; i > 0; i--) {
            struct json_object *doc = json_object_new_object();
            json_object_object_add(doc, "id", json_object_new_int((int)i));
            for (uint32_t k = rnd(&s) % 4; k > 0; k--) {
                char key[16];
                snprintf(key, sizeof key, "f%u", k);
                json_object_object_add(doc, key, random_value(&s, 0));
            }
            json_object_array_add(arr, doc);
        }
        const char *text = json_object_to_json_string_ext(arr, flags[round % 4]);
        struct collected c;
        assert_int_equal(scan(text, &c), CLI_EXIT_OK);
        assert_true(json_object_equal(arr, c.docs));
        json_object_put(c.docs);
        json_object_put(arr);
    }
}

static void test_pretty_file_names_the_line_each_document_begins(void **state)
{
    (void)state;
    struct collected c;
    const char *text = "\xef\xbb\xbf[\n  {\"id\": 1,\n   \"body\": \"a ] } , [ \\\" b\"},\n\n"
                       "  {\"id\": 2, \"tags\": [\"x\", {\"y\": []}]}\n]\n";
    assert_int_equal(scan(text, &c), CLI_EXIT_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.lines[0], 2);
    assert_int_equal(c.lines[1], 5);
    struct json_object *body = NULL;
    assert_true(json_object_object_get_ex(json_object_array_get_idx(c.docs, 0), "body", &body));
    assert_string_equal(json_object_get_string(body), "a ] } , [ \" b");
    json_object_put(c.docs);
    /* one document alone, and files with none */
    assert_int_equal(scan(" {\"id\": \"solo\",\n \"n\": [1, 2]}\n", &c), CLI_EXIT_OK);
    assert_int_equal(c.n, 1);
    json_object_put(c.docs);
    static const char *const empty[] = {"", " \n", "[]", "[\n]\n"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        assert_int_equal(scan(empty[i], &c), CLI_EXIT_OK);
        assert_int_equal(c.n, 0);
        json_object_put(c.docs);
    }
}

static void test_malformed_files_stop_after_the_documents_before(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t docs_before;
    } bad[] = {
        {"[{\"id\":1},]", 1},                 /* a trailing comma */
        {"[{\"id\":1},,{\"id\":2}]", 1},      /* two commas */
        {"[,{\"id\":1}]", 0},                 /* a comma first */
        {"[{\"id\":1} {\"id\":2}]", 1},       /* no comma */
        {"[{\"id\":1}", 1},                   /* no closing bracket */
        {"[{\"id\":1", 0},                    /* cut inside a document */
        {"{\"id\":1", 0},                     /* the single document cut */
        {"[{\"id\":1}] x", 1},                /* text after the array */
        {"{\"id\":1} {\"id\":2}", 1},         /* two documents without an array */
        {"\"id\"", 0},                        /* neither an array nor an object */
        {"[{\"id\":1},{\"b\":\"a\nb\"}]", 1}, /* a raw line break inside a string */
        {"[{\"id\":1},{\"b\":\"a\tb\"}]", 1}, /* a raw tab inside a string */
        {"[{\"id\":1},{\"b\":1\x01}]", 1},    /* a control character outside one */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct collected c;
        int rc = scan(bad[i].text, &c);
        assert_int_equal(rc, CLI_EXIT_ERROR);
        assert_int_equal(c.n, bad[i].docs_before);
        json_object_put(c.docs);
    }
}

static int stop_at_second(void *arg, const char *path, uint64_t line, uint64_t ordinal, char *text,
                          size_t len)
{
    (void)path, (void)line, (void)text, (void)len;
    *(uint64_t *)arg = ordinal;
    return ordinal == 2 ? CLI_EXIT_CONNECT : CLI_EXIT_OK;
}

static void test_callback_failure_stops_the_reading(void **state)
{
    (void)state;
    const char *text = "[{\"id\":1},{\"id\":2},{\"id\":3}]";
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    uint64_t last = 0;
    assert_int_equal(cli_json_each_doc_in(f, "t.json", stop_at_second, &last), CLI_EXIT_CONNECT);
    assert_int_equal(last, 2);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_arrays_come_back_document_by_document),
        cmocka_unit_test(test_pretty_file_names_the_line_each_document_begins),
        cmocka_unit_test(test_malformed_files_stop_after_the_documents_before),
        cmocka_unit_test(test_callback_failure_stops_the_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
