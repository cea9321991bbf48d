# shellcheck shell=bash
# Throw-away Prometheus and Alertmanager servers for integration tests (source after lib.sh):
#   source "$(dirname "$0")/lib.sh"
#   source "$(dirname "$0")/prom.sh"
#   prom_rules_fast "$WORK/rules.yml"        # deploy/monitoring's canary rules, short windows
#   am_start "$URL/alerts" TOKEN             # sets AM_URL (Alertmanager; webhook to mmsp)
#   prom_start "$URL" "$WORK/rules.yml"      # sets PROM_URL (scrapes $URL/metrics every 1s)
#   prom_query 'PROMQL'                      # prints the first sample's value ("" if none)
#   finish                                   # lib.sh's finish stops both (cleanup hook)
# Both listen on 127.0.0.1 at ports the kernel picked, keep their data under $WORK, and are
# stopped by prom_stop: from finish, on INT/TERM, on any other exit, and by a detached
# watchdog should the test shell die without running any of them (SIGKILL from a timeout).
# The test configs are short on purpose: scrape and rule evaluation every 1s, Alertmanager
# group_wait/group_interval 1s; the routing (action="rollback" -> webhook with bearer
# authorization) is the one of deploy/monitoring/alertmanager.yml.
# Environment: PROMETHEUS_BIN (default /usr/bin/prometheus), ALERTMANAGER_BIN (default
# /usr/bin/prometheus-alertmanager).

PROMETHEUS_BIN=${PROMETHEUS_BIN:-/usr/bin/prometheus}
ALERTMANAGER_BIN=${ALERTMANAGER_BIN:-/usr/bin/prometheus-alertmanager}
PROM_URL=""
PROM_PID=""
AM_URL=""
AM_PID=""

prom__free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# prom__wait_ready URL PID LOG NAME: polls URL/-/ready until 200 (60 s at most).
prom__wait_ready() {
  local i
  for i in $(seq 1 600); do
    if curl -fsS -o /dev/null --max-time 2 "$1/-/ready" 2>/dev/null; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then
      echo "prom.sh: $4 exited at start:" >&2; tail -30 "$3" >&2; return 1
    fi
    sleep 0.1
  done
  echo "prom.sh: $4 is not ready:" >&2; tail -30 "$3" >&2
  return 1
}

# prom_rules_fast OUT: the canary rules of deploy/monitoring with 5s windows and `for: 2s`, so
# a test sees the real expressions fire within seconds.
prom_rules_fast() {
  sed -e 's/\[1m\]/[5s]/g' -e 's/for: 2m/for: 2s/' \
    "$MMSP_SOURCE_DIR/deploy/monitoring/rules/mmsp-canary.yml" >"$1"
}

# am_start WEBHOOK_URL [TOKEN]
am_start() {
  [ -x "$ALERTMANAGER_BIN" ] || { echo "prom.sh: $ALERTMANAGER_BIN not installed" >&2; exit 1; }
  local dir="$WORK/alertmanager" auth=""
  mkdir -p "$dir/data"
  if [ -n "${2:-}" ]; then
    printf '%s' "$2" >"$dir/token"
    auth="        http_config:
          authorization:
            type: Bearer
            credentials_file: $dir/token"
  fi
  cat >"$dir/alertmanager.yml" <<EOF
route:
  receiver: default
  group_by: [alertname, deployment, environment]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: mmsp-gateway
      matchers:
        - action="rollback"
      group_wait: 1s
      group_interval: 1s
      repeat_interval: 1h
receivers:
  - name: default
  - name: mmsp-gateway
    webhook_configs:
      - url: $1
        send_resolved: true
$auth
EOF
  add_cleanup prom_stop
  prom__chain_exit_trap
  local attempt port
  for attempt in 1 2 3 4 5; do
    port=$(prom__free_port)
    "$ALERTMANAGER_BIN" --config.file="$dir/alertmanager.yml" --storage.path="$dir/data" \
      --web.listen-address="127.0.0.1:$port" --cluster.listen-address= \
      --log.level=info >"$dir/log" 2>&1 &
    AM_PID=$!
    AM_URL="http://127.0.0.1:$port"
    prom__watchdog "$AM_PID"
    if prom__wait_ready "$AM_URL" "$AM_PID" "$dir/log" alertmanager 2>"$dir/start-err"; then
      return 0
    fi
    grep -q "address already in use" "$dir/log" || break
  done
  cat "$dir/start-err" >&2
  exit 1
}

# prom_start TARGET_URL [RULE_FILE...]: scrapes TARGET_URL/metrics (job "mmsp") every second,
# evaluates the rule files every second, alerts to Alertmanager when am_start ran.
prom_start() {
  [ -x "$PROMETHEUS_BIN" ] || { echo "prom.sh: $PROMETHEUS_BIN not installed" >&2; exit 1; }
  local target=${1#http://} dir="$WORK/prometheus"
  target=${target%%/*}
  shift
  mkdir -p "$dir/data"
  {
    printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n'
    if [ $# -gt 0 ]; then
      printf 'rule_files:\n'
      local f
      for f in "$@"; do printf '  - %s\n' "$f"; done
    fi
    if [ -n "$AM_URL" ]; then
      printf 'alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ["%s"]\n' "${AM_URL#http://}"
    fi
    printf 'scrape_configs:\n  - job_name: mmsp\n    static_configs:\n      - targets: ["%s"]\n' "$target"
  } >"$dir/prometheus.yml"
  add_cleanup prom_stop
  prom__chain_exit_trap
  local attempt port
  for attempt in 1 2 3 4 5; do
    port=$(prom__free_port)
    "$PROMETHEUS_BIN" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
      --web.listen-address="127.0.0.1:$port" --log.level=warn >"$dir/log" 2>&1 &
    PROM_PID=$!
    PROM_URL="http://127.0.0.1:$port"
    prom__watchdog "$PROM_PID"
    if prom__wait_ready "$PROM_URL" "$PROM_PID" "$dir/log" prometheus 2>"$dir/start-err"; then
      return 0
    fi
    grep -q "address already in use" "$dir/log" || break
  done
  cat "$dir/start-err" >&2
  exit 1
}

# prom_query PROMQL: the first sample's value of an instant query ("" when empty).
prom_query() {
  curl -s --max-time 5 "$PROM_URL/api/v1/query" --data-urlencode "query=$1" |
    jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}

# Stops both servers; safe to call twice.
prom_stop() {
  local p
  for p in "$PROM_PID" "$AM_PID"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  PROM_PID=""
  AM_PID=""
  return 0
}

prom__chain_exit_trap() {
  local prev
  prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
  case "$prev" in *prom_stop*) return 0 ;; esac
  # shellcheck disable=SC2064 # expand the previous handler now
  trap "prom_stop >/dev/null 2>&1; $prev" EXIT
}

# A detached process that kills server PID once the test shell is gone.
prom__watchdog() {
  local shell_pid=$$ pid=$1
  (
    setsid bash -c "while kill -0 $shell_pid 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 1; done
      kill -TERM $pid 2>/dev/null" </dev/null >/dev/null 2>&1 &
  )
}
