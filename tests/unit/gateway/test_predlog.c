/*
 * Unit tests for src/gateway/predlog.c (the prediction log): records reach the JSON-lines
 * files in order with every field, files rotate once they pass the size bound, a full queue
 * drops and counts without blocking (the writer is held inside write_record by the test), close
 * writes everything still queued, the counters reach the metrics registry, and bad options are
 * refused with a message.
 * Calls: gateway/predlog, metrics, jansson, cmocka.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "gateway/predlog.h"
#include "metrics/metrics.h"
#include "../test_dir.h"

/* The log files of dir, sorted by name (the <seq> part orders them within a second; the
 * timestamp part before it orders them across seconds). */
static size_t list_files(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "predictions-", 12) == 0) {
            assert_true(n < max);
            names[n++] = strdup(e->d_name);
        }
    closedir(d);
    qsort(names, n, sizeof *names, test_cmp_str);
    return n;
}

/* Every line of every file in order: appended to lines (json objects), returns the count. */
static size_t read_lines(const char *dir, json_t *lines, size_t *n_files)
{
    char *names[4096];
    size_t nf = list_files(dir, names, 4096);
    size_t total = 0;
    for (size_t i = 0; i < nf; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, f)) > 0) {
            assert_int_equal(line[len - 1], '\n');
            json_error_t je;
            json_t *o = json_loadb(line, (size_t)len, 0, &je);
            if (!o)
                fail_msg("%s: bad JSON line: %s", names[i], je.text);
            json_array_append_new(lines, o);
            total++;
        }
        free(line);
        fclose(f);
        free(names[i]);
    }
    if (n_files)
        *n_files = nf;
    return total;
}

static void fill_record(struct predlog_record *r, char *id, size_t idlen, int i, float *in,
                        float *pred, mmsp_tensor *ti, mmsp_tensor *tp)
{
    snprintf(id, idlen, "req-%06d", i);
    in[0] = (float)i;
    in[1] = 0.5f;
    in[2] = -1.25f;
    in[3] = 2.0f;
    pred[0] = 0.25f;
    pred[1] = 0.75f;
    *ti =
        (mmsp_tensor){.dtype = MMSP_DT_FP32, .ndim = 2, .shape = {2, 2}, .data = in, .nbytes = 16};
    *tp = (mmsp_tensor){.dtype = MMSP_DT_FP32, .ndim = 1, .shape = {2}, .data = pred, .nbytes = 8};
    *r = (struct predlog_record){.time_ms = 1795000000123 + i,
                                 .id = id,
                                 .deployment = "fraud",
                                 .environment = "production",
                                 .model = "fraud-model",
                                 .version = 3,
                                 .variant = i % 2 ? "canary" : "stable",
                                 .entity_id = NULL,
                                 .inputs = ti,
                                 .prediction = tp,
                                 .probabilities = NULL,
                                 .latency_ms = 1.5,
                                 .status = "ok"};
}

static void write_n(struct predlog *log, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char id[32];
        float in[4], pred[2];
        mmsp_tensor ti, tp;
        struct predlog_record r;
        fill_record(&r, id, sizeof id, i, in, pred, &ti, &tp);
        assert_int_equal(predlog_write(log, &r), MMSP_OK);
    }
}

static void test_records_in_order(void **state)
{
    (void)state;
    char *dir = test_make_dir("mmsp-predlog");
    char err[MMSP_ERRMSG_MAX] = "";
    struct predlog *log = NULL;
    assert_int_equal(predlog_open_dir(dir, 0, 0, &log, err, sizeof err), MMSP_OK);
    write_n(log, 0, 3000);
    predlog_flush(log);
    assert_int_equal(predlog_written(log), 3000);
    /* predlog_flush pushed the lines into the file before close. */
    json_t *lines = json_array();
    assert_int_equal(read_lines(dir, lines, NULL), 3000);
    json_decref(lines);
    predlog_close(log);

    lines = json_array();
    size_t nf = 0;
    assert_int_equal(read_lines(dir, lines, &nf), 3000);
    assert_int_equal(nf, 1);
    for (size_t i = 0; i < 3000; i++) {
        json_t *o = json_array_get(lines, i);
        char want[32];
        snprintf(want, sizeof want, "req-%06zu", i);
        assert_string_equal(json_string_value(json_object_get(o, "id")), want);
        if (i == 0) {
            char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            assert_string_equal(
                text, "{\"time\":\"2026-11-18T11:06:40.123Z\",\"id\":\"req-000000\","
                      "\"deployment\":\"fraud\",\"environment\":\"production\",\"model\":"
                      "\"fraud-model\",\"version\":3,\"variant\":\"stable\",\"entity_id\":null,"
                      "\"inputs\":[[0,0.5],[-1.25,2]],\"prediction\":[0.25,0.75],"
                      "\"probabilities\":null,\"latency_ms\":1.5,\"status\":\"ok\"}");
            free(text);
        }
    }
    json_decref(lines);
    test_remove_dir(dir);
    free(dir);
}

static void test_rotation(void **state)
{
    (void)state;
    char *dir = test_make_dir("mmsp-predlog");
    char err[MMSP_ERRMSG_MAX] = "";
    struct predlog *log = NULL;
    const size_t max_bytes = 4096;
    assert_int_equal(predlog_open_dir(dir, max_bytes, 0, &log, err, sizeof err), MMSP_OK);
    write_n(log, 0, 500);
    predlog_close(log);

    char *names[4096];
    size_t nf = list_files(dir, names, 4096);
    size_t total_lines = 0;
    int next_id = 0;
    assert_true(nf > 5);
    for (size_t i = 0; i < nf; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char *line = NULL;
        size_t cap = 0, size = 0, last = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, f)) > 0) {
            /* No file goes on after passing the bound: every line but the last starts below. */
            assert_true(size < max_bytes);
            char want[32];
            snprintf(want, sizeof want, "\"id\":\"req-%06d\"", next_id++);
            assert_non_null(strstr(line, want));
            size += (size_t)len;
            last = (size_t)len;
            total_lines++;
        }
        free(line);
        fclose(f);
        /* Rotated files passed the bound with their last line; the last file may be short. */
        if (i + 1 < nf) {
            assert_true(size >= max_bytes);
            assert_true(size - last < max_bytes);
        }
        assert_non_null(strstr(names[i], ".jsonl"));
        free(names[i]);
    }
    assert_int_equal(total_lines, 500);
    test_remove_dir(dir);
    free(dir);
}

/* A writer that the test holds inside write_record: the disk is "stuck". */
struct gate_writer {
    struct predlog_writer base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered; /* records that reached write_record */
    int open;    /* let write_record return */
    int seen[64];
    int n_seen;
};

static mmsp_err gate_open(struct predlog_writer *w, const char *path, char *err, size_t errlen)
{
    (void)w, (void)path, (void)err, (void)errlen;
    return MMSP_OK;
}

static mmsp_err gate_write(struct predlog_writer *w, const struct predlog_entry *e, size_t *bytes,
                           char *err, size_t errlen)
{
    (void)err, (void)errlen;
    struct gate_writer *g = (struct gate_writer *)w;
    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    if (g->n_seen < 64)
        g->seen[g->n_seen++] = atoi(e->id + 4);
    pthread_mutex_unlock(&g->mu);
    *bytes = 1;
    return MMSP_OK;
}

static mmsp_err gate_close(struct predlog_writer *w, char *err, size_t errlen)
{
    (void)w, (void)err, (void)errlen;
    return MMSP_OK;
}

static void gate_free(struct predlog_writer *w)
{
    (void)w; /* the test owns it */
}

static const struct predlog_writer_ops gate_ops = {.name = "gate",
                                                   .extension = "gate",
                                                   .open_file = gate_open,
                                                   .write_record = gate_write,
                                                   .close_file = gate_close,
                                                   .free = gate_free};

static void test_full_queue_drops(void **state)
{
    (void)state;
    char *dir = test_make_dir("mmsp-predlog");
    char err[MMSP_ERRMSG_MAX] = "";
    struct gate_writer g = {.base.ops = &gate_ops};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    struct metrics_registry *m = metrics_registry_new();
    assert_non_null(m);
    struct predlog_options o = {.dir = dir, .queue = 4, .writer = &g.base, .metrics = m};
    struct predlog *log = NULL;
    assert_int_equal(predlog_open(&o, &log, err, sizeof err), MMSP_OK);

    /* Record 0 goes to the writer, which holds it. */
    write_n(log, 0, 1);
    pthread_mutex_lock(&g.mu);
    while (g.entered < 1)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    /* 1..4 fill the ring; 5..14 find it full and return at once (the writer is still stuck:
     * a blocking write would hang this test). */
    write_n(log, 1, 4);
    for (int i = 5; i < 15; i++) {
        char id[32];
        float in[4], pred[2];
        mmsp_tensor ti, tp;
        struct predlog_record r;
        fill_record(&r, id, sizeof id, i, in, pred, &ti, &tp);
        assert_int_equal(predlog_write(log, &r), MMSP_E_UNAVAILABLE);
    }
    assert_int_equal(predlog_dropped(log), 10);
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    predlog_flush(log);
    assert_int_equal(predlog_written(log), 5);
    /* After the stall the queue accepts again. */
    write_n(log, 15, 2);
    predlog_close(log);
    assert_int_equal(g.n_seen, 7);
    int want[7] = {0, 1, 2, 3, 4, 15, 16};
    for (int i = 0; i < 7; i++)
        assert_int_equal(g.seen[i], want[i]);

    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(m, &b), MMSP_OK);
    assert_non_null(strstr(b.data, "\nmmsp_prediction_log_records_total 7\n"));
    assert_non_null(strstr(b.data, "\nmmsp_prediction_log_dropped_total 10\n"));
    buf_release(&b);
    metrics_registry_free(m);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
    test_remove_dir(dir);
    free(dir);
}

/* Close right after a burst: every queued record is in the files. */
static void test_close_flushes(void **state)
{
    (void)state;
    char *dir = test_make_dir("mmsp-predlog");
    char err[MMSP_ERRMSG_MAX] = "";
    struct predlog *log = NULL;
    assert_int_equal(predlog_open_dir(dir, 1 << 16, 100000, &log, err, sizeof err), MMSP_OK);
    write_n(log, 0, 20000);
    predlog_close(log);
    json_t *lines = json_array();
    size_t nf = 0;
    assert_int_equal(read_lines(dir, lines, &nf), 20000);
    assert_true(nf > 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 19999), "id")),
                        "req-019999");
    json_decref(lines);
    test_remove_dir(dir);
    free(dir);
}

struct writer_arg {
    struct predlog *log;
    int from;
};

static void *writer_thread(void *p)
{
    struct writer_arg *a = p;
    for (int i = a->from; i < a->from + 5000; i++) {
        char id[32];
        float in[4], pred[2];
        mmsp_tensor ti, tp;
        struct predlog_record r;
        fill_record(&r, id, sizeof id, i, in, pred, &ti, &tp);
        mmsp_err rc = predlog_write(a->log, &r);
        if (rc != MMSP_OK && rc != MMSP_E_UNAVAILABLE)
            return (void *)1;
    }
    return NULL;
}

/* Eight threads at once into a small queue: every record is either written or counted as
 * dropped, and the files hold exactly the written ones. */
static void test_concurrent_writers(void **state)
{
    (void)state;
    char *dir = test_make_dir("mmsp-predlog");
    char err[MMSP_ERRMSG_MAX] = "";
    struct predlog *log = NULL;
    assert_int_equal(predlog_open_dir(dir, 1 << 20, 256, &log, err, sizeof err), MMSP_OK);
    pthread_t t[8];
    struct writer_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (struct writer_arg){.log = log, .from = i * 5000};
        assert_int_equal(pthread_create(&t[i], NULL, writer_thread, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    predlog_flush(log);
    uint64_t written = predlog_written(log), dropped = predlog_dropped(log);
    predlog_close(log);
    assert_int_equal(written + dropped, 40000);
    json_t *lines = json_array();
    assert_int_equal(read_lines(dir, lines, NULL), written);
    json_decref(lines);
    test_remove_dir(dir);
    free(dir);
}

static void test_bad_options(void **state)
{
    (void)state;
    char err[MMSP_ERRMSG_MAX] = "";
    struct predlog *log = NULL;
    assert_int_equal(predlog_open_dir("/proc/no-such-dir/x", 0, 0, &log, err, sizeof err),
                     MMSP_E_IO);
    assert_non_null(strstr(err, "/proc/no-such-dir/x"));
    assert_null(log);
    err[0] = 0;
    assert_int_equal(predlog_open_dir("", 0, 0, &log, err, sizeof err), MMSP_E_INVALID);
    assert_true(err[0]);
    /* A NULL log is a no-op. */
    struct predlog_record r = {.id = "x"};
    assert_int_equal(predlog_write(NULL, &r), MMSP_OK);
    predlog_close(NULL);
}

/* Tensors that are not FP32, and odd strings, are written as valid JSON. */
static void test_entry_json(void **state)
{
    (void)state;
    int32_t ints[2] = {1, 2};
    struct predlog_entry e = {
        .time_ms = 0,
        .id = "a\"b\n",
        .inputs = {.dtype = MMSP_DT_INT32, .ndim = 1, .shape = {2}, .data = ints, .nbytes = 8},
    };
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(predlog_entry_json(&b, &e), MMSP_OK);
    json_error_t je;
    json_t *o = json_loads(b.data, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "id")), "a\"b\n");
    assert_string_equal(json_string_value(json_object_get(o, "time")), "1970-01-01T00:00:00.000Z");
    assert_true(json_is_null(json_object_get(o, "inputs")));
    assert_true(json_is_null(json_object_get(o, "deployment")));
    json_decref(o);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_in_order),   cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_full_queue_drops),   cmocka_unit_test(test_close_flushes),
        cmocka_unit_test(test_concurrent_writers), cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_entry_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
