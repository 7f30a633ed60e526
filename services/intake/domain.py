"""Intake rules that need the need catalog, and the building of the intake.submitted event.

Pure: no I/O, no framework. The API calls these and turns their answers into HTTP.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import geothai

from intake.request import ELDERLY_AGE, IntakeRequest, age_on
from shared import ids
from shared.catalog import NeedCatalog
from shared.contracts import (
    Address, Consent, IntakeSubmittedV2, JoinedNeed, NeedItem, Person, SealedIdentity, Source,
)
from shared.privacy import PersonKey, seal_model, seal_text
from shared.privacy.sealing import note_field
from shared.sensitive_words import REASON, REASON_TH, drug_programme_words, quoted

# PDPA s.26: that a person came from a drug rehabilitation or CI centre is health data, so a
# refusal for want of consent reminds the clerk that such consent must be explicit.
SENSITIVE_PROGRAMS = frozenset({"rehab_center", "ci_center"})


@dataclass(frozen=True, slots=True)
class PlannedReferral:
    need_code: str
    referral_id: str


def reference_errors(*, request: IntakeRequest, catalog: NeedCatalog) -> list[dict[str, Any]]:
    """Mistakes the form's own validators cannot see: unknown or repeated needs, a note that would
    tell the agency of drug use, needs that would reach an agency without the person's consent."""
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, need in enumerate(request.needs):
        field = f"needs[{index}].code"
        if need.code not in catalog:
            errors.append({
                "field": field,
                "value": need.code,
                "reason": f"Unknown need code (need catalog {catalog.version}); see GET /v1/needs for the list.",
                "reason_th": "ไม่รู้จักรหัสความต้องการนี้ ดูรายการรหัสได้ที่ GET /v1/needs",
            })
        elif need.code in seen:
            errors.append({
                "field": field,
                "value": need.code,
                "reason": "This need is listed twice for the same person; list it once.",
                "reason_th": "ความต้องการนี้ซ้ำกันในคนเดียวกัน กรุณาระบุเพียงครั้งเดียว",
            })
        seen.add(need.code)
        if error := note_error(index=index, code=need.code, note=need.note, catalog=catalog):
            errors.append(error)
    if not request.consent.share_with_agencies and (error := consent_error(request=request, catalog=catalog)):
        errors.append(error)
    if error := national_consent_error(request=request):
        errors.append(error)
    return errors


def note_error(*, index: int, code: str, note: str | None, catalog: NeedCatalog) -> dict[str, Any] | None:
    """A note travels with its need to the agency (a need served at intake goes nowhere): one that
    says the person uses drugs or came from a rehabilitation or CI centre would tell the agency
    what the source programme is kept from it for (PDPA s.26). Refused for every programme alike."""
    definition = catalog.get(code)
    if definition is not None and definition.delivered_at_intake:
        return None
    if not (words := drug_programme_words(note)):
        return None
    return {
        "field": f"needs[{index}].note",
        "value": note,
        "reason": f"This note goes to the agency with the need, and {REASON.format(words=quoted(words))}. "
        "Write only what the agency needs to act on the need, without it.",
        "reason_th": f"บันทึกนี้จะส่งถึงหน่วยงานพร้อมความต้องการ และ{REASON_TH.format(words=quoted(words))} "
        "กรุณาเขียนเฉพาะสิ่งที่หน่วยงานต้องใช้ โดยไม่ใส่ข้อความนั้น",
    }


def consent_error(*, request: IntakeRequest, catalog: NeedCatalog) -> dict[str, Any] | None:
    """Without consent to share, nothing personal may reach an agency, whatever the source:
    the intake is taken only when every need is served at intake (the catalog's
    `delivered_at_intake`: routing makes no referral for those, so no agency is told). A need
    that joins an open referral goes to an agency too, so it counts as referred."""
    referred = [
        need.code for need in request.needs
        if (definition := catalog.get(need.code)) is not None and not definition.delivered_at_intake
    ]
    if not referred:
        return None
    served = ", ".join(code for code, definition in catalog.needs.items() if definition.delivered_at_intake)
    codes = ", ".join(dict.fromkeys(referred))
    reason = (
        "The person did not consent to share their details with agencies, so these needs cannot be "
        f"referred: {codes}. Ask the person again and, if they agree, record consent "
        "(share_with_agencies: true); otherwise record only what is served at intake "
        f"({served or 'none in this catalog'}) and leave the referred needs out."
    )
    reason_th = (
        f"บุคคลนี้ไม่ยินยอมให้ส่งต่อข้อมูลแก่หน่วยงาน จึงส่งต่อความต้องการเหล่านี้ไม่ได้: {codes} "
        "กรุณาสอบถามความยินยอมอีกครั้ง หากยินยอมให้บันทึกความยินยอม (share_with_agencies: true) "
        f"หากไม่ยินยอม ให้บันทึกเฉพาะบริการที่ให้ ณ จุดรับเรื่อง ({served or 'ไม่มีในบัญชีความต้องการนี้'}) "
        "โดยไม่ใส่ความต้องการที่ต้องส่งต่อ"
    )
    if request.source.program in SENSITIVE_PROGRAMS:
        reason += " Rehabilitation and CI centres need the person's explicit consent (PDPA section 26)."
        reason_th += " ข้อมูลจากศูนย์ฟื้นฟูฯ และศูนย์พักคอย ต้องได้รับความยินยอมโดยชัดแจ้ง (พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล มาตรา 26)"
    return {"field": "consent.share_with_agencies", "value": False, "reason": reason, "reason_th": reason_th}


def national_consent_error(*, request: IntakeRequest) -> dict[str, Any] | None:
    """Consent to the national drug-rehabilitation system is asked only where the person came from
    a rehabilitation or CI centre: that system follows them. An answer recorded for anyone else is
    a mistake in the form (or a person wrongly put under another programme), so it is refused
    rather than kept as a consent nobody will use."""
    given = request.consent.share_with_national_system
    program = request.source.program
    if given is None or program in SENSITIVE_PROGRAMS:
        return None
    return {
        "field": "consent.share_with_national_system",
        "value": given,
        "reason": "Consent to share with the national drug-rehabilitation system (บสต., ONCB) is asked only of "
        f"rehabilitation and CI-centre intakes (source.program rehab_center or ci_center); this intake is from "
        f"{program}. Leave share_with_national_system out, or correct source.program if the person came from "
        "such a centre.",
        "reason_th": "ความยินยอมให้ส่งข้อมูลแก่ระบบ บสต. (สำนักงาน ป.ป.ส.) ใช้เฉพาะเรื่องจากศูนย์ฟื้นฟูสภาพทางสังคม"
        f"และศูนย์พักคอย (CI) เท่านั้น เรื่องนี้มาจากโครงการ {program} กรุณาไม่กรอกช่องนี้ "
        "หรือแก้ไขโครงการต้นทางหากบุคคลนี้มาจากศูนย์ดังกล่าว",
    }


def intake_warnings(*, request: IntakeRequest, today: date) -> list[dict[str, Any]]:
    """Things that look wrong but may be right: said back to the clerk, never silently fixed."""
    person = request.person
    if person.birth_date is None:
        return []
    age = age_on(person.birth_date, today)
    if person.worker_type == "elderly" and age < ELDERLY_AGE:
        return [{
            "field": "person.worker_type",
            "value": "elderly",
            "reason": f"Recorded as an elderly worker, but the birth date makes the person {age} "
            f"(elderly is {ELDERLY_AGE}+). Kept as given; correct it if it is a mistake.",
            "reason_th": f"ระบุเป็นแรงงานสูงอายุ แต่วันเกิดทำให้อายุ {age} ปี (สูงอายุคือ {ELDERLY_AGE} ปีขึ้นไป)",
        }]
    if person.worker_type == "informal" and age >= ELDERLY_AGE:
        return [{
            "field": "person.worker_type",
            "value": "informal",
            "reason": f"The person is {age}: the forms count workers aged {ELDERLY_AGE}+ as elderly. "
            "Kept as given; correct it if it is a mistake.",
            "reason_th": f"อายุ {age} ปี แบบรายงานนับผู้มีอายุ {ELDERLY_AGE} ปีขึ้นไปเป็นแรงงานสูงอายุ",
        }]
    return []


def build_intake_event(
    *,
    request: IntakeRequest,
    intake_id: str,
    event_id: UUID,
    received_at: datetime,
    person_key: PersonKey,
    joined: dict[str, str] | None = None,
) -> IntakeSubmittedV2:
    """The event as published: identity, birth date and notes sealed with the person's key (its
    person_ref is the key's), bound to this event's id. `joined` maps need codes to the person's
    open referral each one joins instead."""
    joined = joined or {}
    subdistrict = geothai.subdistrict(request.person.address.subdistrict_code)
    assert subdistrict is not None, "the request validator admits only official codes"
    person_in = request.person
    sealed_in = str(event_id)
    identity = SealedIdentity(national_id=person_in.national_id, full_name=person_in.full_name, phone=person_in.phone)
    return IntakeSubmittedV2(
        event_id=event_id,
        occurred_at=received_at,
        correlation_id=intake_id,
        producer="intake",
        intake_id=intake_id,
        received_at=received_at,
        person_ref=person_key.person_ref,
        source=Source(**request.source.model_dump()),
        person=Person(
            identity=seal_model(identity, key=person_key, field="identity", sealed_in=sealed_in),
            birth_date=(seal_text(person_in.birth_date.isoformat(), key=person_key, field="birth_date",
                                  sealed_in=sealed_in) if person_in.birth_date else None),
            sex=person_in.sex,
            worker_type=person_in.worker_type,
            address=Address(
                subdistrict_code=subdistrict.code,
                district_code=subdistrict.district_code,
                province_code=subdistrict.province_code,
            ),
        ),
        needs=tuple(
            NeedItem(code=need.code, note=seal_text(need.note, key=person_key, field=note_field(need.code),
                                                    sealed_in=sealed_in) if need.note else None)
            for need in request.needs if need.code not in joined
        ),
        joined=tuple(JoinedNeed(code=code, referral_id=referral_id) for code, referral_id in joined.items()),
        consent=Consent(**request.consent.model_dump()),
    )


def plan_referrals(*, event: IntakeSubmittedV2, catalog: NeedCatalog) -> tuple[list[PlannedReferral], list[str]]:
    """The referrals routing will create (ids are deterministic) and the needs served at intake."""
    referrals: list[PlannedReferral] = []
    delivered: list[str] = []
    for need in event.needs:
        definition = catalog.get(need.code)
        if definition is not None and definition.delivered_at_intake:
            delivered.append(need.code)
        else:
            referrals.append(
                PlannedReferral(need.code, ids.referral_id(intake_id=event.intake_id, need_code=need.code))
            )
    return referrals, delivered
