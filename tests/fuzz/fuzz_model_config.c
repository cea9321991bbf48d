/*
 * Fuzz driver for the config.yaml parser: any bytes go to model_config_parse (with and without
 * a directory name to check against); a success is released, and a failure must leave a
 * NUL-terminated message. Seeds: tests/fuzz/corpus/fuzz_model_config/.
 * Calls: serve/model_config.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "serve/model_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    const char *name = (size & 1) ? "m" : NULL;
    mmsp_err rc =
        model_config_parse((const char *)data, size, "config.yaml", name, &c, err, sizeof err);
    if (rc == MMSP_OK) {
        struct buf b;
        buf_init(&b, 1 << 20);
        int64_t all[] = {1, 2, 3};
        (void)model_config_version_selected(&c, 2, all, 3);
        (void)model_config_to_json(&c, NULL, &b);
        buf_release(&b);
        model_config_release(&c);
    } else if (strnlen(err, sizeof err) == sizeof err) {
        __builtin_trap(); /* the message must be terminated */
    }
    return 0;
}
