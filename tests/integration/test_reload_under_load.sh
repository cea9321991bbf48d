#!/bin/bash
# Hot reload through the repository extension while 4 client loops send infer requests to
# "regress": 24 loads (version 3 appears half way, so the default moves from 2 to 3) and not one
# request fails. Then unload/load (unavailable in between, with JSON errors) and a load that fails
# (corrupt new version: 4xx JSON error, the previous version keeps serving).
source "$(dirname "$0")/lib.sh"
fixtures
start_server --model-repository "$FIXTURES"
trap 'kill_tracked; stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT

ROW10=$(cut -d, -f1-10 <<<"$GOOD_ROW")
REGRESS='{"inputs":[{"name":"input","shape":[1,10],"datatype":"FP32","data":['"$ROW10"']}]}'
printf '%s' "$REGRESS" >"$WORK/regress.json"
echo "[[$ROW10]]" >"$WORK/row10.json"
# Expected answers of versions 1 and 2 for the row (xgboost).
V1=$($PY "$V2TOOL" xgb-predict "$FIXTURES/regress/1/model.json" "$WORK/row10.json" | jq '.[0]')
V2=$($PY "$V2TOOL" xgb-predict "$FIXTURES/regress/2/model.json" "$WORK/row10.json" | jq '.[0]')
close_to() { # close_to WHAT WANT : BODY's first output value is within 1e-5 of WANT
  if printf '%s' "$BODY" | jqe --argjson w "$2" '(.outputs[0].data[0] - $w | fabs) < 1e-5' >/dev/null 2>&1; then
    pass
  else
    fail "$1: got $(printf '%s' "$BODY" | jq -c '.outputs[0].data' 2>/dev/null) want $2; body ${BODY:0:200}"
  fi
}
index_state() { # index_state MODEL : prints the state (and reason) of MODEL in the repository index
  curl -s --max-time 10 -X POST -H 'Content-Type: application/json' -d '{}' "$URL/v2/repository/index" |
    jq -c --arg m "$1" '[.[] | select(.name == $m)] | if length == 0 then "absent" else (map(.state) | unique | join(",")) end' 2>/dev/null
}

req POST /v2/models/regress/infer "$REGRESS"
expect_status 200 "regress before reload"
expect_json '.model_version' '"2"'
close_to "regress version 2 answer" "$V2"

# --- 4 client loops (at most 400 requests each, until the reloads are done) ---
for l in 1 2 3 4; do
  (
    for i in $(seq 1 400); do
      [ -f "$WORK/stop" ] && break
      s=$(curl -s -o "$WORK/lbody$l" -w '%{http_code}' --max-time 10 -X POST -H 'Content-Type: application/json' \
        --data-binary @"$WORK/regress.json" "$URL/v2/models/regress/infer")
      v=$(grep -o '"model_version" *: *"[0-9]*"' "$WORK/lbody$l" | grep -o '[0-9]*"$' | tr -d '"')
      echo "$s ${v:-none}"
    done >"$WORK/loop$l"
  ) &
  track_pid $!
done

# --- the reloader: 24 loads; version 3 (a copy of 1) appears after the 12th ---
sleep 0.3
load_ok=0 load_codes=""
for i in $(seq 1 24); do
  if [ "$i" = 13 ]; then
    cp -r "$FIXTURES/regress/1" "$FIXTURES/regress/3.tmp" && mv "$FIXTURES/regress/3.tmp" "$FIXTURES/regress/3"
  fi
  s=$(curl -s -o "$WORK/loadbody" -w '%{http_code}' --max-time 20 -X POST "$URL/v2/repository/models/regress/load")
  if [ "$s" = 200 ]; then load_ok=$((load_ok + 1)); else load_codes="$load_codes $s:$(head -c 200 "$WORK/loadbody")"; fi
  sleep 0.1
done
touch "$WORK/stop"
wait "${TRACKED_PIDS[@]}" 2>/dev/null
TRACKED_PIDS=()

if [ "$load_ok" = 24 ]; then pass; else fail "24 loads under traffic: only $load_ok returned 200:$load_codes"; fi
total=$(cat "$WORK"/loop* | wc -l)
non200=$(cat "$WORK"/loop* | awk '$1 != 200' | wc -l)
if [ "$total" -ge 100 ]; then pass; else fail "only $total requests were sent during the reloads"; fi
if [ "$non200" = 0 ]; then pass; else fail "$non200 of $total infer requests failed during reloads: $(cat "$WORK"/loop* | awk '$1 != 200' | sort | uniq -c | head -5 | tr '\n' ';')"; fi
bad_versions=$(cat "$WORK"/loop* | awk '$1 == 200 && $2 != 2 && $2 != 3' | wc -l)
if [ "$bad_versions" = 0 ]; then pass; else fail "$bad_versions responses named a version other than 2 or 3"; fi
# Once a loop has seen version 3 it never goes back to 2 (the swap is atomic per model).
back=0
for f in "$WORK"/loop*; do
  awk '$2 == 3 { seen = 1 } seen && $2 == 2 { bad = 1 } END { exit bad ? 0 : 1 }' "$f" && back=$((back + 1))
done
if [ "$back" = 0 ]; then pass; else fail "$back client loops saw version 2 again after version 3"; fi
echo "reload: $total requests, $(cat "$WORK"/loop* | awk '$2 == 3' | wc -l) answered by version 3"

req GET /v2/models/regress
expect_status 200 "regress metadata after reload"
if printf '%s' "$BODY" | jqe '.versions | index("3") != null' >/dev/null 2>&1; then pass; else fail "metadata does not list version 3: ${BODY:0:300}"; fi
req POST /v2/models/regress/infer "$REGRESS"
expect_status 200 "regress after version 3 appeared"
expect_json '.model_version' '"3"'
close_to "version 3 (a copy of version 1) answer" "$V1"
req POST /v2/models/regress/versions/3/infer "$REGRESS"
expect_status 200 "regress /versions/3"

# --- unload, then load ---
req POST /v2/repository/models/regress/unload
expect_status 200 "unload regress"
req POST /v2/models/regress/infer "$REGRESS"
if [[ "$STATUS" =~ ^(503|404)$ ]]; then pass; else fail "infer after unload: status $STATUS, want 503 or 404"; fi
if printf '%s' "$BODY" | jqe '.error | type == "string" and length > 0' >/dev/null 2>&1; then pass; else fail "infer after unload: not an {\"error\"} body: ${BODY:0:200}"; fi
req GET /v2/models/regress/ready
if [[ "$STATUS" =~ ^[45][0-9][0-9]$ ]]; then pass; else fail "model ready after unload: status $STATUS, want non-2xx"; fi
st=$(index_state regress)
if [ "$st" = '"UNAVAILABLE"' ]; then pass; else fail "index after unload: regress state $st, want UNAVAILABLE"; fi
expect_good_after "unload of regress (other models keep serving)"
req GET /v2/health/live
expect_status 200 "live after unload"

req POST /v2/repository/models/regress/load
expect_status 200 "load regress again"
req POST /v2/models/regress/infer "$REGRESS"
expect_status 200 "infer after load"
expect_json '.model_version' '"3"'
req GET /v2/models/regress/ready
expect_status 200 "model ready after load"
st=$(index_state regress)
if [ "$st" = '"READY"' ]; then pass; else fail "index after load: regress state $st, want READY"; fi

# --- a load that fails: version 4 with a corrupt model.json ---
mkdir -p "$FIXTURES/regress/4"
head -c 3000 "$FIXTURES/regress/1/model.json" >"$FIXTURES/regress/4/model.json"
echo '}}}garbage' >>"$FIXTURES/regress/4/model.json"
req POST /v2/repository/models/regress/load
expect_status_4xx() {
  if [[ "$STATUS" =~ ^4[0-9][0-9]$ ]]; then pass; else fail "$1: status $STATUS, want 4xx; body ${BODY:0:200}"; fi
  if printf '%s' "$BODY" | jqe '.error | type == "string" and length > 0' >/dev/null 2>&1; then pass; else fail "$1: not an {\"error\"} body: ${BODY:0:200}"; fi
}
expect_status_4xx "load with a corrupt version 4"
req POST /v2/models/regress/infer "$REGRESS"
expect_status 200 "infer after the failed load (previous version keeps serving)"
expect_json '.model_version' '"3"'
close_to "answer after the failed load" "$V1"
req GET /v2/models/regress/ready
expect_status 200 "ready after the failed load"
# Version 4 garbage: a model.json that is not JSON at all.
printf '\x00\x01garbage' >"$FIXTURES/regress/4/model.json"
req POST /v2/repository/models/regress/load
expect_status_4xx "load with a binary-garbage version 4"
req POST /v2/models/regress/infer "$REGRESS"
expect_status 200 "infer after the second failed load"
expect_json '.model_version' '"3"'
# Fixing version 4 (a copy of 2) and loading again serves it.
cp "$FIXTURES/regress/2/model.json" "$FIXTURES/regress/4/model.json"
req POST /v2/repository/models/regress/load
expect_status 200 "load after fixing version 4"
req POST /v2/models/regress/infer "$REGRESS"
expect_status 200 "infer from fixed version 4"
expect_json '.model_version' '"4"'
close_to "version 4 (a copy of version 2) answer" "$V2"

# Load/unload of a model that is not in the repository.
req POST /v2/repository/models/nosuch/load
expect_status_4xx "load of a model not in the repository"
expect_good_after "load of a model not in the repository"
req POST /v2/repository/models/nosuch/unload
expect_status_4xx "unload of a model not in the repository"
expect_good_after "unload of a model not in the repository"
bad_request_oneof "400|404" "load with a traversal name" POST "/v2/repository/models/..%2F..%2Fetc/load" "" --path-as-is

finish
