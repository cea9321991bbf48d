/*
 * Values, tables, durations and timestamps of the feature store: the in-memory form of
 * offline data (a row-major table of typed cells), conversions from text, and the dispatch
 * of table files to the CSV or Parquet code by extension.
 * Calls: features/csv.c, features/parquet_io.c, common.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "features/features.h"

const char *feat_type_name(enum feat_type t)
{
    switch (t) {
    case FEAT_STRING:
        return "string";
    case FEAT_INT64:
        return "int64";
    case FEAT_FLOAT:
        return "float";
    case FEAT_DOUBLE:
        return "double";
    case FEAT_BOOL:
        return "bool";
    case FEAT_TIMESTAMP:
        return "timestamp";
    }
    return "?";
}

int feat_type_parse(const char *s, enum feat_type *out)
{
    static const struct {
        const char *name;
        enum feat_type t;
    } names[] = {{"string", FEAT_STRING}, {"int64", FEAT_INT64},        {"int32", FEAT_INT64},
                 {"int", FEAT_INT64},     {"float", FEAT_FLOAT},        {"float32", FEAT_FLOAT},
                 {"double", FEAT_DOUBLE}, {"float64", FEAT_DOUBLE},     {"bool", FEAT_BOOL},
                 {"boolean", FEAT_BOOL},  {"timestamp", FEAT_TIMESTAMP}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].t;
            return 1;
        }
    return 0;
}

int feat_parse_duration_ms(const char *s, int64_t *out)
{
    if (!s || !*s)
        return 0;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return 0;
    double mul = 1000;
    if (strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "s") == 0 || *end == 0)
        mul = 1000;
    else if (strcmp(end, "m") == 0)
        mul = 60e3;
    else if (strcmp(end, "h") == 0)
        mul = 3600e3;
    else if (strcmp(end, "d") == 0)
        mul = 86400e3;
    else if (strcmp(end, "w") == 0)
        mul = 7 * 86400e3;
    else
        return 0;
    double ms = v * mul;
    if (ms > 9.2e18)
        return 0;
    *out = (int64_t)llround(ms);
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return 0;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

int feat_parse_time_ms(const char *s, int64_t *out)
{
    if (!s)
        return 0;
    while (*s == ' ')
        s++;
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (strlen(s) >= 10 && s[4] == '-' && digits(&p, 4, &y) && *p++ == '-' && digits(&p, 2, &mo) &&
        *p++ == '-' && digits(&p, 2, &d)) {
        if (mo < 1 || mo > 12 || d < 1 || d > 31)
            return 0;
        int64_t ms = 0;
        if (*p == 'T' || *p == 't' || *p == ' ') {
            p++;
            if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
                return 0;
            if (*p == ':') {
                p++;
                if (!digits(&p, 2, &se))
                    return 0;
            }
            if (*p == '.') {
                p++;
                int n = 0;
                int64_t frac = 0;
                while (*p >= '0' && *p <= '9') {
                    if (n < 3) {
                        frac = frac * 10 + (*p - '0');
                        n++;
                    }
                    p++;
                }
                if (n == 0)
                    return 0;
                while (n < 3) {
                    frac *= 10;
                    n++;
                }
                ms = frac;
            }
            if (h > 23 || mi > 59 || se > 60)
                return 0;
        }
        int64_t off_min = 0;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            p++;
            int oh, om = 0;
            if (!digits(&p, 2, &oh))
                return 0;
            if (*p == ':')
                p++;
            if (*p >= '0' && *p <= '9' && !digits(&p, 2, &om))
                return 0;
            off_min = sign * (oh * 60 + om);
        } else if (strncmp(p, " UTC", 4) == 0) {
            p += 4;
        }
        while (*p == ' ')
            p++;
        if (*p)
            return 0;
        int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
        *out = ((days * 86400 + h * 3600 + mi * 60 + se) - off_min * 60) * 1000 + ms;
        return 1;
    }
    /* Unix seconds (an integer or a decimal). */
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || fabs(v) > 9.2e15)
        return 0;
    while (*end == ' ')
        end++;
    if (*end)
        return 0;
    *out = (int64_t)llround(v * 1000);
    return 1;
}

void feat_format_time(int64_t ms, char out[40])
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t rem = ms - secs * 1000;
    int64_t z = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - z * 86400;
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (rem)
        snprintf(out, 40, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)rem);
    else
        snprintf(out, 40, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60));
}

/* --- tables ------------------------------------------------------------------------------- */

void feat_table_init(struct feat_table *t)
{
    memset(t, 0, sizeof *t);
}

mmsp_err feat_table_set_columns(struct feat_table *t, size_t n, const char *const *names,
                                const enum feat_type *types)
{
    if (t->n_cols || t->n_rows)
        return MMSP_E_INVALID;
    t->names = calloc(n ? n : 1, sizeof *t->names);
    t->types = calloc(n ? n : 1, sizeof *t->types);
    if (!t->names || !t->types)
        return MMSP_E_NOMEM;
    t->n_cols = n;
    for (size_t i = 0; i < n; i++) {
        t->names[i] = strdup(names[i]);
        if (!t->names[i])
            return MMSP_E_NOMEM;
        t->types[i] = types ? types[i] : FEAT_STRING;
    }
    return MMSP_OK;
}

mmsp_err feat_value_copy(struct feat_value *dst, const struct feat_value *src)
{
    *dst = *src;
    if (!src->null && src->type == FEAT_STRING && src->s) {
        dst->s = strdup(src->s);
        if (!dst->s) {
            dst->null = 1;
            return MMSP_E_NOMEM;
        }
    } else if (src->type == FEAT_STRING && src->null) {
        dst->s = NULL;
    }
    return MMSP_OK;
}

void feat_value_clear(struct feat_value *v)
{
    free(v->s);
    v->s = NULL;
    v->null = 1;
}

mmsp_err feat_table_append(struct feat_table *t, const struct feat_value *row)
{
    if (t->n_rows == t->cap_rows) {
        if (t->n_rows >= FEAT_MAX_ROWS)
            return MMSP_E_TOO_LARGE;
        size_t cap = t->cap_rows ? t->cap_rows * 2 : 64;
        struct feat_value *c = realloc(t->cells, cap * (t->n_cols ? t->n_cols : 1) * sizeof *c);
        if (!c)
            return MMSP_E_NOMEM;
        t->cells = c;
        t->cap_rows = cap;
    }
    struct feat_value *dst = &t->cells[t->n_rows * t->n_cols];
    for (size_t c = 0; c < t->n_cols; c++) {
        mmsp_err rc = feat_value_copy(&dst[c], &row[c]);
        if (rc) {
            for (size_t k = 0; k < c; k++)
                feat_value_clear(&dst[k]);
            return rc;
        }
    }
    t->n_rows++;
    return MMSP_OK;
}

void feat_table_free(struct feat_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->cells && i < t->n_rows * t->n_cols; i++)
        free(t->cells[i].s);
    for (size_t i = 0; t->names && i < t->n_cols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->types);
    free(t->cells);
    feat_table_init(t);
}

int feat_table_col(const struct feat_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Converts one value in place; 0 when it does not convert. */
static int cast_value(struct feat_value *v, enum feat_type to)
{
    if (v->null) {
        free(v->s);
        v->s = NULL;
        v->type = (uint8_t)to;
        return 1;
    }
    enum feat_type from = v->type;
    if (from == to)
        return 1;
    if (from == FEAT_STRING) {
        char *s = v->s;
        int ok = 1;
        if (!s || !*s) {
            v->null = 1;
        } else if (to == FEAT_INT64) {
            errno = 0;
            char *end;
            long long x = strtoll(s, &end, 10);
            if (errno || *end) {
                double dv = strtod(s, &end);
                if (*end || !isfinite(dv) || dv != floor(dv) || fabs(dv) > 9e18)
                    ok = 0;
                else
                    x = (long long)dv;
            }
            v->i = x;
        } else if (to == FEAT_FLOAT || to == FEAT_DOUBLE) {
            errno = 0;
            char *end;
            v->d = strtod(s, &end);
            if (*end)
                ok = 0;
            if (to == FEAT_FLOAT)
                v->d = (float)v->d;
        } else if (to == FEAT_BOOL) {
            if (!strcasecmp(s, "true") || !strcmp(s, "1"))
                v->i = 1;
            else if (!strcasecmp(s, "false") || !strcmp(s, "0"))
                v->i = 0;
            else
                ok = 0;
        } else if (to == FEAT_TIMESTAMP) {
            ok = feat_parse_time_ms(s, &v->i);
        }
        if (!ok)
            return 0;
        free(s);
        v->s = NULL;
        v->type = (uint8_t)to;
        return 1;
    }
    if (to == FEAT_STRING) {
        char tmp[64];
        feat_value_text(v, tmp, sizeof tmp);
        v->s = strdup(tmp);
        if (!v->s)
            return 0;
        v->type = FEAT_STRING;
        return 1;
    }
    /* numeric to numeric */
    double dv = (from == FEAT_FLOAT || from == FEAT_DOUBLE) ? v->d : (double)v->i;
    if (to == FEAT_FLOAT || to == FEAT_DOUBLE) {
        v->d = to == FEAT_FLOAT ? (float)dv : dv;
    } else if (to == FEAT_BOOL) {
        v->i = dv != 0;
    } else if (to == FEAT_INT64) {
        if (from == FEAT_FLOAT || from == FEAT_DOUBLE) {
            if (!isfinite(dv) || dv != floor(dv) || fabs(dv) > 9e18)
                return 0;
            v->i = (int64_t)dv;
        }
    } else if (to == FEAT_TIMESTAMP) {
        if (from == FEAT_FLOAT || from == FEAT_DOUBLE)
            v->i = (int64_t)llround(dv * 1000);
        else if (from == FEAT_INT64)
            v->i = v->i * 1000; /* integers are Unix seconds */
    }
    v->type = (uint8_t)to;
    return 1;
}

mmsp_err feat_table_cast(struct feat_table *t, size_t col, enum feat_type type, char *err,
                         size_t errlen)
{
    if (col >= t->n_cols)
        return MMSP_E_INVALID;
    for (size_t r = 0; r < t->n_rows; r++) {
        struct feat_value *v = feat_table_cell(t, r, col);
        char show[64] = "";
        if (!v->null && v->type == FEAT_STRING && v->s)
            snprintf(show, sizeof show, "%.60s", v->s);
        if (!cast_value(v, type)) {
            snprintf(err, errlen, "column %s row %zu: '%s' is not a %s", t->names[col], r + 1, show,
                     feat_type_name(type));
            return MMSP_E_PARSE;
        }
    }
    t->types[col] = type;
    return MMSP_OK;
}

void feat_value_text(const struct feat_value *v, char *out, size_t outlen)
{
    if (!outlen)
        return;
    out[0] = 0;
    if (v->null)
        return;
    switch ((enum feat_type)v->type) {
    case FEAT_STRING:
        snprintf(out, outlen, "%s", v->s ? v->s : "");
        break;
    case FEAT_INT64:
        snprintf(out, outlen, "%lld", (long long)v->i);
        break;
    case FEAT_BOOL:
        snprintf(out, outlen, "%s", v->i ? "true" : "false");
        break;
    case FEAT_FLOAT:
    case FEAT_DOUBLE: {
        /* the shortest text that reads back as the same value */
        for (int prec = v->type == FEAT_FLOAT ? 6 : 15; prec <= 17; prec++) {
            snprintf(out, outlen, "%.*g", prec, v->d);
            double back = strtod(out, NULL);
            if (v->type == FEAT_FLOAT ? (float)back == (float)v->d : back == v->d)
                break;
        }
        break;
    }
    case FEAT_TIMESTAMP: {
        char tmp[40];
        feat_format_time(v->i, tmp);
        snprintf(out, outlen, "%s", tmp);
        break;
    }
    }
}

mmsp_err feat_entity_key(const struct feat_value *vals, size_t n, char *out, size_t outlen)
{
    size_t used = 0;
    if (outlen)
        out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char tmp[512];
        if (vals[i].null)
            return MMSP_E_INVALID;
        feat_value_text(&vals[i], tmp, sizeof tmp);
        int w = snprintf(out + used, outlen - used, "%s%s", i ? "|" : "", tmp);
        if (w < 0 || (size_t)w >= outlen - used)
            return MMSP_E_TOO_LARGE;
        used += (size_t)w;
    }
    return MMSP_OK;
}

static int has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n >= e && strcasecmp(path + n - e, ext) == 0;
}

mmsp_err feat_table_read(const char *path, struct feat_table *out, char *err, size_t errlen)
{
    if (has_ext(path, ".parquet"))
        return feat_parquet_read(path, out, err, errlen);
    return feat_csv_read(path, out, err, errlen);
}

mmsp_err feat_table_write(const char *path, const struct feat_table *t, char *err, size_t errlen)
{
    if (has_ext(path, ".parquet"))
        return feat_parquet_write(path, t, err, errlen);
    return feat_csv_write(path, t, err, errlen);
}
