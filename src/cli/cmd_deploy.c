/*
 * `mmsp deploy`, `promote`, `rollback`, `history` and `deployments`: deployments from the
 * command line (docs/cli.md). Each command parses its flags (cli/regcli), then calls the store
 * (registry.h, turning the result into its reg_*_json document) or, with --server, the
 * matching /api/v1/deployments endpoint (whose body is that same document); one printer per
 * command formats it for people, or --json prints it, so both backends print the same.
 * Calls: cli/regcli, registry, jansson.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/commands.h"
#include "cli/regcli.h"
#include "registry/registry.h"

/* --- usage -------------------------------------------------------------------------------- */

static void usage_tail(FILE *out)
{
    fputs("\n", out);
    fputs(regcli_common_help, out);
    fputs("\n", out);
    fputs(regcli_exit_help, out);
}

static void usage_deploy(FILE *out)
{
    fprintf(out,
            "usage: mmsp deploy NAME --model M (--version V | --alias A) [options]\n"
            "       mmsp deploy NAME --canary PERCENT [--env E] [options]\n"
            "       mmsp deploy NAME --cohort-header H [--env E] [options]\n"
            "\n"
            "Creates or changes deployment NAME in one environment, and records the change\n"
            "in its history. Without --canary the version takes all traffic at once (it\n"
            "becomes the stable version). With --canary PERCENT it runs beside the stable\n"
            "version and takes PERCENT of the traffic (the first deploy of a name has no\n"
            "stable version, so it cannot be a canary). With --shadow it receives a copy of\n"
            "the traffic whose answers are not returned. With only --canary (no --model), the\n"
            "weight of the current canary changes. Production refuses a version that never\n"
            "passed the gate (registered through the MLflow API) unless --force.\n"
            "\n"
            "options:\n"
            "  --model M          the registered model\n"
            "  --version V        the version of M to deploy\n"
            "  --alias A          or the version alias A of M names (e.g. champion)\n"
            "  --env E            staging or production (default production)\n"
            "  --canary PERCENT   deploy as a canary taking PERCENT (0..100) of the traffic;\n"
            "                     alone: change the current canary's weight\n"
            "  --shadow           deploy as the shadow version (mirrored traffic)\n"
            "  --force            allow a version whose gate status is not_evaluated\n"
            "  --reason TEXT      why (recorded in the history)\n"
            "  --cohort-header H  the request header whose value keeps a user on one variant\n"
            "                     at the gateway (default X-User-Id; \"\" resets it); alone,\n"
            "                     it changes only that\n"
            "\n"
            "examples:\n"
            "  mmsp deploy fraud --model fraud-detector --version 3\n"
            "  mmsp deploy fraud --model fraud-detector --alias challenger --canary 10\n"
            "  mmsp deploy fraud --canary 50\n"
            "\n"
            "Prints the deployment (--json: the deployment object).\n");
    usage_tail(out);
}

static void usage_promote(FILE *out)
{
    fprintf(out, "usage: mmsp promote NAME [--env E] [--reason TEXT] [options]\n"
                 "\n"
                 "Makes the canary of deployment NAME its stable version (100%% of the\n"
                 "traffic). Refused (exit 4) when there is no canary.\n"
                 "\n"
                 "options:\n"
                 "  --env E        staging or production (default production)\n"
                 "  --reason TEXT  why (recorded in the history)\n"
                 "\n"
                 "Prints the deployment (--json: the deployment object).\n");
    usage_tail(out);
}

static void usage_rollback(FILE *out)
{
    fprintf(out, "usage: mmsp rollback NAME [--to VERSION] [--env E] [--reason TEXT] [options]\n"
                 "\n"
                 "With a canary: removes it (the stable version takes all the traffic again).\n"
                 "Without one: the stable version goes back to the one before it (from the\n"
                 "history), or to --to VERSION. Refused (exit 4) when there is nothing to go back\n"
                 "to.\n"
                 "\n"
                 "options:\n"
                 "  --to VERSION   the version to go back to\n"
                 "  --env E        staging or production (default production)\n"
                 "  --reason TEXT  why (recorded in the history)\n"
                 "\n"
                 "Prints the deployment (--json: the deployment object).\n");
    usage_tail(out);
}

static void usage_history(FILE *out)
{
    fprintf(out, "usage: mmsp history NAME [--env E] [options]\n"
                 "\n"
                 "The append-only history of deployment NAME, oldest first: TIME (UTC), ENV,\n"
                 "WHO, ACTION (deploy, canary, shadow, promote, rollback, ...) and DETAIL\n"
                 "(versions before and after, weight, reason). Without --env it also shows the\n"
                 "events of the model called NAME (a registration forced past the gate, with\n"
                 "its failed rules; stage changes). --json prints {\"events\": [event, ...]}.\n"
                 "\n"
                 "options:\n"
                 "  --env E   only this environment (staging or production)\n");
    usage_tail(out);
}

static void usage_deployments(FILE *out)
{
    fprintf(out, "usage: mmsp deployments [options]\n"
                 "\n"
                 "Lists every deployment: NAME, ENV, MODEL, STABLE, CANARY, WEIGHT, SHADOW,\n"
                 "STATE, UPDATED (UTC). --json prints {\"deployments\": [deployment, ...]}.\n");
    usage_tail(out);
}

/* --- printers ------------------------------------------------------------------------------ */

/* "fraud (production): model m, stable 1, canary 2 at 10%, shadow -, state canary"; arg is
 * the verb ("deployed"). */
static void print_deployment(json_t *d, const void *arg)
{
    const char *verb = arg;
    char t1[64], t2[64], t3[64], t4[64], s[32], cv[32], sh[32];
    const char *n = regcli_str(d, "name", t1, sizeof t1);
    const char *e = regcli_str(d, "environment", t2, sizeof t2);
    const char *m = regcli_str(d, "model", t3, sizeof t3);
    const char *st = regcli_str(d, "state", t4, sizeof t4);
    printf("%s %s (%s): model %s, stable %s", verb, n, e, m,
           regcli_ver(d, "stable_version", s, sizeof s));
    if (regcli_int(d, "canary_version") > 0)
        printf(", canary %s at %lld%%", regcli_ver(d, "canary_version", cv, sizeof cv),
               (long long)regcli_int(d, "canary_weight"));
    else
        printf(", no canary");
    if (regcli_int(d, "shadow_version") > 0)
        printf(", shadow %s", regcli_ver(d, "shadow_version", sh, sizeof sh));
    printf(", state %s\n", st);
}

static void print_deployments_table(json_t *doc, const void *arg)
{
    static const char *const h[] = {"NAME",   "ENV",    "MODEL", "STABLE", "CANARY",
                                    "WEIGHT", "SHADOW", "STATE", "UPDATED"};
    struct regcli_table t;
    regcli_table_init(&t, 9, h);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(doc, "deployments"), i, d)
    {
        char t1[64], t2[64], t3[64], s[32], c[32], w[32], sh[32], t4[64], up[64];
        if (regcli_int(d, "canary_version") > 0)
            snprintf(w, sizeof w, "%lld%%", (long long)regcli_int(d, "canary_weight"));
        else
            snprintf(w, sizeof w, "-");
        const char *row[] = {regcli_str(d, "name", t1, sizeof t1),
                             regcli_str(d, "environment", t2, sizeof t2),
                             regcli_str(d, "model", t3, sizeof t3),
                             regcli_ver(d, "stable_version", s, sizeof s),
                             regcli_ver(d, "canary_version", c, sizeof c),
                             w,
                             regcli_ver(d, "shadow_version", sh, sizeof sh),
                             regcli_str(d, "state", t4, sizeof t4),
                             regcli_time(d, "updated_ms", up, sizeof up)};
        regcli_table_row(&t, row);
    }
    regcli_table_print(&t, stdout);
    regcli_table_free(&t);
}

/* Flattens an event's detail object into "k=v k.sub=v ..." (strings with spaces quoted). */
static void flatten(json_t *v, const char *prefix, struct buf *b)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            char key[256];
            snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", k);
            flatten(x, key, b);
        }
        return;
    }
    if (b->len)
        buf_append_char(b, ' ');
    buf_printf(b, "%s=", prefix);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (*s && !strpbrk(s, " \t\"'"))
            buf_append_str(b, s);
        else
            buf_printf(b, "\"%s\"", s);
    } else if (json_is_null(v)) {
        buf_append_char(b, '-');
    } else if (json_is_array(v) && json_array_size(v) &&
               json_is_string(json_object_get(json_array_get(v, 0), "name"))) {
        /* a list of named things (the failed rules of a forced registration): the names */
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            const char *name = json_string_value(json_object_get(x, "name"));
            buf_printf(b, "%s%s", i ? "," : "", name ? name : "?");
        }
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        buf_append_str(b, t ? t : "?");
        free(t);
    }
}

static void print_history_table(json_t *doc, const void *arg)
{
    static const char *const h[] = {"TIME", "ENV", "WHO", "ACTION", "DETAIL"};
    struct regcli_table t;
    regcli_table_init(&t, 5, h);
    size_t i;
    json_t *e;
    struct buf b;
    buf_init(&b, 1 << 20);
    json_array_foreach(json_object_get(doc, "events"), i, e)
    {
        char t1[64], t2[64], t3[300], t4[64];
        buf_reset(&b);
        flatten(json_object_get(e, "detail"), "", &b);
        const char *env = regcli_str(e, "environment", t2, sizeof t2);
        const char *row[] = {regcli_time(e, "at_ms", t1, sizeof t1), *env ? env : "-",
                             regcli_str(e, "who", t3, sizeof t3),
                             regcli_str(e, "action", t4, sizeof t4), b.data ? b.data : ""};
        regcli_table_row(&t, row);
    }
    regcli_table_print(&t, stdout);
    regcli_table_free(&t);
    buf_release(&b);
}

/* --- shared -------------------------------------------------------------------------------- */

/*
 * Parses a command on one deployment: the options, the deployment NAME (*name) and --env
 * (*env, checked; when not given, env_default). Returns REGCLI_RUN or the exit code.
 */
static int parse_deployment_command(struct regcli *c, const char *subject, void (*usage)(FILE *out),
                                    int argc, char **argv, const struct regcli_opt *opts,
                                    size_t n_opts, const char **env, const char *env_default,
                                    const char **name)
{
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = regcli_parse(c, subject, usage, argc, argv, opts, n_opts, pos, 1, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if (n_pos != 1)
        return regcli_usage_error(c, "expects the deployment NAME");
    if ((rc = regcli_check_env(c, *env)) != 0)
        return rc;
    if (!*env)
        *env = env_default;
    *name = pos[0];
    return REGCLI_RUN;
}

/* The local end of a deployment write: d as its JSON document in *doc, or the store's error
 * printed. Releases d. Returns 0 or the exit code. */
static int local_deployment(struct regcli *c, mmsp_err e, const char *err, struct reg_deployment *d,
                            json_t **doc)
{
    int rc = 0;
    if (e)
        rc = regcli_fail(c, e, err);
    else
        *doc = reg_deployment_json(d);
    reg_deployment_free(d);
    return rc;
}

/* Sends a deployment write to /api/v1/deployments/NAME[/suffix]; releases body. */
static int remote_deployment(struct regcli *c, const char *name, const char *suffix, json_t *body,
                             json_t **doc)
{
    struct buf p;
    buf_init(&p, 64 * 1024);
    int rc;
    if (!body || regcli_path(&p, "deployments", name, suffix, NULL)) {
        cli_error(c->subject, "out of memory or name too long");
        rc = REGCLI_EXIT_FAILED;
    } else {
        if (c->user)
            json_object_set_new(body, "who", json_string(c->user));
        rc = regcli_request(c, "POST", p.data, body, doc);
    }
    buf_release(&p);
    json_decref(body);
    return rc;
}

/* The body of a promote or rollback: {"environment": env, "reason": reason (when given)}. */
static json_t *env_body(const char *env, const char *reason)
{
    json_t *body = json_pack("{s:s}", "environment", env);
    if (body && reason)
        json_object_set_new(body, "reason", json_string(reason));
    return body;
}

/* GETs a remote listing whose answer must hold the array `key`. Returns 0 or the exit code
 * (printed); *doc is the caller's either way. */
static int remote_list(struct regcli *c, const char *path, const char *key, json_t **doc)
{
    int rc = regcli_request(c, "GET", path, NULL, doc);
    if (rc)
        return rc;
    if (!json_is_array(json_object_get(*doc, key))) {
        cli_error(c->subject, "the server's answer has no \"%s\" list", key);
        return REGCLI_EXIT_FAILED;
    }
    return 0;
}

static int parse_percent(const struct regcli *c, const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = (s && *s >= '0' && *s <= '9') ? strtol(s, &end, 10) : -1;
    if (v < 0 || errno || *end || v > 100)
        return regcli_usage_error(c, "--canary: '%s' is not a percentage (0..100)", s);
    *out = (int)v;
    return 0;
}

/* --- deploy -------------------------------------------------------------------------------- */

int cmd_deploy(int argc, char **argv)
{
    struct regcli c;
    const char *name = NULL, *model = NULL, *version_s = NULL, *alias = NULL, *env = NULL,
               *canary_s = NULL, *reason = NULL, *cohort = NULL;
    int shadow = 0, force = 0;
    const struct regcli_opt opts[] = {
        {"--model", REGCLI_STRING, &model},
        {"--version", REGCLI_STRING, &version_s},
        {"--alias", REGCLI_STRING, &alias},
        {"--env", REGCLI_STRING, &env},
        {"--canary", REGCLI_STRING, &canary_s},
        {"--shadow", REGCLI_FLAG, &shadow},
        {"--force", REGCLI_FLAG, &force},
        {"--reason", REGCLI_STRING, &reason},
        {"--cohort-header", REGCLI_STRING, &cohort},
    };
    int rc = parse_deployment_command(&c, "deploy", usage_deploy, argc, argv, opts,
                                      sizeof opts / sizeof opts[0], &env, "production", &name);
    if (rc != REGCLI_RUN)
        return rc;
    int64_t version = 0;
    int canary = -1;
    if (version_s && (rc = regcli_parse_version(&c, "--version", version_s, &version)) != 0)
        return rc;
    if (canary_s && (rc = parse_percent(&c, canary_s, &canary)) != 0)
        return rc;
    if (version_s && alias)
        return regcli_usage_error(&c, "give --version or --alias, not both");
    if ((version_s || alias) && !model)
        return regcli_usage_error(&c, "--version and --alias need --model");
    if (model && !version_s && !alias)
        return regcli_usage_error(&c, "--model needs --version or --alias");
    if (!model && !canary_s && !cohort)
        return regcli_usage_error(&c, "nothing to deploy: give --model with --version or "
                                      "--alias, or --canary PERCENT to change the weight");
    if (shadow && canary_s)
        return regcli_usage_error(&c, "--shadow and --canary are exclusive");
    if (shadow && !model)
        return regcli_usage_error(&c, "--shadow needs --model with --version or --alias");

    char err[REGCLI_ERR_MAX];
    json_t *doc = NULL;
    rc = regcli_open(&c);
    if (rc)
        goto out;
    if (c.reg) {
        struct reg_deploy_request rq = {.name = name,
                                        .environment = env,
                                        .model = model,
                                        .version = version,
                                        .alias = alias,
                                        .canary = canary,
                                        .shadow = shadow,
                                        .force = force,
                                        .who = c.user,
                                        .reason = reason,
                                        .cohort_header = cohort};
        struct reg_deployment d = {0};
        mmsp_err e = registry_deploy(c.reg, &rq, &d, err, sizeof err);
        rc = local_deployment(&c, e, err, &d, &doc);
    } else {
        json_t *body = json_object();
        if (body) {
            json_object_set_new(body, "environment", json_string(env));
            if (model)
                json_object_set_new(body, "model", json_string(model));
            if (version)
                json_object_set_new(body, "version", json_integer((json_int_t)version));
            if (alias)
                json_object_set_new(body, "alias", json_string(alias));
            if (canary >= 0)
                json_object_set_new(body, "canary", json_integer(canary));
            json_object_set_new(body, "shadow", json_boolean(shadow));
            json_object_set_new(body, "force", json_boolean(force));
            if (reason)
                json_object_set_new(body, "reason", json_string(reason));
            if (cohort)
                json_object_set_new(body, "cohort_header", json_string(cohort));
        }
        rc = remote_deployment(&c, name, NULL, body, &doc);
    }
    if (!rc)
        rc = regcli_print_result(&c, doc, print_deployment, "deployed");
out:
    json_decref(doc);
    regcli_close(&c);
    return rc;
}

/* --- promote ------------------------------------------------------------------------------- */

int cmd_promote(int argc, char **argv)
{
    struct regcli c;
    const char *name = NULL, *env = NULL, *reason = NULL;
    const struct regcli_opt opts[] = {{"--env", REGCLI_STRING, &env},
                                      {"--reason", REGCLI_STRING, &reason}};
    int rc = parse_deployment_command(&c, "promote", usage_promote, argc, argv, opts, 2, &env,
                                      "production", &name);
    if (rc != REGCLI_RUN)
        return rc;
    char err[REGCLI_ERR_MAX];
    json_t *doc = NULL;
    rc = regcli_open(&c);
    if (rc)
        goto out;
    if (c.reg) {
        struct reg_deployment d = {0};
        mmsp_err e = registry_promote(c.reg, name, env, c.user, reason, &d, err, sizeof err);
        rc = local_deployment(&c, e, err, &d, &doc);
    } else {
        rc = remote_deployment(&c, name, "promote", env_body(env, reason), &doc);
    }
    if (!rc)
        rc = regcli_print_result(&c, doc, print_deployment, "promoted");
out:
    json_decref(doc);
    regcli_close(&c);
    return rc;
}

/* --- rollback ------------------------------------------------------------------------------ */

int cmd_rollback(int argc, char **argv)
{
    struct regcli c;
    const char *name = NULL, *env = NULL, *reason = NULL, *to_s = NULL;
    const struct regcli_opt opts[] = {{"--env", REGCLI_STRING, &env},
                                      {"--reason", REGCLI_STRING, &reason},
                                      {"--to", REGCLI_STRING, &to_s}};
    int rc = parse_deployment_command(&c, "rollback", usage_rollback, argc, argv, opts, 3, &env,
                                      "production", &name);
    if (rc != REGCLI_RUN)
        return rc;
    int64_t to = 0;
    if (to_s && (rc = regcli_parse_version(&c, "--to", to_s, &to)) != 0)
        return rc;
    char err[REGCLI_ERR_MAX];
    json_t *doc = NULL;
    rc = regcli_open(&c);
    if (rc)
        goto out;
    if (c.reg) {
        struct reg_deployment d = {0};
        mmsp_err e = registry_rollback(c.reg, name, env, to, c.user, reason, &d, err, sizeof err);
        rc = local_deployment(&c, e, err, &d, &doc);
    } else {
        json_t *body = env_body(env, reason);
        if (body && to)
            json_object_set_new(body, "to", json_integer((json_int_t)to));
        rc = remote_deployment(&c, name, "rollback", body, &doc);
    }
    if (!rc)
        rc = regcli_print_result(&c, doc, print_deployment, "rolled back");
out:
    json_decref(doc);
    regcli_close(&c);
    return rc;
}

/* --- history ------------------------------------------------------------------------------- */

/*
 * Local history of NAME: the events of deployment NAME (in `env`, or all environments) and,
 * without --env, the model-level events of the model called NAME (registered with --force,
 * stage changes), merged oldest first. None at all is "not known", as the server answers.
 */
static int local_history(struct regcli *c, const char *name, const char *env, json_t **out)
{
    char err[REGCLI_ERR_MAX];
    struct reg_event *dep = NULL;
    size_t n_dep = 0;
    json_t *events = NULL;
    int rc = 0;
    *out = NULL;
    mmsp_err e = registry_history_named(c->reg, name, env, &dep, &n_dep, err, sizeof err);
    if (e) {
        rc = regcli_fail(c, e, err);
        goto out;
    }
    events = json_array();
    for (size_t i = 0; events && i < n_dep; i++) {
        if (json_array_append_new(events, reg_event_json(&dep[i]))) {
            json_decref(events);
            events = NULL;
        }
    }
    if (events && json_array_size(events) == 0) {
        /* every deployment has its first deploy event: none means no such deployment (with
         * --env: unless it exists there) */
        struct reg_deployment d = {0};
        if (env) {
            e = registry_deployment_get(c->reg, name, env, &d, err, sizeof err);
        } else {
            e = MMSP_E_NOT_FOUND;
            snprintf(err, sizeof err, "deployment '%s' is not known", name);
        }
        reg_deployment_free(&d);
        if (e) {
            rc = regcli_fail(c, e, err);
            goto out;
        }
    }
    *out = events ? json_pack("{s:O}", "events", events) : NULL;
out:
    json_decref(events);
    reg_event_list_free(dep, n_dep);
    return rc;
}

int cmd_history(int argc, char **argv)
{
    struct regcli c;
    const char *name = NULL, *env = NULL;
    const struct regcli_opt opts[] = {{"--env", REGCLI_STRING, &env}};
    int rc = parse_deployment_command(&c, "history", usage_history, argc, argv, opts, 1, &env, NULL,
                                      &name);
    if (rc != REGCLI_RUN)
        return rc;
    json_t *doc = NULL;
    struct buf p;
    buf_init(&p, 64 * 1024);
    rc = regcli_open(&c);
    if (rc)
        goto out;
    if (c.reg) {
        rc = local_history(&c, name, env, &doc);
    } else if (regcli_path(&p, "deployments", name, "history", NULL) ||
               regcli_query(&p, "environment", env)) {
        rc = regcli_usage_error(&c, "the name is too long");
    } else {
        rc = remote_list(&c, p.data, "events", &doc);
    }
    if (!rc)
        rc = regcli_print_result(&c, doc, print_history_table, NULL);
out:
    json_decref(doc);
    buf_release(&p);
    regcli_close(&c);
    return rc;
}

/* --- deployments --------------------------------------------------------------------------- */

int cmd_deployments(int argc, char **argv)
{
    struct regcli c;
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc =
        regcli_parse(&c, "deployments", usage_deployments, argc, argv, NULL, 0, pos, 0, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    char err[REGCLI_ERR_MAX];
    json_t *doc = NULL;
    rc = regcli_open(&c);
    if (rc)
        goto out;
    if (c.reg) {
        struct reg_deployment *d = NULL;
        size_t n = 0;
        mmsp_err e = registry_deployment_list(c.reg, &d, &n, err, sizeof err);
        if (e) {
            rc = regcli_fail(&c, e, err);
            goto out;
        }
        json_t *list = json_array();
        doc = json_object();
        for (size_t i = 0; list && i < n; i++)
            json_array_append_new(list, reg_deployment_json(&d[i]));
        reg_deployment_list_free(d, n);
        if (!list || !doc || json_object_set_new(doc, "deployments", list)) {
            json_decref(doc);
            doc = NULL;
        }
    } else {
        rc = remote_list(&c, "/api/v1/deployments", "deployments", &doc);
    }
    if (!rc)
        rc = regcli_print_result(&c, doc, print_deployments_table, NULL);
out:
    json_decref(doc);
    regcli_close(&c);
    return rc;
}
