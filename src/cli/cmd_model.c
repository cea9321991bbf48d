/*
 * `mmsp model register|list|show|stage|alias`: the model registry from the command line
 * (docs/cli.md). Each subcommand parses its flags (cli/regcli), then either calls the store
 * (registry.h, turning the result into its reg_*_json document) or, with --server, the
 * matching /api/v1 endpoint (whose body is that same document); one printer per subcommand
 * formats the document as a table for people or prints it with --json, so both backends
 * print the same. Registration over --server reads the artifact and manifest here and
 * uploads them base64-encoded (OpenSSL EVP_EncodeBlock).
 * Calls: cli/regcli, registry, policy (POLICY_MAX_BYTES), OpenSSL libcrypto, jansson.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cli/commands.h"
#include "cli/regcli.h"
#include "policy/policy.h"
#include "registry/registry.h"

#define ARTIFACT_MAX_BYTES ((size_t)1 << 30) /* local reads; the store has its own limit */
#define UPLOAD_MAX_BYTES   ((size_t)512 << 20)

/* --- usage -------------------------------------------------------------------------------- */

static void usage_model(FILE *out)
{
    fprintf(out, "usage: mmsp model <subcommand> [options]\n"
                 "\n"
                 "The model registry: versions with their artifact, manifest, metrics, lineage,\n"
                 "stage and aliases.\n"
                 "\n"
                 "subcommands:\n"
                 "  register NAME ARTIFACT   register a new version (runs the policy gate)\n"
                 "  list                     registered models\n"
                 "  show NAME [VERSION]      a model with its versions, or one version\n"
                 "  stage NAME VERSION STAGE move a version to None|Staging|Production|Archived\n"
                 "  alias NAME ALIAS VERSION point an alias at a version (--delete removes it)\n"
                 "\n"
                 "'mmsp model <subcommand> --help' describes each one.\n"
                 "\n");
    fputs(regcli_common_help, out);
    fputs("\n", out);
    fputs(regcli_exit_help, out);
}

static void usage_register(FILE *out)
{
    fprintf(out,
            "usage: mmsp model register NAME ARTIFACT [options]\n"
            "\n"
            "Registers ARTIFACT (an XGBoost model.json or an ONNX model.onnx) as the next\n"
            "version of model NAME (created when new). The runtime loads the artifact first\n"
            "and refuses what it cannot serve. Then the policy gate evaluates the manifest,\n"
            "with --metric values merged into spec.metrics and the lineage flags into\n"
            "spec.lineage (with no --manifest, a manifest made of those alone). A version that\n"
            "fails the gate is refused and nothing is stored, unless --force: it is then\n"
            "registered with gate status \"forced\" and the failures are recorded in the\n"
            "history. The artifact is stored content-addressed under DATA/artifacts.\n"
            "\n"
            "options:\n"
            "  --manifest FILE         the model manifest (YAML, apiVersion mlifecycle.io/v1,\n"
            "                          kind ModelDeployment; see docs/policy.md)\n"
            "  --policy FILE           gate policy (YAML; default: the built-in rules). Local\n"
            "                          store only: a server uses its own --policy\n"
            "  --metric KEY=NUMBER     a metric (repeatable; overrides the manifest's)\n"
            "  --tag KEY=VALUE         a version tag (repeatable)\n"
            "  --git-sha SHA           lineage: the code's commit\n"
            "  --dataset-version V     lineage: the training data's version\n"
            "  --approver NAME         lineage: who approved it\n"
            "  --run-id ID             the training run\n"
            "  --description TEXT      a description of the version\n"
            "  --force                 register even when the gate fails (recorded)\n"
            "\n"
            "example:\n"
            "  mmsp model register fraud-detector model.json --manifest manifest.yaml \\\n"
            "      --metric auc=0.97 --git-sha 3f2a9c1 --approver alice\n"
            "\n"
            "Prints the new version (--json: the version object). A gate refusal lists each\n"
            "failed rule on stderr and exits 4.\n"
            "\n");
    fputs(regcli_common_help, out);
    fputs("\n", out);
    fputs(regcli_exit_help, out);
}

static void usage_list(FILE *out)
{
    fprintf(out, "usage: mmsp model list [options]\n"
                 "\n"
                 "Lists the registered models: NAME, LATEST version, ALIASES, UPDATED (UTC).\n"
                 "--json prints {\"models\": [model, ...]}.\n"
                 "\n");
    fputs(regcli_common_help, out);
    fputs("\n", out);
    fputs(regcli_exit_help, out);
}

static void usage_show(FILE *out)
{
    fprintf(out, "usage: mmsp model show NAME [VERSION] [options]\n"
                 "\n"
                 "Without VERSION: the model (description, tags, aliases) and a table of its\n"
                 "versions (--json: {\"model\": model, \"versions\": [version, ...]}).\n"
                 "With VERSION: that version with its stage, artifact, metrics, lineage, tags and\n"
                 "the policy gate's report (--json: the version object).\n"
                 "\n");
    fputs(regcli_common_help, out);
    fputs("\n", out);
    fputs(regcli_exit_help, out);
}

static void usage_stage(FILE *out)
{
    fprintf(out, "usage: mmsp model stage NAME VERSION STAGE [--archive-existing] [options]\n"
                 "\n"
                 "Moves a version to STAGE: None, Staging, Production or Archived (any case).\n"
                 "\n"
                 "options:\n"
                 "  --archive-existing  move the other versions in STAGE (Staging or\n"
                 "                      Production) to Archived\n"
                 "\n"
                 "Prints the version (--json: the version object).\n"
                 "\n");
    fputs(regcli_common_help, out);
    fputs("\n", out);
    fputs(regcli_exit_help, out);
}

static void usage_alias(FILE *out)
{
    fprintf(out, "usage: mmsp model alias NAME ALIAS VERSION [options]\n"
                 "       mmsp model alias NAME ALIAS --delete [options]\n"
                 "\n"
                 "Points ALIAS (e.g. champion) at VERSION of model NAME, moving it from the\n"
                 "version it named before; with --delete, removes the alias. Deployments may\n"
                 "name a version by alias (mmsp deploy --alias).\n"
                 "\n"
                 "options:\n"
                 "  --delete  remove the alias\n"
                 "\n"
                 "Prints the version the alias names (--json: the version object; with\n"
                 "--delete: {\"name\", \"alias\", \"deleted\": true}).\n"
                 "\n");
    fputs(regcli_common_help, out);
    fputs("\n", out);
    fputs(regcli_exit_help, out);
}

/* --- printers (one per subcommand; the same for both backends) --------------------------- */

/* "k=v, k=v" of a JSON object ({alias: version} or {tag: value}) into b. */
static void join_object(json_t *o, struct buf *b)
{
    const char *k;
    json_t *v;
    char tmp[64];
    json_object_foreach(o, k, v)
    {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (json_is_integer(v)) {
            snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
            s = tmp;
        } else if (json_is_real(v)) {
            regcli_num(json_real_value(v), tmp, sizeof tmp);
            s = tmp;
        }
        buf_printf(b, "%s%s=%s", b->len ? ", " : "", k, s);
    }
}

/* "a, b" of a JSON array of strings into b. */
static void join_array(json_t *a, struct buf *b)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v))
            buf_printf(b, "%s%s", b->len ? ", " : "", json_string_value(v));
    }
}

static void kv_line(const char *key, const char *value)
{
    printf("%-16s %s\n", key, value && *value ? value : "-");
}

static void print_version_detail(json_t *v, const void *arg)
{
    char t1[64], t2[64];
    struct buf b;
    buf_init(&b, 1 << 20);

    kv_line("model", regcli_str(v, "name", t1, sizeof t1));
    kv_line("version", regcli_str(v, "version", t1, sizeof t1));
    kv_line("stage", regcli_str(v, "stage", t1, sizeof t1));
    kv_line("status", regcli_str(v, "status", t1, sizeof t1));
    join_array(json_object_get(v, "aliases"), &b);
    kv_line("aliases", b.data);
    buf_reset(&b);
    kv_line("gate", regcli_str(v, "gate_status", t1, sizeof t1));
    kv_line("format", regcli_str(v, "format", t1, sizeof t1));
    kv_line("size", regcli_str(v, "size", t1, sizeof t1));
    kv_line("digest", regcli_str(v, "digest", t1, sizeof t1));
    kv_line("source", regcli_str(v, "source", t1, sizeof t1));
    kv_line("run id", regcli_str(v, "run_id", t1, sizeof t1));
    kv_line("description", regcli_str(v, "description", t1, sizeof t1));
    kv_line("created", regcli_time(v, "created_ms", t1, sizeof t1));
    kv_line("updated", regcli_time(v, "updated_ms", t1, sizeof t1));
    kv_line("user", regcli_str(v, "user_id", t2, sizeof t2));

    json_t *lin = json_object_get(v, "lineage");
    printf("lineage:\n");
    static const char *const lineage_keys[] = {"git_sha", "dataset_version", "approver",
                                               "framework"};
    for (size_t i = 0; i < sizeof lineage_keys / sizeof lineage_keys[0]; i++) {
        const char *s = regcli_str(lin, lineage_keys[i], t1, sizeof t1);
        printf("  %-16s %s\n", lineage_keys[i], *s ? s : "-");
    }

    const char *k;
    json_t *m;
    json_t *metrics = json_object_get(v, "metrics");
    printf("metrics:%s\n", json_object_size(metrics) ? "" : " -");
    json_object_foreach(metrics, k, m)
    {
        if (json_is_number(m))
            regcli_num(json_number_value(m), t1, sizeof t1);
        else
            snprintf(t1, sizeof t1, "?");
        printf("  %-16s %s\n", k, t1);
    }
    json_t *tags = json_object_get(v, "tags");
    printf("tags:%s\n", json_object_size(tags) ? "" : " -");
    json_object_foreach(tags, k, m)
    {
        printf("  %-16s %s\n", k, json_is_string(m) ? json_string_value(m) : "");
    }

    json_t *rules = json_object_get(json_object_get(v, "gate_report"), "rules");
    if (json_array_size(rules)) {
        printf("gate report:\n");
        static const char *const h[] = {"  RULE", "FIELD", "OP", "BOUND", "SEEN", "RESULT"};
        struct regcli_table t;
        regcli_table_init(&t, 6, h);
        size_t i;
        json_t *r;
        json_array_foreach(rules, i, r)
        {
            char name[300], result[300];
            snprintf(name, sizeof name, "  %s", regcli_str(r, "name", t1, sizeof t1));
            const char *msg = regcli_str(r, "message", t2, sizeof t2);
            if (json_is_true(json_object_get(r, "passed")))
                snprintf(result, sizeof result, "pass");
            else
                snprintf(result, sizeof result, "FAIL%s%s", *msg ? ": " : "", msg);
            char bound[300], seen[300], field[300], op[64];
            snprintf(field, sizeof field, "%s", regcli_str(r, "field", t1, sizeof t1));
            snprintf(op, sizeof op, "%s", regcli_str(r, "op", t1, sizeof t1));
            snprintf(bound, sizeof bound, "%s", regcli_str(r, "bound", t1, sizeof t1));
            snprintf(seen, sizeof seen, "%s", regcli_str(r, "seen", t1, sizeof t1));
            const char *row[] = {name, field, op, bound, seen, result};
            regcli_table_row(&t, row);
        }
        regcli_table_print(&t, stdout);
        regcli_table_free(&t);
    }
    buf_release(&b);
}

static void print_versions_table(json_t *versions)
{
    static const char *const h[] = {"VERSION", "STAGE",  "GATE",    "FORMAT",
                                    "SIZE",    "DIGEST", "ALIASES", "CREATED"};
    struct regcli_table t;
    regcli_table_init(&t, 8, h);
    size_t i;
    json_t *v;
    struct buf b;
    buf_init(&b, 1 << 20);
    json_array_foreach(versions, i, v)
    {
        char ver[32], size[32], created[64], t1[64], t2[64], t3[64], digest[16];
        buf_reset(&b);
        join_array(json_object_get(v, "aliases"), &b);
        snprintf(digest, sizeof digest, "%.12s", regcli_str(v, "digest", t3, sizeof t3));
        const char *row[] = {regcli_str(v, "version", ver, sizeof ver),
                             regcli_str(v, "stage", t1, sizeof t1),
                             regcli_str(v, "gate_status", t2, sizeof t2),
                             json_string_value(json_object_get(v, "format")),
                             regcli_str(v, "size", size, sizeof size),
                             digest,
                             b.data ? b.data : "",
                             regcli_time(v, "created_ms", created, sizeof created)};
        regcli_table_row(&t, row);
    }
    regcli_table_print(&t, stdout);
    regcli_table_free(&t);
    buf_release(&b);
}

static void print_model_detail(json_t *doc, const void *arg)
{
    json_t *m = json_object_get(doc, "model");
    char t1[64];
    struct buf b;
    buf_init(&b, 1 << 20);
    kv_line("model", regcli_str(m, "name", t1, sizeof t1));
    kv_line("description", regcli_str(m, "description", t1, sizeof t1));
    join_object(json_object_get(m, "tags"), &b);
    kv_line("tags", b.data);
    buf_reset(&b);
    join_object(json_object_get(m, "aliases"), &b);
    kv_line("aliases", b.data);
    kv_line("latest", regcli_ver(m, "latest_version", t1, sizeof t1));
    kv_line("user", regcli_str(m, "user_id", t1, sizeof t1));
    kv_line("created", regcli_time(m, "created_ms", t1, sizeof t1));
    kv_line("updated", regcli_time(m, "updated_ms", t1, sizeof t1));
    buf_release(&b);
    printf("\n");
    print_versions_table(json_object_get(doc, "versions"));
}

static void print_models_table(json_t *doc, const void *arg)
{
    static const char *const h[] = {"NAME", "LATEST", "ALIASES", "UPDATED"};
    struct regcli_table t;
    regcli_table_init(&t, 4, h);
    size_t i;
    json_t *m;
    struct buf b;
    buf_init(&b, 1 << 20);
    json_array_foreach(json_object_get(doc, "models"), i, m)
    {
        char t1[64], t2[64], t3[64];
        buf_reset(&b);
        join_object(json_object_get(m, "aliases"), &b);
        const char *row[] = {
            regcli_str(m, "name", t1, sizeof t1), regcli_ver(m, "latest_version", t2, sizeof t2),
            b.data && *b.data ? b.data : "-", regcli_time(m, "updated_ms", t3, sizeof t3)};
        regcli_table_row(&t, row);
    }
    regcli_table_print(&t, stdout);
    regcli_table_free(&t);
    buf_release(&b);
}

/* Failed rules of a forced registration, from its gate report. */
static void print_forced_rules(json_t *v)
{
    json_t *rules = json_object_get(json_object_get(v, "gate_report"), "rules");
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        if (json_is_true(json_object_get(r, "passed")))
            continue;
        char t1[64], t2[300];
        printf("  - %s: %s\n", regcli_str(r, "name", t1, sizeof t1),
               regcli_str(r, "message", t2, sizeof t2));
    }
}

static void print_registered(json_t *doc, const void *arg)
{
    char t1[64], t2[64], t3[64], t4[80], t5[64], t6[64];
    const char *gate = regcli_str(doc, "gate_status", t6, sizeof t6);
    printf("registered %s version %s (%s, %s bytes, sha256 %.12s), gate %s\n",
           regcli_str(doc, "name", t1, sizeof t1), regcli_str(doc, "version", t2, sizeof t2),
           regcli_str(doc, "format", t3, sizeof t3), regcli_str(doc, "size", t5, sizeof t5),
           regcli_str(doc, "digest", t4, sizeof t4), gate);
    if (strcmp(gate, "forced") == 0) {
        printf("warning: registered with --force past these failed rules:\n");
        print_forced_rules(doc);
    }
}

static void print_staged(json_t *doc, const void *arg)
{
    char t1[64], t2[64], t3[64];
    printf("%s version %s is now in stage %s\n", regcli_str(doc, "name", t1, sizeof t1),
           regcli_str(doc, "version", t2, sizeof t2), regcli_str(doc, "stage", t3, sizeof t3));
}

/* arg: the positionals NAME ALIAS [VERSION]. */
static void print_alias_deleted(json_t *doc, const void *arg)
{
    const char *const *pos = arg;
    printf("deleted alias %s of %s\n", pos[1], pos[0]);
}

static void print_alias_set(json_t *doc, const void *arg)
{
    const char *const *pos = arg;
    char t1[64];
    printf("alias %s of %s -> version %s\n", pos[1], pos[0],
           regcli_str(doc, "version", t1, sizeof t1));
}

/* --- helpers ------------------------------------------------------------------------------- */

/* Splits "KEY=VALUE" (borrowed) into key (copied into k) and value. */
static int split_kv(const struct regcli *c, const char *flag, const char *item, char *k,
                    size_t klen, const char **value)
{
    const char *eq = strchr(item, '=');
    if (!eq || eq == item)
        return regcli_usage_error(c, "%s: '%s' is not KEY=VALUE", flag, item);
    if ((size_t)(eq - item) >= klen)
        return regcli_usage_error(c, "%s: the key of '%s' is too long", flag, item);
    memcpy(k, item, (size_t)(eq - item));
    k[eq - item] = '\0';
    *value = eq + 1;
    return 0;
}

static int parse_metric(const struct regcli *c, const char *item, char *k, size_t klen, double *out)
{
    const char *val = NULL;
    int rc = split_kv(c, "--metric", item, k, klen, &val);
    if (rc)
        return rc;
    char *end;
    errno = 0;
    double d = strtod(val, &end);
    if (!*val || *end || errno || !isfinite(d))
        return regcli_usage_error(c, "--metric: '%s' is not a number", val);
    *out = d;
    return 0;
}

/* The local end of a call that filled v: v as its JSON document in *doc, or the store's
 * error printed. Releases v. Returns 0 or the exit code. */
static int local_version(struct regcli *c, mmsp_err e, const char *err, struct reg_version *v,
                         json_t **doc)
{
    int rc = 0;
    if (e)
        rc = regcli_fail(c, e, err);
    else
        *doc = reg_version_json(v);
    reg_version_free(v);
    return rc;
}

/* Follows "next_page_token" of a remote list, appending `key`'s items into `acc`. */
static int remote_list_all(struct regcli *c, const char *path_base, const char *key, json_t *acc)
{
    int rc = 0;
    char *token = NULL;
    for (int page = 0; page < 100000; page++) {
        struct buf p;
        buf_init(&p, 64 * 1024);
        json_t *doc = NULL;
        if (buf_append_str(&p, path_base) || regcli_query(&p, "page_token", token)) {
            buf_release(&p);
            cli_error(c->subject, "the URL is too long");
            rc = REGCLI_EXIT_FAILED;
            break;
        }
        rc = regcli_request(c, "GET", p.data, NULL, &doc);
        buf_release(&p);
        if (rc)
            break;
        json_t *items = json_object_get(doc, key);
        if (!json_is_array(items)) {
            cli_error(c->subject, "the server's answer has no \"%s\" list", key);
            json_decref(doc);
            rc = REGCLI_EXIT_FAILED;
            break;
        }
        json_array_extend(acc, items);
        const char *next = json_string_value(json_object_get(doc, "next_page_token"));
        free(token);
        token = next && *next ? strdup(next) : NULL;
        json_decref(doc);
        if (!token)
            break;
    }
    free(token);
    return rc;
}

/* --- register ------------------------------------------------------------------------------ */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Base64 of data (malloc'd, NUL-terminated) or NULL when out of memory. */
static char *base64(const char *data, size_t len)
{
    size_t out_len = 4 * ((len + 2) / 3) + 1;
    char *out = malloc(out_len);
    if (!out)
        return NULL;
    char *w = out;
    /* EVP_EncodeBlock takes an int length: encode in chunks that are multiples of 3. */
    const size_t chunk = (size_t)3 << 20;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        w += EVP_EncodeBlock((unsigned char *)w, (const unsigned char *)data + off, (int)n);
    }
    *w = '\0';
    return out;
}

static int model_register(int argc, char **argv)
{
    struct regcli c;
    const char *manifest = NULL, *policy = NULL, *git_sha = NULL, *dataset = NULL, *approver = NULL,
               *run_id = NULL, *description = NULL;
    int force = 0;
    struct regcli_list metrics = {0}, tags = {0};
    const struct regcli_opt opts[] = {
        {"--manifest", REGCLI_STRING, &manifest},
        {"--policy", REGCLI_STRING, &policy},
        {"--metric", REGCLI_LIST, &metrics},
        {"--tag", REGCLI_LIST, &tags},
        {"--git-sha", REGCLI_STRING, &git_sha},
        {"--dataset-version", REGCLI_STRING, &dataset},
        {"--approver", REGCLI_STRING, &approver},
        {"--run-id", REGCLI_STRING, &run_id},
        {"--description", REGCLI_STRING, &description},
        {"--force", REGCLI_FLAG, &force},
    };
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = regcli_parse(&c, "model register", usage_register, argc, argv, opts,
                          sizeof opts / sizeof opts[0], pos, 2, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if (n_pos != 2)
        return regcli_usage_error(&c, "expects NAME and ARTIFACT");
    if (policy && c.server_url)
        return regcli_usage_error(&c, "--policy applies to the local store; the server gates "
                                      "with its own --policy");

    char keys[REGCLI_MAX_LIST][256];
    struct reg_metric m[REGCLI_MAX_LIST];
    struct reg_kv t[REGCLI_MAX_LIST];
    char tkeys[REGCLI_MAX_LIST][256];
    for (size_t i = 0; i < metrics.n; i++) {
        rc = parse_metric(&c, metrics.items[i], keys[i], sizeof keys[i], &m[i].value);
        if (rc)
            return rc;
        m[i].key = keys[i];
    }
    for (size_t i = 0; i < tags.n; i++) {
        const char *val = NULL;
        rc = split_kv(&c, "--tag", tags.items[i], tkeys[i], sizeof tkeys[i], &val);
        if (rc)
            return rc;
        t[i].key = tkeys[i];
        t[i].value = (char *)val;
    }

    char *manifest_text = NULL, *artifact = NULL, *b64 = NULL;
    size_t manifest_len = 0, artifact_len = 0;
    json_t *doc = NULL, *body = NULL;
    char err[REGCLI_ERR_MAX];
    if (manifest) {
        rc = regcli_read_file(manifest, POLICY_MAX_BYTES, &manifest_text, &manifest_len);
        if (rc)
            goto out;
    }
    rc = regcli_open(&c);
    if (rc)
        goto out;

    if (c.reg) {
        /* A missing file is the caller's (exit 1, as with --server), not a registry object. */
        struct stat st;
        int st_rc = stat(pos[1], &st);
        if (st_rc != 0 || !S_ISREG(st.st_mode)) {
            cli_error(pos[1], "%s", st_rc != 0 ? strerror(errno) : "not a regular file");
            rc = REGCLI_EXIT_FAILED;
            goto out;
        }
        char source[PATH_MAX];
        if (!realpath(pos[1], source))
            snprintf(source, sizeof source, "%s", pos[1]);
        struct reg_register_request rq = {.name = pos[0],
                                          .artifact_path = pos[1],
                                          .source = source,
                                          .manifest_text = manifest_text,
                                          .manifest_len = manifest_len,
                                          .manifest_name = manifest,
                                          .policy_path = policy,
                                          .metrics = m,
                                          .n_metrics = metrics.n,
                                          .tags = t,
                                          .n_tags = tags.n,
                                          .git_sha = git_sha,
                                          .dataset_version = dataset,
                                          .approver = approver,
                                          .run_id = run_id,
                                          .description = description,
                                          .force = force,
                                          .who = c.user};
        struct reg_version v = {0};
        mmsp_err e = registry_register(c.reg, &rq, &v, err, sizeof err);
        if ((rc = local_version(&c, e, err, &v, &doc)))
            goto out;
    } else {
        rc = regcli_read_file(pos[1], UPLOAD_MAX_BYTES, &artifact, &artifact_len);
        if (rc)
            goto out;
        b64 = base64(artifact, artifact_len);
        body = json_object();
        json_t *jm = json_object(), *jt = json_object();
        if (!b64 || !body || !jm || !jt) {
            json_decref(jm);
            json_decref(jt);
            cli_error(c.subject, "out of memory");
            rc = REGCLI_EXIT_FAILED;
            goto out;
        }
        for (size_t i = 0; i < metrics.n; i++)
            json_object_set_new(jm, m[i].key, json_real(m[i].value));
        for (size_t i = 0; i < tags.n; i++)
            json_object_set_new(jt, t[i].key, json_string(t[i].value));
        json_object_set_new(body, "artifact", json_string(b64));
        json_object_set_new(body, "artifact_name", json_string(base_name(pos[1])));
        char source[PATH_MAX];
        if (realpath(pos[1], source))
            json_object_set_new(body, "source", json_string(source));
        if (manifest_text)
            json_object_set_new(body, "manifest", json_stringn(manifest_text, manifest_len));
        json_object_set_new(body, "metrics", jm);
        json_object_set_new(body, "tags", jt);
        const char *const lineage[][2] = {
            {"git_sha", git_sha}, {"dataset_version", dataset}, {"approver", approver},
            {"run_id", run_id},   {"description", description}, {"who", c.user}};
        for (size_t i = 0; i < sizeof lineage / sizeof lineage[0]; i++)
            if (lineage[i][1])
                json_object_set_new(body, lineage[i][0], json_string(lineage[i][1]));
        json_object_set_new(body, "force", json_boolean(force));
        struct buf p;
        buf_init(&p, 64 * 1024);
        if (regcli_path(&p, "models", pos[0], "versions", NULL)) {
            buf_release(&p);
            cli_error(c.subject, "the name is too long");
            rc = REGCLI_EXIT_USAGE;
            goto out;
        }
        rc = regcli_request(&c, "POST", p.data, body, &doc);
        buf_release(&p);
        if (rc)
            goto out;
    }
    rc = regcli_print_result(&c, doc, print_registered, NULL);
out:
    json_decref(doc);
    json_decref(body);
    free(b64);
    free(artifact);
    free(manifest_text);
    regcli_close(&c);
    return rc;
}

/* --- list ---------------------------------------------------------------------------------- */

static int model_list(int argc, char **argv)
{
    struct regcli c;
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = regcli_parse(&c, "model list", usage_list, argc, argv, NULL, 0, pos, 0, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    char err[REGCLI_ERR_MAX];
    json_t *doc = json_object(), *models = json_array();
    char *token = NULL;
    if (!doc || !models || json_object_set(doc, "models", models)) {
        cli_error(c.subject, "out of memory");
        rc = REGCLI_EXIT_FAILED;
        goto out;
    }
    rc = regcli_open(&c);
    if (rc)
        goto out;
    if (c.reg) {
        do {
            struct reg_model *ms = NULL;
            size_t n = 0;
            char *next = NULL;
            mmsp_err e =
                registry_model_search(c.reg, NULL, 0, 1000, token, &ms, &n, &next, err, sizeof err);
            if (e) {
                rc = regcli_fail(&c, e, err);
                goto out;
            }
            for (size_t i = 0; i < n; i++)
                json_array_append_new(models, reg_model_json(&ms[i]));
            reg_model_list_free(ms, n);
            free(token);
            token = next;
        } while (token);
    } else {
        rc = remote_list_all(&c, "/api/v1/models", "models", models);
        if (rc)
            goto out;
    }
    rc = regcli_print_result(&c, doc, print_models_table, NULL);
out:
    free(token);
    json_decref(models);
    json_decref(doc);
    regcli_close(&c);
    return rc;
}

/* --- show ---------------------------------------------------------------------------------- */

static int model_show(int argc, char **argv)
{
    struct regcli c;
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = regcli_parse(&c, "model show", usage_show, argc, argv, NULL, 0, pos, 2, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if (n_pos < 1)
        return regcli_usage_error(&c, "expects NAME [VERSION]");
    int64_t version = 0;
    if (n_pos == 2 && (rc = regcli_parse_version(&c, "VERSION", pos[1], &version)) != 0)
        return rc;

    char err[REGCLI_ERR_MAX];
    json_t *doc = NULL;
    struct buf p;
    buf_init(&p, 64 * 1024);
    char *token = NULL;
    rc = regcli_open(&c);
    if (rc)
        goto out;
    if (version) {
        if (c.reg) {
            struct reg_version v = {0};
            mmsp_err e = registry_version_get(c.reg, pos[0], version, &v, err, sizeof err);
            if ((rc = local_version(&c, e, err, &v, &doc)))
                goto out;
        } else {
            if (regcli_path(&p, "models", pos[0], "versions", pos[1], NULL)) {
                rc = regcli_usage_error(&c, "the name is too long");
                goto out;
            }
            rc = regcli_request(&c, "GET", p.data, NULL, &doc);
            if (rc)
                goto out;
        }
    } else {
        json_t *model = NULL, *versions = json_array();
        doc = json_object();
        if (!doc || !versions || json_object_set_new(doc, "versions", versions)) {
            json_decref(versions);
            cli_error(c.subject, "out of memory");
            rc = REGCLI_EXIT_FAILED;
            goto out;
        }
        if (c.reg) {
            struct reg_model m = {0};
            mmsp_err e = registry_model_get(c.reg, pos[0], &m, err, sizeof err);
            if (e) {
                rc = regcli_fail(&c, e, err);
                goto out;
            }
            model = reg_model_json(&m);
            reg_model_free(&m);
            do {
                struct reg_version *vs = NULL;
                size_t n = 0;
                char *next = NULL;
                e = registry_version_search(c.reg, pos[0], 1000, token, &vs, &n, &next, err,
                                            sizeof err);
                if (e) {
                    json_decref(model);
                    rc = regcli_fail(&c, e, err);
                    goto out;
                }
                for (size_t i = 0; i < n; i++)
                    json_array_append_new(versions, reg_version_json(&vs[i]));
                reg_version_list_free(vs, n);
                free(token);
                token = next;
            } while (token);
        } else {
            if (regcli_path(&p, "models", pos[0], NULL)) {
                rc = regcli_usage_error(&c, "the name is too long");
                goto out;
            }
            rc = regcli_request(&c, "GET", p.data, NULL, &model);
            if (rc)
                goto out;
            buf_reset(&p);
            if (regcli_path(&p, "models", pos[0], "versions", NULL) == MMSP_OK)
                rc = remote_list_all(&c, p.data, "versions", versions);
            if (rc) {
                json_decref(model);
                goto out;
            }
        }
        /* "model" first in the document: rebuild in that order */
        json_t *ordered = json_object();
        if (!model || !ordered) {
            json_decref(model);
            json_decref(ordered);
            cli_error(c.subject, "out of memory");
            rc = REGCLI_EXIT_FAILED;
            goto out;
        }
        json_object_set_new(ordered, "model", model);
        json_object_set(ordered, "versions", versions);
        json_decref(doc);
        doc = ordered;
    }
    rc = regcli_print_result(&c, doc, version ? print_version_detail : print_model_detail, NULL);
out:
    free(token);
    buf_release(&p);
    json_decref(doc);
    regcli_close(&c);
    return rc;
}

/* --- stage --------------------------------------------------------------------------------- */

static int model_stage(int argc, char **argv)
{
    struct regcli c;
    int archive = 0;
    const struct regcli_opt opts[] = {{"--archive-existing", REGCLI_FLAG, &archive}};
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = regcli_parse(&c, "model stage", usage_stage, argc, argv, opts, 1, pos, 3, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    if (n_pos != 3)
        return regcli_usage_error(&c, "expects NAME VERSION STAGE");
    int64_t version;
    if ((rc = regcli_parse_version(&c, "VERSION", pos[1], &version)) != 0)
        return rc;
    int stage = reg_stage_parse(pos[2]);
    if (stage < 0)
        return regcli_usage_error(&c,
                                  "'%s' is not a stage (None, Staging, Production, "
                                  "Archived)",
                                  pos[2]);

    char err[REGCLI_ERR_MAX];
    json_t *doc = NULL, *body = NULL;
    struct buf p;
    buf_init(&p, 64 * 1024);
    rc = regcli_open(&c);
    if (rc)
        goto out;
    if (c.reg) {
        struct reg_version v = {0};
        mmsp_err e = registry_version_stage(c.reg, pos[0], version, (enum reg_stage)stage, archive,
                                            c.user, &v, err, sizeof err);
        if ((rc = local_version(&c, e, err, &v, &doc)))
            goto out;
    } else {
        body = json_pack("{s:s, s:b}", "stage", reg_stage_name((enum reg_stage)stage),
                         "archive_existing", archive);
        if (body && c.user)
            json_object_set_new(body, "who", json_string(c.user));
        if (!body || regcli_path(&p, "models", pos[0], "versions", pos[1], "stage", NULL)) {
            cli_error(c.subject, "out of memory or name too long");
            rc = REGCLI_EXIT_FAILED;
            goto out;
        }
        rc = regcli_request(&c, "POST", p.data, body, &doc);
        if (rc)
            goto out;
    }
    rc = regcli_print_result(&c, doc, print_staged, NULL);
out:
    buf_release(&p);
    json_decref(body);
    json_decref(doc);
    regcli_close(&c);
    return rc;
}

/* --- alias --------------------------------------------------------------------------------- */

static int model_alias(int argc, char **argv)
{
    struct regcli c;
    int del = 0;
    const struct regcli_opt opts[] = {{"--delete", REGCLI_FLAG, &del}};
    const char *pos[REGCLI_MAX_POS];
    size_t n_pos;
    int rc = regcli_parse(&c, "model alias", usage_alias, argc, argv, opts, 1, pos, 3, &n_pos);
    if (rc != REGCLI_RUN)
        return rc;
    int64_t version = 0;
    if (del && n_pos != 2)
        return regcli_usage_error(&c, "expects NAME ALIAS --delete (no VERSION)");
    if (!del && n_pos != 3)
        return regcli_usage_error(&c, "expects NAME ALIAS VERSION, or NAME ALIAS --delete");
    if (!del && (rc = regcli_parse_version(&c, "VERSION", pos[2], &version)) != 0)
        return rc;

    char err[REGCLI_ERR_MAX];
    json_t *doc = NULL, *body = NULL;
    struct buf p;
    buf_init(&p, 64 * 1024);
    rc = regcli_open(&c);
    if (rc)
        goto out;
    if (c.http && regcli_path(&p, "models", pos[0], "aliases", pos[1], NULL)) {
        rc = regcli_usage_error(&c, "the name is too long");
        goto out;
    }
    if (del) {
        /* The store deletes idempotently; saying "deleted" for an alias that never was would
         * mislead, so look it up first (exit 3 when unknown). */
        if (c.reg) {
            struct reg_version v = {0};
            mmsp_err e = registry_alias_get(c.reg, pos[0], pos[1], &v, err, sizeof err);
            reg_version_free(&v);
            if (!e)
                e = registry_alias_delete(c.reg, pos[0], pos[1], err, sizeof err);
            if (e) {
                rc = regcli_fail(&c, e, err);
                goto out;
            }
        } else {
            rc = regcli_request(&c, "GET", p.data, NULL, &doc);
            json_decref(doc);
            doc = NULL;
            if (rc)
                goto out;
            rc = regcli_request(&c, "DELETE", p.data, NULL, &doc);
            json_decref(doc);
            doc = NULL;
            if (rc)
                goto out;
        }
        doc = json_pack("{s:s, s:s, s:b}", "name", pos[0], "alias", pos[1], "deleted", 1);
    } else if (c.reg) {
        struct reg_version v = {0};
        mmsp_err e = registry_alias_set(c.reg, pos[0], pos[1], version, err, sizeof err);
        if (!e)
            e = registry_alias_get(c.reg, pos[0], pos[1], &v, err, sizeof err);
        if ((rc = local_version(&c, e, err, &v, &doc)))
            goto out;
    } else {
        body = json_pack("{s:I}", "version", (json_int_t)version);
        if (body && c.user)
            json_object_set_new(body, "who", json_string(c.user));
        rc = regcli_request(&c, "PUT", p.data, body, &doc);
        if (rc)
            goto out;
        json_decref(doc);
        doc = NULL;
        rc = regcli_request(&c, "GET", p.data, NULL, &doc);
        if (rc)
            goto out;
    }
    rc = regcli_print_result(&c, doc, del ? print_alias_deleted : print_alias_set, pos);
out:
    buf_release(&p);
    json_decref(body);
    json_decref(doc);
    regcli_close(&c);
    return rc;
}

/* --- dispatch ------------------------------------------------------------------------------ */

int cmd_model(int argc, char **argv)
{
    static const struct regcli_sub subs[] = {{"register", model_register},
                                             {"list", model_list},
                                             {"show", model_show},
                                             {"stage", model_stage},
                                             {"alias", model_alias}};
    return regcli_dispatch("model", usage_model, subs, sizeof subs / sizeof subs[0], argc, argv);
}
