#!/bin/bash
# The native registry API (/api/v1, docs/api.md) end to end against the real binary and its
# SQLite store: register by base64 upload (the gate passing, refusing with 422 and its report,
# force), a bad artifact refused with the runtime's message, list/show/paging, stages,
# aliases, deployments (deploy, canary, weight, promote, rollback, alias, environments,
# history), the gate check, hostile bodies (the server stays alive) and durability across a
# restart.
source "$(dirname "$0")/lib.sh"
fixtures

DATA="$WORK/data"
MODEL="$FIXTURES/binary/1/model.json"
MODEL2="$FIXTURES/regress/1/model.json"

cat >"$WORK/pass.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
metadata: {name: fraud}
spec:
  model: {name: fraud, version: "1.0.0", framework: xgboost}
  metrics: {accuracy: 0.94, f1_score: 0.90}
  fairness: {demographic_parity: 0.02}
  drift: {score: 0.05}
  dependencies: [{name: xgboost, version: "1.7.4"}, "numpy==1.26.4"]
EOF
sed 's/accuracy: 0.94/accuracy: 0.80/' "$WORK/pass.yaml" >"$WORK/fail.yaml"

# register_body FILE MANIFEST [JQ_OBJECT] : writes the register body to $WORK/reg.json (the
# optional jq object expression adds fields)
register_body() {
  local file=$1 manifest=$2 extra=${3:-'{}'}
  jq -n --arg a "$(base64 -w0 "$file")" --rawfile m "$manifest" \
    "{artifact: \$a, artifact_name: \"model.json\", manifest: \$m} + ($extra)" >"$WORK/reg.json" ||
    { echo "register_body: jq failed" >&2; exit 1; }
}

expect_contains() { # WHAT NEEDLE : BODY contains NEEDLE
  if [[ "$BODY" == *"$2"* ]]; then pass; else fail "$1: body does not contain '$2': ${BODY:0:300}"; fi
}

start_server --model-repository "$FIXTURES" --data "$DATA"

# --- register --------------------------------------------------------------------------------
register_body "$MODEL" "$WORK/pass.yaml" \
  '{tags: {team: "risk"}, git_sha: "4f2a9c1", dataset_version: "2025-11-01", approver: "ana", run_id: "r-1", description: "first", who: "ana"}'
req POST /api/v1/models/fraud/versions "@$WORK/reg.json"
expect_status 201 "register v1"
expect_json '[.name, .version, .format, .status, .stage, .gate_status]' '["fraud",1,"xgboost","READY","None","passed"]'
expect_json '.digest' "\"$(sha256sum "$MODEL" | cut -d' ' -f1)\""
expect_json '.size' "$(stat -c %s "$MODEL")"
expect_json '[.tags.team, .lineage.git_sha, .lineage.dataset_version, .lineage.approver, .run_id]' '["risk","4f2a9c1","2025-11-01","ana","r-1"]'
expect_json '.metrics.accuracy' '0.94'
expect_json '.gate_report.passed' 'true'
# the artifact is stored content-addressed, byte for byte
DIGEST=$(sha256sum "$MODEL" | cut -d' ' -f1)
if cmp -s "$MODEL" "$DATA/artifacts/sha256/${DIGEST:0:2}/$DIGEST"; then pass; else fail "artifact not stored under $DATA/artifacts/sha256/${DIGEST:0:2}/$DIGEST"; fi

# the gate refuses (422) with its report, nothing is stored
register_body "$MODEL" "$WORK/fail.yaml"
req POST /api/v1/models/fraud/versions "@$WORK/reg.json"
expect_error 422 "gate refusal"
expect_contains "gate refusal" "accuracy"
expect_json '.gate.passed' 'false'
expect_json '[.gate.rules[] | select(.passed == false) | .name]' '["min-accuracy"]'
expect_json '[.gate.rules[] | select(.name == "min-accuracy") | .seen]' '["0.80"]'
# metrics given beside the manifest override it (0.5 < 0.85)
register_body "$MODEL" "$WORK/pass.yaml" '{metrics: {accuracy: 0.5}}'
req POST /api/v1/models/fraud/versions "@$WORK/reg.json"
expect_error 422 "metric override refused"
req GET /api/v1/models/fraud
expect_json '.latest_version' '1'

# force registers it, marked forced
register_body "$MODEL2" "$WORK/fail.yaml" '{force: true}'
req POST /api/v1/models/fraud/versions "@$WORK/reg.json"
expect_status 201 "forced register"
expect_json '[.version, .gate_status]' '[2,"forced"]'
register_body "$MODEL2" "$WORK/pass.yaml" '{description: "third"}'
req POST /api/v1/models/fraud/versions "@$WORK/reg.json"
expect_status 201 "register v3"
expect_json '.version' '3'

# a file the runtime cannot load: 400 with the runtime's own message (the same one the
# inference side gives when it loads that file from a repository)
printf '{"learner": garbage' >"$WORK/garbage.json"
register_body "$WORK/garbage.json" "$WORK/pass.yaml"
req POST /api/v1/models/fraud/versions "@$WORK/reg.json"
expect_error 400 "unloadable artifact"
REG_MSG=$(printf '%s' "$BODY" | jq -r .error)
mkdir -p "$WORK/badrepo/bad/1" && cp "$WORK/garbage.json" "$WORK/badrepo/bad/1/model.json"
# the inference side's log when it loads the same file from a repository
"$MMSP_BIN" serve --host 127.0.0.1 --port 0 --model-repository "$WORK/badrepo" >/dev/null 2>"$WORK/bad.log" &
pid=$!
for _ in $(seq 1 200); do
  grep -q '"msg":"listening on' "$WORK/bad.log" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
kill -TERM $pid 2>/dev/null
wait $pid 2>/dev/null
runtime_msg=$(cat "$WORK/bad.log")
core=${REG_MSG#*: } # drop the file name prefix
if [ -n "$core" ] && [[ "$runtime_msg" == *"${core:0:40}"* ]]; then pass; else fail "register message '$REG_MSG' is not the runtime's ('${runtime_msg:0:400}')"; fi
# an ONNX name on XGBoost bytes: the runtime says so
jq -n --arg a "$(base64 -w0 "$MODEL")" '{artifact: $a, artifact_name: "model.onnx"}' >"$WORK/reg.json"
req POST /api/v1/models/fraud/versions "@$WORK/reg.json"
expect_error 400 "XGBoost bytes named model.onnx"
req POST /api/v1/models/fraud/versions '{"artifact": "not base64!!", "artifact_name": "model.json"}'
expect_error 400 "bad base64"
expect_contains "bad base64" "base64"
req POST /api/v1/models/fraud/versions '{"artifact_name": "model.json"}'
expect_error 400 "no artifact"
req POST /api/v1/models/fraud/versions '{"artifact": "eyJ9", "artifact_name": "../x.json"}'
expect_error 400 "artifact_name with a path"
req POST /api/v1/models/fraud/versions '{"artifact": "eyJ9", "metrics": {"accuracy": "high"}}'
expect_error 400 "non-numeric metric"
jq -n --arg a "$(base64 -w0 "$MODEL")" '{artifact: $a, manifest: "apiVersion: [unclosed"}' >"$WORK/reg.json"
req POST /api/v1/models/fraud/versions "@$WORK/reg.json"
expect_error 400 "broken manifest"
req GET /api/v1/models/fraud
expect_json '.latest_version' '3'

# --- list / show / paging ----------------------------------------------------------------------
register_body "$MODEL" "$WORK/pass.yaml"
req POST /api/v1/models/spam/versions "@$WORK/reg.json"
expect_status 201 "register another model"
req GET /api/v1/models
expect_status 200 "list models"
expect_json '[.models[].name]' '["fraud","spam"]'
expect_json '.next_page_token' 'null'
req GET '/api/v1/models?max_results=1'
expect_json '[.models[].name]' '["fraud"]'
TOKEN=$(printf '%s' "$BODY" | jq -r .next_page_token)
req GET "/api/v1/models?max_results=1&page_token=$TOKEN"
expect_json '[.models[].name]' '["spam"]'
req GET "/api/v1/models?filter=name%20LIKE%20%27sp%25%27"
expect_json '[.models[].name]' '["spam"]'
req GET "/api/v1/models?filter=bogus"
expect_error 400 "bad filter"
req GET /api/v1/models/fraud
expect_json '[.name, .latest_version]' '["fraud",3]'
req GET /api/v1/models/fraud/versions
expect_json '[.versions[].version]' '[1,2,3]'
req GET '/api/v1/models/fraud/versions?max_results=2'
expect_json '[.versions[].version]' '[1,2]'
TOKEN=$(printf '%s' "$BODY" | jq -r .next_page_token)
req GET "/api/v1/models/fraud/versions?max_results=2&page_token=$TOKEN"
expect_json '[[.versions[].version], .next_page_token]' '[[3],null]'
req GET '/api/v1/models/fraud/versions?max_results=0'
expect_error 400 "max_results 0"
req GET '/api/v1/models/fraud/versions?page_token=garbage'
expect_error 400 "bad page token"
req GET /api/v1/models/fraud/versions/2
expect_json '[.version, .gate_status]' '[2,"forced"]'
req GET /api/v1/models/nope
expect_error 404 "unknown model"
req GET /api/v1/models/nope/versions
expect_error 404 "versions of an unknown model"
req GET /api/v1/models/fraud/versions/99
expect_error 404 "unknown version"
req GET /api/v1/models/fraud/versions/abc
expect_error 400 "version abc"
req GET /api/v1/models/fraud/versions/-1
expect_error 400 "version -1"

# --- stages ------------------------------------------------------------------------------------
req POST /api/v1/models/fraud/versions/1/stage '{"stage": "Production"}'
expect_status 200 "stage v1"
expect_json '.stage' '"Production"'
req POST /api/v1/models/fraud/versions/3/stage '{"stage": "production", "archive_existing": true}'
expect_json '.stage' '"Production"'
req GET /api/v1/models/fraud/versions/1
expect_json '.stage' '"Archived"'
req POST /api/v1/models/fraud/versions/3/stage '{"stage": "Live"}'
expect_error 400 "unknown stage"
req POST /api/v1/models/fraud/versions/3/stage '{}'
expect_error 400 "no stage"
req POST /api/v1/models/fraud/versions/99/stage '{"stage": "Staging"}'
expect_error 404 "stage of an unknown version"
# an Archived version is not deployed: bring v1 back
req POST /api/v1/models/fraud/versions/1/stage '{"stage": "Staging"}'
expect_json '.stage' '"Staging"'

# --- aliases -----------------------------------------------------------------------------------
req PUT /api/v1/models/fraud/aliases/champion '{"version": 3}'
expect_status 200 "set alias"
expect_json '[.version, .aliases]' '[3,["champion"]]'
req GET /api/v1/models/fraud/aliases/champion
expect_json '.version' '3'
req PUT /api/v1/models/fraud/aliases/champion '{"version": "1"}'
expect_json '.version' '1'
req GET /api/v1/models/fraud
expect_json '.aliases.champion' '1'
req PUT /api/v1/models/fraud/aliases/champion '{"version": 99}'
expect_error 404 "alias to an unknown version"
req PUT /api/v1/models/fraud/aliases/champion '{}'
expect_error 400 "alias without version"
req DELETE /api/v1/models/fraud/aliases/champion
expect_status 200 "delete alias"
req GET /api/v1/models/fraud/aliases/champion
expect_error 404 "deleted alias"

# --- deployments -------------------------------------------------------------------------------
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 1, "reason": "first", "who": "ana"}'
expect_status 200 "deploy v1"
expect_json '[.name, .environment, .model, .stable_version, .canary_version, .canary_weight]' '["fraud","production","fraud",1,null,0]'
req POST /api/v1/deployments/other '{"model": "fraud", "version": 1, "canary": 10}'
expect_error 409 "first deploy as a canary"
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 3, "canary": 10}'
expect_status 200 "canary v3"
expect_json '[.stable_version, .canary_version, .canary_weight, .state]' '[1,3,10,"canary"]'
req POST /api/v1/deployments/fraud '{"canary": 50}'
expect_status 200 "canary weight"
expect_json '[.stable_version, .canary_version, .canary_weight]' '[1,3,50]'
req POST /api/v1/deployments/fraud '{"canary": 150}'
expect_error 400 "canary 150"
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 3, "alias": "x"}'
expect_error 400 "version and alias"
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 42}'
expect_error 404 "deploy an unknown version"
req POST /api/v1/deployments/fraud/promote '{"reason": "looks good"}'
expect_status 200 "promote"
expect_json '[.stable_version, .canary_version, .canary_weight]' '[3,null,0]'
req POST /api/v1/deployments/fraud/promote '{}'
expect_error 409 "promote without a canary"
req POST /api/v1/deployments/fraud/rollback '{"reason": "p99"}'
expect_status 200 "rollback"
expect_json '.stable_version' '1'
req POST /api/v1/deployments/fraud/rollback '{"to": 3}'
expect_json '.stable_version' '3'
req PUT /api/v1/models/fraud/aliases/prod '{"version": 1}'
req POST /api/v1/deployments/fraud '{"model": "fraud", "alias": "prod"}'
expect_status 200 "deploy by alias"
expect_json '.stable_version' '1'
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 3, "environment": "staging"}'
expect_status 200 "deploy to staging"
expect_json '[.environment, .stable_version]' '["staging",3]'
req GET /api/v1/deployments
expect_json '[.deployments[] | [.name, .environment, .stable_version]]' '[["fraud","production",1],["fraud","staging",3]]'
req GET /api/v1/deployments/fraud
expect_json '[.environment, .stable_version]' '["production",1]'
req GET '/api/v1/deployments/fraud?environment=staging'
expect_json '[.environment, .stable_version]' '["staging",3]'
req GET /api/v1/deployments/nope
expect_error 404 "unknown deployment"
req GET '/api/v1/deployments/fraud/history?environment=production'
expect_status 200 "history"
expect_json '[.events[].action] | (index("deploy") != null) and (index("promote") != null) and (index("rollback") != null)' 'true'
expect_json '[.events[] | select(.environment != "production")] | length' '0'
expect_json '.events[0].who' '"ana"'
expect_json '[.events[].id] | . == sort' 'true'
req GET /api/v1/deployments/fraud/history
# without an environment: both environments, plus the model-level events of model "fraud"
# (its forced registration), merged oldest first
expect_json '[.events[].environment] | unique' '["","production","staging"]'
expect_json '[.events[] | select(.deployment == "") | .action] | unique' '["register","stage"]'
expect_json '[.events[].id] | . == sort' 'true'
req GET /api/v1/deployments/nope/history
expect_error 404 "history of an unknown deployment"
req DELETE /api/v1/models/fraud/versions/1
expect_error 409 "delete a deployed version"
req DELETE /api/v1/models/spam/versions/1
expect_status 200 "delete an undeployed version"
req GET /api/v1/models/spam/versions/1
expect_error 404 "deleted version"

# --- gate check --------------------------------------------------------------------------------
jq -n --rawfile m "$WORK/pass.yaml" '{manifest: $m}' >"$WORK/gate.json"
req POST /api/v1/gate "@$WORK/gate.json"
expect_status 200 "gate pass"
expect_json '.passed' 'true'
jq -n --rawfile m "$WORK/fail.yaml" '{manifest: $m}' >"$WORK/gate.json"
req POST /api/v1/gate "@$WORK/gate.json"
expect_status 200 "gate fail"
expect_json '[.passed, ([.rules[] | select(.passed == false) | .name])]' '[false,["min-accuracy"]]'
jq -n --rawfile m "$WORK/fail.yaml" '{manifest: $m, policy: "rules:\n  - {name: loose, field: spec.metrics.accuracy, op: \">=\", value: 0.5}\n"}' >"$WORK/gate.json"
req POST /api/v1/gate "@$WORK/gate.json"
expect_json '[.passed, [.rules[].name]]' '[true,["loose"]]'
req POST /api/v1/gate '{"manifest": "kind: [unclosed"}'
expect_error 400 "gate on a broken manifest"
req POST /api/v1/gate '{}'
expect_error 400 "gate without a manifest"

# --- hostile bodies: 400, and the server keeps answering ---------------------------------------
for body in '{"model": ' '[1,2]' '"x"' '{"model": 5}' '{"canary": "x"}' '{"version": 1.5}' \
  '{"shadow": "yes"}' $'{"model":"fraud\x01"}' '{"a":{"b":{"c":{"d":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}}}}'; do
  bad_request_oneof "400|404" "deploy body $body" POST /api/v1/deployments/fraud "$body"
done
bad_request 400 "register body not JSON" POST /api/v1/models/fraud/versions '{"artifact": '
bad_request 400 "stage body not an object" POST /api/v1/models/fraud/versions/1/stage '[]'
bad_request 400 "alias body wrong type" PUT /api/v1/models/fraud/aliases/a '{"version": {}}'
bad_request 400 "gate body wrong type" POST /api/v1/gate '{"manifest": 7}'
bad_request 405 "wrong method" PATCH /api/v1/models/fraud '{}'
expect_alive "hostile bodies"

# --- durable across a restart ------------------------------------------------------------------
stop_server
start_server --model-repository "$FIXTURES" --data "$DATA"
req GET /api/v1/models/fraud/versions
expect_json '[.versions[] | [.version, .gate_status]]' '[[1,"passed"],[2,"forced"],[3,"passed"]]'
req GET /api/v1/deployments/fraud
expect_json '.stable_version' '1'
req GET /api/v1/models/fraud/versions/3
expect_json '.digest' "\"$(sha256sum "$MODEL2" | cut -d' ' -f1)\""

finish
