/*
 * Unit tests for src/common: the error table, dtypes and shapes, the bounded buffer, the
 * arena's ceiling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/buf.h"
#include "mmsp/mmsp.h"

static void test_error_table(void **state)
{
    (void)state;
    assert_int_equal(MMSP_OK, 0);
    assert_true(MMSP_E_NOMEM < 0);
    assert_string_equal(mmsp_err_name(MMSP_E_NOT_FOUND), "NOT_FOUND");
    assert_string_equal(mmsp_strerror(MMSP_E_NOT_FOUND), "not found");
    assert_string_equal(mmsp_err_name((mmsp_err)-1000), "UNKNOWN");
    assert_string_equal(mmsp_strerror((mmsp_err)5), "unknown error");
}

static void test_dtypes(void **state)
{
    (void)state;
    mmsp_dtype t;
    assert_int_equal(mmsp_dtype_parse("FP32", 4, &t), MMSP_OK);
    assert_int_equal(t, MMSP_DT_FP32);
    assert_int_equal(mmsp_dtype_size(t), 4);
    assert_int_equal(mmsp_dtype_parse("TYPE_INT64", 10, &t), MMSP_OK);
    assert_int_equal(t, MMSP_DT_INT64);
    assert_int_equal(mmsp_dtype_parse("TYPE_STRING", 11, &t), MMSP_OK);
    assert_int_equal(t, MMSP_DT_BYTES);
    assert_int_equal(mmsp_dtype_parse("FP3", 3, &t), MMSP_E_INVALID);
    assert_int_equal(mmsp_dtype_parse("FLOAT", 5, &t), MMSP_E_INVALID);
    assert_string_equal(mmsp_dtype_name(MMSP_DT_BOOL), "BOOL");
    assert_null(mmsp_dtype_name(MMSP_DT_COUNT));
}

static void test_shapes(void **state)
{
    (void)state;
    int64_t n;
    int64_t s1[] = {2, 3, 4};
    assert_int_equal(mmsp_shape_elements(s1, 3, &n), MMSP_OK);
    assert_int_equal(n, 24);
    int64_t s2[] = {INT64_MAX / 2, 3};
    assert_int_equal(mmsp_shape_elements(s2, 2, &n), MMSP_E_TOO_LARGE);
    int64_t s3[] = {2, -1};
    assert_int_equal(mmsp_shape_elements(s3, 2, &n), MMSP_E_SHAPE);
    assert_int_equal(mmsp_shape_elements(s1, 0, &n), MMSP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(mmsp_shape_elements(s1, MMSP_MAX_DIMS + 1, &n), MMSP_E_SHAPE);
}

static void test_buf_ceiling(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append_str(&b, "hello"), MMSP_OK);
    assert_int_equal(buf_printf(&b, "%d", 12345), MMSP_OK);
    assert_string_equal(b.data, "hello12345");
    assert_int_equal(buf_append_char(&b, 'x'), MMSP_E_TOO_LARGE);
    assert_int_equal(b.len, 10);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_printf(&b, "%0300d", 1), MMSP_E_TOO_LARGE);
    buf_release(&b);

    buf_init(&b, 1 << 20);
    assert_int_equal(buf_printf(&b, "%0300d", 7), MMSP_OK);
    assert_int_equal(b.len, 300);
    assert_int_equal(b.data[299], '7');
    buf_release(&b);
}

static void test_arena(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1024, 4096);
    char *p = arena_alloc(&a, 100);
    assert_non_null(p);
    assert_int_equal(((uintptr_t)p) % 16, 0);
    memset(p, 1, 100);
    assert_non_null(arena_alloc(&a, 2000)); /* big block in its own chunk */
    assert_null(arena_alloc(&a, 4096));     /* over the ceiling */
    assert_null(arena_calloc(&a, SIZE_MAX / 2, 4));
    char *s = arena_strndup(&a, "abcdef", 3);
    assert_string_equal(s, "abc");
    arena_reset(&a);
    assert_int_equal(a.used, 0);
    assert_non_null(arena_alloc(&a, 4000));
    arena_release(&a);
}

/* arena_rewind gives back everything after the mark: small blocks in the head chunk, new
 * chunks, and a big one-off linked behind the head; what came before stays intact. */
static void test_arena_rewind(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1024, 1 << 20);
    char *keep = arena_strndup(&a, "kept", 4);
    assert_non_null(keep);
    size_t used = a.used;
    struct arena_mark m;
    arena_mark(&a, &m);
    for (int i = 0; i < 40; i++) /* several new chunks */
        assert_non_null(arena_alloc(&a, 100));
    assert_non_null(arena_alloc(&a, 5000)); /* one-off behind the head */
    assert_true(a.used > used + 4000);
    arena_rewind(&a, &m);
    assert_int_equal(a.used, used);
    assert_ptr_equal(a.head, m.head);
    assert_string_equal(keep, "kept");
    /* the next allocation continues right after the kept one, in the same chunk */
    char *next = arena_alloc(&a, 16);
    assert_ptr_equal(next, keep + 16);
    /* a mark on an empty arena rewinds to empty */
    struct arena b;
    arena_init(&b, 256, 1 << 20);
    arena_mark(&b, &m);
    assert_non_null(arena_alloc(&b, 3000));
    assert_non_null(arena_alloc(&b, 10));
    arena_rewind(&b, &m);
    assert_null(b.head);
    assert_int_equal(b.used, 0);
    arena_release(&b);
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_table), cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_shapes),      cmocka_unit_test(test_buf_ceiling),
        cmocka_unit_test(test_arena),       cmocka_unit_test(test_arena_rewind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
