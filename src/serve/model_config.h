/*
 * A model's config.yaml in a model repository (DESIGN.md section 5), Triton-like:
 *
 *   name: fraud-detector            # optional; must equal the directory name
 *   backend: xgboost                # xgboost | onnx (onnxruntime); optional, from the model
 *   platform: xgboost_json          # optional Triton spelling of the same: xgboost_json |
 *                                   # onnxruntime_onnx | onnx_onnxv1; must agree with backend
 *   max_batch_size: 256             # 0 = no batching: dims are the full shape. Unset: 256
 *                                   # when the model's first dim is variable (-1), else 0
 *   input:                          # "inputs" is accepted too
 *     - name: input
 *       datatype: FP32              # wire name or TYPE_FP32 ("data_type" is accepted too)
 *       dims: [30]                  # without the batch dim when max_batch_size > 0; -1 = any
 *   output:                         # "outputs" is accepted too
 *     - name: predict
 *       datatype: FP32
 *       dims: [1]
 *   dynamic_batching:               # optional; needs max_batch_size > 0
 *     max_queue_delay_microseconds: 100         # or max_queue_delay_us; default 0
 *     preferred_batch_size: [8, 16]             # each 1..max_batch_size
 *   instance_group: [{count: 1, kind: KIND_CPU}]  # KIND_CPU | KIND_AUTO; counts are summed
 *   version_policy: {latest: {num_versions: 1}}   # or {all: {}} or {specific: {versions: [1, 3]}}
 *   default_model_filename: model.json             # optional; a plain file name
 *
 * Every key is checked: an unknown one (a typo such as max_batch_szie) is an error naming it,
 * and so is a duplicate. Errors name the file, line and field ("config.yaml:7:
 * input[0].datatype: unknown datatype 'FLOAT'"). A model directory without config.yaml gets a
 * config inferred from the model (model_config_init + model_config_complete).
 * Ceilings: MODEL_CONFIG_MAX_BYTES of YAML, MODEL_CONFIG_MAX_IO inputs/outputs, 1024 bytes
 * per string, MODEL_CONFIG_MAX_LIST entries per integer list.
 * Calls: libyaml, common/buf, mmsp runtime (for inference and checks).
 */
#ifndef MMSP_MODEL_CONFIG_H
#define MMSP_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "mmsp/runtime.h"

#define MODEL_CONFIG_MAX_BYTES          (1 << 20)
#define MODEL_CONFIG_MAX_IO             256
#define MODEL_CONFIG_MAX_LIST           1024
#define MODEL_CONFIG_DEFAULT_BATCH_SIZE 256 /* max_batch_size when unset and batchable */

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
    int max_batch_size_set;         /* the config said it (0 included) */
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

/* Zeroes c and sets the defaults (max_batch_size 0 and unset, latest 1, one instance). */
void model_config_init(struct model_config *c);

/* Parses config.yaml at path into *out (initialised here; the caller releases it on success,
 * on failure it is left released). `model_name` is the directory name (the name field, if
 * given, must equal it; when absent, name becomes model_name); NULL skips the check.
 * On error: MMSP_E_PARSE (not YAML) / MMSP_E_INVALID (wrong content) with
 * "file:line: field: problem", MMSP_E_IO / MMSP_E_TOO_LARGE for the file itself. */
mmsp_err model_config_load(const char *path, const char *model_name, struct model_config *out,
                           char *err, size_t errlen);

/* Same from memory; `path` is used in messages only. */
mmsp_err model_config_parse(const char *yaml, size_t len, const char *path, const char *model_name,
                            struct model_config *out, char *err, size_t errlen);

/* Fills in what the config left out (backend, inputs, outputs; max_batch_size from the
 * model's variable batch dim: MODEL_CONFIG_DEFAULT_BATCH_SIZE when every input's first dim is
 * -1, else 0) from the loaded model (borrowed); checks that what it says agrees with the
 * model, else MMSP_E_INVALID with "<name>: field: problem". Rules: the backend must be the
 * model's; max_batch_size > 0 needs a variable first dim on every input; inputs must name every
 * model input, outputs may name a subset; datatypes equal; dims (without the batch dim when
 * max_batch_size > 0) of the same rank once size-1 dims are dropped ([1] fits a per-row
 * scalar), each equal to the model's or anything where the model says -1. On failure c is unchanged
 * except for fields filled before the problem was found. */
mmsp_err model_config_complete(struct model_config *c, const mmsp_model *m, char *err,
                               size_t errlen);

/* Does this version number pass the config's version policy, given all versions on disk (any
 * order)? A version that is not among them is never selected. latest N: among the N largest;
 * all: any; specific: listed. */
int model_config_version_selected(const struct model_config *c, int64_t version,
                                  const int64_t *all_versions, size_t n_all);

/* 1 when a and b configure serving the same way: every field equal except the version
 * policy (which picks versions, not how one version serves). The model manager uses it to
 * reuse a loaded version across reloads. */
int model_config_same_serving(const struct model_config *a, const struct model_config *b);

/* Appends the config as JSON (the /v2/models/{name}/config response; Triton field names:
 * name, platform, backend, max_batch_size, input[{name,data_type,dims}], output[...],
 * dynamic_batching (when present), instance_group, version_policy, default_model_filename).
 * platform (borrowed) may be NULL: then it follows from the backend ("xgboost_json",
 * "onnx_onnxv1"). Dims are JSON numbers. On error out is put back to its previous length. */
mmsp_err model_config_to_json(const struct model_config *c, const char *platform, struct buf *out);

/* Frees what c owns and re-initialises it. */
void model_config_release(struct model_config *c);

#endif
