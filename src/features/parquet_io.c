/*
 * Parquet tables for the offline store: converts between src/parquet's columns and
 * struct feat_table (INT32/INT64 -> int64, FLOAT, DOUBLE, BOOL, STRING, timestamps -> ms).
 * Written files use SNAPPY with dictionary strings; every column is nullable.
 * Calls: parquet, features/table.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/features.h"
#include "parquet/parquet.h"

static enum feat_type from_parquet(enum parquet_type t)
{
    switch (t) {
    case PARQUET_BOOL:
        return FEAT_BOOL;
    case PARQUET_INT32:
    case PARQUET_INT64:
        return FEAT_INT64;
    case PARQUET_FLOAT:
        return FEAT_FLOAT;
    case PARQUET_DOUBLE:
        return FEAT_DOUBLE;
    case PARQUET_STRING:
        return FEAT_STRING;
    default:
        return FEAT_TIMESTAMP;
    }
}

mmsp_err feat_parquet_read(const char *path, struct feat_table *out, char *err, size_t errlen)
{
    struct parquet_reader *r = NULL;
    struct parquet_column *cols = NULL;
    const char **names = NULL;
    enum feat_type *types = NULL;
    struct feat_value *row = NULL;
    size_t ncols = 0;
    char msg[512] = "";
    feat_table_init(out);
    mmsp_err rc = parquet_open(path, &r, msg, sizeof msg);
    if (rc)
        goto out;
    const struct parquet_schema *sc = parquet_reader_schema(r);
    ncols = sc->ncols;
    if (parquet_reader_rows(r) > FEAT_MAX_ROWS) {
        snprintf(msg, sizeof msg, "more than %d rows", FEAT_MAX_ROWS);
        rc = MMSP_E_TOO_LARGE;
        goto out;
    }
    cols = calloc(ncols ? ncols : 1, sizeof *cols);
    names = calloc(ncols ? ncols : 1, sizeof *names);
    types = calloc(ncols ? ncols : 1, sizeof *types);
    row = calloc(ncols ? ncols : 1, sizeof *row);
    if (!cols || !names || !types || !row) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t c = 0; c < ncols; c++) {
        names[c] = sc->fields[c].name;
        types[c] = from_parquet(sc->fields[c].type);
        parquet_column_init(&cols[c], sc->fields[c].type);
        rc = parquet_read_column_all(r, c, &cols[c], msg, sizeof msg);
        if (rc)
            goto out;
    }
    rc = feat_table_set_columns(out, ncols, names, types);
    if (rc)
        goto out;
    size_t rows = (size_t)parquet_reader_rows(r);
    for (size_t i = 0; i < rows; i++) {
        for (size_t c = 0; c < ncols; c++) {
            const struct parquet_column *pc = &cols[c];
            struct feat_value *v = &row[c];
            memset(v, 0, sizeof *v);
            v->type = (uint8_t)types[c];
            if (i >= pc->rows || parquet_column_is_null(pc, i)) {
                v->null = 1;
                continue;
            }
            switch (pc->type) {
            case PARQUET_BOOL:
                v->i = ((const uint8_t *)pc->values)[i];
                break;
            case PARQUET_INT32:
                v->i = ((const int32_t *)pc->values)[i];
                break;
            case PARQUET_INT64:
            case PARQUET_TIMESTAMP_MS:
                v->i = ((const int64_t *)pc->values)[i];
                break;
            case PARQUET_TIMESTAMP_US: {
                int64_t us = ((const int64_t *)pc->values)[i];
                v->i = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
                break;
            }
            case PARQUET_FLOAT:
                v->d = ((const float *)pc->values)[i];
                break;
            case PARQUET_DOUBLE:
                v->d = ((const double *)pc->values)[i];
                break;
            case PARQUET_STRING: {
                size_t a = pc->offsets[i], b = pc->offsets[i + 1];
                v->s = malloc(b - a + 1);
                if (!v->s) {
                    rc = MMSP_E_NOMEM;
                    goto out;
                }
                memcpy(v->s, pc->data + a, b - a);
                v->s[b - a] = 0;
                break;
            }
            default:
                v->null = 1;
            }
        }
        rc = feat_table_append(out, row);
        for (size_t c = 0; c < ncols; c++) {
            free(row[c].s);
            row[c].s = NULL;
        }
        if (rc)
            goto out;
    }
out:
    if (rc)
        snprintf(err, errlen, "%s: %s", path, *msg ? msg : mmsp_strerror(rc));
    for (size_t c = 0; cols && c < ncols; c++)
        parquet_column_free(&cols[c]);
    free(cols);
    free(names);
    free(types);
    free(row);
    parquet_close(r);
    if (rc)
        feat_table_free(out);
    return rc;
}

mmsp_err feat_parquet_write(const char *path, const struct feat_table *t, char *err, size_t errlen)
{
    struct parquet_schema sc = {t->n_cols,
                                calloc(t->n_cols ? t->n_cols : 1, sizeof(struct parquet_field))};
    struct parquet_column *cols = calloc(t->n_cols ? t->n_cols : 1, sizeof *cols);
    struct parquet_writer *w = NULL;
    char msg[512] = "";
    mmsp_err rc = MMSP_OK;
    if (!sc.fields || !cols) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t c = 0; c < t->n_cols; c++) {
        enum parquet_type pt;
        switch (t->types[c]) {
        case FEAT_BOOL:
            pt = PARQUET_BOOL;
            break;
        case FEAT_INT64:
            pt = PARQUET_INT64;
            break;
        case FEAT_FLOAT:
            pt = PARQUET_FLOAT;
            break;
        case FEAT_DOUBLE:
            pt = PARQUET_DOUBLE;
            break;
        case FEAT_TIMESTAMP:
            pt = PARQUET_TIMESTAMP_MS;
            break;
        default:
            pt = PARQUET_STRING;
        }
        snprintf(sc.fields[c].name, sizeof sc.fields[c].name, "%s", t->names[c]);
        sc.fields[c].type = pt;
        sc.fields[c].nullable = true;
        parquet_column_init(&cols[c], pt);
        for (size_t r = 0; r < t->n_rows; r++) {
            const struct feat_value *v = feat_table_cell(t, r, c);
            if (v->null) {
                rc = parquet_column_append_null(&cols[c]);
            } else {
                switch (pt) {
                case PARQUET_BOOL:
                    rc = parquet_column_append_bool(&cols[c], v->i != 0);
                    break;
                case PARQUET_INT64:
                case PARQUET_TIMESTAMP_MS:
                    rc = parquet_column_append_i64(&cols[c], v->i);
                    break;
                case PARQUET_FLOAT:
                    rc = parquet_column_append_float(&cols[c], (float)v->d);
                    break;
                case PARQUET_DOUBLE:
                    rc = parquet_column_append_double(&cols[c], v->d);
                    break;
                default: {
                    const char *s = v->s ? v->s : "";
                    rc = parquet_column_append_string(&cols[c], s, strlen(s));
                }
                }
            }
            if (rc)
                goto out;
        }
    }
    rc = parquet_writer_open(path, &sc, NULL, &w, msg, sizeof msg);
    if (rc)
        goto out;
    rc = parquet_writer_write(w, cols, t->n_cols, t->n_rows, msg, sizeof msg);
    if (rc) {
        parquet_writer_abort(w);
        goto out;
    }
    rc = parquet_writer_close(w, msg, sizeof msg);
out:
    if (rc)
        snprintf(err, errlen, "%s: %s", path, *msg ? msg : mmsp_strerror(rc));
    for (size_t c = 0; cols && c < t->n_cols; c++)
        parquet_column_free(&cols[c]);
    free(cols);
    free(sc.fields);
    return rc;
}
