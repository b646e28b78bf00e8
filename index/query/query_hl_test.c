/*
 * query_hl_test.c: the highlighter (highlight_match.c, highlight.c): marks on inflected, phrase,
 * prefix and typo matches, HTML escaping of <&>"', offsets instead of marks,
 * fragment choice, and random texts whose markup never splits a UTF-8
 * sequence or an entity; choosing fragments among a megabyte of matches in linear time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "query_int.h"
#include "query_test_util.h"

/* Highlights text for query with o; returns the fragments joined by '|' (static buffer). */
static const char *hl(const char *query, const char *text, const struct qry_hl_opts *o,
                      struct sd_buf *spans)
{
    static char joined[8192];
    struct qry *q = tqry(tq_ctx, query);
    struct sd_buf out;
    sd_buf_init(&out);
    size_t count = 0;
    assert_int_equal(qry_highlight(tq_ctx, q, text, strlen(text), o, 0, &out, &count, spans),
                     SD_OK);
    assert_true(count >= 1);
    size_t at = 0, j = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen((const char *)out.data + at);
        j += (size_t)snprintf(joined + j, sizeof joined - j, "%s%s", i ? "|" : "",
                              (const char *)out.data + at);
        at += n + 1;
    }
    assert_int_equal(at, out.len);
    sd_buf_free(&out);
    qry_free(q);
    return joined;
}

static void assert_hl(const char *query, const char *text, const char *want)
{
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 0;
    struct sd_buf spans;
    sd_buf_init(&spans);
    const char *got = hl(query, text, &o, &spans);
    if (strcmp(got, want) != 0) {
        fail_msg("'%s' in '%s': got '%s', want '%s'", query, text, got, want);
    }
    sd_buf_free(&spans);
}

static void test_qry_hl_marks_inflections_phrases_prefixes(void **state)
{
    (void)state;
    assert_hl("цифровая дипломатия", "Цифровой дипломатии нет",
              "<mark>Цифровой</mark> <mark>дипломатии</mark> нет");
    assert_hl("\"big cats\"", "big cats and big dogs",
              "<mark>big</mark> <mark>cats</mark> and big dogs");
    assert_hl("photosynth*", "Photosynthesis, photo.", "<mark>Photosynthesis</mark>, photo.");
    assert_hl("cats -dogs", "cats and dogs", "<mark>cats</mark> and dogs");
    assert_hl("e-mail", "send e-mail", "send <mark>e</mark>-<mark>mail</mark>");
    /* a compound the query matches by its joined form only is marked whole */
    assert_hl("email", "send e-mail, email", "send <mark>e-mail</mark>, <mark>email</mark>");
    assert_hl("онлайнкурс", "новый онлайн-курс", "новый <mark>онлайн-курс</mark>");
    assert_hl("zebra", "no match here", "no match here");
}

static void test_qry_hl_escapes_html_and_marks_are_configurable(void **state)
{
    (void)state;
    assert_hl("cats", "a<b & \"c\" 'd' cats>",
              "a&lt;b &amp; &quot;c&quot; &#39;d&#39; <mark>cats</mark>&gt;");
    /* text that looks like an entity is text: its word matches, its '&' is escaped */
    assert_hl("amp", "&amp; amp", "&amp;<mark>amp</mark>; <mark>amp</mark>");
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 0;
    o.pre = "[[";
    o.pre_len = 2;
    o.post = "]]";
    o.post_len = 2;
    struct sd_buf spans;
    sd_buf_init(&spans);
    assert_string_equal(hl("cats", "Cats & cats", &o, &spans), "[[Cats]] &amp; [[cats]]");
    sd_buf_free(&spans);
}

static void test_qry_hl_offsets_instead_of_marks(void **state)
{
    (void)state;
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 0;
    o.wants_offsets = true;
    struct sd_buf spans;
    sd_buf_init(&spans);
    const char *text = "<b> Цифровой & дипломатии";
    const char *got = hl("цифровая дипломатия", text, &o, &spans);
    assert_string_equal(got, text); /* plain: nothing escaped */
    assert_int_equal(spans.len, 2 * sizeof(struct qry_hl_span));
    struct qry_hl_span sp[2];
    memcpy(sp, spans.data, sizeof sp);
    assert_memory_equal(got + sp[0].off, "Цифровой", sp[0].len);
    assert_int_equal(sp[0].len, strlen("Цифровой"));
    assert_memory_equal(got + sp[1].off, "дипломатии", sp[1].len);
    assert_int_equal(sp[1].part, 0);
    sd_buf_free(&spans);
}

static void test_qry_hl_fragment_has_most_distinct_words(void **state)
{
    (void)state;
    char text[6000];
    size_t n = 0;
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "filler words about cats go on. ");
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "Here cats meet dogs at last. ");
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "more filler text, nothing else. ");
    }
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 120;
    struct sd_buf spans;
    sd_buf_init(&spans);
    const char *got = hl("cats dogs", text, &o, &spans);
    assert_non_null(strstr(got, "<mark>cats</mark> meet <mark>dogs</mark>"));
    assert_true(strncmp(got, "\xE2\x80\xA6", 3) == 0);               /* cut at the start */
    assert_true(strcmp(got + strlen(got) - 3, "\xE2\x80\xA6") == 0); /* and at the end */
    size_t plain = 0; /* the text shown, without marks and the two "…" */
    for (const char *p = got; *p; p++) {
        if (strncmp(p, "<mark>", 6) == 0 || strncmp(p, "</mark>", 7) == 0) {
            p = strchr(p, '>');
        } else {
            plain++;
        }
    }
    assert_true(plain - 6 <= 120 && plain - 6 >= 60);
    /* three fragments: the best one and two others, in text order, not overlapping */
    o.fragments = 3;
    got = hl("cats dogs", text, &o, &spans);
    const char *bar1 = strchr(got, '|');
    assert_non_null(bar1);
    const char *bar2 = strchr(bar1 + 1, '|');
    assert_non_null(bar2);
    assert_null(strchr(bar2 + 1, '|'));
    assert_non_null(strstr(bar2, "<mark>dogs</mark>")); /* the meeting is last in the text */
    sd_buf_free(&spans);
}

/* Each fragment after the first is chosen for the query words the ones before do not show:
 * with a common word everywhere and a rare one once, far from it, two fragments show both
 * words, not the common word twice (every window holds one word, and the earliest won). */
static void test_qry_hl_next_fragment_shows_a_word_not_shown(void **state)
{
    (void)state;
    char text[8000];
    size_t n = 0;
    for (int i = 0; i < 60; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "bread and butter for breakfast. ");
    }
    for (int i = 0; i < 10; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "more filler text, nothing else. ");
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "A rare cryptography note. ");
    for (int i = 0; i < 20; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "more filler text, nothing else. ");
    }
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 60;
    o.fragments = 2;
    struct sd_buf spans;
    sd_buf_init(&spans);
    const char *got = hl("bread cryptography", text, &o, &spans);
    const char *bar = strchr(got, '|');
    assert_non_null(bar);
    assert_non_null(strstr(got, "<mark>bread</mark>"));
    assert_true(strstr(got, "<mark>bread</mark>") < bar); /* in text order */
    assert_non_null(strstr(bar, "<mark>cryptography</mark>"));
    /* the first fragment (the snippet) is still the earliest with the most words */
    o.fragments = 1;
    got = hl("bread cryptography", text, &o, &spans);
    assert_true(strncmp(got, "<mark>bread</mark>", 18) == 0);
    sd_buf_free(&spans);
}

/* The typo reading of parsed query q (freed here) highlighted in text equals want. */
static void assert_typo_hl(struct qry *q, const char *text, const char *want)
{
    struct qry *fq = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_with_typos(q, false, &fq, &err), SD_OK);
    assert_non_null(fq);
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    struct sd_buf out, spans;
    sd_buf_init(&out);
    sd_buf_init(&spans);
    size_t count;
    assert_int_equal(qry_highlight(tq_ctx, fq, text, strlen(text), &o, 0, &out, &count, &spans),
                     SD_OK);
    assert_string_equal((const char *)out.data, want);
    sd_buf_free(&out);
    sd_buf_free(&spans);
    qry_free(fq);
    qry_free(q);
}

/* A word the query has only inside a phrase, or as a part of a compound (a phrase of its
 * parts), is marked where the whole phrase is, in order and at adjacent positions as the
 * search's phrase matching wants; a word it also has alone is marked everywhere. */
static void test_qry_hl_phrase_words_only_where_the_phrase_is(void **state)
{
    (void)state;
    assert_hl("\"электронная почта\"", "Электронная почта, почта России и электронная подпись",
              "<mark>Электронная</mark> <mark>почта</mark>, почта России и электронная подпись");
    /* punctuation takes no position, in the index as here: "почта, России" is the phrase */
    assert_hl("\"почта россии\"", "Россия, почта и россии почта, России",
              "Россия, почта и россии <mark>почта</mark>, <mark>России</mark>");
    assert_hl("don't", "He doesn\xE2\x80\x99t know, don't ask",
              "He doesn\xE2\x80\x99t know, <mark>don</mark>&#39;<mark>t</mark> ask");
    assert_hl("e-mail", "mail an e-mail", "mail an <mark>e</mark>-<mark>mail</mark>");
    assert_hl("почта \"электронная почта\"", "почта и электронная почта",
              "<mark>почта</mark> и <mark>электронная</mark> <mark>почта</mark>");
    assert_hl("\"a b c\"", "a b a b c c", "a b <mark>a</mark> <mark>b</mark> <mark>c</mark> c");
    /* phrases match folded forms: an inflection is not the phrase (nor found by the search) */
    assert_hl("\"электронная почта\"", "электронной почты нет", "электронной почты нет");
    /* fuzz_query (min. crash-98c5e86a): "ta" marks the compound "t-a" whole; the phrase's "a"
     * inside it is then not marked again (overlapping marks read the text backwards) */
    assert_hl("\"t-a a\"ta", "\"t-a a\"ta",
              "&quot;<mark>t-a</mark> <mark>a</mark>&quot;<mark>ta</mark>");
}

/* The fragment is chosen where the phrase is, not around a lone word of it. */
static void test_qry_hl_fragment_is_where_the_phrase_is(void **state)
{
    (void)state;
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 40;
    struct sd_buf spans;
    sd_buf_init(&spans);
    const char *text = "почта работает днём и ночью без перерывов и выходных дней. "
                       "Отчёт о работе сетей связи в регионе за год. Новая электронная почта "
                       "для всех.";
    const char *got = hl("\"электронная почта\"", text, &o, &spans);
    if (!strstr(got, "<mark>электронная</mark> <mark>почта</mark>")) {
        fail_msg("got '%s'", got);
    }
    sd_buf_free(&spans);
}

/* A typo match is marked; so is, for the word being typed, a word that starts within its
 * edits (as stats.c finds them). */
static void test_qry_hl_typo_matches_are_marked(void **state)
{
    (void)state;
    const char *text = "Public diplomacy and diplomats";
    assert_typo_hl(tqry(tq_ctx, "diplomcy"), text, "Public <mark>diplomacy</mark> and diplomats");
    assert_typo_hl(tqry(tq_ctx, "emial"), "send e-mail now", "send <mark>e-mail</mark> now");
    assert_typo_hl(tqry(tq_ctx, "e-mial"), "send e-mail now", "send <mark>e-mail</mark> now");
    assert_typo_hl(tqry_typing(tq_ctx, "diplomcy"), text,
                   "Public <mark>diplomacy</mark> and diplomats");
    assert_typo_hl(tqry_typing(tq_ctx, "diplomc"), text,
                   "Public <mark>diplomacy</mark> and <mark>diplomats</mark>");
    /* A token whose length differs by more than the edits is passed over unread; one at that
     * distance still matches, its length counted in characters, not bytes. */
    assert_typo_hl(tqry(tq_ctx, "diplomacyxx"), "diplomacy diplomacyxxzz diplomacyxxzzz",
                   "<mark>diplomacy</mark> <mark>diplomacyxxzz</mark> diplomacyxxzzz");
    assert_typo_hl(tqry(tq_ctx, "дипломатияхх"), "дипломатия дипломатияххюю дипломатияххююю",
                   "<mark>дипломатия</mark> <mark>дипломатияххюю</mark> дипломатияххююю");
}

static void test_qry_snippet_anchors_on_a_typo_match(void **state)
{
    (void)state;
    struct qry *q = tqry(tq_ctx, "diplomcy");
    struct qry *fq = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_with_typos(q, false, &fq, &err), SD_OK);
    char text[2000];
    size_t n = 0;
    for (int i = 0; i < 30; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "nothing to see here. ");
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "Public diplomacy at last.");
    struct sd_buf out;
    sd_buf_init(&out);
    assert_int_equal(qry_snippet(tq_ctx, fq, text, n, 60, &out), SD_OK);
    assert_non_null(strstr((const char *)out.data, "diplomacy"));
    sd_buf_free(&out);
    qry_free(fq);
    qry_free(q);
}

/* Every '&' starts one of our entities; marks are balanced; the text is valid UTF-8. */
static void check_markup(const char *s, size_t len)
{
    assert_true(stem_utf8_valid(s, len));
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '&') {
            bool ok = false;
            for (size_t e = 0; e < 5 && !ok; e++) {
                ok = strncmp(s + i, ents[e], strlen(ents[e])) == 0;
            }
            assert_true(ok);
        } else if (s[i] == '<') {
            bool open = strncmp(s + i, "<mark>", 6) == 0;
            bool close = strncmp(s + i, "</mark>", 7) == 0;
            assert_true(open || close);
            depth += open ? 1 : -1;
            assert_true(depth == 0 || depth == 1);
        } else {
            assert_true(s[i] != '>' || (i >= 5 && (strncmp(s + i - 5, "<mark>", 6) == 0 ||
                                                   strncmp(s + i - 6, "</mark>", 7) == 0)));
        }
    }
    assert_int_equal(depth, 0);
}

/* Fills text (room for cap bytes) with up to max_pieces of pieces[0, n), drawn with *seed;
 * returns its length. */
static size_t random_text(char *text, size_t cap, const char *const *pieces, size_t n,
                          size_t max_pieces, unsigned *seed)
{
    size_t len = 0;
    size_t count = (*seed = *seed * 1103515245u + 12345u) % max_pieces;
    for (size_t i = 0; i < count; i++) {
        *seed = *seed * 1103515245u + 12345u;
        const char *p = pieces[(*seed >> 16) % n];
        size_t plen = strlen(p);
        assert_true(len + plen < cap);
        memcpy(text + len, p, plen);
        len += plen;
    }
    text[len] = 0;
    return len;
}

/* Fragments and snippet of text for q with o, joined by '|', into a malloc'ed string. */
static char *fragments_of(struct qry *q, const char *text, size_t n, const struct qry_hl_opts *o)
{
    struct sd_buf out, spans, snip;
    sd_buf_init(&out);
    sd_buf_init(&spans);
    sd_buf_init(&snip);
    size_t count;
    assert_int_equal(qry_highlight(tq_ctx, q, text, n, o, 0, &out, &count, &spans), SD_OK);
    assert_int_equal(qry_snippet(tq_ctx, q, text, n, o->fragment_len, &snip), SD_OK);
    for (size_t i = 0; i + 1 < out.len; i++) {
        out.data[i] = out.data[i] ? out.data[i] : '|';
    }
    char *all = malloc(out.len + snip.len + 2);
    assert_non_null(all);
    snprintf(all, out.len + snip.len + 2, "%s|%s", out.len ? (char *)out.data : "",
             snip.len ? (char *)snip.data : ""); /* no fragment, no snippet: empty */
    sd_buf_free(&out);
    sd_buf_free(&spans);
    sd_buf_free(&snip);
    return all;
}

/* Fragments of random texts of pieces for `stops` and for `reads_all` must be the same. */
static void assert_same_fragments(struct qry *stops, struct qry *reads_all,
                                  const char *const *pieces, size_t npieces, unsigned seed)
{
    for (int round = 0; round < 2000; round++) {
        char text[4000];
        size_t n = random_text(text, sizeof text, pieces, npieces, 600, &seed);
        struct qry_hl_opts o;
        qry_hl_opts_default(&o);
        o.fragment_len = 10 + (seed >> 8) % 150;
        o.fragments = 1 + (seed >> 4) % QRY_MAX_FRAGMENTS;
        char *a = fragments_of(stops, text, n, &o);
        char *b = fragments_of(reads_all, text, n, &o);
        if (strcmp(a, b) != 0) {
            fail_msg("round %d, fragment_len %zu x %u:\n%s\nwhole text:\n%s", round, o.fragment_len,
                     o.fragments, a, b);
        }
        free(a);
        free(b);
    }
}

/* A typo reading of text (every word of 5+ letters with its near forms). */
static struct qry *typo_reading(const char *text)
{
    struct qry *q = tqry(tq_ctx, text);
    struct qry *fq = NULL;
    struct sd_error err = {0};
    assert_int_equal(qry_with_typos(q, true, &fq, &err), SD_OK);
    assert_non_null(fq);
    qry_free(q);
    return fq;
}

/* The highlighter stops reading once it has as many windows holding every query word as it
 * wants fragments. A query with one more word, which never matches, can never have such a
 * window, so it reads the whole text: both must choose the same fragments and snippet. A
 * typo reading's word and its near forms are one word, so it stops too. */
static void test_qry_hl_stopping_early_chooses_what_the_whole_text_would(void **state)
{
    (void)state;
    static const char *const pieces[] = {"cats ", "cat ", "dogs ", "dog. ", "birds ", "a ",
                                         "the ",  "of ",  "and ",  "\n",    "sits ",  "runs "};
    struct qry *stops = tqry(tq_ctx, "cats dogs birds");
    struct qry *reads_all = tqry(tq_ctx, "cats dogs (birds OR zzzqqq)");
    assert_same_fragments(stops, reads_all, pieces, sizeof pieces / sizeof pieces[0], 11);
    qry_free(stops);
    qry_free(reads_all);
    /* a phrase's first word is pending until its last: no window is settled past it */
    stops = tqry(tq_ctx, "\"cats dogs\" birds");
    reads_all = tqry(tq_ctx, "\"cats dogs\" (birds OR zzzqqq)");
    assert_same_fragments(stops, reads_all, pieces, sizeof pieces / sizeof pieces[0], 11);
    qry_free(stops);
    qry_free(reads_all);
    static const char *const typos[] = {"diplomacy ", "diplomat ", "embassy ", "embasy ",
                                        "the ",       "and ",      "a ",       "envoy "};
    stops = typo_reading("diplomcy embassy");
    reads_all = typo_reading("diplomcy embassy zzzqqqq");
    assert_same_fragments(stops, reads_all, typos, sizeof typos / sizeof typos[0], 13);
    qry_free(stops);
    qry_free(reads_all);
}

/* Whether text for q with o has a marked word in its fragments, and the snippet too (a
 * snippet has no marks: it holds a match when some fragment does). */
static bool marks_something(struct qry *q, const char *text, size_t n, const struct qry_hl_opts *o)
{
    char *all = fragments_of(q, text, n, o);
    assert_true(stem_utf8_valid(all, strlen(all)));
    bool is_marked = strstr(all, "<mark>") != NULL;
    free(all);
    return is_marked;
}

/* A match is never left out of every window, whatever the fragment length: at the very end
 * of the text (the window shifted back to a character's first byte once ended a byte short of
 * it, and the snippet then wrote an unset fragment: a crash found by searching corpus-large),
 * or longer than the fragment (a 34-byte word in 16 bytes, the protocol's least). */
static void test_qry_hl_every_match_has_a_window(void **state)
{
    (void)state;
    struct qry *q = tqry(tq_ctx, "процедура электроэнергетика");
    char text[700];
    for (size_t filler = 0; filler < 300; filler++) {
        size_t n = 0;
        for (size_t i = 0; i < filler; i++) {
            n += (size_t)snprintf(text + n, sizeof text - n, i % 5 == 4 ? " " : "ы");
        }
        n += (size_t)snprintf(text + n, sizeof text - n, "\n\n5 Неправильный вызов процедуры");
        for (size_t flen = 16; flen < 260; flen += 1 + flen / 16) {
            struct qry_hl_opts o;
            qry_hl_opts_default(&o);
            o.fragment_len = flen;
            assert_true(marks_something(q, text, n, &o));
        }
    }
    static const char longer[] = "Отрасль: электроэнергетика и связь";
    for (size_t flen = 16; flen < 40; flen++) {
        struct qry_hl_opts o;
        qry_hl_opts_default(&o);
        o.fragment_len = flen;
        assert_true(marks_something(q, longer, sizeof longer - 1, &o));
    }
    qry_free(q);
}

/* A fragment that is cut before its first match begins at a word: the lead before the match
 * (flen / 8 bytes) once ended inside a long Cyrillic word ("…я двоих" for "для двоих"). */
static void test_qry_hl_fragment_begins_at_a_word(void **state)
{
    (void)state;
    static const char *const before[] = {"для", "международного", "а", "электроэнергетика"};
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    struct sd_buf spans;
    sd_buf_init(&spans);
    for (size_t w = 0; w < sizeof before / sizeof before[0]; w++) {
        char text[2000];
        size_t n = 0;
        for (int i = 0; i < 30; i++) {
            n += (size_t)snprintf(text + n, sizeof text - n, "слово ");
        }
        n += (size_t)snprintf(text + n, sizeof text - n, "%s ", before[w]);
        size_t at = n; /* the match */
        snprintf(text + n, sizeof text - n, "двоих и ещё немного слов после него.");
        for (size_t flen = 16; flen < 200; flen++) {
            o.fragment_len = flen;
            const char *got = hl("двоих", text, &o, &spans);
            assert_true(strncmp(got, "\xE2\x80\xA6", 3) == 0);
            const char *mark = strstr(got, "<mark>");
            assert_non_null(mark);
            size_t lead = (size_t)(mark - got) - 3; /* the text between the "…" and the match */
            assert_true(lead <= at);
            if (memcmp(got + 3, text + at - lead, lead) != 0 || text[at - lead - 1] != ' ') {
                fail_msg("flen %zu after '%s': '%s' begins inside a word", flen, before[w], got);
            }
        }
    }
    sd_buf_free(&spans);
}

/* A cut fragment shows "…" next to a word, not to blank space: a text with runs of blank lines
 * (markdown, a man page) once gave "… УДК" and "слово …", the run's rest kept as spaces. */
static void test_qry_hl_cut_is_not_next_to_blank_space(void **state)
{
    (void)state;
    char text[4000];
    size_t n = 0;
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "слово \n\n\n  \t");
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "двоих\n\n\n");
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "ещё \n \n\n");
    }
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    struct sd_buf spans;
    sd_buf_init(&spans);
    for (size_t flen = 16; flen < 200; flen++) {
        o.fragment_len = flen;
        const char *got = hl("двоих", text, &o, &spans);
        size_t len = strlen(got);
        assert_true(len > 6 && strncmp(got, "\xE2\x80\xA6", 3) == 0);
        assert_true(strcmp(got + len - 3, "\xE2\x80\xA6") == 0);
        if (got[3] == ' ' || got[len - 4] == ' ') {
            fail_msg("flen %zu: '%s' has blank space next to a cut", flen, got);
        }
    }
    sd_buf_free(&spans);
}

static void test_qry_hl_random_text_never_breaks_utf8_or_entities(void **state)
{
    (void)state;
    static const char *const pieces[] = {"кот",  "коты", "котов", " ",    "&",  "<", ">", "\"", "'",
                                         "cats", "cat",  "ёж",    "日本", "\n", "-", "—", "x"};
    struct qry *q = tqry(tq_ctx, "коты cats \"ёж\"");
    unsigned seed = 5;
    for (int round = 0; round < 3000; round++) {
        char text[600];
        size_t n =
            random_text(text, sizeof text, pieces, sizeof pieces / sizeof pieces[0], 120, &seed);
        struct qry_hl_opts o;
        qry_hl_opts_default(&o);
        o.fragment_len = 1 + (seed >> 8) % 80;
        o.fragments = 1 + (seed >> 4) % QRY_MAX_FRAGMENTS;
        struct sd_buf out, spans;
        sd_buf_init(&out);
        sd_buf_init(&spans);
        size_t count;
        assert_int_equal(qry_highlight(tq_ctx, q, text, n, &o, 0, &out, &count, &spans), SD_OK);
        for (size_t at = 0; at < out.len;) {
            size_t len = strlen((const char *)out.data + at);
            check_markup((const char *)out.data + at, len);
            at += len + 1;
        }
        sd_buf_free(&out);
        sd_buf_free(&spans);
        struct qry_hl_opts whole = o;
        whole.fragment_len = 0; /* the whole text, one fragment */
        whole.fragments = 1;
        if (marks_something(q, text, n, &whole)) {
            assert_true(marks_something(q, text, n, &o));
        }
    }
    qry_free(q);
}

/* Choosing fragments is linear in the matches: a megabyte of text where every word is one of
 * 63 query words (an OR of common words over a long body, with snippet_len at its most, 4096:
 * about 700 matches per window) took 25 s of CPU, each window's words counted anew per match
 * and per fragment; counted by moving one count along (hl_span), it takes 0.2 s. The bound is
 * on CPU time, so a loaded machine does not fail it, and leaves a sanitizer build (3-10x
 * slower) room. The fragments are still those the rules choose: the one with the rare last
 * word, then the earliest. */
static void test_qry_hl_many_matches_cost_linear_time(void **state)
{
    (void)state;
    char query[63 * 10 + 16] = "";
    size_t qn = 0;
    for (int w = 0; w < 63; w++) {
        qn += (size_t)snprintf(query + qn, sizeof query - qn, "%szq%c%c", w ? " OR " : "",
                               'a' + w / 8, 'a' + w % 8);
    }
    snprintf(query + qn, sizeof query - qn, " OR omega");
    struct qry *q = tqry(tq_ctx, query);
    size_t cap = (size_t)1 << 20;
    char *text = malloc(cap + 64);
    assert_non_null(text);
    size_t n = 0;
    for (unsigned i = 0; n < cap; i++) {
        unsigned w = (i * 8u) % 63u;
        n += (size_t)snprintf(text + n, cap + 64 - n, "zq%c%c ", 'a' + w / 8, 'a' + w % 8);
    }
    n += (size_t)snprintf(text + n, cap + 64 - n, "omega");
    struct qry_hl_opts o;
    qry_hl_opts_default(&o);
    o.fragment_len = 4096;
    o.fragments = QRY_MAX_FRAGMENTS;
    struct sd_buf out, spans;
    sd_buf_init(&out);
    sd_buf_init(&spans);
    size_t count = 0;
    clock_t t0 = clock();
    assert_int_equal(qry_highlight(tq_ctx, q, text, n, &o, 0, &out, &count, &spans), SD_OK);
    double cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (cpu > 8.0) {
        fail_msg("highlighting %zu bytes of matches took %.1f s of CPU", n, cpu);
    }
    assert_int_equal(count, QRY_MAX_FRAGMENTS);
    const char *frag = (const char *)out.data;
    assert_true(strncmp(frag, "<mark>zqaa</mark>", 17) == 0); /* the earliest: the text's start */
    for (size_t i = 1; i < count; i++) {
        frag += strlen(frag) + 1;
    }
    size_t flen = strlen(frag);
    assert_true(flen > 18 && strcmp(frag + flen - 18, "<mark>omega</mark>") == 0);
    sd_buf_free(&out);
    sd_buf_free(&spans);
    free(text);
    qry_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qry_hl_marks_inflections_phrases_prefixes),
        cmocka_unit_test(test_qry_hl_phrase_words_only_where_the_phrase_is),
        cmocka_unit_test(test_qry_hl_fragment_is_where_the_phrase_is),
        cmocka_unit_test(test_qry_hl_escapes_html_and_marks_are_configurable),
        cmocka_unit_test(test_qry_hl_offsets_instead_of_marks),
        cmocka_unit_test(test_qry_hl_fragment_has_most_distinct_words),
        cmocka_unit_test(test_qry_hl_next_fragment_shows_a_word_not_shown),
        cmocka_unit_test(test_qry_hl_typo_matches_are_marked),
        cmocka_unit_test(test_qry_snippet_anchors_on_a_typo_match),
        cmocka_unit_test(test_qry_hl_stopping_early_chooses_what_the_whole_text_would),
        cmocka_unit_test(test_qry_hl_fragment_begins_at_a_word),
        cmocka_unit_test(test_qry_hl_cut_is_not_next_to_blank_space),
        cmocka_unit_test(test_qry_hl_random_text_never_breaks_utf8_or_entities),
        cmocka_unit_test(test_qry_hl_every_match_has_a_window),
        cmocka_unit_test(test_qry_hl_many_matches_cost_linear_time),
    };
    return cmocka_run_group_tests(tests, tq_setup, tq_teardown);
}
