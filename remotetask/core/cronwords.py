"""A cron or delayed job's schedule in words, for a person: what the
dashboard and the command line show."""

from itertools import groupby

DAY_NAMES = ('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday',
             'Saturday', 'Sunday')
MONTH_NAMES = (None, 'January', 'February', 'March', 'April', 'May', 'June',
               'July', 'August', 'September', 'October', 'November',
               'December')  # not calendar.month_name: that follows the locale


def describeRuns(schedule, delay=None, skipMissed=False) -> str:
    """When a cron or delayed job runs, in words for a person: the
    dashboard's and the command line's."""
    words = (describe(schedule) if delay is None else
             f'once, {delay:g} s after it was first seen')
    return words + ('; missed runs are skipped' if skipMissed else '')


def describe(schedule) -> str:
    """The schedule in a few words, for a dashboard."""
    minutes, hours = schedule.minute, schedule.hour
    days, weekdays = schedule.dayOfMonth, schedule.dayOfWeek
    if minutes and hours and len(minutes) * len(hours) <= 4:
        words = ['at ' + join(f'{h:02}:{m:02}' for h in hours
                              for m in minutes)]
    elif minutes:
        step = minutes[1] - minutes[0] if len(minutes) > 1 else 0
        if step and minutes == tuple(range(0, 60, step)):
            words = [f'every {step} minutes' if step > 1 else 'every minute']
        else:
            words = [f'{"at" if hours else "every hour at"} minute '
                     f'{_runs(minutes)}']
        if hours:
            words.append(f'during {_hours(hours)}')
    elif hours:
        words = [f'in {_hours(hours)} at the minute it was scheduled']
    elif days or weekdays:
        words = ['once a day at the time it was scheduled']
    elif schedule.month:
        words = ['once a month on the day and at the time it was scheduled']
    else:
        words = ['every minute']
    if days:
        words.append(f'on day {_runs(days)} of the month')
    if weekdays:
        names = _runs(weekdays, DAY_NAMES)
        if not days:
            words.append('on ' + names)
        elif schedule.dayOr:
            words.append('or on ' + names)
        else:
            words.append('if it is a ' + names.replace(' and ', ' or '))
    if schedule.month:
        words.append('in ' + _runs(schedule.month, MONTH_NAMES))
    return ' '.join(words)


def _hours(hours):
    return f'hour{"s" * (len(hours) > 1)} {_runs(hours)}'


def _runs(values, names=None):
    """'1, 3-5 and 9': runs of three or more collapse to a range."""
    label = names.__getitem__ if names else str
    groups = [[value for _, value in run] for _, run in groupby(
        enumerate(values), lambda pair: pair[1] - pair[0])]
    return join(text for group in groups for text in (
        [f'{label(group[0])}-{label(group[-1])}'] if len(group) >= 3
        else map(label, group)))


def join(texts):
    """'a, b and c': texts as a sentence lists them."""
    *rest, last = texts
    return f'{", ".join(rest)} and {last}' if rest else last
