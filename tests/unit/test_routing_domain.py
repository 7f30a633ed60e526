from datetime import UTC, datetime

from routing.domain import route_intake
from shared import ids
from shared.catalog import default_catalog
from tests.support.examples import contract_example, intake_event

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def test_routes_each_need_of_the_contract_example_to_its_agency():
    outgoing = route_intake(intake=intake_event(), catalog=default_catalog(), routed_at=NOW)
    agencies = sorted(item.event.agency for item in outgoing)
    assert agencies == ["employment", "skills", "social_security", "social_security"]
    assert all(item.decision is not None for item in outgoing)
    assert {item.event.routing_rule for item in outgoing} == {f"need:{item.need_code}" for item in outgoing}


def test_referral_ids_and_event_ids_are_the_same_on_replay():
    first = route_intake(intake=intake_event(), catalog=default_catalog(), routed_at=NOW)
    again = route_intake(intake=intake_event(), catalog=default_catalog(), routed_at=datetime.now(UTC))
    assert [(o.referral_id, o.event.event_id) for o in first] == [(o.referral_id, o.event.event_id) for o in again]
    intake = intake_event()
    assert first[0].referral_id == ids.referral_id(intake_id=intake.intake_id, need_code="job_registration")


def test_agencies_never_see_the_source_programme():
    outgoing = route_intake(intake=intake_event(), catalog=default_catalog(), routed_at=NOW)
    for item in outgoing:
        payload = item.event.model_dump_json()
        assert "rehab_center" not in payload
        assert "program" not in payload


def test_an_unknown_need_code_goes_to_unroutable_with_the_reason():
    intake = intake_event().model_copy(
        update={"needs": (*intake_event().needs, intake_event().needs[0].model_copy(update={"code": "moon_landing"}))}
    )
    outgoing = route_intake(intake=intake, catalog=default_catalog(), routed_at=NOW)
    unroutable = [o for o in outgoing if o.decision is None]
    assert len(unroutable) == 1
    assert "moon_landing" in unroutable[0].event.reason


def test_drug_prevention_outreach_is_delivered_at_intake_not_referred():
    body = contract_example()
    body["needs"] = [{"code": "drug_prevention_outreach"}, {"code": "job_registration"}]
    outgoing = route_intake(intake=intake_event(body), catalog=default_catalog(), routed_at=NOW)
    assert [o.event.need_code for o in outgoing] == ["job_registration"]


def test_a_province_override_sends_the_need_elsewhere_and_says_why(tmp_path):
    from shared.catalog import DEFAULT_CATALOG_PATH, load_catalog

    path = tmp_path / "needs.toml"
    path.write_text(
        DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
        + '\n[[province_overrides]]\nprovince = "64"\nneed = "ss_article40_enrolment"\n'
        'agency = "welfare"\nreason = "Sukhothai pilot: welfare office enrols Article 40"\n',
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    routed = {o.need_code: o for o in route_intake(intake=intake_event(), catalog=catalog, routed_at=NOW)}
    overridden = routed["ss_article40_enrolment"]
    assert overridden.event.agency == "welfare"
    assert overridden.event.routing_rule == "province:64/need:ss_article40_enrolment"
    assert "Sukhothai pilot" in overridden.decision.explanation
    assert routed["ss_article33_benefit_check"].event.agency == "social_security"
    # elsewhere the default stands
    assert catalog.route(need_code="ss_article40_enrolment", province_code="40").agency == "social_security"
