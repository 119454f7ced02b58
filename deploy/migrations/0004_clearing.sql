-- Inter-region clearing: which period each settlement is cleared in, running
-- positions per (period, scope, home, treatment), prepayments and their
-- warning levels, period states, statements, confirmations, and an outbox for
-- the messages the clearing center reads on yidi.clearing.v1.
--
-- scope: 'national' (cross-province flows, participants are provinces) or
-- 'province:XX0000' (flows between pooling regions of one province).

-- A period without a row here is OPEN.
CREATE TABLE clearing_periods (
    period        text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    scope         text NOT NULL CHECK (scope = 'national' OR scope ~ '^province:\d{2}0000$'),
    status        text NOT NULL CHECK (status IN ('OPEN', 'CLOSING', 'CLOSED', 'CONFIRMED', 'SETTLED')),
    statement_id  text,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period, scope)
);

-- One row per cleared settlement or reversal, written once (the clearing
-- processor's own idempotency record); amounts signed as in the ledger.
CREATE TABLE clearing_entries (
    setl_id         text PRIMARY KEY,
    period          text NOT NULL,
    natural_period  text NOT NULL,
    scope           text NOT NULL,
    late            boolean NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('settlement', 'reversal')),
    home            char(6) NOT NULL,
    treatment       char(6) NOT NULL,
    payer           char(6) NOT NULL,
    payee           char(6) NOT NULL,
    medfee_sumamt   numeric(16,2) NOT NULL,
    fund_pay_sumamt numeric(16,2) NOT NULL,
    hifp_pay        numeric(16,2) NOT NULL,
    cvlserv_pay     numeric(16,2) NOT NULL,
    hifes_pay       numeric(16,2) NOT NULL,
    hifmi_pay       numeric(16,2) NOT NULL,
    hifob_pay       numeric(16,2) NOT NULL,
    maf_pay         numeric(16,2) NOT NULL,
    oth_pay         numeric(16,2) NOT NULL,
    src_partition   integer NOT NULL,
    src_offset      bigint NOT NULL,
    CHECK (late = (period <> natural_period))
);
CREATE INDEX clearing_entries_period ON clearing_entries (period, scope);

-- Running positions: the incremental sum of clearing_entries per pair.
CREATE TABLE clearing_positions (
    period          text NOT NULL,
    scope           text NOT NULL,
    home            char(6) NOT NULL,
    treatment       char(6) NOT NULL,
    payer           char(6) NOT NULL,
    payee           char(6) NOT NULL,
    setl_cnt        bigint NOT NULL,
    rev_cnt         bigint NOT NULL,
    late_cnt        bigint NOT NULL,
    medfee_sumamt   numeric(18,2) NOT NULL,
    fund_pay_sumamt numeric(18,2) NOT NULL,
    hifp_pay        numeric(18,2) NOT NULL,
    cvlserv_pay     numeric(18,2) NOT NULL,
    hifes_pay       numeric(18,2) NOT NULL,
    hifmi_pay       numeric(18,2) NOT NULL,
    hifob_pay       numeric(18,2) NOT NULL,
    maf_pay         numeric(18,2) NOT NULL,
    oth_pay         numeric(18,2) NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period, scope, home, treatment)
);

-- Prepayment (预付金) of payer (home side) to payee (treatment side) for a year.
CREATE TABLE prepayments (
    year        integer NOT NULL,
    scope       text NOT NULL,
    payer       char(6) NOT NULL,
    payee       char(6) NOT NULL,
    amount      numeric(16,2) NOT NULL CHECK (amount >= 0),
    yellow_bp   integer NOT NULL CHECK (yellow_bp BETWEEN 1 AND 10000),
    red_bp      integer NOT NULL CHECK (red_bp BETWEEN 1 AND 10000),
    set_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (yellow_bp <= red_bp),
    PRIMARY KEY (year, scope, payer, payee)
);

-- The last warning level seen per period and pair: a warning fires once per crossing.
CREATE TABLE prepayment_levels (
    period      text NOT NULL,
    scope       text NOT NULL,
    payer       char(6) NOT NULL,
    payee       char(6) NOT NULL,
    level       text CHECK (level IN ('yellow', 'red')),
    crossings   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (period, scope, payer, payee)
);

CREATE TABLE clearing_statements (
    statement_id   text PRIMARY KEY,
    period         text NOT NULL,
    scope          text NOT NULL,
    issued_at      timestamptz NOT NULL,
    setl_cnt       bigint NOT NULL,
    late_cnt       bigint NOT NULL,
    gross_fen      bigint NOT NULL,
    net_volume_fen bigint NOT NULL,
    payload        bytea NOT NULL,          -- the published statement message
    UNIQUE (period, scope)
);

CREATE TABLE clearing_statement_pairs (
    statement_id    text NOT NULL REFERENCES clearing_statements,
    payer           char(6) NOT NULL,
    payee           char(6) NOT NULL,
    fund_pay_sumamt numeric(18,2) NOT NULL,
    deduction       numeric(18,2) NOT NULL,
    setl_cnt        bigint NOT NULL,
    late_cnt        bigint NOT NULL,
    prepayment      numeric(18,2),          -- payer's prepayment to payee for the year, if set
    top_up          numeric(18,2) NOT NULL DEFAULT 0,  -- emergency top-up (紧急调增) due
    PRIMARY KEY (statement_id, payer, payee)
);

CREATE TABLE clearing_statement_nets (
    statement_id  text NOT NULL REFERENCES clearing_statements,
    participant   char(6) NOT NULL,
    net           numeric(18,2) NOT NULL,
    PRIMARY KEY (statement_id, participant)
);

CREATE TABLE clearing_confirmations (
    statement_id  text NOT NULL REFERENCES clearing_statements,
    participant   char(6) NOT NULL,
    net           numeric(18,2) NOT NULL,
    ce_id         text NOT NULL,
    confirmed_at  timestamptz NOT NULL,
    PRIMARY KEY (statement_id, participant)
);

-- Messages for yidi.clearing.v1, written in the transaction that caused them and
-- published afterwards; a crash re-publishes the same bytes with the same ce_id.
CREATE TABLE clearing_outbox (
    seq           bigserial PRIMARY KEY,
    ce_id         text NOT NULL UNIQUE,
    topic         text NOT NULL,
    key           bytea,
    value         bytea NOT NULL,
    headers       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX clearing_outbox_pending ON clearing_outbox (seq) WHERE published_at IS NULL;
