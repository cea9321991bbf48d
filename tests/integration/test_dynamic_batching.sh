#!/bin/bash
# Dynamic batching (docs/serve.md "Dynamic batching"): the fixture model "binary" is served
# twice, inline ("binary") and batched ("batched": max_batch_size 8, delay 2000 µs, preferred
# sizes 4 and 8, two executor instances), by a server with ONE event-loop thread, so the
# concurrency comes from suspended connections, not from threads.
#  - 32 concurrent clients (keep-alive connections) send 640 requests with distinct rows (every
#    row has its own feature values); some requests carry 2 or 3 rows, some ask for binary
#    output. Every answer is compared with python3-xgboost's prediction for exactly those rows.
#  - Batching happened: the stats show batches of more than one row and fewer model runs than
#    requests; the metrics have the batch size, queue and compute histograms.
#  - A request above max_batch_size is refused with 400; v1 predict works on the batched model.
#  - A model with a long delay (3 s): reload and unload while requests are queued (they finish
#    on the old version, 200), and SIGTERM with requests queued: they are answered at once
#    (drained, not after the delay) and the server exits 0 (ASan build: no leak, no error).
#  - The same clients, stats and SIGTERM drain with --event-loop poll and --http-sched batch;
#    there the event-loop threads run as SCHED_BATCH and the executors (also those a reload
#    starts from an event-loop thread) as SCHED_OTHER.
source "$(dirname "$0")/lib.sh"
fixtures

cp -r "$FIXTURES/binary" "$FIXTURES/batched"
cat >"$FIXTURES/batched/config.yaml" <<'EOF'
name: batched
backend: xgboost
max_batch_size: 8
input:
  - name: input
    datatype: FP32
    dims: [30]
dynamic_batching:
  max_queue_delay_microseconds: 2000
  preferred_batch_size: [4, 8]
instance_group: [{count: 2, kind: KIND_CPU}]
EOF
cp -r "$FIXTURES/binary" "$FIXTURES/slow"
cat >"$FIXTURES/slow/config.yaml" <<'EOF'
max_batch_size: 64
dynamic_batching:
  max_queue_delay_microseconds: 3000000
EOF
MODEL_FILE="$FIXTURES/binary/1/model.json"

start_server --model-repository "$FIXTURES" --threads 1

# --- many concurrent clients, distinct rows --------------------------------------------------
cat >"$WORK/drive.py" <<'EOF'
import http.client, json, struct, sys, threading
import numpy as np
import xgboost as xgb

port, model_file, clients, per_client = int(sys.argv[1]), sys.argv[2], 32, 20
bst = xgb.Booster(model_file=model_file)

def row(k):
    # Row k is unique: feature 0 encodes k, the others vary with it.
    r = [float(np.float32((k % 97) / 7.0 - 6.0))]
    r += [float(np.float32(((k * (j + 3)) % 41) / 8.0 - 2.5)) for j in range(29)]
    r[0] = float(np.float32(k / 100.0 - 3.0))
    return r

errors, done, lock = [], [0], threading.Lock()

def client(c):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    k = c * 1000
    for i in range(per_client):
        n = 3 if i % 7 == 3 else (2 if i % 5 == 1 else 1)
        rows = [row(k + j) for j in range(n)]
        k += n
        binary = i % 4 == 2
        body = {"inputs": [{"name": "input", "shape": [n, 30], "datatype": "FP32", "data": rows}]}
        if binary:
            body["parameters"] = {"binary_data_output": True}
        conn.request("POST", "/v2/models/batched/infer", json.dumps(body),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            errors.append(f"client {c} request {i}: status {r.status}: {data[:200]!r}")
            continue
        if binary:
            hl = int(r.getheader("Inference-Header-Content-Length"))
            head = json.loads(data[:hl])
            size = head["outputs"][0]["parameters"]["binary_data_size"]
            got = list(struct.unpack(f"<{size // 4}f", data[hl:hl + size]))
        else:
            head = json.loads(data)
            got = head["outputs"][0]["data"]
        shape = head["outputs"][0]["shape"]
        want = bst.predict(xgb.DMatrix(np.asarray(rows, dtype=np.float32))).tolist()
        if shape[0] != n or len(got) != n or any(abs(g - w) > 1e-5 for g, w in zip(got, want)):
            errors.append(f"client {c} request {i} ({n} rows, binary {binary}): got {got} "
                          f"shape {shape}, want {want}")
        with lock:
            done[0] += 1

threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"ok": done[0], "errors": errors[:5], "n_errors": len(errors)}))
EOF
OUT=$($PY "$WORK/drive.py" "$PORT" "$MODEL_FILE" 2>&1)
if printf '%s' "$OUT" | jqe '.ok == 640 and .n_errors == 0'; then
  pass
else
  fail "concurrent clients: every answer must be 200 with the client's own rows: $OUT"
fi

req GET /v2/models/batched/stats
expect_status 200 "stats"
STATS=$BODY
# The rows of the 640 requests, by the driver's rule (1, 2 or 3 rows per request).
ROWS=$($PY -c 'print(sum(3 if i % 7 == 3 else (2 if i % 5 == 1 else 1) for i in range(20)) * 32)')
expect_json '.model_stats[0].inference_count' "$ROWS"
expect_json '.model_stats[0].inference_stats.success.count' 640
if printf '%s' "$STATS" | jqe '.model_stats[0] | .execution_count < 640 and
    ([.batch_stats[].batch_size] | max) > 1 and ([.batch_stats[].batch_size] | max) <= 8 and
    ([.batch_stats[].compute_infer.count] | add) == .execution_count and
    .inference_stats.queue.count == 640 and .inference_stats.queue.ns > 0'; then
  pass
else
  fail "batches of more than one row, fewer runs than requests: ${STATS:0:600}"
fi
BATCHES=$(printf '%s' "$STATS" | jq -c '[.model_stats[0].batch_stats[] | {(.batch_size|tostring): .compute_infer.count}] | add')
echo "batch sizes (size: runs): $BATCHES; runs: $(printf '%s' "$STATS" | jq '.model_stats[0].execution_count') for 640 requests"

req GET /metrics
expect_status 200 "metrics"
printf '%s' "$BODY" >"$WORK/metrics.txt"
L='model=batched version=1'
RUNS=$(printf '%s' "$STATS" | jq '.model_stats[0].execution_count')
expect_prom() { # METRIC WANT WHAT
  local got
  got=$($PY "$V2TOOL" promsum "$WORK/metrics.txt" "$1" $L)
  if $PY -c "import sys; sys.exit(0 if float('$got') == float('$2') else 1)"; then pass; else fail "$3: $1 = $got, want $2"; fi
}
expect_prom mmsp_inference_batch_size_count "$RUNS" "one batch size observation per run"
expect_prom mmsp_inference_batch_size_sum "$ROWS" "batch sizes add up to the rows"
expect_prom mmsp_inference_compute_duration_seconds_count "$RUNS" "one compute observation per run"
expect_prom mmsp_inference_queue_duration_seconds_count 640 "one queue observation per request"
ONE=$($PY "$V2TOOL" promsum "$WORK/metrics.txt" mmsp_inference_batch_size_bucket $L le=1)
if $PY -c "import sys; sys.exit(0 if float('$ONE') < float('$RUNS') else 1)"; then pass; else fail "batch size histogram: all $RUNS runs in le=1 ($ONE)"; fi
# The inline model has no batcher series.
N=$($PY "$V2TOOL" promcount "$WORK/metrics.txt" mmsp_inference_batch_size_count model=binary)
if [ "$N" = 0 ]; then pass; else fail "the inline model has batch size series"; fi

# --- limits and other APIs ---------------------------------------------------------------------
$PY "$V2TOOL" rows 5 9 30 >"$WORK/rows9.json"
$PY "$V2TOOL" v2-body "$WORK/rows9.json" >"$WORK/req9.json"
req POST /v2/models/batched/infer @"$WORK/req9.json" -H 'Content-Type: application/json'
expect_error 400 "9 rows > max_batch_size 8"
$PY "$V2TOOL" rows 6 3 30 >"$WORK/rows3.json"
req POST /v1/models/batched:predict "{\"instances\": $(cat "$WORK/rows3.json")}"
expect_status 200 "v1 predict on the batched model"
printf '%s' "$BODY" | jq -c '.predictions' >"$WORK/v1.json"
if CMP=$($PY "$V2TOOL" compare-list "$WORK/v1.json" "$MODEL_FILE" "$WORK/rows3.json" 2>&1); then pass; else fail "v1 predictions: $CMP"; fi

# --- reload and unload with requests queued (3 s delay) ----------------------------------------
# slow_clients N : N one-row requests to "slow" in the background, answers in $WORK/slow.K
slow_clients() {
  for k in $(seq 1 "$1"); do
    curl -s -o "$WORK/slow.$k" -w '%{http_code} %{time_total}\n' --max-time 20 \
      -H 'Content-Type: application/json' --data-binary "$(good_body)" \
      "$URL/v2/models/slow/infer" >"$WORK/slow.$k.status" &
    SLOW_PIDS+=($!)
  done
}
# expect_slow_answers N WHAT MAX_SECONDS : every background request got 200 within MAX_SECONDS
expect_slow_answers() {
  for p in "${SLOW_PIDS[@]}"; do wait "$p"; done
  SLOW_PIDS=()
  local bad=0
  for k in $(seq 1 "$1"); do
    read -r code secs <"$WORK/slow.$k.status"
    if [ "$code" != 200 ] || ! jq -e '.outputs[0].data | length == 1' "$WORK/slow.$k" >/dev/null 2>&1 ||
      ! $PY -c "import sys; sys.exit(0 if $secs <= $3 else 1)"; then
      bad=1
      fail "$2: request $k: status $code after ${secs}s (max $3): $(head -c 200 "$WORK/slow.$k")"
    fi
  done
  [ "$bad" = 0 ] && pass
}
SLOW_PIDS=()

slow_clients 3
sleep 0.5
req POST /v2/repository/models/slow/load
expect_status 200 "reload while requests are queued"
req POST /v2/models/batched/infer "$(good_body)"
expect_status 200 "other models answer while slow requests are queued"
expect_slow_answers 3 "queued on the old version across a reload" 10

slow_clients 2
sleep 0.5
req POST /v2/repository/models/slow/unload
expect_status 200 "unload while requests are queued"
expect_slow_answers 2 "queued across an unload" 10
req POST /v2/repository/models/slow/load
expect_status 200 "load again"

# --- SIGTERM with requests queued: drained at once, clean exit -----------------------------------
slow_clients 4
sleep 0.5
T0=$(date +%s.%N)
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
T1=$(date +%s.%N)
if [ "$rc" = 0 ]; then pass; else fail "server exited with $rc after SIGTERM with queued requests"; tail -30 "$SERVER_LOG" >&2; fi
if $PY -c "import sys; sys.exit(0 if $T1 - $T0 < 2.5 else 1)"; then pass; else fail "shutdown waited for the 3 s delay ($T0 .. $T1)"; fi
SERVER_PID=""
expect_slow_answers 4 "queued at SIGTERM (drained)" 2.9

# --- the same clients on the poll event loop (--event-loop poll, --http-sched batch) -----------
# Suspended connections are parked and resumed by another path in libmicrohttpd's poll loop
# (no epoll set to leave and rejoin): every client must still get exactly its own rows, and
# queued requests must still drain at SIGTERM.
start_server --model-repository "$FIXTURES" --threads 1 --event-loop poll --http-sched batch
# thread policies: "NAME POLICY" per thread (chrt, util-linux)
policies() {
  local t
  for t in /proc/"$SERVER_PID"/task/*; do
    printf '%s %s\n' "$(cat "$t/comm")" "$(chrt -p "${t##*/}" | sed -n 's/.*policy: //p')"
  done
}
expect_policies() { # WHAT
  local p
  p=$(policies)
  if printf '%s\n' "$p" | grep -q '^MHD.* SCHED_BATCH$' &&
    ! printf '%s\n' "$p" | grep '^MHD' | grep -qv 'SCHED_BATCH$' &&
    [ "$(printf '%s\n' "$p" | grep -c '^mmsp-batch SCHED_OTHER$')" -ge 2 ] &&
    ! printf '%s\n' "$p" | grep '^mmsp-batch' | grep -qv 'SCHED_OTHER$'; then
    pass
  else
    fail "$1: event-loop threads must be SCHED_BATCH, executors SCHED_OTHER: $(printf '%s' "$p" | tr '\n' ';')"
  fi
}
expect_policies "--http-sched batch"
req POST /v2/repository/models/batched/load
expect_status 200 "reload from an event-loop thread"
expect_policies "--http-sched batch, after a reload"
OUT=$($PY "$WORK/drive.py" "$PORT" "$MODEL_FILE" 2>&1)
if printf '%s' "$OUT" | jqe '.ok == 640 and .n_errors == 0'; then
  pass
else
  fail "poll event loop: every answer must be 200 with the client's own rows: $OUT"
fi
req GET /v2/models/batched/stats
expect_status 200 "stats (poll)"
if printf '%s' "$BODY" | jqe '.model_stats[0] | .inference_stats.success.count == 640 and
    .execution_count < 640'; then
  pass
else
  fail "poll event loop: batches of more than one row: ${BODY:0:400}"
fi
slow_clients 2
sleep 0.5
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=""
if [ "$rc" = 0 ]; then pass; else fail "poll event loop: exit $rc after SIGTERM"; fi
expect_slow_answers 2 "poll event loop: queued at SIGTERM (drained)" 2.9

finish
