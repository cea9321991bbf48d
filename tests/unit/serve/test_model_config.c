/*
 * Unit tests for src/serve/model_config: a full config, defaults, aliases and TYPE_ spellings,
 * every error with its file:line: field, version selection, the Triton JSON (read back with
 * jansson), loading from a file, and completion against a real model (a one-tree XGBoost JSON
 * model written to a temp file and loaded with mmsp_model_load).
 * Calls: serve/model_config, the mmsp runtime, jansson, common/buf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "mmsp/mmsp.h"
#include "serve/model_config.h"

static mmsp_err parse(const char *yaml, const char *model, struct model_config *c, char *err)
{
    return model_config_parse(yaml, strlen(yaml), "config.yaml", model, c, err, MMSP_ERRMSG_MAX);
}

static void test_full_config(void **state)
{
    (void)state;
    const char *y = "# a full config\n"
                    "name: fraud-detector\n"
                    "backend: xgboost\n"
                    "max_batch_size: 64\n"
                    "input:\n"
                    "  - name: input\n"
                    "    datatype: FP32\n"
                    "    dims: [30]\n"
                    "output:\n"
                    "  - name: predict\n"
                    "    datatype: FP32\n"
                    "    dims: [1]\n"
                    "  - {name: label, datatype: INT64, dims: [-1, 2]}\n"
                    "dynamic_batching:\n"
                    "  max_queue_delay_microseconds: 100\n"
                    "  preferred_batch_size: [8, 16]\n"
                    "instance_group: [{count: 2, kind: KIND_CPU}, {count: 1}]\n"
                    "version_policy: {specific: {versions: [1, 3]}}\n"
                    "default_model_filename: model.json\n";
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(parse(y, "fraud-detector", &c, err), MMSP_OK);
    assert_string_equal(c.name, "fraud-detector");
    assert_string_equal(c.backend, "xgboost");
    assert_int_equal(c.max_batch_size, 64);
    assert_true(c.max_batch_size_set);
    assert_int_equal(c.n_inputs, 1);
    assert_string_equal(c.inputs[0].name, "input");
    assert_int_equal(c.inputs[0].dtype, MMSP_DT_FP32);
    assert_int_equal(c.inputs[0].ndim, 1);
    assert_int_equal(c.inputs[0].dims[0], 30);
    assert_int_equal(c.n_outputs, 2);
    assert_string_equal(c.outputs[1].name, "label");
    assert_int_equal(c.outputs[1].dtype, MMSP_DT_INT64);
    assert_int_equal(c.outputs[1].ndim, 2);
    assert_int_equal(c.outputs[1].dims[0], -1);
    assert_int_equal(c.outputs[1].dims[1], 2);
    assert_true(c.dynamic_batching);
    assert_int_equal(c.max_queue_delay_us, 100);
    assert_int_equal(c.n_preferred_batch_sizes, 2);
    assert_int_equal(c.preferred_batch_sizes[0], 8);
    assert_int_equal(c.preferred_batch_sizes[1], 16);
    assert_int_equal(c.instance_count, 3);
    assert_int_equal(c.version_policy, VERSION_POLICY_SPECIFIC);
    assert_int_equal(c.n_specific_versions, 2);
    assert_int_equal(c.specific_versions[1], 3);
    assert_string_equal(c.default_model_filename, "model.json");
    model_config_release(&c);
    assert_null(c.name); /* released back to defaults */
    assert_int_equal(c.instance_count, 1);
}

static void test_defaults(void **state)
{
    (void)state;
    const char *docs[] = {"", "# only a comment\n", "{}\n", "---\n", "~\n"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        struct model_config c;
        char err[MMSP_ERRMSG_MAX];
        assert_int_equal(parse(docs[i], "m", &c, err), MMSP_OK);
        assert_string_equal(c.name, "m"); /* from the directory */
        assert_null(c.backend);
        assert_int_equal(c.max_batch_size, 0);
        assert_false(c.max_batch_size_set);
        assert_int_equal(c.n_inputs, 0);
        assert_int_equal(c.n_outputs, 0);
        assert_false(c.dynamic_batching);
        assert_int_equal(c.instance_count, 1);
        assert_int_equal(c.version_policy, VERSION_POLICY_LATEST);
        assert_int_equal(c.latest_num_versions, 1);
        assert_null(c.default_model_filename);
        model_config_release(&c);
    }
    /* no directory name: no name */
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(parse("backend: onnxruntime\nmax_batch_size: 0\n", NULL, &c, err), MMSP_OK);
    assert_null(c.name);
    assert_string_equal(c.backend, "onnx");
    assert_true(c.max_batch_size_set);
    model_config_release(&c);
    /* dynamic_batching with no body is present with its defaults */
    assert_int_equal(parse("max_batch_size: 4\ndynamic_batching:\n", "m", &c, err), MMSP_OK);
    assert_true(c.dynamic_batching);
    assert_int_equal(c.max_queue_delay_us, 0);
    assert_int_equal(c.n_preferred_batch_sizes, 0);
    model_config_release(&c);
    assert_int_equal(parse("version_policy: {all: {}}\n", "m", &c, err), MMSP_OK);
    assert_int_equal(c.version_policy, VERSION_POLICY_ALL);
    model_config_release(&c);
    assert_int_equal(parse("version_policy: {latest: {num_versions: 3}}\n", "m", &c, err), MMSP_OK);
    assert_int_equal(c.version_policy, VERSION_POLICY_LATEST);
    assert_int_equal(c.latest_num_versions, 3);
    model_config_release(&c);
    assert_int_equal(parse("platform: xgboost_json\nbackend: xgboost\n", "m", &c, err), MMSP_OK);
    assert_string_equal(c.backend, "xgboost");
    model_config_release(&c);
}

static void test_aliases_and_type_spellings(void **state)
{
    (void)state;
    const char *y = "inputs:\n"
                    "  - {name: a, datatype: TYPE_FP32, dims: [4]}\n"
                    "  - {name: b, data_type: TYPE_STRING, dims: [-1]}\n"
                    "  - {name: c, datatype: BOOL, dims: []}\n"
                    "  - {name: d, data_type: TYPE_INT8, dims: [2, 3]}\n"
                    "outputs:\n"
                    "  - {name: y, data_type: TYPE_FP64, dims: [1]}\n"
                    "dynamic_batching: {max_queue_delay_us: 250}\n"
                    "max_batch_size: 8\n";
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(parse(y, "m", &c, err), MMSP_OK);
    assert_int_equal(c.n_inputs, 4);
    assert_int_equal(c.inputs[0].dtype, MMSP_DT_FP32);
    assert_int_equal(c.inputs[1].dtype, MMSP_DT_BYTES);
    assert_int_equal(c.inputs[2].dtype, MMSP_DT_BOOL);
    assert_int_equal(c.inputs[2].ndim, 0);
    assert_int_equal(c.inputs[3].dtype, MMSP_DT_INT8);
    assert_int_equal(c.n_outputs, 1);
    assert_int_equal(c.outputs[0].dtype, MMSP_DT_FP64);
    assert_int_equal(c.max_queue_delay_us, 250);
    model_config_release(&c);
}

struct bad_case {
    const char *yaml;
    mmsp_err rc;
    const char *message; /* a substring of the error */
};

static void test_errors(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        /* YAML syntax, with its line */
        {"name: m\nmax_batch_size: [1, 2\nbackend: x\n", MMSP_E_PARSE, "config.yaml:3: yaml: "},
        {"a: b\n  c: d\n", MMSP_E_PARSE, "config.yaml:2: yaml: "},
        {"name: m\n---\nname: n\n", MMSP_E_PARSE, "more than one YAML document"},
        {"- name: m\n", MMSP_E_INVALID, "config.yaml:1: config: expected a mapping, found a list"},
        /* wrong types */
        {"max_batch_size: eight\n", MMSP_E_INVALID,
         "config.yaml:1: max_batch_size: expected an integer, found 'eight'"},
        {"max_batch_size: \"8\"\n", MMSP_E_INVALID,
         "max_batch_size: expected an integer, found a quoted string"},
        {"max_batch_size: [8]\n", MMSP_E_INVALID,
         "max_batch_size: expected an integer, found a list"},
        {"max_batch_size: 1.5\n", MMSP_E_INVALID, "expected an integer, found '1.5'"},
        {"max_batch_size: -1\n", MMSP_E_INVALID, "max_batch_size: -1 is out of range"},
        {"max_batch_size: 99999999999999999999999\n", MMSP_E_INVALID, "out of range"},
        {"name: [m]\n", MMSP_E_INVALID, "config.yaml:1: name: expected a string, found a list"},
        {"name:\n", MMSP_E_INVALID, "name: expected a string, found null"},
        {"name: \"a\\0b\"\n", MMSP_E_INVALID, "name: contains a NUL byte"},
        {"input: {name: x}\n", MMSP_E_INVALID,
         "config.yaml:1: input: expected a list, found a mapping"},
        {"input: [x]\n", MMSP_E_INVALID, "input[0]: expected a mapping, found a scalar"},
        {"input: []\n", MMSP_E_INVALID, "input: is empty"},
        /* datatypes and dims */
        {"name: m\ninput:\n  - name: x\n    datatype: FLOAT\n    dims: [3]\n", MMSP_E_INVALID,
         "config.yaml:4: input[0].datatype: unknown datatype 'FLOAT'"},
        {"output:\n  - {name: y, datatype: TYPE_FLOAT32, dims: [1]}\n", MMSP_E_INVALID,
         "output[0].datatype: unknown datatype 'TYPE_FLOAT32'"},
        {"input:\n  - {name: x, datatype: FP32, dims: [3, -2]}\n", MMSP_E_INVALID,
         "config.yaml:2: input[0].dims: dims[1] is -2"},
        {"input:\n  - {name: x, datatype: FP32, dims: [a]}\n", MMSP_E_INVALID,
         "input[0].dims[0]: expected an integer"},
        {"input:\n  - {name: x, datatype: FP32, dims: [1,2,3,4,5,6,7,8,9]}\n", MMSP_E_INVALID,
         "input[0].dims: more than 8 entries"},
        {"max_batch_size: 2\ninput:\n  - {name: x, datatype: FP32, dims: [1,2,3,4,5,6,7,8]}\n",
         MMSP_E_INVALID, "config.yaml:1: max_batch_size: input[0] has 8 dims"},
        {"input:\n  - {datatype: FP32, dims: [1]}\n", MMSP_E_INVALID,
         "config.yaml:2: input[0]: name is required"},
        {"input:\n  - {name: x, dims: [1]}\n", MMSP_E_INVALID, "input[0]: datatype is required"},
        {"input:\n  - {name: x, datatype: FP32}\n", MMSP_E_INVALID, "input[0]: dims is required"},
        {"input:\n  - {name: x, datatype: FP32, data_type: FP32, dims: [1]}\n", MMSP_E_INVALID,
         "input[0].data_type: give one of datatype and data_type"},
        {"input:\n  - {name: x, datatype: FP32, dims: [1]}\n  - {name: x, datatype: FP32, dims: "
         "[1]}\n",
         MMSP_E_INVALID, "config.yaml:3: input[1]: name 'x' appears twice"},
        {"input:\n  - {name: x, datatype: FP32, dims: [1]}\ninputs:\n  - {name: y, datatype: "
         "FP32, dims: [1]}\n",
         MMSP_E_INVALID, "config.yaml:4: inputs: given twice"},
        /* unknown and duplicate keys */
        {"name: m\nmax_batch_szie: 8\n", MMSP_E_INVALID,
         "config.yaml:2: max_batch_szie: unknown key 'max_batch_szie'"},
        {"input:\n  - {name: x, datatype: FP32, dims: [1], format: FORMAT_NONE}\n", MMSP_E_INVALID,
         "config.yaml:2: input[0].format: unknown key 'format'"},
        {"max_batch_size: 4\ndynamic_batching:\n  preserve_ordering: true\n", MMSP_E_INVALID,
         "config.yaml:3: dynamic_batching.preserve_ordering: unknown key"},
        {"name: m\nname: m\n", MMSP_E_INVALID, "config.yaml:2: name: duplicate key"},
        {"[a]: 1\n", MMSP_E_INVALID, "keys must be plain strings"},
        /* names, backends */
        {"name: other\n", MMSP_E_INVALID,
         "config.yaml:1: name: 'other' does not match the directory name 'm'"},
        {"backend: tensorflow\n", MMSP_E_INVALID, "backend: unknown backend 'tensorflow'"},
        {"backend: xgboost\nplatform: onnxruntime_onnx\n", MMSP_E_INVALID,
         "config.yaml:2: platform: 'onnxruntime_onnx' disagrees with backend 'xgboost'"},
        {"default_model_filename: ../../etc/passwd\n", MMSP_E_INVALID,
         "default_model_filename: must be a file name"},
        /* batching */
        {"max_batch_size: 0\ndynamic_batching: {max_queue_delay_microseconds: 5}\n", MMSP_E_INVALID,
         "config.yaml:2: dynamic_batching: needs max_batch_size > 0"},
        {"max_batch_size: 8\ndynamic_batching: {preferred_batch_size: [4, 16]}\n", MMSP_E_INVALID,
         "preferred_batch_size: 16 is larger than max_batch_size 8"},
        {"max_batch_size: 8\ndynamic_batching: {preferred_batch_size: [0]}\n", MMSP_E_INVALID,
         "preferred_batch_size[0]: 0 is out of range"},
        {"max_batch_size: 8\ndynamic_batching: {max_queue_delay_microseconds: -5}\n",
         MMSP_E_INVALID, "max_queue_delay_microseconds: -5 is out of range"},
        /* instances */
        {"instance_group: [{count: 1, kind: KIND_GPU}]\n", MMSP_E_INVALID,
         "instance_group[0].kind: KIND_GPU is not supported"},
        {"instance_group: [{count: 0}]\n", MMSP_E_INVALID, "instance_group[0].count: 0 is out"},
        {"instance_group: [{count: 1, gpus: [0]}]\n", MMSP_E_INVALID,
         "instance_group[0].gpus: unknown key"},
        /* version policies */
        {"version_policy: latest\n", MMSP_E_INVALID,
         "config.yaml:1: version_policy: expected one of"},
        {"version_policy: {newest: {}}\n", MMSP_E_INVALID,
         "version_policy.newest: unknown version policy"},
        {"version_policy: {latest: {}, all: {}}\n", MMSP_E_INVALID,
         "version_policy: expected one of"},
        {"version_policy: {latest: {num_versions: 0}}\n", MMSP_E_INVALID,
         "version_policy.latest.num_versions: 0 is out of range"},
        {"version_policy: {specific: {versions: []}}\n", MMSP_E_INVALID,
         "version_policy.specific.versions: lists no version"},
        {"version_policy: {specific: {}}\n", MMSP_E_INVALID,
         "version_policy.specific: needs versions"},
        {"version_policy:\n  specific:\n    versions: [1, -3]\n", MMSP_E_INVALID,
         "config.yaml:3: version_policy.specific.versions[1]: -3 is out of range"},
        {"version_policy: {all: {x: 1}}\n", MMSP_E_INVALID, "version_policy.all.x: unknown key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct model_config c;
        char err[MMSP_ERRMSG_MAX] = "";
        mmsp_err rc = parse(cases[i].yaml, "m", &c, err);
        if (rc != cases[i].rc || !strstr(err, cases[i].message))
            fail_msg("case %zu:\n%s\nexpected %s with '%s'\ngot %s with '%s'", i, cases[i].yaml,
                     mmsp_err_name(cases[i].rc), cases[i].message, mmsp_err_name(rc), err);
        assert_null(c.name); /* released on failure */
        assert_null(c.inputs);
    }
}

static void test_size_ceiling(void **state)
{
    (void)state;
    size_t n = MODEL_CONFIG_MAX_BYTES + 1;
    char *big = malloc(n + 1);
    memset(big, '#', n);
    big[n] = '\0';
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(model_config_parse(big, n, "big.yaml", "m", &c, err, sizeof err),
                     MMSP_E_TOO_LARGE);
    assert_non_null(strstr(err, "big.yaml"));
    free(big);
}

static void test_version_selection(void **state)
{
    (void)state;
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    const int64_t all[] = {1, 2, 3, 5};
    assert_int_equal(parse("", "m", &c, err), MMSP_OK); /* latest 1 */
    assert_false(model_config_version_selected(&c, 3, all, 4));
    assert_true(model_config_version_selected(&c, 5, all, 4));
    assert_false(model_config_version_selected(&c, 6, all, 4)); /* not on disk */
    assert_false(model_config_version_selected(&c, 1, NULL, 0));
    model_config_release(&c);

    assert_int_equal(parse("version_policy: {latest: {num_versions: 2}}", "m", &c, err), MMSP_OK);
    assert_false(model_config_version_selected(&c, 2, all, 4));
    assert_true(model_config_version_selected(&c, 3, all, 4));
    assert_true(model_config_version_selected(&c, 5, all, 4));
    const int64_t unsorted[] = {5, 1, 3, 2};
    assert_true(model_config_version_selected(&c, 3, unsorted, 4));
    assert_false(model_config_version_selected(&c, 1, unsorted, 4));
    model_config_release(&c);

    assert_int_equal(parse("version_policy: {latest: {num_versions: 10}}", "m", &c, err), MMSP_OK);
    for (size_t i = 0; i < 4; i++)
        assert_true(model_config_version_selected(&c, all[i], all, 4));
    model_config_release(&c);

    assert_int_equal(parse("version_policy: {all: {}}", "m", &c, err), MMSP_OK);
    for (size_t i = 0; i < 4; i++)
        assert_true(model_config_version_selected(&c, all[i], all, 4));
    assert_false(model_config_version_selected(&c, 4, all, 4));
    model_config_release(&c);

    assert_int_equal(parse("version_policy: {specific: {versions: [1, 3, 4]}}", "m", &c, err),
                     MMSP_OK);
    assert_true(model_config_version_selected(&c, 1, all, 4));
    assert_false(model_config_version_selected(&c, 2, all, 4));
    assert_true(model_config_version_selected(&c, 3, all, 4));
    assert_false(model_config_version_selected(&c, 4, all, 4)); /* listed, not on disk */
    assert_false(model_config_version_selected(&c, 5, all, 4));
    model_config_release(&c);
}

/* Parses the JSON written for config text y and returns it (caller decrefs). */
static json_t *to_json(const char *y, const char *model, const char *platform)
{
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    if (parse(y, model, &c, err) != MMSP_OK)
        fail_msg("parse: %s", err);
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_str(&b, "prefix:"), MMSP_OK);
    assert_int_equal(model_config_to_json(&c, platform, &b), MMSP_OK);
    json_error_t je;
    json_t *j = json_loads(b.data + 7, 0, &je);
    if (!j)
        fail_msg("not JSON (%s): %s", je.text, b.data);
    buf_release(&b);
    model_config_release(&c);
    return j;
}

static void test_json_output(void **state)
{
    (void)state;
    const char *y = "name: \"we\\\"ird\\\\na\\nme \\u00e9\"\n"
                    "backend: xgboost\n"
                    "max_batch_size: 16\n"
                    "input: [{name: \"in\\\"put\", datatype: FP32, dims: [30]}]\n"
                    "output: [{name: predict, datatype: BYTES, dims: [-1, 1]}]\n"
                    "dynamic_batching: {max_queue_delay_microseconds: 100, "
                    "preferred_batch_size: [4, 8]}\n"
                    "instance_group: [{count: 2}]\n"
                    "version_policy: {specific: {versions: [1, 3]}}\n"
                    "default_model_filename: model.json\n";
    json_t *j = to_json(y, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "we\"ird\\na\nme \xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(j, "platform")), "xgboost_json");
    assert_string_equal(json_string_value(json_object_get(j, "backend")), "xgboost");
    assert_int_equal(json_integer_value(json_object_get(j, "max_batch_size")), 16);
    json_t *in = json_array_get(json_object_get(j, "input"), 0);
    assert_string_equal(json_string_value(json_object_get(in, "name")), "in\"put");
    assert_string_equal(json_string_value(json_object_get(in, "data_type")), "TYPE_FP32");
    assert_int_equal(json_array_size(json_object_get(in, "dims")), 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(in, "dims"), 0)), 30);
    json_t *out = json_array_get(json_object_get(j, "output"), 0);
    assert_string_equal(json_string_value(json_object_get(out, "data_type")), "TYPE_STRING");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(out, "dims"), 0)), -1);
    json_t *dyn = json_object_get(j, "dynamic_batching");
    assert_int_equal(json_integer_value(json_object_get(dyn, "max_queue_delay_microseconds")), 100);
    assert_int_equal(json_array_size(json_object_get(dyn, "preferred_batch_size")), 2);
    json_t *grp = json_array_get(json_object_get(j, "instance_group"), 0);
    assert_int_equal(json_integer_value(json_object_get(grp, "count")), 2);
    assert_string_equal(json_string_value(json_object_get(grp, "kind")), "KIND_CPU");
    json_t *vers = json_object_get(
        json_object_get(json_object_get(j, "version_policy"), "specific"), "versions");
    assert_int_equal(json_array_size(vers), 2);
    assert_int_equal(json_integer_value(json_array_get(vers, 1)), 3);
    assert_string_equal(json_string_value(json_object_get(j, "default_model_filename")),
                        "model.json");
    json_decref(j);

    /* defaults: latest policy, no dynamic_batching, platform given by the caller */
    j = to_json("backend: onnx\n", "m", "onnxruntime_onnx");
    assert_string_equal(json_string_value(json_object_get(j, "name")), "m");
    assert_string_equal(json_string_value(json_object_get(j, "platform")), "onnxruntime_onnx");
    assert_null(json_object_get(j, "dynamic_batching"));
    assert_int_equal(json_array_size(json_object_get(j, "input")), 0);
    json_t *latest = json_object_get(json_object_get(j, "version_policy"), "latest");
    assert_int_equal(json_integer_value(json_object_get(latest, "num_versions")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(j, "instance_group"), 0), "count")),
                     1);
    json_decref(j);

    j = to_json("version_policy: {all: {}}\n", "m", NULL);
    json_t *all = json_object_get(json_object_get(j, "version_policy"), "all");
    assert_true(json_is_object(all));
    assert_int_equal(json_object_size(all), 0);
    assert_string_equal(json_string_value(json_object_get(j, "platform")), "");
    json_decref(j);
}

/* Writes text to a new temp file named like `pattern` (ending in XXXXXX + suffix length). */
static void write_temp(char *path, int suffix_len, const char *text)
{
    int fd = mkstemps(path, suffix_len);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/mmsp_config_XXXXXX.yaml";
    write_temp(path, 5, "name: m\nmax_batch_size: 4\n\nbackend: foo\n");
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(model_config_load(path, "m", &c, err, sizeof err), MMSP_E_INVALID);
    char want[128];
    snprintf(want, sizeof want, "%s:4: backend: unknown backend 'foo'", path);
    assert_non_null(strstr(err, want));
    unlink(path);
    assert_int_equal(model_config_load(path, "m", &c, err, sizeof err), MMSP_E_IO);
    assert_non_null(strstr(err, path));

    char ok[] = "/tmp/mmsp_config_XXXXXX.yaml";
    write_temp(ok, 5, "max_batch_size: 4\n");
    assert_int_equal(model_config_load(ok, "m", &c, err, sizeof err), MMSP_OK);
    assert_int_equal(c.max_batch_size, 4);
    model_config_release(&c);
    unlink(ok);
}

/* A one-tree binary:logistic XGBoost model over 4 features (XGBoost 1.7 JSON layout). */
static const char *const tiny_model =
    "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
    "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
    "\"num_trees\":\"1\"},\"tree_info\":[0],\"trees\":[{\"base_weights\":[0,-0.5,0.5],"
    "\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
    "\"categories_sizes\":[],\"default_left\":[1,0,0],\"id\":0,\"left_children\":[1,-1,-1],"
    "\"loss_changes\":[1,0,0],\"parents\":[2147483647,0,0],\"right_children\":[2,-1,-1],"
    "\"split_conditions\":[0.5,-0.5,0.5],\"split_indices\":[2,0,0],\"split_type\":[0,0,0],"
    "\"sum_hessian\":[2,1,1],\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"4\","
    "\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"}}]},\"name\":\"gbtree\"},"
    "\"learner_model_param\":{\"base_score\":\"5E-1\",\"boost_from_average\":\"1\","
    "\"num_class\":\"0\",\"num_feature\":\"4\",\"num_target\":\"1\"},"
    "\"objective\":{\"name\":\"binary:logistic\",\"reg_loss_param\":{\"scale_pos_weight\":"
    "\"1\"}}},\"version\":[1,7,4]}";

static int model_setup(void **state)
{
    char path[] = "/tmp/mmsp_model_XXXXXX.json";
    write_temp(path, 5, tiny_model);
    mmsp_model *m = NULL;
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = mmsp_model_load(path, &m, err, sizeof err);
    unlink(path);
    if (rc) {
        fprintf(stderr, "mmsp_model_load: %s\n", err);
        return -1;
    }
    *state = m;
    return 0;
}

static int model_teardown(void **state)
{
    mmsp_model_release(*state);
    return 0;
}

/* Parses y and completes it against the model; returns the rc, err filled. */
static mmsp_err complete(const char *y, const mmsp_model *m, struct model_config *c, char *err)
{
    mmsp_err rc = parse(y, "tiny", c, err);
    if (rc)
        fail_msg("parse: %s", err);
    rc = model_config_complete(c, m, err, MMSP_ERRMSG_MAX);
    return rc;
}

static void test_complete_infers(void **state)
{
    const mmsp_model *m = *state;
    const mmsp_io_info *in = mmsp_model_input(m, 0);
    assert_non_null(in);
    assert_int_equal(in->dims[0], -1); /* the model is batchable */
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    assert_int_equal(complete("", m, &c, err), MMSP_OK);
    assert_string_equal(c.backend, "xgboost");
    assert_int_equal(c.max_batch_size, MODEL_CONFIG_DEFAULT_BATCH_SIZE);
    assert_int_equal(c.n_inputs, mmsp_model_input_count(m));
    assert_string_equal(c.inputs[0].name, in->name);
    assert_int_equal(c.inputs[0].dtype, MMSP_DT_FP32);
    assert_int_equal(c.inputs[0].ndim, in->ndim - 1); /* without the batch dim */
    assert_int_equal(c.inputs[0].dims[0], 4);
    assert_int_equal(c.n_outputs, mmsp_model_output_count(m));
    assert_string_equal(c.outputs[0].name, mmsp_model_output(m, 0)->name);
    model_config_release(&c);

    /* max_batch_size 0: dims are the full shape */
    assert_int_equal(complete("max_batch_size: 0\n", m, &c, err), MMSP_OK);
    assert_int_equal(c.max_batch_size, 0);
    assert_int_equal(c.inputs[0].ndim, in->ndim);
    assert_int_equal(c.inputs[0].dims[0], -1);
    assert_int_equal(c.inputs[0].dims[1], 4);
    model_config_release(&c);

    /* dynamic batching with max_batch_size unset takes the default */
    assert_int_equal(complete("dynamic_batching: {preferred_batch_size: [32]}\n", m, &c, err),
                     MMSP_OK);
    assert_int_equal(c.max_batch_size, MODEL_CONFIG_DEFAULT_BATCH_SIZE);
    model_config_release(&c);
}

static void test_complete_checks(void **state)
{
    const mmsp_model *m = *state;
    struct model_config c;
    char err[MMSP_ERRMSG_MAX];
    /* the example repository's spelling: batch dim left out, [1] for a per-row scalar */
    assert_int_equal(complete("backend: xgboost\nmax_batch_size: 8\n"
                              "input: [{name: input, datatype: FP32, dims: [4]}]\n"
                              "output: [{name: predict, datatype: TYPE_FP32, dims: [1]}]\n",
                              m, &c, err),
                     MMSP_OK);
    assert_int_equal(c.max_batch_size, 8);
    model_config_release(&c);
    assert_int_equal(complete("max_batch_size: 0\n"
                              "input: [{name: input, datatype: FP32, dims: [-1, 4]}]\n",
                              m, &c, err),
                     MMSP_OK);
    assert_int_equal(c.n_outputs, 1); /* filled in */
    model_config_release(&c);
    assert_int_equal(complete("input: [{name: input, datatype: FP32, dims: [4]}]\n", m, &c, err),
                     MMSP_OK);
    model_config_release(&c);

    static const struct bad_case cases[] = {
        {"backend: onnx\n", MMSP_E_INVALID,
         "tiny: backend: the config says onnx, the model is xgboost"},
        {"input: [{name: input, datatype: FP64, dims: [4]}]\n", MMSP_E_INVALID,
         "tiny: input[0].datatype: the config says FP64, the model has FP32"},
        {"input: [{name: input, datatype: FP32, dims: [5]}]\n", MMSP_E_INVALID,
         "tiny: input[0].dims: the config says [5], the model has [4]"},
        {"max_batch_size: 0\ninput: [{name: input, datatype: FP32, dims: [4]}]\n", MMSP_E_INVALID,
         "input[0].dims: the config says [4], the model has [-1, 4] (the full shape"},
        {"max_batch_size: 8\ninput: [{name: input, datatype: FP32, dims: [-1, 4]}]\n",
         MMSP_E_INVALID, "input[0].dims: the config says [-1, 4], the model has [4] (without"},
        {"input: [{name: features, datatype: FP32, dims: [4]}]\n", MMSP_E_INVALID,
         "input[0].name: the model has no input 'features'"},
        {"input: [{name: input, datatype: FP32, dims: [4]}, {name: b, datatype: FP32, dims: "
         "[1]}]\n",
         MMSP_E_INVALID, "input: the config lists 2, the model has 1"},
        {"output: [{name: probabilities, datatype: FP32, dims: [2]}]\n", MMSP_E_INVALID,
         "output[0].name: the model has no output 'probabilities'"},
        {"output: [{name: predict, datatype: FP32, dims: [3]}]\n", MMSP_E_INVALID,
         "output[0].dims: the config says [3]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        mmsp_err rc = complete(cases[i].yaml, m, &c, err);
        if (rc != cases[i].rc || !strstr(err, cases[i].message))
            fail_msg("case %zu:\n%s\nexpected %s with '%s'\ngot %s with '%s'", i, cases[i].yaml,
                     mmsp_err_name(cases[i].rc), cases[i].message, mmsp_err_name(rc), err);
        model_config_release(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_aliases_and_type_spellings),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_size_ceiling),
        cmocka_unit_test(test_version_selection),
        cmocka_unit_test(test_json_output),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test_setup_teardown(test_complete_infers, model_setup, model_teardown),
        cmocka_unit_test_setup_teardown(test_complete_checks, model_setup, model_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
