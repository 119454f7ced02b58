"""The MAC's hand-held HMAC states (issue 21) compute HMAC-SHA256 exactly: the same digest
as ``hmac.new`` over ``mac_input`` for keys shorter than, equal to and longer than SHA-256's
block (a longer key is hashed first), any identity headers and any body; and ``verify``,
which keeps what it checked of each key, decides every message as ``sender_key`` and the
MAC do."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from events.wire.envelope import SENDER_PREFIX, Envelope
from events.wire.errors import AuthenticationError
from events.wire.signing import Key, KeyRegistry, _digest, _keyed, _wire_mac, mac_input

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


def _registry_and_env(
    not_after: dt.datetime | None,
) -> tuple[KeyRegistry, Key, Envelope]:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    key = Key("H31010400001-k1", "H31010400001", b"s" * 32, start, not_after)
    other = Key("H31010400002-k1", "H31010400002", b"t" * 32, start)
    env = Envelope("id-1", "cn.yidi.visit.discharged.v1", SENDER_PREFIX + key.sender, "")
    return KeyRegistry([key, other]), key, env


def _outcome(registry: KeyRegistry, env: Envelope, value: bytes, when: dt.datetime) -> object:
    try:
        return registry.verify(env, value, when)
    except AuthenticationError as err:
        return (type(err), err.code, err.field, err.message)


def _reference(registry: KeyRegistry, env: Envelope, value: bytes, when: dt.datetime) -> object:
    """``verify`` as it was before it kept what it checked: ``sender_key``, then the MAC."""
    try:
        if not env.kid or not env.mac:
            raise AuthenticationError(
                "message is not signed (yidi_kid / yidi_mac missing)", "yidi_mac"
            )
        key = registry.sender_key(env, when)
        if not hmac.compare_digest(_wire_mac(_digest(key.secret, env, value)), env.mac):
            raise AuthenticationError(
                "MAC does not match the message", "yidi_mac", code="E_AUTH_MAC"
            )
        return key
    except AuthenticationError as err:
        return (type(err), err.code, err.field, err.message)


@settings(max_examples=300, deadline=None)
@given(
    seconds=st.lists(st.integers(-10_000, 200_000), min_size=1, max_size=6),
    ends=st.sampled_from([None, 100_000]),
    kids=st.lists(
        st.sampled_from(["H31010400001-k1", "H31010400002-k1", "nope", ""]), min_size=6, max_size=6
    ),
    sources=st.lists(
        st.sampled_from(
            [SENDER_PREFIX + "H31010400001", SENDER_PREFIX + "H31010400002", "H31010400001"]
        ),
        min_size=6,
        max_size=6,
    ),
    tamper=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_verify_decides_as_sender_key_and_the_mac_before_and_after_a_key_is_kept(
    seconds: list[int],
    ends: int | None,
    kids: list[str],
    sources: list[str],
    tamper: list[bool],
) -> None:
    """A sequence of messages through one registry (so later ones meet keys ``verify`` kept):
    each outcome (the key, or the refusal's type, code, field and text) is the one
    ``sender_key`` and the MAC give: unknown ids, another sender's key, a source without
    the prefix, instants before, inside and past the window (its end excluded), bad MACs."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    registry, key, base = _registry_and_env(
        None if ends is None else start + dt.timedelta(seconds=ends)
    )
    for i, offset in enumerate(seconds):
        when = start + dt.timedelta(seconds=offset)
        env = base._replace(ce_source=sources[i], ce_time=when.isoformat(), kid=kids[i] or None)
        secret = {"H31010400001-k1": b"s" * 32, "H31010400002-k1": b"t" * 32}.get(kids[i], b"")
        mac = _wire_mac(_digest(secret, env, b"{}"))
        env = env._replace(mac=mac[::-1] if tamper[i] else mac)
        assert _outcome(registry, env, b"{}", when) == _reference(registry, env, b"{}", when)
    assert key in registry


def test_a_kept_key_still_refuses_outside_its_window_and_at_its_end() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    registry, key, base = _registry_and_env(end)
    for when, refused in (
        (start, False),
        (end, True),
        (start, False),
        (start - dt.timedelta(microseconds=1), True),
    ):
        env = base._replace(ce_time=when.isoformat(), kid=key.kid)
        env = env._replace(mac=_wire_mac(_digest(key.secret, env, b"x")))
        outcome = _outcome(registry, env, b"x", when)
        assert (outcome != key) is refused, (when, outcome)
