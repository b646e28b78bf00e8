/*
 * query_int.h: what the files of index/query/ share and nobody else sees.
 *
 * A parsed query (struct qry) is a small tree kept in flat arrays: nodes refer
 * to their children by index (first_child, next_sibling), leaves refer to
 * terms, and every string (terms, field names) lives in one pool addressed by
 * offsets. Flat arrays make the tree one allocation per array, trivially
 * immutable once built, and safe to share between threads.
 *
 * Node kinds and what they match in a document:
 *   QN_AND     every positive child, and no child under a QN_NOT
 *   QN_OR      at least one child
 *   QN_NOT     only as a child of QN_AND: excludes what its child matches
 *   QN_FILTER  an attribute clause (filter.c): term is an index into qry.filters;
 *              it matches by the document's column values and never scores
 *   QN_WORD    the Snowball stem in any field in scope (term a = SEG_STEM);
 *              term b (SEG_EXACT, the typed form) only adds to the score
 *   QN_EXACT   the case-folded surface form (term a = SEG_EXACT), for a phrase
 *              of one word
 *   QN_PHRASE  terms a .. a+count-1 (SEG_EXACT) at positions rel_pos apart in
 *              one field
 *   QN_PREFIX  any SEG_EXACT term starting with term a, expanded at search time
 *   QN_FUZZY   the SEG_STEM stems of the forms within qry_lev_max_edits edits
 *              of the typed form (term b), other than the word's own stem
 *              (term a); expanded at search time like a prefix and scored at
 *              QRY_FUZZY_WEIGHT (typo.c, stats.c); marked QRY_SYN_TYPING (the
 *              word being typed), the forms that start within those edits
 * A leaf's field is an index into the query's field names, or QRY_ALL_FIELDS.
 *
 * Synonyms (synonym.c) add an OR marked QRY_SYN_GROUP: its first child is what was typed,
 * the others its synonyms, whose QN_WORD leaves (QRY_SYN_WORD) have only a stem term (nothing
 * was typed: no exact-form bonus, no typos) and score at most what the typed words would.
 */
#ifndef SEARCHD_QUERY_INT_H
#define SEARCHD_QUERY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "query.h"
#include "schema.h"

#define QRY_NONE       (-1) /* no node: a dropped word, the end of a sibling list */
#define QRY_ALL_FIELDS (-1)

/* Whether a word's stem stands for it: it does for a word of QRY_MIN_STEMMED characters or
 * more, or when it is the word itself. Snowball strips short words down to other words ("ИИ" ->
 * "и", the conjunction; "дай" -> "да", "its" -> "it", "ins" -> "in"), so a shorter word is
 * matched by its folded form, in a query (parse_leaf.c) and in a synonym (lexicon.c), as
 * Sphinx's min_stemming_len leaves short words unstemmed. (Not by the stem's length: "учиться"
 * stems to "уч", which does stand for "учится", "учились".) */
#define QRY_MIN_STEMMED 4
static inline bool qry_stem_stands_for(const char *word, size_t word_len, const char *stem,
                                       size_t stem_len)
{
    return stem_utf8_chars(word, word_len) >= QRY_MIN_STEMMED ||
           (stem_len == word_len && memcmp(stem, word, word_len) == 0);
}

enum qry_syn_role {
    QRY_SYN_NONE = 0,
    QRY_SYN_GROUP, /* QN_OR: the typed word(s) first, then each synonym */
    QRY_SYN_WORD,  /* QN_WORD of a synonym: term_count 1 (the stem) */
    /* QN_OR: the word being typed, then its QN_PREFIX (QRY_SIMPLE_PREFIX_LAST): one query word,
     * but not a typed word of the exact-form bonus (typed.c), since a word half typed is in no
     * document as typed. That QN_PREFIX has the role too: its completions score at
     * QRY_COMPLETION_WEIGHT and may be more (stats.c). In the typo reading the word's
     * QN_FUZZY has it too: its near forms are sought as a prefix (typo.c). */
    QRY_SYN_TYPING,
    /* QN_OR: a box's words of which a document needs only some (qry_with_any_words): it scores
     * the sum of those it has times their share of the words' idf (eval.c). */
    QRY_SYN_ANY,
};

enum qry_node_type {
    QN_AND = 1,
    QN_OR,
    QN_NOT,
    QN_FILTER, /* before QN_WORD: `type >= QN_WORD` means a leaf with terms */
    QN_WORD,
    QN_EXACT,
    QN_PHRASE,
    QN_PREFIX,
    QN_FUZZY,
};

struct qry_node {
    uint8_t type;         /* enum qry_node_type */
    bool is_negative;     /* under an odd number of QN_NOTs (snippets skip these) */
    uint8_t syn_role;     /* enum qry_syn_role */
    bool is_for_known;    /* QN_FUZZY: near forms even when some document has the word (typo.c) */
    int16_t field;        /* leaves: index into qry.field_offs, or QRY_ALL_FIELDS */
    uint32_t offset;      /* byte offset in the query text, for messages */
    int32_t first_child;  /* inner nodes: first child or QRY_NONE */
    int32_t next_sibling; /* QRY_NONE ends the list */
    uint32_t term;        /* leaves: first term (index into qry.terms) */
    uint32_t term_count;  /* QN_PHRASE: words; QN_WORD: 2 (stem, exact), a synonym's 1; else 1 */
    bool is_filter;       /* the subtree holds only QN_FILTER leaves (and AND/OR/NOT) */
};

/* What a QN_FILTER leaf tests. Numbers are normalized at parse time: int, date and bool
 * clauses are one inclusive int64 range (`>2010` is [2011, max], a date alone as a bound
 * covers its whole day, `true` is [1, 1]); lo > hi matches nothing. */
enum qry_filter_kind {
    QF_INT = 1, /* int, date (ms since the epoch), bool (0/1): lo <= v <= hi */
    QF_FLOAT,   /* flo <(=) v <(=) fhi, ±INFINITY for an open end */
    QF_KEYWORD, /* the value bytes [str_off, str_off + str_len) of qry.strings */
};

struct qry_filter {
    uint8_t kind;      /* enum qry_filter_kind */
    uint8_t sch_type;  /* enum sch_type of the attribute, for the column's type */
    uint32_t name_off; /* the attribute's name in qry.strings, NUL-terminated */
    uint32_t name_len;
    int64_t lo, hi;
    double flo, fhi;
    bool is_flo_open, is_fhi_open; /* QF_FLOAT: the bound itself is excluded */
    uint32_t str_off, str_len;
};

/* filter.c: one value of attribute attr (both borrowed) as a clause: s[0, len) at offset
 * off of the text being parsed (for messages), quoted or not. A keyword's bytes are not
 * copied: f->str_off is the caller's to set. SD_OK, SD_EPARSE, SD_EFIELD or SD_ELIMIT (into
 * err). The grammar and the facet specs (facet.c) share it. */
struct qry_fval {
    const struct sch_field *attr;
    struct sd_error *err;
};
int qry_filter_value(const struct qry_fval *p, const char *s, size_t len, size_t off,
                     bool is_quoted, struct qry_filter *f);
/* True when a word reads as a comparison or a range (`>=2010`, `2000..2010`): on a text or
 * undeclared field that is a mistaken filter, not words to search. */
bool qry_looks_like_range(const char *s, size_t len);

/* One term as it will be looked up in a segment dictionary. */
struct qry_term {
    uint32_t str_off; /* into qry.strings, NUL-terminated */
    uint32_t len;
    uint8_t kind;     /* enum seg_kind */
    uint32_t rel_pos; /* QN_PHRASE: position relative to the phrase's first word */
};

struct qry {
    struct qry_node *nodes; /* owned */
    size_t node_count;
    struct qry_term *terms; /* owned */
    size_t term_count;
    char *strings; /* owned pool of NUL-terminated strings */
    size_t strings_len;
    uint32_t *field_offs; /* owned: field names (offsets into strings) */
    size_t field_count;
    struct qry_filter *filters; /* owned: the QN_FILTER leaves' clauses */
    size_t filter_count;
    int32_t root;      /* QRY_NONE: a simple-syntax query without words (matches nothing),
                          or with is_all, an empty filter (matches every document) */
    bool is_all;       /* qry_parse_filter of no clause: browse everything */
    bool is_truncated; /* simple syntax dropped words past QRY_SIMPLE_MAX_WORDS */
};

/* Per-thread scratch. Buffers only grow; a search resets their lengths. */
struct qry_ctx {
    struct stem_ctx *stem;       /* owned */
    struct qry_scratch *scratch; /* owned: evaluation buffers (eval_int.h) */
};

static inline const char *qry_term_str(const struct qry *q, const struct qry_term *t)
{
    return q->strings + t->str_off;
}

/* ---- textsrc.c: the text a snippet is cut from ---- */

/* A text in memory, or a field of a stored document read a chunk at a time (textsrc.c). */
struct qry_src {
    const char *text; /* len bytes; with v, only the loaded pieces' bytes are set */
    size_t len;
    struct seg_doc_view *v; /* borrowed; NULL: text is all in memory, one piece */
    size_t base;            /* with v: text's offset in v's record */
    struct sd_error *err;   /* borrowed: where a chunk that does not decompress is told */
};

void qry_src_mem(struct qry_src *src, const char *text, size_t len);
/* The field f (one of v->st.fields) of the document v. SD_OK, or SD_EINVAL when f is not. */
int qry_src_doc(struct qry_src *src, struct seg_doc_view *v, const struct seg_field *f,
                struct sd_error *err);
uint32_t qry_src_pieces(const struct qry_src *src);
/* Piece i is text [*start, *end) (empty when its chunk holds none of the text). */
void qry_src_piece(const struct qry_src *src, uint32_t i, size_t *start, size_t *end);
/* Makes text [from, to) readable. SD_OK, SD_ENOMEM or SD_ECORRUPT (src->err says). */
int qry_src_load(struct qry_src *src, size_t from, size_t to);
/* Loads [from, to) widened to word boundaries [*a, *b): tokenizing text[*a, *b) gives the
 * whole text's tokens there (for a text in memory: the whole text). */
int qry_src_load_words(struct qry_src *src, size_t from, size_t to, size_t *a, size_t *b);
/* *out (owned, free()) says per piece whether it may hold a token a positive leaf of q
 * matches; false only where it does not. SD_OK or SD_ENOMEM. */
int qry_src_candidates(struct qry_ctx *ctx, const struct qry_src *src, const struct qry *q,
                       bool **out);

/* Whether node is a typo reading's pair: a QN_OR of the word as typed and its QN_FUZZY
 * (typo.c). Planning scores it as one word; the highlighter counts it as one. */
bool qry_is_typo_pair(const struct qry *q, int32_t node);
/* parse_simple.c: the QRY_SYN_TYPING group (the word being typed and its prefix) that node is
 * a child of, or QRY_NONE. */
int32_t qry_typing_group(const struct qry *q, int32_t node);
/* parse_simple.c: the word of QRY_SYN_TYPING group `group`: its first child, or when synonyms
 * made that a QRY_SYN_GROUP (synonym.c), the typed word the group starts with. */
int32_t qry_typing_word(const struct qry *q, int32_t group);
/* Whether node is a typo reading's word: a typo pair, or the word being typed whose word is
 * one (QN_OR[QRY_SYN_TYPING](pair, word*)). Its bonus is the pair's (typed.c, plan.c). */
bool qry_is_typo_word(const struct qry *q, int32_t node);

/* ---- lev.c: the Levenshtein automaton ---- */

#define QRY_LEV_MAX_CHARS 48 /* longest word (in characters) searched with typos */
#define QRY_LEV_MAX_EDITS 2
#define QRY_LEV_MAX_ROWS  (QRY_LEV_MAX_CHARS + QRY_LEV_MAX_EDITS + 2)

/* The automaton of one word and bound, with its state after each character of the last term
 * fed (see lev.c). About 3 KB; lives on the stack or in scratch. */
struct qry_lev {
    uint32_t word[QRY_LEV_MAX_CHARS]; /* code points */
    size_t n;
    unsigned k;
    uint8_t rows[QRY_LEV_MAX_ROWS][QRY_LEV_MAX_CHARS + 1]; /* D[t][i], capped at k+1 */
    uint8_t row_min[QRY_LEV_MAX_ROWS];
    uint32_t chars[QRY_LEV_MAX_ROWS]; /* the term's characters, for transpositions */
    size_t ends[QRY_LEV_MAX_ROWS];    /* byte end of the term's character t */
    size_t depth;                     /* rows [0, depth] hold the last term's prefix */
    unsigned char prev[STEM_MAX_TOKEN + 1];
    size_t prev_len;
};

/* The automaton of word[0, len) (borrowed for the call) within k edits (at most
 * QRY_LEV_MAX_EDITS). SD_OK, or SD_ELIMIT when the word has more than
 * QRY_LEV_MAX_CHARS characters. */
int qry_lev_init(struct qry_lev *a, const char *word, size_t len, unsigned k);
enum qry_lev_result {
    QRY_LEV_NO = 0, /* not within k; go on with the next term */
    QRY_LEV_MATCH,  /* within k edits: *dist */
    QRY_LEV_SEEK,   /* not within k, and no term before seek[0, *seek_len) can be */
    QRY_LEV_DONE,   /* not within k, and no later term can be */
};

/* Feeds one term (terms should come in byte order: a shared prefix is not recomputed; any
 * order is correct). seek has room for STEM_MAX_TOKEN bytes; a seek target is always after
 * term. Returns an enum qry_lev_result. */
int qry_lev_feed(struct qry_lev *a, const char *term, size_t len, unsigned *dist, char *seek,
                 size_t *seek_len);
/* Whether some prefix of term[0, len) lies within k edits of the word (the prefix walk's
 * rule, for one term: highlighting a word being typed); *dist the least such distance. Leaves
 * a fed automaton to start over. */
bool qry_lev_match_prefix(struct qry_lev *a, const char *term, size_t len, unsigned *dist);
/* Called for each term within k edits: its bytes (valid during the call), edits and df. A
 * non-zero return ends the walk and is returned. */
typedef int (*qry_lev_fn)(void *arg, const char *term, size_t len, unsigned dist, uint32_t df);
/* Calls fn, in byte order, for every exact form in t that some field of fields[0, nfields)
 * has, that starts with prefix[0, prefix_len) (whole characters; every form when prefix_len
 * is 0) and lies within the automaton's k edits, with its df summed over those fields (once
 * per form, however many fields have it); reads only the part of the trie the automaton can
 * still accept (see lev.c). Leaves a fed automaton to start over. SD_OK or fn's return. */
int qry_lev_walk(struct qry_lev *a, const struct seg_exact_terms *t, const unsigned *fields,
                 size_t nfields, const char *prefix, size_t prefix_len, qry_lev_fn fn,
                 void *arg);
/* As qry_lev_walk, for a word that may be only the start of the term meant (the word being
 * typed): calls fn for every form some prefix of which lies within the automaton's k edits,
 * at the least distance of any of its prefixes (a form the word itself starts: 0). Reads the
 * part of the trie the automaton can still accept, and then all of each subtree it accepts. */
int qry_lev_walk_prefix(struct qry_lev *a, const struct seg_exact_terms *t,
                        const unsigned *fields, size_t nfields, const char *prefix,
                        size_t prefix_len, qry_lev_fn fn, void *arg);
/* Edits allowed for a typed word: 0 under QRY_TYPO_ONE_EDIT characters, 1, or 2 from
 * QRY_TYPO_TWO_EDITS. */
unsigned qry_lev_max_edits(const char *word, size_t len);
/* Bytes of the first `chars` characters of word[0, len) (all of it when it has fewer). */
size_t qry_lev_prefix_len(const char *word, size_t len, size_t chars);

/* A growable array of fixed-size elements (per-thread scratch and parser output). */
struct qry_vec {
    void *data;
    size_t count;
    size_t cap;
};

/* Makes room for one more element of size elem; returns a pointer to it (count is
 * incremented) or NULL when out of memory. */
void *qry_vec_push(struct qry_vec *v, size_t elem);
/* Makes sure count elements of size elem fit; SD_OK or SD_ENOMEM. */
int qry_vec_reserve(struct qry_vec *v, size_t count, size_t elem);
/* Element i of v (elem bytes each), or NULL while v has no storage: v->data + offset on a
 * vector nothing was ever pushed to would offset a null pointer (issue 10, libFuzzer). */
void *qry_vec_at(const struct qry_vec *v, size_t elem, size_t i);
void qry_vec_free(struct qry_vec *v);

#endif
