/*
 * Deployments on a real store: the first deploy, all-at-once deploys, canary at a weight and
 * weight changes, promote, rollback of a canary, rollback through the history and to a given
 * version, shadow versions, aliases, environments, the checks (unknown or Archived versions,
 * ungated versions in production), the event written for every change with its detail, the
 * generation bumped by every change and only then, and idempotent deploys.
 * SQLite by default, PostgreSQL with MMSP_TEST_PG_URL (testdb.h).
 */
#include "test_registry_fixture.h"

#include <jansson.h>

static int64_t generation(struct fx *f)
{
    int64_t g = -1;
    FX_RC(f, registry_deployments_generation(f->r, &g, f->err, sizeof f->err), MMSP_OK);
    return g;
}

/* deploy helper: version (0 = none), canary (-1 = all at once) */
static mmsp_err deploy(struct fx *f, const char *model, int64_t version, int canary,
                       struct reg_deployment *out)
{
    struct reg_deploy_request q = {.name = "fraud",
                                   .model = model,
                                   .version = version,
                                   .canary = canary,
                                   .who = "ops",
                                   .reason = "test"};
    return registry_deploy(f->r, &q, out, f->err, sizeof f->err);
}

static void expect(const struct reg_deployment *d, int64_t stable, int64_t canary, int weight,
                   const char *state)
{
    assert_int_equal(d->stable_version, stable);
    assert_int_equal(d->canary_version, canary);
    assert_int_equal(d->canary_weight, weight);
    assert_string_equal(d->state, state);
}

static void test_canary_promote_rollback(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "deploy_flow");
    for (int i = 1; i <= 4; i++)
        fx_register(&f, "fraud", i);
    struct reg_deployment d;
    int64_t g0 = generation(&f);

    /* The first deploy needs a model, a version, and no canary. */
    FX_RC(&f, deploy(&f, NULL, 1, -1, &d), MMSP_E_INVALID);
    FX_RC(&f, deploy(&f, "fraud", 1, 10, &d), MMSP_E_CONFLICT);
    FX_RC(&f, deploy(&f, "fraud", 0, -1, &d), MMSP_E_INVALID);
    FX_RC(&f, deploy(&f, "fraud", 9, -1, &d), MMSP_E_NOT_FOUND);
    assert_int_equal(generation(&f), g0);
    FX_RC(&f, deploy(&f, "fraud", 1, -1, &d), MMSP_OK);
    expect(&d, 1, 0, 0, "active");
    assert_string_equal(d.environment, "production");
    assert_string_equal(d.model, "fraud");
    int64_t g1 = generation(&f);
    assert_true(g1 > g0);
    assert_int_equal(d.generation, g1);
    reg_deployment_free(&d);

    /* The same deploy again changes nothing: no event, no new generation. */
    FX_RC(&f, deploy(&f, "fraud", 1, -1, &d), MMSP_OK);
    reg_deployment_free(&d);
    assert_int_equal(generation(&f), g1);

    /* canary v2 at 10 %, then 50 % (weight only) */
    FX_RC(&f, deploy(&f, NULL, 2, 10, &d), MMSP_OK);
    expect(&d, 1, 2, 10, "canary");
    reg_deployment_free(&d);
    int64_t g2 = generation(&f);
    assert_true(g2 > g1);
    FX_RC(&f, deploy(&f, NULL, 0, 50, &d), MMSP_OK);
    expect(&d, 1, 2, 50, "canary");
    reg_deployment_free(&d);
    assert_true(generation(&f) > g2);
    FX_RC(&f, deploy(&f, NULL, 1, 20, &d), MMSP_E_CONFLICT);   /* the stable as canary */
    FX_RC(&f, deploy(&f, "spam", 2, 20, &d), MMSP_E_CONFLICT); /* another model */

    /* promote: v2 stable */
    FX_RC(&f, registry_promote(f.r, "fraud", NULL, "ops", "looks good", &d, f.err, sizeof f.err),
          MMSP_OK);
    expect(&d, 2, 0, 0, "active");
    reg_deployment_free(&d);
    FX_RC(&f, registry_promote(f.r, "fraud", NULL, NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_E_CONFLICT);

    /* canary v3, rolled back: canary gone, stable unchanged */
    FX_RC(&f, deploy(&f, NULL, 3, 25, &d), MMSP_OK);
    reg_deployment_free(&d);
    FX_RC(&f, registry_rollback(f.r, "fraud", NULL, 0, "ops", "errors", &d, f.err, sizeof f.err),
          MMSP_OK);
    expect(&d, 2, 0, 0, "rolled_back");
    reg_deployment_free(&d);

    /* no canary: back through the history 3 -> 2 -> 1, then nothing */
    FX_RC(&f, deploy(&f, NULL, 3, -1, &d), MMSP_OK);
    expect(&d, 3, 0, 0, "active");
    reg_deployment_free(&d);
    FX_RC(&f, registry_rollback(f.r, "fraud", NULL, 0, NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_OK);
    expect(&d, 2, 0, 0, "rolled_back");
    reg_deployment_free(&d);
    FX_RC(&f, registry_rollback(f.r, "fraud", NULL, 0, NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_OK);
    expect(&d, 1, 0, 0, "rolled_back");
    reg_deployment_free(&d);
    int64_t gr = generation(&f);
    FX_RC(&f, registry_rollback(f.r, "fraud", NULL, 0, NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_E_CONFLICT);
    assert_int_equal(generation(&f), gr);

    /* rollback --to */
    FX_RC(&f, registry_rollback(f.r, "fraud", NULL, 4, NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_OK);
    expect(&d, 4, 0, 0, "rolled_back");
    reg_deployment_free(&d);
    FX_RC(&f, registry_rollback(f.r, "fraud", NULL, 4, NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_E_CONFLICT);
    FX_RC(&f, registry_rollback(f.r, "fraud", NULL, 99, NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_E_NOT_FOUND);
    FX_RC(&f, registry_rollback(f.r, "nope", NULL, 0, NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_E_NOT_FOUND);
    /* the next deploy ends the rolled_back state */
    FX_RC(&f, deploy(&f, NULL, 1, 5, &d), MMSP_OK);
    expect(&d, 4, 1, 5, "canary");
    reg_deployment_free(&d);

    /* the history holds every change, oldest first, with before and after */
    struct reg_event *ev;
    size_t n;
    FX_RC(&f, registry_history(f.r, "fraud", "production", &ev, &n, f.err, sizeof f.err), MMSP_OK);
    const char *actions[] = {"deploy", "canary",   "canary",   "promote",  "canary", "rollback",
                             "deploy", "rollback", "rollback", "rollback", "canary"};
    assert_int_equal(n, sizeof actions / sizeof actions[0]);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ev[i].action, actions[i]);
        assert_string_equal(ev[i].deployment, "fraud");
        assert_string_equal(ev[i].environment, "production");
        if (i)
            assert_true(ev[i].id > ev[i - 1].id);
    }
    json_t *first = json_loads(ev[0].detail, 0, NULL);
    assert_true(json_is_null(json_object_get(first, "from")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(first, "to"), "stable")),
                     1);
    assert_string_equal(json_string_value(json_object_get(first, "reason")), "test");
    assert_string_equal(ev[0].who, "ops");
    json_decref(first);
    json_t *promote = json_loads(ev[3].detail, 0, NULL);
    json_t *from = json_object_get(promote, "from"), *to = json_object_get(promote, "to");
    assert_int_equal(json_integer_value(json_object_get(from, "canary")), 2);
    assert_int_equal(json_integer_value(json_object_get(from, "weight")), 50);
    assert_int_equal(json_integer_value(json_object_get(to, "stable")), 2);
    assert_true(json_is_null(json_object_get(to, "canary")));
    assert_string_equal(json_string_value(json_object_get(promote, "reason")), "looks good");
    json_decref(promote);
    reg_event_list_free(ev, n);
    fx_close(&f);
}

static void test_environments_aliases_shadow(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "deploy_env");
    for (int i = 1; i <= 3; i++)
        fx_register(&f, "fraud", i);
    FX_RC(&f, registry_alias_set(f.r, "fraud", "champion", 2, f.err, sizeof f.err), MMSP_OK);
    struct reg_deployment d;
    struct reg_deploy_request q = {.name = "fraud",
                                   .environment = "staging",
                                   .model = "fraud",
                                   .alias = "champion",
                                   .canary = -1};
    FX_RC(&f, registry_deploy(f.r, &q, &d, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(d.environment, "staging");
    expect(&d, 2, 0, 0, "active");
    reg_deployment_free(&d);
    q.alias = "nope";
    FX_RC(&f, registry_deploy(f.r, &q, &d, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    q.environment = "prod";
    q.alias = "champion";
    FX_RC(&f, registry_deploy(f.r, &q, &d, f.err, sizeof f.err), MMSP_E_INVALID);
    FX_RC(&f, registry_deployment_get(f.r, "fraud", "production", &d, f.err, sizeof f.err),
          MMSP_E_NOT_FOUND);

    /* production is a separate deployment of the same name */
    q.environment = NULL;
    q.alias = NULL;
    q.version = 1;
    FX_RC(&f, registry_deploy(f.r, &q, &d, f.err, sizeof f.err), MMSP_OK);
    reg_deployment_free(&d);
    /* shadow: stable unchanged; the stable itself cannot be the shadow */
    q.model = NULL;
    q.shadow = 1;
    q.version = 3;
    FX_RC(&f, registry_deploy(f.r, &q, &d, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(d.shadow_version, 3);
    expect(&d, 1, 0, 0, "active");
    reg_deployment_free(&d);
    q.version = 1;
    FX_RC(&f, registry_deploy(f.r, &q, &d, f.err, sizeof f.err), MMSP_E_CONFLICT);
    /* no version removes the shadow */
    q.version = 0;
    FX_RC(&f, registry_deploy(f.r, &q, &d, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(d.shadow_version, 0);
    reg_deployment_free(&d);

    struct reg_deployment *list;
    size_t n;
    FX_RC(&f, registry_deployment_list(f.r, &list, &n, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].environment, "production");
    assert_string_equal(list[1].environment, "staging");
    json_t *j = reg_deployment_json(&list[1]);
    assert_int_equal(json_integer_value(json_object_get(j, "stable_version")), 2);
    assert_true(json_is_null(json_object_get(j, "canary_version")));
    assert_true(json_is_null(json_object_get(j, "shadow_version")));
    assert_string_equal(json_string_value(json_object_get(j, "state")), "active");
    json_decref(j);
    reg_deployment_list_free(list, n);

    struct reg_event *ev;
    FX_RC(&f, registry_history(f.r, "fraud", "staging", &ev, &n, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(n, 1);
    reg_event_list_free(ev, n);
    FX_RC(&f, registry_history(f.r, "fraud", NULL, &ev, &n, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(n, 4);
    reg_event_list_free(ev, n);
    fx_close(&f);
}

static void test_deploy_checks(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "deploy_checks");
    fx_register(&f, "fraud", 1);
    fx_register(&f, "fraud", 2);
    /* an MLflow-registered version: never gated */
    struct reg_register_request sq = {
        .name = "fraud", .artifact_path = fx_model_file(&f, 3), .skip_gate = 1};
    struct reg_version v;
    FX_RC(&f, registry_register(f.r, &sq, &v, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(v.version, 3);
    reg_version_free(&v);

    struct reg_deployment d;
    FX_RC(&f, deploy(&f, "fraud", 3, -1, &d), MMSP_E_POLICY);
    assert_non_null(strstr(f.err, "--force"));
    struct reg_deploy_request q = {
        .name = "fraud", .environment = "staging", .model = "fraud", .version = 3, .canary = -1};
    FX_RC(&f, registry_deploy(f.r, &q, &d, f.err, sizeof f.err), MMSP_OK); /* staging is fine */
    reg_deployment_free(&d);
    q.environment = "production";
    q.force = 1;
    FX_RC(&f, registry_deploy(f.r, &q, &d, f.err, sizeof f.err), MMSP_OK);
    reg_deployment_free(&d);

    /* Archived versions are not deployed, but can be rolled back to. */
    FX_RC(&f,
          registry_version_stage(f.r, "fraud", 1, REG_STAGE_ARCHIVED, 0, NULL, NULL, f.err,
                                 sizeof f.err),
          MMSP_OK);
    FX_RC(&f, deploy(&f, NULL, 1, -1, &d), MMSP_E_CONFLICT);
    assert_non_null(strstr(f.err, "Archived"));
    FX_RC(&f, deploy(&f, NULL, 1, 10, &d), MMSP_E_CONFLICT);
    FX_RC(&f, registry_rollback(f.r, "fraud", NULL, 1, NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_OK);
    assert_int_equal(d.stable_version, 1);
    reg_deployment_free(&d);

    /* bad arguments */
    FX_RC(&f, deploy(&f, NULL, 2, 101, &d), MMSP_E_INVALID);
    FX_RC(&f, deploy(&f, NULL, 2, -2, &d), MMSP_E_INVALID);
    struct reg_deploy_request bad = {.name = "a/b", .model = "fraud", .version = 1, .canary = -1};
    FX_RC(&f, registry_deploy(f.r, &bad, &d, f.err, sizeof f.err), MMSP_E_INVALID);
    FX_RC(&f, registry_promote(f.r, "fraud", "qa", NULL, NULL, &d, f.err, sizeof f.err),
          MMSP_E_INVALID);

    /* events from other modules: appended, validated */
    FX_RC(&f,
          registry_event_append(f.r, "fraud", "production", "controller", "canary_step",
                                "{\"weight\": 25}", f.err, sizeof f.err),
          MMSP_OK);
    FX_RC(&f,
          registry_event_append(f.r, "fraud", "production", "controller", "x", "[1]", f.err,
                                sizeof f.err),
          MMSP_E_INVALID);
    FX_RC(&f,
          registry_event_append(f.r, "fraud", "production", "controller", "x", "{bad", f.err,
                                sizeof f.err),
          MMSP_E_INVALID);
    struct reg_event *ev;
    size_t n;
    FX_RC(&f, registry_history(f.r, "fraud", "production", &ev, &n, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(ev[n - 1].action, "canary_step");
    assert_string_equal(ev[n - 1].who, "controller");
    reg_event_list_free(ev, n);
    fx_close(&f);
}

int main(void)
{
    printf("backend: %s\n", testdb_backend_name());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canary_promote_rollback),
        cmocka_unit_test(test_environments_aliases_shadow),
        cmocka_unit_test(test_deploy_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
