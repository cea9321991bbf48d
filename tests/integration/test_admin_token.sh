#!/bin/bash
# The admin bearer token on write endpoints (docs/api.md "Authentication"): for every write
# family (native register, stage, alias, deploy, promote, rollback, delete; MLflow writes; v2
# repository load/unload) no token is 401 with a WWW-Authenticate challenge, a wrong one 403,
# the right one 2xx; reads, the gate check and inference stay open; MMSP_ADMIN_TOKEN works as
# the flag does; without a token writes are open. Also registry mode (no repository).
source "$(dirname "$0")/lib.sh"
fixtures

TOKEN='s3cret-Token_42'
MODEL="$FIXTURES/binary/1/model.json"
GOOD=(-H "Authorization: Bearer $TOKEN")
WRONG=(-H "Authorization: Bearer s3cret-Token_43")

jq -n --arg a "$(base64 -w0 "$MODEL")" \
  '{artifact: $a, artifact_name: "model.json", metrics: {accuracy: 0.9, f1_score: 0.9}, force: true}' >"$WORK/reg.json"

# guarded WHAT WANT_OK METHOD PATH BODY : no token -> 401 (+ challenge), wrong -> 403, right ->
# WANT_OK. MLflow paths must answer with MLflow's error codes.
guarded() {
  local what=$1 ok=$2 method=$3 path=$4 body=$5 mlflow=""
  [[ "$path" == */2.0/mlflow/* ]] && mlflow=1
  req "$method" "$path" "$body"
  expect_status 401 "$what without a token"
  if grep -qi '^WWW-Authenticate: Bearer' <<<"$HEADERS"; then pass; else fail "$what: 401 without a WWW-Authenticate: Bearer header"; fi
  if [ -n "$mlflow" ]; then expect_json '.error_code' '"UNAUTHENTICATED"'; else expect_error 401 "$what without a token"; fi
  req "$method" "$path" "$body" "${WRONG[@]}"
  expect_status 403 "$what with a wrong token"
  if [ -n "$mlflow" ]; then expect_json '.error_code' '"PERMISSION_DENIED"'; else expect_error 403 "$what with a wrong token"; fi
  req "$method" "$path" "$body" "${GOOD[@]}"
  expect_status "$ok" "$what with the token"
}

start_server --model-repository "$FIXTURES" --data "$WORK/data" --admin-token "$TOKEN"

# --- native writes -------------------------------------------------------------------------------
guarded "register" 201 POST /api/v1/models/fraud/versions "@$WORK/reg.json"
guarded "register v2" 201 POST /api/v1/models/fraud/versions "@$WORK/reg.json"
guarded "stage" 200 POST /api/v1/models/fraud/versions/1/stage '{"stage": "Staging"}'
guarded "alias set" 200 PUT /api/v1/models/fraud/aliases/champion '{"version": 1}'
guarded "alias delete" 200 DELETE /api/v1/models/fraud/aliases/champion ''
guarded "deploy" 200 POST /api/v1/deployments/fraud '{"model": "fraud", "version": 1}'
guarded "canary" 200 POST /api/v1/deployments/fraud '{"model": "fraud", "version": 2, "canary": 20}'
guarded "promote" 200 POST /api/v1/deployments/fraud/promote '{}'
guarded "rollback" 200 POST /api/v1/deployments/fraud/rollback '{}'
req POST /api/v1/models/tmp/versions "@$WORK/reg.json" "${GOOD[@]}"
guarded "version delete" 200 DELETE /api/v1/models/tmp/versions/1 ''
guarded "model delete" 200 DELETE /api/v1/models/tmp ''
# nothing happened on the refused attempts: exactly the two versions, stable back to 1
req GET /api/v1/models/fraud/versions
expect_json '[.versions[].version]' '[1,2]'
req GET /api/v1/deployments/fraud
expect_json '.stable_version' '1'

# --- MLflow writes -------------------------------------------------------------------------------
M=/api/2.0/mlflow
guarded "mlflow create" 200 POST $M/registered-models/create '{"name": "m"}'
guarded "mlflow update" 200 PATCH $M/registered-models/update '{"name": "m", "description": "d"}'
guarded "mlflow set-tag" 200 POST $M/registered-models/set-tag '{"name": "m", "key": "k", "value": "v"}'
guarded "mlflow delete-tag" 200 DELETE $M/registered-models/delete-tag '{"name": "m", "key": "k"}'
guarded "mlflow version create" 200 POST $M/model-versions/create "{\"name\": \"m\", \"source\": \"$MODEL\"}"
guarded "mlflow version update" 200 PATCH $M/model-versions/update '{"name": "m", "version": "1", "description": "d"}'
guarded "mlflow transition" 200 POST $M/model-versions/transition-stage '{"name": "m", "version": "1", "stage": "Staging", "archive_existing_versions": false}'
guarded "mlflow version set-tag" 200 POST $M/model-versions/set-tag '{"name": "m", "version": "1", "key": "k", "value": "v"}'
guarded "mlflow version delete-tag" 200 DELETE $M/model-versions/delete-tag '{"name": "m", "version": "1", "key": "k"}'
guarded "mlflow alias set" 200 POST $M/registered-models/alias '{"name": "m", "alias": "a", "version": "1"}'
guarded "mlflow alias delete" 200 DELETE $M/registered-models/alias '{"name": "m", "alias": "a"}'
guarded "mlflow rename" 200 POST $M/registered-models/rename '{"name": "m", "new_name": "m2"}'
guarded "mlflow version delete" 200 DELETE $M/model-versions/delete '{"name": "m2", "version": "1"}'
guarded "mlflow delete" 200 DELETE $M/registered-models/delete '{"name": "m2"}'
guarded "mlflow via ajax-api" 200 POST /ajax-api/2.0/mlflow/registered-models/create '{"name": "m3"}'

# --- v2 repository load / unload -----------------------------------------------------------------
guarded "v2 unload" 200 POST /v2/repository/models/multi/unload '{}'
guarded "v2 load" 200 POST /v2/repository/models/multi/load '{}'
req GET /v2/models/multi/ready
expect_status 200 "multi ready after the authorised load"

# --- the header's forms --------------------------------------------------------------------------
req POST /api/v1/models/fraud/versions/1/stage '{"stage": "Staging"}' -H "Authorization: bearer $TOKEN"
expect_status 200 "scheme in lower case"
req POST /api/v1/models/fraud/versions/1/stage '{"stage": "Staging"}' -H "Authorization: Basic $TOKEN"
expect_error 401 "Basic scheme"
req POST /api/v1/models/fraud/versions/1/stage '{"stage": "Staging"}' -H "Authorization: Bearer "
expect_error 401 "empty bearer token"
req POST /api/v1/models/fraud/versions/1/stage '{"stage": "Staging"}' -H "Authorization: Bearer ${TOKEN:0:5}"
expect_error 403 "a prefix of the token"
req POST /api/v1/models/fraud/versions/1/stage '{"stage": "Staging"}' -H "Authorization: Bearer ${TOKEN}x"
expect_error 403 "the token plus a byte"
req POST /api/v1/models/fraud/versions/1/stage '{"stage": "Staging"}' -H "Authorization: Bearer $(printf 'A%.0s' $(seq 1 4000))"
expect_error 403 "a 4000-byte token"

# --- reads, the gate check and inference stay open -----------------------------------------------
for path in /api/v1/models /api/v1/models/fraud /api/v1/models/fraud/versions /api/v1/deployments \
  /api/v1/deployments/fraud /api/v1/deployments/fraud/history "$M/registered-models/search" \
  "$M/registered-models/get?name=m3" "$M/model-versions/search" /v2/health/ready /v2/models/binary; do
  req GET "$path"
  expect_status 200 "open read $path"
done
req POST $M/registered-models/get-latest-versions '{"name": "fraud"}'
expect_status 200 "get-latest-versions (POST) is a read"
req POST /api/v1/gate '{"manifest": "apiVersion: mlifecycle.io/v1\nkind: ModelDeployment\nspec:\n  model: {name: fraud}\n"}'
expect_status 200 "gate check is open"
req POST /v2/repository/index '{}'
expect_status 200 "repository index is open"
req POST /v2/models/binary/infer "$(good_body)"
expect_status 200 "inference is open"
stop_server

# --- MMSP_ADMIN_TOKEN (no flag) ------------------------------------------------------------------
MMSP_ADMIN_TOKEN="$TOKEN" start_server --model-repository "$FIXTURES" --data "$WORK/data"
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 2}'
expect_error 401 "env token: no header"
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 2}' "${WRONG[@]}"
expect_error 403 "env token: wrong"
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 2}' "${GOOD[@]}"
expect_status 200 "env token: right"
req POST /v2/repository/models/multi/load '{}'
expect_error 401 "env token: v2 load without the token"
stop_server

# --- the flag wins over the environment ----------------------------------------------------------
MMSP_ADMIN_TOKEN="other" start_server --model-repository "$FIXTURES" --data "$WORK/data" --admin-token "$TOKEN"
req POST /api/v1/deployments/fraud/rollback '{}' -H "Authorization: Bearer other"
expect_error 403 "flag over env: the env token is refused"
req POST /api/v1/deployments/fraud/rollback '{}' "${GOOD[@]}"
expect_status 200 "flag over env: the flag's token works"
stop_server

# --- no token: writes are open (and the log says so) ---------------------------------------------
MMSP_ADMIN_TOKEN= start_server --model-repository "$FIXTURES" --data "$WORK/data"
req POST /v2/repository/models/multi/unload '{}'
expect_status 200 "no token: v2 unload is open"
req POST /api/v1/models/fraud/versions/2/stage '{"stage": "Staging"}'
expect_status 200 "no token: stage is open"
if grep -q 'writes are open' "$SERVER_LOG"; then pass; else fail "no token: the log does not say writes are open"; fi
stop_server

# --- registry mode (no --model-repository): the same API, guarded ---------------------------------
start_server --data "$WORK/data" --admin-token "$TOKEN"
req GET /api/v1/models/fraud
expect_status 200 "registry mode: read"
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 1}'
expect_error 401 "registry mode: deploy without the token"
req POST /api/v1/deployments/fraud '{"model": "fraud", "version": 1}' "${GOOD[@]}"
expect_status 200 "registry mode: deploy with the token"
req POST "$M/registered-models/create" '{"name": "rm"}' "${WRONG[@]}"
expect_json '.error_code' '"PERMISSION_DENIED"'

finish
