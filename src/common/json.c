/*
 * Strict RFC 8259 JSON reader building a tree in an arena, and writer helpers (see json.h).
 * It is on the infer hot path, so: one pass over the text, children gathered on a scratch
 * stack and copied once into an exact-size block, strings without escapes copied with one
 * memcpy, and numbers converted by exact fast paths (Clinger; x87 extended precision with a
 * midpoint check) with strtod as the fallback, so every double is bit-for-bit what strtod
 * returns. Calls: common/arena, common/buf, libc.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Parser state. The two scratch stacks live in the arena and grow by doubling; values are
 * always copied in and out by index, so growing never invalidates anything held. */
struct parser {
    const char *start;
    const char *p;
    const char *end;
    struct arena *a;
    struct json_value *vals; /* scratch stack of array elements */
    size_t nvals, capvals;
    struct json_member *mems; /* scratch stack of object members */
    size_t nmems, capmems;
    int depth;
    mmsp_err rc;
    const char *what;
    size_t at;
};

static int fail_at(struct parser *ps, const char *where, const char *what, mmsp_err rc)
{
    if (!ps->rc) {
        ps->rc = rc;
        ps->what = what;
        ps->at = (size_t)(where - ps->start);
    }
    return -1;
}

static int fail(struct parser *ps, const char *what)
{
    return fail_at(ps, ps->p, what, MMSP_E_PARSE);
}

/* Arena allocation that tells the ceiling (TOO_LARGE) from malloc failing (NOMEM). */
static void *palloc(struct parser *ps, size_t size)
{
    struct arena *a = ps->a;
    size_t rounded = (size + 15) & ~(size_t)15;
    if (rounded < size || a->used > a->limit || rounded > a->limit - a->used) {
        fail_at(ps, ps->p, "document too large for the request memory limit", MMSP_E_TOO_LARGE);
        return NULL;
    }
    void *m = arena_alloc(a, size ? size : 1);
    if (!m)
        fail_at(ps, ps->p, "out of memory", MMSP_E_NOMEM);
    return m;
}

static int grow(struct parser *ps, void **stack, size_t *cap, size_t n, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 32;
    if (ncap > SIZE_MAX / elem)
        return fail_at(ps, ps->p, "document too large", MMSP_E_TOO_LARGE);
    void *m = palloc(ps, ncap * elem);
    if (!m)
        return -1;
    if (n)
        memcpy(m, *stack, n * elem);
    *stack = m;
    *cap = ncap;
    return 0;
}

static inline void skip_ws(struct parser *ps)
{
    const char *p = ps->p, *end = ps->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    ps->p = p;
}

static int parse_value(struct parser *ps, struct json_value *out);

/* ---- numbers ---- */

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint64_t pow10_u64[] = {1ULL,
                                     10ULL,
                                     100ULL,
                                     1000ULL,
                                     10000ULL,
                                     100000ULL,
                                     1000000ULL,
                                     10000000ULL,
                                     100000000ULL,
                                     1000000000ULL,
                                     10000000000ULL,
                                     100000000000ULL,
                                     1000000000000ULL,
                                     10000000000000ULL,
                                     100000000000000ULL,
                                     1000000000000000ULL,
                                     10000000000000000ULL};

#define MAX_EXACT_INT (1ULL << 53)

/*
 * Clinger's fast path: when the decimal significand m is an exact double (m <= 2^53) and
 * 10^|e| is one too (|e| <= 22), m * 10^e or m / 10^-e is a single correctly rounded IEEE
 * operation, hence equal to strtod. When e > 22 but m * 10^(e-22) is still an exact
 * integer <= 2^53, the same holds with the extra factor moved into m.
 * Returns 1 and sets *d when the fast path applies.
 */
static int clinger(uint64_t m, int64_t e, int neg, double *d)
{
    if (m > MAX_EXACT_INT)
        return 0;
    double r;
    if (m == 0) {
        r = 0.0;
    } else if (e >= 0 && e <= 22) {
        r = (double)m * pow10_exact[e];
    } else if (e < 0 && e >= -22) {
        r = (double)m / pow10_exact[-e];
    } else if (e > 22 && e <= 22 + 16) {
        uint64_t f = pow10_u64[e - 22];
        if (m > MAX_EXACT_INT / f)
            return 0;
        r = (double)(m * f) * 1e22;
    } else {
        return 0;
    }
    *d = neg ? -r : r;
    return 1;
}

#if (defined(__x86_64__) || defined(__i386__)) && LDBL_MANT_DIG == 64
/*
 * The common 16-19 digit literals (what Python's repr and %.17g write) have a significand
 * above 2^53, so Clinger does not apply. x87 extended precision holds any m < 2^64 and 10^k
 * for k <= 27 exactly, so m * 10^k or m / 10^k is one correctly rounded 64-bit operation,
 * off from the exact value by at most half a unit of its last place. Rounding that to double
 * gives the correctly rounded result unless the 64-bit value sits on or next to a midpoint
 * between two doubles (its 11 low bits near 0x400); those rare cases go to strtod.
 */
static int extended(uint64_t m, int64_t e, int neg, double *d)
{
    static const long double p10[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                      1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                      1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                      1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
    if (m == 0 || e < -27 || e > 27)
        return 0;
    long double x = e >= 0 ? (long double)m * p10[e] : (long double)m / p10[-e];
    uint64_t sig; /* the x87 format stores the 64-bit significand first */
    memcpy(&sig, &x, sizeof sig);
    unsigned low = (unsigned)(sig & 0x7FF);
    if (low >= 0x3FF && low <= 0x401)
        return 0;
    double r = (double)x;
    *d = neg ? -r : r;
    return 1;
}
#else
static int extended(uint64_t m, int64_t e, int neg, double *d)
{
    (void)m, (void)e, (void)neg, (void)d;
    return 0;
}
#endif

static int strtod_fallback(struct parser *ps, const char *s, size_t n, double *d)
{
    char small[64];
    char *copy = small;
    if (n >= sizeof small) {
        copy = palloc(ps, n + 1);
        if (!copy)
            return -1;
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    *d = strtod(copy, NULL);
    return 0;
}

/*
 * The number at *pp (strict RFC 8259 grammar) into out. Returns 0 with the value set, 1 when
 * the text is a valid number whose value needs strtod (set no value; the caller converts
 * [start, *pp)), -1 when it is not a valid number (*what says why, *pp is where). *pp ends
 * past the number's text in the first two cases. Shared by parse_number and json_scan_number.
 */
static inline __attribute__((always_inline)) int
scan_number(const char **pp, const char *end, struct json_value *out, const char **what)
{
    const char *p = *pp;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end || (unsigned)(*p - '0') > 9) {
        *pp = p;
        *what = "invalid number: digit expected";
        return -1;
    }
    uint64_t m = 0;
    int sig = 0;      /* significant digits accumulated in m */
    int dropped = 0;  /* nonzero digits that did not fit in m */
    int64_t e10 = 0;  /* decimal exponent to apply to m */
    int integral = 1; /* no '.' and no exponent */
    if (*p == '0') {
        p++;
        if (p < end && (unsigned)(*p - '0') <= 9) {
            *pp = p;
            *what = "invalid number: leading zero";
            return -1;
        }
    } else {
        while (p < end && (unsigned)(*p - '0') <= 9) {
            unsigned dig = (unsigned)(*p - '0');
            /* A 20th digit is kept when it fits, so all of uint64 is exact. */
            if (sig < 19 || (sig == 19 && m <= (UINT64_MAX - dig) / 10)) {
                m = m * 10 + dig;
                sig++;
            } else {
                e10++;
                dropped |= (*p != '0');
            }
            p++;
        }
    }
    if (p < end && *p == '.') {
        integral = 0;
        p++;
        if (p >= end || (unsigned)(*p - '0') > 9) {
            *pp = p;
            *what = "invalid number: digit expected after '.'";
            return -1;
        }
        while (p < end && (unsigned)(*p - '0') <= 9) {
            if (m == 0 && *p == '0') {
                e10--; /* leading zeros of a fraction are not significant */
            } else if (sig < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                sig++;
                e10--;
            } else {
                dropped |= (*p != '0');
            }
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integral = 0;
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = (*p == '-');
            p++;
        }
        if (p >= end || (unsigned)(*p - '0') > 9) {
            *pp = p;
            *what = "invalid number: digit expected in exponent";
            return -1;
        }
        int64_t x = 0;
        while (p < end && (unsigned)(*p - '0') <= 9) {
            if (x < 100000000)
                x = x * 10 + (*p - '0');
            p++;
        }
        e10 += eneg ? -x : x;
    }
    *pp = p;
    out->type = JSON_NUMBER;
    out->len = 0;
    out->u.num.is_int = 0;
    out->u.num.is_u64 = 0;
    out->u.num.i = 0;
    if (integral && !dropped && e10 == 0 && !neg) {
        out->u.num.is_u64 = 1;
        out->u.num.is_int = m <= (uint64_t)INT64_MAX;
        out->u.num.i = (int64_t)m;
        out->u.num.d = (double)m;
        return 0;
    }
    if (integral && !dropped && e10 == 0 && m <= (uint64_t)INT64_MAX + 1) {
        out->u.num.is_int = 1;
        out->u.num.i = (int64_t)(0 - m);
        /* int -> double conversion rounds to nearest, exactly as strtod does. */
        double d = (double)m;
        out->u.num.d = neg ? -d : d;
        return 0;
    }
    if (!dropped && (clinger(m, e10, neg, &out->u.num.d) || extended(m, e10, neg, &out->u.num.d)))
        return 0;
    return 1;
}

static int parse_number(struct parser *ps, struct json_value *out)
{
    const char *s = ps->p, *what = NULL;
    int r = scan_number(&ps->p, ps->end, out, &what);
    if (r < 0)
        return fail(ps, what);
    if (r == 0)
        return 0;
    return strtod_fallback(ps, s, (size_t)(ps->p - s), &out->u.num.d);
}

size_t json_scan_number(const char *text, size_t len, struct json_value *out)
{
    const char *p = text, *what = NULL;
    if (!len)
        return 0;
    int r = scan_number(&p, text + len, out, &what);
    if (r < 0)
        return 0;
    size_t n = (size_t)(p - text);
    if (r > 0) {
        char copy[64];
        if (n >= sizeof copy)
            return 0;
        memcpy(copy, text, n);
        copy[n] = '\0';
        out->u.num.d = strtod(copy, NULL);
    }
    return n;
}

/* ---- strings ---- */

static int hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no encoded surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static char *put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Parses the string at ps->p (a '"'). The result is NUL-terminated in the arena. */
static int parse_string(struct parser *ps, const char **out, uint32_t *out_len)
{
    const unsigned char *s = (const unsigned char *)ps->p + 1;
    const unsigned char *end = (const unsigned char *)ps->end;
    const unsigned char *q = s;
    while (q < end && *q != '"' && *q != '\\' && *q >= 0x20 && *q < 0x80)
        q++;
    if (q < end && *q == '"') {
        size_t n = (size_t)(q - s);
        if (n > UINT32_MAX)
            return fail(ps, "string too long");
        char *d = palloc(ps, n + 1);
        if (!d)
            return -1;
        memcpy(d, s, n);
        d[n] = '\0';
        *out = d;
        *out_len = (uint32_t)n;
        ps->p = (const char *)q + 1;
        return 0;
    }
    /* Slow path: find the closing quote to size the output (unescaping never grows). */
    const unsigned char *r = q;
    while (r < end && *r != '"') {
        if (*r == '\\')
            r++;
        r++;
    }
    if (r >= end) {
        ps->p = ps->end;
        return fail(ps, "unterminated string");
    }
    size_t raw = (size_t)(r - s);
    char *d = palloc(ps, raw + 1);
    if (!d)
        return -1;
    memcpy(d, s, (size_t)(q - s));
    char *o = d + (q - s);
    while (q < r) {
        unsigned c = *q;
        if (c == '\\') {
            const unsigned char *esc = q;
            q++;
            switch (*q) {
            case '"':
                *o++ = '"';
                break;
            case '\\':
                *o++ = '\\';
                break;
            case '/':
                *o++ = '/';
                break;
            case 'b':
                *o++ = '\b';
                break;
            case 'f':
                *o++ = '\f';
                break;
            case 'n':
                *o++ = '\n';
                break;
            case 'r':
                *o++ = '\r';
                break;
            case 't':
                *o++ = '\t';
                break;
            case 'u': {
                uint32_t cp, lo;
                if (r - q < 5 || hex4((const char *)q + 1, &cp))
                    return fail_at(ps, (const char *)esc, "invalid \\u escape", MMSP_E_PARSE);
                q += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail_at(ps, (const char *)esc, "lone low surrogate in \\u escape",
                                   MMSP_E_PARSE);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (r - q < 7 || q[1] != '\\' || q[2] != 'u' ||
                        hex4((const char *)q + 3, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return fail_at(ps, (const char *)esc,
                                       "high surrogate not followed by a low surrogate",
                                       MMSP_E_PARSE);
                    q += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                o = put_utf8(o, cp);
                break;
            }
            default:
                return fail_at(ps, (const char *)esc, "invalid escape", MMSP_E_PARSE);
            }
            q++;
        } else if (c < 0x20) {
            return fail_at(ps, (const char *)q, "control character in string", MMSP_E_PARSE);
        } else if (c < 0x80) {
            *o++ = (char)c;
            q++;
        } else {
            size_t n = utf8_seq(q, r);
            if (!n)
                return fail_at(ps, (const char *)q, "invalid UTF-8 in string", MMSP_E_PARSE);
            memcpy(o, q, n);
            o += n;
            q += n;
        }
    }
    size_t n = (size_t)(o - d);
    if (n > UINT32_MAX)
        return fail(ps, "string too long");
    *o = '\0';
    *out = d;
    *out_len = (uint32_t)n;
    ps->p = (const char *)r + 1;
    return 0;
}

/* ---- containers ---- */

static int parse_array(struct parser *ps, struct json_value *out)
{
    if (++ps->depth > JSON_MAX_DEPTH)
        return fail(ps, "nesting too deep");
    ps->p++;
    size_t base = ps->nvals;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
    } else {
        for (;;) {
            struct json_value v;
            if (parse_value(ps, &v))
                return -1;
            if (ps->nvals == ps->capvals &&
                grow(ps, (void **)&ps->vals, &ps->capvals, ps->nvals, sizeof *ps->vals))
                return -1;
            ps->vals[ps->nvals++] = v;
            skip_ws(ps);
            if (ps->p >= ps->end)
                return fail(ps, "unexpected end of input in array");
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == ']') {
                ps->p++;
                break;
            }
            return fail(ps, "expected ',' or ']'");
        }
    }
    size_t n = ps->nvals - base;
    if (n > UINT32_MAX)
        return fail(ps, "array too long");
    out->type = JSON_ARRAY;
    out->len = (uint32_t)n;
    out->u.items = NULL;
    if (n) {
        out->u.items = palloc(ps, n * sizeof *out->u.items);
        if (!out->u.items)
            return -1;
        memcpy(out->u.items, ps->vals + base, n * sizeof *out->u.items);
    }
    ps->nvals = base;
    ps->depth--;
    return 0;
}

static int parse_object(struct parser *ps, struct json_value *out)
{
    if (++ps->depth > JSON_MAX_DEPTH)
        return fail(ps, "nesting too deep");
    ps->p++;
    size_t base = ps->nmems;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            struct json_member m;
            skip_ws(ps);
            if (ps->p >= ps->end)
                return fail(ps, "unexpected end of input in object");
            if (*ps->p != '"')
                return fail(ps, "expected a string key");
            if (parse_string(ps, &m.key, &m.key_len))
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps, "expected ':'");
            ps->p++;
            if (parse_value(ps, &m.value))
                return -1;
            if (ps->nmems == ps->capmems &&
                grow(ps, (void **)&ps->mems, &ps->capmems, ps->nmems, sizeof *ps->mems))
                return -1;
            ps->mems[ps->nmems++] = m;
            skip_ws(ps);
            if (ps->p >= ps->end)
                return fail(ps, "unexpected end of input in object");
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == '}') {
                ps->p++;
                break;
            }
            return fail(ps, "expected ',' or '}'");
        }
    }
    size_t n = ps->nmems - base;
    if (n > UINT32_MAX)
        return fail(ps, "object too long");
    out->type = JSON_OBJECT;
    out->len = (uint32_t)n;
    out->u.members = NULL;
    if (n) {
        out->u.members = palloc(ps, n * sizeof *out->u.members);
        if (!out->u.members)
            return -1;
        memcpy(out->u.members, ps->mems + base, n * sizeof *out->u.members);
    }
    ps->nmems = base;
    ps->depth--;
    return 0;
}

static int literal(struct parser *ps, const char *word, size_t n, enum json_type t,
                   struct json_value *out)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "invalid literal");
    ps->p += n;
    out->type = t;
    out->len = 0;
    return 0;
}

static int parse_value(struct parser *ps, struct json_value *out)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{':
        return parse_object(ps, out);
    case '[':
        return parse_array(ps, out);
    case '"':
        out->type = JSON_STRING;
        return parse_string(ps, &out->u.str, &out->len);
    case 't':
        return literal(ps, "true", 4, JSON_TRUE, out);
    case 'f':
        return literal(ps, "false", 5, JSON_FALSE, out);
    case 'n':
        return literal(ps, "null", 4, JSON_NULL, out);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return parse_number(ps, out);
    default:
        return fail(ps, "unexpected character");
    }
}

mmsp_err json_parse(struct arena *a, const char *text, size_t len, struct json_value *out,
                    char *err, size_t errlen)
{
    struct parser ps = {.start = text, .p = text, .end = text + len, .a = a};
    mmsp_err rc = MMSP_OK;
    memset(out, 0, sizeof *out);
    if (!text && len) {
        rc = MMSP_E_INVALID;
        if (err && errlen)
            snprintf(err, errlen, "no input");
        goto out;
    }
    if (parse_value(&ps, out) == 0) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            fail(&ps, "trailing characters after the document");
    }
    rc = ps.rc;
    if (rc) {
        memset(out, 0, sizeof *out);
        if (err && errlen)
            snprintf(err, errlen, "%s at byte %zu", ps.what, ps.at);
    }
out:
    return rc;
}

int json_cur_str(struct json_cursor *c, const char **s, size_t *n)
{
    json_cur_ws(c);
    if (c->p >= c->end || *c->p != '"')
        return 0;
    const char *q = c->p + 1;
    while (q < c->end && *q != '"') {
        unsigned char ch = (unsigned char)*q;
        if (ch < 0x20 || ch >= 0x7f || ch == '\\')
            return 0;
        q++;
    }
    if (q >= c->end)
        return 0;
    *s = c->p + 1;
    *n = (size_t)(q - *s);
    c->p = q + 1;
    return 1;
}

int json_cur_key(struct json_cursor *c, const char **k, size_t *n)
{
    return json_cur_str(c, k, n) && json_cur_take(c, ':');
}

int json_cur_number(struct json_cursor *c, struct json_value *v)
{
    json_cur_ws(c);
    size_t used = json_scan_number(c->p, (size_t)(c->end - c->p), v);
    c->p += used;
    return used != 0;
}

int json_key_is(const char *k, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(k, want, n) == 0;
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < obj->len; i++) {
        const struct json_member *m = &obj->u.members[i];
        if (m->key_len == n && memcmp(m->key, key, n) == 0)
            return &m->value;
    }
    return NULL;
}

const char *json_type_name(enum json_type t)
{
    switch (t) {
    case JSON_NULL:
        return "null";
    case JSON_FALSE:
    case JSON_TRUE:
        return "boolean";
    case JSON_NUMBER:
        return "number";
    case JSON_STRING:
        return "string";
    case JSON_ARRAY:
        return "array";
    case JSON_OBJECT:
        return "object";
    }
    return "unknown";
}

/* ---- writer ---- */

mmsp_err json_write_string(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t need = 2;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
            need += 2;
        else if (c < 0x20)
            need += 6;
        else if (c < 0x80)
            need += 1;
        else {
            size_t n = utf8_seq(u + i, u + len);
            need += n ? n : 3; /* an invalid byte becomes U+FFFD */
            i += n ? n - 1 : 0;
        }
    }
    char *o;
    mmsp_err rc = buf_reserve(b, need, &o);
    if (rc)
        return rc;
    char *start = o;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = u[i];
        switch (c) {
        case '"':
            *o++ = '\\';
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        case '\b':
            *o++ = '\\';
            *o++ = 'b';
            break;
        case '\f':
            *o++ = '\\';
            *o++ = 'f';
            break;
        default:
            if (c < 0x20) {
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                o += 6;
            } else if (c < 0x80) {
                *o++ = (char)c;
            } else {
                size_t n = utf8_seq(u + i, u + len);
                if (n) {
                    memcpy(o, u + i, n);
                    o += n;
                    i += n - 1;
                } else {
                    memcpy(o, "\xef\xbf\xbd", 3);
                    o += 3;
                }
            }
        }
    }
    *o++ = '"';
    b->len += (size_t)(o - start);
    b->data[b->len] = '\0';
    return MMSP_OK;
}

/* Decimal digits of v into the end of tmp[24]; returns the start. */
static char *u64_digits(uint64_t v, char *tmp_end)
{
    char *p = tmp_end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

mmsp_err json_write_uint(struct buf *b, uint64_t v)
{
    char tmp[24];
    char *p = u64_digits(v, tmp + sizeof tmp);
    return buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

mmsp_err json_write_int(struct buf *b, int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = u64_digits(u, tmp + sizeof tmp);
    if (v < 0)
        *--p = '-';
    return buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/*
 * Shortest round-trip: any decimal of <= DBL_DIG (FLT_DIG) digits survives decimal -> binary
 * -> decimal, so when a form of that many digits or fewer exists, %.{DIG}g prints it (with
 * trailing zeros stripped). Otherwise one or more digits are needed; the first precision
 * that parses back equal is the shortest. Subnormals hold fewer digits than DIG, so for them
 * the search starts at 1. Integral values below 10^DIG take a digit loop,
 * which prints what %g would.
 */
mmsp_err json_write_double(struct buf *b, double v)
{
    if (!isfinite(v))
        return buf_append(b, "null", 4);
    if (fabs(v) < 1e15 && v == (double)(int64_t)v && !(v == 0 && signbit(v)))
        return json_write_int(b, (int64_t)v);
    char tmp[40];
    int n = 0;
    /* Subnormals carry fewer digits, so there the search starts at one digit. */
    for (int prec = fabs(v) < DBL_MIN ? 1 : DBL_DIG; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return buf_append(b, tmp, (size_t)n);
}

/*
 * Shortest round-trip digits of a positive normal float, exactly, with 128-bit integers: no
 * printf, no strtof. v = m * 2^e is scaled to V = 4 * v * 10^k (k = -e when e < 0, so V is
 * the integer 4 * m * 5^k; else k = 0), as are the ends of the interval of reals that read
 * back as v (half an ulp each side; a quarter below a power of two). Those ends belong to it
 * when m is even (strtof rounds ties to even). The decimal with the fewest digits is the
 * multiple of 4 * 10^j in the interval with the largest j; of those, the one nearest V (ties
 * to even). That is what the printf loop below prints, except just above a power of two,
 * where the nearest decimal can fall in the narrower lower half-gap while one a digit
 * shorter fits above: this finds the shorter one (both read back as v). Returns
 * the digits as an integer *t and the power of ten *p10 (v ~ t * 10^p10), or 0 when v is out
 * of the range where the numbers fit in 128 bits (e < -43, e > 101, subnormals): the caller
 * then takes the printf path.
 */
static int float_shortest(float v, uint64_t *t, int *p10)
{
    typedef unsigned __int128 u128;
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint32_t be = (bits >> 23) & 0xff, frac = bits & 0x7fffff;
    if (be == 0 || be == 0xff || (bits >> 31))
        return 0;
    uint64_t m = frac | (1u << 23);
    int e = (int)be - 150;
    int narrow = frac == 0 && be > 1; /* the float below is half as far away */
    int k = 0;
    u128 unit; /* V = 4 * m * unit; half an ulp is 2 * unit */
    if (e < 0) {
        if (e < -43)
            return 0;
        k = -e;
        unit = 1;
        for (int i = 0; i < k; i++)
            unit *= 5;
    } else {
        if (e > 101)
            return 0;
        unit = (u128)1 << e;
    }
    u128 V = 4 * m * unit, lo = V - (narrow ? 1 : 2) * unit, hi = V + 2 * unit;
    int incl = (m & 1) == 0;
    u128 width = hi - lo;
    int j = 0;
    u128 step = 4;
    while (step * 10 <= width) {
        step *= 10;
        j++;
    }
    /* One larger step may still fit a multiple; below `step` one always fits (the open
     * interval can miss only when both ends are multiples, then step / 10 fits). */
    step *= 10;
    j++;
    for (; j >= 0; j--, step /= 10) {
        u128 q = V / step;
        u128 below = q * step, above = below + step; /* below <= V < above */
        int below_in = below > lo || (incl && below == lo);
        int above_in = above < hi || (incl && above == hi);
        if (!below_in && !above_in)
            continue;
        u128 c;
        if (below_in && above_in) {
            u128 db = V - below, da = above - V;
            c = db < da ? q : da < db ? q + 1 : (q & 1) ? q + 1 : q;
        } else {
            c = below_in ? q : q + 1;
        }
        while (c && c % 10 == 0) {
            c /= 10;
            j++;
        }
        if (c >= 1000000000u)
            return 0;
        *t = (uint64_t)c;
        *p10 = j - k;
        return 1;
    }
    return 0;
}

/* Writes t * 10^p10 as printf's %.{P}g would with P = max(6, digits of t) (the precision at
 * which the loop below finds the shortest form), trailing zeros removed. */
static size_t format_g(char *out, int neg, uint64_t t, int p10)
{
    char dig[24];
    int nd = 0;
    for (uint64_t x = t; x; x /= 10)
        nd++;
    for (int i = nd - 1; i >= 0; i--, t /= 10)
        dig[i] = (char)('0' + t % 10);
    int x = nd - 1 + p10; /* exponent in d.ddd x 10^x */
    int prec = nd > 6 ? nd : 6;
    char *o = out;
    if (neg)
        *o++ = '-';
    if (x < -4 || x >= prec) {
        *o++ = dig[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax >= 100)
            *o++ = (char)('0' + ax / 100);
        *o++ = (char)('0' + ax / 10 % 10);
        *o++ = (char)('0' + ax % 10);
    } else if (x >= 0) {
        for (int i = 0; i <= x; i++)
            *o++ = i < nd ? dig[i] : '0';
        if (nd > x + 1) {
            *o++ = '.';
            memcpy(o, dig + x + 1, (size_t)(nd - x - 1));
            o += nd - x - 1;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -x - 1; i++)
            *o++ = '0';
        memcpy(o, dig, (size_t)nd);
        o += nd;
    }
    return (size_t)(o - out);
}

mmsp_err json_write_float(struct buf *b, float v)
{
    if (!isfinite(v))
        return buf_append(b, "null", 4);
    if (fabsf(v) < 1e6f && v == (float)(int32_t)v && !(v == 0 && signbit(v)))
        return json_write_int(b, (int32_t)v);
    char tmp[32];
    int n = 0;
    uint64_t t;
    int p10;
    if (float_shortest(fabsf(v), &t, &p10))
        return buf_append(b, tmp, format_g(tmp, signbit(v) != 0, t, p10));
    for (int prec = fabsf(v) < FLT_MIN ? 1 : FLT_DIG; prec <= 9; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, (double)v);
        if (strtof(tmp, NULL) == v)
            break;
    }
    return buf_append(b, tmp, (size_t)n);
}
