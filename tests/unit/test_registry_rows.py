"""Registry files: header matching, row checks and what a rejected row is reported as."""

import random
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import pytest

from reporting.registries.columns import column_for, match_headers
from reporting.registries.files import RegistryFileError, RejectsFile, open_registry
from reporting.registries.lookup import day_of
from reporting.registries.rows import RowLayout, check_in_full, mask_national_id, row_checker
from shared.ids import person_ref
from tests.support.registry_files import ENGLISH_HEADER, THAI_HEADER, valid_ids, write_registry

KEY = "unit-test-key"
GOOD_ID = valid_ids(1, seed=1)[0]
BAD_CHECK_DIGIT = GOOD_ID[:12] + str((int(GOOD_ID[12]) + 1) % 10)


def hash_id(national_id: str) -> str:
    return person_ref(national_id=national_id, key=KEY)


def layout(*, household_required: bool = True, header=THAI_HEADER) -> RowLayout:  # noqa: ANN001
    match = match_headers(list(header), household_required=household_required)
    assert match.usable, match.problems
    return RowLayout(match.positions, match.headers, household_required)


def check(cells: list[str], *, household_required: bool = True):  # noqa: ANN201
    return row_checker(layout=layout(household_required=household_required), hash_id=hash_id)(cells, 2)


# ------------------------------------------------------------------ headers ----

def test_thai_and_english_headers_find_the_same_columns():
    thai = match_headers(list(THAI_HEADER), household_required=True)
    english = match_headers(list(ENGLISH_HEADER), household_required=True)
    assert thai.usable and english.usable
    assert thai.positions == english.positions == {"national_id": 0, "household_id": 1, "province": 2, "district": 3}
    assert thai.headers["province"] == "รหัสจังหวัด"


def test_headers_ignore_bom_case_spacing_and_take_either_half_of_a_bilingual_header():
    assert column_for("\ufeffNational ID") == "national_id"
    assert column_for("  HOUSEHOLD-ID ") == "household_id"
    assert column_for("เลขประจำตัว ประชาชน") == "national_id"
    assert column_for("รหัสจังหวัด (province)") == "province"
    assert column_for("อำเภอ / district_code") == "district"
    assert column_for("รหัสอ\u0e4d\u0e32เภอ") == "district"  # sara am typed as nikhahit + sara aa
    assert column_for("remarks") is None


def test_a_missing_or_doubled_column_is_a_problem_that_names_it():
    missing = match_headers(["national_id", "province"], household_required=True)
    assert not missing.usable
    assert "household_id (รหัสบ้าน)" in missing.problems[0] and "district (รหัสอำเภอ)" in missing.problems[0]
    doubled = match_headers(["national_id", "pid", "household_id", "province", "district"], household_required=True)
    assert any('"national_id" and "pid"' in problem for problem in doubled.problems)


def test_the_informal_labour_registry_may_come_without_household_ids():
    assert match_headers(["national_id", "province", "district"], household_required=False).usable
    assert not match_headers(["national_id", "province", "district"], household_required=True).usable


# --------------------------------------------------------------------- rows ----

def test_a_good_row_becomes_a_member_keyed_by_the_intakes_person_ref():
    assert check([GOOD_ID, "64060012345", "64", "6406"]) == (
        2, person_ref(national_id=GOOD_ID, key=KEY), "64060012345", "64", "6406")


def test_spaces_hyphens_and_padding_are_not_mistakes():
    spaced = f" {GOOD_ID[0]}-{GOOD_ID[1:5]}-{GOOD_ID[5:10]}-{GOOD_ID[10:12]}-{GOOD_ID[12]} "
    member = check([spaced, " 6406-001 ", " 64", "6406 "])
    assert member == (2, person_ref(national_id=GOOD_ID, key=KEY), "6406-001", "64", "6406")


@pytest.mark.parametrize(("national_id", "reason"), [
    ("", "empty"),
    (BAD_CHECK_DIGIT, "check) digit"),
    (GOOD_ID[:12], "13 digits; this one has 12"),
    ("3.64010E+12", "turned into a number by Excel"),
    ("๓๖๔๐๑๐๐๔๕๖๗๘๒", "Thai digits"),
    ("36401004567AB", "only digits"),
    ("0" + GOOD_ID[1:], "first digit cannot be 0 or 9"),
])
def test_each_kind_of_bad_id_has_its_reason_and_never_shows_the_whole_id(national_id, reason):
    [rejection] = check([national_id, "64060012345", "64", "6406"])
    assert rejection.row == 2 and rejection.column == "เลขประจำตัวประชาชน"
    assert reason in rejection.reason and rejection.reason_th
    assert national_id == "" or rejection.value != national_id
    assert GOOD_ID[1:11] not in rejection.value


def test_province_and_district_must_be_dopa_codes_and_agree():
    [province] = check([GOOD_ID, "1", "สุโขทัย", "6406"])
    assert province.column == "รหัสจังหวัด" and "2-digit" in province.reason
    [district] = check([GOOD_ID, "1", "64", "2401"])
    assert district.column == "รหัสอำเภอ" and "not in province 64" in district.reason
    [short] = check([GOOD_ID, "1", "64", "640"])
    assert "4-digit" in short.reason


def test_every_problem_of_a_row_is_reported_once_the_row_counted_once():
    rejections = check([BAD_CHECK_DIGIT, "", "64", "2401"])
    assert [r.column for r in rejections] == ["เลขประจำตัวประชาชน", "รหัสอำเภอ", "รหัสบ้าน"]


def test_household_id_rules_depend_on_the_registry():
    assert check([GOOD_ID, "", "64", "6406"], household_required=False)[2] is None
    [empty] = check([GOOD_ID, "", "64", "6406"])
    assert empty.column == "รหัสบ้าน"
    [long] = check([GOOD_ID, "x" * 41, "64", "6406"])
    assert "longer than 40" in long.reason
    [control] = check([GOOD_ID, "64\t06", "64", "6406"])
    assert "control characters" in control.reason


def test_a_short_row_reads_its_missing_cells_as_empty():
    [rejection] = check([GOOD_ID, "64060012345", "64"])
    assert rejection.column == "รหัสอำเภอ"


def test_the_fast_path_and_the_full_check_always_agree():
    rng = random.Random(5)
    row_layout = layout()
    fast = row_checker(layout=row_layout, hash_id=hash_id)
    cells_choices = [GOOD_ID, BAD_CHECK_DIGIT, f" {GOOD_ID}", GOOD_ID[:12], "9" + GOOD_ID[1:], ""]
    for number in range(2000):
        cells = [rng.choice(cells_choices), rng.choice(["64060012345", "", " 1-2 ", "a" * 41, "บ้าน1"]),
                 rng.choice(["64", "6", "24", " 64"]), rng.choice(["6406", "2401", "640", "6406 "])]
        assert fast(cells, number) == check_in_full(cells, number=number, layout=row_layout, hash_id=hash_id)


def test_masking_keeps_only_the_shape():
    assert mask_national_id("3640100456782") == "3xxxxxxxxxx82"
    assert mask_national_id("3.64010E+12") == "3.xxxxxx+12"
    assert mask_national_id("123") == "xxx"


# -------------------------------------------------------------------- files ----

def test_a_file_with_bom_title_line_and_semicolons_is_read(tmp_path: Path):
    path = tmp_path / "tpmap.csv"
    path.write_text("\ufeffรายชื่อครัวเรือนเป้าหมาย TPMAP;;;\n" + ";".join(ENGLISH_HEADER) + "\n"
                    f"{GOOD_ID};64060012345;64;6406\n", encoding="utf-8")
    with open_registry(path, household_required=True) as (row_layout, rows):
        assert row_layout.headers["national_id"] == "national_id"
        assert list(rows) == [(3, [GOOD_ID, "64060012345", "64", "6406"])]


def test_a_file_that_is_not_utf8_or_has_no_header_is_refused(tmp_path: Path):
    windows = tmp_path / "tis620.csv"
    windows.write_bytes(",".join(THAI_HEADER).encode("cp874") + b"\r\n")
    with pytest.raises(RegistryFileError, match="not UTF-8"), open_registry(windows, household_required=True):
        pass
    headless = write_registry(tmp_path / "headless.csv", [], header=["name", "province", "district"])
    with pytest.raises(RegistryFileError, match="national_id"), open_registry(headless, household_required=True):
        pass


def test_rejects_file_is_made_only_when_needed_with_bom_and_no_formulas(tmp_path: Path):
    path = tmp_path / "x.rejects.csv"
    path.write_text("left from an earlier import")
    rejects = RejectsFile(path)
    rejects.close()
    assert not path.exists() and not rejects.written
    rejects = RejectsFile(path)
    rejects.add(check(["=HYPERLINK(1)", "1", "64", "6406"]))
    rejects.close()
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeffrow,column,value,reason,reason_th\r\n2,เลขประจำตัวประชาชน,'=")


# ------------------------------------------------------------- point in time ----

def test_a_moment_is_placed_on_its_thai_calendar_day():
    assert day_of(datetime(2026, 9, 30, 17, 30, tzinfo=UTC)) == date(2026, 10, 1)
    assert day_of(date(2026, 9, 30)) == date(2026, 9, 30)
    with pytest.raises(ValueError, match="aware"):
        day_of(datetime(2026, 9, 30, 12, 0))


async def test_an_effective_date_in_the_future_or_in_the_buddhist_era_is_refused(tmp_path: Path):
    from reporting.registries import import_registry
    from shared.db import make_engine

    path = write_registry(tmp_path / "r.csv", [[GOOD_ID, "1", "64", "6406"]])
    engine = make_engine(f"sqlite:///{tmp_path}/never-touched.db")
    load = partial(import_registry, engine, kind="tpmap", path=path, person_ref_key=KEY, today=date(2026, 11, 1))
    with pytest.raises(RegistryFileError, match="Buddhist Era"):
        await load(effective_date=date(2569, 10, 1))
    with pytest.raises(RegistryFileError, match="in the future"):
        await load(effective_date=date(2026, 11, 2))
    await engine.dispose()
    assert not (tmp_path / "never-touched.db").exists()


def test_the_import_hasher_gives_exactly_the_intakes_person_ref(monkeypatch):
    from reporting.registries import loader

    hasher = loader.person_ref_hasher(key=KEY)
    assert all(hasher(i) == person_ref(national_id=i, key=KEY) for i in valid_ids(500, seed=9))
    # Should person_ref ever change, the hasher follows it rather than its own shortcut.
    monkeypatch.setattr(loader, "person_ref", lambda *, national_id, key: f"v2-{national_id}")
    assert loader.person_ref_hasher(key=KEY)(GOOD_ID) == f"v2-{GOOD_ID}"
