/*
 * Deployments and their history (registry.h, "deployments"): deploy (all at once, canary at
 * a weight, shadow), promote, rollback (to the previous stable version from the history, or
 * to a given one), get and list, the append-only events, and the store-wide generation
 * number that serving processes poll. Every change is one transaction that updates the
 * deployment, bumps the generation and appends the event, so a reader never sees one without
 * the others.
 * Calls: registry/db, jansson, the helpers of registry_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry/registry_internal.h"

#define DEPLOYMENT_COLUMNS                                                                         \
    "name, environment, model, stable_version, canary_version, canary_weight, shadow_version,"     \
    " state, created_ms, updated_ms, generation"
/* Reads add the columns of later migrations (2: cohort_header). */
#define DEPLOYMENT_SELECT DEPLOYMENT_COLUMNS ", cohort_header"

static mmsp_err nomem(char *err, size_t errlen)
{
    return reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
}

/* A request header name (RFC 9110 token), 1..64 bytes; "" resets to the default. */
static mmsp_err check_header_name(const char *h, char *err, size_t errlen)
{
    size_t n = strlen(h);
    if (n > 64)
        return reg_fail(err, errlen, MMSP_E_INVALID, "cohort header name longer than 64 bytes");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", c)))
            return reg_fail(err, errlen, MMSP_E_INVALID,
                            "cohort header '%.64s' is not a valid header name", h);
    }
    return MMSP_OK;
}

static mmsp_err check_env(const char *env, char *err, size_t errlen)
{
    if (strcmp(env, "staging") != 0 && strcmp(env, "production") != 0)
        return reg_fail(err, errlen, MMSP_E_INVALID,
                        "environment must be 'staging' or 'production', got '%.64s'", env);
    return MMSP_OK;
}

/* ---- loading ---- */

static mmsp_err deployment_from_row(const struct db_rows *rows, size_t i, struct reg_deployment *d,
                                    char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->name = reg_strdup(db_cell(rows, i, 0));
    d->environment = reg_strdup(db_cell(rows, i, 1));
    d->model = reg_strdup(db_cell(rows, i, 2));
    d->stable_version = reg_cell_i64(db_cell(rows, i, 3));
    d->canary_version = reg_cell_i64(db_cell(rows, i, 4));
    d->canary_weight = (int)reg_cell_i64(db_cell(rows, i, 5));
    d->shadow_version = reg_cell_i64(db_cell(rows, i, 6));
    d->state = reg_strdup(db_cell(rows, i, 7));
    d->created_ms = reg_cell_i64(db_cell(rows, i, 8));
    d->updated_ms = reg_cell_i64(db_cell(rows, i, 9));
    d->generation = reg_cell_i64(db_cell(rows, i, 10));
    const char *cohort = db_cell(rows, i, 11);
    if (cohort && *cohort && !(d->cohort_header = reg_strdup(cohort))) {
        reg_deployment_free(d);
        return nomem(err, errlen);
    }
    if (!d->name || !d->environment || !d->model || !d->state) {
        reg_deployment_free(d);
        return nomem(err, errlen);
    }
    return MMSP_OK;
}

/* *found = 0 and MMSP_OK when there is no such deployment. */
static mmsp_err load_deployment(struct registry *r, const char *name, const char *env,
                                struct reg_deployment *out, int *found, char *err, size_t errlen)
{
    struct db_rows rows = {0};
    const char *p[2] = {name, env};
    *found = 0;
    memset(out, 0, sizeof *out);
    mmsp_err rc = db_query(
        r->db, "SELECT " DEPLOYMENT_SELECT " FROM deployments WHERE name = ? AND environment = ?",
        p, 2, &rows, err, errlen);
    if (rc == MMSP_OK && rows.n_rows) {
        rc = deployment_from_row(&rows, 0, out, err, errlen);
        *found = rc == MMSP_OK;
    }
    db_rows_free(&rows);
    return rc;
}

static mmsp_err deployment_not_found(const char *name, const char *env, char *err, size_t errlen)
{
    return reg_fail(err, errlen, MMSP_E_NOT_FOUND, "deployment %.256s (%s) not found", name, env);
}

/* ---- the state of a deployment, as recorded in events ---- */

struct dstate {
    int64_t stable, canary, shadow; /* 0 = none */
    int weight;
    const char *state; /* static */
};

static json_t *version_or_null(int64_t v)
{
    return v > 0 ? json_integer(v) : json_null();
}

static json_t *dstate_json(const struct dstate *s)
{
    if (!s)
        return json_null();
    return json_pack("{s:o, s:o, s:i, s:o, s:s}", "stable", version_or_null(s->stable), "canary",
                     version_or_null(s->canary), "weight", s->weight, "shadow",
                     version_or_null(s->shadow), "state", s->state);
}

static struct dstate dstate_of(const struct reg_deployment *d)
{
    struct dstate s = {d->stable_version, d->canary_version, d->shadow_version, d->canary_weight,
                       "active"};
    if (strcmp(d->state, "canary") == 0)
        s.state = "canary";
    else if (strcmp(d->state, "rolled_back") == 0)
        s.state = "rolled_back";
    return s;
}

static int dstate_equal(const struct dstate *a, const struct dstate *b)
{
    return a->stable == b->stable && a->canary == b->canary && a->shadow == b->shadow &&
           a->weight == b->weight && strcmp(a->state, b->state) == 0;
}

/*
 * Writes the deployment's new state `to` (inserting it when `from` is NULL), bumps the
 * generation into the row, and appends the event. In a transaction, lock held.
 */
static mmsp_err save(struct registry *r, const char *name, const char *env, const char *model,
                     const struct dstate *from, const struct dstate *to, const char *action,
                     const char *who, const char *reason, const json_t *extra, char *err,
                     size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    json_t *detail = NULL;
    char *text = NULL;
    char now[24], gen[24], st[24], ca[24], sh[24], w[24];

    rc = db_exec(r->db,
                 "UPDATE counters SET value = value + 1 WHERE name = 'deployments_generation'",
                 NULL, 0, NULL, err, errlen);
    if (rc)
        goto out;
    rc = db_query(r->db, "SELECT value FROM counters WHERE name = 'deployments_generation'", NULL,
                  0, &rows, err, errlen);
    if (rc)
        goto out;
    reg_i64(gen, reg_cell_i64(db_cell(&rows, 0, 0)));
    reg_i64(now, reg_now_ms());
    reg_i64(w, to->weight);
    const char *stable = to->stable > 0 ? reg_i64(st, to->stable) : NULL;
    const char *canary = to->canary > 0 ? reg_i64(ca, to->canary) : NULL;
    const char *shadow = to->shadow > 0 ? reg_i64(sh, to->shadow) : NULL;
    if (!from) {
        const char *p[11] = {name, env, model, stable, canary, w, shadow, to->state, now, now, gen};
        rc = db_exec(r->db,
                     "INSERT INTO deployments (" DEPLOYMENT_COLUMNS ")"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     p, 11, NULL, err, errlen);
    } else {
        const char *p[9] = {stable, canary, w, shadow, to->state, now, gen, name, env};
        rc = db_exec(r->db,
                     "UPDATE deployments SET stable_version = ?, canary_version = ?,"
                     " canary_weight = ?, shadow_version = ?, state = ?, updated_ms = ?,"
                     " generation = ? WHERE name = ? AND environment = ?",
                     p, 9, NULL, err, errlen);
    }
    if (rc)
        goto out;
    detail = json_pack("{s:s, s:o, s:o, s:s?}", "model", model, "from", dstate_json(from), "to",
                       dstate_json(to), "reason", reason && *reason ? reason : NULL);
    if (detail && extra && json_object_update_missing(detail, (json_t *)extra)) {
        json_decref(detail);
        detail = NULL;
    }
    text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    if (!text) {
        rc = nomem(err, errlen);
        goto out;
    }
    rc = reg_event_insert(r, name, env, who, action, text, err, errlen);
out:
    db_rows_free(&rows);
    json_decref(detail);
    free(text);
    return rc;
}

/*
 * A version may be deployed: it exists and is READY; Archived only when allow_archived
 * (rollback); into production not "not_evaluated" unless force.
 */
static mmsp_err check_deployable(struct registry *r, const char *model, int64_t version,
                                 const char *env, int force, int allow_archived, char *err,
                                 size_t errlen)
{
    struct reg_version v;
    mmsp_err rc = reg_version_load(r, model, version, &v, err, errlen);
    if (rc)
        return rc;
    if (strcmp(v.status, "READY") != 0)
        rc = reg_fail(err, errlen, MMSP_E_CONFLICT, "%.256s version %lld is %s, not READY", model,
                      (long long)version, v.status);
    else if (v.stage == REG_STAGE_ARCHIVED && !allow_archived)
        rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                      "%.256s version %lld is Archived (move it to another stage, or use"
                      " rollback --to)",
                      model, (long long)version);
    else if (strcmp(env, "production") == 0 && strcmp(v.gate_status, "not_evaluated") == 0 &&
             !force)
        rc = reg_fail(err, errlen, MMSP_E_POLICY,
                      "%.256s version %lld never passed the policy gate (registered without a"
                      " manifest); deploying it to production needs --force",
                      model, (long long)version);
    reg_version_free(&v);
    return rc;
}

static mmsp_err resolve_alias(struct registry *r, const char *model, const char *alias,
                              int64_t *version, char *err, size_t errlen)
{
    struct db_rows rows = {0};
    const char *p[2] = {model, alias};
    mmsp_err rc = db_query(r->db, "SELECT version FROM model_aliases WHERE name = ? AND alias = ?",
                           p, 2, &rows, err, errlen);
    if (rc == MMSP_OK && rows.n_rows == 0)
        rc = reg_fail(err, errlen, MMSP_E_NOT_FOUND, "alias %.256s of model %.256s not found",
                      alias, model);
    if (rc == MMSP_OK)
        *version = reg_cell_i64(db_cell(&rows, 0, 0));
    db_rows_free(&rows);
    return rc;
}

/* Reads the result back into out (when out). */
static mmsp_err reload(struct registry *r, const char *name, const char *env,
                       struct reg_deployment *out, char *err, size_t errlen)
{
    int found = 0;
    if (!out)
        return MMSP_OK;
    mmsp_err rc = load_deployment(r, name, env, out, &found, err, errlen);
    if (rc == MMSP_OK && !found)
        rc = deployment_not_found(name, env, err, errlen);
    return rc;
}

/* Commits the change, then reads the deployment as it now stands into *out. */
static mmsp_err commit_and_reload(struct registry *r, const char *name, const char *env,
                                  struct reg_deployment *out, char *err, size_t errlen)
{
    mmsp_err rc = db_commit(r->db, err, errlen);
    return rc ? rc : reload(r, name, env, out, err, errlen);
}

/* ---- deploy ---- */

mmsp_err registry_deploy(struct registry *r, const struct reg_deploy_request *req,
                         struct reg_deployment *out, char *err, size_t errlen)
{
    mmsp_err rc;
    struct reg_deployment cur = {0};
    int exists = 0;
    int64_t version = 0;

    if (out)
        memset(out, 0, sizeof *out);
    if (!req)
        return reg_fail(err, errlen, MMSP_E_INVALID, "no deploy request");
    const char *env = req->environment ? req->environment : "production";
    if ((rc = reg_check_name(req->name, "deployment name", err, errlen)) ||
        (rc = check_env(env, err, errlen)) ||
        (req->model && (rc = reg_check_name(req->model, "model name", err, errlen))) ||
        (req->alias && (rc = reg_check_name(req->alias, "alias", err, errlen))) ||
        (rc = reg_check_text(req->reason, REG_TEXT_MAX, "reason", err, errlen)) ||
        (rc = reg_check_text(req->who, REG_NAME_MAX, "who", err, errlen)) ||
        (req->cohort_header && (rc = check_header_name(req->cohort_header, err, errlen))))
        return rc;
    if (req->canary < -1 || req->canary > 100)
        return reg_fail(err, errlen, MMSP_E_INVALID, "canary weight must be 0..100, got %d",
                        req->canary);
    if (req->version < 0)
        return reg_fail(err, errlen, MMSP_E_INVALID, "version must be a positive integer");

    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = load_deployment(r, req->name, env, &cur, &exists, err, errlen);
    if (rc)
        goto out;
    const char *model = req->model ? req->model : exists ? cur.model : NULL;
    if (!model) {
        rc = reg_fail(err, errlen, MMSP_E_INVALID,
                      "deployment %.256s (%s) does not exist yet: a"
                      " model is required",
                      req->name, env);
        goto out;
    }
    if (exists && strcmp(model, cur.model) != 0) {
        rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                      "deployment %.256s (%s) serves model %.256s, not %.256s", req->name, env,
                      cur.model, model);
        goto out;
    }
    if (req->version > 0)
        version = req->version;
    else if (req->alias && (rc = resolve_alias(r, model, req->alias, &version, err, errlen)))
        goto out;
    if (version > 0 && (rc = check_deployable(r, model, version, env, req->force, 0, err, errlen)))
        goto out;

    struct dstate from = exists ? dstate_of(&cur) : (struct dstate){0, 0, 0, 0, "active"};
    struct dstate to = from;
    const char *action;
    if (!exists && (req->canary >= 0 || req->shadow)) {
        rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                      "deployment %.256s (%s) has no stable version yet: deploy one all at once"
                      " first",
                      req->name, env);
        goto out;
    }
    if (req->shadow) {
        /* shadow := version; no version removes the shadow */
        if (version > 0 && version == from.stable) {
            rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                          "version %lld is the stable version; it cannot also be the shadow",
                          (long long)version);
            goto out;
        }
        to.shadow = version;
        action = "shadow";
    } else if (req->canary >= 0) {
        if (version == 0 && from.canary == 0) {
            rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                          "deployment %.256s (%s) has no canary: give a version to start one",
                          req->name, env);
            goto out;
        }
        if (version > 0 && version == from.stable) {
            rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                          "version %lld is already the stable version", (long long)version);
            goto out;
        }
        if (version > 0)
            to.canary = version;
        to.weight = req->canary;
        if (to.shadow == to.canary)
            to.shadow = 0;
        action = "canary";
    } else if (version == 0 && exists && req->cohort_header) {
        action = "cohort_header"; /* only the cohort header changes */
    } else {
        if (version == 0) {
            rc = reg_fail(err, errlen, MMSP_E_INVALID, "a version or an alias is required");
            goto out;
        }
        to.stable = version;
        to.canary = 0;
        to.weight = 0;
        if (to.shadow == to.stable)
            to.shadow = 0;
        action = "deploy";
    }
    to.state = to.canary ? "canary" : "active";
    int cohort_change = req->cohort_header &&
                        strcmp(req->cohort_header, cur.cohort_header ? cur.cohort_header : "");
    if (exists && dstate_equal(&from, &to) && !cohort_change) {
        /* Nothing changes: no event, no new generation (deploys are idempotent). */
        db_rollback(r->db);
        rc = reload(r, req->name, env, out, err, errlen);
        goto out;
    }
    json_t *extra = cohort_change ? json_pack("{s:s}", "cohort_header", req->cohort_header) : NULL;
    if (exists && dstate_equal(&from, &to))
        action = "cohort_header";
    rc = save(r, req->name, env, model, exists ? &from : NULL, &to, action, reg_who(r, req->who),
              req->reason, extra, err, errlen);
    json_decref(extra);
    if (!rc && cohort_change) {
        const char *p[3] = {*req->cohort_header ? req->cohort_header : NULL, req->name, env};
        rc = db_exec(r->db,
                     "UPDATE deployments SET cohort_header = ? WHERE name = ? AND environment = ?",
                     p, 3, NULL, err, errlen);
    }
    if (rc)
        goto out;
    rc = commit_and_reload(r, req->name, env, out, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    reg_deployment_free(&cur);
    return rc;
}

/* ---- promote ---- */

mmsp_err registry_promote(struct registry *r, const char *name, const char *environment,
                          const char *who, const char *reason, struct reg_deployment *out,
                          char *err, size_t errlen)
{
    return registry_promote_ex(r, name, environment, who, reason, NULL, out, err, errlen);
}

mmsp_err registry_promote_ex(struct registry *r, const char *name, const char *environment,
                             const char *who, const char *reason, const json_t *extra,
                             struct reg_deployment *out, char *err, size_t errlen)
{
    mmsp_err rc;
    struct reg_deployment cur = {0};
    int exists = 0;
    const char *env = environment ? environment : "production";

    if (out)
        memset(out, 0, sizeof *out);
    if ((rc = reg_check_name(name, "deployment name", err, errlen)) ||
        (rc = check_env(env, err, errlen)) ||
        (rc = reg_check_text(reason, REG_TEXT_MAX, "reason", err, errlen)) ||
        (rc = reg_check_text(who, REG_NAME_MAX, "who", err, errlen)))
        return rc;
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = load_deployment(r, name, env, &cur, &exists, err, errlen);
    if (rc)
        goto out;
    if (!exists) {
        rc = deployment_not_found(name, env, err, errlen);
        goto out;
    }
    struct dstate from = dstate_of(&cur), to = from;
    if (from.canary == 0) {
        rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                      "deployment %.256s (%s) has no canary to promote", name, env);
        goto out;
    }
    to.stable = from.canary;
    to.canary = 0;
    to.weight = 0;
    if (to.shadow == to.stable)
        to.shadow = 0;
    to.state = "active";
    rc = save(r, name, env, cur.model, &from, &to, "promote", reg_who(r, who), reason, extra, err,
              errlen);
    if (rc)
        goto out;
    rc = commit_and_reload(r, name, env, out, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    reg_deployment_free(&cur);
    return rc;
}

/* ---- rollback ---- */

static int64_t json_version(json_t *state, const char *key)
{
    json_t *v = json_object_get(state, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}

/*
 * The stable version before the current one, replayed from the history as a stack: a change
 * of the stable version pushes it; a rollback pops back to the version it went to (or pushes
 * it when that version is not on the stack). Deploy v1, v2, v3, rollback -> v2, rollback ->
 * v1, rollback -> none (0).
 */
static mmsp_err previous_stable(struct registry *r, const char *name, const char *env,
                                int64_t current, int64_t *prev, char *err, size_t errlen)
{
    struct db_rows rows = {0};
    int64_t *stack = NULL;
    size_t depth = 0;
    const char *p[2] = {name, env};

    *prev = 0;
    mmsp_err rc = db_query(r->db,
                           "SELECT action, detail FROM events WHERE deployment = ? AND"
                           " environment = ? ORDER BY id",
                           p, 2, &rows, err, errlen);
    if (rc)
        goto out;
    stack = calloc(rows.n_rows + 1, sizeof *stack);
    if (!stack) {
        rc = nomem(err, errlen);
        goto out;
    }
    for (size_t i = 0; i < rows.n_rows; i++) {
        const char *action = db_cell(&rows, i, 0), *text = db_cell(&rows, i, 1);
        json_t *d = text ? json_loads(text, 0, NULL) : NULL;
        int64_t to = json_version(json_object_get(d, "to"), "stable");
        json_decref(d);
        if (to == 0 || !action)
            continue;
        if (strcmp(action, "rollback") == 0) {
            size_t k = depth;
            while (k > 0 && stack[k - 1] != to)
                k--;
            if (k > 0) {
                depth = k;
                continue;
            }
        }
        if (depth == 0 || stack[depth - 1] != to)
            stack[depth++] = to;
    }
    if (depth >= 2 && stack[depth - 1] == current)
        *prev = stack[depth - 2];
out:
    free(stack);
    db_rows_free(&rows);
    return rc;
}

mmsp_err registry_rollback(struct registry *r, const char *name, const char *environment,
                           int64_t to_version, const char *who, const char *reason,
                           struct reg_deployment *out, char *err, size_t errlen)
{
    return registry_rollback_ex(r, name, environment, to_version, who, reason, NULL, out, err,
                                errlen);
}

mmsp_err registry_rollback_ex(struct registry *r, const char *name, const char *environment,
                              int64_t to_version, const char *who, const char *reason,
                              const json_t *extra, struct reg_deployment *out, char *err,
                              size_t errlen)
{
    mmsp_err rc;
    struct reg_deployment cur = {0};
    int exists = 0;
    const char *env = environment ? environment : "production";

    if (out)
        memset(out, 0, sizeof *out);
    if ((rc = reg_check_name(name, "deployment name", err, errlen)) ||
        (rc = check_env(env, err, errlen)) ||
        (rc = reg_check_text(reason, REG_TEXT_MAX, "reason", err, errlen)) ||
        (rc = reg_check_text(who, REG_NAME_MAX, "who", err, errlen)))
        return rc;
    if (to_version < 0)
        return reg_fail(err, errlen, MMSP_E_INVALID, "version must be a positive integer");
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc)
        goto out;
    rc = load_deployment(r, name, env, &cur, &exists, err, errlen);
    if (rc)
        goto out;
    if (!exists) {
        rc = deployment_not_found(name, env, err, errlen);
        goto out;
    }
    struct dstate from = dstate_of(&cur), to = from;
    to.canary = 0;
    to.weight = 0;
    to.shadow = 0;
    to.state = "rolled_back";
    if (from.canary == 0) {
        int64_t target = to_version;
        if (target == 0) {
            rc = previous_stable(r, name, env, from.stable, &target, err, errlen);
            if (rc)
                goto out;
            if (target == 0) {
                rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                              "deployment %.256s (%s) has no canary and no earlier stable version"
                              " to roll back to",
                              name, env);
                goto out;
            }
        }
        if (target == from.stable) {
            rc = reg_fail(err, errlen, MMSP_E_CONFLICT,
                          "version %lld is already the stable version of %.256s (%s)",
                          (long long)target, name, env);
            goto out;
        }
        to.stable = target;
    } else if (to_version > 0) {
        to.stable = to_version; /* drop the canary and go back to the given version at once */
    }
    if (to.stable != from.stable) {
        /* An explicit --to must pass the same checks as a deploy (Archived is fine: the
         * usual way back is to the version archive_existing archived). */
        rc = check_deployable(r, cur.model, to.stable, env, to_version == 0, 1, err, errlen);
        if (rc)
            goto out;
    }
    rc = save(r, name, env, cur.model, &from, &to, "rollback", reg_who(r, who), reason, extra, err,
              errlen);
    if (rc)
        goto out;
    rc = commit_and_reload(r, name, env, out, err, errlen);
out:
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    reg_deployment_free(&cur);
    return rc;
}

/* ---- reads ---- */

mmsp_err registry_deployment_get(struct registry *r, const char *name, const char *environment,
                                 struct reg_deployment *out, char *err, size_t errlen)
{
    mmsp_err rc;
    const char *env = environment ? environment : "production";
    if ((rc = reg_check_name(name, "deployment name", err, errlen)) ||
        (rc = check_env(env, err, errlen)))
        return rc;
    reg_lock(r);
    rc = reload(r, name, env, out, err, errlen);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_deployment_list(struct registry *r, struct reg_deployment **out, size_t *n,
                                  char *err, size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    struct reg_deployment *list = NULL;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    reg_lock(r);
    rc = db_query(r->db, "SELECT " DEPLOYMENT_SELECT " FROM deployments ORDER BY name, environment",
                  NULL, 0, &rows, err, errlen);
    reg_unlock(r);
    if (rc)
        goto out;
    if (rows.n_rows && !(list = calloc(rows.n_rows, sizeof *list))) {
        rc = nomem(err, errlen);
        goto out;
    }
    for (; count < rows.n_rows; count++)
        if ((rc = deployment_from_row(&rows, count, &list[count], err, errlen)))
            goto out;
    *out = list;
    *n = count;
    list = NULL;
out:
    reg_deployment_list_free(list, count);
    db_rows_free(&rows);
    return rc;
}

/* ---- events ---- */

mmsp_err registry_event_append(struct registry *r, const char *deployment, const char *environment,
                               const char *who, const char *action, const char *detail_json,
                               char *err, size_t errlen)
{
    mmsp_err rc;
    if (deployment && *deployment &&
        (rc = reg_check_name(deployment, "deployment name", err, errlen)))
        return rc;
    if (environment && *environment && (rc = check_env(environment, err, errlen)))
        return rc;
    if ((rc = reg_check_name(action, "action", err, errlen)) ||
        (rc = reg_check_text(who, REG_NAME_MAX, "who", err, errlen)) ||
        (rc = reg_check_text(detail_json, REG_EVENT_DETAIL_MAX, "event detail", err, errlen)))
        return rc;
    if (detail_json) {
        json_t *d = json_loads(detail_json, JSON_REJECT_DUPLICATES, NULL);
        int ok = json_is_object(d);
        json_decref(d);
        if (!ok)
            return reg_fail(err, errlen, MMSP_E_INVALID, "event detail must be a JSON object");
    }
    reg_lock(r);
    rc = db_begin(r->db, err, errlen);
    if (rc == MMSP_OK)
        rc = reg_event_insert(r, deployment, environment, who, action, detail_json, err, errlen);
    if (rc == MMSP_OK)
        rc = db_commit(r->db, err, errlen);
    if (rc)
        db_rollback(r->db);
    reg_unlock(r);
    return rc;
}

mmsp_err registry_history(struct registry *r, const char *deployment, const char *environment,
                          struct reg_event **out, size_t *n, char *err, size_t errlen)
{
    mmsp_err rc;
    struct db_rows rows = {0};
    struct reg_event *list = NULL;
    size_t count = 0, np = 0;
    const char *p[2];
    char sql[256];

    *out = NULL;
    *n = 0;
    if (deployment)
        p[np++] = deployment;
    if (environment)
        p[np++] = environment;
    snprintf(sql, sizeof sql,
             "SELECT id, deployment, environment, at_ms, who, action, detail FROM events%s%s%s"
             " ORDER BY id",
             np ? " WHERE " : "", deployment ? "deployment = ?" : "",
             environment ? (deployment ? " AND environment = ?" : "environment = ?") : "");
    reg_lock(r);
    rc = db_query(r->db, sql, p, np, &rows, err, errlen);
    reg_unlock(r);
    if (rc)
        goto out;
    if (rows.n_rows && !(list = calloc(rows.n_rows, sizeof *list))) {
        rc = nomem(err, errlen);
        goto out;
    }
    for (; count < rows.n_rows; count++) {
        struct reg_event *e = &list[count];
        e->id = reg_cell_i64(db_cell(&rows, count, 0));
        e->deployment = reg_strdup(db_cell(&rows, count, 1));
        e->environment = reg_strdup(db_cell(&rows, count, 2));
        e->at_ms = reg_cell_i64(db_cell(&rows, count, 3));
        e->who = reg_strdup(db_cell(&rows, count, 4));
        e->action = reg_strdup(db_cell(&rows, count, 5));
        e->detail = reg_strdup(db_cell(&rows, count, 6));
        if (!e->deployment || !e->environment || !e->who || !e->action || !e->detail) {
            count++;
            rc = nomem(err, errlen);
            goto out;
        }
    }
    *out = list;
    *n = count;
    list = NULL;
out:
    reg_event_list_free(list, count);
    db_rows_free(&rows);
    return rc;
}

mmsp_err registry_deployments_generation(struct registry *r, int64_t *out, char *err, size_t errlen)
{
    struct db_rows rows = {0};
    reg_lock(r);
    mmsp_err rc =
        db_query(r->db, "SELECT value FROM counters WHERE name = 'deployments_generation'", NULL, 0,
                 &rows, err, errlen);
    reg_unlock(r);
    if (rc == MMSP_OK)
        *out = reg_cell_i64(db_cell(&rows, 0, 0));
    db_rows_free(&rows);
    return rc;
}
