"""Tests for remotetask.core.cron: schedules, crontab parsing and next run times."""

import dataclasses
import functools
import math
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from cronsim import CronSim
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from zoneinfo import ZoneInfo

from remotetask.core.cron import (
    Schedule, describe, localZone, makeSchedule, nextCallTime, parseCrontab)

BERLIN = ZoneInfo('Europe/Berlin')
LORD_HOWE = ZoneInfo('Australia/Lord_Howe')
HOUR = 3600
ZONEINFO = '/usr/share/zoneinfo'
needsSystemZoneinfo = pytest.mark.skipif(
    not os.path.isdir(ZONEINFO), reason=f'no {ZONEINFO} on this machine')


def at(tz, *fields, fold=0):
    """Epoch seconds of a wall time in a zone."""
    return int(datetime(*fields, tzinfo=tz, fold=fold).timestamp())


def wall(instant, tz=BERLIN):
    """The wall time and offset of an instant, easy to compare."""
    return datetime.fromtimestamp(instant, tz).isoformat()


def nextWall(schedule, now, tz=BERLIN):
    """The wall time of the next run, easy to compare."""
    return wall(nextCallTime(schedule, now, tz), tz)


def runs(schedule, now, count, tz=BERLIN):
    """The next ``count`` runs, each computed from the one before."""
    found = []
    for _ in range(count):
        now = nextCallTime(schedule, now, tz)
        found.append(now)
    return found


# -- the legacy examples, now = 0 = 1970-01-01 01:00:00 in Berlin --------

def test_minutesStepByMinute():
    """minute=(0, 10) runs at 01:10, and from there at 02:00."""
    schedule = makeSchedule(minute=(0, 10))
    assert nextWall(schedule, 0) == '1970-01-01T01:10:00+01:00'
    assert nextWall(schedule, 600) == '1970-01-01T02:00:00+01:00'


def test_hoursStepByHourKeepingNowsMinute():
    """hour=(2, 13) runs at 02:00 (now's minute), and from 03:00 at 13:00."""
    schedule = makeSchedule(hour=(2, 13))
    assert nextWall(schedule, 0) == '1970-01-01T02:00:00+01:00'
    assert nextWall(schedule, 2 * HOUR) == '1970-01-01T13:00:00+01:00'


def test_monthsStepByCalendarMonth():
    """month=(1, 5, 12) runs on 1 May 01:00, and from there on 1 December."""
    schedule = makeSchedule(month=(1, 5, 12))
    first = nextCallTime(schedule, 0, BERLIN)
    assert wall(first) == '1970-05-01T01:00:00+01:00'
    assert nextWall(schedule, first) == '1970-12-01T01:00:00+01:00'


def test_monthStepClampsToTheMonthsLastDay():
    """From 31 January a monthly job runs on the last day of February."""
    schedule = makeSchedule(month=(2, 3))
    now = at(BERLIN, 2024, 1, 31, 8)
    assert nextWall(schedule, now) == '2024-02-29T08:00:00+01:00'


def test_dayFieldsStepByDayKeepingNowsTime():
    """dayOfWeek alone runs on the next such day at now's time of day."""
    schedule = makeSchedule(dayOfWeek=(0,))  # Monday
    now = at(BERLIN, 2024, 5, 15, 7, 45, 12)  # a Wednesday
    assert nextWall(schedule, now) == '2024-05-20T07:45:12+02:00'


def test_emptyScheduleRunsEveryMinute():
    """A schedule with no field runs a minute after now."""
    assert nextCallTime(makeSchedule(), 1000, BERLIN) == 1060


def test_nowsSecondsAreKept():
    """Legacy fields keep now's seconds: from 0+17 the run is at 01:10:17."""
    schedule = makeSchedule(minute=(0, 10))
    assert nextWall(schedule, 17) == '1970-01-01T01:10:17+01:00'


def test_crontabRunsAtSecondZero():
    """A crontab job runs at second 0 whatever now's seconds are."""
    schedule = parseCrontab('0,10 * * * *')
    assert nextWall(schedule, 17) == '1970-01-01T01:10:00+01:00'
    assert nextWall(schedule, 600) == '1970-01-01T02:00:00+01:00'


def test_resultIsAnIntStrictlyAfterAFractionalNow():
    """The result is an int later than now, even when now has a fraction."""
    for schedule in (makeSchedule(), parseCrontab('* * * * *'),
                     makeSchedule(hour=(1,)), makeSchedule(dayOfMonth=(1,))):
        result = nextCallTime(schedule, 59.75, timezone.utc)
        assert type(result) is int and result > 59.75


# -- daylight saving time: Europe/Berlin 2024 unless named -------------------

def test_fixedTimeInSkippedHourRunsAfterTheGap():
    """02:30 does not exist on 31 March: the job runs at 03:00 CEST, once."""
    schedule = parseCrontab('30 2 * * *')
    found = runs(schedule, at(BERLIN, 2024, 3, 30, 12), 3)
    assert [wall(t) for t in found] == [
        '2024-03-31T03:00:00+02:00', '2024-04-01T02:30:00+02:00',
        '2024-04-02T02:30:00+02:00']


def test_legacyHourInSkippedHourRunsAfterTheGap():
    """A legacy hour=(2,) job (minute from now) also moves to 03:00 CEST."""
    schedule = makeSchedule(hour=(2,))
    now = at(BERLIN, 2024, 3, 31, 1, 15)
    assert nextWall(schedule, now) == '2024-03-31T03:00:00+02:00'


def test_fixedTimeInRepeatedHourRunsOnce():
    """02:30 happens twice on 27 October: the job runs in the first only."""
    schedule = makeSchedule(hour=(2,), minute=(30,))
    found = runs(schedule, at(BERLIN, 2024, 10, 26, 12), 2)
    assert [wall(t) for t in found] == [
        '2024-10-27T02:30:00+02:00', '2024-10-28T02:30:00+01:00']


def test_fixedTimeSeenFromTheSecondCopyRunsInIt():
    """From 02:10 CET (second copy) a 02:30 job runs at 02:30 CET."""
    schedule = makeSchedule(hour=(2,), minute=(30,))
    now = at(BERLIN, 2024, 10, 27, 2, 10, fold=1)
    assert nextWall(schedule, now) == '2024-10-27T02:30:00+01:00'


def test_fixedTimeAfterItsFirstCopySkipsTheSecond():
    """From 02:40 CEST a 02:35 job waits a day: its 02:35 has passed."""
    schedule = makeSchedule(hour=(2, 3), minute=(35,))
    now = at(BERLIN, 2024, 10, 27, 2, 40)
    assert nextWall(schedule, now) == '2024-10-27T03:35:00+01:00'


def test_hourlyJobRunsInBothCopiesOfTheRepeatedHour():
    """minute=(0,) runs every 60 minutes of elapsed time through the fold."""
    found = runs(makeSchedule(minute=(0,)), at(BERLIN, 2024, 10, 27, 0, 30), 4)
    assert [wall(t) for t in found] == [
        '2024-10-27T01:00:00+02:00', '2024-10-27T02:00:00+02:00',
        '2024-10-27T02:00:00+01:00', '2024-10-27T03:00:00+01:00']


def test_hourlyJobKeepsItsRhythmAcrossTheGap():
    """minute=(30,) goes from 01:30 CET to 03:30 CEST: one hour elapsed."""
    first, second = runs(makeSchedule(minute=(30,)),
                         at(BERLIN, 2024, 3, 31, 1, 0), 2)
    assert wall(first) == '2024-03-31T01:30:00+01:00'
    assert wall(second) == '2024-03-31T03:30:00+02:00'
    assert second - first == HOUR


def test_everyFiveMinutesCrossesTheGapInFiveMinutes():
    """'*/5 * * * *' runs 5 elapsed minutes after 01:55 CET: at 03:00 CEST."""
    now = at(BERLIN, 2024, 3, 31, 1, 55)
    assert nextCallTime(parseCrontab('*/5 * * * *'), now, BERLIN) == now + 300


def test_dailyJobKeepsItsWallTimeAcrossDST():
    """Daily at 09:00 stays at 09:00: 23 hours apart in March, 25 in
    October."""
    schedule = parseCrontab('0 9 * * *')
    spring = runs(schedule, at(BERLIN, 2024, 3, 30, 8), 2)
    assert [wall(t) for t in spring] == [
        '2024-03-30T09:00:00+01:00', '2024-03-31T09:00:00+02:00']
    assert spring[1] - spring[0] == 23 * HOUR
    autumn = runs(schedule, at(BERLIN, 2024, 10, 26, 8), 2)
    assert autumn[1] - autumn[0] == 25 * HOUR
    assert wall(autumn[1]) == '2024-10-27T09:00:00+01:00'


def test_dailyJobAtTwoThirtyKeepsItsWallTimeInAutumn():
    """Daily at 02:30 runs at 02:30 on each day around 27 October."""
    found = runs(parseCrontab('30 2 * * *'), at(BERLIN, 2024, 10, 25, 12), 3)
    assert [wall(t) for t in found] == [
        '2024-10-26T02:30:00+02:00', '2024-10-27T02:30:00+02:00',
        '2024-10-28T02:30:00+01:00']
    assert [found[1] - found[0], found[2] - found[1]] == [24 * HOUR, 25 * HOUR]


def test_halfHourShiftOfLordHowe():
    """Lord Howe moves clocks by 30 minutes: gap and fold follow the policy."""
    gapJob = parseCrontab('15 2 * * *')  # 02:00-02:30 skipped on 6 Oct 2024
    assert wall(nextCallTime(gapJob, at(LORD_HOWE, 2024, 10, 6, 1), LORD_HOWE),
                LORD_HOWE) == '2024-10-06T02:30:00+11:00'
    foldJob = parseCrontab('45 1 * * *')  # 01:30-02:00 twice on 7 Apr 2024
    found = runs(foldJob, at(LORD_HOWE, 2024, 4, 7, 1), 2, LORD_HOWE)
    assert [wall(t, LORD_HOWE) for t in found] == [
        '2024-04-07T01:45:00+11:00', '2024-04-08T01:45:00+10:30']


# -- far-away runs and impossible schedules ----------------------------------

@pytest.mark.perf
def test_runsDecadesAwayAreFoundInMilliseconds():
    """The two searches below take under half a second each: the search
    steps by whole fields, where minute steps would take minutes."""
    for schedule, start in [
            (makeSchedule(dayOfMonth=(29,), month=(2,), hour=(6,),
                          minute=(0,)), at(BERLIN, 2097, 3, 1)),
            (makeSchedule(dayOfMonth=(29,), month=(2,), dayOfWeek=(0,)),
             at(BERLIN, 2017, 1, 1))]:
        started = time.perf_counter()
        nextCallTime(schedule, start, BERLIN)
        assert time.perf_counter() - started < 0.5


def test_twentyNinthOfFebruaryFoundYearsAway():
    """From March 2097 the next 29 February is in 2104 (2100 is no leap
    year)."""
    schedule = makeSchedule(dayOfMonth=(29,), month=(2,), hour=(6,),
                            minute=(0,))
    result = nextCallTime(schedule, at(BERLIN, 2097, 3, 1), BERLIN)
    assert wall(result) == '2104-02-29T06:00:00+01:00'


def test_rareDayAndWeekdayCombinationIsFound():
    """29 February on a Monday (AND via dayOfWeek) is found decades away."""
    schedule = makeSchedule(dayOfMonth=(29,), month=(2,), dayOfWeek=(0,))
    result = nextCallTime(schedule, at(BERLIN, 2017, 1, 1), BERLIN)
    assert wall(result) == '2044-02-29T00:00:00+01:00'


def test_thirtiethOfFebruaryIsRefused():
    """dayOfMonth=(30, 31) with month=(2,) can never run and is refused."""
    with pytest.raises(ValueError, match='never run'):
        makeSchedule(dayOfMonth=(30, 31), month=(2,))
    assert makeSchedule(dayOfMonth=(30,), month=(2, 3)).month == (2, 3)


@pytest.mark.parametrize('field,value,message', [
    ('minute', 60, 'minute 60 is out of range 0-59'),
    ('minute', -1, 'minute -1 is out of range 0-59'),
    ('hour', 24, 'hour 24 is out of range 0-23'),
    ('dayOfMonth', 0, 'dayOfMonth 0 is out of range 1-31'),
    ('dayOfMonth', 32, 'dayOfMonth 32 is out of range 1-31'),
    ('month', 0, 'month 0 is out of range 1-12'),
    ('month', 13, 'month 13 is out of range 1-12'),
    ('dayOfWeek', 7, 'dayOfWeek 7 is out of range 0-6 (0 = Monday)'),
])
def test_outOfRangeValuesAreRefusedNamingFieldAndValue(field, value, message):
    """Each field refuses values outside its range, saying which and why."""
    with pytest.raises(ValueError) as caught:
        makeSchedule(**{field: (1, value) if field != 'minute' else (value,)})
    assert str(caught.value) == message


@pytest.mark.parametrize('value', [(True,), (1.0,), ('5',), 5, '5', (None,)])
def test_nonIntegersAreRefused(value):
    """Fields take collections of real ints: no bools, floats or strings."""
    with pytest.raises(ValueError, match='minute'):
        makeSchedule(minute=value)


def test_fieldsAreSortedDeduplicatedTuples():
    """Any iterable of ints is stored sorted and deduplicated; None is
    empty."""
    schedule = makeSchedule(minute=iter([30, 0, 30]), hour={5, 1},
                            dayOfWeek=None)
    assert schedule == Schedule(minute=(0, 30), hour=(1, 5))


def test_impossibleScheduleBuiltDirectlyFailsClearly():
    """A Schedule built without makeSchedule that can never run raises
    ValueError from nextCallTime (after a bounded search), never hangs."""
    with pytest.raises(ValueError, match='never matches'):
        nextCallTime(Schedule(dayOfMonth=(31,), month=(2,)), 0, BERLIN)


def test_crontabTogetherWithFieldsIsRefused():
    """A crontab and legacy fields at once is ambiguous and refused."""
    with pytest.raises(ValueError, match='not both'):
        makeSchedule(minute=(5,), crontab='5 * * * *')


def test_makeScheduleDelegatesCrontab():
    """makeSchedule(crontab=...) gives what parseCrontab gives."""
    assert makeSchedule(crontab='0 3 * * sun') == parseCrontab('0 3 * * sun')


# -- crontab ------------------------------------------------------------------

def test_crontabSundayIsOurSix():
    """Crontab day 0 and 7 are Sunday, our 6; 1-5 are our 0-4."""
    assert parseCrontab('0 3 * * 0').dayOfWeek == (6,)
    assert parseCrontab('0 3 * * 7').dayOfWeek == (6,)
    assert parseCrontab('0 3 * * sun').dayOfWeek == (6,)
    assert parseCrontab('0 3 * * MON-fri').dayOfWeek == (0, 1, 2, 3, 4)
    run = nextCallTime(parseCrontab('0 3 * * 0'), at(BERLIN, 2024, 5, 15),
                       BERLIN)
    assert wall(run) == '2024-05-19T03:00:00+02:00'  # a Sunday


def test_crontabFields():
    """'*' is unconstrained except the minute; text and flags are kept."""
    schedule = parseCrontab(' */20 3 * jan-mar * ')
    assert schedule == Schedule(
        minute=(0, 20, 40), hour=(3,), month=(1, 2, 3),
        crontab='*/20 3 * jan-mar *', dayOr=False, zeroSeconds=True)
    assert parseCrontab('* * * * *').minute == tuple(range(60))
    assert parseCrontab('@daily') == Schedule(
        minute=(0,), hour=(0,), crontab='@daily', zeroSeconds=True)


def test_crontabDayOrWhenBothDayFieldsAreRestricted():
    """'0 0 13 * fri' runs on every Friday and on every 13th (cron's OR)."""
    schedule = parseCrontab('0 0 13 * fri')
    assert schedule.dayOr
    found = runs(schedule, at(BERLIN, 2024, 1, 1), 4)
    assert [wall(t)[:10] for t in found] == [
        '2024-01-05', '2024-01-12', '2024-01-13', '2024-01-19']


def test_crontabDayAndWhenADayFieldStartsWithStar():
    """'0 0 */2 * fri' means odd days that are Fridays (Debian's rule)."""
    schedule = parseCrontab('0 0 */2 * fri')
    assert not schedule.dayOr
    found = runs(schedule, at(BERLIN, 2024, 1, 1), 3)
    assert [wall(t)[:10] for t in found] == [
        '2024-01-05', '2024-01-19', '2024-02-09']


@pytest.mark.parametrize('text', [
    '', 'x', '61 * * * *', '* * * * * *', '0 0 * * 8', '5-1 * * * *',
    '0 0 30 2 *', '0 0 L * *', '0 0 15W * *', '0 0 * * 5#3', '0 0 * * 5L',
    '0 0 ? * mon', 'H * * * *', 'R * * * *', '@reboot', '0 0 * * sunday',
    None, 5])
def test_invalidCrontabIsRefusedNamingIt(text):
    """Bad or unsupported crontab text raises ValueError quoting the text."""
    with pytest.raises(ValueError) as caught:
        parseCrontab(text)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize('zone', ['UTC', 'Europe/Berlin', 'America/New_York'])
def test_agreesWithCronsimIteration(zone):
    """Crontab runs match cronsim's own (Debian cron) evaluation."""
    tz = ZoneInfo(zone)
    texts = ['*/5 * * * 1-5', '0 3 * * sun', '30 2 * * *', '0 0 1,15 * mon',
             '*/15 9-17 * * *', '0 12 * jan,jul *', '0 0 */2 * mon',
             '7 */3 * * *', '59 23 31 * *', '0 0 * * 1/2', '15 1 1-7 * *']
    nows = [at(timezone.utc, 2024, m, d, h) + 1234
            for m, d, h in ((3, 31, 0), (10, 27, 0), (11, 3, 5), (3, 10, 6),
                            (2, 28, 23), (7, 15, 12))]
    for text in texts:
        for now in nows:
            expected = next(CronSim(text, datetime.fromtimestamp(now, tz)))
            assert nextCallTime(parseCrontab(text), now, tz) \
                == int(expected.timestamp()), (text, wall(now, tz))


# -- describe and localZone ---------------------------------------------------

@pytest.mark.parametrize('schedule,words', [
    (makeSchedule(minute=(0, 10)), 'every hour at minute 0 and 10'),
    (parseCrontab('@hourly'), 'every hour at minute 0'),
    (parseCrontab('* * * * *'), 'every minute'),
    (parseCrontab('30 2 * * 1-5'), 'at 02:30 on Monday-Friday'),
    (parseCrontab('*/5 * * * *'), 'every 5 minutes'),
    (parseCrontab('*/15 9-17 * * *'), 'every 15 minutes during hours 9-17'),
    (parseCrontab('0 0 13 * fri'),
     'at 00:00 on day 13 of the month or on Friday'),
    (makeSchedule(hour=(2, 13)),
     'in hours 2 and 13 at the minute it was scheduled'),
    (makeSchedule(month=(1, 5, 12)), 'once a month on the day and at the '
     'time it was scheduled in January, May and December'),
    (makeSchedule(), 'every minute'),
])
def test_describe(schedule, words):
    """describe() puts the schedule in a few plain words."""
    assert describe(schedule) == words


@needsSystemZoneinfo
def test_localZoneFromTZ():
    """TZ names the zone, with or without ':', or as a file path."""
    assert localZone(environ={'TZ': 'Europe/Berlin'}) == BERLIN
    assert localZone(environ={'TZ': ':Asia/Tokyo'}) == ZoneInfo('Asia/Tokyo')
    zone = localZone(environ={'TZ': f'{ZONEINFO}/America/New_York'})
    assert isinstance(zone, ZoneInfo) and str(zone) == 'America/New_York'


@needsSystemZoneinfo
def test_localZoneFallsBackToLocaltimeThenUTC(tmp_path):
    """A bad TZ falls back to /etc/localtime, an unreadable one to UTC;
    each result is a real zone, never a fixed offset."""
    link = tmp_path / 'localtime'
    link.symlink_to(f'{ZONEINFO}/Europe/Berlin')
    zone = localZone(environ={'TZ': 'Not/AZone'}, localtime=str(link))
    assert zone == BERLIN
    copy = tmp_path / 'copied'
    copy.write_bytes(link.read_bytes())
    zone = localZone(environ={}, localtime=str(copy))
    assert zone.utcoffset(datetime(2024, 7, 1)) == timedelta(hours=2)
    assert zone.utcoffset(datetime(2024, 1, 1)) == timedelta(hours=1)
    zone = localZone(environ={}, localtime=str(tmp_path / 'missing'))
    assert zone == ZoneInfo('UTC')


# -- the property: every result matches, and nothing earlier does -------------

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
