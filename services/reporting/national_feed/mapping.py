"""The assistance map (assistance_map.toml): Songtor's need categories, agencies and outcome
codes in the national system's categories of help. Loaded and checked at start-up, so that a
record is never sent with a category the national system does not know."""

from dataclasses import dataclass
from pathlib import Path

from shared.catalog import CatalogError, read_toml
from shared.catalog.outcomes import OutcomeCatalog

DEFAULT_MAP_PATH = Path(__file__).with_name("assistance_map.toml")


class AssistanceMapError(CatalogError):
    """The map cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class NationalCategory:
    code: str
    label_th: str
    label_en: str


@dataclass(frozen=True, slots=True)
class AssistanceMap:
    version: str
    categories: dict[str, NationalCategory]
    by_need_category: dict[str, str]
    by_agency: dict[str, str]
    by_outcome: dict[tuple[str, str], str]

    def for_need(self, *, agency: str, category: str) -> NationalCategory:
        """The help asked for: the agency's own field when it has one, else the need's category."""
        code = self.by_agency.get(agency) or self.by_need_category[category]
        return self.categories[code]

    def for_outcome(self, *, agency: str, outcome_code: str) -> NationalCategory | None:
        code = self.by_outcome.get((agency, outcome_code))
        return self.categories[code] if code else None


def load_assistance_map(path: Path | None = None, *, outcomes: OutcomeCatalog) -> AssistanceMap:
    path = path or DEFAULT_MAP_PATH
    raw = read_toml(path, what="assistance map")
    try:
        categories = {code: NationalCategory(code=code, label_th=fields["label_th"], label_en=fields["label_en"])
                      for code, fields in raw["national_categories"].items()}
        by_outcome = {}
        for key, code in raw.get("outcomes", {}).items():
            agency, _, outcome = key.partition(".")
            by_outcome[(agency, outcome)] = code
        built = AssistanceMap(version=str(raw["version"]), categories=categories,
                              by_need_category=dict(raw.get("categories", {})), by_agency=dict(raw.get("agencies", {})),
                              by_outcome=by_outcome)
    except (KeyError, TypeError) as exc:
        raise AssistanceMapError(f"assistance map {path}: missing or malformed {exc}") from exc
    problems = _problems(built, outcomes=outcomes)
    if problems:
        raise AssistanceMapError(f"assistance map {path}: " + "; ".join(problems))
    return built


def _problems(built: AssistanceMap, *, outcomes: OutcomeCatalog) -> list[str]:
    problems = [f"'{where}' maps to '{code}', which is not a national category"
                for where, code in [*built.by_need_category.items(), *built.by_agency.items(),
                                    *((f"{a}.{o}", c) for (a, o), c in built.by_outcome.items())]
                if code not in built.categories]
    problems += [f"outcome '{agency}.{code}' of outcomes {outcomes.version} is not mapped"
                 for agency, code in outcomes.outcomes if (agency, code) not in built.by_outcome]
    return problems
