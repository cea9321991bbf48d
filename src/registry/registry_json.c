/*
 * JSON forms of the registry's objects (registry.h, "JSON"): the native bodies of /api/v1
 * and the CLI's --json output, and MLflow's RegisteredModel / ModelVersion objects
 * (protocols.md section 4.3: versions as strings, timestamps as numbers, tags as
 * [{key, value}]). Absent strings are JSON null in the native form and "" in MLflow's.
 * Calls: jansson, registry (latest versions for MLflow's RegisteredModel).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "registry/registry_internal.h"

/* A new string reference, or null for NULL (jansson rejects invalid UTF-8: null then too). */
static json_t *str_or_null(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

static json_t *str_or_empty(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_string("");
}

static json_t *version_or_null(int64_t v)
{
    return v > 0 ? json_integer(v) : json_null();
}

/* Sets obj[key] = value. The value is always consumed (also on failure); returns 0 when
 * obj or value is NULL or out of memory. */
static int put(json_t *obj, const char *key, json_t *value)
{
    if (!obj || !value) {
        json_decref(value);
        return 0;
    }
    return json_object_set_new(obj, key, value) == 0;
}

/* Puts a new container at obj[key] and returns it (borrowed), or NULL. */
static json_t *put_new(json_t *obj, const char *key, json_t *container)
{
    return put(obj, key, container) ? container : NULL;
}

static json_t *kv_object(const struct reg_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        if (!put(o, kv[i].key, str_or_empty(kv[i].value))) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *kv_array(const struct reg_kv *kv, size_t n, const char *k, const char *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *item = json_object();
        if (!put(item, k, str_or_empty(kv[i].key)) || !put(item, v, str_or_empty(kv[i].value)) ||
            json_array_append_new(a, item) != 0) {
            json_decref(item);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *reg_model_json(const struct reg_model *m)
{
    json_t *o = json_object();
    if (!m || !o)
        goto fail;
    json_t *aliases = put_new(o, "aliases", json_object());
    if (!aliases)
        goto fail;
    for (size_t i = 0; i < m->n_aliases; i++)
        if (!put(aliases, m->aliases[i].key, json_integer(reg_cell_i64(m->aliases[i].value))))
            goto fail;
    if (put(o, "name", str_or_null(m->name)) &&
        put(o, "description", str_or_null(m->description)) &&
        put(o, "user_id", str_or_null(m->user_id)) &&
        put(o, "created_ms", json_integer(m->created_ms)) &&
        put(o, "updated_ms", json_integer(m->updated_ms)) &&
        put(o, "tags", kv_object(m->tags, m->n_tags)) &&
        put(o, "latest_version", version_or_null(m->latest_version)))
        return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *reg_version_json(const struct reg_version *v)
{
    json_t *o = json_object();
    if (!v || !o)
        goto fail;
    json_t *metrics = put_new(o, "metrics", json_object());
    json_t *aliases = put_new(o, "aliases", json_array());
    json_t *lineage = put_new(o, "lineage", json_object());
    if (!metrics || !aliases || !lineage)
        goto fail;
    for (size_t i = 0; i < v->n_metrics; i++)
        if (!put(metrics, v->metrics[i].key, json_real(v->metrics[i].value)))
            goto fail;
    for (size_t i = 0; i < v->n_aliases; i++)
        if (json_array_append_new(aliases, str_or_empty(v->aliases[i])) != 0)
            goto fail;
    json_t *report = v->gate_report ? json_loads(v->gate_report, 0, NULL) : NULL;
    if (put(lineage, "git_sha", str_or_null(v->git_sha)) &&
        put(lineage, "dataset_version", str_or_null(v->dataset_version)) &&
        put(lineage, "approver", str_or_null(v->approver)) &&
        put(lineage, "framework", str_or_null(v->framework)) &&
        put(o, "gate_report", report ? report : json_null()) &&
        put(o, "name", str_or_null(v->name)) && put(o, "version", json_integer(v->version)) &&
        put(o, "stage", json_string(reg_stage_name(v->stage))) &&
        put(o, "status", str_or_null(v->status)) && put(o, "digest", str_or_null(v->digest)) &&
        put(o, "format", str_or_null(v->format)) && put(o, "size", json_integer(v->size)) &&
        put(o, "source", str_or_null(v->source)) && put(o, "run_id", str_or_null(v->run_id)) &&
        put(o, "run_link", str_or_null(v->run_link)) &&
        put(o, "description", str_or_null(v->description)) &&
        put(o, "created_ms", json_integer(v->created_ms)) &&
        put(o, "updated_ms", json_integer(v->updated_ms)) &&
        put(o, "user_id", str_or_null(v->user_id)) &&
        put(o, "tags", kv_object(v->tags, v->n_tags)) &&
        put(o, "gate_status", str_or_null(v->gate_status)) &&
        put(o, "manifest", str_or_null(v->manifest)))
        return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *reg_deployment_json(const struct reg_deployment *d)
{
    json_t *o = json_object();
    if (!d || !o)
        goto fail;
    if (put(o, "name", str_or_null(d->name)) &&
        put(o, "environment", str_or_null(d->environment)) &&
        put(o, "model", str_or_null(d->model)) &&
        put(o, "stable_version", version_or_null(d->stable_version)) &&
        put(o, "canary_version", version_or_null(d->canary_version)) &&
        put(o, "canary_weight", json_integer(d->canary_weight)) &&
        put(o, "shadow_version", version_or_null(d->shadow_version)) &&
        put(o, "state", str_or_null(d->state)) &&
        put(o, "created_ms", json_integer(d->created_ms)) &&
        put(o, "updated_ms", json_integer(d->updated_ms)) &&
        put(o, "generation", json_integer(d->generation)) &&
        put(o, "cohort_header", json_string(d->cohort_header ? d->cohort_header : "X-User-Id")))
        return o;
fail:
    json_decref(o);
    return NULL;
}

/* RFC 3339 UTC with milliseconds: 2026-11-22T21:57:46.123Z */
static void rfc3339(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs -= 1;
    }
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(out, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    char date[24];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%.20s.%03dZ", date, frac);
}

json_t *reg_event_json(const struct reg_event *e)
{
    json_t *o = json_object();
    char at[32];
    if (!e || !o)
        goto fail;
    json_t *detail = e->detail ? json_loads(e->detail, 0, NULL) : NULL;
    rfc3339(e->at_ms, at);
    if (put(o, "id", json_integer(e->id)) && put(o, "deployment", str_or_null(e->deployment)) &&
        put(o, "environment", str_or_null(e->environment)) &&
        put(o, "at_ms", json_integer(e->at_ms)) && put(o, "at", json_string(at)) &&
        put(o, "who", str_or_null(e->who)) && put(o, "action", str_or_null(e->action)) &&
        put(o, "detail", detail ? detail : json_object()))
        return o;
fail:
    json_decref(o);
    return NULL;
}

/* ---- MLflow ---- */

json_t *reg_version_mlflow_json(const struct reg_version *v)
{
    json_t *o = json_object();
    char ver[24];
    if (!v || !o)
        goto fail;
    json_t *aliases = put_new(o, "aliases", json_array());
    if (!aliases)
        goto fail;
    for (size_t i = 0; i < v->n_aliases; i++)
        if (json_array_append_new(aliases, str_or_empty(v->aliases[i])) != 0)
            goto fail;
    if (put(o, "name", str_or_empty(v->name)) &&
        put(o, "version", json_string(reg_i64(ver, v->version))) &&
        put(o, "creation_timestamp", json_integer(v->created_ms)) &&
        put(o, "last_updated_timestamp", json_integer(v->updated_ms)) &&
        put(o, "user_id", str_or_empty(v->user_id)) &&
        put(o, "current_stage", json_string(reg_stage_name(v->stage))) &&
        put(o, "description", str_or_empty(v->description)) &&
        put(o, "source", str_or_empty(v->source)) && put(o, "run_id", str_or_empty(v->run_id)) &&
        put(o, "status", str_or_empty(v->status)) &&
        put(o, "status_message", str_or_empty(v->status_message)) &&
        put(o, "tags", kv_array(v->tags, v->n_tags, "key", "value")) &&
        put(o, "run_link", str_or_empty(v->run_link)))
        return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *reg_model_mlflow_json(struct registry *r, const struct reg_model *m)
{
    json_t *o = json_object();
    struct reg_version *vs = NULL;
    size_t n = 0;
    char err[MMSP_ERRMSG_MAX];
    if (!m || !o)
        goto fail;
    json_t *latest = put_new(o, "latest_versions", json_array());
    if (!latest)
        goto fail;
    /* A model deleted meanwhile has no latest versions: an empty list, not an error. */
    if (r && registry_latest_versions(r, m->name, NULL, 0, &vs, &n, err, sizeof err) != MMSP_OK)
        n = 0;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(latest, reg_version_mlflow_json(&vs[i])) != 0)
            goto fail;
    if (put(o, "name", str_or_empty(m->name)) &&
        put(o, "creation_timestamp", json_integer(m->created_ms)) &&
        put(o, "last_updated_timestamp", json_integer(m->updated_ms)) &&
        put(o, "user_id", str_or_empty(m->user_id)) &&
        put(o, "description", str_or_empty(m->description)) &&
        put(o, "tags", kv_array(m->tags, m->n_tags, "key", "value")) &&
        put(o, "aliases", kv_array(m->aliases, m->n_aliases, "alias", "version"))) {
        reg_version_list_free(vs, n);
        return o;
    }
fail:
    reg_version_list_free(vs, n);
    json_decref(o);
    return NULL;
}
