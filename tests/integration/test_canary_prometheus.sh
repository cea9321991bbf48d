#!/usr/bin/env bash
# `mmsp canary watch --prometheus`: a real Prometheus (prom.sh) scrapes a real `mmsp serve`
# every second while a steady /predict load runs; a healthy canary is stepped 10 -> 50 -> 100
# and promoted (exit 0), every decision is in the history with its figures and the PromQL it
# asked, and the traffic saw no error. Then the same controller without Prometheus (two
# scrapes of the gateway's /metrics) rolls back a canary that fails (MMSP_FAULTS, a test
# build switch) at its first step (exit 1), and usage errors exit 2.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/prom.sh"
fixtures

D="$WORK/data"
MODEL="$FIXTURES/binary/1/model.json"
export MMSP_USER=canary-bot
unset MMSP_ADMIN_TOKEN
cat >"$WORK/m.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.02}
EOF
mm() { "$MMSP_BIN" "$@" --data "$D" >"$WORK/out" 2>"$WORK/err" || { fail "mmsp $*: $(cat "$WORK/err")"; return 1; }; pass; }
for i in 1 2 3; do
  { cat "$MODEL"; printf "%${i}s" ""; } >"$WORK/fraud-$i.json"
  mm model register fraud "$WORK/fraud-$i.json" --manifest "$WORK/m.yaml"
done
mm deploy fraud --model fraud --version 1
mm deploy fraud --model fraud --version 2 --canary 1

# version 3 fails every request when it is deployed (test build switch)
FAULTS_BUILD=0
grep -q '^MMSP_FAULT_INJECTION:BOOL=ON' "$MMSP_BUILD_DIR/CMakeCache.txt" 2>/dev/null && FAULTS_BUILD=1
MMSP_FAULTS=fraud:3:error start_server --data "$D" --poll-ms 100
prom_start "$URL"

LOAD_OUT="$WORK/load.json"
/usr/bin/python3 "$MMSP_SOURCE_DIR/tests/integration/predict_load.py" "$URL" fraud "$WORK/stop" "$LOAD_OUT" 2 2 &
LOAD_PID=$!
track_pid "$LOAD_PID"

# --- usage errors -----------------------------------------------------------------------------
for bad in "--steps 10,5,100" "--steps 10,50" "--interval 3x" "--max-error-rate 2" "--env qa"; do
  # shellcheck disable=SC2086 # split the flags
  "$MMSP_BIN" canary watch fraud --data "$D" --prometheus "$PROM_URL" $bad >/dev/null 2>"$WORK/err"
  rc=$?
  if [ $rc = 2 ] && grep -q '^mmsp: canary watch: ' "$WORK/err"; then pass; else fail "usage '$bad': exit $rc: $(cat "$WORK/err")"; fi
done
"$MMSP_BIN" canary watch fraud --data "$D" >/dev/null 2>&1
if [ $? = 2 ]; then pass; else fail "no --prometheus nor --server: want exit 2"; fi
"$MMSP_BIN" canary watch nope --data "$D" --prometheus "$PROM_URL" --interval 100ms >/dev/null 2>"$WORK/err"
if [ $? = 1 ]; then pass; else fail "unknown deployment: want exit 1"; fi

# --- a healthy canary is promoted -------------------------------------------------------------
# wait until Prometheus has samples of the canary (its series exist after its first request)
for _ in $(seq 1 100); do
  [ -n "$(prom_query 'mmsp_gateway_requests_total{deployment="fraud",variant="stable"}')" ] && break
  sleep 0.2
done
"$MMSP_BIN" canary watch fraud --data "$D" --prometheus "$PROM_URL" --steps 10,50,100 \
  --interval 3s --min-requests 5 --max-p99-ms 500 >"$WORK/watch.out" 2>"$WORK/watch.err"
rc=$?
if [ $rc = 0 ]; then pass; else fail "healthy canary: exit $rc: $(cat "$WORK/watch.out" "$WORK/watch.err")"; fi
grep -q 'promoted' "$WORK/watch.out" && pass || fail "no 'promoted' in: $(cat "$WORK/watch.out")"
"$MMSP_BIN" deployments --data "$D" --json >"$WORK/deps.json"
got=$(jq -c '.deployments[] | select(.name == "fraud") | [.stable_version, .canary_version, .state]' "$WORK/deps.json")
[ "$got" = '[2,null,"active"]' ] && pass || fail "after promotion: $got"
"$MMSP_BIN" history fraud --data "$D" --json >"$WORK/h.json"
# each step: a pass with figures and the PromQL it asked; weights 10, 50, 100 in order
got=$(jq -c '[.events[] | select(.action == "canary_step" and .detail.verdict == "pass") | .detail.weight] | unique' "$WORK/h.json")
[ "$got" = '[10,50,100]' ] && pass || fail "passing steps: $got"
if jq -e '[.events[] | select(.action == "canary_step")] | all(.detail.source == "prometheus" and .who == "canary-bot"
    and (.detail.queries | any(test("histogram_quantile\\(0.99"))) and (.detail.queries | any(test("mmsp_gateway_errors_total")))
    and (.detail.figures.canary.requests | type) == "number")' "$WORK/h.json" >/dev/null; then pass; else
  fail "canary_step details: $(jq -c '[.events[] | select(.action == "canary_step") | .detail]' "$WORK/h.json" | head -c 1500)"; fi
if jq -e '[.events[] | select(.action == "promote")] | length == 1 and (.[0].detail.verdict == "pass")
    and (.[0].detail.figures.canary.requests >= 5)' "$WORK/h.json" >/dev/null; then pass; else
  fail "promote event: $(jq -c '[.events[] | select(.action == "promote")]' "$WORK/h.json")"; fi
# the canary did take traffic at every step: Prometheus saw version 2 as the canary
v=$(prom_query 'sum(mmsp_gateway_requests_total{deployment="fraud",version="2",variant="canary"})')
[ -n "$v" ] && awk "BEGIN{exit !($v >= 15)}" && pass || fail "canary requests seen by Prometheus: '$v'"

# --- without Prometheus: a failing canary is rolled back at its first step ---------------------
if [ "$FAULTS_BUILD" = 1 ]; then
  mm deploy fraud --model fraud --version 3 --canary 1
  "$MMSP_BIN" canary watch fraud --data "$D" --server "$URL" --steps 20,100 --interval 2s \
    --min-requests 5 >"$WORK/watch2.out" 2>"$WORK/watch2.err"
  rc=$?
  if [ $rc = 1 ]; then pass; else fail "failing canary: exit $rc: $(cat "$WORK/watch2.out" "$WORK/watch2.err")"; fi
  "$MMSP_BIN" history fraud --data "$D" --json >"$WORK/h.json"
  if jq -e '[.events[] | select(.action == "rollback")] | length == 1 and (.[0].detail.verdict == "fail")
      and (.[0].detail.source == "metrics") and (.[0].detail.figures.canary.error_rate == 1)
      and (.[0].detail.why | test("error rate"))' "$WORK/h.json" >/dev/null; then pass; else
    fail "rollback event: $(jq -c '[.events[] | select(.action == "rollback")]' "$WORK/h.json")"; fi
  "$MMSP_BIN" deployments --data "$D" --json >"$WORK/deps.json"
  got=$(jq -c '.deployments[] | select(.name == "fraud") | [.stable_version, .canary_version]' "$WORK/deps.json")
  [ "$got" = '[2,null]' ] && pass || fail "after rollback: $got"
else
  echo "note: built without MMSP_FAULT_INJECTION: the failing-canary part is skipped" >&2
fi

touch "$WORK/stop"
wait "$LOAD_PID"
# no request failed but those of the faulty version 3
if jq -e '.ok.stable > 100 and .ok.canary > 10 and .transport_errors == 0
    and (.fail_bodies | keys | all(test("version 3 fails")))' "$LOAD_OUT" >/dev/null; then pass; else
  fail "load: $(cat "$LOAD_OUT")"; fi
finish
