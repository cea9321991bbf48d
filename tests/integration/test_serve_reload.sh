#!/usr/bin/env bash
# Hot swap under load: clients send infer requests in a loop (keep-alive and new connections,
# default and pinned versions) while the model is reloaded many times, with the version set
# changing between reloads. Not one request may fail. Then unload: in-flight requests finish,
# new ones get 503; load again serves again.
source "$(dirname "$0")/lib.sh"
fixtures
start_server --model-repository "$FIXTURES" --threads 4

LOAD_SCRIPT=$(cat <<'EOF'
import http.client, json, sys, threading, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
body = json.dumps({"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP32",
                               "data": [0.1 * i for i in range(10)]}]})
ok = [0]; bad = []
lock = threading.Lock()
def client(path, keepalive):
    end = time.time() + seconds
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.time() < end:
        try:
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            r = conn.getresponse(); data = r.read()
            if r.status != 200 or "outputs" not in json.loads(data):
                with lock: bad.append((path, r.status, data[:200]))
            else:
                with lock: ok[0] += 1
        except Exception as e:
            with lock: bad.append((path, "exception", repr(e)))
            conn.close(); conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if not keepalive:
            conn.close(); conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
threads = [threading.Thread(target=client, args=(p, k)) for p, k in
           [("/v2/models/regress/infer", True), ("/v2/models/regress/infer", False),
            ("/v2/models/regress/versions/2/infer", True), ("/v2/models/regress/infer", True)]]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"ok": ok[0], "failed": len(bad), "first": [str(b) for b in bad[:3]]}))
EOF
)

/usr/bin/python3 -c "$LOAD_SCRIPT" "$PORT" 6 >"$WORK/load.json" &
LOADER=$!
sleep 0.3
RELOADS=0
for i in $(seq 1 40); do
  # alternate between serving {2} and {1,2}: every reload swaps in a new set
  if [ $((i % 2)) -eq 0 ]; then
    printf 'backend: xgboost\nmax_batch_size: 128\nversion_policy:\n  all: {}\n' >"$FIXTURES/regress/config.yaml"
  else
    printf 'backend: xgboost\nmax_batch_size: 128\n' >"$FIXTURES/regress/config.yaml"
  fi
  req POST /v2/repository/models/regress/load
  [ "$STATUS" = 200 ] && RELOADS=$((RELOADS + 1))
  sleep 0.05
done
wait "$LOADER"
if [ "$RELOADS" -eq 40 ]; then pass; else fail "only $RELOADS of 40 reloads succeeded"; fi
RESULT=$(cat "$WORK/load.json")
echo "under reload: $RESULT"
if [ "$(jq .failed <<<"$RESULT")" = 0 ] && [ "$(jq '.ok > 100' <<<"$RESULT")" = true ]; then pass; else fail "requests failed during reloads: $RESULT"; fi
req GET /v2/models/regress/stats
expect_json '[.model_stats[].inference_stats.fail.count] | add' 0

# unload under load: requests either succeed (in flight / before) or get 503, never anything else
cat >"$WORK/unload.py" <<'EOF'
import http.client, json, sys, time
port = int(sys.argv[1])
body = json.dumps({"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP32", "data": [0.5] * 10}]})
codes = {}
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
end = time.time() + 1.5
while time.time() < end:
    conn.request("POST", "/v2/models/regress/infer", body)
    r = conn.getresponse(); r.read()
    codes[r.status] = codes.get(r.status, 0) + 1
print(json.dumps(codes))
EOF
/usr/bin/python3 "$WORK/unload.py" "$PORT" >"$WORK/unload.json" &
LOADER=$!
sleep 0.5
req POST /v2/repository/models/regress/unload; expect_status 200
wait "$LOADER"
CODES=$(cat "$WORK/unload.json")
if [ "$(jq -c 'keys - ["200","503"]' <<<"$CODES")" = "[]" ] && [ "$(jq '."503" > 0' <<<"$CODES")" = true ]; then pass; else fail "unload under load: $CODES"; fi
req GET /v2/models/regress/ready; expect_error 503
req POST /v2/repository/models/regress/load; expect_status 200
req POST /v2/models/regress/infer '{"inputs":[{"name":"input","shape":[1,10],"datatype":"FP32","data":[0,0,0,0,0,0,0,0,0,0]}]}'
expect_status 200
expect_alive
finish
