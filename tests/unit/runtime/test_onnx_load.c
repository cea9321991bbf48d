/*
 * Unit tests for the ONNX back end (src/runtime/onnx) through the public runtime API: an MLP
 * (Gemm, Relu, Softmax) against a reference computed here, io description and task, batches
 * agreeing with single rows, plan cache churn; refusals: unsupported operator (message names
 * node and op), cycle, external data, every truncation of a valid model, JSON as "onnx".
 * Fixtures: tests/fuzz/corpus/fuzz_onnx_loader/ (*.onnx (built with onnx.helper; weights are
 * sin(i * 0.37 + seed) * 0.5 so this file can recompute them)).
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

#include "mmsp/mmsp.h"

static unsigned char *fixture(const char *name, size_t *len)
{
    char path[1024];
    const char *src = getenv("MMSP_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/fuzz_onnx_loader/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static float wt(int i, int seed)
{
    return (float)(sin(i * 0.37 + seed) * 0.5);
}

/* The MLP of mlp.onnx: softmax(relu(x W1^T + b1) W2^T + b2), W1 [8,4], W2 [3,8]. */
static void reference(const float *x, float *p)
{
    float h[8], z[3], mx, sum = 0;
    for (int j = 0; j < 8; j++) {
        float acc = 0;
        for (int k = 0; k < 4; k++)
            acc += x[k] * wt(j * 4 + k, 0);
        h[j] = acc + wt(j, 1) > 0 ? acc + wt(j, 1) : 0;
    }
    for (int j = 0; j < 3; j++) {
        float acc = 0;
        for (int k = 0; k < 8; k++)
            acc += h[k] * wt(j * 8 + k, 2);
        z[j] = acc + wt(j, 3);
    }
    mx = fmaxf(z[0], fmaxf(z[1], z[2]));
    for (int j = 0; j < 3; j++)
        sum += p[j] = expf(z[j] - mx);
    for (int j = 0; j < 3; j++)
        p[j] /= sum;
}

static void test_mlp(void **state)
{
    size_t len;
    unsigned char *buf = fixture("mlp.onnx", &len);
    mmsp_model *m;
    char err[MMSP_ERRMSG_MAX];
    (void)state;
    assert_int_equal(mmsp_model_load_buffer(buf, len, NULL, "mlp.onnx", &m, err, sizeof err),
                     MMSP_OK);
    const mmsp_model_info *info = mmsp_model_get_info(m);
    assert_string_equal(info->backend, "onnx");
    assert_string_equal(info->platform, "onnx_onnxv1");
    assert_int_equal(info->task, MMSP_TASK_MULTICLASS);
    assert_int_equal(info->num_class, 3);
    assert_int_equal(info->num_feature, 4);
    const mmsp_io_info *in = mmsp_model_input(m, 0), *out = mmsp_model_output(m, 0);
    assert_string_equal(in->name, "x");
    assert_int_equal(in->dims[0], -1);
    assert_int_equal(in->dims[1], 4);
    assert_string_equal(out->name, "probabilities");
    assert_int_equal(out->ndim, 2);
    assert_int_equal(out->dims[0], -1);
    assert_int_equal(out->dims[1], 3);

    /* batches 1..20 (more distinct sizes than the plan cache holds), each row vs reference */
    for (int round = 0; round < 2; round++)
        for (int batch = 1; batch <= 20; batch++) {
            float x[20 * 4], y[20 * 3], want[3];
            for (int i = 0; i < batch * 4; i++)
                x[i] = (float)sin(i * 1.7 + batch) * 3;
            mmsp_tensor tx = {.dtype = MMSP_DT_FP32,
                              .ndim = 2,
                              .shape = {batch, 4},
                              .data = x,
                              .nbytes = sizeof x};
            mmsp_tensor ty = {.data = y, .nbytes = sizeof y};
            assert_int_equal(mmsp_model_run(m, &tx, 1, &ty, 1, err, sizeof err), MMSP_OK);
            assert_int_equal(ty.ndim, 2);
            assert_int_equal(ty.shape[0], batch);
            for (int r = 0; r < batch; r++) {
                reference(x + r * 4, want);
                for (int j = 0; j < 3; j++)
                    assert_true(fabsf(y[r * 3 + j] - want[j]) < 1e-5f);
            }
        }
    mmsp_model_release(m);
    free(buf);
}

static void refused(const char *file, mmsp_err code, const char *needle)
{
    size_t len;
    unsigned char *buf = fixture(file, &len);
    mmsp_model *m = NULL;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(mmsp_model_load_buffer(buf, len, NULL, file, &m, err, sizeof err), code);
    assert_null(m);
    if (!strstr(err, needle))
        fail_msg("'%s' not in '%s'", needle, err);
    free(buf);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("unsupported_op.onnx", MMSP_E_UNSUPPORTED,
            "node 'n3' (op 'Foo', domain ''): unsupported operator");
    refused("cycle.onnx", MMSP_E_BAD_MODEL, "not produced by an earlier node");
    refused("external_data.onnx", MMSP_E_UNSUPPORTED, "initializer 'w': external data");
}

static void test_truncations(void **state)
{
    const char *files[] = {"mlp.onnx", "reshape_matmul.onnx", "cast_div.onnx"};
    (void)state;
    for (size_t f = 0; f < 3; f++) {
        size_t len;
        unsigned char *buf = fixture(files[f], &len);
        for (size_t cut = 0; cut < len; cut++) {
            mmsp_model *m = NULL;
            char err[MMSP_ERRMSG_MAX];
            if (mmsp_model_load_buffer(buf, cut, "onnx", "cut", &m, err, sizeof err) == MMSP_OK)
                mmsp_model_release(m); /* a prefix may still be a valid model: fine */
            else
                assert_true(strlen(err) > 0);
        }
        free(buf);
    }
}

static void test_other_models(void **state)
{
    size_t len;
    unsigned char *buf = fixture("cast_div.onnx", &len);
    mmsp_model *m;
    char err[MMSP_ERRMSG_MAX];
    (void)state;
    assert_int_equal(mmsp_model_load_buffer(buf, len, NULL, "c", &m, err, sizeof err), MMSP_OK);
    int64_t x[6] = {1, 2, 3, -4, 5, 6};
    double y[6];
    mmsp_tensor tx = {
        .dtype = MMSP_DT_INT64, .ndim = 2, .shape = {2, 3}, .data = x, .nbytes = sizeof x};
    mmsp_tensor ty = {.data = y, .nbytes = sizeof y};
    assert_int_equal(mmsp_model_run(m, &tx, 1, &ty, 1, err, sizeof err), MMSP_OK);
    assert_int_equal(ty.dtype, MMSP_DT_FP64);
    /* tanh(x / [1, 2, 0]); x / 0 is +-inf -> tanh = +-1 */
    assert_true(fabs(y[0] - tanh(1.0)) < 1e-12 && fabs(y[1] - tanh(1.0)) < 1e-12);
    assert_true(y[2] == 1.0 && y[5] == 1.0 && fabs(y[3] - tanh(-4.0)) < 1e-12);
    mmsp_model_release(m);
    free(buf);
    assert_int_equal(mmsp_model_load_buffer("{}", 2, "onnx", "j", &m, err, sizeof err),
                     MMSP_E_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_other_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
