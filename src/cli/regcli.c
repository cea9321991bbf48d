/*
 * Shared plumbing of the registry commands (regcli.h): option parsing with the common flags,
 * opening the store (registry.h) or an HTTP client for --server (http/client.h), remote calls
 * to /api/v1 that return the parsed JSON body, the one mapping from store errors and HTTP
 * statuses to exit codes, error printing (failed gate rules one per line), JSON output and
 * aligned tables for the human printers.
 * Calls: registry, http/client, common/buf, jansson, cli/commands (cli_error).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/regcli.h"
#include "http/client.h"
#include "registry/registry.h"

const char regcli_common_help[] =
    "common options (before or after the arguments):\n"
    "  --data DIR        the store's directory: registry.db (SQLite) and artifacts/\n"
    "                    (default ./mmsp-data)\n"
    "  --registry URL    keep the registry in PostgreSQL (postgres://user@host:port/db);\n"
    "                    artifacts stay under --data\n"
    "  --server URL      talk to a running `mmsp serve` over its /api/v1 instead of\n"
    "                    opening the store (e.g. http://127.0.0.1:8080)\n"
    "  --token TOKEN     admin token sent as \"Authorization: Bearer\" to --server\n"
    "                    (default $MMSP_ADMIN_TOKEN)\n"
    "  --user NAME       who made the change, recorded in the history\n"
    "                    (default $MMSP_USER, then $USER)\n"
    "  --json            print the result as one JSON document (for scripts)\n"
    "  --help            this text\n";

const char regcli_exit_help[] =
    "exit codes: 0 ok, 1 failed (store, server or transport error; an artifact the runtime\n"
    "cannot load), 2 usage error, 3 not found (model, version, alias, deployment),\n"
    "4 refused (the policy gate failed, or a conflict with the current state such as a\n"
    "promote without a canary), 5 authentication (the server answered 401 or 403).\n";

int regcli_usage_error(const struct regcli *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_error(c->subject, "%s", msg);
    fprintf(stderr, "see 'mmsp %s --help'\n", c->subject);
    return REGCLI_EXIT_USAGE;
}

int regcli_find_sub(int argc, char **argv)
{
    static const char *const valued[] = {"--data", "--registry", "--server", "--token", "--user"};
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        int skip = 1;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            if (strcmp(argv[i], valued[k]) == 0)
                skip = 2;
        i += skip;
    }
    return i < argc ? i : 0;
}

void regcli_hoist(char **argv, int sub)
{
    char *s = argv[sub];
    for (int i = sub; i > 0; i--)
        argv[i] = argv[i - 1];
    argv[0] = s;
}

int regcli_dispatch(const char *command, void (*usage)(FILE *out), const struct regcli_sub *subs,
                    size_t n_subs, int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return REGCLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    /* common flags may come before the subcommand: `mmsp model --data D list` */
    int sub = regcli_find_sub(argc, argv);
    if (sub == 0) {
        cli_error(command, "no subcommand (see 'mmsp %s --help')", command);
        return REGCLI_EXIT_USAGE;
    }
    regcli_hoist(argv + 1, sub - 1);
    for (size_t i = 0; i < n_subs; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    cli_error(command, "unknown subcommand '%s' (see 'mmsp %s --help')", argv[1], command);
    return REGCLI_EXIT_USAGE;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Stores `val` for option o; returns 0 or a usage exit code. */
static int set_opt(struct regcli *c, const struct regcli_opt *o, const char *val)
{
    switch (o->kind) {
    case REGCLI_FLAG:
        *(int *)o->dst = 1;
        return 0;
    case REGCLI_STRING:
        *(const char **)o->dst = val;
        return 0;
    case REGCLI_LIST: {
        struct regcli_list *l = o->dst;
        if (l->n >= REGCLI_MAX_LIST)
            return regcli_usage_error(c, "%s: at most %d values", o->name, REGCLI_MAX_LIST);
        l->items[l->n++] = val;
        return 0;
    }
    }
    return REGCLI_EXIT_USAGE;
}

int regcli_parse(struct regcli *c, const char *subject, void (*usage)(FILE *out), int argc,
                 char **argv, const struct regcli_opt *opts, size_t n_opts, const char **pos,
                 size_t max_pos, size_t *n_pos)
{
    memset(c, 0, sizeof *c);
    c->subject = subject;
    c->usage = usage;
    c->data_dir = "mmsp-data";
    c->token = env_or("MMSP_ADMIN_TOKEN", NULL);
    c->user = env_or("MMSP_USER", env_or("USER", NULL));
    *n_pos = 0;

    const struct regcli_opt common[] = {
        {"--data", REGCLI_STRING, &c->data_dir},
        {"--registry", REGCLI_STRING, &c->registry_url},
        {"--server", REGCLI_STRING, &c->server_url},
        {"--token", REGCLI_STRING, &c->token},
        {"--user", REGCLI_STRING, &c->user},
        {"--json", REGCLI_FLAG, &c->json},
    };
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*n_pos >= max_pos)
                return regcli_usage_error(c, "unexpected argument '%s'", a);
            pos[(*n_pos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        /* "--name=value" or "--name value" */
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        const struct regcli_opt *o = NULL;
        for (size_t k = 0; k < n_opts + sizeof common / sizeof common[0] && !o; k++) {
            const struct regcli_opt *cand = k < n_opts ? &opts[k] : &common[k - n_opts];
            if (strlen(cand->name) == name_len && strncmp(cand->name, a, name_len) == 0)
                o = cand;
        }
        if (!o)
            return regcli_usage_error(c, "unknown option '%.*s'", (int)name_len, a);
        const char *val = NULL;
        if (o->kind == REGCLI_FLAG) {
            if (eq)
                return regcli_usage_error(c, "%s takes no value", o->name);
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return regcli_usage_error(c, "%s needs a value", o->name);
        }
        int rc = set_opt(c, o, val);
        if (rc)
            return rc;
        if (o->dst == &c->data_dir || o->dst == &c->registry_url)
            c->data_given = 1;
    }
    if (c->server_url) {
        if (c->data_given)
            return regcli_usage_error(c, "--server talks to a running server: drop --data and "
                                         "--registry");
        if (strncmp(c->server_url, "http://", 7) != 0 && strncmp(c->server_url, "https://", 8) != 0)
            return regcli_usage_error(c, "--server: '%s' is not an http:// or https:// URL",
                                      c->server_url);
        size_t n = strlen(c->server_url);
        while (n > 0 && c->server_url[n - 1] == '/')
            n--;
        if (n >= sizeof c->base_url)
            return regcli_usage_error(c, "--server: the URL is too long");
        memcpy(c->base_url, c->server_url, n);
        c->base_url[n] = '\0';
    }
    if (!*c->data_dir)
        return regcli_usage_error(c, "--data: empty directory name");
    return REGCLI_RUN;
}

int regcli_open(struct regcli *c)
{
    char err[REGCLI_ERR_MAX];
    mmsp_err rc;
    if (c->server_url) {
        struct http_client_options ho = {.timeout_ms = 300000};
        rc = http_client_new(&ho, &c->http, err, sizeof err);
    } else {
        struct registry_options ro = {
            .data_dir = c->data_dir, .url = c->registry_url, .user = c->user};
        rc = registry_open(&ro, &c->reg, err, sizeof err);
    }
    if (rc) {
        cli_error(c->subject, "%s", err);
        return regcli_exit_code(rc) ? regcli_exit_code(rc) : REGCLI_EXIT_FAILED;
    }
    return 0;
}

void regcli_close(struct regcli *c)
{
    registry_close(c->reg);
    c->reg = NULL;
    http_client_free(c->http);
    c->http = NULL;
}

int regcli_exit_code(mmsp_err e)
{
    switch (e) {
    case MMSP_OK:
        return REGCLI_EXIT_OK;
    case MMSP_E_NOT_FOUND:
        return REGCLI_EXIT_NOT_FOUND;
    case MMSP_E_POLICY:
    case MMSP_E_CONFLICT:
    case MMSP_E_EXISTS:
        return REGCLI_EXIT_REFUSED;
    case MMSP_E_UNAUTHORIZED:
    case MMSP_E_FORBIDDEN:
        return REGCLI_EXIT_AUTH;
    default:
        return REGCLI_EXIT_FAILED;
    }
}

int regcli_exit_from_status(long status)
{
    if (status >= 200 && status < 300)
        return REGCLI_EXIT_OK;
    switch (status) {
    case 401:
    case 403:
        return REGCLI_EXIT_AUTH;
    case 404:
        return REGCLI_EXIT_NOT_FOUND;
    case 409:
    case 422:
        return REGCLI_EXIT_REFUSED;
    default:
        return REGCLI_EXIT_FAILED;
    }
}

/* Prints the failed rules of a gate refusal, one per line, from the "; "-joined summary. */
static void print_rules_from_text(const char *msg)
{
    const char *p = msg;
    /* the store's message reads "gate refused NAME: rule: why; rule: why" */
    if (strncmp(p, "gate refused ", 13) == 0 && strstr(p, ": "))
        p = strstr(p, ": ") + 2;
    while (*p) {
        const char *sep = strstr(p, "; ");
        size_t n = sep ? (size_t)(sep - p) : strlen(p);
        if (n)
            fprintf(stderr, "  - %.*s\n", (int)n, p);
        if (!sep)
            break;
        p = sep + 2;
    }
}

int regcli_fail(const struct regcli *c, mmsp_err e, const char *msg)
{
    if (e == MMSP_E_POLICY) {
        cli_error(c->subject, "refused by the policy gate; failed rules:");
        print_rules_from_text(msg);
    } else {
        cli_error(c->subject, "%s", msg && *msg ? msg : mmsp_strerror(e));
    }
    return regcli_exit_code(e);
}

/* Prints the error of a non-2xx answer (native {"error"}, MLflow {"message"}, or raw). */
static void print_remote_error(const struct regcli *c, long status, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    const char *msg = NULL;
    if (json_is_object(doc)) {
        msg = json_string_value(json_object_get(doc, "error"));
        if (!msg)
            msg = json_string_value(json_object_get(doc, "message"));
    }
    if (status == 422) {
        json_t *rules = json_object_get(json_object_get(doc, "gate"), "rules");
        if (json_is_array(rules)) {
            cli_error(c->subject, "refused by the policy gate; failed rules:");
            size_t i;
            json_t *r;
            json_array_foreach(rules, i, r)
            {
                if (json_is_true(json_object_get(r, "passed")))
                    continue;
                const char *name = json_string_value(json_object_get(r, "name"));
                const char *m = json_string_value(json_object_get(r, "message"));
                fprintf(stderr, "  - %s: %s\n", name ? name : "?", m ? m : "failed");
            }
        } else if (msg) {
            cli_error(c->subject, "refused by the policy gate; failed rules:");
            print_rules_from_text(msg);
        } else {
            cli_error(c->subject, "refused (HTTP 422)");
        }
    } else if (msg) {
        cli_error(c->subject, "%s", msg);
    } else {
        cli_error(c->subject, "the server answered HTTP %ld: %.200s", status,
                  len ? body : "(empty body)");
    }
    if (status == 401 || status == 403)
        fprintf(stderr, "(HTTP %ld: pass the admin token with --token or $MMSP_ADMIN_TOKEN)\n",
                status);
    json_decref(doc);
}

int regcli_request(struct regcli *c, const char *method, const char *path, json_t *body,
                   json_t **out)
{
    int rc = 0;
    char err[REGCLI_ERR_MAX];
    char *text = NULL;
    struct buf url;
    struct http_client_response res = {0};
    int have_res = 0;

    *out = NULL;
    buf_init(&url, 64 * 1024);
    if (buf_append_str(&url, c->base_url) || buf_append_str(&url, path)) {
        cli_error(c->subject, "the URL is too long");
        rc = REGCLI_EXIT_USAGE;
        goto out;
    }
    if (body) {
        text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (!text) {
            cli_error(c->subject, "out of memory");
            rc = REGCLI_EXIT_FAILED;
            goto out;
        }
    }
    struct http_client_request rq = {.method = method,
                                     .url = url.data,
                                     .bearer_token = c->token,
                                     .body = text,
                                     .body_len = text ? strlen(text) : 0};
    mmsp_err e = http_client_do(c->http, &rq, &res, err, sizeof err);
    if (e) {
        cli_error(c->subject, "%s", err);
        rc = REGCLI_EXIT_FAILED;
        goto out;
    }
    have_res = 1;
    if (res.status < 200 || res.status >= 300) {
        print_remote_error(c, res.status, res.body.data, res.body.len);
        rc = regcli_exit_from_status(res.status);
        goto out;
    }
    if (res.body.len == 0) {
        *out = json_object();
    } else {
        json_error_t jerr;
        *out = json_loadb(res.body.data, res.body.len, 0, &jerr);
        if (!*out) {
            cli_error(c->subject, "%s answered HTTP %ld with a body that is not JSON: %s", url.data,
                      res.status, jerr.text);
            rc = REGCLI_EXIT_FAILED;
            goto out;
        }
    }
    if (!*out) {
        cli_error(c->subject, "out of memory");
        rc = REGCLI_EXIT_FAILED;
    }
out:
    if (have_res)
        http_client_response_release(&res);
    free(text);
    buf_release(&url);
    return rc;
}

mmsp_err regcli_path(struct buf *b, ...)
{
    mmsp_err rc = buf_append_str(b, "/api/v1");
    va_list ap;
    va_start(ap, b);
    const char *seg;
    while (!rc && (seg = va_arg(ap, const char *)) != NULL) {
        rc = buf_append_char(b, '/');
        if (!rc)
            rc = http_client_escape(b, seg);
    }
    va_end(ap);
    return rc;
}

mmsp_err regcli_query(struct buf *b, const char *key, const char *value)
{
    if (!value)
        return MMSP_OK;
    mmsp_err rc = buf_append_char(b, b->data && strchr(b->data, '?') ? '&' : '?');
    if (!rc)
        rc = http_client_escape(b, key);
    if (!rc)
        rc = buf_append_char(b, '=');
    if (!rc)
        rc = http_client_escape(b, value);
    return rc;
}

int regcli_read_file(const char *path, size_t max, char **data, size_t *len)
{
    int rc = 0;
    char *p = NULL;
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error(path, "%s", strerror(errno));
        return REGCLI_EXIT_FAILED;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        cli_error(path, "%s", strerror(errno));
        rc = REGCLI_EXIT_FAILED;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        cli_error(path, "not a regular file");
        rc = REGCLI_EXIT_FAILED;
        goto out;
    }
    if ((unsigned long long)st.st_size > max) {
        cli_error(path, "larger than %zu bytes", max);
        rc = REGCLI_EXIT_FAILED;
        goto out;
    }
    size_t size = (size_t)st.st_size, got = 0;
    p = malloc(size + 1);
    if (!p) {
        cli_error(path, "out of memory");
        rc = REGCLI_EXIT_FAILED;
        goto out;
    }
    while (got < size) {
        ssize_t n = read(fd, p + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cli_error(path, "%s", strerror(errno));
            rc = REGCLI_EXIT_FAILED;
            goto out;
        }
        if (n == 0)
            break; /* shrank while reading: take what is there */
        got += (size_t)n;
    }
    p[got] = '\0';
    *data = p;
    *len = got;
    p = NULL;
out:
    free(p);
    close(fd);
    return rc;
}

int regcli_parse_version(const struct regcli *c, const char *what, const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = (s && *s >= '0' && *s <= '9') ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *s < '0' || *s > '9' || errno || *end || v < 1 || v > (1LL << 53))
        return regcli_usage_error(c, "%s: '%s' is not a version number (1, 2, ...)", what,
                                  s ? s : "");
    *out = (int64_t)v;
    return 0;
}

int regcli_check_env(const struct regcli *c, const char *env)
{
    if (env && strcmp(env, "staging") != 0 && strcmp(env, "production") != 0)
        return regcli_usage_error(c, "--env: '%s' is not staging or production", env);
    return 0;
}

int regcli_print_json(json_t *doc)
{
    /* 15 significant digits, as the server writes them: "0.9", not "0.90000000000000002",
     * and the same text whichever backend produced the document. */
    if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0) {
        cli_error("json", "cannot write the output");
        return REGCLI_EXIT_FAILED;
    }
    fputc('\n', stdout);
    return 0;
}

int regcli_print_result(const struct regcli *c, json_t *doc, regcli_printer *print, const void *arg)
{
    if (!doc) {
        cli_error(c->subject, "out of memory");
        return REGCLI_EXIT_FAILED;
    }
    if (c->json)
        return regcli_print_json(doc);
    print(doc, arg);
    return 0;
}

void regcli_num(double v, char *tmp, size_t tmplen)
{
    snprintf(tmp, tmplen, "%.6g", v);
}

const char *regcli_str(json_t *o, const char *key, char *tmp, size_t tmplen)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(tmp, tmplen, "%lld", (long long)json_integer_value(v));
        return tmp;
    }
    if (json_is_real(v)) {
        regcli_num(json_real_value(v), tmp, tmplen);
        return tmp;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return "";
}

int64_t regcli_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    if (json_is_string(v))
        return (int64_t)strtoll(json_string_value(v), NULL, 10);
    return 0;
}

const char *regcli_ver(json_t *o, const char *key, char *tmp, size_t tmplen)
{
    int64_t v = regcli_int(o, key);
    if (v <= 0)
        return "-";
    snprintf(tmp, tmplen, "%lld", (long long)v);
    return tmp;
}

const char *regcli_time(json_t *o, const char *key, char *tmp, size_t tmplen)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return "-";
    int64_t ms = regcli_int(o, key);
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(tmp, tmplen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return "-";
    return tmp;
}

void regcli_table_init(struct regcli_table *t, size_t n_cols, const char *const *headers)
{
    memset(t, 0, sizeof *t);
    t->n_cols = n_cols > REGCLI_TABLE_MAX_COLS ? REGCLI_TABLE_MAX_COLS : n_cols;
    for (size_t i = 0; i < t->n_cols; i++)
        t->headers[i] = headers[i];
}

mmsp_err regcli_table_row(struct regcli_table *t, const char *const *cells)
{
    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
        char **p = realloc(t->cells, cap * t->n_cols * sizeof *p);
        if (!p)
            return MMSP_E_NOMEM;
        t->cells = p;
        t->cap_rows = cap;
    }
    char **row = t->cells + t->n_rows * t->n_cols;
    for (size_t i = 0; i < t->n_cols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            for (size_t k = 0; k < i; k++)
                free(row[k]);
            return MMSP_E_NOMEM;
        }
    }
    t->n_rows++;
    return MMSP_OK;
}

void regcli_table_print(const struct regcli_table *t, FILE *out)
{
    size_t width[REGCLI_TABLE_MAX_COLS];
    for (size_t i = 0; i < t->n_cols; i++) {
        width[i] = strlen(t->headers[i]);
        for (size_t r = 0; r < t->n_rows; r++) {
            size_t n = strlen(t->cells[r * t->n_cols + i]);
            if (n > width[i])
                width[i] = n;
        }
    }
    for (size_t r = 0; r <= t->n_rows; r++) {
        for (size_t i = 0; i < t->n_cols; i++) {
            const char *s = r == 0 ? t->headers[i] : t->cells[(r - 1) * t->n_cols + i];
            if (i + 1 == t->n_cols)
                fprintf(out, "%s\n", s);
            else
                fprintf(out, "%-*s  ", (int)width[i], s);
        }
    }
}

void regcli_table_free(struct regcli_table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}
