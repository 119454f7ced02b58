#!/usr/bin/env bash
# The README's main command: infrastructure (if needed), topics, migrations, the workers,
# about a minute of simulated traffic, the report and a clearing preview; then stop what it started.
source "$(dirname "$0")/common.sh"
YIDI="$REPO_ROOT/.venv/bin/yidi"
VISITS="${YIDI_DEMO_VISITS:-3000}"
RATE="${YIDI_DEMO_RATE:-250}"

infra_was_up=1
if [[ -z "${YIDI_KAFKA_BOOTSTRAP:-}" ]] && ! "$REPO_ROOT/deploy/local/kafka.sh" status >/dev/null; then infra_was_up=0; fi
if [[ -z "${YIDI_DATABASE_URL:-}" ]] && ! "$REPO_ROOT/deploy/local/postgres.sh" status >/dev/null; then infra_was_up=0; fi
"$REPO_ROOT/deploy/local/up.sh"

worker_pid=""
cleanup() {
  if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -TERM "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
    log "workers stopped"
  fi
  if [[ "$infra_was_up" == 0 ]]; then "$REPO_ROOT/deploy/local/down.sh"; fi
}
trap cleanup EXIT

since="$(date -u +%Y-%m-%dT%H:%M:%S+00:00)"
YIDI_LOG_LEVEL=warning "$YIDI" worker all > "$RUN_DIR/demo-workers.log" 2>&1 &
worker_pid=$!
log "workers running (pid $worker_pid, log $RUN_DIR/demo-workers.log)"
sleep 3
"$YIDI" simulate --visits "$VISITS" --rate "$RATE" --run-id "demo-$(date +%s)"
sleep 2
"$YIDI" ledger preview --since "$since"
