-- Filings (备案) and insured-person status as the registration processor accepted them.
-- Written idempotently (upsert by natural id, newest source offset wins).
CREATE TABLE filings (
    filing_id        text PRIMARY KEY,
    psn_no           text NOT NULL,
    insuplc_admdvs   char(6) NOT NULL,
    filing_type      text NOT NULL,
    mdtrtarea_admvs  char(6) NOT NULL,
    begndate         date NOT NULL,
    enddate          date,
    revoked_on       date,
    channel          text NOT NULL,
    registrant       text NOT NULL,
    certno_masked    text NOT NULL,       -- never the clear ID number
    src_partition    integer NOT NULL,
    src_offset       bigint NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX filings_person ON filings (insuplc_admdvs, psn_no);

CREATE TABLE insured_persons (
    insuplc_admdvs   char(6) NOT NULL,
    psn_no           text NOT NULL,
    insutypes        text[] NOT NULL,
    status           text NOT NULL,
    poor             boolean NOT NULL,
    src_partition    integer NOT NULL,
    src_offset       bigint NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (insuplc_admdvs, psn_no)
);
