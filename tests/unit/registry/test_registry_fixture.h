/*
 * Shared set-up of the registry store tests (test_registry*.c): a fresh store per test on a
 * fresh database from testdb.h (SQLite, or PostgreSQL when MMSP_TEST_PG_URL is set), tiny
 * valid XGBoost JSON models written by the test itself, manifests, and a registration
 * helper. Header-only: each test_*.c is its own program.
 */
#ifndef MMSP_TEST_REGISTRY_FIXTURE_H
#define MMSP_TEST_REGISTRY_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "registry/registry.h"
#include "testdb.h"

struct fx {
    char data[512];           /* the store's data directory */
    char url[TESTDB_URL_MAX]; /* its database */
    char files[512];          /* a scratch directory for artifacts and manifests */
    struct registry *r;
    char err[2048];
};

/* A valid XGBoost 1.7 JSON model: two stumps on feature 0; `variant` changes the base score
 * so that different variants are different artifacts. */
static inline const char *fx_model_json(int variant, char *buf, size_t len)
{
#define FX_STUMP(id)                                                                               \
    "{\"id\":" #id ",\"tree_param\":{\"num_nodes\":\"3\",\"num_feature\":\"2\","                   \
    "\"size_leaf_vector\":\"0\"},\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"        \
    "\"split_indices\":[0,0,0],\"split_conditions\":[0.5,1.0,-1.0],\"default_left\":[1,0,0],"      \
    "\"split_type\":[0,0,0],\"categories_nodes\":[]}"
    snprintf(
        buf, len,
        "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
        "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":"
        "\"1\",\"num_trees\":\"2\",\"size_leaf_vector\":\"0\"},\"tree_info\":[0,0],"
        "\"trees\":[" FX_STUMP(0) "," FX_STUMP(
            1) "]},\"name\":\"gbtree\"},"
               "\"learner_model_param\":{\"base_score\":\"%d.5E-1\",\"boost_from_average\":\"1\","
               "\"num_class\":\"0\",\"num_feature\":\"2\",\"num_target\":\"1\"},"
               "\"objective\":{\"name\":\"reg:squarederror\"}},\"version\":[1,7,4]}",
        variant % 10);
#undef FX_STUMP
    return buf;
}

/* Writes text to files/name; returns the path (static buffer, one per slot). */
static inline const char *fx_write(struct fx *f, const char *name, const char *text)
{
    static char paths[8][1024];
    static int slot;
    char *path = paths[slot++ % 8];
    snprintf(path, 1024, "%s/%s", f->files, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
    return path;
}

static inline const char *fx_model_file(struct fx *f, int variant)
{
    char text[8192], name[64];
    snprintf(name, sizeof name, "model%d.json", variant);
    return fx_write(f, name, fx_model_json(variant, text, sizeof text));
}

/* A manifest that passes the built-in policy with these accuracy and f1 values. */
static inline const char *fx_manifest(double accuracy, double f1, char *buf, size_t len)
{
    snprintf(buf, len,
             "apiVersion: mlifecycle.io/v1\n"
             "kind: ModelDeployment\n"
             "spec:\n"
             "  model: {name: fraud, version: \"1.0.0\", framework: xgboost}\n"
             "  metrics:\n"
             "    accuracy: %g\n"
             "    f1_score: %g\n"
             "    auc: 0.97\n"
             "  fairness: {demographic_parity: 0.02}\n"
             "  drift: {score: 0.05}\n"
             "  dependencies: [{name: xgboost, version: \"1.7.4\"}]\n"
             "  lineage: {git_sha: abc123, dataset_version: \"2024-01\", approver: alice}\n",
             accuracy, f1);
    return buf;
}

static inline void fx_open(struct fx *f, const char *tag)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(testdb_tmpdir(f->data, sizeof f->data, tag), 0);
    assert_int_equal(testdb_tmpdir(f->files, sizeof f->files, tag), 0);
    assert_int_equal(testdb_open_url(f->url, sizeof f->url, tag), 0);
    struct registry_options o = {.data_dir = f->data, .url = f->url, .user = "tester"};
    mmsp_err rc = registry_open(&o, &f->r, f->err, sizeof f->err);
    if (rc)
        fail_msg("registry_open: %s: %s", mmsp_err_name(rc), f->err);
    /* every test starts from an empty store */
    struct reg_model *models = NULL;
    size_t n = 0;
    char *next = NULL;
    rc = registry_model_search(f->r, NULL, 0, 10, NULL, &models, &n, &next, f->err, sizeof f->err);
    assert_int_equal(rc, MMSP_OK);
    assert_int_equal(n, 0);
    assert_null(next);
    reg_model_list_free(models, n);
}

/* A second handle on the same store (another "process"). */
static inline struct registry *fx_reopen(struct fx *f, const char *user)
{
    struct registry *r = NULL;
    struct registry_options o = {.data_dir = f->data, .url = f->url, .user = user};
    mmsp_err rc = registry_open(&o, &r, f->err, sizeof f->err);
    if (rc)
        fail_msg("registry_open: %s: %s", mmsp_err_name(rc), f->err);
    return r;
}

static inline void fx_close(struct fx *f)
{
    registry_close(f->r);
    f->r = NULL;
}

/* Registers model variant `variant` under name with a passing manifest; returns the version. */
static inline int64_t fx_register(struct fx *f, const char *name, int variant)
{
    char manifest[2048];
    fx_manifest(0.94, 0.9, manifest, sizeof manifest);
    struct reg_register_request q = {
        .name = name,
        .artifact_path = fx_model_file(f, variant),
        .manifest_text = manifest,
        .manifest_len = strlen(manifest),
        .manifest_name = "manifest.yaml",
    };
    struct reg_version v;
    mmsp_err rc = registry_register(f->r, &q, &v, f->err, sizeof f->err);
    if (rc)
        fail_msg("register %s: %s: %s", name, mmsp_err_name(rc), f->err);
    int64_t n = v.version;
    reg_version_free(&v);
    return n;
}

/* Asserts rc == want, printing the message otherwise. */
#define FX_RC(f, call, want)                                                                       \
    do {                                                                                           \
        (f)->err[0] = '\0';                                                                        \
        mmsp_err fx_rc_ = (call);                                                                  \
        if (fx_rc_ != (want))                                                                      \
            fail_msg("%s: expected %s, got %s: %s", #call, mmsp_err_name(want),                    \
                     mmsp_err_name(fx_rc_), (f)->err);                                             \
    } while (0)

/* Number of regular files under dir (recursively). */
static int fx_file_count_;
static inline int fx_count_files_(const char *path, const struct stat *sb, int flag,
                                  struct FTW *ftw)
{
    (void)path, (void)sb, (void)ftw;
    if (flag == FTW_F)
        fx_file_count_++;
    return 0;
}

static inline int fx_count_files(const char *dir)
{
    fx_file_count_ = 0;
    nftw(dir, fx_count_files_, 16, FTW_PHYS);
    return fx_file_count_;
}

#endif
