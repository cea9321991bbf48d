/*
 * Online feature lookups per second for one entity with 30 features (bench/features/run):
 *   bench_features embedded DATA_DIR VIEW KEY   in-process reads of the embedded store
 *   bench_features redis URL VIEW KEY DATA_DIR  pipelined HMGETs against Redis (batches of
 *                                               256 lookups per round trip)
 * Each copies the 30 values out of the record, as a caller would. Prints one line:
 * "<mode>: N lookups in S s = R lookups/s". Calls: features (store, online stores).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "features/online.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sink {
    double vals[64];
    size_t found;
};

static void on_rec(void *ctx, size_t idx, const struct online_record *rec)
{
    (void)idx;
    struct sink *s = ctx;
    if (!rec)
        return;
    s->found++;
    for (size_t i = 0; i < rec->n_values && i < 64; i++)
        s->vals[i] = rec->values[i].d;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_features embedded DATA VIEW KEY | redis URL VIEW KEY DATA\n");
        return 2;
    }
    int redis = strcmp(argv[1], "redis") == 0;
    const char *data = redis ? (argc > 5 ? argv[5] : "mmsp-data") : argv[2];
    char err[1024];
    struct feat_store *fs;
    struct online_store *o;
    struct feat_view *v = malloc(sizeof *v);
    if (!v || feat_store_open(data, NULL, &fs, err, sizeof err) ||
        online_store_open(redis ? argv[2] : NULL, fs, &o, err, sizeof err) ||
        feat_store_get_view(fs, argv[3], v, err, sizeof err)) {
        fprintf(stderr, "bench_features: %s\n", err);
        return 1;
    }
    size_t batch = redis ? 256 : 1;
    const char **keys = calloc(batch, sizeof *keys);
    for (size_t i = 0; i < batch; i++)
        keys[i] = argv[4];
    struct sink s = {{0}, 0};
    double budget = 2.0, t0 = now_s(), t;
    size_t n = 0;
    do {
        for (int k = 0; k < 1000; k++) {
            if (o->ops->read(o, v, keys, batch, on_rec, &s, err, sizeof err)) {
                fprintf(stderr, "bench_features: %s\n", err);
                return 1;
            }
            n += batch;
        }
        t = now_s() - t0;
    } while (t < budget);
    if (s.found != n) {
        fprintf(stderr, "bench_features: entity %s not found (%zu of %zu)\n", argv[4], s.found, n);
        return 1;
    }
    printf("%s (%zu features): %zu lookups in %.2f s = %.0f lookups/s\n",
           redis ? "redis pipelined" : "embedded in-process", v->n_features, n, t, (double)n / t);
    online_store_free(o);
    feat_store_close(fs);
    free(keys);
    free(v);
    return 0;
}
