/*
 * Test-only fault injection (serve/fault.h): parses MMSP_FAULTS once and, in a build with
 * MMSP_FAULT_INJECTION, makes the named model versions fail or answer slowly. The inference
 * paths (serve/infer.c for v2/v1, the gateway's local back end) call serve_fault_apply just
 * before running the model. Calls: common/log.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "serve/fault.h"

/* One "MODEL:VERSION:KIND" item of len bytes at s. The model may itself hold ':' only if it
 * is not followed by a number and a kind, so the item is split at its last two colons. */
static mmsp_err parse_item(const char *s, size_t len, struct serve_fault *f, char *err,
                           size_t errlen)
{
    char item[512];
    if (len == 0 || len >= sizeof item) {
        snprintf(err, errlen, "MMSP_FAULTS: item of %zu bytes (1..511)", len);
        return MMSP_E_INVALID;
    }
    memcpy(item, s, len);
    item[len] = '\0';
    char *kind = strrchr(item, ':');
    if (!kind || kind == item) {
        snprintf(err, errlen, "MMSP_FAULTS: '%s' is not MODEL:VERSION:KIND", item);
        return MMSP_E_INVALID;
    }
    *kind++ = '\0';
    char *ver = strrchr(item, ':');
    if (!ver || ver == item) {
        snprintf(err, errlen, "MMSP_FAULTS: '%s' is not MODEL:VERSION:KIND", s);
        return MMSP_E_INVALID;
    }
    *ver++ = '\0';
    if (strlen(item) >= sizeof f->model) {
        snprintf(err, errlen, "MMSP_FAULTS: model name too long");
        return MMSP_E_INVALID;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(ver, &end, 10);
    if (errno || end == ver || *end || v < 1) {
        snprintf(err, errlen, "MMSP_FAULTS: version '%s' is not a positive integer", ver);
        return MMSP_E_INVALID;
    }
    memset(f, 0, sizeof *f);
    memcpy(f->model, item, strlen(item) + 1); /* fits: checked above */
    f->version = v;
    if (strcmp(kind, "error") == 0) {
        f->error = 1;
    } else if (strncmp(kind, "delay_ms=", 9) == 0) {
        errno = 0;
        unsigned long d = strtoul(kind + 9, &end, 10);
        if (errno || end == kind + 9 || *end || d > 60000 || kind[9] == '-') {
            snprintf(err, errlen, "MMSP_FAULTS: delay '%s' is not 0..60000 ms", kind + 9);
            return MMSP_E_INVALID;
        }
        f->delay_ms = (unsigned)d;
    } else {
        snprintf(err, errlen, "MMSP_FAULTS: unknown fault '%s' (error, delay_ms=N)", kind);
        return MMSP_E_INVALID;
    }
    return MMSP_OK;
}

mmsp_err serve_fault_parse(const char *spec, struct serve_fault *out, size_t max, size_t *n,
                           char *err, size_t errlen)
{
    *n = 0;
    const char *p = spec;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n >= max) {
            snprintf(err, errlen, "MMSP_FAULTS: more than %zu faults", max);
            return MMSP_E_INVALID;
        }
        mmsp_err rc = parse_item(p, len, &out[*n], err, errlen);
        if (rc)
            return rc;
        (*n)++;
        p += len;
        if (*p == ',' && *++p == '\0') {
            snprintf(err, errlen, "MMSP_FAULTS: empty item after ','");
            return MMSP_E_INVALID;
        }
    }
    return MMSP_OK;
}

#ifdef MMSP_FAULT_INJECTION
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct serve_fault faults[SERVE_FAULT_MAX];
static size_t n_faults;

static void load(void)
{
    const char *spec = getenv("MMSP_FAULTS");
    if (!spec || !*spec)
        return;
    char err[512];
    if (serve_fault_parse(spec, faults, SERVE_FAULT_MAX, &n_faults, err, sizeof err)) {
        log_error("fault_injection", "%s (ignored)", err);
        n_faults = 0;
        return;
    }
    log_warn("fault_injection", "MMSP_FAULTS active: %s (test build)", spec);
}

mmsp_err serve_fault_apply(const char *model, int64_t version, char *err, size_t errlen)
{
    pthread_once(&once, load);
    for (size_t i = 0; i < n_faults; i++) {
        const struct serve_fault *f = &faults[i];
        if (f->version != version || strcmp(f->model, model) != 0)
            continue;
        if (f->delay_ms) {
            struct timespec ts = {f->delay_ms / 1000, (long)(f->delay_ms % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
            }
        }
        if (f->error) {
            snprintf(err, errlen, "injected fault: %s version %lld fails (MMSP_FAULTS)", model,
                     (long long)version);
            return MMSP_E_INTERNAL;
        }
    }
    return MMSP_OK;
}
#endif
