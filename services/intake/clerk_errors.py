"""Errors a clerk can act on: which field, what was typed, and why, in English and Thai."""

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticCustomError

# Messages for pydantic's own error types, in the words a clerk understands.
_GENERIC = {
    "missing": ("This field is required.", "ต้องกรอกช่องนี้"),
    "extra_forbidden": ("This field is not part of the intake form; remove it.", "ไม่มีช่องนี้ในแบบฟอร์ม กรุณาลบออก"),
    "string_too_long": ("Too long.", "ข้อความยาวเกินไป"),
    "string_too_short": ("Must not be empty.", "ต้องไม่เว้นว่าง"),
    "too_long": ("Too many items.", "จำนวนรายการมากเกินไป"),
    "too_short": ("At least one item is required.", "ต้องมีอย่างน้อยหนึ่งรายการ"),
    "date_from_datetime_parsing": ("Not a date; write it as YYYY-MM-DD.", "รูปแบบวันที่ไม่ถูกต้อง ใช้ ปปปป-ดด-วว (ค.ศ.)"),
    "date_parsing": ("Not a date; write it as YYYY-MM-DD.", "รูปแบบวันที่ไม่ถูกต้อง ใช้ ปปปป-ดด-วว (ค.ศ.)"),
    "json_invalid": ("The request body is not valid JSON.", "ข้อมูลที่ส่งมาไม่ใช่ JSON ที่ถูกต้อง"),
}


def clerk_error(kind: str, english: str, thai: str) -> PydanticCustomError:
    """Raise this from a validator; the Thai text travels in the error context."""
    return PydanticCustomError(kind, english, {"reason_th": thai})


def field_path(loc: tuple[Any, ...]) -> str:
    """('body', 'needs', 0, 'code') -> 'needs[0].code'."""
    path = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("function-after", "function-before", "function-wrap"):
            path += f".{part}" if path else str(part)
    return path or "body"


def describe(error: dict[str, Any]) -> dict[str, Any]:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    english, thai = _GENERIC.get(kind, (error.get("msg", "Invalid value."), None))
    if "reason_th" in ctx:
        english, thai = error["msg"], ctx["reason_th"]
    value = None if kind in ("missing", "json_invalid") else error.get("input")
    entry = {"field": field_path(tuple(error.get("loc", ()))), "value": value, "reason": english}
    if thai:
        entry["reason_th"] = thai
    return entry


def refusal_body(errors: list[dict[str, Any]], *, what: str = "The intake") -> dict[str, Any]:
    count = len(errors)
    return {
        "detail": f"{what} was not accepted: {count} "
        f"{'field needs' if count == 1 else 'fields need'} correcting. Nothing was stored.",
        "errors": errors,
    }


def refusal(errors: list[dict[str, Any]], *, what: str = "The intake") -> JSONResponse:
    return JSONResponse(status_code=422, content=refusal_body(errors, what=what))


async def validation_exception_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Every intake route answers in these words; only the intake forms are "the intake" (an erasure
    # or a withdrawn consent refused is not an intake refused).
    what = "The intake" if request.url.path.startswith("/v1/intakes") else "The request"
    return refusal([describe(error) for error in exc.errors()], what=what)
