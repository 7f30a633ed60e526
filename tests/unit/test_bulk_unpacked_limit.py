"""An XLSX is a zip: one that would unpack past the configured size (a zip bomb, or simply too
big a workbook) is refused with 413 and a message the clerk can act on, before it is parsed,
and nothing is queued."""

import io
import zipfile

import openpyxl
import pytest

from intake.bulk.sheets import SheetTooLarge, check_unpacked_size
from tests.unit.test_bulk_jobs import bulk, upload  # noqa: F401 - the fixture and the upload helper


def bomb(unpacked_bytes: int) -> bytes:
    """A zip that looks like a workbook (its first bytes) and unpacks to `unpacked_bytes` of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * unpacked_bytes)
    return buffer.getvalue()


def workbook() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["source", "org_unit"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_declared_unpacked_size_is_what_counts(tmp_path):
    small, large = tmp_path / "small.xlsx", tmp_path / "large.xlsx"
    small.write_bytes(workbook())
    large.write_bytes(bomb(3 * 2**20))
    check_unpacked_size(small, max_bytes=2**20)
    assert large.stat().st_size < 20_000  # the point of a bomb: small to send, huge to open
    with pytest.raises(SheetTooLarge, match="unpack to 3 MB"):
        check_unpacked_size(large, max_bytes=2**20)


async def test_a_zip_bomb_is_refused_at_upload_and_nothing_is_queued(bulk):  # noqa: F811
    client, _worker, _desk, settings = bulk
    settings.max_unpacked_bytes = 2**20
    refused = await upload(client, bomb(8 * 2**20), name="sheet.xlsx")
    assert refused.status_code == 413
    assert "split it" in refused.json()["detail"] and "CSV UTF-8" in refused.json()["detail"]
    assert not any(settings.upload_dir.glob("*.xlsx")), "the refused file was kept"

    accepted = await upload(client, workbook(), name="sheet.xlsx")
    assert accepted.status_code == 202, accepted.text
