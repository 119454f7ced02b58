"""Committed artifacts are current; golden examples pass or fail exactly as they claim."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import orjson
import pytest

from contracts.registry import MESSAGE_TYPES
from events.examples import everything
from tests.cli_zygote import run_yidi

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"
ARTIFACTS = everything()


def test_committed_artifacts_are_not_stale() -> None:
    stale = [rel for rel, text in ARTIFACTS.items() if (CONTRACTS / rel).read_text("utf-8") != text]
    assert not stale, f"run `yidi contracts export`: stale {stale[:5]}"


def test_asyncapi_names_every_topic_and_type() -> None:
    doc = json.loads(ARTIFACTS["asyncapi.json"])
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert {
        "yidi.registration.v1",
        "yidi.visit.v1",
        "yidi.settlement.v1",
        "yidi.ack.v1.{sender}",
        "yidi.recon.v1",
        "yidi.clearing.v1",
        "yidi.dlq.v1",
    } <= addresses
    assert len(doc["components"]["messages"]) == len(MESSAGE_TYPES) + 1  # + the DLQ record


VALID = sorted((CONTRACTS / "examples" / "valid").glob("*.json"))
INVALID = sorted((CONTRACTS / "examples" / "invalid").glob("*.json"))


def _check(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_yidi(["contracts", "check", str(path), *extra], timeout_s=120)


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_golden_valid_example_checks(path: Path) -> None:
    from contracts.samples import samples, sender_of
    from events.wire.demo_keys import demo_codec

    doc = json.loads(path.read_text("utf-8"))
    codec = demo_codec({sender_of(m) for m in samples().values()})
    headers = [(k, v.encode()) for k, v in doc["headers"].items()]
    value = orjson.dumps(doc["body"], option=orjson.OPT_SORT_KEYS)
    decoded = codec.decode(doc["key"].encode() if doc["key"] else None, value, headers)
    assert decoded.message is not None


def test_check_command_accepts_valid_and_reports_invalid() -> None:
    assert len(INVALID) >= 8
    ok = _check(CONTRACTS / "examples" / "valid" / "cn.yidi.visit.settlement_requested.v1.json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for path in INVALID:
        expect = json.loads(path.read_text("utf-8"))["expect"]
        out = _check(path)
        assert out.returncode == 2, path.name
        error = json.loads(out.stdout.strip().splitlines()[-1])
        assert error["code"] == expect["code"], (path.name, error)
        if expect["field"] is not None:
            assert error["field"] == expect["field"], (path.name, error)
