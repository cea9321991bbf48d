#!/usr/bin/env bash
# The whole alert path with the real servers: a canary that fails every request (MMSP_FAULTS,
# compiled in by -DMMSP_FAULT_INJECTION=ON, which scripts/test-all uses; without it the test
# is skipped with exit 77) takes 30 % of a steady /predict load on a real `mmsp serve`; a real
# Prometheus (prom.sh) evaluates deploy/monitoring's MmspCanaryErrorRateHigh rule (windows
# shortened to 5s, `for: 2s`), a real Alertmanager routes it (action="rollback") to POST
# /alerts with the admin token, and the gateway rolls the canary back within 60 s. The
# rollback event holds the alert; the stable variant never failed a request (every non-2xx
# answer is the faulty canary version's, and the gateway counted no stable error); after the
# rollback every request is served by the stable version.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/prom.sh"
if ! grep -q '^MMSP_FAULT_INJECTION:BOOL=ON' "$MMSP_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  echo "skipped: this build has no MMSP_FAULT_INJECTION (cmake -DMMSP_FAULT_INJECTION=ON)"
  exit 77
fi
fixtures

D="$WORK/data"
TOKEN=am-secret-42
MODEL="$FIXTURES/binary/1/model.json"
export MMSP_USER=tester
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
for i in 1 2; do
  { cat "$MODEL"; printf "%${i}s" ""; } >"$WORK/fraud-$i.json"
  mm model register fraud "$WORK/fraud-$i.json" --manifest "$WORK/m.yaml"
done
mm deploy fraud --model fraud --version 1
mm deploy fraud --model fraud --version 2 --canary 30

MMSP_FAULTS=fraud:2:error start_server --data "$D" --admin-token "$TOKEN" --poll-ms 100
prom_rules_fast "$WORK/rules.yml"
am_start "$URL/alerts" "$TOKEN"
prom_start "$URL" "$WORK/rules.yml"

LOAD_OUT="$WORK/load.json"
/usr/bin/python3 "$MMSP_SOURCE_DIR/tests/integration/predict_load.py" "$URL" fraud "$WORK/stop" "$LOAD_OUT" 2 2 &
LOAD_PID=$!
track_pid "$LOAD_PID"

state() {
  "$MMSP_BIN" deployments --data "$D" --json |
    jq -r '.deployments[] | select(.name == "fraud" and .environment == "production") | "\(.stable_version) \(.canary_version)"'
}
start=$(date +%s)
rolled=""
for _ in $(seq 1 120); do
  if [ "$(state)" = "1 null" ]; then rolled=1; break; fi
  sleep 0.5
done
elapsed=$(($(date +%s) - start))
if [ -n "$rolled" ]; then pass; else
  fail "canary not rolled back after ${elapsed}s; prometheus alerts: $(curl -s "$PROM_URL/api/v1/alerts" | head -c 600); alertmanager: $(tail -5 "$WORK/alertmanager/log")"
fi
echo "rolled back after ${elapsed}s"

# the rollback came from the alert, through Alertmanager
"$MMSP_BIN" history fraud --data "$D" --json >"$WORK/h.json"
if jq -e '[.events[] | select(.action == "rollback")] | length == 1 and .[0].who == "alertmanager"
    and .[0].detail.alert.name == "MmspCanaryErrorRateHigh" and .[0].detail.alert.labels.action == "rollback"
    and (.[0].detail.alert.fingerprint | length > 0) and (.[0].detail.alert.startsAt | length > 0)
    and (.[0].detail.alert.annotations.summary | test("Canary of fraud"))' "$WORK/h.json" >/dev/null; then pass; else
  fail "rollback event: $(jq -c '[.events[] | select(.action == "rollback")]' "$WORK/h.json")"; fi

# after the rollback (the gateway re-reads at once on a webhook rollback; allow its poll),
# every request goes to the stable version
sleep 0.5
ok=0
for _ in $(seq 1 40); do
  req POST /predict '{"deployment":"fraud","inputs":[[0.5,-1.25,2,0.75,-0.5,1,0,-2,0.25,1.5,-0.75,0.125,3,-1,0.5,0.5,-0.25,1,2,-1.5,0,0.25,-0.125,1,-1,0.5,1.75,-2.5,0.375,1]]}'
  [ "$STATUS" = 200 ] && printf '%s' "$BODY" | jqe '.variant == "stable" and .version == 1' && ok=$((ok + 1))
done
[ "$ok" = 40 ] && pass || fail "after the rollback only $ok/40 requests went to stable v1"

touch "$WORK/stop"
wait "$LOAD_PID"
# the stable variant never failed: every failure is the faulty canary version's
if jq -e '.ok.stable > 50 and (.ok.canary // 0) == 0 and .fail > 0 and .transport_errors == 0
    and (.ok_versions | keys == ["1"])
    and (.fail_bodies | keys | all(test("fraud version 2 fails")))' "$LOAD_OUT" >/dev/null; then pass; else
  fail "load: $(cat "$LOAD_OUT")"; fi
req GET /metrics
stable_err=$(grep '^mmsp_gateway_errors_total{deployment="fraud",environment="production",version="1",variant="stable"}' <<<"$BODY" | awk '{print $2}')
[ "${stable_err:-0}" = 0 ] && pass || fail "gateway counted $stable_err stable errors"
grep -q '^mmsp_gateway_alerts_total{action="rollback"} 1$' <<<"$BODY" && pass ||
  fail "alerts counter: $(grep mmsp_gateway_alerts_total <<<"$BODY")"
[ "$elapsed" -le 60 ] && pass || fail "rollback took ${elapsed}s (bound 60s)"
finish
