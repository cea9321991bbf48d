/*
 * The registry's schema, as versioned migrations run by db_migrate at registry_open. SQL
 * that both engines accept (TEXT, BIGINT, DOUBLE PRECISION; ids computed as MAX+1 in a write
 * transaction); the one per-engine part is the append-only guard of `events` (a trigger that
 * raises: SQLite RAISE(ABORT), PostgreSQL a plpgsql function), which the db layer reports as
 * MMSP_E_CONFLICT. PostgreSQL text columns use COLLATE "C" so that sorting (and so paging) is
 * by bytes, as in SQLite, whatever the database's locale.
 *
 * Renaming a model updates models.name; ON UPDATE CASCADE carries it into versions and from
 * there into aliases, version tags and metrics, and into model_tags and deployments.model.
 * Deleting a model or version cascades to what hangs off it; deleting a model or version that
 * a deployment uses is refused in code before (registry_model.c, registry_version.c).
 * A new migration is a new entry at the end of the table, never an edit of a shipped one.
 * Calls: registry/db (types only).
 */
#include <stddef.h>

#include "registry/registry_internal.h"

#define SCHEMA_V1(TXT)                                                                             \
    "CREATE TABLE models ("                                                                        \
    " name " TXT " PRIMARY KEY,"                                                                   \
    " description " TXT " NOT NULL DEFAULT '',"                                                    \
    " user_id " TXT " NOT NULL DEFAULT '',"                                                        \
    " created_ms BIGINT NOT NULL,"                                                                 \
    " updated_ms BIGINT NOT NULL);"                                                                \
    "CREATE TABLE model_tags ("                                                                    \
    " name " TXT " NOT NULL REFERENCES models(name) ON UPDATE CASCADE ON DELETE CASCADE,"          \
    " key " TXT " NOT NULL,"                                                                       \
    " value " TXT " NOT NULL,"                                                                     \
    " PRIMARY KEY (name, key));"                                                                   \
    "CREATE TABLE versions ("                                                                      \
    " name " TXT " NOT NULL REFERENCES models(name) ON UPDATE CASCADE ON DELETE CASCADE,"          \
    " version BIGINT NOT NULL,"                                                                    \
    " created_ms BIGINT NOT NULL,"                                                                 \
    " updated_ms BIGINT NOT NULL,"                                                                 \
    " user_id " TXT " NOT NULL DEFAULT '',"                                                        \
    " description " TXT " NOT NULL DEFAULT '',"                                                    \
    " stage " TXT " NOT NULL DEFAULT 'None',"                                                      \
    " status " TXT " NOT NULL DEFAULT 'READY',"                                                    \
    " status_message " TXT " NOT NULL DEFAULT '',"                                                 \
    " digest " TXT " NOT NULL,"                                                                    \
    " format " TXT " NOT NULL,"                                                                    \
    " size BIGINT NOT NULL,"                                                                       \
    " source " TXT " NOT NULL DEFAULT '',"                                                         \
    " run_id " TXT ","                                                                             \
    " run_link " TXT ","                                                                           \
    " git_sha " TXT ","                                                                            \
    " dataset_version " TXT ","                                                                    \
    " approver " TXT ","                                                                           \
    " framework " TXT ","                                                                          \
    " manifest " TXT ","                                                                           \
    " gate_status " TXT " NOT NULL,"                                                               \
    " gate_report " TXT ","                                                                        \
    " PRIMARY KEY (name, version));"                                                               \
    "CREATE INDEX versions_stage ON versions (name, stage, version);"                              \
    "CREATE TABLE version_tags ("                                                                  \
    " name " TXT " NOT NULL,"                                                                      \
    " version BIGINT NOT NULL,"                                                                    \
    " key " TXT " NOT NULL,"                                                                       \
    " value " TXT " NOT NULL,"                                                                     \
    " PRIMARY KEY (name, version, key),"                                                           \
    " FOREIGN KEY (name, version) REFERENCES versions(name, version)"                              \
    "  ON UPDATE CASCADE ON DELETE CASCADE);"                                                      \
    "CREATE TABLE version_metrics ("                                                               \
    " name " TXT " NOT NULL,"                                                                      \
    " version BIGINT NOT NULL,"                                                                    \
    " key " TXT " NOT NULL,"                                                                       \
    " value DOUBLE PRECISION NOT NULL,"                                                            \
    " PRIMARY KEY (name, version, key),"                                                           \
    " FOREIGN KEY (name, version) REFERENCES versions(name, version)"                              \
    "  ON UPDATE CASCADE ON DELETE CASCADE);"                                                      \
    "CREATE TABLE model_aliases ("                                                                 \
    " name " TXT " NOT NULL,"                                                                      \
    " alias " TXT " NOT NULL,"                                                                     \
    " version BIGINT NOT NULL,"                                                                    \
    " PRIMARY KEY (name, alias),"                                                                  \
    " FOREIGN KEY (name, version) REFERENCES versions(name, version)"                              \
    "  ON UPDATE CASCADE ON DELETE CASCADE);"                                                      \
    "CREATE TABLE deployments ("                                                                   \
    " name " TXT " NOT NULL,"                                                                      \
    " environment " TXT " NOT NULL,"                                                               \
    " model " TXT " NOT NULL REFERENCES models(name) ON UPDATE CASCADE,"                           \
    " stable_version BIGINT,"                                                                      \
    " canary_version BIGINT,"                                                                      \
    " canary_weight BIGINT NOT NULL DEFAULT 0,"                                                    \
    " shadow_version BIGINT,"                                                                      \
    " state " TXT " NOT NULL,"                                                                     \
    " created_ms BIGINT NOT NULL,"                                                                 \
    " updated_ms BIGINT NOT NULL,"                                                                 \
    " generation BIGINT NOT NULL,"                                                                 \
    " PRIMARY KEY (name, environment));"                                                           \
    "CREATE TABLE events ("                                                                        \
    " id BIGINT PRIMARY KEY,"                                                                      \
    " deployment " TXT " NOT NULL,"                                                                \
    " environment " TXT " NOT NULL,"                                                               \
    " at_ms BIGINT NOT NULL,"                                                                      \
    " who " TXT " NOT NULL,"                                                                       \
    " action " TXT " NOT NULL,"                                                                    \
    " detail " TXT " NOT NULL);"                                                                   \
    "CREATE INDEX events_deployment ON events (deployment, environment, id);"                      \
    "CREATE TABLE counters ("                                                                      \
    " name " TXT " PRIMARY KEY,"                                                                   \
    " value BIGINT NOT NULL);"                                                                     \
    "INSERT INTO counters (name, value) VALUES ('deployments_generation', 0);"

#define SQLITE_EVENTS_GUARD                                                                        \
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"                                      \
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"                                   \
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"                                      \
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"

#define POSTGRES_EVENTS_GUARD                                                                      \
    "CREATE FUNCTION mmsp_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"             \
    " BEGIN RAISE EXCEPTION 'events are append-only'; END $$;"                                     \
    "CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events"                            \
    " FOR EACH ROW EXECUTE FUNCTION mmsp_events_append_only();"                                    \
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events"                                  \
    " FOR EACH STATEMENT EXECUTE FUNCTION mmsp_events_append_only();"

const struct db_migration registry_migrations[] = {
    {
        .version = 1,
        .sql = NULL,
        .sqlite_sql = SCHEMA_V1("TEXT") SQLITE_EVENTS_GUARD,
        .postgres_sql = SCHEMA_V1("TEXT COLLATE \"C\"") POSTGRES_EVENTS_GUARD,
    },
    {
        /* The gateway's sticky-cohort request header per deployment (NULL = X-User-Id). */
        .version = 2,
        .sql = "ALTER TABLE deployments ADD COLUMN cohort_header TEXT;",
    },
};

const size_t registry_n_migrations = sizeof registry_migrations / sizeof registry_migrations[0];
