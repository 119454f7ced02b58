"""A changelog row's person record: pydantic's own JSON writer (``handler._PERSON_JSON``) is
byte for byte what the row wrote before, ``orjson.dumps(person.model_dump(mode="json"))``:
any text in the free-text fields (control characters, quotes, non-ASCII, astral), any
balance the contract takes, one or more insurance rows, the defaults left out or given."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.codes import Insutype
from contracts.reference import InsuredPerson
from services.adjudication.handler import _PERSON_JSON, PersonRow

text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
balances = st.decimals(
    min_value=0, max_value=Decimal("99999999999999.99"), places=2
) | st.sampled_from([Decimal(0), Decimal("0.00"), Decimal("1E+2"), Decimal("12.3")])
rows = st.fixed_dictionaries(
    {
        "insutype": st.sampled_from([m.value for m in Insutype]),
        "psn_type": text,
        "insuplc_admdvs": st.sampled_from(["310000", "110105"]),
        "status": st.sampled_from(["active", "suspended"]),
    },
    optional={"balc": balances},
)
people = st.fixed_dictionaries(
    {
        "psn_no": st.from_regex(r"[0-9A-Za-z]{1,30}", fullmatch=True),
        "insuinfo": st.lists(rows, min_size=1, max_size=3),
    },
    optional={
        "psn_cert_type": st.text(st.characters(codec="utf-8"), max_size=6),
        "certno": st.none() | text,
        "poor": st.booleans(),
        "assistance_eligible": st.booleans(),
    },
)


@given(people)
def test_the_person_record_is_the_old_bytes(raw: dict[str, Any]) -> None:
    try:
        person = InsuredPerson.model_validate(raw)
    except ValidationError:
        assume(False)
        raise
    assert _PERSON_JSON(person) == orjson.dumps(person.model_dump(mode="json"))
    row = PersonRow(person=person)
    assert orjson.loads(row.to_json())["person"] == person.model_dump(mode="json")
    assert PersonRow.from_json(row.to_json()).person == person
