/*
 * The registry role's HTTP APIs, hosted by `mmsp serve` (docs/registry.md, docs/cli.md):
 *  - native  /api/v1/models..., /api/v1/deployments..., /api/v1/gate: everything the CLI
 *    does (the CLI's --server mode calls these; bodies are the reg_*_json objects);
 *  - MLflow-compatible model registry REST API 2.0 under /api/2.0/mlflow/ (and
 *    /ajax-api/2.0/mlflow/), protocols.md section 4, with MLflow's error bodies
 *    {"error_code": "...", "message": "..."} and statuses.
 * Write endpoints require the admin bearer token when one is set (http_require_admin).
 * Calls: registry, policy, http, jansson.
 */
#ifndef MMSP_REGISTRY_API_H
#define MMSP_REGISTRY_API_H

#include "http/http.h"
#include "mmsp/error.h"

/* Declared, not included: registry.h brings jansson, whose JSON_* names clash with
 * common/json.h in the serve files that register this API. */
struct registry;

struct registry_api_options {
    struct registry *registry; /* borrowed; outlives the API */
    const char *admin_token;   /* NULL or "" = writes are open; copied */
    const char *policy_path;   /* gate policy for registrations; NULL = built in; copied */
    /* Called after every successful deployment change made through the API (may be NULL):
     * the serving side re-reads the deployments at once instead of at its next poll. */
    void (*on_change)(void *ctx);
    void *change_ctx;
};

struct registry_api;

mmsp_err registry_api_register(struct http_router *router, const struct registry_api_options *o,
                               struct registry_api **out);
void registry_api_free(struct registry_api *api); /* after the server stopped */

#endif
