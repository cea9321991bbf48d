/*
 * The policy gate: evaluates every rule of a policy on a manifest's document tree and reports
 * each rule with the bound, the value seen and, on failure, why (policy.h). Also the operator
 * table (ops[]: add an operator here, see docs/policy.md), the one-line summary for
 * errors and history events, and the JSON report (jansson).
 * Calls: policy/ydoc, jansson.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy/policy_internal.h"

/* ---- text helpers ---- */

/* Copies s into out (size len), control bytes as '?', "..." when cut. */
static void put_text(char *out, size_t len, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    out[i] = '\0';
    if (s[i] && len > 4)
        memcpy(out + len - 4, "...", 4);
}

/* The value seen, for reports: a scalar as written, "{N keys}", "[N items]" ("{1 key}"). */
static void seen_text(const struct ydoc_node *n, char *out, size_t len)
{
    if (n->type == YDOC_SCALAR)
        put_text(out, len, n->str);
    else
        snprintf(out, len, "%s%zu %s%s%s", n->type == YDOC_MAP ? "{" : "[", n->n,
                 n->type == YDOC_MAP ? "key" : "item", n->n == 1 ? "" : "s",
                 n->type == YDOC_MAP ? "}" : "]");
}

static void msg(struct policy_rule_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void msg(struct policy_rule_result *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof out->message)
        memcpy(out->message + sizeof out->message - 4, "...", 4);
}

void policy_norm_name(const char *name, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < outlen; i++) {
        char c = name[i];
        if (c == '-' || c == '_' || c == '.') {
            if (o && out[o - 1] == '-')
                continue;
            c = '-';
        } else if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

/* ---- operators ---- */

enum cmp { CMP_GE, CMP_GT, CMP_LE, CMP_LT };

static void compare(const struct policy_rule *r, const struct ydoc_node *n,
                    struct policy_rule_result *out, enum cmp how)
{
    static const char *const negation[] = {"<", "<=", ">", ">="};
    char tmp[72];
    double x;
    seen_text(n, out->seen, sizeof out->seen);
    if (!ydoc_number(n, &x)) {
        msg(out, "%s: expected a number, got %s%s%s", r->field, n->type == YDOC_SCALAR ? "'" : "",
            n->type == YDOC_SCALAR ? ydoc_show(n->str, tmp) : ydoc_kind(n),
            n->type == YDOC_SCALAR ? "'" : "");
        return;
    }
    switch (how) {
    case CMP_GE:
        out->passed = x >= r->num;
        break;
    case CMP_GT:
        out->passed = x > r->num;
        break;
    case CMP_LE:
        out->passed = x <= r->num;
        break;
    case CMP_LT:
        out->passed = x < r->num;
        break;
    }
    if (!out->passed)
        msg(out, "%s %s %s %s", r->field, out->seen, negation[how], r->value);
}

static void op_ge(const struct policy_rule *r, const struct ydoc_node *n,
                  struct policy_rule_result *out)
{
    compare(r, n, out, CMP_GE);
}

static void op_gt(const struct policy_rule *r, const struct ydoc_node *n,
                  struct policy_rule_result *out)
{
    compare(r, n, out, CMP_GT);
}

static void op_le(const struct policy_rule *r, const struct ydoc_node *n,
                  struct policy_rule_result *out)
{
    compare(r, n, out, CMP_LE);
}

static void op_lt(const struct policy_rule *r, const struct ydoc_node *n,
                  struct policy_rule_result *out)
{
    compare(r, n, out, CMP_LT);
}

/* == / !=: numbers compare as numbers when both sides are numbers, else as exact text. */
static void equality(const struct policy_rule *r, const struct ydoc_node *n,
                     struct policy_rule_result *out, int want_equal)
{
    double x;
    seen_text(n, out->seen, sizeof out->seen);
    if (n->type != YDOC_SCALAR) {
        msg(out, "%s: expected a value, got %s", r->field, ydoc_kind(n));
        return;
    }
    int equal = (r->value_is_num && ydoc_number(n, &x))
                    ? x == r->num
                    : (strlen(n->str) == n->len && strcmp(n->str, r->value) == 0);
    out->passed = equal == want_equal;
    if (!out->passed)
        msg(out, "%s %s %s %s", r->field, out->seen, want_equal ? "!=" : "==", r->value);
}

static void op_eq(const struct policy_rule *r, const struct ydoc_node *n,
                  struct policy_rule_result *out)
{
    equality(r, n, out, 1);
}

static void op_ne(const struct policy_rule *r, const struct ydoc_node *n,
                  struct policy_rule_result *out)
{
    equality(r, n, out, 0);
}

static void op_present(const struct policy_rule *r, const struct ydoc_node *n,
                       struct policy_rule_result *out)
{
    (void)r;
    seen_text(n, out->seen, sizeof out->seen);
    out->passed = 1;
}

/* A package reference: name, and version or NULL/0 ("xgboost==1.7.4", {name, version}). */
struct pkg {
    const char *name;
    size_t name_len;
    const char *version; /* NULL when none */
};

/* Reads an item of a dependency list; 0 when it is not a package reference. */
static int pkg_of(const struct ydoc_node *n, struct pkg *p)
{
    memset(p, 0, sizeof *p);
    if (n->type == YDOC_MAP) {
        const struct ydoc_node *name = ydoc_get(n, "name"), *ver = ydoc_get(n, "version");
        if (!name || name->type != YDOC_SCALAR || ydoc_is_null(name) ||
            (ver && ver->type != YDOC_SCALAR))
            return 0;
        p->name = name->str;
        p->name_len = strlen(name->str);
        p->version = ver && !ydoc_is_null(ver) ? ver->str : NULL;
        return 1;
    }
    if (n->type != YDOC_SCALAR || ydoc_is_null(n))
        return 0;
    const char *eq = strstr(n->str, "==");
    p->name = n->str;
    p->name_len = eq ? (size_t)(eq - n->str) : strlen(n->str);
    p->version = eq ? eq + 2 : NULL;
    return p->name_len > 0;
}

/* Allowlist entries "name" allow every version; "name==version" only that one. */
static int allowed(const struct policy_rule *r, const struct pkg *p)
{
    char want[256], have[256];
    if (p->name_len >= sizeof have - 1)
        return 0; /* longer than any allowlist entry: a cut copy must not match one */
    policy_norm_name(p->name, p->name_len, have, sizeof have);
    for (size_t i = 0; i < r->n_allow; i++) {
        const char *e = r->allow[i];
        const char *eq = strstr(e, "==");
        policy_norm_name(e, eq ? (size_t)(eq - e) : strlen(e), want, sizeof want);
        if (strcmp(want, have) != 0)
            continue;
        if (!eq || (p->version && strcmp(eq + 2, p->version) == 0))
            return 1;
    }
    return 0;
}

/* Appends "sep text" to out (size len) while it fits; returns 0 once it no longer does. */
static int append(char *out, size_t len, const char *sep, const char *text, size_t text_len)
{
    size_t o = strlen(out), s = strlen(sep);
    if (o + s + text_len + 4 >= len) {
        if (o + 4 < len)
            memcpy(out + o, "...", 4);
        return 0;
    }
    memcpy(out + o, sep, s);
    memcpy(out + o + s, text, text_len);
    out[o + s + text_len] = '\0';
    return 1;
}

static void op_in_allowlist(const struct policy_rule *r, const struct ydoc_node *n,
                            struct policy_rule_result *out)
{
    char bad[sizeof out->message], ref[300], tmp[72];
    size_t n_bad = 0, n_items = 0;
    int seen_room = 1, bad_room = 1;
    bad[0] = '\0';
    out->seen[0] = '\0';
    if (n->type == YDOC_MAP) {
        seen_text(n, out->seen, sizeof out->seen);
        msg(out, "%s: expected a list of dependencies, got a mapping", r->field);
        return;
    }
    /* a scalar field (spec.model.framework) is checked as a list of one */
    for (const struct ydoc_node *it = n->type == YDOC_SEQ ? n->first : n; it;
         it = n->type == YDOC_SEQ ? it->next : NULL) {
        struct pkg p;
        n_items++;
        if (!pkg_of(it, &p)) {
            snprintf(ref, sizeof ref, "(%s)", ydoc_kind(it));
            p.name = NULL;
        } else {
            snprintf(ref, sizeof ref, "%.*s%s%s", (int)(p.name_len > 200 ? 200 : p.name_len),
                     p.name, p.version ? "==" : "", p.version ? ydoc_show(p.version, tmp) : "");
        }
        for (char *c = ref; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
        if (seen_room)
            seen_room =
                append(out->seen, sizeof out->seen, n_items > 1 ? ", " : "", ref, strlen(ref));
        if (!p.name || !allowed(r, &p)) {
            n_bad++;
            if (bad_room) {
                bad_room = append(bad, sizeof bad, n_bad > 1 ? ", " : "", "'", 1) &&
                           append(bad, sizeof bad, "", ref, strlen(ref)) &&
                           append(bad, sizeof bad, "", "'", 1);
            }
        }
    }
    if (n->type == YDOC_SEQ && !n->n)
        snprintf(out->seen, sizeof out->seen, "[]");
    out->passed = n_bad == 0;
    if (!out->passed)
        msg(out, "%s %s %s not in the allowlist", n_bad > 1 ? "dependencies" : "dependency", bad,
            n_bad > 1 ? "are" : "is");
}

/* The operators policy files may use; `alias` spares YAML quoting (op: ge). */
static const struct {
    struct policy_op op;
    const char *alias;
} ops[] = {
    {{">=", OPERAND_NUMBER, op_ge}, "ge"},
    {{">", OPERAND_NUMBER, op_gt}, "gt"},
    {{"<=", OPERAND_NUMBER, op_le}, "le"},
    {{"<", OPERAND_NUMBER, op_lt}, "lt"},
    {{"==", OPERAND_SCALAR, op_eq}, "eq"},
    {{"!=", OPERAND_SCALAR, op_ne}, "ne"},
    {{"present", OPERAND_NONE, op_present}, NULL},
    {{"in_allowlist", OPERAND_ALLOWLIST, op_in_allowlist}, NULL},
};

const struct policy_op *policy_op_find(const char *name)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].op.name, name) == 0 || (ops[i].alias && !strcmp(ops[i].alias, name)))
            return &ops[i].op;
    return NULL;
}

/* ---- evaluation ---- */

static void judge(const struct policy_rule *r, const struct ydoc_node *root,
                  struct policy_rule_result *out)
{
    put_text(out->name, sizeof out->name, r->name);
    put_text(out->field, sizeof out->field, r->field);
    put_text(out->op, sizeof out->op, r->op->name);
    if (r->op->operand == OPERAND_ALLOWLIST)
        snprintf(out->bound, sizeof out->bound, "%zu name%s", r->n_allow,
                 r->n_allow == 1 ? "" : "s");
    else if (r->value)
        put_text(out->bound, sizeof out->bound, r->value);
    const struct ydoc_node *n = ydoc_path(root, r->field);
    if (ydoc_is_null(n)) {
        snprintf(out->seen, sizeof out->seen, "(absent)");
        out->passed = !r->required;
        if (!out->passed)
            msg(out, "%s is absent (required)", r->field);
        return;
    }
    r->op->check(r, n, out);
    if (out->passed)
        out->message[0] = '\0';
}

mmsp_err policy_evaluate(const struct policy *p, const struct manifest *m,
                         struct policy_result *out, char *err, size_t errlen)
{
    struct ydoc *own = NULL;
    char *yaml = NULL;
    mmsp_err rc = MMSP_OK;
    const struct ydoc_node *root;

    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!p || !m) {
        if (err && errlen)
            snprintf(err, errlen, "policy_evaluate: no %s", p ? "manifest" : "policy");
        return MMSP_E_INVALID;
    }
    if (m->doc_) {
        root = ((const struct ydoc *)m->doc_)->root;
    } else {
        /* a manifest filled in code: gate what it says, through the same tree */
        if (!(yaml = manifest_to_yaml(m))) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        if ((rc = ydoc_parse(yaml, strlen(yaml), "manifest", &own, err, errlen)))
            goto out;
        root = own->root;
    }
    if (!(out->rules = calloc(p->n_rules ? p->n_rules : 1, sizeof *out->rules))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    out->n_rules = p->n_rules;
    out->passed = 1;
    for (size_t i = 0; i < p->n_rules; i++) {
        judge(&p->rules[i], root, &out->rules[i]);
        out->passed &= out->rules[i].passed;
    }
out:
    if (rc == MMSP_E_NOMEM && err && errlen && !err[0])
        snprintf(err, errlen, "policy gate: out of memory");
    free(yaml);
    ydoc_free(own);
    if (rc)
        policy_result_free(out);
    return rc;
}

void policy_result_free(struct policy_result *r)
{
    if (!r)
        return;
    free(r->rules);
    memset(r, 0, sizeof *r);
}

void policy_result_summary(const struct policy_result *r, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    size_t failed = 0;
    for (size_t i = 0; i < r->n_rules; i++) {
        const struct policy_rule_result *x = &r->rules[i];
        if (x->passed)
            continue;
        size_t o = strlen(buf);
        int n = snprintf(buf + o, len - o, "%s%s: %s", failed ? "; " : "", x->name,
                         x->message[0] ? x->message : "failed");
        failed++;
        if (n < 0 || (size_t)n >= len - o) {
            if (len > 4)
                memcpy(buf + len - 4, "...", 4);
            return;
        }
    }
    if (!failed)
        snprintf(buf, len, "all %zu rules passed", r->n_rules);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s does not start one. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (!n || (s[0] >= 0xf8))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    unsigned cp = n == 2   ? (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu)
                  : n == 3 ? (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu)
                           : (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 |
                                 (s[3] & 0x3fu);
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* A JSON string of s: report texts are cut at byte limits, so a cut (or odd) UTF-8 sequence
 * becomes '?' rather than making jansson refuse the whole report. */
static json_t *jstr(const char *s)
{
    char out[512];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < sizeof out;) {
        size_t n = utf8_len(p);
        if (!n) {
            out[o++] = '?';
            p++;
            continue;
        }
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    return json_string(out);
}

char *policy_result_json(const struct policy_result *r)
{
    json_t *root = json_object(), *rules = json_array();
    char *text = NULL;
    if (!root || !rules)
        goto out;
    if (json_object_set_new(root, "passed", json_boolean(r->passed)) ||
        json_object_set(root, "rules", rules))
        goto out;
    for (size_t i = 0; i < r->n_rules; i++) {
        const struct policy_rule_result *x = &r->rules[i];
        json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:o}", "name", jstr(x->name), "field",
                              jstr(x->field), "op", jstr(x->op), "bound", jstr(x->bound), "seen",
                              jstr(x->seen), "passed", x->passed, "message", jstr(x->message));
        if (!o || json_array_append_new(rules, o))
            goto out;
    }
    text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
out:
    json_decref(rules);
    json_decref(root);
    return text;
}
