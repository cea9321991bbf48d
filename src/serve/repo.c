/*
 * The model manager (see repo.h, docs/serve.md "Model manager and hot swap").
 *
 * Locking: `lock` (a rwlock) guards the model table and each model's current version set;
 * requests hold it for reading only long enough to find a version and bump its refcount, and
 * (re)load/unload hold it for writing only to swap a pointer. `load_lock` serializes loads and
 * unloads, so the slow part (reading and checking model files) runs without blocking requests.
 * Statistics live in `stats` entries keyed by (model, version) that survive reloads, like
 * Prometheus counters. A reload reuses a loaded version (one more reference on it) when its
 * model file has the same identity (device, inode, size, mtime) and the config serves it the
 * same way; only new versions are read, checked and warmed, so a canary weight change costs
 * no load at all. The traffic split is swapped with the version set, under the same write
 * lock, and resolved to version pointers then, so an unversioned acquire costs one draw from
 * a per-thread xorshift generator.
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
    struct serve_traffic traffic;   /* all 0 = no split */
    struct serve_version *stable_v; /* the split resolved in versions[] (borrowed); NULL = */
    struct serve_version *canary_v; /* no split / no canary */
    char failure[MMSP_ERRMSG_MAX];  /* last failed change while something serves; "" = none */
    int64_t failed_version;
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
    atomic_int hold_ready;
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
    atomic_init(&r->hold_ready, 0);
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

/* Identity of a model file: a reload reuses a version whose file still has it. */
struct file_id {
    uint64_t dev, ino;
    int64_t size, mtime_ns;
};

static int file_identity(const char *path, struct file_id *id)
{
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode))
        return -1;
    id->dev = (uint64_t)st.st_dev;
    id->ino = (uint64_t)st.st_ino;
    id->size = (int64_t)st.st_size;
    id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

/* The model file of a version: default_model_filename, else model.json, else model.onnx.
 * path is "" when it does not fit. */
static void version_file(const char *mdir, int64_t version, const struct model_config *c,
                         char *path, size_t len)
{
    int bad;
    if (c->default_model_filename) {
        bad =
            path_fmt(path, len, "%s/%lld/%s", mdir, (long long)version, c->default_model_filename);
    } else {
        bad = path_fmt(path, len, "%s/%lld/model.json", mdir, (long long)version);
        if (!bad && !file_exists(path))
            bad = path_fmt(path, len, "%s/%lld/model.onnx", mdir, (long long)version);
    }
    if (bad)
        path[0] = '\0';
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define WARM_MAX_BYTES (64u << 20) /* larger warm-up tensors are not worth allocating */

/*
 * One inference on a zero input of batch 1 before the version takes traffic: the first run
 * of a model pays for work done lazily (page faults on weights, buffers of an ONNX plan), and
 * it shows that the model runs at all. Best effort: a model that cannot be fed zeros (a BYTES
 * input, an output without a static size, a graph that refuses zeros) is still served, with a
 * warning; v->warm_ms is -1 then.
 */
static void warm_up(struct serve_version *v)
{
    const mmsp_model *m = v->model;
    size_t n_in = mmsp_model_input_count(m), n_out = mmsp_model_output_count(m);
    mmsp_tensor *in = calloc(n_in ? n_in : 1, sizeof *in);
    mmsp_tensor *out = calloc(n_out ? n_out : 1, sizeof *out);
    char err[MMSP_ERRMSG_MAX] = "";
    v->warm_ms = -1;
    if (!in || !out) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_in; i++) {
        const mmsp_io_info *io = mmsp_model_input(m, i);
        size_t es = mmsp_dtype_size(io->dtype);
        int64_t elements = 0;
        in[i].name = io->name;
        in[i].dtype = io->dtype;
        in[i].ndim = io->ndim;
        for (int d = 0; d < io->ndim && d < MMSP_MAX_DIMS; d++)
            in[i].shape[d] = io->dims[d] < 0 ? 1 : io->dims[d];
        if (!es) {
            snprintf(err, sizeof err, "input '%s' has no fixed element size", io->name);
            goto out;
        }
        if (mmsp_shape_elements(in[i].shape, in[i].ndim, &elements) ||
            (uint64_t)elements > WARM_MAX_BYTES / es) {
            snprintf(err, sizeof err, "input '%s' is too large to warm up", io->name);
            goto out;
        }
        in[i].nbytes = (size_t)elements * es;
        if (!(in[i].data = calloc(in[i].nbytes ? in[i].nbytes : 1, 1))) {
            snprintf(err, sizeof err, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n_out; i++) {
        size_t bytes = mmsp_model_output_bytes(m, i, 1);
        if (!bytes || bytes > WARM_MAX_BYTES) {
            snprintf(err, sizeof err, "output '%s' has no static size",
                     mmsp_model_output(m, i)->name);
            goto out;
        }
        out[i].nbytes = bytes;
        if (!(out[i].data = malloc(bytes))) {
            snprintf(err, sizeof err, "out of memory");
            goto out;
        }
    }
    uint64_t t0 = now_ns();
    if (mmsp_model_run(m, in, n_in, out, n_out, err, sizeof err) == MMSP_OK)
        v->warm_ms = (double)(now_ns() - t0) / 1e6;
out:
    if (v->warm_ms >= 0)
        log_info("serve.warm", "model '%s' version %s warmed: one zero row in %.3f ms",
                 v->model_name, v->version_str, v->warm_ms);
    else
        log_warn("serve.warm", "model '%s' version %s: warm-up skipped: %s", v->model_name,
                 v->version_str, err);
    for (size_t i = 0; in && i < n_in; i++)
        free(in[i].data);
    for (size_t i = 0; out && i < n_out; i++)
        free(out[i].data);
    free(in);
    free(out);
}

/* Loads one version directory completely and warms it; *out has one reference. */
static mmsp_err load_version(struct serve_repo *r, const char *mdir, const char *name,
                             int64_t version, struct serve_version **out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct file_id id;
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
    version_file(mdir, version, &v->config, v->path, sizeof v->path);
    if (file_identity(v->path, &id)) {
        snprintf(err, errlen, "model '%s' version %lld: no model file (%s)", name,
                 (long long)version,
                 v->config.default_model_filename ? v->path : "model.json or model.onnx");
        rc = MMSP_E_INVALID;
        goto out;
    }
    v->file_dev = id.dev;
    v->file_ino = id.ino;
    v->file_size = id.size;
    v->file_mtime_ns = id.mtime_ns;
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
    warm_up(v);
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

/*
 * The loaded version `version` among `cur` (the set serving now), with one more reference,
 * when a load would give the same thing: same model file (path and identity) and a config
 * that, completed from that very model, serves it the same way. Else NULL.
 */
static struct serve_version *reusable(struct serve_version *const *cur, size_t n_cur,
                                      const char *mdir, const char *name, int64_t version)
{
    struct serve_version *o = NULL;
    struct model_config c;
    struct file_id id;
    char path[4096], err[MMSP_ERRMSG_MAX];
    int same = 0;
    for (size_t i = 0; i < n_cur; i++)
        if (cur[i]->version == version)
            o = cur[i];
    if (!o || read_config(mdir, name, &c, err, sizeof err))
        return NULL;
    version_file(mdir, version, &c, path, sizeof path);
    if (strcmp(path, o->path) == 0 && file_identity(path, &id) == 0 && id.dev == o->file_dev &&
        id.ino == o->file_ino && id.size == o->file_size && id.mtime_ns == o->file_mtime_ns &&
        model_config_complete(&c, o->model, err, sizeof err) == MMSP_OK &&
        model_config_same_serving(&c, &o->config))
        same = 1;
    model_config_release(&c);
    if (!same)
        return NULL;
    atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
    return o;
}

/* Builds the complete new version set of `name` (reusing what `cur` holds where nothing
 * changed); called with load_lock held. */
static mmsp_err build_set(struct serve_repo *r, const char *name, struct serve_version *const *cur,
                          size_t n_cur, struct serve_version ***out, size_t *n_out,
                          size_t *n_reused, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    int64_t *all = NULL;
    size_t n_all = 0, n = 0;
    struct serve_version **set = NULL;
    struct model_config policy;
    int have_policy = 0;
    char mdir[4096];
    struct stat st;
    *n_reused = 0;
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
        if ((set[n] = reusable(cur, n_cur, mdir, name, all[i]))) {
            n++;
            (*n_reused)++;
            continue;
        }
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

/* Resolves a traffic split against a version set: *stable and *canary point into set (NULL
 * without a split / canary). */
static mmsp_err resolve_traffic(const char *name, const struct serve_traffic *t,
                                struct serve_version *const *set, size_t n,
                                struct serve_version **stable, struct serve_version **canary,
                                char *err, size_t errlen)
{
    *stable = *canary = NULL;
    for (size_t i = 0; i < n; i++) {
        if (t->stable && set[i]->version == t->stable)
            *stable = set[i];
        if (t->canary && set[i]->version == t->canary)
            *canary = set[i];
    }
    int64_t missing = t->stable && !*stable ? t->stable : t->canary && !*canary ? t->canary : 0;
    if (missing) {
        snprintf(err, errlen,
                 "model '%s': the traffic split names version %lld, which the version policy "
                 "does not select",
                 name, (long long)missing);
        *stable = *canary = NULL;
        return MMSP_E_INVALID;
    }
    return MMSP_OK;
}

/* The current versions of `name` with a reference each (*cur NULL when none), and its split. */
static mmsp_err current_set(struct serve_repo *r, const char *name, struct serve_version ***cur,
                            size_t *n_cur, struct serve_traffic *traffic)
{
    mmsp_err rc = MMSP_OK;
    *cur = NULL;
    *n_cur = 0;
    memset(traffic, 0, sizeof *traffic);
    pthread_rwlock_rdlock(&r->lock);
    struct serve_model *m = find_model(r, name);
    if (m && m->n_versions) {
        if (!(*cur = malloc(m->n_versions * sizeof **cur))) {
            rc = MMSP_E_NOMEM;
        } else {
            for (size_t i = 0; i < m->n_versions; i++) {
                atomic_fetch_add_explicit(&m->versions[i]->refs, 1, memory_order_relaxed);
                (*cur)[i] = m->versions[i];
            }
            *n_cur = m->n_versions;
            *traffic = m->traffic;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

/* serve_repo_load / serve_repo_load_traffic (t NULL: keep the split when it still fits). */
static mmsp_err load_model(struct serve_repo *r, const char *name, const struct serve_traffic *t,
                           char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct serve_version **set = NULL, **old = NULL, **cur = NULL;
    struct serve_version *stable = NULL, *canary = NULL;
    size_t n = 0, n_old = 0, n_cur = 0, n_reused = 0;
    struct serve_traffic traffic;
    if (t && (t->stable < 0 || t->canary < 0 || t->canary_weight < 0 || t->canary_weight > 100 ||
              (t->canary && !t->stable))) {
        snprintf(err, errlen,
                 "model '%s': bad traffic split (stable %lld, canary %lld at %d %%): versions "
                 "must be positive, a canary needs a stable version, the weight 0..100",
                 name, (long long)t->stable, (long long)t->canary, t->canary_weight);
        return MMSP_E_INVALID;
    }
    pthread_mutex_lock(&r->load_lock);
    rc = current_set(r, name, &cur, &n_cur, &traffic);
    if (!rc)
        rc = build_set(r, name, cur, n_cur, &set, &n, &n_reused, err, errlen);
    if (!rc && t) {
        traffic = *t;
        if (!traffic.canary)
            traffic.canary_weight = 0;
        rc = resolve_traffic(name, &traffic, set, n, &stable, &canary, err, errlen);
    } else if (!rc && resolve_traffic(name, &traffic, set, n, &stable, &canary, err, errlen)) {
        memset(&traffic, 0, sizeof traffic); /* a plain reload dropped a version of the split */
        err[0] = '\0';
    }
    pthread_rwlock_wrlock(&r->lock);
    struct serve_model *m = rc == MMSP_E_NOT_FOUND ? find_model(r, name) : model_entry(r, name);
    if (!m) {
        if (!rc)
            rc = MMSP_E_NOMEM;
    } else if (rc) {
        /* Keep what serves now; remember why the load failed. */
        if (rc == MMSP_E_NOMEM)
            snprintf(err, errlen, "model '%s': out of memory", name);
        snprintf(m->failure, sizeof m->failure, "%s", err);
        m->failed_version = 0;
        if (m->n_versions == 0) {
            m->state = SERVE_MODEL_UNAVAILABLE;
            snprintf(m->reason, sizeof m->reason, "%s", err);
        }
    } else {
        old = m->versions;
        n_old = m->n_versions;
        m->versions = set;
        m->n_versions = n;
        m->traffic = traffic;
        m->stable_v = stable;
        m->canary_v = canary;
        m->state = SERVE_MODEL_READY;
        m->unloaded = 0;
        m->reason[0] = '\0';
        m->failure[0] = '\0';
        m->failed_version = 0;
        set = NULL;
    }
    pthread_rwlock_unlock(&r->lock);
    pthread_mutex_unlock(&r->load_lock);
    if (!rc && n_reused)
        log_debug("serve.load", "model '%s': %zu version(s) loaded, %zu reused", name, n - n_reused,
                  n_reused);
    release_versions(old, n_old); /* requests still holding them finish on them */
    release_versions(cur, n_cur);
    if (set)
        release_versions(set, n);
    if (rc == MMSP_E_NOMEM && err)
        snprintf(err, errlen, "model '%s': out of memory", name);
    return rc;
}

mmsp_err serve_repo_load(struct serve_repo *r, const char *name, char *err, size_t errlen)
{
    return load_model(r, name, NULL, err, errlen);
}

mmsp_err serve_repo_load_traffic(struct serve_repo *r, const char *name,
                                 const struct serve_traffic *t, char *err, size_t errlen)
{
    return load_model(r, name, t, err, errlen);
}

mmsp_err serve_repo_note_failure(struct serve_repo *r, const char *name, int64_t version,
                                 const char *reason)
{
    mmsp_err rc = MMSP_OK;
    pthread_mutex_lock(&r->load_lock);
    pthread_rwlock_wrlock(&r->lock);
    struct serve_model *m = model_entry(r, name);
    if (!m) {
        rc = MMSP_E_NOMEM;
    } else {
        snprintf(m->failure, sizeof m->failure, "%s", reason);
        m->failed_version = version;
        if (m->n_versions == 0) {
            m->state = SERVE_MODEL_UNAVAILABLE;
            m->unloaded = 0;
            snprintf(m->reason, sizeof m->reason, "%s", reason);
        }
    }
    pthread_rwlock_unlock(&r->lock);
    pthread_mutex_unlock(&r->load_lock);
    return rc;
}

void serve_repo_hold_ready(struct serve_repo *r, int hold)
{
    atomic_store(&r->hold_ready, hold ? 1 : 0);
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
        memset(&m->traffic, 0, sizeof m->traffic);
        m->stable_v = m->canary_v = NULL;
        m->failure[0] = '\0';
        m->failed_version = 0;
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

/* A uniform draw in 0..99 from a per-thread xorshift64* generator, seeded on first use from
 * the clock and a process-wide counter (so threads started together differ). */
static int draw_percent(void)
{
    static _Thread_local uint64_t s;
    static atomic_uint_fast64_t seq;
    if (!s) {
        uint64_t z = now_ns() ^ ((uint64_t)atomic_fetch_add(&seq, 1) * 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u; /* splitmix64 finaliser */
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        s = (z ^ (z >> 31)) | 1;
    }
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    uint64_t x = s * 0x2545f4914f6cdd1du;
    return (int)(((x >> 32) * 100) >> 32);
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
        v = m->stable_v ? m->stable_v : m->versions[m->n_versions - 1];
        if (m->canary_v && m->traffic.canary_weight > 0 &&
            (m->traffic.canary_weight >= 100 || draw_percent() < m->traffic.canary_weight))
            v = m->canary_v;
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
        w->traffic = m->traffic;
        snprintf(w->failure, sizeof w->failure, "%s", m->failure);
        w->failed_version = m->failed_version;
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
    int ready = !atomic_load(&r->hold_ready);
    pthread_rwlock_rdlock(&r->lock);
    for (size_t i = 0; i < r->n_models; i++)
        if (!r->models[i]->unloaded && r->models[i]->state != SERVE_MODEL_READY)
            ready = 0;
    pthread_rwlock_unlock(&r->lock);
    return ready;
}
