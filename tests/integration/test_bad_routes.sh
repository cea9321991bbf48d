#!/bin/bash
# Unknown paths (404), wrong methods (405), unknown models/versions (404) on the v2 and v1 APIs:
# each gets an {"error": ...} body, the server stays up and answers a good request after each.
source "$(dirname "$0")/lib.sh"
fixtures
start_server --model-repository "$FIXTURES"

req GET /v2/health/live
expect_status 200 "live"
req GET /v2/health/ready
expect_status 200 "ready"
req GET /v2/models/binary/ready
expect_status 200 "model ready"
req GET /v2/models/binary
expect_status 200 "model metadata"
expect_json '.name' '"binary"'
expect_json '[.inputs[0].name, .inputs[0].datatype, .inputs[0].shape]' '["input","FP32",[-1,30]]'
expect_json '[.outputs[0].name, .outputs[0].datatype, .outputs[0].shape]' '["predict","FP32",[-1]]'
req GET /v2/models/multi
expect_status 200 "multi metadata (no config.yaml: inferred)"
expect_json '[.inputs[0].name, .inputs[0].datatype, .inputs[0].shape]' '["input","FP32",[-1,4]]'
expect_json '[.outputs[0].name, .outputs[0].datatype, .outputs[0].shape]' '["predict","FP32",[-1,3]]'
req GET /v2
expect_status 200 "server metadata"
expect_json '.extensions | index("binary_tensor_data") != null' 'true'

# Wrong methods.
bad_request 405 "GET on /infer" GET /v2/models/binary/infer
bad_request 405 "PUT on /infer" PUT /v2/models/binary/infer "$(good_body)"
bad_request 405 "DELETE on /v2/health/live" DELETE /v2/health/live
bad_request 405 "POST on /v2/health/live" POST /v2/health/live '{}'
bad_request 405 "POST on /v2/health/ready" POST /v2/health/ready '{}'
bad_request 405 "DELETE on model metadata" DELETE /v2/models/binary
bad_request 405 "POST on model ready" POST /v2/models/binary/ready '{}'
bad_request 405 "GET on repository load" GET /v2/repository/models/binary/load
bad_request 405 "PATCH on /v2/models/binary/versions/1/infer" PATCH /v2/models/binary/versions/1/infer "$(good_body)"
bad_request 405 "GET on /v1/models/binary:predict" GET /v1/models/binary:predict

# Unknown paths.
bad_request 404 "/v3" GET /v3
bad_request 404 "/v2/nothing" GET /v2/nothing
bad_request 404 "/v2/modelsx/binary/infer" POST /v2/modelsx/binary/infer "$(good_body)"
bad_request 404 "/v2/models/binary/infer/extra" POST /v2/models/binary/infer/extra "$(good_body)"
bad_request 404 "/v2/models/binary/inferx" POST /v2/models/binary/inferx "$(good_body)"
bad_request 404 "/v2/models/binary/versions/1/versions/1/infer" POST /v2/models/binary/versions/1/versions/1/infer "$(good_body)"
bad_request 404 "/v2/models/binary/versions//infer" POST /v2/models/binary/versions//infer "$(good_body)"
bad_request 404 "/v2/models//infer (empty name)" POST /v2/models//infer "$(good_body)"
bad_request 404 "path traversal ../../etc/passwd as a model" POST /v2/models/../../../etc/passwd/infer "$(good_body)" --path-as-is
bad_request 404 "encoded traversal %2e%2e%2f" POST /v2/models/%2e%2e%2f%2e%2e%2fbinary/infer "$(good_body)" --path-as-is
bad_request_oneof "400|404" "model name with a NUL (%00)" POST /v2/models/binary%00x/infer "$(good_body)"
LONG=$(head -c 6000 /dev/zero | tr '\0' a)
req POST "/v2/models/$LONG/infer" "$(good_body)"
if [ "$STATUS" = 404 ] || [ "$STATUS" = 414 ] || [ "$STATUS" = 431 ]; then pass; else fail "6000-char model name: status $STATUS"; fi
expect_good_after "6000-char model name"

# Unknown models and versions.
bad_request 404 "unknown model infer" POST /v2/models/nosuch/infer "$(good_body)"
bad_request 404 "unknown model metadata" GET /v2/models/nosuch
bad_request 404 "unknown version metadata" GET /v2/models/binary/versions/7
req GET /v2/models/nosuch/ready
if [[ "$STATUS" =~ ^[45][0-9][0-9]$ ]]; then pass; else fail "unknown model ready: status $STATUS, want non-2xx"; fi
expect_good_after "unknown model ready"
bad_request 404 "unknown version 0" POST /v2/models/binary/versions/0/infer "$(good_body)"
bad_request_oneof "400|404" "version -1" POST /v2/models/binary/versions/-1/infer "$(good_body)"
bad_request_oneof "400|404" "version 99999999999999999999999" POST /v2/models/binary/versions/99999999999999999999999/infer "$(good_body)"

# KServe v1.
req GET /v1/models
expect_status 200 "v1 list models"
expect_json '.models | sort' '["binary","multi","regress"]'
req GET /v1/models/binary
expect_status 200 "v1 model ready"
expect_json '.ready' 'true'
bad_request 404 "v1 unknown model" POST /v1/models/nosuch:predict '{"instances":[[1,2,3,4]]}'
bad_request 400 "v1 wrong feature count" POST /v1/models/multi:predict '{"instances":[[1,2,3]]}'
bad_request 400 "v1 ragged instances" POST /v1/models/multi:predict '{"instances":[[1,2,3,4],[1,2,3]]}'
bad_request 400 "v1 instances not a list" POST /v1/models/multi:predict '{"instances":5}'
bad_request 400 "v1 malformed JSON" POST /v1/models/multi:predict '{"instances":[[1,2'
bad_request 400 "v1 string feature" POST /v1/models/multi:predict '{"instances":[["a",2,3,4]]}'

finish
