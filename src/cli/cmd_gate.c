/*
 * `mmsp gate MANIFEST [--policy FILE] [--json]`: checks a model manifest against a policy
 * (the built-in one by default) and prints every rule with pass/fail and the value seen, as a
 * table or as JSON; exits 0 only when every rule passes. `--print-default-policy` prints the
 * built-in policy's YAML to start a policy file from.
 * Calls: policy/policy.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "policy/policy.h"

#define EXIT_FAILED 1 /* a rule failed */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mmsp gate MANIFEST [--policy FILE] [--json]\n"
            "       mmsp gate --print-default-policy\n"
            "\n"
            "Checks a model manifest (apiVersion: mlifecycle.io/v1, kind: ModelDeployment)\n"
            "against the policy gate and prints one row per rule: PASS or FAIL, the rule, the\n"
            "field, the check (operator and bound) and the value seen, then why each failed\n"
            "rule failed and a summary line. Every rule is evaluated; none stops the others.\n"
            "MANIFEST may be '-' for standard input.\n"
            "\n"
            "options:\n"
            "  --policy FILE           a policy file (YAML rules; default: the built-in policy)\n"
            "  --json                  print {\"passed\": bool, \"rules\": [{\"name\", \"field\",\n"
            "                          \"op\", \"bound\", \"seen\", \"passed\", \"message\"}]}\n"
            "  --print-default-policy  print the built-in policy (YAML) and exit 0: copy it,\n"
            "                          edit it, pass it with --policy\n"
            "  --help                  this text\n"
            "\n"
            "Built-in policy (seed 001): spec.metrics.accuracy >= 0.85, spec.metrics.f1_score\n"
            ">= 0.80, spec.fairness present, spec.fairness.demographic_parity <= 0.10 and\n"
            "spec.drift.score < 0.30 when reported, every spec.dependencies entry in an\n"
            "allowlist of ML libraries. `mmsp model register` runs the same gate.\n"
            "\n"
            "exit codes: 0 every rule passed, 1 a rule failed, 2 usage error or an unreadable\n"
            "or invalid manifest or policy (\"mmsp: FILE:LINE: FIELD: what is wrong\").\n"
            "See docs/policy.md.\n");
}

/* Reads standard input (at most POLICY_MAX_BYTES) into a malloc'd buffer. */
static int read_stdin(char **out, size_t *len)
{
    size_t cap = POLICY_MAX_BYTES + 1, n = 0;
    char *b = malloc(cap + 1);
    if (!b)
        return -1;
    size_t got;
    while (n < cap && (got = fread(b + n, 1, cap - n, stdin)) > 0)
        n += got;
    if (ferror(stdin) || n > POLICY_MAX_BYTES) {
        free(b);
        return -1;
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    return 0;
}

static int width(const struct policy_result *r, size_t off, int min)
{
    int w = min;
    for (size_t i = 0; i < r->n_rules; i++) {
        int n = (int)strlen((const char *)&r->rules[i] + off);
        if (n > w)
            w = n;
    }
    return w > 48 ? 48 : w;
}

static void print_table(const struct policy_result *r, const char *manifest, const char *policy)
{
    char check[sizeof r->rules[0].op + sizeof r->rules[0].bound + 1];
    int wn = width(r, offsetof(struct policy_rule_result, name), 4);
    int wf = width(r, offsetof(struct policy_rule_result, field), 5);
    int wc = 5;
    for (size_t i = 0; i < r->n_rules; i++) {
        int n = (int)(strlen(r->rules[i].op) + 1 + strlen(r->rules[i].bound));
        wc = n > wc ? (n > 48 ? 48 : n) : wc;
    }
    printf("%-6s  %-*s  %-*s  %-*s  %s\n", "RESULT", wn, "RULE", wf, "FIELD", wc, "CHECK", "SEEN");
    size_t failed = 0;
    for (size_t i = 0; i < r->n_rules; i++) {
        const struct policy_rule_result *x = &r->rules[i];
        snprintf(check, sizeof check, "%s%s%s", x->op, x->bound[0] ? " " : "", x->bound);
        printf("%-6s  %-*s  %-*s  %-*s  %s\n", x->passed ? "PASS" : "FAIL", wn, x->name, wf,
               x->field, wc, check, x->seen);
        failed += !x->passed;
    }
    if (failed) {
        printf("\n");
        for (size_t i = 0; i < r->n_rules; i++)
            if (!r->rules[i].passed)
                printf("  %s: %s\n", r->rules[i].name, r->rules[i].message);
        printf("\nFAIL: %zu of %zu rules failed (manifest %s, policy %s)\n", failed, r->n_rules,
               manifest, policy);
    } else {
        printf("\nPASS: all %zu rules passed (manifest %s, policy %s)\n", r->n_rules, manifest,
               policy);
    }
}

int cmd_gate(int argc, char **argv)
{
    const char *manifest_path = NULL, *policy_path = NULL;
    int json = 0, print_default = 0, code = EXIT_USAGE;
    char err[MMSP_ERRMSG_MAX] = "";
    struct manifest m = {0};
    struct policy *p = NULL;
    struct policy_result res = {0};
    mmsp_err rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--print-default-policy") == 0) {
            print_default = 1;
        } else if (strcmp(a, "--policy") == 0) {
            if (i + 1 >= argc) {
                cli_error(a, "missing value (a policy file)");
                return EXIT_USAGE;
            }
            policy_path = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            cli_error(a, "unknown option");
            fprintf(stderr, "see 'mmsp gate --help'\n");
            return EXIT_USAGE;
        } else if (manifest_path) {
            cli_error(a, "unexpected argument (one manifest at a time)");
            fprintf(stderr, "see 'mmsp gate --help'\n");
            return EXIT_USAGE;
        } else {
            manifest_path = a;
        }
    }
    if (print_default) {
        fputs(policy_default_text(), stdout);
        return 0;
    }
    if (!manifest_path) {
        cli_error("gate", "a MANIFEST file is required");
        fprintf(stderr, "see 'mmsp gate --help'\n");
        return EXIT_USAGE;
    }

    rc = policy_path ? policy_load(policy_path, &p, err, sizeof err)
                     : policy_default(&p, err, sizeof err);
    if (rc) {
        fprintf(stderr, "mmsp: %s\n", err[0] ? err : mmsp_strerror(rc));
        goto out;
    }
    if (strcmp(manifest_path, "-") == 0) {
        char *text = NULL;
        size_t len = 0;
        if (read_stdin(&text, &len)) {
            cli_error("(stdin)", "cannot read, or larger than %d bytes", POLICY_MAX_BYTES);
            goto out;
        }
        rc = manifest_parse(text, len, "(stdin)", &m, err, sizeof err);
        free(text);
    } else {
        rc = manifest_load(manifest_path, &m, err, sizeof err);
    }
    if (rc) {
        fprintf(stderr, "mmsp: %s\n", err[0] ? err : mmsp_strerror(rc));
        goto out;
    }
    if ((rc = policy_evaluate(p, &m, &res, err, sizeof err))) {
        cli_error("gate", "%s", err[0] ? err : mmsp_strerror(rc));
        code = EXIT_FAILED;
        goto out;
    }
    if (json) {
        char *text = policy_result_json(&res);
        if (!text) {
            cli_error("gate", "out of memory");
            code = EXIT_FAILED;
            goto out;
        }
        printf("%s\n", text);
        free(text);
    } else {
        print_table(&res, manifest_path, policy_path ? policy_path : "built-in");
    }
    code = res.passed ? 0 : EXIT_FAILED;
out:
    policy_result_free(&res);
    policy_free(p);
    manifest_free(&m);
    return code;
}
