"""Every published version of every form, with its files: what was filed stays as it was filed."""

from datetime import date, datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel


class PublishedReport(SQLModel, table=True):
    __tablename__ = "published_reports"

    form: str = Field(primary_key=True, max_length=8)
    scope: str = Field(primary_key=True, max_length=10)
    month: str = Field(primary_key=True, max_length=7)
    version: int = Field(primary_key=True)
    kind: str = Field(max_length=12)
    due_date: date
    closed_at: datetime
    on_time: bool
    # Who published this version: the token subject of whoever ran the close, or "system" for
    # the background loop. The server default lets rebuilds copy versions filed before it.
    closed_by: str = Field(default="system", max_length=255, sa_column_kwargs={"server_default": "system"})
    people: int
    content_sha256: str = Field(max_length=64)
    # The frozen person rows (JSON) that the next version is compared with, and the files as filed.
    rows_json: str
    changes_json: str = "[]"
    csv: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    xlsx: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ScopeChanges(SQLModel, table=True):
    """How many times the facts of an org unit's month, among people of a province, were changed:
    bumped by the transaction that changes them (scope_changes.py), so it moves in commit order.
    The month close tells a closed form's facts changed by this count, never by timestamps: a
    fact stamped before a version was built can commit after its facts were read (several
    consumers write at once), and a later time would not show it. SP-12 sums an org unit's rows,
    SNB-2 a province's."""

    __tablename__ = "report_scope_changes"

    province_code: str = Field(primary_key=True, max_length=2)
    org_unit: str = Field(primary_key=True, max_length=20)
    intake_month: str = Field(primary_key=True, max_length=7)
    changes: int = 0


class CloseMark(SQLModel, table=True):
    """The count of changes (ScopeChanges) a form's newest version was built from, or found equal
    to: read before the facts it was built from or compared with, so every change committed
    after that read counts beyond it, and the close compares the form again."""

    __tablename__ = "report_close_marks"

    form: str = Field(primary_key=True, max_length=8)
    scope: str = Field(primary_key=True, max_length=10)
    month: str = Field(primary_key=True, max_length=7)
    version: int  # the version it speaks for: a mark of an older version is not taken for the newest
    changes: int


CLOSING_TABLES = [PublishedReport.__table__, ScopeChanges.__table__, CloseMark.__table__]
