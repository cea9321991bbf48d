#!/bin/bash
# Drift statistics against numpy/scipy (python3-scipy): tests/conformance/drift_scipy.py runs
# `mmsp drift baseline|report` on seeded samples and compares edges, fractions, PSI, JS, KS.
source "$(dirname "$0")/../integration/lib.sh"

if ! /usr/bin/python3 -c 'import scipy, numpy' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 has no scipy (apt-get install python3-scipy)"
  exit 77
fi
if /usr/bin/python3 "$MMSP_SOURCE_DIR/tests/conformance/drift_scipy.py" "$MMSP_BIN" "$WORK"; then
  pass
else
  fail "drift statistics differ from scipy (see above)"
fi
finish
