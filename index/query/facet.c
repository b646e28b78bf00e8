/*
 * facet.c: facet specs, "field[:option=value[;option=value]]" (docs/QUERY.md "Facets").
 *
 *   lang                      the field's values, top QRY_FACET_SIZE by count
 *   tags:size=20              ... top 20
 *   lang:values=ru|en         exactly these values, in this order (zero counts included)
 *   year:interval=10          buckets [1990, 2000), [2000, 2010)... (int, float)
 *   date:interval=month       calendar buckets: day, month or year (date)
 *   year:ranges=..2000|2000..2010|2010..   ranges as in filters (inclusive, open ends)
 *
 * A value of values= and a range of ranges= are read by the filter clause reader
 * (qry_filter_value), so `date:values=2015-03-01` covers that day and `ranges=..2000`
 * includes 2000, exactly like the filter a user clicks to: a bucket's count is the total
 * that filter gives (with the rest of the request). Counting is facet_count.c.
 */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

/* One option: name=value at offset off of the spec. */
struct fopt {
    const char *name;
    size_t name_len;
    const char *val;
    size_t val_len;
    size_t off; /* of the value */
};

static bool opt_is(const struct fopt *o, const char *name)
{
    return o->name_len == strlen(name) && memcmp(o->name, name, o->name_len) == 0;
}

static int spec_err(struct sd_error *err, int code, size_t i, size_t off, const char *what)
{
    return sd_errorf(err, code, "facet %zu: at %zu: %s", i, off, what);
}

static int parse_uint(const struct fopt *o, uint64_t max, uint64_t *v)
{
    *v = 0;
    if (o->val_len == 0 || o->val_len > 19) {
        return SD_EPARSE;
    }
    for (size_t k = 0; k < o->val_len; k++) {
        if (o->val[k] < '0' || o->val[k] > '9') {
            return SD_EPARSE;
        }
        *v = *v * 10 + (uint64_t)(o->val[k] - '0');
    }
    return *v >= 1 && *v <= max ? SD_OK : SD_EPARSE;
}

static int set_interval(struct qry_facet_spec *sp, const struct fopt *o, size_t i,
                        struct sd_error *err)
{
    sp->mode = QFM_INTERVAL;
    if (sp->sch_type == SCH_DATE) {
        static const char *const units[] = {"day", "month", "year"};
        for (uint8_t u = 0; u < 3; u++) {
            if (o->val_len == strlen(units[u]) && memcmp(o->val, units[u], o->val_len) == 0) {
                sp->unit = (uint8_t)(u + QDU_DAY);
                return SD_OK;
            }
        }
        return spec_err(err, SD_EPARSE, i, o->off, "a date interval is day, month or year");
    }
    struct qry_filter f;
    struct qry_fval fv = {.attr = &sp->field, .err = err};
    if (sp->sch_type != SCH_INT && sp->sch_type != SCH_FLOAT) {
        return sd_errorf(err, SD_EFIELD,
                         "facet %zu: field '%s' is a %s: interval= needs an "
                         "int, float or date field",
                         i, sp->field.name, sch_type_name(sp->field.type));
    }
    int rc = qry_filter_value(&fv, o->val, o->val_len, o->off, false, &f);
    bool is_plain =
        !rc && (sp->sch_type == SCH_INT ? f.lo == f.hi && f.lo > 0 : f.flo == f.fhi && f.flo > 0);
    if (!is_plain) {
        return spec_err(err, SD_EPARSE, i, o->off,
                        sp->sch_type == SCH_INT
                            ? "interval= needs a positive integer (an int field)"
                            : "interval= needs a positive number");
    }
    sp->ival = f.lo;
    sp->fval = f.flo;
    if (sp->sch_type == SCH_FLOAT) {
        char digits[18];
        int e;
        int n = qry_shortest_digits(sp->fval, digits, &e);
        sp->fdigits = strtoll(digits, NULL, 10);
        sp->fexp10 = e - (n - 1);
    }
    return SD_OK;
}

/* Whether one of the first n labels is v[0, len): a bucket's label is its key in the answer's
 * object, where a key may stand once (a keyword's second bucket also counted nothing). */
static bool is_label_taken(const struct qry_facet_spec *sp, size_t n, const char *v, size_t len)
{
    for (size_t k = 0; k < n; k++) {
        if (strlen(sp->labels[k]) == len && memcmp(sp->labels[k], v, len) == 0) {
            return true;
        }
    }
    return false;
}

/* values=a|b or ranges=a..b|..c: each part a clause on the field, its text the label. */
static int set_conds(struct qry_facet_spec *sp, const struct fopt *o, bool is_ranges, size_t i,
                     struct sd_error *err)
{
    if (is_ranges && sp->sch_type != SCH_INT && sp->sch_type != SCH_FLOAT &&
        sp->sch_type != SCH_DATE) {
        return sd_errorf(err, SD_EFIELD,
                         "facet %zu: field '%s' is a %s: ranges= needs an "
                         "int, float or date field",
                         i, sp->field.name, sch_type_name(sp->field.type));
    }
    sp->mode = is_ranges ? QFM_RANGES : QFM_CHOSEN;
    size_t n = 1;
    for (size_t k = 0; k < o->val_len; k++) {
        n += o->val[k] == '|';
    }
    if (n > QRY_MAX_FACET_SIZE) {
        return sd_errorf(err, SD_ELIMIT, "facet %zu: more than %d buckets", i, QRY_MAX_FACET_SIZE);
    }
    sp->conds = calloc(n, sizeof *sp->conds);
    sp->labels = calloc(n, sizeof *sp->labels);
    if (!sp->conds || !sp->labels) {
        return sd_errorf(err, SD_ENOMEM, "facets");
    }
    struct sd_error e = {0};
    struct qry_fval fv = {.attr = &sp->field, .err = &e};
    size_t start = 0;
    for (size_t k = 0; k < n; k++) {
        const char *bar = memchr(o->val + start, '|', o->val_len - start);
        size_t end = bar ? (size_t)(bar - o->val) : o->val_len;
        const char *v = o->val + start;
        size_t len = end - start;
        if (len == 0) {
            return spec_err(err, SD_EPARSE, i, o->off + start, "an empty value");
        }
        if (!is_ranges && sp->sch_type != SCH_KEYWORD && qry_looks_like_range(v, len)) {
            return spec_err(err, SD_EPARSE, i, o->off + start,
                            "values= takes values, not ranges (use ranges=)");
        }
        int rc = qry_filter_value(&fv, v, len, o->off + start, true, &sp->conds[k]);
        if (rc) {
            return sd_errorf(err, rc, "facet %zu: %s", i, e.msg);
        }
        if (is_label_taken(sp, k, v, len)) { /* the answer's object would hold the key twice */
            return sd_errorf(err, SD_EPARSE, "facet %zu: at %zu: '%.*s' given twice", i,
                             o->off + start, (int)sd_utf8_cut(v, len, 64), v);
        }
        sp->labels[k] = strndup(v, len);
        if (!sp->labels[k]) {
            return sd_errorf(err, SD_ENOMEM, "facets");
        }
        sp->nconds = k + 1;
        start = end + 1;
    }
    return SD_OK;
}

/* size= beside values= or ranges=, in either order: every value or range given is a bucket,
 * so the size would be accepted and ignored. */
static int size_conflict(const struct fopt *o, size_t i, struct sd_error *err)
{
    return spec_err(err, SD_EPARSE, i, o->off - o->name_len - 1,
                    "size= does nothing with values= or ranges= (every value or range given is "
                    "a bucket)");
}

static int set_option(struct qry_facet_spec *sp, const struct fopt *o, size_t i,
                      struct sd_error *err)
{
    bool is_chosen = sp->mode == QFM_CHOSEN || sp->mode == QFM_RANGES;
    if (opt_is(o, "size")) {
        uint64_t v;
        if (sp->has_size) {
            return spec_err(err, SD_EPARSE, i, o->off - o->name_len - 1, "size= given twice");
        }
        if (is_chosen) {
            return size_conflict(o, i, err);
        }
        sp->has_size = true;
        if (parse_uint(o, QRY_MAX_FACET_SIZE, &v)) {
            return spec_err(err, SD_EPARSE, i, o->off, "size= needs a number from 1 to 1000");
        }
        sp->size = (uint32_t)v;
        return SD_OK;
    }
    if (sp->mode != QFM_VALUES) {
        return spec_err(err, SD_EPARSE, i, o->off - o->name_len - 1,
                        "only one of values=, interval= and ranges=");
    }
    if (opt_is(o, "interval")) {
        return set_interval(sp, o, i, err);
    }
    if ((opt_is(o, "values") || opt_is(o, "ranges")) && sp->has_size) {
        return size_conflict(o, i, err);
    }
    if (opt_is(o, "values") || opt_is(o, "ranges")) {
        return set_conds(sp, o, opt_is(o, "ranges"), i, err);
    }
    return sd_errorf(err, SD_EPARSE,
                     "facet %zu: at %zu: unknown option '%.*s' (size, values, "
                     "interval, ranges)",
                     i, o->off - o->name_len - 1, (int)sd_utf8_cut(o->name, o->name_len, 32),
                     o->name);
}

static int parse_field(struct qry_facet_spec *sp, const char *s, size_t len, size_t i,
                       const struct sch_schema *schema, struct sd_error *err)
{
    const struct sch_field *f = sch_find(schema, s, len);
    if (!f) {
        return sd_errorf(err, SD_EFIELD, "facet %zu: unknown field '%.*s' in facets", i,
                         (int)sd_utf8_cut(s, len, SCH_MAX_NAME), s);
    }
    if (f->type == SCH_TEXT) {
        return sd_errorf(err, SD_EFIELD,
                         "facet %zu: field '%s' in facets is declared as text "
                         "(facets need an int, float, date, bool or keyword attribute)",
                         i, f->name);
    }
    sp->field = *f;
    sp->sch_type = (uint8_t)f->type;
    sp->mode = QFM_VALUES;
    return SD_OK;
}

/* Spec i, text s (NUL-terminated). */
static int parse_spec(struct qry_facet_spec *sp, const char *s, size_t i,
                      const struct sch_schema *schema, struct sd_error *err)
{
    size_t len = strlen(s);
    const char *colon = memchr(s, ':', len);
    size_t name_len = colon ? (size_t)(colon - s) : len;
    int rc = parse_field(sp, s, name_len, i, schema, err);
    size_t pos = name_len + 1;
    while (!rc && colon && pos <= len) {
        const char *semi = memchr(s + pos, ';', len - pos);
        size_t end = semi ? (size_t)(semi - s) : len;
        const char *eq = memchr(s + pos, '=', end - pos);
        if (!eq) {
            return spec_err(err, SD_EPARSE, i, pos, "an option is name=value");
        }
        struct fopt o = {.name = s + pos,
                         .name_len = (size_t)(eq - (s + pos)),
                         .val = eq + 1,
                         .val_len = end - (size_t)(eq + 1 - s),
                         .off = (size_t)(eq + 1 - s)};
        rc = set_option(sp, &o, i, err);
        pos = end + 1;
    }
    if (!rc && sp->size == 0) {
        sp->size = sp->mode == QFM_INTERVAL ? QRY_MAX_FACET_SIZE : QRY_FACET_SIZE;
    }
    return rc;
}

int qry_facets_parse(const char *const *specs, size_t n, const struct sch_schema *schema,
                     struct qry_facets **out, struct sd_error *err)
{
    *out = NULL;
    if (n > QRY_MAX_FACETS) {
        return sd_errorf(err, SD_ELIMIT, "more than %d facets", QRY_MAX_FACETS);
    }
    struct qry_facets *f = calloc(1, sizeof *f);
    if (!f || !(f->specs = calloc(n ? n : 1, sizeof *f->specs))) {
        free(f);
        return sd_errorf(err, SD_ENOMEM, "facets");
    }
    int rc = SD_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        f->n = i + 1;
        rc = parse_spec(&f->specs[i], specs[i], i, schema, err);
    }
    if (rc) {
        qry_facets_free(f);
        return rc;
    }
    *out = f;
    return SD_OK;
}

void qry_facets_free(struct qry_facets *f)
{
    if (!f) {
        return;
    }
    for (size_t i = 0; i < f->n; i++) {
        struct qry_facet_spec *sp = &f->specs[i];
        for (size_t k = 0; sp->labels && k < sp->nconds; k++) {
            free(sp->labels[k]);
        }
        free(sp->labels);
        free(sp->conds);
    }
    free(f->specs);
    free(f);
}
