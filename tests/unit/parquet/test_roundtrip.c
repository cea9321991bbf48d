/*
 * Unit tests for src/parquet: files written by our writer read back by our reader, for every
 * column type x nulls x codec x page version x dictionary, over several row groups and pages;
 * statistics; the append helpers; the temporary-file-then-rename contract; writer misuse.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "parquet/parquet.h"

#define ROWS 2500

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mmsp-pq-unit.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *const words[] = {"alpha", "beta", "", "gamma delta", "ε-unicode", "z"};

/* Row i of column type t is null (when the column is nullable). */
static bool is_null(size_t i, enum parquet_type t)
{
    return (i * 7 + (size_t)t) % 5 == 0;
}

/* Fills c with ROWS rows of type t (nulls when nullable), using the append helpers. */
static void fill(struct parquet_column *c, enum parquet_type t, bool nullable, bool unique_strings)
{
    parquet_column_init(c, t);
    for (size_t i = 0; i < ROWS; i++) {
        if (nullable && is_null(i, t)) {
            assert_int_equal(parquet_column_append_null(c), MMSP_OK);
            continue;
        }
        mmsp_err rc = MMSP_OK;
        switch (t) {
        case PARQUET_BOOL:
            rc = parquet_column_append_bool(c, i % 3 == 0);
            break;
        case PARQUET_INT32:
            rc = parquet_column_append_i32(c, (int32_t)(i * 2654435761u));
            break;
        case PARQUET_INT64:
            rc = parquet_column_append_i64(c, (int64_t)i * -1000000007LL + 42);
            break;
        case PARQUET_FLOAT:
            rc = parquet_column_append_float(c, (float)i / 3.0f - 100.0f);
            break;
        case PARQUET_DOUBLE:
            rc = parquet_column_append_double(c, sin((double)i) * 1e6);
            break;
        case PARQUET_STRING: {
            char s[64];
            if (unique_strings) {
                snprintf(s, sizeof s, "row-%zu-%s", i, words[i % 6]);
                rc = parquet_column_append_string(c, s, strlen(s));
            } else {
                rc = parquet_column_append_string(c, words[i % 6], strlen(words[i % 6]));
            }
            break;
        }
        case PARQUET_TIMESTAMP_MS:
            rc = parquet_column_append_i64(c, 1700000000000LL + (int64_t)i * 1000);
            break;
        case PARQUET_TIMESTAMP_US:
            rc = parquet_column_append_i64(c, 1700000000000000LL + (int64_t)i * 17);
            break;
        default:
            fail();
        }
        assert_int_equal(rc, MMSP_OK);
    }
    assert_int_equal(c->rows, ROWS);
}

/* a (expected, rows [from, from + n)) equals b (read). */
static void assert_same(const struct parquet_column *a, size_t from, const struct parquet_column *b,
                        size_t n)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(b->rows, n);
    for (size_t i = 0; i < n; i++) {
        size_t k = from + i;
        bool na = parquet_column_is_null(a, k), nb = parquet_column_is_null(b, i);
        if (na != nb)
            fail_msg("row %zu: null %d vs %d (%s)", k, na, nb, parquet_type_name(a->type));
        if (na)
            continue;
        if (a->type == PARQUET_STRING) {
            uint64_t la = a->offsets[k + 1] - a->offsets[k], lb = b->offsets[i + 1] - b->offsets[i];
            assert_int_equal(la, lb);
            assert_memory_equal(a->data + a->offsets[k], b->data + b->offsets[i], la);
        } else {
            size_t es = parquet_type_size(a->type);
            assert_memory_equal((const char *)a->values + k * es, (const char *)b->values + i * es,
                                es);
        }
    }
}

static void roundtrip(enum parquet_codec codec, int page_version, bool dict, bool nullable,
                      bool unique_strings)
{
    char path[400], err[MMSP_ERRMSG_MAX];
    snprintf(path, sizeof path, "%s/rt-%d-%d-%d-%d-%d.parquet", tmpdir, (int)codec, page_version,
             dict, nullable, unique_strings);
    struct parquet_field fields[PARQUET_TYPE_COUNT];
    struct parquet_column cols[PARQUET_TYPE_COUNT];
    for (int t = 0; t < PARQUET_TYPE_COUNT; t++) {
        memset(&fields[t], 0, sizeof fields[t]);
        snprintf(fields[t].name, sizeof fields[t].name, "c_%s", parquet_type_name(t));
        fields[t].type = (enum parquet_type)t;
        fields[t].nullable = nullable;
        fill(&cols[t], (enum parquet_type)t, nullable, unique_strings);
    }
    struct parquet_schema schema = {PARQUET_TYPE_COUNT, fields};
    struct parquet_writer_options o;
    parquet_writer_options_default(&o);
    o.codec = codec;
    o.page_version = page_version;
    o.dictionary = dict;
    o.row_group_rows = 1000;
    o.page_rows = 300;
    struct parquet_writer *w;
    assert_int_equal(parquet_writer_open(path, &schema, &o, &w, err, sizeof err), MMSP_OK);
    /* in two batches that do not line up with the row groups */
    assert_int_equal(parquet_writer_write(w, cols, PARQUET_TYPE_COUNT, 700, err, sizeof err),
                     MMSP_OK);
    struct parquet_column rest[PARQUET_TYPE_COUNT];
    for (int t = 0; t < PARQUET_TYPE_COUNT; t++) {
        rest[t] = cols[t];
        rest[t].rows = ROWS - 700;
        if (t == PARQUET_STRING) {
            rest[t].offsets = cols[t].offsets + 700; /* offsets need not start at 0 */
        } else {
            rest[t].values = (char *)cols[t].values + 700 * parquet_type_size((enum parquet_type)t);
        }
        if (cols[t].valid)
            rest[t].valid = cols[t].valid + 700;
    }
    assert_int_equal(parquet_writer_write(w, rest, PARQUET_TYPE_COUNT, ROWS - 700, err, sizeof err),
                     MMSP_OK);
    assert_int_equal(parquet_writer_rows(w), ROWS);
    assert_int_equal(access(path, F_OK), -1); /* not visible before close */
    if (parquet_writer_close(w, err, sizeof err) != MMSP_OK)
        fail_msg("close: %s", err);
    assert_int_equal(access(path, F_OK), 0);

    struct parquet_reader *r;
    if (parquet_open(path, &r, err, sizeof err) != MMSP_OK)
        fail_msg("open: %s", err);
    assert_int_equal(parquet_reader_rows(r), ROWS);
    assert_int_equal(parquet_reader_row_groups(r), 3);
    assert_int_equal(parquet_reader_row_group_rows(r, 2), 500);
    const struct parquet_schema *s = parquet_reader_schema(r);
    assert_int_equal(s->ncols, PARQUET_TYPE_COUNT);
    for (int t = 0; t < PARQUET_TYPE_COUNT; t++) {
        assert_string_equal(s->fields[t].name, fields[t].name);
        assert_int_equal(s->fields[t].type, t);
        assert_int_equal(s->fields[t].nullable, nullable);
        assert_int_equal(parquet_reader_column_index(r, fields[t].name), t);
        struct parquet_column got;
        if (parquet_read_column_all(r, (size_t)t, &got, err, sizeof err) != MMSP_OK)
            fail_msg("read %s: %s", fields[t].name, err);
        assert_same(&cols[t], 0, &got, ROWS);
        parquet_column_free(&got);
        if (parquet_read_column(r, 1, (size_t)t, &got, err, sizeof err) != MMSP_OK)
            fail_msg("read rg 1 %s: %s", fields[t].name, err);
        assert_same(&cols[t], 1000, &got, 1000);
        parquet_column_free(&got);

        /* statistics of row group 0 against the values */
        struct parquet_stats st;
        assert_int_equal(parquet_reader_stats(r, 0, (size_t)t, &st), MMSP_OK);
        assert_true(st.has_null_count);
        int64_t nulls = 0;
        for (size_t i = 0; i < 1000; i++)
            nulls += parquet_column_is_null(&cols[t], i);
        assert_int_equal(st.null_count, nulls);
        assert_true(st.has_min_max);
        if (t == PARQUET_INT64) {
            int64_t mn = INT64_MAX, mx = INT64_MIN;
            for (size_t i = 0; i < 1000; i++)
                if (!parquet_column_is_null(&cols[t], i)) {
                    int64_t v = ((int64_t *)cols[t].values)[i];
                    mn = v < mn ? v : mn;
                    mx = v > mx ? v : mx;
                }
            assert_int_equal(st.min_i, mn);
            assert_int_equal(st.max_i, mx);
        } else if (t == PARQUET_FLOAT) {
            assert_true(st.min_d <= -99.0 && st.max_d > 200.0);
        } else if (t == PARQUET_STRING && !unique_strings) {
            assert_int_equal(st.min_len, 0); /* "" */
            assert_memory_equal(st.max_s, "ε-unicode", st.max_len);
        }
    }
    struct parquet_column bad;
    assert_int_equal(parquet_read_column(r, 3, 0, &bad, err, sizeof err), MMSP_E_INVALID);
    assert_int_equal(parquet_read_column_all(r, PARQUET_TYPE_COUNT, &bad, err, sizeof err),
                     MMSP_E_INVALID);
    parquet_close(r);
    for (int t = 0; t < PARQUET_TYPE_COUNT; t++)
        parquet_column_free(&cols[t]);
}

static void test_matrix(void **state)
{
    (void)state;
    enum parquet_codec codecs[] = {PARQUET_CODEC_NONE, PARQUET_CODEC_SNAPPY, PARQUET_CODEC_ZSTD,
                                   PARQUET_CODEC_GZIP};
    for (size_t c = 0; c < 4; c++)
        for (int v = 1; v <= 2; v++)
            for (int d = 0; d < 2; d++)
                for (int n = 0; n < 2; n++)
                    roundtrip(codecs[c], v, d, n, false);
}

static void test_unique_strings(void **state)
{
    (void)state;
    roundtrip(PARQUET_CODEC_SNAPPY, 1, true, true, true);
    roundtrip(PARQUET_CODEC_ZSTD, 2, true, false, true);
}

/* A string dictionary past its size limit falls back to PLAIN and still reads back. */
static void test_dictionary_fallback(void **state)
{
    (void)state;
    char path[400], err[MMSP_ERRMSG_MAX];
    snprintf(path, sizeof path, "%s/big.parquet", tmpdir);
    struct parquet_field f = {.name = "s", .type = PARQUET_STRING, .nullable = false};
    struct parquet_schema schema = {1, &f};
    struct parquet_column c;
    parquet_column_init(&c, PARQUET_STRING);
    char s[2000];
    for (size_t i = 0; i < 1500; i++) {
        memset(s, 'a' + (int)(i % 26), sizeof s);
        snprintf(s, 16, "%zu", i);
        assert_int_equal(parquet_column_append_string(&c, s, sizeof s), MMSP_OK);
    }
    struct parquet_writer *w;
    assert_int_equal(parquet_writer_open(path, &schema, NULL, &w, err, sizeof err), MMSP_OK);
    assert_int_equal(parquet_writer_write(w, &c, 1, c.rows, err, sizeof err), MMSP_OK);
    assert_int_equal(parquet_writer_close(w, err, sizeof err), MMSP_OK);
    struct parquet_reader *r;
    assert_int_equal(parquet_open(path, &r, err, sizeof err), MMSP_OK);
    struct parquet_column got;
    assert_int_equal(parquet_read_column_all(r, 0, &got, err, sizeof err), MMSP_OK);
    assert_same(&c, 0, &got, c.rows);
    parquet_column_free(&got);
    parquet_close(r);
    parquet_column_free(&c);
}

static void test_empty_and_misuse(void **state)
{
    (void)state;
    char path[400], err[MMSP_ERRMSG_MAX];
    snprintf(path, sizeof path, "%s/empty.parquet", tmpdir);
    struct parquet_field f[2] = {{.name = "a", .type = PARQUET_INT64, .nullable = false},
                                 {.name = "b", .type = PARQUET_DOUBLE, .nullable = true}};
    struct parquet_schema schema = {2, f};
    struct parquet_writer *w;
    assert_int_equal(parquet_writer_open(path, &schema, NULL, &w, err, sizeof err), MMSP_OK);
    struct parquet_column cols[2];
    parquet_column_init(&cols[0], PARQUET_INT64);
    parquet_column_init(&cols[1], PARQUET_DOUBLE);
    assert_int_equal(parquet_column_append_null(&cols[0]), MMSP_OK);
    assert_int_equal(parquet_column_append_double(&cols[1], 1.5), MMSP_OK);
    /* a null in a required column, a wrong column count, a wrong type */
    assert_int_equal(parquet_writer_write(w, cols, 2, 1, err, sizeof err), MMSP_E_INVALID);
    assert_non_null(strstr(err, "not nullable"));
    assert_int_equal(parquet_writer_write(w, cols, 1, 1, err, sizeof err), MMSP_E_INVALID);
    assert_int_equal(parquet_column_append_i32(&cols[0], 1), MMSP_E_INVALID);
    assert_int_equal(parquet_writer_close(w, err, sizeof err), MMSP_OK);
    struct parquet_reader *r;
    assert_int_equal(parquet_open(path, &r, err, sizeof err), MMSP_OK);
    assert_int_equal(parquet_reader_rows(r), 0);
    assert_int_equal(parquet_reader_row_groups(r), 0);
    struct parquet_column got;
    assert_int_equal(parquet_read_column_all(r, 1, &got, err, sizeof err), MMSP_OK);
    assert_int_equal(got.rows, 0);
    parquet_column_free(&got);
    parquet_close(r);

    /* abort leaves nothing behind */
    char abort_path[420], tmp[430];
    snprintf(abort_path, sizeof abort_path, "%s/aborted.parquet", tmpdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", abort_path);
    assert_int_equal(parquet_writer_open(abort_path, &schema, NULL, &w, err, sizeof err), MMSP_OK);
    assert_int_equal(access(tmp, F_OK), 0);
    parquet_writer_abort(w);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(abort_path, F_OK), -1);

    /* bad options and schemas */
    struct parquet_writer_options o;
    parquet_writer_options_default(&o);
    o.page_version = 3;
    assert_int_equal(parquet_writer_open(path, &schema, &o, &w, err, sizeof err), MMSP_E_INVALID);
    struct parquet_schema none = {0, f};
    assert_int_equal(parquet_writer_open(path, &none, NULL, &w, err, sizeof err), MMSP_E_INVALID);
    snprintf(abort_path, sizeof abort_path, "%s/no/such/dir/x.parquet", tmpdir);
    assert_int_equal(parquet_writer_open(abort_path, &schema, NULL, &w, err, sizeof err),
                     MMSP_E_IO);
    parquet_column_free(&cols[0]);
    parquet_column_free(&cols[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_unique_strings),
        cmocka_unit_test(test_dictionary_fallback),
        cmocka_unit_test(test_empty_and_misuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
