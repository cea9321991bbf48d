/*
 * A small YAML document tree for manifests and policies (internal to src/policy): libyaml's
 * event parser builds mapping, sequence and scalar nodes with their line numbers in one
 * arena, so a rule can name any value by a field path ("spec.metrics.accuracy",
 * "spec.dependencies[0].name").
 *
 * Limits, all reported as "name:line: field: message": input size (given by the caller),
 * nesting depth YDOC_MAX_DEPTH, YDOC_MAX_NODES nodes, YDOC_MAX_SCALAR bytes in one scalar.
 * Anchors are ignored and aliases refused (no "billion laughs"); duplicate keys, non-scalar
 * keys and a second document are errors.
 * Calls: libyaml, common/arena.
 */
#ifndef MMSP_POLICY_YDOC_H
#define MMSP_POLICY_YDOC_H

#include <stddef.h>

#include "common/arena.h"
#include "mmsp/error.h"

#define YDOC_MAX_DEPTH  64
#define YDOC_MAX_NODES  100000
#define YDOC_MAX_SCALAR 65536
#define YDOC_MAX_PATH   256 /* bytes in a field path, NUL included */

enum ydoc_type { YDOC_SCALAR, YDOC_MAP, YDOC_SEQ };

struct ydoc_node {
    enum ydoc_type type;
    size_t line;            /* 1-based line where the node starts */
    const char *key;        /* when a mapping member: its key (NUL-free); else NULL */
    size_t key_line;        /* line of that key */
    struct ydoc_node *next; /* next member or item of the parent */
    /* scalars */
    const char *str; /* NUL-terminated; may hold NULs only when len says so */
    size_t len;
    int plain; /* unquoted and untagged: may be read as null, number or boolean */
    /* mappings and sequences */
    struct ydoc_node *first, *last;
    size_t n;
};

struct ydoc {
    struct arena arena;     /* owns every node and string */
    struct ydoc_node *root; /* NULL for an empty document */
};

/*
 * Parses text[0..len) (one YAML document) into *out (a new tree the caller frees with
 * ydoc_free). `name` names the input in messages. Errors: MMSP_E_PARSE (syntax, aliases,
 * duplicate keys, ...), MMSP_E_TOO_LARGE (a limit), MMSP_E_NOMEM, each with a message.
 */
mmsp_err ydoc_parse(const char *text, size_t len, const char *name, struct ydoc **out, char *err,
                    size_t errlen);
void ydoc_free(struct ydoc *d); /* NULL is fine */

/* Reads a whole file of at most max bytes into a malloc'd NUL-terminated buffer. */
mmsp_err ydoc_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
                        size_t errlen);

/* The member `key` of a mapping; NULL when absent or when map is not a mapping. */
const struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key);

/* The node at a field path ("a.b[2].c") from root; NULL when any step is absent. */
const struct ydoc_node *ydoc_path(const struct ydoc_node *root, const char *path);

/* 1 when path is a well-formed field path: names of [A-Za-z0-9_-/] joined by '.', each
 * optionally followed by [N] indexes. Else 0 and why in why[]. */
int ydoc_path_valid(const char *path, char *why, size_t whylen);

int ydoc_is_null(const struct ydoc_node *n); /* NULL, or a plain "", "~", "null" */
/* 1 and *out when n is a plain scalar that reads as a finite number (YAML core schema). */
int ydoc_number(const struct ydoc_node *n, double *out);
/* 1 and *out when n is a plain true/false (True, TRUE, False, FALSE). */
int ydoc_bool(const struct ydoc_node *n, int *out);
/* "a mapping", "a list", "null", "a string", ... for messages. */
const char *ydoc_kind(const struct ydoc_node *n);

/* A printable excerpt of s for messages: at most 64 bytes, control bytes shown as '?'. */
const char *ydoc_show(const char *s, char out[72]);

/* Writes "name:line: field: <message>" into err (when err) and returns code. */
mmsp_err ydoc_fail(char *err, size_t errlen, const char *name, size_t line, const char *field,
                   mmsp_err code, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#endif
