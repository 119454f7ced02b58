#!/usr/bin/env bash
# `yidi bench pipeline` on the secured broker and, in the same run, on an unsecured one started
# here for the purpose (its own run dir and port, stopped on exit): what TLS + SASL cost.
# Usage: deploy/local/bench-unsecured.sh [yidi bench pipeline options...]
source "$(dirname "$0")/common.sh"
secured="${YIDI_KAFKA_BOOTSTRAP:-127.0.0.1:39092}"
port=$(( ${secured##*:} + 50 ))
plain_run="$RUN_DIR/unsecured"
export_env=(YIDI_RUN_DIR="$plain_run" YIDI_LOCAL_KAFKA_SECURITY=off YIDI_LOCAL_KAFKA_PORT="$port"
            YIDI_LOCAL_KAFKA_CONTROLLER_PORT=$((port + 1)))
stop() { env "${export_env[@]}" "$REPO_ROOT/deploy/local/kafka.sh" stop || true; }
trap stop EXIT
env "${export_env[@]}" "$REPO_ROOT/deploy/local/kafka.sh" start
"$REPO_ROOT/.venv/bin/yidi" bench pipeline --compare-unsecured "127.0.0.1:$port" "$@"
