"""Tests for remotetask.core.cron: next run times, across daylight saving
time, far away, and for crontab schedules as cron itself runs them. The
search's property is tests/test_cron_property.py's; making a schedule,
tests/test_schedules.py's."""

import time
from datetime import datetime, timezone

import pytest
from cronsim import CronSim
from zoneinfo import ZoneInfo

from remotetask.core.cron import (
    Schedule, makeSchedule, nextCallTime, parseCrontab)

BERLIN = ZoneInfo('Europe/Berlin')
LORD_HOWE = ZoneInfo('Australia/Lord_Howe')
HOUR = 3600


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


def test_impossibleScheduleBuiltDirectlyFailsClearly():
    """A Schedule built without makeSchedule that can never run raises
    ValueError from nextCallTime (after a bounded search), never hangs."""
    with pytest.raises(ValueError, match='never matches'):
        nextCallTime(Schedule(dayOfMonth=(31,), month=(2,)), 0, BERLIN)


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
