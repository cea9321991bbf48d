/*
 * Infer-body codec benchmark: parse time per body of a v2 infer request with 30 FP32
 * features, one row and 64 rows, with jansson (json_loadb + walking to the floats, the
 * general-purpose choice), with our json_parse (+ the same walk), and with v2_request_parse
 * (parse + validation + decode into a float tensor); then the response writer for a one-row
 * FP32 output. Bodies come in two spellings: doubles as Python's json.dumps writes them
 * (shortest round-trip, mostly 16-17 digits) and floats as a FP32 writer emits them (<= 9
 * digits). Prints µs per op (best of 5 runs) and the ratios. No arguments.
 * Calls: common/json, common/arena, common/buf, serve/v2_codec, jansson.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/buf.h"
/* jansson's json_type enumerators have the same names as ours (JSON_NULL ... JSON_OBJECT):
 * ours are renamed for this file only, which uses none of them. */
#define JSON_NULL   OUR_JSON_NULL
#define JSON_FALSE  OUR_JSON_FALSE
#define JSON_TRUE   OUR_JSON_TRUE
#define JSON_NUMBER OUR_JSON_NUMBER
#define JSON_STRING OUR_JSON_STRING
#define JSON_ARRAY  OUR_JSON_ARRAY
#define JSON_OBJECT OUR_JSON_OBJECT
#include "common/json.h"
#include "serve/v2_codec.h"
#undef JSON_NULL
#undef JSON_FALSE
#undef JSON_TRUE
#undef JSON_NUMBER
#undef JSON_STRING
#undef JSON_ARRAY
#undef JSON_OBJECT

#define FEATURES 30

static volatile double sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 88172645463325252ULL;

static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 6.0 - 3.0;
}

static void make_body(struct buf *b, int rows, int as_float)
{
    buf_reset(b);
    buf_printf(b,
               "{\"id\":\"bench\",\"inputs\":[{\"name\":\"input\",\"shape\":[%d,%d],"
               "\"datatype\":\"FP32\",\"data\":[",
               rows, FEATURES);
    for (int i = 0; i < rows * FEATURES; i++) {
        if (i)
            buf_append_char(b, ',');
        if (as_float)
            json_write_float(b, (float)rnd());
        else
            json_write_double(b, rnd());
    }
    buf_append_str(b, "]}]}");
}

/* The same work a handler does with jansson: parse, then find inputs[0].data's numbers. */
static double walk_jansson(const char *body, size_t len)
{
    json_error_t e;
    json_t *root = json_loadb(body, len, 0, &e);
    if (!root)
        abort();
    json_t *data = json_object_get(json_array_get(json_object_get(root, "inputs"), 0), "data");
    double s = 0;
    size_t i;
    json_t *v;
    json_array_foreach(data, i, v) s += json_number_value(v);
    json_decref(root);
    return s;
}

static double walk_ours(struct arena *a, const char *body, size_t len)
{
    struct json_value root;
    char err[128];
    if (json_parse(a, body, len, &root, err, sizeof err))
        abort();
    const struct json_value *inputs = json_get(&root, "inputs");
    const struct json_value *data = json_get(&inputs->u.items[0], "data");
    double s = 0;
    for (uint32_t i = 0; i < data->len; i++)
        s += data->u.items[i].u.num.d;
    arena_reset(a);
    return s;
}

static double v2_parse(struct arena *a, const char *body, size_t len)
{
    struct v2_request r;
    char err[MMSP_ERRMSG_MAX];
    if (v2_request_parse(a, body, len, -1, &r, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    double s = ((const float *)r.inputs[0].data)[0];
    arena_reset(a);
    return s;
}

enum which { JANSSON, JSON_PARSE, V2_PARSE };

/* Best of 5 runs of iters calls, in µs per call. */
static double time_parse(enum which w, const char *body, size_t len, int iters)
{
    struct arena a;
    arena_init(&a, 64 * 1024, 64 << 20);
    double best = 1e30;
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        for (int i = 0; i < iters; i++) {
            if (w == JANSSON)
                sink = walk_jansson(body, len);
            else if (w == JSON_PARSE)
                sink = walk_ours(&a, body, len);
            else
                sink = v2_parse(&a, body, len);
        }
        double us = (now() - t0) * 1e6 / iters;
        if (us < best)
            best = us;
    }
    arena_release(&a);
    return best;
}

static void bench_body(const char *label, int rows, int as_float, int iters)
{
    struct buf b;
    buf_init(&b, 16 << 20);
    make_body(&b, rows, as_float);
    double tj = time_parse(JANSSON, b.data, b.len, iters);
    double to = time_parse(JSON_PARSE, b.data, b.len, iters);
    double tv = time_parse(V2_PARSE, b.data, b.len, iters);
    printf("%-34s %6zu B  jansson %8.3f us  json_parse %7.3f us (%5.1fx)  "
           "v2_request_parse %7.3f us (%5.1fx)\n",
           label, b.len, tj, to, tj / to, tv, tj / tv);
    buf_release(&b);
}

static void bench_response(int cols, int iters)
{
    float y[FEATURES];
    for (int i = 0; i < cols; i++)
        y[i] = (float)rnd();
    mmsp_tensor t = {.name = "predict",
                     .dtype = MMSP_DT_FP32,
                     .ndim = 2,
                     .shape = {1, cols},
                     .data = y,
                     .nbytes = sizeof(float) * (size_t)cols};
    struct buf b;
    buf_init(&b, 1 << 20);
    double best = 1e30, best_bin = 1e30;
    int bin = 1;
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        for (int i = 0; i < iters; i++) {
            size_t jl;
            buf_reset(&b);
            if (v2_response_write(&b, &jl, "fraud-detector", "1", "bench", &t, NULL, 1))
                abort();
        }
        double us = (now() - t0) * 1e6 / iters;
        best = us < best ? us : best;
        t0 = now();
        for (int i = 0; i < iters; i++) {
            size_t jl;
            buf_reset(&b);
            if (v2_response_write(&b, &jl, "fraud-detector", "1", "bench", &t, &bin, 1))
                abort();
        }
        us = (now() - t0) * 1e6 / iters;
        best_bin = us < best_bin ? us : best_bin;
    }
    /* jansson for the same response, for scale. */
    double best_j = 1e30;
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        for (int i = 0; i < iters; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "model_name", json_string("fraud-detector"));
            json_object_set_new(o, "model_version", json_string("1"));
            json_object_set_new(o, "id", json_string("bench"));
            json_t *out = json_object();
            json_object_set_new(out, "name", json_string("predict"));
            json_object_set_new(out, "datatype", json_string("FP32"));
            json_object_set_new(out, "shape", json_pack("[ii]", 1, cols));
            json_t *d = json_array();
            for (int k = 0; k < cols; k++)
                json_array_append_new(d, json_real(y[k]));
            json_object_set_new(out, "data", d);
            json_object_set_new(o, "outputs", json_pack("[o]", out));
            char *s = json_dumps(o, JSON_COMPACT);
            sink = (double)strlen(s);
            free(s);
            json_decref(o);
        }
        double us = (now() - t0) * 1e6 / iters;
        best_j = us < best_j ? us : best_j;
    }
    printf("response FP32[1,%-2d]                   jansson %8.3f us  v2_response_write JSON "
           "%6.3f us (%5.1fx), binary %6.3f us\n",
           cols, best_j, best, best_j / best, best_bin);
    buf_release(&b);
}

int main(void)
{
    printf("bench_codec: v2 infer bodies with %d FP32 features; best of 5 runs\n", FEATURES);
    bench_body("1 row, doubles (Python repr)", 1, 0, 100000);
    bench_body("1 row, floats (<= 9 digits)", 1, 1, 100000);
    bench_body("64 rows, doubles (Python repr)", 64, 0, 2000);
    bench_body("64 rows, floats (<= 9 digits)", 64, 1, 2000);
    bench_response(1, 200000);
    bench_response(2, 200000);
    return 0;
}
