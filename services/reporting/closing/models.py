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
