/*
 * Streaming drift in the gateway: per deployment with a baseline (DATA/baselines/<name>.json),
 * a sliding window of the last N input rows, each value kept as its bin index among the
 * baseline's quantile edges, with per-feature bin counts updated as rows enter and leave. After
 * each observed batch the PSI of every feature (Evidently's formula, as in the batch report)
 * and the share of features at PSI >= 0.2 are published as the gauges
 * mmsp_feature_drift_psi{deployment,feature} and mmsp_dataset_drift_share{deployment}.
 * One mutex per stream; observe is O(rows x features) plus O(features x bins) for the PSI.
 * Episodes: once the window holds at least DRIFT_STREAM_MIN_ROWS rows, its status turning
 * critical (a feature at PSI >= 0.2) or healthy (every PSI < 0.1) is an event for the caller's
 * episode bookkeeping (drift_episode_step: the first critical after healthy opens an episode);
 * observe only marks the event (a flag), and drift_stream_take_event hands it to a
 * background thread with a copy of the baseline and of the window's raw values, so the report
 * (KS tests and all) is computed outside the lock and off the request path.
 * Calls: drift/baseline, drift/stats, drift/report (drift_report_columns via the caller),
 * metrics.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "drift/drift.h"
#include "metrics/metrics.h"

#define MAX_DEPLOYMENTS 1024

struct dstate {
    char *name;
    struct drift_baseline b; /* owned */
    int64_t mtime_ns;        /* of the file it came from; 0 = attached directly */
    size_t nf, window, filled, next;
    uint16_t *ring;    /* window x nf bin indices (UINT16_MAX = null) */
    float *raw;        /* window x nf values as observed (NAN = null), for the report */
    uint64_t **counts; /* per feature, nedges + 1 */
    uint64_t *nonnull; /* per feature, values in the window */
    double *psi, *cur; /* per feature; scratch fractions */
    struct metric_series **g_psi, *g_share;
    double share;
    int seen;          /* the window's last status with enough rows; -1 = none yet */
    int pending_open;  /* the window turned critical; not taken yet */
    int pending_close; /* the window turned healthy; not taken yet */
};

struct drift_stream {
    pthread_mutex_t mu;
    struct metrics_registry *m;
    struct metric_family *f_psi, *f_share;
    size_t window, min_rows;
    struct dstate **deps;
    size_t n;
    int64_t dir_mtime_ns;
    /* files that did not parse, by name and mtime: not retried or reported until they change */
    struct {
        char name[256];
        int64_t mtime_ns;
    } failed[64];
    size_t nfailed;
};

/* Lock held. */
static int failed_before(struct drift_stream *s, const char *name, int64_t mt, int remember)
{
    for (size_t i = 0; i < s->nfailed; i++)
        if (strcmp(s->failed[i].name, name) == 0) {
            if (s->failed[i].mtime_ns == mt)
                return 1;
            if (remember)
                s->failed[i].mtime_ns = mt;
            return 0;
        }
    if (remember) {
        size_t i = s->nfailed < 64 ? s->nfailed++ : 63;
        snprintf(s->failed[i].name, sizeof s->failed[i].name, "%s", name);
        s->failed[i].mtime_ns = mt;
    }
    return 0;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static void dstate_free(struct dstate *d)
{
    if (!d)
        return;
    for (size_t f = 0; d->counts && f < d->nf; f++)
        free(d->counts[f]);
    free(d->counts);
    free(d->ring);
    free(d->raw);
    free(d->nonnull);
    free(d->psi);
    free(d->cur);
    free(d->g_psi);
    free(d->name);
    drift_baseline_free(&d->b);
    free(d);
}

static void publish(struct drift_stream *s, struct dstate *d)
{
    size_t drifted = 0, numeric = 0;
    for (size_t f = 0; f < d->nf; f++) {
        const struct drift_feature *df = &d->b.features[f];
        if (df->categorical || df->count == 0 || d->nonnull[f] == 0) {
            d->psi[f] = NAN;
            continue;
        }
        size_t nb = df->nedges + 1;
        for (size_t i = 0; i < nb; i++)
            d->cur[i] = (double)d->counts[f][i] / (double)d->nonnull[f];
        d->psi[f] = drift_psi(df->ref, d->cur, nb);
        numeric++;
        drifted += d->psi[f] >= DRIFT_PSI_CRITICAL;
        metrics_gauge_set(d->g_psi[f], d->psi[f]);
    }
    d->share = numeric ? (double)drifted / (double)numeric : 0;
    metrics_gauge_set(d->g_share, d->share);
    if (d->filled < s->min_rows || !numeric)
        return; /* too few rows for PSI to mean anything: no episode change */
    enum drift_status worst = DRIFT_HEALTHY;
    for (size_t f = 0; f < d->nf; f++)
        if (!isnan(d->psi[f]) && drift_status_of(d->psi[f]) > worst)
            worst = drift_status_of(d->psi[f]);
    if ((int)worst == d->seen)
        return;
    d->seen = (int)worst;
    if (worst == DRIFT_CRITICAL)
        d->pending_open = 1;
    else if (worst == DRIFT_HEALTHY)
        d->pending_close = 1;
}

static mmsp_err dstate_new(struct drift_stream *s, const char *name, struct drift_baseline *b,
                           struct dstate **out)
{
    struct dstate *d = calloc(1, sizeof *d);
    if (!d)
        return MMSP_E_NOMEM;
    d->b = *b;
    memset(b, 0, sizeof *b);
    d->nf = d->b.nfeatures;
    d->window = s->window;
    d->seen = -1;
    size_t maxb = 1;
    for (size_t f = 0; f < d->nf; f++)
        if (d->b.features[f].nedges + 1 > maxb)
            maxb = d->b.features[f].nedges + 1;
    d->name = strdup(name);
    d->ring = malloc(d->window * d->nf * sizeof *d->ring);
    d->raw = malloc(d->window * d->nf * sizeof *d->raw);
    d->counts = calloc(d->nf, sizeof *d->counts);
    d->nonnull = calloc(d->nf, sizeof *d->nonnull);
    d->psi = malloc(d->nf * sizeof *d->psi);
    d->cur = malloc(maxb * sizeof *d->cur);
    d->g_psi = calloc(d->nf, sizeof *d->g_psi);
    if (!d->name || !d->ring || !d->raw || !d->counts || !d->nonnull || !d->psi || !d->cur ||
        !d->g_psi)
        goto nomem;
    for (size_t f = 0; f < d->nf; f++) {
        d->psi[f] = NAN;
        if (!(d->counts[f] = calloc(d->b.features[f].nedges + 1, sizeof **d->counts)))
            goto nomem;
        if (d->b.features[f].nedges + 1 >= UINT16_MAX)
            goto nomem;
        if (s->f_psi && !d->b.features[f].categorical) {
            const char *lv[] = {name, d->b.features[f].name};
            d->g_psi[f] = metrics_series(s->f_psi, lv);
        }
    }
    if (s->f_share) {
        const char *lv[] = {name};
        d->g_share = metrics_series(s->f_share, lv);
    }
    *out = d;
    return MMSP_OK;
nomem:
    dstate_free(d);
    return MMSP_E_NOMEM;
}

mmsp_err drift_stream_new(struct metrics_registry *m, size_t window, struct drift_stream **out,
                          char *err, size_t errlen)
{
    struct drift_stream *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return MMSP_E_NOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->m = m;
    s->window = window ? window : 10000;
    s->min_rows = DRIFT_STREAM_MIN_ROWS < s->window ? DRIFT_STREAM_MIN_ROWS : s->window;
    if (m) {
        const char *l2[] = {"deployment", "feature"}, *l1[] = {"deployment"};
        s->f_psi = metrics_family_register(
            m, "mmsp_feature_drift_psi",
            "PSI of a feature over the sliding window against the deployment's baseline",
            METRIC_GAUGE, l2, 2, NULL, 0);
        s->f_share = metrics_family_register(
            m, "mmsp_dataset_drift_share",
            "Share of a deployment's numeric features with PSI >= 0.2 over the sliding window",
            METRIC_GAUGE, l1, 1, NULL, 0);
        if (!s->f_psi || !s->f_share) {
            snprintf(err, errlen, "cannot register the drift gauges");
            drift_stream_free(s);
            return MMSP_E_INTERNAL;
        }
    }
    *out = s;
    return MMSP_OK;
}

static struct dstate *find(struct drift_stream *s, const char *name, size_t *idx)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->deps[i]->name, name) == 0) {
            if (idx)
                *idx = i;
            return s->deps[i];
        }
    return NULL;
}

/* Puts d in place of any state of the same name. Lock held. */
static mmsp_err put(struct drift_stream *s, struct dstate *d)
{
    size_t i;
    struct dstate *old = find(s, d->name, &i);
    if (old) {
        s->deps[i] = d;
        dstate_free(old);
        return MMSP_OK;
    }
    if (s->n >= MAX_DEPLOYMENTS)
        return MMSP_E_TOO_LARGE;
    struct dstate **nd = realloc(s->deps, (s->n + 1) * sizeof *nd);
    if (!nd)
        return MMSP_E_NOMEM;
    s->deps = nd;
    s->deps[s->n++] = d;
    return MMSP_OK;
}

mmsp_err drift_stream_attach(struct drift_stream *s, const char *deployment,
                             struct drift_baseline *b, char *err, size_t errlen)
{
    struct dstate *d = NULL;
    mmsp_err rc = dstate_new(s, deployment, b, &d);
    if (rc) {
        drift_baseline_free(b);
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    rc = put(s, d);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        dstate_free(d);
        snprintf(err, errlen, "too many deployments with a baseline");
    }
    return rc;
}

mmsp_err drift_stream_load_dir(struct drift_stream *s, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    mmsp_err result = MMSP_OK;
    if (stat(dir, &st) != 0) {
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < s->n; i++) /* the directory is gone: so are the baselines */
            if (s->deps[i]->mtime_ns) {
                dstate_free(s->deps[i]);
                s->deps[i--] = s->deps[--s->n];
            }
        s->dir_mtime_ns = 0;
        pthread_mutex_unlock(&s->mu);
        return MMSP_OK;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return MMSP_E_IO;
    }
    char seen[MAX_DEPLOYMENTS];
    memset(seen, 0, sizeof seen);
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || e->d_name[0] == '.' || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        char path[4096], name[256];
        if (l - 5 >= sizeof name)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        memcpy(name, e->d_name, l - 5);
        name[l - 5] = '\0';
        struct stat fs;
        if (stat(path, &fs) != 0)
            continue;
        size_t idx;
        pthread_mutex_lock(&s->mu);
        struct dstate *cur = find(s, name, &idx);
        int same =
            (cur && cur->mtime_ns == mtime_ns(&fs)) || failed_before(s, name, mtime_ns(&fs), 0);
        if (cur && idx < MAX_DEPLOYMENTS)
            seen[idx] = 1;
        pthread_mutex_unlock(&s->mu);
        if (same)
            continue;
        struct drift_baseline b;
        char e2[512];
        if (drift_baseline_load(path, &b, e2, sizeof e2)) {
            pthread_mutex_lock(&s->mu);
            failed_before(s, name, mtime_ns(&fs), 1);
            pthread_mutex_unlock(&s->mu);
            snprintf(err, errlen, "%s: %s", path, e2);
            result = MMSP_E_PARSE;
            continue;
        }
        struct dstate *d = NULL;
        if (dstate_new(s, name, &b, &d)) {
            drift_baseline_free(&b);
            result = MMSP_E_NOMEM;
            snprintf(err, errlen, "out of memory");
            continue;
        }
        d->mtime_ns = mtime_ns(&fs);
        pthread_mutex_lock(&s->mu);
        if (put(s, d))
            dstate_free(d);
        else if (find(s, name, &idx) && idx < MAX_DEPLOYMENTS)
            seen[idx] = 1;
        pthread_mutex_unlock(&s->mu);
    }
    closedir(dh);
    /* drop file-backed states whose file is gone */
    pthread_mutex_lock(&s->mu);
    for (size_t i = s->n; i-- > 0;) {
        if (s->deps[i]->mtime_ns && !seen[i]) {
            metrics_gauge_set(s->deps[i]->g_share, NAN);
            for (size_t f = 0; f < s->deps[i]->nf; f++)
                metrics_gauge_set(s->deps[i]->g_psi[f], NAN);
            dstate_free(s->deps[i]);
            s->deps[i] = s->deps[--s->n];
        }
    }
    s->dir_mtime_ns = mtime_ns(&st);
    pthread_mutex_unlock(&s->mu);
    return result;
}

void drift_stream_observe(struct drift_stream *s, const char *deployment, const float *data,
                          size_t rows, size_t cols)
{
    if (!s || !deployment || !data || rows == 0)
        return;
    pthread_mutex_lock(&s->mu);
    struct dstate *d = find(s, deployment, NULL);
    if (!d || cols != d->nf) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        uint16_t *slot = d->ring + d->next * d->nf;
        if (d->filled == d->window) { /* the oldest row leaves */
            for (size_t f = 0; f < d->nf; f++)
                if (slot[f] != UINT16_MAX) {
                    d->counts[f][slot[f]]--;
                    d->nonnull[f]--;
                }
        } else {
            d->filled++;
        }
        float *raw = d->raw + d->next * d->nf;
        for (size_t f = 0; f < d->nf; f++) {
            const struct drift_feature *df = &d->b.features[f];
            double x = (double)data[r * cols + f];
            raw[f] = df->categorical ? NAN : data[r * cols + f];
            if (df->categorical || isnan(x)) {
                slot[f] = UINT16_MAX;
                continue;
            }
            size_t b = drift_bin_of(df->edges, df->nedges, x);
            slot[f] = (uint16_t)b;
            d->counts[f][b]++;
            d->nonnull[f]++;
        }
        d->next = (d->next + 1) % d->window;
    }
    publish(s, d);
    pthread_mutex_unlock(&s->mu);
}

double drift_stream_psi(struct drift_stream *s, const char *deployment, const char *feature)
{
    double v = NAN;
    pthread_mutex_lock(&s->mu);
    struct dstate *d = find(s, deployment, NULL);
    for (size_t f = 0; d && f < d->nf; f++)
        if (strcmp(d->b.features[f].name, feature) == 0)
            v = d->psi[f];
    pthread_mutex_unlock(&s->mu);
    return v;
}

double drift_stream_share(struct drift_stream *s, const char *deployment)
{
    double v = NAN;
    pthread_mutex_lock(&s->mu);
    struct dstate *d = find(s, deployment, NULL);
    if (d)
        v = d->share;
    pthread_mutex_unlock(&s->mu);
    return v;
}

void drift_stream_set_min_rows(struct drift_stream *s, size_t min_rows)
{
    pthread_mutex_lock(&s->mu);
    s->min_rows = min_rows ? min_rows : 1;
    if (s->min_rows > s->window)
        s->min_rows = s->window;
    pthread_mutex_unlock(&s->mu);
}

void drift_stream_event_release(struct drift_stream_event *ev)
{
    if (!ev)
        return;
    for (size_t f = 0; ev->cols && f < ev->baseline.nfeatures; f++)
        free(ev->cols[f]);
    free(ev->cols);
    drift_baseline_free(&ev->baseline);
    memset(ev, 0, sizeof *ev);
}

int drift_stream_take_event(struct drift_stream *s, struct drift_stream_event *ev, char *err,
                            size_t errlen)
{
    memset(ev, 0, sizeof *ev);
    struct drift_baseline copy;
    pthread_mutex_lock(&s->mu);
    struct dstate *d = NULL;
    for (size_t i = 0; i < s->n && !d; i++)
        if (s->deps[i]->pending_open || s->deps[i]->pending_close)
            d = s->deps[i];
    if (!d) {
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    snprintf(ev->deployment, sizeof ev->deployment, "%s", d->name);
    if (!d->pending_open) {
        d->pending_close = 0;
        ev->status = DRIFT_HEALTHY;
        pthread_mutex_unlock(&s->mu);
        return 1;
    }
    /* The baseline copy is made outside the lock (JSON both ways): take the state's
     * baseline text under it first. */
    char *json = NULL;
    mmsp_err rc = drift_baseline_to_json(&d->b, &json, err, errlen);
    size_t nf = d->nf, rows = d->filled;
    double **cols = rc ? NULL : calloc(nf ? nf : 1, sizeof *cols);
    for (size_t f = 0; cols && f < nf; f++) {
        if (!(cols[f] = malloc((rows ? rows : 1) * sizeof **cols))) {
            rc = MMSP_E_NOMEM;
            break;
        }
        for (size_t r = 0; r < rows; r++)
            cols[f][r] = (double)d->raw[r * nf + f];
    }
    if (!rc && !cols)
        rc = MMSP_E_NOMEM;
    d->pending_open = 0; /* taken, even when the copy failed (reported once) */
    pthread_mutex_unlock(&s->mu);
    if (!rc)
        rc = drift_baseline_parse(json, strlen(json), &copy, err, errlen);
    free(json);
    if (rc || copy.nfeatures != nf) {
        if (!rc)
            drift_baseline_free(&copy);
        for (size_t f = 0; cols && f < nf; f++)
            free(cols[f]);
        free(cols);
        if (rc == MMSP_E_NOMEM)
            snprintf(err, errlen, "out of memory");
        else if (!rc)
            snprintf(err, errlen, "baseline changed while copied");
        ev->status = DRIFT_CRITICAL;
        return -1;
    }
    ev->status = DRIFT_CRITICAL;
    ev->baseline = copy;
    ev->cols = cols;
    ev->rows = rows;
    return 1;
}

void drift_stream_update(struct drift_stream *s)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++)
        publish(s, s->deps[i]);
    pthread_mutex_unlock(&s->mu);
}

void drift_stream_free(struct drift_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        dstate_free(s->deps[i]);
    free(s->deps);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
