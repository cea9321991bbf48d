/*
 * Benchmark: mmsp's ONNX runtime in process, on the models and inputs written by
 * bench/onnx/build_models.py (figures, not a test; bench/onnx/run compares them with ONNX
 * Runtime's, bench/onnx/bench_ort.js). For every line "name model input rows cols" of
 * DIR/cases.txt: loads DIR/model through mmsp_model_load, runs it on the rows x cols float32
 * rows of DIR/input (one call per batch of `rows`), warms up, then times SAMPLES samples of
 * enough back-to-back mmsp_model_run calls to last >= 5 ms each, and prints the median
 * wall-clock ns per run (CLOCK_MONOTONIC, as bench_ort.js measures ONNX Runtime) and per-run
 * CPU time of this thread, and rows/s:
 *     RESULT name rows ns_per_run rows_per_s cpu_ns_per_run
 * The first output of the last run is written to DIR/name.mmsp.out.bin (float32) for the
 * comparison. At the end prints the number of threads of the process (/proc/self/task), so
 * the driver can check the runtime runs on the calling thread only (OpenBLAS spawns its pool
 * unless OPENBLAS_NUM_THREADS=1, which bench/onnx/run sets).
 * Usage: bench_onnx DIR. Calls: the mmsp runtime (include/mmsp/runtime.h), libc.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmsp/mmsp.h"
#include "../bench_util.h"

#define SAMPLES   31      /* timed samples; the median is reported */
#define SAMPLE_NS 5000000 /* each sample lasts at least this long */
#define WARMUP_NS 300000000

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

struct run {
    const mmsp_model *m;
    mmsp_tensor in;
    mmsp_tensor *out;
    size_t n_out;
};

static void run_once(struct run *r)
{
    char err[MMSP_ERRMSG_MAX];
    if (mmsp_model_run(r->m, &r->in, 1, r->out, r->n_out, err, sizeof err) != MMSP_OK) {
        fprintf(stderr, "bench_onnx: mmsp_model_run: %s\n", err);
        exit(1);
    }
}

static int bench_case(const char *dir, const char *name, const char *model, const char *input,
                      long rows, long cols)
{
    char path[4096], err[MMSP_ERRMSG_MAX];
    mmsp_model *m;
    snprintf(path, sizeof path, "%s/%s", dir, model);
    if (mmsp_model_load(path, &m, err, sizeof err) != MMSP_OK) {
        fprintf(stderr, "bench_onnx: %s\n", err);
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, input);
    size_t len = 0;
    float *x = read_file(path, &len);
    if (!x || len != (size_t)(rows * cols) * sizeof(float)) {
        fprintf(stderr, "bench_onnx: %s: missing or not %ld x %ld float32\n", path, rows, cols);
        free(x);
        mmsp_model_release(m);
        return 1;
    }
    const mmsp_io_info *ii = mmsp_model_input(m, 0);
    struct run r = {.m = m,
                    .in = {.name = ii->name,
                           .dtype = MMSP_DT_FP32,
                           .ndim = 2,
                           .shape = {rows, cols},
                           .data = x,
                           .nbytes = len}};
    r.n_out = mmsp_model_output_count(m);
    r.out = calloc(r.n_out, sizeof *r.out);
    for (size_t i = 0; i < r.n_out; i++) {
        r.out[i].nbytes = mmsp_model_output_bytes(m, i, rows);
        r.out[i].data = malloc(r.out[i].nbytes ? r.out[i].nbytes : 1);
    }

    /* Warm-up (plan for this batch size, workspace, caches), and iterations per sample. */
    long iters = 0;
    double t0 = bench_clock_ns(CLOCK_MONOTONIC), t = t0;
    while (t - t0 < WARMUP_NS) {
        run_once(&r);
        iters++;
        t = bench_clock_ns(CLOCK_MONOTONIC);
    }
    long per_sample = (long)(SAMPLE_NS / ((t - t0) / (double)iters)) + 1;
    double wall[SAMPLES], cpu[SAMPLES];
    for (int s = 0; s < SAMPLES; s++) {
        double w0 = bench_clock_ns(CLOCK_MONOTONIC), c0 = bench_cpu_ns();
        for (long i = 0; i < per_sample; i++)
            run_once(&r);
        cpu[s] = (bench_cpu_ns() - c0) / (double)per_sample;
        wall[s] = (bench_clock_ns(CLOCK_MONOTONIC) - w0) / (double)per_sample;
    }
    double ns = median(wall, SAMPLES), cns = median(cpu, SAMPLES);
    printf("RESULT %s %ld %.1f %.0f %.1f\n", name, rows, ns, (double)rows * 1e9 / ns, cns);

    snprintf(path, sizeof path, "%s/%s.mmsp.out.bin", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(r.out[0].data, 1, r.out[0].nbytes, f) != r.out[0].nbytes) {
        fprintf(stderr, "bench_onnx: cannot write %s\n", path);
        return 1;
    }
    fclose(f);
    for (size_t i = 0; i < r.n_out; i++)
        free(r.out[i].data);
    free(r.out);
    free(x);
    mmsp_model_release(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_onnx DIR   (DIR written by bench/onnx/build_models.py)\n");
        return 2;
    }
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/cases.txt", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_onnx: cannot open %s\n", path);
        return 1;
    }
    int status = 0;
    while (fgets(line, sizeof line, f)) {
        char name[256], model[256], input[256];
        long rows, cols;
        if (sscanf(line, "%255s %255s %255s %ld %ld", name, model, input, &rows, &cols) != 5)
            continue;
        status |= bench_case(argv[1], name, model, input, rows, cols);
    }
    fclose(f);
    printf("THREADS %d\n", thread_count());
    return status;
}
