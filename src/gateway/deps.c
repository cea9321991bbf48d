/*
 * The gateway's deployments cache (gateway_internal.h): reads the registry's deployments when
 * their generation moved, copies what routing needs (versions, weight, shadow, cohort header)
 * with the metric series of each variant looked up once, and swaps the new sorted array in
 * under the cache's write lock. Separate from gateway.c because registry.h (jansson) and
 * common/json.h cannot share a translation unit.
 * Calls: registry (deployments), metrics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway_internal.h"
#include "metrics/metrics.h"
#include "registry/registry.h"

_Static_assert(GATEWAY_NAME_MAX == REG_NAME_MAX, "deployment names");

static void dep_series(struct gateway *g, struct gateway_dep *e)
{
    char v[2][24];
    snprintf(v[0], sizeof v[0], "%" PRId64, e->stable);
    snprintf(v[1], sizeof v[1], "%" PRId64, e->canary);
    static const char *const variant[2] = {"stable", "canary"};
    for (int k = 0; k < 2; k++) {
        if ((k == 0 && e->stable <= 0) || (k == 1 && e->canary <= 0))
            continue;
        const char *l[4] = {e->name, e->environment, v[k], variant[k]};
        e->requests[k] = metrics_series(g->f_requests, l);
        e->errors[k] = metrics_series(g->f_errors, l);
        e->duration[k] = metrics_series(g->f_duration, l);
    }
    const char *de[2] = {e->name, e->environment};
    static const char *const result[3] = {"agree", "disagree", "error"};
    if (e->shadow > 0) {
        for (int k = 0; k < 3; k++) {
            const char *l[3] = {e->name, e->environment, result[k]};
            e->shadow_result[k] = metrics_series(g->f_shadow, l);
        }
        e->shadow_diff = metrics_series(g->f_shadow_diff, de);
        e->shadow_dropped = metrics_series(g->f_shadow_dropped, de);
    }
    if (e->canary > 0)
        e->fallbacks = metrics_series(g->f_fallbacks, de);
    metrics_gauge_set(metrics_series(g->f_weight, de), e->canary > 0 ? e->weight : 0);
}

mmsp_err gateway_refresh(struct gateway *g, int force, char *err, size_t errlen)
{
    struct reg_deployment *list = NULL;
    size_t n = 0;
    int64_t gen = 0;
    struct gateway_dep *deps = NULL, *old = NULL;
    pthread_mutex_lock(&g->refresh_mu);
    mmsp_err rc = registry_deployments_generation(g->registry, &gen, err, errlen);
    if (rc || (!force && gen == g->generation))
        goto out;
    if ((rc = registry_deployment_list(g->registry, &list, &n, err, errlen)))
        goto out;
    if (n && !(deps = calloc(n, sizeof *deps))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct reg_deployment *d = &list[i];
        struct gateway_dep *e = &deps[k];
        if (strlen(d->name) > GATEWAY_NAME_MAX || strlen(d->environment) >= sizeof e->environment)
            continue;
        snprintf(e->name, sizeof e->name, "%s", d->name);
        snprintf(e->environment, sizeof e->environment, "%s", d->environment);
        snprintf(e->model, sizeof e->model, "%s", d->model);
        int staging = strcmp(d->environment, "staging") == 0;
        snprintf(e->served, sizeof e->served, "%s%s", d->name, staging ? "@staging" : "");
        e->stable = d->stable_version;
        e->canary = d->canary_version;
        e->shadow = d->shadow_version;
        e->weight = d->canary_weight;
        snprintf(e->cohort_header, sizeof e->cohort_header, "%s",
                 d->cohort_header && *d->cohort_header ? d->cohort_header
                                                       : GATEWAY_DEFAULT_COHORT_HEADER);
        dep_series(g, e);
        k++;
    }
    pthread_rwlock_wrlock(&g->deps_lock);
    old = g->deps;
    g->deps = deps;
    g->n_deps = k;
    pthread_rwlock_unlock(&g->deps_lock);
    deps = NULL;
    g->generation = gen;
out:
    pthread_mutex_unlock(&g->refresh_mu);
    free(old);
    free(deps);
    reg_deployment_list_free(list, n);
    return rc;
}
