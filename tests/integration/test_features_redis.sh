#!/bin/bash
# The Redis online store against a real redis-server on loopback (tests/integration/redis.sh):
# `mmsp features materialize --online-store redis://...` writes one hash per entity
# (mmsp:VIEW:KEY with _ts and one field per non-null feature); an older record never
# overwrites a newer one; `mmsp serve --online-store redis://...` answers
# /get-online-features from Redis (values, NULL_VALUE, NOT_FOUND) and /push writes there;
# with Redis gone the lookup is a 503, not a crash.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/redis.sh"
trap 'stop_server >/dev/null 2>&1; run_cleanups; rm -rf "$WORK"' EXIT
command -v redis-cli >/dev/null || { echo "redis-cli missing (Debian package redis-tools)" >&2; exit 1; }

DATA="$WORK/data"
mmsp_ok() {
  local what=$1
  shift
  OUT=$("$MMSP_BIN" "$@" --data "$DATA" 2>"$WORK/cli.err")
  if [ $? = 0 ]; then pass; else fail "$what: $(cat "$WORK/cli.err")"; fi
}
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
finish
