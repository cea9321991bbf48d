/*
 * The policy gate at registration (registry_register): the manifest as given, with the
 * --metric values merged into spec.metrics and the lineage flags into spec.lineage (and
 * --framework into spec.model.framework), or, with no manifest, one made of those alone.
 * The merge edits the YAML document itself (libyaml's document API) and emits it again, so
 * that whatever field path a policy rule names sees the merged value, and every other field
 * of the manifest is kept. The merged text is parsed with manifest_parse and evaluated with
 * the policy (the --policy file or the built-in one).
 * Calls: policy (manifest_parse, policy_*), libyaml, jansson, common/buf.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "common/buf.h"
#include "registry/registry_gate.h"
#include "registry/registry_internal.h"

/* ---- YAML document editing (node indices, never pointers: adding nodes reallocates) ---- */

static yaml_node_t *node(yaml_document_t *d, int i)
{
    return yaml_document_get_node(d, i);
}

static int key_is(yaml_document_t *d, int key, const char *name)
{
    yaml_node_t *k = node(d, key);
    return k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(name) &&
           memcmp(k->data.scalar.value, name, k->data.scalar.length) == 0;
}

static int add_scalar(yaml_document_t *d, const char *value, yaml_scalar_style_t style)
{
    return yaml_document_add_scalar(d, NULL, (yaml_char_t *)value, (int)strlen(value), style);
}

/* Sets map[key] = value node (every pair with that key, so duplicates cannot disagree);
 * appends the pair when absent. 0 on failure. */
static int map_set(yaml_document_t *d, int map, const char *key, int value)
{
    int found = 0;
    yaml_node_t *m = node(d, map);
    if (!m || m->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (key_is(d, p->key, key)) {
            p->value = value;
            found = 1;
        }
    if (found)
        return 1;
    int k = add_scalar(d, key, YAML_PLAIN_SCALAR_STYLE);
    return k && yaml_document_append_mapping_pair(d, map, k, value);
}

/* map[key] when it is a mapping; otherwise a new empty mapping is put there. 0 on failure. */
static int map_child(yaml_document_t *d, int map, const char *key)
{
    yaml_node_t *m = node(d, map);
    if (!m || m->type != YAML_MAPPING_NODE)
        return 0;
    int last = 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (key_is(d, p->key, key))
            last = p->value;
    yaml_node_t *v = node(d, last);
    if (v && v->type == YAML_MAPPING_NODE)
        return last;
    int child = yaml_document_add_mapping(d, NULL, YAML_BLOCK_MAPPING_STYLE);
    return child && map_set(d, map, key, child) ? child : 0;
}

static int set_string(yaml_document_t *d, int map, const char *key, const char *value)
{
    int v = add_scalar(d, value, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    return v && map_set(d, map, key, v);
}

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
    return buf_append((struct buf *)data, buffer, size) == MMSP_OK;
}

mmsp_err reg_manifest_merge(const char *text, size_t len, const struct reg_gate_inputs *in,
                            char **out, size_t *outlen, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    yaml_parser_t parser;
    yaml_emitter_t emitter;
    yaml_document_t doc;
    int have_parser = 0, have_doc = 0, have_emitter = 0;
    struct buf b;
    char num[32];

    buf_init(&b, 2 * (size_t)POLICY_MAX_BYTES);
    *out = NULL;
    *outlen = 0;
    if (text) {
        if (!yaml_parser_initialize(&parser)) {
            rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
            goto out;
        }
        have_parser = 1;
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
        if (!yaml_parser_load(&parser, &doc)) {
            rc = reg_fail(err, errlen, MMSP_E_PARSE, "manifest: %s",
                          parser.problem ? parser.problem : "invalid YAML");
            goto out;
        }
        have_doc = 1;
    } else {
        if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1)) {
            rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
            goto out;
        }
        have_doc = 1;
        int root = yaml_document_add_mapping(&doc, NULL, YAML_BLOCK_MAPPING_STYLE);
        if (!root || !set_string(&doc, root, "apiVersion", "mlifecycle.io/v1") ||
            !set_string(&doc, root, "kind", "ModelDeployment") ||
            !set_string(&doc, map_child(&doc, map_child(&doc, root, "spec"), "model"), "name",
                        in->model_name ? in->model_name : "")) {
            rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
            goto out;
        }
    }
    yaml_node_t *root_node = yaml_document_get_root_node(&doc);
    if (!root_node || root_node->type != YAML_MAPPING_NODE) {
        rc = reg_fail(err, errlen, MMSP_E_PARSE, "manifest: the document is not a mapping");
        goto out;
    }
    int root = (int)(root_node - doc.nodes.start) + 1;
    int ok = 1;
    if (in->n_metrics) {
        int spec = map_child(&doc, root, "spec");
        int metrics = spec ? map_child(&doc, spec, "metrics") : 0;
        ok = metrics != 0;
        for (size_t i = 0; ok && i < in->n_metrics; i++) {
            int v = add_scalar(&doc, reg_f64(num, in->metrics[i].value), YAML_PLAIN_SCALAR_STYLE);
            ok = v && map_set(&doc, metrics, in->metrics[i].key, v);
        }
    }
    const char *lineage_keys[] = {"git_sha", "dataset_version", "approver", "run_id"};
    const char *lineage_vals[] = {in->git_sha, in->dataset_version, in->approver, in->run_id};
    for (size_t i = 0; ok && i < sizeof lineage_keys / sizeof lineage_keys[0]; i++) {
        if (!lineage_vals[i])
            continue;
        int spec = map_child(&doc, root, "spec");
        int lineage = spec ? map_child(&doc, spec, "lineage") : 0;
        ok = lineage && set_string(&doc, lineage, lineage_keys[i], lineage_vals[i]);
    }
    if (ok && in->framework) {
        int spec = map_child(&doc, root, "spec");
        int model = spec ? map_child(&doc, spec, "model") : 0;
        ok = model && set_string(&doc, model, "framework", in->framework);
    }
    if (!ok) {
        rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
        goto out;
    }

    if (!yaml_emitter_initialize(&emitter)) {
        rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    have_emitter = 1;
    yaml_emitter_set_output(&emitter, write_handler, &b);
    yaml_emitter_set_unicode(&emitter, 1);
    yaml_emitter_set_width(&emitter, -1);
    have_doc = 0; /* yaml_emitter_dump deletes the document, even when it fails */
    if (!yaml_emitter_open(&emitter) || !yaml_emitter_dump(&emitter, &doc) ||
        !yaml_emitter_close(&emitter) || !b.data) {
        rc = reg_fail(err, errlen, MMSP_E_TOO_LARGE, "manifest: cannot write the merged manifest");
        goto out;
    }
    *out = buf_detach(&b, outlen);
out:
    if (have_emitter)
        yaml_emitter_delete(&emitter);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    buf_release(&b);
    return rc;
}

/* ---- the gate ---- */

void reg_gate_release(struct reg_gate *g)
{
    if (!g)
        return;
    manifest_free(&g->manifest);
    free(g->report);
    free(g->summary);
    json_decref(g->failures);
    memset(g, 0, sizeof *g);
}

mmsp_err reg_gate_run(const struct reg_gate_inputs *in, struct reg_gate *g, char *err,
                      size_t errlen)
{
    mmsp_err rc;
    char *merged = NULL;
    size_t merged_len = 0;
    struct policy *pol = NULL;
    struct policy_result res = {0};
    const char *mname = in->manifest_name ? in->manifest_name : "manifest";

    memset(g, 0, sizeof *g);
    for (size_t i = 0; i < in->n_metrics; i++) {
        const char *k = in->metrics[i].key;
        if (!k || !*k || strnlen(k, REG_TAG_KEY_MAX + 1) > REG_TAG_KEY_MAX)
            return reg_fail(err, errlen, MMSP_E_INVALID, "metric name is empty or too long");
        for (const char *p = k; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return reg_fail(err, errlen, MMSP_E_INVALID,
                                "metric name contains control characters");
        if (!reg_utf8_valid(k))
            return reg_fail(err, errlen, MMSP_E_INVALID, "metric name is not valid UTF-8");
        if (!isfinite(in->metrics[i].value))
            return reg_fail(err, errlen, MMSP_E_INVALID, "metric %.64s is not a finite number", k);
    }
    /* The manifest as given must be valid on its own: its errors name its own lines. */
    if (in->manifest_text) {
        struct manifest check;
        rc = manifest_parse(in->manifest_text, in->manifest_len, mname, &check, err, errlen);
        manifest_free(&check);
        if (rc)
            goto out;
    }
    rc = reg_manifest_merge(in->manifest_text, in->manifest_len, in, &merged, &merged_len, err,
                            errlen);
    if (rc)
        goto out;
    rc = manifest_parse(merged, merged_len, mname, &g->manifest, err, errlen);
    if (rc)
        goto out;
    if (in->skip_gate) {
        g->status = "not_evaluated";
        goto out;
    }
    rc = in->policy_path ? policy_load(in->policy_path, &pol, err, errlen)
                         : policy_default(&pol, err, errlen);
    if (rc)
        goto out;
    rc = policy_evaluate(pol, &g->manifest, &res, err, errlen);
    if (rc)
        goto out;
    g->report = policy_result_json(&res);
    g->failures = json_array();
    g->summary = malloc(2048);
    if (!g->report || !g->failures || !g->summary) {
        rc = reg_fail(err, errlen, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    policy_result_summary(&res, g->summary, 2048);
    for (size_t i = 0; i < res.n_rules; i++) {
        const struct policy_rule_result *rr = &res.rules[i];
        if (rr->passed)
            continue;
        json_array_append_new(g->failures,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", rr->name, "field",
                                        rr->field, "op", rr->op, "bound", rr->bound, "seen",
                                        rr->seen, "message", rr->message));
    }
    if (res.passed) {
        g->status = "passed";
    } else if (in->force) {
        g->status = "forced";
    } else {
        rc = reg_fail(err, errlen, MMSP_E_POLICY, "gate refused %.256s: %s",
                      in->model_name ? in->model_name : "the version", g->summary);
    }
out:
    policy_result_free(&res);
    policy_free(pol);
    free(merged);
    if (rc)
        reg_gate_release(g);
    return rc;
}
