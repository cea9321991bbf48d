/*
 * The MLflow search-filter parser of registered-models/search and model-versions/search
 * (api_internal.h has the grammar; docs/api.md "Search filters"): turns
 * "name LIKE 'fraud%' AND tags.team = 'risk'" into clauses, and matches models and versions
 * against them, including SQL LIKE / ILIKE patterns. Bounded: the filter text is at most
 * API_FILTER_MAX_BYTES, at most API_FILTER_MAX_CLAUSES clauses, and matching is
 * O(pattern x subject). tests/fuzz/fuzz_mlflow_filter.c feeds it arbitrary bytes.
 * Calls: registry (struct reg_model / reg_version fields only).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "registry/api_internal.h"

struct lexer {
    const char *s;
    size_t len, pos;
    struct api_filter *out;
    size_t used; /* bytes of out->text written */
    char *err;
    size_t errlen;
};

static mmsp_err fail(struct lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static mmsp_err fail(struct lexer *lx, const char *fmt, ...)
{
    char msg[MMSP_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(lx->err, lx->errlen, "Invalid filter: %s", msg);
    return MMSP_E_INVALID;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static void skip_spaces(struct lexer *lx)
{
    while (lx->pos < lx->len && is_space(lx->s[lx->pos]))
        lx->pos++;
}

/* Copies s[0..n) NUL-terminated into the filter's text; returns the copy. */
static const char *keep(struct lexer *lx, const char *s, size_t n)
{
    if (lx->used + n + 1 > sizeof lx->out->text)
        return NULL; /* cannot happen: text holds the whole filter plus a NUL per string */
    char *at = lx->out->text + lx->used;
    memcpy(at, s, n);
    at[n] = '\0';
    lx->used += n + 1;
    return at;
}

/* Length of the bare word (letters, digits, underscores) at pos; 0 when none. */
static size_t word_len(const struct lexer *lx, size_t pos)
{
    size_t n = 0;
    while (pos + n < lx->len && is_word(lx->s[pos + n]))
        n++;
    return n;
}

/* Case-insensitive keyword at pos, not followed by a word character. */
static int keyword_at(const struct lexer *lx, size_t pos, const char *kw)
{
    size_t n = strlen(kw);
    if (pos + n > lx->len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(lx->s[pos + i]) != kw[i])
            return 0;
    return pos + n == lx->len || !is_word(lx->s[pos + n]);
}

/* A quoted run (quote char q at pos): sets start and n to its contents and moves past it. */
static mmsp_err quoted(struct lexer *lx, char q, const char *what, const char **start, size_t *n)
{
    size_t open = lx->pos++;
    const char *end = memchr(lx->s + lx->pos, q, lx->len - lx->pos);
    if (!end)
        return fail(lx, "unterminated %s starting at character %zu", what, open + 1);
    *start = lx->s + lx->pos;
    *n = (size_t)(end - *start);
    lx->pos = (size_t)(end - lx->s) + 1;
    return MMSP_OK;
}

static mmsp_err parse_field(struct lexer *lx, int versions, struct api_filter_clause *c)
{
    const char *id = NULL;
    size_t n = 0;
    mmsp_err rc;
    size_t at = lx->pos;
    if (lx->s[lx->pos] == '`') {
        if ((rc = quoted(lx, '`', "identifier", &id, &n)))
            return rc;
    } else {
        n = word_len(lx, lx->pos);
        if (!n)
            return fail(lx, "expected a field name at character %zu", at + 1);
        id = lx->s + lx->pos;
        lx->pos += n;
    }
    /* tags.<key>: the key bare, in backticks or in double quotes */
    if (n == 4 && memcmp(id, "tags", 4) == 0 && lx->pos < lx->len && lx->s[lx->pos] == '.') {
        lx->pos++;
        const char *k = NULL;
        size_t kn = 0;
        char q = lx->pos < lx->len ? lx->s[lx->pos] : '\0';
        if (q == '`' || q == '"') {
            if ((rc = quoted(lx, q, "tag key", &k, &kn)))
                return rc;
        } else {
            while (lx->pos + kn < lx->len &&
                   (is_word(lx->s[lx->pos + kn]) || lx->s[lx->pos + kn] == '.'))
                kn++;
            k = lx->s + lx->pos;
            lx->pos += kn;
        }
        if (!kn)
            return fail(lx, "expected a tag key after 'tags.' at character %zu", at + 1);
        if (kn > 250)
            return fail(lx, "tag key longer than 250 bytes");
        c->field = API_FIELD_TAG;
        if (!(c->key = keep(lx, k, kn)))
            return fail(lx, "filter too long");
        return MMSP_OK;
    }
    if (n == 4 && memcmp(id, "name", 4) == 0) {
        c->field = API_FIELD_NAME;
        return MMSP_OK;
    }
    if (versions && n == 6 && memcmp(id, "run_id", 6) == 0) {
        c->field = API_FIELD_RUN_ID;
        return MMSP_OK;
    }
    return fail(lx, "invalid attribute key '%.*s' specified: valid keys are %s",
                (int)(n > 64 ? 64 : n), id,
                versions ? "'name', 'run_id' and 'tags.<key>'" : "'name' and 'tags.<key>'");
}

static mmsp_err parse_op(struct lexer *lx, struct api_filter_clause *c)
{
    size_t at = lx->pos;
    const char *s = lx->s + lx->pos;
    size_t left = lx->len - lx->pos;
    if (left >= 2 && s[0] == '!' && s[1] == '=') {
        c->op = API_OP_NE;
        lx->pos += 2;
    } else if (left >= 1 && s[0] == '=' && !(left >= 2 && s[1] == '=')) {
        c->op = API_OP_EQ;
        lx->pos += 1;
    } else if (keyword_at(lx, lx->pos, "like")) {
        c->op = API_OP_LIKE;
        lx->pos += 4;
    } else if (keyword_at(lx, lx->pos, "ilike")) {
        c->op = API_OP_ILIKE;
        lx->pos += 5;
    } else {
        size_t n = word_len(lx, lx->pos);
        if (!n)
            while (n < left && n < 8 && !is_space(s[n]) && s[n] != '\'' && s[n] != '"')
                n++;
        if (!n)
            return fail(lx, "expected a comparator after the field name at character %zu", at + 1);
        return fail(lx, "comparator '%.*s' is not supported: use =, !=, LIKE or ILIKE", (int)n, s);
    }
    return MMSP_OK;
}

static mmsp_err parse_value(struct lexer *lx, struct api_filter_clause *c)
{
    size_t at = lx->pos;
    char q = lx->pos < lx->len ? lx->s[lx->pos] : '\0';
    if (q != '\'' && q != '"')
        return fail(lx, "expected a quoted string ('...' or \"...\") at character %zu", at + 1);
    const char *v = NULL;
    size_t n = 0;
    mmsp_err rc = quoted(lx, q, "string", &v, &n);
    if (rc)
        return rc;
    if (!(c->value = keep(lx, v, n)))
        return fail(lx, "filter too long");
    return MMSP_OK;
}

mmsp_err registry_api_filter_parse(const char *text, size_t len, int versions,
                                   struct api_filter *out, char *err, size_t errlen)
{
    memset(out->c, 0, sizeof out->c);
    out->n = 0;
    struct lexer lx = {
        .s = text ? text : "", .len = text ? len : 0, .out = out, .err = err, .errlen = errlen};
    if (lx.len > API_FILTER_MAX_BYTES)
        return fail(&lx, "longer than %d bytes", API_FILTER_MAX_BYTES);
    if (memchr(lx.s, '\0', lx.len))
        return fail(&lx, "contains a NUL byte");
    mmsp_err rc = MMSP_OK;
    skip_spaces(&lx);
    while (lx.pos < lx.len) {
        if (out->n == API_FILTER_MAX_CLAUSES)
            return fail(&lx, "more than %d clauses", API_FILTER_MAX_CLAUSES);
        struct api_filter_clause *c = &out->c[out->n];
        if ((rc = parse_field(&lx, versions, c)))
            return rc;
        skip_spaces(&lx);
        if ((rc = parse_op(&lx, c)))
            return rc;
        skip_spaces(&lx);
        if ((rc = parse_value(&lx, c)))
            return rc;
        out->n++;
        skip_spaces(&lx);
        if (lx.pos == lx.len)
            break;
        if (keyword_at(&lx, lx.pos, "and")) {
            lx.pos += 3;
            skip_spaces(&lx);
            if (lx.pos == lx.len)
                return fail(&lx, "expected a clause after AND");
            continue;
        }
        if (keyword_at(&lx, lx.pos, "or"))
            return fail(&lx, "OR is not supported: clauses can only be joined with AND");
        return fail(&lx, "unexpected text at character %zu: expected AND or the end", lx.pos + 1);
    }
    return MMSP_OK;
}

/* Past one UTF-8 character (a lone continuation byte counts as one). */
static const char *utf8_next(const char *s)
{
    if (!*s)
        return s;
    s++;
    while ((*s & 0xC0) == 0x80)
        s++;
    return s;
}

/* The literal character at p (a backslash escapes the next one); *adv is its width. */
static char literal_at(const char *p, size_t *adv)
{
    if (p[0] == '\\' && p[1]) {
        *adv = 2;
        return p[1];
    }
    *adv = 1;
    return p[0];
}

/*
 * Wildcard matching with one backtrack point (the last '%' seen): on a mismatch the '%'
 * takes one more character and matching resumes after it. This is complete for '%'/'_'
 * patterns and runs in O(|pattern| x |s|). A backslash makes the next pattern character
 * literal (as the store's LIKE ... ESCAPE with a backslash, so both agree).
 */
int registry_api_like(const char *p, const char *s, int nocase)
{
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (*p == '%') {
            while (*p == '%')
                p++;
            if (!*p)
                return 1;
            star_p = p;
            star_s = s;
            continue;
        }
        if (*p == '_') {
            p++;
            s = utf8_next(s);
            continue;
        }
        size_t adv;
        char c = literal_at(p, &adv);
        if (c && (c == *s || (nocase && lower(c) == lower(*s)))) {
            p += adv;
            s++;
            continue;
        }
        if (!star_p)
            return 0;
        star_s = utf8_next(star_s);
        s = star_s;
        p = star_p;
    }
    while (*p == '%')
        p++;
    return *p == '\0';
}

static int match_value(const struct api_filter_clause *c, const char *v)
{
    if (!v)
        v = "";
    switch (c->op) {
    case API_OP_EQ:
        return strcmp(v, c->value) == 0;
    case API_OP_NE:
        return strcmp(v, c->value) != 0;
    case API_OP_LIKE:
        return registry_api_like(c->value, v, 0);
    case API_OP_ILIKE:
        return registry_api_like(c->value, v, 1);
    }
    return 0;
}

/* A clause on a tag: an absent tag matches nothing (as SQL's join would). */
static int match_tag(const struct api_filter_clause *c, const struct reg_kv *tags, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tags[i].key && strcmp(tags[i].key, c->key) == 0)
            return match_value(c, tags[i].value);
    return 0;
}

int registry_api_filter_model(const struct api_filter *f, const struct reg_model *m)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct api_filter_clause *c = &f->c[i];
        int ok = c->field == API_FIELD_NAME  ? match_value(c, m->name)
                 : c->field == API_FIELD_TAG ? match_tag(c, m->tags, m->n_tags)
                                             : 0;
        if (!ok)
            return 0;
    }
    return 1;
}

int registry_api_filter_version(const struct api_filter *f, const struct reg_version *v)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct api_filter_clause *c = &f->c[i];
        int ok = c->field == API_FIELD_NAME     ? match_value(c, v->name)
                 : c->field == API_FIELD_RUN_ID ? match_value(c, v->run_id)
                                                : match_tag(c, v->tags, v->n_tags);
        if (!ok)
            return 0;
    }
    return 1;
}
