/*
 * The history a person asks for by name (registry_history_named): a deployment's events
 * merged with the model-level events of the model of the same name, so `mmsp history NAME`
 * shows a forced registration next to the deploys, locally and over /api/v1 alike.
 * Calls: registry (registry_history), jansson.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry/registry.h"

/* A model-level event (deployment "") about model `name`? Those name the model in their
 * detail. */
static int is_model_event(const struct reg_event *e, const char *name)
{
    if (!e->deployment || *e->deployment || !e->detail)
        return 0;
    json_error_t je;
    json_t *d = json_loads(e->detail, 0, &je);
    const char *m = json_string_value(json_object_get(d, "model"));
    int yes = m && strcmp(m, name) == 0;
    json_decref(d);
    return yes;
}

mmsp_err registry_history_named(struct registry *r, const char *name, const char *environment,
                                struct reg_event **out, size_t *n, char *err, size_t errlen)
{
    struct reg_event *dep = NULL, *mod = NULL;
    size_t n_dep = 0, n_mod = 0;
    *out = NULL;
    *n = 0;
    mmsp_err rc = registry_history(r, name, environment, &dep, &n_dep, err, errlen);
    if (!rc && !environment)
        rc = registry_history(r, "", NULL, &mod, &n_mod, err, errlen);
    if (rc)
        goto out;
    /* Keep the model events of `name` only, moving them to the front of mod. */
    size_t kept = 0;
    for (size_t k = 0; k < n_mod; k++) {
        if (!is_model_event(&mod[k], name))
            continue;
        struct reg_event t = mod[kept];
        mod[kept++] = mod[k];
        mod[k] = t;
    }
    if (kept == 0) {
        *out = dep;
        *n = n_dep;
        dep = NULL;
        n_dep = 0;
        goto out;
    }
    struct reg_event *all = calloc(n_dep + kept, sizeof *all);
    if (!all) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    size_t i = 0, k = 0, m = 0;
    while (i < n_dep || k < kept) {
        struct reg_event *next;
        if (k >= kept || (i < n_dep && dep[i].id < mod[k].id))
            next = &dep[i++];
        else
            next = &mod[k++];
        all[m++] = *next;
        memset(next, 0, sizeof *next); /* moved: the list frees below see empty entries */
    }
    *out = all;
    *n = m;
out:
    reg_event_list_free(dep, n_dep);
    reg_event_list_free(mod, n_mod);
    return rc;
}
