"""``yidi contracts …``: export the generated artifacts; check a message file."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import typer
from rich.console import Console

from events.examples import everything
from events.wire.agency_signing import AgencyKeys
from events.wire.codec import MAX_MESSAGE_BYTES, Codec
from events.wire.errors import DecodeError, EnvelopeError, MalformedMessage
from events.wire.signing import KeyRegistry
from events.wire.strict_json import read_json

contracts_app = typer.Typer(
    help="Message contracts: schemas, AsyncAPI, checks.", no_args_is_help=True
)
CONTRACTS_DIR = Path(__file__).resolve().parents[3] / "contracts"
console = Console()
MAX_FILE_BYTES = 4 * MAX_MESSAGE_BYTES
"""A message file: a body of at most ``MAX_MESSAGE_BYTES`` plus its headers and key."""


@contracts_app.command("export")
def export_cmd(
    out: Path = typer.Option(
        CONTRACTS_DIR, help="Directory to write schema/, examples/, asyncapi.json"
    ),
) -> None:
    """Write JSON Schema per message, the AsyncAPI 3.0 document and the golden examples."""
    artifacts = everything()
    for rel, text in artifacts.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    console.print(f"wrote {len(artifacts)} files under {out}")


@contracts_app.command("check")
def check_cmd(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="JSON: a body, or {headers, body}"
    ),
    type_: str | None = typer.Option(None, "--type", help="ce_type when the file has no headers"),
    keys: Path | None = typer.Option(None, help="Key registry: also verify the MAC"),
    agency_keys: Path | None = typer.Option(
        None, help="Agencies' public keys: also verify a sign-off's Ed25519 signature"
    ),
) -> None:
    """Validate one message file; exit 0 when valid, else print one JSON error line and exit 2.

    Any file gives one of the two, however deep, large or odd: the file is read by the
    codec's strict JSON reading (``events.wire.strict_json``: nesting and numbers bounded,
    a repeated key refused), and an unexpected failure is reported as ``E_INTERNAL`` with
    its type, never as a traceback."""
    try:
        ce_type = _check(file, type_, keys, agency_keys)
    except DecodeError as err:
        _fail(err.as_dict())
    except typer.Exit:
        raise
    except Exception as exc:  # a file must never end in a traceback
        _fail({"code": "E_INTERNAL", "field": None, "message": type(exc).__name__})
    console.print(f"ok {ce_type}")


def _check(
    file: Path, type_: str | None, keys: Path | None, agency_keys: Path | None = None
) -> str:
    """The file's ``ce_type`` when it is a valid message, else a ``DecodeError``."""
    size = file.stat().st_size
    if size > MAX_FILE_BYTES:
        raise MalformedMessage(f"file larger than {MAX_FILE_BYTES} bytes", code="E_BOUNDS")
    codec = Codec(
        KeyRegistry.load(keys) if keys else None,
        AgencyKeys.load(agency_keys) if agency_keys else None,
    )
    return check_bytes(
        file.read_bytes(), type_, codec, authenticate=keys is not None or agency_keys is not None
    )


def check_bytes(data: bytes, type_: str | None, codec: Codec, *, authenticate: bool) -> str:
    """``yidi contracts check`` on a file's bytes (the fuzz tests drive this): the message's
    ``ce_type`` when valid, else a ``DecodeError``."""
    doc = read_json(data)
    wrapped = isinstance(doc, dict) and "body" in doc and ("headers" in doc or "type" in doc)
    body = doc["body"] if wrapped else doc
    value = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)  # the canonical form the MAC covers
    if wrapped and "headers" in doc:
        raw_headers, key = doc["headers"], doc.get("key")
        if not isinstance(raw_headers, dict):
            raise MalformedMessage("headers must be an object of strings", "headers")
        if key is not None and not isinstance(key, str):
            raise MalformedMessage("key must be a string or null", "key")
        headers = [(str(k), str(v).encode()) for k, v in raw_headers.items()]
        if type_:
            headers = [(k, type_.encode() if k == "ce_type" else v) for k, v in headers]
        decoded = codec.decode(
            key.encode() if key else None, value, headers, authenticate=authenticate
        )
        return decoded.envelope.ce_type
    ce_type = type_ or (doc.get("type") if wrapped else None) or ""
    if not isinstance(ce_type, str) or not ce_type:
        raise EnvelopeError("no headers: pass --type", "type")
    codec.validate_body(ce_type, value)
    return ce_type


def _fail(error: dict[str, str | None]) -> None:
    typer.echo(json.dumps(error, ensure_ascii=False))
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.add_typer(contracts_app, name="contracts")
