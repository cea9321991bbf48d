/*
 * The subcommands of the mmsp binary. Each lives in its own cmd_<name>.c, parses its own
 * options, calls library code and returns the process exit code. main.c dispatches through
 * the table in main.c; adding a command is one file plus one line there.
 *
 * Exit codes shared by all commands:
 *   0 success, 1 the operation failed, 2 usage error (bad flag or argument).
 */
#ifndef MMSP_CLI_COMMANDS_H
#define MMSP_CLI_COMMANDS_H

#define EXIT_USAGE 2

int cmd_serve(int argc, char **argv);
int cmd_gate(int argc, char **argv);
/* Registry commands (cmd_model.c, cmd_deploy.c, cmd_registry.c over cli/regcli.h); they
 * add exit codes 3 not found, 4 refused (gate, conflict), 5 authentication. */
int cmd_model(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_promote(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_deployments(int argc, char **argv);
int cmd_registry(int argc, char **argv);
/* `mmsp canary watch` (cmd_canary.c): 0 promoted, 1 rolled back or failed, 2 usage. */
int cmd_canary(int argc, char **argv);
/* `mmsp drift baseline|report` (cmd_drift.c): 0 ok (report: also with drift), 1 failure. */
int cmd_drift(int argc, char **argv);
/* `mmsp features apply|list|historical|materialize|get|bind` (cmd_features.c): adds exit
 * code 3 not found (view, deployment binding). */
int cmd_features(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* Prints "mmsp: <subject>: <message>" on stderr. */
void cli_error(const char *subject, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
