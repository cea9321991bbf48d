/*
 * Unit tests for the SQL layer (src/registry/db*.c), on whichever engine testdb.h gives:
 * SQLite when run by ctest, a real PostgreSQL when tests/integration/test_registry_postgres.sh
 * runs this program with MMSP_TEST_PG_URL. Covered: opening and its errors, statements with
 * parameters and NULLs, '?' rewriting (pure cases plus '?' inside literals on the engine),
 * error mapping (EXISTS, trigger and foreign-key CONFLICT, INVALID), transactions, the
 * statement-level rollback inside a transaction, migrations (idempotent, a failure rolls back
 * only that migration), write serialisation between two connections and between threads,
 * the integrity check (passing and failing), and for PostgreSQL a reconnect after the server
 * dropped the session.
 * Calls: registry/db, registry/db_driver.h (the rewriter), testdb.h, pthreads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry/db.h"
#include "registry/db_driver.h"
#include "testdb.h"

struct fixture {
    char url[TESTDB_URL_MAX];
    struct db *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[MMSP_ERRMSG_MAX];
    if (!f || testdb_open_url(f->url, sizeof f->url, "db"))
        return -1;
    if (db_open(f->url, &f->db, err, sizeof err)) {
        fprintf(stderr, "db_open %s: %s\n", f->url, err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    db_close(f->db);
    free(f);
    return 0;
}

static struct db *db_of(void **state)
{
    return ((struct fixture *)*state)->db;
}

/* Runs SQL that must succeed. */
static void ok_exec(struct db *db, const char *sql, const char *const *p, size_t n)
{
    char err[MMSP_ERRMSG_MAX];
    mmsp_err rc = db_exec(db, sql, p, n, NULL, err, sizeof err);
    if (rc)
        fail_msg("%s: %s (%s)", sql, err, mmsp_err_name(rc));
}

static void ok_script(struct db *db, const char *sql)
{
    char err[MMSP_ERRMSG_MAX];
    mmsp_err rc = db_exec_script(db, sql, err, sizeof err);
    if (rc)
        fail_msg("%s: %s (%s)", sql, err, mmsp_err_name(rc));
}

/* The single value of a query that must succeed, as a malloc'd string ("NULL" for NULL). */
static char *scalar(struct db *db, const char *sql, const char *const *p, size_t n)
{
    char err[MMSP_ERRMSG_MAX];
    struct db_rows r;
    mmsp_err rc = db_query(db, sql, p, n, &r, err, sizeof err);
    if (rc)
        fail_msg("%s: %s (%s)", sql, err, mmsp_err_name(rc));
    assert_int_equal(r.n_rows, 1);
    const char *v = db_cell(&r, 0, 0);
    char *out = strdup(v ? v : "NULL");
    db_rows_free(&r);
    return out;
}

static long long scalar_ll(struct db *db, const char *sql)
{
    char *v = scalar(db, sql, NULL, 0);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

static int is_pg(struct db *db)
{
    return db_kind(db) == DB_POSTGRES;
}

/* ---- opening ---- */

static void test_open_errors(void **state)
{
    (void)state;
    struct db *db = (struct db *)1;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(db_open("", &db, err, sizeof err), MMSP_E_INVALID);
    assert_null(db);
    assert_int_equal(db_open("mysql://h/x", &db, err, sizeof err), MMSP_E_INVALID);
    assert_non_null(strstr(err, "unsupported"));
    assert_int_equal(db_open("sqlite:", &db, err, sizeof err), MMSP_E_INVALID);

    char dir[512], path[700];
    assert_int_equal(testdb_tmpdir(dir, sizeof dir, "open"), 0);
    snprintf(path, sizeof path, "sqlite:%s/no/such/dir/registry.db", dir);
    assert_int_equal(db_open(path, &db, err, sizeof err), MMSP_E_IO);
    assert_non_null(strstr(err, "no/such/dir"));

    /* A file that is not a database. */
    snprintf(path, sizeof path, "%s/garbage.db", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite file\n", fp);
    fclose(fp);
    assert_int_equal(db_open(path, &db, err, sizeof err), MMSP_E_IO);
    assert_non_null(strstr(err, "garbage.db"));

    /* Nothing listens on port 1; the password never shows in the message. */
    assert_int_equal(
        db_open("postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=5", &db, err, sizeof err),
        MMSP_E_IO);
    assert_null(db);
    assert_null(strstr(err, "s3cret"));
    assert_non_null(strstr(err, "***"));

    /* A URL libpq cannot parse is a bad argument. */
    assert_int_equal(db_open("postgres://u@h:99999999999/x?nosuchoption=1", &db, err, sizeof err),
                     MMSP_E_INVALID);
    assert_non_null(strstr(err, "nosuchoption"));

    /* A plain path and sqlite:// work too; the URL is shown as given (no secret in it). */
    snprintf(path, sizeof path, "%s/plain.db", dir);
    assert_int_equal(db_open(path, &db, err, sizeof err), MMSP_OK);
    assert_int_equal(db_kind(db), DB_SQLITE);
    assert_string_equal(db_url_redacted(db), path);
    db_close(db);
    char url[800];
    snprintf(url, sizeof url, "sqlite://%s", path);
    assert_int_equal(db_open(url, &db, err, sizeof err), MMSP_OK);
    assert_int_equal(scalar_ll(db, "SELECT 1 + 1"), 2);
    db_close(db);
    db_close(NULL);
}

static void test_sqlite_pragmas(void **state)
{
    struct db *db = db_of(state);
    if (is_pg(db))
        skip();
    char *mode = scalar(db, "PRAGMA journal_mode", NULL, 0);
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(scalar_ll(db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(scalar_ll(db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(scalar_ll(db, "PRAGMA busy_timeout"), 10000);
}

/* ---- statements ---- */

static void test_exec_query_params(void **state)
{
    struct db *db = db_of(state);
    char err[MMSP_ERRMSG_MAX];
    ok_script(db, "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL, "
                  "score DOUBLE PRECISION, note TEXT)");
    const char *rows[][4] = {
        {"1", "alpha", "0.85", "first"},
        {"2", "beta", NULL, NULL},
        {"9007199254740993", "gamma", "-1.5e-3", "multi\nline 'quoted' \"x\" ?"},
    };
    for (size_t i = 0; i < 3; i++) {
        int64_t changes = -1;
        mmsp_err rc = db_exec(db, "INSERT INTO t(id, name, score, note) VALUES(?, ?, ?, ?)",
                              rows[i], 4, &changes, err, sizeof err);
        assert_int_equal(rc, MMSP_OK);
        assert_int_equal(changes, 1);
    }
    struct db_rows r;
    assert_int_equal(db_query(db, "SELECT id, name, score, note FROM t ORDER BY id", NULL, 0, &r,
                              err, sizeof err),
                     MMSP_OK);
    assert_int_equal(r.n_rows, 3);
    assert_int_equal(r.n_cols, 4);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(db_cell(&r, i, 0), rows[i][0]);
        assert_string_equal(db_cell(&r, i, 1), rows[i][1]);
        if (rows[i][2])
            assert_true(strtod(db_cell(&r, i, 2), NULL) == strtod(rows[i][2], NULL));
        else
            assert_null(db_cell(&r, i, 2));
        if (rows[i][3])
            assert_string_equal(db_cell(&r, i, 3), rows[i][3]);
        else
            assert_null(db_cell(&r, i, 3));
    }
    assert_null(db_cell(&r, 3, 0));
    assert_null(db_cell(&r, 0, 4));
    db_rows_free(&r);
    db_rows_free(&r); /* zeroed: safe twice */
    assert_null(db_cell(&r, 0, 0));

    /* A parameter in WHERE, a NULL parameter, changes counted for several rows. */
    const char *two[] = {"2"};
    char *name = scalar(db, "SELECT name FROM t WHERE id = ?", two, 1);
    assert_string_equal(name, "beta");
    free(name);
    const char *upd[] = {NULL, "0"};
    int64_t changes = -1;
    assert_int_equal(
        db_exec(db, "UPDATE t SET note = ? WHERE id > ?", upd, 2, &changes, err, sizeof err),
        MMSP_OK);
    assert_int_equal(changes, 3);
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM t WHERE note IS NULL"), 3);
    assert_int_equal(db_exec(db, "DELETE FROM t WHERE id = ?", (const char *[]){"42"}, 1, &changes,
                             err, sizeof err),
                     MMSP_OK);
    assert_int_equal(changes, 0);
    /* A SELECT run through db_exec changes nothing. */
    assert_int_equal(db_exec(db, "SELECT * FROM t", NULL, 0, &changes, err, sizeof err), MMSP_OK);
    assert_int_equal(changes, 0);

    /* An empty result still says how many columns. */
    assert_int_equal(
        db_query(db, "SELECT id, name FROM t WHERE id < 0", NULL, 0, &r, err, sizeof err), MMSP_OK);
    assert_int_equal(r.n_rows, 0);
    assert_int_equal(r.n_cols, 2);
    db_rows_free(&r);

    /* Arithmetic on text parameters, LIMIT from a parameter, MAX+1 ids. */
    const char *lim[] = {"2"};
    assert_int_equal(
        db_query(db, "SELECT id FROM t ORDER BY id LIMIT ?", lim, 1, &r, err, sizeof err), MMSP_OK);
    assert_int_equal(r.n_rows, 2);
    db_rows_free(&r);
    char *next = scalar(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM t WHERE id < ?", two, 1);
    assert_string_equal(next, "2");
    free(next);

    /* Doubles read back exactly; integers stay integers. */
    ok_script(db, "CREATE TABLE f (k BIGINT PRIMARY KEY, x DOUBLE PRECISION, n BIGINT)");
    const char *doubles[] = {"0.6666666666666666",      "0.30000000000000004", "1",   "-2.5e-300",
                             "1.7976931348623157e+308", "123456789.125",       "0.85"};
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
        char k[8];
        snprintf(k, sizeof k, "%zu", i);
        const char *fp[] = {k, doubles[i], "-9223372036854775807"};
        ok_exec(db, "INSERT INTO f(k, x, n) VALUES(?, ?, ?)", fp, 3);
        char *x = scalar(db, "SELECT x FROM f WHERE k = ?", fp, 1);
        if (strtod(x, NULL) != strtod(doubles[i], NULL))
            fail_msg("double %s came back as %s", doubles[i], x);
        if (strcmp(doubles[i], "0.85") == 0 || strcmp(doubles[i], "1") == 0)
            assert_string_equal(x, doubles[i]); /* shortest form, both engines */
        free(x);
        char *n = scalar(db, "SELECT n FROM f WHERE k = ?", fp, 1);
        assert_string_equal(n, "-9223372036854775807");
        free(n);
    }

    /* A large value goes through whole. */
    size_t big_len = 1 << 20;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + i % 26);
    big[big_len] = '\0';
    const char *bp[] = {"7", "big", big};
    ok_exec(db, "INSERT INTO t(id, name, note) VALUES(?, ?, ?)", bp, 3);
    char *back = scalar(db, "SELECT note FROM t WHERE id = 7", NULL, 0);
    assert_string_equal(back, big);
    free(back);
    free(big);
}

static void test_bad_sql(void **state)
{
    struct db *db = db_of(state);
    char err[MMSP_ERRMSG_MAX];
    struct db_rows r;
    assert_int_equal(db_query(db, "SELEKT 1", NULL, 0, &r, err, sizeof err), MMSP_E_INVALID);
    assert_true(err[0] != '\0');
    assert_int_equal(r.n_rows, 0);
    assert_null(r.cells);
    assert_int_equal(db_exec(db, "SELECT * FROM no_such_table", NULL, 0, NULL, err, sizeof err),
                     MMSP_E_INVALID);
    assert_non_null(strstr(err, "no_such_table"));
    /* Placeholder count must match. */
    const char *p[] = {"1", "2"};
    assert_int_equal(db_exec(db, "SELECT ?", p, 2, NULL, err, sizeof err), MMSP_E_INVALID);
    assert_int_equal(db_exec(db, "SELECT ?, ?", p, 1, NULL, err, sizeof err), MMSP_E_INVALID);
    assert_int_equal(db_exec(db, "SELECT 1", p, 1, NULL, err, sizeof err), MMSP_E_INVALID);
    /* One statement per db_exec; scripts take several. */
    assert_int_equal(db_exec(db, "CREATE TABLE a(x TEXT); CREATE TABLE b(x TEXT)", NULL, 0, NULL,
                             err, sizeof err),
                     MMSP_E_INVALID);
    ok_script(db, "CREATE TABLE a(x TEXT); CREATE TABLE b(x TEXT);\n-- done\n");
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM b"), 0);
    assert_int_equal(db_exec_script(db, "CREATE TABLE c(x TEXT); BOGUS", err, sizeof err),
                     MMSP_E_INVALID);
    /* A trailing semicolon or comment is fine. */
    ok_exec(db, "INSERT INTO a(x) VALUES('1'); -- one", NULL, 0);
    /* Comment-only SQL does nothing. */
    ok_exec(db, "-- nothing", NULL, 0);
    assert_int_equal(db_exec(db, NULL, NULL, 0, NULL, err, sizeof err), MMSP_E_INVALID);
    assert_int_equal(db_exec(db, "SELECT ?", NULL, 1, NULL, err, sizeof err), MMSP_E_INVALID);
}

/* ---- '?' rewriting ---- */

static void rewrite_case(const char *in, const char *want, size_t want_n)
{
    struct buf out;
    size_t n = 99;
    assert_int_equal(db_pg_rewrite(in, strlen(in), &out, &n), MMSP_OK);
    if (strcmp(out.data, want) != 0)
        fail_msg("rewrite(%s) = %s, want %s", in, out.data, want);
    assert_int_equal(n, want_n);
    buf_release(&out);
}

static void test_rewrite(void **state)
{
    (void)state;
    rewrite_case("", "", 0);
    rewrite_case("SELECT 1", "SELECT 1", 0);
    rewrite_case("SELECT ?", "SELECT $1", 1);
    rewrite_case("INSERT INTO t VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                 "INSERT INTO t VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)", 11);
    rewrite_case("SELECT '?', ?", "SELECT '?', $1", 1);
    rewrite_case("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1);
    rewrite_case("SELECT E'\\'?', ?", "SELECT E'\\'?', $1", 1);
    rewrite_case("SELECT 'a\\', ?", "SELECT 'a\\', $1", 1); /* no E: backslash is plain */
    rewrite_case("SELECT \"we?rd\", ? FROM t", "SELECT \"we?rd\", $1 FROM t", 1);
    rewrite_case("SELECT \"a\"\"?\", ?", "SELECT \"a\"\"?\", $1", 1);
    rewrite_case("SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2", 2);
    rewrite_case("SELECT /* ? /* ? */ ? */ ?", "SELECT /* ? /* ? */ ? */ $1", 1);
    rewrite_case("SELECT $$ ? $$, $x$ ?$$ $x$, ?", "SELECT $$ ? $$, $x$ ?$$ $x$, $1", 1);
    rewrite_case("SELECT a$b, ?", "SELECT a$b, $1", 1);
    rewrite_case("SELECT 1 - ? / 2", "SELECT 1 - $1 / 2", 1);
    /* Unterminated: copied as it is. */
    rewrite_case("SELECT 'abc ?", "SELECT 'abc ?", 0);
    rewrite_case("SELECT ? /* ?", "SELECT $1 /* ?", 1);
    rewrite_case("SELECT $t$ ?", "SELECT $t$ ?", 0);
}

static void test_placeholders_in_literals(void **state)
{
    struct db *db = db_of(state);
    char err[MMSP_ERRMSG_MAX];
    struct db_rows r;
    const char *p[] = {"x", "y"};
    mmsp_err rc =
        db_query(db, "SELECT '?', ? /* ? */, 'a''?' , ? -- ?\n", p, 2, &r, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    assert_int_equal(r.n_cols, 4);
    assert_string_equal(db_cell(&r, 0, 0), "?");
    assert_string_equal(db_cell(&r, 0, 1), "x");
    assert_string_equal(db_cell(&r, 0, 2), "a'?");
    assert_string_equal(db_cell(&r, 0, 3), "y");
    db_rows_free(&r);
    ok_script(db, "CREATE TABLE \"odd?name\" (\"col?\" TEXT)");
    ok_exec(db, "INSERT INTO \"odd?name\" (\"col?\") VALUES (?)", p, 1);
    char *v = scalar(db, "SELECT \"col?\" FROM \"odd?name\" WHERE \"col?\" = ?", p, 1);
    assert_string_equal(v, "x");
    free(v);
}

/* ---- error mapping ---- */

static void test_exists_mapping(void **state)
{
    struct db *db = db_of(state);
    char err[MMSP_ERRMSG_MAX];
    ok_script(db, "CREATE TABLE m (name TEXT PRIMARY KEY, v BIGINT);"
                  "CREATE TABLE u (a TEXT, b TEXT, UNIQUE (a, b))");
    const char *p[] = {"fraud", "1"};
    ok_exec(db, "INSERT INTO m(name, v) VALUES(?, ?)", p, 2);
    assert_int_equal(
        db_exec(db, "INSERT INTO m(name, v) VALUES(?, ?)", p, 2, NULL, err, sizeof err),
        MMSP_E_EXISTS);
    assert_true(err[0] != '\0');
    ok_exec(db, "INSERT INTO u(a, b) VALUES(?, ?)", p, 2);
    assert_int_equal(db_exec(db, "INSERT INTO u(a, b) VALUES(?, ?)", p, 2, NULL, err, sizeof err),
                     MMSP_E_EXISTS);
    /* ON CONFLICT is portable and not an error. */
    const char *q[] = {"fraud", "5"};
    ok_exec(db,
            "INSERT INTO m(name, v) VALUES(?, ?) ON CONFLICT (name) DO UPDATE SET v = "
            "excluded.v",
            q, 2);
    assert_int_equal(scalar_ll(db, "SELECT v FROM m"), 5);
    /* NOT NULL is a bad argument, not EXISTS. */
    ok_script(db, "CREATE TABLE nn (x TEXT NOT NULL)");
    const char *null1[] = {NULL};
    assert_int_equal(db_exec(db, "INSERT INTO nn(x) VALUES(?)", null1, 1, NULL, err, sizeof err),
                     MMSP_E_INVALID);

    /* Inside a transaction a failed statement undoes itself only: the transaction goes on
     * (both engines; PostgreSQL through a savepoint per statement). */
    assert_int_equal(db_begin(db, err, sizeof err), MMSP_OK);
    const char *p2[] = {"spam", "2"};
    ok_exec(db, "INSERT INTO m(name, v) VALUES(?, ?)", p2, 2);
    assert_int_equal(
        db_exec(db, "INSERT INTO m(name, v) VALUES(?, ?)", p, 2, NULL, err, sizeof err),
        MMSP_E_EXISTS);
    assert_int_equal(db_exec(db, "SELEKT", NULL, 0, NULL, err, sizeof err), MMSP_E_INVALID);
    const char *p3[] = {"ham", "3"};
    ok_exec(db, "INSERT INTO m(name, v) VALUES(?, ?)", p3, 2);
    assert_int_equal(db_commit(db, err, sizeof err), MMSP_OK);
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM m"), 3);
}

static const struct db_migration trigger_migrations[] = {
    {1,
     "CREATE TABLE parent (id BIGINT PRIMARY KEY);"
     "CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL REFERENCES parent(id));"
     "CREATE TABLE events (id BIGINT PRIMARY KEY, what TEXT NOT NULL)",
     NULL, NULL},
    {2, NULL,
     "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
     "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
     "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
     "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
     "CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
     "BEGIN RAISE EXCEPTION 'events are append-only'; END $$;"
     "CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events "
     "FOR EACH ROW EXECUTE FUNCTION events_append_only()"},
};

static void test_trigger_and_fk_conflict(void **state)
{
    struct db *db = db_of(state);
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(db_migrate(db, trigger_migrations, 2, err, sizeof err), MMSP_OK);
    const char *e[] = {"1", "deployed"};
    ok_exec(db, "INSERT INTO events(id, what) VALUES(?, ?)", e, 2);
    assert_int_equal(db_exec(db, "UPDATE events SET what = 'x'", NULL, 0, NULL, err, sizeof err),
                     MMSP_E_CONFLICT);
    assert_non_null(strstr(err, "append-only"));
    assert_int_equal(db_exec(db, "DELETE FROM events", NULL, 0, NULL, err, sizeof err),
                     MMSP_E_CONFLICT);
    char *what = scalar(db, "SELECT what FROM events", NULL, 0);
    assert_string_equal(what, "deployed");
    free(what);

    /* A foreign key that does not hold. */
    const char *c[] = {"1", "99"};
    assert_int_equal(
        db_exec(db, "INSERT INTO child(id, parent_id) VALUES(?, ?)", c, 2, NULL, err, sizeof err),
        MMSP_E_CONFLICT);
    ok_exec(db, "INSERT INTO parent(id) VALUES(99)", NULL, 0);
    ok_exec(db, "INSERT INTO child(id, parent_id) VALUES(?, ?)", c, 2);
    assert_int_equal(db_exec(db, "DELETE FROM parent", NULL, 0, NULL, err, sizeof err),
                     MMSP_E_CONFLICT);
    assert_int_equal(db_integrity_check(db, err, sizeof err), MMSP_OK);
}

/* ---- migrations ---- */

static void test_migrations(void **state)
{
    struct db *db = db_of(state);
    char err[MMSP_ERRMSG_MAX];
    int v = -1;
    assert_int_equal(db_schema_version(db, &v, err, sizeof err), MMSP_OK);
    assert_int_equal(v, 0);
    struct db_migration m[] = {
        {1, "CREATE TABLE a (x TEXT)", NULL, NULL},
        {2, "CREATE TABLE b (x TEXT); INSERT INTO a(x) VALUES('from 2')", NULL, NULL},
        {3, "CREATE TABLE c (x TEXT); INSERT INTO nowhere(x) VALUES('1')", NULL, NULL},
    };
    assert_int_equal(db_migrate(db, m, 2, err, sizeof err), MMSP_OK);
    assert_int_equal(db_schema_version(db, &v, err, sizeof err), MMSP_OK);
    assert_int_equal(v, 2);
    /* Idempotent: nothing runs twice. */
    assert_int_equal(db_migrate(db, m, 2, err, sizeof err), MMSP_OK);
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM a"), 1);
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM schema_migrations"), 2);
    assert_true(scalar_ll(db, "SELECT MIN(applied_at_ms) FROM schema_migrations") >
                1600000000000LL);

    /* A failing migration is rolled back alone and named; the earlier ones stay. */
    assert_int_not_equal(db_migrate(db, m, 3, err, sizeof err), MMSP_OK);
    assert_non_null(strstr(err, "migration 3"));
    assert_non_null(strstr(err, "nowhere"));
    assert_int_equal(db_schema_version(db, &v, err, sizeof err), MMSP_OK);
    assert_int_equal(v, 2);
    assert_false(db_in_transaction(db));
    struct db_rows r;
    assert_int_not_equal(db_query(db, "SELECT x FROM c", NULL, 0, &r, err, sizeof err), MMSP_OK);

    /* Fixed, it applies. */
    m[2].sql = "CREATE TABLE c (x TEXT); INSERT INTO c(x) VALUES('1')";
    assert_int_equal(db_migrate(db, m, 3, err, sizeof err), MMSP_OK);
    assert_int_equal(db_schema_version(db, &v, err, sizeof err), MMSP_OK);
    assert_int_equal(v, 3);
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM c"), 1);

    /* Per-engine SQL wins over the shared one. */
    struct db_migration eng[] = {
        {4, "CREATE TABLE wrong (x TEXT)", "CREATE TABLE e_sqlite (x TEXT)",
         "CREATE TABLE e_pg (x TEXT)"},
    };
    assert_int_equal(db_migrate(db, eng, 1, err, sizeof err), MMSP_OK);
    assert_int_equal(
        scalar_ll(db, is_pg(db) ? "SELECT COUNT(*) FROM e_pg" : "SELECT COUNT(*) FROM e_sqlite"),
        0);
    assert_int_not_equal(db_query(db, "SELECT x FROM wrong", NULL, 0, &r, err, sizeof err),
                         MMSP_OK);

    /* Versions must ascend; migrating inside a transaction is refused. */
    struct db_migration bad[] = {{6, "SELECT 1", NULL, NULL}, {5, "SELECT 1", NULL, NULL}};
    assert_int_equal(db_migrate(db, bad, 2, err, sizeof err), MMSP_E_INVALID);
    assert_int_equal(db_begin(db, err, sizeof err), MMSP_OK);
    assert_int_equal(db_migrate(db, m, 3, err, sizeof err), MMSP_E_INVALID);
    db_rollback(db);
}

/* Two connections migrating the same database one after the other see each other's work;
 * run concurrently from threads, each migration is applied exactly once. */
struct migrate_arg {
    const char *url;
    mmsp_err rc;
    char err[MMSP_ERRMSG_MAX];
};

static const struct db_migration counted[] = {
    {1, "CREATE TABLE runs (n BIGINT PRIMARY KEY)", NULL, NULL},
    {2, "INSERT INTO runs(n) VALUES(2)", NULL, NULL},
    {3, "INSERT INTO runs(n) VALUES(3)", NULL, NULL},
};

static void *migrate_thread(void *p)
{
    struct migrate_arg *a = p;
    struct db *db = NULL;
    a->rc = db_open(a->url, &db, a->err, sizeof a->err);
    if (!a->rc)
        a->rc = db_migrate(db, counted, 3, a->err, sizeof a->err);
    db_close(db);
    return NULL;
}

static void test_concurrent_migrations(void **state)
{
    struct fixture *f = *state;
    enum { N = 4 };
    pthread_t t[N];
    struct migrate_arg a[N];
    for (int i = 0; i < N; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].url = f->url;
        assert_int_equal(pthread_create(&t[i], NULL, migrate_thread, &a[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        if (a[i].rc)
            fail_msg("thread %d: %s", i, a[i].err);
    }
    assert_int_equal(scalar_ll(f->db, "SELECT COUNT(*) FROM runs"), 2);
    assert_int_equal(scalar_ll(f->db, "SELECT COUNT(*) FROM schema_migrations"), 3);
}

/* ---- transactions ---- */

static void test_transactions(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    char err[MMSP_ERRMSG_MAX];
    ok_script(db, "CREATE TABLE t (x TEXT)");
    assert_false(db_in_transaction(db));
    assert_int_equal(db_commit(db, err, sizeof err), MMSP_E_INVALID);
    db_rollback(db); /* no-op */

    assert_int_equal(db_begin(db, err, sizeof err), MMSP_OK);
    assert_true(db_in_transaction(db));
    assert_int_equal(db_begin(db, err, sizeof err), MMSP_E_INVALID);
    assert_true(db_in_transaction(db));
    ok_exec(db, "INSERT INTO t(x) VALUES('gone')", NULL, 0);
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM t"), 1);
    db_rollback(db);
    assert_false(db_in_transaction(db));
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM t"), 0);

    /* Uncommitted rows are invisible to another connection; committed ones are seen. */
    struct db *other = NULL;
    assert_int_equal(db_open(f->url, &other, err, sizeof err), MMSP_OK);
    assert_int_equal(db_begin(db, err, sizeof err), MMSP_OK);
    ok_exec(db, "INSERT INTO t(x) VALUES('kept')", NULL, 0);
    assert_int_equal(scalar_ll(other, "SELECT COUNT(*) FROM t"), 0);
    assert_int_equal(db_commit(db, err, sizeof err), MMSP_OK);
    assert_false(db_in_transaction(db));
    assert_int_equal(scalar_ll(other, "SELECT COUNT(*) FROM t"), 1);

    /* Closing with a transaction open rolls it back. */
    assert_int_equal(db_begin(other, err, sizeof err), MMSP_OK);
    ok_exec(other, "INSERT INTO t(x) VALUES('dropped')", NULL, 0);
    db_close(other);
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM t"), 1);
    /* And the write lock was released: this begin does not wait. */
    assert_int_equal(db_begin(db, err, sizeof err), MMSP_OK);
    db_rollback(db);
}

/*
 * One connection holds a write transaction; another connection's db_begin (in a thread)
 * must wait until the first commits, and then see the committed row. The order is
 * checked, not durations: the thread's begin cannot have returned before the commit.
 */
struct waiter {
    const char *url;
    atomic_int began;
    mmsp_err rc;
    char seen[32];
    char err[MMSP_ERRMSG_MAX];
};

static void *waiter_thread(void *p)
{
    struct waiter *w = p;
    struct db *db = NULL;
    struct db_rows r = {0};
    w->rc = db_open(w->url, &db, w->err, sizeof w->err);
    if (w->rc)
        return NULL;
    w->rc = db_begin(db, w->err, sizeof w->err);
    if (w->rc)
        goto out;
    atomic_store(&w->began, 1);
    w->rc = db_query(db, "SELECT COALESCE(MAX(seq), 0) FROM q", NULL, 0, &r, w->err, sizeof w->err);
    if (w->rc)
        goto out;
    snprintf(w->seen, sizeof w->seen, "%s", db_cell(&r, 0, 0) ? db_cell(&r, 0, 0) : "NULL");
    w->rc = db_exec(db, "INSERT INTO q(seq) SELECT COALESCE(MAX(seq), 0) + 1 FROM q", NULL, 0, NULL,
                    w->err, sizeof w->err);
    if (w->rc)
        goto out;
    w->rc = db_commit(db, w->err, sizeof w->err);
out:
    db_rows_free(&r);
    db_close(db);
    return NULL;
}

static void test_begin_waits_for_writer(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    char err[MMSP_ERRMSG_MAX];
    ok_script(db, "CREATE TABLE q (seq BIGINT PRIMARY KEY)");
    assert_int_equal(db_begin(db, err, sizeof err), MMSP_OK);
    ok_exec(db, "INSERT INTO q(seq) VALUES(1)", NULL, 0);

    struct waiter w;
    memset(&w, 0, sizeof w);
    w.url = f->url;
    atomic_init(&w.began, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_thread, &w), 0);
    /* Give the thread time to reach its begin (if it has not, the checks still hold). */
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(atomic_load(&w.began), 0);
    assert_int_equal(db_commit(db, err, sizeof err), MMSP_OK);
    pthread_join(t, NULL);
    if (w.rc)
        fail_msg("waiter: %s (%s)", w.err, mmsp_err_name(w.rc));
    assert_string_equal(w.seen, "1");
    assert_int_equal(scalar_ll(db, "SELECT MAX(seq) FROM q"), 2);
}

/* Several threads, each with its own connection, allocate ids as MAX+1 inside write
 * transactions: no duplicate (the primary key would say EXISTS), none lost. */
struct counter_arg {
    const char *url;
    int rounds;
    mmsp_err rc;
    char err[MMSP_ERRMSG_MAX];
};

static void *counter_thread(void *p)
{
    struct counter_arg *a = p;
    struct db *db = NULL;
    a->rc = db_open(a->url, &db, a->err, sizeof a->err);
    for (int i = 0; i < a->rounds && !a->rc; i++) {
        struct db_rows r;
        a->rc = db_begin(db, a->err, sizeof a->err);
        if (a->rc)
            break;
        a->rc = db_query(db, "SELECT COALESCE(MAX(seq), 0) + 1 FROM q", NULL, 0, &r, a->err,
                         sizeof a->err);
        if (!a->rc) {
            const char *p1[] = {db_cell(&r, 0, 0)};
            a->rc = db_exec(db, "INSERT INTO q(seq) VALUES(?)", p1, 1, NULL, a->err, sizeof a->err);
            db_rows_free(&r);
        }
        if (!a->rc)
            a->rc = db_commit(db, a->err, sizeof a->err);
        else
            db_rollback(db);
    }
    db_close(db);
    return NULL;
}

static void test_max_plus_one_threads(void **state)
{
    struct fixture *f = *state;
    ok_script(f->db, "CREATE TABLE q (seq BIGINT PRIMARY KEY)");
    enum { N = 4, ROUNDS = 25 };
    pthread_t t[N];
    struct counter_arg a[N];
    for (int i = 0; i < N; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].url = f->url;
        a[i].rounds = ROUNDS;
        assert_int_equal(pthread_create(&t[i], NULL, counter_thread, &a[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        if (a[i].rc)
            fail_msg("thread %d: %s (%s)", i, a[i].err, mmsp_err_name(a[i].rc));
    }
    assert_int_equal(scalar_ll(f->db, "SELECT COUNT(*) FROM q"), N * ROUNDS);
    assert_int_equal(scalar_ll(f->db, "SELECT MAX(seq) FROM q"), N * ROUNDS);
}

/* ---- integrity ---- */

static void test_integrity_check(void **state)
{
    struct db *db = db_of(state);
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(db_integrity_check(db, err, sizeof err), MMSP_OK);
    ok_script(db, "CREATE TABLE parent (id BIGINT PRIMARY KEY);"
                  "CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT)");
    ok_exec(db, "INSERT INTO parent(id) VALUES(1)", NULL, 0);
    ok_exec(db, "INSERT INTO child(id, parent_id) VALUES(1, 1)", NULL, 0);
    ok_exec(db, "INSERT INTO child(id, parent_id) VALUES(2, 2)", NULL, 0); /* an orphan */
    assert_int_equal(db_integrity_check(db, err, sizeof err), MMSP_OK);
    if (is_pg(db)) {
        /* A foreign key added NOT VALID is not enforced on existing rows: reported. */
        ok_script(db, "ALTER TABLE child ADD CONSTRAINT child_parent FOREIGN KEY (parent_id) "
                      "REFERENCES parent(id) NOT VALID");
        assert_int_equal(db_integrity_check(db, err, sizeof err), MMSP_E_INTERNAL);
        assert_non_null(strstr(err, "child_parent"));
        ok_exec(db, "DELETE FROM child WHERE id = 2", NULL, 0);
        ok_script(db, "ALTER TABLE child VALIDATE CONSTRAINT child_parent");
    } else {
        /* Rebuild child with a foreign key while enforcement is off: the orphan stays. */
        ok_exec(db, "PRAGMA foreign_keys=OFF", NULL, 0);
        ok_script(db, "CREATE TABLE child2 (id BIGINT PRIMARY KEY, parent_id BIGINT "
                      "REFERENCES parent(id));"
                      "INSERT INTO child2 SELECT id, parent_id FROM child;"
                      "DROP TABLE child; ALTER TABLE child2 RENAME TO child");
        ok_exec(db, "PRAGMA foreign_keys=ON", NULL, 0);
        assert_int_equal(db_integrity_check(db, err, sizeof err), MMSP_E_INTERNAL);
        assert_non_null(strstr(err, "foreign_key_check"));
        ok_exec(db, "DELETE FROM child WHERE id = 2", NULL, 0);
    }
    assert_int_equal(db_integrity_check(db, err, sizeof err), MMSP_OK);
}

/* ---- PostgreSQL: a dropped session is reconnected on the next call ---- */

static void test_pg_reconnect(void **state)
{
    struct db *db = db_of(state);
    if (!is_pg(db))
        skip();
    char err[MMSP_ERRMSG_MAX];
    ok_script(db, "CREATE TABLE t (x TEXT)");
    char *pid = scalar(db, "SELECT pg_backend_pid()", NULL, 0);
    struct db *admin = NULL;
    assert_int_equal(db_open(testdb_pg_admin_url(), &admin, err, sizeof err), MMSP_OK);
    const char *p[] = {pid};
    char *killed = scalar(admin, "SELECT pg_terminate_backend(CAST(? AS INTEGER))", p, 1);
    assert_string_equal(killed, "t");
    free(killed);
    /* Wait (bounded) until the backend is gone, so the next call surely meets a dead
     * session. */
    for (int i = 0; i < 500; i++) {
        char *n = scalar(admin,
                         "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = "
                         "CAST(? AS INTEGER)",
                         p, 1);
        int gone = strcmp(n, "0") == 0;
        free(n);
        if (gone)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(pid);
    db_close(admin);

    struct db_rows r;
    mmsp_err rc = db_query(db, "SELECT COUNT(*) FROM t", NULL, 0, &r, err, sizeof err);
    assert_int_equal(rc, MMSP_E_IO);
    /* The next call reconnects. */
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM t"), 0);
    ok_exec(db, "INSERT INTO t(x) VALUES('after')", NULL, 0);

    /* Lost inside a transaction: the transaction fails, then the session recovers. */
    assert_int_equal(db_begin(db, err, sizeof err), MMSP_OK);
    pid = scalar(db, "SELECT pg_backend_pid()", NULL, 0);
    assert_int_equal(db_open(testdb_pg_admin_url(), &admin, err, sizeof err), MMSP_OK);
    const char *p2[] = {pid};
    killed = scalar(admin, "SELECT pg_terminate_backend(CAST(? AS INTEGER))", p2, 1);
    free(killed);
    db_close(admin);
    free(pid);
    assert_int_equal(db_exec(db, "INSERT INTO t(x) VALUES('lost')", NULL, 0, NULL, err, sizeof err),
                     MMSP_E_IO);
    assert_int_not_equal(db_commit(db, err, sizeof err), MMSP_OK);
    assert_false(db_in_transaction(db));
    assert_int_equal(scalar_ll(db, "SELECT COUNT(*) FROM t"), 1);
}

int main(void)
{
    printf("test_db: backend %s\n", testdb_backend_name());
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_rewrite),
        T(test_sqlite_pragmas),
        T(test_exec_query_params),
        T(test_bad_sql),
        T(test_placeholders_in_literals),
        T(test_exists_mapping),
        T(test_trigger_and_fk_conflict),
        T(test_migrations),
        T(test_concurrent_migrations),
        T(test_transactions),
        T(test_begin_waits_for_writer),
        T(test_max_plus_one_threads),
        T(test_integrity_check),
        T(test_pg_reconnect),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
