/*
 * Shared by the registry API files (api.c, api_native.c, api_mlflow.c, api_filter.c): the
 * API context handed to every handler, JSON body and response helpers, and the MLflow
 * search-filter parser (docs/api.md "Search filters"). Not installed; not for other modules.
 * Calls: registry, http, jansson.
 */
#ifndef MMSP_REGISTRY_API_INTERNAL_H
#define MMSP_REGISTRY_API_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "registry/api.h"
#include "registry/registry.h"

struct api_filter;

/* The API context: copies of the options. */
struct registry_api {
    struct registry *reg; /* borrowed */
    char *admin_token;    /* owned; NULL = writes are open */
    char *policy_path;    /* owned; NULL = built-in policy */
    void (*on_change)(void *ctx);
    void *change_ctx;
};

/* Route registration of the two API families (api.c calls both). */
mmsp_err registry_api_native_register(struct http_router *r, struct registry_api *api);
mmsp_err registry_api_mlflow_register(struct http_router *r, struct registry_api *api);

/* Tells the serving side that a deployment changed (on_change, when set). */
void registry_api_changed(struct registry_api *api);

/*
 * Parses the request body as one JSON object (an empty body is {}). *out is a new reference
 * the caller releases with json_decref. MMSP_E_INVALID with "<what> at line L column C" in
 * err when the body is not JSON or not an object.
 */
mmsp_err registry_api_body(const struct http_request *req, json_t **out, char *err, size_t errlen);

/* Serialises j (compact) into res->body with `status` and releases j (the reference is
 * stolen, NULL = out of memory). */
mmsp_err registry_api_send(struct http_response *res, int status, json_t *j);

/* A version number: decimal digits only, 1 .. INT64_MAX. Returns 0 on success. */
int registry_api_parse_version(const char *s, int64_t *out);

/* --- search over the store with filtering and paging ------------------------------------ */

/*
 * Models matching f (NULL = all), in name order, after page_token (NULL or "" = start), at
 * most max_results (SIZE_MAX = all of them), appended to the JSON array arr as MLflow RM
 * objects (mlflow 1) or native model objects. *next_token: a malloc'd token when more rows
 * may remain, else NULL. Errors from the store (a bad token is MMSP_E_INVALID) with err.
 */
mmsp_err registry_api_search_models(struct registry_api *api, const struct api_filter *f,
                                    size_t max_results, const char *page_token, int mlflow,
                                    json_t *arr, char **next_token, char *err, size_t errlen);
/* The same for versions, in (name, version) order; `name` (NULL = any) narrows the search
 * to one model (as does a name = 'x' clause of f). */
mmsp_err registry_api_search_versions(struct registry_api *api, const char *name,
                                      const struct api_filter *f, size_t max_results,
                                      const char *page_token, int mlflow, json_t *arr,
                                      char **next_token, char *err, size_t errlen);

#define API_FILTER_MAX_BYTES   4096 /* longest filter text */
#define API_FILTER_MAX_CLAUSES 16

enum api_filter_field { API_FIELD_NAME = 0, API_FIELD_RUN_ID, API_FIELD_TAG };
enum api_filter_op { API_OP_EQ = 0, API_OP_NE, API_OP_LIKE, API_OP_ILIKE };

struct api_filter_clause {
    enum api_filter_field field;
    enum api_filter_op op;
    const char *key;   /* tag key (API_FIELD_TAG), else NULL; points into the filter's text */
    const char *value; /* the quoted string, unquoted; points into the filter's text */
};

/* A parsed filter: clauses joined by AND. Points into itself: do not copy it. */
struct api_filter {
    struct api_filter_clause c[API_FILTER_MAX_CLAUSES];
    size_t n; /* 0 = match everything */
    char text[API_FILTER_MAX_BYTES + API_FILTER_MAX_CLAUSES * 2];
};

/*
 * MLflow's search filter (SearchUtils), the subset the registry answers:
 *   clause  := field op 'string' | field op "string"
 *   field   := name | run_id (versions only) | tags.<key> | tags.`key with spaces`
 *              (any field may be written in backticks)
 *   op      := = | != | LIKE | ILIKE       (keywords in any case)
 *   filter  := clause (AND clause)*        (empty or only spaces = everything)
 * `versions` selects the fields of model-versions/search. Anything else is MMSP_E_INVALID
 * with a message that says what is supported. Never reads past len.
 */
mmsp_err registry_api_filter_parse(const char *text, size_t len, int versions,
                                   struct api_filter *out, char *err, size_t errlen);

/* SQL LIKE on NUL-terminated strings: '%' any sequence, '_' one UTF-8 character; `nocase`
 * folds ASCII letters (ILIKE); a backslash makes the next character literal. Time
 * O(|pattern| x |s|): no exponential backtracking. */
int registry_api_like(const char *pattern, const char *s, int nocase);

/* Whether a model / version passes every clause. */
int registry_api_filter_model(const struct api_filter *f, const struct reg_model *m);
int registry_api_filter_version(const struct api_filter *f, const struct reg_version *v);

#endif
