"""Erasing a person in reporting (reporting/erasure.py), on SQLite and PostgreSQL: the filed
versions of the forms keep their lines and counts without the person's name and ID (CSV, XLSX,
rows and amendment notices); the live forms mark the line; the other people stay as they were."""

import hashlib
import io
import json

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from reporting import form_sources
from reporting.closing.api import version_view
from reporting.closing.models import PublishedReport
from reporting.erasure import erase_person
from reporting.forms import Month, read_csv_rows
from reporting.forms.table import ERASED_PERSON_TH
from shared.privacy import PersonKeyRecord
from tests.integration.test_month_close import PEOPLE, bangkok, closer, seed  # noqa: F401 - the closer fixture
from tests.support.report_reading import catalogs
from tests.support.sealing import MASTER_KEYS

pytestmark = pytest.mark.integration


def texts_of(report: PublishedReport) -> str:
    workbook = load_workbook(io.BytesIO(report.xlsx))
    cells = [str(c.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row if c.value]
    return "\n".join([report.csv.decode(), report.rows_json, report.changes_json, *cells])


async def test_an_erased_person_leaves_the_filed_versions_and_the_forms_keep_their_lines(closer):  # noqa: F811
    closer, sessions = closer
    await seed(sessions, at=bangkok(2026, 9, 10, 9))
    (filed,) = await closer.close_due(now=bangkok(2026, 9, 25, 0, 5))
    erased_name, erased_id = PEOPLE["ref-a"]
    kept_name, kept_id = PEOPLE["ref-b"]
    assert erased_id in texts_of(filed) and erased_name in texts_of(filed)

    async with sessions() as session:
        removed = await erase_person(session, "ref-a", master_keys=MASTER_KEYS)
        await session.commit()
        redacted = (await session.exec(select(PublishedReport))).one()
        keys = set((await session.exec(select(PersonKeyRecord.person_ref))).all())
        live = await form_sources.build_sp12(session, org_unit="6406", month=Month(2026, 9), catalogs=catalogs(),
                                             master_keys=MASTER_KEYS, generated_at=bangkok(2026, 9, 26, 9))
    assert removed == {"published_reports": 1, "national_feed_records": 0, "person_keys": 1} and "ref-a" not in keys
    text = texts_of(redacted)
    assert erased_id not in text and erased_name not in text
    assert kept_id in text and kept_name in text
    assert redacted.people == filed.people == 2
    rows = read_csv_rows(redacted.csv)
    assert [row[1:3] for row in rows if ERASED_PERSON_TH in row] == [[ERASED_PERSON_TH, ""]]
    assert len(rows) == len(read_csv_rows(filed.csv)), "the filed version keeps its lines"
    assert len(json.loads(redacted.rows_json)) == 2
    # The listing still names the file as filed and announced, and says it was redacted since.
    before, after = version_view(filed), version_view(redacted)
    assert (before["redacted"], before["csv_sha256"]) == (False, filed.content_sha256)
    assert after["content_sha256"] == filed.content_sha256 and after["redacted"]
    assert after["csv_sha256"] == hashlib.sha256(redacted.csv).hexdigest() != filed.content_sha256
    # The live form marks the line too, and counts the person still.
    assert live.person_count == 2
    assert [line[1:3] for line in live.rows if line[1] == ERASED_PERSON_TH] == [(ERASED_PERSON_TH, "")]

    async with sessions() as session:  # asked again (a redelivered request): nothing more to do
        assert await erase_person(session, "ref-a", master_keys=MASTER_KEYS) == {
            "published_reports": 0, "national_feed_records": 0, "person_keys": 0}
