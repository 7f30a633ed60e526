"""The README's examples post files inside the repository; they must stay what the contract says."""

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO.parent / "shared" / "contract" / "intake-example.json"


def test_the_sample_intake_is_the_contract_example():
    assert CONTRACT.exists(), f"the team's contract folder is missing beside the checkout: {CONTRACT}"
    assert json.loads((REPO / "samples" / "intake-example.json").read_text(encoding="utf-8")) == json.loads(
        CONTRACT.read_text(encoding="utf-8")
    )
