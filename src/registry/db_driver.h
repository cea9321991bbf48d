/*
 * Internal to the SQL layer (db.c, db_sqlite.c, db_postgres.c): the driver vtable behind
 * struct db, the shared helpers every driver uses (error text, result-row building, '?' to
 * $n rewriting), and the two driver instances. Nothing outside src/registry/db*.c includes
 * this file, except the fuzz driver of the placeholder rewriter. docs/registry-db.md says how
 * to add a driver.
 */
#ifndef MMSP_REGISTRY_DB_DRIVER_H
#define MMSP_REGISTRY_DB_DRIVER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "registry/db.h"

/* Ceiling on the text of one query result (all cells together), and on one SQL statement. */
#define DB_ROWS_MAX_BYTES (256u << 20)
#define DB_SQL_MAX_BYTES  (16u << 20)

/*
 * One engine. Every function gets the struct db it serves; `impl` is the driver's own
 * connection state. db.c keeps the transaction flag and checks argument sanity (nested
 * begin, commit outside a transaction) before it calls a driver, so drivers only talk to
 * their engine.
 */
struct db_driver {
    const char *name; /* "sqlite" | "postgres" */
    enum db_kind kind;
    /* Opens `target` (a path for SQLite, the libpq URI for PostgreSQL); sets db->impl. */
    mmsp_err (*open)(struct db *db, const char *target, char *err, size_t errlen);
    void (*close)(struct db *db); /* frees db->impl; the transaction is already closed */
    mmsp_err (*begin)(struct db *db, char *err, size_t errlen);
    mmsp_err (*commit)(struct db *db, char *err, size_t errlen);
    void (*rollback)(struct db *db);
    /* One statement. `rows` NULL = discard any result; else filled (zeroed on entry). */
    mmsp_err (*run)(struct db *db, const char *sql, const char *const *params, size_t n_params,
                    int64_t *changes, struct db_rows *rows, char *err, size_t errlen);
    mmsp_err (*script)(struct db *db, const char *sql, char *err, size_t errlen);
    mmsp_err (*integrity_check)(struct db *db, char *err, size_t errlen);
};

struct db {
    const struct db_driver *drv;
    void *impl;    /* owned by the driver */
    int in_tx;     /* inside db_begin .. db_commit/db_rollback */
    char *display; /* the URL with any password replaced by "***" (owned) */
};

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_postgres_driver;

/* snprintf into err (NULL/0 ignored); returns rc so callers can `return db_fail(...)`. */
mmsp_err db_fail(mmsp_err rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Builds a struct db_rows cell by cell, row-major. db_rows_builder_start sets the column
 * count; db_rows_builder_add copies `len` bytes of `cell` (NULL = SQL NULL). Fails with
 * MMSP_E_TOO_LARGE past DB_ROWS_MAX_BYTES, MMSP_E_NOMEM when malloc fails; on any failure
 * the caller calls db_rows_builder_abort, which frees what was built and zeroes `rows`.
 */
struct db_rows_builder {
    struct db_rows *rows; /* not owned */
    size_t cap;           /* cells allocated */
    size_t n;             /* cells filled */
    size_t bytes;         /* text held */
};
void db_rows_builder_start(struct db_rows_builder *b, struct db_rows *rows, size_t n_cols);
mmsp_err db_rows_builder_add(struct db_rows_builder *b, const char *cell, size_t len);
/* Ends a row: n_rows += 1 (the caller added exactly n_cols cells). */
void db_rows_builder_end_row(struct db_rows_builder *b);
void db_rows_builder_abort(struct db_rows_builder *b);

/*
 * Rewrites '?' placeholders to $1, $2, ... for PostgreSQL. Left alone: '?' inside
 * '...' string literals (with '' escapes, and E'...' with backslash escapes), "..." quoted
 * identifiers, $tag$...$tag$ dollar-quoted strings, -- line comments and block comments
 * (nested, as PostgreSQL nests them). An unterminated literal or comment is copied as it is
 * (the server reports it). `out` is initialised here and owned by the caller (buf_release);
 * *n_placeholders receives the count. Fails only with MMSP_E_NOMEM / MMSP_E_TOO_LARGE.
 */
mmsp_err db_pg_rewrite(const char *sql, size_t len, struct buf *out, size_t *n_placeholders);

#endif
