/*
 * Unit tests for the model manager's registry-mode parts (src/serve/repo.c): traffic splits
 * (stable / canary draws at 0, 30 and 100 %, swapped with the version set, refused when they
 * name an unloaded version), reuse of unchanged versions across reloads (and a fresh load once
 * the file changes), the warm-up, recorded failures (index view, readiness) and held
 * readiness. The repository is written to a temp directory with a one-tree XGBoost JSON model.
 * Calls: serve/repo, metrics, the mmsp runtime.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics/metrics.h"
#include "serve/repo.h"

/* A one-tree binary:logistic XGBoost model over 4 features (XGBoost 1.7 JSON layout). */
static const char *const tiny_model =
    "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
    "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
    "\"num_trees\":\"1\"},\"tree_info\":[0],\"trees\":[{\"base_weights\":[0,-0.5,0.5],"
    "\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
    "\"categories_sizes\":[],\"default_left\":[1,0,0],\"id\":0,\"left_children\":[1,-1,-1],"
    "\"loss_changes\":[1,0,0],\"parents\":[2147483647,0,0],\"right_children\":[2,-1,-1],"
    "\"split_conditions\":[0.5,-0.5,0.5],\"split_indices\":[2,0,0],\"split_type\":[0,0,0],"
    "\"sum_hessian\":[2,1,1],\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"4\","
    "\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"}}]},\"name\":\"gbtree\"},"
    "\"learner_model_param\":{\"base_score\":\"5E-1\",\"boost_from_average\":\"1\","
    "\"num_class\":\"0\",\"num_feature\":\"4\",\"num_target\":\"1\"},"
    "\"objective\":{\"name\":\"binary:logistic\",\"reg_loss_param\":{\"scale_pos_weight\":"
    "\"1\"}}},\"version\":[1,7,4]}";

struct fixture {
    char dir[64];
    struct metrics_registry *reg;
    struct serve_families fam;
    struct serve_repo *repo;
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* DIR/m/<v>/model.json for v in 1..3, and DIR/m/config.yaml with `versions`. */
static void write_repo(struct fixture *fx, const char *versions)
{
    char path[256];
    snprintf(path, sizeof path, "%s/m", fx->dir);
    mkdir(path, 0755);
    for (int v = 1; v <= 3; v++) {
        snprintf(path, sizeof path, "%s/m/%d", fx->dir, v);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/m/%d/model.json", fx->dir, v);
        if (access(path, F_OK) != 0)
            write_file(path, tiny_model);
    }
    char text[256];
    snprintf(text, sizeof text, "version_policy:\n  specific:\n    versions: [%s]\n", versions);
    snprintf(path, sizeof path, "%s/m/config.yaml", fx->dir);
    write_file(path, text);
}

static int setup(void **state)
{
    static const char *const mv[2] = {"model", "version"};
    struct fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/mmsp_repo_XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    fx->reg = metrics_registry_new();
    struct metric_family **fams[] = {&fx->fam.requests, &fx->fam.predictions, &fx->fam.errors,
                                     &fx->fam.latency,  &fx->fam.duration,    &fx->fam.batch_size,
                                     &fx->fam.queue,    &fx->fam.compute};
    static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        *fams[i] = metrics_family_register(fx->reg, names[i], "test", METRIC_GAUGE, mv, 2, NULL, 0);
    if (serve_repo_new(fx->dir, fx->reg, &fx->fam, &fx->repo))
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    serve_repo_free(fx->repo);
    metrics_registry_free(fx->reg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        return -1;
    free(fx);
    return 0;
}

/* Unversioned acquires of "m": how many went to each version 1..3. */
static void draw(struct serve_repo *r, int n, int counts[4])
{
    char err[MMSP_ERRMSG_MAX];
    memset(counts, 0, 4 * sizeof counts[0]);
    for (int i = 0; i < n; i++) {
        struct serve_version *v = NULL;
        assert_int_equal(serve_repo_acquire(r, "m", -1, &v, err, sizeof err), MMSP_OK);
        assert_true(v->version >= 1 && v->version <= 3);
        counts[v->version]++;
        serve_version_release(v);
    }
}

static struct serve_model_view *view_of(struct serve_repo *r, struct serve_model_view **all,
                                        size_t *n)
{
    assert_int_equal(serve_repo_list(r, all, n), MMSP_OK);
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*all)[i].name, "m") == 0)
            return &(*all)[i];
    return NULL;
}

static void test_split(void **state)
{
    struct fixture *fx = *state;
    char err[MMSP_ERRMSG_MAX] = "";
    int c[4];
    write_repo(fx, "1, 2, 3");
    /* No split: the highest version. */
    assert_int_equal(serve_repo_load(fx->repo, "m", err, sizeof err), MMSP_OK);
    draw(fx->repo, 100, c);
    assert_int_equal(c[3], 100);

    struct serve_traffic t = {.stable = 1, .canary = 2, .canary_weight = 0};
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &t, err, sizeof err), MMSP_OK);
    draw(fx->repo, 1000, c);
    assert_int_equal(c[1], 1000);

    t.canary_weight = 100;
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &t, err, sizeof err), MMSP_OK);
    draw(fx->repo, 1000, c);
    assert_int_equal(c[2], 1000);

    t.canary_weight = 30;
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &t, err, sizeof err), MMSP_OK);
    draw(fx->repo, 4000, c);
    assert_int_equal(c[1] + c[2], 4000);
    assert_in_range(c[2], 4000 * 22 / 100, 4000 * 38 / 100);

    /* Versioned acquires are not split; the shadow (3) takes no unversioned traffic. */
    struct serve_version *v = NULL;
    assert_int_equal(serve_repo_acquire(fx->repo, "m", 3, &v, err, sizeof err), MMSP_OK);
    assert_int_equal(v->version, 3);
    serve_version_release(v);

    /* The view carries the split. */
    struct serve_model_view *all = NULL, *w;
    size_t n = 0;
    w = view_of(fx->repo, &all, &n);
    assert_non_null(w);
    assert_int_equal(w->traffic.stable, 1);
    assert_int_equal(w->traffic.canary, 2);
    assert_int_equal(w->traffic.canary_weight, 30);
    serve_repo_list_free(all, n);

    /* A plain reload keeps the split while its versions stay. */
    assert_int_equal(serve_repo_load(fx->repo, "m", err, sizeof err), MMSP_OK);
    draw(fx->repo, 2000, c);
    assert_true(c[1] > 0 && c[2] > 0 && c[3] == 0);
    /* ... and clears it once one of them is gone. */
    write_repo(fx, "1, 3");
    assert_int_equal(serve_repo_load(fx->repo, "m", err, sizeof err), MMSP_OK);
    draw(fx->repo, 100, c);
    assert_int_equal(c[3], 100);
}

static void test_split_refused(void **state)
{
    struct fixture *fx = *state;
    char err[MMSP_ERRMSG_MAX] = "";
    int c[4];
    write_repo(fx, "1, 2");
    struct serve_traffic t = {.stable = 1, .canary = 2, .canary_weight = 100};
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &t, err, sizeof err), MMSP_OK);
    /* The split names version 3, which the policy does not select: nothing changes. */
    struct serve_traffic bad = {.stable = 3};
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &bad, err, sizeof err), MMSP_E_INVALID);
    assert_non_null(strstr(err, "version 3"));
    draw(fx->repo, 100, c);
    assert_int_equal(c[2], 100);
    assert_true(serve_repo_ready(fx->repo)); /* something serves */
    struct serve_model_view *all = NULL, *w;
    size_t n = 0;
    w = view_of(fx->repo, &all, &n);
    assert_non_null(strstr(w->failure, "version 3"));
    serve_repo_list_free(all, n);
    /* Bad splits are refused before anything is read. */
    struct serve_traffic weight = {.stable = 1, .canary = 2, .canary_weight = 101};
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &weight, err, sizeof err),
                     MMSP_E_INVALID);
    struct serve_traffic orphan = {.canary = 2, .canary_weight = 5};
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &orphan, err, sizeof err),
                     MMSP_E_INVALID);
    /* A successful load clears the failure. */
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &t, err, sizeof err), MMSP_OK);
    w = view_of(fx->repo, &all, &n);
    assert_string_equal(w->failure, "");
    serve_repo_list_free(all, n);
}

static void test_reuse(void **state)
{
    struct fixture *fx = *state;
    char err[MMSP_ERRMSG_MAX] = "", path[256];
    struct serve_version *a1 = NULL, *a2 = NULL, *b1 = NULL, *b2 = NULL, *c1 = NULL;
    write_repo(fx, "1, 2");
    assert_int_equal(serve_repo_load(fx->repo, "m", err, sizeof err), MMSP_OK);
    assert_int_equal(serve_repo_acquire(fx->repo, "m", 1, &a1, err, sizeof err), MMSP_OK);
    assert_int_equal(serve_repo_acquire(fx->repo, "m", 2, &a2, err, sizeof err), MMSP_OK);
    assert_true(a1->warm_ms >= 0); /* warmed when loaded */
    /* A weight change and a new version set: 1 and 2 are the very same objects. */
    write_repo(fx, "1, 2, 3");
    struct serve_traffic t = {.stable = 1, .canary = 3, .canary_weight = 10};
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &t, err, sizeof err), MMSP_OK);
    assert_int_equal(serve_repo_acquire(fx->repo, "m", 1, &b1, err, sizeof err), MMSP_OK);
    assert_int_equal(serve_repo_acquire(fx->repo, "m", 2, &b2, err, sizeof err), MMSP_OK);
    assert_ptr_equal(a1, b1);
    assert_ptr_equal(a2, b2);
    /* Version 1's file replaced (new inode): loaded afresh; the old object stays valid for
     * its holders. */
    snprintf(path, sizeof path, "%s/m/1/model.json", fx->dir);
    assert_int_equal(unlink(path), 0);
    write_file(path, tiny_model);
    assert_int_equal(serve_repo_load_traffic(fx->repo, "m", &t, err, sizeof err), MMSP_OK);
    assert_int_equal(serve_repo_acquire(fx->repo, "m", 1, &c1, err, sizeof err), MMSP_OK);
    assert_ptr_not_equal(a1, c1);
    assert_int_equal(a1->version, 1);
    serve_version_release(a1);
    serve_version_release(a2);
    serve_version_release(b1);
    serve_version_release(b2);
    serve_version_release(c1);
}

static void test_failures_and_readiness(void **state)
{
    struct fixture *fx = *state;
    char err[MMSP_ERRMSG_MAX] = "";
    struct serve_model_view *all = NULL;
    size_t n = 0;
    assert_true(serve_repo_ready(fx->repo));
    serve_repo_hold_ready(fx->repo, 1);
    assert_false(serve_repo_ready(fx->repo));
    serve_repo_hold_ready(fx->repo, 0);
    /* A model that never loaded: listed UNAVAILABLE with the reason, the server not ready. */
    assert_int_equal(serve_repo_note_failure(fx->repo, "gone", 4, "digest mismatch"), MMSP_OK);
    assert_false(serve_repo_ready(fx->repo));
    assert_int_equal(serve_repo_list(fx->repo, &all, &n), MMSP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(all[0].state, SERVE_MODEL_UNAVAILABLE);
    assert_string_equal(all[0].reason, "digest mismatch");
    assert_int_equal(all[0].failed_version, 4);
    serve_repo_list_free(all, n);
    struct serve_version *v = NULL;
    assert_int_equal(serve_repo_acquire(fx->repo, "gone", -1, &v, err, sizeof err),
                     MMSP_E_UNAVAILABLE);
    /* Unloading it makes the server ready again. */
    assert_int_equal(serve_repo_unload(fx->repo, "gone", err, sizeof err), MMSP_OK);
    assert_true(serve_repo_ready(fx->repo));
    /* A failure while something serves: recorded, still READY. */
    write_repo(fx, "1");
    assert_int_equal(serve_repo_load(fx->repo, "m", err, sizeof err), MMSP_OK);
    assert_int_equal(serve_repo_note_failure(fx->repo, "m", 2, "refused"), MMSP_OK);
    struct serve_model_view *w = view_of(fx->repo, &all, &n);
    assert_int_equal(w->state, SERVE_MODEL_READY);
    assert_string_equal(w->failure, "refused");
    assert_int_equal(w->failed_version, 2);
    serve_repo_list_free(all, n);
    assert_true(serve_repo_ready(fx->repo));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_and_readiness, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
