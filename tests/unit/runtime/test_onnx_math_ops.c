/*
 * Unit tests for the ONNX math, reduction, logic and normalisation operators
 * (src/runtime/onnx/ops/unary.c pow.c variadic.c logical.c reduce.c logsoftmax.c norm.c) on
 * what libonnx-testdata's node tests (all at opset >= 13) do not reach: the older opset forms
 * (LogSoftmax's 2-D coercion before 13, Clip's attribute bounds before 11, BatchNormalization's
 * spatial = 0 before 9, Reduce* axes attributes), the dtype rules per opset, refusals naming
 * the node and the dtype, and integer edge cases. The operators are driven through the
 * registry and their prepare/run, as the planner does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/onnx/op.h"

/* Builds a tensor over caller-owned data. */
static struct onnx_tensor tensor(mmsp_dtype dt, int ndim, const int64_t *dims, void *data)
{
    struct onnx_tensor t = {.dtype = dt, .ndim = ndim, .data = data, .count = 1};
    for (int d = 0; d < ndim; d++) {
        t.dims[d] = dims[d];
        t.count *= dims[d];
    }
    return t;
}

/*
 * Runs op_type at opset on inputs (NULL = absent) into outs[] (data preset by the caller,
 * large enough); out_meta receives what prepare decided. Returns prepare's or run's error.
 */
static mmsp_err exec(const char *op_type, int opset, const struct onnx_attr *attrs, size_t n_attrs,
                     const struct onnx_tensor *const *in, size_t n_in, struct onnx_tensor *outs,
                     size_t n_out, char *err, size_t errlen)
{
    const struct onnx_op *op = onnx_op_find("", op_type, opset);
    struct onnx_node node = {.name = "n",
                             .op_type = op_type,
                             .domain = "",
                             .opset = opset,
                             .n_attrs = n_attrs,
                             .attrs = attrs,
                             .n_inputs = n_in,
                             .n_outputs = n_out};
    struct onnx_tensor prep_out[4];
    struct onnx_tensor *run_out[4];
    mmsp_err rc;

    if (!op)
        return MMSP_E_NOT_FOUND;
    memset(prep_out, 0, sizeof prep_out);
    struct onnx_prepare_ctx pc = {.node = &node,
                                  .n_inputs = n_in,
                                  .inputs = in,
                                  .n_outputs = n_out,
                                  .outputs = prep_out,
                                  .err = err,
                                  .errlen = errlen};
    rc = op->prepare(&pc);
    if (!rc) {
        void *scratch = pc.scratch_bytes ? calloc(1, pc.scratch_bytes) : NULL;
        for (size_t k = 0; k < n_out; k++) {
            void *data = outs[k].data;
            outs[k] = prep_out[k];
            outs[k].data = data;
            assert_int_equal(onnx_tensor_count(&outs[k]), MMSP_OK);
            run_out[k] = &outs[k];
        }
        struct onnx_run_ctx rctx = {.node = &node,
                                    .state = pc.state,
                                    .n_inputs = n_in,
                                    .inputs = in,
                                    .n_outputs = n_out,
                                    .outputs = run_out,
                                    .scratch = scratch,
                                    .err = err,
                                    .errlen = errlen};
        rc = op->run(&rctx);
        free(scratch);
    }
    if (pc.state) {
        if (op->free_state)
            op->free_state(pc.state);
        else
            free(pc.state);
    }
    return rc;
}

static struct onnx_attr attr_int(const char *name, int64_t v)
{
    struct onnx_attr a = {.name = name, .type = ONNX_ATTR_INT, .i = v};
    return a;
}

static struct onnx_attr attr_float(const char *name, float v)
{
    struct onnx_attr a = {.name = name, .type = ONNX_ATTR_FLOAT, .f = v};
    return a;
}

static struct onnx_attr attr_ints(const char *name, const int64_t *v, size_t n)
{
    struct onnx_attr a = {.name = name, .type = ONNX_ATTR_INTS, .ints = v, .n = n};
    return a;
}

/* Before opset 13 LogSoftmax normalises each row of the input coerced to 2-D at axis 1. */
static void test_logsoftmax_axis_forms(void **state)
{
    int64_t dims[3] = {2, 2, 2};
    float x[8] = {1, 2, 3, 4, -1, 0, 5, 5}, y[8];
    struct onnx_tensor tx = tensor(MMSP_DT_FP32, 3, dims, x), out = {.data = y};
    const struct onnx_tensor *in[1] = {&tx};
    char err[256];
    (void)state;

    assert_int_equal(exec("LogSoftmax", 11, NULL, 0, in, 1, &out, 1, err, sizeof err), MMSP_OK);
    for (int r = 0; r < 2; r++) {
        double s = 0;
        for (int k = 0; k < 4; k++)
            s += exp(x[r * 4 + k]);
        for (int k = 0; k < 4; k++)
            assert_true(fabs(y[r * 4 + k] - (x[r * 4 + k] - log(s))) < 1e-5);
    }
    /* opset 13: along the last axis (pairs) */
    assert_int_equal(exec("LogSoftmax", 13, NULL, 0, in, 1, &out, 1, err, sizeof err), MMSP_OK);
    for (int r = 0; r < 4; r++) {
        double s = exp(x[2 * r]) + exp(x[2 * r + 1]);
        assert_true(fabs(y[2 * r] - (x[2 * r] - log(s))) < 1e-5);
    }
}

/* Clip: attribute bounds before 11 (float and double), inputs from 11, integers from 12. */
static void test_clip_opsets(void **state)
{
    int64_t dims[1] = {4};
    float xf[4] = {-3, -0.5f, 0.5f, 3}, yf[4];
    double xd[4] = {-3, -0.5, 0.5, 3}, yd[4];
    int32_t xi[4] = {-7, 0, 3, 9}, yi[4], lo = -1, hi = 4;
    struct onnx_tensor tf = tensor(MMSP_DT_FP32, 1, dims, xf), out = {.data = yf};
    struct onnx_tensor td = tensor(MMSP_DT_FP64, 1, dims, xd);
    struct onnx_attr bounds[2] = {attr_float("min", -1), attr_float("max", 1)};
    char err[256];
    (void)state;

    const struct onnx_tensor *inf[1] = {&tf};
    assert_int_equal(exec("Clip", 7, bounds, 2, inf, 1, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(yf[0] == -1 && yf[1] == -0.5f && yf[2] == 0.5f && yf[3] == 1);
    /* only max given: no lower bound, even for double (no -FLT_MAX clamp) */
    xd[0] = -1e300;
    const struct onnx_tensor *ind[1] = {&td};
    out.data = yd;
    assert_int_equal(exec("Clip", 7, &bounds[1], 1, ind, 1, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(yd[0] == -1e300 && yd[3] == 1);

    struct onnx_tensor ti = tensor(MMSP_DT_INT32, 1, dims, xi);
    struct onnx_tensor tlo = tensor(MMSP_DT_INT32, 0, NULL, &lo);
    struct onnx_tensor thi = tensor(MMSP_DT_INT32, 0, NULL, &hi);
    const struct onnx_tensor *ini[3] = {&ti, &tlo, &thi};
    out.data = yi;
    assert_int_equal(exec("Clip", 12, NULL, 0, ini, 3, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(yi[0] == -1 && yi[1] == 0 && yi[2] == 3 && yi[3] == 4);
    /* absent min: only the upper bound applies */
    const struct onnx_tensor *ini2[3] = {&ti, NULL, &thi};
    assert_int_equal(exec("Clip", 13, NULL, 0, ini2, 3, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(yi[0] == -7 && yi[3] == 4);
    /* int32 is refused at opset 11, with the node and the dtype in the message */
    assert_int_equal(exec("Clip", 11, NULL, 0, ini, 3, &out, 1, err, sizeof err),
                     MMSP_E_UNSUPPORTED);
    assert_non_null(strstr(err, "node 'n'"));
    assert_non_null(strstr(err, "int32"));
}

/* BatchNormalization before opset 9 with spatial = 0: one parameter per (C, H) element. */
static void test_batchnorm_spatial0(void **state)
{
    int64_t xdims[3] = {2, 2, 2}, pdims[2] = {2, 2};
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    float scale[4] = {1, 2, 3, 4}, bias[4] = {0, 1, 0, 1}, mean[4] = {1, 1, 1, 1};
    float var[4] = {1, 1, 1, 1};
    struct onnx_tensor tx = tensor(MMSP_DT_FP32, 3, xdims, x), out = {.data = y};
    struct onnx_tensor ts = tensor(MMSP_DT_FP32, 2, pdims, scale);
    struct onnx_tensor tb = tensor(MMSP_DT_FP32, 2, pdims, bias);
    struct onnx_tensor tm = tensor(MMSP_DT_FP32, 2, pdims, mean);
    struct onnx_tensor tv = tensor(MMSP_DT_FP32, 2, pdims, var);
    const struct onnx_tensor *in[5] = {&tx, &ts, &tb, &tm, &tv};
    struct onnx_attr attrs[2] = {attr_int("spatial", 0), attr_float("epsilon", 0)};
    char err[256];
    (void)state;

    assert_int_equal(exec("BatchNormalization", 7, attrs, 2, in, 5, &out, 1, err, sizeof err),
                     MMSP_OK);
    for (int i = 0; i < 8; i++)
        assert_true(fabsf(y[i] - ((x[i] - 1) * scale[i % 4] + bias[i % 4])) < 1e-5f);
    /* training mode is refused */
    struct onnx_attr train = attr_int("training_mode", 1);
    int64_t cdims[1] = {2};
    struct onnx_tensor c[4];
    for (int k = 0; k < 4; k++)
        c[k] = tensor(MMSP_DT_FP32, 1, cdims, var);
    const struct onnx_tensor *in2[5] = {&tx, &c[0], &c[1], &c[2], &c[3]};
    assert_int_equal(exec("BatchNormalization", 14, &train, 1, in2, 5, &out, 1, err, sizeof err),
                     MMSP_E_UNSUPPORTED);
    assert_non_null(strstr(err, "training"));
}

/* Reduce*: axes as an attribute before 13 (and for ReduceMean at 13), negative axes. */
static void test_reduce_axes_attr(void **state)
{
    int64_t dims[2] = {2, 3}, axes[1] = {1}, neg[1] = {-2};
    int32_t x[6] = {1, 2, 3, 4, 5, 6}, y[3];
    struct onnx_tensor tx = tensor(MMSP_DT_INT32, 2, dims, x), out = {.data = y};
    const struct onnx_tensor *in[1] = {&tx};
    struct onnx_attr a[2] = {attr_ints("axes", axes, 1), attr_int("keepdims", 0)};
    char err[256];
    (void)state;

    assert_int_equal(exec("ReduceSum", 11, a, 2, in, 1, &out, 1, err, sizeof err), MMSP_OK);
    assert_int_equal(out.ndim, 1);
    assert_true(y[0] == 6 && y[1] == 15);
    a[0] = attr_ints("axes", neg, 1);
    assert_int_equal(exec("ReduceMean", 13, a, 2, in, 1, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(out.ndim == 1 && out.dims[0] == 3 && y[0] == 2 && y[1] == 3 && y[2] == 4);
    /* no axes: everything, keepdims default 1 */
    assert_int_equal(exec("ReduceMax", 11, NULL, 0, in, 1, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(out.ndim == 2 && out.dims[0] == 1 && out.dims[1] == 1 && y[0] == 6);
    /* ReduceSum 13 takes axes as an input, never an attribute */
    assert_int_equal(exec("ReduceSum", 13, a, 2, in, 1, &out, 1, err, sizeof err),
                     MMSP_E_BAD_MODEL);
    /* duplicate axes are refused */
    int64_t dup[2] = {1, -1};
    a[0] = attr_ints("axes", dup, 2);
    assert_int_equal(exec("ReduceMin", 11, a, 2, in, 1, &out, 1, err, sizeof err),
                     MMSP_E_BAD_MODEL);
}

/* Pow: one float type before 12; integer powers wrap and negative exponents truncate. */
static void test_pow_types(void **state)
{
    int64_t dims[1] = {4};
    int64_t b[4] = {2, -1, 3, 7}, e[4] = {63, -3, 41, -1}, y[4];
    struct onnx_tensor tb = tensor(MMSP_DT_INT64, 1, dims, b), out = {.data = y};
    struct onnx_tensor te = tensor(MMSP_DT_INT64, 1, dims, e);
    const struct onnx_tensor *in[2] = {&tb, &te};
    char err[256];
    (void)state;

    assert_int_equal(exec("Pow", 7, NULL, 0, in, 2, &out, 1, err, sizeof err), MMSP_E_UNSUPPORTED);
    assert_int_equal(exec("Pow", 12, NULL, 0, in, 2, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(y[0] == INT64_MIN); /* 2^63 wraps */
    assert_true(y[1] == -1 && y[3] == 0);
    assert_true((uint64_t)y[2] == UINT64_C(18026252303461234787)); /* 3^41 mod 2^64 */
}

/* Comparison dtypes per opset; Sqrt on an integer is refused naming the dtype. */
static void test_dtype_rules(void **state)
{
    int64_t dims[1] = {2};
    float a[2] = {1, 2}, b[2] = {2, 2};
    int32_t ia[2] = {1, 2}, ib[2] = {2, 2};
    uint8_t y[2];
    struct onnx_tensor ta = tensor(MMSP_DT_FP32, 1, dims, a), tb = tensor(MMSP_DT_FP32, 1, dims, b);
    struct onnx_tensor tia = tensor(MMSP_DT_INT32, 1, dims, ia);
    struct onnx_tensor tib = tensor(MMSP_DT_INT32, 1, dims, ib);
    struct onnx_tensor out = {.data = y};
    const struct onnx_tensor *inf[2] = {&ta, &tb}, *ini[2] = {&tia, &tib};
    char err[256];
    (void)state;

    assert_int_equal(exec("Equal", 7, NULL, 0, inf, 2, &out, 1, err, sizeof err),
                     MMSP_E_UNSUPPORTED);
    assert_int_equal(exec("Equal", 11, NULL, 0, inf, 2, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(out.dtype == MMSP_DT_BOOL && y[0] == 0 && y[1] == 1);
    assert_int_equal(exec("Less", 7, NULL, 0, ini, 2, &out, 1, err, sizeof err),
                     MMSP_E_UNSUPPORTED);
    assert_int_equal(exec("Less", 9, NULL, 0, ini, 2, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(y[0] == 1 && y[1] == 0);
    int32_t yi[2];
    out.data = yi;
    assert_int_equal(exec("Sqrt", 13, NULL, 0, ini, 1, &out, 1, err, sizeof err),
                     MMSP_E_UNSUPPORTED);
    assert_non_null(strstr(err, "node 'n' (op 'Sqrt')"));
    assert_non_null(strstr(err, "int32"));
    /* Abs and Neg of the most negative integer wrap instead of overflowing */
    ia[0] = INT32_MIN;
    assert_int_equal(exec("Neg", 13, NULL, 0, ini, 1, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(yi[0] == INT32_MIN && yi[1] == -2);
}

/* Sum/Mean/Max over three broadcast inputs; Where over three broadcast inputs. */
static void test_variadic_where(void **state)
{
    int64_t d23[2] = {2, 3}, d3[1] = {3}, d21[2] = {2, 1};
    double a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30}, c[2] = {100, 200}, y[6];
    struct onnx_tensor ta = tensor(MMSP_DT_FP64, 2, d23, a), tb = tensor(MMSP_DT_FP64, 1, d3, b);
    struct onnx_tensor tc = tensor(MMSP_DT_FP64, 2, d21, c), out = {.data = y};
    const struct onnx_tensor *in[3] = {&tb, &tc, &ta};
    char err[256];
    (void)state;

    assert_int_equal(exec("Mean", 8, NULL, 0, in, 3, &out, 1, err, sizeof err), MMSP_OK);
    for (int i = 0; i < 6; i++)
        assert_true(fabs(y[i] - (a[i] + b[i % 3] + c[i / 3]) / 3) < 1e-12);
    assert_int_equal(exec("Max", 8, NULL, 0, in, 3, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(y[0] == 100 && y[5] == 200);

    uint8_t cond[3] = {1, 0, 1};
    struct onnx_tensor tcond = tensor(MMSP_DT_BOOL, 1, d3, cond);
    const struct onnx_tensor *win[3] = {&tcond, &tc, &ta};
    assert_int_equal(exec("Where", 9, NULL, 0, win, 3, &out, 1, err, sizeof err), MMSP_OK);
    assert_true(out.ndim == 2 && y[0] == 100 && y[1] == 2 && y[2] == 100 && y[4] == 5 &&
                y[5] == 200);
}

/* LayerNormalization with a broadcast Scale and the optional Mean / InvStdDev outputs. */
static void test_layernorm_outputs(void **state)
{
    int64_t dims[2] = {2, 2}, one[1] = {1};
    float x[4] = {1, 3, 2, 2}, s = 2, y[4], mean[2], inv[2];
    struct onnx_tensor tx = tensor(MMSP_DT_FP32, 2, dims, x), ts = tensor(MMSP_DT_FP32, 1, one, &s);
    struct onnx_tensor outs[3] = {{.data = y}, {.data = mean}, {.data = inv}};
    const struct onnx_tensor *in[2] = {&tx, &ts};
    struct onnx_attr eps = attr_float("epsilon", 0);
    char err[256];
    (void)state;

    assert_int_equal(exec("LayerNormalization", 17, &eps, 1, in, 2, outs, 3, err, sizeof err),
                     MMSP_OK);
    assert_true(outs[1].dtype == MMSP_DT_FP32 && outs[1].ndim == 2 && outs[1].dims[1] == 1);
    assert_true(fabsf(y[0] + 2) < 1e-5f && fabsf(y[1] - 2) < 1e-5f);
    assert_true(mean[0] == 2 && mean[1] == 2 && fabsf(inv[0] - 1) < 1e-6f);
    assert_true(isinf(inv[1]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logsoftmax_axis_forms),
        cmocka_unit_test(test_clip_opsets),
        cmocka_unit_test(test_batchnorm_spatial0),
        cmocka_unit_test(test_reduce_axes_attr),
        cmocka_unit_test(test_pow_types),
        cmocka_unit_test(test_dtype_rules),
        cmocka_unit_test(test_variadic_where),
        cmocka_unit_test(test_layernorm_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
