/*
 * Fresh databases for the registry's unit tests, so every store test runs against SQLite
 * (plain ctest) and against a real PostgreSQL (tests/integration/test_registry_postgres.sh
 * runs the same executables with MMSP_TEST_PG_URL set). Header-only: each
 * tests/unit/registry/test_*.c is its own program.
 *
 *     #include "testdb.h"
 *     char url[TESTDB_URL_MAX];
 *     assert_int_equal(testdb_open_url(url, sizeof url, "store"), 0);
 *     ... db_open(url, ...) or the store's config .url = url ...
 *     printf("backend: %s\n", testdb_backend_name());
 *
 * testdb_open_url(url, len, tag): a new, empty database each call.
 *   - MMSP_TEST_PG_URL unset: "sqlite:<fresh temp dir>/registry.db".
 *   - MMSP_TEST_PG_URL=postgres://user@host:port/db (a role that may create schemas there):
 *     creates the schema t_<pid>_<counter>_<tag> in that database and returns the same URL
 *     with "options=-csearch_path=<schema>", so everything the test creates lands in its own
 *     empty namespace. (A schema rather than a whole database: with fsync on, CREATE and
 *     DROP DATABASE cost about a second each here, which made the PostgreSQL run of the
 *     registry tests too slow; tables, indexes, functions and triggers are all per schema.
 *     Advisory locks are per database, so programs sharing the database also share the write
 *     lock: they stay correct, they may only wait for each other.)
 *   Returns 0, or -1 after printing why to stderr.
 * testdb_tmpdir(dir, len, tag): a fresh empty temp directory (e.g. a store's --data).
 * testdb_pg_admin_url(): MMSP_TEST_PG_URL or NULL. testdb_backend_name(): "sqlite"|"postgres".
 * Temp directories are removed and PostgreSQL schemas dropped when the program exits.
 * Calls: registry/db (to create and drop the PostgreSQL schemas), libc.
 */
#ifndef MMSP_TESTS_TESTDB_H
#define MMSP_TESTS_TESTDB_H

#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/db.h"

#define TESTDB_URL_MAX 1024

static char **testdb_dirs_; /* to remove at exit */
static size_t testdb_n_dirs_;
static char **testdb_pg_names_; /* schemas to drop at exit */
static size_t testdb_n_pg_;
static unsigned testdb_counter_;
static pid_t testdb_owner_; /* only the process that created them cleans up (not a fork) */

static inline const char *testdb_pg_admin_url(void)
{
    const char *u = getenv("MMSP_TEST_PG_URL");
    return u && *u ? u : NULL;
}

static inline const char *testdb_backend_name(void)
{
    return testdb_pg_admin_url() ? "postgres" : "sqlite";
}

/* The postgres:// URL `base` with the session's search_path set to `schema` ('=' is
 * percent-encoded inside the options value). */
static inline int testdb_pg_url_with_schema_(const char *base, const char *schema, char *out,
                                             size_t len)
{
    if (!strstr(base, "://"))
        return -1;
    int n = snprintf(out, len, "%s%coptions=-csearch_path%%3D%s", base,
                     strchr(base, '?') ? '&' : '?', schema);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Appends a copy of s to a growable list; -1 when out of memory. */
static inline int testdb_remember_(char ***list, size_t *n, const char *s)
{
    char **grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    *list = grown;
    if (!(grown[*n] = strdup(s)))
        return -1;
    (*n)++;
    return 0;
}

static inline int testdb_rm_(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static inline void testdb_cleanup_(void)
{
    if (getpid() != testdb_owner_)
        return;
    for (size_t i = 0; i < testdb_n_dirs_; i++) {
        nftw(testdb_dirs_[i], testdb_rm_, 16, FTW_DEPTH | FTW_PHYS);
        free(testdb_dirs_[i]);
    }
    free(testdb_dirs_);
    testdb_dirs_ = NULL;
    testdb_n_dirs_ = 0;
    const char *admin = testdb_pg_admin_url();
    struct db *db = NULL;
    char err[MMSP_ERRMSG_MAX];
    if (admin && testdb_n_pg_ && db_open(admin, &db, err, sizeof err) == MMSP_OK) {
        for (size_t i = 0; i < testdb_n_pg_; i++) {
            char sql[256];
            snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", testdb_pg_names_[i]);
            if (db_exec_script(db, sql, err, sizeof err))
                fprintf(stderr, "testdb: %s: %s\n", testdb_pg_names_[i], err);
        }
        db_close(db);
    }
    for (size_t i = 0; i < testdb_n_pg_; i++)
        free(testdb_pg_names_[i]);
    free(testdb_pg_names_);
    testdb_pg_names_ = NULL;
    testdb_n_pg_ = 0;
}

static inline void testdb_register_cleanup_(void)
{
    if (!testdb_owner_) {
        testdb_owner_ = getpid();
        atexit(testdb_cleanup_);
    }
}

static inline int testdb_tmpdir(char *dir, size_t len, const char *tag)
{
    testdb_register_cleanup_();
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, len, "%s/mmsp-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    if (n < 0 || (size_t)n >= len || !mkdtemp(dir)) {
        perror("testdb: mkdtemp");
        return -1;
    }
    return testdb_remember_(&testdb_dirs_, &testdb_n_dirs_, dir);
}

static inline int testdb_open_url(char *url, size_t len, const char *tag)
{
    testdb_register_cleanup_();
    const char *admin = testdb_pg_admin_url();
    if (!admin) {
        char dir[512];
        if (testdb_tmpdir(dir, sizeof dir, tag))
            return -1;
        int n = snprintf(url, len, "sqlite:%s/registry.db", dir);
        return n > 0 && (size_t)n < len ? 0 : -1;
    }
    /* Unquoted identifier: lower-case letters, digits and '_' only, within 63 bytes. */
    char name[64];
    int n = snprintf(name, sizeof name, "t_%ld_%u_", (long)getpid(), ++testdb_counter_);
    for (size_t i = 0; tag && tag[i] && (size_t)n + 1 < sizeof name; i++)
        name[n++] = isalnum((unsigned char)tag[i]) ? (char)tolower((unsigned char)tag[i]) : '_';
    name[n] = '\0';
    struct db *db = NULL;
    char err[MMSP_ERRMSG_MAX], sql[128];
    if (db_open(admin, &db, err, sizeof err)) {
        fprintf(stderr, "testdb: %s\n", err);
        return -1;
    }
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", name);
    int rc = db_exec_script(db, sql, err, sizeof err);
    db_close(db);
    if (rc) {
        fprintf(stderr, "testdb: %s: %s\n", name, err);
        return -1;
    }
    if (testdb_remember_(&testdb_pg_names_, &testdb_n_pg_, name))
        return -1;
    if (testdb_n_pg_ == 1) /* test_registry_postgres.sh looks for this line */
        fprintf(stderr, "testdb: postgres schemas via MMSP_TEST_PG_URL\n");
    if (testdb_pg_url_with_schema_(admin, name, url, len)) {
        fprintf(stderr, "testdb: cannot build a URL from MMSP_TEST_PG_URL=%s\n", admin);
        return -1;
    }
    return 0;
}

#endif
