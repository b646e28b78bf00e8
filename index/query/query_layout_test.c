/*
 * query_layout_test.c: the keyboard-layout mapping (layout.c), both ways,
 * with the punctuation keys, case, query syntax, and round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"

static void assert_swap(const char *in, const char *want, bool want_changed)
{
    struct sd_buf out;
    sd_buf_init(&out);
    bool is_changed = !want_changed;
    assert_int_equal(qry_layout_swap(in, strlen(in), &out, &is_changed), SD_OK);
    if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0) {
        fail_msg("'%s': got '%.*s', want '%s'", in, (int)out.len, (const char *)out.data, want);
    }
    assert_int_equal(((const char *)out.data)[out.len], '\0');
    assert_int_equal(is_changed, want_changed);
    sd_buf_free(&out);
}

static void test_qry_layout_latin_to_cyrillic_with_punctuation_keys(void **state)
{
    (void)state;
    assert_swap("wbahjdfz", "цифровая", true);
    assert_swap("lbgkjvfnbz", "дипломатия", true);
    assert_swap("k.,jdm", "любовь", true);       /* . , */
    assert_swap("gjkj;tybt", "положение", true); /* ; */
    assert_swap("'nj", "это", true);             /* ' */
    assert_swap("[jhjij", "хорошо", true);       /* [ */
    assert_swap("gjl]tpl", "подъезд", true);     /* ] */
    assert_swap("`krf", "ёлка", true);           /* ` */
    assert_swap("qwertyuiop[]asdfghjkl;'zxcvbnm,.`", "йцукенгшщзхъфывапролджэячсмитьбюё", true);
}

static void test_qry_layout_case_and_shifted_keys(void **state)
{
    (void)state;
    assert_swap("Wbahjdfz", "Цифровая", true);
    assert_swap("{jhjij", "Хорошо", true);
    assert_swap("<e[ufknth", "Бухгалтер", true);
    assert_swap("~krf", "Ёлка", true);
    assert_swap("QWERTY", "ЙЦУКЕН", true);
}

static void test_qry_layout_cyrillic_to_latin(void **state)
{
    (void)state;
    assert_swap("ыуфкср", "search", true);
    assert_swap("Ыуфкср", "Search", true);
    assert_swap("вшздщьфсн", "diplomacy", true);
    assert_swap("црфеэы", "what's", true);
    assert_swap("хъжэбюё", "[];',.`", true);
    assert_swap("ХЪЖЭБЮЁ", "[];',.`", true); /* no ':' or '"': those are query syntax */
    assert_swap("цифровая", "wbahjdfz", true);
}

static void test_qry_layout_keeps_query_syntax_and_operators(void **state)
{
    (void)state;
    assert_swap("wbahjdfz OR lbgkjvfnbz", "цифровая OR дипломатия", true);
    assert_swap("-wbahjdfz AND lbgk*", "-цифровая AND дипл*", true);
    assert_swap("\"wbahjdfz lbgkjvfnbz\"", "\"цифровая дипломатия\"", true);
    assert_swap("(ntcn)", "(тест)", true);
    assert_swap("title:x", "ешеду:ч", true);
    assert_swap("ыуфкср diplomacy", "search вшздщьфсн", true); /* each chunk its own way */
    assert_swap("  2024  !!! ", "  2024  !!! ", false);
    assert_swap("", "", false);
    assert_swap("日本 ω", "日本 ω", false);
}

static void test_qry_layout_round_trip(void **state)
{
    (void)state;
    const char keys[] = "qwertyuiopasdfghjklzxcvbnm[];',.`";
    unsigned seed = 7;
    for (int round = 0; round < 2000; round++) {
        char word[24];
        size_t len = 1 + (seed = seed * 1103515245u + 12345u) % (sizeof word - 2);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            word[i] = keys[(seed >> 16) % (sizeof keys - 1)];
        }
        word[0] = 'a' + (char)(seed % 26); /* a Latin letter decides the direction */
        word[len] = '\0';
        struct sd_buf once;
        struct sd_buf twice;
        sd_buf_init(&once);
        sd_buf_init(&twice);
        bool is_changed;
        assert_int_equal(qry_layout_swap(word, len, &once, &is_changed), SD_OK);
        assert_true(is_changed);
        assert_int_equal(once.len, 2 * len); /* every key is a 2-byte Cyrillic letter */
        assert_int_equal(qry_layout_swap((const char *)once.data, once.len, &twice, &is_changed),
                         SD_OK);
        assert_int_equal(twice.len, len);
        assert_memory_equal(twice.data, word, len);
        sd_buf_free(&once);
        sd_buf_free(&twice);
    }
}

static void test_qry_layout_invalid_utf8_is_copied(void **state)
{
    (void)state;
    assert_swap("\xd0 \xd1\x80\xff", "\xd0 h\xff", true);
    assert_swap("\xd0", "\xd0", false);
}

/* Only the chunks that hold one of the offsets are rewritten; the others stay as typed. */
static void assert_swap_at(const char *in, const uint32_t *at, size_t nat, const char *want,
                           bool want_changed)
{
    struct sd_buf out;
    sd_buf_init(&out);
    bool is_changed = !want_changed;
    assert_int_equal(qry_layout_swap_at(in, strlen(in), at, nat, &out, &is_changed), SD_OK);
    if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0) {
        fail_msg("'%s': got '%.*s', want '%s'", in, (int)out.len, (const char *)out.data, want);
    }
    assert_int_equal(is_changed, want_changed);
    sd_buf_free(&out);
}

static void test_qry_layout_swaps_only_the_chunks_asked(void **state)
{
    (void)state;
    const uint32_t second[] = {17}; /* "lbgkjvfnbz", after "цифровая " (16 bytes + space) */
    assert_swap_at("цифровая lbgkjvfnbz", second, 1, "цифровая дипломатия", true);
    const uint32_t first[] = {0};
    assert_swap_at("lbgkjvfnbz цифровая", first, 1, "дипломатия цифровая", true);
    const uint32_t inside[] = {12}; /* the middle of "вшздщьфсн" */
    assert_swap_at("digital вшздщьфсн", inside, 1, "digital diplomacy", true);
    const uint32_t both[] = {0, 11};
    assert_swap_at("lbgkjvfnbz wbahjdfz", both, 2, "дипломатия цифровая", true);
    assert_swap_at("iPhone xtvjlfy", (const uint32_t[]){7}, 1, "iPhone чемодан", true);
    assert_swap_at("цифровая lbgkjvfnbz", NULL, 0, "wbahjdfz дипломатия", true); /* all */
    const uint32_t space[] = {16}; /* the space between: no chunk */
    assert_swap_at("цифровая lbgkjvfnbz", space, 1, "цифровая lbgkjvfnbz", false);
    assert_swap_at("wbahjdfz OR lbgkjvfnbz", (const uint32_t[]){9}, 1, "wbahjdfz OR lbgkjvfnbz",
                   false); /* an operator's chunk stays */
    /* a Russian word (a letter on a punctuation key) is not English typed in ЙЦУКЕН */
    assert_swap_at("сужбу какое", first, 1, "сужбу какое", false);
    assert_swap_at("digital вшздщьфсн", inside, 1, "digital diplomacy", true);
    assert_swap_at("don't вщтэе", (const uint32_t[]){6}, 1, "don't don't", true); /* э is ' */
}

static void test_qry_layout_chunk_counts_space_separated_chunks(void **state)
{
    (void)state;
    const char *t = "  цифровая\t lbgkjvfnbz  x";
    size_t len = strlen(t);
    assert_int_equal(qry_layout_chunk(t, len, 0), 0); /* before the first: the first */
    assert_int_equal(qry_layout_chunk(t, len, 2), 0);
    assert_int_equal(qry_layout_chunk(t, len, 17), 0);
    assert_int_equal(qry_layout_chunk(t, len, 20), 1);
    assert_int_equal(qry_layout_chunk(t, len, len - 1), 2);
    /* a chunk keeps its number in the layout reading of the text */
    struct sd_buf out;
    sd_buf_init(&out);
    bool is_changed;
    assert_int_equal(qry_layout_swap(t, len, &out, &is_changed), SD_OK);
    const char *o = (const char *)out.data;
    assert_int_equal(qry_layout_chunk(o, out.len, (size_t)(strstr(o, "дипломатия") - o)), 1);
    sd_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_layout_latin_to_cyrillic_with_punctuation_keys),
        cmocka_unit_test(test_qry_layout_case_and_shifted_keys),
        cmocka_unit_test(test_qry_layout_cyrillic_to_latin),
        cmocka_unit_test(test_qry_layout_keeps_query_syntax_and_operators),
        cmocka_unit_test(test_qry_layout_round_trip),
        cmocka_unit_test(test_qry_layout_invalid_utf8_is_copied),
        cmocka_unit_test(test_qry_layout_swaps_only_the_chunks_asked),
        cmocka_unit_test(test_qry_layout_chunk_counts_space_separated_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
