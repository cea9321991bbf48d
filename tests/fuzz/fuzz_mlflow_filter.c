/*
 * Fuzz driver for the MLflow search-filter parser (src/registry/api_filter.c): any bytes go
 * to registry_api_filter_parse for models and for versions; a success is matched against a
 * model and a version (names, run id and tags), a failure must leave a terminated message
 * that starts with "Invalid filter". The bytes are also split into a LIKE pattern and a
 * subject for registry_api_like (which must stay bounded on patterns such as '%a%a%a%b').
 * Seeds: tests/fuzz/corpus/fuzz_mlflow_filter/.
 * Calls: registry/api_internal.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/api_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct api_filter f; /* large: keep it off the stack */
    char err[MMSP_ERRMSG_MAX];
    struct reg_kv tags[2] = {{"team", "risk"}, {"my key", "a_c"}};
    struct reg_model m = {.name = "fraud-detector", .tags = tags, .n_tags = 2};
    struct reg_version v = {
        .name = "fraud", .version = 3, .run_id = "abc123", .tags = tags, .n_tags = 2};
    for (int versions = 0; versions < 2; versions++) {
        memset(err, 0x55, sizeof err);
        mmsp_err rc =
            registry_api_filter_parse((const char *)data, size, versions, &f, err, sizeof err);
        if (rc == MMSP_OK) {
            if (f.n > API_FILTER_MAX_CLAUSES)
                __builtin_trap();
            (void)registry_api_filter_model(&f, &m);
            (void)registry_api_filter_version(&f, &v);
        } else if (strnlen(err, sizeof err) == sizeof err ||
                   strncmp(err, "Invalid filter", 14) != 0) {
            __builtin_trap(); /* the message must be terminated and say what failed */
        }
    }
    /* pattern = bytes up to the first NUL (or half), subject = the rest */
    char *buf = malloc(size + 2);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    buf[size + 1] = '\0';
    size_t split = strnlen(buf, size);
    if (split == size)
        split = size / 2;
    char *subject = buf + split + 1;
    if (split < size)
        buf[split] = '\0';
    else
        subject = buf + size + 1;
    (void)registry_api_like(buf, subject, 0);
    (void)registry_api_like(buf, subject, 1);
    (void)registry_api_like(subject, buf, 1);
    free(buf);
    return 0;
}
