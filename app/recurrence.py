"""When a schedule is due: a cron expression in a time zone, a fixed interval, or
a single time; and how to say it in words.

Pure functions of their arguments: no database, no Redis, no clock. Times in and
out are naive UTC, as every stored time is; zones are IANA names.

Cron expressions are read in wall-clock time of their zone. Daylight saving makes
two kinds of wall-clock times special, and they are handled the way Vixie cron
handles them:

- a time that does not exist because the clocks jump forward (02:30 on the last
  Sunday of March in Europe/Berlin) is due at the moment of the jump, once, so a
  daily job still runs that day;
- a time that happens twice because the clocks fall back (02:30 on the last
  Sunday of October) is due once, the first time, unless the expression's hour
  field is `*`: the repeated hour is then an hour like any other and its times
  are due again.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cron_descriptor import ExpressionDescriptor, FormatException, Options
from croniter import CroniterError, croniter

from app.validation import Invalid

# How far a zone's clocks ever move at once when they fall back. Wall-clock times
# this far apart may come out of order in real time; see `Cron.after`.
_FOLD_MARGIN = timedelta(hours=3)
# A cron expression must be due at least once in this time to be accepted.
_HORIZON = timedelta(days=5 * 366)
# Zone names the tz database ships that are no place a person lives in.
_NOT_PLACES = frozenset({"Factory", "localtime", "posixrules"})


@cache
def zone_names() -> tuple[str, ...]:
    """The IANA zones one may pick, sorted."""
    return tuple(sorted(available_timezones() - _NOT_PLACES))


def zone(name: str) -> ZoneInfo:
    """The zone of that IANA name, or `Invalid`."""
    if name not in zone_names():
        raise Invalid(f"Unknown time zone: {name or '(none)'}. Pick one of the list.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"Unknown time zone: {name}.") from exc


def to_local(when: datetime, tz: ZoneInfo) -> datetime:
    """A naive UTC time as an aware time of the zone, for showing it."""
    return when.replace(tzinfo=UTC).astimezone(tz)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time of the zone as naive UTC; `Invalid` if it does not exist.

    A wall-clock time that happens twice is taken the first time.
    """
    first = local.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise Invalid(
            f"{local:%Y-%m-%d %H:%M} does not exist in {tz.key}: the clocks jump "
            "forward over it. Pick a time after the change."
        )
    return utc.replace(tzinfo=None)


@dataclass(frozen=True)
class Cron:
    """A 5-field cron expression read in the wall-clock time of `zone`."""

    expression: str
    zone: str
    _every_hour: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = self.expression.split()
        if len(fields) != 5:
            raise Invalid(
                "A cron expression has 5 fields: minute, hour, day of month, month, "
                f"day of week (like 30 2 * * *); this one has {len(fields)}."
            )
        # croniter reads H as a hash and R as random; neither is cron.
        if not _only_names(self.expression):
            raise Invalid("H and R are not cron: use numbers, ranges and steps.")
        try:
            expanded, _ = croniter.expand(self.expression)
        except CroniterError as exc:
            raise Invalid(_which_field(fields)) from exc
        object.__setattr__(self, "_every_hour", expanded[1] == ["*"])
        zone(self.zone)

    def after(self, start: datetime) -> Iterator[datetime]:
        """The due times after `start` (naive UTC), in order, without end.

        Wall-clock candidates come from croniter on naive times. Near a fall-back
        a candidate can be due before an earlier candidate's second pass, so due
        times wait in a heap until no later candidate can come before them.
        """
        tz = zone(self.zone)
        local_start = to_local(start, tz).replace(tzinfo=None)
        candidates = croniter(self.expression, local_start - 2 * _FOLD_MARGIN)
        pending: list[datetime] = []
        queued: set[datetime] = set()
        while True:
            try:
                wall = candidates.get_next(datetime)
            except CroniterError:  # no date left that croniter is willing to find
                while pending:
                    yield heapq.heappop(pending)
                return
            while pending and _wall_of(pending[0], tz) + _FOLD_MARGIN < wall:
                yield heapq.heappop(pending)
            for due in self._due_times(wall, tz):
                if due > start and due not in queued:
                    queued.add(due)
                    heapq.heappush(pending, due)

    def _due_times(self, wall: datetime, tz: ZoneInfo) -> list[datetime]:
        first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
        if first == second:
            return [first.replace(tzinfo=None)]
        if first.astimezone(tz).replace(tzinfo=None) != wall:
            # In the gap of a spring-forward: due when the clocks jump.
            return [_transition(second, first, tz)]
        if self._every_hour:
            return [first.replace(tzinfo=None), second.replace(tzinfo=None)]
        return [first.replace(tzinfo=None)]

    def words(self) -> str:
        options = Options()
        options.use_24hour_time_format = True
        options.verbose = False
        try:
            text = ExpressionDescriptor(self.expression, options).get_description()
        except (FormatException, ValueError, KeyError, IndexError):
            text = f"Cron {self.expression}"
        return f"{text} ({self.zone} time)"


@dataclass(frozen=True)
class Every:
    """Every `seconds`, counted from `anchor` (naive UTC), in real time.

    Across daylight saving the wall-clock times shift by the change: every 6 hours
    stays 6 hours apart.
    """

    seconds: int
    anchor: datetime

    def __post_init__(self) -> None:
        if self.seconds < 60:
            raise Invalid("An interval is at least one minute.")

    def after(self, start: datetime) -> Iterator[datetime]:
        step = timedelta(seconds=self.seconds)
        count = max(1, math.floor((start - self.anchor) / step) + 1)
        while True:
            due = self.anchor + count * step
            if due > start:
                yield due
            count += 1

    def latest(self, until: datetime) -> datetime | None:
        step = timedelta(seconds=self.seconds)
        count = math.floor((until - self.anchor) / step)
        return self.anchor + count * step if count >= 1 else None

    def words(self) -> str:
        hours, rest = divmod(self.seconds, 3600)
        if not rest:
            return "Every hour" if hours == 1 else f"Every {hours} hours"
        minutes = self.seconds // 60
        return "Every minute" if minutes == 1 else f"Every {minutes} minutes"


@dataclass(frozen=True)
class Once:
    """A single time, `at` (naive UTC), shown in `zone`."""

    at: datetime
    zone: str

    def after(self, start: datetime) -> Iterator[datetime]:
        if self.at > start:
            yield self.at

    def words(self) -> str:
        local = to_local(self.at, zone(self.zone))
        return f"Once, on {local:%a %d %b %Y at %H:%M} ({self.zone} time)"


Recurrence = Cron | Every | Once


def upcoming(rule: Recurrence, start: datetime, count: int) -> list[datetime]:
    """The first `count` due times after `start`."""
    found = []
    for due in rule.after(start):
        found.append(due)
        if len(found) == count:
            break
    return found


@dataclass(frozen=True)
class Due:
    """What came due between two times: the latest due time and those before it."""

    latest: datetime
    # Due times before `latest`, at most `cap`; `more` when there were more.
    missed: int
    first_missed: datetime | None
    more: bool


def due_between(
    rule: Recurrence, start: datetime, end: datetime, cap: int = 1000
) -> Due | None:
    """The due times in (start, end]; None when there is none.

    Counting stops at `cap`, so a scheduler that was down for a year on a
    once-a-minute schedule does not count half a million minutes.
    """
    first: datetime | None = None
    latest: datetime | None = None
    seen = 0
    for due in rule.after(start):
        if due > end:
            break
        first = first or due
        latest = due
        seen += 1
        if seen > cap:
            latest = _latest(rule, end)
            return Due(latest, cap, first, more=True)
    if latest is None:
        return None
    return Due(latest, seen - 1, first if seen > 1 else None, more=False)


def _latest(rule: Recurrence, end: datetime) -> datetime:
    """The last due time at or before `end`, when one is known to exist."""
    if isinstance(rule, Every):
        latest = rule.latest(end)
        assert latest is not None
        return latest
    window = timedelta(hours=1)
    while True:
        latest = None
        for due in rule.after(end - window):
            if due > end:
                break
            latest = due
        if latest is not None:
            return latest
        window *= 8


def check_cron(expression: str, zone_name: str, now: datetime) -> Cron:
    """A cron rule that is due at least once in the five years after `now`, or
    `Invalid`.
    """
    rule = Cron(" ".join(expression.split()), zone_name)
    due = next(rule.after(now), None)
    if due is None:
        raise Invalid(
            f"{rule.expression} is never due: it names a day that does not exist "
            "(like 30 February)."
        )
    if due - now > _HORIZON:
        raise Invalid(f"{rule.expression} is not due in the next five years.")
    return rule


def _wall_of(due: datetime, tz: ZoneInfo) -> datetime:
    return to_local(due, tz).replace(tzinfo=None)


def _transition(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The first second at or after `before` whose UTC offset is that of `after`.

    Both are aware UTC times around one change of the zone's offset.
    """
    target = after.astimezone(tz).utcoffset()
    low, high = before, after
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high.replace(tzinfo=None, microsecond=0)


_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT")
_NAMES += ("NOV", "DEC", "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def _only_names(expression: str) -> bool:
    """Whether every H or R of the expression belongs to a month or day name."""
    text = expression.upper()
    for name in _NAMES:
        text = text.replace(name, "")
    return "H" not in text and "R" not in text


_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day of week", "0-6 or SUN-SAT"),
)


def _which_field(fields: list[str]) -> str:
    """Say which field of a refused expression is wrong, tried one at a time."""
    for index, (name, values) in enumerate(_FIELDS):
        alone = ["*"] * 5
        alone[index] = fields[index]
        try:
            croniter.expand(" ".join(alone))
        except CroniterError:
            return (
                f"The {name} field, {fields[index]}, is not valid: use {values}, "
                "with * , - and / (like */15 or 1-5)."
            )
    return f"{' '.join(fields)} is not a valid cron expression."
