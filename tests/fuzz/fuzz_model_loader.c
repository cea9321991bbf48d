/*
 * Fuzz driver for the model loader (src/runtime: model.c and the XGBoost JSON back end): any
 * bytes go to mmsp_model_load_buffer as "xgboost_json"; whatever loads is run on a few rows
 * (ordinary values, NaN, infinities, extremes), batched and one by one, and its info is read.
 * Calls: the mmsp runtime API only. Seeds: tests/fuzz/corpus/fuzz_model_loader/.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmsp/mmsp.h"

#define ROWS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmsp_model *m = NULL;
    char err[MMSP_ERRMSG_MAX];
    float *rows = NULL, *out = NULL, *one = NULL;

    if (mmsp_model_load_buffer(data, size, "xgboost_json", "fuzz", &m, err, sizeof err) != MMSP_OK)
        goto out;
    const mmsp_model_info *info = mmsp_model_get_info(m);
    const mmsp_io_info *in_io = mmsp_model_input(m, 0);
    if (!info || !in_io || in_io->ndim != 2 || in_io->dims[1] != info->num_feature)
        abort();
    if (info->feature_names)
        for (int64_t i = 0; i < info->num_feature; i++)
            if (!info->feature_names[i])
                abort();
    size_t nf = (size_t)info->num_feature;
    if (nf > (1u << 16)) /* keep each run cheap; loading such a model was the test */
        goto out;
    rows = malloc(ROWS * nf * sizeof(float));
    size_t out_bytes = mmsp_model_output_bytes(m, 0, ROWS);
    out = malloc(out_bytes ? out_bytes : 1);
    if (!rows || !out)
        goto out;
    const float vals[] = {0.0f, 1.0f, -1.0f, NAN, INFINITY, -INFINITY, 1e30f, -0.5f, 0.25f};
    for (size_t i = 0; i < ROWS * nf; i++)
        rows[i] = vals[(i * 7 + i / nf) % (sizeof vals / sizeof vals[0])];
    mmsp_tensor x = {.name = "input",
                     .dtype = MMSP_DT_FP32,
                     .ndim = 2,
                     .shape = {ROWS, (int64_t)nf},
                     .data = rows,
                     .nbytes = ROWS * nf * sizeof(float)};
    mmsp_tensor y = {.data = out, .nbytes = out_bytes};
    if (mmsp_model_run(m, &x, 1, &y, 1, err, sizeof err) != MMSP_OK)
        abort(); /* a model that loaded must run on well-formed input */
    size_t per_row = out_bytes / ROWS / sizeof(float);
    one = malloc(per_row * sizeof(float));
    if (!one)
        goto out;
    for (size_t r = 0; r < ROWS; r++) {
        mmsp_tensor x1 = {.dtype = MMSP_DT_FP32,
                          .ndim = 2,
                          .shape = {1, (int64_t)nf},
                          .data = rows + r * nf,
                          .nbytes = nf * sizeof(float)};
        mmsp_tensor y1 = {.data = one, .nbytes = per_row * sizeof(float)};
        if (mmsp_model_run(m, &x1, 1, &y1, 1, err, sizeof err) != MMSP_OK)
            abort();
        /* Batched and single-row evaluation must agree bit for bit. */
        if (memcmp(one, out + r * per_row, per_row * sizeof(float)) != 0)
            abort();
    }
out:
    free(rows);
    free(out);
    free(one);
    mmsp_model_release(m);
    return 0;
}
