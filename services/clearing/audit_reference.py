"""Load the reference data of queries on large stays: the holiday calendar of every year under
``<reference>/calendar`` and ``<reference>/queries.json``. Strict, at start-up: a bad file is
a typed error naming it, never a wrong deadline later."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from contracts.audit import QueryRules
from contracts.calendar import HolidayYear
from services.clearing.core.errors import ClearingError
from services.clearing.core.workdays import WorkingDays
from services.runtime.reference import DEFAULT_REFERENCE_DIR


class AuditReferenceError(ClearingError):
    code = "E_AUDIT_REFERENCE"


M = TypeVar("M", bound=BaseModel)


def _read(path: Path, model: type[M]) -> M:
    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise AuditReferenceError(f"cannot read {path}: {exc.strerror}") from exc
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise AuditReferenceError(f"invalid {path.name}: {field}: {first['msg']}") from None


def load_working_days(directory: Path | None = None) -> WorkingDays:
    root = (directory or DEFAULT_REFERENCE_DIR) / "calendar"
    years = []
    for path in sorted(root.glob("*.json")):
        year = _read(path, HolidayYear)
        if path.stem != str(year.year):
            raise AuditReferenceError(f"{path.name} holds the calendar of {year.year}")
        years.append(year)
    if not years:
        raise AuditReferenceError(f"no holiday calendar under {root}")
    return WorkingDays(years)


def load_query_rules(directory: Path | None = None) -> QueryRules:
    return _read((directory or DEFAULT_REFERENCE_DIR) / "queries.json", QueryRules)
