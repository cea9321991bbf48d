/*
 * Unit tests for the canary analysis (src/gateway/canary.c), the Prometheus text reader
 * (src/gateway/promtext.c) and the MMSP_FAULTS parser (src/serve/fault.c): histogram_quantile
 * as Prometheus computes it, every verdict rule, a /metrics text reduced to the two variants
 * and the figures between two scrapes (with a counter reset), malformed text with its line,
 * and fault specs good and bad.
 * Calls: gateway/canary, gateway/promtext, serve/fault.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/canary.h"
#include "gateway/promtext.h"
#include "serve/fault.h"

static void test_quantile(void **state)
{
    (void)state;
    /* Prometheus: histogram_quantile(0.5) over buckets 0.1:10 0.2:30 +Inf:40 -> rank 20,
     * in (0.1, 0.2] holding 20: 0.1 + 0.1 * (20 - 10) / 20 = 0.15 */
    double le[] = {0.1, 0.2, INFINITY}, c[] = {10, 30, 40};
    assert_float_equal(canary_histogram_quantile(0.5, le, c, 3), 0.15, 1e-12);
    /* rank in the first bucket: from 0 */
    assert_float_equal(canary_histogram_quantile(0.1, le, c, 3), 0.04, 1e-12);
    /* rank in +Inf: the highest finite bound */
    assert_float_equal(canary_histogram_quantile(0.99, le, c, 3), 0.2, 1e-12);
    double zero[] = {0, 0, 0};
    assert_true(isnan(canary_histogram_quantile(0.99, le, zero, 3)));
    assert_true(isnan(canary_histogram_quantile(0.99, le, c, 0)));
    double nolast[] = {0.1, 0.2};
    assert_true(isnan(canary_histogram_quantile(0.5, nolast, c, 2)));
}

static struct canary_figures figures(double cr, double ce, double cp, double sr, double se,
                                     double sp)
{
    struct canary_figures f = {.canary = {cr, ce, cr > 0 ? ce / cr : 0, cp},
                               .stable = {sr, se, sr > 0 ? se / sr : 0, sp}};
    return f;
}

static void test_judge(void **state)
{
    (void)state;
    struct canary_bounds b;
    canary_bounds_default(&b);
    char why[256];
    struct canary_figures f = figures(100, 0, 3, 900, 0, 2);
    assert_int_equal(canary_judge(&b, &f, why, sizeof why), CANARY_PASS);
    f = figures(10, 0, 3, 900, 0, 2); /* too few canary requests */
    assert_int_equal(canary_judge(&b, &f, why, sizeof why), CANARY_INCONCLUSIVE);
    assert_non_null(strstr(why, "fewer"));
    f = figures(100, 2, 3, 900, 0, 2); /* 2 % > 1 % */
    assert_int_equal(canary_judge(&b, &f, why, sizeof why), CANARY_FAIL);
    assert_non_null(strstr(why, "maximum"));
    b.max_error_rate = 0.5; /* 2 % vs stable 1 % + 0.5 points */
    f = figures(100, 2, 3, 1000, 10, 2);
    assert_int_equal(canary_judge(&b, &f, why, sizeof why), CANARY_FAIL);
    assert_non_null(strstr(why, "stable"));
    f = figures(100, 1, 3, 1000, 10, 2); /* as good as the stable */
    assert_int_equal(canary_judge(&b, &f, why, sizeof why), CANARY_PASS);
    canary_bounds_default(&b);
    f = figures(100, 0, 60, 900, 0, 50); /* p99 over the maximum */
    assert_int_equal(canary_judge(&b, &f, why, sizeof why), CANARY_FAIL);
    f = figures(100, 0, 30, 900, 0, 10); /* 3x the stable, above the floor */
    assert_int_equal(canary_judge(&b, &f, why, sizeof why), CANARY_FAIL);
    assert_non_null(strstr(why, "x the stable"));
    f = figures(100, 0, 3, 900, 0, 0.5); /* 6x, but under the floor: bucket noise */
    assert_int_equal(canary_judge(&b, &f, why, sizeof why), CANARY_PASS);
    f = figures(100, 0, NAN, 900, 0, 2);
    assert_int_equal(canary_judge(&b, &f, why, sizeof why), CANARY_INCONCLUSIVE);
    assert_string_equal(canary_verdict_name(CANARY_FAIL), "fail");
}

static const char *text_a =
    "# HELP mmsp_gateway_requests_total r\n"
    "# TYPE mmsp_gateway_requests_total counter\n"
    "mmsp_gateway_requests_total{deployment=\"fraud\",environment=\"production\",version=\"1\","
    "variant=\"stable\"} 100\n"
    "mmsp_gateway_requests_total{deployment=\"fraud\",environment=\"production\",version=\"2\","
    "variant=\"canary\"} 10\n"
    "mmsp_gateway_requests_total{deployment=\"fraud\",environment=\"staging\",version=\"2\","
    "variant=\"canary\"} 777\n"
    "mmsp_gateway_requests_total{deployment=\"other\",environment=\"production\",version=\"2\","
    "variant=\"canary\"} 555\n"
    "mmsp_gateway_errors_total{deployment=\"fraud\",environment=\"production\",version=\"2\","
    "variant=\"canary\"} 1\n"
    "mmsp_gateway_request_duration_seconds_bucket{deployment=\"fraud\",environment="
    "\"production\",version=\"2\",variant=\"canary\",le=\"0.01\"} 5\n"
    "mmsp_gateway_request_duration_seconds_bucket{deployment=\"fraud\",environment="
    "\"production\",version=\"2\",variant=\"canary\",le=\"0.1\"} 10\n"
    "mmsp_gateway_request_duration_seconds_bucket{deployment=\"fraud\",environment="
    "\"production\",version=\"2\",variant=\"canary\",le=\"+Inf\"} 10\n";

static const char *text_b =
    "mmsp_gateway_requests_total{deployment=\"fraud\",environment=\"production\",version=\"1\","
    "variant=\"stable\"} 40\n" /* reset: restarted, 40 since */
    "mmsp_gateway_requests_total{deployment=\"fraud\",environment=\"production\",version=\"2\","
    "variant=\"canary\"} 110\n"
    "mmsp_gateway_errors_total{deployment=\"fraud\",environment=\"production\",version=\"2\","
    "variant=\"canary\"} 3\n"
    "mmsp_gateway_request_duration_seconds_bucket{deployment=\"fraud\",environment="
    "\"production\",version=\"2\",variant=\"canary\",le=\"0.01\"} 5\n"
    "mmsp_gateway_request_duration_seconds_bucket{deployment=\"fraud\",environment="
    "\"production\",version=\"2\",variant=\"canary\",le=\"0.1\"} 110\n"
    "mmsp_gateway_request_duration_seconds_bucket{deployment=\"fraud\",environment="
    "\"production\",version=\"2\",variant=\"canary\",le=\"+Inf\"} 110\n";

static void test_scrape(void **state)
{
    (void)state;
    struct canary_target t = {.deployment = "fraud",
                              .environment = "production",
                              .stable_version = 1,
                              .canary_version = 2};
    struct canary_scrape a, b;
    char err[256];
    assert_int_equal(canary_scrape_parse(text_a, strlen(text_a), &t, &a, err, sizeof err), MMSP_OK);
    assert_float_equal(a.stable.requests, 100, 0);
    assert_float_equal(a.canary.requests, 10, 0);
    assert_float_equal(a.canary.errors, 1, 0);
    assert_int_equal(a.canary.n_buckets, 3);
    assert_true(isinf(a.canary.le[2]));
    assert_int_equal(canary_scrape_parse(text_b, strlen(text_b), &t, &b, err, sizeof err), MMSP_OK);
    struct canary_figures f;
    canary_scrape_diff(&a, &b, &f);
    assert_float_equal(f.canary.requests, 100, 0);
    assert_float_equal(f.canary.errors, 2, 0);
    assert_float_equal(f.canary.error_rate, 0.02, 1e-12);
    /* 100 new observations all in (0.01, 0.1]: rank 99 -> 0.01 + 0.09 * 99/100 s */
    assert_float_equal(f.canary.p99_ms, (0.01 + 0.09 * 0.99) * 1000, 1e-9);
    assert_float_equal(f.stable.requests, 40, 0); /* the reset counter's value */
    assert_true(isnan(f.stable.p99_ms));
}

static int count_samples(void *ctx, const char *name, const struct promtext_label *labels, size_t n,
                         double value)
{
    int *c = ctx;
    (*c)++;
    if (strcmp(name, "a") == 0) {
        assert_int_equal(n, 1);
        assert_string_equal(promtext_label(labels, n, "b"), "x\"y\\z\n");
        assert_true(isnan(value));
    }
    return 0;
}

static void test_promtext(void **state)
{
    (void)state;
    char err[256];
    int c = 0;
    const char *ok = "# c\n\na{b=\"x\\\"y\\\\z\\n\",} NaN 1700000000000\r\nc -Inf\nd{} 1e3\n";
    assert_int_equal(promtext_parse(ok, strlen(ok), count_samples, &c, err, sizeof err), MMSP_OK);
    assert_int_equal(c, 3);
    const char *bad[] = {"x{le=\"0.1\" 3\n", "ok 1\ny{a=b} 1\n", "z 1 2 3\n",    "w\n",
                         "v nan\n",          "9x 1\n",           "u{a=\"1\"}1\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c = 0;
        assert_int_equal(promtext_parse(bad[i], strlen(bad[i]), count_samples, &c, err, sizeof err),
                         MMSP_E_PARSE);
        assert_non_null(strstr(err, "line"));
    }
    assert_non_null(strstr(err, "line 1"));
}

static void test_faults(void **state)
{
    (void)state;
    struct serve_fault f[SERVE_FAULT_MAX];
    size_t n;
    char err[256];
    assert_int_equal(serve_fault_parse("fraud:2:error,fraud@staging:3:delay_ms=200", f,
                                       SERVE_FAULT_MAX, &n, err, sizeof err),
                     MMSP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(f[0].model, "fraud");
    assert_int_equal(f[0].version, 2);
    assert_int_equal(f[0].error, 1);
    assert_string_equal(f[1].model, "fraud@staging");
    assert_int_equal(f[1].delay_ms, 200);
    assert_int_equal(f[1].error, 0);
    const char *bad[] = {"fraud",
                         "fraud:2",
                         ":2:error",
                         "fraud:0:error",
                         "fraud:x:error",
                         "fraud:2:boom",
                         "fraud:2:delay_ms=",
                         "fraud:2:delay_ms=-1",
                         "fraud:2:delay_ms=999999",
                         "fraud:2:error,"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(serve_fault_parse(bad[i], f, SERVE_FAULT_MAX, &n, err, sizeof err),
                         MMSP_E_INVALID);
    assert_int_equal(serve_fault_parse("", f, SERVE_FAULT_MAX, &n, err, sizeof err), MMSP_OK);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantile), cmocka_unit_test(test_judge),
        cmocka_unit_test(test_scrape),   cmocka_unit_test(test_promtext),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
