/*
 * `mmsp features apply|list|historical|materialize|get|bind` (docs/features.md): the feature
 * store from the command line. Each subcommand parses its flags (cli/regcli: --data,
 * --registry) and calls src/features: views from YAML into the store, the point-in-time join
 * into a CSV or Parquet file, materialization into the embedded or Redis online store, an
 * online lookup, and the binding of a deployment to its views for the gateway's entity_id join.
 * Calls: cli/regcli, features (store, offline, online stores).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/commands.h"
#include "cli/regcli.h"
#include "features/features.h"
#include "features/online.h"

#define FEATURES_YAML_MAX (16u << 20)

static void usage_features(FILE *out)
{
    fprintf(out, "usage: mmsp features apply FILE.yaml [options]\n"
                 "       mmsp features list [options]\n"
                 "       mmsp features historical --view V --entities FILE --out OUT [options]\n"
                 "       mmsp features materialize [--view V]... [--start T] [--end T] [options]\n"
                 "       mmsp features get --view V --entity KEY [--entity KEY]... [options]\n"
                 "       mmsp features bind DEPLOYMENT --views V1,V2 [--on-missing 404|default]\n"
                 "                          [--defaults '{\"feature\": 0}'] [options]\n"
                 "\n"
                 "apply records the feature views and feature services of a YAML file (a view:\n"
                 "name, entities, features [{name, type}], source, timestamp_field, ttl).\n"
                 "historical writes the point-in-time join of the entity rows (join keys and a\n"
                 "timestamp column) with view V: for each row the latest feature row at or before\n"
                 "its time and within the TTL, else nulls. FILE and OUT are .csv or .parquet.\n"
                 "materialize writes the latest values per entity (event time in [start, end))\n"
                 "into the online store. get prints the online values of entities as JSON. bind\n"
                 "makes POST /predict {\"deployment\": D, \"entity_id\": K} fetch the model's\n"
                 "features from views V1,V2 (a missing entity: 404, or the --defaults values).\n"
                 "\n"
                 "options:\n"
                 "  --online-store URL  embedded (default; kept in DATA/features.db) or\n"
                 "                      redis://[[USER]:PASSWORD@]HOST:PORT[/DB]\n"
                 "  --data DIR          the store's directory (default ./mmsp-data)\n"
                 "  --registry URL      keep the feature store in this PostgreSQL database\n"
                 "  --json              print results as JSON\n"
                 "  --help              this text\n"
                 "\n"
                 "exit codes: 0 ok, 1 failed, 2 usage error, 3 not found (view, deployment).\n");
}

struct fcli {
    struct regcli c;
    const char *online_url;
    struct feat_store *fs;
    struct online_store *online;
};

static int fail(struct fcli *f, mmsp_err rc, const char *msg)
{
    cli_error(f->c.subject, "%s", msg && *msg ? msg : mmsp_strerror(rc));
    return rc == MMSP_E_NOT_FOUND ? REGCLI_EXIT_NOT_FOUND : REGCLI_EXIT_FAILED;
}

static int open_store(struct fcli *f, int online)
{
    char err[1024] = "";
    mmsp_err rc = feat_store_open(f->c.data_dir, f->c.registry_url, &f->fs, err, sizeof err);
    if (!rc && online)
        rc = online_store_open(f->online_url, f->fs, &f->online, err, sizeof err);
    return rc ? fail(f, rc, err) : 0;
}

static void close_store(struct fcli *f)
{
    online_store_free(f->online);
    feat_store_close(f->fs);
}

static int parse(struct fcli *f, const char *subject, int argc, char **argv,
                 struct regcli_opt *extra, size_t n_extra, const char **pos, size_t max_pos,
                 size_t *n_pos)
{
    struct regcli_opt opts[16];
    size_t n = 0;
    memset(f, 0, sizeof *f);
    opts[n++] = (struct regcli_opt){"--online-store", REGCLI_STRING, &f->online_url};
    for (size_t i = 0; i < n_extra && n < 16; i++)
        opts[n++] = extra[i];
    return regcli_parse(&f->c, subject, usage_features, argc, argv, opts, n, pos, max_pos, n_pos);
}

static int features_apply(int argc, char **argv)
{
    struct fcli f;
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = parse(&f, "features apply", argc, argv, NULL, 0, pos, 1, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if (n_pos != 1)
        return regcli_usage_error(&f.c, "give one YAML file");
    char *text = NULL;
    size_t len = 0;
    struct feat_view *views = NULL;
    struct feat_service *svcs = NULL;
    size_t nv = 0, ns = 0;
    char err[1024] = "";
    rc = regcli_read_file(pos[0], FEATURES_YAML_MAX, &text, &len);
    if (rc)
        return rc;
    char dir[PATH_MAX];
    char *real = realpath(pos[0], NULL);
    snprintf(dir, sizeof dir, "%s", real ? real : pos[0]);
    free(real);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    mmsp_err e = feat_yaml_parse(text, len, pos[0], dir, &views, &nv, &svcs, &ns, err, sizeof err);
    if (e) {
        rc = fail(&f, e, err);
        goto out;
    }
    if ((rc = open_store(&f, 0)))
        goto out;
    for (size_t i = 0; i < nv && !rc; i++)
        if ((e = feat_store_put_view(f.fs, &views[i], err, sizeof err)))
            rc = fail(&f, e, err);
    for (size_t i = 0; i < ns && !rc; i++)
        if ((e = feat_store_put_service(f.fs, &svcs[i], err, sizeof err)))
            rc = fail(&f, e, err);
    if (!rc) {
        for (size_t i = 0; i < nv; i++)
            printf("feature view %s: %zu features\n", views[i].name, views[i].n_features);
        for (size_t i = 0; i < ns; i++)
            printf("feature service %s: %zu features\n", svcs[i].name, svcs[i].n_refs);
    }
out:
    close_store(&f);
    free(text);
    free(views);
    free(svcs);
    return rc;
}

static int features_list(int argc, char **argv)
{
    struct fcli f;
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = parse(&f, "features list", argc, argv, NULL, 0, pos, 0, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if ((rc = open_store(&f, 0)))
        return rc;
    struct feat_view *views = NULL;
    size_t nv = 0;
    char err[1024];
    mmsp_err e = feat_store_list_views(f.fs, &views, &nv, err, sizeof err);
    if (e) {
        rc = fail(&f, e, err);
        goto out;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < nv; i++) {
        json_t *fe = json_array();
        for (size_t k = 0; k < views[i].n_features; k++)
            json_array_append_new(fe, json_pack("{s:s,s:s}", "name", views[i].features[k].name,
                                                "type", feat_type_name(views[i].features[k].type)));
        json_t *ents = json_array();
        for (size_t k = 0; k < views[i].n_entities; k++)
            json_array_append_new(ents, json_string(views[i].entities[k]));
        json_array_append_new(
            arr, json_pack("{s:s,s:o,s:o,s:s,s:s,s:I}", "name", views[i].name, "entities", ents,
                           "features", fe, "source", views[i].source, "timestamp_field",
                           views[i].timestamp_field, "ttl_ms", (json_int_t)views[i].ttl_ms));
    }
    if (f.c.json) {
        rc = regcli_print_json(arr);
    } else {
        for (size_t i = 0; i < nv; i++)
            printf("%s\t%zu features\t%s\n", views[i].name, views[i].n_features, views[i].source);
    }
    json_decref(arr);
out:
    free(views);
    close_store(&f);
    return rc;
}

static int features_historical(int argc, char **argv)
{
    struct fcli f;
    const char *view = NULL, *ents = NULL, *outp = NULL;
    struct regcli_opt extra[] = {{"--view", REGCLI_STRING, &view},
                                 {"--entities", REGCLI_STRING, &ents},
                                 {"--out", REGCLI_STRING, &outp}};
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = parse(&f, "features historical", argc, argv, extra, 3, pos, 0, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if (!view || !ents || !outp)
        return regcli_usage_error(&f.c, "--view, --entities and --out are required");
    if ((rc = open_store(&f, 0)))
        return rc;
    struct feat_view *v = malloc(sizeof *v);
    struct feat_table rows, et, out;
    feat_table_init(&rows);
    feat_table_init(&et);
    feat_table_init(&out);
    char err[1024] = "";
    mmsp_err e = v ? feat_store_get_view(f.fs, view, v, err, sizeof err) : MMSP_E_NOMEM;
    if (!e)
        e = feat_offline_load(f.fs, v, &rows, err, sizeof err);
    if (!e)
        e = feat_table_read(ents, &et, err, sizeof err);
    if (!e)
        e = feat_pit_join(v, &rows, &et, &out, err, sizeof err);
    if (!e)
        e = feat_table_write(outp, &out, err, sizeof err);
    if (e)
        rc = fail(&f, e, err);
    else if (!f.c.json)
        printf("%zu rows, %zu columns -> %s\n", out.n_rows, out.n_cols, outp);
    feat_table_free(&rows);
    feat_table_free(&et);
    feat_table_free(&out);
    free(v);
    close_store(&f);
    return rc;
}

static int features_materialize(int argc, char **argv)
{
    struct fcli f;
    struct regcli_list views = {0};
    const char *start = NULL, *end = NULL;
    struct regcli_opt extra[] = {{"--view", REGCLI_LIST, &views},
                                 {"--start", REGCLI_STRING, &start},
                                 {"--end", REGCLI_STRING, &end}};
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = parse(&f, "features materialize", argc, argv, extra, 3, pos, 0, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    int64_t s = INT64_MIN, en = INT64_MAX;
    if (start && !feat_parse_time_ms(start, &s))
        return regcli_usage_error(&f.c, "--start '%s' is not a time (ISO 8601)", start);
    if (end && !feat_parse_time_ms(end, &en))
        return regcli_usage_error(&f.c, "--end '%s' is not a time (ISO 8601)", end);
    if ((rc = open_store(&f, 1)))
        return rc;
    char err[1024] = "";
    size_t n = 0;
    mmsp_err e = feat_materialize(f.fs, f.online, views.items, views.n, s, en, &n, err, sizeof err);
    if (e)
        rc = fail(&f, e, err);
    else
        printf("materialized %zu entities into the %s online store\n", n, f.online->ops->name);
    close_store(&f);
    return rc;
}

struct get_ctx {
    const struct feat_view *v;
    const char *const *keys;
    json_t *out;
};

static void on_get(void *ctx, size_t idx, const struct online_record *rec)
{
    struct get_ctx *g = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "entity", json_string(g->keys[idx]));
    if (!rec) {
        json_object_set_new(o, "found", json_false());
    } else {
        char t[40];
        feat_format_time(rec->event_ts_ms, t);
        json_object_set_new(o, "found", json_true());
        json_object_set_new(o, "event_timestamp", json_string(t));
        json_t *vals = json_object();
        for (size_t i = 0; i < rec->n_values && i < g->v->n_features; i++) {
            const struct feat_value *x = &rec->values[i];
            json_t *j = x->null                  ? json_null()
                        : x->type == FEAT_STRING ? json_string(x->s ? x->s : "")
                        : x->type == FEAT_BOOL   ? json_boolean(x->i)
                        : x->type == FEAT_FLOAT || x->type == FEAT_DOUBLE ? json_real(x->d)
                                                                          : json_integer(x->i);
            json_object_set_new(vals, g->v->features[i].name, j);
        }
        json_object_set_new(o, "values", vals);
    }
    json_array_append_new(g->out, o);
}

static int features_get(int argc, char **argv)
{
    struct fcli f;
    const char *view = NULL;
    struct regcli_list ents = {0};
    struct regcli_opt extra[] = {{"--view", REGCLI_STRING, &view},
                                 {"--entity", REGCLI_LIST, &ents}};
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = parse(&f, "features get", argc, argv, extra, 2, pos, 0, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if (!view || ents.n == 0)
        return regcli_usage_error(&f.c, "--view and at least one --entity are required");
    if ((rc = open_store(&f, 1)))
        return rc;
    struct feat_view *v = malloc(sizeof *v);
    char err[1024] = "";
    mmsp_err e = v ? feat_store_get_view(f.fs, view, v, err, sizeof err) : MMSP_E_NOMEM;
    json_t *out = json_array();
    struct get_ctx g = {v, ents.items, out};
    if (!e)
        e = f.online->ops->read(f.online, v, ents.items, ents.n, on_get, &g, err, sizeof err);
    if (e)
        rc = fail(&f, e, err);
    else
        rc = regcli_print_json(out);
    json_decref(out);
    free(v);
    close_store(&f);
    return rc;
}

static int features_bind(int argc, char **argv)
{
    struct fcli f;
    const char *views = NULL, *on_missing = NULL, *defaults = NULL;
    struct regcli_opt extra[] = {{"--views", REGCLI_STRING, &views},
                                 {"--on-missing", REGCLI_STRING, &on_missing},
                                 {"--defaults", REGCLI_STRING, &defaults}};
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = parse(&f, "features bind", argc, argv, extra, 3, pos, 1, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if (n_pos != 1 || !views)
        return regcli_usage_error(&f.c, "give DEPLOYMENT and --views V1[,V2...]");
    if (on_missing && strcmp(on_missing, "404") != 0 && strcmp(on_missing, "default") != 0)
        return regcli_usage_error(&f.c, "--on-missing is 404 or default");
    if (defaults) {
        json_t *d = json_loads(defaults, 0, NULL);
        int ok = json_is_object(d);
        json_decref(d);
        if (!ok)
            return regcli_usage_error(&f.c, "--defaults must be a JSON object");
    }
    struct feat_binding *b = calloc(1, sizeof *b);
    if (!b)
        return fail(&f, MMSP_E_NOMEM, NULL);
    if (strlen(pos[0]) >= FEAT_NAME_MAX) {
        free(b);
        return regcli_usage_error(&f.c, "deployment name too long");
    }
    snprintf(b->deployment, sizeof b->deployment, "%s", pos[0]);
    b->on_missing_default = on_missing && strcmp(on_missing, "default") == 0;
    b->defaults_json = defaults ? strdup(defaults) : NULL;
    if ((rc = open_store(&f, 0))) {
        feat_binding_clear(b);
        free(b);
        return rc;
    }
    char err[1024] = "";
    mmsp_err e = MMSP_OK;
    for (const char *p = views; *p && !e;) {
        size_t n = strcspn(p, ",");
        if (n && b->n_views < 16 && n < FEAT_NAME_MAX) {
            snprintf(b->views[b->n_views], FEAT_NAME_MAX, "%.*s", (int)n, p);
            struct feat_view *v = malloc(sizeof *v);
            e = v ? feat_store_get_view(f.fs, b->views[b->n_views], v, err, sizeof err)
                  : MMSP_E_NOMEM;
            free(v);
            b->n_views++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!e)
        e = feat_store_bind(f.fs, b, err, sizeof err);
    if (e)
        rc = fail(&f, e, err);
    else
        printf("deployment %s: features from %s (missing entity: %s)\n", b->deployment, views,
               b->on_missing_default ? "defaults" : "404");
    feat_binding_clear(b);
    free(b);
    close_store(&f);
    return rc;
}

int cmd_features(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {{"apply", features_apply},
                {"list", features_list},
                {"historical", features_historical},
                {"materialize", features_materialize},
                {"get", features_get},
                {"bind", features_bind}};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage_features(argc < 2 ? stderr : stdout);
        return argc < 2 ? REGCLI_EXIT_USAGE : 0;
    }
    int sub = regcli_find_sub(argc, argv);
    if (sub == 0) {
        cli_error("features", "no subcommand (see 'mmsp features --help')");
        return REGCLI_EXIT_USAGE;
    }
    regcli_hoist(argv + 1, sub - 1);
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    cli_error("features", "unknown subcommand '%s' (see 'mmsp features --help')", argv[1]);
    return REGCLI_EXIT_USAGE;
}
