/*
 * lexicon_int.h: the tables of a struct qry_lexicon, shared by lexicon.c (which builds them from
 * the settings' strings) and synonym.c (which reads them to rewrite a query).
 *
 * Every string lives in one pool (NUL-terminated, addressed by offset). A synonym member is a run
 * of words, each kept as its Snowball stem (the form a query word is compared by), except a word
 * whose stem does not stand for it (qry_stem_stands_for: "ИИ" -> "и", the conjunction), which is
 * kept and compared as its folded form, and matches only that form in documents, as the same
 * word typed in a query does. A source is a
 * member that finds others: every member of a two-way entry, the root of a one-way one; sources
 * are sorted by their first stem, so the members a query word may start are one binary search
 * away. Stopwords are folded typed forms, sorted.
 */
#ifndef SEARCHD_LEXICON_INT_H
#define SEARCHD_LEXICON_INT_H

#include "query_int.h"

struct lex_str {
    uint32_t off; /* into pool */
    uint32_t len;
};

/* One word of a member: its stem (kind SEG_STEM) or its folded form (SEG_EXACT). */
struct lex_word {
    uint32_t off; /* into pool */
    uint32_t len;
    uint8_t kind; /* enum seg_kind */
};


struct lex_member {
    uint32_t first_word; /* into words */
    uint32_t nwords;     /* 1 .. QRY_SYN_MAX_WORDS */
};

struct lex_rule {
    uint32_t first_member; /* into members */
    uint32_t count;
    bool is_one_way; /* the first member is the root: only it is a source */
};

struct lex_source {
    uint32_t member;
    uint32_t rule;
};

struct qry_lexicon {
    struct stem_ctx *stem;  /* owned while building; NULL once sealed */
    struct qry_vec pool;    /* char */
    struct qry_vec words;   /* struct lex_word: the words of the members */
    struct qry_vec members; /* struct lex_member */
    struct qry_vec rules;   /* struct lex_rule */
    struct qry_vec sources; /* struct lex_source, sorted by the member's first stem once sealed */
    struct qry_vec stops;   /* struct lex_str: folded stopwords, sorted and distinct once sealed */
};

static inline const char *lex_pool_str(const struct qry_lexicon *lex, struct lex_str s)
{
    return (const char *)lex->pool.data + s.off;
}

static inline const struct lex_word *lex_member_words(const struct qry_lexicon *lex,
                                                      const struct lex_member *m)
{
    return (const struct lex_word *)lex->words.data + m->first_word;
}

static inline const char *lex_word_str(const struct qry_lexicon *lex, const struct lex_word *w)
{
    return (const char *)lex->pool.data + w->off;
}

/* Bytewise order of two strings (shorter first on a common prefix). */
int lex_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen);

/* The first source whose member's first word (stem or form) is not below s[0, len): the sources
 * of members starting with that string follow it. */
size_t lex_first_source(const struct qry_lexicon *lex, const char *s, size_t len);

/* True when word[0, len) (a folded typed form) is a stopword. */
bool lex_is_stopword(const struct qry_lexicon *lex, const char *word, size_t len);

/* stoplist.c: the built-in list named name ("en", "ru"), *count words; NULL for another name. */
const char *const *lex_stoplist(const char *name, size_t *count);

#endif
