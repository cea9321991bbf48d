/*
 * Unit tests for mmsp_model_run's argument checks (src/runtime/model.c): wrong dtype, rank,
 * feature count, batch/byte mismatches, too-small outputs, wrong tensor counts; plus batch 0,
 * large batches agreeing with row-by-row runs, and the filled output descriptions.
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

/* Two trees over 3 features, depth 2, every default direction exercised. */
static const char *MODEL =
    "{\"learner\":{\"feature_names\":[],\"gradient_booster\":{\"model\":{\"gbtree_model_param\":"
    "{\"num_trees\":\"2\",\"num_parallel_tree\":\"1\"},\"tree_info\":[0,0],\"trees\":["
    "{\"id\":0,\"tree_param\":{\"num_nodes\":\"7\"},\"left_children\":[1,3,5,-1,-1,-1,-1],"
    "\"right_children\":[2,4,6,-1,-1,-1,-1],\"split_indices\":[0,1,2,0,0,0,0],"
    "\"split_conditions\":[0,1,-1,0.25,0.5,0.75,1.25],\"default_left\":[1,0,1,0,0,0,0]},"
    "{\"id\":1,\"tree_param\":{\"num_nodes\":\"5\"},\"left_children\":[1,-1,3,-1,-1],"
    "\"right_children\":[2,-1,4,-1,-1],\"split_indices\":[2,0,1,0,0],"
    "\"split_conditions\":[0.5,-0.125,2,0.0625,-0.0625],\"default_left\":[0,0,1,0,0]}]},"
    "\"name\":\"gbtree\"},\"learner_model_param\":{\"base_score\":\"0.5\",\"num_class\":\"0\","
    "\"num_feature\":\"3\"},\"objective\":{\"name\":\"binary:logistic\"}}}";

static int setup(void **state)
{
    mmsp_model *m;
    char err[MMSP_ERRMSG_MAX];
    if (mmsp_model_load_buffer(MODEL, strlen(MODEL), NULL, "run.json", &m, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    mmsp_model_release(*state);
    return 0;
}

static mmsp_err run(mmsp_model *m, mmsp_tensor *in, size_t nin, float *out, size_t outbytes,
                    size_t nout, char *err)
{
    mmsp_tensor y = {.data = out, .nbytes = outbytes};
    return mmsp_model_run(m, in, nin, nout ? &y : NULL, nout, err, MMSP_ERRMSG_MAX);
}

static void test_shape_and_dtype_errors(void **state)
{
    mmsp_model *m = *state;
    float rows[12] = {0}, out[4];
    char err[MMSP_ERRMSG_MAX];
    mmsp_tensor in = {
        .dtype = MMSP_DT_FP32, .ndim = 2, .shape = {4, 3}, .data = rows, .nbytes = sizeof rows};
    assert_int_equal(run(m, &in, 1, out, sizeof out, 1, err), MMSP_OK);

    mmsp_tensor bad = in;
    bad.dtype = MMSP_DT_FP64;
    assert_int_equal(run(m, &bad, 1, out, sizeof out, 1, err), MMSP_E_DTYPE);
    assert_non_null(strstr(err, "datatype FP64, expected FP32"));
    bad = in;
    bad.ndim = 1;
    bad.shape[0] = 12;
    assert_int_equal(run(m, &bad, 1, out, sizeof out, 1, err), MMSP_E_SHAPE);
    assert_non_null(strstr(err, "1 dims, expected 2"));
    bad = in;
    bad.shape[0] = 3;
    bad.shape[1] = 4;
    assert_int_equal(run(m, &bad, 1, out, sizeof out, 1, err), MMSP_E_SHAPE);
    assert_non_null(strstr(err, "dim 1 is 4, expected 3"));
    bad = in;
    bad.nbytes = sizeof rows - 4;
    assert_int_equal(run(m, &bad, 1, out, sizeof out, 1, err), MMSP_E_SHAPE);
    assert_non_null(strstr(err, "bytes of data"));
    bad = in;
    bad.data = NULL;
    assert_int_equal(run(m, &bad, 1, out, sizeof out, 1, err), MMSP_E_SHAPE);
    bad = in;
    bad.shape[0] = -2;
    assert_int_equal(run(m, &bad, 1, out, sizeof out, 1, err), MMSP_E_SHAPE);
    bad = in;
    bad.shape[0] = INT64_MAX / 2;
    assert_int_equal(run(m, &bad, 1, out, sizeof out, 1, err), MMSP_E_SHAPE);
    assert_int_equal(run(m, &in, 1, out, sizeof out - 4, 1, err), MMSP_E_SHAPE);
    assert_non_null(strstr(err, "output 'predict'"));
    assert_int_equal(run(m, &in, 1, NULL, sizeof out, 1, err), MMSP_E_SHAPE);
    mmsp_tensor two[2] = {in, in};
    assert_int_equal(run(m, two, 2, out, sizeof out, 1, err), MMSP_E_INVALID);
    assert_int_equal(run(m, &in, 1, out, sizeof out, 0, err), MMSP_E_INVALID);
    assert_int_equal(mmsp_model_run(NULL, &in, 1, NULL, 0, err, sizeof err), MMSP_E_INVALID);
    assert_int_equal(mmsp_model_output_bytes(m, 0, -1), 0);
    assert_int_equal(mmsp_model_output_bytes(m, 1, 1), 0);
    assert_int_equal(mmsp_model_output_bytes(m, 0, INT64_MAX), 0);
}

static void test_batch_zero(void **state)
{
    mmsp_model *m = *state;
    char err[MMSP_ERRMSG_MAX];
    mmsp_tensor in = {.dtype = MMSP_DT_FP32, .ndim = 2, .shape = {0, 3}};
    mmsp_tensor y = {0};
    assert_int_equal(mmsp_model_run(m, &in, 1, &y, 1, err, sizeof err), MMSP_OK);
    assert_int_equal(y.ndim, 1);
    assert_int_equal(y.shape[0], 0);
    assert_string_equal(y.name, "predict");
}

/* Batches of every size up to 300 (lockstep groups, block edges) equal row-by-row runs. */
static void test_batch_matches_single(void **state)
{
    mmsp_model *m = *state;
    char err[MMSP_ERRMSG_MAX];
    enum { N = 300 };
    float *rows = malloc(N * 3 * sizeof(float)), *out = malloc(N * sizeof(float));
    uint32_t s = 12345;
    const float vals[] = {NAN, -2, -1, -0.5f, 0, 0.25f, 0.5f, 1, 1.5f, 2, 3};
    for (int i = 0; i < N * 3; i++) {
        s = s * 1103515245u + 12345u;
        rows[i] = vals[(s >> 16) % 11];
    }
    for (int n = 0; n <= N; n += (n < 20 ? 1 : 37)) {
        mmsp_tensor in = {.dtype = MMSP_DT_FP32,
                          .ndim = 2,
                          .shape = {n, 3},
                          .data = rows,
                          .nbytes = (size_t)n * 3 * sizeof(float)};
        mmsp_tensor y = {.data = out, .nbytes = N * sizeof(float)};
        assert_int_equal(mmsp_model_run(m, &in, 1, &y, 1, err, sizeof err), MMSP_OK);
        assert_int_equal(y.shape[0], n);
        for (int r = 0; r < n; r++) {
            float one;
            mmsp_tensor in1 = {.dtype = MMSP_DT_FP32,
                               .ndim = 2,
                               .shape = {1, 3},
                               .data = rows + r * 3,
                               .nbytes = 3 * sizeof(float)};
            mmsp_tensor y1 = {.data = &one, .nbytes = sizeof one};
            assert_int_equal(mmsp_model_run(m, &in1, 1, &y1, 1, err, sizeof err), MMSP_OK);
            assert_true(one == out[r]);
            assert_true(one > 0 && one < 1);
        }
    }
    /* A hand-traced row: tree 0: x0=0 -> right (node 2), x2=NaN -> default left (node 5):
     * 0.75; tree 1: x2 NaN -> right (node 2, default right), x1=1 < 2 -> node 3: 0.0625. */
    float row[3] = {0, 1, NAN}, p;
    mmsp_tensor in = {
        .dtype = MMSP_DT_FP32, .ndim = 2, .shape = {1, 3}, .data = row, .nbytes = sizeof row};
    mmsp_tensor y = {.data = &p, .nbytes = sizeof p};
    assert_int_equal(mmsp_model_run(m, &in, 1, &y, 1, err, sizeof err), MMSP_OK);
    assert_float_equal(p, 1.0 / (1.0 + exp(-(0.75 + 0.0625))), 1e-7);
    free(rows);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shape_and_dtype_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_matches_single, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
