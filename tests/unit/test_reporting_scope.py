"""Which reports a caller covers (reporting.scope), without a database: provinces, org units
through their province, national everywhere, and the completeness table's rule."""

import pytest
from fastapi import HTTPException

from reporting.scope import completeness_filter, covers_form_scope, require_org_unit, require_province
from shared.auth import Principal, Role

OFFICE_64 = Principal(subject="s-64", username="province-64", roles=frozenset({Role.PROVINCIAL_OFFICE}),
                      provinces=frozenset({"64"}))
NATIONAL = Principal(subject="s-n", username="national", roles=frozenset({Role.NATIONAL}))
OPS = Principal(subject="s-o", username="ops", roles=frozenset({Role.OPS}))


def refusal(check, *args: str) -> tuple[int, str]:  # noqa: ANN001
    with pytest.raises(HTTPException) as refused:
        check(*args)
    return refused.value.status_code, refused.value.detail


def test_an_office_reads_its_provinces_and_their_org_units_and_nothing_else():
    require_province(OFFICE_64, "64")
    require_org_unit(OFFICE_64, "6406")
    assert refusal(require_province, OFFICE_64, "24") == (404, "No report for province 24")
    assert refusal(require_org_unit, OFFICE_64, "2401") == (404, "No report for org unit 2401")
    assert refusal(require_province, OPS, "64") == (404, "No report for province 64")
    require_province(NATIONAL, "24")
    require_org_unit(NATIONAL, "2401")


@pytest.mark.parametrize(("form", "scope", "covered"), [
    ("sp12", "6406", True), ("sp12", "6401", True), ("sp12", "2401", False), ("sp12", "640", True),
    ("snb2", "64", True), ("snb2", "24", False), ("snb2", "6406", False),
])
def test_a_filed_forms_scope_is_an_org_unit_for_sp12_and_a_province_for_snb2(form, scope, covered):
    assert covers_form_scope(OFFICE_64, form=form, scope=scope) is covered
    assert covers_form_scope(NATIONAL, form=form, scope=scope) is True


def test_completeness_shows_an_office_its_own_and_national_and_ops_everything():
    rows = [("sp12", "6406"), ("snb2", "64"), ("sp12", "2401"), ("snb2", "24")]
    assert [r for r in rows if completeness_filter(OFFICE_64, province=None)(*r)] == rows[:2]
    assert [r for r in rows if completeness_filter(OFFICE_64, province="64")(*r)] == rows[:2]
    assert refusal(lambda: completeness_filter(OFFICE_64, province="24")) == (404, "No report for province 24")
    for everywhere in (NATIONAL, OPS):
        assert [r for r in rows if completeness_filter(everywhere, province=None)(*r)] == rows
        assert [r for r in rows if completeness_filter(everywhere, province="24")(*r)] == rows[2:]
