/*
 * The store's guarantees on a real store: the event history is append-only in the engine
 * itself (a raw UPDATE or DELETE through the db layer is refused), an artifact changed on
 * disk is caught by the digest check, registry_check finds missing and damaged artifacts and
 * names the version, and concurrent registrations through two handles (as two processes
 * would) and through one shared handle get distinct, gap-free version numbers.
 * SQLite by default, PostgreSQL with MMSP_TEST_PG_URL (testdb.h).
 */
#include "test_registry_fixture.h"

#include <pthread.h>
#include <unistd.h>

#include "registry/db.h"

static void test_events_append_only(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "check_events");
    fx_register(&f, "fraud", 1);
    struct reg_deploy_request q = {.name = "fraud", .model = "fraud", .version = 1, .canary = -1};
    FX_RC(&f, registry_deploy(f.r, &q, NULL, f.err, sizeof f.err), MMSP_OK);

    struct db *db = NULL;
    FX_RC(&f, db_open(f.url, &db, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, db_exec(db, "UPDATE events SET who = 'mallory'", NULL, 0, NULL, f.err, sizeof f.err),
          MMSP_E_CONFLICT);
    assert_non_null(strstr(f.err, "append-only"));
    FX_RC(&f, db_exec(db, "DELETE FROM events", NULL, 0, NULL, f.err, sizeof f.err),
          MMSP_E_CONFLICT);
    if (db_kind(db) == DB_POSTGRES)
        FX_RC(&f, db_exec(db, "TRUNCATE events", NULL, 0, NULL, f.err, sizeof f.err),
              MMSP_E_CONFLICT);
    /* inserting is what the history is for */
    FX_RC(&f,
          db_exec(db,
                  "INSERT INTO events (id, deployment, environment, at_ms, who, action, detail)"
                  " VALUES (1000, 'x', 'staging', 0, 'w', 'a', '{}')",
                  NULL, 0, NULL, f.err, sizeof f.err),
          MMSP_OK);
    db_close(db);

    struct reg_event *ev;
    size_t n;
    FX_RC(&f, registry_history(f.r, "fraud", NULL, &ev, &n, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].who, "tester");
    reg_event_list_free(ev, n);
    /* ids keep growing after the one inserted by hand */
    FX_RC(&f, registry_event_append(f.r, "x", NULL, NULL, "note", NULL, f.err, sizeof f.err),
          MMSP_OK);
    FX_RC(&f, registry_history(f.r, "x", NULL, &ev, &n, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ev[1].id, 1001);
    reg_event_list_free(ev, n);
    fx_close(&f);
}

static void overwrite(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void test_artifact_digest_and_check(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "check_artifacts");
    fx_register(&f, "fraud", 1);
    fx_register(&f, "fraud", 2);
    fx_register(&f, "spam", 3);
    FX_RC(&f, registry_check(f.r, f.err, sizeof f.err), MMSP_OK);

    struct reg_version v1, v2;
    char p1[4096], p2[4096];
    FX_RC(&f, registry_version_get(f.r, "fraud", 1, &v1, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_version_get(f.r, "fraud", 2, &v2, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_artifact_path(f.r, &v1, 1, p1, sizeof p1, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_artifact_path(f.r, &v2, 1, p2, sizeof p2, f.err, sizeof f.err), MMSP_OK);

    /* Same size, other bytes: only the digest can tell. */
    char text[8192];
    fx_model_json(1, text, sizeof text);
    text[strlen(text) - 2] = ' ';
    overwrite(p1, text);
    FX_RC(&f, registry_artifact_path(f.r, &v1, 1, p1, sizeof p1, f.err, sizeof f.err),
          MMSP_E_BAD_MODEL);
    assert_non_null(strstr(f.err, "digest mismatch"));
    /* without verify it is only a path */
    FX_RC(&f, registry_artifact_path(f.r, &v1, 0, p1, sizeof p1, f.err, sizeof f.err), MMSP_OK);
    /* a missing file */
    assert_int_equal(unlink(p2), 0);
    FX_RC(&f, registry_artifact_path(f.r, &v2, 1, p2, sizeof p2, f.err, sizeof f.err),
          MMSP_E_NOT_FOUND);

    FX_RC(&f, registry_check(f.r, f.err, sizeof f.err), MMSP_E_INTERNAL);
    assert_non_null(strstr(f.err, "fraud v1: digest mismatch"));
    assert_non_null(strstr(f.err, "fraud v2: artifact missing"));
    assert_null(strstr(f.err, "spam"));

    /* Registering the same bytes again repairs the damaged file (it is not reused). */
    fx_register(&f, "fraud", 1);
    fx_register(&f, "fraud", 2);
    FX_RC(&f, registry_check(f.r, f.err, sizeof f.err), MMSP_OK);
    FX_RC(&f, registry_artifact_path(f.r, &v1, 1, p1, sizeof p1, f.err, sizeof f.err), MMSP_OK);

    /* a digest that is not hex never becomes a path */
    free(v1.digest);
    v1.digest = strdup("../../etc/passwd");
    FX_RC(&f, registry_artifact_path(f.r, &v1, 0, p1, sizeof p1, f.err, sizeof f.err),
          MMSP_E_INVALID);
    reg_version_free(&v1);
    reg_version_free(&v2);
    fx_close(&f);
}

#define PER_THREAD 8

struct worker {
    struct fx *f;
    struct registry *r;
    int first_variant;
    int64_t got[PER_THREAD];
    mmsp_err rc;
    char err[1024];
};

static void *register_many(void *arg)
{
    struct worker *w = arg;
    char manifest[2048];
    fx_manifest(0.94, 0.9, manifest, sizeof manifest);
    for (int i = 0; i < PER_THREAD; i++) {
        char text[8192];
        fx_model_json(w->first_variant + i, text, sizeof text);
        struct reg_register_request q = {.name = "fraud",
                                         .artifact_data = text,
                                         .artifact_len = strlen(text),
                                         .manifest_text = manifest,
                                         .manifest_len = strlen(manifest)};
        struct reg_version v;
        w->rc = registry_register(w->r, &q, &v, w->err, sizeof w->err);
        if (w->rc)
            return NULL;
        w->got[i] = v.version;
        reg_version_free(&v);
    }
    return NULL;
}

static void run_workers(struct fx *f, struct registry *a, struct registry *b, int64_t base)
{
    struct worker w[2] = {{.f = f, .r = a, .first_variant = 0},
                          {.f = f, .r = b, .first_variant = 5}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, register_many, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    int seen[2 * PER_THREAD + 1] = {0};
    for (int i = 0; i < 2; i++) {
        if (w[i].rc)
            fail_msg("worker %d: %s: %s", i, mmsp_err_name(w[i].rc), w[i].err);
        for (int k = 0; k < PER_THREAD; k++) {
            int64_t v = w[i].got[k] - base;
            assert_true(v >= 1 && v <= 2 * PER_THREAD);
            assert_int_equal(seen[v], 0);
            seen[v] = 1;
            if (k)
                assert_true(w[i].got[k] > w[i].got[k - 1]);
        }
    }
}

static void test_concurrent_registrations(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, "check_concurrent");
    /* two handles on one store, as two processes */
    struct registry *other = fx_reopen(&f, "other");
    run_workers(&f, f.r, other, 0);
    registry_close(other);
    /* one handle shared by two threads */
    run_workers(&f, f.r, f.r, 2 * PER_THREAD);
    struct reg_model m;
    FX_RC(&f, registry_model_get(f.r, "fraud", &m, f.err, sizeof f.err), MMSP_OK);
    assert_int_equal(m.latest_version, 4 * PER_THREAD);
    reg_model_free(&m);
    FX_RC(&f, registry_check(f.r, f.err, sizeof f.err), MMSP_OK);
    fx_close(&f);
}

int main(void)
{
    printf("backend: %s\n", testdb_backend_name());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_append_only),
        cmocka_unit_test(test_artifact_digest_and_check),
        cmocka_unit_test(test_concurrent_registrations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
