/*
 * The gate at registration (registry_gate.c): merges the registration's metrics and lineage
 * into the manifest (or makes one of them), parses it, and evaluates the policy.
 * Internal to src/registry (and its fuzz driver).
 */
#ifndef MMSP_REGISTRY_GATE_H
#define MMSP_REGISTRY_GATE_H

#include <stddef.h>

#include <jansson.h>

#include "policy/policy.h"
#include "registry/registry.h"

struct reg_gate_inputs {
    const char *model_name;
    const char *manifest_text; /* NULL = none: one is made of the fields below */
    size_t manifest_len;
    const char *manifest_name;        /* for messages; NULL = "manifest" */
    const char *policy_path;          /* NULL = the built-in policy */
    const struct reg_metric *metrics; /* override spec.metrics.<key> */
    size_t n_metrics;
    /* NULL = keep the manifest's; else they override spec.lineage.<key> */
    const char *git_sha, *dataset_version, *approver, *run_id;
    const char *framework; /* NULL = keep; else overrides spec.model.framework */
    int force, skip_gate;
};

struct reg_gate {
    struct manifest manifest; /* the merged manifest, parsed (owned) */
    const char *status;       /* static: "passed" | "forced" | "not_evaluated" */
    char *report;             /* policy_result_json text (owned); NULL when not evaluated */
    char *summary;            /* failed rules, "; "-joined (owned); NULL when not evaluated */
    json_t *failures;         /* [{name, field, op, bound, seen, message}] (owned reference) */
};

/*
 * Runs the gate. MMSP_E_POLICY (summary in err) when it fails and force is not set; manifest
 * errors (MMSP_E_PARSE / MMSP_E_INVALID, naming file, line and field) and policy file errors
 * as manifest_parse / policy_load return them. On success *g is filled (release with
 * reg_gate_release); on failure it is left empty.
 */
mmsp_err reg_gate_run(const struct reg_gate_inputs *in, struct reg_gate *g, char *err,
                      size_t errlen);
void reg_gate_release(struct reg_gate *g);

/* The merged YAML text (malloc'd into *out, *outlen bytes) of the manifest text (NULL = a new
 * one named in->model_name) with in's metrics, lineage and framework set. */
mmsp_err reg_manifest_merge(const char *text, size_t len, const struct reg_gate_inputs *in,
                            char **out, size_t *outlen, char *err, size_t errlen);

#endif
