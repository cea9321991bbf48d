/*
 * mmsp entry point: finds the subcommand in the command table and runs it. Global flags
 * (--log-level) are taken here, before the subcommand. Calls the cmd_* functions only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/log.h"
#include "mmsp/mmsp.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"serve", cmd_serve, "run the inference server over a model repository"},
    {"gate", cmd_gate, "check a model manifest against the policy gate"},
    {"model", cmd_model, "register, list, show, stage and alias model versions"},
    {"deploy", cmd_deploy, "deploy a model version (all at once, canary or shadow)"},
    {"promote", cmd_promote, "make a deployment's canary its stable version"},
    {"rollback", cmd_rollback, "remove a canary or go back to an earlier stable version"},
    {"history", cmd_history, "the change history of a deployment"},
    {"deployments", cmd_deployments, "list the deployments"},
    {"canary", cmd_canary, "step a canary by its metrics, then promote or roll back"},
    {"registry", cmd_registry, "check the store's integrity (registry check)"},
    {"features", cmd_features, "feature views, historical joins, materialize, online lookups"},
    {"drift", cmd_drift, "build a drift baseline, report drift of prediction logs"},
    {"version", cmd_version, "print the version"},
};

void cli_error(const char *subject, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mmsp: %s: ", subject);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("mmsp %s\n", MMSP_VERSION);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: mmsp [--log-level debug|info|warn|error|off] <command> [options]\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'mmsp <command> --help' describes a command.\n"
                 "Logs are JSON lines on stderr. Exit codes: 0 ok, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0)
            return cmd_version(0, NULL);
        if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            int lvl = log_level_parse(argv[i + 1]);
            if (lvl < 0) {
                cli_error("--log-level", "unknown level '%s'", argv[i + 1]);
                return EXIT_USAGE;
            }
            log_set_level((enum log_level)lvl);
            i += 2;
            continue;
        }
        cli_error(argv[i], "unknown option");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(argv[i], commands[c].name) == 0)
            return commands[c].run(argc - i, argv + i);
    cli_error(argv[i], "unknown command (see 'mmsp --help')");
    return EXIT_USAGE;
}
