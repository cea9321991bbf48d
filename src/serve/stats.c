/*
 * Triton-style per version statistics (see stats.h). Calls: common/buf, common/json.
 */
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "serve/stats.h"

static void add(struct serve_duration *d, uint64_t ns)
{
    atomic_fetch_add_explicit(&d->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&d->ns, ns, memory_order_relaxed);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The slot for this batch size: found by open addressing, claimed with a CAS; NULL when the
 * table is full (the batch then only counts in the totals). */
static struct serve_batch_stat *batch_slot(struct serve_stats *s, int64_t batch)
{
    if (batch <= 0)
        return NULL;
    size_t start = (size_t)batch % SERVE_STATS_BATCH_SLOTS;
    for (size_t k = 0; k < SERVE_STATS_BATCH_SLOTS; k++) {
        struct serve_batch_stat *b = &s->batches[(start + k) % SERVE_STATS_BATCH_SLOTS];
        long long cur = atomic_load_explicit(&b->batch_size, memory_order_acquire);
        if (cur == batch)
            return b;
        if (cur == 0) {
            long long zero = 0;
            if (atomic_compare_exchange_strong(&b->batch_size, &zero, (long long)batch) ||
                zero == batch)
                return b;
        }
    }
    return NULL;
}

void serve_stats_record_success(struct serve_stats *s, int64_t batch, const struct serve_timing *t)
{
    add(&s->success, t->total);
    add(&s->queue, t->queue);
    add(&s->compute_input, t->input);
    add(&s->compute_infer, t->infer);
    add(&s->compute_output, t->output);
    atomic_fetch_add_explicit(&s->inference_count, (unsigned long long)batch, memory_order_relaxed);
    atomic_store_explicit(&s->last_inference_ms, now_ms(), memory_order_relaxed);
    if (!t->batched)
        serve_stats_record_execution(s, batch, t);
}

void serve_stats_record_execution(struct serve_stats *s, int64_t batch,
                                  const struct serve_timing *t)
{
    atomic_fetch_add_explicit(&s->execution_count, 1, memory_order_relaxed);
    struct serve_batch_stat *b = batch_slot(s, batch);
    if (b) {
        add(&b->compute_input, t->input);
        add(&b->compute_infer, t->infer);
        add(&b->compute_output, t->output);
    }
}

void serve_stats_record_failure(struct serve_stats *s, uint64_t total_ns)
{
    add(&s->fail, total_ns);
    atomic_store_explicit(&s->last_inference_ms, now_ms(), memory_order_relaxed);
}

double serve_stats_latency_update(struct serve_stats *s, double seconds)
{
    unsigned long long old = atomic_load_explicit(&s->latency_ewma_bits, memory_order_relaxed);
    double mean;
    for (;;) {
        double prev;
        memcpy(&prev, &old, sizeof prev);
        mean = old == 0 ? seconds : prev + 0.1 * (seconds - prev);
        unsigned long long bits;
        memcpy(&bits, &mean, sizeof bits);
        if (atomic_compare_exchange_weak(&s->latency_ewma_bits, &old, bits))
            break;
    }
    return mean;
}

static mmsp_err write_duration(struct buf *out, const char *key, const struct serve_duration *d)
{
    return buf_printf(out, "\"%s\":{\"count\":%llu,\"ns\":%llu}", key,
                      (unsigned long long)atomic_load(&d->count),
                      (unsigned long long)atomic_load(&d->ns));
}

mmsp_err serve_stats_write(const struct serve_stats *s, const char *name, const char *version,
                           struct buf *out)
{
    mmsp_err rc;
    struct serve_stats *m = (struct serve_stats *)s; /* atomics are read only */
    if ((rc = buf_append_str(out, "{\"name\":")) ||
        (rc = json_write_string(out, name, strlen(name))) ||
        (rc = buf_append_str(out, ",\"version\":")) ||
        (rc = json_write_string(out, version, strlen(version))) ||
        (rc = buf_printf(out,
                         ",\"last_inference\":%llu,\"inference_count\":%llu,"
                         "\"execution_count\":%llu,\"inference_stats\":{",
                         (unsigned long long)atomic_load(&m->last_inference_ms),
                         (unsigned long long)atomic_load(&m->inference_count),
                         (unsigned long long)atomic_load(&m->execution_count))) ||
        (rc = write_duration(out, "success", &m->success)) || (rc = buf_append_char(out, ',')) ||
        (rc = write_duration(out, "fail", &m->fail)) || (rc = buf_append_char(out, ',')) ||
        (rc = write_duration(out, "queue", &m->queue)) || (rc = buf_append_char(out, ',')) ||
        (rc = write_duration(out, "compute_input", &m->compute_input)) ||
        (rc = buf_append_char(out, ',')) ||
        (rc = write_duration(out, "compute_infer", &m->compute_infer)) ||
        (rc = buf_append_char(out, ',')) ||
        (rc = write_duration(out, "compute_output", &m->compute_output)) ||
        (rc = buf_append_str(out, "},\"batch_stats\":[")))
        goto out;
    /* Ascending batch sizes, as Triton lists them. */
    long long last = 0;
    int first = 1;
    for (;;) {
        const struct serve_batch_stat *next = NULL;
        for (size_t i = 0; i < SERVE_STATS_BATCH_SLOTS; i++) {
            long long bs = atomic_load(&m->batches[i].batch_size);
            if (bs > last && (!next || bs < atomic_load(&next->batch_size)))
                next = &m->batches[i];
        }
        if (!next)
            break;
        last = atomic_load(&next->batch_size);
        if ((rc = buf_printf(out, "%s{\"batch_size\":%lld,", first ? "" : ",", last)) ||
            (rc = write_duration(out, "compute_input", &next->compute_input)) ||
            (rc = buf_append_char(out, ',')) ||
            (rc = write_duration(out, "compute_infer", &next->compute_infer)) ||
            (rc = buf_append_char(out, ',')) ||
            (rc = write_duration(out, "compute_output", &next->compute_output)) ||
            (rc = buf_append_char(out, '}')))
            goto out;
        first = 0;
    }
    rc = buf_append_str(out, "]}");
out:
    return rc;
}
