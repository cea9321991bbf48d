/*
 * The model registry and deployment store (docs/registry.md): registered models, versions
 * with stages, aliases, metrics and lineage, content-addressed artifacts, deployments and
 * their append-only event history. One implementation over src/registry/db.h, so SQLite
 * (default, DATA/registry.db) and PostgreSQL (--registry postgres://...) behave the same.
 *
 * Thread-safe: one connection guarded by a mutex; every public call is one transaction.
 * Several processes may share one store (the CLI on --data while a server runs): writes are
 * serialised by the engine, and readers see committed state.
 *
 * Artifacts live under DATA/artifacts/sha256/<first 2 hex>/<64 hex> (also with PostgreSQL:
 * DATA must then be shared by the processes that serve). An artifact is written to a
 * temporary file in the same directory, fsynced, renamed, and the directory fsynced, before
 * the version row that names it is committed: a crash leaves at worst an unreferenced file,
 * never a version without its artifact.
 *
 * Objects returned to the caller are owned by the caller and freed with the matching
 * *_free / *_list_free function. Strings inside are malloc'd; NULL means absent.
 *
 * Errors: MMSP_E_NOT_FOUND (unknown model, version, alias, deployment), MMSP_E_EXISTS (name
 * taken), MMSP_E_INVALID (bad argument, with the reason), MMSP_E_BAD_MODEL / MMSP_E_UNSUPPORTED
 * (the runtime refused the artifact: its message), MMSP_E_POLICY (the gate refused and force
 * was not set: the failed rules in err), MMSP_E_CONFLICT (the state forbids it: deleting a
 * deployed version, promoting with no canary), MMSP_E_IO (store or disk).
 * Calls: registry/db, policy, mmsp runtime, OpenSSL libcrypto (SHA-256), jansson.
 */
#ifndef MMSP_REGISTRY_H
#define MMSP_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mmsp/error.h"

#define REG_NAME_MAX 256 /* model, deployment, alias names; tag keys 250 */

enum reg_stage { REG_STAGE_NONE = 0, REG_STAGE_STAGING, REG_STAGE_PRODUCTION, REG_STAGE_ARCHIVED };

const char *reg_stage_name(enum reg_stage s); /* "None" "Staging" "Production" "Archived" */
/* Case-insensitive ("production" works); -1 when unknown. */
int reg_stage_parse(const char *s);

struct reg_kv {
    char *key, *value;
};

struct reg_metric {
    char *key;
    double value;
};

struct reg_model {
    char *name, *description, *user_id;
    int64_t created_ms, updated_ms; /* Unix ms */
    struct reg_kv *tags;
    size_t n_tags;
    struct reg_kv *aliases; /* key = alias, value = version number as text; sorted by alias */
    size_t n_aliases;
    int64_t latest_version; /* 0 = no version */
};

struct reg_version {
    char *name;
    int64_t version; /* 1, 2, ... per model */
    int64_t created_ms, updated_ms;
    char *user_id, *description;
    enum reg_stage stage;
    char *status;         /* "READY" (MLflow status; registration is synchronous) */
    char *status_message; /* "" */
    char *digest;         /* sha256 hex of the artifact */
    char *format;         /* "xgboost" | "onnx" */
    int64_t size;         /* artifact bytes */
    char *source;         /* where it was registered from (path or URI) */
    char *run_id, *run_link;
    struct reg_metric *metrics;
    size_t n_metrics;
    struct reg_kv *tags;
    size_t n_tags;
    char **aliases;
    size_t n_aliases;
    /* lineage */
    char *git_sha, *dataset_version, *approver, *framework;
    char *manifest; /* YAML text as registered, or NULL */
    /* "passed", "forced" (failed, registered with force), "not_evaluated" (MLflow API) */
    char *gate_status;
    char *gate_report; /* policy_result_json text, or NULL */
};

struct reg_deployment {
    char *name;
    char *environment; /* "staging" | "production" */
    char *model;
    int64_t stable_version; /* 0 = none */
    int64_t canary_version; /* 0 = none */
    int canary_weight;      /* 0..100 (percent of traffic to the canary) */
    int64_t shadow_version; /* 0 = none */
    char *state;            /* "active" | "canary" | "rolled_back" */
    int64_t created_ms, updated_ms;
    int64_t generation; /* bumped by every change of this deployment */
    /* The gateway's sticky-cohort request header; NULL = "X-User-Id". */
    char *cohort_header;
};

struct reg_event {
    int64_t id; /* increasing over the whole store */
    char *deployment, *environment;
    int64_t at_ms;
    char *who;    /* user (CLI: --user, $MMSP_USER, $USER; HTTP: "api") */
    char *action; /* "deploy" "canary" "shadow" "promote" "rollback" "register" "stage" ... */
    char *detail; /* JSON object text: versions before/after, weight, reason, figures */
};

struct registry;

struct registry_options {
    const char *data_dir; /* required: artifacts, and registry.db when url is NULL */
    const char *url;      /* NULL = sqlite:DATA/registry.db; else as db_open */
    const char *user;     /* default "who" for events and user_id; NULL = "unknown" */
};

/* Creates DATA (mkdir -p), opens the store and runs the schema migrations. */
mmsp_err registry_open(const struct registry_options *o, struct registry **out, char *err,
                       size_t errlen);
void registry_close(struct registry *r); /* NULL is ignored */

const char *registry_data_dir(const struct registry *r);

/* --- registered models ----------------------------------------------------------------- */

mmsp_err registry_model_create(struct registry *r, const char *name, const char *description,
                               const struct reg_kv *tags, size_t n_tags, struct reg_model *out,
                               char *err, size_t errlen);
mmsp_err registry_model_get(struct registry *r, const char *name, struct reg_model *out, char *err,
                            size_t errlen);
mmsp_err registry_model_rename(struct registry *r, const char *name, const char *new_name,
                               struct reg_model *out, char *err, size_t errlen);
mmsp_err registry_model_update(struct registry *r, const char *name, const char *description,
                               struct reg_model *out, char *err, size_t errlen);
/* Deletes the model and its versions (not the artifact files); MMSP_E_CONFLICT when a
 * deployment uses it. */
mmsp_err registry_model_delete(struct registry *r, const char *name, char *err, size_t errlen);
mmsp_err registry_model_set_tag(struct registry *r, const char *name, const char *key,
                                const char *value, char *err, size_t errlen);
mmsp_err registry_model_delete_tag(struct registry *r, const char *name, const char *key, char *err,
                                   size_t errlen);

/*
 * Search: `name_like` is a SQL LIKE pattern on the name ('%' and '_'; NULL = all), or an
 * exact name when `exact` is 1. Sorted by name. Paging: at most max_results (1..1000) items
 * after `page_token` (NULL or "" = start; an opaque token from a previous call);
 * *next_token is a malloc'd token when more items remain, else NULL. A bad token is
 * MMSP_E_INVALID.
 */
mmsp_err registry_model_search(struct registry *r, const char *name_like, int exact,
                               size_t max_results, const char *page_token, struct reg_model **out,
                               size_t *n, char **next_token, char *err, size_t errlen);
void reg_model_free(struct reg_model *m);
void reg_model_list_free(struct reg_model *m, size_t n);

/* Latest version per stage (all stages when n_stages is 0), MLflow get-latest-versions. */
mmsp_err registry_latest_versions(struct registry *r, const char *name, const char *const *stages,
                                  size_t n_stages, struct reg_version **out, size_t *n, char *err,
                                  size_t errlen);

/* Aliases (MLflow semantics: an alias names one version; setting it moves it). */
mmsp_err registry_alias_set(struct registry *r, const char *name, const char *alias,
                            int64_t version, char *err, size_t errlen);
mmsp_err registry_alias_delete(struct registry *r, const char *name, const char *alias, char *err,
                               size_t errlen);
mmsp_err registry_alias_get(struct registry *r, const char *name, const char *alias,
                            struct reg_version *out, char *err, size_t errlen);

/* --- versions -------------------------------------------------------------------------- */

struct reg_register_request {
    const char *name;          /* model; created when missing */
    const char *artifact_path; /* local file (model.json / model.onnx) */
    /* or the artifact's bytes (HTTP upload); artifact_path then only names the format by
     * its extension and may be NULL (format detected from the bytes) */
    const void *artifact_data;
    size_t artifact_len;
    const char *source;        /* recorded as source; default: artifact_path */
    const char *manifest_text; /* YAML or NULL */
    size_t manifest_len;
    const char *manifest_name;        /* for messages (file name) */
    const char *policy_path;          /* NULL = built-in policy */
    const struct reg_metric *metrics; /* --metric k=v (override the manifest's) */
    size_t n_metrics;
    const struct reg_kv *tags;
    size_t n_tags;
    const char *git_sha, *dataset_version, *approver, *run_id, *run_link, *description;
    const char *framework; /* default: manifest's, else from the format */
    int force;             /* register even if the gate fails (recorded with the failures) */
    int skip_gate;         /* MLflow API: gate_status "not_evaluated" */
    const char *who;       /* NULL = the registry's user */
};

/*
 * Registers a new version: loads the artifact with the runtime (refusing what cannot be
 * served, with the runtime's message), runs the gate on the manifest (with --metric values
 * merged into spec.metrics and lineage flags into spec.lineage; with no manifest, one made of
 * the metrics and lineage alone), stores the artifact, then inserts the version as
 * max(version)+1. A failed gate without force is MMSP_E_POLICY with the failed rules in err;
 * with force the version is registered with gate_status "forced" and a "register" event
 * (deployment "", detail with the failures) is appended to the history.
 */
mmsp_err registry_register(struct registry *r, const struct reg_register_request *req,
                           struct reg_version *out, char *err, size_t errlen);

mmsp_err registry_version_get(struct registry *r, const char *name, int64_t version,
                              struct reg_version *out, char *err, size_t errlen);
/* All versions of `name` (NULL = every model), ascending by (name, version), paged as
 * registry_model_search. */
mmsp_err registry_version_search(struct registry *r, const char *name, size_t max_results,
                                 const char *page_token, struct reg_version **out, size_t *n,
                                 char **next_token, char *err, size_t errlen);
mmsp_err registry_version_update(struct registry *r, const char *name, int64_t version,
                                 const char *description, struct reg_version *out, char *err,
                                 size_t errlen);
/* MMSP_E_CONFLICT when a deployment uses the version. */
mmsp_err registry_version_delete(struct registry *r, const char *name, int64_t version, char *err,
                                 size_t errlen);
mmsp_err registry_version_set_tag(struct registry *r, const char *name, int64_t version,
                                  const char *key, const char *value, char *err, size_t errlen);
mmsp_err registry_version_delete_tag(struct registry *r, const char *name, int64_t version,
                                     const char *key, char *err, size_t errlen);
/* Moves the version to `stage`; archive_existing moves the other versions in that stage to
 * Archived (only for Staging/Production, as MLflow). */
mmsp_err registry_version_stage(struct registry *r, const char *name, int64_t version,
                                enum reg_stage stage, int archive_existing, const char *who,
                                struct reg_version *out, char *err, size_t errlen);
void reg_version_free(struct reg_version *v);
void reg_version_list_free(struct reg_version *v, size_t n);

/* Path of the artifact of a version (DATA/artifacts/sha256/ab/abcd...), into path. With
 * verify 1, the file's SHA-256 and size are checked against the version (MMSP_E_BAD_MODEL
 * "digest mismatch" otherwise). */
mmsp_err registry_artifact_path(struct registry *r, const struct reg_version *v, int verify,
                                char *path, size_t pathlen, char *err, size_t errlen);

/* --- deployments ----------------------------------------------------------------------- */

struct reg_deploy_request {
    const char *name;        /* deployment */
    const char *environment; /* NULL = "production" */
    const char *model;       /* NULL: the deployment's current model (weight changes) */
    int64_t version;         /* 0: use alias; both 0/NULL with canary >= 0: weight change */
    const char *alias;
    int canary; /* -1: all at once (stable := version, canary cleared); 0..100: canary
                   version := version at this weight (version may be omitted to change the
                   weight of the current canary) */
    int shadow; /* 1: shadow version := version (stable unchanged) */
    int force;  /* allow a version whose gate_status is "not_evaluated" into production */
    const char *who, *reason;
    /* The gateway's sticky-cohort header (a header name); NULL = unchanged, "" = back to
     * the default X-User-Id. A change alone is a change of the deployment (event
     * "cohort_header", new generation). */
    const char *cohort_header;
};

/*
 * Creates or changes a deployment and appends the event. The first deploy of a name needs
 * a version and no canary (there is no stable to compare with: MMSP_E_CONFLICT). A version
 * must exist and be READY. Deploying to production refuses (MMSP_E_POLICY) a version whose
 * gate_status is "not_evaluated" (registered through the MLflow API, which has no manifest)
 * unless `force`; "forced" versions passed --force once already and are accepted.
 */
mmsp_err registry_deploy(struct registry *r, const struct reg_deploy_request *req,
                         struct reg_deployment *out, char *err, size_t errlen);
/* Canary becomes stable at 100 %; MMSP_E_CONFLICT when there is no canary. */
mmsp_err registry_promote(struct registry *r, const char *name, const char *environment,
                          const char *who, const char *reason, struct reg_deployment *out,
                          char *err, size_t errlen);
/* With a canary: the canary (and weight) is removed, stable unchanged. Without one: stable
 * goes back to `to_version` (0 = the stable version before the current one, from the
 * history; MMSP_E_CONFLICT when there is none). */
mmsp_err registry_rollback(struct registry *r, const char *name, const char *environment,
                           int64_t to_version, const char *who, const char *reason,
                           struct reg_deployment *out, char *err, size_t errlen);
/* As registry_promote / registry_rollback; the members of `extra` (a JSON object, borrowed;
 * NULL = none) are added to the event's detail beside model/from/to/reason (which win on a
 * clash): the canary controller records its figures, the alert webhook the alert. */
mmsp_err registry_promote_ex(struct registry *r, const char *name, const char *environment,
                             const char *who, const char *reason, const json_t *extra,
                             struct reg_deployment *out, char *err, size_t errlen);
mmsp_err registry_rollback_ex(struct registry *r, const char *name, const char *environment,
                              int64_t to_version, const char *who, const char *reason,
                              const json_t *extra, struct reg_deployment *out, char *err,
                              size_t errlen);
mmsp_err registry_deployment_get(struct registry *r, const char *name, const char *environment,
                                 struct reg_deployment *out, char *err, size_t errlen);
/* Every deployment, sorted by (name, environment). */
mmsp_err registry_deployment_list(struct registry *r, struct reg_deployment **out, size_t *n,
                                  char *err, size_t errlen);
void reg_deployment_free(struct reg_deployment *d);
void reg_deployment_list_free(struct reg_deployment *d, size_t n);

/* Appends an event (used by the canary controller and alert webhook of later modules). */
mmsp_err registry_event_append(struct registry *r, const char *deployment, const char *environment,
                               const char *who, const char *action, const char *detail_json,
                               char *err, size_t errlen);
/* Events of one deployment (environment NULL = all), oldest first; deployment NULL = all. */
mmsp_err registry_history(struct registry *r, const char *deployment, const char *environment,
                          struct reg_event **out, size_t *n, char *err, size_t errlen);
void reg_event_list_free(struct reg_event *e, size_t n);

/* What `mmsp history NAME` shows: the events of deployment NAME (in `environment`, or all)
 * and, when environment is NULL, the model-level events (deployment "": forced
 * registrations, stage changes) of the model called NAME, merged oldest first. */
mmsp_err registry_history_named(struct registry *r, const char *name, const char *environment,
                                struct reg_event **out, size_t *n, char *err, size_t errlen);

/* A number that changes whenever any deployment changes (servers poll it to follow). */
mmsp_err registry_deployments_generation(struct registry *r, int64_t *out, char *err,
                                         size_t errlen);

/* --- checks ---------------------------------------------------------------------------- */

/* The engine's integrity check, then every version: its artifact exists, has the recorded
 * size and SHA-256. Problems are listed in err ("fraud v3: artifact missing"); returns
 * MMSP_E_INTERNAL when any. */
mmsp_err registry_check(struct registry *r, char *err, size_t errlen);

/* --- JSON (the /api/v1 bodies and the CLI's --json output share these) ----------------- */

/* Native representations (new references; NULL when out of memory):
 * model:      {"name","description","user_id","created_ms","updated_ms","tags":{k:v},
 *              "aliases":{alias:version},"latest_version"}
 * version:    {"name","version","stage","status","digest","format","size","source","run_id",
 *              "run_link","description","created_ms","updated_ms","user_id","metrics":{k:v},
 *              "tags":{k:v},"aliases":[...],"lineage":{"git_sha","dataset_version",
 *              "approver","framework"},"gate_status","gate_report":{...}|null,
 *              "manifest":text|null}
 * deployment: {"name","environment","model","stable_version","canary_version",
 *              "canary_weight","shadow_version","state","created_ms","updated_ms",
 *              "generation","cohort_header"} (absent versions are null; cohort_header
 *              "X-User-Id" when not set)
 * event:      {"id","deployment","environment","at_ms","at" (RFC 3339),"who","action",
 *              "detail":{...}} */
json_t *reg_model_json(const struct reg_model *m);
json_t *reg_version_json(const struct reg_version *v);
json_t *reg_deployment_json(const struct reg_deployment *d);
json_t *reg_event_json(const struct reg_event *e);

/* MLflow REST 2.0 objects (protocols.md section 4.3): RM (with latest_versions: the latest
 * version per stage) and MV. */
json_t *reg_model_mlflow_json(struct registry *r, const struct reg_model *m);
json_t *reg_version_mlflow_json(const struct reg_version *v);

#endif
