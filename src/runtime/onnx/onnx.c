/*
 * The ONNX back end (runtime_onnx_backend, registered in model.c): content detection, load
 * (graph + a first plan, model description from the graph), run and release. Runs may come
 * from many threads at once: plans are cached per input-shape set (the ONNX_MAX_PLANS most
 * recently used, refcounted so an evicted plan lives until its last run ends) and workspaces
 * (arena + value table) come from a small lock-protected pool, so a steady-state run
 * allocates nothing. Calls: loader.c and plan.c (graph.h), op.h helpers, libc, pthreads.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/backend.h"
#include "runtime/onnx/graph.h"

/* Workspaces kept for reuse per model (more concurrent runs allocate and free their own). */
#define POOL_MAX 16

struct workspace {
    struct workspace *next;
    void *arena; /* 64-byte aligned, arena_cap bytes */
    size_t arena_cap;
    struct onnx_tensor *vals; /* n_values */
};

struct onnx_state {
    struct onnx_graph *g;
    char *name;
    struct onnx_plan_cache cache;
    pthread_mutex_t pool_lock;
    struct workspace *pool;
    size_t pool_n;
};

static void ws_free(struct workspace *w)
{
    if (!w)
        return;
    free(w->arena);
    free(w->vals);
    free(w);
}

/* ---- plan cache ---- */

static void plan_unref(struct onnx_state *st, struct onnx_plan *p)
{
    int last;
    pthread_mutex_lock(&st->cache.lock);
    last = --p->refs == 0;
    pthread_mutex_unlock(&st->cache.lock);
    if (last)
        onnx_plan_free(st->g, p);
}

static int dims_match(const struct onnx_graph *g, const struct onnx_plan *p,
                      const int64_t (*dims)[ONNX_MAX_DIMS], const mmsp_tensor *inputs)
{
    for (size_t i = 0; i < g->n_inputs; i++) {
        int nd = g->values[g->inputs[i]].ndim;
        for (int d = 0; d < nd; d++)
            if (p->in_dims[i][d] != dims[i][d])
                return 0;
        if (g->values[g->inputs[i]].key &&
            (!inputs || memcmp(p->key_data[i], inputs[i].data, p->key_bytes[i]) != 0))
            return 0;
    }
    return 1;
}

/* The plan for these input dims, with a reference for the caller (plan_unref). */
static mmsp_err plan_get(struct onnx_state *st, const int64_t (*dims)[ONNX_MAX_DIMS],
                         const mmsp_tensor *inputs, struct onnx_plan **out, int *fail_node,
                         char *err, size_t errlen)
{
    struct onnx_plan_cache *c = &st->cache;
    struct onnx_plan *p = NULL, *evict = NULL;
    mmsp_err rc;

    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < ONNX_MAX_PLANS; i++)
        if (c->plans[i] && dims_match(st->g, c->plans[i], dims, inputs)) {
            p = c->plans[i];
            p->refs++;
            c->used[i] = ++c->clock;
            break;
        }
    pthread_mutex_unlock(&c->lock);
    if (p) {
        *out = p;
        return MMSP_OK;
    }
    *fail_node = -1;
    rc = onnx_plan_build(st->g, dims, inputs, &p, fail_node, err, errlen);
    if (rc)
        return rc;
    p->refs = 2; /* the cache's and the caller's */
    pthread_mutex_lock(&c->lock);
    int slot = 0;
    for (int i = 0; i < ONNX_MAX_PLANS; i++) {
        if (!c->plans[i]) {
            slot = i;
            break;
        }
        if (c->used[i] < c->used[slot])
            slot = i;
    }
    evict = c->plans[slot];
    if (evict && --evict->refs > 0)
        evict = NULL; /* still running somewhere: its last plan_unref frees it */
    c->plans[slot] = p;
    c->used[slot] = ++c->clock;
    pthread_mutex_unlock(&c->lock);
    onnx_plan_free(st->g, evict);
    *out = p;
    return MMSP_OK;
}

/* ---- workspaces ---- */

static struct workspace *ws_get(struct onnx_state *st, size_t arena_bytes)
{
    struct workspace *w;
    pthread_mutex_lock(&st->pool_lock);
    w = st->pool;
    if (w) {
        st->pool = w->next;
        st->pool_n--;
    }
    pthread_mutex_unlock(&st->pool_lock);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            return NULL;
        w->vals = calloc(st->g->n_values ? st->g->n_values : 1, sizeof *w->vals);
        if (!w->vals) {
            ws_free(w);
            return NULL;
        }
    }
    if (w->arena_cap < arena_bytes) {
        size_t cap = (arena_bytes + 4095) & ~(size_t)4095;
        void *a = aligned_alloc(64, cap);
        if (!a) {
            ws_free(w);
            return NULL;
        }
        free(w->arena);
        w->arena = a;
        w->arena_cap = cap;
    }
    return w;
}

static void ws_put(struct onnx_state *st, struct workspace *w)
{
    pthread_mutex_lock(&st->pool_lock);
    if (st->pool_n < POOL_MAX) {
        w->next = st->pool;
        st->pool = w;
        st->pool_n++;
        w = NULL;
    }
    pthread_mutex_unlock(&st->pool_lock);
    ws_free(w);
}

/* ---- the back end ---- */

static int onnx_detect(const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len < 2)
        return 0;
    /* ModelProto serialisers write fields in number order: ir_version (1, varint) first */
    return p[0] == 0x08 && p[1] >= 1 && p[1] < 0x80;
}

static void onnx_release(void *state)
{
    struct onnx_state *st = state;
    if (!st)
        return;
    for (int i = 0; i < ONNX_MAX_PLANS; i++)
        if (st->cache.plans[i])
            onnx_plan_free(st->g, st->cache.plans[i]);
    while (st->pool) {
        struct workspace *w = st->pool;
        st->pool = w->next;
        ws_free(w);
    }
    pthread_mutex_destroy(&st->cache.lock);
    pthread_mutex_destroy(&st->pool_lock);
    onnx_graph_free(st->g);
    free(st->name);
    free(st);
}

/* Classification facts from the graph: classifier ops, a Softmax/ZipMap, output names. */
static void describe_task(const struct onnx_graph *g, struct model_desc *desc)
{
    int classifier = 0, prob = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const char *op = g->nodes[i].pub.op_type;
        if (strstr(op, "Classifier") || strcmp(op, "ZipMap") == 0)
            classifier = 1;
        if (strcmp(op, "Softmax") == 0 || strcmp(op, "ZipMap") == 0)
            prob = 1;
    }
    int prob_out = -1;
    for (size_t i = 0; i < g->n_outputs; i++) {
        const char *nm = g->values[g->outputs[i]].name;
        if (strstr(nm, "prob")) {
            prob_out = (int)i;
            classifier = prob = 1;
        }
    }
    desc->info.task = MMSP_TASK_REGRESSION;
    desc->info.num_class = 1;
    desc->info.output_is_probability = prob;
    if (!classifier && !(prob && g->n_outputs == 1))
        return;
    const mmsp_io_info *t = &desc->outputs[prob_out >= 0 ? prob_out : 0];
    int64_t nc = t->ndim >= 2 ? t->dims[t->ndim - 1] : 0;
    if (nc == 2) {
        desc->info.task = MMSP_TASK_BINARY;
        desc->info.num_class = 2;
    } else if (nc > 2 && nc <= 1 << 20) {
        desc->info.task = MMSP_TASK_MULTICLASS;
        desc->info.num_class = (int)nc;
    }
}

/*
 * After the load-time plan failed at node `fail_node`: marks that node's non-constant inputs
 * that are small static integer graph inputs (shape, axes, K, repeats...) as keys, whose
 * values plans are built for at run time. Returns 1 when it marked any.
 */
static int key_candidate(const struct onnx_value *v)
{
    int64_t count = 1;
    if (v->kind != ONNX_VALUE_INPUT || v->ndim > 1 ||
        (v->dtype != MMSP_DT_INT64 && v->dtype != MMSP_DT_INT32))
        return 0;
    for (int d = 0; d < v->ndim; d++)
        count = v->dims[d] < 0 ? 1 << 30 : count * v->dims[d];
    return count <= 64;
}

/*
 * After the load-time plan failed at node `fail_node`: when that node reads a small static
 * integer graph input (shape, axes, K, repeats...), every such graph input becomes a key:
 * plans are then built at run time for its values. Returns 1 when it marked any.
 */
static int mark_keys(struct onnx_graph *g, int fail_node)
{
    int found = 0;
    if (fail_node < 0)
        return 0;
    const struct onnx_gnode *n = &g->nodes[fail_node];
    for (size_t k = 0; k < n->pub.n_inputs; k++)
        if (n->in[k] >= 0 && key_candidate(&g->values[n->in[k]]))
            found = 1;
    if (!found)
        return 0;
    for (size_t i = 0; i < g->n_inputs; i++)
        if (key_candidate(&g->values[g->inputs[i]]))
            g->values[g->inputs[i]].key = 1;
    g->has_key_inputs = 1;
    return 1;
}

/*
 * OpenBLAS starts one thread per core by default and lets them spin between calls. A server
 * already runs many requests and model instances at once (dynamic batching gives each instance
 * its own thread), so a model's BLAS calls run on the calling thread unless the user asks for
 * BLAS threads with OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS). This is the usual serving
 * default (Triton and ONNX Runtime users set intra-op threads to 1 per instance).
 */
static void blas_threads_init(void)
{
    if (!getenv("OPENBLAS_NUM_THREADS") && !getenv("OMP_NUM_THREADS"))
        openblas_set_num_threads(1);
}

static mmsp_err onnx_load(const void *data, size_t len, const char *name, void **state,
                          struct model_desc *desc, char *err, size_t errlen)
{
    static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
    pthread_once(&blas_once, blas_threads_init);
    struct onnx_state *st = NULL;
    struct onnx_plan *p1 = NULL, *p2 = NULL;
    int64_t dims[RUNTIME_MAX_IO][ONNX_MAX_DIMS];
    int symbolic = 0;
    mmsp_err rc;
    char err2[MMSP_ERRMSG_MAX];

    *state = NULL;
    memset(dims, 0, sizeof dims);
    st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", name);
        rc = MMSP_E_NOMEM;
        goto out;
    }
    pthread_mutex_init(&st->cache.lock, NULL);
    pthread_mutex_init(&st->pool_lock, NULL);
    st->name = strdup(name);
    rc = onnx_graph_load(data, len, name, &st->g, err, errlen);
    if (rc)
        goto out;
    const struct onnx_graph *g = st->g;

    memset(desc, 0, sizeof *desc);
    desc->n_inputs = g->n_inputs;
    for (size_t i = 0; i < g->n_inputs; i++) {
        const struct onnx_value *v = &g->values[g->inputs[i]];
        mmsp_io_info *io = &desc->inputs[i];
        io->name = v->name;
        io->dtype = v->dtype;
        io->ndim = v->ndim;
        for (int d = 0; d < v->ndim; d++) {
            io->dims[d] = v->dims[d];
            dims[i][d] = v->dims[d] < 0 ? 1 : v->dims[d];
            symbolic |= v->dims[d] < 0;
        }
    }
    /* the first plan (symbolic dims = 1) checks the whole graph at load */
    int fail_node = -1;
    rc = plan_get(st, (const int64_t(*)[ONNX_MAX_DIMS])dims, NULL, &p1, &fail_node, err2,
                  sizeof err2);
    if (rc && mark_keys(st->g, fail_node)) {
        rc = MMSP_OK; /* plans need the key inputs' values: made at run time */
    } else if (rc) {
        snprintf(err, errlen, "%s: %s", name, err2);
        goto out;
    }
    /* a second (symbolic dims = 2) shows which output dims follow the input dims */
    if (symbolic && p1) {
        for (size_t i = 0; i < g->n_inputs; i++) {
            const struct onnx_value *v = &g->values[g->inputs[i]];
            for (int d = 0; d < v->ndim; d++)
                dims[i][d] = v->dims[d] < 0 ? 2 : v->dims[d];
        }
        if (plan_get(st, (const int64_t(*)[ONNX_MAX_DIMS])dims, NULL, &p2, &fail_node, err2,
                     sizeof err2))
            p2 = NULL;
    }
    desc->n_outputs = g->n_outputs;
    for (size_t i = 0; i < g->n_outputs; i++) {
        const struct onnx_value *v = &g->values[g->outputs[i]];
        mmsp_io_info *io = &desc->outputs[i];
        io->name = v->name;
        if (!p1) { /* no plan yet: what the graph declares */
            if (!v->has_type || v->ndim < 0) {
                snprintf(err, errlen, "%s: graph output '%s' has no declared type and shape", name,
                         v->name);
                rc = MMSP_E_UNSUPPORTED;
                goto out;
            }
            io->dtype = v->dtype;
            io->ndim = v->ndim;
            memcpy(io->dims, v->dims, sizeof io->dims);
            continue;
        }
        const struct onnx_tensor *t = &p1->slots[g->outputs[i]].t;
        io->dtype = t->dtype;
        io->ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++) {
            io->dims[d] = t->dims[d];
            if (p2 && p2->slots[g->outputs[i]].t.dims[d] != t->dims[d])
                io->dims[d] = -1;
            else if (symbolic && !p2 && (v->ndim != t->ndim || v->dims[d] < 0))
                io->dims[d] = -1;
        }
    }
    desc->info.platform = "onnx_onnxv1";
    desc->info.objective = "";
    describe_task(g, desc);
    if (g->n_inputs == 1 && desc->inputs[0].ndim == 2 && desc->inputs[0].dims[1] > 0)
        desc->info.num_feature = desc->inputs[0].dims[1];
    *state = st;
    st = NULL;
out:
    if (p1)
        plan_unref(*state ? *state : st, p1);
    if (p2)
        plan_unref(*state ? *state : st, p2);
    onnx_release(st);
    return rc;
}

/*
 * A string output leaves the workspace as one self-contained block in the caller's buffer:
 * count `const char *` elements, then the NUL-terminated strings they point to.
 */
static size_t strings_bytes(const struct onnx_tensor *t)
{
    const char *const *s = t->data;
    size_t n = (size_t)t->count * sizeof *s;
    for (int64_t k = 0; k < t->count; k++)
        n += strlen(s[k]) + 1;
    return n;
}

static void strings_copy(const struct onnx_tensor *t, void *dst)
{
    const char *const *s = t->data;
    const char **ptrs = dst;
    char *o = (char *)dst + (size_t)t->count * sizeof *s;
    for (int64_t k = 0; k < t->count; k++) {
        size_t len = strlen(s[k]) + 1;
        memcpy(o, s[k], len);
        ptrs[k] = o;
        o += len;
    }
}

static mmsp_err onnx_run(const void *state, const mmsp_tensor *inputs, mmsp_tensor *outputs,
                         int64_t batch, char *err, size_t errlen)
{
    struct onnx_state *st = (struct onnx_state *)state;
    const struct onnx_graph *g = st->g;
    struct onnx_plan *p = NULL;
    struct workspace *w = NULL;
    int64_t dims[RUNTIME_MAX_IO][ONNX_MAX_DIMS];
    char msg[MMSP_ERRMSG_MAX];
    mmsp_err rc;

    (void)batch;
    memset(dims, 0, sizeof dims);
    for (size_t i = 0; i < g->n_inputs; i++)
        for (int d = 0; d < inputs[i].ndim && d < ONNX_MAX_DIMS; d++)
            dims[i][d] = inputs[i].shape[d];
    int fail_node;
    rc = plan_get(st, (const int64_t(*)[ONNX_MAX_DIMS])dims, inputs, &p, &fail_node, msg,
                  sizeof msg);
    if (rc) {
        snprintf(err, errlen, "%s: %s", st->name, msg);
        goto out;
    }
    w = ws_get(st, p->arena_bytes);
    if (!w) {
        snprintf(err, errlen, "%s: out of memory for a workspace", st->name);
        rc = MMSP_E_NOMEM;
        goto out;
    }
    rc = onnx_plan_run(g, p, w->arena, w->vals, inputs, msg, sizeof msg);
    if (rc) {
        snprintf(err, errlen, "%s: %s", st->name, msg);
        goto out;
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        const struct onnx_tensor *t = &w->vals[g->outputs[i]];
        size_t bytes = (size_t)t->count * onnx_dtype_size(t->dtype);
        if (t->dtype == MMSP_DT_BYTES)
            bytes = strings_bytes(t);
        if (bytes > outputs[i].nbytes) {
            snprintf(err, errlen, "%s: output '%s' needs %zu bytes, the buffer has %zu", st->name,
                     g->values[g->outputs[i]].name, bytes, outputs[i].nbytes);
            rc = MMSP_E_SHAPE;
            goto out;
        }
        if (t->dtype == MMSP_DT_BYTES)
            strings_copy(t, outputs[i].data);
        else if (bytes)
            memcpy(outputs[i].data, t->data, bytes);
        outputs[i].name = g->values[g->outputs[i]].name;
        outputs[i].dtype = t->dtype;
        outputs[i].ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++)
            outputs[i].shape[d] = t->dims[d];
    }
out:
    if (w)
        ws_put(st, w);
    if (p)
        plan_unref(st, p);
    return rc;
}

const struct model_backend runtime_onnx_backend = {
    .name = "onnx",
    .format = "onnx",
    .detect = onnx_detect,
    .load = onnx_load,
    .run = onnx_run,
    .release = onnx_release,
};
