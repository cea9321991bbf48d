/*
 * Shared plumbing of the registry commands (`mmsp model ...`, `deploy`, `promote`,
 * `rollback`, `history`, `deployments`, `registry check`; docs/cli.md):
 *  - option parsing: one table of command options plus the common flags (--data, --registry,
 *    --server, --token, --user, --json, --help), flags before or after positionals,
 *    "--flag value" or "--flag=value", "--" ends the options;
 *  - subcommands (`mmsp model --data D list`): one table, found and run by regcli_dispatch;
 *  - the backend: the store opened directly (registry.h) or a running `mmsp serve` reached
 *    over its /api/v1 (http/client.h). Both yield jansson documents (local: reg_*_json,
 *    remote: the response body), so one printer per command serves both;
 *  - exit codes from mmsp_err or HTTP statuses, error printing, aligned tables, JSON output,
 *    and the one ending of every command (regcli_print_result: --json or the human printer).
 * Calls: registry, http/client, jansson, cli/commands (cli_error).
 */
#ifndef MMSP_CLI_REGCLI_H
#define MMSP_CLI_REGCLI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/buf.h"
#include "mmsp/error.h"

/* Exit codes of the registry commands (every --help and docs/cli.md list them). */
enum {
    REGCLI_EXIT_OK = 0,
    REGCLI_EXIT_FAILED = 1,    /* store, server or transport error; a refused artifact */
    REGCLI_EXIT_USAGE = 2,     /* bad flag or argument */
    REGCLI_EXIT_NOT_FOUND = 3, /* unknown model, version, alias or deployment */
    REGCLI_EXIT_REFUSED = 4,   /* policy gate failed; conflict with the current state */
    REGCLI_EXIT_AUTH = 5       /* the server answered 401 or 403 */
};

/* regcli_parse: the command should run (any other value is the exit code to return). */
#define REGCLI_RUN (-1)

#define REGCLI_MAX_LIST 256 /* repeated options (--metric, --tag) */
#define REGCLI_MAX_POS  8   /* positionals */
#define REGCLI_ERR_MAX  8192

/* The common flags as --help lines (each command's usage prints it). */
extern const char regcli_common_help[];
/* The exit-code paragraph of every --help. */
extern const char regcli_exit_help[];

enum regcli_opt_kind {
    REGCLI_FLAG,   /* dst: int *, set to 1 */
    REGCLI_STRING, /* dst: const char **, the last value wins */
    REGCLI_LIST    /* dst: struct regcli_list *, every value in order */
};

struct regcli_list {
    const char *items[REGCLI_MAX_LIST]; /* borrowed from argv */
    size_t n;
};

struct regcli_opt {
    const char *name; /* "--manifest" */
    enum regcli_opt_kind kind;
    void *dst;
};

struct registry;
struct http_client;

struct regcli {
    const char *subject; /* "model register": errors read "mmsp: model register: ..." */
    /* common flags (borrowed from argv or the environment) */
    const char *data_dir;     /* --data, default "mmsp-data" */
    const char *registry_url; /* --registry, NULL = SQLite under data_dir */
    const char *server_url;   /* --server, NULL = open the store */
    const char *token;        /* --token, default $MMSP_ADMIN_TOKEN */
    const char *user;         /* --user, default $MMSP_USER, then $USER */
    int json;                 /* --json */
    int data_given;           /* --data or --registry was on the command line */
    void (*usage)(FILE *out);
    /* backend, after regcli_open (exactly one is set) */
    struct registry *reg;     /* owned */
    struct http_client *http; /* owned */
    char base_url[1024];      /* server URL without a trailing '/' */
};

/*
 * Parses argv[1..argc) (argv[0] is the command's own name) into the common flags, `opts` and
 * the positionals (at most max_pos, borrowed from argv). --help prints usage on stdout and
 * returns 0; a bad flag prints an error and returns REGCLI_EXIT_USAGE; otherwise REGCLI_RUN.
 */
int regcli_parse(struct regcli *c, const char *subject, void (*usage)(FILE *out), int argc,
                 char **argv, const struct regcli_opt *opts, size_t n_opts, const char **pos,
                 size_t max_pos, size_t *n_pos);

/*
 * For commands with subcommands (`mmsp model --data D list`): finds the subcommand after any
 * leading common flags and returns its index in argv (0 when there is none), so the caller
 * can run it with the flags moved after it (regcli_hoist).
 */
int regcli_find_sub(int argc, char **argv);
/* Rewrites argv in place to [argv[sub], argv[1..sub), argv(sub..argc)]: the subcommand
 * first, then every other argument in order. */
void regcli_hoist(char **argv, int sub);

/* One subcommand of a command with subcommands: run gets argv from the subcommand's name on,
 * with the common flags that came before it moved after it. */
struct regcli_sub {
    const char *name;
    int (*run)(int argc, char **argv);
};

/*
 * Runs `mmsp <command> [common flags] SUB ...`: no argument prints usage on stderr (exit 2);
 * --help, -h or help prints it on stdout (exit 0); otherwise the subcommand named in subs is
 * found (regcli_find_sub, regcli_hoist) and run, or an error printed (exit 2).
 */
int regcli_dispatch(const char *command, void (*usage)(FILE *out), const struct regcli_sub *subs,
                    size_t n_subs, int argc, char **argv);

/* Prints "mmsp: <subject>: <message>" and the --help hint; returns REGCLI_EXIT_USAGE. */
int regcli_usage_error(const struct regcli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Opens the store, or the HTTP client for --server. Returns 0 or an exit code (printed). */
int regcli_open(struct regcli *c);
void regcli_close(struct regcli *c);

/* Exit code for a store error; for an HTTP status (2xx = 0). */
int regcli_exit_code(mmsp_err e);
int regcli_exit_from_status(long status);

/*
 * Prints a store error ("mmsp: <subject>: <msg>"; for MMSP_E_POLICY each failed rule on its
 * own line) and returns its exit code.
 */
int regcli_fail(const struct regcli *c, mmsp_err e, const char *msg);

/*
 * Remote call: METHOD base_url + path (path starts with "/api/v1/", already escaped), with
 * `body` (borrowed, may be NULL) as JSON. On a 2xx answer *out is the parsed body (a new
 * reference; an empty body reads as {}) and 0 is returned; otherwise the server's error is
 * printed and the exit code returned (*out NULL).
 */
int regcli_request(struct regcli *c, const char *method, const char *path, json_t *body,
                   json_t **out);

/* Path builders: regcli_path(&b, "models", name, "versions", NULL) appends
 * "/api/v1/models/<escaped name>/versions"; regcli_query adds "?k=v" or "&k=v" (escaped)
 * when v is not NULL. Return MMSP_OK or MMSP_E_TOO_LARGE / MMSP_E_NOMEM. */
mmsp_err regcli_path(struct buf *b, ...) __attribute__((sentinel));
mmsp_err regcli_query(struct buf *b, const char *key, const char *value);

/* Reads a whole file (at most max bytes) into a malloc'd, NUL-terminated buffer the caller
 * frees. Returns 0 or an exit code (printed: "mmsp: <path>: ..."). */
int regcli_read_file(const char *path, size_t max, char **data, size_t *len);

/* Parses a version number (1..2^53) or prints a usage error (returns REGCLI_EXIT_USAGE). */
int regcli_parse_version(const struct regcli *c, const char *what, const char *s, int64_t *out);
/* "staging" or "production", else a usage error. */
int regcli_check_env(const struct regcli *c, const char *env);

/* Prints doc as indented JSON on stdout, one document per command. Returns 0 or 1. */
int regcli_print_json(json_t *doc);

/* Formats a command's result for people; arg is the printer's own (a verb, the positionals). */
typedef void regcli_printer(json_t *doc, const void *arg);

/*
 * The end of a registry command: a NULL doc is "out of memory" (printed, exit 1); with --json
 * doc is printed as JSON; otherwise print(doc, arg) formats it. Returns the exit code; doc
 * stays the caller's.
 */
int regcli_print_result(const struct regcli *c, json_t *doc, regcli_printer *print,
                        const void *arg);

/* --- helpers for the human printers ----------------------------------------------------- */

/* String member or "" (numbers as text, null/absent as ""). Borrowed or from `tmp`. */
const char *regcli_str(json_t *o, const char *key, char *tmp, size_t tmplen);
/* Integer member, or 0 when absent or null. */
int64_t regcli_int(json_t *o, const char *key);
/* Version member as text, "-" when null, absent or 0. */
const char *regcli_ver(json_t *o, const char *key, char *tmp, size_t tmplen);
/* Unix ms member as "2024-05-01T12:00:00Z" (UTC), "-" when absent. */
const char *regcli_time(json_t *o, const char *key, char *tmp, size_t tmplen);
/* A number as short text ("0.94", "1e-05"). */
void regcli_num(double v, char *tmp, size_t tmplen);

/* A table with aligned columns: headers first, then rows; cells are copied. */
#define REGCLI_TABLE_MAX_COLS 16
struct regcli_table {
    size_t n_cols;
    const char *headers[REGCLI_TABLE_MAX_COLS];
    char **cells; /* n_rows * n_cols, owned */
    size_t n_rows, cap_rows;
};

void regcli_table_init(struct regcli_table *t, size_t n_cols, const char *const *headers);
/* Adds one row of t->n_cols cells (NULL = ""). MMSP_E_NOMEM on failure. */
mmsp_err regcli_table_row(struct regcli_table *t, const char *const *cells);
/* Prints headers and rows, columns separated by two spaces, the last one unpadded. */
void regcli_table_print(const struct regcli_table *t, FILE *out);
void regcli_table_free(struct regcli_table *t);

#endif
