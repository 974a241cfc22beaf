#!/bin/sh
# CTest smoke test of shoal-bench: the quick suite into a temp folder, then the schema
# check of its results.json. No timing thresholds.
#   smoke_test.sh <shoal-bench> <python3> <validate_results.py>
set -u
bench=$1 python=$2 validator=$3
out=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench-smoke.XXXXXX") || exit 1
"$bench" --quick --data-dir "${SHOAL_TEST_TMPDIR:-${TMPDIR:-/tmp}}" --out "$out"
rc=$?
if [ -f "$out/results.json" ]; then
  "$python" "$validator" "$out/results.json" || rc=1
else
  echo "smoke_test: no results.json" >&2
  rc=1
fi
rm -rf "$out"
exit $rc
