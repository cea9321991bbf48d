/*
 * The dynamic batcher (see batch.h, docs/serve.md "Dynamic batching").
 *
 * One mutex and one condition variable (CLOCK_MONOTONIC) per batcher guard the queue. Every
 * executor runs the same loop: under the mutex it looks at the head of the queue and either
 * takes a batch (pick()) or sleeps until the oldest request's delay runs out or a submit makes
 * a batch possible; the model then runs without the lock. A submit signals only when it may
 * change the decision (the queue was empty, the queue now reaches a preferred size or the
 * maximum, no delay), so a queue filling towards its delay costs one wake-up, not one per
 * request. Each executor keeps its own concatenation buffers, grown up to what max_batch_size
 * rows need and reused from batch to batch; a batch of one request runs on the request's own
 * buffers with no copy.
 * Calls: mmsp runtime, serve/stats, metrics, http (clock only).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http.h"
#include "serve/batch.h"

struct grow_buf {
    void *data;
    size_t cap;
};

struct executor;

struct serve_batcher {
    const char *name;    /* borrowed */
    const mmsp_model *m; /* borrowed */
    struct serve_stats *stats;
    struct serve_batch_series series;
    int64_t max_batch;
    uint64_t delay_ns;
    const int64_t *preferred; /* borrowed from the config */
    size_t n_preferred;
    size_t n_in, n_out;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct serve_job *head, *tail; /* guarded by mu */
    int64_t queued_rows;
    int stop, drain;

    pthread_t *threads;
    struct executor *ex; /* one per thread */
    int n_threads;
};

/* Per executor thread. */
struct executor {
    struct serve_batcher *b;
    struct grow_buf *in, *out; /* n_in and n_out of them */
    mmsp_tensor *in_t, *out_t;
};

static int is_preferred(const struct serve_batcher *b, int64_t rows)
{
    for (size_t i = 0; i < b->n_preferred; i++)
        if (b->preferred[i] == rows)
            return 1;
    return 0;
}

/* Can job j share a model run with job h: the same dims after the batch dim on every input? */
static int same_shape(const struct serve_batcher *b, const struct serve_job *h,
                      const struct serve_job *j)
{
    for (size_t i = 0; i < b->n_in; i++) {
        const mmsp_tensor *x = &h->inputs[i], *y = &j->inputs[i];
        if (x->ndim != y->ndim || memcmp(x->shape + 1, y->shape + 1,
                                         (size_t)(x->ndim > 1 ? x->ndim - 1 : 0) * sizeof(int64_t)))
            return 0;
    }
    return 1;
}

/*
 * The batcher's decision, under mu with a non-empty queue: how many jobs from the head leave
 * now (their rows in *rows), or 0 = none yet, wake up at *wake_at. Requests are taken in
 * arrival order while they fit into max_batch_size (and have the head's shape). The batch
 * leaves at once when it is full (max_batch_size reached, or the next request does not fit);
 * else the longest prefix whose rows are a preferred size leaves at once (the largest
 * preferred batch that can be formed); else everything leaves when the oldest request has
 * waited the delay (or there is no delay, or the server is draining).
 */
static size_t pick(const struct serve_batcher *b, uint64_t now, int64_t *rows, uint64_t *wake_at)
{
    int64_t sum = 0, pref_sum = 0;
    size_t n = 0, pref_n = 0;
    int full = 0;
    for (const struct serve_job *j = b->head; j; j = j->next) {
        if (sum + j->rows > b->max_batch || (n && !same_shape(b, b->head, j))) {
            full = 1;
            break;
        }
        sum += j->rows;
        n++;
        if (is_preferred(b, sum)) {
            pref_sum = sum;
            pref_n = n;
        }
        if (sum == b->max_batch) {
            full = 1;
            break;
        }
    }
    if (!full && pref_n) {
        *rows = pref_sum;
        return pref_n;
    }
    uint64_t deadline = b->head->enqueue_ns + b->delay_ns;
    if (full || b->drain || b->stop || b->delay_ns == 0 || now >= deadline) {
        *rows = sum;
        return n;
    }
    *wake_at = deadline;
    return 0;
}

static mmsp_err grow(struct grow_buf *g, size_t need)
{
    if (need <= g->cap)
        return MMSP_OK;
    void *p = realloc(g->data, need);
    if (!p)
        return MMSP_E_NOMEM;
    g->data = p;
    g->cap = need;
    return MMSP_OK;
}

static size_t row_bytes(const mmsp_tensor *t)
{
    size_t w = mmsp_dtype_size(t->dtype);
    for (int d = 1; d < t->ndim; d++)
        w *= (size_t)t->shape[d];
    return w;
}

/* Runs the batch `jobs` (n jobs, `rows` rows) into the jobs' output buffers. Returns the
 * result for all of them; the message is in err. */
static mmsp_err run_batch(struct executor *e, struct serve_job *jobs, size_t n, int64_t rows,
                          uint64_t *input_ns, uint64_t *infer_ns, uint64_t *output_ns, char *err,
                          size_t errlen)
{
    struct serve_batcher *b = e->b;
    mmsp_err rc = MMSP_OK;
    uint64_t t0 = http_now_ns();
    if (n == 1) {
        /* Nothing to concatenate: the request's own buffers. */
        rc = mmsp_model_run(b->m, jobs->inputs, b->n_in, jobs->outs, b->n_out, err, errlen);
        *infer_ns = http_now_ns() - t0;
        *input_ns = *output_ns = 0;
        return rc;
    }
    for (size_t i = 0; i < b->n_in; i++) {
        size_t total = 0;
        for (const struct serve_job *j = jobs; j; j = j->next)
            total += j->inputs[i].nbytes;
        if ((rc = grow(&e->in[i], total ? total : 1)))
            goto nomem;
        size_t off = 0;
        for (const struct serve_job *j = jobs; j; j = j->next) {
            memcpy((char *)e->in[i].data + off, j->inputs[i].data, j->inputs[i].nbytes);
            off += j->inputs[i].nbytes;
        }
        e->in_t[i] = jobs->inputs[i];
        e->in_t[i].shape[0] = rows;
        e->in_t[i].data = e->in[i].data;
        e->in_t[i].nbytes = total;
    }
    for (size_t o = 0; o < b->n_out; o++) {
        size_t bytes = mmsp_model_output_bytes(b->m, o, rows);
        if (!bytes || (rc = grow(&e->out[o], bytes)))
            goto nomem;
        memset(&e->out_t[o], 0, sizeof e->out_t[o]);
        e->out_t[o].data = e->out[o].data;
        e->out_t[o].nbytes = bytes;
    }
    uint64_t t1 = http_now_ns();
    *input_ns = t1 - t0;
    rc = mmsp_model_run(b->m, e->in_t, b->n_in, e->out_t, b->n_out, err, errlen);
    uint64_t t2 = http_now_ns();
    *infer_ns = t2 - t1;
    if (rc)
        return rc;
    /* Each request gets exactly its rows of every output, in the order they were queued. */
    for (size_t o = 0; o < b->n_out; o++) {
        const mmsp_tensor *bo = &e->out_t[o];
        if (bo->ndim < 1 || bo->shape[0] != rows) {
            snprintf(err, errlen, "model '%s': output '%s' has no batch dimension of %lld rows",
                     b->name, bo->name ? bo->name : "", (long long)rows);
            return MMSP_E_INTERNAL;
        }
        size_t rb = row_bytes(bo), off = 0;
        for (struct serve_job *j = jobs; j; j = j->next) {
            mmsp_tensor *jo = &j->outs[o];
            size_t nb = rb * (size_t)j->rows;
            if (nb > jo->nbytes) {
                snprintf(err, errlen, "model '%s': output '%s' is larger than expected", b->name,
                         bo->name ? bo->name : "");
                return MMSP_E_INTERNAL;
            }
            void *data = jo->data;
            memcpy(data, (const char *)bo->data + off, nb);
            off += nb;
            *jo = *bo;
            jo->shape[0] = j->rows;
            jo->data = data;
            jo->nbytes = nb;
        }
    }
    *output_ns = http_now_ns() - t2;
    return MMSP_OK;
nomem:
    snprintf(err, errlen, "model '%s': no memory for a batch of %lld rows", b->name,
             (long long)rows);
    return MMSP_E_NOMEM;
}

/* Runs one batch taken from the queue and hands every request back. */
static void execute(struct executor *e, struct serve_job *jobs, size_t n, int64_t rows,
                    uint64_t taken_ns)
{
    struct serve_batcher *b = e->b;
    char err[MMSP_ERRMSG_MAX] = "";
    uint64_t input_ns = 0, infer_ns = 0, output_ns = 0;
    mmsp_err rc = run_batch(e, jobs, n, rows, &input_ns, &infer_ns, &output_ns, err, sizeof err);
    if (rc && rc != MMSP_E_SHAPE && rc != MMSP_E_DTYPE && rc != MMSP_E_INVALID &&
        rc != MMSP_E_NOMEM)
        rc = MMSP_E_INTERNAL;
    if (!rc) {
        struct serve_timing bt = {.input = input_ns, .infer = infer_ns, .output = output_ns};
        serve_stats_record_execution(b->stats, rows, &bt);
        metrics_histogram_observe(b->series.batch_size, (double)rows);
        metrics_histogram_observe(b->series.compute, (double)infer_ns * 1e-9);
    }
    for (struct serve_job *j = jobs, *next; j; j = next) {
        next = j->next; /* j belongs to its request again once done() is called */
        uint64_t queue_ns = taken_ns - j->enqueue_ns;
        metrics_histogram_observe(b->series.queue, (double)queue_ns * 1e-9);
        j->t->queue = queue_ns;
        j->t->input += input_ns;
        j->t->infer = infer_ns;
        j->rc = rc;
        if (rc)
            snprintf(j->err, j->errlen, "%s", err);
        j->done(j);
    }
}

static void *executor_main(void *arg)
{
    struct executor *e = arg;
    struct serve_batcher *b = e->b;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        if (!b->head) {
            if (b->stop)
                break;
            pthread_cond_wait(&b->cv, &b->mu);
            continue;
        }
        uint64_t now = http_now_ns(), wake_at = 0;
        int64_t rows = 0;
        size_t n = pick(b, now, &rows, &wake_at);
        if (!n) {
            struct timespec ts = {.tv_sec = (time_t)(wake_at / 1000000000u),
                                  .tv_nsec = (long)(wake_at % 1000000000u)};
            pthread_cond_timedwait(&b->cv, &b->mu, &ts);
            continue;
        }
        struct serve_job *jobs = b->head, *last = jobs;
        for (size_t k = 1; k < n; k++)
            last = last->next;
        b->head = last->next;
        if (!b->head)
            b->tail = NULL;
        last->next = NULL;
        b->queued_rows -= rows;
        if (b->head)
            pthread_cond_signal(&b->cv); /* another instance may take the rest */
        pthread_mutex_unlock(&b->mu);
        execute(e, jobs, n, rows, now);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

void serve_batcher_submit(struct serve_batcher *b, struct serve_job *job)
{
    job->next = NULL;
    job->enqueue_ns = http_now_ns();
    pthread_mutex_lock(&b->mu);
    int was_empty = !b->head;
    if (b->tail)
        b->tail->next = job;
    else
        b->head = job;
    b->tail = job;
    b->queued_rows += job->rows;
    /* Wake an executor only when this job may change what pick() decides. */
    if (was_empty || b->delay_ns == 0 || b->drain || b->queued_rows >= b->max_batch ||
        is_preferred(b, b->queued_rows))
        pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void serve_batcher_drain(struct serve_batcher *b)
{
    pthread_mutex_lock(&b->mu);
    b->drain = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void executor_release(struct executor *e)
{
    if (!e)
        return;
    for (size_t i = 0; e->in && i < e->b->n_in; i++)
        free(e->in[i].data);
    for (size_t o = 0; e->out && o < e->b->n_out; o++)
        free(e->out[o].data);
    free(e->in);
    free(e->out);
    free(e->in_t);
    free(e->out_t);
}

/* Stops and joins the first n threads; frees everything. */
static void batcher_destroy(struct serve_batcher *b, int n)
{
    struct executor *ex = b->ex;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < n; i++)
        pthread_join(b->threads[i], NULL);
    for (int i = 0; ex && i < b->n_threads; i++)
        executor_release(&ex[i]);
    free(ex);
    free(b->threads);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

mmsp_err serve_batcher_new(const char *name, const mmsp_model *m, const struct model_config *c,
                           struct serve_stats *stats, const struct serve_batch_series *series,
                           struct serve_batcher **out, char *err, size_t errlen)
{
    struct serve_batcher *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "model '%s': out of memory", name);
        return MMSP_E_NOMEM;
    }
    b->name = name;
    b->m = m;
    b->stats = stats;
    b->series = *series;
    b->max_batch = c->max_batch_size;
    b->delay_ns = (uint64_t)c->max_queue_delay_us * 1000u;
    b->preferred = c->preferred_batch_sizes;
    b->n_preferred = c->n_preferred_batch_sizes;
    b->n_in = mmsp_model_input_count(m);
    b->n_out = mmsp_model_output_count(m);
    b->n_threads = c->instance_count > 0 ? c->instance_count : 1;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    b->threads = calloc((size_t)b->n_threads, sizeof *b->threads);
    b->ex = calloc((size_t)b->n_threads, sizeof *b->ex);
    if (!b->threads || !b->ex)
        goto nomem;
    for (int i = 0; i < b->n_threads; i++) {
        struct executor *e = &b->ex[i];
        e->b = b;
        e->in = calloc(b->n_in ? b->n_in : 1, sizeof *e->in);
        e->out = calloc(b->n_out ? b->n_out : 1, sizeof *e->out);
        e->in_t = calloc(b->n_in ? b->n_in : 1, sizeof *e->in_t);
        e->out_t = calloc(b->n_out ? b->n_out : 1, sizeof *e->out_t);
        if (!e->in || !e->out || !e->in_t || !e->out_t)
            goto nomem;
    }
    /* Executors run as SCHED_OTHER whoever loads the model (an event-loop thread may, on
     * /v2/repository/.../load, and those can be SCHED_BATCH: --http-sched batch). */
    pthread_attr_t attr;
    struct sched_param param = {0};
    int ae = pthread_attr_init(&attr);
    if (!ae && (pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED) ||
                pthread_attr_setschedpolicy(&attr, SCHED_OTHER) ||
                pthread_attr_setschedparam(&attr, &param))) {
        pthread_attr_destroy(&attr);
        ae = 1;
    }
    for (int i = 0; i < b->n_threads; i++) {
        int e = pthread_create(&b->threads[i], ae ? NULL : &attr, executor_main, &b->ex[i]);
        if (!e)
            pthread_setname_np(b->threads[i], "mmsp-batch");
        if (e) {
            if (!ae)
                pthread_attr_destroy(&attr);
            snprintf(err, errlen, "model '%s': cannot start batch executor thread %d: %s", name, i,
                     strerror(e));
            batcher_destroy(b, i);
            return MMSP_E_INTERNAL;
        }
    }
    if (!ae)
        pthread_attr_destroy(&attr);
    *out = b;
    return MMSP_OK;
nomem:
    snprintf(err, errlen, "model '%s': out of memory", name);
    batcher_destroy(b, 0);
    return MMSP_E_NOMEM;
}

void serve_batcher_free(struct serve_batcher *b)
{
    if (!b)
        return;
    batcher_destroy(b, b->n_threads);
}
