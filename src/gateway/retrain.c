/*
 * The streaming retraining trigger (docs/drift.md "Streaming drift in the gateway"): a
 * background thread of the gateway takes the episode events of the streaming drift windows
 * (drift_stream_take_event: a window turned critical or healthy), keeps the episode state in
 * DATA/drift/<deployment>/.episode (drift_episode_step, the same rule as `mmsp drift report`),
 * and at the first critical event of an episode writes the window's drift report
 * (DATA/drift/<deployment>/report-<UTC>.json, the format of `mmsp drift report --json`,
 * temp file + rename), calls the retraining command (drift_trigger_command, with the report's
 * path) or POSTs to the webhook, and records "retrain_triggered" in the deployment's history.
 * Nothing here runs on the request path: /predict only feeds the window.
 * Calls: drift (stream, report, trigger), http/client (webhook), registry (events), common/log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "drift/drift.h"
#include "gateway/gateway_internal.h"
#include "http/client.h"
#include "registry/registry.h"

#define RETRAIN_POLL_MS 200 /* how often the thread looks for events */

mmsp_err gateway_retrain_check(const char *command, const char *webhook, char *err, size_t errlen)
{
    if (command && webhook) {
        snprintf(err, errlen, "give a retrain command or a retrain webhook, not both");
        return MMSP_E_INVALID;
    }
    if (command && !command[strspn(command, " \t")]) {
        snprintf(err, errlen, "the retrain command is empty");
        return MMSP_E_INVALID;
    }
    if (webhook && strncmp(webhook, "http://", 7) != 0 && strncmp(webhook, "https://", 8) != 0) {
        snprintf(err, errlen, "retrain webhook '%.200s' is not an http:// or https:// URL",
                 webhook);
        return MMSP_E_INVALID;
    }
    return MMSP_OK;
}

/* mkdir -p for the two levels under DATA. */
static mmsp_err make_dirs(const char *data, const char *dep, char *dir, size_t dirlen, char *err,
                          size_t errlen)
{
    int n = snprintf(dir, dirlen, "%s/drift", data);
    if (n < 0 || (size_t)n >= dirlen || (mkdir(dir, 0755) && errno != EEXIST))
        goto fail;
    n = snprintf(dir, dirlen, "%s/drift/%s", data, dep);
    if (n < 0 || (size_t)n >= dirlen || (mkdir(dir, 0755) && errno != EEXIST))
        goto fail;
    return MMSP_OK;
fail:
    snprintf(err, errlen, "cannot create %.200s: %s", dir, strerror(errno));
    return MMSP_E_IO;
}

/* Writes text to path through path.tmp + fsync + rename. */
static mmsp_err write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[4096 + 128];
    int tn = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (tn < 0 || (size_t)tn >= sizeof tmp) {
        snprintf(err, errlen, "path too long");
        return MMSP_E_TOO_LARGE;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(text), done = 0;
    if (fd < 0)
        goto fail;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        done += (size_t)w;
    }
    if (fsync(fd) || close(fd)) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path))
        goto fail;
    return MMSP_OK;
fail:
    snprintf(err, errlen, "%.200s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return MMSP_E_IO;
}

static mmsp_err post_webhook(const char *url, const char *report, const char *dep,
                             const struct drift_report *r, char *err, size_t errlen)
{
    json_t *doc = json_pack("{s:s,s:s,s:s,s:f}", "report", report, "deployment", dep, "status",
                            drift_status_name(r->status), "drift_share", r->drift_share);
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    struct http_client *h = NULL;
    mmsp_err rc = MMSP_E_NOMEM;
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    if (!(rc = http_client_new(NULL, &h, err, errlen))) {
        struct http_client_request rq = {
            .method = "POST", .url = url, .body = body, .body_len = strlen(body)};
        struct http_client_response res;
        if (!(rc = http_client_do(h, &rq, &res, err, errlen))) {
            if (res.status < 200 || res.status >= 300) {
                snprintf(err, errlen, "webhook %s answered %ld", url, res.status);
                rc = MMSP_E_IO;
            }
            http_client_response_release(&res);
        }
    }
    http_client_free(h);
    free(body);
    return rc;
}

/* The first critical event of an episode: report, trigger, history. */
static void fire(struct gateway *g, const char *data, const char *dir,
                 const struct drift_stream_event *ev)
{
    char err[MMSP_ERRMSG_MAX] = "", path[4096 + 80], base[4096], stamp[32], window[64];
    struct drift_report rep;
    char *json = NULL;
    const double *const *cols = (const double *const *)ev->cols;
    size_t *n = calloc(ev->baseline.nfeatures + 1, sizeof *n);
    mmsp_err rc = n ? MMSP_OK : MMSP_E_NOMEM;
    memset(&rep, 0, sizeof rep);
    for (size_t f = 0; n && f < ev->baseline.nfeatures; f++)
        n[f] = ev->rows;
    if (!rc)
        rc = drift_report_columns(&ev->baseline, cols, n, &rep, err, sizeof err);
    free(n);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    int pn =
        snprintf(path, sizeof path, "%s/report-%sZ-%03ld.json", dir, stamp, ts.tv_nsec / 1000000);
    int bn = snprintf(base, sizeof base, "%s/baselines/%s.json", data, ev->deployment);
    if (!rc && (pn < 0 || (size_t)pn >= sizeof path || bn < 0 || (size_t)bn >= sizeof base)) {
        snprintf(err, sizeof err, "path too long");
        rc = MMSP_E_TOO_LARGE;
    }
    snprintf(window, sizeof window, "gateway window (%zu rows)", ev->rows);
    if (!rc) {
        rep.since_ms = 0;
        rc = drift_report_to_json(&rep, base, window, &json, err, sizeof err);
    }
    if (!rc)
        rc = write_atomic(path, json, err, sizeof err);
    if (rc) {
        log_warn("gateway.retrain", "%s: cannot write the drift report: %s", ev->deployment, err);
        goto out;
    }
    mmsp_err trc =
        g->retrain_command
            ? drift_trigger_command(g->retrain_command, path, err, sizeof err)
            : post_webhook(g->retrain_webhook, path, ev->deployment, &rep, err, sizeof err);
    if (trc)
        log_warn("gateway.retrain", "%s: retraining trigger: %s", ev->deployment, err);
    else
        log_info("gateway.retrain", "%s: critical drift, retraining triggered (%s): %s",
                 ev->deployment, g->retrain_command ? "command" : "webhook", path);
    json_t *d = json_pack("{s:s,s:s,s:s,s:f,s:b,s:s}", "report", path, "via",
                          g->retrain_command ? "command" : "webhook", "status",
                          drift_status_name(rep.status), "drift_share", rep.drift_share, "ok",
                          trc == MMSP_OK, "source", "stream");
    char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (registry_event_append(g->registry, ev->deployment, "production", "gateway",
                              "retrain_triggered", detail ? detail : "{}", err, sizeof err))
        log_warn("gateway.retrain", "%s: cannot record retrain_triggered: %s", ev->deployment, err);
    free(detail);
out:
    free(json);
    drift_report_free(&rep);
}

static void handle(struct gateway *g, const struct drift_stream_event *ev)
{
    const char *data = registry_data_dir(g->registry);
    char dir[4096], state[4200], err[MMSP_ERRMSG_MAX];
    if (!data || make_dirs(data, ev->deployment, dir, sizeof dir, err, sizeof err)) {
        log_warn("gateway.retrain", "%s: %s", ev->deployment, data ? err : "no data directory");
        return;
    }
    int n = snprintf(state, sizeof state, "%s/.episode", dir);
    if (n < 0 || (size_t)n >= sizeof state)
        return;
    if (drift_episode_step(state, ev->status))
        fire(g, data, dir, ev);
}

static void *retrain_main(void *arg)
{
    struct gateway *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += RETRAIN_POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->retrain_cv, &g->mu, &ts);
        if (g->stop)
            break;
        pthread_mutex_unlock(&g->mu);
        struct drift_stream_event ev;
        char err[MMSP_ERRMSG_MAX];
        int got;
        while ((got = drift_stream_take_event(g->drift, &ev, err, sizeof err)) != 0) {
            if (got < 0)
                log_warn("gateway.retrain", "%s: %s", ev.deployment, err);
            else
                handle(g, &ev);
            drift_stream_event_release(&ev);
        }
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

mmsp_err gateway_retrain_start(struct gateway *g, char *err, size_t errlen)
{
    if (!g->retrain_command && !g->retrain_webhook)
        return MMSP_OK; /* no trigger: the gauges and alert rules only */
    pthread_cond_init(&g->retrain_cv, NULL);
    g->retrain_cv_init = 1;
    if (pthread_create(&g->retrain_thread, NULL, retrain_main, g)) {
        snprintf(err, errlen, "cannot start the retraining trigger thread");
        return MMSP_E_INTERNAL;
    }
    g->retrain_started = 1;
    return MMSP_OK;
}
