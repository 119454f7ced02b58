"""``yidi contracts …``: export the generated artifacts; check a message file."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import typer
from rich.console import Console

from contracts.export import everything
from events.codec import Codec
from events.errors import DecodeError
from events.signing import KeyRegistry

contracts_app = typer.Typer(
    help="Message contracts: schemas, AsyncAPI, checks.", no_args_is_help=True
)
CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"
console = Console()


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
) -> None:
    """Validate one message file; exit 0 when valid, else print one JSON error line and exit 2."""
    try:
        doc = json.loads(file.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail({"code": "E_MALFORMED", "field": None, "message": f"not JSON: {exc}"})
    codec = Codec(KeyRegistry.load(keys) if keys else None)
    wrapped = isinstance(doc, dict) and "body" in doc and ("headers" in doc or "type" in doc)
    body = doc["body"] if wrapped else doc
    value = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)  # the canonical form the MAC covers
    try:
        if wrapped and "headers" in doc:
            headers = [(k, str(v).encode()) for k, v in doc["headers"].items()]
            if type_:
                headers = [(k, type_.encode() if k == "ce_type" else v) for k, v in headers]
            key = doc.get("key")
            decoded = codec.decode(
                key.encode() if key else None, value, headers, authenticate=keys is not None
            )
            ce_type = decoded.envelope.ce_type
        else:
            ce_type = type_ or (doc.get("type") if wrapped else None) or ""
            if not ce_type:
                _fail({"code": "E_HEADER", "field": "type", "message": "no headers: pass --type"})
            codec.validate_body(ce_type, value)
    except DecodeError as err:
        _fail(err.as_dict())
    console.print(f"ok {ce_type}")


def _fail(error: dict[str, str | None]) -> None:
    typer.echo(json.dumps(error, ensure_ascii=False))
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.add_typer(contracts_app, name="contracts")
