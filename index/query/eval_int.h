/*
 * eval_int.h: the search side of index/query/ (stats.c, plan.c, eval.c,
 * search.c), all working out of one thread's struct qry_scratch.
 *
 * A search runs in three steps:
 *   1. stats.c: over all segments, the global field table (avglen, weight), N,
 *      the terms to look up (the query's own plus prefix expansions) with
 *      their idf. Summing df looks every term up in every segment and field
 *      in its scope; the dictionary entries found are kept (scratch.found),
 *      so no term is looked up twice.
 *   2. plan.c, per segment: the AST becomes a tree of struct ev_node over
 *      postings iterators of that segment (struct ev_post), opened from the
 *      entries stats.c found.
 *   3. eval.c + search.c: document-at-a-time over that tree; every node keeps
 *      its current document and moves only forward (seek to the first match
 *      >= a target). Matches are counted; the top-k heap sees only documents
 *      whose score bound can beat its weakest entry.
 *   4. prune.c, once the heap is full and QRY_TOTAL_EXACT_UPTO matches are
 *      counted: block-max / MaxScore skipping of document windows whose
 *      skip-data bounds cannot beat the heap (total becomes a lower bound).
 *   A root OR over many word lists (a prefix, a word being typed) takes neither 3 nor 4:
 *   bulk.c scores it window by window, list by list.
 */
#ifndef SEARCHD_EVAL_INT_H
#define SEARCHD_EVAL_INT_H

#include <math.h>

#include "query_int.h"

#define QRY_SCOPE_NONE (-2) /* a field:... that no segment has: matches nothing */

/* One field name across all segments of the search. */
struct qry_gfield {
    const char *name; /* borrowed from the first segment that has it */
    uint64_t total_len;
    uint64_t docs;
    double avglen;
    double weight;
};

/* What the typo walk of one QN_FUZZY node saw, for did_you_mean (typo.c). */
struct qry_typo_best {
    size_t off; /* the closest, then most frequent, form other than the typed one: pool */
    size_t len;
    unsigned dist;
    bool is_partial; /* the word being typed: only a start of the form is within dist */
    uint64_t df;
    uint64_t self_df; /* documents (per field, summed) with the typed form itself */
};

/* A term to look up: the query's terms first (same indexes as qry.terms),
 * then prefix and typo (QN_FUZZY) expansions. */
struct qry_sterm {
    size_t str_off; /* into qry.strings, or scratch.pool when is_expansion */
    size_t len;
    uint8_t kind; /* enum seg_kind */
    bool is_expansion;
    bool is_fuzzy; /* a QN_FUZZY expansion: idf scaled by QRY_FUZZY_WEIGHT */
    bool is_completion; /* of the word being typed: idf scaled by QRY_COMPLETION_WEIGHT */
    int32_t scope; /* global field, QRY_ALL_FIELDS or QRY_SCOPE_NONE */
    uint32_t rel_pos;
    uint64_t df; /* global: max over the fields in scope (see stats.c) */
    double idf;
    bool has_idf; /* df and idf are set (stats.c looks the words' stems up first) */
    uint32_t word_stem; /* a word's exact form: its stem's sterm + 1; else 0 */
    uint32_t entry; /* a prefix's completion: 1 + its first struct qry_cand_entry; else 0 */
};

/* A prefix completion's dictionary entry in one segment and field, as the expansion walk read
 * it (stats.c): its statistics need no second lookup. Chained per term through next. */
struct qry_cand_entry {
    struct seg_term t;
    uint32_t seg;   /* index into the search's segments */
    uint32_t field; /* the segment's local field */
    uint32_t next;  /* 1 + the term's next entry; 0: the last */
};

enum ev_type {
    EV_EMPTY = 0, /* matches nothing */
    EV_TERMS,     /* union over fields of posts; score BM25F (+ exact bonus) */
    EV_PHRASE,    /* posts of consecutive words in one field */
    EV_AND,
    EV_OR,
    EV_ALL,    /* every document of the segment (a query with no text: browsing); no score */
    EV_FILTER, /* the documents that pass query node `first`'s clauses (filter_eval.c) when
                  they stand inside an OR with text; no score */
};

/* One postings iterator and what scoring it needs. */
struct ev_post {
    struct seg_postings *it; /* owned by the plan, freed after the segment */
    uint32_t doc;            /* current doc, SEG_DOC_END when done */
    uint32_t rel_pos;        /* EV_PHRASE: position relative to the first word */
    uint32_t df;
    double idf;
    const uint8_t *norms;  /* the field's length bytes, one per doc of the segment */
    const float *norm_tbl; /* 256: weight / (1 - b + b * len(norm) / avglen) */
    const float *norm_max; /* 256: max of norm_tbl over lengths bytes >= n */
    uint32_t blk_last;     /* cached block bound: last doc of the block, */
    double blk_tf;         /* and its largest weighted tf */
    bool has_blk;
    bool is_started; /* false: a proximity form not yet advanced (doc is 0) */
    uint8_t field;   /* local field (< SEG_MAX_SEG_FIELDS): proximity pairs positions in one */
};

struct ev_node {
    uint8_t type;         /* enum ev_type */
    uint8_t prox;         /* EV_AND: 1 + its struct ev_prox in scratch.prox; 0: no bonus (an
                             ev_prox needs 2 of the QRY_MAX_TERMS words: fewer than 255) */
    bool is_any;          /* EV_OR: the QRY_SYN_ANY group (plan.c any_node; eval.c any_score) */
    bool is_typed;        /* a word as typed, whose exact form earns the bonus (an AND gives
                             it only to a document with all of them: eval.c): EV_TERMS, or
                             the EV_OR of a typo reading's word and its near forms, each of
                             which earns it with its closest form (plan.c) */
    uint32_t doc;         /* current match, SEG_DOC_END when done */
    uint64_t cost;        /* estimated matches, to order AND children */
    uint32_t first;       /* EV_TERMS/EV_PHRASE: posts; EV_AND/EV_OR: kids */
    uint32_t count;       /* EV_AND: positive kids (negatives follow) */
    uint32_t extra_first; /* EV_TERMS: bonus posts (exact form) */
    uint32_t extra_count; /* EV_TERMS: bonus posts; EV_AND: negative kids */
};

/* Proximity (prox.c): the words of one AND, in query order, and where their exact forms
 * stand in the document being scored. */
#define QRY_PROX_MAX_WORDS 8  /* words of one AND that take part (the first, in query order) */
#define QRY_PROX_FORMS     16 /* exact forms per word and field, the typed form first */
#define QRY_PROX_SCAN      64 /* forms starting with the stem looked at per word and field */
#define QRY_PROX_SUFFIX    4  /* characters after the stem that an inflection may have */
#define QRY_PROX_WINDOW    2  /* a pair further apart than this many positions is not close */

struct ev_prox_word {
    uint32_t first; /* its forms' postings (with positions): ev.prox_posts[first, first+count)
                       index ev.posts, field by field, each field's typed form first */
    uint32_t count; /* 0: no form in any field of this segment */
    uint32_t terms; /* its EV_TERMS node: the stem's postings, one per field */
    double idf;     /* the stem's */
};

struct ev_prox {
    uint32_t first_word; /* struct ev_prox_word in scratch.prox_words */
    uint32_t nwords;     /* 2 .. QRY_PROX_MAX_WORDS */
    double weight;       /* qry_params.proximity */
    double bound;        /* the largest bonus: weight x the summed pair idfs (prox.c) */
};

/* Per-thread buffers, reused by every search on the thread. */
/* The dictionary lookups of one engine search (memo.c). */
struct qry_memo {
    bool is_on;             /* from qry_memo_keep until qry_memo_end */
    struct qry_vec entries; /* struct qry_memo_entry (memo.c) */
    struct qry_vec pool;    /* char: their terms' bytes */
    struct qry_vec slots;   /* uint32_t: entry number + 1, 0 for empty; count a power of 2 */
    uint64_t hits, misses;  /* lookups answered from it, and those that read the dictionary */
};

/* seg_term_find (same arguments and results), answered from s->memo when it holds the key
 * (qry_memo_keep kept it), from the dictionary otherwise (memo.c). */
int qry_memo_find(struct qry_scratch *s, const struct seg *seg, unsigned field, enum seg_kind kind,
                  const char *term, size_t len, struct seg_term *out, struct sd_error *err);
void qry_memo_free(struct qry_memo *m);

struct qry_scratch {
    struct stem_ctx *stem;    /* borrowed from the qry_ctx: stems typo candidates */
    struct qry_vec gfields;   /* struct qry_gfield */
    struct qry_vec field_map; /* int32_t: global field of (segment, local field) */
    struct qry_vec map_off;   /* size_t: first field_map entry of each segment */
    struct qry_vec scope;     /* int32_t: global field of each query field */
    struct qry_vec sterms;    /* struct qry_sterm */
    struct qry_vec prefix;    /* uint32_t[2] per query node: first expansion, count (prefixes
                                 and typos) */
    struct qry_vec pool;      /* char: expansion strings */
    struct qry_vec typo_best; /* struct qry_typo_best per query node (QN_FUZZY ones set) */
    struct qry_vec cand;      /* struct qry_cand: prefix candidates */
    struct qry_vec cand_tmp;  /* struct qry_cand: room to merge them (stats.c) */
    struct qry_vec cand_entries; /* struct qry_cand_entry: prefix candidates' dictionary entries */
    struct qry_vec dfs;       /* uint64_t per global field: df being summed */
    struct qry_vec found;     /* struct seg_term per (sterm, segment, local field): see
                                 qry_found(); df 0 when the field lacks the term */
    struct qry_vec nodes;     /* struct ev_node of the current segment */
    struct qry_vec posts;     /* struct ev_post */
    struct qry_vec kids;      /* uint32_t */
    struct qry_vec norms;     /* float: 2 x 256 per local field */
    struct qry_vec heap;      /* struct qry_hit */
    struct qry_vec fleaves;   /* struct qry_fleaf: the query's clauses, then the filter's,
                                 resolved in the current segment */
    struct qry_vec conj;      /* struct qry_conj: the predicate */
    struct qry_vec sorted;    /* struct qry_shit: the sorted top-k (sort.c) */
    struct qry_vec prox;      /* struct ev_prox of the current segment's AND nodes */
    struct qry_vec prox_words; /* struct ev_prox_word */
    struct qry_vec prox_posts; /* uint32_t: the proximity words' forms, indices into posts */
    struct qry_vec bulk;       /* bulk.c's window arrays, once a search needed them */
    /* owned: QRY_MAX_FACETS counters (facet_count.c), the first nfacet_acc in use */
    struct qry_facet_acc *facet_acc;
    size_t nfacet_acc;
    bool is_exhaustive;       /* tests: score every match, prune nothing */
    /* The QRY_SYN_ANY group's EV_OR in the current segment (plan.c): per kid, in kid order,
     * its word's idf and its bit in qry_hit.any_words; any_total: the idf of all the group's
     * words, those the segment lacks too. */
    double any_w[32];
    uint8_t any_bit[32];
    double any_total;
    bool can_skip;            /* some conjunct can_skip in the current segment */
    struct qry_memo memo;     /* one reading's lookups, kept for the next (memo.c) */
};

/* One filter clause resolved in one segment (filter_eval.c). */
struct qry_fleaf {
    const struct seg_attr *col; /* borrowed; NULL when the segment has no such column */
    uint8_t kind;               /* enum qry_filter_kind; 0: no document here matches */
    int64_t lo, hi;
    double flo, fhi;
    bool is_flo_open, is_fhi_open;
    uint32_t ord; /* QF_KEYWORD: the value's ordinal in this segment's dictionary */
};

/* One operand of the top-level AND made of clauses only: a conjunct of the predicate. */
struct qry_conj {
    const struct qry *q; /* borrowed: the query or the filter */
    int32_t node;
    const char *field; /* the one attribute it restricts (into q's strings), or NULL */
    size_t field_len;
    size_t first_leaf;              /* q's first clause in scratch.fleaves */
    const struct qry_fleaf *leaves; /* scratch.fleaves + first_leaf, per segment */
    bool can_skip; /* per segment: keyword values whose doc sets the segment has (or values
                      it lacks), so a failing document knows the next that may pass */
};

/* Global statistics of one search (read-only while segments are evaluated). */
struct qry_stats {
    uint64_t n; /* documents in all segments, deleted included */
    /* a word the query needs is in no segment, so nothing matches: only the words' stems were
     * looked up (stats.c), and no plan is needed */
    bool is_unmatchable;
    double k1;
    double b;
    double boost;
};

/* The evaluation state of one segment. */
struct ev {
    const struct seg *seg; /* borrowed */
    struct ev_node *nodes; /* scratch.nodes.data */
    struct ev_post *posts; /* scratch.posts.data */
    const uint32_t *kids;  /* scratch.kids.data */
    const struct ev_prox *prox;            /* scratch.prox.data */
    const struct ev_prox_word *prox_words; /* scratch.prox_words.data */
    const uint32_t *prox_posts;            /* scratch.prox_posts.data */
    double k1;
    double boost;
    bool wants_scores;               /* false when only counting: bonus posts are not opened */
    int rc;                          /* sticky: a positions read failed (SD_ENOMEM, or damage) */
    uint32_t ndocs;                  /* seg_doc_count(seg) */
    const struct qry *q;             /* borrowed: the query (EV_FILTER nodes) */
    const struct qry_fleaf *fleaves; /* q's clauses in this segment */
    const struct qry_conj *conj;     /* the predicate, nconj conjuncts */
    size_t nconj;
    bool can_skip; /* scratch.can_skip: ev_doc_next() may jump */
    const double *any_w; /* scratch.any_w, any_bit, any_total */
    const uint8_t *any_bit;
    double any_total;
    uint32_t any_words; /* the group's words of the document any_score() last scored */
};

/* filter_eval.c */
/* Splits the top level of q and filter (may be NULL) into s->conj and makes room for their
 * clauses in s->fleaves. SD_OK or SD_ENOMEM. */
int qry_filter_prepare(struct qry_scratch *s, const struct qry *q, const struct qry *filter,
                       struct sd_error *err);
/* Resolves every clause in seg (after qry_filter_prepare). False when some conjunct is a
 * clause that no document of seg passes: the segment has no match. */
bool qry_filter_segment(struct qry_scratch *s, const struct qry *q, const struct qry *filter,
                        const struct seg *seg);
/* True when node of q is a conjunct of the predicate (plan.c leaves those out of the tree). */
bool qry_is_top_filter(const struct qry *q, int32_t node);

/* The column of attribute name with the seg type of sch_type, or NULL. */
const struct seg_attr *qry_column(const struct seg *seg, const char *name, size_t len,
                                  uint8_t sch_type);
bool qry_filter_match(const struct qry *q, const struct qry_fleaf *lv, int32_t node, uint32_t doc);
/* Bit i (the last bit for every conjunct from 63 on) set when doc fails conjunct i. */
uint64_t qry_conj_failed(const struct qry_conj *c, size_t n, uint32_t doc);
/* The first document >= doc that may pass conjunct c (c->can_skip); SEG_DOC_END when none. */
uint32_t qry_conj_next(const struct qry_conj *c, uint32_t doc);

/* sort.c */
enum qry_sort_kind { QS_SCORE = 1, QS_TITLE, QS_ATTR };

struct qry_sort_key {
    uint8_t kind;     /* enum qry_sort_kind */
    uint8_t sch_type; /* QS_ATTR: enum sch_type */
    bool is_desc;
    char name[SCH_MAX_NAME + 1];
    size_t name_len;
};

struct qry_sort {
    struct qry_sort_key keys[QRY_MAX_SORT_KEYS];
    size_t nkeys;
};

/* One key's value of a document: i for int, date, bool and a keyword's ordinal; f for
 * float and the score; s/len the bytes of a keyword or title (into the segment). */
struct qry_sval {
    bool has;
    int64_t i;
    double f;
    const char *s;
    uint32_t len;
};

/* A hit of a sorted search with its keys and id (bytes in the segment). */
struct qry_shit {
    struct qry_hit hit;
    const char *id;
    size_t id_len;
    struct qry_sval v[QRY_MAX_SORT_KEYS];
};

/* The offset+limit best documents by a sort; worst at h[0]. */
struct qry_sorter {
    const struct qry_sort *sort; /* borrowed */
    bool by_words; /* a most-words query (qry_with_any_words): more of its words first */
    struct qry_shit *h;          /* scratch.sorted.data, room for k */
    size_t count;
    size_t k;
    const struct seg *seg; /* the segment being walked */
    uint32_t seg_index;
    const struct seg_attr *cols[QRY_MAX_SORT_KEYS]; /* its columns of the keys, or NULL */
};

/* True for no sort, or `_score` (desc) alone: the ranked path with pruning. */
bool qry_sort_is_relevance(const struct qry_sort *s);
/* True when the first key is `_score` desc: pruned as ranked, ties sorted by the rest. */
bool qry_sort_is_score_first(const struct qry_sort *s);
/* Offers a hit whose score is known (the ranked top-k's path, score-first sorts). */
void qry_sorter_add(struct qry_sorter *so, uint32_t doc, float score);
void qry_sorter_segment(struct qry_sorter *so, const struct seg *seg, uint32_t seg_index);
/* Offers a live match doc of the current segment, where e's tree (root) sits: its score
 * is computed only when its first key does not already rule it out. */
void qry_sorter_offer(struct qry_sorter *so, struct ev *e, uint32_t root, uint32_t doc);
/* Sorts the heap and copies hits [offset, count) into out->hits. SD_OK or SD_ENOMEM. */
int qry_sorter_finish(struct qry_sorter *so, uint32_t offset, struct qry_result *out,
                      struct sd_error *err);

/* facet.c: parsed specs */
enum qry_facet_mode {
    QFM_VALUES = 1, /* the field's values, top `size` by count */
    QFM_CHOSEN,     /* values=: conds[] (equality clauses), in order */
    QFM_INTERVAL,   /* interval=: ival (int), fval (float) or unit (date) */
    QFM_RANGES,     /* ranges=: conds[] (range clauses), in order */
};
enum qry_date_unit { QDU_DAY = 1, QDU_MONTH, QDU_YEAR };

struct qry_facet_spec {
    struct sch_field field; /* a copy of the declared field */
    uint8_t sch_type;
    uint8_t mode; /* enum qry_facet_mode */
    uint8_t unit; /* enum qry_date_unit */
    bool has_size; /* size= given (once at most) */
    uint32_t size;
    int64_t ival;
    double fval;
    /* a float interval as the decimal fdigits * 10^fexp10: the fewest digits that read back
     * as fval, so "0.1" is 1 * 10^-1, which bucket starts are multiples of (facet_count.c) */
    int64_t fdigits;
    int fexp10;
    struct qry_filter *conds; /* owned, nconds (a keyword's bytes are labels[k]) */
    char **labels;            /* owned: each value or range as written */
    size_t nconds;
};

struct qry_facets {
    struct qry_facet_spec *specs; /* owned, n */
    size_t n;
};

/* facet_count.c: the counters of one search, kept in the scratch and reused. */
struct qry_facet_acc;
/* Starts counting params->facets for a search whose predicate is s->conj (a facet skips
 * the conjuncts that restrict only its own field). SD_OK or SD_ENOMEM. */
int qry_facets_begin(struct qry_scratch *s, const struct qry_facets *f, struct sd_error *err);
/* Per segment: the columns and per-ordinal arrays. SD_OK or SD_ENOMEM. */
int qry_facets_segment(struct qry_scratch *s, const struct seg *seg, struct sd_error *err);
/* A live document that the words match and that fails the conjuncts in `failed`. */
void qry_facets_doc(struct qry_scratch *s, uint32_t doc, uint64_t failed);
/* After a segment: keyword counts merged by value. SD_OK or SD_ENOMEM. */
int qry_facets_segment_end(struct qry_scratch *s, struct sd_error *err);
/* The results into out->facets (owned by out). SD_OK or SD_ENOMEM. */
int qry_facets_finish(struct qry_scratch *s, struct qry_result *out, struct sd_error *err);
void qry_facets_acc_free(struct qry_facet_acc *a, size_t n);

/* facet_label.c: labels written into buf[cap] (snprintf's return). A day's bucket key in
 * a unit (QDU_MONTH: year * 12 + month - 1; QDU_YEAR: the year); the label of a bucket key
 * of a unit (day keys are days since the epoch): "2015-03-01", "2015-03", "2015"; a date
 * in ms as "2015-03-01" or "2015-03-01T10:00:00Z" (".123" when it has ms); a double in the
 * fewest digits that read back to it, without an exponent when its decimal exponent is in
 * [QRY_FLOAT_POS_MIN_EXP, QRY_FLOAT_POS_MAX_EXP] ("50", "0.1"; beyond: "1e+21", "1.5e-7"). */
#define QRY_FLOAT_POS_MIN_EXP (-6) /* 1e-6 */
#define QRY_FLOAT_POS_MAX_EXP 20   /* below 1e21 */
int64_t qry_date_bucket(int64_t day, uint8_t unit);
int qry_format_bucket(int64_t key, uint8_t unit, char *buf, size_t cap);
int qry_format_date(int64_t ms, char *buf, size_t cap);
int qry_format_double(double v, char *buf, size_t cap);
/* The fewest significant digits (1 to 17, trailing zeros dropped) that read back to
 * v, finite and not 0: into digits (at least 18 bytes, NUL-terminated; no sign, no point),
 * with v = d1.d2d3... * 10^*exp10 in magnitude. Returns the count of digits. */
int qry_shortest_digits(double v, char *digits, int *exp10);

/* doc when it is live and passes the predicate; else the first document after it that may
 * pass. Each conjunct is tested once: one that fails and can_skip sends the walk to its
 * values' next document (filter_eval.c), so the walk skips every document between and the
 * postings skip their blocks, undecoded; without such a conjunct the first failure ends it. */
static inline uint32_t ev_doc_next(const struct ev *e, const uint64_t *deleted, uint32_t doc)
{
    bool is_deleted = deleted && (deleted[doc / 64] >> (doc % 64)) & 1u;
    if (is_deleted && !e->can_skip) {
        return doc + 1;
    }
    uint32_t next = is_deleted ? doc + 1 : doc;
    for (size_t i = 0; i < e->nconj; i++) {
        const struct qry_conj *c = &e->conj[i];
        if (qry_filter_match(c->q, c->leaves, c->node, doc)) {
            continue;
        }
        uint32_t d = c->can_skip ? qry_conj_next(c, doc + 1) : doc + 1;
        next = d > next ? d : next; /* a document must pass every conjunct */
        if (!e->can_skip || next == SEG_DOC_END) {
            break;
        }
    }
    return next;
}

/* The top-k of one search (search.c) and its count of matches. */
struct qry_topk {
    struct qry_hit *h; /* scratch.heap.data, worst hit at h[0] */
    size_t count;
    size_t k;          /* offset + limit; 0 = only count */
    uint64_t total;    /* matches counted so far */
    bool is_pruned;    /* a document was skipped uncounted: total is a lower bound */
    struct qry_sorter *so; /* a score-first sort: every hit offered also goes there */
    bool is_exhaustive; /* scratch.is_exhaustive */
};

/* Margin for bound tests: a bound is summed in another order than the score,
 * so rounding must never prune a document that would enter. */
#define QRY_BOUND_SLACK 1e-6

/* True when a document whose score is at most bound could still enter t:
 * the heap is not full, or bound reaches its weakest hit (a tie with it does
 * not enter, since documents arrive in heap order, but the slack covers it). */
static inline bool qry_topk_can_beat(const struct qry_topk *t, double bound)
{
    return t->count < t->k || t->is_exhaustive ||
           !(bound * (1 + QRY_BOUND_SLACK) < t->h[0].score);
}

static inline bool qry_is_deleted(const uint64_t *deleted, uint32_t doc)
{
    return deleted && (deleted[doc / 64] >> (doc % 64)) & 1u;
}

/* search.c */
/* Offers hit to t (kept if it beats the weakest of a full heap). */
void qry_topk_add(struct qry_topk *t, struct qry_hit hit);
/* Scores doc (a live match of root) and offers it, unless its block-max bound
 * says it cannot enter. */
void qry_topk_offer(struct ev *e, struct qry_topk *t, uint32_t root, uint32_t seg, uint32_t doc);

/* bulk.c: a wide disjunction scored window by window. qry_bulk_wants: root is one (an EV_OR
 * over enough word lists, through ORs only). qry_bulk_reserve: s->bulk holds the arrays
 * (SD_OK or SD_ENOMEM). qry_bulk_segment: every match of the segment from the root's current
 * document on, each counted and offered to t with ev_score()'s score (no sort, no facets). */
bool qry_bulk_wants(const struct ev *e, uint32_t root);
int qry_bulk_reserve(struct qry_scratch *s);
void qry_bulk_segment(struct ev *e, struct qry_topk *t, struct qry_scratch *s,
                      const uint64_t *deleted, uint32_t seg_index, uint32_t root);

/* prune.c: the rest of a segment once pruning is allowed (t full, enough
 * counted), from target on. Skips what cannot enter t and counts the rest. */
void qry_prune_segment(struct ev *e, struct qry_topk *t, const uint64_t *deleted,
                       uint32_t seg_index, uint32_t root, uint32_t target);

/* For tests: with is_exhaustive, searches on ctx score every match and skip
 * nothing (the reference that pruned searches must equal). */
void qry_ctx_set_exhaustive(struct qry_ctx *ctx, bool is_exhaustive);

/* stats.c */
int qry_stats_build(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                    size_t nsegs, const struct qry_params *params, struct qry_stats *st,
                    struct sd_error *err);
const char *qry_sterm_str(const struct qry_scratch *s, const struct qry *q,
                          const struct qry_sterm *t);
/* Local fields of segment seg_index that scope covers, into out[SEG_MAX_SEG_FIELDS]. */
size_t qry_scope_fields(const struct qry_scratch *s, size_t seg_index, const struct seg *seg,
                        int32_t scope, unsigned *out);

/* The dictionary entry of sterm `term` in local field f of segment seg_index, as
 * qry_stats_build() found it: df 0 when the segment has no such term there (and for
 * fields outside the term's scope, which are never looked up). Rows are sterms; a
 * row holds every (segment, local field) pair in field_map order. */
static inline struct seg_term *qry_found(const struct qry_scratch *s, size_t term, size_t seg_index,
                                         unsigned f)
{
    size_t col = ((const size_t *)s->map_off.data)[seg_index] + f;
    return (struct seg_term *)s->found.data + term * s->field_map.count + col;
}

/* synonym.c: lowers each synonym word's idf (sterms of q, set by qry_stats_build) to at most
 * the smallest idf of the typed words of its group over its word count. */
void qry_synonym_caps(struct qry_scratch *s, const struct qry *q);

/* typed.c: st->boost, the exact-form bonus of this search: params->exact_boost x
 * QRY_TYPED_GAIN when the query's required typed words stand together as typed in some live
 * document, 0 when in none, params->exact_boost for a query without such words. Call after
 * qry_stats_build(). */
int qry_typed_boost(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                    size_t nsegs, const struct qry_params *params, struct qry_stats *st,
                    struct sd_error *err);
/* Whether query node n is a typed word: a positive QN_WORD with an exact form (term_count 2),
 * not a synonym's. Such words earn the exact-form bonus (typed.c) and the proximity bonus
 * (plan.c, prox.c). */
static inline bool qry_is_typed_word(const struct qry_node *n)
{
    return n->type == QN_WORD && n->term_count == 2 && n->syn_role != QRY_SYN_WORD &&
           !n->is_negative;
}

/* Whether n is a typed word (qry_is_typed_word) of QRY_TYPO_ONE_EDIT+ characters, long enough
 * to be misspelt, whose stem some document has (its df from qry_stats_build). */
static inline bool qry_is_long_known_stem(const struct qry *q, const struct qry_node *n,
                                          const struct qry_sterm *sterms)
{
    if (!qry_is_typed_word(n) || !sterms[n->term].has_idf || sterms[n->term].df == 0) {
        return false;
    }
    const struct qry_term *typed = &q->terms[n->term + 1];
    return qry_lev_max_edits(qry_term_str(q, typed), typed->len) > 0;
}

/* Whether the word being typed, QRY_SYN_TYPING group `group`, is whole as far as the index can
 * tell: a plain word of QRY_MIN_STEMMED+ characters whose typed form some document has (its
 * exact form's df, after qry_stats_build()); a shorter one is as likely the start of a longer
 * word. A whole one counts as a typed word for the exact-form bonus, here and in the AND's
 * scoring (plan.c), as it will once a space follows; a half word does not, and the words
 * before it decide (bench/RESULTS.md "Issue 12: searching as you type"). */
bool qry_typing_is_whole(const struct qry_scratch *s, const struct qry *q, int32_t group);

/* prox.c */
/* The exact forms of one query word in local field `field` of seg, for the proximity bonus:
 * typed (its entry, or NULL when the field lacks it) first, then, most frequent first, the
 * forms that start with stem[0, stem_len) (borrowed), have at most QRY_PROX_SUFFIX characters
 * more and stem to it with stem (the first QRY_PROX_SCAN such candidates in byte order are
 * looked at). Fills out[QRY_PROX_FORMS], *count of them. SD_OK, SD_ENOMEM or the dictionary's SD_ECORRUPT. */
int qry_prox_forms(struct stem_ctx *stem, const struct seg *seg, unsigned field, const char *stem_str,
                   size_t stem_len, const struct seg_term *typed, struct seg_term *out,
                   size_t *count, struct sd_error *err);
/* The fewest positions from an occurrence in a[0, na) to a later one in b[0, nb) (both
 * ascending), into *fwd when fewer than it holds; may stop once *fwd is 1. */
void qry_prox_closest(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb,
                      uint32_t *fwd);
/* px's bound: weight x the sum over consecutive words (query order) that both have forms here
 * of the smaller idf of the two. */
double qry_prox_bound(const struct ev_prox *px, const struct ev_prox_word *words);
/* The bonus of doc (a match of px's AND, which sits on it): for consecutive words, the
 * smaller idf x 1/d^2 for their closest occurrences d <= QRY_PROX_WINDOW positions apart in
 * the typed order in one field, summed, x weight. At most px->bound. Advances the forms'
 * postings to doc (docs must come in order); a positions error sets e->rc. */
double ev_prox_bonus(struct ev *e, const struct ev_prox *px, uint32_t doc);

/* plan.c: builds the tree for segment seg_index into s->nodes/posts/kids;
 * *root is its root. qry_plan_free() frees the iterators (also after an error). */
int qry_plan_build(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                   size_t seg_index, const struct qry_params *params, bool wants_scores,
                   uint32_t *root, struct sd_error *err);
void qry_plan_free(struct qry_scratch *s);
/* SD_OK, or SD_ECORRUPT when an iterator stopped on a decoding error. */
int qry_plan_check(struct qry_scratch *s, struct sd_error *err);

/* p's first doc >= target, where p->doc < target. Stepping one doc on (a walk visiting
 * every match, the common case) is a plain next(), a third of advance()'s instructions. */
static inline uint32_t ev_post_step(struct ev_post *p, uint32_t target)
{
    return p->doc + 1 == target ? seg_postings_next(p->it) : seg_postings_advance(p->it, target);
}

/* p's weighted tf on doc, where p sits (p->doc == doc). */
static inline double ev_post_tf(const struct ev_post *p, uint32_t doc)
{
    return (double)seg_postings_freq(p->it) * p->norm_tbl[p->norms[doc]];
}

/* eval.c */
uint32_t ev_seek(struct ev *e, uint32_t node, uint32_t target);
static inline uint32_t ev_advance(struct ev *e, uint32_t node, uint32_t target)
{
    struct ev_node *n = &e->nodes[node];
    return n->doc >= target ? n->doc : ev_seek(e, node, target);
}
double ev_score(struct ev *e, uint32_t node, uint32_t doc);
/* qry_topk_offer() for a root AND with a proximity bonus (prox set; search.c's exact phase
 * and prune.c's block-max walk call it instead): its other parts are summed first, and the
 * bonus (positions: the dear part) is computed only when they plus the bonus's bound
 * (ev_prox.bound) could beat the weakest hit. The score is ev_score()'s, to the bit.
 * (qry_topk_offer itself stays as it was: a test there kept it from being inlined and cost
 * 1-word queries 2% of their instructions.) */
void ev_offer_prox(struct ev *e, struct qry_topk *t, uint32_t root, uint32_t seg, uint32_t doc);
double ev_bound(struct ev *e, uint32_t node, uint32_t doc);
/* An upper bound of ev_score() for every match of node in [target, *upto],
 * from skip data only (nothing is decoded except a term's single small block).
 * *upto (SEG_DOC_END on entry) is lowered to the end of the window: the first
 * block end among the postings involved. Targets given to one node must not
 * go backwards (the iterators shallow-advance). */
double ev_window(struct ev *e, uint32_t node, uint32_t target, uint32_t *upto);
/* The parts of ev_window() for one EV_TERMS node (prune.c splits it by field):
 * one posting's largest weighted tf (INFINITY when a block's max tf is not
 * known: SEG_TF_UNBOUNDED), the same summed over the exact-form bonus's
 * postings, idf * saturated tf (0 for tf 0; idf * (k1 + 1), the limit, for an
 * infinite tf), and the bonus's score for a weighted tf. A document's bonus tf
 * is at most its match tf (each occurrence of the typed form is one of its
 * stem's, in the same field), so a bound may use the smaller of the two. */
double ev_window_post(struct ev_post *p, uint32_t target, uint32_t *upto);
double ev_window_bonus_tf(struct ev *e, const struct ev_node *n, uint32_t target, uint32_t *upto);
double ev_saturated(double idf, double tf, double k1);
double ev_bonus(const struct ev *e, const struct ev_node *n, double tf);
/* The most EV_TERMS node n scores with weighted match tf `tf` and a bonus tf of at most
 * `bonus_tf` (the bonus never exceeds the match tf: the smaller of the two is used). */
double ev_terms_limit(const struct ev *e, const struct ev_node *n, double tf, double bonus_tf);

static inline double ev_saturate(double tf, double k1)
{
    return tf * (k1 + 1.0) / (tf + k1);
}

/* ev_saturate() of a bound's tf, which may be INFINITY (a block whose max tf the skip data
 * does not hold): then the limit, k1 + 1, where the formula would give inf / inf. */
static inline double ev_saturate_bound(double tf, double k1)
{
    return tf == INFINITY ? k1 + 1.0 : ev_saturate(tf, k1);
}

#endif
