/*
 * The embedded online store (src/features/online_embedded.c) over a real SQLite file: write
 * then read, a missing key, an older record never replaces a newer one (an equal one does),
 * strings and nulls survive, a second store opened on the same database sees the records
 * (persistence) and picks up a later write by the first through refresh(); and materialize
 * picks the latest row per entity inside [start, end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "features/online.h"

static char err[1024];
static char dir[] = "/tmp/mmsp-test-online.XXXXXX";

struct got {
    int found[8];
    int64_t ts[8];
    int64_t i[8];
    char s[8][32];
    int null1[8];
};

static void on_read(void *ctx, size_t idx, const struct online_record *rec)
{
    struct got *g = ctx;
    g->found[idx] = rec != NULL;
    if (!rec)
        return;
    g->ts[idx] = rec->event_ts_ms;
    g->i[idx] = rec->values[0].i;
    g->null1[idx] = rec->values[1].null;
    if (!rec->values[1].null)
        snprintf(g->s[idx], sizeof g->s[idx], "%s", rec->values[1].s);
}

static void view(struct feat_view *v)
{
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "v");
    v->n_entities = 1;
    snprintf(v->entities[0], FEAT_NAME_MAX, "id");
    snprintf(v->timestamp_field, sizeof v->timestamp_field, "ts");
    v->n_features = 2;
    snprintf(v->features[0].name, FEAT_NAME_MAX, "n");
    v->features[0].type = FEAT_INT64;
    snprintf(v->features[1].name, FEAT_NAME_MAX, "s");
    v->features[1].type = FEAT_STRING;
}

static void put(struct online_store *o, const struct feat_view *v, const char *key, int64_t ts,
                int64_t n, const char *s)
{
    struct feat_value vals[2] = {{.type = FEAT_INT64, .i = n},
                                 {.type = FEAT_STRING, .s = (char *)s, .null = s == NULL}};
    struct online_record rec = {ts, 2, vals};
    const char *keys[1] = {key};
    if (o->ops->write(o, v, keys, &rec, 1, err, sizeof err))
        fail_msg("write: %s", err);
}

static void test_embedded(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    struct feat_store *fs, *fs2;
    struct online_store *o, *o2;
    struct feat_view v;
    view(&v);
    assert_int_equal(feat_store_open(dir, NULL, &fs, err, sizeof err), MMSP_OK);
    assert_int_equal(online_store_open(NULL, fs, &o, err, sizeof err), MMSP_OK);
    assert_string_equal(o->ops->name, "embedded");
    put(o, &v, "a", 100, 1, "one");
    put(o, &v, "b", 100, 2, NULL);
    put(o, &v, "a", 50, 9, "older"); /* skipped */
    put(o, &v, "b", 100, 3, "same"); /* equal time: replaces */
    const char *keys[3] = {"a", "b", "zz"};
    struct got g = {0};
    assert_int_equal(o->ops->read(o, &v, keys, 3, on_read, &g, err, sizeof err), MMSP_OK);
    assert_true(g.found[0] && g.found[1] && !g.found[2]);
    assert_int_equal(g.i[0], 1);
    assert_string_equal(g.s[0], "one");
    assert_int_equal(g.i[1], 3);
    assert_string_equal(g.s[1], "same");

    /* a second process's view of the same database */
    assert_int_equal(feat_store_open(dir, NULL, &fs2, err, sizeof err), MMSP_OK);
    assert_int_equal(online_store_open("embedded", fs2, &o2, err, sizeof err), MMSP_OK);
    memset(&g, 0, sizeof g);
    assert_int_equal(o2->ops->read(o2, &v, keys, 3, on_read, &g, err, sizeof err), MMSP_OK);
    assert_true(g.found[0] && g.found[1] && !g.found[2]);
    assert_int_equal(g.ts[0], 100);
    assert_string_equal(g.s[0], "one");
    put(o, &v, "zz", 200, 7, NULL);
    memset(&g, 0, sizeof g);
    o2->ops->read(o2, &v, keys, 3, on_read, &g, err, sizeof err);
    assert_false(g.found[2]); /* not before a refresh */
    assert_int_equal(o2->ops->refresh(o2, err, sizeof err), MMSP_OK);
    o2->ops->read(o2, &v, keys, 3, on_read, &g, err, sizeof err);
    assert_true(g.found[2]);
    assert_int_equal(g.i[2], 7);
    assert_true(g.null1[2]);

    /* materialize: view w over a CSV source, window [10:00, 12:00) */
    char path[256];
    snprintf(path, sizeof path, "%s/w.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("id,ts,n,s\nk,2024-01-01T09:00:00Z,1,x\nk,2024-01-01T11:00:00Z,2,y\n"
          "k,2024-01-01T12:00:00Z,3,z\nm,2024-01-01T08:00:00Z,4,w\n",
          f);
    fclose(f);
    struct feat_view w = v;
    snprintf(w.name, sizeof w.name, "w");
    snprintf(w.source, sizeof w.source, "%s", path);
    assert_int_equal(feat_store_put_view(fs, &w, err, sizeof err), MMSP_OK);
    int64_t s, e;
    feat_parse_time_ms("2024-01-01T10:00:00Z", &s);
    feat_parse_time_ms("2024-01-01T12:00:00Z", &e);
    const char *names[1] = {"w"};
    size_t n = 0;
    assert_int_equal(feat_materialize(fs, o, names, 1, s, e, &n, err, sizeof err), MMSP_OK);
    assert_int_equal(n, 1);
    const char *wk[2] = {"k", "m"};
    memset(&g, 0, sizeof g);
    o->ops->read(o, &w, wk, 2, on_read, &g, err, sizeof err);
    assert_true(g.found[0]);
    assert_false(g.found[1]);
    assert_int_equal(g.i[0], 2);
    assert_string_equal(g.s[0], "y");
    const char *unknown[1] = {"nope"};
    assert_int_equal(feat_materialize(fs, o, unknown, 1, s, e, &n, err, sizeof err),
                     MMSP_E_NOT_FOUND);

    online_store_free(o2);
    feat_store_close(fs2);
    online_store_free(o);
    feat_store_close(fs);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The cache of parsed views and services: a change through another connection (another
 * process) is seen by the next lookup; a reference outlives the replacement. */
static void test_spec_cache(void **state)
{
    (void)state;
    char d[] = "/tmp/mmsp-test-specs.XXXXXX", cmd[128];
    assert_non_null(mkdtemp(d));
    struct feat_store *a, *b;
    struct feat_view v, got;
    view(&v);
    assert_int_equal(feat_store_open(d, NULL, &a, err, sizeof err), MMSP_OK);
    assert_int_equal(feat_store_open(d, NULL, &b, err, sizeof err), MMSP_OK);
    assert_int_equal(feat_store_get_view(a, "v", &got, err, sizeof err), MMSP_E_NOT_FOUND);
    assert_non_null(strstr(err, "feature view 'v' is not known"));
    assert_int_equal(feat_store_put_view(a, &v, err, sizeof err), MMSP_OK);
    struct feat_specs *old = NULL;
    assert_int_equal(feat_store_specs(a, &old, err, sizeof err), MMSP_OK);
    assert_int_equal(feat_specs_view(old, "v")->n_features, 2);
    assert_null(feat_specs_view(old, "w"));
    /* the other connection changes the view and adds a service */
    v.n_features = 1;
    v.ttl_ms = 5000;
    assert_int_equal(feat_store_put_view(b, &v, err, sizeof err), MMSP_OK);
    struct feat_service sv = {.name = "svc", .n_refs = 1, .refs = {"v:n"}};
    assert_int_equal(feat_store_put_service(b, &sv, err, sizeof err), MMSP_OK);
    assert_int_equal(feat_store_get_view(a, "v", &got, err, sizeof err), MMSP_OK);
    if (got.n_features != 1) { /* read within 1 ms of the last version check: not yet */
        usleep(2000);
        assert_int_equal(feat_store_get_view(a, "v", &got, err, sizeof err), MMSP_OK);
    }
    assert_int_equal(got.n_features, 1);
    assert_int_equal(got.ttl_ms, 5000);
    struct feat_service gs;
    assert_int_equal(feat_store_get_service(a, "svc", &gs, err, sizeof err), MMSP_OK);
    assert_string_equal(gs.refs[0], "v:n");
    assert_int_equal(feat_specs_view(old, "v")->n_features, 2); /* the old snapshot lives on */
    feat_specs_release(old);
    feat_store_close(a);
    feat_store_close(b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

static void test_bad_urls(void **state)
{
    (void)state;
    struct online_store *o;
    assert_int_equal(online_store_open("memcached://x", NULL, &o, err, sizeof err), MMSP_E_INVALID);
    assert_int_equal(online_redis_open("redis://:6379", &o, err, sizeof err), MMSP_E_INVALID);
    assert_int_equal(online_redis_open("redis://127.0.0.1:99999", &o, err, sizeof err),
                     MMSP_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_embedded),
                                       cmocka_unit_test(test_spec_cache),
                                       cmocka_unit_test(test_bad_urls)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
