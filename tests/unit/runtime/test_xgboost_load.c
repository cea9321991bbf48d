/*
 * Unit tests for the XGBoost JSON back end (src/runtime/trees): small hand-written models that
 * load and evaluate to hand-computed values, and hostile ones that must be refused with a
 * message naming what is wrong (truncated JSON, wrong types, out-of-range or shared children,
 * cycles, counts that disagree, huge counts, bad split indices, non-finite values, absurd
 * num_class, unsupported boosters/objectives/categorical splits, too deep trees).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mmsp/mmsp.h"

/* A stump on feature 0: x < 0.5 -> +1, else -1; NaN goes left. */
#define STUMP(id)                                                                                  \
    "{\"id\":" #id ",\"tree_param\":{\"num_nodes\":\"3\",\"num_feature\":\"2\","                   \
    "\"size_leaf_vector\":\"0\"},\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"        \
    "\"split_indices\":[0,0,0],\"split_conditions\":[0.5,1.0,-1.0],\"default_left\":[1,0,0],"      \
    "\"split_type\":[0,0,0],\"categories_nodes\":[]}"

/* A tree with the given arrays (num_nodes as a string so it can be made wrong). */
#define TREE(n, left, right, idx, cond, dflt)                                                      \
    "{\"id\":0,\"tree_param\":{\"num_nodes\":\"" n "\"},\"left_children\":" left                   \
    ",\"right_children\":" right ",\"split_indices\":" idx ",\"split_conditions\":" cond           \
    ",\"default_left\":" dflt "}"

struct spec {
    const char *objective, *num_class, *num_feature, *base_score, *booster, *num_trees, *tree_info,
        *trees, *feature_names;
};

/* Renders a whole model file; NULL fields take a valid default. Static buffer. */
static const char *model(struct spec s)
{
    static char buf[65536];
    snprintf(buf, sizeof buf,
             "{\"learner\":{\"attributes\":{},\"feature_names\":%s,\"feature_types\":[],"
             "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":"
             "\"1\",\"num_trees\":\"%s\",\"size_leaf_vector\":\"0\"},\"tree_info\":%s,"
             "\"trees\":%s},\"name\":\"%s\"},\"learner_model_param\":{\"base_score\":\"%s\","
             "\"boost_from_average\":\"1\",\"num_class\":\"%s\",\"num_feature\":\"%s\","
             "\"num_target\":\"1\"},\"objective\":{\"name\":\"%s\"}},\"version\":[1,7,4]}",
             s.feature_names ? s.feature_names : "[]", s.num_trees ? s.num_trees : "2",
             s.tree_info ? s.tree_info : "[0,0]", s.trees ? s.trees : "[" STUMP(0) "," STUMP(1) "]",
             s.booster ? s.booster : "gbtree", s.base_score ? s.base_score : "5E-1",
             s.num_class ? s.num_class : "0", s.num_feature ? s.num_feature : "2",
             s.objective ? s.objective : "reg:squarederror");
    return buf;
}

static mmsp_err load_str(const char *json, mmsp_model **m, char *err)
{
    return mmsp_model_load_buffer(json, strlen(json), "xgboost_json", "t.json", m, err,
                                  MMSP_ERRMSG_MAX);
}

/* Loading must fail with `code` and a message containing `needle`. */
static void refused(const char *json, mmsp_err code, const char *needle)
{
    mmsp_model *m = (mmsp_model *)0x1;
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = load_str(json, &m, err);
    if (rc != code || !strstr(err, needle) || m != NULL)
        fail_msg("expected %s containing '%s', got %s: '%s'", mmsp_err_name(code), needle,
                 mmsp_err_name(rc), err);
    assert_non_null(strstr(err, "t.json: "));
}

static float run1(mmsp_model *m, float x0, float x1)
{
    float row[2] = {x0, x1}, out[8];
    char err[MMSP_ERRMSG_MAX];
    mmsp_tensor in = {
        .dtype = MMSP_DT_FP32, .ndim = 2, .shape = {1, 2}, .data = row, .nbytes = sizeof row};
    mmsp_tensor y = {.data = out, .nbytes = sizeof out};
    assert_int_equal(mmsp_model_run(m, &in, 1, &y, 1, err, sizeof err), MMSP_OK);
    return out[0];
}

static void test_valid_regression(void **state)
{
    (void)state;
    mmsp_model *m;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(load_str(model((struct spec){0}), &m, err), MMSP_OK);
    const mmsp_model_info *info = mmsp_model_get_info(m);
    assert_string_equal(info->backend, "xgboost");
    assert_string_equal(info->platform, "xgboost_json");
    assert_string_equal(info->objective, "reg:squarederror");
    assert_int_equal(info->task, MMSP_TASK_REGRESSION);
    assert_int_equal(info->num_class, 1);
    assert_int_equal(info->num_feature, 2);
    assert_int_equal(info->output_is_probability, 0);
    assert_null(info->feature_names);
    assert_int_equal(mmsp_model_input_count(m), 1);
    assert_string_equal(mmsp_model_input(m, 0)->name, "input");
    assert_int_equal(mmsp_model_input(m, 0)->dims[0], -1);
    assert_int_equal(mmsp_model_input(m, 0)->dims[1], 2);
    assert_string_equal(mmsp_model_output(m, 0)->name, "predict");
    assert_int_equal(mmsp_model_output(m, 0)->ndim, 1);
    assert_null(mmsp_model_output(m, 1));
    assert_int_equal(mmsp_model_output_bytes(m, 0, 10), 40);
    /* base 0.5 + two stumps */
    assert_true(run1(m, 0.0f, 0.0f) == 2.5f);
    assert_true(run1(m, 1.0f, 0.0f) == -1.5f);
    assert_true(run1(m, 0.5f, 0.0f) == -1.5f); /* x < threshold goes left, equal goes right */
    assert_true(run1(m, NAN, 0.0f) == 2.5f);   /* default_left */
    assert_ptr_equal(mmsp_model_retain(m), m);
    mmsp_model_release(m);
    mmsp_model_release(m);
    mmsp_model_release(NULL);
}

static void test_default_right_and_logistic(void **state)
{
    (void)state;
    mmsp_model *m;
    char err[MMSP_ERRMSG_MAX];
    const char *trees =
        "[" TREE("3", "[1,-1,-1]", "[2,-1,-1]", "[1,0,0]", "[0,2,-2]", "[0,0,0]") "]";
    assert_int_equal(load_str(model((struct spec){.objective = "binary:logistic",
                                                  .num_trees = "1",
                                                  .tree_info = "[0]",
                                                  .trees = trees}),
                              &m, err),
                     MMSP_OK);
    assert_int_equal(mmsp_model_get_info(m)->task, MMSP_TASK_BINARY);
    assert_int_equal(mmsp_model_get_info(m)->output_is_probability, 1);
    /* base_score 0.5 -> margin 0; NaN on feature 1 goes right (-2). */
    assert_float_equal(run1(m, 0, NAN), 1.0 / (1.0 + exp(2.0)), 1e-7);
    assert_float_equal(run1(m, 0, -1), 1.0 / (1.0 + exp(-2.0)), 1e-7);
    mmsp_model_release(m);
}

static void test_multiclass_and_names(void **state)
{
    (void)state;
    mmsp_model *m;
    char err[MMSP_ERRMSG_MAX];
    struct spec s = {.objective = "multi:softprob",
                     .num_class = "3",
                     .num_trees = "3",
                     .tree_info = "[0,1,2]",
                     .trees = "[" STUMP(0) "," STUMP(1) "," STUMP(2) "]",
                     .feature_names = "[\"age\",\"income\"]"};
    assert_int_equal(load_str(model(s), &m, err), MMSP_OK);
    const mmsp_model_info *info = mmsp_model_get_info(m);
    assert_int_equal(info->task, MMSP_TASK_MULTICLASS);
    assert_int_equal(info->num_class, 3);
    assert_string_equal(info->feature_names[1], "income");
    assert_int_equal(mmsp_model_output(m, 0)->ndim, 2);
    assert_int_equal(mmsp_model_output(m, 0)->dims[1], 3);
    float rows[4] = {0, 0, 1, 1}, out[6];
    mmsp_tensor in = {
        .dtype = MMSP_DT_FP32, .ndim = 2, .shape = {2, 2}, .data = rows, .nbytes = sizeof rows};
    mmsp_tensor y = {.data = out, .nbytes = sizeof out};
    assert_int_equal(mmsp_model_run(m, &in, 1, &y, 1, err, sizeof err), MMSP_OK);
    assert_int_equal(y.ndim, 2);
    assert_int_equal(y.shape[0], 2);
    assert_int_equal(y.shape[1], 3);
    for (int i = 0; i < 6; i++)
        assert_float_equal(out[i], 1.0 / 3, 1e-6);
    mmsp_model_release(m);

    s.objective = "multi:softmax";
    s.trees = "[" STUMP(0) ",{\"id\":1,\"tree_param\":{\"num_nodes\":\"1\"},\"left_children\":[-1],"
                           "\"right_children\":[-1],\"split_indices\":[0],\"split_conditions\":[5],"
                           "\"default_left\":[0]}," STUMP(2) "]";
    assert_int_equal(load_str(model(s), &m, err), MMSP_OK);
    assert_int_equal(mmsp_model_output(m, 0)->ndim, 1);
    assert_true(run1(m, 0, 0) == 1.0f);
    mmsp_model_release(m);

    s.feature_names = "[\"only_one\"]";
    refused(model(s), MMSP_E_BAD_MODEL, "feature_names");
}

static void test_truncated_and_not_json(void **state)
{
    (void)state;
    char buf[65536];
    strcpy(buf, model((struct spec){0}));
    size_t n = strlen(buf);
    mmsp_model *m;
    char err[MMSP_ERRMSG_MAX];
    for (size_t cut = 0; cut < n; cut += 97) {
        assert_int_not_equal(
            mmsp_model_load_buffer(buf, cut, "xgboost_json", "t.json", &m, err, sizeof err),
            MMSP_OK);
        assert_true(strlen(err) > 0);
    }
    buf[n / 2] = '\0';
    refused(buf, MMSP_E_PARSE, "not valid JSON");
    assert_int_equal(mmsp_model_load_buffer("\x7f"
                                            "ELF",
                                            4, NULL, "t.bin", &m, err, sizeof err),
                     MMSP_E_UNSUPPORTED);
    assert_non_null(strstr(err, "no back end recognises this file"));
    assert_int_equal(mmsp_model_load_buffer("", 0, NULL, NULL, &m, err, sizeof err),
                     MMSP_E_UNSUPPORTED);
    assert_int_equal(mmsp_model_load_buffer("{}", 2, "onnx", "t", &m, err, sizeof err),
                     MMSP_E_UNSUPPORTED);
    refused("[1,2]", MMSP_E_BAD_MODEL, "top level");
    refused("{\"learner\":1}", MMSP_E_BAD_MODEL, "learner: expected an object");
    refused("{\"a\":1,\"a\":2}", MMSP_E_PARSE, "duplicate");
    assert_int_equal(mmsp_model_load("/nonexistent/model.json", &m, err, sizeof err),
                     MMSP_E_NOT_FOUND);
    assert_non_null(strstr(err, "/nonexistent/model.json"));
}

static void test_wrong_types(void **state)
{
    (void)state;
    refused(model((struct spec){.num_feature = "abc"}), MMSP_E_BAD_MODEL, "num_feature");
    const char *t = "[" TREE("3", "\"x\"", "[2,-1,-1]", "[0,0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = t}),
            MMSP_E_BAD_MODEL, "left_children: expected an array");
    t = "[" TREE("3", "[1,-1,-1]", "[2,-1,-1]", "[0,0,0]", "[0,\"1\",2]", "[0,0,0]") "]";
    refused(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = t}),
            MMSP_E_BAD_MODEL, "split_conditions[1]: expected a number");
    t = "[" TREE("3", "[1.5,-1,-1]", "[2,-1,-1]", "[0,0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = t}),
            MMSP_E_BAD_MODEL, "left_children[0]: expected an integer");
    t = "[" TREE("3", "[1,-1,-1]", "[2,-1,-1]", "[0,0,0]", "[0,1,2]", "[0,7,0]") "]";
    refused(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = t}),
            MMSP_E_BAD_MODEL, "default_left[1]");
    refused(model((struct spec){.trees = "[1,2]"}), MMSP_E_BAD_MODEL,
            "trees[0]: expected an object");
    refused(model((struct spec){.tree_info = "[0,\"a\"]"}), MMSP_E_BAD_MODEL, "tree_info[1]");
    refused(model((struct spec){.base_score = "half"}), MMSP_E_BAD_MODEL, "base_score");
}

static void test_bad_structure(void **state)
{
    (void)state;
    struct spec s = {.num_trees = "1", .tree_info = "[0]"};
    /* child out of range */
    s.trees = "[" TREE("3", "[1,-1,-1]", "[5,-1,-1]", "[0,0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "right_children[0]: 5 is outside [-1, 2]");
    s.trees = "[" TREE("3", "[-7,-1,-1]", "[2,-1,-1]", "[0,0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "left_children[0]");
    /* cycle back to the root */
    s.trees = "[" TREE("3", "[1,0,-1]", "[2,2,-1]", "[0,0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "reached twice");
    /* a node shared by two parents */
    s.trees = "[" TREE("5", "[1,3,-1,-1,-1]", "[2,2,-1,-1,-1]", "[0,0,0,0,0]", "[0,1,2,3,4]",
                       "[0,0,0,0,0]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "reached twice");
    /* both children the same node */
    s.trees = "[" TREE("2", "[1,-1]", "[1,-1]", "[0,0]", "[0,1]", "[0,0]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "reached twice");
    /* leaf with one child */
    s.trees = "[" TREE("3", "[1,-1,-1]", "[2,2,-1]", "[0,0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "left child is -1 but right child is 2");
    /* num_nodes disagrees with the arrays */
    s.trees = "[" TREE("4", "[1,-1,-1]", "[2,-1,-1]", "[0,0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "3 entries, but num_nodes is 4");
    s.trees = "[" TREE("3", "[1,-1,-1]", "[2,-1,-1]", "[0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "split_indices: 2 entries");
    s.trees = "[" TREE("0", "[]", "[]", "[]", "[]", "[]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "num_nodes: 0 is outside");
    /* split index >= num_feature */
    s.trees = "[" TREE("3", "[1,-1,-1]", "[2,-1,-1]", "[2,0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model(s), MMSP_E_BAD_MODEL, "split index 2 out of range (num_feature 2)");
    /* num_trees disagrees with trees / tree_info */
    refused(model((struct spec){.num_trees = "3"}), MMSP_E_BAD_MODEL, "num_trees is 3");
    refused(model((struct spec){.tree_info = "[0]"}), MMSP_E_BAD_MODEL, "tree_info entries");
    refused(model((struct spec){.tree_info = "[0,1]"}), MMSP_E_BAD_MODEL, "tree_info[1]");
    /* tree ids out of order */
    refused(model((struct spec){.trees = "[" STUMP(1) "," STUMP(0) "]"}), MMSP_E_BAD_MODEL,
            "id 1 does not match");
}

static void test_huge_counts(void **state)
{
    (void)state;
    refused(model((struct spec){.num_trees = "99999999999"}), MMSP_E_TOO_LARGE, "num_trees");
    refused(model((struct spec){.num_trees = "99999999999999999999999"}), MMSP_E_BAD_MODEL,
            "num_trees");
    refused(model((struct spec){.num_feature = "4000000000"}), MMSP_E_TOO_LARGE, "num_feature");
    refused(model((struct spec){.num_feature = "0"}), MMSP_E_BAD_MODEL, "num_feature");
    refused(model((struct spec){.num_class = "100000", .objective = "multi:softprob"}),
            MMSP_E_TOO_LARGE, "num_class");
    refused(model((struct spec){.num_class = "-3"}), MMSP_E_BAD_MODEL, "num_class");
    refused(model((struct spec){.num_class = "1", .objective = "multi:softmax"}), MMSP_E_BAD_MODEL,
            "needs at least 2 classes");
    refused(model((struct spec){.num_class = "3"}), MMSP_E_BAD_MODEL, "has one output");
    const char *t =
        "[" TREE("2000000000", "[1,-1,-1]", "[2,-1,-1]", "[0,0,0]", "[0,1,2]", "[0,0,0]") "]";
    refused(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = t}),
            MMSP_E_TOO_LARGE, "num_nodes");
}

static void test_non_finite_values(void **state)
{
    (void)state;
    mmsp_model *m;
    char err[MMSP_ERRMSG_MAX];
    /* A threshold beyond float range becomes +inf: every finite value goes left. */
    const char *t =
        "[" TREE("3", "[1,-1,-1]", "[2,-1,-1]", "[0,0,0]", "[1e300,1,2]", "[0,0,0]") "]";
    assert_int_equal(
        load_str(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = t}), &m, err),
        MMSP_OK);
    assert_true(run1(m, 3e38f, 0) == 1.5f);
    assert_true(run1(m, NAN, 0) == 2.5f); /* default right */
    mmsp_model_release(m);
    /* A leaf value beyond float range is refused. */
    t = "[" TREE("3", "[1,-1,-1]", "[2,-1,-1]", "[0,0,0]", "[0,1e300,2]", "[0,0,0]") "]";
    refused(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = t}),
            MMSP_E_BAD_MODEL, "leaf value is not a finite float");
    /* NaN literals are not JSON. */
    t = "[" TREE("3", "[1,-1,-1]", "[2,-1,-1]", "[0,0,0]", "[NaN,1,2]", "[0,0,0]") "]";
    refused(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = t}), MMSP_E_PARSE,
            "not valid JSON");
    refused(model((struct spec){.base_score = "inf"}), MMSP_E_BAD_MODEL, "base_score");
    refused(model((struct spec){.base_score = "1.5", .objective = "binary:logistic"}),
            MMSP_E_BAD_MODEL, "must be in (0, 1)");
}

static void test_unsupported(void **state)
{
    (void)state;
    refused(model((struct spec){.booster = "dart"}), MMSP_E_UNSUPPORTED, "dart booster");
    refused(model((struct spec){.booster = "gblinear"}), MMSP_E_UNSUPPORTED, "gblinear");
    refused(model((struct spec){.booster = "weird"}), MMSP_E_BAD_MODEL, "unknown booster");
    refused(model((struct spec){.objective = "count:poisson"}), MMSP_E_UNSUPPORTED,
            "objective 'count:poisson' is not supported");
    const char *t = "[{\"id\":0,\"tree_param\":{\"num_nodes\":\"3\"},\"left_children\":[1,-1,-1],"
                    "\"right_children\":[2,-1,-1],\"split_indices\":[0,0,0],"
                    "\"split_conditions\":[0,1,2],\"default_left\":[0,0,0],"
                    "\"split_type\":[1,0,0],\"categories_nodes\":[0]}]";
    refused(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = t}),
            MMSP_E_UNSUPPORTED, "categorical splits are not supported");
}

/* A chain: node 2k splits into leaf 2k+1 and node 2k+2; `internal` splits deep. */
static char *chain_model(int internal)
{
    int n = 2 * internal + 1;
    size_t cap = (size_t)n * 64 + 4096;
    char *trees = malloc(cap), *p = trees;
    const char *keys[] = {"left_children", "right_children", "split_indices", "split_conditions",
                          "default_left"};
    p += sprintf(p, "[{\"id\":0,\"tree_param\":{\"num_nodes\":\"%d\"}", n);
    for (int k = 0; k < 5; k++) {
        p += sprintf(p, ",\"%s\":[", keys[k]);
        for (int i = 0; i < n; i++) {
            int leaf = (i % 2 == 1) || i == n - 1;
            int v = k == 0 ? (leaf ? -1 : i + 1) : k == 1 ? (leaf ? -1 : i + 2) : k == 3 ? 1 : 0;
            p += sprintf(p, "%s%d", i ? "," : "", v);
        }
        p += sprintf(p, "]");
    }
    sprintf(p, "}]");
    char *out = strdup(model((struct spec){.num_trees = "1", .tree_info = "[0]", .trees = trees}));
    free(trees);
    return out;
}

static void test_depth_limit(void **state)
{
    (void)state;
    mmsp_model *m;
    char err[MMSP_ERRMSG_MAX];
    char *ok = chain_model(500);
    assert_int_equal(load_str(ok, &m, err), MMSP_OK);
    assert_true(run1(m, 5, 0) == 1.5f); /* right all the way down: the last leaf's value */
    mmsp_model_release(m);
    free(ok);
    char *deep = chain_model(600);
    refused(deep, MMSP_E_TOO_LARGE, "deeper than the limit");
    free(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_regression),
        cmocka_unit_test(test_default_right_and_logistic),
        cmocka_unit_test(test_multiclass_and_names),
        cmocka_unit_test(test_truncated_and_not_json),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_structure),
        cmocka_unit_test(test_huge_counts),
        cmocka_unit_test(test_non_finite_values),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
