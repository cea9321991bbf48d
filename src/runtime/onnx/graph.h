/*
 * The loaded ONNX graph, shared by the loader (loader.c fills it), the planner (plan.c
 * turns it into execution plans) and the back end (onnx.c runs plans). Operators never see
 * this header (they see op.h).
 *
 * Ownership: a struct onnx_graph owns everything it points to: metadata (names, nodes,
 * attributes) in `meta` (an arena), tensor data of initializers and tensor attributes in
 * the single `weights` block. The graph lives as long as the model (model.c refcounts it).
 *
 * Calls: common/arena.h, op.h.
 */
#ifndef MMSP_RUNTIME_ONNX_GRAPH_H
#define MMSP_RUNTIME_ONNX_GRAPH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "runtime/backend.h"
#include "runtime/onnx/op.h"

/* Limits on what a file may ask for (every count and size from the file is checked). */
#define ONNX_MAX_NODES        100000
#define ONNX_MAX_VALUES       400000
#define ONNX_MAX_ATTRS        256               /* per node */
#define ONNX_MAX_ATTR_ELEMS   (1 << 24)         /* elements of one list attribute */
#define ONNX_MAX_NAME         4096              /* bytes of one name */
#define ONNX_MAX_WEIGHT_BYTES ((size_t)1 << 31) /* all initializers + tensor attributes */
#define ONNX_MAX_META_BYTES   ((size_t)1 << 28) /* names, attributes, nodes */
#define ONNX_MAX_PLANS        64 /* cached plans per model (most recent kept): one per batch size */
#define ONNX_MAX_ARENA_BYTES  ((size_t)1 << 32) /* intermediate buffers of one plan */

enum onnx_value_kind { ONNX_VALUE_NODE = 0, ONNX_VALUE_INPUT, ONNX_VALUE_INIT };

/* One named value (tensor) of the graph. */
struct onnx_value {
    const char *name;
    enum onnx_value_kind kind;
    int producer;    /* node index for ONNX_VALUE_NODE, else -1 */
    int input_index; /* position among graph inputs for ONNX_VALUE_INPUT, else -1 */
    /* declared type (graph input/output, value_info), where the file gives one */
    int has_type; /* 1: dtype known; ndim >= 0: rank known */
    mmsp_dtype dtype;
    int ndim;                    /* -1 unknown rank */
    int64_t dims[ONNX_MAX_DIMS]; /* -1: symbolic or unknown */
    struct onnx_tensor init;     /* ONNX_VALUE_INIT: the constant (data in weights) */
    int key; /* graph input whose values decide shapes (a small static integer tensor fed
                to e.g. Reshape's shape): plans are keyed by its values too */
};

/* A node: the part operators see, plus the wiring. */
struct onnx_gnode {
    struct onnx_node pub;
    const struct onnx_op *op;
    int32_t *in;  /* pub.n_inputs value indices, -1 for an empty (absent optional) input */
    int32_t *out; /* pub.n_outputs value indices, -1 for an empty output */
};

struct onnx_plan_cache {
    pthread_mutex_t lock;
    struct onnx_plan *plans[ONNX_MAX_PLANS];
    uint64_t used[ONNX_MAX_PLANS]; /* LRU stamps */
    uint64_t clock;
};

struct onnx_graph {
    struct arena meta;
    unsigned char *weights; /* one block (owned); initializers and tensor attributes */
    size_t weights_size;
    struct onnx_value *values;
    size_t n_values;
    struct onnx_gnode *nodes;
    size_t n_nodes;
    int32_t inputs[RUNTIME_MAX_IO]; /* graph inputs that are not initializers */
    size_t n_inputs;
    int32_t outputs[RUNTIME_MAX_IO];
    size_t n_outputs;
    int opset_onnx, opset_ml; /* 0 when not imported */
    int has_key_inputs;       /* some graph input is a key (see onnx_value.key) */
    int64_t ir_version;
};

/*
 * Parses and checks a ModelProto. On success *out is a new graph owned by the caller
 * (onnx_graph_free). On failure writes "<name>: <what>" into err.
 */
mmsp_err onnx_graph_load(const void *data, size_t len, const char *name, struct onnx_graph **out,
                         char *err, size_t errlen);
void onnx_graph_free(struct onnx_graph *g);

/* ---- plans (plan.c) ---- */

/* Where one value lives while a plan runs. */
enum onnx_slot_kind {
    ONNX_SLOT_NONE = 0, /* not needed */
    ONNX_SLOT_CONST,    /* data fixed in the plan or the weights (tensor.data) */
    ONNX_SLOT_INPUT,    /* the caller's input tensor */
    ONNX_SLOT_ARENA,    /* workspace base + offset */
};

struct onnx_slot {
    enum onnx_slot_kind kind;
    size_t offset;        /* ONNX_SLOT_ARENA */
    int input;            /* ONNX_SLOT_INPUT: graph input position */
    struct onnx_tensor t; /* dtype/shape; data for CONST */
};

struct onnx_step {
    int node;           /* index into graph nodes */
    int32_t out0;       /* value its output 0 is written to: the node's, or the last value of
                           a fused chain (MatMul/Gemm -> Add bias -> Relu, plan.c) */
    void *state;        /* op state from prepare (owned; freed via op->free_state) */
    size_t scratch_off; /* workspace offset of this step's scratch */
    size_t scratch_bytes;
};

/* An execution plan for one set of input shapes. Immutable once built; refcounted. */
struct onnx_plan {
    long refs;                                      /* guarded by the cache lock */
    int64_t in_dims[RUNTIME_MAX_IO][ONNX_MAX_DIMS]; /* the key: every input's dims */
    const void *key_data[RUNTIME_MAX_IO];           /* and key inputs' values (in consts) */
    size_t key_bytes[RUNTIME_MAX_IO];
    struct onnx_slot *slots; /* one per graph value */
    struct onnx_step *steps; /* nodes to run, in order (folded nodes are not here) */
    size_t n_steps;
    size_t arena_bytes;    /* workspace bytes this plan needs */
    unsigned char *consts; /* folded constants (owned) */
};

/*
 * Builds a plan for inputs of the given dims (in_dims[i] has graph input i's rank); `inputs`
 * (may be NULL at load) gives the values of key inputs, which become plan constants. On
 * failure writes a message naming the node and sets *fail_node (else -1). *out is owned by
 * the caller (onnx_plan_free).
 */
mmsp_err onnx_plan_build(const struct onnx_graph *g, const int64_t (*in_dims)[ONNX_MAX_DIMS],
                         const mmsp_tensor *inputs, struct onnx_plan **out, int *fail_node,
                         char *err, size_t errlen);
void onnx_plan_free(const struct onnx_graph *g, struct onnx_plan *p);

/*
 * Epilogue fusion (implemented in ops/matmul.c, called by the planner): asks a prepared MatMul
 * or Gemm step (its op and state) to also add a constant float bias row (N elements on the
 * last dim) or apply Relu to its output. 1 when the step took it on (the planner then drops
 * the Add / Relu step), 0 when not (another op, another dtype, bias of another shape).
 */
int onnx_matmul_fuse_bias(const struct onnx_op *op, void *state, const struct onnx_tensor *bias);
int onnx_matmul_fuse_relu(const struct onnx_op *op, void *state);

/*
 * Runs a plan's steps on a workspace of at least p->arena_bytes bytes (64-byte aligned).
 * vals is scratch of n_values tensors (bound to the workspace by this call); inputs are the
 * caller's. Returns a message naming the failing node.
 */
mmsp_err onnx_plan_run(const struct onnx_graph *g, const struct onnx_plan *p, void *arena,
                       struct onnx_tensor *vals, const mmsp_tensor *inputs, char *err,
                       size_t errlen);

#endif
