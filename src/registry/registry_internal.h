/*
 * Internals shared by the registry's source files (registry.c, registry_model.c,
 * registry_version.c, registry_deploy.c, registry_json.c, registry_schema.c): the handle, the
 * lock-and-transaction discipline, small string and time helpers, and the row loaders.
 * Not installed, not used outside src/registry.
 */
#ifndef MMSP_REGISTRY_INTERNAL_H
#define MMSP_REGISTRY_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "registry/db.h"
#include "registry/registry.h"

#define REG_TAG_KEY_MAX      250         /* bytes in a tag key (MLflow's guarantee) */
#define REG_TAG_VALUE_MAX    8000        /* bytes in a tag value */
#define REG_TEXT_MAX         (64 << 10)  /* description, source, run link */
#define REG_ARTIFACT_MAX     (256 << 20) /* the runtime's own file limit: larger is unservable */
#define REG_MAX_RESULTS      1000        /* page size ceiling of the search calls */
#define REG_EVENT_DETAIL_MAX (1 << 20)   /* bytes of an event's detail JSON */

struct registry {
    struct db *db; /* owned; used only with mu held */
    pthread_mutex_t mu;
    char *data_dir; /* owned */
    char *user;     /* owned; the default "who" */
};

/* The migrations of registry_schema.c. */
extern const struct db_migration registry_migrations[];
extern const size_t registry_n_migrations;

/* ---- helpers (registry.c) ---- */

void reg_lock(struct registry *r);
void reg_unlock(struct registry *r);

/* printf into err (when err and errlen); returns rc so callers can `return reg_fail(...)`. */
mmsp_err reg_fail(char *err, size_t errlen, mmsp_err rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int64_t reg_now_ms(void);
char *reg_strdup(const char *s); /* NULL for NULL; NULL also when out of memory */
const char *reg_who(struct registry *r, const char *who);

/* 1 when s is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF):
 * PostgreSQL refuses anything else in TEXT, SQLite would store it; refusing it up front
 * keeps both engines (and the JSON output) the same. */
int reg_utf8_valid(const char *s);
/* Names of models, deployments, aliases: 1..255 bytes, no control bytes, no '/' or '\\',
 * not "." or "..". `what` names the thing in the message ("model name"). */
mmsp_err reg_check_name(const char *s, const char *what, char *err, size_t errlen);
/* Optional text: NULL is fine; otherwise at most max bytes of valid UTF-8. */
mmsp_err reg_check_text(const char *s, size_t max, const char *what, char *err, size_t errlen);
mmsp_err reg_check_tag(const char *key, const char *value, char *err, size_t errlen);

/* Decimal text of v into buf (at least 24 bytes); returns buf. */
char *reg_i64(char buf[24], int64_t v);
/* Exact decimal text of a finite double (round-trips); returns buf. */
char *reg_f64(char buf[32], double v);
/* Strict parse of a decimal int64 cell; 0 on NULL or garbage. */
int64_t reg_cell_i64(const char *s);
double reg_cell_f64(const char *s);

/* Page tokens: opaque base64 of {"offset": N}. */
char *reg_page_token_encode(size_t offset); /* malloc'd; NULL when out of memory */
mmsp_err reg_page_token_decode(const char *token, size_t *offset, char *err, size_t errlen);

/* Within a write transaction: appends an event (id = MAX+1). detail must be a JSON object text
 * (NULL = "{}"). */
mmsp_err reg_event_insert(struct registry *r, const char *deployment, const char *environment,
                          const char *who, const char *action, const char *detail, char *err,
                          size_t errlen);

/* ---- loaders (lock held; no transaction needed) ---- */

mmsp_err reg_model_load(struct registry *r, const char *name, struct reg_model *out, char *err,
                        size_t errlen);
mmsp_err reg_version_load(struct registry *r, const char *name, int64_t version,
                          struct reg_version *out, char *err, size_t errlen);
/* Versions matching `where` (SQL after WHERE with '?' params; NULL = all), in (name, version)
 * order, with LIMIT/OFFSET. */
mmsp_err reg_version_load_where(struct registry *r, const char *where, const char *const *params,
                                size_t n_params, size_t limit, size_t offset,
                                struct reg_version **out, size_t *n, char *err, size_t errlen);
mmsp_err reg_latest_versions_locked(struct registry *r, const char *name, const char *const *stages,
                                    size_t n_stages, struct reg_version **out, size_t *n, char *err,
                                    size_t errlen);

#endif
