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
supervision_pid=""
cleanup() {
  if [[ -n "$supervision_pid" ]] && kill -0 "$supervision_pid" 2>/dev/null; then
    kill -TERM "$supervision_pid"; wait "$supervision_pid" 2>/dev/null || true
  fi
  if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -TERM "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
    log "workers stopped"
  fi
  if [[ "$infra_was_up" == 0 ]]; then "$REPO_ROOT/deploy/local/down.sh"; fi
}
trap cleanup EXIT

since="$(date -u +%Y-%m-%dT%H:%M:%S+00:00)"
YIDI_LOG_LEVEL=warning YIDI_METRICS_PORT="${YIDI_DEMO_METRICS_PORT:-9460}" \
  "$YIDI" worker all > "$RUN_DIR/demo-workers.log" 2>&1 &
worker_pid=$!
log "workers running (pid $worker_pid, log $RUN_DIR/demo-workers.log)"
# the supervisor in a group of this run's own, started at the topics' current ends: it judges
# this run's traffic only, not a long-lived stack's whole log (docs/supervision.md, "The demo")
sup_suffix="-demo-$(date +%s)"
YIDI_GROUP_SUFFIX="$sup_suffix" "$YIDI" supervision from-now
YIDI_GROUP_SUFFIX="$sup_suffix" YIDI_LOG_LEVEL=warning \
  YIDI_METRICS_PORT="${YIDI_DEMO_SUPERVISION_METRICS_PORT:-9466}" \
  "$YIDI" worker supervision > "$RUN_DIR/demo-supervision.log" 2>&1 &
supervision_pid=$!
log "supervision worker running (pid $supervision_pid, log $RUN_DIR/demo-supervision.log)"
sleep 3
# the acks of the first 20 s (workers just started: state restored, connections and caches
# filling) are reported apart as "warmup"; ack_latency_ms is what a hospital sees afterwards
"$YIDI" simulate --visits "$VISITS" --rate "$RATE" --run-id "demo-$(date +%s)" --warmup-s "${YIDI_DEMO_WARMUP_S:-20}"
sleep 2
"$YIDI" ledger preview --since "$since"
# a short supervision day: each fraud pattern planted, then alerts per rule, precision and recall
"$YIDI" simulate --visits 200 --fraud-rate 0.01 --plants "$RUN_DIR/demo-plants.json" \
  --run-id "demo-sup-$(date +%s)" --rate "$RATE" > /dev/null
# the report only once the supervisor has consumed the run (its outlier alerts come when the
# day closes, after the day-close tail); a timeout is said, and the report still printed
YIDI_GROUP_SUFFIX="$sup_suffix" "$YIDI" supervision wait --timeout 180 || true
"$YIDI" supervision report --plants "$RUN_DIR/demo-plants.json"
# every worker's Prometheus /metrics (docs/metrics.md): one line each, counters non-zero
log "metrics scraped from each worker's /metrics:"
"$YIDI" metrics --require-counts "all=127.0.0.1:${YIDI_DEMO_METRICS_PORT:-9460}" \
  "supervision=127.0.0.1:${YIDI_DEMO_SUPERVISION_METRICS_PORT:-9466}"
