/*
 * Unit tests for src/common/json.c: numbers against strtod (edge cases and many random
 * literals, compared bit for bit), integer flags, strings and escapes (\u surrogates, UTF-8
 * checks), the depth limit, malformed input of every kind, reading never past len, the
 * arena ceiling, and the writers (shortest round-trip floats, escaping, integers).
 * Calls: common/json, common/arena, common/buf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/json.h"
#include "../test_rng.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
    return test_xorshift64(&rng_state);
}

/* Parses s (copied to an exact-size heap block, so ASan sees any read past len). */
static mmsp_err parse(struct arena *a, const char *s, size_t len, struct json_value *v, char *err)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, s, len);
    mmsp_err rc = json_parse(a, copy, len, v, err, 128);
    /* Strings are copies in the arena, so the input can go now. */
    free(copy);
    return rc;
}

static void check_number(struct arena *a, const char *s)
{
    struct json_value v;
    char err[128];
    mmsp_err rc = parse(a, s, strlen(s), &v, err);
    if (rc)
        fail_msg("'%s' failed: %s", s, err);
    assert_int_equal(v.type, JSON_NUMBER);
    double want = strtod(s, NULL);
    if (memcmp(&want, &v.u.num.d, sizeof want) != 0)
        fail_msg("'%s': got %.17g, strtod gives %.17g", s, v.u.num.d, want);
    arena_reset(a);
}

static void test_numbers_edge(void **state)
{
    (void)state;
    static const char *const cases[] = {"0",
                                        "-0",
                                        "1",
                                        "-1",
                                        "0.0",
                                        "-0.0",
                                        "1e0",
                                        "1E+0",
                                        "1e-0",
                                        "0.1",
                                        "0.2",
                                        "0.3",
                                        "1.5",
                                        "123.456",
                                        "1e22",
                                        "1e23",
                                        "1e-22",
                                        "1e-23",
                                        "9007199254740992",
                                        "9007199254740993",
                                        "9007199254740991",
                                        "18014398509481985",
                                        "4.35",
                                        "8.41e21",
                                        "5e-324",
                                        "4.9406564584124654e-324",
                                        "2.4703282292062327e-324",
                                        "2.4703282292062328e-324",
                                        "2.2250738585072011e-308",
                                        "2.2250738585072014e-308",
                                        "1.7976931348623157e308",
                                        "1.7976931348623158e308",
                                        "1.7976931348623159e308",
                                        "1e308",
                                        "1e309",
                                        "-1e309",
                                        "1e-400",
                                        "123456789012345678901234567890",
                                        "0.1e1",
                                        "100e-2",
                                        "12345678901234567890",
                                        "18446744073709551615",
                                        "18446744073709551616",
                                        "-9223372036854775808",
                                        "-9223372036854775809",
                                        "9223372036854775807",
                                        "9223372036854775808",
                                        "3.141592653589793238462643383279",
                                        "0.000000000000000000001",
                                        "1.00000000000000011102230246251565404236316680908203125",
                                        "1.00000000000000011102230246251565404236316680908203124",
                                        "1.00000000000000011102230246251565404236316680908203126",
                                        "7.2057594037927933e16",
                                        "1e37",
                                        "1e38",
                                        "3.4028234663852886e38",
                                        "123e-25",
                                        "9999999999999999e22",
                                        "900719925474099e23",
                                        "9007199254740992e1",
                                        "0.0000000000000000000000000000001e31",
                                        "1000000000000000000000e-21",
                                        "1e00000000000000000000000000001",
                                        "1e-99999999999999",
                                        "1.0e+99999999999",
                                        "18014398509481986e0",
                                        "18014398509481986.0",
                                        "1.8014398509481986e16",
                                        "18014398509481985.9999",
                                        "0.5488135039273248",
                                        "-2.8613933495037944",
                                        "12345678901234567e-27",
                                        "18446744073709551615e27",
                                        "9999999999999999999e-27",
                                        "1e27",
                                        "1e-27"};
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_number(&a, cases[i]);
    arena_release(&a);
}

static void test_numbers_random(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    char s[96];
    for (int iter = 0; iter < 200000; iter++) {
        size_t o = 0;
        uint64_t r = rng();
        if (r & 1)
            s[o++] = '-';
        int ndig = 1 + (int)((r >> 1) % 22); /* integer + fraction digits */
        int nint = 1 + (int)((r >> 8) % (unsigned)ndig);
        int first = 1;
        for (int k = 0; k < nint; k++) {
            int d = (int)(rng() % 10);
            if (first && nint > 1 && d == 0)
                d = 1 + (int)(rng() % 9);
            if (first && nint == 1 && (r >> 20) % 3 == 0)
                d = 0;
            s[o++] = (char)('0' + d);
            first = 0;
        }
        if (ndig > nint) {
            s[o++] = '.';
            for (int k = nint; k < ndig; k++)
                s[o++] = (char)('0' + rng() % 10);
        }
        if ((r >> 24) % 2) {
            s[o++] = (r >> 26) % 2 ? 'e' : 'E';
            int mode = (int)((r >> 28) % 3);
            if (mode == 1)
                s[o++] = '-';
            else if (mode == 2)
                s[o++] = '+';
            int e = (r >> 30) % 4 == 0 ? (int)(rng() % 330) : (int)(rng() % 30);
            o += (size_t)snprintf(s + o, sizeof s - o, "%d", e);
        }
        s[o] = '\0';
        check_number(&a, s);
    }
    /* Significands above 2^53 with small exponents (the extended-precision path), including
     * exact midpoints between doubles such as 2^54 + 2. */
    for (int iter = 0; iter < 200000; iter++) {
        uint64_t m = rng();
        int shift = (int)(rng() % 12);
        if (iter % 4 == 0)
            m = (m >> 11 << 11) | 0x400; /* a double midpoint once scaled to 64 bits */
        m >>= shift;
        int e = (int)(rng() % 61) - 30;
        snprintf(s, sizeof s, "%s%llu%se%d", rng() & 1 ? "-" : "", (unsigned long long)m,
                 iter % 3 ? "" : ".0", e);
        check_number(&a, s);
    }
    /* Every double printed at 17 and at shorter precisions reads back as strtod does. */
    for (int iter = 0; iter < 100000; iter++) {
        uint64_t bits = rng();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            continue;
        snprintf(s, sizeof s, "%.*g", 1 + (int)(rng() % 17), d);
        check_number(&a, s);
    }
    arena_release(&a);
}

static void test_integers(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    struct json_value v;
    char err[128];
    const char *t = "[0,-0,42,-42,9223372036854775807,-9223372036854775808,9223372036854775808,"
                    "18446744073709551615,18446744073709551616,-9223372036854775809,1.0,1e2]";
    assert_int_equal(parse(&a, t, strlen(t), &v, err), MMSP_OK);
    assert_int_equal(v.len, 12);
    const struct json_value *it = v.u.items;
    assert_true(it[0].u.num.is_int && it[0].u.num.i == 0 && it[0].u.num.is_u64);
    assert_true(it[1].u.num.is_int && it[1].u.num.i == 0 && !it[1].u.num.is_u64);
    assert_true(signbit(it[1].u.num.d));
    assert_true(it[2].u.num.is_int && it[2].u.num.i == 42);
    assert_true(it[3].u.num.is_int && it[3].u.num.i == -42 && !it[3].u.num.is_u64);
    assert_true(it[4].u.num.is_int && it[4].u.num.i == INT64_MAX);
    assert_true(it[5].u.num.is_int && it[5].u.num.i == INT64_MIN);
    assert_true(!it[6].u.num.is_int && it[6].u.num.is_u64 &&
                (uint64_t)it[6].u.num.i == 9223372036854775808ULL);
    assert_true(!it[7].u.num.is_int && it[7].u.num.is_u64 && (uint64_t)it[7].u.num.i == UINT64_MAX);
    assert_true(!it[8].u.num.is_int && !it[8].u.num.is_u64);
    assert_true(it[8].u.num.d == 18446744073709551616.0);
    assert_true(!it[9].u.num.is_int && !it[9].u.num.is_u64);
    assert_true(!it[10].u.num.is_int && it[10].u.num.d == 1.0);
    assert_true(!it[11].u.num.is_int && it[11].u.num.d == 100.0);
    arena_release(&a);
}

static void test_strings(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    struct json_value v;
    char err[128];
    static const struct {
        const char *in;
        const char *out;
        size_t out_len;
    } cases[] = {
        {"\"\"", "", 0},
        {"\"abc\"", "abc", 3},
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
        {"\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
        {"\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4},
        {"\"a\\u0000b\"", "a\0b", 3},
        {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9},
        {"\"x\\n\xc3\xa9\"", "x\n\xc3\xa9", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mmsp_err rc = parse(&a, cases[i].in, strlen(cases[i].in), &v, err);
        if (rc)
            fail_msg("case %zu: %s", i, err);
        assert_int_equal(v.type, JSON_STRING);
        assert_int_equal(v.len, cases[i].out_len);
        assert_memory_equal(v.u.str, cases[i].out, cases[i].out_len);
        assert_int_equal(v.u.str[v.len], '\0');
    }
    arena_release(&a);
}

static void test_structure(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    struct json_value v;
    char err[128];
    const char *t = " {\"a\" : [1, true, false, null, \"s\", {}, []], \"b\":{\"c\":2}, \"a\":3}\n";
    assert_int_equal(parse(&a, t, strlen(t), &v, err), MMSP_OK);
    assert_int_equal(v.type, JSON_OBJECT);
    assert_int_equal(v.len, 3);
    const struct json_value *x = json_get(&v, "a");
    assert_non_null(x);
    assert_int_equal(x->type, JSON_ARRAY); /* the first of the duplicate keys */
    assert_int_equal(x->len, 7);
    assert_int_equal(x->u.items[1].type, JSON_TRUE);
    assert_int_equal(x->u.items[2].type, JSON_FALSE);
    assert_int_equal(x->u.items[3].type, JSON_NULL);
    assert_int_equal(x->u.items[5].type, JSON_OBJECT);
    assert_int_equal(x->u.items[5].len, 0);
    assert_int_equal(x->u.items[6].type, JSON_ARRAY);
    assert_int_equal(x->u.items[6].len, 0);
    assert_string_equal(v.u.members[2].key, "a");
    const struct json_value *c = json_get(json_get(&v, "b"), "c");
    assert_non_null(c);
    assert_int_equal(c->u.num.i, 2);
    assert_null(json_get(&v, "zz"));
    assert_null(json_get(x, "a"));
    assert_string_equal(json_type_name(JSON_TRUE), "boolean");
    assert_string_equal(json_type_name(JSON_OBJECT), "object");
    /* A large array exercises the scratch stack growth. */
    struct buf b;
    buf_init(&b, 1 << 22);
    buf_append_char(&b, '[');
    for (int i = 0; i < 5000; i++)
        buf_printf(&b, "%s[%d,{\"k%d\":%d}]", i ? "," : "", i, i, -i);
    buf_append_char(&b, ']');
    arena_release(&a);
    arena_init(&a, 4096, 8 << 20);
    assert_int_equal(parse(&a, b.data, b.len, &v, err), MMSP_OK);
    assert_int_equal(v.len, 5000);
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(v.u.items[i].u.items[0].u.num.i, i);
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(json_get(&v.u.items[i].u.items[1], k)->u.num.i, -i);
    }
    buf_release(&b);
    arena_release(&a);
}

static void test_depth(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    struct json_value v;
    char err[128];
    char s[2 * (JSON_MAX_DEPTH + 2)];
    for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
        for (int i = 0; i < depth; i++) {
            s[i] = i % 2 ? '[' : '[';
            s[2 * depth - 1 - i] = ']';
        }
        mmsp_err rc = parse(&a, s, (size_t)(2 * depth), &v, err);
        if (depth <= JSON_MAX_DEPTH) {
            assert_int_equal(rc, MMSP_OK);
        } else {
            assert_int_equal(rc, MMSP_E_PARSE);
            assert_non_null(strstr(err, "nesting too deep"));
        }
        arena_reset(&a);
    }
    /* Objects count too. */
    struct buf b;
    buf_init(&b, 1 << 16);
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        buf_append_str(&b, "{\"a\":");
    buf_append_str(&b, "1");
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        buf_append_char(&b, '}');
    assert_int_equal(parse(&a, b.data, b.len, &v, err), MMSP_E_PARSE);
    /* 100000 open brackets fail fast and without deep recursion. */
    buf_reset(&b);
    for (int i = 0; i < 100000 && !buf_append_char(&b, '['); i++)
        ;
    assert_int_equal(parse(&a, b.data, b.len, &v, err), MMSP_E_PARSE);
    buf_release(&b);
    arena_release(&a);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"",
                                      " ",
                                      "[",
                                      "]",
                                      "{",
                                      "}",
                                      "[1,]",
                                      "[,1]",
                                      "[1 2]",
                                      "{\"a\":1,}",
                                      "{\"a\" 1}",
                                      "{\"a\":}",
                                      "{a:1}",
                                      "{'a':1}",
                                      "{\"a\":1 \"b\":2}",
                                      "{1:2}",
                                      "[1]x",
                                      "1 2",
                                      "01",
                                      "-01",
                                      "00",
                                      "1.",
                                      ".1",
                                      "-",
                                      "+1",
                                      "1e",
                                      "1e+",
                                      "1.e1",
                                      "0x10",
                                      "NaN",
                                      "Infinity",
                                      "-Infinity",
                                      "nul",
                                      "nulll",
                                      "tru",
                                      "True",
                                      "fals",
                                      "\"abc",
                                      "\"\\\"",
                                      "\"\\x\"",
                                      "\"\\u12\"",
                                      "\"\\u12g4\"",
                                      "\"\\ud800\"",
                                      "\"\\ud800x\"",
                                      "\"\\ud800\\u0041\"",
                                      "\"\\udc00\"",
                                      "\"\\udc00\\ud800\"",
                                      "\"a\tb\"",
                                      "\"a\nb\"",
                                      "\"\x01\"",
                                      "\"\x1f\"",
                                      "\"\x80\"",
                                      "\"\xc0\xaf\"",
                                      "\"\xc3\"",
                                      "\"\xe0\x80\x80\"",
                                      "\"\xed\xa0\x80\"",
                                      "\"\xf4\x90\x80\x80\"",
                                      "\"\xf8\x88\x80\x80\x80\"",
                                      "\"\xff\"",
                                      "[1,2",
                                      "{\"a\":[}",
                                      "[\"a\",]",
                                      "\xef\xbb\xbf[]",
                                      "[1]]",
                                      "{}{}",
                                      "/*c*/1",
                                      "[1,//\n2]",
                                      "\"\\u\"",
                                      "[-]",
                                      "[1e5.5]",
                                      "[--1]",
                                      "[1-1]"};
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    struct json_value v;
    char err[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mmsp_err rc = parse(&a, bad[i], strlen(bad[i]), &v, err);
        if (rc != MMSP_E_PARSE)
            fail_msg("case %zu '%s' returned %d", i, bad[i], rc);
        assert_non_null(strstr(err, " at byte "));
        arena_reset(&a);
    }
    /* An embedded NUL is just a bad character, not the end of the text. */
    assert_int_equal(parse(&a, "[1]\0", 4, &v, err), MMSP_E_PARSE);
    assert_int_equal(parse(&a, "\"a\0b\"", 5, &v, err), MMSP_E_PARSE);
    /* Every proper prefix of a valid document is invalid (and read within bounds). */
    const char *doc = "{\"id\":\"x\\u00e9\",\"v\":[1.5e3,-2,true,null,{\"k\":[]}]}";
    for (size_t n = 0; n < strlen(doc); n++) {
        assert_int_equal(parse(&a, doc, n, &v, err), MMSP_E_PARSE);
        arena_reset(&a);
    }
    assert_int_equal(parse(&a, doc, strlen(doc), &v, err), MMSP_OK);
    arena_release(&a);
}

static void test_arena_ceiling(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 256, 4096);
    struct buf b;
    buf_init(&b, 1 << 20);
    buf_append_char(&b, '[');
    for (int i = 0; i < 2000; i++)
        buf_printf(&b, "%s\"string number %d\"", i ? "," : "", i);
    buf_append_char(&b, ']');
    struct json_value v;
    char err[128];
    assert_int_equal(json_parse(&a, b.data, b.len, &v, err, sizeof err), MMSP_E_TOO_LARGE);
    assert_true(a.used <= a.limit);
    arena_release(&a);
    arena_init(&a, 4096, 1 << 22);
    assert_int_equal(json_parse(&a, b.data, b.len, &v, err, sizeof err), MMSP_OK);
    buf_release(&b);
    arena_release(&a);
}

/* Fewest significant digits (N of the first %.Ng from 1 that reads back equal): the
 * reference for the writers. */
static int shortest_digits(double d, int is_float)
{
    char s[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(s, sizeof s, "%.*g", p, d);
        if (is_float ? strtof(s, NULL) == (float)d : strtod(s, NULL) == d)
            return p;
    }
    return 99;
}

/* Significant digits of a written number ("15000000000" has 2, "0.0125" has 3). */
static int digits_of(const char *s)
{
    char m[64];
    size_t n = 0;
    for (; *s && *s != 'e' && *s != 'E' && n < sizeof m - 1; s++)
        if (*s >= '0' && *s <= '9')
            m[n++] = *s;
    size_t lo = 0;
    while (lo < n && m[lo] == '0')
        lo++;
    while (n > lo && m[n - 1] == '0')
        n--;
    return (int)(n - lo);
}

static void test_write_numbers(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 16);
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    char err[128];
    struct json_value v;
    static const double fixed[] = {0.0,
                                   1.0,
                                   -1.0,
                                   0.1,
                                   0.5,
                                   1.0 / 3,
                                   1e300,
                                   1e-300,
                                   5e-324,
                                   DBL_MAX,
                                   DBL_MIN,
                                   123456789012345.0,
                                   1e15,
                                   1e16,
                                   -2.5e-7,
                                   9007199254740993.0,
                                   0.30000000000000004};
    for (int iter = 0; iter < 100000 + (int)(sizeof fixed / sizeof fixed[0]); iter++) {
        double d;
        if (iter < (int)(sizeof fixed / sizeof fixed[0])) {
            d = fixed[iter];
        } else {
            uint64_t bits = rng();
            memcpy(&d, &bits, sizeof d);
            if (!isfinite(d))
                continue;
        }
        buf_reset(&b);
        assert_int_equal(json_write_double(&b, d), MMSP_OK);
        assert_int_equal(parse(&a, b.data, b.len, &v, err), MMSP_OK);
        if (v.u.num.d != d)
            fail_msg("%.17g written as %s", d, b.data);
        if (digits_of(b.data) > shortest_digits(d, 0))
            fail_msg("%.17g written as %s, not the shortest", d, b.data);
        arena_reset(&a);
        /* The same for the float nearest d (or a random float). */
        float f;
        uint32_t fb = (uint32_t)rng();
        memcpy(&f, &fb, sizeof f);
        if (iter < (int)(sizeof fixed / sizeof fixed[0]))
            f = (float)d;
        if (!isfinite(f))
            continue;
        buf_reset(&b);
        assert_int_equal(json_write_float(&b, f), MMSP_OK);
        if (strtof(b.data, NULL) != f)
            fail_msg("%.9g written as %s", (double)f, b.data);
        if (digits_of(b.data) > shortest_digits(f, 1))
            fail_msg("%.9g written as %s, not the shortest", (double)f, b.data);
    }
    buf_reset(&b);
    json_write_double(&b, NAN);
    buf_append_char(&b, ',');
    json_write_double(&b, INFINITY);
    buf_append_char(&b, ',');
    json_write_float(&b, -INFINITY);
    buf_append_char(&b, ',');
    json_write_float(&b, NAN);
    buf_append_char(&b, ',');
    json_write_double(&b, -0.0);
    buf_append_char(&b, ',');
    json_write_float(&b, 1.0f);
    buf_append_char(&b, ',');
    json_write_float(&b, 0.1f);
    buf_append_char(&b, ',');
    json_write_int(&b, INT64_MIN);
    buf_append_char(&b, ',');
    json_write_int(&b, INT64_MAX);
    buf_append_char(&b, ',');
    json_write_uint(&b, UINT64_MAX);
    buf_append_char(&b, ',');
    json_write_int(&b, 0);
    assert_string_equal(b.data, "null,null,null,null,-0,1,0.1,-9223372036854775808,"
                                "9223372036854775807,18446744073709551615,0");
    buf_release(&b);
    arena_release(&a);
}

static void test_write_string(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 16);
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    struct json_value v;
    char err[128];
    assert_int_equal(json_write_string(&b, "a\"b\\c\n\r\t\b\f\x01\x1f\x7f\xc3\xa9", 15), MMSP_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\xc3\xa9\"");
    /* Every byte string of printable + control bytes round-trips through the reader. */
    for (int iter = 0; iter < 2000; iter++) {
        char s[64];
        size_t n = rng() % sizeof s;
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(rng() % 128);
        buf_reset(&b);
        assert_int_equal(json_write_string(&b, s, n), MMSP_OK);
        assert_int_equal(parse(&a, b.data, b.len, &v, err), MMSP_OK);
        assert_int_equal(v.type, JSON_STRING);
        assert_int_equal(v.len, n);
        assert_memory_equal(v.u.str, s, n);
        arena_reset(&a);
    }
    /* Invalid UTF-8 becomes U+FFFD per byte, valid sequences pass; any bytes give valid JSON. */
    buf_reset(&b);
    assert_int_equal(json_write_string(&b, "\xff\xc3\xa9\xc3\xe2\x82\xac\xed\xa0\x80", 10),
                     MMSP_OK);
    assert_string_equal(
        b.data,
        "\"\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    for (int iter = 0; iter < 5000; iter++) {
        char s[32];
        size_t n = rng() % sizeof s;
        for (size_t i = 0; i < n; i++)
            s[i] = (char)rng();
        buf_reset(&b);
        assert_int_equal(json_write_string(&b, s, n), MMSP_OK);
        assert_int_equal(parse(&a, b.data, b.len, &v, err), MMSP_OK);
        arena_reset(&a);
    }
    /* The buffer's ceiling is respected. */
    struct buf small;
    buf_init(&small, 4);
    assert_int_equal(json_write_string(&small, "abcd", 4), MMSP_E_TOO_LARGE);
    assert_int_equal(json_write_string(&small, "ab", 2), MMSP_OK);
    buf_release(&small);
    buf_release(&b);
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_edge),  cmocka_unit_test(test_numbers_random),
        cmocka_unit_test(test_integers),      cmocka_unit_test(test_strings),
        cmocka_unit_test(test_structure),     cmocka_unit_test(test_depth),
        cmocka_unit_test(test_malformed),     cmocka_unit_test(test_arena_ceiling),
        cmocka_unit_test(test_write_numbers), cmocka_unit_test(test_write_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
