/*
 * Registered models on a real store: create (a taken name is MMSP_E_EXISTS), update, tags,
 * rename carrying versions, metrics, tags, aliases and deployments, aliases moving between
 * versions (MLflow semantics), search by exact name and LIKE pattern with paging and a
 * refused garbage token, delete refused while deployed. Also the stage name helpers.
 * SQLite by default, PostgreSQL with MMSP_TEST_PG_URL (testdb.h).
 */
#include "test_registry_fixture.h"

static void test_create_update_tags(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "models_create");
    struct reg_kv tags[] = {{"team", "risk"}, {"tier", "1"}};
    struct reg_model m;
    FX_RC(&f,
          registry_model_create(f.r, "fraud", "detects fraud", tags, 2, &m, f.err, sizeof f.err),
          MMSP_OK);
    assert_string_equal(m.name, "fraud");
    assert_string_equal(m.description, "detects fraud");
    assert_int_equal(m.n_tags, 2);
    assert_int_equal(m.latest_version, 0);
    assert_true(m.created_ms > 1600000000000LL);
    int64_t created = m.created_ms;
    reg_model_free(&m);
    FX_RC(&f, registry_model_create(f.r, "fraud", NULL, NULL, 0, NULL, f.err, sizeof f.err),
          MMSP_E_EXISTS);
    assert_non_null(strstr(f.err, "already exists"));
    FX_RC(&f, registry_model_create(f.r, "..", NULL, NULL, 0, NULL, f.err, sizeof f.err),
          MMSP_E_INVALID);
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    FX_RC(&f, registry_model_create(f.r, longname, NULL, NULL, 0, NULL, f.err, sizeof f.err),
          MMSP_E_INVALID);
    /* not UTF-8: refused the same way on both engines (PostgreSQL would refuse it itself) */
    FX_RC(&f, registry_model_create(f.r, "caf\xe9", NULL, NULL, 0, NULL, f.err, sizeof f.err),
          MMSP_E_INVALID);
    FX_RC(&f,
          registry_model_create(f.r, "ok", "\xc0\xaf overlong", NULL, 0, NULL, f.err, sizeof f.err),
          MMSP_E_INVALID);
    FX_RC(&f,
          registry_model_create(f.r, "caf\xc3\xa9 \xf0\x9f\x98\x80", NULL, NULL, 0, NULL, f.err,
                                sizeof f.err),
          MMSP_OK);

    FX_RC(&f, registry_model_update(f.r, "fraud", "v2 text", &m, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(m.description, "v2 text");
    assert_int_equal(m.created_ms, created);
    reg_model_free(&m);
    FX_RC(&f, registry_model_update(f.r, "nope", "x", &m, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    assert_non_null(strstr(f.err, "name=nope"));

    FX_RC(&f, registry_model_set_tag(f.r, "fraud", "team", "ops", f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_model_delete_tag(f.r, "fraud", "tier", f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_model_set_tag(f.r, "nope", "a", "b", f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    FX_RC(&f, registry_model_get(f.r, "fraud", &m, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(m.n_tags, 1);
    assert_string_equal(m.tags[0].key, "team");
    assert_string_equal(m.tags[0].value, "ops");
    reg_model_free(&m);
    fx_close(&f);
}

static void test_rename_carries_everything(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "models_rename");
    fx_register(&f, "fraud", 1);
    fx_register(&f, "fraud", 2);
    fx_register(&f, "other", 3);
    FX_RC(&f, registry_model_set_tag(f.r, "fraud", "team", "risk", f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_version_set_tag(f.r, "fraud", 2, "note", "good", f.err, sizeof f.err),
          MMSP_OK);
    FX_RC(&f, registry_alias_set(f.r, "fraud", "champion", 2, f.err, sizeof f.err), MMSP_OK);
    struct reg_deploy_request dq = {
        .name = "fraud-prod", .model = "fraud", .version = 1, .canary = -1};
    FX_RC(&f, registry_deploy(f.r, &dq, NULL, f.err, sizeof f.err), MMSP_OK);

    FX_RC(&f, registry_model_rename(f.r, "fraud", "other", NULL, f.err, sizeof f.err),
          MMSP_E_EXISTS);
    FX_RC(&f, registry_model_rename(f.r, "nope", "nope2", NULL, f.err, sizeof f.err),
          MMSP_E_NOT_FOUND);
    struct reg_model m;
    FX_RC(&f, registry_model_rename(f.r, "fraud", "fraud-v2", &m, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(m.name, "fraud-v2");
    assert_int_equal(m.latest_version, 2);
    assert_int_equal(m.n_tags, 1);
    assert_int_equal(m.n_aliases, 1);
    assert_string_equal(m.aliases[0].key, "champion");
    assert_string_equal(m.aliases[0].value, "2");
    reg_model_free(&m);
    FX_RC(&f, registry_model_get(f.r, "fraud", &m, f.err, sizeof f.err), MMSP_E_NOT_FOUND);

    struct reg_version v;
    FX_RC(&f, registry_version_get(f.r, "fraud-v2", 2, &v, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(v.name, "fraud-v2");
    assert_int_equal(v.n_tags, 1);
    assert_int_equal(v.n_metrics, 3);
    assert_int_equal(v.n_aliases, 1);
    reg_version_free(&v);
    FX_RC(&f, registry_alias_get(f.r, "fraud-v2", "champion", &v, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(v.version, 2);
    reg_version_free(&v);

    struct reg_deployment d;
    FX_RC(&f, registry_deployment_get(f.r, "fraud-prod", NULL, &d, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(d.model, "fraud-v2");
    reg_deployment_free(&d);
    /* and the deployment keeps working under the new name */
    dq.model = NULL;
    dq.version = 2;
    FX_RC(&f, registry_deploy(f.r, &dq, &d, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(d.stable_version, 2);
    reg_deployment_free(&d);
    fx_close(&f);
}

static void test_aliases_move(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "models_alias");
    fx_register(&f, "fraud", 1);
    fx_register(&f, "fraud", 2);
    FX_RC(&f, registry_alias_set(f.r, "fraud", "champion", 1, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_alias_set(f.r, "fraud", "challenger", 2, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_alias_set(f.r, "fraud", "champion", 2, f.err, sizeof f.err), MMSP_OK);
    struct reg_version v;
    FX_RC(&f, registry_version_get(f.r, "fraud", 1, &v, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(v.n_aliases, 0);
    reg_version_free(&v);
    FX_RC(&f, registry_version_get(f.r, "fraud", 2, &v, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(v.n_aliases, 2);
    assert_string_equal(v.aliases[0], "challenger");
    assert_string_equal(v.aliases[1], "champion");
    reg_version_free(&v);

    FX_RC(&f, registry_alias_set(f.r, "fraud", "x", 9, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    FX_RC(&f, registry_alias_set(f.r, "nope", "x", 1, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    FX_RC(&f, registry_alias_set(f.r, "fraud", "latest", 1, f.err, sizeof f.err), MMSP_E_INVALID);
    FX_RC(&f, registry_alias_set(f.r, "fraud", "v3", 1, f.err, sizeof f.err), MMSP_E_INVALID);
    FX_RC(&f, registry_alias_get(f.r, "fraud", "nope", &v, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    FX_RC(&f, registry_alias_delete(f.r, "fraud", "champion", f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_alias_get(f.r, "fraud", "champion", &v, f.err, sizeof f.err),
          MMSP_E_NOT_FOUND);

    /* deleting a version takes its aliases with it */
    FX_RC(&f, registry_version_delete(f.r, "fraud", 2, f.err, sizeof f.err), MMSP_OK);
    struct reg_model m;
    FX_RC(&f, registry_model_get(f.r, "fraud", &m, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(m.n_aliases, 0);
    reg_model_free(&m);
    fx_close(&f);
}

static void test_search_paging(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "models_search");
    const char *names[] = {"spam-b", "Fraud-a", "fraud-b", "fraud-a", "fraud_c", "spam-a"};
    for (size_t i = 0; i < 6; i++)
        FX_RC(&f, registry_model_create(f.r, names[i], NULL, NULL, 0, NULL, f.err, sizeof f.err),
              MMSP_OK);
    struct reg_model *page;
    size_t n;
    char *next = NULL;
    /* all, by name (bytes: upper case first), in pages of 4 */
    FX_RC(&f, registry_model_search(f.r, NULL, 0, 4, NULL, &page, &n, &next, f.err, sizeof f.err),
          MMSP_OK);
    assert_int_equal(n, 4);
    assert_string_equal(page[0].name, "Fraud-a");
    assert_string_equal(page[1].name, "fraud-a");
    assert_string_equal(page[3].name, "fraud_c");
    assert_non_null(next);
    reg_model_list_free(page, n);
    char *tok = next;
    FX_RC(&f, registry_model_search(f.r, NULL, 0, 4, tok, &page, &n, &next, f.err, sizeof f.err),
          MMSP_OK);
    free(tok);
    assert_int_equal(n, 2);
    assert_string_equal(page[1].name, "spam-b");
    assert_null(next);
    reg_model_list_free(page, n);

    /* LIKE is case-sensitive on both engines; '_' matches one character unless escaped */
    FX_RC(&f,
          registry_model_search(f.r, "fraud%", 0, 100, NULL, &page, &n, &next, f.err, sizeof f.err),
          MMSP_OK);
    assert_int_equal(n, 3);
    reg_model_list_free(page, n);
    FX_RC(&f,
          registry_model_search(f.r, "fraud\\_%", 0, 100, NULL, &page, &n, &next, f.err,
                                sizeof f.err),
          MMSP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(page[0].name, "fraud_c");
    reg_model_list_free(page, n);
    FX_RC(
        &f,
        registry_model_search(f.r, "fraud-a", 1, 100, NULL, &page, &n, &next, f.err, sizeof f.err),
        MMSP_OK);
    assert_int_equal(n, 1);
    reg_model_list_free(page, n);
    /* a page token past the end gives nothing */
    FX_RC(&f,
          registry_model_search(f.r, "spam%", 0, 1, NULL, &page, &n, &next, f.err, sizeof f.err),
          MMSP_OK);
    assert_int_equal(n, 1);
    reg_model_list_free(page, n);
    tok = next;
    FX_RC(&f, registry_model_search(f.r, "spam%", 0, 1, tok, &page, &n, &next, f.err, sizeof f.err),
          MMSP_OK);
    free(tok);
    assert_int_equal(n, 1);
    assert_string_equal(page[0].name, "spam-b");
    assert_null(next);
    reg_model_list_free(page, n);

    const char *garbage[] = {"x", "!!!!", "eyJvZmZzZXQiOiAtMX0=" /* {"offset": -1} */,
                             "eyJhIjogMX0=" /* {"a": 1} */, "e30=" /* {} */};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        FX_RC(&f,
              registry_model_search(f.r, NULL, 0, 4, garbage[i], &page, &n, &next, f.err,
                                    sizeof f.err),
              MMSP_E_INVALID);
    FX_RC(&f, registry_model_search(f.r, NULL, 0, 0, NULL, &page, &n, &next, f.err, sizeof f.err),
          MMSP_E_INVALID);
    FX_RC(&f,
          registry_model_search(f.r, "fraud\\", 0, 4, NULL, &page, &n, &next, f.err, sizeof f.err),
          MMSP_E_INVALID);
    FX_RC(
        &f,
        registry_model_search(f.r, "fraud\\\\", 0, 4, NULL, &page, &n, &next, f.err, sizeof f.err),
        MMSP_OK); /* an escaped backslash is fine */
    assert_int_equal(n, 0);
    FX_RC(&f,
          registry_model_search(f.r, NULL, 0, 1001, NULL, &page, &n, &next, f.err, sizeof f.err),
          MMSP_E_INVALID);
    fx_close(&f);
}

static void test_delete(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "models_delete");
    fx_register(&f, "fraud", 1);
    fx_register(&f, "fraud", 2);
    fx_register(&f, "spam", 1);
    struct reg_deploy_request dq = {.name = "fraud", .model = "fraud", .version = 1, .canary = -1};
    FX_RC(&f, registry_deploy(f.r, &dq, NULL, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_model_delete(f.r, "fraud", f.err, sizeof f.err), MMSP_E_CONFLICT);
    FX_RC(&f, registry_version_delete(f.r, "fraud", 1, f.err, sizeof f.err), MMSP_E_CONFLICT);
    assert_non_null(strstr(f.err, "deployment fraud"));
    FX_RC(&f, registry_version_delete(f.r, "fraud", 2, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_model_delete(f.r, "spam", f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_model_delete(f.r, "spam", f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    struct reg_version v;
    FX_RC(&f, registry_version_get(f.r, "spam", 1, &v, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    /* the name is free again and numbering starts over */
    assert_int_equal(fx_register(&f, "spam", 2), 1);
    fx_close(&f);
}

static void test_stage_names(void **state)
{
    (void)state;
    assert_string_equal(reg_stage_name(REG_STAGE_NONE), "None");
    assert_string_equal(reg_stage_name(REG_STAGE_ARCHIVED), "Archived");
    assert_int_equal(reg_stage_parse("production"), REG_STAGE_PRODUCTION);
    assert_int_equal(reg_stage_parse("STAGING"), REG_STAGE_STAGING);
    assert_int_equal(reg_stage_parse("none"), REG_STAGE_NONE);
    assert_int_equal(reg_stage_parse("prod"), -1);
    assert_int_equal(reg_stage_parse(NULL), -1);
}

static void test_reopen_keeps_schema(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "models_reopen");
    fx_register(&f, "fraud", 1);
    fx_close(&f);
    f.r = fx_reopen(&f, NULL);
    struct reg_version v;
    FX_RC(&f, registry_version_get(f.r, "fraud", 1, &v, f.err, sizeof f.err), MMSP_OK);
    reg_version_free(&v);
    /* user NULL: "unknown" */
    FX_RC(&f, registry_model_create(f.r, "m2", NULL, NULL, 0, NULL, f.err, sizeof f.err), MMSP_OK);
    struct reg_model m;
    FX_RC(&f, registry_model_get(f.r, "m2", &m, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(m.user_id, "unknown");
    reg_model_free(&m);
    assert_string_equal(registry_data_dir(f.r), f.data);
    fx_close(&f);
}

int main(void)
{
    printf("backend: %s\n", testdb_backend_name());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_update_tags),
        cmocka_unit_test(test_rename_carries_everything),
        cmocka_unit_test(test_aliases_move),
        cmocka_unit_test(test_search_paging),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_stage_names),
        cmocka_unit_test(test_reopen_keeps_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
