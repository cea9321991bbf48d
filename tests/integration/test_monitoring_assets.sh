#!/usr/bin/env bash
# deploy/monitoring is valid for the real tools: `promtool check config` (which also checks
# the rule files it loads), `promtool check rules`, the rules' own unit tests
# (`promtool test rules`: the canary alerts fire on a failing or slow canary and stay quiet on
# a canary as good as the stable), `amtool check-config` on alertmanager.yml (which must route
# action="rollback" alerts to a webhook on /alerts with bearer authorization), and the Grafana
# dashboard is JSON with the panels docs/gateway.md lists, over metric names the gateway has.
source "$(dirname "$0")/lib.sh"
M="$MMSP_SOURCE_DIR/deploy/monitoring"

check() { # WHAT CMD...
  local what=$1; shift
  if "$@" >"$WORK/out" 2>&1; then pass; else fail "$what: $(tail -20 "$WORK/out")"; fi
}
command -v promtool >/dev/null || { fail "promtool not installed (scripts/install-deps)"; finish; }
check "promtool check config" promtool check config "$M/prometheus.yml"
check "promtool check rules" promtool check rules "$M"/rules/*.yml
check "promtool test rules" promtool test rules "$M"/tests/*.yml
# a rule that cannot fire must fail the rule tests (the tests are not vacuous)
sed 's/> 0.01$/> 2/' "$M/rules/mmsp-canary.yml" >"$WORK/broken.yml"
mkdir -p "$WORK/tests"
sed "s|../rules/mmsp-canary.yml|$WORK/broken.yml|" "$M/tests/mmsp-canary_test.yml" >"$WORK/tests/t.yml"
if promtool test rules "$WORK/tests/t.yml" >/dev/null 2>&1; then fail "rule tests pass on a broken rule"; else pass; fi

AMTOOL=$(command -v amtool || true)
if [ -z "$AMTOOL" ]; then fail "amtool not installed (prometheus-alertmanager)"; else
  check "amtool check-config" "$AMTOOL" check-config "$M/alertmanager.yml"
  # the rollback route reaches a webhook on /alerts with bearer authorization
  if "$AMTOOL" config routes test --config.file="$M/alertmanager.yml" action=rollback deployment=x 2>/dev/null | grep -qw mmsp-gateway; then
    pass; else fail "action=rollback alerts are not routed to the mmsp-gateway receiver"; fi
fi
/usr/bin/python3 - "$M/alertmanager.yml" <<'EOF' || fail "alertmanager.yml webhook"
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
r = [x for x in c["receivers"] if x["name"] == "mmsp-gateway"][0]["webhook_configs"][0]
assert r["url"].endswith("/alerts"), r
assert r["http_config"]["authorization"]["type"] == "Bearer", r
assert r.get("send_resolved", True), r
EOF
pass

# Grafana dashboard: JSON, and the panels the issue asks for, over the gateway's metric names
D="$M/grafana/mmsp-dashboard.json"
if jq -e . "$D" >/dev/null 2>&1; then pass; else fail "dashboard is not JSON"; fi
for m in mmsp_gateway_requests_total mmsp_gateway_errors_total \
  mmsp_gateway_request_duration_seconds_bucket mmsp_gateway_canary_weight \
  mmsp_gateway_shadow_comparisons_total; do
  if jq -r '.panels[].targets[].expr' "$D" | grep -q "$m"; then pass; else fail "no dashboard panel uses $m"; fi
  # and the name is in the gateway's contract (src/gateway/gateway.h)
  if grep -q "${m%_bucket}" "$MMSP_SOURCE_DIR/src/gateway/gateway.h"; then pass; else fail "$m is not a gateway metric"; fi
done
if jq -e '[.panels[].targets[].expr | select(test("histogram_quantile\\(0.99"))] | length > 0' "$D" >/dev/null; then pass; else fail "no p99 panel"; fi
finish
