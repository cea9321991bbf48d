/*
 * Internals shared by the policy parser (policy.c) and the gate (gate.c): the parsed rule set
 * and the operator table. Adding an operator is one entry in ops[] (gate.c) plus its
 * check function; the parser finds it by name and checks its operand kind.
 */
#ifndef MMSP_POLICY_INTERNAL_H
#define MMSP_POLICY_INTERNAL_H

#include <stddef.h>

#include "policy/policy.h"
#include "policy/ydoc.h"

#define POLICY_MAX_RULES     256
#define POLICY_MAX_ALLOWLIST 10000

struct policy_op;

struct policy_rule {
    char *name;                 /* owned; unique within the policy */
    char *field;                /* owned; a valid field path (ydoc_path_valid) */
    char *description;          /* owned; NULL when not given */
    const struct policy_op *op; /* static, from policy_ops[] */
    char *value;                /* owned; the bound as written; NULL when the op takes none */
    int value_is_num;           /* value is a plain number: num holds it */
    double num;
    int required; /* absence fails the rule */
    char **allow; /* owned, n_allow entries: "name" or "name==version" as written */
    size_t n_allow;
    size_t line; /* where the rule starts in its file */
};

struct policy {
    char *name; /* owned; the file name or "(built-in policy)" */
    struct policy_rule *rules;
    size_t n_rules;
};

enum policy_operand {
    OPERAND_NONE,     /* present: no value */
    OPERAND_NUMBER,   /* >= > <= <: value must be a number */
    OPERAND_SCALAR,   /* == !=: value is a number or a string */
    OPERAND_ALLOWLIST /* in_allowlist: an allowlist, no value */
};

struct policy_op {
    const char *name; /* as written in policy files */
    enum policy_operand operand;
    /* Judges node n (present, not null) against rule r: fills out->seen, ->passed and, on
     * failure, ->message. */
    void (*check)(const struct policy_rule *r, const struct ydoc_node *n,
                  struct policy_rule_result *out);
};

const struct policy_op *policy_op_find(const char *name); /* NULL when unknown */

/* PEP 503 normalisation of a package name into out (lower case, runs of "-_." -> "-"). */
void policy_norm_name(const char *name, size_t len, char *out, size_t outlen);

#endif
