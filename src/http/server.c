/*
 * The HTTP server loop of the wrapper (see http.h, docs/http.md): libmicrohttpd with epoll on
 * an internal thread pool. Per TCP connection (MHD_OPTION_NOTIFY_CONNECTION) it keeps an
 * arena, a bounded body buffer and a response buffer, all reused by every keep-alive request
 * on that connection, so the steady state does not call malloc beyond what libmicrohttpd
 * itself does. Bodies are bounded (413 before reading when Content-Length says too much,
 * 413 after discarding when a chunked body grows past the limit); idle and slow clients are
 * dropped by the connection timeout; libmicrohttpd's own messages go to our JSON log.
 * Calls: libmicrohttpd, http/router, common/arena, common/buf, common/json, common/log.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/json.h"
#include "common/log.h"
#include "http/http.h"
#include "http/router.h"

#define ARENA_CHUNK          (32 * 1024)
#define KEEP_BUFFER_BYTES    (64 * 1024) /* larger buffers are freed before the next request */
#define DRAIN_TIMEOUT_NS     (30ull * 1000000000ull)
#define DEFAULT_MAX_BODY     (8u << 20)
#define DEFAULT_IDLE_TIMEOUT 30
#define DEFAULT_MAX_CONNS    1024
#ifndef MHD_POOL_BYTES
#define MHD_POOL_BYTES (16 * 1024) /* request line + headers must fit (else 414 / 431) */
#endif
#define MHD_POOL_INCREMENT 1024

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_router *router; /* borrowed */
    struct http_server_options o;
    size_t max_discard_bytes; /* chunked bytes discarded after a 413 before hanging up */
    atomic_long inflight;     /* requests between their first callback and completion */
    uint16_t port;
};

/* State of one TCP connection, reused by its keep-alive requests. */
struct http_conn {
    struct arena arena;
    struct buf body;  /* request body, max = max_body_bytes */
    struct buf allow; /* Allow header of a 405 */
    struct http_response res;
    int too_large;    /* body went over the limit; rest is discarded */
    size_t discarded; /* bytes discarded after too_large */
    uint64_t start_ns;
    struct http_request req;   /* kept here (not on the stack) so a suspended request survives */
    http_handler_fn on_resume; /* set while the request is suspended */
    void *resume_ctx;
};

uint64_t http_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int http_status_from_err(mmsp_err e)
{
    switch (e) {
    case MMSP_E_OK:
        return 200;
    case MMSP_E_NOT_FOUND:
        return 404;
    case MMSP_E_METHOD:
        return 405;
    case MMSP_E_TOO_LARGE:
        return 413;
    case MMSP_E_UNAVAILABLE:
        return 503;
    case MMSP_E_UNSUPPORTED:
        return 501;
    case MMSP_E_TIMEOUT:
        return 504;
    case MMSP_E_UNAUTHORIZED:
        return 401;
    case MMSP_E_FORBIDDEN:
        return 403;
    case MMSP_E_CONFLICT:
        return 409;
    case MMSP_E_POLICY:
        return 422;
    case MMSP_E_INTERNAL:
    case MMSP_E_NOMEM:
    case MMSP_E_IO:
        return 500;
    case MMSP_E_INVALID:
    case MMSP_E_PARSE:
    case MMSP_E_EXISTS:
    case MMSP_E_BAD_MODEL:
    case MMSP_E_SHAPE:
    case MMSP_E_DTYPE:
        return 400;
    }
    return 500;
}

mmsp_err http_fail(struct http_response *res, mmsp_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->err, sizeof res->err, fmt, ap);
    va_end(ap);
    return code;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn_, MHD_HEADER_KIND, name);
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn_, MHD_GET_ARGUMENT_KIND, name);
}

struct query_all {
    const char *name;
    const char **out;
    size_t max, n;
};

static enum MHD_Result on_query_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct query_all *q = cls;
    if (key && strcmp(key, q->name) == 0) {
        if (q->n < q->max)
            q->out[q->n] = value ? value : "";
        q->n++;
    }
    return MHD_YES;
}

size_t http_request_query_all(const struct http_request *req, const char *name, const char **out,
                              size_t max)
{
    struct query_all q = {.name = name, .out = out, .max = max};
    MHD_get_connection_values(req->conn_, MHD_GET_ARGUMENT_KIND, on_query_value, &q);
    return q.n;
}

mmsp_err http_response_header(struct http_request *req, struct http_response *res, const char *name,
                              const char *value)
{
    if (res->n_headers >= HTTP_MAX_HEADERS)
        return MMSP_E_TOO_LARGE;
    char *n = arena_strndup(req->arena, name, strlen(name));
    char *v = arena_strndup(req->arena, value, strlen(value));
    if (!n || !v)
        return MMSP_E_NOMEM;
    res->header_names[res->n_headers] = n;
    res->header_values[res->n_headers] = v;
    res->n_headers++;
    return MMSP_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decoding of the path and query arguments, in place. Like libmicrohttpd's own, except
 * that "%00" stays as it is: handlers see NUL-terminated strings, and a decoded NUL would cut
 * "/v2/models/x%00/infer" down to another, valid path.
 */
static size_t on_unescape(void *cls, struct MHD_Connection *mc, char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("http.mhd", "%s", msg);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *s = cls;
    struct http_conn *c = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        c = calloc(1, sizeof *c);
        if (!c) {
            *socket_context = NULL; /* on_access refuses the connection */
            return;
        }
        arena_init(&c->arena, ARENA_CHUNK, s->o.arena_limit);
        buf_init(&c->body, s->o.max_body_bytes);
        buf_init(&c->allow, 256);
        buf_init(&c->res.body, s->o.max_response_bytes);
        *socket_context = c;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && c) {
        arena_release(&c->arena);
        buf_release(&c->body);
        buf_release(&c->allow);
        buf_release(&c->res.body);
        free(c);
        *socket_context = NULL;
    }
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    if (*req_cls) {
        atomic_fetch_sub(&s->inflight, 1);
        *req_cls = NULL;
    }
}

/* Frees a buffer that a big request grew, so idle connections do not pin memory. */
static void buf_shrink(struct buf *b)
{
    if (b->cap > KEEP_BUFFER_BYTES)
        buf_release(b);
    else
        buf_reset(b);
}

static void request_begin(struct http_conn *c)
{
    arena_reset(&c->arena);
    buf_shrink(&c->body);
    buf_shrink(&c->res.body);
    c->too_large = 0;
    c->discarded = 0;
    c->start_ns = http_now_ns();
    c->res.status = 200;
    c->res.content_type = "application/json";
    c->res.n_headers = 0;
    c->res.err[0] = '\0';
}

/* Replaces the response with {"error": msg} and the status for `code`. */
static void error_body(struct http_response *res, mmsp_err code)
{
    res->status = http_status_from_err(code);
    res->content_type = "application/json";
    buf_reset(&res->body);
    const char *msg = res->err[0] ? res->err : mmsp_strerror(code);
    if (buf_append_str(&res->body, "{\"error\":") ||
        json_write_string(&res->body, msg, strlen(msg)) || buf_append_char(&res->body, '}')) {
        buf_release(&res->body);
        res->status = 500;
    }
}

static enum MHD_Result send_response(struct http_server *s, struct MHD_Connection *mc,
                                     struct http_conn *c, struct http_request *req)
{
    struct http_response *res = &c->res;
    static const char empty[] = "";
    const char *data = res->body.data ? res->body.data : empty;
    /* PERSISTENT: the bytes live in the connection's buffer, untouched until the next request
     * on this connection, which libmicrohttpd only starts once this response is sent. */
    struct MHD_Response *r =
        MHD_create_response_from_buffer(res->body.len, (void *)data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    for (size_t i = 0; i < res->n_headers; i++)
        MHD_add_response_header(r, res->header_names[i], res->header_values[i]);
    enum MHD_Result ok = MHD_queue_response(mc, (unsigned)res->status, r);
    MHD_destroy_response(r);
    if (s->o.on_request_done)
        s->o.on_request_done(s->o.observer_ctx, req, res->status);
    return ok;
}

static void request_init(struct http_request *req, struct http_conn *c, struct MHD_Connection *mc,
                         const char *method, const char *url)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->path = url;
    req->body = c->body.data ? c->body.data : "";
    req->body_len = c->body.len;
    req->arena = &c->arena;
    req->start_ns = c->start_ns;
    req->conn_ = mc;
    req->owner_ = c;
}

void http_request_suspend(struct http_request *req, http_handler_fn on_resume, void *ctx)
{
    struct http_conn *c = req->owner_;
    c->on_resume = on_resume;
    c->resume_ctx = ctx;
    MHD_suspend_connection(req->conn_);
}

void http_request_resume(struct http_request *req)
{
    MHD_resume_connection(req->conn_);
}

/* Turns the handler's result into the response and queues it. */
static enum MHD_Result respond(struct http_server *s, struct MHD_Connection *mc,
                               struct http_conn *c, mmsp_err rc)
{
    struct http_response *res = &c->res;
    if (rc) {
        /* kept: a 405's Allow, a 401's WWW-Authenticate (http_require_admin) */
        if (rc != MMSP_E_METHOD && rc != MMSP_E_UNAUTHORIZED)
            res->n_headers = 0;
        error_body(res, rc);
    }
    return send_response(s, mc, c, &c->req);
}

static enum MHD_Result dispatch(struct http_server *s, struct MHD_Connection *mc,
                                struct http_conn *c, const char *method, const char *url)
{
    struct http_request *req = &c->req;
    request_init(req, c, mc, method, url);
    struct http_response *res = &c->res;
    http_handler_fn fn = NULL;
    void *ctx = NULL;
    mmsp_err rc;
    if (c->too_large) {
        rc = http_fail(res, MMSP_E_TOO_LARGE, "request body is larger than %zu bytes",
                       s->o.max_body_bytes);
        goto out;
    }
    rc = http_router_match(s->router, method, url, req, &fn, &ctx, &c->allow);
    if (rc == MMSP_E_NOT_FOUND) {
        http_fail(res, rc, "no such endpoint: %s", url);
        goto out;
    }
    if (rc == MMSP_E_METHOD) {
        http_fail(res, rc, "method %s is not allowed on %s (allowed: %s)", method, url,
                  c->allow.data ? c->allow.data : "");
        res->header_names[0] = "Allow";
        res->header_values[0] = c->allow.data ? c->allow.data : "";
        res->n_headers = 1;
        goto out;
    }
    if (rc)
        goto out;
    rc = fn(req, res, ctx);
    if (c->on_resume)
        return MHD_YES; /* suspended: answered when resumed (see on_access) */
out:
    return respond(s, mc, c, rc);
}

/* The request was suspended and has been resumed: finish it on this (the event) thread. */
static enum MHD_Result resumed(struct http_server *s, struct MHD_Connection *mc,
                               struct http_conn *c)
{
    http_handler_fn fn = c->on_resume;
    void *ctx = c->resume_ctx;
    c->on_resume = NULL;
    c->resume_ctx = NULL;
    return respond(s, mc, c, fn(&c->req, &c->res, ctx));
}

/* Content-Length as a number; -1 when absent or not a plain decimal. */
static long long content_length(struct MHD_Connection *mc)
{
    const char *v =
        MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!v || !*v)
        return -1;
    long long n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > (1ll << 50))
            return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *mc, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    struct http_server *s = cls;
    struct http_conn *c = *req_cls;
    if (!c) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        c = ci ? ci->socket_context : NULL;
        if (!c)
            return MHD_NO;
        *req_cls = c;
        atomic_fetch_add(&s->inflight, 1);
        request_begin(c);
        long long cl = content_length(mc);
        if (cl > 0 && (unsigned long long)cl > s->o.max_body_bytes) {
            /* Answer before reading the body; libmicrohttpd then closes the connection. */
            c->too_large = 1;
            return dispatch(s, mc, c, method, url);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!c->too_large) {
            mmsp_err rc = buf_append(&c->body, upload_data, n);
            if (rc == MMSP_E_TOO_LARGE) {
                c->too_large = 1;
                buf_release(&c->body);
            } else if (rc) {
                return MHD_NO;
            }
        } else {
            c->discarded += n;
            if (c->discarded > s->max_discard_bytes) /* endless chunked body: hang up */
                return MHD_NO;
        }
        return MHD_YES;
    }
    if (c->on_resume)
        return resumed(s, mc, c);
    return dispatch(s, mc, c, method, url);
}

/* Resolves host into a socket address with the given port. */
static mmsp_err resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, int *family,
                        char *err, size_t errlen)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host, NULL, &hints, &ai);
    if (g || !ai) {
        snprintf(err, errlen, "cannot resolve host '%s': %s", host, gai_strerror(g));
        return MMSP_E_INVALID;
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *family = ai->ai_family;
    if (ai->ai_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    freeaddrinfo(ai);
    return MMSP_OK;
}

mmsp_err http_server_start(const struct http_server_options *opts, struct http_router *router,
                           struct http_server **out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return MMSP_E_NOMEM;
    s->o = *opts;
    s->router = router;
    if (!s->o.host)
        s->o.host = "127.0.0.1";
    if (!s->o.max_body_bytes)
        s->o.max_body_bytes = DEFAULT_MAX_BODY;
    if (!s->o.idle_timeout_s)
        s->o.idle_timeout_s = DEFAULT_IDLE_TIMEOUT;
    if (!s->o.max_connections)
        s->o.max_connections = DEFAULT_MAX_CONNS;
    if (!s->o.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->o.threads = n > 0 ? (unsigned)n : 1;
    }
    if (!s->o.arena_limit)
        s->o.arena_limit = 16 * s->o.max_body_bytes + (16u << 20);
    if (!s->o.max_response_bytes) {
        s->o.max_response_bytes = 4 * s->o.max_body_bytes;
        if (s->o.max_response_bytes < (64u << 20))
            s->o.max_response_bytes = 64u << 20;
    }
    s->max_discard_bytes = 8 * s->o.max_body_bytes;
    if (s->max_discard_bytes < (64u << 20))
        s->max_discard_bytes = 64u << 20;
    atomic_init(&s->inflight, 0);

    struct sockaddr_storage ss;
    int family = AF_INET;
    rc = resolve(s->o.host, s->o.port, &ss, &family, err, errlen);
    if (rc)
        goto out;
    /* ALLOW_SUSPEND_RESUME: handlers may park a request (http_request_suspend) while another
     * thread computes its answer; costs nothing to requests that do not. */
    unsigned flags =
        (s->o.use_poll ? MHD_USE_POLL_INTERNAL_THREAD : MHD_USE_EPOLL_INTERNAL_THREAD) |
        MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* Options as an array so that the thread pool is only asked for when there is more than
     * one thread (libmicrohttpd warns that a pool of 1 is ignored). */
    struct MHD_OptionItem ops[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, s},
        {MHD_OPTION_SOCK_ADDR, 0, &ss},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->o.max_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)s->o.idle_timeout_s, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)on_unescape, s},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        /* The per-connection pool holds the read buffer, the request headers and the response
         * headers; libmicrohttpd zeroes all of it before every keep-alive request, so its size
         * is paid on each request (the default 32 KiB was ~5% of an infer request's CPU). */
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)MHD_POOL_BYTES, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (intptr_t)MHD_POOL_INCREMENT, NULL},
        {MHD_OPTION_END, 0, NULL}, /* replaced by the pool size when threads > 1 */
        {MHD_OPTION_END, 0, NULL},
    };
    if (s->o.threads > 1)
        ops[sizeof ops / sizeof ops[0] - 2] =
            (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)s->o.threads, NULL};
    /* libmicrohttpd's threads inherit the starting thread's policy (glibc's default
     * PTHREAD_INHERIT_SCHED): switch this thread for the start, then switch it back. */
    int policy = SCHED_OTHER;
    struct sched_param param = {0}, batch = {0};
    int switched = s->o.sched_batch &&
                   pthread_getschedparam(pthread_self(), &policy, &param) == 0 &&
                   pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch) == 0;
    if (s->o.sched_batch && !switched) {
        snprintf(err, errlen, "cannot set SCHED_BATCH for the event-loop threads");
        rc = MMSP_E_IO;
        goto out;
    }
    s->daemon = MHD_start_daemon(flags, s->o.port, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, ops,
                                 MHD_OPTION_END);
    if (switched)
        pthread_setschedparam(pthread_self(), policy, &param);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%u: %s", s->o.host, (unsigned)s->o.port,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
        rc = MMSP_E_IO;
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->o.port;
    *out = s;
out:
    if (rc)
        free(s);
    return rc;
}

uint16_t http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_stop(struct http_server *s)
{
    if (!s)
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    uint64_t deadline = http_now_ns() + DRAIN_TIMEOUT_NS;
    while (atomic_load(&s->inflight) > 0 && http_now_ns() < deadline) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->daemon);
    free(s);
}
