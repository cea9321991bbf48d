/*
 * The embeddable mmsp runtime: load a model file, describe its inputs and outputs, run it on
 * tensors, release it. The server uses exactly this API; so can any C program.
 *
 *     char err[MMSP_ERRMSG_MAX];
 *     mmsp_model *m;
 *     if (mmsp_model_load("model.json", &m, err, sizeof err)) { fprintf(stderr, "%s\n", err); ... }
 *     const mmsp_io_info *in = mmsp_model_input(m, 0);       // e.g. "input" FP32 [-1, 30]
 *     float rows[2 * 30] = {...};
 *     mmsp_tensor x = {.name = in->name, .dtype = MMSP_DT_FP32, .ndim = 2, .shape = {2, 30},
 *                      .data = rows, .nbytes = sizeof rows};
 *     float pred[2]; ...                                         // sized by
 * mmsp_model_output_bytes mmsp_tensor y[N] = {{.data = pred, .nbytes = sizeof pred}, ...};
 *     mmsp_model_run(m, &x, 1, y, mmsp_model_output_count(m), err, sizeof err);
 *     mmsp_model_release(m);
 *
 * Back ends: XGBoost JSON models (`.json`, as written by XGBoost 1.7 `save_model`) and,
 * later, ONNX (`.onnx`). The back end is chosen from the file's contents.
 *
 * Threads: a loaded model is immutable. mmsp_model_run may be called from any number of
 * threads at once on the same model. Models are reference-counted: mmsp_model_retain and
 * mmsp_model_release may also be called from any thread, and the last release frees it.
 */
#ifndef MMSP_RUNTIME_H
#define MMSP_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"
#include "mmsp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mmsp_model mmsp_model;

/* One input or output of a model. dims[i] == -1 means variable (the batch dim is dims[0]). */
typedef struct mmsp_io_info {
    const char *name;
    mmsp_dtype dtype;
    int ndim;
    int64_t dims[MMSP_MAX_DIMS];
} mmsp_io_info;

/* What a model predicts; lets servers present results (labels, probabilities) sensibly. */
typedef enum mmsp_task {
    MMSP_TASK_REGRESSION = 0,
    MMSP_TASK_BINARY,     /* two classes; the "predict" output is P(class 1) or a margin */
    MMSP_TASK_MULTICLASS, /* num_class classes */
} mmsp_task;

/* Static facts about a loaded model. Strings are owned by the model. */
typedef struct mmsp_model_info {
    const char *backend; /* "xgboost" | "onnx" */
    const char
        *platform; /* Open Inference Protocol platform string: "xgboost_json", "onnx_onnxv1" */
    mmsp_task task;
    int num_class;             /* 1 for regression and binary:* objectives, else the class count */
    const char *objective;     /* e.g. "binary:logistic"; "" when the format has none */
    int output_is_probability; /* 1 when "predict" holds probabilities (not margins/values) */
    int64_t num_feature;       /* columns of the (single) tabular input; 0 when not tabular */
    const char *const *feature_names; /* num_feature names from the model file, or NULL */
} mmsp_model_info;

/*
 * Loads the model at `path`. On success *out holds one reference owned by the caller.
 * On failure returns the code and writes a message naming the file and what is wrong into
 * err (when err is not NULL). A hostile file is refused, never crashes or hangs.
 */
mmsp_err mmsp_model_load(const char *path, mmsp_model **out, char *err, size_t errlen);

/*
 * The same from memory. `format` is "xgboost_json", "onnx", or NULL to detect it.
 * `name` is used in error messages only (may be NULL). The buffer is not kept.
 */
mmsp_err mmsp_model_load_buffer(const void *data, size_t len, const char *format, const char *name,
                                mmsp_model **out, char *err, size_t errlen);

/* Adds a reference. Returns m. */
mmsp_model *mmsp_model_retain(mmsp_model *m);

/* Drops a reference; the last one frees the model. NULL is ignored. */
void mmsp_model_release(mmsp_model *m);

const mmsp_model_info *mmsp_model_get_info(const mmsp_model *m);

size_t mmsp_model_input_count(const mmsp_model *m);
size_t mmsp_model_output_count(const mmsp_model *m);

/* The i-th input / output, or NULL when i is out of range. Owned by the model. */
const mmsp_io_info *mmsp_model_input(const mmsp_model *m, size_t i);
const mmsp_io_info *mmsp_model_output(const mmsp_model *m, size_t i);

/* Bytes the i-th output needs for `batch` rows (0 when i is out of range or it overflows). */
size_t mmsp_model_output_bytes(const mmsp_model *m, size_t i, int64_t batch);

/*
 * Runs the model. inputs[k] must match input k's dtype and dims (a -1 dim takes any size,
 * the same batch for all inputs). outputs has n_outputs == mmsp_model_output_count(m) entries
 * whose data/nbytes the caller provides (at least mmsp_model_output_bytes each); run fills
 * their name, dtype, ndim, shape and data. No allocation happens in here for tree models.
 * Errors: MMSP_E_SHAPE / MMSP_E_DTYPE / MMSP_E_INVALID with a message in err.
 */
mmsp_err mmsp_model_run(const mmsp_model *m, const mmsp_tensor *inputs, size_t n_inputs,
                        mmsp_tensor *outputs, size_t n_outputs, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
