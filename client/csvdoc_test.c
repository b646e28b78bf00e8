/*
 * csvdoc_test.c: the .csv reader (csvdoc.c). Random tables written as RFC 4180 CSV (quoted
 * where a cell needs it, or always, with CRLF, LF or CR row ends) must come back cell for
 * cell; columns are typed by the header and by the index's declared fields; and each fault is
 * refused at its line, with the rows before it handed on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_int.h"

struct rows {
    struct json_object *docs; /* an array of the documents, copied */
    uint64_t lines[16];
    size_t n;
};

static int collect(void *arg, const char *path, uint64_t line, uint64_t ordinal,
                   struct json_object *doc)
{
    (void)path;
    struct rows *r = arg;
    assert_int_equal(ordinal, r->n + 1);
    struct json_object *copy = NULL;
    assert_int_equal(json_object_deep_copy(doc, &copy, NULL), 0);
    json_object_array_add(r->docs, copy);
    if (r->n < 16) {
        r->lines[r->n] = line;
    }
    r->n++;
    return CLI_EXIT_OK;
}

/* Reads text[0, len) as a .csv file into r (fresh); fields as cli_csv_each_doc_in takes them. */
static int read_csv_len(const char *text, size_t len, const char *fields, struct rows *r)
{
    *r = (struct rows){.docs = json_object_new_array()};
    struct json_object *f = fields ? json_tokener_parse(fields) : NULL;
    FILE *in = len ? fmemopen((void *)text, len, "r") : fopen("/dev/null", "r");
    assert_non_null(in);
    int rc = cli_csv_each_doc_in(in, "t.csv", f, collect, r);
    fclose(in);
    json_object_put(f);
    return rc;
}

static int read_csv(const char *text, const char *fields, struct rows *r)
{
    return read_csv_len(text, strlen(text), fields, r);
}

/* The document of row i as JSON text. */
static const char *row(const struct rows *r, size_t i)
{
    return json_object_to_json_string_ext(json_object_array_get_idx(r->docs, i),
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_random_tables_come_back_cell_for_cell(void **state)
{
    (void)state;
    static const char *const parts[] = {"a",  "Б",  ",",    "\"", "\r\n", "\n", "\r", " ",
                                        "x1", "ё,", "\"\"", "'",  "\t",   "💡",  "z"};
    static const char *const ends[] = {"\r\n", "\n", "\r"};
    uint32_t s = 777;
    for (int round = 0; round < 300; round++) {
        size_t ncols = 1 + rnd(&s) % 4, nrows = rnd(&s) % 5;
        bool always_quote = rnd(&s) & 1;
        const char *end = ends[rnd(&s) % 3];
        char csv[8192] = "";
        struct json_object *want = json_object_new_array();
        strcat(csv, "id");
        for (size_t c = 1; c < ncols; c++) {
            char name[24];
            snprintf(name, sizeof name, ",c%zu", c);
            strcat(csv, name);
        }
        strcat(csv, end);
        for (size_t r = 0; r < nrows; r++) {
            struct json_object *doc = json_object_new_object();
            for (size_t c = 0; c < ncols; c++) {
                char cell[128] = "";
                if (c == 0) {
                    snprintf(cell, sizeof cell, "row%zu", r);
                }
                for (size_t k = rnd(&s) % 5; c > 0 && k > 0; k--) {
                    strcat(cell, parts[rnd(&s) % (sizeof parts / sizeof parts[0])]);
                }
                bool needs = strpbrk(cell, ",\"\r\n") != NULL;
                if (c > 0) {
                    strcat(csv, ",");
                }
                if (needs || always_quote) {
                    strcat(csv, "\"");
                    for (const char *p = cell; *p; p++) {
                        size_t at = strlen(csv);
                        csv[at] = *p;
                        csv[at + 1] = '\0';
                        if (*p == '"') {
                            strcat(csv, "\"");
                        }
                    }
                    strcat(csv, "\"");
                } else {
                    strcat(csv, cell);
                }
                if (*cell) {
                    char key[16];
                    snprintf(key, sizeof key, c ? "c%zu" : "id", c);
                    json_object_object_add(doc, key, json_object_new_string(cell));
                }
            }
            strcat(csv, end);
            json_object_array_add(want, doc);
        }
        if (rnd(&s) & 1 && nrows > 0) {
            csv[strlen(csv) - strlen(end)] = '\0'; /* no end after the last row */
        }
        struct rows got;
        assert_int_equal(read_csv(csv, NULL, &got), CLI_EXIT_OK);
        if (!json_object_equal(want, got.docs)) {
            fail_msg("round %d: %s\n got %s", round, csv, json_object_to_json_string(got.docs));
        }
        json_object_put(got.docs);
        json_object_put(want);
    }
}

static void test_rows_name_the_line_they_begin_on(void **state)
{
    (void)state;
    struct rows r;
    const char *text = "\xef\xbb\xbfid,body\r\n\r\n1,\"two\r\nlines\"\r\n2,x\n\n\n3,\"\"\"q\"\"\"";
    assert_int_equal(read_csv(text, NULL, &r), CLI_EXIT_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.lines[0], 3);
    assert_int_equal(r.lines[1], 5);
    assert_int_equal(r.lines[2], 8);
    assert_string_equal(row(&r, 0), "{\"id\":\"1\",\"body\":\"two\\r\\nlines\"}");
    assert_string_equal(row(&r, 2), "{\"id\":\"3\",\"body\":\"\\\"q\\\"\"}");
    json_object_put(r.docs);
    /* no rows: empty, blank, a header alone */
    static const char *const none[] = {"", "\n\n", "id,title\n", "id"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        assert_int_equal(read_csv(none[i], NULL, &r), CLI_EXIT_OK);
        assert_int_equal(r.n, 0);
        json_object_put(r.docs);
    }
}

static void test_columns_are_typed_by_header_then_settings(void **state)
{
    (void)state;
    struct rows r;
    const char *fields = "{\"year\":{\"type\":\"int\"},\"price\":{\"type\":\"float\"},"
                         "\"open\":{\"type\":\"bool\"},\"lang\":{\"type\":\"keyword\"},"
                         "\"zip\":{\"type\":\"int\"}}";
    const char *text = "id,year,price,open,lang,zip:string,n:number,b:boolean,x:y\n"
                       "a, 2012 ,12.50,TRUE,en,01234,-7,False,1\n"
                       "b,-9223372036854775808,1e400x,,,,18446744073709551616,true,\n";
    assert_int_equal(read_csv(text, fields, &r), CLI_EXIT_ERROR); /* 1e400x: not a number */
    assert_int_equal(r.n, 1);
    assert_string_equal(row(&r, 0), "{\"id\":\"a\",\"year\":2012,\"price\":12.50,\"open\":true,"
                                    "\"lang\":\"en\",\"zip\":\"01234\",\"n\":-7,\"b\":false,"
                                    "\"x:y\":\"1\"}");
    json_object_put(r.docs);
    text = "id,year,price,open,lang,zip:string,n:number,b:boolean,x:y\n"
           "b,-9223372036854775808,1e300,,,,18446744073709551616,true,\n";
    assert_int_equal(read_csv(text, fields, &r), CLI_EXIT_OK);
    assert_string_equal(row(&r, 0), "{\"id\":\"b\",\"year\":-9223372036854775808,\"price\":1e300,"
                                    "\"n\":1.8446744073709552e+19,\"b\":true}");
    json_object_put(r.docs);
    /* without settings every column is text */
    assert_int_equal(read_csv("id,year\n1,2012\n", NULL, &r), CLI_EXIT_OK);
    assert_string_equal(row(&r, 0), "{\"id\":\"1\",\"year\":\"2012\"}");
    json_object_put(r.docs);
    /* values that are not of their type */
    static const char *const bad[] = {
        "id,n:int\n1,12.0\n",     "id,n:int\n1,9223372036854775808\n",
        "id,n:int\n1,0x10\n",     "id,n:number\n1,+5\n",
        "id,n:number\n1,.5\n",    "id,n:number\n1,NaN\n",
        "id,n:number\n1,1e999\n", "id,b:bool\n1,yes\n",
        "id,n:int\n1, \n",        "id,t\n1,\xff\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(read_csv(bad[i], NULL, &r), CLI_EXIT_ERROR);
        assert_int_equal(r.n, 0);
        json_object_put(r.docs);
    }
}

static void test_faults_stop_after_the_rows_before(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t rows_before;
    } bad[] = {
        {"id,t\n1,a\n2,a\"b\n", 1},        /* a quote inside an unquoted field */
        {"id,t\n1,a\n2,\"a\"b\n", 1},      /* text after the closing quote */
        {"id,t\n1,a\n2,\"open\n3,x\n", 1}, /* the file ends inside quotes */
        {"id,t\n1,a\n2\n", 1},             /* too few fields */
        {"id,t\n1,a\n2,b,c\n", 1},         /* too many */
        {"t,body\n1,a\n", 0},              /* no id column */
        {"id,t,t\n1,a,b\n", 0},            /* a column named twice */
        {"id,,t\n1,a,b\n", 0},             /* an unnamed one */
        {"id,:int\n1,2\n", 0},             /* a type without a name */
        {",\n1,2\n", 0},                   /* a header of empty fields */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rows r;
        assert_int_equal(read_csv(bad[i].text, NULL, &r), CLI_EXIT_ERROR);
        assert_int_equal(r.n, bad[i].rows_before);
        json_object_put(r.docs);
    }
    struct rows r; /* a NUL byte */
    assert_int_equal(read_csv_len("id,t\n1,a\n2,b\0c\n", 15, NULL, &r), CLI_EXIT_ERROR);
    assert_int_equal(r.n, 1);
    json_object_put(r.docs);
    char wide[1024] = "id"; /* more fields than a document may have */
    for (int i = 0; i < 64; i++) {
        snprintf(wide + strlen(wide), sizeof wide - strlen(wide), ",c%d", i);
    }
    assert_int_equal(read_csv(wide, NULL, &r), CLI_EXIT_ERROR);
    json_object_put(r.docs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_tables_come_back_cell_for_cell),
        cmocka_unit_test(test_rows_name_the_line_they_begin_on),
        cmocka_unit_test(test_columns_are_typed_by_header_then_settings),
        cmocka_unit_test(test_faults_stop_after_the_rows_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
