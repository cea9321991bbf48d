/*
 * Fuzz driver for the policy module's parsers and the gate. The first byte selects:
 *   '0' (any byte % 3 == 0): the rest is a manifest: manifest_parse, then gated by the
 *       built-in policy, then manifest_to_yaml must parse back;
 *   '1': the rest is a policy: policy_parse, then evaluated on a fixed manifest;
 *   '2': the rest is "POLICY\0MANIFEST": both parsed, then policy_evaluate.
 * Every success is reported (summary, JSON) and freed; every failure must leave a
 * NUL-terminated message. Seeds: tests/fuzz/corpus/fuzz_manifest/.
 * Calls: policy/policy.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static const char fixed_manifest[] = "apiVersion: mlifecycle.io/v1\n"
                                     "kind: ModelDeployment\n"
                                     "spec:\n"
                                     "  model: {name: m, version: '1', framework: xgboost}\n"
                                     "  metrics: {accuracy: 0.9, f1_score: 0.85}\n"
                                     "  fairness: {demographic_parity: 0.02}\n"
                                     "  drift: {score: 0.1}\n"
                                     "  dependencies: [xgboost==1.7.4, {name: numpy}]\n"
                                     "  lineage: {git_sha: abc, approver: me}\n";

static void check_msg(const char *err, size_t len)
{
    if (strnlen(err, len) == len)
        __builtin_trap(); /* the message must be terminated */
}

static void report(const struct policy *p, const struct manifest *m)
{
    struct policy_result r;
    char err[MMSP_ERRMSG_MAX], sum[512];
    if (policy_evaluate(p, m, &r, err, sizeof err) != MMSP_OK) {
        check_msg(err, sizeof err);
        return;
    }
    policy_result_summary(&r, sum, sizeof sum);
    check_msg(sum, sizeof sum);
    char *json = policy_result_json(&r);
    if (!json)
        __builtin_trap(); /* every report must be valid JSON text (UTF-8 fixed up) */
    free(json);
    policy_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[MMSP_ERRMSG_MAX];
    struct manifest m;
    struct policy *p = NULL;
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0:
        if (manifest_parse(text, len, "manifest.yaml", &m, err, sizeof err) != MMSP_OK) {
            check_msg(err, sizeof err);
            break;
        }
        if (policy_default(&p, err, sizeof err) != MMSP_OK)
            __builtin_trap();
        report(p, &m);
        {
            /* what was parsed can be written out and read back (escaping may make it grow
             * past the size limit: that alone is not a bug) */
            char *y = manifest_to_yaml(&m);
            struct manifest back;
            mmsp_err rc = y ? manifest_parse(y, strlen(y), "generated", &back, err, sizeof err)
                            : MMSP_E_TOO_LARGE;
            if (rc == MMSP_OK)
                manifest_free(&back);
            else if (rc != MMSP_E_TOO_LARGE)
                __builtin_trap();
            free(y);
        }
        manifest_free(&m);
        break;
    case 1:
        if (policy_parse(text, len, "policy.yaml", &p, err, sizeof err) != MMSP_OK) {
            check_msg(err, sizeof err);
            break;
        }
        if (manifest_parse(fixed_manifest, sizeof fixed_manifest - 1, "fixed", &m, err, sizeof err))
            __builtin_trap();
        report(p, &m);
        manifest_free(&m);
        break;
    default: {
        const char *nul = memchr(text, '\0', len);
        size_t plen = nul ? (size_t)(nul - text) : len;
        if (policy_parse(text, plen, "policy.yaml", &p, err, sizeof err) != MMSP_OK) {
            check_msg(err, sizeof err);
            break;
        }
        const char *mt = nul ? nul + 1 : "";
        size_t mlen = nul ? len - plen - 1 : 0;
        if (manifest_parse(mt, mlen, "manifest.yaml", &m, err, sizeof err) != MMSP_OK) {
            check_msg(err, sizeof err);
            break;
        }
        report(p, &m);
        manifest_free(&m);
        break;
    }
    }
    policy_free(p);
    return 0;
}
