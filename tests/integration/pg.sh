# shellcheck shell=bash
# A throw-away PostgreSQL server for integration tests (source it after lib.sh):
#   source "$(dirname "$0")/lib.sh"
#   source "$(dirname "$0")/pg.sh"
#   pg_start        # sets and exports PG_URL (database "mmsp"), PG_ADMIN_URL (database
#                   # "postgres"), PG_PORT, PG_DATA
#   ... "$MMSP_BIN" ... --registry "$PG_URL" ...
#   finish          # lib.sh's finish stops the server first (cleanup hook)
# The cluster is made by initdb in $WORK/pg (trust auth, superuser "mmsp"; the server runs
# with fsync on, the default). It listens on 127.0.0.1 at a port the kernel picked (picked
# again on a collision), with its unix socket in $WORK/pg. As root the server runs as the
# "postgres" user. pg_stop is safe to call twice; it runs from lib.sh's finish, on INT/TERM,
# on any other exit, and a detached watchdog stops the server should the test shell die
# without running any of them (SIGKILL from a ctest timeout).
# Environment: PG_BIN (default: the newest /usr/lib/postgresql/*/bin).

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PG_DIR=""
PG_DATA=""
PG_PORT=""
PG_URL=""
PG_ADMIN_URL=""

# pg_as CMD...: runs CMD as the postgres user when we are root (the server refuses root).
pg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A port that was free a moment ago (the kernel's pick); pg_start retries if it is taken.
pg_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
  if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
    echo "pg.sh: PostgreSQL server binaries not found (PG_BIN=$PG_BIN)" >&2
    exit 1
  fi
  PG_DIR="$WORK/pg"
  PG_DATA="$PG_DIR/data"
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then
    chmod o+x "$WORK" # mktemp made it 0700; postgres needs to pass through
    chown postgres: "$PG_DIR"
  fi
  # --no-sync: initdb's files need not survive an OS crash (the cluster is thrown away);
  # the server itself runs with fsync on.
  if ! pg_as "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U mmsp -E UTF8 --no-locale --no-sync \
    >"$WORK/pg-initdb.log" 2>&1; then
    echo "pg.sh: initdb failed:" >&2
    cat "$WORK/pg-initdb.log" >&2
    exit 1
  fi
  add_cleanup pg_stop
  pg__chain_exit_trap
  local started="" attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    PG_PORT=$(pg_free_port)
    rm -f "$PG_DIR/server.log"
    if pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c shared_buffers=16MB" start >/dev/null 2>&1; then
      started=1
      break
    fi
    # Someone took the port between our pick and the server's bind: pick again.
    grep -q "could not bind\|Address already in use\|could not create any TCP/IP" \
      "$PG_DIR/server.log" 2>/dev/null || break
  done
  if [ -z "$started" ]; then
    echo "pg.sh: PostgreSQL did not start (attempt $attempt):" >&2
    cat "$PG_DIR/server.log" >&2
    exit 1
  fi
  pg__watchdog
  local ready=""
  for _ in $(seq 1 600); do
    if pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -U mmsp; then ready=1; break; fi
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    echo "pg.sh: PostgreSQL on port $PG_PORT is not ready:" >&2
    cat "$PG_DIR/server.log" >&2
    exit 1
  fi
  if ! psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U mmsp -d postgres -v ON_ERROR_STOP=1 \
    -c 'CREATE DATABASE mmsp' >"$WORK/pg-createdb.log" 2>&1; then
    echo "pg.sh: CREATE DATABASE failed:" >&2
    cat "$WORK/pg-createdb.log" >&2
    exit 1
  fi
  PG_URL="postgres://mmsp@127.0.0.1:$PG_PORT/mmsp"
  PG_ADMIN_URL="postgres://mmsp@127.0.0.1:$PG_PORT/postgres"
  export PG_URL PG_ADMIN_URL PG_PORT PG_DATA
}

# Stops the server (fast: sessions are ended, the checkpoint written); safe to call twice.
pg_stop() {
  [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ] || return 0
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 ||
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 60 stop >/dev/null 2>&1
  [ ! -f "$PG_DATA/postmaster.pid" ]
}

# An exit that skips finish (a helper's `exit 1`) still stops the server; an EXIT trap set
# before us keeps running after ours.
pg__chain_exit_trap() {
  local prev
  prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
  case "$prev" in *pg_stop*) return 0 ;; esac
  # shellcheck disable=SC2064 # expand the previous handler now
  trap "pg_stop >/dev/null 2>&1; $prev" EXIT
}

# A detached process (not a child of the test, so a ctest timeout that kills the test's
# process tree does not kill it) that stops the server once the test shell is gone.
pg__watchdog() {
  local shell_pid=$$ ctl="$PG_BIN/pg_ctl" data="$PG_DATA" as=""
  [ "$(id -u)" = 0 ] && as="runuser -u postgres --"
  (
    setsid bash -c "while kill -0 $shell_pid 2>/dev/null; do sleep 1; done
      [ -f '$data/postmaster.pid' ] && $as '$ctl' -D '$data' -m immediate -w -t 60 stop" \
      </dev/null >/dev/null 2>&1 &
  )
}
