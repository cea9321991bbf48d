/*
 * Registered models (registry.h, "registered models"): create, get, rename (carried into
 * versions, tags, aliases and deployments by ON UPDATE CASCADE), update, delete, tags,
 * search with paging, latest versions per stage, and aliases with MLflow's semantics. Every
 * call takes the registry's mutex; every write is one transaction.
 * Calls: registry/db, the helpers of registry_internal.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/registry_internal.h"

/* ---- loading ---- */

static mmsp_err load_kv(struct registry *r, const char *sql, const char *const *p, size_t np,
                        struct reg_kv **out, size_t *n, char *err, size_t errlen)
{
    struct db_rows rows = {0};
    mmsp_err rc = db_query(r->db, sql, p, np, &rows, err, errlen);
    if (rc)
        goto out;
    *out = rows.n_rows ? calloc(rows.n_rows, sizeof **out) : NULL;
    if (rows.n_rows && !*out) {
        rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    *n = rows.n_rows;
    for (size_t i = 0; i < rows.n_rows; i++) {
        (*out)[i].key = reg_strdup(db_cell(&rows, i, 0));
        (*out)[i].value = reg_strdup(db_cell(&rows, i, 1));
        if (!(*out)[i].key || !(*out)[i].value)
            rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
    }
out:
    db_rows_free(&rows);
    return rc;
}

static mmsp_err not_found(const char *name, char *err, size_t errlen)
{
    return reg_fail(err, errlen, MMSP_E_NOT_FOUND, "Registered Model with name=%.256s not found",
                    name);
}

mmsp_err reg_model_load(struct registry *r, const char *name, struct reg_model *out, char *err,
                        size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    const char *p[1] = {name};

    memset(out, 0, sizeof *out);
    rc = db_query(r->db,
                  "SELECT name, description, user_id, created_ms, updated_ms,"
                  " (SELECT MAX(version) FROM versions v WHERE v.name = m.name)"
                  " FROM models m WHERE name = ?",
                  p, 1, &rows, err, errlen);
    if (rc)
        goto out;
    if (rows.n_rows == 0) {
        rc = not_found(name, err, errlen);
        goto out;
    }
    out->name = reg_strdup(db_cell(&rows, 0, 0));
    out->description = reg_strdup(db_cell(&rows, 0, 1) ? db_cell(&rows, 0, 1) : "");
    out->user_id = reg_strdup(db_cell(&rows, 0, 2) ? db_cell(&rows, 0, 2) : "");
    out->created_ms = reg_cell_i64(db_cell(&rows, 0, 3));
    out->updated_ms = reg_cell_i64(db_cell(&rows, 0, 4));
    out->latest_version = reg_cell_i64(db_cell(&rows, 0, 5));
    if (!out->name || !out->description || !out->user_id) {
        rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    rc = load_kv(r, "SELECT key, value FROM model_tags WHERE name = ? ORDER BY key", p, 1,
                 &out->tags, &out->n_tags, err, errlen);
    if (rc)
        goto out;
    rc = load_kv(r, "SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias", p, 1,
                 &out->aliases, &out->n_aliases, err, errlen);
out:
    db_rows_free(&rows);
    if (rc)
        reg_model_free(out);
    return rc;
}

/* 1 when the model exists (rc set on a store error). */
static int model_exists(struct registry *r, const char *name, mmsp_err *rc, char *err,
                        size_t errlen)
{
    struct db_rows rows = {0};
    const char *p[1] = {name};
    *rc = db_query(r->db, "SELECT 1 FROM models WHERE name = ?", p, 1, &rows, err, errlen);
    int found = *rc == MMSP_OK && rows.n_rows > 0;
    db_rows_free(&rows);
    return found;
}

/* Opens the write transaction of a change to model `name`, which must exist (else
 * MMSP_E_NOT_FOUND in MLflow's words). The caller rolls back on failure. */
static mmsp_err begin_on_model(struct registry *r, const char *name, char *err, size_t errlen)
{
    mmsp_err rc = db_begin(r->db, err, errlen);
    if (rc)
        return rc;
    if (!model_exists(r, name, &rc, err, errlen) && rc == MMSP_OK)
        rc = not_found(name, err, errlen);
    return rc;
}

static mmsp_err touch_model(struct registry *r, const char *name, char *err, size_t errlen)
{
    char now[24];
    const char *p[2] = {reg_i64(now, reg_now_ms()), name};
    return db_exec(r->db, "UPDATE models SET updated_ms = ? WHERE name = ?", p, 2, NULL, err,
                   errlen);
}

static mmsp_err upsert_model_tag(struct registry *r, const char *name, const char *key,
                                 const char *value, char *err, size_t errlen)
{
    const char *p[3] = {name, key, value};
    return db_exec(r->db,
                   "INSERT INTO model_tags (name, key, value) VALUES (?, ?, ?)"
                   " ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                   p, 3, NULL, err, errlen);
}

/* ---- create / get / rename / update / delete ---- */

mmsp_err registry_model_create(struct registry *r, const char *name, const char *description,
                               const struct reg_kv *tags, size_t n_tags, struct reg_model *out,
                               char *err, size_t errlen)
{
    mmsp_err rc;
    char now[24];

    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_text(description, REG_TEXT_MAX, "description", err, errlen)))
        return rc;
    for (size_t i = 0; i < n_tags; i++)
        if ((rc = reg_check_tag(tags[i].key, tags[i].value, err, errlen)))
            return rc;
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    reg_i64(now, reg_now_ms());
    const char *p[5] = {name, description ? description : "", reg_who(r, NULL), now, now};
    rc = db_exec(r->db,
                 "INSERT INTO models (name, description, user_id, created_ms, updated_ms)"
                 " VALUES (?, ?, ?, ?, ?)",
                 p, 5, NULL, err, errlen);
    if (rc == MMSP_E_EXISTS)
        rc = reg_fail(err, errlen, rc, "Registered Model (name=%.256s) already exists.", name);
    for (size_t i = 0; rc == MMSP_OK && i < n_tags; i++)
        rc = upsert_model_tag(r, name, tags[i].key, tags[i].value, err, errlen);
    if (rc)
        goto out;
    rc = db_commit(r->db, err, errlen);
    if (rc == MMSP_OK && out)
        rc = reg_model_load(r, name, out, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_model_get(struct registry *r, const char *name, struct reg_model *out, char *err,
                            size_t errlen)
{
    if (!name)
        return reg_fail(err, errlen, MMSP_E_INVALID, "model name is empty");
    reg_lock(r);
    mmsp_err rc = reg_model_load(r, name, out, err, errlen);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_model_rename(struct registry *r, const char *name, const char *new_name,
                               struct reg_model *out, char *err, size_t errlen)
{
    mmsp_err rc;
    int64_t changes = 0;
    char now[24];

    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_name(new_name, "new model name", err, errlen)))
        return rc;
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    if (strcmp(name, new_name) != 0 && model_exists(r, new_name, &rc, err, errlen)) {
        rc = reg_fail(err, errlen, MMSP_E_EXISTS, "Registered Model (name=%.256s) already exists.",
                      new_name);
        goto out;
    }
    if (rc)
        goto out;
    const char *p[3] = {new_name, reg_i64(now, reg_now_ms()), name};
    rc = db_exec(r->db, "UPDATE models SET name = ?, updated_ms = ? WHERE name = ?", p, 3, &changes,
                 err, errlen);
    if (rc)
        goto out;
    if (changes == 0) {
        rc = not_found(name, err, errlen);
        goto out;
    }
    rc = db_commit(r->db, err, errlen);
    if (rc == MMSP_OK && out)
        rc = reg_model_load(r, new_name, out, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_model_update(struct registry *r, const char *name, const char *description,
                               struct reg_model *out, char *err, size_t errlen)
{
    mmsp_err rc;
    int64_t changes = 0;
    char now[24];

    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_text(description, REG_TEXT_MAX, "description", err, errlen)))
        return rc;
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    reg_i64(now, reg_now_ms());
    if (description) {
        const char *p[3] = {description, now, name};
        rc = db_exec(r->db, "UPDATE models SET description = ?, updated_ms = ? WHERE name = ?", p,
                     3, &changes, err, errlen);
    } else {
        const char *p[2] = {now, name};
        rc = db_exec(r->db, "UPDATE models SET updated_ms = ? WHERE name = ?", p, 2, &changes, err,
                     errlen);
    }
    if (rc)
        goto out;
    if (changes == 0) {
        rc = not_found(name, err, errlen);
        goto out;
    }
    rc = db_commit(r->db, err, errlen);
    if (rc == MMSP_OK && out)
        rc = reg_model_load(r, name, out, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_model_delete(struct registry *r, const char *name, char *err, size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    int64_t changes = 0;
    const char *p[1] = {name};

    if ((rc = reg_check_name(name, "model name", err, errlen)))
        return rc;
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = db_query(r->db,
                  "SELECT name, environment FROM deployments WHERE model = ?"
                  " ORDER BY name, environment LIMIT 1",
                  p, 1, &rows, err, errlen);
    if (rc)
        goto out;
    if (rows.n_rows) {
        rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                      "model %.256s is used by deployment %.256s (%s); delete or move it first",
                      name, db_cell(&rows, 0, 0), db_cell(&rows, 0, 1));
        goto out;
    }
    rc = db_exec(r->db, "DELETE FROM models WHERE name = ?", p, 1, &changes, err, errlen);
    if (rc)
        goto out;
    if (changes == 0) {
        rc = not_found(name, err, errlen);
        goto out;
    }
    rc = db_commit(r->db, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    db_rows_free(&rows);
    return rc;
}

/* ---- tags ---- */

mmsp_err registry_model_set_tag(struct registry *r, const char *name, const char *key,
                                const char *value, char *err, size_t errlen)
{
    mmsp_err rc;
    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_tag(key, value, err, errlen)))
        return rc;
    reg_lock(r);
    if ((rc = begin_on_model(r, name, err, errlen)))
        goto out;
    if ((rc = upsert_model_tag(r, name, key, value, err, errlen)) ||
        (rc = touch_model(r, name, err, errlen)))
        goto out;
    rc = db_commit(r->db, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_model_delete_tag(struct registry *r, const char *name, const char *key, char *err,
                                   size_t errlen)
{
    mmsp_err rc;
    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_tag(key, "", err, errlen)))
        return rc;
    reg_lock(r);
    if ((rc = begin_on_model(r, name, err, errlen)))
        goto out;
    const char *p[2] = {name, key};
    /* Deleting an absent tag is not an error (as MLflow). */
    if ((rc = db_exec(r->db, "DELETE FROM model_tags WHERE name = ? AND key = ?", p, 2, NULL, err,
                      errlen)) ||
        (rc = touch_model(r, name, err, errlen)))
        goto out;
    rc = db_commit(r->db, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    return rc;
}

/* ---- search ---- */

mmsp_err registry_model_search(struct registry *r, const char *name_like, int exact,
                               size_t max_results, const char *page_token, struct reg_model **out,
                               size_t *n, char **next_token, char *err, size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    struct reg_model *list = NULL;
    size_t offset = 0, count = 0;
    char sql[256];

    *out = NULL;
    *n = 0;
    *next_token = NULL;
    if (max_results < 1 || max_results > REG_MAX_RESULTS)
        return reg_fail(err, errlen, MMSP_E_INVALID, "max_results must be 1..%d, got %zu",
                        REG_MAX_RESULTS, max_results);
    if ((rc = reg_page_token_decode(page_token, &offset, err, errlen)))
        return rc;
    if ((rc = reg_check_text(name_like, 1024, "name filter", err, errlen)))
        return rc;
    /* A pattern ending in a lone escape is an error on PostgreSQL and matches nothing on
     * SQLite: refuse it the same way on both. */
    for (const char *c = name_like && !exact ? name_like : ""; *c; c++)
        if (*c == '\\' && !*++c)
            return reg_fail(err, errlen, MMSP_E_INVALID,
                            "name pattern ends with the escape character '\\'");
    /* One row more than asked tells whether another page follows. */
    snprintf(sql, sizeof sql, "SELECT name FROM models%s ORDER BY name LIMIT %zu OFFSET %zu",
             !name_like ? ""
             : exact    ? " WHERE name = ?"
                        : " WHERE name LIKE ? ESCAPE '\\'",
             max_results + 1, offset);
    const char *p[1] = {name_like};
    reg_lock(r);
    rc = db_query(r->db, sql, p, name_like ? 1 : 0, &rows, err, errlen);
    if (rc)
        goto out;
    size_t take = rows.n_rows > max_results ? max_results : rows.n_rows;
    list = take ? calloc(take, sizeof *list) : NULL;
    if (take && !list) {
        rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    for (; count < take; count++) {
        rc = reg_model_load(r, db_cell(&rows, count, 0), &list[count], err, errlen);
        if (rc)
            goto out;
    }
    if (rows.n_rows > max_results) {
        *next_token = reg_page_token_encode(offset + max_results);
        if (!*next_token) {
            rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
            goto out;
        }
    }
    *out = list;
    *n = count;
    list = NULL;
out:
    reg_unlock(r);
    db_rows_free(&rows);
    reg_model_list_free(list, count);
    return rc;
}

/* ---- latest versions ---- */

mmsp_err reg_latest_versions_locked(struct registry *r, const char *name, const char *const *stages,
                                    size_t n_stages, struct reg_version **out, size_t *n, char *err,
                                    size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    int want[4] = {0, 0, 0, 0};
    struct reg_version *list = NULL;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < n_stages; i++) {
        int s = reg_stage_parse(stages[i]);
        if (s < 0)
            return reg_fail(err, errlen, MMSP_E_INVALID,
                            "invalid stage '%.64s' (None, Staging, Production, Archived)",
                            stages[i] ? stages[i] : "");
        want[s] = 1;
    }
    struct reg_model m;
    if ((rc = reg_model_load(r, name, &m, err, errlen)))
        return rc;
    reg_model_free(&m);
    for (int s = 0; s < 4; s++) {
        if (n_stages && !want[s])
            continue;
        struct reg_version *one = NULL;
        size_t got = 0;
        const char *p[4] = {name, reg_stage_name((enum reg_stage)s), name,
                            reg_stage_name((enum reg_stage)s)};
        rc = reg_version_load_where(r,
                                    "name = ? AND stage = ? AND version = (SELECT MAX(version)"
                                    " FROM versions WHERE name = ? AND stage = ?)",
                                    p, 4, 1, 0, &one, &got, err, errlen);
        if (rc)
            goto out;
        if (got == 0)
            continue;
        struct reg_version *grown = realloc(list, (count + 1) * sizeof *list);
        if (!grown) {
            reg_version_list_free(one, got);
            rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
            goto out;
        }
        list = grown;
        list[count++] = one[0];
        free(one);
    }
    *out = list;
    *n = count;
    list = NULL;
out:
    reg_version_list_free(list, count);
    return rc;
}

mmsp_err registry_latest_versions(struct registry *r, const char *name, const char *const *stages,
                                  size_t n_stages, struct reg_version **out, size_t *n, char *err,
                                  size_t errlen)
{
    mmsp_err rc;
    if ((rc = reg_check_name(name, "model name", err, errlen)))
        return rc;
    reg_lock(r);
    rc = reg_latest_versions_locked(r, name, stages, n_stages, out, n, err, errlen);
    reg_unlock(r);
    return rc;
}

/* ---- aliases ---- */

/* MLflow's rules on top of the name rules: not "latest", not "v<digits>" (those name
 * versions in models:/ URIs). */
static mmsp_err check_alias(const char *alias, char *err, size_t errlen)
{
    mmsp_err rc = reg_check_name(alias, "alias", err, errlen);
    if (rc)
        return rc;
    if (strcasecmp(alias, "latest") == 0)
        return reg_fail(err, errlen, MMSP_E_INVALID, "alias may not be 'latest'");
    if ((alias[0] == 'v' || alias[0] == 'V') && alias[1]) {
        const char *p = alias + 1;
        while (isdigit((unsigned char)*p))
            p++;
        if (!*p)
            return reg_fail(err, errlen, MMSP_E_INVALID,
                            "alias '%.64s' looks like a version (v<number>)", alias);
    }
    return MMSP_OK;
}

mmsp_err registry_alias_set(struct registry *r, const char *name, const char *alias,
                            int64_t version, char *err, size_t errlen)
{
    mmsp_err rc;
    struct reg_version v = {0};
    char ver[24];

    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = check_alias(alias, err, errlen)))
        return rc;
    if (version < 1)
        return reg_fail(err, errlen, MMSP_E_INVALID, "version must be a positive integer");
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = reg_version_load(r, name, version, &v, err, errlen);
    if (rc)
        goto out;
    const char *p[3] = {name, alias, reg_i64(ver, version)};
    rc = db_exec(r->db,
                 "INSERT INTO model_aliases (name, alias, version) VALUES (?, ?, ?)"
                 " ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
                 p, 3, NULL, err, errlen);
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

mmsp_err registry_alias_delete(struct registry *r, const char *name, const char *alias, char *err,
                               size_t errlen)
{
    mmsp_err rc;
    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_name(alias, "alias", err, errlen)))
        return rc;
    reg_lock(r);
    if ((rc = begin_on_model(r, name, err, errlen)))
        goto out;
    const char *p[2] = {name, alias};
    /* Deleting an absent alias is not an error (as MLflow). */
    rc = db_exec(r->db, "DELETE FROM model_aliases WHERE name = ? AND alias = ?", p, 2, NULL, err,
                 errlen);
    if (rc)
        goto out;
    rc = db_commit(r->db, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_alias_get(struct registry *r, const char *name, const char *alias,
                            struct reg_version *out, char *err, size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    if ((rc = reg_check_name(name, "model name", err, errlen)) ||
        (rc = reg_check_name(alias, "alias", err, errlen)))
        return rc;
    const char *p[2] = {name, alias};
    reg_lock(r);
    rc = db_query(r->db, "SELECT version FROM model_aliases WHERE name = ? AND alias = ?", p, 2,
                  &rows, err, errlen);
    if (rc)
        goto out;
    if (rows.n_rows == 0) {
        struct reg_model m;
        rc = reg_model_load(r, name, &m, err, errlen);
        reg_model_free(&m);
        if (rc == MMSP_OK)
            rc = reg_fail(err, errlen, MMSP_E_NOT_FOUND, "Registered model alias %.256s not found.",
                          alias);
        goto out;
    }
    rc = reg_version_load(r, name, reg_cell_i64(db_cell(&rows, 0, 0)), out, err, errlen);
out:
    reg_unlock(r);
    db_rows_free(&rows);
    return rc;
}
