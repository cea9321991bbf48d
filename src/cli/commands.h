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
int cmd_version(int argc, char **argv);

/* Prints "mmsp: <subject>: <message>" on stderr. */
void cli_error(const char *subject, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
