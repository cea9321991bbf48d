#!/bin/bash
# The streaming retraining trigger (docs/drift.md "Streaming drift in the gateway") on a real
# `mmsp serve --retrain-command`: a deployment with a baseline gets training-like traffic (no
# call), then drifted traffic through /predict: once the window is critical the command runs
# exactly once with the path of a drift report written under DATA/drift/fraud/ (the format of
# `mmsp drift report --json`), and "retrain_triggered" is in the deployment's history; more
# drifted traffic calls nothing; healthy traffic ends the episode (.episode says healthy) and
# the next drift calls the command again. Usage errors of the flags exit 2.
source "$(dirname "$0")/lib.sh"
trap 'stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT

DATA="$WORK/data"
PY=/usr/bin/python3

# --- usage errors
"$MMSP_BIN" serve --data "$DATA" --retrain-command /bin/true --retrain-webhook http://127.0.0.1:1/x >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc = 2 ] && grep -q 'not both' "$WORK/err"; then pass; else fail "both flags: rc $rc $(cat "$WORK/err")"; fi
"$MMSP_BIN" serve --data "$DATA" --retrain-webhook ftp://x >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc = 2 ] && grep -q "^mmsp: --retrain-webhook: 'ftp://x' is not an http" "$WORK/err"; then pass; else fail "ftp webhook: rc $rc $(cat "$WORK/err")"; fi
"$MMSP_BIN" serve --data "$DATA" --retrain-command ' ' >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc = 2 ] && grep -q '^mmsp: --retrain-command: expects a command' "$WORK/err"; then pass; else fail "empty command: rc $rc $(cat "$WORK/err")"; fi

# --- a model naming its features, its training data and baseline
cat >"$WORK/train.py" <<'PY'
import sys
import numpy as np
import xgboost as xgb
out, csv = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(3)
X = rng.normal(size=(2000, 5)).astype(np.float32)
y = ((X[:, 0] + X[:, 2]) > 0.2).astype(np.float32)
d = xgb.DMatrix(X, label=y, feature_names=["amount", "age", "hour", "score", "tenure"])
xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0},
          d, num_boost_round=4).save_model(out)
with open(csv, "w") as f:
    f.write("amount,age,hour,score,tenure\n")
    for r in X:
        f.write(",".join(repr(float(v)) for v in r) + "\n")
PY
mkdir -p "$WORK/m1" "$DATA/baselines"
$PY "$WORK/train.py" "$WORK/m1/model.json" "$WORK/train.csv" || { echo "cannot train" >&2; exit 1; }
"$MMSP_BIN" drift baseline --data "$WORK/train.csv" --out "$DATA/baselines/fraud.json" >/dev/null ||
  { echo "cannot build the baseline" >&2; exit 1; }
cat >"$WORK/manifest.yaml" <<'YAML'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.01}
YAML
mmsp_ok "register" model register fraud "$WORK/m1/model.json" --manifest "$WORK/manifest.yaml"
mmsp_ok "deploy" deploy fraud --model fraud --version 1

# the retraining command: records its arguments (a fixed one, then the report path)
cat >"$WORK/retrain.sh" <<EOS
#!/bin/sh
echo "\$1 \$2" >> "$WORK/retrain.calls"
EOS
chmod +x "$WORK/retrain.sh"
start_server --data "$DATA" --retrain-command "$WORK/retrain.sh fraud-job"

# send SHIFT BATCHES SEED : BATCHES /predict calls of 50 rows, amount shifted by SHIFT
send() {
  $PY - "$URL" "$1" "$2" "$3" <<'PY' || fail "send $*"
import json, sys, urllib.request
import numpy as np
url, shift, batches, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(seed)
for _ in range(batches):
    X = rng.normal(size=(50, 5))
    X[:, 0] += shift
    body = json.dumps({"deployment": "fraud", "inputs": [[round(float(v), 6) for v in r] for r in X]}).encode()
    rq = urllib.request.Request(url + "/predict", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(rq, timeout=10) as r:
        assert r.status == 200, r.status
PY
}
calls() { [ -f "$WORK/retrain.calls" ] && wc -l <"$WORK/retrain.calls" || echo 0; }
episode() { cat "$DATA/drift/fraud/.episode" 2>/dev/null; }
calls_are() { [ "$(calls)" = "$1" ]; }
episode_is() { [ "$(episode)" = "$1" ]; }

# training-like traffic: 2000 rows, no call
send 0 40 1
sleep 0.5
if [ "$(calls)" = 0 ]; then pass; else fail "called on healthy traffic: $(cat "$WORK/retrain.calls")"; fi

# drifted traffic: 3000 more rows with amount shifted by 3 sigma: one call
send 3 60 2
wait_for "retrain command called" calls_are 1
read -r arg report <"$WORK/retrain.calls"
if [ "$arg" = fraud-job ] && [[ "$report" == "$DATA/drift/fraud/report-"*.json ]] && [ -f "$report" ]; then pass; else
  fail "command arguments: $(cat "$WORK/retrain.calls")"; fi
if jq -e '.status == "critical" and .rows > 2000 and .rows <= 5000 and .dataset_drift == false and
    ([.features[].name] == ["amount","age","hour","score","tenure"]) and
    .features[0].status == "critical" and .features[0].drifted and .features[1].status == "healthy" and
    (.features[0].ks_pvalue < 0.05) and .thresholds.psi_critical == 0.2' "$report" >/dev/null; then pass; else
  fail "report: $(head -c 600 "$report")"; fi
if [ "$(episode)" = critical ]; then pass; else fail "episode state: $(episode)"; fi
# the event is recorded once the command returned
history_has() {
  BODY=$("$MMSP_BIN" history fraud --data "$DATA" --json 2>"$WORK/err")
  [ "$(printf '%s' "$BODY" | jq '[.. | objects | select(.action? == "retrain_triggered")] | length')" = "$1" ]
}
wait_for "retrain_triggered in the history" history_has 1
expect_json "[.. | objects | select(.action? == \"retrain_triggered\") | .detail | (if type == \"string\" then fromjson else . end) | [.via, .status, .ok, .source, (.report == \"$report\")]][0]" '["command","critical",true,"stream",true]'

# more drift in the same episode: no second call
send 3 20 3
sleep 0.5
if [ "$(calls)" = 1 ]; then pass; else fail "called twice in one episode: $(cat "$WORK/retrain.calls")"; fi

# healthy traffic replaces the window (10000 rows): the episode ends
send 0 200 4
wait_for "episode ended" episode_is healthy
if [ "$(calls)" = 1 ]; then pass; else fail "called on recovery: $(cat "$WORK/retrain.calls")"; fi
# a new episode calls again
send 3 60 5
wait_for "second episode called" calls_are 2
wait_for "second retrain_triggered" history_has 2
expect_alive
finish
