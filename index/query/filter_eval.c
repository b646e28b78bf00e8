/*
 * filter_eval.c: filter clauses tested against a segment's attribute columns.
 *
 * Before a search, the top level of the query's AND (and of the separate filter) is split:
 * each operand made only of clauses (`year:>=2010`, `-collection:drafts`,
 * `(lang:ru OR tags:poetry)`) becomes a conjunct of the predicate (struct qry_conj), which
 * search.c and prune.c test on every document the text tree matches, right where deleted
 * documents are skipped. A filter thus only removes documents from the walk: the block-max
 * bounds of what remains stay valid, and pruning stays exact. A clause mixed with text
 * inside an OR (`poetry OR year:2012`) stays in the tree as an EV_FILTER node (plan.c,
 * eval.c), and a query with no text left walks every document (EV_ALL): browsing.
 *
 * Per segment, every clause is resolved once (qry_filter_segment): its column is looked up
 * by name and type (a segment built under older settings may lack it, or hold it with
 * another type: then no document of it has a value), and a keyword value becomes the
 * segment's ordinal (seg_attr_keyword_find), so testing a document compares integers read
 * from the mapping: no string compare and no allocation per document. A multi-valued
 * document matches a clause when any of its values does. A conjunct that is one clause no
 * document of the segment can pass (a keyword value absent from its dictionary, a column it
 * lacks) rules the segment out before its postings are opened.
 *
 * A conjunct that is a keyword value, or an OR of values, can also say where the next
 * document that may pass is: the segment lists each value's documents (seg_attr_docs.c), so
 * when a document fails it, ev_doc_next() gives the walk (search.c, prune.c) the value's
 * next document, and the words' postings skip there block by block without decoding: a
 * selective filter makes a search cheaper, not just shorter.
 *
 * For facets ("as if not filtered"), qry_conj_failed() gives the bitmask of the conjuncts
 * a document fails, each conjunct knowing the one attribute it restricts (if only one).
 */
#include <string.h>

#include "eval_int.h"

static void conj_field(const struct qry *q, int32_t node, const char **name, size_t *len,
                       bool *is_one)
{
    const struct qry_node *n = &q->nodes[node];
    if (n->type == QN_FILTER) {
        const struct qry_filter *f = &q->filters[n->term];
        const char *s = q->strings + f->name_off;
        if (*name == NULL) {
            *name = s;
            *len = f->name_len;
        } else if (*len != f->name_len || memcmp(*name, s, *len) != 0) {
            *is_one = false;
        }
        return;
    }
    for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
        conj_field(q, c, name, len, is_one);
    }
}

static int add_conj(struct qry_scratch *s, const struct qry *q, int32_t node, size_t first_leaf)
{
    struct qry_conj *c = qry_vec_push(&s->conj, sizeof *c);
    if (!c) {
        return SD_ENOMEM;
    }
    memset(c, 0, sizeof *c);
    c->q = q;
    c->node = node;
    c->first_leaf = first_leaf;
    bool is_one = true;
    conj_field(q, node, &c->field, &c->field_len, &is_one);
    if (!is_one) {
        c->field = NULL;
        c->field_len = 0;
    }
    return SD_OK;
}

/* The top-level operands of q that are clauses only. */
static int split_conj(struct qry_scratch *s, const struct qry *q, size_t first_leaf)
{
    if (!q || q->root == QRY_NONE) {
        return SD_OK;
    }
    const struct qry_node *r = &q->nodes[q->root];
    if (r->type != QN_AND) {
        return r->is_filter ? add_conj(s, q, q->root, first_leaf) : SD_OK;
    }
    for (int32_t c = r->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
        if (q->nodes[c].is_filter && add_conj(s, q, c, first_leaf)) {
            return SD_ENOMEM;
        }
    }
    return SD_OK;
}

bool qry_is_top_filter(const struct qry *q, int32_t node)
{
    if (node == q->root) {
        return q->nodes[node].is_filter;
    }
    return q->nodes[q->root].type == QN_AND && q->nodes[node].is_filter;
}

int qry_filter_prepare(struct qry_scratch *s, const struct qry *q, const struct qry *filter,
                       struct sd_error *err)
{
    s->conj.count = 0;
    size_t nq = q->filter_count;
    size_t nf = filter ? filter->filter_count : 0;
    if (qry_vec_reserve(&s->fleaves, nq + nf + 1, sizeof(struct qry_fleaf)) ||
        split_conj(s, q, 0) || split_conj(s, filter, nq)) {
        return sd_errorf(err, SD_ENOMEM, "filters");
    }
    return SD_OK;
}

static enum seg_attr_type column_type(uint8_t sch_type)
{
    return sch_type == SCH_FLOAT     ? SEG_ATTR_FLOAT
           : sch_type == SCH_KEYWORD ? SEG_ATTR_KEYWORD
                                     : SEG_ATTR_INT;
}

const struct seg_attr *qry_column(const struct seg *seg, const char *name, size_t len,
                                  uint8_t sch_type)
{
    const struct seg_attr *a = seg_attr_find(seg, name, len);
    return a && seg_attr_type(a) == column_type(sch_type) ? a : NULL;
}

static void resolve(const struct qry *q, const struct seg *seg, struct qry_fleaf *out)
{
    for (size_t i = 0; i < q->filter_count; i++) {
        const struct qry_filter *f = &q->filters[i];
        struct qry_fleaf *l = &out[i];
        memset(l, 0, sizeof *l);
        l->col = qry_column(seg, q->strings + f->name_off, f->name_len, f->sch_type);
        l->kind = l->col ? f->kind : 0;
        l->lo = f->lo;
        l->hi = f->hi;
        l->flo = f->flo;
        l->fhi = f->fhi;
        l->is_flo_open = f->is_flo_open;
        l->is_fhi_open = f->is_fhi_open;
        if (l->kind == QF_KEYWORD &&
            seg_attr_keyword_find(l->col, q->strings + f->str_off, f->str_len, &l->ord)) {
            l->kind = 0; /* no document of this segment has the value */
        }
    }
}

/* True when node is a keyword value whose documents the segment lists, a clause no document
 * of it can pass, or an OR of those. */
static bool can_skip(const struct qry *q, const struct qry_fleaf *lv, int32_t node)
{
    const struct qry_node *n = &q->nodes[node];
    if (n->type == QN_FILTER) {
        const struct qry_fleaf *l = &lv[n->term];
        return l->kind == 0 || (l->kind == QF_KEYWORD && seg_attr_has_doc_sets(l->col));
    }
    if (n->type != QN_OR) {
        return false;
    }
    for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
        if (!can_skip(q, lv, c)) {
            return false;
        }
    }
    return true;
}

/* The first document >= doc that may pass node (can_skip() holds for it). */
static uint32_t next_doc(const struct qry *q, const struct qry_fleaf *lv, int32_t node,
                         uint32_t doc)
{
    const struct qry_node *n = &q->nodes[node];
    if (n->type == QN_FILTER) {
        const struct qry_fleaf *l = &lv[n->term];
        return l->kind ? seg_attr_keyword_next(l->col, l->ord, doc) : SEG_DOC_END;
    }
    uint32_t min = SEG_DOC_END;
    for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
        uint32_t d = next_doc(q, lv, c, doc);
        min = d < min ? d : min;
    }
    return min;
}

bool qry_filter_segment(struct qry_scratch *s, const struct qry *q, const struct qry *filter,
                        const struct seg *seg)
{
    struct qry_fleaf *lv = s->fleaves.data;
    resolve(q, seg, lv);
    if (filter) {
        resolve(filter, seg, lv + q->filter_count);
    }
    struct qry_conj *c = s->conj.data;
    bool can_match = true;
    s->can_skip = false;
    for (size_t i = 0; i < s->conj.count; i++) {
        c[i].leaves = lv + c[i].first_leaf;
        c[i].can_skip = can_skip(c[i].q, c[i].leaves, c[i].node);
        s->can_skip |= c[i].can_skip;
        const struct qry_node *n = &c[i].q->nodes[c[i].node];
        if (n->type == QN_FILTER && c[i].leaves[n->term].kind == 0) {
            can_match = false; /* `lang:xx` where no document of seg has xx (or the column) */
        }
    }
    return can_match;
}

static bool leaf_match(const struct qry_fleaf *l, uint32_t doc)
{
    if (!l->kind) {
        return false;
    }
    uint64_t first;
    uint32_t count;
    seg_attr_values(l->col, doc, &first, &count);
    for (uint64_t i = first; i < first + count; i++) {
        switch (l->kind) {
        case QF_INT: {
            int64_t v = seg_attr_int(l->col, i);
            if (v >= l->lo && v <= l->hi) {
                return true;
            }
            break;
        }
        case QF_FLOAT: {
            double v = seg_attr_float(l->col, i);
            bool lo_ok = l->is_flo_open ? v > l->flo : v >= l->flo;
            bool hi_ok = l->is_fhi_open ? v < l->fhi : v <= l->fhi;
            if (lo_ok && hi_ok) {
                return true;
            }
            break;
        }
        default:
            if (seg_attr_ord(l->col, i) == l->ord) {
                return true;
            }
            break;
        }
    }
    return false;
}

bool qry_filter_match(const struct qry *q, const struct qry_fleaf *lv, int32_t node, uint32_t doc)
{
    const struct qry_node *n = &q->nodes[node];
    switch (n->type) {
    case QN_FILTER:
        return leaf_match(&lv[n->term], doc);
    case QN_NOT:
        return !qry_filter_match(q, lv, n->first_child, doc);
    case QN_OR:
        for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
            if (qry_filter_match(q, lv, c, doc)) {
                return true;
            }
        }
        return false;
    default: /* QN_AND (its QN_NOT children negate themselves) */
        for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
            if (!qry_filter_match(q, lv, c, doc)) {
                return false;
            }
        }
        return true;
    }
}

uint64_t qry_conj_failed(const struct qry_conj *c, size_t n, uint32_t doc)
{
    uint64_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!qry_filter_match(c[i].q, c[i].leaves, c[i].node, doc)) {
            failed |= UINT64_C(1) << (i < 63 ? i : 63);
        }
    }
    return failed;
}

uint32_t qry_conj_next(const struct qry_conj *c, uint32_t doc)
{
    return next_doc(c->q, c->leaves, c->node, doc);
}
