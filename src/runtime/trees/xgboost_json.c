/*
 * The XGBoost back end: reads a model saved as JSON by XGBoost 1.7 (`save_model("m.json")`)
 * with jansson, checks every field it uses against its expected type, range and the limits of
 * forest.h, and hands the trees to the flat evaluator. Implements runtime_xgboost_backend
 * (backend.h). Calls: jansson, trees/forest, libc/libm.
 *
 * Semantics follow libxgboost 1.7: the file's base_score is in the objective's output space
 * (a probability for binary:logistic and reg:logistic; a margin for binary:logitraw and the
 * others), and the starting margin is the objective's ProbToMargin of it, computed in float; trees
 * add in file order (placed by their "id"); tree_info gives each tree's output group; predictions
 * are what XGBoosterPredictFromDense returns. Supported: gbtree booster; binary:logistic,
 * binary:logitraw, reg:squarederror, reg:logistic, multi:softprob, multi:softmax. Refused with a
 * message: dart, gblinear, categorical splits, vector leaves, multi-target models, other
 * objectives.
 */
#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/backend.h"
#include "runtime/trees/forest.h"

struct xgb_model {
    struct forest forest;
    char *objective;      /* owned */
    char **feature_names; /* owned: num_feature strings, or NULL */
    int64_t num_feature;
};

/* Where the parse is, for messages: "<file>: <path>: <what>". */
struct ctx {
    const char *name;
    char *err;
    size_t errlen;
};

static mmsp_err fail(struct ctx *c, mmsp_err rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static mmsp_err fail(struct ctx *c, mmsp_err rc, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "%s: ", c->name);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* obj[key] when it is of type `type`; else NULL and err says what was wrong. */
static json_t *member(struct ctx *c, const json_t *obj, const char *path, const char *key,
                      json_type type, mmsp_err *rc)
{
    json_t *v = json_object_get(obj, key);
    const char *want = type == JSON_OBJECT  ? "an object"
                       : type == JSON_ARRAY ? "an array"
                                            : "a string";
    if (!v) {
        *rc = fail(c, MMSP_E_BAD_MODEL, "%s%s%s: missing", path, *path ? "." : "", key);
        return NULL;
    }
    if (json_typeof(v) != type) {
        *rc = fail(c, MMSP_E_BAD_MODEL, "%s%s%s: expected %s, found %s", path, *path ? "." : "",
                   key, want, type_name(v));
        return NULL;
    }
    return v;
}

/*
 * An integer parameter that XGBoost writes as a string ("30") and that may also be a JSON
 * integer; checked to lie in [lo, hi].
 */
static mmsp_err int_param(struct ctx *c, const json_t *obj, const char *path, const char *key,
                          long long lo, long long hi, int required, long long dflt, long long *out)
{
    json_t *v = json_object_get(obj, key);
    long long x;
    if (!v) {
        if (required)
            return fail(c, MMSP_E_BAD_MODEL, "%s.%s: missing", path, key);
        *out = dflt;
        return MMSP_OK;
    }
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        x = strtoll(s, &end, 10);
        if (end == s || *end != '\0' || errno == ERANGE)
            return fail(c, MMSP_E_BAD_MODEL, "%s.%s: '%.40s' is not an integer", path, key, s);
    } else {
        return fail(c, MMSP_E_BAD_MODEL, "%s.%s: expected an integer, found %s", path, key,
                    type_name(v));
    }
    if (x < lo || x > hi)
        return fail(c, x > hi ? MMSP_E_TOO_LARGE : MMSP_E_BAD_MODEL,
                    "%s.%s: %lld is outside [%lld, %lld]", path, key, x, lo, hi);
    *out = x;
    return MMSP_OK;
}

/* A float parameter written as a string ("5E-1") or a number; must be finite. */
static mmsp_err float_param(struct ctx *c, const json_t *obj, const char *path, const char *key,
                            float dflt, float *out)
{
    json_t *v = json_object_get(obj, key);
    float x;
    if (!v) {
        *out = dflt;
        return MMSP_OK;
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        x = fabs(d) > FLT_MAX ? INFINITY : (float)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        x = strtof(s, &end);
        if (end == s || *end != '\0')
            return fail(c, MMSP_E_BAD_MODEL, "%s.%s: '%.40s' is not a number", path, key, s);
    } else {
        return fail(c, MMSP_E_BAD_MODEL, "%s.%s: expected a number, found %s", path, key,
                    type_name(v));
    }
    if (!isfinite(x))
        return fail(c, MMSP_E_BAD_MODEL, "%s.%s: not a finite float", path, key);
    *out = x;
    return MMSP_OK;
}

struct objective {
    const char *name;
    enum forest_transform transform;
    mmsp_task task;
    int probability;
    int logit_base; /* base_score is a probability: margin = -log(1/p - 1) */
    int multi;
};

static const struct objective objectives[] = {
    {"binary:logistic", FOREST_SIGMOID, MMSP_TASK_BINARY, 1, 1, 0},
    /* libxgboost 1.7's LogisticRaw keeps the identity ProbToMargin: base_score is a margin. */
    {"binary:logitraw", FOREST_IDENTITY, MMSP_TASK_BINARY, 0, 0, 0},
    {"reg:logistic", FOREST_SIGMOID, MMSP_TASK_REGRESSION, 1, 1, 0},
    {"reg:squarederror", FOREST_IDENTITY, MMSP_TASK_REGRESSION, 0, 0, 0},
    {"multi:softprob", FOREST_SOFTMAX, MMSP_TASK_MULTICLASS, 1, 0, 1},
    {"multi:softmax", FOREST_ARGMAX, MMSP_TASK_MULTICLASS, 0, 0, 1},
};

/* Per-tree scratch arrays, grown to the largest tree and reused. */
struct scratch {
    int64_t *left, *right, *feature;
    float *value;
    uint8_t *default_left;
    size_t cap;
};

static mmsp_err scratch_reserve(struct scratch *s, size_t n)
{
    if (n <= s->cap)
        return MMSP_OK;
    int64_t *l = realloc(s->left, n * sizeof *l);
    if (l)
        s->left = l;
    int64_t *r = realloc(s->right, n * sizeof *r);
    if (r)
        s->right = r;
    int64_t *f = realloc(s->feature, n * sizeof *f);
    if (f)
        s->feature = f;
    float *v = realloc(s->value, n * sizeof *v);
    if (v)
        s->value = v;
    uint8_t *d = realloc(s->default_left, n);
    if (d)
        s->default_left = d;
    if (!l || !r || !f || !v || !d)
        return MMSP_E_NOMEM;
    s->cap = n;
    return MMSP_OK;
}

static void scratch_release(struct scratch *s)
{
    free(s->left);
    free(s->right);
    free(s->feature);
    free(s->value);
    free(s->default_left);
}

/* trees[t].<key>: an array of exactly n elements. */
static json_t *node_array(struct ctx *c, const json_t *tree, uint32_t t, const char *key, size_t n,
                          mmsp_err *rc)
{
    char path[64];
    snprintf(path, sizeof path, "trees[%u]", t);
    json_t *a = member(c, tree, path, key, JSON_ARRAY, rc);
    if (a && json_array_size(a) != n) {
        *rc = fail(c, MMSP_E_BAD_MODEL, "trees[%u].%s: %zu entries, but num_nodes is %zu", t, key,
                   json_array_size(a), n);
        return NULL;
    }
    return a;
}

/* Reads integer array a (n entries) into out; entries must be integers in [lo, hi]. */
static mmsp_err int_array(struct ctx *c, const json_t *a, uint32_t t, const char *key, long long lo,
                          long long hi, int64_t *out)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        long long x;
        if (json_is_integer(v))
            x = json_integer_value(v);
        else if (json_is_boolean(v))
            x = json_is_true(v);
        else
            return fail(c, MMSP_E_BAD_MODEL, "trees[%u].%s[%zu]: expected an integer, found %s", t,
                        key, i, type_name(v));
        if (x < lo || x > hi)
            return fail(c, MMSP_E_BAD_MODEL, "trees[%u].%s[%zu]: %lld is outside [%lld, %lld]", t,
                        key, i, x, lo, hi);
        out[i] = x;
    }
    return MMSP_OK;
}

static mmsp_err load_tree(struct ctx *c, struct forest *f, struct scratch *s, const json_t *tree,
                          uint32_t t, uint32_t group)
{
    mmsp_err rc = MMSP_OK;
    char path[64];
    long long n, id, leaf_vec;
    json_t *a, *v;
    size_t i;

    snprintf(path, sizeof path, "trees[%u]", t);
    if (!json_is_object(tree))
        return fail(c, MMSP_E_BAD_MODEL, "%s: expected an object, found %s", path, type_name(tree));
    rc = int_param(c, tree, path, "id", 0, FOREST_MAX_TREES, 1, 0, &id);
    if (rc)
        return rc;
    if (id != t)
        return fail(c, MMSP_E_BAD_MODEL, "%s: id %lld does not match its position", path, id);
    json_t *tp = member(c, tree, path, "tree_param", JSON_OBJECT, &rc);
    if (!tp)
        return rc;
    snprintf(path, sizeof path, "trees[%u].tree_param", t);
    rc = int_param(c, tp, path, "num_nodes", 1, FOREST_MAX_TREE_NODES, 1, 0, &n);
    if (!rc)
        rc = int_param(c, tp, path, "size_leaf_vector", 0, 1 << 20, 0, 0, &leaf_vec);
    if (rc)
        return rc;
    if (leaf_vec > 1)
        return fail(c, MMSP_E_UNSUPPORTED,
                    "%s.size_leaf_vector: vector leaves (multi-target "
                    "trees) are not supported",
                    path);
    if (scratch_reserve(s, (size_t)n))
        return fail(c, MMSP_E_NOMEM, "out of memory");

    /* Categorical splits: split_type 1 anywhere, or category lists, are refused. */
    a = json_object_get(tree, "split_type");
    if (a) {
        if (!(a = node_array(c, tree, t, "split_type", (size_t)n, &rc)))
            return rc;
        json_array_foreach(a, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) != 0)
                return fail(c, MMSP_E_UNSUPPORTED,
                            "trees[%u].split_type[%zu]: categorical "
                            "splits are not supported",
                            t, i);
        }
    }
    a = json_object_get(tree, "categories_nodes");
    if (a && (!json_is_array(a) || json_array_size(a) != 0))
        return fail(c, MMSP_E_UNSUPPORTED,
                    "trees[%u].categories_nodes: categorical splits are not supported", t);

    if (!(a = node_array(c, tree, t, "left_children", (size_t)n, &rc)) ||
        (rc = int_array(c, a, t, "left_children", -1, n - 1, s->left)))
        return rc;
    if (!(a = node_array(c, tree, t, "right_children", (size_t)n, &rc)) ||
        (rc = int_array(c, a, t, "right_children", -1, n - 1, s->right)))
        return rc;
    if (!(a = node_array(c, tree, t, "split_indices", (size_t)n, &rc)) ||
        (rc = int_array(c, a, t, "split_indices", 0, FOREST_FEATURE_MASK, s->feature)))
        return rc;
    if (!(a = node_array(c, tree, t, "default_left", (size_t)n, &rc)))
        return rc;
    json_array_foreach(a, i, v)
    {
        if (json_is_boolean(v))
            s->default_left[i] = json_is_true(v);
        else if (json_is_integer(v) && (json_integer_value(v) & ~1LL) == 0)
            s->default_left[i] = (uint8_t)json_integer_value(v);
        else
            return fail(c, MMSP_E_BAD_MODEL, "trees[%u].default_left[%zu]: expected 0 or 1", t, i);
    }
    if (!(a = node_array(c, tree, t, "split_conditions", (size_t)n, &rc)))
        return rc;
    json_array_foreach(a, i, v)
    {
        if (!json_is_number(v))
            return fail(c, MMSP_E_BAD_MODEL,
                        "trees[%u].split_conditions[%zu]: expected a number, found %s", t, i,
                        type_name(v));
        double d = json_number_value(v);
        /* Out of float range: an infinite threshold still splits sensibly; a leaf is refused
         * by the forest builder (not finite). */
        s->value[i] = fabs(d) > FLT_MAX ? (d > 0 ? INFINITY : -INFINITY) : (float)d;
    }
    char msg[MMSP_ERRMSG_MAX];
    rc = trees_forest_add_tree(f, group, (uint32_t)n, s->left, s->right, s->feature, s->value,
                               s->default_left, msg, sizeof msg);
    if (rc)
        return fail(c, rc, "trees[%u]: %s", t, msg);
    return MMSP_OK;
}

static void model_free(struct xgb_model *xm)
{
    if (!xm)
        return;
    trees_forest_release(&xm->forest);
    free(xm->objective);
    if (xm->feature_names)
        for (int64_t i = 0; i < xm->num_feature; i++)
            free(xm->feature_names[i]);
    free(xm->feature_names);
    free(xm);
}

static mmsp_err load_feature_names(struct ctx *c, struct xgb_model *xm, const json_t *learner)
{
    json_t *a = json_object_get(learner, "feature_names"), *v;
    size_t i;
    if (!a || (json_is_array(a) && json_array_size(a) == 0))
        return MMSP_OK;
    if (!json_is_array(a))
        return fail(c, MMSP_E_BAD_MODEL, "learner.feature_names: expected an array, found %s",
                    type_name(a));
    if ((int64_t)json_array_size(a) != xm->num_feature)
        return fail(c, MMSP_E_BAD_MODEL, "learner.feature_names: %zu names, num_feature is %lld",
                    json_array_size(a), (long long)xm->num_feature);
    xm->feature_names = calloc((size_t)xm->num_feature, sizeof *xm->feature_names);
    if (!xm->feature_names)
        return fail(c, MMSP_E_NOMEM, "out of memory");
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return fail(c, MMSP_E_BAD_MODEL, "learner.feature_names[%zu]: expected a string", i);
        xm->feature_names[i] = strdup(json_string_value(v));
        if (!xm->feature_names[i])
            return fail(c, MMSP_E_NOMEM, "out of memory");
    }
    return MMSP_OK;
}

static mmsp_err parse_model(struct ctx *c, const json_t *root, struct xgb_model *xm,
                            const struct objective **obj_out)
{
    mmsp_err rc = MMSP_OK;
    const struct objective *obj = NULL;
    struct scratch s = {0};
    long long num_feature, num_class, num_target, num_trees, parallel, leaf_vec;
    float base_score = 0.5f, base_margin;
    json_t *learner, *lmp, *objective, *gb, *model, *gtp, *tree_info, *trees;
    const char *name;

    if (!json_is_object(root)) {
        rc = fail(c, MMSP_E_BAD_MODEL, "top level: expected an object, found %s", type_name(root));
        goto out;
    }
    if (!(learner = member(c, root, "", "learner", JSON_OBJECT, &rc)) ||
        !(lmp = member(c, learner, "learner", "learner_model_param", JSON_OBJECT, &rc)) ||
        !(objective = member(c, learner, "learner", "objective", JSON_OBJECT, &rc)) ||
        !(gb = member(c, learner, "learner", "gradient_booster", JSON_OBJECT, &rc)))
        goto out;

    const char *p = "learner.learner_model_param";
    if ((rc = int_param(c, lmp, p, "num_feature", 1, FOREST_MAX_FEATURES, 1, 0, &num_feature)) ||
        (rc = int_param(c, lmp, p, "num_class", 0, FOREST_MAX_GROUPS, 0, 0, &num_class)) ||
        (rc = int_param(c, lmp, p, "num_target", 0, 1 << 20, 0, 1, &num_target)) ||
        (rc = float_param(c, lmp, p, "base_score", 0.5f, &base_score)))
        goto out;
    if (num_target > 1) {
        rc = fail(c, MMSP_E_UNSUPPORTED,
                  "%s.num_target: %lld targets; multi-target models are "
                  "not supported",
                  p, num_target);
        goto out;
    }

    json_t *oname = member(c, objective, "learner.objective", "name", JSON_STRING, &rc);
    if (!oname)
        goto out;
    name = json_string_value(oname);
    for (size_t i = 0; i < sizeof objectives / sizeof objectives[0]; i++)
        if (strcmp(objectives[i].name, name) == 0)
            obj = &objectives[i];
    if (!obj) {
        rc = fail(c, MMSP_E_UNSUPPORTED,
                  "learner.objective.name: objective '%.64s' is not "
                  "supported (binary:logistic, binary:logitraw, reg:squarederror, reg:logistic, "
                  "multi:softprob, multi:softmax are)",
                  name);
        goto out;
    }
    if (obj->multi && num_class < 2) {
        rc = fail(c, MMSP_E_BAD_MODEL, "%s.num_class: %lld, but %s needs at least 2 classes", p,
                  num_class, obj->name);
        goto out;
    }
    if (!obj->multi && num_class > 1) {
        rc = fail(c, MMSP_E_BAD_MODEL, "%s.num_class: %lld, but %s has one output", p, num_class,
                  obj->name);
        goto out;
    }
    base_margin = base_score;
    if (obj->logit_base) {
        if (!(base_score > 0.0f && base_score < 1.0f)) {
            rc = fail(c, MMSP_E_BAD_MODEL, "%s.base_score: %g must be in (0, 1) for %s", p,
                      (double)base_score, obj->name);
            goto out;
        }
        base_margin = -logf(1.0f / base_score - 1.0f); /* ProbToMargin, in float as 1.7 */
    }

    json_t *gbname = member(c, gb, "learner.gradient_booster", "name", JSON_STRING, &rc);
    if (!gbname)
        goto out;
    name = json_string_value(gbname);
    if (strcmp(name, "dart") == 0 || strcmp(name, "gblinear") == 0) {
        rc = fail(c, MMSP_E_UNSUPPORTED,
                  "learner.gradient_booster.name: the %s booster is not "
                  "supported (only gbtree)",
                  name);
        goto out;
    }
    if (strcmp(name, "gbtree") != 0) {
        rc = fail(c, MMSP_E_BAD_MODEL, "learner.gradient_booster.name: unknown booster '%.64s'",
                  name);
        goto out;
    }
    p = "learner.gradient_booster.model";
    if (!(model = member(c, gb, "learner.gradient_booster", "model", JSON_OBJECT, &rc)) ||
        !(gtp = member(c, model, p, "gbtree_model_param", JSON_OBJECT, &rc)) ||
        !(tree_info = member(c, model, p, "tree_info", JSON_ARRAY, &rc)) ||
        !(trees = member(c, model, p, "trees", JSON_ARRAY, &rc)))
        goto out;
    p = "learner.gradient_booster.model.gbtree_model_param";
    if ((rc = int_param(c, gtp, p, "num_trees", 0, FOREST_MAX_TREES, 1, 0, &num_trees)) ||
        (rc = int_param(c, gtp, p, "num_parallel_tree", 1, FOREST_MAX_TREES, 0, 1, &parallel)) ||
        (rc = int_param(c, gtp, p, "size_leaf_vector", 0, 1 << 20, 0, 0, &leaf_vec)))
        goto out;
    if (leaf_vec > 1) {
        rc = fail(c, MMSP_E_UNSUPPORTED, "%s.size_leaf_vector: vector leaves are not supported", p);
        goto out;
    }
    if ((long long)json_array_size(trees) != num_trees ||
        (long long)json_array_size(tree_info) != num_trees) {
        rc = fail(c, MMSP_E_BAD_MODEL,
                  "%s.num_trees is %lld, but there are %zu trees and %zu "
                  "tree_info entries",
                  p, num_trees, json_array_size(trees), json_array_size(tree_info));
        goto out;
    }

    uint32_t num_group = obj->multi ? (uint32_t)num_class : 1;
    xm->num_feature = num_feature;
    trees_forest_init(&xm->forest, num_feature, num_group, base_margin, obj->transform);
    for (uint32_t t = 0; t < (uint32_t)num_trees; t++) {
        json_t *g = json_array_get(tree_info, t);
        if (!json_is_integer(g) || json_integer_value(g) < 0 ||
            json_integer_value(g) >= (json_int_t)num_group) {
            rc = fail(c, MMSP_E_BAD_MODEL,
                      "learner.gradient_booster.model.tree_info[%u]: "
                      "expected an output group in [0, %u)",
                      t, num_group);
            goto out;
        }
        rc = load_tree(c, &xm->forest, &s, json_array_get(trees, t), t,
                       (uint32_t)json_integer_value(g));
        if (rc)
            goto out;
    }
    xm->objective = strdup(obj->name);
    if (!xm->objective) {
        rc = fail(c, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    rc = load_feature_names(c, xm, learner);
    if (rc)
        goto out;
    *obj_out = obj;
out:
    scratch_release(&s);
    return rc;
}

static int xgb_detect(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) /* UTF-8 BOM */
        i = 3;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i < len && p[i] == '{';
}

static mmsp_err xgb_load(const void *data, size_t len, const char *name, void **state,
                         struct model_desc *desc, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct ctx c = {name ? name : "model", err, errlen};
    struct xgb_model *xm = NULL;
    const struct objective *obj = NULL;
    json_error_t jerr;
    json_t *root = NULL;
    const unsigned char *p = data;

    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        p += 3;
        len -= 3;
    }
    root = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = fail(&c, MMSP_E_PARSE, "not valid JSON (%s at line %d, column %d)", jerr.text,
                  jerr.line, jerr.column);
        goto out;
    }
    xm = calloc(1, sizeof *xm);
    if (!xm) {
        rc = fail(&c, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    rc = parse_model(&c, root, xm, &obj);
    if (rc)
        goto out;

    memset(desc, 0, sizeof *desc);
    desc->info.backend = runtime_xgboost_backend.name;
    desc->info.platform = "xgboost_json";
    desc->info.task = obj->task;
    desc->info.num_class = obj->multi ? (int)xm->forest.num_group : 1;
    desc->info.objective = xm->objective;
    desc->info.output_is_probability = obj->probability;
    desc->info.num_feature = xm->num_feature;
    desc->info.feature_names = (const char *const *)xm->feature_names;
    desc->n_inputs = 1;
    desc->inputs[0] = (mmsp_io_info){
        .name = "input", .dtype = MMSP_DT_FP32, .ndim = 2, .dims = {-1, xm->num_feature}};
    desc->n_outputs = 1;
    desc->outputs[0] =
        (mmsp_io_info){.name = "predict", .dtype = MMSP_DT_FP32, .ndim = 1, .dims = {-1}};
    if (trees_forest_out_width(&xm->forest) > 1) {
        desc->outputs[0].ndim = 2;
        desc->outputs[0].dims[1] = trees_forest_out_width(&xm->forest);
    }
    *state = xm;
    xm = NULL;
out:
    model_free(xm);
    json_decref(root);
    return rc;
}

static mmsp_err xgb_run(const void *state, const mmsp_tensor *inputs, mmsp_tensor *outputs,
                        int64_t batch, char *err, size_t errlen)
{
    const struct xgb_model *xm = state;
    uint32_t width = trees_forest_out_width(&xm->forest);
    mmsp_tensor *y = &outputs[0];

    trees_forest_predict(&xm->forest, inputs[0].data, (size_t)batch, y->data);
    y->name = "predict";
    y->dtype = MMSP_DT_FP32;
    y->ndim = width > 1 ? 2 : 1;
    y->shape[0] = batch;
    y->shape[1] = width > 1 ? width : 0;
    return MMSP_OK;
}

static void xgb_release(void *state)
{
    model_free(state);
}

const struct model_backend runtime_xgboost_backend = {
    .name = "xgboost",
    .format = "xgboost_json",
    .detect = xgb_detect,
    .load = xgb_load,
    .run = xgb_run,
    .release = xgb_release,
};
