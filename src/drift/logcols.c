/*
 * Column names of the features in a Parquet prediction log (docs/gateway.md "Prediction log"):
 * the one rule both the gateway's writer (gateway/predlog_parquet.c) and the drift report
 * (report.c) apply, so a baseline built from training data with real column names finds the
 * log's columns by name. A name is the model's feature name with control bytes turned into
 * '_' and cut to PARQUET_MAX_NAME bytes (at a UTF-8 boundary); an empty or absent name is
 * "f<i>"; a name taken by a column the log itself writes (time, id, ..., status, prediction_*,
 * prob_*) gets the prefix "feature_"; a name already used by an earlier feature gets "_2",
 * "_3", ... Calls: parquet (the name limit only).
 */
#include <stdio.h>
#include <string.h>

#include "drift/drift.h"
#include "parquet/parquet.h"

_Static_assert(DRIFT_COLUMN_NAME_MAX == PARQUET_MAX_NAME, "column names are Parquet names");

static const char *const fixed_columns[] = {"time",       "id",         "deployment", "environment",
                                            "model",      "version",    "variant",    "entity_id",
                                            "prediction", "latency_ms", "status"};

int drift_log_column_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof fixed_columns / sizeof *fixed_columns; i++)
        if (strcmp(name, fixed_columns[i]) == 0)
            return 1;
    return strncmp(name, "prediction_", 11) == 0 || strncmp(name, "prob_", 5) == 0;
}

/* Copies at most max bytes of s into d, never ending inside a UTF-8 sequence; control bytes
 * become '_'. */
static void copy_clean(char *d, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        d[i] = c < 0x20 || c == 0x7f ? '_' : (char)c;
    }
    d[n] = '\0';
}

static int taken(char (*out)[DRIFT_COLUMN_NAME_MAX + 1], size_t upto, const char *name)
{
    if (drift_log_column_reserved(name))
        return 1;
    for (size_t j = 0; j < upto; j++)
        if (strcmp(out[j], name) == 0)
            return 1;
    return 0;
}

void drift_log_feature_columns(const char *const *names, size_t n,
                               char (*out)[DRIFT_COLUMN_NAME_MAX + 1])
{
    char base[DRIFT_COLUMN_NAME_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        const char *s = names ? names[i] : NULL;
        if (!s || !*s) {
            snprintf(base, sizeof base, "f%zu", i);
        } else {
            copy_clean(base, s, DRIFT_COLUMN_NAME_MAX);
            if (drift_log_column_reserved(base)) {
                char tmp[DRIFT_COLUMN_NAME_MAX + 1];
                copy_clean(tmp, base, DRIFT_COLUMN_NAME_MAX - 8);
                memcpy(base, "feature_", 8);
                memcpy(base + 8, tmp, strlen(tmp) + 1);
            }
        }
        memcpy(out[i], base, strlen(base) + 1);
        for (unsigned k = 2; taken(out, i, out[i]); k++) {
            char suffix[16], tmp[DRIFT_COLUMN_NAME_MAX + 1];
            int sl = snprintf(suffix, sizeof suffix, "_%u", k);
            copy_clean(tmp, base, DRIFT_COLUMN_NAME_MAX - (size_t)sl);
            size_t tl = strlen(tmp);
            memcpy(out[i], tmp, tl);
            memcpy(out[i] + tl, suffix, (size_t)sl + 1);
        }
    }
}
