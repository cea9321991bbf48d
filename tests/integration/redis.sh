# shellcheck shell=bash
# A throw-away Redis server for integration tests (source it after lib.sh):
#   source "$(dirname "$0")/lib.sh"
#   source "$(dirname "$0")/redis.sh"
#   redis_start [PASSWORD]  # sets and exports REDIS_PORT and REDIS_URL (redis://127.0.0.1:PORT);
#                           # with PASSWORD the server runs with requirepass PASSWORD (the URL
#                           # holds no credentials: the test builds its own) and REDISCLI_AUTH
#                           # is exported so redis-cli authenticates
#   ... "$MMSP_BIN" ... --online-store "$REDIS_URL" ...
#   finish          # lib.sh's finish stops the server first (cleanup hook)
# redis-server runs on 127.0.0.1 at a port the kernel picked (picked again on a collision),
# without persistence, its files in $WORK/redis. redis_stop is safe to call twice; it runs
# from lib.sh's finish and on any exit of the test shell.
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
REDIS_PORT=""
REDIS_URL=""
REDIS_PID=""

redis_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

redis_stop() {
  if [ -n "$REDIS_PID" ]; then
    kill "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=""
  fi
  return 0
}

redis_start() {
  [ -x "$REDIS_SERVER" ] || { echo "redis.sh: redis-server not found" >&2; exit 1; }
  mkdir -p "$WORK/redis"
  add_cleanup redis_stop
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    REDIS_PORT=$(redis_free_port)
    local auth=()
    if [ -n "${1:-}" ]; then
      auth=(--requirepass "$1")
      export REDISCLI_AUTH="$1"
    else
      unset REDISCLI_AUTH
    fi
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
      --dir "$WORK/redis" --daemonize no "${auth[@]}" >"$WORK/redis/server.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 200); do
      if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
        export REDIS_PORT REDIS_URL
        return 0
      fi
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.05
    done
    redis_stop
    grep -q "Address already in use" "$WORK/redis/server.log" || break
  done
  echo "redis.sh: redis-server did not start (attempt $attempt):" >&2
  cat "$WORK/redis/server.log" >&2
  exit 1
}
