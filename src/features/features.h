/*
 * The feature store (docs/features.md): feature views declared in YAML, an offline store
 * (the views' CSV or Parquet source files plus rows pushed to "offline"), point-in-time
 * correct historical joins, materialization of the latest values into an online store
 * (online.h: embedded memory + SQLite, or Redis), the Feast-compatible HTTP API
 * (api_feast.c) and the gateway's entity_id join (bindings).
 *
 * State lives in its own database (feat_store_open): DATA/features.db for SQLite, or the
 * registry's PostgreSQL database (tables prefixed "feat_", created with IF NOT EXISTS so the
 * registry's schema_migrations numbering is left alone).
 * Calls: registry/db (SQL), policy/ydoc (YAML), parquet, jansson, common.
 */
#ifndef MMSP_FEATURES_H
#define MMSP_FEATURES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

#define FEAT_NAME_MAX     128 /* bytes in a view, feature, entity or service name, NUL included */
#define FEAT_MAX_ENTITIES 4
#define FEAT_MAX_FEATURES 256
#define FEAT_PATH_MAX     1024
#define FEAT_MAX_ROWS     50000000 /* rows in one loaded table */

enum feat_type {
    FEAT_STRING = 0,
    FEAT_INT64,
    FEAT_FLOAT,
    FEAT_DOUBLE,
    FEAT_BOOL,
    FEAT_TIMESTAMP /* internal: Unix milliseconds in i */
};

/* "int64", "float", "double", "string", "bool", "timestamp" */
const char *feat_type_name(enum feat_type t);
/* Parses a type name (also int32 -> int64, float32 -> float, float64 -> double, boolean). */
int feat_type_parse(const char *s, enum feat_type *out);

/* One cell. Strings are malloc'd and owned by whatever holds the value (table, record). */
struct feat_value {
    uint8_t null;
    uint8_t type; /* enum feat_type */
    int64_t i;    /* int64, bool (0/1), timestamp (ms) */
    double d;     /* float, double */
    char *s;      /* string */
};

struct feat_feature {
    char name[FEAT_NAME_MAX];
    enum feat_type type;
};

struct feat_view {
    char name[FEAT_NAME_MAX];
    size_t n_entities;
    char entities[FEAT_MAX_ENTITIES][FEAT_NAME_MAX]; /* join keys */
    size_t n_features;
    struct feat_feature features[FEAT_MAX_FEATURES];
    char source[FEAT_PATH_MAX];          /* absolute path of a .csv or .parquet file ("" = none) */
    char timestamp_field[FEAT_NAME_MAX]; /* default "event_timestamp" */
    int64_t ttl_ms;                      /* 0 = no limit */
};

/* A feature service: a named list of "view:feature" references. */
struct feat_service {
    char name[FEAT_NAME_MAX];
    size_t n_refs;
    char refs[FEAT_MAX_FEATURES][2 * FEAT_NAME_MAX];
};

/* Parses "24h", "30m", "90s", "7d", "1500ms", "0" (a plain number is seconds). */
int feat_parse_duration_ms(const char *s, int64_t *out);
/*
 * Timestamps: RFC 3339 / ISO 8601 ("2024-05-01T12:00:00Z", "2024-05-01 12:00:00.250+02:00",
 * "2024-05-01" = midnight UTC; no zone = UTC) or an integer of Unix seconds. Returns 1 on
 * success.
 */
int feat_parse_time_ms(const char *s, int64_t *out);
/* "2024-05-01T12:00:00Z" or with ".250" milliseconds when not whole seconds. */
void feat_format_time(int64_t ms, char out[40]);

/*
 * Parses a YAML document with either one view at the top (name, entities, features, ...) or
 * `feature_views: [...]` and `feature_services: [...]`. Relative source paths are resolved
 * against base_dir. *views / *services are malloc'd arrays the caller frees. Errors
 * (MMSP_E_PARSE / MMSP_E_INVALID) read "NAME:LINE: field: message".
 */
mmsp_err feat_yaml_parse(const char *text, size_t len, const char *name, const char *base_dir,
                         struct feat_view **views, size_t *n_views, struct feat_service **services,
                         size_t *n_services, char *err, size_t errlen);

/* Index of a feature in the view, or -1. */
int feat_view_feature(const struct feat_view *v, const char *name);

/* --- tables (offline data) --------------------------------------------------------------- */

struct feat_table {
    size_t n_cols, n_rows, cap_rows;
    char **names;             /* n_cols, owned */
    enum feat_type *types;    /* n_cols */
    struct feat_value *cells; /* n_rows * n_cols, row-major, owned */
};

void feat_table_init(struct feat_table *t);
/* Sets the columns (names copied); the table must be empty. */
mmsp_err feat_table_set_columns(struct feat_table *t, size_t n, const char *const *names,
                                const enum feat_type *types);
/* Appends a row of n_cols values (strings copied). */
mmsp_err feat_table_append(struct feat_table *t, const struct feat_value *row);
void feat_table_free(struct feat_table *t);
int feat_table_col(const struct feat_table *t, const char *name); /* -1 when absent */
static inline struct feat_value *feat_table_cell(const struct feat_table *t, size_t r, size_t c)
{
    return &t->cells[r * t->n_cols + c];
}
/* Converts a column to `type` (string cells are parsed; empty string = null). MMSP_E_PARSE
 * with "column C row R: ..." when a value does not convert. */
mmsp_err feat_table_cast(struct feat_table *t, size_t col, enum feat_type type, char *err,
                         size_t errlen);
void feat_value_clear(struct feat_value *v); /* frees a string, sets null */
mmsp_err feat_value_copy(struct feat_value *dst, const struct feat_value *src);
/* A value as text (null -> ""), into out (bounded). */
void feat_value_text(const struct feat_value *v, char *out, size_t outlen);

/* CSV (RFC 4180: header line, quoted fields, "" escapes; an empty field is null). Every
 * column is read as FEAT_STRING. */
mmsp_err feat_csv_read(const char *path, struct feat_table *out, char *err, size_t errlen);
mmsp_err feat_csv_parse(const char *text, size_t len, struct feat_table *out, char *err,
                        size_t errlen);
mmsp_err feat_csv_write(const char *path, const struct feat_table *t, char *err, size_t errlen);

/* By extension: .parquet (src/parquet) or anything else as CSV. Parquet columns keep their
 * types; CSV columns are strings. */
mmsp_err feat_table_read(const char *path, struct feat_table *out, char *err, size_t errlen);
mmsp_err feat_table_write(const char *path, const struct feat_table *t, char *err, size_t errlen);
mmsp_err feat_parquet_read(const char *path, struct feat_table *out, char *err, size_t errlen);
mmsp_err feat_parquet_write(const char *path, const struct feat_table *t, char *err, size_t errlen);

/* --- store ------------------------------------------------------------------------------- */

struct db;
struct feat_specs;
struct feat_store {
    struct db *db;      /* owned */
    pthread_mutex_t mu; /* serialises use of db, and guards specs */
    /* The parsed views and services (store.c), re-read when feat_spec_version moves (a
     * `features apply` by this or another process); NULL until first needed. */
    struct feat_specs *specs;
    int64_t specs_version;
    int64_t specs_checked_us; /* CLOCK_MONOTONIC of the last version read */
};

/* An immutable snapshot of every view and service, shared by readers (reference-counted):
 * lookups cost no database access. feat_store_specs gives a reference to the current one
 * (reading the store's version counter first, at most once a millisecond: a change by another
 * process is seen within 1 ms, one by this store at once); release it with
 * feat_specs_release. The pointers the lookups return live as long as the reference. */
mmsp_err feat_store_specs(struct feat_store *s, struct feat_specs **out, char *err, size_t errlen);
const struct feat_view *feat_specs_view(const struct feat_specs *sp, const char *name);
const struct feat_service *feat_specs_service(const struct feat_specs *sp, const char *name);
void feat_specs_release(struct feat_specs *sp);

/* data_dir: SQLite DATA/features.db (created); registry_url: a postgres:// URL (used
 * instead when not NULL). */
mmsp_err feat_store_open(const char *data_dir, const char *registry_url, struct feat_store **out,
                         char *err, size_t errlen);
void feat_store_close(struct feat_store *s);

mmsp_err feat_store_put_view(struct feat_store *s, const struct feat_view *v, char *err,
                             size_t errlen);
mmsp_err feat_store_put_service(struct feat_store *s, const struct feat_service *sv, char *err,
                                size_t errlen);
/* MMSP_E_NOT_FOUND when unknown. */
mmsp_err feat_store_get_view(struct feat_store *s, const char *name, struct feat_view *out,
                             char *err, size_t errlen);
mmsp_err feat_store_get_service(struct feat_store *s, const char *name, struct feat_service *out,
                                char *err, size_t errlen);
/* Every view, sorted by name; *out malloc'd (caller frees). */
mmsp_err feat_store_list_views(struct feat_store *s, struct feat_view **out, size_t *n, char *err,
                               size_t errlen);

/* Rows pushed to the offline store (POST /push to offline): appended, read back by
 * historical and materialize together with the source file. `t` holds the view's entity
 * columns, its timestamp field and any of its features. */
mmsp_err feat_store_push_offline(struct feat_store *s, const struct feat_view *v,
                                 const struct feat_table *t, char *err, size_t errlen);

/* Gateway bindings: deployment -> views; on_missing "404" or "default" with default values
 * per feature name (JSON object text, may be NULL). */
struct feat_binding {
    char deployment[FEAT_NAME_MAX];
    size_t n_views;
    char views[16][FEAT_NAME_MAX];
    int on_missing_default; /* 0 = 404 */
    char *defaults_json;    /* malloc'd or NULL: {"feature": value, ...} */
};
mmsp_err feat_store_bind(struct feat_store *s, const struct feat_binding *b, char *err,
                         size_t errlen);
/* MMSP_E_NOT_FOUND when the deployment has no binding. out->defaults_json is malloc'd. */
mmsp_err feat_store_get_binding(struct feat_store *s, const char *deployment,
                                struct feat_binding *out, char *err, size_t errlen);
void feat_binding_clear(struct feat_binding *b);

/* --- offline: the view's rows and the point-in-time join -------------------------------- */

/*
 * The view's offline rows: its source file plus pushed rows, as a table with columns
 * entities..., the timestamp (FEAT_TIMESTAMP, named timestamp_field), then the features in
 * view order with the view's types. Rows without a timestamp are an error.
 */
mmsp_err feat_offline_load(struct feat_store *s, const struct feat_view *v, struct feat_table *out,
                           char *err, size_t errlen);

/*
 * Point-in-time join: for each row of `entities` (it must have the view's join key columns and
 * a timestamp column: the view's timestamp_field or "event_timestamp"), the feature values of
 * the latest `rows` row of the same entity whose timestamp is at or before the entity row's
 * and, with a TTL, no older than ttl; else nulls. Ties (same entity and timestamp): the row
 * appearing last in `rows` wins. *out: the entity columns, then the view's features.
 */
mmsp_err feat_pit_join(const struct feat_view *v, const struct feat_table *rows,
                       const struct feat_table *entities, struct feat_table *out, char *err,
                       size_t errlen);

/* Entity key text of a row: join key values joined by '|' (ints as decimal). */
mmsp_err feat_entity_key(const struct feat_value *vals, size_t n, char *out, size_t outlen);

#endif
