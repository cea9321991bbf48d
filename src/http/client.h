/*
 * A blocking HTTP client over libcurl's easy interface, for the CLI's --server mode and any
 * role that needs one request at a time (docs/http.md). One client keeps one curl handle and
 * reuses it for every request, so consecutive requests to the same host share a keep-alive
 * connection. A client is NOT thread-safe: use one per thread.
 *
 *     struct http_client *c;
 *     http_client_new(NULL, &c, err, sizeof err);
 *     struct http_client_request rq = {.method = "GET", .url =
 * "http://127.0.0.1:8080/api/v1/models"}; struct http_client_response res; if (http_client_do(c,
 * &rq, &res, err, sizeof err) == MMSP_OK) {
 *         ... res.status, res.body.data (NUL-terminated), res.body.len ...
 *         http_client_response_release(&res);
 *     }
 *     http_client_free(c);
 *
 * Any HTTP status is a successful exchange (the caller reads res.status). Errors are about the
 * transport: MMSP_E_UNAVAILABLE (cannot connect), MMSP_E_TIMEOUT, MMSP_E_TOO_LARGE (the
 * response body passed max_response_bytes), MMSP_E_INVALID (bad URL or method), MMSP_E_IO
 * (anything else curl reports), each with curl's message and the URL in err.
 * Calls: libcurl, common/buf.
 */
#ifndef MMSP_HTTP_CLIENT_H
#define MMSP_HTTP_CLIENT_H

#include <stddef.h>

#include "common/buf.h"
#include "mmsp/error.h"

struct http_client_options {
    long timeout_ms;           /* whole request, connect included; 0 = 30000 */
    long connect_timeout_ms;   /* 0 = 5000 */
    size_t max_response_bytes; /* 0 = 64 MiB */
};

struct http_client;

/* o may be NULL (defaults). */
mmsp_err http_client_new(const struct http_client_options *o, struct http_client **out, char *err,
                         size_t errlen);
void http_client_free(struct http_client *c); /* NULL is ignored; closes its connections */

struct http_client_request {
    const char *method;       /* "GET", "POST", "PUT", "DELETE", ...; NULL = "GET" */
    const char *url;          /* absolute http:// or https:// URL (escape parts first) */
    const char *bearer_token; /* NULL or "" = no Authorization header */
    const char *body;         /* borrowed; NULL = no body */
    size_t body_len;
    const char *content_type; /* of the body; NULL = "application/json" */
    long timeout_ms;          /* 0 = the client's */
};

struct http_client_response {
    long status;     /* 200, 404, ... */
    struct buf body; /* owned by the caller: http_client_response_release */
};

/* Sends rq and waits for the whole answer. On success *out is filled (release it); on failure
 * *out holds nothing to release. */
mmsp_err http_client_do(struct http_client *c, const struct http_client_request *rq,
                        struct http_client_response *out, char *err, size_t errlen);
void http_client_response_release(struct http_client_response *r);

/* New TCP connections this client opened so far (keep-alive reuse keeps it low). */
long http_client_connections(const struct http_client *c);

/* Appends s percent-encoded (RFC 3986: everything but ALPHA DIGIT - . _ ~) to b, for a path
 * segment or a query value. */
mmsp_err http_client_escape(struct buf *b, const char *s);

#endif
