"""The need catalog: data (needs.toml), validated when loaded.

Routing and intake both read it; a mistake in the file stops the service at start-up with a
message that names the need and the field, instead of misrouting people.
"""

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.agencies import Agency, Category

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
        return self


class CatalogError(ValueError):
    """The catalog file cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class NeedCatalog:
    version: str
    needs: dict[str, NeedDefinition]

    def get(self, code: str) -> NeedDefinition | None:
        return self.needs.get(code)

    def __contains__(self, code: str) -> bool:
        return code in self.needs


def load_catalog(path: Path = DEFAULT_CATALOG_PATH) -> NeedCatalog:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"need catalog {path}: {exc}") from exc
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
    return NeedCatalog(version=version, needs=needs)


@cache
def default_catalog() -> NeedCatalog:
    return load_catalog()
