/*
 * Fuzz driver for the inference request codecs: v2_request_parse (JSON and binary tensor
 * data), then, when a request parses, v2_tensor_convert of every input to FP32 and
 * v2_response_write of the converted inputs as JSON and as binary outputs; the same bytes also
 * go to v1_request_parse, simple_request_parse and json_parse. The first two bytes choose the
 * Inference-Header-Content-Length: 0xFFFF means "no header" (-1), anything else is a length
 * (checked by the parser against the body, so out-of-range values are exercised too).
 * Every arena and buffer has a small ceiling, as in the server. Differential check: whenever
 * v2_request_parse_fast takes a body, the general parser (reached with the header set to the
 * whole body) must accept it too and produce the same tensors, else the driver aborts.
 * Calls: serve/v2_codec, common/json, common/arena, common/buf.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/json.h"
#include "serve/v2_codec.h"

#define FUZZ_ARENA_LIMIT (4u << 20)
#define FUZZ_BUF_LIMIT   (4u << 20)

static void check_response(const mmsp_tensor *outs, size_t n, const int *binary)
{
    struct buf b;
    buf_init(&b, FUZZ_BUF_LIMIT);
    size_t json_len = 0;
    if (v2_response_write(&b, &json_len, "model", "1", "id", outs, binary, n) == MMSP_OK) {
        /* The JSON part of every response we write must be valid JSON. */
        struct arena a;
        arena_init(&a, 4096, FUZZ_ARENA_LIMIT * 4);
        struct json_value v;
        char err[MMSP_ERRMSG_MAX];
        mmsp_err rc = json_parse(&a, b.data, json_len, &v, err, sizeof err);
        if (rc != MMSP_OK && rc != MMSP_E_TOO_LARGE)
            abort();
        arena_release(&a);
        if (json_len > b.len)
            abort();
    }
    buf_release(&b);
}

static void check_fast_path(const char *body, size_t len)
{
    struct arena fa, ga;
    arena_init(&fa, 4096, FUZZ_ARENA_LIMIT);
    arena_init(&ga, 4096, FUZZ_ARENA_LIMIT * 4);
    struct v2_request f, g;
    char err[MMSP_ERRMSG_MAX];
    size_t used = fa.used;
    if (!v2_request_parse_fast(&fa, body, len, &f)) {
        if (fa.used != used || f.n_inputs)
            abort(); /* a decline leaves the arena as it was */
    } else {
        if (v2_request_parse(&ga, body, len, (int64_t)len, &g, err, sizeof err) != MMSP_OK ||
            f.n_inputs != g.n_inputs || (f.id == NULL) != (g.id == NULL) ||
            (f.id && strcmp(f.id, g.id)))
            abort();
        for (size_t i = 0; i < f.n_inputs; i++) {
            const mmsp_tensor *x = &f.inputs[i], *y = &g.inputs[i];
            if (strcmp(x->name, y->name) || x->dtype != y->dtype || x->ndim != y->ndim ||
                memcmp(x->shape, y->shape, sizeof x->shape[0] * (size_t)x->ndim) ||
                x->nbytes != y->nbytes || (x->nbytes && memcmp(x->data, y->data, x->nbytes)))
                abort();
        }
    }
    arena_release(&fa);
    arena_release(&ga);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned hl = (unsigned)data[0] | (unsigned)data[1] << 8;
    int64_t header_len = hl == 0xFFFF ? -1 : (int64_t)hl;
    /* An exact-size copy, so any read past the end is caught by ASan. */
    size_t len = size - 2;
    char *body = malloc(len ? len : 1);
    if (!body)
        return 0;
    memcpy(body, data + 2, len);

    if (header_len == -1)
        check_fast_path(body, len);
    char err[MMSP_ERRMSG_MAX];
    struct arena a;
    arena_init(&a, 4096, FUZZ_ARENA_LIMIT);
    struct v2_request req;
    if (v2_request_parse(&a, body, len, header_len, &req, err, sizeof err) == MMSP_OK) {
        mmsp_tensor *conv = arena_calloc(&a, req.n_inputs, sizeof *conv);
        int *binary = arena_calloc(&a, req.n_inputs, sizeof *binary);
        size_t n = 0;
        for (size_t i = 0; conv && binary && i < req.n_inputs; i++) {
            if (v2_tensor_convert(&a, &req.inputs[i], MMSP_DT_FP32, &conv[n], err, sizeof err))
                continue;
            binary[n] = (int)(i & 1);
            n++;
        }
        if (conv && binary) {
            check_response(conv, n, binary);                /* mixed JSON and binary */
            check_response(conv, n, NULL);                  /* all JSON */
            check_response(req.inputs, req.n_inputs, NULL); /* the original dtypes */
        }
    }
    arena_reset(&a);
    mmsp_tensor t;
    const char *id;
    v1_request_parse(&a, body, len, &t, err, sizeof err);
    arena_reset(&a);
    simple_request_parse(&a, body, len, &t, &id, err, sizeof err);
    arena_reset(&a);
    struct json_value v;
    json_parse(&a, body, len, &v, err, sizeof err);
    arena_release(&a);
    free(body);
    return 0;
}
