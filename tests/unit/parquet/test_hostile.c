/*
 * Unit tests for src/parquet on hostile input: not Parquet, truncated files (every prefix of a
 * small valid file), footer lengths out of the file, nesting past the Thrift depth limit, huge
 * list counts, and every byte of a valid file's footer and pages overwritten: each must give an
 * error with a message, or (when the change happens to keep the file valid) a clean read;
 * never a crash (run under ASan/UBSan in the sanitizer build).
 */
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

static uint8_t *valid_file;
static size_t valid_size;

/* Writes a small file (3 columns, 2 row groups, dictionary and nulls) and loads its bytes. */
static uint8_t *make_file(enum parquet_codec codec, int page_version, size_t *size)
{
    char dir[] = "/tmp/mmsp-pq-hostile.XXXXXX", path[64], err[MMSP_ERRMSG_MAX];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f.parquet", dir);
    struct parquet_field f[3] = {{.name = "i", .type = PARQUET_INT64, .nullable = true},
                                 {.name = "s", .type = PARQUET_STRING, .nullable = true},
                                 {.name = "d", .type = PARQUET_DOUBLE, .nullable = false}};
    struct parquet_column c[3];
    parquet_column_init(&c[0], PARQUET_INT64);
    parquet_column_init(&c[1], PARQUET_STRING);
    parquet_column_init(&c[2], PARQUET_DOUBLE);
    for (int i = 0; i < 40; i++) {
        if (i % 3 == 0)
            parquet_column_append_null(&c[0]);
        else
            parquet_column_append_i64(&c[0], i * 1000);
        if (i % 4 == 1)
            parquet_column_append_null(&c[1]);
        else
            parquet_column_append_string(&c[1], i % 2 ? "odd" : "even", i % 2 ? 3 : 4);
        parquet_column_append_double(&c[2], i * 0.5);
    }
    struct parquet_schema schema = {3, f};
    struct parquet_writer_options o;
    parquet_writer_options_default(&o);
    o.codec = codec;
    o.page_version = page_version;
    o.row_group_rows = 25;
    o.page_rows = 10;
    struct parquet_writer *w;
    assert_int_equal(parquet_writer_open(path, &schema, &o, &w, err, sizeof err), MMSP_OK);
    assert_int_equal(parquet_writer_write(w, c, 3, 40, err, sizeof err), MMSP_OK);
    assert_int_equal(parquet_writer_close(w, err, sizeof err), MMSP_OK);
    for (int i = 0; i < 3; i++)
        parquet_column_free(&c[i]);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    uint8_t *data = malloc((size_t)n);
    assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    unlink(path);
    rmdir(dir);
    *size = (size_t)n;
    return data;
}

static int setup(void **state)
{
    (void)state;
    valid_file = make_file(PARQUET_CODEC_SNAPPY, 1, &valid_size);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(valid_file);
    return 0;
}

/* Opens and reads everything; returns MMSP_OK or the first error (whose message is checked). */
static mmsp_err try_read(const uint8_t *data, size_t size)
{
    char err[MMSP_ERRMSG_MAX];
    err[0] = '\0';
    struct parquet_reader *r;
    mmsp_err rc = parquet_open_memory(data, size, &r, err, sizeof err);
    if (rc) {
        assert_true(err[0] != '\0');
        assert_true(strnlen(err, sizeof err) < sizeof err);
        return rc;
    }
    const struct parquet_schema *s = parquet_reader_schema(r);
    for (size_t c = 0; c < s->ncols && !rc; c++) {
        struct parquet_column col;
        err[0] = '\0';
        rc = parquet_read_column_all(r, c, &col, err, sizeof err);
        if (rc) {
            assert_true(err[0] != '\0');
        } else {
            assert_int_equal(col.rows, (size_t)parquet_reader_rows(r));
            parquet_column_free(&col);
        }
        struct parquet_stats st;
        for (size_t g = 0; g < parquet_reader_row_groups(r); g++)
            assert_int_equal(parquet_reader_stats(r, g, c, &st), MMSP_OK);
    }
    parquet_close(r);
    return rc;
}

static void test_valid_baseline(void **state)
{
    (void)state;
    assert_int_equal(try_read(valid_file, valid_size), MMSP_OK);
}

static void test_not_parquet(void **state)
{
    (void)state;
    char err[MMSP_ERRMSG_MAX];
    struct parquet_reader *r;
    assert_int_equal(try_read((const uint8_t *)"", 0), MMSP_E_PARSE);
    assert_int_equal(try_read((const uint8_t *)"PAR1PAR1", 8), MMSP_E_PARSE);
    assert_int_equal(try_read((const uint8_t *)"hello, world, this is text", 26), MMSP_E_PARSE);
    /* good magic, footer length past the file */
    static const uint8_t big[] = {'P',  'A',  'R',  '1',  0,   0,   0,   0,
                                  0xff, 0xff, 0xff, 0x7f, 'P', 'A', 'R', '1'};
    assert_int_equal(parquet_open_memory(big, sizeof big, &r, err, sizeof err), MMSP_E_PARSE);
    assert_non_null(strstr(err, "footer length"));
    /* footer length 0: no schema */
    static const uint8_t zero[] = {'P', 'A', 'R', '1', 0, 0, 0, 0, 0, 'P', 'A', 'R', '1'};
    assert_int_equal(try_read(zero, sizeof zero), MMSP_E_PARSE);
    /* encrypted footer magic */
    uint8_t *enc = malloc(valid_size);
    memcpy(enc, valid_file, valid_size);
    memcpy(enc + valid_size - 4, "PARE", 4);
    assert_int_equal(try_read(enc, valid_size), MMSP_E_UNSUPPORTED);
    free(enc);
    assert_int_equal(parquet_open("/nonexistent/x.parquet", &r, err, sizeof err), MMSP_E_IO);
    assert_non_null(strstr(err, "/nonexistent/x.parquet"));
}

static void test_truncated(void **state)
{
    (void)state;
    for (size_t n = 0; n < valid_size; n++)
        assert_int_not_equal(try_read(valid_file, n), MMSP_OK);
    /* the first n bytes with a fresh tail: offsets now point past the data */
    uint8_t *buf = malloc(valid_size);
    for (size_t n = 4; n + 8 < valid_size; n += 3) {
        memcpy(buf, valid_file, valid_size);
        size_t flen = valid_file[valid_size - 8] | (size_t)valid_file[valid_size - 7] << 8;
        size_t fstart = valid_size - 8 - flen;
        if (n >= fstart)
            break;
        /* move the footer down over the pages */
        memmove(buf + n, valid_file + fstart, flen + 8);
        (void)try_read(buf, n + flen + 8);
    }
    free(buf);
}

static void put_footer(uint8_t *out, size_t *n, const uint8_t *footer, size_t flen)
{
    memcpy(out, "PAR1", 4);
    memcpy(out + 4, footer, flen);
    out[4 + flen] = (uint8_t)flen;
    out[5 + flen] = (uint8_t)(flen >> 8);
    out[6 + flen] = 0;
    out[7 + flen] = 0;
    memcpy(out + 8 + flen, "PAR1", 4);
    *n = flen + 12;
}

static void test_thrift_limits(void **state)
{
    (void)state;
    uint8_t footer[600], file[700];
    size_t n;
    char err[MMSP_ERRMSG_MAX];
    struct parquet_reader *r;
    /* field 1 as a struct whose first field is a struct ... 200 deep */
    for (int i = 0; i < 200; i++)
        footer[i] = 0x1c;
    memset(footer + 200, 0, 200);
    put_footer(file, &n, footer, 400);
    assert_int_equal(parquet_open_memory(file, n, &r, err, sizeof err), MMSP_E_PARSE);
    assert_non_null(strstr(err, "deep"));
    /* field 2 (schema) as a list of 2^40 structs */
    static const uint8_t huge_list[] = {0x29, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0};
    put_footer(file, &n, huge_list, sizeof huge_list);
    assert_int_equal(parquet_open_memory(file, n, &r, err, sizeof err), MMSP_E_PARSE);
    assert_non_null(strstr(err, "past the end"));
    /* a binary of 2^62 bytes */
    static const uint8_t huge_bin[] = {0x68, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0x3f, 0};
    put_footer(file, &n, huge_bin, sizeof huge_bin);
    assert_int_equal(parquet_open_memory(file, n, &r, err, sizeof err), MMSP_E_PARSE);
    /* a varint that never ends */
    memset(footer, 0xff, 64);
    footer[0] = 0x15; /* field 1, i32 */
    put_footer(file, &n, footer, 64);
    assert_int_equal(parquet_open_memory(file, n, &r, err, sizeof err), MMSP_E_PARSE);
    /* a map of unknown type nested in an unknown field, skipped properly, then no schema */
    static const uint8_t map[] = {
        0x0b, 0x28 /* field 20 */, 0x02, 0x88, 0x01, 'k', 0x02, 'v', 'w', 0x01, 'x', 0x01, 'y', 0};
    put_footer(file, &n, map, sizeof map);
    assert_int_equal(parquet_open_memory(file, n, &r, err, sizeof err), MMSP_E_PARSE);
    assert_non_null(strstr(err, "without a schema"));
}

/* Every byte overwritten with a few values, in files of each page version and codec. */
static void test_byte_flips(void **state)
{
    (void)state;
    static const enum parquet_codec codecs[] = {PARQUET_CODEC_NONE, PARQUET_CODEC_SNAPPY,
                                                PARQUET_CODEC_ZSTD, PARQUET_CODEC_GZIP};
    static const uint8_t vals[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x15};
    for (size_t k = 0; k < 4; k++)
        for (int v = 1; v <= 2; v++) {
            size_t size;
            uint8_t *f = make_file(codecs[k], v, &size);
            uint8_t *m = malloc(size);
            for (size_t i = 4; i + 4 < size; i++)
                for (size_t j = 0; j < sizeof vals; j++) {
                    if (f[i] == vals[j])
                        continue;
                    memcpy(m, f, size);
                    m[i] = vals[j];
                    (void)try_read(m, size);
                }
            free(m);
            free(f);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_baseline), cmocka_unit_test(test_not_parquet),
        cmocka_unit_test(test_truncated),      cmocka_unit_test(test_thrift_limits),
        cmocka_unit_test(test_byte_flips),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
