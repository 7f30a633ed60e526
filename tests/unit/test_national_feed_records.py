"""The national feed's records (reporting/national_feed/records.py, mapping.py): every outcome an
agency can record maps to a national category, a broken map refuses to load with the reason, and
a record's delivery id depends on what it is about only."""

from pathlib import Path

import pytest

from reporting.national_feed.mapping import AssistanceMapError, DEFAULT_MAP_PATH, load_assistance_map
from reporting.national_feed.records import assistance_delivery_id, person_delivery_id
from shared.catalog.outcomes import default_outcomes

OUTCOMES = default_outcomes()


def test_every_outcome_of_every_agency_has_a_national_category():
    mapping = load_assistance_map(outcomes=OUTCOMES)
    for (agency, code) in OUTCOMES.outcomes:
        assert mapping.for_outcome(agency=agency, outcome_code=code) is not None, (agency, code)
    assert mapping.for_need(agency="skills", category="develop").code == "vocational_training"


def test_a_map_missing_an_outcome_or_naming_an_unknown_category_is_refused(tmp_path: Path):
    text = DEFAULT_MAP_PATH.read_text(encoding="utf-8")
    broken = tmp_path / "map.toml"
    broken.write_text(text.replace('"skills.certified" = "vocational_training"\n', "")
                      .replace('"welfare.resolved" = "welfare"', '"welfare.resolved" = "housing"'), encoding="utf-8")
    with pytest.raises(AssistanceMapError) as refused:
        load_assistance_map(broken, outcomes=OUTCOMES)
    assert "'welfare.resolved' maps to 'housing', which is not a national category" in str(refused.value)
    assert "outcome 'skills.certified'" in str(refused.value) and "is not mapped" in str(refused.value)


def test_delivery_ids_name_what_a_record_is_about():
    assert person_delivery_id("ref-1") == person_delivery_id("ref-1") != person_delivery_id("ref-2")
    assert assistance_delivery_id("r-1", 2) != assistance_delivery_id("r-1", 3)
    assert assistance_delivery_id("r-1", 2) == assistance_delivery_id("r-1", 2)
