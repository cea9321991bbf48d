/*
 * Bodies of the inference APIs (see v2_codec.h): Open Inference Protocol v2 requests (JSON
 * and the binary tensor data extension) into tensors, tensors into v2 responses, and the
 * KServe v1 and simple /predict bodies into FP32 matrices. Every length is checked against
 * what the body actually carries before anything is allocated from it, and every allocation
 * comes from the caller's arena. Tensor bytes are little-endian (the wire order), which is
 * also the host order on every platform we build for (checked below).
 * Calls: common/json, common/arena, common/buf, mmsp tensor helpers (common/tensor.c).
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "v2_codec.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "v2_codec assumes a little-endian host (the binary tensor wire order)"
#endif

static mmsp_err errf(char *err, size_t errlen, mmsp_err rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static mmsp_err errf(char *err, size_t errlen, mmsp_err rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Arena allocation that names the ceiling (TOO_LARGE) apart from malloc failing (NOMEM). */
static mmsp_err alloc(struct arena *a, size_t size, void **out)
{
    if (a->used > a->limit || size > a->limit - a->used) {
        *out = NULL;
        return MMSP_E_TOO_LARGE;
    }
    *out = arena_alloc(a, size ? size : 1);
    return *out ? MMSP_OK : MMSP_E_NOMEM;
}

static void shape_str(const int64_t *shape, int ndim, char *s, size_t n)
{
    size_t o = 0;
    o += (size_t)snprintf(s + o, n - o, "[");
    for (int i = 0; i < ndim && o < n; i++)
        o += (size_t)snprintf(s + o, n - o, "%s%" PRId64, i ? "," : "", shape[i]);
    if (o < n)
        snprintf(s + o, n - o, "]");
}

/* ---- half precision (IEEE 754 binary16) ---- */

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t man = h & 0x3FF;
    float f;
    if (exp == 0) {
        f = ldexpf((float)man, -24); /* zero or subnormal */
    } else if (exp == 31) {
        f = man ? NAN : INFINITY;
    } else {
        f = ldexpf((float)(man | 0x400), (int)exp - 25);
    }
    return sign ? -f : f;
}

/* ---- JSON tensor data ---- */

/* What one input decode needs; err points at the caller's message buffer. */
struct decode {
    const char *name;
    mmsp_dtype dtype;
    const int64_t *shape;
    int ndim;
    unsigned char *data; /* NULL during the sizing pass of BYTES */
    size_t bytes;        /* BYTES: total size; during writing, the write offset */
    int count_only;      /* nested walk that only checks the structure */
    char *err;
    size_t errlen;
};

static mmsp_err elem_type_error(struct decode *dc, size_t idx, const struct json_value *v,
                                const char *expected)
{
    return errf(dc->err, dc->errlen, MMSP_E_DTYPE, "input '%s': element %zu is %s %s, expected %s",
                dc->name, idx, v->type == JSON_ARRAY || v->type == JSON_OBJECT ? "an" : "a",
                json_type_name(v->type), expected);
}

static mmsp_err elem_range_error(struct decode *dc, size_t idx, const struct json_value *v)
{
    return errf(dc->err, dc->errlen, MMSP_E_DTYPE,
                "input '%s': element %zu (%.17g) is not representable as %s", dc->name, idx,
                v->u.num.d, mmsp_dtype_name(dc->dtype));
}

/*
 * The integer value of a JSON number, as sign + magnitude so all of int64 and uint64 fits.
 * Integral values written as 1.0 or 1e2 are accepted; 1.5 is not.
 */
static int json_integer(const struct json_value *v, int *neg, uint64_t *mag)
{
    if (v->u.num.is_u64) {
        *neg = 0;
        *mag = (uint64_t)v->u.num.i;
        return 0;
    }
    if (v->u.num.is_int) {
        *neg = v->u.num.i < 0;
        *mag = *neg ? 0 - (uint64_t)v->u.num.i : (uint64_t)v->u.num.i;
        return 0;
    }
    double d = v->u.num.d;
    if (!isfinite(d) || d != trunc(d) || fabs(d) >= 18446744073709551616.0)
        return -1;
    *neg = d < 0;
    *mag = (uint64_t)fabs(d);
    return 0;
}

static mmsp_err put_json_elem(struct decode *dc, const struct json_value *v, size_t idx)
{
    unsigned char *o = dc->data;
    mmsp_dtype t = dc->dtype;
    if (t == MMSP_DT_BYTES) {
        if (v->type != JSON_STRING)
            return elem_type_error(dc, idx, v, "a string");
        if (o) {
            uint32_t n = v->len;
            memcpy(o + dc->bytes, &n, 4);
            memcpy(o + dc->bytes + 4, v->u.str, n);
        }
        dc->bytes += 4 + (size_t)v->len;
        return MMSP_OK;
    }
    if (t == MMSP_DT_BOOL) {
        if (v->type == JSON_TRUE || v->type == JSON_FALSE) {
            o[idx] = v->type == JSON_TRUE;
            return MMSP_OK;
        }
        if (v->type == JSON_NUMBER && v->u.num.is_int && (v->u.num.i == 0 || v->u.num.i == 1)) {
            o[idx] = (unsigned char)v->u.num.i;
            return MMSP_OK;
        }
        if (v->type == JSON_NUMBER)
            return elem_range_error(dc, idx, v);
        return elem_type_error(dc, idx, v, "a boolean");
    }
    if (v->type != JSON_NUMBER)
        return elem_type_error(dc, idx, v, "a number");
    if (t == MMSP_DT_FP32) {
        float f = (float)v->u.num.d;
        if (!isfinite(f))
            return elem_range_error(dc, idx, v);
        memcpy(o + idx * 4, &f, 4);
        return MMSP_OK;
    }
    if (t == MMSP_DT_FP64) {
        memcpy(o + idx * 8, &v->u.num.d, 8);
        return MMSP_OK;
    }
    int neg;
    uint64_t mag;
    if (json_integer(v, &neg, &mag))
        return elem_range_error(dc, idx, v);
    uint64_t umax;
    uint64_t nmax; /* largest magnitude allowed when negative */
    switch (t) {
    case MMSP_DT_UINT8:
        umax = UINT8_MAX, nmax = 0;
        break;
    case MMSP_DT_UINT16:
        umax = UINT16_MAX, nmax = 0;
        break;
    case MMSP_DT_UINT32:
        umax = UINT32_MAX, nmax = 0;
        break;
    case MMSP_DT_UINT64:
        umax = UINT64_MAX, nmax = 0;
        break;
    case MMSP_DT_INT8:
        umax = INT8_MAX, nmax = (uint64_t)INT8_MAX + 1;
        break;
    case MMSP_DT_INT16:
        umax = INT16_MAX, nmax = (uint64_t)INT16_MAX + 1;
        break;
    case MMSP_DT_INT32:
        umax = INT32_MAX, nmax = (uint64_t)INT32_MAX + 1;
        break;
    case MMSP_DT_INT64:
        umax = INT64_MAX, nmax = (uint64_t)INT64_MAX + 1;
        break;
    default:
        return errf(dc->err, dc->errlen, MMSP_E_DTYPE, "input '%s': datatype %s has no JSON form",
                    dc->name, mmsp_dtype_name(t));
    }
    if (neg ? mag > nmax : mag > umax)
        return elem_range_error(dc, idx, v);
    /* Two's complement of the magnitude, truncated to the element size (little-endian). */
    uint64_t bits = neg ? 0 - mag : mag;
    size_t es = mmsp_dtype_size(t);
    memcpy(o + idx * es, &bits, es);
    return MMSP_OK;
}

/* Nested data: at depth d an array of exactly shape[d] entries; at depth ndim a scalar. */
static mmsp_err walk_nested(struct decode *dc, const struct json_value *v, int d, size_t *idx)
{
    if (d == dc->ndim) {
        if (v->type == JSON_ARRAY) {
            char s[128];
            shape_str(dc->shape, dc->ndim, s, sizeof s);
            return errf(dc->err, dc->errlen, MMSP_E_SHAPE,
                        "input '%s': data is nested deeper than shape %s", dc->name, s);
        }
        if (dc->count_only) {
            (*idx)++;
            return MMSP_OK;
        }
        return put_json_elem(dc, v, (*idx)++);
    }
    if (v->type != JSON_ARRAY || (int64_t)v->len != dc->shape[d]) {
        char s[128];
        shape_str(dc->shape, dc->ndim, s, sizeof s);
        if (v->type != JSON_ARRAY)
            return errf(dc->err, dc->errlen, MMSP_E_SHAPE,
                        "input '%s': nested data does not match shape %s (dimension %d: found a "
                        "%s, expected an array of %" PRId64 ")",
                        dc->name, s, d, json_type_name(v->type), dc->shape[d]);
        return errf(dc->err, dc->errlen, MMSP_E_SHAPE,
                    "input '%s': nested data does not match shape %s (dimension %d has %u "
                    "entries, expected %" PRId64 ")",
                    dc->name, s, d, v->len, dc->shape[d]);
    }
    for (uint32_t i = 0; i < v->len; i++) {
        mmsp_err rc = walk_nested(dc, &v->u.items[i], d + 1, idx);
        if (rc)
            return rc;
    }
    return MMSP_OK;
}

/* One pass over the data (flat or nested), writing elements (or only sizing BYTES). */
static mmsp_err walk_data(struct decode *dc, const struct json_value *data, int nested)
{
    size_t idx = 0;
    if (nested)
        return walk_nested(dc, data, 0, &idx);
    for (uint32_t i = 0; i < data->len; i++) {
        const struct json_value *v = &data->u.items[i];
        if (v->type == JSON_ARRAY) {
            char s[128];
            shape_str(dc->shape, dc->ndim, s, sizeof s);
            return errf(dc->err, dc->errlen, MMSP_E_SHAPE,
                        "input '%s': data mixes arrays and scalars (element %u) for shape %s",
                        dc->name, i, s);
        }
        mmsp_err rc = put_json_elem(dc, v, i);
        if (rc)
            return rc;
    }
    return MMSP_OK;
}

static mmsp_err decode_json_data(struct arena *a, mmsp_tensor *t, int64_t elements,
                                 const struct json_value *data, char *err, size_t errlen)
{
    char s[128];
    mmsp_err rc = MMSP_OK;
    if (t->dtype == MMSP_DT_FP16 || t->dtype == MMSP_DT_BF16) {
        rc = errf(err, errlen, MMSP_E_DTYPE,
                  "input '%s': %s has no JSON form; send it as binary data (binary_data_size)",
                  t->name, mmsp_dtype_name(t->dtype));
        goto out;
    }
    if (data->type != JSON_ARRAY) {
        rc = errf(err, errlen, MMSP_E_INVALID, "input '%s': 'data' must be an array, not %s",
                  t->name, json_type_name(data->type));
        goto out;
    }
    /* Nested when the shape has two or more dims and the data starts with an array. */
    int nested = t->ndim >= 2 && data->len > 0 && data->u.items[0].type == JSON_ARRAY;
    if (!nested && (int64_t)data->len != elements) {
        shape_str(t->shape, t->ndim, s, sizeof s);
        rc = errf(err, errlen, MMSP_E_SHAPE,
                  "input '%s': shape %s needs %" PRId64 " elements, data has %u", t->name, s,
                  elements, data->len);
        goto out;
    }
    struct decode dc = {.name = t->name,
                        .dtype = t->dtype,
                        .shape = t->shape,
                        .ndim = t->ndim,
                        .err = err,
                        .errlen = errlen};
    size_t nbytes;
    if (t->dtype == MMSP_DT_BYTES) {
        /* Sizing pass: also checks the nesting and that every element is a string. */
        rc = walk_data(&dc, data, nested);
        if (rc)
            goto out;
        nbytes = dc.bytes;
        dc.bytes = 0;
    } else {
        /* Flat data was counted above. Nested data is walked once without writing, so a
         * shape that the data does not carry never sizes an allocation. */
        if (nested) {
            size_t idx = 0;
            dc.count_only = 1;
            rc = walk_nested(&dc, data, 0, &idx);
            dc.count_only = 0;
            if (rc)
                goto out;
        }
        nbytes = (size_t)elements * mmsp_dtype_size(t->dtype);
    }
    void *mem;
    rc = alloc(a, nbytes, &mem);
    if (rc) {
        errf(err, errlen, rc, "input '%s': %zu bytes of data exceed the request memory limit",
             t->name, nbytes);
        goto out;
    }
    dc.data = mem;
    rc = walk_data(&dc, data, nested);
    if (rc)
        goto out;
    t->data = mem;
    t->nbytes = nbytes;
out:
    return rc;
}

/* ---- binary tensor data ---- */

static mmsp_err decode_binary_data(struct arena *a, mmsp_tensor *t, int64_t elements, int64_t size,
                                   const char *bin, size_t bin_len, size_t *cursor, char *err,
                                   size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    char s[128];
    shape_str(t->shape, t->ndim, s, sizeof s);
    if (size < 0 || (uint64_t)size > bin_len - *cursor) {
        rc = errf(err, errlen, MMSP_E_INVALID,
                  "input '%s': binary_data_size %" PRId64 " exceeds the %zu bytes of binary data "
                  "left",
                  t->name, size, bin_len - *cursor);
        goto out;
    }
    const unsigned char *src = (const unsigned char *)bin + *cursor;
    size_t n = (size_t)size;
    if (t->dtype == MMSP_DT_BYTES) {
        /* Each element is a 4-byte length then that many bytes; they must fill n exactly. */
        if ((uint64_t)elements > n / 4) {
            rc = errf(err, errlen, MMSP_E_SHAPE,
                      "input '%s': shape %s needs %" PRId64 " BYTES elements, binary_data_size "
                      "%zu cannot hold them",
                      t->name, s, elements, n);
            goto out;
        }
        size_t off = 0;
        for (int64_t i = 0; i < elements; i++) {
            uint32_t len;
            if (n - off < 4) {
                rc = errf(err, errlen, MMSP_E_SHAPE,
                          "input '%s': BYTES element %" PRId64 " is cut short by binary_data_size "
                          "%zu",
                          t->name, i, n);
                goto out;
            }
            memcpy(&len, src + off, 4);
            off += 4;
            if (len > n - off) {
                rc = errf(err, errlen, MMSP_E_SHAPE,
                          "input '%s': BYTES element %" PRId64 " of %" PRIu32
                          " bytes overruns binary_data_size %zu",
                          t->name, i, len, n);
                goto out;
            }
            off += len;
        }
        if (off != n) {
            rc = errf(err, errlen, MMSP_E_SHAPE,
                      "input '%s': %" PRId64 " BYTES elements take %zu bytes, binary_data_size "
                      "is %zu",
                      t->name, elements, off, n);
            goto out;
        }
    } else {
        size_t es = mmsp_dtype_size(t->dtype);
        if ((uint64_t)elements > SIZE_MAX / es || (size_t)elements * es != n) {
            rc = errf(err, errlen, MMSP_E_SHAPE,
                      "input '%s': shape %s of %s needs %" PRId64 " x %zu bytes, "
                      "binary_data_size is %zu",
                      t->name, s, mmsp_dtype_name(t->dtype), elements, es, n);
            goto out;
        }
        if (t->dtype == MMSP_DT_BOOL) {
            for (size_t i = 0; i < n; i++) {
                if (src[i] > 1) {
                    rc = errf(err, errlen, MMSP_E_DTYPE,
                              "input '%s': BOOL element %zu is %u, expected 0 or 1", t->name, i,
                              src[i]);
                    goto out;
                }
            }
        }
    }
    void *mem;
    rc = alloc(a, n, &mem);
    if (rc) {
        errf(err, errlen, rc, "input '%s': %zu bytes of data exceed the request memory limit",
             t->name, n);
        goto out;
    }
    if (n)
        memcpy(mem, src, n);
    t->data = mem;
    t->nbytes = n;
    *cursor += n;
out:
    return rc;
}

/* ---- request ---- */

static int is_scalar(const struct json_value *v)
{
    return v->type == JSON_STRING || v->type == JSON_NUMBER || v->type == JSON_TRUE ||
           v->type == JSON_FALSE;
}

static int is_bool(const struct json_value *v)
{
    return v->type == JSON_TRUE || v->type == JSON_FALSE;
}

/* "parameters" of an input or output: an object of scalars (checked here). */
static mmsp_err check_params(const struct json_value *p, const char *what, const char *name,
                             char *err, size_t errlen)
{
    if (p->type != JSON_OBJECT)
        return errf(err, errlen, MMSP_E_INVALID, "%s '%s': 'parameters' must be an object", what,
                    name);
    for (uint32_t i = 0; i < p->len; i++)
        if (!is_scalar(&p->u.members[i].value))
            return errf(err, errlen, MMSP_E_INVALID,
                        "%s '%s': parameter '%s' must be a string, number or boolean", what, name,
                        p->u.members[i].key);
    return MMSP_OK;
}

static mmsp_err parse_input(struct arena *a, const struct json_value *in, size_t k,
                            int64_t header_len, const char *bin, size_t bin_len, size_t *cursor,
                            mmsp_tensor *t, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    memset(t, 0, sizeof *t);
    if (in->type != JSON_OBJECT) {
        rc = errf(err, errlen, MMSP_E_INVALID, "inputs[%zu] must be an object", k);
        goto out;
    }
    const struct json_value *name = json_get(in, "name");
    if (!name || name->type != JSON_STRING) {
        rc = errf(err, errlen, MMSP_E_INVALID, "inputs[%zu]: 'name' must be a string", k);
        goto out;
    }
    t->name = name->u.str;
    const struct json_value *dt = json_get(in, "datatype");
    if (!dt || dt->type != JSON_STRING) {
        rc = errf(err, errlen, MMSP_E_INVALID, "input '%s': 'datatype' must be a string", t->name);
        goto out;
    }
    if (mmsp_dtype_parse(dt->u.str, dt->len, &t->dtype)) {
        rc = errf(err, errlen, MMSP_E_DTYPE, "input '%s': unknown datatype '%s'", t->name,
                  dt->u.str);
        goto out;
    }
    const struct json_value *shape = json_get(in, "shape");
    if (!shape || shape->type != JSON_ARRAY) {
        rc = errf(err, errlen, MMSP_E_INVALID, "input '%s': 'shape' must be an array of integers",
                  t->name);
        goto out;
    }
    if (shape->len > MMSP_MAX_DIMS) {
        rc = errf(err, errlen, MMSP_E_SHAPE, "input '%s': shape has %u dims, at most %d allowed",
                  t->name, shape->len, MMSP_MAX_DIMS);
        goto out;
    }
    t->ndim = (int)shape->len;
    for (int d = 0; d < t->ndim; d++) {
        const struct json_value *v = &shape->u.items[d];
        if (v->type != JSON_NUMBER || !v->u.num.is_int || v->u.num.i < 0) {
            rc = errf(err, errlen, MMSP_E_SHAPE,
                      "input '%s': shape[%d] must be a non-negative integer", t->name, d);
            goto out;
        }
        t->shape[d] = v->u.num.i;
    }
    int64_t elements;
    rc = mmsp_shape_elements(t->shape, t->ndim, &elements);
    if (rc) {
        char s[128];
        shape_str(t->shape, t->ndim, s, sizeof s);
        errf(err, errlen, rc, "input '%s': shape %s has too many elements", t->name, s);
        goto out;
    }
    const struct json_value *params = json_get(in, "parameters");
    const struct json_value *bsize = NULL;
    if (params) {
        rc = check_params(params, "input", t->name, err, errlen);
        if (rc)
            goto out;
        bsize = json_get(params, "binary_data_size");
    }
    const struct json_value *data = json_get(in, "data");
    if (bsize) {
        if (bsize->type != JSON_NUMBER || !bsize->u.num.is_int || bsize->u.num.i < 0) {
            rc = errf(err, errlen, MMSP_E_INVALID,
                      "input '%s': binary_data_size must be a non-negative integer", t->name);
            goto out;
        }
        if (data) {
            rc = errf(err, errlen, MMSP_E_INVALID,
                      "input '%s': has both 'data' and binary_data_size", t->name);
            goto out;
        }
        if (header_len < 0) {
            rc = errf(err, errlen, MMSP_E_INVALID,
                      "input '%s': binary_data_size without an Inference-Header-Content-Length "
                      "header",
                      t->name);
            goto out;
        }
        rc = decode_binary_data(a, t, elements, bsize->u.num.i, bin, bin_len, cursor, err, errlen);
        goto out;
    }
    if (!data) {
        rc = errf(err, errlen, MMSP_E_INVALID, "input '%s': no 'data' and no binary_data_size",
                  t->name);
        goto out;
    }
    rc = decode_json_data(a, t, elements, data, err, errlen);
out:
    return rc;
}

static mmsp_err parse_outputs(struct arena *a, const struct json_value *outs, struct v2_request *r,
                              char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    if (outs->type != JSON_ARRAY) {
        rc = errf(err, errlen, MMSP_E_INVALID, "'outputs' must be an array");
        goto out;
    }
    if (outs->len == 0)
        goto out;
    void *mem;
    rc = alloc(a, outs->len * sizeof *r->outputs, &mem);
    if (rc) {
        errf(err, errlen, rc, "too many outputs for the request memory limit");
        goto out;
    }
    r->outputs = mem;
    for (uint32_t i = 0; i < outs->len; i++) {
        const struct json_value *o = &outs->u.items[i];
        if (o->type != JSON_OBJECT) {
            rc = errf(err, errlen, MMSP_E_INVALID, "outputs[%u] must be an object", i);
            goto out;
        }
        const struct json_value *name = json_get(o, "name");
        if (!name || name->type != JSON_STRING) {
            rc = errf(err, errlen, MMSP_E_INVALID, "outputs[%u]: 'name' must be a string", i);
            goto out;
        }
        r->outputs[i].name = name->u.str;
        r->outputs[i].binary = -1;
        const struct json_value *params = json_get(o, "parameters");
        if (params) {
            rc = check_params(params, "output", name->u.str, err, errlen);
            if (rc)
                goto out;
            const struct json_value *bd = json_get(params, "binary_data");
            if (bd) {
                if (!is_bool(bd)) {
                    rc = errf(err, errlen, MMSP_E_INVALID,
                              "output '%s': binary_data must be a boolean", name->u.str);
                    goto out;
                }
                r->outputs[i].binary = bd->type == JSON_TRUE;
            }
        }
        r->n_outputs = i + 1;
    }
out:
    return rc;
}

/* ---- fast path: the usual body in one pass, without a tree ---- */

#define FAST_MAX_INPUTS 8

/* "shape": [non-negative integers] */
static int fast_shape(struct json_cursor *f, mmsp_tensor *t)
{
    if (!json_cur_take(f, '['))
        return 0;
    if (json_cur_take(f, ']'))
        return 1; /* a scalar: ndim 0 */
    do {
        struct json_value v;
        if (t->ndim == MMSP_MAX_DIMS || !json_cur_number(f, &v) || !v.u.num.is_int || v.u.num.i < 0)
            return 0;
        t->shape[t->ndim++] = v.u.num.i;
    } while (json_cur_take(f, ','));
    return json_cur_take(f, ']');
}

/* "data": a flat array of exactly shape's element count of numbers the datatype holds. */
static int fast_data(struct json_cursor *f, struct arena *a, mmsp_tensor *t)
{
    int64_t elements;
    if (mmsp_shape_elements(t->shape, t->ndim, &elements) || !json_cur_take(f, '['))
        return 0;
    /* Every element takes at least one byte of the body: a shape the body cannot carry is
     * never allocated. */
    if (elements > f->end - f->p)
        return 0;
    size_t es = mmsp_dtype_size(t->dtype), nbytes = (size_t)elements * es;
    void *mem;
    if (alloc(a, nbytes, &mem))
        return 0;
    unsigned char *o = mem;
    int64_t i = 0;
    if (!json_cur_take(f, ']')) {
        do {
            struct json_value v;
            if (i == elements || !json_cur_number(f, &v))
                return 0;
            switch (t->dtype) {
            case MMSP_DT_FP32: {
                float x = (float)v.u.num.d;
                if (!isfinite(x))
                    return 0;
                memcpy(o + i * 4, &x, 4);
                break;
            }
            case MMSP_DT_FP64:
                memcpy(o + i * 8, &v.u.num.d, 8);
                break;
            case MMSP_DT_INT32: {
                if (!v.u.num.is_int || v.u.num.i < INT32_MIN || v.u.num.i > INT32_MAX)
                    return 0;
                int32_t x = (int32_t)v.u.num.i;
                memcpy(o + i * 4, &x, 4);
                break;
            }
            default: /* MMSP_DT_INT64 */
                if (!v.u.num.is_int)
                    return 0;
                memcpy(o + i * 8, &v.u.num.i, 8);
                break;
            }
            i++;
        } while (json_cur_take(f, ','));
        if (!json_cur_take(f, ']'))
            return 0;
    }
    if (i != elements)
        return 0;
    t->data = mem;
    t->nbytes = nbytes;
    return 1;
}

/* {"name", "datatype", "shape", "data"}: each once, data after datatype and shape. */
static int fast_input(struct json_cursor *f, struct arena *a, mmsp_tensor *t)
{
    memset(t, 0, sizeof *t);
    int have_dt = 0, have_shape = 0;
    if (!json_cur_take(f, '{'))
        return 0;
    do {
        const char *k, *s;
        size_t kn, n;
        if (!json_cur_key(f, &k, &kn))
            return 0;
        if (json_key_is(k, kn, "name") && !t->name) {
            if (!json_cur_str(f, &s, &n) || !(t->name = arena_strndup(a, s, n)))
                return 0;
        } else if (json_key_is(k, kn, "datatype") && !have_dt) {
            if (!json_cur_str(f, &s, &n) || mmsp_dtype_parse(s, n, &t->dtype) ||
                (t->dtype != MMSP_DT_FP32 && t->dtype != MMSP_DT_FP64 &&
                 t->dtype != MMSP_DT_INT32 && t->dtype != MMSP_DT_INT64))
                return 0;
            have_dt = 1;
        } else if (json_key_is(k, kn, "shape") && !have_shape) {
            if (!fast_shape(f, t))
                return 0;
            have_shape = 1;
        } else if (json_key_is(k, kn, "data") && have_dt && have_shape && !t->data) {
            if (!fast_data(f, a, t))
                return 0;
        } else {
            return 0;
        }
    } while (json_cur_take(f, ','));
    return json_cur_take(f, '}') && t->name && t->data;
}

int v2_request_parse_fast(struct arena *a, const char *body, size_t len, struct v2_request *out)
{
    struct json_cursor f = {.p = body, .end = body + len};
    mmsp_tensor in[FAST_MAX_INPUTS];
    size_t n_in = 0;
    int have_inputs = 0;
    struct arena_mark mark;
    arena_mark(a, &mark);
    memset(out, 0, sizeof *out);
    if (!body || !json_cur_take(&f, '{'))
        goto decline;
    do {
        const char *k, *s;
        size_t kn, n;
        if (!json_cur_key(&f, &k, &kn))
            goto decline;
        if (json_key_is(k, kn, "id") && !out->id) {
            if (!json_cur_str(&f, &s, &n) || !(out->id = arena_strndup(a, s, n)))
                goto decline;
        } else if (json_key_is(k, kn, "inputs") && !have_inputs) {
            if (!json_cur_take(&f, '['))
                goto decline;
            do {
                if (n_in == FAST_MAX_INPUTS || !fast_input(&f, a, &in[n_in]))
                    goto decline;
                n_in++;
            } while (json_cur_take(&f, ','));
            if (!json_cur_take(&f, ']'))
                goto decline;
            have_inputs = 1;
        } else {
            goto decline;
        }
    } while (json_cur_take(&f, ','));
    if (!json_cur_take(&f, '}'))
        goto decline;
    json_cur_ws(&f);
    void *mem;
    if (f.p != f.end || !have_inputs || alloc(a, n_in * sizeof *in, &mem))
        goto decline;
    memcpy(mem, in, n_in * sizeof *in);
    out->inputs = mem;
    out->n_inputs = n_in;
    return 1;
decline:
    memset(out, 0, sizeof *out);
    arena_rewind(a, &mark);
    return 0;
}

mmsp_err v2_request_parse(struct arena *a, const char *body, size_t len, int64_t header_len,
                          struct v2_request *out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    memset(out, 0, sizeof *out);
    size_t json_len = len;
    if (header_len >= 0) {
        if ((uint64_t)header_len > len) {
            rc = errf(err, errlen, MMSP_E_INVALID,
                      "Inference-Header-Content-Length %" PRId64 " exceeds the body length %zu",
                      header_len, len);
            goto out;
        }
        json_len = (size_t)header_len;
    } else if (header_len != -1) {
        rc = errf(err, errlen, MMSP_E_INVALID,
                  "Inference-Header-Content-Length %" PRId64 " is negative", header_len);
        goto out;
    }
    if (header_len == -1 && v2_request_parse_fast(a, body, len, out))
        goto out;
    const char *bin = body + json_len;
    size_t bin_len = len - json_len;
    size_t cursor = 0;

    struct json_value root;
    char jerr[128];
    rc = json_parse(a, body, json_len, &root, jerr, sizeof jerr);
    if (rc) {
        errf(err, errlen, rc, "invalid JSON in request: %s", jerr);
        goto out;
    }
    if (root.type != JSON_OBJECT) {
        rc = errf(err, errlen, MMSP_E_INVALID, "request must be a JSON object, not %s",
                  json_type_name(root.type));
        goto out;
    }
    const struct json_value *id = json_get(&root, "id");
    if (id) {
        if (id->type != JSON_STRING) {
            rc = errf(err, errlen, MMSP_E_INVALID, "'id' must be a string");
            goto out;
        }
        out->id = id->u.str;
    }
    const struct json_value *params = json_get(&root, "parameters");
    if (params) {
        if (params->type != JSON_OBJECT) {
            rc = errf(err, errlen, MMSP_E_INVALID, "'parameters' must be an object");
            goto out;
        }
        if (params->len) {
            void *mem;
            rc = alloc(a, params->len * sizeof *out->params, &mem);
            if (rc) {
                errf(err, errlen, rc, "too many parameters for the request memory limit");
                goto out;
            }
            out->params = mem;
        }
        for (uint32_t i = 0; i < params->len; i++) {
            const struct json_member *m = &params->u.members[i];
            if (!is_scalar(&m->value)) {
                rc = errf(err, errlen, MMSP_E_INVALID,
                          "parameter '%s' must be a string, number or boolean", m->key);
                goto out;
            }
            if (strcmp(m->key, "binary_data_output") == 0) {
                if (!is_bool(&m->value)) {
                    rc = errf(err, errlen, MMSP_E_INVALID,
                              "parameter 'binary_data_output' must be a boolean");
                    goto out;
                }
                out->binary_data_output = m->value.type == JSON_TRUE;
            }
            out->params[i].key = m->key;
            out->params[i].value = &m->value;
            out->n_params = i + 1;
        }
    }
    const struct json_value *inputs = json_get(&root, "inputs");
    if (!inputs || inputs->type != JSON_ARRAY) {
        rc = errf(err, errlen, MMSP_E_INVALID, "'inputs' must be an array of tensors");
        goto out;
    }
    if (inputs->len == 0) {
        rc = errf(err, errlen, MMSP_E_INVALID, "'inputs' must not be empty");
        goto out;
    }
    void *mem;
    rc = alloc(a, inputs->len * sizeof *out->inputs, &mem);
    if (rc) {
        errf(err, errlen, rc, "too many inputs for the request memory limit");
        goto out;
    }
    out->inputs = mem;
    for (uint32_t i = 0; i < inputs->len; i++) {
        rc = parse_input(a, &inputs->u.items[i], i, header_len, bin, bin_len, &cursor,
                         &out->inputs[i], err, errlen);
        if (rc)
            goto out;
        out->n_inputs = i + 1;
    }
    if (cursor != bin_len) {
        rc = errf(err, errlen, MMSP_E_INVALID,
                  "%zu bytes after the JSON header are not used by any input", bin_len - cursor);
        goto out;
    }
    const struct json_value *outs = json_get(&root, "outputs");
    if (outs)
        rc = parse_outputs(a, outs, out, err, errlen);
out:
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- conversion ---- */

/* One element read from any numeric dtype, keeping integers exact. */
struct num {
    int kind; /* 0 signed (i), 1 unsigned (u), 2 floating (d) */
    int64_t i;
    uint64_t u;
    double d;
};

static struct num load(mmsp_dtype t, const unsigned char *p, size_t k)
{
    struct num n = {0};
    switch (t) {
    case MMSP_DT_BOOL:
    case MMSP_DT_UINT8:
        n.kind = 1, n.u = p[k];
        break;
    case MMSP_DT_UINT16: {
        uint16_t v;
        memcpy(&v, p + 2 * k, 2);
        n.kind = 1, n.u = v;
        break;
    }
    case MMSP_DT_UINT32: {
        uint32_t v;
        memcpy(&v, p + 4 * k, 4);
        n.kind = 1, n.u = v;
        break;
    }
    case MMSP_DT_UINT64:
        n.kind = 1;
        memcpy(&n.u, p + 8 * k, 8);
        break;
    case MMSP_DT_INT8:
        n.kind = 0, n.i = (int8_t)p[k];
        break;
    case MMSP_DT_INT16: {
        int16_t v;
        memcpy(&v, p + 2 * k, 2);
        n.kind = 0, n.i = v;
        break;
    }
    case MMSP_DT_INT32: {
        int32_t v;
        memcpy(&v, p + 4 * k, 4);
        n.kind = 0, n.i = v;
        break;
    }
    case MMSP_DT_INT64:
        n.kind = 0;
        memcpy(&n.i, p + 8 * k, 8);
        break;
    case MMSP_DT_FP16: {
        uint16_t v;
        memcpy(&v, p + 2 * k, 2);
        n.kind = 2, n.d = half_to_float(v);
        break;
    }
    case MMSP_DT_BF16: { /* the top half of a float */
        uint16_t v;
        memcpy(&v, p + 2 * k, 2);
        uint32_t bits = (uint32_t)v << 16;
        float f;
        memcpy(&f, &bits, 4);
        n.kind = 2, n.d = f;
        break;
    }
    case MMSP_DT_FP32: {
        float v;
        memcpy(&v, p + 4 * k, 4);
        n.kind = 2, n.d = v;
        break;
    }
    case MMSP_DT_FP64:
        n.kind = 2;
        memcpy(&n.d, p + 8 * k, 8);
        break;
    default:
        break;
    }
    return n;
}

/* Writes n as dtype t at element k; -1 when the value is not representable. */
static int store(mmsp_dtype t, unsigned char *p, size_t k, struct num n)
{
    if (t == MMSP_DT_FP32 || t == MMSP_DT_FP64) {
        double d = n.kind == 0 ? (double)n.i : n.kind == 1 ? (double)n.u : n.d;
        if (t == MMSP_DT_FP64) {
            memcpy(p + 8 * k, &d, 8);
            return 0;
        }
        /* Integers convert straight to float (one rounding), not through double. */
        float f = n.kind == 0 ? (float)n.i : n.kind == 1 ? (float)n.u : (float)n.d;
        if (isfinite(d) && !isfinite(f))
            return -1;
        memcpy(p + 4 * k, &f, 4);
        return 0;
    }
    /* Integer targets: sign + magnitude, then range. */
    int neg;
    uint64_t mag;
    if (n.kind == 0) {
        neg = n.i < 0;
        mag = neg ? 0 - (uint64_t)n.i : (uint64_t)n.i;
    } else if (n.kind == 1) {
        neg = 0;
        mag = n.u;
    } else {
        if (!isfinite(n.d) || n.d != trunc(n.d) || fabs(n.d) >= 18446744073709551616.0)
            return -1;
        neg = n.d < 0;
        mag = (uint64_t)fabs(n.d);
    }
    uint64_t umax, nmax = 0;
    switch (t) {
    case MMSP_DT_BOOL:
        umax = 1;
        break;
    case MMSP_DT_UINT8:
        umax = UINT8_MAX;
        break;
    case MMSP_DT_UINT16:
        umax = UINT16_MAX;
        break;
    case MMSP_DT_UINT32:
        umax = UINT32_MAX;
        break;
    case MMSP_DT_UINT64:
        umax = UINT64_MAX;
        break;
    case MMSP_DT_INT8:
        umax = INT8_MAX, nmax = (uint64_t)INT8_MAX + 1;
        break;
    case MMSP_DT_INT16:
        umax = INT16_MAX, nmax = (uint64_t)INT16_MAX + 1;
        break;
    case MMSP_DT_INT32:
        umax = INT32_MAX, nmax = (uint64_t)INT32_MAX + 1;
        break;
    case MMSP_DT_INT64:
        umax = INT64_MAX, nmax = (uint64_t)INT64_MAX + 1;
        break;
    default:
        return -1;
    }
    if (mag == 0)
        neg = 0; /* -0.0 */
    if (neg ? mag > nmax : mag > umax)
        return -1;
    uint64_t bits = neg ? 0 - mag : mag;
    size_t es = mmsp_dtype_size(t);
    memcpy(p + es * k, &bits, es);
    return 0;
}

static int convertible(mmsp_dtype t, int as_target)
{
    if ((unsigned)t >= MMSP_DT_COUNT || t == MMSP_DT_BYTES)
        return 0;
    return !(as_target && (t == MMSP_DT_FP16 || t == MMSP_DT_BF16));
}

mmsp_err v2_tensor_convert(struct arena *a, const mmsp_tensor *in, mmsp_dtype want,
                           mmsp_tensor *out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    const char *name = in->name ? in->name : "";
    if (in->dtype == want) {
        *out = *in;
        goto out;
    }
    if (!convertible(in->dtype, 0) || !convertible(want, 1)) {
        rc = errf(err, errlen, MMSP_E_DTYPE, "input '%s': cannot convert %s to %s", name,
                  mmsp_dtype_name(in->dtype) ? mmsp_dtype_name(in->dtype) : "?",
                  mmsp_dtype_name(want) ? mmsp_dtype_name(want) : "?");
        goto out;
    }
    int64_t elements;
    rc = mmsp_shape_elements(in->shape, in->ndim, &elements);
    if (rc) {
        errf(err, errlen, rc, "input '%s': invalid shape", name);
        goto out;
    }
    size_t ies = mmsp_dtype_size(in->dtype), oes = mmsp_dtype_size(want);
    if ((uint64_t)elements > SIZE_MAX / 8 || in->nbytes < (size_t)elements * ies) {
        rc = errf(err, errlen, MMSP_E_SHAPE,
                  "input '%s': %zu bytes of data, shape needs %" PRId64 " x %zu", name, in->nbytes,
                  elements, ies);
        goto out;
    }
    size_t n = (size_t)elements;
    void *mem;
    rc = alloc(a, n * oes, &mem);
    if (rc) {
        errf(err, errlen, rc, "input '%s': converted data exceeds the request memory limit", name);
        goto out;
    }
    const unsigned char *src = in->data;
    unsigned char *dst = mem;
    if (in->dtype == MMSP_DT_FP64 && want == MMSP_DT_FP32) {
        /* The common case (clients sending doubles): a plain loop. */
        for (size_t k = 0; k < n; k++) {
            double d;
            memcpy(&d, src + 8 * k, 8);
            float f = (float)d;
            if (isinf(f) && !isinf(d)) {
                rc = errf(err, errlen, MMSP_E_DTYPE,
                          "input '%s': element %zu (%.17g) is out of range for FP32", name, k, d);
                goto out;
            }
            memcpy(dst + 4 * k, &f, 4);
        }
    } else {
        for (size_t k = 0; k < n; k++) {
            struct num v = load(in->dtype, src, k);
            if (store(want, dst, k, v)) {
                char val[48];
                if (v.kind == 0)
                    snprintf(val, sizeof val, "%" PRId64, v.i);
                else if (v.kind == 1)
                    snprintf(val, sizeof val, "%" PRIu64, v.u);
                else
                    snprintf(val, sizeof val, "%.17g", v.d);
                rc = errf(err, errlen, MMSP_E_DTYPE,
                          "input '%s': element %zu (%s) is not representable as %s", name, k, val,
                          mmsp_dtype_name(want));
                goto out;
            }
        }
    }
    *out = *in;
    out->dtype = want;
    out->data = mem;
    out->nbytes = n * oes;
out:
    return rc;
}

/* ---- response ---- */

static mmsp_err write_json_data(struct buf *b, const mmsp_tensor *t, size_t n)
{
    mmsp_err rc = buf_append_char(b, '[');
    const unsigned char *p = t->data;
    size_t off = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        if (k)
            rc = buf_append_char(b, ',');
        if (rc)
            break;
        switch (t->dtype) {
        case MMSP_DT_BOOL:
            rc = p[k] ? buf_append(b, "true", 4) : buf_append(b, "false", 5);
            break;
        case MMSP_DT_FP16:
        case MMSP_DT_BF16:
        case MMSP_DT_FP32: {
            struct num v = load(t->dtype, p, k);
            rc = json_write_float(b, (float)v.d);
            break;
        }
        case MMSP_DT_FP64: {
            double d;
            memcpy(&d, p + 8 * k, 8);
            rc = json_write_double(b, d);
            break;
        }
        case MMSP_DT_BYTES: {
            uint32_t len;
            if (t->nbytes - off < 4) {
                rc = MMSP_E_INVALID;
                break;
            }
            memcpy(&len, p + off, 4);
            off += 4;
            if (len > t->nbytes - off) {
                rc = MMSP_E_INVALID;
                break;
            }
            rc = json_write_string(b, (const char *)p + off, len);
            off += len;
            break;
        }
        default: {
            struct num v = load(t->dtype, p, k);
            rc = v.kind == 0 ? json_write_int(b, v.i) : json_write_uint(b, v.u);
            break;
        }
        }
    }
    if (!rc)
        rc = buf_append_char(b, ']');
    return rc;
}

/* Bytes of a tensor's data per its shape (BYTES: the prefixed elements, checked). */
static mmsp_err tensor_bytes(const mmsp_tensor *t, int64_t elements, size_t *out)
{
    if (t->dtype == MMSP_DT_BYTES) {
        const unsigned char *p = t->data;
        size_t off = 0;
        for (int64_t k = 0; k < elements; k++) {
            uint32_t len;
            if (t->nbytes - off < 4)
                return MMSP_E_INVALID;
            memcpy(&len, p + off, 4);
            off += 4;
            if (len > t->nbytes - off)
                return MMSP_E_INVALID;
            off += len;
        }
        *out = off;
        return MMSP_OK;
    }
    size_t es = mmsp_dtype_size(t->dtype);
    if (!es || (uint64_t)elements > SIZE_MAX / es || t->nbytes < (size_t)elements * es)
        return MMSP_E_INVALID;
    *out = (size_t)elements * es;
    return MMSP_OK;
}

mmsp_err v2_response_write(struct buf *out, size_t *json_len, const char *model_name,
                           const char *model_version, const char *id, const mmsp_tensor *outputs,
                           const int *binary, size_t n_outputs)
{
    size_t start = out->len;
    mmsp_err rc = buf_append_str(out, "{\"model_name\":");
    if (!rc)
        rc = json_write_string(out, model_name ? model_name : "",
                               model_name ? strlen(model_name) : 0);
    if (!rc && model_version) {
        rc = buf_append_str(out, ",\"model_version\":");
        if (!rc)
            rc = json_write_string(out, model_version, strlen(model_version));
    }
    if (!rc && id) {
        rc = buf_append_str(out, ",\"id\":");
        if (!rc)
            rc = json_write_string(out, id, strlen(id));
    }
    if (!rc)
        rc = buf_append_str(out, ",\"outputs\":[");
    for (size_t i = 0; i < n_outputs && !rc; i++) {
        const mmsp_tensor *t = &outputs[i];
        const char *dt = mmsp_dtype_name(t->dtype);
        int64_t elements;
        size_t nbytes = 0;
        if (!dt || mmsp_shape_elements(t->shape, t->ndim, &elements) ||
            tensor_bytes(t, elements, &nbytes)) {
            rc = MMSP_E_INVALID;
            break;
        }
        rc = buf_append_str(out, i ? ",{\"name\":" : "{\"name\":");
        if (!rc)
            rc = json_write_string(out, t->name ? t->name : "", t->name ? strlen(t->name) : 0);
        if (!rc) /* appends, not buf_printf: this runs on every response */
            rc = buf_append_str(out, ",\"datatype\":\"");
        if (!rc)
            rc = buf_append_str(out, dt);
        if (!rc)
            rc = buf_append_str(out, "\",\"shape\":[");
        for (int d = 0; d < t->ndim && !rc; d++) {
            if (d)
                rc = buf_append_char(out, ',');
            if (!rc)
                rc = json_write_int(out, t->shape[d]);
        }
        if (!rc)
            rc = buf_append_char(out, ']');
        if (rc)
            break;
        if (binary && binary[i]) {
            rc = buf_printf(out, ",\"parameters\":{\"binary_data_size\":%zu}}", nbytes);
        } else {
            rc = buf_append_str(out, ",\"data\":");
            if (!rc)
                rc = write_json_data(out, t, (size_t)elements);
            if (!rc)
                rc = buf_append_char(out, '}');
        }
    }
    if (!rc)
        rc = buf_append_str(out, "]}");
    if (!rc && json_len)
        *json_len = out->len - start;
    for (size_t i = 0; i < n_outputs && !rc; i++) {
        if (binary && binary[i]) {
            const mmsp_tensor *t = &outputs[i];
            int64_t elements;
            size_t nbytes = 0;
            mmsp_shape_elements(t->shape, t->ndim, &elements);
            tensor_bytes(t, elements, &nbytes);
            rc = buf_append(out, t->data, nbytes);
        }
    }
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}

/* ---- v1 and simple bodies ---- */

/*
 * rows: an array whose entries are arrays of numbers (one row each, equal lengths) or
 * numbers. A number entry is a one-column row when scalar_is_row is 0, or (when every entry
 * is a number and scalar_is_row is 1) the whole array is one row.
 */
static mmsp_err rows_to_fp32(struct arena *a, const struct json_value *rows, const char *field,
                             int scalar_is_row, mmsp_tensor *out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    if (rows->type != JSON_ARRAY) {
        rc = errf(err, errlen, MMSP_E_INVALID, "'%s' must be an array, not %s", field,
                  json_type_name(rows->type));
        goto out;
    }
    if (rows->len == 0) {
        rc = errf(err, errlen, MMSP_E_SHAPE, "'%s' must not be empty", field);
        goto out;
    }
    int flat = rows->u.items[0].type != JSON_ARRAY;
    size_t nrows, ncols;
    if (flat) {
        nrows = scalar_is_row ? 1 : rows->len;
        ncols = scalar_is_row ? rows->len : 1;
    } else {
        nrows = rows->len;
        ncols = rows->u.items[0].len;
        for (uint32_t r = 0; r < rows->len; r++) {
            const struct json_value *row = &rows->u.items[r];
            if (row->type != JSON_ARRAY) {
                rc = errf(err, errlen, MMSP_E_SHAPE,
                          "'%s'[%u] is %s, expected an array like '%s'[0]", field, r,
                          json_type_name(row->type), field);
                goto out;
            }
            if (row->len != ncols) {
                rc = errf(err, errlen, MMSP_E_SHAPE,
                          "'%s'[%u] has %u values, '%s'[0] has %zu (rows must be equally long)",
                          field, r, row->len, field, ncols);
                goto out;
            }
        }
    }
    /* nrows * ncols is the number of parsed values, so the allocation is bounded by the body. */
    void *mem;
    rc = alloc(a, nrows * ncols * sizeof(float), &mem);
    if (rc) {
        errf(err, errlen, rc, "'%s' exceeds the request memory limit", field);
        goto out;
    }
    float *o = mem;
    for (size_t r = 0; r < (flat ? 1 : nrows); r++) {
        const struct json_value *row = flat ? rows : &rows->u.items[r];
        for (uint32_t c = 0; c < row->len; c++) {
            const struct json_value *v = &row->u.items[c];
            if (v->type != JSON_NUMBER) {
                if (flat)
                    rc = errf(err, errlen, MMSP_E_DTYPE, "'%s'[%u] is %s, expected a number", field,
                              c, json_type_name(v->type));
                else
                    rc = errf(err, errlen, MMSP_E_DTYPE, "'%s'[%zu][%u] is %s, expected a number",
                              field, r, c, json_type_name(v->type));
                goto out;
            }
            float f = (float)v->u.num.d;
            if (!isfinite(f)) {
                rc = errf(err, errlen, MMSP_E_DTYPE, "'%s': value %.17g is out of range for FP32",
                          field, v->u.num.d);
                goto out;
            }
            *o++ = f;
        }
    }
    memset(out, 0, sizeof *out);
    out->name = field;
    out->dtype = MMSP_DT_FP32;
    out->ndim = 2;
    out->shape[0] = (int64_t)nrows;
    out->shape[1] = (int64_t)ncols;
    out->data = mem;
    out->nbytes = nrows * ncols * sizeof(float);
out:
    return rc;
}

static mmsp_err parse_object_body(struct arena *a, const char *body, size_t len,
                                  struct json_value *root, char *err, size_t errlen)
{
    char jerr[128];
    mmsp_err rc = json_parse(a, body, len, root, jerr, sizeof jerr);
    if (rc)
        return errf(err, errlen, rc, "invalid JSON in request: %s", jerr);
    if (root->type != JSON_OBJECT)
        return errf(err, errlen, MMSP_E_INVALID, "request must be a JSON object, not %s",
                    json_type_name(root->type));
    return MMSP_OK;
}

mmsp_err v1_request_parse(struct arena *a, const char *body, size_t len, mmsp_tensor *out,
                          char *err, size_t errlen)
{
    struct json_value root;
    mmsp_err rc = parse_object_body(a, body, len, &root, err, errlen);
    if (rc)
        goto out;
    const char *field = "instances";
    const struct json_value *rows = json_get(&root, field);
    if (!rows) {
        field = "inputs";
        rows = json_get(&root, field);
    }
    if (!rows) {
        rc = errf(err, errlen, MMSP_E_INVALID, "request needs 'instances' or 'inputs'");
        goto out;
    }
    rc = rows_to_fp32(a, rows, field, 0, out, err, errlen);
out:
    return rc;
}

mmsp_err simple_request_parse(struct arena *a, const char *body, size_t len, mmsp_tensor *out,
                              const char **id, char *err, size_t errlen)
{
    struct json_value root;
    if (id)
        *id = NULL;
    mmsp_err rc = parse_object_body(a, body, len, &root, err, errlen);
    if (rc)
        goto out;
    const struct json_value *idv = json_get(&root, "id");
    if (idv) {
        if (idv->type != JSON_STRING) {
            rc = errf(err, errlen, MMSP_E_INVALID, "'id' must be a string");
            goto out;
        }
        if (id)
            *id = idv->u.str;
    }
    const struct json_value *rows = json_get(&root, "features");
    if (rows) {
        rc = rows_to_fp32(a, rows, "features", 1, out, err, errlen);
        goto out;
    }
    rows = json_get(&root, "instances");
    if (!rows) {
        rc = errf(err, errlen, MMSP_E_INVALID, "request needs 'features' or 'instances'");
        goto out;
    }
    if (rows->type == JSON_ARRAY && rows->len && rows->u.items[0].type != JSON_ARRAY) {
        rc = errf(err, errlen, MMSP_E_SHAPE, "'instances' must be an array of rows (arrays)");
        goto out;
    }
    rc = rows_to_fp32(a, rows, "instances", 0, out, err, errlen);
out:
    return rc;
}
