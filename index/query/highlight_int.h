/*
 * highlight_int.h: what highlight_match.c (finding the matches) and highlight.c (choosing and
 * writing the fragments) share: a match, a window, and the state of one call.
 */
#ifndef SEARCHD_HIGHLIGHT_INT_H
#define SEARCHD_HIGHLIGHT_INT_H

#include "query_int.h"

struct hl_match {
    size_t off;
    size_t len;
    uint32_t word; /* the query word it answers (query_word): distinct words */
};

struct hl_frag {
    size_t start;
    size_t end;
    size_t first; /* matches [first, last) inside */
    size_t last;
};

struct hl_phrases; /* highlight_match.c's */

/* The distinct query words of the matches [lo, hi), kept as a count per word (highlight.c
 * span_move): the windows of neighbouring matches share most of their matches, so counting
 * them costs what the window moved, not what it holds times the query's words (a fragment of
 * 4096 bytes over a long text of common words holds hundreds of matches: counting each window
 * anew took seconds per hit). */
struct hl_span {
    uint32_t *cnt; /* per query word (query_word, below node_count); owned */
    size_t lo;
    size_t hi;
    size_t distinct;
    size_t unshown;    /* distinct words that shown[] does not mark */
    const bool *shown; /* the words the fragments chosen so far show; NULL: none */
};

struct hl_state {
    const struct qry *q;
    struct stem_ctx *stem; /* the tokenizer's: stem_is stems a word between two tokens */
    struct qry_src *src;
    size_t flen;          /* bytes per fragment */
    unsigned max;         /* fragments wanted */
    struct qry_lev *levs; /* one per node (only QN_FUZZY ones initialised) */
    bool *has_lev;
    uint32_t *word; /* per node: the query word a leaf answers (query_word) */
    struct hl_match *m;
    size_t count;
    size_t cap;
    size_t base; /* the text offset of the range being tokenized */
    bool is_oom;
    int load_rc;
    /* Stopping early (settle): the windows of matches [0, settled) are final (the text they
     * reach was tokenized); full[0, nfull) are those among them that hold all `words`
     * positive words of the query, earliest first, none overlapping another. */
    size_t words;
    size_t settled;
    size_t settle_at; /* look again once the tokens reach this offset */
    struct hl_frag full[QRY_MAX_FRAGMENTS];
    size_t nfull;
    struct hl_span span; /* settle's count of the window's words (cnt owned, NULL until used) */
    bool is_span_stale;  /* matches inside span.lo..span.hi moved (insert_match, flush_compound) */
    /* A compound ("e-mail") whose joined form a leaf matches, marked whole once its parts are
     * seen unless each of them is marked (flush_compound); parts: its parts seen so far. */
    struct hl_match compound;
    bool has_compound;
    size_t parts;
    /* Phrases (hl_seq): a word the query has only inside a phrase is marked where the whole
     * phrase is. el_of[node]: a leaf matched only as a part of one (not alone). el[0, nel):
     * the parts of every phrase, each phrase's in position order; ring: the last HL_RING
     * positions' tokens with the parts each matches (range-relative positions, as the
     * search's phrase positions are field-relative: a range starts at a word boundary). */
    struct hl_phrases *ph; /* owned; NULL when the query has no phrase */
    size_t nseq;
    size_t nel;
    uint64_t leads; /* the parts that are not a phrase's last: a token of one is pending */
    uint32_t ahead; /* positions from a phrase's first part to its last, at most */
};

/* Finds the matches of h->q in src (h->q, h->stem, h->src, h->flen and h->max set by the
 * caller) into h->m[0, h->count), in text order, stopping early once qry_hl_settle says the
 * rest of the text cannot change the choice. Allocates h->m, h->levs, h->has_lev, h->word and
 * h->ph, which the caller frees, after an error too. SD_OK, SD_ENOMEM, or the error of a
 * piece of the text that does not load. */
int qry_hl_find_matches(struct qry_ctx *ctx, struct hl_state *h, struct qry_src *src);

/* Settles the windows the text up to upto decides (highlight.c); true once h->max of them
 * hold every query word, so that the text need not be read further. */
bool qry_hl_settle(struct hl_state *h, size_t upto);

#endif
