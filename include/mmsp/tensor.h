/*
 * mmsp tensors: a datatype table shared with the Open Inference Protocol and a plain
 * struct that describes a dense row-major tensor. A tensor never owns its data: whoever
 * fills `data` says who frees it.
 */
#ifndef MMSP_TENSOR_H
#define MMSP_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMSP_MAX_DIMS 8

/*
 * X(NAME, wire name as in the Open Inference Protocol, element size in bytes; 0 = variable).
 * New types go at the end: the values are stable (BF16, bfloat16 as Triton spells it, came last).
 */
#define MMSP_DTYPES(X)                                                                             \
    X(BOOL, "BOOL", 1)                                                                             \
    X(UINT8, "UINT8", 1)                                                                           \
    X(UINT16, "UINT16", 2)                                                                         \
    X(UINT32, "UINT32", 4)                                                                         \
    X(UINT64, "UINT64", 8)                                                                         \
    X(INT8, "INT8", 1)                                                                             \
    X(INT16, "INT16", 2)                                                                           \
    X(INT32, "INT32", 4)                                                                           \
    X(INT64, "INT64", 8)                                                                           \
    X(FP16, "FP16", 2)                                                                             \
    X(FP32, "FP32", 4)                                                                             \
    X(FP64, "FP64", 8)                                                                             \
    X(BYTES, "BYTES", 0)                                                                           \
    X(BF16, "BF16", 2)

#define MMSP_DTYPE_ENUM_ENTRY(name, wire, size) MMSP_DT_##name,
typedef enum mmsp_dtype { MMSP_DTYPES(MMSP_DTYPE_ENUM_ENTRY) MMSP_DT_COUNT } mmsp_dtype;
#undef MMSP_DTYPE_ENUM_ENTRY

/* "FP32" for MMSP_DT_FP32; NULL outside the table. */
const char *mmsp_dtype_name(mmsp_dtype t);

/* Element size in bytes; 0 for BYTES and for values outside the table. */
size_t mmsp_dtype_size(mmsp_dtype t);

/*
 * Parses a wire name ("FP32"); also accepts the Triton model-config spelling ("TYPE_FP32",
 * "TYPE_STRING" for BYTES). Returns MMSP_E_INVALID for anything else.
 */
mmsp_err mmsp_dtype_parse(const char *name, size_t len, mmsp_dtype *out);

/* A dense, row-major tensor. `data` holds nbytes bytes; the struct does not own it. */
typedef struct mmsp_tensor {
    const char *name;
    mmsp_dtype dtype;
    int ndim;
    int64_t shape[MMSP_MAX_DIMS];
    void *data;
    size_t nbytes;
} mmsp_tensor;

/*
 * Number of elements of a shape, in *out. Fails with MMSP_E_SHAPE for a negative dim or
 * ndim outside 0..MMSP_MAX_DIMS, and MMSP_E_TOO_LARGE when the product overflows int64.
 */
mmsp_err mmsp_shape_elements(const int64_t *shape, int ndim, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
