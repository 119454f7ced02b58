-- Audit deductions (审核扣款, issue 19): a treatment-side agency's signed deduction of part of
-- a settlement's fund payment, applied by the clearing processor to the period OPEN when it
-- arrived (period), at or after the month the settlement was cleared in (origin_period).
-- A deduction after that month closed lands in the next open month with late = true; a
-- closed statement never changes. Per statement pair, the deductions of its period are the
-- statement's deduction column and reduce the payer's payable.
--
-- (participant, deduction_id) is the agency's idempotency key; body_sha256 tells a repeat
-- (same body: applied once) from a reused id (refused).
--
-- kind 'return': a deduction given back because its settlement was reversed afterwards (the
-- reversal returns the whole fund payment, of which the home side paid only the payable).
-- Written by the clearing feed when the reversal lands, in the reversal's period, with the
-- pair turned round (payer = the treatment side): the treatment side returns the fund
-- payment less the deduction. deduction_id is the original's with '~R'.
CREATE TABLE clearing_deductions (
    participant    char(6) NOT NULL,            -- the deducting agency's region (AG<participant>)
    deduction_id   text NOT NULL,
    setl_id        text NOT NULL,               -- a clearing_entries settlement (no FK: a rebuild truncates entries)
    amount         numeric(16,2) NOT NULL CHECK (amount > 0),
    reason         text NOT NULL,
    period         text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    origin_period  text NOT NULL CHECK (origin_period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    scope          text NOT NULL,
    payer          char(6) NOT NULL,
    payee          char(6) NOT NULL,
    late           boolean NOT NULL,
    alert_id       text,
    memo           text NOT NULL DEFAULT '',
    ce_id          text NOT NULL,
    issued_at      timestamptz NOT NULL,
    body_sha256    text NOT NULL,
    applied_at     timestamptz NOT NULL DEFAULT now(),
    kind           text NOT NULL DEFAULT 'deduction' CHECK (kind IN ('deduction', 'return')),
    PRIMARY KEY (participant, deduction_id),
    CHECK (late = (period <> origin_period)),
    CHECK (period >= origin_period)
);
CREATE INDEX clearing_deductions_setl ON clearing_deductions (setl_id);
CREATE INDEX clearing_deductions_period ON clearing_deductions (period, scope);

-- A reversal names the settlement it reverses (a reversed settlement takes no deduction).
-- Entries landed before this migration have NULL here until the clearing projection is
-- rebuilt (yidi replay rebuild --projection clearing).
ALTER TABLE clearing_entries ADD COLUMN orig_setl_id text;
CREATE INDEX clearing_entries_orig ON clearing_entries (orig_setl_id) WHERE orig_setl_id IS NOT NULL;
