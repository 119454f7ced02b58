#!/usr/bin/env bash
# Stop exactly what up.sh started (by recorded pid): the single node and, when it was started,
# the three-node cluster's nodes; data stays for the next start.
source "$(dirname "$0")/common.sh"
if [[ -d "$RUN_DIR/kafka-cluster" ]]; then "$REPO_ROOT/deploy/local/kafka-cluster.sh" stop; fi
"$REPO_ROOT/deploy/local/kafka.sh" stop
"$REPO_ROOT/deploy/local/postgres.sh" stop
