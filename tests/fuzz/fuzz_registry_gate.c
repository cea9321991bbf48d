/*
 * Fuzz driver for the registry's own input parsing. The first byte selects:
 *   even: the rest is a manifest for the registration gate (reg_gate_run): it is parsed, the
 *         registration's --metric and lineage values are merged into its YAML document, the
 *         result is emitted, parsed again and gated. On success the merged values must be the
 *         ones the registration gave (accuracy 0.875, git_sha "fuzz-sha").
 *   odd:  the rest is a page token (reg_page_token_decode); a decoded offset must encode and
 *         decode back to itself.
 * Every failure must leave a NUL-terminated message. Seeds: tests/fuzz/corpus/fuzz_registry_gate/.
 * Calls: registry (registry_gate.c, registry.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_gate.h"
#include "registry/registry_internal.h"

static void check_msg(const char *err, size_t len)
{
    if (strnlen(err, len) == len)
        __builtin_trap();
}

static void gate(const char *text, size_t len, int force)
{
    struct reg_metric metrics[] = {{"accuracy", 0.875}, {"new_metric", 1e-300}};
    struct reg_gate_inputs in = {.model_name = "fuzz",
                                 .manifest_text = text,
                                 .manifest_len = len,
                                 .manifest_name = "fuzz.yaml",
                                 .metrics = metrics,
                                 .n_metrics = 2,
                                 .git_sha = "fuzz-sha",
                                 .approver = "a \"quoted\"\n approver",
                                 .framework = "xgboost",
                                 .force = force};
    struct reg_gate g;
    char err[1024];
    mmsp_err rc = reg_gate_run(&in, &g, err, sizeof err);
    if (rc) {
        check_msg(err, sizeof err);
        return;
    }
    int seen = 0;
    for (size_t i = 0; i < g.manifest.n_metrics; i++)
        if (strcmp(g.manifest.metrics[i].key, "accuracy") == 0) {
            if (g.manifest.metrics[i].value != 0.875)
                __builtin_trap();
            seen = 1;
        }
    if (!seen || !g.manifest.git_sha || strcmp(g.manifest.git_sha, "fuzz-sha") != 0 ||
        !g.manifest.approver || strcmp(g.manifest.approver, in.approver) != 0 || !g.status)
        __builtin_trap();
    reg_gate_release(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if ((data[0] & 1) == 0) {
        gate((const char *)data + 1, size - 1, data[0] & 2);
        return 0;
    }
    char token[600], err[256];
    size_t n = size - 1 < sizeof token - 1 ? size - 1 : sizeof token - 1;
    memcpy(token, data + 1, n);
    token[n] = '\0';
    size_t offset = 0, again = 0;
    if (reg_page_token_decode(token, &offset, err, sizeof err) != MMSP_OK) {
        check_msg(err, sizeof err);
        return 0;
    }
    char *enc = reg_page_token_encode(offset);
    if (!enc)
        return 0;
    if (reg_page_token_decode(enc, &again, err, sizeof err) != MMSP_OK || again != offset)
        __builtin_trap();
    free(enc);
    return 0;
}
