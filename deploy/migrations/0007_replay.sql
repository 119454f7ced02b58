-- Replays and rebuilds (yidi replay): one row per run, so an interrupted run resumes instead
-- of starting over, and the operator can see what ran, over which range, with what result.
CREATE TABLE replay_runs (
    run_id       text PRIMARY KEY,               -- 'rebuild:ledger', 'shadow:<name>', ...
    kind         text NOT NULL CHECK (kind IN ('rebuild', 'shadow', 'production')),
    target       text NOT NULL,                  -- projection, shadow name, or group
    status       text NOT NULL CHECK (status IN ('running', 'done')),
    spans        jsonb NOT NULL,                 -- {"topic": {"partition": [start, end]}}
    records      bigint NOT NULL DEFAULT 0,
    seconds      double precision,
    result       jsonb,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- Where the clearing sink had read the settlement feed when a period froze (per clearing
-- consumer group and partition). A rebuild re-reading a settlement from before that point
-- puts it back into its own month, not into the next open one as a late item.
ALTER TABLE clearing_periods ADD COLUMN frozen_offsets jsonb;
