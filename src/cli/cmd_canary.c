/*
 * `mmsp canary watch NAME`: the canary controller (docs/gateway.md "Canary analysis"). For
 * each step it sets the canary weight (registry_deploy), waits one interval, gathers the
 * figures of the canary and stable variants (Prometheus with --prometheus, else two scrapes
 * of the gateway's /metrics at --server) and judges them (gateway/canary): pass goes to the
 * next step, inconclusive (too few canary requests) waits another interval (at most
 * --max-inconclusive times, then fails), fail rolls back. After the last step it promotes.
 * Every decision is a deployment event ("canary_step", "rollback", "promote") whose detail
 * holds the figures, bounds and queries. Calls: cli/regcli, registry, gateway/canary.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/commands.h"
#include "cli/regcli.h"
#include "gateway/canary.h"
#include "registry/registry.h"

#define MAX_STEPS 32

static void usage(FILE *out)
{
    fprintf(out, "usage: mmsp canary watch NAME [options]\n"
                 "\n"
                 "Steps the canary of deployment NAME through the --steps weights. At each step\n"
                 "it sets the weight, waits one --interval, then checks the canary over that\n"
                 "interval: its error rate at most --max-error-rate and at most the stable's +\n"
                 "--error-margin; its p99 latency at most --max-p99-ms and at most --p99-factor x\n"
                 "the stable's p99 (this last rule only above --p99-floor-ms); at least\n"
                 "--min-requests canary requests, else the step is inconclusive and waits another\n"
                 "interval (at most --max-inconclusive times, then it fails). A passing step goes\n"
                 "on; after the last one the canary is promoted. The first failure rolls it back.\n"
                 "Every decision is recorded in the deployment's history with its figures.\n"
                 "\n"
                 "The figures come from Prometheus (--prometheus URL: PromQL over /api/v1/query,\n"
                 "queries in docs/gateway.md) or, without it, from the gateway's own /metrics\n"
                 "(--server URL), scraped at the start and the end of each interval. Weight\n"
                 "changes, promotion and rollback are written to the store (--data / --registry),\n"
                 "which the serving processes follow.\n"
                 "\n"
                 "options:\n"
                 "  --env E                 staging or production (default production)\n"
                 "  --steps LIST            canary weights, ascending, ending at 100\n"
                 "                          (default 10,25,50,100)\n"
                 "  --interval D            wait per step: 30s, 500ms, 2m (default 30s)\n"
                 "  --max-error-rate X      (default 0.01)\n"
                 "  --error-margin X        allowed excess over the stable's error rate\n"
                 "                          (default 0.005)\n"
                 "  --max-p99-ms MS         (default 50)\n"
                 "  --p99-factor K          canary p99 at most K x the stable's (default 2)\n"
                 "  --p99-floor-ms MS       the factor rule applies above this p99 (default 5)\n"
                 "  --min-requests N        canary requests needed per interval (default 20)\n"
                 "  --max-inconclusive N    extra intervals per step before failing (default 3)\n"
                 "  --prometheus URL        Prometheus server (e.g. http://127.0.0.1:9090)\n"
                 "  --server URL            the gateway whose /metrics to read (without\n"
                 "                          --prometheus)\n"
                 "  --data DIR              the store's directory (default ./mmsp-data)\n"
                 "  --registry URL          PostgreSQL registry (postgres://...)\n"
                 "  --user NAME             recorded in the history (default $MMSP_USER, $USER)\n"
                 "  --json                  print the outcome as one JSON document\n"
                 "  --help                  this text\n"
                 "\n"
                 "exit status: 0 promoted, 1 rolled back or failed, 2 usage error.\n");
}

/* "30s", "500ms", "2m", "1h", or plain seconds; into ms (1 ms .. 1 day). */
static int parse_duration(const char *s, unsigned *ms)
{
    char *e = NULL;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e == s || !(v > 0))
        return -1;
    double mult;
    if (strcmp(e, "ms") == 0)
        mult = 1;
    else if (*e == '\0' || strcmp(e, "s") == 0)
        mult = 1000;
    else if (strcmp(e, "m") == 0)
        mult = 60000;
    else if (strcmp(e, "h") == 0)
        mult = 3600000;
    else
        return -1;
    v *= mult;
    if (v < 1 || v > 86400000.0)
        return -1;
    *ms = (unsigned)v;
    return 0;
}

static int parse_number(const char *s, double lo, double hi, double *out)
{
    char *e = NULL;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e == s || *e || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_steps(const char *s, int *steps, size_t *n)
{
    *n = 0;
    const char *p = s;
    int last = 0;
    while (*p) {
        char *e = NULL;
        errno = 0;
        long v = strtol(p, &e, 10);
        if (errno || e == p || v <= last || v > 100 || *n >= MAX_STEPS)
            return -1;
        steps[(*n)++] = (int)v;
        last = (int)v;
        if (*e == ',')
            e++;
        else if (*e)
            return -1;
        p = e;
    }
    return (*n > 0 && last == 100) ? 0 : -1;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

struct watch {
    struct regcli *c;
    const char *name, *env, *prometheus, *server;
    struct canary_bounds bounds;
    unsigned interval_ms;
    int max_inconclusive;
    char metrics_url[2048];
};

/* One interval's figures. */
static mmsp_err measure(struct watch *w, const struct canary_target *t, struct canary_figures *f,
                        json_t *queries, char *err, size_t errlen)
{
    if (w->prometheus) {
        sleep_ms(w->interval_ms);
        return canary_query_prometheus(w->prometheus, t, w->interval_ms, f, queries, err, errlen);
    }
    struct canary_scrape before, after;
    mmsp_err rc = canary_scrape(w->metrics_url, t, &before, err, errlen);
    if (rc)
        return rc;
    sleep_ms(w->interval_ms);
    rc = canary_scrape(w->metrics_url, t, &after, err, errlen);
    if (!rc)
        canary_scrape_diff(&before, &after, f);
    return rc;
}

static json_t *bounds_json(const struct canary_bounds *b)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "max_error_rate", b->max_error_rate,
                     "error_margin", b->error_margin, "max_p99_ms", b->max_p99_ms, "p99_factor",
                     b->p99_factor, "p99_floor_ms", b->p99_floor_ms, "min_requests",
                     b->min_requests);
}

/* {"step", "weight", "attempt", "verdict", "why", "figures", "bounds", "source", ...} */
static json_t *decision(struct watch *w, int weight, int attempt, enum canary_verdict v,
                        const char *why, const struct canary_figures *f, json_t *queries)
{
    json_t *d =
        json_pack("{s:i, s:i, s:s, s:s, s:o, s:o, s:s, s:i}", "weight", weight, "attempt", attempt,
                  "verdict", canary_verdict_name(v), "why", why, "figures", canary_figures_json(f),
                  "bounds", bounds_json(&w->bounds), "source",
                  w->prometheus ? "prometheus" : "metrics", "interval_ms", (int)w->interval_ms);
    if (d && queries && json_array_size(queries))
        json_object_set(d, "queries", queries);
    return d;
}

static int record(struct watch *w, const char *action, json_t *detail)
{
    char err[REGCLI_ERR_MAX];
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    mmsp_err rc = text ? registry_event_append(w->c->reg, w->name, w->env, w->c->user, action, text,
                                               err, sizeof err)
                       : MMSP_E_NOMEM;
    if (!text)
        snprintf(err, sizeof err, "out of memory");
    free(text);
    if (rc) {
        cli_error("canary watch", "%s: %s", w->name, err);
        return REGCLI_EXIT_FAILED;
    }
    return 0;
}

static void print_outcome(struct watch *w, const char *outcome, const struct reg_deployment *d,
                          const char *why)
{
    if (w->c->json) {
        json_t *doc = json_pack("{s:s, s:s, s:o}", "outcome", outcome, "why", why, "deployment",
                                d ? reg_deployment_json(d) : json_null());
        regcli_print_json(doc);
        json_decref(doc);
    } else {
        printf("canary watch %s (%s): %s: %s\n", w->name, w->env, outcome, why);
    }
}

static int rollback(struct watch *w, json_t *detail, const char *why)
{
    char err[REGCLI_ERR_MAX], reason[600];
    struct reg_deployment d = {0};
    snprintf(reason, sizeof reason, "canary analysis: %s", why);
    mmsp_err rc = registry_rollback_ex(w->c->reg, w->name, w->env, 0, w->c->user, reason, detail,
                                       &d, err, sizeof err);
    if (rc) {
        cli_error("canary watch", "%s: rollback: %s", w->name, err);
        return REGCLI_EXIT_FAILED;
    }
    print_outcome(w, "rolled_back", &d, why);
    reg_deployment_free(&d);
    return REGCLI_EXIT_FAILED;
}

static int run(struct watch *w, const int *steps, size_t n_steps)
{
    char err[REGCLI_ERR_MAX], why[512];
    struct reg_deployment d = {0};
    int ret = REGCLI_EXIT_FAILED;
    mmsp_err rc = registry_deployment_get(w->c->reg, w->name, w->env, &d, err, sizeof err);
    if (rc) {
        cli_error("canary watch", "%s", err);
        return REGCLI_EXIT_FAILED;
    }
    if (d.canary_version <= 0 || d.stable_version <= 0) {
        cli_error("canary watch",
                  "deployment %s (%s) has no canary to watch (mmsp deploy %s"
                  " --model M --version V --canary N)",
                  w->name, w->env, w->name);
        reg_deployment_free(&d);
        return REGCLI_EXIT_FAILED;
    }
    int64_t canary = d.canary_version;
    struct canary_target t = {.deployment = w->name,
                              .environment = w->env,
                              .stable_version = d.stable_version,
                              .canary_version = canary};
    reg_deployment_free(&d);
    for (size_t s = 0; s < n_steps; s++) {
        struct reg_deploy_request rq = {.name = w->name,
                                        .environment = w->env,
                                        .canary = steps[s],
                                        .who = w->c->user,
                                        .reason = "canary watch step"};
        rc = registry_deploy(w->c->reg, &rq, &d, err, sizeof err);
        if (rc == MMSP_OK && d.canary_version != canary) {
            rc = MMSP_E_CONFLICT;
            snprintf(err, sizeof err, "the canary changed meanwhile");
        }
        reg_deployment_free(&d);
        if (rc) {
            cli_error("canary watch", "%s: weight %d%%: %s", w->name, steps[s], err);
            return REGCLI_EXIT_FAILED;
        }
        if (!w->c->json)
            printf("step %zu/%zu: canary %lld at %d%%\n", s + 1, n_steps, (long long)canary,
                   steps[s]);
        fflush(stdout);
        for (int attempt = 1;; attempt++) {
            struct canary_figures f;
            json_t *queries = json_array();
            rc = measure(w, &t, &f, queries, err, sizeof err);
            if (rc) {
                json_decref(queries);
                cli_error("canary watch", "%s: %s", w->name, err);
                return REGCLI_EXIT_FAILED; /* no data is no verdict: leave the canary as is */
            }
            /* Someone else (an alert, a person) may have rolled back or promoted meanwhile. */
            rc = registry_deployment_get(w->c->reg, w->name, w->env, &d, err, sizeof err);
            int gone = rc == MMSP_OK && d.canary_version != canary;
            reg_deployment_free(&d);
            if (rc || gone) {
                json_decref(queries);
                if (rc)
                    cli_error("canary watch", "%s", err);
                else
                    print_outcome(w, "canary_removed", NULL,
                                  "the canary was removed or replaced by someone else");
                return REGCLI_EXIT_FAILED;
            }
            enum canary_verdict v = canary_judge(&w->bounds, &f, why, sizeof why);
            if (v == CANARY_INCONCLUSIVE && attempt > w->max_inconclusive) {
                v = CANARY_FAIL;
                size_t l = strlen(why);
                snprintf(why + l, sizeof why - l, " after %d intervals", attempt);
            }
            json_t *detail = decision(w, steps[s], attempt, v, why, &f, queries);
            json_decref(queries);
            if (!w->c->json)
                printf("  %s: canary %.0f requests, error rate %.4g, p99 %.3g ms; stable %.0f"
                       " requests, error rate %.4g, p99 %.3g ms: %s\n",
                       canary_verdict_name(v), f.canary.requests, f.canary.error_rate,
                       f.canary.p99_ms, f.stable.requests, f.stable.error_rate, f.stable.p99_ms,
                       why);
            fflush(stdout);
            if (v == CANARY_FAIL) {
                ret = record(w, "canary_step", detail);
                if (!ret)
                    ret = rollback(w, detail, why);
                json_decref(detail);
                return ret;
            }
            ret = record(w, "canary_step", detail);
            if (ret) {
                json_decref(detail);
                return ret;
            }
            if (v == CANARY_PASS && s + 1 == n_steps) {
                char reason[600];
                snprintf(reason, sizeof reason, "canary analysis passed every step");
                rc = registry_promote_ex(w->c->reg, w->name, w->env, w->c->user, reason, detail, &d,
                                         err, sizeof err);
                json_decref(detail);
                if (rc) {
                    cli_error("canary watch", "%s: promote: %s", w->name, err);
                    return REGCLI_EXIT_FAILED;
                }
                print_outcome(w, "promoted", &d, reason);
                reg_deployment_free(&d);
                return REGCLI_EXIT_OK;
            }
            json_decref(detail);
            if (v == CANARY_PASS)
                break;
        }
    }
    return ret;
}

int cmd_canary(int argc, char **argv)
{
    struct regcli c;
    const char *env = "production", *steps_s = "10,25,50,100", *interval_s = "30s";
    const char *max_err_s = NULL, *margin_s = NULL, *max_p99_s = NULL, *factor_s = NULL,
               *floor_s = NULL, *min_req_s = NULL, *max_inc_s = NULL, *prometheus = NULL,
               *server = NULL;
    const struct regcli_opt opts[] = {
        {"--env", REGCLI_STRING, &env},
        {"--steps", REGCLI_STRING, &steps_s},
        {"--interval", REGCLI_STRING, &interval_s},
        {"--max-error-rate", REGCLI_STRING, &max_err_s},
        {"--error-margin", REGCLI_STRING, &margin_s},
        {"--max-p99-ms", REGCLI_STRING, &max_p99_s},
        {"--p99-factor", REGCLI_STRING, &factor_s},
        {"--p99-floor-ms", REGCLI_STRING, &floor_s},
        {"--min-requests", REGCLI_STRING, &min_req_s},
        {"--max-inconclusive", REGCLI_STRING, &max_inc_s},
        {"--prometheus", REGCLI_STRING, &prometheus},
        /* here --server is the gateway to read: it overrides the common flag, so the store
         * (--data / --registry) is always opened directly */
        {"--server", REGCLI_STRING, &server},
    };
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos = 0;
    int r = regcli_parse(&c, "canary watch", usage, argc, argv, opts, sizeof opts / sizeof *opts,
                         pos, REGCLI_MAX_POS, &n_pos);
    if (r != REGCLI_RUN)
        return r;
    if (n_pos != 2 || strcmp(pos[0], "watch") != 0)
        return regcli_usage_error(&c, "expected: canary watch NAME");
    struct watch w = {.c = &c, .name = pos[1], .env = env, .prometheus = prometheus};
    canary_bounds_default(&w.bounds);
    w.max_inconclusive = 3;
    int steps[MAX_STEPS];
    size_t n_steps;
    double x;
    if (regcli_check_env(&c, env))
        return REGCLI_EXIT_USAGE;
    if (parse_steps(steps_s, steps, &n_steps))
        return regcli_usage_error(&c, "--steps '%s': ascending weights 1..100 ending at 100",
                                  steps_s);
    if (parse_duration(interval_s, &w.interval_ms))
        return regcli_usage_error(&c, "--interval '%s': a duration such as 30s, 500ms, 2m",
                                  interval_s);
#define NUM(s, lo, hi, dst)                                                                        \
    if (s) {                                                                                       \
        if (parse_number(s, lo, hi, &x))                                                           \
            return regcli_usage_error(&c, "%s: '%s' is not a number in [%g, %g]", #dst, s,         \
                                      (double)(lo), (double)(hi));                                 \
        dst = x;                                                                                   \
    }
    NUM(max_err_s, 0, 1, w.bounds.max_error_rate)
    NUM(margin_s, 0, 1, w.bounds.error_margin)
    NUM(max_p99_s, 0, 1e7, w.bounds.max_p99_ms)
    NUM(factor_s, 1, 1e6, w.bounds.p99_factor)
    NUM(floor_s, 0, 1e7, w.bounds.p99_floor_ms)
    NUM(min_req_s, 1, 1e12, w.bounds.min_requests)
    NUM(max_inc_s, 0, 1000, w.max_inconclusive)
#undef NUM
    w.server = server;
    if (!w.prometheus && !w.server)
        return regcli_usage_error(&c, "give --prometheus URL or --server URL (the gateway)");
    if (!w.prometheus) {
        size_t l = strlen(w.server);
        while (l > 0 && w.server[l - 1] == '/')
            l--;
        if (l + sizeof "/metrics" > sizeof w.metrics_url)
            return regcli_usage_error(&c, "--server: URL too long");
        snprintf(w.metrics_url, sizeof w.metrics_url, "%.*s/metrics", (int)l, w.server);
    }
    r = regcli_open(&c);
    if (r)
        return r;
    r = run(&w, steps, n_steps);
    regcli_close(&c);
    return r;
}
