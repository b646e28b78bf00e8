/*
 * query.h: the query language, its evaluation over a set of segments, BM25
 * ranking and snippets (prefix qry_).
 *
 * Language (docs/QUERY.md has the full grammar):
 *   word word      both must match (AND is the default operator; `AND` also accepted)
 *   a OR b         either (binds tighter than the implicit AND, as in Xapian/Sphinx:
 *                  `a b OR c` = a AND (b OR c))
 *   -word, -(..)   exclude; a query of only exclusions is an error
 *   "a b c"        phrase: the exact (case-folded, unstemmed) forms at consecutive
 *                  positions in one field
 *   pre*           prefix of the exact form (at least 2 characters; expands to at
 *                  most QRY_MAX_EXPANSIONS terms, the most frequent first)
 *   field:word     restrict a word, phrase, prefix or group to one field
 *   ( ... )        grouping
 * A word matches every inflection (its Snowball stem); a document that has the
 * exact form typed scores higher (the SEG_EXACT term adds a bonus x its BM25: typed.c
 * decides it per query from exact_boost: x10 when the words stand as typed together in some
 * document, 0 when in none; the words of an AND earn it only in a document holding all their
 * typed forms, eval.c).
 * Errors say what and where: "at 7: unbalanced '('", "at 0: empty query".
 *
 * Ranking: BM25F over fields. For a query word w with stem s in a document d:
 *   tf~ = sum over fields f of weight_f * tf(s,f,d) / (1 - b + b * len(f,d) / avglen(f))
 *   score(w,d) = idf(s) * tf~ * (k1 + 1) / (tf~ + k1)  (+ exact_boost * the same for the exact form)
 * with idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)), N, df and avglen summed over
 * all segments of the snapshot (deleted documents included, as Lucene does).
 * Proximity: an AND of typed words also scores how close they stand, whatever the
 * document's length: for consecutive query words a, b (in any inflection),
 *   proximity * min(idf(a), idf(b)) / d^2   (0 for d > 2)
 * with d the fewest positions from an a to a later b in one field (prox.c).
 *
 * Threads: a struct qry is immutable after parsing and may be shared. A struct
 * qry_ctx holds one thread's scratch (stemmer, heaps, buffers).
 */
#ifndef SEARCHD_QUERY_H
#define SEARCHD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "sd_base.h"
#include "seg.h"
#include "stem.h"

#define QRY_MAX_LEN        4096 /* bytes of query text */
#define QRY_MAX_TERMS      64   /* words, phrase words and prefixes in one query */
#define QRY_MAX_DEPTH      16   /* nesting of parentheses */
#define QRY_MAX_EXPANSIONS 128  /* terms one prefix may expand to */
/* ... and the word being typed (QRY_SIMPLE_PREFIX_LAST) when another word of an AND narrows it:
 * its completions are then only looked for among that word's documents */
#define QRY_MAX_TYPING_EXPANSIONS 512
#define QRY_TYPO_ONE_EDIT  5    /* words of this many characters match with one typo */
#define QRY_TYPO_TWO_EDITS 9    /* ... and of this many with two */
#define QRY_MAX_FUZZY      16   /* stems one misspelt word may expand to */
#define QRY_FUZZY_WEIGHT   0.3f /* a typo match scores this fraction of an exact one */
/* A completion of the word being typed (QRY_SIMPLE_PREFIX_LAST) scores this fraction of what
 * the word would: the word, in any inflection, ranks above a longer word that starts so. */
#define QRY_COMPLETION_WEIGHT 0.2f
#define QRY_MAX_LIMIT      1000 /* hits in one answer */
#define QRY_MAX_OFFSET     100000
/* The weight of the proximity bonus measured on the known-item sets (qry_params.proximity,
 * the wire's "proximity": true; docs/QUERY.md "Proximity"). Searches default to 0 (off): the
 * bonus costs an AND of 2-3 words 1.5-2.5x its time (bench/RESULTS.md). */
#define QRY_PROXIMITY     0.35f
#define QRY_MAX_PROXIMITY 1000.0f
/* Matches counted exactly before a search with a limit may start skipping
 * documents that cannot reach the top hits (Lucene's totalHitsThreshold). */
#define QRY_TOTAL_EXACT_UPTO 1000

struct qry;
struct qry_ctx;

/* Parses text[0, len) (borrowed). On success *out is owned by the caller and
 * freed with qry_free(). SD_EPARSE (with "at OFFSET: what" in err),
 * SD_ELIMIT (too long, too many terms, too deep) or SD_ENOMEM. The text must
 * be valid UTF-8 (SD_EPARSE otherwise). */
int qry_parse(struct qry_ctx *ctx, const char *text, size_t len, struct qry **out,
              struct sd_error *err);
void qry_free(struct qry *q);

/* Which grammar a query text is read with. */
enum qry_syntax {
    QRY_SYNTAX_FULL = 0, /* qry_parse: strict, errors with offsets */
    QRY_SYNTAX_SIMPLE,   /* qry_parse_simple: lenient, never fails on the text */
};

/* Words of a simple-syntax query kept; the rest is dropped (qry_is_truncated). */
#define QRY_SIMPLE_MAX_WORDS 32

/* qry_parse_simple flags. QRY_SIMPLE_PREFIX_LAST: the text is still being typed (a search
 * box that searches as you type), so a last word that ends the text (no space after it) is
 * also read as a prefix of 2+ characters: `цифровая дипло` finds *цифровая дипломатия*. */
#define QRY_SIMPLE_PREFIX_LAST 1u

/* The lenient syntax for text typed into a search box (docs/QUERY.md, "Simple
 * syntax"): words, closed "phrases", -exclusions, OR between two terms and
 * pre* prefixes; every other character is text. Never fails on the text:
 * any bytes, unbalanced quotes or parentheses, dangling operators. Text past
 * QRY_MAX_LEN bytes or QRY_MAX_TERMS terms or QRY_SIMPLE_MAX_WORDS words is
 * dropped and qry_is_truncated() says so. A text without words gives a query
 * that matches nothing. flags: QRY_SIMPLE_* or 0. *out is owned by the caller
 * (qry_free()). SD_OK or SD_ENOMEM. */
int qry_parse_simple(struct qry_ctx *ctx, const char *text, size_t len, unsigned flags,
                     struct qry **out, struct sd_error *err);
bool qry_is_truncated(const struct qry *q);
/* Most words, for a search box whose words find nothing together (the engine's last reading,
 * docs/QUERY.md "Most words"). qry_with_any_words: the operands of q's root AND (a
 * qry_parse_simple query, synonyms applied or not) that are one typed word each (a word, a
 * prefix, the word being typed, a word with synonyms; not a phrase, an OR, a compound or an
 * exclusion) become optional: one QN_OR of role QRY_SYN_ANY takes their place, where the
 * first stood. A document then needs one of them (and every other operand), and scores the
 * sum of the words it has times the share of the words' idf that they carry, so one missing
 * a rare word ranks below one missing a common word. Its hits say which of the words they
 * have (qry_hit.any_words: bit i for the group's word i, in text order). Unchanged when
 * fewer than two such words; *is_grouped says whether it grouped them. In place: q's nodes
 * grow by one. SD_OK or SD_ENOMEM. qry_any_word: word i of the group as the query has it
 * (folded, as typed: its exact form), borrowed from q; false past the last. */
int qry_with_any_words(struct qry *q, bool *is_grouped);
bool qry_any_word(const struct qry *q, unsigned i, const char **word, size_t *len);

/* Writes text[0, len) (borrowed) into out as it reads typed with the other
 * keyboard layout (ЙЦУКЕН <-> QWERTY, each space-separated chunk in the
 * direction of its letters; operators and query syntax characters kept):
 * "wbahjdfz" -> "цифровая", "ыуфкср" -> "search". out gets a NUL after the
 * text (not counted in out->len). *is_changed is false when no character has
 * a counterpart. SD_OK or SD_ENOMEM. */
int qry_layout_swap(const char *text, size_t len, struct sd_buf *out, bool *is_changed);
/* The same for only the chunks that hold one of the offsets at[0, nat) (the words no document
 * has, qry_result.unknown_at), the others copied as typed: a query of which some words were
 * typed in the other layout ("цифровая lbgkjvfnbz" -> "цифровая дипломатия"). A Cyrillic chunk
 * with a letter on a punctuation key (б ю ж х ъ ё) stays as typed too: no English word typed
 * with ЙЦУКЕН on has one. */
int qry_layout_swap_at(const char *text, size_t len, const uint32_t *at, size_t nat,
                       struct sd_buf *out, bool *is_changed);
/* Which space-separated chunk of text[0, len) byte `at` is in, counted from 0: the same in a
 * text and its layout readings, whose chunks are rewritten one for one. */
size_t qry_layout_chunk(const char *text, size_t len, size_t at);
/* Whether text[0, len) has both Latin and Cyrillic letters. */
bool qry_layout_mixes_scripts(const char *text, size_t len);

/* Field names the query restricts to (field:...), for validation. */
size_t qry_field_count(const struct qry *q);
const char *qry_field_name(const struct qry *q, size_t i);

int qry_ctx_new(struct qry_ctx **out); /* owned; per thread */
void qry_ctx_free(struct qry_ctx *ctx);

/* One segment of a snapshot. deleted is a bitmap of seg_doc_count(seg) bits
 * (bit d set = doc d deleted) or NULL; both borrowed for the search. */
struct qry_segment {
    const struct seg *seg;
    const uint64_t *deleted;
};

struct qry_weight {
    const char *field; /* borrowed */
    float weight;
};

struct qry_params {
    uint32_t limit;  /* hits wanted; 0 = count only */
    uint32_t offset; /* hits skipped */
    float k1;        /* default 1.2 */
    float b;         /* default 0.75 */
    float exact_boost;             /* default 0.5; typed.c scales it per query */
    float proximity;               /* weight of the proximity bonus (below); default 0
                                      (off), QRY_PROXIMITY when asked for; [0, 1000] */
    const struct qry_weight *weights; /* per-field weights; unnamed fields use
                                         default_weight; "title" defaults to 2 */
    size_t nweights;
    float default_weight; /* default 1 */
    /* Filters, sort and facets (docs/QUERY.md "Filters, sort and facets"); borrowed for the
     * search, NULL: none. With a sort not led by _score, facets, or a query that browses,
     * every match is evaluated (no pruning) and total is exact. */
    const struct qry *filter;        /* qry_parse_filter()'s: ANDed with the query, no score */
    const struct qry_sort *sort;     /* qry_sort_parse()'s; NULL: by relevance */
    const struct qry_facets *facets; /* qry_facets_parse()'s; counts in qry_result.facets */
};

void qry_params_default(struct qry_params *p);

struct qry_facet;

struct qry_hit {
    uint32_t segment; /* index into the qry_segment array */
    uint32_t doc;     /* local doc id in that segment */
    float score;
    uint32_t any_words; /* a qry_with_any_words query: the group's words it has (bit i: word i) */
};

/* hits is owned by the result: release with qry_result_free().
 * total is the number of matching live documents when total_is_exact. It is
 * always exact with limit 0, and whenever it is below QRY_TOTAL_EXACT_UPTO.
 * Otherwise the search may have skipped documents that could not enter the
 * top offset+limit (block-max pruning): total is then a lower bound (at least
 * QRY_TOTAL_EXACT_UPTO) and total_is_exact is false. The hits are the same
 * either way. */
struct qry_result {
    uint64_t total;
    bool total_is_exact;
    struct qry_hit *hits;
    size_t nhits;
    /* Positive words (QN_WORD) of the query that no document has in any inflection: a sign
     * of a typo or the wrong keyboard layout, which only then are worth another reading.
     * When they leave the query nothing to match, the words after the second are not looked
     * up, so not counted: the count is then at least 1, not every such word. */
    uint32_t unknown_words;
    /* Where they start in the text searched, and the phrases with a word no document has (a
     * compound typed in the other layout: ",b,kbjntrb"), as far as they were looked up (byte
     * offsets, nunknown_at of them): what the other layout may have to read
     * (qry_layout_swap_at). */
    uint32_t unknown_at[QRY_MAX_TERMS];
    uint32_t nunknown_at;
    /* Beside unknown words (0 without), the positive words of QRY_TYPO_ONE_EDIT+ characters
     * that some document has as typed, as far as they were looked up: a word typed in the wrong
     * keyboard layout is seldom one, so the whole text read in the other layout is not what was
     * meant. */
    uint32_t known_long_words;
    /* One per facet spec of params.facets, in that order; owned (qry_result_free). */
    struct qry_facet *facets;
    size_t nfacets;
};

/* Runs q over segs[0, nsegs) (borrowed) and fills out with the hits ranked
 * offset .. offset+limit-1 by score (ties: lower segment index, then lower
 * doc id first; a query that browses: index order) or by params->sort, only
 * documents that pass its filter clauses and params->filter. A field restriction that names a field no segment has is
 * SD_EINVAL "unknown field 'x'" (except title and body, always known).
 * Returns SD_OK, SD_EINVAL, SD_ELIMIT, SD_ENOMEM or SD_ECORRUPT. */
int qry_search(struct qry_ctx *ctx, const struct qry *q, const struct qry_segment *segs,
               size_t nsegs, const struct qry_params *params, struct qry_result *out,
               struct sd_error *err);
void qry_result_free(struct qry_result *r);

/* Readings of one query over the same segments (an engine search: as typed, the other
 * layout, typos) look its words up in the dictionary once: qry_memo_keep, called right after
 * qry_search(ctx, q, segs, nsegs, ...), keeps what that search looked up for q's words, and
 * later searches of ctx take those answers from it until qry_memo_end (memo.c). The caller
 * keeps segs' segments open and unchanged until then (one snapshot). q and segs are
 * borrowed for the call. */
void qry_memo_keep(struct qry_ctx *ctx, const struct qry *q, const struct qry_segment *segs,
                   size_t nsegs);
void qry_memo_end(struct qry_ctx *ctx);

/* ---- filters, sort and facets (filter.c, filter_eval.c, sort.c, facet.c) ---- */

/* qry_parse where `name:` for an attribute that schema (borrowed for the call; NULL: none)
 * declares (int, float, date, bool, keyword) is a filter clause: `year:>=2010`,
 * `year:2000..2010`, `date:2015-03-01`, `lang:ru`, `lang:"pt-BR"`, `tags:(a OR b)`,
 * `-collection:drafts`, `flag:true`. A text field stays a field restriction. A range on a
 * field that is not an attribute is SD_EFIELD ("unknown field 'x' in filter", "... declared
 * as text"); a malformed number, date or range SD_EPARSE "at OFFSET: ...". A query of
 * clauses only (or clauses and exclusions) browses (qry_is_browse). */
int qry_parse_schema(struct qry_ctx *ctx, const char *text, size_t len,
                     const struct sch_schema *schema, struct qry **out, struct sd_error *err);
/* The separate `filter` string: the same clauses and operators, but nothing else (a word or
 * a field that is not an attribute: SD_EPARSE / SD_EFIELD). An empty text gives a query that
 * matches every document. *out owned by the caller (qry_free). */
int qry_parse_filter(struct qry_ctx *ctx, const char *text, size_t len,
                     const struct sch_schema *schema, struct qry **out, struct sd_error *err);
/* True when q has no text to score: it matches by filter clauses alone (or everything). */
bool qry_is_browse(const struct qry *q);
/* True when q matches nothing for want of any term: a simple-syntax text with no word. */
bool qry_is_none(const struct qry *q);

#define QRY_MAX_SORT_KEYS 4 /* keys in one sort */

/* A parsed sort: "key[:asc|:desc],..." over the attributes schema (borrowed for the call)
 * declares as int, float, date, bool or keyword, `title` (the hit's title bytes) and
 * `_score` (desc by default; the others asc). Multi-valued: the smallest value for asc,
 * the largest for desc; a document without a value sorts last either way; ties go to the
 * higher score, then the lower document id (bytes), so pages are stable. SD_EFIELD for an
 * undeclared key or a text field ("unknown field 'x' in sort"), SD_EPARSE for a bad
 * direction or an empty key, SD_ELIMIT past QRY_MAX_SORT_KEYS. *out owned (qry_sort_free). */
struct qry_sort;
int qry_sort_parse(const char *text, size_t len, const struct sch_schema *schema,
                   struct qry_sort **out, struct sd_error *err);
void qry_sort_free(struct qry_sort *s); /* NULL is a no-op */

#define QRY_MAX_FACETS     16   /* facet specs in one search */
#define QRY_MAX_FACET_SIZE 1000 /* buckets one facet may return */
#define QRY_FACET_SIZE     10   /* buckets of a value facet without size= */

/* Parsed facet specs "field[:option=value[;option=value]]" (docs/QUERY.md): size=N,
 * values=a|b, interval=N (int, float) or day|month|year (date), ranges=lo..hi|..hi|lo..
 * schema borrowed for the call. SD_EFIELD for an undeclared or text field, SD_EPARSE
 * "facet N: at OFFSET: ..." for a malformed spec. *out owned (qry_facets_free). */
struct qry_facets;
int qry_facets_parse(const char *const *specs, size_t n, const struct sch_schema *schema,
                     struct qry_facets **out, struct sd_error *err);
void qry_facets_free(struct qry_facets *f); /* NULL is a no-op */

struct qry_facet_bucket {
    char *value; /* owned, NUL-terminated */
    uint64_t count;
};

/* The counts of one facet spec over every match. "As if not filtered": a filter clause at
 * the top level of the AND (of the query or the filter) that restricts only this facet's
 * field does not restrict its counts. Value facets are ordered by count (desc) then value,
 * interval and range facets by value, values= in the order given. A document counts once
 * per bucket however many of its values fall in it. others: for values= and ranges,
 * matching documents with a value in no bucket; for the top values and for intervals, the
 * counts of the buckets not returned (documents, for a single-valued field). missing:
 * matching documents without a value. */
struct qry_facet {
    char *field;                      /* owned */
    struct qry_facet_bucket *buckets; /* owned */
    size_t nbuckets;
    uint64_t others;
    uint64_t missing;
};

/* Typo tolerance (typo.c). *out becomes a copy of q (owned: qry_free()) in which every
 * positive word of QRY_TYPO_ONE_EDIT+ characters also matches, at QRY_FUZZY_WEIGHT, every
 * inflection of the forms within one edit of the typed form (two from QRY_TYPO_TWO_EDITS
 * characters; Damerau: insert, delete, substitute, transpose); *out is NULL when q has no
 * such word. A word whose stem some document has gets no near forms, unless is_every_word
 * (for words that are each found but find nothing together: one of them may be a misspelling
 * that a few documents share). SD_OK or SD_ENOMEM. */
int qry_with_typos(const struct qry *q, bool is_every_word, struct qry **out,
                   struct sd_error *err);

/* The correction of text[0, len) (the text the query was parsed from; borrowed), from what
 * the typo walk of the last qry_search() on ctx saw; fq must be the qry_with_typos() query
 * that search ran. Each word whose typed form no document has is replaced by the closest, then
 * most frequent, form that some document has. Appends the text, NUL-terminated (not counted in
 * out->len), to out; *is_corrected is false when no word was replaced. SD_OK or SD_ENOMEM. */
int qry_did_you_mean(struct qry_ctx *ctx, const struct qry *fq, const char *text, size_t len,
                     struct sd_buf *out, bool *is_corrected);

/* ---- synonyms and stopwords (lexicon.c, synonym.c) ---- */

#define QRY_SYN_MAX_WORDS 8 /* words of one synonym member */

/* An index's synonyms and stopwords, analysed like queries (folded, stemmed): built once per
 * settings, then immutable and shared by any number of threads. */
struct qry_lexicon;

/* An empty lexicon, owned by the caller (qry_lexicon_free). Building it uses a stemmer of its
 * own, freed by qry_lexicon_seal. SD_OK or SD_ENOMEM. */
int qry_lexicon_new(struct qry_lexicon **out, struct sd_error *err);
void qry_lexicon_free(struct qry_lexicon *lex); /* NULL is a no-op */

/* Adds a built-in stopword list: "en" or "ru" (Snowball's lists, stoplist.c). SD_EINVAL for
 * another name. */
int qry_lexicon_add_stoplist(struct qry_lexicon *lex, const char *name, struct sd_error *err);

/* Adds one stopword (borrowed): it must be one word ("stopwords: 'new york' is not one word"). */
int qry_lexicon_add_stopword(struct qry_lexicon *lex, const char *word, size_t len,
                             struct sd_error *err);

/* Adds one synonym entry of n strings (borrowed): two-way (each finds every other) or one-way
 * (members[0], the root, also finds the others). Each must hold 1 to QRY_SYN_MAX_WORDS words:
 * SD_EINVAL naming the string otherwise. */
int qry_lexicon_add_synonyms(struct qry_lexicon *lex, bool is_one_way, const char *const *members,
                             const size_t *lens, size_t n, struct sd_error *err);

/* Ends the building: sorts the tables, frees the stemmer. Nothing may be added after. */
void qry_lexicon_seal(struct qry_lexicon *lex);

/* Whether lex (NULL: none) has any synonyms: a reading that only synonyms could change (the
 * engine's corrected reading, search.c) is not searched without them. */
bool qry_lexicon_has_synonyms(const struct qry_lexicon *lex);

/* *out becomes a copy of q (owned: qry_free()) read with lex (sealed, borrowed): each positive
 * word or run of consecutive words (same field, not in a phrase) that is a synonym member, compared
 * by stems so any inflection counts, becomes an OR of itself and the member's synonyms (a
 * multi-word one as an AND of its words, each matching every inflection), longest member first;
 * a synonym's words score at most what the typed words would (stats.c caps their idf). Then each
 * word (not in a phrase) whose typed form is a stopword is dropped, unless that leaves an AND
 * with nothing to match, or the query empty: then they stay. Synonyms beyond QRY_MAX_TERMS words
 * in all are left out, in query order. *out is NULL when nothing changes. SD_OK or SD_ENOMEM. */
int qry_with_lexicon(const struct qry_lexicon *lex, const struct qry *q, struct qry **out,
                     struct sd_error *err);

/* ---- highlighting (highlight.c) ---- */

#define QRY_MAX_FRAGMENTS 5

struct qry_hl_opts {
    size_t fragment_len; /* bytes of text per fragment (about); 0 = the whole text, uncut */
    unsigned fragments;  /* at most this many fragments, 1..QRY_MAX_FRAGMENTS */
    const char *pre;     /* mark before a matched word (borrowed); default "<mark>" */
    size_t pre_len;
    const char *post; /* default "</mark>" */
    size_t post_len;
    bool wants_offsets; /* plain text and spans instead of marks and HTML escaping */
};

void qry_hl_opts_default(struct qry_hl_opts *o);

/* A matched word in offsets mode: bytes [off, off+len) of text part `part`. */
struct qry_hl_span {
    uint32_t part;
    uint32_t off;
    uint32_t len;
};

/* Cuts text (borrowed) into the fragments of o that hold the most distinct positive query
 * words close together (inflected forms, phrase words, prefixes and typo matches count), and
 * appends each to out, NUL-terminated, one after another; *count says how many (at least 1).
 * Matched words are wrapped in o->pre/o->post and the rest is HTML-escaped; with
 * o->wants_offsets the text is plain and a struct qry_hl_span per match (part = first_part +
 * fragment index, off within that fragment) is appended to spans. Marks and cuts never split
 * a UTF-8 sequence or an entity. SD_OK or SD_ENOMEM. */
int qry_highlight(struct qry_ctx *ctx, const struct qry *q, const char *text, size_t len,
                  const struct qry_hl_opts *o, uint32_t first_part, struct sd_buf *out,
                  size_t *count, struct sd_buf *spans);

/* A plain-text excerpt of text (borrowed) of about max_len bytes: qry_highlight's best
 * fragment (the most distinct query words close together) without marks or escaping, with
 * "…" where text was cut; the start of text when nothing matches; "" when max_len is 0.
 * Appends it NUL-terminated to out, the NUL not counted in out->len. SD_OK or SD_ENOMEM. */
int qry_snippet(struct qry_ctx *ctx, const struct qry *q, const char *text, size_t len,
                size_t max_len, struct sd_buf *out);

/* qry_snippet and qry_highlight of the field f (one of v->st.fields) of a stored document
 * read through a view (seg.h): the same output as for the whole value, but only the chunks
 * whose stem filters may hold a query word, and those around the chosen text, are
 * decompressed (for a record stored in one block, the view holds it all already). v is
 * borrowed (chunks get loaded into it). qry_highlight_doc also appends to plain, when not
 * NULL, the snippet of o->fragment_len bytes (qry_snippet's output), from the same pass over
 * the text. SD_OK, SD_ENOMEM, or SD_ECORRUPT with err set (a chunk that does not
 * decompress). */
int qry_snippet_doc(struct qry_ctx *ctx, const struct qry *q, struct seg_doc_view *v,
                    const struct seg_field *f, size_t max_len, struct sd_buf *out,
                    struct sd_error *err);
int qry_highlight_doc(struct qry_ctx *ctx, const struct qry *q, struct seg_doc_view *v,
                      const struct seg_field *f, const struct qry_hl_opts *o, uint32_t first_part,
                      struct sd_buf *out, size_t *count, struct sd_buf *spans,
                      struct sd_buf *plain, struct sd_error *err);

#endif
