-- Hospital reconciliation (对账): the requests received, 3202 detail rows staged until their
-- batch is complete, and the answers, kept so that a request answered once is answered
-- identically again (a re-delivery or a re-send), whatever the ledger holds by then.

-- One row per request message (a 3201, or one part of a 3202), by the hospital's msgid.
CREATE TABLE recon_requests (
    fixmedins_code text NOT NULL,
    msgid          text NOT NULL,
    answer_key     text NOT NULL,            -- 'm:<msgid>', or 'b:<batch_id>' for a batch
    infno          char(4) NOT NULL CHECK (infno IN ('3201', '3202')),
    part_no        integer NOT NULL CHECK (part_no >= 1),
    body_sha256    bytea NOT NULL,           -- canonical body: a re-send is the same message
    ce_id          text NOT NULL,
    src_topic      text NOT NULL,            -- first delivery: a re-delivery has the same
    src_partition  integer NOT NULL,
    src_offset     bigint NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fixmedins_code, msgid),
    UNIQUE (fixmedins_code, answer_key, part_no)
);

-- A 3202 reconciliation of one part or many: its slice, fixed by the first part to arrive.
CREATE TABLE recon_batches (
    fixmedins_code  text NOT NULL,
    answer_key      text NOT NULL,
    batch_sha256    bytea NOT NULL,          -- slice, batch_id and part_cnt: every part repeats them
    insutype        text NOT NULL,
    clr_type        text NOT NULL,
    stmt_begndate   date NOT NULL,
    stmt_enddate    date NOT NULL,
    part_cnt        integer NOT NULL CHECK (part_cnt >= 1),
    parts_received  integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fixmedins_code, answer_key),
    CHECK (parts_received <= part_cnt)
);

-- The hospital's detail rows until their batch is answered (then deleted). Byte-order
-- collation: the merge compares setl_ids as Python does.
CREATE TABLE recon_stage_rows (
    fixmedins_code  text NOT NULL,
    answer_key      text NOT NULL,
    setl_id         text COLLATE "C" NOT NULL,
    part_no         integer NOT NULL,
    psn_no          text NOT NULL,
    mdtrt_id        text NOT NULL,
    msgid           text NOT NULL,
    medfee_sumamt   numeric(16,2) NOT NULL,
    fund_pay_sumamt numeric(16,2) NOT NULL,
    acct_pay        numeric(16,2) NOT NULL,
    refd_setl_flag  smallint NOT NULL CHECK (refd_setl_flag IN (0, 1)),
    PRIMARY KEY (fixmedins_code, answer_key, setl_id)
);

-- Answers: the result's head (no rows) and the clearing center's summary as canonical JSON,
-- and the message whose arrival completed the request (it alone emits the summary).
CREATE TABLE recon_answers (
    fixmedins_code text NOT NULL,
    answer_key     text NOT NULL,
    infno          char(4) NOT NULL CHECK (infno IN ('3201', '3202')),
    completed_by   text NOT NULL,            -- msgid
    stmt_rslt      char(1) NOT NULL CHECK (stmt_rslt IN ('0', '1')),
    result_head    bytea NOT NULL,
    summary        bytea NOT NULL,
    row_cnt        integer NOT NULL CHECK (row_cnt >= 0),
    answered_at    timestamptz NOT NULL,
    PRIMARY KEY (fixmedins_code, answer_key)
);

-- The unbalanced rows of a 3202 answer, in setl_id order (balanced rows are not listed).
CREATE TABLE recon_answer_rows (
    fixmedins_code text NOT NULL,
    answer_key     text NOT NULL,
    setl_id        text COLLATE "C" NOT NULL,
    verdict        text NOT NULL,
    memo           text NOT NULL,
    mdtrt_id       text,
    medins_setl_id text,
    PRIMARY KEY (fixmedins_code, answer_key, setl_id)
);
