/*
 * A model's config.yaml in a model repository (DESIGN.md section 5), Triton-like:
 *
 *   name: fraud-detector            # optional; must equal the directory name
 *   backend: xgboost                # xgboost | onnx; optional, detected from the model file
 *   max_batch_size: 256             # 0 = no batching: dims are the full shape
 *   input:                          # "inputs" is accepted too
 *     - name: input
 *       datatype: FP32              # wire name or TYPE_FP32
 *       dims: [30]                  # without the batch dim when max_batch_size > 0; -1 = any
 *   output:                         # "outputs" is accepted too
 *     - name: predict
 *       datatype: FP32
 *       dims: [1]
 *   dynamic_batching:               # optional
 *     max_queue_delay_microseconds: 100
 *     preferred_batch_size: [8, 16]
 *   instance_group: [{count: 1, kind: KIND_CPU}]
 *   version_policy: {latest: {num_versions: 1}}   # or {all: {}} or {specific: {versions: [1, 3]}}
 *   default_model_filename: model.json             # optional
 *
 * Errors name the file, line and field ("config.yaml:7: input[0].datatype: unknown datatype
 * 'FLOAT'"). A model directory without config.yaml gets a config inferred from the model.
 * Calls: libyaml, common/buf, mmsp runtime (for inference and checks).
 */
#ifndef MMSP_MODEL_CONFIG_H
#define MMSP_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "mmsp/runtime.h"

struct model_io_config {
    char *name;
    mmsp_dtype dtype;
    int ndim;
    int64_t dims[MMSP_MAX_DIMS];
};

enum version_policy_kind { VERSION_POLICY_LATEST = 0, VERSION_POLICY_ALL, VERSION_POLICY_SPECIFIC };

struct model_config {
    char *name;                   /* owned */
    char *backend;                /* owned; "xgboost" | "onnx"; NULL = detect */
    char *default_model_filename; /* owned; NULL = first model.json / model.onnx found */
    int64_t max_batch_size;
    struct model_io_config *inputs; /* owned arrays */
    size_t n_inputs;
    struct model_io_config *outputs;
    size_t n_outputs;
    int dynamic_batching; /* section present */
    int64_t max_queue_delay_us;
    int64_t *preferred_batch_sizes; /* owned */
    size_t n_preferred_batch_sizes;
    int instance_count; /* default 1 */
    enum version_policy_kind version_policy;
    int64_t latest_num_versions; /* default 1 */
    int64_t *specific_versions;  /* owned */
    size_t n_specific_versions;
};

/* Zeroes c and sets the defaults (max_batch_size 0, latest 1, one instance). */
void model_config_init(struct model_config *c);

/* Parses config.yaml at path. `model_name` is the directory name (the name field, if given,
 * must equal it). On error: MMSP_E_PARSE / MMSP_E_INVALID with "file:line: field: problem". */
mmsp_err model_config_load(const char *path, const char *model_name, struct model_config *out,
                           char *err, size_t errlen);

/* Same from memory; `path` is used in messages only. */
mmsp_err model_config_parse(const char *yaml, size_t len, const char *path, const char *model_name,
                            struct model_config *out, char *err, size_t errlen);

/* Fills in what the config left out (backend, inputs, outputs; max_batch_size from the
 * model's variable batch dim) from the loaded model; checks that what it says agrees with the
 * model (names, datatypes, dims), else MMSP_E_INVALID naming the field. */
mmsp_err model_config_complete(struct model_config *c, const mmsp_model *m, char *err,
                               size_t errlen);

/* Does this version number pass the config's version policy, given all versions on disk
 * (sorted ascending)? */
int model_config_version_selected(const struct model_config *c, int64_t version,
                                  const int64_t *all_versions, size_t n_all);

/* Appends the config as JSON (the /v2/models/{name}/config response; Triton field names:
 * name, platform, backend, max_batch_size, input[{name,data_type,dims}], output[...],
 * dynamic_batching, instance_group, version_policy). */
mmsp_err model_config_to_json(const struct model_config *c, const char *platform, struct buf *out);

void model_config_release(struct model_config *c);

#endif
