#!/bin/bash
# The gateway role in front of two inference roles (docs/gateway.md "Remote inference"):
#   - two `mmsp serve --roles inference` processes (own serving directories) and one
#     `mmsp serve --roles gateway --inference-url A,B`, all over one registry (--data);
#   - wrk drives POST /predict; replica A is killed with SIGKILL during the load: the requests
#     lost are at most those in flight (≤ the connection count), every other answer is 200, and
#     B keeps serving;
#   - A restarts on the same port and takes traffic again (its own request counter grows);
#   - with both replicas dead /predict answers 503 {"error": "no inference replica answered
#     ..."} at once (no hang), and the gateway still answers;
#   - the prediction log (default DATA/predictions) holds one line per successful request:
#     the 50 sequential requests with known ids appear exactly once each, the load's 2xx at
#     least once.
# Every wait is for an event (a counter, a status), bounded; no step depends on a sleep.
source "$(dirname "$0")/lib.sh"
fixtures

DATA="$WORK/data"
CONNS=8
declare -A PID PORT LOG
STARTS=0

cleanup_roles() {
  local n
  for n in "${!PID[@]}"; do kill -9 "${PID[$n]}" 2>/dev/null; done
  kill_tracked
}
add_cleanup cleanup_roles
trap 'cleanup_roles >/dev/null 2>&1; rm -rf "$WORK"' EXIT

# start_role NAME PORT ARGS... : `mmsp serve --host 127.0.0.1 --port PORT ARGS...`, waits for
# the "listening" line; PORT 0 picks a free one. Sets PID[NAME], PORT[NAME], LOG[NAME].
start_role() {
  local name=$1 port=$2
  shift 2
  STARTS=$((STARTS + 1))
  LOG[$name]="$WORK/$name.$STARTS.log"
  "$MMSP_BIN" serve --host 127.0.0.1 --port "$port" "$@" >/dev/null 2>"${LOG[$name]}" &
  PID[$name]=$!
  local got=""
  for _ in $(seq 1 400); do
    got=$(grep -o '"msg":"listening on http://127.0.0.1:[0-9]*' "${LOG[$name]}" 2>/dev/null | grep -o '[0-9]*$' | head -1)
    [ -n "$got" ] && break
    if ! kill -0 "${PID[$name]}" 2>/dev/null; then
      echo "$name exited at start:" >&2
      cat "${LOG[$name]}" >&2
      exit 1
    fi
    sleep 0.05
  done
  [ -n "$got" ] || { echo "$name did not start" >&2; cat "${LOG[$name]}" >&2; exit 1; }
  PORT[$name]=$got
}

# inference_requests NAME : the replica's inference_requests_total for fraud version 1.
inference_requests() {
  curl -s --max-time 5 "http://127.0.0.1:${PORT[$1]}/metrics" |
    awk -F' ' '/^inference_requests_total\{model="fraud",version="1"\}/ {print $2; f=1} END {if (!f) print 0}' |
    cut -d. -f1
}
requests_at_least() { [ "$(inference_requests "$1")" -ge "$2" ]; }
model_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$1]}/v2/models/fraud/versions/1/ready")" = 200 ]; }

ROW="[$GOOD_ROW]"
predict_body() { printf '{"deployment":"fraud","id":"%s","inputs":[%s]}' "$1" "$ROW"; }
gw_predict() { # gw_predict ID : STATUS, BODY
  URL="http://127.0.0.1:${PORT[gw]}"
  req POST /predict "$(predict_body "$1")"
}
gw_ok() { gw_predict "probe-$RANDOM"; [ "$STATUS" = 200 ]; }

# --- the registry: the fixture classifier as fraud version 1, deployed to production ---
cat >"$WORK/manifest.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.01}
EOF
out=$("$MMSP_BIN" model register fraud "$FIXTURES/binary/1/model.json" --manifest "$WORK/manifest.yaml" --data "$DATA" 2>&1)
if [ $? = 0 ]; then pass; else fail "register: $out"; fi
out=$("$MMSP_BIN" deploy fraud --model fraud --version 1 --data "$DATA" 2>&1)
if [ $? = 0 ]; then pass; else fail "deploy: $out"; fi

# A second model whose file names its features f0..f4 ("features" requests), as "named".
cat >"$WORK/train_named.py" <<'PY'
import sys
import numpy as np
import xgboost as xgb
rng = np.random.default_rng(3)
X = rng.normal(size=(300, 5)).astype(np.float32)
y = ((X[:, 0] - X[:, 3]) > 0).astype(np.float32)
d = xgb.DMatrix(X, label=y, feature_names=["f0", "f1", "f2", "f3", "f4"])
xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0},
          d, num_boost_round=5).save_model(sys.argv[1])
PY
$PY "$WORK/train_named.py" "$WORK/named.json" || { echo "cannot train the named model" >&2; exit 1; }
out=$("$MMSP_BIN" model register named "$WORK/named.json" --manifest "$WORK/manifest.yaml" --data "$DATA" 2>&1)
if [ $? = 0 ]; then pass; else fail "register named: $out"; fi
out=$("$MMSP_BIN" deploy named --model named --version 1 --data "$DATA" 2>&1)
if [ $? = 0 ]; then pass; else fail "deploy named: $out"; fi

# --- flags: a gateway without inference needs --inference-url; bad roles and URLs are usage errors ---
"$MMSP_BIN" serve --roles gateway --data "$DATA" --port 0 >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc = 2 ] && grep -q 'mmsp: --roles: .*--inference-url' "$WORK/err"; then pass; else fail "gateway without URLs: rc $rc, $(cat "$WORK/err")"; fi
"$MMSP_BIN" serve --roles gateway,cook --data "$DATA" --port 0 >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc = 2 ] && grep -q "unknown role 'cook'" "$WORK/err"; then pass; else fail "bad role: rc $rc, $(cat "$WORK/err")"; fi
"$MMSP_BIN" serve --roles gateway --inference-url ftp://x --data "$DATA" --port 0 >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc = 2 ] && grep -q "not an http" "$WORK/err"; then pass; else fail "bad URL: rc $rc, $(cat "$WORK/err")"; fi

# --- two inference roles and the gateway ---
start_role a 0 --roles inference --data "$DATA" --serving-dir "$DATA/serving-a" --poll-ms 100
start_role b 0 --roles inference --data "$DATA" --serving-dir "$DATA/serving-b" --poll-ms 100
WAIT_SECONDS=60 wait_for "replica a serves fraud" model_ready a
WAIT_SECONDS=60 wait_for "replica b serves fraud" model_ready b
# An inference-only role has no gateway: a deployment body is the simple API's (no default model).
URL="http://127.0.0.1:${PORT[a]}"
req GET /api/v1/models
expect_status 404 "an inference-only role hosts no registry API"
start_role gw 0 --roles gateway --inference-url "http://127.0.0.1:${PORT[a]},http://127.0.0.1:${PORT[b]}/" \
  --data "$DATA" --poll-ms 100 --prediction-log-format jsonl
WAIT_SECONDS=60 wait_for "the gateway answers /predict" gw_ok
gw_predict first
expect_status 200 "predict through the gateway"
expect_json '[.id, .deployment, .model, .version, .variant]' '["first","fraud","fraud",1,"stable"]'
if printf '%s' "$BODY" | jqe '.prediction | type == "number"'; then pass; else fail "prediction: $BODY"; fi
# The same row straight to a replica: the gateway relays the model's answer.
URL="http://127.0.0.1:${PORT[b]}"
req POST /v2/models/fraud/infer "$(good_body)"
direct=$(printf '%s' "$BODY" | jq -c '.outputs[0].data[0]')
gw_predict second
if [ "$(printf '%s' "$BODY" | jq -c '[.prediction] | flatten | .[0]')" = "$direct" ]; then pass; else fail "gateway $BODY vs direct $direct"; fi
URL="http://127.0.0.1:${PORT[gw]}"
req GET /v2/health/ready
expect_status 200 "the gateway role is ready"
req GET /v2/models/fraud
expect_status 404 "the gateway role serves no v2 models itself"

# --- remote parity: probabilities and named features through the config's parameters ---
named_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$1]}/v2/models/named/versions/1/ready")" = 200 ]; }
WAIT_SECONDS=60 wait_for "replica a serves named" named_ready a
WAIT_SECONDS=60 wait_for "replica b serves named" named_ready b
URL="http://127.0.0.1:${PORT[a]}"
req GET /v2/models/named/versions/1/config
expect_json '.parameters.feature_names.string_value' '"f0,f1,f2,f3,f4"'
expect_json '.parameters.output_is_probability.string_value' '"true"'
req GET /v2/models/fraud/versions/1/config
expect_json '.parameters.output_is_probability.string_value' '"true"'
expect_json '.parameters.feature_names' 'null'
URL="http://127.0.0.1:${PORT[gw]}"
gw_predict probs
expect_status 200 "fraud through the gateway"
if printf '%s' "$BODY" | jqe '(.probabilities | length) == 2 and ((.probabilities | add) - 1 | fabs) < 1e-6 and
    ((.probabilities[1] - .prediction) | fabs) < 1e-6'; then
  pass
else
  fail "remote probabilities [1 - p, p]: $BODY"
fi
req POST /predict '{"deployment":"named","inputs":[[0.5,-1.25,2,0.75,-0.5]]}'
expect_status 200 "named: the inputs form"
P_INPUTS=$(printf '%s' "$BODY" | jq -c .prediction)
req POST /predict '{"deployment":"named","features":{"f3":0.75,"f0":0.5,"f4":-0.5,"f2":2,"f1":-1.25}}'
expect_status 200 "named: the features form through the remote back end"
expect_json '.prediction' "$P_INPUTS"
expect_json '.probabilities | length' '2'
req POST /predict '{"deployment":"named","features":{"f0":1,"f1":1,"f2":1,"f3":1,"zz":1}}'
expect_error 400 "named: an unknown feature"
req POST /predict '{"deployment":"fraud","features":{"f0":1}}'
expect_error 400 "fraud: no feature names, features refused"

# --- load, then kill -9 replica a in the middle ---
predict_body load >"$WORK/body.json"
wrk -t2 -c$CONNS -d120s --timeout 20s -s "$MMSP_SOURCE_DIR/tests/integration/infer_count.lua" \
  "http://127.0.0.1:${PORT[gw]}/predict" -- "$WORK/body.json" >"$WORK/wrk.out" 2>&1 &
WRK=$!
track_pid $WRK
WAIT_SECONDS=60 wait_for "replica a takes load" requests_at_least a 200
WAIT_SECONDS=60 wait_for "replica b takes load" requests_at_least b 200
kill -9 "${PID[a]}"
wait "${PID[a]}" 2>/dev/null
b_then=$(inference_requests b)
WAIT_SECONDS=60 wait_for "replica b carries the load alone" requests_at_least b $((b_then + 1000))
# a comes back on the same port (same serving directory: its lock died with it).
start_role a "${PORT[a]}" --roles inference --data "$DATA" --serving-dir "$DATA/serving-a" --poll-ms 100
WAIT_SECONDS=60 wait_for "restarted replica a takes traffic again" requests_at_least a 100
kill -INT $WRK
wait $WRK 2>/dev/null
TRACKED_PIDS=()
wrk_json=$(grep -o 'WRK_JSON .*' "$WORK/wrk.out" | cut -d' ' -f2-)
if [ -n "$wrk_json" ]; then pass; else fail "wrk printed no summary: $(tail -5 "$WORK/wrk.out")"; fi
wrk_ok=$(printf '%s' "$wrk_json" | jq -r '.responses - .non2xx')
wrk_bad=$(printf '%s' "$wrk_json" | jq -r '.non2xx + ([.errors[]] | add)')
if [ "$wrk_bad" -le $CONNS ]; then pass; else fail "lost $wrk_bad requests (> $CONNS in flight): $wrk_json"; fi
if [ "$wrk_ok" -ge 1000 ]; then pass; else fail "only $wrk_ok successful requests: $wrk_json"; fi
grep -q '"event":"gateway.replica","msg":"inference replica http://127.0.0.1:'"${PORT[a]}"' is down' "${LOG[gw]}" &&
  pass || fail "the gateway did not log replica a down"
grep -q '"event":"gateway.replica","msg":"inference replica http://127.0.0.1:'"${PORT[a]}"' is back' "${LOG[gw]}" &&
  pass || fail "the gateway did not log replica a back"

# --- 50 sequential requests with known ids (for the prediction log) ---
okseq=0
for i in $(seq 1 50); do
  gw_predict "seq-$i"
  [ "$STATUS" = 200 ] && okseq=$((okseq + 1))
done
if [ $okseq = 50 ]; then pass; else fail "sequential: $okseq of 50 answered 200"; fi

# --- both replicas dead: 503 with a clear error, at once ---
kill -9 "${PID[a]}" "${PID[b]}"
wait "${PID[a]}" "${PID[b]}" 2>/dev/null
unset 'PID[a]' 'PID[b]'
start_s=$(date +%s%N)
gw_predict dead
elapsed_ms=$((($(date +%s%N) - start_s) / 1000000))
expect_status 503 "no replica left"
expect_error_body "no replica left"
if printf '%s' "$BODY" | jqe '.error | test("no inference replica answered")'; then pass; else fail "error: $BODY"; fi
# Connections are refused at once; the bound is the request timeout (2 s) with room to spare.
if [ "$elapsed_ms" -lt 5000 ]; then pass; else fail "the 503 took $elapsed_ms ms"; fi
gw_predict dead2
expect_status 503 "still no replica (backing off)"
req GET /v2/health/live
expect_status 200 "the gateway stays up"

# --- the prediction log: one line per successful request ---
req GET /metrics
logged=$(printf '%s\n' "$BODY" | awk '/^mmsp_prediction_log_records_total / {print $2}')
kill -TERM "${PID[gw]}"
wait "${PID[gw]}"
rc=$?
if [ $rc = 0 ]; then pass; else fail "gateway exited with $rc"; tail -20 "${LOG[gw]}" >&2; fi
unset 'PID[gw]'
ls "$DATA/predictions"/predictions-*.jsonl >/dev/null 2>&1 && pass || fail "no prediction log files in $DATA/predictions"
cat "$DATA/predictions"/predictions-*.jsonl >"$WORK/all.jsonl"
lines=$(wc -l <"$WORK/all.jsonl")
if jq -e -s 'all(.[]; has("time") and has("id") and has("deployment") and has("environment")
    and has("model") and has("version") and has("variant") and has("inputs")
    and has("prediction") and has("latency_ms") and has("status"))' "$WORK/all.jsonl" >/dev/null; then
  pass
else
  fail "log lines without the documented keys: $(head -c 400 "$WORK/all.jsonl")"
fi
ok_lines=$(jq -s '[.[] | select(.status == "ok")] | length' "$WORK/all.jsonl")
seq_ids=$(jq -r 'select(.id | startswith("seq-")) | .id' "$WORK/all.jsonl" | sort | uniq -c | awk '$1 == 1' | wc -l)
seq_all=$(jq -r 'select(.id | startswith("seq-")) | .id' "$WORK/all.jsonl" | wc -l)
if [ "$seq_ids" = 50 ] && [ "$seq_all" = 50 ]; then pass; else fail "sequential ids: $seq_ids unique of $seq_all lines (want 50)"; fi
load_lines=$(jq -r 'select(.id == "load" and .status == "ok") | .id' "$WORK/all.jsonl" | wc -l)
if [ "$load_lines" -ge "$wrk_ok" ]; then pass; else fail "load: $load_lines log lines < $wrk_ok successful answers"; fi
if jq -e -s '[.[] | select(.id == "seq-1")][0] | .deployment == "fraud" and .version == 1
    and .variant == "stable" and .environment == "production" and (.inputs[0] | length) == 30' \
    "$WORK/all.jsonl" >/dev/null; then pass; else fail "seq-1 line: $(grep '"seq-1"' "$WORK/all.jsonl")"; fi
# Everything the gateway counted as written before the last scrape is in the files.
if [ -n "$logged" ] && [ "$lines" -ge "${logged%.*}" ]; then pass; else fail "records_total $logged, lines $lines"; fi
# Failed requests are logged too, with their error.
if [ "$(jq -r 'select(.id == "dead" or .id == "dead2") | .status' "$WORK/all.jsonl" | sort -u)" = UNAVAILABLE ]; then
  pass
else
  fail "the 503s are not logged as UNAVAILABLE: $(grep '"dead' "$WORK/all.jsonl" | head -c 400)"
fi
if [ "$ok_lines" -ge $((wrk_ok + 50 + 2)) ]; then pass; else fail "$ok_lines ok lines for $wrk_ok + 52 answers"; fi
echo "gateway remote: $wrk_ok load answers ($wrk_bad lost while a replica died), $lines log lines" >&2

finish
