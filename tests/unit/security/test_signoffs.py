"""Agency-signed sign-offs (events/wire/agency_signing.py) through the clearing command handler:
a confirmation signed with a key the agency does not own, altered after signing, or made
with the hub's own HMAC material is dead-lettered with its code and changes nothing; a
valid one confirms. Keys rotate by validity window."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from contracts.ack import Ack
from contracts.clearing import ClearingConfirmed, PeriodCommand
from contracts.codes import AckStatus
from contracts.dlq import DlqRecord
from events.stream.types import InputRecord, Output
from events.wire.agency_signing import AgencyKeys, SigningKey, SigningKeys, generate_signing_key
from events.wire.codec import Codec
from events.wire.demo_keys import (
    DEMO_NOT_BEFORE,
    demo_agency_keys,
    demo_codec,
    demo_key,
    demo_registry,
    demo_signing_key,
)
from events.wire.envelope import Envelope, build_headers, parse_headers
from events.wire.errors import AuthenticationError
from events.wire.signing import compute_mac
from services.clearing.adapters.memory import MemoryClearingUnitOfWork
from services.clearing.commands import CommandHandler
from tests.unit.clearing.fakes import fact, land

SENDERS = ["AG000000", "AG330000", "AG310000"]
CODEC = demo_codec(SENDERS)
TOPIC = "yidi.clearing.v1"
PERIOD = "2026-10"
STATEMENT = f"STMT-{PERIOD}-N"
WHEN = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _confirmation(net: str = "-300.00") -> ClearingConfirmed:
    return ClearingConfirmed(participant="330000", period=PERIOD, scope="national",
                             statement_id=STATEMENT, net=Decimal(net), confirmed_at=WHEN)  # fmt: skip


def _signed_by(codec: Codec, offset: int, sender: str = "AG330000") -> InputRecord:
    key, value, headers = codec.encode(
        _confirmation(), ce_id=f"confirm-{offset}", sender=sender, ce_time=WHEN
    )
    return InputRecord(TOPIC, 0, offset, key, value, headers, 0)


def _outcome(outputs: list[Output]) -> tuple[str, str | None]:
    (out,) = outputs
    if out.topic == "yidi.dlq.v1":
        return "dlq", DlqRecord.model_validate_json(out.value).reason.code
    ack = CODEC.decode(out.key, out.value, out.headers, authenticate=False).message
    assert isinstance(ack, Ack)
    return ack.status.value, None if ack.error is None else ack.error.code


@pytest.fixture
async def uow() -> MemoryClearingUnitOfWork:
    u = MemoryClearingUnitOfWork()
    await land(u, fact("S1", "300.00", period=PERIOD))
    cmd = PeriodCommand(participant="000000", period=PERIOD, scope="national", command="close",
                        issued_by="000000", issued_at=WHEN)  # fmt: skip
    key, value, headers = CODEC.encode(cmd, ce_id="cmd-close", sender="AG000000", ce_time=WHEN)
    handler = CommandHandler(CODEC, u, ledger_wait_s=0)
    assert _outcome(await handler.handle(InputRecord(TOPIC, 0, 0, key, value, headers, 0)))[0] == (
        AckStatus.ACCEPTED.value
    ), "a signed period command closes the period"
    assert u.state.periods[(PERIOD, "national")].status == "CLOSED"
    return u


async def test_a_valid_signature_confirms(uow: MemoryClearingUnitOfWork) -> None:
    record = _signed_by(CODEC, 1)
    assert dict(record.headers)["yidi_kid"] == b"demo-ed25519-AG330000"
    assert "yidi_mac" not in dict(record.headers), "a sign-off carries no MAC"
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    assert _outcome(await handler.handle(record)) == (AckStatus.ACCEPTED.value, None)
    assert set(uow.state.confirmations) == {(STATEMENT, "330000")}


async def test_a_key_the_agency_does_not_own_is_refused(uow: MemoryClearingUnitOfWork) -> None:
    """AG310000's private key, claiming AG330000: the kid names AG310000's key."""
    other = demo_signing_key("AG310000")
    impostor = Codec(signing_keys=SigningKeys([SigningKey(other.kid, "AG330000", other.seed,
                                                          DEMO_NOT_BEFORE)]))  # fmt: skip
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    assert _outcome(await handler.handle(_signed_by(impostor, 1))) == ("dlq", "E_AUTH_FOREIGN")
    # the same foreign seed under AG330000's own kid: the signature does not verify
    own_kid = demo_signing_key("AG330000").kid
    forged = Codec(signing_keys=SigningKeys([SigningKey(own_kid, "AG330000", other.seed,
                                                        DEMO_NOT_BEFORE)]))  # fmt: skip
    assert _outcome(await handler.handle(_signed_by(forged, 2))) == ("dlq", "E_AUTH_SIGNATURE")
    assert uow.state.confirmations == {}


async def test_altered_after_signing_is_refused(uow: MemoryClearingUnitOfWork) -> None:
    record = _signed_by(CODEC, 1)
    body = orjson.loads(record.value)
    body["memo"] = "changed in transit"
    value = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    altered = InputRecord(TOPIC, 0, 1, record.key, value, record.headers, 0)
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    assert _outcome(await handler.handle(altered)) == ("dlq", "E_AUTH_SIGNATURE")
    assert uow.state.confirmations == {}


async def test_the_hubs_own_hmac_material_is_refused(uow: MemoryClearingUnitOfWork) -> None:
    """The platform holds every agency's MAC secret: a MAC-signed confirmation (valid as a
    MAC) and a signature made from that secret are both refused."""
    handler = CommandHandler(CODEC, uow, ledger_wait_s=0)
    plain = Codec(demo_registry(SENDERS))
    key, value, headers = plain.encode(_confirmation(), ce_id="c-mac", sender="AG330000",
                                       ce_time=WHEN, sign=False)  # fmt: skip
    env = parse_headers(headers)
    mac_key = demo_key("AG330000")
    macd = Envelope(*env[:5], kid=mac_key.kid, mac=compute_mac(mac_key.secret, env, value))
    record = InputRecord(TOPIC, 0, 1, key, value, build_headers(macd), 0)
    assert _outcome(await handler.handle(record)) == ("dlq", "E_AUTH_SIGNATURE_REQUIRED")
    hub = Codec(signing_keys=SigningKeys([SigningKey(mac_key.kid, "AG330000", mac_key.secret,
                                                     DEMO_NOT_BEFORE)]))  # fmt: skip
    assert _outcome(await handler.handle(_signed_by(hub, 2))) == ("dlq", "E_AUTH")
    assert uow.state.confirmations == {}


def test_rotation_accepts_each_key_in_its_window() -> None:
    old = demo_signing_key("AG330000")
    new = generate_signing_key("AG330000", dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    retired = SigningKey(old.kid, old.sender, old.seed, old.not_before, new.not_before)
    public = AgencyKeys([retired.public_key(), new.public_key()])
    signer = Codec(agency_keys=public, signing_keys=SigningKeys([retired, new]))
    key, value, headers = signer.encode(_confirmation(), ce_id="c1", sender="AG330000",
                                        ce_time=WHEN)  # fmt: skip
    assert dict(headers)["yidi_kid"] == new.kid.encode(), "the signer uses its newest key"
    assert signer.decode(key, value, headers, topic=TOPIC).sender_verified
    before = dt.datetime(2026, 10, 30, tzinfo=dt.UTC)
    key, value, headers = Codec(signing_keys=SigningKeys([old])).encode(
        _confirmation(), ce_id="c2", sender="AG330000", ce_time=before
    )
    assert signer.decode(key, value, headers, topic=TOPIC).sender_verified
    key, value, headers = Codec(signing_keys=SigningKeys([old])).encode(
        _confirmation(), ce_id="c3", sender="AG330000", ce_time=WHEN
    )
    with pytest.raises(Exception) as caught:
        signer.decode(key, value, headers, topic=TOPIC)
    assert getattr(caught.value, "code", None) == "E_AUTH", "a retired key is refused after"


def test_the_platform_holds_public_keys_only(tmp_path: Path) -> None:
    path = tmp_path / "public.json"
    demo_agency_keys(SENDERS).save(path)
    text = path.read_text()
    assert "seed" not in text and "secret" not in text
    assert AgencyKeys.load(path).get("demo-ed25519-AG330000") is not None


def test_contracts_check_verifies_a_golden_sign_off(tmp_path: Path) -> None:
    """``yidi contracts check --agency-keys``: the published example verifies; altered, not."""
    from services.entry.cli.contracts import _check

    public = tmp_path / "public.json"
    demo_agency_keys(SENDERS).save(public)
    golden = Path(__file__).resolve().parents[3] / "contracts/examples/valid"
    example = golden / "cn.yidi.clearing.confirmed.v1.json"
    assert _check(example, None, None, public) == "cn.yidi.clearing.confirmed.v1"
    doc = orjson.loads(example.read_bytes())
    doc["body"]["memo"] = "altered"
    altered = tmp_path / "altered.json"
    altered.write_bytes(orjson.dumps(doc))
    with pytest.raises(AuthenticationError) as caught:
        _check(altered, None, None, public)
    assert caught.value.code == "E_AUTH_SIGNATURE"
