"""The personal account (个人账户): paid after every fund, before cash.

Why a rule and not always: home regions differ on which categories the account
may pay and whether it covers self-paid parts (``scope="all"``) or only the
in-scope burden (``scope="in_scope"``). The balance is the 1101 ``balc`` less
what yidi's settlements have drawn since, so it never goes below zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.policy import Category, PersonalAccount


@dataclass(frozen=True, slots=True)
class CompiledAccount:
    """Who may use the account, for what."""

    insutypes: frozenset[str]
    categories: frozenset[Category]
    all_burden: bool


def compile_account(section: PersonalAccount) -> CompiledAccount:
    """Convert once at load."""
    return CompiledAccount(
        frozenset(section.insutypes), frozenset(section.categories), section.scope == "all"
    )


def account_pay(
    rule: CompiledAccount | None,
    insutype: str,
    category: Category,
    balance_fen: int,
    psn_part_fen: int,
    in_scope_part_fen: int,
) -> int:
    """What the account pays; zero when the rule does not apply or the balance is empty."""
    if rule is None or insutype not in rule.insutypes or category not in rule.categories:
        return 0
    base = psn_part_fen if rule.all_burden else in_scope_part_fen
    return max(0, min(balance_fen, base))
