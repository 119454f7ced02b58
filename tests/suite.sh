#!/usr/bin/env bash
# `make test`'s pytest runs: the three-broker scenarios in the background, beside the unit
# tests and then the integration and e2e tests. Fails if any test failed.
#
# Why side by side: the cluster scenarios (tests/e2e/test_broker_faults.py, ~3 min with the
# cluster's start) mostly wait (a broker down, JVMs restarting, sessions timing out) on a
# cluster and workers of their own; the unit tests (~2 min) are CPU work with no broker, no
# database and no wall clock under test. Together they take about the longer of the two, not
# the sum. Everything that shares the single-node stack still runs one test at a time.
# The integration and e2e run starts when the unit tests end, not when the cluster's run
# does: the unit tests now take ~2.5 min against the cluster's ~3.5 (the cluster's tail, a
# broker restart and its teardown, overlaps the first integration tests: PostgreSQL, CLI
# and catalog checks).
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
$PYTEST tests/integration tests/e2e -q --durations="$DURATIONS" --ignore="$CLUSTER_TESTS"
rest=$?
wait "$cluster"
clustered=$?
echo "--- $CLUSTER_TESTS (run beside the unit tests and the start of the others) ---"
cat "$log"
echo "unit: exit $unit; three-broker scenarios: exit $clustered; integration and e2e: exit $rest"
[[ $unit == 0 && $clustered == 0 && $rest == 0 ]]
