#!/bin/bash
# Predictions agree with python3-xgboost's own predict() on the fixture models (within 1e-5):
# binary (binary:logistic), multi (multi:softprob, output [n,3]), regress version 2 (default) and
# version 1 (via /versions/1; the test's repository copy serves all versions), over v2 JSON
# (nested and flat data, FP32 and FP64), v2 binary in and out, and KServe v1.
# Responses are collected first and compared in one python run (xgboost loads once).
source "$(dirname "$0")/lib.sh"
fixtures
# Serve every version of regress, so version 1 is reachable while 2 stays the default.
printf 'version_policy:\n  all: {}\n' >>"$FIXTURES/regress/config.yaml"
start_server --model-repository "$FIXTURES"

MANIFEST="$WORK/manifest"
: >"$MANIFEST"
NCMP=0
# collect_v2 PATH MODEL_FILE ROWS_FILE WHAT : sends $WORK/req.json, keeps the response
collect_v2() {
  NCMP=$((NCMP + 1))
  req POST "$1" @"$WORK/req.json" -H 'Content-Type: application/json'
  expect_status 200 "$4"
  cp "$WORK/body" "$WORK/resp$NCMP.json"
  cp "$3" "$WORK/rows$NCMP.json"
  echo "v2 $WORK/resp$NCMP.json $2 $WORK/rows$NCMP.json $4" >>"$MANIFEST"
}
# collect_list JSON_LIST_FILE MODEL_FILE ROWS_FILE WHAT
collect_list() {
  NCMP=$((NCMP + 1))
  cp "$1" "$WORK/list$NCMP.json"
  cp "$3" "$WORK/rows$NCMP.json"
  echo "list $WORK/list$NCMP.json $2 $WORK/rows$NCMP.json $4" >>"$MANIFEST"
}

for spec in "binary 30 binary/1" "multi 4 multi/1" "regress 10 regress/2"; do
  set -- $spec
  model=$1 nfeat=$2 file="$FIXTURES/$3/model.json"
  for n in 1 7 64; do
    $PY "$V2TOOL" rows $((n * 31 + nfeat)) $n "$nfeat" >"$WORK/rows.json"
    $PY "$V2TOOL" v2-body "$WORK/rows.json" >"$WORK/req.json"
    collect_v2 "/v2/models/$model/infer" "$file" "$WORK/rows.json" "$model, $n rows (v2 JSON)"
  done
  $PY "$V2TOOL" rows 99 5 "$nfeat" >"$WORK/rows.json"
  # Flat data.
  jq -c '.inputs[0].data |= flatten' <<<"$($PY "$V2TOOL" v2-body "$WORK/rows.json")" >"$WORK/req.json"
  collect_v2 "/v2/models/$model/infer" "$file" "$WORK/rows.json" "$model, 5 rows (v2 JSON, flat data)"
  # FP64 input.
  $PY "$V2TOOL" v2-body "$WORK/rows.json" FP64 >"$WORK/req.json"
  collect_v2 "/v2/models/$model/infer" "$file" "$WORK/rows.json" "$model, 5 rows (v2 JSON, FP64)"
  # Binary input and binary output.
  H=$($PY "$V2TOOL" binary-body "$WORK/req.bin" "$WORK/rows.json" '{"parameters":{"binary_data_output":true}}')
  req POST "/v2/models/$model/infer" @"$WORK/req.bin" -H 'Content-Type: application/octet-stream' \
    -H "Inference-Header-Content-Length: $H"
  expect_status 200 "$model binary"
  RH=$(printf '%s' "$HEADERS" | tr -d '\r' | grep -i '^Inference-Header-Content-Length:' | sed 's/^[^:]*: *//')
  if DEC=$($PY "$V2TOOL" decode-binary "$WORK/body" "${RH:-0}"); then
    pass
    printf '%s' "$DEC" | jq -c '.floats' >"$WORK/floats.json"
    collect_list "$WORK/floats.json" "$file" "$WORK/rows.json" "$model binary output"
  else
    fail "$model binary output does not decode (Inference-Header-Content-Length '${RH}'): $DEC"
  fi
  # KServe v1.
  jq -c '{instances: .}' "$WORK/rows.json" >"$WORK/req.json"
  req POST "/v1/models/$model:predict" @"$WORK/req.json" -H 'Content-Type: application/json'
  expect_status 200 "$model v1 predict"
  printf '%s' "$BODY" | jq -c '.predictions' >"$WORK/pred.json"
  collect_list "$WORK/pred.json" "$file" "$WORK/rows.json" "$model v1 predictions"
done

# regress: version 2 is the default, version 1 on request.
$PY "$V2TOOL" rows 4242 16 10 >"$WORK/rows.json"
$PY "$V2TOOL" v2-body "$WORK/rows.json" >"$WORK/req.json"
collect_v2 /v2/models/regress/infer "$FIXTURES/regress/2/model.json" "$WORK/rows.json" "regress default (version 2)"
expect_json '.model_version' '"2"'
collect_v2 /v2/models/regress/versions/2/infer "$FIXTURES/regress/2/model.json" "$WORK/rows.json" "regress /versions/2"
expect_json '.model_version' '"2"'
collect_v2 /v2/models/regress/versions/1/infer "$FIXTURES/regress/1/model.json" "$WORK/rows.json" "regress /versions/1"
expect_json '.model_version' '"1"'
req GET /v2/models/regress
expect_status 200 "regress metadata"
expect_json '.versions | sort' '["1","2"]'

# Output shapes and datatypes of softprob; each row's probabilities sum to 1.
$PY "$V2TOOL" rows 1 3 4 >"$WORK/rows.json"
req POST /v2/models/multi/infer "$($PY "$V2TOOL" v2-body "$WORK/rows.json")"
expect_json '[.outputs[0].name, .outputs[0].datatype, .outputs[0].shape]' '["predict","FP32",[3,3]]'
expect_json '[.outputs[0].data | flatten | add] | map(. > 2.9999 and . < 3.0001)' '[true]'

# All comparisons with xgboost at once.
$PY "$V2TOOL" compare-many "$MANIFEST" >"$WORK/compare.out" 2>&1
nok=0
while IFS= read -r line; do
  case "$line" in
  "ok "*) pass; nok=$((nok + 1)) ;;
  "FAIL "*) fail "${line#FAIL }" ;;
  *) fail "compare-many: $line" ;;
  esac
done <"$WORK/compare.out"
if [ "$nok" = "$NCMP" ]; then pass; else fail "$nok of $NCMP comparisons with xgboost agreed"; fi

finish
