/*
 * Model manifests (seed 001, policy.h): the YAML is read into a ydoc tree, then checked
 * section by section into struct manifest. The tree is kept in the manifest (doc_) so policy
 * rules can reach any field, including keys this file does not know (unknown keys under spec,
 * spec.model and spec.lineage are allowed: manifests evolve). Every error names the file, the
 * line and the field path. manifest_to_yaml goes the other way, for manifests built in code.
 * Calls: policy/ydoc (libyaml), common/buf.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "policy/policy.h"
#include "policy/ydoc.h"

#define API_VERSION    "mlifecycle.io/v1"
#define KIND           "ModelDeployment"
#define MAX_STRING     1024 /* bytes in a string field */
#define MAX_DEP_NAME   200
#define MAX_DEP_VERSON 128

struct mctx {
    const char *name;
    char *err;
    size_t errlen;
};

#define FAIL(c, line, field, ...)                                                                  \
    ydoc_fail((c)->err, (c)->errlen, (c)->name, (line), (field), MMSP_E_INVALID, __VA_ARGS__)

/* "got 'high'" / "got a mapping" / "got the quoted string '0.9'": what a value is, for
 * messages. */
static const char *got(const struct ydoc_node *n, char out[96])
{
    char tmp[72];
    if (n && n->type == YDOC_SCALAR && !ydoc_is_null(n))
        snprintf(out, 96, "%s'%s'", n->plain ? "" : "the quoted string ", ydoc_show(n->str, tmp));
    else
        snprintf(out, 96, "%s", ydoc_kind(n));
    return out;
}

/* A string field: any non-null scalar (numbers and booleans read as their text). Absent or
 * null leaves *out NULL unless required. */
static mmsp_err read_string(struct mctx *c, const struct ydoc_node *parent, const char *key,
                            const char *field, int required, char **out)
{
    char g[96];
    const struct ydoc_node *n = ydoc_get(parent, key);
    if (ydoc_is_null(n)) {
        if (required)
            return FAIL(c, n ? n->line : parent->line, field, "required field is missing");
        return MMSP_OK;
    }
    if (n->type != YDOC_SCALAR)
        return FAIL(c, n->line, field, "expected a string, got %s", got(n, g));
    if (strlen(n->str) != n->len)
        return FAIL(c, n->line, field, "contains a NUL byte");
    if (n->len == 0)
        return FAIL(c, n->line, field, "is empty");
    if (n->len > MAX_STRING)
        return FAIL(c, n->line, field, "longer than %d bytes", MAX_STRING);
    free(*out);
    *out = strdup(n->str);
    return *out ? MMSP_OK : MMSP_E_NOMEM;
}

/* A mapping, or absent/null (then *out = NULL). */
static mmsp_err read_map(struct mctx *c, const struct ydoc_node *parent, const char *key,
                         const char *field, const struct ydoc_node **out)
{
    char g[96];
    const struct ydoc_node *n = ydoc_get(parent, key);
    *out = NULL;
    if (ydoc_is_null(n))
        return MMSP_OK;
    if (n->type != YDOC_MAP)
        return FAIL(c, n->line, field, "expected a mapping, got %s", got(n, g));
    *out = n;
    return MMSP_OK;
}

/* Every member of map must be a number: into a new array. */
static mmsp_err read_numbers(struct mctx *c, const struct ydoc_node *map, const char *section,
                             struct manifest_kv_num **out, size_t *count)
{
    char g[96], field[YDOC_MAX_PATH + 64], tmp[72];
    *out = NULL;
    *count = 0;
    if (!map || !map->n)
        return MMSP_OK;
    struct manifest_kv_num *v = calloc(map->n, sizeof *v);
    if (!v)
        return MMSP_E_NOMEM;
    *out = v;
    for (const struct ydoc_node *m = map->first; m; m = m->next) {
        snprintf(field, sizeof field, "%s.%s", section, ydoc_show(m->key, tmp));
        if (!ydoc_number(m, &v[*count].value))
            return FAIL(c, m->type == YDOC_SCALAR ? m->line : m->key_line, field,
                        "expected a number, got %s", got(m, g));
        if (!(v[*count].key = strdup(m->key)))
            return MMSP_E_NOMEM;
        ++*count;
    }
    return MMSP_OK;
}

static int dep_name_ok(const char *s, size_t len)
{
    if (!len || len > MAX_DEP_NAME)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        int alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
            return 0;
    }
    return 1;
}

static int dep_version_ok(const char *s, size_t len)
{
    if (!len || len > MAX_DEP_VERSON)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* One dependency: {name, version} or "name" / "name==version". */
static mmsp_err read_dependency(struct mctx *c, const struct ydoc_node *n, size_t i,
                                struct manifest_dependency *d)
{
    char field[64], g[96], tmp[72];
    snprintf(field, sizeof field, "spec.dependencies[%zu]", i);
    if (n->type == YDOC_SCALAR && !ydoc_is_null(n)) {
        const char *s = n->str;
        const char *eq = strstr(s, "==");
        size_t nlen = eq ? (size_t)(eq - s) : strlen(s);
        if (strlen(s) != n->len || !dep_name_ok(s, nlen) ||
            (eq && !dep_version_ok(eq + 2, strlen(eq + 2))))
            return FAIL(c, n->line, field,
                        "expected 'name' or 'name==version' (a package name of letters, "
                        "digits, '.', '_', '-'), got '%s'",
                        ydoc_show(s, tmp));
        d->name = strndup(s, nlen);
        if (!d->name || (eq && !(d->version = strdup(eq + 2))))
            return MMSP_E_NOMEM;
        return MMSP_OK;
    }
    if (n->type != YDOC_MAP)
        return FAIL(c, n->line, field, "expected {name, version} or 'name==version', got %s",
                    got(n, g));
    char fname[80], fver[80];
    snprintf(fname, sizeof fname, "%s.name", field);
    snprintf(fver, sizeof fver, "%s.version", field);
    mmsp_err rc = read_string(c, n, "name", fname, 1, &d->name);
    if (!rc)
        rc = read_string(c, n, "version", fver, 0, &d->version);
    if (rc)
        return rc;
    if (!dep_name_ok(d->name, strlen(d->name)))
        return FAIL(c, ydoc_get(n, "name")->line, fname,
                    "'%s' is not a package name (letters, digits, '.', '_', '-')",
                    ydoc_show(d->name, tmp));
    if (d->version && !dep_version_ok(d->version, strlen(d->version)))
        return FAIL(c, ydoc_get(n, "version")->line, fver,
                    "'%s' is not a version (no spaces, at most %d bytes)",
                    ydoc_show(d->version, tmp), MAX_DEP_VERSON);
    return MMSP_OK;
}

static mmsp_err read_dependencies(struct mctx *c, const struct ydoc_node *spec,
                                  struct manifest *out)
{
    char g[96];
    const struct ydoc_node *n = ydoc_get(spec, "dependencies");
    if (ydoc_is_null(n))
        return MMSP_OK;
    if (n->type != YDOC_SEQ)
        return FAIL(c, n->line, "spec.dependencies", "expected a list, got %s", got(n, g));
    if (!n->n)
        return MMSP_OK;
    out->dependencies = calloc(n->n, sizeof *out->dependencies);
    if (!out->dependencies)
        return MMSP_E_NOMEM;
    size_t i = 0;
    for (const struct ydoc_node *it = n->first; it; it = it->next, i++) {
        out->n_dependencies = i + 1; /* so manifest_free frees a half-read entry */
        mmsp_err rc = read_dependency(c, it, i, &out->dependencies[i]);
        if (rc)
            return rc;
    }
    return MMSP_OK;
}

static mmsp_err read_spec(struct mctx *c, const struct ydoc_node *root, struct manifest *out)
{
    char g[96];
    const struct ydoc_node *spec = ydoc_get(root, "spec"), *model, *sec;
    mmsp_err rc;
    if (ydoc_is_null(spec))
        return FAIL(c, spec ? spec->line : root->line, "spec", "required field is missing");
    if (spec->type != YDOC_MAP)
        return FAIL(c, spec->line, "spec", "expected a mapping, got %s", got(spec, g));

    if ((rc = read_map(c, spec, "model", "spec.model", &model)))
        return rc;
    if (!model)
        return FAIL(c, spec->line, "spec.model", "required field is missing");
    if ((rc = read_string(c, model, "name", "spec.model.name", 1, &out->model_name)) ||
        (rc = read_string(c, model, "version", "spec.model.version", 0, &out->model_version)) ||
        (rc = read_string(c, model, "framework", "spec.model.framework", 0, &out->framework)))
        return rc;

    if ((rc = read_map(c, spec, "metrics", "spec.metrics", &sec)) ||
        (rc = read_numbers(c, sec, "spec.metrics", &out->metrics, &out->n_metrics)))
        return rc;
    if ((rc = read_map(c, spec, "fairness", "spec.fairness", &sec)) ||
        (rc = read_numbers(c, sec, "spec.fairness", &out->fairness, &out->n_fairness)))
        return rc;
    out->has_fairness = sec != NULL;

    if ((rc = read_map(c, spec, "drift", "spec.drift", &sec)))
        return rc;
    const struct ydoc_node *score = ydoc_get(sec, "score");
    if (!ydoc_is_null(score)) {
        if (!ydoc_number(score, &out->drift_score))
            return FAIL(c, score->line, "spec.drift.score", "expected a number, got %s",
                        got(score, g));
        out->has_drift_score = 1;
    }

    if ((rc = read_dependencies(c, spec, out)))
        return rc;

    if ((rc = read_map(c, spec, "lineage", "spec.lineage", &sec)))
        return rc;
    if (sec &&
        ((rc = read_string(c, sec, "git_sha", "spec.lineage.git_sha", 0, &out->git_sha)) ||
         (rc = read_string(c, sec, "dataset_version", "spec.lineage.dataset_version", 0,
                           &out->dataset_version)) ||
         (rc = read_string(c, sec, "approver", "spec.lineage.approver", 0, &out->approver)) ||
         (rc = read_string(c, sec, "run_id", "spec.lineage.run_id", 0, &out->run_id))))
        return rc;
    return MMSP_OK;
}

static mmsp_err read_manifest(struct mctx *c, const struct ydoc_node *root, struct manifest *out)
{
    char g[96], tmp[72];
    mmsp_err rc;
    if (!root || ydoc_is_null(root))
        return FAIL(c, root ? root->line : 1, "(document)",
                    "the manifest is empty (expected apiVersion, kind and spec)");
    if (root->type != YDOC_MAP)
        return FAIL(c, root->line, "(document)", "expected a mapping, got %s", got(root, g));
    for (const struct ydoc_node *m = root->first; m; m = m->next)
        if (strcmp(m->key, "apiVersion") && strcmp(m->key, "kind") && strcmp(m->key, "metadata") &&
            strcmp(m->key, "spec"))
            return FAIL(c, m->key_line, ydoc_show(m->key, tmp),
                        "unknown key (expected apiVersion, kind, metadata, spec)");

    if ((rc = read_string(c, root, "apiVersion", "apiVersion", 1, &out->api_version)))
        return rc;
    if (strcmp(out->api_version, API_VERSION) != 0)
        return FAIL(c, ydoc_get(root, "apiVersion")->line, "apiVersion",
                    "expected '" API_VERSION "', got '%s'", ydoc_show(out->api_version, tmp));
    if ((rc = read_string(c, root, "kind", "kind", 1, &out->kind)))
        return rc;
    if (strcmp(out->kind, KIND) != 0)
        return FAIL(c, ydoc_get(root, "kind")->line, "kind", "expected '" KIND "', got '%s'",
                    ydoc_show(out->kind, tmp));

    const struct ydoc_node *meta;
    if ((rc = read_map(c, root, "metadata", "metadata", &meta)))
        return rc;
    if (meta && (rc = read_string(c, meta, "name", "metadata.name", 0, &out->metadata_name)))
        return rc;
    return read_spec(c, root, out);
}

mmsp_err manifest_parse(const char *text, size_t len, const char *name, struct manifest *out,
                        char *err, size_t errlen)
{
    struct ydoc *doc = NULL;
    struct mctx c = {.name = name ? name : "manifest", .err = err, .errlen = errlen};
    mmsp_err rc = MMSP_OK;

    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (len > POLICY_MAX_BYTES) {
        rc = ydoc_fail(err, errlen, c.name, 1, "(document)", MMSP_E_TOO_LARGE,
                       "larger than %d bytes", POLICY_MAX_BYTES);
        goto out;
    }
    if ((rc = ydoc_parse(text, len, c.name, &doc, err, errlen)))
        goto out;
    if ((rc = read_manifest(&c, doc->root, out)))
        goto out;
    if (!(out->text = malloc(len + 1))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    memcpy(out->text, text, len);
    out->text[len] = '\0';
    out->doc_ = doc;
    doc = NULL;
out:
    ydoc_free(doc);
    if (rc == MMSP_E_NOMEM && err && errlen && !err[0])
        snprintf(err, errlen, "%s: out of memory", c.name);
    if (rc)
        manifest_free(out);
    return rc;
}

mmsp_err manifest_load(const char *path, struct manifest *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    mmsp_err rc = ydoc_read_file(path, POLICY_MAX_BYTES, &text, &len, err, errlen);
    if (!rc)
        rc = manifest_parse(text, len, path, out, err, errlen);
    free(text);
    return rc;
}

static void kv_free(struct manifest_kv_num *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].key);
    free(v);
}

void manifest_free(struct manifest *m)
{
    if (!m)
        return;
    free(m->api_version);
    free(m->kind);
    free(m->metadata_name);
    free(m->model_name);
    free(m->model_version);
    free(m->framework);
    kv_free(m->metrics, m->n_metrics);
    kv_free(m->fairness, m->n_fairness);
    for (size_t i = 0; m->dependencies && i < m->n_dependencies; i++) {
        free(m->dependencies[i].name);
        free(m->dependencies[i].version);
    }
    free(m->dependencies);
    free(m->git_sha);
    free(m->dataset_version);
    free(m->approver);
    free(m->run_id);
    free(m->text);
    ydoc_free(m->doc_);
    memset(m, 0, sizeof *m);
}

/* ---- manifest_to_yaml ---- */

/* Decodes one UTF-8 sequence at s into *cp; returns its length, 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, unsigned *cp)
{
    size_t n = s[0] < 0x80                    ? 1
               : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
               : s[0] >= 0xe0                 ? 3
               : s[0] >= 0xc2                 ? 2
                                              : 0;
    if (!n)
        return 0;
    unsigned v = n == 1 ? s[0] : n == 2 ? s[0] & 0x1fu : n == 3 ? s[0] & 0x0fu : s[0] & 0x07u;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (n == 4 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    *cp = v;
    return n;
}

/* YAML's printable set, less NEL (a line break inside quotes): written as it is. */
static int yaml_printable(unsigned c)
{
    return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) ||
           (c >= 0xe000 && c <= 0xfffd && c != 0xfeff) || (c >= 0x10000 && c <= 0x10ffff);
}

/* A double-quoted YAML string: '"' and '\\' escaped, every code point outside YAML's
 * printable set as \uXXXX or \UXXXXXXXX, invalid UTF-8 as \uFFFD. */
static mmsp_err put_str(struct buf *b, const char *s)
{
    mmsp_err rc = buf_append_char(b, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (!rc && *p) {
        unsigned cp = 0xfffd;
        size_t n = utf8_decode(p, &cp);
        if (*p == '"' || *p == '\\')
            rc = buf_printf(b, "\\%c", *p);
        else if (n && yaml_printable(cp))
            rc = buf_append(b, p, n);
        else if (cp > 0xffff)
            rc = buf_printf(b, "\\U%08x", cp);
        else
            rc = buf_printf(b, "\\u%04x", cp);
        p += n ? n : 1;
    }
    return rc ? rc : buf_append_char(b, '"');
}

static mmsp_err put_kv_str(struct buf *b, const char *indent, const char *key, const char *v)
{
    if (!v)
        return MMSP_OK;
    mmsp_err rc = buf_printf(b, "%s%s: ", indent, key);
    if (!rc)
        rc = put_str(b, v);
    return rc ? rc : buf_append_char(b, '\n');
}

/* The shortest %g form that reads back as the same double. */
static mmsp_err put_num(struct buf *b, double v)
{
    char t[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v)
            break;
    }
    return buf_append_str(b, t);
}

static mmsp_err put_numbers(struct buf *b, const char *section, const struct manifest_kv_num *v,
                            size_t n, int force)
{
    if (!n && !force)
        return MMSP_OK;
    mmsp_err rc = buf_printf(b, "  %s:%s\n", section, n ? "" : " {}");
    for (size_t i = 0; !rc && i < n; i++) {
        /* YAML caps implicit keys at 1024 characters: longer ones take the explicit form */
        int explicit_key = strlen(v[i].key) > 150;
        rc = buf_append_str(b, explicit_key ? "    ? " : "    ");
        if (!rc)
            rc = put_str(b, v[i].key);
        if (!rc)
            rc = buf_append_str(b, explicit_key ? "\n    : " : ": ");
        if (!rc)
            rc = put_num(b, v[i].value);
        if (!rc)
            rc = buf_append_char(b, '\n');
    }
    return rc;
}

char *manifest_to_yaml(const struct manifest *m)
{
    struct buf b;
    buf_init(&b, (size_t)POLICY_MAX_BYTES * 4);
    mmsp_err rc = buf_printf(&b, "apiVersion: %s\nkind: %s\n", API_VERSION, KIND);
    if (!rc && m->metadata_name)
        rc = buf_append_str(&b, "metadata:\n");
    if (!rc)
        rc = put_kv_str(&b, "  ", "name", m->metadata_name);
    if (!rc)
        rc = buf_append_str(&b, "spec:\n  model:\n");
    if (!rc)
        rc = put_kv_str(&b, "    ", "name", m->model_name ? m->model_name : "unnamed");
    if (!rc)
        rc = put_kv_str(&b, "    ", "version", m->model_version);
    if (!rc)
        rc = put_kv_str(&b, "    ", "framework", m->framework);
    if (!rc)
        rc = put_numbers(&b, "metrics", m->metrics, m->n_metrics, 0);
    if (!rc)
        rc = put_numbers(&b, "fairness", m->fairness, m->n_fairness, m->has_fairness);
    if (!rc && m->has_drift_score) {
        rc = buf_append_str(&b, "  drift:\n    score: ");
        if (!rc)
            rc = put_num(&b, m->drift_score);
        if (!rc)
            rc = buf_append_char(&b, '\n');
    }
    if (!rc && m->n_dependencies)
        rc = buf_append_str(&b, "  dependencies:\n");
    for (size_t i = 0; !rc && i < m->n_dependencies; i++) {
        rc = put_kv_str(&b, "    - ", "name",
                        m->dependencies[i].name ? m->dependencies[i].name : "unnamed");
        if (!rc)
            rc = put_kv_str(&b, "      ", "version", m->dependencies[i].version);
    }
    if (!rc && (m->git_sha || m->dataset_version || m->approver || m->run_id))
        rc = buf_append_str(&b, "  lineage:\n");
    if (!rc)
        rc = put_kv_str(&b, "    ", "git_sha", m->git_sha);
    if (!rc)
        rc = put_kv_str(&b, "    ", "dataset_version", m->dataset_version);
    if (!rc)
        rc = put_kv_str(&b, "    ", "approver", m->approver);
    if (!rc)
        rc = put_kv_str(&b, "    ", "run_id", m->run_id);
    if (rc) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}
