"""Cron schedules: when does a recurring job run next?

Pure on purpose: a schedule, an instant and a zone go in, an instant comes out,
so the runner and the tests drive time themselves. Only ``localZone`` reads
the environment, and ``nextCallTime`` never calls it.

The search is the legacy ``CronJob.timeOfNextCall``'s: step from ``now`` by the
unit of the finest constrained field (minute, hour, day, calendar month; none
at all means every minute) to the first step where every constrained field
matches. Finer fields keep now's values, seconds too unless ``zeroSeconds``
(crontab jobs run at second 0). A month step keeps now's day of month, or the
month's last day when it is shorter (31 January -> 29 February).

The legacy code added seconds in UTC; here steps are taken on the wall clock
of the given zone, so "daily at 09:00" stays at 09:00 across daylight saving
time changes, which are handled as cronie does:

* A fixed-time job (hour constrained, or a step of a day or more keeping now's
  wall time) whose time falls in a skipped hour runs at the first instant
  after the gap: Europe/Berlin 2024-03-31 02:30 -> 03:00 CEST.
* In a repeated hour it runs once, at the earliest copy of its wall time after
  ``now``; as wall times are compared, a run in the first copy is not redone
  in the second.
* A job stepping by the minute with no hour ("every hour at minute 0", "every
  5 minutes") keeps its rhythm in elapsed time: it runs in both copies of a
  repeated hour and simply has no run in a skipped one.

Because finer fields come from ``now``, a run moved by a gap or a short month
(03:00 for 02:30, the 29th for the 31st) moves the runs computed from it;
crontab jobs, and legacy jobs naming minute and hour, do not drift.

The schedule itself is ``remotetask.core.schedules``' (made from fields or
crontab text), its words ``cronwords``', the local zone ``zones``'; their
public names are imported from here too.
"""

import calendar
import math
from bisect import bisect_left, bisect_right
from datetime import date, datetime, time, timedelta, tzinfo

from remotetask.core.cronwords import describe, describeRuns
from remotetask.core.schedules import Schedule, makeSchedule, parseCrontab
from remotetask.core.zones import localZone

__all__ = ['Schedule', 'makeSchedule', 'parseCrontab', 'nextCallTime',
           'describe', 'describeRuns', 'localZone']

_ONE_DAY = timedelta(days=1)
_MINUTE, _HOUR, _DAY, _MONTH = 'minute', 'hour', 'day', 'month'


def nextCallTime(schedule: Schedule, now: float, tz: tzinfo) -> int:
    """Epoch seconds of the first run strictly after ``now``, seen in ``tz``.

    ``tz`` must follow PEP 495 (``zoneinfo.ZoneInfo``; not pytz). The search
    jumps over whole days and months, so a run years away (29 February) is
    found as fast as one a minute away.
    """
    after = math.floor(now)
    step = _stepOf(schedule)
    try:
        if step == _MINUTE and not schedule.hour:
            return _nextElapsed(schedule, after, tz)
        candidate = _wallTime(after, tz)
        if schedule.zeroSeconds:
            candidate = candidate.replace(second=0)
        while True:
            candidate = _nextWall(schedule, candidate, step)
            instant = _resolve(candidate, after, tz)
            if instant is not None:
                return instant
    except OverflowError:
        raise ValueError(f'{schedule!r} has no run before the year 9999') \
            from None


def _stepOf(schedule):
    """The unit of the finest constrained field: the legacy search's step."""
    return (_MINUTE if schedule.minute else _HOUR if schedule.hour
            else _DAY if schedule.dayOfMonth or schedule.dayOfWeek
            else _MONTH if schedule.month else _MINUTE)


def _wallTime(instant, tz):
    return datetime.fromtimestamp(instant, tz).replace(tzinfo=None, fold=0)


def _dateMatches(schedule, day):
    byDate = not schedule.dayOfMonth or day.day in schedule.dayOfMonth
    byWeekday = not schedule.dayOfWeek or day.weekday() in schedule.dayOfWeek
    either = schedule.dayOr and schedule.dayOfMonth and schedule.dayOfWeek
    return (not schedule.month or day.month in schedule.month) and (
        byDate or byWeekday if either else byDate and byWeekday)


def _nextDate(schedule, start):
    """The first matching date on or after ``start``; the calendar repeats
    every 400 years, so a schedule with no date in 401 years has none."""
    year, month, first = start.year, start.month, start.day
    for _ in range(401 * 12):
        if year > 9999:
            raise OverflowError
        if not schedule.month or month in schedule.month:
            for day in range(first, calendar.monthrange(year, month)[1] + 1):
                if _dateMatches(schedule, date(year, month, day)):
                    return date(year, month, day)
        year, month, first = year + (month == 12), month % 12 + 1, 1
    raise ValueError(f'{schedule!r} never matches any date')


def _nextWall(schedule, base, step):
    """The first wall time ``base + k * step`` (k >= 1) whose fields match."""
    if step == _MONTH:
        year, month = base.year, base.month
        while True:
            year, month = year + (month == 12), month % 12 + 1
            if year > 9999:
                raise OverflowError
            if month in schedule.month:
                last = calendar.monthrange(year, month)[1]
                return base.replace(year=year, month=month,
                                    day=min(base.day, last))
    if step == _DAY:
        return datetime.combine(_nextDate(schedule, base.date() + _ONE_DAY),
                                base.time())
    hours = schedule.hour or range(24)
    minutes = (base.minute,) if step == _HOUR else schedule.minute
    day = base.date()
    if _dateMatches(schedule, day):
        for hour in hours[bisect_left(hours, base.hour):]:
            later = bisect_right(minutes, base.minute) \
                if hour == base.hour else 0
            if later < len(minutes):
                return datetime.combine(
                    day, time(hour, minutes[later], base.second))
    day = _nextDate(schedule, day + _ONE_DAY)
    return datetime.combine(day, time(hours[0], minutes[0], base.second))


def _resolve(wall, after, tz):
    """The first instant after ``after`` at which a wall time runs, or None.

    A wall time shows once, twice (a repeated hour) or never (a skipped hour:
    it runs at the gap's end)."""
    stamps = sorted(int(wall.replace(tzinfo=tz, fold=fold).timestamp())
                    for fold in (0, 1))
    instants = [t for t in stamps if _wallTime(t, tz) == wall]
    if not instants:  # in a gap: find its end between the two readings
        low, high = stamps
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if _wallTime(middle, tz) > wall \
                else (middle, high)
        instants = [high]
    return next((t for t in instants if t > after), None)


def _nextElapsed(schedule, after, tz):
    """Walk elapsed minutes, jumping to candidate minutes and days."""
    grid = after - _wallTime(after, tz).second if schedule.zeroSeconds \
        else after
    minutes, instant = schedule.minute, grid + 60
    while True:
        local = datetime.fromtimestamp(instant, tz)
        if not _dateMatches(schedule, local.date()):
            day = _nextDate(schedule, local.date() + _ONE_DAY)
            start = _resolve(datetime.combine(day, time()), -math.inf, tz)
            instant = start + (grid - start) % 60
            continue
        if not minutes or local.minute in minutes:
            return instant
        later = bisect_right(minutes, local.minute)
        target = minutes[later] if later < len(minutes) else minutes[0] + 60
        jump = instant + (target - local.minute) * 60
        # Across an offset change the local minute shifts: creep over it.
        sameOffset = (datetime.fromtimestamp(jump, tz).utcoffset()
                      == local.utcoffset())
        instant = jump if sameOffset else instant + 60
