/*
 * The prediction log (predlog.h, docs/gateway.md "Prediction log"). predlog_write copies a
 * record into one malloc'd block and pushes it into a bounded ring under a mutex held for a
 * few instructions; a full ring drops the record and counts it, so a request never waits for
 * the disk. One background thread swaps the ring's contents out in batches and hands each
 * record to the writer (vtable), opening files lazily as DIR/predictions-<UTC>-<seq>.<ext> and
 * rotating once a file passes max_bytes or max_age_ms, or when the writer says a record needs
 * a new file (starts_new_file). The JSON-lines writer lives here too.
 * Calls: common/buf, common/json (number and string writers), common/log, metrics.
 */
#include "gateway/predlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "metrics/metrics.h"

#define PREDLOG_DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define PREDLOG_DEFAULT_QUEUE     65536
#define PREDLOG_DEFAULT_MAX_AGE   (3600 * 1000LL)
#define PREDLOG_MAX_QUEUE         (1u << 24)
#define PREDLOG_LINE_MAX          ((size_t)64 << 20) /* one record's JSON */

#define PREDLOG_NAMES_SLOTS    64   /* (deployment, environment, version) names cached */
#define PREDLOG_NAMES_MAX      4096 /* feature names of one model */
#define PREDLOG_NAMES_RETRY_MS 5000 /* a failed lookup is retried after this */

#define PREDLOG_LINGER_BELOW 256     /* records: batches smaller than this make the thread linger */
#define PREDLOG_LINGER_NS    2000000 /* 2 ms */

/* The feature names of one model version, cached by the log's thread. */
struct names_slot {
    char *deployment, *environment; /* NULL = free slot */
    int64_t version;
    char **names;
    size_t n;
    int64_t retry_ms; /* 0: final; else the lookup failed, try again after this time */
};

struct predlog {
    char *dir;
    size_t max_bytes;
    int64_t max_age_ms;
    struct predlog_writer *writer; /* owned */
    pthread_t thread;
    int thread_started;

    pthread_mutex_t mu;
    pthread_cond_t work_cv;       /* records queued, or stopping */
    pthread_cond_t done_cv;       /* a batch finished */
    struct predlog_entry **ring;  /* cap slots, owned entries */
    struct predlog_entry **batch; /* thread-only: entries taken out of the ring */
    size_t batch_cap;
    size_t cap, head, count;
    uint64_t queued_seq;  /* records accepted so far */
    uint64_t handled_seq; /* records the thread finished (written or failed) */
    int stopping;

    atomic_uint_fast64_t written, dropped;
    struct metric_series *m_written, *m_dropped; /* NULL without metrics */

    /* thread-only state */
    int file_open;
    unsigned file_seq;
    size_t file_bytes;
    int64_t file_opened_ms; /* CLOCK_REALTIME ms */
    predlog_names_fn names_fn;
    void *names_ctx;
    struct names_slot names[PREDLOG_NAMES_SLOTS];
    size_t names_next; /* the slot replaced next when all are used */
};

/* ------------------------------------------------------------------ JSON lines writer */

struct jsonl_writer {
    struct predlog_writer base;
    FILE *f;
    size_t bytes;
    struct buf line;
};

static mmsp_err write_time(struct buf *b, int64_t ms)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&sec, &tm))
        return buf_append_str(b, "null");
    return buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      (int)(ms % 1000));
}

static mmsp_err write_str(struct buf *b, const char *s)
{
    return s ? json_write_string(b, s, strlen(s)) : buf_append_str(b, "null");
}

/* Nested arrays following the shape, from dimension d on; *i is the next element. */
static mmsp_err write_dims(struct buf *b, const mmsp_tensor *t, int d, size_t *i)
{
    mmsp_err rc = MMSP_OK;
    if (d == t->ndim) {
        float x;
        memcpy(&x, (const char *)t->data + *i * 4, 4);
        (*i)++;
        return json_write_float(b, x);
    }
    if ((rc = buf_append_char(b, '[')))
        return rc;
    for (int64_t k = 0; k < t->shape[d]; k++) {
        if (k && (rc = buf_append_char(b, ',')))
            return rc;
        if ((rc = write_dims(b, t, d + 1, i)))
            return rc;
    }
    return buf_append_char(b, ']');
}

static mmsp_err write_tensor(struct buf *b, const mmsp_tensor *t)
{
    int64_t n = 0;
    if (!t->data || t->dtype != MMSP_DT_FP32 || t->ndim < 1 ||
        mmsp_shape_elements(t->shape, t->ndim, &n) || (size_t)n * 4 > t->nbytes)
        return buf_append_str(b, "null");
    size_t i = 0;
    return write_dims(b, t, 0, &i);
}

mmsp_err predlog_entry_json(struct buf *b, const struct predlog_entry *e)
{
    mmsp_err rc;
    if ((rc = buf_append_str(b, "{\"time\":")) || (rc = write_time(b, e->time_ms)) ||
        (rc = buf_append_str(b, ",\"id\":")) || (rc = write_str(b, e->id)) ||
        (rc = buf_append_str(b, ",\"deployment\":")) || (rc = write_str(b, e->deployment)) ||
        (rc = buf_append_str(b, ",\"environment\":")) || (rc = write_str(b, e->environment)) ||
        (rc = buf_append_str(b, ",\"model\":")) || (rc = write_str(b, e->model)) ||
        (rc = buf_append_str(b, ",\"version\":")) || (rc = json_write_int(b, e->version)) ||
        (rc = buf_append_str(b, ",\"variant\":")) || (rc = write_str(b, e->variant)) ||
        (rc = buf_append_str(b, ",\"entity_id\":")) || (rc = write_str(b, e->entity_id)) ||
        (rc = buf_append_str(b, ",\"inputs\":")) || (rc = write_tensor(b, &e->inputs)) ||
        (rc = buf_append_str(b, ",\"prediction\":")) || (rc = write_tensor(b, &e->prediction)) ||
        (rc = buf_append_str(b, ",\"probabilities\":")) ||
        (rc = write_tensor(b, &e->probabilities)) || (rc = buf_append_str(b, ",\"latency_ms\":")) ||
        (rc = json_write_double(b, e->latency_ms)) || (rc = buf_append_str(b, ",\"status\":")) ||
        (rc = write_str(b, e->status)))
        return rc;
    return buf_append_char(b, '}');
}

static mmsp_err jsonl_open(struct predlog_writer *w, const char *path, char *err, size_t errlen)
{
    struct jsonl_writer *j = (struct jsonl_writer *)w;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == EEXIST ? MMSP_E_EXISTS : MMSP_E_IO;
    }
    j->f = fdopen(fd, "w");
    if (!j->f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return MMSP_E_IO;
    }
    j->bytes = 0;
    return MMSP_OK;
}

static mmsp_err jsonl_write(struct predlog_writer *w, const struct predlog_entry *e, size_t *bytes,
                            char *err, size_t errlen)
{
    struct jsonl_writer *j = (struct jsonl_writer *)w;
    buf_reset(&j->line);
    mmsp_err rc = predlog_entry_json(&j->line, e);
    if (!rc)
        rc = buf_append_char(&j->line, '\n');
    if (rc) {
        snprintf(err, errlen, "cannot encode record: %s", mmsp_strerror(rc));
        return rc;
    }
    if (fwrite(j->line.data, 1, j->line.len, j->f) != j->line.len) {
        snprintf(err, errlen, "write: %s", strerror(errno));
        return MMSP_E_IO;
    }
    j->bytes += j->line.len;
    *bytes = j->bytes;
    return MMSP_OK;
}

static mmsp_err jsonl_flush(struct predlog_writer *w, char *err, size_t errlen)
{
    struct jsonl_writer *j = (struct jsonl_writer *)w;
    if (j->f && fflush(j->f)) {
        snprintf(err, errlen, "flush: %s", strerror(errno));
        return MMSP_E_IO;
    }
    return MMSP_OK;
}

static mmsp_err jsonl_close(struct predlog_writer *w, char *err, size_t errlen)
{
    struct jsonl_writer *j = (struct jsonl_writer *)w;
    if (!j->f)
        return MMSP_OK;
    mmsp_err rc = MMSP_OK;
    if (fflush(j->f) || fsync(fileno(j->f))) {
        snprintf(err, errlen, "flush: %s", strerror(errno));
        rc = MMSP_E_IO;
    }
    if (fclose(j->f) && !rc) {
        snprintf(err, errlen, "close: %s", strerror(errno));
        rc = MMSP_E_IO;
    }
    j->f = NULL;
    return rc;
}

static void jsonl_free(struct predlog_writer *w)
{
    struct jsonl_writer *j = (struct jsonl_writer *)w;
    if (!j)
        return;
    char err[MMSP_ERRMSG_MAX];
    jsonl_close(w, err, sizeof err);
    buf_release(&j->line);
    free(j);
}

static const struct predlog_writer_ops jsonl_ops = {
    .name = "jsonl",
    .extension = "jsonl",
    .open_file = jsonl_open,
    .write_record = jsonl_write,
    .flush = jsonl_flush,
    .close_file = jsonl_close,
    .free = jsonl_free,
};

mmsp_err predlog_writer_jsonl(struct predlog_writer **out)
{
    struct jsonl_writer *j = calloc(1, sizeof *j);
    if (!j)
        return MMSP_E_NOMEM;
    j->base.ops = &jsonl_ops;
    buf_init(&j->line, PREDLOG_LINE_MAX);
    *out = &j->base;
    return MMSP_OK;
}

/* ------------------------------------------------------------------ records */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static size_t tensor_size(const mmsp_tensor *t)
{
    return t && t->data ? (t->nbytes + 7) & ~(size_t)7 : 0;
}

/* Copies s to *at and advances it; NULL stays NULL. */
static const char *put_str(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *dst = *at;
    memcpy(dst, s, n);
    *at += n;
    return dst;
}

static void put_tensor(char **at, mmsp_tensor *dst, const mmsp_tensor *src)
{
    memset(dst, 0, sizeof *dst);
    if (!src || !src->data)
        return;
    *dst = *src;
    dst->name = NULL;
    if (dst->ndim < 0 || dst->ndim > MMSP_MAX_DIMS)
        dst->ndim = 0;
    dst->data = *at;
    memcpy(*at, src->data, src->nbytes);
    *at += tensor_size(src);
}

/* One block: the entry, tensor data (8-aligned), then the strings. NULL when out of memory. */
static struct predlog_entry *entry_copy(const struct predlog_record *r)
{
    size_t tensors =
        tensor_size(r->inputs) + tensor_size(r->prediction) + tensor_size(r->probabilities);
    size_t strings = str_size(r->id) + str_size(r->deployment) + str_size(r->environment) +
                     str_size(r->model) + str_size(r->variant) + str_size(r->entity_id) +
                     str_size(r->status);
    size_t head = (sizeof(struct predlog_entry) + 7) & ~(size_t)7;
    struct predlog_entry *e = malloc(head + tensors + strings);
    if (!e)
        return NULL;
    char *at = (char *)e + head;
    e->time_ms = r->time_ms ? r->time_ms : now_ms();
    e->version = r->version;
    e->latency_ms = r->latency_ms;
    put_tensor(&at, &e->inputs, r->inputs);
    put_tensor(&at, &e->prediction, r->prediction);
    put_tensor(&at, &e->probabilities, r->probabilities);
    e->id = put_str(&at, r->id);
    e->deployment = put_str(&at, r->deployment);
    e->environment = put_str(&at, r->environment);
    e->model = put_str(&at, r->model);
    e->variant = put_str(&at, r->variant);
    e->entity_id = put_str(&at, r->entity_id);
    e->status = put_str(&at, r->status);
    e->feature_names = NULL;
    e->nfeature_names = 0;
    return e;
}

static void count_drop(struct predlog *log, uint64_t n)
{
    atomic_fetch_add(&log->dropped, n);
    metrics_counter_add(log->m_dropped, (double)n);
}

mmsp_err predlog_write(struct predlog *log, const struct predlog_record *r)
{
    if (!log)
        return MMSP_OK;
    struct predlog_entry *e = entry_copy(r);
    if (!e) {
        count_drop(log, 1);
        return MMSP_E_NOMEM;
    }
    pthread_mutex_lock(&log->mu);
    if (log->count == log->cap || log->stopping) {
        pthread_mutex_unlock(&log->mu);
        free(e);
        count_drop(log, 1);
        return MMSP_E_UNAVAILABLE;
    }
    log->ring[(log->head + log->count) % log->cap] = e;
    log->count++;
    log->queued_seq++;
    /* Only the first record of a batch needs to wake the thread: it drains the whole ring. */
    if (log->count == 1)
        pthread_cond_signal(&log->work_cv);
    pthread_mutex_unlock(&log->mu);
    return MMSP_OK;
}

/* ------------------------------------------------------------------ background thread */

/* Opens the next file: predictions-<UTC>-<seq>.<ext>; an existing name moves to the next seq. */
static mmsp_err open_next(struct predlog *log, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_E_EXISTS;
    for (int tries = 0; tries < 1000 && rc == MMSP_E_EXISTS; tries++) {
        char stamp[32], path[4096];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        log->file_seq++;
        int n = snprintf(path, sizeof path, "%s/predictions-%s-%06u.%s", log->dir, stamp,
                         log->file_seq, log->writer->ops->extension);
        if (n < 0 || (size_t)n >= sizeof path) {
            snprintf(err, errlen, "prediction log path too long");
            return MMSP_E_TOO_LARGE;
        }
        rc = log->writer->ops->open_file(log->writer, path, err, errlen);
    }
    if (!rc) {
        log->file_open = 1;
        log->file_bytes = 0;
        log->file_opened_ms = now_ms();
    }
    return rc;
}

static void close_current(struct predlog *log)
{
    if (!log->file_open)
        return;
    char err[MMSP_ERRMSG_MAX] = "";
    if (log->writer->ops->close_file(log->writer, err, sizeof err))
        log_warn("predlog.close", "prediction log: %s", err);
    log->file_open = 0;
}

static void slot_clear(struct names_slot *s)
{
    free(s->deployment);
    free(s->environment);
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    memset(s, 0, sizeof *s);
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Sets e's feature names from the cache, asking names_fn once per model version (thread-only;
 * no lock: only the log's thread touches the cache). */
static void resolve_names(struct predlog *log, struct predlog_entry *e)
{
    e->feature_names = NULL;
    e->nfeature_names = 0;
    if (!log->names_fn || !e->deployment)
        return;
    struct names_slot *s = NULL;
    for (size_t i = 0; i < PREDLOG_NAMES_SLOTS && !s; i++)
        if (log->names[i].deployment && log->names[i].version == e->version &&
            strcmp(log->names[i].deployment, e->deployment) == 0 &&
            same_str(log->names[i].environment, e->environment))
            s = &log->names[i];
    if (s && s->retry_ms && now_ms() >= s->retry_ms) {
        slot_clear(s);
        s = NULL;
    }
    if (!s) {
        for (size_t i = 0; i < PREDLOG_NAMES_SLOTS && !s; i++)
            if (!log->names[i].deployment)
                s = &log->names[i];
        if (!s) {
            s = &log->names[log->names_next];
            log->names_next = (log->names_next + 1) % PREDLOG_NAMES_SLOTS;
            slot_clear(s);
        }
        s->deployment = strdup(e->deployment);
        s->environment = e->environment ? strdup(e->environment) : NULL;
        s->names = calloc(PREDLOG_NAMES_MAX, sizeof *s->names);
        s->version = e->version;
        if (!s->deployment || (e->environment && !s->environment) || !s->names) {
            slot_clear(s);
            return;
        }
        size_t n = 0;
        if (log->names_fn(log->names_ctx, e, s->names, PREDLOG_NAMES_MAX, &n) ||
            n > PREDLOG_NAMES_MAX) {
            memset(s->names, 0, PREDLOG_NAMES_MAX * sizeof *s->names);
            n = 0;
            s->retry_ms = now_ms() + PREDLOG_NAMES_RETRY_MS;
        }
        s->n = n;
        if (n < PREDLOG_NAMES_MAX) { /* keep only what is used */
            char **shrunk = realloc(s->names, (n ? n : 1) * sizeof *s->names);
            if (shrunk)
                s->names = shrunk;
        }
    }
    if (s->n) {
        e->feature_names = (const char *const *)s->names;
        e->nfeature_names = s->n;
    }
}

/* Writes one record; a failure drops it (counted) and is logged. */
static void write_one(struct predlog *log, struct predlog_entry *e)
{
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = MMSP_OK;
    resolve_names(log, e);
    if (log->file_open &&
        (now_ms() - log->file_opened_ms >= log->max_age_ms ||
         (log->writer->ops->starts_new_file && log->writer->ops->starts_new_file(log->writer, e))))
        close_current(log);
    if (!log->file_open && (rc = open_next(log, err, sizeof err)))
        goto out;
    size_t bytes = 0;
    if ((rc = log->writer->ops->write_record(log->writer, e, &bytes, err, sizeof err)))
        goto out;
    log->file_bytes = bytes;
    atomic_fetch_add(&log->written, 1);
    metrics_counter_add(log->m_written, 1);
    if (log->file_bytes >= log->max_bytes)
        close_current(log);
out:
    if (rc) {
        count_drop(log, 1);
        log_warn("predlog.write", "prediction log: record dropped: %s", err);
    }
}

static void *run(void *arg)
{
    struct predlog *log = arg;
    pthread_mutex_lock(&log->mu);
    for (;;) {
        while (!log->count && !log->stopping) {
            if (!log->file_open) {
                pthread_cond_wait(&log->work_cv, &log->mu);
                continue;
            }
            /* An idle open file still rotates once it is max_age_ms old. */
            int64_t due = log->file_opened_ms + log->max_age_ms;
            struct timespec dl = {(time_t)(due / 1000), (long)(due % 1000) * 1000000};
            if (pthread_cond_timedwait(&log->work_cv, &log->mu, &dl) == ETIMEDOUT && !log->count &&
                !log->stopping && now_ms() >= due) {
                pthread_mutex_unlock(&log->mu);
                close_current(log);
                pthread_mutex_lock(&log->mu);
            }
        }
        if (!log->count && log->stopping)
            break;
        /* Take the whole ring (up to the batch size) in one go; write without the lock. */
        size_t n = 0;
        while (log->count && n < log->batch_cap) {
            log->batch[n++] = log->ring[log->head];
            log->head = (log->head + 1) % log->cap;
            log->count--;
        }
        pthread_mutex_unlock(&log->mu);
        for (size_t i = 0; i < n; i++) {
            write_one(log, log->batch[i]);
            free(log->batch[i]);
        }
        /* One flush per batch: readers (and tail -f) see the lines soon, and predlog_flush
         * sees them in the file once handled_seq covers them. */
        if (log->file_open && log->writer->ops->flush) {
            char err[MMSP_ERRMSG_MAX] = "";
            if (log->writer->ops->flush(log->writer, err, sizeof err))
                log_warn("predlog.flush", "prediction log: %s", err);
        }
        pthread_mutex_lock(&log->mu);
        log->handled_seq += n;
        pthread_cond_broadcast(&log->done_cv);
        /* A small batch means the thread is keeping up record by record: then every request
         * would pay a futex wake and this thread a wake-up and a write(2). Lingering a
         * moment lets records gather (producers signal only an idle, waiting thread, and
         * a signal with no waiter is a plain store), so a busy gateway writes in batches.
         * Costs at most PREDLOG_LINGER_NS of extra delay before a line reaches the file. */
        if (n < PREDLOG_LINGER_BELOW && !log->stopping) {
            pthread_mutex_unlock(&log->mu);
            struct timespec ts = {0, PREDLOG_LINGER_NS};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&log->mu);
        }
    }
    pthread_mutex_unlock(&log->mu);
    close_current(log);
    return NULL;
}

/* ------------------------------------------------------------------ lifecycle */

uint64_t predlog_written(struct predlog *log)
{
    return log ? atomic_load(&log->written) : 0;
}

uint64_t predlog_dropped(struct predlog *log)
{
    return log ? atomic_load(&log->dropped) : 0;
}

void predlog_flush(struct predlog *log)
{
    if (!log)
        return;
    pthread_mutex_lock(&log->mu);
    uint64_t target = log->queued_seq;
    while (log->handled_seq < target && log->thread_started)
        pthread_cond_wait(&log->done_cv, &log->mu);
    pthread_mutex_unlock(&log->mu);
}

void predlog_close(struct predlog *log)
{
    if (!log)
        return;
    if (log->thread_started) {
        pthread_mutex_lock(&log->mu);
        log->stopping = 1;
        pthread_cond_signal(&log->work_cv);
        pthread_mutex_unlock(&log->mu);
        pthread_join(log->thread, NULL);
    }
    for (size_t i = 0; i < log->count; i++)
        free(log->ring[(log->head + i) % log->cap]);
    if (log->writer)
        log->writer->ops->free(log->writer);
    for (size_t i = 0; i < PREDLOG_NAMES_SLOTS; i++)
        slot_clear(&log->names[i]);
    pthread_cond_destroy(&log->work_cv);
    pthread_cond_destroy(&log->done_cv);
    pthread_mutex_destroy(&log->mu);
    free(log->ring);
    free(log->batch);
    free(log->dir);
    free(log);
}

static mmsp_err register_metrics(struct predlog *log, struct metrics_registry *m)
{
    if (!m)
        return MMSP_OK;
    struct metric_family *w = metrics_family_register(m, "mmsp_prediction_log_records_total",
                                                      "Records written to the prediction log.",
                                                      METRIC_COUNTER, NULL, 0, NULL, 0);
    struct metric_family *d = metrics_family_register(
        m, "mmsp_prediction_log_dropped_total",
        "Prediction log records dropped (queue full, out of memory or a write error).",
        METRIC_COUNTER, NULL, 0, NULL, 0);
    if (!w || !d)
        return MMSP_E_NOMEM;
    log->m_written = metrics_series(w, NULL);
    log->m_dropped = metrics_series(d, NULL);
    return log->m_written && log->m_dropped ? MMSP_OK : MMSP_E_NOMEM;
}

mmsp_err predlog_open(const struct predlog_options *o, struct predlog **out, char *err,
                      size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct predlog_writer *writer = o->writer;
    struct predlog *log = calloc(1, sizeof *log);
    if (!log) {
        if (writer)
            writer->ops->free(writer);
        snprintf(err, errlen, "out of memory");
        return MMSP_E_NOMEM;
    }
    pthread_mutex_init(&log->mu, NULL);
    pthread_cond_init(&log->work_cv, NULL);
    pthread_cond_init(&log->done_cv, NULL);
    log->writer = writer;
    log->names_fn = o->feature_names;
    log->names_ctx = o->feature_names_ctx;
    if (!log->writer && (rc = predlog_writer_jsonl(&log->writer)))
        goto out;
    log->max_bytes = o->max_bytes ? o->max_bytes : PREDLOG_DEFAULT_MAX_BYTES;
    log->max_age_ms = o->max_age_ms > 0 ? o->max_age_ms : PREDLOG_DEFAULT_MAX_AGE;
    log->cap = o->queue ? o->queue : PREDLOG_DEFAULT_QUEUE;
    if (log->cap > PREDLOG_MAX_QUEUE) {
        snprintf(err, errlen, "prediction log queue %zu is above %u", log->cap, PREDLOG_MAX_QUEUE);
        rc = MMSP_E_INVALID;
        goto out;
    }
    if (!o->dir || !*o->dir) {
        snprintf(err, errlen, "prediction log: no directory");
        rc = MMSP_E_INVALID;
        goto out;
    }
    if (mkdir(o->dir, 0755) && errno != EEXIST) {
        snprintf(err, errlen, "prediction log directory %s: %s", o->dir, strerror(errno));
        rc = MMSP_E_IO;
        goto out;
    }
    struct stat st;
    if (stat(o->dir, &st) || !S_ISDIR(st.st_mode) || access(o->dir, W_OK)) {
        snprintf(err, errlen, "prediction log directory %s is not a writable directory", o->dir);
        rc = MMSP_E_IO;
        goto out;
    }
    log->dir = strdup(o->dir);
    log->ring = calloc(log->cap, sizeof *log->ring);
    log->batch_cap = log->cap < 1024 ? log->cap : 1024;
    log->batch = calloc(log->batch_cap, sizeof *log->batch);
    if (!log->dir || !log->ring || !log->batch || (rc = register_metrics(log, o->metrics))) {
        rc = MMSP_E_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (pthread_create(&log->thread, NULL, run, log)) {
        snprintf(err, errlen, "cannot start the prediction log thread");
        rc = MMSP_E_INTERNAL;
        goto out;
    }
    log->thread_started = 1;
out:
    if (rc) {
        predlog_close(log);
        return rc;
    }
    *out = log;
    return MMSP_OK;
}

mmsp_err predlog_open_dir(const char *dir, size_t max_bytes, size_t queue, struct predlog **out,
                          char *err, size_t errlen)
{
    struct predlog_options o = {.dir = dir, .max_bytes = max_bytes, .queue = queue};
    return predlog_open(&o, out, err, errlen);
}
