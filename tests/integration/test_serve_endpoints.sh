#!/usr/bin/env bash
# Happy path of every endpoint of `mmsp serve` over the fixture repository (lib.sh `fixtures`):
# binary (config.yaml, 30 features, binary:logistic), multi (no config, 4 features, softprob
# 3 classes), regress (versions 1 and 2, policy latest -> only 2 served).
# Values are checked against what the model files say (python3-xgboost computes them here).
source "$(dirname "$0")/lib.sh"
fixtures

# Expected predictions from the real xgboost (Debian python3-xgboost), an oracle we did not write.
read -r -d '' ORACLE <<'EOF'
import json, sys
import numpy as np
import xgboost as xgb
repo = sys.argv[1]
def pred(path, rows, **kw):
    b = xgb.Booster(model_file=path)
    return b.predict(xgb.DMatrix(np.array(rows, dtype=np.float32)), **kw).tolist()
b30 = [[(i * 0.37 + r) % 3 - 1.5 for i in range(30)] for r in range(2)]
m4 = [[1, 2, 3, 4], [0, 0, 0, 0], [-1, 0.5, 0, 2]]
r10 = [[i * 0.1 for i in range(10)]]
print(json.dumps({
    "b30": b30, "m4": m4, "r10": r10,
    "binary": pred(f"{repo}/binary/1/model.json", b30),
    "multi": pred(f"{repo}/multi/1/model.json", m4),
    "regress2": pred(f"{repo}/regress/2/model.json", r10),
    "regress1": pred(f"{repo}/regress/1/model.json", r10),
}))
EOF
EXPECT=$(/usr/bin/python3 -c "$ORACLE" "$FIXTURES") || { echo "oracle failed" >&2; exit 1; }
B30=$(jq -c .b30 <<<"$EXPECT"); M4=$(jq -c .m4 <<<"$EXPECT"); R10=$(jq -c .r10 <<<"$EXPECT")

# close JQ_EXPR EXPECTED_JSON_ARRAY : numbers in BODY (flattened) match within 1e-5.
close() {
  local got
  got=$(printf '%s' "$BODY" | jq -c "[$1] | flatten" 2>/dev/null)
  if jq -e -n --argjson a "$got" --argjson b "$(jq -c "$2 | flatten" <<<"$EXPECT")" \
    '($a | length) == ($b | length) and ([range($a | length)] | all(($a[.] - $b[.]) | fabs < 1e-5))' \
    >/dev/null 2>&1; then pass; else fail "$1: got $got, want $(jq -c "$2" <<<"$EXPECT")"; fi
}

start_server --model-repository "$FIXTURES"

# --- health and server metadata (protocols.md 1.2, 1.3)
req GET /v2/health/live; expect_status 200; expect_json '.live' true
req GET /v2/health/ready; expect_status 200; expect_json '.ready' true
req GET /v2; expect_status 200; expect_json '.name' '"mmsp"'
expect_json '.extensions | sort' '["binary_tensor_data","model_configuration","model_repository","parameters","statistics"]'
expect_json '.version | type' '"string"'

# --- model metadata, ready, config
req GET /v2/models/binary; expect_status 200
expect_json '.' '{"name":"binary","versions":["1"],"platform":"xgboost_json","inputs":[{"name":"input","datatype":"FP32","shape":[-1,30]}],"outputs":[{"name":"predict","datatype":"FP32","shape":[-1]}]}'
req GET /v2/models/multi; expect_status 200; expect_json '.outputs[0].shape' '[-1,3]'
expect_json '.inputs[0].shape' '[-1,4]'
req GET /v2/models/regress; expect_status 200; expect_json '.versions' '["2"]'
req GET /v2/models/regress/versions/2; expect_status 200; expect_json '.versions' '["2"]'
req GET /v2/models/regress/versions/1; expect_error 404 "version 1 is not served (policy latest)"
req GET /v2/models/binary/ready; expect_status 200; expect_json '.ready' true; expect_json '.name' '"binary"'
req GET /v2/models/regress/versions/2/ready; expect_status 200; expect_json '.ready' true
req GET /v2/models/binary/config; expect_status 200; expect_json '.name' '"binary"'
expect_json '.max_batch_size' 64; expect_json '.input[0].dims' '[30]'
req GET /v2/models/multi/versions/1/config; expect_status 200; expect_json '.input[0].name' '"input"'
req GET /v2/models/nope; expect_error 404 "unknown model"

# --- v2 infer, JSON
req POST /v2/models/binary/infer "{\"id\":\"req-1\",\"inputs\":[{\"name\":\"input\",\"shape\":[2,30],\"datatype\":\"FP32\",\"data\":$B30}]}"
expect_status 200; expect_json '.model_name' '"binary"'; expect_json '.model_version' '"1"'
expect_json '.id' '"req-1"'; expect_json '.outputs[0].name' '"predict"'; expect_json '.outputs[0].shape' '[2]'
expect_json '.outputs[0].datatype' '"FP32"'
close '.outputs[0].data' .binary
if grep -qi '^content-type: application/json' <<<"$HEADERS"; then pass; else fail "infer content type: $HEADERS"; fi
# FP64 nested data converted to the model's FP32; versioned path
req POST /v2/models/multi/versions/1/infer "{\"inputs\":[{\"name\":\"input\",\"shape\":[3,4],\"datatype\":\"FP64\",\"data\":$M4}]}"
expect_status 200; expect_json '.outputs[0].shape' '[3,3]'; close '.outputs[0].data' .multi
# INT64 input, default version = highest loaded (2)
req POST /v2/models/regress/infer "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,10],\"datatype\":\"FP32\",\"data\":$R10}],\"outputs\":[{\"name\":\"predict\"}]}"
expect_status 200; expect_json '.model_version' '"2"'; close '.outputs[0].data' .regress2
req POST /v2/models/regress/infer '{"inputs":[{"name":"input","shape":[1,10],"datatype":"INT64","data":[1,2,3,4,5,6,7,8,9,10]}]}'
expect_status 200; expect_json '.outputs[0].data | length' 1

# --- v2 infer, binary tensor data (protocols.md 1.7): binary input and binary output
HDR=$(jq -c -n '{inputs:[{name:"input",shape:[1,10],datatype:"FP32",parameters:{binary_data_size:40}}],outputs:[{name:"predict",parameters:{binary_data:true}}]}')
/usr/bin/python3 - "$HDR" "$R10" >"$WORK/bin.req" <<'EOF'
import struct, sys, json
sys.stdout.buffer.write(sys.argv[1].encode() + struct.pack('<10f', *json.loads(sys.argv[2])[0]))
EOF
req POST /v2/models/regress/infer "@$WORK/bin.req" -H "Inference-Header-Content-Length: ${#HDR}" -H 'Content-Type: application/octet-stream'
expect_status 200 "binary infer"
if grep -qi '^content-type: application/octet-stream' <<<"$HEADERS"; then pass; else fail "binary content type: $HEADERS"; fi
JL=$(grep -i '^inference-header-content-length:' <<<"$HEADERS" | tr -dc 0-9)
SIZE=$(stat -c %s "$WORK/body")
if [ -n "$JL" ] && [ $((SIZE - JL)) -eq 4 ]; then pass; else fail "binary response: header length '$JL', body $SIZE bytes"; fi
head -c "$JL" "$WORK/body" >"$WORK/json"
if [ "$(jq -c '.outputs[0].parameters.binary_data_size' "$WORK/json")" = 4 ] && [ "$(jq -c '.outputs[0] | has("data")' "$WORK/json")" = false ]; then pass; else fail "binary json part: $(cat "$WORK/json")"; fi
GOT=$(/usr/bin/python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); print(struct.unpack("<f", d[int(sys.argv[2]):])[0])' "$WORK/body" "$JL")
WANT=$(jq '.regress2[0]' <<<"$EXPECT")
if jq -e -n "($GOT - $WANT) | fabs < 1e-5" >/dev/null; then pass; else fail "binary output $GOT, want $WANT"; fi
# binary_data_output at request level, JSON input
req POST /v2/models/binary/infer "{\"parameters\":{\"binary_data_output\":true},\"inputs\":[{\"name\":\"input\",\"shape\":[2,30],\"datatype\":\"FP32\",\"data\":$B30}]}"
expect_status 200
if [ "$(stat -c %s "$WORK/body")" -eq "$(( $(grep -i '^inference-header-content-length:' <<<"$HEADERS" | tr -dc 0-9) + 8 ))" ]; then pass; else fail "binary_data_output: $HEADERS"; fi

# --- statistics (Triton format, real counts)
req GET /v2/models/binary/stats; expect_status 200
expect_json '.model_stats | length' 1; expect_json '.model_stats[0].name' '"binary"'
expect_json '.model_stats[0].version' '"1"'
expect_json '.model_stats[0].inference_count' 4
expect_json '.model_stats[0].execution_count' 2
expect_json '.model_stats[0].inference_stats.success.count' 2
expect_json '.model_stats[0].inference_stats.success.ns > 0' true
expect_json '.model_stats[0].inference_stats.compute_infer.ns > 0' true
expect_json '.model_stats[0].inference_stats.fail.count' 0
expect_json '.model_stats[0].last_inference > 1600000000000' true
expect_json '[.model_stats[0].batch_stats[] | .batch_size]' '[2]'
expect_json '.model_stats[0].batch_stats[0].compute_infer.count' 2
req GET /v2/models/regress/versions/2/stats; expect_status 200
expect_json '.model_stats[0].inference_stats.success.count' 3
req GET /v2/models/stats; expect_status 200
expect_json '[.model_stats[] | .name + ":" + .version]' '["binary:1","multi:1","regress:2"]'

# --- KServe v1
req GET /v1/models; expect_status 200; expect_json '.models' '["binary","multi","regress"]'
req GET /v1/models/multi; expect_status 200; expect_json '.' '{"name":"multi","ready":true}'
req POST /v1/models/multi:predict "{\"instances\":$M4}"
expect_status 200; expect_json '.predictions | length' 3; expect_json '.predictions[0] | length' 3
close '.predictions' .multi
req POST /v1/models/regress:predict "{\"instances\":$R10}"
expect_status 200; expect_json '.predictions[0] | type' '"number"'; close '.predictions' .regress2
req POST /v1/models/binary:predict "{\"inputs\":$B30}"
expect_status 200; close '.predictions' .binary

# --- repository extension: index, unload, load (protocols.md 1.8)
req POST /v2/repository/index; expect_status 200
expect_json '.' '[{"name":"binary","version":"1","state":"READY","reason":""},{"name":"multi","version":"1","state":"READY","reason":""},{"name":"regress","version":"2","state":"READY","reason":""}]'
req POST /v2/repository/models/regress/unload; expect_status 200
req GET /v2/models/regress/ready; expect_error 503 "unloaded model ready"
req POST /v2/models/regress/infer "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,10],\"datatype\":\"FP32\",\"data\":$R10}]}"
expect_error 503 "infer on unloaded model"
req POST /v2/repository/index '{"ready":true}'; expect_status 200; expect_json '[.[] | .name]' '["binary","multi"]'
req POST /v2/repository/index '{"ready":false}'; expect_status 200
expect_json '[.[] | select(.name=="regress") | .state]' '["UNAVAILABLE"]'
req GET /v1/models; expect_json '.models' '["binary","multi"]'
req GET /v2/health/ready; expect_status 200 "server stays ready after an explicit unload"
# load picks up config changes: serve both versions now
printf 'backend: xgboost\nmax_batch_size: 128\nversion_policy:\n  all: {}\n' >"$FIXTURES/regress/config.yaml"
req POST /v2/repository/models/regress/load; expect_status 200
req GET /v2/models/regress; expect_json '.versions' '["1","2"]'
req POST /v2/models/regress/versions/1/infer "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,10],\"datatype\":\"FP32\",\"data\":$R10}]}"
expect_status 200; expect_json '.model_version' '"1"'; close '.outputs[0].data' .regress1
# a failed reload keeps the previous versions serving
cp "$FIXTURES/regress/2/model.json" "$WORK/good.json"
echo '{"not": "a model"}' >"$FIXTURES/regress/2/model.json"
req POST /v2/repository/models/regress/load; expect_error 400 "reload of a broken model"
req POST /v2/models/regress/versions/2/infer "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,10],\"datatype\":\"FP32\",\"data\":$R10}]}"
expect_status 200 "old version serves after a failed reload"; close '.outputs[0].data' .regress2
cp "$WORK/good.json" "$FIXTURES/regress/2/model.json"
req POST /v2/repository/models/nope/load; expect_error 404 "load of a model not in the repository"

# --- simple API: several models and no --default-model -> 404 that says what to do
req GET /health; expect_status 200; expect_json '.status' '"ok"'
req GET /ready; expect_error 404 "simple API without --default-model"
if grep -q -- '--default-model' <<<"$BODY"; then pass; else fail "error should mention --default-model: $BODY"; fi

# --- metrics
req GET /metrics; expect_status 200
if grep -qi '^content-type: text/plain; version=0.0.4' <<<"$HEADERS"; then pass; else fail "metrics content type: $HEADERS"; fi
for m in 'inference_requests_total{model="binary",version="1"} 3' \
         'inference_predictions_total{model="binary",version="1"} 6' \
         'inference_errors_total{model="binary",version="1"} 0' \
         'mmsp_inference_request_duration_seconds_count{model="binary",version="1"} 3'; do
  if grep -qF "$m" <<<"$BODY"; then pass; else fail "metrics: missing '$m'"; fi
done
if grep -qE '^inference_latency_seconds\{model="binary",version="1"\} [0-9.e-]+$' <<<"$BODY"; then pass; else fail "latency gauge missing"; fi
if grep -qE '^mmsp_http_requests_total\{code="200"\} [0-9]+' <<<"$BODY"; then pass; else fail "http counter missing"; fi
if grep -qE '^inference_errors_total\{model="",version=""\} [1-9]' <<<"$BODY"; then pass; else fail "unknown-model errors not counted"; fi
stop_server

# --- simple API with --default-model (a classifier: labels and probabilities)
start_server --model-repository "$FIXTURES" --default-model binary
req GET /ready; expect_status 200; expect_json '.' '{"ready":true,"model":"binary","version":"1"}'
req GET /model/info; expect_status 200
expect_json '[.name,.version,.backend,.platform,.objective,.task,.num_class,.num_feature]' \
  '["binary","1","xgboost","xgboost_json","binary:logistic","binary",1,30]'
expect_json '.inputs[0].shape' '[-1,30]'
expect_json '.loaded_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' true
req POST /predict "{\"id\":\"p1\",\"features\":$(jq -c '.[0]' <<<"$B30")}"
expect_status 200; expect_json '.id' '"p1"'; expect_json '.model' '"binary"'; expect_json '.version' '"1"'
close '.predictions' '.binary[0:1]'
P0=$(jq '.binary[0]' <<<"$EXPECT")
expect_json '.labels' "[$(jq -n "if $P0 >= 0.5 then 1 else 0 end")]"
close '.probabilities' "[[1 - .binary[0], .binary[0]]]"
expect_json '.latency_ms | type' '"number"'
req POST /predict "{\"instances\":$B30}"; expect_status 200; expect_json '.predictions | length' 2
expect_json '.probabilities | length' 2
stop_server

# multiclass default model: argmax labels, softprob rows as probabilities
start_server --model-repository "$FIXTURES" --default-model multi
req POST /predict "{\"instances\":$M4}"; expect_status 200
close '.probabilities' .multi
expect_json '.labels' "$(jq -c '[.multi[] | . as $r | [range(3)] | max_by($r[.])]' <<<"$EXPECT")"
req GET /model/info; expect_json '[.task,.num_class,.num_feature]' '["multiclass",3,4]'

finish
