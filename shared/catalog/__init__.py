"""The need catalog: data (needs.toml), validated when loaded.

Routing and intake both read it; a mistake in the file stops the service at start-up with a
message that names the need and the field, instead of misrouting people.
"""

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Self

import geothai
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.agencies import Agency, Category
from shared.sensitive_words import drug_programme_words, quoted

DEFAULT_CATALOG_PATH = Path(__file__).with_name("needs.toml")


class NeedDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    agency: Agency | None = None
    category: Category
    label_th: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    delivered_at_intake: bool = False

    @model_validator(mode="after")
    def _agency_xor_delivered(self) -> Self:
        if self.delivered_at_intake == (self.agency is not None):
            raise ValueError("a need has an agency, or is delivered_at_intake, never both or neither")
        # The agency receives the code and reads the labels: a need only drug users or rehabilitation
        # and CI centres' people have would tell it what the source programme is kept from it for.
        if self.agency is not None and (words := drug_programme_words(f"{self.code} {self.label_th} {self.label_en}")):
            raise ValueError(f"the need goes to {self.agency}, and its code or label names drug use or a drug "
                             f"programme ({quoted(words)}): the agency would learn it (PDPA s.26). Name it by the "
                             "help it asks for, or serve it at intake (delivered_at_intake)")
        return self


class ProvinceOverride(BaseModel):
    """In one province, one need goes to another agency than the catalog's default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    province: str = Field(pattern=r"^\d{2}$")
    need: str
    agency: Agency
    reason: str = Field(min_length=5, description="Why, in words an auditor can read back.")

    @field_validator("province")
    @classmethod
    def _official_province(cls, value: str) -> str:
        if geothai.province(value) is None:
            raise ValueError(f"'{value}' is not a DOPA province code")
        return value

    @field_validator("reason")
    @classmethod
    def _tells_no_programme(cls, value: str) -> str:
        # The reason is part of the explanation agency staff read (GET /v1/referrals/{id}/routing).
        if words := drug_programme_words(value):
            raise ValueError(f"agency staff read the reason, and it names drug use or a drug programme "
                             f"({quoted(words)}): PDPA s.26")
        return value


class CatalogError(ValueError):
    """The catalog file cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class RouteDecision:
    agency: Agency
    category: Category
    rule: str
    explanation: str


@dataclass(frozen=True, slots=True)
class NeedCatalog:
    version: str
    needs: dict[str, NeedDefinition]
    overrides: dict[tuple[str, str], ProvinceOverride] = field(default_factory=dict)

    def get(self, code: str) -> NeedDefinition | None:
        return self.needs.get(code)

    def __contains__(self, code: str) -> bool:
        return code in self.needs

    def route(self, *, need_code: str, province_code: str) -> RouteDecision | None:
        """The agency a need goes to in a province, and the rule that says so; None when no rule
        matches (unknown code, or a need served at intake)."""
        definition = self.needs.get(need_code)
        if definition is None or definition.agency is None:
            return None
        override = self.overrides.get((province_code, need_code))
        if override is not None:
            return RouteDecision(
                agency=override.agency,
                category=definition.category,
                rule=f"province:{province_code}/need:{need_code}",
                explanation=f"In province {province_code}, '{need_code}' goes to {override.agency} "
                f"instead of {definition.agency} (catalog {self.version} override): {override.reason}",
            )
        return RouteDecision(
            agency=definition.agency,
            category=definition.category,
            rule=f"need:{need_code}",
            explanation=f"'{need_code}' ({definition.label_en}) goes to {definition.agency} "
            f"by the need catalog {self.version}, category {definition.category}.",
        )


def read_toml(path: Path, *, what: str) -> dict:
    """A data file's contents, or a CatalogError naming the file and what is wrong with it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{what} {path}: {exc}") from exc


def load_catalog(path: Path | None = None) -> NeedCatalog:
    path = path or DEFAULT_CATALOG_PATH
    raw = read_toml(path, what="need catalog")
    version = raw.get("version")
    if not isinstance(version, str) or not version:
        raise CatalogError(f"need catalog {path}: 'version' must be a non-empty string")
    needs: dict[str, NeedDefinition] = {}
    for code, fields in (raw.get("needs") or {}).items():
        try:
            needs[code] = NeedDefinition(code=code, **fields)
        except (ValidationError, TypeError) as exc:
            raise CatalogError(f"need catalog {path}: need '{code}': {exc}") from exc
    if not needs:
        raise CatalogError(f"need catalog {path}: no [needs.*] entries")
    return NeedCatalog(version=version, needs=needs, overrides=_load_overrides(raw, needs, path))


def _load_overrides(
    raw: dict, needs: dict[str, NeedDefinition], path: Path
) -> dict[tuple[str, str], ProvinceOverride]:
    overrides: dict[tuple[str, str], ProvinceOverride] = {}
    for index, fields in enumerate(raw.get("province_overrides") or []):
        where = f"need catalog {path}: province_overrides[{index}]"
        try:
            override = ProvinceOverride(**fields)
        except (ValidationError, TypeError) as exc:
            raise CatalogError(f"{where}: {exc}") from exc
        definition = needs.get(override.need)
        if definition is None:
            raise CatalogError(f"{where}: need '{override.need}' is not in the catalog")
        if definition.agency is None:
            raise CatalogError(f"{where}: need '{override.need}' is served at intake, not referred")
        key = (override.province, override.need)
        if key in overrides:
            raise CatalogError(f"{where}: a second override for province {key[0]}, need '{key[1]}'")
        overrides[key] = override
    return overrides


@cache
def default_catalog() -> NeedCatalog:
    return load_catalog()
