"""The property of remotetask.core.cron's search: every next run it finds
matches its schedule, and no earlier instant does, checked against a brute
force reference over random schedules, zones and instants (daylight
saving changes drawn often)."""

import dataclasses
import functools
import math
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from zoneinfo import ZoneInfo

from remotetask.core.cron import makeSchedule, nextCallTime

HOUR = 3600


def at(tz, *fields, fold=0):
    """Epoch seconds of a wall time in a zone."""
    return int(datetime(*fields, tzinfo=tz, fold=fold).timestamp())


ZONES = [ZoneInfo(name) for name in (
    'UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe')]
HORIZON = 2 * 24 * HOUR  # brute force only over short distances


def values(low, high, most):
    return st.one_of(st.just(()), st.lists(st.integers(low, high),
                                           min_size=1, max_size=most))


@functools.cache
def transitions(tz, year):
    """Instants where the zone's offset changes in a year (to aim near)."""
    found, day = [], at(timezone.utc, year, 1, 1)
    offset = datetime.fromtimestamp(day, tz).utcoffset()
    for _ in range(12):  # changes are months apart: a month's step is safe
        later = day + 31 * 24 * HOUR
        if datetime.fromtimestamp(later, tz).utcoffset() != offset:
            low, high = day, later
            while high - low > 1:
                middle = (low + high) // 2
                if datetime.fromtimestamp(middle, tz).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append(high)
            offset = datetime.fromtimestamp(later, tz).utcoffset()
        day = later
    return tuple(found) or (at(timezone.utc, year, 6, 1),)


@st.composite
def cases(draw):
    fields = dict(minute=draw(values(0, 59, 4)), hour=draw(values(0, 23, 3)),
                  dayOfMonth=draw(values(1, 31, 8)),
                  month=draw(values(1, 12, 5)),
                  dayOfWeek=draw(values(0, 6, 3)))
    try:
        schedule = makeSchedule(**fields)
    except ValueError:
        assume(False)
    schedule = dataclasses.replace(schedule, dayOr=draw(st.booleans()),
                                   zeroSeconds=draw(st.booleans()))
    tz = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        near = draw(st.sampled_from(transitions(tz, draw(st.integers(
            1971, 2099)))))
        now = near + draw(st.one_of(st.integers(-3 * HOUR, 3 * HOUR),
                                    st.integers(-HORIZON, HORIZON)))
    else:
        now = draw(st.integers(0, at(timezone.utc, 2100, 1, 1)))
    return schedule, now + draw(st.sampled_from([0, 0.5])), tz


def fieldsMatch(schedule, local):
    def ok(values, value):
        return not values or value in values
    byDate = ok(schedule.dayOfMonth, local.day)
    byWeekday = ok(schedule.dayOfWeek, local.weekday())
    if schedule.dayOr and schedule.dayOfMonth and schedule.dayOfWeek:
        days = local.day in schedule.dayOfMonth \
            or local.weekday() in schedule.dayOfWeek
    else:
        days = byDate and byWeekday
    return (days and ok(schedule.month, local.month)
            and ok(schedule.hour, local.hour)
            and ok(schedule.minute, local.minute))


def stepOf(schedule):
    if schedule.minute or not (schedule.hour or schedule.dayOfMonth
                               or schedule.dayOfWeek or schedule.month):
        return timedelta(minutes=1)
    if schedule.hour:
        return timedelta(hours=1)
    return timedelta(days=1) if schedule.dayOfMonth or schedule.dayOfWeek \
        else None


def isGapEnd(instant, tz):
    return (datetime.fromtimestamp(instant - 1, tz).utcoffset()
            < datetime.fromtimestamp(instant, tz).utcoffset())


def reference(schedule, now, tz):
    """Brute force: try every step up to a day past HORIZON, else None."""
    after = math.floor(now)
    nowWall = datetime.fromtimestamp(after, tz).replace(tzinfo=None)
    step = stepOf(schedule)
    if step == timedelta(minutes=1) and not schedule.hour:
        instant = after - nowWall.second if schedule.zeroSeconds else after
        while instant <= after + HORIZON + 24 * HOUR:
            instant += 60
            if fieldsMatch(schedule, datetime.fromtimestamp(instant, tz)):
                return instant
        return None
    candidate = nowWall.replace(second=0) if schedule.zeroSeconds else nowWall
    while candidate <= nowWall + timedelta(seconds=HORIZON + 24 * HOUR):
        candidate += step
        if not fieldsMatch(schedule, candidate):
            continue
        stamps = [int(candidate.replace(tzinfo=tz, fold=f).timestamp())
                  for f in (0, 1)]
        real = [s for s in stamps if datetime.fromtimestamp(s, tz).replace(
            tzinfo=None) == candidate]
        if not real:  # in a gap: walk second by second to its end
            instant = min(stamps)
            while datetime.fromtimestamp(instant, tz).replace(
                    tzinfo=None) < candidate:
                instant += 1
            real = [instant]
        later = [s for s in real if s > after]
        if later:
            return min(later)
    return None


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.filter_too_much])
@given(cases())
def test_nextCallTimeProperties(case):
    """For random schedules, zones and instants the result is after now,
    matches every constrained field (or ends a DST gap), keeps the seconds
    rule, and no earlier step matches (checked by brute force nearby)."""
    schedule, now, tz = case
    result = nextCallTime(schedule, now, tz)
    assert type(result) is int and result > now
    local = datetime.fromtimestamp(result, tz)
    elapsed = stepOf(schedule) == timedelta(minutes=1) and not schedule.hour
    if not fieldsMatch(schedule, local):
        assert not elapsed and isGapEnd(result, tz)
    elif schedule.zeroSeconds:
        assert local.second == 0
    elif elapsed:
        assert (result - math.floor(now)) % 60 == 0
    elif not isGapEnd(result, tz):
        assert local.second == datetime.fromtimestamp(now, tz).second
    if stepOf(schedule) and result - now <= HORIZON:
        assert result == reference(schedule, now, tz)
