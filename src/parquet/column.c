/*
 * Typed column buffers (struct parquet_column): type names and sizes, init / free / clear and
 * the row-by-row append helpers, which grow the arrays geometrically up to the limits in
 * parquet.h.
 * Calls: libc only.
 */
#include <stdlib.h>
#include <string.h>

#include "parquet.h"

static const char *const type_names[PARQUET_TYPE_COUNT] = {
    "BOOL", "INT32", "INT64", "FLOAT", "DOUBLE", "STRING", "TIMESTAMP_MS", "TIMESTAMP_US"};

const char *parquet_type_name(enum parquet_type t)
{
    return (unsigned)t < PARQUET_TYPE_COUNT ? type_names[t] : NULL;
}

size_t parquet_type_size(enum parquet_type t)
{
    switch (t) {
    case PARQUET_BOOL:
        return 1;
    case PARQUET_INT32:
    case PARQUET_FLOAT:
        return 4;
    case PARQUET_INT64:
    case PARQUET_DOUBLE:
    case PARQUET_TIMESTAMP_MS:
    case PARQUET_TIMESTAMP_US:
        return 8;
    default:
        return 0;
    }
}

void parquet_column_init(struct parquet_column *c, enum parquet_type t)
{
    memset(c, 0, sizeof *c);
    c->type = t;
}

void parquet_column_free(struct parquet_column *c)
{
    if (!c)
        return;
    enum parquet_type t = c->type;
    free(c->values);
    free(c->offsets);
    free(c->data);
    free(c->valid);
    parquet_column_init(c, t);
}

void parquet_column_clear(struct parquet_column *c)
{
    c->rows = 0;
    if (c->offsets)
        c->offsets[0] = 0;
    if (c->valid) { /* back to "no nulls" until the next append_null */
        free(c->valid);
        c->valid = NULL;
    }
}

/* Room for one more row. */
static mmsp_err grow(struct parquet_column *c)
{
    if (c->rows < c->cap)
        return MMSP_OK;
    if (c->rows >= (size_t)PARQUET_MAX_COLUMN_ROWS)
        return MMSP_E_TOO_LARGE;
    size_t ncap = c->cap ? c->cap * 2 : 64;
    if (ncap > (size_t)PARQUET_MAX_COLUMN_ROWS)
        ncap = (size_t)PARQUET_MAX_COLUMN_ROWS;
    if (c->type == PARQUET_STRING) {
        uint64_t *o = realloc(c->offsets, (ncap + 1) * sizeof *o);
        if (!o)
            return MMSP_E_NOMEM;
        if (!c->offsets)
            o[0] = 0;
        c->offsets = o;
    } else {
        void *v = realloc(c->values, ncap * parquet_type_size(c->type));
        if (!v)
            return MMSP_E_NOMEM;
        c->values = v;
    }
    if (c->valid) {
        uint8_t *v = realloc(c->valid, ncap);
        if (!v)
            return MMSP_E_NOMEM;
        c->valid = v;
    }
    c->cap = ncap;
    return MMSP_OK;
}

static mmsp_err push(struct parquet_column *c, enum parquet_type t, const void *v, size_t size)
{
    bool ts = c->type == PARQUET_TIMESTAMP_MS || c->type == PARQUET_TIMESTAMP_US;
    if (c->type != t && !(t == PARQUET_INT64 && ts))
        return MMSP_E_INVALID;
    mmsp_err rc = grow(c);
    if (rc)
        return rc;
    memcpy((char *)c->values + c->rows * size, v, size);
    if (c->valid)
        c->valid[c->rows] = 1;
    c->rows++;
    return MMSP_OK;
}

mmsp_err parquet_column_append_bool(struct parquet_column *c, bool v)
{
    uint8_t b = v ? 1 : 0;
    return push(c, PARQUET_BOOL, &b, 1);
}

mmsp_err parquet_column_append_i32(struct parquet_column *c, int32_t v)
{
    return push(c, PARQUET_INT32, &v, sizeof v);
}

mmsp_err parquet_column_append_i64(struct parquet_column *c, int64_t v)
{
    return push(c, PARQUET_INT64, &v, sizeof v);
}

mmsp_err parquet_column_append_float(struct parquet_column *c, float v)
{
    return push(c, PARQUET_FLOAT, &v, sizeof v);
}

mmsp_err parquet_column_append_double(struct parquet_column *c, double v)
{
    return push(c, PARQUET_DOUBLE, &v, sizeof v);
}

mmsp_err parquet_column_append_string(struct parquet_column *c, const char *s, size_t len)
{
    if (c->type != PARQUET_STRING)
        return MMSP_E_INVALID;
    mmsp_err rc = grow(c);
    if (rc)
        return rc;
    uint64_t used = c->offsets[c->rows];
    if (len > (1u << 31) || used + len > (1u << 31))
        return MMSP_E_TOO_LARGE;
    if (used + len > c->data_cap) {
        size_t ncap = c->data_cap ? c->data_cap : 256;
        while (ncap < used + len)
            ncap *= 2;
        char *d = realloc(c->data, ncap);
        if (!d)
            return MMSP_E_NOMEM;
        c->data = d;
        c->data_cap = ncap;
    }
    if (len)
        memcpy(c->data + used, s, len);
    c->offsets[c->rows + 1] = used + len;
    if (c->valid)
        c->valid[c->rows] = 1;
    c->rows++;
    return MMSP_OK;
}

mmsp_err parquet_column_append_null(struct parquet_column *c)
{
    if ((unsigned)c->type >= PARQUET_TYPE_COUNT)
        return MMSP_E_INVALID;
    mmsp_err rc = grow(c);
    if (rc)
        return rc;
    if (!c->valid) {
        c->valid = malloc(c->cap);
        if (!c->valid)
            return MMSP_E_NOMEM;
        memset(c->valid, 1, c->rows);
    }
    if (c->type == PARQUET_STRING)
        c->offsets[c->rows + 1] = c->offsets[c->rows];
    else
        memset((char *)c->values + c->rows * parquet_type_size(c->type), 0,
               parquet_type_size(c->type));
    c->valid[c->rows] = 0;
    c->rows++;
    return MMSP_OK;
}
