#!/bin/bash
# The Redis online store against a real redis-server on loopback (tests/integration/redis.sh):
# `mmsp features materialize --online-store redis://...` writes one hash per entity
# (mmsp:VIEW:KEY with _ts and one field per non-null feature); an older record never
# overwrites a newer one; `mmsp serve --online-store redis://...` answers
# /get-online-features from Redis (values, NULL_VALUE, NOT_FOUND) and /push writes there;
# with Redis gone the lookup is a 503, not a crash. Then a redis-server with requirepass and an
# ACL user: redis://:PASSWORD@HOST:PORT/DB and redis://USER:PASSWORD@... (percent-encoded
# characters) authenticate and SELECT the database; a wrong password, a user without a
# password, a bad database number are clear errors that never show the password.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/redis.sh"
trap 'stop_server >/dev/null 2>&1; run_cleanups; rm -rf "$WORK"' EXIT
command -v redis-cli >/dev/null || { echo "redis-cli missing (Debian package redis-tools)" >&2; exit 1; }

DATA="$WORK/data"
check() { if [ "$2" = "$3" ]; then pass; else fail "$1: got '$2', want '$3'"; fi; }

redis_start
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

cat >"$WORK/stats.csv" <<'CSV'
user_id,region,ts,score,visits,label
u1,eu,2024-05-01T10:00:00Z,0.5,3,a
u1,eu,2024-05-01T11:00:00Z,0.75,4,
u2,us,2024-05-01T09:00:00Z,0.25,,b
u1,us,2024-05-01T08:00:00Z,9.5,9,z
CSV
cat >"$WORK/views.yaml" <<'YAML'
name: user_stats
entities: [user_id, region]
features:
  - {name: score, type: float}
  - {name: visits, type: int64}
  - {name: label, type: string}
source: stats.csv
timestamp_field: ts
YAML
mmsp_ok "apply" features apply "$WORK/views.yaml"
mmsp_ok "materialize to redis" features materialize --online-store "$REDIS_URL"
check "materialize count" "$OUT" "materialized 3 entities into the redis online store"
check "hash fields" "$(rcli HGET 'mmsp:user_stats:u1|eu' score) $(rcli HGET 'mmsp:user_stats:u1|eu' visits) $(rcli HEXISTS 'mmsp:user_stats:u1|eu' label)" "0.75 4 0"
check "hash ts" "$(rcli HGET 'mmsp:user_stats:u1|eu' _ts)" "1714561200000"
check "key count" "$(rcli --scan --pattern 'mmsp:user_stats:*' | wc -l)" "3"
mmsp_ok "get from redis" features get --view user_stats --entity 'u2|us' --entity 'u3|eu' --online-store "$REDIS_URL"
check "get" "$(printf '%s' "$OUT" | jq -c '[.[0].values, .[1].found]')" '[{"score":0.25,"visits":null,"label":"b"},false]'

# An older record does not overwrite a newer one (a window ending before 11:00 is older).
mmsp_ok "materialize older" features materialize --online-store "$REDIS_URL" --end 2024-05-01T10:30:00Z
check "newer kept" "$(rcli HGET 'mmsp:user_stats:u1|eu' visits)" "4"

start_server --data "$DATA" --prediction-log off --online-store "$REDIS_URL"
req POST /get-online-features '{"features":["user_stats:score","user_stats:visits","user_stats:label"],"entities":{"user_id":["u1","u2","u9"],"region":["eu","us","eu"]}}'
expect_status 200
expect_json '.metadata.feature_names' '["user_id","region","score","visits","label"]'
expect_json '.results[2].values' '[0.75,0.25,null]'
expect_json '.results[3].values' '[4,null,null]'
expect_json '.results[3].statuses' '["PRESENT","NULL_VALUE","NOT_FOUND"]'
expect_json '.results[4].statuses' '["NULL_VALUE","PRESENT","NOT_FOUND"]'
req POST /push '{"push_source_name":"user_stats","df":{"user_id":["u9"],"region":["eu"],"ts":["2024-06-01T00:00:00Z"],"score":[1.5],"label":["new"]},"to":"online"}'
expect_status 200
check "pushed hash" "$(rcli HGET 'mmsp:user_stats:u9|eu' label)" "new"
req POST /get-online-features '{"features":["user_stats:score"],"entities":{"user_id":["u9"],"region":["eu"]}}'
expect_json '.results[2].values' '[1.5]'
# Many entities in one request: pipelined reads, order kept.
ids=$(seq 1 300 | sed 's/^/"x/;s/$/"/' | paste -sd,)
regs=$(seq 1 300 | sed 's/.*/"eu"/' | paste -sd,)
req POST /get-online-features "{\"features\":[\"user_stats:score\"],\"entities\":{\"user_id\":[$ids,\"u1\"],\"region\":[$regs,\"eu\"]}}"
expect_json '[(.results[2].values|length), .results[2].values[300], .results[2].statuses[0]]' '[301,0.75,"NOT_FOUND"]'
redis_stop
req POST /get-online-features '{"features":["user_stats:score"],"entities":{"user_id":["u1"],"region":["eu"]}}'
expect_status 503
expect_alive
stop_server

# --- passwords: requirepass (the default user) and an ACL user; database 3
PW='s3cr@t:pw'                        # '@' and ':' in a password
PW_URL='s3cr%40t%3Apw'                # ... percent-encoded in the URL
redis_start "$PW"
rcli ACL SETUSER feast on '>fe@st pass' '~*' '&*' '+@all' >/dev/null
AUTH_URL="redis://:$PW_URL@127.0.0.1:$REDIS_PORT/3"
mmsp_ok "materialize with a password" features materialize --online-store "$AUTH_URL"
check "written to db 3" "$(rcli -n 3 HGET 'mmsp:user_stats:u1|eu' visits) $(rcli -n 0 EXISTS 'mmsp:user_stats:u1|eu')" "4 0"
# an unencoded '@' in the password works too (the last '@' ends the credentials)
mmsp_ok "get, raw @" features get --view user_stats --entity 'u1|eu' --online-store "redis://:s3cr@t%3Apw@127.0.0.1:$REDIS_PORT/3"
check "get with a password" "$(printf '%s' "$OUT" | jq -c '.[0].values.visits')" '4'
USER_URL="redis://feast:fe%40st%20pass@127.0.0.1:$REDIS_PORT/3"
mmsp_ok "get as an ACL user" features get --view user_stats --entity 'u1|eu' --online-store "$USER_URL"
check "get as a user" "$(printf '%s' "$OUT" | jq -c '.[0].values.score')" '0.75'
start_server --data "$DATA" --prediction-log off --online-store "$USER_URL"
req POST /get-online-features '{"features":["user_stats:visits"],"entities":{"user_id":["u1"],"region":["eu"]}}'
expect_json '.results[2].values' '[4]'
# the connection is re-opened (and authenticated again) after Redis dropped it
rcli CLIENT KILL TYPE normal >/dev/null
req POST /get-online-features '{"features":["user_stats:visits"],"entities":{"user_id":["u1"],"region":["eu"]}}'
[ "$STATUS" = 200 ] || req POST /get-online-features '{"features":["user_stats:visits"],"entities":{"user_id":["u1"],"region":["eu"]}}'
expect_json '.results[2].values' '[4]'
stop_server
bad_url() { # bad_url WHAT URL GREP : the CLI fails with GREP in its message, no password shown
  "$MMSP_BIN" features get --view user_stats --entity 'u1|eu' --online-store "$2" --data "$DATA" >/dev/null 2>"$WORK/err"
  local rc=$?
  if [ $rc != 0 ] && grep -q "$3" "$WORK/err" && ! grep -q 'wrong-pw\|s3cr' "$WORK/err"; then pass; else
    fail "$1: rc $rc $(cat "$WORK/err")"; fi
}
bad_url "no password" "redis://127.0.0.1:$REDIS_PORT/3" 'NOAUTH'
bad_url "wrong password" "redis://:wrong-pw@127.0.0.1:$REDIS_PORT" 'AUTH refused: WRONGPASS'
bad_url "wrong user" "redis://nobody:wrong-pw@127.0.0.1:$REDIS_PORT" 'AUTH as nobody refused'
bad_url "user without password" "redis://feast@127.0.0.1:$REDIS_PORT" 'credentials must read :PASSWORD@ or USER:PASSWORD@'
bad_url "bad escape" "redis://:s3cr%zz@127.0.0.1:$REDIS_PORT" 'bad user name or password'
bad_url "bad database" "redis://:$PW_URL@127.0.0.1:$REDIS_PORT/x" 'bad database number'
bad_url "database out of range" "redis://:$PW_URL@127.0.0.1:$REDIS_PORT/99" 'SELECT 99 failed'
"$MMSP_BIN" serve --data "$DATA" --host 127.0.0.1 --port 0 --online-store "redis://:wrong-pw@127.0.0.1:$REDIS_PORT" >/dev/null 2>"$WORK/err" &
spid=$!
for _ in $(seq 1 100); do kill -0 $spid 2>/dev/null || break; sleep 0.05; done
if kill -0 $spid 2>/dev/null; then kill $spid; fail "serve with a wrong password did not exit"; else
  wait $spid; rc=$?
  if [ $rc = 1 ] && grep -q 'WRONGPASS' "$WORK/err" && ! grep -q 'wrong-pw' "$WORK/err"; then pass; else fail "serve, wrong password: rc $rc $(cat "$WORK/err")"; fi
fi
finish
