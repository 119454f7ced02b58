-- The dashboard's live page (issue 20): one notification per landed ledger batch, on the
-- channel yidi_settlements, sent when the ledger's transaction commits (NOTIFY is
-- transactional: a batch rolled back announces nothing).
--
-- Why a statement-level trigger with a transition table and not a row trigger: the ledger
-- lands a batch with one INSERT ... SELECT (services/ledger/adapters/pg_sink.py), so this
-- runs once per batch, not once per settlement; the rows are already in the transition
-- table. Why not polling: a poll of settlements by landing time needs an index the ledger
-- would maintain on every row; sink_offsets says that something landed, not what.
--
-- The payload (under NOTIFY's 8000-byte limit, which would otherwise fail the ledger's
-- commit): n = rows landed; pairs = per province pair (home, treatment) the count and fund
-- paid (amounts as text: exact, never a JSON float); latest = up to ten of the rows (setl_id, kind, home and treatment divisions, fund,
-- medical fee, settlement time, landing time). No psn_no, no person key. A payload that
-- would still be too long is replaced by {"n": ..., "truncated": true}.
CREATE FUNCTION yidi_settlements_landed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    pairs json;
    latest json;
    payload text;
BEGIN
    -- one pass for the pairs (and the count), one top-10 sort for the rows
    SELECT coalesce(sum(c), 0), coalesce(json_agg(json_build_array(h, t, c, f)), '[]'::json)
      INTO n, pairs
      FROM (SELECT left(insuplc_admdvs, 2) || '0000' AS h, left(mdtrtarea_admvs, 2) || '0000' AS t,
                   count(*) AS c, sum(fund_pay_sumamt)::text AS f
            FROM landed GROUP BY 1, 2) p;
    IF n = 0 THEN
        RETURN NULL;  -- every row was a duplicate (ON CONFLICT DO NOTHING)
    END IF;
    SELECT coalesce(json_agg(json_build_array(setl_id, kind, insuplc_admdvs, mdtrtarea_admvs,
               fund_pay_sumamt::text, medfee_sumamt::text, setl_time, landed_at)), '[]'::json)
      INTO latest
      FROM (SELECT * FROM landed ORDER BY src_offset DESC LIMIT 10) l;
    payload := json_build_object('n', n, 'pairs', pairs, 'latest', latest)::text;
    IF octet_length(payload) > 7900 THEN
        payload := json_build_object('n', n, 'truncated', true)::text;
    END IF;
    PERFORM pg_notify('yidi_settlements', payload);
    RETURN NULL;
END
$$;

CREATE TRIGGER settlements_landed AFTER INSERT ON settlements
    REFERENCING NEW TABLE AS landed
    FOR EACH STATEMENT EXECUTE FUNCTION yidi_settlements_landed();
