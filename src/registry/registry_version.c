/*
 * Model versions (registry.h, "versions"): registration (runtime load, gate, durable
 * artifact, then the version row in one transaction), get, search with paging, update,
 * delete, tags, stage transitions, and the artifact path of a version. The slow parts of a
 * registration (reading and loading the model, the gate, writing the artifact) run before
 * the registry's mutex is taken; only the database work holds it.
 * Calls: registry/db, registry/artifacts, registry_gate.c (policy), the mmsp runtime,
 * jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "mmsp/runtime.h"
#include "registry/artifacts.h"
#include "registry/registry_gate.h"
#include "registry/registry_internal.h"

#define VERSION_COLUMNS                                                                            \
    "name, version, created_ms, updated_ms, user_id, description, stage, status,"                  \
    " status_message, digest, format, size, source, run_id, run_link, git_sha,"                    \
    " dataset_version, approver, framework, manifest, gate_status, gate_report"

static mmsp_err nomem(char *err, size_t errlen)
{
    return reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
}

static mmsp_err version_not_found(const char *name, int64_t version, char *err, size_t errlen)
{
    return reg_fail(err, errlen, MMSP_E_NOT_FOUND,
                    "Model Version (name=%.256s, version=%lld) not found", name,
                    (long long)version);
}

/* ---- loading ---- */

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* Metrics, tags and aliases of v (name and version set). */
static mmsp_err load_extras(struct registry *r, struct reg_version *v, char *err, size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    char ver[24];
    const char *p[2] = {v->name, reg_i64(ver, v->version)};

    /* SQLite's text form of a REAL keeps 15 digits; ask for all 17 so values round-trip
     * (PostgreSQL's text form already does). */
    rc = db_query(r->db,
                  db_kind(r->db) == DB_SQLITE
                      ? "SELECT key, printf('%!.17g', value) FROM version_metrics"
                        " WHERE name = ? AND version = ? ORDER BY key"
                      : "SELECT key, value FROM version_metrics WHERE name = ? AND version = ?"
                        " ORDER BY key",
                  p, 2, &rows, err, errlen);
    if (rc)
        goto out;
    if (rows.n_rows && !(v->metrics = calloc(rows.n_rows, sizeof *v->metrics))) {
        rc = nomem(err, errlen);
        goto out;
    }
    for (; v->n_metrics < rows.n_rows; v->n_metrics++) {
        v->metrics[v->n_metrics].key = dup_or_empty(db_cell(&rows, v->n_metrics, 0));
        v->metrics[v->n_metrics].value = reg_cell_f64(db_cell(&rows, v->n_metrics, 1));
        if (!v->metrics[v->n_metrics].key) {
            rc = nomem(err, errlen);
            goto out;
        }
    }
    db_rows_free(&rows);

    rc = db_query(r->db,
                  "SELECT key, value FROM version_tags WHERE name = ? AND version = ?"
                  " ORDER BY key",
                  p, 2, &rows, err, errlen);
    if (rc)
        goto out;
    if (rows.n_rows && !(v->tags = calloc(rows.n_rows, sizeof *v->tags))) {
        rc = nomem(err, errlen);
        goto out;
    }
    for (; v->n_tags < rows.n_rows; v->n_tags++) {
        v->tags[v->n_tags].key = dup_or_empty(db_cell(&rows, v->n_tags, 0));
        v->tags[v->n_tags].value = dup_or_empty(db_cell(&rows, v->n_tags, 1));
        if (!v->tags[v->n_tags].key || !v->tags[v->n_tags].value) {
            v->n_tags++;
            rc = nomem(err, errlen);
            goto out;
        }
    }
    db_rows_free(&rows);

    rc = db_query(r->db,
                  "SELECT alias FROM model_aliases WHERE name = ? AND version = ? ORDER BY alias",
                  p, 2, &rows, err, errlen);
    if (rc)
        goto out;
    if (rows.n_rows && !(v->aliases = calloc(rows.n_rows, sizeof *v->aliases))) {
        rc = nomem(err, errlen);
        goto out;
    }
    for (; v->n_aliases < rows.n_rows; v->n_aliases++) {
        v->aliases[v->n_aliases] = dup_or_empty(db_cell(&rows, v->n_aliases, 0));
        if (!v->aliases[v->n_aliases]) {
            rc = nomem(err, errlen);
            goto out;
        }
    }
out:
    db_rows_free(&rows);
    return rc;
}

static mmsp_err version_from_row(const struct db_rows *rows, size_t i, struct reg_version *v,
                                 char *err, size_t errlen)
{
    const char *c[22];
    for (size_t k = 0; k < 22; k++)
        c[k] = db_cell(rows, i, k);
    memset(v, 0, sizeof *v);
    v->name = dup_or_empty(c[0]);
    v->version = reg_cell_i64(c[1]);
    v->created_ms = reg_cell_i64(c[2]);
    v->updated_ms = reg_cell_i64(c[3]);
    v->user_id = dup_or_empty(c[4]);
    v->description = dup_or_empty(c[5]);
    int stage = reg_stage_parse(c[6]);
    v->stage = stage < 0 ? REG_STAGE_NONE : (enum reg_stage)stage;
    v->status = dup_or_empty(c[7]);
    v->status_message = dup_or_empty(c[8]);
    v->digest = dup_or_empty(c[9]);
    v->format = dup_or_empty(c[10]);
    v->size = reg_cell_i64(c[11]);
    v->source = dup_or_empty(c[12]);
    char **opt[] = {&v->run_id,   &v->run_link,  &v->git_sha,  &v->dataset_version,
                    &v->approver, &v->framework, &v->manifest, &v->gate_report};
    const size_t col[] = {13, 14, 15, 16, 17, 18, 19, 21};
    int missing = 0;
    for (size_t k = 0; k < sizeof col / sizeof col[0]; k++) {
        *opt[k] = reg_strdup(c[col[k]]);
        if (c[col[k]] && !*opt[k])
            missing = 1;
    }
    v->gate_status = dup_or_empty(c[20]);
    if (!v->name || !v->user_id || !v->description || !v->status || !v->status_message ||
        !v->digest || !v->format || !v->source || !v->gate_status)
        missing = 1;
    if (missing) {
        reg_version_free(v);
        return nomem(err, errlen);
    }
    return MMSP_OK;
}

mmsp_err reg_version_load_where(struct registry *r, const char *where, const char *const *params,
                                size_t n_params, size_t limit, size_t offset,
                                struct reg_version **out, size_t *n, char *err, size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    struct reg_version *list = NULL;
    size_t count = 0;
    struct buf sql;

    *out = NULL;
    *n = 0;
    buf_init(&sql, 4096);
    if (buf_printf(&sql,
                   "SELECT " VERSION_COLUMNS " FROM versions%s%s"
                   " ORDER BY name, version LIMIT %zu OFFSET %zu",
                   where ? " WHERE " : "", where ? where : "", limit, offset)) {
        rc = reg_fail(err, errlen, MMSP_E_INTERNAL, "version query too long");
        goto out;
    }
    rc = db_query(r->db, sql.data, params, n_params, &rows, err, errlen);
    if (rc)
        goto out;
    if (rows.n_rows && !(list = calloc(rows.n_rows, sizeof *list))) {
        rc = nomem(err, errlen);
        goto out;
    }
    for (; count < rows.n_rows; count++) {
        rc = version_from_row(&rows, count, &list[count], err, errlen);
        if (rc)
            goto out;
        rc = load_extras(r, &list[count], err, errlen);
        if (rc) {
            count++;
            goto out;
        }
    }
    *out = list;
    *n = count;
    list = NULL;
out:
    reg_version_list_free(list, count);
    db_rows_free(&rows);
    buf_release(&sql);
    return rc;
}

mmsp_err reg_version_load(struct registry *r, const char *name, int64_t version,
                          struct reg_version *out, char *err, size_t errlen)
{
    struct reg_version *one = NULL;
    size_t n = 0;
    char ver[24];
    const char *p[2] = {name, reg_i64(ver, version)};

    memset(out, 0, sizeof *out);
    mmsp_err rc =
        reg_version_load_where(r, "name = ? AND version = ?", p, 2, 1, 0, &one, &n, err, errlen);
    if (rc)
        return rc;
    if (n == 0)
        return version_not_found(name, version, err, errlen);
    *out = one[0];
    free(one);
    return MMSP_OK;
}

/* ---- registration ---- */

/* Reads a whole regular file of at most REG_ARTIFACT_MAX bytes. */
static mmsp_err read_artifact(const char *path, unsigned char **data, size_t *len, char *err,
                              size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    unsigned char *buf = NULL;
    size_t got = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *data = NULL;
    *len = 0;
    if (fd < 0) {
        rc = reg_fail(err, errlen, errno == ENOENT ? MMSP_E_NOT_FOUND : MMSP_E_IO, "%s: %s", path,
                      strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = reg_fail(err, errlen, MMSP_E_INVALID, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size > REG_ARTIFACT_MAX) {
        rc = reg_fail(err, errlen, MMSP_E_TOO_LARGE, "%s: larger than the %d MB artifact limit",
                      path, REG_ARTIFACT_MAX >> 20);
        goto out;
    }
    /* One byte more than the size: a file that grows meanwhile is noticed. */
    size_t cap = (size_t)st.st_size + 1;
    if (!(buf = malloc(cap))) {
        rc = nomem(err, errlen);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = reg_fail(err, errlen, MMSP_E_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == cap) {
            rc = reg_fail(err, errlen, MMSP_E_IO, "%s: the file changed while it was read", path);
            goto out;
        }
    }
    *data = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Loads the artifact with the runtime; *format gets "xgboost" or "onnx" (static). */
static mmsp_err check_loadable(const void *data, size_t len, const char *path, const char **format,
                               char *err, size_t errlen)
{
    const char *hint = NULL;
    if (path && ends_with(path, ".onnx"))
        hint = "onnx";
    else if (path && ends_with(path, ".json"))
        hint = "xgboost_json";
    mmsp_model *m = NULL;
    mmsp_err rc =
        mmsp_model_load_buffer(data, len, hint, path ? path : "artifact", &m, err, errlen);
    if (rc) {
        if (rc != MMSP_E_UNSUPPORTED && rc != MMSP_E_NOMEM && rc != MMSP_E_TOO_LARGE)
            rc = MMSP_E_BAD_MODEL;
        return rc;
    }
    const mmsp_model_info *info = mmsp_model_get_info(m);
    *format = info && info->backend && strcmp(info->backend, "onnx") == 0 ? "onnx" : "xgboost";
    mmsp_model_release(m);
    return MMSP_OK;
}

static mmsp_err check_request(const struct reg_register_request *q, char *err, size_t errlen)
{
    mmsp_err rc;
    if ((rc = reg_check_name(q->name, "model name", err, errlen)))
        return rc;
    if (!q->artifact_data && !q->artifact_path)
        return reg_fail(err, errlen, MMSP_E_INVALID, "an artifact (file or bytes) is required");
    const char *texts[] = {q->source,   q->git_sha,     q->dataset_version, q->approver, q->run_id,
                           q->run_link, q->description, q->framework,       q->who};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if ((rc = reg_check_text(texts[i], REG_TEXT_MAX, "field", err, errlen)))
            return rc;
    for (size_t i = 0; i < q->n_tags; i++)
        if ((rc = reg_check_tag(q->tags[i].key, q->tags[i].value, err, errlen)))
            return rc;
    return MMSP_OK;
}

/* Inserts the version row and what hangs off it; *version gets its number. In a
 * transaction, lock held. */
static mmsp_err insert_version(struct registry *r, const struct reg_register_request *q,
                               const struct reg_gate *g, const char *manifest, const char *digest,
                               size_t size, const char *format, int64_t *version, char *err,
                               size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    char now[24], ver[24], sz[24], num[32];
    const char *who = reg_who(r, q->who);
    const struct manifest *m = &g->manifest;

    reg_i64(now, reg_now_ms());
    const char *pm[4] = {q->name, who, now, now};
    rc = db_exec(r->db,
                 "INSERT INTO models (name, description, user_id, created_ms, updated_ms)"
                 " VALUES (?, '', ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                 pm, 4, NULL, err, errlen);
    if (rc)
        goto out;
    const char *pn[1] = {q->name};
    rc = db_query(r->db, "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE name = ?", pn, 1,
                  &rows, err, errlen);
    if (rc)
        goto out;
    *version = reg_cell_i64(db_cell(&rows, 0, 0));
    reg_i64(ver, *version);
    reg_i64(sz, (int64_t)size);
    const char *framework = q->framework ? q->framework : m->framework ? m->framework : format;
    const char *source = q->source ? q->source : q->artifact_path ? q->artifact_path : "";
    const char *pv[20] = {q->name,
                          ver,
                          now,
                          now,
                          who,
                          q->description ? q->description : "",
                          digest,
                          format,
                          sz,
                          source,
                          q->run_id ? q->run_id : m->run_id,
                          q->run_link,
                          m->git_sha,
                          m->dataset_version,
                          m->approver,
                          framework,
                          manifest,
                          g->status,
                          g->report,
                          "READY"};
    rc = db_exec(r->db,
                 "INSERT INTO versions (name, version, created_ms, updated_ms, user_id,"
                 " description, digest, format, size, source, run_id, run_link, git_sha,"
                 " dataset_version, approver, framework, manifest, gate_status, gate_report,"
                 " status, stage, status_message)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'None', '')",
                 pv, 20, NULL, err, errlen);
    if (rc)
        goto out;
    for (size_t i = 0; i < m->n_metrics; i++) {
        const char *p[4] = {q->name, ver, m->metrics[i].key, reg_f64(num, m->metrics[i].value)};
        rc = db_exec(r->db,
                     "INSERT INTO version_metrics (name, version, key, value) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
                     p, 4, NULL, err, errlen);
        if (rc)
            goto out;
    }
    for (size_t i = 0; i < q->n_tags; i++) {
        const char *p[4] = {q->name, ver, q->tags[i].key, q->tags[i].value};
        rc = db_exec(r->db,
                     "INSERT INTO version_tags (name, version, key, value) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
                     p, 4, NULL, err, errlen);
        if (rc)
            goto out;
    }
    const char *pt[2] = {now, q->name};
    rc =
        db_exec(r->db, "UPDATE models SET updated_ms = ? WHERE name = ?", pt, 2, NULL, err, errlen);
    if (rc)
        goto out;
    if (strcmp(g->status, "forced") == 0) {
        json_t *detail = json_pack("{s:s, s:I, s:s, s:s, s:O}", "model", q->name, "version",
                                   (json_int_t)*version, "gate_status", g->status, "summary",
                                   g->summary ? g->summary : "", "failures", g->failures);
        char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
        json_decref(detail);
        if (!text) {
            rc = nomem(err, errlen);
            goto out;
        }
        rc = reg_event_insert(r, "", "", who, "register", text, err, errlen);
        free(text);
    }
out:
    db_rows_free(&rows);
    return rc;
}

mmsp_err registry_register(struct registry *r, const struct reg_register_request *req,
                           struct reg_version *out, char *err, size_t errlen)
{
    mmsp_err rc;
    unsigned char *file = NULL;
    const void *data;
    size_t len;
    const char *format = NULL;
    struct reg_gate gate = {0};
    char digest[ARTIFACT_HEX_LEN + 1];
    int64_t version = 0;
    int locked = 0;
    char *manifest = NULL;

    if (out)
        memset(out, 0, sizeof *out);
    if (!req)
        return reg_fail(err, errlen, MMSP_E_INVALID, "no registration request");
    if ((rc = check_request(req, err, errlen)))
        return rc;
    /* The manifest as a C string of exactly its bytes (stored as registered). */
    if (req->manifest_text) {
        size_t mlen = req->manifest_len ? req->manifest_len : strlen(req->manifest_text);
        if (mlen > POLICY_MAX_BYTES)
            return reg_fail(err, errlen, MMSP_E_TOO_LARGE, "manifest larger than %d bytes",
                            POLICY_MAX_BYTES);
        if (memchr(req->manifest_text, '\0', mlen))
            return reg_fail(err, errlen, MMSP_E_INVALID, "manifest contains a NUL byte");
        if (!(manifest = strndup(req->manifest_text, mlen)))
            return nomem(err, errlen);
    }
    /* 1. The artifact must be servable. */
    if (req->artifact_data) {
        data = req->artifact_data;
        len = req->artifact_len;
        if (len > REG_ARTIFACT_MAX) {
            rc = reg_fail(err, errlen, MMSP_E_TOO_LARGE, "artifact larger than the %d MB limit",
                          REG_ARTIFACT_MAX >> 20);
            goto out;
        }
    } else {
        rc = read_artifact(req->artifact_path, &file, &len, err, errlen);
        if (rc)
            goto out;
        data = file;
    }
    rc = check_loadable(data, len, req->artifact_path, &format, err, errlen);
    if (rc)
        goto out;
    /* 2. The gate; nothing is stored when it refuses. */
    struct reg_gate_inputs in = {
        .model_name = req->name,
        .manifest_text = manifest,
        .manifest_len = manifest ? strlen(manifest) : 0,
        .manifest_name = req->manifest_name,
        .policy_path = req->policy_path,
        .metrics = req->metrics,
        .n_metrics = req->n_metrics,
        .git_sha = req->git_sha,
        .dataset_version = req->dataset_version,
        .approver = req->approver,
        .run_id = req->run_id,
        .framework = req->framework,
        .force = req->force,
        .skip_gate = req->skip_gate,
    };
    rc = reg_gate_run(&in, &gate, err, errlen);
    if (rc)
        goto out;
    /* 3. The artifact, durable before any row names it. */
    rc = artifact_put(r->data_dir, data, len, digest, err, errlen);
    if (rc)
        goto out;
    /* 4. The version, in one transaction. */
    reg_lock(r);
    locked = 1;
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = insert_version(r, req, &gate, manifest, digest, len, format, &version, err, errlen);
    if (rc)
        goto out;
    rc = db_commit(r->db, err, errlen);
    if (rc == MMSP_OK && out)
        rc = reg_version_load(r, req->name, version, out, err, errlen);
out:
    if (locked) {
        if (rc)
            db_rollback(r->db);
        reg_unlock(r);
    }
    reg_gate_release(&gate);
    free(file);
    free(manifest);
    return rc;
}

/* ---- get / search / update / delete ---- */

mmsp_err registry_version_get(struct registry *r, const char *name, int64_t version,
                              struct reg_version *out, char *err, size_t errlen)
{
    mmsp_err rc;
    if ((rc = reg_check_name(name, "model name", err, errlen)))
        return rc;
    reg_lock(r);
    rc = reg_version_load(r, name, version, out, err, errlen);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_version_search(struct registry *r, const char *name, size_t max_results,
                                 const char *page_token, struct reg_version **out, size_t *n,
                                 char **next_token, char *err, size_t errlen)
{
    mmsp_err rc;
    size_t offset = 0;

    *out = NULL;
    *n = 0;
    *next_token = NULL;
    if (max_results < 1 || max_results > REG_MAX_RESULTS)
        return reg_fail(err, errlen, MMSP_E_INVALID, "max_results must be 1..%d, got %zu",
                        REG_MAX_RESULTS, max_results);
    if ((rc = reg_page_token_decode(page_token, &offset, err, errlen)))
        return rc;
    if (name && (rc = reg_check_text(name, REG_NAME_MAX, "model name", err, errlen)))
        return rc;
    const char *p[1] = {name};
    struct reg_version *list = NULL;
    size_t got = 0;
    reg_lock(r);
    rc = reg_version_load_where(r, name ? "name = ?" : NULL, p, name ? 1 : 0, max_results + 1,
                                offset, &list, &got, err, errlen);
    reg_unlock(r);
    if (rc)
        return rc;
    if (got > max_results) {
        reg_version_free(&list[max_results]);
        got = max_results;
        *next_token = reg_page_token_encode(offset + max_results);
        if (!*next_token) {
            reg_version_list_free(list, got);
            return nomem(err, errlen);
        }
    }
    *out = list;
    *n = got;
    return MMSP_OK;
}

/* Runs one UPDATE/DELETE on a version in a transaction; NOT_FOUND when it touched no row. */
static mmsp_err version_write(struct registry *r, const char *name, int64_t version,
                              const char *sql, const char *const *p, size_t np,
                              struct reg_version *out, char *err, size_t errlen)
{
    mmsp_err rc;
    int64_t changes = 0;
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = db_exec(r->db, sql, p, np, &changes, err, errlen);
    if (rc)
        goto out;
    if (changes == 0) {
        rc = version_not_found(name, version, err, errlen);
        goto out;
    }
    rc = db_commit(r->db, err, errlen);
    if (rc == MMSP_OK && out)
        rc = reg_version_load(r, name, version, out, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_version_update(struct registry *r, const char *name, int64_t version,
                                 const char *description, struct reg_version *out, char *err,
                                 size_t errlen)
{
    mmsp_err rc;
    char now[24], ver[24];
    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_text(description, REG_TEXT_MAX, "description", err, errlen)))
        return rc;
    reg_i64(now, reg_now_ms());
    reg_i64(ver, version);
    if (description) {
        const char *p[4] = {description, now, name, ver};
        return version_write(r, name, version,
                             "UPDATE versions SET description = ?, updated_ms = ?"
                             " WHERE name = ? AND version = ?",
                             p, 4, out, err, errlen);
    }
    const char *p[3] = {now, name, ver};
    return version_write(r, name, version,
                         "UPDATE versions SET updated_ms = ? WHERE name = ? AND version = ?", p, 3,
                         out, err, errlen);
}

mmsp_err registry_version_delete(struct registry *r, const char *name, int64_t version, char *err,
                                 size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    int64_t changes = 0;
    char ver[24];

    if ((rc = reg_check_name(name, "model name", err, errlen)))
        return rc;
    reg_i64(ver, version);
    const char *p[5] = {name, ver, ver, ver, NULL};
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = db_query(r->db,
                  "SELECT name, environment FROM deployments WHERE model = ? AND"
                  " (stable_version = ? OR canary_version = ? OR shadow_version = ?)"
                  " ORDER BY name, environment LIMIT 1",
                  p, 4, &rows, err, errlen);
    if (rc)
        goto out;
    if (rows.n_rows) {
        rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                      "%.256s version %lld is used by deployment %.256s (%s)", name,
                      (long long)version, db_cell(&rows, 0, 0), db_cell(&rows, 0, 1));
        goto out;
    }
    rc = db_exec(r->db, "DELETE FROM versions WHERE name = ? AND version = ?", p, 2, &changes, err,
                 errlen);
    if (rc)
        goto out;
    if (changes == 0) {
        rc = version_not_found(name, version, err, errlen);
        goto out;
    }
    char now[24];
    const char *pt[2] = {reg_i64(now, reg_now_ms()), name};
    rc =
        db_exec(r->db, "UPDATE models SET updated_ms = ? WHERE name = ?", pt, 2, NULL, err, errlen);
    if (rc)
        goto out;
    rc = db_commit(r->db, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    db_rows_free(&rows);
    return rc;
}

/* ---- tags ---- */

static mmsp_err tag_write(struct registry *r, const char *name, int64_t version, const char *sql,
                          const char *const *p, size_t np, char *err, size_t errlen)
{
    mmsp_err rc;
    struct reg_version v = {0};
    char now[24], ver[24];
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = reg_version_load(r, name, version, &v, err, errlen);
    if (rc)
        goto out;
    rc = db_exec(r->db, sql, p, np, NULL, err, errlen);
    if (rc)
        goto out;
    const char *pt[3] = {reg_i64(now, reg_now_ms()), name, reg_i64(ver, version)};
    rc = db_exec(r->db, "UPDATE versions SET updated_ms = ? WHERE name = ? AND version = ?", pt, 3,
                 NULL, err, errlen);
    if (rc)
        goto out;
    rc = db_commit(r->db, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    reg_version_free(&v);
    return rc;
}

mmsp_err registry_version_set_tag(struct registry *r, const char *name, int64_t version,
                                  const char *key, const char *value, char *err, size_t errlen)
{
    mmsp_err rc;
    char ver[24];
    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_tag(key, value, err, errlen)))
        return rc;
    const char *p[4] = {name, reg_i64(ver, version), key, value};
    return tag_write(r, name, version,
                     "INSERT INTO version_tags (name, version, key, value) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
                     p, 4, err, errlen);
}

mmsp_err registry_version_delete_tag(struct registry *r, const char *name, int64_t version,
                                     const char *key, char *err, size_t errlen)
{
    mmsp_err rc;
    char ver[24];
    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_tag(key, "", err, errlen)))
        return rc;
    const char *p[3] = {name, reg_i64(ver, version), key};
    return tag_write(r, name, version,
                     "DELETE FROM version_tags WHERE name = ? AND version = ? AND key = ?", p, 3,
                     err, errlen);
}

/* ---- stage ---- */

mmsp_err registry_version_stage(struct registry *r, const char *name, int64_t version,
                                enum reg_stage stage, int archive_existing, const char *who,
                                struct reg_version *out, char *err, size_t errlen)
{
    mmsp_err rc;
    struct reg_version v = {0};
    struct db_rows rows = {0};
    json_t *detail = NULL;
    char *text = NULL;
    char now[24], ver[24];

    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_text(who, REG_NAME_MAX, "who", err, errlen)))
        return rc;
    if ((int)stage < REG_STAGE_NONE || stage > REG_STAGE_ARCHIVED)
        return reg_fail(err, errlen, MMSP_E_INVALID, "invalid stage");
    reg_i64(now, reg_now_ms());
    reg_i64(ver, version);
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = reg_version_load(r, name, version, &v, err, errlen);
    if (rc)
        goto out;
    const char *sname = reg_stage_name(stage);
    detail = json_pack("{s:s, s:I, s:s, s:s, s:[]}", "model", name, "version", (json_int_t)version,
                       "from", reg_stage_name(v.stage), "to", sname, "archived");
    if (!detail) {
        rc = nomem(err, errlen);
        goto out;
    }
    if (archive_existing && (stage == REG_STAGE_STAGING || stage == REG_STAGE_PRODUCTION)) {
        const char *pq[3] = {name, sname, ver};
        rc = db_query(r->db,
                      "SELECT version FROM versions WHERE name = ? AND stage = ? AND version <> ?"
                      " ORDER BY version",
                      pq, 3, &rows, err, errlen);
        if (rc)
            goto out;
        for (size_t i = 0; i < rows.n_rows; i++)
            json_array_append_new(json_object_get(detail, "archived"),
                                  json_integer(reg_cell_i64(db_cell(&rows, i, 0))));
        const char *pa[4] = {now, name, sname, ver};
        rc = db_exec(r->db,
                     "UPDATE versions SET stage = 'Archived', updated_ms = ?"
                     " WHERE name = ? AND stage = ? AND version <> ?",
                     pa, 4, NULL, err, errlen);
        if (rc)
            goto out;
    }
    const char *ps[4] = {sname, now, name, ver};
    rc = db_exec(r->db,
                 "UPDATE versions SET stage = ?, updated_ms = ? WHERE name = ? AND version = ?", ps,
                 4, NULL, err, errlen);
    if (rc)
        goto out;
    text = json_dumps(detail, JSON_COMPACT);
    if (!text) {
        rc = nomem(err, errlen);
        goto out;
    }
    rc = reg_event_insert(r, "", "", who, "stage", text, err, errlen);
    if (rc)
        goto out;
    rc = db_commit(r->db, err, errlen);
    if (rc == MMSP_OK && out)
        rc = reg_version_load(r, name, version, out, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    reg_version_free(&v);
    db_rows_free(&rows);
    json_decref(detail);
    free(text);
    return rc;
}

/* ---- artifact path ---- */

mmsp_err registry_artifact_path(struct registry *r, const struct reg_version *v, int verify,
                                char *path, size_t pathlen, char *err, size_t errlen)
{
    if (!r || !v)
        return reg_fail(err, errlen, MMSP_E_INVALID, "no version");
    mmsp_err rc = artifact_path(r->data_dir, v->digest, path, pathlen, err, errlen);
    if (rc || !verify)
        return rc;
    return artifact_verify(path, v->digest, v->size, err, errlen);
}
