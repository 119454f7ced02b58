-- Ops: the journal of DLQ redrives (yidi dlq redrive).
--
-- One row per attempt to send one DLQ record back to its source topic. The row
-- is written BEFORE the send ('pending', with scan_from = the target
-- partition's end offset just before it) and completed after the broker
-- acknowledged it ('sent', with the offset it landed at). A crash in between
-- leaves 'pending'; the next redrive scans the target partition from
-- scan_from for the message's yidi_redrive header (= marker) and completes
-- the row as 'sent' or 'not_sent'. So a redrive that happened is never
-- forgotten, and one that did not is never counted.
CREATE TABLE dlq_redrives (
    dlq_topic         text    NOT NULL,
    dlq_partition     integer NOT NULL CHECK (dlq_partition >= 0),
    dlq_offset        bigint  NOT NULL CHECK (dlq_offset >= 0),
    attempt           integer NOT NULL CHECK (attempt >= 1),
    source_topic      text    NOT NULL,
    source_partition  integer NOT NULL CHECK (source_partition >= 0),
    source_offset     bigint  NOT NULL CHECK (source_offset >= 0),
    reason_code       text    NOT NULL,
    ce_id             text,
    marker            text    NOT NULL UNIQUE,
    forced            boolean NOT NULL,
    operator          text    NOT NULL,
    status            text    NOT NULL CHECK (status IN ('pending', 'sent', 'not_sent')),
    scan_from         bigint  NOT NULL CHECK (scan_from >= 0),
    sent_offset       bigint,
    claimed_at        timestamptz NOT NULL DEFAULT now(),
    resolved_at       timestamptz,
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset, attempt),
    CHECK ((status = 'sent') = (sent_offset IS NOT NULL))
);
-- At most one attempt in flight per DLQ record (two operators cannot both send it).
CREATE UNIQUE INDEX dlq_redrives_one_pending ON dlq_redrives (dlq_topic, dlq_partition, dlq_offset)
    WHERE status = 'pending';
-- A source record dead-lettered twice (a processor replay) counts as redriven once either copy is.
CREATE INDEX dlq_redrives_source ON dlq_redrives (source_topic, source_partition, source_offset);
