/*
 * The Parquet prediction-log writer (predlog.h, docs/gateway.md "Prediction log"): one row per
 * input row of a record, with the columns time (TIMESTAMP_MS), id, deployment, environment,
 * model (STRING), version (INT64), variant, entity_id (STRING), one DOUBLE column per input
 * feature (named after the model's feature names when the log resolved them,
 * drift_log_feature_columns, else f0..fN-1), prediction (DOUBLE), prediction_0..k-1 (DOUBLE,
 * models with k > 1 outputs per row), prob_0..m-1 (DOUBLE, class probabilities), latency_ms
 * (DOUBLE) and status (STRING). Rows are buffered in columns and written as a row group every
 * row_group_rows rows and when the file closes; the file's schema is fixed by its first
 * record, and a record with other features (count or names), another prediction width or
 * another class count asks the log for a new file (starts_new_file); a record lacking a part
 * (an error has no prediction) fits any file and gets nulls. The Parquet writer writes
 * "<path>.tmp" and renames it once the footer is on disk, so a visible predictions-*.parquet
 * is always complete.
 * Calls: parquet (writer, columns), drift (the feature column names).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drift/drift.h"
#include "gateway/predlog.h"
#include "parquet/parquet.h"

#define PQ_DEFAULT_ROW_GROUP 10000
#define PQ_MAX_ROW_GROUP     65536
#define PQ_FIXED_COLS        11 /* everything but the features, predictions and probabilities */
#define PQ_MAX_FEATURES      (PARQUET_MAX_COLUMNS - PQ_FIXED_COLS)
#define PQ_MAX_WIDE          256 /* prediction_k / prob_k columns logged at most (each) */

typedef char colname[DRIFT_COLUMN_NAME_MAX + 1];

/* Column indexes; the features sit between C_ENTITY and the prediction. */
enum { C_TIME, C_ID, C_DEPLOYMENT, C_ENVIRONMENT, C_MODEL, C_VERSION, C_VARIANT, C_ENTITY };

/* The variable part of a file's schema. */
struct pq_shape {
    size_t nfeat;
    size_t nnames;            /* nfeat when the features are named, else 0 (f0..) */
    const char *const *names; /* borrowed from the entry */
    size_t npred;             /* prediction_k columns: k when k > 1 values per row, else 0 */
    size_t nprob;             /* prob_k columns */
};

struct pq_writer {
    struct predlog_writer base;
    size_t row_group_rows;
    char path[4096];
    struct parquet_writer *pw;   /* owned; NULL until the file's first record */
    size_t nfeat, npred, nprob;  /* the current file's schema */
    char **names;                /* nfeat owned raw feature names, or NULL (f0..) */
    struct parquet_column *cols; /* ncols owned columns: the buffered rows */
    size_t ncols;
    size_t buffered;
};

/* Features of e: the input tensor's columns ([rows, cols] or [cols]); *rows = 0 when it has
 * none usable (absent, not FP32, or inconsistent). */
static void entry_shape(const struct predlog_entry *e, size_t *rows, size_t *cols)
{
    const mmsp_tensor *t = &e->inputs;
    *rows = *cols = 0;
    if (!t->data || t->dtype != MMSP_DT_FP32)
        return;
    int64_t r = 1, c;
    if (t->ndim == 2) {
        r = t->shape[0];
        c = t->shape[1];
    } else if (t->ndim == 1) {
        c = t->shape[0];
    } else {
        return;
    }
    if (r <= 0 || c <= 0 || (uint64_t)c > PQ_MAX_FEATURES || (uint64_t)r > (1u << 24) ||
        (uint64_t)r * (uint64_t)c * 4 > t->nbytes)
        return;
    *rows = (size_t)r;
    *cols = (size_t)c;
}

/* Values per row of tensor t for `rows` rows (FP32, whole rows); 0 when unusable. */
static size_t per_row(const mmsp_tensor *t, size_t rows)
{
    int64_t n = 0;
    if (!rows || !t->data || t->dtype != MMSP_DT_FP32 || t->ndim < 1 ||
        mmsp_shape_elements(t->shape, t->ndim, &n) || n <= 0 || (size_t)n % rows ||
        (size_t)n * 4 > t->nbytes)
        return 0;
    return (size_t)n / rows;
}

/* The schema e asks for, and its row count (0 without usable inputs). */
static void entry_layout(const struct predlog_entry *e, size_t *rows, struct pq_shape *sh)
{
    memset(sh, 0, sizeof *sh);
    entry_shape(e, rows, &sh->nfeat);
    if (!*rows)
        return;
    if (e->feature_names && e->nfeature_names == sh->nfeat) {
        sh->nnames = sh->nfeat;
        sh->names = e->feature_names;
    }
    size_t k = per_row(&e->prediction, *rows), m = per_row(&e->probabilities, *rows);
    sh->npred = k > 1 && k <= PQ_MAX_WIDE ? k : 0;
    sh->nprob = m <= PQ_MAX_WIDE ? m : 0;
}

static void free_cols(struct pq_writer *p)
{
    for (size_t i = 0; i < p->ncols; i++)
        parquet_column_free(&p->cols[i]);
    free(p->cols);
    p->cols = NULL;
    p->ncols = 0;
    p->buffered = 0;
    for (size_t i = 0; p->names && i < p->nfeat; i++)
        free(p->names[i]);
    free(p->names);
    p->names = NULL;
}

/* Creates the Parquet file for schema sh. */
static mmsp_err start_file(struct pq_writer *p, const struct pq_shape *sh, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    size_t nfeat = sh->nfeat, n = PQ_FIXED_COLS + nfeat + sh->npred + sh->nprob;
    struct parquet_schema s = {.ncols = n, .fields = calloc(n, sizeof(struct parquet_field))};
    colname *fnames = calloc(nfeat ? nfeat : 1, sizeof *fnames);
    p->cols = calloc(n, sizeof *p->cols);
    p->names = sh->nnames ? calloc(nfeat, sizeof *p->names) : NULL;
    if (!s.fields || !p->cols || !fnames || (sh->nnames && !p->names)) {
        snprintf(err, errlen, "out of memory");
        rc = MMSP_E_NOMEM;
        goto out;
    }
    p->ncols = n;
    p->nfeat = nfeat;
    for (size_t i = 0; i < sh->nnames; i++)
        if (!(p->names[i] = strdup(sh->names[i]))) {
            snprintf(err, errlen, "out of memory");
            rc = MMSP_E_NOMEM;
            goto out;
        }
    drift_log_feature_columns(sh->nnames ? sh->names : NULL, nfeat, fnames);
    static const char *const head[] = {"time",  "id",      "deployment", "environment",
                                       "model", "version", "variant",    "entity_id"};
    size_t pred = 8 + nfeat, wide = pred + 1, tail = wide + sh->npred + sh->nprob;
    for (size_t i = 0; i < n; i++) {
        struct parquet_field *f = &s.fields[i];
        f->nullable = true;
        f->type = PARQUET_DOUBLE;
        if (i < 8) {
            snprintf(f->name, sizeof f->name, "%s", head[i]);
            f->type = i == C_TIME      ? PARQUET_TIMESTAMP_MS
                      : i == C_VERSION ? PARQUET_INT64
                                       : PARQUET_STRING;
            f->nullable = i != C_TIME && i != C_VERSION;
        } else if (i < pred) {
            memcpy(f->name, fnames[i - 8], sizeof fnames[i - 8]);
        } else if (i == pred) {
            snprintf(f->name, sizeof f->name, "prediction");
        } else if (i < wide + sh->npred) {
            snprintf(f->name, sizeof f->name, "prediction_%zu", i - wide);
        } else if (i < tail) {
            snprintf(f->name, sizeof f->name, "prob_%zu", i - wide - sh->npred);
        } else if (i == tail) {
            snprintf(f->name, sizeof f->name, "latency_ms");
            f->nullable = false;
        } else {
            snprintf(f->name, sizeof f->name, "status");
            f->type = PARQUET_STRING;
        }
        parquet_column_init(&p->cols[i], f->type);
    }
    struct parquet_writer_options wo;
    parquet_writer_options_default(&wo);
    wo.row_group_rows = PQ_MAX_ROW_GROUP; /* we hand it whole row groups */
    if ((rc = parquet_writer_open(p->path, &s, &wo, &p->pw, err, errlen)))
        goto out;
    p->npred = sh->npred;
    p->nprob = sh->nprob;
out:
    free(s.fields);
    free(fnames);
    if (rc)
        free_cols(p);
    return rc;
}

static mmsp_err write_group(struct pq_writer *p, char *err, size_t errlen)
{
    if (!p->pw || !p->buffered)
        return MMSP_OK;
    mmsp_err rc = parquet_writer_write(p->pw, p->cols, p->ncols, p->buffered, err, errlen);
    if (!rc)
        rc = parquet_writer_flush(p->pw, err, errlen);
    for (size_t i = 0; i < p->ncols; i++)
        parquet_column_clear(&p->cols[i]);
    p->buffered = 0;
    return rc;
}

static mmsp_err pq_open(struct predlog_writer *w, const char *path, char *err, size_t errlen)
{
    struct pq_writer *p = (struct pq_writer *)w;
    if (strlen(path) + 5 > sizeof p->path) {
        snprintf(err, errlen, "prediction log path too long");
        return MMSP_E_TOO_LARGE;
    }
    char tmp[sizeof p->path];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!access(path, F_OK) || !access(tmp, F_OK)) {
        snprintf(err, errlen, "%s: exists", path);
        return MMSP_E_EXISTS;
    }
    snprintf(p->path, sizeof p->path, "%s", path);
    return MMSP_OK; /* the file itself is created by the first record (its schema) */
}

/* True when the open file's features are sh's (count and names). */
static bool same_features(const struct pq_writer *p, const struct pq_shape *sh)
{
    if (sh->nfeat != p->nfeat || (sh->nnames != 0) != (p->names != NULL))
        return false;
    for (size_t i = 0; i < sh->nnames; i++)
        if (strcmp(sh->names[i], p->names[i]) != 0)
            return false;
    return true;
}

static bool pq_starts_new_file(struct predlog_writer *w, const struct predlog_entry *e)
{
    struct pq_writer *p = (struct pq_writer *)w;
    size_t rows;
    struct pq_shape sh;
    entry_layout(e, &rows, &sh);
    if (!p->pw || !rows)
        return false; /* no inputs: nulls fit any file */
    if (!same_features(p, &sh))
        return true;
    if (per_row(&e->prediction, rows) && sh.npred != p->npred)
        return true;
    return per_row(&e->probabilities, rows) && sh.nprob != p->nprob;
}

static mmsp_err put_str(struct parquet_column *c, const char *s)
{
    return s ? parquet_column_append_string(c, s, strlen(s)) : parquet_column_append_null(c);
}

/* Appends row r of e (features from row r of the inputs when has_x). */
static mmsp_err append_row(struct pq_writer *p, const struct predlog_entry *e, size_t r,
                           size_t nrows, bool has_x)
{
    struct parquet_column *c = p->cols;
    mmsp_err rc;
    if ((rc = parquet_column_append_i64(&c[C_TIME], e->time_ms)) ||
        (rc = put_str(&c[C_ID], e->id)) || (rc = put_str(&c[C_DEPLOYMENT], e->deployment)) ||
        (rc = put_str(&c[C_ENVIRONMENT], e->environment)) ||
        (rc = put_str(&c[C_MODEL], e->model)) ||
        (rc = parquet_column_append_i64(&c[C_VERSION], e->version)) ||
        (rc = put_str(&c[C_VARIANT], e->variant)) || (rc = put_str(&c[C_ENTITY], e->entity_id)))
        return rc;
    for (size_t j = 0; j < p->nfeat; j++) {
        struct parquet_column *f = &c[8 + j];
        if (has_x) {
            float x;
            memcpy(&x, (const char *)e->inputs.data + (r * p->nfeat + j) * 4, 4);
            rc = parquet_column_append_double(f, x);
        } else {
            rc = parquet_column_append_null(f);
        }
        if (rc)
            return rc;
    }
    /* prediction: the row's value when the model gives one number per row, else null */
    const mmsp_tensor *t = &e->prediction;
    int64_t n = 0;
    struct parquet_column *pc = &c[8 + p->nfeat];
    if (t->data && t->dtype == MMSP_DT_FP32 && t->ndim >= 1 &&
        !mmsp_shape_elements(t->shape, t->ndim, &n) && (size_t)n == nrows &&
        (size_t)n * 4 <= t->nbytes) {
        float y;
        memcpy(&y, (const char *)t->data + r * 4, 4);
        rc = parquet_column_append_double(pc, y);
    } else {
        rc = parquet_column_append_null(pc);
    }
    /* prediction_k, then prob_k: the row's k-th value when the record's width is the file's */
    struct parquet_column *wc = pc + 1;
    const mmsp_tensor *wt[2] = {&e->prediction, &e->probabilities};
    size_t ww[2] = {p->npred, p->nprob};
    for (int t2 = 0; t2 < 2 && !rc; t2++) {
        bool fits = has_x && ww[t2] && per_row(wt[t2], nrows) == ww[t2];
        for (size_t k = 0; k < ww[t2] && !rc; k++, wc++) {
            if (fits) {
                float y;
                memcpy(&y, (const char *)wt[t2]->data + (r * ww[t2] + k) * 4, 4);
                rc = parquet_column_append_double(wc, y);
            } else {
                rc = parquet_column_append_null(wc);
            }
        }
    }
    if (!rc)
        rc = parquet_column_append_double(wc, e->latency_ms);
    if (!rc)
        rc = put_str(wc + 1, e->status);
    return rc;
}

static mmsp_err pq_write(struct predlog_writer *w, const struct predlog_entry *e, size_t *bytes,
                         char *err, size_t errlen)
{
    struct pq_writer *p = (struct pq_writer *)w;
    mmsp_err rc = MMSP_OK;
    size_t rows;
    struct pq_shape sh;
    entry_layout(e, &rows, &sh);
    bool has_x = rows > 0;
    if (!p->pw && (rc = start_file(p, &sh, err, errlen)))
        return rc;
    if (has_x && sh.nfeat != p->nfeat) { /* the log asks starts_new_file first: not reached */
        snprintf(err, errlen, "record has %zu features, the file %zu", sh.nfeat, p->nfeat);
        return MMSP_E_INVALID;
    }
    if (!has_x)
        rows = 1;
    size_t before = p->buffered;
    for (size_t r = 0; r < rows && !rc; r++)
        rc = append_row(p, e, r, rows, has_x);
    if (rc) { /* drop the record's rows: every column back to the same length */
        for (size_t i = 0; i < p->ncols; i++)
            if (p->cols[i].rows > before)
                p->cols[i].rows = before;
        snprintf(err, errlen, "cannot buffer record: %s", mmsp_strerror(rc));
        return rc;
    }
    p->buffered += rows;
    if (p->buffered >= p->row_group_rows && (rc = write_group(p, err, errlen)))
        return rc;
    /* the file so far plus an estimate of the buffered rows (8 bytes a value) */
    *bytes = (size_t)parquet_writer_bytes(p->pw) + p->buffered * p->ncols * 8;
    return MMSP_OK;
}

static mmsp_err pq_close(struct predlog_writer *w, char *err, size_t errlen)
{
    struct pq_writer *p = (struct pq_writer *)w;
    mmsp_err rc = MMSP_OK;
    if (p->pw) {
        rc = write_group(p, err, errlen);
        if (rc) {
            parquet_writer_abort(p->pw);
        } else {
            rc = parquet_writer_close(p->pw, err, errlen);
        }
        p->pw = NULL;
    }
    free_cols(p);
    p->path[0] = '\0';
    return rc;
}

static void pq_free(struct predlog_writer *w)
{
    if (!w)
        return;
    char err[MMSP_ERRMSG_MAX];
    pq_close(w, err, sizeof err);
    free(w);
}

static const struct predlog_writer_ops parquet_ops = {
    .name = "parquet",
    .extension = "parquet",
    .open_file = pq_open,
    .write_record = pq_write,
    .flush = NULL, /* rows become visible with the file's footer, not before */
    .close_file = pq_close,
    .free = pq_free,
    .starts_new_file = pq_starts_new_file,
};

mmsp_err predlog_writer_parquet(size_t row_group_rows, struct predlog_writer **out)
{
    if (row_group_rows > PQ_MAX_ROW_GROUP)
        return MMSP_E_INVALID;
    struct pq_writer *p = calloc(1, sizeof *p);
    if (!p)
        return MMSP_E_NOMEM;
    p->base.ops = &parquet_ops;
    p->row_group_rows = row_group_rows ? row_group_rows : PQ_DEFAULT_ROW_GROUP;
    *out = &p->base;
    return MMSP_OK;
}
