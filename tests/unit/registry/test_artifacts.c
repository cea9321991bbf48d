/*
 * The content-addressed artifact store (src/registry/artifacts.c): SHA-256 against the FIPS
 * 180-2 test vectors, the path layout, durable puts that leave no temporary file, reuse of an
 * identical file, replacement of a damaged one, verification of size and digest, and
 * refusal of digests that are not 64 lowercase hex digits.
 */
#include <dirent.h>
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

#include "registry/artifacts.h"
#include "testdb.h"

#define ABC_SHA256   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[ARTIFACT_HEX_LEN + 1];
    assert_int_equal(artifact_sha256("abc", 3, hex), MMSP_OK);
    assert_string_equal(hex, ABC_SHA256);
    assert_int_equal(artifact_sha256(NULL, 0, hex), MMSP_OK);
    assert_string_equal(hex, EMPTY_SHA256);
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(artifact_sha256(two_blocks, strlen(two_blocks), hex), MMSP_OK);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_put_reuse_replace(void **state)
{
    (void)state;
    char data[512], err[1024], hex[ARTIFACT_HEX_LEN + 1], path[4096], again[ARTIFACT_HEX_LEN + 1];
    assert_int_equal(testdb_tmpdir(data, sizeof data, "artifacts"), 0);

    assert_int_equal(artifact_put(data, "abc", 3, hex, err, sizeof err), MMSP_OK);
    assert_string_equal(hex, ABC_SHA256);
    assert_int_equal(artifact_path(data, hex, path, sizeof path, err, sizeof err), MMSP_OK);
    char want[4096];
    snprintf(want, sizeof want, "%s/artifacts/sha256/ba/" ABC_SHA256, data);
    assert_string_equal(path, want);
    assert_int_equal(artifact_verify(path, hex, 3, err, sizeof err), MMSP_OK);
    int64_t size = 0;
    assert_int_equal(artifact_sha256_file(path, again, &size, err, sizeof err), MMSP_OK);
    assert_string_equal(again, hex);
    assert_int_equal(size, 3);

    /* Only the final file is in its directory: no temporary left behind. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/artifacts/sha256/ba", data);
    assert_int_equal(count_entries(dir), 1);

    /* The same bytes again: the file is reused (same inode). */
    struct stat st1, st2;
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(artifact_put(data, "abc", 3, again, err, sizeof err), MMSP_OK);
    assert_int_equal(stat(path, &st2), 0);
    assert_true(st1.st_ino == st2.st_ino);

    /* Damaged on disk: verify says so, and a put replaces it. */
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("abd", fp);
    fclose(fp);
    assert_int_equal(artifact_verify(path, hex, 3, err, sizeof err), MMSP_E_BAD_MODEL);
    assert_non_null(strstr(err, "digest mismatch"));
    assert_int_equal(artifact_verify(path, hex, 4, err, sizeof err), MMSP_E_BAD_MODEL);
    assert_non_null(strstr(err, "size mismatch"));
    assert_int_equal(artifact_put(data, "abc", 3, again, err, sizeof err), MMSP_OK);
    assert_int_equal(artifact_verify(path, hex, 3, err, sizeof err), MMSP_OK);
    assert_int_equal(count_entries(dir), 1);

    /* Missing. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(artifact_verify(path, hex, 3, err, sizeof err), MMSP_E_NOT_FOUND);
    assert_non_null(strstr(err, "artifact missing"));

    /* Empty artifacts are artifacts too. */
    assert_int_equal(artifact_put(data, "", 0, hex, err, sizeof err), MMSP_OK);
    assert_string_equal(hex, EMPTY_SHA256);

    /* An unwritable store fails with a message, not a crash. */
    assert_int_equal(artifact_put("/proc/nonexistent/dir", "abc", 3, hex, err, sizeof err),
                     MMSP_E_IO);
    assert_true(strlen(err) > 0);
}

static void test_digest_validation(void **state)
{
    (void)state;
    char path[4096], err[256];
    assert_true(artifact_digest_valid(ABC_SHA256));
    assert_false(artifact_digest_valid(NULL));
    assert_false(artifact_digest_valid(""));
    assert_false(
        artifact_digest_valid("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    assert_false(artifact_digest_valid(ABC_SHA256 "0"));
    assert_false(artifact_digest_valid("../../../../etc/passwd"));
    assert_int_equal(artifact_path("/data", "../x", path, sizeof path, err, sizeof err),
                     MMSP_E_INVALID);
    assert_int_equal(artifact_path("/data", ABC_SHA256, path, 20, err, sizeof err),
                     MMSP_E_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_put_reuse_replace),
        cmocka_unit_test(test_digest_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
