from datetime import date

from agency_adapters.deadlines import (
    ACKNOWLEDGE, FINISH, DeadlinePolicy, add_working_days, breaches, is_working_day, working_days_after,
)

POLICY = DeadlinePolicy()


def test_songkran_and_the_weekend_are_not_working_days():
    # Fri 10 Apr 2026; Mon 13 - Wed 15 Apr are Songkran; Sat/Sun 11-12 the weekend.
    assert add_working_days(date(2026, 4, 10), 1) == date(2026, 4, 16)
    assert add_working_days(date(2026, 4, 10), 2) == date(2026, 4, 17)
    assert not any(is_working_day(date(2026, 4, d)) for d in (11, 12, 13, 14, 15))


def test_new_year_and_its_bridge_day_are_skipped():
    # Tue 30 Dec 2025 + 2 working days: 31 Dec (New Year's Eve), 1 Jan, 2 Jan (bridge) are off,
    # 3-4 Jan the weekend -> Mon 5 Jan, Tue 6 Jan.
    assert add_working_days(date(2025, 12, 30), 2) == date(2026, 1, 6)


def test_a_referral_acknowledged_in_time_has_no_breach():
    assigned = date(2026, 11, 2)  # Monday
    assert breaches(status="received", assigned_on=assigned, today=date(2026, 11, 4), policy=POLICY, final=False) == []


def test_an_unacknowledged_referral_climbs_the_ladder_in_working_days():
    assigned = date(2026, 11, 2)  # due to acknowledge Wed 4 Nov
    first = breaches(status="received", assigned_on=assigned, today=date(2026, 11, 5), policy=POLICY, final=False)
    assert [(b.stage, b.due, b.levels) for b in first] == [(ACKNOWLEDGE, date(2026, 11, 4), ("officer",))]
    later = breaches(status="received", assigned_on=assigned, today=date(2026, 11, 9), policy=POLICY, final=False)
    assert later[0].working_days_overdue == 3 and later[0].levels == ("officer", "agency_head")
    much_later = breaches(status="received", assigned_on=assigned, today=date(2026, 11, 16), policy=POLICY, final=False)
    assert much_later[0].levels[-1] == "provincial_labour_office"


def test_accepting_stops_the_acknowledge_clock_but_not_the_finish_clock():
    assigned = date(2026, 9, 1)
    found = breaches(status="accepted", assigned_on=assigned, today=date(2026, 11, 20), policy=POLICY, final=False)
    assert [b.stage for b in found] == [FINISH]
    assert breaches(status="completed", assigned_on=assigned, today=date(2026, 11, 20), policy=POLICY, final=True) == []


def test_a_weekend_after_the_due_day_is_late_but_zero_working_days_late():
    assert working_days_after(date(2026, 11, 6), date(2026, 11, 8)) == 0  # Fri due, Sunday today
