#!/bin/bash
# Registry mode under load: `mmsp serve --data DIR` serves deployment "fraud" while 20 changes
# happen (all-at-once deploys, canaries at 0/10/30/50/100 %, weight changes, shadows,
# promotions, rollbacks with and without --to), alternately through the CLI on --data (the
# server sees them by polling the store) and through the server's own /api/v1 (which wakes the
# follower at once). Two loads run all along:
#   - wrk (infer_count.lua) on /v2/models/fraud/infer, counting every non-2xx answer and
#     socket error;
#   - deploy_load.py's client threads, alternating /v2/models/fraud/infer and
#     /v2/models/fraud/versions/V/infer, where V is always a version loaded before and after
#     the change in progress, so every request has a right answer.
# After each change the driver checks that the change is live (mmsp_deployment_generation),
# that the model lists exactly the deployment's versions, each ready, and that unversioned
# answers follow the split. Every count of failed requests must be 0.
source "$(dirname "$0")/lib.sh"
fixtures
trap 'kill_tracked; stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT

DATA="$WORK/data"
good_body >"$WORK/body.json"

# Three versions of one model with the fixture's input (30 features): the fixture "binary" and
# two more trained here (different seeds and sizes, so their answers differ).
cat >"$WORK/train.py" <<'PY'
import sys
import numpy as np
import xgboost as xgb
out, seed, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(seed)
X = rng.normal(size=(800, 30)).astype(np.float32)
y = ((X[:, 0] - X[:, 3] + rng.normal(scale=0.5, size=800)) > 0.5).astype(np.float32)
b = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0},
              xgb.DMatrix(X, label=y), num_boost_round=rounds)
b.save_model(out)
PY
mkdir -p "$WORK/m2" "$WORK/m3"
$PY "$WORK/train.py" "$WORK/m2/model.json" 11 8 && $PY "$WORK/train.py" "$WORK/m3/model.json" 12 12 ||
  { echo "cannot train the fixture versions" >&2; exit 1; }
# A test manifest that passes the built-in gate (these figures describe no real evaluation:
# the models are fixtures; the example's manifest holds measured ones).
cat >"$WORK/manifest.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.01}
  drift: {score: 0.05}
EOF
for f in "$FIXTURES/binary/1/model.json" "$WORK/m2/model.json" "$WORK/m3/model.json"; do
  out=$("$MMSP_BIN" model register fraud "$f" --manifest "$WORK/manifest.yaml" --data "$DATA" 2>&1)
  if [ $? = 0 ]; then pass; else fail "register $f: $out"; fi
done
out=$("$MMSP_BIN" deploy fraud --model fraud --version 1 --data "$DATA" 2>&1)
if [ $? = 0 ]; then pass; else fail "first deploy: $out"; fi

start_server --data "$DATA"
for _ in $(seq 1 400); do
  req GET /v2/health/ready
  [ "$STATUS" = 200 ] && break
  sleep 0.05
done
expect_status 200 "ready once the deployment is served"
req POST /v2/models/fraud/infer "$(good_body)"
expect_status 200 "infer before the changes"
expect_json '.model_version' '"1"'

# The 20 changes: VIA EXPECTED-STATE ARGS (see deploy_load.py: STABLE[,CANARY@W][,sSHADOW]).
cat >"$WORK/changes" <<'EOF'
cli  1,2@10      deploy fraud --model fraud --version 2 --canary 10
http 1,2@50      POST /api/v1/deployments/fraud {"canary": 50}
cli  1,2@100     deploy fraud --canary 100
http 1,2@0       POST /api/v1/deployments/fraud {"canary": 0}
cli  2           promote fraud
http 3           POST /api/v1/deployments/fraud {"model": "fraud", "version": 3}
cli  2           rollback fraud
http 1           POST /api/v1/deployments/fraud/rollback {"to": 1}
cli  1,s3        deploy fraud --model fraud --version 3 --shadow
http 1,2@30,s3   POST /api/v1/deployments/fraud {"model": "fraud", "version": 2, "canary": 30}
cli  2,s3        promote fraud
http 1           POST /api/v1/deployments/fraud/rollback {}
cli  2           deploy fraud --model fraud --version 2
http 2,3@10      POST /api/v1/deployments/fraud {"model": "fraud", "version": 3, "canary": 10}
cli  2           rollback fraud
http 2,1@50      POST /api/v1/deployments/fraud {"model": "fraud", "version": 1, "canary": 50}
cli  1           promote fraud
http 3           POST /api/v1/deployments/fraud {"model": "fraud", "version": 3}
cli  2           rollback fraud --to 2
http 2,1@100     POST /api/v1/deployments/fraud {"model": "fraud", "version": 1, "canary": 100}
EOF

# HTTP error answers so far (the ready polls above may have seen 503): must not grow.
error_codes() {
  req GET /metrics
  printf '%s' "$BODY" | grep -E '^mmsp_http_requests_total\{code="[45][0-9][0-9]"\}' || true
}
codes_before=$(error_codes)

# wrk runs until SIGINT (120 s at most) and then prints its WRK_JSON line.
wrk -t2 -c16 -d120s --timeout 20s -s "$MMSP_SOURCE_DIR/tests/integration/infer_count.lua" \
  "$URL/v2/models/fraud/infer" -- "$WORK/body.json" >"$WORK/wrk.out" 2>&1 &
WRK_PID=$!
track_pid $WRK_PID
$PY "$MMSP_SOURCE_DIR/tests/integration/deploy_load.py" drive --url "$URL" --model fraud \
  --body "$WORK/body.json" --mmsp "$MMSP_BIN" --data "$DATA" --changes "$WORK/changes" \
  --workers 4 >"$WORK/drive.out" 2>"$WORK/drive.err"
drive_rc=$?
kill -INT $WRK_PID 2>/dev/null
wait $WRK_PID 2>/dev/null
TRACKED_PIDS=()

if [ "$drive_rc" = 0 ]; then pass; else fail "deploy_load.py drive: $(head -c 3000 "$WORK/drive.err")"; fi
summary=$(cat "$WORK/drive.out")
changes=$(printf '%s' "$summary" | jq -r '.changes // 0')
driver_requests=$(printf '%s' "$summary" | jq -r '.requests // 0')
driver_failed=$(printf '%s' "$summary" | jq -r '.failed_requests // -1')
if [ "$changes" = 20 ]; then pass; else fail "$changes changes applied, want 20: $summary"; fi
if [ "$driver_failed" = 0 ]; then pass; else fail "driver: $driver_failed failed requests: $summary"; fi
if [ "$driver_requests" -ge 200 ]; then pass; else fail "driver: only $driver_requests requests: $summary"; fi

wrk_json=$(grep -o 'WRK_JSON .*' "$WORK/wrk.out" | cut -d' ' -f2-)
if [ -n "$wrk_json" ]; then pass; else fail "wrk printed no summary: $(tail -5 "$WORK/wrk.out")"; fi
wrk_requests=$(printf '%s' "$wrk_json" | jq -r '.responses // 0')
wrk_bad=$(printf '%s' "$wrk_json" | jq -r '.non2xx + ([.errors[]] | add)' 2>/dev/null)
if [ "$wrk_bad" = 0 ]; then pass; else fail "wrk: $wrk_bad non-2xx answers or socket errors: $wrk_json"; fi
if [ "$wrk_requests" -ge 1000 ]; then pass; else fail "wrk: only $wrk_requests answers: $wrk_json"; fi

# The server counted no 4xx/5xx during the changes either.
codes_after=$(error_codes)
if [ "$codes_after" = "$codes_before" ]; then pass; else fail "the server answered errors: before '$codes_before', after '$codes_after'"; fi
expect_alive "after the changes"
echo "deploy under load: $changes changes, $wrk_requests wrk requests and $driver_requests driver" \
  "requests ($(printf '%s' "$summary" | jq -r .versioned_requests) versioned), 0 failed"
finish
