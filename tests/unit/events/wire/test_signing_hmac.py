"""The MAC's hand-held HMAC states (issue 21) compute HMAC-SHA256 exactly: the same digest
as ``hmac.new`` over ``mac_input`` for keys shorter than, equal to and longer than SHA-256's
block (a longer key is hashed first), any identity headers and any body."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from events.wire.envelope import Envelope
from events.wire.signing import _digest, _keyed, _wire_mac, mac_input

TEXT = st.text(max_size=80)


@settings(max_examples=400, deadline=None)
@given(
    secret=st.one_of(st.binary(max_size=200), st.sampled_from([b"", b"k" * 64, b"k" * 65])),
    ce_id=TEXT,
    ce_type=TEXT,
    ce_source=TEXT,
    ce_time=TEXT,
    value=st.binary(max_size=5000),
)
def test_digest_is_hmac_sha256_over_the_mac_input(
    secret: bytes, ce_id: str, ce_type: str, ce_source: str, ce_time: str, value: bytes
) -> None:
    env = Envelope(ce_id, ce_type, ce_source, ce_time)
    expected = hmac.new(secret, mac_input(env, value), hashlib.sha256).digest()
    assert _digest(secret, env, value) == expected
    assert _digest(secret, env, value) == expected, "the remembered key states are unchanged"


def test_the_rfc_4231_vector_through_the_same_states() -> None:
    """RFC 4231 test case 2 (key "Jefe"): the states ``_keyed`` builds give its HMAC."""

    inner_state, outer_state = _keyed(b"Jefe")
    inner = inner_state.copy()
    inner.update(b"what do ya want for nothing?")
    outer = outer_state.copy()
    outer.update(inner.digest())
    assert outer.hexdigest() == ("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


@settings(max_examples=400)
@given(st.one_of(st.binary(max_size=100), st.binary(min_size=32, max_size=32)))
def test_the_wire_form_is_unpadded_urlsafe_base64(digest: bytes) -> None:
    assert _wire_mac(digest) == base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
