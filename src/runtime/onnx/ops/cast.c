/*
 * Cast (ai.onnx opsets 7..17) between every tensor type: float16, bfloat16, float, double,
 * bool, the 8/16/32/64-bit integers and strings. Integers convert exactly through
 * int64/uint64; floats to integers truncate toward zero and saturate at the target's range
 * (NaN gives 0) so no conversion is undefined; anything to bool is `!= 0`. To float16: one
 * round-to-nearest-even from double (subnormals, overflow to inf, NaN kept); to bfloat16:
 * the float's top 16 bits (truncation, as ONNX up to opset 18 and its test data).
 * To string: the shortest decimal that reads back as the value, laid out as numpy's str()
 * ("0.039187793", "1e-05", "nan", "-inf", "True"), formatted into the per-run scratch.
 * From string: integers exactly, else strtod/strtof syntax ("1e-5", "NaN", "-INF"); any
 * other text is a run error. Formatting and parsing assume the "C" locale (the server never
 * calls setlocale). Calls: op.h helpers, libc, libm.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/onnx/op.h"

/* The attribute `to` (TensorProto.DataType) as an mmsp dtype; -1 when not supported here. */
static int to_dtype(int64_t to)
{
    switch (to) {
    case 1:
        return MMSP_DT_FP32;
    case 2:
        return MMSP_DT_UINT8;
    case 3:
        return MMSP_DT_INT8;
    case 4:
        return MMSP_DT_UINT16;
    case 5:
        return MMSP_DT_INT16;
    case 6:
        return MMSP_DT_INT32;
    case 7:
        return MMSP_DT_INT64;
    case 8:
        return MMSP_DT_BYTES;
    case 9:
        return MMSP_DT_BOOL;
    case 10:
        return MMSP_DT_FP16;
    case 11:
        return MMSP_DT_FP64;
    case 12:
        return MMSP_DT_UINT32;
    case 13:
        return MMSP_DT_UINT64;
    case 16:
        return MMSP_DT_BF16;
    default:
        return -1;
    }
}

/* Bytes of scratch per formatted element: "-1.2345678901234567e-308" and the NUL fit. */
#define STR_MAX 32

static mmsp_err cast_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    int64_t to;
    mmsp_err rc = onnx_attr_int(ctx->node, "to", -1, &to, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    int dt = to_dtype(to);
    if (dt < 0 || onnx_dtype_size(x->dtype) == 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "cast from %s to type %lld is not supported", onnx_dtype_name(x->dtype),
                           (long long)to);
    ctx->outputs[0].dtype = (mmsp_dtype)dt;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    if (dt == MMSP_DT_BYTES && x->dtype != MMSP_DT_BYTES) {
        /* the formatted strings live in the scratch (the planner keeps it for the run) */
        if ((uint64_t)x->count > SIZE_MAX / STR_MAX)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_TOO_LARGE,
                               "%lld strings are too many", (long long)x->count);
        ctx->scratch_bytes = (size_t)x->count * STR_MAX;
    }
    return MMSP_OK;
}

/* One source element: a float value, or an exact integer (signed or unsigned). */
struct num {
    int is_float, is_unsigned;
    double f;
    int64_t i;
    uint64_t u;
};

static struct num load(mmsp_dtype t, const void *p, int64_t k)
{
    struct num n = {0, 0, 0, 0, 0};
    switch (t) {
    case MMSP_DT_FP32:
        n.is_float = 1;
        n.f = ((const float *)p)[k];
        break;
    case MMSP_DT_FP64:
        n.is_float = 1;
        n.f = ((const double *)p)[k];
        break;
    case MMSP_DT_FP16:
        n.is_float = 1;
        n.f = onnx_half_to_float(((const uint16_t *)p)[k]);
        break;
    case MMSP_DT_BF16:
        n.is_float = 1;
        n.f = onnx_bf16_to_float(((const uint16_t *)p)[k]);
        break;
    case MMSP_DT_BOOL:
    case MMSP_DT_UINT8:
        n.i = ((const uint8_t *)p)[k];
        break;
    case MMSP_DT_INT8:
        n.i = ((const int8_t *)p)[k];
        break;
    case MMSP_DT_UINT16:
        n.i = ((const uint16_t *)p)[k];
        break;
    case MMSP_DT_INT16:
        n.i = ((const int16_t *)p)[k];
        break;
    case MMSP_DT_UINT32:
        n.i = ((const uint32_t *)p)[k];
        break;
    case MMSP_DT_INT32:
        n.i = ((const int32_t *)p)[k];
        break;
    case MMSP_DT_INT64:
        n.i = ((const int64_t *)p)[k];
        break;
    case MMSP_DT_UINT64:
        n.is_unsigned = 1;
        n.u = ((const uint64_t *)p)[k];
        break;
    default:
        break;
    }
    if (!n.is_unsigned && !n.is_float)
        n.u = (uint64_t)n.i;
    return n;
}

/* Integer bits of n for a target in [lo, hi] (signed view), saturating floats. */
static int64_t to_int(struct num n, double lo, double hi)
{
    if (!n.is_float)
        return (int64_t)n.u; /* wraps like a C conversion of the two's-complement bits */
    if (n.f != n.f)
        return 0;
    if (n.f <= lo)
        return (int64_t)lo;
    if (n.f >= hi)
        return hi >= 9.2e18 ? INT64_MAX : (int64_t)hi;
    return (int64_t)n.f;
}

static uint64_t to_u64(struct num n)
{
    if (!n.is_float)
        return n.u;
    if (n.f != n.f || n.f <= 0)
        return 0;
    if (n.f >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)n.f;
}

static void store(mmsp_dtype t, void *p, int64_t k, struct num n)
{
    double f = n.is_float ? n.f : n.is_unsigned ? (double)n.u : (double)n.i;
    switch (t) {
    case MMSP_DT_FP32:
        ((float *)p)[k] = (float)f;
        break;
    case MMSP_DT_FP64:
        ((double *)p)[k] = f;
        break;
    case MMSP_DT_FP16:
        ((uint16_t *)p)[k] = onnx_half_from_double(f);
        break;
    case MMSP_DT_BF16:
        ((uint16_t *)p)[k] = onnx_bf16_from_float((float)f);
        break;
    case MMSP_DT_BOOL:
        ((uint8_t *)p)[k] = n.is_float ? n.f != 0 : n.u != 0;
        break;
    case MMSP_DT_UINT8:
        ((uint8_t *)p)[k] = (uint8_t)to_int(n, 0, 255);
        break;
    case MMSP_DT_INT8:
        ((int8_t *)p)[k] = (int8_t)to_int(n, -128, 127);
        break;
    case MMSP_DT_UINT16:
        ((uint16_t *)p)[k] = (uint16_t)to_int(n, 0, 65535);
        break;
    case MMSP_DT_INT16:
        ((int16_t *)p)[k] = (int16_t)to_int(n, -32768, 32767);
        break;
    case MMSP_DT_UINT32:
        ((uint32_t *)p)[k] = (uint32_t)to_int(n, 0, 4294967295.0);
        break;
    case MMSP_DT_INT32:
        ((int32_t *)p)[k] = (int32_t)to_int(n, -2147483648.0, 2147483647.0);
        break;
    case MMSP_DT_INT64:
        ((int64_t *)p)[k] = to_int(n, -9223372036854775808.0, 9223372036854775807.0);
        break;
    case MMSP_DT_UINT64:
        ((uint64_t *)p)[k] = to_u64(n);
        break;
    default:
        break;
    }
}

/* ---- strings -> numbers ---- */

static int ends_clean(const char *end)
{
    while (isspace((unsigned char)*end))
        end++;
    return *end == '\0';
}

/*
 * Parses one string element: an integer (exact, also beyond 2^53), else a float in plain or
 * scientific notation or "NaN" / "INF" / "+INF" / "-INF" in any case (strtod's syntax);
 * "true" / "false" too, for bools. Returns -1 for anything else.
 */
static int parse_num(const char *s, struct num *n)
{
    char *end;
    memset(n, 0, sizeof *n);
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
        n->i = n->u = (s[0] == 't' || s[0] == 'T');
        return 0;
    }
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (end != s && errno == 0 && ends_clean(end)) {
        n->i = i;
        n->u = (uint64_t)i;
        return 0;
    }
    errno = 0;
    unsigned long long u = strtoull(s, &end, 10);
    if (end != s && errno == 0 && ends_clean(end) && !strchr(s, '-')) {
        n->is_unsigned = 1;
        n->u = u;
        return 0;
    }
    n->is_float = 1;
    n->f = strtod(s, &end);
    return end != s && ends_clean(end) ? 0 : -1;
}

/* ---- numbers -> strings (numpy's str() of the value: what the ONNX test data holds) ---- */

/* Nearest bfloat16 (for the shortest-digits search only: the cast itself truncates). */
static uint16_t bf16_nearest(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

/* Whether the decimal text s reads back as the value v of type t. */
static int reads_back(mmsp_dtype t, const char *s, double v)
{
    switch (t) {
    case MMSP_DT_FP32:
        return strtof(s, NULL) == (float)v;
    case MMSP_DT_FP16:
        return onnx_half_from_double(strtod(s, NULL)) == onnx_half_from_double(v);
    case MMSP_DT_BF16:
        return bf16_nearest(strtof(s, NULL)) == bf16_nearest((float)v);
    default:
        return strtod(s, NULL) == v;
    }
}

/*
 * Formats a finite non-zero v of float type t with the fewest significant digits that read
 * back as v, laid out as numpy does: positional ("0.039187793", "3.0") for 1e-4 <= |v| <
 * 1e16, else scientific ("1e-05", "1.5e+16").
 */
static void format_float(mmsp_dtype t, double v, char *out, size_t cap)
{
    char buf[64], digits[32];
    int nd = 0, exp, max = t == MMSP_DT_FP64 ? 17 : 9;
    size_t o = 0;

    double a = fabs(v);
    for (int p = 1; p <= max; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, a);
        if (reads_back(t, buf, a))
            break;
        if (t == MMSP_DT_FP64)
            continue;
        /*
         * Near a power of two the interval that reads back is lopsided: the correctly
         * rounded p digits may miss it while the next p-digit number up or down is inside
         * (numpy prints float16 2^-6 as "0.01563"). Take the closest one that reads back.
         * Floats and halves have at most 9 digits: exact through double.
         */
        char cand[64], best[64] = "";
        double best_err = 0;
        long long dig = 0;
        for (const char *c = buf; *c && *c != 'e'; c++)
            if (*c >= '0' && *c <= '9')
                dig = dig * 10 + (*c - '0');
        int e10 = atoi(strchr(buf, 'e') + 1) - (p - 1);
        for (int delta = -1; delta <= 1; delta += 2) {
            if (dig + delta <= 0)
                continue;
            snprintf(cand, sizeof cand, "%llde%d", dig + delta, e10);
            double err = fabs(strtod(cand, NULL) - a);
            if (reads_back(t, cand, a) && (!best[0] || err < best_err)) {
                snprintf(best, sizeof best, "%s", cand);
                best_err = err;
            }
        }
        if (best[0]) {
            snprintf(buf, sizeof buf, "%.*e", p - 1, strtod(best, NULL));
            break;
        }
    }
    /* buf is "d[.ddd]e[+-]xx" */
    const char *c = buf;
    for (; *c && *c != 'e'; c++)
        if (*c != '.' && nd < (int)sizeof digits - 1)
            digits[nd++] = *c;
    exp = *c == 'e' ? atoi(c + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';

#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < cap)                                                                           \
            out[o++] = (ch);                                                                       \
    } while (0)
    if (v < 0)
        PUT('-');
    if (a >= 1e-4 && a < 1e16) {
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++)
                PUT(i < nd ? digits[i] : '0');
            PUT('.');
            if (nd > exp + 1)
                for (int i = exp + 1; i < nd; i++)
                    PUT(digits[i]);
            else
                PUT('0');
        } else {
            PUT('0');
            PUT('.');
            for (int i = 0; i < -exp - 1; i++)
                PUT('0');
            for (int i = 0; i < nd; i++)
                PUT(digits[i]);
        }
        out[o] = '\0';
    } else {
        PUT(digits[0]);
        if (nd > 1) {
            PUT('.');
            for (int i = 1; i < nd; i++)
                PUT(digits[i]);
        }
        out[o] = '\0';
        snprintf(out + o, cap - o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
#undef PUT
}

/* Element k of x as text into out (cap bytes). */
static void format_elem(const struct onnx_tensor *x, int64_t k, char *out, size_t cap)
{
    struct num n = load(x->dtype, x->data, k);
    if (x->dtype == MMSP_DT_BOOL)
        snprintf(out, cap, "%s", n.i ? "True" : "False");
    else if (n.is_unsigned)
        snprintf(out, cap, "%llu", (unsigned long long)n.u);
    else if (!n.is_float)
        snprintf(out, cap, "%lld", (long long)n.i);
    else if (n.f != n.f)
        snprintf(out, cap, "nan");
    else if (isinf(n.f))
        snprintf(out, cap, "%sinf", n.f < 0 ? "-" : "");
    else if (n.f == 0)
        snprintf(out, cap, "%s0.0", signbit(n.f) ? "-" : "");
    else
        format_float(x->dtype, n.f, out, cap);
}

static mmsp_err cast_run(const struct onnx_run_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onnx_tensor *y = ctx->outputs[0];

    if (x->dtype == MMSP_DT_BYTES && y->dtype == MMSP_DT_BYTES) {
        memcpy(y->data, x->data, (size_t)x->count * sizeof(const char *));
        return MMSP_OK;
    }
    if (y->dtype == MMSP_DT_BYTES) {
        const char **s = y->data;
        char *text = ctx->scratch;
        for (int64_t k = 0; k < x->count; k++) {
            char *e = text + (size_t)k * STR_MAX;
            format_elem(x, k, e, STR_MAX);
            s[k] = e;
        }
        return MMSP_OK;
    }
    if (x->dtype == MMSP_DT_BYTES) {
        const char *const *s = x->data;
        for (int64_t k = 0; k < x->count; k++) {
            struct num n;
            if (parse_num(s[k], &n))
                return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INVALID,
                                   "element %lld (\"%.40s\") is not a number", (long long)k, s[k]);
            if (y->dtype == MMSP_DT_FP32 && n.is_float) /* strtof: one rounding to float */
                ((float *)y->data)[k] = strtof(s[k], NULL);
            else
                store(y->dtype, y->data, k, n);
        }
        return MMSP_OK;
    }
    for (int64_t k = 0; k < x->count; k++)
        store(y->dtype, y->data, k, load(x->dtype, x->data, k));
    return MMSP_OK;
}

const struct onnx_op onnx_op_Cast = {
    .domain = "",
    .op_type = "Cast",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = cast_prepare,
    .run = cast_run,
    .free_state = NULL,
};
