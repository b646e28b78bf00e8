/*
 * stem_test.c: unit tests of stemmer/ (folding, stemming, the tokenizer walk, invalid UTF-8).
 *
 * Tokens are copied out of the callback into a small fixed table (struct collected), because
 * the pointers in a struct stem_token are valid only during the callback. The last test feeds
 * random bytes to stem_tokenize() and checks invariants on every token; it is meant to run
 * under ASan+UBSan (SD_SANITIZE=ON). Each input is a malloc'd block of exactly its length so
 * ASan sees any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <utf8proc.h>

#include "stem.h"

#define MAX_TOKENS 64

struct tok_copy {
    char word[STEM_MAX_TOKEN + 1];
    char stem[2 * STEM_MAX_TOKEN + 2];
    uint32_t pos;
    size_t offset;
    size_t len;
    enum stem_lang lang;
    bool is_compound;
};

struct collected {
    struct tok_copy toks[MAX_TOKENS];
    size_t count;
    size_t stop_at; /* return stop_value at this token (1-based); 0 = never */
    int stop_value;
};

static int collect_cb(void *arg, const struct stem_token *t)
{
    struct collected *c = arg;
    assert_true(c->count < MAX_TOKENS);
    struct tok_copy *d = &c->toks[c->count++];
    assert_int_equal(strlen(t->word), t->word_len); /* NUL-terminated, no NUL inside */
    assert_int_equal(strlen(t->stem), t->stem_len);
    memcpy(d->word, t->word, t->word_len + 1);
    assert_true(t->stem_len < sizeof d->stem);
    memcpy(d->stem, t->stem, t->stem_len + 1);
    d->pos = t->pos;
    d->offset = t->offset;
    d->len = t->len;
    d->lang = t->lang;
    d->is_compound = t->is_compound;
    return c->count == c->stop_at ? c->stop_value : 0;
}

/* Tokenizes a NUL-terminated test string from position 0 into c. Returns the result. */
static int tokenize(struct stem_ctx *ctx, const char *s, struct collected *c, uint32_t *next)
{
    memset(c, 0, sizeof *c);
    return stem_tokenize(ctx, s, strlen(s), 0, collect_cb, c, next);
}

static void assert_tok(const struct tok_copy *t, const char *word, uint32_t pos, size_t offset,
                       size_t len, bool is_compound)
{
    assert_string_equal(t->word, word);
    assert_int_equal(t->pos, pos);
    assert_int_equal(t->offset, offset);
    assert_int_equal(t->len, len);
    assert_int_equal(t->is_compound, is_compound);
}

static int setup(void **state)
{
    struct stem_ctx *ctx = NULL;
    if (stem_ctx_new(&ctx) != STEM_OK) {
        return -1;
    }
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    stem_ctx_free(*state);
    return 0;
}

/* Folds s with stem_fold and compares with want. */
static void assert_fold(const char *s, const char *want)
{
    char out[512];
    size_t n = 0;
    assert_int_equal(stem_fold(s, strlen(s), out, sizeof out, &n), STEM_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

/* ---- folding ---- */

static void test_stem_fold_yo_folds_to_ye(void **state)
{
    (void)state;
    assert_fold("Ёлка ёж ЁЖИК", "елка еж ежик");
    assert_fold("е\xCC\x88ж", "еж"); /* е + U+0308 composes to ё, then folds to е */
}

static void test_stem_fold_uppercase_cyrillic_lowercased(void **state)
{
    (void)state;
    assert_fold("ДИПЛОМАТИЯ", "дипломатия");
    assert_fold("ЀЉЏ", "ѐљџ"); /* U+0400..U+040F fold by +0x50 */
}

static void test_stem_fold_short_i_stays_one_code_point(void **state)
{
    (void)state;
    assert_fold("Й", "\xD0\xB9");                /* U+0439, not и + U+0306 */
    assert_fold("ЙОГ", "йог");                   /* through the fast path */
    assert_fold("и\xCC\x86", "\xD0\xB9");        /* decomposed input is composed */
    assert_fold("ЙОГА\xCC\x81", "йога");         /* slow path (a mark), й composed */
}

/* A combining acute or grave that NFC leaves alone is a stress mark, as dictionaries and
 * textbooks print Russian words: dropped, so "молоко" finds "молоко́". */
static void test_stem_fold_drops_stress_marks(void **state)
{
    (void)state;
    assert_fold("за\xCC\x81мок", "замок");         /* U+0301 inside */
    assert_fold("МОЛОКО\xCC\x81", "молоко");       /* at the end */
    assert_fold("что\xCC\x80", "что");             /* U+0300, a grave */
    assert_fold("cafe\xCC\x81", "caf\xC3\xA9");    /* composes: the accent is a letter's */
    assert_fold("\xCC\x81", "\xCC\x81");           /* nothing before it: kept */
    assert_fold("зе\xCC\x88\xCC\x81лка", "зелка"); /* ё then the mark, both folded */
    assert_true(stem_has_stress("за\xCC\x81мок", 9));
    assert_true(stem_has_stress("что\xCC\x80", 8));
    assert_false(stem_has_stress("caf\xC3\xA9 \xCC\x88", 8)); /* U+0308 is no stress mark */
    assert_false(stem_has_stress("\xCC", 1));
}

/* stem_ctx_keep_stress folds as indexes built before the rule hold such words. */
static void test_stem_keep_stress_folds_as_before(void **state)
{
    struct collected c;
    assert_int_equal(tokenize(*state, "Молоко\xCC\x81 за\xCC\x81мки", &c, NULL), STEM_OK);
    assert_int_equal(c.count, 2);
    assert_tok(&c.toks[0], "молоко", 0, 0, 14, false); /* the span keeps the mark */
    assert_string_equal(c.toks[0].stem, "молок");
    assert_tok(&c.toks[1], "замки", 1, 15, 12, false);
    assert_string_equal(c.toks[1].stem, "замк");
    stem_ctx_keep_stress(*state, true);
    assert_int_equal(tokenize(*state, "Молоко\xCC\x81 за\xCC\x81мки", &c, NULL), STEM_OK);
    stem_ctx_keep_stress(*state, false);
    assert_int_equal(c.count, 2);
    assert_tok(&c.toks[0], "молоко\xCC\x81", 0, 0, 14, false);
    assert_tok(&c.toks[1], "за\xCC\x81мки", 1, 15, 12, false);
    assert_int_equal(tokenize(*state, "за\xCC\x81мок", &c, NULL), STEM_OK);
    assert_string_equal(c.toks[0].word, "замок"); /* false is the default again */
}

static void test_stem_fold_sharp_s_folds_to_ss(void **state)
{
    (void)state;
    assert_fold("Straße", "strasse");
    assert_fold("STRAẞE", "strasse"); /* capital sharp s U+1E9E */
}

static void test_stem_fold_greek_lowercased_with_final_sigma(void **state)
{
    (void)state;
    assert_fold("ΣΟΦΊΑ", "σοφία");
    assert_fold("λόγος", "λόγοσ"); /* full case folding maps final sigma to σ */
}

static void test_stem_fold_keeps_other_characters(void **state)
{
    (void)state;
    assert_fold("Дипл*", "дипл*");
    assert_fold("Hello, World!", "hello, world!");
    assert_fold("", "");
    assert_fold("\xE2\x84\xAA", "k"); /* Kelvin sign */
}

static void test_stem_fold_drops_invalid_bytes(void **state)
{
    (void)state;
    assert_fold("a\xFF"
                "b\xC0\xAF"
                "c\xED\xA0\x80"
                "d",
                "abcd");
    assert_fold("ДОМ\xE2\x82", "дом"); /* truncated sequence at the end */
}

static void test_stem_fold_small_cap_returns_einval(void **state)
{
    (void)state;
    char out[4];
    size_t n;
    assert_int_equal(stem_fold("abc", 3, out, 4, &n), STEM_OK);
    assert_int_equal(stem_fold("abcd", 4, out, 4, &n), STEM_EINVAL); /* no room for the NUL */
    assert_int_equal(stem_fold("дом", 6, out, 4, &n), STEM_EINVAL);
    assert_int_equal(stem_fold("ßß", 4, out, 4, &n), STEM_EINVAL); /* grows to 4 bytes */
    assert_int_equal(stem_fold("a", 1, out, 0, &n), STEM_EINVAL);
}

/* The ASCII and basic Cyrillic fast path must agree with utf8proc on each code point. */
static void test_stem_fold_fast_path_matches_utf8proc(void **state)
{
    (void)state;
    const utf8proc_option_t opts = UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE | UTF8PROC_STABLE;
    for (int32_t cp = 1; cp <= 0x47F; cp++) {
        if (cp == 0x80) {
            cp = 0x400;
        }
        utf8proc_uint8_t in[8] = {0};
        utf8proc_ssize_t in_len = utf8proc_encode_char(cp, in);
        utf8proc_uint8_t *want = NULL;
        assert_true(utf8proc_map(in, in_len, &want, opts) >= 0);
        if (strcmp((char *)want, "ё") == 0) {
            strcpy((char *)want, "е");
        }
        char out[16];
        size_t n;
        assert_int_equal(stem_fold((char *)in, (size_t)in_len, out, sizeof out, &n), STEM_OK);
        if (strcmp(out, (char *)want) != 0) {
            fail_msg("U+%04X: folded to '%s', utf8proc says '%s'", (unsigned)cp, out, want);
        }
        free(want);
    }
}

/* ---- UTF-8 validation ---- */

static void test_stem_utf8_valid_accepts_well_formed(void **state)
{
    (void)state;
    const char *ok[] = {"",
                        "abc",
                        "дом",
                        "\xE2\x80\x90",
                        "\xF0\x9F\x98\x80",
                        "\xF4\x8F\xBF\xBF",
                        "\xEF\xBF\xBF",
                        "\xED\x9F\xBF",
                        "\xC2\x80"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_true(stem_utf8_valid(ok[i], strlen(ok[i])));
    }
    assert_true(stem_utf8_valid("a\0b", 3)); /* NUL is a character */
}

static void test_stem_utf8_valid_rejects_ill_formed(void **state)
{
    (void)state;
    const char *bad[] = {
        "\xFF",         "\x80",         "\xC0\xAF",         "\xC1\xBF",         "\xE0\x80\xAF",
        "\xED\xA0\x80", "\xED\xBF\xBF", "\xF0\x80\x80\xAF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
        "\xE2\x82",     "abc\xD0",      "\xC2\x41",         "\xE2\x28\xA1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (stem_utf8_valid(bad[i], strlen(bad[i]))) {
            fail_msg("case %zu accepted", i);
        }
    }
    assert_false(stem_utf8_valid("\xD0\xB4", 1)); /* the length cuts a valid sequence */
}

static void test_stem_utf8_invalid_at_names_the_first_bad_byte(void **state)
{
    (void)state;
    assert_int_equal(stem_utf8_invalid_at("", 0), 0);
    assert_int_equal(stem_utf8_invalid_at("дом", 6), 6);
    assert_int_equal(stem_utf8_invalid_at("ab\xFF", 3), 2);
    assert_int_equal(stem_utf8_invalid_at("дом \xED\xA0\x80 x", 12), 7); /* a surrogate */
    assert_int_equal(stem_utf8_invalid_at("abcdefghij\xC0\xAF", 12), 10); /* past the fast path */
    assert_int_equal(stem_utf8_invalid_at("\xD0\xB4\xD0", 3), 2); /* cut by the length */
    assert_int_equal(stem_utf8_invalid_at("\xD0\xB4", 1), 0);
}

/* ---- stem_word ---- */

/* Stems s and copies the stem into out. */
static void stem_copy(struct stem_ctx *ctx, const char *s, char *out, size_t cap)
{
    const char *stem;
    size_t n;
    assert_int_equal(stem_word(ctx, s, strlen(s), &stem, &n), STEM_OK);
    assert_true(n < cap);
    assert_int_equal(strlen(stem), n);
    memcpy(out, stem, n + 1);
}

static void assert_same_stem(struct stem_ctx *ctx, const char *a, const char *b)
{
    char sa[512];
    char sb[512];
    stem_copy(ctx, a, sa, sizeof sa);
    stem_copy(ctx, b, sb, sizeof sb);
    assert_string_equal(sa, sb);
    assert_true(strlen(sa) < strlen(a) || strcmp(sa, a) == 0);
}

static void test_stem_word_russian_inflections_share_stem(void **state)
{
    assert_same_stem(*state, "дипломатии", "дипломатию");
    assert_same_stem(*state, "дипломатии", "дипломатия");
    char s[64];
    stem_copy(*state, "дипломатия", s, sizeof s);
    assert_string_equal(s, "дипломат");
    stem_copy(*state, "актёр", s, sizeof s); /* stem_word does not fold; Snowball maps ё */
    assert_string_equal(s, "актер");
}

static void test_stem_word_english_inflections_share_stem(void **state)
{
    assert_same_stem(*state, "revolutions", "revolution");
    assert_same_stem(*state, "running", "runs");
    char s[64];
    stem_copy(*state, "mp3players", s, sizeof s); /* digits don't count: English */
    assert_string_equal(s, "mp3player");
}

static void test_stem_word_other_scripts_unstemmed(void **state)
{
    char s[64];
    stem_copy(*state, "abcабв", s, sizeof s);
    assert_string_equal(s, "abcабв");
    stem_copy(*state, "σοφίασ", s, sizeof s);
    assert_string_equal(s, "σοφίασ");
    stem_copy(*state, "12345", s, sizeof s);
    assert_string_equal(s, "12345");
    stem_copy(*state, "123котами", s, sizeof s); /* digits don't count: Russian */
    assert_string_equal(s, "123кот");
}

static void test_stem_word_empty_or_long_returns_einval(void **state)
{
    const char *stem;
    size_t n;
    char big[STEM_MAX_TOKEN + 2];
    memset(big, 'a', sizeof big);
    assert_int_equal(stem_word(*state, "", 0, &stem, &n), STEM_EINVAL);
    assert_int_equal(stem_word(*state, big, STEM_MAX_TOKEN + 1, &stem, &n), STEM_EINVAL);
    assert_int_equal(stem_word(*state, big, STEM_MAX_TOKEN, &stem, &n), STEM_OK);
    assert_int_equal(n, STEM_MAX_TOKEN);
}

static void test_stem_word_invalid_utf8_unstemmed_no_crash(void **state)
{
    const char *stem;
    size_t n;
    assert_int_equal(stem_word(*state, "ab\xFF", 3, &stem, &n), STEM_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(stem, "ab\xFF", 3);
}

/* Writes a distinct word for i: Latin for even i, Cyrillic (а..я spelled from i) for odd. */
static void make_word(int i, char *out, size_t cap)
{
    if (i % 2 == 0) {
        snprintf(out, cap, "revolution%c%c%cs", 'a' + i % 26, 'a' + i / 26 % 26, 'a' + i / 676);
        return;
    }
    char letters[7];
    for (int k = 0, v = i; k < 3; k++, v /= 32) {
        int32_t cp = 0x430 + v % 32;
        letters[2 * k] = (char)(0xC0 | (cp >> 6));
        letters[2 * k + 1] = (char)(0x80 | (cp & 0x3F));
    }
    letters[6] = '\0';
    snprintf(out, cap, "дом%sами", letters);
}

/* Distinct words are all cache misses the first time; stemming them again in reverse order
 * mixes hits and slots overwritten by colliding words. Both must give the first answers. */
static void test_stem_word_cached_stems_match_first_answers(void **state)
{
    enum { N = 6000 };
    static char words[N][32];
    static char stems[N][32];
    for (int i = 0; i < N; i++) {
        make_word(i, words[i], sizeof words[i]);
        stem_copy(*state, words[i], stems[i], sizeof stems[i]);
    }
    for (int i = N - 1; i >= 0; i--) {
        char s[32];
        stem_copy(*state, words[i], s, sizeof s);
        assert_string_equal(s, stems[i]);
    }
    assert_string_not_equal(stems[0], words[0]); /* both languages really were stemmed */
    assert_string_not_equal(stems[1], words[1]);
}

/* A context with a large cache answers like the default one, also for words it holds. */
static void test_stem_ctx_new_cached_same_stems(void **state)
{
    struct stem_ctx *big = NULL;
    assert_int_equal(stem_ctx_new_cached(&big, 50000), STEM_OK);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3000; i++) {
            char w[32], want[32], got[32];
            make_word(i, w, sizeof w);
            stem_copy(*state, w, want, sizeof want);
            stem_copy(big, w, got, sizeof got);
            assert_string_equal(got, want);
        }
    }
    stem_ctx_free(big);
}

/* ---- stem_tokenize ---- */

static void test_stem_tokenize_positions_and_byte_offsets(void **state)
{
    struct collected c;
    uint32_t next = 0;
    assert_int_equal(tokenize(*state, "Hello, МИР!  foo", &c, &next), STEM_OK);
    assert_int_equal(c.count, 3);
    assert_tok(&c.toks[0], "hello", 0, 0, 5, false);
    assert_tok(&c.toks[1], "мир", 1, 7, 6, false);
    assert_tok(&c.toks[2], "foo", 2, 16, 3, false);
    assert_int_equal(next, 3);
    assert_int_equal(c.toks[0].lang, STEM_LANG_EN);
    assert_int_equal(c.toks[1].lang, STEM_LANG_RU);
}

static void test_stem_tokenize_first_pos_continues_field(void **state)
{
    struct collected c = {0};
    uint32_t next = 0;
    const char *s = "два слова";
    assert_int_equal(stem_tokenize(*state, s, strlen(s), 100, collect_cb, &c, &next), STEM_OK);
    assert_int_equal(c.count, 2);
    assert_int_equal(c.toks[0].pos, 100);
    assert_int_equal(c.toks[1].pos, 101);
    assert_int_equal(next, 102);
    assert_int_equal(stem_tokenize(*state, s, strlen(s), 7, collect_cb, &c, NULL), STEM_OK);
}

static void test_stem_tokenize_stems_inflections_alike(void **state)
{
    struct collected c;
    assert_int_equal(tokenize(*state, "Дипломатии ДИПЛОМАТИЮ Revolutions revolution", &c, NULL),
                     STEM_OK);
    assert_int_equal(c.count, 4);
    assert_string_equal(c.toks[0].stem, c.toks[1].stem);
    assert_string_equal(c.toks[0].word, "дипломатии");
    assert_string_equal(c.toks[2].stem, c.toks[3].stem);
    assert_string_equal(c.toks[2].word, "revolutions");
}

static void test_stem_tokenize_hyphen_emits_parts_and_compound(void **state)
{
    struct collected c;
    uint32_t next;
    assert_int_equal(tokenize(*state, "an E-mail.", &c, &next), STEM_OK);
    assert_int_equal(c.count, 4);
    assert_tok(&c.toks[0], "an", 0, 0, 2, false);
    assert_tok(&c.toks[1], "e", 1, 3, 1, false);
    assert_tok(&c.toks[2], "email", 1, 3, 6, true);
    assert_tok(&c.toks[3], "mail", 2, 5, 4, false);
    assert_int_equal(next, 3);
}

static void test_stem_tokenize_chain_emits_one_joined_form(void **state)
{
    struct collected c;
    uint32_t next;
    assert_int_equal(tokenize(*state, "a-b-c d", &c, &next), STEM_OK);
    assert_int_equal(c.count, 5);
    assert_tok(&c.toks[0], "a", 0, 0, 1, false);
    assert_tok(&c.toks[1], "abc", 0, 0, 5, true);
    assert_tok(&c.toks[2], "b", 1, 2, 1, false);
    assert_tok(&c.toks[3], "c", 2, 4, 1, false);
    assert_tok(&c.toks[4], "d", 3, 6, 1, false);
    assert_int_equal(next, 4);
}

static void test_stem_tokenize_unicode_hyphens_join(void **state)
{
    struct collected c;
    /* U+2010 between Cyrillic words, U+2011 between Latin ones */
    assert_int_equal(tokenize(*state, "Северо\xE2\x80\x90Запад x\xE2\x80\x91y", &c, NULL), 0);
    assert_int_equal(c.count, 6);
    assert_tok(&c.toks[0], "северо", 0, 0, 12, false);
    assert_tok(&c.toks[1], "северозапад", 0, 0, 25, true);
    assert_tok(&c.toks[2], "запад", 1, 15, 10, false);
    assert_int_equal(c.toks[1].lang, STEM_LANG_RU);
    assert_tok(&c.toks[3], "x", 2, 26, 1, false);
    assert_tok(&c.toks[4], "xy", 2, 26, 5, true);
    assert_tok(&c.toks[5], "y", 3, 30, 1, false);
}

static void test_stem_tokenize_apostrophes_join(void **state)
{
    struct collected c;
    assert_int_equal(tokenize(*state, "Don't don\xE2\x80\x99t", &c, NULL), STEM_OK);
    assert_int_equal(c.count, 6);
    assert_tok(&c.toks[0], "don", 0, 0, 3, false);
    assert_tok(&c.toks[1], "dont", 0, 0, 5, true);
    assert_tok(&c.toks[2], "t", 1, 4, 1, false);
    assert_tok(&c.toks[3], "don", 2, 6, 3, false);
    assert_tok(&c.toks[4], "dont", 2, 6, 7, true);
    assert_tok(&c.toks[5], "t", 3, 12, 1, false);
}

/* Soft hyphens (typeset books, web pages), zero-width characters and a BOM left mid-text by
 * joined files sit inside words a reader sees whole: the word is indexed joined, and by its
 * parts as when they separated words (stem.h). */
static void test_stem_tokenize_invisible_characters_join(void **state)
{
    static const char *invisible[] = {
        "\xC2\xAD",     /* U+00AD SOFT HYPHEN */
        "\xE2\x80\x8B", /* U+200B ZERO WIDTH SPACE */
        "\xE2\x80\x8C", /* U+200C ZERO WIDTH NON-JOINER */
        "\xE2\x80\x8D", /* U+200D ZERO WIDTH JOINER */
        "\xE2\x81\xA0", /* U+2060 WORD JOINER */
        "\xEF\xBB\xBF", /* U+FEFF ZERO WIDTH NO-BREAK SPACE, the BOM */
    };
    for (size_t i = 0; i < sizeof invisible / sizeof invisible[0]; i++) {
        char text[64];
        size_t k = strlen(invisible[i]);
        snprintf(text, sizeof text, "Инфор%sмации x", invisible[i]);
        struct collected c;
        uint32_t next;
        assert_int_equal(tokenize(*state, text, &c, &next), STEM_OK);
        assert_int_equal(c.count, 4);
        assert_tok(&c.toks[0], "инфор", 0, 0, 10, false);
        assert_tok(&c.toks[1], "информации", 0, 0, 20 + k, true);
        assert_string_equal(c.toks[1].stem, "информац");
        assert_int_equal(c.toks[1].lang, STEM_LANG_RU);
        assert_tok(&c.toks[2], "мации", 1, 10 + k, 10, false);
        assert_tok(&c.toks[3], "x", 2, 21 + k, 1, false);
        assert_int_equal(next, 3); /* positions as when they were separators */
    }
    /* at a word's edge, or two in a row, they still separate */
    struct collected c;
    assert_int_equal(tokenize(*state,
                              "\xEF\xBB\xBF"
                              "a\xC2\xAD b\xC2\xAD\xC2\xAD"
                              "c",
                              &c, NULL),
                     0);
    assert_int_equal(c.count, 3);
    assert_tok(&c.toks[0], "a", 0, 3, 1, false);
    assert_tok(&c.toks[1], "b", 1, 7, 1, false);
    assert_tok(&c.toks[2], "c", 2, 12, 1, false);
}

static void test_stem_tokenize_lone_joiners_separate(void **state)
{
    struct collected c;
    assert_int_equal(tokenize(*state, "a--b c- -d 'e' f - g", &c, NULL), STEM_OK);
    const char *want[] = {"a", "b", "c", "d", "e", "f", "g"};
    assert_int_equal(c.count, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(c.toks[i].word, want[i]);
        assert_int_equal(c.toks[i].pos, i);
        assert_false(c.toks[i].is_compound);
    }
}

static void test_stem_tokenize_language_by_token(void **state)
{
    struct collected c;
    assert_int_equal(tokenize(*state, "mp3 кот123 abcабв 2024 σοφία котов", &c, NULL), 0);
    assert_int_equal(c.count, 6);
    assert_int_equal(c.toks[0].lang, STEM_LANG_EN);
    assert_int_equal(c.toks[1].lang, STEM_LANG_RU);
    assert_int_equal(c.toks[2].lang, STEM_LANG_NONE);
    assert_string_equal(c.toks[2].stem, "abcабв");
    assert_int_equal(c.toks[3].lang, STEM_LANG_NONE);
    assert_string_equal(c.toks[3].stem, "2024");
    assert_int_equal(c.toks[4].lang, STEM_LANG_NONE);
    assert_string_equal(c.toks[4].stem, "σοφία");
    assert_string_equal(c.toks[5].stem, "кот");
}

static void test_stem_tokenize_combining_marks_stay_in_word(void **state)
{
    struct collected c;
    /* e + U+0301 composes; Cyrillic о + U+0301 (stress mark) has no composed form, so the
     * mark is dropped from the folded word but stays in its span */
    assert_int_equal(tokenize(*state, "Cafe\xCC\x81 мо\xCC\x81ре", &c, NULL), STEM_OK);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.toks[0].word, "caf\xC3\xA9");
    assert_int_equal(c.toks[0].lang, STEM_LANG_EN);
    assert_int_equal(c.toks[0].len, 6);
    assert_string_equal(c.toks[1].word, "море");
    assert_int_equal(c.toks[1].len, 10);
    assert_int_equal(c.toks[1].lang, STEM_LANG_RU);
}

static void test_stem_tokenize_invalid_bytes_separate_words(void **state)
{
    struct collected c;
    const char s[] = "дом\xFF"
                     "кот abc\xC0\xAF"
                     "def x\xED\xA0\x80y end\xE2\x82";
    assert_int_equal(tokenize(*state, s, &c, NULL), STEM_OK);
    const char *want[] = {"дом", "кот", "abc", "def", "x", "y", "end"};
    const size_t off[] = {0, 7, 14, 19, 23, 27, 29};
    assert_int_equal(c.count, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_tok(&c.toks[i], want[i], (uint32_t)i, off[i], strlen(want[i]), false);
    }
}

static void test_stem_tokenize_invalid_byte_breaks_compound(void **state)
{
    struct collected c;
    assert_int_equal(tokenize(*state,
                              "a-\xFF"
                              "b c\xFF-d",
                              &c, NULL),
                     STEM_OK);
    assert_int_equal(c.count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_false(c.toks[i].is_compound);
    }
}

/* Like collect_cb for stem_tokenize_words: no stem, so the stem is taken from stem_word. */
static int collect_words_cb(void *arg, const struct stem_token *t)
{
    struct collected *c = arg;
    assert_null(t->stem);
    assert_int_equal(t->stem_len, 0);
    assert_int_equal(t->lang, STEM_LANG_NONE);
    assert_true(c->count < MAX_TOKENS);
    struct tok_copy *d = &c->toks[c->count++];
    memcpy(d->word, t->word, t->word_len + 1);
    d->pos = t->pos;
    d->offset = t->offset;
    d->len = t->len;
    d->is_compound = t->is_compound;
    return 0;
}

static void test_stem_tokenize_words_same_tokens_stem_word_same_stems(void **state)
{
    char s[600] = "Северо-Западный e-mail don't Ёлки бегущие running \xFF x\xCC\x81y αθήνα ";
    size_t n = strlen(s);
    memset(s + n, 'q', 300); /* too long: skipped, keeps its position */
    memcpy(s + n + 300, " tail", 6);
    struct collected a, b;
    uint32_t next_a, next_b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    assert_int_equal(stem_tokenize(*state, s, strlen(s), 3, collect_cb, &a, &next_a), STEM_OK);
    assert_int_equal(stem_tokenize_words(*state, s, strlen(s), 3, collect_words_cb, &b, &next_b),
                     STEM_OK);
    assert_int_equal(next_a, next_b);
    assert_int_equal(a.count, b.count);
    for (size_t i = 0; i < a.count; i++) {
        assert_tok(&b.toks[i], a.toks[i].word, a.toks[i].pos, a.toks[i].offset, a.toks[i].len,
                   a.toks[i].is_compound);
        const char *st;
        size_t st_len;
        assert_int_equal(stem_word(*state, b.toks[i].word, strlen(b.toks[i].word), &st, &st_len),
                         STEM_OK);
        assert_string_equal(st, a.toks[i].stem);
    }
}

static void test_stem_tokenize_reads_only_len_bytes(void **state)
{
    char *buf = malloc(6);
    memcpy(buf, "abcdef", 6); /* no NUL anywhere */
    struct collected c = {0};
    assert_int_equal(stem_tokenize(*state, buf, 3, 0, collect_cb, &c, NULL), STEM_OK);
    assert_int_equal(c.count, 1);
    assert_string_equal(c.toks[0].word, "abc");
    memset(&c, 0, sizeof c);
    assert_int_equal(stem_tokenize(*state, buf, 6, 0, collect_cb, &c, NULL), STEM_OK);
    assert_string_equal(c.toks[0].word, "abcdef");
    memcpy(buf, "ab\xD0\xB4\xD0", 5); /* a truncated sequence ending exactly at len */
    memset(&c, 0, sizeof c);
    assert_int_equal(stem_tokenize(*state, buf, 5, 0, collect_cb, &c, NULL), STEM_OK);
    assert_int_equal(c.count, 1);
    assert_string_equal(c.toks[0].word, "abд");
    free(buf);
}

static void test_stem_tokenize_empty_input_reports_nothing(void **state)
{
    struct collected c = {0};
    uint32_t next = 0;
    assert_int_equal(stem_tokenize(*state, NULL, 0, 5, collect_cb, &c, &next), STEM_OK);
    assert_int_equal(next, 5);
    assert_int_equal(tokenize(*state, " ,.- '\t\n", &c, &next), STEM_OK);
    assert_int_equal(c.count, 0);
    assert_int_equal(next, 0);
    assert_int_equal(stem_tokenize(*state, NULL, 1, 0, collect_cb, &c, NULL), STEM_EINVAL);
}

static void test_stem_tokenize_callback_stop_value_returned(void **state)
{
    struct collected c = {0};
    c.stop_at = 2;
    c.stop_value = 42;
    uint32_t next = 0;
    const char *s = "one two three";
    assert_int_equal(stem_tokenize(*state, s, strlen(s), 0, collect_cb, &c, &next), 42);
    assert_int_equal(c.count, 2);
    assert_int_equal(next, 2);
    memset(&c, 0, sizeof c); /* stop on the joined form of a compound */
    c.stop_at = 2;
    c.stop_value = -7;
    s = "e-mail x";
    assert_int_equal(stem_tokenize(*state, s, strlen(s), 0, collect_cb, &c, &next), -7);
    assert_int_equal(c.count, 2);
    assert_true(c.toks[1].is_compound);
    assert_int_equal(next, 1);
}

static void test_stem_tokenize_long_token_skipped_keeps_position(void **state)
{
    char s[4096];
    struct collected c;
    memset(s, 'A', 300); /* too long */
    strcpy(s + 300, " b ");
    memset(s + 303, 'z', STEM_MAX_TOKEN); /* exactly the limit */
    strcpy(s + 303 + STEM_MAX_TOKEN, " c");
    assert_int_equal(tokenize(*state, s, &c, NULL), STEM_OK);
    assert_int_equal(c.count, 3);
    assert_tok(&c.toks[0], "b", 1, 301, 1, false);
    assert_int_equal(strlen(c.toks[1].word), STEM_MAX_TOKEN);
    assert_int_equal(c.toks[1].pos, 2);
    assert_tok(&c.toks[2], "c", 3, 304 + STEM_MAX_TOKEN, 1, false);

    size_t o = 0; /* 128 Cyrillic letters are 256 bytes folded */
    for (int i = 0; i < 128; i++) {
        o += (size_t)sprintf(s + o, "Ж");
    }
    strcpy(s + o, " b");
    assert_int_equal(tokenize(*state, s, &c, NULL), STEM_OK);
    assert_int_equal(c.count, 1);
    assert_tok(&c.toks[0], "b", 1, o + 1, 1, false);
}

static void test_stem_tokenize_long_compound_drops_joined_only(void **state)
{
    char s[1024];
    struct collected c;
    memset(s, 'a', 200);
    s[200] = '-';
    memset(s + 201, 'b', 100); /* parts fit, the joined form (300 bytes) does not */
    strcpy(s + 301, "-c");
    assert_int_equal(tokenize(*state, s, &c, NULL), STEM_OK);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.toks[0].pos, 0);
    assert_int_equal(c.toks[1].pos, 1);
    assert_tok(&c.toks[2], "c", 2, 302, 1, false);
    memset(s, 'a', 300); /* the first part is too long: only the later parts remain */
    strcpy(s + 300, "-b-c");
    assert_int_equal(tokenize(*state, s, &c, NULL), STEM_OK);
    assert_int_equal(c.count, 2);
    assert_tok(&c.toks[0], "b", 1, 301, 1, false);
    assert_tok(&c.toks[1], "c", 2, 303, 1, false);
}

/* ---- random input ---- */

struct fuzz_check {
    const char *text;
    size_t len;
    uint32_t last_pos;
    size_t count;
};

static int fuzz_cb(void *arg, const struct stem_token *t)
{
    struct fuzz_check *f = arg;
    assert_true(t->word_len > 0 && t->word_len <= STEM_MAX_TOKEN);
    assert_true(stem_utf8_valid(t->word, t->word_len));
    assert_true(t->offset < f->len && t->len <= f->len - t->offset);
    assert_true(t->pos >= f->last_pos);
    assert_true(stem_utf8_valid(f->text + t->offset, t->len));
    if (!t->is_compound) { /* a plain word is the fold of its source span */
        char out[STEM_MAX_TOKEN + 1];
        size_t n;
        assert_int_equal(stem_fold(f->text + t->offset, t->len, out, sizeof out, &n), STEM_OK);
        assert_memory_equal(out, t->word, n + 1);
    }
    f->last_pos = t->pos;
    f->count++;
    return 0;
}

/* Appends a random fragment: a random byte, or a piece with hyphens, marks or multibyte. */
static size_t random_fragment(char *out, unsigned *seed)
{
    static const char *pieces[] = {"a",
                                   "Z",
                                   "9",
                                   "-",
                                   "'",
                                   "\xE2\x80\x99",
                                   "\xE2\x80\x90",
                                   "д",
                                   "Ё",
                                   "й",
                                   "\xCC\x81",
                                   "ß",
                                   "σ",
                                   " ",
                                   "\xF0\x9F\x98\x80",
                                   "\xED\xA0\x80",
                                   "\xC0\xAF",
                                   "\xE2\x82",
                                   "\xD0",
                                   "\xE2\x84\xAA"};
    int r = rand_r(seed);
    if (r % 3 == 0) {
        out[0] = (char)(rand_r(seed) & 0xFF);
        return 1;
    }
    const char *p = pieces[(size_t)r % (sizeof pieces / sizeof pieces[0])];
    size_t n = strlen(p);
    memcpy(out, p, n);
    return n;
}

static void test_stem_tokenize_random_bytes_never_crash(void **state)
{
    unsigned seed = 12345;
    char tmp[4096];
    for (int iter = 0; iter < 20000; iter++) {
        size_t want = (size_t)rand_r(&seed) % (iter % 100 == 0 ? 3000 : 64);
        size_t len = 0;
        while (len < want) {
            len += random_fragment(tmp + len, &seed);
        }
        char *text = malloc(len ? len : 1); /* exact size: ASan catches any over-read */
        memcpy(text, tmp, len);
        struct fuzz_check f = {.text = text, .len = len};
        uint32_t next = 0;
        assert_int_equal(stem_tokenize(*state, text, len, 0, fuzz_cb, &f, &next), STEM_OK);
        assert_true(f.count == 0 || next > f.last_pos);
        char out[64];
        size_t n;
        int rc = stem_fold(text, len, out, sizeof out, &n);
        assert_true(rc == STEM_OK || rc == STEM_EINVAL);
        free(text);
    }
}

/* Stems of stem_tokenize, in order, to compare with stem_word's between tokens. */
struct stems_seen {
    char stems[64][STEM_MAX_TOKEN + 1];
    size_t count;
    struct stem_ctx *ctx;
};

static int keep_stem(void *arg, const struct stem_token *tok)
{
    struct stems_seen *s = arg;
    if (s->count < 64) {
        snprintf(s->stems[s->count++], sizeof s->stems[0], "%s", tok->stem);
    }
    return 0;
}

static int stem_between_tokens(void *arg, const struct stem_token *tok)
{
    struct stems_seen *s = arg;
    char word[STEM_MAX_TOKEN + 1];
    snprintf(word, sizeof word, "%s", tok->word);
    const char *stem;
    size_t n;
    assert_int_equal(stem_word(s->ctx, tok->word, tok->word_len, &stem, &n), STEM_OK);
    assert_string_equal(tok->word, word); /* the token is intact */
    assert_true(s->count < 64);
    assert_string_equal(stem, s->stems[s->count++]);
    return 0;
}

/* highlight.c relies on both: it tokenizes without stems and stems, between tokens, only the
 * words that start like a query word's stem. (Words as the tokenizer gives them: folded, ё
 * as е.) */
static void test_stem_word_keeps_the_first_character_and_works_between_tokens(void **state)
{
    static const char *const tricky[] = {"dying", "lying", "skies", "happy",  "youth", "yelled",
                                         "early", "ugly",  "news",  "generously", "ёлками",
                                         "ёжиков", "йогурта", "ъ", "ь", "ыыы"};
    static const char *const starts[] = {"к", "д", "п", "с", "е", "я", "ю", "э", "b", "y", "a", "i"};
    static const char *const ends[] = {"ами", "ями", "ого", "ему", "ость", "ение", "ies", "ying",
                                       "ed", "ly", "ness", "ation", "", "s"};
    const char *stem;
    size_t n;
    char w[64];
    size_t len;
    for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++) {
        assert_int_equal(stem_fold(tricky[i], strlen(tricky[i]), w, sizeof w, &len), STEM_OK);
        assert_int_equal(stem_word(*state, w, len, &stem, &n), STEM_OK);
        assert_memory_equal(stem, w, ((unsigned char)w[0] & 0x80) ? 2 : 1);
    }
    unsigned seed = 7;
    for (int iter = 0; iter < 20000; iter++) {
        const char *a = starts[(size_t)rand_r(&seed) % (sizeof starts / sizeof starts[0])];
        bool is_ru = ((unsigned char)a[0] & 0x80) != 0;
        len = (size_t)snprintf(w, sizeof w, "%s", a);
        for (int k = rand_r(&seed) % 6; k > 0; k--) {
            static const char *const ru = "аоеиукнрлст";
            static const char *const en = "aoeiuknrlst";
            size_t j = (size_t)rand_r(&seed) % 11;
            len += is_ru ? (size_t)snprintf(w + len, sizeof w - len, "%.2s", ru + 2 * j)
                         : (size_t)snprintf(w + len, sizeof w - len, "%c", en[j]);
        }
        const char *e = ends[(size_t)rand_r(&seed) % (sizeof ends / sizeof ends[0])];
        if (is_ru == (((unsigned char)e[0] & 0x80) != 0)) {
            len += (size_t)snprintf(w + len, sizeof w - len, "%s", e);
        }
        assert_int_equal(stem_word(*state, w, len, &stem, &n), STEM_OK);
        assert_memory_equal(stem, a, strlen(a));
    }
    const char *text = "Цифровая дипломатия, ёлки и e-mail: the dying skies were happily "
                       "generalized; коты котов не-кот.";
    struct stems_seen seen = {.ctx = *state};
    assert_int_equal(stem_tokenize(*state, text, strlen(text), 0, keep_stem, &seen, NULL), STEM_OK);
    size_t count = seen.count;
    seen.count = 0;
    assert_int_equal(
        stem_tokenize_words(*state, text, strlen(text), 0, stem_between_tokens, &seen, NULL),
        STEM_OK);
    assert_int_equal(seen.count, count);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stem_fold_yo_folds_to_ye),
        cmocka_unit_test_setup_teardown(
            test_stem_word_keeps_the_first_character_and_works_between_tokens, setup, teardown),
        cmocka_unit_test(test_stem_fold_uppercase_cyrillic_lowercased),
        cmocka_unit_test(test_stem_fold_short_i_stays_one_code_point),
        cmocka_unit_test(test_stem_fold_sharp_s_folds_to_ss),
        cmocka_unit_test(test_stem_fold_greek_lowercased_with_final_sigma),
        cmocka_unit_test(test_stem_fold_keeps_other_characters),
        cmocka_unit_test(test_stem_fold_drops_invalid_bytes),
        cmocka_unit_test(test_stem_fold_small_cap_returns_einval),
        cmocka_unit_test(test_stem_fold_fast_path_matches_utf8proc),
        cmocka_unit_test(test_stem_fold_drops_stress_marks),
        cmocka_unit_test_setup_teardown(test_stem_keep_stress_folds_as_before, setup, teardown),
        cmocka_unit_test(test_stem_utf8_valid_accepts_well_formed),
        cmocka_unit_test(test_stem_utf8_valid_rejects_ill_formed),
        cmocka_unit_test(test_stem_utf8_invalid_at_names_the_first_bad_byte),
        cmocka_unit_test_setup_teardown(test_stem_word_russian_inflections_share_stem, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_word_english_inflections_share_stem, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_word_other_scripts_unstemmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_word_empty_or_long_returns_einval, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_word_invalid_utf8_unstemmed_no_crash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_ctx_new_cached_same_stems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_word_cached_stems_match_first_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_positions_and_byte_offsets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_first_pos_continues_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_stems_inflections_alike, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_hyphen_emits_parts_and_compound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_chain_emits_one_joined_form, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_unicode_hyphens_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_apostrophes_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_invisible_characters_join, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_lone_joiners_separate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_language_by_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_combining_marks_stay_in_word, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_invalid_bytes_separate_words, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_invalid_byte_breaks_compound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_words_same_tokens_stem_word_same_stems,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_reads_only_len_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_empty_input_reports_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_callback_stop_value_returned, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_long_token_skipped_keeps_position, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_long_compound_drops_joined_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stem_tokenize_random_bytes_never_crash, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
