/*
 * A small SQL layer with two drivers, SQLite (embedded, WAL) and PostgreSQL (libpq), so the
 * registry's logic is written once. Statements use '?' placeholders; the PostgreSQL driver
 * rewrites them to $1, $2, ... (a '?' inside a quoted SQL string literal is left alone).
 * Parameters and result cells are text (NULL = SQL NULL); callers convert numbers with
 * strtoll/strtod. Use only SQL that both engines accept: TEXT, BIGINT, DOUBLE PRECISION,
 * INSERT ... ON CONFLICT, no AUTOINCREMENT / SERIAL (ids are computed as MAX+1 inside a write
 * transaction).
 *
 * One struct db is one connection; it is NOT thread-safe (the registry serialises use with a
 * mutex). Write transactions are serialised across processes: SQLite by BEGIN IMMEDIATE (with
 * a busy timeout of 10 s), PostgreSQL by a transaction-scoped advisory lock taken in
 * db_begin, so "read MAX(version) then insert MAX+1" is safe in both.
 *
 *     struct db *db;
 *     db_open("sqlite:/path/registry.db", &db, err, sizeof err);   // or "postgres://..."
 *     db_migrate(db, migrations, n, err, sizeof err);
 *     db_begin(db, err, sizeof err);
 *     const char *p[2] = {"fraud", "1"};
 *     db_exec(db, "INSERT INTO t(name, v) VALUES(?, ?)", p, 2, NULL, err, sizeof err);
 *     db_commit(db, err, sizeof err);     // or db_rollback(db)
 *
 * Errors: MMSP_E_IO (cannot open/connect, disk, connection lost), MMSP_E_EXISTS (a UNIQUE or
 * PRIMARY KEY constraint was violated), MMSP_E_CONFLICT (a trigger refused the change, e.g.
 * an UPDATE of the append-only event table), MMSP_E_INVALID (bad SQL: a bug), each with the
 * engine's message in err.
 * Calls: libsqlite3, libpq.
 */
#ifndef MMSP_REGISTRY_DB_H
#define MMSP_REGISTRY_DB_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

enum db_kind { DB_SQLITE = 0, DB_POSTGRES };

struct db;

/*
 * url: "postgres://..." or "postgresql://..." (libpq connection URI), "sqlite:PATH", or a
 * plain PATH (SQLite). SQLite databases are created when missing, opened in WAL mode with
 * synchronous=FULL, foreign_keys=ON and a 10 s busy timeout.
 */
mmsp_err db_open(const char *url, struct db **out, char *err, size_t errlen);
void db_close(struct db *db); /* NULL is ignored; rolls back an open transaction */

enum db_kind db_kind(const struct db *db);

/* The URL the database was opened with, any password replaced by "***": safe for logs and
 * messages. Owned by db, valid until db_close. */
const char *db_url_redacted(const struct db *db);

/* Write transaction (see above). Nested begins are an error (MMSP_E_INVALID). */
mmsp_err db_begin(struct db *db, char *err, size_t errlen);
mmsp_err db_commit(struct db *db, char *err, size_t errlen);
void db_rollback(struct db *db); /* no-op outside a transaction */
int db_in_transaction(const struct db *db);

/* Runs one statement. `changes` (may be NULL) receives the number of rows it changed. */
mmsp_err db_exec(struct db *db, const char *sql, const char *const *params, size_t n_params,
                 int64_t *changes, char *err, size_t errlen);

/* Runs several ';'-separated statements without parameters (schema scripts). */
mmsp_err db_exec_script(struct db *db, const char *sql, char *err, size_t errlen);

/* A query result: n_rows x n_cols text cells, row-major; a cell is NULL for SQL NULL. */
struct db_rows {
    size_t n_rows, n_cols;
    char **cells; /* owned */
};

mmsp_err db_query(struct db *db, const char *sql, const char *const *params, size_t n_params,
                  struct db_rows *out, char *err, size_t errlen);
void db_rows_free(struct db_rows *rows); /* zeroes *rows; safe on a zeroed struct */

/* Cell (row, col) or NULL (SQL NULL or out of range). */
const char *db_cell(const struct db_rows *rows, size_t row, size_t col);

/*
 * Versioned schema migrations: a table schema_migrations(version, applied_at_ms) records
 * what ran. Each migration whose version is above the recorded maximum runs in its own write
 * transaction, in order, with its version recorded in the same transaction; a failure rolls
 * that migration back and returns the error (naming the version). Migrations are SQL scripts
 * valid for both engines, or per engine when `sqlite_sql` / `postgres_sql` differ (NULL =
 * use `sql`).
 */
struct db_migration {
    int version; /* 1, 2, 3, ... ascending */
    const char *sql;
    const char *sqlite_sql;
    const char *postgres_sql;
};

mmsp_err db_migrate(struct db *db, const struct db_migration *m, size_t n, char *err,
                    size_t errlen);

/* Highest applied migration version (0 = none). */
mmsp_err db_schema_version(struct db *db, int *out, char *err, size_t errlen);

/* Engine-level integrity check: SQLite PRAGMA integrity_check and foreign_key_check; for
 * PostgreSQL a round trip and a check that every foreign key holds (the engine enforces
 * them). MMSP_E_INTERNAL with the first problem in err when it fails. */
mmsp_err db_integrity_check(struct db *db, char *err, size_t errlen);

#endif
