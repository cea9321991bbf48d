/*
 * Execution plans. A plan fixes every value's dtype and shape for one set of graph input
 * shapes (in practice: one batch size): each node's prepare() runs once here, nodes whose
 * inputs are all constant are run right away (constant folding: initializers, Constant,
 * Shape-derived chains), nodes no graph output depends on are dropped, and the remaining
 * values get offsets in one workspace arena assigned by liveness (a buffer is reused once its
 * last reader has run). A float MatMul/Gemm followed by an Add of a constant bias row and/or a
 * Relu, each the sole reader of an intermediate that is no graph output, becomes one step
 * (fuse_epilogues; the product applies them as it stores). onnx_plan_run executes a plan on a
 * caller's workspace: no allocation.
 * Calls: op.h (operators through their vtable, helpers), graph.h (onnx_matmul_fuse_* of
 * ops/matmul.c), libc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/graph.h"

/* Largest output a node may produce to be folded at plan time (else it runs every time). */
#define FOLD_MAX_BYTES ((int64_t)64 << 20)

/* A folded constant's memory, kept in a list owned by the plan. */
struct const_block {
    struct const_block *next;
    unsigned char data[];
};

static void state_free(const struct onnx_op *op, void *state)
{
    if (!state)
        return;
    if (op->free_state)
        op->free_state(state);
    else
        free(state);
}

void onnx_plan_free(const struct onnx_graph *g, struct onnx_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_steps; i++)
        state_free(g->nodes[p->steps[i].node].op, p->steps[i].state);
    struct const_block *b = (struct const_block *)p->consts;
    while (b) {
        struct const_block *next = b->next;
        free(b);
        b = next;
    }
    free(p->slots);
    free(p->steps);
    free(p);
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static size_t tensor_bytes(const struct onnx_tensor *t)
{
    return (size_t)t->count * onnx_dtype_size(t->dtype);
}

/* "[2,3]" into buf. */
static const char *dims_str(char *buf, size_t len, int ndim, const int64_t *dims)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "[");
    for (int d = 0; d < ndim && o < len; d++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", d ? "," : "", (long long)dims[d]);
    if (o < len)
        snprintf(buf + o, len - o, "]");
    return buf;
}

/* Checks an inferred output against the type the file declared for it (where it did). */
static mmsp_err check_declared(const struct onnx_gnode *n, const struct onnx_value *v,
                               const struct onnx_tensor *t, char *err, size_t errlen)
{
    char a[96], b[96];
    if (v->has_type && v->dtype != t->dtype)
        return onnx_op_err(&n->pub, err, errlen, MMSP_E_BAD_MODEL,
                           "output '%s' is %s, the graph declares %s", v->name,
                           onnx_dtype_name(t->dtype), onnx_dtype_name(v->dtype));
    if (v->ndim < 0)
        return MMSP_OK;
    int bad = v->ndim != t->ndim;
    for (int d = 0; !bad && d < v->ndim; d++)
        bad = v->dims[d] >= 0 && v->dims[d] != t->dims[d];
    if (bad)
        return onnx_op_err(&n->pub, err, errlen, MMSP_E_SHAPE,
                           "output '%s' has shape %s, the graph declares %s", v->name,
                           dims_str(a, sizeof a, t->ndim, t->dims),
                           dims_str(b, sizeof b, v->ndim, v->dims));
    return MMSP_OK;
}

/* Live buffers during offset assignment, sorted by offset. */
struct live {
    size_t off, size;
    int32_t owner; /* value index, or -1 - step for a step's scratch */
};

/* First-fit: the lowest offset where `size` bytes fit between live buffers. */
static size_t place(struct live *lv, size_t *n, size_t size, int32_t owner, size_t *high)
{
    size_t off = 0, i;
    for (i = 0; i < *n; i++) {
        if (lv[i].off >= off + size)
            break;
        if (lv[i].off + lv[i].size > off)
            off = lv[i].off + lv[i].size;
    }
    memmove(&lv[i + 1], &lv[i], (*n - i) * sizeof *lv);
    lv[i] = (struct live){off, size, owner};
    (*n)++;
    if (off + size > *high)
        *high = off + size;
    return off;
}

static void unplace(struct live *lv, size_t *n, int32_t owner)
{
    for (size_t i = 0; i < *n; i++)
        if (lv[i].owner == owner) {
            memmove(&lv[i], &lv[i + 1], (*n - i - 1) * sizeof *lv);
            (*n)--;
            return;
        }
}

/*
 * Whether a node (prepared in p) has a string output: such a node may point its strings
 * into its scratch, so that scratch must live as long as anything can read the strings
 * (copies of the pointers travel through Identity, Reshape, Gather...): the whole run.
 */
static int has_strings(const struct onnx_gnode *n, const struct onnx_plan *p)
{
    for (size_t k = 0; k < n->pub.n_outputs; k++)
        if (p->slots[n->out[k]].t.dtype == MMSP_DT_BYTES)
            return 1;
    return 0;
}

/* Runs a node now (all inputs constant); outputs become plan constants. */
static mmsp_err fold(const struct onnx_graph *g, struct onnx_plan *p, const struct onnx_gnode *n,
                     const struct onnx_tensor *const *in, void *state, size_t scratch_bytes,
                     char *err, size_t errlen)
{
    struct onnx_tensor *out[ONNX_MAX_NODE_IO];
    void *scratch = NULL, *kept = NULL;
    mmsp_err rc = MMSP_OK;

    (void)g;
    for (size_t k = 0; k < n->pub.n_outputs; k++) {
        struct onnx_slot *s = &p->slots[n->out[k]];
        size_t bytes = tensor_bytes(&s->t);
        struct const_block *b = aligned_alloc(64, align64(sizeof *b + bytes + 64));
        if (!b) {
            rc = onnx_op_err(&n->pub, err, errlen, MMSP_E_NOMEM, "out of memory folding");
            goto out;
        }
        b->next = (struct const_block *)p->consts;
        p->consts = (unsigned char *)b;
        memset(b->data, 0, bytes);
        s->kind = ONNX_SLOT_CONST;
        s->t.data = b->data;
        out[k] = &s->t;
    }
    if (scratch_bytes && has_strings(n, p)) {
        /* string outputs may point into the scratch: it lives as long as the plan */
        struct const_block *b = aligned_alloc(64, align64(sizeof *b + scratch_bytes + 64));
        if (!b) {
            rc = onnx_op_err(&n->pub, err, errlen, MMSP_E_NOMEM, "out of memory folding");
            goto out;
        }
        b->next = (struct const_block *)p->consts;
        p->consts = (unsigned char *)b;
        kept = b->data;
    } else if (scratch_bytes) {
        scratch = aligned_alloc(64, align64(scratch_bytes));
        if (!scratch) {
            rc = onnx_op_err(&n->pub, err, errlen, MMSP_E_NOMEM, "out of memory folding");
            goto out;
        }
    }
    struct onnx_run_ctx rctx = {
        .node = &n->pub,
        .state = state,
        .n_inputs = n->pub.n_inputs,
        .inputs = in,
        .n_outputs = n->pub.n_outputs,
        .outputs = out,
        .scratch = kept ? kept : scratch,
        .err = err,
        .errlen = errlen,
    };
    rc = n->op->run(&rctx);
out:
    free(scratch);
    return rc;
}

/* Copies a key input's values into the plan: it is a constant of this plan. */
static mmsp_err key_const(struct onnx_plan *p, struct onnx_slot *s, const mmsp_tensor *in)
{
    size_t bytes = tensor_bytes(&s->t);
    struct const_block *b = aligned_alloc(64, align64(sizeof *b + bytes + 64));
    if (!b)
        return MMSP_E_NOMEM;
    b->next = (struct const_block *)p->consts;
    p->consts = (unsigned char *)b;
    if (bytes)
        memcpy(b->data, in->data, bytes);
    s->kind = ONNX_SLOT_CONST;
    s->t.data = b->data;
    p->key_data[s->input] = b->data;
    p->key_bytes[s->input] = bytes;
    return MMSP_OK;
}

/* Value index written by output k of a step (output 0 may be redirected by fusion). */
static int32_t step_out(const struct onnx_step *st, const struct onnx_gnode *n, size_t k)
{
    return k == 0 ? st->out0 : n->out[k];
}

static int same_shape(const struct onnx_tensor *a, const struct onnx_tensor *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->dims[d] != b->dims[d])
            return 0;
    return 1;
}

/*
 * Folds Add (constant bias row) and Relu steps into the MatMul/Gemm step before them: the
 * chain's intermediates must each have that one reader and be no graph output, and the
 * product's op must accept (onnx_matmul_fuse_*: float, bias of N elements). reader/nread are
 * n_values scratch. Fused steps are removed; the product writes the chain's last value.
 */
static void fuse_epilogues(const struct onnx_graph *g, struct onnx_plan *p, int32_t *reader,
                           int32_t *nread)
{
    for (size_t v = 0; v < g->n_values; v++) {
        reader[v] = -1;
        nread[v] = 0;
    }
    for (size_t s = 0; s < p->n_steps; s++) {
        const struct onnx_gnode *n = &g->nodes[p->steps[s].node];
        for (size_t k = 0; k < n->pub.n_inputs; k++)
            if (n->in[k] >= 0) {
                nread[n->in[k]]++;
                reader[n->in[k]] = (int32_t)s;
            }
    }
    for (size_t i = 0; i < g->n_outputs; i++)
        nread[g->outputs[i]] += 2; /* a graph output is never an intermediate */
    for (size_t s = 0; s < p->n_steps; s++) {
        struct onnx_step *st = &p->steps[s];
        if (st->node < 0 || !st->state)
            continue;
        const struct onnx_gnode *n = &g->nodes[st->node];
        if (strcmp(n->pub.op_type, "MatMul") != 0 && strcmp(n->pub.op_type, "Gemm") != 0)
            continue;
        for (int32_t v = st->out0; v >= 0 && nread[v] == 1;) {
            struct onnx_step *t = &p->steps[reader[v]];
            if (t->node < 0)
                break;
            const struct onnx_gnode *m = &g->nodes[t->node];
            if (m->pub.domain[0] || m->pub.n_outputs != 1 || m->out[0] < 0 ||
                !same_shape(&p->slots[m->out[0]].t, &p->slots[v].t))
                break;
            int ok = 0;
            if (!strcmp(m->pub.op_type, "Add") && m->pub.n_inputs == 2) {
                int32_t other = m->in[0] == v ? m->in[1] : m->in[0];
                ok = other >= 0 && p->slots[other].kind == ONNX_SLOT_CONST &&
                     onnx_matmul_fuse_bias(n->op, st->state, &p->slots[other].t);
            } else if (!strcmp(m->pub.op_type, "Relu") && m->pub.n_inputs == 1) {
                ok = onnx_matmul_fuse_relu(n->op, st->state);
            }
            if (!ok)
                break;
            p->slots[v].kind = ONNX_SLOT_NONE;
            st->out0 = m->out[0];
            state_free(m->op, t->state);
            t->state = NULL;
            t->node = -1;
            v = st->out0;
        }
    }
    size_t kept = 0;
    for (size_t s = 0; s < p->n_steps; s++)
        if (p->steps[s].node >= 0)
            p->steps[kept++] = p->steps[s];
    p->n_steps = kept;
}

mmsp_err onnx_plan_build(const struct onnx_graph *g, const int64_t (*in_dims)[ONNX_MAX_DIMS],
                         const mmsp_tensor *inputs, struct onnx_plan **out, int *fail_node,
                         char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct onnx_plan *p = NULL;
    int32_t *last = NULL;         /* per value: last step reading it */
    int32_t *nread = NULL;        /* per value: readers (fusion) */
    unsigned char *needed = NULL; /* per node: some graph output depends on it */
    struct live *lv = NULL;

    *out = NULL;
    *fail_node = -1;
    p = calloc(1, sizeof *p);
    if (!p)
        goto nomem;
    p->slots = calloc(g->n_values ? g->n_values : 1, sizeof *p->slots);
    p->steps = calloc(g->n_nodes ? g->n_nodes : 1, sizeof *p->steps);
    last = malloc((g->n_values ? g->n_values : 1) * sizeof *last);
    nread = malloc((g->n_values ? g->n_values : 1) * sizeof *nread);
    needed = calloc(g->n_nodes ? g->n_nodes : 1, 1);
    lv = malloc((g->n_values + g->n_nodes + 1) * sizeof *lv);
    if (!p->slots || !p->steps || !last || !nread || !needed || !lv)
        goto nomem;

    /* which nodes feed a graph output (walk producers backwards) */
    {
        unsigned char *vneed = (unsigned char *)last; /* reuse as scratch */
        memset(vneed, 0, g->n_values);
        for (size_t i = 0; i < g->n_outputs; i++)
            vneed[g->outputs[i]] = 1;
        for (size_t i = g->n_nodes; i-- > 0;) {
            const struct onnx_gnode *n = &g->nodes[i];
            for (size_t k = 0; k < n->pub.n_outputs && !needed[i]; k++)
                needed[i] = vneed[n->out[k]];
            if (needed[i])
                for (size_t k = 0; k < n->pub.n_inputs; k++)
                    if (n->in[k] >= 0)
                        vneed[n->in[k]] = 1;
        }
    }

    for (size_t i = 0; i < g->n_values; i++) {
        const struct onnx_value *v = &g->values[i];
        struct onnx_slot *s = &p->slots[i];
        if (v->kind == ONNX_VALUE_INIT) {
            s->kind = ONNX_SLOT_CONST;
            s->t = v->init;
        } else if (v->kind == ONNX_VALUE_INPUT) {
            s->kind = ONNX_SLOT_INPUT;
            s->input = v->input_index;
            s->t.dtype = v->dtype;
            s->t.ndim = v->ndim;
            memcpy(s->t.dims, in_dims[v->input_index], sizeof s->t.dims);
            memcpy(p->in_dims[v->input_index], in_dims[v->input_index], sizeof p->in_dims[0]);
            if (onnx_tensor_count(&s->t)) {
                rc = MMSP_E_TOO_LARGE;
                snprintf(err, errlen, "input '%s': shape too large", v->name);
                goto out;
            }
            if (v->key) {
                if (!inputs) {
                    rc = MMSP_E_INVALID;
                    snprintf(err, errlen, "input '%s': its values decide shapes", v->name);
                    goto out;
                }
                if (key_const(p, s, &inputs[v->input_index]))
                    goto nomem;
            }
        }
    }

    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnx_gnode *n = &g->nodes[i];
        const struct onnx_tensor *in[ONNX_MAX_NODE_IO];
        struct onnx_tensor outs[ONNX_MAX_NODE_IO];
        int all_const = 1;
        for (size_t k = 0; k < n->pub.n_inputs; k++) {
            in[k] = n->in[k] >= 0 ? &p->slots[n->in[k]].t : NULL;
            if (in[k] && p->slots[n->in[k]].kind != ONNX_SLOT_CONST)
                all_const = 0;
        }
        for (int k = 0; k < n->op->min_inputs && k < (int)n->pub.n_inputs; k++)
            if (!in[k]) { /* operators may rely on their required inputs being there */
                rc = onnx_op_err(&n->pub, err, errlen, MMSP_E_BAD_MODEL,
                                 "required input %d is empty", k);
                *fail_node = (int)i;
                goto out;
            }
        memset(outs, 0, n->pub.n_outputs * sizeof outs[0]);
        for (size_t k = 0; k < n->pub.n_outputs; k++)
            outs[k].dtype = MMSP_DT_COUNT;
        struct onnx_prepare_ctx ctx = {
            .node = &n->pub,
            .n_inputs = n->pub.n_inputs,
            .inputs = in,
            .n_outputs = n->pub.n_outputs,
            .outputs = outs,
            .err = err,
            .errlen = errlen,
        };
        rc = n->op->prepare(&ctx);
        if (rc) {
            *fail_node = (int)i;
            state_free(n->op, ctx.state);
            goto out;
        }
        int64_t out_bytes = 0;
        for (size_t k = 0; k < n->pub.n_outputs; k++) {
            struct onnx_slot *s = &p->slots[n->out[k]];
            if (onnx_dtype_size(outs[k].dtype) == 0) {
                rc = onnx_op_err(&n->pub, err, errlen, MMSP_E_INTERNAL,
                                 "output %zu has no supported type", k);
            } else if (outs[k].ndim < 0 || outs[k].ndim > ONNX_MAX_DIMS ||
                       onnx_tensor_count(&outs[k])) {
                rc = onnx_op_err(&n->pub, err, errlen, MMSP_E_TOO_LARGE,
                                 "output %zu: shape is invalid or too large", k);
            } else {
                rc = check_declared(n, &g->values[n->out[k]], &outs[k], err, errlen);
            }
            if (rc) {
                state_free(n->op, ctx.state);
                goto out;
            }
            outs[k].data = NULL;
            s->t = outs[k];
            out_bytes += (int64_t)tensor_bytes(&outs[k]);
        }
        if (!needed[i]) {
            state_free(n->op, ctx.state);
            continue;
        }
        if (all_const && out_bytes <= FOLD_MAX_BYTES) {
            rc = fold(g, p, n, in, ctx.state, ctx.scratch_bytes, err, errlen);
            state_free(n->op, ctx.state);
            if (rc)
                goto out;
            continue;
        }
        for (size_t k = 0; k < n->pub.n_outputs; k++)
            p->slots[n->out[k]].kind = ONNX_SLOT_ARENA;
        struct onnx_step *st = &p->steps[p->n_steps++];
        st->node = (int)i;
        st->out0 = n->pub.n_outputs ? n->out[0] : -1;
        st->state = ctx.state;
        st->scratch_bytes = ctx.scratch_bytes;
    }

    fuse_epilogues(g, p, last, nread);

    /* liveness: the last step reading each arena value; graph outputs live to the end */
    for (size_t v = 0; v < g->n_values; v++)
        last[v] = -1;
    for (size_t s = 0; s < p->n_steps; s++) {
        const struct onnx_gnode *n = &g->nodes[p->steps[s].node];
        for (size_t k = 0; k < n->pub.n_inputs; k++)
            if (n->in[k] >= 0)
                last[n->in[k]] = (int32_t)s;
        for (size_t k = 0; k < n->pub.n_outputs; k++) {
            int32_t v = step_out(&p->steps[s], n, k);
            if (v >= 0 && last[v] < (int32_t)s)
                last[v] = (int32_t)s;
        }
    }
    for (size_t i = 0; i < g->n_outputs; i++)
        last[g->outputs[i]] = (int32_t)p->n_steps;

    size_t nlive = 0, high = 0;
    for (size_t s = 0; s < p->n_steps; s++) {
        struct onnx_step *st = &p->steps[s];
        const struct onnx_gnode *n = &g->nodes[st->node];
        for (size_t k = 0; k < n->pub.n_outputs; k++) {
            int32_t v = step_out(st, n, k);
            if (v < 0)
                continue;
            struct onnx_slot *sl = &p->slots[v];
            sl->offset = place(lv, &nlive, align64(tensor_bytes(&sl->t)) + 64, v, &high);
        }
        if (st->scratch_bytes)
            st->scratch_off = place(lv, &nlive, align64(st->scratch_bytes), -1 - (int32_t)s, &high);
        if (high > ONNX_MAX_ARENA_BYTES) {
            rc = onnx_op_err(&n->pub, err, errlen, MMSP_E_TOO_LARGE,
                             "intermediate buffers exceed %zu bytes", ONNX_MAX_ARENA_BYTES);
            goto out;
        }
        if (st->scratch_bytes && !has_strings(n, p))
            unplace(lv, &nlive, -1 - (int32_t)s); /* else kept to the end (has_strings) */
        for (size_t k = 0; k < n->pub.n_inputs; k++)
            if (n->in[k] >= 0 && last[n->in[k]] == (int32_t)s &&
                p->slots[n->in[k]].kind == ONNX_SLOT_ARENA)
                unplace(lv, &nlive, n->in[k]);
        for (size_t k = 0; k < n->pub.n_outputs; k++) {
            int32_t v = step_out(st, n, k);
            if (v >= 0 && last[v] == (int32_t)s)
                unplace(lv, &nlive, v);
        }
    }
    p->arena_bytes = high;
    *out = p;
    p = NULL;
    goto out;
nomem:
    rc = MMSP_E_NOMEM;
    snprintf(err, errlen, "out of memory");
out:
    free(last);
    free(nread);
    free(needed);
    free(lv);
    onnx_plan_free(g, p);
    return rc;
}

mmsp_err onnx_plan_run(const struct onnx_graph *g, const struct onnx_plan *p, void *arena,
                       struct onnx_tensor *vals, const mmsp_tensor *inputs, char *err,
                       size_t errlen)
{
    for (size_t v = 0; v < g->n_values; v++) {
        const struct onnx_slot *s = &p->slots[v];
        switch (s->kind) {
        case ONNX_SLOT_CONST:
            vals[v] = s->t;
            break;
        case ONNX_SLOT_INPUT:
            vals[v] = s->t;
            vals[v].data = inputs[s->input].data;
            break;
        case ONNX_SLOT_ARENA:
            vals[v] = s->t;
            vals[v].data = (unsigned char *)arena + s->offset;
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < p->n_steps; i++) {
        const struct onnx_step *st = &p->steps[i];
        const struct onnx_gnode *n = &g->nodes[st->node];
        const struct onnx_tensor *in[ONNX_MAX_NODE_IO];
        struct onnx_tensor *out[ONNX_MAX_NODE_IO];
        for (size_t k = 0; k < n->pub.n_inputs; k++)
            in[k] = n->in[k] >= 0 ? &vals[n->in[k]] : NULL;
        for (size_t k = 0; k < n->pub.n_outputs; k++)
            out[k] = &vals[step_out(st, n, k)];
        struct onnx_run_ctx ctx = {
            .node = &n->pub,
            .state = st->state,
            .n_inputs = n->pub.n_inputs,
            .inputs = in,
            .n_outputs = n->pub.n_outputs,
            .outputs = out,
            .scratch = st->scratch_bytes ? (unsigned char *)arena + st->scratch_off : NULL,
            .err = err,
            .errlen = errlen,
        };
        mmsp_err rc = n->op->run(&ctx);
        if (rc)
            return rc;
    }
    return MMSP_OK;
}
