-- The ledger: every adjudicated settlement and reversal, the system of record
-- for queries, reconciliation and clearing. One row per setl_id, written once.
CREATE TABLE settlements (
    setl_id           text PRIMARY KEY,
    kind              text NOT NULL CHECK (kind IN ('settlement', 'reversal')),
    orig_setl_id      text,
    refd_setl_flag    smallint NOT NULL DEFAULT 0,
    ce_id             text NOT NULL,
    mdtrt_id          text NOT NULL,
    medins_setl_id    text NOT NULL,
    psn_no            text NOT NULL,
    fixmedins_code    text NOT NULL,
    insuplc_admdvs    char(6) NOT NULL,
    mdtrtarea_admvs   char(6) NOT NULL,
    insutype          text NOT NULL,
    psn_type          text,
    med_type          text NOT NULL,
    clr_type          text,
    clr_way           text,
    clr_optins        text,
    setl_time         timestamptz NOT NULL,
    setl_date         date NOT NULL,          -- business date in Asia/Shanghai
    medfee_sumamt     numeric(16,2) NOT NULL,
    fulamt_ownpay_amt numeric(16,2) NOT NULL,
    overlmt_selfpay   numeric(16,2) NOT NULL,
    preselfpay_amt    numeric(16,2) NOT NULL,
    inscp_scp_amt     numeric(16,2) NOT NULL,
    act_pay_dedc      numeric(16,2) NOT NULL,
    hifp_pay          numeric(16,2) NOT NULL,
    cvlserv_pay       numeric(16,2) NOT NULL,
    hifes_pay         numeric(16,2) NOT NULL,
    hifmi_pay         numeric(16,2) NOT NULL,
    hifob_pay         numeric(16,2) NOT NULL,
    maf_pay           numeric(16,2) NOT NULL,
    oth_pay           numeric(16,2) NOT NULL,
    fund_pay_sumamt   numeric(16,2) NOT NULL,
    psn_part_amt      numeric(16,2) NOT NULL,
    acct_pay          numeric(16,2) NOT NULL,
    psn_cash_pay      numeric(16,2) NOT NULL,
    hosp_part_amt     numeric(16,2) NOT NULL,
    policy_version    text NOT NULL,
    catalog_version   text NOT NULL,
    payload           bytea NOT NULL,         -- canonical message bytes, as published
    payload_sha256    bytea NOT NULL,
    src_topic         text NOT NULL,
    src_partition     integer NOT NULL,
    src_offset        bigint NOT NULL,
    landed_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (fund_pay_sumamt = hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay),
    CHECK (psn_part_amt = medfee_sumamt - fund_pay_sumamt - hosp_part_amt),
    CHECK (psn_part_amt = acct_pay + psn_cash_pay)
);
CREATE INDEX settlements_fixmedins_date ON settlements (fixmedins_code, setl_date);
CREATE INDEX settlements_pair_date ON settlements (insuplc_admdvs, mdtrtarea_admvs, setl_date);
CREATE UNIQUE INDEX settlements_one_reversal ON settlements (orig_setl_id) WHERE kind = 'reversal';

-- Settlement ids that arrived again with different bytes: a determinism bug, kept for inspection.
CREATE TABLE settlement_conflicts (
    setl_id        text NOT NULL,
    payload_sha256 bytea NOT NULL,
    payload        bytea NOT NULL,
    src_topic      text NOT NULL,
    src_partition  integer NOT NULL,
    src_offset     bigint NOT NULL,
    seen_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (setl_id, payload_sha256)
);
