#!/bin/bash
# The MLflow-compatible model registry REST API 2.0 (protocols.md section 4, docs/api.md)
# against the real binary: every registered-models and model-versions endpoint, GET
# parameters from the query string and the others from JSON bodies, exact error_code and
# status for each error kind, search filters, paging with page_token until exhausted, and the
# /ajax-api prefix. The whole suite runs twice: on the embedded SQLite store and on a real
# PostgreSQL server started for the test (pg.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg.sh"
fixtures

MODEL="$FIXTURES/binary/1/model.json"
MODEL_DIR="$FIXTURES/regress/1"
API=/api/2.0/mlflow

mlf() { # METHOD PATH [BODY] : a request under the MLflow prefix
  local method=$1 path=$2
  shift 2
  req "$method" "$API$path" "$@"
}

# expect_mlflow_error STATUS CODE WHAT [MESSAGE_PREFIX] : MLflow's error body (one jq run)
expect_mlflow_error() {
  expect_status "$1" "$3"
  local got code msg
  got=$(printf '%s' "$BODY" | jq -r '[(.error_code | strings), (.message | strings)] | @tsv' 2>/dev/null)
  code=${got%%$'\t'*}
  msg=${got#*$'\t'}
  if [ "$code" = "$2" ] && [ -n "$msg" ] && [ "$msg" != "$got" ]; then
    pass
  else
    fail "$3: want error_code $2 with a message, body: ${BODY:0:300}"
  fi
  if [ -n "${4:-}" ]; then
    if [[ "$msg" == "$4"* ]]; then pass; else fail "$3: message '$msg' does not start with '$4'"; fi
  fi
}

# expect_eq GOT WANT WHAT
expect_eq() { if [ "$1" = "$2" ]; then pass; else fail "$3: got $1, want $2"; fi; }

# collect_pages PATH_WITH_QUERY KEY : follows next_page_token to the end; sets PAGES (count),
# ITEMS (all names/versions, one JSON array) and PAGE_SIZES
collect_pages() {
  local path=$1 key=$2 token="" sep
  PAGES=0 PAGE_SIZES="" ITEMS="[]"
  [[ "$path" == *\?* ]] && sep='&' || sep='?'
  while :; do
    if [ -n "$token" ]; then mlf GET "$path${sep}page_token=$(jq -rn --arg t "$token" '$t|@uri')"; else mlf GET "$path"; fi
    if [ "$STATUS" != 200 ]; then fail "paging $path: status $STATUS: ${BODY:0:200}"; return; fi
    PAGES=$((PAGES + 1))
    PAGE_SIZES="$PAGE_SIZES$(printf '%s' "$BODY" | jq -r --arg k "$key" '.[$k] | length') "
    ITEMS=$(jq -c -n --argjson a "$ITEMS" --argjson b "$BODY" --arg k "$key" \
      '$a + [$b[$k][] | if .version then (.name + "/" + .version) else .name end]')
    token=$(printf '%s' "$BODY" | jq -r '.next_page_token // empty')
    [ -z "$token" ] && break
    [ "$PAGES" -gt 50 ] && { fail "paging $path: more than 50 pages"; return; }
  done
  pass
}

suite() {
  local store=$1
  shift
  start_server --model-repository "$FIXTURES" "$@"

  # --- registered-models/create, get, update, rename ------------------------------------------
  mlf POST /registered-models/create '{"name": "fraud", "description": "card fraud", "tags": [{"key": "team", "value": "risk"}]}'
  expect_status 200 "$store: create"
  expect_json '.registered_model | [.name, .description, .tags, .aliases, .latest_versions]' \
    '["fraud","card fraud",[{"key":"team","value":"risk"}],[],[]]'
  expect_json '.registered_model | (.creation_timestamp | type) == "number" and .last_updated_timestamp >= .creation_timestamp' 'true'
  mlf POST /registered-models/create '{"name": "fraud"}'
  expect_mlflow_error 400 RESOURCE_ALREADY_EXISTS "$store: create twice" "Registered Model (name=fraud) already exists."
  mlf POST /registered-models/create '{}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: create without name" "Missing value for required parameter 'name'"
  mlf POST /registered-models/create '{"name": ""}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: create with an empty name" "Missing value for required parameter 'name'"
  mlf POST /registered-models/create '{"name": "x", "tags": "team=risk"}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: create with bad tags"
  mlf POST /registered-models/create '{"name": ["x"]}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: name as a list"
  mlf POST /registered-models/create '{"name": '
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: malformed body"
  mlf GET '/registered-models/get?name=fraud'
  expect_status 200 "$store: get"
  expect_json '.registered_model.name' '"fraud"'
  mlf GET '/registered-models/get?name=nope'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: get missing" "Registered Model with name=nope not found"
  mlf GET /registered-models/get
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: get without name" "Missing value for required parameter 'name'"
  mlf PATCH /registered-models/update '{"name": "fraud", "description": "new words"}'
  expect_status 200 "$store: update"
  expect_json '.registered_model.description' '"new words"'
  mlf PATCH /registered-models/update '{"name": "nope", "description": "x"}'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: update missing"
  mlf POST /registered-models/create '{"name": "other"}'
  mlf POST /registered-models/rename '{"name": "other", "new_name": "fraud"}'
  expect_mlflow_error 400 RESOURCE_ALREADY_EXISTS "$store: rename onto an existing name"
  mlf POST /registered-models/rename '{"name": "other", "new_name": "renamed"}'
  expect_status 200 "$store: rename"
  expect_json '.registered_model.name' '"renamed"'
  mlf GET '/registered-models/get?name=other'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: old name after rename"
  mlf POST /registered-models/rename '{"name": "nope", "new_name": "x2"}'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: rename missing"
  mlf POST /registered-models/rename '{"name": "renamed"}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: rename without new_name" "Missing value for required parameter 'new_name'"

  # --- registered-models tags ----------------------------------------------------------------
  mlf POST /registered-models/set-tag '{"name": "fraud", "key": "owner", "value": "ana"}'
  expect_status 200 "$store: set-tag"
  expect_json '.' '{}'
  mlf POST /registered-models/set-tag '{"name": "fraud", "key": "empty", "value": ""}'
  expect_status 200 "$store: set-tag with an empty value"
  mlf POST /registered-models/set-tag '{"name": "fraud", "key": "owner"}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: set-tag without value" "Missing value for required parameter 'value'"
  mlf POST /registered-models/set-tag '{"name": "nope", "key": "k", "value": "v"}'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: set-tag on a missing model"
  mlf DELETE /registered-models/delete-tag '{"name": "fraud", "key": "empty"}'
  expect_status 200 "$store: delete-tag"
  mlf GET '/registered-models/get?name=fraud'
  expect_json '[.registered_model.tags[] | [.key, .value]] | sort' '[["owner","ana"],["team","risk"]]'

  # --- model-versions/create (local sources only) ---------------------------------------------
  mlf POST /model-versions/create "{\"name\": \"fraud\", \"source\": \"$MODEL\", \"run_id\": \"run-a\", \"description\": \"from a path\", \"tags\": [{\"key\": \"k\", \"value\": \"v\"}]}"
  expect_status 200 "$store: version from a path"
  expect_json '.model_version | [.name, .version, .current_stage, .status, .source, .run_id, .description, .tags]' \
    "[\"fraud\",\"1\",\"None\",\"READY\",\"$MODEL\",\"run-a\",\"from a path\",[{\"key\":\"k\",\"value\":\"v\"}]]"
  mlf POST /model-versions/create "{\"name\": \"fraud\", \"source\": \"file://$MODEL\", \"run_id\": \"run-b\"}"
  expect_status 200 "$store: version from a file:// URI"
  expect_json '.model_version.version' '"2"'
  mlf POST /model-versions/create "{\"name\": \"fraud\", \"source\": \"$MODEL_DIR\", \"run_link\": \"http://ci/3\"}"
  expect_status 200 "$store: version from a directory"
  expect_json '.model_version | [.version, .run_link]' '["3","http://ci/3"]'
  mlf POST /model-versions/create '{"name": "fraud", "source": "s3://bucket/model"}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: s3 source"
  mlf POST /model-versions/create '{"name": "fraud", "source": "runs:/abc/model"}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: runs:/ source"
  mlf POST /model-versions/create "{\"name\": \"fraud\", \"source\": \"$WORK/none.json\"}"
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: missing file"
  printf '{"learner": garbage' >"$WORK/garbage.json"
  mlf POST /model-versions/create "{\"name\": \"fraud\", \"source\": \"$WORK/garbage.json\"}"
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: unloadable model file"
  mlf POST /model-versions/create "{\"name\": \"nope\", \"source\": \"$MODEL\"}"
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: version of a missing model" "Registered Model with name=nope not found"
  mlf POST /model-versions/create '{"name": "fraud"}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: create without source" "Missing value for required parameter 'source'"

  # --- model-versions get, update, tags, download uri ------------------------------------------
  mlf GET '/model-versions/get?name=fraud&version=2'
  expect_status 200 "$store: get version"
  expect_json '.model_version | [.version, .run_id]' '["2","run-b"]'
  mlf GET '/model-versions/get?name=fraud&version=9'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: get missing version" "Model Version (name=fraud, version=9) not found"
  mlf GET '/model-versions/get?name=fraud&version=two'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: version not a number"
  mlf GET '/model-versions/get?name=fraud'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: get without version" "Missing value for required parameter 'version'"
  mlf PATCH /model-versions/update '{"name": "fraud", "version": 2, "description": "int version"}'
  expect_status 200 "$store: update with an integer version"
  expect_json '.model_version.description' '"int version"'
  mlf PATCH /model-versions/update '{"name": "fraud", "version": "9", "description": "x"}'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: update missing version"
  mlf POST /model-versions/set-tag '{"name": "fraud", "version": "1", "key": "checked", "value": "yes"}'
  expect_status 200 "$store: version set-tag"
  mlf POST /model-versions/set-tag '{"name": "fraud", "version": "1", "key": "gone", "value": "x"}'
  mlf DELETE /model-versions/delete-tag '{"name": "fraud", "version": "1", "key": "gone"}'
  expect_status 200 "$store: version delete-tag"
  mlf GET '/model-versions/get?name=fraud&version=1'
  expect_json '[.model_version.tags[] | .key] | sort' '["checked","k"]'
  mlf POST /model-versions/set-tag '{"name": "fraud", "version": "9", "key": "k", "value": "v"}'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: set-tag on a missing version"
  mlf GET '/model-versions/get-download-uri?name=fraud&version=1'
  expect_status 200 "$store: download uri"
  local uri
  uri=$(printf '%s' "$BODY" | jq -r .artifact_uri)
  if [[ "$uri" == file:///* ]] && cmp -s "${uri#file://}" "$MODEL"; then pass; else fail "$store: download uri '$uri' is not a file:// URI of the artifact"; fi
  mlf GET '/model-versions/get-download-uri?name=fraud&version=9'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: download uri of a missing version"

  # --- stages and latest versions --------------------------------------------------------------
  mlf POST /model-versions/transition-stage '{"name": "fraud", "version": "1", "stage": "Staging", "archive_existing_versions": false}'
  expect_status 200 "$store: transition 1 -> Staging"
  expect_json '.model_version.current_stage' '"Staging"'
  mlf POST /model-versions/transition-stage '{"name": "fraud", "version": "2", "stage": "staging", "archive_existing_versions": true}'
  expect_json '.model_version.current_stage' '"Staging"'
  mlf GET '/model-versions/get?name=fraud&version=1'
  expect_json '.model_version.current_stage' '"Archived"'
  mlf POST /model-versions/transition-stage '{"name": "fraud", "version": "3", "stage": "Production", "archive_existing_versions": "false"}'
  expect_json '.model_version.current_stage' '"Production"'
  mlf POST /model-versions/transition-stage '{"name": "fraud", "version": "3", "stage": "Live", "archive_existing_versions": false}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: unknown stage" "Invalid Model Version stage: Live"
  mlf POST /model-versions/transition-stage '{"name": "fraud", "version": "3", "stage": "Staging"}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: transition without archive_existing_versions" "Missing value for required parameter 'archive_existing_versions'"
  mlf POST /model-versions/transition-stage '{"name": "fraud", "version": "9", "stage": "Staging", "archive_existing_versions": false}'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: transition a missing version"
  mlf POST /registered-models/get-latest-versions '{"name": "fraud", "stages": ["Staging"]}'
  expect_status 200 "$store: latest (POST)"
  expect_json '[.model_versions[] | [.version, .current_stage]]' '[["2","Staging"]]'
  mlf GET '/registered-models/get-latest-versions?name=fraud&stages=Production&stages=Archived'
  expect_status 200 "$store: latest (GET, repeated stages)"
  expect_json '[.model_versions[] | .version] | sort' '["1","3"]'
  mlf POST /registered-models/get-latest-versions '{"name": "fraud"}'
  expect_json '[.model_versions[] | .current_stage] | sort' '["Archived","Production","Staging"]'
  mlf POST /registered-models/get-latest-versions '{"name": "fraud", "stages": ["Bogus"]}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: latest with a bad stage"
  mlf POST /registered-models/get-latest-versions '{"name": "nope"}'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: latest of a missing model"
  mlf GET '/registered-models/get?name=fraud'
  expect_json '[.registered_model.latest_versions[] | .version] | sort' '["1","2","3"]'

  # --- aliases ---------------------------------------------------------------------------------
  mlf POST /registered-models/alias '{"name": "fraud", "alias": "champion", "version": "2"}'
  expect_status 200 "$store: set alias"
  expect_json '.' '{}'
  mlf GET '/registered-models/alias?name=fraud&alias=champion'
  expect_status 200 "$store: get alias"
  expect_json '.model_version | [.version, .aliases]' '["2",["champion"]]'
  mlf GET '/registered-models/get?name=fraud'
  expect_json '.registered_model.aliases' '[{"alias":"champion","version":"2"}]'
  mlf POST /registered-models/alias '{"name": "fraud", "alias": "champion", "version": 3}'
  mlf GET '/registered-models/alias?name=fraud&alias=champion'
  expect_json '.model_version.version' '"3"'
  mlf POST /registered-models/alias '{"name": "fraud", "alias": "champion", "version": "9"}'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: alias to a missing version"
  mlf POST /registered-models/alias '{"name": "fraud", "alias": "champion"}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: alias without version" "Missing value for required parameter 'version'"
  mlf DELETE /registered-models/alias '{"name": "fraud", "alias": "champion"}'
  expect_status 200 "$store: delete alias"
  mlf GET '/registered-models/alias?name=fraud&alias=champion'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: deleted alias" "Registered model alias champion not found"
  mlf GET '/registered-models/alias?name=nope&alias=champion'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: alias of a missing model" "Registered Model with name=nope not found"

  # --- search: filters and paging --------------------------------------------------------------
  local i
  for i in 1 2 3 4 5 6 7; do mlf POST /registered-models/create "{\"name\": \"alpha-$i\"}"; done
  mlf POST /registered-models/create '{"name": "Alpha-Upper"}'
  mlf POST /registered-models/create '{"name": "beta_1", "tags": [{"key": "team", "value": "risk"}]}'
  mlf POST /registered-models/create '{"name": "betaX1"}'
  collect_pages "/registered-models/search?filter=$(jq -rn '"name LIKE '\''alpha-%'\''"|@uri')&max_results=3" registered_models
  expect_eq "$ITEMS" '["alpha-1","alpha-2","alpha-3","alpha-4","alpha-5","alpha-6","alpha-7"]' "$store: LIKE paging items"
  expect_eq "$PAGE_SIZES" "3 3 1 " "$store: LIKE page sizes"
  collect_pages "/registered-models/search?filter=$(jq -rn '"name ILIKE '\''ALPHA-%'\''"|@uri')&max_results=2" registered_models
  expect_eq "$ITEMS" '["Alpha-Upper","alpha-1","alpha-2","alpha-3","alpha-4","alpha-5","alpha-6","alpha-7"]' "$store: ILIKE"
  collect_pages "/registered-models/search?max_results=5" registered_models
  expect_eq "$(printf '%s' "$ITEMS" | jq length)" 12 "$store: all models over pages"
  expect_eq "$(printf '%s' "$ITEMS" | jq -c 'unique | length')" 12 "$store: no model twice across pages"
  mlf GET "/registered-models/search?filter=$(jq -rn '"name = \"beta_1\""|@uri')"
  expect_json '[.registered_models[].name]' '["beta_1"]'
  mlf GET "/registered-models/search?filter=$(jq -rn '"name LIKE '\''beta\\_1'\''"|@uri')"
  expect_json '[.registered_models[].name]' '["beta_1"]'
  mlf GET "/registered-models/search?filter=$(jq -rn '"name LIKE '\''beta_1'\''"|@uri')"
  expect_json '[.registered_models[].name]' '["betaX1","beta_1"]'
  mlf GET "/registered-models/search?filter=$(jq -rn '"tags.team = '\''risk'\'' and name != '\''fraud'\''"|@uri')"
  expect_json '[.registered_models[].name]' '["beta_1"]'
  mlf GET "/registered-models/search?filter=$(jq -rn '"name='\''fraud'\''"|@uri')&order_by=name%20ASC"
  expect_json '[.registered_models[].name]' '["fraud"]'
  expect_json 'has("next_page_token")' 'false'
  mlf GET "/registered-models/search?filter=$(jq -rn '"name='\''none'\''"|@uri')"
  expect_json '.registered_models' '[]'
  mlf GET "/registered-models/search?filter=$(jq -rn '"name > '\''a'\''"|@uri')"
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: filter comparator" "Invalid filter"
  mlf GET "/registered-models/search?filter=$(jq -rn '"owner = '\''a'\''"|@uri')"
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: filter attribute" "Invalid filter"
  mlf GET "/registered-models/search?filter=$(jq -rn '"name = '\''a'\'' OR name = '\''b'\''"|@uri')"
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: filter OR"
  mlf GET "/registered-models/search?filter=$(jq -rn '"name = '\''unterminated"|@uri')"
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: unterminated string"
  mlf GET "/registered-models/search?filter=$(jq -rn '"run_id = '\''x'\''"|@uri')"
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: run_id is not a model field"
  mlf GET '/registered-models/search?max_results=0'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: max_results 0"
  mlf GET '/registered-models/search?max_results=1001'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: max_results 1001"
  mlf GET '/registered-models/search?max_results=ten'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: max_results not a number"
  mlf GET '/registered-models/search?max_results=1000'
  expect_status 200 "$store: max_results 1000"
  mlf GET '/registered-models/search?page_token=garbage'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: bad page token"
  mlf GET '/registered-models/search?order_by=last_updated_timestamp%20DESC'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: unsupported order_by"

  collect_pages "/model-versions/search?filter=$(jq -rn '"name='\''fraud'\''"|@uri')&max_results=1" model_versions
  expect_eq "$ITEMS" '["fraud/1","fraud/2","fraud/3"]' "$store: versions paged one by one"
  expect_eq "$PAGES" 3 "$store: three version pages"
  mlf GET "/model-versions/search?filter=$(jq -rn '"run_id = '\''run-b'\''"|@uri')"
  expect_json '[.model_versions[] | .version]' '["2"]'
  mlf GET "/model-versions/search?filter=$(jq -rn '"name = '\''fraud'\'' AND tags.checked = '\''yes'\''"|@uri')"
  expect_json '[.model_versions[] | .version]' '["1"]'
  mlf GET '/model-versions/search'
  expect_json '[.model_versions[] | .version]' '["1","2","3"]'
  mlf GET "/model-versions/search?filter=$(jq -rn '"version_number > 1"|@uri')"
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: version filter field"

  # --- the ajax-api prefix, unknown endpoints, methods ------------------------------------------
  req GET '/ajax-api/2.0/mlflow/registered-models/get?name=fraud'
  expect_status 200 "$store: ajax-api prefix"
  expect_json '.registered_model.name' '"fraud"'
  mlf GET /registered-models/nope
  expect_error 404 "$store: unknown endpoint"
  mlf GET /registered-models/create
  expect_error 405 "$store: GET on create"

  # --- delete: a deployed version is refused, others go ----------------------------------------
  req POST /api/v1/deployments/fraud-staging '{"model": "fraud", "version": 2, "environment": "staging"}'
  expect_status 200 "$store: deploy an MLflow version to staging"
  req POST /api/v1/deployments/fraud-prod '{"model": "fraud", "version": 2}'
  expect_error 422 "$store: an ungated MLflow version into production without force"
  mlf DELETE /model-versions/delete '{"name": "fraud", "version": "2"}'
  expect_mlflow_error 409 RESOURCE_CONFLICT "$store: delete a deployed version"
  mlf DELETE /registered-models/delete '{"name": "fraud"}'
  expect_mlflow_error 409 RESOURCE_CONFLICT "$store: delete a deployed model"
  mlf DELETE /model-versions/delete '{"name": "fraud", "version": "1"}'
  expect_status 200 "$store: delete a version"
  expect_json '.' '{}'
  mlf GET '/model-versions/get?name=fraud&version=1'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: deleted version"
  mlf DELETE /model-versions/delete '{"name": "fraud", "version": "1"}'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: delete a version twice"
  mlf DELETE /registered-models/delete '{"name": "renamed"}'
  expect_status 200 "$store: delete a model"
  mlf GET '/registered-models/get?name=renamed'
  expect_mlflow_error 404 RESOURCE_DOES_NOT_EXIST "$store: deleted model"
  mlf DELETE /registered-models/delete '{}'
  expect_mlflow_error 400 INVALID_PARAMETER_VALUE "$store: delete without name"
  expect_alive "$store: after the suite"
  stop_server
}

suite sqlite --data "$WORK/data-sqlite"
pg_start
suite postgres --data "$WORK/data-pg" --registry "$PG_URL"

finish
