/*
 * Request and response bodies of the inference APIs, with no HTTP in them:
 *  - Open Inference Protocol v2 infer requests and responses, JSON and the binary tensor data
 *    extension (Inference-Header-Content-Length, binary_data_size, binary_data,
 *    binary_data_output), reference/protocols.md section 1.4 and 1.7;
 *  - KServe v1 predict bodies ({"instances": [...]} or {"inputs": [...]});
 *  - the simple API's /predict body.
 * Everything decoded lives in the caller's arena; nothing here allocates with malloc.
 * Calls: common/json, common/arena, common/buf.
 */
#ifndef MMSP_V2_CODEC_H
#define MMSP_V2_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/json.h"
#include "mmsp/runtime.h"
#include "mmsp/tensor.h"

/* A request parameter: scalar only (string, number, bool), as the protocol says. */
struct v2_param {
    const char *key;
    const struct json_value *value;
};

/* One requested output. binary: -1 = not said (use the request default), 0 = JSON, 1 = binary. */
struct v2_output_req {
    const char *name;
    int binary;
};

struct v2_request {
    const char *id; /* NULL when absent */
    struct v2_param *params;
    size_t n_params;
    mmsp_tensor *inputs; /* dtype = the declared datatype; data decoded, in the arena */
    size_t n_inputs;
    struct v2_output_req *outputs; /* NULL/0 when absent = all outputs */
    size_t n_outputs;
    int binary_data_output; /* request-level default for outputs: 0 or 1 */
};

/*
 * Parses an infer request body. header_len is the value of Inference-Header-Content-Length,
 * or -1 when the header was absent (then the whole body is JSON and no tensor may say
 * binary_data_size). Checks: types of every known field, datatype names, shape dims >= 0 and
 * their product (no overflow), data length == product (flat or nested `data` in row-major
 * order, nesting must agree with the shape), JSON numbers representable in the datatype
 * (integers for INT*, 0/1/true/false for BOOL), binary sizes == product * element size and the
 * binary part fully consumed. Unknown top-level fields are ignored; a known field with the
 * wrong type is an error. On error returns MMSP_E_PARSE / MMSP_E_SHAPE / MMSP_E_DTYPE /
 * MMSP_E_TOO_LARGE / MMSP_E_INVALID with a message naming the input and the problem.
 */
/* Ownership: body is borrowed for the call (tensor data is copied, aligned, into `a`); *out
 * and everything it points to belong to the arena. On error *out is zeroed. */
mmsp_err v2_request_parse(struct arena *a, const char *body, size_t len, int64_t header_len,
                          struct v2_request *out, char *err, size_t errlen);

/*
 * The fast path v2_request_parse takes first for bodies without binary data: one pass, numbers
 * decoded straight into the tensors, no tree. It takes {"id": "...", "inputs": [{"name": "...",
 * "shape": [...], "datatype": "FP32" | "FP64" | "INT32" | "INT64", "data": [flat numbers]},
 * ...]} (up to 8 inputs; keys in any order, but an input's "data" after its "datatype" and
 * "shape", as clients write them), with strings of printable ASCII and no escapes. Anything
 * else (other keys, parameters, outputs, nested data, a value the datatype cannot hold, any
 * syntax error, ...) makes it decline: it returns 0 with *out zeroed and the arena as it was,
 * and the general parser decides (and words any error). Returns 1 with *out exactly what the
 * general parser produces for the same body (the unit tests and the fuzz driver check both).
 */
int v2_request_parse_fast(struct arena *a, const char *body, size_t len, struct v2_request *out);

/*
 * Converts tensor `in` to datatype `want`: any of BOOL, UINT*, INT*, FP16 (as a source only),
 * FP32, FP64 to any of those but FP16; BYTES never converts. The result is allocated from `a`;
 * `in` is borrowed. When the dtype already matches, *out = *in and nothing is copied (out->data
 * is then in's memory). Integer -> float conversions are exact or round to nearest; a value
 * that does not fit the target is refused (MMSP_E_DTYPE naming the element): float -> integer
 * unless integral and in range, out-of-range integers, BOOL other than 0/1, FP64 beyond FP32.
 */
mmsp_err v2_tensor_convert(struct arena *a, const mmsp_tensor *in, mmsp_dtype want,
                           mmsp_tensor *out, char *err, size_t errlen);

/*
 * Writes an infer response (appending to `out`; the tensors are borrowed). FP16 outputs are
 * written as JSON numbers; BYTES elements as JSON strings (invalid UTF-8 becomes U+FFFD: ask
 * for binary output for raw bytes). Fails with MMSP_E_INVALID when a tensor's data is shorter
 * than its shape (out is then left as it was) or MMSP_E_TOO_LARGE at the buffer's ceiling.
 * outputs[i] is written as binary when binary[i] is 1 (then its
 * JSON entry carries "parameters": {"binary_data_size": N} and no "data", and the raw bytes
 * follow the JSON in order). *json_len receives the length of the JSON part (for the
 * Inference-Header-Content-Length response header; equal to out->len when nothing is
 * binary). `model_version` and `id` may be NULL: the field is then omitted.
 */
mmsp_err v2_response_write(struct buf *out, size_t *json_len, const char *model_name,
                           const char *model_version, const char *id, const mmsp_tensor *outputs,
                           const int *binary, size_t n_outputs);

/*
 * Parses a KServe v1 predict body: {"instances": [[...], ...]} or {"inputs": [[...], ...]}
 * (each instance a flat array of numbers, all of equal length; an instance that is a single
 * number makes a one-column row). Produces a FP32 tensor of shape [rows, cols].
 */
mmsp_err v1_request_parse(struct arena *a, const char *body, size_t len, mmsp_tensor *out,
                          char *err, size_t errlen);

/*
 * Parses the simple API's POST /predict body: {"features": [x0, x1, ...]} (one row) or
 * {"instances": [[...], ...]} (several rows) or {"features": [[...], ...]}. Produces FP32
 * [rows, cols]. An optional "id" string is returned in *id (NULL when absent).
 */
mmsp_err simple_request_parse(struct arena *a, const char *body, size_t len, mmsp_tensor *out,
                              const char **id, char *err, size_t errlen);

#endif
