#!/bin/bash
# Streaming drift in the gateway on a real `mmsp serve`: a baseline dropped into
# DATA/baselines/fraud.json is picked up by the running server, /predict inputs fill the
# sliding window, and /metrics shows mmsp_feature_drift_psi{deployment,feature} and
# mmsp_dataset_drift_share{deployment}: low for training-like inputs, >= 0.2 for the shifted
# feature once shifted rows fill the window; a broken baseline file does not hurt serving; the
# exposition passes promtool. The model names its features (one of them "id", a column the
# prediction log writes itself): the gateway's Parquet log names its feature columns after
# them ("feature_id" for that one), and `mmsp drift report` over that log finds every feature
# of the baseline built from the training CSV by name.
source "$(dirname "$0")/lib.sh"
trap 'stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT

DATA="$WORK/data"
served() {
  req GET /metrics
  printf '%s' "$BODY" | grep -qx "mmsp_deployment_generation{model=\"fraud\"} $1"
}
gauge() { # gauge SERIES : prints the value of an exact series line from /metrics
  req GET /metrics
  printf '%s' "$BODY" | awk -v s="$1" '$1 == s { print $2 }'
}

cat >"$WORK/train.py" <<'PY'
import sys
import numpy as np
import xgboost as xgb
out, csv = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(3)
X = rng.normal(size=(2000, 5)).astype(np.float32)
y = ((X[:, 0] + X[:, 2]) > 0.2).astype(np.float32)
d = xgb.DMatrix(X, label=y, feature_names=["amount", "age", "id", "hour", "score"])
xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0},
          d, num_boost_round=4).save_model(out)
with open(csv, "w") as f:
    f.write("amount,age,id,hour,score\n")
    for r in X:
        f.write(",".join(repr(float(v)) for v in r) + "\n")
PY
mkdir -p "$WORK/m1"
$PY "$WORK/train.py" "$WORK/m1/model.json" "$WORK/train.csv" || { echo "cannot train" >&2; exit 1; }
cat >"$WORK/manifest.yaml" <<'YAML'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.01}
YAML
mmsp_ok "register" model register fraud "$WORK/m1/model.json" --manifest "$WORK/manifest.yaml"
start_server --data "$DATA"
mmsp_ok "deploy" deploy fraud --model fraud --version 1 --json
wait_for "deployed" served "$(printf '%s' "$OUT" | jq -r .generation)"

# the baseline arrives while the server runs (written aside, then renamed in)
mkdir -p "$DATA/baselines"
"$MMSP_BIN" drift baseline --data-file "$WORK/train.csv" --out "$DATA/baselines/.fraud.tmp" >/dev/null &&
  mv "$DATA/baselines/.fraud.tmp" "$DATA/baselines/fraud.json"
echo '{"features": "broken"}' > "$DATA/baselines/other.json"

# batches of 50 rows: training-like, then amount shifted by +3
body() { # body SHIFT SEED
  $PY - "$1" "$2" <<'PY'
import json, sys
import numpy as np
rng = np.random.default_rng(int(sys.argv[2]))
X = rng.normal(size=(50, 5))
X[:, 0] += float(sys.argv[1])
print(json.dumps({"deployment": "fraud", "inputs": [[round(float(v), 6) for v in r] for r in X]}))
PY
}
has_gauge() { [ -n "$(gauge 'mmsp_feature_drift_psi{deployment="fraud",feature="amount"}')" ]; }
predict_until_gauge() {
  req POST /predict "$(body 0 1)"
  has_gauge
}
wait_for "baseline loaded and gauge exported" predict_until_gauge
expect_status 200
for s in 2 3 4 5; do req POST /predict "$(body 0 $s)"; done
v=$(gauge 'mmsp_feature_drift_psi{deployment="fraud",feature="amount"}')
if awk -v v="$v" 'BEGIN { exit !(v < 0.1) }'; then pass; else fail "healthy PSI of amount: $v"; fi
share=$(gauge 'mmsp_dataset_drift_share{deployment="fraud"}')
if [ "$share" = 0 ]; then pass; else fail "healthy share: $share"; fi
# 10000-row window: 200 shifted batches (each different) replace it entirely
$PY - "$WORK/shifted" <<'PY'
import json, os, sys
import numpy as np
rng = np.random.default_rng(99)
os.makedirs(sys.argv[1], exist_ok=True)
for i in range(200):
    X = rng.normal(size=(50, 5))
    X[:, 0] += 3
    with open(os.path.join(sys.argv[1], f"{i}.json"), "w") as f:
        json.dump({"deployment": "fraud", "inputs": [[round(float(v), 6) for v in r] for r in X]}, f)
PY
for i in $(seq 0 199); do
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data @"$WORK/shifted/$i.json" "$URL/predict"
done
v=$(gauge 'mmsp_feature_drift_psi{deployment="fraud",feature="amount"}')
if awk -v v="$v" 'BEGIN { exit !(v >= 0.2) }'; then pass; else fail "shifted PSI of amount: $v"; fi
v1=$(gauge 'mmsp_feature_drift_psi{deployment="fraud",feature="age"}')
if awk -v v="$v1" 'BEGIN { exit !(v < 0.2) }'; then pass; else fail "unshifted age PSI: $v1"; fi
share=$(gauge 'mmsp_dataset_drift_share{deployment="fraud"}')
if [ "$share" = 0.2 ]; then pass; else fail "share with 1 of 5 drifted: $share"; fi
req GET /metrics
if printf '%s\n' "$BODY" | promtool check metrics >/dev/null 2>"$WORK/promtool.err"; then pass; else fail "promtool: $(cat "$WORK/promtool.err")"; fi
expect_alive

# the gateway's Parquet log (visible once the server closes it) has the model's names, and
# `drift report` over it finds every baseline feature by name: amount drifted, the rest not
stop_server
DUMP="$MMSP_BUILD_DIR/tests/conformance_parquet_dump"
f=$(ls "$DATA"/predictions/predictions-*.parquet 2>/dev/null | tail -1)
if [ -n "$f" ] && "$DUMP" read "$f" >"$WORK/dump" 2>"$WORK/dump.err" &&
  head -1 "$WORK/dump" | grep -q '	entity_id:STRING?	amount:DOUBLE?	age:DOUBLE?	feature_id:DOUBLE?	hour:DOUBLE?	score:DOUBLE?	prediction:DOUBLE?	prob_0:DOUBLE?	prob_1:DOUBLE?	latency_ms:DOUBLE	status:STRING?$'; then
  pass; else fail "log columns: $(head -1 "$WORK/dump" 2>/dev/null) $(cat "$WORK/dump.err" 2>/dev/null)"; fi
"$MMSP_BIN" drift baseline --data-file "$WORK/train.csv" --out "$WORK/base.json" >/dev/null
BODY=$("$MMSP_BIN" drift report --baseline "$WORK/base.json" --logs "$DATA/predictions" --json --out "$WORK/report.json" 2>"$WORK/report.err")
expect_json '[.skipped_lines, .rows >= 10250, ([.features[] | select(.count >= 10250)] | length)]' '[0,true,5]'
expect_json '[.features[].name]' '["amount","age","id","hour","score"]'
expect_json '[.features[].status]' '["critical","healthy","healthy","healthy","healthy"]'
finish
