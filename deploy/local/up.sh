#!/usr/bin/env bash
# Start what the local runtime needs (idempotent), then apply schema and topics.
# An endpoint given in YIDI_KAFKA_BOOTSTRAP / YIDI_DATABASE_URL is used as is: nothing local starts for it.
source "$(dirname "$0")/common.sh"
YIDI="$REPO_ROOT/.venv/bin/yidi"

if [[ -n "${YIDI_KAFKA_BOOTSTRAP:-}" ]]; then log "using external Kafka at $YIDI_KAFKA_BOOTSTRAP"; else "$REPO_ROOT/deploy/local/kafka.sh" start; fi
if [[ -n "${YIDI_DATABASE_URL:-}" ]]; then log "using external PostgreSQL"; else "$REPO_ROOT/deploy/local/postgres.sh" start; fi
"$YIDI" db migrate
"$YIDI" topics apply
# principals and ACLs (a SASL cluster only: an unsecured one has no users to make)
if [[ "${YIDI_KAFKA_SECURITY_PROTOCOL:-SASL_SSL}" == SASL_* ]]; then "$YIDI" security apply; fi
"$YIDI" dashboard users
