/*
 * Fuzz driver for the feature store's parsers. The first byte selects:
 *   byte % 3 == 0: the rest is CSV: feat_csv_parse, every column cast to each type (on a
 *                  fresh parse), then, when the columns include id and ts, a point-in-time
 *                  join of the table with itself through a fixed view;
 *   byte % 3 == 1: the rest is a YAML feature-view file: feat_yaml_parse;
 *   byte % 3 == 2: the rest is a timestamp and a duration: feat_parse_time_ms,
 *                  feat_parse_duration_ms, and feat_format_time of the result.
 * Every failure must leave a NUL-terminated message. Seeds: tests/fuzz/corpus/fuzz_features/.
 * Calls: features/features.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/features.h"

static void check_msg(const char *err, size_t len)
{
    if (strnlen(err, len) == len)
        abort();
}

static void fuzz_csv(const char *text, size_t len)
{
    char err[512];
    struct feat_table t;
    err[0] = 0;
    if (feat_csv_parse(text, len, &t, err, sizeof err) != MMSP_OK) {
        check_msg(err, sizeof err);
        return;
    }
    static const enum feat_type types[] = {FEAT_INT64, FEAT_FLOAT,     FEAT_DOUBLE,
                                           FEAT_BOOL,  FEAT_TIMESTAMP, FEAT_STRING};
    for (size_t k = 0; k < sizeof types / sizeof types[0] && t.n_cols; k++) {
        struct feat_table u;
        if (feat_csv_parse(text, len, &u, err, sizeof err) != MMSP_OK)
            abort(); /* parsing is deterministic */
        err[0] = 0;
        if (feat_table_cast(&u, k % u.n_cols, types[k], err, sizeof err) != MMSP_OK)
            check_msg(err, sizeof err);
        feat_table_free(&u);
    }
    int id = feat_table_col(&t, "id"), ts = feat_table_col(&t, "ts");
    if (id >= 0 && ts >= 0 && t.n_rows < 5000) {
        struct feat_view *v = calloc(1, sizeof *v);
        struct feat_table rows, out;
        const char *names[3] = {"id", "ts", "x"};
        enum feat_type tt[3] = {FEAT_STRING, FEAT_TIMESTAMP, FEAT_STRING};
        feat_table_init(&rows);
        if (v && feat_table_set_columns(&rows, 3, names, tt) == MMSP_OK) {
            snprintf(v->name, sizeof v->name, "v");
            v->n_entities = 1;
            snprintf(v->entities[0], FEAT_NAME_MAX, "id");
            snprintf(v->timestamp_field, sizeof v->timestamp_field, "ts");
            v->n_features = 1;
            snprintf(v->features[0].name, FEAT_NAME_MAX, "x");
            v->ttl_ms = 3600000;
            struct feat_table c;
            if (feat_csv_parse(text, len, &c, err, sizeof err) == MMSP_OK) {
                if (feat_table_cast(&c, (size_t)ts, FEAT_TIMESTAMP, err, sizeof err) == MMSP_OK) {
                    for (size_t r = 0; r < c.n_rows; r++) {
                        struct feat_value row[3] = {*feat_table_cell(&c, r, (size_t)id),
                                                    *feat_table_cell(&c, r, (size_t)ts),
                                                    {.null = 1, .type = FEAT_STRING}};
                        if (row[0].type != FEAT_STRING)
                            row[0].null = 1;
                        feat_table_append(&rows, row);
                    }
                    err[0] = 0;
                    if (feat_pit_join(v, &rows, &t, &out, err, sizeof err) == MMSP_OK) {
                        if (out.n_rows != t.n_rows)
                            abort();
                        feat_table_free(&out);
                    } else {
                        check_msg(err, sizeof err);
                    }
                }
                feat_table_free(&c);
            }
        }
        feat_table_free(&rows);
        free(v);
    }
    feat_table_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char err[512];
    switch (data[0] % 3) {
    case 0:
        fuzz_csv(text, len);
        break;
    case 1: {
        struct feat_view *v;
        struct feat_service *s;
        size_t nv, ns;
        err[0] = 0;
        if (feat_yaml_parse(text, len, "fuzz.yaml", "/base", &v, &nv, &s, &ns, err, sizeof err) ==
            MMSP_OK) {
            free(v);
            free(s);
        } else {
            check_msg(err, sizeof err);
        }
        break;
    }
    default: {
        char *s = malloc(len + 1);
        if (!s)
            return 0;
        memcpy(s, text, len);
        s[len] = 0;
        int64_t ms;
        char out[40];
        if (feat_parse_time_ms(s, &ms))
            feat_format_time(ms, out);
        feat_parse_duration_ms(s, &ms);
        free(s);
    }
    }
    return 0;
}
