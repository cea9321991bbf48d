/*
 * Unit tests for src/http/client (the blocking libcurl client) against the real mmsp HTTP
 * server of the same module on loopback: methods, bodies and the bearer token arrive as sent,
 * statuses pass through, keep-alive reuses one connection, a response above the ceiling is
 * MMSP_E_TOO_LARGE (and the client still works after), a refused connection is
 * MMSP_E_UNAVAILABLE, a server that never answers is MMSP_E_TIMEOUT, bad input is
 * MMSP_E_INVALID, and percent-encoding follows RFC 3986.
 * Calls: http/client, http (server, router), jansson.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "http/client.h"
#include "http/http.h"

struct fixture {
    struct http_router *router;
    struct http_server *server;
    char base[64];
    /* the blocking handler waits until released */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int released;
};

/* Echoes the request: {"method", "auth", "body", "ct", "q"}. */
static mmsp_err on_echo(struct http_request *req, struct http_response *res, void *ctx)
{
    (void)ctx;
    const char *auth = http_request_header(req, "Authorization");
    const char *ct = http_request_header(req, "Content-Type");
    const char *q = http_request_query(req, "q");
    json_t *o = json_pack("{s:s, s:s?, s:s%, s:s?, s:s?}", "method", req->method, "auth", auth,
                          "body", req->body, req->body_len, "ct", ct, "q", q);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return http_fail(res, MMSP_E_NOMEM, "out of memory");
    mmsp_err rc = buf_append_str(&res->body, text);
    free(text);
    return rc;
}

static mmsp_err on_teapot(struct http_request *req, struct http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    return http_fail(res, MMSP_E_CONFLICT, "busy");
}

static mmsp_err on_big(struct http_request *req, struct http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    res->content_type = "text/plain";
    for (int i = 0; i < 100000; i++) {
        mmsp_err rc = buf_append_char(&res->body, 'x');
        if (rc)
            return rc;
    }
    return MMSP_OK;
}

static mmsp_err on_block(struct http_request *req, struct http_response *res, void *ctx)
{
    (void)req;
    struct fixture *f = ctx;
    pthread_mutex_lock(&f->mu);
    while (!f->released)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    return buf_append_str(&res->body, "{}");
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->router = http_router_new();
    assert_non_null(f->router);
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(http_router_add(f->router, methods[i], "/echo/{x}", on_echo, f), MMSP_OK);
    assert_int_equal(http_router_add(f->router, "POST", "/teapot", on_teapot, f), MMSP_OK);
    assert_int_equal(http_router_add(f->router, "GET", "/big", on_big, f), MMSP_OK);
    assert_int_equal(http_router_add(f->router, "GET", "/block", on_block, f), MMSP_OK);
    struct http_server_options o = {.host = "127.0.0.1", .port = 0, .threads = 2};
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(http_server_start(&o, f->router, &f->server, err, sizeof err), MMSP_OK);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", http_server_port(f->server));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pthread_mutex_lock(&f->mu);
    f->released = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    http_server_stop(f->server);
    http_router_free(f->router);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static json_t *do_json(struct http_client *c, const struct http_client_request *rq, long *status)
{
    struct http_client_response res;
    char err[MMSP_ERRMSG_MAX];
    mmsp_err rc = http_client_do(c, rq, &res, err, sizeof err);
    if (rc)
        fprintf(stderr, "http_client_do: %s\n", err);
    assert_int_equal(rc, MMSP_OK);
    *status = res.status;
    json_error_t je;
    json_t *o = json_loadb(res.body.data, res.body.len, 0, &je);
    http_client_response_release(&res);
    assert_non_null(o);
    return o;
}

static void test_methods_body_token(void **state)
{
    struct fixture *f = *state;
    struct http_client *c;
    char err[MMSP_ERRMSG_MAX], url[128];
    assert_int_equal(http_client_new(NULL, &c, err, sizeof err), MMSP_OK);
    long status;

    snprintf(url, sizeof url, "%s/echo/a?q=%s", f->base, "x%20y");
    struct http_client_request get = {.url = url};
    json_t *o = do_json(c, &get, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(o, "method")), "GET");
    assert_true(json_is_null(json_object_get(o, "auth")));
    assert_string_equal(json_string_value(json_object_get(o, "q")), "x y");
    json_decref(o);

    const char *body = "{\"k\":[1,2,3]}";
    struct http_client_request post = {.method = "POST",
                                       .url = url,
                                       .bearer_token = "s3cret",
                                       .body = body,
                                       .body_len = strlen(body)};
    o = do_json(c, &post, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(o, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(o, "auth")), "Bearer s3cret");
    assert_string_equal(json_string_value(json_object_get(o, "body")), body);
    assert_string_equal(json_string_value(json_object_get(o, "ct")), "application/json");
    json_decref(o);

    struct http_client_request put = {
        .method = "PUT", .url = url, .body = "v=1", .body_len = 3, .content_type = "text/plain"};
    o = do_json(c, &put, &status);
    assert_string_equal(json_string_value(json_object_get(o, "method")), "PUT");
    assert_string_equal(json_string_value(json_object_get(o, "body")), "v=1");
    assert_string_equal(json_string_value(json_object_get(o, "ct")), "text/plain");
    json_decref(o);

    struct http_client_request del = {.method = "DELETE", .url = url};
    o = do_json(c, &del, &status);
    assert_string_equal(json_string_value(json_object_get(o, "method")), "DELETE");
    assert_string_equal(json_string_value(json_object_get(o, "body")), "");
    json_decref(o);

    /* A POST without a body still works (Content-Length: 0). */
    struct http_client_request empty = {.method = "POST", .url = url};
    o = do_json(c, &empty, &status);
    assert_string_equal(json_string_value(json_object_get(o, "body")), "");
    json_decref(o);
    http_client_free(c);
}

static void test_error_statuses_pass_through(void **state)
{
    struct fixture *f = *state;
    struct http_client *c;
    char err[MMSP_ERRMSG_MAX], url[128];
    assert_int_equal(http_client_new(NULL, &c, err, sizeof err), MMSP_OK);
    long status;
    snprintf(url, sizeof url, "%s/teapot", f->base);
    struct http_client_request rq = {.method = "POST", .url = url};
    json_t *o = do_json(c, &rq, &status);
    assert_int_equal(status, 409);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "busy");
    json_decref(o);
    snprintf(url, sizeof url, "%s/nowhere", f->base);
    rq.method = "GET";
    o = do_json(c, &rq, &status);
    assert_int_equal(status, 404);
    json_decref(o);
    http_client_free(c);
}

static void test_keep_alive_reuses_one_connection(void **state)
{
    struct fixture *f = *state;
    struct http_client *c;
    char err[MMSP_ERRMSG_MAX], url[128];
    assert_int_equal(http_client_new(NULL, &c, err, sizeof err), MMSP_OK);
    snprintf(url, sizeof url, "%s/echo/k", f->base);
    for (int i = 0; i < 20; i++) {
        long status;
        struct http_client_request rq = {.method = i % 2 ? "POST" : "GET",
                                         .url = url,
                                         .body = i % 2 ? "{}" : NULL,
                                         .body_len = i % 2 ? 2 : 0};
        json_decref(do_json(c, &rq, &status));
        assert_int_equal(status, 200);
    }
    assert_int_equal(http_client_connections(c), 1);
    http_client_free(c);
}

static void test_response_ceiling(void **state)
{
    struct fixture *f = *state;
    struct http_client *c;
    char err[MMSP_ERRMSG_MAX], url[128];
    struct http_client_options o = {.max_response_bytes = 10000};
    assert_int_equal(http_client_new(&o, &c, err, sizeof err), MMSP_OK);
    snprintf(url, sizeof url, "%s/big", f->base);
    struct http_client_request rq = {.url = url};
    struct http_client_response res;
    assert_int_equal(http_client_do(c, &rq, &res, err, sizeof err), MMSP_E_TOO_LARGE);
    assert_non_null(strstr(err, "larger than 10000 bytes"));
    /* the client is still usable */
    snprintf(url, sizeof url, "%s/echo/after", f->base);
    long status;
    json_decref(do_json(c, &rq, &status));
    assert_int_equal(status, 200);
    http_client_free(c);

    /* with the default ceiling the whole body arrives */
    assert_int_equal(http_client_new(NULL, &c, err, sizeof err), MMSP_OK);
    snprintf(url, sizeof url, "%s/big", f->base);
    assert_int_equal(http_client_do(c, &rq, &res, err, sizeof err), MMSP_OK);
    assert_int_equal(res.body.len, 100000);
    http_client_response_release(&res);
    http_client_free(c);
}

static void test_connection_refused(void **state)
{
    (void)state;
    /* A bound socket that does not listen: connecting to it is refused, deterministically. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char url[128], err[MMSP_ERRMSG_MAX];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", ntohs(a.sin_port));
    struct http_client *c;
    assert_int_equal(http_client_new(NULL, &c, err, sizeof err), MMSP_OK);
    struct http_client_request rq = {.url = url};
    struct http_client_response res;
    assert_int_equal(http_client_do(c, &rq, &res, err, sizeof err), MMSP_E_UNAVAILABLE);
    assert_non_null(strstr(err, url));
    http_client_free(c);
    close(fd);
}

static void test_timeout(void **state)
{
    struct fixture *f = *state;
    struct http_client *c;
    char err[MMSP_ERRMSG_MAX], url[128];
    assert_int_equal(http_client_new(NULL, &c, err, sizeof err), MMSP_OK);
    snprintf(url, sizeof url, "%s/block", f->base);
    /* The handler never answers until released, so only the timeout can end this. */
    struct http_client_request rq = {.url = url, .timeout_ms = 200};
    struct http_client_response res;
    assert_int_equal(http_client_do(c, &rq, &res, err, sizeof err), MMSP_E_TIMEOUT);
    http_client_free(c);
    pthread_mutex_lock(&f->mu);
    f->released = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    struct http_client *c;
    char err[MMSP_ERRMSG_MAX], url[128];
    assert_int_equal(http_client_new(NULL, &c, err, sizeof err), MMSP_OK);
    struct http_client_response res;
    struct http_client_request rq = {.url = "ftp://127.0.0.1/x"};
    assert_int_equal(http_client_do(c, &rq, &res, err, sizeof err), MMSP_E_INVALID);
    rq.url = "";
    assert_int_equal(http_client_do(c, &rq, &res, err, sizeof err), MMSP_E_INVALID);
    snprintf(url, sizeof url, "%s/echo/x", f->base);
    rq.url = url;
    rq.bearer_token = "abc\r\nX-Injected: 1";
    assert_int_equal(http_client_do(c, &rq, &res, err, sizeof err), MMSP_E_INVALID);
    rq.bearer_token = NULL;
    rq.method = "GE T";
    assert_int_equal(http_client_do(c, &rq, &res, err, sizeof err), MMSP_E_INVALID);
    http_client_free(c);
    http_client_free(NULL);
}

static void test_escape(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(http_client_escape(&b, "a-Z_0.~"), MMSP_OK);
    assert_string_equal(b.data, "a-Z_0.~");
    buf_reset(&b);
    assert_int_equal(http_client_escape(&b, "a b/c?d&e=f%\xc3\xa9"), MMSP_OK);
    assert_string_equal(b.data, "a%20b%2Fc%3Fd%26e%3Df%25%C3%A9");
    buf_release(&b);
    struct buf small;
    buf_init(&small, 4);
    assert_int_equal(http_client_escape(&small, "////"), MMSP_E_TOO_LARGE);
    buf_release(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_methods_body_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_statuses_pass_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive_reuses_one_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_ceiling, setup, teardown),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
