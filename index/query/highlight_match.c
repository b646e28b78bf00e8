/*
 * highlight_match.c: where the query's words are in a text, for the highlighter
 * (highlight.c chooses the fragments around them and writes them).
 *
 * One pass of the document tokenizer over the text finds every token a
 * positive leaf of the query matches, by the rules the index used: its stem
 * is a word's stem, its folded form a phrase word's or exact word's, it starts
 * with a prefix, or (QN_FUZZY) it is within the word's edits of the typed
 * form (for the word being typed: it starts within them), checked with the
 * same automaton the search walked the dictionary with.
 * Each match remembers which query word it answers (query_words).
 *
 * Phrases. A word the query has only inside a phrase is marked only where the whole phrase
 * is, as the search matches it (eval.c phrase_positions): each word's folded form at its
 * rel_pos, positions adjacent, no slop, punctuation taking no position. Compounds are phrases
 * of their parts (parse_leaf.c: "don't" is "don t" OR "dont"), so the "t" of "doesn't" is
 * not marked. A multi-word synonym (an AND of QRY_SYN_WORD leaves) is followed the same way
 * by stems, its words in order at adjacent positions: it names one thing, its words apart do
 * not. The tokenizer's last HL_RING positions are remembered (hl_slot: which phrase parts
 * each token matches); a token that ends a phrase marks it whole, its earlier words inserted
 * in text order. A word the query also has alone is marked everywhere, by its own leaf. The
 * phrase's matches are one query word for the fragment choice, so the fragment is chosen
 * where the phrase is. A phrase across a chunk boundary is seen whole: both chunks hold a word
 * of it, so both are candidates and, being adjacent, are tokenized as one range.
 */
#include <stdlib.h>
#include <string.h>

#include "highlight_int.h"

/* A phrase part: the SEG_EXACT term `term` (a QN_PHRASE's word, compared by folded form as
 * the index's phrase positions are), or (term UINT32_MAX) the leaf `node` (a multi-word
 * synonym's word, by stem), at rel_pos positions after the phrase's first word. */
struct hl_el {
    int32_t node;
    uint32_t term;
    uint32_t rel_pos;
};

/* A phrase: a QN_PHRASE, or a multi-word synonym (QN_AND of QRY_SYN_WORD leaves, which the
 * search matches as an AND but which names one thing: its words are marked where they stand
 * together, in order, any inflection). el[first, first + count), the last the furthest. */
struct hl_seq {
    int32_t node; /* its query word is h->word of this node */
    uint32_t first;
    uint32_t count;
};

#define HL_MAX_ELS   64  /* phrase parts followed; a query's further phrases match word by word */
#define HL_RING      64  /* positions remembered: a phrase spanning more matches word by word */
#define HL_EL_PHRASE 255 /* el_of: a QN_PHRASE followed as a phrase, never matched alone */

struct hl_slot {
    uint32_t pos; /* +1: 0 is an empty slot */
    size_t off;
    size_t len;
    uint64_t els; /* the parts (bits of h->el) this token matches */
};

/* What following phrases takes, allocated only for a query that has one: a query without
 * costs nothing more per call (a small document's highlight is a few microseconds). */
struct hl_phrases {
    struct hl_seq seq[HL_MAX_ELS / 2];
    struct hl_el el[HL_MAX_ELS];
    struct hl_slot ring[HL_RING];
    uint8_t el_of[]; /* per node: 0, HL_EL_PHRASE, or 1 + the part a leaf is (el) */
};

static bool str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static bool fuzzy_matches(struct hl_state *h, size_t node, const struct stem_token *tok)
{
    if (!h->has_lev[node]) {
        return false;
    }
    /* Each edit changes the length by one character at most, so a token too short or too long
     * cannot match: most words of a text ("the", "и") are passed over without running the
     * automaton, which for a query of many long typo words over a long body was most of what
     * its snippet cost. The token's characters are at most its bytes and at least its lead
     * bytes (seg_utf8_next counts a stray continuation byte as one). */
    const struct qry_lev *lev = &h->levs[node];
    bool is_prefix = h->q->nodes[node].syn_role == QRY_SYN_TYPING;
    if (tok->word_len + lev->k < lev->n) {
        return false;
    }
    if (!is_prefix) {
        size_t leads = 0;
        for (size_t b = 0; b < tok->word_len; b++) {
            leads += ((unsigned char)tok->word[b] & 0xC0) != 0x80;
        }
        if (leads > lev->n + lev->k) {
            return false;
        }
    }
    unsigned dist;
    if (is_prefix) { /* the word being typed (stats.c) */
        return qry_lev_match_prefix(&h->levs[node], tok->word, tok->word_len, &dist);
    }
    char seek[STEM_MAX_TOKEN + 1];
    size_t seek_len;
    return qry_lev_feed(&h->levs[node], tok->word, tok->word_len, &dist, seek, &seek_len) ==
           QRY_LEV_MATCH;
}

/* A token's stem, made when a leaf first needs it (the text is tokenized without stems). */
struct tok_stem {
    const char *s; /* NULL: not made yet */
    size_t len;
};

/* Whether a and b start with the same character (a lead byte and its continuation bytes). */
static bool same_first_char(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = 1;
    while (n < alen && n < blen && ((unsigned char)a[n] & 0xC0) == 0x80) {
        n++;
    }
    return alen >= n && blen >= n && memcmp(a, b, n) == 0;
}

/* Whether the token's stem is s. Snowball keeps a word's first character (Russian and
 * English only strip and rewrite endings: not one of the 149,567 distinct words of
 * corpus-large differs), so a word that starts otherwise is not stemmed at all: most words
 * of a text are not, and stemming them was most of what a snippet cost. */
static inline __attribute__((always_inline)) bool stem_is(struct hl_state *h,
                                                          const struct stem_token *tok,
                                                          struct tok_stem *ts, const char *s,
                                                          size_t len)
{
    if (!same_first_char(tok->word, tok->word_len, s, len)) {
        return false;
    }
    if (!ts->s && stem_word(h->stem, tok->word, tok->word_len, &ts->s, &ts->len) != STEM_OK) {
        ts->s = tok->word; /* over STEM_MAX_TOKEN or no memory: the word stands for itself */
        ts->len = tok->word_len;
    }
    return str_eq(ts->s, ts->len, s, len);
}

/* Inlined in both tokenizer callbacks, with stem_is: it runs per token and leaf, and the calls
 * there cost the snippet of a query without phrases about 10% (bench-snippet). */
static inline __attribute__((always_inline)) bool
leaf_matches(struct hl_state *h, size_t node, const struct stem_token *tok, struct tok_stem *ts)
{
    const struct qry *q = h->q;
    const struct qry_node *n = &q->nodes[node];
    if (n->type == QN_FUZZY) {
        return fuzzy_matches(h, node, tok);
    }
    for (uint32_t i = 0; i < n->term_count; i++) {
        const struct qry_term *t = &q->terms[n->term + i];
        const char *s = qry_term_str(q, t);
        if (n->type == QN_PREFIX) {
            if (tok->word_len >= t->len && memcmp(tok->word, s, t->len) == 0) {
                return true;
            }
        } else if (t->kind == SEG_STEM ? stem_is(h, tok, ts, s, t->len)
                                       : str_eq(tok->word, tok->word_len, s, t->len)) {
            return true;
        }
    }
    return false;
}

/* Appends match m; false when out of memory (h->is_oom). */
static bool add_match(struct hl_state *h, struct hl_match m)
{
    struct hl_match *grown = sd_grow(h->m, &h->cap, h->count + 1, sizeof *grown, 64);
    if (!grown) {
        h->is_oom = true;
        return false;
    }
    h->m = grown;
    h->m[h->count++] = m;
    h->settle_at = 0; /* a window may have changed: look at the next token */
    return true;
}

/* The compound seen last, once its parts are past: left to its parts when each is marked
 * ("e-mail" typed marks "e" and "mail"), else marked whole instead of the parts that are: a
 * query by the joined form ("email"), or by a near spelling of it ("emial", "e-mial", where
 * "e" alone matches the phrase of the typed parts), matches the document through that form.
 * Matches stay in text order: nothing after the compound is in yet. */
static bool flush_compound(struct hl_state *h)
{
    if (!h->has_compound) {
        return true;
    }
    h->has_compound = false;
    size_t marked = 0;
    while (marked < h->count && h->m[h->count - 1 - marked].off >= h->compound.off) {
        marked++;
    }
    if (marked == h->parts) {
        return true;
    }
    h->count -= marked;
    h->is_span_stale = true; /* the matches removed may be counted in settle's span */
    return add_match(h, h->compound);
}

/* Inserts m in text order (a phrase's earlier words, once the phrase is whole), unless its
 * token is marked already, alone or inside a compound marked whole (flush_compound: the "a"
 * of "t-a" in the phrase "t-a a" when the query also has "ta"); false when out of memory.
 * Matches never overlap: write_frag writes the text between them. Only the matches of the
 * phrase's span follow it, and none of them is settled yet (pending_from). */
static bool insert_match(struct hl_state *h, struct hl_match m)
{
    size_t j = h->count;
    while (j > 0 && h->m[j - 1].off > m.off) {
        j--;
    }
    if ((j > 0 && h->m[j - 1].off + h->m[j - 1].len > m.off) ||
        (j < h->count && m.off + m.len > h->m[j].off)) {
        return true;
    }
    if (!add_match(h, m)) {
        return false;
    }
    memmove(&h->m[j + 1], &h->m[j], (h->count - 1 - j) * sizeof *h->m);
    h->m[j] = m;
    h->is_span_stale = true; /* settle's span may hold the matches that moved */
    return true;
}

/* The ring slot of the token at position pos, or NULL when that position holds none. */
static const struct hl_slot *slot_at(const struct hl_state *h, uint32_t pos)
{
    const struct hl_slot *s = &h->ph->ring[pos % HL_RING];
    return s->pos == pos + 1 ? s : NULL;
}

/* Remembers tok (at its position) with the phrase parts it matches (els: those that are
 * leaves, which collect_phrases tested), and marks each phrase it
 * ends: its earlier words go in now (insert_match), tok itself into *m unless a word alone
 * already matched it (*is_matched). False when out of memory. */
static bool follow_seqs(struct hl_state *h, const struct stem_token *tok, uint64_t els,
                        struct hl_match *m, bool *is_matched)
{
    for (size_t e = 0; e < h->nel; e++) {
        const struct hl_el *el = &h->ph->el[e];
        if (el->term == UINT32_MAX) {
            continue;
        }
        const struct qry_term *t = &h->q->terms[el->term];
        if (str_eq(tok->word, tok->word_len, qry_term_str(h->q, t), t->len)) {
            els |= UINT64_C(1) << e; /* a QN_PHRASE's word: its folded form */
        }
    }
    h->ph->ring[tok->pos % HL_RING] =
        (struct hl_slot){.pos = tok->pos + 1, .off = m->off, .len = m->len, .els = els};
    for (size_t s = 0; els && s < h->nseq; s++) {
        const struct hl_seq *sq = &h->ph->seq[s];
        size_t last = sq->first + sq->count - 1;
        if (!(els >> last & 1)) {
            continue;
        }
        bool is_whole = true;
        for (size_t k = sq->first; is_whole && k < last; k++) {
            uint32_t back = h->ph->el[last].rel_pos - h->ph->el[k].rel_pos;
            const struct hl_slot *o = back <= tok->pos ? slot_at(h, tok->pos - back) : NULL;
            is_whole = o && (o->els >> k & 1);
        }
        for (size_t k = sq->first; is_whole && k < last; k++) {
            const struct hl_slot *o =
                slot_at(h, tok->pos - (h->ph->el[last].rel_pos - h->ph->el[k].rel_pos));
            struct hl_match pm = {.off = o->off, .len = o->len, .word = h->word[sq->node]};
            if (!insert_match(h, pm)) {
                return false;
            }
        }
        if (is_whole && !*is_matched) {
            m->word = h->word[sq->node];
            *is_matched = true;
        }
    }
    return true;
}

/* Where the text may still change: the first token that is a part of a phrase not yet whole
 * (one that tok or a later token may end: at most h->ahead positions on), else off. Windows
 * reaching no further are final. */
static size_t pending_from(const struct hl_state *h, const struct stem_token *tok, size_t off)
{
    size_t from = off;
    for (size_t i = 0; h->nseq && i < HL_RING; i++) {
        const struct hl_slot *s = &h->ph->ring[i];
        if (s->pos && (s->els & h->leads) && s->pos - 1 + h->ahead >= tok->pos && s->off < from) {
            from = s->off;
        }
    }
    return from;
}

/* The tokenizer's callback for a query without phrases (h->ph NULL): the first leaf that
 * matches tok marks it. Kept apart from collect_phrases, the hot loop of every snippet: a
 * phrase's bookkeeping in it cost about a quarter more instructions per token. */
static int collect_plain(void *arg, const struct stem_token *tok)
{
    struct hl_state *h = arg;
    size_t off = h->base + tok->offset;
    if (h->has_compound && off >= h->compound.off + h->compound.len && !flush_compound(h)) {
        return 1;
    }
    h->parts += h->has_compound && !tok->is_compound;
    if (!h->has_compound && off >= h->settle_at && qry_hl_settle(h, off)) {
        return 1; /* enough windows hold every word: no later one can be chosen */
    }
    struct tok_stem ts = {0};
    for (size_t i = 0; i < h->q->node_count; i++) {
        const struct qry_node *n = &h->q->nodes[i];
        if (n->type < QN_WORD || n->is_negative || !leaf_matches(h, i, tok, &ts)) {
            continue;
        }
        struct hl_match m = {.off = off, .len = tok->len, .word = h->word[i]};
        if (tok->is_compound) {
            /* its parts are tokens of their own, and are marked when they match */
            h->compound = m;
            h->has_compound = true;
            h->parts = 1; /* the first part comes before the joined form */
            return 0;
        }
        return add_match(h, m) ? 0 : 1;
    }
    return 0;
}

/* As collect_plain, for a query with phrases: a leaf alone marks tok; the phrase parts it
 * matches go to follow_seqs, which marks the phrases it ends. */
static int collect_phrases(void *arg, const struct stem_token *tok)
{
    struct hl_state *h = arg;
    size_t off = h->base + tok->offset;
    if (h->has_compound && off >= h->compound.off + h->compound.len && !flush_compound(h)) {
        return 1;
    }
    h->parts += h->has_compound && !tok->is_compound;
    if (!h->has_compound && off >= h->settle_at && qry_hl_settle(h, pending_from(h, tok, off))) {
        return 1; /* enough windows hold every word: no later one can be chosen */
    }
    struct tok_stem ts = {0};
    struct hl_match m = {.off = off, .len = tok->len};
    bool is_matched = false;
    uint64_t els = 0; /* the phrase parts that are leaves (a synonym's words) tok matches */
    for (size_t i = 0; i < h->q->node_count; i++) {
        const struct qry_node *n = &h->q->nodes[i];
        uint8_t el = h->ph->el_of[i];
        if (n->type < QN_WORD || n->is_negative || el == HL_EL_PHRASE ||
            !leaf_matches(h, i, tok, &ts)) {
            continue; /* (a QN_PHRASE's words are compared in follow_seqs) */
        }
        if (el) {
            els |= UINT64_C(1) << (el - 1);
            continue;
        }
        if (is_matched) {
            continue;
        }
        m.word = h->word[i];
        if (tok->is_compound) {
            /* its parts are tokens of their own, and are marked when they match */
            h->compound = m;
            h->has_compound = true;
            h->parts = 1; /* the first part comes before the joined form */
            return 0;
        }
        is_matched = true;
    }
    /* a joined form takes no position: a phrase is made of the parts */
    if (!tok->is_compound && !follow_seqs(h, tok, els, &m, &is_matched)) {
        return 1;
    }
    return !is_matched || add_match(h, m) ? 0 : 1;
}

/* Tokenizes the candidate pieces of src, runs of them merged (each range once, in order). */
static int scan_pieces(struct qry_ctx *ctx, struct hl_state *h, struct qry_src *src)
{
    bool *cand;
    int rc = qry_src_candidates(ctx, src, h->q, &cand);
    size_t ra = 0, rb = 0; /* the range gathered, not yet tokenized */
    for (uint32_t i = 0;
         rc == SD_OK && h->nfull < h->max && !h->load_rc && i <= qry_src_pieces(src); i++) {
        size_t s = 0, e = 0, a = 0, b = 0;
        bool is_last = i == qry_src_pieces(src);
        if (!is_last) {
            qry_src_piece(src, i, &s, &e);
            if (!cand[i] || e <= rb) {
                continue;
            }
            rc = qry_src_load_words(src, s, e, &a, &b);
        }
        if (rc == SD_OK && rb > ra && (is_last || a > rb)) {
            h->base = ra;
            if (h->ph) {
                memset(h->ph->ring, 0, sizeof h->ph->ring); /* positions start again at 0 */
            }
            int trc = stem_tokenize_words(ctx->stem, src->text + ra, rb - ra, 0,
                                          h->ph ? collect_phrases : collect_plain, h, NULL);
            if (trc == STEM_OK) {
                flush_compound(h); /* the range ended with it */
            }
            h->has_compound = false;
            rc = h->is_oom || (trc != STEM_OK && trc != 1) ? SD_ENOMEM : SD_OK;
            ra = rb = 0;
        }
        if (!is_last && rb == 0) {
            ra = a; /* ranges start and end at word boundaries: their union is one */
        }
        rb = is_last ? rb : b;
    }
    free(cand);
    return rc ? rc : h->load_rc;
}

/* Which query word each leaf under node answers, into word[]: a leaf is a word of its own,
 * except inside a synonym group, a typo reading's word with its near forms or a word being
 * typed with its prefix, which are one word however many leaves spell it (so a fragment with
 * "ИИ" and one with "искусственный интеллект" hold the same word once, and every word of a
 * query can stand in one fragment). */
static void query_words(const struct qry *q, int32_t node, int32_t word_node, uint32_t *word)
{
    const struct qry_node *n = &q->nodes[node];
    bool is_one_word =
        (n->type == QN_OR && (n->syn_role == QRY_SYN_GROUP || n->syn_role == QRY_SYN_TYPING)) ||
        qry_is_typo_pair(q, node);
    if (word_node == QRY_NONE && is_one_word) {
        word_node = node;
    }
    if (n->type >= QN_WORD) {
        word[node] = (uint32_t)(word_node == QRY_NONE ? node : word_node);
    }
    for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
        query_words(q, c, word_node, word);
    }
}

/* The distinct words of the positive leaves (a word: a leaf, or the group node its leaves
 * answer to, query_words), into *n. SD_OK or SD_ENOMEM. */
static int count_words(const struct qry *q, const uint32_t *word, size_t *n)
{
    bool *seen = calloc(q->node_count + 1, sizeof *seen);
    if (!seen) {
        return SD_ENOMEM;
    }
    *n = 0;
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *nd = &q->nodes[i];
        if (nd->type >= QN_WORD && !nd->is_negative && !seen[word[i]]) {
            seen[word[i]] = true;
            (*n)++;
        }
    }
    free(seen);
    return SD_OK;
}

/* Whether node is a multi-word synonym: an AND of QRY_SYN_WORD leaves (synonym.c). */
static bool is_synonym_words(const struct qry *q, size_t node)
{
    const struct qry_node *n = &q->nodes[node];
    size_t words = 0;
    for (int32_t c = n->type == QN_AND ? n->first_child : QRY_NONE; c != QRY_NONE;
         c = q->nodes[c].next_sibling) {
        if (q->nodes[c].type != QN_WORD || q->nodes[c].syn_role != QRY_SYN_WORD) {
            return false;
        }
        words++;
    }
    return words >= 2;
}

/* Adds the phrase part (term, or leaf node when term is UINT32_MAX) to the phrase being
 * built (the last of h->ph->seq). */
static void add_el(struct hl_state *h, int32_t node, uint32_t term, uint32_t rel_pos)
{
    h->ph->el[h->nel++] = (struct hl_el){.node = node, .term = term, .rel_pos = rel_pos};
    h->ph->seq[h->nseq - 1].count++;
}

/* The phrases of q into h->ph (seq, el), their leaves into h->ph->el_of: every positive
 * QN_PHRASE and multi-word synonym that fits (HL_MAX_ELS parts in all, a span under
 * HL_RING positions); one that does not stays word by word, as its leaves match alone. */
static int find_seqs(struct hl_state *h)
{
    const struct qry *q = h->q;
    bool has_any = false;
    for (size_t i = 0; i < q->node_count && !has_any; i++) {
        has_any =
            (q->nodes[i].type == QN_PHRASE || is_synonym_words(q, i)) && !q->nodes[i].is_negative;
    }
    if (!has_any) {
        return SD_OK;
    }
    h->ph = calloc(1, sizeof *h->ph + q->node_count + 1);
    if (!h->ph) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        bool is_phrase = n->type == QN_PHRASE && n->term_count >= 2;
        bool is_syn = !is_phrase && is_synonym_words(q, i);
        if (n->is_negative || (!is_phrase && !is_syn)) {
            continue;
        }
        size_t parts = n->term_count;
        uint32_t span = is_phrase ? q->terms[n->term + n->term_count - 1].rel_pos : 0;
        if (is_syn) {
            parts = 0;
            for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
                parts++;
            }
            span = (uint32_t)parts - 1;
        }
        if (parts > HL_MAX_ELS - h->nel || span >= HL_RING) {
            continue;
        }
        h->ph->seq[h->nseq++] = (struct hl_seq){.node = is_phrase ? (int32_t)i : n->first_child,
                                                .first = (uint32_t)h->nel};
        if (is_phrase) {
            h->ph->el_of[i] = HL_EL_PHRASE;
            for (uint32_t k = 0; k < n->term_count; k++) {
                add_el(h, (int32_t)i, n->term + k, q->terms[n->term + k].rel_pos);
            }
            continue;
        }
        uint32_t k = 0;
        for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling, k++) {
            h->ph->el_of[c] = (uint8_t)(h->nel + 1);
            add_el(h, c, UINT32_MAX, k);
        }
    }
    for (size_t s = 0; s < h->nseq; s++) {
        size_t last = h->ph->seq[s].first + h->ph->seq[s].count - 1;
        for (size_t k = h->ph->seq[s].first; k < last; k++) {
            h->leads |= UINT64_C(1) << k;
        }
        uint32_t span = h->ph->el[last].rel_pos - h->ph->el[h->ph->seq[s].first].rel_pos;
        h->ahead = span > h->ahead ? span : h->ahead;
    }
    return SD_OK;
}

int qry_hl_find_matches(struct qry_ctx *ctx, struct hl_state *h, struct qry_src *src)
{
    const struct qry *q = h->q;
    h->levs = NULL;
    h->has_lev = calloc(q->node_count + 1, sizeof *h->has_lev);
    h->word = calloc(q->node_count + 1, sizeof *h->word);
    size_t fuzzy = 0;
    for (size_t i = 0; i < q->node_count; i++) {
        fuzzy += q->nodes[i].type == QN_FUZZY;
    }
    if (fuzzy) {
        h->levs = malloc(q->node_count * sizeof *h->levs);
    }
    if (!h->has_lev || !h->word || (fuzzy && !h->levs)) {
        return SD_ENOMEM;
    }
    if (q->root != QRY_NONE) {
        query_words(q, q->root, QRY_NONE, h->word);
    }
    if (count_words(q, h->word, &h->words) || find_seqs(h)) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; fuzzy && i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        if (n->type == QN_FUZZY && !n->is_negative) {
            const struct qry_term *typed = &q->terms[n->term + 1];
            const char *s = qry_term_str(q, typed);
            unsigned k = qry_lev_max_edits(s, typed->len);
            h->has_lev[i] = k && qry_lev_init(&h->levs[i], s, typed->len, k) == SD_OK;
        }
    }
    return scan_pieces(ctx, h, src);
}
