#!/bin/bash
# Registry mode over PostgreSQL (pg.sh starts a real server on loopback): `mmsp serve
# --registry postgres://... --data DIR` follows deployments that the CLI changes in another
# process through PostgreSQL (the poll path) and that its own /api/v1 changes (on_change),
# with deploy_load.py's client threads running all along (every request must succeed, each
# change must become live with the right versions and split). The artifacts stay under DIR.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg.sh"
fixtures
pg_start

DATA="$WORK/data"
good_body >"$WORK/body.json"
cat >"$WORK/train.py" <<'PY'
import sys
import numpy as np
import xgboost as xgb
out, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
X = rng.normal(size=(600, 30)).astype(np.float32)
y = ((X[:, 2] - X[:, 5] + rng.normal(scale=0.5, size=600)) > 0.2).astype(np.float32)
xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0},
          xgb.DMatrix(X, label=y), num_boost_round=5 + seed % 7).save_model(out)
PY
mkdir -p "$WORK/m2" "$WORK/m3"
$PY "$WORK/train.py" "$WORK/m2/model.json" 31 && $PY "$WORK/train.py" "$WORK/m3/model.json" 32 ||
  { echo "cannot train the fixture versions" >&2; exit 1; }
# Test manifest passing the built-in gate (fixture figures, not an evaluation).
cat >"$WORK/manifest.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.01}
EOF
STORE=(--registry "$PG_URL" --data "$DATA")
for f in "$FIXTURES/binary/1/model.json" "$WORK/m2/model.json" "$WORK/m3/model.json"; do
  out=$("$MMSP_BIN" model register fraud "$f" --manifest "$WORK/manifest.yaml" "${STORE[@]}" 2>&1)
  if [ $? = 0 ]; then pass; else fail "register $f: $out"; fi
done
out=$("$MMSP_BIN" deploy fraud --model fraud --version 1 "${STORE[@]}" 2>&1)
if [ $? = 0 ]; then pass; else fail "first deploy: $out"; fi

start_server "${STORE[@]}"
for _ in $(seq 1 400); do
  req GET /v2/health/ready
  [ "$STATUS" = 200 ] && break
  sleep 0.05
done
expect_status 200 "ready over PostgreSQL"
req POST /v2/models/fraud/infer @"$WORK/body.json" -H 'Content-Type: application/json'
expect_status 200 "infer over PostgreSQL"
expect_json '.model_version' '"1"'

cat >"$WORK/changes" <<'EOF'
cli  1,2@10      deploy fraud --model fraud --version 2 --canary 10
http 1,2@100     POST /api/v1/deployments/fraud {"canary": 100}
cli  2           promote fraud
http 2,3@50      POST /api/v1/deployments/fraud {"model": "fraud", "version": 3, "canary": 50}
cli  2           rollback fraud
http 3           POST /api/v1/deployments/fraud {"model": "fraud", "version": 3}
cli  2           rollback fraud
http 1           POST /api/v1/deployments/fraud/rollback {"to": 1}
EOF
$PY "$MMSP_SOURCE_DIR/tests/integration/deploy_load.py" drive --url "$URL" --model fraud \
  --body "$WORK/body.json" --mmsp "$MMSP_BIN" --data "$DATA" --registry "$PG_URL" \
  --changes "$WORK/changes" --workers 4 >"$WORK/drive.out" 2>"$WORK/drive.err"
if [ $? = 0 ]; then pass; else fail "deploy_load.py drive: $(head -c 3000 "$WORK/drive.err")"; fi
summary=$(cat "$WORK/drive.out")
if printf '%s' "$summary" | jqe '.changes == 8 and .failed_requests == 0 and .requests >= 100'; then
  pass
else
  fail "drive summary: $summary"
fi
echo "registry mode over PostgreSQL: $summary"
expect_alive "after the changes"
finish
