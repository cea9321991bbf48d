/*
 * Fuzz driver for the text-to-features transformer (src/features/transform.c). The first byte
 * picks the target: even = any bytes as a text through the default configuration and an
 * idf-weighted one (the vector must be finite, and of unit length or zero); odd = the rest as a
 * transformer configuration (YAML/JSON), whose success must give a usable configuration.
 * Calls: features/transform.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "features/transform.h"

static void check_vector(const struct transform_config *c, const uint8_t *d, size_t n)
{
    float v[TRANSFORM_MAX_BUCKETS > 4096 ? 4096 : TRANSFORM_MAX_BUCKETS];
    char err[256];
    if (c->n_buckets > sizeof v / sizeof v[0])
        return;
    if (transform_text(c, (const char *)d, n, v, err, sizeof err) != MMSP_OK)
        abort();
    double sq = 0;
    for (uint32_t i = 0; i < c->n_buckets; i++) {
        if (!isfinite(v[i]) || v[i] < 0)
            abort();
        sq += (double)v[i] * v[i];
    }
    if (c->l2 && sq != 0 && fabs(sq - 1) > 1e-3)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (!size || size > TRANSFORM_MAX_TEXT)
        return 0;
    struct transform_config c;
    if ((data[0] & 1) == 0) {
        transform_config_default(&c);
        check_vector(&c, data + 1, size - 1);
        const char *docs[2] = {(const char *)data + 1, "free prize"};
        size_t lens[2] = {size - 1, 10};
        if (transform_fit_idf(&c, docs, lens, 2, err, sizeof err) != MMSP_OK)
            abort();
        check_vector(&c, data + 1, size - 1);
        transform_config_release(&c);
        return 0;
    }
    err[0] = 0;
    if (transform_config_parse((const char *)data + 1, size - 1, "fuzz", "/nonexistent", &c, err,
                               sizeof err) == MMSP_OK) {
        if (!c.n_buckets || c.n_buckets > TRANSFORM_MAX_BUCKETS)
            abort();
        check_vector(&c, (const uint8_t *)"WIN a FREE prize now", 20);
        transform_config_release(&c);
    } else if (!err[0]) {
        abort();
    }
    return 0;
}
