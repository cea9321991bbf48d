/*
 * Unit tests for the gateway's routing and /predict body (src/gateway/route.c, predict.c):
 * cohort stickiness as the canary weight grows 10 -> 25 -> 50, weights 0 and 100 exact,
 * the split of cohort keys and of keyless random routing within loose bounds, the parser's
 * accepted and refused bodies, named features ordering, and the shadow difference.
 * Calls: gateway (route.c, predict.c), common/arena.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/json.h"
#include "gateway/gateway_internal.h"

#define USERS 20000

static void test_sticky_cohorts(void **state)
{
    (void)state;
    char key[32];
    int in10 = 0, in25 = 0, in50 = 0;
    for (int u = 0; u < USERS; u++) {
        int n = snprintf(key, sizeof key, "user-%d", u);
        int c10 = gateway_route_canary("fraud", key, (size_t)n, 10);
        int c25 = gateway_route_canary("fraud", key, (size_t)n, 25);
        int c50 = gateway_route_canary("fraud", key, (size_t)n, 50);
        /* Once in the canary, a user stays there as the weight grows. */
        if (c10)
            assert_true(c25);
        if (c25)
            assert_true(c50);
        /* The same key always gets the same answer. */
        assert_int_equal(c25, gateway_route_canary("fraud", key, (size_t)n, 25));
        in10 += c10;
        in25 += c25;
        in50 += c50;
    }
    /* Loose bounds on the share (a hash, not a coin: deterministic for these keys). */
    assert_in_range(in10, USERS * 8 / 100, USERS * 12 / 100);
    assert_in_range(in25, USERS * 22 / 100, USERS * 28 / 100);
    assert_in_range(in50, USERS * 46 / 100, USERS * 54 / 100);
}

static void test_cohort_depends_on_deployment(void **state)
{
    (void)state;
    /* Different deployments split the same users differently. */
    int same = 0;
    char key[32];
    for (int u = 0; u < 1000; u++) {
        int n = snprintf(key, sizeof key, "u%d", u);
        same += gateway_cohort_bucket("a", key, (size_t)n) ==
                gateway_cohort_bucket("b", key, (size_t)n);
        assert_true(gateway_cohort_bucket("a", key, (size_t)n) < GATEWAY_COHORT_BUCKETS);
    }
    assert_true(same < 50);
}

static void test_weight_bounds_exact(void **state)
{
    (void)state;
    char key[32];
    for (int u = 0; u < 5000; u++) {
        int n = snprintf(key, sizeof key, "%d", u);
        assert_int_equal(gateway_route_canary("d", key, (size_t)n, 0), 0);
        assert_int_equal(gateway_route_canary("d", key, (size_t)n, 100), 1);
        assert_int_equal(gateway_route_canary("d", NULL, 0, 0), 0);
        assert_int_equal(gateway_route_canary("d", NULL, 0, 100), 1);
        assert_int_equal(gateway_route_canary("d", NULL, 0, -5), 0);
        assert_int_equal(gateway_route_canary("d", NULL, 0, 250), 1);
    }
}

static void test_random_distribution(void **state)
{
    (void)state;
    int canary = 0, n = 100000;
    for (int i = 0; i < n; i++)
        canary += gateway_route_canary("d", NULL, 0, 10);
    /* 10 % of 100000: the standard deviation is ~95, so +-1000 cannot fail by chance. */
    assert_in_range(canary, 9000, 11000);
    uint64_t a = gateway_random(), b = gateway_random();
    assert_true(a != b);
}

static mmsp_err parse(struct arena *a, const char *body, struct gateway_request *r, char *err)
{
    return gateway_request_parse(a, body, strlen(body), r, err, MMSP_ERRMSG_MAX);
}

static void test_parse_inputs(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    struct gateway_request r;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(parse(&a,
                           "{\"deployment\":\"fraud\",\"inputs\":[[1,2,3],[4,5,null]],"
                           "\"id\":\"r1\",\"entity_id\":42}",
                           &r, err),
                     MMSP_OK);
    assert_string_equal(r.deployment, "fraud");
    assert_string_equal(r.id, "r1");
    assert_string_equal(r.entity_id, "42");
    assert_int_equal(r.inputs.shape[0], 2);
    assert_int_equal(r.inputs.shape[1], 3);
    const float *x = r.inputs.data;
    assert_true(x[3] == 4.0f && x[5] != x[5]); /* null = NaN (missing) */
    /* A flat list is one row. */
    assert_int_equal(parse(&a, "{\"deployment\":\"d\",\"inputs\":[1,2]}", &r, err), MMSP_OK);
    assert_int_equal(r.inputs.shape[0], 1);
    assert_int_equal(r.inputs.shape[1], 2);
    /* No "deployment": the simple API's body, handed on. */
    assert_int_equal(parse(&a, "{\"instances\":[[1]]}", &r, err), MMSP_OK);
    assert_null(r.deployment);
    arena_release(&a);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[1]",
        "{\"deployment\":1,\"inputs\":[[1]]}",
        "{\"deployment\":\"\",\"inputs\":[[1]]}",
        "{\"deployment\":\"d\"}",
        "{\"deployment\":\"d\",\"inputs\":[[1]],\"features\":{\"a\":1}}",
        "{\"deployment\":\"d\",\"inputs\":[]}",
        "{\"deployment\":\"d\",\"inputs\":[[]]}",
        "{\"deployment\":\"d\",\"inputs\":[[1,2],[3]]}",
        "{\"deployment\":\"d\",\"inputs\":[[1,\"x\"]]}",
        "{\"deployment\":\"d\",\"inputs\":[[1],2]}",
        "{\"deployment\":\"d\",\"features\":[1]}",
        "{\"deployment\":\"d\",\"features\":{}}",
        "{\"deployment\":\"d\",\"inputs\":[[1]],\"id\":5}",
        "{\"deployment\":\"d\",\"inputs\":[[1]],\"entity_id\":1.5}",
        "{\"deployment\":\"d\",\"inputs\":[[1]]",
    };
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gateway_request r;
        char err[MMSP_ERRMSG_MAX] = "";
        assert_int_not_equal(parse(&a, bad[i], &r, err), MMSP_OK);
        assert_true(err[0] != '\0');
    }
    arena_release(&a);
}

static void test_features_row(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    struct gateway_request r;
    char err[MMSP_ERRMSG_MAX];
    char *names[3] = {"amount", "age", "hour"};
    mmsp_tensor x;
    assert_int_equal(
        parse(&a, "{\"deployment\":\"d\",\"features\":{\"hour\":3,\"amount\":10.5,\"age\":40}}", &r,
              err),
        MMSP_OK);
    assert_int_equal(gateway_features_row(&a, r.features, names, 3, &x, err, sizeof err), MMSP_OK);
    const float *v = x.data;
    assert_true(v[0] == 10.5f && v[1] == 40.0f && v[2] == 3.0f);
    /* A missing feature, an unknown one, a string value. */
    assert_int_equal(
        parse(&a, "{\"deployment\":\"d\",\"features\":{\"amount\":1,\"age\":2}}", &r, err),
        MMSP_OK);
    assert_int_equal(gateway_features_row(&a, r.features, names, 3, &x, err, sizeof err),
                     MMSP_E_INVALID);
    assert_non_null(strstr(err, "hour"));
    assert_int_equal(parse(&a,
                           "{\"deployment\":\"d\",\"features\":{\"amount\":1,\"age\":2,"
                           "\"hour\":3,\"typo\":4}}",
                           &r, err),
                     MMSP_OK);
    assert_int_equal(gateway_features_row(&a, r.features, names, 3, &x, err, sizeof err),
                     MMSP_E_INVALID);
    assert_non_null(strstr(err, "typo"));
    assert_int_equal(parse(&a,
                           "{\"deployment\":\"d\",\"features\":{\"amount\":\"1\",\"age\":2,"
                           "\"hour\":3}}",
                           &r, err),
                     MMSP_OK);
    assert_int_equal(gateway_features_row(&a, r.features, names, 3, &x, err, sizeof err),
                     MMSP_E_INVALID);
    arena_release(&a);
}

static void test_prediction_diff(void **state)
{
    (void)state;
    float a[3] = {0.5f, 0.25f, 1.0f}, b[3] = {0.5f, 0.75f, 1.0f};
    double c[3] = {0.5, 0.25, 1.0};
    mmsp_tensor ta = {.dtype = MMSP_DT_FP32, .ndim = 1, .shape = {3}, .data = a, .nbytes = 12};
    mmsp_tensor tb = {.dtype = MMSP_DT_FP32, .ndim = 1, .shape = {3}, .data = b, .nbytes = 12};
    mmsp_tensor tc = {.dtype = MMSP_DT_FP64, .ndim = 1, .shape = {3}, .data = c, .nbytes = 24};
    assert_true(gateway_prediction_diff(&ta, &ta) == 0);
    assert_true(gateway_prediction_diff(&ta, &tb) == 0.5);
    assert_true(gateway_prediction_diff(&ta, &tc) == 0); /* dtypes may differ */
    tb.nbytes = 8;
    assert_true(gateway_prediction_diff(&ta, &tb) == -1); /* shapes differ */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sticky_cohorts),
        cmocka_unit_test(test_cohort_depends_on_deployment),
        cmocka_unit_test(test_weight_bounds_exact),
        cmocka_unit_test(test_random_distribution),
        cmocka_unit_test(test_parse_inputs),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_features_row),
        cmocka_unit_test(test_prediction_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
