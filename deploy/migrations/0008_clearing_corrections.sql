-- Corrections of closed statements (issue 14): when the clearing projection is rebuilt
-- under a corrected rule, a closed month's settlements may resolve to other pairs than its
-- statement says. The statement stays as issued; the difference per pair is carried, once,
-- into the next open period and recorded here when that period closes.
--
-- amount is signed: what payer owes payee on top of the origin statement (negative: payee
-- returns it). Per (origin, scope, carried_into) the amounts' nets sum to zero.
CREATE TABLE clearing_corrections (
    origin_period  text NOT NULL CHECK (origin_period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    scope          text NOT NULL,
    payer          char(6) NOT NULL,
    payee          char(6) NOT NULL,
    carried_into   text NOT NULL CHECK (carried_into > origin_period),
    statement_id   text NOT NULL REFERENCES clearing_statements,
    amount         numeric(18,2) NOT NULL CHECK (amount <> 0),
    issued         numeric(18,2) NOT NULL,   -- the origin statement's amount for the pair
    recomputed     numeric(18,2) NOT NULL,   -- what the origin month's settlements gave at the carry
    PRIMARY KEY (origin_period, scope, payer, payee, carried_into)
);
CREATE INDEX clearing_corrections_into ON clearing_corrections (carried_into, scope);
