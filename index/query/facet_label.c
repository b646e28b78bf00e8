/*
 * facet_label.c: the labels of facet buckets: dates (milliseconds since the epoch, as
 * index/schema stores them) back to ISO 8601, calendar buckets, and doubles in their
 * shortest form that reads back to the same value.
 *
 * Calendar arithmetic is Howard Hinnant's civil_from_days (proleptic Gregorian, any year);
 * a month bucket is keyed year * 12 + (month - 1) and a year bucket by the year, so that
 * buckets sort by time as integers and need no conversion back to days.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

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

int qry_format_double(double v, char *buf, size_t cap)
{
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    return n;
}
