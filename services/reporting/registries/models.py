"""Registry tables: one row per imported file, one per person listed in it.

Each import is a full snapshot of its registry as of its effective date, and earlier imports
are kept, so "was this person on the registry on that day" can still be answered later.
"""

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class RegistryKind(StrEnum):
    TPMAP = "tpmap"  # TPMAP target-household list
    INFORMAL_LABOUR = "informal_labour"  # the informal-labour registry (the 2020 database)


def utc_now() -> datetime:
    return datetime.now(UTC)


class RegistryImport(SQLModel, table=True):
    __tablename__ = "registry_imports"
    __table_args__ = (Index("ix_registry_imports_kind_effective", "kind", "effective_date"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    effective_date: date = Field(description="The registry's own as-of date, given by the operator.")
    imported_at: datetime = Field(default_factory=utc_now)
    # The name the file had, for the operator; never logged (it may name an office or a person).
    file_name: str = Field(max_length=255)
    rows_accepted: int = 0
    rows_rejected: int = 0


class RegistryMember(SQLModel, table=True):
    """Keyed by the row of the file it came from: a person listed twice stays listed (the
    answer "on the registry" is the same), and no per-import set of everyone seen is kept in
    memory while loading."""

    __tablename__ = "registry_members"
    __table_args__ = (Index("ix_registry_members_person_import", "person_ref", "import_id"),)

    # No foreign key to registry_imports: PostgreSQL would check it row by row during COPY, and
    # the loader writes the import and its members in one transaction anyway.
    import_id: int = Field(primary_key=True)
    row_number: int = Field(primary_key=True)
    person_ref: str = Field(max_length=64)
    household_id: str | None = Field(default=None, max_length=40)
    province_code: str = Field(max_length=2)
    district_code: str = Field(max_length=4)


REGISTRY_TABLES = [RegistryImport.__table__, RegistryMember.__table__]
MEMBER_COLUMNS = ("import_id", "row_number", "person_ref", "household_id", "province_code", "district_code")
