/*
 * `mmsp serve`: parses the flags, starts the inference server (src/serve) and waits for
 * SIGTERM or SIGINT, then stops accepting, lets requests in flight finish, frees everything
 * and exits 0. Without --model-repository it runs in registry mode: it opens the registry
 * (--data, --registry) and serves its deployments; the registry APIs are hosted whenever a
 * registry is open. Calls: serve/serve.h, registry (open/close), policy (checks --policy),
 * common/log.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "common/log.h"
#include "policy/policy.h"
#include "registry/registry.h"
#include "serve/serve.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mmsp serve [--model-repository DIR] [--data DIR] [--registry URL] [options]\n"
            "\n"
            "Serves models over HTTP: Open Inference Protocol v2, KServe v1 and a simple API\n"
            "for one default model, plus Prometheus metrics. With --model-repository DIR it\n"
            "serves that repository; without it (registry mode) it serves what the\n"
            "deployments of the registry say. The registry APIs (/api/v1, /api/2.0/mlflow)\n"
            "are hosted in registry mode, and with a repository when --data or --registry is\n"
            "given.\n"
            "\n"
            "Repository layout:\n"
            "  DIR/<model>/config.yaml           optional (backend, inputs/outputs,\n"
            "                                    max_batch_size, version_policy, ...)\n"
            "  DIR/<model>/<version>/model.json  XGBoost JSON (or model.onnx); versions are\n"
            "                                    positive integers\n"
            "\n"
            "options:\n"
            "  --model-repository DIR  serve this model repository (no registry needed)\n"
            "  --data DIR              registry data: registry.db (SQLite) and artifacts\n"
            "                          (default ./mmsp-data)\n"
            "  --registry URL          postgres://... registry store (default: SQLite under\n"
            "                          --data; artifacts stay under --data)\n"
            "  --admin-token TOKEN     write endpoints (register, stage, alias, deploy,\n"
            "                          promote, rollback, MLflow writes, repository\n"
            "                          load/unload) need 'Authorization: Bearer TOKEN'\n"
            "                          (default $MMSP_ADMIN_TOKEN; unset = writes are open)\n"
            "  --policy FILE           gate policy for registrations over HTTP (default:\n"
            "                          built in)\n"
            "  --host ADDR             address to listen on (default 127.0.0.1)\n"
            "  --port N                port (default 8080; 0 picks a free port, logged as\n"
            "                          \"listening on http://HOST:PORT\")\n"
            "  --default-model NAME    model of /predict, /ready and /model/info (default:\n"
            "                          the only model of the repository)\n"
            "  --serving-dir DIR       registry mode: where the deployments are materialised\n"
            "                          as a model repository (default DATA/serving; one\n"
            "                          server per directory)\n"
            "  --poll-ms N             registry mode: re-read the deployments every N ms\n"
            "                          (default 250; changes made through this server's API\n"
            "                          apply at once)\n"
            "  --max-body-bytes N      largest request body; larger ones get 413\n"
            "                          (default 8388608 = 8 MiB)\n"
            "  --threads N             HTTP event-loop threads (default: number of cores)\n"
            "  --event-loop epoll|poll how they wait (default epoll; poll parks and resumes\n"
            "                          requests more cheaply: dynamic batching, docs/http.md)\n"
            "  --http-sched normal|batch\n"
            "                          scheduling policy of those threads (default normal;\n"
            "                          batch = SCHED_BATCH: they do not preempt a batch\n"
            "                          executor sharing their core, docs/http.md)\n"
            "  --idle-timeout SECONDS  close idle or slow connections after this (default 30)\n"
            "  --max-connections N     concurrent connections (default 1024)\n"
            "  --roles LIST            comma-separated roles of this process: gateway,\n"
            "                          inference, registry (default: all three). gateway\n"
            "                          alone needs --inference-url and a registry (--data\n"
            "                          or --registry) for the deployments\n"
            "  --inference-url URL[,URL...]\n"
            "                          the gateway calls these inference roles (Open\n"
            "                          Inference Protocol v2, round-robin, a failed replica\n"
            "                          is skipped and retried after a back-off) instead of\n"
            "                          the models of this process\n"
            "  --prediction-log DIR    gateway: rotating log of every /predict\n"
            "                          (default DATA/predictions when a registry is open;\n"
            "                          'off' disables it)\n"
            "  --prediction-log-format parquet|jsonl  its file format (default parquet)\n"
            "  --prediction-log-max-bytes N  rotate a log file past N bytes (default 64 MiB)\n"
            "  --prediction-log-max-age S    rotate a log file S seconds old (default 3600)\n"
            "  --retrain-command CMD   gateway: when a deployment's streaming drift window\n"
            "                          turns critical, write its drift report under\n"
            "                          DATA/drift/NAME/ and run CMD REPORT_PATH (split on\n"
            "                          blanks, no shell), once per episode, recorded as\n"
            "                          retrain_triggered (also $MMSP_RETRAIN_COMMAND)\n"
            "  --retrain-webhook URL   the same, but POST {\"report\", \"deployment\",\n"
            "                          \"status\", \"drift_share\"} to URL (also\n"
            "                          $MMSP_RETRAIN_WEBHOOK); not with --retrain-command\n"
            "  --online-store URL      feature store's online store: embedded (default,\n"
            "                          kept in DATA/features.db) or\n"
            "                          redis://[[USER]:PASSWORD@]HOST:PORT[/DB]\n"
            "  --log-level LEVEL       debug|info|warn|error|off (default info)\n"
            "  --help                  this text\n"
            "\n"
            "endpoints:\n"
            "  GET  /v2/health/live, /v2/health/ready       server liveness / readiness\n"
            "  GET  /v2                                     server metadata\n"
            "  GET  /v2/models/{m}[/versions/{v}]           model metadata\n"
            "  GET  /v2/models/{m}[/versions/{v}]/ready     model readiness\n"
            "  GET  /v2/models/{m}[/versions/{v}]/config    model configuration\n"
            "  GET  /v2/models[/{m}[/versions/{v}]]/stats   statistics (Triton format)\n"
            "  POST /v2/models/{m}[/versions/{v}]/infer     inference (JSON or binary tensors)\n"
            "  POST /v2/repository/index                    models and their state\n"
            "  POST /v2/repository/models/{m}/load          load or reload a model\n"
            "  POST /v2/repository/models/{m}/unload        stop serving a model\n"
            "  GET  /v1/models, /v1/models/{m}              KServe v1 list / readiness\n"
            "  POST /v1/models/{m}:predict                  KServe v1 predict\n"
            "  GET  /health, /ready, /model/info            simple API (default model)\n"
            "  POST /predict                                simple API inference\n"
            "  GET  /metrics                                Prometheus text format 0.0.4\n"
            "  *    /api/v1/models..., /api/v1/deployments...  registry API (docs/api.md)\n"
            "  POST /api/v1/gate                            policy gate check\n"
            "  *    /api/2.0/mlflow/...                     MLflow model registry API 2.0\n"
            "\n"
            "Errors are {\"error\": \"...\"} with 400 (bad input), 404 (unknown model, version\n"
            "or path), 405 (wrong method), 413 (body too large), 501, 503 (model not ready),\n"
            "500; write endpoints 401 (no token) and 403 (wrong token); the MLflow API uses\n"
            "MLflow's {\"error_code\", \"message\"}. Logs are JSON lines on stderr.\n"
            "SIGTERM/SIGINT stop the server gracefully.\n"
            "\n"
            "exit codes: 0 stopped by a signal, 1 could not start (repository, registry,\n"
            "policy, address),\n"
            "2 usage error. See docs/serve.md.\n");
}

#define MAX_INFERENCE_URLS 64

/* "gateway,inference,registry" -> SERVE_ROLE_* bits; 0 on a bad list (reported). */
static unsigned parse_roles(const char *flag, const char *s)
{
    unsigned roles = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 7 && strncmp(p, "gateway", n) == 0)
            roles |= SERVE_ROLE_GATEWAY;
        else if (n == 9 && strncmp(p, "inference", n) == 0)
            roles |= SERVE_ROLE_INFERENCE;
        else if (n == 8 && strncmp(p, "registry", n) == 0)
            roles |= SERVE_ROLE_REGISTRY;
        else {
            cli_error(flag, "unknown role '%.*s' (gateway, inference, registry)", (int)n, p);
            return 0;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!roles)
        cli_error(flag, "expects a list of roles (gateway, inference, registry)");
    return roles;
}

/* Splits "URL[,URL...]" (s is modified) into urls; returns the count, 0 on error. */
static size_t parse_urls(const char *flag, char *s, const char **urls, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *u = strtok_r(s, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
            cli_error(flag, "'%s' is not an http:// or https:// URL", u);
            return 0;
        }
        if (n == max) {
            cli_error(flag, "more than %zu URLs", max);
            return 0;
        }
        urls[n++] = u;
    }
    if (!n)
        cli_error(flag, "expects URL[,URL...]");
    return n;
}

/* Parses a decimal in [min, max]; returns 0 on success. */
static int parse_num(const char *flag, const char *s, unsigned long long min,
                     unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') {
        cli_error(flag, "expects a number");
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        cli_error(flag, "'%s' is not a number in %llu..%llu", s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    struct serve_options o = {.host = "127.0.0.1",
                              .port = 8080,
                              .max_body_bytes = 8u << 20,
                              .idle_timeout_s = 30,
                              .max_connections = 1024};
    unsigned long long v;
    const char *data_dir = NULL, *registry_url = NULL, *prediction_log = NULL;
    const char *retrain_flag = NULL; /* --retrain-command or --retrain-webhook, once */
    const char *urls[MAX_INFERENCE_URLS];
    static char urls_arg[8192]; /* --inference-url, split in place; urls point into it */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!val) {
            cli_error(a, strncmp(a, "--", 2) == 0 ? "missing value or unknown option"
                                                  : "unexpected argument");
            fprintf(stderr, "see 'mmsp serve --help'\n");
            return EXIT_USAGE;
        }
        if (strcmp(a, "--model-repository") == 0) {
            o.model_repository = val;
        } else if (strcmp(a, "--data") == 0) {
            data_dir = val;
        } else if (strcmp(a, "--registry") == 0) {
            registry_url = val;
        } else if (strcmp(a, "--admin-token") == 0) {
            o.admin_token = val;
        } else if (strcmp(a, "--policy") == 0) {
            o.policy_path = val;
        } else if (strcmp(a, "--host") == 0) {
            o.host = val;
        } else if (strcmp(a, "--default-model") == 0) {
            o.default_model = val;
        } else if (strcmp(a, "--roles") == 0) {
            if (!(o.roles = parse_roles(a, val)))
                return EXIT_USAGE;
        } else if (strcmp(a, "--inference-url") == 0) {
            if (strlen(val) >= sizeof urls_arg) {
                cli_error(a, "longer than %zu bytes", sizeof urls_arg - 1);
                return EXIT_USAGE;
            }
            snprintf(urls_arg, sizeof urls_arg, "%s", val);
            if (!(o.n_inference_urls = parse_urls(a, urls_arg, urls, MAX_INFERENCE_URLS)))
                return EXIT_USAGE;
            o.inference_urls = urls;
        } else if (strcmp(a, "--prediction-log") == 0) {
            prediction_log = val;
        } else if (strcmp(a, "--prediction-log-format") == 0) {
            if (!val || (strcmp(val, "parquet") && strcmp(val, "jsonl"))) {
                cli_error(a, "expects parquet or jsonl");
                return EXIT_USAGE;
            }
            o.prediction_log_format = val;
        } else if (strcmp(a, "--prediction-log-max-bytes") == 0) {
            if (parse_num(a, val, 1, 1ull << 40, &v))
                return EXIT_USAGE;
            o.prediction_log_max_bytes = (size_t)v;
        } else if (strcmp(a, "--prediction-log-max-age") == 0) {
            if (parse_num(a, val, 1, 30ull * 86400, &v))
                return EXIT_USAGE;
            o.prediction_log_max_age_ms = (int64_t)v * 1000;
        } else if (strcmp(a, "--retrain-command") == 0 || strcmp(a, "--retrain-webhook") == 0) {
            int is_cmd = a[10] == 'c';
            const char *other = is_cmd ? "--retrain-webhook" : "--retrain-command";
            if (!val || !val[strspn(val, " \t")]) {
                cli_error(a, "expects a %s", is_cmd ? "command" : "URL");
                return EXIT_USAGE;
            }
            if (!is_cmd && strncmp(val, "http://", 7) && strncmp(val, "https://", 8)) {
                cli_error(a, "'%s' is not an http:// or https:// URL", val);
                return EXIT_USAGE;
            }
            if (retrain_flag && strcmp(retrain_flag, a)) {
                cli_error(a, "give %s or %s, not both", a, other);
                return EXIT_USAGE;
            }
            retrain_flag = a;
            if (is_cmd)
                o.retrain_command = val;
            else
                o.retrain_webhook = val;
        } else if (strcmp(a, "--online-store") == 0) {
            o.online_store = val;
        } else if (strcmp(a, "--serving-dir") == 0) {
            o.serving_dir = val;
        } else if (strcmp(a, "--poll-ms") == 0) {
            if (parse_num(a, val, 1, 3600000, &v))
                return EXIT_USAGE;
            o.poll_ms = (unsigned)v;
        } else if (strcmp(a, "--port") == 0) {
            if (parse_num(a, val, 0, 65535, &v))
                return EXIT_USAGE;
            o.port = (uint16_t)v;
        } else if (strcmp(a, "--max-body-bytes") == 0) {
            if (parse_num(a, val, 1, 1ull << 32, &v))
                return EXIT_USAGE;
            o.max_body_bytes = (size_t)v;
        } else if (strcmp(a, "--event-loop") == 0) {
            if (!val || (strcmp(val, "epoll") && strcmp(val, "poll"))) {
                cli_error(a, "expects epoll or poll, got '%s'", val ? val : "");
                return EXIT_USAGE;
            }
            o.use_poll = strcmp(val, "poll") == 0;
        } else if (strcmp(a, "--http-sched") == 0) {
            if (!val || (strcmp(val, "normal") && strcmp(val, "batch"))) {
                cli_error(a, "expects normal or batch, got '%s'", val ? val : "");
                return EXIT_USAGE;
            }
            o.http_sched_batch = strcmp(val, "batch") == 0;
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_num(a, val, 1, 1024, &v))
                return EXIT_USAGE;
            o.threads = (unsigned)v;
        } else if (strcmp(a, "--idle-timeout") == 0) {
            if (parse_num(a, val, 1, 86400, &v))
                return EXIT_USAGE;
            o.idle_timeout_s = (unsigned)v;
        } else if (strcmp(a, "--max-connections") == 0) {
            if (parse_num(a, val, 1, 1000000, &v))
                return EXIT_USAGE;
            o.max_connections = (unsigned)v;
        } else if (strcmp(a, "--log-level") == 0) {
            int lvl = log_level_parse(val);
            if (lvl < 0) {
                cli_error(a, "unknown level '%s'", val);
                return EXIT_USAGE;
            }
            log_set_level((enum log_level)lvl);
        } else {
            cli_error(a, "unknown option");
            fprintf(stderr, "see 'mmsp serve --help'\n");
            return EXIT_USAGE;
        }
    }
    unsigned roles = o.roles ? o.roles : SERVE_ROLE_ALL;
    if (o.n_inference_urls && !(roles & SERVE_ROLE_GATEWAY)) {
        cli_error("--inference-url", "only the gateway role calls inference roles");
        return EXIT_USAGE;
    }
    if ((roles & SERVE_ROLE_GATEWAY) && !(roles & SERVE_ROLE_INFERENCE) && !o.n_inference_urls) {
        cli_error("--roles", "the gateway role without the inference role needs --inference-url");
        return EXIT_USAGE;
    }
    if (!(roles & SERVE_ROLE_INFERENCE) && o.model_repository) {
        cli_error("--model-repository", "needs the inference role");
        return EXIT_USAGE;
    }
    if (!o.admin_token)
        o.admin_token = getenv("MMSP_ADMIN_TOKEN");
    if (o.admin_token && !*o.admin_token)
        o.admin_token = NULL;
    char err[MMSP_ERRMSG_MAX] = "";
    if (o.policy_path) {
        /* A bad policy file stops the start, not the first registration. */
        struct policy *p = NULL;
        mmsp_err prc = policy_load(o.policy_path, &p, err, sizeof err);
        policy_free(p);
        if (prc) {
            cli_error("--policy", "%s", err[0] ? err : mmsp_strerror(prc));
            return 1;
        }
    }
    /* Registry mode, or a repository with an explicit --data / --registry: open the store. */
    struct registry *reg = NULL;
    if (!o.model_repository || data_dir || registry_url) {
        struct registry_options ro = {
            .data_dir = data_dir ? data_dir : "./mmsp-data", .url = registry_url, .user = "api"};
        mmsp_err rrc = registry_open(&ro, &reg, err, sizeof err);
        if (rrc) {
            cli_error("registry", "%s", err[0] ? err : mmsp_strerror(rrc));
            return 1;
        }
        o.registry = reg;
        o.features_url = registry_url; /* the feature store's tables sit beside the registry's */
        log_info("serve.registry", "registry %s, data %s; writes %s",
                 registry_url ? "postgres" : "sqlite", ro.data_dir,
                 o.admin_token ? "need the admin token" : "are open (no --admin-token)");
    }

    /* Signals are taken by sigwait below; every thread started from here inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The prediction log: --prediction-log DIR, else DATA/predictions once a registry is open. */
    char default_log[4096];
    if (prediction_log && strcmp(prediction_log, "off") == 0) {
        prediction_log = NULL;
    } else if (!prediction_log && reg && (roles & SERVE_ROLE_GATEWAY)) {
        snprintf(default_log, sizeof default_log, "%s/predictions",
                 data_dir ? data_dir : "./mmsp-data");
        prediction_log = default_log;
    }
    o.prediction_log_dir = prediction_log;

    struct serve_server *s = NULL;
    mmsp_err rc = serve_server_start(&o, &s, err, sizeof err);
    if (rc) {
        cli_error("serve", "%s", err[0] ? err : mmsp_strerror(rc));
        registry_close(reg);
        return 1;
    }
    const char *host = o.host;
    int v6 = strchr(host, ':') != NULL;
    log_info("serve.listen", "listening on http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
             (unsigned)serve_server_port(s));
    int sig = 0;
    sigwait(&set, &sig);
    log_info("serve.stop", "received %s: finishing requests in flight",
             sig == SIGINT ? "SIGINT" : "SIGTERM");
    serve_server_stop(s);
    registry_close(reg);
    log_info("serve.stop", "stopped");
    return 0;
}
