"""What ``yidi ledger hash`` digests: one ``TableSpec`` per table, in digest order.

To add a table, list it here with its unique key and the columns whose values
are results. Leave out what differs between two correct runs of the same
traffic: arrival times (``landed_at``, ``updated_at``, ``changed_at``,
``set_at``, ``issued_at``), source positions (``src_*``), transport tables
(the outbox), and payloads that embed such a time (a statement's ``payload``
carries ``issued_at``; a settlement's payload is covered by ``payload_sha256``).
"""

from __future__ import annotations

from services.ops.core.digest import TableSpec

_AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay",
    "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "hosp_part_amt",
)  # fmt: skip
_FUNDS = (
    "medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay",
    "hifob_pay", "maf_pay", "oth_pay",
)  # fmt: skip

_SETTLEMENT_COLUMNS = (
    "kind", "orig_setl_id", "refd_setl_flag", "ce_id", "mdtrt_id", "medins_setl_id", "psn_no",
    "fixmedins_code", "insuplc_admdvs", "mdtrtarea_admvs", "insutype", "psn_type", "med_type",
    "clr_type", "clr_way", "clr_optins", "setl_time", "setl_date", *_AMOUNTS, "policy_version",
    "catalog_version", "payload_sha256",
)  # fmt: skip

LEDGER_TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "settlements",
        ("setl_id",),
        _SETTLEMENT_COLUMNS,
        "setl_date",
    ),
    TableSpec("settlement_conflicts", ("setl_id", "payload_sha256"), (), "settlement_of_period"),
    TableSpec("clearing_periods", ("period", "scope"), ("status", "statement_id"), "period"),
    TableSpec(
        "clearing_entries",
        ("setl_id",),
        (
            "period",
            "natural_period",
            "scope",
            "late",
            "kind",
            "home",
            "treatment",
            "payer",
            "payee",
            *_FUNDS,
            "orig_setl_id",
        ),
        "period",
    ),
    TableSpec(
        "clearing_positions",
        ("period", "scope", "home", "treatment"),
        ("payer", "payee", "setl_cnt", "rev_cnt", "late_cnt", *_FUNDS),
        "period",
    ),
    TableSpec(
        "clearing_statements",
        ("statement_id",),
        ("period", "scope", "setl_cnt", "late_cnt", "gross_fen", "net_volume_fen"),
        "period",
    ),
    TableSpec(
        "clearing_statement_pairs",
        ("statement_id", "payer", "payee"),
        ("fund_pay_sumamt", "deduction", "setl_cnt", "late_cnt", "prepayment", "top_up"),
        "statement",
    ),
    TableSpec("clearing_statement_nets", ("statement_id", "participant"), ("net",), "statement"),
    TableSpec(
        "clearing_confirmations",
        ("statement_id", "participant"),
        ("net", "ce_id", "confirmed_at"),
        "statement",
    ),
    TableSpec(
        "clearing_corrections",
        ("origin_period", "scope", "payer", "payee", "carried_into"),
        ("statement_id", "amount", "issued", "recomputed"),
        "statement",
    ),
    TableSpec(
        "clearing_deductions",
        ("participant", "deduction_id"),
        (
            "setl_id",
            "amount",
            "reason",
            "period",
            "origin_period",
            "scope",
            "payer",
            "payee",
            "late",
            "body_sha256",
            "kind",
        ),
        "period",
    ),
    TableSpec(
        "prepayments",
        ("year", "scope", "payer", "payee"),
        ("amount", "yellow_bp", "red_bp"),
        "year",
    ),
    TableSpec(
        "prepayment_levels",
        ("period", "scope", "payer", "payee"),
        ("level", "crossings"),
        "period",
    ),
)
