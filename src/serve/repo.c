/*
 * The model manager (see repo.h, docs/serve.md "Model manager and hot swap").
 *
 * Locking: `lock` (a rwlock) guards the model table and each model's current version set;
 * requests hold it for reading only long enough to find a version and bump its refcount, and
 * (re)load/unload hold it for writing only to swap a pointer. `load_lock` serializes loads and
 * unloads, so the slow part (reading and checking model files) runs without blocking requests.
 * Statistics live in `stats` entries keyed by (model, version) that survive reloads, like
 * Prometheus counters.
 * Calls: mmsp runtime, serve/model_config, serve/stats, metrics, common/log.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "serve/repo.h"

struct stats_entry {
    struct stats_entry *next;
    char *model;
    int64_t version;
    struct serve_stats stats;
};

struct serve_model {
    char *name;
    enum serve_model_state state;
    int unloaded; /* unloaded on request (does not make the server unready) */
    char reason[MMSP_ERRMSG_MAX];
    struct serve_version **versions; /* owned references, ascending; NULL when unavailable */
    size_t n_versions;
};

struct serve_repo {
    char *dir;
    struct metrics_registry *reg; /* borrowed */
    struct serve_families fam;
    pthread_rwlock_t lock;
    pthread_mutex_t load_lock;
    struct serve_model **models;
    size_t n_models, cap_models;
    struct stats_entry *stats; /* guarded by load_lock */
};

int64_t serve_version_parse(const char *s)
{
    if (!s || !*s || s[0] == '0' || strlen(s) > 18)
        return -1;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

mmsp_err serve_repo_new(const char *dir, struct metrics_registry *reg,
                        const struct serve_families *fam, struct serve_repo **out)
{
    struct serve_repo *r = calloc(1, sizeof *r);
    if (!r)
        return MMSP_E_NOMEM;
    r->dir = strdup(dir);
    if (!r->dir) {
        free(r);
        return MMSP_E_NOMEM;
    }
    r->reg = reg;
    r->fam = *fam;
    pthread_rwlock_init(&r->lock, NULL);
    pthread_mutex_init(&r->load_lock, NULL);
    *out = r;
    return MMSP_OK;
}

void serve_version_release(struct serve_version *v)
{
    if (!v || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    serve_batcher_free(v->batcher); /* nothing is queued: every queued request holds a ref */
    mmsp_model_release(v->model);
    model_config_release(&v->config);
    free(v->model_name);
    free(v);
}

static void release_versions(struct serve_version **vs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        serve_version_release(vs[i]);
    free(vs);
}

void serve_repo_free(struct serve_repo *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_models; i++) {
        release_versions(r->models[i]->versions, r->models[i]->n_versions);
        free(r->models[i]->name);
        free(r->models[i]);
    }
    free(r->models);
    for (struct stats_entry *e = r->stats, *next; e; e = next) {
        next = e->next;
        free(e->model);
        free(e);
    }
    pthread_rwlock_destroy(&r->lock);
    pthread_mutex_destroy(&r->load_lock);
    free(r->dir);
    free(r);
}

/* Called with lock held. */
static struct serve_model *find_model(struct serve_repo *r, const char *name)
{
    for (size_t i = 0; i < r->n_models; i++)
        if (strcmp(r->models[i]->name, name) == 0)
            return r->models[i];
    return NULL;
}

/* Finds or creates the table entry for name; called with the write lock held. */
static struct serve_model *model_entry(struct serve_repo *r, const char *name)
{
    struct serve_model *m = find_model(r, name);
    if (m)
        return m;
    if (r->n_models == r->cap_models) {
        size_t cap = r->cap_models ? 2 * r->cap_models : 16;
        struct serve_model **models = realloc(r->models, cap * sizeof *models);
        if (!models)
            return NULL;
        r->models = models;
        r->cap_models = cap;
    }
    m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->name = strdup(name);
    if (!m->name) {
        free(m);
        return NULL;
    }
    m->state = SERVE_MODEL_UNAVAILABLE;
    r->models[r->n_models++] = m;
    return m;
}

/* The long-lived stats of (model, version); called with load_lock held. */
static struct serve_stats *stats_get(struct serve_repo *r, const char *model, int64_t version)
{
    for (struct stats_entry *e = r->stats; e; e = e->next)
        if (e->version == version && strcmp(e->model, model) == 0)
            return &e->stats;
    struct stats_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->model = strdup(model);
    if (!e->model) {
        free(e);
        return NULL;
    }
    e->version = version;
    e->next = r->stats;
    r->stats = e;
    return &e->stats;
}

/* snprintf for paths: returns 0, or -1 when the result did not fit (the path is unusable). */
__attribute__((format(printf, 3, 4))) static int path_fmt(char *out, size_t len, const char *fmt,
                                                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Version directories of a model directory, ascending, in *out (malloc'd). */
static mmsp_err scan_versions(const char *mdir, int64_t **out, size_t *n, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    int64_t *vs = NULL;
    size_t count = 0, cap = 0;
    DIR *d = opendir(mdir);
    if (!d) {
        snprintf(err, errlen, "cannot read %s: %s", mdir, strerror(errno));
        return MMSP_E_IO;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        int64_t v = serve_version_parse(de->d_name);
        if (v <= 0)
            continue;
        char path[4096];
        struct stat st;
        if (path_fmt(path, sizeof path, "%s/%s", mdir, de->d_name) || stat(path, &st) ||
            !S_ISDIR(st.st_mode))
            continue;
        if (count == cap) {
            cap = cap ? 2 * cap : 8;
            int64_t *nv = realloc(vs, cap * sizeof *nv);
            if (!nv) {
                rc = MMSP_E_NOMEM;
                goto out;
            }
            vs = nv;
        }
        vs[count++] = v;
    }
    qsort(vs, count, sizeof *vs, cmp_i64);
out:
    closedir(d);
    if (rc) {
        free(vs);
        return rc;
    }
    *out = vs;
    *n = count;
    return MMSP_OK;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads config.yaml when present, else a default config named after the directory. */
static mmsp_err read_config(const char *mdir, const char *name, struct model_config *c, char *err,
                            size_t errlen)
{
    char path[4096];
    if (path_fmt(path, sizeof path, "%s/config.yaml", mdir) == 0 && file_exists(path))
        return model_config_load(path, name, c, err, errlen);
    model_config_init(c);
    c->name = strdup(name);
    return c->name ? MMSP_OK : MMSP_E_NOMEM;
}

static mmsp_err lookup_series(struct serve_repo *r, struct serve_version *v)
{
    const char *labels[2] = {v->model_name, v->version_str};
    v->series.requests = metrics_series(r->fam.requests, labels);
    v->series.predictions = metrics_series(r->fam.predictions, labels);
    v->series.errors = metrics_series(r->fam.errors, labels);
    v->series.latency = metrics_series(r->fam.latency, labels);
    v->series.duration = metrics_series(r->fam.duration, labels);
    if (!v->series.requests || !v->series.predictions || !v->series.errors || !v->series.latency ||
        !v->series.duration)
        return MMSP_E_NOMEM;
    return MMSP_OK;
}

/* Loads one version directory completely; *out has one reference. */
static mmsp_err load_version(struct serve_repo *r, const char *mdir, const char *name,
                             int64_t version, struct serve_version **out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct serve_version *v = calloc(1, sizeof *v);
    if (!v)
        return MMSP_E_NOMEM;
    atomic_init(&v->refs, 1);
    v->version = version;
    snprintf(v->version_str, sizeof v->version_str, "%lld", (long long)version);
    v->model_name = strdup(name);
    if (!v->model_name) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    rc = read_config(mdir, name, &v->config, err, errlen);
    if (rc)
        goto out;
    if (v->config.default_model_filename) {
        path_fmt(v->path, sizeof v->path, "%s/%lld/%s", mdir, (long long)version,
                 v->config.default_model_filename);
    } else {
        path_fmt(v->path, sizeof v->path, "%s/%lld/model.json", mdir, (long long)version);
        if (!file_exists(v->path))
            path_fmt(v->path, sizeof v->path, "%s/%lld/model.onnx", mdir, (long long)version);
    }
    if (!file_exists(v->path)) {
        snprintf(err, errlen, "model '%s' version %lld: no model file (%s)", name,
                 (long long)version,
                 v->config.default_model_filename ? v->path : "model.json or model.onnx");
        rc = MMSP_E_INVALID;
        goto out;
    }
    rc = mmsp_model_load(v->path, &v->model, err, errlen);
    if (rc)
        goto out;
    v->info = mmsp_model_get_info(v->model);
    rc = model_config_complete(&v->config, v->model, err, errlen);
    if (rc)
        goto out;
    v->stats = stats_get(r, name, version);
    if (!v->stats) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    rc = lookup_series(r, v);
    if (rc)
        goto out;
    if (v->config.dynamic_batching) {
        const char *labels[2] = {v->model_name, v->version_str};
        struct serve_batch_series bs = {
            .batch_size = metrics_series(r->fam.batch_size, labels),
            .queue = metrics_series(r->fam.queue, labels),
            .compute = metrics_series(r->fam.compute, labels),
        };
        if (!bs.batch_size || !bs.queue || !bs.compute) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        rc = serve_batcher_new(v->model_name, v->model, &v->config, v->stats, &bs, &v->batcher, err,
                               errlen);
        if (rc)
            goto out;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(v->loaded_at, sizeof v->loaded_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    *out = v;
out:
    if (rc) {
        if (err && rc == MMSP_E_NOMEM)
            snprintf(err, errlen, "model '%s' version %lld: out of memory", name,
                     (long long)version);
        serve_version_release(v);
    }
    return rc;
}

/* Builds the complete new version set of `name`; called with load_lock held. */
static mmsp_err build_set(struct serve_repo *r, const char *name, struct serve_version ***out,
                          size_t *n_out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    int64_t *all = NULL;
    size_t n_all = 0, n = 0;
    struct serve_version **set = NULL;
    struct model_config policy;
    int have_policy = 0;
    char mdir[4096];
    struct stat st;
    if (path_fmt(mdir, sizeof mdir, "%s/%s", r->dir, name) || strchr(name, '/') || name[0] == '.' ||
        stat(mdir, &st) || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "model '%s' is not in the repository %s", name, r->dir);
        return MMSP_E_NOT_FOUND;
    }
    rc = read_config(mdir, name, &policy, err, errlen);
    if (rc)
        goto out;
    have_policy = 1;
    rc = scan_versions(mdir, &all, &n_all, err, errlen);
    if (rc)
        goto out;
    set = calloc(n_all ? n_all : 1, sizeof *set);
    if (!set) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_all; i++) {
        if (!model_config_version_selected(&policy, all[i], all, n_all))
            continue;
        rc = load_version(r, mdir, name, all[i], &set[n], err, errlen);
        if (rc)
            goto out;
        n++;
    }
    if (n == 0) {
        snprintf(err, errlen,
                 n_all ? "model '%s': the version policy selects none of the versions on disk"
                       : "model '%s': no version directories (positive integers) in %s",
                 name, mdir);
        rc = MMSP_E_INVALID;
        goto out;
    }
    *out = set;
    *n_out = n;
    set = NULL;
out:
    if (set)
        release_versions(set, n);
    if (have_policy)
        model_config_release(&policy);
    free(all);
    return rc;
}

mmsp_err serve_repo_load(struct serve_repo *r, const char *name, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct serve_version **set = NULL, **old = NULL;
    size_t n = 0, n_old = 0;
    pthread_mutex_lock(&r->load_lock);
    rc = build_set(r, name, &set, &n, err, errlen);
    pthread_rwlock_wrlock(&r->lock);
    struct serve_model *m = rc == MMSP_E_NOT_FOUND ? find_model(r, name) : model_entry(r, name);
    if (!m) {
        if (!rc)
            rc = MMSP_E_NOMEM;
    } else if (rc) {
        /* Keep what serves now; remember why the load failed when nothing does. */
        if (m->n_versions == 0) {
            m->state = SERVE_MODEL_UNAVAILABLE;
            snprintf(m->reason, sizeof m->reason, "%s", err);
        }
    } else {
        old = m->versions;
        n_old = m->n_versions;
        m->versions = set;
        m->n_versions = n;
        m->state = SERVE_MODEL_READY;
        m->unloaded = 0;
        m->reason[0] = '\0';
        set = NULL;
    }
    pthread_rwlock_unlock(&r->lock);
    pthread_mutex_unlock(&r->load_lock);
    release_versions(old, n_old); /* requests still holding them finish on them */
    if (set)
        release_versions(set, n);
    if (rc == MMSP_E_NOMEM && err)
        snprintf(err, errlen, "model '%s': out of memory", name);
    return rc;
}

void serve_repo_drain(struct serve_repo *r)
{
    pthread_rwlock_rdlock(&r->lock);
    for (size_t i = 0; i < r->n_models; i++)
        for (size_t k = 0; k < r->models[i]->n_versions; k++)
            if (r->models[i]->versions[k]->batcher)
                serve_batcher_drain(r->models[i]->versions[k]->batcher);
    pthread_rwlock_unlock(&r->lock);
}

mmsp_err serve_repo_unload(struct serve_repo *r, const char *name, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct serve_version **old = NULL;
    size_t n_old = 0;
    pthread_mutex_lock(&r->load_lock);
    pthread_rwlock_wrlock(&r->lock);
    struct serve_model *m = find_model(r, name);
    if (!m) {
        snprintf(err, errlen, "model '%s' is not known", name);
        rc = MMSP_E_NOT_FOUND;
    } else {
        old = m->versions;
        n_old = m->n_versions;
        m->versions = NULL;
        m->n_versions = 0;
        m->state = SERVE_MODEL_UNAVAILABLE;
        m->unloaded = 1;
        snprintf(m->reason, sizeof m->reason, "unloaded");
    }
    pthread_rwlock_unlock(&r->lock);
    pthread_mutex_unlock(&r->load_lock);
    release_versions(old, n_old);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t serve_repo_load_all(struct serve_repo *r)
{
    size_t failed = 0, n = 0, cap = 0;
    char **names = NULL;
    DIR *d = opendir(r->dir);
    if (!d) {
        log_error("serve.repo", "cannot read model repository %s: %s", r->dir, strerror(errno));
        return 1;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        char path[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        if (path_fmt(path, sizeof path, "%s/%s", r->dir, de->d_name) || stat(path, &st) ||
            !S_ISDIR(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char err[MMSP_ERRMSG_MAX] = "";
        uint64_t t0 = (uint64_t)clock();
        mmsp_err rc = serve_repo_load(r, names[i], err, sizeof err);
        if (rc) {
            failed++;
            log_error("serve.load", "model '%s' failed to load: %s", names[i], err);
        } else {
            log_info("serve.load", "model '%s' loaded (%.1f ms CPU)", names[i],
                     (double)((uint64_t)clock() - t0) * 1000.0 / CLOCKS_PER_SEC);
        }
        free(names[i]);
    }
    free(names);
    return failed;
}

mmsp_err serve_repo_acquire(struct serve_repo *r, const char *name, int64_t version,
                            struct serve_version **out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct serve_version *v = NULL;
    pthread_rwlock_rdlock(&r->lock);
    struct serve_model *m = find_model(r, name);
    if (!m) {
        snprintf(err, errlen, "model '%s' is not known", name);
        rc = MMSP_E_NOT_FOUND;
        goto out;
    }
    if (m->n_versions == 0) {
        snprintf(err, errlen, "model '%s' is not ready: %s", name,
                 m->reason[0] ? m->reason : "not loaded");
        rc = MMSP_E_UNAVAILABLE;
        goto out;
    }
    if (version < 0) {
        v = m->versions[m->n_versions - 1];
    } else {
        for (size_t i = 0; i < m->n_versions; i++)
            if (m->versions[i]->version == version)
                v = m->versions[i];
        if (!v) {
            snprintf(err, errlen, "model '%s' has no version %lld loaded", name,
                     (long long)version);
            rc = MMSP_E_NOT_FOUND;
            goto out;
        }
    }
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    *out = v;
out:
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

static int cmp_view(const void *a, const void *b)
{
    return strcmp(((const struct serve_model_view *)a)->name,
                  ((const struct serve_model_view *)b)->name);
}

mmsp_err serve_repo_list(struct serve_repo *r, struct serve_model_view **out, size_t *n_out)
{
    mmsp_err rc = MMSP_OK;
    size_t n = 0;
    pthread_rwlock_rdlock(&r->lock);
    struct serve_model_view *views = calloc(r->n_models ? r->n_models : 1, sizeof *views);
    if (!views) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (; n < r->n_models; n++) {
        struct serve_model *m = r->models[n];
        struct serve_model_view *w = &views[n];
        snprintf(w->name, sizeof w->name, "%s", m->name);
        w->state = m->state;
        snprintf(w->reason, sizeof w->reason, "%s", m->reason);
        if (m->n_versions) {
            w->versions = malloc(m->n_versions * sizeof *w->versions);
            if (!w->versions) {
                rc = MMSP_E_NOMEM;
                goto out;
            }
            for (size_t k = 0; k < m->n_versions; k++) {
                atomic_fetch_add(&m->versions[k]->refs, 1);
                w->versions[k] = m->versions[k];
            }
            w->n_versions = m->n_versions;
        }
    }
out:
    pthread_rwlock_unlock(&r->lock);
    if (rc) {
        serve_repo_list_free(views, n);
        return rc;
    }
    qsort(views, n, sizeof *views, cmp_view);
    *out = views;
    *n_out = n;
    return MMSP_OK;
}

void serve_repo_list_free(struct serve_model_view *views, size_t n)
{
    if (!views)
        return;
    for (size_t i = 0; i < n; i++)
        release_versions(views[i].versions, views[i].n_versions);
    free(views);
}

size_t serve_repo_count(struct serve_repo *r, char *name, size_t namelen)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t n = r->n_models;
    if (n == 1 && name)
        snprintf(name, namelen, "%s", r->models[0]->name);
    pthread_rwlock_unlock(&r->lock);
    return n;
}

int serve_repo_ready(struct serve_repo *r)
{
    int ready = 1;
    pthread_rwlock_rdlock(&r->lock);
    for (size_t i = 0; i < r->n_models; i++)
        if (!r->models[i]->unloaded && r->models[i]->state != SERVE_MODEL_READY)
            ready = 0;
    pthread_rwlock_unlock(&r->lock);
    return ready;
}
