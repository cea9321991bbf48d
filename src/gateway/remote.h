/*
 * Internals of the remote back end (remote.c) exposed for tests and the fuzz driver: the
 * parser of a v2 infer response. Not part of the gateway's contract (gateway.h).
 * Calls: nothing beyond gateway.h.
 */
#ifndef MMSP_GATEWAY_REMOTE_H
#define MMSP_GATEWAY_REMOTE_H

#include <stddef.h>

#include "gateway/gateway.h"

#define GATEWAY_REMOTE_MAX_ELEMENTS ((size_t)1 << 24) /* elements of one output */

/*
 * Parses an Open Inference Protocol v2 infer response (JSON) into *out: the output named
 * "predict" (else the first) as the prediction and an output named "probabilities", when
 * there is one, as the probabilities; both converted to FP32 in malloc'd buffers owned by the
 * caller (gateway_result_free). body is borrowed and need not be NUL-terminated.
 * MMSP_E_PARSE with a message for anything malformed (on failure *out holds nothing).
 */
mmsp_err gateway_remote_parse_response(const char *body, size_t len, struct gateway_result *out,
                                       char *err, size_t errlen);

#define GATEWAY_REMOTE_MAX_FEATURES 4096 /* feature names of one model */

/* Probabilities of a classifier whose FP32 "predict" output holds them (binary P(1): one
 * value per row -> [rows, 2] as [1 - p, p]; several per row: copied). *out gets a malloc'd
 * tensor owned by the caller; nothing when pred is not FP32. MMSP_E_NOMEM only. */
mmsp_err gateway_remote_probabilities(const mmsp_tensor *pred, mmsp_tensor *out);

/* TCP connections the remote back end `b` opened so far (the keep-alive pool keeps this at
 * about one per replica and concurrent request); -1 when b is not a remote back end. */
long gateway_remote_connections(struct gateway_backend *b);

#endif
