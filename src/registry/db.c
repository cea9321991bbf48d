/*
 * The engine-independent half of the SQL layer (db.h): picks a driver from the URL, keeps the
 * transaction state and checks misuse (nested begin, commit with none open) once for both
 * engines, runs versioned schema migrations, holds the result-row helpers, and rewrites '?'
 * placeholders into PostgreSQL's $n. The drivers (db_sqlite.c, db_postgres.c) only talk to
 * their engine. Design: docs/registry-db.md.
 * Calls: the drivers through struct db_driver (db_driver.h), common/buf.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/db_driver.h"

#define MIGRATIONS_TABLE_SQL                                                                       \
    "CREATE TABLE IF NOT EXISTS schema_migrations ("                                               \
    "version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)"

mmsp_err db_fail(mmsp_err rc, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static void clear_err(char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
}

/* ---- URL handling ---- */

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/*
 * "postgres://user:secret@host/db" -> "postgres://user:***@host/db"; a "password=" query
 * parameter is masked too. Other URLs are copied. Returns a malloc'd string or NULL.
 */
static char *redact_url(const char *url)
{
    struct buf b;
    buf_init(&b, DB_SQL_MAX_BYTES);
    const char *scheme_end = strstr(url, "://");
    const char *p = url;
    if (scheme_end) {
        const char *auth = scheme_end + 3;
        size_t auth_len = strcspn(auth, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < auth_len; i++)
            if (auth[i] == '@')
                at = auth + i; /* the last '@' ends the user info */
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            if (buf_append(&b, url, (size_t)(colon - url) + 1) || buf_append_str(&b, "***"))
                goto fail;
            p = at;
        }
    }
    /* Mask "password=..." in the query string (or a key=value connection string). */
    while (*p) {
        const char *pw = strstr(p, "password=");
        if (!pw) {
            if (buf_append_str(&b, p))
                goto fail;
            break;
        }
        if (buf_append(&b, p, (size_t)(pw - p)) || buf_append_str(&b, "password=***"))
            goto fail;
        p = pw + strlen("password=");
        p += strcspn(p, "& ");
    }
    if (!b.data && buf_append_str(&b, ""))
        goto fail;
    return buf_detach(&b, NULL);
fail:
    buf_release(&b);
    return NULL;
}

/* ---- open / close ---- */

mmsp_err db_open(const char *url, struct db **out, char *err, size_t errlen)
{
    clear_err(err, errlen);
    *out = NULL;
    if (!url || !*url)
        return db_fail(MMSP_E_INVALID, err, errlen, "empty database URL");
    const struct db_driver *drv = &db_sqlite_driver;
    const char *target = url;
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://")) {
        drv = &db_postgres_driver;
    } else if (has_prefix(url, "sqlite:")) {
        target = url + strlen("sqlite:");
        if (has_prefix(target, "//"))
            target += 2; /* sqlite:///abs/path */
        if (!*target)
            return db_fail(MMSP_E_INVALID, err, errlen, "%s: no path after sqlite:", url);
    } else if (strstr(url, "://")) {
        return db_fail(MMSP_E_INVALID, err, errlen,
                       "%s: unsupported database URL (want postgres://..., sqlite:PATH or a path)",
                       url);
    }
    struct db *db = calloc(1, sizeof *db);
    if (!db)
        return db_fail(MMSP_E_NOMEM, err, errlen, "out of memory");
    db->drv = drv;
    db->display = redact_url(url);
    if (!db->display) {
        free(db);
        return db_fail(MMSP_E_NOMEM, err, errlen, "out of memory");
    }
    mmsp_err rc = drv->open(db, target, err, errlen);
    if (rc) {
        free(db->display);
        free(db);
        return rc;
    }
    *out = db;
    return MMSP_OK;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    db_rollback(db);
    db->drv->close(db);
    free(db->display);
    free(db);
}

enum db_kind db_kind(const struct db *db)
{
    return db->drv->kind;
}

const char *db_url_redacted(const struct db *db)
{
    return db->display;
}

/* ---- transactions ---- */

mmsp_err db_begin(struct db *db, char *err, size_t errlen)
{
    clear_err(err, errlen);
    if (db->in_tx)
        return db_fail(MMSP_E_INVALID, err, errlen, "a transaction is already open");
    mmsp_err rc = db->drv->begin(db, err, errlen);
    if (rc == MMSP_OK)
        db->in_tx = 1;
    return rc;
}

mmsp_err db_commit(struct db *db, char *err, size_t errlen)
{
    clear_err(err, errlen);
    if (!db->in_tx)
        return db_fail(MMSP_E_INVALID, err, errlen, "commit without a transaction");
    mmsp_err rc = db->drv->commit(db, err, errlen);
    /* Whether it committed or failed, the transaction is over (a failed commit is rolled
     * back by the driver). */
    db->in_tx = 0;
    return rc;
}

void db_rollback(struct db *db)
{
    if (!db || !db->in_tx)
        return;
    db->drv->rollback(db);
    db->in_tx = 0;
}

int db_in_transaction(const struct db *db)
{
    return db->in_tx;
}

/* ---- statements ---- */

static mmsp_err check_sql(const char *sql, const char *const *params, size_t n_params, char *err,
                          size_t errlen)
{
    if (!sql)
        return db_fail(MMSP_E_INVALID, err, errlen, "no SQL");
    if (strlen(sql) > DB_SQL_MAX_BYTES)
        return db_fail(MMSP_E_TOO_LARGE, err, errlen, "SQL statement too large");
    if (n_params && !params)
        return db_fail(MMSP_E_INVALID, err, errlen, "%zu parameters but no array", n_params);
    return MMSP_OK;
}

mmsp_err db_exec(struct db *db, const char *sql, const char *const *params, size_t n_params,
                 int64_t *changes, char *err, size_t errlen)
{
    clear_err(err, errlen);
    if (changes)
        *changes = 0;
    mmsp_err rc = check_sql(sql, params, n_params, err, errlen);
    if (rc)
        return rc;
    return db->drv->run(db, sql, params, n_params, changes, NULL, err, errlen);
}

mmsp_err db_exec_script(struct db *db, const char *sql, char *err, size_t errlen)
{
    clear_err(err, errlen);
    mmsp_err rc = check_sql(sql, NULL, 0, err, errlen);
    if (rc)
        return rc;
    return db->drv->script(db, sql, err, errlen);
}

mmsp_err db_query(struct db *db, const char *sql, const char *const *params, size_t n_params,
                  struct db_rows *out, char *err, size_t errlen)
{
    clear_err(err, errlen);
    memset(out, 0, sizeof *out);
    mmsp_err rc = check_sql(sql, params, n_params, err, errlen);
    if (rc)
        return rc;
    rc = db->drv->run(db, sql, params, n_params, NULL, out, err, errlen);
    if (rc)
        db_rows_free(out);
    return rc;
}

mmsp_err db_integrity_check(struct db *db, char *err, size_t errlen)
{
    clear_err(err, errlen);
    return db->drv->integrity_check(db, err, errlen);
}

/* ---- rows ---- */

void db_rows_free(struct db_rows *rows)
{
    if (!rows)
        return;
    if (rows->cells) {
        size_t n = rows->n_rows * rows->n_cols;
        for (size_t i = 0; i < n; i++)
            free(rows->cells[i]);
        free(rows->cells);
    }
    memset(rows, 0, sizeof *rows);
}

const char *db_cell(const struct db_rows *rows, size_t row, size_t col)
{
    if (!rows || !rows->cells || row >= rows->n_rows || col >= rows->n_cols)
        return NULL;
    return rows->cells[row * rows->n_cols + col];
}

void db_rows_builder_start(struct db_rows_builder *b, struct db_rows *rows, size_t n_cols)
{
    memset(rows, 0, sizeof *rows);
    rows->n_cols = n_cols;
    b->rows = rows;
    b->cap = 0;
    b->n = 0;
    b->bytes = 0;
}

mmsp_err db_rows_builder_add(struct db_rows_builder *b, const char *cell, size_t len)
{
    /* Count a NULL cell as one pointer's worth, so a huge result of NULLs is bounded too. */
    size_t cost = (cell ? len + 1 : 0) + sizeof(char *);
    if (b->bytes + cost > DB_ROWS_MAX_BYTES)
        return MMSP_E_TOO_LARGE;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        char **cells = realloc(b->rows->cells, cap * sizeof *cells);
        if (!cells)
            return MMSP_E_NOMEM;
        b->rows->cells = cells;
        b->cap = cap;
    }
    char *copy = NULL;
    if (cell) {
        copy = malloc(len + 1);
        if (!copy)
            return MMSP_E_NOMEM;
        memcpy(copy, cell, len);
        copy[len] = '\0';
    }
    b->rows->cells[b->n++] = copy;
    b->bytes += cost;
    return MMSP_OK;
}

void db_rows_builder_abort(struct db_rows_builder *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->rows->cells[i]);
    free(b->rows->cells);
    memset(b->rows, 0, sizeof *b->rows);
    b->cap = b->n = b->bytes = 0;
}

void db_rows_builder_end_row(struct db_rows_builder *b)
{
    if (b->rows->n_cols)
        b->rows->n_rows = b->n / b->rows->n_cols;
}

/* ---- '?' -> $n ---- */

static int is_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (unsigned char)c >= 0x80;
}

/* Length of a dollar-quote tag "$tag$" starting at s[0] == '$' (0 when it is not one, e.g.
 * "$1"). */
static size_t dollar_tag_len(const char *s, size_t left)
{
    size_t i = 1;
    if (i < left && s[i] >= '0' && s[i] <= '9')
        return 0;
    while (i < left && s[i] != '$' && is_ident_char(s[i]))
        i++;
    if (i < left && s[i] == '$')
        return i + 1;
    return 0;
}

mmsp_err db_pg_rewrite(const char *sql, size_t len, struct buf *out, size_t *n_placeholders)
{
    buf_init(out, DB_SQL_MAX_BYTES + 64);
    *n_placeholders = 0;
    size_t i = 0, n = 0;
    mmsp_err rc = MMSP_OK;
    while (i < len) {
        char c = sql[i];
        size_t start = i;
        if (c == '?') {
            n++;
            rc = buf_printf(out, "$%zu", n);
            if (rc)
                goto out;
            i++;
            continue;
        }
        if (c == '\'') {
            /* E'..' (not part of a longer identifier) takes backslash escapes. */
            int backslash = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                            (i < 2 || !is_ident_char(sql[i - 2]));
            i++;
            while (i < len) {
                if (backslash && sql[i] == '\\' && i + 1 < len) {
                    i += 2;
                } else if (sql[i] == '\'') {
                    if (i + 1 < len && sql[i + 1] == '\'') {
                        i += 2;
                    } else {
                        i++;
                        break;
                    }
                } else {
                    i++;
                }
            }
        } else if (c == '"') {
            i++;
            while (i < len) {
                if (sql[i] == '"') {
                    i++;
                    if (i < len && sql[i] == '"') {
                        i++;
                        continue;
                    }
                    break;
                }
                i++;
            }
        } else if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < len && sql[i + 1] == '*') {
            size_t depth = 1;
            i += 2;
            while (i < len && depth) {
                if (sql[i] == '/' && i + 1 < len && sql[i + 1] == '*') {
                    depth++;
                    i += 2;
                } else if (sql[i] == '*' && i + 1 < len && sql[i + 1] == '/') {
                    depth--;
                    i += 2;
                } else {
                    i++;
                }
            }
        } else if (c == '$' && (i == 0 || !is_ident_char(sql[i - 1]))) {
            size_t tag = dollar_tag_len(sql + i, len - i);
            if (tag) {
                i += tag;
                while (i < len) {
                    if (sql[i] == '$' && len - i >= tag && memcmp(sql + i, sql + start, tag) == 0) {
                        i += tag;
                        break;
                    }
                    i++;
                }
            } else {
                i++;
            }
        } else {
            /* Plain text up to the next character that may start something. */
            i++;
            while (i < len && !strchr("?'\"-/$", sql[i]))
                i++;
        }
        rc = buf_append(out, sql + start, i - start);
        if (rc)
            goto out;
    }
    if (!out->data)
        rc = buf_append(out, "", 0);
    *n_placeholders = n;
out:
    if (rc)
        buf_release(out);
    return rc;
}

/* ---- migrations ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* MAX(version) of schema_migrations (the table must exist). */
static mmsp_err read_version(struct db *db, int *out, char *err, size_t errlen)
{
    struct db_rows r;
    mmsp_err rc =
        db_query(db, "SELECT MAX(version) FROM schema_migrations", NULL, 0, &r, err, errlen);
    if (rc)
        return rc;
    const char *v = db_cell(&r, 0, 0);
    *out = v ? atoi(v) : 0;
    db_rows_free(&r);
    return MMSP_OK;
}

mmsp_err db_schema_version(struct db *db, int *out, char *err, size_t errlen)
{
    clear_err(err, errlen);
    *out = 0;
    /* Ask the catalog first so a fresh database answers 0 instead of "no such table". */
    const char *sql = db_kind(db) == DB_SQLITE
                          ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                            "name = 'schema_migrations'"
                          : "SELECT COUNT(*) FROM information_schema.tables WHERE "
                            "table_schema = current_schema() AND table_name = 'schema_migrations'";
    struct db_rows r;
    mmsp_err rc = db_query(db, sql, NULL, 0, &r, err, errlen);
    if (rc)
        return rc;
    const char *c = db_cell(&r, 0, 0);
    int exists = c && atoi(c) > 0;
    db_rows_free(&r);
    if (!exists)
        return MMSP_OK;
    return read_version(db, out, err, errlen);
}

/*
 * Each migration runs in its own write transaction. The write lock (BEGIN IMMEDIATE /
 * advisory lock) is taken before the recorded version is read, so when two processes
 * migrate at once the second one sees what the first applied and skips it.
 */
mmsp_err db_migrate(struct db *db, const struct db_migration *m, size_t n, char *err, size_t errlen)
{
    clear_err(err, errlen);
    if (db->in_tx)
        return db_fail(MMSP_E_INVALID, err, errlen, "migrations cannot run inside a transaction");
    for (size_t i = 0; i < n; i++) {
        if (m[i].version <= 0 || (i > 0 && m[i].version <= m[i - 1].version))
            return db_fail(MMSP_E_INVALID, err, errlen,
                           "migration versions must be positive and ascending (got %d)",
                           m[i].version);
    }
    char msg[MMSP_ERRMSG_MAX];
    mmsp_err rc = db_begin(db, msg, sizeof msg);
    if (rc)
        goto fail_plain;
    rc = db_exec(db, MIGRATIONS_TABLE_SQL, NULL, 0, NULL, msg, sizeof msg);
    if (rc)
        goto fail_plain;
    rc = db_commit(db, msg, sizeof msg);
    if (rc)
        goto fail_plain;

    for (size_t i = 0; i < n; i++) {
        rc = db_begin(db, msg, sizeof msg);
        if (rc)
            goto fail_version;
        int current = 0;
        rc = read_version(db, &current, msg, sizeof msg);
        if (rc)
            goto fail_version;
        if (m[i].version <= current) {
            db_rollback(db);
            continue;
        }
        const char *sql = m[i].sql;
        if (db_kind(db) == DB_SQLITE && m[i].sqlite_sql)
            sql = m[i].sqlite_sql;
        if (db_kind(db) == DB_POSTGRES && m[i].postgres_sql)
            sql = m[i].postgres_sql;
        if (!sql) {
            rc = db_fail(MMSP_E_INVALID, msg, sizeof msg, "no SQL for %s", db->drv->name);
            goto fail_version;
        }
        rc = db_exec_script(db, sql, msg, sizeof msg);
        if (rc)
            goto fail_version;
        char version[24], at[24];
        snprintf(version, sizeof version, "%d", m[i].version);
        snprintf(at, sizeof at, "%lld", (long long)now_ms());
        const char *p[2] = {version, at};
        rc = db_exec(db, "INSERT INTO schema_migrations(version, applied_at_ms) VALUES(?, ?)", p, 2,
                     NULL, msg, sizeof msg);
        if (rc)
            goto fail_version;
        rc = db_commit(db, msg, sizeof msg);
        if (rc)
            goto fail_version;
        continue;
    fail_version:
        db_rollback(db);
        return db_fail(rc, err, errlen, "migration %d: %s", m[i].version, msg);
    }
    return MMSP_OK;
fail_plain:
    db_rollback(db);
    return db_fail(rc, err, errlen, "schema_migrations: %s", msg);
}
