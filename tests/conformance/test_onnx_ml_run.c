/*
 * The C side of the ONNX Runtime oracle test (test_onnxruntime_oracle.sh), and a self-check.
 *
 * With arguments `MODEL INPUT ROWS COLS OUT`: loads MODEL through the public runtime API
 * (mmsp_model_load, mmsp_model_run), feeds INPUT (ROWS x COLS little-endian float32) to its
 * single input and writes every output to OUT as text: a line "name dtype ndim dims..." then
 * one value per line (floats %.9g, integers, strings), for onnx_oracle.py to compare with
 * ONNX Runtime.
 *
 * With no arguments (how ctest runs it): builds small ai.onnx.ml models in memory with a
 * minimal protobuf writer (no ONNX tooling needed) and checks hand-computed results through the
 * same API: a TreeEnsembleRegressor at split boundaries for BRANCH_LEQ / BRANCH_GT (the forest
 * path) and BRANCH_EQ with aggregate MAX (the per-node walk), a TreeEnsembleClassifier's
 * two-class rule, and Scaler -> LinearClassifier -> ZipMap.
 *
 * Calls: include/mmsp/runtime.h, libc.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmsp/runtime.h"

#define OUT_CAP (64u << 20)

static int run_file(const char *model, const char *input, long rows, long cols, const char *out)
{
    char err[MMSP_ERRMSG_MAX];
    mmsp_model *m = NULL;
    int ret = 1;
    size_t n = (size_t)rows * (size_t)cols;
    float *x = malloc(n * sizeof *x + 1);
    FILE *f = fopen(input, "rb");
    if (!x || !f || fread(x, sizeof *x, n, f) != n) {
        fprintf(stderr, "test_onnx_ml_run: %s: cannot read %zu floats\n", input, n);
        if (f)
            fclose(f);
        free(x);
        return 1;
    }
    fclose(f);
    if (mmsp_model_load(model, &m, err, sizeof err)) {
        fprintf(stderr, "test_onnx_ml_run: %s\n", err);
        free(x);
        return 1;
    }
    const mmsp_io_info *in = mmsp_model_input(m, 0);
    mmsp_tensor t = {.name = in->name,
                     .dtype = MMSP_DT_FP32,
                     .ndim = 2,
                     .shape = {rows, cols},
                     .data = x,
                     .nbytes = n * sizeof *x};
    size_t no = mmsp_model_output_count(m);
    mmsp_tensor *o = calloc(no, sizeof *o);
    for (size_t i = 0; o && i < no; i++) {
        o[i].nbytes = OUT_CAP;
        o[i].data = malloc(OUT_CAP);
        if (!o[i].data)
            goto out;
    }
    if (!o)
        goto out;
    if (mmsp_model_run(m, &t, 1, o, no, err, sizeof err)) {
        fprintf(stderr, "test_onnx_ml_run: %s\n", err);
        goto out;
    }
    FILE *w = fopen(out, "w");
    if (!w)
        goto out;
    for (size_t i = 0; i < no; i++) {
        int64_t cnt = 1;
        fprintf(w, "%s %s %d", o[i].name, mmsp_dtype_name(o[i].dtype), o[i].ndim);
        for (int d = 0; d < o[i].ndim; d++) {
            fprintf(w, " %lld", (long long)o[i].shape[d]);
            cnt *= o[i].shape[d];
        }
        fprintf(w, "\n");
        for (int64_t k = 0; k < cnt; k++) {
            switch (o[i].dtype) {
            case MMSP_DT_FP32:
                fprintf(w, "%.9g\n", (double)((float *)o[i].data)[k]);
                break;
            case MMSP_DT_FP64:
                fprintf(w, "%.17g\n", ((double *)o[i].data)[k]);
                break;
            case MMSP_DT_INT64:
                fprintf(w, "%lld\n", (long long)((int64_t *)o[i].data)[k]);
                break;
            case MMSP_DT_INT32:
                fprintf(w, "%d\n", ((int32_t *)o[i].data)[k]);
                break;
            case MMSP_DT_BYTES:
                fprintf(w, "%s\n", ((const char **)o[i].data)[k]);
                break;
            default:
                fprintf(w, "?\n");
                break;
            }
        }
    }
    ret = fclose(w) != 0;
out:
    for (size_t i = 0; o && i < no; i++)
        free(o[i].data);
    free(o);
    free(x);
    mmsp_model_release(m);
    return ret;
}

/* ---- a minimal protobuf writer for the self-check ---- */

struct pb {
    unsigned char buf[8192];
    size_t len;
};

static void pb_varint(struct pb *p, uint64_t v)
{
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        p->buf[p->len++] = (unsigned char)(c | (v ? 0x80 : 0));
    } while (v);
}
static void pb_tag(struct pb *p, int field, int wire)
{
    pb_varint(p, (uint64_t)(field << 3 | wire));
}
static void pb_int(struct pb *p, int field, int64_t v)
{
    pb_tag(p, field, 0);
    pb_varint(p, (uint64_t)v);
}
static void pb_bytes(struct pb *p, int field, const void *d, size_t n)
{
    pb_tag(p, field, 2);
    pb_varint(p, n);
    memcpy(p->buf + p->len, d, n);
    p->len += n;
}
static void pb_str(struct pb *p, int field, const char *s)
{
    pb_bytes(p, field, s, strlen(s));
}
static void pb_msg(struct pb *p, int field, const struct pb *m)
{
    pb_bytes(p, field, m->buf, m->len);
}

/* AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, strings 9, type 20. */
static void attr_ints(struct pb *node, const char *name, int n, const int64_t *v)
{
    struct pb a = {.len = 0};
    pb_str(&a, 1, name);
    for (int k = 0; k < n; k++)
        pb_int(&a, 8, v[k]);
    pb_int(&a, 20, 7);
    pb_msg(node, 5, &a);
}
static void attr_floats(struct pb *node, const char *name, int n, const float *v)
{
    struct pb a = {.len = 0};
    pb_str(&a, 1, name);
    for (int k = 0; k < n; k++) {
        pb_tag(&a, 7, 5);
        memcpy(a.buf + a.len, &v[k], 4);
        a.len += 4;
    }
    pb_int(&a, 20, 6);
    pb_msg(node, 5, &a);
}
static void attr_strings(struct pb *node, const char *name, int n, const char *const *v)
{
    struct pb a = {.len = 0};
    pb_str(&a, 1, name);
    for (int k = 0; k < n; k++)
        pb_str(&a, 9, v[k]);
    pb_int(&a, 20, 8);
    pb_msg(node, 5, &a);
}
static void attr_int(struct pb *node, const char *name, int64_t v)
{
    struct pb a = {.len = 0};
    pb_str(&a, 1, name);
    pb_int(&a, 3, v);
    pb_int(&a, 20, 2);
    pb_msg(node, 5, &a);
}
static void attr_string(struct pb *node, const char *name, const char *v)
{
    struct pb a = {.len = 0};
    pb_str(&a, 1, name);
    pb_str(&a, 4, v);
    pb_int(&a, 20, 3);
    pb_msg(node, 5, &a);
}

/* ValueInfoProto for a tensor [N, cols] (cols 0: rank 1 [N]) of ONNX elem type `et`. */
static void value_info(struct pb *g, int field, const char *name, int et, int64_t cols)
{
    struct pb vi = {.len = 0}, tp = {.len = 0}, tt = {.len = 0}, sh = {.len = 0}, d0 = {.len = 0},
              d1 = {.len = 0};
    pb_str(&d0, 2, "N");
    pb_msg(&sh, 1, &d0);
    if (cols) {
        pb_int(&d1, 1, cols);
        pb_msg(&sh, 1, &d1);
    }
    pb_int(&tt, 1, et);
    pb_msg(&tt, 2, &sh);
    pb_msg(&tp, 1, &tt);
    pb_str(&vi, 1, name);
    pb_msg(&vi, 2, &tp);
    pb_msg(g, field, &vi);
}

static void node_begin(struct pb *n, const char *op, const char *in, const char *out,
                       const char *out2)
{
    n->len = 0;
    pb_str(n, 1, in);
    pb_str(n, 2, out);
    if (out2)
        pb_str(n, 2, out2);
    pb_str(n, 3, op);
    pb_str(n, 4, op);
    pb_str(n, 7, "ai.onnx.ml");
}

/* ModelProto: ir_version 1, graph 7, opset_import 8 ("" 13 and ai.onnx.ml 3). */
static mmsp_model *model_make(const struct pb *graph)
{
    static struct pb m;
    struct pb o1 = {.len = 0}, o2 = {.len = 0};
    char err[MMSP_ERRMSG_MAX];
    mmsp_model *mm = NULL;
    m.len = 0;
    pb_int(&m, 1, 7);
    pb_str(&o1, 1, "");
    pb_int(&o1, 2, 13);
    pb_str(&o2, 1, "ai.onnx.ml");
    pb_int(&o2, 2, 3);
    pb_msg(&m, 8, &o1);
    pb_msg(&m, 8, &o2);
    pb_msg(&m, 7, graph);
    if (mmsp_model_load_buffer(m.buf, m.len, "onnx", "selfcheck", &mm, err, sizeof err))
        fprintf(stderr, "self-check: load failed: %s\n", err);
    return mm;
}

static int run_rows(mmsp_model *m, const float *x, int64_t rows, int64_t cols, void *o0, void *o1)
{
    char err[MMSP_ERRMSG_MAX];
    mmsp_tensor t = {.name = mmsp_model_input(m, 0)->name,
                     .dtype = MMSP_DT_FP32,
                     .ndim = 2,
                     .shape = {rows, cols},
                     .data = (void *)x,
                     .nbytes = (size_t)(rows * cols) * sizeof *x};
    mmsp_tensor o[2] = {{.data = o0, .nbytes = 4096}, {.data = o1, .nbytes = 4096}};
    if (mmsp_model_run(m, &t, 1, o, mmsp_model_output_count(m), err, sizeof err)) {
        fprintf(stderr, "self-check: run failed: %s\n", err);
        return 1;
    }
    return 0;
}

static int failures;

static void expect(const char *what, double got, double want)
{
    if (fabs(got - want) > 1e-5 * (1 + fabs(want))) {
        fprintf(stderr, "self-check: %s: got %.9g, want %.9g\n", what, got, want);
        failures++;
    }
}

/* One tree: node 0 splits feature 0 at 0.5 with `mode`, leaves 1 (true, 1.0) and 2 (2.0);
 * a second tree (id 1) is a single leaf worth 0.25. */
static void tree_regressor(const char *mode, const char *agg, const float *x, int n,
                           const float *want)
{
    struct pb g = {.len = 0}, nd;
    const int64_t tids[] = {0, 0, 0, 1}, nids[] = {0, 1, 2, 0}, fids[] = {0, 0, 0, 0};
    const int64_t tru[] = {1, 0, 0, 0}, fal[] = {2, 0, 0, 0};
    const float vals[] = {0.5f, 0, 0, 0}, w[] = {1.0f, 2.0f, 0.25f}, base[] = {10.0f};
    const char *modes[] = {mode, "LEAF", "LEAF", "LEAF"};
    const int64_t wt[] = {0, 0, 1}, wn[] = {1, 2, 0}, wi[] = {0, 0, 0};
    node_begin(&nd, "TreeEnsembleRegressor", "X", "Y", NULL);
    attr_ints(&nd, "nodes_treeids", 4, tids);
    attr_ints(&nd, "nodes_nodeids", 4, nids);
    attr_ints(&nd, "nodes_featureids", 4, fids);
    attr_ints(&nd, "nodes_truenodeids", 4, tru);
    attr_ints(&nd, "nodes_falsenodeids", 4, fal);
    attr_floats(&nd, "nodes_values", 4, vals);
    attr_strings(&nd, "nodes_modes", 4, modes);
    attr_ints(&nd, "target_treeids", 3, wt);
    attr_ints(&nd, "target_nodeids", 3, wn);
    attr_ints(&nd, "target_ids", 3, wi);
    attr_floats(&nd, "target_weights", 3, w);
    attr_floats(&nd, "base_values", 1, base);
    attr_int(&nd, "n_targets", 1);
    attr_string(&nd, "aggregate_function", agg);
    pb_msg(&g, 1, &nd);
    pb_str(&g, 2, "g");
    value_info(&g, 11, "X", 1, 1);
    value_info(&g, 12, "Y", 1, 1);
    mmsp_model *m = model_make(&g);
    float y[64];
    if (!m || run_rows(m, x, n, 1, y, NULL)) {
        failures++;
        mmsp_model_release(m);
        return;
    }
    for (int i = 0; i < n; i++) {
        char what[96];
        snprintf(what, sizeof what, "TreeEnsembleRegressor %s %s x=%g", mode, agg, (double)x[i]);
        expect(what, y[i], want[i]);
    }
    mmsp_model_release(m);
}

/* Two labels {7, 9}, weights only for class 1 (the two-class rule), post_transform LOGISTIC. */
static void tree_classifier_binary(void)
{
    struct pb g = {.len = 0}, nd;
    const int64_t tids[] = {0, 0, 0}, nids[] = {0, 1, 2}, fids[] = {0, 0, 0};
    const int64_t tru[] = {1, 0, 0}, fal[] = {2, 0, 0}, labels[] = {7, 9};
    const float vals[] = {0.0f, 0, 0}, w[] = {-1.5f, 2.0f};
    const char *modes[] = {"BRANCH_LT", "LEAF", "LEAF"};
    const int64_t wt[] = {0, 0}, wn[] = {1, 2}, wi[] = {1, 1};
    node_begin(&nd, "TreeEnsembleClassifier", "X", "label", "prob");
    attr_ints(&nd, "nodes_treeids", 3, tids);
    attr_ints(&nd, "nodes_nodeids", 3, nids);
    attr_ints(&nd, "nodes_featureids", 3, fids);
    attr_ints(&nd, "nodes_truenodeids", 3, tru);
    attr_ints(&nd, "nodes_falsenodeids", 3, fal);
    attr_floats(&nd, "nodes_values", 3, vals);
    attr_strings(&nd, "nodes_modes", 3, modes);
    attr_ints(&nd, "class_treeids", 2, wt);
    attr_ints(&nd, "class_nodeids", 2, wn);
    attr_ints(&nd, "class_ids", 2, wi);
    attr_floats(&nd, "class_weights", 2, w);
    attr_ints(&nd, "classlabels_int64s", 2, labels);
    attr_string(&nd, "post_transform", "LOGISTIC");
    pb_msg(&g, 1, &nd);
    pb_str(&g, 2, "g");
    value_info(&g, 11, "X", 1, 1);
    value_info(&g, 12, "label", 7, 0);
    value_info(&g, 12, "prob", 1, 2);
    mmsp_model *m = model_make(&g);
    const float x[] = {-1.0f, 1.0f, NAN};
    int64_t lab[8];
    float p[16];
    if (!m || run_rows(m, x, 3, 1, lab, p)) {
        failures++;
        mmsp_model_release(m);
        return;
    }
    /* x < 0: s = -1.5 -> [sigmoid(1.5), sigmoid(-1.5)], label 7; else s = 2 -> label 9 */
    double s1 = 1.0 / (1.0 + exp(1.5)), s2 = 1.0 / (1.0 + exp(-2.0));
    expect("classifier p1 row 0", p[1], s1);
    expect("classifier p0 row 0", p[0], 1 - s1);
    expect("classifier p1 row 1", p[3], s2);
    expect("classifier label row 0", (double)lab[0], 7);
    expect("classifier label row 1", (double)lab[1], 9);
    expect("classifier label NaN row (false branch)", (double)lab[2], 9);
    mmsp_model_release(m);
}

/* Scaler (x - 1) * 2 -> LinearClassifier (3 classes, SOFTMAX) -> ZipMap. */
static void linear_zipmap(void)
{
    struct pb g = {.len = 0}, nd;
    const float off[] = {1.0f}, sc[] = {2.0f}, coef[] = {1, 0, 0, 1, -1, -1};
    const float icpt[] = {0.0f, 0.5f, 0.0f};
    const int64_t labels[] = {0, 1, 2};
    node_begin(&nd, "Scaler", "X", "S", NULL);
    attr_floats(&nd, "offset", 1, off);
    attr_floats(&nd, "scale", 1, sc);
    pb_msg(&g, 1, &nd);
    node_begin(&nd, "LinearClassifier", "S", "label", "P");
    attr_floats(&nd, "coefficients", 6, coef);
    attr_floats(&nd, "intercepts", 3, icpt);
    attr_ints(&nd, "classlabels_ints", 3, labels);
    attr_string(&nd, "post_transform", "SOFTMAX");
    pb_msg(&g, 1, &nd);
    node_begin(&nd, "ZipMap", "P", "Z", NULL);
    attr_ints(&nd, "classlabels_int64s", 3, labels);
    pb_msg(&g, 1, &nd);
    pb_str(&g, 2, "g");
    value_info(&g, 11, "X", 1, 2);
    value_info(&g, 12, "label", 7, 0);
    value_info(&g, 12, "Z", 1, 3);
    mmsp_model *m = model_make(&g);
    const float x[] = {2.0f, 1.0f}; /* scaled: [2, 0]; scores [2, 0.5, -2] */
    int64_t lab[4];
    float z[8];
    if (!m || run_rows(m, x, 1, 2, lab, z)) {
        failures++;
        mmsp_model_release(m);
        return;
    }
    double e0 = exp(2.0), e1 = exp(0.5), e2 = exp(-2.0), s = e0 + e1 + e2;
    expect("zipmap p0", z[0], e0 / s);
    expect("zipmap p1", z[1], e1 / s);
    expect("zipmap p2", z[2], e2 / s);
    expect("linear label", (double)lab[0], 0);
    mmsp_model_release(m);
}

static int self_check(void)
{
    const float x[] = {0.4f, 0.5f, 0.50000006f, 0.6f, NAN};
    /* LEQ: 0.5 goes true (1.0); NaN goes false (2.0); + 0.25 + base 10 */
    const float leq[] = {11.25f, 11.25f, 12.25f, 12.25f, 12.25f};
    const float gt[] = {12.25f, 12.25f, 11.25f, 11.25f, 12.25f};
    const float eq_max[] = {12.0f, 11.0f, 12.0f, 12.0f, 12.0f};
    tree_regressor("BRANCH_LEQ", "SUM", x, 5, leq);
    tree_regressor("BRANCH_GT", "SUM", x, 5, gt);
    tree_regressor("BRANCH_EQ", "MAX", x, 5, eq_max);
    tree_classifier_binary();
    linear_zipmap();
    if (failures) {
        fprintf(stderr, "test_onnx_ml_run self-check: %d failures\n", failures);
        return 1;
    }
    printf("test_onnx_ml_run self-check: ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 1)
        return self_check();
    if (argc != 6) {
        fprintf(stderr, "usage: %s [MODEL INPUT ROWS COLS OUT]\n", argv[0]);
        return 2;
    }
    return run_file(argv[1], argv[2], atol(argv[3]), atol(argv[4]), argv[5]);
}
