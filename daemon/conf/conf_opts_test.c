/*
 * conf_opts_test.c: the settings from their three sources: defaults, then the config file,
 * then the flags; a bad value refused with its name and what is wanted, from either source;
 * the checks across settings; and --print-config's text, which read back as a config file
 * gives the same settings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

static char conf_path[64];
static char errs_text[1024];

static void write_conf(const char *text)
{
    snprintf(conf_path, sizeof conf_path, "/tmp/conf-opts-test-%d.ini", (int)getpid());
    FILE *f = fopen(conf_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* conf_opts_parse over the NULL-terminated flags after argv[0]; what it reports lands in
 * errs_text. */
static int parse(struct conf_opts *o, const char *const *flags)
{
    char *argv[32] = {"searchd"};
    int argc = 1;
    for (; flags[argc - 1]; argc++) {
        assert_true(argc < 31);
        argv[argc] = (char *)flags[argc - 1];
    }
    memset(errs_text, 0, sizeof errs_text);
    FILE *errs = fmemopen(errs_text, sizeof errs_text - 1, "w");
    assert_non_null(errs);
    int rc = conf_opts_parse(o, argc, argv, errs);
    fclose(errs);
    return rc;
}

/* parse() of a config file holding text and no flags. */
static int parse_conf(struct conf_opts *o, const char *text)
{
    write_conf(text);
    return parse(o, (const char *[]){"--config", conf_path, NULL});
}

/* --print-config's text for o, owned by the caller. */
static char *printed(const struct conf_opts *o)
{
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    conf_opts_print(f, o);
    fclose(f);
    return text;
}

static void test_defaults(void **state)
{
    (void)state;
    struct conf_opts o;
    assert_int_equal(parse(&o, (const char *[]){NULL}), 0);
    assert_string_equal(o.data_dir, "./searchd-data");
    assert_string_equal(o.http_addr, SRV_DEFAULT_HTTP);
    assert_string_equal(o.line_addr, "127.0.0.1:7701"); /* the HTTP port + 1 */
    assert_int_equal(o.idx.sync, IDX_SYNC_ALWAYS);
    assert_int_equal(o.log_level, LOG_INFO);
    assert_false(o.public_without_keys);
    conf_opts_free(&o);
}

static void test_flags_override_the_file(void **state)
{
    (void)state;
    write_conf("[searchd]\nworkers = 3\nsync = batch\nmax-request = 2m\nmemory-limit = 64m\n");
    struct conf_opts o;
    assert_int_equal(
        parse(&o, (const char *[]){"--workers", "5", "--config", conf_path, "--sync-ms=7", NULL}),
        0);
    assert_int_equal(o.srv.workers, 5);           /* the flag, though the file says 3 */
    assert_int_equal(o.idx.sync, IDX_SYNC_BATCH); /* the file */
    assert_int_equal(o.idx.sync_ms, 7);
    assert_int_equal(o.srv.max_request, 2u << 20);
    assert_int_equal(o.idx.memory_limit, 64u << 20);
    assert_string_equal(o.config_path, conf_path);
    conf_opts_free(&o);
    unlink(conf_path);
}

/* --config naming a directory ran searchd on its defaults (the directory read as an empty
 * file): now exit status 2, like a missing file, and nothing else is looked at. */
static void test_config_that_is_no_file_is_refused(void **state)
{
    (void)state;
    struct conf_opts o;
    assert_int_equal(parse(&o, (const char *[]){"--config", "/tmp", "--print-config", NULL}), 2);
    assert_non_null(strstr(errs_text, "searchd: /tmp: not a regular file (a directory)"));
    assert_false(o.print_config);
    conf_opts_free(&o);
    assert_int_equal(parse(&o, (const char *[]){"--config", "/nonexistent/searchd.conf", NULL}), 2);
    assert_non_null(strstr(errs_text, "/nonexistent/searchd.conf: "));
    conf_opts_free(&o);
}

static void test_bad_values_say_what_is_wanted(void **state)
{
    (void)state;
    static const struct {
        const char *flag, *value, *said;
    } bad[] = {
        {"--workers", "0", "--workers 0: want 1 to 256"},
        {"--workers", "12x", "--workers 12x: want 1 to 256"},
        {"--max-request", "18446744073709551616", "want 64 to 1g bytes"},
        {"--max-request", "1t", "want 64 to 1g bytes"},
        {"--max-unsent", "63", "--max-unsent 63: want 64 to 1024g bytes"},
        /* the message said "64 to 1t", a value no suffix can write ("1t" is refused) */
        {"--max-unfinished", "1t", "--max-unfinished 1t: want 64 to 1024g bytes"},
        {"--max-unsent", "1t", "--max-unsent 1t: want 64 to 1024g bytes"},
        {"--memory-limit", "1m", "want 0 (no limit) or 8m to 1024g bytes"},
        {"--sync", "sometimes", "want always or batch"},
        {"--bm25-b", "1.5", "--bm25-b 1.5: want 0, or 1e-37 to 1"},
        {"--bm25-k1", "nan", "want 0, or 1e-37 to 100"},
        {"--bm25-k1", "100.000001", "want 0, or 1e-37 to 100"},
        {"--bm25-k1", "1e-300", "want 0, or 1e-37 to 100"}, /* a float would hold 0 */
        {"--bm25-b", "1e-38", "want 0, or 1e-37 to 1"},     /* below FLT_MIN */
        {"--bm25-b", "0.5x", "want 0, or 1e-37 to 1"},
        {"--log-level", "loud", "want error, warn, info or debug"},
        {"--slow-ms", "-1", "want 0 to 3600000 or off"},
        {"--access-log", "", "want a file name or -"},
        /* an empty path was taken: --socket '' listened on an autobind address nobody can
         * reach, --data '' and --snapshot-dir '' failed only after start */
        {"--data", "", "--data : want a directory"},
        {"--socket", "", "--socket : want a socket path"},
        {"--tls-cert", "", "--tls-cert : want a file name"},
        {"--tls-key", "", "--tls-key : want a file name"},
        {"--snapshot-dir", "", "--snapshot-dir : want a directory"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct conf_opts o;
        assert_int_equal(parse(&o, (const char *[]){bad[i].flag, bad[i].value, NULL}), 2);
        assert_non_null(strstr(errs_text, bad[i].said));
        conf_opts_free(&o);
    }
    /* the same check from the file, with its line */
    struct conf_opts o;
    assert_int_equal(parse_conf(&o, "[searchd]\n\nmerge-factor = 1\n"), 2);
    assert_non_null(strstr(errs_text, ":3: merge-factor 1: want 2 to 64"));
    conf_opts_free(&o);
    assert_int_equal(parse_conf(&o, "[searchd]\nsocket =\n"), 2);
    assert_non_null(strstr(errs_text, ":2: socket : want a socket path"));
    conf_opts_free(&o);
    /* commands are no keys */
    assert_int_equal(parse_conf(&o, "check = /tmp\n"), 2);
    assert_non_null(strstr(errs_text, "unknown key 'check'"));
    conf_opts_free(&o);
    unlink(conf_path);
}

static void test_checks_across_settings(void **state)
{
    (void)state;
    static const struct {
        const char *flags[5];
        const char *said;
    } bad[] = {
        {{"--listen", "off", NULL}, "give line-listen too"},
        {{"--listen", "off", "--line-listen", "off", NULL}, "every listener is off"},
        {{"--tls-listen", "127.0.0.1:0", NULL}, "need tls-cert and tls-key"},
        {{"--tls-cert", "c.pem", "--tls-key", "k.pem", NULL}, "no TLS listener"},
        {{"--max-request", "1m", "--max-unfinished", "64k", NULL}, "at least max-request"},
        {{"--listen", "127.0.0.1:65535", NULL}, "no port after it"},
        {{"--check", "a", "--repair", "b", NULL}, "one at a time"},
        {{"stray", NULL}, "unexpected argument 'stray'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct conf_opts o;
        assert_int_equal(parse(&o, bad[i].flags), 2);
        assert_non_null(strstr(errs_text, bad[i].said));
        conf_opts_free(&o);
    }
    struct conf_opts o;
    assert_int_equal(parse(&o, (const char *[]){"--listen", "off", "--socket", "/tmp/s", NULL}),
                     2); /* a socket alone still needs line-listen said */
    conf_opts_free(&o);
    assert_int_equal(
        parse(&o, (const char *[]){"--listen", "off", "--line-listen", "127.0.0.1:0", NULL}), 0);
    assert_null(conf_listener(o.http_addr));
    assert_string_equal(conf_listener(o.line_addr), "127.0.0.1:0");
    conf_opts_free(&o);
}

/* A bad list entry or listener address was let through to srv_new, which stopped the daemon
 * (exit 1) after it made and locked the data directory; --print-config printed it back (exit
 * 0). Now each is refused as it is read, with the server's own rules, naming its line or its
 * flag and the entry by number, and never a key entry's bytes. */
static void test_bad_entries_and_addresses_are_refused_where_written(void **state)
{
    (void)state;
    static const struct {
        const char *flag, *value, *said;
    } bad[] = {
        {"--cors-origins", "foo", "searchd: --cors-origins: entry 1: 'foo' is not an origin"},
        {"--cors-origins", "http://a.example,,http://b.example",
         "--cors-origins: entry 2 is empty"},
        {"--cors-origins", "http://a.example,", "--cors-origins: entry 2 is empty"},
        {"--admin-keys", "hunter2", "searchd: --admin-keys: entry 1 is 7 bytes long"},
        {"--search-keys", "sha256:0123", "searchd: --search-keys: entry 1 is 11 bytes long"},
        {"--search-keys", "sha256:0123 #x", "--search-keys: entry 1: ; or # after a space"},
        {"--listen", "127.0.0.1:99999", "searchd: --listen: '127.0.0.1:99999': bad port"},
        {"--listen", "nowhere", "searchd: --listen: 'nowhere': want HOST:PORT"},
        {"--line-listen", "[zz]:1", "--line-listen: '[zz]:1': bad IPv6 address"},
        {"--tls-listen", "off", "--tls-listen: 'off': want HOST:PORT"},
    };
    struct conf_opts o;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            parse(&o, (const char *[]){bad[i].flag, bad[i].value, "--print-config", NULL}), 2);
        assert_non_null(strstr(errs_text, bad[i].said));
        assert_null(strstr(errs_text, "hunter2"));
        assert_null(strstr(errs_text, "0123"));
        conf_opts_free(&o);
    }
    char good[80];
    snprintf(good, sizeof good, "sha256:%064d", 1);
    char text[8192];
    snprintf(text, sizeof text, "admin-keys = %s\nadmin-keys = hunter2\n", good);
    const struct {
        const char *text, *said;
    } bad_lines[] = {
        {"[searchd]\ncors-origins = foo\n", ":2: cors-origins: entry 1: 'foo' is not an origin"},
        {text, ":2: admin-keys: entry 1 is 7 bytes long"}, /* numbered from the line's first */
        {"search-keys = sha256:0123\n", ":1: search-keys: entry 1 is 11 bytes long"},
        {"cors-origins = http://a.example,,http://b.example\n", ":1: cors-origins: entry 2 is "
                                                                "empty"},
        {"cors-origins = http://a.example\ncors-origins =\n", ":2: cors-origins: an empty entry"},
        {"data = x\nlisten = 127.0.0.1:99999\n", ":2: listen: '127.0.0.1:99999': bad port"},
        {"tls-line-listen = nowhere\n", ":1: tls-line-listen: 'nowhere': want HOST:PORT"},
    };
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        assert_int_equal(parse_conf(&o, bad_lines[i].text), 2);
        char want[256];
        snprintf(want, sizeof want, "searchd: %s%s", conf_path, bad_lines[i].said);
        assert_non_null(strstr(errs_text, want));
        assert_null(strstr(errs_text, "hunter2"));
        assert_null(strstr(errs_text, "0123"));
        conf_opts_free(&o);
    }
    /* fuzz_conf (corpus/conf/found_carriage_return_starts_an_entry): conf trimmed an entry of
     * every isspace byte, the server of spaces and tabs only, so a CR before an origin was cut
     * off when printed but kept by the server; both read entries with srv_list_next now */
    assert_int_equal(parse_conf(&o, "cors-origins = https://a.example, \r://b.example\n"), 2);
    assert_non_null(strstr(errs_text, ":1: cors-origins https://a.example, \\x0D://b.example: a "
                                      "control character"));
    conf_opts_free(&o);
    /* 65 keys, a line each: the line that makes too many is named */
    text[0] = '\0';
    for (int i = 0; i < 65; i++) {
        snprintf(text + strlen(text), sizeof text - strlen(text), "admin-keys = %s\n", good);
    }
    assert_int_equal(parse_conf(&o, text), 2);
    assert_non_null(strstr(errs_text, ":65: admin-keys: more than 64 keys"));
    conf_opts_free(&o);
    /* an empty list is no entry: the file's first line may be one, a flag may empty a list, and
     * --print-config then writes no line for it */
    snprintf(text, sizeof text, "admin-keys =\nadmin-keys = %s\ncors-origins = *\n", good);
    assert_int_equal(parse_conf(&o, text), 0);
    assert_string_equal(o.srv.admin_keys, good);
    conf_opts_free(&o);
    write_conf(text);
    assert_int_equal(parse(&o, (const char *[]){"--config", conf_path, "--cors-origins", "",
                                                "--admin-keys", "", NULL}),
                     0);
    char *lines = printed(&o);
    assert_null(strstr(lines, "cors-origins"));
    assert_null(strstr(lines, "admin-keys"));
    free(lines);
    conf_opts_free(&o);
    unlink(conf_path);
}

/* A list takes an entry a line in the file (three keys do not fit on one line), any other
 * key once; a flag's value must be one the file could hold. */
static void test_lists_and_writable_values(void **state)
{
    (void)state;
    char text[1024] = "[searchd]\n";
    char keys[3][80];
    for (int i = 0; i < 3; i++) {
        snprintf(keys[i], sizeof keys[i], "sha256:%064d", i);
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "admin-keys = %s   # key %d\n", keys[i], i);
    }
    struct conf_opts o;
    assert_int_equal(parse_conf(&o, text), 0);
    char joined[256];
    snprintf(joined, sizeof joined, "%s,%s,%s", keys[0], keys[1], keys[2]);
    assert_string_equal(o.srv.admin_keys, joined);
    char *lines = printed(&o);
    for (int i = 0; i < 3; i++) {
        char line[300];
        snprintf(line, sizeof line, "\nadmin-keys = %s\n", keys[i]);
        assert_non_null(strstr(lines, line));
    }
    free(lines);
    conf_opts_free(&o);

    assert_int_equal(parse_conf(&o, "workers = 2\nworkers = 3\n"), 2);
    assert_non_null(strstr(errs_text, ":2: workers is set twice"));
    conf_opts_free(&o);
    unlink(conf_path);

    char long_path[300];
    memset(long_path, 'd', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    const struct {
        const char *flag, *value, *said;
    } bad[] = {
        /* a refused value is shown with its control bytes, and the bytes of one that is not
         * UTF-8, as \xHH: the message never drives a terminal */
        {"--data", "a\nlisten = 0.0.0.0:80",
         "--data a\\x0Alisten = 0.0.0.0:80: a control character"},
        {"--memory-limit", "1\x1b[2J", "--memory-limit 1\\x1B[2J: a control character"},
        {"--listen", "\xff\xfe:80", "--listen \\xFF\\xFE:80: not UTF-8 text"},
        {"--data", " lead", "a space at either end"},
        {"--access-log", "log;x", NULL}, /* fine: no space before the ; */
        {"--data", "x ;y", "; or # after a space"},
        {"--data", "#x", "begins with ; or #"},
        {"--cors-origins", "https://a.example, https://b.example #c", "; or # after a space"},
        {"--data", long_path, "too long for a line of a config file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(&o, (const char *[]){bad[i].flag, bad[i].value, NULL}),
                         bad[i].said ? 2 : 0);
        if (bad[i].said) {
            assert_non_null(strstr(errs_text, bad[i].said));
        }
        for (const char *c = errs_text; *c; c++) {
            assert_true((unsigned char)*c >= 0x20 || *c == '\n');
        }
        conf_opts_free(&o);
    }
    /* a command's argument is no setting: it is never written to a file */
    assert_int_equal(parse(&o, (const char *[]){"--check", "dir with #1 ", NULL}), 0);
    assert_string_equal(o.check_dir, "dir with #1 ");
    conf_opts_free(&o);
}

/* --print-config's text, read back as the config file, gives the same text. */
static void test_printed_config_reads_back(void **state)
{
    (void)state;
    struct conf_opts o;
    assert_int_equal(
        parse(&o, (const char *[]){"--workers", "4", "--sync", "batch", "--slow-ms", "250",
                                   "--memory-limit", "1g", "--listen", "127.0.0.1:0", "--web",
                                   "off", "--max-unsent", "48m", NULL}),
        0);
    char *first = printed(&o);
    conf_opts_free(&o);
    assert_int_equal(parse_conf(&o, first), 0);
    char *second = printed(&o);
    conf_opts_free(&o);
    /* the header names the source; the settings after it are the same */
    assert_string_equal(strchr(first, '\n'), strchr(second, '\n'));
    assert_non_null(strstr(second, "workers = 4\n"));
    assert_non_null(strstr(second, "slow-ms = 250\n"));
    assert_non_null(strstr(second, "max-unsent = 50331648\n"));
    assert_non_null(strstr(second, "line-listen = 127.0.0.1:0\n"));
    free(first);
    free(second);
    unlink(conf_path);
}

/* The float of a setting, as bits: two floats are the same setting when these are equal. */
static uint32_t float_bits(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

/* --print-config wrote the BM25 parameters with %g: six digits, so 0.123456789012 read back as
 * 0.123457, another setting. They are floats in the engine: printed in the fewest digits that
 * read back to the very float held, and every float of the range does. */
static void test_floats_print_as_held_and_read_back(void **state)
{
    (void)state;
    struct conf_opts o;
    assert_int_equal(parse(&o, (const char *[]){"--bm25-k1", "0.123456789012", "--bm25-b",
                                                "0.33333333333333", NULL}),
                     0);
    char *lines = printed(&o);
    assert_non_null(strstr(lines, "\nbm25-k1 = 0.12345679\n"));
    assert_non_null(strstr(lines, "\nbm25-b = 0.33333334\n"));
    assert_int_equal(float_bits(o.idx.k1), float_bits(0.123456789012f));
    assert_int_equal(float_bits(o.idx.b), float_bits(0.33333333333333f));
    conf_opts_free(&o);
    assert_int_equal(parse_conf(&o, lines), 0);
    assert_int_equal(float_bits(o.idx.k1), float_bits(0.123456789012f));
    assert_int_equal(float_bits(o.idx.b), float_bits(0.33333333333333f));
    free(lines);
    conf_opts_free(&o);
    /* the defaults stay short; -0 is 0 */
    assert_int_equal(parse(&o, (const char *[]){"--bm25-b", "-0", NULL}), 0);
    lines = printed(&o);
    assert_non_null(strstr(lines, "\nbm25-k1 = 1.2\n"));
    assert_non_null(strstr(lines, "\nbm25-b = 0\n"));
    free(lines);
    conf_opts_free(&o);

    /* the least taken: its float is a little under 1e-37, and prints as 1e-37 */
    assert_int_equal(parse(&o, (const char *[]){"--bm25-k1", "1e-37", NULL}), 0);
    assert_int_equal(float_bits(o.idx.k1), float_bits(1e-37f));
    lines = printed(&o);
    assert_non_null(strstr(lines, "\nbm25-k1 = 1e-37\n"));
    free(lines);
    conf_opts_free(&o);

    /* floats spread over the whole range of k1 (by their bits: every exponent) and its ends:
     * each printed and read back is the same float */
    float values[1100] = {100.0f, 99.99999f, 0.0f, 1.0f / 3};
    size_t n = 4;
    for (uint32_t bits = float_bits(1e-37f) + 1; n < 1100; bits += 0x109A1Bu) {
        float v;
        memcpy(&v, &bits, sizeof v);
        if (v > 100.0f) {
            break;
        }
        values[n++] = v;
    }
    assert_true(n > 900);
    for (size_t i = 0; i < n; i++) {
        char arg[40];
        snprintf(arg, sizeof arg, "%.9g", (double)values[i]);
        assert_int_equal(parse(&o, (const char *[]){"--bm25-k1", arg, NULL}), 0);
        assert_int_equal(float_bits(o.idx.k1), float_bits(values[i]));
        lines = printed(&o);
        conf_opts_free(&o);
        assert_int_equal(parse_conf(&o, lines), 0);
        assert_int_equal(float_bits(o.idx.k1), float_bits(values[i]));
        free(lines);
        conf_opts_free(&o);
    }
    unlink(conf_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_flags_override_the_file),
        cmocka_unit_test(test_config_that_is_no_file_is_refused),
        cmocka_unit_test(test_bad_values_say_what_is_wanted),
        cmocka_unit_test(test_checks_across_settings),
        cmocka_unit_test(test_lists_and_writable_values),
        cmocka_unit_test(test_bad_entries_and_addresses_are_refused_where_written),
        cmocka_unit_test(test_printed_config_reads_back),
        cmocka_unit_test(test_floats_print_as_held_and_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
