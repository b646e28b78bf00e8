/*
 * snowball_test.c: stem_word() against the Snowball reference vocabularies.
 *
 * Debian's snowball-data package ships, per language, voc.txt (one word a line) and
 * output.txt (its stem on the same line). Every word goes through stem_word(), our own entry
 * point, so the test covers the language choice as well as the libstemmer binding: a word
 * routed to the wrong stemmer, or bytes mangled on the way, shows up as a mismatch. Each word
 * is stemmed twice in a row, so the second answer comes from the stem cache and is checked
 * too.
 *
 * The files are required: the project's setup script installs snowball-data, so a missing file
 * is a broken environment and fails the test with the path rather than skipping it.
 * SD_SNOWBALL_DATA overrides the directory (default /usr/share/snowball/data).
 *
 * Every word must agree, including the English entries made of apostrophes only: stem_word()
 * counts an ASCII apostrophe as Latin, so they reach the English stemmer too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stem.h"

struct vocab_result {
    size_t words;             /* lines compared */
    size_t agreed;            /* our stem equals output.txt */
    size_t mismatches;        /* words with letters whose stem differs: must be 0 */
};

static FILE *open_data(const char *lang, const char *name)
{
    const char *dir = getenv("SD_SNOWBALL_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", dir ? dir : "/usr/share/snowball/data", lang, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fail_msg("cannot open %s: install Debian's snowball-data package "
                 "(scripts/ setup does) or set SD_SNOWBALL_DATA",
                 path);
    }
    return f;
}

/* Reads one line without its newline; returns its length, or -1 at end of file. */
static ssize_t read_line(FILE *f, char **line, size_t *cap)
{
    ssize_t n = getline(line, cap, f);
    while (n > 0 && ((*line)[n - 1] == '\n' || (*line)[n - 1] == '\r')) {
        (*line)[--n] = '\0';
    }
    return n;
}

/* Compares one vocabulary line with its expected stem, updating r. */
static void check_word(struct stem_ctx *ctx, const char *lang, const char *word, size_t len,
                       const char *want, struct vocab_result *r)
{
    const char *stem;
    size_t stem_len;
    r->words++;
    assert_int_equal(stem_word(ctx, word, len, &stem, &stem_len), STEM_OK);
    char first[512]; /* the second call is answered by the stem cache (cache.c) */
    assert_true(stem_len < sizeof first);
    memcpy(first, stem, stem_len + 1);
    assert_int_equal(stem_word(ctx, word, len, &stem, &stem_len), STEM_OK);
    assert_string_equal(stem, first);
    bool agrees = stem_len == strlen(want) && memcmp(stem, want, stem_len) == 0;
    if (agrees) {
        r->agreed++;
    } else if (r->mismatches++ < 20) {
        printf("%s: '%s' -> '%.*s', Snowball says '%s'\n", lang, word, (int)stem_len, stem, want);
    }
}

/* Compares every line of one language's voc.txt with output.txt; returns the counts. */
static struct vocab_result compare_files(struct stem_ctx *ctx, const char *lang, FILE *voc,
                                         FILE *out)
{
    char *word = NULL;
    char *want = NULL;
    size_t word_cap = 0;
    size_t want_cap = 0;
    struct vocab_result r = {0};
    ssize_t n;
    while ((n = read_line(voc, &word, &word_cap)) >= 0) {
        if (read_line(out, &want, &want_cap) < 0) {
            fail_msg("%s: output.txt is shorter than voc.txt", lang);
        }
        if (n > 0) {
            check_word(ctx, lang, word, (size_t)n, want, &r);
        }
    }
    free(word);
    free(want);
    return r;
}

static void run_vocabulary(const char *lang)
{
    struct stem_ctx *ctx = NULL;
    assert_int_equal(stem_ctx_new(&ctx), STEM_OK);
    FILE *voc = open_data(lang, "voc.txt");
    FILE *out = open_data(lang, "output.txt");
    struct vocab_result r = compare_files(ctx, lang, voc, out);
    printf("%s: %zu words, %zu agree with Snowball, %zu mismatches\n", lang, r.words, r.agreed,
           r.mismatches);
    assert_true(r.words > 1000);
    assert_int_equal(r.mismatches, 0);
    assert_int_equal(r.agreed, r.words);
    fclose(voc);
    fclose(out);
    stem_ctx_free(ctx);
}

static void test_stem_snowball_russian_vocabulary_agrees(void **state)
{
    (void)state;
    run_vocabulary("russian");
}

static void test_stem_snowball_english_vocabulary_agrees(void **state)
{
    (void)state;
    run_vocabulary("english");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stem_snowball_russian_vocabulary_agrees),
        cmocka_unit_test(test_stem_snowball_english_vocabulary_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
