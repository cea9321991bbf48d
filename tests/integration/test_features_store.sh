#!/bin/bash
# The feature store end to end (docs/features.md) with the embedded online store:
# `mmsp features apply` of a YAML file (views + a service), the point-in-time join checked
# row by row against hand-computed answers (ties, TTL expiry, a missing entity, an entity
# row before the first feature row) in CSV and Parquet, `materialize` with a time window,
# `get`; then `mmsp serve`: POST /get-online-features (features list, feature service,
# full_feature_names, statuses PRESENT / NOT_FOUND / NULL_VALUE, column orientation),
# POST /push to online, offline and both (offline rows show up in `historical`), POST
# /materialize, GET /health, bad bodies (400) and the admin token on write endpoints; a
# materialize by another process is seen by the running server.
source "$(dirname "$0")/lib.sh"
trap 'stop_server >/dev/null 2>&1; run_cleanups; rm -rf "$WORK"' EXIT

DATA="$WORK/data"
check() { # check WHAT GOT WANT
  if [ "$2" = "$3" ]; then pass; else fail "$1: got '$2', want '$3'"; fi
}

cat >"$WORK/drivers.csv" <<'CSV'
driver_id,event_timestamp,conv_rate,trips,name
1001,2024-05-01T10:00:00Z,0.5,10,alice
1001,2024-05-01T12:00:00Z,0.6,12,"al,ice"
1002,2024-05-01T09:00:00Z,0.9,,bob
1001,2024-05-01T12:00:00Z,0.65,13,tie
1003,2024-04-01T00:00:00Z,0.1,1,old
CSV
cat >"$WORK/views.yaml" <<'YAML'
feature_views:
  - name: driver_stats
    entities: [driver_id]
    features:
      - {name: conv_rate, type: double}
      - {name: trips, type: int64}
      - {name: name, type: string}
    source: drivers.csv
    timestamp_field: event_timestamp
    ttl: 2h
feature_services:
  - name: driver_activity
    features: ["driver_stats:conv_rate", "driver_stats:trips"]
YAML
cat >"$WORK/entities.csv" <<'CSV'
driver_id,event_timestamp
1001,2024-05-01T11:00:00Z
1001,2024-05-01T12:00:00Z
1001,2024-05-01T14:00:00Z
1001,2024-05-01T14:00:01Z
1002,2024-05-01T08:00:00Z
1002,2024-05-01T09:30:00Z
1004,2024-05-01T12:00:00Z
1001,2024-05-01T09:59:59Z
CSV

mmsp_ok "apply" features apply "$WORK/views.yaml"
check "apply output" "$(printf '%s' "$OUT" | head -1)" "feature view driver_stats: 3 features"
mmsp_ok "list" features list --json
check "list" "$(printf '%s' "$OUT" | jq -c '[.[0].name, .[0].entities, .[0].ttl_ms, (.[0].features|length)]')" \
  '["driver_stats",["driver_id"],7200000,3]'

# Point-in-time join, by hand: row 1 -> the 10:00 row; row 2 -> the tie at 12:00 (the last
# in file order: 0.65, 13, tie); row 3 (14:00) -> the 12:00 row, exactly at the 2 h TTL;
# row 4 (14:00:01) -> expired; row 5 (08:00) -> before 1002's first row; row 6 -> 1002 at
# 09:00 with trips null; row 7 -> unknown entity; row 8 -> before 1001's first row.
mmsp_ok "historical csv" features historical --view driver_stats --entities "$WORK/entities.csv" --out "$WORK/out.csv"
cat >"$WORK/want.csv" <<'CSV'
driver_id,event_timestamp,conv_rate,trips,name
1001,2024-05-01T11:00:00Z,0.5,10,alice
1001,2024-05-01T12:00:00Z,0.65,13,tie
1001,2024-05-01T14:00:00Z,0.65,13,tie
1001,2024-05-01T14:00:01Z,,,
1002,2024-05-01T08:00:00Z,,,
1002,2024-05-01T09:30:00Z,0.9,,bob
1004,2024-05-01T12:00:00Z,,,
1001,2024-05-01T09:59:59Z,,,
CSV
if diff "$WORK/want.csv" "$WORK/out.csv" >"$WORK/diff" 2>&1; then pass; else fail "historical: $(cat "$WORK/diff")"; fi

# Parquet out and in: the same join through our Parquet writer and reader.
mmsp_ok "historical parquet" features historical --view driver_stats --entities "$WORK/entities.csv" --out "$WORK/out.parquet"
mmsp_ok "historical parquet entities" features historical --view driver_stats --entities "$WORK/out.parquet" --out "$WORK/out2.csv"
check "parquet round trip" "$(cut -d, -f1-5 "$WORK/out2.csv" | head -4 | tail -3 | tr '\n' ';')" \
  "1001,2024-05-01T11:00:00Z,0.5,10,alice;1001,2024-05-01T12:00:00Z,0.65,13,tie;1001,2024-05-01T14:00:00Z,0.65,13,tie;"

# Errors: unknown view (exit 3), a missing join key column (exit 1), bad YAML line numbers.
"$MMSP_BIN" features historical --view nope --entities "$WORK/entities.csv" --out "$WORK/x.csv" --data "$DATA" 2>"$WORK/err"
check "unknown view exit" "$?" 3
printf 'driver,event_timestamp\n1,2024-05-01\n' >"$WORK/badents.csv"
"$MMSP_BIN" features historical --view driver_stats --entities "$WORK/badents.csv" --out "$WORK/x.csv" --data "$DATA" 2>"$WORK/err"
check "missing join key exit" "$?" 1
grep -q "join key column 'driver_id'" "$WORK/err" && pass || fail "missing join key message: $(cat "$WORK/err")"
printf 'name: v\nentities: [id]\nfeatures:\n  - {name: x, type: complex}\n' >"$WORK/bad.yaml"
"$MMSP_BIN" features apply "$WORK/bad.yaml" --data "$DATA" 2>"$WORK/err"
check "bad yaml exit" "$?" 1
grep -q "bad.yaml:4: features.type" "$WORK/err" && pass || fail "bad yaml message: $(cat "$WORK/err")"

# Materialize with a window that ends before the 12:00 rows: 1001 gets its 10:00 values.
mmsp_ok "materialize window" features materialize --end 2024-05-01T11:00:00Z
check "materialize window count" "$OUT" "materialized 3 entities into the embedded online store"
mmsp_ok "get" features get --view driver_stats --entity 1001 --entity 1004
check "get windowed" "$(printf '%s' "$OUT" | jq -c '[.[0].values.trips, .[0].event_timestamp, .[1].found]')" \
  '[10,"2024-05-01T10:00:00Z",false]'

start_server --data "$DATA" --prediction-log off
req GET /health
expect_status 200
# With its 2 h TTL every 2024 value is stale now: OUTSIDE_MAX_AGE, value null.
req POST /get-online-features '{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}'
expect_json '[.results[1].values[0], .results[1].statuses[0], .results[1].event_timestamps[0]]' \
  '[null,"OUTSIDE_MAX_AGE","2024-05-01T10:00:00Z"]'
# Without a TTL (re-applied while the server runs) the values are served.
sed 's/ttl: 2h/ttl: 0/' "$WORK/views.yaml" >"$WORK/views0.yaml"
mmsp_ok "re-apply without ttl" features apply "$WORK/views0.yaml"
# The server caches the parsed views; the other process's apply bumped feat_spec_version, so
# the very next lookup uses the new definition (no TTL: the 10:00 value is served).
req POST /get-online-features '{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}'
expect_json '[.results[1].values[0], .results[1].statuses[0]]' '[10,"PRESENT"]'
# The server loaded the store: 1001 still at 10:00. Another process materializes everything;
# the server picks it up (refresh from DATA/features.db).
mmsp_ok "materialize all" features materialize
ok=""
for _ in $(seq 1 200); do
  req POST /get-online-features '{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}'
  [ "$(printf '%s' "$BODY" | jq -c '.results[1].values')" = "[13]" ] && { ok=1; break; }
  sleep 0.05
done
[ -n "$ok" ] && pass || fail "the server did not see the other process's materialize: $BODY"

req POST /get-online-features '{"features":["driver_stats:conv_rate","driver_stats:trips","driver_stats:name"],"entities":{"driver_id":[1001,1002,9999]}}'
expect_status 200
expect_json '.metadata.feature_names' '["driver_id","conv_rate","trips","name"]'
expect_json '.results[0].values' '[1001,1002,9999]'
expect_json '.results[0].statuses' '["PRESENT","PRESENT","PRESENT"]'
expect_json '.results[1].values' '[0.65,0.9,null]'
expect_json '.results[1].statuses' '["PRESENT","PRESENT","NOT_FOUND"]'
expect_json '.results[2].values' '[13,null,null]'
expect_json '.results[2].statuses' '["PRESENT","NULL_VALUE","NOT_FOUND"]'
expect_json '.results[3].values' '["tie","bob",null]'
expect_json '.results[1].event_timestamps' '["2024-05-01T12:00:00Z","2024-05-01T09:00:00Z","1970-01-01T00:00:00Z"]'
req POST /get-online-features '{"feature_service":"driver_activity","entities":{"driver_id":["1002"]},"full_feature_names":true}'
expect_status 200
expect_json '.metadata.feature_names' '["driver_id","driver_stats__conv_rate","driver_stats__trips"]'
expect_json '.results[1].values' '[0.9]'

# Push: online only (newer values), offline only (visible in historical, not online).
req POST /push '{"push_source_name":"driver_stats","df":{"driver_id":[1002],"event_timestamp":["2024-05-02 10:00:00+00:00"],"conv_rate":[0.25],"trips":[7],"created":["x"]},"to":"online"}'
expect_status 200
check "push body" "$BODY" "null"
req POST /get-online-features '{"features":["driver_stats:conv_rate","driver_stats:trips","driver_stats:name"],"entities":{"driver_id":[1002]}}'
expect_json '[.results[1].values[0], .results[2].values[0], .results[3].statuses[0]]' '[0.25,7,"NULL_VALUE"]'
req POST /push '{"push_source_name":"driver_stats","df":{"driver_id":[1005],"event_timestamp":["2024-05-01T11:30:00Z"],"conv_rate":[0.7],"trips":[3],"name":["eve"]},"to":"offline"}'
expect_status 200
req POST /get-online-features '{"features":["driver_stats:trips"],"entities":{"driver_id":[1005]}}'
expect_json '.results[1].statuses' '["NOT_FOUND"]'
printf 'driver_id,event_timestamp\n1005,2024-05-01T12:00:00Z\n' >"$WORK/e5.csv"
mmsp_ok "historical with pushed offline rows" features historical --view driver_stats --entities "$WORK/e5.csv" --out "$WORK/o5.csv"
check "pushed offline row" "$(tail -1 "$WORK/o5.csv")" "1005,2024-05-01T12:00:00Z,0.7,3,eve"
req POST /materialize '{"start_ts":"2024-05-01T00:00:00Z","end_ts":"2024-05-01T12:00:00Z","feature_views":["driver_stats"]}'
expect_status 200
req POST /get-online-features '{"features":["driver_stats:name"],"entities":{"driver_id":[1005]}}'
expect_json '.results[1].values' '["eve"]'
req POST /push '{"push_source_name":"driver_stats","df":{"driver_id":[1006],"event_timestamp":["2024-05-01T11:30:00Z"],"trips":[4]},"to":"online_and_offline"}'
expect_status 200
req POST /get-online-features '{"features":["driver_stats:trips"],"entities":{"driver_id":[1006]}}'
expect_json '.results[1].values' '[4]'

# Bad bodies: 400 with {"error"}; unknown view / feature: 404.
for body in 'not json' '[]' '{"entities":{"driver_id":[1]}}' \
  '{"features":["driver_stats:trips"],"entities":{"driver_id":1}}' \
  '{"features":["driver_stats:trips"],"entities":{"driver_id":[1],"x":[1,2]}}' \
  '{"features":["trips"],"entities":{"driver_id":[1]}}' \
  '{"features":["driver_stats:trips"],"entities":{"other":[1]}}' \
  '{"features":["driver_stats:trips"],"entities":{"driver_id":[[1]]}}' \
  '{"features":["driver_stats:trips"],"feature_service":"driver_activity","entities":{"driver_id":[1]}}'; do
  req POST /get-online-features "$body"
  expect_status 400
  expect_json '.error|type' '"string"'
done
req POST /get-online-features '{"features":["nope:trips"],"entities":{"driver_id":[1]}}'
expect_status 404
req POST /get-online-features '{"features":["driver_stats:nope"],"entities":{"driver_id":[1]}}'
expect_status 404
for body in '{"push_source_name":"driver_stats","df":{"driver_id":[1]},"to":"online"}' \
  '{"push_source_name":"driver_stats","df":{"driver_id":[1],"event_timestamp":["yesterday"]},"to":"online"}' \
  '{"push_source_name":"driver_stats","df":{"driver_id":[1],"event_timestamp":["2024-05-01"],"trips":["x"]},"to":"online"}' \
  '{"push_source_name":"driver_stats","df":{"driver_id":[1],"event_timestamp":["2024-05-01"]},"to":"elsewhere"}' \
  '{"df":{}}' '{"start_ts":"soon"}'; do
  path=/push
  case "$body" in *start_ts*) path=/materialize ;; esac
  req POST "$path" "$body"
  expect_status 400
done
expect_alive
stop_server

# The admin token guards the write endpoints, not the reads.
start_server --data "$DATA" --prediction-log off --admin-token s3cret
req POST /materialize '{}'
expect_status 401
req POST /push '{"push_source_name":"driver_stats","df":{"driver_id":[1],"event_timestamp":["2024-05-01"]},"to":"online"}' -H 'Authorization: Bearer wrong'
expect_status 403
req POST /materialize '{}' -H 'Authorization: Bearer s3cret'
expect_status 200
req POST /get-online-features '{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}'
expect_status 200
expect_json '.results[1].values' '[13]'
finish
