-- Fund supervision (智能监控): one row per alert, once per (rule, subject, window).
--
-- alert_id is a hash of rule id and version, subject and window (services/supervision/
-- core/alert_id.py), so the supervision worker's insert is idempotent: a replay, a
-- restart after SIGKILL or a second group over the same range writes nothing new
-- (ON CONFLICT DO NOTHING). subject is a person key ({insuplc_admdvs}:{psn_no}) or an
-- institution code: this table is the authorized place for it (no names, no ID numbers).
CREATE TABLE alerts (
    alert_id         text        PRIMARY KEY,
    rule_id          text        NOT NULL,
    rule_kind        text        NOT NULL,
    rule_version     text        NOT NULL,
    severity         text        NOT NULL CHECK (severity IN ('suspicious', 'violation')),
    subject_kind     text        NOT NULL CHECK (subject_kind IN ('person', 'institution')),
    subject          text        NOT NULL,
    admdvs           char(6)     NOT NULL,
    window_start     date        NOT NULL,
    window_end       date        NOT NULL CHECK (window_end >= window_start),
    setl_ids         text[]      NOT NULL,
    mdtrt_ids        text[]      NOT NULL,
    fixmedins_codes  text[]      NOT NULL,
    amount           numeric(16, 2) NOT NULL CHECK (amount >= 0),
    detail           text        NOT NULL,
    first_seen_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_rule ON alerts (rule_id, window_start);
CREATE INDEX alerts_subject ON alerts (subject);
