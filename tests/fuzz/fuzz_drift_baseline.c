/*
 * Fuzz driver for the drift parsers: the bytes are parsed as a baseline JSON document
 * (drift_baseline_parse; a parsed baseline is written back to JSON and compared with a log
 * buffer), as a training CSV (drift_csv_parse, then drift_baseline_build) and as prediction-log
 * JSON lines scanned against a fixed 3-feature baseline (drift_report_buffer). A failure must
 * leave a NUL-terminated message. Seeds: tests/fuzz/corpus/fuzz_drift_baseline/.
 * Calls: drift.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift.h"

static const char fixed_csv[] = "a,b,c\n1,2,x\n2,3,y\n3,5,x\n4,7,\n5,11,z\n0.5,-1,x\n";
static const char fixed_log[] =
    "{\"time\":\"2026-01-01T00:00:00.000Z\",\"inputs\":[[1,2,0],[3.5,1e3,null]]}\n";

static void check_err(mmsp_err rc, const char *err, size_t errlen)
{
    if (rc && strnlen(err, errlen) == errlen)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    const char *text = (const char *)data;
    struct drift_baseline b, fixed;
    struct drift_report r;
    err[0] = '\0';
    mmsp_err rc = drift_baseline_parse(text, size, &b, err, sizeof err);
    check_err(rc, err, sizeof err);
    if (rc == MMSP_OK) {
        char *json = NULL;
        if (drift_baseline_to_json(&b, &json, err, sizeof err) == MMSP_OK)
            free(json);
        if (drift_report_buffer(&b, fixed_log, sizeof fixed_log - 1, 0, &r, err, sizeof err) ==
            MMSP_OK)
            drift_report_free(&r);
        drift_baseline_free(&b);
    }
    struct drift_table t;
    err[0] = '\0';
    rc = drift_csv_parse(text, size, &t, err, sizeof err);
    check_err(rc, err, sizeof err);
    if (rc == MMSP_OK) {
        struct drift_baseline_options o = {.bins = 4, .sample = 16};
        if (t.nrows <= 5000 && drift_baseline_build(&t, &o, &b, err, sizeof err) == MMSP_OK)
            drift_baseline_free(&b);
        drift_table_free(&t);
    }
    err[0] = '\0';
    if (drift_csv_parse(fixed_csv, sizeof fixed_csv - 1, &t, err, sizeof err) == MMSP_OK) {
        struct drift_baseline_options o = {.bins = 3, .sample = 4};
        if (drift_baseline_build(&t, &o, &fixed, err, sizeof err) == MMSP_OK) {
            rc = drift_report_buffer(&fixed, text, size, 1, &r, err, sizeof err);
            check_err(rc, err, sizeof err);
            if (rc == MMSP_OK)
                drift_report_free(&r);
            drift_baseline_free(&fixed);
        }
        drift_table_free(&t);
    }
    return 0;
}
