/*
 * `mmsp drift baseline` and `mmsp drift report` (docs/drift.md): builds the training baseline
 * of a CSV file, and compares the prediction logs of a directory with it (PSI, KS, JS per
 * feature, dataset drift share), writing DIR/drift-report-<time>.json, printing a table or the
 * JSON, and on critical drift calling the retraining command or webhook once per episode and
 * recording "retrain_triggered" in the deployment's history. Calls: drift, http/client,
 * registry (through cli/regcli), jansson.
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
#include "drift/drift.h"
#include "http/client.h"
#include "registry/registry.h"

static void usage_baseline(FILE *out)
{
    fprintf(out, "usage: mmsp drift baseline --data-file TRAIN.csv --out BASELINE.json [options]\n"
                 "\n"
                 "Summarises the training data for drift detection: per numeric column the\n"
                 "quantile bin edges, reference bin fractions, mean, std, min, max, null rate and\n"
                 "a seeded reservoir sample (for KS); per string column the value frequencies.\n"
                 "The column order (the CSV header's) must be the model's input order.\n"
                 "\n"
                 "options:\n"
                 "  --data-file F   training data: CSV with a header row, or .parquet (--train\n"
                 "                  is an alias)\n"
                 "  --out F         where to write the baseline JSON\n"
                 "  --bins N        quantile bins (default 10)\n"
                 "  --sample N      reservoir sample size (default 5000)\n"
                 "  --seed N        reservoir seed (default 42)\n"
                 "  --help          this text\n"
                 "\n"
                 "exit status: 0 ok, 1 failure, 2 usage error.\n");
}

static void usage_report(FILE *out)
{
    fprintf(out,
            "usage: mmsp drift report --baseline B --logs DIR [options]\n"
            "\n"
            "Compares the inputs logged in DIR/predictions-*.jsonl and predictions-*.parquet\n"
            "with the baseline: per feature PSI (status healthy < 0.1 <= warning < 0.2 <=\n"
            "critical), the KS statistic and p-value against the baseline's sample, the\n"
            "Jensen-Shannon distance; a feature\n"
            "has drifted when PSI >= 0.2 or the KS p-value < 0.05, the dataset when half of its\n"
            "features have. The report is written to DIR/drift-report-<time>.json (or --out).\n"
            "\n"
            "options:\n"
            "  --baseline F           the baseline JSON (mmsp drift baseline)\n"
            "  --logs DIR             the gateway's prediction log directory\n"
            "  --since D              only records of the last D (30m, 24h, 7d)\n"
            "  --out F                write the report here instead\n"
            "  --json                 print the report JSON instead of the table\n"
            "  --threads N            scanning threads (default 2)\n"
            "  --retrain-command CMD  on critical drift run CMD REPORT_PATH (once per episode)\n"
            "  --retrain-webhook URL  on critical drift POST {\"report\": PATH, ...} to URL\n"
            "  --deployment NAME      record \"retrain_triggered\" in NAME's history (store at\n"
            "                         --data / --registry) and key the episode by NAME\n"
            "  --env E                the deployment's environment (default production)\n"
            "%s"
            "\n"
            "exit status: 0 ok (drift or not), 1 failure, 2 usage error.\n",
            regcli_common_help);
}

static int parse_since(const char *s, int64_t *ms)
{
    char *e = NULL;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e == s || !(v > 0))
        return -1;
    double mult = 1000;
    if (!strcmp(e, "s") || !*e)
        mult = 1000;
    else if (!strcmp(e, "m"))
        mult = 60e3;
    else if (!strcmp(e, "h"))
        mult = 3600e3;
    else if (!strcmp(e, "d"))
        mult = 86400e3;
    else
        return -1;
    *ms = (int64_t)(v * mult);
    return 0;
}

static int cmd_baseline(int argc, char **argv)
{
    struct regcli c;
    const char *data = NULL, *train = NULL, *out = NULL, *bins = NULL, *sample = NULL, *seed = NULL;
    const struct regcli_opt opts[] = {
        {"--data-file", REGCLI_STRING, &data}, {"--train", REGCLI_STRING, &train},
        {"--out", REGCLI_STRING, &out},        {"--bins", REGCLI_STRING, &bins},
        {"--sample", REGCLI_STRING, &sample},  {"--seed", REGCLI_STRING, &seed},
    };
    size_t npos = 0;
    const char *pos[REGCLI_MAX_POS];
    int r = regcli_parse(&c, "drift baseline", usage_baseline, argc, argv, opts,
                         sizeof opts / sizeof *opts, pos, REGCLI_MAX_POS, &npos);
    if (r != REGCLI_RUN)
        return r;
    /* `--data` is the common store flag; as in the text, accept it as the file when
     * neither --data-file nor --train is given */
    const char *file = data ? data : train ? train : c.data_given ? c.data_dir : NULL;
    if (!file || !out || npos)
        return regcli_usage_error(&c, "expected --data TRAIN.csv --out BASELINE.json");
    struct drift_baseline_options o = {0};
    char *e = NULL;
    if (bins && ((o.bins = (int)strtol(bins, &e, 10)) < 2 || o.bins > 1000 || *e))
        return regcli_usage_error(&c, "--bins '%s': an integer 2..1000", bins);
    if (sample && ((o.sample = (size_t)strtoul(sample, &e, 10)) < 1 || o.sample > 10000000 || *e))
        return regcli_usage_error(&c, "--sample '%s': an integer 1..10000000", sample);
    if (seed && ((o.seed = strtoull(seed, &e, 10)) == 0 || *e))
        return regcli_usage_error(&c, "--seed '%s': a positive integer", seed);
    struct drift_baseline b;
    char err[1024];
    mmsp_err rc = drift_baseline_from_file(file, &o, &b, err, sizeof err);
    if (rc) {
        cli_error("drift baseline", "%s", err);
        return 1;
    }
    rc = drift_baseline_save(&b, out, err, sizeof err);
    if (rc) {
        cli_error("drift baseline", "%s", err);
    } else if (c.json) {
        printf("{\"baseline\": \"%s\", \"features\": %zu, \"rows\": %llu}\n", out, b.nfeatures,
               (unsigned long long)b.rows);
    } else {
        printf("baseline %s: %zu features, %llu rows\n", out, b.nfeatures,
               (unsigned long long)b.rows);
    }
    drift_baseline_free(&b);
    return rc ? 1 : 0;
}

static void print_table(const struct drift_report *r, const char *path)
{
    printf("%-24s %10s %8s %8s %10s %10s  %s\n", "FEATURE", "COUNT", "PSI", "JS", "KS", "KS_P",
           "STATUS");
    for (size_t i = 0; i < r->nfeatures; i++) {
        const struct drift_feature_result *f = &r->features[i];
        printf("%-24s %10llu %8.4f %8.4f %10.4f %10.3g  %s%s\n", f->name,
               (unsigned long long)f->count, f->psi, f->js, f->ks_d, f->ks_p,
               f->count && !isnan(f->psi) ? drift_status_name(f->status) : "no_data",
               f->drifted ? " (drifted)" : "");
    }
    printf("\nrows %llu in %llu files (%llu lines skipped); drift share %.3f; dataset drift: %s; "
           "status %s\nreport: %s\n",
           (unsigned long long)r->rows, (unsigned long long)r->files,
           (unsigned long long)r->skipped_lines, r->drift_share, r->dataset_drift ? "yes" : "no",
           drift_status_name(r->status), path);
}

static int post_webhook(const char *url, const char *report, const char *dep,
                        const struct drift_report *r, char *err, size_t errlen)
{
    json_t *doc = json_pack("{s:s,s:s?,s:s,s:f}", "report", report, "deployment", dep, "status",
                            drift_status_name(r->status), "drift_share", r->drift_share);
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    struct http_client *h = NULL;
    int rc = -1;
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (http_client_new(NULL, &h, err, errlen) == MMSP_OK) {
        struct http_client_request rq = {
            .method = "POST", .url = url, .body = body, .body_len = strlen(body)};
        struct http_client_response res;
        if (http_client_do(h, &rq, &res, err, errlen) == MMSP_OK) {
            if (res.status >= 200 && res.status < 300)
                rc = 0;
            else
                snprintf(err, errlen, "webhook %s answered %ld", url, res.status);
            http_client_response_release(&res);
        }
    }
    http_client_free(h);
    free(body);
    return rc;
}

static int cmd_report(int argc, char **argv)
{
    struct regcli c;
    const char *baseline = NULL, *logs = NULL, *since = NULL, *out = NULL, *threads = NULL,
               *cmd = NULL, *hook = NULL, *dep = NULL, *env = "production";
    const struct regcli_opt opts[] = {
        {"--baseline", REGCLI_STRING, &baseline},
        {"--logs", REGCLI_STRING, &logs},
        {"--since", REGCLI_STRING, &since},
        {"--out", REGCLI_STRING, &out},
        {"--threads", REGCLI_STRING, &threads},
        {"--retrain-command", REGCLI_STRING, &cmd},
        {"--retrain-webhook", REGCLI_STRING, &hook},
        {"--deployment", REGCLI_STRING, &dep},
        {"--env", REGCLI_STRING, &env},
    };
    size_t npos = 0;
    const char *pos[REGCLI_MAX_POS];
    int r = regcli_parse(&c, "drift report", usage_report, argc, argv, opts,
                         sizeof opts / sizeof *opts, pos, REGCLI_MAX_POS, &npos);
    if (r != REGCLI_RUN)
        return r;
    if (!baseline || !logs || npos)
        return regcli_usage_error(&c, "expected --baseline B --logs DIR");
    struct drift_report_options o = {0};
    if (since) {
        int64_t ms;
        if (parse_since(since, &ms))
            return regcli_usage_error(&c, "--since '%s': a duration such as 30m, 24h, 7d", since);
        o.since_ms = (int64_t)time(NULL) * 1000 - ms;
    }
    if (threads) {
        char *e = NULL;
        o.threads = (int)strtol(threads, &e, 10);
        if (*e || o.threads < 1 || o.threads > 16)
            return regcli_usage_error(&c, "--threads '%s': an integer 1..16", threads);
    }
    if (cmd && hook)
        return regcli_usage_error(&c, "give --retrain-command or --retrain-webhook, not both");
    struct drift_baseline b;
    struct drift_report rep;
    char err[1024], path[4096];
    char *json = NULL;
    int exit_code = 1;
    mmsp_err rc = drift_baseline_load(baseline, &b, err, sizeof err);
    if (rc) {
        cli_error("drift report", "%s", err);
        return 1;
    }
    rc = drift_report_logs(&b, logs, &o, &rep, err, sizeof err);
    if (rc) {
        cli_error("drift report", "%s", err);
        goto out_b;
    }
    if (out) {
        snprintf(path, sizeof path, "%s", out);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        snprintf(path, sizeof path, "%s/drift-report-%s%03ldZ.json", logs, stamp,
                 ts.tv_nsec / 1000000);
    }
    rc = drift_report_to_json(&rep, baseline, logs, &json, err, sizeof err);
    if (rc) {
        cli_error("drift report", "%s", err);
        goto out_r;
    }
    FILE *f = fopen(path, "w");
    if (!f || fputs(json, f) < 0 || fputc('\n', f) == EOF) {
        cli_error("drift report", "%s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        goto out_r;
    }
    if (fclose(f)) {
        cli_error("drift report", "%s: %s", path, strerror(errno));
        goto out_r;
    }
    if (c.json)
        printf("%s\n", json);
    else
        print_table(&rep, path);
    exit_code = 0;
    if (cmd || hook) {
        char state[4096];
        snprintf(state, sizeof state, "%s/.drift-episode-%s", logs, dep ? dep : "default");
        if (drift_episode_step(state, rep.status)) {
            int bad = 0;
            if (cmd)
                bad = drift_trigger_command(cmd, path, err, sizeof err) != MMSP_OK;
            else
                bad = post_webhook(hook, path, dep, &rep, err, sizeof err) != 0;
            if (bad) {
                cli_error("drift report", "retraining trigger: %s", err);
                exit_code = 1;
            } else if (!c.json) {
                printf("retraining triggered (%s)\n", cmd ? "command" : "webhook");
            }
            if (dep && !c.server_url) {
                int orc = regcli_open(&c);
                if (orc) {
                    exit_code = orc;
                } else {
                    json_t *d = json_pack("{s:s,s:s,s:s,s:f,s:b}", "report", path, "via",
                                          cmd ? "command" : "webhook", "status",
                                          drift_status_name(rep.status), "drift_share",
                                          rep.drift_share, "ok", !bad);
                    char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
                    json_decref(d);
                    rc = registry_event_append(c.reg, dep, env, c.user, "retrain_triggered",
                                               detail ? detail : "{}", err, sizeof err);
                    free(detail);
                    if (rc)
                        exit_code = regcli_fail(&c, rc, err);
                    regcli_close(&c);
                }
            }
        }
    }
out_r:
    free(json);
    drift_report_free(&rep);
out_b:
    drift_baseline_free(&b);
    return exit_code;
}

int cmd_drift(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *o = argc < 2 ? stderr : stdout;
        fprintf(o, "usage: mmsp drift baseline|report [options]   ('mmsp drift report --help')\n");
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "baseline"))
        return cmd_baseline(argc - 1, argv + 1);
    if (!strcmp(argv[1], "report"))
        return cmd_report(argc - 1, argv + 1);
    cli_error("drift", "unknown subcommand '%s' (baseline or report)", argv[1]);
    return EXIT_USAGE;
}
