#!/bin/bash
# `mmsp drift baseline|report` end to end on the real binary: baselines from CSV and Parquet,
# reports over JSON-lines and Parquet prediction logs (healthy, drifted, --since, --json, the
# report file next to the logs), usage and input errors, the retraining command fired once per
# episode with the report path, the webhook (a real HTTP server on loopback), and
# "retrain_triggered" in the history.
source "$(dirname "$0")/lib.sh"

M="$MMSP_BIN"
D="$WORK"
# training data: x ~ triangular-ish on [0, 10), y integer 0..4, label string
awk 'BEGIN { srand(7); print "x,y,label"; for (i = 0; i < 4000; i++) printf "%.6f,%d,%s\n", (rand() + rand()) * 5, int(rand() * 5), (i % 2 ? "a" : "b") }' > "$D/train.csv"

# logs DIR SHIFT N TIME : N records with x shifted by SHIFT (label column logged as 0)
logs() {
  mkdir -p "$1"
  awk -v s="$2" -v n="$3" -v t="$4" 'BEGIN { srand(11); for (i = 0; i < n; i++) printf "{\"time\":\"%s\",\"id\":\"r%d\",\"deployment\":\"fraud\",\"inputs\":[[%.6f,%d,0]],\"prediction\":[1],\"status\":\"ok\"}\n", t, i, (rand() + rand()) * 5 + s, int(rand() * 5) }' >> "$1/predictions-20260101T000000Z-000001.jsonl"
}
NOW=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)

# --- baseline
if "$M" drift baseline --data "$D/train.csv" --out "$D/base.json" >/dev/null; then pass; else fail "baseline"; fi
if jq -e '.features | length == 3 and .[0].name == "x" and (.[0].edges | length) == 9 and (.[0].sample | length) == 4000 and .[2].type == "categorical" and .[2].frequencies.a == 0.5' "$D/base.json" >/dev/null; then pass; else fail "baseline content: $(head -c 300 "$D/base.json")"; fi
"$M" drift baseline --data "$D/train.csv" --out "$D/base2.json" --sample 100 --bins 4 >/dev/null
if jq -e '(.features[0].sample | length) == 100 and (.features[0].edges | length) == 3' "$D/base2.json" >/dev/null; then pass; else fail "--sample/--bins"; fi
# reproducible reservoir
"$M" drift baseline --data "$D/train.csv" --out "$D/base3.json" --sample 100 --bins 4 >/dev/null
if cmp -s "$D/base2.json" "$D/base3.json"; then pass; else fail "seeded sample not reproducible"; fi

# --- usage and input errors
"$M" drift baseline --out "$D/x.json" 2>"$D/err"; rc=$?
if [ $rc = 2 ] && grep -q '^mmsp: drift baseline: ' "$D/err"; then pass; else fail "missing --data: rc $rc $(cat "$D/err")"; fi
"$M" drift baseline --data "$D/nope.csv" --out "$D/x.json" 2>"$D/err"; rc=$?
if [ $rc = 1 ] && grep -q '^mmsp: drift baseline: .*nope.csv' "$D/err"; then pass; else fail "missing file: rc $rc $(cat "$D/err")"; fi
printf 'a,b\n1,2,3\n' > "$D/bad.csv"
"$M" drift baseline --data "$D/bad.csv" --out "$D/x.json" 2>"$D/err"; rc=$?
if [ $rc = 1 ] && grep -q 'line 2' "$D/err"; then pass; else fail "bad csv: rc $rc $(cat "$D/err")"; fi
"$M" drift report --baseline "$D/base.json" 2>"$D/err"; rc=$?
if [ $rc = 2 ]; then pass; else fail "report without --logs: rc $rc"; fi
echo '{"features": 3}' > "$D/badbase.json"
mkdir -p "$D/empty"
"$M" drift report --baseline "$D/badbase.json" --logs "$D/empty" 2>"$D/err"; rc=$?
if [ $rc = 1 ] && grep -q '^mmsp: drift report: baseline' "$D/err"; then pass; else fail "bad baseline: rc $rc $(cat "$D/err")"; fi
"$M" drift report --baseline "$D/base.json" --logs "$D/nodir" 2>"$D/err"; rc=$?
if [ $rc = 1 ]; then pass; else fail "missing logs dir: rc $rc"; fi
"$M" drift report --baseline "$D/base.json" --logs "$D/empty" --since 3x 2>"$D/err"; rc=$?
if [ $rc = 2 ]; then pass; else fail "--since 3x: rc $rc"; fi

# --- healthy logs: table, report file next to the logs
logs "$D/ok" 0 3000 "$NOW"
echo 'not json at all' >> "$D/ok/predictions-20260101T000000Z-000001.jsonl"
out=$("$M" drift report --baseline "$D/base.json" --logs "$D/ok")
rc=$?
if [ $rc = 0 ] && grep -q '^x .* healthy' <<<"$out" && grep -q 'status healthy' <<<"$out"; then pass; else fail "healthy table: rc $rc $out"; fi
f=$(ls "$D/ok"/drift-report-*.json 2>/dev/null | head -1)
if [ -n "$f" ] && jq -e '.rows == 3000 and .skipped_lines == 1 and .status == "healthy" and .features[0].psi < 0.1 and .features[2].status == "no_data"' "$f" >/dev/null; then pass; else fail "report file: $(cat "$f" 2>/dev/null | head -c 400)"; fi

# --- drifted logs, --json, retraining command once per episode
logs "$D/bad" 3 2000 "$NOW"
cat > "$D/retrain.sh" <<EOS
#!/bin/sh
echo "\$1" >> "$D/retrain.calls"
EOS
chmod +x "$D/retrain.sh"
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/bad" --json --retrain-command "$D/retrain.sh" --deployment fraud --data "$D/store")
rc=$?
if [ $rc = 0 ]; then pass; else fail "drifted report rc $rc"; fi
expect_json '.status' '"critical"'
expect_json '.features[0].status' '"critical"'
expect_json '.features[0].drifted' 'true'
expect_json '.features[1].status' '"healthy"'
expect_json '.drift_share' '0.5'
expect_json '.dataset_drift' 'true'
if [ "$(wc -l < "$D/retrain.calls" 2>/dev/null)" = 1 ] && [ -f "$(cat "$D/retrain.calls")" ] && jq -e '.status == "critical"' "$(cat "$D/retrain.calls")" >/dev/null; then pass; else fail "retrain command not called once with the report path: $(cat "$D/retrain.calls" 2>/dev/null)"; fi
# same episode: no second call
"$M" drift report --baseline "$D/base.json" --logs "$D/bad" --retrain-command "$D/retrain.sh" --deployment fraud --data "$D/store" >/dev/null
if [ "$(wc -l < "$D/retrain.calls")" = 1 ]; then pass; else fail "retrain fired twice in one episode"; fi
# history holds the trigger
BODY=$("$M" history fraud --data "$D/store" --json 2>"$D/err")
if printf '%s' "$BODY" | jq -e '[.. | objects | select(.action? == "retrain_triggered")] | length == 1' >/dev/null 2>&1; then pass; else fail "history: $BODY $(cat "$D/err")"; fi

# --- --since: old records are left out
mkdir -p "$D/old"
logs "$D/old" 3 500 "2020-01-01T00:00:00.000Z"
logs "$D/old" 0 800 "$NOW"
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/old" --since 24h --json --out "$D/since.json")
expect_json '.rows' '800'
expect_json '.status' '"healthy"'
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/old" --json --out "$D/all.json")
expect_json '.rows' '1300'

# --- Parquet: training data and prediction logs (written by our Parquet writer through
# tests/conformance/parquet_from_csv; the gateway's own Parquet logs are read back in
# test_predlog_parquet_crash.sh)
P2C="$MMSP_BUILD_DIR/tests/conformance_parquet_from_csv"
{ echo "x:DOUBLE,y:INT64,label:STRING"; tail -n +2 "$D/train.csv"; } > "$D/train.pq.csv"
"$P2C" "$D/train.pq.csv" "$D/train.parquet" 1000 || fail "cannot write train.parquet"
if "$M" drift baseline --data "$D/train.parquet" --out "$D/basepq.json" >/dev/null 2>"$D/err"; then pass; else fail "parquet baseline: $(cat "$D/err")"; fi
# the same numbers as from the CSV (everything but the source name)
if [ "$(jq -S 'del(.source)' "$D/basepq.json")" = "$(jq -S 'del(.source)' "$D/base.json")" ]; then pass; else
  fail "parquet baseline differs from the CSV one: $(diff <(jq -S 'del(.source)' "$D/basepq.json") <(jq -S 'del(.source)' "$D/base.json") | head -5)"; fi
printf 'not parquet' > "$D/bad.parquet"
"$M" drift baseline --data "$D/bad.parquet" --out "$D/x.json" 2>"$D/err"; rc=$?
if [ $rc = 1 ] && grep -q '^mmsp: drift baseline: .*bad.parquet' "$D/err"; then pass; else fail "bad parquet: rc $rc $(cat "$D/err")"; fi
# pqlogs DIR SHIFT N TIME_MS NAME HEADER : a Parquet log (columns by position f0..f2 or by name)
pqlogs() {
  mkdir -p "$1"
  { echo "$6"; awk -v s="$2" -v n="$3" -v t="$4" 'BEGIN { srand(11); for (i = 0; i < n; i++) printf "%s,%.6f,%d,0\n", t, (rand() + rand()) * 5 + s, int(rand() * 5) }'; } > "$D/pq.csv"
  "$P2C" "$D/pq.csv" "$1/$5" 700 || fail "cannot write $1/$5"
}
NOW_MS=$(($(date +%s) * 1000))
POS='time:TIMESTAMP_MS,f0:DOUBLE,f1:DOUBLE,f2:DOUBLE'
pqlogs "$D/pq" 0 3000 "$NOW_MS" predictions-20260101T000000Z-000001.parquet "$POS"
printf 'PAR1 truncated' > "$D/pq/predictions-20260101T000000Z-000002.parquet"
: > "$D/pq/predictions-20260101T000000Z-000003.parquet.tmp" # a file still being written
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/pq" --json --out "$D/pq.json")
expect_json '[.rows, .skipped_lines, .status, .features[0].psi < 0.1, .features[2].status]' '[3000,1,"healthy",true,"no_data"]'
pqlogs "$D/pqbad" 3 2000 "$NOW_MS" predictions-20260101T000000Z-000001.parquet 'time:TIMESTAMP_MS,x:DOUBLE,y:DOUBLE,label:DOUBLE'
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/pqbad" --json --out "$D/pqbad.json")
expect_json '[.rows, .status, .features[0].status, .features[1].status]' '[2000,"critical","critical","healthy"]'
# Parquet and JSON lines side by side, and --since over the Parquet "time" column
pqlogs "$D/old" 3 400 1577836800000 predictions-20200101T000000Z-000009.parquet "$POS"
pqlogs "$D/old" 0 200 "$NOW_MS" predictions-20260101T000000Z-000009.parquet "$POS"
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/old" --since 24h --json --out "$D/since2.json")
expect_json '[.rows, .status]' '[1000,"healthy"]'
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/old" --json --out "$D/all2.json")
expect_json '.rows' '1900'

# --- categorical features: string values in the logs (a Parquet STRING column, or a JSON-lines
# "features" object) are compared with the baseline's frequencies (PSI, JS)
# catlogs DIR N MODE : MODE same = a/b alternating as in training; drift = 80 % a, 10 % b,
# 10 % c (a value training never saw)
catlogs() {
  mkdir -p "$1"
  { echo 'time:TIMESTAMP_MS,x:DOUBLE,y:DOUBLE,label:STRING'
    awk -v n="$2" -v m="$3" -v t="$NOW_MS" 'BEGIN { srand(5); for (i = 0; i < n; i++) {
      l = (i % 2 ? "a" : "b"); if (m == "drift") l = (i % 10 == 0 ? "c" : (i % 10 == 1 ? "b" : "a"));
      printf "%s,%.6f,%d,%s\n", t, (rand() + rand()) * 5, int(rand() * 5), (i % 100 == 99 ? "" : l) } }'
  } > "$D/cat.csv"
  "$P2C" "$D/cat.csv" "$1/predictions-20260101T000000Z-000001.parquet" 1000 || fail "cannot write $1"
}
catlogs "$D/catok" 2000 same
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/catok" --json --out "$D/catok.json")
expect_json '[.rows, .features[2].name, .features[2].type, .features[2].count, .features[2].nulls, .features[2].status, .features[2].psi < 0.01, .status]' \
  '[2000,"label","categorical",1980,20,"healthy",true,"healthy"]'
catlogs "$D/catbad" 2000 drift
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/catbad" --json --out "$D/catbad.json")
expect_json '[.features[2].status, .features[2].drifted, .features[2].js_distance > 0.2, .features[0].status, .status, .drift_share]' \
  '["critical",true,true,"healthy","critical",0.3333333333333333]'
# the PSI by hand: reference a .5, b .5, other 0; current a .8, b .1, c .1 (the empty reference
# bin gets 1e-4, Evidently's rule)
want=$(awk 'BEGIN { r[1]=.5; r[2]=.5; r[3]=1e-4; c[1]=.8; c[2]=.1; c[3]=.1; for (i = 1; i <= 3; i++) s += (r[i] - c[i]) * log(r[i] / c[i]); printf "%.6f", s }')
got=$(jq '.features[2].psi * 1e6 | round / 1e6' "$D/catbad.json")
if awk -v a="$got" -v b="$want" 'BEGIN { exit !((a - b) < 2e-3 && (b - a) < 2e-3) }'; then pass; else fail "categorical PSI $got, want about $want"; fi
# JSON lines with a "features" object
mkdir -p "$D/catjl"
awk -v t="$NOW" 'BEGIN { for (i = 0; i < 1000; i++) printf "{\"time\":\"%s\",\"features\":{\"x\":%d,\"y\":%d,\"label\":\"%s\"}}\n", t, i % 10, i % 5, (i % 10 < 8 ? "a" : "b") }' > "$D/catjl/predictions-20260101T000000Z-000001.jsonl"
BODY=$("$M" drift report --baseline "$D/base.json" --logs "$D/catjl" --json --out "$D/catjl.json")
expect_json '[.rows, .skipped_lines, .features[2].count, .features[2].status, .features[0].count]' '[1000,0,1000,"critical",1000]'

# --- webhook on loopback, once per episode, again after the episode ended
cat > "$D/hook.py" <<'EOS'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        with open(sys.argv[2], "ab") as f:
            f.write(self.rfile.read(n) + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
EOS
/usr/bin/python3 "$D/hook.py" "$D/hook.port" "$D/hook.calls" &
HOOK_PID=$!
track_pid $HOOK_PID
for _ in $(seq 100); do [ -s "$D/hook.port" ] && break; sleep 0.1; done
HURL="http://127.0.0.1:$(cat "$D/hook.port")/retrain"
mkdir -p "$D/w"
logs "$D/w" 3 500 "$NOW"
"$M" drift report --baseline "$D/base.json" --logs "$D/w" --retrain-webhook "$HURL" --deployment w >/dev/null
"$M" drift report --baseline "$D/base.json" --logs "$D/w" --retrain-webhook "$HURL" --deployment w >/dev/null
if [ "$(wc -l < "$D/hook.calls" 2>/dev/null)" = 1 ] && head -1 "$D/hook.calls" | jq -e '.status == "critical" and .deployment == "w" and (.report | test("drift-report-"))' >/dev/null; then pass; else fail "webhook calls: $(cat "$D/hook.calls" 2>/dev/null)"; fi
rm -f "$D/w"/predictions-*.jsonl
logs "$D/w" 0 500 "$NOW"
"$M" drift report --baseline "$D/base.json" --logs "$D/w" --retrain-webhook "$HURL" --deployment w >/dev/null
rm -f "$D/w"/predictions-*.jsonl
logs "$D/w" 3 500 "$NOW"
"$M" drift report --baseline "$D/base.json" --logs "$D/w" --retrain-webhook "$HURL" --deployment w >/dev/null
if [ "$(wc -l < "$D/hook.calls")" = 2 ]; then pass; else fail "webhook not called again for a new episode: $(cat "$D/hook.calls")"; fi
# a failing webhook is an error (exit 1) with a message
kill $HOOK_PID; wait $HOOK_PID 2>/dev/null
rm -f "$D/w/.drift-episode-w"
"$M" drift report --baseline "$D/base.json" --logs "$D/w" --retrain-webhook "$HURL" --deployment w >/dev/null 2>"$D/err"; rc=$?
if [ $rc = 1 ] && grep -q '^mmsp: drift report: retraining trigger' "$D/err"; then pass; else fail "dead webhook: rc $rc $(cat "$D/err")"; fi

finish
