#!/usr/bin/env bash
# `make test`'s pytest runs: the three-broker scenarios beside the unit tests, then the
# integration and e2e tests alone. Fails if any test failed.
#
# Why side by side: the cluster scenarios (tests/e2e/test_broker_faults.py, ~3 min with the
# cluster's start) mostly wait (a broker down, JVMs restarting, sessions timing out) on a
# cluster and workers of their own; the unit tests (~2 min) are CPU work with no broker, no
# database and no wall clock under test. Together they take about the longer of the two, not
# the sum. Everything that shares the single-node stack still runs one test at a time.
#
# PYTEST (may carry options), DURATIONS and YIDI_FAULTS_CLUSTER come from the Makefile.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=${PYTEST:-.venv/bin/pytest}
DURATIONS=${DURATIONS:-15}
CLUSTER_TESTS=tests/e2e/test_broker_faults.py
log=$(mktemp /tmp/yidi-cluster-tests.XXXXXX)
trap 'rm -f "$log"' EXIT

YIDI_FAULTS_CLUSTER=${YIDI_FAULTS_CLUSTER:-1} $PYTEST "$CLUSTER_TESTS" -q -p no:cacheprovider \
  --durations=5 >"$log" 2>&1 &
cluster=$!
$PYTEST tests/unit -q --durations=5
unit=$?
wait "$cluster"
clustered=$?
echo "--- $CLUSTER_TESTS (run beside the unit tests) ---"
cat "$log"
$PYTEST tests/integration tests/e2e -q --durations="$DURATIONS" --ignore="$CLUSTER_TESTS"
rest=$?
echo "unit: exit $unit; three-broker scenarios: exit $clustered; integration and e2e: exit $rest"
[[ $unit == 0 && $clustered == 0 && $rest == 0 ]]
