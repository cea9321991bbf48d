/*
 * Test helper (not a test by itself): writes a CSV file as Parquet with our writer, for the
 * drift tests (tests/integration/test_drift_cli.sh) that need Parquet training data and
 * Parquet prediction logs with chosen values.
 *   parquet_from_csv IN.csv OUT.parquet [ROWS_PER_GROUP]
 * The CSV header names each column as name:TYPE with TYPE one of DOUBLE, INT64, STRING,
 * TIMESTAMP_MS; every column is nullable and an empty cell is a null. Cells hold no commas or
 * quotes (test data). Exit 0 on success, 1 with a message on stderr otherwise.
 * Calls: parquet (writer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/parquet.h"

#define MAX_COLS       64
#define LINE_MAX_BYTES 65536

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "parquet_from_csv: %s: %s\n", what, msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return fail("usage", "parquet_from_csv IN.csv OUT.parquet [ROWS_PER_GROUP]");
    FILE *in = fopen(argv[1], "r");
    if (!in)
        return fail(argv[1], "cannot open");
    static char line[LINE_MAX_BYTES];
    struct parquet_field fields[MAX_COLS];
    struct parquet_column cols[MAX_COLS];
    size_t n = 0;
    if (!fgets(line, sizeof line, in))
        return fail(argv[1], "no header");
    line[strcspn(line, "\r\n")] = '\0';
    for (char *save = NULL, *tok = strtok_r(line, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon || n == MAX_COLS)
            return fail(tok, "header cell is not name:TYPE (or too many columns)");
        *colon = '\0';
        struct parquet_field *f = &fields[n];
        snprintf(f->name, sizeof f->name, "%s", tok);
        f->nullable = true;
        const char *t = colon + 1;
        f->type = strcmp(t, "DOUBLE") == 0         ? PARQUET_DOUBLE
                  : strcmp(t, "INT64") == 0        ? PARQUET_INT64
                  : strcmp(t, "STRING") == 0       ? PARQUET_STRING
                  : strcmp(t, "TIMESTAMP_MS") == 0 ? PARQUET_TIMESTAMP_MS
                                                   : PARQUET_TYPE_COUNT;
        if (f->type == PARQUET_TYPE_COUNT)
            return fail(t, "unknown type");
        parquet_column_init(&cols[n], f->type);
        n++;
    }
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        for (size_t c = 0; c < n; c++) {
            char *end = strchr(p, ',');
            if (!end != (c == n - 1))
                return fail(line, "wrong number of cells");
            if (end)
                *end = '\0';
            mmsp_err rc;
            if (!*p)
                rc = parquet_column_append_null(&cols[c]);
            else if (fields[c].type == PARQUET_DOUBLE)
                rc = parquet_column_append_double(&cols[c], strtod(p, NULL));
            else if (fields[c].type == PARQUET_STRING)
                rc = parquet_column_append_string(&cols[c], p, strlen(p));
            else
                rc = parquet_column_append_i64(&cols[c], strtoll(p, NULL, 10));
            if (rc)
                return fail(line, mmsp_strerror(rc));
            p = end ? end + 1 : p;
        }
    }
    fclose(in);
    struct parquet_schema s = {.ncols = n, .fields = fields};
    struct parquet_writer_options o;
    parquet_writer_options_default(&o);
    if (argc > 3)
        o.row_group_rows = (size_t)strtoul(argv[3], NULL, 10);
    struct parquet_writer *w = NULL;
    char err[512];
    size_t rows = n ? cols[0].rows : 0;
    if (parquet_writer_open(argv[2], &s, &o, &w, err, sizeof err) ||
        parquet_writer_write(w, cols, n, rows, err, sizeof err) ||
        parquet_writer_close(w, err, sizeof err))
        return fail(argv[2], err);
    for (size_t c = 0; c < n; c++)
        parquet_column_free(&cols[c]);
    return 0;
}
