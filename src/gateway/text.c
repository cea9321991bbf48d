/*
 * The gateway's text pre-step (docs/features.md "Transformer"): a /predict body with "text"
 * goes through the deployment's transformer, DATA/transformers/<deployment>.yaml (shared and
 * reloaded on change by features/transform.c), and becomes one FP32 row of n_buckets features
 * for the model; the configuration's "labels" turn the model's answer into a class label
 * (argmax of the probabilities, else the rounded prediction; binary P(1) >= 0.5 = labels[1]).
 * Kept apart from gateway.c because registry.h (jansson) and common/json.h cannot share a
 * file. Calls: features/transform, registry (data directory), common/arena.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "features/transform.h"
#include "gateway/gateway_internal.h"
#include "registry/registry.h"

mmsp_err gateway_text_row(struct registry *reg, struct arena *a, const char *deployment,
                          const char *text, size_t len, mmsp_tensor *x, struct transform_ref **ref,
                          char *err, size_t errlen)
{
    *ref = NULL;
    mmsp_err rc = transform_acquire(registry_data_dir(reg), deployment, ref, err, errlen);
    if (rc == MMSP_E_NOT_FOUND) {
        snprintf(err, errlen,
                 "deployment '%.256s' takes no 'text': it has no transformer "
                 "(transformers/%.256s.yaml in the data directory)",
                 deployment, deployment);
        return MMSP_E_INVALID;
    }
    if (rc)
        return rc;
    const struct transform_config *c = transform_ref_config(*ref);
    float *v = arena_alloc(a, c->n_buckets * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "request needs more memory than allowed");
        rc = MMSP_E_TOO_LARGE;
    } else {
        rc = transform_text(c, text, len, v, err, errlen);
    }
    if (rc) {
        transform_release(*ref);
        *ref = NULL;
        return rc == MMSP_E_TOO_LARGE ? MMSP_E_TOO_LARGE : MMSP_E_INVALID;
    }
    *x = (mmsp_tensor){.dtype = MMSP_DT_FP32,
                       .ndim = 2,
                       .shape = {1, c->n_buckets},
                       .data = v,
                       .nbytes = c->n_buckets * sizeof *v};
    return MMSP_OK;
}

static double at(const mmsp_tensor *t, size_t i)
{
    return t->dtype == MMSP_DT_FP32 ? ((const float *)t->data)[i] : NAN;
}

const char *gateway_text_label(const struct transform_ref *ref, const struct gateway_result *r)
{
    const struct transform_config *c = ref ? transform_ref_config(ref) : NULL;
    if (!c || !c->n_labels)
        return NULL;
    const mmsp_tensor *p = &r->probabilities;
    size_t es = mmsp_dtype_size(p->dtype), n = p->data && es ? p->nbytes / es : 0;
    size_t rows = p->ndim > 0 && p->shape[0] > 0 ? (size_t)p->shape[0] : 1;
    if (n && n / rows > 1) { /* argmax of the first row */
        size_t w = n / rows, best = 0;
        for (size_t k = 1; k < w; k++)
            if (at(p, k) > at(p, best))
                best = k;
        return best < c->n_labels ? c->labels[best] : NULL;
    }
    const mmsp_tensor *q = &r->prediction;
    es = mmsp_dtype_size(q->dtype);
    if (!q->data || !es || q->nbytes < es)
        return NULL;
    double v = at(q, 0);
    if (!isfinite(v) || v < 0)
        return NULL;
    size_t k = c->n_labels == 2 && v < 1 ? (v >= 0.5) : (size_t)llround(v);
    return k < c->n_labels ? c->labels[k] : NULL;
}
