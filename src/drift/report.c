/*
 * The batch drift report: scans the gateway's prediction logs (DIR/predictions-*.jsonl, one
 * JSON object per line with "time" and "inputs": [[row], ...]) with a purpose-built line
 * scanner (only "time" and "inputs" are read; a malformed line is skipped and counted), in
 * parallel over byte ranges of the memory-mapped files, and accumulates per feature the counts
 * in the baseline's quantile bins (PSI, JS distance) and the counts between and at the distinct
 * values of the baseline's reservoir sample, from which the exact two-sample KS statistic
 * against that sample follows without sorting the logged values. Also the JSON form of the
 * report. Calls: drift/stats, jansson, pthreads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "drift/drift.h"
#include "parquet/parquet.h"

#define MAX_FILES   100000
#define MAX_THREADS 16

/* Per-feature view of the baseline for binning. */
struct fview {
    int numeric;
    size_t nedges, nuniq;
    size_t ncats; /* categorical: the baseline's values; bins are ncats + 1 ("other" last) */
    const double *edges;
    double *uniq;      /* distinct sample values, ascending */
    uint64_t *ref_cum; /* ref_cum[k] = sample values <= uniq[k] */
    /* guide table: first[g] = first k with guide(uniq[k]) >= g, for g in 0..GUIDE */
    uint32_t *first;
    double scale;
};

#define GUIDE 8192

/* Monotone in x for uniq[0] <= x <= uniq[last]. */
static inline size_t guide_of(const struct fview *v, double x)
{
    size_t g = (size_t)((x - v->uniq[0]) * v->scale);
    return g < GUIDE ? g : GUIDE - 1;
}

/* Per-thread accumulators. */
struct acc {
    uint64_t *bins; /* per feature nedges + 1 */
    uint64_t *lt;   /* per feature nuniq + 1: values in (uniq[k-1], uniq[k]) */
    uint64_t *eq;   /* per feature nuniq: values == uniq[k] */
    uint64_t *count, *nulls;
    double *sum;
    uint64_t rows, skipped;
};

struct job {
    const struct drift_baseline *b;
    const struct fview *fv;
    size_t *bin_off, *uniq_off;
    int64_t since_ms;
    const char *start, *end;
    struct acc acc;
    double *row;                                       /* scratch: nfeatures */
    const char (*colnames)[DRIFT_COLUMN_NAME_MAX + 1]; /* the Parquet log's feature columns */
};

/* ---- number and time parsing ---- */

static const double pow10tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parses a JSON number at p (< end); returns the end or NULL. Correctly rounded: Clinger's
 * fast path, else strtod on a bounded copy. */
static const char *parse_number(const char *p, const char *end, double *out)
{
    const char *s = p;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    uint64_t m = 0;
    int digits = 0, exp10 = 0;
    const char *d0 = p;
    while (p < end && *p >= '0' && *p <= '9') {
        if (digits < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            if (m)
                digits++;
        } else
            exp10++;
        p++;
    }
    if (p == d0)
        return NULL;
    if (p < end && *p == '.') {
        p++;
        const char *f0 = p;
        while (p < end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                if (m)
                    digits++;
                exp10--;
            }
            p++;
        }
        if (p == f0)
            return NULL;
    }
    int slow = digits >= 19;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0, e = 0;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        const char *e0 = p;
        while (p < end && *p >= '0' && *p <= '9') {
            if (e < 100000)
                e = e * 10 + (*p - '0');
            p++;
        }
        if (p == e0)
            return NULL;
        exp10 += eneg ? -e : e;
    }
    if (!slow && m <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 < 0 ? v / pow10tab[-exp10] : v * pow10tab[exp10];
        *out = neg ? -v : v;
        return p;
    }
    char tmp[128];
    size_t n = (size_t)(p - s);
    if (n >= sizeof tmp) {
        *out = NAN; /* absurdly long: treated as null */
        return p;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    return p;
}

static int dig(const char *p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        *v = *v * 10 + (p[i] - '0');
    }
    return 0;
}

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> Unix ms; -1 when malformed. */
static int64_t parse_time(const char *p, const char *end)
{
    int y, mo, d, h, mi, s;
    if (end - p < 20 || dig(p, 4, &y) || p[4] != '-' || dig(p + 5, 2, &mo) || p[7] != '-' ||
        dig(p + 8, 2, &d) || (p[10] != 'T' && p[10] != ' ') || dig(p + 11, 2, &h) || p[13] != ':' ||
        dig(p + 14, 2, &mi) || p[16] != ':' || dig(p + 17, 2, &s))
        return -1;
    int64_t ms = 0;
    const char *q = p + 19;
    if (q < end && *q == '.') {
        q++;
        int n = 0;
        while (q < end && *q >= '0' && *q <= '9') {
            if (n < 3)
                ms = ms * 10 + (*q - '0');
            n++;
            q++;
        }
        for (; n < 3; n++)
            ms *= 10;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000 + ms;
}

/* Finds "key": within [p, end) at the object's top level is overkill for our own logs: the
 * writer puts the keys in a fixed order and escapes every quote inside strings, so a plain
 * search for the quoted key followed by ':' is exact. */
static const char *find_key(const char *p, const char *end, const char *key, size_t klen)
{
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q || (size_t)(end - q) < klen + 3)
            return NULL;
        if (memcmp(q + 1, key, klen) == 0 && q[klen + 1] == '"' && q[klen + 2] == ':')
            return q + klen + 3;
        p = q + 1;
    }
    return NULL;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* ---- accumulation ---- */

static inline void observe(struct job *j, size_t f, double x)
{
    struct acc *a = &j->acc;
    const struct fview *v = &j->fv[f];
    if (!v->numeric)
        return;
    if (isnan(x)) {
        a->nulls[f]++;
        return;
    }
    a->count[f]++;
    a->sum[f] += x;
    size_t b = 0;
    for (size_t e = 0; e < v->nedges; e++)
        b += v->edges[e] <= x;
    a->bins[j->bin_off[f] + b]++;
    if (v->nuniq) {
        /* lower bound (first uniq >= x) through the guide table, then a short scan */
        const double *u = v->uniq;
        size_t lo;
        if (x <= u[0])
            lo = 0;
        else if (x > u[v->nuniq - 1])
            lo = v->nuniq;
        else {
            lo = v->first[guide_of(v, x)];
            while (u[lo] < x)
                lo++;
        }
        if (lo < v->nuniq && u[lo] == x)
            a->eq[j->uniq_off[f] + lo]++;
        else
            a->lt[j->uniq_off[f] + lo]++;
    }
}

/* A string value of feature f: categorical features count it in its category's bin (or the
 * last bin, "other", for a value the baseline never saw); NULL is a null. Numeric features
 * ignore strings. */
static void observe_cat(struct job *j, size_t f, const char *s, size_t len)
{
    const struct fview *v = &j->fv[f];
    if (v->numeric)
        return;
    struct acc *a = &j->acc;
    if (!s) {
        a->nulls[f]++;
        return;
    }
    const struct drift_feature *df = &j->b->features[f];
    size_t k = 0;
    while (k < v->ncats && (strlen(df->cats[k]) != len || memcmp(df->cats[k], s, len) != 0))
        k++;
    a->count[f]++;
    a->bins[j->bin_off[f] + k]++;
}

/* A line with a "features" object ({"name": value, ...}: strings for categorical features,
 * numbers or null): one row; baseline features absent from the object count as nulls, other
 * names are ignored. Parsed with jansson: such lines are not the gateway's hot path. Returns
 * 0 when used, 1 when skipped. */
static int scan_features_object(struct job *j, const char *p, const char *end)
{
    json_t *doc = json_loadb(p, (size_t)(end - p), 0, NULL);
    json_t *o = json_object_get(doc, "features");
    int rc = 1;
    if (!json_is_object(o))
        goto out;
    for (size_t f = 0; f < j->b->nfeatures; f++) {
        json_t *v = json_object_get(o, j->b->features[f].name);
        if (json_is_string(v))
            observe_cat(j, f, json_string_value(v), json_string_length(v));
        else if (json_is_number(v))
            observe(j, f, json_number_value(v));
        else if (j->fv[f].numeric)
            observe(j, f, NAN);
        else
            observe_cat(j, f, NULL, 0);
    }
    j->acc.rows++;
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

/* One line: returns 0 when it was used, 1 when skipped. */
static int scan_line(struct job *j, const char *p, const char *end)
{
    size_t nf = j->b->nfeatures;
    if (j->since_ms > 0) {
        const char *t = find_key(p, end, "time", 4);
        if (!t)
            return 1;
        t = skip_ws(t, end);
        if (t >= end || *t != '"')
            return 1;
        int64_t ms = parse_time(t + 1, end);
        if (ms < 0)
            return 1;
        if (ms < j->since_ms)
            return 0;
    }
    const char *q = find_key(p, end, "inputs", 6);
    if (q)
        q = skip_ws(q, end);
    if (!q || (q < end && *q == 'n')) {
        /* no inputs: a "features" object, else nothing to compare (null inputs: an error) */
        if (find_key(p, end, "features", 8))
            return scan_features_object(j, p, end);
        return q ? 0 : 1;
    }
    if (q >= end || *q != '[')
        return 1;
    q = skip_ws(q + 1, end);
    if (q < end && *q == ']')
        return 0;
    for (;;) {
        if (q >= end || *q != '[')
            return 1;
        q++;
        size_t c = 0;
        for (;;) {
            q = skip_ws(q, end);
            double v;
            if (q < end && *q == 'n') {
                if (end - q < 4 || memcmp(q, "null", 4) != 0)
                    return 1;
                v = NAN;
                q += 4;
            } else {
                q = parse_number(q, end, &v);
                if (!q)
                    return 1;
            }
            if (c < nf)
                j->row[c] = v;
            c++;
            q = skip_ws(q, end);
            if (q < end && *q == ',') {
                q++;
                continue;
            }
            if (q < end && *q == ']') {
                q++;
                break;
            }
            return 1;
        }
        if (c != nf)
            return 1;
        for (size_t f = 0; f < nf; f++)
            observe(j, f, j->row[f]);
        j->acc.rows++;
        q = skip_ws(q, end);
        if (q < end && *q == ',') {
            q = skip_ws(q + 1, end);
            continue;
        }
        if (q < end && *q == ']')
            return 0;
        return 1;
    }
}

static void *scan_range(void *arg)
{
    struct job *j = arg;
    const char *p = j->start;
    while (p < j->end) {
        const char *nl = memchr(p, '\n', (size_t)(j->end - p));
        const char *le = nl ? nl : j->end;
        if (le > p && scan_line(j, p, le))
            j->acc.skipped++;
        p = le + 1;
    }
    return NULL;
}

/* Values of column c as doubles (NaN for nulls); 0 when the type is not numeric. */
static int column_value(const struct parquet_column *c, size_t i, double *v)
{
    if (parquet_column_is_null(c, i)) {
        *v = NAN;
        return 1;
    }
    switch (c->type) {
    case PARQUET_DOUBLE:
        *v = ((const double *)c->values)[i];
        return 1;
    case PARQUET_FLOAT:
        *v = ((const float *)c->values)[i];
        return 1;
    case PARQUET_INT32:
        *v = ((const int32_t *)c->values)[i];
        return 1;
    case PARQUET_INT64:
        *v = (double)((const int64_t *)c->values)[i];
        return 1;
    case PARQUET_BOOL:
        *v = ((const uint8_t *)c->values)[i];
        return 1;
    default:
        return 0;
    }
}

/* A Parquet prediction log (predlog_parquet.c): baseline feature f is the column the log
 * names it (drift_log_feature_columns over the baseline's names: the name itself unless it
 * clashes with a column of the log or repeats), else the column "f<f>" (a log of a model
 * without feature names: by position). Rows with every feature null
 * (no inputs) are passed over; rows before since_ms (column "time") too. A file that cannot
 * be read, or lacks a feature, counts as one skipped line. Returns 1 when the file was read. */
static int scan_parquet(struct job *j, const char *path)
{
    size_t nf = j->b->nfeatures;
    struct parquet_reader *r = NULL;
    char err[MMSP_ERRMSG_MAX];
    int ok = 0;
    struct parquet_column *cols = calloc(nf + 1, sizeof *cols), tcol;
    size_t *idx = calloc(nf + 1, sizeof *idx);
    parquet_column_init(&tcol, PARQUET_TIMESTAMP_MS);
    for (size_t f = 0; cols && f < nf; f++)
        parquet_column_init(&cols[f], PARQUET_DOUBLE);
    if (!cols || !idx || parquet_open(path, &r, err, sizeof err))
        goto out;
    for (size_t f = 0; f < nf; f++) {
        int i = parquet_reader_column_index(r, j->colnames[f]);
        if (i < 0) {
            char name[32];
            snprintf(name, sizeof name, "f%zu", f);
            i = parquet_reader_column_index(r, name);
        }
        if (i < 0)
            goto out;
        idx[f] = (size_t)i;
    }
    int tidx = parquet_reader_column_index(r, "time");
    if (j->since_ms > 0 &&
        (tidx < 0 || parquet_reader_schema(r)->fields[tidx].type != PARQUET_TIMESTAMP_MS))
        goto out;
    for (size_t rg = 0; rg < parquet_reader_row_groups(r); rg++) {
        for (size_t f = 0; f < nf; f++) {
            parquet_column_free(&cols[f]);
            if (parquet_read_column(r, rg, idx[f], &cols[f], err, sizeof err))
                goto out;
        }
        parquet_column_free(&tcol);
        if (j->since_ms > 0 && parquet_read_column(r, rg, (size_t)tidx, &tcol, err, sizeof err))
            goto out;
        size_t rows = (size_t)parquet_reader_row_group_rows(r, rg);
        for (size_t f = 0; f < nf; f++)
            if (cols[f].rows != rows)
                goto out;
        if (j->since_ms > 0 && tcol.rows != rows)
            goto out;
        for (size_t i = 0; i < rows; i++) {
            if (j->since_ms > 0 && !parquet_column_is_null(&tcol, i) &&
                ((const int64_t *)tcol.values)[i] < j->since_ms)
                continue;
            size_t present = 0;
            for (size_t f = 0; f < nf; f++) {
                if (cols[f].type == PARQUET_STRING) { /* categorical values, as text */
                    if (j->fv[f].numeric)
                        goto out; /* text for a numeric feature: not comparable */
                    present += !parquet_column_is_null(&cols[f], i);
                    j->row[f] = NAN;
                    continue;
                }
                if (!column_value(&cols[f], i, &j->row[f]))
                    goto out;
                present += !isnan(j->row[f]);
            }
            if (nf && !present)
                continue;
            for (size_t f = 0; f < nf; f++) {
                if (cols[f].type != PARQUET_STRING)
                    observe(j, f, j->row[f]);
                else if (parquet_column_is_null(&cols[f], i))
                    observe_cat(j, f, NULL, 0);
                else
                    observe_cat(j, f, (const char *)cols[f].data + cols[f].offsets[i],
                                (size_t)(cols[f].offsets[i + 1] - cols[f].offsets[i]));
            }
            j->acc.rows++;
        }
    }
    ok = 1;
out:
    if (!ok)
        j->acc.skipped++;
    for (size_t f = 0; cols && f < nf; f++)
        parquet_column_free(&cols[f]);
    parquet_column_free(&tcol);
    free(cols);
    free(idx);
    parquet_close(r);
    return ok;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted list of DIR/predictions-*.jsonl and predictions-*.parquet names. */
static mmsp_err list_logs(const char *dir, char ***out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return errno == ENOENT ? MMSP_E_NOT_FOUND : MMSP_E_IO;
    }
    struct dirent *e;
    size_t cap = 0;
    mmsp_err rc = MMSP_OK;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "predictions-", 12) != 0 || l < 18 ||
            (strcmp(e->d_name + l - 6, ".jsonl") != 0 &&
             (l < 20 || strcmp(e->d_name + l - 8, ".parquet") != 0)))
            continue;
        if (*n >= MAX_FILES)
            break;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(*out, cap * sizeof *nv);
            if (!nv) {
                rc = MMSP_E_NOMEM;
                break;
            }
            *out = nv;
        }
        if (!((*out)[*n] = strdup(e->d_name))) {
            rc = MMSP_E_NOMEM;
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (rc)
        snprintf(err, errlen, "out of memory");
    else if (*n)
        qsort(*out, *n, sizeof **out, cmp_name);
    return rc;
}

/* Builds the distinct sample values and their cumulative reference counts. */
static mmsp_err build_views(const struct drift_baseline *b, struct fview *fv)
{
    for (size_t f = 0; f < b->nfeatures; f++) {
        const struct drift_feature *df = &b->features[f];
        fv[f].numeric = !df->categorical;
        fv[f].edges = df->edges;
        fv[f].nedges = df->categorical ? 0 : df->nedges;
        fv[f].ncats = df->categorical ? df->ncats : 0;
        if (df->categorical || df->nsample == 0)
            continue;
        fv[f].uniq = malloc(df->nsample * sizeof(double));
        fv[f].ref_cum = malloc(df->nsample * sizeof(uint64_t));
        if (!fv[f].uniq || !fv[f].ref_cum)
            return MMSP_E_NOMEM;
        size_t u = 0;
        for (size_t i = 0; i < df->nsample; i++) {
            if (u == 0 || df->sample[i] != fv[f].uniq[u - 1])
                fv[f].uniq[u++] = df->sample[i];
            fv[f].ref_cum[u - 1] = i + 1;
        }
        fv[f].nuniq = u;
        fv[f].first = malloc((GUIDE + 1) * sizeof(uint32_t));
        if (!fv[f].first)
            return MMSP_E_NOMEM;
        double range = fv[f].uniq[u - 1] - fv[f].uniq[0];
        fv[f].scale = range > 0 && isfinite(range) ? (double)GUIDE / range : 0;
        size_t k = 0;
        for (size_t g = 0; g <= GUIDE; g++) {
            while (k < u && guide_of(&fv[f], fv[f].uniq[k]) < g)
                k++;
            fv[f].first[g] = (uint32_t)k;
        }
    }
    return MMSP_OK;
}

static void free_views(struct fview *fv, size_t n)
{
    for (size_t f = 0; fv && f < n; f++) {
        free(fv[f].uniq);
        free(fv[f].ref_cum);
        free(fv[f].first);
    }
    free(fv);
}

static mmsp_err acc_init(struct acc *a, size_t nf, size_t nbins, size_t nuniq)
{
    memset(a, 0, sizeof *a);
    a->bins = calloc(nbins + 1, sizeof *a->bins);
    a->lt = calloc(nuniq + 1, sizeof *a->lt);
    a->eq = calloc(nuniq + 1, sizeof *a->eq);
    a->count = calloc(nf, sizeof *a->count);
    a->nulls = calloc(nf, sizeof *a->nulls);
    a->sum = calloc(nf, sizeof *a->sum);
    return a->bins && a->lt && a->eq && a->count && a->nulls && a->sum ? MMSP_OK : MMSP_E_NOMEM;
}

static void acc_free(struct acc *a)
{
    free(a->bins);
    free(a->lt);
    free(a->eq);
    free(a->count);
    free(a->nulls);
    free(a->sum);
}

/* Fills r->features from accumulated counts. */
static mmsp_err finish(const struct drift_baseline *b, const struct fview *fv,
                       const size_t *bin_off, const size_t *uniq_off, const struct acc *a,
                       struct drift_report *r)
{
    size_t nf = b->nfeatures, ndrift = 0, nnum = 0;
    r->nfeatures = nf;
    r->features = calloc(nf ? nf : 1, sizeof *r->features);
    if (!r->features)
        return MMSP_E_NOMEM;
    r->status = DRIFT_HEALTHY;
    for (size_t f = 0; f < nf; f++) {
        const struct drift_feature *df = &b->features[f];
        struct drift_feature_result *fr = &r->features[f];
        fr->name = df->name;
        fr->numeric = fv[f].numeric;
        fr->count = a->count[f];
        fr->nulls = a->nulls[f];
        fr->psi = fr->js = fr->ks_d = fr->ks_p = fr->mean = NAN;
        if (!fr->numeric && fr->count && fv[f].ncats) {
            /* category frequencies, the "other" bin last (0 in the baseline) */
            size_t nb = fv[f].ncats + 1;
            double *ref = calloc(nb, sizeof *ref), *cur = malloc(nb * sizeof *cur);
            if (!ref || !cur) {
                free(ref);
                free(cur);
                return MMSP_E_NOMEM;
            }
            for (size_t i = 0; i < nb; i++) {
                ref[i] = i < fv[f].ncats ? df->cat_freq[i] : 0;
                cur[i] = (double)a->bins[bin_off[f] + i] / (double)fr->count;
            }
            fr->psi = drift_psi(ref, cur, nb);
            fr->js = drift_js_distance(ref, cur, nb);
            free(ref);
            free(cur);
            fr->status = drift_status_of(fr->psi);
            fr->drifted = fr->psi >= DRIFT_PSI_CRITICAL;
            if (fr->status > r->status)
                r->status = fr->status;
            nnum++;
            ndrift += fr->drifted != 0;
            continue;
        }
        if (!fr->numeric || fr->count == 0 || df->count == 0)
            continue;
        fr->mean = a->sum[f] / (double)fr->count;
        size_t nb = fv[f].nedges + 1;
        double *cur = malloc(nb * sizeof *cur);
        if (!cur)
            return MMSP_E_NOMEM;
        for (size_t i = 0; i < nb; i++)
            cur[i] = (double)a->bins[bin_off[f] + i] / (double)fr->count;
        fr->psi = drift_psi(df->ref, cur, nb);
        fr->js = drift_js_distance(df->ref, cur, nb);
        free(cur);
        if (fv[f].nuniq) {
            double n = (double)df->nsample, m = (double)fr->count, d = 0;
            uint64_t c = 0, rprev = 0;
            const uint64_t *lt = a->lt + uniq_off[f], *eq = a->eq + uniq_off[f];
            for (size_t k = 0; k < fv[f].nuniq; k++) {
                c += lt[k];
                double x = fabs((double)rprev / n - (double)c / m);
                if (x > d)
                    d = x;
                c += eq[k];
                rprev = fv[f].ref_cum[k];
                x = fabs((double)rprev / n - (double)c / m);
                if (x > d)
                    d = x;
            }
            fr->ks_d = d;
            fr->ks_p = drift_ks_pvalue(df->nsample, fr->count, d, 0, &fr->ks_d, &fr->ks_exact);
            fr->ks_d = d;
        }
        fr->status = drift_status_of(fr->psi);
        fr->drifted = fr->psi >= DRIFT_PSI_CRITICAL || fr->ks_p < DRIFT_KS_ALPHA;
        if (fr->status > r->status)
            r->status = fr->status;
        nnum++;
        ndrift += fr->drifted != 0;
    }
    r->drift_share = nnum ? (double)ndrift / (double)nnum : 0;
    r->dataset_drift = nnum && r->drift_share >= DRIFT_SHARE;
    return MMSP_OK;
}

static void offsets(const struct drift_baseline *b, const struct fview *fv, size_t *bin_off,
                    size_t *uniq_off, size_t *nbins, size_t *nuniq)
{
    *nbins = *nuniq = 0;
    for (size_t f = 0; f < b->nfeatures; f++) {
        bin_off[f] = *nbins;
        *nbins += fv[f].numeric ? fv[f].nedges + 1 : fv[f].ncats + 1;
        uniq_off[f] = *nuniq;
        *nuniq += fv[f].nuniq + 1;
    }
}

struct mapped {
    char *p;
    size_t len;
};

mmsp_err drift_report_logs(const struct drift_baseline *b, const char *dir,
                           const struct drift_report_options *o, struct drift_report *r, char *err,
                           size_t errlen)
{
    memset(r, 0, sizeof *r);
    size_t nf = b->nfeatures, nfiles = 0, nbins, nuniq, nmaps = 0;
    int nthreads = o && o->threads > 0 ? o->threads : 2;
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    char **names = NULL;
    struct mapped *maps = NULL;
    struct job *jobs = NULL;
    struct acc total;
    memset(&total, 0, sizeof total);
    size_t *bin_off = calloc(nf + 1, sizeof *bin_off), *uniq_off = calloc(nf + 1, sizeof *uniq_off);
    struct fview *fv = calloc(nf + 1, sizeof *fv);
    char(*colnames)[DRIFT_COLUMN_NAME_MAX + 1] = calloc(nf + 1, sizeof *colnames);
    const char **bnames = calloc(nf + 1, sizeof *bnames);
    mmsp_err rc = MMSP_E_NOMEM;
    if (!bin_off || !uniq_off || !fv || !colnames || !bnames || build_views(b, fv))
        goto nomem;
    for (size_t f = 0; f < nf; f++)
        bnames[f] = b->features[f].name;
    drift_log_feature_columns(bnames, nf, colnames);
    offsets(b, fv, bin_off, uniq_off, &nbins, &nuniq);
    rc = list_logs(dir, &names, &nfiles, err, errlen);
    if (rc)
        goto out;
    maps = calloc(nfiles + 1, sizeof *maps);
    jobs = calloc((size_t)nthreads, sizeof *jobs);
    if (!maps || !jobs || acc_init(&total, nf, nbins, nuniq))
        goto nomem;
    for (int t = 0; t < nthreads; t++) {
        jobs[t].b = b;
        jobs[t].fv = fv;
        jobs[t].bin_off = bin_off;
        jobs[t].uniq_off = uniq_off;
        jobs[t].since_ms = o ? o->since_ms : 0;
        jobs[t].colnames = (const char(*)[DRIFT_COLUMN_NAME_MAX + 1]) colnames;
        jobs[t].row = calloc(nf + 1, sizeof(double));
        if (!jobs[t].row || acc_init(&jobs[t].acc, nf, nbins, nuniq))
            goto nomem;
    }
    size_t nparquet = 0;
    for (size_t i = 0; i < nfiles; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t l = strlen(names[i]);
        if (l > 8 && strcmp(names[i] + l - 8, ".parquet") == 0) {
            /* one file at a time: the reader decodes whole row groups */
            nparquet += (size_t)scan_parquet(&jobs[0], path);
            continue;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* rotated away meanwhile */
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
            void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p != MAP_FAILED) {
                madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
                maps[nmaps].p = p;
                maps[nmaps++].len = (size_t)st.st_size;
            }
        }
        close(fd);
    }
    r->files = nmaps + nparquet;
    for (size_t i = 0; i < nmaps; i++) {
        /* split the file into nthreads ranges at line boundaries */
        const char *s = maps[i].p, *e = maps[i].p + maps[i].len;
        pthread_t th[MAX_THREADS];
        int started[MAX_THREADS] = {0};
        const char *cur = s;
        for (int t = 0; t < nthreads; t++) {
            const char *stop =
                t == nthreads - 1 ? e : s + maps[i].len / (size_t)nthreads * (size_t)(t + 1);
            if (stop < cur)
                stop = cur;
            if (stop < e) {
                const char *nl = memchr(stop, '\n', (size_t)(e - stop));
                stop = nl ? nl + 1 : e;
            }
            jobs[t].start = cur;
            jobs[t].end = stop;
            cur = stop;
            if (t < nthreads - 1)
                started[t] = pthread_create(&th[t], NULL, scan_range, &jobs[t]) == 0;
            if (!started[t])
                scan_range(&jobs[t]);
        }
        for (int t = 0; t < nthreads; t++)
            if (started[t])
                pthread_join(th[t], NULL);
    }
    for (int t = 0; t < nthreads; t++) {
        struct acc *a = &jobs[t].acc;
        for (size_t k = 0; k < nbins; k++)
            total.bins[k] += a->bins[k];
        for (size_t k = 0; k < nuniq; k++) {
            total.lt[k] += a->lt[k];
            total.eq[k] += a->eq[k];
        }
        for (size_t f = 0; f < nf; f++) {
            total.count[f] += a->count[f];
            total.nulls[f] += a->nulls[f];
            total.sum[f] += a->sum[f];
        }
        total.rows += a->rows;
        total.skipped += a->skipped;
    }
    r->rows = total.rows;
    r->skipped_lines = total.skipped;
    r->since_ms = o ? o->since_ms : 0;
    rc = finish(b, fv, bin_off, uniq_off, &total, r);
    if (rc)
        goto nomem;
    goto out;
nomem:
    rc = MMSP_E_NOMEM;
    snprintf(err, errlen, "out of memory");
out:
    for (size_t i = 0; i < nmaps; i++)
        munmap(maps[i].p, maps[i].len);
    free(maps);
    for (size_t i = 0; i < nfiles; i++)
        free(names[i]);
    free(names);
    for (int t = 0; jobs && t < nthreads; t++) {
        free(jobs[t].row);
        acc_free(&jobs[t].acc);
    }
    free(jobs);
    acc_free(&total);
    free_views(fv, nf);
    free(bin_off);
    free(uniq_off);
    free(colnames);
    free(bnames);
    if (rc)
        drift_report_free(r);
    return rc;
}

mmsp_err drift_report_columns(const struct drift_baseline *b, const double *const *cols,
                              const size_t *n, struct drift_report *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    size_t nf = b->nfeatures, nbins, nuniq;
    struct job j;
    memset(&j, 0, sizeof j);
    size_t *bin_off = calloc(nf + 1, sizeof *bin_off), *uniq_off = calloc(nf + 1, sizeof *uniq_off);
    struct fview *fv = calloc(nf + 1, sizeof *fv);
    mmsp_err rc = MMSP_E_NOMEM;
    if (!bin_off || !uniq_off || !fv || build_views(b, fv))
        goto out;
    offsets(b, fv, bin_off, uniq_off, &nbins, &nuniq);
    j.b = b;
    j.fv = fv;
    j.bin_off = bin_off;
    j.uniq_off = uniq_off;
    if (acc_init(&j.acc, nf, nbins, nuniq))
        goto out;
    size_t rows = 0;
    for (size_t f = 0; f < nf; f++) {
        for (size_t i = 0; i < n[f]; i++)
            observe(&j, f, cols[f][i]);
        if (n[f] > rows)
            rows = n[f];
    }
    r->rows = rows;
    rc = finish(b, fv, bin_off, uniq_off, &j.acc, r);
out:
    if (rc == MMSP_E_NOMEM)
        snprintf(err, errlen, "out of memory");
    acc_free(&j.acc);
    free_views(fv, nf);
    free(bin_off);
    free(uniq_off);
    if (rc)
        drift_report_free(r);
    return rc;
}

mmsp_err drift_report_buffer(const struct drift_baseline *b, const char *text, size_t len,
                             int64_t since_ms, struct drift_report *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    size_t nf = b->nfeatures, nbins, nuniq;
    struct job j;
    memset(&j, 0, sizeof j);
    size_t *bin_off = calloc(nf + 1, sizeof *bin_off), *uniq_off = calloc(nf + 1, sizeof *uniq_off);
    struct fview *fv = calloc(nf + 1, sizeof *fv);
    mmsp_err rc = MMSP_E_NOMEM;
    if (!bin_off || !uniq_off || !fv || build_views(b, fv))
        goto out;
    offsets(b, fv, bin_off, uniq_off, &nbins, &nuniq);
    j.b = b;
    j.fv = fv;
    j.bin_off = bin_off;
    j.uniq_off = uniq_off;
    j.since_ms = since_ms;
    j.start = text;
    j.end = text + len;
    j.row = calloc(nf + 1, sizeof(double));
    if (!j.row || acc_init(&j.acc, nf, nbins, nuniq))
        goto out;
    scan_range(&j);
    r->rows = j.acc.rows;
    r->skipped_lines = j.acc.skipped;
    r->since_ms = since_ms;
    rc = finish(b, fv, bin_off, uniq_off, &j.acc, r);
out:
    if (rc == MMSP_E_NOMEM)
        snprintf(err, errlen, "out of memory");
    free(j.row);
    acc_free(&j.acc);
    free_views(fv, nf);
    free(bin_off);
    free(uniq_off);
    if (rc)
        drift_report_free(r);
    return rc;
}

void drift_report_free(struct drift_report *r)
{
    if (!r)
        return;
    free(r->features);
    memset(r, 0, sizeof *r);
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

mmsp_err drift_report_to_json(const struct drift_report *r, const char *baseline_path,
                              const char *logs_dir, char **out, char *err, size_t errlen)
{
    json_t *root = json_object(), *feats = json_array();
    mmsp_err rc = MMSP_E_NOMEM;
    if (!root || !feats) {
        json_decref(feats);
        goto out;
    }
    char ts[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(root, "generated", json_string(ts));
    json_object_set_new(root, "baseline", json_string(baseline_path ? baseline_path : ""));
    json_object_set_new(root, "logs", json_string(logs_dir ? logs_dir : ""));
    json_object_set_new(root, "since_ms", json_integer(r->since_ms));
    json_object_set_new(root, "files", json_integer((json_int_t)r->files));
    json_object_set_new(root, "rows", json_integer((json_int_t)r->rows));
    json_object_set_new(root, "skipped_lines", json_integer((json_int_t)r->skipped_lines));
    json_object_set_new(root, "status", json_string(drift_status_name(r->status)));
    json_object_set_new(root, "drift_share", json_real(r->drift_share));
    json_object_set_new(root, "dataset_drift", json_boolean(r->dataset_drift));
    json_object_set_new(root, "thresholds",
                        json_pack("{s:f,s:f,s:f,s:f}", "psi_warning", DRIFT_PSI_WARNING,
                                  "psi_critical", DRIFT_PSI_CRITICAL, "ks_alpha", DRIFT_KS_ALPHA,
                                  "drift_share", DRIFT_SHARE));
    json_object_set_new(root, "features", feats);
    for (size_t i = 0; i < r->nfeatures; i++) {
        const struct drift_feature_result *f = &r->features[i];
        json_t *o = json_object();
        if (!o)
            goto out;
        json_array_append_new(feats, o);
        json_object_set_new(o, "name", json_string(f->name));
        json_object_set_new(o, "type", json_string(f->numeric ? "numeric" : "categorical"));
        json_object_set_new(o, "count", json_integer((json_int_t)f->count));
        json_object_set_new(o, "nulls", json_integer((json_int_t)f->nulls));
        json_object_set_new(o, "mean", jnum(f->mean));
        json_object_set_new(o, "psi", jnum(f->psi));
        json_object_set_new(o, "js_distance", jnum(f->js));
        json_object_set_new(o, "ks_statistic", jnum(f->ks_d));
        json_object_set_new(o, "ks_pvalue", jnum(f->ks_p));
        json_object_set_new(o, "ks_method", json_string(f->ks_exact ? "exact" : "asymp"));
        json_object_set_new(
            o, "status",
            json_string(f->count && !isnan(f->psi) ? drift_status_name(f->status) : "no_data"));
        json_object_set_new(o, "drifted", json_boolean(f->drifted));
    }
    *out = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    rc = *out ? MMSP_OK : MMSP_E_NOMEM;
out:
    if (rc)
        snprintf(err, errlen, "out of memory");
    json_decref(root);
    return rc;
}
