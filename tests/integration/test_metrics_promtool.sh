#!/bin/bash
# /metrics under load: a scrape taken while 4 concurrent client loops send good and bad requests
# to several models passes `promtool check metrics` with nothing to report; the seed series and
# the mmsp_* histogram (model, version labels) exist, and the counters moved by what was sent.
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || { echo "promtool missing (Debian package prometheus)" >&2; exit 1; }
fixtures
start_server --model-repository "$FIXTURES"
trap 'kill_tracked; stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT

scrape() { # scrape FILE
  curl -s --max-time 10 -o "$1" -D "$1.headers" -w '%{http_code}' "$URL/metrics"
}
promcheck() { # promcheck FILE WHAT : promtool reports nothing
  local out rc
  out=$(promtool check metrics <"$1" 2>&1)
  rc=$?
  if [ "$rc" = 0 ] && [ -z "$out" ]; then pass; else fail "$2: promtool check metrics (exit $rc): $out"; fi
}
psum() { $PY "$V2TOOL" promsum "$@"; }
# delta FILE0 FILE1 METRIC [label=value...] : integer difference of the sums
delta() {
  local f0=$1 f1=$2
  shift 2
  $PY -c "import sys; print(int(round(float(sys.argv[2]) - float(sys.argv[1]))))" "$(psum "$f0" "$@")" "$(psum "$f1" "$@")"
}
# between LO X HI WHAT
between() {
  if [ "$1" -le "$2" ] && [ "$2" -le "$3" ]; then pass; else fail "$4: moved by $2, want $1..$3"; fi
}

# Warm up: one good request per model so every series exists before the baseline.
ROW10=$(cut -d, -f1-10 <<<"$GOOD_ROW")
MULTI='{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[0.5,-1,0.25,2]}]}'
REGRESS='{"inputs":[{"name":"input","shape":[1,10],"datatype":"FP32","data":['"$ROW10"']}]}'
req POST /v2/models/binary/infer "$(good_body)"
expect_status 200 "warm-up binary"
req POST /v2/models/multi/infer "$MULTI"
expect_status 200 "warm-up multi"
req POST /v2/models/regress/infer "$REGRESS"
expect_status 200 "warm-up regress"

st=$(scrape "$WORK/base.txt")
[ "$st" = 200 ] && pass || fail "GET /metrics: status $st"
if grep -qi '^content-type: text/plain; version=0.0.4' <(tr -d '\r' <"$WORK/base.txt.headers"); then pass; else fail "/metrics Content-Type: $(grep -i content-type "$WORK/base.txt.headers")"; fi
promcheck "$WORK/base.txt" "baseline scrape"

# Load: 4 loops x 120 requests; request i of a loop is kind i % 6.
printf '%s' "$(good_body)" >"$WORK/k0"
printf '%s' "$MULTI" >"$WORK/k1"
printf '%s' "$REGRESS" >"$WORK/k2"
printf '%s' '{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}' >"$WORK/k3"
printf '%s' '{"inputs":[{"name":"input","shape":[1,4],' >"$WORK/k4"
printf '%s' "$MULTI" >"$WORK/k5"
PATHS=(/v2/models/binary/infer /v2/models/multi/infer /v2/models/regress/infer
  /v2/models/binary/infer /v2/models/multi/infer /v2/models/nosuch/infer)
LOOPS=4 PER=120
for l in $(seq 1 $LOOPS); do
  (
    for i in $(seq 0 $((PER - 1))); do
      k=$((i % 6))
      s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -H 'Content-Type: application/json' \
        --data-binary @"$WORK/k$k" "$URL${PATHS[$k]}")
      echo "$k $s"
    done >"$WORK/loop$l"
  ) &
  track_pid $!
done

# Scrape while the loops run (every 0.2 s until they finish; at least one must be mid-load).
during=0
for n in $(seq 1 100); do
  sleep 0.2
  alive=0
  for p in "${TRACKED_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ "$alive" = 1 ] || break
  scrape "$WORK/mid$n.txt" >/dev/null
  still=0
  for p in "${TRACKED_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && still=1; done
  if [ "$still" = 1 ]; then during=$n; fi
done
wait "${TRACKED_PIDS[@]}" 2>/dev/null
TRACKED_PIDS=()
if [ "$during" -gt 0 ]; then
  pass
  promcheck "$WORK/mid$during.txt" "scrape taken during the load"
  [ "$during" -gt 2 ] && promcheck "$WORK/mid$((during / 2)).txt" "an earlier scrape during the load"
else
  fail "no scrape could be taken while the load was running"
fi

# What was sent, by kind.
for k in 0 1 2 3 4 5; do
  eval "N$k=$(cat "$WORK"/loop* | awk -v k=$k '$1 == k' | wc -l)"
done
want_codes=(200 200 200 400 400 404)
for k in 0 1 2 3 4 5; do
  bad=$(cat "$WORK"/loop* | awk -v k=$k -v w=${want_codes[$k]} '$1 == k && $2 != w' | wc -l)
  if [ "$bad" = 0 ]; then pass; else fail "load kind $k (${PATHS[$k]}): $bad requests did not get ${want_codes[$k]}: $(cat "$WORK"/loop* | awk -v k=$k -v w=${want_codes[$k]} '$1 == k && $2 != w' | sort | uniq -c | head -3)"; fi
done
GOOD=$((N0 + N1 + N2)) BADKNOWN=$((N3 + N4)) UNKNOWN=$N5
[ $((GOOD + BADKNOWN + UNKNOWN)) = $((LOOPS * PER)) ] && pass || fail "sent $((GOOD + BADKNOWN + UNKNOWN)) of $((LOOPS * PER))"

st=$(scrape "$WORK/end.txt")
[ "$st" = 200 ] && pass || fail "GET /metrics after the load: status $st"
promcheck "$WORK/end.txt" "scrape after the load"

# The series exist.
for m in inference_requests_total inference_predictions_total inference_errors_total; do
  if grep -q "^# TYPE $m counter" "$WORK/end.txt"; then pass; else fail "no counter family $m"; fi
done
if grep -Eq '^inference_latency_seconds(_bucket|_sum|_count)?(\{| )' "$WORK/end.txt"; then pass; else fail "no inference_latency_seconds samples"; fi
if grep -q '^# TYPE mmsp_inference_request_duration_seconds histogram' "$WORK/end.txt"; then pass; else fail "no histogram family mmsp_inference_request_duration_seconds"; fi
for mv in binary:1 multi:1 regress:2; do
  m=${mv%:*} v=${mv#*:}
  c=$($PY "$V2TOOL" promcount "$WORK/end.txt" mmsp_inference_request_duration_seconds_bucket model=$m version=$v)
  if [ "$c" -ge 2 ]; then pass; else fail "no mmsp_inference_request_duration_seconds_bucket{model=\"$m\",version=\"$v\"} series"; fi
  inf=$(psum "$WORK/end.txt" mmsp_inference_request_duration_seconds_bucket model=$m version=$v le=+Inf)
  cnt=$(psum "$WORK/end.txt" mmsp_inference_request_duration_seconds_count model=$m version=$v)
  if [ "$inf" = "$cnt" ] && [ "$cnt" != 0.0 ]; then pass; else fail "$m v$v: le=\"+Inf\" bucket $inf != _count $cnt (or zero)"; fi
done

# The counters moved by what was sent.
between $((GOOD + BADKNOWN)) "$(delta "$WORK/base.txt" "$WORK/end.txt" inference_requests_total)" \
  $((GOOD + BADKNOWN + UNKNOWN)) "inference_requests_total ($GOOD good, $BADKNOWN bad, $UNKNOWN to an unknown model)"
between $GOOD "$(delta "$WORK/base.txt" "$WORK/end.txt" inference_predictions_total)" $GOOD \
  "inference_predictions_total ($GOOD good one-row requests)"
between $BADKNOWN "$(delta "$WORK/base.txt" "$WORK/end.txt" inference_errors_total)" $((BADKNOWN + UNKNOWN)) \
  "inference_errors_total ($BADKNOWN bad requests to known models, $UNKNOWN to an unknown one)"
between "$N0" "$(delta "$WORK/base.txt" "$WORK/end.txt" mmsp_inference_request_duration_seconds_count model=binary version=1)" \
  $((N0 + N3)) "mmsp_inference_request_duration_seconds_count{model=binary,version=1}"
between "$N1" "$(delta "$WORK/base.txt" "$WORK/end.txt" mmsp_inference_request_duration_seconds_count model=multi version=1)" \
  $((N1 + N4)) "mmsp_inference_request_duration_seconds_count{model=multi,version=1}"
between "$N2" "$(delta "$WORK/base.txt" "$WORK/end.txt" mmsp_inference_request_duration_seconds_count model=regress version=2)" \
  "$N2" "mmsp_inference_request_duration_seconds_count{model=regress,version=2}"
# Counters never go down between scrapes.
if [ "$during" -gt 0 ]; then
  for m in inference_requests_total inference_predictions_total inference_errors_total; do
    a=$(psum "$WORK/base.txt" $m) b=$(psum "$WORK/mid$during.txt" $m) c=$(psum "$WORK/end.txt" $m)
    if $PY -c "import sys; a,b,c=map(float,sys.argv[1:]); sys.exit(0 if a<=b<=c else 1)" "$a" "$b" "$c"; then pass; else fail "$m not monotonic: $a, $b, $c"; fi
  done
fi

# Model names from requests do not become label values (unbounded cardinality).
for i in $(seq 1 30); do
  curl -s -o /dev/null --max-time 5 -X POST -H 'Content-Type: application/json' \
    --data-binary @"$WORK/k0" "$URL/v2/models/zz-unknown-$i/infer"
done
scrape "$WORK/after-unknown.txt" >/dev/null
if grep -q 'zz-unknown-' "$WORK/after-unknown.txt"; then fail "unknown model names appear as label values: $(grep -c zz-unknown- "$WORK/after-unknown.txt") lines"; else pass; fi
promcheck "$WORK/after-unknown.txt" "scrape after requests to unknown models"

finish
