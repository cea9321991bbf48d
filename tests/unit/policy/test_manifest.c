/*
 * Unit tests for src/policy manifests: the seed 001 example, every section (dependencies in
 * both forms, lineage, unknown keys kept), each kind of error with its exact
 * "file:line: field: message", the limits (size, depth, node count, scalar length, aliases),
 * loading from files, and manifest_to_yaml round trips.
 * Calls: policy/policy.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/policy.h"

static const char seed_manifest[] = "apiVersion: mlifecycle.io/v1\n"
                                    "kind: ModelDeployment\n"
                                    "spec:\n"
                                    "  model:\n"
                                    "    name: fraud-detector\n"
                                    "    version: \"2.1.0\"\n"
                                    "    framework: pytorch\n"
                                    "  metrics:\n"
                                    "    accuracy: 0.94\n"
                                    "    f1_score: 0.90\n"
                                    "  fairness:\n"
                                    "    demographic_parity: 0.02\n"
                                    "  drift:\n"
                                    "    score: 0.05\n";

static mmsp_err parse(const char *y, struct manifest *m, char *err)
{
    return manifest_parse(y, strlen(y), "manifest.yaml", m, err, MMSP_ERRMSG_MAX);
}

static void test_seed_example(void **state)
{
    (void)state;
    struct manifest m;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(parse(seed_manifest, &m, err), MMSP_OK);
    assert_string_equal(m.api_version, "mlifecycle.io/v1");
    assert_string_equal(m.kind, "ModelDeployment");
    assert_null(m.metadata_name);
    assert_string_equal(m.model_name, "fraud-detector");
    assert_string_equal(m.model_version, "2.1.0");
    assert_string_equal(m.framework, "pytorch");
    assert_int_equal(m.n_metrics, 2);
    assert_string_equal(m.metrics[0].key, "accuracy");
    assert_true(m.metrics[0].value == 0.94);
    assert_string_equal(m.metrics[1].key, "f1_score");
    assert_true(m.metrics[1].value == 0.90);
    assert_true(m.has_fairness);
    assert_int_equal(m.n_fairness, 1);
    assert_string_equal(m.fairness[0].key, "demographic_parity");
    assert_true(m.fairness[0].value == 0.02);
    assert_true(m.has_drift_score);
    assert_true(m.drift_score == 0.05);
    assert_int_equal(m.n_dependencies, 0);
    assert_null(m.git_sha);
    assert_string_equal(m.text, seed_manifest);
    assert_non_null(m.doc_);
    manifest_free(&m);
    assert_null(m.model_name);
    manifest_free(&m); /* safe twice: the struct is zeroed */
}

static void test_full_manifest(void **state)
{
    (void)state;
    const char *y = "apiVersion: mlifecycle.io/v1\n"
                    "kind: ModelDeployment\n"
                    "metadata: {name: fraud, labels: {team: risk}}\n"
                    "spec:\n"
                    "  model: {name: fraud-detector, version: 3, framework: xgboost, extra: x}\n"
                    "  metrics: {accuracy: 9.4e-1, f1_score: .9, auc: 1, loss: -0.5}\n"
                    "  fairness: {}\n"
                    "  drift: {score: 0, method: psi}\n"
                    "  dependencies:\n"
                    "    - {name: xgboost, version: \"1.7.4\"}\n"
                    "    - numpy==1.26.4\n"
                    "    - scikit_learn\n"
                    "    - name: pandas\n"
                    "  lineage:\n"
                    "    git_sha: 0123abc\n"
                    "    dataset_version: v12\n"
                    "    approver: alice@example.com\n"
                    "    run_id: 42\n"
                    "    ticket: ML-7\n"
                    "  serving: {replicas: 2}\n"
                    "# a trailing comment\n";
    struct manifest m;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(parse(y, &m, err), MMSP_OK);
    assert_string_equal(m.metadata_name, "fraud");
    assert_string_equal(m.model_version, "3");
    assert_string_equal(m.framework, "xgboost");
    assert_int_equal(m.n_metrics, 4);
    assert_true(m.metrics[0].value == 0.94);
    assert_true(m.metrics[1].value == 0.9);
    assert_true(m.metrics[2].value == 1.0);
    assert_true(m.metrics[3].value == -0.5);
    assert_true(m.has_fairness); /* present even when empty */
    assert_int_equal(m.n_fairness, 0);
    assert_true(m.has_drift_score);
    assert_true(m.drift_score == 0.0);
    assert_int_equal(m.n_dependencies, 4);
    assert_string_equal(m.dependencies[0].name, "xgboost");
    assert_string_equal(m.dependencies[0].version, "1.7.4");
    assert_string_equal(m.dependencies[1].name, "numpy");
    assert_string_equal(m.dependencies[1].version, "1.26.4");
    assert_string_equal(m.dependencies[2].name, "scikit_learn");
    assert_null(m.dependencies[2].version);
    assert_string_equal(m.dependencies[3].name, "pandas");
    assert_null(m.dependencies[3].version);
    assert_string_equal(m.git_sha, "0123abc");
    assert_string_equal(m.dataset_version, "v12");
    assert_string_equal(m.approver, "alice@example.com");
    assert_string_equal(m.run_id, "42");
    manifest_free(&m);
}

static void test_optional_sections(void **state)
{
    (void)state;
    struct manifest m;
    char err[MMSP_ERRMSG_MAX];
    const char *y = "apiVersion: mlifecycle.io/v1\nkind: ModelDeployment\n"
                    "spec:\n  model:\n    name: m\n  fairness:\n  drift:\n  dependencies: []\n";
    assert_int_equal(parse(y, &m, err), MMSP_OK);
    assert_false(m.has_fairness); /* null is absent */
    assert_false(m.has_drift_score);
    assert_int_equal(m.n_metrics, 0);
    assert_int_equal(m.n_dependencies, 0);
    assert_null(m.model_version);
    manifest_free(&m);
}

/* Each error: the whole message, so file, line, field and wording are all checked. */
static void test_errors(void **state)
{
    (void)state;
    static const char head[] = "apiVersion: mlifecycle.io/v1\nkind: ModelDeployment\n";
    static const struct {
        int with_head; /* prefix head (2 lines) */
        const char *yaml;
        mmsp_err rc;
        const char *msg;
    } cases[] = {
        {1, "spec:\n  model: {name: m}\n  metrics:\n    f1_score: 0.9\n    accuracy: high\n",
         MMSP_E_INVALID, "manifest.yaml:7: spec.metrics.accuracy: expected a number, got 'high'"},
        {1, "spec:\n  model: {name: m}\n  metrics: {accuracy: \"0.9\"}\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.metrics.accuracy: expected a number, got the quoted string "
         "'0.9'"},
        {1, "spec:\n  model: {name: m}\n  metrics: {accuracy: .inf}\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.metrics.accuracy: expected a number, got '.inf'"},
        {1, "spec:\n  model: {name: m}\n  metrics:\n    accuracy: [1]\n", MMSP_E_INVALID,
         "manifest.yaml:6: spec.metrics.accuracy: expected a number, got a list"},
        {1, "spec:\n  model: {name: m}\n  metrics: [0.9]\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.metrics: expected a mapping, got a list"},
        {1, "spec:\n  model: {name: m}\n  fairness: {demographic_parity: low}\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.fairness.demographic_parity: expected a number, got 'low'"},
        {1, "spec:\n  model: {name: m}\n  fairness: yes\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.fairness: expected a mapping, got 'yes'"},
        {1, "spec:\n  model: {name: m}\n  drift:\n    score: '0.1'\n", MMSP_E_INVALID,
         "manifest.yaml:6: spec.drift.score: expected a number, got the quoted string '0.1'"},
        {0, "kind: ModelDeployment\nspec: {model: {name: m}}\n", MMSP_E_INVALID,
         "manifest.yaml:1: apiVersion: required field is missing"},
        {0, "apiVersion: mlifecycle.io/v2\nkind: ModelDeployment\nspec: {model: {name: m}}\n",
         MMSP_E_INVALID,
         "manifest.yaml:1: apiVersion: expected 'mlifecycle.io/v1', got "
         "'mlifecycle.io/v2'"},
        {0, "apiVersion: mlifecycle.io/v1\nkind: Deployment\nspec: {model: {name: m}}\n",
         MMSP_E_INVALID, "manifest.yaml:2: kind: expected 'ModelDeployment', got 'Deployment'"},
        {1, "", MMSP_E_INVALID, "manifest.yaml:1: spec: required field is missing"},
        {1, "spec: [model]\n", MMSP_E_INVALID,
         "manifest.yaml:3: spec: expected a mapping, got a list"},
        {1, "spec:\n  metrics: {accuracy: 0.9}\n", MMSP_E_INVALID,
         "manifest.yaml:4: spec.model: required field is missing"},
        {1, "spec:\n  model:\n    version: 1\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.model.name: required field is missing"},
        {1, "spec:\n  model:\n    name: [a, b]\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.model.name: expected a string, got a list"},
        {1, "spec:\n  model:\n    name: ''\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.model.name: is empty"},
        {1, "spec:\n  model:\n    name: \"a\\0b\"\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.model.name: contains a NUL byte"},
        {1, "spec:\n  model: fraud\n", MMSP_E_INVALID,
         "manifest.yaml:4: spec.model: expected a mapping, got 'fraud'"},
        {1, "spec:\n  model: {name: m}\n  dependencies:\n    - numpy\n    - numpy>=1.2\n",
         MMSP_E_INVALID,
         "manifest.yaml:7: spec.dependencies[1]: expected 'name' or 'name==version' (a package "
         "name of letters, digits, '.', '_', '-'), got 'numpy>=1.2'"},
        {1, "spec:\n  model: {name: m}\n  dependencies:\n    - {version: 1}\n", MMSP_E_INVALID,
         "manifest.yaml:6: spec.dependencies[0].name: required field is missing"},
        {1, "spec:\n  model: {name: m}\n  dependencies:\n    - {name: 'a b'}\n", MMSP_E_INVALID,
         "manifest.yaml:6: spec.dependencies[0].name: 'a b' is not a package name (letters, "
         "digits, '.', '_', '-')"},
        {1, "spec:\n  model: {name: m}\n  dependencies:\n    - [numpy]\n", MMSP_E_INVALID,
         "manifest.yaml:6: spec.dependencies[0]: expected {name, version} or 'name==version', "
         "got a list"},
        {1, "spec:\n  model: {name: m}\n  dependencies: {numpy: 1}\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.dependencies: expected a list, got a mapping"},
        {1, "spec:\n  model: {name: m}\n  lineage: abc\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.lineage: expected a mapping, got 'abc'"},
        {1, "spec:\n  model: {name: m}\n  lineage: {approver: {name: bob}}\n", MMSP_E_INVALID,
         "manifest.yaml:5: spec.lineage.approver: expected a string, got a mapping"},
        {1, "spec:\n  model: {name: m}\nstatus: {}\n", MMSP_E_INVALID,
         "manifest.yaml:5: status: unknown key (expected apiVersion, kind, metadata, spec)"},
        {1, "metadata: [x]\nspec:\n  model: {name: m}\n", MMSP_E_INVALID,
         "manifest.yaml:3: metadata: expected a mapping, got a list"},
        /* document-level errors from the YAML reader */
        {1, "spec:\n  model: {name: m}\n  metrics:\n    accuracy: 0.9\n    accuracy: 0.8\n",
         MMSP_E_PARSE, "manifest.yaml:7: spec.metrics.accuracy: duplicate key (first at line 6)"},
        {0, "apiVersion: mlifecycle.io/v1\nkind: ModelDeployment\napiVersion: x\n", MMSP_E_PARSE,
         "manifest.yaml:3: apiVersion: duplicate key (first at line 1)"},
        {1, "spec:\n  model: &m {name: m}\n  other: *m\n", MMSP_E_PARSE,
         "manifest.yaml:5: spec.other: aliases (*m) are not supported"},
        {1, "spec:\n  model: {name: m}\n  dependencies: [a, *x]\n", MMSP_E_PARSE,
         "manifest.yaml:5: spec.dependencies[1]: aliases (*x) are not supported"},
        {1, "spec:\n  model: {name: m}\n  ? [a]\n  : 1\n", MMSP_E_PARSE,
         "manifest.yaml:5: spec: mapping keys must be plain strings, found a list"},
        {1, "spec:\n  model: {name: m\n", MMSP_E_PARSE,
         "manifest.yaml:5: yaml: did not find expected ',' or '}' while parsing a flow mapping "
         "(from line 4)"},
        {1, "spec:\n  model: {name: m}\n---\nkind: x\n", MMSP_E_PARSE,
         "manifest.yaml:5: yaml: more than one YAML document"},
        {0, "", MMSP_E_INVALID,
         "manifest.yaml:1: (document): the manifest is empty (expected apiVersion, kind and "
         "spec)"},
        {0, "# only a comment\n", MMSP_E_INVALID,
         "manifest.yaml:1: (document): the manifest is empty (expected apiVersion, kind and "
         "spec)"},
        {0, "- a\n- b\n", MMSP_E_INVALID,
         "manifest.yaml:1: (document): expected a mapping, got a list"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char y[1024], err[MMSP_ERRMSG_MAX];
        struct manifest m;
        snprintf(y, sizeof y, "%s%s", cases[i].with_head ? head : "", cases[i].yaml);
        mmsp_err rc = parse(y, &m, err);
        if (rc != cases[i].rc || strcmp(err, cases[i].msg) != 0)
            fail_msg("case %zu: rc %d (%s), want %d\n  got:  %s\n  want: %s", i, rc,
                     mmsp_err_name(rc), cases[i].rc, err, cases[i].msg);
        assert_null(m.model_name); /* a failure leaves the struct zeroed */
        assert_null(m.doc_);
    }
}

static void test_limits(void **state)
{
    (void)state;
    struct manifest m;
    char err[MMSP_ERRMSG_MAX];
    size_t cap = POLICY_MAX_BYTES + 64;
    char *y = malloc(cap + 1);
    assert_non_null(y);

    /* too large: refused before parsing */
    memset(y, ' ', cap);
    y[cap] = '\0';
    assert_int_equal(manifest_parse(y, cap, "big.yaml", &m, err, sizeof err), MMSP_E_TOO_LARGE);
    assert_string_equal(err, "big.yaml:1: (document): larger than 1048576 bytes");

    /* nesting: 64 levels are fine, 65 are not */
    for (int depth = 64; depth <= 65; depth++) {
        size_t o = (size_t)snprintf(y, cap,
                                    "apiVersion: mlifecycle.io/v1\nkind: "
                                    "ModelDeployment\nspec:\n  model: {name: m}\n  x: ");
        for (int i = 0; i < depth - 2; i++) /* root and spec are two levels */
            y[o++] = '[';
        for (int i = 0; i < depth - 2; i++)
            y[o++] = ']';
        y[o++] = '\n';
        y[o] = '\0';
        mmsp_err rc = manifest_parse(y, o, "deep.yaml", &m, err, sizeof err);
        if (depth == 64) {
            assert_int_equal(rc, MMSP_OK);
            manifest_free(&m);
        } else {
            assert_int_equal(rc, MMSP_E_TOO_LARGE);
            assert_non_null(strstr(err, "nested deeper than 64 levels"));
            assert_non_null(strstr(err, "deep.yaml:5: spec.x"));
        }
    }

    /* node count: a flow list of 100001 numbers (~200 KB) */
    {
        size_t o = (size_t)snprintf(y, cap, "spec:\n  x: [");
        for (int i = 0; i < 100001; i++) {
            y[o++] = '0';
            y[o++] = ',';
        }
        y[o++] = ']';
        y[o] = '\0';
        assert_int_equal(manifest_parse(y, o, "wide.yaml", &m, err, sizeof err), MMSP_E_TOO_LARGE);
        assert_non_null(strstr(err, "wide.yaml:2: spec.x["));
        assert_non_null(strstr(err, "more than 100000 YAML nodes"));
    }

    /* one scalar longer than 64 KiB */
    {
        size_t o = (size_t)snprintf(y, cap, "apiVersion: mlifecycle.io/v1\nkind: x\nnote: ");
        memset(y + o, 'a', 70000);
        o += 70000;
        y[o] = '\0';
        assert_int_equal(manifest_parse(y, o, "long.yaml", &m, err, sizeof err), MMSP_E_TOO_LARGE);
        assert_string_equal(err, "long.yaml:3: note: a value longer than 65536 bytes");
    }

    /* billion laughs: refused at the first alias, whatever the expansion would be */
    {
        const char *bl = "a: &a [x, x, x, x, x, x, x, x, x]\n"
                         "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
        assert_int_equal(manifest_parse(bl, strlen(bl), "lol.yaml", &m, err, sizeof err),
                         MMSP_E_PARSE);
        assert_string_equal(err, "lol.yaml:2: b[0]: aliases (*a) are not supported");
    }

    /* a message never overflows a small buffer */
    {
        char small[16];
        const char *bad = "kind: x\n";
        assert_int_equal(manifest_parse(bad, strlen(bad), "manifest.yaml", &m, small, sizeof small),
                         MMSP_E_INVALID);
        assert_int_equal(strlen(small), sizeof small - 1);
    }
    free(y);
}

static void test_load(void **state)
{
    (void)state;
    char path[] = "/tmp/mmsp-test-manifest-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, seed_manifest, strlen(seed_manifest)),
                     (ssize_t)strlen(seed_manifest));
    close(fd);
    struct manifest m;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(manifest_load(path, &m, err, sizeof err), MMSP_OK);
    assert_string_equal(m.model_name, "fraud-detector");
    manifest_free(&m);

    /* errors name the path given */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("apiVersion: mlifecycle.io/v1\nkind: ModelDeployment\nspec:\n  model: {name: 7}\n"
          "  metrics: {accuracy: high}\n",
          f);
    fclose(f);
    char want[512];
    assert_int_equal(manifest_load(path, &m, err, sizeof err), MMSP_E_INVALID);
    snprintf(want, sizeof want, "%s:5: spec.metrics.accuracy: expected a number, got 'high'", path);
    assert_string_equal(err, want);
    unlink(path);

    assert_int_equal(manifest_load(path, &m, err, sizeof err), MMSP_E_IO);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);
    assert_int_equal(manifest_load("/", &m, err, sizeof err), MMSP_E_IO);
    assert_string_equal(err, "/: cannot read: Is a directory");
}

static void test_to_yaml(void **state)
{
    (void)state;
    struct manifest m, back;
    char err[MMSP_ERRMSG_MAX];
    const char *y = "apiVersion: mlifecycle.io/v1\nkind: ModelDeployment\n"
                    "metadata: {name: \"we\\\"ird\\tname\"}\n"
                    "spec:\n  model: {name: m, version: \"1.0\"}\n"
                    "  metrics: {accuracy: 0.1234567890123, \"odd key\": -3}\n"
                    "  fairness: {}\n  drift: {score: 0.25}\n"
                    "  dependencies: [numpy==1.0, {name: torch}]\n"
                    "  lineage: {git_sha: abc, approver: \"b: c\"}\n";
    assert_int_equal(parse(y, &m, err), MMSP_OK);
    char *text = manifest_to_yaml(&m);
    assert_non_null(text);
    assert_int_equal(manifest_parse(text, strlen(text), "generated", &back, err, sizeof err),
                     MMSP_OK);
    assert_string_equal(back.metadata_name, "we\"ird\tname");
    assert_string_equal(back.model_name, "m");
    assert_string_equal(back.model_version, "1.0");
    assert_int_equal(back.n_metrics, 2);
    assert_true(back.metrics[0].value == 0.1234567890123);
    assert_string_equal(back.metrics[1].key, "odd key");
    assert_true(back.metrics[1].value == -3);
    assert_true(back.has_fairness);
    assert_true(back.has_drift_score && back.drift_score == 0.25);
    assert_int_equal(back.n_dependencies, 2);
    assert_string_equal(back.dependencies[0].version, "1.0");
    assert_null(back.dependencies[1].version);
    assert_string_equal(back.approver, "b: c");
    assert_null(back.run_id);
    free(text);
    manifest_free(&back);
    manifest_free(&m);

    /* a struct filled in code, with no document */
    struct manifest_kv_num metric = {.key = "accuracy", .value = 0.9};
    struct manifest hand = {.model_name = "hand", .metrics = &metric, .n_metrics = 1};
    text = manifest_to_yaml(&hand);
    assert_non_null(text);
    assert_int_equal(manifest_parse(text, strlen(text), "generated", &back, err, sizeof err),
                     MMSP_OK);
    assert_string_equal(back.model_name, "hand");
    assert_false(back.has_fairness);
    free(text);
    manifest_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_example),
        cmocka_unit_test(test_full_manifest),
        cmocka_unit_test(test_optional_sections),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_to_yaml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
