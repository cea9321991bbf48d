#!/bin/bash
# The gateway's POST /predict in the all-in-one server (docs/gateway.md): a registry-mode
# server with deployment "fraud" (production v1, staging v2); the "inputs" and "features"
# forms give the same answer; X-Environment picks staging, an unknown value is a 400; an
# unknown deployment is a 404; bad bodies are 400s and the server lives on; "id" is echoed
# and returned as X-Request-Id (one is generated when absent); a canary at 10, 25 then 50 %
# keeps every user of its cohort (X-User-Id) as the weight grows; a shadow version identical
# to stable counts agreements in /metrics; `promtool check metrics` accepts the scrape; a body
# without "deployment" still reaches the simple API.
source "$(dirname "$0")/lib.sh"
trap 'stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT
command -v promtool >/dev/null || { echo "promtool missing (Debian package prometheus)" >&2; exit 1; }

DATA="$WORK/data"

serves_generation() { # the follower applied the deployment's generation for MODEL
  req GET /metrics
  printf '%s' "$BODY" | grep -qx "mmsp_deployment_generation{model=\"$1\"} $2"
}
gateway_weight_is() { # the gateway's cache shows canary weight W for fraud (production)
  req GET /metrics
  printf '%s' "$BODY" | grep -qx "mmsp_gateway_canary_weight{deployment=\"fraud\",environment=\"production\"} $1"
}
deploy_and_wait() { # deploy_and_wait WHAT ARGS... : deploy, then wait until it is served
  local what=$1
  shift
  mmsp_ok "$what" deploy "$@" --json
  local gen env=production
  gen=$(printf '%s' "$OUT" | jq -r .generation)
  [ "$(printf '%s' "$OUT" | jq -r .environment)" = staging ] && env=staging
  local model=fraud
  [ $env = staging ] && model='fraud@staging'
  wait_for "$what: served" serves_generation "$model" "$gen"
}
predict() { # predict BODY [curl args]
  local body=$1
  shift
  req POST /predict "$body" "$@"
}

# Three versions with named features f0..f4: v1 and v3 the same model, v2 another one.
cat >"$WORK/train.py" <<'PY'
import sys
import numpy as np
import xgboost as xgb
out, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
X = rng.normal(size=(400, 5)).astype(np.float32)
y = ((X[:, 0] + X[:, 2] + rng.normal(scale=0.5, size=400)) > 0.2).astype(np.float32)
d = xgb.DMatrix(X, label=y, feature_names=["f0", "f1", "f2", "f3", "f4"])
xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0},
          d, num_boost_round=4 + seed % 5).save_model(out)
PY
mkdir -p "$WORK/m1" "$WORK/m2"
$PY "$WORK/train.py" "$WORK/m1/model.json" 1 && $PY "$WORK/train.py" "$WORK/m2/model.json" 2 ||
  { echo "cannot train the test models" >&2; exit 1; }
cat >"$WORK/manifest.yaml" <<'YAML'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.01}
YAML
for f in m1 m2 m1; do
  mmsp_ok "register $f" model register fraud "$WORK/$f/model.json" --manifest "$WORK/manifest.yaml"
done

start_server --data "$DATA"
deploy_and_wait "deploy v1" fraud --model fraud --version 1
deploy_and_wait "deploy v2 to staging" fraud --model fraud --version 2 --env staging

ROW='[0.5,-1.25,2,0.75,-0.5]'
FEATURES='{"f3":0.75,"f0":0.5,"f4":-0.5,"f2":2,"f1":-1.25}'

# --- the inputs form ---
predict '{"deployment":"fraud","inputs":['"$ROW"'],"id":"req-1"}'
expect_status 200 "predict with inputs"
expect_json '[.id,.deployment,.model,.version,.variant]' '["req-1","fraud","fraud",1,"stable"]'
expect_json '.prediction | type' '"number"'
expect_json '.probabilities | length' '2'
expect_json '(.probabilities[0] + .probabilities[1] - 1 | fabs) < 1e-6' 'true'
expect_json '.latency_ms >= 0' 'true'
P1=$(printf '%s' "$BODY" | jq -c .prediction)
if printf '%s' "$HEADERS" | tr -d '\r' | grep -qi '^X-Request-Id: req-1$'; then pass; else fail "X-Request-Id not echoed: $HEADERS"; fi
# The same row through v2 infer of the served model: the same number.
req POST /v2/models/fraud/infer '{"inputs":[{"name":"input","shape":[1,5],"datatype":"FP32","data":'"$ROW"'}]}'
expect_json '.outputs[0].data[0]' "$P1"

# --- the features form, in another order: the same answer ---
predict '{"deployment":"fraud","features":'"$FEATURES"',"entity_id":"user-7"}'
expect_status 200 "predict with features"
expect_json '.prediction' "$P1"
# A generated id: 32 hex digits, also in X-Request-Id.
ID=$(printf '%s' "$BODY" | jq -r .id)
if [[ "$ID" =~ ^[0-9a-f]{32}$ ]]; then pass; else fail "generated id '$ID'"; fi
if printf '%s' "$HEADERS" | tr -d '\r' | grep -qi "^X-Request-Id: $ID\$"; then pass; else fail "X-Request-Id is not the id"; fi
# Several rows: a list of predictions.
predict '{"deployment":"fraud","inputs":['"$ROW,$ROW"',[0,0,0,0,0]]}'
expect_status 200 "three rows"
expect_json '.prediction | length' '3'
expect_json '.prediction[0]' "$P1"
expect_json '.probabilities | length' '3'

# --- environments ---
predict '{"deployment":"fraud","inputs":['"$ROW"']}' -H 'X-Environment: staging'
expect_status 200 "staging"
expect_json '[.version,.environment]' '[2,"staging"]'
predict '{"deployment":"fraud","inputs":['"$ROW"']}' -H 'X-Environment: production'
expect_json '.version' '1'
predict '{"deployment":"fraud","inputs":['"$ROW"']}' -H 'X-Environment: qa'
expect_error 400 "unknown environment"

# --- errors ---
predict '{"deployment":"nope","inputs":['"$ROW"']}'
expect_error 404 "unknown deployment"
for body in '{' '[]' '{"deployment":7,"inputs":[[1]]}' '{"deployment":"fraud"}' \
  '{"deployment":"fraud","inputs":[[1,2],[3]]}' '{"deployment":"fraud","inputs":[["a",1,2,3,4]]}' \
  '{"deployment":"fraud","features":{"f0":1}}' '{"deployment":"fraud","features":{"f0":1,"f1":1,"f2":1,"f3":1,"f4":1,"zz":1}}' \
  '{"deployment":"fraud","inputs":[[1,2,3]]}' '{"deployment":"fraud","inputs":[[1,2,3,4,5]],"id":3}'; do
  predict "$body"
  expect_error 400 "bad body $body"
  expect_alive "after $body"
done
# A body without "deployment" is the simple API's (two models served here: it says so).
predict '{"instances":[[1,2,3,4,5]]}'
expect_error 404 "simple API without a default model"
if printf '%s' "$BODY" | grep -q 'default-model'; then pass; else fail "not the simple API: $BODY"; fi

# --- sticky cohorts: 10 -> 25 -> 50 % ---
USERS=400
cohort() { # cohort FILE : the users routed to the canary, one per line (one keep-alive connection)
  $PY - "$PORT" "$USERS" "$ROW" >"$1" 2>"$WORK/cohort.err" <<'PY' || fail "cohort: $(cat "$WORK/cohort.err")"
import http.client, json, sys
port, users, row = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
body = json.dumps({"deployment": "fraud", "inputs": [row]})
for u in range(1, users + 1):
    c.request("POST", "/predict", body, {"Content-Type": "application/json", "X-User-Id": f"user-{u}"})
    r = c.getresponse()
    d = json.loads(r.read())
    v = (d.get("variant"), d.get("version"))
    if r.status != 200 or v not in (("canary", 2), ("stable", 1)):
        sys.exit(f"user-{u}: {r.status} {d}")
    if v[0] == "canary":
        print(f"user-{u}")
PY
}
deploy_and_wait "canary v2 at 10" fraud --model fraud --version 2 --canary 10
wait_for "gateway sees 10" gateway_weight_is 10
cohort "$WORK/c10"
deploy_and_wait "canary at 25" fraud --canary 25
wait_for "gateway sees 25" gateway_weight_is 25
cohort "$WORK/c25"
deploy_and_wait "canary at 50" fraud --canary 50
wait_for "gateway sees 50" gateway_weight_is 50
cohort "$WORK/c50"
n10=$(wc -l <"$WORK/c10") n25=$(wc -l <"$WORK/c25") n50=$(wc -l <"$WORK/c50")
echo "cohort sizes of $USERS users: $n10 at 10 %, $n25 at 25 %, $n50 at 50 %"
if [ -z "$(comm -23 <(sort "$WORK/c10") <(sort "$WORK/c25"))" ]; then pass; else fail "users left the canary from 10 to 25 %"; fi
if [ -z "$(comm -23 <(sort "$WORK/c25") <(sort "$WORK/c50"))" ]; then pass; else fail "users left the canary from 25 to 50 %"; fi
# Loose bounds (a hash of fixed keys: deterministic, but not meant to be exact).
if [ "$n10" -ge 20 ] && [ "$n10" -le 60 ] && [ "$n25" -gt "$n10" ] && [ "$n50" -gt "$n25" ] && [ "$n50" -ge 160 ] && [ "$n50" -le 240 ]; then
  pass
else
  fail "cohort sizes $n10 $n25 $n50"
fi
# The cohort header is per deployment: with X-Session the same keys give the same cohort.
mmsp_ok "set the cohort header" deploy fraud --cohort-header X-Session --json
expect_json_out() { if [ "$(printf '%s' "$OUT" | jq -c "$1")" = "$2" ]; then pass; else fail "$1 of $OUT"; fi; }
expect_json_out '[.cohort_header,.canary_weight]' '["X-Session",50]'
gen=$(printf '%s' "$OUT" | jq -r .generation)
wait_for "gateway sees the cohort header" serves_generation fraud "$gen"
sleep_until_header() {
  predict '{"deployment":"fraud","inputs":['"$ROW"']}' -H "X-Session: $(head -1 "$WORK/c10")" -H "X-User-Id: nobody"
  [ "$(printf '%s' "$BODY" | jq -r .variant)" = canary ] || return 1
  predict '{"deployment":"fraud","inputs":['"$ROW"']}' -H "X-Session: $(comm -13 <(sort "$WORK/c50") <(seq 1 $USERS | sed 's/^/user-/' | sort) | head -1)"
  [ "$(printf '%s' "$BODY" | jq -r .variant)" = stable ]
}
wait_for "X-Session decides the variant" sleep_until_header
mmsp_ok "reset the cohort header" deploy fraud --cohort-header "" --json
expect_json_out '.cohort_header' '"X-User-Id"'
# Back on X-User-Id (once the gateway saw the change): a user of the 10 % cohort is in the canary.
first_is_canary() {
  predict '{"deployment":"fraud","inputs":['"$ROW"']}' -H "X-User-Id: $(head -1 "$WORK/c10")"
  [ "$(printf '%s' "$BODY" | jq -r .variant)" = canary ]
}
wait_for "X-User-Id decides again" first_is_canary
req GET /metrics
if printf '%s' "$BODY" | grep -q '^mmsp_gateway_requests_total{deployment="fraud",environment="production",version="2",variant="canary"} [1-9]'; then
  pass
else
  fail "no canary request counted"
fi

# --- shadow: v3 (the same model as v1) mirrors production traffic and agrees ---
deploy_and_wait "shadow v3" fraud --model fraud --version 3 --shadow
agreed() {
  predict '{"deployment":"fraud","inputs":['"$ROW"']}' -H 'X-User-Id: someone'
  req GET /metrics
  printf '%s' "$BODY" | grep -q '^mmsp_gateway_shadow_comparisons_total{deployment="fraud",environment="production",result="agree"} [1-9]'
}
wait_for "shadow agreement counted" agreed
if printf '%s' "$BODY" | grep -q '^mmsp_gateway_shadow_abs_diff_count{deployment="fraud",environment="production"} [1-9]'; then
  pass
else
  fail "no shadow difference observed"
fi
if printf '%s' "$BODY" | grep -q 'result="disagree"} [1-9]'; then fail "shadow disagreed"; else pass; fi

# --- the scrape passes promtool ---
curl -s --max-time 10 "$URL/metrics" >"$WORK/scrape.txt"
out=$(promtool check metrics <"$WORK/scrape.txt" 2>&1)
if [ $? = 0 ] && [ -z "$out" ]; then pass; else fail "promtool check metrics: $out"; fi
grep -q '^# TYPE mmsp_gateway_request_duration_seconds histogram' "$WORK/scrape.txt" && pass ||
  fail "no duration histogram"

expect_alive "at the end"
finish
