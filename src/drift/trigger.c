/*
 * The retraining trigger: runs the configured command with the report's path as its last
 * argument (posix_spawnp, no shell, waited for), and the episode bookkeeping that makes the
 * trigger fire once per critical-drift episode (a state file holding "critical" while an
 * episode is open; it closes when the status falls below warning). Calls: libc only.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "drift/drift.h"

extern char **environ;

#define MAX_ARGS 64

mmsp_err drift_trigger_command(const char *command, const char *report_path, char *err,
                               size_t errlen)
{
    char *copy = strdup(command ? command : "");
    char *argv[MAX_ARGS + 2];
    size_t argc = 0;
    mmsp_err rc = MMSP_E_INVALID;
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return MMSP_E_NOMEM;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (argc >= MAX_ARGS) {
            snprintf(err, errlen, "retrain command: more than %d arguments", MAX_ARGS);
            goto out;
        }
        argv[argc++] = tok;
    }
    if (argc == 0) {
        snprintf(err, errlen, "retrain command is empty");
        goto out;
    }
    argv[argc++] = (char *)report_path;
    argv[argc] = NULL;
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (e) {
        snprintf(err, errlen, "retrain command %s: %s", argv[0], strerror(e));
        rc = MMSP_E_IO;
        goto out;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "retrain command %s: waitpid: %s", argv[0], strerror(errno));
            rc = MMSP_E_IO;
            goto out;
        }
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(err, errlen, "retrain command %s exited with status %d", argv[0],
                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        rc = MMSP_E_IO;
        goto out;
    }
    rc = MMSP_OK;
out:
    free(copy);
    return rc;
}

int drift_episode_step(const char *state_path, enum drift_status status)
{
    char buf[32] = "";
    FILE *f = fopen(state_path, "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    int open_episode = strncmp(buf, "critical", 8) == 0;
    int fire = 0;
    if (status == DRIFT_CRITICAL && !open_episode)
        fire = 1;
    const char *next = NULL;
    if (status == DRIFT_CRITICAL)
        next = "critical";
    else if (status == DRIFT_HEALTHY)
        next = "healthy";
    else
        next = open_episode ? "critical" : "warning"; /* a warning keeps an episode open */
    f = fopen(state_path, "w");
    if (f) {
        fprintf(f, "%s\n", next);
        fclose(f);
    }
    return fire;
}
