/*
 * Builds the packed breadth-first node array of forest.h from per-tree source arrays
 * (validating them on the way), and from it the perfect layout when the forest qualifies, and
 * evaluates rows. The evaluators walk 8 or 16 trees (or two rows) in lockstep, a fixed number
 * of steps each, so the independent walks overlap in the CPU instead of each waiting on its
 * own chain of loads. On x86-64 CPUs with AVX2 (checked at run time) batches of 4+ rows take
 * a SIMD path instead: 8 rows in vector lanes, 8 trees in lockstep, the same leaves added in
 * the same order, so results are bit-identical. Calls libc and libm only.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/trees/forest.h"

/* Trees walked together for one row (row_lockstep is written out for exactly 8). */
#define LOCKSTEP 8
/* Batches of at least this many rows take the SIMD path when there is one. */
#define FOREST_VEC_MIN_ROWS 4

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void trees_forest_init(struct forest *f, int64_t num_feature, uint32_t num_group, float base_margin,
                       enum forest_transform transform)
{
    memset(f, 0, sizeof *f);
    f->num_feature = num_feature;
    f->num_group = num_group;
    f->base_margin = base_margin;
    f->transform = transform;
    f->perfect = num_feature <= FOREST_PERFECT_MAX_FEATURES;
}

void trees_forest_release(struct forest *f)
{
    free(f->pnodes);
    free(f->pleaves);
    free(f->vdata);
    free(f->nodes);
    free(f->leaf_values);
    free(f->trees);
    memset(f, 0, sizeof *f);
}

uint32_t trees_forest_out_width(const struct forest *f)
{
    return f->transform == FOREST_ARGMAX ? 1 : f->num_group;
}

/* Makes room for `more` nodes and one more tree. */
static mmsp_err grow(struct forest *f, uint32_t more)
{
    if (f->n_nodes + (uint64_t)more > f->cap_nodes) {
        uint64_t cap = f->cap_nodes ? f->cap_nodes : 256;
        while (cap < f->n_nodes + (uint64_t)more)
            cap *= 2;
        if (cap > FOREST_MAX_NODES)
            cap = FOREST_MAX_NODES;
        struct forest_node *p = realloc(f->nodes, cap * sizeof *p);
        if (!p)
            return MMSP_E_NOMEM;
        f->nodes = p;
        float *lv = realloc(f->leaf_values, cap * sizeof *lv);
        if (!lv)
            return MMSP_E_NOMEM;
        f->leaf_values = lv;
        f->cap_nodes = (uint32_t)cap;
    }
    if (f->n_trees == f->cap_trees) {
        uint32_t cap = f->cap_trees ? f->cap_trees * 2 : 16;
        struct forest_tree *p = realloc(f->trees, (size_t)cap * sizeof *p);
        if (!p)
            return MMSP_E_NOMEM;
        f->trees = p;
        f->cap_trees = cap;
    }
    return MMSP_OK;
}

/* Drops the perfect layout for good: the forest no longer qualifies. */
static void perfect_off(struct forest *f)
{
    free(f->pnodes);
    free(f->pleaves);
    free(f->vdata);
    f->pnodes = NULL;
    f->pleaves = NULL;
    f->vdata = NULL;
    f->cap_pnodes = f->cap_pleaves = f->cap_vdata = 0;
    f->perfect = 0;
}

/* Writes tree t of the packed layout into the perfect layout at depth D. */
static void perfect_fill(struct forest *f, uint32_t t, uint32_t D)
{
    uint32_t map[2u << FOREST_PERFECT_MAX_DEPTH]; /* heap position -> packed node */
    const uint32_t ni = (1u << D) - 1, nf = (uint32_t)f->num_feature;
    struct forest_pnode *pn = f->pnodes + (size_t)t * ni;
    float *pl = f->pleaves + ((size_t)t << D);
    map[0] = f->trees[t].root;
    for (uint32_t p = 0; p < ni; p++) {
        const struct forest_node *nd = &f->nodes[map[p]];
        if (nd->bits & FOREST_LEAF) {
            /* Padding: both ways lead to copies of this leaf. */
            pn[p].feature = 0;
            pn[p].value = 0.0f;
            map[2 * p + 1] = map[2 * p + 2] = map[p];
        } else {
            pn[p].feature = nd->feature + (nd->bits & FOREST_DEFAULT_LEFT ? nf : 0);
            pn[p].value = nd->value;
            map[2 * p + 1] = nd->left;
            map[2 * p + 2] = nd->left + 1;
        }
    }
    for (uint32_t j = 0; j <= ni; j++)
        pl[j] = f->leaf_values[map[ni + j]]; /* a leaf: the tree is at most D deep */
    /* The SIMD copy: features, thresholds, leaves; padding is feature 0, threshold 0, leaf 0. */
    uint32_t *v = f->vdata + (size_t)t * f->vstride;
    memset(v, 0, (size_t)f->vstride * sizeof *v);
    for (uint32_t p = 0; p < ni; p++) {
        v[p] = pn[p].feature;
        memcpy(&v[f->vnodes + p], &pn[p].value, sizeof(float));
    }
    memcpy(&v[2 * f->vnodes], pl, ((size_t)ni + 1) * sizeof(float));
}

/*
 * Adds the tree just appended to the packed layout (index n_trees - 1) to the perfect layout,
 * deepening every tree if it is deeper than the others, or drops the perfect layout if the
 * forest stops qualifying. Only fails for memory.
 */
static mmsp_err perfect_add(struct forest *f)
{
    const uint32_t t = f->n_trees - 1, d = f->trees[t].depth;
    if (!f->perfect)
        return MMSP_OK;
    for (uint32_t i = f->trees[t].root; i < f->n_nodes; i++)
        if ((f->nodes[i].bits & (FOREST_LEAF | FOREST_DEFAULT_LEFT)) == FOREST_DEFAULT_LEFT &&
            f->nodes[i].value == -INFINITY) {
            perfect_off(f); /* -inf would not send a missing value left */
            return MMSP_OK;
        }
    uint32_t D = d > f->pdepth ? d : f->pdepth;
    if (D > FOREST_PERFECT_MAX_DEPTH ||
        ((uint64_t)f->n_trees << D) > 4 * (uint64_t)f->n_nodes + 65536) {
        perfect_off(f);
        return MMSP_OK;
    }
    size_t need_n = (size_t)f->n_trees * ((1u << D) - 1), need_l = (size_t)f->n_trees << D;
    if (need_n > f->cap_pnodes) {
        size_t cap = f->cap_pnodes ? f->cap_pnodes : 256;
        while (cap < need_n)
            cap *= 2;
        struct forest_pnode *p = realloc(f->pnodes, cap * sizeof *p);
        if (!p)
            return MMSP_E_NOMEM;
        f->pnodes = p;
        f->cap_pnodes = cap;
    }
    if (need_l > f->cap_pleaves) {
        size_t cap = f->cap_pleaves ? f->cap_pleaves : 256;
        while (cap < need_l)
            cap *= 2;
        float *p = realloc(f->pleaves, cap * sizeof *p);
        if (!p)
            return MMSP_E_NOMEM;
        f->pleaves = p;
        f->cap_pleaves = cap;
    }
    const uint32_t vn = (1u << D) > 16 ? (1u << D) : 16;
    size_t need_v = (size_t)f->n_trees * 3 * vn;
    if (need_v > f->cap_vdata) {
        size_t cap = f->cap_vdata ? f->cap_vdata : 256;
        while (cap < need_v)
            cap *= 2;
        uint32_t *p = realloc(f->vdata, cap * sizeof *p);
        if (!p)
            return MMSP_E_NOMEM;
        f->vdata = p;
        f->cap_vdata = cap;
    }
    f->vnodes = vn;
    f->vstride = 3 * vn;
    if (D != f->pdepth) {
        f->pdepth = D;
        for (uint32_t u = 0; u < t; u++)
            perfect_fill(f, u, D);
    }
    perfect_fill(f, t, D);
    return MMSP_OK;
}

mmsp_err trees_forest_add_tree(struct forest *f, uint32_t group, uint32_t n, const int64_t *left,
                               const int64_t *right, const int64_t *feature, const float *value,
                               const uint8_t *default_left, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    uint32_t *queue = NULL;
    uint16_t *depth = NULL;
    uint8_t *seen = NULL;
    uint32_t tail = 1, max_depth = 0, base = f->n_nodes;

    if (n == 0) {
        set_err(err, errlen, "tree has no nodes");
        rc = MMSP_E_BAD_MODEL;
        goto out;
    }
    if (n > FOREST_MAX_TREE_NODES || f->n_trees >= FOREST_MAX_TREES ||
        (uint64_t)f->n_nodes + n > FOREST_MAX_NODES) {
        set_err(err, errlen,
                "too many trees or nodes (limits: %u trees, %u nodes per tree, %u "
                "in all)",
                FOREST_MAX_TREES, FOREST_MAX_TREE_NODES, FOREST_MAX_NODES);
        rc = MMSP_E_TOO_LARGE;
        goto out;
    }
    if (group >= f->num_group) {
        set_err(err, errlen, "output group %u out of range (%u groups)", group, f->num_group);
        rc = MMSP_E_BAD_MODEL;
        goto out;
    }
    queue = malloc((size_t)n * sizeof *queue);
    depth = malloc((size_t)n * sizeof *depth);
    seen = calloc(n, 1);
    if (!queue || !depth || !seen || grow(f, n)) {
        set_err(err, errlen, "out of memory");
        rc = MMSP_E_NOMEM;
        goto out;
    }
    /* Breadth-first from node 0: queue position == position in the packed array. */
    queue[0] = 0;
    depth[0] = 0;
    seen[0] = 1;
    for (uint32_t h = 0; h < tail; h++) {
        uint32_t u = queue[h];
        struct forest_node *node = &f->nodes[base + h];
        if (left[u] == -1) {
            if (right[u] != -1) {
                set_err(err, errlen, "node %u: left child is -1 but right child is %lld", u,
                        (long long)right[u]);
                rc = MMSP_E_BAD_MODEL;
                goto out;
            }
            if (!isfinite(value[u])) {
                set_err(err, errlen, "node %u: leaf value is not a finite float", u);
                rc = MMSP_E_BAD_MODEL;
                goto out;
            }
            /* +inf threshold and default left: every value stays on the leaf. */
            node->value = INFINITY;
            node->bits = FOREST_LEAF | FOREST_DEFAULT_LEFT;
            node->feature = 0;
            node->left = base + h;
            f->leaf_values[base + h] = value[u];
            continue;
        }
        int64_t l = left[u], r = right[u];
        if (l < 0 || l >= n || r < 0 || r >= n) {
            set_err(err, errlen, "node %u: child index %lld out of range (num_nodes %u)", u,
                    (long long)(l < 0 || l >= n ? l : r), n);
            rc = MMSP_E_BAD_MODEL;
            goto out;
        }
        if (l == r || seen[l] || seen[r]) {
            set_err(err, errlen, "node %u: child %lld is reached twice (cycle or shared node)", u,
                    (long long)(l == r || seen[l] ? l : r));
            rc = MMSP_E_BAD_MODEL;
            goto out;
        }
        if (feature[u] < 0 || feature[u] >= f->num_feature) {
            set_err(err, errlen, "node %u: split index %lld out of range (num_feature %lld)", u,
                    (long long)feature[u], (long long)f->num_feature);
            rc = MMSP_E_BAD_MODEL;
            goto out;
        }
        if (isnan(value[u])) {
            set_err(err, errlen, "node %u: split threshold is NaN", u);
            rc = MMSP_E_BAD_MODEL;
            goto out;
        }
        if (depth[u] + 1 > FOREST_MAX_DEPTH) {
            set_err(err, errlen, "node %u: tree deeper than the limit of %d", u, FOREST_MAX_DEPTH);
            rc = MMSP_E_TOO_LARGE;
            goto out;
        }
        /* tail + 2 <= n holds: every queued node is distinct and seen[] stops repeats. */
        seen[l] = seen[r] = 1;
        queue[tail] = (uint32_t)l;
        queue[tail + 1] = (uint32_t)r;
        depth[l] = depth[r] = (uint16_t)(depth[u] + 1);
        if (depth[l] > max_depth)
            max_depth = depth[l];
        node->value = value[u];
        f->leaf_values[base + h] = 0.0f;
        node->feature = (uint32_t)feature[u];
        node->bits = default_left[u] ? FOREST_DEFAULT_LEFT : 0;
        node->left = base + tail;
        tail += 2;
    }
    f->trees[f->n_trees].root = base;
    f->trees[f->n_trees].group = (uint16_t)group;
    f->trees[f->n_trees].depth = (uint16_t)max_depth;
    f->n_trees++;
    f->n_nodes = base + tail;
    if (perfect_add(f)) {
        /* The packed layout is fine; keep the tree but stop using the perfect one. */
        perfect_off(f);
    }
out:
    free(queue);
    free(depth);
    free(seen);
    return rc;
}

/*
 * One step down: left or right by the threshold, missing values by the default direction,
 * and a leaf stays where it is (its left is itself). Branch-free, so several independent
 * walks can be interleaved.
 */
#define STEP(i)                                                                                    \
    do {                                                                                           \
        const struct forest_node *n_ = &nodes[i];                                                  \
        uint32_t b_ = n_->bits;                                                                    \
        float v_ = row[n_->feature];                                                               \
        uint32_t r_ = !(v_ < n_->value);         /* NaN compares false: right unless... */         \
        r_ ^= (uint32_t)(v_ != v_) & (b_ >> 30); /* ...the default is left */                      \
        i = n_->left + (r_ & ~(b_ >> 31));       /* a leaf does not move */                        \
    } while (0)

/*
 * The same for a row whose values are all finite: no missing values to route, and a leaf's
 * threshold is +inf, so every finite value goes "left", to the leaf itself.
 */
#define STEP_FINITE(i)                                                                             \
    do {                                                                                           \
        const struct forest_node *n_ = &nodes[i];                                                  \
        float v_ = row[n_->feature];                                                               \
        i = n_->left + !(v_ < n_->value);                                                          \
    } while (0)

#define STEP_ANY(i)                                                                                \
    do {                                                                                           \
        if (finite)                                                                                \
            STEP_FINITE(i);                                                                        \
        else                                                                                       \
            STEP(i);                                                                               \
    } while (0)

/*
 * Adds trees [t0, t0 + LOCKSTEP) to one row's margins. The eight walks are independent, so
 * the CPU overlaps them; the leaf values are then added in tree order, as XGBoost does.
 * `finite` is a constant at each call site, so each variant is compiled without the other.
 */
static inline __attribute__((always_inline)) void
row_lockstep(const struct forest *f, uint32_t t0, const float *row, float *acc, const int finite)
{
    const struct forest_node *nodes = f->nodes;
    const float *leaf = f->leaf_values;
    const struct forest_tree *tr = f->trees + t0;
    uint32_t i0 = tr[0].root, i1 = tr[1].root, i2 = tr[2].root, i3 = tr[3].root;
    uint32_t i4 = tr[4].root, i5 = tr[5].root, i6 = tr[6].root, i7 = tr[7].root;
    uint32_t d = tr[0].depth;
    for (int k = 1; k < LOCKSTEP; k++)
        d = tr[k].depth > d ? tr[k].depth : d;
    for (uint32_t s = 0; s < d; s++) {
        STEP_ANY(i0);
        STEP_ANY(i1);
        STEP_ANY(i2);
        STEP_ANY(i3);
        STEP_ANY(i4);
        STEP_ANY(i5);
        STEP_ANY(i6);
        STEP_ANY(i7);
    }
    acc[tr[0].group] += leaf[i0];
    acc[tr[1].group] += leaf[i1];
    acc[tr[2].group] += leaf[i2];
    acc[tr[3].group] += leaf[i3];
    acc[tr[4].group] += leaf[i4];
    acc[tr[5].group] += leaf[i5];
    acc[tr[6].group] += leaf[i6];
    acc[tr[7].group] += leaf[i7];
}

/* Adds one tree to one row's margins, stopping at the leaf. */
static inline void row_one_tree(const struct forest *f, uint32_t t, const float *row, float *acc)
{
    const struct forest_node *nodes = f->nodes;
    uint32_t i = f->trees[t].root;
    while (!(nodes[i].bits & FOREST_LEAF))
        STEP(i);
    acc[f->trees[t].group] += f->leaf_values[i];
}

static int row_is_finite(const float *row, size_t nf)
{
    int ok = 1;
    for (size_t j = 0; j < nf; j++)
        ok &= fabsf(row[j]) <= FLT_MAX; /* false for NaN and +-inf */
    return ok;
}

/*
 * Adds every tree's leaf value for rows[0..nb) to acc[row * num_group + group]. Trees go in
 * groups of LOCKSTEP, each group over all rows of the block, so its nodes stay in L1.
 */
static void accumulate_block(const struct forest *f, const float *rows, size_t nb, float *acc)
{
    const size_t nf = (size_t)f->num_feature, ng = f->num_group;
    uint8_t finite[FOREST_BLOCK_ROWS];
    uint32_t t = 0;
    for (size_t r = 0; r < nb; r++)
        finite[r] = (uint8_t)row_is_finite(rows + r * nf, nf);
    for (; t + LOCKSTEP <= f->n_trees; t += LOCKSTEP) {
        for (size_t r = 0; r < nb; r++) {
            if (finite[r])
                row_lockstep(f, t, rows + r * nf, acc + r * ng, 1);
            else
                row_lockstep(f, t, rows + r * nf, acc + r * ng, 0);
        }
    }
    for (; t < f->n_trees; t++)
        for (size_t r = 0; r < nb; r++)
            row_one_tree(f, t, rows + r * nf, acc + r * ng);
}

/* The doubled row of the perfect layout: the row as it is, then with NaN as -inf. */
static void double_row(const float *row, size_t nf, float *r2)
{
    for (size_t j = 0; j < nf; j++) {
        float x = row[j];
        r2[j] = x;
        r2[nf + j] = x != x ? -INFINITY : x;
    }
}

/* The same, into column `col` of a transposed block: feature j at col[j * stride]. */
static void transpose_row(const float *row, size_t nf, float *col, size_t stride)
{
    for (size_t j = 0; j < nf; j++) {
        float x = row[j];
        col[j * stride] = x;
        col[(nf + j) * stride] = x != x ? -INFINITY : x;
    }
}

/* One step of a perfect-layout walk: NaN needs no test, the doubled row routes it. */
#define PSTEP(i, p)                                                                                \
    do {                                                                                           \
        const struct forest_pnode *n_ = (p) + (i);                                                 \
        (i) = 2 * (i) + 1 + (size_t) !(r2[n_->feature] < n_->value);                               \
    } while (0)

/*
 * Adds trees [t0, t0 + LOCKSTEP) of the perfect layout to one row's margins: the eight walks go
 * in lockstep, exactly pdepth steps each, then the leaf values are added in tree order.
 */
static inline __attribute__((always_inline)) void
perfect_lockstep(const struct forest *f, uint32_t t0, const float *r2, float *acc)
{
    const uint32_t D = f->pdepth, ni = (1u << D) - 1;
    const struct forest_pnode *p0 = f->pnodes + (size_t)t0 * ni, *p1 = p0 + ni, *p2 = p1 + ni,
                              *p3 = p2 + ni, *p4 = p3 + ni, *p5 = p4 + ni, *p6 = p5 + ni,
                              *p7 = p6 + ni;
    const float *pl = f->pleaves + ((size_t)t0 << D) - ni;
    const struct forest_tree *tr = f->trees + t0;
    size_t i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0, i7 = 0;
    for (uint32_t s = 0; s < D; s++) {
        PSTEP(i0, p0);
        PSTEP(i1, p1);
        PSTEP(i2, p2);
        PSTEP(i3, p3);
        PSTEP(i4, p4);
        PSTEP(i5, p5);
        PSTEP(i6, p6);
        PSTEP(i7, p7);
    }
    acc[tr[0].group] += pl[i0];
    acc[tr[1].group] += pl[((size_t)1 << D) + i1];
    acc[tr[2].group] += pl[((size_t)2 << D) + i2];
    acc[tr[3].group] += pl[((size_t)3 << D) + i3];
    acc[tr[4].group] += pl[((size_t)4 << D) + i4];
    acc[tr[5].group] += pl[((size_t)5 << D) + i5];
    acc[tr[6].group] += pl[((size_t)6 << D) + i6];
    acc[tr[7].group] += pl[((size_t)7 << D) + i7];
}

/*
 * Sixteen walks in lockstep: trees [ta, ta + 8) on row ra and trees [tb, tb + 8) on row rb
 * (two rows, or the same row and the next eight trees). The a-sums are added before the
 * b-sums, so when a and b share a row, tree order holds.
 */
static inline __attribute__((always_inline)) void perfect_lockstep2(const struct forest *f,
                                                                    uint32_t ta, const float *ra,
                                                                    float *acca, uint32_t tb,
                                                                    const float *rb, float *accb)
{
    const uint32_t D = f->pdepth, ni = (1u << D) - 1;
    const struct forest_pnode *p0 = f->pnodes + (size_t)ta * ni, *p1 = p0 + ni, *p2 = p1 + ni,
                              *p3 = p2 + ni, *p4 = p3 + ni, *p5 = p4 + ni, *p6 = p5 + ni,
                              *p7 = p6 + ni;
    const struct forest_pnode *q0 = f->pnodes + (size_t)tb * ni, *q1 = q0 + ni, *q2 = q1 + ni,
                              *q3 = q2 + ni, *q4 = q3 + ni, *q5 = q4 + ni, *q6 = q5 + ni,
                              *q7 = q6 + ni;
    size_t i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0, i7 = 0;
    size_t j0 = 0, j1 = 0, j2 = 0, j3 = 0, j4 = 0, j5 = 0, j6 = 0, j7 = 0;
    for (uint32_t s = 0; s < D; s++) {
        const float *r2 = ra;
        PSTEP(i0, p0);
        PSTEP(i1, p1);
        PSTEP(i2, p2);
        PSTEP(i3, p3);
        PSTEP(i4, p4);
        PSTEP(i5, p5);
        PSTEP(i6, p6);
        PSTEP(i7, p7);
        r2 = rb;
        PSTEP(j0, q0);
        PSTEP(j1, q1);
        PSTEP(j2, q2);
        PSTEP(j3, q3);
        PSTEP(j4, q4);
        PSTEP(j5, q5);
        PSTEP(j6, q6);
        PSTEP(j7, q7);
    }
    const float *pl = f->pleaves + ((size_t)ta << D) - ni;
    const struct forest_tree *tr = f->trees + ta;
    acca[tr[0].group] += pl[i0];
    acca[tr[1].group] += pl[((size_t)1 << D) + i1];
    acca[tr[2].group] += pl[((size_t)2 << D) + i2];
    acca[tr[3].group] += pl[((size_t)3 << D) + i3];
    acca[tr[4].group] += pl[((size_t)4 << D) + i4];
    acca[tr[5].group] += pl[((size_t)5 << D) + i5];
    acca[tr[6].group] += pl[((size_t)6 << D) + i6];
    acca[tr[7].group] += pl[((size_t)7 << D) + i7];
    pl = f->pleaves + ((size_t)tb << D) - ni;
    tr = f->trees + tb;
    accb[tr[0].group] += pl[j0];
    accb[tr[1].group] += pl[((size_t)1 << D) + j1];
    accb[tr[2].group] += pl[((size_t)2 << D) + j2];
    accb[tr[3].group] += pl[((size_t)3 << D) + j3];
    accb[tr[4].group] += pl[((size_t)4 << D) + j4];
    accb[tr[5].group] += pl[((size_t)5 << D) + j5];
    accb[tr[6].group] += pl[((size_t)6 << D) + j6];
    accb[tr[7].group] += pl[((size_t)7 << D) + j7];
}

/* The same for one tree. */
static inline void perfect_one(const struct forest *f, uint32_t t, const float *r2, float *acc)
{
    const uint32_t D = f->pdepth, ni = (1u << D) - 1;
    const struct forest_pnode *p = f->pnodes + (size_t)t * ni;
    uint32_t i = 0;
    for (uint32_t s = 0; s < D; s++)
        PSTEP(i, p);
    acc[f->trees[t].group] += f->pleaves[((size_t)t << D) + i - ni];
}

/*
 * One row over the whole perfect layout with the depth D a compile-time constant (see
 * row_walk): ROW_WALKS walks in lockstep, all addressed from one base pointer, so the indices,
 * the base and the row stay in registers (16 separate node pointers did not: the old one-row
 * path spilled), and consecutive groups overlap in the CPU. With one output group the margin
 * is summed in a register, not in acc. Leaf values are added in tree order (bit-identical).
 * ROW_WALKS = 12 measured best on the fraud-detector example (300 trees, depth 5; bench_runtime,
 * alternating runs): 8 walks 1.41 µs, 12 1.22 µs, 16 1.32 µs, 24 1.38 µs per row; the old
 * path 1.92 µs.
 */
#define ROW_WALKS   12
#define ROW_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ROW_DECL(k) uint32_t i##k = 0;
#define ROW_STEP(k)                                                                                \
    {                                                                                              \
        const struct forest_pnode *n_ = p + (k)*ni + i##k;                                         \
        i##k = 2 * i##k + 1 + (uint32_t) !(r2[n_->feature] < n_->value);                           \
    }
#define ROW_SUM(k) sum += l[(k)*nl + i##k];
#define ROW_ACC(k) acc[f->trees[t + (k)].group] += l[(k)*nl + i##k];

static inline __attribute__((always_inline)) void
row_walk_d(const struct forest *f, const float *r2, float *acc, const uint32_t D)
{
    const uint32_t ni = (1u << D) - 1, nl = 1u << D;
    const int single = f->num_group == 1;
    float sum = acc[0];
    uint32_t t = 0;
    for (; t + ROW_WALKS <= f->n_trees; t += ROW_WALKS) {
        const struct forest_pnode *p = f->pnodes + (size_t)t * ni;
        ROW_EACH(ROW_DECL)
        for (uint32_t s = 0; s < D; s++) {
            ROW_EACH(ROW_STEP)
        }
        const float *l = f->pleaves + ((size_t)t << D) - ni;
        if (single) {
            ROW_EACH(ROW_SUM)
        } else {
            ROW_EACH(ROW_ACC)
        }
    }
    if (single)
        acc[0] = sum;
    for (; t < f->n_trees; t++)
        perfect_one(f, t, r2, acc);
}

#define ROW_WALK(d)                                                                                \
    static void row_walk_##d(const struct forest *f, const float *r2, float *acc)                  \
    {                                                                                              \
        row_walk_d(f, r2, acc, d);                                                                 \
    }
ROW_WALK(1)
ROW_WALK(2)
ROW_WALK(3)
ROW_WALK(4)
ROW_WALK(5)
ROW_WALK(6)
ROW_WALK(7)
ROW_WALK(8)

/* One doubled row r2 through every tree; depths past 8 take the generic lockstep. */
static void row_walk(const struct forest *f, const float *r2, float *acc)
{
    static void (*const by_depth[])(const struct forest *, const float *, float *) = {
        NULL,       row_walk_1, row_walk_2, row_walk_3, row_walk_4,
        row_walk_5, row_walk_6, row_walk_7, row_walk_8,
    };
    by_depth[f->pdepth](f, r2, acc);
}

/* The perfect-layout counterpart of accumulate_block; r2 is scratch for nb doubled rows. */
static void perfect_block(const struct forest *f, const float *rows, size_t nb, float *r2,
                          float *acc)
{
    const size_t nf = (size_t)f->num_feature, ng = f->num_group;
    uint32_t t = 0;
    for (size_t r = 0; r < nb; r++)
        double_row(rows + r * nf, nf, r2 + r * 2 * nf);
    if (nb == 1 && f->pdepth >= 1 && f->pdepth <= 8) { /* one row */
        row_walk(f, r2, acc);
        return;
    }
    if (nb == 1) /* one row: sixteen trees at a time */
        for (; t + 2 * LOCKSTEP <= f->n_trees; t += 2 * LOCKSTEP)
            perfect_lockstep2(f, t, r2, acc, t + LOCKSTEP, r2, acc);
    for (; t + LOCKSTEP <= f->n_trees; t += LOCKSTEP) {
        size_t r = 0;
        for (; r + 2 <= nb; r += 2) /* two rows at a time */
            perfect_lockstep2(f, t, r2 + r * 2 * nf, acc + r * ng, t, r2 + (r + 1) * 2 * nf,
                              acc + (r + 1) * ng);
        for (; r < nb; r++)
            perfect_lockstep(f, t, r2 + r * 2 * nf, acc + r * ng);
    }
    for (; t < f->n_trees; t++)
        for (size_t r = 0; r < nb; r++)
            perfect_one(f, t, r2 + r * 2 * nf, acc + r * ng);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FOREST_HAVE_AVX2 1
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

/* 8 lanes of table[idx] for idx < 8 (levels 0..3 of a tree: at most 8 nodes). */
static inline AVX2 __attribute__((always_inline)) __m256i lookup8(const uint32_t *table,
                                                                  __m256i idx)
{
    return _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)table), idx);
}

/* The same for idx < 16: two permutes, bit 3 picks. */
static inline AVX2 __attribute__((always_inline)) __m256i lookup16(const uint32_t *table,
                                                                   __m256i idx)
{
    __m256i lo = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)table), idx);
    __m256i hi = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(table + 8)), idx);
    __m256 sel = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));
    return _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(lo), _mm256_castsi256_ps(hi), sel));
}

/* The same for idx < 32: four permutes, bits 3 and 4 pick. */
static inline AVX2 __attribute__((always_inline)) __m256i lookup32(const uint32_t *table,
                                                                   __m256i idx)
{
    __m256 a = _mm256_castsi256_ps(
        _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)table), idx));
    __m256 b = _mm256_castsi256_ps(
        _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(table + 8)), idx));
    __m256 c = _mm256_castsi256_ps(
        _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(table + 16)), idx));
    __m256 d = _mm256_castsi256_ps(
        _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(table + 24)), idx));
    __m256 s3 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));
    __m256 s4 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 27));
    return _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_blendv_ps(a, b, s3), _mm256_blendv_ps(c, d, s3), s4));
}

static inline AVX2 __attribute__((always_inline)) __m256i lookup(const uint32_t *table, uint32_t n,
                                                                 __m256i idx)
{
    if (n <= 8)
        return lookup8(table, idx);
    if (n == 16)
        return lookup16(table, idx);
    if (n == 32)
        return lookup32(table, idx);
    return _mm256_i32gather_epi32((const int *)table, idx, 4);
}

/* 8 lanes of c[idx] for idx < 2^l: a tree of blends on the bits of idx (c: compare masks). */
static inline AVX2 __attribute__((always_inline)) __m256 select_mask(const __m256 *c, uint32_t l,
                                                                     __m256i idx)
{
    if (l == 0)
        return c[0];
    if (l == 1)
        return _mm256_blendv_ps(c[0], c[1], _mm256_castsi256_ps(_mm256_slli_epi32(idx, 31)));
    __m256 s0 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 31));
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 30));
    __m256 lo = _mm256_blendv_ps(c[0], c[1], s0), hi = _mm256_blendv_ps(c[2], c[3], s0);
    __m256 q0 = _mm256_blendv_ps(lo, hi, s1);
    if (l == 2)
        return q0;
    lo = _mm256_blendv_ps(c[4], c[5], s0);
    hi = _mm256_blendv_ps(c[6], c[7], s0);
    __m256 q1 = _mm256_blendv_ps(lo, hi, s1);
    return _mm256_blendv_ps(q0, q1, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 29)));
}

/*
 * The batch evaluator on AVX2: 8 rows in the lanes of a vector, 8 trees walked in lockstep
 * (8 independent chains), level by level. xt is the block's doubled rows transposed:
 * xt[feature * nbp + row], nbp = nb rounded up to 8 (padding lanes repeat the last row). The
 * top VEC_TOP levels (7 nodes) are compared for every lane with plain loads of a feature's 8
 * values, and each lane's path picked from the masks with blends; below, level l of a tree
 * (2^l nodes at offset 2^l - 1 of its chunk) gives each lane its node by a permute (up to 32
 * nodes) or a gather, and its feature value by a gather. Leaves are added tree by tree in tree
 * order, so every margin is the same float sum as the scalar walk. acc is column-major here:
 * acc[group * nbp + row].
 */
#define VEC_TOP 3
static inline AVX2 __attribute__((always_inline)) void
vec_block_d(const struct forest *f, const float *xt, size_t nbp, float *acc, const uint32_t D)
{
    const uint32_t W = f->vstride, VN = f->vnodes, nt = f->n_trees;
    const uint32_t top = D < VEC_TOP ? D : VEC_TOP;
    const __m256i one = _mm256_set1_epi32(1), stride = _mm256_set1_epi32((int32_t)nbp);
    for (uint32_t t = 0; t < nt; t += 8) {
        const uint32_t *base[8];
        uint32_t real = nt - t < 8 ? nt - t : 8;
        for (uint32_t k = 0; k < 8; k++)
            base[k] = f->vdata + (size_t)(t + (k < real ? k : real - 1)) * W;
        for (size_t v = 0; v < nbp; v += 8) {
            const float *xv = xt + v;
            const __m256i lane = _mm256_add_epi32(_mm256_set1_epi32((int32_t)v),
                                                  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            __m256i idx[8];
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                const uint32_t *b = base[k];
                const float *th = (const float *)(b + VN);
                __m256 c[(1 << VEC_TOP) - 1];
                __m256i ix = _mm256_setzero_si256();
#define VEC_TOP_CMP(i)                                                                             \
    c[i] =                                                                                         \
        _mm256_cmp_ps(_mm256_loadu_ps(xv + (size_t)b[i] * nbp), _mm256_set1_ps(th[i]), _CMP_LT_OQ)
#define VEC_TOP_LEVEL(l)                                                                           \
    do {                                                                                           \
        __m256i lt_ = _mm256_castps_si256(select_mask(c + (1u << (l)) - 1, (l), ix));              \
        ix = _mm256_add_epi32(_mm256_add_epi32(ix, ix), _mm256_add_epi32(one, lt_));               \
    } while (0)
                /* Written out: top is a constant, and GCC may not unroll these loops. */
                if (top >= 1)
                    VEC_TOP_CMP(0);
                if (top >= 2) {
                    VEC_TOP_CMP(1);
                    VEC_TOP_CMP(2);
                }
                if (top >= 3) {
                    VEC_TOP_CMP(3);
                    VEC_TOP_CMP(4);
                    VEC_TOP_CMP(5);
                    VEC_TOP_CMP(6);
                }
                if (top >= 1)
                    VEC_TOP_LEVEL(0);
                if (top >= 2)
                    VEC_TOP_LEVEL(1);
                if (top >= 3)
                    VEC_TOP_LEVEL(2);
#undef VEC_TOP_CMP
#undef VEC_TOP_LEVEL
                idx[k] = ix;
            }
#pragma GCC unroll 10
            for (uint32_t l = top; l < D; l++) {
                const uint32_t off = (1u << l) - 1, n = 1u << l;
#pragma GCC unroll 8
                for (int k = 0; k < 8; k++) {
                    __m256i fe = lookup(base[k] + off, n, idx[k]);
                    __m256 th = _mm256_castsi256_ps(lookup(base[k] + VN + off, n, idx[k]));
                    __m256i gi = _mm256_add_epi32(_mm256_mullo_epi32(fe, stride), lane);
                    __m256 x = _mm256_i32gather_ps(xt, gi, 4);
                    __m256i lt = _mm256_castps_si256(_mm256_cmp_ps(x, th, _CMP_LT_OQ));
                    idx[k] = _mm256_add_epi32(_mm256_add_epi32(idx[k], idx[k]),
                                              _mm256_add_epi32(one, lt));
                }
            }
            for (uint32_t k = 0; k < real; k++) {
                __m256 lv = _mm256_castsi256_ps(lookup(base[k] + 2 * VN, 1u << D, idx[k]));
                float *a = acc + (size_t)f->trees[t + k].group * nbp + v;
                _mm256_storeu_ps(a, _mm256_add_ps(_mm256_loadu_ps(a), lv));
            }
        }
    }
}

/* vec_block_d compiled for each depth, so the level loops unroll. */
#define VEC_DEPTH(d)                                                                               \
    static AVX2 void vec_block_##d(const struct forest *f, const float *xt, size_t nbp,            \
                                   float *acc)                                                     \
    {                                                                                              \
        vec_block_d(f, xt, nbp, acc, d);                                                           \
    }
VEC_DEPTH(0)
VEC_DEPTH(1)
VEC_DEPTH(2)
VEC_DEPTH(3)
VEC_DEPTH(4)
VEC_DEPTH(5)
VEC_DEPTH(6)
VEC_DEPTH(7)
VEC_DEPTH(8)
VEC_DEPTH(9)
VEC_DEPTH(10)

static void vec_block(const struct forest *f, const float *xt, size_t nbp, float *acc)
{
    switch (f->pdepth) {
    case 0:
        vec_block_0(f, xt, nbp, acc);
        break;
    case 1:
        vec_block_1(f, xt, nbp, acc);
        break;
    case 2:
        vec_block_2(f, xt, nbp, acc);
        break;
    case 3:
        vec_block_3(f, xt, nbp, acc);
        break;
    case 4:
        vec_block_4(f, xt, nbp, acc);
        break;
    case 5:
        vec_block_5(f, xt, nbp, acc);
        break;
    case 6:
        vec_block_6(f, xt, nbp, acc);
        break;
    case 7:
        vec_block_7(f, xt, nbp, acc);
        break;
    case 8:
        vec_block_8(f, xt, nbp, acc);
        break;
    case 9:
        vec_block_9(f, xt, nbp, acc);
        break;
    default:
        vec_block_10(f, xt, nbp, acc);
        break;
    }
}

static int have_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}
#else
#define FOREST_HAVE_AVX2 0
#endif

/* XGBoost's common::Sigmoid (1.7): the epsilon and the clamp never change a float result
 * that matters, but keep the same expression so results match bit for bit. */
static inline float sigmoid(float x)
{
    float e = -x < 88.7f ? -x : 88.7f;
    return 1.0f / (expf(e) + 1.0f + 1e-16f);
}

/* XGBoost's common::Softmax: float max, double sum of float exps, float division. */
static void softmax(const float *in, float *out, size_t n)
{
    float wmax = in[0];
    for (size_t i = 1; i < n; i++)
        wmax = fmaxf(in[i], wmax);
    double wsum = 0.0;
    for (size_t i = 0; i < n; i++) {
        out[i] = expf(in[i] - wmax);
        wsum += out[i];
    }
    for (size_t i = 0; i < n; i++)
        out[i] /= (float)wsum;
}

/* XGBoost's common::FindMaxIndex: the first of the largest. */
static float argmax(const float *in, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (in[i] > in[best])
            best = i;
    return (float)best;
}

void trees_forest_predict(const struct forest *f, const float *rows, size_t n_rows, float *out)
{
    float acc[FOREST_SCRATCH_FLOATS];
    float r2[FOREST_ROW_SCRATCH_FLOATS];
    const size_t ng = f->num_group, nf = (size_t)f->num_feature;
    size_t block = FOREST_SCRATCH_FLOATS / ng;
    if (block > FOREST_BLOCK_ROWS)
        block = FOREST_BLOCK_ROWS;
    if (f->perfect && nf > 0 && block > FOREST_ROW_SCRATCH_FLOATS / (2 * nf))
        block = FOREST_ROW_SCRATCH_FLOATS / (2 * nf);
    int vec = 0;
#if FOREST_HAVE_AVX2
    /* The SIMD path for batches: blocks of whole vectors of 8 rows. */
    if (f->perfect && n_rows >= FOREST_VEC_MIN_ROWS && block >= 8 && have_avx2()) {
        vec = 1;
        block &= ~(size_t)7;
    }
#endif

    for (size_t r0 = 0; r0 < n_rows; r0 += block) {
        size_t nb = n_rows - r0 < block ? n_rows - r0 : block;
        float *m = acc; /* the block's margins, row-major */
#if FOREST_HAVE_AVX2
        if (vec) {
            const size_t nbp = (nb + 7) & ~(size_t)7;
            for (size_t r = 0; r < nbp; r++) /* doubled and transposed; pad repeats */
                transpose_row(rows + (r0 + (r < nb ? r : nb - 1)) * nf, nf, r2 + r, nbp);
            for (size_t i = 0; i < nbp * ng; i++)
                acc[i] = f->base_margin;
            vec_block(f, r2, nbp, acc);
            if (ng > 1) { /* column-major -> row-major, into the free row scratch */
                for (size_t r = 0; r < nb; r++)
                    for (size_t g = 0; g < ng; g++)
                        r2[r * ng + g] = acc[g * nbp + r];
                m = r2;
            }
        } else
#endif
        {
            for (size_t i = 0; i < nb * ng; i++)
                acc[i] = f->base_margin;
            if (f->perfect)
                perfect_block(f, rows + r0 * nf, nb, r2, acc);
            else
                accumulate_block(f, rows + r0 * nf, nb, acc);
        }
        switch (f->transform) {
        case FOREST_IDENTITY:
            memcpy(out + r0 * ng, m, nb * ng * sizeof(float));
            break;
        case FOREST_SIGMOID:
            for (size_t i = 0; i < nb * ng; i++)
                out[r0 * ng + i] = sigmoid(m[i]);
            break;
        case FOREST_SOFTMAX:
            for (size_t r = 0; r < nb; r++)
                softmax(m + r * ng, out + (r0 + r) * ng, ng);
            break;
        case FOREST_ARGMAX:
            for (size_t r = 0; r < nb; r++)
                out[r0 + r] = argmax(m + r * ng, ng);
            break;
        }
    }
}
