/*
 * The PostgreSQL driver of the SQL layer (db_driver.h), over libpq. Statements go through
 * PQexecParams with text parameters after db.c rewrote '?' to $n. A write transaction is
 * BEGIN (READ COMMITTED) plus a transaction-scoped advisory lock, so writers queue across
 * processes the way SQLite's single write lock makes them. Inside a transaction every
 * statement runs under a savepoint, so a failed statement undoes only itself and the
 * transaction goes on, as in SQLite. A session the server dropped is reset once on the next
 * call outside a transaction. SQLSTATEs are mapped to mmsp_err in map_sqlstate. libpq's
 * notices (e.g. "relation already exists, skipping") are silenced.
 * Calls: libpq, db.c's helpers (db_fail, db_pg_rewrite, the row builder), common/buf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "registry/db_driver.h"

/* pg_advisory_xact_lock key of the registry's write lock ("mmsp" in ASCII). Advisory locks
 * are per database, so two registries in two databases do not share it. */
#define WRITE_LOCK_SQL "SELECT pg_advisory_xact_lock(1835889520)"
#define SAVEPOINT      "mmsp_stmt"

struct pg {
    PGconn *conn;
};

static PGconn *conn_of(struct db *db)
{
    return ((struct pg *)db->impl)->conn;
}

static void quiet_notices(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* PQerrorMessage without its trailing newline, into err. */
static mmsp_err conn_fail(struct db *db, mmsp_err rc, const char *what, char *err, size_t errlen)
{
    const char *m = PQerrorMessage(conn_of(db));
    size_t len = strlen(m);
    while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
        len--;
    return db_fail(rc, err, errlen, "%s: %s: %.*s", db_url_redacted(db), what, (int)len, m);
}

/*
 * SQLSTATE -> mmsp_err. 23505 unique_violation -> EXISTS; 23503 foreign_key_violation and
 * class P0 (PL/pgSQL RAISE, as a trigger refusing a change does) or our own class MM ->
 * CONFLICT; connection, resource, operator-intervention, lock-timeout, serialization and
 * system errors -> IO; 54 program limit -> TOO_LARGE; the rest (syntax, data, other
 * constraints) -> INVALID.
 */
static mmsp_err map_sqlstate(const char *st)
{
    if (!st || strlen(st) != 5)
        return MMSP_E_IO; /* no SQLSTATE: libpq itself failed (connection) */
    if (strcmp(st, "23505") == 0)
        return MMSP_E_EXISTS;
    if (strcmp(st, "23503") == 0 || strncmp(st, "P0", 2) == 0 || strncmp(st, "MM", 2) == 0)
        return MMSP_E_CONFLICT;
    if (strcmp(st, "53200") == 0)
        return MMSP_E_NOMEM;
    if (strncmp(st, "54", 2) == 0)
        return MMSP_E_TOO_LARGE;
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 || strncmp(st, "57", 2) == 0 ||
        strncmp(st, "58", 2) == 0 || strncmp(st, "40", 2) == 0 || strncmp(st, "XX", 2) == 0 ||
        strcmp(st, "55P03") == 0 || strcmp(st, "55006") == 0)
        return MMSP_E_IO;
    return MMSP_E_INVALID;
}

/* The error of a failed result: message (plus detail) into err, mapped code returned. */
static mmsp_err result_fail(struct db *db, PGresult *res, char *err, size_t errlen)
{
    if (!res || PQstatus(conn_of(db)) == CONNECTION_BAD)
        return conn_fail(db, MMSP_E_IO, "connection lost", err, errlen);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    if (!msg)
        msg = PQresultErrorMessage(res);
    mmsp_err rc = map_sqlstate(state);
    if (detail)
        return db_fail(rc, err, errlen, "%s (%s)", msg, detail);
    return db_fail(rc, err, errlen, "%s", msg);
}

/* Runs SQL without parameters that must answer COMMAND_OK or TUPLES_OK. */
static mmsp_err simple(struct db *db, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn_of(db), sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    mmsp_err rc = MMSP_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = result_fail(db, res, err, errlen);
    PQclear(res);
    return rc;
}

/* Per-session settings, again after every reconnect. */
static mmsp_err session_setup(struct db *db, char *err, size_t errlen)
{
    PQsetNoticeProcessor(conn_of(db), quiet_notices, NULL);
    /* Waiting for the write lock gives up after 10 s, like SQLite's busy timeout. */
    return simple(db, "SET lock_timeout = '10s'", err, errlen);
}

/*
 * Makes sure the session is usable. A session the server dropped is reset once, but only
 * outside a transaction: inside one the transaction is lost and the caller must see that.
 */
static mmsp_err ensure_connected(struct db *db, char *err, size_t errlen)
{
    PGconn *c = conn_of(db);
    if (PQstatus(c) == CONNECTION_OK)
        return MMSP_OK;
    if (db->in_tx)
        return db_fail(MMSP_E_IO, err, errlen,
                       "%s: the connection was lost inside a transaction (rolled back)",
                       db_url_redacted(db));
    PQreset(c);
    if (PQstatus(c) != CONNECTION_OK)
        return conn_fail(db, MMSP_E_IO, "reconnect failed", err, errlen);
    return session_setup(db, err, errlen);
}

/* ---- driver functions ---- */

static mmsp_err pg_open(struct db *db, const char *url, char *err, size_t errlen)
{
    /* A URL libpq cannot parse is the caller's mistake, not an I/O failure. */
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &why);
    if (!opts) {
        mmsp_err bad = db_fail(why ? MMSP_E_INVALID : MMSP_E_NOMEM, err, errlen, "%s: %s",
                               db_url_redacted(db), why ? why : "out of memory");
        if (bad == MMSP_E_INVALID) {
            size_t n = strlen(err ? err : "");
            while (n && err[n - 1] == '\n')
                err[--n] = '\0';
        }
        PQfreemem(why);
        return bad;
    }
    PQconninfoFree(opts);
    struct pg *p = calloc(1, sizeof *p);
    if (!p)
        return db_fail(MMSP_E_NOMEM, err, errlen, "out of memory");
    db->impl = p;
    /* Defaults first: the URL (expanded from dbname) overrides any of them. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "client_encoding",
                          "dbname", NULL};
    const char *vals[] = {"10", "mmsp", "UTF8", url, NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    mmsp_err rc = MMSP_OK;
    if (!p->conn) {
        rc = db_fail(MMSP_E_NOMEM, err, errlen, "out of memory");
        goto out;
    }
    if (PQstatus(p->conn) != CONNECTION_OK) {
        rc = conn_fail(db, MMSP_E_IO, "cannot connect", err, errlen);
        goto out;
    }
    rc = session_setup(db, err, errlen);
out:
    if (rc) {
        PQfinish(p->conn);
        free(p);
        db->impl = NULL;
    }
    return rc;
}

static void pg_close(struct db *db)
{
    struct pg *p = db->impl;
    if (!p)
        return;
    PQfinish(p->conn);
    free(p);
    db->impl = NULL;
}

static mmsp_err pg_begin(struct db *db, char *err, size_t errlen)
{
    mmsp_err rc = ensure_connected(db, err, errlen);
    if (rc)
        return rc;
    /* READ COMMITTED: every statement after the lock sees what earlier writers committed. */
    rc = simple(db, "BEGIN ISOLATION LEVEL READ COMMITTED", err, errlen);
    if (rc)
        return rc;
    PGresult *res = PQexec(conn_of(db), WRITE_LOCK_SQL);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (state && strcmp(state, "55P03") == 0)
            rc = db_fail(MMSP_E_IO, err, errlen,
                         "%s: the write lock is held by another writer (waited 10 s)",
                         db_url_redacted(db));
        else
            rc = result_fail(db, res, err, errlen);
        if (PQstatus(conn_of(db)) == CONNECTION_OK)
            simple(db, "ROLLBACK", NULL, 0);
    }
    PQclear(res);
    return rc;
}

static mmsp_err pg_commit(struct db *db, char *err, size_t errlen)
{
    PGconn *c = conn_of(db);
    if (PQstatus(c) != CONNECTION_OK)
        return db_fail(MMSP_E_IO, err, errlen,
                       "%s: the connection was lost inside a transaction (rolled back)",
                       db_url_redacted(db));
    PGresult *res = PQexec(c, "COMMIT");
    mmsp_err rc = MMSP_OK;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = result_fail(db, res, err, errlen);
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        /* The server answers ROLLBACK when the transaction had failed. */
        rc = db_fail(MMSP_E_IO, err, errlen, "the transaction was rolled back by the server");
    }
    PQclear(res);
    /* A failed COMMIT ends the transaction too; make sure nothing stays open. */
    if (rc && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        simple(db, "ROLLBACK", NULL, 0);
    return rc;
}

static void pg_rollback(struct db *db)
{
    PGconn *c = conn_of(db);
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        simple(db, "ROLLBACK", NULL, 0);
}

/* Inside a transaction: open the statement's savepoint. */
static mmsp_err stmt_begin(struct db *db, char *err, size_t errlen)
{
    if (!db->in_tx)
        return MMSP_OK;
    return simple(db, "SAVEPOINT " SAVEPOINT, err, errlen);
}

/* Inside a transaction: keep (ok) or undo (failed) the statement's work. */
static void stmt_end(struct db *db, int ok)
{
    if (!db->in_tx || PQstatus(conn_of(db)) != CONNECTION_OK)
        return;
    if (ok)
        simple(db, "RELEASE SAVEPOINT " SAVEPOINT, NULL, 0);
    else
        simple(db, "ROLLBACK TO SAVEPOINT " SAVEPOINT "; RELEASE SAVEPOINT " SAVEPOINT, NULL, 0);
}

static mmsp_err collect_rows(PGresult *res, struct db_rows *rows, char *err, size_t errlen)
{
    struct db_rows_builder b;
    int n_rows = PQntuples(res), n_cols = PQnfields(res);
    db_rows_builder_start(&b, rows, (size_t)n_cols);
    mmsp_err rc = MMSP_OK;
    for (int r = 0; r < n_rows && !rc; r++) {
        for (int c = 0; c < n_cols && !rc; c++) {
            if (PQgetisnull(res, r, c))
                rc = db_rows_builder_add(&b, NULL, 0);
            else
                rc = db_rows_builder_add(&b, PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
        }
        db_rows_builder_end_row(&b);
    }
    if (rc) {
        db_rows_builder_abort(&b);
        return db_fail(rc, err, errlen, "%s",
                       rc == MMSP_E_TOO_LARGE ? "query result too large" : "out of memory");
    }
    return MMSP_OK;
}

static mmsp_err pg_run(struct db *db, const char *sql, const char *const *params, size_t n_params,
                       int64_t *changes, struct db_rows *rows, char *err, size_t errlen)
{
    struct buf text;
    size_t n_marks = 0;
    PGresult *res = NULL;
    mmsp_err rc = db_pg_rewrite(sql, strlen(sql), &text, &n_marks);
    if (rc)
        return db_fail(rc, err, errlen, "%s",
                       rc == MMSP_E_NOMEM ? "out of memory" : "SQL too long");
    if (n_marks != n_params) {
        rc = db_fail(MMSP_E_INVALID, err, errlen,
                     "the statement has %zu placeholders, %zu parameters given", n_marks, n_params);
        goto out;
    }
    if (n_params > 65535) {
        rc = db_fail(MMSP_E_TOO_LARGE, err, errlen, "too many parameters");
        goto out;
    }
    rc = ensure_connected(db, err, errlen);
    if (rc)
        goto out;
    rc = stmt_begin(db, err, errlen);
    if (rc)
        goto out;
    res = PQexecParams(conn_of(db), text.data, (int)n_params, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (rows && st == PGRES_TUPLES_OK)
            rc = collect_rows(res, rows, err, errlen);
        if (changes) {
            const char *n = PQcmdTuples(res);
            *changes = *n ? strtoll(n, NULL, 10) : 0;
            /* A SELECT reports its row count as "tuples": it changed nothing. */
            if (strncmp(PQcmdStatus(res), "SELECT", 6) == 0)
                *changes = 0;
        }
    } else if (st == PGRES_EMPTY_QUERY) {
        rc = MMSP_OK; /* only comments */
    } else {
        rc = result_fail(db, res, err, errlen);
    }
    stmt_end(db, rc == MMSP_OK);
out:
    PQclear(res);
    buf_release(&text);
    return rc;
}

static mmsp_err pg_script(struct db *db, const char *sql, char *err, size_t errlen)
{
    mmsp_err rc = ensure_connected(db, err, errlen);
    if (rc)
        return rc;
    rc = stmt_begin(db, err, errlen);
    if (rc)
        return rc;
    PGresult *res = PQexec(conn_of(db), sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        rc = result_fail(db, res, err, errlen);
    PQclear(res);
    stmt_end(db, rc == MMSP_OK);
    return rc;
}

static mmsp_err pg_integrity_check(struct db *db, char *err, size_t errlen)
{
    struct db_rows r;
    mmsp_err rc = pg_run(db, "SELECT 1", NULL, 0, NULL, &r, err, errlen);
    if (rc)
        return rc;
    int one = r.n_rows == 1 && db_cell(&r, 0, 0) && strcmp(db_cell(&r, 0, 0), "1") == 0;
    db_rows_free(&r);
    if (!one)
        return db_fail(MMSP_E_INTERNAL, err, errlen, "%s: SELECT 1 did not answer 1",
                       db_url_redacted(db));
    /* The engine enforces every validated constraint; one added NOT VALID may not hold. */
    rc = pg_run(db,
                "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c "
                "JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE c.contype IN ('f', 'c') AND NOT c.convalidated "
                "AND n.nspname = current_schema() ORDER BY 1, 2",
                NULL, 0, NULL, &r, err, errlen);
    if (rc)
        return rc;
    if (r.n_rows > 0)
        rc = db_fail(MMSP_E_INTERNAL, err, errlen,
                     "%s: %zu constraints are not validated (first: %s on table %s)",
                     db_url_redacted(db), r.n_rows, db_cell(&r, 0, 1) ? db_cell(&r, 0, 1) : "?",
                     db_cell(&r, 0, 0) ? db_cell(&r, 0, 0) : "?");
    db_rows_free(&r);
    return rc;
}

const struct db_driver db_postgres_driver = {
    .name = "postgres",
    .kind = DB_POSTGRES,
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .run = pg_run,
    .script = pg_script,
    .integrity_check = pg_integrity_check,
};
