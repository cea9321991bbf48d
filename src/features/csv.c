/*
 * CSV for the offline store (RFC 4180): a header line names the columns, fields may be
 * quoted ("..." with "" for a quote, newlines allowed inside), CRLF or LF line ends, an empty
 * field is null. Every column is read as text (feat_table_cast converts it). The writer
 * quotes fields that need it and writes nulls as empty fields.
 * Calls: features/table.c, common/buf.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "features/features.h"

#define CSV_MAX_BYTES (4ull << 30)
#define CSV_MAX_COLS  4096
#define CSV_MAX_FIELD (1u << 20)

/* Reads one field starting at *pos; sets *eol at the end of a record. */
/* The value of a quoted empty field ("") : not allocated, so never freed (compared by address:
 * a field holding a NUL byte is an allocated "" too). */
static char csv_empty[1];

static mmsp_err next_field(const char *text, size_t len, size_t *pos, struct buf *field,
                           int *quoted, int *eol, size_t *line, char *err, size_t errlen)
{
    size_t p = *pos;
    buf_reset(field);
    *quoted = 0;
    *eol = 0;
    mmsp_err rc = MMSP_OK;
    if (p < len && text[p] == '"') {
        *quoted = 1;
        p++;
        for (;;) {
            if (p >= len) {
                snprintf(err, errlen, "line %zu: unterminated quoted field", *line);
                return MMSP_E_PARSE;
            }
            if (text[p] == '"') {
                if (p + 1 < len && text[p + 1] == '"') {
                    rc = buf_append_char(field, '"');
                    p += 2;
                } else {
                    p++;
                    break;
                }
            } else {
                if (text[p] == '\n')
                    (*line)++;
                rc = buf_append_char(field, text[p]);
                p++;
            }
            if (rc)
                goto too_large;
        }
        if (p < len && text[p] != ',' && text[p] != '\n' && text[p] != '\r') {
            snprintf(err, errlen, "line %zu: text after a closing quote", *line);
            return MMSP_E_PARSE;
        }
    } else {
        size_t start = p;
        while (p < len && text[p] != ',' && text[p] != '\n' && text[p] != '\r') {
            if (text[p] == '"') {
                snprintf(err, errlen, "line %zu: quote inside an unquoted field", *line);
                return MMSP_E_PARSE;
            }
            p++;
        }
        if (p > start && (rc = buf_append(field, text + start, p - start)))
            goto too_large;
    }
    if (p >= len) {
        *eol = 1;
    } else if (text[p] == ',') {
        p++;
    } else {
        if (text[p] == '\r')
            p++;
        if (p < len && text[p] == '\n')
            p++;
        (*line)++;
        *eol = 1;
    }
    *pos = p;
    return MMSP_OK;
too_large:
    snprintf(err, errlen, "line %zu: field longer than %u bytes", *line, CSV_MAX_FIELD);
    return MMSP_E_TOO_LARGE;
}

mmsp_err feat_csv_parse(const char *text, size_t len, struct feat_table *out, char *err,
                        size_t errlen)
{
    struct buf field;
    buf_init(&field, CSV_MAX_FIELD);
    char **names = NULL;
    size_t n_names = 0;
    struct feat_value *row = NULL;
    size_t pos = 0, line = 1;
    int quoted, eol;
    mmsp_err rc = MMSP_OK;
    feat_table_init(out);
    /* skip a UTF-8 byte order mark */
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF)
        pos = 3;
    if (pos >= len) {
        snprintf(err, errlen, "empty file: a header line is needed");
        rc = MMSP_E_PARSE;
        goto out;
    }
    names = calloc(CSV_MAX_COLS, sizeof *names);
    if (!names) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    do {
        rc = next_field(text, len, &pos, &field, &quoted, &eol, &line, err, errlen);
        if (rc)
            goto out;
        if (n_names == CSV_MAX_COLS) {
            snprintf(err, errlen, "more than %d columns", CSV_MAX_COLS);
            rc = MMSP_E_TOO_LARGE;
            goto out;
        }
        const char *nm = field.data ? field.data : "";
        if (!*nm) {
            snprintf(err, errlen, "line 1: column %zu has no name", n_names + 1);
            rc = MMSP_E_PARSE;
            goto out;
        }
        for (size_t i = 0; i < n_names; i++)
            if (strcmp(names[i], nm) == 0) {
                snprintf(err, errlen, "line 1: column '%.100s' appears twice", nm);
                rc = MMSP_E_PARSE;
                goto out;
            }
        names[n_names] = strdup(nm);
        if (!names[n_names]) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        n_names++;
    } while (!eol);
    rc = feat_table_set_columns(out, n_names, (const char *const *)names, NULL);
    if (rc)
        goto out;
    row = calloc(n_names, sizeof *row);
    if (!row) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    while (pos < len) {
        size_t rec_line = line;
        /* a blank line (also the last one) is skipped */
        if (text[pos] == '\n' || text[pos] == '\r') {
            if (text[pos] == '\r')
                pos++;
            if (pos < len && text[pos] == '\n')
                pos++;
            line++;
            continue;
        }
        size_t c = 0;
        do {
            rc = next_field(text, len, &pos, &field, &quoted, &eol, &line, err, errlen);
            if (rc)
                goto out;
            if (c >= n_names) {
                snprintf(err, errlen, "line %zu: more fields than the %zu columns", rec_line,
                         n_names);
                rc = MMSP_E_PARSE;
                goto out;
            }
            row[c].type = FEAT_STRING;
            if (field.len == 0 && !quoted) {
                row[c].null = 1;
                row[c].s = NULL;
            } else if (field.len == 0) {
                row[c].null = 0;
                row[c].s = csv_empty;
            } else {
                row[c].null = 0;
                row[c].s = strdup(field.data);
                if (!row[c].s) {
                    rc = MMSP_E_NOMEM;
                    goto out;
                }
            }
            c++;
        } while (!eol);
        if (c != n_names) {
            snprintf(err, errlen, "line %zu: %zu fields, the header has %zu", rec_line, c, n_names);
            rc = MMSP_E_PARSE;
            goto out;
        }
        rc = feat_table_append(out, row);
        for (size_t k = 0; k < c; k++) {
            if (row[k].s != csv_empty)
                free(row[k].s);
            row[k].s = NULL;
        }
        if (rc) {
            snprintf(err, errlen, "line %zu: %s", rec_line, mmsp_strerror(rc));
            goto out;
        }
    }
out:
    for (size_t k = 0; row && k < n_names; k++)
        if (row[k].s != csv_empty)
            free(row[k].s); /* the fields of a record that failed half-way */
    for (size_t i = 0; names && i < n_names; i++)
        free(names[i]);
    free(names);
    free(row);
    buf_release(&field);
    if (rc)
        feat_table_free(out);
    return rc;
}

mmsp_err feat_csv_read(const char *path, struct feat_table *out, char *err, size_t errlen)
{
    feat_table_init(out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? MMSP_E_NOT_FOUND : MMSP_E_IO;
    }
    mmsp_err rc = MMSP_OK;
    char *data = NULL;
    struct buf b;
    buf_init(&b, CSV_MAX_BYTES);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = buf_append(&b, chunk, n))) {
            snprintf(err, errlen, "%s: %s", path, mmsp_strerror(rc));
            goto out;
        }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = MMSP_E_IO;
        goto out;
    }
    data = b.data ? b.data : "";
    char msg[512];
    rc = feat_csv_parse(data, b.len, out, msg, sizeof msg);
    if (rc)
        snprintf(err, errlen, "%s: %s", path, msg);
out:
    fclose(f);
    buf_release(&b);
    return rc;
}

static int write_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL && *s)
        return fputs(s, f) < 0 ? -1 : 0;
    if (fputc('"', f) == EOF)
        return -1;
    for (; *s; s++) {
        if (*s == '"' && fputc('"', f) == EOF)
            return -1;
        if (fputc(*s, f) == EOF)
            return -1;
    }
    return fputc('"', f) == EOF ? -1 : 0;
}

mmsp_err feat_csv_write(const char *path, const struct feat_table *t, char *err, size_t errlen)
{
    char tmp_path[FEAT_PATH_MAX + 16];
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", path);
    FILE *f = fopen(tmp_path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp_path, strerror(errno));
        return MMSP_E_IO;
    }
    int bad = 0;
    for (size_t c = 0; c < t->n_cols; c++) {
        if (c)
            bad |= fputc(',', f) == EOF;
        bad |= write_field(f, t->names[c]);
    }
    bad |= fputc('\n', f) == EOF;
    char *cell = malloc(CSV_MAX_FIELD);
    if (!cell)
        bad = 1;
    for (size_t r = 0; !bad && r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            if (c)
                bad |= fputc(',', f) == EOF;
            const struct feat_value *v = feat_table_cell(t, r, c);
            if (v->null)
                continue;
            feat_value_text(v, cell, CSV_MAX_FIELD);
            if (v->type == FEAT_STRING && !*cell)
                bad |= fputs("\"\"", f) < 0;
            else
                bad |= write_field(f, cell);
        }
        bad |= fputc('\n', f) == EOF;
    }
    free(cell);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        bad = 1;
    if (fclose(f) != 0)
        bad = 1;
    if (bad || rename(tmp_path, path) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp_path);
        return MMSP_E_IO;
    }
    return MMSP_OK;
}
