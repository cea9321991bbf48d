/*
 * The registry handle (registry.h): open (data directory, store URL, schema migrations) and
 * close, the mutex that serialises use of the one connection, the integrity check over the
 * store and every artifact, and the helpers the other registry_*.c files share (names and
 * text checks, numbers as text, time, page tokens, free functions).
 * Calls: registry/db, registry/artifacts, OpenSSL (base64), jansson.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "registry/artifacts.h"
#include "registry/registry_internal.h"

#define PAGE_TOKEN_MAX 256 /* bytes of a page token we accept */

/* ---- small helpers ---- */

void reg_lock(struct registry *r)
{
    pthread_mutex_lock(&r->mu);
}

void reg_unlock(struct registry *r)
{
    pthread_mutex_unlock(&r->mu);
}

mmsp_err reg_fail(char *err, size_t errlen, mmsp_err rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int64_t reg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *reg_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

const char *reg_who(struct registry *r, const char *who)
{
    if (who && *who)
        return who;
    if (r->user && *r->user)
        return r->user;
    return "unknown";
}

int reg_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

mmsp_err reg_check_name(const char *s, const char *what, char *err, size_t errlen)
{
    if (!s || !*s)
        return reg_fail(err, errlen, MMSP_E_INVALID, "%s is empty", what);
    size_t n = strnlen(s, REG_NAME_MAX);
    if (n >= REG_NAME_MAX)
        return reg_fail(err, errlen, MMSP_E_INVALID, "%s is longer than %d bytes", what,
                        REG_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
            return reg_fail(err, errlen, MMSP_E_INVALID,
                            "%s '%.64s' may not contain '/', '\\' or control characters", what,
                            c < 0x20 || c == 0x7f ? "(unprintable)" : s);
    }
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return reg_fail(err, errlen, MMSP_E_INVALID, "%s may not be '%s'", what, s);
    if (!reg_utf8_valid(s))
        return reg_fail(err, errlen, MMSP_E_INVALID, "%s is not valid UTF-8", what);
    return MMSP_OK;
}

mmsp_err reg_check_text(const char *s, size_t max, const char *what, char *err, size_t errlen)
{
    if (s && strnlen(s, max + 1) > max)
        return reg_fail(err, errlen, MMSP_E_INVALID, "%s is longer than %zu bytes", what, max);
    if (s && !reg_utf8_valid(s))
        return reg_fail(err, errlen, MMSP_E_INVALID, "%s is not valid UTF-8", what);
    return MMSP_OK;
}

mmsp_err reg_check_tag(const char *key, const char *value, char *err, size_t errlen)
{
    if (!key || !*key)
        return reg_fail(err, errlen, MMSP_E_INVALID, "tag key is empty");
    if (strnlen(key, REG_TAG_KEY_MAX + 1) > REG_TAG_KEY_MAX)
        return reg_fail(err, errlen, MMSP_E_INVALID, "tag key is longer than %d bytes",
                        REG_TAG_KEY_MAX);
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return reg_fail(err, errlen, MMSP_E_INVALID, "tag key contains control characters");
    if (!reg_utf8_valid(key))
        return reg_fail(err, errlen, MMSP_E_INVALID, "tag key is not valid UTF-8");
    if (!value)
        return reg_fail(err, errlen, MMSP_E_INVALID, "tag '%.64s' has no value", key);
    return reg_check_text(value, REG_TAG_VALUE_MAX, "tag value", err, errlen);
}

char *reg_i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

char *reg_f64(char buf[32], double v)
{
    /* The shortest of %.15g..%.17g that reads back as v: "0.9", not "0.90000000000000002". */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

int64_t reg_cell_i64(const char *s)
{
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return 0;
    return (int64_t)v;
}

double reg_cell_f64(const char *s)
{
    if (!s || !*s)
        return 0.0;
    char *end;
    double v = strtod(s, &end);
    return *end ? 0.0 : v;
}

/* ---- stages ---- */

static const char *const stage_names[] = {"None", "Staging", "Production", "Archived"};

const char *reg_stage_name(enum reg_stage s)
{
    if ((int)s < 0 || (size_t)s >= sizeof stage_names / sizeof stage_names[0])
        return "None";
    return stage_names[s];
}

int reg_stage_parse(const char *s)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof stage_names / sizeof stage_names[0]; i++)
        if (strcasecmp(s, stage_names[i]) == 0)
            return (int)i;
    return -1;
}

/* ---- page tokens: base64 of {"offset": N}, as MLflow's own ---- */

char *reg_page_token_encode(size_t offset)
{
    char json[64];
    int n = snprintf(json, sizeof json, "{\"offset\": %zu}", offset);
    char *out = malloc(4 * ((size_t)n + 2) / 3 + 4);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)json, n);
    return out;
}

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

mmsp_err reg_page_token_decode(const char *token, size_t *offset, char *err, size_t errlen)
{
    *offset = 0;
    if (!token || !*token)
        return MMSP_OK;
    size_t len = strnlen(token, PAGE_TOKEN_MAX + 1);
    if (len > PAGE_TOKEN_MAX || len % 4 != 0)
        goto bad;
    size_t pad = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_b64(token[i]) && pad == 0)
            continue;
        if (token[i] == '=' && i >= len - 2) {
            pad++;
            continue;
        }
        goto bad;
    }
    unsigned char raw[PAGE_TOKEN_MAX];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)token, (int)len);
    if (n < 0 || (size_t)n < pad)
        goto bad;
    n -= (int)pad;
    json_error_t je;
    json_t *doc = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    json_t *off = json_object_get(doc, "offset");
    int ok = json_is_object(doc) && json_object_size(doc) == 1 && json_is_integer(off) &&
             json_integer_value(off) >= 0 && json_integer_value(off) <= (json_int_t)1 << 40;
    if (ok)
        *offset = (size_t)json_integer_value(off);
    json_decref(doc);
    if (ok)
        return MMSP_OK;
bad:
    return reg_fail(err, errlen, MMSP_E_INVALID, "invalid page token");
}

/* ---- open / close ---- */

/* mkdir -p */
static mmsp_err make_dirs(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return reg_fail(err, errlen, MMSP_E_INVALID, "data directory path is empty or too long");
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return reg_fail(err, errlen, MMSP_E_IO, "%s: %s", buf, strerror(errno));
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return reg_fail(err, errlen, MMSP_E_IO, "%s: not a directory", path);
    return MMSP_OK;
}

mmsp_err registry_open(const struct registry_options *o, struct registry **out, char *err,
                       size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct registry *r = NULL;
    char *url = NULL;

    if (out)
        *out = NULL;
    if (!o || !out || !o->data_dir || !*o->data_dir) {
        rc = reg_fail(err, errlen, MMSP_E_INVALID, "registry: a data directory is required");
        goto out;
    }
    rc = reg_check_text(o->user, REG_NAME_MAX, "user", err, errlen);
    if (rc)
        goto out;
    rc = make_dirs(o->data_dir, err, errlen);
    if (rc)
        goto out;
    r = calloc(1, sizeof *r);
    if (!r) {
        rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->data_dir = strdup(o->data_dir);
    r->user = o->user ? strdup(o->user) : NULL;
    if (o->url && *o->url) {
        url = strdup(o->url);
    } else {
        size_t n = strlen(o->data_dir) + sizeof "sqlite:/registry.db";
        url = malloc(n);
        if (url)
            snprintf(url, n, "sqlite:%s/registry.db", o->data_dir);
    }
    if (!r->data_dir || !url || (o->user && !r->user)) {
        rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    rc = db_open(url, &r->db, err, errlen);
    if (rc)
        goto out;
    /* LIKE is case-sensitive in PostgreSQL; make SQLite's match (search filters). */
    if (db_kind(r->db) == DB_SQLITE) {
        rc = db_exec(r->db, "PRAGMA case_sensitive_like = ON", NULL, 0, NULL, err, errlen);
        if (rc)
            goto out;
    }
    rc = db_migrate(r->db, registry_migrations, registry_n_migrations, err, errlen);
    if (rc)
        goto out;
    *out = r;
    r = NULL;
out:
    free(url);
    registry_close(r);
    return rc;
}

void registry_close(struct registry *r)
{
    if (!r)
        return;
    db_close(r->db);
    pthread_mutex_destroy(&r->mu);
    free(r->data_dir);
    free(r->user);
    free(r);
}

const char *registry_data_dir(const struct registry *r)
{
    return r ? r->data_dir : NULL;
}

/* ---- events ---- */

mmsp_err reg_event_insert(struct registry *r, const char *deployment, const char *environment,
                          const char *who, const char *action, const char *detail, char *err,
                          size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    char id[24], at[24];

    rc =
        db_query(r->db, "SELECT COALESCE(MAX(id), 0) + 1 FROM events", NULL, 0, &rows, err, errlen);
    if (rc)
        goto out;
    reg_i64(id, reg_cell_i64(db_cell(&rows, 0, 0)));
    reg_i64(at, reg_now_ms());
    const char *p[7] = {
        id,     deployment ? deployment : "", environment ? environment : "", at, reg_who(r, who),
        action, detail ? detail : "{}"};
    rc = db_exec(r->db,
                 "INSERT INTO events (id, deployment, environment, at_ms, who, action, detail)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)",
                 p, 7, NULL, err, errlen);
out:
    db_rows_free(&rows);
    return rc;
}

/* ---- free functions ---- */

static void kv_list_free(struct reg_kv *kv, size_t n)
{
    for (size_t i = 0; kv && i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void reg_model_free(struct reg_model *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->description);
    free(m->user_id);
    kv_list_free(m->tags, m->n_tags);
    kv_list_free(m->aliases, m->n_aliases);
    memset(m, 0, sizeof *m);
}

void reg_model_list_free(struct reg_model *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++)
        reg_model_free(&m[i]);
    free(m);
}

void reg_version_free(struct reg_version *v)
{
    if (!v)
        return;
    free(v->name);
    free(v->user_id);
    free(v->description);
    free(v->status);
    free(v->status_message);
    free(v->digest);
    free(v->format);
    free(v->source);
    free(v->run_id);
    free(v->run_link);
    for (size_t i = 0; v->metrics && i < v->n_metrics; i++)
        free(v->metrics[i].key);
    free(v->metrics);
    kv_list_free(v->tags, v->n_tags);
    for (size_t i = 0; v->aliases && i < v->n_aliases; i++)
        free(v->aliases[i]);
    free(v->aliases);
    free(v->git_sha);
    free(v->dataset_version);
    free(v->approver);
    free(v->framework);
    free(v->manifest);
    free(v->gate_status);
    free(v->gate_report);
    memset(v, 0, sizeof *v);
}

void reg_version_list_free(struct reg_version *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        reg_version_free(&v[i]);
    free(v);
}

void reg_deployment_free(struct reg_deployment *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->environment);
    free(d->model);
    free(d->state);
    free(d->cohort_header);
    memset(d, 0, sizeof *d);
}

void reg_deployment_list_free(struct reg_deployment *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        reg_deployment_free(&d[i]);
    free(d);
}

void reg_event_list_free(struct reg_event *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++) {
        free(e[i].deployment);
        free(e[i].environment);
        free(e[i].who);
        free(e[i].action);
        free(e[i].detail);
    }
    free(e);
}

/* ---- check ---- */

/* Appends "; msg" (or msg) to err, ending in "..." when it no longer fits. */
static void add_problem(char *err, size_t errlen, size_t *count, const char *msg)
{
    if (!err || errlen < 8)
        return;
    size_t used = strlen(err);
    int n = snprintf(err + used, errlen - used, "%s%s", *count ? "; " : "", msg);
    if (n < 0 || (size_t)n >= errlen - used)
        memcpy(err + errlen - 4, "...", 4);
    (*count)++;
}

mmsp_err registry_check(struct registry *r, char *err, size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    size_t problems = 0;
    char msg[512];

    if (err && errlen)
        err[0] = '\0';
    reg_lock(r);
    rc = db_integrity_check(r->db, msg, sizeof msg);
    if (rc == MMSP_OK)
        rc = db_query(r->db,
                      "SELECT name, version, digest, size FROM versions ORDER BY name, version",
                      NULL, 0, &rows, msg, sizeof msg);
    reg_unlock(r);
    if (rc) {
        add_problem(err, errlen, &problems, msg);
        rc = rc == MMSP_E_IO ? MMSP_E_IO : MMSP_E_INTERNAL;
        goto out;
    }
    /* Hash outside the lock: other calls go on while large artifacts are read. */
    for (size_t i = 0; i < rows.n_rows; i++) {
        const char *name = db_cell(&rows, i, 0), *version = db_cell(&rows, i, 1);
        const char *digest = db_cell(&rows, i, 2);
        char path[4096], why[4400];
        if (artifact_path(r->data_dir, digest, path, sizeof path, why, sizeof why) == MMSP_OK &&
            artifact_verify(path, digest, reg_cell_i64(db_cell(&rows, i, 3)), why, sizeof why) ==
                MMSP_OK)
            continue;
        /* why ends with what is wrong after the path; keep the short reason */
        size_t pl = strlen(path);
        const char *reason =
            strncmp(why, path, pl) == 0 && strncmp(why + pl, ": ", 2) == 0 ? why + pl + 2 : why;
        snprintf(msg, sizeof msg, "%.200s v%.24s: %.250s", name ? name : "?",
                 version ? version : "?", reason);
        add_problem(err, errlen, &problems, msg);
    }
    if (problems)
        rc = MMSP_E_INTERNAL;
out:
    db_rows_free(&rows);
    return rc;
}
