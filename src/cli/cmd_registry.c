/*
 * `mmsp registry check`: opens the store (running its migrations), runs the engine's integrity
 * check and verifies that every version's artifact exists with its recorded size and SHA-256
 * (registry_check), and reads back every version. Exit 0 when healthy, 1 with the problems
 * listed. It works on the store itself (--data, --registry), never through --server: the
 * point is to look at the files. Calls: cli/regcli, registry, jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/commands.h"
#include "cli/regcli.h"
#include "registry/registry.h"

#define CHECK_ERR_MAX (256 * 1024)

static void usage_registry(FILE *out)
{
    fprintf(out, "usage: mmsp registry check [options]\n"
                 "\n"
                 "Checks the store: it opens (schema migrations run), the engine's integrity\n"
                 "check passes (SQLite integrity_check and foreign_key_check; PostgreSQL\n"
                 "foreign keys), and every version's artifact under DATA/artifacts exists with\n"
                 "its recorded size and SHA-256. Prints \"ok\" and the number of versions, or\n"
                 "each problem (e.g. \"fraud v3: artifact missing\") and exits 1. --json prints\n"
                 "{\"ok\": bool, \"versions\": N, \"problems\": [...]}. Works on --data /\n"
                 "--registry only (not --server).\n"
                 "\n");
    fputs(regcli_common_help, out);
    fputs("\n", out);
    fputs(regcli_exit_help, out);
}

/* Appends the problems of registry_check's message (one per line or "; "-joined). */
static void split_problems(const char *msg, json_t *out)
{
    const char *p = msg;
    while (*p) {
        size_t n = strcspn(p, "\n;");
        size_t skip = n;
        while (p[skip] == '\n' || p[skip] == ';' || p[skip] == ' ')
            skip++;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r'))
            n--;
        if (n)
            json_array_append_new(out, json_stringn(p, n));
        if (skip == 0)
            break;
        p += skip;
    }
}

static int registry_check_cmd(int argc, char **argv)
{
    struct regcli c;
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc =
        regcli_parse(&c, "registry check", usage_registry, argc, argv, NULL, 0, pos, 0, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if (c.server_url)
        return regcli_usage_error(&c, "checks the store itself: use --data/--registry, not "
                                      "--server");
    char *err = calloc(1, CHECK_ERR_MAX);
    json_t *problems = json_array();
    char *token = NULL;
    long long versions = 0;
    if (!err || !problems) {
        cli_error(c.subject, "out of memory");
        rc = REGCLI_EXIT_FAILED;
        goto out;
    }
    rc = regcli_open(&c);
    if (rc)
        goto out;
    mmsp_err e = registry_check(c.reg, err, CHECK_ERR_MAX);
    if (e) {
        if (*err)
            split_problems(err, problems);
        else
            json_array_append_new(problems, json_string(mmsp_strerror(e)));
    }
    /* Every version reads back (the listing a server and the CLI use). */
    do {
        struct reg_version *vs = NULL;
        size_t n = 0;
        char *next = NULL;
        e = registry_version_search(c.reg, NULL, 1000, token, &vs, &n, &next, err, CHECK_ERR_MAX);
        if (e) {
            json_array_append_new(problems, json_sprintf("listing versions: %s", err));
            break;
        }
        versions += (long long)n;
        reg_version_list_free(vs, n);
        free(token);
        token = next;
    } while (token);

    size_t n_problems = json_array_size(problems);
    if (c.json) {
        json_t *doc = json_pack("{s:b, s:I, s:O}", "ok", n_problems == 0, "versions",
                                (json_int_t)versions, "problems", problems);
        rc = doc ? regcli_print_json(doc) : REGCLI_EXIT_FAILED;
        json_decref(doc);
    } else if (n_problems == 0) {
        printf("ok: %lld versions, every artifact present and intact\n", versions);
    }
    if (n_problems) {
        cli_error(c.subject, "%zu problem%s found", n_problems, n_problems == 1 ? "" : "s");
        size_t i;
        json_t *p;
        json_array_foreach(problems, i, p)
        {
            fprintf(stderr, "  - %s\n", json_string_value(p));
        }
        rc = REGCLI_EXIT_FAILED;
    }
out:
    free(token);
    free(err);
    json_decref(problems);
    regcli_close(&c);
    return rc;
}

int cmd_registry(int argc, char **argv)
{
    static const struct regcli_sub subs[] = {{"check", registry_check_cmd}};
    return regcli_dispatch("registry", usage_registry, subs, 1, argc, argv);
}
