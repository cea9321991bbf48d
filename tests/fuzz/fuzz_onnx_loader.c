/*
 * Fuzz driver for the ONNX back end (src/runtime/onnx: loader, planner, operators): any bytes
 * go to mmsp_model_load_buffer as "onnx"; a model that loads is described (info, io) and,
 * when every input's dims are known once the batch is 1, run once on zeros and once on
 * values taken from the fuzz input, at batch 1. Calls: the mmsp runtime API only.
 * Seeds: tests/fuzz/corpus/fuzz_onnx_loader/ (tiny models built with onnx.helper).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmsp/mmsp.h"

/* Largest input or output buffer a run may use here (keeps each run cheap). */
#define MAX_BYTES ((size_t)1 << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmsp_model *m = NULL;
    char err[MMSP_ERRMSG_MAX];
    mmsp_tensor in[16], out[16];
    size_t nin = 0, nout = 0;

    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    if (mmsp_model_load_buffer(data, size, "onnx", "fuzz", &m, err, sizeof err) != MMSP_OK)
        goto out;
    if (!mmsp_model_get_info(m))
        abort();
    nin = mmsp_model_input_count(m);
    nout = mmsp_model_output_count(m);
    if (nin > 16 || nout > 16)
        abort();
    for (size_t i = 0; i < nin; i++) {
        const mmsp_io_info *io = mmsp_model_input(m, i);
        size_t bytes = mmsp_dtype_size(io->dtype);
        in[i].name = io->name;
        in[i].dtype = io->dtype;
        in[i].ndim = io->ndim;
        for (int d = 0; d < io->ndim; d++) {
            int64_t v = io->dims[d] < 0 ? 1 : io->dims[d];
            if (v > 0 && bytes > MAX_BYTES / (size_t)v)
                goto out;
            in[i].shape[d] = v;
            bytes *= (size_t)v;
        }
        in[i].data = calloc(1, bytes ? bytes : 1);
        in[i].nbytes = bytes;
        if (!in[i].data)
            goto out;
    }
    for (size_t i = 0; i < nout; i++) {
        size_t bytes = mmsp_model_output_bytes(m, i, 1);
        if (bytes > MAX_BYTES)
            goto out;
        out[i].data = calloc(1, bytes ? bytes : 1);
        out[i].nbytes = bytes;
        if (!out[i].data)
            goto out;
    }
    (void)mmsp_model_run(m, in, nin, out, nout, err, sizeof err);
    /* again with bytes of the input as values (NaN, inf, huge indices...) */
    for (size_t i = 0; i < nin; i++)
        for (size_t b = 0; b < in[i].nbytes && size; b++)
            ((uint8_t *)in[i].data)[b] = data[(b * 7 + i) % size];
    (void)mmsp_model_run(m, in, nin, out, nout, err, sizeof err);
out:
    for (size_t i = 0; i < 16; i++) {
        free(in[i].data);
        free(out[i].data);
    }
    mmsp_model_release(m);
    return 0;
}
