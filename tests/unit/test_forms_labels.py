"""The Thai words the forms print for codes: every code has one, and assistance reads from the catalogs."""

from typing import get_args

from reporting.forms import labels
from reporting.forms.labels import (
    ACTION_PLAN_TH,
    CATEGORY_TH,
    WORKER_TYPE_TH,
    assistance_label,
    worker_type_label,
)
from shared.agencies import Category, WorkerType
from shared.catalog import default_catalog
from shared.catalog.outcomes import default_outcomes


def test_every_code_of_the_contracts_has_a_thai_label():
    assert set(WORKER_TYPE_TH) == set(get_args(WorkerType))
    assert set(CATEGORY_TH) == set(get_args(Category))


def test_worker_types_use_the_paper_forms_words():
    assert [worker_type_label(c) for c in ("informal", "elderly", "disabled")] == [
        "แรงงานนอกระบบ", "แรงงานสูงอายุ", "แรงงานคนพิการ"]
    assert worker_type_label(None) == "ไม่ระบุ"
    assert worker_type_label("gig") == "gig"  # shown, so a clerk sees it, never dropped


def test_snb2s_plan_is_the_one_action_plan_and_names_no_programme():
    # One name for every row (nothing per programme to look up), and it is the plan the form's
    # title reports under, not any programme's.
    assert ACTION_PLAN_TH == "แผนปฏิบัติการส่งเสริม คุ้มครอง และพัฒนาแรงงานนอกระบบ"
    assert not any(word in ACTION_PLAN_TH for word in ("ยาเสพติด", "ฟื้นฟู", "พักคอย", "CI", "TPMAP", "ร้องทุกข์"))
    assert not hasattr(labels, "PLAN_PROJECT_TH") and not hasattr(labels, "plan_project_label")


def test_assistance_reads_category_need_and_outcome():
    needs, outcomes = default_catalog(), default_outcomes()
    assert assistance_label(need_code="job_registration", needs=needs) == "ส่งเสริม: ลงทะเบียนสมัครงาน"
    assert assistance_label(
        need_code="ss_article40_enrolment", needs=needs, agency="social_security",
        outcome_code="enrolled_article40", outcomes=outcomes,
    ) == "คุ้มครอง: สมัครผู้ประกันตนมาตรา 40 (ผล: สมัครเป็นผู้ประกันตนมาตรา 40 แล้ว)"
    # The need's label already ends in its category: not said twice.
    assert assistance_label(need_code="drug_prevention_outreach", needs=needs) == "ระวังภัย: ประชาสัมพันธ์ป้องกันยาเสพติด"


def test_an_outcome_category_wins_over_the_needs_and_an_unknown_code_is_shown_as_is():
    needs, outcomes = default_catalog(), default_outcomes()
    # A skills need completed by the employment office with a placement counts as promote.
    assert assistance_label(
        need_code="skill_training", needs=needs, category="develop", agency="employment",
        outcome_code="placed", outcomes=outcomes,
    ).startswith("ส่งเสริม: ฝึกอบรมฝีมือแรงงาน / ฝึกอาชีพ (ผล: ได้งานทำ")
    assert assistance_label(need_code="house_repair", needs=needs, category="protect") == "คุ้มครอง: house_repair"
    assert assistance_label(need_code="house_repair", needs=needs) == "house_repair"


def test_every_need_and_outcome_of_the_catalogs_prints_under_a_category_word():
    needs, outcomes = default_catalog(), default_outcomes()
    words = tuple(f"{word}: " for word in CATEGORY_TH.values())
    for code in needs.needs:
        assert assistance_label(need_code=code, needs=needs).startswith(words), code
    for (agency, code) in outcomes.outcomes:
        some_need = next(n for n in needs.needs.values() if n.agency == agency)
        label = assistance_label(need_code=some_need.code, needs=needs, agency=agency, outcome_code=code,
                                 outcomes=outcomes)
        assert label.startswith(words) and "(ผล: " in label, (agency, code)
