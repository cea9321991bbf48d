#!/usr/bin/env bash
# The fraud-detector example end to end: serves the model the build trained
# ($MMSP_BUILD_DIR/examples/fraud-detector, target fraud-detector-model, part of the default
# build), scores a fraud row and a normal row from the test split (the two request bodies train
# wrote) and checks they land on the right sides of 0.5 and agree with libxgboost's
# probabilities recorded in metrics.json; scores the whole test split in batches and checks the
# served accuracy equals the one train measured; checks metrics.json is sane
# (accuracy > 0.9, F1 > 0.5). Builds nothing itself.
source "$(dirname "$0")/lib.sh"

EXAMPLE="$MMSP_BUILD_DIR/examples/fraud-detector"
REPO="$EXAMPLE/repository"
METRICS="$EXAMPLE/metrics.json"
TEST_CSV="$EXAMPLE/data/test.csv"
for f in "$REPO/fraud-detector/1/model.json" "$REPO/fraud-detector/config.yaml" "$METRICS" \
  "$TEST_CSV" "$EXAMPLE/request-fraud.json" "$EXAMPLE/request-normal.json"; do
  if [ ! -f "$f" ]; then
    echo "$TEST_NAME: $f missing: build the model first (cmake --build BUILD --target fraud-detector-model)" >&2
    exit 1
  fi
done

# check DESCRIPTION JQ_EXPR_ON_BODY : passes when `jq -e EXPR` holds for $BODY.
check() {
  if printf '%s' "$BODY" | jq -e "$2" >/dev/null 2>&1; then pass; else fail "$1: ${BODY:0:300}"; fi
}

# metrics.json: what train measured on the test split.
BODY=$(cat "$METRICS")
check "metrics.json accuracy > 0.9" '.accuracy > 0.9'
check "metrics.json F1 > 0.5" '.f1 > 0.5'
check "metrics.json AUC > 0.9" '.auc > 0.9'
P_FRAUD=$(jq -r '.examples.fraud.probability' "$METRICS")
P_NORMAL=$(jq -r '.examples.normal.probability' "$METRICS")
ACCURACY=$(jq -r '.accuracy' "$METRICS")

start_server --model-repository "$REPO"
for _ in $(seq 1 100); do
  req GET /v2/models/fraud-detector/ready
  [ "$STATUS" = 200 ] && break
  sleep 0.05
done
expect_status 200 "model ready"

INFER=/v2/models/fraud-detector/infer
JSON=(-H 'Content-Type: application/json')

req POST "$INFER" "@$EXAMPLE/request-fraud.json" "${JSON[@]}"
expect_status 200 "infer fraud row"
expect_json '.model_name' '"fraud-detector"'
expect_json '.outputs[0].name' '"predict"'
expect_json '.outputs[0].datatype' '"FP32"'
expect_json '.outputs[0].shape' '[1]'
check "fraud row scored above 0.5" '.outputs[0].data[0] > 0.5'
check "fraud row probability equals libxgboost's ($P_FRAUD)" \
  "(.outputs[0].data[0] - $P_FRAUD) | fabs < 1e-5"

req POST "$INFER" "@$EXAMPLE/request-normal.json" "${JSON[@]}"
expect_status 200 "infer normal row"
check "normal row scored below 0.5" '.outputs[0].data[0] < 0.5'
check "normal row probability equals libxgboost's ($P_NORMAL)" \
  "(.outputs[0].data[0] - $P_NORMAL) | fabs < 1e-5"

# The whole test split, 200 rows per request: the served accuracy must be train's.
mkdir -p "$WORK/batches"
awk -F, -v dir="$WORK/batches" -v n=200 '
  NR == 1 { next }
  {
    b = int((NR - 2) / n)
    row = $1; for (c = 2; c < NF; c++) row = row "," $c
    data[b] = (rows[b] ? data[b] "," : "") row; rows[b]++
    labels[b] = labels[b] $NF "\n"
  }
  END {
    for (b in data) {
      f = sprintf("%s/%05d", dir, b)
      printf "{\"inputs\":[{\"name\":\"input\",\"shape\":[%d,30],\"datatype\":\"FP32\",\"data\":[%s]}]}", rows[b], data[b] > (f ".json")
      printf "%s", labels[b] > (f ".labels")
      close(f ".json"); close(f ".labels")
    }
  }' "$TEST_CSV"
: >"$WORK/scored"
batch_ok=1
for body in "$WORK"/batches/*.json; do
  req POST "$INFER" "@$body" "${JSON[@]}"
  if [ "$STATUS" != 200 ]; then
    batch_ok=0
    fail "batch $(basename "$body"): status $STATUS: ${BODY:0:300}"
    break
  fi
  paste <(printf '%s' "$BODY" | jq -r '.outputs[0].data[]') "${body%.json}.labels" >>"$WORK/scored"
done
if [ "$batch_ok" = 1 ]; then
  pass
  # Rows on the other side of 0.5 from libxgboost would change the count; allow none.
  read -r rows served_acc < <(awk -v acc="$ACCURACY" '
    { ok += (($1 > 0.5) == ($2 == 1)); n++ }
    END { printf "%d %.6f\n", n, n ? ok / n : 0 }' "$WORK/scored")
  want_rows=$(($(wc -l <"$TEST_CSV") - 1))
  if [ "$rows" = "$want_rows" ]; then pass; else fail "scored $rows rows, want $want_rows"; fi
  if [ "$served_acc" = "$(printf '%.6f' "$ACCURACY")" ]; then
    pass
  else
    fail "served accuracy $served_acc, train measured $ACCURACY"
  fi
fi

req GET /model/info
expect_status 200 "GET /model/info"

expect_alive "after the test split"
finish
