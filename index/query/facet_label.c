/*
 * facet_label.c: the labels of facet buckets: dates (milliseconds since the epoch, as
 * index/schema stores them) back to ISO 8601, calendar buckets, and doubles in their
 * shortest form that reads back to the same value.
 *
 * A double's label is a value a user may click, so it must read back through the filter
 * syntax (filter.c parse_float) to the very same double, and should look like what people
 * type: the fewest significant digits that round-trip, laid out without an exponent for
 * magnitudes in [1e-6, 1e21) ("50", "120", "0.1", "0.000001"), as JavaScript prints
 * numbers, and as "1e+21" or "1.5e-7" beyond, which parse_float reads too. (%g at the
 * fewest digits, the obvious way, writes 50 as "5e+01".)
 *
 * Calendar arithmetic is Howard Hinnant's civil_from_days (proleptic Gregorian, any year);
 * a month bucket is keyed year * 12 + (month - 1) and a year bucket by the year, so that
 * buckets sort by time as integers and need no conversion back to days.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

#define DAY_MS INT64_C(86400000)

/* The civil date of day z (days since 1970-01-01). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t qry_date_bucket(int64_t day, uint8_t unit)
{
    int64_t y;
    unsigned m, d;
    civil(day, &y, &m, &d);
    return unit == QDU_YEAR ? y : y * 12 + (int64_t)m - 1;
}

int qry_format_bucket(int64_t key, uint8_t unit, char *buf, size_t cap)
{
    if (unit == QDU_YEAR) {
        return snprintf(buf, cap, "%04" PRId64, key);
    }
    if (unit == QDU_MONTH) {
        int64_t y = key / 12 - (key % 12 < 0);
        return snprintf(buf, cap, "%04" PRId64 "-%02d", y, (int)(key - y * 12) + 1);
    }
    int64_t y;
    unsigned m, d;
    civil(key, &y, &m, &d);
    return snprintf(buf, cap, "%04" PRId64 "-%02u-%02u", y, m, d);
}

int qry_format_date(int64_t ms, char *buf, size_t cap)
{
    int64_t day = ms / DAY_MS - (ms % DAY_MS < 0);
    int64_t in_day = ms - day * DAY_MS;
    int n = qry_format_bucket(day, QDU_DAY, buf, cap);
    if (in_day == 0 || n < 0 || (size_t)n >= cap) {
        return n;
    }
    int64_t s = in_day / 1000;
    int64_t frac = in_day % 1000;
    int k = frac ? snprintf(buf + n, cap - (size_t)n, "T%02d:%02d:%02d.%03dZ", (int)(s / 3600),
                            (int)(s / 60 % 60), (int)(s % 60), (int)frac)
                 : snprintf(buf + n, cap - (size_t)n, "T%02d:%02d:%02dZ", (int)(s / 3600),
                            (int)(s / 60 % 60), (int)(s % 60));
    return n + k;
}

int qry_shortest_digits(double v, char *digits, int *exp10)
{
    char buf[40]; /* at most "-d.dddddddddddddddde-308" */
    /* 17 significant digits always read back. Starting at 15 would do for normal doubles
     * (one that a shorter decimal reads back to prints as that decimal at 15 digits), but
     * not for subnormals (5e-324 prints as 4.94065645841247e-324): labels are few, so try
     * every precision from 1. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    const char *p = buf + (buf[0] == '-');
    int n = 0;
    for (; *p && *p != 'e' && n < 17; p++) {
        if (*p != '.') {
            digits[n++] = *p;
        }
    }
    *exp10 = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
    while (n > 1 && digits[n - 1] == '0') {
        n--;
    }
    digits[n] = '\0';
    return n;
}

/* digits (n of them) times 10^e with the point placed among them, zeros added as needed. */
static size_t positional(const char *digits, int n, int e, char *out)
{
    size_t len = 0;
    if (e < 0) {
        out[len++] = '0';
        out[len++] = '.';
        for (int i = -1; i > e; i--) {
            out[len++] = '0';
        }
        memcpy(out + len, digits, (size_t)n);
        return len + (size_t)n;
    }
    for (int i = 0; i < n || i <= e; i++) {
        if (i == e + 1) {
            out[len++] = '.';
        }
        out[len++] = i < n ? digits[i] : '0';
    }
    return len;
}

int qry_format_double(double v, char *buf, size_t cap)
{
    if (v == 0 || !isfinite(v)) {
        return snprintf(buf, cap, "%s", v == 0 ? "0" : v > 0 ? "inf" : "-inf"); /* -0 too */
    }
    char digits[18];
    int e;
    int n = qry_shortest_digits(v, digits, &e);
    char out[48]; /* at most a sign, "0.", 5 zeros and 17 digits, or 21 digits */
    size_t len = 0;
    if (v < 0) {
        out[len++] = '-';
    }
    if (e >= QRY_FLOAT_POS_MIN_EXP && e <= QRY_FLOAT_POS_MAX_EXP) {
        len += positional(digits, n, e, out + len);
        out[len] = '\0';
    } else {
        snprintf(out + len, sizeof out - len, "%c%s%.*se%c%d", digits[0], n > 1 ? "." : "", n - 1,
                 digits + 1, e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    return snprintf(buf, cap, "%s", out);
}
