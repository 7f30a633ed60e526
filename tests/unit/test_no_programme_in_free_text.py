"""PDPA s.26 in what people and the catalog write: text that reaches an agency may not say that the
person uses drugs or came from a rehabilitation or CI centre (shared/sensitive_words.py). The need
catalog refers no need that only such people have and has no rule keyed on the programme; a
clerk's note on a referred need, the office's triage reason and its reasons for cancelling or
transferring are refused when they say it, for every programme alike."""

import inspect

import pytest
from pydantic import ValidationError

from agency_adapters.api import StatusMove
from intake.domain import reference_errors
from intake.request import IntakeRequest
from routing.api import TriageRoute
from shared.catalog import DEFAULT_CATALOG_PATH, CatalogError, NeedCatalog, ProvinceOverride, default_catalog, load_catalog
from shared.sensitive_words import drug_programme_words
from tests.support.examples import contract_example
from tests.support.source_twins import PROGRAMMES, as_from

CATALOG = default_catalog()


@pytest.mark.parametrize(("text", "words"), [
    ("ผ่านการบำบัดยาเสพติดแล้ว", ["บำบัด", "ยาเสพติด"]),
    ("มาจากศูนย์ฟื้นฟูสภาพทางสังคม", ["ศูนย์ฟื้นฟู"]),
    ("อยู่ศูนย์พักคอย อ.เมือง", ["ศูนย์พักคอย"]),
    ("เคยติดยาบ้า", ["ติดยา"]),
    ("ส่งต่อจาก ศป.ปส.อ.", ["ศป.ปส"]),
    ("อยู่ระหว่างคุมประพฤติ", ["คุมประพฤติ"]),
    ("finished rehab, wants work", ["rehab"]),
    ("referred by the CI centre", ["CI centre"]),
    ("drug_test", ["drug"]),
])
def test_words_of_drug_use_and_drug_programmes_are_found(text, words):
    assert drug_programme_words(text) == words


@pytest.mark.parametrize("text", [
    "ช่างเชื่อม", "อายุครบ 55 ปี ตรวจสอบเงินชราภาพ", "ทำกายภาพบำบัดทุกสัปดาห์", "สนใจงานบำบัดน้ำเสีย",
    "ฟื้นฟูอาชีพคนพิการ", "ติดยางรถยนต์", "ผู้ติดต่อ: ลูกสาว", "ขายยาสามัญประจำบ้าน", "drugstore cashier", None, "",
])
def test_ordinary_notes_pass(text):
    assert drug_programme_words(text) == []


def test_the_catalog_refers_no_need_that_names_drugs_and_keys_no_rule_on_the_programme():
    for need in CATALOG.needs.values():
        if need.agency is not None:
            assert drug_programme_words(f"{need.code} {need.label_th} {need.label_en}") == [], need.code
    # The one drug need is served at intake: routing refers nothing for it.
    assert [n.code for n in CATALOG.needs.values() if drug_programme_words(n.code)] == ["drug_prevention_outreach"]
    assert CATALOG.route(need_code="drug_prevention_outreach", province_code="64") is None
    # A rule is chosen by need and province only, and an override cannot name a programme.
    assert list(inspect.signature(NeedCatalog.route).parameters) == ["self", "need_code", "province_code"]
    with pytest.raises(ValidationError, match="program"):
        ProvinceOverride(province="64", need="job_registration", agency="welfare", reason="a good reason",
                         program="rehab_center")


def _catalog_with(tmp_path, extra: str):  # noqa: ANN202
    path = tmp_path / "needs.toml"
    path.write_text(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return path


def test_a_catalog_that_would_refer_a_drug_need_to_an_agency_does_not_load(tmp_path):
    path = _catalog_with(tmp_path, '[needs.rehab_graduate_jobs]\nagency = "employment"\ncategory = "promote"\n'
                                   'label_th = "หางานให้ผู้ผ่านการบำบัด"\nlabel_en = "Jobs for rehab graduates"\n')
    with pytest.raises(CatalogError, match=r"(?s)rehab_graduate_jobs.*PDPA s\.26"):
        load_catalog(path)


def test_an_override_whose_reason_names_a_drug_programme_does_not_load(tmp_path):
    path = _catalog_with(tmp_path, '[[province_overrides]]\nprovince = "64"\nneed = "job_registration"\n'
                                   'agency = "skills"\nreason = "CI centre people train first"\n')
    with pytest.raises(CatalogError, match=r"(?s)province_overrides\[0\].*'CI centre'"):
        load_catalog(path)


def test_every_programme_may_ask_for_every_need_alike():
    body = contract_example()
    body["needs"] = [{"code": code} for code in CATALOG.needs]
    answers = {program: reference_errors(request=IntakeRequest.model_validate(as_from(body, program=program)),
                                         catalog=CATALOG) for program in PROGRAMMES}
    assert answers == {program: [] for program in PROGRAMMES}


@pytest.mark.parametrize("program", PROGRAMMES)
def test_a_note_telling_drug_use_is_refused_for_every_programme_and_says_why(program):
    body = as_from(contract_example(), program=program)
    body["needs"][1]["note"] = "ผ่านการบำบัดแล้ว อยากเป็นช่างเชื่อม"
    [error] = reference_errors(request=IntakeRequest.model_validate(body), catalog=CATALOG)
    assert (error["field"], error["value"]) == ("needs[1].note", "ผ่านการบำบัดแล้ว อยากเป็นช่างเชื่อม")
    assert "goes to the agency" in error["reason"] and "'บำบัด'" in error["reason"]
    assert "PDPA section 26" in error["reason"] and "มาตรา 26" in error["reason_th"]


def test_a_note_on_a_need_served_at_intake_goes_to_no_agency_and_passes():
    body = contract_example()
    body["needs"] = [{"code": "drug_prevention_outreach", "note": "แจกแผ่นพับป้องกันยาเสพติด"}]
    assert reference_errors(request=IntakeRequest.model_validate(body), catalog=CATALOG) == []


def test_the_offices_triage_reason_may_not_name_a_drug_programme():
    assert TriageRoute(agency="skills", reason="Wants a welding course first").reason
    with pytest.raises(ValidationError, match="'ศูนย์พักคอย'"):
        TriageRoute(agency="skills", reason="มาจากศูนย์พักคอย ต้องฝึกอาชีพก่อน")


def test_the_offices_reasons_for_cancelling_or_transferring_may_not_name_a_drug_programme():
    with pytest.raises(ValidationError, match="reason: .*'Rehab'"):
        StatusMove(status="transferred", to_agency="skills", reason="Rehab graduates train first")
    with pytest.raises(ValidationError, match="note: .*'ยาเสพติด'"):
        StatusMove(status="cancelled", reason="ซ้ำกับเรื่องเดิม", note="เคยบำบัดยาเสพติด")
    assert StatusMove(status="transferred", to_agency="skills", reason="The skills office runs the course")
    # An agency's own moves are its own record: it never knew the programme to tell it.
    assert StatusMove(status="declined", reason_code="person_refused", note="เข้ารับการบำบัดอยู่")
