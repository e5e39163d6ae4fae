"""The late policy: started days late, a percentage per day, a grace period, times from a CSV."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grader.gradebook.late import LateError, LatePolicy, make_policy, parse_time, read_times

DEADLINE = parse_time("2030-01-01T00:00:00+00:00")


@pytest.mark.parametrize("after, days, penalty", [
    (timedelta(hours=-1), 0, 0.0),
    (timedelta(0), 0, 0.0),
    (timedelta(seconds=1), 1, 0.1),
    (timedelta(hours=36), 2, 0.2),
    (timedelta(days=30), 30, 1.0),
])
def test_started_days_late_cost_a_share_of_the_score(after, days, penalty):
    late = LatePolicy(DEADLINE, 10).assess(DEADLINE + after)
    assert (late.days, late.penalty) == (days, pytest.approx(penalty))
    assert late.apply(40) == pytest.approx(40 * (1 - penalty))


def test_grace_minutes_and_unknown_times():
    policy = LatePolicy(DEADLINE, 25, grace_minutes=15)
    assert policy.assess(DEADLINE + timedelta(minutes=14)).days == 0
    assert policy.assess(DEADLINE + timedelta(minutes=16)).days == 1
    unknown = policy.assess(None)
    assert unknown.penalty == 0 and "unknown" in unknown.describe()
    assert LatePolicy.from_json(policy.to_json()) == policy


def test_times_without_a_zone_are_local_and_z_is_utc():
    assert parse_time("2030-01-01T00:00Z") == DEADLINE
    assert parse_time("2030-01-01 01:00:00+01:00") == DEADLINE
    assert parse_time("2030-01-01T00:00").tzinfo is not None


def test_policy_options():
    assert make_policy(None, None) is None
    assert make_policy("2030-01-01T00:00Z", None).penalty_per_day == 10
    with pytest.raises(LateError, match="needs --deadline"):
        make_policy(None, 5)


def test_read_times(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text("\ufeffstudent,submitted_at,extra\nalice,2030-01-01T10:00Z,x\n bob ,2030-01-02T00:00Z,y\n")
    times = read_times(path)
    assert times == {"alice": parse_time("2030-01-01T10:00Z"), "bob": parse_time("2030-01-02T00:00Z")}
    path.write_text("name,time\nalice,2030\n")
    with pytest.raises(LateError, match="student,submitted_at"):
        read_times(path)
