/*
 * Model manifests and the policy gate (seed 001; docs/policy.md).
 *
 * A manifest (YAML, parsed with libyaml):
 *
 *   apiVersion: mlifecycle.io/v1
 *   kind: ModelDeployment
 *   metadata: {name: fraud-detector}          # optional
 *   spec:
 *     model: {name: fraud-detector, version: "2.1.0", framework: xgboost}
 *     metrics: {accuracy: 0.94, f1_score: 0.90, auc: 0.99}   # any numeric keys
 *     fairness: {demographic_parity: 0.02}                    # any numeric keys
 *     drift: {score: 0.05}
 *     dependencies: [{name: xgboost, version: "1.7.4"}, ...]  # or "xgboost==1.7.4" strings
 *     lineage: {git_sha: ..., dataset_version: ..., approver: ..., run_id: ...}
 *
 * apiVersion, kind and spec.model.name are required; every value is type-checked; an error
 * names the file, line and field ("manifest.yaml:7: spec.metrics.accuracy: expected a
 * number, got 'high'").
 *
 * Policies (YAML, `--policy FILE`; policy_default() is the built-in set):
 *
 *   rules:
 *     - name: min-accuracy
 *       field: spec.metrics.accuracy     # dotted path into the manifest
 *       op: ">="                         # >= > <= < == != | present | in_allowlist
 *       value: 0.85                      # the bound (number or string)
 *       required: true                   # absence fails (default true)
 *     - name: dependencies-allowlisted
 *       field: spec.dependencies
 *       op: in_allowlist
 *       allowlist: [xgboost, numpy, scikit-learn, onnx, ...]
 *
 * Built-in defaults (seed 001): accuracy >= 0.85, f1_score >= 0.80, spec.fairness present,
 * fairness.demographic_parity <= 0.10 (required: false), drift.score < 0.30 (required:
 * false), every dependency in the allowlist.
 * Calls: libyaml, jansson (policy_result_json), common.
 */
#ifndef MMSP_POLICY_H
#define MMSP_POLICY_H

#include <stddef.h>

#include "mmsp/error.h"

#define POLICY_MAX_BYTES (1 << 20) /* largest manifest or policy file */

struct manifest_dependency {
    char *name;    /* owned */
    char *version; /* owned; NULL when not given */
};

struct manifest_kv_num {
    char *key; /* owned */
    double value;
};

struct manifest {
    char *api_version, *kind, *metadata_name;     /* owned; metadata_name may be NULL */
    char *model_name, *model_version, *framework; /* owned; version/framework may be NULL */
    struct manifest_kv_num *metrics;
    size_t n_metrics;
    struct manifest_kv_num *fairness;
    size_t n_fairness;
    int has_fairness; /* spec.fairness present (even empty) */
    int has_drift_score;
    double drift_score;
    struct manifest_dependency *dependencies;
    size_t n_dependencies;
    char *git_sha, *dataset_version, *approver, *run_id; /* owned; NULL when absent */
    char *text; /* owned: the manifest as given (stored with the version) */
    void *doc_; /* internal: the parsed document, for field paths */
};

/* Parses YAML text (`name` is used in messages, e.g. the file name). */
mmsp_err manifest_parse(const char *text, size_t len, const char *name, struct manifest *out,
                        char *err, size_t errlen);
mmsp_err manifest_load(const char *path, struct manifest *out, char *err, size_t errlen);
void manifest_free(struct manifest *m); /* zeroes; safe on a zeroed struct */

/* The manifest's fields as manifest YAML (malloc'd; NULL when out of memory): for manifests
 * filled in code (e.g. from --metric flags) rather than parsed. Unknown keys of a parsed
 * manifest are not included (its `text` has them). policy_evaluate uses it when m->doc_ is
 * NULL, so a hand-filled struct manifest can be gated too. */
char *manifest_to_yaml(const struct manifest *m);

struct policy; /* a parsed rule set */

mmsp_err policy_parse(const char *text, size_t len, const char *name, struct policy **out,
                      char *err, size_t errlen);
mmsp_err policy_load(const char *path, struct policy **out, char *err, size_t errlen);
/* The built-in policy (a new copy; free with policy_free). */
mmsp_err policy_default(struct policy **out, char *err, size_t errlen);
void policy_free(struct policy *p);
/* The built-in policy as YAML text (static; what `mmsp gate --print-default-policy` prints). */
const char *policy_default_text(void);
/* Number of rules in p; the name given at parse time ("(built-in policy)" for the default). */
size_t policy_rule_count(const struct policy *p);
const char *policy_name(const struct policy *p);

struct policy_rule_result {
    char name[128];  /* rule name */
    char field[256]; /* field path */
    char op[16];     /* ">=", "present", "in_allowlist", ... */
    char bound[256]; /* the bound as text ("0.85"; for in_allowlist the list size) */
    char seen[256];  /* the value seen, as text; "(absent)" when missing */
    int passed;
    char message[256]; /* why it failed ("accuracy 0.80 < 0.85"; "dependency 'leftpad' is not
                          in the allowlist"); "" when passed */
};

struct policy_result {
    struct policy_rule_result *rules; /* owned, in rule order */
    size_t n_rules;
    int passed; /* every rule passed */
};

/* Evaluates every rule of p on m (never stops at the first failure). */
mmsp_err policy_evaluate(const struct policy *p, const struct manifest *m,
                         struct policy_result *out, char *err, size_t errlen);
void policy_result_free(struct policy_result *r);

/* One line per failed rule, "; "-joined, into buf (for errors and history events). */
void policy_result_summary(const struct policy_result *r, char *buf, size_t len);

/* JSON text {"passed": bool, "rules": [{"name","field","op","bound","seen","passed",
 * "message"}]} (malloc'd; NULL when out of memory). */
char *policy_result_json(const struct policy_result *r);

#endif
