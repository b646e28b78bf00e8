/*
 * query_parse_test.c: the query parser, construct by construct, and every
 * error with its offset. Trees are compared as S-expressions (dump below):
 *   (and A B) (or A B) (not A)   word: stem/exact   ="exact"   "a b" phrase
 *   pre* prefix   field:X   a restriction on a leaf
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query_int.h"

static struct qry_ctx *g_ctx;

static int setup(void **state)
{
    (void)state;
    return qry_ctx_new(&g_ctx);
}

static int teardown(void **state)
{
    (void)state;
    qry_ctx_free(g_ctx);
    return 0;
}

static void put(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

static void dump_node(const struct qry *q, int32_t i, char *buf, size_t cap)
{
    const struct qry_node *n = &q->nodes[i];
    static const char *names[] = {"", "and", "or", "not"};
    if (n->type <= QN_NOT) {
        bool is_typing = n->type == QN_OR && n->syn_role == QRY_SYN_TYPING;
        bool is_any = n->type == QN_OR && n->syn_role == QRY_SYN_ANY;
        put(buf, cap, "(%s", is_typing ? "typing" : is_any ? "any" : names[n->type]);
        for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
            put(buf, cap, " ");
            dump_node(q, c, buf, cap);
        }
        put(buf, cap, ")");
        return;
    }
    if (n->field != QRY_ALL_FIELDS) {
        put(buf, cap, "%s:", qry_field_name(q, (size_t)n->field));
    }
    const struct qry_term *t = &q->terms[n->term];
    switch (n->type) {
    case QN_WORD: /* "=" when the form matches in the stem's place */
        put(buf, cap, "%s%s/%s", t->kind == SEG_EXACT ? "=" : "", qry_term_str(q, t),
            qry_term_str(q, t + 1));
        break;
    case QN_EXACT:
        put(buf, cap, "=%s", qry_term_str(q, t));
        break;
    case QN_PREFIX:
        put(buf, cap, "%s*", qry_term_str(q, t));
        break;
    default:
        put(buf, cap, "\"");
        for (uint32_t k = 0; k < n->term_count; k++) {
            put(buf, cap, k ? " %s" : "%s", qry_term_str(q, &t[k]));
            if (t[k].rel_pos != k) {
                put(buf, cap, "@%u", t[k].rel_pos);
            }
        }
        put(buf, cap, "\"");
    }
}

static void assert_tree(const char *text, const char *want)
{
    struct qry *q = NULL;
    struct sd_error err = {0};
    int rc = qry_parse(g_ctx, text, strlen(text), &q, &err);
    if (rc) {
        fail_msg("'%s': %s", text, err.msg);
    }
    char buf[2048] = "";
    dump_node(q, q->root, buf, sizeof buf);
    if (strcmp(buf, want) != 0) {
        fail_msg("'%s': got %s, want %s", text, buf, want);
    }
    qry_free(q);
}

static void assert_error_len(const char *text, size_t len, int code, const char *msg)
{
    struct qry *q = NULL;
    struct sd_error err = {0};
    int rc = qry_parse(g_ctx, text, len, &q, &err);
    if (rc != code) {
        fail_msg("'%s': rc %d, want %d (%s)", text, rc, code, err.msg);
    }
    if (msg && strcmp(err.msg, msg) != 0) {
        fail_msg("'%s': message '%s', want '%s'", text, err.msg, msg);
    }
    assert_true(code == SD_OK ? q != NULL : q == NULL);
    qry_free(q);
}

static void assert_error(const char *text, const char *msg)
{
    assert_error_len(text, strlen(text), SD_EPARSE, msg);
}

/* ---- constructs ---- */

static void test_qry_parse_word_is_stem_and_exact(void **state)
{
    (void)state;
    assert_tree("Running", "run/running");
    assert_tree("дипломатии", "дипломат/дипломатии");
}

/* Snowball strips some short words down to other words; those match by their form. */
static void test_qry_parse_word_whose_stem_does_not_stand_for_it_is_its_form(void **state)
{
    (void)state;
    assert_tree("ИИ", "=ии/ии");            /* not "и", the conjunction */
    assert_tree("дай", "=дай/дай");         /* not "да" */
    assert_tree("its ids", "(and =its/its =ids/ids)");
    assert_tree("и", "и/и");                /* a stem that is the word stands for it */
    assert_tree("сми", "сми/сми");
    assert_tree("дома", "дом/дома");        /* four characters are stemmed */
    assert_tree("учиться", "уч/учиться");   /* however short the stem */
}

static void test_qry_parse_words_are_anded(void **state)
{
    (void)state;
    assert_tree("cats dogs", "(and cat/cats dog/dogs)");
    assert_tree("cats AND dogs", "(and cat/cats dog/dogs)");
}

static void test_qry_parse_or_binds_tighter_than_and(void **state)
{
    (void)state;
    assert_tree("cats dogs OR mice", "(and cat/cats (or dog/dogs mice/mice))");
    assert_tree("cats OR dogs OR mice", "(or cat/cats dog/dogs mice/mice)");
    assert_tree("cats OR dogs mice", "(and (or cat/cats dog/dogs) mice/mice)");
}

static void test_qry_parse_lowercase_or_is_a_word(void **state)
{
    (void)state;
    assert_tree("cats or dogs", "(and cat/cats or/or dog/dogs)");
    assert_tree("cats And dogs", "(and cat/cats and/and dog/dogs)");
}

static void test_qry_parse_exclusion(void **state)
{
    (void)state;
    assert_tree("cats -dogs", "(and cat/cats (not dog/dogs))");
    assert_tree("cats -(dogs mice)", "(and cat/cats (not (and dog/dogs mice/mice)))");
    assert_tree("cats - dogs", "(and cat/cats dog/dogs)"); /* a lone '-' is no operator */
}

static void test_qry_parse_groups(void **state)
{
    (void)state;
    assert_tree("(cats OR dogs) mice", "(and (or cat/cats dog/dogs) mice/mice)");
    assert_tree("(cats dogs) mice", "(and cat/cats dog/dogs mice/mice)");
    assert_tree("(-dogs) cats", "(and (not dog/dogs) cat/cats)");
    assert_tree("((cats))", "cat/cats");
}

static void test_qry_parse_phrase(void **state)
{
    (void)state;
    assert_tree("\"Big Cats\"", "\"big cats\"");
    assert_tree("\"cats\"", "=cats");
    assert_tree("dogs \"\"", "dog/dogs");
}

/* A compound in a phrase: the phrase of its parts, or of its joined form in their place, each
 * word after it one position on from the joined form, so "new e-mail here" finds "new email
 * here" (and "new e-mail here" with the parts) as e-mail finds email outside a phrase. */
static void test_qry_parse_phrase_with_compounds_reads_them_joined_too(void **state)
{
    (void)state;
    assert_tree("\"e-mail me\"", "(or \"e mail me\" \"email me\")");
    assert_tree("\"new e-mail here\"", "(or \"new e mail here\" \"new email here\")");
    assert_tree("\"e-mail\"", "(or \"e mail\" =email)");
    assert_tree("\"a state-of-the-art wi-fi b\"",
                "(or \"a state of the art wi fi b\" \"a stateoftheart wifi b\")");
    assert_tree("\"северо-западный округ\"",
                "(or \"северо западный округ\" \"северозападный округ\")");
    assert_tree("\"node.js e-mail\"", "(or \"node js e mail\" \"node js email\")");
    /* the joined reading's words would pass QRY_MAX_TERMS: the phrase of the parts alone */
    char text[512] = "\"";
    for (int i = 0; i < 40; i++) {
        put(text, sizeof text, "w%d ", i);
    }
    put(text, sizeof text, "e-mail\"");
    struct qry *q = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_parse(g_ctx, text, strlen(text), &q, &err), SD_OK);
    assert_int_equal(q->nodes[q->root].type, QN_PHRASE);
    assert_int_equal(q->nodes[q->root].term_count, 42);
    qry_free(q);
}

/* A stress mark is dropped from words (stem.h), but indexes built before that hold the word
 * with it: a query typed with one looks for both forms. */
static void test_qry_parse_stress_mark_looks_for_both_forms(void **state)
{
    (void)state;
    assert_tree("замок", "замок/замок");
    assert_tree("за\xCC\x81мок", "(or замок/замок за\xCC\x81мок/за\xCC\x81мок)");
    assert_tree("\"за\xCC\x81мок стоит\"", "(or \"замок стоит\" \"за\xCC\x81мок стоит\")");
    assert_tree("за\xCC\x81м*", "(or зам* за\xCC\x81м*)");
    assert_tree("\"за\xCC\x81мок\"", "(or =замок =за\xCC\x81мок)");
}

static void test_qry_parse_prefix(void **state)
{
    (void)state;
    assert_tree("Дипл*", "дипл*");
    assert_tree("ca**", "ca*");
}

static void test_qry_parse_field(void **state)
{
    (void)state;
    assert_tree("title:cats", "title:cat/cats");
    assert_tree("title:(cats body:dogs)", "(and title:cat/cats body:dog/dogs)");
    assert_tree("title:\"big cats\"", "title:\"big cats\"");
    assert_tree("dogs -title:ca*", "(and dog/dogs (not title:ca*))");
}

static void test_qry_parse_field_names_are_listed(void **state)
{
    (void)state;
    struct qry *q;
    struct sd_error err;
    const char *text = "title:a1 body:b2 title:c3";
    assert_int_equal(qry_parse(g_ctx, text, strlen(text), &q, &err), SD_OK);
    assert_int_equal(qry_field_count(q), 2);
    assert_string_equal(qry_field_name(q, 0), "title");
    assert_string_equal(qry_field_name(q, 1), "body");
    qry_free(q);
}

static void test_qry_parse_compound_is_phrase_or_joined(void **state)
{
    (void)state;
    assert_tree("e-mail", "(or \"e mail\" email/email)");
    assert_tree("северо-запад", "(or \"северо запад\" северозапад/северозапад)");
    assert_tree("node.js", "\"node js\"");
}

static void test_qry_parse_empty_words_are_dropped(void **state)
{
    (void)state;
    assert_tree("cats !!!", "cat/cats");
    assert_tree("cats OR ...", "cat/cats");
    assert_tree("cats -!!", "cat/cats");
    assert_tree("cats (...)", "cat/cats");
}

static void test_qry_parse_colon_inside_word_is_no_field(void **state)
{
    (void)state;
    assert_tree("10:30", "\"10 30\"");
    assert_tree("title:10:30", "title:\"10 30\"");
}

/* ---- errors ---- */

static void test_qry_parse_unbalanced_paren_reports_offset(void **state)
{
    (void)state;
    assert_error("cats (dogs", "at 5: unbalanced '('");
    assert_error("cats) dogs", "at 4: unbalanced ')'");
    assert_error("((cats)", "at 0: unbalanced '('");
}

static void test_qry_parse_unterminated_quote_reports_offset(void **state)
{
    (void)state;
    assert_error("cats \"big dogs", "at 5: unterminated '\"'");
}

static void test_qry_parse_dangling_operators_report_offset(void **state)
{
    (void)state;
    assert_error("cats OR", "at 5: 'OR' without a term after it");
    assert_error("OR cats", "at 0: 'OR' without a term before it");
    assert_error("cats OR OR dogs", "at 5: 'OR' without a term after it");
    assert_error("(cats OR) dogs", "at 6: 'OR' without a term after it");
    assert_error("AND cats", "at 0: 'AND' without a term before it");
    assert_error("cats AND", "at 5: 'AND' without a term after it");
}

static void test_qry_parse_empty_group_reports_offset(void **state)
{
    (void)state;
    assert_error("cats ()", "at 5: empty '()'");
    assert_error("( )", "at 0: empty '()'");
}

static void test_qry_parse_field_without_term_reports_offset(void **state)
{
    (void)state;
    assert_error("cats title:", "at 5: field 'title' without a term");
    assert_error("title: cats", "at 0: field 'title' without a term");
    assert_error("(title:)", "at 1: field 'title' without a term");
}

static void test_qry_parse_bad_prefix_reports_offset(void **state)
{
    (void)state;
    assert_error("cats *", "at 5: '*' without a prefix");
    assert_error("a*", "at 0: prefix shorter than 2 characters");
    assert_error("ж*", "at 0: prefix shorter than 2 characters");
    assert_error("e-ma*", "at 0: a prefix must be one word");
}

/* Issue 10: a prefix whose text holds no word at all (only separators) used to take the first
 * token of an empty vector, which UBSan reports as an offset applied to a null pointer. */
static void test_issue_10_prefix_of_no_word_is_a_parse_error(void **state)
{
    (void)state;
    assert_error_len("\0\0\0\0\0\0\x10*", 8, SD_EPARSE, "at 0: a prefix must be one word");
    assert_error("-- OR ..*", "at 6: a prefix must be one word");
    assert_error("cats !!*", "at 5: a prefix must be one word");
}

/* Issue 10: a word over STEM_MAX_TOKEN bytes is skipped by the tokenizer, in documents and in
 * queries alike; a query that names one is told so instead of silently matching nothing. */
static void test_issue_10_over_long_word_is_a_parse_error(void **state)
{
    (void)state;
    char text[QRY_MAX_LEN + 1];
    memset(text, 'a', sizeof text);
    assert_error_len(text, STEM_MAX_TOKEN, SD_OK, NULL); /* at the limit: a word */
    assert_error_len(text, STEM_MAX_TOKEN + 1, SD_EPARSE,
                     "at 0: a word over 255 bytes (words that long are not indexed)");
    memset(text, 'b', QRY_MAX_LEN);
    assert_error_len(text, QRY_MAX_LEN, SD_EPARSE, NULL); /* the 4096-byte word of the issue */
    memcpy(text, "cats ", 5);
    assert_error_len(text, 5 + 300, SD_EPARSE,
                     "at 5: a word over 255 bytes (words that long are not indexed)");
    text[0] = '"';
    assert_error_len(text, 300, SD_EPARSE, NULL); /* inside an unterminated phrase: parse error */
    memcpy(text, "\"cats ", 6);
    text[306] = '"';
    assert_error_len(text, 307, SD_EPARSE,
                     "at 1: a word over 255 bytes (words that long are not indexed)");
    memcpy(text, "x-", 2); /* a compound with an over-long part */
    text[302] = '*';
    assert_error_len(text, 302, SD_EPARSE, NULL);
    memset(text, 'c', 300);
    text[300] = '*';
    assert_error_len(text, 301, SD_EPARSE, NULL); /* prefix */
    /* 128 two-byte letters are 256 bytes folded */
    size_t n = 0;
    for (int i = 0; i < 128; i++) {
        memcpy(text + n, "ж", 2);
        n += 2;
    }
    assert_error_len(text, n, SD_EPARSE, NULL);
    assert_error_len(text, n - 2, SD_OK, NULL);
}

static void test_qry_parse_only_negative_terms_is_an_error(void **state)
{
    (void)state;
    assert_error("-cats", "at 0: only excluded terms");
    assert_error("-cats -dogs", "at 0: only excluded terms");
    assert_error("mice OR (-cats)", "at 9: only excluded terms");
    assert_error("cats OR -dogs", "at 8: exclusion inside OR");
}

static void test_qry_parse_empty_query_is_an_error(void **state)
{
    (void)state;
    assert_error("", "at 0: empty query");
    assert_error("   ", "at 0: empty query");
    assert_error("!!! ...", "at 0: empty query");
}

static void test_qry_parse_invalid_utf8_reports_offset(void **state)
{
    (void)state;
    assert_error("cats \xff", "at 5: invalid UTF-8");
    assert_error("\xc0\xaf", "at 0: invalid UTF-8");       /* overlong '/' */
    assert_error("ab\xed\xa0\x80", "at 2: invalid UTF-8"); /* surrogate */
    assert_error("\xd0", "at 0: invalid UTF-8");           /* truncated */
    assert_error_len("a\0b", 3, SD_OK, NULL);              /* NUL is valid */
}

static void test_qry_parse_limits(void **state)
{
    (void)state;
    char buf[QRY_MAX_LEN + 2];
    memset(buf, 'a', sizeof buf);
    assert_error_len(buf, QRY_MAX_LEN + 1, SD_ELIMIT, "query is 4097 bytes, the limit is 4096");

    buf[0] = '\0';
    for (int i = 0; i < QRY_MAX_TERMS; i++) {
        put(buf, sizeof buf, "w%d ", i);
    }
    assert_error_len(buf, strlen(buf), SD_OK, NULL);
    put(buf, sizeof buf, "extra");
    assert_error_len(buf, strlen(buf), SD_ELIMIT, NULL);

    char nest[64] = "";
    for (int i = 0; i < QRY_MAX_DEPTH; i++) {
        put(nest, sizeof nest, "(");
    }
    put(nest, sizeof nest, "x");
    for (int i = 0; i < QRY_MAX_DEPTH; i++) {
        put(nest, sizeof nest, ")");
    }
    assert_error_len(nest, strlen(nest), SD_OK, NULL);
    char deep[64] = "(";
    put(deep, sizeof deep, "%s", nest);
    put(deep, sizeof deep, ")");
    assert_error_len(deep, strlen(deep), SD_ELIMIT, "at 16: parentheses nested deeper than 16");
}

static void test_qry_parse_hostile_input_never_crashes(void **state)
{
    (void)state;
    const char alphabet[] = "ab -()\"*:OR AND title:x\xd0\xb4";
    char text[48];
    unsigned seed = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t len = (seed = seed * 1103515245u + 12345u) % sizeof text;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            text[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        struct qry *q = NULL;
        struct sd_error err = {0};
        int rc = qry_parse(g_ctx, text, len, &q, &err);
        assert_true(rc == SD_OK || rc == SD_EPARSE || rc == SD_ELIMIT);
        assert_true(rc != SD_OK || q != NULL);
        if (rc == SD_EPARSE) {
            assert_memory_equal(err.msg, "at ", 3);
        }
        qry_free(q);
    }
}

/* ---- the simple syntax (parse_simple.c) ---- */

static void assert_simple_flags(const char *text, size_t len, unsigned flags, const char *want,
                                bool is_truncated)
{
    struct qry *q = NULL;
    struct sd_error err = {0};
    int rc = qry_parse_simple(g_ctx, text, len, flags, &q, &err);
    if (rc) {
        fail_msg("simple '%s': %s", text, err.msg);
    }
    char buf[4096] = "";
    if (q->root == QRY_NONE) {
        put(buf, sizeof buf, "(none)");
    } else {
        dump_node(q, q->root, buf, sizeof buf);
    }
    if (want && strcmp(buf, want) != 0) {
        fail_msg("simple '%s': got %s, want %s", text, buf, want);
    }
    if (qry_is_truncated(q) != is_truncated) {
        fail_msg("simple '%s': truncated %d, want %d", text, qry_is_truncated(q), is_truncated);
    }
    qry_free(q);
}

static void assert_simple_len(const char *text, size_t len, const char *want, bool is_truncated)
{
    assert_simple_flags(text, len, 0, want, is_truncated);
}

static void assert_simple(const char *text, const char *want)
{
    assert_simple_len(text, strlen(text), want, false);
}

static void assert_typing(const char *text, const char *want)
{
    assert_simple_flags(text, strlen(text), QRY_SIMPLE_PREFIX_LAST, want, false);
}

static void test_qry_simple_unbalanced_syntax_is_text(void **state)
{
    (void)state;
    assert_simple("cats (dogs", "(and cat/cats dog/dogs)");
    assert_simple("cats) dogs(", "(and cat/cats dog/dogs)");
    assert_simple("\"cats dogs", "(and cat/cats dog/dogs)");
    assert_simple("\"big cats\" dogs \"", "(and \"big cats\" dog/dogs)");
    assert_simple("title:cats", "\"title cats\"");
    assert_simple("cats!!! ... dogs?", "(and cat/cats dog/dogs)");
    assert_simple("( ) \" !!! -", "(none)");
    assert_simple("", "(none)");
}

static void test_qry_simple_dangling_operators_are_dropped(void **state)
{
    (void)state;
    assert_simple("cats OR", "cat/cats");
    assert_simple("OR cats AND", "cat/cats");
    assert_simple("cats OR OR dogs", "(or cat/cats dog/dogs)");
    assert_simple("cats OR dogs mice", "(and (or cat/cats dog/dogs) mice/mice)");
    assert_simple("mice cats OR dogs OR ants", "(and mice/mice (or cat/cats dog/dogs ant/ants))");
    assert_simple("cats -dogs OR mice", "(and cat/cats (not dog/dogs) mice/mice)");
}

static void test_qry_simple_exclusions_need_a_positive_word(void **state)
{
    (void)state;
    assert_simple("cats -dogs", "(and cat/cats (not dog/dogs))");
    assert_simple("cats -\"big dogs\"", "(and cat/cats (not \"big dogs\"))");
    assert_simple("-cats -dogs", "(none)");
    assert_simple("cats - dogs", "(and cat/cats dog/dogs)");
    /* "--force" is a command-line option typed into the box, not an exclusion of "-force" */
    assert_simple("dpkg --force", "(and dpkg/dpkg forc/force)");
    assert_simple("--force", "forc/force");
    assert_simple("cats --", "cat/cats");
    assert_typing("dpkg --forc", NULL);
}

static void test_qry_simple_prefix_or_word(void **state)
{
    (void)state;
    assert_simple("дипл*", "дипл*");
    assert_simple("c*", "c/c");
    assert_simple("e-mail*", "(or \"e mail\" email/email)");
    assert_simple("***", "(none)");
}

/* before + 300 'y' + after, in text (room for 512 bytes); returns its length. */
static size_t with_long_word(char *text, const char *before, const char *after)
{
    size_t n = strlen(before);
    memcpy(text, before, n);
    memset(text + n, 'y', 300);
    memcpy(text + n + 300, after, strlen(after) + 1);
    return n + 300 + strlen(after);
}

/* A word over STEM_MAX_TOKEN bytes (a pasted URL or hash) is a parse error in the full syntax;
 * the simple one leaves out the chunk it stands in and searches the rest (found by fuzz_query:
 * "tyyy...yt", 280 bytes, was an error, a 400 to a search box). */
static void test_qry_simple_leaves_out_an_over_long_word(void **state)
{
    (void)state;
    char text[512];
    assert_simple_len(text, with_long_word(text, "", ""), "(none)", false);
    assert_simple_len(text, with_long_word(text, "cats ", " dogs"), "(and cat/cats dog/dogs)",
                      false);
    /* what stands joined to it goes with it: a phrase, a compound, a prefix */
    assert_simple_len(text, with_long_word(text, "\"cat ", "\" dogs"), "dog/dogs", false);
    assert_simple_len(text, with_long_word(text, "see-", " dogs"), "dog/dogs", false);
    assert_simple_len(text, with_long_word(text, "cats ", "* dogs"), "(and cat/cats dog/dogs)",
                      false);
    /* the word being typed */
    struct qry *q = NULL;
    struct sd_error err = {0};
    size_t len = with_long_word(text, "cats ", "");
    assert_int_equal(qry_parse_simple(g_ctx, text, len, QRY_SIMPLE_PREFIX_LAST, &q, &err), SD_OK);
    assert_int_equal(q->nodes[q->root].type, QN_WORD);
    qry_free(q);
}

static void test_qry_simple_prefix_last_reads_the_word_being_typed(void **state)
{
    (void)state;
    assert_typing("дипл", "(typing дипл/дипл дипл*)");
    assert_typing("big cats", "(and big/big (typing cat/cats cats*))");
    assert_typing("cats (big", "(and cat/cats (typing big/big big*))");
    assert_simple("big cats", "(and big/big cat/cats)"); /* only when asked */
}

static void test_qry_simple_prefix_last_only_for_a_plain_word_at_the_end(void **state)
{
    (void)state;
    assert_typing("big cats ", "(and big/big cat/cats)"); /* a space: the word is done */
    assert_typing("big cats)", "(and big/big cat/cats)");
    assert_typing("big cats.", "(and big/big cat/cats)");
    assert_typing("big c", "(and big/big c/c)"); /* a prefix needs 2 characters */
    assert_typing("big -cats", "(and big/big (not cat/cats))");
    assert_typing("big ca*", "(and big/big ca*)");
    assert_typing("big \"fat cats\"", "(and big/big \"fat cats\")");
    assert_typing("big e-mail", "(and big/big (or \"e mail\" email/email))");
    assert_typing("big node.js", "(and big/big \"node js\")");
    assert_typing("cats OR", "cat/cats");
    assert_typing("cats dogs OR mice", "(and cat/cats (or dog/dogs (typing mice/mice mice*)))");
    /* a text cut at QRY_MAX_LEN ends where the cut is, not where the user types */
    char text[QRY_MAX_LEN + 256];
    size_t len = 0;
    while (len + 201 <= sizeof text) {
        memset(text + len, 'x', 200);
        text[len + 200] = ' ';
        len += 201;
    }
    struct qry *q = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_parse_simple(g_ctx, text, len - 1, QRY_SIMPLE_PREFIX_LAST, &q, &err),
                     SD_OK);
    assert_true(qry_is_truncated(q));
    for (size_t i = 0; i < q->node_count; i++) {
        assert_int_not_equal(q->nodes[i].syn_role, QRY_SYN_TYPING);
    }
    qry_free(q);
}

/* Whether the dump of a query holds the word w ("stem/word", then a space or a parenthesis). */
static bool dump_has_word(const char *dump, const char *w)
{
    char want[64];
    snprintf(want, sizeof want, "/%s ", w);
    if (strstr(dump, want)) {
        return true;
    }
    snprintf(want, sizeof want, "/%s)", w);
    return strstr(dump, want) != NULL;
}

/* The simple query of text[0, len) is truncated and holds the words first and last, not the
 * word absent. */
static void assert_simple_words(const char *text, size_t len, const char *first, const char *last,
                                const char *absent)
{
    struct qry *q = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_parse_simple(g_ctx, text, len, 0, &q, &err), SD_OK);
    assert_true(qry_is_truncated(q));
    char buf[8192] = "";
    dump_node(q, q->root, buf, sizeof buf);
    assert_true(dump_has_word(buf, first));
    assert_true(dump_has_word(buf, last));
    assert_false(dump_has_word(buf, absent));
    qry_free(q);
}

static void test_qry_simple_long_input_is_truncated(void **state)
{
    (void)state;
    char text[8192];
    size_t len = 0;
    for (int i = 0; i < 40; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "w%d ", i);
    }
    assert_simple_len(text, len, NULL, true);
    struct qry *q = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_parse_simple(g_ctx, text, len, 0, &q, &err), SD_OK);
    size_t words = 0;
    for (size_t i = 0; i < q->node_count; i++) {
        words += q->nodes[i].type == QN_WORD;
    }
    assert_int_equal(words, QRY_SIMPLE_MAX_WORDS);
    qry_free(q);
    assert_simple_len(text, (size_t)snprintf(text, sizeof text, "a b c"), NULL, false);
    memset(text, 'x', sizeof text);
    text[10] = ' ';
    assert_simple_len(text, sizeof text, "xxxxxxxxxx/xxxxxxxxxx", true); /* the rest is one token */
    /* one chunk of 200 parts passes QRY_MAX_TERMS as a phrase: its first words are taken one
     * by one, after the words before it, up to QRY_SIMPLE_MAX_WORDS */
    len = (size_t)snprintf(text, sizeof text, "cats ");
    for (int i = 0; i < 200; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "w%d.", i);
    }
    assert_simple_len(text, len, NULL, true);
    assert_simple_words(text, len, "cats", "w30", "w31");
    /* so is a long quotation */
    len = (size_t)snprintf(text, sizeof text, "\"");
    for (int i = 0; i < 100; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "w%d ", i);
    }
    len += (size_t)snprintf(text + len, sizeof text - len, "\"");
    assert_simple_words(text, len, "w0", "w31", "w32");
    /* a paste of over QRY_MAX_LEN bytes with no space is cut after its last punctuation
     * before the limit, not before its first byte */
    len = 0;
    for (int i = 0; len < QRY_MAX_LEN + 500; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "w%d,", i);
    }
    assert_simple_words(text, len, "w0", "w31", "w32");
    /* past the limit only blanks and punctuation: no word was dropped, so nothing is cut */
    len = (size_t)snprintf(text, sizeof text, "cats");
    memset(text + len, ' ', sizeof text - len);
    assert_simple_len(text, sizeof text, "cat/cats", false);
    memset(text + QRY_MAX_LEN + 10, '!', 20);
    assert_simple_len(text, sizeof text, "cat/cats", false);
    text[QRY_MAX_LEN + 100] = 'x'; /* a word after the limit is dropped */
    assert_simple_len(text, sizeof text, "cat/cats", true);
}

static void test_qry_simple_random_bytes_never_fail(void **state)
{
    (void)state;
    char text[96];
    unsigned seed = 4242;
    for (int round = 0; round < 20000; round++) {
        size_t len = (seed = seed * 1103515245u + 12345u) % sizeof text;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            /* half the rounds any byte, half the query syntax and Cyrillic */
            static const char syntax[] = "ab -()\"*:OR AND\xd0\xb4\xd0";
            text[i] = round & 1 ? (char)(seed >> 16) : syntax[(seed >> 16) % (sizeof syntax - 1)];
        }
        struct qry *q = NULL;
        struct sd_error err = {0};
        unsigned flags = round & 2 ? QRY_SIMPLE_PREFIX_LAST : 0;
        assert_int_equal(qry_parse_simple(g_ctx, text, len, flags, &q, &err), SD_OK);
        assert_non_null(q);
        assert_true(q->root == QRY_NONE || (size_t)q->root < q->node_count);
        qry_free(q);
    }
}

/* The most-words reading (engine most_words.c) of text: which words become optional
 * (qry_with_any_words, named by qry_any_word, '|' between them) and the tree's shape. */
static void assert_any_words(const char *text, unsigned flags, const char *want_words,
                             const char *want_tree)
{
    struct qry *q = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_parse_simple(g_ctx, text, strlen(text), flags, &q, &err), SD_OK);
    bool is_grouped = true;
    assert_int_equal(qry_with_any_words(q, &is_grouped), SD_OK);
    char got[256] = "";
    const char *w;
    size_t len;
    for (unsigned i = 0; qry_any_word(q, i, &w, &len); i++) {
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%.*s", i ? "|" : "", (int)len, w);
    }
    char tree[2048] = "";
    if (q->root != QRY_NONE) {
        dump_node(q, q->root, tree, sizeof tree);
    }
    if (strcmp(got, want_words) != 0 || is_grouped != (want_words[0] != 0) ||
        strcmp(tree, want_tree) != 0) {
        fail_msg("any words '%s': got '%s' %s, want '%s' %s", text, got, tree, want_words,
                 want_tree);
    }
    qry_free(q);
}

static void test_qry_simple_words_made_optional(void **state)
{
    (void)state;
    assert_any_words("Cats dogs mice", 0, "cats|dogs|mice", "(any cat/cats dog/dogs mice/mice)");
    assert_any_words("cats", 0, "", "cat/cats"); /* no AND: nothing to make optional */
    assert_any_words("cats -mice", 0, "", "(and cat/cats (not mice/mice))"); /* one word */
    assert_any_words("(cats) dog* -mice", 0, "cats|dog",
                     "(and (any cat/cats dog*) (not mice/mice))");
    assert_any_words("cats OR dogs mice \"big ants\" seals", 0, "mice|seals",
                     "(and (or cat/cats dog/dogs) (any mice/mice seal/seals) \"big ants\")");
    assert_any_words("e-mail cats dogs", 0, "cats|dogs", /* a compound is no one word */
                     "(and (or \"e mail\" email/email) (any cat/cats dog/dogs))");
    assert_any_words("cats do", QRY_SIMPLE_PREFIX_LAST, "cats|do",
                     "(any cat/cats (typing do/do do*))");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_parse_word_is_stem_and_exact),
        cmocka_unit_test(test_qry_parse_stress_mark_looks_for_both_forms),
        cmocka_unit_test(test_qry_parse_word_whose_stem_does_not_stand_for_it_is_its_form),
        cmocka_unit_test(test_qry_parse_words_are_anded),
        cmocka_unit_test(test_qry_parse_or_binds_tighter_than_and),
        cmocka_unit_test(test_qry_parse_lowercase_or_is_a_word),
        cmocka_unit_test(test_qry_parse_exclusion),
        cmocka_unit_test(test_qry_parse_groups),
        cmocka_unit_test(test_qry_parse_phrase),
        cmocka_unit_test(test_qry_parse_prefix),
        cmocka_unit_test(test_qry_parse_field),
        cmocka_unit_test(test_qry_parse_field_names_are_listed),
        cmocka_unit_test(test_qry_parse_compound_is_phrase_or_joined),
        cmocka_unit_test(test_qry_parse_phrase_with_compounds_reads_them_joined_too),
        cmocka_unit_test(test_qry_parse_empty_words_are_dropped),
        cmocka_unit_test(test_qry_parse_colon_inside_word_is_no_field),
        cmocka_unit_test(test_qry_parse_unbalanced_paren_reports_offset),
        cmocka_unit_test(test_qry_parse_unterminated_quote_reports_offset),
        cmocka_unit_test(test_qry_parse_dangling_operators_report_offset),
        cmocka_unit_test(test_qry_parse_empty_group_reports_offset),
        cmocka_unit_test(test_qry_parse_field_without_term_reports_offset),
        cmocka_unit_test(test_qry_parse_bad_prefix_reports_offset),
        cmocka_unit_test(test_issue_10_prefix_of_no_word_is_a_parse_error),
        cmocka_unit_test(test_issue_10_over_long_word_is_a_parse_error),
        cmocka_unit_test(test_qry_parse_only_negative_terms_is_an_error),
        cmocka_unit_test(test_qry_parse_empty_query_is_an_error),
        cmocka_unit_test(test_qry_parse_invalid_utf8_reports_offset),
        cmocka_unit_test(test_qry_parse_limits),
        cmocka_unit_test(test_qry_parse_hostile_input_never_crashes),
        cmocka_unit_test(test_qry_simple_unbalanced_syntax_is_text),
        cmocka_unit_test(test_qry_simple_leaves_out_an_over_long_word),
        cmocka_unit_test(test_qry_simple_dangling_operators_are_dropped),
        cmocka_unit_test(test_qry_simple_exclusions_need_a_positive_word),
        cmocka_unit_test(test_qry_simple_prefix_or_word),
        cmocka_unit_test(test_qry_simple_prefix_last_reads_the_word_being_typed),
        cmocka_unit_test(test_qry_simple_prefix_last_only_for_a_plain_word_at_the_end),
        cmocka_unit_test(test_qry_simple_long_input_is_truncated),
        cmocka_unit_test(test_qry_simple_random_bytes_never_fail),
        cmocka_unit_test(test_qry_simple_words_made_optional),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
