"""Who is calling, as the token says: a subject, roles, and the scope the roles apply to.

Scope works like DHIS2's org-unit tree: a province covers its org units (a DOPA org unit code
starts with its province's two digits), an org unit covers itself, and the roles `national`,
`ops` and `auditor` are not tied to a place."""

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    INTAKE_CLERK = "intake_clerk"
    AGENCY_OFFICER = "agency_officer"
    AGENCY_HEAD = "agency_head"
    PROVINCIAL_OFFICE = "provincial_office"
    OPS = "ops"
    NATIONAL = "national"
    AUDITOR = "auditor"


def org_unit_covered(org_unit: str, *, org_units: frozenset[str], provinces: frozenset[str]) -> bool:
    """An org unit is covered by itself, or by its province (a DOPA unit code starts with it)."""
    return org_unit in org_units or org_unit[:2] in provinces


@dataclass(frozen=True)
class Principal:
    subject: str
    username: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    org_units: frozenset[str] = field(default_factory=frozenset)
    provinces: frozenset[str] = field(default_factory=frozenset)
    agency: str | None = None

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def everywhere(self) -> bool:
        """Reads every province (read-only by the policy)."""
        return Role.NATIONAL in self.roles

    def covers_province(self, province: str | None) -> bool:
        return self.everywhere or (province is not None and province in self.provinces)

    def covers_org_unit(self, org_unit: str | None) -> bool:
        if org_unit is None:
            return False
        return self.everywhere or org_unit_covered(org_unit, org_units=self.org_units, provinces=self.provinces)

    def office_of(self, province: str | None) -> bool:
        """The provincial office that may change things in this province (cancel, transfer,
        triage). Not covers_province: national reads every province but changes nothing."""
        return Role.PROVINCIAL_OFFICE in self.roles and province is not None and province in self.provinces

    def works_for(self, agency: str | None, province: str | None) -> bool:
        """An agency officer's own referrals: their agency, in one of their provinces."""
        return (
            self.has(Role.AGENCY_OFFICER, Role.AGENCY_HEAD)
            and agency is not None and agency == self.agency
            and province is not None and province in self.provinces
        )

    def describe_scope(self) -> str:
        """For the audit log and refusals: the scope in words, never personal data."""
        parts = []
        if self.everywhere:
            parts.append("all provinces")
        if self.provinces:
            parts.append("provinces " + ",".join(sorted(self.provinces)))
        if self.org_units:
            parts.append("org units " + ",".join(sorted(self.org_units)))
        if self.agency:
            parts.append(f"agency {self.agency}")
        return "; ".join(parts) or "no place"


ANONYMOUS = Principal(subject="", username="anonymous")
