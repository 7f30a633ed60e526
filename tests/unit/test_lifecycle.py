import pytest

from agency_adapters.lifecycle import ALLOWED_MOVES, check_move


@pytest.mark.parametrize(
    ("current", "requested"),
    [(c, r) for c, targets in ALLOWED_MOVES.items() for r in targets if r != "received"],
)
def test_every_allowed_move_is_allowed(current, requested):
    assert check_move(current=current, requested=requested) is None


@pytest.mark.parametrize(
    ("current", "requested"),
    [("received", "completed"), ("completed", "declined"), ("declined", "accepted"), ("assigned", "accepted")],
)
def test_forbidden_moves_are_refused_with_the_allowed_ones(current, requested):
    refused = check_move(current=current, requested=requested)
    assert refused is not None
    assert refused.allowed == tuple(sorted(ALLOWED_MOVES[current]))
    assert current in refused.reason


def test_a_final_referral_says_it_cannot_move():
    refused = check_move(current="completed", requested="accepted")
    assert "cannot move any more" in refused.reason
