/*
 * Fuzz driver for the Prometheus text exposition reader (gateway/promtext) and the canary
 * controller's scrape reduction over it (gateway/canary): any bytes are parsed, every sample
 * handed to a callback that reads its labels; the figures between an empty scrape and this
 * one are computed. A failure must leave a NUL-terminated message. The test-only MMSP_FAULTS
 * parser (serve/fault) gets the same bytes (as a C string). Seeds:
 * tests/fuzz/corpus/fuzz_prom_text/. Calls: gateway/promtext, gateway/canary, serve/fault.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/canary.h"
#include "gateway/promtext.h"
#include "serve/fault.h"

static int on_sample(void *ctx, const char *name, const struct promtext_label *labels, size_t n,
                     double value)
{
    size_t *count = ctx;
    (*count) += strlen(name) + (isnan(value) ? 1 : 0);
    for (size_t i = 0; i < n; i++)
        (*count) += strlen(labels[i].name) + strlen(labels[i].value);
    (void)promtext_label(labels, n, "le");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[MMSP_ERRMSG_MAX];
    size_t count = 0;
    err[0] = '\0';
    if (promtext_parse((const char *)data, size, on_sample, &count, err, sizeof err) &&
        strnlen(err, sizeof err) == sizeof err)
        __builtin_trap();
    struct canary_target t = {.deployment = "fraud",
                              .environment = "production",
                              .stable_version = 1,
                              .canary_version = 2};
    struct canary_scrape before, after;
    memset(&before, 0, sizeof before);
    if (canary_scrape_parse((const char *)data, size, &t, &after, err, sizeof err) == MMSP_OK) {
        struct canary_figures f;
        canary_scrape_diff(&before, &after, &f);
        struct canary_bounds b;
        canary_bounds_default(&b);
        char why[256];
        (void)canary_judge(&b, &f, why, sizeof why);
    }
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
        struct serve_fault faults[SERVE_FAULT_MAX];
        size_t n;
        if (serve_fault_parse(s, faults, SERVE_FAULT_MAX, &n, err, sizeof err) &&
            strnlen(err, sizeof err) == sizeof err)
            __builtin_trap();
        free(s);
    }
    return 0;
}
