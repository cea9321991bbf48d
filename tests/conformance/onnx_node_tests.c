/*
 * ONNX backend conformance: walks libonnx-testdata's data/node/<test>/ directories (each a
 * model.onnx plus test_data_set_N/input_K.pb and output_K.pb TensorProtos), and for every
 * model whose operators are all registered (at the model's opset) loads it with our ONNX back
 * end, runs every data set and compares every output (rtol 1e-3, atol 1e-7, NaN == NaN; exact
 * for integers and bools). Prints one FAIL line per failing test, then
 * "passed P / attempted A / total T" and what kept tests out: operators we do not have, opsets
 * outside 7..17, training mode of the inference-only Dropout and BatchNormalization, and
 * non-tensor graph values (sequences, optionals, maps). Exits 1 when any attempted test fails
 * (a load failure other than an unsupported operator is a failure).
 *
 * It drives the back end through its vtable (runtime/backend.h) rather than mmsp_model_run,
 * because model.c requires one shared dim 0 across all inputs (a serving batch), which
 * node tests such as Add([3,4,5], [5]) do not have. Calls: runtime_onnx_backend, the
 * operator registry (op.h), the protoc-c bindings (onnx-ml.pb-c.h), libc.
 *
 * Usage: onnx_node_tests [DATA_DIR] [-v]   (default /usr/share/libonnx-testdata/data/node)
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx-ml.pb-c.h"
#include "runtime/backend.h"
#include "runtime/onnx/op.h"

#define DEFAULT_DIR "/usr/share/libonnx-testdata/data/node"
#define RTOL        1e-3
#define ATOL        1e-7
#define MAX_MISSING 512

struct missing {
    char op[128];
    int tests;
};

static struct missing missing[MAX_MISSING];
static int n_missing;
static int verbose;

static void note_missing(const char *op)
{
    for (int i = 0; i < n_missing; i++)
        if (strcmp(missing[i].op, op) == 0) {
            missing[i].tests++;
            return;
        }
    if (n_missing < MAX_MISSING) {
        snprintf(missing[n_missing].op, sizeof missing[n_missing].op, "%.120s", op);
        missing[n_missing++].tests = 1;
    }
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* A decoded TensorProto: dtype, shape, native data (owned). */
struct tensor {
    char name[256];
    mmsp_dtype dtype;
    int ndim;
    int64_t shape[MMSP_MAX_DIMS];
    int64_t count;
    void *data;
    size_t nbytes;
};

static int map_dtype(int32_t t, mmsp_dtype *out)
{
    static const struct {
        int32_t onnx;
        mmsp_dtype dt;
    } map[] = {{1, MMSP_DT_FP32},  {2, MMSP_DT_UINT8},   {3, MMSP_DT_INT8},    {4, MMSP_DT_UINT16},
               {5, MMSP_DT_INT16}, {6, MMSP_DT_INT32},   {7, MMSP_DT_INT64},   {9, MMSP_DT_BOOL},
               {11, MMSP_DT_FP64}, {12, MMSP_DT_UINT32}, {13, MMSP_DT_UINT64}, {8, MMSP_DT_BYTES},
               {10, MMSP_DT_FP16}, {16, MMSP_DT_BF16}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].onnx == t) {
            *out = map[i].dt;
            return 0;
        }
    return -1;
}

/*
 * Strings: data is count `const char *` elements followed by the NUL-terminated strings
 * they point to (the layout the back end returns string outputs in); nbytes covers both.
 */
static const char *strings_read(const Onnx__TensorProto *tp, struct tensor *t)
{
    size_t n = (size_t)t->count, bytes = n * sizeof(const char *);
    if (tp->n_string_data != n)
        return "string count does not match the shape in test data";
    for (size_t i = 0; i < n; i++)
        bytes += tp->string_data[i].len + 1;
    t->nbytes = bytes;
    t->data = calloc(1, bytes + 16);
    if (!t->data)
        return "out of memory";
    const char **ptrs = t->data;
    char *s = (char *)t->data + n * sizeof(const char *);
    for (size_t i = 0; i < n; i++) {
        if (tp->string_data[i].len)
            memcpy(s, tp->string_data[i].data, tp->string_data[i].len);
        s[tp->string_data[i].len] = '\0';
        ptrs[i] = s;
        s += tp->string_data[i].len + 1;
    }
    return NULL;
}

/*
 * Decodes a TensorProto file; returns a message on failure, NULL on success. `declared` is
 * the model's type for it: ONNX's numpy has no bfloat16, so its test data stores bfloat16
 * tensors as uint16 bits, read here as the declared bfloat16.
 */
static const char *tensor_read(const char *path, mmsp_dtype declared, struct tensor *t)
{
    size_t len = 0;
    unsigned char *buf = read_file(path, &len);
    Onnx__TensorProto *tp = NULL;
    const char *msg = NULL;

    memset(t, 0, sizeof *t);
    if (!buf)
        return "cannot read a .pb file";
    tp = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!tp)
        return "cannot parse a .pb file";
    snprintf(t->name, sizeof t->name, "%s", tp->name ? tp->name : "");
    if (map_dtype(tp->data_type, &t->dtype)) {
        msg = "test data of an element type the runner does not decode";
        goto out;
    }
    if (tp->n_dims > MMSP_MAX_DIMS) {
        msg = "test tensor of too many dims";
        goto out;
    }
    if (t->dtype == MMSP_DT_UINT16 && declared == MMSP_DT_BF16)
        t->dtype = MMSP_DT_BF16;
    t->ndim = (int)tp->n_dims;
    t->count = 1;
    for (size_t d = 0; d < tp->n_dims; d++) {
        t->shape[d] = tp->dims[d];
        t->count *= tp->dims[d];
    }
    if (t->dtype == MMSP_DT_BYTES) {
        msg = strings_read(tp, t);
        goto out;
    }
    size_t es = mmsp_dtype_size(t->dtype);
    t->nbytes = (size_t)t->count * es;
    t->data = calloc(1, t->nbytes + 16);
    if (!t->data) {
        msg = "out of memory";
        goto out;
    }
    if (tp->has_raw_data) {
        if (tp->raw_data.len != t->nbytes) {
            msg = "raw_data size mismatch in test data";
            goto out;
        }
        if (t->nbytes)
            memcpy(t->data, tp->raw_data.data, t->nbytes);
        goto out;
    }
    for (int64_t i = 0; i < t->count; i++) {
        switch (t->dtype) {
        case MMSP_DT_FP32:
            ((float *)t->data)[i] = i < (int64_t)tp->n_float_data ? tp->float_data[i] : 0;
            break;
        case MMSP_DT_FP64:
            ((double *)t->data)[i] = i < (int64_t)tp->n_double_data ? tp->double_data[i] : 0;
            break;
        case MMSP_DT_INT64:
            ((int64_t *)t->data)[i] = i < (int64_t)tp->n_int64_data ? tp->int64_data[i] : 0;
            break;
        case MMSP_DT_UINT64:
        case MMSP_DT_UINT32: {
            uint64_t v = i < (int64_t)tp->n_uint64_data ? tp->uint64_data[i] : 0;
            if (es == 8)
                ((uint64_t *)t->data)[i] = v;
            else
                ((uint32_t *)t->data)[i] = (uint32_t)v;
            break;
        }
        default: {
            int32_t v = i < (int64_t)tp->n_int32_data ? tp->int32_data[i] : 0;
            if (es == 4)
                ((int32_t *)t->data)[i] = v;
            else if (es == 2)
                ((int16_t *)t->data)[i] = (int16_t)v;
            else
                ((int8_t *)t->data)[i] = (int8_t)v;
        }
        }
    }
out:
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return msg;
}

static int close_enough(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b))
        return a == b;
    return fabs(a - b) <= ATOL + RTOL * fabs(b);
}

/* Compares got (our output) with want; writes a reason into why on mismatch. */
static int compare(const mmsp_tensor *got, const struct tensor *want, char *why, size_t len)
{
    if (got->dtype != want->dtype) {
        snprintf(why, len, "output '%.100s': type %s, expected %s", want->name,
                 mmsp_dtype_name(got->dtype), mmsp_dtype_name(want->dtype));
        return 0;
    }
    if (got->ndim != want->ndim) {
        snprintf(why, len, "output '%.100s': rank %d, expected %d", want->name, got->ndim,
                 want->ndim);
        return 0;
    }
    for (int d = 0; d < want->ndim; d++)
        if (got->shape[d] != want->shape[d]) {
            snprintf(why, len, "output '%.100s': dim %d is %lld, expected %lld", want->name, d,
                     (long long)got->shape[d], (long long)want->shape[d]);
            return 0;
        }
    for (int64_t i = 0; i < want->count; i++) {
        double a, b;
        int ok;
        switch (want->dtype) {
        case MMSP_DT_FP32:
            a = ((const float *)got->data)[i];
            b = ((const float *)want->data)[i];
            ok = close_enough(a, b);
            break;
        case MMSP_DT_FP64:
            a = ((const double *)got->data)[i];
            b = ((const double *)want->data)[i];
            ok = close_enough(a, b);
            break;
        case MMSP_DT_FP16:
            a = onnx_half_to_float(((const uint16_t *)got->data)[i]);
            b = onnx_half_to_float(((const uint16_t *)want->data)[i]);
            ok = close_enough(a, b);
            break;
        case MMSP_DT_BF16:
            a = onnx_bf16_to_float(((const uint16_t *)got->data)[i]);
            b = onnx_bf16_to_float(((const uint16_t *)want->data)[i]);
            ok = close_enough(a, b);
            break;
        case MMSP_DT_BYTES: {
            const char *gs = ((const char *const *)got->data)[i];
            const char *ws = ((const char *const *)want->data)[i];
            if (strcmp(gs, ws) != 0) {
                snprintf(why, len, "output '%.100s'[%lld]: \"%.40s\", expected \"%.40s\"",
                         want->name, (long long)i, gs, ws);
                return 0;
            }
            continue;
        }
        default: {
            size_t es = mmsp_dtype_size(want->dtype);
            ok = memcmp((const char *)got->data + i * es, (const char *)want->data + i * es, es) ==
                 0;
            a = b = 0;
            if (want->dtype == MMSP_DT_INT64) {
                a = (double)((const int64_t *)got->data)[i];
                b = (double)((const int64_t *)want->data)[i];
            } else if (want->dtype == MMSP_DT_INT32) {
                a = ((const int32_t *)got->data)[i];
                b = ((const int32_t *)want->data)[i];
            }
        }
        }
        if (!ok) {
            snprintf(why, len, "output '%.100s'[%lld]: %.9g, expected %.9g", want->name,
                     (long long)i, a, b);
            return 0;
        }
    }
    return 1;
}

static int count_files(const char *dir, const char *prefix)
{
    int n = 0;
    char path[8400];
    for (;;) {
        snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, n);
        FILE *f = fopen(path, "rb");
        if (!f)
            return n;
        fclose(f);
        n++;
    }
}

/* Runs one data set; returns 1 when it passes, 0 when it fails, -1 when the data set
 * contradicts the model (the test is then kept out); *why says what happened. */
static int run_set(void *state, const struct model_desc *desc, const char *dir, char *why,
                   size_t len)
{
    struct tensor in[RUNTIME_MAX_IO], want[RUNTIME_MAX_IO];
    mmsp_tensor x[RUNTIME_MAX_IO], y[RUNTIME_MAX_IO];
    int nin = count_files(dir, "input"), nout = count_files(dir, "output"), ok = 0;
    char path[8400], err[MMSP_ERRMSG_MAX];
    const char *msg;
    int loaded_in = 0, loaded_out = 0;

    if ((size_t)nin != desc->n_inputs || (size_t)nout != desc->n_outputs) {
        snprintf(why, len, "%d inputs / %d outputs in the data, model has %zu / %zu", nin, nout,
                 desc->n_inputs, desc->n_outputs);
        goto out;
    }
    for (int i = 0; i < nin; i++, loaded_in++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", dir, i);
        if ((msg = tensor_read(path, desc->inputs[i].dtype, &in[i]))) {
            snprintf(why, len, "input %d: %s", i, msg);
            goto out;
        }
        x[i] = (mmsp_tensor){.name = desc->inputs[i].name,
                             .dtype = in[i].dtype,
                             .ndim = in[i].ndim,
                             .data = in[i].data,
                             .nbytes = in[i].nbytes};
        memcpy(x[i].shape, in[i].shape, sizeof x[i].shape);
        if (in[i].dtype != desc->inputs[i].dtype || in[i].ndim != desc->inputs[i].ndim) {
            /* The data set contradicts the model's own declaration of this input (ONNX Runtime
             * refuses such a feed too): the test cannot be run as written. */
            snprintf(why, len, "input %d: data is %s rank %d, model declares %s rank %d", i,
                     mmsp_dtype_name(in[i].dtype), in[i].ndim,
                     mmsp_dtype_name(desc->inputs[i].dtype), desc->inputs[i].ndim);
            loaded_in++;
            ok = -1;
            goto out;
        }
    }
    for (int i = 0; i < nout; i++, loaded_out++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", dir, i);
        if ((msg = tensor_read(path, desc->outputs[i].dtype, &want[i]))) {
            snprintf(why, len, "output %d: %s", i, msg);
            goto out;
        }
        size_t cap = want[i].nbytes + 64;
        if (want[i].dtype == MMSP_DT_BYTES) /* room for strings longer than expected */
            cap += (size_t)want[i].count * 64;
        y[i] = (mmsp_tensor){.data = calloc(1, cap), .nbytes = cap};
        if (!y[i].data) {
            snprintf(why, len, "out of memory");
            loaded_out++;
            goto out;
        }
    }
    int64_t batch = nin && in[0].ndim ? in[0].shape[0] : 1;
    mmsp_err rc = runtime_onnx_backend.run(state, x, y, batch, err, sizeof err);
    if (rc) {
        snprintf(why, len, "run: %s", err);
        goto out;
    }
    ok = 1;
    for (int i = 0; i < nout && ok; i++)
        ok = compare(&y[i], &want[i], why, len);
out:
    for (int i = 0; i < loaded_in; i++)
        free(in[i].data);
    for (int i = 0; i < loaded_out; i++) {
        free(want[i].data);
        free(y[i].data);
    }
    return ok;
}

/*
 * Lists the model's operators the registry lacks (at the model's opsets) into missing[];
 * returns how many. Models outside the supported IR/opset range report that instead.
 */
static int unsupported_ops(const unsigned char *data, size_t len, char names[][128], int cap)
{
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, data);
    int n = 0, onnx_v = 0, ml_v = 0;
    if (!mp)
        return 0; /* the loader will say what is wrong: an attempted failure */
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";
        if (!d[0] || strcmp(d, "ai.onnx") == 0)
            onnx_v = (int)mp->opset_import[i]->version;
        else if (strcmp(d, "ai.onnx.ml") == 0)
            ml_v = (int)mp->opset_import[i]->version;
    }
    if (onnx_v && (onnx_v < 7 || onnx_v > 17)) {
        snprintf(names[n++], 128, "(ai.onnx opset %d)", onnx_v);
        goto out;
    }
    /*
     * Outside the runtime's scope, though the operator is registered: the list has
     * Dropout and BatchNormalization for inference only (training mode draws random masks or
     * updates statistics), and the runtime serves tensor models (no sequence/optional/map
     * graph values). These are listed with the unsupported operators, never silently skipped.
     */
    if (mp->graph) {
        const Onnx__GraphProto *g = mp->graph;
        for (size_t i = 0; i < g->n_input + g->n_output && n < cap; i++) {
            const Onnx__ValueInfoProto *vi =
                i < g->n_input ? g->input[i] : g->output[i - g->n_input];
            if (vi->type && vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
                snprintf(names[n++], 128, "(non-tensor graph value)");
                goto out;
            }
        }
        for (size_t i = 0; i < g->n_node && n < cap; i++) {
            const Onnx__NodeProto *np = g->node[i];
            int training =
                strcmp(np->op_type, "Dropout") == 0 && np->n_input >= 3 && np->input[2][0] != '\0';
            for (size_t a = 0;
                 strcmp(np->op_type, "BatchNormalization") == 0 && a < np->n_attribute; a++)
                training |= strcmp(np->attribute[a]->name, "training_mode") == 0 &&
                            np->attribute[a]->i != 0;
            if (training) {
                snprintf(names[n++], 128, "(%s in training mode)", np->op_type);
                goto out;
            }
        }
    }
    for (size_t i = 0; mp->graph && i < mp->graph->n_node && n < cap; i++) {
        const Onnx__NodeProto *np = mp->graph->node[i];
        const char *d = np->domain ? np->domain : "";
        int v = (!d[0] || strcmp(d, "ai.onnx") == 0) ? onnx_v
                : strcmp(d, "ai.onnx.ml") == 0       ? ml_v
                                                     : 0;
        if (v && onnx_op_find(d, np->op_type, v))
            continue;
        char nm[128];
        snprintf(nm, sizeof nm, "%s%s%s", d, d[0] ? ":" : "", np->op_type);
        int dup = 0;
        for (int k = 0; k < n; k++)
            dup |= strcmp(names[k], nm) == 0;
        if (!dup)
            snprintf(names[n++], 128, "%s", nm);
    }
out:
    onnx__model_proto__free_unpacked(mp, NULL);
    return n;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
    const char *root = DEFAULT_DIR;
    struct dirent **ents = NULL;
    int total = 0, attempted = 0, passed = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else
            root = argv[i];
    }
    int n = scandir(root, &ents, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "onnx_node_tests: %s: cannot read the test directory\n", root);
        return 2;
    }
    for (int e = 0; e < n; e++) {
        char dir[4096], path[4200], why[512] = "", err[MMSP_ERRMSG_MAX];
        const char *name = ents[e]->d_name;
        size_t len = 0;
        snprintf(dir, sizeof dir, "%s/%s", root, name);
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        unsigned char *data = name[0] == '.' ? NULL : read_file(path, &len);
        if (!data)
            continue;
        total++;
        char names[64][128];
        int nu = unsupported_ops(data, len, names, 64);
        if (nu) {
            for (int k = 0; k < nu; k++)
                note_missing(names[k]);
            free(data);
            continue;
        }
        attempted++;
        void *state = NULL;
        struct model_desc desc;
        int ok = 0;
        mmsp_err rc = runtime_onnx_backend.load(data, len, name, &state, &desc, err, sizeof err);
        free(data);
        if (rc) {
            snprintf(why, sizeof why, "load: %s", err);
        } else {
            ok = 1;
            for (int s = 0; ok > 0; s++) {
                char set[4200];
                snprintf(set, sizeof set, "%s/test_data_set_%d", dir, s);
                DIR *dd = opendir(set);
                if (!dd) {
                    if (s == 0) {
                        ok = 0;
                        snprintf(why, sizeof why, "no test_data_set_0");
                    }
                    break;
                }
                closedir(dd);
                ok = run_set(state, &desc, set, why, sizeof why);
            }
            runtime_onnx_backend.release(state);
        }
        if (ok < 0) {
            /* kept out, and said so in the summary: see run_set */
            attempted--;
            note_missing("(data set contradicts the model's declared input)");
            if (verbose)
                printf("out  %s: %s\n", name, why);
        } else if (ok) {
            passed++;
            if (verbose)
                printf("ok   %s\n", name);
        } else {
            printf("FAIL %s: %s\n", name, why);
        }
    }
    for (int e = 0; e < n; e++)
        free(ents[e]);
    free(ents);
    printf("passed %d / attempted %d / total %d\n", passed, attempted, total);
    /* most tests kept out first */
    for (int i = 0; i < n_missing; i++)
        for (int j = i + 1; j < n_missing; j++)
            if (missing[j].tests > missing[i].tests) {
                struct missing t = missing[i];
                missing[i] = missing[j];
                missing[j] = t;
            }
    printf("unsupported operators and out-of-scope features (tests kept out):");
    for (int i = 0; i < n_missing; i++)
        printf("%s %s (%d)", i ? "," : "", missing[i].op, missing[i].tests);
    printf("\n");
    return passed == attempted ? 0 : 1;
}
