/*
 * Unit tests for src/policy policies and the gate: the seed 001 manifest passes the built-in
 * policy; each default rule fails alone, with its message; absent-but-required against
 * absent-and-optional; bounds at the boundary; the dependency allowlist (names normalised,
 * version pins, offenders listed); every operator; a numeric rule on a non-number; custom
 * bounds from a policy file; every policy error with its file:line: field; the summary and
 * the JSON report (read back with jansson); gating a manifest filled in code.
 * Calls: policy/policy.h, jansson.
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
#include <jansson.h>

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

/* The seed manifest with line `from` replaced by `to` (NULL: removed); evaluated against p
 * (NULL: the built-in policy). */
static void gate(const char *yaml, const struct policy *p, struct policy_result *res)
{
    struct manifest m;
    struct policy *def = NULL;
    char err[MMSP_ERRMSG_MAX];
    if (manifest_parse(yaml, strlen(yaml), "manifest.yaml", &m, err, sizeof err))
        fail_msg("manifest: %s", err);
    if (!p) {
        assert_int_equal(policy_default(&def, err, sizeof err), MMSP_OK);
        p = def;
    }
    assert_int_equal(policy_evaluate(p, &m, res, err, sizeof err), MMSP_OK);
    policy_free(def);
    manifest_free(&m);
}

static char *edit(const char *from, const char *to)
{
    static char out[4096];
    const char *at = strstr(seed_manifest, from);
    assert_non_null(at);
    const char *eol = strchr(at, '\n') + 1;
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - seed_manifest), seed_manifest, to ? to : "",
             eol);
    return out;
}

static const struct policy_rule_result *rule(const struct policy_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_rules; i++)
        if (strcmp(r->rules[i].name, name) == 0)
            return &r->rules[i];
    fail_msg("no rule %s", name);
    return NULL;
}

/* Exactly the rules named in `failing` (comma-separated, "" = none) failed. */
static void expect_failing(const struct policy_result *r, const char *failing)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_rules; i++) {
        const struct policy_rule_result *x = &r->rules[i];
        char key[160];
        snprintf(key, sizeof key, ",%s,", x->name);
        char list[512];
        snprintf(list, sizeof list, ",%s,", failing);
        int want_fail = strstr(list, key) != NULL;
        if (want_fail == x->passed)
            fail_msg("rule %s: passed=%d, message '%s'", x->name, x->passed, x->message);
        if (x->passed)
            assert_string_equal(x->message, "");
        else
            assert_true(x->message[0] != '\0');
        n += !x->passed;
    }
    assert_int_equal(r->passed, n == 0);
}

static void test_seed_passes_default(void **state)
{
    (void)state;
    struct policy_result r;
    gate(seed_manifest, NULL, &r);
    assert_true(r.passed);
    assert_int_equal(r.n_rules, 6);
    expect_failing(&r, "");
    const struct policy_rule_result *x = &r.rules[0];
    assert_string_equal(x->name, "min-accuracy");
    assert_string_equal(x->field, "spec.metrics.accuracy");
    assert_string_equal(x->op, ">=");
    assert_string_equal(x->bound, "0.85");
    assert_string_equal(x->seen, "0.94");
    x = rule(&r, "fairness-evaluated");
    assert_string_equal(x->op, "present");
    assert_string_equal(x->bound, "");
    assert_string_equal(x->seen, "{1 key}");
    x = rule(&r, "max-drift");
    assert_string_equal(x->op, "<");
    assert_string_equal(x->bound, "0.30");
    assert_string_equal(x->seen, "0.05");
    x = rule(&r, "dependencies-allowlisted");
    assert_string_equal(x->op, "in_allowlist");
    assert_string_equal(x->bound, "23 names");
    assert_string_equal(x->seen, "(absent)"); /* optional: no dependencies, nothing to check */
    char sum[256];
    policy_result_summary(&r, sum, sizeof sum);
    assert_string_equal(sum, "all 6 rules passed");
    policy_result_free(&r);
    assert_null(r.rules);
}

static void test_each_rule_fails_alone(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *rule, *message, *seen;
    } cases[] = {
        {"    accuracy:", "    accuracy: 0.80\n", "min-accuracy",
         "spec.metrics.accuracy 0.80 < 0.85", "0.80"},
        {"    f1_score:", "    f1_score: 0.7999\n", "min-f1", "spec.metrics.f1_score 0.7999 < 0.80",
         "0.7999"},
        {"  fairness:", "  fairness_report:\n", "fairness-evaluated",
         "spec.fairness is absent (required)", "(absent)"},
        {"    demographic_parity:", "    demographic_parity: 0.2\n", "max-demographic-parity",
         "spec.fairness.demographic_parity 0.2 > 0.10", "0.2"},
        {"    score:", "    score: 0.30\n", "max-drift", "spec.drift.score 0.30 >= 0.30", "0.30"},
        {"  drift:", "  dependencies: [xgboost==1.7.4, leftpad]\n  drift:\n",
         "dependencies-allowlisted", "dependency 'leftpad' is not in the allowlist",
         "xgboost==1.7.4, leftpad"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct policy_result r;
        char *y = edit(cases[i].from, cases[i].to);
        gate(y, NULL, &r);
        expect_failing(&r, cases[i].rule);
        const struct policy_rule_result *x = rule(&r, cases[i].rule);
        assert_string_equal(x->message, cases[i].message);
        assert_string_equal(x->seen, cases[i].seen);
        char sum[512], want[512];
        policy_result_summary(&r, sum, sizeof sum);
        snprintf(want, sizeof want, "%s: %s", cases[i].rule, cases[i].message);
        assert_string_equal(sum, want);
        policy_result_free(&r);
    }
}

static void test_boundaries_and_absence(void **state)
{
    (void)state;
    struct policy_result r;
    /* bounds are inclusive for >= and <=, exclusive for < */
    gate(edit("    accuracy:", "    accuracy: 0.85\n"), NULL, &r);
    expect_failing(&r, "");
    policy_result_free(&r);
    gate(edit("    demographic_parity:", "    demographic_parity: 0.10\n"), NULL, &r);
    expect_failing(&r, "");
    policy_result_free(&r);
    gate(edit("    score:", "    score: 0.2999\n"), NULL, &r);
    expect_failing(&r, "");
    policy_result_free(&r);

    /* absent and required: fails, seen "(absent)" */
    gate(edit("    accuracy:", NULL), NULL, &r);
    expect_failing(&r, "min-accuracy");
    assert_string_equal(rule(&r, "min-accuracy")->seen, "(absent)");
    assert_string_equal(rule(&r, "min-accuracy")->message,
                        "spec.metrics.accuracy is absent (required)");
    policy_result_free(&r);

    /* absent and optional: passes */
    gate(edit("    demographic_parity:", "    equal_opportunity: 0.01\n"), NULL, &r);
    expect_failing(&r, "");
    assert_string_equal(rule(&r, "max-demographic-parity")->seen, "(absent)");
    policy_result_free(&r);
    gate(edit("  drift:", "  drift2:\n"), NULL, &r);
    expect_failing(&r, "");
    assert_string_equal(rule(&r, "max-drift")->seen, "(absent)");
    policy_result_free(&r);

    /* no fairness at all: the required rule fails, the optional bound passes */
    const char *bare = "apiVersion: mlifecycle.io/v1\nkind: ModelDeployment\n"
                       "spec:\n  model: {name: m}\n  metrics: {accuracy: 0.5}\n";
    gate(bare, NULL, &r);
    expect_failing(&r, "min-accuracy,min-f1,fairness-evaluated");
    char sum[512];
    policy_result_summary(&r, sum, sizeof sum);
    assert_string_equal(sum, "min-accuracy: spec.metrics.accuracy 0.5 < 0.85; min-f1: "
                             "spec.metrics.f1_score is absent (required); fairness-evaluated: "
                             "spec.fairness is absent (required)");
    /* a short buffer is cut with "..." */
    char small[24];
    policy_result_summary(&r, small, sizeof small);
    assert_string_equal(small, "min-accuracy: spec.m...");
    policy_result_free(&r);
}

static void test_allowlist(void **state)
{
    (void)state;
    struct policy_result r;
    char y[2048];
    /* names are compared as PEP 503 normalises them */
    snprintf(y, sizeof y,
             "%s  dependencies:\n    - Scikit_Learn==1.4.0\n    - {name: numpy}\n"
             "    - name: OnnxRuntime\n      version: '1.17'\n",
             seed_manifest);
    gate(y, NULL, &r);
    expect_failing(&r, "");
    assert_string_equal(rule(&r, "dependencies-allowlisted")->seen,
                        "Scikit_Learn==1.4.0, numpy, OnnxRuntime==1.17");
    policy_result_free(&r);

    snprintf(y, sizeof y, "%s  dependencies: [leftpad==1.0, numpy, {name: evil, version: 2}]\n",
             seed_manifest);
    gate(y, NULL, &r);
    expect_failing(&r, "dependencies-allowlisted");
    assert_string_equal(rule(&r, "dependencies-allowlisted")->message,
                        "dependencies 'leftpad==1.0', 'evil==2' are not in the allowlist");
    policy_result_free(&r);

    /* an empty list has nothing to check */
    snprintf(y, sizeof y, "%s  dependencies: []\n", seed_manifest);
    gate(y, NULL, &r);
    expect_failing(&r, "");
    assert_string_equal(rule(&r, "dependencies-allowlisted")->seen, "[]");
    policy_result_free(&r);

    /* pins: "numpy==1.26.4" allows that version only; a scalar field is a list of one */
    const char *pol = "rules:\n"
                      "  - name: pinned\n"
                      "    field: spec.dependencies\n"
                      "    op: in_allowlist\n"
                      "    allowlist: [numpy==1.26.4, xgboost]\n"
                      "  - name: framework\n"
                      "    field: spec.model.framework\n"
                      "    op: in_allowlist\n"
                      "    allowlist: [xgboost, onnx]\n";
    struct policy *p;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(policy_parse(pol, strlen(pol), "pins.yaml", &p, err, sizeof err), MMSP_OK);
    snprintf(y, sizeof y, "%s  dependencies: [numpy==1.26.4, xgboost==2.0.3]\n", seed_manifest);
    gate(y, p, &r);
    expect_failing(&r, "framework");
    assert_string_equal(rule(&r, "framework")->message,
                        "dependency 'pytorch' is not in the allowlist");
    assert_string_equal(rule(&r, "pinned")->bound, "2 names");
    policy_result_free(&r);
    snprintf(y, sizeof y, "%s  dependencies: [numpy==1.26.3, numpy]\n", seed_manifest);
    gate(y, p, &r);
    expect_failing(&r, "pinned,framework");
    assert_string_equal(rule(&r, "pinned")->message,
                        "dependencies 'numpy==1.26.3', 'numpy' are not in the allowlist");
    policy_result_free(&r);
    policy_free(p);
}

static struct policy *parse_policy(const char *y)
{
    struct policy *p = NULL;
    char err[MMSP_ERRMSG_MAX];
    if (policy_parse(y, strlen(y), "policy.yaml", &p, err, sizeof err))
        fail_msg("policy: %s", err);
    return p;
}

static void test_operators(void **state)
{
    (void)state;
    struct policy *p = parse_policy("name: ops\n"
                                    "description: every operator\n"
                                    "rules:\n"
                                    "  - {name: ge, field: spec.metrics.accuracy, op: ge, "
                                    "value: 0.94}\n"
                                    "  - {name: gt, field: spec.metrics.accuracy, op: '>', "
                                    "value: 0.94}\n"
                                    "  - {name: le, field: spec.metrics.f1_score, op: '<=', "
                                    "value: 9e-1}\n"
                                    "  - {name: lt, field: spec.metrics.f1_score, op: lt, "
                                    "value: 1}\n"
                                    "  - {name: eq-text, field: spec.model.framework, op: '==', "
                                    "value: pytorch}\n"
                                    "  - {name: eq-num, field: spec.drift.score, op: eq, "
                                    "value: 5.0e-2}\n"
                                    "  - {name: ne, field: spec.model.version, op: '!=', "
                                    "value: '2.1.0'}\n"
                                    "  - {name: present, field: spec.model.name, op: present}\n"
                                    "  - {name: index, field: 'spec.dependencies[1].version', "
                                    "op: '==', value: 2}\n"
                                    "  - {name: optional, field: spec.lineage.approver, op: "
                                    "present, required: false}\n"
                                    "  - {name: required, field: spec.lineage.approver, op: "
                                    "present, required: true}\n");
    assert_int_equal(policy_rule_count(p), 11);
    assert_string_equal(policy_name(p), "policy.yaml");
    struct policy_result r;
    char y[2048];
    snprintf(y, sizeof y, "%s  dependencies: [a, {name: b, version: 2}]\n", seed_manifest);
    gate(y, p, &r);
    expect_failing(&r, "gt,ne,required");
    assert_string_equal(rule(&r, "gt")->message, "spec.metrics.accuracy 0.94 <= 0.94");
    assert_string_equal(rule(&r, "ne")->message, "spec.model.version 2.1.0 == 2.1.0");
    assert_string_equal(rule(&r, "index")->seen, "2");
    assert_string_equal(rule(&r, "present")->seen, "fraud-detector");
    assert_string_equal(rule(&r, "ge")->op, ">="); /* aliases report the canonical name */
    policy_result_free(&r);
    policy_free(p);

    /* a numeric rule on a value that is not a number fails and says so */
    p = parse_policy("rules:\n"
                     "  - {name: version, field: spec.model.version, op: '>=', value: 2}\n"
                     "  - {name: section, field: spec.metrics, op: '<', value: 1}\n"
                     "  - {name: text, field: spec.metrics, op: '==', value: x}\n"
                     "  - {name: list, field: spec.model, op: in_allowlist, allowlist: [a]}\n");
    gate(seed_manifest, p, &r);
    expect_failing(&r, "version,section,text,list");
    assert_string_equal(rule(&r, "version")->message,
                        "spec.model.version: expected a number, got '2.1.0'");
    assert_string_equal(rule(&r, "version")->seen, "2.1.0");
    assert_string_equal(rule(&r, "section")->message,
                        "spec.metrics: expected a number, got a mapping");
    assert_string_equal(rule(&r, "section")->seen, "{2 keys}");
    assert_string_equal(rule(&r, "text")->message, "spec.metrics: expected a value, got a mapping");
    assert_string_equal(rule(&r, "list")->message,
                        "spec.model: expected a list of dependencies, got a mapping");
    policy_result_free(&r);
    policy_free(p);
}

static void test_custom_bound(void **state)
{
    (void)state;
    /* "configurable bound": the same manifest against a stricter parity bound */
    struct policy *p = parse_policy("rules:\n"
                                    "  - name: max-demographic-parity\n"
                                    "    field: spec.fairness.demographic_parity\n"
                                    "    op: \"<=\"\n"
                                    "    value: 0.01\n"
                                    "    required: false\n");
    struct policy_result r;
    gate(seed_manifest, p, &r);
    expect_failing(&r, "max-demographic-parity");
    assert_string_equal(r.rules[0].message, "spec.fairness.demographic_parity 0.02 > 0.01");
    policy_result_free(&r);
    policy_free(p);
}

static void test_policy_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        mmsp_err rc;
        const char *msg;
    } cases[] = {
        {"rules:\n  - name: a\n    field: x\n    op: present\n    severity: high\n", MMSP_E_INVALID,
         "policy.yaml:5: rules[0].severity: unknown key (expected name, description, field, op, "
         "value, required, allowlist)"},
        {"rules:\n  - name: a\n    field: x\n    op: '=>'\n    value: 1\n", MMSP_E_INVALID,
         "policy.yaml:4: rules[0].op: unknown operator the quoted string '=>' (expected \">=\", "
         "\">\", \"<=\", \"<\", \"==\", \"!=\", present, in_allowlist)"},
        {"rules:\n  - name: a\n    field: x\n    op: '>='\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].value: required field is missing (op \">=\" needs a number)"},
        {"rules:\n  - name: a\n    field: x\n    op: '>='\n    value: high\n", MMSP_E_INVALID,
         "policy.yaml:5: rules[0].value: expected a number, got 'high'"},
        {"rules:\n  - name: a\n    field: x\n    op: '=='\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].value: required field is missing (op \"==\" needs a value)"},
        {"rules:\n  - name: a\n    field: x\n    op: present\n    value: 1\n", MMSP_E_INVALID,
         "policy.yaml:5: rules[0].value: op present takes no value"},
        {"rules:\n  - {name: a, field: x, op: in_allowlist}\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].allowlist: required field is missing (op in_allowlist)"},
        {"rules:\n  - {name: a, field: x, op: in_allowlist, allowlist: numpy}\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].allowlist: expected a list of package names, got 'numpy'"},
        {"rules:\n  - name: a\n    field: x\n    op: in_allowlist\n    allowlist:\n"
         "      - numpy\n      - numpy>=1\n",
         MMSP_E_INVALID,
         "policy.yaml:7: rules[0].allowlist[1]: expected 'name' or 'name==version', got "
         "'numpy>=1'"},
        {"rules:\n  - {name: a, field: x, op: '<', value: 1, allowlist: [a]}\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].allowlist: only op in_allowlist takes an allowlist"},
        {"rules:\n  - {name: a, field: x, op: present, required: maybe}\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].required: expected true or false, got 'maybe'"},
        {"rules:\n  - {name: a, field: x, op: present}\n  - {name: a, field: y, op: present}\n",
         MMSP_E_INVALID, "policy.yaml:3: rules[1].name: duplicate rule name 'a' (first at line 2)"},
        {"rules:\n  - {name: a, field: 'spec..x', op: present}\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].field: 'spec..x' is not a field path (like "
         "spec.metrics.accuracy): expected a key name at offset 5"},
        {"rules:\n  - {name: a, field: 'deps[x]', op: present}\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].field: 'deps[x]' is not a field path (like "
         "spec.metrics.accuracy): expected [N] at offset 4"},
        {"rules:\n  - {name: a, op: present}\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].field: required field is missing"},
        {"rules:\n  - {field: x, op: present}\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0].name: required field is missing"},
        {"rules:\n  - [a]\n", MMSP_E_INVALID,
         "policy.yaml:2: rules[0]: expected a mapping (name, field, op, ...), got a list"},
        {"rules: []\n", MMSP_E_INVALID,
         "policy.yaml:1: rules: no rules (a policy needs at least one)"},
        {"name: x\n", MMSP_E_INVALID, "policy.yaml:1: rules: required field is missing"},
        {"rules: {a: 1}\n", MMSP_E_INVALID,
         "policy.yaml:1: rules: expected a list of rules, got a mapping"},
        {"version: 2\nrules: []\n", MMSP_E_INVALID,
         "policy.yaml:1: version: unknown key (expected name, description, rules)"},
        {"", MMSP_E_INVALID, "policy.yaml:1: rules: the policy is empty (expected rules)"},
        {"rules:\n  - {name: a, field: x, op: present}\n  - {name: b, field: x, op: present}\n"
         "rules: []\n",
         MMSP_E_PARSE, "policy.yaml:4: rules: duplicate key (first at line 1)"},
        {"rules:\n  - {name: a, field: x, op: >=, value: 1}\n", MMSP_E_PARSE,
         "policy.yaml:2: yaml: found character that cannot start any token while scanning for "
         "the next token (from line 2)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct policy *p = (struct policy *)1;
        char err[MMSP_ERRMSG_MAX];
        mmsp_err rc =
            policy_parse(cases[i].yaml, strlen(cases[i].yaml), "policy.yaml", &p, err, sizeof err);
        if (rc != cases[i].rc || strcmp(err, cases[i].msg) != 0)
            fail_msg("case %zu: rc %d (%s), want %d\n  got:  %s\n  want: %s", i, rc,
                     mmsp_err_name(rc), cases[i].rc, err, cases[i].msg);
        assert_null(p);
    }

    /* limits: more than 256 rules; too large */
    size_t cap = POLICY_MAX_BYTES + 2;
    char *y = malloc(cap);
    assert_non_null(y);
    size_t o = (size_t)snprintf(y, cap, "rules:\n");
    for (int i = 0; i < 257; i++)
        o += (size_t)snprintf(y + o, cap - o, "  - {name: r%d, field: x, op: present}\n", i);
    struct policy *p;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(policy_parse(y, o, "many.yaml", &p, err, sizeof err), MMSP_E_INVALID);
    assert_string_equal(err, "many.yaml:2: rules: more than 256 rules");
    memset(y, '#', cap);
    assert_int_equal(policy_parse(y, cap, "big.yaml", &p, err, sizeof err), MMSP_E_TOO_LARGE);
    assert_string_equal(err, "big.yaml:1: (document): larger than 1048576 bytes");
    free(y);
}

static void test_default_and_load(void **state)
{
    (void)state;
    struct policy *p;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(policy_default(&p, err, sizeof err), MMSP_OK);
    assert_int_equal(policy_rule_count(p), 6);
    assert_string_equal(policy_name(p), "(built-in policy)");
    policy_free(p);
    assert_non_null(strstr(policy_default_text(), "name: min-accuracy"));

    /* the printed default, loaded back from a file, gives the same verdicts */
    char path[] = "/tmp/mmsp-test-policy-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *t = policy_default_text();
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    assert_int_equal(policy_load(path, &p, err, sizeof err), MMSP_OK);
    assert_int_equal(policy_rule_count(p), 6);
    struct policy_result r;
    gate(edit("    accuracy:", "    accuracy: 0.5\n"), p, &r);
    expect_failing(&r, "min-accuracy");
    policy_result_free(&r);
    policy_free(p);

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("rules:\n  - name: a\n    field: x\n    op: nope\n", f);
    fclose(f);
    char want[512];
    assert_int_equal(policy_load(path, &p, err, sizeof err), MMSP_E_INVALID);
    snprintf(want, sizeof want, "%s:4: rules[0].op: unknown operator 'nope'", path);
    assert_memory_equal(err, want, strlen(want));
    unlink(path);
    assert_int_equal(policy_load(path, &p, err, sizeof err), MMSP_E_IO);
    assert_null(p);
}

static void test_json(void **state)
{
    (void)state;
    struct policy_result r;
    gate(edit("    accuracy:", "    accuracy: 0.5\n"), NULL, &r);
    char *text = policy_result_json(&r);
    assert_non_null(text);
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    assert_true(json_is_false(json_object_get(j, "passed")));
    json_t *rules = json_object_get(j, "rules");
    assert_int_equal(json_array_size(rules), 6);
    json_t *x = json_array_get(rules, 0);
    assert_string_equal(json_string_value(json_object_get(x, "name")), "min-accuracy");
    assert_string_equal(json_string_value(json_object_get(x, "field")), "spec.metrics.accuracy");
    assert_string_equal(json_string_value(json_object_get(x, "op")), ">=");
    assert_string_equal(json_string_value(json_object_get(x, "bound")), "0.85");
    assert_string_equal(json_string_value(json_object_get(x, "seen")), "0.5");
    assert_true(json_is_false(json_object_get(x, "passed")));
    assert_string_equal(json_string_value(json_object_get(x, "message")),
                        "spec.metrics.accuracy 0.5 < 0.85");
    x = json_array_get(rules, 1);
    assert_true(json_is_true(json_object_get(x, "passed")));
    assert_string_equal(json_string_value(json_object_get(x, "message")), "");
    json_decref(j);
    free(text);
    policy_result_free(&r);

    /* text cut inside a UTF-8 sequence still makes valid JSON */
    char y[2048], name[400];
    size_t o = 0;
    for (int i = 0; i < 130; i++)
        o += (size_t)snprintf(name + o, sizeof name - o, "é");
    snprintf(y, sizeof y, "%s  lineage: {approver: \"%s\"}\n", seed_manifest, name);
    struct policy *p = parse_policy(
        "rules:\n  - {name: approver, field: spec.lineage.approver, op: '==', value: x}\n");
    gate(y, p, &r);
    assert_false(r.passed);
    text = policy_result_json(&r);
    assert_non_null(text);
    j = json_loads(text, 0, &je);
    assert_non_null(j);
    json_decref(j);
    free(text);
    policy_result_free(&r);
    policy_free(p);
}

static void test_hand_filled_manifest(void **state)
{
    (void)state;
    /* what `mmsp model register --metric accuracy=0.9 ...` without a manifest gates */
    struct manifest_kv_num metrics[] = {{.key = "accuracy", .value = 0.9},
                                        {.key = "f1_score", .value = 0.7}};
    struct manifest_dependency deps[] = {{.name = "numpy", .version = "1.26.4"},
                                         {.name = "leftpad", .version = NULL}};
    struct manifest m = {.model_name = "hand",
                         .metrics = metrics,
                         .n_metrics = 2,
                         .has_fairness = 1,
                         .dependencies = deps,
                         .n_dependencies = 2};
    struct policy *p;
    struct policy_result r;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(policy_default(&p, err, sizeof err), MMSP_OK);
    assert_int_equal(policy_evaluate(p, &m, &r, err, sizeof err), MMSP_OK);
    expect_failing(&r, "min-f1,dependencies-allowlisted");
    assert_string_equal(rule(&r, "min-f1")->message, "spec.metrics.f1_score 0.7 < 0.80");
    assert_string_equal(rule(&r, "dependencies-allowlisted")->seen, "numpy==1.26.4, leftpad");
    assert_string_equal(rule(&r, "fairness-evaluated")->seen, "{0 keys}");
    policy_result_free(&r);
    assert_int_equal(policy_evaluate(p, NULL, &r, err, sizeof err), MMSP_E_INVALID);
    policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_passes_default),
        cmocka_unit_test(test_each_rule_fails_alone),
        cmocka_unit_test(test_boundaries_and_absence),
        cmocka_unit_test(test_allowlist),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_custom_bound),
        cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_default_and_load),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_hand_filled_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
