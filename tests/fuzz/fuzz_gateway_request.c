/*
 * Fuzz driver for the gateway's /predict body: gateway_request_parse (a "text" body must give
 * the string and no rows; a body with no rows must name an entity_id), then, when the body names
 * features, gateway_features_row against a fixed list of feature names, and gateway_prediction_diff
 * of the parsed rows with themselves (must be 0 unless NaN). The arena has a small ceiling, as in
 * the server. Calls: gateway (predict.c), common/arena, common/json.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/json.h"
#include "gateway/gateway_internal.h"

#define FUZZ_ARENA_LIMIT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy with its NUL, so any read past the end is caught by ASan. */
    char *body = malloc(size + 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    struct arena a;
    arena_init(&a, 4096, FUZZ_ARENA_LIMIT);
    struct gateway_request r;
    char err[MMSP_ERRMSG_MAX];
    mmsp_err rc = gateway_request_parse(&a, body, size, &r, err, sizeof err);
    if (rc == MMSP_OK && r.deployment) {
        if (r.text) { /* the transformer's input: a string, no rows parsed */
            if (r.features || r.inputs.ndim != 0 || strlen(r.text) > r.text_len)
                abort();
        } else if (r.features) {
            char *names[3] = {"a", "b", "c"};
            mmsp_tensor x;
            if (gateway_features_row(&a, r.features, names, 3, &x, err, sizeof err) == MMSP_OK &&
                (x.shape[0] != 1 || x.shape[1] != 3 || x.nbytes != 3 * sizeof(float)))
                abort();
        } else if (r.inputs.ndim == 0) { /* an entity_id alone: the feature store gives rows */
            if (!r.entity_id)
                abort();
        } else {
            const mmsp_tensor *x = &r.inputs;
            if (x->ndim != 2 || x->shape[0] < 1 || x->shape[1] < 1 ||
                x->nbytes != (size_t)(x->shape[0] * x->shape[1]) * sizeof(float))
                abort();
            double d = gateway_prediction_diff(x, x);
            if (d != 0 && d != -1)
                abort();
        }
    }
    if (rc != MMSP_OK && !err[0])
        abort(); /* every error says why */
    arena_release(&a);
    free(body);
    return 0;
}
