"""Tests for remotetask.core.schedules and cronwords: a schedule made from
fields or crontab text, checked when it is made, and said in words."""

import pytest

from remotetask.core.cron import Schedule, describe, makeSchedule, parseCrontab


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


def test_crontabTogetherWithFieldsIsRefused():
    """A crontab and legacy fields at once is ambiguous and refused."""
    with pytest.raises(ValueError, match='not both'):
        makeSchedule(minute=(5,), crontab='5 * * * *')


def test_makeScheduleDelegatesCrontab():
    """makeSchedule(crontab=...) gives what parseCrontab gives."""
    assert makeSchedule(crontab='0 3 * * sun') == parseCrontab('0 3 * * sun')


def test_crontabFields():
    """'*' is unconstrained except the minute; text and flags are kept."""
    schedule = parseCrontab(' */20 3 * jan-mar * ')
    assert schedule == Schedule(
        minute=(0, 20, 40), hour=(3,), month=(1, 2, 3),
        crontab='*/20 3 * jan-mar *', dayOr=False, zeroSeconds=True)
    assert parseCrontab('* * * * *').minute == tuple(range(60))
    assert parseCrontab('@daily') == Schedule(
        minute=(0,), hour=(0,), crontab='@daily', zeroSeconds=True)


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
