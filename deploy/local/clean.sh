#!/usr/bin/env bash
# Stop everything and delete local broker and database data (the jar cache stays).
source "$(dirname "$0")/common.sh"
"$REPO_ROOT/deploy/local/down.sh"
if [[ -f "$RUN_DIR/pg/data_dir" ]]; then rm -rf "$(cat "$RUN_DIR/pg/data_dir")"; fi
rm -rf "$RUN_DIR"
log "local data removed"
