/*
 * Helper for tests/conformance/test_parquet_duckdb.sh (DuckDB is the oracle), not a test by
 * itself:
 *   parquet_dump read FILE         prints FILE as our reader reads it, in the canonical text
 *                                  that parquet_duckdb.mjs prints for DuckDB;
 *   parquet_dump write DIR [ROWS]  writes ROWS rows (default 3000) of every type with nulls and
 *                                  edge values, for each codec x page version x dictionary, as
 *                                  DIR/ours_*.parquet, each with DIR/<file>.expected: the
 *                                  canonical text of what was written (from memory, not read
 *                                  back); prints the file names;
 *   parquet_dump pages FILE        counts the page kinds (data_v1, dictionary, data_v2).
 * Canonical text: a header line of "name:TYPE" (TYPE from enum parquet_type's names, "?" after
 * a nullable column), then one line per row, tab-separated: null, true/false, integers in
 * decimal, FLOAT/DOUBLE as the hex bits of the value widened to double ("nan" for NaN),
 * timestamps as microseconds since the epoch, strings as JSON.stringify writes them.
 * Calls: parquet/parquet.h, parquet/pq_internal.h (footer and page headers, for "pages").
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/parquet.h"
#include "parquet/pq_internal.h"

static void print_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\b':
            fputs("\\b", f);
            break;
        case '\f':
            fputs("\\f", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

static void print_double(FILE *f, double d)
{
    if (isnan(d)) {
        fputs("nan", f);
        return;
    }
    uint64_t bits;
    memcpy(&bits, &d, 8);
    fprintf(f, "%016" PRIx64, bits);
}

static void print_value(FILE *f, const struct parquet_column *c, size_t i)
{
    if (parquet_column_is_null(c, i)) {
        fputs("null", f);
        return;
    }
    switch (c->type) {
    case PARQUET_BOOL:
        fputs(((const uint8_t *)c->values)[i] ? "true" : "false", f);
        break;
    case PARQUET_INT32:
        fprintf(f, "%" PRId32, ((const int32_t *)c->values)[i]);
        break;
    case PARQUET_INT64:
        fprintf(f, "%" PRId64, ((const int64_t *)c->values)[i]);
        break;
    case PARQUET_TIMESTAMP_MS:
        fprintf(f, "%" PRId64, ((const int64_t *)c->values)[i] * 1000);
        break;
    case PARQUET_TIMESTAMP_US:
        fprintf(f, "%" PRId64, ((const int64_t *)c->values)[i]);
        break;
    case PARQUET_FLOAT:
        print_double(f, ((const float *)c->values)[i]);
        break;
    case PARQUET_DOUBLE:
        print_double(f, ((const double *)c->values)[i]);
        break;
    case PARQUET_STRING:
        print_string(f, c->data + c->offsets[i], c->offsets[i + 1] - c->offsets[i]);
        break;
    default:
        fputs("?", f);
    }
}

static void dump(FILE *f, const struct parquet_schema *s, const struct parquet_column *cols,
                 size_t rows)
{
    for (size_t c = 0; c < s->ncols; c++)
        fprintf(f, "%s%s:%s%s", c ? "\t" : "", s->fields[c].name,
                parquet_type_name(s->fields[c].type), s->fields[c].nullable ? "?" : "");
    fputc('\n', f);
    for (size_t i = 0; i < rows; i++) {
        for (size_t c = 0; c < s->ncols; c++) {
            if (c)
                fputc('\t', f);
            print_value(f, &cols[c], i);
        }
        fputc('\n', f);
    }
}

static int cmd_read(const char *path)
{
    char err[MMSP_ERRMSG_MAX];
    struct parquet_reader *r;
    if (parquet_open(path, &r, err, sizeof err) != MMSP_OK) {
        fprintf(stderr, "parquet_dump: %s: %s\n", path, err);
        return 1;
    }
    const struct parquet_schema *s = parquet_reader_schema(r);
    struct parquet_column *cols = calloc(s->ncols ? s->ncols : 1, sizeof *cols);
    int status = 0;
    for (size_t c = 0; c < s->ncols && !status; c++)
        if (parquet_read_column_all(r, c, &cols[c], err, sizeof err) != MMSP_OK) {
            fprintf(stderr, "parquet_dump: %s: column %s: %s\n", path, s->fields[c].name, err);
            status = 1;
        }
    if (!status)
        dump(stdout, s, cols, (size_t)parquet_reader_rows(r));
    for (size_t c = 0; c < s->ncols; c++)
        parquet_column_free(&cols[c]);
    free(cols);
    parquet_close(r);
    return status;
}

#define NCOLS 11
#define ROWS  3000 /* default rows written */

static size_t rows_wanted = ROWS;

static const char *const specials[] = {"",
                                       "plain",
                                       "quote \" and \\ backslash",
                                       "tab\tnew\nline",
                                       "ctrl \x01\x1f",
                                       "unicode é ü € 日本 🙂",
                                       "a"};

static void fill(struct parquet_column *cols, struct parquet_field *fields)
{
    static const struct {
        const char *name;
        enum parquet_type type;
        bool nullable;
    } spec[NCOLS] = {
        {"b", PARQUET_BOOL, true},
        {"i32", PARQUET_INT32, true},
        {"i64", PARQUET_INT64, true},
        {"f32", PARQUET_FLOAT, true},
        {"f64", PARQUET_DOUBLE, true},
        {"s", PARQUET_STRING, true},
        {"ts_ms", PARQUET_TIMESTAMP_MS, true},
        {"ts_us", PARQUET_TIMESTAMP_US, true},
        {"req_i64", PARQUET_INT64, false},
        {"req_s", PARQUET_STRING, false},
        {"req_f64", PARQUET_DOUBLE, false},
    };
    static const int32_t i32s[] = {0, 1, -1, INT32_MAX, INT32_MIN, 123456};
    static const int64_t i64s[] = {0, 1, -1, INT64_MAX, INT64_MIN, -9876543210LL};
    static const float f32s[] = {0.0f,     -0.0f,   1.5f,   -3.25e-3f, FLT_MAX,
                                 -FLT_MAX, FLT_MIN, 1e-45f, INFINITY,  -INFINITY};
    static const double f64s[] = {0.0,     -0.0,     0.1,      -1e300,    DBL_MAX,
                                  DBL_MIN, 4.9e-324, INFINITY, -INFINITY, 3.141592653589793};
    for (int c = 0; c < NCOLS; c++) {
        memset(&fields[c], 0, sizeof fields[c]);
        snprintf(fields[c].name, sizeof fields[c].name, "%s", spec[c].name);
        fields[c].type = spec[c].type;
        fields[c].nullable = spec[c].nullable;
        parquet_column_init(&cols[c], spec[c].type);
    }
    for (size_t i = 0; i < rows_wanted; i++) {
        for (int c = 0; c < NCOLS; c++) {
            struct parquet_column *col = &cols[c];
            if (fields[c].nullable && (i * 13 + (size_t)c * 5) % 7 == 0) {
                parquet_column_append_null(col);
                continue;
            }
            char s[96];
            switch (c) {
            case 0:
                parquet_column_append_bool(col, (i / 3) % 2);
                break;
            case 1:
                parquet_column_append_i32(col, i % 10 < 6 ? i32s[i % 6] : (int32_t)(i * 7919));
                break;
            case 2:
                parquet_column_append_i64(col, i % 10 < 6 ? i64s[i % 6] : (int64_t)i * 1000003);
                break;
            case 3:
                parquet_column_append_float(col, f32s[i % 10] * (i % 20 < 10 ? 1.0f : 0.5f));
                break;
            case 4:
                parquet_column_append_double(col, i % 3 ? f64s[i % 10] : sin((double)i));
                break;
            case 5:
                parquet_column_append_string(col, specials[i % 7], strlen(specials[i % 7]));
                break;
            case 6:
                parquet_column_append_i64(col, -86400000LL + (int64_t)i * 3600123);
                break;
            case 7:
                parquet_column_append_i64(col, 1700000000123456LL + (int64_t)i * 999999);
                break;
            case 8:
                parquet_column_append_i64(col, (int64_t)i * i - 5000);
                break;
            case 9:
                snprintf(s, sizeof s, "id-%zu", i / 2);
                parquet_column_append_string(col, s, strlen(s));
                break;
            default:
                parquet_column_append_double(col, (double)i / 7.0);
                break;
            }
        }
    }
}

static int cmd_write(const char *dir)
{
    static const struct {
        enum parquet_codec codec;
        const char *name;
    } codecs[] = {{PARQUET_CODEC_NONE, "none"},
                  {PARQUET_CODEC_SNAPPY, "snappy"},
                  {PARQUET_CODEC_ZSTD, "zstd"},
                  {PARQUET_CODEC_GZIP, "gzip"}};
    struct parquet_field fields[NCOLS];
    struct parquet_column cols[NCOLS];
    fill(cols, fields);
    struct parquet_schema schema = {NCOLS, fields};
    int status = 0;
    char err[MMSP_ERRMSG_MAX];
    for (size_t k = 0; k < 4 && !status; k++)
        for (int v = 1; v <= 2 && !status; v++)
            for (int d = 0; d < 2 && !status; d++) {
                char path[4096], exp[4200];
                snprintf(path, sizeof path, "%s/ours_%s_v%d_%s.parquet", dir, codecs[k].name, v,
                         d ? "dict" : "plain");
                struct parquet_writer_options o;
                parquet_writer_options_default(&o);
                o.codec = codecs[k].codec;
                o.page_version = v;
                o.dictionary = d;
                o.row_group_rows = 1000;
                o.page_rows = 256;
                struct parquet_writer *w;
                if (parquet_writer_open(path, &schema, &o, &w, err, sizeof err) != MMSP_OK ||
                    parquet_writer_write(w, cols, NCOLS, rows_wanted, err, sizeof err) != MMSP_OK ||
                    parquet_writer_close(w, err, sizeof err) != MMSP_OK) {
                    fprintf(stderr, "parquet_dump: %s: %s\n", path, err);
                    status = 1;
                    break;
                }
                snprintf(exp, sizeof exp, "%s.expected", path);
                FILE *f = fopen(exp, "w");
                if (!f) {
                    perror(exp);
                    status = 1;
                    break;
                }
                dump(f, &schema, cols, rows_wanted);
                fclose(f);
                printf("%s\n", path);
            }
    for (int c = 0; c < NCOLS; c++)
        parquet_column_free(&cols[c]);
    return status;
}

/* Counts the page types of every column chunk (so the test can tell which pages it covered). */
static int cmd_pages(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
    if (!d || n < 12 || fread(d, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(d);
        fprintf(stderr, "parquet_dump: %s: cannot read\n", path);
        return 1;
    }
    fclose(f);
    char err[MMSP_ERRMSG_MAX];
    size_t size = (size_t)n, flen = pq_le32(d + size - 8);
    struct pq_meta m;
    int status = 0;
    long counts[4] = {0};
    if (flen > size - 12 ||
        pq_meta_parse(d + size - 8 - flen, flen, size - 8 - flen, &m, err, sizeof err) != MMSP_OK) {
        fprintf(stderr, "parquet_dump: %s: bad footer\n", path);
        free(d);
        return 1;
    }
    for (size_t g = 0; g < m.nrg && !status; g++)
        for (size_t c = 0; c < m.schema.ncols && !status; c++) {
            const struct pq_chunk *ch = &m.rgs[g].chunks[c];
            int64_t at = ch->dict_page_offset >= 0 && ch->dict_page_offset < ch->data_page_offset
                             ? ch->dict_page_offset
                             : ch->data_page_offset;
            int64_t end = at + ch->total_compressed_size;
            while (at < end && (size_t)end <= size) {
                struct pq_page_header h;
                size_t used;
                if (pq_page_header_parse(d + at, (size_t)(end - at), &h, &used, err, sizeof err)) {
                    fprintf(stderr, "parquet_dump: %s: %s\n", path, err);
                    status = 1;
                    break;
                }
                if (h.type >= 0 && h.type < 4)
                    counts[h.type]++;
                at += (int64_t)used + h.compressed_size;
            }
        }
    printf("data_v1 %ld\ndictionary %ld\ndata_v2 %ld\n", counts[0], counts[2], counts[3]);
    pq_meta_free(&m);
    free(d);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "pages") == 0)
        return cmd_pages(argv[2]);
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        return cmd_read(argv[2]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "write") == 0) {
        if (argc == 4)
            rows_wanted = (size_t)strtoul(argv[3], NULL, 10);
        return cmd_write(argv[2]);
    }
    fprintf(stderr, "usage: parquet_dump read FILE | write DIR [ROWS]\n");
    return 2;
}
