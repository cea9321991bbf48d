/*
 * The MLflow search-filter parser and matcher of the registry API (src/registry/api_filter.c):
 * every accepted form (=, !=, LIKE, ILIKE, both quote styles, backticks, tags.<key>, run_id
 * for versions, AND in any case), the refusals with their messages (OR, IN, numeric
 * comparators, unknown fields, unterminated strings, trailing AND, NUL bytes, too long, too
 * many clauses), and SQL LIKE semantics: '%', '_' over UTF-8 characters, backslash escapes,
 * case folding for ILIKE only, and no exponential backtracking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/api_internal.h"

static struct api_filter f;
static char err[MMSP_ERRMSG_MAX];

static mmsp_err parse(const char *s, int versions)
{
    err[0] = '\0';
    return registry_api_filter_parse(s, strlen(s), versions, &f, err, sizeof err);
}

static void test_accepted_forms(void **state)
{
    (void)state;
    assert_int_equal(parse("name='fraud'", 0), MMSP_OK);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.c[0].field, API_FIELD_NAME);
    assert_int_equal(f.c[0].op, API_OP_EQ);
    assert_string_equal(f.c[0].value, "fraud");

    assert_int_equal(parse("  name   =  \"a b\"  ", 0), MMSP_OK);
    assert_string_equal(f.c[0].value, "a b");

    assert_int_equal(parse("`name` like 'fr%' AND tags.team != 'risk' and tags.`my key` ILIKE "
                           "'X_' AnD tags.\"q\" = ''",
                           0),
                     MMSP_OK);
    assert_int_equal(f.n, 4);
    assert_int_equal(f.c[0].op, API_OP_LIKE);
    assert_int_equal(f.c[1].field, API_FIELD_TAG);
    assert_string_equal(f.c[1].key, "team");
    assert_int_equal(f.c[1].op, API_OP_NE);
    assert_string_equal(f.c[2].key, "my key");
    assert_int_equal(f.c[2].op, API_OP_ILIKE);
    assert_string_equal(f.c[3].key, "q");
    assert_string_equal(f.c[3].value, "");

    assert_int_equal(parse("run_id = 'abc' AND name = 'm'", 1), MMSP_OK);
    assert_int_equal(f.c[0].field, API_FIELD_RUN_ID);

    assert_int_equal(parse("", 0), MMSP_OK);
    assert_int_equal(f.n, 0);
    assert_int_equal(parse(" \t\n", 1), MMSP_OK);
    assert_int_equal(f.n, 0);
}

static void refused(const char *s, int versions, const char *needle)
{
    assert_int_equal(parse(s, versions), MMSP_E_INVALID);
    assert_non_null(strstr(err, "Invalid filter"));
    if (!strstr(err, needle))
        fail_msg("filter \"%s\": message \"%s\" lacks \"%s\"", s, err, needle);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("name = 'a' OR name = 'b'", 0, "OR is not supported");
    refused("name IN ('a')", 0, "comparator 'IN'");
    refused("name > 'a'", 0, "comparator '>'");
    refused("name == 'a'", 0, "comparator '=='");
    refused("run_id = 'x'", 0, "invalid attribute key 'run_id'");
    refused("version_number = '1'", 1, "invalid attribute key 'version_number'");
    refused("name = 'open", 0, "unterminated string");
    refused("name = 3", 0, "quoted string");
    refused("name = 'a' AND", 0, "after AND");
    refused("name = 'a' name = 'b'", 0, "expected AND");
    refused("tags. = 'a'", 0, "tag key");
    refused("= 'a'", 0, "field name");
    refused("name", 0, "comparator");

    assert_int_equal(registry_api_filter_parse("name='a\0b'", 10, 0, &f, err, sizeof err),
                     MMSP_E_INVALID);
    assert_non_null(strstr(err, "NUL"));

    char big[API_FILTER_MAX_BYTES + 16];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    refused(big, 0, "longer than");

    char many[1024] = "";
    for (int i = 0; i <= API_FILTER_MAX_CLAUSES; i++)
        strcat(many, i ? " AND name='x'" : "name='x'");
    refused(many, 0, "more than");
}

static void test_like(void **state)
{
    (void)state;
    assert_true(registry_api_like("fr%", "fraud", 0));
    assert_true(registry_api_like("%aud", "fraud", 0));
    assert_true(registry_api_like("%", "", 0));
    assert_true(registry_api_like("f_aud", "fraud", 0));
    assert_false(registry_api_like("f_aud", "faud", 0));
    assert_false(registry_api_like("FR%", "fraud", 0)); /* LIKE is case-sensitive */
    assert_true(registry_api_like("FR%", "fraud", 1));  /* ILIKE is not */
    assert_true(registry_api_like("a%b%c", "aXXbYYc", 0));
    assert_false(registry_api_like("a%b%c", "aXXbYY", 0));
    assert_true(registry_api_like("%a%b", "aaab", 0));
    /* '_' is one character, not one byte */
    assert_true(registry_api_like("caf_", "caf\xc3\xa9", 0));
    assert_false(registry_api_like("caf__", "caf\xc3\xa9", 0));
    /* a backslash makes the next character literal */
    assert_true(registry_api_like("beta\\_1", "beta_1", 0));
    assert_false(registry_api_like("beta\\_1", "betaX1", 0));
    assert_true(registry_api_like("100\\%", "100%", 0));
    assert_false(registry_api_like("100\\%", "1000", 0));
    assert_true(registry_api_like("a\\", "a\\", 0)); /* a trailing backslash is itself */

    /* '%a%a%...%b' against 'aaaa...' would take exponential time with naive backtracking */
    char subject[4097];
    memset(subject, 'a', sizeof subject - 1);
    subject[sizeof subject - 1] = '\0';
    char pattern[64] = "";
    for (int i = 0; i < 20; i++)
        strcat(pattern, "%a");
    strcat(pattern, "%b");
    assert_false(registry_api_like(pattern, subject, 0));
}

static void test_match(void **state)
{
    (void)state;
    struct reg_kv tags[2] = {{"team", "risk"}, {"my key", "XY"}};
    struct reg_model m = {.name = "fraud-detector", .tags = tags, .n_tags = 2};
    struct reg_version v = {.name = "fraud", .version = 2, .run_id = "r1"};

    assert_int_equal(parse("name LIKE 'fraud%' AND tags.team = 'risk'", 0), MMSP_OK);
    assert_true(registry_api_filter_model(&f, &m));
    assert_int_equal(parse("tags.team = 'ops'", 0), MMSP_OK);
    assert_false(registry_api_filter_model(&f, &m));
    /* a clause on an absent tag matches nothing, != included */
    assert_int_equal(parse("tags.owner != 'x'", 0), MMSP_OK);
    assert_false(registry_api_filter_model(&f, &m));
    assert_int_equal(parse("tags.`my key` ILIKE 'x_'", 0), MMSP_OK);
    assert_true(registry_api_filter_model(&f, &m));
    assert_int_equal(parse("name != 'fraud-detector'", 0), MMSP_OK);
    assert_false(registry_api_filter_model(&f, &m));

    assert_int_equal(parse("name = 'fraud' and run_id = 'r1'", 1), MMSP_OK);
    assert_true(registry_api_filter_version(&f, &v));
    assert_int_equal(parse("run_id = 'r2'", 1), MMSP_OK);
    assert_false(registry_api_filter_version(&f, &v));
    v.run_id = NULL; /* no run id compares as "" */
    assert_int_equal(parse("run_id = ''", 1), MMSP_OK);
    assert_true(registry_api_filter_version(&f, &v));
    assert_int_equal(parse("", 1), MMSP_OK);
    assert_true(registry_api_filter_version(&f, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_like),
        cmocka_unit_test(test_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
