"""Due days of the month close, in Asia/Bangkok calendar days."""

from datetime import date

from reporting.closing.changes import compare, mask
from reporting.closing.schedule import CloseSchedule
from reporting.forms import parse_month


def test_sp12_is_due_on_the_25th_of_its_month_and_snb2_on_the_5th_of_the_next():
    schedule = CloseSchedule()
    assert schedule.due_date(form="sp12", month=parse_month("2026-11")) == date(2026, 11, 25)
    assert schedule.due_date(form="snb2", month=parse_month("2026-11")) == date(2026, 12, 5)
    assert schedule.due_date(form="snb2", month=parse_month("2026-12")) == date(2027, 1, 5), "across the year end"
    assert not schedule.is_due(form="sp12", month=parse_month("2026-11"), today=date(2026, 11, 24))
    assert schedule.is_due(form="sp12", month=parse_month("2026-11"), today=date(2026, 11, 25))


def test_a_due_day_past_the_months_end_falls_on_its_last_day():
    schedule = CloseSchedule(sp12_due_day=31, snb2_due_day=30)
    assert schedule.due_date(form="sp12", month=parse_month("2027-02")) == date(2027, 2, 28)
    assert schedule.due_date(form="snb2", month=parse_month("2028-01")) == date(2028, 2, 29)


def test_changes_are_found_person_by_person_and_ids_are_masked():
    before = {"3640100456781": ("สมชาย", "3640100456781", "พัฒนา: ฝึกอบรม"), "1640600012347": ("มานี", "1640600012347", "x")}
    after = {"3640100456781": ("สมชาย", "3640100456781", "พัฒนา: ฝึกอบรม (ผล: ผ่าน)"), "5580730215730": ("ปิติ", "5580730215730", "y")}
    found = compare(before=before, after=after)
    assert (found.added, found.removed, found.changed) == (("5580730215730",), ("1640600012347",), ("3640100456781",))
    lines = found.summary(before=before, after=after)
    assert "3640100456781" not in str(lines) and mask("3640100456781") == "3-6401-0xxxx-xx-1"
    assert not compare(before=after, after=dict(after)).any
