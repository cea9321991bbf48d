/*
 * A model's config.yaml (see model_config.h for the format): parsed with libyaml's document
 * API into struct model_config, checked key by key so that every error names the file, the
 * line and the field; completed and checked against a loaded model; selected versions; and
 * written as Triton's model-config JSON with jansson.
 * Calls: libyaml, jansson, common/buf, the mmsp runtime API (model info, inputs, outputs).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "model_config.h"

#define MAX_STRING 1024 /* bytes in any string value */

/* ---- init / release ---- */

void model_config_init(struct model_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_batch_size = 0;
    c->instance_count = 1;
    c->version_policy = VERSION_POLICY_LATEST;
    c->latest_num_versions = 1;
}

static void io_list_free(struct model_io_config *io, size_t n)
{
    if (!io)
        return;
    for (size_t i = 0; i < n; i++)
        free(io[i].name);
    free(io);
}

void model_config_release(struct model_config *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->backend);
    free(c->default_model_filename);
    io_list_free(c->inputs, c->n_inputs);
    io_list_free(c->outputs, c->n_outputs);
    free(c->preferred_batch_sizes);
    free(c->specific_versions);
    model_config_init(c);
}

/* ---- parsing context and errors ---- */

struct pctx {
    const char *path;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
    size_t line_name;
    size_t line_max_batch; /* lines of nodes the final cross-checks point at (1-based) */
    size_t line_dynamic;
    size_t line_preferred;
};

static size_t line_of(const yaml_node_t *n)
{
    return n ? n->start_mark.line + 1 : 0;
}

/* A printable excerpt of s for messages: at most 64 bytes, control bytes shown as '?'. */
static const char *show(const char *s, char out[72])
{
    size_t i = 0;
    for (; s[i] && i < 64; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* Writes "path:line: field: <message>" into err and returns code. */
static mmsp_err fail(struct pctx *p, size_t line, mmsp_err code, const char *field, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
static mmsp_err fail(struct pctx *p, size_t line, mmsp_err code, const char *field, const char *fmt,
                     ...)
{
    if (!p->err || !p->errlen)
        return code;
    int n = snprintf(p->err, p->errlen, "%s:%zu: %s: ", p->path, line, field);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

/* A plain scalar that YAML reads as null: "", "~", "null". */
static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* ---- scalar readers ---- */

static mmsp_err read_string(struct pctx *p, const yaml_node_t *n, const char *field, char **out)
{
    if (n->type != YAML_SCALAR_NODE || is_null(n))
        return fail(p, line_of(n), MMSP_E_INVALID, field, "expected a string, found %s",
                    is_null(n) ? "null" : node_kind(n));
    size_t len = n->data.scalar.length;
    const char *v = (const char *)n->data.scalar.value;
    if (strlen(v) != len)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "contains a NUL byte");
    if (len == 0)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "is empty");
    if (len > MAX_STRING)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "longer than %d bytes", MAX_STRING);
    char *s = strdup(v);
    if (!s)
        return MMSP_E_NOMEM;
    free(*out);
    *out = s;
    return MMSP_OK;
}

static mmsp_err read_int(struct pctx *p, const yaml_node_t *n, const char *field, int64_t min,
                         int64_t max, int64_t *out)
{
    char tmp[72];
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        is_null(n))
        return fail(p, line_of(n), MMSP_E_INVALID, field, "expected an integer, found %s",
                    n->type != YAML_SCALAR_NODE ? node_kind(n)
                    : is_null(n)                ? "null"
                                                : "a quoted string");
    const char *v = (const char *)n->data.scalar.value;
    const char *d = v + (*v == '-' || *v == '+');
    int digits = *d != '\0';
    for (const char *q = d; *q; q++)
        digits &= *q >= '0' && *q <= '9';
    if (!digits || strlen(v) != n->data.scalar.length)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "expected an integer, found '%s'",
                    show(v, tmp));
    errno = 0;
    long long x = strtoll(v, NULL, 10);
    if (errno == ERANGE || x < min || x > max) {
        if (max == INT64_MAX)
            return fail(p, line_of(n), MMSP_E_INVALID, field,
                        "%s is out of range (min %" PRId64 ")", show(v, tmp), min);
        return fail(p, line_of(n), MMSP_E_INVALID, field,
                    "%s is out of range (%" PRId64 "..%" PRId64 ")", show(v, tmp), min, max);
    }
    *out = x;
    return MMSP_OK;
}

/* A list of integers in [min, max], at most maxn of them, into out[] (caller's space). */
static mmsp_err read_int_list(struct pctx *p, const yaml_node_t *n, const char *field, int64_t min,
                              int64_t max, size_t maxn, int64_t *out, size_t *count)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "expected a list of integers, found %s",
                    node_kind(n));
    size_t k = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (k > maxn)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "more than %zu entries", maxn);
    for (size_t i = 0; i < k; i++) {
        char f[160];
        if (snprintf(f, sizeof f, "%s[%zu]", field, i) >= (int)sizeof f)
            f[sizeof f - 1] = '\0'; /* message text only: cut */
        yaml_node_t *it = yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
        mmsp_err rc = it ? read_int(p, it, f, min, max, &out[i]) : MMSP_E_PARSE;
        if (rc)
            return rc;
    }
    *count = k;
    return MMSP_OK;
}

/* Same, into a new malloc'd array (NULL when empty). */
static mmsp_err read_int_array(struct pctx *p, const yaml_node_t *n, const char *field, int64_t min,
                               int64_t max, int64_t **out, size_t *count)
{
    int64_t *a = malloc(MODEL_CONFIG_MAX_LIST * sizeof *a);
    size_t k = 0;
    if (!a)
        return MMSP_E_NOMEM;
    mmsp_err rc = read_int_list(p, n, field, min, max, MODEL_CONFIG_MAX_LIST, a, &k);
    if (rc || k == 0) {
        free(a);
        a = NULL;
    }
    if (!rc) {
        free(*out);
        *out = a;
        *count = k;
    }
    return rc;
}

/* ---- mappings ---- */

/*
 * Walks a mapping, calling on_key for every key; unknown keys (on_key returns
 * MMSP_E_NOT_FOUND) and duplicates are errors naming the key. `field` is the mapping's own
 * path ("" at the top).
 */
typedef mmsp_err (*key_fn)(struct pctx *p, void *obj, const char *key, const yaml_node_t *value,
                           const char *field);

static mmsp_err walk_mapping(struct pctx *p, const yaml_node_t *n, const char *field, key_fn on_key,
                             void *obj)
{
    char tmp[72], sub[200];
    if (n->type != YAML_MAPPING_NODE)
        return fail(p, line_of(n), MMSP_E_INVALID, *field ? field : "config",
                    "expected a mapping, found %s", node_kind(n));
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        if (!k || !v)
            return fail(p, line_of(n), MMSP_E_PARSE, *field ? field : "config", "broken node");
        if (k->type != YAML_SCALAR_NODE ||
            strlen((const char *)k->data.scalar.value) != k->data.scalar.length)
            return fail(p, line_of(k), MMSP_E_INVALID, *field ? field : "config",
                        "keys must be plain strings");
        const char *key = (const char *)k->data.scalar.value;
        /* A field path only names the place in messages: a long one is cut, never overrun. */
        if (snprintf(sub, sizeof sub, "%s%s%s", field, *field ? "." : "", key) >= (int)sizeof sub)
            sub[sizeof sub - 1] = '\0';
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < pr; q++) {
            yaml_node_t *qk = yaml_document_get_node(p->doc, q->key);
            if (qk && qk->type == YAML_SCALAR_NODE &&
                strcmp((const char *)qk->data.scalar.value, key) == 0)
                return fail(p, line_of(k), MMSP_E_INVALID, sub, "duplicate key");
        }
        mmsp_err rc = on_key(p, obj, key, v, sub);
        if (rc == MMSP_E_NOT_FOUND)
            return fail(p, line_of(k), MMSP_E_INVALID, sub, "unknown key '%s'", show(key, tmp));
        if (rc)
            return rc;
    }
    return MMSP_OK;
}

/* ---- inputs / outputs ---- */

struct io_seen {
    struct model_io_config *io;
    int have_name, have_dtype, have_dims;
};

static mmsp_err io_key(struct pctx *p, void *obj, const char *key, const yaml_node_t *v,
                       const char *field)
{
    struct io_seen *s = obj;
    char tmp[72];
    if (!strcmp(key, "name")) {
        s->have_name = 1;
        return read_string(p, v, field, &s->io->name);
    }
    if (!strcmp(key, "datatype") || !strcmp(key, "data_type")) {
        if (s->have_dtype)
            return fail(p, line_of(v), MMSP_E_INVALID, field, "give one of datatype and data_type");
        s->have_dtype = 1;
        if (v->type != YAML_SCALAR_NODE || is_null(v))
            return fail(p, line_of(v), MMSP_E_INVALID, field, "expected a datatype, found %s",
                        is_null(v) ? "null" : node_kind(v));
        const char *t = (const char *)v->data.scalar.value;
        if (mmsp_dtype_parse(t, v->data.scalar.length, &s->io->dtype) != MMSP_OK)
            return fail(p, line_of(v), MMSP_E_INVALID, field,
                        "unknown datatype '%s' (FP32, INT64, ... or TYPE_FP32, ...)", show(t, tmp));
        return MMSP_OK;
    }
    if (!strcmp(key, "dims")) {
        size_t n = 0;
        s->have_dims = 1;
        mmsp_err rc =
            read_int_list(p, v, field, INT32_MIN, INT32_MAX, MMSP_MAX_DIMS, s->io->dims, &n);
        s->io->ndim = (int)n;
        for (size_t i = 0; !rc && i < n; i++)
            if (s->io->dims[i] < -1)
                return fail(p, line_of(v), MMSP_E_INVALID, field,
                            "dims[%zu] is %" PRId64 "; a dim is -1 (any size) or >= 0", i,
                            s->io->dims[i]);
        return rc;
    }
    return MMSP_E_NOT_FOUND;
}

static mmsp_err read_io_list(struct pctx *p, const yaml_node_t *n, const char *field,
                             struct model_io_config **out, size_t *count)
{
    if (*out)
        return fail(p, line_of(n), MMSP_E_INVALID, field,
                    "given twice (input/inputs or output/outputs)");
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "expected a list, found %s",
                    node_kind(n));
    size_t k = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (k > MODEL_CONFIG_MAX_IO)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "more than %d entries",
                    MODEL_CONFIG_MAX_IO);
    if (k == 0)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "is empty (leave it out instead)");
    struct model_io_config *io = calloc(k, sizeof *io);
    if (!io)
        return MMSP_E_NOMEM;
    /* owned by the config from here, so release frees what was read before an error */
    *out = io;
    *count = k;
    for (size_t i = 0; i < k; i++) {
        char f[160];
        if (snprintf(f, sizeof f, "%s[%zu]", field, i) >= (int)sizeof f)
            f[sizeof f - 1] = '\0'; /* message text only: cut */
        yaml_node_t *it = yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
        if (!it)
            return fail(p, line_of(n), MMSP_E_PARSE, f, "broken node");
        struct io_seen s = {.io = &io[i]};
        mmsp_err rc = walk_mapping(p, it, f, io_key, &s);
        if (rc)
            return rc;
        const char *missing = !s.have_name    ? "name"
                              : !s.have_dtype ? "datatype"
                              : !s.have_dims  ? "dims"
                                              : NULL;
        if (missing)
            return fail(p, line_of(it), MMSP_E_INVALID, f, "%s is required", missing);
        for (size_t j = 0; j < i; j++)
            if (strcmp(io[j].name, io[i].name) == 0)
                return fail(p, line_of(it), MMSP_E_INVALID, f, "name '%s' appears twice",
                            show(io[i].name, (char[72]){0}));
    }
    return MMSP_OK;
}

/* ---- sections ---- */

static mmsp_err batching_key(struct pctx *p, void *obj, const char *key, const yaml_node_t *v,
                             const char *field)
{
    struct model_config *c = obj;
    if (!strcmp(key, "max_queue_delay_microseconds") || !strcmp(key, "max_queue_delay_us"))
        return read_int(p, v, field, 0, 60LL * 1000 * 1000, &c->max_queue_delay_us);
    if (!strcmp(key, "preferred_batch_size")) {
        p->line_preferred = line_of(v);
        return read_int_array(p, v, field, 1, INT32_MAX, &c->preferred_batch_sizes,
                              &c->n_preferred_batch_sizes);
    }
    return MMSP_E_NOT_FOUND;
}

struct group_seen {
    int64_t count;
};

static mmsp_err group_key(struct pctx *p, void *obj, const char *key, const yaml_node_t *v,
                          const char *field)
{
    struct group_seen *g = obj;
    char tmp[72];
    if (!strcmp(key, "count"))
        return read_int(p, v, field, 1, 1024, &g->count);
    if (!strcmp(key, "kind")) {
        if (v->type != YAML_SCALAR_NODE || is_null(v))
            return fail(p, line_of(v), MMSP_E_INVALID, field, "expected a kind, found %s",
                        is_null(v) ? "null" : node_kind(v));
        const char *k = (const char *)v->data.scalar.value;
        if (!strcmp(k, "KIND_CPU") || !strcmp(k, "KIND_AUTO"))
            return MMSP_OK;
        if (!strcmp(k, "KIND_GPU") || !strcmp(k, "KIND_MODEL"))
            return fail(p, line_of(v), MMSP_E_INVALID, field,
                        "%s is not supported (mmsp runs models on the CPU)", k);
        return fail(p, line_of(v), MMSP_E_INVALID, field,
                    "unknown kind '%s' (KIND_CPU or KIND_AUTO)", show(k, tmp));
    }
    return MMSP_E_NOT_FOUND;
}

static mmsp_err read_instance_group(struct pctx *p, const yaml_node_t *n, const char *field,
                                    struct model_config *c)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "expected a list, found %s",
                    node_kind(n));
    size_t k = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (k > 64)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "more than 64 groups");
    int64_t total = 0;
    for (size_t i = 0; i < k; i++) {
        char f[160];
        if (snprintf(f, sizeof f, "%s[%zu]", field, i) >= (int)sizeof f)
            f[sizeof f - 1] = '\0'; /* message text only: cut */
        yaml_node_t *it = yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
        if (!it)
            return fail(p, line_of(n), MMSP_E_PARSE, f, "broken node");
        struct group_seen g = {.count = 1};
        mmsp_err rc = walk_mapping(p, it, f, group_key, &g);
        if (rc)
            return rc;
        total += g.count;
    }
    if (total > 1024)
        return fail(p, line_of(n), MMSP_E_INVALID, field, "more than 1024 instances in all");
    c->instance_count = k ? (int)total : 1;
    return MMSP_OK;
}

static mmsp_err latest_key(struct pctx *p, void *obj, const char *key, const yaml_node_t *v,
                           const char *field)
{
    if (!strcmp(key, "num_versions"))
        return read_int(p, v, field, 1, INT32_MAX,
                        &((struct model_config *)obj)->latest_num_versions);
    return MMSP_E_NOT_FOUND;
}

static mmsp_err specific_key(struct pctx *p, void *obj, const char *key, const yaml_node_t *v,
                             const char *field)
{
    struct model_config *c = obj;
    if (!strcmp(key, "versions")) {
        mmsp_err rc = read_int_array(p, v, field, 1, INT64_MAX, &c->specific_versions,
                                     &c->n_specific_versions);
        if (!rc && c->n_specific_versions == 0)
            return fail(p, line_of(v), MMSP_E_INVALID, field, "lists no version");
        return rc;
    }
    return MMSP_E_NOT_FOUND;
}

static mmsp_err no_key(struct pctx *p, void *obj, const char *key, const yaml_node_t *v,
                       const char *field)
{
    return MMSP_E_NOT_FOUND;
}

static mmsp_err policy_key(struct pctx *p, void *obj, const char *key, const yaml_node_t *v,
                           const char *field)
{
    struct model_config *c = obj;
    key_fn fn;
    if (!strcmp(key, "latest")) {
        c->version_policy = VERSION_POLICY_LATEST;
        fn = latest_key;
    } else if (!strcmp(key, "all")) {
        c->version_policy = VERSION_POLICY_ALL;
        fn = no_key;
    } else if (!strcmp(key, "specific")) {
        c->version_policy = VERSION_POLICY_SPECIFIC;
        fn = specific_key;
        if (is_null(v))
            return fail(p, line_of(v), MMSP_E_INVALID, field, "needs versions: [...]");
    } else {
        return fail(p, line_of(v), MMSP_E_INVALID, field,
                    "unknown version policy (latest, all or specific)");
    }
    if (is_null(v))
        return MMSP_OK;
    mmsp_err rc = walk_mapping(p, v, field, fn, c);
    if (!rc && fn == specific_key && c->n_specific_versions == 0)
        return fail(p, line_of(v), MMSP_E_INVALID, field, "needs versions: [...]");
    return rc;
}

static mmsp_err read_version_policy(struct pctx *p, const yaml_node_t *n, const char *field,
                                    struct model_config *c)
{
    if (n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return fail(p, line_of(n), MMSP_E_INVALID, field,
                    "expected one of {latest: {num_versions: N}}, {all: {}}, "
                    "{specific: {versions: [...]}}");
    return walk_mapping(p, n, field, policy_key, c);
}

/* The backend a backend: or platform: value names, or NULL. */
static const char *backend_of(const char *s, int platform)
{
    if (!platform) {
        if (!strcmp(s, "xgboost"))
            return "xgboost";
        if (!strcmp(s, "onnx") || !strcmp(s, "onnxruntime"))
            return "onnx";
        return NULL;
    }
    if (!strcmp(s, "xgboost_json"))
        return "xgboost";
    if (!strcmp(s, "onnxruntime_onnx") || !strcmp(s, "onnx_onnxv1"))
        return "onnx";
    return NULL;
}

static mmsp_err set_backend(struct pctx *p, struct model_config *c, const yaml_node_t *v,
                            const char *field, int platform)
{
    char *s = NULL, tmp[72];
    mmsp_err rc = read_string(p, v, field, &s);
    if (rc)
        goto out;
    const char *b = backend_of(s, platform);
    if (!b) {
        rc = fail(p, line_of(v), MMSP_E_INVALID, field, "unknown %s '%s' (%s)",
                  platform ? "platform" : "backend", show(s, tmp),
                  platform ? "xgboost_json, onnxruntime_onnx or onnx_onnxv1" : "xgboost or onnx");
        goto out;
    }
    if (c->backend && strcmp(c->backend, b) != 0) {
        rc = fail(p, line_of(v), MMSP_E_INVALID, field, "'%s' disagrees with backend '%s'",
                  show(s, tmp), c->backend);
        goto out;
    }
    if (!c->backend && !(c->backend = strdup(b)))
        rc = MMSP_E_NOMEM;
out:
    free(s);
    return rc;
}

static mmsp_err top_key(struct pctx *p, void *obj, const char *key, const yaml_node_t *v,
                        const char *field)
{
    struct model_config *c = obj;
    if (!strcmp(key, "name")) {
        p->line_name = line_of(v);
        return read_string(p, v, field, &c->name);
    }
    if (!strcmp(key, "backend"))
        return set_backend(p, c, v, field, 0);
    if (!strcmp(key, "platform"))
        return set_backend(p, c, v, field, 1);
    if (!strcmp(key, "max_batch_size")) {
        p->line_max_batch = line_of(v);
        c->max_batch_size_set = 1;
        return read_int(p, v, field, 0, INT32_MAX, &c->max_batch_size);
    }
    if (!strcmp(key, "input") || !strcmp(key, "inputs"))
        return read_io_list(p, v, field, &c->inputs, &c->n_inputs);
    if (!strcmp(key, "output") || !strcmp(key, "outputs"))
        return read_io_list(p, v, field, &c->outputs, &c->n_outputs);
    if (!strcmp(key, "dynamic_batching")) {
        p->line_dynamic = line_of(v);
        c->dynamic_batching = 1;
        return is_null(v) ? MMSP_OK : walk_mapping(p, v, field, batching_key, c);
    }
    if (!strcmp(key, "instance_group"))
        return read_instance_group(p, v, field, c);
    if (!strcmp(key, "version_policy"))
        return read_version_policy(p, v, field, c);
    if (!strcmp(key, "default_model_filename")) {
        mmsp_err rc = read_string(p, v, field, &c->default_model_filename);
        const char *f = c->default_model_filename;
        if (!rc && (strchr(f, '/') || strchr(f, '\\') || !strcmp(f, ".") || !strcmp(f, "..")))
            return fail(p, line_of(v), MMSP_E_INVALID, field,
                        "must be a file name inside the version directory");
        return rc;
    }
    return MMSP_E_NOT_FOUND;
}

/* Checks that tie fields together, once every key has been read. */
static mmsp_err check_batching(struct pctx *p, const struct model_config *c)
{
    if (!c->max_batch_size_set)
        return MMSP_OK;
    if (c->dynamic_batching && c->max_batch_size == 0)
        return fail(p, p->line_dynamic, MMSP_E_INVALID, "dynamic_batching",
                    "needs max_batch_size > 0");
    for (size_t i = 0; i < c->n_preferred_batch_sizes; i++)
        if (c->preferred_batch_sizes[i] > c->max_batch_size)
            return fail(p, p->line_preferred, MMSP_E_INVALID,
                        "dynamic_batching.preferred_batch_size",
                        "%" PRId64 " is larger than max_batch_size %" PRId64,
                        c->preferred_batch_sizes[i], c->max_batch_size);
    for (int out = 0; out < 2; out++) {
        const struct model_io_config *io = out ? c->outputs : c->inputs;
        size_t n = out ? c->n_outputs : c->n_inputs;
        for (size_t i = 0; i < n; i++)
            if (c->max_batch_size > 0 && io[i].ndim >= MMSP_MAX_DIMS)
                return fail(p, p->line_max_batch, MMSP_E_INVALID, "max_batch_size",
                            "%s[%zu] has %d dims; with the batch dim that is more than %d",
                            out ? "output" : "input", i, io[i].ndim, MMSP_MAX_DIMS);
    }
    return MMSP_OK;
}

mmsp_err model_config_parse(const char *yaml, size_t len, const char *path, const char *model_name,
                            struct model_config *out, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    int parser_ok = 0, doc_ok = 0;
    char tmp[72], tmp2[72];
    struct pctx p = {
        .path = path ? path : "config.yaml", .doc = &doc, .err = err, .errlen = errlen};
    mmsp_err rc = MMSP_OK;

    model_config_init(out);
    if (err && errlen)
        err[0] = '\0';
    if (len > MODEL_CONFIG_MAX_BYTES) {
        rc =
            fail(&p, 0, MMSP_E_TOO_LARGE, "config", "larger than %d bytes", MODEL_CONFIG_MAX_BYTES);
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    parser_ok = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        if (parser.context)
            rc = fail(&p, parser.problem_mark.line + 1, MMSP_E_PARSE, "yaml",
                      "%s %s (from line %zu)", parser.problem ? parser.problem : "malformed YAML",
                      parser.context, parser.context_mark.line + 1);
        else
            rc = fail(&p, parser.problem_mark.line + 1, MMSP_E_PARSE, "yaml", "%s",
                      parser.problem ? parser.problem : "malformed YAML");
        goto out;
    }
    doc_ok = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) {
        /* a second document in the same file is a mistake, not something to ignore */
        if (!yaml_parser_load(&parser, &extra)) {
            rc = fail(&p, parser.problem_mark.line + 1, MMSP_E_PARSE, "yaml", "%s",
                      parser.problem ? parser.problem : "malformed YAML");
            goto out;
        }
        int more = yaml_document_get_root_node(&extra) != NULL;
        size_t line = extra.start_mark.line + 1;
        yaml_document_delete(&extra);
        if (more) {
            rc = fail(&p, line, MMSP_E_PARSE, "yaml", "more than one YAML document");
            goto out;
        }
        if (!is_null(root) && (rc = walk_mapping(&p, root, "", top_key, out)))
            goto out;
    }
    if ((rc = check_batching(&p, out)))
        goto out;
    if (out->name && model_name && strcmp(out->name, model_name) != 0) {
        rc = fail(&p, p.line_name, MMSP_E_INVALID, "name",
                  "'%s' does not match the directory name '%s'", show(out->name, tmp),
                  show(model_name, tmp2));
        goto out;
    }
    if (!out->name && model_name && !(out->name = strdup(model_name)))
        rc = MMSP_E_NOMEM;
out:
    if (doc_ok)
        yaml_document_delete(&doc);
    if (parser_ok)
        yaml_parser_delete(&parser);
    if (rc)
        model_config_release(out);
    return rc;
}

mmsp_err model_config_load(const char *path, const char *model_name, struct model_config *out,
                           char *err, size_t errlen)
{
    struct buf b;
    mmsp_err rc = MMSP_OK;
    FILE *f = NULL;
    buf_init(&b, MODEL_CONFIG_MAX_BYTES);
    model_config_init(out);
    f = fopen(path, "rb");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        rc = MMSP_E_IO;
        goto out;
    }
    for (;;) {
        char chunk[8192];
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n && (rc = buf_append(&b, chunk, n))) {
            if (rc == MMSP_E_TOO_LARGE && err && errlen)
                snprintf(err, errlen, "%s: larger than %d bytes", path, MODEL_CONFIG_MAX_BYTES);
            goto out;
        }
        if (n < sizeof chunk) {
            if (ferror(f)) {
                if (err && errlen)
                    snprintf(err, errlen, "%s: read error", path);
                rc = MMSP_E_IO;
                goto out;
            }
            break;
        }
    }
    rc = model_config_parse(b.data ? b.data : "", b.len, path, model_name, out, err, errlen);
out:
    if (f)
        fclose(f);
    buf_release(&b);
    return rc;
}

/* ---- completion against a loaded model ---- */

/* Writes "<name>: field: message" into err and returns MMSP_E_INVALID. */
static mmsp_err complete_fail(const struct model_config *c, char *err, size_t errlen,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static mmsp_err complete_fail(const struct model_config *c, char *err, size_t errlen,
                              const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "%s: ", c->name ? c->name : "model config");
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return MMSP_E_INVALID;
}

/* "[-1, 4]" into out. */
static const char *dims_str(const int64_t *dims, int ndim, char out[200])
{
    size_t o = 0;
    o += (size_t)snprintf(out, 200, "[");
    for (int i = 0; i < ndim && o < 180; i++)
        o += (size_t)snprintf(out + o, 200 - o, "%s%" PRId64, i ? ", " : "", dims[i]);
    snprintf(out + o, 200 - o, "]");
    return out;
}

/*
 * Does the config's shape fit the model's? Dims of size 1 are dropped from both first, so
 * [1] describes a per-row scalar [] (Triton configs write it so); then the ranks must agree
 * and every dim equal the model's, or anything where the model says -1.
 */
static int dims_agree(const int64_t *cfg, int ncfg, const int64_t *model, int nmodel)
{
    int64_t a[MMSP_MAX_DIMS], b[MMSP_MAX_DIMS];
    int na = 0, nb = 0;
    for (int i = 0; i < ncfg; i++)
        if (cfg[i] != 1)
            a[na++] = cfg[i];
    for (int i = 0; i < nmodel; i++)
        if (model[i] != 1)
            b[nb++] = model[i];
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (b[i] != -1 && a[i] != b[i])
            return 0;
    return 1;
}

static const mmsp_io_info *model_io_find(const mmsp_model *m, int output, const char *name)
{
    size_t n = output ? mmsp_model_output_count(m) : mmsp_model_input_count(m);
    for (size_t i = 0; i < n; i++) {
        const mmsp_io_info *io = output ? mmsp_model_output(m, i) : mmsp_model_input(m, i);
        if (io && io->name && strcmp(io->name, name) == 0)
            return io;
    }
    return NULL;
}

/* The config's view of a model tensor: without the batch dim when batching. */
static void io_from_model(const mmsp_io_info *mi, int batching, struct model_io_config *io)
{
    int skip = batching && mi->ndim > 0 ? 1 : 0;
    io->dtype = mi->dtype;
    io->ndim = mi->ndim - skip;
    for (int d = 0; d < io->ndim; d++)
        io->dims[d] = mi->dims[d + skip];
}

/* Fills (when the config has none) or checks one side, inputs or outputs. */
static mmsp_err complete_side(struct model_config *c, const mmsp_model *m, int output, char *err,
                              size_t errlen)
{
    const char *side = output ? "output" : "input";
    size_t nm = output ? mmsp_model_output_count(m) : mmsp_model_input_count(m);
    struct model_io_config **list = output ? &c->outputs : &c->inputs;
    size_t *n = output ? &c->n_outputs : &c->n_inputs;
    int batching = c->max_batch_size > 0;
    char a[200], b[200];

    if (*n == 0) {
        if (nm == 0)
            return MMSP_OK;
        if (nm > MODEL_CONFIG_MAX_IO)
            return complete_fail(c, err, errlen, "%s: the model has more than %d", side,
                                 MODEL_CONFIG_MAX_IO);
        struct model_io_config *io = calloc(nm, sizeof *io);
        if (!io)
            return MMSP_E_NOMEM;
        for (size_t i = 0; i < nm; i++) {
            const mmsp_io_info *mi = output ? mmsp_model_output(m, i) : mmsp_model_input(m, i);
            if (!mi || !mi->name || !(io[i].name = strdup(mi->name))) {
                io_list_free(io, nm);
                return mi && mi->name ? MMSP_E_NOMEM : MMSP_E_INTERNAL;
            }
            io_from_model(mi, batching, &io[i]);
        }
        *list = io;
        *n = nm;
        return MMSP_OK;
    }
    if (!output && *n != nm)
        return complete_fail(c, err, errlen, "input: the config lists %zu, the model has %zu", *n,
                             nm);
    for (size_t i = 0; i < *n; i++) {
        struct model_io_config *io = &(*list)[i];
        const mmsp_io_info *mi = model_io_find(m, output, io->name);
        if (!mi)
            return complete_fail(c, err, errlen, "%s[%zu].name: the model has no %s '%s'", side, i,
                                 side, show(io->name, a));
        if (mi->dtype != io->dtype)
            return complete_fail(c, err, errlen,
                                 "%s[%zu].datatype: the config says %s, the model has %s", side, i,
                                 mmsp_dtype_name(io->dtype), mmsp_dtype_name(mi->dtype));
        struct model_io_config want;
        io_from_model(mi, batching, &want);
        if (!dims_agree(io->dims, io->ndim, want.dims, want.ndim))
            return complete_fail(c, err, errlen,
                                 "%s[%zu].dims: the config says %s, the model has %s%s", side, i,
                                 dims_str(io->dims, io->ndim, a), dims_str(want.dims, want.ndim, b),
                                 batching ? " (without the batch dim, as max_batch_size > 0)"
                                          : " (the full shape, as max_batch_size is 0)");
    }
    return MMSP_OK;
}

mmsp_err model_config_complete(struct model_config *c, const mmsp_model *m, char *err,
                               size_t errlen)
{
    const mmsp_model_info *info = mmsp_model_get_info(m);
    mmsp_err rc = MMSP_OK;
    char a[72];
    if (err && errlen)
        err[0] = '\0';
    if (!info)
        return complete_fail(c, err, errlen, "the model has no info");
    if (info->backend && c->backend && strcmp(info->backend, c->backend) != 0)
        return complete_fail(c, err, errlen, "backend: the config says %s, the model is %s",
                             c->backend, show(info->backend, a));
    if (!c->backend && info->backend && !(c->backend = strdup(info->backend)))
        return MMSP_E_NOMEM;

    /* batchable: every input has a variable first dim */
    size_t nin = mmsp_model_input_count(m);
    int batchable = nin > 0;
    for (size_t i = 0; i < nin; i++) {
        const mmsp_io_info *mi = mmsp_model_input(m, i);
        if (!mi || mi->ndim < 1 || mi->dims[0] != -1)
            batchable = 0;
    }
    if (!c->max_batch_size_set)
        c->max_batch_size = batchable ? MODEL_CONFIG_DEFAULT_BATCH_SIZE : 0;
    else if (c->max_batch_size > 0 && !batchable)
        return complete_fail(c, err, errlen,
                             "max_batch_size: %" PRId64
                             " needs a variable first dim (-1) on every model input; use 0",
                             c->max_batch_size);
    if (c->dynamic_batching && c->max_batch_size == 0)
        return complete_fail(c, err, errlen, "dynamic_batching: needs max_batch_size > 0");
    for (size_t i = 0; i < c->n_preferred_batch_sizes; i++)
        if (c->preferred_batch_sizes[i] > c->max_batch_size)
            return complete_fail(c, err, errlen,
                                 "dynamic_batching.preferred_batch_size: %" PRId64
                                 " is larger than max_batch_size %" PRId64,
                                 c->preferred_batch_sizes[i], c->max_batch_size);
    if ((rc = complete_side(c, m, 0, err, errlen)))
        return rc;
    return complete_side(c, m, 1, err, errlen);
}

/* ---- versions ---- */

int model_config_version_selected(const struct model_config *c, int64_t version,
                                  const int64_t *all_versions, size_t n_all)
{
    int on_disk = 0;
    size_t newer = 0;
    for (size_t i = 0; i < n_all; i++) {
        on_disk |= all_versions[i] == version;
        newer += all_versions[i] > version;
    }
    if (!on_disk)
        return 0;
    switch (c->version_policy) {
    case VERSION_POLICY_ALL:
        return 1;
    case VERSION_POLICY_SPECIFIC:
        for (size_t i = 0; i < c->n_specific_versions; i++)
            if (c->specific_versions[i] == version)
                return 1;
        return 0;
    case VERSION_POLICY_LATEST:
    default:
        return (int64_t)newer < c->latest_num_versions;
    }
}

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int io_list_eq(const struct model_io_config *a, size_t na, const struct model_io_config *b,
                      size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        if (!str_eq(a[i].name, b[i].name) || a[i].dtype != b[i].dtype || a[i].ndim != b[i].ndim)
            return 0;
        for (int d = 0; d < a[i].ndim && d < MMSP_MAX_DIMS; d++)
            if (a[i].dims[d] != b[i].dims[d])
                return 0;
    }
    return 1;
}

int model_config_same_serving(const struct model_config *a, const struct model_config *b)
{
    if (!str_eq(a->name, b->name) || !str_eq(a->backend, b->backend) ||
        !str_eq(a->default_model_filename, b->default_model_filename) ||
        a->max_batch_size != b->max_batch_size || a->max_batch_size_set != b->max_batch_size_set ||
        a->dynamic_batching != b->dynamic_batching ||
        a->max_queue_delay_us != b->max_queue_delay_us || a->instance_count != b->instance_count ||
        a->n_preferred_batch_sizes != b->n_preferred_batch_sizes)
        return 0;
    for (size_t i = 0; i < a->n_preferred_batch_sizes; i++)
        if (a->preferred_batch_sizes[i] != b->preferred_batch_sizes[i])
            return 0;
    return io_list_eq(a->inputs, a->n_inputs, b->inputs, b->n_inputs) &&
           io_list_eq(a->outputs, a->n_outputs, b->outputs, b->n_outputs);
}

/* ---- JSON ---- */

/* Adds key: value to obj, taking the reference to value; -1 when value is NULL or on failure. */
static int put(json_t *obj, const char *key, json_t *value)
{
    return value ? json_object_set_new(obj, key, value) : -1;
}

static json_t *int_array(const int64_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_integer((json_int_t)v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *io_array(const struct model_io_config *io, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        char type[32];
        const char *dn = mmsp_dtype_name(io[i].dtype);
        snprintf(type, sizeof type, "TYPE_%s",
                 io[i].dtype == MMSP_DT_BYTES ? "STRING"
                 : dn                         ? dn
                                              : "INVALID");
        json_t *o = json_object();
        if (!o || put(o, "name", json_string(io[i].name ? io[i].name : "")) ||
            put(o, "data_type", json_string(type)) ||
            put(o, "dims", int_array(io[i].dims, io[i].ndim > 0 ? (size_t)io[i].ndim : 0)) ||
            json_array_append_new(a, o) != 0) {
            json_decref(o);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

mmsp_err model_config_to_json(const struct model_config *c, const char *platform, struct buf *out)
{
    mmsp_err rc = MMSP_OK;
    json_t *root = json_object(), *dyn = NULL, *group = NULL, *grp = NULL, *policy = NULL;
    json_t *inner = NULL;
    char *text = NULL;
    size_t start = out->len;
    if (!platform)
        platform = !c->backend                      ? ""
                   : !strcmp(c->backend, "xgboost") ? "xgboost_json"
                   : !strcmp(c->backend, "onnx")    ? "onnx_onnxv1"
                                                    : "";
    if (!root)
        goto nomem;
    /* json_string refuses text that is not UTF-8: that is reported as invalid input */
    if (put(root, "name", json_string(c->name ? c->name : "")) ||
        put(root, "platform", json_string(platform)) ||
        put(root, "backend", json_string(c->backend ? c->backend : "")) ||
        put(root, "max_batch_size", json_integer((json_int_t)c->max_batch_size)) ||
        put(root, "input", io_array(c->inputs, c->n_inputs)) ||
        put(root, "output", io_array(c->outputs, c->n_outputs))) {
        rc = MMSP_E_INVALID;
        goto out;
    }
    if (c->dynamic_batching) {
        dyn = json_object();
        if (!dyn ||
            put(dyn, "max_queue_delay_microseconds",
                json_integer((json_int_t)c->max_queue_delay_us)) ||
            put(dyn, "preferred_batch_size",
                int_array(c->preferred_batch_sizes, c->n_preferred_batch_sizes)))
            goto nomem;
        if (put(root, "dynamic_batching", dyn)) {
            dyn = NULL;
            goto nomem;
        }
        dyn = NULL;
    }
    group = json_array();
    grp = json_object();
    if (!group || !grp || put(grp, "count", json_integer(c->instance_count)) ||
        put(grp, "kind", json_string("KIND_CPU")) || json_array_append(group, grp) != 0 ||
        put(root, "instance_group", json_incref(group)))
        goto nomem;
    policy = json_object();
    inner = json_object();
    if (!policy || !inner)
        goto nomem;
    switch (c->version_policy) {
    case VERSION_POLICY_ALL:
        if (put(policy, "all", json_incref(inner)))
            goto nomem;
        break;
    case VERSION_POLICY_SPECIFIC:
        if (put(inner, "versions", int_array(c->specific_versions, c->n_specific_versions)) ||
            put(policy, "specific", json_incref(inner)))
            goto nomem;
        break;
    case VERSION_POLICY_LATEST:
    default:
        if (put(inner, "num_versions", json_integer((json_int_t)c->latest_num_versions)) ||
            put(policy, "latest", json_incref(inner)))
            goto nomem;
        break;
    }
    if (put(root, "version_policy", json_incref(policy)) ||
        put(root, "default_model_filename",
            json_string(c->default_model_filename ? c->default_model_filename : "")))
        goto nomem;
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        goto nomem;
    rc = buf_append_str(out, text);
    goto out;
nomem:
    rc = MMSP_E_NOMEM;
out:
    if (rc && out->len > start) {
        out->len = start;
        out->data[start] = '\0';
    }
    free(text);
    json_decref(dyn);
    json_decref(grp);
    json_decref(group);
    json_decref(inner);
    json_decref(policy);
    json_decref(root);
    return rc;
}
