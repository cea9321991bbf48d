/*
 * Unit tests for src/metrics: values, exact rendering, escaping, float formats, registration
 * rules, ceilings, exact totals under concurrent updates, and the rendered text checked by
 * promtool (the Prometheus project's own parser and linter, /usr/bin/promtool).
 * Calls: metrics, common/buf, pthreads, promtool (as a child process).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common/buf.h"
#include "metrics/metrics.h"

/* Renders r into a fresh NUL-terminated string the caller frees. */
static char *render(struct metrics_registry *r)
{
    struct buf b;
    buf_init(&b, 1 << 24);
    if (metrics_render(r, &b) != MMSP_OK) {
        buf_release(&b);
        return strdup("render failed");
    }
    size_t len;
    char *s = buf_detach(&b, &len);
    return s ? s : strdup("");
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected to find\n%s\nin\n%s", needle, hay);
}

static void test_latency_buckets(void **state)
{
    (void)state;
    assert_true(metrics_latency_buckets_count >= 10);
    assert_true(metrics_latency_buckets[0] == 0.00005);
    assert_true(metrics_latency_buckets[metrics_latency_buckets_count - 1] == 10.0);
    for (size_t i = 1; i < metrics_latency_buckets_count; i++) {
        double ratio = metrics_latency_buckets[i] / metrics_latency_buckets[i - 1];
        assert_true(ratio >= 1.9 && ratio <= 2.6);
    }
}

static void test_values_and_exact_text(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    assert_non_null(r);
    const char *labels[] = {"model", "version"};
    struct metric_family *c =
        metrics_family_register(r, "req_total", "Requests.", METRIC_COUNTER, labels, 2, NULL, 0);
    struct metric_family *g =
        metrics_family_register(r, "temp", "Temperature.", METRIC_GAUGE, NULL, 0, NULL, 0);
    const double bk[] = {0.1, 1, 2.5};
    struct metric_family *h =
        metrics_family_register(r, "lat_seconds", "Latency.", METRIC_HISTOGRAM, labels, 2, bk, 3);
    assert_non_null(c);
    assert_non_null(g);
    assert_non_null(h);

    const char *v1[] = {"m", "1"};
    struct metric_series *cs = metrics_series(c, v1);
    assert_non_null(cs);
    assert_ptr_equal(metrics_series(c, v1), cs); /* same labels, same series */
    metrics_counter_add(cs, 1);
    metrics_counter_add(cs, 2.5);
    metrics_counter_add(cs, -1);  /* ignored: counters only go up */
    metrics_counter_add(cs, NAN); /* ignored */
    assert_true(metrics_series_value(cs) == 3.5);

    struct metric_series *gs = metrics_series(g, NULL);
    metrics_gauge_set(gs, 10);
    metrics_gauge_add(gs, -12.5);
    assert_true(metrics_series_value(gs) == -2.5);
    metrics_counter_add(gs, 100); /* wrong type: ignored */
    assert_true(metrics_series_value(gs) == -2.5);

    struct metric_series *hs = metrics_series(h, v1);
    metrics_histogram_observe(hs, 0.05);
    metrics_histogram_observe(hs, 0.1); /* le is inclusive */
    metrics_histogram_observe(hs, 2);
    metrics_histogram_observe(hs, 7);
    metrics_histogram_observe(hs, NAN); /* ignored */
    assert_true(metrics_series_value(hs) == 4);
    assert_true(metrics_histogram_sum(hs) == 9.15);

    /* NULL series are ignored, never crash */
    metrics_counter_add(NULL, 1);
    metrics_gauge_set(NULL, 1);
    metrics_histogram_observe(NULL, 1);
    assert_true(metrics_series_value(NULL) == 0);

    char *text = render(r);
    const char *expected = "# HELP req_total Requests.\n"
                           "# TYPE req_total counter\n"
                           "req_total{model=\"m\",version=\"1\"} 3.5\n"
                           "# HELP temp Temperature.\n"
                           "# TYPE temp gauge\n"
                           "temp -2.5\n"
                           "# HELP lat_seconds Latency.\n"
                           "# TYPE lat_seconds histogram\n"
                           "lat_seconds_bucket{model=\"m\",version=\"1\",le=\"0.1\"} 2\n"
                           "lat_seconds_bucket{model=\"m\",version=\"1\",le=\"1\"} 2\n"
                           "lat_seconds_bucket{model=\"m\",version=\"1\",le=\"2.5\"} 3\n"
                           "lat_seconds_bucket{model=\"m\",version=\"1\",le=\"+Inf\"} 4\n"
                           "lat_seconds_sum{model=\"m\",version=\"1\"} 9.15\n"
                           "lat_seconds_count{model=\"m\",version=\"1\"} 4\n";
    assert_string_equal(text, expected);
    free(text);
    metrics_registry_free(r);
}

static void test_unlabelled_renders_zero(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    struct metric_family *h = metrics_family_register(r, "x_seconds", "X.", METRIC_HISTOGRAM, NULL,
                                                      0, NULL, 0); /* only +Inf */
    assert_non_null(h);
    char *text = render(r);
    assert_string_equal(text, "# HELP x_seconds X.\n# TYPE x_seconds histogram\n"
                              "x_seconds_bucket{le=\"+Inf\"} 0\nx_seconds_sum 0\n"
                              "x_seconds_count 0\n");
    free(text);
    metrics_registry_free(r);
}

static void test_float_formats(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    const char *l[] = {"k"};
    struct metric_family *g = metrics_family_register(r, "g", "G.", METRIC_GAUGE, l, 1, NULL, 0);
    const char *a[] = {"nan"}, *b[] = {"pinf"}, *c[] = {"ninf"}, *d[] = {"tenth"}, *e[] = {"big"},
               *f[] = {"tiny"};
    metrics_gauge_set(metrics_series(g, a), NAN);
    metrics_gauge_set(metrics_series(g, b), INFINITY);
    metrics_gauge_set(metrics_series(g, c), -INFINITY);
    metrics_gauge_set(metrics_series(g, d), 0.1);
    metrics_gauge_set(metrics_series(g, e), 1e300);
    metrics_gauge_set(metrics_series(g, f), 5e-324);
    char *text = render(r);
    assert_contains(text, "g{k=\"nan\"} NaN\n");
    assert_contains(text, "g{k=\"pinf\"} +Inf\n");
    assert_contains(text, "g{k=\"ninf\"} -Inf\n");
    assert_contains(text, "g{k=\"tenth\"} 0.1\n");
    assert_contains(text, "g{k=\"big\"} 1e+300\n");
    /* the smallest denormal round-trips exactly */
    const char *tiny = strstr(text, "g{k=\"tiny\"} ");
    assert_non_null(tiny);
    assert_true(strtod(tiny + strlen("g{k=\"tiny\"} "), NULL) == 5e-324);
    free(text);
    metrics_registry_free(r);
}

static void test_escaping(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    const char *l[] = {"path"};
    struct metric_family *c = metrics_family_register(
        r, "esc_total", "Back\\slash and\nnewline \"quoted\".", METRIC_COUNTER, l, 1, NULL, 0);
    assert_non_null(c);
    const char *v[] = {"a\\b\"c\nd"};
    metrics_counter_add(metrics_series(c, v), 1);
    const char *bad_utf8[] = {"x\xff"
                              "y"};
    struct metric_series *s = metrics_series(c, bad_utf8);
    assert_non_null(s);
    /* the same raw value finds the same series */
    assert_ptr_equal(metrics_series(c, bad_utf8), s);
    char *text = render(r);
    assert_contains(text, "# HELP esc_total Back\\\\slash and\\nnewline \"quoted\".\n");
    assert_contains(text, "esc_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
    assert_contains(text, "esc_total{path=\"x\xEF\xBF\xBDy\"} 0\n");
    free(text);
    metrics_registry_free(r);
}

static void test_registration_rules(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    const char *l2[] = {"model", "version"}, *l2b[] = {"version", "model"}, *l1[] = {"model"};
    const double bk[] = {1, 2}, bk2[] = {1, 3};
    struct metric_family *c =
        metrics_family_register(r, "a_total", "A.", METRIC_COUNTER, l2, 2, NULL, 0);
    assert_non_null(c);
    /* same name, same shape: the same family (help may differ) */
    assert_ptr_equal(
        metrics_family_register(r, "a_total", "Other help.", METRIC_COUNTER, l2, 2, NULL, 0), c);
    /* same name, different type / labels / label order */
    assert_null(metrics_family_register(r, "a_total", "A.", METRIC_GAUGE, l2, 2, NULL, 0));
    assert_null(metrics_family_register(r, "a_total", "A.", METRIC_COUNTER, l1, 1, NULL, 0));
    assert_null(metrics_family_register(r, "a_total", "A.", METRIC_COUNTER, l2b, 2, NULL, 0));

    struct metric_family *h =
        metrics_family_register(r, "h_seconds", "H.", METRIC_HISTOGRAM, l1, 1, bk, 2);
    assert_non_null(h);
    assert_ptr_equal(metrics_family_register(r, "h_seconds", "H.", METRIC_HISTOGRAM, l1, 1, bk, 2),
                     h);
    assert_null(metrics_family_register(r, "h_seconds", "H.", METRIC_HISTOGRAM, l1, 1, bk2, 2));
    assert_null(metrics_family_register(r, "h_seconds", "H.", METRIC_HISTOGRAM, l1, 1, bk, 1));
    /* names that collide with a histogram's samples, either way round */
    assert_null(
        metrics_family_register(r, "h_seconds_count", "C.", METRIC_GAUGE, NULL, 0, NULL, 0));
    assert_null(
        metrics_family_register(r, "h_seconds_bucket", "C.", METRIC_GAUGE, NULL, 0, NULL, 0));
    assert_non_null(metrics_family_register(r, "z_sum", "S.", METRIC_GAUGE, NULL, 0, NULL, 0));
    assert_null(metrics_family_register(r, "z", "Z.", METRIC_HISTOGRAM, NULL, 0, bk, 2));

    /* invalid names, labels, help, buckets */
    assert_null(metrics_family_register(r, "1abc", "X.", METRIC_GAUGE, NULL, 0, NULL, 0));
    assert_null(metrics_family_register(r, "a-b", "X.", METRIC_GAUGE, NULL, 0, NULL, 0));
    assert_null(metrics_family_register(r, "", "X.", METRIC_GAUGE, NULL, 0, NULL, 0));
    assert_null(metrics_family_register(r, "ok", "", METRIC_GAUGE, NULL, 0, NULL, 0));
    assert_null(metrics_family_register(r, "ok", NULL, METRIC_GAUGE, NULL, 0, NULL, 0));
    const char *bad1[] = {"a:b"}, *bad2[] = {"__x"}, *bad3[] = {"le"}, *dup[] = {"m", "m"};
    assert_null(metrics_family_register(r, "ok", "X.", METRIC_GAUGE, bad1, 1, NULL, 0));
    assert_null(metrics_family_register(r, "ok", "X.", METRIC_GAUGE, bad2, 1, NULL, 0));
    assert_null(metrics_family_register(r, "ok", "X.", METRIC_GAUGE, dup, 2, NULL, 0));
    assert_null(metrics_family_register(r, "ok", "X.", METRIC_HISTOGRAM, bad3, 1, NULL, 0));
    assert_non_null(metrics_family_register(r, "ok_le", "X.", METRIC_GAUGE, bad3, 1, NULL, 0));
    const double dec[] = {2, 1}, eq[] = {1, 1}, inf[] = {1, INFINITY}, nan[] = {NAN};
    assert_null(metrics_family_register(r, "hh", "X.", METRIC_HISTOGRAM, NULL, 0, dec, 2));
    assert_null(metrics_family_register(r, "hh", "X.", METRIC_HISTOGRAM, NULL, 0, eq, 2));
    assert_null(metrics_family_register(r, "hh", "X.", METRIC_HISTOGRAM, NULL, 0, inf, 2));
    assert_null(metrics_family_register(r, "hh", "X.", METRIC_HISTOGRAM, NULL, 0, nan, 1));
    assert_non_null(metrics_family_register(r, "ns:hh", "X.", METRIC_HISTOGRAM, NULL, 0, bk, 2));
    metrics_registry_free(r);
}

static void test_series_ceilings(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    const char *l[] = {"id"};
    struct metric_family *c =
        metrics_family_register(r, "many_total", "M.", METRIC_COUNTER, l, 1, NULL, 0);
    char v[32];
    const char *vals[] = {v};
    for (int i = 0; i < METRICS_MAX_SERIES; i++) {
        snprintf(v, sizeof v, "%d", i);
        assert_non_null(metrics_series(c, vals));
    }
    snprintf(v, sizeof v, "one-more");
    assert_null(metrics_series(c, vals));
    snprintf(v, sizeof v, "17");
    assert_non_null(metrics_series(c, vals)); /* existing series still found */

    char *long_value = malloc(METRICS_MAX_LABEL_VALUE + 2);
    memset(long_value, 'x', METRICS_MAX_LABEL_VALUE + 1);
    long_value[METRICS_MAX_LABEL_VALUE + 1] = '\0';
    const char *lv[] = {long_value};
    struct metric_family *g = metrics_family_register(r, "lv", "L.", METRIC_GAUGE, l, 1, NULL, 0);
    assert_null(metrics_series(g, lv));
    long_value[METRICS_MAX_LABEL_VALUE] = '\0';
    assert_non_null(metrics_series(g, lv));
    free(long_value);

    /* rendering into a buffer that is too small fails and leaves it as it was */
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "keep"), MMSP_OK);
    assert_int_equal(metrics_render(r, &b), MMSP_E_TOO_LARGE);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");
    buf_release(&b);
    metrics_registry_free(r);
}

#define THREADS 8
#define ITERS   100000

struct worker_arg {
    struct metric_family *c, *g, *h;
    int id;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    const char *vals[] = {"shared"};
    /* every thread looks the same series up at the same time: there must be one of each */
    struct metric_series *cs = metrics_series(a->c, vals);
    struct metric_series *gs = metrics_series(a->g, vals);
    struct metric_series *hs = metrics_series(a->h, vals);
    char own[16];
    snprintf(own, sizeof own, "t%d", a->id);
    const char *own_vals[] = {own};
    struct metric_series *mine = metrics_series(a->c, own_vals);
    for (int i = 0; i < ITERS; i++) {
        metrics_counter_add(cs, 1);
        metrics_counter_add(mine, 0.5);
        metrics_gauge_add(gs, (i & 1) ? -0.25 : 0.75);
        metrics_histogram_observe(hs, (i % 4) * 0.5); /* 0, 0.5, 1, 1.5 */
    }
    return NULL;
}

struct renderer_arg {
    struct metrics_registry *r;
    int mismatches; /* cmocka asserts are for the main thread only */
};

static void *renderer(void *p)
{
    struct renderer_arg *ra = p;
    struct metrics_registry *r = ra->r;
    for (int i = 0; i < 50; i++) {
        char *text = render(r);
        /* a scrape during updates is still self-consistent: +Inf bucket == _count */
        const char *inf = strstr(text, "conc_seconds_bucket{k=\"shared\",le=\"+Inf\"} ");
        const char *cnt = strstr(text, "conc_seconds_count{k=\"shared\"} ");
        if (inf && cnt) {
            long long a = atoll(inf + strlen("conc_seconds_bucket{k=\"shared\",le=\"+Inf\"} "));
            long long b = atoll(cnt + strlen("conc_seconds_count{k=\"shared\"} "));
            ra->mismatches += a != b;
        }
        free(text);
    }
    return NULL;
}

static void test_concurrency_exact_totals(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    const char *l[] = {"k"};
    const double bk[] = {0.5, 1};
    struct worker_arg args[THREADS];
    struct metric_family *c =
        metrics_family_register(r, "conc_total", "C.", METRIC_COUNTER, l, 1, NULL, 0);
    struct metric_family *g = metrics_family_register(r, "conc", "G.", METRIC_GAUGE, l, 1, NULL, 0);
    struct metric_family *h =
        metrics_family_register(r, "conc_seconds", "H.", METRIC_HISTOGRAM, l, 1, bk, 2);
    pthread_t t[THREADS], rt;
    struct renderer_arg ra = {.r = r, .mismatches = 0};
    assert_int_equal(pthread_create(&rt, NULL, renderer, &ra), 0);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct worker_arg){.c = c, .g = g, .h = h, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_join(rt, NULL);
    assert_int_equal(ra.mismatches, 0);

    const char *vals[] = {"shared"};
    assert_true(metrics_series_value(metrics_series(c, vals)) == (double)THREADS * ITERS);
    /* per iteration pair: +0.75 - 0.25 = 0.5; all values exact in binary */
    assert_true(metrics_series_value(metrics_series(g, vals)) == (double)THREADS * ITERS / 4);
    struct metric_series *hs = metrics_series(h, vals);
    assert_true(metrics_series_value(hs) == (double)THREADS * ITERS);
    assert_true(metrics_histogram_sum(hs) == (double)THREADS * ITERS / 4 * 3.0);
    for (int i = 0; i < THREADS; i++) {
        char own[16];
        snprintf(own, sizeof own, "t%d", i);
        const char *ov[] = {own};
        assert_true(metrics_series_value(metrics_series(c, ov)) == ITERS * 0.5);
    }
    char *text = render(r);
    /* buckets 0 and 0.5 -> le 0.5; 1 -> le 1; 1.5 -> +Inf; each a quarter */
    char want[128];
    snprintf(want, sizeof want, "conc_seconds_bucket{k=\"shared\",le=\"0.5\"} %d\n",
             THREADS * ITERS / 2);
    assert_contains(text, want);
    snprintf(want, sizeof want, "conc_seconds_bucket{k=\"shared\",le=\"1\"} %d\n",
             THREADS * ITERS / 4 * 3);
    assert_contains(text, want);
    snprintf(want, sizeof want, "conc_seconds_bucket{k=\"shared\",le=\"+Inf\"} %d\n",
             THREADS * ITERS);
    assert_contains(text, want);
    /* one series per label set: exactly THREADS + 1 counter series */
    int n = 0;
    for (const char *p = text; (p = strstr(p, "\nconc_total{")); p++)
        n++;
    assert_int_equal(n, THREADS + 1);
    free(text);
    metrics_registry_free(r);
}

/* Runs `promtool check metrics < path`; returns its exit status and its output in out. */
static int run_promtool(const char *path, char *out, size_t outlen)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/promtool check metrics < '%s' 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_promtool_accepts_output(void **state)
{
    (void)state;
    if (access("/usr/bin/promtool", X_OK) != 0)
        fail_msg("/usr/bin/promtool is missing (Debian package prometheus)");
    struct metrics_registry *r = metrics_registry_new();
    /* the names the server exposes (DESIGN.md section 6) */
    const char *mv[] = {"model", "version"};
    struct metric_family *req =
        metrics_family_register(r, "inference_requests_total", "Inference requests received.",
                                METRIC_COUNTER, mv, 2, NULL, 0);
    struct metric_family *pred =
        metrics_family_register(r, "inference_predictions_total", "Predictions returned (rows).",
                                METRIC_COUNTER, mv, 2, NULL, 0);
    struct metric_family *errs = metrics_family_register(
        r, "inference_errors_total", "Failed inference requests.", METRIC_COUNTER, mv, 2, NULL, 0);
    struct metric_family *lat = metrics_family_register(r, "inference_latency_seconds",
                                                        "Latency of the last inference request.",
                                                        METRIC_GAUGE, mv, 2, NULL, 0);
    struct metric_family *hist = metrics_family_register(
        r, "mmsp_inference_request_duration_seconds", "Inference request duration.",
        METRIC_HISTOGRAM, mv, 2, metrics_latency_buckets, metrics_latency_buckets_count);
    const char *code[] = {"code"};
    struct metric_family *http = metrics_family_register(
        r, "mmsp_http_requests_total", "HTTP responses sent.", METRIC_COUNTER, code, 1, NULL, 0);
    assert_non_null(http);
    const char *c200[] = {"200"}, *c404[] = {"404"};
    metrics_counter_add(metrics_series(http, c200), 12);
    metrics_counter_add(metrics_series(http, c404), 1);
    struct metric_family *unl =
        metrics_family_register(r, "mmsp_build_info", "Help with \\ backslash\nand newline.",
                                METRIC_GAUGE, NULL, 0, NULL, 0);
    struct metric_family *odd =
        metrics_family_register(r, "mmsp_odd_values", "Odd values.", METRIC_GAUGE, mv, 2, NULL, 0);
    assert_non_null(req);
    assert_non_null(pred);
    assert_non_null(errs);
    assert_non_null(lat);
    assert_non_null(hist);
    assert_non_null(unl);
    assert_non_null(odd);

    const char *awkward[][2] = {
        {"fraud-detector", "1"},
        {"quote\"d", "back\\slash"},
        {"new\nline", ""},
        {"{}=,", "caf\xc3\xa9 \xe2\x9c\x93"},
        {"bad\xff\xfeutf8", "\\\"\n"},
        {"# not a comment", "le=\"+Inf\""},
    };
    for (size_t i = 0; i < sizeof awkward / sizeof awkward[0]; i++) {
        metrics_counter_add(metrics_series(req, awkward[i]), 3);
        metrics_counter_add(metrics_series(pred, awkward[i]), 30);
        metrics_counter_add(metrics_series(errs, awkward[i]), 0);
        metrics_gauge_set(metrics_series(lat, awkward[i]), 0.000123);
        struct metric_series *hs = metrics_series(hist, awkward[i]);
        for (int k = 0; k < 20; k++)
            metrics_histogram_observe(hs, k * 0.37);
    }
    metrics_gauge_set(metrics_series(unl, NULL), 1);
    const char *o1[] = {"nan", "x"}, *o2[] = {"inf", "x"}, *o3[] = {"ninf", "x"},
               *o4[] = {"big", "x"};
    metrics_gauge_set(metrics_series(odd, o1), NAN);
    metrics_gauge_set(metrics_series(odd, o2), INFINITY);
    metrics_gauge_set(metrics_series(odd, o3), -INFINITY);
    metrics_gauge_set(metrics_series(odd, o4), -1.5e300);

    char *text = render(r);
    char path[] = "/tmp/mmsp_metrics_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    char out[8192];
    int status = run_promtool(path, out, sizeof out);
    if (status != 0 || out[0] != '\0')
        fail_msg("promtool check metrics: exit %d:\n%s\n--- input ---\n%s", status, out, text);

    /* and the check is not vacuous: promtool does reject a broken line and a lint problem */
    FILE *f = fopen(path, "a");
    fputs("inference_requests_total{model=\"unterminated} 1\n", f);
    fclose(f);
    assert_int_not_equal(run_promtool(path, out, sizeof out), 0);
    f = fopen(path, "w");
    fputs("# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n", f);
    fclose(f);
    assert_int_not_equal(run_promtool(path, out, sizeof out), 0);

    unlink(path);
    free(text);
    metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_buckets),
        cmocka_unit_test(test_values_and_exact_text),
        cmocka_unit_test(test_unlabelled_renders_zero),
        cmocka_unit_test(test_float_formats),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_registration_rules),
        cmocka_unit_test(test_series_ceilings),
        cmocka_unit_test(test_concurrency_exact_totals),
        cmocka_unit_test(test_promtool_accepts_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
