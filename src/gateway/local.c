/*
 * The gateway's in-process back end (gateway.h gateway_backend_local): a request takes a
 * reference on the exact version from the inference role's model manager (serve/repo.h) and
 * runs the model on the calling thread with mmsp_model_run. The dynamic batcher is not used:
 * it is bound to suspended HTTP connections, and the gateway needs the answer in the handler
 * (docs/gateway.md "In-process back end"). Outputs are copied into malloc'd buffers.
 * Calls: serve/repo, mmsp runtime.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "serve/fault.h"
#include "serve/repo.h"

struct local_backend {
    struct gateway_backend base;
    struct serve_repo *repo; /* borrowed */
};

static mmsp_err acquire(struct local_backend *lb, const char *model, int64_t version,
                        struct serve_version **v, char *err, size_t errlen)
{
    mmsp_err rc = serve_repo_acquire(lb->repo, model, version, v, err, errlen);
    if (rc == MMSP_E_NOT_FOUND) /* the deployment exists: its version is just not loaded yet */
        rc = MMSP_E_UNAVAILABLE;
    return rc;
}

/* A copy of `t` converted to FP32 in a malloc'd buffer (the probabilities' dtype). */
static mmsp_err copy_fp32(const mmsp_tensor *t, mmsp_tensor *out)
{
    size_t es = mmsp_dtype_size(t->dtype), n = es ? t->nbytes / es : 0;
    float *d = malloc(n ? n * sizeof(float) : 1);
    if (!d)
        return MMSP_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case MMSP_DT_FP32:
            d[i] = ((const float *)t->data)[i];
            break;
        case MMSP_DT_FP64:
            d[i] = (float)((const double *)t->data)[i];
            break;
        case MMSP_DT_INT64:
            d[i] = (float)((const int64_t *)t->data)[i];
            break;
        case MMSP_DT_INT32:
            d[i] = (float)((const int32_t *)t->data)[i];
            break;
        default:
            d[i] = 0;
        }
    }
    *out = *t;
    out->name = NULL;
    out->dtype = MMSP_DT_FP32;
    out->data = d;
    out->nbytes = n * sizeof(float);
    return MMSP_OK;
}

/*
 * Classifier probabilities: an output named "probabilities" (ONNX classifiers), else from
 * XGBoost's predict output when it holds probabilities: binary P(1) becomes [1 - p, p] per
 * row; multi:softprob rows are the probabilities already.
 */
static mmsp_err probabilities(const mmsp_model_info *info, const mmsp_tensor *outs, size_t n_out,
                              const mmsp_tensor *pred, mmsp_tensor *out)
{
    for (size_t i = 0; i < n_out; i++)
        if (outs[i].name && strcmp(outs[i].name, "probabilities") == 0 &&
            mmsp_dtype_size(outs[i].dtype))
            return copy_fp32(&outs[i], out);
    if (info->task == MMSP_TASK_REGRESSION || !info->output_is_probability)
        return MMSP_OK;
    size_t w = 1;
    for (int d = 1; d < pred->ndim; d++)
        w *= (size_t)pred->shape[d];
    if (info->task == MMSP_TASK_MULTICLASS)
        return w > 1 ? copy_fp32(pred, out) : MMSP_OK;
    if (w != 1 || pred->dtype != MMSP_DT_FP32)
        return MMSP_OK;
    size_t rows = (size_t)pred->shape[0];
    float *d = malloc(rows ? rows * 2 * sizeof(float) : 1);
    if (!d)
        return MMSP_E_NOMEM;
    for (size_t r = 0; r < rows; r++) {
        float p = ((const float *)pred->data)[r];
        d[2 * r] = 1.0f - p;
        d[2 * r + 1] = p;
    }
    *out = (mmsp_tensor){.dtype = MMSP_DT_FP32,
                         .ndim = 2,
                         .shape = {(int64_t)rows, 2},
                         .data = d,
                         .nbytes = rows * 2 * sizeof(float)};
    return MMSP_OK;
}

#define MAX_OUTPUTS 16

static mmsp_err local_infer(struct gateway_backend *b, const char *model, int64_t version,
                            const mmsp_tensor *input, unsigned timeout_ms,
                            struct gateway_result *out, char *err, size_t errlen)
{
    struct local_backend *lb = (struct local_backend *)b;
    struct serve_version *v = NULL;
    mmsp_tensor outs[MAX_OUTPUTS] = {0};
    void *bufs[MAX_OUTPUTS] = {0};
    mmsp_tensor x = *input;
    void *converted = NULL;
    (void)timeout_ms; /* runs inline: the model's own run time is the bound */
    *out = (struct gateway_result){0};
    mmsp_err rc = acquire(lb, model, version, &v, err, errlen);
    if (rc)
        goto out;
    const mmsp_model *m = v->model;
    size_t n_out = mmsp_model_output_count(m);
    if (mmsp_model_input_count(m) != 1 || n_out == 0 || n_out > MAX_OUTPUTS) {
        snprintf(err, errlen,
                 "model '%s' version %lld has %zu inputs and %zu outputs; the "
                 "gateway serves models with one tabular input",
                 model, (long long)version, mmsp_model_input_count(m), n_out);
        rc = MMSP_E_UNSUPPORTED;
        goto out;
    }
    const mmsp_io_info *io = mmsp_model_input(m, 0);
    x.name = io->name;
    int64_t rows = input->shape[0];
    if (v->config.max_batch_size > 0 && rows > v->config.max_batch_size) {
        snprintf(err, errlen, "%lld rows exceed max_batch_size %lld of model '%s'", (long long)rows,
                 (long long)v->config.max_batch_size, model);
        rc = MMSP_E_INVALID;
        goto out;
    }
    if (io->dtype == MMSP_DT_FP64) { /* some ONNX models take doubles */
        size_t n = input->nbytes / sizeof(float);
        double *d = malloc(n ? n * sizeof(double) : 1);
        if (!(converted = d)) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            d[i] = ((const float *)input->data)[i];
        x.dtype = MMSP_DT_FP64;
        x.data = d;
        x.nbytes = n * sizeof(double);
    } else if (io->dtype != MMSP_DT_FP32) {
        snprintf(err, errlen, "model '%s' takes %s input; the gateway sends FP32 rows", model,
                 mmsp_dtype_name(io->dtype) ? mmsp_dtype_name(io->dtype) : "?");
        rc = MMSP_E_DTYPE;
        goto out;
    }
    for (size_t i = 0; i < n_out; i++) {
        size_t bytes = mmsp_model_output_bytes(m, i, rows);
        if (!bytes) {
            snprintf(err, errlen, "output '%s' of model '%s' has no static size",
                     mmsp_model_output(m, i)->name, model);
            rc = MMSP_E_UNSUPPORTED;
            goto out;
        }
        if (!(bufs[i] = malloc(bytes))) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        outs[i].data = bufs[i];
        outs[i].nbytes = bytes;
    }
    /* test builds only (serve/fault.h): a chosen version fails or answers slowly */
    rc = serve_fault_apply(model, version, err, errlen);
    if (rc)
        goto out;
    rc = mmsp_model_run(m, &x, 1, outs, n_out, err, errlen);
    if (rc)
        goto out;
    size_t p = 0;
    for (size_t i = 0; i < n_out; i++)
        if (outs[i].name && strcmp(outs[i].name, "predict") == 0)
            p = i;
    if ((rc = probabilities(v->info, outs, n_out, &outs[p], &out->probabilities)))
        goto out;
    out->prediction = outs[p];
    out->prediction.name = NULL; /* points into the model; the caller keeps the result longer */
    bufs[p] = NULL;              /* owned by the result now */
out:
    if (rc)
        gateway_result_free(out);
    for (size_t i = 0; i < MAX_OUTPUTS; i++)
        free(bufs[i]);
    free(converted);
    serve_version_release(v);
    return rc;
}

static mmsp_err local_feature_names(struct gateway_backend *b, const char *model, int64_t version,
                                    char **names, size_t max, size_t *n, char *err, size_t errlen)
{
    struct local_backend *lb = (struct local_backend *)b;
    struct serve_version *v = NULL;
    size_t k = 0;
    *n = 0;
    mmsp_err rc = acquire(lb, model, version, &v, err, errlen);
    if (rc)
        goto out;
    const mmsp_model_info *info = v->info;
    if (!info->feature_names)
        goto out; /* no names: the caller says so */
    if ((size_t)info->num_feature > max) {
        snprintf(err, errlen, "model '%s' has %lld features, more than %zu", model,
                 (long long)info->num_feature, max);
        rc = MMSP_E_TOO_LARGE;
        goto out;
    }
    for (; k < (size_t)info->num_feature; k++)
        if (!(names[k] = strdup(info->feature_names[k] ? info->feature_names[k] : ""))) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
    *n = k;
out:
    if (rc)
        while (k)
            free(names[--k]);
    serve_version_release(v);
    return rc;
}

static void local_free(struct gateway_backend *b)
{
    free(b);
}

static const struct gateway_backend_ops local_ops = {
    .name = "local",
    .infer = local_infer,
    .feature_names = local_feature_names,
    .free = local_free,
};

mmsp_err gateway_backend_local(struct serve_repo *repo, struct gateway_backend **out)
{
    struct local_backend *lb = calloc(1, sizeof *lb);
    if (!lb)
        return MMSP_E_NOMEM;
    lb->base.ops = &local_ops;
    lb->repo = repo;
    *out = &lb->base;
    return MMSP_OK;
}
