#!/usr/bin/env bash
# Start what the local runtime needs (idempotent), then apply schema and topics.
# An endpoint given in YIDI_KAFKA_BOOTSTRAP / YIDI_DATABASE_URL is used as is: nothing local starts for it.
# YIDI_BROKERS=3 (`make up BROKERS=3`): the local three-node cluster instead (deploy/local/kafka-cluster.sh;
# its bootstrap list replaces YIDI_KAFKA_BOOTSTRAP for the schema, topics and ACLs applied here;
# print it with `deploy/local/kafka-cluster.sh bootstrap`).
source "$(dirname "$0")/common.sh"
YIDI="$REPO_ROOT/.venv/bin/yidi"

case "${YIDI_BROKERS:-1}" in
  1)
    if [[ -n "${YIDI_KAFKA_BOOTSTRAP:-}" ]]; then log "using external Kafka at $YIDI_KAFKA_BOOTSTRAP"; else "$REPO_ROOT/deploy/local/kafka.sh" start; fi ;;
  3)
    "$REPO_ROOT/deploy/local/kafka-cluster.sh" start
    YIDI_KAFKA_BOOTSTRAP="$("$REPO_ROOT/deploy/local/kafka-cluster.sh" bootstrap)"
    export YIDI_KAFKA_BOOTSTRAP
    log "three-node cluster: YIDI_KAFKA_BOOTSTRAP=$YIDI_KAFKA_BOOTSTRAP" ;;
  *) die "YIDI_BROKERS must be 1 or 3, not ${YIDI_BROKERS}" ;;
esac
if [[ -n "${YIDI_DATABASE_URL:-}" ]]; then log "using external PostgreSQL"; else "$REPO_ROOT/deploy/local/postgres.sh" start; fi
"$YIDI" db migrate
"$YIDI" topics apply
# principals and ACLs (a SASL cluster only: an unsecured one has no users to make)
if [[ "${YIDI_KAFKA_SECURITY_PROTOCOL:-SASL_SSL}" == SASL_* ]]; then "$YIDI" security apply; fi
"$YIDI" dashboard users
