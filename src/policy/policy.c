/*
 * Policy files (policy.h): a YAML list of rules read into struct policy, strictly (unknown
 * keys, bad operators, bounds of the wrong kind and duplicate rule names are errors naming
 * the file, line and field). The built-in policy is YAML text in this file, parsed by the same
 * code as a user's file. Operators come from the table in gate.c (policy_op_find).
 * Calls: policy/ydoc (libyaml).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_internal.h"

#define MAX_NAME  127 /* bytes in a rule name (struct policy_rule_result.name) */
#define MAX_VALUE 255 /* bytes in a bound or allowlist entry */

/* seed 001's gate, as a policy file: `mmsp gate --print-default-policy` prints it. */
static const char default_policy[] =
    "# The built-in policy of mmsp (seed 001). Copy it, edit it, and pass it with\n"
    "# --policy FILE (mmsp gate, mmsp model register). docs/policy.md describes the format.\n"
    "name: default\n"
    "rules:\n"
    "  - name: min-accuracy\n"
    "    description: minimum model quality\n"
    "    field: spec.metrics.accuracy\n"
    "    op: \">=\"\n"
    "    value: 0.85\n"
    "  - name: min-f1\n"
    "    description: balanced precision and recall\n"
    "    field: spec.metrics.f1_score\n"
    "    op: \">=\"\n"
    "    value: 0.80\n"
    "  - name: fairness-evaluated\n"
    "    description: a bias evaluation is present\n"
    "    field: spec.fairness\n"
    "    op: present\n"
    "  - name: max-demographic-parity\n"
    "    description: bias bound, checked when the fairness evaluation reports it\n"
    "    field: spec.fairness.demographic_parity\n"
    "    op: \"<=\"\n"
    "    value: 0.10\n"
    "    required: false\n"
    "  - name: max-drift\n"
    "    description: model stability, checked when a drift score is reported\n"
    "    field: spec.drift.score\n"
    "    op: \"<\"\n"
    "    value: 0.30\n"
    "    required: false\n"
    "  - name: dependencies-allowlisted\n"
    "    description: supply chain; a manifest without dependencies has nothing to check\n"
    "    field: spec.dependencies\n"
    "    op: in_allowlist\n"
    "    required: false\n"
    "    allowlist:\n"
    "      [xgboost, scikit-learn, numpy, scipy, pandas, pyarrow, onnx, onnxruntime,\n"
    "       skl2onnx, onnxmltools, torch, torchvision, tensorflow, keras, lightgbm,\n"
    "       catboost, statsmodels, joblib, protobuf, transformers, tokenizers,\n"
    "       safetensors, mlflow]\n";

#define DEFAULT_NAME "(built-in policy)"

const char *policy_default_text(void)
{
    return default_policy;
}

struct pctx {
    const char *name;
    char *err;
    size_t errlen;
};

#define FAIL(c, line, field, ...)                                                                  \
    ydoc_fail((c)->err, (c)->errlen, (c)->name, (line), (field), MMSP_E_INVALID, __VA_ARGS__)

static const char *got(const struct ydoc_node *n, char out[96])
{
    char tmp[72];
    if (n && n->type == YDOC_SCALAR && !ydoc_is_null(n))
        snprintf(out, 96, "%s'%s'", n->plain ? "" : "the quoted string ", ydoc_show(n->str, tmp));
    else
        snprintf(out, 96, "%s", ydoc_kind(n));
    return out;
}

/* A non-empty scalar of at most max bytes, no NUL and no control bytes. */
static mmsp_err read_text(struct pctx *c, const struct ydoc_node *n, const char *field, size_t max,
                          char **out)
{
    char g[96];
    if (ydoc_is_null(n) || n->type != YDOC_SCALAR)
        return FAIL(c, n->line, field, "expected a string, got %s", got(n, g));
    if (!n->len)
        return FAIL(c, n->line, field, "is empty");
    if (n->len > max)
        return FAIL(c, n->line, field, "longer than %zu bytes", max);
    for (size_t i = 0; i < n->len; i++)
        if ((unsigned char)n->str[i] < 0x20 || n->str[i] == 0x7f)
            return FAIL(c, n->line, field, "contains a control character");
    *out = strdup(n->str);
    return *out ? MMSP_OK : MMSP_E_NOMEM;
}

static void rule_release(struct policy_rule *r)
{
    free(r->name);
    free(r->field);
    free(r->description);
    free(r->value);
    for (size_t i = 0; r->allow && i < r->n_allow; i++)
        free(r->allow[i]);
    free(r->allow);
    memset(r, 0, sizeof *r);
}

void policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->rules && i < p->n_rules; i++)
        rule_release(&p->rules[i]);
    free(p->rules);
    free(p->name);
    free(p);
}

size_t policy_rule_count(const struct policy *p)
{
    return p ? p->n_rules : 0;
}

const char *policy_name(const struct policy *p)
{
    return p && p->name ? p->name : "";
}

/* An allowlist entry: "name" or "name==version" (package names as in manifests). */
static int allow_entry_ok(const char *s)
{
    const char *eq = strstr(s, "==");
    size_t n = eq ? (size_t)(eq - s) : strlen(s);
    if (!n || (eq && !eq[2]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
            return 0;
    }
    for (const char *v = eq ? eq + 2 : ""; *v; v++)
        if ((unsigned char)*v <= 0x20)
            return 0;
    return 1;
}

static mmsp_err read_allowlist(struct pctx *c, const struct ydoc_node *n, const char *field,
                               struct policy_rule *r)
{
    char g[96], f[YDOC_MAX_PATH + 32], tmp[72];
    if (n->type != YDOC_SEQ)
        return FAIL(c, n->line, field, "expected a list of package names, got %s", got(n, g));
    if (n->n > POLICY_MAX_ALLOWLIST)
        return FAIL(c, n->line, field, "more than %d entries", POLICY_MAX_ALLOWLIST);
    if (n->n && !(r->allow = calloc(n->n, sizeof *r->allow)))
        return MMSP_E_NOMEM;
    size_t i = 0;
    for (const struct ydoc_node *it = n->first; it; it = it->next, i++) {
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        mmsp_err rc = read_text(c, it, f, MAX_VALUE, &r->allow[i]);
        if (rc)
            return rc;
        r->n_allow = i + 1;
        if (!allow_entry_ok(r->allow[i]))
            return FAIL(c, it->line, f, "expected 'name' or 'name==version', got '%s'",
                        ydoc_show(r->allow[i], tmp));
    }
    return MMSP_OK;
}

static const char *const rule_keys[] = {"name",  "description", "field",     "op",
                                        "value", "required",    "allowlist", NULL};

static mmsp_err read_rule(struct pctx *c, const struct ydoc_node *n, size_t idx,
                          struct policy_rule *r)
{
    char g[96], tmp[72], base[32], f[YDOC_MAX_PATH + 64];
    mmsp_err rc;
    snprintf(base, sizeof base, "rules[%zu]", idx);
    r->line = n->line;
    r->required = 1;
    if (n->type != YDOC_MAP)
        return FAIL(c, n->line, base, "expected a mapping (name, field, op, ...), got %s",
                    got(n, g));
    for (const struct ydoc_node *m = n->first; m; m = m->next) {
        size_t k = 0;
        while (rule_keys[k] && strcmp(rule_keys[k], m->key))
            k++;
        if (!rule_keys[k]) {
            snprintf(f, sizeof f, "%s.%s", base, ydoc_show(m->key, tmp));
            return FAIL(c, m->key_line, f,
                        "unknown key (expected name, description, field, op, value, required, "
                        "allowlist)");
        }
    }
    const char *need[] = {"name", "field", "op"};
    for (size_t i = 0; i < 3; i++) {
        if (ydoc_is_null(ydoc_get(n, need[i]))) {
            snprintf(f, sizeof f, "%s.%s", base, need[i]);
            return FAIL(c, n->line, f, "required field is missing");
        }
    }
    const struct ydoc_node *v;
    snprintf(f, sizeof f, "%s.name", base);
    if ((rc = read_text(c, ydoc_get(n, "name"), f, MAX_NAME, &r->name)))
        return rc;

    snprintf(f, sizeof f, "%s.field", base);
    v = ydoc_get(n, "field");
    if ((rc = read_text(c, v, f, YDOC_MAX_PATH - 1, &r->field)))
        return rc;
    char why[96];
    if (!ydoc_path_valid(r->field, why, sizeof why))
        return FAIL(c, v->line, f, "'%s' is not a field path (like spec.metrics.accuracy): %s",
                    ydoc_show(r->field, tmp), why);

    v = ydoc_get(n, "description");
    snprintf(f, sizeof f, "%s.description", base);
    if (!ydoc_is_null(v) && (rc = read_text(c, v, f, 1024, &r->description)))
        return rc;

    v = ydoc_get(n, "op");
    snprintf(f, sizeof f, "%s.op", base);
    char *op = NULL;
    if ((rc = read_text(c, v, f, 32, &op)))
        return rc;
    r->op = policy_op_find(op);
    free(op);
    if (!r->op)
        return FAIL(c, v->line, f,
                    "unknown operator %s (expected \">=\", \">\", \"<=\", \"<\", \"==\", \"!=\", "
                    "present, in_allowlist)",
                    got(v, g));

    v = ydoc_get(n, "required");
    snprintf(f, sizeof f, "%s.required", base);
    if (!ydoc_is_null(v) && !ydoc_bool(v, &r->required))
        return FAIL(c, v->line, f, "expected true or false, got %s", got(v, g));

    const struct ydoc_node *value = ydoc_get(n, "value"), *allow = ydoc_get(n, "allowlist");
    char fv[48], fa[48];
    snprintf(fv, sizeof fv, "%s.value", base);
    snprintf(fa, sizeof fa, "%s.allowlist", base);
    if (allow && r->op->operand != OPERAND_ALLOWLIST)
        return FAIL(c, allow->key_line, fa, "only op in_allowlist takes an allowlist");
    switch (r->op->operand) {
    case OPERAND_NONE:
    case OPERAND_ALLOWLIST:
        if (value)
            return FAIL(c, value->key_line, fv, "op %s takes no value%s", r->op->name,
                        r->op->operand == OPERAND_ALLOWLIST ? " (give an allowlist)" : "");
        if (r->op->operand == OPERAND_ALLOWLIST) {
            if (ydoc_is_null(allow))
                return FAIL(c, allow ? allow->line : n->line, fa,
                            "required field is missing (op in_allowlist)");
            return read_allowlist(c, allow, fa, r);
        }
        return MMSP_OK;
    case OPERAND_NUMBER:
        if (ydoc_is_null(value))
            return FAIL(c, value ? value->line : n->line, fv,
                        "required field is missing (op \"%s\" needs a number)", r->op->name);
        if (!ydoc_number(value, &r->num))
            return FAIL(c, value->line, fv, "expected a number, got %s", got(value, g));
        r->value_is_num = 1;
        return read_text(c, value, fv, MAX_VALUE, &r->value);
    case OPERAND_SCALAR:
        if (ydoc_is_null(value))
            return FAIL(c, value ? value->line : n->line, fv,
                        "required field is missing (op \"%s\" needs a value)", r->op->name);
        r->value_is_num = ydoc_number(value, &r->num);
        return read_text(c, value, fv, MAX_VALUE, &r->value);
    }
    return MMSP_E_INTERNAL;
}

static mmsp_err read_policy(struct pctx *c, const struct ydoc_node *root, struct policy *p)
{
    char g[96], tmp[72], f[64];
    mmsp_err rc;
    if (!root || ydoc_is_null(root))
        return FAIL(c, root ? root->line : 1, "rules", "the policy is empty (expected rules)");
    if (root->type != YDOC_MAP)
        return FAIL(c, root->line, "(document)", "expected a mapping with rules, got %s",
                    got(root, g));
    for (const struct ydoc_node *m = root->first; m; m = m->next)
        if (strcmp(m->key, "name") && strcmp(m->key, "description") && strcmp(m->key, "rules"))
            return FAIL(c, m->key_line, ydoc_show(m->key, tmp),
                        "unknown key (expected name, description, rules)");
    const struct ydoc_node *v = ydoc_get(root, "name");
    char *unused = NULL;
    if (!ydoc_is_null(v) && (rc = read_text(c, v, "name", MAX_NAME, &unused)))
        return rc;
    free(unused);
    unused = NULL;
    v = ydoc_get(root, "description");
    if (!ydoc_is_null(v) && (rc = read_text(c, v, "description", 4096, &unused)))
        return rc;
    free(unused);

    const struct ydoc_node *rules = ydoc_get(root, "rules");
    if (ydoc_is_null(rules))
        return FAIL(c, rules ? rules->line : root->line, "rules", "required field is missing");
    if (rules->type != YDOC_SEQ)
        return FAIL(c, rules->line, "rules", "expected a list of rules, got %s", got(rules, g));
    if (!rules->n)
        return FAIL(c, rules->line, "rules", "no rules (a policy needs at least one)");
    if (rules->n > POLICY_MAX_RULES)
        return FAIL(c, rules->line, "rules", "more than %d rules", POLICY_MAX_RULES);
    if (!(p->rules = calloc(rules->n, sizeof *p->rules)))
        return MMSP_E_NOMEM;
    size_t i = 0;
    for (const struct ydoc_node *it = rules->first; it; it = it->next, i++) {
        p->n_rules = i + 1;
        if ((rc = read_rule(c, it, i, &p->rules[i])))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->rules[j].name, p->rules[i].name) == 0) {
                snprintf(f, sizeof f, "rules[%zu].name", i);
                return FAIL(c, ydoc_get(it, "name")->line, f,
                            "duplicate rule name '%s' (first at line %zu)",
                            ydoc_show(p->rules[i].name, tmp), p->rules[j].line);
            }
    }
    return MMSP_OK;
}

mmsp_err policy_parse(const char *text, size_t len, const char *name, struct policy **out,
                      char *err, size_t errlen)
{
    struct ydoc *doc = NULL;
    struct pctx c = {.name = name ? name : "policy", .err = err, .errlen = errlen};
    struct policy *p = NULL;
    mmsp_err rc = MMSP_OK;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (len > POLICY_MAX_BYTES) {
        rc = ydoc_fail(err, errlen, c.name, 1, "(document)", MMSP_E_TOO_LARGE,
                       "larger than %d bytes", POLICY_MAX_BYTES);
        goto out;
    }
    if ((rc = ydoc_parse(text, len, c.name, &doc, err, errlen)))
        goto out;
    if (!(p = calloc(1, sizeof *p)) || !(p->name = strdup(c.name))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    if ((rc = read_policy(&c, doc->root, p)))
        goto out;
    *out = p;
    p = NULL;
out:
    if (rc == MMSP_E_NOMEM && err && errlen && !err[0])
        snprintf(err, errlen, "%s: out of memory", c.name);
    ydoc_free(doc);
    policy_free(p);
    return rc;
}

mmsp_err policy_load(const char *path, struct policy **out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    mmsp_err rc = ydoc_read_file(path, POLICY_MAX_BYTES, &text, &len, err, errlen);
    if (!rc)
        rc = policy_parse(text, len, path, out, err, errlen);
    free(text);
    return rc;
}

mmsp_err policy_default(struct policy **out, char *err, size_t errlen)
{
    return policy_parse(default_policy, sizeof default_policy - 1, DEFAULT_NAME, out, err, errlen);
}
