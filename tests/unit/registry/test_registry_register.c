/*
 * Registration (registry_register) on a real store: versions are numbered per model; the
 * artifact is content-addressed and verified; an artifact the runtime refuses is refused with
 * the runtime's message and nothing is stored; a failing gate stores nothing; --force
 * registers and records the failures in the history; --metric and lineage flags override the
 * manifest; no manifest gives one made of the flags; skip_gate gives "not_evaluated".
 * SQLite by default, PostgreSQL with MMSP_TEST_PG_URL (testdb.h).
 */
#include "test_registry_fixture.h"

#include <jansson.h>
#include <openssl/evp.h>

#include "mmsp/runtime.h"
#include "registry/artifacts.h"

static void test_register_numbers_and_stores(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "reg_basic");
    char manifest[2048], model[8192];
    fx_manifest(0.94, 0.9, manifest, sizeof manifest);
    const char *path = fx_model_file(&f, 1);
    struct reg_kv tags[] = {{"team", "risk"}};
    struct reg_register_request q = {
        .name = "fraud",
        .artifact_path = path,
        .manifest_text = manifest,
        .manifest_len = strlen(manifest),
        .manifest_name = "manifest.yaml",
        .tags = tags,
        .n_tags = 1,
        .description = "first",
    };
    struct reg_version v;
    FX_RC(&f, registry_register(f.r, &q, &v, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(v.version, 1);
    assert_string_equal(v.name, "fraud");
    assert_string_equal(v.format, "xgboost");
    assert_string_equal(v.status, "READY");
    assert_string_equal(v.gate_status, "passed");
    assert_int_equal(v.stage, REG_STAGE_NONE);
    assert_string_equal(v.source, path);
    assert_string_equal(v.user_id, "tester");
    assert_string_equal(v.description, "first");
    assert_string_equal(v.git_sha, "abc123");
    assert_string_equal(v.dataset_version, "2024-01");
    assert_string_equal(v.approver, "alice");
    assert_string_equal(v.framework, "xgboost");
    assert_string_equal(v.manifest, manifest);
    assert_int_equal(v.n_tags, 1);
    assert_string_equal(v.tags[0].key, "team");
    assert_int_equal(v.n_metrics, 3); /* accuracy, auc, f1_score (sorted) */
    assert_string_equal(v.metrics[0].key, "accuracy");
    assert_true(v.metrics[0].value == 0.94);
    assert_string_equal(v.metrics[1].key, "auc");
    assert_string_equal(v.metrics[2].key, "f1_score");
    json_t *report = json_loads(v.gate_report, 0, NULL);
    assert_non_null(report);
    assert_true(json_is_true(json_object_get(report, "passed")));
    json_decref(report);

    /* The digest is the SHA-256 of the bytes, and the file is where it should be. */
    char hex[65];
    fx_model_json(1, model, sizeof model);
    assert_int_equal(artifact_sha256(model, strlen(model), hex), MMSP_OK);
    assert_string_equal(v.digest, hex);
    assert_int_equal(v.size, (int64_t)strlen(model));
    char apath[4096], want[4096];
    FX_RC(&f, registry_artifact_path(f.r, &v, 1, apath, sizeof apath, f.err, sizeof f.err),
          MMSP_OK);
    snprintf(want, sizeof want, "%s/artifacts/sha256/%.2s/%s", f.data, hex, hex);
    assert_string_equal(apath, want);
    reg_version_free(&v);

    /* Numbering: 2, 3 for this model; another model starts at 1. The same bytes again
     * share one file. */
    assert_int_equal(fx_register(&f, "fraud", 1), 2);
    assert_int_equal(fx_register(&f, "fraud", 2), 3);
    assert_int_equal(fx_register(&f, "spam", 1), 1);
    char adir[600];
    snprintf(adir, sizeof adir, "%s/artifacts", f.data);
    assert_int_equal(fx_count_files(adir), 2);

    struct reg_model m;
    FX_RC(&f, registry_model_get(f.r, "fraud", &m, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(m.latest_version, 3);
    assert_string_equal(m.user_id, "tester");
    reg_model_free(&m);

    /* Bytes instead of a file (HTTP upload), format from the content. */
    struct reg_register_request qb = {
        .name = "fraud",
        .artifact_data = model,
        .artifact_len = strlen(model),
        .manifest_text = manifest,
        .manifest_len = strlen(manifest),
        .source = "upload",
        .who = "bob",
    };
    FX_RC(&f, registry_register(f.r, &qb, &v, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(v.version, 4);
    assert_string_equal(v.source, "upload");
    assert_string_equal(v.user_id, "bob");
    reg_version_free(&v);
    fx_close(&f);
}

static void test_refused_artifact_stores_nothing(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "reg_refused");
    char manifest[2048];
    fx_manifest(0.94, 0.9, manifest, sizeof manifest);
    /* Valid JSON, but not a model: the XGBoost loader's own message comes back. */
    const char *bad = fx_write(&f, "broken.json", "{\"learner\": {\"objective\": 3}}");
    struct reg_register_request q = {.name = "fraud",
                                     .artifact_path = bad,
                                     .manifest_text = manifest,
                                     .manifest_len = strlen(manifest)};
    struct reg_version v;
    char runtime_err[MMSP_ERRMSG_MAX];
    mmsp_model *m = NULL;
    assert_int_not_equal(mmsp_model_load(bad, &m, runtime_err, sizeof runtime_err), MMSP_OK);
    FX_RC(&f, registry_register(f.r, &q, &v, f.err, sizeof f.err), MMSP_E_BAD_MODEL);
    assert_string_equal(f.err, runtime_err);
    assert_non_null(strstr(f.err, "broken.json"));

    /* Not JSON, not ONNX: nothing recognises it. */
    const char *junk = fx_write(&f, "junk.bin", "\x01\x02 not a model");
    q.artifact_path = junk;
    FX_RC(&f, registry_register(f.r, &q, &v, f.err, sizeof f.err), MMSP_E_UNSUPPORTED);
    assert_non_null(strstr(f.err, "junk.bin"));

    /* A missing file. */
    q.artifact_path = "/nonexistent/model.json";
    FX_RC(&f, registry_register(f.r, &q, &v, f.err, sizeof f.err), MMSP_E_NOT_FOUND);

    struct reg_model rm;
    FX_RC(&f, registry_model_get(f.r, "fraud", &rm, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    char adir[600];
    snprintf(adir, sizeof adir, "%s/artifacts", f.data);
    assert_int_equal(fx_count_files(adir), 0);
    fx_close(&f);
}

static void test_gate_refusal_stores_nothing(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "reg_gate");
    char manifest[2048];
    fx_manifest(0.70, 0.9, manifest, sizeof manifest);
    struct reg_register_request q = {.name = "fraud",
                                     .artifact_path = fx_model_file(&f, 1),
                                     .manifest_text = manifest,
                                     .manifest_len = strlen(manifest),
                                     .manifest_name = "m.yaml"};
    struct reg_version v;
    FX_RC(&f, registry_register(f.r, &q, &v, f.err, sizeof f.err), MMSP_E_POLICY);
    assert_non_null(strstr(f.err, "accuracy"));
    struct reg_model rm;
    FX_RC(&f, registry_model_get(f.r, "fraud", &rm, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    char adir[600];
    snprintf(adir, sizeof adir, "%s/artifacts", f.data);
    assert_int_equal(fx_count_files(adir), 0);
    struct reg_event *ev;
    size_t n;
    FX_RC(&f, registry_history(f.r, NULL, NULL, &ev, &n, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(n, 0);

    /* A manifest error names the file, line and field. */
    const char *broken = "apiVersion: mlifecycle.io/v1\nkind: ModelDeployment\nspec:\n"
                         "  model: {name: fraud}\n  metrics: {accuracy: high}\n";
    q.manifest_text = broken;
    q.manifest_len = strlen(broken);
    mmsp_err rc = registry_register(f.r, &q, &v, f.err, sizeof f.err);
    assert_int_not_equal(rc, MMSP_OK);
    assert_non_null(strstr(f.err, "m.yaml:5"));
    assert_non_null(strstr(f.err, "spec.metrics.accuracy"));
    fx_close(&f);
}

static void test_force_is_recorded(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "reg_force");
    char manifest[2048];
    fx_manifest(0.70, 0.5, manifest, sizeof manifest);
    struct reg_register_request q = {.name = "fraud",
                                     .artifact_path = fx_model_file(&f, 1),
                                     .manifest_text = manifest,
                                     .manifest_len = strlen(manifest),
                                     .force = 1,
                                     .who = "carol"};
    struct reg_version v;
    FX_RC(&f, registry_register(f.r, &q, &v, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(v.gate_status, "forced");
    json_t *report = json_loads(v.gate_report, 0, NULL);
    assert_true(json_is_false(json_object_get(report, "passed")));
    json_decref(report);
    reg_version_free(&v);

    struct reg_event *ev;
    size_t n;
    FX_RC(&f, registry_history(f.r, NULL, NULL, &ev, &n, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].action, "register");
    assert_string_equal(ev[0].deployment, "");
    assert_string_equal(ev[0].who, "carol");
    json_t *d = json_loads(ev[0].detail, 0, NULL);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "model")), "fraud");
    assert_int_equal(json_integer_value(json_object_get(d, "version")), 1);
    json_t *failures = json_object_get(d, "failures");
    assert_int_equal(json_array_size(failures), 2); /* accuracy and f1 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(failures, 0), "name")),
                        "min-accuracy");
    json_decref(d);
    json_t *ej = reg_event_json(&ev[0]);
    assert_non_null(ej);
    assert_true(json_is_object(json_object_get(ej, "detail")));
    const char *at = json_string_value(json_object_get(ej, "at"));
    assert_non_null(at);
    assert_int_equal(strlen(at), 24); /* 2026-11-22T21:57:46.123Z */
    assert_int_equal(at[23], 'Z');
    json_decref(ej);
    reg_event_list_free(ev, n);
    fx_close(&f);
}

static void test_metrics_and_lineage_override(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "reg_override");
    char manifest[2048];
    fx_manifest(0.70, 0.9, manifest, sizeof manifest); /* fails on its own */
    struct reg_metric metrics[] = {{"accuracy", 0.95}, {"latency_ms", 0.1 + 0.2}};
    struct reg_register_request q = {.name = "fraud",
                                     .artifact_path = fx_model_file(&f, 1),
                                     .manifest_text = manifest,
                                     .manifest_len = strlen(manifest),
                                     .metrics = metrics,
                                     .n_metrics = 2,
                                     .git_sha = "fff999",
                                     .approver = "dave \"the\" approver:\n #x"};
    struct reg_version v;
    FX_RC(&f, registry_register(f.r, &q, &v, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(v.gate_status, "passed");
    assert_string_equal(v.git_sha, "fff999");
    assert_string_equal(v.approver, "dave \"the\" approver:\n #x"); /* YAML-escaped */
    assert_string_equal(v.dataset_version, "2024-01");              /* from the manifest */
    assert_string_equal(v.manifest, manifest);                      /* as registered */
    assert_int_equal(v.n_metrics, 4);
    for (size_t i = 0; i < v.n_metrics; i++) {
        if (strcmp(v.metrics[i].key, "accuracy") == 0)
            assert_true(v.metrics[i].value == 0.95);
        if (strcmp(v.metrics[i].key, "latency_ms") == 0)
            assert_true(v.metrics[i].value == 0.1 + 0.2); /* exact round trip */
        if (strcmp(v.metrics[i].key, "f1_score") == 0)
            assert_true(v.metrics[i].value == 0.9);
    }
    reg_version_free(&v);

    /* No manifest: one is made of the flags. The built-in policy wants a fairness
     * evaluation, which flags cannot give: refused; a policy file of our own passes. */
    struct reg_metric good[] = {{"accuracy", 0.9}, {"f1_score", 0.85}};
    struct reg_register_request nq = {.name = "fraud",
                                      .artifact_path = fx_model_file(&f, 2),
                                      .metrics = good,
                                      .n_metrics = 2,
                                      .dataset_version = "ds-7"};
    FX_RC(&f, registry_register(f.r, &nq, &v, f.err, sizeof f.err), MMSP_E_POLICY);
    assert_non_null(strstr(f.err, "fairness"));
    nq.policy_path = fx_write(&f, "policy.yaml",
                              "rules:\n  - name: acc\n    field: spec.metrics.accuracy\n"
                              "    op: \">=\"\n    value: 0.85\n"
                              "  - name: ds\n    field: spec.lineage.dataset_version\n"
                              "    op: \"==\"\n    value: ds-7\n");
    FX_RC(&f, registry_register(f.r, &nq, &v, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(v.version, 2);
    assert_string_equal(v.gate_status, "passed");
    assert_null(v.manifest);
    assert_string_equal(v.dataset_version, "ds-7");
    assert_string_equal(v.framework, "xgboost"); /* from the format */
    assert_int_equal(v.n_metrics, 2);
    reg_version_free(&v);
    good[0].value = 0.5;
    FX_RC(&f, registry_register(f.r, &nq, &v, f.err, sizeof f.err), MMSP_E_POLICY);
    assert_non_null(strstr(f.err, "acc"));

    /* skip_gate (MLflow API): not evaluated, nothing refused. */
    struct reg_register_request sq = {
        .name = "fraud", .artifact_path = fx_model_file(&f, 3), .skip_gate = 1};
    FX_RC(&f, registry_register(f.r, &sq, &v, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(v.gate_status, "not_evaluated");
    assert_null(v.gate_report);
    assert_int_equal(v.version, 3);
    reg_version_free(&v);

    /* Bad input is refused before anything happens. */
    struct reg_metric nan_metric[] = {{"accuracy", 0.0 / 0.0}};
    sq.metrics = nan_metric;
    sq.n_metrics = 1;
    FX_RC(&f, registry_register(f.r, &sq, &v, f.err, sizeof f.err), MMSP_E_INVALID);
    sq.n_metrics = 0;
    sq.name = "bad/name";
    FX_RC(&f, registry_register(f.r, &sq, &v, f.err, sizeof f.err), MMSP_E_INVALID);
    sq.name = "";
    FX_RC(&f, registry_register(f.r, &sq, &v, f.err, sizeof f.err), MMSP_E_INVALID);
    fx_close(&f);
}

static void test_versions_tags_stage_search(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "reg_versions");
    for (int i = 1; i <= 5; i++)
        assert_int_equal(fx_register(&f, "fraud", i), i);
    assert_int_equal(fx_register(&f, "alpha", 1), 1);

    /* tags */
    FX_RC(&f, registry_version_set_tag(f.r, "fraud", 2, "k", "v1", f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_version_set_tag(f.r, "fraud", 2, "k", "v2", f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_version_set_tag(f.r, "fraud", 9, "k", "v", f.err, sizeof f.err),
          MMSP_E_NOT_FOUND);
    struct reg_version v;
    FX_RC(&f, registry_version_get(f.r, "fraud", 2, &v, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(v.n_tags, 1);
    assert_string_equal(v.tags[0].value, "v2");
    reg_version_free(&v);
    FX_RC(&f, registry_version_delete_tag(f.r, "fraud", 2, "k", f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_version_get(f.r, "fraud", 2, &v, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(v.n_tags, 0);
    reg_version_free(&v);

    /* update */
    FX_RC(&f, registry_version_update(f.r, "fraud", 3, "better", &v, f.err, sizeof f.err), MMSP_OK);
    assert_string_equal(v.description, "better");
    reg_version_free(&v);
    FX_RC(&f, registry_version_update(f.r, "fraud", 30, "x", &v, f.err, sizeof f.err),
          MMSP_E_NOT_FOUND);
    assert_non_null(strstr(f.err, "version=30"));

    /* stages: two in Production, then a third with archive_existing */
    FX_RC(&f,
          registry_version_stage(f.r, "fraud", 1, REG_STAGE_PRODUCTION, 0, "eve", &v, f.err,
                                 sizeof f.err),
          MMSP_OK);
    assert_int_equal(v.stage, REG_STAGE_PRODUCTION);
    reg_version_free(&v);
    FX_RC(&f,
          registry_version_stage(f.r, "fraud", 2, REG_STAGE_PRODUCTION, 0, NULL, NULL, f.err,
                                 sizeof f.err),
          MMSP_OK);
    FX_RC(&f,
          registry_version_stage(f.r, "fraud", 4, REG_STAGE_STAGING, 0, NULL, NULL, f.err,
                                 sizeof f.err),
          MMSP_OK);
    FX_RC(&f,
          registry_version_stage(f.r, "fraud", 3, REG_STAGE_PRODUCTION, 1, NULL, NULL, f.err,
                                 sizeof f.err),
          MMSP_OK);
    for (int64_t i = 1; i <= 4; i++) {
        FX_RC(&f, registry_version_get(f.r, "fraud", i, &v, f.err, sizeof f.err), MMSP_OK);
        enum reg_stage want[] = {0, REG_STAGE_ARCHIVED, REG_STAGE_ARCHIVED, REG_STAGE_PRODUCTION,
                                 REG_STAGE_STAGING};
        assert_int_equal(v.stage, want[i]);
        reg_version_free(&v);
    }
    struct reg_event *ev;
    size_t ne;
    FX_RC(&f, registry_history(f.r, "", NULL, &ev, &ne, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(ne, 4);
    assert_string_equal(ev[0].action, "stage");
    assert_string_equal(ev[0].who, "eve");
    json_t *d = json_loads(ev[3].detail, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(d, "archived")), 2);
    json_decref(d);
    reg_event_list_free(ev, ne);

    /* latest versions per stage */
    struct reg_version *lv;
    size_t n;
    FX_RC(&f, registry_latest_versions(f.r, "fraud", NULL, 0, &lv, &n, f.err, sizeof f.err),
          MMSP_OK);
    assert_int_equal(n, 4); /* None: 5, Staging: 4, Production: 3, Archived: 2 */
    assert_int_equal(lv[0].version, 5);
    assert_int_equal(lv[1].version, 4);
    assert_int_equal(lv[2].version, 3);
    assert_int_equal(lv[3].version, 2);
    reg_version_list_free(lv, n);
    const char *prod[] = {"production"};
    FX_RC(&f, registry_latest_versions(f.r, "fraud", prod, 1, &lv, &n, f.err, sizeof f.err),
          MMSP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(lv[0].version, 3);
    reg_version_list_free(lv, n);
    const char *bad[] = {"Prod"};
    FX_RC(&f, registry_latest_versions(f.r, "fraud", bad, 1, &lv, &n, f.err, sizeof f.err),
          MMSP_E_INVALID);
    FX_RC(&f, registry_latest_versions(f.r, "nope", NULL, 0, &lv, &n, f.err, sizeof f.err),
          MMSP_E_NOT_FOUND);

    /* search with paging: alpha 1, fraud 1..5 in pages of 4 */
    struct reg_version *page;
    char *next = NULL;
    FX_RC(&f, registry_version_search(f.r, NULL, 4, NULL, &page, &n, &next, f.err, sizeof f.err),
          MMSP_OK);
    assert_int_equal(n, 4);
    assert_string_equal(page[0].name, "alpha");
    assert_int_equal(page[3].version, 3);
    assert_non_null(next);
    reg_version_list_free(page, n);
    char *tok = next;
    FX_RC(&f, registry_version_search(f.r, NULL, 4, tok, &page, &n, &next, f.err, sizeof f.err),
          MMSP_OK);
    free(tok);
    assert_int_equal(n, 2);
    assert_int_equal(page[1].version, 5);
    assert_null(next);
    reg_version_list_free(page, n);
    FX_RC(&f,
          registry_version_search(f.r, "fraud", 1000, NULL, &page, &n, &next, f.err, sizeof f.err),
          MMSP_OK);
    assert_int_equal(n, 5);
    reg_version_list_free(page, n);
    FX_RC(&f,
          registry_version_search(f.r, NULL, 4, "garbage!", &page, &n, &next, f.err, sizeof f.err),
          MMSP_E_INVALID);

    /* delete: gone, and the next number still grows past the rest */
    FX_RC(&f, registry_version_delete(f.r, "fraud", 5, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_version_get(f.r, "fraud", 5, &v, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    FX_RC(&f, registry_version_delete(f.r, "fraud", 5, f.err, sizeof f.err), MMSP_E_NOT_FOUND);
    assert_int_equal(fx_register(&f, "fraud", 6), 5);
    fx_close(&f);
}

static void test_json_forms(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "reg_json");
    fx_register(&f, "fraud", 1);
    FX_RC(&f, registry_alias_set(f.r, "fraud", "champion", 1, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_version_set_tag(f.r, "fraud", 1, "k", "v", f.err, sizeof f.err), MMSP_OK);
    struct reg_version v;
    FX_RC(&f, registry_version_get(f.r, "fraud", 1, &v, f.err, sizeof f.err), MMSP_OK);

    json_t *j = reg_version_json(&v);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "stage")), "None");
    assert_true(json_real_value(json_object_get(json_object_get(j, "metrics"), "accuracy")) ==
                0.94);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "lineage"), "git_sha")), "abc123");
    assert_true(json_is_object(json_object_get(j, "gate_report")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "aliases"), 0)),
                        "champion");
    assert_true(json_is_null(json_object_get(j, "run_id"))); /* present as null */
    json_decref(j);

    j = reg_version_mlflow_json(&v);
    assert_string_equal(json_string_value(json_object_get(j, "version")), "1");
    assert_string_equal(json_string_value(json_object_get(j, "current_stage")), "None");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "READY");
    assert_true(json_is_integer(json_object_get(j, "creation_timestamp")));
    json_t *tag = json_array_get(json_object_get(j, "tags"), 0);
    assert_string_equal(json_string_value(json_object_get(tag, "key")), "k");
    assert_string_equal(json_string_value(json_object_get(tag, "value")), "v");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "aliases"), 0)),
                        "champion");
    json_decref(j);
    reg_version_free(&v);

    struct reg_model m;
    FX_RC(&f, registry_model_get(f.r, "fraud", &m, f.err, sizeof f.err), MMSP_OK);
    j = reg_model_json(&m);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "aliases"), "champion")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(j, "latest_version")), 1);
    json_decref(j);
    j = reg_model_mlflow_json(f.r, &m);
    json_t *lv = json_object_get(j, "latest_versions");
    assert_int_equal(json_array_size(lv), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(lv, 0), "version")), "1");
    json_t *al = json_array_get(json_object_get(j, "aliases"), 0);
    assert_string_equal(json_string_value(json_object_get(al, "alias")), "champion");
    assert_string_equal(json_string_value(json_object_get(al, "version")), "1");
    json_decref(j);
    reg_model_free(&m);
    fx_close(&f);
}

int main(void)
{
    printf("backend: %s\n", testdb_backend_name());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_numbers_and_stores),
        cmocka_unit_test(test_refused_artifact_stores_nothing),
        cmocka_unit_test(test_gate_refusal_stores_nothing),
        cmocka_unit_test(test_force_is_recorded),
        cmocka_unit_test(test_metrics_and_lineage_override),
        cmocka_unit_test(test_versions_tags_stage_search),
        cmocka_unit_test(test_json_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
