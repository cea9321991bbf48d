/*
 * A small reader of the Prometheus text exposition format 0.0.4 (protocols.md section 5.2),
 * enough for the canary controller to read a gateway's /metrics: every sample line is handed
 * to a callback as name, labels and value; # HELP / # TYPE / comments and blank lines are
 * skipped; timestamps are accepted and ignored. Calls: nothing but libc.
 */
#ifndef MMSP_GATEWAY_PROMTEXT_H
#define MMSP_GATEWAY_PROMTEXT_H

#include <stddef.h>

#include "mmsp/error.h"

#define PROMTEXT_MAX_LABELS 16
#define PROMTEXT_MAX_LINE   8192 /* bytes of one sample line's name plus decoded labels */

struct promtext_label {
    const char *name, *value; /* borrowed, valid during the callback */
};

/* Returns 0 to go on, non-zero to stop the parse (promtext_parse then returns MMSP_OK). */
typedef int (*promtext_fn)(void *ctx, const char *name, const struct promtext_label *labels,
                           size_t n_labels, double value);

/* Parses text[0..len) (need not be NUL-terminated). MMSP_E_PARSE with the line number and
 * reason in err for a malformed line (the samples before it were delivered). */
mmsp_err promtext_parse(const char *text, size_t len, promtext_fn fn, void *ctx, char *err,
                        size_t errlen);

/* The label's value, or NULL. */
const char *promtext_label(const struct promtext_label *labels, size_t n, const char *name);

#endif
