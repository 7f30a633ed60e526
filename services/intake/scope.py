"""Whose intakes and bulk jobs a caller may touch. Pure: the routes and the bulk worker ask these.

- Submitting (one intake, or one row of a sheet): an intake clerk, for an org unit their token
  covers (the unit itself, or any unit of a province they hold). Never through `national`,
  which reads every province but changes nothing.
- Reading an intake: a clerk covering its org unit; a provincial office covering the person's
  province (the agencies there work the referrals and the office triages them) or the org
  unit's province (the office the unit reports to); national.
- Reading a bulk job and its error report: the clerk who uploaded it; a provincial office
  covering every province the uploader could submit for (the report may hold any of those
  rows, so one province's office does not see another's); national.
- Recording a request about a person (a withdrawn consent): a clerk covering the org unit of one
  of the person's intakes; the provincial office of the person's province or the unit's, in one
  of them. Never national. Reading it back: the same, national and the auditor.

Anything else answers as if the record did not exist (404), so existence is not revealed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.auth import Principal, Role
from shared.auth.principal import org_unit_covered


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who submits, and for which org units: taken from the token when the intake or the sheet
    arrives, and kept with a bulk job so its rows are checked against the uploader's scope."""

    subject: str
    org_units: frozenset[str] = frozenset()
    provinces: frozenset[str] = frozenset()

    @classmethod
    def of(cls, principal: Principal) -> "Submitter":
        return cls(principal.subject, frozenset(principal.org_units), frozenset(principal.provinces))

    def covers(self, org_unit: str) -> bool:
        return org_unit_covered(org_unit, org_units=self.org_units, provinces=self.provinces)

    @property
    def reach(self) -> frozenset[str]:
        """The provinces whose org units this submitter may submit for."""
        return frozenset(unit[:2] for unit in self.org_units) | self.provinces

    def describe(self) -> tuple[str, str]:
        """What they may submit for, in English and Thai."""
        english, thai = [], []
        if self.org_units:
            units = ", ".join(sorted(self.org_units))
            english.append(f"org unit{'s' if len(self.org_units) > 1 else ''} {units}")
            thai.append(f"หน่วยงาน {units}")
        if self.provinces:
            provinces = ", ".join(sorted(self.provinces))
            english.append(f"the org units of province{'s' if len(self.provinces) > 1 else ''} {provinces}")
            thai.append(f"หน่วยงานในจังหวัด {provinces}")
        return " and ".join(english), " และ".join(thai)


def not_covered(submitter: Submitter, org_unit: str) -> dict[str, Any]:
    """The refusal of an intake for an org unit the submitter does not cover, as a clerk error."""
    english, thai = submitter.describe()
    may = f"may submit intakes only for {english}" if english else "covers no org unit, so it may not submit intakes"
    may_th = f"ส่งเรื่องได้เฉพาะ{thai}" if thai else "ไม่ครอบคลุมหน่วยงานใด จึงส่งเรื่องไม่ได้"
    return {
        "field": "source.org_unit",
        "value": org_unit,
        "reason": f"Your account {may}; this one is for org unit {org_unit}. Check the org unit code, "
        f"or have a clerk of {org_unit} submit it (ask your administrator if your account should cover it).",
        "reason_th": f"บัญชีของท่าน{may_th} แต่เรื่องนี้เป็นของหน่วยงาน {org_unit} กรุณาตรวจสอบรหัสหน่วยงาน "
        f"หรือให้เจ้าหน้าที่ของหน่วยงาน {org_unit} เป็นผู้ส่ง (หากบัญชีของท่านควรครอบคลุมหน่วยงานนี้ กรุณาติดต่อผู้ดูแลระบบ)",
    }


def not_covered_body(submitter: Submitter, org_unit: str) -> dict[str, Any]:
    return {
        "detail": f"The intake was not accepted: your account may not submit for org unit {org_unit}. "
        "Nothing was stored.",
        "errors": [not_covered(submitter, org_unit)],
    }


def may_read_intake(principal: Principal, *, org_unit: str, province_code: str) -> bool:
    if principal.everywhere:
        return True
    if principal.has(Role.INTAKE_CLERK) and Submitter.of(principal).covers(org_unit):
        return True
    return principal.has(Role.PROVINCIAL_OFFICE) and (
        principal.covers_province(province_code) or principal.covers_province(org_unit[:2])
    )


def may_read_job(principal: Principal, *, submitter: Submitter) -> bool:
    if submitter.subject and principal.subject == submitter.subject:
        return True
    if principal.everywhere:
        return True
    reach = submitter.reach
    return (
        principal.has(Role.PROVINCIAL_OFFICE)
        and bool(reach)
        and all(principal.covers_province(province) for province in reach)
    )


def may_act_for_person(principal: Principal, *, intakes: Iterable[tuple[str, str]]) -> bool:
    """`intakes`: the (org unit, province) of each of the person's intakes. Whoever took the
    person in (or the office over them) speaks for the person here; whom the caller did not take in
    does not exist for it. National reads every province but changes nothing."""
    submitter = Submitter.of(principal)
    clerk = principal.has(Role.INTAKE_CLERK)
    return any(
        (clerk and submitter.covers(org_unit)) or principal.office_of(province) or principal.office_of(org_unit[:2])
        for org_unit, province in intakes
    )


def may_read_person_request(principal: Principal, *, intakes: Iterable[tuple[str, str]]) -> bool:
    """The record of such a request: who may make it, national, and the auditor (who checks that
    requests were recorded and honoured, and is tied to no place)."""
    return principal.everywhere or principal.has(Role.AUDITOR) or may_act_for_person(principal, intakes=intakes)
