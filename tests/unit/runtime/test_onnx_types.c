/*
 * Unit tests for float16 / bfloat16 / string tensors in the ONNX back end
 * (src/runtime/onnx: helpers.c conversions, ops/cast.c, ops/variadic.c, plan.c's string
 * scratch, onnx.c's string outputs) on what libonnx-testdata's node tests miss: strings made
 * by one Cast and read after later steps ran (their scratch must outlive the step), string
 * graph inputs, string outputs copied into the caller's buffer, float16 edge cases, and
 * mmsp_model_run refusing string inputs instead of misreading them.
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
#include "runtime/backend.h"
#include "runtime/onnx/op.h"

/*
 * x float [2,3], t string [2]: s2 = Identity(Cast(x, string)), s3 = Cast(2*x*x, string),
 * f = Cast(t, float), hm = Max(Cast(x, float16), same) (built with onnx.helper, opset 13).
 */
static const unsigned char model[] = {
    0x08, 0x08, 0x3a, 0xa5, 0x02, 0x0a, 0x17, 0x0a, 0x01, 0x78, 0x12, 0x01, 0x73, 0x22, 0x04, 0x43,
    0x61, 0x73, 0x74, 0x2a, 0x09, 0x0a, 0x02, 0x74, 0x6f, 0x18, 0x08, 0xa0, 0x01, 0x02, 0x0a, 0x11,
    0x0a, 0x01, 0x73, 0x12, 0x02, 0x73, 0x32, 0x22, 0x08, 0x49, 0x64, 0x65, 0x6e, 0x74, 0x69, 0x74,
    0x79, 0x0a, 0x0e, 0x0a, 0x01, 0x78, 0x0a, 0x01, 0x78, 0x12, 0x01, 0x6d, 0x22, 0x03, 0x4d, 0x75,
    0x6c, 0x0a, 0x0e, 0x0a, 0x01, 0x6d, 0x0a, 0x01, 0x6d, 0x12, 0x01, 0x61, 0x22, 0x03, 0x41, 0x64,
    0x64, 0x0a, 0x18, 0x0a, 0x01, 0x61, 0x12, 0x02, 0x73, 0x33, 0x22, 0x04, 0x43, 0x61, 0x73, 0x74,
    0x2a, 0x09, 0x0a, 0x02, 0x74, 0x6f, 0x18, 0x08, 0xa0, 0x01, 0x02, 0x0a, 0x17, 0x0a, 0x01, 0x74,
    0x12, 0x01, 0x66, 0x22, 0x04, 0x43, 0x61, 0x73, 0x74, 0x2a, 0x09, 0x0a, 0x02, 0x74, 0x6f, 0x18,
    0x01, 0xa0, 0x01, 0x02, 0x0a, 0x17, 0x0a, 0x01, 0x78, 0x12, 0x01, 0x68, 0x22, 0x04, 0x43, 0x61,
    0x73, 0x74, 0x2a, 0x09, 0x0a, 0x02, 0x74, 0x6f, 0x18, 0x0a, 0xa0, 0x01, 0x02, 0x0a, 0x0f, 0x0a,
    0x01, 0x68, 0x0a, 0x01, 0x68, 0x12, 0x02, 0x68, 0x6d, 0x22, 0x03, 0x4d, 0x61, 0x78, 0x12, 0x01,
    0x67, 0x5a, 0x13, 0x0a, 0x01, 0x78, 0x12, 0x0e, 0x0a, 0x0c, 0x08, 0x01, 0x12, 0x08, 0x0a, 0x02,
    0x08, 0x02, 0x0a, 0x02, 0x08, 0x03, 0x5a, 0x0f, 0x0a, 0x01, 0x74, 0x12, 0x0a, 0x0a, 0x08, 0x08,
    0x08, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x02, 0x62, 0x14, 0x0a, 0x02, 0x73, 0x32, 0x12, 0x0e, 0x0a,
    0x0c, 0x08, 0x08, 0x12, 0x08, 0x0a, 0x02, 0x08, 0x02, 0x0a, 0x02, 0x08, 0x03, 0x62, 0x14, 0x0a,
    0x02, 0x73, 0x33, 0x12, 0x0e, 0x0a, 0x0c, 0x08, 0x08, 0x12, 0x08, 0x0a, 0x02, 0x08, 0x02, 0x0a,
    0x02, 0x08, 0x03, 0x62, 0x0f, 0x0a, 0x01, 0x66, 0x12, 0x0a, 0x0a, 0x08, 0x08, 0x01, 0x12, 0x04,
    0x0a, 0x02, 0x08, 0x02, 0x62, 0x14, 0x0a, 0x02, 0x68, 0x6d, 0x12, 0x0e, 0x0a, 0x0c, 0x08, 0x0a,
    0x12, 0x08, 0x0a, 0x02, 0x08, 0x02, 0x0a, 0x02, 0x08, 0x03, 0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d};

static void test_strings_through_plan(void **state)
{
    void *st = NULL;
    struct model_desc desc;
    char err[MMSP_ERRMSG_MAX];
    float x[6] = {0.5f, -1.25f, 3.0f, 1e-5f, 65504.0f, 0.1f};
    const char *t[2] = {"-INF", "2.5e1"};
    mmsp_tensor in[2] = {
        {.dtype = MMSP_DT_FP32, .ndim = 2, .shape = {2, 3}, .data = x, .nbytes = sizeof x},
        {.dtype = MMSP_DT_BYTES, .ndim = 1, .shape = {2}, .data = t, .nbytes = sizeof t}};
    static char b0[1024], b1[1024];
    float f[2];
    uint16_t hm[6];
    mmsp_tensor out[4] = {{.data = b0, .nbytes = sizeof b0},
                          {.data = b1, .nbytes = sizeof b1},
                          {.data = f, .nbytes = sizeof f},
                          {.data = hm, .nbytes = sizeof hm}};
    (void)state;
    assert_int_equal(
        runtime_onnx_backend.load(model, sizeof model, "m", &st, &desc, err, sizeof err), MMSP_OK);
    for (int rep = 0; rep < 2; rep++) {
        assert_int_equal(runtime_onnx_backend.run(st, in, out, 2, err, sizeof err), MMSP_OK);
        const char *const *s2 = (const char *const *)b0, *const *s3 = (const char *const *)b1;
        const char *want2[6] = {"0.5", "-1.25", "3.0", "1e-05", "65504.0", "0.1"};
        const char *want3[6] = {"0.5",           "3.125",        "18.0",
                                "1.9999999e-10", "8581548000.0", "0.020000001"};
        for (int k = 0; k < 6; k++) {
            assert_string_equal(s2[k], want2[k]);
            assert_string_equal(s3[k], want3[k]);
            /* the strings live in the caller's buffer */
            assert_true(s2[k] > (const char *)b0 && s2[k] < (const char *)b0 + sizeof b0);
        }
        assert_true(isinf(f[0]) && f[0] < 0);
        assert_true(f[1] == 25.0f);
        assert_int_equal(hm[0], 0x3800);
        assert_int_equal(hm[3], 0x00a8); /* 1e-5: a float16 subnormal */
        assert_int_equal(hm[4], 0x7bff);
    }
    /* a buffer too small for the strings is an error, not an overflow */
    out[0].nbytes = 60;
    assert_int_equal(runtime_onnx_backend.run(st, in, out, 2, err, sizeof err), MMSP_E_SHAPE);
    runtime_onnx_backend.release(st);
}

static void test_public_api_refuses_strings(void **state)
{
    mmsp_model *m = NULL;
    char err[MMSP_ERRMSG_MAX];
    float x[6] = {0};
    const char *t[2] = {"1", "2"};
    mmsp_tensor in[2] = {
        {.dtype = MMSP_DT_FP32, .ndim = 2, .shape = {2, 3}, .data = x, .nbytes = sizeof x},
        {.dtype = MMSP_DT_BYTES, .ndim = 1, .shape = {2}, .data = t, .nbytes = sizeof t}};
    char buf[4][256];
    mmsp_tensor out[4];
    (void)state;
    for (int i = 0; i < 4; i++)
        out[i] = (mmsp_tensor){.data = buf[i], .nbytes = sizeof buf[i]};
    assert_int_equal(mmsp_model_load_buffer(model, sizeof model, "onnx", "m", &m, err, sizeof err),
                     MMSP_OK);
    assert_int_equal(mmsp_model_run(m, in, 2, out, 4, err, sizeof err), MMSP_E_UNSUPPORTED);
    assert_non_null(strstr(err, "'t'"));
    mmsp_model_release(m);
}

static void test_half_bf16_edges(void **state)
{
    (void)state;
    assert_int_equal(onnx_half_from_double(65519.0), 0x7bff);
    assert_int_equal(onnx_half_from_double(65520.0), 0x7c00);     /* ties to even: inf */
    assert_int_equal(onnx_half_from_double(-1e9), 0xfc00);        /* overflow */
    assert_int_equal(onnx_half_from_double(0x1p-25), 0x0000);     /* tie to even: 0 */
    assert_int_equal(onnx_half_from_double(0x1.8p-25), 0x0001);   /* above the tie */
    assert_int_equal(onnx_half_from_double(0x1.ffcp-15), 0x0400); /* rounds up to a normal */
    assert_int_equal(onnx_half_from_double(-0.0), 0x8000);
    assert_true(isnan(onnx_half_to_float(onnx_half_from_double(NAN))));
    assert_true(onnx_half_to_float(0x0001) == 0x1p-24f);
    assert_int_equal(onnx_bf16_from_float(1.00390625f), 0x3f80); /* truncates */
    assert_true(isnan(onnx_bf16_to_float(onnx_bf16_from_float(NAN))));
    assert_true(onnx_bf16_to_float(0xc0a0) == -5.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_through_plan),
        cmocka_unit_test(test_public_api_refuses_strings),
        cmocka_unit_test(test_half_bf16_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
