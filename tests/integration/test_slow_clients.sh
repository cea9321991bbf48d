#!/bin/bash
# Slow, half-closed and abandoned clients (server run with --idle-timeout 2): while clients
# stall, others are served; stalled connections are dropped after the idle timeout; half-closed
# and garbage connections are closed; hundreds of abandoned connections leak no descriptors.
# After each case the server answers a good request.
source "$(dirname "$0")/lib.sh"
fixtures
start_server --model-repository "$FIXTURES" --idle-timeout 2
trap 'kill_tracked; stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT

slow_bg() { # slow_bg MODE OUTFILE : a slow client in the background
  $PY "$V2TOOL" slow 127.0.0.1 "$PORT" "$1" 9 >"$2" 2>&1 &
  track_pid $!
}
# good_meanwhile WHAT N : N good requests, each must answer within 1.5 s
good_meanwhile() {
  local ok=0 s
  for _ in $(seq 1 "$2"); do
    s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1.5 -X POST -H 'Content-Type: application/json' \
      --data-binary "$(good_body)" "$URL/v2/models/binary/infer")
    [ "$s" = 200 ] && ok=$((ok + 1))
  done
  if [ "$ok" = "$2" ]; then pass; else fail "$1: only $ok of $2 good requests answered within 1.5 s"; fi
}
# expect_dropped FILE WHAT : the slow client saw the server close between 1 and 7 s
expect_dropped() {
  local out
  out=$(cat "$1")
  if printf '%s' "$out" | jqe '.closed == true and .after >= 1.0 and .after <= 7.0' >/dev/null 2>&1; then
    pass
  else
    fail "$2: want the server to drop the connection 1-7 s after the stall (--idle-timeout 2), got: $out"
  fi
}
fdcount() { ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l; }

expect_good_after "start"
FD0=$(fdcount)

# 1. Headers and half the body, then silence.
slow_bg half-body "$WORK/s1"
sleep 0.3
good_meanwhile "while a client stalls mid-body" 10
wait "${TRACKED_PIDS[@]}" 2>/dev/null
TRACKED_PIDS=()
expect_dropped "$WORK/s1" "client stalled mid-body"
expect_good_after "client stalled mid-body"

# 2. Half a header block, then silence.
slow_bg half-header "$WORK/s2"
sleep 0.3
good_meanwhile "while a client stalls mid-headers" 5
wait "${TRACKED_PIDS[@]}" 2>/dev/null
TRACKED_PIDS=()
expect_dropped "$WORK/s2" "client stalled mid-headers"
expect_good_after "client stalled mid-headers"

# 3. Connect and send nothing.
slow_bg idle "$WORK/s3"
sleep 0.3
good_meanwhile "while a client is connected and silent" 5
wait "${TRACKED_PIDS[@]}" 2>/dev/null
TRACKED_PIDS=()
expect_dropped "$WORK/s3" "silent client"
expect_good_after "silent client"

# 4. Forty clients stall at once; others are still served, all forty are dropped.
for i in $(seq 1 40); do
  if [ $((i % 2)) = 0 ]; then slow_bg half-body "$WORK/m$i"; else slow_bg half-header "$WORK/m$i"; fi
done
sleep 0.5
good_meanwhile "while 40 clients stall" 10
wait "${TRACKED_PIDS[@]}" 2>/dev/null
TRACKED_PIDS=()
dropped=0
for i in $(seq 1 40); do
  jqe '.closed == true and .after <= 7.0' <"$WORK/m$i" && dropped=$((dropped + 1))
done
if [ "$dropped" = 40 ]; then pass; else fail "40 stalled clients: only $dropped dropped within 7 s; e.g. $(cat "$WORK/m1")"; fi
expect_good_after "40 stalled clients"

# 5. Half-closed: part of a request, then shutdown(SHUT_WR). The server must close its side
# (a 400 first is fine) rather than hold the connection.
$PY "$V2TOOL" slow 127.0.0.1 "$PORT" shutdown-partial 9 >"$WORK/h1" 2>&1
if jqe '.closed == true and .after <= 7.0' <"$WORK/h1"; then pass; else fail "half-closed after a partial body: not closed within 7 s: $(cat "$WORK/h1")"; fi
if jqe '.reply | test("^$|^HTTP/1\\.[01] 4")' <"$WORK/h1"; then pass; else fail "half-closed after a partial body: reply must be nothing or 4xx: $(cat "$WORK/h1")"; fi
expect_good_after "half-closed after a partial body"
# Same with bash /dev/tcp: headers only, then close the write side by exiting.
(exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'POST /v2/models/binary/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 400\r\n\r\n{"in' >&3 && exec 3>&-) 2>/dev/null
expect_good_after "bash /dev/tcp partial request then close"

# A whole request then shutdown(SHUT_WR): either answered (200) or closed, never a hang/crash.
$PY "$V2TOOL" slow 127.0.0.1 "$PORT" shutdown-full 9 >"$WORK/h2" 2>&1
if jqe '.closed == true and .after <= 7.0 and (.reply | test("^$|^HTTP/1\\.[01] 200"))' <"$WORK/h2"; then pass; else fail "whole request then half-close: want a 200 or nothing, then close within 7 s: $(cat "$WORK/h2")"; fi
expect_good_after "whole request then half-close"

# 6. Not HTTP at all; a 200 KB header line.
$PY "$V2TOOL" slow 127.0.0.1 "$PORT" garbage 9 >"$WORK/g1" 2>&1
if jqe '.closed == true and .after <= 7.0 and (.reply | test("^$|^HTTP/1\\.[01] 4"))' <"$WORK/g1"; then pass; else fail "garbage request line: want 4xx or nothing, then close: $(cat "$WORK/g1")"; fi
expect_good_after "garbage request line"
$PY "$V2TOOL" slow 127.0.0.1 "$PORT" huge-header 9 >"$WORK/g2" 2>&1
if jqe '.closed == true and .after <= 7.0 and (.reply | test("^$|^HTTP/1\\.[01] 4"))' <"$WORK/g2"; then pass; else fail "200 KB header: want 4xx or nothing, then close: $(cat "$WORK/g2")"; fi
expect_good_after "200 KB header line"

# 7. Hundreds of connections opened and abandoned (half with a partial request, a third reset).
for round in 1 2 3; do
  n=$($PY "$V2TOOL" abandon 127.0.0.1 "$PORT" 200)
  if [ "$n" = 200 ]; then pass; else fail "abandon round $round: opened $n of 200 connections"; fi
  expect_good_after "200 abandoned connections (round $round)"
done

# 8. 150 idle connections held open: others are served meanwhile; then the server drops them all
# and its descriptor count comes back (no leak).
$PY - "$PORT" >"$WORK/held" 2>&1 <<'PYEOF' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) for _ in range(150)]
for s in socks[::2]:
    s.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n")  # never finished
deadline = time.time() + 9
closed = 0
for s in socks:
    s.settimeout(max(0.01, deadline - time.time()))
    try:
        if s.recv(4096) == b"":
            closed += 1
    except ConnectionResetError:
        closed += 1
    except OSError:
        pass
print(closed)
PYEOF
track_pid $!
sleep 0.5
good_meanwhile "while 150 idle connections are held" 10
wait "${TRACKED_PIDS[@]}" 2>/dev/null
TRACKED_PIDS=()
if [ "$(cat "$WORK/held")" = 150 ]; then pass; else fail "150 held idle connections: server dropped $(cat "$WORK/held") of them within 9 s"; fi
sleep 1
FD1=$(fdcount)
if [ "$FD1" -le $((FD0 + 4)) ]; then pass; else fail "descriptor leak: $FD0 fds at start, $FD1 after all clients left"; fi
expect_good_after "150 held idle connections"

finish
