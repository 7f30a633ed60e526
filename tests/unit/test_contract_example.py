import json

from tests.support.examples import CONTRACT_COPY, CONTRACT_DIR, contract_example
from shared.catalog import default_catalog


def test_repo_copy_of_the_contract_example_matches_the_team_contract():
    team_copy = CONTRACT_DIR / "intake-example.json"
    assert team_copy.exists(), f"team contract folder not found at {CONTRACT_DIR}"
    assert json.loads(team_copy.read_text(encoding="utf-8")) == json.loads(CONTRACT_COPY.read_text(encoding="utf-8"))


def test_every_contract_need_code_exists_with_its_agency_and_category():
    catalog = default_catalog()
    table = (CONTRACT_DIR / "need-catalog.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1:4] for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    contract = {code.strip(): (agency.strip(), category.strip()) for code, agency, category in rows[1:]}
    assert len(contract) == 15
    for code, (agency, category) in contract.items():
        definition = catalog.get(code)
        assert definition is not None, code
        assert definition.category == category, code
        if agency.startswith("(none"):
            assert definition.delivered_at_intake and definition.agency is None
        else:
            assert definition.agency == agency, code


def test_contract_example_needs_are_all_in_the_catalog():
    catalog = default_catalog()
    assert all(need["code"] in catalog for need in contract_example()["needs"])
