/*
 * The offline side of the feature store (src/features): CSV parsing (quotes, escaped quotes,
 * newlines in quotes, CRLF, empty = null, "" = empty string, ragged rows refused), timestamp
 * and duration parsing, YAML views (defaults, relative sources, errors with line numbers), and
 * the point-in-time join against hand-computed answers: ties (last row wins), the TTL bound
 * (inclusive), entity rows before any feature row, unknown entities, composite join keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "features/features.h"

static char err[1024];

static void csv(const char *text, struct feat_table *t)
{
    err[0] = 0;
    mmsp_err rc = feat_csv_parse(text, strlen(text), t, err, sizeof err);
    if (rc)
        fail_msg("csv: %s", err);
}

static const char *cell_text(const struct feat_table *t, size_t r, size_t c)
{
    static char buf[256];
    const struct feat_value *v = feat_table_cell(t, r, c);
    if (v->null)
        return "<null>";
    feat_value_text(v, buf, sizeof buf);
    return buf;
}

static void test_csv_forms(void **state)
{
    (void)state;
    struct feat_table t;
    csv("a,b,c\r\n1,\"x,\"\"y\"\"\nz\",\r\n,\"\",3\n\n", &t);
    assert_int_equal(t.n_cols, 3);
    assert_int_equal(t.n_rows, 2);
    assert_string_equal(cell_text(&t, 0, 0), "1");
    assert_string_equal(cell_text(&t, 0, 1), "x,\"y\"\nz");
    assert_string_equal(cell_text(&t, 0, 2), "<null>");
    assert_string_equal(cell_text(&t, 1, 0), "<null>");
    assert_false(feat_table_cell(&t, 1, 1)->null); /* "" is an empty string, not null */
    assert_string_equal(cell_text(&t, 1, 1), "");
    assert_int_equal(feat_table_cast(&t, 2, FEAT_INT64, err, sizeof err), MMSP_OK);
    assert_int_equal(feat_table_cell(&t, 1, 2)->i, 3);
    assert_true(feat_table_cell(&t, 0, 2)->null);
    feat_table_free(&t);
}

static void test_csv_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "empty"},
        {"a,b\n1\n", "line 2: 1 fields, the header has 2"},
        {"a,b\n1,2,3\n", "line 2: more fields"},
        {"a,a\n", "appears twice"},
        {"a,\n", "no name"},
        {"a\n\"open\n", "unterminated"},
        {"a\nx\"y\n", "quote inside"},
        {"a\n\"x\"y\n", "after a closing quote"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct feat_table t;
        err[0] = 0;
        assert_int_not_equal(feat_csv_parse(bad[i].text, strlen(bad[i].text), &t, err, sizeof err),
                             MMSP_OK);
        if (!strstr(err, bad[i].msg))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].text, err, bad[i].msg);
    }
    struct feat_table t;
    csv("n\nabc\n", &t);
    assert_int_equal(feat_table_cast(&t, 0, FEAT_DOUBLE, err, sizeof err), MMSP_E_PARSE);
    assert_non_null(strstr(err, "column n row 1: 'abc' is not a double"));
    feat_table_free(&t);
}

static void test_times(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(feat_parse_time_ms("2024-05-01T12:00:00Z", &ms));
    assert_int_equal(ms, 1714564800000LL);
    assert_true(feat_parse_time_ms("2024-05-01 14:00:00.250+02:00", &ms));
    assert_int_equal(ms, 1714564800250LL);
    assert_true(feat_parse_time_ms("2024-05-01", &ms));
    assert_int_equal(ms, 1714521600000LL);
    assert_true(feat_parse_time_ms("1714564800", &ms));
    assert_int_equal(ms, 1714564800000LL);
    assert_true(feat_parse_time_ms("1969-12-31T23:59:59Z", &ms));
    assert_int_equal(ms, -1000);
    assert_false(feat_parse_time_ms("2024-13-01", &ms));
    assert_false(feat_parse_time_ms("2024-05-01T25:00", &ms));
    assert_false(feat_parse_time_ms("yesterday", &ms));
    assert_false(feat_parse_time_ms("2024-05-01Tx", &ms));
    char out[40];
    feat_format_time(1714564800250LL, out);
    assert_string_equal(out, "2024-05-01T12:00:00.250Z");
    feat_format_time(-1000, out);
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    assert_true(feat_parse_duration_ms("24h", &ms));
    assert_int_equal(ms, 86400000);
    assert_true(feat_parse_duration_ms("90", &ms));
    assert_int_equal(ms, 90000);
    assert_true(feat_parse_duration_ms("1500ms", &ms));
    assert_int_equal(ms, 1500);
    assert_false(feat_parse_duration_ms("-1h", &ms));
    assert_false(feat_parse_duration_ms("2 fortnights", &ms));
}

static void test_yaml(void **state)
{
    (void)state;
    const char *y = "name: v1\nentities: [id]\nfeatures:\n  - {name: x, type: float64}\n"
                    "  - {name: s, type: string}\nsource: data/x.csv\nttl: 30m\n";
    struct feat_view *v;
    struct feat_service *s;
    size_t nv, ns;
    assert_int_equal(
        feat_yaml_parse(y, strlen(y), "v.yaml", "/base", &v, &nv, &s, &ns, err, sizeof err),
        MMSP_OK);
    assert_int_equal(nv, 1);
    assert_int_equal(ns, 0);
    assert_string_equal(v[0].source, "/base/data/x.csv");
    assert_string_equal(v[0].timestamp_field, "event_timestamp");
    assert_int_equal(v[0].ttl_ms, 1800000);
    assert_int_equal(v[0].features[0].type, FEAT_DOUBLE);
    free(v);
    free(s);
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"name: v\nfeatures: [{name: x, type: int64}]\n", "v.yaml:1: entities"},
        {"name: v\nentities: id\nfeatures: []\n", "features"},
        {"name: v\nentities: id\nfeatures:\n  - {name: id, type: int64}\n",
         "v.yaml:4: features.name: 'id' is a join key"},
        {"name: v\nentities: id\nfeatures:\n  - {name: x, type: int64}\nttl: soon\n",
         "v.yaml:5: ttl"},
        {"name: v\nentities: id\nfeatures:\n  - {name: x, type: int64}\ncolour: red\n",
         "v.yaml:5: colour: unknown field"},
        {"name: 'bad name'\nentities: id\nfeatures:\n  - {name: x, type: int64}\n", "name"},
        {"feature_services:\n  - name: s\n    features: [nocolon]\n", "view:feature"},
        {"[1, 2]", "a mapping is required"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_not_equal(feat_yaml_parse(bad[i].text, strlen(bad[i].text), "v.yaml", NULL, &v,
                                             &nv, &s, &ns, err, sizeof err),
                             MMSP_OK);
        if (!strstr(err, bad[i].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err, bad[i].msg);
    }
}

/* A view over (id, ts, x) with a TTL of 1 h; rows normalised as feat_offline_load does. */
static void pit_fixture(struct feat_view *v, struct feat_table *rows, int64_t ttl_ms)
{
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "v");
    v->n_entities = 1;
    snprintf(v->entities[0], FEAT_NAME_MAX, "id");
    snprintf(v->timestamp_field, sizeof v->timestamp_field, "ts");
    v->n_features = 1;
    snprintf(v->features[0].name, FEAT_NAME_MAX, "x");
    v->features[0].type = FEAT_INT64;
    v->ttl_ms = ttl_ms;
    csv("id,ts,x\n"
        "a,2024-01-01T10:00:00Z,1\n"
        "a,2024-01-01T11:00:00Z,2\n"
        "b,2024-01-01T10:30:00Z,5\n"
        "a,2024-01-01T11:00:00Z,3\n" /* tie with the row before: this one wins */
        "a,2024-01-01T09:00:00Z,0\n" /* out of order in the file */
        "c,2024-01-01T10:00:00Z,\n", /* a null feature value */
        rows);
    assert_int_equal(feat_table_cast(rows, 1, FEAT_TIMESTAMP, err, sizeof err), MMSP_OK);
    assert_int_equal(feat_table_cast(rows, 2, FEAT_INT64, err, sizeof err), MMSP_OK);
}

static void test_pit_join(void **state)
{
    (void)state;
    struct feat_view v;
    struct feat_table rows, ents, out;
    pit_fixture(&v, &rows, 3600 * 1000);
    csv("id,ts,extra\n"
        "a,2024-01-01T08:59:59Z,e0\n"     /* before a's first row */
        "a,2024-01-01T09:00:00Z,e1\n"     /* exactly at a row */
        "a,2024-01-01T10:59:59Z,e2\n"     /* between: the 10:00 row */
        "a,2024-01-01T11:00:00Z,e3\n"     /* the tie: 3 */
        "a,2024-01-01T12:00:00Z,e4\n"     /* at the TTL bound: still 3 */
        "a,2024-01-01T12:00:00.001Z,e5\n" /* past the TTL */
        "b,2024-01-01T10:00:00Z,e6\n"     /* before b's only row */
        "z,2024-01-01T10:00:00Z,e7\n"     /* unknown entity */
        "c,2024-01-01T10:00:00Z,e8\n",    /* a row whose value is null */
        &ents);
    assert_int_equal(feat_pit_join(&v, &rows, &ents, &out, err, sizeof err), MMSP_OK);
    assert_int_equal(out.n_cols, 4);
    assert_string_equal(out.names[3], "x");
    const char *want[] = {"<null>", "0", "1", "3", "3", "<null>", "<null>", "<null>", "<null>"};
    assert_int_equal(out.n_rows, 9);
    for (size_t r = 0; r < 9; r++) {
        if (strcmp(cell_text(&out, r, 3), want[r]) != 0)
            fail_msg("row %zu: got %s, want %s", r, cell_text(&out, r, 3), want[r]);
        assert_string_equal(cell_text(&out, r, 2), cell_text(&ents, r, 2)); /* kept */
    }
    feat_table_free(&out);
    /* without a TTL the 12:00:00.001 row finds the 11:00 row */
    v.ttl_ms = 0;
    assert_int_equal(feat_pit_join(&v, &rows, &ents, &out, err, sizeof err), MMSP_OK);
    assert_string_equal(cell_text(&out, 5, 3), "3");
    feat_table_free(&out);
    feat_table_free(&ents);
    /* the entity rows need the join key and a timestamp */
    csv("key,ts\na,2024-01-01\n", &ents);
    assert_int_equal(feat_pit_join(&v, &rows, &ents, &out, err, sizeof err), MMSP_E_INVALID);
    assert_non_null(strstr(err, "join key column 'id'"));
    feat_table_free(&ents);
    csv("id,when\na,2024-01-01\n", &ents);
    assert_int_equal(feat_pit_join(&v, &rows, &ents, &out, err, sizeof err), MMSP_E_INVALID);
    feat_table_free(&ents);
    csv("id,event_timestamp\na,not a time\n", &ents);
    assert_int_equal(feat_pit_join(&v, &rows, &ents, &out, err, sizeof err), MMSP_E_INVALID);
    feat_table_free(&ents);
    feat_table_free(&rows);
}

static void test_composite_keys(void **state)
{
    (void)state;
    struct feat_value kv[2] = {{.type = FEAT_STRING, .s = "u1"}, {.type = FEAT_INT64, .i = 7}};
    char key[64];
    assert_int_equal(feat_entity_key(kv, 2, key, sizeof key), MMSP_OK);
    assert_string_equal(key, "u1|7");
    kv[1].null = 1;
    assert_int_equal(feat_entity_key(kv, 2, key, sizeof key), MMSP_E_INVALID);
    kv[1].null = 0;
    assert_int_equal(feat_entity_key(kv, 2, key, 4), MMSP_E_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_forms), cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_times),     cmocka_unit_test(test_yaml),
        cmocka_unit_test(test_pit_join),  cmocka_unit_test(test_composite_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
