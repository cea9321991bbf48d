/*
 * A flattened ensemble of binary decision trees and its evaluator, shared by the tree back
 * ends (XGBoost JSON today, ONNX TreeEnsemble later). Calls libc and libm only.
 *
 * Layout: every node of every tree lives in one contiguous array of 16-byte packed nodes.
 * Trees are laid out breadth-first so the two children of a node are adjacent: a split goes
 * to `left` or `left + 1`. A leaf points at itself (left == own index) with a +inf threshold,
 * so a walk can run a fixed number of steps (several trees in lockstep) and stay on the leaf;
 * leaf values live in a parallel array read once at the end of a walk. The builder validates the
 * source arrays (indices in range, every node reached at most once, leaves consistent) so the
 * evaluator needs no checks and cannot loop.
 *
 * Second, faster layout ("perfect"), kept next to the first while the forest qualifies (every
 * tree at most FOREST_PERFECT_MAX_DEPTH deep, padding at most ~4x the real nodes, at most
 * FOREST_PERFECT_MAX_FEATURES features, no default-left split at a -inf threshold): every tree
 * is padded to a complete tree of the forest's depth D, heap-ordered (children of i are 2i+1 and
 * 2i+2), 2^D - 1 8-byte split nodes then 2^D leaf values per tree. A leaf above the bottom fills
 * every leaf slot under it, so the padding splits can go either way. The feature index of a
 * split whose missing values go left is offset by num_feature: the evaluator reads it from a
 * second copy of the row in which NaN is -inf (so it goes left), while the first copy keeps NaN
 * (which fails `x < thr` and goes right). A step is then one load, one compare, one add, the
 * same for every row and tree, and a walk is exactly D steps.
 *
 * Accumulation is float, in tree order, starting from the base margin, exactly as XGBoost's
 * CPU predictor does, then the objective's transform is applied in float.
 */
#ifndef MMSP_TREES_FOREST_H
#define MMSP_TREES_FOREST_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

#define FOREST_LEAF         0x80000000u /* node is a leaf: value is its output */
#define FOREST_DEFAULT_LEFT 0x40000000u /* a missing (NaN) feature goes left */
#define FOREST_FEATURE_MASK 0x3fffffffu

/* Limits: anything above is refused at load time. */
#define FOREST_MAX_TREES            (1u << 20)
#define FOREST_MAX_NODES            (1u << 25) /* all trees together */
#define FOREST_MAX_TREE_NODES       (1u << 24)
#define FOREST_MAX_DEPTH            512
#define FOREST_MAX_FEATURES         (1 << 24)
#define FOREST_MAX_GROUPS           4096 /* output groups (classes) */
#define FOREST_BLOCK_ROWS           64   /* rows evaluated together in a batch */
#define FOREST_SCRATCH_FLOATS       4096 /* stack scratch for margins of a block */
#define FOREST_PERFECT_MAX_DEPTH    10   /* deeper forests use only the first layout */
#define FOREST_PERFECT_MAX_FEATURES 1024 /* rows are copied twice into stack scratch */
#define FOREST_ROW_SCRATCH_FLOATS   8192 /* stack scratch for the doubled rows of a block */

struct forest_node {
    float value;      /* threshold: x < value goes left; +inf for a leaf */
    uint32_t feature; /* feature index (0 for a leaf) */
    uint32_t left;    /* index of the left child in nodes[]; the right one is left + 1 */
    uint32_t bits;    /* FOREST_DEFAULT_LEFT | FOREST_LEAF */
};

struct forest_pnode {
    uint32_t feature; /* index into the doubled row: feature, + num_feature if NaN goes left */
    float value;      /* threshold: x < value goes to 2i+1, else 2i+2 */
};

struct forest_tree {
    uint32_t root;  /* index of the root in nodes[] */
    uint16_t group; /* output group the leaf values add to */
    uint16_t depth; /* steps from the root to the deepest leaf */
};

enum forest_transform {
    FOREST_IDENTITY = 0, /* margins as they are */
    FOREST_SIGMOID,      /* 1 / (1 + exp(-x)) per value */
    FOREST_SOFTMAX,      /* softmax across the groups of a row */
    FOREST_ARGMAX,       /* index of the largest group margin, as float: one value per row */
};

struct forest {
    struct forest_node *nodes; /* owned, n_nodes of them */
    float *leaf_values;        /* owned, n_nodes: the value of each leaf node (0 elsewhere) */
    uint32_t n_nodes, cap_nodes;
    struct forest_tree *trees; /* owned, n_trees of them, in evaluation order */
    uint32_t n_trees, cap_trees;
    uint32_t num_group;  /* margins per row (classes for multi-class, else 1) */
    int64_t num_feature; /* row width */
    float base_margin;   /* every margin starts here */
    enum forest_transform transform;
    /* The perfect layout: valid while `perfect`; pnodes has n_trees * (2^pdepth - 1) nodes,
     * pleaves n_trees * 2^pdepth values. */
    struct forest_pnode *pnodes; /* owned */
    float *pleaves;              /* owned */
    size_t cap_pnodes, cap_pleaves;
    uint32_t pdepth;
    int perfect;
    /* The same trees for the SIMD batch evaluator (x86-64 with AVX2, checked at run time),
     * valid while `perfect`: per tree a chunk of vstride 32-bit words, vnodes features
     * (uint32, as in forest_pnode), then vnodes thresholds (float), then the 2^pdepth leaf
     * values and padding, so 8-wide loads at the start of any level stay inside the chunk. */
    uint32_t *vdata; /* owned */
    size_t cap_vdata;
    uint32_t vnodes, vstride;
};

/* An empty forest. Never fails. */
void trees_forest_init(struct forest *f, int64_t num_feature, uint32_t num_group, float base_margin,
                       enum forest_transform transform);

/* Frees the arrays; f can be init'ed again. */
void trees_forest_release(struct forest *f);

/*
 * One tree in XGBoost's array form: n nodes, node 0 is the root, left[i] == -1 marks a leaf
 * (then right[i] must be -1 too and value[i] is the leaf value; else value[i] is the split
 * threshold). Arrays are borrowed. Validates and appends it in the packed layout. Errors are
 * MMSP_E_BAD_MODEL / MMSP_E_TOO_LARGE / MMSP_E_NOMEM with "node N: ..." in err.
 */
mmsp_err trees_forest_add_tree(struct forest *f, uint32_t group, uint32_t n, const int64_t *left,
                               const int64_t *right, const int64_t *feature, const float *value,
                               const uint8_t *default_left, char *err, size_t errlen);

/* Values per output row: 1 for FOREST_ARGMAX and single-group forests, else num_group. */
uint32_t trees_forest_out_width(const struct forest *f);

/*
 * Evaluates n_rows rows (row-major, num_feature floats each, NaN = missing) into out
 * (n_rows * trees_forest_out_width floats). No allocation; thread-safe on a shared forest.
 */
void trees_forest_predict(const struct forest *f, const float *rows, size_t n_rows, float *out);

#endif
