#!/usr/bin/env bash
# Stop exactly what up.sh started (by recorded pid); data stays for the next start.
source "$(dirname "$0")/common.sh"
"$REPO_ROOT/deploy/local/kafka.sh" stop
"$REPO_ROOT/deploy/local/postgres.sh" stop
