/*
 * Unit tests for src/features/transform.c (the text-to-features transformer): the FNV-1a 32
 * reference values, exact bucket counts of word and character n-grams (Unicode words kept
 * whole, short words counted once), lower-casing, L2 normalisation, the smooth idf against
 * its formula, configuration parsing (defaults, errors with line numbers, idf length), the
 * atomic write + reload round trip, and the per-deployment cache (reload on change).
 * Calls: features/transform, cmocka.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "features/transform.h"

#define BIG 65536

static uint32_t bucket(const char *kind_and_gram)
{
    return transform_hash(kind_and_gram, strlen(kind_and_gram)) % BIG;
}

static float sum(const float *v, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

static void test_hash(void **state)
{
    (void)state;
    /* published FNV-1a 32 test vectors */
    assert_int_equal(transform_hash("", 0), 0x811c9dc5u);
    assert_int_equal(transform_hash("a", 1), 0xe40c292cu);
    assert_int_equal(transform_hash("foobar", 6), 0xbf9cf968u);
}

static void test_word_ngrams(void **state)
{
    (void)state;
    struct transform_config c;
    char err[256];
    transform_config_default(&c);
    c.n_buckets = BIG;
    c.char_min = c.char_max = 0;
    c.l2 = 0;
    float *v = calloc(BIG, sizeof *v);
    assert_non_null(v);
    assert_int_equal(transform_text(&c, "Win, a FREE prize: WIN!", 23, v, err, sizeof err), 0);
    /* tokens win a free prize win: 5 unigrams, 4 bigrams */
    assert_float_equal(v[bucket("wwin")], 2, 0);
    assert_float_equal(v[bucket("wfree")], 1, 0);
    assert_float_equal(v[bucket("wwin a")], 1, 0);
    assert_float_equal(v[bucket("wprize win")], 1, 0);
    assert_float_equal(sum(v, BIG), 9, 0);
    /* no tokens at all */
    assert_int_equal(transform_text(&c, "!!! ,,, ", 8, v, err, sizeof err), 0);
    assert_float_equal(sum(v, BIG), 0, 0);
    free(v);
}

static void test_char_ngrams(void **state)
{
    (void)state;
    struct transform_config c;
    char err[256];
    transform_config_default(&c);
    c.n_buckets = BIG;
    c.word_min = c.word_max = 0;
    c.char_min = c.char_max = 3;
    c.l2 = 0;
    float *v = calloc(BIG, sizeof *v);
    assert_non_null(v);
    /* " abc " -> " ab", "abc", "bc " */
    assert_int_equal(transform_text(&c, "ABC", 3, v, err, sizeof err), 0);
    assert_float_equal(v[bucket("c ab")], 1, 0);
    assert_float_equal(v[bucket("cabc")], 1, 0);
    assert_float_equal(v[bucket("cbc ")], 1, 0);
    assert_float_equal(sum(v, BIG), 3, 0);
    /* "é" is one code point (2 bytes): " é " has 3, so it counts once, whole */
    assert_int_equal(transform_text(&c, "\xc3\xa9", 2, v, err, sizeof err), 0);
    assert_float_equal(v[bucket("c \xc3\xa9 ")], 1, 0);
    assert_float_equal(sum(v, BIG), 1, 0);
    /* "ça va": UTF-8 bytes are word bytes; n-grams never split a code point */
    assert_int_equal(transform_text(&c,
                                    "\xc3\xa7"
                                    "a",
                                    3, v, err, sizeof err),
                     0);
    assert_float_equal(v[bucket("c \xc3\xa7"
                                "a")],
                       1, 0);
    assert_float_equal(v[bucket("c\xc3\xa7"
                                "a ")],
                       1, 0);
    assert_float_equal(sum(v, BIG), 2, 0);
    free(v);
}

static void test_defaults_l2_case(void **state)
{
    (void)state;
    struct transform_config c;
    char err[256];
    float a[TRANSFORM_DEFAULT_BUCKETS], b[TRANSFORM_DEFAULT_BUCKETS];
    transform_config_default(&c);
    assert_int_equal(c.n_buckets, 50);
    assert_int_equal(transform_text(&c, "WIN a FREE prize now", 20, a, err, sizeof err), 0);
    assert_int_equal(transform_text(&c, "win a free PRIZE now", 20, b, err, sizeof err), 0);
    double sq = 0;
    for (int i = 0; i < 50; i++) {
        assert_float_equal(a[i], b[i], 0);
        sq += (double)a[i] * a[i];
    }
    assert_float_equal(sq, 1.0, 1e-6);
    /* word order matters through the bigrams */
    assert_int_equal(transform_text(&c, "now prize free a win", 20, b, err, sizeof err), 0);
    int differ = 0;
    for (int i = 0; i < 50; i++)
        differ |= a[i] != b[i];
    assert_true(differ);
    /* too long */
    char *big = malloc(TRANSFORM_MAX_TEXT + 1);
    memset(big, 'x', TRANSFORM_MAX_TEXT + 1);
    assert_int_equal(transform_text(&c, big, TRANSFORM_MAX_TEXT + 1, a, err, sizeof err),
                     MMSP_E_TOO_LARGE);
    free(big);
}

static void test_idf(void **state)
{
    (void)state;
    struct transform_config c;
    char err[256];
    transform_config_default(&c);
    c.n_buckets = BIG;
    c.word_max = 1;
    c.char_min = c.char_max = 0;
    c.l2 = 0;
    const char *docs[3] = {"a b", "a", "a c c"};
    size_t lens[3] = {3, 1, 5};
    assert_int_equal(transform_fit_idf(&c, docs, lens, 3, err, sizeof err), 0);
    assert_non_null(c.idf);
    assert_float_equal(c.idf[bucket("wa")], 1.0, 1e-6);                  /* df 3 */
    assert_float_equal(c.idf[bucket("wb")], log(4.0 / 2.0) + 1, 1e-6);   /* df 1 */
    assert_float_equal(c.idf[bucket("wzzz")], log(4.0 / 1.0) + 1, 1e-6); /* df 0 */
    float *v = calloc(BIG, sizeof *v);
    assert_int_equal(transform_text(&c, "c c a", 5, v, err, sizeof err), 0);
    assert_float_equal(v[bucket("wc")], 2 * (log(4.0 / 2.0) + 1), 1e-5);
    assert_float_equal(v[bucket("wa")], 1, 1e-6);
    free(v);
    transform_config_release(&c);
}

static void test_parse(void **state)
{
    (void)state;
    struct transform_config c;
    char err[256];
    const char *good = "n_buckets: 4\nword_ngrams: [1, 1]\nchar_ngrams: [0, 0]\n"
                       "lowercase: false\nnorm: none\nlabels: [ham, spam]\n"
                       "idf: [1, 2.5, 3, 4]\n";
    assert_int_equal(
        transform_config_parse(good, strlen(good), "t.yaml", NULL, &c, err, sizeof err), 0);
    assert_int_equal(c.n_buckets, 4);
    assert_int_equal(c.word_max, 1);
    assert_int_equal(c.char_min, 0);
    assert_int_equal(c.lowercase, 0);
    assert_int_equal(c.l2, 0);
    assert_int_equal(c.n_labels, 2);
    assert_string_equal(c.labels[1], "spam");
    assert_float_equal(c.idf[1], 2.5, 0);
    transform_config_release(&c);

    const char *json = "{\"n_buckets\": 8, \"labels\": [\"no\", \"yes\"]}";
    assert_int_equal(
        transform_config_parse(json, strlen(json), "t.json", NULL, &c, err, sizeof err), 0);
    assert_int_equal(c.n_buckets, 8);
    assert_int_equal(c.word_min, 1);
    assert_int_equal(c.char_max, 5);
    transform_config_release(&c);

    struct {
        const char *text, *want;
    } bad[] = {
        {"n_buckets: 0\n", "t.yaml:1: n_buckets"},
        {"n_buckets: 2.5\n", "n_buckets"},
        {"n_buckets: 4\nidf: [1, 2]\n", "t.yaml:2: idf"},
        {"word_ngrams: [2, 1]\n", "word_ngrams"},
        {"word_ngrams: [0, 0]\nchar_ngrams: [0, 0]\n", "both be off"},
        {"colour: red\n", "unknown key"},
        {"norm: l1\n", "norm"},
        {"labels: []\n", "labels"},
        {"- 1\n- 2\n", "mapping"},
        {"n_buckets: [\n", "t.yaml"},
        {"idf_file: /nonexistent/idf.yaml\n", "nonexistent"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_not_equal(transform_config_parse(bad[i].text, strlen(bad[i].text), "t.yaml",
                                                    NULL, &c, err, sizeof err),
                             0);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].want);
    }
}

static void test_write_reload_and_cache(void **state)
{
    (void)state;
    char dir[] = "/tmp/mmsp-transform-XXXXXX", sub[300], path[400], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/transformers", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(path, sizeof path, "%s/spam.yaml", sub);

    struct transform_config c, back;
    transform_config_default(&c);
    const char *docs[2] = {"free prize", "lunch at noon"};
    size_t lens[2] = {10, 13};
    assert_int_equal(transform_fit_idf(&c, docs, lens, 2, err, sizeof err), 0);
    c.labels = calloc(2, sizeof *c.labels);
    c.labels[0] = strdup("ham");
    c.labels[1] = strdup("spam \"quoted\"");
    c.n_labels = 2;
    assert_int_equal(transform_config_write(&c, path, "a test\nsecond line", err, sizeof err), 0);
    assert_int_equal(transform_config_load(path, &back, err, sizeof err), 0);
    assert_int_equal(back.n_buckets, c.n_buckets);
    assert_string_equal(back.labels[1], "spam \"quoted\"");
    float a[50], b[50];
    assert_int_equal(transform_text(&c, "FREE prize at noon", 18, a, err, sizeof err), 0);
    assert_int_equal(transform_text(&back, "FREE prize at noon", 18, b, err, sizeof err), 0);
    for (int i = 0; i < 50; i++)
        assert_float_equal(a[i], b[i], 0);
    transform_config_release(&back);

    struct transform_ref *r1 = NULL, *r2 = NULL, *r3 = NULL;
    assert_int_equal(transform_acquire(dir, "spam", &r1, err, sizeof err), 0);
    assert_int_equal(transform_acquire(dir, "spam", &r2, err, sizeof err), 0);
    assert_ptr_equal(r1, r2); /* shared */
    assert_int_equal(transform_ref_config(r1)->n_labels, 2);
    assert_int_equal(transform_acquire(dir, "nothing", &r3, err, sizeof err), MMSP_E_NOT_FOUND);
    assert_int_equal(transform_acquire(dir, "../x", &r3, err, sizeof err), MMSP_E_INVALID);
    /* a changed file (different size) is loaded again; the old one stays valid while held */
    c.n_buckets = 50;
    free(c.labels[1]);
    c.labels[1] = strdup("junk");
    assert_int_equal(transform_config_write(&c, path, NULL, err, sizeof err), 0);
    assert_int_equal(transform_acquire(dir, "spam", &r3, err, sizeof err), 0);
    assert_ptr_not_equal(r3, r1);
    assert_string_equal(transform_ref_config(r3)->labels[1], "junk");
    assert_string_equal(transform_ref_config(r1)->labels[1], "spam \"quoted\"");
    transform_release(r1);
    transform_release(r2);
    transform_release(r3);
    transform_config_release(&c);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_word_ngrams),
        cmocka_unit_test(test_char_ngrams),
        cmocka_unit_test(test_defaults_l2_case),
        cmocka_unit_test(test_idf),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_write_reload_and_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
