/*
 * Shared pieces of the ai.onnx.ml operators (ops/ml_*.c): post transforms (LOGISTIC,
 * SOFTMAX, SOFTMAX_ZERO, PROBIT), class labels (int64 or string), reading [N, F] inputs of
 * any numeric type as float, and reading float lists given either as FLOATS or as a double
 * TENSOR (the opset-3 `*_as_tensor` attributes). Internal to the ml operator files.
 * Calls: op.h helpers, libc, libm.
 */
#ifndef MMSP_RUNTIME_ONNX_OPS_ML_COMMON_H
#define MMSP_RUNTIME_ONNX_OPS_ML_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/onnx/op.h"

enum ml_post {
    ML_POST_NONE = 0,
    ML_POST_LOGISTIC,
    ML_POST_SOFTMAX,
    ML_POST_SOFTMAX_ZERO,
    ML_POST_PROBIT,
};

/* Reads attribute post_transform (default NONE). */
mmsp_err ml_post_read(const struct onnx_node *node, enum ml_post *out, char *err, size_t errlen);

/* Applies the transform to one row of n scores in place. */
void ml_post_apply(enum ml_post p, float *v, size_t n);

/* sqrt(2) * erfinv(2p - 1): the normal quantile of p (exact to float precision). */
float ml_probit(float p);

/* Class labels: exactly one of ints / strings (borrowed from the node's attributes). */
struct ml_labels {
    int is_string; /* 1: strings, 0: ints */
    size_t n;
    const int64_t *ints;
    const char *const *strings;
};

/*
 * Reads `int_name` (INTS) or `str_name` (STRINGS); exactly one must be present and non-empty
 * unless `optional` (then n == 0 when both are absent).
 */
mmsp_err ml_labels_read(const struct onnx_node *node, const char *int_name, const char *str_name,
                        int optional, struct ml_labels *out, char *err, size_t errlen);

/* Writes label k of `l` to element i of out (int64 or string tensor). */
void ml_label_put(const struct ml_labels *l, size_t k, struct onnx_tensor *out, int64_t i);

/*
 * Checks that x is a numeric tensor (float, double, int64, int32) of rank 1 or 2 and gives its
 * rows and columns ([F] is one row).
 */
mmsp_err ml_rows(const struct onnx_node *node, const struct onnx_tensor *x, int64_t *rows,
                 int64_t *cols, char *err, size_t errlen);

/* Element i of a float/double/int64/int32 tensor as float (0 for other types). */
float ml_getf(const struct onnx_tensor *x, int64_t i);

/*
 * A float list from attribute `name` (FLOATS) or `name`_as_tensor (a float or double TENSOR).
 * *out is malloc'ed (caller frees; NULL when absent, then *n = 0).
 */
mmsp_err ml_floats_read(const struct onnx_node *node, const char *name, float **out, size_t *n,
                        char *err, size_t errlen);

/* The state was malloc'ed as one block: free() it. */
void ml_free(void *state);

#endif
