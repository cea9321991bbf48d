/*
 * The ONNX operator interface: what one operator implementation (src/runtime/onnx/ops/ files)
 * provides, and the helpers every operator may call (attributes, shapes, broadcasting,
 * dtypes). Operators see only this header: they never touch protobuf, the loader or the
 * planner. docs/onnx.md "Adding an operator" walks through an example.
 *
 * Life of an operator in a loaded model:
 *   - load: the registry (ops/registry.c) maps (domain, op_type, opset) to a struct onnx_op;
 *     a node whose triple has no entry is refused ("unsupported operator").
 *   - plan (once per distinct set of input shapes, e.g. once per batch size, cached):
 *     prepare() sees every input's dtype and shape (and its data when the input is a constant:
 *     an initializer, a Constant, or a folded subgraph), reads attributes, handles opset
 *     differences, and fills each output's dtype and shape. It may keep op state (freed with
 *     the plan through free_state) and ask for per-run scratch bytes. When all inputs of a
 *     node are constant, the planner runs it right away and the outputs become constants
 *     (constant folding: Shape -> Gather -> Concat -> Reshape chains cost nothing at run time).
 *   - run (every inference, possibly on many threads at once): run() computes outputs from
 *     inputs. Tensors are dense, row-major, contiguous; output buffers are allocated by the
 *     planner with exactly the shape prepare() gave. run() must not allocate, must not keep
 *     pointers, and must not crash on any values (NaN, inf, out-of-range indices: return an
 *     error instead).
 *
 * Calls: libc only (helpers are implemented in helpers.c).
 */
#ifndef MMSP_RUNTIME_ONNX_OP_H
#define MMSP_RUNTIME_ONNX_OP_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"
#include "mmsp/tensor.h"

/* Highest rank a tensor may have. */
#define ONNX_MAX_DIMS MMSP_MAX_DIMS
/* Most inputs / outputs one node may have. */
#define ONNX_MAX_NODE_IO 64
/* Largest tensor (bytes) the runtime will create for one value. */
#define ONNX_MAX_TENSOR_BYTES ((int64_t)1 << 31)

/*
 * Element types: mmsp_dtype values. Strings are MMSP_DT_BYTES; a string element is a
 * `const char *` to a NUL-terminated string owned by the model (weights block or op state),
 * so string tensors never allocate at run time: an operator that makes strings (Cast to
 * string) formats them into its per-run scratch, which the planner keeps for the whole run
 * when a step has a string output. FP16 (float16) and BF16 (bfloat16) are 2-byte elements
 * holding the bits; operators that take them convert with the helpers below.
 */

/* A dense row-major tensor as operators see it. Never owns its data. */
struct onnx_tensor {
    mmsp_dtype dtype;
    int ndim;                    /* 0 = scalar */
    int64_t dims[ONNX_MAX_DIMS]; /* all >= 0 */
    int64_t count;               /* product of dims (1 for a scalar) */
    void *data; /* prepare: non-NULL only for constants (read-only!); run: always */
};

/* Attribute types (values of onnx AttributeProto.AttributeType that we read). */
enum onnx_attr_type {
    ONNX_ATTR_FLOAT = 1,
    ONNX_ATTR_INT = 2,
    ONNX_ATTR_STRING = 3,
    ONNX_ATTR_TENSOR = 4,
    ONNX_ATTR_FLOATS = 6,
    ONNX_ATTR_INTS = 7,
    ONNX_ATTR_STRINGS = 8,
};

/* One decoded attribute. Everything it points to is owned by the model. */
struct onnx_attr {
    const char *name;
    enum onnx_attr_type type;
    float f;
    int64_t i;
    const char *s; /* STRING (NUL-terminated; s_len excludes the NUL) */
    size_t s_len;
    size_t n; /* element count of FLOATS / INTS / STRINGS */
    const float *floats;
    const int64_t *ints;
    const char *const *strings;
    struct onnx_tensor t; /* TENSOR: data in the weights block */
};

/* A node as operators see it (owned by the model). */
struct onnx_node {
    const char *name; /* "" when the file gave none; messages then use the index */
    const char *op_type;
    const char *domain; /* "" for ai.onnx, "ai.onnx.ml" */
    int opset;          /* the model's opset import for this domain */
    size_t n_attrs;
    const struct onnx_attr *attrs;
    size_t n_inputs, n_outputs; /* as written in the file (trailing optionals may be absent) */
};

/* What prepare() gets. prepare fills outputs[k].dtype/ndim/dims (count is derived after). */
struct onnx_prepare_ctx {
    const struct onnx_node *node;
    size_t n_inputs;
    const struct onnx_tensor *const *inputs; /* inputs[k] == NULL: optional input absent */
    size_t n_outputs;
    struct onnx_tensor *outputs; /* outputs[k] of an absent optional output is
                                    still filled; the planner drops it */
    void *state;          /* out: op state for run(), freed by op->free_state with the plan */
    size_t scratch_bytes; /* out: bytes of per-run scratch memory run() receives (aligned 64) */
    char *err;            /* message buffer: use onnx_op_err() */
    size_t errlen;
};

/* What run() gets. */
struct onnx_run_ctx {
    const struct onnx_node *node;
    const void *state;
    size_t n_inputs;
    const struct onnx_tensor *const *inputs;
    size_t n_outputs;
    struct onnx_tensor *const *outputs; /* data allocated; dtype/dims as prepare set them */
    void *scratch;                      /* scratch_bytes bytes, or NULL */
    char *err;
    size_t errlen;
};

/* One operator implementation, valid for opsets since_min..since_max of its domain. */
struct onnx_op {
    const char *domain; /* "" (ai.onnx) or "ai.onnx.ml" */
    const char *op_type;
    int since_min, since_max;
    int min_inputs, max_inputs; /* counted as written in the file, absent optionals included */
    int min_outputs, max_outputs;
    mmsp_err (*prepare)(struct onnx_prepare_ctx *ctx);
    mmsp_err (*run)(const struct onnx_run_ctx *ctx);
    void (*free_state)(void *state); /* may be NULL: then state is free()d when non-NULL */
};

/*
 * The registry (ops/registry.c): the operator for (domain, op_type) at `opset`, or NULL.
 * onnx_op_known tells whether any opset of that pair is registered (for messages).
 */
const struct onnx_op *onnx_op_find(const char *domain, const char *op_type, int opset);
int onnx_op_known(const char *domain, const char *op_type);

/* ---- helpers for operators (helpers.c) ---- */

/*
 * Writes "node '<name>' (op '<op>'): <message>" into err and returns `rc`. Use for every
 * error an operator reports, e.g. return onnx_op_err(ctx->node, ctx->err, ctx->errlen,
 * MMSP_E_SHAPE, "inner dims %lld and %lld differ", ...).
 */
mmsp_err onnx_op_err(const struct onnx_node *node, char *err, size_t errlen, mmsp_err rc,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Attribute lookup: the attribute called `name`, or NULL. */
const struct onnx_attr *onnx_attr_find(const struct onnx_node *node, const char *name);

/*
 * Typed getters with defaults: when the attribute is absent *out = def and MMSP_OK; when it
 * has another type, MMSP_E_BAD_MODEL with a message naming the node and attribute.
 */
mmsp_err onnx_attr_int(const struct onnx_node *node, const char *name, int64_t def, int64_t *out,
                       char *err, size_t errlen);
mmsp_err onnx_attr_float(const struct onnx_node *node, const char *name, float def, float *out,
                         char *err, size_t errlen);
/* *out = the string (or def); may be NULL when def is NULL. */
mmsp_err onnx_attr_string(const struct onnx_node *node, const char *name, const char *def,
                          const char **out, char *err, size_t errlen);
/* *out, *n = the list; (NULL, 0) when absent. `present` (may be NULL) says whether it was there. */
mmsp_err onnx_attr_ints(const struct onnx_node *node, const char *name, const int64_t **out,
                        size_t *n, int *present, char *err, size_t errlen);
mmsp_err onnx_attr_floats(const struct onnx_node *node, const char *name, const float **out,
                          size_t *n, int *present, char *err, size_t errlen);
mmsp_err onnx_attr_strings(const struct onnx_node *node, const char *name, const char *const **out,
                           size_t *n, int *present, char *err, size_t errlen);

/* Element size for the executor: strings are pointers; 0 for unsupported dtypes. */
size_t onnx_dtype_size(mmsp_dtype t);
/* "float", "int64", ... (ONNX spelling) for messages. */
const char *onnx_dtype_name(mmsp_dtype t);

/*
 * float16 / bfloat16 bits <-> float. onnx_half_from_double rounds once to nearest even
 * (subnormals kept, overflow to inf, NaN stays NaN); floats convert exactly to double first.
 * onnx_bf16_from_float truncates the low 16 bits as ONNX up to opset 18 and its backend test
 * data do (NaN stays NaN).
 */
float onnx_half_to_float(uint16_t h);
uint16_t onnx_half_from_double(double d);
float onnx_bf16_to_float(uint16_t b);
uint16_t onnx_bf16_from_float(float f);

/*
 * Sets t->count from t->dims; MMSP_E_TOO_LARGE when the element count or its byte size
 * exceeds ONNX_MAX_TENSOR_BYTES; MMSP_E_SHAPE for a negative dim or a bad rank.
 */
mmsp_err onnx_tensor_count(struct onnx_tensor *t);

/* Sets out's rank and dims (dtype untouched). ndim must be 0..ONNX_MAX_DIMS. */
void onnx_shape_set(struct onnx_tensor *out, int ndim, const int64_t *dims);

/* Normalises an axis in [-rank, rank) to [0, rank); MMSP_E_BAD_MODEL (message) otherwise. */
mmsp_err onnx_axis_norm(const struct onnx_node *node, int64_t axis, int rank, int *out, char *err,
                        size_t errlen);

/*
 * Reads a constant integer tensor (int32 or int64, any rank) into out[0..*n) (at most `cap`
 * values); MMSP_E_BAD_MODEL when t is not constant or has another dtype. For inputs that
 * opset >= 13 turned from attributes into tensors (axes, shape, Clip bounds...).
 */
mmsp_err onnx_const_ints(const struct onnx_node *node, const struct onnx_tensor *t, int64_t *out,
                         size_t cap, size_t *n, char *err, size_t errlen);

/*
 * numpy-style broadcasting. onnx_shape_broadcast sets out->ndim/dims to the broadcast of the
 * n shapes (MMSP_E_SHAPE with a message when they are incompatible).
 */
mmsp_err onnx_shape_broadcast(const struct onnx_node *node, size_t n,
                              const struct onnx_tensor *const *in, struct onnx_tensor *out,
                              char *err, size_t errlen);

/*
 * A kernel for broadcast iteration: `n` elements; out advances by one element each step,
 * in[k] by step[k] elements (0 or 1, i.e. a broadcast scalar run or a contiguous run).
 * Pointers are typed by the kernel.
 */
typedef void (*onnx_bcast_fn)(void *out, const void *const *in, const int64_t *step, int64_t n,
                              const void *arg);

/*
 * Iterates out (whose shape is the broadcast of in[0..n_in), n_in <= 4) in runs along the
 * innermost dims, calling fn on each run. Adjacent dims that broadcast alike are merged so a
 * same-shape Add is one call, a [N,K]+[K] Add is N calls of K.
 */
void onnx_bcast_run(struct onnx_tensor *out, size_t n_in, const struct onnx_tensor *const *in,
                    onnx_bcast_fn fn, const void *arg);

/*
 * dtype dispatch for kernels: ONNX_DISPATCH_NUM(dt, MACRO) expands MACRO(ctype, SUFFIX)
 * inside a switch on dt for float, double, int32, int64 (and ONNX_DISPATCH_ALL also int8,
 * uint8, bool) and evaluates to nothing for others; see ops/elementwise.c.
 */
#define ONNX_DISPATCH_NUM(dt, M)                                                                   \
    switch (dt) {                                                                                  \
    case MMSP_DT_FP32:                                                                             \
        M(float, f32);                                                                             \
        break;                                                                                     \
    case MMSP_DT_FP64:                                                                             \
        M(double, f64);                                                                            \
        break;                                                                                     \
    case MMSP_DT_INT32:                                                                            \
        M(int32_t, i32);                                                                           \
        break;                                                                                     \
    case MMSP_DT_INT64:                                                                            \
        M(int64_t, i64);                                                                           \
        break;                                                                                     \
    default:                                                                                       \
        break;                                                                                     \
    }

#endif
