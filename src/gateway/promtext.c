/*
 * Prometheus text exposition reader (gateway/promtext.h): one pass over the lines; each
 * sample line is decoded into a fixed per-line buffer (names and unescaped label values,
 * bounded by PROMTEXT_MAX_LINE) and handed to the callback. Values follow Go's float syntax
 * as the format says (NaN, +Inf, -Inf included). Calls: libc only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/promtext.h"

static int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* The state of one line: its bytes [p, end) and the output buffer. */
struct line {
    const char *p, *end;
    char out[PROMTEXT_MAX_LINE];
    size_t used;
};

static int put(struct line *l, char c)
{
    if (l->used >= sizeof l->out)
        return -1;
    l->out[l->used++] = c;
    return 0;
}

static void skip_blank(struct line *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t'))
        l->p++;
}

/* A metric or label name into out; returns its start in out or NULL. */
static const char *read_name(struct line *l, int metric)
{
    if (l->p >= l->end || !name_start(*l->p) || (!metric && *l->p == ':'))
        return NULL;
    size_t start = l->used;
    while (l->p < l->end && name_char(*l->p) && (metric || *l->p != ':'))
        if (put(l, *l->p++))
            return NULL;
    if (put(l, '\0'))
        return NULL;
    return l->out + start;
}

/* A quoted label value ("..." with \\ \" \n escapes) into out. */
static const char *read_value(struct line *l)
{
    if (l->p >= l->end || *l->p != '"')
        return NULL;
    l->p++;
    size_t start = l->used;
    while (l->p < l->end && *l->p != '"') {
        char c = *l->p++;
        if (c == '\\') {
            if (l->p >= l->end)
                return NULL;
            c = *l->p++;
            if (c == 'n')
                c = '\n';
            else if (c != '\\' && c != '"')
                return NULL;
        } else if (c == '\n') {
            return NULL;
        }
        if (put(l, c))
            return NULL;
    }
    if (l->p >= l->end)
        return NULL;
    l->p++; /* closing quote */
    if (put(l, '\0'))
        return NULL;
    return l->out + start;
}

/* A Go float: decimal, NaN, +Inf, -Inf, Inf. */
static int read_float(struct line *l, double *v)
{
    char tmp[64];
    size_t n = 0;
    while (l->p < l->end && *l->p != ' ' && *l->p != '\t' && n + 1 < sizeof tmp)
        tmp[n++] = *l->p++;
    tmp[n] = '\0';
    if (n == 0 || (l->p < l->end && *l->p != ' ' && *l->p != '\t'))
        return -1;
    if (strcmp(tmp, "NaN") == 0) {
        *v = NAN;
        return 0;
    }
    if (strcmp(tmp, "+Inf") == 0 || strcmp(tmp, "Inf") == 0) {
        *v = INFINITY;
        return 0;
    }
    if (strcmp(tmp, "-Inf") == 0) {
        *v = -INFINITY;
        return 0;
    }
    for (size_t i = 0; i < n; i++) /* strtod would also take "nan", "0x1p3", "infinity" */
        if (!strchr("0123456789+-.eE", tmp[i]))
            return -1;
    char *e = NULL;
    *v = strtod(tmp, &e);
    return (e && *e == '\0') ? 0 : -1;
}

static const char *parse_sample(struct line *l, const char **name, struct promtext_label *labels,
                                size_t *n, double *value)
{
    *n = 0;
    if (!(*name = read_name(l, 1)))
        return "bad metric name";
    if (l->p < l->end && *l->p == '{') {
        l->p++;
        for (;;) {
            skip_blank(l);
            if (l->p < l->end && *l->p == '}') {
                l->p++;
                break;
            }
            if (*n >= PROMTEXT_MAX_LABELS)
                return "too many labels";
            const char *ln = read_name(l, 0);
            if (!ln)
                return "bad label name";
            skip_blank(l);
            if (l->p >= l->end || *l->p != '=')
                return "'=' expected after a label name";
            l->p++;
            skip_blank(l);
            const char *lv = read_value(l);
            if (!lv)
                return "bad label value";
            labels[*n].name = ln;
            labels[*n].value = lv;
            (*n)++;
            skip_blank(l);
            if (l->p < l->end && *l->p == ',') {
                l->p++;
                continue;
            }
            if (l->p < l->end && *l->p == '}') {
                l->p++;
                break;
            }
            return "',' or '}' expected in the label set";
        }
    }
    if (l->p >= l->end || (*l->p != ' ' && *l->p != '\t'))
        return "a blank and a value expected";
    skip_blank(l);
    if (read_float(l, value))
        return "bad sample value";
    skip_blank(l);
    if (l->p < l->end) { /* optional timestamp (int64 ms) */
        if (*l->p == '-' || *l->p == '+')
            l->p++;
        const char *d = l->p;
        while (l->p < l->end && *l->p >= '0' && *l->p <= '9')
            l->p++;
        if (l->p == d || l->p - d > 19)
            return "bad timestamp";
        skip_blank(l);
        if (l->p < l->end)
            return "unexpected text after the sample";
    }
    return NULL;
}

mmsp_err promtext_parse(const char *text, size_t len, promtext_fn fn, void *ctx, char *err,
                        size_t errlen)
{
    struct line *l = malloc(sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return MMSP_E_NOMEM;
    }
    mmsp_err rc = MMSP_OK;
    size_t lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        l->p = p;
        l->end = le;
        if (l->end > l->p && l->end[-1] == '\r')
            l->end--;
        l->used = 0;
        p = nl ? nl + 1 : end;
        skip_blank(l);
        if (l->p >= l->end || *l->p == '#')
            continue;
        const char *name;
        struct promtext_label labels[PROMTEXT_MAX_LABELS];
        size_t n;
        double v;
        const char *why = parse_sample(l, &name, labels, &n, &v);
        if (why) {
            snprintf(err, errlen, "metrics text line %zu: %s", lineno, why);
            rc = MMSP_E_PARSE;
            break;
        }
        if (fn(ctx, name, labels, n, v))
            break;
    }
    free(l);
    return rc;
}

const char *promtext_label(const struct promtext_label *labels, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i].name, name) == 0)
            return labels[i].value;
    return NULL;
}
