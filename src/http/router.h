/*
 * Internal to src/http: route lookup used by the server loop (server.c). Calls nothing.
 */
#ifndef MMSP_HTTP_ROUTER_H
#define MMSP_HTTP_ROUTER_H

#include "common/buf.h"
#include "http/http.h"

/*
 * Finds the handler for method + path. On MMSP_OK fills *fn, *ctx and req->params (values
 * copied into req->arena). MMSP_E_NOT_FOUND: no pattern matches the path. MMSP_E_METHOD: the
 * path exists with other methods, listed in `allow` ("GET, POST"; caller-owned buffer).
 */
mmsp_err http_router_match(const struct http_router *r, const char *method, const char *path,
                           struct http_request *req, http_handler_fn *fn, void **ctx,
                           struct buf *allow);

#endif
