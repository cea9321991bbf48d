/*
 * The registry-mode follower (see follow.h, docs/serve.md "Registry mode"): one thread that
 * polls the registry's deployment generation and, when it moved, materialises every changed
 * deployment into the serving directory and (re)loads it with its traffic split through the
 * model manager.
 *
 * State: `applied` remembers, per served model name, the deployment generation last applied
 * and whether that worked; a pass re-applies a deployment whose generation moved, and retries
 * one whose last application failed (a pass only runs when some deployment changed, so a
 * broken artifact is not re-hashed and re-logged every poll). `verified` remembers artifacts
 * whose digest was checked, with the file identity at the time, so a hash runs once per
 * artifact file state. Both are touched by the follower thread only.
 * Calls: registry (deployments, versions, artifact paths and digest checks), serve/repo
 * (load with a traffic split, unload, failures, readiness), common/log.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "metrics/metrics.h"
#include "registry/registry.h"
#include "serve/follow.h"
#include "serve/repo.h"

#define MARKER         ".mmsp-serving"
#define MAX_VERIFIED   4096 /* remembered artifact checks; forgotten all at once beyond */
#define MAX_DEP_VERS   3    /* stable, canary, shadow */
#define PATH_BYTES     4096
#define NAME_BYTES     256
#define COPY_BUF_BYTES (1 << 16)

struct applied {
    char name[NAME_BYTES]; /* served model name */
    int64_t generation;    /* of the deployment when last applied */
    int ok;                /* that application succeeded */
    int seen;              /* present in the current pass */
};

struct verified {
    char digest[72];
    uint64_t dev, ino;
    int64_t size, mtime_ns;
};

struct serve_follow {
    struct registry *reg;             /* borrowed */
    struct serve_repo *repo;          /* borrowed */
    struct metric_family *generation; /* borrowed; NULL = none */
    char *dir;                        /* owned */
    unsigned poll_ms;
    int lock_fd; /* the marker, flock'ed */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* with mu: wakes and stop */
    int woken, stop;     /* guarded by mu */
    atomic_int stopping; /* stop, readable without mu between deployments */
    atomic_uint_fast64_t passes;
    struct applied *applied; /* owned; follower thread only */
    size_t n_applied, cap_applied;
    struct verified *verified; /* owned; follower thread only */
    size_t n_verified, cap_verified;
};

/* snprintf for paths: 0, or -1 when it did not fit. */
__attribute__((format(printf, 3, 4))) static int path_fmt(char *out, size_t len, const char *fmt,
                                                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

mmsp_err serve_follow_model_name(const char *deployment, const char *environment, char *out,
                                 size_t outlen)
{
    int bad = !deployment || !*deployment || deployment[0] == '.' || strchr(deployment, '/');
    if (!bad && (!environment || strcmp(environment, "production") == 0))
        bad = path_fmt(out, outlen, "%s", deployment);
    else if (!bad)
        bad = strchr(environment, '/') || path_fmt(out, outlen, "%s@%s", deployment, environment);
    return bad ? MMSP_E_INVALID : MMSP_OK;
}

/* ---- the serving directory ---- */

mmsp_err serve_follow_serving_dir(struct registry *reg, const char *serving_dir, char **out,
                                  char *err, size_t errlen)
{
    char dir[PATH_BYTES];
    if (serving_dir && *serving_dir) {
        *out = strdup(serving_dir);
    } else if (path_fmt(dir, sizeof dir, "%s/serving", registry_data_dir(reg))) {
        snprintf(err, errlen, "data directory path too long");
        return MMSP_E_INVALID;
    } else {
        *out = strdup(dir);
    }
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return MMSP_E_NOMEM;
    }
    return MMSP_OK;
}

static mmsp_err mkdirs(const char *path, char *err, size_t errlen)
{
    char buf[PATH_BYTES];
    if (path_fmt(buf, sizeof buf, "%s", path)) {
        snprintf(err, errlen, "serving directory path too long");
        return MMSP_E_INVALID;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %.180s: %s", buf, strerror(errno));
            return MMSP_E_IO;
        }
        if (c == '\0')
            return MMSP_OK;
        *p = c;
    }
}

/* Creates the serving directory or checks that an existing one is ours, then locks it. */
static mmsp_err prepare_dir(struct serve_follow *f, char *err, size_t errlen)
{
    char marker[PATH_BYTES];
    struct stat st;
    mmsp_err rc = mkdirs(f->dir, err, errlen);
    if (rc)
        return rc;
    if (path_fmt(marker, sizeof marker, "%s/" MARKER, f->dir)) {
        snprintf(err, errlen, "serving directory path too long");
        return MMSP_E_INVALID;
    }
    if (stat(marker, &st) != 0) {
        DIR *d = opendir(f->dir);
        if (!d) {
            snprintf(err, errlen, "cannot read %.180s: %s", f->dir, strerror(errno));
            return MMSP_E_IO;
        }
        int empty = 1;
        for (struct dirent *de; (de = readdir(d));)
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                empty = 0;
        closedir(d);
        if (!empty) {
            snprintf(err, errlen,
                     "serving directory %s is not empty and was not made by mmsp serve (no %s "
                     "in it): give an empty or new directory",
                     f->dir, MARKER);
            return MMSP_E_INVALID;
        }
    }
    f->lock_fd = open(marker, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f->lock_fd < 0) {
        snprintf(err, errlen, "cannot create %.180s: %s", marker, strerror(errno));
        return MMSP_E_IO;
    }
    if (flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen,
                 "serving directory %s is in use by another mmsp serve (give each server its "
                 "own --serving-dir)",
                 f->dir);
        return MMSP_E_IO;
    }
    return MMSP_OK;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf of a directory inside the serving directory (never follows symlinks). */
static void remove_tree(const char *path)
{
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        log_warn("serve.follow", "cannot remove %s: %s", path, strerror(errno));
}

/* ---- artifacts ---- */

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

static int is_verified(const struct serve_follow *f, const char *digest, const struct file_id *id)
{
    for (size_t i = 0; i < f->n_verified; i++) {
        const struct verified *v = &f->verified[i];
        if (v->dev == id->dev && v->ino == id->ino && v->size == id->size &&
            v->mtime_ns == id->mtime_ns && strcmp(v->digest, digest) == 0)
            return 1;
    }
    return 0;
}

static void remember_verified(struct serve_follow *f, const char *digest, const struct file_id *id)
{
    if (f->n_verified == MAX_VERIFIED)
        f->n_verified = 0;
    if (f->n_verified == f->cap_verified) {
        size_t cap = f->cap_verified ? 2 * f->cap_verified : 16;
        struct verified *nv = realloc(f->verified, cap * sizeof *nv);
        if (!nv)
            return; /* checked again next time */
        f->verified = nv;
        f->cap_verified = cap;
    }
    struct verified *v = &f->verified[f->n_verified++];
    snprintf(v->digest, sizeof v->digest, "%s", digest);
    v->dev = id->dev;
    v->ino = id->ino;
    v->size = id->size;
    v->mtime_ns = id->mtime_ns;
}

/* Copies src to dst (created, fsynced). */
static mmsp_err copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    char *buf = malloc(COPY_BUF_BYTES);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!buf) {
        rc = MMSP_E_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (in < 0 || out < 0) {
        snprintf(err, errlen, "cannot copy %.100s to %.100s: %s", src, dst, strerror(errno));
        rc = MMSP_E_IO;
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, COPY_BUF_BYTES);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read %.180s: %s", src, strerror(errno));
            rc = MMSP_E_IO;
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                snprintf(err, errlen, "cannot write %.180s: %s", dst, strerror(errno));
                rc = MMSP_E_IO;
                goto out;
            }
            off += w;
        }
    }
    if (fsync(out) != 0) {
        snprintf(err, errlen, "cannot write %.180s: %s", dst, strerror(errno));
        rc = MMSP_E_IO;
    }
out:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && !rc) {
        snprintf(err, errlen, "cannot write %.180s: %s", dst, strerror(errno));
        rc = MMSP_E_IO;
    }
    free(buf);
    return rc;
}

/* Writes text to path through path.tmp + fsync + rename. */
static mmsp_err write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[PATH_BYTES];
    if (path_fmt(tmp, sizeof tmp, "%s.tmp", path)) {
        snprintf(err, errlen, "path too long: %s", path);
        return MMSP_E_INVALID;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %.180s: %s", tmp, strerror(errno));
        return MMSP_E_IO;
    }
    size_t len = strlen(text), off = 0;
    int bad = 0;
    while (off < len && !bad) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            bad = 1;
        else
            off += (size_t)w;
    }
    if (bad || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %.180s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return MMSP_E_IO;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %.180s: %s", tmp, strerror(errno));
        unlink(tmp);
        return MMSP_E_IO;
    }
    return MMSP_OK;
}

/*
 * Puts version v's artifact at MDIR/<version>/model.json (XGBoost) or model.onnx: a hard link
 * to the artifact, or a copy (with a .digest note beside it) when linking is not possible.
 * The artifact's digest is checked first unless this very file state was checked before.
 * Nothing is replaced when the right file is there already (so the model manager reuses the
 * loaded version).
 */
static mmsp_err materialise_version(struct serve_follow *f, const char *mdir,
                                    const struct reg_version *v, char *err, size_t errlen)
{
    char apath[PATH_BYTES], vdir[PATH_BYTES], dst[PATH_BYTES], other[PATH_BYTES];
    char tmp[PATH_BYTES], note[PATH_BYTES];
    struct file_id aid, did;
    mmsp_err rc;
    const char *file = NULL, *other_file = NULL;
    if (v->format && strcmp(v->format, "xgboost") == 0) {
        file = "model.json";
        other_file = "model.onnx";
    } else if (v->format && strcmp(v->format, "onnx") == 0) {
        file = "model.onnx";
        other_file = "model.json";
    } else {
        snprintf(err, errlen, "unknown artifact format '%s'", v->format ? v->format : "");
        return MMSP_E_INVALID;
    }
    if (!v->digest) {
        snprintf(err, errlen, "the version has no artifact digest");
        return MMSP_E_INVALID;
    }
    rc = registry_artifact_path(f->reg, v, 0, apath, sizeof apath, err, errlen);
    if (rc)
        return rc;
    if (file_identity(apath, &aid)) {
        snprintf(err, errlen, "artifact %.180s: %s", apath, strerror(errno ? errno : ENOENT));
        return MMSP_E_NOT_FOUND;
    }
    if (!is_verified(f, v->digest, &aid)) {
        uint64_t t0 = now_ms();
        rc = registry_artifact_path(f->reg, v, 1, apath, sizeof apath, err, errlen);
        if (rc)
            return rc;
        remember_verified(f, v->digest, &aid);
        log_debug("serve.follow", "artifact %s verified (%lld bytes, %llu ms)", apath,
                  (long long)aid.size, (unsigned long long)(now_ms() - t0));
    }
    if (path_fmt(vdir, sizeof vdir, "%s/%lld", mdir, (long long)v->version) ||
        path_fmt(dst, sizeof dst, "%s/%s", vdir, file) ||
        path_fmt(other, sizeof other, "%s/%s", vdir, other_file) ||
        path_fmt(tmp, sizeof tmp, "%s/.%s.tmp", vdir, file) ||
        path_fmt(note, sizeof note, "%s/.digest", vdir)) {
        snprintf(err, errlen, "serving path too long under %.180s", mdir);
        return MMSP_E_INVALID;
    }
    if (mkdir(vdir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %.180s: %s", vdir, strerror(errno));
        return MMSP_E_IO;
    }
    unlink(other); /* a version of another model in another format may have been here */
    if (file_identity(dst, &did) == 0) {
        if (did.dev == aid.dev && did.ino == aid.ino)
            return MMSP_OK; /* linked already */
        char seen[80] = "";
        FILE *nf = fopen(note, "r");
        if (nf) {
            if (!fgets(seen, sizeof seen, nf))
                seen[0] = '\0';
            fclose(nf);
        }
        seen[strcspn(seen, "\n")] = '\0';
        if (did.size == aid.size && strcmp(seen, v->digest) == 0)
            return MMSP_OK; /* copied already */
    }
    unlink(tmp);
    unlink(note);
    if (link(apath, tmp) != 0) {
        if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOTSUP &&
            errno != EOPNOTSUPP) {
            snprintf(err, errlen, "cannot link %.100s to %.100s: %s", apath, tmp, strerror(errno));
            return MMSP_E_IO;
        }
        if ((rc = copy_file(apath, tmp, err, errlen))) {
            unlink(tmp);
            return rc;
        }
        char text[80];
        snprintf(text, sizeof text, "%s\n", v->digest);
        if ((rc = write_atomic(note, text, err, errlen))) {
            unlink(tmp);
            return rc;
        }
    }
    if (rename(tmp, dst) != 0) {
        snprintf(err, errlen, "cannot rename %.180s: %s", tmp, strerror(errno));
        unlink(tmp);
        return MMSP_E_IO;
    }
    return MMSP_OK;
}

/* ---- applying deployments ---- */

/* mmsp_deployment_generation{model} := g (when the server gave the family). */
static void set_generation(struct serve_follow *f, const char *name, double g)
{
    const char *labels[1] = {name};
    struct metric_series *s = f->generation ? metrics_series(f->generation, labels) : NULL;
    if (s)
        metrics_gauge_set(s, g);
}

static struct applied *applied_find(struct serve_follow *f, const char *name)
{
    for (size_t i = 0; i < f->n_applied; i++)
        if (strcmp(f->applied[i].name, name) == 0)
            return &f->applied[i];
    return NULL;
}

static struct applied *applied_add(struct serve_follow *f, const char *name)
{
    if (f->n_applied == f->cap_applied) {
        size_t cap = f->cap_applied ? 2 * f->cap_applied : 16;
        struct applied *na = realloc(f->applied, cap * sizeof *na);
        if (!na)
            return NULL;
        f->applied = na;
        f->cap_applied = cap;
    }
    struct applied *a = &f->applied[f->n_applied++];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    return a;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A deployment's names for a YAML comment: printable ASCII only. */
static const char *printable(const char *s, char *out, size_t outlen)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < outlen; i++)
        out[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
    out[i] = '\0';
    return out;
}

/* Removes version directories of mdir that are not in keep[]. */
static void remove_stale_versions(const char *mdir, const int64_t *keep, size_t n_keep)
{
    DIR *d = opendir(mdir);
    if (!d)
        return;
    for (struct dirent *de; (de = readdir(d));) {
        char *end;
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        long long v = strtoll(de->d_name, &end, 10);
        if (*end)
            continue;
        int wanted = 0;
        for (size_t i = 0; i < n_keep; i++)
            wanted |= keep[i] == v;
        char path[PATH_BYTES];
        if (!wanted && path_fmt(path, sizeof path, "%s/%s", mdir, de->d_name) == 0)
            remove_tree(path);
    }
    closedir(d);
}

/*
 * Makes model `name` serve deployment d: materialise its versions, write config.yaml, load
 * with the split. On failure the previous set keeps serving and the failure is recorded in
 * the model manager (shown by the repository index) and logged.
 */
static mmsp_err apply(struct serve_follow *f, const struct reg_deployment *d, const char *name)
{
    mmsp_err rc = MMSP_OK;
    char err[MMSP_ERRMSG_MAX] = "", mdir[PATH_BYTES], cfg[PATH_BYTES], text[2048];
    char pd[NAME_BYTES], pm[NAME_BYTES];
    int64_t want[MAX_DEP_VERS];
    size_t n_want = 0;
    int64_t failed_version = 0;
    uint64_t t0 = now_ms();
    const int64_t cand[MAX_DEP_VERS] = {d->stable_version, d->canary_version, d->shadow_version};
    for (size_t i = 0; i < MAX_DEP_VERS; i++) {
        int dup = cand[i] <= 0;
        for (size_t k = 0; k < n_want; k++)
            dup |= want[k] == cand[i];
        if (!dup)
            want[n_want++] = cand[i];
    }
    qsort(want, n_want, sizeof want[0], cmp_i64);
    if (path_fmt(mdir, sizeof mdir, "%s/%s", f->dir, name) ||
        path_fmt(cfg, sizeof cfg, "%s/config.yaml", mdir)) {
        snprintf(err, sizeof err, "serving path too long");
        rc = MMSP_E_INVALID;
        goto out;
    }
    if (d->stable_version <= 0) {
        /* Nothing to serve (no stable version): stop serving what served before. */
        char uerr[MMSP_ERRMSG_MAX];
        serve_repo_unload(f->repo, name, uerr, sizeof uerr);
        remove_tree(mdir);
        log_info("serve.follow", "deployment '%s' (%s) has no stable version: model '%s' unloaded",
                 d->name, d->environment, name);
        set_generation(f, name, (double)d->generation);
        return MMSP_OK;
    }
    if ((rc = mkdirs(mdir, err, sizeof err)))
        goto out;
    for (size_t i = 0; i < n_want && !rc; i++) {
        struct reg_version v;
        memset(&v, 0, sizeof v);
        failed_version = want[i];
        rc = registry_version_get(f->reg, d->model, want[i], &v, err, sizeof err);
        if (!rc)
            rc = materialise_version(f, mdir, &v, err, sizeof err);
        reg_version_free(&v);
    }
    if (rc)
        goto out;
    failed_version = 0;
    size_t off = (size_t)snprintf(
        text, sizeof text,
        "# Written by mmsp serve from deployment '%s' (environment %s, model '%s'): stable %lld,\n"
        "# canary %lld at %d %%, shadow %lld (0 = none). Rewritten on every change; do not edit.\n"
        "version_policy:\n  specific:\n    versions: [",
        printable(d->name, pd, sizeof pd), d->environment, printable(d->model, pm, sizeof pm),
        (long long)d->stable_version, (long long)d->canary_version, d->canary_weight,
        (long long)d->shadow_version);
    for (size_t i = 0; i < n_want && off < sizeof text; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, "%s%lld", i ? ", " : "",
                                (long long)want[i]);
    if (off < sizeof text)
        snprintf(text + off, sizeof text - off, "]\n");
    if ((rc = write_atomic(cfg, text, err, sizeof err)))
        goto out;
    struct serve_traffic t = {
        .stable = d->stable_version,
        .canary = d->canary_version > 0 ? d->canary_version : 0,
        .canary_weight = d->canary_version > 0 ? d->canary_weight : 0,
    };
    rc = serve_repo_load_traffic(f->repo, name, &t, err, sizeof err);
    if (rc)
        goto out;
    remove_stale_versions(mdir, want, n_want);
    set_generation(f, name, (double)d->generation);
    char shadow[48] = "", canary[64] = "";
    if (t.canary)
        snprintf(canary, sizeof canary, ", canary %lld at %d %%", (long long)t.canary,
                 t.canary_weight);
    if (d->shadow_version > 0)
        snprintf(shadow, sizeof shadow, ", shadow %lld", (long long)d->shadow_version);
    log_info("serve.follow",
             "deployment '%s' (%s): model '%s' serves '%s' stable %lld%s%s (applied in %llu ms)",
             d->name, d->environment, name, d->model, (long long)t.stable, canary, shadow,
             (unsigned long long)(now_ms() - t0));
out:
    if (rc) {
        char reason[4 * MMSP_ERRMSG_MAX];
        if (failed_version)
            snprintf(reason, sizeof reason, "deployment '%s' (%s): version %lld of model '%s': %s",
                     d->name, d->environment, (long long)failed_version, d->model, err);
        else
            snprintf(reason, sizeof reason, "deployment '%s' (%s): %s", d->name, d->environment,
                     err);
        log_error("serve.follow", "%s; the previous versions keep serving", reason);
        serve_repo_note_failure(f->repo, name, failed_version, reason);
    }
    return rc;
}

/* Removes served models (and directories) that no deployment names any more. */
static void drop_gone(struct serve_follow *f, const char *const *names, size_t n_names)
{
    for (size_t i = 0; i < f->n_applied;) {
        if (f->applied[i].seen) {
            i++;
            continue;
        }
        char err[MMSP_ERRMSG_MAX], mdir[PATH_BYTES];
        const char *name = f->applied[i].name;
        if (serve_repo_unload(f->repo, name, err, sizeof err) == MMSP_OK)
            log_info("serve.follow", "model '%s' unloaded: its deployment is gone", name);
        set_generation(f, name, 0);
        if (path_fmt(mdir, sizeof mdir, "%s/%s", f->dir, name) == 0)
            remove_tree(mdir);
        f->applied[i] = f->applied[--f->n_applied];
    }
    /* Directories left by an earlier run for deployments that are gone. */
    DIR *d = opendir(f->dir);
    if (!d)
        return;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        int known = 0;
        for (size_t i = 0; i < n_names && !known; i++)
            known = strcmp(names[i], de->d_name) == 0;
        char path[PATH_BYTES];
        struct stat st;
        if (!known && path_fmt(path, sizeof path, "%s/%s", f->dir, de->d_name) == 0 &&
            lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
    }
    closedir(d);
}

/* One pass over the deployments. MMSP_OK when the store could be read (failures of single
 * deployments are recorded and logged, not returned). */
static mmsp_err pass(struct serve_follow *f, char *err, size_t errlen)
{
    struct reg_deployment *deps = NULL;
    size_t n = 0;
    mmsp_err rc = registry_deployment_list(f->reg, &deps, &n, err, errlen);
    if (rc)
        return rc;
    char(*names)[NAME_BYTES] = calloc(n ? n : 1, sizeof *names);
    const char **name_ptrs = calloc(n ? n : 1, sizeof *name_ptrs);
    size_t n_names = 0;
    if (!names || !name_ptrs) {
        snprintf(err, errlen, "out of memory");
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < f->n_applied; i++)
        f->applied[i].seen = 0;
    for (size_t i = 0; i < n && !atomic_load(&f->stopping); i++) {
        const struct reg_deployment *d = &deps[i];
        char *name = names[n_names];
        if (!d->name || !d->environment || !d->model)
            continue; /* the store always fills these */
        if (serve_follow_model_name(d->name, d->environment, name, NAME_BYTES)) {
            log_error("serve.follow",
                      "deployment '%s' (%s) cannot be served: its name is not usable as a "
                      "model name",
                      d->name, d->environment);
            continue;
        }
        int dup = 0;
        for (size_t k = 0; k < n_names; k++)
            dup |= strcmp(name_ptrs[k], name) == 0;
        if (dup) {
            log_error("serve.follow",
                      "deployment '%s' (%s): model name '%s' is taken by another "
                      "deployment; not served",
                      d->name, d->environment, name);
            continue;
        }
        name_ptrs[n_names++] = name;
        struct applied *a = applied_find(f, name);
        if (a && a->ok && a->generation == d->generation) {
            a->seen = 1;
            continue;
        }
        if (!a && !(a = applied_add(f, name))) {
            snprintf(err, errlen, "out of memory");
            rc = MMSP_E_NOMEM;
            goto out;
        }
        a->seen = 1;
        a->generation = d->generation;
        a->ok = apply(f, d, name) == MMSP_OK;
    }
    if (!atomic_load(&f->stopping))
        drop_gone(f, name_ptrs, n_names);
out:
    free(names);
    free(name_ptrs);
    reg_deployment_list_free(deps, n);
    return rc;
}

static void *follow_main(void *arg)
{
    struct serve_follow *f = arg;
    int64_t last = 0;
    int have_last = 0, held = 1;
    char err[MMSP_ERRMSG_MAX], last_err[MMSP_ERRMSG_MAX] = "";
    for (;;) {
        pthread_mutex_lock(&f->mu);
        if (have_last) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += f->poll_ms / 1000;
            until.tv_nsec += (long)(f->poll_ms % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while (!f->stop && !f->woken)
                if (pthread_cond_timedwait(&f->cv, &f->mu, &until) == ETIMEDOUT)
                    break;
        }
        int stop = f->stop;
        f->woken = 0;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        int64_t gen = 0;
        err[0] = '\0';
        mmsp_err rc = registry_deployments_generation(f->reg, &gen, err, sizeof err);
        if (!rc && have_last && gen == last)
            continue;
        if (!rc)
            rc = pass(f, err, sizeof err);
        if (rc) {
            /* The store could not be read: retried at the next poll, logged once per cause. */
            if (strcmp(err, last_err) != 0)
                log_error("serve.follow", "cannot read the deployments: %s",
                          err[0] ? err : mmsp_strerror(rc));
            snprintf(last_err, sizeof last_err, "%s", err);
            continue;
        }
        last_err[0] = '\0';
        last = gen;
        have_last = 1;
        atomic_fetch_add(&f->passes, 1);
        if (held) {
            serve_repo_hold_ready(f->repo, 0);
            held = 0;
            log_info("serve.follow", "serving the deployments of the registry (generation %lld)",
                     (long long)gen);
        }
    }
    return NULL;
}

mmsp_err serve_follow_start(const struct serve_follow_options *o, struct serve_follow **out,
                            char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct serve_follow *f = calloc(1, sizeof *f);
    if (!f)
        return MMSP_E_NOMEM;
    f->reg = o->registry;
    f->repo = o->repo;
    f->generation = o->generation;
    f->poll_ms = o->poll_ms ? o->poll_ms : SERVE_FOLLOW_POLL_MS;
    f->lock_fd = -1;
    atomic_init(&f->stopping, 0);
    atomic_init(&f->passes, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* poll periods ignore wall-clock jumps */
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!o->registry || !o->repo) {
        snprintf(err, errlen, "registry mode needs a registry");
        rc = MMSP_E_INVALID;
        goto out;
    }
    if ((rc = serve_follow_serving_dir(o->registry, o->serving_dir, &f->dir, err, errlen)))
        goto out;
    if ((rc = prepare_dir(f, err, errlen)))
        goto out;
    serve_repo_hold_ready(f->repo, 1);
    if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
        serve_repo_hold_ready(f->repo, 0);
        snprintf(err, errlen, "cannot start the deployment follower thread");
        rc = MMSP_E_INTERNAL;
        goto out;
    }
    f->started = 1;
out:
    if (rc) {
        serve_follow_stop(f);
        return rc;
    }
    *out = f;
    return MMSP_OK;
}

void serve_follow_wake(void *ctx)
{
    struct serve_follow *f = ctx;
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->woken = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

uint64_t serve_follow_passes(struct serve_follow *f)
{
    return f ? (uint64_t)atomic_load(&f->passes) : 0;
}

void serve_follow_stop(struct serve_follow *f)
{
    if (!f)
        return;
    if (f->started) {
        atomic_store(&f->stopping, 1);
        pthread_mutex_lock(&f->mu);
        f->stop = 1;
        pthread_cond_signal(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
    }
    if (f->lock_fd >= 0)
        close(f->lock_fd); /* releases the flock */
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->applied);
    free(f->verified);
    free(f->dir);
    free(f);
}
