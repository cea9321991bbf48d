/*
 * Metrics registry and Prometheus text exposition (format 0.0.4), see metrics.h.
 *
 * A registry is a list of families in registration order behind one mutex; a family holds its
 * series in creation order behind its own mutex. Both locks are taken only to find or create
 * things and to render: the update functions touch nothing but the series' atomics. Counter
 * and gauge values and histogram sums are doubles kept as their 64-bit pattern and updated by
 * compare-and-swap; histogram buckets are non-cumulative atomic counts, summed when rendered,
 * so that le="+Inf" and _count come from the same numbers and always agree.
 * Lock order: registry, then family. Calls: common/buf, libc, pthreads.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

const double metrics_latency_buckets[] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0,
};
const size_t metrics_latency_buckets_count =
    sizeof metrics_latency_buckets / sizeof metrics_latency_buckets[0];

struct metric_series {
    struct metric_family *family;
    char **label_values;       /* owned, family->n_labels of them, already UTF-8 clean */
    uint64_t hash;             /* of label_values, to skip most comparisons on lookup */
    _Atomic uint64_t value;    /* counter / gauge: bit pattern of a double */
    _Atomic uint64_t sum;      /* histogram: bit pattern of a double */
    _Atomic uint64_t counts[]; /* histogram: n_buckets + 1 (the last is +Inf), non-cumulative */
};

struct metric_family {
    char *name;
    char *help;
    enum metric_type type;
    char **label_names; /* owned */
    size_t n_labels;
    double *buckets; /* owned; histograms only */
    size_t n_buckets;
    pthread_mutex_t lock; /* guards series / n_series / cap_series */
    struct metric_series **series;
    size_t n_series;
    size_t cap_series;
};

struct metrics_registry {
    pthread_mutex_t lock; /* guards families / n_families / cap_families */
    struct metric_family **families;
    size_t n_families;
    size_t cap_families;
};

/* ---- doubles in atomics ---- */

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double double_of(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void atomic_add_double(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, bits_of(double_of(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* ---- names ---- */

static int valid_metric_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                 (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

static int valid_label_name(const char *s)
{
    if (!s || !*s || (s[0] == '_' && s[1] == '_'))
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* A copy of s with every byte that is not part of valid UTF-8 replaced by U+FFFD; NULL when
 * out of memory. Exposition must be UTF-8 and label values come from requests. */
static char *utf8_clean_dup(const char *s, size_t n)
{
    char *out = malloc(n * 3 + 1); /* worst case: every byte becomes 3 */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (l) {
            memcpy(out + o, s + i, l);
            o += l;
            i += l;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- registry ---- */

struct metrics_registry *metrics_registry_new(void)
{
    struct metrics_registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

static void series_free(struct metric_series *s, size_t n_labels)
{
    if (!s)
        return;
    if (s->label_values)
        for (size_t i = 0; i < n_labels; i++)
            free(s->label_values[i]);
    free(s->label_values);
    free(s);
}

static void family_free(struct metric_family *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_series; i++)
        series_free(f->series[i], f->n_labels);
    free(f->series);
    if (f->label_names)
        for (size_t i = 0; i < f->n_labels; i++)
            free(f->label_names[i]);
    free(f->label_names);
    free(f->buckets);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void metrics_registry_free(struct metrics_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_families; i++)
        family_free(r->families[i]);
    free(r->families);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Does the family agree with this registration request? */
static int family_matches(const struct metric_family *f, enum metric_type type,
                          const char *const *label_names, size_t n_labels, const double *buckets,
                          size_t n_buckets)
{
    if (f->type != type || f->n_labels != n_labels)
        return 0;
    for (size_t i = 0; i < n_labels; i++)
        if (strcmp(f->label_names[i], label_names[i]) != 0)
            return 0;
    if (type == METRIC_HISTOGRAM) {
        if (f->n_buckets != n_buckets)
            return 0;
        for (size_t i = 0; i < n_buckets; i++)
            if (f->buckets[i] != buckets[i])
                return 0;
    }
    return 1;
}

/* The sample names a family of this name and type writes: name itself, and for histograms
 * name_bucket, name_sum, name_count. Does `other` (a name, with its type) produce a sample
 * name that `name` (with type) also produces? */
static int suffix_of(const char *full, const char *base, const char *suffix)
{
    size_t lb = strlen(base);
    return strncmp(full, base, lb) == 0 && strcmp(full + lb, suffix) == 0;
}

static int names_collide(const char *a, enum metric_type ta, const char *b, enum metric_type tb)
{
    static const char *const hist_suffixes[] = {"_bucket", "_sum", "_count"};
    if (strcmp(a, b) == 0)
        return 1;
    for (size_t i = 0; i < 3; i++) {
        if (ta == METRIC_HISTOGRAM && suffix_of(b, a, hist_suffixes[i]))
            return 1;
        if (tb == METRIC_HISTOGRAM && suffix_of(a, b, hist_suffixes[i]))
            return 1;
    }
    return 0;
}

static int valid_registration(const char *name, const char *help, enum metric_type type,
                              const char *const *label_names, size_t n_labels,
                              const double *buckets, size_t n_buckets)
{
    if (!valid_metric_name(name) || !help || !*help)
        return 0;
    if (type != METRIC_COUNTER && type != METRIC_GAUGE && type != METRIC_HISTOGRAM)
        return 0;
    if (n_labels > METRICS_MAX_LABELS || (n_labels && !label_names))
        return 0;
    for (size_t i = 0; i < n_labels; i++) {
        if (!valid_label_name(label_names[i]))
            return 0;
        if (type == METRIC_HISTOGRAM && strcmp(label_names[i], "le") == 0)
            return 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(label_names[i], label_names[j]) == 0)
                return 0;
    }
    if (type == METRIC_HISTOGRAM) {
        if (n_buckets > METRICS_MAX_BUCKETS || (n_buckets && !buckets))
            return 0;
        for (size_t i = 0; i < n_buckets; i++) {
            if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
                return 0;
        }
    }
    return 1;
}

static struct metric_series *series_new(struct metric_family *f, const char *const *values)
{
    size_t n_counts = f->type == METRIC_HISTOGRAM ? f->n_buckets + 1 : 0;
    struct metric_series *s = calloc(1, sizeof *s + n_counts * sizeof s->counts[0]);
    if (!s)
        return NULL;
    s->family = f;
    atomic_init(&s->value, bits_of(0.0));
    atomic_init(&s->sum, bits_of(0.0));
    for (size_t i = 0; i < n_counts; i++)
        atomic_init(&s->counts[i], 0);
    if (f->n_labels) {
        s->label_values = calloc(f->n_labels, sizeof *s->label_values);
        if (!s->label_values)
            goto fail;
        for (size_t i = 0; i < f->n_labels; i++) {
            s->label_values[i] = utf8_clean_dup(values[i], strlen(values[i]));
            if (!s->label_values[i])
                goto fail;
        }
    }
    return s;
fail:
    series_free(s, f->n_labels);
    return NULL;
}

/* Appends s to f's series (f->lock held). */
static int family_add_series(struct metric_family *f, struct metric_series *s)
{
    if (f->n_series == f->cap_series) {
        size_t cap = f->cap_series ? f->cap_series * 2 : 8;
        struct metric_series **p = realloc(f->series, cap * sizeof *p);
        if (!p)
            return -1;
        f->series = p;
        f->cap_series = cap;
    }
    f->series[f->n_series++] = s;
    return 0;
}

static struct metric_family *family_new(const char *name, const char *help, enum metric_type type,
                                        const char *const *label_names, size_t n_labels,
                                        const double *buckets, size_t n_buckets)
{
    struct metric_family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    if (pthread_mutex_init(&f->lock, NULL) != 0) {
        free(f);
        return NULL;
    }
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help);
    if (!f->name || !f->help)
        goto fail;
    if (n_labels) {
        f->label_names = calloc(n_labels, sizeof *f->label_names);
        if (!f->label_names)
            goto fail;
        f->n_labels = n_labels;
        for (size_t i = 0; i < n_labels; i++)
            if (!(f->label_names[i] = strdup(label_names[i])))
                goto fail;
    }
    if (type == METRIC_HISTOGRAM && n_buckets) {
        f->buckets = malloc(n_buckets * sizeof *f->buckets);
        if (!f->buckets)
            goto fail;
        memcpy(f->buckets, buckets, n_buckets * sizeof *f->buckets);
        f->n_buckets = n_buckets;
    }
    if (n_labels == 0) {
        struct metric_series *s = series_new(f, NULL);
        if (!s || family_add_series(f, s) != 0) {
            series_free(s, 0);
            goto fail;
        }
    }
    return f;
fail:
    family_free(f);
    return NULL;
}

struct metric_family *metrics_family_register(struct metrics_registry *r, const char *name,
                                              const char *help, enum metric_type type,
                                              const char *const *label_names, size_t n_labels,
                                              const double *buckets, size_t n_buckets)
{
    if (!r || !valid_registration(name, help, type, label_names, n_labels, buckets, n_buckets))
        return NULL;
    if (type != METRIC_HISTOGRAM)
        n_buckets = 0;
    struct metric_family *result = NULL;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_families; i++) {
        struct metric_family *f = r->families[i];
        if (strcmp(f->name, name) == 0) {
            if (family_matches(f, type, label_names, n_labels, buckets, n_buckets))
                result = f;
            goto out;
        }
        if (names_collide(f->name, f->type, name, type))
            goto out;
    }
    if (r->n_families == r->cap_families) {
        size_t cap = r->cap_families ? r->cap_families * 2 : 16;
        struct metric_family **p = realloc(r->families, cap * sizeof *p);
        if (!p)
            goto out;
        r->families = p;
        r->cap_families = cap;
    }
    result = family_new(name, help, type, label_names, n_labels, buckets, n_buckets);
    if (result)
        r->families[r->n_families++] = result;
out:
    pthread_mutex_unlock(&r->lock);
    return result;
}

/* FNV-1a over the values, each with its terminating NUL so ("ab","c") != ("a","bc"). */
static uint64_t values_hash(const char *const *values, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        const char *p = values[i];
        do {
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        } while (*p++);
    }
    return h;
}

/* Does s carry exactly these label values (both in their UTF-8-clean form)? */
static int series_has_values(const struct metric_series *s, uint64_t hash, const char *const *clean,
                             size_t n_labels)
{
    if (s->hash != hash)
        return 0;
    for (size_t i = 0; i < n_labels; i++)
        if (strcmp(s->label_values[i], clean[i]) != 0)
            return 0;
    return 1;
}

struct metric_series *metrics_series(struct metric_family *f, const char *const *label_values)
{
    if (!f)
        return NULL;
    if (f->n_labels == 0)
        return f->series[0]; /* created with the family, never removed */
    if (!label_values)
        return NULL;
    char *clean[METRICS_MAX_LABELS] = {0};
    struct metric_series *result = NULL;
    size_t n = f->n_labels;
    for (size_t i = 0; i < n; i++) {
        if (!label_values[i])
            goto out;
        size_t len = strlen(label_values[i]);
        if (len > METRICS_MAX_LABEL_VALUE)
            goto out;
        if (!(clean[i] = utf8_clean_dup(label_values[i], len)))
            goto out;
    }
    uint64_t hash = values_hash((const char *const *)clean, n);
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_series; i++) {
        if (series_has_values(f->series[i], hash, (const char *const *)clean, n)) {
            result = f->series[i];
            goto unlock;
        }
    }
    if (f->n_series >= METRICS_MAX_SERIES)
        goto unlock;
    result = series_new(f, (const char *const *)clean);
    if (result)
        result->hash = hash;
    if (result && family_add_series(f, result) != 0) {
        series_free(result, n);
        result = NULL;
    }
unlock:
    pthread_mutex_unlock(&f->lock);
out:
    for (size_t i = 0; i < n; i++)
        free(clean[i]);
    return result;
}

/* ---- updates ---- */

void metrics_counter_add(struct metric_series *s, double v)
{
    if (!s || s->family->type != METRIC_COUNTER || !(v >= 0))
        return;
    atomic_add_double(&s->value, v);
}

void metrics_gauge_set(struct metric_series *s, double v)
{
    if (!s || s->family->type != METRIC_GAUGE)
        return;
    atomic_store_explicit(&s->value, bits_of(v), memory_order_relaxed);
}

void metrics_gauge_add(struct metric_series *s, double v)
{
    if (!s || s->family->type != METRIC_GAUGE)
        return;
    atomic_add_double(&s->value, v);
}

void metrics_histogram_observe(struct metric_series *s, double v)
{
    if (!s || s->family->type != METRIC_HISTOGRAM || isnan(v))
        return;
    const struct metric_family *f = s->family;
    /* first bucket whose upper bound is >= v (le is inclusive); n_buckets is +Inf */
    size_t lo = 0, hi = f->n_buckets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->buckets[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&s->counts[lo], 1, memory_order_relaxed);
    atomic_add_double(&s->sum, v);
}

static uint64_t histogram_count(struct metric_series *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= s->family->n_buckets; i++)
        n += atomic_load_explicit(&s->counts[i], memory_order_relaxed);
    return n;
}

double metrics_series_value(const struct metric_series *cs)
{
    /* atomic loads want a non-const object (C11 before DR 459); nothing is written */
    struct metric_series *s = (struct metric_series *)cs;
    if (!s)
        return 0;
    if (s->family->type == METRIC_HISTOGRAM)
        return (double)histogram_count(s);
    return double_of(atomic_load_explicit(&s->value, memory_order_relaxed));
}

double metrics_histogram_sum(const struct metric_series *cs)
{
    struct metric_series *s = (struct metric_series *)cs;
    if (!s || s->family->type != METRIC_HISTOGRAM)
        return 0;
    return double_of(atomic_load_explicit(&s->sum, memory_order_relaxed));
}

/* ---- rendering ---- */

/* A double as Prometheus (Go's ParseFloat) reads it: NaN, +Inf, -Inf, or the shortest %g
 * form that round-trips. out has room for 32 bytes. */
static void format_double(char *out, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* Appends s[0..) escaped for a label value (\\, \", \n) or, when help is set, for HELP text
 * (\\, \n). */
static mmsp_err append_escaped(struct buf *b, const char *s, int help)
{
    mmsp_err rc = MMSP_OK;
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *esc = NULL;
        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '\n')
            esc = "\\n";
        else if (*p == '"' && !help)
            esc = "\\\"";
        if (!esc && *p)
            continue;
        if ((rc = buf_append(b, run, (size_t)(p - run))))
            return rc;
        if (!*p)
            return MMSP_OK;
        if ((rc = buf_append_str(b, esc)))
            return rc;
        run = p + 1;
    }
}

/* name{labels[,le="x"]} value\n */
static mmsp_err append_sample(struct buf *b, const struct metric_family *f, const char *suffix,
                              const struct metric_series *s, const char *le, double value)
{
    char num[32];
    mmsp_err rc;
    if ((rc = buf_printf(b, "%s%s", f->name, suffix)))
        return rc;
    if (f->n_labels || le) {
        if ((rc = buf_append_char(b, '{')))
            return rc;
        for (size_t i = 0; i < f->n_labels; i++) {
            if ((rc = buf_printf(b, "%s%s=\"", i ? "," : "", f->label_names[i])) ||
                (rc = append_escaped(b, s->label_values[i], 0)) || (rc = buf_append_char(b, '"')))
                return rc;
        }
        if (le && (rc = buf_printf(b, "%sle=\"%s\"", f->n_labels ? "," : "", le)))
            return rc;
        if ((rc = buf_append_char(b, '}')))
            return rc;
    }
    format_double(num, sizeof num, value);
    return buf_printf(b, " %s\n", num);
}

static mmsp_err render_series(struct buf *b, const struct metric_family *f, struct metric_series *s)
{
    char le[32];
    mmsp_err rc;
    if (f->type != METRIC_HISTOGRAM)
        return append_sample(b, f, "", s, NULL, metrics_series_value(s));
    /* read each bucket once, so le="+Inf" and _count are the same number */
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= f->n_buckets; i++) {
        cumulative += atomic_load_explicit(&s->counts[i], memory_order_relaxed);
        if (i < f->n_buckets)
            format_double(le, sizeof le, f->buckets[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        if ((rc = append_sample(b, f, "_bucket", s, le, (double)cumulative)))
            return rc;
    }
    if ((rc = append_sample(b, f, "_sum", s, NULL, metrics_histogram_sum(s))))
        return rc;
    return append_sample(b, f, "_count", s, NULL, (double)cumulative);
}

static mmsp_err render_family(struct buf *b, struct metric_family *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    mmsp_err rc;
    if ((rc = buf_printf(b, "# HELP %s ", f->name)) || (rc = append_escaped(b, f->help, 1)) ||
        (rc = buf_printf(b, "\n# TYPE %s %s\n", f->name, type_names[f->type])))
        return rc;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_series && !rc; i++)
        rc = render_series(b, f, f->series[i]);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

mmsp_err metrics_render(struct metrics_registry *r, struct buf *out)
{
    if (!r || !out)
        return MMSP_E_INVALID;
    size_t start = out->len;
    mmsp_err rc = MMSP_OK;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_families && !rc; i++)
        rc = render_family(out, r->families[i]);
    pthread_mutex_unlock(&r->lock);
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}
