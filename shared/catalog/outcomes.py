"""Outcome codes per agency and decline reasons: data (outcomes.toml), validated when loaded.

An agency completes a referral with one of its own outcome codes and the details that code
requires; the monthly forms count the outcome under its category.
"""

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.agencies import AGENCIES, Category
from shared.catalog import CatalogError, read_toml

DEFAULT_OUTCOMES_PATH = Path(__file__).with_name("outcomes.toml")
DetailKind = Literal["text", "baht", "date"]


class OutcomeDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    agency: str
    category: Category
    label_th: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    details: dict[str, DetailKind] = Field(default_factory=dict)


class DeclineReason(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    label_th: str = Field(min_length=1)
    label_en: str = Field(min_length=1)


class OutcomeCatalogError(CatalogError):
    """The outcomes file cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class OutcomeCatalog:
    version: str
    outcomes: dict[tuple[str, str], OutcomeDefinition]
    decline_reasons: dict[str, DeclineReason]

    def for_agency(self, agency: str) -> list[OutcomeDefinition]:
        return [o for (a, _code), o in self.outcomes.items() if a == agency]

    def detail_problems(self, *, agency: str, code: str, details: dict[str, Any]) -> list[str]:
        """What is wrong with completing with `code` and `details` (empty when nothing)."""
        definition = self.outcomes.get((agency, code))
        if definition is None:
            allowed = ", ".join(o.code for o in self.for_agency(agency))
            return [f"outcome_code '{code}' is not one of {agency}'s outcomes ({allowed})"]
        problems = [f"details.{name}: required for '{code}'" for name in definition.details if name not in details]
        problems += [f"details.{name}: not a detail of '{code}'" for name in details if name not in definition.details]
        for name, kind in definition.details.items():
            if name in details and (problem := _kind_problem(kind, details[name])):
                problems.append(f"details.{name}: {problem}")
        return problems


def _kind_problem(kind: DetailKind, value: Any) -> str | None:
    if kind == "text":
        return None if isinstance(value, str) and value.strip() else "must be non-empty text"
    if kind == "baht":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        return None if ok else "must be an amount in baht, 0 or more"
    try:
        date.fromisoformat(str(value))
        return None
    except ValueError:
        return "must be a date written YYYY-MM-DD"


def load_outcomes(path: Path | None = None) -> OutcomeCatalog:
    path = path or DEFAULT_OUTCOMES_PATH
    raw = read_toml(path, what="outcomes")
    outcomes: dict[tuple[str, str], OutcomeDefinition] = {}
    for agency, codes in (raw.get("outcomes") or {}).items():
        if agency not in AGENCIES:
            raise OutcomeCatalogError(f"outcomes {path}: '{agency}' is not an agency ({', '.join(AGENCIES)})")
        for code, fields in codes.items():
            try:
                outcomes[(agency, code)] = OutcomeDefinition(code=code, agency=agency, **fields)
            except (ValidationError, TypeError) as exc:
                raise OutcomeCatalogError(f"outcomes {path}: {agency}.{code}: {exc}") from exc
    reasons: dict[str, DeclineReason] = {}
    for code, fields in (raw.get("decline_reasons") or {}).items():
        try:
            reasons[code] = DeclineReason(code=code, **fields)
        except (ValidationError, TypeError) as exc:
            raise OutcomeCatalogError(f"outcomes {path}: decline_reasons.{code}: {exc}") from exc
    missing = [agency for agency in AGENCIES if not any(a == agency for a, _ in outcomes)]
    if missing or not reasons:
        raise OutcomeCatalogError(f"outcomes {path}: every agency needs outcomes (missing: {missing}) and decline reasons")
    return OutcomeCatalog(version=str(raw.get("version", "")), outcomes=outcomes, decline_reasons=reasons)


@cache
def default_outcomes() -> OutcomeCatalog:
    return load_outcomes()
