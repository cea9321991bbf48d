/*
 * Unit tests for src/gateway/predlog_parquet.c (the Parquet prediction-log writer): records
 * written through a prediction log come back from our Parquet reader with every column and
 * value; rows go into several row groups; a record with another feature count starts a new
 * file; the size bound rotates; a record without inputs gets null features; no "*.tmp" file
 * is left once the log is closed; features are named after the model's names (sanitized,
 * deduplicated) and a change of names starts a new file; multi-output predictions and
 * probabilities get prediction_k / prob_k columns.
 * Calls: gateway/predlog, parquet (reader), cmocka.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/predlog.h"
#include "parquet/parquet.h"
#include "../test_dir.h"

/* The predictions-* files of dir sorted by name (caller frees); fails on a leftover .tmp. */
static size_t list_files(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(e->d_name);
        assert_true(len > 8 && strcmp(e->d_name + len - 8, ".parquet") == 0);
        assert_int_equal(strncmp(e->d_name, "predictions-", 12), 0);
        assert_true(n < max);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, test_cmp_str);
    return n;
}

static struct predlog *open_log(const char *dir, size_t max_bytes, size_t rg_rows)
{
    struct predlog_writer *w = NULL;
    assert_int_equal(predlog_writer_parquet(rg_rows, &w), MMSP_OK);
    struct predlog_options o = {.dir = dir, .max_bytes = max_bytes, .writer = w};
    struct predlog *log = NULL;
    char err[256] = "";
    if (predlog_open(&o, &log, err, sizeof err))
        fail_msg("predlog_open: %s", err);
    return log;
}

/* One record of nfeat features: inputs i, i+1, ...; prediction i * 0.5. */
static void write_rec(struct predlog *log, int i, int nfeat, const char *entity)
{
    float in[8], pred[1] = {(float)i * 0.5f};
    for (int j = 0; j < nfeat; j++)
        in[j] = (float)(i + j);
    char id[32];
    snprintf(id, sizeof id, "req-%d", i);
    mmsp_tensor ti = {.dtype = MMSP_DT_FP32,
                      .ndim = 2,
                      .shape = {1, nfeat},
                      .data = in,
                      .nbytes = (size_t)nfeat * 4};
    mmsp_tensor tp = {.dtype = MMSP_DT_FP32, .ndim = 1, .shape = {1}, .data = pred, .nbytes = 4};
    struct predlog_record r = {.time_ms = 1795000000000 + i,
                               .id = id,
                               .deployment = "fraud",
                               .environment = "production",
                               .model = "fraud-model",
                               .version = 3,
                               .variant = i % 2 ? "canary" : "stable",
                               .entity_id = entity,
                               .inputs = nfeat ? &ti : NULL,
                               .prediction = nfeat ? &tp : NULL,
                               .latency_ms = 1.5 + i,
                               .status = nfeat ? "ok" : "UNAVAILABLE"};
    assert_int_equal(predlog_write(log, &r), MMSP_OK);
}

static struct parquet_reader *open_file(const char *dir, const char *name)
{
    char path[4096], err[256] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct parquet_reader *r = NULL;
    if (parquet_open(path, &r, err, sizeof err))
        fail_msg("%s: %s", name, err);
    return r;
}

static void read_col(struct parquet_reader *r, const char *name, struct parquet_column *c)
{
    int i = parquet_reader_column_index(r, name);
    if (i < 0)
        fail_msg("no column %s", name);
    char err[256] = "";
    if (parquet_read_column_all(r, (size_t)i, c, err, sizeof err))
        fail_msg("column %s: %s", name, err);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = test_make_dir("mmsp-predlog-pq");
    struct predlog *log = open_log(dir, 0, 100);
    for (int i = 0; i < 250; i++)
        write_rec(log, i, 3, i == 7 ? "cust-7" : NULL);
    predlog_close(log);

    char *names[16];
    size_t nf = list_files(dir, names, 16);
    assert_int_equal(nf, 1);
    struct parquet_reader *r = open_file(dir, names[0]);
    assert_int_equal(parquet_reader_rows(r), 250);
    assert_int_equal(parquet_reader_row_groups(r), 3); /* 100 + 100 + 50 */
    const struct parquet_schema *s = parquet_reader_schema(r);
    assert_int_equal(s->ncols, 14);
    const char *want[] = {"time",    "id",         "deployment", "environment", "model",
                          "version", "variant",    "entity_id",  "f0",          "f1",
                          "f2",      "prediction", "latency_ms", "status"};
    for (size_t i = 0; i < 14; i++)
        assert_string_equal(s->fields[i].name, want[i]);
    assert_int_equal(s->fields[0].type, PARQUET_TIMESTAMP_MS);
    assert_int_equal(s->fields[5].type, PARQUET_INT64);
    assert_int_equal(s->fields[9].type, PARQUET_DOUBLE);

    struct parquet_column t, id, f2, pred, ent, var, lat;
    read_col(r, "time", &t);
    read_col(r, "id", &id);
    read_col(r, "f2", &f2);
    read_col(r, "prediction", &pred);
    read_col(r, "entity_id", &ent);
    read_col(r, "variant", &var);
    read_col(r, "latency_ms", &lat);
    for (size_t i = 0; i < 250; i++) {
        assert_int_equal(((int64_t *)t.values)[i], 1795000000000 + (int64_t)i);
        char want_id[32];
        snprintf(want_id, sizeof want_id, "req-%zu", i);
        assert_int_equal(id.offsets[i + 1] - id.offsets[i], strlen(want_id));
        assert_memory_equal(id.data + id.offsets[i], want_id, strlen(want_id));
        assert_true(((double *)f2.values)[i] == (double)(i + 2));
        assert_true(((double *)pred.values)[i] == (double)i * 0.5);
        assert_true(((double *)lat.values)[i] == 1.5 + (double)i);
        assert_int_equal(parquet_column_is_null(&ent, i), i != 7);
        const char *v = i % 2 ? "canary" : "stable";
        assert_memory_equal(var.data + var.offsets[i], v, 6);
    }
    assert_memory_equal(ent.data + ent.offsets[7], "cust-7", 6);
    parquet_column_free(&t);
    parquet_column_free(&id);
    parquet_column_free(&f2);
    parquet_column_free(&pred);
    parquet_column_free(&ent);
    parquet_column_free(&var);
    parquet_column_free(&lat);
    parquet_close(r);
    free(names[0]);
    test_remove_dir(dir);
    free(dir);
}

static void test_schema_change_and_nulls(void **state)
{
    (void)state;
    char *dir = test_make_dir("mmsp-predlog-pq");
    struct predlog *log = open_log(dir, 0, 0);
    for (int i = 0; i < 5; i++)
        write_rec(log, i, 2, NULL);
    write_rec(log, 5, 0, NULL); /* no inputs: null features in the current file */
    for (int i = 6; i < 9; i++)
        write_rec(log, i, 4, NULL); /* another schema: a new file */
    predlog_close(log);

    char *names[16];
    size_t nf = list_files(dir, names, 16);
    assert_int_equal(nf, 2);
    struct parquet_reader *a = open_file(dir, names[0]);
    struct parquet_reader *b = open_file(dir, names[1]);
    assert_int_equal(parquet_reader_rows(a), 6);
    assert_int_equal(parquet_reader_rows(b), 3);
    assert_int_equal(parquet_reader_column_index(a, "f2"), -1);
    assert_int_equal(parquet_reader_column_index(b, "f3"), 11);
    struct parquet_column f0, st;
    read_col(a, "f0", &f0);
    read_col(a, "status", &st);
    assert_true(parquet_column_is_null(&f0, 5));
    assert_false(parquet_column_is_null(&f0, 4));
    assert_memory_equal(st.data + st.offsets[5], "UNAVAILABLE", 11);
    parquet_column_free(&f0);
    parquet_column_free(&st);
    read_col(b, "f3", &f0);
    assert_true(((double *)f0.values)[0] == 9.0);
    parquet_column_free(&f0);
    parquet_close(a);
    parquet_close(b);
    for (size_t i = 0; i < nf; i++)
        free(names[i]);
    test_remove_dir(dir);
    free(dir);
}

static void test_rotation(void **state)
{
    (void)state;
    char *dir = test_make_dir("mmsp-predlog-pq");
    struct predlog *log = open_log(dir, 4096, 16);
    for (int i = 0; i < 600; i++)
        write_rec(log, i, 3, NULL);
    predlog_close(log);
    char *names[256];
    size_t nf = list_files(dir, names, 256);
    assert_true(nf >= 3);
    int64_t total = 0, next = 1795000000000;
    for (size_t i = 0; i < nf; i++) {
        struct parquet_reader *r = open_file(dir, names[i]);
        total += parquet_reader_rows(r);
        struct parquet_column t;
        read_col(r, "time", &t);
        for (size_t k = 0; k < t.rows; k++) /* in order across the files */
            assert_int_equal(((int64_t *)t.values)[k], next++);
        parquet_column_free(&t);
        parquet_close(r);
        free(names[i]);
    }
    assert_int_equal(total, 600);
    test_remove_dir(dir);
    free(dir);
}

/* Names by version, as the gateway's back end would give them: version 5 has none, version 6
 * fails, version 7 has fewer names than inputs. */
static int names_calls;
static mmsp_err fake_names(void *ctx, const struct predlog_entry *e, char **names, size_t max,
                           size_t *n)
{
    (void)ctx;
    names_calls++;
    static const char *const v3[] = {"amount", "id", "amount", "a\tb"};
    static const char *const v4[] = {"amount", "age", "n3", "prob_x"};
    const char *const *src = e->version == 3 ? v3 : e->version == 4 ? v4 : v3;
    *n = 0;
    if (e->version == 5)
        return MMSP_OK;
    if (e->version == 6)
        return MMSP_E_UNAVAILABLE;
    size_t k = e->version == 7 ? 3 : 4;
    assert_true(k <= max);
    for (size_t i = 0; i < k; i++)
        names[i] = strdup(src[i]);
    *n = k;
    return MMSP_OK;
}

/* One record of 2 rows x 4 features at `version`, with 2 predictions and 3 probabilities per
 * row when wide. */
static void write_named(struct predlog *log, int64_t version, int i, int wide)
{
    float in[8], pred[4], prob[6];
    for (int j = 0; j < 8; j++)
        in[j] = (float)(i * 10 + j);
    for (int j = 0; j < 4; j++)
        pred[j] = (float)j + 0.25f;
    for (int j = 0; j < 6; j++)
        prob[j] = (float)j / 8.0f;
    mmsp_tensor ti = {.dtype = MMSP_DT_FP32, .ndim = 2, .shape = {2, 4}, .data = in, .nbytes = 32};
    mmsp_tensor tp = {.dtype = MMSP_DT_FP32,
                      .ndim = wide ? 2 : 1,
                      .shape = {2, wide ? 2 : 0},
                      .data = pred,
                      .nbytes = wide ? 16 : 8};
    mmsp_tensor tq = {
        .dtype = MMSP_DT_FP32, .ndim = 2, .shape = {2, 3}, .data = prob, .nbytes = 24};
    struct predlog_record r = {.time_ms = 1795000000000 + i,
                               .id = "x",
                               .deployment = "fraud",
                               .environment = "production",
                               .model = "fraud",
                               .version = version,
                               .variant = "stable",
                               .inputs = &ti,
                               .prediction = &tp,
                               .probabilities = wide ? &tq : NULL,
                               .latency_ms = 1,
                               .status = "ok"};
    if (!wide)
        tp.shape[0] = 2;
    assert_int_equal(predlog_write(log, &r), MMSP_OK);
}

static void assert_columns(struct parquet_reader *r, const char *const *want, size_t n)
{
    const struct parquet_schema *s = parquet_reader_schema(r);
    if (s->ncols != n)
        fail_msg("%zu columns, want %zu", s->ncols, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s->fields[i].name, want[i]);
}

static void test_feature_names(void **state)
{
    (void)state;
    char *dir = test_make_dir("mmsp-predlog-pq");
    struct predlog_writer *w = NULL;
    assert_int_equal(predlog_writer_parquet(0, &w), MMSP_OK);
    struct predlog_options o = {.dir = dir, .writer = w, .feature_names = fake_names};
    struct predlog *log = NULL;
    char err[256] = "";
    if (predlog_open(&o, &log, err, sizeof err))
        fail_msg("predlog_open: %s", err);
    names_calls = 0;
    write_named(log, 3, 0, 0);
    write_named(log, 3, 1, 0); /* same names: same file, names asked once */
    write_named(log, 4, 2, 1); /* other names, wide outputs: file 2 */
    write_named(log, 5, 3, 1); /* no names: f0.. (file 3) */
    write_named(log, 6, 4, 1); /* lookup fails: f0.., same file */
    write_named(log, 7, 5, 1); /* 3 names for 4 inputs: f0.. */
    write_named(log, 4, 6, 0); /* one prediction per row again: file 4 */
    predlog_close(log);
    assert_int_equal(names_calls, 5);

    char *names[16];
    size_t nf = list_files(dir, names, 16);
    assert_int_equal(nf, 4);
    static const char *const c1[] = {"time",       "id",         "deployment", "environment",
                                     "model",      "version",    "variant",    "entity_id",
                                     "amount",     "feature_id", "amount_2",   "a_b",
                                     "prediction", "latency_ms", "status"};
    static const char *const c2[] = {"time",       "id",           "deployment",   "environment",
                                     "model",      "version",      "variant",      "entity_id",
                                     "amount",     "age",          "n3",           "feature_prob_x",
                                     "prediction", "prediction_0", "prediction_1", "prob_0",
                                     "prob_1",     "prob_2",       "latency_ms",   "status"};
    static const char *const c3[] = {"time",       "id",           "deployment",   "environment",
                                     "model",      "version",      "variant",      "entity_id",
                                     "f0",         "f1",           "f2",           "f3",
                                     "prediction", "prediction_0", "prediction_1", "prob_0",
                                     "prob_1",     "prob_2",       "latency_ms",   "status"};
    struct parquet_reader *r = open_file(dir, names[0]);
    assert_columns(r, c1, 15);
    assert_int_equal(parquet_reader_rows(r), 4);
    struct parquet_column c;
    read_col(r, "amount_2", &c);
    assert_true(((double *)c.values)[3] == 16.0); /* record 1, row 1, feature 2 */
    parquet_column_free(&c);
    read_col(r, "prediction", &c);
    assert_true(((double *)c.values)[1] == 1.25);
    parquet_column_free(&c);
    parquet_close(r);
    r = open_file(dir, names[1]);
    assert_columns(r, c2, 20);
    read_col(r, "prediction_1", &c);
    assert_true(((double *)c.values)[1] == 3.25); /* row 1, output 1 */
    assert_true(parquet_column_is_null(&c, 0) == 0);
    parquet_column_free(&c);
    read_col(r, "prob_2", &c);
    assert_true(((double *)c.values)[1] == 5.0 / 8.0);
    parquet_column_free(&c);
    read_col(r, "prediction", &c);
    assert_true(parquet_column_is_null(&c, 0)); /* not one number per row */
    parquet_column_free(&c);
    parquet_close(r);
    r = open_file(dir, names[2]);
    assert_columns(r, c3, 20);
    assert_int_equal(parquet_reader_rows(r), 6); /* versions 5, 6, 7 */
    parquet_close(r);
    r = open_file(dir, names[3]);
    static const char *const c4[] = {"time",       "id",         "deployment", "environment",
                                     "model",      "version",    "variant",    "entity_id",
                                     "amount",     "age",        "n3",         "feature_prob_x",
                                     "prediction", "latency_ms", "status"};
    assert_columns(r, c4, 15);
    parquet_close(r);
    for (size_t i = 0; i < nf; i++)
        free(names[i]);
    test_remove_dir(dir);
    free(dir);
}

static void test_bad_options(void **state)
{
    (void)state;
    struct predlog_writer *w = NULL;
    assert_int_equal(predlog_writer_parquet(1u << 20, &w), MMSP_E_INVALID);
    assert_null(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_schema_change_and_nulls),
        cmocka_unit_test(test_rotation),    cmocka_unit_test(test_feature_names),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
