/*
 * Our own Parquet reader and writer (docs/parquet.md): flat schemas of BOOLEAN, INT32, INT64,
 * FLOAT, DOUBLE, UTF8 strings and timestamps (millis, micros), nullable columns, PLAIN and
 * dictionary encodings, data pages v1 and v2, codecs uncompressed / SNAPPY / ZSTD / GZIP,
 * several row groups, column statistics.
 *
 * The interface is columnar: a struct parquet_column holds one column's values for a run of
 * rows, typed by enum parquet_type. The reader fills one (it then owns its arrays: free with
 * parquet_column_free); the writer takes a batch of them (borrowed for the call).
 *
 * Files are hostile input: every size, count and offset read from a file is checked against the
 * file and against the limits below; a bad file gets MMSP_E_PARSE (or MMSP_E_TOO_LARGE /
 * MMSP_E_UNSUPPORTED) and a message, never a crash.
 *
 * The writer writes to "<path>.tmp" and renames it to <path> at parquet_writer_close, after the
 * footer is written and fsync'd: a file at <path> is always complete.
 */
#ifndef MMSP_PARQUET_H
#define MMSP_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits applied to files read (and to what the writer accepts). */
#define PARQUET_MAX_COLUMNS     4096
#define PARQUET_MAX_NAME        255         /* bytes in a column name */
#define PARQUET_MAX_FOOTER      (64u << 20) /* bytes of Thrift footer */
#define PARQUET_MAX_PAGE        (1u << 30)  /* bytes of one page, compressed or not */
#define PARQUET_MAX_ROW_GROUPS  1000000
#define PARQUET_MAX_COLUMN_ROWS (1LL << 31) /* rows read into one parquet_column */

/* Column types: a physical type plus, for strings and timestamps, the logical type. */
enum parquet_type {
    PARQUET_BOOL,         /* BOOLEAN; values: uint8_t (0/1) */
    PARQUET_INT32,        /* INT32; values: int32_t */
    PARQUET_INT64,        /* INT64; values: int64_t */
    PARQUET_FLOAT,        /* FLOAT; values: float */
    PARQUET_DOUBLE,       /* DOUBLE; values: double */
    PARQUET_STRING,       /* BYTE_ARRAY with the STRING (UTF8) logical type; offsets + data */
    PARQUET_TIMESTAMP_MS, /* INT64, TIMESTAMP(MILLIS, UTC); values: int64_t ms since epoch */
    PARQUET_TIMESTAMP_US, /* INT64, TIMESTAMP(MICROS, UTC); values: int64_t us since epoch */
    PARQUET_TYPE_COUNT
};

/* "BOOL", "INT32", ..., "TIMESTAMP_US"; NULL outside the enum. Static string. */
const char *parquet_type_name(enum parquet_type t);

/* Bytes per value in parquet_column.values (1 for BOOL); 0 for STRING. */
size_t parquet_type_size(enum parquet_type t);

enum parquet_codec {
    PARQUET_CODEC_NONE,
    PARQUET_CODEC_SNAPPY,
    PARQUET_CODEC_ZSTD,
    PARQUET_CODEC_GZIP
};

/* One column of a schema. name: NUL-terminated, at most PARQUET_MAX_NAME bytes. */
struct parquet_field {
    char name[PARQUET_MAX_NAME + 1];
    enum parquet_type type;
    bool nullable; /* OPTIONAL (true) or REQUIRED (false) */
};

/* A flat schema. fields: ncols entries; owned by whoever built the struct (the reader owns the
 * schema it returns; the writer copies the one it is given). */
struct parquet_schema {
    size_t ncols;
    struct parquet_field *fields;
};

/*
 * The values of one column for `rows` rows.
 *   values: rows elements of the type's C type (see enum parquet_type); unused for STRING.
 *   offsets, data (STRING only): value i is data[offsets[i] .. offsets[i+1]), offsets has
 *     rows + 1 entries, offsets[0] == 0. Strings are bytes (not NUL-terminated).
 *   valid: NULL when every row has a value; else rows bytes, 1 = value, 0 = null. A null row's
 *     slot in values is 0 (an empty string for STRING).
 * Filled by the reader: the arrays are owned by the struct (parquet_column_free). Passed to the
 * writer: borrowed for the call. The append helpers below build an owned column row by row.
 */
struct parquet_column {
    enum parquet_type type;
    size_t rows;
    void *values;
    uint64_t *offsets;
    char *data;
    uint8_t *valid;
    size_t cap;      /* rows the arrays can hold (append helpers) */
    size_t data_cap; /* bytes data can hold (append helpers) */
};

/* An empty owned column of type t (no allocation yet). */
void parquet_column_init(struct parquet_column *c, enum parquet_type t);

/* Frees the arrays and resets to an empty column of the same type. NULL-safe. */
void parquet_column_free(struct parquet_column *c);

/* Empties the column (rows = 0) keeping its arrays for reuse. */
void parquet_column_clear(struct parquet_column *c);

/*
 * Row-by-row builders for an owned column. The typed helper must match the column's type:
 * append_bool for BOOL, append_i32 for INT32, append_i64 for INT64 and both TIMESTAMPs,
 * append_float, append_double, append_string (len bytes copied from s). append_null adds a null
 * row (allocating the validity array on first use). MMSP_E_INVALID on a type mismatch,
 * MMSP_E_NOMEM, MMSP_E_TOO_LARGE past PARQUET_MAX_COLUMN_ROWS rows or 2^31 bytes of strings.
 */
mmsp_err parquet_column_append_bool(struct parquet_column *c, bool v);
mmsp_err parquet_column_append_i32(struct parquet_column *c, int32_t v);
mmsp_err parquet_column_append_i64(struct parquet_column *c, int64_t v);
mmsp_err parquet_column_append_float(struct parquet_column *c, float v);
mmsp_err parquet_column_append_double(struct parquet_column *c, double v);
mmsp_err parquet_column_append_string(struct parquet_column *c, const char *s, size_t len);
mmsp_err parquet_column_append_null(struct parquet_column *c);

/* Row i of c is null. */
static inline bool parquet_column_is_null(const struct parquet_column *c, size_t i)
{
    return c->valid && !c->valid[i];
}

/* Column statistics as written in the footer (min/max of non-null values). */
struct parquet_stats {
    bool has_null_count;
    int64_t null_count;
    bool has_min_max; /* min/max below are set */
    /* for BOOL / INT32 / INT64 / TIMESTAMP: i; FLOAT / DOUBLE: d; STRING: s (bytes, borrowed
     * from the reader, min_len / max_len bytes) */
    int64_t min_i, max_i;
    double min_d, max_d;
    const char *min_s, *max_s;
    size_t min_len, max_len;
};

/* ---- reader ---- */

struct parquet_reader;

/*
 * Opens path and reads its footer (magic, FileMetaData, schema): *out on success (free with
 * parquet_close). MMSP_E_IO (cannot read), MMSP_E_PARSE (not Parquet, truncated, hostile),
 * MMSP_E_UNSUPPORTED (nested schema, a type or encoding outside the list above), with err.
 */
mmsp_err parquet_open(const char *path, struct parquet_reader **out, char *err, size_t errlen);

/* Same from memory: data (size bytes) is copied, the caller keeps its buffer. */
mmsp_err parquet_open_memory(const void *data, size_t size, struct parquet_reader **out, char *err,
                             size_t errlen);

/* Frees the reader and everything it returned by pointer (schema, stats strings). NULL-safe. */
void parquet_close(struct parquet_reader *r);

/* The schema (owned by the reader). */
const struct parquet_schema *parquet_reader_schema(const struct parquet_reader *r);

/* Index of the column named name, or -1. */
int parquet_reader_column_index(const struct parquet_reader *r, const char *name);

int64_t parquet_reader_rows(const struct parquet_reader *r);
size_t parquet_reader_row_groups(const struct parquet_reader *r);
int64_t parquet_reader_row_group_rows(const struct parquet_reader *r, size_t rg);

/*
 * Reads column col of row group rg into *out (initialised here; owned by the caller after,
 * parquet_column_free; on error *out is left empty). Decompresses and decodes every page;
 * checks that the pages hold exactly the row group's row count.
 */
mmsp_err parquet_read_column(struct parquet_reader *r, size_t rg, size_t col,
                             struct parquet_column *out, char *err, size_t errlen);

/* Same for the whole file: every row group's values of column col, in order. */
mmsp_err parquet_read_column_all(struct parquet_reader *r, size_t col, struct parquet_column *out,
                                 char *err, size_t errlen);

/* Statistics of column col in row group rg as the footer gives them (fields unset when absent).
 * MMSP_E_INVALID for an index out of range. String pointers are owned by the reader. */
mmsp_err parquet_reader_stats(const struct parquet_reader *r, size_t rg, size_t col,
                              struct parquet_stats *out);

/* ---- writer ---- */

struct parquet_writer_options {
    enum parquet_codec codec; /* default SNAPPY */
    int level;                /* ZSTD / GZIP level; 0 = the library default */
    bool dictionary;          /* dictionary-encode STRING columns (default true) */
    int page_version;         /* 1 (default) or 2 */
    size_t row_group_rows;    /* rows per row group (default 65536) */
    size_t page_rows;         /* rows per data page (default 16384) */
};

/* Fills the defaults above. */
void parquet_writer_options_default(struct parquet_writer_options *o);

struct parquet_writer;

/*
 * Creates "<path>.tmp" and writes the magic: *out on success. schema is copied; opts may be NULL
 * (defaults). MMSP_E_INVALID (bad schema or options), MMSP_E_IO.
 */
mmsp_err parquet_writer_open(const char *path, const struct parquet_schema *schema,
                             const struct parquet_writer_options *opts, struct parquet_writer **out,
                             char *err, size_t errlen);

/*
 * Appends `rows` rows: cols[i] (borrowed) holds column i of the schema, with the schema's type
 * and at least `rows` rows; a column that is not nullable must have no nulls. Rows are buffered
 * and written as a row group each time row_group_rows are buffered.
 */
mmsp_err parquet_writer_write(struct parquet_writer *w, const struct parquet_column *cols,
                              size_t ncols, size_t rows, char *err, size_t errlen);

/* Writes the buffered rows as a row group now (nothing if none are buffered). */
mmsp_err parquet_writer_flush(struct parquet_writer *w, char *err, size_t errlen);

/* Rows appended so far; bytes written to the file so far (row groups flushed). */
int64_t parquet_writer_rows(const struct parquet_writer *w);
int64_t parquet_writer_bytes(const struct parquet_writer *w);

/*
 * Flushes, writes the footer, fsyncs and renames "<path>.tmp" to path; frees w in every case
 * (on error the temporary file is removed).
 */
mmsp_err parquet_writer_close(struct parquet_writer *w, char *err, size_t errlen);

/* Removes the temporary file and frees w, writing nothing. NULL-safe. */
void parquet_writer_abort(struct parquet_writer *w);

#ifdef __cplusplus
}
#endif

#endif
