#!/bin/bash
# The Parquet prediction log survives a crash (docs/gateway.md "Prediction log"): a
# registry-mode server (default log format: Parquet, small --prediction-log-max-bytes so files
# rotate under load) answers steady /predict load; it is killed with SIGKILL mid-load. Then
# every visible predictions-*.parquet must open and read completely with our reader
# (conformance_parquet_dump), hold the documented columns, and the rows of all of them must
# not exceed the requests that were answered; leftovers are only "*.parquet.tmp" files.
source "$(dirname "$0")/lib.sh"
trap 'kill_tracked; stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT
fixtures

DUMP="$MMSP_BUILD_DIR/tests/conformance_parquet_dump"
[ -x "$DUMP" ] || { echo "missing $DUMP (build the tests)" >&2; exit 1; }
D="$WORK/data"
LOGDIR="$D/predictions"
cat >"$WORK/m.yaml" <<'YAML'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.02}
YAML
mm() { "$MMSP_BIN" "$@" --data "$D" >"$WORK/out" 2>"$WORK/err" || { fail "mmsp $*: $(cat "$WORK/err")"; return 1; }; pass; }
mm model register fraud "$FIXTURES/binary/1/model.json" --manifest "$WORK/m.yaml"
mm deploy fraud --model fraud --version 1

# A bad format is a usage error.
"$MMSP_BIN" serve --data "$D" --prediction-log-format csv >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc = 2 ] && grep -q 'mmsp: --prediction-log-format: ' "$WORK/err"; then pass; else
  fail "--prediction-log-format csv: exit $rc: $(cat "$WORK/err")"; fi

start_server --data "$D" --poll-ms 100 --prediction-log-max-bytes 20000
ROW='[0.5,-1.25,2,0.75,-0.5,1,0,-2,0.25,1.5,-0.75,0.125,3,-1,0.5,0.5,-0.25,1,2,-1.5,0,0.25,-0.125,1,-1,0.5,1.75,-2.5,0.375,1]'
ready() { req POST /predict '{"deployment":"fraud","inputs":['"$ROW"']}'; [ "$STATUS" = 200 ]; }
for _ in $(seq 1 200); do ready && break; sleep 0.05; done
if [ "$STATUS" = 200 ]; then pass; else fail "/predict not ready: $STATUS $BODY"; fi

LOAD_OUT="$WORK/load.json"
/usr/bin/python3 "$MMSP_SOURCE_DIR/tests/integration/predict_load.py" "$URL" fraud "$WORK/stop" "$LOAD_OUT" 4 0 &
LOAD_PID=$!
track_pid "$LOAD_PID"

# Wait (no fixed sleep) until at least three files were completed under load, then kill.
for _ in $(seq 1 600); do
  n=$(find "$LOGDIR" -name 'predictions-*.parquet' 2>/dev/null | wc -l)
  [ "$n" -ge 3 ] && break
  sleep 0.05
done
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
touch "$WORK/stop"
wait "$LOAD_PID"
answered=$(jq '([.ok[]] | add // 0) + .fail' "$LOAD_OUT")
answered=$((answered + 1)) # the readiness request
if [ "$n" -ge 3 ]; then pass; else fail "only $n Parquet files after 30 s of load"; fi

rows=0 files=0
for f in "$LOGDIR"/predictions-*.parquet; do
  [ -e "$f" ] || continue
  files=$((files + 1))
  if "$DUMP" read "$f" >"$WORK/dump" 2>"$WORK/dump.err"; then pass; else
    fail "$f does not read: $(cat "$WORK/dump.err")"; continue; fi
  head -1 "$WORK/dump" | grep -q '^time:TIMESTAMP_MS	id:STRING?	.*	f29:DOUBLE?	prediction:DOUBLE?	prob_0:DOUBLE?	prob_1:DOUBLE?	latency_ms:DOUBLE	status:STRING?$' ||
    fail "$f: header $(head -1 "$WORK/dump")"
  rows=$((rows + $(wc -l <"$WORK/dump") - 1))
done
others=$(find "$LOGDIR" -type f ! -name 'predictions-*.parquet' ! -name 'predictions-*.parquet.tmp' | wc -l)
if [ "$others" = 0 ]; then pass; else fail "unexpected files: $(ls "$LOGDIR")"; fi
echo "files=$files rows=$rows answered=$answered"
if [ "$rows" -gt 0 ] && [ "$rows" -le "$answered" ]; then pass; else
  fail "$rows logged rows for $answered answered requests"; fi

# A restarted server writes next to the leftovers; a clean stop makes its file visible.
start_server --data "$D" --poll-ms 100
for _ in $(seq 1 200); do ready && break; sleep 0.05; done
before=$(find "$LOGDIR" -name 'predictions-*.parquet' | wc -l)
stop_server
after=$(find "$LOGDIR" -name 'predictions-*.parquet' | wc -l)
if [ "$after" = $((before + 1)) ]; then pass; else fail "files before/after a clean stop: $before/$after"; fi
finish
