#!/bin/bash
# `mmsp serve` refuses to start, with a non-zero exit and a clear "mmsp: ..." line on stderr, when
# its repository or flags are unusable. A repository where one model's file is garbage starts
# with that model UNAVAILABLE (with a reason) in the repository index, the server not ready,
# and the good models serving (Triton's behaviour, the contract in src/serve/serve.h).
source "$(dirname "$0")/lib.sh"
fixtures

# run_fail WHAT ARGS... : mmsp serve ARGS exits non-zero within 10 s with "mmsp: " on stderr
run_fail() {
  local what=$1 rc
  shift
  timeout 10 "$MMSP_BIN" serve --host 127.0.0.1 --port 0 "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
  rc=$?
  if [ "$rc" = 124 ]; then
    fail "$what: still running after 10 s (want a refusal to start)"
  elif [ "$rc" = 0 ]; then
    fail "$what: exit status 0, want non-zero"
  elif [ "$rc" -ge 128 ]; then
    fail "$what: killed by signal $((rc - 128)) (crash?): $(tail -5 "$WORK/err")"
  else
    pass
  fi
  if grep -q '^mmsp: ' "$WORK/err"; then pass; else fail "$what: no 'mmsp: ...' line on stderr: $(head -c 400 "$WORK/err")"; fi
}

touch "$WORK/a-file"
run_fail "missing repository dir" --model-repository "$WORK/does-not-exist"
if grep -q 'does-not-exist' "$WORK/err"; then pass; else fail "missing repository dir: the message does not name the path: $(head -c 300 "$WORK/err")"; fi
run_fail "repository is a file" --model-repository "$WORK/a-file"
run_fail "unknown flag" --model-repository "$FIXTURES" --no-such-flag
run_fail "--port abc" --model-repository "$FIXTURES" --port abc
run_fail "--port 70000" --model-repository "$FIXTURES" --port 70000
run_fail "--max-body-bytes -1" --model-repository "$FIXTURES" --max-body-bytes -1
run_fail "--max-body-bytes x" --model-repository "$FIXTURES" --max-body-bytes x
run_fail "--idle-timeout -3" --model-repository "$FIXTURES" --idle-timeout -3
run_fail "--model-repository without a value" --model-repository
# registry flags (docs/serve.md): an unusable policy, store or data directory stops the start
printf 'rules: [unclosed\n' >"$WORK/bad-policy.yaml"
run_fail "--policy that does not parse" --model-repository "$FIXTURES" --data "$WORK/d1" --policy "$WORK/bad-policy.yaml"
if grep -q 'bad-policy.yaml' "$WORK/err"; then pass; else fail "bad --policy: the message does not name the file: $(head -c 300 "$WORK/err")"; fi
run_fail "--policy missing" --data "$WORK/d2" --policy "$WORK/no-such-policy.yaml"
run_fail "--registry unreachable" --data "$WORK/d3" --registry "postgres://mmsp@127.0.0.1:1/mmsp?connect_timeout=5"
run_fail "--data is a file" --data "$WORK/a-file"

# Port already in use: start one server, start a second on its port.
start_server --model-repository "$FIXTURES"
run_fail "port already in use" --model-repository "$FIXTURES" --port "$PORT"
stop_server

# A repository where one model's file is garbage (and one whose config.yaml is garbage): the
# server starts (as src/serve/serve.h says, like Triton) and reports that model UNAVAILABLE.
for kind in model config; do
  rm -rf "$WORK/bad" && cp -r "$FIXTURES" "$WORK/bad"
  if [ $kind = model ]; then
    printf '{"learner": garbage' >"$WORK/bad/multi/1/model.json"
  else
    printf 'max_batch_size: [unclosed\n  input: {{{\n' >"$WORK/bad/multi/config.yaml"
  fi
  "$MMSP_BIN" serve --host 127.0.0.1 --port 0 --model-repository "$WORK/bad" >"$WORK/out" 2>"$WORK/err" </dev/null &
  pid=$!
  started=""
  for _ in $(seq 1 200); do
    if grep -q '"msg":"listening on http://127.0.0.1:' "$WORK/err" 2>/dev/null; then started=1; break; fi
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$started" ]; then
    # The server's contract (src/serve/serve.h, like Triton): a model that fails to load is
    # left UNAVAILABLE and the server starts anyway.
    fail "garbage $kind: the server did not start (want: start, multi UNAVAILABLE): $(tail -c 400 "$WORK/err")"
    kill $pid 2>/dev/null
    wait $pid
  else
    # Started: multi is UNAVAILABLE with a reason; the others serve.
    SERVER_PID=$pid SERVER_LOG="$WORK/err"
    PORT=$(grep -o '"msg":"listening on http://127.0.0.1:[0-9]*' "$WORK/err" | grep -o '[0-9]*$' | head -1)
    URL="http://127.0.0.1:$PORT"
    req POST /v2/repository/index '{}'
    expect_status 200 "garbage $kind: repository index"
    expect_json '[.[] | select(.name == "multi") | .state] | unique' '["UNAVAILABLE"]'
    if printf '%s' "$BODY" | jqe '[.[] | select(.name == "multi") | .reason | type == "string" and length > 0] | all and length > 0' >/dev/null 2>&1; then pass; else fail "garbage $kind: multi has no reason in the index: ${BODY:0:300}"; fi
    expect_json '[.[] | select(.name == "binary") | .state] | unique' '["READY"]'
    req POST /v2/models/multi/infer '{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}'
    if [[ "$STATUS" =~ ^(503|404)$ ]]; then pass; else fail "garbage $kind: infer on the unavailable model: status $STATUS, want 503 or 404"; fi
    req GET /v2/models/multi/ready
    if [[ "$STATUS" =~ ^[45][0-9][0-9]$ ]]; then pass; else fail "garbage $kind: unavailable model ready: status $STATUS, want non-2xx"; fi
    req GET /v2/health/ready
    if [[ "$STATUS" =~ ^[45][0-9][0-9]$ ]]; then pass; else fail "garbage $kind: server ready is $STATUS with a model UNAVAILABLE, want non-2xx"; fi
    if grep -q 'multi' "$WORK/err"; then pass; else fail "garbage $kind: the load failure of multi is not logged"; fi
    expect_good_after "garbage $kind: the good models serve"
    stop_server
  fi
done

finish
