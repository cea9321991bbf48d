#!/usr/bin/env bash
# POST /alerts (Alertmanager webhook, payload version 4) on a real `mmsp serve` over a --data
# store, driven with curl: authentication (401 without, 403 with a wrong token), malformed
# payloads and unknown deployments get 400 and change nothing (the whole payload is checked
# before anything acts), a firing alert rolls the canary back with an event "rollback" whose
# detail holds the alert, the same delivery again acts once (also after a restart: the
# history dedupes), a resolved alert is recorded, a firing alert on a deployment without
# canary is recorded and rolls nothing back, the `model` label works too, and the
# mmsp_gateway_alerts_total counter counts each action.
source "$(dirname "$0")/lib.sh"
fixtures

D="$WORK/data"
TOKEN=alert-token-123
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
mm deploy fraud --model fraud --version 2 --canary 20
mm deploy other --model fraud --version 1
mm deploy fraud --model fraud --version 1 --env staging
mm deploy fraud --model fraud --version 2 --env staging --canary 30

start_server --data "$D" --admin-token "$TOKEN"

# payload ALERTNAME STATUS LABELS-JSON [FINGERPRINT] [STARTS]
alert() {
  printf '{"status":"%s","labels":%s,"annotations":{"summary":"canary errors"},"startsAt":"%s","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph","fingerprint":"%s"}' \
    "$2" "$3" "${5:-2026-01-01T00:00:00Z}" "${4:-fp1}"
}
payload() { # STATUS ALERT...
  local st=$1; shift
  local IFS=,
  printf '{"version":"4","groupKey":"{}:{alertname=\\"X\\"}","truncatedAlerts":0,"status":"%s","receiver":"mmsp","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","alerts":[%s]}' "$st" "$*"
}
post() { req POST /alerts "$1" -H "Authorization: Bearer $TOKEN"; }
state() { # NAME [ENV] -> "stable canary weight state"
  "$MMSP_BIN" deployments --data "$D" --json |
    jq -r --arg n "$1" --arg e "${2:-production}" '.deployments[] | select(.name == $n and .environment == $e) | "\(.stable_version) \(.canary_version) \(.canary_weight) \(.state)"'
}
expect_state() {
  local got; got=$(state "$1" "${2:-production}")
  if [ "$got" = "$3" ]; then pass; else fail "$4: state of $1 '$got', want '$3'"; fi
}
events() { "$MMSP_BIN" history "$1" --data "$D" --json | jq -c "$2"; }
expect_events() {
  local got; got=$(events "$1" "$2")
  if [ "$got" = "$3" ]; then pass; else fail "$4: $2 of $1 history: '$got', want '$3'"; fi
}

FIRING=$(payload firing "$(alert CanaryErrorRateHigh firing '{"alertname":"CanaryErrorRateHigh","deployment":"fraud","severity":"critical"}')")

# --- authentication ------------------------------------------------------------------------
req POST /alerts "$FIRING"
expect_error 401 "no token"
req POST /alerts "$FIRING" -H "Authorization: Bearer wrong"
expect_error 403 "wrong token"
expect_state fraud production "1 2 20 canary" "unauthenticated alerts change nothing"

# --- malformed payloads: 400, nothing changes ----------------------------------------------
for bad in '' 'not json' '[]' '{"version":"4"}' '{"version":"3","alerts":[]}' \
  '{"version":"4","alerts":{}}' '{"version":"4","alerts":[1]}' \
  "$(payload firing "$(alert A bogus '{"alertname":"A","deployment":"fraud"}')")" \
  "$(payload firing "$(alert A firing '{"alertname":"A"}')")" \
  "$(payload firing "$(alert A firing '{"alertname":"A","deployment":5}')")" \
  "$(payload firing "$(alert A firing '{"alertname":"A","deployment":"fraud","environment":"qa"}')")" \
  '{"version":"4","alerts":[{"status":"firing","labels":{"deployment":"fraud"}}]}'; do
  post "$bad"
  expect_error 400 "malformed payload: ${bad:0:80}"
done
# a valid alert next to one naming an unknown deployment: 400, and the valid one did not act
post "$(payload firing "$(alert A firing '{"alertname":"A","deployment":"fraud"}' fpa)" "$(alert B firing '{"alertname":"B","deployment":"nope"}' fpb)")"
expect_error 400 "unknown deployment"
expect_json '.error | test("unknown deployment")' true
expect_state fraud production "1 2 20 canary" "a rejected payload changes nothing"
expect_events fraud '[.events[] | select(.action == "rollback" or (.action | startswith("alert")))] | length' 0 "no alert events yet"

# --- firing: the canary is rolled back ------------------------------------------------------
post "$FIRING"
expect_status 200 "firing alert"
expect_json '.results' '[{"alertname":"CanaryErrorRateHigh","deployment":"fraud","environment":"production","status":"firing","action":"rollback"}]'
expect_state fraud production "1 null 0 rolled_back" "firing alert rolled the canary back"
expect_state fraud staging "1 2 30 canary" "staging untouched"
expect_events fraud '[.events[] | select(.action == "rollback") | {who, env: .environment, name: .detail.alert.name, sev: .detail.alert.labels.severity, summary: .detail.alert.annotations.summary, startsAt: .detail.alert.startsAt, fp: .detail.alert.fingerprint}]' \
  '[{"who":"alertmanager","env":"production","name":"CanaryErrorRateHigh","sev":"critical","summary":"canary errors","startsAt":"2026-01-01T00:00:00Z","fp":"fp1"}]' \
  "rollback event with the alert"

# --- the same delivery again acts once ------------------------------------------------------
mm deploy fraud --model fraud --version 2 --canary 20
post "$FIRING"
expect_status 200 "duplicate delivery"
expect_json '.results[0].action' '"duplicate"'
expect_state fraud production "1 2 20 canary" "a duplicate did not roll back the new canary"

# --- and after a restart (the history remembers) ---------------------------------------------
stop_server
start_server --data "$D" --admin-token "$TOKEN"
post "$FIRING"
expect_status 200 "duplicate after restart"
expect_json '.results[0].action' '"duplicate"'
expect_state fraud production "1 2 20 canary" "duplicate after a restart acts once"

# --- a new firing (new startsAt) by the model label, in staging ------------------------------
post "$(payload firing "$(alert CanaryP99High firing '{"alertname":"CanaryP99High","model":"fraud","environment":"staging"}' fp2 2026-01-02T00:00:00Z)")"
expect_status 200 "model label"
expect_json '.results[0] | [.action, .environment]' '["rollback","staging"]'
expect_state fraud staging "1 null 0 rolled_back" "model label rolled the staging canary back"
expect_state fraud production "1 2 20 canary" "production untouched by a staging alert"

# --- resolved is recorded (once) -----------------------------------------------------------
RESOLVED=$(payload resolved "$(alert CanaryErrorRateHigh resolved '{"alertname":"CanaryErrorRateHigh","deployment":"fraud","severity":"critical"}')")
post "$RESOLVED"
expect_status 200 "resolved"
expect_json '.results[0].action' '"resolved"'
post "$RESOLVED"
expect_json '.results[0].action' '"duplicate"'
expect_events fraud '[.events[] | select(.action == "alert_resolved" and .environment == "production") | .detail.alert.name]' '["CanaryErrorRateHigh"]' "one alert_resolved event"
expect_state fraud production "1 2 20 canary" "resolved changes no deployment"

# --- firing on a deployment without canary: recorded, no stable rollback ---------------------
post "$(payload firing "$(alert CanaryErrorRateHigh firing '{"alertname":"CanaryErrorRateHigh","deployment":"other"}' fp3)")"
expect_status 200 "no canary"
expect_json '.results[0].action' '"ignored"'
expect_state other production "1 null 0 active" "no stable rollback from an alert"
expect_events other '[.events[] | select(.action == "alert_fired") | .detail.alert.name]' '["CanaryErrorRateHigh"]' "alert_fired recorded"

# --- the counter ----------------------------------------------------------------------------
req GET /metrics # (counts since the restart above)
for a in rollback:1 resolved:1 duplicate:2 ignored:1; do
  if grep -q "^mmsp_gateway_alerts_total{action=\"${a%%:*}\"} ${a##*:}\$" <<<"$BODY"; then pass; else
    fail "mmsp_gateway_alerts_total{action=${a%%:*}} != ${a##*:}: $(grep mmsp_gateway_alerts_total <<<"$BODY")"
  fi
done
expect_alive "after all alerts"
finish
