/*
 * Shared pieces of the ai.onnx.ml operators (declared in ml_common.h): post transforms,
 * class labels, numeric inputs read as float, float lists from FLOATS or `*_as_tensor`.
 * Calls: op.h helpers, libc, libm.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/ops/ml_common.h"

mmsp_err ml_post_read(const struct onnx_node *node, enum ml_post *out, char *err, size_t errlen)
{
    static const char *const names[] = {"NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"};
    const char *s;
    mmsp_err rc = onnx_attr_string(node, "post_transform", "NONE", &s, err, errlen);
    if (rc)
        return rc;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(s, names[k]) == 0) {
            *out = (enum ml_post)k;
            return MMSP_OK;
        }
    return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "unknown post_transform '%s'", s);
}

/* erfinv by Giles' approximation refined with two Newton steps on erf (double precision). */
static double erfinv(double y)
{
    if (y <= -1.0)
        return -INFINITY;
    if (y >= 1.0)
        return INFINITY;
    double w = -log((1.0 - y) * (1.0 + y)), x;
    if (w < 5.0) {
        w -= 2.5;
        x = 2.81022636e-08;
        x = 3.43273939e-07 + x * w;
        x = -3.5233877e-06 + x * w;
        x = -4.39150654e-06 + x * w;
        x = 0.00021858087 + x * w;
        x = -0.00125372503 + x * w;
        x = -0.00417768164 + x * w;
        x = 0.246640727 + x * w;
        x = 1.50140941 + x * w;
    } else {
        w = sqrt(w) - 3.0;
        x = -0.000200214257;
        x = 0.000100950558 + x * w;
        x = 0.00134934322 + x * w;
        x = -0.00367342844 + x * w;
        x = 0.00573950773 + x * w;
        x = -0.0076224613 + x * w;
        x = 0.00943887047 + x * w;
        x = 1.00167406 + x * w;
        x = 2.83297682 + x * w;
    }
    x *= y;
    for (int k = 0; k < 2; k++) /* Newton: f = erf(x) - y, f' = 2/sqrt(pi) exp(-x^2) */
        x -= (erf(x) - y) / (1.1283791670955126 * exp(-x * x));
    return x;
}

float ml_probit(float p)
{
    return (float)(1.4142135623730951 * erfinv(2.0 * (double)p - 1.0));
}

void ml_post_apply(enum ml_post p, float *v, size_t n)
{
    switch (p) {
    case ML_POST_NONE:
        break;
    case ML_POST_LOGISTIC:
        for (size_t k = 0; k < n; k++)
            v[k] = 1.0f / (1.0f + expf(-v[k]));
        break;
    case ML_POST_PROBIT:
        for (size_t k = 0; k < n; k++)
            v[k] = ml_probit(v[k]);
        break;
    case ML_POST_SOFTMAX:
    case ML_POST_SOFTMAX_ZERO: {
        /* SOFTMAX_ZERO: entries that are exactly 0 stay 0 and take no share. */
        int zero = p == ML_POST_SOFTMAX_ZERO;
        float mx = -INFINITY, sum = 0.0f;
        for (size_t k = 0; k < n; k++)
            if ((!zero || v[k] != 0.0f) && v[k] > mx)
                mx = v[k];
        for (size_t k = 0; k < n; k++) {
            if (zero && v[k] == 0.0f)
                continue;
            v[k] = expf(v[k] - mx);
            sum += v[k];
        }
        if (sum > 0.0f)
            for (size_t k = 0; k < n; k++)
                v[k] /= sum;
        break;
    }
    }
}

mmsp_err ml_labels_read(const struct onnx_node *node, const char *int_name, const char *str_name,
                        int optional, struct ml_labels *out, char *err, size_t errlen)
{
    size_t ni = 0, ns = 0;
    mmsp_err rc;
    memset(out, 0, sizeof *out);
    if (int_name && (rc = onnx_attr_ints(node, int_name, &out->ints, &ni, NULL, err, errlen)))
        return rc;
    if (str_name && (rc = onnx_attr_strings(node, str_name, &out->strings, &ns, NULL, err, errlen)))
        return rc;
    if (ni && ns)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "both %s and %s are given",
                           int_name, str_name);
    if (!ni && !ns && !optional)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "neither %s nor %s is given",
                           int_name ? int_name : "(ints)", str_name ? str_name : "(strings)");
    out->is_string = ns > 0;
    out->n = ns ? ns : ni;
    return MMSP_OK;
}

void ml_label_put(const struct ml_labels *l, size_t k, struct onnx_tensor *out, int64_t i)
{
    if (l->is_string)
        ((const char **)out->data)[i] = l->strings[k];
    else
        ((int64_t *)out->data)[i] = l->ints[k];
}

mmsp_err ml_rows(const struct onnx_node *node, const struct onnx_tensor *x, int64_t *rows,
                 int64_t *cols, char *err, size_t errlen)
{
    if (!x)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "input X is missing");
    if (x->dtype != MMSP_DT_FP32 && x->dtype != MMSP_DT_FP64 && x->dtype != MMSP_DT_INT64 &&
        x->dtype != MMSP_DT_INT32)
        return onnx_op_err(node, err, errlen, MMSP_E_UNSUPPORTED,
                           "input type %s is not supported (float, double, int64, int32)",
                           onnx_dtype_name(x->dtype));
    if (x->ndim == 1) {
        *rows = 1;
        *cols = x->dims[0];
    } else if (x->ndim == 2) {
        *rows = x->dims[0];
        *cols = x->dims[1];
    } else {
        return onnx_op_err(node, err, errlen, MMSP_E_SHAPE, "input must have rank 1 or 2, not %d",
                           x->ndim);
    }
    return MMSP_OK;
}

float ml_getf(const struct onnx_tensor *x, int64_t i)
{
    switch (x->dtype) {
    case MMSP_DT_FP32:
        return ((const float *)x->data)[i];
    case MMSP_DT_FP64:
        return (float)((const double *)x->data)[i];
    case MMSP_DT_INT64:
        return (float)((const int64_t *)x->data)[i];
    case MMSP_DT_INT32:
        return (float)((const int32_t *)x->data)[i];
    default:
        return 0.0f;
    }
}

mmsp_err ml_floats_read(const struct onnx_node *node, const char *name, float **out, size_t *n,
                        char *err, size_t errlen)
{
    char tname[128];
    const float *f;
    size_t nf;
    int present;
    mmsp_err rc = onnx_attr_floats(node, name, &f, &nf, &present, err, errlen);
    *out = NULL;
    *n = 0;
    if (rc)
        return rc;
    snprintf(tname, sizeof tname, "%s_as_tensor", name);
    const struct onnx_attr *t = onnx_attr_find(node, tname);
    if (t && present)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "both %s and %s are given", name,
                           tname);
    if (t) {
        if (t->type != ONNX_ATTR_TENSOR ||
            (t->t.dtype != MMSP_DT_FP64 && t->t.dtype != MMSP_DT_FP32) || !t->t.data)
            return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                               "attribute %s must be a double tensor", tname);
        nf = (size_t)t->t.count;
    }
    if (nf == 0)
        return MMSP_OK;
    float *v = malloc(nf * sizeof *v);
    if (!v)
        return onnx_op_err(node, err, errlen, MMSP_E_NOMEM, "out of memory");
    for (size_t k = 0; k < nf; k++)
        v[k] = t ? (t->t.dtype == MMSP_DT_FP64 ? (float)((const double *)t->t.data)[k]
                                               : ((const float *)t->t.data)[k])
                 : f[k];
    *out = v;
    *n = nf;
    return MMSP_OK;
}

void ml_free(void *state)
{
    free(state);
}
