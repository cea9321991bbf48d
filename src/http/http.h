/*
 * The HTTP server wrapper every mmsp role uses: a thin layer over GNU libmicrohttpd (epoll,
 * internal thread pool) with a router, bounded request bodies, a per-connection arena reused
 * across keep-alive requests, and one place that turns an mmsp_err into an HTTP status and a
 * {"error": "..."} body. docs/http.md explains the design and how a new role registers its
 * handlers. Calls: libmicrohttpd, common/arena, common/buf, common/json (writer), common/log.
 *
 *     struct http_router *r = http_router_new();
 *     http_router_add(r, "GET", "/v2/models/{name}/ready", on_model_ready, ctx);
 *     http_router_add(r, "POST", "/v1/models/{name}:predict", on_v1_predict, ctx);
 *     struct http_server *s;
 *     http_server_start(&opts, r, &s, err, sizeof err);
 *     ... http_server_stop(s); http_router_free(r);
 *
 * A handler reads the request (method, path, path params, query, headers, body, arena) and
 * fills the response (status, content type, body, extra headers). It returns MMSP_OK, or an
 * error code after http_fail() wrote the message; the wrapper then answers with
 * http_status_from_err(code) and {"error": "<message>"}.
 */
#ifndef MMSP_HTTP_H
#define MMSP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "mmsp/error.h"

#define HTTP_MAX_PARAMS  8
#define HTTP_MAX_HEADERS 8

struct http_request {
    const char *method; /* "GET", "POST", ... (HEAD is routed as GET) */
    const char *path;   /* decoded path without the query string */
    const char *param_names[HTTP_MAX_PARAMS];
    const char *param_values[HTTP_MAX_PARAMS]; /* decoded, NUL-terminated, in the arena */
    size_t n_params;
    const char *body; /* NUL-terminated at body[body_len]; "" when there is none */
    size_t body_len;
    struct arena *arena; /* request-scoped memory, reset before the next request */
    uint64_t start_ns;   /* CLOCK_MONOTONIC when the request headers were complete */
    void *conn_;         /* libmicrohttpd connection; use the accessors below */
    void *owner_;        /* the wrapper's per-connection state */
};

struct http_response {
    int status;               /* default 200 */
    const char *content_type; /* default "application/json"; must outlive the handler call
                                 (static or arena) */
    struct buf body;          /* owned by the connection, reused; bounded */
    const char *header_names[HTTP_MAX_HEADERS];
    const char *header_values[HTTP_MAX_HEADERS];
    size_t n_headers;
    char err[MMSP_ERRMSG_MAX]; /* message for an error return, written by http_fail() */
};

/* Handler: `ctx` is what was given to http_router_add (borrowed). */
typedef mmsp_err (*http_handler_fn)(struct http_request *req, struct http_response *res, void *ctx);

/* Value of path parameter `name` ("{name}" in the pattern), or NULL. Borrowed from the arena. */
const char *http_request_param(const struct http_request *req, const char *name);
/* Request header (case-insensitive name) or query argument, or NULL. Borrowed from MHD,
 * valid during the handler call. */
const char *http_request_header(const struct http_request *req, const char *name);
const char *http_request_query(const struct http_request *req, const char *name);
/* Every value of a repeated query argument ("stages=a&stages=b"), in order: up to `max`
 * pointers (borrowed as above) into out; returns how many there are in all. */
size_t http_request_query_all(const struct http_request *req, const char *name, const char **out,
                              size_t max);

/* Adds a response header; name and value are copied into the request arena. */
mmsp_err http_response_header(struct http_request *req, struct http_response *res, const char *name,
                              const char *value);

/* Writes the printf-formatted message into res->err and returns `code`, so a handler can say
 * `return http_fail(res, MMSP_E_NOT_FOUND, "model '%s' is not known", name);` */
mmsp_err http_fail(struct http_response *res, mmsp_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Deferred answers. A handler whose answer is computed on another thread (the dynamic
 * batcher) calls http_request_suspend(req, on_resume, ctx) and then returns MMSP_OK: the
 * connection is parked (libmicrohttpd's MHD_suspend_connection), no thread waits on it, and no
 * response is sent. Later, any thread calls http_request_resume(req) exactly once; the event
 * thread then calls on_resume(req, res, ctx) and treats what it returns as the handler's
 * result (error body, status, on_request_done). Between the two calls `req`, its arena, the
 * response and the body stay valid and untouched by the wrapper; the resuming thread must not
 * touch them after http_request_resume. Suspend only from inside a handler, before handing
 * the request to another thread. A suspended request counts as in flight: http_server_stop
 * waits for it.
 */
void http_request_suspend(struct http_request *req, http_handler_fn on_resume, void *ctx);
void http_request_resume(struct http_request *req);

/*
 * Bearer-token check for write endpoints. When `token` is NULL or "" every request passes.
 * Otherwise the request needs "Authorization: Bearer <token>" (compared in constant time):
 * without one MMSP_E_UNAUTHORIZED (401, with a WWW-Authenticate: Bearer header), with a wrong
 * one MMSP_E_FORBIDDEN (403). The message is written into res (http_fail).
 */
mmsp_err http_require_admin(struct http_request *req, struct http_response *res, const char *token);

/* The one mapping from error codes to HTTP statuses (docs/http.md has the table). */
int http_status_from_err(mmsp_err e);

/* --- router ------------------------------------------------------------------------------ */

struct http_router;

struct http_router *http_router_new(void); /* NULL when out of memory */
void http_router_free(struct http_router *r);

/*
 * Registers `method` + `pattern`. Pattern segments are literals or "{param}", optionally
 * followed by a literal suffix ("{name}:predict"). More literal text wins over less when two
 * patterns match one path. A path that matches a pattern registered with other methods only
 * gets 405 with an Allow header; a path that matches nothing gets 404. Strings are copied.
 */
mmsp_err http_router_add(struct http_router *r, const char *method, const char *pattern,
                         http_handler_fn fn, void *ctx);

/* --- server ------------------------------------------------------------------------------ */

struct http_server_options {
    const char *host; /* numeric address or name; default "127.0.0.1" */
    uint16_t port;    /* 0 = any free port */
    unsigned threads; /* event-loop threads; 0 = number of cores */
    /* How each event-loop thread waits: 0 = epoll (default), 1 = poll. poll() scans every
     * connection on each wake-up, but parking and resuming a request (http_request_suspend,
     * what the dynamic batcher does) costs no epoll_ctl calls; docs/http.md has figures. */
    int use_poll;
    /* 1 = the event-loop threads run as SCHED_BATCH: their wake-ups do not preempt the thread
     * running on their core, so an executor that shares a core with them finishes its batch
     * (and resumes all its requests) before they handle the answers. Costs latency when the
     * core is busy with other work; docs/http.md has figures. */
    int sched_batch;
    size_t max_body_bytes;     /* request bodies above this get 413; 0 = 8 MiB */
    unsigned idle_timeout_s;   /* idle / slow connections are closed after this; 0 = 30 */
    unsigned max_connections;  /* 0 = 1024 */
    size_t arena_limit;        /* per-request arena ceiling; 0 = 16 * max_body_bytes + 16 MiB */
    size_t max_response_bytes; /* 0 = max(64 MiB, 4 * max_body_bytes) */
    /* Called after every request with its final status (may be NULL). Runs on the event
     * thread: keep it cheap. */
    void (*on_request_done)(void *ctx, const struct http_request *req, int status);
    void *observer_ctx;
};

struct http_server;

/* Starts listening and serving on internal threads. `router` is borrowed and must outlive
 * the server. On failure returns MMSP_E_IO with a message. */
mmsp_err http_server_start(const struct http_server_options *opts, struct http_router *router,
                           struct http_server **out, char *err, size_t errlen);

uint16_t http_server_port(const struct http_server *s);

/* Stops accepting, lets requests in flight finish (up to 30 s), closes every connection and
 * frees the server. NULL is ignored. */
void http_server_stop(struct http_server *s);

uint64_t http_now_ns(void); /* CLOCK_MONOTONIC in ns */

#endif
