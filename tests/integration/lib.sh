# Shared helpers for integration tests (source it). Each test script:
#   source "$(dirname "$0")/lib.sh"
#   fixtures            # $FIXTURES: a model repository (see make_fixtures.py), built once per build dir
#   start_server --model-repository "$FIXTURES" [more mmsp serve flags]   # sets $URL, $SERVER_PID
#   req GET /v2/health/live; expect_status 200; expect_json '.live' true
#   ...
#   finish              # stops the server, prints "N checks passed", exits non-zero on failure
# The server runs on 127.0.0.1 with --port 0; the port is read from its JSON log line.
# Environment (set by ctest): MMSP_BIN, MMSP_SOURCE_DIR, MMSP_BUILD_DIR.
set -uo pipefail

MMSP_BIN=${MMSP_BIN:-$(pwd)/build/mmsp}
MMSP_SOURCE_DIR=${MMSP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MMSP_BUILD_DIR=${MMSP_BUILD_DIR:-$(dirname "$MMSP_BIN")}
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/mmsp-$TEST_NAME.XXXXXX")
CHECKS_PASSED=0
CHECKS_FAILED=0
SERVER_PID=""
URL=""
STATUS=""
BODY=""
HEADERS=""

fail() {
  CHECKS_FAILED=$((CHECKS_FAILED + 1))
  echo "FAIL [$TEST_NAME]: $*" >&2
}

pass() {
  CHECKS_PASSED=$((CHECKS_PASSED + 1))
}

# Builds the shared fixture repository once per build dir (under a lock: tests run in parallel).
fixtures() {
  FIXTURES="$MMSP_BUILD_DIR/test-fixtures/repo"
  (
    flock 9
    if [ ! -f "$MMSP_BUILD_DIR/test-fixtures/.done" ]; then
      rm -rf "$FIXTURES"
      /usr/bin/python3 "$MMSP_SOURCE_DIR/tests/integration/make_fixtures.py" "$FIXTURES" &&
        touch "$MMSP_BUILD_DIR/test-fixtures/.done"
    fi
  ) 9>"$MMSP_BUILD_DIR/test-fixtures.lock"
  [ -f "$MMSP_BUILD_DIR/test-fixtures/.done" ] || { echo "fixtures could not be built" >&2; exit 1; }
  # Each test gets its own copy, so reload/unload tests can change it.
  cp -r "$FIXTURES" "$WORK/repo"
  FIXTURES="$WORK/repo"
}

# start_server ARGS... : runs `mmsp serve --host 127.0.0.1 --port 0 ARGS...`, waits for it.
SERVER_STARTS=0
start_server() {
  # A new log file per start: reading a previous server's "listening" line would be a race.
  SERVER_STARTS=$((SERVER_STARTS + 1))
  SERVER_LOG="$WORK/server.$SERVER_STARTS.log"
  "$MMSP_BIN" serve --host 127.0.0.1 --port 0 "$@" >"$WORK/server.$SERVER_STARTS.out" 2>"$SERVER_LOG" &
  SERVER_PID=$!
  local port=""
  for _ in $(seq 1 200); do
    port=$(grep -o '"msg":"listening on http://127.0.0.1:[0-9]*' "$SERVER_LOG" 2>/dev/null | grep -o '[0-9]*$' | head -1)
    [ -n "$port" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "server exited at start:" >&2; cat "$SERVER_LOG" >&2; exit 1
    fi
    sleep 0.05
  done
  [ -n "$port" ] || { echo "server did not start:" >&2; cat "$SERVER_LOG" >&2; exit 1; }
  URL="http://127.0.0.1:$port"
  PORT=$port
}

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    if [ "$rc" -ne 0 ]; then
      fail "server exited with status $rc (sanitizer report or crash?)"
      tail -40 "$SERVER_LOG" >&2
    fi
  fi
  SERVER_PID=""
}

# The server must still be alive (call after hostile input).
expect_alive() {
  if kill -0 "$SERVER_PID" 2>/dev/null; then pass; else fail "server died: $*"; tail -40 "$SERVER_LOG" >&2; fi
}

# req METHOD PATH [BODY|@FILE] [curl args...] : sets STATUS, BODY, HEADERS.
req() {
  local method=$1 path=$2; shift 2
  local data=()
  if [ $# -gt 0 ]; then
    if [[ "$1" == @* ]]; then data=(--data-binary "$1"); else data=(--data-binary "$1" -H 'Content-Type: application/json'); fi
    shift
  fi
  STATUS=$(curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -X "$method" \
    --max-time 10 "${data[@]}" "$@" "$URL$path")
  BODY=$(cat "$WORK/body" 2>/dev/null)
  HEADERS=$(cat "$WORK/headers" 2>/dev/null)
}

expect_status() {
  if [ "$STATUS" = "$1" ]; then pass; else fail "${2:-request}: status $STATUS, want $1; body: ${BODY:0:300}"; fi
}

# expect_json JQ_FILTER EXPECTED : compares `jq -c FILTER` of BODY with EXPECTED (compact JSON).
expect_json() {
  local got
  got=$(printf '%s' "$BODY" | jq -c "$1" 2>/dev/null)
  if [ "$got" = "$2" ]; then pass; else fail "$1: got '$got', want '$2'; body: ${BODY:0:300}"; fi
}

# expect_error STATUS : the status and a JSON body {"error": "<non-empty string>"}.
expect_error() {
  expect_status "$1" "${2:-request}"
  # jq -e exits 0 on empty input: an empty body must fail, so test for it first.
  if [ -n "$BODY" ] && printf '%s' "$BODY" | jq -e '.error | type == "string" and length > 0' >/dev/null 2>&1; then
    pass
  else
    fail "${2:-request}: body is not {\"error\": ...}: ${BODY:0:300}"
  fi
}

# Cleanup hooks: helpers that start other servers (pg.sh) register their stop function with
# add_cleanup; finish and INT/TERM run them (in order, once) before $WORK is removed.
CLEANUP_HOOKS=()
add_cleanup() { CLEANUP_HOOKS+=("$1"); }
run_cleanups() {
  local f
  for f in "${CLEANUP_HOOKS[@]}"; do "$f" || true; done
  CLEANUP_HOOKS=()
}

finish() {
  stop_server
  run_cleanups
  rm -rf "$WORK"
  echo "$TEST_NAME: $CHECKS_PASSED checks passed, $CHECKS_FAILED failed"
  [ "$CHECKS_FAILED" -eq 0 ] && [ "$CHECKS_PASSED" -gt 0 ]
  exit $?
}

trap 'stop_server >/dev/null 2>&1; run_cleanups >/dev/null 2>&1; rm -rf "$WORK"' INT TERM

# ---------------------------------------------------------------------------------------------
# Helpers for the hostile-input, limits, metrics and reload tests (additive; nothing above
# depends on them).
#   good_body                   a valid v2 infer body for the fixture model "binary" (1 row)
#   expect_good_after WHAT      the server is alive and answers good_body with 200 (STATUS,
#                               BODY and HEADERS are kept as they were)
#   bad_request STATUS WHAT METHOD PATH [BODY|@FILE] [curl args...]
#                               one hostile case: STATUS with an {"error": ...} body, then
#                               expect_good_after
#   track_pid PID / kill_tracked   background helpers (load loops) killed by PID at exit
PY=/usr/bin/python3
V2TOOL="$MMSP_SOURCE_DIR/tests/integration/v2tool.py"
# 30 features, all exactly representable in FP32 (and in every integer type after truncation
# only where integral: see the datatype tests).
GOOD_ROW="0.5,-1.25,2,0.75,-0.5,1,0,-2,0.25,1.5,-0.75,0.125,3,-1,0.5,0.5,-0.25,1,2,-1.5,0,0.25,-0.125,1,-1,0.5,1.75,-2.5,0.375,1"
TRACKED_PIDS=()

good_body() {
  printf '{"inputs":[{"name":"input","shape":[1,30],"datatype":"FP32","data":[%s]}]}' "$GOOD_ROW"
}

expect_good_after() {
  local what=$1 s=$STATUS b=$BODY h=$HEADERS
  if [ -z "$SERVER_PID" ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
    fail "server died after: $what"
    tail -20 "$SERVER_LOG" >&2
  else
    req POST /v2/models/binary/infer "$(good_body)"
    if [ "$STATUS" = 200 ] &&
      printf '%s' "$BODY" | jqe '.outputs[0].data | length == 1'; then
      pass
    else
      fail "good request after '$what': status $STATUS, body: ${BODY:0:200}"
    fi
  fi
  STATUS=$s BODY=$b HEADERS=$h
}

bad_request() {
  local want=$1 what=$2
  shift 2
  rm -f "$WORK/body" "$WORK/headers" # a failed curl must not leave the previous answer
  req "$@"
  expect_status "$want" "$what"
  expect_error_body "$what"
  expect_good_after "$what"
}

track_pid() { TRACKED_PIDS+=("$1"); }

# jqe FILTER [jq args...] < INPUT : like `jq -e` but empty input is false (jq 1.6 `-e` exits 0
# on empty input, so a check piped from an empty body would pass).
jqe() {
  local input
  input=$(cat)
  [ -n "$input" ] || return 1
  printf '%s' "$input" | jq -e "$@" >/dev/null 2>&1
}

# expect_error_body WHAT : BODY is {"error": "<non-empty string>"} (strict: empty body fails).
expect_error_body() {
  if printf '%s' "$BODY" | jqe '.error | type == "string" and length > 0'; then
    pass
  else
    fail "$1: body is not {\"error\": ...}: ${BODY:0:300}"
  fi
}

kill_tracked() {
  local p
  for p in "${TRACKED_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${TRACKED_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  TRACKED_PIDS=()
}

# mmsp_ok WHAT ARGS... : runs `mmsp ARGS --data "$DATA"` (the test sets DATA); passes when it
# exits 0, else fails with its stderr. OUT holds its stdout.
mmsp_ok() {
  local what=$1
  shift
  OUT=$("$MMSP_BIN" "$@" --data "$DATA" 2>"$WORK/cli.err")
  if [ $? = 0 ]; then pass; else fail "$what: $(cat "$WORK/cli.err")"; fi
}

# wait_for WHAT CMD... : runs CMD every 50 ms until it succeeds (pass) or WAIT_SECONDS (default
# 30) have gone (fail, returns 1).
wait_for() {
  local what=$1 secs=${WAIT_SECONDS:-30}
  shift
  for _ in $(seq 1 $((secs * 20))); do
    if "$@"; then
      pass
      return 0
    fi
    sleep 0.05
  done
  fail "$what: not after $secs s"
  return 1
}

# bad_request_oneof "400|404" WHAT METHOD PATH [BODY|@FILE] [curl args...]: like bad_request
# where the protocol allows more than one status.
bad_request_oneof() {
  local want=$1 what=$2
  shift 2
  rm -f "$WORK/body" "$WORK/headers"
  req "$@"
  if [[ "$STATUS" =~ ^($want)$ ]]; then pass; else fail "$what: status $STATUS, want $want; body: ${BODY:0:300}"; fi
  expect_error_body "$what"
  expect_good_after "$what"
}
