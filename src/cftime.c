/* cftime.c - CF time (include/recur/h5series.h): "<unit> since <date>" units decoded to seconds
 * since 1970-01-01 in the proleptic Gregorian calendar, civil dates of an epoch, ISO 8601
 * formatting. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <recur/h5series.h>

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant, "chrono-compatible low-level
 * date algorithms", days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse (civil_from_days of the same source). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

#define CIVIL_MAX_YEAR 99999

bool recur_time_civil(double epoch, recur_civil_t *out)
{
    /* 10^5 years of seconds: far inside int64 and exact days in double. */
    if (!isfinite(epoch) || fabs(epoch) > 3.2e12)
        return false;
    const double days = floor(epoch / 86400.0);
    int64_t y;
    unsigned m, d;
    civil_from_days((int64_t)days, &y, &m, &d);
    if (y < -CIVIL_MAX_YEAR || y > CIVIL_MAX_YEAR)
        return false;
    out->year = (long)y;
    out->month = (int)m;
    out->day = (int)d;
    out->yday = (int)((int64_t)days - days_from_civil(y, 1, 1));
    out->year_days = is_leap(y) ? 366 : 365;
    out->sec = epoch - days * 86400.0;
    if (out->sec < 0)
        out->sec = 0;
    if (out->sec >= 86400.0)
        out->sec = 86400.0 - 1e-6;
    return true;
}

void recur_time_format(double epoch, bool date_only, char *buf, size_t size)
{
    recur_civil_t c;
    if (!recur_time_civil(epoch, &c)) {
        snprintf(buf, size, "NA");
        return;
    }
    if (date_only) {
        snprintf(buf, size, "%04ld-%02d-%02d", c.year, c.month, c.day);
        return;
    }
    long s = lround(c.sec);
    if (s >= 86400)
        s = 86399;
    snprintf(buf, size, "%04ld-%02d-%02dT%02ld:%02ld:%02ldZ", c.year, c.month, c.day, s / 3600,
             s / 60 % 60, s % 60);
}

/* Reads an unsigned decimal of 1..maxd digits at *p; false when there is none. */
static bool read_uint(const char **p, int maxd, long *out)
{
    long v = 0;
    int n = 0;
    while (isdigit((unsigned char)**p) && n < maxd) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n > 0 && !isdigit((unsigned char)**p);
}

static bool word_is(const char *w, size_t n, const char *const *names)
{
    for (; *names; names++)
        if (strlen(*names) == n && strncasecmp(w, *names, n) == 0)
            return true;
    return false;
}

int recur_time_units_parse(const char *units, double *unit_seconds, double *origin)
{
    static const char *const sec[] = {"seconds", "second", "secs", "sec", "s", NULL};
    static const char *const min[] = {"minutes", "minute", "mins", "min", NULL};
    static const char *const hour[] = {"hours", "hour", "hrs", "hr", "h", NULL};
    static const char *const day[] = {"days", "day", "d", NULL};
    static const char *const week[] = {"weeks", "week", NULL};
    if (!units)
        return RECUR_EINVAL;
    const char *p = units;
    while (isspace((unsigned char)*p))
        p++;
    const char *w = p;
    while (isalpha((unsigned char)*p))
        p++;
    const size_t wn = (size_t)(p - w);
    double us;
    if (word_is(w, wn, sec))
        us = 1;
    else if (word_is(w, wn, min))
        us = 60;
    else if (word_is(w, wn, hour))
        us = 3600;
    else if (word_is(w, wn, day))
        us = 86400;
    else if (word_is(w, wn, week))
        us = 604800;
    else
        return RECUR_EINVAL;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "since", 5) != 0 || !isspace((unsigned char)p[5]))
        return RECUR_EINVAL;
    p += 5;
    while (isspace((unsigned char)*p))
        p++;
    /* date: [-]Y{1,5}-M{1,2}-D{1,2} */
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    long y, mo, d, hh = 0, mi = 0;
    double ss = 0;
    if (!read_uint(&p, 5, &y) || *p++ != '-' || !read_uint(&p, 2, &mo) || *p++ != '-' ||
        !read_uint(&p, 2, &d))
        return RECUR_EINVAL;
    if (neg)
        y = -y;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned long)d > month_days(y, (unsigned)mo))
        return RECUR_EINVAL;
    /* optional time of day */
    if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
        p++;
        while (*p == ' ')
            p++;
        if (!read_uint(&p, 2, &hh) || *p++ != ':' || !read_uint(&p, 2, &mi))
            return RECUR_EINVAL;
        if (*p == ':') {
            p++;
            char *end;
            if (!isdigit((unsigned char)*p))
                return RECUR_EINVAL;
            errno = 0;
            ss = strtod(p, &end);
            if (errno || end == p || !(ss >= 0 && ss < 61))
                return RECUR_EINVAL;
            p = end;
        }
        if (hh > 24 || mi > 59)
            return RECUR_EINVAL;
    }
    /* optional zone: Z, UTC, GMT, +hh[:mm], -hh[:mm], +hhmm */
    while (*p == ' ')
        p++;
    double zone = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (strncasecmp(p, "UTC", 3) == 0 || strncasecmp(p, "GMT", 3) == 0) {
        p += 3;
    } else if (*p == '+' || *p == '-') {
        const int sign = *p == '-' ? -1 : 1;
        p++;
        long zh, zm = 0;
        const char *q = p;
        while (isdigit((unsigned char)*q))
            q++;
        if (q - p == 4) {
            if (!read_uint(&p, 4, &zh))
                return RECUR_EINVAL;
            zm = zh % 100;
            zh /= 100;
        } else {
            if (!read_uint(&p, 2, &zh))
                return RECUR_EINVAL;
            if (*p == ':') {
                p++;
                if (!read_uint(&p, 2, &zm))
                    return RECUR_EINVAL;
            }
        }
        if (zh > 14 || zm > 59)
            return RECUR_EINVAL;
        zone = sign * (double)(zh * 3600 + zm * 60);
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        return RECUR_EINVAL;
    const int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *unit_seconds = us;
    *origin = (double)days * 86400.0 + (double)(hh * 3600 + mi * 60) + ss - zone;
    return 0;
}
