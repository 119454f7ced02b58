-- Queries on large stays (协查, issue 19): the home side's query on one inpatient settlement
-- of 30,000 yuan or more, its answer by the treatment side and its end (confirmed, counted
-- as confirmed when unanswered, or deducted). services/clearing/core/queries.py holds the
-- rules; every step writes the whole row (the state the deadlines left it in).
CREATE TABLE audit_queries (
    query_id       text PRIMARY KEY,
    setl_id        text NOT NULL,
    home_agency    char(6) NOT NULL,
    raised_on      date NOT NULL,
    batch          text NOT NULL CHECK (batch ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    reply_by       date NOT NULL,
    lapses_on      date NOT NULL CHECK (lapses_on > reply_by),
    state          text NOT NULL CHECK (state IN ('RAISED', 'ANSWERED', 'DISPUTED', 'CONFIRMED',
                                                  'DEEMED_CONFIRMED', 'DEDUCTED')),
    answered_on    date,
    answered_late  boolean NOT NULL DEFAULT false,
    answer         text NOT NULL DEFAULT '',
    confirm_by     date,
    resolved_on    date,
    deduction_id   text,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'DEDUCTED') = (deduction_id IS NOT NULL))
);
-- At most one open query per settlement.
CREATE UNIQUE INDEX audit_queries_open ON audit_queries (setl_id)
    WHERE state IN ('RAISED', 'ANSWERED', 'DISPUTED');
CREATE INDEX audit_queries_batch ON audit_queries (batch);
