/*
 * `POST /alerts`: the Alertmanager webhook receiver (payload version 4, protocols.md section
 * 6; docs/gateway.md "Alerts"). The whole payload is validated first (shape, labels naming a
 * known deployment, environment) so a bad payload changes nothing; then each alert acts:
 *   firing   + the deployment has a canary  -> registry_rollback_ex: event "rollback" whose
 *                                              detail.alert holds the alert
 *   firing   + no canary                    -> event "alert_fired" (recorded; a stable
 *                                              rollback is a person's decision)
 *   resolved                                -> event "alert_resolved"
 * A delivery is identified by status + fingerprint + startsAt; one already acted on (seen in
 * memory, or found in the deployment's event history, so it survives restarts) is counted
 * as a duplicate and does nothing. Acting is serialised by a mutex.
 * Calls: registry, http, metrics, common/log, jansson.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "gateway/alerts.h"
#include "metrics/metrics.h"
#include "registry/registry.h"

#define KEY_MAX 768

struct gateway_alerts {
    struct registry *registry; /* borrowed */
    char *admin_token;         /* owned; NULL = none */
    void (*on_change)(void *ctx);
    void *on_change_ctx;
    struct metric_series *count_rollback, *count_resolved, *count_duplicate, *count_ignored;
    pthread_mutex_t lock;
    char *seen[GATEWAY_ALERTS_SEEN]; /* ring of delivery keys (owned) */
    size_t seen_next;
};

/* One validated alert; pointers borrowed from the parsed payload. */
struct alert {
    json_t *obj;
    const char *status, *alertname, *deployment, *environment, *starts_at;
    char key[KEY_MAX]; /* status|fingerprint|startsAt */
};

mmsp_err gateway_alerts_new(const struct gateway_alerts_options *o, struct gateway_alerts **out,
                            char *err, size_t errlen)
{
    *out = NULL;
    if (!o || !o->registry) {
        snprintf(err, errlen, "alerts: a registry is required");
        return MMSP_E_INVALID;
    }
    struct gateway_alerts *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "alerts: out of memory");
        return MMSP_E_NOMEM;
    }
    a->registry = o->registry;
    a->on_change = o->on_change;
    a->on_change_ctx = o->on_change_ctx;
    if (o->admin_token && *o->admin_token && !(a->admin_token = strdup(o->admin_token))) {
        free(a);
        snprintf(err, errlen, "alerts: out of memory");
        return MMSP_E_NOMEM;
    }
    pthread_mutex_init(&a->lock, NULL);
    if (o->metrics) {
        static const char *const labels[] = {"action"};
        struct metric_family *f = metrics_family_register(
            o->metrics, "mmsp_gateway_alerts_total",
            "Alertmanager webhook alerts by what they did (rollback, resolved, duplicate, ignored)",
            METRIC_COUNTER, labels, 1, NULL, 0);
        if (f) {
            const char *v[1];
            v[0] = "rollback";
            a->count_rollback = metrics_series(f, v);
            v[0] = "resolved";
            a->count_resolved = metrics_series(f, v);
            v[0] = "duplicate";
            a->count_duplicate = metrics_series(f, v);
            v[0] = "ignored";
            a->count_ignored = metrics_series(f, v);
        }
    }
    *out = a;
    return MMSP_OK;
}

void gateway_alerts_free(struct gateway_alerts *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < GATEWAY_ALERTS_SEEN; i++)
        free(a->seen[i]);
    pthread_mutex_destroy(&a->lock);
    free(a->admin_token);
    free(a);
}

/* --- validation ------------------------------------------------------------------------- */

/* A JSON object whose values are all strings (labels, annotations). */
static int string_map(json_t *o)
{
    if (!json_is_object(o))
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!json_is_string(v))
            return 0;
    }
    return 1;
}

static const char *str_member(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Validates alert i of the payload into *al; the message of a failure goes to res. */
static mmsp_err check_alert(struct gateway_alerts *a, struct http_response *res, json_t *obj,
                            size_t i, struct alert *al)
{
    memset(al, 0, sizeof *al);
    al->obj = obj;
    if (!json_is_object(obj))
        return http_fail(res, MMSP_E_INVALID, "alerts[%zu] is not an object", i);
    al->status = str_member(obj, "status");
    if (!al->status || (strcmp(al->status, "firing") && strcmp(al->status, "resolved")))
        return http_fail(res, MMSP_E_INVALID, "alerts[%zu].status must be firing or resolved", i);
    json_t *labels = json_object_get(obj, "labels");
    if (!string_map(labels))
        return http_fail(res, MMSP_E_INVALID, "alerts[%zu].labels must be an object of strings", i);
    json_t *ann = json_object_get(obj, "annotations");
    if (ann && !json_is_null(ann) && !string_map(ann))
        return http_fail(res, MMSP_E_INVALID,
                         "alerts[%zu].annotations must be an object of strings", i);
    al->starts_at = str_member(obj, "startsAt");
    if (!al->starts_at || !*al->starts_at)
        return http_fail(res, MMSP_E_INVALID, "alerts[%zu].startsAt is required", i);
    json_t *fp = json_object_get(obj, "fingerprint");
    if (fp && !json_is_string(fp))
        return http_fail(res, MMSP_E_INVALID, "alerts[%zu].fingerprint must be a string", i);
    al->alertname = str_member(labels, "alertname");
    if (!al->alertname)
        al->alertname = "";
    al->deployment = str_member(labels, "deployment");
    if (!al->deployment || !*al->deployment)
        al->deployment = str_member(labels, "model");
    if (!al->deployment || !*al->deployment)
        return http_fail(res, MMSP_E_INVALID,
                         "alerts[%zu] (%.200s): no 'deployment' or 'model' label names a"
                         " deployment",
                         i, al->alertname);
    al->environment = str_member(labels, "environment");
    if (!al->environment || !*al->environment)
        al->environment = "production";
    if (strcmp(al->environment, "production") && strcmp(al->environment, "staging"))
        return http_fail(res, MMSP_E_INVALID,
                         "alerts[%zu]: environment '%.100s' is not staging or production", i,
                         al->environment);
    /* Alertmanager always sends a fingerprint; a hand-made payload without one is keyed by
     * its labels (sorted), which is what Alertmanager's fingerprint hashes. */
    char *fallback = NULL;
    const char *fps = json_string_value(fp);
    if (!fps) {
        fallback = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
        if (!fallback)
            return http_fail(res, MMSP_E_NOMEM, "out of memory");
        fps = fallback;
    }
    int n = snprintf(al->key, sizeof al->key, "%s|%s|%s", al->status, fps, al->starts_at);
    free(fallback);
    if (n < 0 || (size_t)n >= sizeof al->key)
        return http_fail(res, MMSP_E_INVALID, "alerts[%zu]: fingerprint and startsAt too long", i);
    struct reg_deployment d = {0};
    char err[MMSP_ERRMSG_MAX];
    mmsp_err rc =
        registry_deployment_get(a->registry, al->deployment, al->environment, &d, err, sizeof err);
    reg_deployment_free(&d);
    if (rc == MMSP_E_NOT_FOUND || rc == MMSP_E_INVALID)
        return http_fail(res, MMSP_E_INVALID, "alerts[%zu] (%.200s): unknown deployment: %s", i,
                         al->alertname, err);
    if (rc)
        return http_fail(res, rc, "alerts[%zu]: %s", i, err);
    return MMSP_OK;
}

/* --- acting ----------------------------------------------------------------------------- */

static int seen_in_memory(struct gateway_alerts *a, const char *key)
{
    for (size_t i = 0; i < GATEWAY_ALERTS_SEEN; i++)
        if (a->seen[i] && strcmp(a->seen[i], key) == 0)
            return 1;
    return 0;
}

static void remember(struct gateway_alerts *a, const char *key)
{
    char *k = strdup(key);
    if (!k)
        return; /* the history still dedupes */
    free(a->seen[a->seen_next]);
    a->seen[a->seen_next] = k;
    a->seen_next = (a->seen_next + 1) % GATEWAY_ALERTS_SEEN;
}

/* Whether the deployment's history holds an event for this delivery (detail.alert.key). */
static mmsp_err seen_in_history(struct gateway_alerts *a, const struct alert *al, int *seen,
                                char *err, size_t errlen)
{
    struct reg_event *ev = NULL;
    size_t n = 0;
    *seen = 0;
    mmsp_err rc =
        registry_history(a->registry, al->deployment, al->environment, &ev, &n, err, errlen);
    if (rc)
        return rc;
    for (size_t i = n; i-- > 0 && !*seen;) {
        if (!ev[i].detail || !strstr(ev[i].detail, "\"key\""))
            continue;
        json_t *d = json_loads(ev[i].detail, 0, NULL);
        const char *k = json_string_value(json_object_get(json_object_get(d, "alert"), "key"));
        if (k && strcmp(k, al->key) == 0)
            *seen = 1;
        json_decref(d);
    }
    reg_event_list_free(ev, n);
    return MMSP_OK;
}

/* {"alert": {"name","status","labels","annotations","startsAt","fingerprint","key",...}} */
static json_t *alert_detail(const struct alert *al, const char *note)
{
    json_t *ann = json_object_get(al->obj, "annotations");
    json_t *x =
        json_pack("{s:s, s:s, s:O, s:o, s:s, s:s?, s:s?, s:s}", "name", al->alertname, "status",
                  al->status, "labels", json_object_get(al->obj, "labels"), "annotations",
                  json_is_object(ann) ? json_deep_copy(ann) : json_object(), "startsAt",
                  al->starts_at, "fingerprint", str_member(al->obj, "fingerprint"), "generatorURL",
                  str_member(al->obj, "generatorURL"), "key", al->key);
    json_t *d = x ? json_pack("{s:o, s:s?}", "alert", x, "note", note) : NULL;
    return d;
}

static mmsp_err append_event(struct gateway_alerts *a, const struct alert *al, const char *action,
                             const char *note, char *err, size_t errlen)
{
    json_t *d = alert_detail(al, note);
    char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return MMSP_E_NOMEM;
    }
    mmsp_err rc = registry_event_append(a->registry, al->deployment, al->environment,
                                        "alertmanager", action, text, err, errlen);
    free(text);
    return rc;
}

/* Acts on one validated alert; *action says what happened. Lock held. */
static mmsp_err act(struct gateway_alerts *a, const struct alert *al, const char **action,
                    char *err, size_t errlen)
{
    int seen = seen_in_memory(a, al->key);
    mmsp_err rc = MMSP_OK;
    if (!seen && (rc = seen_in_history(a, al, &seen, err, errlen)))
        return rc;
    if (seen) {
        *action = "duplicate";
        remember(a, al->key);
        return MMSP_OK;
    }
    if (strcmp(al->status, "resolved") == 0) {
        rc = append_event(a, al, "alert_resolved", NULL, err, errlen);
        *action = "resolved";
    } else {
        struct reg_deployment d = {0};
        rc = registry_deployment_get(a->registry, al->deployment, al->environment, &d, err, errlen);
        int64_t canary = d.canary_version;
        reg_deployment_free(&d);
        if (rc)
            return rc;
        if (canary > 0) {
            char reason[512];
            snprintf(reason, sizeof reason, "alert %.200s firing since %.64s", al->alertname,
                     al->starts_at);
            json_t *extra = alert_detail(al, NULL);
            if (!extra) {
                snprintf(err, errlen, "out of memory");
                return MMSP_E_NOMEM;
            }
            rc = registry_rollback_ex(a->registry, al->deployment, al->environment, 0,
                                      "alertmanager", reason, extra, NULL, err, errlen);
            json_decref(extra);
            *action = "rollback";
            if (rc == MMSP_OK) {
                log_warn("alert_rollback", "deployment %s (%s): canary %lld rolled back by %s",
                         al->deployment, al->environment, (long long)canary, reason);
                if (a->on_change)
                    a->on_change(a->on_change_ctx);
            } else if (rc == MMSP_E_CONFLICT) {
                canary = 0; /* the canary went away meanwhile: record it as below */
            }
        }
        if (canary == 0) {
            rc = append_event(a, al, "alert_fired",
                              "no canary: nothing rolled back (a stable rollback is left to a"
                              " person: mmsp rollback)",
                              err, errlen);
            *action = "ignored";
        }
    }
    if (rc == MMSP_OK)
        remember(a, al->key);
    return rc;
}

static void count(struct gateway_alerts *a, const char *action)
{
    if (strcmp(action, "rollback") == 0)
        metrics_counter_add(a->count_rollback, 1);
    else if (strcmp(action, "resolved") == 0)
        metrics_counter_add(a->count_resolved, 1);
    else if (strcmp(action, "duplicate") == 0)
        metrics_counter_add(a->count_duplicate, 1);
    else
        metrics_counter_add(a->count_ignored, 1);
}

mmsp_err gateway_alerts_handle(struct http_request *req, struct http_response *res, void *ctx)
{
    struct gateway_alerts *a = ctx;
    struct alert *alerts = NULL;
    json_t *doc = NULL, *results = NULL;
    char *text = NULL;
    size_t n = 0;
    mmsp_err rc = http_require_admin(req, res, a->admin_token);
    if (rc)
        return rc;
    json_error_t jerr;
    doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        rc = http_fail(res, MMSP_E_INVALID, "malformed JSON: %s (line %d)", jerr.text, jerr.line);
        goto out;
    }
    if (!json_is_object(doc)) {
        rc = http_fail(res, MMSP_E_INVALID, "the payload must be a JSON object");
        goto out;
    }
    const char *version = str_member(doc, "version");
    if (!version || strcmp(version, "4") != 0) {
        rc = http_fail(res, MMSP_E_INVALID,
                       "unsupported webhook payload version (want \"4\", Alertmanager's)");
        goto out;
    }
    json_t *arr = json_object_get(doc, "alerts");
    if (!json_is_array(arr)) {
        rc = http_fail(res, MMSP_E_INVALID, "'alerts' must be an array");
        goto out;
    }
    n = json_array_size(arr);
    if (n > GATEWAY_ALERTS_MAX) {
        rc = http_fail(res, MMSP_E_INVALID, "%zu alerts in one payload (at most %d)", n,
                       GATEWAY_ALERTS_MAX);
        goto out;
    }
    if (n && !(alerts = calloc(n, sizeof *alerts))) {
        rc = http_fail(res, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = check_alert(a, res, json_array_get(arr, i), i, &alerts[i]);
        if (rc)
            goto out;
    }
    results = json_array();
    if (!results) {
        rc = http_fail(res, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < n && rc == MMSP_OK; i++) {
        const char *action = "ignored";
        char err[MMSP_ERRMSG_MAX];
        rc = act(a, &alerts[i], &action, err, sizeof err);
        if (rc) {
            /* 5xx: Alertmanager retries, and what was done already is a duplicate then */
            rc = http_fail(res, rc == MMSP_E_CONFLICT ? MMSP_E_CONFLICT : MMSP_E_INTERNAL,
                           "alerts[%zu] (%s on %s): %s", i, alerts[i].alertname,
                           alerts[i].deployment, err);
            break;
        }
        count(a, action);
        json_array_append_new(results,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "alertname",
                                        alerts[i].alertname, "deployment", alerts[i].deployment,
                                        "environment", alerts[i].environment, "status",
                                        alerts[i].status, "action", action));
    }
    pthread_mutex_unlock(&a->lock);
    if (rc)
        goto out;
    json_t *body = json_pack("{s:O}", "results", results);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text || buf_append_str(&res->body, text)) {
        rc = http_fail(res, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    res->status = 200;
out:
    free(text);
    json_decref(results);
    json_decref(doc);
    free(alerts);
    return rc;
}
