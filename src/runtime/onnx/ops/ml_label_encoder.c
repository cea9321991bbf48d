/*
 * ai.onnx.ml LabelEncoder, opset 1 form (classes_strings: string -> index as int64, int64 ->
 * string, with default_int64 / default_string) and opset 2 form (keys_* -> values_* for
 * strings, int64s and floats, with default_*; ai.onnx.ml opset 3 keeps it). The keys are
 * sorted once in prepare and looked up by binary search; NaN keys match NaN inputs. Output
 * strings point into the node's attributes or at the static default, so a run allocates
 * nothing. Calls: op.h helpers, ml_common.h, libc, libm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"
#include "runtime/onnx/ops/ml_common.h"

enum le_kind { LE_STR, LE_INT, LE_FLOAT };

struct le_entry {
    const char *s;
    int64_t i;
    float f;
    uint32_t v; /* index of the value */
};

struct le_state {
    enum le_kind key, val;
    size_t n;
    struct le_entry *keys; /* sorted */
    const char *const *vs;
    const int64_t *vi;
    const float *vf;
    int index_values; /* opset 1 string -> int64: the value is the key's position */
    const char *dstr;
    int64_t dint;
    float dflt;
};

/* qsort_r comparator (glibc order): arg points at the key kind. */
static int cmp(const void *a, const void *b, void *arg)
{
    const struct le_entry *x = a, *y = b;
    switch (*(const enum le_kind *)arg) {
    case LE_STR:
        return strcmp(x->s, y->s);
    case LE_INT:
        return (x->i > y->i) - (x->i < y->i);
    default:
        if (isnan(x->f) || isnan(y->f))
            return isnan(x->f) - isnan(y->f);
        return (x->f > y->f) - (x->f < y->f);
    }
}

static void le_free(void *p)
{
    struct le_state *s = p;
    if (s)
        free(s->keys);
    free(s);
}

static mmsp_err kind_of(const struct onnx_prepare_ctx *ctx, mmsp_dtype t, enum le_kind *k)
{
    if (t == MMSP_DT_BYTES)
        *k = LE_STR;
    else if (t == MMSP_DT_INT64)
        *k = LE_INT;
    else if (t == MMSP_DT_FP32)
        *k = LE_FLOAT;
    else
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "input type %s is not supported", onnx_dtype_name(t));
    return MMSP_OK;
}

static mmsp_err le_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    const struct onnx_tensor *x = ctx->inputs[0];
    struct le_state *s = calloc(1, sizeof *s);
    const char *const *ks = NULL;
    const int64_t *ki = NULL;
    const float *kf = NULL;
    size_t nks = 0, nki = 0, nkf = 0, nvs = 0, nvi = 0, nvf = 0;
    mmsp_err rc;
    if (!s)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    if ((rc = kind_of(ctx, x->dtype, &s->key)) ||
        (rc = onnx_attr_string(node, "default_string", "_Unused", &s->dstr, ctx->err,
                               ctx->errlen)) ||
        (rc = onnx_attr_int(node, "default_int64", -1, &s->dint, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_float(node, "default_float", -0.0f, &s->dflt, ctx->err, ctx->errlen)))
        goto out;
    if (node->opset < 2) {
        if ((rc = onnx_attr_strings(node, "classes_strings", &ks, &nks, NULL, ctx->err,
                                    ctx->errlen)))
            goto out;
        if (s->key == LE_FLOAT) {
            rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                             "opset 1 maps strings and int64 only");
            goto out;
        }
        s->n = nks;
        if (s->key == LE_STR) { /* string -> position */
            s->val = LE_INT;
            s->index_values = 1;
        } else { /* int64 -> classes_strings[v]: a bounds check, no table */
            s->val = LE_STR;
            s->vs = ks;
            s->n = nks;
        }
    } else {
        if ((rc =
                 onnx_attr_strings(node, "keys_strings", &ks, &nks, NULL, ctx->err, ctx->errlen)) ||
            (rc = onnx_attr_ints(node, "keys_int64s", &ki, &nki, NULL, ctx->err, ctx->errlen)) ||
            (rc = onnx_attr_floats(node, "keys_floats", &kf, &nkf, NULL, ctx->err, ctx->errlen)) ||
            (rc = onnx_attr_strings(node, "values_strings", &s->vs, &nvs, NULL, ctx->err,
                                    ctx->errlen)) ||
            (rc = onnx_attr_ints(node, "values_int64s", &s->vi, &nvi, NULL, ctx->err,
                                 ctx->errlen)) ||
            (rc = onnx_attr_floats(node, "values_floats", &s->vf, &nvf, NULL, ctx->err,
                                   ctx->errlen)))
            goto out;
        size_t nk = s->key == LE_STR ? nks : s->key == LE_INT ? nki : nkf;
        if ((nks != 0) + (nki != 0) + (nkf != 0) != 1 ||
            (nvs != 0) + (nvi != 0) + (nvf != 0) != 1 || !nk) {
            rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                             "exactly one keys_* list matching the input type %s and one "
                             "values_* list are required",
                             onnx_dtype_name(x->dtype));
            goto out;
        }
        s->val = nvs ? LE_STR : nvi ? LE_INT : LE_FLOAT;
        if ((nvs ? nvs : nvi ? nvi : nvf) != nk) {
            rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                             "%zu keys but %zu values", nk,
                             nvs   ? nvs
                             : nvi ? nvi
                                   : nvf);
            goto out;
        }
        s->n = nk;
    }
    if (s->n > (1u << 24)) {
        rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_TOO_LARGE, "%zu keys", s->n);
        goto out;
    }
    if (!(node->opset < 2 && s->key == LE_INT)) {
        s->keys = malloc((s->n ? s->n : 1) * sizeof *s->keys);
        if (!s->keys) {
            rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
            goto out;
        }
        for (size_t k = 0; k < s->n; k++)
            s->keys[k] = (struct le_entry){ks ? ks[k] : NULL, ki ? ki[k] : 0, kf ? kf[k] : 0.0f,
                                           (uint32_t)k};
        qsort_r(s->keys, s->n, sizeof *s->keys, cmp, &s->key);
    }
    ctx->outputs[0].dtype = s->val == LE_STR   ? MMSP_DT_BYTES
                            : s->val == LE_INT ? MMSP_DT_INT64
                                               : MMSP_DT_FP32;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    ctx->state = s;
    s = NULL;
out:
    le_free(s);
    return rc;
}

/* Binary search on the sorted keys (same order as cmp). */
static const struct le_entry *find(const struct le_state *s, const struct onnx_tensor *x, int64_t i)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct le_entry *e = &s->keys[mid];
        int c;
        if (s->key == LE_STR) {
            const char *v = ((const char *const *)x->data)[i];
            c = v ? strcmp(v, e->s) : -1;
        } else if (s->key == LE_INT) {
            int64_t v = ((const int64_t *)x->data)[i];
            c = (v > e->i) - (v < e->i);
        } else {
            float v = ((const float *)x->data)[i];
            c = (isnan(v) || isnan(e->f)) ? isnan(v) - isnan(e->f) : (v > e->f) - (v < e->f);
        }
        if (c == 0)
            return e;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static mmsp_err le_run(const struct onnx_run_ctx *ctx)
{
    const struct le_state *s = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    void *y = ctx->outputs[0]->data;
    for (int64_t i = 0; i < x->count; i++) {
        int64_t v = -1; /* value index, -1: default */
        if (!s->keys) { /* opset 1, int64 -> string */
            int64_t k = ((const int64_t *)x->data)[i];
            v = (k >= 0 && (uint64_t)k < s->n) ? k : -1;
        } else {
            const struct le_entry *e = find(s, x, i);
            v = e ? (int64_t)e->v : -1;
        }
        switch (s->val) {
        case LE_STR:
            ((const char **)y)[i] = v < 0 ? s->dstr : s->vs[v];
            break;
        case LE_INT:
            ((int64_t *)y)[i] = v < 0 ? s->dint : s->index_values ? v : s->vi[v];
            break;
        default:
            ((float *)y)[i] = v < 0 ? s->dflt : s->vf[v];
            break;
        }
    }
    return MMSP_OK;
}

const struct onnx_op onnx_op_LabelEncoder = {
    .domain = "ai.onnx.ml",
    .op_type = "LabelEncoder",
    .since_min = 1,
    .since_max = 3,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = le_prepare,
    .run = le_run,
    .free_state = le_free,
};
