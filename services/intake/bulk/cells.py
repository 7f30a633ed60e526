"""Reading one cell the way a clerk typed it into the value the intake form takes.

A cell arrives as text (CSV) or as whatever Excel stored (number, date, boolean). Spellings a
clerk uses (ใช่, ✓, ชาย, แรงงานนอกระบบ, 14/03/1969) become the form's values; anything else is
passed on unchanged so the form itself refuses it with its own reason. Dates are the exception:
pydantic would read a bare number as Unix time, so dates are parsed here completely, and a
Buddhist-Era year is refused, never converted: a guessed year would be a silent wrong answer.
Pure: no I/O.
"""

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Cell = str | int | float | bool | date | datetime | None

BUDDHIST_ERA_OFFSET = 543
_FIRST_BUDDHIST_ERA_YEAR = 2400  # CE 1857: no living worker was born before it
_EXCEL_EPOCH = date(1899, 12, 30)  # the 1900 date system, including its phantom 29 Feb 1900
_EXCEL_SERIAL = re.compile(r"^\d{5}(\.0+)?$")  # 10000 (1927) .. 99999: five digits are never a year


class CellError(ValueError):
    """A cell that cannot be read as the value its column holds."""

    def __init__(self, reason: str, reason_th: str) -> None:
        super().__init__(reason)
        self.reason, self.reason_th = reason, reason_th


class BuddhistEraYear(CellError):
    pass


def as_text(value: Cell) -> str:
    """The cell as text: what the error report shows as the value typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _word(value: Cell) -> str:
    return re.sub(r"\s+", "", as_text(value)).casefold()


# Consent is PDPA data: only unmistakable spellings count; anything else goes to the form,
# which refuses it, rather than being read as a yes.
_YES = frozenset({"yes", "y", "true", "t", "1", "ใช่", "ยินยอม", "✓", "✔", "☑"})
_NO = frozenset({"no", "n", "false", "f", "0", "ไม่ใช่", "ไม่", "ไม่ยินยอม", "✗", "✘"})


def parse_yes_no(value: Cell) -> bool | str | None:
    """True/False for the spellings offices use; None for an empty cell; else the text as typed."""
    if isinstance(value, bool):
        return value
    word = _word(value)
    if not word:
        return None
    if word in _YES:
        return True
    if word in _NO:
        return False
    return as_text(value)


_SEX = {"male": "male", "m": "male", "ชาย": "male", "ช": "male", "นาย": "male",
        "female": "female", "f": "female", "หญิง": "female", "ญ": "female",
        "other": "other", "อื่น": "other", "อื่นๆ": "other"}
_WORKER_TYPE = {"แรงงานนอกระบบ": "informal", "นอกระบบ": "informal",
                "แรงงานสูงอายุ": "elderly", "สูงอายุ": "elderly", "ผู้สูงอายุ": "elderly",
                "แรงงานคนพิการ": "disabled", "คนพิการ": "disabled", "ผู้พิการ": "disabled", "พิการ": "disabled",
                "แรงงานในระบบ": "formal", "ในระบบ": "formal"}
_PROGRAM = {"ศูนย์ฟื้นฟูสภาพทางสังคม": "rehab_center", "ศูนย์ฟื้นฟู": "rehab_center",
            "ศูนย์พักคอย": "ci_center", "ci": "ci_center",
            "ศจพ": "tpmap", "ศจพ.จ.": "tpmap", "ศจพ.อ.": "tpmap",
            "ศูนย์ประสานงานแรงงานนอกระบบ": "informal_labour_unit", "หน่วยบริการชุมชน": "informal_labour_unit",
            "อาสาสมัครแรงงาน": "informal_labour_unit",
            "walkin": "walk_in", "walk-in": "walk_in", "ผู้มาติดต่อ": "walk_in", "ร้องทุกข์": "walk_in"}


def _vocabulary(table: dict[str, str]):  # noqa: ANN202
    normalised = {re.sub(r"\s+", "", key).casefold(): code for key, code in table.items()}

    def parse(value: Cell) -> str | None:
        word = _word(value)
        if not word:
            return None
        # Codes in any case ("Informal") are codes; unknown Thai goes on as typed.
        return normalised.get(word, word if word.isascii() else as_text(value))

    return parse


parse_sex = _vocabulary(_SEX)
parse_worker_type = _vocabulary(_WORKER_TYPE)
parse_program = _vocabulary(_PROGRAM)


def parse_need_codes(value: Cell) -> list[str]:
    """'job_registration; skill_training' -> both codes. Separators: ; , newline, Thai space."""
    return [code.strip() for code in re.split(r"[;,\n、，；]", as_text(value)) if code.strip()]


def _buddhist_era(year: int) -> BuddhistEraYear:
    return BuddhistEraYear(
        f"{year} is a Buddhist Era year (พ.ศ.); write the year in the Christian Era "
        f"(ค.ศ. {year - BUDDHIST_ERA_OFFSET}). Sheets are not converted, so that a year is never guessed.",
        f"ปี {year} เป็นปี พ.ศ. กรุณากรอกเป็นปี ค.ศ. ({year - BUDDHIST_ERA_OFFSET}) "
        "ระบบไม่แปลงปีให้เอง เพื่อไม่ให้เดาปีผิด",
    )


def _not_a_date() -> CellError:
    return CellError(
        "Not a date; write it as YYYY-MM-DD or DD/MM/YYYY with a Christian Era year (e.g. 1969-03-14).",
        "รูปแบบวันที่ไม่ถูกต้อง ใช้ ปปปป-ดด-วว หรือ วว/ดด/ปปปป เป็นปี ค.ศ. (เช่น 14/03/1969)",
    )
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


def _checked(year: int, month: int, day: int) -> date:
    if year > _FIRST_BUDDHIST_ERA_YEAR:
        raise _buddhist_era(year)
    try:
        return date(year, month, day)
    except ValueError:
        raise _not_a_date() from None


def parse_date(value: Cell) -> date | None:
    """YYYY-MM-DD, DD/MM/YYYY (also with . or -), an Excel date cell, or an Excel serial number."""
    if isinstance(value, datetime):
        return _checked(value.year, value.month, value.day)
    if isinstance(value, date):
        return _checked(value.year, value.month, value.day)
    typed = as_text(value)
    if not typed:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) or _EXCEL_SERIAL.match(typed):
        if not _EXCEL_SERIAL.match(typed):
            raise _not_a_date()
        return _EXCEL_EPOCH + timedelta(days=int(float(typed)))
    if found := _ISO_DATE.match(typed):
        year, month, day = map(int, found.groups())
    elif found := _DMY_DATE.match(typed):
        day, month, year = map(int, found.groups())
    else:
        raise _not_a_date()
    return _checked(year, month, day)


def _not_a_time() -> CellError:
    return CellError(
        "Not a date and time; write YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM (Christian Era year).",
        "รูปแบบวันเวลาไม่ถูกต้อง ใช้ ปปปป-ดด-วว ชช:นน หรือ วว/ดด/ปปปป ชช:นน (ปี ค.ศ.)",
    )


_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})(?::(\d{2}))?$")


def parse_moment(value: Cell, *, zone: ZoneInfo) -> datetime | None:
    """A date and time; one written without a zone is in `zone` (offices write Thai time)."""
    if isinstance(value, datetime):
        moment = value
        _checked(moment.year, moment.month, moment.day)
    elif isinstance(value, date):
        moment = datetime.combine(parse_date(value), time())
    else:
        typed = as_text(value)
        if not typed:
            return None
        try:
            moment = datetime.fromisoformat(typed)
        except ValueError:
            day_part, _, clock = typed.partition(" ")
            try:
                day = parse_date(day_part)
            except BuddhistEraYear:
                raise
            except CellError:
                raise _not_a_time() from None
            clock_match = _CLOCK.match(clock.strip()) if clock.strip() else None
            if clock.strip() and clock_match is None:
                raise _not_a_time() from None
            hour, minute, second = (int(g or 0) for g in clock_match.groups()) if clock_match else (0, 0, 0)
            try:
                moment = datetime.combine(day, time(hour, minute, second))
            except ValueError:
                raise _not_a_time() from None
        else:
            _checked(moment.year, moment.month, moment.day)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
