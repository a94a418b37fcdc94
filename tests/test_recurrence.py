"""Due times of cron expressions, intervals and one-off times, across daylight
saving in Europe/Berlin, and the words that describe them.

In 2026 Europe/Berlin springs forward on 29 March (02:00 CET becomes 03:00 CEST,
01:00 UTC) and falls back on 25 October (03:00 CEST becomes 02:00 CET, 01:00 UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.recurrence import (
    Cron,
    Every,
    Once,
    check_cron,
    due_between,
    to_local,
    to_utc,
    upcoming,
    zone,
)
from app.validation import Invalid

BERLIN = zone("Europe/Berlin")


def _local(times: list[datetime]) -> list[str]:
    return [f"{to_local(due, BERLIN):%m-%d %H:%M %Z}" for due in times]


# Cron across daylight saving.


def test_a_daily_time_in_the_spring_gap_runs_when_the_clocks_jump():
    rule = Cron("30 2 * * *", "Europe/Berlin")

    times = upcoming(rule, datetime(2026, 3, 27, 12), 4)

    assert _local(times) == [
        "03-28 02:30 CET",
        "03-29 03:00 CEST",
        "03-30 02:30 CEST",
        "03-31 02:30 CEST",
    ]
    assert times[1] == datetime(2026, 3, 29, 1, 0)  # the jump, in UTC
    # A day apart in wall-clock time, whatever the offset.
    assert times[3] - times[2] == timedelta(days=1)


def test_times_within_the_spring_gap_run_once_at_the_jump():
    rule = Cron("*/20 * * * *", "Europe/Berlin")

    times = upcoming(rule, datetime(2026, 3, 29, 0, 30), 4)

    # 02:00, 02:20 and 02:40 do not exist: one run at 03:00 stands for them,
    # 20 real minutes after 01:40.
    assert _local(times) == [
        "03-29 01:40 CET",
        "03-29 03:00 CEST",
        "03-29 03:20 CEST",
        "03-29 03:40 CEST",
    ]
    assert times[1] - times[0] == timedelta(minutes=20)


def test_a_daily_time_in_the_repeated_hour_runs_once_in_autumn():
    rule = Cron("30 2 * * *", "Europe/Berlin")

    times = upcoming(rule, datetime(2026, 10, 24, 12), 3)

    assert _local(times) == ["10-25 02:30 CEST", "10-26 02:30 CET", "10-27 02:30 CET"]
    assert times[0] == datetime(2026, 10, 25, 0, 30)
    assert times[1] - times[0] == timedelta(hours=25)


def test_an_hourly_expression_runs_in_both_passes_of_the_repeated_hour():
    rule = Cron("*/30 * * * *", "Europe/Berlin")

    times = upcoming(rule, datetime(2026, 10, 24, 23, 0), 6)

    assert _local(times) == [
        "10-25 01:30 CEST",
        "10-25 02:00 CEST",
        "10-25 02:30 CEST",
        "10-25 02:00 CET",
        "10-25 02:30 CET",
        "10-25 03:00 CET",
    ]
    # Every half hour of real time, without a gap or a double.
    assert {b - a for a, b in zip(times, times[1:], strict=False)} == {
        timedelta(minutes=30)
    }


def test_starting_inside_the_repeated_hour_finds_its_second_pass():
    rule = Cron("0 * * * *", "Europe/Berlin")

    # 00:20 UTC is 02:20 CEST: 02:00 CEST has passed, 02:00 CET is still to come.
    times = upcoming(rule, datetime(2026, 10, 25, 0, 20), 2)

    assert _local(times) == ["10-25 02:00 CET", "10-25 03:00 CET"]


def test_a_zone_without_daylight_saving_is_plain():
    rule = Cron("0 9 * * 1-5", "UTC")

    times = upcoming(rule, datetime(2026, 3, 27, 12), 3)

    assert times == [
        datetime(2026, 3, 30, 9),
        datetime(2026, 3, 31, 9),
        datetime(2026, 4, 1, 9),
    ]


# Intervals and one-off times.


def test_an_interval_keeps_real_time_across_daylight_saving():
    rule = Every(6 * 3600, anchor=datetime(2026, 3, 28, 18, 0))

    times = upcoming(rule, datetime(2026, 3, 28, 18, 0), 3)

    assert times == [
        datetime(2026, 3, 29, 0, 0),
        datetime(2026, 3, 29, 6, 0),
        datetime(2026, 3, 29, 12, 0),
    ]
    assert _local(times) == ["03-29 01:00 CET", "03-29 08:00 CEST", "03-29 14:00 CEST"]


def test_an_interval_counts_from_its_anchor_and_not_before():
    rule = Every(900, anchor=datetime(2026, 1, 5, 10, 3))

    assert upcoming(rule, datetime(2026, 1, 5, 9, 0), 2) == [
        datetime(2026, 1, 5, 10, 18),
        datetime(2026, 1, 5, 10, 33),
    ]
    assert upcoming(rule, datetime(2026, 1, 5, 10, 18), 1) == [
        datetime(2026, 1, 5, 10, 33)
    ]


def test_a_one_off_time_is_due_once():
    rule = Once(datetime(2026, 1, 5, 11), "Europe/Berlin")

    assert upcoming(rule, datetime(2026, 1, 5, 10), 5) == [datetime(2026, 1, 5, 11)]
    assert upcoming(rule, datetime(2026, 1, 5, 11), 5) == []


def test_wall_clock_times_of_a_zone_become_utc():
    assert to_utc(datetime(2026, 7, 1, 12, 0), BERLIN) == datetime(2026, 7, 1, 10, 0)
    # The repeated hour: the first 02:30, still in summer time.
    assert to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == datetime(
        2026, 10, 25, 0, 30
    )
    with pytest.raises(Invalid, match="does not exist in Europe/Berlin"):
        to_utc(datetime(2026, 3, 29, 2, 30), BERLIN)


# Catching up after downtime.


def test_due_times_missed_are_counted_and_the_latest_is_the_one_to_fire():
    rule = Cron("*/10 * * * *", "UTC")

    due = due_between(rule, datetime(2026, 1, 5, 10, 3), datetime(2026, 1, 5, 12, 5))

    assert due.latest == datetime(2026, 1, 5, 12, 0)
    assert due.missed == 11
    assert due.first_missed == datetime(2026, 1, 5, 10, 10)
    assert due.more is False


def test_nothing_due_yet_is_none():
    rule = Cron("*/10 * * * *", "UTC")

    assert (
        due_between(rule, datetime(2026, 1, 5, 10, 3), datetime(2026, 1, 5, 10, 9))
        is None
    )


def test_counting_missed_times_stops_at_the_cap():
    rule = Cron("* * * * *", "UTC")

    due = due_between(
        rule, datetime(2026, 1, 1), datetime(2026, 3, 1, 0, 0, 30), cap=50
    )

    assert due.latest == datetime(2026, 3, 1, 0, 0)
    assert (due.missed, due.more) == (50, True)


# Checks and words.


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "The minute field, 61, is not valid: use 0-59"),
        ("* 24 * * *", "The hour field, 24, is not valid"),
        ("* * * * 9", "The day of week field, 9, is not valid"),
        ("* * * *", "A cron expression has 5 fields"),
        ("0 0 1 1 * 2030", "A cron expression has 5 fields"),
        ("H * * * *", "H and R are not cron"),
        ("0 0 30 2 *", "is never due"),
    ],
)
def test_invalid_expressions_say_what_is_wrong(expression, message):
    with pytest.raises(Invalid, match=message):
        check_cron(expression, "UTC", datetime(2026, 1, 1))


def test_names_of_months_and_days_are_accepted():
    rule = check_cron("0  6 * mar-oct  thu,fri", "Europe/Berlin", datetime(2026, 1, 1))

    assert rule.expression == "0 6 * mar-oct thu,fri"
    assert upcoming(rule, datetime(2026, 1, 1), 1) == [datetime(2026, 3, 5, 5, 0)]


def test_unknown_zones_are_refused():
    with pytest.raises(Invalid, match="Unknown time zone: Mars/Olympus"):
        Cron("* * * * *", "Mars/Olympus")


def test_words():
    assert Cron("30 2 * * *", "Europe/Berlin").words() == (
        "At 02:30 (Europe/Berlin time)"
    )
    assert Cron("*/15 * * * 1-5", "UTC").words().startswith("Every 15 minutes")
    assert Every(7200, datetime(2026, 1, 1)).words() == "Every 2 hours"
    assert Every(60, datetime(2026, 1, 1)).words() == "Every minute"
    assert Every(5400, datetime(2026, 1, 1)).words() == "Every 90 minutes"
    assert Once(datetime(2026, 3, 29, 1), "Europe/Berlin").words() == (
        "Once, on Sun 29 Mar 2026 at 03:00 (Europe/Berlin time)"
    )
