/*
 * The drift baseline: a small RFC 4180 CSV reader (header row, quoted fields with "" escapes,
 * CRLF or LF, empty field = null), the per-feature summary of the training data (quantile bin
 * edges as numpy's default linear quantiles, reference bin fractions, mean, std, min, max, null
 * rate, a seeded reservoir sample for KS; value frequencies for string columns) and its JSON
 * form, written and parsed with jansson. Calls: common (jansson).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drift/drift.h"

#define MAX_COLS 4096
#define MAX_FILE (1u << 30)

void drift_table_free(struct drift_table *t)
{
    if (!t)
        return;
    for (size_t c = 0; c < t->ncols; c++) {
        if (t->cells && t->cells[c]) {
            for (size_t r = 0; r < t->nrows; r++)
                free(t->cells[c][r]);
            free(t->cells[c]);
        }
        if (t->names)
            free(t->names[c]);
    }
    free(t->cells);
    free(t->names);
    memset(t, 0, sizeof *t);
}

/* One field starting at *p; returns malloc'd text (NULL for an empty unquoted field) and sets
 * *end_of_row. -1 on a malformed field or no memory. */
static int read_field(const char **p, const char *end, char **out, int *end_of_row, char *err,
                      size_t errlen)
{
    const char *s = *p;
    *out = NULL;
    if (s < end && *s == '"') {
        s++;
        size_t cap = 16, len = 0;
        char *v = malloc(cap);
        if (!v)
            return snprintf(err, errlen, "out of memory"), -1;
        for (;;) {
            if (s >= end) {
                free(v);
                snprintf(err, errlen, "unterminated quoted field");
                return -1;
            }
            char c = *s++;
            if (c == '"') {
                if (s < end && *s == '"')
                    s++;
                else
                    break;
            }
            if (len + 2 > cap) {
                cap *= 2;
                char *nv = realloc(v, cap);
                if (!nv) {
                    free(v);
                    return snprintf(err, errlen, "out of memory"), -1;
                }
                v = nv;
            }
            v[len++] = c;
        }
        v[len] = '\0';
        *out = v;
        if (s < end && *s == '\r')
            s++;
        if (s < end && *s != ',' && *s != '\n') {
            free(v);
            *out = NULL;
            snprintf(err, errlen, "text after a closing quote");
            return -1;
        }
    } else {
        const char *b = s;
        while (s < end && *s != ',' && *s != '\n')
            s++;
        const char *e = s;
        if (e > b && e[-1] == '\r')
            e--;
        if (e > b) {
            /* not strndup: the input need not be NUL-terminated */
            *out = malloc((size_t)(e - b) + 1);
            if (!*out)
                return snprintf(err, errlen, "out of memory"), -1;
            memcpy(*out, b, (size_t)(e - b));
            (*out)[e - b] = '\0';
        }
    }
    *end_of_row = s >= end || *s == '\n';
    if (s < end)
        s++;
    *p = s;
    return 0;
}

mmsp_err drift_csv_parse(const char *text, size_t len, struct drift_table *t, char *err,
                         size_t errlen)
{
    memset(t, 0, sizeof *t);
    const char *p = text, *end = text + len;
    mmsp_err rc = MMSP_E_INVALID;
    size_t cap = 0, line = 1;
    if (len == 0) {
        snprintf(err, errlen, "empty file (a header row is needed)");
        goto out;
    }
    /* header */
    for (int eor = 0; !eor;) {
        char *f;
        if (read_field(&p, end, &f, &eor, err, errlen))
            goto out;
        if (!f || !*f) {
            free(f);
            snprintf(err, errlen, "header: column %zu has no name", t->ncols + 1);
            goto out;
        }
        if (t->ncols >= MAX_COLS) {
            free(f);
            snprintf(err, errlen, "header: more than %d columns", MAX_COLS);
            goto out;
        }
        char **nn = realloc(t->names, (t->ncols + 1) * sizeof *nn);
        if (!nn) {
            free(f);
            rc = MMSP_E_NOMEM;
            goto out;
        }
        t->names = nn;
        t->names[t->ncols++] = f;
    }
    t->cells = calloc(t->ncols, sizeof *t->cells);
    if (!t->cells) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    while (p < end) {
        line++;
        if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) { /* blank line */
            p += *p == '\n' ? 1 : 2;
            continue;
        }
        if (t->nrows == cap) {
            size_t nc = cap ? cap * 2 : 256;
            for (size_t c = 0; c < t->ncols; c++) {
                char **v = realloc(t->cells[c], nc * sizeof *v);
                if (!v) {
                    rc = MMSP_E_NOMEM;
                    goto out;
                }
                t->cells[c] = v;
            }
            cap = nc;
        }
        size_t col = 0;
        for (int eor = 0; !eor;) {
            char *f;
            if (read_field(&p, end, &f, &eor, err, errlen)) {
                size_t n = strlen(err);
                snprintf(err + n, errlen > n ? errlen - n : 0, " (line %zu)", line);
                for (size_t c = 0; c < col; c++)
                    free(t->cells[c][t->nrows]);
                goto out;
            }
            if (col >= t->ncols) {
                free(f);
                for (size_t c = 0; c < col; c++)
                    free(t->cells[c][t->nrows]);
                snprintf(err, errlen, "line %zu: more fields than the header's %zu", line,
                         t->ncols);
                goto out;
            }
            t->cells[col++][t->nrows] = f;
        }
        if (col != t->ncols) {
            for (size_t c = 0; c < col; c++)
                free(t->cells[c][t->nrows]);
            snprintf(err, errlen, "line %zu: %zu fields, the header has %zu", line, col, t->ncols);
            goto out;
        }
        t->nrows++;
    }
    rc = MMSP_OK;
out:
    if (rc)
        drift_table_free(t);
    return rc;
}

static mmsp_err read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return MMSP_E_IO;
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    mmsp_err rc = MMSP_E_NOMEM;
    if (!b)
        goto out;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE) {
                snprintf(err, errlen, "%s: larger than 1 GiB", path);
                rc = MMSP_E_INVALID;
                goto out;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb)
                goto out;
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = MMSP_E_IO;
        goto out;
    }
    *out = b;
    *len = n;
    b = NULL;
    rc = MMSP_OK;
out:
    free(b);
    fclose(f);
    return rc;
}

mmsp_err drift_csv_read(const char *path, struct drift_table *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    mmsp_err rc = read_file(path, &text, &len, err, errlen);
    if (rc)
        return rc;
    rc = drift_csv_parse(text, len, out, err, errlen);
    free(text);
    return rc;
}

static int parse_num(const char *s, double *v)
{
    char *e = NULL;
    errno = 0;
    *v = strtod(s, &e);
    while (e && (*e == ' ' || *e == '\t'))
        e++;
    return e != s && e && *e == '\0' && !isnan(*v) ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t drift_bin_of(const double *edges, size_t nedges, double x)
{
    size_t lo = 0, hi = nedges; /* count of edges <= x */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (edges[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static mmsp_err build_numeric(struct drift_feature *f, const double *v, size_t n, size_t nulls,
                              const struct drift_baseline_options *o, int bins, size_t ssize,
                              uint64_t seed)
{
    f->count = n;
    f->null_rate = n + nulls ? (double)nulls / (double)(n + nulls) : 0;
    if (n == 0) {
        f->mean = f->std = f->min = f->max = NAN;
        f->ref = calloc(1, sizeof *f->ref);
        return f->ref ? MMSP_OK : MMSP_E_NOMEM;
    }
    (void)o;
    /* reservoir sample (algorithm R) in input order, then sorted */
    size_t k = n < ssize ? n : ssize;
    f->sample = malloc(k * sizeof *f->sample);
    double *sorted = malloc(n * sizeof *sorted);
    f->edges = malloc((size_t)(bins > 1 ? bins - 1 : 1) * sizeof *f->edges);
    f->ref = calloc((size_t)bins, sizeof *f->ref);
    if (!f->sample || !sorted || !f->edges || !f->ref) {
        free(sorted);
        return MMSP_E_NOMEM;
    }
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        if (i < k)
            f->sample[i] = v[i];
        else {
            uint64_t j = splitmix(&st) % (uint64_t)(i + 1);
            if (j < k)
                f->sample[j] = v[i];
        }
    }
    f->nsample = k;
    qsort(f->sample, k, sizeof *f->sample, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    f->mean = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - f->mean) * (v[i] - f->mean);
    f->std = sqrt(ss / (double)n);
    memcpy(sorted, v, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    f->min = sorted[0];
    f->max = sorted[n - 1];
    /* inner quantile edges q = i/bins, numpy 'linear'; duplicates dropped */
    f->nedges = 0;
    for (int i = 1; i < bins; i++) {
        double pos = (double)(n - 1) * ((double)i / (double)bins);
        size_t lo = (size_t)floor(pos);
        double frac = pos - (double)lo;
        double q = lo + 1 < n ? sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac : sorted[lo];
        if (f->nedges == 0 || q > f->edges[f->nedges - 1])
            f->edges[f->nedges++] = q;
    }
    for (size_t i = 0; i < n; i++)
        f->ref[drift_bin_of(f->edges, f->nedges, v[i])] += 1;
    for (size_t i = 0; i <= f->nedges; i++)
        f->ref[i] /= (double)n;
    free(sorted);
    return MMSP_OK;
}

static mmsp_err build_categorical(struct drift_feature *f, char *const *cells, size_t rows)
{
    f->categorical = 1;
    size_t n = 0, nulls = 0;
    char **vals = malloc((rows ? rows : 1) * sizeof *vals);
    if (!vals)
        return MMSP_E_NOMEM;
    for (size_t r = 0; r < rows; r++) {
        if (cells[r])
            vals[n++] = cells[r];
        else
            nulls++;
    }
    f->count = n;
    f->null_rate = rows ? (double)nulls / (double)rows : 0;
    f->mean = f->std = f->min = f->max = NAN;
    qsort(vals, n, sizeof *vals, cmp_str);
    mmsp_err rc = MMSP_E_NOMEM;
    f->cats = calloc(n ? n : 1, sizeof *f->cats);
    f->cat_freq = calloc(n ? n : 1, sizeof *f->cat_freq);
    if (!f->cats || !f->cat_freq)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (f->ncats == 0 || strcmp(f->cats[f->ncats - 1], vals[i]) != 0) {
            if (!(f->cats[f->ncats] = strdup(vals[i])))
                goto out;
            f->ncats++;
        }
        f->cat_freq[f->ncats - 1] += 1.0;
    }
    for (size_t i = 0; i < f->ncats; i++)
        f->cat_freq[i] /= (double)n;
    rc = MMSP_OK;
out:
    free(vals);
    return rc;
}

mmsp_err drift_baseline_build(const struct drift_table *t, const struct drift_baseline_options *o,
                              struct drift_baseline *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    int bins = o && o->bins > 0 ? o->bins : 10;
    size_t ssize = o && o->sample > 0 ? o->sample : 5000;
    uint64_t seed = o && o->seed ? o->seed : 42;
    mmsp_err rc = MMSP_E_NOMEM;
    double *v = NULL;
    if (bins > 1000) {
        snprintf(err, errlen, "--bins must be 2..1000");
        return MMSP_E_INVALID;
    }
    b->bins = bins;
    b->rows = t->nrows;
    b->source = strdup(o && o->label ? o->label : "");
    b->features = calloc(t->ncols ? t->ncols : 1, sizeof *b->features);
    v = malloc((t->nrows ? t->nrows : 1) * sizeof *v);
    if (!b->source || !b->features || !v)
        goto out;
    for (size_t c = 0; c < t->ncols; c++) {
        struct drift_feature *f = &b->features[c];
        b->nfeatures = c + 1;
        if (!(f->name = strdup(t->names[c])))
            goto out;
        size_t n = 0, nulls = 0;
        int numeric = 1;
        for (size_t r = 0; r < t->nrows && numeric; r++) {
            const char *s = t->cells[c][r];
            if (!s)
                nulls++;
            else if (parse_num(s, &v[n]) == 0)
                n++;
            else
                numeric = 0;
        }
        rc = numeric ? build_numeric(f, v, n, nulls, o, bins, ssize, seed + c)
                     : build_categorical(f, t->cells[c], t->nrows);
        if (rc)
            goto out;
    }
    rc = MMSP_OK;
out:
    free(v);
    if (rc) {
        if (rc == MMSP_E_NOMEM)
            snprintf(err, errlen, "out of memory");
        drift_baseline_free(b);
    }
    return rc;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

mmsp_err drift_baseline_from_file(const char *path, const struct drift_baseline_options *o,
                                  struct drift_baseline *out, char *err, size_t errlen)
{
    struct drift_table t;
    mmsp_err rc = has_suffix(path, ".parquet") ? drift_parquet_read(path, &t, err, errlen)
                                               : drift_csv_read(path, &t, err, errlen);
    if (rc)
        return rc;
    struct drift_baseline_options oo = o ? *o : (struct drift_baseline_options){0};
    if (!oo.label)
        oo.label = path;
    rc = drift_baseline_build(&t, &oo, out, err, errlen);
    drift_table_free(&t);
    return rc;
}

void drift_baseline_free(struct drift_baseline *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nfeatures; i++) {
        struct drift_feature *f = &b->features[i];
        free(f->name);
        free(f->edges);
        free(f->ref);
        free(f->sample);
        for (size_t c = 0; c < f->ncats; c++)
            free(f->cats[c]);
        free(f->cats);
        free(f->cat_freq);
    }
    free(b->features);
    free(b->source);
    memset(b, 0, sizeof *b);
}

/* ---- JSON ---- */

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jarr(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, jnum(v[i]));
    return a;
}

mmsp_err drift_baseline_to_json(const struct drift_baseline *b, char **out, char *err,
                                size_t errlen)
{
    json_t *root = json_object(), *feats = json_array();
    mmsp_err rc = MMSP_E_NOMEM;
    if (!root || !feats) {
        json_decref(feats);
        goto out;
    }
    json_object_set_new(root, "format", json_string("mmsp-drift-baseline/1"));
    json_object_set_new(root, "source", json_string(b->source ? b->source : ""));
    json_object_set_new(root, "rows", json_integer((json_int_t)b->rows));
    json_object_set_new(root, "bins", json_integer(b->bins));
    json_object_set_new(root, "features", feats);
    for (size_t i = 0; i < b->nfeatures; i++) {
        const struct drift_feature *f = &b->features[i];
        json_t *o = json_object();
        if (!o)
            goto out;
        json_array_append_new(feats, o);
        json_object_set_new(o, "name", json_string(f->name));
        json_object_set_new(o, "type", json_string(f->categorical ? "categorical" : "numeric"));
        json_object_set_new(o, "count", json_integer((json_int_t)f->count));
        json_object_set_new(o, "null_rate", jnum(f->null_rate));
        if (f->categorical) {
            json_t *fr = json_object();
            for (size_t c = 0; fr && c < f->ncats; c++)
                json_object_set_new(fr, f->cats[c], json_real(f->cat_freq[c]));
            json_object_set_new(o, "frequencies", fr);
            continue;
        }
        json_object_set_new(o, "mean", jnum(f->mean));
        json_object_set_new(o, "std", jnum(f->std));
        json_object_set_new(o, "min", jnum(f->min));
        json_object_set_new(o, "max", jnum(f->max));
        json_object_set_new(o, "edges", jarr(f->edges, f->nedges));
        json_object_set_new(o, "reference", jarr(f->ref, f->count ? f->nedges + 1 : 0));
        json_object_set_new(o, "sample", jarr(f->sample, f->nsample));
    }
    *out = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    rc = *out ? MMSP_OK : MMSP_E_NOMEM;
out:
    if (rc)
        snprintf(err, errlen, "out of memory");
    json_decref(root);
    return rc;
}

/* Reads a JSON array of numbers (null = NAN) into a malloc'd array. */
static int get_arr(json_t *a, double **out, size_t *n, int allow_null)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(a))
        return -1;
    size_t len = json_array_size(a);
    *out = malloc((len ? len : 1) * sizeof **out);
    if (!*out)
        return -1;
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(a, i);
        if (json_is_number(v))
            (*out)[i] = json_number_value(v);
        else if (allow_null && json_is_null(v))
            (*out)[i] = NAN;
        else
            return -1;
    }
    *n = len;
    return 0;
}

static double get_num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

mmsp_err drift_baseline_parse(const char *text, size_t len, struct drift_baseline *b, char *err,
                              size_t errlen)
{
    memset(b, 0, sizeof *b);
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    mmsp_err rc = MMSP_E_INVALID;
    if (!root) {
        snprintf(err, errlen, "baseline: invalid JSON at line %d: %s", je.line, je.text);
        return MMSP_E_INVALID;
    }
    json_t *feats = json_object_get(root, "features");
    if (!json_is_object(root) || !json_is_array(feats) || json_array_size(feats) == 0 ||
        json_array_size(feats) > MAX_COLS) {
        snprintf(err, errlen, "baseline: \"features\" must be a non-empty array");
        goto out;
    }
    json_t *rows = json_object_get(root, "rows"), *bins = json_object_get(root, "bins");
    b->rows = json_is_integer(rows) && json_integer_value(rows) > 0
                  ? (uint64_t)json_integer_value(rows)
                  : 0;
    b->bins =
        json_is_integer(bins) && json_integer_value(bins) > 0 && json_integer_value(bins) <= 1000
            ? (int)json_integer_value(bins)
            : 10;
    json_t *src = json_object_get(root, "source");
    b->source = strdup(json_is_string(src) ? json_string_value(src) : "");
    b->features = calloc(json_array_size(feats), sizeof *b->features);
    if (!b->source || !b->features) {
        rc = MMSP_E_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(feats); i++) {
        json_t *o = json_array_get(feats, i);
        struct drift_feature *f = &b->features[i];
        b->nfeatures = i + 1;
        json_t *name = json_object_get(o, "name"), *type = json_object_get(o, "type");
        if (!json_is_string(name) || !json_is_string(type)) {
            snprintf(err, errlen, "baseline: feature %zu needs a \"name\" and a \"type\"", i);
            goto out;
        }
        if (!(f->name = strdup(json_string_value(name)))) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        json_t *cnt = json_object_get(o, "count");
        f->count = json_is_integer(cnt) && json_integer_value(cnt) > 0
                       ? (uint64_t)json_integer_value(cnt)
                       : 0;
        f->null_rate = get_num(o, "null_rate");
        f->mean = get_num(o, "mean");
        f->std = get_num(o, "std");
        f->min = get_num(o, "min");
        f->max = get_num(o, "max");
        if (strcmp(json_string_value(type), "categorical") == 0) {
            f->categorical = 1;
            json_t *fr = json_object_get(o, "frequencies");
            if (!json_is_object(fr)) {
                snprintf(err, errlen, "baseline: feature %s: \"frequencies\" must be an object",
                         f->name);
                goto out;
            }
            size_t n = json_object_size(fr);
            f->cats = calloc(n ? n : 1, sizeof *f->cats);
            f->cat_freq = calloc(n ? n : 1, sizeof *f->cat_freq);
            if (!f->cats || !f->cat_freq) {
                rc = MMSP_E_NOMEM;
                goto out;
            }
            const char *k;
            json_t *v;
            json_object_foreach(fr, k, v)
            {
                if (!json_is_number(v)) {
                    snprintf(err, errlen, "baseline: feature %s: frequencies must be numbers",
                             f->name);
                    goto out;
                }
                if (!(f->cats[f->ncats] = strdup(k))) {
                    rc = MMSP_E_NOMEM;
                    goto out;
                }
                f->cat_freq[f->ncats++] = json_number_value(v);
            }
            continue;
        }
        if (strcmp(json_string_value(type), "numeric") != 0) {
            snprintf(err, errlen, "baseline: feature %s: unknown type", f->name);
            goto out;
        }
        size_t nref = 0;
        if (get_arr(json_object_get(o, "edges"), &f->edges, &f->nedges, 0) ||
            get_arr(json_object_get(o, "reference"), &f->ref, &nref, 0) ||
            get_arr(json_object_get(o, "sample"), &f->sample, &f->nsample, 0)) {
            snprintf(err, errlen,
                     "baseline: feature %s: \"edges\", \"reference\" and \"sample\" must be "
                     "arrays of numbers",
                     f->name);
            goto out;
        }
        for (size_t e = 1; e < f->nedges; e++)
            if (!(f->edges[e] > f->edges[e - 1])) {
                snprintf(err, errlen, "baseline: feature %s: edges must be ascending", f->name);
                goto out;
            }
        if (nref != f->nedges + 1 && !(nref == 0 && f->count == 0)) {
            snprintf(err, errlen, "baseline: feature %s: %zu reference fractions for %zu bins",
                     f->name, nref, f->nedges + 1);
            goto out;
        }
        for (size_t r = 0; r < nref; r++)
            if (!(f->ref[r] >= 0 && f->ref[r] <= 1)) {
                snprintf(err, errlen, "baseline: feature %s: fractions must be in [0, 1]", f->name);
                goto out;
            }
        if (nref == 0) {
            free(f->ref);
            if (!(f->ref = calloc(1, sizeof *f->ref))) {
                rc = MMSP_E_NOMEM;
                goto out;
            }
        }
        for (size_t s = 0; s < f->nsample; s++)
            if (!isfinite(f->sample[s])) {
                snprintf(err, errlen, "baseline: feature %s: sample values must be finite",
                         f->name);
                goto out;
            }
        qsort(f->sample, f->nsample, sizeof *f->sample, cmp_double);
    }
    rc = MMSP_OK;
out:
    json_decref(root);
    if (rc)
        drift_baseline_free(b);
    return rc;
}

mmsp_err drift_baseline_load(const char *path, struct drift_baseline *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    mmsp_err rc = read_file(path, &text, &len, err, errlen);
    if (rc)
        return rc;
    rc = drift_baseline_parse(text, len, out, err, errlen);
    free(text);
    return rc;
}

mmsp_err drift_baseline_save(const struct drift_baseline *b, const char *path, char *err,
                             size_t errlen)
{
    char *text = NULL;
    mmsp_err rc = drift_baseline_to_json(b, &text, err, errlen);
    if (rc)
        return rc;
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(text);
        return MMSP_E_IO;
    }
    int bad = fputs(text, f) < 0 || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    free(text);
    if (bad) {
        snprintf(err, errlen, "%s: write failed", path);
        return MMSP_E_IO;
    }
    return MMSP_OK;
}
