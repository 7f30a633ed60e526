"""Thai national ID (เลขประจำตัวประชาชน) checks, with a reason for each kind of mistake.

python-stdnum does the checksum; the extra checks exist so the clerk hears *which* mistake it
is: Thai or full-width digits are refused, not silently converted, because a form that
accepted them once would teach staff to type them again.
"""

import re

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.th import pin

from intake.clerk_errors import clerk_error

_THAI_DIGITS = re.compile("[๐-๙]")
_FULL_WIDTH_DIGITS = re.compile("[０-９]")
_SEPARATORS = re.compile(r"[\s\-]")


def normalise_national_id(value: str) -> str:
    """Return the 13 ASCII digits, or raise a clerk error naming the mistake."""
    compact = _SEPARATORS.sub("", value)
    if _THAI_DIGITS.search(compact):
        raise clerk_error(
            "national_id_thai_digits",
            "The national ID contains Thai digits (๐-๙); type it with Arabic digits 0-9.",
            "เลขประจำตัวประชาชนมีเลขไทย (๐-๙) กรุณาพิมพ์ด้วยเลขอารบิก 0-9",
        )
    if _FULL_WIDTH_DIGITS.search(compact):
        raise clerk_error(
            "national_id_full_width_digits",
            "The national ID contains full-width digits; type it with ordinary digits 0-9.",
            "เลขประจำตัวประชาชนมีตัวเลขแบบเต็มความกว้าง กรุณาพิมพ์ด้วยตัวเลข 0-9 ปกติ",
        )
    if not compact.isascii() or not compact.isdigit():
        raise clerk_error(
            "national_id_not_digits",
            "The national ID must contain only digits.",
            "เลขประจำตัวประชาชนต้องเป็นตัวเลขเท่านั้น",
        )
    if len(compact) != 13:
        raise clerk_error(
            "national_id_length",
            f"The national ID must have 13 digits; this one has {len(compact)}.",
            f"เลขประจำตัวประชาชนต้องมี 13 หลัก แต่กรอกมา {len(compact)} หลัก",
        )
    try:
        return pin.validate(compact)
    except InvalidChecksum:
        raise clerk_error(
            "national_id_check_digit",
            "The national ID's last (check) digit does not match the first 12 digits: "
            "one digit is probably mistyped.",
            "เลขตรวจสอบหลักสุดท้ายไม่ตรงกับ 12 หลักแรก อาจพิมพ์ผิดหนึ่งหลัก",
        ) from None
    except ValidationError:
        raise clerk_error(
            "national_id_invalid",
            "This is not a valid Thai national ID (the first digit cannot be 0 or 9).",
            "เลขประจำตัวประชาชนไม่ถูกต้อง (หลักแรกต้องไม่ใช่ 0 หรือ 9)",
        ) from None
