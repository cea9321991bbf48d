/*
 * The blocking HTTP client (client.h): one libcurl easy handle per client, reset and reused
 * for every request so libcurl's connection cache keeps keep-alive connections open between
 * requests. Response bodies go into a bounded buffer; transport failures are mapped to mmsp
 * error codes with curl's message. libcurl's global state is initialised once per process.
 * Calls: libcurl, common/buf.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http/client.h"

struct http_client {
    CURL *curl;
    struct http_client_options o;
    long connections;
};

struct sink {
    struct buf *body;
    int too_large;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

mmsp_err http_client_new(const struct http_client_options *o, struct http_client **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(global_rc));
        return MMSP_E_IO;
    }
    struct http_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return MMSP_E_NOMEM;
    }
    if (o)
        c->o = *o;
    if (c->o.timeout_ms <= 0)
        c->o.timeout_ms = 30000;
    if (c->o.connect_timeout_ms <= 0)
        c->o.connect_timeout_ms = 5000;
    if (c->o.max_response_bytes == 0)
        c->o.max_response_bytes = (size_t)64 << 20;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        snprintf(err, errlen, "libcurl: cannot create a handle");
        return MMSP_E_NOMEM;
    }
    *out = c;
    return MMSP_OK;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

long http_client_connections(const struct http_client *c)
{
    return c->connections;
}

void http_client_response_release(struct http_client_response *r)
{
    if (r)
        buf_release(&r->body);
}

/* libcurl write callback: returning less than asked aborts the transfer (CURLE_WRITE_ERROR). */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct sink *s = ctx;
    size_t n = size * nmemb;
    if (buf_append(s->body, data, n) != MMSP_OK) {
        s->too_large = 1;
        return 0;
    }
    return n;
}

static int has_control_char(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static mmsp_err map_curl_error(CURLcode cc, int too_large)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return MMSP_E_UNAVAILABLE;
    case CURLE_OPERATION_TIMEDOUT:
        return MMSP_E_TIMEOUT;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return MMSP_E_INVALID;
    case CURLE_WRITE_ERROR:
        return too_large ? MMSP_E_TOO_LARGE : MMSP_E_IO;
    case CURLE_OUT_OF_MEMORY:
        return MMSP_E_NOMEM;
    default:
        return MMSP_E_IO;
    }
}

mmsp_err http_client_do(struct http_client *c, const struct http_client_request *rq,
                        struct http_client_response *out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct curl_slist *headers = NULL;
    char line[1024];
    char curl_err[CURL_ERROR_SIZE] = "";
    const char *method = rq->method ? rq->method : "GET";
    struct sink sink = {&out->body, 0};

    out->status = 0;
    buf_init(&out->body, c->o.max_response_bytes);
    if (!rq->url || !*rq->url || has_control_char(rq->url) || !*method ||
        has_control_char(method) || strchr(method, ' ')) {
        snprintf(err, errlen, "bad request: empty or invalid URL or method");
        rc = MMSP_E_INVALID;
        goto out;
    }
    if (rq->bearer_token && *rq->bearer_token) {
        if (has_control_char(rq->bearer_token) || strlen(rq->bearer_token) + 32 > sizeof line) {
            snprintf(err, errlen, "%s: the token is too long or holds control characters", rq->url);
            rc = MMSP_E_INVALID;
            goto out;
        }
        snprintf(line, sizeof line, "Authorization: Bearer %s", rq->bearer_token);
        struct curl_slist *h = curl_slist_append(headers, line);
        if (!h) {
            rc = MMSP_E_NOMEM;
            goto nomem;
        }
        headers = h;
    }
    if (rq->body) {
        const char *ct = rq->content_type ? rq->content_type : "application/json";
        if (has_control_char(ct) || strlen(ct) + 16 > sizeof line) {
            snprintf(err, errlen, "%s: bad content type", rq->url);
            rc = MMSP_E_INVALID;
            goto out;
        }
        snprintf(line, sizeof line, "Content-Type: %s", ct);
        struct curl_slist *h = curl_slist_append(headers, line);
        /* No "Expect: 100-continue" round trip before large bodies. */
        struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
        if (!h || !h2) {
            if (h)
                headers = h;
            rc = MMSP_E_NOMEM;
            goto nomem;
        }
        headers = h2;
    }

    CURL *e = c->curl;
    curl_easy_reset(e); /* keeps the connection cache */
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : c->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mmsp");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        int is_post = strcmp(method, "POST") == 0;
        if (rq->body || is_post || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
            /* Content-Length: 0 for a write without a body */
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(rq->body ? rq->body_len : 0));
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        }
        if (!is_post)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }

    CURLcode cc = curl_easy_perform(e);
    long connects = 0;
    if (curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
        c->connections += connects;
    if (cc != CURLE_OK) {
        rc = map_curl_error(cc, sink.too_large);
        if (rc == MMSP_E_TOO_LARGE)
            snprintf(err, errlen, "%s: the response is larger than %zu bytes", rq->url,
                     c->o.max_response_bytes);
        else
            snprintf(err, errlen, "%s: %s", rq->url,
                     curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
    /* An empty body still reads as "" */
    if (!out->body.data && buf_append(&out->body, "", 0) != MMSP_OK) {
        rc = MMSP_E_NOMEM;
        goto nomem;
    }
    goto out;

nomem:
    snprintf(err, errlen, "out of memory");
out:
    curl_slist_free_all(headers);
    if (rc)
        buf_release(&out->body);
    /* The handle must not keep pointers into this call's stack. */
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
    return rc;
}

mmsp_err http_client_escape(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        mmsp_err rc;
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = buf_append_char(b, (char)*p);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = buf_append(b, enc, 3);
        }
        if (rc)
            return rc;
    }
    return MMSP_OK;
}
