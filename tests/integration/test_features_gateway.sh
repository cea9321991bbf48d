#!/bin/bash
# The gateway's entity_id join (docs/features.md "Gateway join"): a deployment bound to two
# feature views (`mmsp features bind`) answers POST /predict {"deployment", "entity_id"} with
# the model's features fetched in its input order (f0..f4 spread over both views, listed out
# of order in the views) — the same prediction as sending those values as "features"; an
# unknown entity is a 404 with on-missing 404 and uses the defaults with on-missing default;
# a deployment without a binding refuses entity_id with a 400.
source "$(dirname "$0")/lib.sh"
trap 'stop_server >/dev/null 2>&1; run_cleanups; rm -rf "$WORK"' EXIT

DATA="$WORK/data"
serves_generation() {
  req GET /metrics
  printf '%s' "$BODY" | grep -qx "mmsp_deployment_generation{model=\"$1\"} $2"
}

cat >"$WORK/train.py" <<'PY'
import sys
import numpy as np
import xgboost as xgb
rng = np.random.default_rng(1)
X = rng.normal(size=(400, 5)).astype(np.float32)
y = ((X[:, 0] + 2 * X[:, 2] - X[:, 4] + rng.normal(scale=0.3, size=400)) > 0.2).astype(np.float32)
d = xgb.DMatrix(X, label=y, feature_names=["f0", "f1", "f2", "f3", "f4"])
xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0},
          d, num_boost_round=6).save_model(sys.argv[1])
PY
mkdir -p "$WORK/m"
$PY "$WORK/train.py" "$WORK/m/model.json" || { echo "cannot train the test model" >&2; exit 1; }
cat >"$WORK/manifest.yaml" <<'YAML'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: scorer, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.01}
YAML
mmsp_ok "register" model register scorer "$WORK/m/model.json" --manifest "$WORK/manifest.yaml"

cat >"$WORK/a.csv" <<'CSV'
customer_id,event_timestamp,f2,f0
c1,2024-05-01T10:00:00Z,1.5,-0.25
c2,2024-05-01T10:00:00Z,-1.0,0.75
CSV
cat >"$WORK/b.csv" <<'CSV'
customer_id,event_timestamp,f4,f1,f3
c1,2024-05-01T10:00:00Z,0.5,2.0,-3.0
c2,2024-05-01T10:00:00Z,1.25,0.0,0.5
CSV
cat >"$WORK/views.yaml" <<'YAML'
feature_views:
  - name: va
    entities: [customer_id]
    features: [{name: f2, type: double}, {name: f0, type: float}]
    source: a.csv
  - name: vb
    entities: [customer_id]
    features: [{name: f4, type: double}, {name: f1, type: double}, {name: f3, type: int64}]
    source: b.csv
YAML
sed -i 's/-3.0/-3/;s/,0.5$/,1/' "$WORK/b.csv" # f3 is an int64 column
mmsp_ok "apply" features apply "$WORK/views.yaml"
mmsp_ok "materialize" features materialize
mmsp_ok "bind" features bind scorer --views va,vb

start_server --data "$DATA" --prediction-log off
mmsp_ok "deploy" deploy scorer --model scorer --version 1 --json
wait_for "deployed" serves_generation scorer "$(printf '%s' "$OUT" | jq -r .generation)"

req POST /predict '{"deployment":"scorer","entity_id":"c1"}'
expect_status 200
by_entity=$(printf '%s' "$BODY" | jq -c .prediction)
req POST /predict '{"deployment":"scorer","features":{"f0":-0.25,"f1":2.0,"f2":1.5,"f3":-3,"f4":0.5}}'
expect_status 200
by_value=$(printf '%s' "$BODY" | jq -c .prediction)
if [ -n "$by_entity" ] && [ "$by_entity" = "$by_value" ]; then pass; else fail "c1: entity $by_entity, values $by_value"; fi
req POST /predict '{"deployment":"scorer","entity_id":"c2"}'
e2=$(printf '%s' "$BODY" | jq -c .prediction)
req POST /predict '{"deployment":"scorer","features":{"f0":0.75,"f1":0.0,"f2":-1.0,"f3":1,"f4":1.25}}'
v2=$(printf '%s' "$BODY" | jq -c .prediction)
if [ -n "$e2" ] && [ "$e2" = "$v2" ]; then pass; else fail "c2: entity $e2, values $v2"; fi
if [ "$e2" != "$by_entity" ]; then pass; else fail "c1 and c2 gave the same prediction: the join is not checked"; fi

req POST /predict '{"deployment":"scorer","entity_id":"nobody"}'
expect_status 404
expect_json '.error|test("nobody")' 'true'

# on-missing default: the defaults stand in for an unknown entity.
mmsp_ok "bind default" features bind scorer --views va,vb --on-missing default --defaults '{"f0":-0.25,"f1":2,"f2":1.5,"f3":-3,"f4":0.5}'
req POST /predict '{"deployment":"scorer","entity_id":"nobody"}'
expect_status 200
expect_json '.prediction' "$by_value"

# A number as entity_id is its text; a deployment without a binding refuses entity_id.
req POST /predict '{"deployment":"scorer","entity_id":12345}'
expect_status 200
mmsp_ok "register 2" model register other "$WORK/m/model.json" --manifest "$WORK/manifest.yaml"
mmsp_ok "deploy 2" deploy other --model other --version 1 --json
wait_for "deployed 2" serves_generation other "$(printf '%s' "$OUT" | jq -r .generation)"
req POST /predict '{"deployment":"other","entity_id":"c1"}'
expect_status 400
expect_json '.error|test("no feature binding")' 'true'
"$MMSP_BIN" features bind scorer --views nope --data "$DATA" 2>/dev/null
if [ $? = 3 ]; then pass; else fail "bind to an unknown view: want exit 3"; fi
expect_alive
finish
