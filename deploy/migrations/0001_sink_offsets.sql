-- Consumer positions stored in the same transaction as a sink's rows:
-- the strongest effectively-once form for a PostgreSQL sink (seek here on assignment).
CREATE TABLE sink_offsets (
    group_id    text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL CHECK (partition >= 0),
    next_offset bigint  NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);
