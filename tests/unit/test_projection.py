from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agency_adapters.lifecycle import updated_event
from reporting import projection
from reporting.models import ReferralFact
from routing.domain import route_intake
from shared.catalog import default_catalog
from tests.support.examples import intake_event

BANGKOK = ZoneInfo("Asia/Bangkok")
NO_SNAPSHOT = {"informal_registry": None, "informal_registry_import_id": None, "tpmap_registry": None,
               "tpmap_registry_import_id": None}


def _assigned():
    return route_intake(intake=intake_event(), catalog=default_catalog(), routed_at=datetime.now(UTC))[0].event


def test_month_is_counted_in_bangkok_time_not_utc():
    # 31 Oct 20:00 UTC is 1 Nov 03:00 in Bangkok
    assert projection.month_of(datetime(2026, 10, 31, 20, 0, tzinfo=UTC), zone=BANGKOK) == "2026-11"


def test_assignment_before_intake_still_ends_complete():
    assigned = _assigned()
    fact = ReferralFact(referral_id=assigned.referral_id, intake_id=assigned.intake_id)
    projection.apply_assigned(fact, event=assigned)
    assert not fact.has_intake
    projection.apply_intake(fact, intake=intake_event(), need_code=assigned.need_code, zone=BANGKOK, stamp=NO_SNAPSHOT)
    assert (fact.has_intake, fact.province_code, fact.agency, fact.status) == (True, "64", "employment", "assigned")


def test_the_registry_stamp_of_the_intake_goes_with_the_referral_and_its_transfer():
    assigned = _assigned()
    fact = ReferralFact(referral_id=assigned.referral_id, intake_id=assigned.intake_id)
    stamp = {"informal_registry": True, "informal_registry_import_id": 7, "tpmap_registry": False,
             "tpmap_registry_import_id": 3}
    projection.apply_intake(fact, intake=intake_event(), need_code=assigned.need_code, zone=BANGKOK, stamp=stamp)
    continuation = ReferralFact(referral_id="continued", intake_id=assigned.intake_id)
    projection.inherit_intake(continuation, origin=fact)
    for row in (fact, continuation):
        assert (row.informal_registry, row.informal_registry_import_id, row.tpmap_registry,
                row.tpmap_registry_import_id) == (True, 7, False, 3)
    intake = intake_event()
    with_service = intake.model_copy(update={"needs": [*intake.needs, intake.needs[0].model_copy(
        update={"code": "drug_prevention_outreach"})]})
    services = projection.services_at_intake(intake=with_service, catalog=default_catalog(), zone=BANGKOK,
                                             stamp=stamp)
    assert len(services) == 1
    assert all((s.informal_registry, s.tpmap_registry_import_id) == (True, 3) for s in services)
    assert all(s.intake_received_at == intake_event().received_at for s in services)


def test_a_late_older_update_never_moves_the_status_back():
    assigned = _assigned()
    fact = ReferralFact(referral_id=assigned.referral_id, intake_id=assigned.intake_id)
    common = dict(referral_id=assigned.referral_id, intake_id=assigned.intake_id, agency="employment",
                  person_ref=assigned.person_ref,
                  actor="t", occurred_at=datetime(2026, 11, 5, tzinfo=UTC))
    projection.apply_updated(fact, event=updated_event(status="accepted", previous_status="received", version=3, **common), zone=BANGKOK)
    projection.apply_updated(fact, event=updated_event(status="received", previous_status="assigned", version=2, **common), zone=BANGKOK)
    projection.apply_assigned(fact, event=assigned)
    assert (fact.status, fact.status_version) == ("accepted", 3)


def test_completion_records_its_month_and_outcome():
    assigned = _assigned()
    fact = ReferralFact(referral_id=assigned.referral_id, intake_id=assigned.intake_id)
    event = updated_event(referral_id=assigned.referral_id, intake_id=assigned.intake_id, agency="employment",
                          person_ref=assigned.person_ref,
                          status="completed", previous_status="accepted", version=4, actor="t",
                          occurred_at=datetime(2026, 11, 30, 18, 0, tzinfo=UTC), outcome_code="registered")
    projection.apply_updated(fact, event=event, zone=BANGKOK)
    assert (fact.status, fact.outcome_code, fact.completed_month) == ("completed", "registered", "2026-12")
