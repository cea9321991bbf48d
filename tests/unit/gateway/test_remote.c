/*
 * Unit tests for src/gateway/remote.c (the gateway's remote back end) against two replicas that
 * are real mmsp HTTP servers (src/http) on loopback, whose v2 handlers the test steers (answer,
 * 503, 404, 400, 500, or answer too slowly): the input name comes from the metadata, results
 * are parsed (prediction and probabilities), requests alternate between replicas, a stopped
 * replica is skipped and used again after it returns on its port, 503/404 move on to the other
 * replica, 400 and timeouts are not repeated, and with no replica the error says so. The
 * response parser is also checked on malformed bodies.
 * Calls: gateway/remote, http (server, router), jansson, cmocka.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "gateway/remote.h"
#include "http/http.h"

enum mode { ANSWER, NOT_READY, NOT_LOADED, BAD_INPUT, BROKEN, SLOW };

struct replica {
    struct http_router *router;
    struct http_server *server;
    uint16_t port;
    atomic_int mode;
    atomic_int infers, metas;
    char url[64];
};

static struct replica reps[2];

static mmsp_err on_meta(struct http_request *req, struct http_response *res, void *ctx)
{
    struct replica *r = ctx;
    atomic_fetch_add(&r->metas, 1);
    return buf_printf(&res->body,
                      "{\"name\":\"%s\",\"versions\":[\"%s\"],\"platform\":\"test\",\"inputs\":"
                      "[{\"name\":\"feats\",\"datatype\":\"FP32\",\"shape\":[-1,3]}]}",
                      http_request_param(req, "name"), http_request_param(req, "version"));
}

/* The inference role's config parameters (src/serve/v2.c): feature names; "predict" is not a
 * probability here (the replica sends "probabilities" itself). */
static mmsp_err on_config(struct http_request *req, struct http_response *res, void *ctx)
{
    (void)ctx;
    return buf_printf(&res->body,
                      "{\"name\":\"%s\",\"parameters\":{\"output_is_probability\":{"
                      "\"string_value\":\"false\"},\"feature_names\":{\"string_value\":"
                      "\"a,b,c\"}}}",
                      http_request_param(req, "name"));
}

/* predict = row sums, probabilities = [1 - s/10, s/10], model name echoed. */
static mmsp_err on_infer(struct http_request *req, struct http_response *res, void *ctx)
{
    struct replica *r = ctx;
    atomic_fetch_add(&r->infers, 1);
    switch (atomic_load(&r->mode)) {
    case NOT_READY:
        return http_fail(res, MMSP_E_UNAVAILABLE, "model not ready");
    case NOT_LOADED:
        return http_fail(res, MMSP_E_NOT_FOUND, "unknown model");
    case BAD_INPUT:
        return http_fail(res, MMSP_E_INVALID, "input 'feats' has 2 columns, want 3");
    case BROKEN:
        return http_fail(res, MMSP_E_INTERNAL, "it broke");
    case SLOW:
        usleep(400 * 1000);
        break;
    default:
        break;
    }
    json_t *j = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *in = json_array_get(json_object_get(j, "inputs"), 0);
    json_t *data = json_object_get(in, "data");
    const char *name = json_string_value(json_object_get(in, "name"));
    json_int_t rows = json_integer_value(json_array_get(json_object_get(in, "shape"), 0));
    if (!name || strcmp(name, "feats") != 0 || json_array_size(data) != (size_t)rows * 3) {
        json_decref(j);
        return http_fail(res, MMSP_E_INVALID, "bad request body");
    }
    mmsp_err rc = buf_printf(&res->body, "{\"model_name\":\"%s\",\"outputs\":[",
                             http_request_param(req, "name"));
    struct buf p, q;
    buf_init(&p, 1 << 20);
    buf_init(&q, 1 << 20);
    for (json_int_t i = 0; i < rows && !rc; i++) {
        double s = 0;
        for (int k = 0; k < 3; k++)
            s += json_number_value(json_array_get(data, (size_t)(i * 3 + k)));
        rc = buf_printf(&p, "%s%g", i ? "," : "", s);
        if (!rc)
            rc = buf_printf(&q, "%s%g,%g", i ? "," : "", 1 - s / 10, s / 10);
    }
    if (!rc)
        rc =
            buf_printf(&res->body,
                       "{\"name\":\"label\",\"datatype\":\"INT64\",\"shape\":[%lld],\"data\":[%s]},"
                       "{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[%lld,2],"
                       "\"data\":[%s]},"
                       "{\"name\":\"predict\",\"datatype\":\"FP32\",\"shape\":[%lld],\"data\":[%s]}"
                       "]}",
                       (long long)rows, p.data, (long long)rows, q.data, (long long)rows, p.data);
    buf_release(&p);
    buf_release(&q);
    json_decref(j);
    return rc;
}

static void replica_start(struct replica *r, uint16_t port)
{
    char err[MMSP_ERRMSG_MAX];
    if (!r->router) {
        r->router = http_router_new();
        assert_non_null(r->router);
        assert_int_equal(
            http_router_add(r->router, "GET", "/v2/models/{name}/versions/{version}", on_meta, r),
            MMSP_OK);
        assert_int_equal(http_router_add(r->router, "POST",
                                         "/v2/models/{name}/versions/{version}/infer", on_infer, r),
                         MMSP_OK);
        assert_int_equal(http_router_add(r->router, "GET",
                                         "/v2/models/{name}/versions/{version}/config", on_config,
                                         r),
                         MMSP_OK);
    }
    struct http_server_options o = {.port = port, .threads = 2};
    assert_int_equal(http_server_start(&o, r->router, &r->server, err, sizeof err), MMSP_OK);
    r->port = http_server_port(r->server);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%u", r->port);
}

static void replica_stop(struct replica *r)
{
    http_server_stop(r->server);
    r->server = NULL;
}

static int setup(void **state)
{
    (void)state;
    memset(reps, 0, sizeof reps);
    replica_start(&reps[0], 0);
    replica_start(&reps[1], 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        http_server_stop(reps[i].server);
        http_router_free(reps[i].router);
    }
    return 0;
}

static struct gateway_backend *backend(unsigned backoff_ms)
{
    const char *urls[2] = {reps[0].url, reps[1].url};
    struct gateway_remote_options o = {.urls = urls, .n_urls = 2, .backoff_ms = backoff_ms};
    struct gateway_backend *b = NULL;
    char err[MMSP_ERRMSG_MAX] = "";
    assert_int_equal(gateway_backend_remote(&o, &b, err, sizeof err), MMSP_OK);
    assert_string_equal(b->ops->name, "remote");
    return b;
}

static float rows_in[2][3] = {{1, 2, 3}, {0.5f, 0.25f, -1}};
static const mmsp_tensor input = {
    .dtype = MMSP_DT_FP32, .ndim = 2, .shape = {2, 3}, .data = rows_in, .nbytes = sizeof rows_in};

static mmsp_err infer(struct gateway_backend *b, unsigned timeout_ms, struct gateway_result *r,
                      char *err, size_t errlen)
{
    return b->ops->infer(b, "fraud@staging", 3, &input, timeout_ms, r, err, errlen);
}

static void expect_answer(struct gateway_backend *b)
{
    struct gateway_result r;
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = infer(b, 2000, &r, err, sizeof err);
    if (rc)
        fail_msg("infer: %s: %s", mmsp_err_name(rc), err);
    assert_int_equal(r.prediction.ndim, 1);
    assert_int_equal(r.prediction.shape[0], 2);
    const float *p = r.prediction.data;
    assert_true(p[0] == 6.0f && p[1] == -0.25f);
    assert_int_equal(r.probabilities.ndim, 2);
    assert_int_equal(r.probabilities.shape[1], 2);
    const float *q = r.probabilities.data;
    assert_true(q[1] > 0.59f && q[1] < 0.61f);
    gateway_result_free(&r);
}

static int total_infers(void)
{
    return atomic_load(&reps[0].infers) + atomic_load(&reps[1].infers);
}

static void test_round_robin(void **state)
{
    (void)state;
    struct gateway_backend *b = backend(0);
    for (int i = 0; i < 10; i++)
        expect_answer(b);
    /* One metadata fetch for (fraud@staging, 3), then alternating replicas. */
    assert_int_equal(atomic_load(&reps[0].metas) + atomic_load(&reps[1].metas), 1);
    assert_int_equal(atomic_load(&reps[0].infers), 5);
    assert_int_equal(atomic_load(&reps[1].infers), 5);
    /* Keep-alive: one connection per replica, reused by the metadata and every request. */
    assert_int_equal(gateway_remote_connections(b), 2);
    for (int i = 0; i < 40; i++)
        expect_answer(b);
    assert_int_equal(gateway_remote_connections(b), 2);
    char *names[4];
    size_t n = 9;
    char err[MMSP_ERRMSG_MAX] = "";
    assert_int_equal(b->ops->feature_names(b, "fraud@staging", 3, names, 4, &n, err, sizeof err),
                     MMSP_OK);
    assert_int_equal(n, 3); /* from the config's parameters */
    assert_string_equal(names[0], "a");
    assert_string_equal(names[2], "c");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    /* more names than room: refused */
    assert_int_equal(b->ops->feature_names(b, "fraud@staging", 3, names, 2, &n, err, sizeof err),
                     MMSP_E_TOO_LARGE);
    b->ops->free(b);
}

static void test_failover_and_return(void **state)
{
    (void)state;
    struct gateway_backend *b = backend(20);
    expect_answer(b);
    uint16_t port0 = reps[0].port;
    replica_stop(&reps[0]);
    /* Every request still succeeds: a refused connection moves on to replica 1. */
    for (int i = 0; i < 20; i++)
        expect_answer(b);
    int before = atomic_load(&reps[0].infers);
    replica_start(&reps[0], port0);
    /* After its back-off a probe reaches it again (bounded wait: 10 s). */
    int back = 0;
    for (int i = 0; i < 1000 && !back; i++) {
        expect_answer(b);
        back = atomic_load(&reps[0].infers) > before;
        if (!back)
            usleep(10 * 1000);
    }
    assert_true(back);
    /* Up again: round-robin resumes. */
    int a0 = atomic_load(&reps[0].infers), a1 = atomic_load(&reps[1].infers);
    for (int i = 0; i < 10; i++)
        expect_answer(b);
    assert_int_equal(atomic_load(&reps[0].infers) - a0, 5);
    assert_int_equal(atomic_load(&reps[1].infers) - a1, 5);
    b->ops->free(b);
}

static void test_all_down(void **state)
{
    (void)state;
    struct gateway_backend *b = backend(0);
    expect_answer(b); /* metadata cached */
    replica_stop(&reps[0]);
    replica_stop(&reps[1]);
    struct gateway_result r;
    char err[MMSP_ERRMSG_MAX] = "";
    assert_int_equal(infer(b, 2000, &r, err, sizeof err), MMSP_E_UNAVAILABLE);
    assert_non_null(strstr(err, "no inference replica answered (tried 2 of 2)"));
    assert_null(r.prediction.data);
    /* Both backing off now: refused without trying. */
    assert_int_equal(infer(b, 2000, &r, err, sizeof err), MMSP_E_UNAVAILABLE);
    assert_non_null(strstr(err, "no inference replica answered"));
    b->ops->free(b);
    replica_start(&reps[0], 0);
    replica_start(&reps[1], 0);
}

static void test_not_ready_moves_on(void **state)
{
    (void)state;
    struct gateway_backend *b = backend(0);
    expect_answer(b);
    atomic_store(&reps[0].mode, NOT_READY);
    atomic_store(&reps[1].mode, ANSWER);
    for (int i = 0; i < 6; i++)
        expect_answer(b);
    atomic_store(&reps[0].mode, NOT_LOADED);
    for (int i = 0; i < 6; i++)
        expect_answer(b);
    atomic_store(&reps[1].mode, NOT_LOADED);
    struct gateway_result r;
    char err[MMSP_ERRMSG_MAX] = "";
    assert_int_equal(infer(b, 2000, &r, err, sizeof err), MMSP_E_UNAVAILABLE);
    assert_non_null(strstr(err, "unknown model"));
    atomic_store(&reps[0].mode, ANSWER);
    atomic_store(&reps[1].mode, ANSWER);
    b->ops->free(b);
}

static void test_errors_not_repeated(void **state)
{
    (void)state;
    struct gateway_backend *b = backend(0);
    expect_answer(b);
    struct gateway_result r;
    char err[MMSP_ERRMSG_MAX] = "";
    atomic_store(&reps[0].mode, BAD_INPUT);
    atomic_store(&reps[1].mode, BAD_INPUT);
    int before = total_infers();
    assert_int_equal(infer(b, 2000, &r, err, sizeof err), MMSP_E_INVALID);
    assert_non_null(strstr(err, "input 'feats' has 2 columns"));
    assert_int_equal(total_infers(), before + 1);

    atomic_store(&reps[0].mode, BROKEN);
    atomic_store(&reps[1].mode, BROKEN);
    before = total_infers();
    assert_int_equal(infer(b, 2000, &r, err, sizeof err), MMSP_E_INTERNAL);
    assert_non_null(strstr(err, "it broke"));
    assert_int_equal(total_infers(), before + 1);
    b->ops->free(b);

    /* A timeout may have run the model: reported, not repeated on the other replica. */
    b = backend(0);
    atomic_store(&reps[0].mode, ANSWER);
    atomic_store(&reps[1].mode, ANSWER);
    expect_answer(b);
    atomic_store(&reps[0].mode, SLOW);
    atomic_store(&reps[1].mode, SLOW);
    before = total_infers();
    assert_int_equal(infer(b, 100, &r, err, sizeof err), MMSP_E_TIMEOUT);
    assert_int_equal(total_infers(), before + 1);
    atomic_store(&reps[0].mode, ANSWER);
    atomic_store(&reps[1].mode, ANSWER);
    b->ops->free(b);
}

static void test_bad_options(void **state)
{
    (void)state;
    struct gateway_backend *b = NULL;
    char err[MMSP_ERRMSG_MAX] = "";
    struct gateway_remote_options o = {0};
    assert_int_equal(gateway_backend_remote(&o, &b, err, sizeof err), MMSP_E_INVALID);
    const char *bad[1] = {"ftp://x"};
    o = (struct gateway_remote_options){.urls = bad, .n_urls = 1};
    assert_int_equal(gateway_backend_remote(&o, &b, err, sizeof err), MMSP_E_INVALID);
    assert_non_null(strstr(err, "ftp://x"));
    assert_null(b);
}

static void test_parse_response(void **state)
{
    (void)state;
    struct gateway_result r;
    char err[MMSP_ERRMSG_MAX];
    const char *ok = "{\"outputs\":[{\"name\":\"out\",\"shape\":[2,1],\"data\":[1,true]}]}";
    assert_int_equal(gateway_remote_parse_response(ok, strlen(ok), &r, err, sizeof err), MMSP_OK);
    assert_int_equal(r.prediction.ndim, 2);
    assert_true(((float *)r.prediction.data)[1] == 1.0f);
    assert_null(r.probabilities.data);
    gateway_result_free(&r);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"outputs\":[]}",
        "{\"outputs\":[{\"shape\":[3],\"data\":[1,2]}]}",
        "{\"outputs\":[{\"shape\":[-1],\"data\":[]}]}",
        "{\"outputs\":[{\"shape\":[4294967296,4294967296],\"data\":[]}]}",
        "{\"outputs\":[{\"shape\":[1],\"data\":[\"x\"]}]}",
        "{\"outputs\":[{\"data\":[1]}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(gateway_remote_parse_response(bad[i], strlen(bad[i]), &r, err, sizeof err),
                         MMSP_E_PARSE);
        assert_true(err[0]);
        assert_null(r.prediction.data);
    }
}

/* Probabilities from a "predict" that holds them, as the in-process back end computes. */
static void test_probabilities(void **state)
{
    (void)state;
    float bin[3] = {0.25f, 0.5f, 1.0f}, soft[4] = {0.1f, 0.9f, 0.7f, 0.3f};
    mmsp_tensor p = {.dtype = MMSP_DT_FP32,
                     .ndim = 1,
                     .shape = {3},
                     .data = bin,
                     .nbytes = sizeof bin},
                out = {0};
    assert_int_equal(gateway_remote_probabilities(&p, &out), MMSP_OK);
    assert_int_equal(out.ndim, 2);
    assert_int_equal(out.shape[0], 3);
    assert_int_equal(out.shape[1], 2);
    const float *d = out.data;
    assert_float_equal(d[0], 0.75, 1e-7);
    assert_float_equal(d[1], 0.25, 1e-7);
    assert_float_equal(d[5], 1.0, 1e-7);
    free(out.data);
    p = (mmsp_tensor){
        .dtype = MMSP_DT_FP32, .ndim = 2, .shape = {2, 2}, .data = soft, .nbytes = sizeof soft};
    assert_int_equal(gateway_remote_probabilities(&p, &out), MMSP_OK);
    assert_int_equal(out.shape[1], 2);
    assert_float_equal(((const float *)out.data)[2], 0.7, 1e-7);
    free(out.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_failover_and_return),
        cmocka_unit_test(test_all_down),
        cmocka_unit_test(test_not_ready_moves_on),
        cmocka_unit_test(test_errors_not_repeated),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_parse_response),
        cmocka_unit_test(test_probabilities),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
