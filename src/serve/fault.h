/*
 * Fault injection for tests (docs/serve.md "Fault injection (tests only)"). Compiled in only
 * when CMake's MMSP_FAULT_INJECTION option is ON (scripts/test-all and CI turn it on; release
 * builds leave it off, and then serve_fault_apply is an inline no-op). With it, the
 * environment variable MMSP_FAULTS lists faults, comma-separated:
 *     MODEL:VERSION:error          every inference of that version fails (HTTP 500)
 *     MODEL:VERSION:delay_ms=N     every inference of that version first sleeps N ms
 * MODEL is the served (v2) model name: the deployment name, or NAME@staging. The variable is
 * read once, at the first inference; a malformed value is logged and ignored.
 * Calls: common/log.
 */
#ifndef MMSP_SERVE_FAULT_H
#define MMSP_SERVE_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

#define SERVE_FAULT_MAX 16

struct serve_fault {
    char model[256];
    int64_t version;
    int error;         /* 1: fail */
    unsigned delay_ms; /* 0: none */
};

/* Parses a MMSP_FAULTS value into out (at most max entries; *n of them filled).
 * MMSP_E_INVALID with the reason in err for a malformed value. Always compiled (fuzzed). */
mmsp_err serve_fault_parse(const char *spec, struct serve_fault *out, size_t max, size_t *n,
                           char *err, size_t errlen);

#ifdef MMSP_FAULT_INJECTION
/* Applies the faults configured for (model, version): sleeps for a delay, and returns
 * MMSP_E_INTERNAL with a message for an error fault; MMSP_OK otherwise. Thread-safe. */
mmsp_err serve_fault_apply(const char *model, int64_t version, char *err, size_t errlen);
#else
static inline mmsp_err serve_fault_apply(const char *model, int64_t version, char *err,
                                         size_t errlen)
{
    (void)model;
    (void)version;
    (void)err;
    (void)errlen;
    return MMSP_OK;
}
#endif

#endif
