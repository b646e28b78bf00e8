/*
 * sch_value.c: one field value of a document, checked against its declared type.
 *
 * A document reaches the engine as struct seg_field values: a string's bytes, or the JSON
 * text of anything else (daemon/proto keeps that text as the client sent it, re-serialized
 * by json-c). Strings need no parsing. JSON text is parsed by json-c (strict, depth 2: a
 * scalar, or an array of scalars), which gives integers as int64 when they fit, as uint64
 * when they fit only that, and as double otherwise; "1.0" and "1e3" are doubles. So:
 *
 *   int      a JSON integer that fits int64 (json-c int64); 2^63 and up, 1.5, 1e3: refused
 *   float    any JSON number, finite once converted (1e999 is refused, not infinity)
 *   date     a string sch_parse_date accepts -> ms since the epoch, UTC
 *   bool     true or false
 *   keyword  a string of 1 to SCH_MAX_KEYWORD bytes (a new one without NUL: sch_check_new)
 *   text     a string, or an array of strings (each indexed as text)
 *
 * An attribute may also be an array of such values (multi-valued), null, or []. Strings are
 * never coerced into numbers nor numbers into strings: "2012" is not an int and 2012 is not
 * a keyword, because a silent coercion would make filters disagree with what `get` shows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "schema.h"

void sch_values_init(struct sch_values *vals)
{
    memset(vals, 0, sizeof *vals);
    sd_buf_init(&vals->text);
}

void sch_values_free(struct sch_values *vals)
{
    free(vals->v);
    sd_buf_free(&vals->text);
    memset(vals, 0, sizeof *vals);
}

static struct sch_val *sch_push(struct sch_values *vals)
{
    struct sch_val *p = sd_grow(vals->v, &vals->cap, vals->count + 1, sizeof *p, 8);
    if (!p) {
        return NULL;
    }
    vals->v = p;
    struct sch_val *v = &vals->v[vals->count++];
    memset(v, 0, sizeof *v);
    return v;
}

/* ---- dates ---- */

/* Reads exactly n digits at s[*at]. */
static bool sch_digits(const char *s, size_t len, size_t *at, size_t n, int *out)
{
    if (len - *at < n) {
        return false;
    }
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[*at + i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *at += n;
    *out = v;
    return true;
}

static bool sch_expect(const char *s, size_t len, size_t *at, char c)
{
    if (*at < len && s[*at] == c) {
        (*at)++;
        return true;
    }
    return false;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil: exact for every year, no table, no time zone database). */
static int64_t sch_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int sch_month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* "Z", "+HH:MM", "-HH:MM", "+HHMM" ending the string; *off_ms is what to subtract. */
static bool sch_zone(const char *s, size_t len, size_t at, int64_t *off_ms)
{
    if (at + 1 == len && s[at] == 'Z') {
        *off_ms = 0;
        return true;
    }
    if (at >= len || (s[at] != '+' && s[at] != '-')) {
        return false;
    }
    int sign = s[at++] == '-' ? -1 : 1, hh, mm;
    if (!sch_digits(s, len, &at, 2, &hh)) {
        return false;
    }
    sch_expect(s, len, &at, ':');
    if (!sch_digits(s, len, &at, 2, &mm) || at != len || hh > 23 || mm > 59) {
        return false;
    }
    *off_ms = sign * ((int64_t)hh * 3600000 + (int64_t)mm * 60000);
    return true;
}

/* "THH:MM[:SS[.f+]]" and the zone; *ms is the time of day minus the offset. */
static bool sch_time(const char *s, size_t len, size_t at, int64_t *ms)
{
    int hh, mi, ss = 0, frac = 0;
    if (!sch_expect(s, len, &at, 'T') || !sch_digits(s, len, &at, 2, &hh) ||
        !sch_expect(s, len, &at, ':') || !sch_digits(s, len, &at, 2, &mi)) {
        return false;
    }
    if (sch_expect(s, len, &at, ':')) {
        if (!sch_digits(s, len, &at, 2, &ss)) {
            return false;
        }
        if (sch_expect(s, len, &at, '.')) {
            size_t n = 0;
            for (; at < len && s[at] >= '0' && s[at] <= '9'; at++, n++) {
                frac = n < 3 ? frac * 10 + (s[at] - '0') : frac; /* milliseconds only */
            }
            for (size_t k = n; k < 3; k++) {
                frac *= 10;
            }
            if (n == 0) {
                return false;
            }
        }
    }
    int64_t off;
    if (hh > 23 || mi > 59 || ss > 59 || !sch_zone(s, len, at, &off)) {
        return false;
    }
    *ms = (int64_t)hh * 3600000 + (int64_t)mi * 60000 + (int64_t)ss * 1000 + frac - off;
    return true;
}

bool sch_parse_date(const char *s, size_t len, int64_t *ms)
{
    size_t at = 0;
    int y = 0, m = 0, d = 0; /* set by sch_digits; gcc -O2 cannot see it through the || chain */
    if (!sch_digits(s, len, &at, 4, &y) || !sch_expect(s, len, &at, '-') ||
        !sch_digits(s, len, &at, 2, &m) || !sch_expect(s, len, &at, '-') ||
        !sch_digits(s, len, &at, 2, &d)) {
        return false;
    }
    if (m < 1 || m > 12 || d < 1 || d > sch_month_days(y, m)) {
        return false;
    }
    int64_t day_ms = 0;
    if (at != len && !sch_time(s, len, at, &day_ms)) {
        return false;
    }
    *ms = sch_days_from_civil(y, m, d) * 86400000 + day_ms;
    return true;
}

/* ---- one scalar ---- */

static int sch_bad(const struct sch_field *f, const char *value, size_t len, struct sd_error *err)
{
    static const char *const want[] = {
        "text (a string, or an array of strings)",
        "keyword (a string, or an array of strings)",
        "int (an integer from -2^63 to 2^63-1)",
        "float (a finite number)",
        "date (\"YYYY-MM-DD\" or \"YYYY-MM-DDTHH:MM:SSZ\", with Z or an offset)",
        "bool (true or false)",
    };
    return sd_errorf(err, SD_EINVAL, "field '%s': expected %s, got %.*s%s", f->name, want[f->type],
                     (int)sd_utf8_cut(value, len, 40), value, len > 40 ? "..." : "");
}

static int sch_put_string(const struct sch_field *f, const char *s, size_t len,
                          struct sch_values *vals, struct sd_error *err)
{
    if (f->type == SCH_KEYWORD && (len == 0 || len > SCH_MAX_KEYWORD)) {
        return sd_errorf(err, len ? SD_ELIMIT : SD_EINVAL,
                         "field '%s': a keyword is 1 to %d bytes, got %zu", f->name,
                         SCH_MAX_KEYWORD, len);
    }
    struct sch_val *v = sch_push(vals);
    if (!v || vals->text.len > UINT32_MAX - len) {
        return sd_errorf(err, SD_ENOMEM, "field '%s': out of memory", f->name);
    }
    if (f->type == SCH_DATE) {
        if (!sch_parse_date(s, len, &v->i)) {
            vals->count--;
            struct sd_buf q;
            sd_buf_init(&q);
            sch_json_quote(s, sd_utf8_cut(s, len, 40), &q);
            int rc = sch_bad(f, q.rc ? "a string" : (const char *)q.data, q.rc ? 8 : q.len, err);
            sd_buf_free(&q);
            return rc;
        }
        return SD_OK;
    }
    v->off = (uint32_t)vals->text.len;
    v->len = (uint32_t)len;
    sd_buf_put(&vals->text, s, len);
    return vals->text.rc ? sd_errorf(err, SD_ENOMEM, "field '%s': out of memory", f->name) : SD_OK;
}

/* One JSON scalar (j; its text for messages). */
static int sch_put_json(const struct sch_field *f, struct json_object *j, struct sch_values *vals,
                        struct sd_error *err)
{
    const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    enum json_type t = json_object_get_type(j);
    if (t == json_type_string) {
        if (f->type != SCH_KEYWORD && f->type != SCH_DATE && f->type != SCH_TEXT) {
            return sch_bad(f, text, strlen(text), err);
        }
        return sch_put_string(f, json_object_get_string(j), (size_t)json_object_get_string_len(j),
                              vals, err);
    }
    bool ok = false;
    int64_t i = 0;
    double d = 0;
    if (f->type == SCH_INT && t == json_type_int) {
        i = json_object_get_int64(j);
        /* uint64 (a value above INT64_MAX) reads back saturated: refuse it */
        ok = json_object_get_uint64(j) <= (uint64_t)INT64_MAX || i < 0;
    } else if (f->type == SCH_FLOAT && (t == json_type_int || t == json_type_double)) {
        d = json_object_get_double(j);
        ok = isfinite(d);
    } else if (f->type == SCH_BOOL && t == json_type_boolean) {
        i = json_object_get_boolean(j) ? 1 : 0;
        ok = true;
    }
    if (!ok) {
        return sch_bad(f, text, strlen(text), err);
    }
    struct sch_val *v = sch_push(vals);
    if (!v) {
        return sd_errorf(err, SD_ENOMEM, "field '%s': out of memory", f->name);
    }
    v->i = i;
    v->f = d;
    return SD_OK;
}

static int sch_put_array(const struct sch_field *f, struct json_object *arr,
                         struct sch_values *vals, struct sd_error *err)
{
    size_t n = json_object_array_length(arr);
    if (n > SCH_MAX_VALUES) {
        return sd_errorf(err, SD_ELIMIT, "field '%s': %zu values, at most %d", f->name, n,
                         SCH_MAX_VALUES);
    }
    for (size_t k = 0; k < n; k++) {
        struct json_object *e = json_object_array_get_idx(arr, k);
        if (!e || json_object_is_type(e, json_type_array) ||
            json_object_is_type(e, json_type_object)) {
            const char *t = e ? json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN) : "null";
            return sch_bad(f, t, strlen(t), err);
        }
        int rc = sch_put_json(f, e, vals, err);
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

/* json-c reads an integer below -2^63 as -2^63 (strtoll saturates and it keeps the result),
 * so an int field looks at the digits itself: false when a negative number in the text has
 * more than 19 digits or is below -9223372036854775808. */
static bool sch_int_text_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '-') {
            continue;
        }
        size_t start = i + 1, n = 0;
        while (start + n < len && s[start + n] >= '0' && s[start + n] <= '9') {
            n++;
        }
        if (n > 19 || (n == 19 && memcmp(s + start, "9223372036854775808", 19) > 0)) {
            return false;
        }
        i = start + n - 1;
    }
    return true;
}

static int sch_convert_json(const struct sch_field *f, const char *value, size_t len,
                            struct sch_values *vals, struct sd_error *err)
{
    if (f->type == SCH_INT && !sch_int_text_ok(value, len)) {
        return sch_bad(f, value, len, err);
    }
    struct json_tokener *tok = json_tokener_new_ex(3);
    if (!tok) {
        return sd_errorf(err, SD_ENOMEM, "field '%s': out of memory", f->name);
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *j = json_tokener_parse_ex(tok, value, (int)len);
    size_t end = json_tokener_get_parse_end(tok);
    if (!j && json_tokener_get_error(tok) == json_tokener_continue) {
        /* a bare number ends only where the input does: the NUL byte tells json-c so */
        j = json_tokener_parse_ex(tok, "", 1);
        end = len;
    }
    bool whole = json_tokener_get_error(tok) == json_tokener_success && end == len;
    json_tokener_free(tok);
    int rc;
    if (!whole || (!j && !(len == 4 && memcmp(value, "null", 4) == 0))) {
        rc = sch_bad(f, value, len, err); /* objects nest too deep for depth 3, or garbage */
    } else if (!j) {
        rc = SD_OK; /* null: no value */
    } else if (json_object_is_type(j, json_type_array)) {
        rc = sch_put_array(f, j, vals, err);
    } else if (json_object_is_type(j, json_type_object)) {
        rc = sch_bad(f, value, len, err);
    } else {
        rc = sch_put_json(f, j, vals, err);
    }
    json_object_put(j);
    return rc;
}

int sch_convert(const struct sch_field *f, bool is_json, const char *value, size_t len,
                struct sch_values *vals, struct sd_error *err)
{
    vals->type = f->type;
    vals->count = 0;
    sd_buf_reset(&vals->text);
    if (len > INT32_MAX) {
        return sd_errorf(err, SD_ELIMIT, "field '%s': value too large", f->name);
    }
    if (!is_json) {
        if (f->type != SCH_TEXT && f->type != SCH_KEYWORD && f->type != SCH_DATE) {
            struct sd_buf q;
            sd_buf_init(&q);
            sch_json_quote(value, sd_utf8_cut(value, len, 40), &q);
            int rc = sch_bad(f, q.rc ? "a string" : (const char *)q.data, q.rc ? 8 : q.len, err);
            sd_buf_free(&q);
            return rc;
        }
        return sch_put_string(f, value, len, vals, err);
    }
    if (len == 0) {
        return SD_OK; /* the empty JSON text stands for null (seg.h) */
    }
    int rc = sch_convert_json(f, value, len, vals, err);
    if (rc) {
        vals->count = 0;
    }
    return rc;
}

int sch_check_new(const struct sch_field *f, const struct sch_values *vals, struct sd_error *err)
{
    if (f->type != SCH_KEYWORD) {
        return SD_OK;
    }
    const char *text = (const char *)vals->text.data;
    for (size_t i = 0; i < vals->count; i++) {
        if (!memchr(text + vals->v[i].off, '\0', vals->v[i].len)) {
            continue;
        }
        char at[32] = "";
        if (vals->count > 1) {
            snprintf(at, sizeof at, "[%zu]", i); /* of an array: which value, from 0 */
        }
        return sd_errorf(err, SD_EINVAL,
                         "field '%s'%s: a keyword must not hold NUL (\\u0000): no filter could "
                         "name it",
                         f->name, at);
    }
    return SD_OK;
}
