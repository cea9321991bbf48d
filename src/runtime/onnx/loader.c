/*
 * ONNX loader: bytes of a ModelProto -> struct onnx_graph (graph.h). Checks the wire format's
 * nesting depth before protobuf-c unpacks anything, then IR version and opset imports,
 * decodes initializers (raw_data or the typed fields, little-endian) into one weights block,
 * decodes attributes, resolves every node's operator from the registry and wires node inputs
 * to values defined earlier (topological order; a cycle cannot pass), with unique names.
 * Every count and size from the file is checked against the limits in graph.h.
 * Calls: protobuf-c (generated onnx-ml.pb-c.h), common/arena.h, op.h (registry, helpers).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx-ml.pb-c.h"
#include "runtime/onnx/graph.h"

/* Deepest message nesting accepted (graphs inside attributes, nested type protos). */
#define MAX_NESTING 32

struct loader {
    const char *name; /* file name for messages */
    char *err;
    size_t errlen;
    struct onnx_graph *g;
    size_t weights_used;
    /* name -> value index, open addressing; size is a power of two */
    int32_t *table;
    size_t table_size;
};

static mmsp_err fail(struct loader *ld, mmsp_err rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static mmsp_err fail(struct loader *ld, mmsp_err rc, const char *fmt, ...)
{
    char msg[MMSP_ERRMSG_MAX];
    va_list ap;
    if (!ld->err || !ld->errlen)
        return rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ld->err, ld->errlen, "%s: %s", ld->name, msg);
    return rc;
}

/* ---- wire-format pre-check: nesting depth (protobuf-c recurses without a limit) ---- */

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/*
 * Walks a message of descriptor `d` in data[0..len), descending into message-typed fields;
 * fails past MAX_NESTING. Malformed wire data is left for protobuf-c to refuse.
 */
static int check_depth(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
                       int depth)
{
    if (depth > MAX_NESTING)
        return -1;
    while (p < end) {
        uint64_t key, v;
        if (read_varint(&p, end, &key))
            return 0;
        switch (key & 7) {
        case 0:
            if (read_varint(&p, end, &v))
                return 0;
            break;
        case 1:
            if (end - p < 8)
                return 0;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return 0;
            p += 4;
            break;
        case 2: {
            if (read_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return 0;
            uint64_t num = key >> 3;
            for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                if (f->id == num && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                    if (check_depth(f->descriptor, p, p + v, depth + 1))
                        return -1;
                    break;
                }
            }
            p += v;
            break;
        }
        default:
            return 0;
        }
    }
    return 0;
}

/* ---- names ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Index of the value called `s`, or -1. */
static int32_t value_find(const struct loader *ld, const char *s)
{
    size_t mask = ld->table_size - 1;
    for (size_t i = hash_str(s) & mask;; i = (i + 1) & mask) {
        int32_t v = ld->table[i];
        if (v < 0)
            return -1;
        if (strcmp(ld->g->values[v].name, s) == 0)
            return v;
    }
}

/* Adds a value named s (checked for length and uniqueness); *idx = its index. */
static mmsp_err value_add(struct loader *ld, const char *s, enum onnx_value_kind kind, int32_t *idx)
{
    struct onnx_graph *g = ld->g;
    size_t len = strnlen(s, ONNX_MAX_NAME + 1);
    if (len == 0 || len > ONNX_MAX_NAME)
        return fail(ld, MMSP_E_BAD_MODEL, "value name of %zu bytes (1..%d allowed)", len,
                    ONNX_MAX_NAME);
    if (value_find(ld, s) >= 0)
        return fail(ld, MMSP_E_BAD_MODEL, "value '%s' is defined twice", s);
    struct onnx_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = arena_strndup(&g->meta, s, len);
    if (!v->name)
        return fail(ld, MMSP_E_NOMEM, "out of memory");
    v->kind = kind;
    v->producer = -1;
    v->input_index = -1;
    v->ndim = -1;
    size_t mask = ld->table_size - 1;
    size_t i = hash_str(s) & mask;
    while (ld->table[i] >= 0)
        i = (i + 1) & mask;
    ld->table[i] = (int32_t)g->n_values;
    *idx = (int32_t)g->n_values++;
    return MMSP_OK;
}

/* ---- tensors ---- */

static int map_dtype(int32_t t, mmsp_dtype *out)
{
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        *out = MMSP_DT_FP32;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        *out = MMSP_DT_FP64;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        *out = MMSP_DT_INT32;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        *out = MMSP_DT_INT64;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
        *out = MMSP_DT_INT8;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
        *out = MMSP_DT_UINT8;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        *out = MMSP_DT_BOOL;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__STRING:
        *out = MMSP_DT_BYTES;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
        *out = MMSP_DT_INT16;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
        *out = MMSP_DT_UINT16;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
        *out = MMSP_DT_UINT32;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
        *out = MMSP_DT_UINT64;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
        *out = MMSP_DT_FP16;
        return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
        *out = MMSP_DT_BF16;
        return 0;
    default:
        return -1;
    }
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/*
 * Checks a TensorProto (dims, dtype, data present in the right amount, no external data)
 * and fills t's dtype/shape/count; *bytes = weights bytes it will need. `what` names it.
 */
static mmsp_err tensor_check(struct loader *ld, const Onnx__TensorProto *tp, const char *what,
                             struct onnx_tensor *t, size_t *bytes)
{
    const char *tn = tp->name ? tp->name : "";
    memset(t, 0, sizeof *t);
    if ((tp->has_data_location &&
         tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        tp->n_external_data)
        return fail(ld, MMSP_E_UNSUPPORTED, "%s '%s': external data is not supported", what, tn);
    if (tp->segment)
        return fail(ld, MMSP_E_UNSUPPORTED, "%s '%s': segmented tensors are not supported", what,
                    tn);
    if (!tp->has_data_type || map_dtype(tp->data_type, &t->dtype))
        return fail(ld, MMSP_E_UNSUPPORTED, "%s '%s': data type %d is not supported", what, tn,
                    (int)tp->data_type);
    if (tp->n_dims > ONNX_MAX_DIMS)
        return fail(ld, MMSP_E_BAD_MODEL, "%s '%s': %zu dims (at most %d)", what, tn, tp->n_dims,
                    ONNX_MAX_DIMS);
    t->ndim = (int)tp->n_dims;
    for (size_t d = 0; d < tp->n_dims; d++)
        t->dims[d] = tp->dims[d];
    mmsp_err rc = onnx_tensor_count(t);
    if (rc)
        return fail(ld, rc, "%s '%s': dims are negative or too large", what, tn);
    size_t n = (size_t)t->count, es = onnx_dtype_size(t->dtype), have;
    *bytes = align64(n * es);
    if (t->dtype == MMSP_DT_BYTES) {
        if (tp->n_string_data != n)
            return fail(ld, MMSP_E_BAD_MODEL, "%s '%s': %zu strings for %zu elements", what, tn,
                        tp->n_string_data, n);
        for (size_t i = 0; i < n; i++)
            *bytes += tp->string_data[i].len + 1;
        *bytes = align64(*bytes);
        return MMSP_OK;
    }
    if (tp->has_raw_data) {
        if (tp->raw_data.len != n * es)
            return fail(ld, MMSP_E_BAD_MODEL, "%s '%s': raw_data has %zu bytes, shape needs %zu",
                        what, tn, tp->raw_data.len, n * es);
        return MMSP_OK;
    }
    switch (t->dtype) {
    case MMSP_DT_FP32:
        have = tp->n_float_data;
        break;
    case MMSP_DT_FP64:
        have = tp->n_double_data;
        break;
    case MMSP_DT_INT64:
        have = tp->n_int64_data;
        break;
    case MMSP_DT_UINT32:
    case MMSP_DT_UINT64:
        have = tp->n_uint64_data;
        break;
    default:
        have = tp->n_int32_data;
        break;
    }
    if (have != n)
        return fail(ld, MMSP_E_BAD_MODEL, "%s '%s': %zu values for %zu elements", what, tn, have,
                    n);
    return MMSP_OK;
}

/* Copies little-endian raw bytes into native order. */
static void copy_le(void *dst, const void *src, size_t n, size_t es)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    const unsigned char *s = src;
    unsigned char *o = dst;
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < es; b++)
            o[i * es + b] = s[i * es + es - 1 - b];
#else
    memcpy(dst, src, n * es);
#endif
}

/* Fills t->data from tp into the weights block (tensor_check passed, space reserved). */
static void tensor_fill(struct loader *ld, const Onnx__TensorProto *tp, struct onnx_tensor *t,
                        size_t bytes)
{
    unsigned char *base = ld->g->weights + ld->weights_used;
    size_t n = (size_t)t->count, es = onnx_dtype_size(t->dtype);
    ld->weights_used += bytes;
    t->data = base;
    if (t->dtype == MMSP_DT_BYTES) {
        const char **ptrs = (const char **)base;
        char *s = (char *)base + n * es;
        for (size_t i = 0; i < n; i++) {
            if (tp->string_data[i].len)
                memcpy(s, tp->string_data[i].data, tp->string_data[i].len);
            s[tp->string_data[i].len] = '\0';
            ptrs[i] = s;
            s += tp->string_data[i].len + 1;
        }
        return;
    }
    if (tp->has_raw_data) {
        if (n)
            copy_le(base, tp->raw_data.data, n, es);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case MMSP_DT_FP32:
            ((float *)base)[i] = tp->float_data[i];
            break;
        case MMSP_DT_FP64:
            ((double *)base)[i] = tp->double_data[i];
            break;
        case MMSP_DT_INT64:
            ((int64_t *)base)[i] = tp->int64_data[i];
            break;
        case MMSP_DT_UINT64:
            ((uint64_t *)base)[i] = tp->uint64_data[i];
            break;
        case MMSP_DT_UINT32:
            ((uint32_t *)base)[i] = (uint32_t)tp->uint64_data[i];
            break;
        case MMSP_DT_INT32:
            ((int32_t *)base)[i] = tp->int32_data[i];
            break;
        case MMSP_DT_INT16:
            ((int16_t *)base)[i] = (int16_t)tp->int32_data[i];
            break;
        case MMSP_DT_UINT16:
        case MMSP_DT_FP16: /* float16 / bfloat16: the bits, in int32_data */
        case MMSP_DT_BF16:
            ((uint16_t *)base)[i] = (uint16_t)tp->int32_data[i];
            break;
        case MMSP_DT_INT8:
            ((int8_t *)base)[i] = (int8_t)tp->int32_data[i];
            break;
        case MMSP_DT_UINT8:
            ((uint8_t *)base)[i] = (uint8_t)tp->int32_data[i];
            break;
        case MMSP_DT_BOOL:
            ((uint8_t *)base)[i] = tp->int32_data[i] != 0;
            break;
        default:
            break;
        }
    }
}

/* Bool tensors from raw_data may hold any byte: normalise to 0/1. */
static void bool_normalise(struct onnx_tensor *t)
{
    if (t->dtype == MMSP_DT_BOOL)
        for (int64_t i = 0; i < t->count; i++)
            ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
}

/* ---- value types ---- */

/* Records a ValueInfoProto's tensor type (if any) on value v. */
static mmsp_err value_type(struct loader *ld, struct onnx_value *v, const Onnx__ValueInfoProto *vi)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return MMSP_OK; /* non-tensor or unknown: nothing declared */
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type && tt->elem_type != 0) {
        if (map_dtype(tt->elem_type, &v->dtype))
            return fail(ld, MMSP_E_UNSUPPORTED, "value '%s': element type %d is not supported",
                        v->name, (int)tt->elem_type);
        v->has_type = 1;
    }
    if (tt->shape) {
        if (tt->shape->n_dim > ONNX_MAX_DIMS)
            return fail(ld, MMSP_E_BAD_MODEL, "value '%s': %zu dims (at most %d)", v->name,
                        tt->shape->n_dim, ONNX_MAX_DIMS);
        v->ndim = (int)tt->shape->n_dim;
        for (size_t d = 0; d < tt->shape->n_dim; d++) {
            const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[d];
            v->dims[d] = -1;
            if (dm && dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
                if (dm->dim_value < 0 || dm->dim_value > ONNX_MAX_TENSOR_BYTES)
                    return fail(ld, MMSP_E_BAD_MODEL, "value '%s': dim %zu is %lld", v->name, d,
                                (long long)dm->dim_value);
                v->dims[d] = dm->dim_value;
            }
        }
    }
    return MMSP_OK;
}

/* ---- attributes ---- */

static mmsp_err attr_decode(struct loader *ld, const struct onnx_node *node,
                            const Onnx__AttributeProto *ap, struct onnx_attr *a)
{
    struct arena *m = &ld->g->meta;
    int type = ap->has_type ? (int)ap->type : 0;

    memset(a, 0, sizeof *a);
    if (!ap->name || !ap->name[0] || strlen(ap->name) > ONNX_MAX_NAME)
        return fail(ld, MMSP_E_BAD_MODEL, "node '%s': attribute without a valid name", node->name);
    a->name = arena_strndup(m, ap->name, strlen(ap->name));
    if (!a->name)
        return fail(ld, MMSP_E_NOMEM, "out of memory");
    if (type == 0) { /* old files: infer from the populated field */
        if (ap->n_ints)
            type = ONNX_ATTR_INTS;
        else if (ap->n_floats)
            type = ONNX_ATTR_FLOATS;
        else if (ap->n_strings)
            type = ONNX_ATTR_STRINGS;
        else if (ap->t)
            type = ONNX_ATTR_TENSOR;
        else if (ap->has_s)
            type = ONNX_ATTR_STRING;
        else if (ap->has_i)
            type = ONNX_ATTR_INT;
        else if (ap->has_f)
            type = ONNX_ATTR_FLOAT;
    }
    a->type = (enum onnx_attr_type)type;
    switch (type) {
    case ONNX_ATTR_FLOAT:
        a->f = ap->f;
        return MMSP_OK;
    case ONNX_ATTR_INT:
        a->i = ap->i;
        return MMSP_OK;
    case ONNX_ATTR_STRING:
        if (ap->s.len > ONNX_MAX_ATTR_ELEMS)
            return fail(ld, MMSP_E_TOO_LARGE, "node '%s': attribute '%s' too long", node->name,
                        a->name);
        a->s = arena_strndup(m, ap->s.len ? (const char *)ap->s.data : "", ap->s.len);
        a->s_len = ap->s.len;
        return a->s ? MMSP_OK : fail(ld, MMSP_E_NOMEM, "out of memory");
    case ONNX_ATTR_FLOATS:
    case ONNX_ATTR_INTS:
    case ONNX_ATTR_STRINGS: {
        size_t n = type == ONNX_ATTR_FLOATS ? ap->n_floats
                   : type == ONNX_ATTR_INTS ? ap->n_ints
                                            : ap->n_strings;
        if (n > ONNX_MAX_ATTR_ELEMS)
            return fail(ld, MMSP_E_TOO_LARGE, "node '%s': attribute '%s' has %zu values",
                        node->name, a->name, n);
        a->n = n;
        if (type == ONNX_ATTR_FLOATS) {
            float *f = arena_calloc(m, n ? n : 1, sizeof *f);
            if (!f)
                return fail(ld, MMSP_E_NOMEM, "out of memory");
            if (n)
                memcpy(f, ap->floats, n * sizeof *f);
            a->floats = f;
        } else if (type == ONNX_ATTR_INTS) {
            int64_t *v = arena_calloc(m, n ? n : 1, sizeof *v);
            if (!v)
                return fail(ld, MMSP_E_NOMEM, "out of memory");
            if (n)
                memcpy(v, ap->ints, n * sizeof *v);
            a->ints = v;
        } else {
            const char **s = arena_calloc(m, n ? n : 1, sizeof *s);
            if (!s)
                return fail(ld, MMSP_E_NOMEM, "out of memory");
            for (size_t i = 0; i < n; i++) {
                s[i] = arena_strndup(m, ap->strings[i].len ? (const char *)ap->strings[i].data : "",
                                     ap->strings[i].len);
                if (!s[i])
                    return fail(ld, MMSP_E_NOMEM, "out of memory");
            }
            a->strings = s;
        }
        return MMSP_OK;
    }
    case ONNX_ATTR_TENSOR: {
        size_t bytes;
        if (!ap->t)
            return fail(ld, MMSP_E_BAD_MODEL, "node '%s': attribute '%s' has no tensor", node->name,
                        a->name);
        mmsp_err rc = tensor_check(ld, ap->t, "tensor attribute", &a->t, &bytes);
        if (rc)
            return rc;
        tensor_fill(ld, ap->t, &a->t, bytes);
        bool_normalise(&a->t);
        return MMSP_OK;
    }
    default:
        return fail(ld, MMSP_E_UNSUPPORTED,
                    "node '%s' (op '%s'): attribute '%s' of type %d is not supported", node->name,
                    node->op_type, a->name, type);
    }
}

/* Weights bytes the tensor attributes of a node need (checked as they will be decoded). */
static mmsp_err attr_bytes(struct loader *ld, const Onnx__NodeProto *np, size_t *total)
{
    for (size_t k = 0; k < np->n_attribute; k++) {
        const Onnx__AttributeProto *ap = np->attribute[k];
        struct onnx_tensor t;
        size_t b;
        if (!ap || !ap->t)
            continue;
        mmsp_err rc = tensor_check(ld, ap->t, "tensor attribute", &t, &b);
        if (rc)
            return rc;
        if (b > ONNX_MAX_WEIGHT_BYTES - *total)
            return fail(ld, MMSP_E_TOO_LARGE, "weights exceed %zu bytes", ONNX_MAX_WEIGHT_BYTES);
        *total += b;
    }
    return MMSP_OK;
}

/* ---- the graph ---- */

static mmsp_err opsets(struct loader *ld, const Onnx__ModelProto *mp)
{
    struct onnx_graph *g = ld->g;
    if (!mp->has_ir_version || mp->ir_version < 3 || mp->ir_version > 8)
        return fail(ld, MMSP_E_UNSUPPORTED, "IR version %lld is not supported (3 to 8)",
                    (long long)mp->ir_version);
    g->ir_version = mp->ir_version;
    if (mp->n_opset_import > 64)
        return fail(ld, MMSP_E_BAD_MODEL, "%zu opset imports", mp->n_opset_import);
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        const char *dom = o && o->domain ? o->domain : "";
        int64_t ver = o && o->has_version ? o->version : 0;
        if (strcmp(dom, "") == 0 || strcmp(dom, "ai.onnx") == 0) {
            if (ver < 7 || ver > 17)
                return fail(ld, MMSP_E_UNSUPPORTED,
                            "opset %lld of ai.onnx is not supported (7 to 17)", (long long)ver);
            g->opset_onnx = (int)ver;
        } else if (strcmp(dom, "ai.onnx.ml") == 0) {
            if (ver < 1 || ver > 3)
                return fail(ld, MMSP_E_UNSUPPORTED,
                            "opset %lld of ai.onnx.ml is not supported (1 to 3)", (long long)ver);
            g->opset_ml = (int)ver;
        }
        /* other domains: nodes using them are refused as unsupported operators */
    }
    return MMSP_OK;
}

static mmsp_err build(struct loader *ld, const Onnx__ModelProto *mp)
{
    struct onnx_graph *g = ld->g;
    const Onnx__GraphProto *gp = mp->graph;
    mmsp_err rc;
    size_t n_values = 0, wbytes = 0;

    if (!gp)
        return fail(ld, MMSP_E_BAD_MODEL, "the model has no graph");
    if (gp->n_node > ONNX_MAX_NODES)
        return fail(ld, MMSP_E_TOO_LARGE, "%zu nodes (at most %d)", gp->n_node, ONNX_MAX_NODES);
    if (gp->n_sparse_initializer)
        return fail(ld, MMSP_E_UNSUPPORTED, "sparse initializers are not supported");
    if (gp->n_input > ONNX_MAX_VALUES || gp->n_initializer > ONNX_MAX_VALUES)
        return fail(ld, MMSP_E_TOO_LARGE, "too many graph inputs or initializers");
    n_values = gp->n_input + gp->n_initializer;
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        if (np->n_input > ONNX_MAX_NODE_IO || np->n_output > ONNX_MAX_NODE_IO)
            return fail(ld, MMSP_E_BAD_MODEL,
                        "node %zu has %zu inputs and %zu outputs (at most %d)", i, np->n_input,
                        np->n_output, ONNX_MAX_NODE_IO);
        if (np->n_attribute > ONNX_MAX_ATTRS)
            return fail(ld, MMSP_E_BAD_MODEL, "node %zu has %zu attributes", i, np->n_attribute);
        n_values += np->n_output;
    }
    if (n_values > ONNX_MAX_VALUES)
        return fail(ld, MMSP_E_TOO_LARGE, "%zu values (at most %d)", n_values, ONNX_MAX_VALUES);

    /* pass 1: every tensor checked, weights sized */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        struct onnx_tensor t;
        size_t b;
        rc = tensor_check(ld, gp->initializer[i], "initializer", &t, &b);
        if (rc)
            return rc;
        if (b > ONNX_MAX_WEIGHT_BYTES - wbytes)
            return fail(ld, MMSP_E_TOO_LARGE, "weights exceed %zu bytes", ONNX_MAX_WEIGHT_BYTES);
        wbytes += b;
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        rc = attr_bytes(ld, gp->node[i], &wbytes);
        if (rc)
            return rc;
    }
    g->weights = aligned_alloc(64, wbytes ? wbytes : 64);
    g->weights_size = wbytes;
    if (!g->weights)
        return fail(ld, MMSP_E_NOMEM, "out of memory for %zu bytes of weights", wbytes);

    g->values = arena_calloc(&g->meta, n_values ? n_values : 1, sizeof *g->values);
    g->nodes = arena_calloc(&g->meta, gp->n_node ? gp->n_node : 1, sizeof *g->nodes);
    ld->table_size = 16;
    while (ld->table_size < 2 * n_values)
        ld->table_size *= 2;
    ld->table = malloc(ld->table_size * sizeof *ld->table);
    if (!g->values || !g->nodes || !ld->table)
        return fail(ld, MMSP_E_NOMEM, "out of memory");
    memset(ld->table, 0xff, ld->table_size * sizeof *ld->table);

    /* initializers, then graph inputs (an input named like an initializer is that constant) */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        int32_t idx;
        size_t b;
        rc = value_add(ld, tp->name ? tp->name : "", ONNX_VALUE_INIT, &idx);
        if (rc)
            return rc;
        struct onnx_value *v = &g->values[idx];
        rc = tensor_check(ld, tp, "initializer", &v->init, &b);
        if (rc)
            return rc;
        tensor_fill(ld, tp, &v->init, b);
        bool_normalise(&v->init);
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *nm = vi->name ? vi->name : "";
        int32_t idx = value_find(ld, nm);
        if (idx >= 0 && g->values[idx].kind == ONNX_VALUE_INIT)
            continue;
        rc = value_add(ld, nm, ONNX_VALUE_INPUT, &idx);
        if (rc)
            return rc;
        struct onnx_value *v = &g->values[idx];
        rc = value_type(ld, v, vi);
        if (rc)
            return rc;
        if (!v->has_type || v->ndim < 0)
            return fail(ld, MMSP_E_UNSUPPORTED,
                        "graph input '%s': not a tensor of known element type and rank", nm);
        if (g->n_inputs >= RUNTIME_MAX_IO)
            return fail(ld, MMSP_E_UNSUPPORTED, "more than %d graph inputs", RUNTIME_MAX_IO);
        v->input_index = (int)g->n_inputs;
        g->inputs[g->n_inputs++] = idx;
    }

    /* nodes, in file order: inputs must already be defined */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        struct onnx_gnode *n = &g->nodes[i];
        struct onnx_node *pub = &n->pub;
        char idxname[32];
        const char *nm = np->name && np->name[0] ? np->name : NULL;
        if (!nm) {
            snprintf(idxname, sizeof idxname, "#%zu", i);
            nm = idxname;
        }
        if (strlen(nm) > ONNX_MAX_NAME)
            return fail(ld, MMSP_E_BAD_MODEL, "node %zu: name too long", i);
        pub->name = arena_strndup(&g->meta, nm, strlen(nm));
        const char *ot = np->op_type ? np->op_type : "";
        const char *dom = np->domain ? np->domain : "";
        if (strlen(ot) > ONNX_MAX_NAME || strlen(dom) > ONNX_MAX_NAME)
            return fail(ld, MMSP_E_BAD_MODEL, "node %zu: op type or domain too long", i);
        pub->op_type = arena_strndup(&g->meta, ot, strlen(ot));
        pub->domain = arena_strndup(&g->meta, dom, strlen(dom));
        if (!pub->name || !pub->op_type || !pub->domain)
            return fail(ld, MMSP_E_NOMEM, "out of memory");
        if (strcmp(dom, "") == 0 || strcmp(dom, "ai.onnx") == 0)
            pub->opset = g->opset_onnx;
        else if (strcmp(dom, "ai.onnx.ml") == 0)
            pub->opset = g->opset_ml;
        n->op = pub->opset ? onnx_op_find(dom, ot, pub->opset) : NULL;
        if (!n->op) {
            if (pub->opset && onnx_op_known(dom, ot))
                return fail(ld, MMSP_E_UNSUPPORTED,
                            "node '%s' (op '%s', domain '%s'): unsupported operator at opset %d",
                            pub->name, ot, dom, pub->opset);
            return fail(ld, MMSP_E_UNSUPPORTED,
                        "node '%s' (op '%s', domain '%s'): unsupported operator", pub->name, ot,
                        dom);
        }
        if ((int)np->n_input < n->op->min_inputs || (int)np->n_input > n->op->max_inputs ||
            (int)np->n_output < n->op->min_outputs || (int)np->n_output > n->op->max_outputs)
            return fail(ld, MMSP_E_BAD_MODEL,
                        "node '%s' (op '%s'): %zu inputs and %zu outputs (expected %d..%d and "
                        "%d..%d)",
                        pub->name, ot, np->n_input, np->n_output, n->op->min_inputs,
                        n->op->max_inputs, n->op->min_outputs, n->op->max_outputs);
        pub->n_inputs = np->n_input;
        pub->n_outputs = np->n_output;
        n->in = arena_calloc(&g->meta, np->n_input + 1, sizeof *n->in);
        n->out = arena_calloc(&g->meta, np->n_output + 1, sizeof *n->out);
        struct onnx_attr *attrs = arena_calloc(&g->meta, np->n_attribute + 1, sizeof *attrs);
        if (!n->in || !n->out || !attrs)
            return fail(ld, MMSP_E_NOMEM, "out of memory");
        for (size_t k = 0; k < np->n_input; k++) {
            const char *in = np->input[k] ? np->input[k] : "";
            n->in[k] = -1;
            if (!in[0])
                continue;
            n->in[k] = value_find(ld, in);
            if (n->in[k] < 0)
                return fail(ld, MMSP_E_BAD_MODEL,
                            "node '%s' (op '%s'): input '%s' is not produced by an earlier node, "
                            "an initializer or a graph input (graph not in topological order, or a "
                            "cycle)",
                            pub->name, ot, in);
        }
        for (size_t k = 0; k < np->n_attribute; k++) {
            rc = attr_decode(ld, pub, np->attribute[k], &attrs[k]);
            if (rc)
                return rc;
            for (size_t j = 0; j < k; j++)
                if (strcmp(attrs[j].name, attrs[k].name) == 0)
                    return fail(ld, MMSP_E_BAD_MODEL, "node '%s': attribute '%s' given twice",
                                pub->name, attrs[k].name);
        }
        pub->attrs = attrs;
        pub->n_attrs = np->n_attribute;
        for (size_t k = 0; k < np->n_output; k++) {
            const char *o = np->output[k] ? np->output[k] : "";
            char anon[48];
            if (!o[0]) { /* an unused optional output still needs a buffer: anonymous value */
                snprintf(anon, sizeof anon, "\x01%zu.%zu", i, k);
                o = anon;
            }
            rc = value_add(ld, o, ONNX_VALUE_NODE, &n->out[k]);
            if (rc)
                return fail(ld, rc, "node '%s' (op '%s'): output '%s' is already defined",
                            pub->name, ot, o);
            g->values[n->out[k]].producer = (int)i;
        }
    }
    g->n_nodes = gp->n_node;

    /* declared types of intermediate values and outputs, checked by the planner */
    for (size_t i = 0; i < gp->n_value_info && i < ONNX_MAX_VALUES; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int32_t idx = vi->name ? value_find(ld, vi->name) : -1;
        if (idx >= 0 && g->values[idx].kind == ONNX_VALUE_NODE) {
            rc = value_type(ld, &g->values[idx], vi);
            if (rc)
                return rc;
        }
    }
    if (gp->n_output == 0)
        return fail(ld, MMSP_E_BAD_MODEL, "the graph has no outputs");
    if (gp->n_output > RUNTIME_MAX_IO)
        return fail(ld, MMSP_E_UNSUPPORTED, "%zu graph outputs (at most %d)", gp->n_output,
                    RUNTIME_MAX_IO);
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        const char *nm = vi->name ? vi->name : "";
        int32_t idx = value_find(ld, nm);
        if (idx < 0)
            return fail(ld, MMSP_E_BAD_MODEL, "graph output '%s' is not produced by any node", nm);
        for (size_t j = 0; j < g->n_outputs; j++)
            if (g->outputs[j] == idx)
                return fail(ld, MMSP_E_BAD_MODEL, "graph output '%s' is listed twice", nm);
        if (g->values[idx].kind == ONNX_VALUE_NODE) {
            rc = value_type(ld, &g->values[idx], vi);
            if (rc)
                return rc;
        }
        g->outputs[g->n_outputs++] = idx;
    }
    return MMSP_OK;
}

mmsp_err onnx_graph_load(const void *data, size_t len, const char *name, struct onnx_graph **out,
                         char *err, size_t errlen)
{
    struct loader ld = {.name = name ? name : "model", .err = err, .errlen = errlen};
    Onnx__ModelProto *mp = NULL;
    mmsp_err rc = MMSP_OK;

    *out = NULL;
    if (len == 0 || len > ((size_t)1 << 30)) {
        rc = fail(&ld, MMSP_E_BAD_MODEL, "%zu bytes is not a valid ONNX model size", len);
        goto out;
    }
    if (((const char *)data)[0] == '{' || ((const char *)data)[0] == '[') {
        rc = fail(&ld, MMSP_E_UNSUPPORTED, "this is JSON, not an ONNX protobuf model");
        goto out;
    }
    if (check_depth(&onnx__model_proto__descriptor, data, (const uint8_t *)data + len, 0)) {
        rc = fail(&ld, MMSP_E_BAD_MODEL, "messages nested deeper than %d", MAX_NESTING);
        goto out;
    }
    mp = onnx__model_proto__unpack(NULL, len, data);
    if (!mp) {
        rc = fail(&ld, MMSP_E_PARSE, "not a valid ONNX protobuf (ModelProto)");
        goto out;
    }
    ld.g = calloc(1, sizeof *ld.g);
    if (!ld.g) {
        rc = fail(&ld, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    arena_init(&ld.g->meta, 1 << 16, ONNX_MAX_META_BYTES);
    rc = opsets(&ld, mp);
    if (rc)
        goto out;
    rc = build(&ld, mp);
    if (rc)
        goto out;
    *out = ld.g;
    ld.g = NULL;
out:
    free(ld.table);
    onnx_graph_free(ld.g);
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
    return rc;
}

void onnx_graph_free(struct onnx_graph *g)
{
    if (!g)
        return;
    arena_release(&g->meta);
    free(g->weights);
    free(g);
}
