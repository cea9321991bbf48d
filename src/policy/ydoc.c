/*
 * The YAML document tree of ydoc.h: libyaml's event API (not its document loader, which
 * expands aliases into shared nodes) drives a stack of open mappings and sequences; nodes and
 * strings come from one arena with a ceiling. Depth, node count and scalar size are checked
 * as events arrive, so hostile input fails fast with a message naming the line and the field
 * path where it happened. Also: field-path lookup, scalar readers (null, number, boolean) and
 * the error formatter shared by the manifest and policy parsers.
 * Calls: libyaml, common/arena.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "ydoc.h"

#define ARENA_CHUNK (16 << 10)
#define ARENA_LIMIT (64u << 20) /* nodes + strings of a POLICY_MAX_BYTES input fit easily */

mmsp_err ydoc_fail(char *err, size_t errlen, const char *name, size_t line, const char *field,
                   mmsp_err code, const char *fmt, ...)
{
    if (!err || !errlen)
        return code;
    int n = snprintf(err, errlen, "%s:%zu: %s: ", name, line, field);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *ydoc_show(const char *s, char out[72])
{
    size_t i = 0;
    for (; s[i] && i < 64; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* ---- building the tree ---- */

struct frame {
    struct ydoc_node *node;
    const char *key; /* mapping: the latest key (kept for paths after its value opens) */
    size_t key_line;
    int have_key; /* mapping: key read, its value not yet attached */
};

struct builder {
    struct ydoc *doc;
    const char *name;
    char *err;
    size_t errlen;
    struct frame stack[YDOC_MAX_DEPTH];
    size_t depth;
    size_t nodes;
};

/*
 * The field path of frames [0, upto) into out ("spec.dependencies[2]"). Frames below the last
 * one hold an open child (their latest key, their last item). With `pending`, the last frame
 * is where the next node goes: its pending key, or item n of a list.
 */
static const char *stack_path(const struct builder *b, size_t upto, int pending, char *out,
                              size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < upto && o < outlen; i++) {
        const struct frame *f = &b->stack[i];
        int last = pending && i + 1 == upto;
        int n = 0;
        if (f->node->type == YDOC_MAP && f->key && (!last || f->have_key))
            n = snprintf(out + o, outlen - o, "%s%s", o ? "." : "", f->key);
        else if (f->node->type == YDOC_SEQ)
            n = snprintf(out + o, outlen - o, "[%zu]", last ? f->node->n : f->node->n - 1);
        if (n < 0)
            break;
        o += (size_t)n;
    }
    if (o >= outlen && outlen > 4)
        memcpy(out + outlen - 4, "...", 4);
    return out[0] ? out : "(document)";
}

static mmsp_err bfail(struct builder *b, size_t line, mmsp_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static mmsp_err bfail(struct builder *b, size_t line, mmsp_err code, const char *fmt, ...)
{
    char path[YDOC_MAX_PATH], msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ydoc_fail(b->err, b->errlen, b->name, line,
                     stack_path(b, b->depth, 1, path, sizeof path), code, "%s", msg);
}

static int key_cmp(const void *a, const void *b)
{
    const struct ydoc_node *x = *(const struct ydoc_node *const *)a;
    const struct ydoc_node *y = *(const struct ydoc_node *const *)b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->key_line < y->key_line ? -1 : x->key_line > y->key_line;
}

/* A mapping is complete: refuse duplicate keys (sorting makes this n log n). */
static mmsp_err check_duplicates(struct builder *b, const struct ydoc_node *map)
{
    if (map->n < 2)
        return MMSP_OK;
    const struct ydoc_node **v = malloc(map->n * sizeof *v);
    if (!v)
        return MMSP_E_NOMEM;
    size_t k = 0;
    for (const struct ydoc_node *c = map->first; c; c = c->next)
        v[k++] = c;
    qsort(v, k, sizeof *v, key_cmp);
    mmsp_err rc = MMSP_OK;
    for (size_t i = 1; i < k && !rc; i++) {
        if (strcmp(v[i - 1]->key, v[i]->key) == 0) {
            char path[YDOC_MAX_PATH], field[YDOC_MAX_PATH + 72], tmp[72];
            size_t up = b->depth ? b->depth - 1 : 0;
            stack_path(b, up, 0, path, sizeof path);
            int top = !path[0];
            snprintf(field, sizeof field, "%s%s%s", top ? "" : path, top ? "" : ".",
                     ydoc_show(v[i]->key, tmp));
            rc = ydoc_fail(b->err, b->errlen, b->name, v[i]->key_line, field, MMSP_E_PARSE,
                           "duplicate key (first at line %zu)", v[i - 1]->key_line);
        }
    }
    free(v);
    return rc;
}

/* Adds a finished or opening node at the current position (root, mapping value, item). */
static mmsp_err attach(struct builder *b, struct ydoc_node *n)
{
    if (b->depth == 0) {
        b->doc->root = n;
        return MMSP_OK;
    }
    struct frame *f = &b->stack[b->depth - 1];
    if (f->node->type == YDOC_MAP) {
        n->key = f->key;
        n->key_line = f->key_line;
        f->have_key = 0;
    }
    if (f->node->last)
        f->node->last->next = n;
    else
        f->node->first = n;
    f->node->last = n;
    f->node->n++;
    return MMSP_OK;
}

static struct ydoc_node *new_node(struct builder *b, enum ydoc_type t, const yaml_event_t *e)
{
    struct ydoc_node *n = arena_calloc(&b->doc->arena, 1, sizeof *n);
    if (n) {
        n->type = t;
        n->line = e->start_mark.line + 1;
    }
    return n;
}

static mmsp_err on_event(struct builder *b, const yaml_event_t *e, int *docs, int *done)
{
    size_t line = e->start_mark.line + 1;
    struct frame *top = b->depth ? &b->stack[b->depth - 1] : NULL;
    int want_key = top && top->node->type == YDOC_MAP && !top->have_key;

    switch (e->type) {
    case YAML_STREAM_END_EVENT:
        *done = 1;
        return MMSP_OK;
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return ydoc_fail(b->err, b->errlen, b->name, line, "yaml", MMSP_E_PARSE,
                             "more than one YAML document");
        return MMSP_OK;
    case YAML_ALIAS_EVENT:
        return bfail(b, line, MMSP_E_PARSE, "aliases (*%s) are not supported",
                     e->data.alias.anchor ? (const char *)e->data.alias.anchor : "");
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (!b->depth)
            return MMSP_E_INTERNAL;
        {
            mmsp_err rc = MMSP_OK;
            if (top->node->type == YDOC_MAP)
                rc = check_duplicates(b, top->node);
            b->depth--;
            return rc;
        }
    default:
        return MMSP_OK;
    }

    if (++b->nodes > YDOC_MAX_NODES)
        return bfail(b, line, MMSP_E_TOO_LARGE, "more than %d YAML nodes", YDOC_MAX_NODES);
    if (e->type == YAML_SCALAR_EVENT) {
        size_t len = e->data.scalar.length;
        const char *v = (const char *)e->data.scalar.value;
        if (len > YDOC_MAX_SCALAR)
            return bfail(b, line, MMSP_E_TOO_LARGE, "a value longer than %d bytes",
                         YDOC_MAX_SCALAR);
        char *s = arena_strndup(&b->doc->arena, v, len);
        if (!s)
            return MMSP_E_NOMEM;
        if (want_key) {
            if (strlen(s) != len)
                return bfail(b, line, MMSP_E_PARSE, "a key contains a NUL byte");
            top->key = s;
            top->key_line = line;
            top->have_key = 1;
            return MMSP_OK;
        }
        struct ydoc_node *n = new_node(b, YDOC_SCALAR, e);
        if (!n)
            return MMSP_E_NOMEM;
        n->str = s;
        n->len = len;
        n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag;
        return attach(b, n);
    }
    if (want_key)
        return bfail(b, line, MMSP_E_PARSE, "mapping keys must be plain strings, found %s",
                     e->type == YAML_MAPPING_START_EVENT ? "a mapping" : "a list");
    if (b->depth >= YDOC_MAX_DEPTH)
        return bfail(b, line, MMSP_E_TOO_LARGE, "nested deeper than %d levels", YDOC_MAX_DEPTH);
    struct ydoc_node *n = new_node(b, e->type == YAML_MAPPING_START_EVENT ? YDOC_MAP : YDOC_SEQ, e);
    if (!n)
        return MMSP_E_NOMEM;
    mmsp_err rc = attach(b, n);
    if (rc)
        return rc;
    b->stack[b->depth].node = n;
    b->stack[b->depth].key = NULL;
    b->stack[b->depth].key_line = 0;
    b->stack[b->depth].have_key = 0;
    b->depth++;
    return MMSP_OK;
}

mmsp_err ydoc_parse(const char *text, size_t len, const char *name, struct ydoc **out, char *err,
                    size_t errlen)
{
    yaml_parser_t parser;
    int parser_ok = 0, docs = 0, done = 0;
    mmsp_err rc = MMSP_OK;
    struct builder *b = NULL;
    struct ydoc *d = NULL;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!name)
        name = "(input)";
    d = calloc(1, sizeof *d);
    b = calloc(1, sizeof *b);
    if (!d || !b) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    arena_init(&d->arena, ARENA_CHUNK, ARENA_LIMIT);
    b->doc = d;
    b->name = name;
    b->err = err;
    b->errlen = errlen;
    if (!yaml_parser_initialize(&parser)) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    parser_ok = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done) {
        yaml_event_t e;
        if (!yaml_parser_parse(&parser, &e)) {
            if (parser.error == YAML_MEMORY_ERROR) {
                rc = MMSP_E_NOMEM;
            } else if (parser.context) {
                rc = ydoc_fail(err, errlen, name, parser.problem_mark.line + 1, "yaml",
                               MMSP_E_PARSE, "%s %s (from line %zu)",
                               parser.problem ? parser.problem : "malformed YAML", parser.context,
                               parser.context_mark.line + 1);
            } else {
                rc =
                    ydoc_fail(err, errlen, name, parser.problem_mark.line + 1, "yaml", MMSP_E_PARSE,
                              "%s", parser.problem ? parser.problem : "malformed YAML");
            }
            goto out;
        }
        rc = on_event(b, &e, &docs, &done);
        yaml_event_delete(&e);
        if (rc)
            goto out;
    }
    *out = d;
    d = NULL;
out:
    if (rc == MMSP_E_NOMEM && err && errlen && !err[0])
        snprintf(err, errlen, "%s: out of memory (or larger than the %u MiB parse limit)", name,
                 ARENA_LIMIT >> 20);
    if (parser_ok)
        yaml_parser_delete(&parser);
    free(b);
    ydoc_free(d);
    return rc;
}

void ydoc_free(struct ydoc *d)
{
    if (!d)
        return;
    arena_release(&d->arena);
    free(d);
}

mmsp_err ydoc_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
                        size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    char *data = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    *out = NULL;
    *len = 0;
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return MMSP_E_IO;
    }
    /* max + 1 bytes tell "exactly max" from "larger" without trusting the file's size */
    data = malloc(max + 2);
    if (!data) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    n = fread(data, 1, max + 1, f);
    if (ferror(f)) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
        rc = MMSP_E_IO;
        goto out;
    }
    if (n > max) {
        if (err && errlen)
            snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
        rc = MMSP_E_TOO_LARGE;
        goto out;
    }
    data[n] = '\0';
    *out = data;
    *len = n;
    data = NULL;
out:
    free(data);
    fclose(f);
    return rc;
}

/* ---- lookups ---- */

const struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key)
{
    if (!map || map->type != YDOC_MAP)
        return NULL;
    for (const struct ydoc_node *c = map->first; c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '/';
}

int ydoc_path_valid(const char *path, char *why, size_t whylen)
{
    const char *p = path;
    if (strlen(path) >= YDOC_MAX_PATH) {
        snprintf(why, whylen, "longer than %d bytes", YDOC_MAX_PATH - 1);
        return 0;
    }
    for (;;) {
        const char *s = p;
        while (name_char(*p))
            p++;
        if (p == s) {
            snprintf(why, whylen, "expected a key name at offset %zu", (size_t)(p - path));
            return 0;
        }
        while (*p == '[') {
            const char *d = ++p;
            while (*p >= '0' && *p <= '9')
                p++;
            if (p == d || *p != ']' || p - d > 9) {
                snprintf(why, whylen, "expected [N] at offset %zu", (size_t)(d - 1 - path));
                return 0;
            }
            p++;
        }
        if (!*p)
            return 1;
        if (*p != '.') {
            snprintf(why, whylen, "unexpected '%c' at offset %zu",
                     (*p > 0x20 && *p < 0x7f) ? *p : '?', (size_t)(p - path));
            return 0;
        }
        p++;
    }
}

const struct ydoc_node *ydoc_path(const struct ydoc_node *root, const char *path)
{
    char key[YDOC_MAX_PATH];
    const struct ydoc_node *n = root;
    const char *p = path;
    while (n && *p) {
        size_t k = 0;
        while (name_char(*p) && k + 1 < sizeof key)
            key[k++] = *p++;
        key[k] = '\0';
        if (!k)
            return NULL;
        n = ydoc_get(n, key);
        while (n && *p == '[') {
            size_t idx = strtoul(p + 1, (char **)&p, 10);
            if (*p != ']' || n->type != YDOC_SEQ || idx >= n->n)
                return NULL;
            p++;
            n = n->first;
            while (idx--)
                n = n->next;
        }
        if (*p == '.')
            p++;
        else if (*p)
            return NULL;
    }
    return n;
}

/* ---- scalar readers ---- */

int ydoc_is_null(const struct ydoc_node *n)
{
    if (!n)
        return 1;
    if (n->type != YDOC_SCALAR || !n->plain)
        return 0;
    const char *v = n->str;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static int digits(const char **p)
{
    const char *s = *p;
    while (**p >= '0' && **p <= '9')
        (*p)++;
    return *p > s;
}

int ydoc_number(const struct ydoc_node *n, double *out)
{
    if (!n || n->type != YDOC_SCALAR || !n->plain || strlen(n->str) != n->len)
        return 0;
    /* YAML 1.2 core schema: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
    const char *p = n->str;
    if (*p == '-' || *p == '+')
        p++;
    int whole = digits(&p), frac = 0;
    if (*p == '.') {
        p++;
        frac = digits(&p);
    }
    if (!whole && !frac)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!digits(&p))
            return 0;
    }
    if (*p)
        return 0;
    errno = 0;
    double v = strtod(n->str, NULL);
    if (!isfinite(v))
        return 0;
    *out = v;
    return 1;
}

int ydoc_bool(const struct ydoc_node *n, int *out)
{
    if (!n || n->type != YDOC_SCALAR || !n->plain)
        return 0;
    const char *v = n->str;
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
        *out = 1;
        return 1;
    }
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
        *out = 0;
        return 1;
    }
    return 0;
}

const char *ydoc_kind(const struct ydoc_node *n)
{
    double d;
    int b;
    if (!n)
        return "nothing";
    switch (n->type) {
    case YDOC_MAP:
        return "a mapping";
    case YDOC_SEQ:
        return "a list";
    case YDOC_SCALAR:
        break;
    }
    if (ydoc_is_null(n))
        return "null";
    if (ydoc_number(n, &d))
        return "a number";
    if (ydoc_bool(n, &b))
        return "a boolean";
    return "a string";
}
