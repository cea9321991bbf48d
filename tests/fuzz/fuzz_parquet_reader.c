/*
 * Fuzz driver for the Parquet reader: the input is a whole file, opened from memory; every
 * column is read (whole file, then row group by row group) and every row group's statistics
 * are decoded. Every failure must leave a NUL-terminated message; every success must hold the
 * row count the footer gives. Files claiming more than 2^20 rows are only opened (their
 * columns would need memory in proportion to the claim, which is what a real caller bounds).
 * Seeds: tests/fuzz/corpus/fuzz_parquet_reader/ (files from our writer and from DuckDB).
 * Calls: parquet/parquet.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parquet/parquet.h"

#define MAX_ROWS (1 << 20)

static void check_msg(const char *err, size_t len)
{
    if (strnlen(err, len) == len || err[0] == '\0')
        __builtin_trap(); /* the message must be set and terminated */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[MMSP_ERRMSG_MAX];
    struct parquet_reader *r;
    err[0] = '\0';
    if (parquet_open_memory(data, size, &r, err, sizeof err) != MMSP_OK) {
        check_msg(err, sizeof err);
        return 0;
    }
    const struct parquet_schema *s = parquet_reader_schema(r);
    int64_t rows = parquet_reader_rows(r);
    if (rows < 0 || rows > MAX_ROWS)
        goto out;
    for (size_t c = 0; c < s->ncols; c++) {
        struct parquet_column col;
        err[0] = '\0';
        if (parquet_read_column_all(r, c, &col, err, sizeof err) != MMSP_OK) {
            check_msg(err, sizeof err);
            continue;
        }
        if (col.rows != (size_t)rows || col.type != s->fields[c].type)
            __builtin_trap();
        if (col.type == PARQUET_STRING && col.offsets[col.rows] > 0 && !col.data)
            __builtin_trap();
        parquet_column_free(&col);
        for (size_t g = 0; g < parquet_reader_row_groups(r); g++) {
            struct parquet_stats st;
            if (parquet_reader_stats(r, g, c, &st) != MMSP_OK)
                __builtin_trap();
            err[0] = '\0';
            if (parquet_read_column(r, g, c, &col, err, sizeof err) != MMSP_OK) {
                check_msg(err, sizeof err);
                continue;
            }
            if ((int64_t)col.rows != parquet_reader_row_group_rows(r, g))
                __builtin_trap();
            parquet_column_free(&col);
        }
    }
out:
    parquet_close(r);
    return 0;
}
