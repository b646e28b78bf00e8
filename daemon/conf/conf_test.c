/*
 * conf_test.c: the configuration file loader: keys reach the apply function in file order, and
 * every kind of bad file is refused with the file and line that is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

struct seen {
    char text[512]; /* "key=value;" for each pair applied */
};

static int record(void *user, const char *key, const char *value, bool is_repeat,
                  struct sd_error *err)
{
    struct seen *s = user;
    if (is_repeat && strcmp(key, "list") != 0) {
        return sd_errorf(err, SD_EINVAL, "%s is set twice", key);
    }
    if (strcmp(key, "workers") == 0 && strcmp(value, "many") == 0) {
        return sd_errorf(err, SD_EINVAL, "workers %s: want a number", value);
    }
    if (strcmp(key, "nosuch") == 0) {
        return sd_errorf(err, SD_EINVAL, "unknown key %s", key);
    }
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%s=%s;", key, value);
    return SD_OK;
}

static char path[64];

static void write_file(const char *text)
{
    snprintf(path, sizeof path, "/tmp/conf-test-%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int load(const char *text, struct seen *s, struct sd_error *err)
{
    write_file(text);
    memset(s, 0, sizeof *s);
    memset(err, 0, sizeof *err);
    int rc = conf_load(path, record, s, err);
    unlink(path);
    return rc;
}

/* The error message with the temporary path cut off: ":LINE: message". */
static const char *where(const struct sd_error *err)
{
    return err->msg + strlen(path);
}

static void test_pairs_in_order(void **state)
{
    (void)state;
    struct seen s;
    struct sd_error err;
    assert_int_equal(load("# searchd.conf\n"
                          "data = /var/lib/searchd\n"
                          "\n"
                          "[searchd]\n"
                          "listen = 127.0.0.1:7700 ; the HTTP API\n"
                          "max-connections=200\n"
                          "log-level = info\n",
                          &s, &err),
                     SD_OK);
    assert_string_equal(s.text, "data=/var/lib/searchd;listen=127.0.0.1:7700;"
                                "max-connections=200;log-level=info;");
}

static void test_empty_file(void **state)
{
    (void)state;
    struct seen s;
    struct sd_error err;
    assert_int_equal(load("", &s, &err), SD_OK);
    assert_string_equal(s.text, "");
}

static void test_errors_name_the_line(void **state)
{
    (void)state;
    struct seen s;
    struct sd_error err;
    assert_int_equal(load("data = x\n[server]\nlisten = y\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":3: unknown section [server] (keys go in [searchd])");
    assert_int_equal(load("workers = 2\n\nworkers = 3\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":3: workers is set twice");
    assert_int_equal(load("data = x\njust words\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":2: not KEY = VALUE or [section]");
    assert_int_equal(load("data = x\n\n\nworkers = many\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":4: workers many: want a number");
    assert_string_equal(s.text, "data=x;"); /* applied up to the bad line, the caller exits */
    assert_int_equal(load("data = x\n  # an indented comment\n  workers = 2\n", &s, &err),
                     SD_EINVAL);
    assert_string_equal(where(&err), ":3: indented line (a value cannot continue on the next line)");
    assert_int_equal(load("[searchd]\nnosuch = 1\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":2: unknown key nosuch");
}

/* libinih goes on after a bad line: the message was the last bad line's, the number the
 * first's ("FILE:1: <line 2's problem>"), and the lines after a bad one were applied. A line
 * of exactly CONF_MAX_LINE bytes made libinih count its newline as one more line. */
static void test_first_error_keeps_its_own_line(void **state)
{
    (void)state;
    struct seen s;
    struct sd_error err;
    assert_int_equal(load("workers = many\nnosuch = 1\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":1: workers many: want a number");
    assert_int_equal(load("data = x\nworkers = many\ndata\nlisten = y\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":2: workers many: want a number");
    assert_string_equal(s.text, "data=x;"); /* nothing applied after the bad line */
    assert_int_equal(load("data\nworkers = many\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":1: not KEY = VALUE or [section]");

    char text[512] = "data = /";
    size_t n = strlen(text);
    memset(text + n, 'd', CONF_MAX_LINE - n);
    snprintf(text + CONF_MAX_LINE, sizeof text - CONF_MAX_LINE, "\nworkers = many\n");
    assert_int_equal(load(text, &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":2: workers many: want a number");
    text[CONF_MAX_LINE] = '\0';
    assert_int_equal(load(text, &s, &err), SD_OK); /* the longest line, without a newline */
}

static void test_comments_and_lists(void **state)
{
    (void)state;
    struct seen s;
    struct sd_error err;
    assert_int_equal(load("admin-keys = sha256:ab     # may do everything\n"
                          "data = /srv/a#b ; a ; comment\n"
                          "list = x\nlist = y\n",
                          &s, &err),
                     SD_OK);
    assert_string_equal(s.text, "admin-keys=sha256:ab;data=/srv/a#b;list=x;list=y;");
    assert_int_equal(load("data =;x\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":1: data: a value cannot begin with ; (it starts a comment)");
    assert_int_equal(load("data =#x\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":1: data: a value cannot begin with # (it starts a comment)");
}

static void test_bad_bytes(void **state)
{
    (void)state;
    struct seen s;
    struct sd_error err;
    char longline[400];
    memset(longline, 'a', sizeof longline);
    memcpy(longline, "data = ", 7);
    longline[CONF_MAX_LINE] = '\n';
    longline[CONF_MAX_LINE + 1] = '\0';
    assert_int_equal(load(longline, &s, &err), SD_OK); /* exactly at the limit */
    longline[CONF_MAX_LINE] = 'a';
    longline[CONF_MAX_LINE + 1] = '\n';
    longline[CONF_MAX_LINE + 2] = '\0';
    assert_int_equal(load(longline, &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":1: line too long (at most 199 bytes)");
    assert_int_equal(load("data = x\ndata2 = \xff\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":2: not UTF-8 text");
    assert_int_equal(load("data = \xd0\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":1: not UTF-8 text");
    assert_int_equal(load("data = a\x01b\n", &s, &err), SD_EINVAL);
    assert_string_equal(where(&err), ":1: a control character");
    assert_int_equal(load("data = /данные\n", &s, &err), SD_OK);
    assert_string_equal(s.text, "data=/данные;");
}

static void test_missing_file(void **state)
{
    (void)state;
    struct seen s = {{0}};
    struct sd_error err;
    assert_int_equal(conf_load("/nonexistent/searchd.conf", record, &s, &err), SD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/searchd.conf"));
}

/* A directory opens for reading and reads as nothing: it was loaded as an empty file, and
 * searchd ran on its defaults. A FIFO would block the open. Both are refused by kind. */
static void test_not_a_regular_file_is_refused(void **state)
{
    (void)state;
    struct seen s = {{0}};
    struct sd_error err;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/conf-test-dir-%d", (int)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(conf_load(dir, record, &s, &err), SD_EINVAL);
    char want[128];
    snprintf(want, sizeof want, "%s: not a regular file (a directory)", dir);
    assert_string_equal(err.msg, want);
    assert_int_equal(rmdir(dir), 0);

    snprintf(dir, sizeof dir, "/tmp/conf-test-fifo-%d", (int)getpid());
    assert_int_equal(mkfifo(dir, 0600), 0);
    assert_int_equal(conf_load(dir, record, &s, &err), SD_EINVAL); /* no writer: no hang */
    assert_non_null(strstr(err.msg, "not a regular file (a FIFO)"));
    assert_int_equal(unlink(dir), 0);

    assert_int_equal(conf_load("/dev/null", record, &s, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "(a character device)"));
    assert_string_equal(s.text, ""); /* nothing was applied */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_in_order),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_comments_and_lists),
        cmocka_unit_test(test_not_a_regular_file_is_refused),
        cmocka_unit_test(test_first_error_keeps_its_own_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
