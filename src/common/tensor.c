/*
 * The datatype table (names, sizes) and shape arithmetic of include/mmsp/tensor.h.
 * Calls nothing outside libc.
 */
#include <string.h>

#include "mmsp/tensor.h"

#define NAME_ENTRY(name, wire, size) wire,
static const char *const dtype_names[] = {MMSP_DTYPES(NAME_ENTRY)};
#undef NAME_ENTRY

#define SIZE_ENTRY(name, wire, size) size,
static const unsigned char dtype_sizes[] = {MMSP_DTYPES(SIZE_ENTRY)};
#undef SIZE_ENTRY

const char *mmsp_dtype_name(mmsp_dtype t)
{
    return ((unsigned)t < MMSP_DT_COUNT) ? dtype_names[t] : NULL;
}

size_t mmsp_dtype_size(mmsp_dtype t)
{
    return ((unsigned)t < MMSP_DT_COUNT) ? dtype_sizes[t] : 0;
}

mmsp_err mmsp_dtype_parse(const char *name, size_t len, mmsp_dtype *out)
{
    if (len > 5 && memcmp(name, "TYPE_", 5) == 0) {
        name += 5;
        len -= 5;
        if (len == 6 && memcmp(name, "STRING", 6) == 0) {
            *out = MMSP_DT_BYTES;
            return MMSP_OK;
        }
    }
    for (int i = 0; i < MMSP_DT_COUNT; i++) {
        if (strlen(dtype_names[i]) == len && memcmp(dtype_names[i], name, len) == 0) {
            *out = (mmsp_dtype)i;
            return MMSP_OK;
        }
    }
    return MMSP_E_INVALID;
}

mmsp_err mmsp_shape_elements(const int64_t *shape, int ndim, int64_t *out)
{
    if (ndim < 0 || ndim > MMSP_MAX_DIMS)
        return MMSP_E_SHAPE;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return MMSP_E_SHAPE;
        if (shape[i] != 0 && n > INT64_MAX / shape[i])
            return MMSP_E_TOO_LARGE;
        n *= shape[i];
    }
    *out = n;
    return MMSP_OK;
}
