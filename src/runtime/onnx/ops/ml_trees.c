/*
 * ai.onnx.ml TreeEnsembleClassifier and TreeEnsembleRegressor (opsets 1..3).
 *
 * prepare() validates the nodes_* / class_* / target_* attributes (every id, index and count
 * is checked: children exist in the same tree, no node is the child of two nodes, one root per
 * tree, weights sit on leaves, class/target ids in range, features inside the input) and
 * builds two things:
 *   - the shared tree evaluator of runtime/trees/forest.h (the XGBoost back end's, unchanged),
 *     whenever the model fits it: modes BRANCH_LT / LEQ / GTE / GT / LEAF with finite
 *     thresholds and aggregate SUM or AVERAGE. The forest only knows "x < thr goes left, NaN
 *     goes the default way": x <= t becomes x < nextafterf(t, +inf) (exact in float), GTE / GT
 *     swap the children, and nodes_missing_value_tracks_true picks the default side. One forest
 *     tree is added per (tree, class or target) pair the tree has weights for, with the leaf
 *     values of that class, so the forest's per-group sums are exactly the ONNX sums;
 *   - a plain per-node walk for everything else (BRANCH_EQ / NEQ, non-finite thresholds,
 *     aggregate MIN / MAX, more than FOREST_MAX_GROUPS outputs), which the forest cannot
 *     express without changing its hot loop; those models are rare, the walk keeps forest.c
 *     (and the XGBoost path) exactly as it is.
 * Scores then get base_values, the classifier's two-class rule and the post transform. Inputs
 * of type double / int64 / int32 are compared as float (thresholds are float in the forest).
 *
 * Calls: op.h helpers, ml_common.h, runtime/trees/forest.h, libc, libm.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"
#include "runtime/onnx/ops/ml_common.h"
#include "runtime/trees/forest.h"

/* Outputs (classes or targets) one model may have. */
#define TREES_MAX_OUTPUTS (1 << 20)

enum tmode { M_LEQ, M_LT, M_GTE, M_GT, M_EQ, M_NEQ, M_LEAF };
enum agg { AGG_SUM, AGG_AVERAGE, AGG_MIN, AGG_MAX };

/* A node for the walk: children are indices into nodes[]; weights w_id/w_val[w0, w0 + wn). */
struct wnode {
    float thr;
    uint32_t feature;
    uint32_t t, f;
    uint32_t w0, wn;
    uint8_t mode, miss;
};

struct tree_state {
    int clf;
    int64_t n_feat;
    uint32_t n_out; /* classes (classifier) or targets (regressor) */
    uint32_t n_trees;
    enum ml_post post;
    enum agg agg;
    float *base;
    size_t n_base;
    struct ml_labels labels;
    int binary;         /* two labels, weights for a single class id: the two-class rule */
    uint32_t bin_class; /* that class id */
    struct wnode *nodes;
    uint32_t n_nodes;
    uint32_t *roots;
    uint32_t *w_id;
    float *w_val;
    int use_forest;
    struct forest forest;
    int64_t rows;
    int convert; /* input is not float: rows are converted into scratch first */
};

static void tree_free(void *p)
{
    struct tree_state *s = p;
    if (!s)
        return;
    free(s->base);
    free(s->nodes);
    free(s->roots);
    free(s->w_id);
    free(s->w_val);
    trees_forest_release(&s->forest);
    free(s);
}

struct key {
    int64_t tree, node;
    uint32_t i;
};

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    if (x->tree != y->tree)
        return x->tree < y->tree ? -1 : 1;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return 0;
}

/* Index of node (tree, node) in keys, or -1. */
static int64_t key_find(const struct key *keys, size_t n, int64_t tree, int64_t node)
{
    struct key k = {tree, node, 0};
    const struct key *p = bsearch(&k, keys, n, sizeof *keys, key_cmp);
    return p ? (int64_t)p->i : -1;
}

static int mode_parse(const char *s)
{
    static const char *const names[] = {"BRANCH_LEQ", "BRANCH_LT",  "BRANCH_GTE", "BRANCH_GT",
                                        "BRANCH_EQ",  "BRANCH_NEQ", "LEAF"};
    for (int k = 0; k < (int)(sizeof names / sizeof names[0]); k++)
        if (strcmp(s, names[k]) == 0)
            return k;
    return -1;
}

#define FAIL(code, ...)                                                                            \
    do {                                                                                           \
        rc = onnx_op_err(node, ctx->err, ctx->errlen, code, __VA_ARGS__);                          \
        goto out;                                                                                  \
    } while (0)

/*
 * Adds tree `t` (nodes reachable from roots[t]) to the forest once per output it has weights
 * for. loc/left/right/feat/val/dl are scratch of n_nodes entries; used is n_out flags (zero).
 */
static mmsp_err forest_add(struct tree_state *s, uint32_t t, int64_t *loc, uint32_t *order,
                           int64_t *left, int64_t *right, int64_t *feat, float *val, uint8_t *dl,
                           uint8_t *used, uint32_t *ids, const struct onnx_node *node, char *err,
                           size_t errlen)
{
    uint32_t n = 0, n_ids = 0;
    mmsp_err rc = MMSP_OK;
    /* Number reachable nodes breadth-first: order[local] = global. */
    order[n] = s->roots[t];
    loc[s->roots[t]] = n++;
    for (uint32_t h = 0; h < n; h++) {
        const struct wnode *w = &s->nodes[order[h]];
        if (w->mode == M_LEAF) {
            for (uint32_t k = w->w0; k < w->w0 + w->wn; k++)
                if (!used[s->w_id[k]]) {
                    used[s->w_id[k]] = 1;
                    ids[n_ids++] = s->w_id[k];
                }
            continue;
        }
        loc[w->t] = n;
        order[n++] = w->t;
        loc[w->f] = n;
        order[n++] = w->f;
    }
    for (uint32_t h = 0; h < n; h++) {
        const struct wnode *w = &s->nodes[order[h]];
        if (w->mode == M_LEAF) {
            left[h] = right[h] = -1;
            feat[h] = 0;
            continue;
        }
        int swap = w->mode == M_GTE || w->mode == M_GT;
        left[h] = loc[swap ? w->f : w->t];
        right[h] = loc[swap ? w->t : w->f];
        feat[h] = w->feature;
        val[h] = (w->mode == M_LEQ || w->mode == M_GT) ? nextafterf(w->thr, INFINITY) : w->thr;
        dl[h] = swap ? !w->miss : w->miss;
    }
    for (uint32_t c = 0; c < n_ids; c++) {
        uint32_t id = ids[c];
        char msg[256];
        for (uint32_t h = 0; h < n; h++) {
            const struct wnode *w = &s->nodes[order[h]];
            if (w->mode != M_LEAF)
                continue;
            val[h] = 0.0f;
            for (uint32_t k = w->w0; k < w->w0 + w->wn; k++)
                if (s->w_id[k] == id)
                    val[h] += s->w_val[k];
        }
        rc = trees_forest_add_tree(&s->forest, id, n, left, right, feat, val, dl, msg, sizeof msg);
        if (rc) {
            rc = onnx_op_err(node, err, errlen, rc, "tree %u: %s", t, msg);
            break;
        }
    }
    for (uint32_t c = 0; c < n_ids; c++)
        used[ids[c]] = 0;
    return rc;
}

static mmsp_err tree_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    const int clf = strcmp(node->op_type, "TreeEnsembleClassifier") == 0;
    const char *pre = clf ? "class" : "target";
    char an[64];
    struct tree_state *s = calloc(1, sizeof *s);
    struct key *keys = NULL;
    float *vals = NULL, *wv = NULL;
    uint32_t *indeg = NULL, *tree_of = NULL, *cnt = NULL, *order = NULL, *ids = NULL;
    int64_t *loc = NULL, *left = NULL, *right = NULL, *feat = NULL;
    float *fval = NULL;
    uint8_t *dl = NULL, *used = NULL;
    mmsp_err rc = MMSP_OK;
    int64_t N, F;

    if (!s)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    s->clf = clf;
    if ((rc = ml_rows(node, ctx->inputs[0], &N, &F, ctx->err, ctx->errlen)))
        goto out;
    if (ctx->inputs[0]->ndim == 1)
        N = 1;
    s->n_feat = F;
    s->rows = N;
    s->convert = ctx->inputs[0]->dtype != MMSP_DT_FP32;
    if ((rc = ml_post_read(node, &s->post, ctx->err, ctx->errlen)))
        goto out;

    /* nodes_* */
    const int64_t *tids, *nids, *fids, *tru, *fal, *miss;
    const char *const *modes;
    size_t n, n2, n3, n4, n5, n6, n7, nv;
    if ((rc = onnx_attr_ints(node, "nodes_treeids", &tids, &n, NULL, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_ints(node, "nodes_nodeids", &nids, &n2, NULL, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_ints(node, "nodes_featureids", &fids, &n3, NULL, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_ints(node, "nodes_truenodeids", &tru, &n4, NULL, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_ints(node, "nodes_falsenodeids", &fal, &n5, NULL, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_strings(node, "nodes_modes", &modes, &n6, NULL, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_ints(node, "nodes_missing_value_tracks_true", &miss, &n7, NULL, ctx->err,
                             ctx->errlen)) ||
        (rc = ml_floats_read(node, "nodes_values", &vals, &nv, ctx->err, ctx->errlen)))
        goto out;
    if (n == 0)
        FAIL(MMSP_E_BAD_MODEL, "nodes_treeids is empty");
    if (n > FOREST_MAX_NODES)
        FAIL(MMSP_E_TOO_LARGE, "%zu nodes, at most %u allowed", n, FOREST_MAX_NODES);
    if (n2 != n || n3 != n || n4 != n || n5 != n || n6 != n || (n7 && n7 != n) || nv != n)
        FAIL(MMSP_E_BAD_MODEL,
             "nodes_* attributes have different lengths (%zu treeids, %zu "
             "nodeids, %zu featureids, %zu true, %zu false, %zu modes, %zu "
             "missing, %zu values)",
             n, n2, n3, n4, n5, n6, n7, nv);
    s->n_nodes = (uint32_t)n;
    keys = malloc(n * sizeof *keys);
    s->nodes = calloc(n, sizeof *s->nodes);
    indeg = calloc(n, sizeof *indeg);
    tree_of = malloc(n * sizeof *tree_of);
    if (!keys || !s->nodes || !indeg || !tree_of)
        FAIL(MMSP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        keys[i] = (struct key){tids[i], nids[i], (uint32_t)i};
    qsort(keys, n, sizeof *keys, key_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i && key_cmp(&keys[i - 1], &keys[i]) == 0)
            FAIL(MMSP_E_BAD_MODEL, "node %lld of tree %lld is defined twice",
                 (long long)keys[i].node, (long long)keys[i].tree);
        if (i == 0 || keys[i].tree != keys[i - 1].tree)
            s->n_trees++;
        tree_of[keys[i].i] = s->n_trees - 1;
    }
    s->roots = malloc((size_t)s->n_trees * sizeof *s->roots);
    if (!s->roots)
        FAIL(MMSP_E_NOMEM, "out of memory");
    int forest_ok = 1;
    for (size_t i = 0; i < n; i++) {
        struct wnode *w = &s->nodes[i];
        int m = mode_parse(modes[i]);
        if (m < 0)
            FAIL(MMSP_E_BAD_MODEL, "node %zu: unknown mode '%s'", i, modes[i]);
        w->mode = (uint8_t)m;
        w->miss = n7 ? miss[i] != 0 : 0;
        if (m == M_LEAF)
            continue;
        if (fids[i] < 0 || fids[i] >= F)
            FAIL(MMSP_E_BAD_MODEL, "node %zu: feature id %lld outside the input's %lld columns", i,
                 (long long)fids[i], (long long)F);
        if (isnan(vals[i]))
            FAIL(MMSP_E_BAD_MODEL, "node %zu: threshold is NaN", i);
        int64_t t = key_find(keys, n, tids[i], tru[i]), f = key_find(keys, n, tids[i], fal[i]);
        if (t < 0 || f < 0)
            FAIL(MMSP_E_BAD_MODEL, "node %zu: child %lld is not a node of tree %lld", i,
                 (long long)(t < 0 ? tru[i] : fal[i]), (long long)tids[i]);
        if (t == f || (size_t)t == i || (size_t)f == i || ++indeg[t] > 1 || ++indeg[f] > 1)
            FAIL(MMSP_E_BAD_MODEL, "node %zu: a child is reached twice (cycle or shared node)", i);
        w->feature = (uint32_t)fids[i];
        w->thr = vals[i];
        w->t = (uint32_t)t;
        w->f = (uint32_t)f;
        if (m == M_EQ || m == M_NEQ || !isfinite(vals[i]))
            forest_ok = 0;
    }
    /* One root (a node no node points at) per tree. */
    for (uint32_t t = 0; t < s->n_trees; t++)
        s->roots[t] = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (indeg[i])
            continue;
        if (s->roots[tree_of[i]] != UINT32_MAX)
            FAIL(MMSP_E_BAD_MODEL, "tree %lld has more than one root (nodes %lld and %lld)",
                 (long long)tids[i], (long long)nids[s->roots[tree_of[i]]], (long long)nids[i]);
        s->roots[tree_of[i]] = (uint32_t)i;
    }
    for (uint32_t t = 0; t < s->n_trees; t++)
        if (s->roots[t] == UINT32_MAX)
            FAIL(MMSP_E_BAD_MODEL, "tree %u has no root (its nodes form a cycle)", t);

    /* Outputs, labels, aggregation. */
    if (clf) {
        if ((rc = ml_labels_read(node, "classlabels_int64s", "classlabels_strings", 0, &s->labels,
                                 ctx->err, ctx->errlen)))
            goto out;
        if (s->labels.n > TREES_MAX_OUTPUTS)
            FAIL(MMSP_E_TOO_LARGE, "%zu classes, at most %d allowed", s->labels.n,
                 TREES_MAX_OUTPUTS);
        s->n_out = (uint32_t)s->labels.n;
    } else {
        int64_t nt;
        const char *agg;
        if ((rc = onnx_attr_int(node, "n_targets", 1, &nt, ctx->err, ctx->errlen)) ||
            (rc = onnx_attr_string(node, "aggregate_function", "SUM", &agg, ctx->err, ctx->errlen)))
            goto out;
        if (nt < 1 || nt > TREES_MAX_OUTPUTS)
            FAIL(MMSP_E_BAD_MODEL, "n_targets %lld is outside [1, %d]", (long long)nt,
                 TREES_MAX_OUTPUTS);
        s->n_out = (uint32_t)nt;
        if (strcmp(agg, "SUM") == 0)
            s->agg = AGG_SUM;
        else if (strcmp(agg, "AVERAGE") == 0)
            s->agg = AGG_AVERAGE;
        else if (strcmp(agg, "MIN") == 0)
            s->agg = AGG_MIN;
        else if (strcmp(agg, "MAX") == 0)
            s->agg = AGG_MAX;
        else
            FAIL(MMSP_E_BAD_MODEL, "unknown aggregate_function '%s'", agg);
        if (s->agg == AGG_MIN || s->agg == AGG_MAX)
            forest_ok = 0;
    }
    if ((rc = ml_floats_read(node, "base_values", &s->base, &s->n_base, ctx->err, ctx->errlen)))
        goto out;
    if (s->n_base && s->n_base != s->n_out && !(clf && s->n_base == 1 && s->n_out == 2))
        FAIL(MMSP_E_BAD_MODEL, "%zu base_values for %u outputs", s->n_base, s->n_out);

    /* Weights, grouped per leaf. */
    const int64_t *wt, *wn, *wi;
    size_t m1, m2, m3, m4;
    snprintf(an, sizeof an, "%s_treeids", pre);
    if ((rc = onnx_attr_ints(node, an, &wt, &m1, NULL, ctx->err, ctx->errlen)))
        goto out;
    snprintf(an, sizeof an, "%s_nodeids", pre);
    if ((rc = onnx_attr_ints(node, an, &wn, &m2, NULL, ctx->err, ctx->errlen)))
        goto out;
    snprintf(an, sizeof an, "%s_ids", pre);
    if ((rc = onnx_attr_ints(node, an, &wi, &m3, NULL, ctx->err, ctx->errlen)))
        goto out;
    snprintf(an, sizeof an, "%s_weights", pre);
    if ((rc = ml_floats_read(node, an, &wv, &m4, ctx->err, ctx->errlen)))
        goto out;
    if (m2 != m1 || m3 != m1 || m4 != m1)
        FAIL(MMSP_E_BAD_MODEL, "%s_* attributes have different lengths", pre);
    if (m1 > FOREST_MAX_NODES)
        FAIL(MMSP_E_TOO_LARGE, "%zu weights, at most %u allowed", m1, FOREST_MAX_NODES);
    cnt = calloc(n + 1, sizeof *cnt);
    s->w_id = malloc((m1 ? m1 : 1) * sizeof *s->w_id);
    s->w_val = malloc((m1 ? m1 : 1) * sizeof *s->w_val);
    if (!cnt || !s->w_id || !s->w_val)
        FAIL(MMSP_E_NOMEM, "out of memory");
    int64_t first_id = -1;
    int one_id = 1;
    for (size_t k = 0; k < m1; k++) {
        int64_t i = key_find(keys, n, wt[k], wn[k]);
        if (i < 0)
            FAIL(MMSP_E_BAD_MODEL, "weight %zu: node %lld of tree %lld does not exist", k,
                 (long long)wn[k], (long long)wt[k]);
        if (s->nodes[i].mode != M_LEAF)
            FAIL(MMSP_E_BAD_MODEL, "weight %zu: node %lld of tree %lld is not a leaf", k,
                 (long long)wn[k], (long long)wt[k]);
        if (wi[k] < 0 || wi[k] >= (int64_t)s->n_out)
            FAIL(MMSP_E_BAD_MODEL, "weight %zu: %s id %lld outside [0, %u)", k, pre,
                 (long long)wi[k], s->n_out);
        if (!isfinite(wv[k]))
            forest_ok = 0;
        if (first_id < 0)
            first_id = wi[k];
        else if (wi[k] != first_id)
            one_id = 0;
        cnt[i + 1]++;
    }
    for (size_t i = 0; i < n; i++) {
        s->nodes[i].w0 = cnt[i];
        cnt[i + 1] += cnt[i];
    }
    for (size_t k = 0; k < m1; k++) {
        uint32_t i = (uint32_t)key_find(keys, n, wt[k], wn[k]);
        uint32_t at = s->nodes[i].w0 + s->nodes[i].wn++;
        s->w_id[at] = (uint32_t)wi[k];
        s->w_val[at] = wv[k];
    }
    if (clf && s->n_out == 2 && m1 > 0 && one_id) {
        s->binary = 1;
        s->bin_class = (uint32_t)first_id;
    }

    /* The forest, when the model fits it. */
    if (s->n_out > FOREST_MAX_GROUPS || F > FOREST_MAX_FEATURES)
        forest_ok = 0;
    if (forest_ok) {
        trees_forest_init(&s->forest, F, s->n_out, 0.0f, FOREST_IDENTITY);
        loc = malloc(n * sizeof *loc);
        order = malloc(n * sizeof *order);
        left = malloc(n * sizeof *left);
        right = malloc(n * sizeof *right);
        feat = malloc(n * sizeof *feat);
        fval = malloc(n * sizeof *fval);
        dl = malloc(n);
        used = calloc(s->n_out, 1);
        ids = malloc((size_t)s->n_out * sizeof *ids);
        if (!loc || !order || !left || !right || !feat || !fval || !dl || !used || !ids)
            FAIL(MMSP_E_NOMEM, "out of memory");
        for (uint32_t t = 0; t < s->n_trees; t++)
            if ((rc = forest_add(s, t, loc, order, left, right, feat, fval, dl, used, ids, node,
                                 ctx->err, ctx->errlen)))
                goto out;
        s->use_forest = 1;
    }

    /* Outputs. */
    size_t scratch = ((size_t)N + 1) * s->n_out * sizeof(float) + s->n_out;
    if (s->use_forest && s->convert)
        scratch += (size_t)N * (size_t)F * sizeof(float);
    ctx->scratch_bytes = scratch;
    if (clf) {
        int64_t d0[1] = {N}, d1[2] = {N, s->n_out};
        ctx->outputs[0].dtype = s->labels.is_string ? MMSP_DT_BYTES : MMSP_DT_INT64;
        onnx_shape_set(&ctx->outputs[0], 1, d0);
        if (ctx->n_outputs > 1) {
            ctx->outputs[1].dtype = MMSP_DT_FP32;
            onnx_shape_set(&ctx->outputs[1], 2, d1);
        }
    } else {
        int64_t d[2] = {N, s->n_out};
        ctx->outputs[0].dtype = MMSP_DT_FP32;
        onnx_shape_set(&ctx->outputs[0], 2, d);
    }
    ctx->state = s;
    s = NULL;
out:
    tree_free(s);
    free(keys);
    free(vals);
    free(wv);
    free(indeg);
    free(tree_of);
    free(cnt);
    free(loc);
    free(order);
    free(left);
    free(right);
    free(feat);
    free(fval);
    free(dl);
    free(used);
    free(ids);
    return rc;
}

/* Walks every tree for row r, aggregating leaf weights into sc (has: a weight was seen). */
static void walk_row(const struct tree_state *s, const struct onnx_tensor *x, int64_t r, float *sc,
                     uint8_t *has)
{
    memset(sc, 0, s->n_out * sizeof *sc);
    memset(has, 0, s->n_out);
    for (uint32_t t = 0; t < s->n_trees; t++) {
        const struct wnode *w = &s->nodes[s->roots[t]];
        while (w->mode != M_LEAF) {
            float v = ml_getf(x, r * s->n_feat + w->feature);
            int c;
            if (isnan(v)) {
                c = w->miss;
            } else {
                switch (w->mode) {
                case M_LEQ:
                    c = v <= w->thr;
                    break;
                case M_LT:
                    c = v < w->thr;
                    break;
                case M_GTE:
                    c = v >= w->thr;
                    break;
                case M_GT:
                    c = v > w->thr;
                    break;
                case M_EQ:
                    c = v == w->thr;
                    break;
                default:
                    c = v != w->thr;
                    break;
                }
            }
            w = &s->nodes[c ? w->t : w->f];
        }
        for (uint32_t k = w->w0; k < w->w0 + w->wn; k++) {
            uint32_t id = s->w_id[k];
            float v = s->w_val[k];
            if (s->agg == AGG_MIN)
                sc[id] = (!has[id] || v < sc[id]) ? v : sc[id];
            else if (s->agg == AGG_MAX)
                sc[id] = (!has[id] || v > sc[id]) ? v : sc[id];
            else
                sc[id] += v;
            has[id] = 1;
        }
    }
}

/* Base values, averaging, the two-class rule, the post transform; writes row r. */
static void finish_row(const struct tree_state *s, float *sc, int64_t r,
                       const struct onnx_run_ctx *ctx)
{
    uint32_t n = s->n_out;
    if (s->agg == AGG_AVERAGE && s->n_trees)
        for (uint32_t c = 0; c < n; c++)
            sc[c] /= (float)s->n_trees;
    if (s->n_base == n)
        for (uint32_t c = 0; c < n; c++)
            sc[c] += s->base[c];
    if (!s->clf) {
        ml_post_apply(s->post, sc, n);
        memcpy((float *)ctx->outputs[0]->data + r * n, sc, n * sizeof *sc);
        return;
    }
    if (s->binary) {
        /* Scores of one class only: [1 - s, s] (NONE, PROBIT) or [-s, s], then transform. */
        float v = sc[s->bin_class] + (s->n_base == 1 ? s->base[0] : 0.0f);
        sc[1] = v;
        sc[0] = (s->post == ML_POST_NONE || s->post == ML_POST_PROBIT) ? 1.0f - v : -v;
    }
    ml_post_apply(s->post, sc, n);
    uint32_t best = 0;
    for (uint32_t c = 1; c < n; c++)
        if (sc[c] > sc[best])
            best = c;
    ml_label_put(&s->labels, best, ctx->outputs[0], r);
    if (ctx->n_outputs > 1 && ctx->outputs[1])
        memcpy((float *)ctx->outputs[1]->data + r * n, sc, n * sizeof *sc);
}

static mmsp_err tree_run(const struct onnx_run_ctx *ctx)
{
    const struct tree_state *s = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    /* scratch: sums [rows * n_out], row [n_out], converted input [rows * F], has [n_out] */
    float *sums = ctx->scratch, *row = sums + (size_t)s->rows * s->n_out;
    float *conv = row + s->n_out;
    uint8_t *has = (uint8_t *)(conv + (s->use_forest && s->convert ? x->count : 0));
    if (s->use_forest) {
        const float *rows = x->data;
        if (s->convert) {
            for (int64_t i = 0; i < x->count; i++)
                conv[i] = ml_getf(x, i);
            rows = conv;
        }
        trees_forest_predict(&s->forest, rows, (size_t)s->rows, sums);
    }
    for (int64_t r = 0; r < s->rows; r++) {
        if (s->use_forest)
            memcpy(row, sums + r * s->n_out, s->n_out * sizeof *row);
        else
            walk_row(s, x, r, row, has);
        finish_row(s, row, r, ctx);
    }
    return MMSP_OK;
}

const struct onnx_op onnx_op_TreeEnsembleClassifier = {
    .domain = "ai.onnx.ml",
    .op_type = "TreeEnsembleClassifier",
    .since_min = 1,
    .since_max = 3,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 2,
    .prepare = tree_prepare,
    .run = tree_run,
    .free_state = tree_free,
};

const struct onnx_op onnx_op_TreeEnsembleRegressor = {
    .domain = "ai.onnx.ml",
    .op_type = "TreeEnsembleRegressor",
    .since_min = 1,
    .since_max = 3,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = tree_prepare,
    .run = tree_run,
    .free_state = tree_free,
};
