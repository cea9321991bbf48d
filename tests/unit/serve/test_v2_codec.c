/*
 * Unit tests for src/serve/v2_codec.c: v2 requests (flat and nested data, id, parameters,
 * requested outputs, every datatype, every error with its message), the binary tensor data
 * extension in both directions with exact bytes (protocols.md 1.7's UINT32[2,2] + BOOL[3]
 * example), dtype conversion, and the v1 and simple bodies.
 * Calls: serve/v2_codec, common/arena, common/buf, common/json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve/v2_codec.h"
#include "../test_rng.h"

static struct arena A;
static char E[MMSP_ERRMSG_MAX];

static int setup(void **state)
{
    (void)state;
    arena_init(&A, 4096, 16 << 20);
    E[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_release(&A);
    return 0;
}

/* Parses a pure JSON body (copied to an exact-size block so ASan sees overreads). */
static mmsp_err parse_hl(const char *body, size_t len, int64_t header_len, struct v2_request *r)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);
    E[0] = '\0';
    mmsp_err rc = v2_request_parse(&A, copy, len, header_len, r, E, sizeof E);
    free(copy);
    return rc;
}

static mmsp_err parse_json(const char *body, struct v2_request *r)
{
    return parse_hl(body, strlen(body), -1, r);
}

/* Expects rc and an error message containing `needle`. */
static void expect_error(const char *body, mmsp_err want, const char *needle)
{
    struct v2_request r;
    mmsp_err rc = parse_json(body, &r);
    if (rc != want || !strstr(E, needle))
        fail_msg("body %s: got %s '%s', want %s containing '%s'", body, mmsp_err_name(rc), E,
                 mmsp_err_name(want), needle);
    assert_int_equal(r.n_inputs, 0);
}

static void test_flat_and_nested(void **state)
{
    (void)state;
    struct v2_request r1, r2;
    assert_int_equal(
        parse_json("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
                   "\"data\":[1,2.5,-3,4e1,0.1,6]}]}",
                   &r1),
        MMSP_OK);
    assert_int_equal(
        parse_json("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
                   "\"data\":[[1,2.5,-3],[4e1,0.1,6]]}]}",
                   &r2),
        MMSP_OK);
    float want[] = {1, 2.5f, -3, 40, 0.1f, 6};
    assert_int_equal(r1.n_inputs, 1);
    assert_string_equal(r1.inputs[0].name, "x");
    assert_int_equal(r1.inputs[0].dtype, MMSP_DT_FP32);
    assert_int_equal(r1.inputs[0].ndim, 2);
    assert_int_equal(r1.inputs[0].shape[0], 2);
    assert_int_equal(r1.inputs[0].shape[1], 3);
    assert_int_equal(r1.inputs[0].nbytes, sizeof want);
    assert_memory_equal(r1.inputs[0].data, want, sizeof want);
    assert_int_equal(r2.inputs[0].nbytes, sizeof want);
    assert_memory_equal(r2.inputs[0].data, want, sizeof want);
    assert_null(r1.id);
    assert_null(r1.outputs);
    assert_int_equal(r1.binary_data_output, 0);
    /* 3-D nested, and a zero-size dim. */
    assert_int_equal(parse_json("{\"inputs\":[{\"name\":\"y\",\"shape\":[2,1,2],\"datatype\":"
                                "\"INT32\",\"data\":[[[1,2]],[[3,4]]]},{\"name\":\"z\",\"shape\":"
                                "[0,3],\"datatype\":\"FP32\",\"data\":[]}]}",
                                &r1),
                     MMSP_OK);
    int32_t wi[] = {1, 2, 3, 4};
    assert_memory_equal(r1.inputs[0].data, wi, sizeof wi);
    assert_int_equal(r1.inputs[1].nbytes, 0);
    assert_int_equal(r1.n_inputs, 2);
    /* A scalar tensor (shape []) has one element. */
    assert_int_equal(
        parse_json(
            "{\"inputs\":[{\"name\":\"s\",\"shape\":[],\"datatype\":\"FP64\",\"data\":[2]}]}", &r1),
        MMSP_OK);
    assert_int_equal(r1.inputs[0].nbytes, 8);
}

static void test_id_params_outputs(void **state)
{
    (void)state;
    struct v2_request r;
    assert_int_equal(
        parse_json("{\"id\":\"req-1\",\"parameters\":{\"binary_data_output\":true,\"p\":1.5,"
                   "\"s\":\"x\"},\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\","
                   "\"data\":[1],\"parameters\":{\"foo\":\"bar\"}}],\"outputs\":[{\"name\":\"a\"},"
                   "{\"name\":\"b\",\"parameters\":{\"binary_data\":false}},{\"name\":\"c\","
                   "\"parameters\":{\"binary_data\":true}}],\"unknown\":[1,2,{}]}",
                   &r),
        MMSP_OK);
    assert_string_equal(r.id, "req-1");
    assert_int_equal(r.binary_data_output, 1);
    assert_int_equal(r.n_params, 3);
    assert_string_equal(r.params[0].key, "binary_data_output");
    assert_string_equal(r.params[1].key, "p");
    assert_true(r.params[1].value->u.num.d == 1.5);
    assert_string_equal(r.params[2].value->u.str, "x");
    assert_int_equal(r.n_outputs, 3);
    assert_string_equal(r.outputs[0].name, "a");
    assert_int_equal(r.outputs[0].binary, -1);
    assert_int_equal(r.outputs[1].binary, 0);
    assert_int_equal(r.outputs[2].binary, 1);
    assert_string_equal(r.outputs[2].name, "c");
}

static void test_every_datatype(void **state)
{
    (void)state;
    struct v2_request r;
    const char *body =
        "{\"inputs\":["
        "{\"name\":\"b\",\"shape\":[4],\"datatype\":\"BOOL\",\"data\":[true,false,1,0]},"
        "{\"name\":\"u8\",\"shape\":[2],\"datatype\":\"UINT8\",\"data\":[0,255]},"
        "{\"name\":\"u16\",\"shape\":[2],\"datatype\":\"UINT16\",\"data\":[0,65535]},"
        "{\"name\":\"u32\",\"shape\":[2],\"datatype\":\"UINT32\",\"data\":[0,4294967295]},"
        "{\"name\":\"u64\",\"shape\":[2],\"datatype\":\"UINT64\",\"data\":[0,18446744073709551615]}"
        ","
        "{\"name\":\"i8\",\"shape\":[2],\"datatype\":\"INT8\",\"data\":[-128,127]},"
        "{\"name\":\"i16\",\"shape\":[2],\"datatype\":\"INT16\",\"data\":[-32768,32767]},"
        "{\"name\":\"i32\",\"shape\":[3],\"datatype\":\"INT32\",\"data\":[-2147483648,2147483647,"
        "2.0]},"
        "{\"name\":\"i64\",\"shape\":[2],\"datatype\":\"INT64\",\"data\":[-9223372036854775808,"
        "9223372036854775807]},"
        "{\"name\":\"f32\",\"shape\":[3],\"datatype\":\"FP32\",\"data\":[0.1,-1e38,3]},"
        "{\"name\":\"f64\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[0.1,1e300]},"
        "{\"name\":\"s\",\"shape\":[3],\"datatype\":\"BYTES\",\"data\":[\"ab\",\"\",\"\\u00e9\"]}"
        "]}";
    assert_int_equal(parse_json(body, &r), MMSP_OK);
    assert_int_equal(r.n_inputs, 12);
    const mmsp_tensor *t = r.inputs;
    uint8_t b[] = {1, 0, 1, 0};
    assert_int_equal(t[0].dtype, MMSP_DT_BOOL);
    assert_memory_equal(t[0].data, b, 4);
    uint8_t u8[] = {0, 255};
    assert_memory_equal(t[1].data, u8, 2);
    uint16_t u16[] = {0, 65535};
    assert_memory_equal(t[2].data, u16, 4);
    uint32_t u32[] = {0, 4294967295u};
    assert_memory_equal(t[3].data, u32, 8);
    uint64_t u64[] = {0, UINT64_MAX};
    assert_memory_equal(t[4].data, u64, 16);
    int8_t i8[] = {-128, 127};
    assert_memory_equal(t[5].data, i8, 2);
    int16_t i16[] = {-32768, 32767};
    assert_memory_equal(t[6].data, i16, 4);
    int32_t i32[] = {INT32_MIN, INT32_MAX, 2};
    assert_memory_equal(t[7].data, i32, 12);
    int64_t i64[] = {INT64_MIN, INT64_MAX};
    assert_memory_equal(t[8].data, i64, 16);
    float f32[] = {0.1f, -1e38f, 3};
    assert_memory_equal(t[9].data, f32, 12);
    double f64[] = {0.1, 1e300};
    assert_memory_equal(t[10].data, f64, 16);
    assert_int_equal(t[11].dtype, MMSP_DT_BYTES);
    assert_int_equal(t[11].nbytes, 4 + 2 + 4 + 4 + 2);
    assert_memory_equal(t[11].data, "\x02\0\0\0ab\0\0\0\0\x02\0\0\0\xc3\xa9", 16);
    /* Nested BYTES. */
    assert_int_equal(parse_json("{\"inputs\":[{\"name\":\"s\",\"shape\":[2,1],\"datatype\":"
                                "\"BYTES\",\"data\":[[\"x\"],[\"yz\"]]}]}",
                                &r),
                     MMSP_OK);
    assert_int_equal(r.inputs[0].nbytes, 11);
    assert_memory_equal(r.inputs[0].data, "\x01\0\0\0x\x02\0\0\0yz", 11);
}

static void test_value_errors(void **state)
{
    (void)state;
#define IN(dt, data)                                                                               \
    "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"" dt "\",\"data\":[" data "]}]}"
    expect_error(IN("INT32", "1.5"), MMSP_E_DTYPE,
                 "input 'x': element 0 (1.5) is not representable as INT32");
    expect_error(IN("INT32", "2147483648"), MMSP_E_DTYPE, "not representable as INT32");
    expect_error(IN("INT32", "-2147483649"), MMSP_E_DTYPE, "not representable as INT32");
    expect_error(IN("UINT8", "256"), MMSP_E_DTYPE, "not representable as UINT8");
    expect_error(IN("UINT32", "-1"), MMSP_E_DTYPE, "not representable as UINT32");
    expect_error(IN("UINT64", "18446744073709551616"), MMSP_E_DTYPE, "UINT64");
    expect_error(IN("INT64", "9223372036854775808"), MMSP_E_DTYPE, "INT64");
    expect_error(IN("INT8", "-129"), MMSP_E_DTYPE, "INT8");
    expect_error(IN("INT16", "1e5"), MMSP_E_DTYPE, "INT16");
    expect_error(IN("BOOL", "2"), MMSP_E_DTYPE, "not representable as BOOL");
    expect_error(IN("BOOL", "\"true\""), MMSP_E_DTYPE, "is a string, expected a boolean");
    expect_error(IN("FP32", "1e39"), MMSP_E_DTYPE, "not representable as FP32");
    expect_error(IN("FP32", "true"), MMSP_E_DTYPE, "is a boolean, expected a number");
    expect_error(IN("FP64", "null"), MMSP_E_DTYPE, "is a null, expected a number");
    expect_error(IN("INT64", "\"1\""), MMSP_E_DTYPE, "expected a number");
    expect_error(IN("BYTES", "1"), MMSP_E_DTYPE, "expected a string");
    expect_error(IN("FP16", "1"), MMSP_E_DTYPE, "FP16 has no JSON form");
    expect_error(IN("FLOAT", "1"), MMSP_E_DTYPE, "unknown datatype 'FLOAT'");
    expect_error(IN("FP32", "{}"), MMSP_E_DTYPE, "is an object");
#undef IN
}

static void test_shape_errors(void **state)
{
    (void)state;
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
                 "\"data\":[1,2,3,4,5]}]}",
                 MMSP_E_SHAPE, "input 'x': shape [2,3] needs 6 elements, data has 5");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
                 "\"data\":[1,2,3,4,5,6,7]}]}",
                 MMSP_E_SHAPE, "needs 6 elements, data has 7");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
                 "\"data\":[[1,2,3],[4,5]]}]}",
                 MMSP_E_SHAPE, "input 'x': nested data does not match shape [2,3] (dimension 1");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[3,2],\"datatype\":\"FP32\","
                 "\"data\":[[1,2],[3,4]]}]}",
                 MMSP_E_SHAPE, "dimension 0 has 2 entries, expected 3");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,2],\"datatype\":\"FP32\","
                 "\"data\":[[1,2],3]}]}",
                 MMSP_E_SHAPE, "found a number, expected an array of 2");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,1],\"datatype\":\"FP32\","
                 "\"data\":[[[1]],[[2]]]}]}",
                 MMSP_E_SHAPE, "nested deeper than shape [2,1]");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,2],\"datatype\":\"FP32\","
                 "\"data\":[1,2,[3],4]}]}",
                 MMSP_E_SHAPE, "mixes arrays and scalars");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[4],\"datatype\":\"FP32\","
                 "\"data\":[[1,2],[3,4]]}]}",
                 MMSP_E_SHAPE, "needs 4 elements, data has 2");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[-1],\"datatype\":\"FP32\","
                 "\"data\":[1]}]}",
                 MMSP_E_SHAPE, "shape[0] must be a non-negative integer");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1.5],\"datatype\":\"FP32\","
                 "\"data\":[1]}]}",
                 MMSP_E_SHAPE, "shape[0] must be a non-negative integer");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                 "\"datatype\":\"FP32\",\"data\":[1]}]}",
                 MMSP_E_SHAPE, "shape has 9 dims, at most 8");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[4294967296,4294967296,4294967296],"
                 "\"datatype\":\"FP32\",\"data\":[1]}]}",
                 MMSP_E_TOO_LARGE, "has too many elements");
}

/* A small body claiming a huge shape fails before any allocation from the shape. */
static void test_no_allocation_from_claimed_shape(void **state)
{
    (void)state;
    struct v2_request r;
    const char *bodies[] = {
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1000000000000],\"datatype\":\"FP32\","
        "\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[100000,100000],\"datatype\":\"FP32\","
        "\"data\":[[1]]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,1000,1000,1000],\"datatype\":\"INT8\","
        "\"data\":[[[[1]]]]}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct arena small;
        arena_init(&small, 4096, 1 << 30); /* a ceiling that would let a big block through */
        mmsp_err rc = v2_request_parse(&small, bodies[i], strlen(bodies[i]), -1, &r, E, sizeof E);
        assert_int_equal(rc, MMSP_E_SHAPE);
        assert_true(small.used < 16384);
        arena_release(&small);
    }
    /* The same with binary data: binary_data_size is checked against the body first. */
    const char *json = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1000000000000],\"datatype\":"
                       "\"FP32\",\"parameters\":{\"binary_data_size\":4000000000000}}]}";
    struct arena small;
    arena_init(&small, 4096, 1 << 30);
    assert_int_equal(
        v2_request_parse(&small, json, strlen(json), (int64_t)strlen(json), &r, E, sizeof E),
        MMSP_E_INVALID);
    assert_non_null(strstr(E, "exceeds the 0 bytes of binary data left"));
    assert_true(small.used < 16384);
    arena_release(&small);
}

static void test_field_errors(void **state)
{
    (void)state;
    expect_error("", MMSP_E_PARSE, "invalid JSON in request: unexpected end of input at byte 0");
    expect_error("{\"inputs\":[}", MMSP_E_PARSE, "invalid JSON");
    expect_error("[]", MMSP_E_INVALID, "request must be a JSON object, not array");
    expect_error("{}", MMSP_E_INVALID, "'inputs' must be an array");
    expect_error("{\"inputs\":{}}", MMSP_E_INVALID, "'inputs' must be an array");
    expect_error("{\"inputs\":[]}", MMSP_E_INVALID, "'inputs' must not be empty");
    expect_error("{\"inputs\":[1]}", MMSP_E_INVALID, "inputs[0] must be an object");
    expect_error("{\"inputs\":[{\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
                 MMSP_E_INVALID, "inputs[0]: 'name' must be a string");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"data\":[1]}]}", MMSP_E_INVALID,
                 "input 'x': 'datatype' must be a string");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"data\":[1]}]}",
                 MMSP_E_INVALID, "input 'x': 'shape' must be an array");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\"}]}",
                 MMSP_E_INVALID, "input 'x': no 'data' and no binary_data_size");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":1}]}",
                 MMSP_E_INVALID, "input 'x': 'data' must be an array, not number");
    expect_error("{\"id\":5,\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\","
                 "\"data\":[1]}]}",
                 MMSP_E_INVALID, "'id' must be a string");
    expect_error("{\"parameters\":[],\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":"
                 "\"FP32\",\"data\":[1]}]}",
                 MMSP_E_INVALID, "'parameters' must be an object");
    expect_error("{\"parameters\":{\"a\":[1]},\"inputs\":[{\"name\":\"x\",\"shape\":[1],"
                 "\"datatype\":\"FP32\",\"data\":[1]}]}",
                 MMSP_E_INVALID, "parameter 'a' must be a string, number or boolean");
    expect_error("{\"parameters\":{\"binary_data_output\":1},\"inputs\":[{\"name\":\"x\","
                 "\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
                 MMSP_E_INVALID, "'binary_data_output' must be a boolean");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1],"
                 "\"parameters\":{\"n\":null}}]}",
                 MMSP_E_INVALID, "input 'x': parameter 'n' must be a string");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
                 "\"outputs\":{}}",
                 MMSP_E_INVALID, "'outputs' must be an array");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
                 "\"outputs\":[{\"name\":1}]}",
                 MMSP_E_INVALID, "outputs[0]: 'name' must be a string");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
                 "\"outputs\":[{\"name\":\"y\",\"parameters\":{\"binary_data\":\"yes\"}}]}",
                 MMSP_E_INVALID, "output 'y': binary_data must be a boolean");
    expect_error("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\","
                 "\"parameters\":{\"binary_data_size\":4}}]}",
                 MMSP_E_INVALID, "binary_data_size without an Inference-Header-Content-Length");
}

/* protocols.md 1.7: UINT32[2,2] (16 B) + BOOL[3] (3 B) => 19 binary bytes after the JSON. */
static void test_binary_canonical(void **state)
{
    (void)state;
    const char *json =
        "{\"inputs\":[{\"name\":\"input0\",\"shape\":[2,2],\"datatype\":\"UINT32\","
        "\"parameters\":{\"binary_data_size\":16}},{\"name\":\"input1\",\"shape\":"
        "[3],\"datatype\":\"BOOL\",\"parameters\":{\"binary_data_size\":3}}],"
        "\"outputs\":[{\"name\":\"output0\",\"parameters\":{\"binary_data\":true}}]}";
    unsigned char bin[19] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 1};
    size_t jl = strlen(json);
    char body[1024];
    memcpy(body, json, jl);
    memcpy(body + jl, bin, sizeof bin);
    struct v2_request r;
    assert_int_equal(parse_hl(body, jl + 19, (int64_t)jl, &r), MMSP_OK);
    assert_int_equal(r.n_inputs, 2);
    uint32_t u[] = {1, 2, 3, 0xffffffffu};
    assert_int_equal(r.inputs[0].nbytes, 16);
    assert_memory_equal(r.inputs[0].data, u, 16);
    assert_int_equal(r.inputs[1].nbytes, 3);
    assert_memory_equal(r.inputs[1].data, "\1\0\1", 3);
    assert_int_equal(r.outputs[0].binary, 1);

    /* Each way of getting the lengths wrong. */
    assert_int_equal(parse_hl(body, jl + 18, (int64_t)jl, &r), MMSP_E_INVALID);
    assert_non_null(strstr(E, "input 'input1': binary_data_size 3 exceeds the 2 bytes"));
    assert_int_equal(parse_hl(body, jl + 19, (int64_t)jl + 20, &r), MMSP_E_INVALID);
    assert_non_null(strstr(E, "exceeds the body length"));
    assert_int_equal(parse_hl(body, jl + 19, -5, &r), MMSP_E_INVALID);
    assert_int_equal(parse_hl(body, jl + 19, (int64_t)jl - 1, &r), MMSP_E_PARSE);
    memcpy(body + jl + 19, "\0", 1);
    assert_int_equal(parse_hl(body, jl + 20, (int64_t)jl, &r), MMSP_E_INVALID);
    assert_non_null(strstr(E, "1 bytes after the JSON header are not used"));
    body[jl + 18] = 2; /* BOOL must be 0 or 1 */
    assert_int_equal(parse_hl(body, jl + 19, (int64_t)jl, &r), MMSP_E_DTYPE);
    assert_non_null(strstr(E, "input 'input1': BOOL element 2 is 2"));
    /* A size that disagrees with the shape. */
    const char *j2 = "{\"inputs\":[{\"name\":\"a\",\"shape\":[2,2],\"datatype\":\"UINT32\","
                     "\"parameters\":{\"binary_data_size\":15}}]}";
    size_t l2 = strlen(j2);
    memcpy(body, j2, l2);
    memset(body + l2, 0, 15);
    assert_int_equal(parse_hl(body, l2 + 15, (int64_t)l2, &r), MMSP_E_SHAPE);
    assert_non_null(strstr(E, "input 'a': shape [2,2] of UINT32 needs 4 x 4 bytes, "
                              "binary_data_size is 15"));
    /* Both data and binary_data_size. */
    const char *j3 = "{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"UINT8\","
                     "\"data\":[1],\"parameters\":{\"binary_data_size\":1}}]}";
    assert_int_equal(parse_hl(j3, strlen(j3), (int64_t)strlen(j3), &r), MMSP_E_INVALID);
    assert_non_null(strstr(E, "has both 'data' and binary_data_size"));
    /* A header with JSON data only and no binary part is fine. */
    const char *j4 = "{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"UINT8\","
                     "\"data\":[7]}]}";
    assert_int_equal(parse_hl(j4, strlen(j4), (int64_t)strlen(j4), &r), MMSP_OK);
    /* FP16 in binary form is accepted and converts to FP32. */
    const char *j5 = "{\"inputs\":[{\"name\":\"h\",\"shape\":[3],\"datatype\":\"FP16\","
                     "\"parameters\":{\"binary_data_size\":6}}]}";
    size_t l5 = strlen(j5);
    memcpy(body, j5, l5);
    memcpy(body + l5, "\x00\x3c\x00\xc0\x00\x35", 6); /* 1.0, -2.0, 0.3125 */
    assert_int_equal(parse_hl(body, l5 + 6, (int64_t)l5, &r), MMSP_OK);
    mmsp_tensor f;
    assert_int_equal(v2_tensor_convert(&A, &r.inputs[0], MMSP_DT_FP32, &f, E, sizeof E), MMSP_OK);
    float want[] = {1.0f, -2.0f, 0.3125f};
    assert_memory_equal(f.data, want, sizeof want);
    /* BF16 too (the top 16 bits of a float), and neither has a JSON form. */
    const char *j6 = "{\"inputs\":[{\"name\":\"b\",\"shape\":[3],\"datatype\":\"BF16\","
                     "\"parameters\":{\"binary_data_size\":6}}]}";
    size_t l6 = strlen(j6);
    memcpy(body, j6, l6);
    memcpy(body + l6, "\x80\x3f\x00\xc0\xa0\x3e", 6); /* 1.0, -2.0, 0.3125 */
    assert_int_equal(parse_hl(body, l6 + 6, (int64_t)l6, &r), MMSP_OK);
    assert_int_equal(r.inputs[0].dtype, MMSP_DT_BF16);
    assert_int_equal(v2_tensor_convert(&A, &r.inputs[0], MMSP_DT_FP32, &f, E, sizeof E), MMSP_OK);
    assert_memory_equal(f.data, want, sizeof want);
    assert_int_equal(v2_tensor_convert(&A, &f, MMSP_DT_BF16, &f, E, sizeof E), MMSP_E_DTYPE);
    expect_error("{\"inputs\":[{\"name\":\"b\",\"shape\":[1],\"datatype\":\"BF16\","
                 "\"data\":[1]}]}",
                 MMSP_E_DTYPE, "BF16 has no JSON form");
}

static void test_binary_bytes(void **state)
{
    (void)state;
    char body[512];
    struct v2_request r;
    const char *fmt = "{\"inputs\":[{\"name\":\"s\",\"shape\":[2],\"datatype\":\"BYTES\","
                      "\"parameters\":{\"binary_data_size\":%d}}]}";
    int jl = snprintf(body, sizeof body, fmt, 11);
    memcpy(body + jl, "\x03\0\0\0abc\0\0\0\0", 11);
    assert_int_equal(parse_hl(body, (size_t)jl + 11, jl, &r), MMSP_OK);
    assert_int_equal(r.inputs[0].nbytes, 11);
    assert_memory_equal(r.inputs[0].data, "\x03\0\0\0abc\0\0\0\0", 11);
    /* A prefix that runs past binary_data_size. */
    memcpy(body + jl, "\x09\0\0\0abc\0\0\0\0", 11);
    assert_int_equal(parse_hl(body, (size_t)jl + 11, jl, &r), MMSP_E_SHAPE);
    assert_non_null(strstr(E, "input 's': BYTES element 0 of 9 bytes overruns"));
    /* Elements that do not fill binary_data_size exactly. */
    jl = snprintf(body, sizeof body, fmt, 12);
    memcpy(body + jl, "\x03\0\0\0abc\0\0\0\0z", 12);
    assert_int_equal(parse_hl(body, (size_t)jl + 12, jl, &r), MMSP_E_SHAPE);
    assert_non_null(strstr(E, "2 BYTES elements take 11 bytes, binary_data_size is 12"));
    /* Too few bytes for the count of prefixes. */
    jl = snprintf(body, sizeof body, fmt, 6);
    memcpy(body + jl, "\x01\0\0\0ab", 6);
    assert_int_equal(parse_hl(body, (size_t)jl + 6, jl, &r), MMSP_E_SHAPE);
    assert_non_null(strstr(E, "cannot hold them"));
}

static void test_convert(void **state)
{
    (void)state;
    mmsp_tensor out;
    double d[] = {0.5, -1e10, 3.141592653589793};
    mmsp_tensor t = {
        .name = "d", .dtype = MMSP_DT_FP64, .ndim = 1, .shape = {3}, .data = d, .nbytes = sizeof d};
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_FP32, &out, E, sizeof E), MMSP_OK);
    float f[] = {0.5f, -1e10f, (float)3.141592653589793};
    assert_int_equal(out.dtype, MMSP_DT_FP32);
    assert_int_equal(out.nbytes, sizeof f);
    assert_memory_equal(out.data, f, sizeof f);
    assert_string_equal(out.name, "d");
    d[1] = 1e300;
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_FP32, &out, E, sizeof E), MMSP_E_DTYPE);
    assert_non_null(strstr(E, "input 'd': element 1 (1.0000000000000001e+300) is out of range"));

    int32_t i32[] = {-7, 16777217, 0};
    t = (mmsp_tensor){.name = "i",
                      .dtype = MMSP_DT_INT32,
                      .ndim = 2,
                      .shape = {1, 3},
                      .data = i32,
                      .nbytes = sizeof i32};
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_FP32, &out, E, sizeof E), MMSP_OK);
    float fi[] = {-7.0f, 16777216.0f, 0.0f};
    assert_memory_equal(out.data, fi, sizeof fi);
    assert_int_equal(out.ndim, 2);
    assert_int_equal(out.shape[1], 3);

    int64_t i64[] = {INT64_MIN, 9007199254740993LL};
    t = (mmsp_tensor){.name = "l",
                      .dtype = MMSP_DT_INT64,
                      .ndim = 1,
                      .shape = {2},
                      .data = i64,
                      .nbytes = sizeof i64};
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_FP32, &out, E, sizeof E), MMSP_OK);
    float fl[] = {-9223372036854775808.0f, 9007199254740992.0f};
    assert_memory_equal(out.data, fl, sizeof fl);
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_INT32, &out, E, sizeof E), MMSP_E_DTYPE);
    assert_non_null(strstr(E, "element 0 (-9223372036854775808) is not representable as INT32"));

    /* float -> int only when integral. */
    float g[] = {2.0f, -3.0f, 1.5f};
    t = (mmsp_tensor){
        .name = "g", .dtype = MMSP_DT_FP32, .ndim = 1, .shape = {2}, .data = g, .nbytes = sizeof g};
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_INT64, &out, E, sizeof E), MMSP_OK);
    int64_t gi[] = {2, -3};
    assert_memory_equal(out.data, gi, sizeof gi);
    t.shape[0] = 3;
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_INT32, &out, E, sizeof E), MMSP_E_DTYPE);
    assert_non_null(strstr(E, "element 2 (1.5) is not representable as INT32"));
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_UINT8, &out, E, sizeof E), MMSP_E_DTYPE);

    /* Same dtype: no copy. */
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_FP32, &out, E, sizeof E), MMSP_OK);
    assert_ptr_equal(out.data, g);

    /* Small ints among themselves, BOOL. */
    uint8_t u8[] = {0, 1, 200};
    t = (mmsp_tensor){.name = "u",
                      .dtype = MMSP_DT_UINT8,
                      .ndim = 1,
                      .shape = {3},
                      .data = u8,
                      .nbytes = sizeof u8};
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_INT16, &out, E, sizeof E), MMSP_OK);
    int16_t s16[] = {0, 1, 200};
    assert_memory_equal(out.data, s16, sizeof s16);
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_INT8, &out, E, sizeof E), MMSP_E_DTYPE);
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_BOOL, &out, E, sizeof E), MMSP_E_DTYPE);
    t.shape[0] = 2;
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_BOOL, &out, E, sizeof E), MMSP_OK);

    /* BYTES never converts; a shape larger than the data is refused. */
    t.dtype = MMSP_DT_BYTES;
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_FP32, &out, E, sizeof E), MMSP_E_DTYPE);
    t = (mmsp_tensor){.name = "u",
                      .dtype = MMSP_DT_UINT8,
                      .ndim = 1,
                      .shape = {4},
                      .data = u8,
                      .nbytes = sizeof u8};
    assert_int_equal(v2_tensor_convert(&A, &t, MMSP_DT_FP32, &out, E, sizeof E), MMSP_E_SHAPE);
}

static void test_response_json(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    float y[] = {1.0f, 1.1f, 2.0f, 2.1f, 3.0f, 3.1f};
    int64_t l[] = {-5, 7};
    uint8_t bo[] = {1, 0};
    char s[] = "\x02\0\0\0hi\x01\0\0\0\"";
    double d[] = {0.1};
    mmsp_tensor outs[] = {
        {.name = "output0",
         .dtype = MMSP_DT_FP32,
         .ndim = 2,
         .shape = {3, 2},
         .data = y,
         .nbytes = sizeof y},
        {.name = "l",
         .dtype = MMSP_DT_INT64,
         .ndim = 1,
         .shape = {2},
         .data = l,
         .nbytes = sizeof l},
        {.name = "b", .dtype = MMSP_DT_BOOL, .ndim = 1, .shape = {2}, .data = bo, .nbytes = 2},
        {.name = "s", .dtype = MMSP_DT_BYTES, .ndim = 1, .shape = {2}, .data = s, .nbytes = 11},
        {.name = "d", .dtype = MMSP_DT_FP64, .ndim = 0, .data = d, .nbytes = 8},
    };
    size_t jl = 0;
    assert_int_equal(v2_response_write(&b, &jl, "m", "2", "req-1", outs, NULL, 5), MMSP_OK);
    assert_string_equal(
        b.data,
        "{\"model_name\":\"m\",\"model_version\":\"2\",\"id\":\"req-1\",\"outputs\":["
        "{\"name\":\"output0\",\"datatype\":\"FP32\",\"shape\":[3,2],\"data\":[1,1.1,2,2.1,3,3.1]},"
        "{\"name\":\"l\",\"datatype\":\"INT64\",\"shape\":[2],\"data\":[-5,7]},"
        "{\"name\":\"b\",\"datatype\":\"BOOL\",\"shape\":[2],\"data\":[true,false]},"
        "{\"name\":\"s\",\"datatype\":\"BYTES\",\"shape\":[2],\"data\":[\"hi\",\"\\\"\"]},"
        "{\"name\":\"d\",\"datatype\":\"FP64\",\"shape\":[],\"data\":[0.1]}]}");
    assert_int_equal(jl, b.len);
    /* The response parses back as a request-like document with the same values. */
    struct json_value v;
    assert_int_equal(json_parse(&A, b.data, b.len, &v, E, sizeof E), MMSP_OK);
    /* Without version and id. */
    buf_reset(&b);
    assert_int_equal(v2_response_write(&b, &jl, "m", NULL, NULL, outs + 1, NULL, 1), MMSP_OK);
    assert_string_equal(b.data, "{\"model_name\":\"m\",\"outputs\":[{\"name\":\"l\",\"datatype\":"
                                "\"INT64\",\"shape\":[2],\"data\":[-5,7]}]}");
    /* A tensor whose data is shorter than its shape is refused and nothing is left behind. */
    buf_reset(&b);
    buf_append_str(&b, "keep");
    mmsp_tensor bad = outs[0];
    bad.nbytes = 20;
    assert_int_equal(v2_response_write(&b, &jl, "m", NULL, NULL, &bad, NULL, 1), MMSP_E_INVALID);
    assert_string_equal(b.data, "keep");
    /* The buffer's ceiling. */
    struct buf small;
    buf_init(&small, 32);
    assert_int_equal(v2_response_write(&small, &jl, "m", NULL, NULL, outs, NULL, 1),
                     MMSP_E_TOO_LARGE);
    buf_release(&small);
    buf_release(&b);
}

/* protocols.md 1.7: FP32[3,2] returns binary_data_size 24 plus 24 trailing bytes. */
static void test_response_binary(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    float y[] = {1.0f, 1.1f, 2.0f, 2.1f, 3.0f, 3.1f};
    char s[] = "\x02\0\0\0hi";
    mmsp_tensor outs[] = {
        {.name = "output0",
         .dtype = MMSP_DT_FP32,
         .ndim = 2,
         .shape = {3, 2},
         .data = y,
         .nbytes = sizeof y},
        {.name = "s", .dtype = MMSP_DT_BYTES, .ndim = 1, .shape = {1}, .data = s, .nbytes = 6},
        {.name = "j", .dtype = MMSP_DT_FP32, .ndim = 1, .shape = {1}, .data = y, .nbytes = 4},
    };
    int binary[] = {1, 1, 0};
    size_t jl = 0;
    assert_int_equal(v2_response_write(&b, &jl, "m", NULL, "7", outs, binary, 3), MMSP_OK);
    const char *json = "{\"model_name\":\"m\",\"id\":\"7\",\"outputs\":["
                       "{\"name\":\"output0\",\"datatype\":\"FP32\",\"shape\":[3,2],\"parameters\":"
                       "{\"binary_data_size\":24}},"
                       "{\"name\":\"s\",\"datatype\":\"BYTES\",\"shape\":[1],\"parameters\":"
                       "{\"binary_data_size\":6}},"
                       "{\"name\":\"j\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}";
    assert_int_equal(jl, strlen(json));
    assert_memory_equal(b.data, json, jl);
    assert_int_equal(b.len, jl + 24 + 6);
    assert_memory_equal(b.data + jl, y, 24);
    assert_memory_equal(b.data + jl + 24, s, 6);
    /* And it reads back through the request parser as binary inputs. */
    buf_reset(&b);
    assert_int_equal(v2_response_write(&b, &jl, "m", NULL, NULL, outs, binary, 2), MMSP_OK);
    struct buf req;
    buf_init(&req, 1 << 20);
    struct json_value v;
    assert_int_equal(json_parse(&A, b.data, jl, &v, E, sizeof E), MMSP_OK);
    const struct json_value *o = json_get(&v, "outputs");
    assert_non_null(o);
    assert_int_equal(o->len, 2);
    assert_int_equal(json_get(json_get(&o->u.items[0], "parameters"), "binary_data_size")->u.num.i,
                     24);
    buf_release(&req);
    buf_release(&b);
}

static void test_v1_and_simple(void **state)
{
    (void)state;
    mmsp_tensor t;
    const char *v1 = "{\"instances\":[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]}";
    assert_int_equal(v1_request_parse(&A, v1, strlen(v1), &t, E, sizeof E), MMSP_OK);
    float want[] = {6.8f, 2.8f, 4.8f, 1.4f, 6.0f, 3.4f, 4.5f, 1.6f};
    assert_int_equal(t.dtype, MMSP_DT_FP32);
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.shape[0], 2);
    assert_int_equal(t.shape[1], 4);
    assert_memory_equal(t.data, want, sizeof want);
    const char *v1b = "{\"inputs\":[1,2,3]}";
    assert_int_equal(v1_request_parse(&A, v1b, strlen(v1b), &t, E, sizeof E), MMSP_OK);
    assert_int_equal(t.shape[0], 3);
    assert_int_equal(t.shape[1], 1);
    const char *bad[][2] = {
        {"{\"instances\":[[1,2],[3]]}", "'instances'[1] has 1 values, 'instances'[0] has 2"},
        {"{\"instances\":[[1,\"a\"]]}", "'instances'[0][1] is string, expected a number"},
        {"{\"instances\":[[1],2]}", "'instances'[1] is number, expected an array"},
        {"{\"instances\":[]}", "'instances' must not be empty"},
        {"{\"instances\":{}}", "'instances' must be an array"},
        {"{\"rows\":[]}", "request needs 'instances' or 'inputs'"},
        {"{\"instances\":[[1e39]]}", "out of range for FP32"},
        {"[1]", "request must be a JSON object"},
        {"{\"instances\":[1,]}", "invalid JSON in request"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mmsp_err rc = v1_request_parse(&A, bad[i][0], strlen(bad[i][0]), &t, E, sizeof E);
        if (rc == MMSP_OK || !strstr(E, bad[i][1]))
            fail_msg("%s: got '%s'", bad[i][0], E);
    }

    const char *id = NULL;
    const char *s1 = "{\"id\":\"abc\",\"features\":[0.5,1,2]}";
    assert_int_equal(simple_request_parse(&A, s1, strlen(s1), &t, &id, E, sizeof E), MMSP_OK);
    assert_string_equal(id, "abc");
    assert_int_equal(t.shape[0], 1);
    assert_int_equal(t.shape[1], 3);
    float w1[] = {0.5f, 1, 2};
    assert_memory_equal(t.data, w1, sizeof w1);
    const char *s2 = "{\"features\":[[1,2],[3,4]]}";
    assert_int_equal(simple_request_parse(&A, s2, strlen(s2), &t, &id, E, sizeof E), MMSP_OK);
    assert_null(id);
    assert_int_equal(t.shape[0], 2);
    assert_int_equal(t.shape[1], 2);
    const char *s3 = "{\"instances\":[[1,2,3]]}";
    assert_int_equal(simple_request_parse(&A, s3, strlen(s3), &t, &id, E, sizeof E), MMSP_OK);
    assert_int_equal(t.shape[0], 1);
    assert_int_equal(t.shape[1], 3);
    const char *s4 = "{\"instances\":[1,2,3]}";
    assert_int_equal(simple_request_parse(&A, s4, strlen(s4), &t, &id, E, sizeof E), MMSP_E_SHAPE);
    const char *s5 = "{\"id\":1,\"features\":[1]}";
    assert_int_equal(simple_request_parse(&A, s5, strlen(s5), &t, &id, E, sizeof E),
                     MMSP_E_INVALID);
    assert_non_null(strstr(E, "'id' must be a string"));
    const char *s6 = "{\"features\":[1,[2]]}";
    assert_int_equal(simple_request_parse(&A, s6, strlen(s6), &t, &id, E, sizeof E), MMSP_E_DTYPE);
    assert_non_null(strstr(E, "'features'[1] is array, expected a number"));
    const char *s7 = "{\"x\":1}";
    assert_int_equal(simple_request_parse(&A, s7, strlen(s7), &t, &id, E, sizeof E),
                     MMSP_E_INVALID);
    assert_non_null(strstr(E, "request needs 'features' or 'instances'"));
}

/* ---- the fast path (v2_request_parse_fast) against the general parser ---- */

/* Parses `body` both ways: the fast path must `want_fast` (1 = take it, 0 = decline, leaving
 * the arena as it was), and when it takes it, the result must equal the general parser's
 * (reached with Inference-Header-Content-Length = the whole body, which skips the fast path). */
static void check_fast(const char *body, int want_fast)
{
    size_t len = strlen(body);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);
    struct arena fa, ga;
    arena_init(&fa, 4096, 16 << 20);
    arena_init(&ga, 4096, 16 << 20);
    struct v2_request f, g;
    int took = v2_request_parse_fast(&fa, copy, len, &f);
    if (took != want_fast)
        fail_msg("fast path %s: %s", took ? "took" : "declined", body);
    if (!took) {
        assert_int_equal(fa.used, 0);
        assert_int_equal(f.n_inputs, 0);
    } else {
        mmsp_err rc = v2_request_parse(&ga, copy, len, (int64_t)len, &g, E, sizeof E);
        if (rc)
            fail_msg("fast path took a body the general parser refuses (%s): %s", E, body);
        assert_int_equal(f.n_inputs, g.n_inputs);
        assert_true((f.id == NULL) == (g.id == NULL));
        if (f.id)
            assert_string_equal(f.id, g.id);
        assert_null(f.params);
        assert_null(f.outputs);
        for (size_t i = 0; i < f.n_inputs; i++) {
            const mmsp_tensor *x = &f.inputs[i], *y = &g.inputs[i];
            assert_string_equal(x->name, y->name);
            assert_int_equal(x->dtype, y->dtype);
            assert_int_equal(x->ndim, y->ndim);
            assert_memory_equal(x->shape, y->shape, sizeof x->shape[0] * (size_t)x->ndim);
            assert_int_equal(x->nbytes, y->nbytes);
            if (x->nbytes && memcmp(x->data, y->data, x->nbytes))
                fail_msg("input %zu: data differs from the general parser's: %s", i, body);
        }
    }
    arena_release(&fa);
    arena_release(&ga);
    free(copy);
}

static void test_fast_path(void **state)
{
    (void)state;
    const char *taken[] = {
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,-2.5,"
        "3e-2]}]}",
        " {\n \"id\" : \"r-1\" , \"inputs\" : [ { \"datatype\" : \"FP64\" , \"shape\" : [ 2 ] ,"
        " \"data\" : [ 0.1 , -0 ] , \"name\" : \"a b\" } ] } \n",
        "{\"inputs\":[{\"name\":\"i\",\"shape\":[2],\"datatype\":\"INT32\",\"data\":"
        "[-2147483648,2147483647]},{\"name\":\"j\",\"shape\":[1],\"datatype\":\"INT64\","
        "\"data\":[-9223372036854775808]}],\"id\":\"\"}",
        "{\"inputs\":[{\"name\":\"z\",\"shape\":[0,3],\"datatype\":\"FP32\",\"data\":[]}]}",
        "{\"inputs\":[{\"name\":\"s\",\"shape\":[],\"datatype\":\"FP64\",\"data\":[1e400]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":"
        "[0.1000000000000000055511151231257827021181583404541015625]}]}",
    };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        check_fast(taken[i], 1);
    const char *declined[] = {
        "",
        "[]",
        "{}",
        "{\"inputs\":[]}",
        "{\"inputs\":[{}]}",
        /* other keys, parameters, outputs, duplicates */
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
        "\"outputs\":[{\"name\":\"y\"}]}",
        "{\"parameters\":{},\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\","
        "\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"parameters\":{},"
        "\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"name\":\"y\",\"shape\":[1],\"datatype\":\"FP32\","
        "\"data\":[1]}]}",
        "{\"id\":\"a\",\"id\":\"b\",\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":"
        "\"FP32\",\"data\":[1]}]}",
        /* data before the shape, nested data, escapes and non-ASCII, other datatypes */
        "{\"inputs\":[{\"name\":\"x\",\"data\":[1],\"shape\":[1],\"datatype\":\"FP32\"}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,1],\"datatype\":\"FP32\",\"data\":[[1]]}]}",
        "{\"inputs\":[{\"name\":\"x\\u0041\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"\xc3\xa9\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"UINT8\",\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"a\"]}]}",
        /* values the datatype does not hold, counts that disagree, bad syntax */
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1e39]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[1.5]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":"
        "[2147483648]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":"
        "[9223372036854775808]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1,2]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1000000000000],\"datatype\":\"FP32\","
        "\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[-1],\"datatype\":\"FP32\",\"data\":[1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[01]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1.]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[NaN]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]} x",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        check_fast(declined[i], 0);
    /* The arena is rewound to where it was, with earlier allocations intact. */
    char *before = arena_strndup(&A, "before", 6);
    size_t used = A.used;
    struct v2_request r;
    const char *big = "{\"inputs\":[{\"name\":\"x\",\"shape\":[3],\"datatype\":\"FP32\","
                      "\"data\":[1,2,3]}],\"outputs\":[]}";
    assert_int_equal(v2_request_parse_fast(&A, big, strlen(big), &r), 0);
    assert_int_equal(A.used, used);
    assert_string_equal(before, "before");
}

/* Random bodies: numbers in every spelling (integers, fractions, exponents, 1 to 25 digits,
 * signs, values past FP32's range), random white space, the four datatypes; whenever the fast
 * path takes one, its tensors must equal the general parser's bit for bit. */
static void test_fast_path_random(void **state)
{
    (void)state;
    static const char *dts[] = {"FP32", "FP64", "INT32", "INT64"};
    static const char *ws[] = {"", "", "", " ", "\n", " \t"};
    uint64_t seed = 0x9E3779B97F4A7C15ull;
#define RND() test_xorshift64(&seed)
    char *body = malloc(1 << 16);
    assert_non_null(body);
    int took = 0;
    for (int iter = 0; iter < 3000; iter++) {
        const char *dt = dts[RND() % 4];
        int n = (int)(RND() % 40);
        size_t o = 0;
#define W() (o += (size_t)sprintf(body + o, "%s", ws[RND() % 6]))
        o += (size_t)sprintf(body + o, "{");
        W();
        if (RND() % 2)
            o += (size_t)sprintf(body + o, "\"id\":\"q%d\",", iter);
        o += (size_t)sprintf(body + o, "\"inputs\":[{\"name\":\"in\",");
        W();
        o += (size_t)sprintf(body + o, "\"shape\":[1,%d],\"datatype\":\"%s\",\"data\":[", n, dt);
        for (int i = 0; i < n; i++) {
            if (i)
                body[o++] = ',';
            W();
            if (RND() % 3 == 0)
                body[o++] = '-';
            int digits = 1 + (int)(RND() % 25);
            body[o++] = (char)('1' + RND() % 9);
            int frac = (int)(RND() % 3) == 0 && strcmp(dt, "INT32") && strcmp(dt, "INT64");
            for (int d = 1; d < digits; d++) {
                if (frac && d == 1 + (int)(RND() % (unsigned)digits)) {
                    body[o++] = '.';
                    frac = 0;
                }
                body[o++] = (char)('0' + RND() % 10);
            }
            if (RND() % 4 == 0)
                o += (size_t)sprintf(body + o, "e%s%d", RND() % 2 ? "-" : "", (int)(RND() % 60));
        }
        o += (size_t)sprintf(body + o, "]}]}");
        body[o] = '\0';
        struct arena fa;
        arena_init(&fa, 4096, 16 << 20);
        struct v2_request f;
        int t = v2_request_parse_fast(&fa, body, o, &f);
        arena_release(&fa);
        took += t;
        check_fast(body, t);
    }
    assert_true(took > 600); /* the fast path is not declining everything */
    free(body);
#undef W
#undef RND
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flat_and_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_params_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_datatype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shape_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_allocation_from_claimed_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_canonical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_convert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_and_simple, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast_path_random, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
