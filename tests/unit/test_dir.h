/*
 * Scratch directories for unit tests: a fresh one under /tmp, and removal of a flat one (the
 * files directly in it, then the directory). Header only; include <cmocka.h> first.
 */
#ifndef MMSP_TEST_DIR_H
#define MMSP_TEST_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new empty directory /tmp/<prefix>.XXXXXX (caller frees the name). */
static inline char *test_make_dir(const char *prefix)
{
    char tmpl[256];
    snprintf(tmpl, sizeof tmpl, "/tmp/%s.XXXXXX", prefix);
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

/* Removes dir and the files in it (not subdirectories). */
static inline void test_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* qsort comparison of char * entries. */
static inline int test_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#endif
