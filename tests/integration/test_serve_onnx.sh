#!/usr/bin/env bash
# `mmsp serve` with ONNX models, exactly like XGBoost ones: metadata taken from the graph, v2
# and v1 inference checked against a numpy computation of the same MLP (make_onnx_fixtures.py),
# the same model under dynamic batching with concurrent clients, and a model with an operator we
# do not have reported UNAVAILABLE with the node and operator named, while the others serve.
source "$(dirname "$0")/lib.sh"

REPO="$WORK/onnx-repo"
/usr/bin/python3 "$MMSP_SOURCE_DIR/tests/integration/make_onnx_fixtures.py" "$REPO" "$WORK/rows.json" ||
  { echo "could not build the ONNX fixtures" >&2; exit 1; }
start_server --model-repository "$REPO"

# close FILTER EXPECTED_JQ: BODY's FILTER equals EXPECTED (from rows.json) within 1e-5.
close() {
  local got want
  got=$(jq -c "$1" <<<"$BODY" 2>/dev/null)
  want=$(jq -c "$2" "$WORK/rows.json")
  if /usr/bin/python3 - "$got" "$want" <<'PY'
import json, sys
g, w = json.loads(sys.argv[1] or "null"), json.loads(sys.argv[2])
flat = lambda v: [x for r in v for x in (r if isinstance(r, list) else [r])]
g, w = flat(g or []), flat(w)
sys.exit(0 if len(g) == len(w) and all(abs(a - b) <= 1e-5 for a, b in zip(g, w)) else 1)
PY
  then pass; else fail "$1: got $got, want $want"; fi
}

req GET /v2/models/mlp; expect_status 200
expect_json '[.platform, .inputs[0].name, .inputs[0].datatype, .inputs[0].shape]' \
  '["onnx_onnxv1","input","FP32",[-1,30]]'
expect_json '[.outputs[0].name, .outputs[0].shape]' '["probabilities",[-1,2]]'
req GET /v2/models/mlp/ready; expect_status 200

ROWS=$(jq -c '.rows' "$WORK/rows.json")
req POST /v2/models/mlp/infer "{\"id\":\"o1\",\"inputs\":[{\"name\":\"input\",\"shape\":[5,30],\"datatype\":\"FP32\",\"data\":$ROWS}]}"
expect_status 200; expect_json '.id' '"o1"'; expect_json '.outputs[0].shape' '[5,2]'
close '.outputs[0].data' '.probabilities'

ROW0=$(jq -c '.rows[0]' "$WORK/rows.json")
req POST /v2/models/mlp/infer "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,30],\"datatype\":\"FP64\",\"data\":$ROW0}]}"
expect_status 200; close '.outputs[0].data' '.probabilities[0]'

req POST '/v1/models/mlp:predict' "{\"instances\":$ROWS}"
expect_status 200; close '.predictions' '.probabilities'

req POST /v2/models/mlp/infer '{"inputs":[{"name":"input","shape":[1,29],"datatype":"FP32","data":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}'
expect_error 400 "wrong feature count"

# dynamic batching: 8 concurrent clients, each sends each of the 5 rows 10 times; every answer
# must be that row's own probabilities.
pids=()
for c in $(seq 0 7); do
  (
    bad=0
    for k in $(seq 1 10); do
      for r in 0 1 2 3 4; do
        row=$(jq -c ".rows[$r]" "$WORK/rows.json")
        got=$(curl -s --max-time 10 -H 'Content-Type: application/json' \
          -d "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,30],\"datatype\":\"FP32\",\"data\":$row}]}" \
          "$URL/v2/models/mlp_batched/infer" | jq -c '.outputs[0].data')
        want=$(jq -c ".probabilities[$r]" "$WORK/rows.json")
        /usr/bin/python3 -c "import json,sys; g=json.loads(sys.argv[1] or 'null'); w=json.loads(sys.argv[2]); sys.exit(0 if g and all(abs(a-b)<=1e-5 for a,b in zip(g,w)) else 1)" "$got" "$want" || bad=$((bad + 1))
      done
    done
    echo "$bad" >"$WORK/client.$c"
  ) &
  pids+=($!)
done
wait "${pids[@]}"
mismatches=$(cat "$WORK"/client.* | awk '{s += $1} END {print s}')
if [ "$mismatches" = "0" ]; then pass; else fail "dynamic batching: $mismatches answers were not the client's own rows"; fi
req GET /v2/models/mlp_batched/stats; expect_status 200
execs=$(jq '.model_stats[0].execution_count' <<<"$BODY")
count=$(jq '.model_stats[0].inference_count' <<<"$BODY")
if [ "${count:-0}" -eq 400 ] && [ "${execs:-0}" -lt 400 ]; then pass; else
  fail "dynamic batching: $count inferences in $execs executions (want 400 in fewer than 400)"; fi

# the model with an unsupported operator: unavailable, with the node and operator named
req POST /v2/repository/index '{}'; expect_status 200
expect_json '[.[] | select(.name == "bad") | .state] | .[0]' '"UNAVAILABLE"'
reason=$(jq -r '.[] | select(.name == "bad") | .reason' <<<"$BODY")
if grep -q "Resize" <<<"$reason" && grep -q "up" <<<"$reason"; then pass; else fail "reason should name node 'up' and op Resize: $reason"; fi
req POST /v2/models/bad/infer '{"inputs":[]}'
if [ "$STATUS" = 503 ] || [ "$STATUS" = 404 ]; then pass; else fail "infer on the refused model: status $STATUS"; fi
expect_alive "after the ONNX checks"
finish
