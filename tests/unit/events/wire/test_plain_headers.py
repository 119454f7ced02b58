"""``plain_headers`` (a processor's outputs, pairs cached) writes what ``build_headers``
writes for the same four attributes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from events.wire.envelope import Envelope, build_headers, plain_headers

_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@given(
    _TEXT, st.sampled_from(["cn.yidi.ack.result.v1", "cn.yidi.settlement.settled.v1"]), _TEXT, _TEXT
)
def test_plain_headers_are_build_headers(ce_id: str, ce_type: str, source: str, when: str) -> None:
    env = Envelope(ce_id, ce_type, source, when)
    assert plain_headers(ce_id, ce_type, source, when) == build_headers(env)
    assert plain_headers(ce_id, ce_type, source, when) == build_headers(env)  # cached pairs


def test_a_cached_pair_is_not_shared_across_values() -> None:
    first = plain_headers("a", "cn.yidi.ack.result.v1", "urn:yidi:sender:yidi-adjudication", "t")
    other = plain_headers("a", "cn.yidi.ack.other.v1", "urn:yidi:sender:AG330900", "t")
    assert first[2] == ("ce_type", b"cn.yidi.ack.result.v1")
    assert other[2] == ("ce_type", b"cn.yidi.ack.other.v1")
    assert other[3] == ("ce_source", b"urn:yidi:sender:AG330900")
