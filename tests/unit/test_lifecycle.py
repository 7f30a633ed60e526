import pytest

from agency_adapters.lifecycle import ALLOWED_MOVES, FINAL_STATUSES, Move, check_move, move_problems
from shared.catalog.outcomes import default_outcomes

OUTCOMES = default_outcomes()


@pytest.mark.parametrize(
    ("current", "requested"),
    [(c, r) for c, targets in ALLOWED_MOVES.items() for r in targets],
)
def test_every_allowed_move_is_allowed(current, requested):
    assert check_move(current=current, requested=requested) is None


@pytest.mark.parametrize(
    ("current", "requested"),
    [("received", "completed"), ("completed", "declined"), ("declined", "accepted"), ("assigned", "accepted"),
     ("in_progress", "accepted"), ("cancelled", "received"), ("transferred", "completed")],
)
def test_forbidden_moves_are_refused_with_the_allowed_ones(current, requested):
    refused = check_move(current=current, requested=requested)
    assert refused is not None
    assert refused.allowed == tuple(sorted(ALLOWED_MOVES[current]))
    assert current in refused.reason


def test_final_states_cannot_move():
    assert FINAL_STATUSES == {"completed", "declined", "unreachable", "transferred", "cancelled"}
    assert "cannot move any more" in check_move(current="completed", requested="accepted").reason


def test_completing_needs_an_outcome_of_the_agency_with_its_details():
    assert move_problems(move=Move("completed", "t"), agency="employment", outcomes=OUTCOMES) == [
        "outcome_code: required to complete a referral"
    ]
    wrong_agency = move_problems(move=Move("completed", "t", outcome_code="enrolled"), agency="employment", outcomes=OUTCOMES)
    assert "not one of employment's outcomes" in wrong_agency[0]
    missing = move_problems(move=Move("completed", "t", outcome_code="placed", details={"employer": "x"}),
                            agency="employment", outcomes=OUTCOMES)
    assert missing == ["details.position: required for 'placed'", "details.monthly_wage: required for 'placed'"]
    ok = Move("completed", "t", outcome_code="placed", details={"employer": "x", "position": "y", "monthly_wage": 9500})
    assert move_problems(move=ok, agency="employment", outcomes=OUTCOMES) == []


def test_detail_kinds_are_checked():
    move = Move("completed", "t", outcome_code="benefit_eligible", details={"amount": "lots", "due_date": "31/12/2026"})
    problems = move_problems(move=move, agency="social_security", outcomes=OUTCOMES)
    assert problems == ["details.amount: must be an amount in baht, 0 or more", "details.due_date: must be a date written YYYY-MM-DD"]


def test_declining_needs_a_known_reason_code_and_transfers_need_another_agency_and_a_reason():
    assert "reason_code" in move_problems(move=Move("declined", "t", reason_code="busy"), agency="welfare", outcomes=OUTCOMES)[0]
    assert move_problems(move=Move("declined", "t", reason_code="person_refused"), agency="welfare", outcomes=OUTCOMES) == []
    same = move_problems(move=Move("transferred", "t", reason="wrong desk", to_agency="welfare"), agency="welfare", outcomes=OUTCOMES)
    assert same == ["to_agency: name the other agency that should take the referral"]
    assert move_problems(move=Move("cancelled", "t"), agency="skills", outcomes=OUTCOMES)[0].startswith("reason:")


def test_only_a_completion_carries_an_outcome():
    problems = move_problems(move=Move("accepted", "t", outcome_code="registered"), agency="employment", outcomes=OUTCOMES)
    assert problems == ["outcome_code/details: only a completed referral has an outcome"]
