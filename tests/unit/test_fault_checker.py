"""The negative control of the fault matrix's checker: it must catch a dropped and a doubled record
on each side, a record nobody sent, and a summary that counts one twice — or a clean verdict in the
fault tests proves nothing."""

from tests.support.fault_checker import Expected, Observation, judge

EXPECTED = Expected({"r1": "employment", "r2": "skills", "r3": "social_security", "r4": "social_security"})
EVERY = ["r1", "r2", "r3", "r4"]
COUNTS = {"employment": 1, "skills": 1, "welfare": 0, "social_security": 2}


def test_everything_once_is_clean():
    verdict = judge(expected=EXPECTED, observed=Observation({"agency": EVERY, "reporting facts": EVERY}, COUNTS))
    assert verdict.clean, verdict.describe()
    assert verdict.figures() == "lost 0, doubled 0, unexpected 0, miscounted agencies 0"


def test_a_dropped_record_is_reported_lost_at_the_side_that_dropped_it():
    verdict = judge(expected=EXPECTED, observed=Observation({"agency": EVERY, "reporting facts": ["r1", "r2", "r4"]},
                                                            COUNTS))
    assert not verdict.clean
    assert verdict.lost == {"reporting facts": ["r3"]}
    assert not verdict.doubled and not verdict.unexpected


def test_a_doubled_record_is_reported_doubled():
    verdict = judge(expected=EXPECTED, observed=Observation({"agency": [*EVERY, "r2"], "reporting facts": EVERY},
                                                            COUNTS))
    assert verdict.doubled == {"agency": ["r2"]}
    assert not verdict.lost and not verdict.unexpected


def test_a_record_nobody_was_promised_is_unexpected():
    verdict = judge(expected=EXPECTED, observed=Observation({"agency": [*EVERY, "r9"], "reporting facts": EVERY},
                                                            COUNTS))
    assert verdict.unexpected == {"agency": ["r9"]}


def test_a_summary_that_counts_one_twice_is_miscounted():
    verdict = judge(expected=EXPECTED, observed=Observation(
        {"agency": EVERY, "reporting facts": EVERY}, {**COUNTS, "social_security": 3}))
    assert verdict.miscounted == {"social_security": (3, 2)}
    assert "summary counts social_security: 3, expected 2" in verdict.describe()
