#!/bin/bash
# Registry mode basics (docs/serve.md "Registry mode"): `mmsp serve --data DIR` with an empty
# registry is live and ready; a deploy makes the model appear (materialised as a hard link to
# the artifact); the staging environment is served as NAME@staging; a canary split follows its
# weight over 2000 requests; a corrupted artifact is refused with a digest-mismatch log while
# the previous versions keep serving (and the index shows the refusal); a restart serves the
# same deployments; the serving directory is locked to one server and a foreign non-empty
# directory is refused; a deployment that cannot serve anything makes the server not ready.
source "$(dirname "$0")/lib.sh"
fixtures
trap 'stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT

DATA="$WORK/data"
SERVING="$DATA/serving"
good_body >"$WORK/body.json"
LOAD="$MMSP_SOURCE_DIR/tests/integration/deploy_load.py"

# wait_for WHAT CMD... : runs CMD until it succeeds (at most 30 s), then pass or fail.
status_is() { # status_is CODE METHOD PATH [BODY]
  local want=$1
  shift
  req "$@"
  [ "$STATUS" = "$want" ]
}
# The generation the server serves for MODEL equals the deployment's (mmsp_deployment_generation).
serves_generation() { # serves_generation MODEL GENERATION
  req GET /metrics
  printf '%s' "$BODY" | grep -qx "mmsp_deployment_generation{model=\"$1\"} $2"
}
index_has() { # index_has JQ_CONDITION : some repository index entry satisfies it
  req POST /v2/repository/index '{}'
  printf '%s' "$BODY" | jqe "any(.[]; $1)"
}

# Fixture versions: "binary" from the fixtures, two more trained here (same 30 inputs).
cat >"$WORK/train.py" <<'PY'
import sys
import numpy as np
import xgboost as xgb
out, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
X = rng.normal(size=(600, 30)).astype(np.float32)
y = ((X[:, 1] + X[:, 2] + rng.normal(scale=0.5, size=600)) > 0.3).astype(np.float32)
xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0},
          xgb.DMatrix(X, label=y), num_boost_round=6 + seed % 5).save_model(out)
PY
mkdir -p "$WORK/m2" "$WORK/m3"
$PY "$WORK/train.py" "$WORK/m2/model.json" 21 && $PY "$WORK/train.py" "$WORK/m3/model.json" 22 ||
  { echo "cannot train the fixture versions" >&2; exit 1; }
# Test manifest passing the built-in gate (fixture figures, not an evaluation).
cat >"$WORK/manifest.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.01}
EOF

# --- an empty registry: live, and ready once the (empty) deployments are read ---
start_server --data "$DATA"
req GET /v2/health/live
expect_status 200 "live with an empty registry"
wait_for "ready with an empty registry" status_is 200 GET /v2/health/ready
req POST /v2/repository/index '{}'
expect_json '.' '[]'
req GET /v2/models/fraud
expect_error 404 "no model before a deploy"
if [ -f "$SERVING/.mmsp-serving" ]; then pass; else fail "no marker in $SERVING"; fi

# --- register three versions, deploy version 1 through the CLI (the server polls the store) ---
for f in "$FIXTURES/binary/1/model.json" "$WORK/m2/model.json" "$WORK/m3/model.json"; do
  mmsp_ok "register $f" model register fraud "$f" --manifest "$WORK/manifest.yaml"
done
mmsp_ok "deploy version 1" deploy fraud --model fraud --version 1 --json
gen=$(printf '%s' "$OUT" | jq -r .generation)
wait_for "version 1 served" serves_generation fraud "$gen"
req POST /v2/models/fraud/infer @"$WORK/body.json" -H 'Content-Type: application/json'
expect_status 200 "infer after the deploy"
expect_json '.model_name' '"fraud"'
expect_json '.model_version' '"1"'
req GET /v2/health/ready
expect_status 200 "ready with the deployment served"
# Materialised: config.yaml naming the versions, the artifact hard-linked.
if grep -q 'versions: \[1\]' "$SERVING/fraud/config.yaml"; then pass; else fail "config.yaml: $(cat "$SERVING/fraud/config.yaml")"; fi
mmsp_ok "model show" model show fraud 1 --json
D1=$(printf '%s' "$OUT" | jq -r .digest)
ART1="$DATA/artifacts/sha256/${D1:0:2}/$D1"
if [ "$(stat -c %i "$ART1")" = "$(stat -c %i "$SERVING/fraud/1/model.json")" ]; then
  pass
else
  fail "fraud/1/model.json is not a hard link to $ART1"
fi
grep -q '"event":"serve.warm","msg":"model '"'"'fraud'"'"' version 1 warmed' "$SERVER_LOG" && pass ||
  fail "no warm-up logged for version 1"

# --- staging: served as fraud@staging, production unchanged ---
mmsp_ok "deploy to staging" deploy fraud --model fraud --version 2 --env staging --json
gen=$(printf '%s' "$OUT" | jq -r .generation)
wait_for "fraud@staging served" serves_generation 'fraud@staging' "$gen"
req POST '/v2/models/fraud@staging/infer' @"$WORK/body.json" -H 'Content-Type: application/json'
expect_status 200 "infer fraud@staging"
expect_json '.model_name' '"fraud@staging"'
expect_json '.model_version' '"2"'
req POST /v2/models/fraud/infer @"$WORK/body.json" -H 'Content-Type: application/json'
expect_json '.model_version' '"1"'

# --- canary at 30 % through the HTTP API: the split over 2000 requests ---
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 2, "canary": 30}'
expect_status 200 "canary through the API"
gen=$(printf '%s' "$BODY" | jq -r .generation)
wait_for "canary served" serves_generation fraud "$gen"
split=$($PY "$LOAD" sample "$URL" /v2/models/fraud/infer "$WORK/body.json" 2000)
echo "canary 30 %: $split"
if printf '%s' "$split" | jqe '.statuses == {"200": 2000} and .errors == 0 and (.versions | keys) == ["1", "2"]'; then
  pass
else
  fail "2000 requests with a canary: $split"
fi
share=$(printf '%s' "$split" | jq '.versions["2"] * 100 / 2000')
if printf '%s' "$share" | jqe '. >= 22 and . <= 38'; then pass; else fail "canary share $share %, want 30 ± 8"; fi
req POST /v2/models/fraud/versions/1/infer @"$WORK/body.json" -H 'Content-Type: application/json'
expect_json '.model_version' '"1"'
req POST /v2/models/fraud/versions/2/infer @"$WORK/body.json" -H 'Content-Type: application/json'
expect_json '.model_version' '"2"'

# --- a corrupted artifact: version 3 refused, the previous split keeps serving ---
mmsp_ok "model show 3" model show fraud 3 --json
D3=$(printf '%s' "$OUT" | jq -r .digest)
ART3="$DATA/artifacts/sha256/${D3:0:2}/$D3"
# Flip one digit inside the JSON: still a loadable model, but not the registered bytes.
off=$(grep -b -o '"base_score":"[0-9]' "$ART3" | head -1 | cut -d: -f1)
[ -n "$off" ] || off=100
byte=$(dd if="$ART3" bs=1 skip=$((off + 14)) count=1 2>/dev/null)
[ "$byte" = 7 ] && new=3 || new=7
printf '%s' "$new" | dd of="$ART3" bs=1 seek=$((off + 14)) conv=notrunc 2>/dev/null
mmsp_ok "deploy the corrupted version 3" deploy fraud --model fraud --version 3
wait_for "the index lists version 3 as refused" \
  index_has '.name == "fraud" and .version == "3" and .state == "UNAVAILABLE" and (.reason | test("digest"))'
if grep -q 'digest mismatch' "$SERVER_LOG"; then pass; else fail "no digest mismatch in the log"; fi
split=$($PY "$LOAD" sample "$URL" /v2/models/fraud/infer "$WORK/body.json" 200)
if printf '%s' "$split" | jqe '.statuses == {"200": 200} and ((.versions | keys) - ["1", "2"]) == []'; then
  pass
else
  fail "after the refused version 3 the previous versions must serve: $split"
fi
req GET /v2/models/fraud/versions/3/ready
expect_error 404 "version 3 is not served"
req GET /v2/health/ready
expect_status 200 "still ready: the previous versions serve"
if [ ! -e "$SERVING/fraud/3/model.json" ]; then pass; else fail "version 3 was materialised"; fi

# Rolling back (to version 1, the stable before 3) applies and clears the refusal.
mmsp_ok "rollback" rollback fraud --json
gen=$(printf '%s' "$OUT" | jq -r .generation)
expect_rollback=$(printf '%s' "$OUT" | jq -r .stable_version)
wait_for "rollback served" serves_generation fraud "$gen"
if index_has '.state == "UNAVAILABLE"'; then fail "refusal still listed after the rollback: $BODY"; else pass; fi
req POST /v2/models/fraud/infer @"$WORK/body.json" -H 'Content-Type: application/json'
expect_json '.model_version' "\"$expect_rollback\""

# --- the serving directory belongs to one server ---
"$MMSP_BIN" serve --data "$DATA" --port 0 >"$WORK/second.out" 2>"$WORK/second.err"
rc=$?
if [ "$rc" != 0 ] && grep -q 'in use' "$WORK/second.err"; then pass; else fail "a second server on the same serving dir: exit $rc, $(cat "$WORK/second.err")"; fi
mkdir -p "$WORK/foreign" && echo keep >"$WORK/foreign/precious.txt"
"$MMSP_BIN" serve --data "$DATA" --serving-dir "$WORK/foreign" --port 0 >"$WORK/third.out" 2>"$WORK/third.err"
rc=$?
if [ "$rc" != 0 ] && grep -q 'not empty' "$WORK/third.err" && [ -f "$WORK/foreign/precious.txt" ]; then
  pass
else
  fail "a foreign non-empty serving dir: exit $rc, $(cat "$WORK/third.err")"
fi

# --- restart: the same deployments are served again ---
stop_server
start_server --data "$DATA" --poll-ms 100
wait_for "ready after a restart" status_is 200 GET /v2/health/ready
req POST /v2/models/fraud/infer @"$WORK/body.json" -H 'Content-Type: application/json'
expect_status 200 "fraud after the restart"
req POST '/v2/models/fraud@staging/infer' @"$WORK/body.json" -H 'Content-Type: application/json'
expect_json '.model_version' '"2"'

# --- a deployment that can serve nothing (its only version corrupted): not ready ---
mmsp_ok "deploy broken" deploy broken --model fraud --version 3
wait_for "broken listed as unavailable" index_has '.name == "broken" and .state == "UNAVAILABLE"'
req GET /v2/health/ready
expect_status 503 "not ready while a deployment serves nothing"
req POST /v2/models/broken/infer @"$WORK/body.json" -H 'Content-Type: application/json'
expect_error 503 "infer on the broken deployment"
req POST /v2/models/fraud/infer @"$WORK/body.json" -H 'Content-Type: application/json'
expect_status 200 "the other deployments keep serving"

expect_alive "end"
finish
