/*
 * Unit tests for src/drift: PSI with Evidently's empty-bin fill, JS distance, KS statistic and
 * p-values (values from scipy 1.10: ks_2samp, kstwo.sf, jensenshannon), the CSV reader (quotes,
 * CRLF, nulls, malformed input), baseline build / JSON round trip / hostile JSON, the report over
 * in-memory columns, the retraining episode state, the trigger command and the streaming window.
 * Calls: drift, metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "drift/drift.h"
#include "metrics/metrics.h"

static void test_psi(void **state)
{
    (void)state;
    double a[] = {0.5, 0.5}, b[] = {0.5, 0.5};
    assert_true(fabs(drift_psi(a, b, 2)) < 1e-15);
    double r[] = {0.25, 0.75}, c[] = {0.5, 0.5};
    double want = (0.25 - 0.5) * log(0.25 / 0.5) + (0.75 - 0.5) * log(0.75 / 0.5);
    assert_true(fabs(drift_psi(r, c, 2) - want) < 1e-15);
    /* empty bin: min nonzero 0.5 > 1e-4, so 0 -> 1e-4 */
    double r2[] = {0.5, 0.5, 0.0}, c2[] = {0.4, 0.4, 0.2};
    want = (0.1) * log(0.5 / 0.4) * 2 + (0.0001 - 0.2) * log(0.0001 / 0.2);
    assert_true(fabs(drift_psi(r2, c2, 3) - want) < 1e-12);
    /* tiny nonzero: 0 -> min/1e6 */
    double r3[] = {0.99995, 0.00005, 0.0}, c3[] = {0.5, 0.25, 0.25};
    double z = 0.00005 / 1e6;
    want = (0.99995 - 0.5) * log(0.99995 / 0.5) + (0.00005 - 0.25) * log(0.00005 / 0.25) +
           (z - 0.25) * log(z / 0.25);
    assert_true(fabs(drift_psi(r3, c3, 3) - want) < 1e-12);
    double zero[] = {0, 0};
    assert_true(isnan(drift_psi(zero, a, 2)));
    assert_int_equal(drift_status_of(0.05), DRIFT_HEALTHY);
    assert_int_equal(drift_status_of(0.1), DRIFT_WARNING);
    assert_int_equal(drift_status_of(0.2), DRIFT_CRITICAL);
    assert_string_equal(drift_status_name(DRIFT_CRITICAL), "critical");
}

static void test_js(void **state)
{
    (void)state;
    double p[] = {0.1, 0.2, 0.7}, q[] = {0.3, 0.3, 0.4};
    assert_true(fabs(drift_js_distance(p, q, 3) - 0.2278426194505835) < 1e-12);
    double p2[] = {2, 4, 14}; /* normalised */
    assert_true(fabs(drift_js_distance(p2, q, 3) - 0.2278426194505835) < 1e-12);
    assert_true(fabs(drift_js_distance(p, p, 3)) < 1e-12);
    double z[] = {0, 0, 0};
    assert_true(isnan(drift_js_distance(z, q, 3)));
}

static void test_ks(void **state)
{
    (void)state;
    double a[] = {1, 2, 3, 4, 5, 6, 7, 8}, b[] = {2.5, 3.5, 9, 10, 11};
    double d = drift_ks_stat_sorted(a, 8, b, 5);
    assert_true(fabs(d - 0.6) < 1e-12);
    int exact = 0;
    double p = drift_ks_pvalue(8, 5, d, 0, NULL, &exact);
    assert_int_equal(exact, 1);
    assert_true(fabs(p - 0.16472416472416468) < 1e-9);
    double c[] = {1, 2, 3, 4}, e[] = {3, 4, 5, 6};
    d = drift_ks_stat_sorted(c, 4, e, 4);
    assert_true(fabs(d - 0.5) < 1e-12);
    assert_true(fabs(drift_ks_pvalue(4, 4, d, 0, NULL, NULL) - 0.7714285714285716) < 1e-9);
    assert_true(fabs(drift_kolmogn_sf(1000, 0.05) - 0.013012074781090332) < 1e-9);
    assert_true(fabs(drift_kolmogn_sf(60, 0.2) - 0.014023403960275127) < 1e-9);
    assert_true(fabs(drift_kolmogn_sf(5000, 0.01) - 0.6954557253913853) < 1e-9);
    assert_true(fabs(drift_kolmogn_sf(100, 0.3) - 1.7719869892662917e-08) < 1e-12);
    assert_true(drift_kolmogn_sf(10, 0) == 1.0);
    assert_true(drift_kolmogn_sf(10, 1) == 0.0);
    assert_true(isnan(drift_kolmogn_sf(2.5, 0.1)));
    assert_true(drift_ks_pvalue(20000, 30000, 0, 0, NULL, &exact) == 1.0);
    assert_int_equal(exact, 0);
    assert_true(isnan(drift_ks_pvalue(0, 5, 0.1, 0, NULL, NULL)));
}

static void test_csv(void **state)
{
    (void)state;
    struct drift_table t;
    char err[256];
    const char *txt = "a,\"b,x\",c\r\n1,\"he said \"\"hi\"\"\",\r\n\n2,,3\n";
    assert_int_equal(drift_csv_parse(txt, strlen(txt), &t, err, sizeof err), MMSP_OK);
    assert_int_equal(t.ncols, 3);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.names[1], "b,x");
    assert_string_equal(t.cells[1][0], "he said \"hi\"");
    assert_null(t.cells[2][0]);
    assert_null(t.cells[1][1]);
    assert_string_equal(t.cells[2][1], "3");
    drift_table_free(&t);
    const char *bad[] = {"", "a,b\n1,2,3\n", "a,b\n1\n", "a,\"b\n", "a,b\n\"x\"y,1\n", ",b\n1,2\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_not_equal(drift_csv_parse(bad[i], strlen(bad[i]), &t, err, sizeof err), MMSP_OK);
        assert_true(err[0] != '\0');
    }
}

static void build(struct drift_baseline *b, size_t n)
{
    /* x = 0..n-1, y = x mod 3, s = strings, z with nulls */
    size_t cap = 64 + n * 32;
    char *txt = malloc(cap), err[256];
    size_t len = (size_t)snprintf(txt, cap, "x,y,s,z\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(txt + len, cap - len, "%zu,%zu,%s,%s\n", i, i % 3,
                                i % 2 ? "red" : "blue", i % 4 ? "1.5" : "");
    struct drift_table t;
    assert_int_equal(drift_csv_parse(txt, len, &t, err, sizeof err), MMSP_OK);
    struct drift_baseline_options o = {.bins = 4, .sample = 50, .seed = 7, .label = "mem"};
    assert_int_equal(drift_baseline_build(&t, &o, b, err, sizeof err), MMSP_OK);
    drift_table_free(&t);
    free(txt);
}

static void test_baseline(void **state)
{
    (void)state;
    struct drift_baseline b, b2;
    build(&b, 101);
    assert_int_equal(b.nfeatures, 4);
    struct drift_feature *x = &b.features[0];
    assert_int_equal(x->nedges, 3);
    assert_true(fabs(x->edges[0] - 25) < 1e-12 && fabs(x->edges[2] - 75) < 1e-12);
    assert_int_equal(x->nsample, 50);
    for (size_t i = 1; i < x->nsample; i++)
        assert_true(x->sample[i] >= x->sample[i - 1]);
    assert_true(fabs(x->mean - 50) < 1e-12);
    assert_int_equal(b.features[1].nedges, 3); /* quantiles 0, 1, 2 of 0,1,2,0,1,2... */
    assert_int_equal(b.features[2].categorical, 1);
    assert_int_equal(b.features[2].ncats, 2);
    assert_true(fabs(b.features[3].null_rate - 26.0 / 101) < 1e-12);
    char *json = NULL, err[256];
    assert_int_equal(drift_baseline_to_json(&b, &json, err, sizeof err), MMSP_OK);
    assert_int_equal(drift_baseline_parse(json, strlen(json), &b2, err, sizeof err), MMSP_OK);
    assert_int_equal(b2.nfeatures, 4);
    assert_true(b2.features[0].edges[1] == x->edges[1]);
    assert_true(b2.features[0].sample[7] == x->sample[7]);
    assert_true(b2.features[2].categorical);
    free(json);
    /* same seed, same sample */
    struct drift_baseline b3;
    build(&b3, 101);
    assert_memory_equal(b3.features[0].sample, x->sample, 50 * sizeof(double));
    drift_baseline_free(&b3);
    drift_baseline_free(&b2);

    const char *bad[] = {
        "",
        "[]",
        "{\"features\": []}",
        "{\"features\": [{\"name\": 1, \"type\": \"numeric\"}]}",
        "{\"features\": [{\"name\": \"a\", \"type\": \"what\"}]}",
        "{\"features\": [{\"name\": \"a\", \"type\": \"numeric\", \"edges\": [2, 1], "
        "\"reference\": [0.3, 0.3, 0.4], \"sample\": [1]}]}",
        "{\"features\": [{\"name\": \"a\", \"type\": \"numeric\", \"edges\": [1], "
        "\"reference\": [0.3, 0.3, 0.4], \"sample\": [1]}]}",
        "{\"features\": [{\"name\": \"a\", \"type\": \"numeric\", \"edges\": [1], "
        "\"reference\": [0.5, 7], \"sample\": [1]}]}",
        "{\"features\": [{\"name\": \"a\", \"type\": \"categorical\", \"frequencies\": {\"x\": "
        "\"y\"}}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_not_equal(drift_baseline_parse(bad[i], strlen(bad[i]), &b2, err, sizeof err),
                             MMSP_OK);
        assert_true(err[0] != '\0');
    }
    drift_baseline_free(&b);
}

static void test_report_columns(void **state)
{
    (void)state;
    struct drift_baseline b;
    build(&b, 400);
    size_t n = 400;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *s = calloc(n, sizeof *s),
           *z = malloc(n * sizeof *z);
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i + 300; /* shifted far: critical */
        y[i] = (double)(i % 3);
        z[i] = i % 4 ? 1.5 : NAN;
    }
    const double *cols[] = {x, y, s, z};
    size_t ns[] = {n, n, n, n};
    struct drift_report r;
    char err[256];
    assert_int_equal(drift_report_columns(&b, cols, ns, &r, err, sizeof err), MMSP_OK);
    assert_int_equal(r.features[0].status, DRIFT_CRITICAL);
    assert_true(r.features[0].drifted);
    assert_true(r.features[0].ks_p < 1e-6);
    assert_int_equal(r.features[1].status, DRIFT_HEALTHY);
    assert_true(r.features[1].psi < 1e-9);
    assert_int_equal(r.features[3].nulls, 100);
    assert_int_equal(r.status, DRIFT_CRITICAL);
    assert_true(fabs(r.drift_share - 1.0 / 3) < 1e-12);
    char *json = NULL;
    assert_int_equal(drift_report_to_json(&r, "b.json", "logs", &json, err, sizeof err), MMSP_OK);
    assert_non_null(strstr(json, "\"status\": \"critical\""));
    free(json);
    drift_report_free(&r);
    drift_baseline_free(&b);
    free(x);
    free(y);
    free(s);
    free(z);
}

static void test_episode_and_trigger(void **state)
{
    (void)state;
    char dir[] = "/tmp/mmsp-drift-unit.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char st[256], out[256], cmd[600], err[256];
    snprintf(st, sizeof st, "%s/state", dir);
    assert_int_equal(drift_episode_step(st, DRIFT_WARNING), 0);
    assert_int_equal(drift_episode_step(st, DRIFT_CRITICAL), 1);
    assert_int_equal(drift_episode_step(st, DRIFT_CRITICAL), 0);
    assert_int_equal(drift_episode_step(st, DRIFT_WARNING), 0); /* still the same episode */
    assert_int_equal(drift_episode_step(st, DRIFT_CRITICAL), 0);
    assert_int_equal(drift_episode_step(st, DRIFT_HEALTHY), 0); /* episode over */
    assert_int_equal(drift_episode_step(st, DRIFT_CRITICAL), 1);
    snprintf(out, sizeof out, "%s/touched", dir);
    snprintf(cmd, sizeof cmd, "touch");
    assert_int_equal(drift_trigger_command(cmd, out, err, sizeof err), MMSP_OK);
    assert_int_equal(access(out, F_OK), 0);
    assert_int_not_equal(drift_trigger_command("false", out, err, sizeof err), MMSP_OK);
    assert_int_not_equal(drift_trigger_command("/nonexistent/cmd", out, err, sizeof err), MMSP_OK);
    assert_int_not_equal(drift_trigger_command("  ", out, err, sizeof err), MMSP_OK);
    unlink(out);
    unlink(st);
    rmdir(dir);
}

static void test_stream(void **state)
{
    (void)state;
    char dir[] = "/tmp/mmsp-drift-stream.XXXXXX", path[256], err[256];
    assert_non_null(mkdtemp(dir));
    struct drift_baseline b;
    build(&b, 400);
    snprintf(path, sizeof path, "%s/fraud.json", dir);
    assert_int_equal(drift_baseline_save(&b, path, err, sizeof err), MMSP_OK);
    drift_baseline_free(&b);
    snprintf(path, sizeof path, "%s/broken.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"features\": 1}", f);
    fclose(f);
    struct metrics_registry *m = metrics_registry_new();
    struct drift_stream *s = NULL;
    assert_int_equal(drift_stream_new(m, 100, &s, err, sizeof err), MMSP_OK);
    assert_int_equal(drift_stream_load_dir(s, dir, err, sizeof err), MMSP_E_PARSE);
    assert_non_null(strstr(err, "baseline"));
    /* reported once, not again until the file changes */
    assert_int_equal(drift_stream_load_dir(s, dir, err, sizeof err), MMSP_OK);
    assert_true(isnan(drift_stream_psi(s, "fraud", "x")));
    float rows[4 * 100];
    for (size_t i = 0; i < 100; i++) { /* same distribution as the training data */
        rows[i * 4 + 0] = (float)(i * 4);
        rows[i * 4 + 1] = (float)(i % 3);
        rows[i * 4 + 2] = 0;
        rows[i * 4 + 3] = 1.5f;
    }
    drift_stream_observe(s, "fraud", rows, 100, 4);
    drift_stream_observe(s, "other", rows, 100, 4); /* no baseline: ignored */
    drift_stream_observe(s, "fraud", rows, 100, 3); /* wrong width: ignored */
    assert_true(drift_stream_psi(s, "fraud", "x") < 0.01);
    assert_true(drift_stream_share(s, "fraud") == 0);
    for (size_t i = 0; i < 100; i++)
        rows[i * 4 + 0] = (float)(1000 + i); /* all above the last edge */
    drift_stream_observe(s, "fraud", rows, 60, 4);
    double mid = drift_stream_psi(s, "fraud", "x");
    drift_stream_observe(s, "fraud", rows, 100, 4); /* the window now holds only shifted rows */
    double hi = drift_stream_psi(s, "fraud", "x");
    assert_true(mid > 0.2 && hi > mid);
    assert_true(fabs(drift_stream_share(s, "fraud") - 1.0 / 3) < 1e-12);
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(metrics_render(m, &out), MMSP_OK);
    assert_int_equal(buf_append_char(&out, '\0'), MMSP_OK);
    assert_non_null(strstr(out.data, "mmsp_feature_drift_psi{deployment=\"fraud\",feature=\"x\"}"));
    assert_non_null(strstr(out.data, "mmsp_dataset_drift_share{deployment=\"fraud\"} 0.333"));
    buf_release(&out);
    /* the file goes away: so does the deployment's state */
    snprintf(path, sizeof path, "%s/fraud.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/broken.json", dir);
    unlink(path);
    assert_int_equal(drift_stream_load_dir(s, dir, err, sizeof err), MMSP_OK);
    assert_true(isnan(drift_stream_share(s, "fraud")));
    rmdir(dir);
    assert_int_equal(drift_stream_load_dir(s, dir, err, sizeof err), MMSP_OK);
    drift_stream_free(s);
    metrics_registry_free(m);
}

/* The prediction log's feature column names (logcols.c). */
static void test_log_columns(void **state)
{
    (void)state;
    char long_name[400];
    memset(long_name, 'a', sizeof long_name);
    memcpy(long_name + 254, "\xc3\xa9", 2); /* an e-acute across the 255-byte cut */
    long_name[sizeof long_name - 1] = '\0';
    const char *names[] = {"amount", "id",     "amount", "x\ny", "",        NULL,
                           "f5",     "prob_1", "status", "f5",   long_name, "feature_id"};
    size_t n = sizeof names / sizeof *names;
    char(*out)[DRIFT_COLUMN_NAME_MAX + 1] = calloc(n, sizeof *out);
    assert_non_null(out);
    drift_log_feature_columns(names, n, out);
    const char *want[] = {
        "amount", "feature_id",     "amount_2",       "x_y",  "f4", "f5",
        "f5_2",   "feature_prob_1", "feature_status", "f5_3", NULL, "feature_id_2"};
    for (size_t i = 0; i < n; i++)
        if (want[i])
            assert_string_equal(out[i], want[i]);
    assert_int_equal(strlen(out[10]), 254); /* cut before the 2-byte character */
    /* no names: f0.. */
    drift_log_feature_columns(NULL, 3, out);
    assert_string_equal(out[2], "f2");
    assert_true(drift_log_column_reserved("prediction_3"));
    assert_false(drift_log_column_reserved("amount"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psi),
        cmocka_unit_test(test_log_columns),
        cmocka_unit_test(test_js),
        cmocka_unit_test(test_ks),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_report_columns),
        cmocka_unit_test(test_episode_and_trigger),
        cmocka_unit_test(test_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
