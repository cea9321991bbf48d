/*
 * Parquet training data for drift baselines: drift_parquet_read turns a flat Parquet file
 * into the same cell table the CSV reader gives (one column per Parquet column, values as
 * text: numbers printed round-trip exact with %.17g, timestamps as integers, booleans as
 * true/false, strings as they are, nulls as NULL), so drift_baseline_build treats both
 * sources alike. Calls: parquet (reader).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift.h"
#include "parquet/parquet.h"

#define MAX_CELLS (64u << 20) /* rows x columns read into one table */

/* Cell i of c as malloc'd text in *out (NULL for a null value). */
static mmsp_err cell_text(const struct parquet_column *c, size_t i, char **out)
{
    *out = NULL;
    if (parquet_column_is_null(c, i))
        return MMSP_OK;
    char tmp[64];
    switch (c->type) {
    case PARQUET_BOOL:
        snprintf(tmp, sizeof tmp, "%s", ((const uint8_t *)c->values)[i] ? "true" : "false");
        break;
    case PARQUET_INT32:
        snprintf(tmp, sizeof tmp, "%" PRId32, ((const int32_t *)c->values)[i]);
        break;
    case PARQUET_INT64:
    case PARQUET_TIMESTAMP_MS:
    case PARQUET_TIMESTAMP_US:
        snprintf(tmp, sizeof tmp, "%" PRId64, ((const int64_t *)c->values)[i]);
        break;
    case PARQUET_FLOAT:
        snprintf(tmp, sizeof tmp, "%.9g", (double)((const float *)c->values)[i]);
        break;
    case PARQUET_DOUBLE:
        snprintf(tmp, sizeof tmp, "%.17g", ((const double *)c->values)[i]);
        break;
    case PARQUET_STRING: {
        size_t n = (size_t)(c->offsets[i + 1] - c->offsets[i]);
        char *s = malloc(n + 1);
        if (!s)
            return MMSP_E_NOMEM;
        memcpy(s, c->data + c->offsets[i], n);
        s[n] = '\0';
        *out = s;
        return MMSP_OK;
    }
    default:
        return MMSP_OK;
    }
    return (*out = strdup(tmp)) ? MMSP_OK : MMSP_E_NOMEM;
}

mmsp_err drift_parquet_read(const char *path, struct drift_table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    struct parquet_reader *r = NULL;
    struct parquet_column col;
    parquet_column_init(&col, PARQUET_INT64);
    mmsp_err rc = parquet_open(path, &r, err, errlen);
    if (rc)
        return rc;
    const struct parquet_schema *s = parquet_reader_schema(r);
    int64_t rows = parquet_reader_rows(r);
    if (rows < 0 || (s->ncols && (uint64_t)rows > MAX_CELLS / s->ncols)) {
        snprintf(err, errlen, "%s: %" PRId64 " rows x %zu columns is above %u cells", path, rows,
                 s->ncols, MAX_CELLS);
        rc = MMSP_E_TOO_LARGE;
        goto out;
    }
    t->names = calloc(s->ncols + 1, sizeof *t->names);
    t->cells = calloc(s->ncols + 1, sizeof *t->cells);
    if (!t->names || !t->cells)
        goto nomem;
    t->nrows = (size_t)rows;
    for (size_t c = 0; c < s->ncols; c++) {
        t->ncols = c + 1;
        t->names[c] = strdup(s->fields[c].name);
        t->cells[c] = calloc(t->nrows + 1, sizeof **t->cells);
        if (!t->names[c] || !t->cells[c])
            goto nomem;
        char cerr[MMSP_ERRMSG_MAX];
        if ((rc = parquet_read_column_all(r, c, &col, cerr, sizeof cerr))) {
            snprintf(err, errlen, "%s: column %s: %s", path, s->fields[c].name, cerr);
            goto out;
        }
        if (col.rows != t->nrows) {
            snprintf(err, errlen, "%s: column %s has %zu rows, the file %zu", path,
                     s->fields[c].name, col.rows, t->nrows);
            rc = MMSP_E_PARSE;
            goto out;
        }
        for (size_t i = 0; i < t->nrows; i++)
            if ((rc = cell_text(&col, i, &t->cells[c][i])))
                goto nomem;
        parquet_column_free(&col);
    }
    rc = MMSP_OK;
    goto out;
nomem:
    rc = MMSP_E_NOMEM;
    snprintf(err, errlen, "out of memory");
out:
    parquet_column_free(&col);
    parquet_close(r);
    if (rc)
        drift_table_free(t);
    return rc;
}
