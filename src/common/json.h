/*
 * A small, strict JSON reader (RFC 8259) that builds a tree in a per-request arena, plus
 * writer helpers. It exists for the request hot path: a one-row v2 infer body parses in a
 * fraction of jansson's time (bench/codec measures both). jansson remains the choice for
 * general documents (model files, configs).
 *
 * Reader guarantees: never reads past `len`; rejects trailing garbage, unescaped control
 * characters, invalid UTF-8 escapes, leading zeros, NaN/Infinity, and nesting deeper than
 * JSON_MAX_DEPTH; every allocation comes from the arena, so the arena's ceiling bounds memory.
 * Object members keep document order; duplicate keys are kept (json_get returns the first).
 */
#ifndef MMSP_JSON_H
#define MMSP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "mmsp/error.h"

#define JSON_MAX_DEPTH 64

enum json_type {
    JSON_NULL = 0,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
};

struct json_member;

struct json_value {
    enum json_type type;
    uint32_t len; /* string: bytes (unescaped, NUL not counted); array/object: element count */
    union {
        struct {
            double d;   /* the value as the nearest double */
            int64_t i;  /* exact value when is_int; (uint64_t)i is the value when is_u64 */
            int is_int; /* integral literal (no '.', no exponent) that fits int64 */
            int is_u64; /* integral literal >= 0 that fits uint64 (superset of is_int >= 0) */
        } num;
        const char *str;             /* NUL-terminated, unescaped UTF-8 (may contain NUL) */
        struct json_value *items;    /* array elements, len of them */
        struct json_member *members; /* object members, len of them */
    } u;
};

struct json_member {
    const char *key; /* NUL-terminated, unescaped */
    uint32_t key_len;
    struct json_value value;
};

/*
 * Parses text[0..len) into *out, allocating from `a`. On error returns MMSP_E_PARSE (or
 * MMSP_E_TOO_LARGE when the arena's ceiling is hit, MMSP_E_NOMEM) and writes
 * "<what> at byte <offset>" into err.
 * Ownership: text is borrowed for the call only (strings are copied); the tree, *out's
 * pointers included, belongs to the arena and lives until it is reset or released.
 * Numbers: u.num.d is bit for bit what strtod returns for the literal.
 */
mmsp_err json_parse(struct arena *a, const char *text, size_t len, struct json_value *out,
                    char *err, size_t errlen);

/*
 * Scans one JSON number at text[0..len): returns the bytes it takes and fills *out exactly
 * as json_parse would (type JSON_NUMBER, u.num), or 0 when the text does not start with a
 * valid number (or with one of 64 characters or more that needs strtod's slow path: such a
 * reader then declines to json_parse). Stops at the first byte that cannot continue the
 * number; what follows is the caller's to check. For readers that decode numbers straight
 * into their own storage.
 */
size_t json_scan_number(const char *text, size_t len, struct json_value *out);

/*
 * A cursor for one-pass readers of known shapes (the v2 infer fast path): each call skips white
 * space, then takes one token or returns 0 leaving the cursor where the token should be.
 * Strings are taken only when they are printable ASCII without escapes (the caller declines
 * anything else to the tree reader); numbers through json_scan_number.
 */
struct json_cursor {
    const char *p, *end;
};

static inline void json_cur_ws(struct json_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* Takes the character `ch` when it comes next. */
static inline int json_cur_take(struct json_cursor *c, char ch)
{
    json_cur_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A string of printable ASCII (0x20-0x7e) without escapes: *s, *n point into the text. */
int json_cur_str(struct json_cursor *c, const char **s, size_t *n);

/* A string (as json_cur_str), then ':'. */
int json_cur_key(struct json_cursor *c, const char **k, size_t *n);

/* A number into *v (json_scan_number). */
int json_cur_number(struct json_cursor *c, struct json_value *v);

/* Whether the n bytes at k are the NUL-terminated `want`. */
int json_key_is(const char *k, size_t n, const char *want);

/* Object member lookup by key; NULL when absent or when obj is not an object. */
const struct json_value *json_get(const struct json_value *obj, const char *key);

/* "null", "boolean", "number", "string", "array", "object" */
const char *json_type_name(enum json_type t);

/* Writer helpers: append to a bounded buffer. */
/* Quoted and escaped; always valid UTF-8 JSON: each byte of an invalid UTF-8 sequence is
 * written as U+FFFD (raw binary belongs in the binary tensor form, not in JSON strings). */
mmsp_err json_write_string(struct buf *b, const char *s, size_t len);
mmsp_err json_write_double(struct buf *b,
                           double v); /* shortest form that round-trips; NaN/Inf -> null */
mmsp_err json_write_float(struct buf *b, float v); /* shortest form that round-trips as float */
mmsp_err json_write_int(struct buf *b, int64_t v);
mmsp_err json_write_uint(struct buf *b, uint64_t v);

#endif
