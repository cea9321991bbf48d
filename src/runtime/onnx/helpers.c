/*
 * Helpers for operators (declared in op.h): error messages naming the node, attribute
 * getters with defaults and type checks, dtype sizes and names, shape counting with limits,
 * axis normalisation, constant integer inputs, numpy broadcasting and its iteration,
 * float16 / bfloat16 conversions. Calls: libc, libm.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/onnx/op.h"

mmsp_err onnx_op_err(const struct onnx_node *node, char *err, size_t errlen, mmsp_err rc,
                     const char *fmt, ...)
{
    char msg[MMSP_ERRMSG_MAX];
    va_list ap;

    if (!err || !errlen)
        return rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "node '%s' (op '%s'): %s", node->name, node->op_type, msg);
    return rc;
}

const struct onnx_attr *onnx_attr_find(const struct onnx_node *node, const char *name)
{
    for (size_t i = 0; i < node->n_attrs; i++)
        if (strcmp(node->attrs[i].name, name) == 0)
            return &node->attrs[i];
    return NULL;
}

static const struct onnx_attr *attr_typed(const struct onnx_node *node, const char *name,
                                          enum onnx_attr_type type, mmsp_err *rc, char *err,
                                          size_t errlen)
{
    const struct onnx_attr *a = onnx_attr_find(node, name);
    *rc = MMSP_OK;
    if (a && a->type != type) {
        *rc = onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                          "attribute '%s' has type %d, expected %d", name, (int)a->type, (int)type);
        return NULL;
    }
    return a;
}

mmsp_err onnx_attr_int(const struct onnx_node *node, const char *name, int64_t def, int64_t *out,
                       char *err, size_t errlen)
{
    mmsp_err rc;
    const struct onnx_attr *a = attr_typed(node, name, ONNX_ATTR_INT, &rc, err, errlen);
    *out = a ? a->i : def;
    return rc;
}

mmsp_err onnx_attr_float(const struct onnx_node *node, const char *name, float def, float *out,
                         char *err, size_t errlen)
{
    mmsp_err rc;
    const struct onnx_attr *a = attr_typed(node, name, ONNX_ATTR_FLOAT, &rc, err, errlen);
    *out = a ? a->f : def;
    return rc;
}

mmsp_err onnx_attr_string(const struct onnx_node *node, const char *name, const char *def,
                          const char **out, char *err, size_t errlen)
{
    mmsp_err rc;
    const struct onnx_attr *a = attr_typed(node, name, ONNX_ATTR_STRING, &rc, err, errlen);
    *out = a ? a->s : def;
    return rc;
}

mmsp_err onnx_attr_ints(const struct onnx_node *node, const char *name, const int64_t **out,
                        size_t *n, int *present, char *err, size_t errlen)
{
    mmsp_err rc;
    const struct onnx_attr *a = attr_typed(node, name, ONNX_ATTR_INTS, &rc, err, errlen);
    *out = a ? a->ints : NULL;
    *n = a ? a->n : 0;
    if (present)
        *present = a != NULL;
    return rc;
}

mmsp_err onnx_attr_floats(const struct onnx_node *node, const char *name, const float **out,
                          size_t *n, int *present, char *err, size_t errlen)
{
    mmsp_err rc;
    const struct onnx_attr *a = attr_typed(node, name, ONNX_ATTR_FLOATS, &rc, err, errlen);
    *out = a ? a->floats : NULL;
    *n = a ? a->n : 0;
    if (present)
        *present = a != NULL;
    return rc;
}

mmsp_err onnx_attr_strings(const struct onnx_node *node, const char *name, const char *const **out,
                           size_t *n, int *present, char *err, size_t errlen)
{
    mmsp_err rc;
    const struct onnx_attr *a = attr_typed(node, name, ONNX_ATTR_STRINGS, &rc, err, errlen);
    *out = a ? a->strings : NULL;
    *n = a ? a->n : 0;
    if (present)
        *present = a != NULL;
    return rc;
}

size_t onnx_dtype_size(mmsp_dtype t)
{
    switch (t) {
    case MMSP_DT_BOOL:
    case MMSP_DT_UINT8:
    case MMSP_DT_INT8:
        return 1;
    case MMSP_DT_UINT16:
    case MMSP_DT_INT16:
    case MMSP_DT_FP16:
    case MMSP_DT_BF16:
        return 2;
    case MMSP_DT_INT32:
    case MMSP_DT_UINT32:
    case MMSP_DT_FP32:
        return 4;
    case MMSP_DT_INT64:
    case MMSP_DT_UINT64:
    case MMSP_DT_FP64:
        return 8;
    case MMSP_DT_BYTES:
        return sizeof(const char *);
    default:
        return 0;
    }
}

const char *onnx_dtype_name(mmsp_dtype t)
{
    switch (t) {
    case MMSP_DT_BOOL:
        return "bool";
    case MMSP_DT_UINT8:
        return "uint8";
    case MMSP_DT_UINT16:
        return "uint16";
    case MMSP_DT_UINT32:
        return "uint32";
    case MMSP_DT_UINT64:
        return "uint64";
    case MMSP_DT_INT8:
        return "int8";
    case MMSP_DT_INT16:
        return "int16";
    case MMSP_DT_INT32:
        return "int32";
    case MMSP_DT_INT64:
        return "int64";
    case MMSP_DT_FP16:
        return "float16";
    case MMSP_DT_BF16:
        return "bfloat16";
    case MMSP_DT_FP32:
        return "float";
    case MMSP_DT_FP64:
        return "double";
    case MMSP_DT_BYTES:
        return "string";
    default:
        return "?";
    }
}

mmsp_err onnx_tensor_count(struct onnx_tensor *t)
{
    int64_t n = 1;
    size_t es = onnx_dtype_size(t->dtype);

    if (t->ndim < 0 || t->ndim > ONNX_MAX_DIMS)
        return MMSP_E_SHAPE;
    for (int d = 0; d < t->ndim; d++) {
        if (t->dims[d] < 0)
            return MMSP_E_SHAPE;
        if (t->dims[d] > ONNX_MAX_TENSOR_BYTES)
            return MMSP_E_TOO_LARGE;
        n *= t->dims[d]; /* both <= 2^31 while n stays <= 2^31: no overflow */
        if (n > ONNX_MAX_TENSOR_BYTES)
            return MMSP_E_TOO_LARGE;
    }
    if (es && n > ONNX_MAX_TENSOR_BYTES / (int64_t)es)
        return MMSP_E_TOO_LARGE;
    t->count = n;
    return MMSP_OK;
}

void onnx_shape_set(struct onnx_tensor *out, int ndim, const int64_t *dims)
{
    out->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        out->dims[d] = dims[d];
}

mmsp_err onnx_axis_norm(const struct onnx_node *node, int64_t axis, int rank, int *out, char *err,
                        size_t errlen)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "axis %lld is outside [-%d, %d)",
                           (long long)axis, rank, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return MMSP_OK;
}

mmsp_err onnx_const_ints(const struct onnx_node *node, const struct onnx_tensor *t, int64_t *out,
                         size_t cap, size_t *n, char *err, size_t errlen)
{
    if (!t->data)
        return onnx_op_err(node, err, errlen, MMSP_E_UNSUPPORTED,
                           "an input that must be constant is computed at run time");
    if (t->dtype != MMSP_DT_INT64 && t->dtype != MMSP_DT_INT32)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                           "constant input has type %s, expected int64", onnx_dtype_name(t->dtype));
    if ((uint64_t)t->count > cap)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                           "constant input has %lld values, at most %zu allowed",
                           (long long)t->count, cap);
    for (int64_t i = 0; i < t->count; i++)
        out[i] = t->dtype == MMSP_DT_INT64 ? ((const int64_t *)t->data)[i]
                                           : ((const int32_t *)t->data)[i];
    *n = (size_t)t->count;
    return MMSP_OK;
}

mmsp_err onnx_shape_broadcast(const struct onnx_node *node, size_t n,
                              const struct onnx_tensor *const *in, struct onnx_tensor *out,
                              char *err, size_t errlen)
{
    int rank = 0;
    for (size_t k = 0; k < n; k++)
        if (in[k] && in[k]->ndim > rank)
            rank = in[k]->ndim;
    for (int d = 0; d < rank; d++) {
        int64_t v = 1;
        for (size_t k = 0; k < n; k++) {
            if (!in[k])
                continue;
            int off = rank - in[k]->ndim;
            if (d < off)
                continue;
            int64_t w = in[k]->dims[d - off];
            if (w == v || w == 1)
                continue;
            if (v != 1)
                return onnx_op_err(node, err, errlen, MMSP_E_SHAPE,
                                   "shapes do not broadcast: dim %d is %lld and %lld", d,
                                   (long long)v, (long long)w);
            v = w;
        }
        out->dims[d] = v;
    }
    out->ndim = rank;
    return MMSP_OK;
}

void onnx_bcast_run(struct onnx_tensor *out, size_t n_in, const struct onnx_tensor *const *in,
                    onnx_bcast_fn fn, const void *arg)
{
    /* Per merged dim: extent and each input's element stride (0 where broadcast). */
    int64_t ext[ONNX_MAX_DIMS], str[4][ONNX_MAX_DIMS], idx[ONNX_MAX_DIMS];
    size_t es[4], eo = onnx_dtype_size(out->dtype);
    int nd = 0;

    if (out->count == 0)
        return;
    for (size_t k = 0; k < n_in; k++)
        es[k] = onnx_dtype_size(in[k]->dtype);
    for (int d = 0; d < out->ndim; d++) {
        int64_t s[4];
        if (out->dims[d] == 1)
            continue;
        for (size_t k = 0; k < n_in; k++) {
            int off = out->ndim - in[k]->ndim;
            s[k] = (d >= off && in[k]->dims[d - off] != 1) ? 1 : 0;
        }
        /* merge with the previous dim when every input broadcasts alike there */
        int same = nd > 0;
        for (size_t k = 0; k < n_in && same; k++)
            same = (str[k][nd - 1] != 0) == (s[k] != 0);
        if (same) {
            for (size_t k = 0; k < n_in; k++)
                str[k][nd - 1] = s[k];
            ext[nd - 1] *= out->dims[d];
        } else {
            for (size_t k = 0; k < n_in; k++)
                str[k][nd] = s[k];
            ext[nd++] = out->dims[d];
        }
    }
    /* strides in elements: a 1 marks "advances"; turn into real strides from the inside */
    for (size_t k = 0; k < n_in; k++) {
        int64_t acc = 1;
        for (int d = nd - 1; d >= 0; d--) {
            int adv = str[k][d] != 0;
            str[k][d] = adv ? acc : 0;
            if (adv)
                acc *= ext[d];
        }
    }
    if (nd == 0) { /* everything is one element */
        const void *p[4];
        int64_t step[4] = {0, 0, 0, 0};
        for (size_t k = 0; k < n_in; k++)
            p[k] = in[k]->data;
        fn(out->data, p, step, 1, arg);
        return;
    }
    int64_t inner = ext[nd - 1], step[4];
    for (size_t k = 0; k < n_in; k++)
        step[k] = str[k][nd - 1] ? 1 : 0;
    for (int d = 0; d < nd; d++)
        idx[d] = 0;
    char *o = out->data;
    for (;;) {
        const void *p[4];
        for (size_t k = 0; k < n_in; k++) {
            int64_t off = 0;
            for (int d = 0; d < nd - 1; d++)
                off += idx[d] * str[k][d];
            p[k] = (const char *)in[k]->data + off * (int64_t)es[k];
        }
        fn(o, p, step, inner, arg);
        o += inner * (int64_t)eo;
        int d = nd - 2;
        while (d >= 0 && ++idx[d] == ext[d])
            idx[d--] = 0;
        if (d < 0)
            break;
    }
}

float onnx_half_to_float(uint16_t h)
{
    int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)man, -24); /* zero or subnormal */
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man + 1024), exp - 25);
    return (h & 0x8000) ? -v : v;
}

uint16_t onnx_half_from_double(double d)
{
    uint16_t sign = signbit(d) ? 0x8000 : 0;
    double a = fabs(d), m;
    int e;

    if (a != a)
        return sign | 0x7e00; /* quiet NaN */
    if (a >= 65520.0)         /* halfway between 65504 and 2^16 rounds (to even) up: inf */
        return sign | 0x7c00;
    if (a < 0x1p-14) {          /* subnormal (or zero): a multiple of 2^-24, rounded once */
        m = rint(ldexp(a, 24)); /* 1024 is the smallest normal: the bits carry over */
        return sign | (uint16_t)m;
    }
    m = rint(ldexp(frexp(a, &e), 11)); /* a = m * 2^(e - 11), m in [1024, 2048] */
    if (m == 2048.0) {
        m = 1024.0;
        e++;
    }
    if (e + 14 >= 31)
        return sign | 0x7c00;
    return sign | (uint16_t)((e + 14) << 10) | (uint16_t)((int)m - 1024);
}

float onnx_bf16_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t onnx_bf16_from_float(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    if (f != f)
        return (uint16_t)((bits >> 16) | 0x0040); /* stays a (quiet) NaN */
    return (uint16_t)(bits >> 16);
}
