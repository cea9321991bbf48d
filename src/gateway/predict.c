/*
 * The gateway's /predict body (docs/gateway.md "POST /predict"): parses
 * {"deployment", "inputs" | "features", "id", "entity_id"} into rows for the model, orders
 * named features by the model's feature names, and compares two predictions (shadow
 * agreement). Bad input is an error with a message, never a crash: tests/fuzz/fuzz_gateway_
 * request.c drives the parser.
 * Calls: common/json, common/arena.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "gateway/gateway_internal.h"

static mmsp_err fail(char *err, size_t errlen, mmsp_err code, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return code;
}

/* A feature value: a number, or null for a missing value (NaN, as XGBoost treats it). */
static int value_of(const struct json_value *v, float *out)
{
    if (v->type == JSON_NUMBER) {
        *out = (float)v->u.num.d;
        return 1;
    }
    if (v->type == JSON_NULL) {
        *out = NAN;
        return 1;
    }
    return 0;
}

/* "inputs": [[...], ...] (rows of equal width), or [...] as one row. */
static mmsp_err parse_rows(struct arena *a, const struct json_value *rows, mmsp_tensor *out,
                           char *err, size_t errlen)
{
    if (rows->type != JSON_ARRAY || rows->len == 0)
        return fail(err, errlen, MMSP_E_SHAPE, "'inputs' must be a non-empty array of rows");
    int flat = rows->u.items[0].type != JSON_ARRAY;
    size_t n_rows = flat ? 1 : rows->len;
    size_t cols = flat ? rows->len : rows->u.items[0].len;
    if (cols == 0)
        return fail(err, errlen, MMSP_E_SHAPE, "'inputs': a row is empty");
    float *data = arena_calloc(a, n_rows, cols * sizeof(float));
    if (!data)
        return fail(err, errlen, MMSP_E_TOO_LARGE, "'inputs' needs more memory than allowed");
    for (size_t r = 0; r < n_rows; r++) {
        const struct json_value *row = flat ? rows : &rows->u.items[r];
        if (row->type != JSON_ARRAY) {
            snprintf(err, errlen, "'inputs': row %zu is not an array (mix of rows and numbers)", r);
            return MMSP_E_SHAPE;
        }
        if (row->len != cols) {
            snprintf(err, errlen, "'inputs': row %zu has %u values, row 0 has %zu", r, row->len,
                     cols);
            return MMSP_E_SHAPE;
        }
        for (size_t c = 0; c < cols; c++)
            if (!value_of(&row->u.items[c], &data[r * cols + c])) {
                snprintf(err, errlen, "'inputs': row %zu column %zu is %s, not a number", r, c,
                         json_type_name(row->u.items[c].type));
                return MMSP_E_INVALID;
            }
    }
    *out = (mmsp_tensor){.name = NULL,
                         .dtype = MMSP_DT_FP32,
                         .ndim = 2,
                         .shape = {(int64_t)n_rows, (int64_t)cols},
                         .data = data,
                         .nbytes = n_rows * cols * sizeof(float)};
    return MMSP_OK;
}

/* A short string member ("id"), or a number kept as its text ("entity_id"). */
static mmsp_err short_text(struct arena *a, const struct json_value *root, const char *key,
                           int numbers, const char **out, char *err, size_t errlen)
{
    const struct json_value *v = json_get(root, key);
    *out = NULL;
    if (!v)
        return MMSP_OK;
    if (v->type == JSON_NUMBER && numbers && v->u.num.is_int) {
        char *s = arena_alloc(a, 24);
        if (!s)
            return fail(err, errlen, MMSP_E_TOO_LARGE, "request needs more memory than allowed");
        snprintf(s, 24, "%lld", (long long)v->u.num.i);
        *out = s;
        return MMSP_OK;
    }
    if (v->type != JSON_STRING) {
        snprintf(err, errlen, "'%s' must be a string%s", key, numbers ? " or an integer" : "");
        return MMSP_E_INVALID;
    }
    if (v->len == 0 || v->len > GATEWAY_MAX_ID || strlen(v->u.str) != v->len) {
        snprintf(err, errlen, "'%s' must be 1 to %d bytes without NUL", key, GATEWAY_MAX_ID);
        return MMSP_E_INVALID;
    }
    *out = v->u.str;
    return MMSP_OK;
}

mmsp_err gateway_request_parse(struct arena *a, const char *body, size_t len,
                               struct gateway_request *out, char *err, size_t errlen)
{
    struct json_value *root = arena_calloc(a, 1, sizeof *root);
    *out = (struct gateway_request){0};
    if (!root)
        return fail(err, errlen, MMSP_E_TOO_LARGE, "request needs more memory than allowed");
    mmsp_err rc = json_parse(a, body, len, root, err, errlen);
    if (rc)
        return rc == MMSP_E_PARSE ? MMSP_E_PARSE : rc;
    if (root->type != JSON_OBJECT)
        return fail(err, errlen, MMSP_E_INVALID, "the body must be a JSON object");
    const struct json_value *dep = json_get(root, "deployment");
    if (!dep)
        return MMSP_OK; /* not a deployment request: the simple API's body */
    if (dep->type != JSON_STRING || dep->len == 0 || dep->len > 256 ||
        strlen(dep->u.str) != dep->len)
        return fail(err, errlen, MMSP_E_INVALID,
                    "'deployment' must be a deployment name (1 to 256 bytes)");
    if ((rc = short_text(a, root, "id", 0, &out->id, err, errlen)) ||
        (rc = short_text(a, root, "entity_id", 1, &out->entity_id, err, errlen)))
        return rc;
    const struct json_value *inputs = json_get(root, "inputs");
    const struct json_value *features = json_get(root, "features");
    const struct json_value *text = json_get(root, "text");
    if (!inputs && !features && !text && out->entity_id) {
        /* by entity: the gateway fetches the features (features/online.h binding) */
        out->deployment = dep->u.str;
        return MMSP_OK;
    }
    if ((inputs != NULL) + (features != NULL) + (text != NULL) != 1)
        return fail(err, errlen, MMSP_E_INVALID,
                    "the request needs exactly one of 'inputs' (rows), 'features' (by name) "
                    "and 'text' (for a deployment with a transformer)");
    if (text) {
        if (text->type != JSON_STRING)
            return fail(err, errlen, MMSP_E_INVALID, "'text' must be a string");
        out->text = text->u.str;
        out->text_len = text->len;
    } else if (features) {
        if (features->type != JSON_OBJECT || features->len == 0)
            return fail(err, errlen, MMSP_E_INVALID,
                        "'features' must be a non-empty object {name: value}");
        if (features->len > GATEWAY_MAX_FEATURES)
            return fail(err, errlen, MMSP_E_INVALID, "'features' has too many members");
        out->features = features;
    } else if ((rc = parse_rows(a, inputs, &out->inputs, err, errlen))) {
        return rc;
    }
    out->deployment = dep->u.str;
    return MMSP_OK;
}

mmsp_err gateway_features_row(struct arena *a, const struct json_value *features,
                              char *const *names, size_t n, mmsp_tensor *out, char *err,
                              size_t errlen)
{
    if (features->type != JSON_OBJECT)
        return fail(err, errlen, MMSP_E_INVALID, "'features' must be an object");
    if (n == 0)
        return fail(err, errlen, MMSP_E_INVALID, "the model has no input features");
    float *data = arena_calloc(a, n, sizeof(float));
    if (!data)
        return fail(err, errlen, MMSP_E_TOO_LARGE, "request needs more memory than allowed");
    /* Every member must name a model feature (a typo must not become a silent missing value),
     * and every model feature must be given. */
    for (uint32_t m = 0; m < features->len; m++) {
        const struct json_member *mem = &features->u.members[m];
        size_t i = 0;
        while (i < n && strcmp(names[i], mem->key) != 0)
            i++;
        if (i == n) {
            snprintf(err, errlen, "'features': the model has no feature '%.200s'", mem->key);
            return MMSP_E_INVALID;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct json_value *v = json_get(features, names[i]);
        if (!v) {
            snprintf(err, errlen,
                     "'features': missing feature '%.200s' (null marks a missing "
                     "value)",
                     names[i]);
            return MMSP_E_INVALID;
        }
        if (!value_of(v, &data[i])) {
            snprintf(err, errlen, "'features': '%.200s' is %s, not a number", names[i],
                     json_type_name(v->type));
            return MMSP_E_INVALID;
        }
    }
    *out = (mmsp_tensor){.dtype = MMSP_DT_FP32,
                         .ndim = 2,
                         .shape = {1, (int64_t)n},
                         .data = data,
                         .nbytes = n * sizeof(float)};
    return MMSP_OK;
}

static double element(const mmsp_tensor *t, size_t i)
{
    switch (t->dtype) {
    case MMSP_DT_FP32:
        return ((const float *)t->data)[i];
    case MMSP_DT_FP64:
        return ((const double *)t->data)[i];
    case MMSP_DT_INT64:
        return (double)((const int64_t *)t->data)[i];
    case MMSP_DT_INT32:
        return ((const int32_t *)t->data)[i];
    default:
        return NAN;
    }
}

double gateway_prediction_diff(const mmsp_tensor *a, const mmsp_tensor *b)
{
    size_t es_a = mmsp_dtype_size(a->dtype), es_b = mmsp_dtype_size(b->dtype);
    if (!es_a || !es_b || !a->data || !b->data)
        return -1;
    size_t n = a->nbytes / es_a;
    if (n != b->nbytes / es_b)
        return -1;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(element(a, i) - element(b, i));
        if (isnan(d))
            return -1;
        if (d > worst)
            worst = d;
    }
    return worst;
}
