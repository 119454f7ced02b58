"""``_check_topic`` remembers what it let through: the same answers, before and after."""

from __future__ import annotations

import pytest

from events import catalog
from events.wire import codec
from events.wire.envelope import Envelope
from events.wire.errors import WrongTopic

STATUS = "cn.yidi.person.status.v1"
AGENCY = "urn:yidi:sender:AG330900"
HOSPITAL = "urn:yidi:sender:H31010400001"


def env(ce_type: str, source: str) -> Envelope:
    return Envelope("id", ce_type, source, "2026-10-12T07:00:00+08:00")


def test_a_remembered_pass_lets_nothing_else_through() -> None:
    for _ in range(2):  # the second time from the memo
        codec._check_topic(catalog.REGISTRATION, env(STATUS, AGENCY))
        with pytest.raises(WrongTopic):  # same topic and type, another kind of sender
            codec._check_topic(catalog.REGISTRATION, env(STATUS, HOSPITAL))
        with pytest.raises(WrongTopic):  # same type and sender, another topic
            codec._check_topic(catalog.VISIT, env(STATUS, AGENCY))
    assert (catalog.REGISTRATION, STATUS, AGENCY) in codec._TOPIC_PASSED
    assert (catalog.REGISTRATION, STATUS, HOSPITAL) not in codec._TOPIC_PASSED


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "_TOPIC_PASSED_MAX", 1)
    codec._TOPIC_PASSED.clear()
    codec._check_topic(catalog.REGISTRATION, env(STATUS, AGENCY))
    codec._check_topic(catalog.REGISTRATION, env(STATUS, "urn:yidi:sender:AG320500"))
    assert sorted(codec._TOPIC_PASSED) == [
        (catalog.REGISTRATION, STATUS, "urn:yidi:sender:AG320500")
    ]
