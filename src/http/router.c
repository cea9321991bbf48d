/*
 * The router of the HTTP wrapper (see http.h): a flat list of (method, pattern, handler)
 * matched segment by segment, with no allocation while matching. Calls only libc and
 * common/arena. http_router_match is used by server.c.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/router.h"

#define MAX_PATH_SEGS 32 /* segments of a pattern; longer paths match nothing */

struct segment {
    char *literal; /* whole segment when !is_param, else the suffix after "}" ("" = none) */
    size_t literal_len;
    char *param; /* parameter name when is_param */
    int is_param;
};

struct route {
    char *method;
    char *pattern;
    struct segment *segs;
    size_t n_segs;
    http_handler_fn fn;
    void *ctx;
};

struct http_router {
    struct route *routes;
    size_t n, cap;
};

struct http_router *http_router_new(void)
{
    return calloc(1, sizeof(struct http_router));
}

static void route_release(struct route *rt)
{
    for (size_t i = 0; i < rt->n_segs; i++) {
        free(rt->segs[i].literal);
        free(rt->segs[i].param);
    }
    free(rt->segs);
    free(rt->method);
    free(rt->pattern);
}

void http_router_free(struct http_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        route_release(&r->routes[i]);
    free(r->routes);
    free(r);
}

/* Splits "/a/{b}:c" into segments. */
static mmsp_err parse_pattern(const char *pattern, struct route *rt)
{
    mmsp_err rc = MMSP_OK;
    if (pattern[0] != '/')
        return MMSP_E_INVALID;
    size_t n = 0;
    for (const char *p = pattern; *p; p++)
        n += *p == '/';
    if (n > MAX_PATH_SEGS)
        return MMSP_E_INVALID;
    rt->segs = calloc(n, sizeof *rt->segs);
    if (!rt->segs)
        return MMSP_E_NOMEM;
    const char *p = pattern + 1;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct segment *s = &rt->segs[i];
        rt->n_segs = i + 1;
        if (len > 0 && p[0] == '{') {
            const char *close = memchr(p, '}', len);
            if (!close || close == p + 1) {
                rc = MMSP_E_INVALID;
                goto out;
            }
            s->is_param = 1;
            s->param = strndup(p + 1, (size_t)(close - p - 1));
            s->literal = strndup(close + 1, len - (size_t)(close - p) - 1);
        } else {
            s->literal = strndup(p, len);
        }
        if (!s->literal || (s->is_param && !s->param)) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        s->literal_len = strlen(s->literal);
        p += len + 1;
    }
out:
    return rc;
}

mmsp_err http_router_add(struct http_router *r, const char *method, const char *pattern,
                         http_handler_fn fn, void *ctx)
{
    mmsp_err rc = MMSP_OK;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        struct route *routes = realloc(r->routes, cap * sizeof *routes);
        if (!routes)
            return MMSP_E_NOMEM;
        r->routes = routes;
        r->cap = cap;
    }
    struct route *rt = &r->routes[r->n];
    memset(rt, 0, sizeof *rt);
    rt->fn = fn;
    rt->ctx = ctx;
    rt->method = strdup(method);
    rt->pattern = strdup(pattern);
    if (!rt->method || !rt->pattern) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    rc = parse_pattern(pattern, rt);
out:
    if (rc)
        route_release(rt);
    else
        r->n++;
    return rc;
}

/* The path cut at its slashes once per request, so that each route is compared segment by
 * segment without rescanning the path (a route with another segment count is skipped at once). */
struct path_segs {
    const char *start[MAX_PATH_SEGS];
    size_t len[MAX_PATH_SEGS];
    size_t n;
};

/* 0 when the path does not start with '/' or has more segments than any route may have. */
static int split_path(const char *path, struct path_segs *ps)
{
    if (path[0] != '/')
        return 0;
    const char *p = path + 1;
    ps->n = 0;
    for (;;) {
        if (ps->n == MAX_PATH_SEGS)
            return 0;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        ps->start[ps->n] = p;
        ps->len[ps->n] = len;
        ps->n++;
        if (!end)
            return 1;
        p = end + 1;
    }
}

/*
 * Matches the split path against rt. On success returns the literal score (bytes of literal
 * text matched, so "/v1/models/{name}:predict" beats "/v1/models/{name}") and fills the param
 * offsets; returns -1 when it does not match.
 */
static long match_route(const struct route *rt, const char *path, const struct path_segs *ps,
                        size_t *off, size_t *len)
{
    if (rt->n_segs != ps->n)
        return -1;
    long score = 0;
    size_t np = 0;
    for (size_t i = 0; i < rt->n_segs; i++) {
        const char *p = ps->start[i];
        size_t seg_len = ps->len[i];
        const struct segment *s = &rt->segs[i];
        if (s->is_param) {
            if (seg_len <= s->literal_len ||
                memcmp(p + seg_len - s->literal_len, s->literal, s->literal_len) != 0)
                return -1;
            if (np < HTTP_MAX_PARAMS) {
                off[np] = (size_t)(p - path);
                len[np] = seg_len - s->literal_len;
                np++;
            }
            score += (long)s->literal_len;
        } else {
            if (seg_len != s->literal_len || (seg_len && p[0] != s->literal[0]) ||
                memcmp(p, s->literal, seg_len) != 0)
                return -1;
            score += (long)seg_len + 1;
        }
    }
    return score;
}

mmsp_err http_router_match(const struct http_router *r, const char *method, const char *path,
                           struct http_request *req, http_handler_fn *fn, void **ctx,
                           struct buf *allow)
{
    const struct route *winner = NULL;
    size_t off[HTTP_MAX_PARAMS], len[HTTP_MAX_PARAMS];
    size_t woff[HTTP_MAX_PARAMS], wlen[HTTP_MAX_PARAMS];
    long path_best = -1;
    struct path_segs ps;
    if (!split_path(path, &ps))
        return MMSP_E_NOT_FOUND;
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    /* One pass: the best literal score over all methods decides which resource the path
     * names; the winner is the first route with that score and this method. */
    for (size_t i = 0; i < r->n; i++) {
        const struct route *rt = &r->routes[i];
        long s = match_route(rt, path, &ps, off, len);
        if (s < 0 || s < path_best)
            continue;
        if (s > path_best) {
            path_best = s;
            winner = NULL;
        }
        if (!winner && strcmp(rt->method, method) == 0) {
            winner = rt;
            memcpy(woff, off, sizeof off);
            memcpy(wlen, len, sizeof len);
        }
    }
    if (path_best < 0)
        return MMSP_E_NOT_FOUND;
    if (!winner) {
        /* 405: list the methods this path accepts. */
        buf_reset(allow);
        for (size_t i = 0; i < r->n; i++) {
            const struct route *rt = &r->routes[i];
            if (match_route(rt, path, &ps, off, len) != path_best)
                continue;
            if (allow->len && buf_append_str(allow, ", "))
                break;
            if (buf_append_str(allow, rt->method))
                break;
        }
        return MMSP_E_METHOD;
    }
    req->n_params = 0;
    for (size_t i = 0; i < winner->n_segs && req->n_params < HTTP_MAX_PARAMS; i++) {
        if (!winner->segs[i].is_param)
            continue;
        size_t k = req->n_params;
        char *v = arena_strndup(req->arena, path + woff[k], wlen[k]);
        if (!v)
            return MMSP_E_NOMEM;
        req->param_names[k] = winner->segs[i].param;
        req->param_values[k] = v;
        req->n_params++;
    }
    *fn = winner->fn;
    *ctx = winner->ctx;
    return MMSP_OK;
}

const char *http_request_param(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->param_names[i], name) == 0)
            return req->param_values[i];
    return NULL;
}
