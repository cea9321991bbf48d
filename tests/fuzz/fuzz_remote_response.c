/*
 * Fuzz driver for the gateway's remote back end's response parser
 * (gateway_remote_parse_response, src/gateway/remote.c): any bytes as a v2 infer response.
 * A success must hand back an FP32 prediction whose byte count matches its shape (and the same
 * for probabilities when present); a failure must leave nothing allocated.
 * Calls: gateway/remote.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/remote.h"

static void check(const mmsp_tensor *t)
{
    int64_t n = 0;
    if (t->dtype != MMSP_DT_FP32 || mmsp_shape_elements(t->shape, t->ndim, &n) ||
        (size_t)n * sizeof(float) != t->nbytes)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gateway_result r;
    char err[MMSP_ERRMSG_MAX];
    mmsp_err rc = gateway_remote_parse_response((const char *)data, size, &r, err, sizeof err);
    if (rc == MMSP_OK) {
        if (!r.prediction.data)
            abort();
        check(&r.prediction);
        if (r.probabilities.data)
            check(&r.probabilities);
        gateway_result_free(&r);
    } else if (r.prediction.data || r.probabilities.data || !err[0]) {
        abort();
    }
    return 0;
}
