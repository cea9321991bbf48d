/*
 * The SQLite driver of the SQL layer (db_driver.h): one sqlite3 connection in WAL mode with
 * synchronous=FULL, foreign keys on and a 10 s busy timeout; write transactions are
 * BEGIN IMMEDIATE, so writers queue on SQLite's single write lock across processes. Prepared
 * statements are cached per SQL text (a small LRU), always reset after use so no statement
 * holds a read snapshot between calls. Engine errors are mapped to mmsp_err here (see
 * map_error) and carry sqlite3_errmsg.
 * Calls: libsqlite3, db.c's helpers (db_fail, the row builder).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "registry/db_driver.h"

#define BUSY_TIMEOUT_MS 10000
#define STMT_CACHE      32

struct cached_stmt {
    char *sql; /* owned; NULL = free slot */
    sqlite3_stmt *stmt;
    uint64_t used; /* LRU tick */
};

struct sq {
    sqlite3 *h;
    char *path; /* owned, for messages */
    struct cached_stmt cache[STMT_CACHE];
    uint64_t tick;
};

static struct sq *sq_of(struct db *db)
{
    return db->impl;
}

/*
 * Extended result code -> mmsp_err. UNIQUE / PRIMARY KEY -> EXISTS; a trigger's RAISE and a
 * foreign key -> CONFLICT (the current state refuses the change); other constraints and bad
 * SQL -> INVALID; locks, disk and file problems -> IO.
 */
static mmsp_err map_error(int ext)
{
    switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
        return MMSP_E_EXISTS;
    case SQLITE_CONSTRAINT_TRIGGER:
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return MMSP_E_CONFLICT;
    default:
        break;
    }
    switch (ext & 0xff) {
    case SQLITE_NOMEM:
        return MMSP_E_NOMEM;
    case SQLITE_TOOBIG:
        return MMSP_E_TOO_LARGE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_AUTH:
        return MMSP_E_IO;
    case SQLITE_CONSTRAINT:
    default:
        return MMSP_E_INVALID;
    }
}

static mmsp_err engine_fail(struct sq *s, int code, char *err, size_t errlen)
{
    int ext = sqlite3_extended_errcode(s->h);
    if ((ext & 0xff) != (code & 0xff))
        ext = code; /* the connection's code was overwritten (e.g. by a reset) */
    mmsp_err rc = map_error(ext);
    if ((ext & 0xff) == SQLITE_BUSY)
        return db_fail(rc, err, errlen, "%s: database is locked (waited %d s): %s", s->path,
                       BUSY_TIMEOUT_MS / 1000, sqlite3_errmsg(s->h));
    return db_fail(rc, err, errlen, "%s", sqlite3_errmsg(s->h));
}

/* Runs SQL without parameters or results (pragmas that set, BEGIN, COMMIT). */
static mmsp_err simple_exec(struct sq *s, const char *sql, char *err, size_t errlen)
{
    int rc = sqlite3_exec(s->h, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return engine_fail(s, rc, err, errlen);
    return MMSP_OK;
}

/* A pragma that answers one value, compared with `want` (case-insensitive). */
static mmsp_err pragma_expect(struct sq *s, const char *sql, const char *want, char *err,
                              size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->h, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return engine_fail(s, rc, err, errlen);
    mmsp_err out = MMSP_OK;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (!v || strcasecmp(v, want) != 0)
            out = db_fail(MMSP_E_IO, err, errlen, "%s: \"%s\" answered \"%s\", want \"%s\"",
                          s->path, sql, v ? v : "NULL", want);
    } else if (rc != SQLITE_DONE) {
        out = engine_fail(s, rc, err, errlen);
    } else {
        out = db_fail(MMSP_E_IO, err, errlen, "%s: \"%s\" answered nothing", s->path, sql);
    }
    sqlite3_finalize(st);
    return out;
}

/*
 * A REAL as the shortest text that reads back as the same double (as PostgreSQL prints
 * DOUBLE PRECISION); SQLite's own conversion keeps only 15 digits, so 2/3 would not survive
 * a round trip. Infinities are spelled as PostgreSQL spells them (strtod reads both).
 */
static size_t format_double(double d, char *out, size_t len)
{
    if (isinf(d))
        return (size_t)snprintf(out, len, "%s", d > 0 ? "Infinity" : "-Infinity");
    int n = 0;
    for (int digits = 15; digits <= 17; digits++) {
        n = snprintf(out, len, "%.*g", digits, d);
        if (strtod(out, NULL) == d)
            break;
    }
    return n > 0 ? (size_t)n : 0;
}

/* ---- statement cache ---- */

static void cache_clear(struct sq *s)
{
    for (size_t i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(s->cache[i].stmt);
        free(s->cache[i].sql);
        memset(&s->cache[i], 0, sizeof s->cache[i]);
    }
}

/*
 * The prepared statement for `sql` (one statement only: trailing text other than comments
 * and whitespace is refused). *stmt is NULL for SQL without a statement (only comments).
 * The statement stays owned by the cache.
 */
static mmsp_err get_stmt(struct sq *s, const char *sql, sqlite3_stmt **stmt, char *err,
                         size_t errlen)
{
    *stmt = NULL;
    s->tick++;
    size_t victim = 0; /* a free slot, else the least recently used one */
    for (size_t i = 0; i < STMT_CACHE; i++) {
        if (s->cache[i].sql && strcmp(s->cache[i].sql, sql) == 0) {
            s->cache[i].used = s->tick;
            *stmt = s->cache[i].stmt;
            return MMSP_OK;
        }
        if (s->cache[i].used < s->cache[victim].used)
            victim = i; /* free slots have used == 0 */
    }
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v3(s->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail);
    if (rc != SQLITE_OK)
        return engine_fail(s, rc, err, errlen);
    if (!st)
        return MMSP_OK;
    if (tail && *tail) {
        sqlite3_stmt *more = NULL;
        rc = sqlite3_prepare_v2(s->h, tail, -1, &more, NULL);
        if (rc != SQLITE_OK || more) {
            sqlite3_finalize(more);
            sqlite3_finalize(st);
            return db_fail(MMSP_E_INVALID, err, errlen,
                           "more than one statement (use db_exec_script)");
        }
    }
    char *copy = strdup(sql);
    if (!copy) {
        sqlite3_finalize(st);
        return db_fail(MMSP_E_NOMEM, err, errlen, "out of memory");
    }
    struct cached_stmt *c = &s->cache[victim];
    sqlite3_finalize(c->stmt);
    free(c->sql);
    c->sql = copy;
    c->stmt = st;
    c->used = s->tick;
    *stmt = st;
    return MMSP_OK;
}

/* ---- driver functions ---- */

static mmsp_err sq_open(struct db *db, const char *path, char *err, size_t errlen)
{
    struct sq *s = calloc(1, sizeof *s);
    if (!s)
        return db_fail(MMSP_E_NOMEM, err, errlen, "out of memory");
    db->impl = s;
    mmsp_err rc = MMSP_OK;
    s->path = strdup(path);
    if (!s->path) {
        rc = db_fail(MMSP_E_NOMEM, err, errlen, "out of memory");
        goto out;
    }
    int src = sqlite3_open_v2(path, &s->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (src != SQLITE_OK) {
        rc = db_fail(src == SQLITE_NOMEM ? MMSP_E_NOMEM : MMSP_E_IO, err, errlen, "%s: %s", path,
                     s->h ? sqlite3_errmsg(s->h) : sqlite3_errstr(src));
        goto out;
    }
    sqlite3_extended_result_codes(s->h, 1);
    sqlite3_busy_timeout(s->h, BUSY_TIMEOUT_MS);
    /* journal_mode reads the file header: this is where "not a database" shows up. */
    rc = pragma_expect(s, "PRAGMA journal_mode=WAL", "wal", err, errlen);
    if (rc)
        goto prefixed;
    rc = simple_exec(s, "PRAGMA synchronous=FULL", err, errlen);
    if (rc)
        goto prefixed;
    rc = simple_exec(s, "PRAGMA foreign_keys=ON", err, errlen);
    if (rc)
        goto prefixed;
    rc = pragma_expect(s, "PRAGMA foreign_keys", "1", err, errlen);
    if (rc)
        goto prefixed;
    goto out;
prefixed:
    if (err && errlen && strncmp(err, path, strlen(path)) != 0) {
        char msg[MMSP_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", err);
        db_fail(rc, err, errlen, "%s: %s", path, msg);
    }
out:
    if (rc) {
        sqlite3_close_v2(s->h);
        free(s->path);
        free(s);
        db->impl = NULL;
    }
    return rc;
}

static void sq_close(struct db *db)
{
    struct sq *s = sq_of(db);
    if (!s)
        return;
    cache_clear(s);
    sqlite3_close_v2(s->h);
    free(s->path);
    free(s);
    db->impl = NULL;
}

static mmsp_err sq_begin(struct db *db, char *err, size_t errlen)
{
    return simple_exec(sq_of(db), "BEGIN IMMEDIATE", err, errlen);
}

/* SQLite rolls a transaction back by itself after some errors (disk full, I/O, out of
 * memory): then the connection is in autocommit mode although db.c still has one open. */
static int tx_lost(struct db *db)
{
    return db->in_tx && sqlite3_get_autocommit(sq_of(db)->h);
}

static mmsp_err lost_fail(char *err, size_t errlen)
{
    return db_fail(MMSP_E_IO, err, errlen,
                   "the transaction was rolled back by SQLite after an earlier error");
}

static mmsp_err sq_commit(struct db *db, char *err, size_t errlen)
{
    struct sq *s = sq_of(db);
    if (tx_lost(db))
        return lost_fail(err, errlen);
    mmsp_err rc = simple_exec(s, "COMMIT", err, errlen);
    if (rc && !sqlite3_get_autocommit(s->h))
        sqlite3_exec(s->h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void sq_rollback(struct db *db)
{
    struct sq *s = sq_of(db);
    if (!sqlite3_get_autocommit(s->h))
        sqlite3_exec(s->h, "ROLLBACK", NULL, NULL, NULL);
}

static mmsp_err sq_run(struct db *db, const char *sql, const char *const *params, size_t n_params,
                       int64_t *changes, struct db_rows *rows, char *err, size_t errlen)
{
    struct sq *s = sq_of(db);
    if (tx_lost(db))
        return lost_fail(err, errlen);
    sqlite3_stmt *st = NULL;
    mmsp_err rc = get_stmt(s, sql, &st, err, errlen);
    if (rc)
        return rc;
    if (!st) {
        if (n_params)
            return db_fail(MMSP_E_INVALID, err, errlen, "no statement but %zu parameters",
                           n_params);
        return MMSP_OK;
    }
    int want = sqlite3_bind_parameter_count(st);
    if ((size_t)want != n_params)
        return db_fail(MMSP_E_INVALID, err, errlen,
                       "the statement has %d placeholders, %zu parameters given", want, n_params);
    for (size_t i = 0; i < n_params; i++) {
        int brc = params[i] ? sqlite3_bind_text(st, (int)i + 1, params[i], -1, SQLITE_STATIC)
                            : sqlite3_bind_null(st, (int)i + 1);
        if (brc != SQLITE_OK) {
            rc = engine_fail(s, brc, err, errlen);
            goto out;
        }
    }
    struct db_rows_builder b;
    int n_cols = sqlite3_column_count(st);
    if (rows)
        db_rows_builder_start(&b, rows, (size_t)n_cols);
    sqlite3_int64 before = sqlite3_total_changes64(s->h);
    for (;;) {
        int src = sqlite3_step(st);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = engine_fail(s, src, err, errlen);
            break;
        }
        if (!rows)
            continue;
        for (int c = 0; c < n_cols && !rc; c++) {
            int type = sqlite3_column_type(st, c);
            if (type == SQLITE_NULL) {
                rc = db_rows_builder_add(&b, NULL, 0);
                continue;
            }
            if (type == SQLITE_FLOAT) {
                char num[40];
                size_t len = format_double(sqlite3_column_double(st, c), num, sizeof num);
                rc = db_rows_builder_add(&b, num, len);
                continue;
            }
            const char *v = (const char *)sqlite3_column_text(st, c);
            size_t len = (size_t)sqlite3_column_bytes(st, c);
            if (!v && sqlite3_errcode(s->h) == SQLITE_NOMEM)
                rc = MMSP_E_NOMEM;
            else
                rc = db_rows_builder_add(&b, v ? v : "", v ? len : 0);
        }
        if (rc) {
            rc = db_fail(rc, err, errlen, "%s",
                         rc == MMSP_E_TOO_LARGE ? "query result too large" : "out of memory");
            break;
        }
        db_rows_builder_end_row(&b);
    }
    if (rc && rows)
        db_rows_builder_abort(&b);
    if (!rc && changes && !sqlite3_stmt_readonly(st) && sqlite3_total_changes64(s->h) != before)
        *changes = sqlite3_changes64(s->h);
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static mmsp_err sq_script(struct db *db, const char *sql, char *err, size_t errlen)
{
    struct sq *s = sq_of(db);
    if (tx_lost(db))
        return lost_fail(err, errlen);
    return simple_exec(s, sql, err, errlen);
}

static mmsp_err sq_integrity_check(struct db *db, char *err, size_t errlen)
{
    struct sq *s = sq_of(db);
    struct db_rows r;
    mmsp_err rc = sq_run(db, "PRAGMA integrity_check", NULL, 0, NULL, &r, err, errlen);
    if (rc)
        return rc;
    const char *v = db_cell(&r, 0, 0);
    if (!v || strcmp(v, "ok") != 0)
        rc = db_fail(MMSP_E_INTERNAL, err, errlen, "%s: integrity_check: %s", s->path,
                     v ? v : "no answer");
    db_rows_free(&r);
    if (rc)
        return rc;
    rc = sq_run(db, "PRAGMA foreign_key_check", NULL, 0, NULL, &r, err, errlen);
    if (rc)
        return rc;
    if (r.n_rows > 0) {
        const char *t = db_cell(&r, 0, 0), *id = db_cell(&r, 0, 1), *parent = db_cell(&r, 0, 2);
        rc = db_fail(MMSP_E_INTERNAL, err, errlen,
                     "%s: foreign_key_check: %zu rows break a foreign key (first: table %s rowid "
                     "%s refers to a missing row of %s)",
                     s->path, r.n_rows, t ? t : "?", id ? id : "?", parent ? parent : "?");
    }
    db_rows_free(&r);
    return rc;
}

const struct db_driver db_sqlite_driver = {
    .name = "sqlite",
    .kind = DB_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .run = sq_run,
    .script = sq_script,
    .integrity_check = sq_integrity_check,
};
