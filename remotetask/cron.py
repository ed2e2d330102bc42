"""Cron schedules: when does a recurring job run next?

Pure on purpose: a schedule, an instant and a zone go in, an instant comes out.
No clock is read and nothing is stored, so the runner and the tests can drive
time themselves. The one exception, ``localZone``, reads the environment and
is kept apart; ``nextCallTime`` never calls it.

The search follows the legacy ``CronJob.timeOfNextCall``: step from ``now`` by
the unit of the finest constrained field (minute, else hour, else day, else
calendar month; no field at all means every minute) and take the first step at
which every constrained field matches. Fields finer than the step keep the
values of ``now``, seconds too unless ``zeroSeconds`` (crontab jobs run at
second 0). A month step keeps now's day of month; in a month too short for it
the job runs on that month's last day (31 January -> 29 February).

Unlike the legacy code, which added seconds in UTC, the steps are taken on the
wall clock of the given zone, so that "daily at 09:00" stays at 09:00 when
daylight saving time begins or ends. Around those changes (as cronie does):

* A fixed-time job (its hour is constrained, or it steps by a day or more and
  keeps now's wall time) whose wall time falls in a skipped hour runs at the
  first instant after the gap: Europe/Berlin 2024-03-31 02:30 -> 03:00 CEST.
* Such a job runs once in a repeated hour: at the earliest copy of its wall
  time that is after ``now``. Wall times are compared with now's wall time, so
  a run from the first copy is not repeated in the second.
* A job whose hour is unconstrained and which steps by the minute ("every hour
  at minute 0", "every 5 minutes") keeps its rhythm in elapsed time: it runs in
  both copies of a repeated hour and simply has no run in a skipped one.

Crontab text is parsed by cronsim (which follows Debian's cron) and stored in
the same fields. Debian's day rule is kept: when neither day field starts with
``*``, a day matching either one is enough (``dayOr``).
"""

import calendar
import math
import os
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

__all__ = ['Schedule', 'makeSchedule', 'parseCrontab', 'nextCallTime',
           'describe', 'localZone']

_RANGES = {'minute': (0, 59), 'hour': (0, 23), 'dayOfMonth': (1, 31),
           'month': (1, 12), 'dayOfWeek': (0, 6)}
_LONGEST = (None, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_DAY_NAMES = ('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday',
              'Saturday', 'Sunday')
_MONTH_NAMES = (None,) + tuple(calendar.month_name[1:])
_ONE_DAY = timedelta(days=1)
_MINUTE, _HOUR, _DAY, _MONTH = 'minute', 'hour', 'day', 'month'


@dataclass(frozen=True)
class Schedule:
    """When a cron job runs; build it with `makeSchedule` or `parseCrontab`.

    An empty field is unconstrained. Day of week counts from 0 = Monday, as
    the legacy API (and ``time.struct_time.tm_wday``) did.
    """
    minute: tuple[int, ...] = ()
    hour: tuple[int, ...] = ()
    dayOfMonth: tuple[int, ...] = ()
    month: tuple[int, ...] = ()
    dayOfWeek: tuple[int, ...] = ()
    crontab: str | None = None
    dayOr: bool = False
    zeroSeconds: bool = False


def makeSchedule(minute=(), hour=(), dayOfMonth=(), month=(), dayOfWeek=(),
                 crontab=None) -> Schedule:
    """Check and normalise a schedule, so a bad one fails when it is added.

    Fields take any iterable of ints (None counts as empty); they are sorted
    and deduplicated. A schedule that can never run (30 February) is refused
    here rather than searched for forever; 29 February is fine.
    """
    fields = {'minute': minute, 'hour': hour, 'dayOfMonth': dayOfMonth,
              'month': month, 'dayOfWeek': dayOfWeek}
    if crontab is not None:
        given = [name for name, values in fields.items() if values]
        if given:
            raise ValueError('give either a crontab or fields, not both '
                             f'(crontab {crontab!r} with {", ".join(given)})')
        return parseCrontab(crontab)
    values = {name: _normalise(name, v) for name, v in fields.items()}
    _checkPossible(values['dayOfMonth'], values['month'])
    return Schedule(**values)


def _normalise(name, values):
    if values is None:
        return ()
    if isinstance(values, (str, bytes)) or not hasattr(values, '__iter__'):
        raise ValueError(f'{name} must be a collection of integers such as '
                         f'(0, 30), not {values!r}')
    low, high = _RANGES[name]
    found = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f'{name} {value!r} is not an integer')
        if not low <= value <= high:
            note = ' (0 = Monday)' if name == 'dayOfWeek' else ''
            raise ValueError(
                f'{name} {value} is out of range {low}-{high}{note}')
        found.add(int(value))
    return tuple(sorted(found))


def _checkPossible(dayOfMonth, month):
    """Refuse days of month that none of the months has (February: 29)."""
    if dayOfMonth and month:
        longest = max(_LONGEST[m] for m in month)
        if dayOfMonth[0] > longest:
            raise ValueError(
                f'dayOfMonth {_join(map(str, dayOfMonth))} never occurs in '
                f'month {_join(map(str, month))}: the longest has {longest} '
                'days, so this schedule would never run')


_ALIASES = {'@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *',
            '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
            '@daily': '0 0 * * *', '@midnight': '0 0 * * *',
            '@hourly': '0 * * * *'}
_CRON_FIELDS = ('minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek')
_NAMES = {'month': {m[:3].upper() for m in _MONTH_NAMES[1:]},
          'dayOfWeek': {d[:3].upper() for d in _DAY_NAMES}}


def parseCrontab(text: str) -> Schedule:
    """Read a standard 5-field crontab line (names and @daily etc. allowed).

    Forms our fields cannot hold (L, W, #, ?, H, a seconds field) are refused
    rather than approximated, so a job never runs at a surprising time.
    """
    if not isinstance(text, str):
        raise ValueError(f'crontab must be text, not {text!r}')
    line = _ALIASES.get(text.strip().lower(), text)
    if line.strip().startswith('@'):
        raise ValueError(f'crontab {text!r}: unknown shortcut; known are '
                         f'{", ".join(_ALIASES)}')
    parts = line.split()
    if len(parts) != 5:
        raise ValueError(f'crontab {text!r} has {len(parts)} fields; it needs '
                         '5: minute hour day-of-month month day-of-week')
    for name, part in zip(_CRON_FIELDS, parts):
        _checkDialect(text, name, part.upper())
    try:
        parsed = CronSim(line, datetime(2000, 1, 1))
    except CronSimError as e:
        raise ValueError(f'crontab {text!r} is not valid: '
                         f'{str(e).lower()}') from None
    weekdays = {(day - 1) % 7 for day in parsed.weekdays}  # cron: 0, 7 = Sun
    sets = (parsed.minutes, parsed.hours, parsed.days, parsed.months, weekdays)
    fields = {}
    for name, part, values in zip(_CRON_FIELDS, parts, sets):
        low, high = _RANGES[name]
        wholeStar = part.startswith('*') and len(values) == high - low + 1
        fields[name] = () if wholeStar and name != 'minute' else tuple(
            sorted(values))
    return Schedule(crontab=text.strip(), dayOr=not parsed.day_and,
                    zeroSeconds=True, **fields)


def _checkDialect(text, name, part):
    for mark, meaning in (('#', 'nth weekday of the month'),
                          ('?', 'no specific value; write * instead')):
        if mark in part:
            raise ValueError(f'crontab {text!r}: {name} {part!r} uses '
                             f'{mark!r} ({meaning}), which is not supported')
    words = ''.join(c if c.isalpha() else ' ' for c in part).split()
    for word in words:
        if word not in _NAMES.get(name, ()):
            raise ValueError(
                f'crontab {text!r}: {name} {part!r} contains {word!r}; only '
                'numbers, * , - / and (for month and day of week) English '
                'three-letter names are supported, not L, W, H or R forms')


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
    if schedule.minute:
        return _MINUTE
    if schedule.hour:
        return _HOUR
    if schedule.dayOfMonth or schedule.dayOfWeek:
        return _DAY
    return _MONTH if schedule.month else _MINUTE


def _wallTime(instant, tz):
    return datetime.fromtimestamp(instant, tz).replace(tzinfo=None, fold=0)


def _dateMatches(schedule, day):
    if schedule.month and day.month not in schedule.month:
        return False
    byDate = day.day in schedule.dayOfMonth
    byWeekday = day.weekday() in schedule.dayOfWeek
    if schedule.dayOr and schedule.dayOfMonth and schedule.dayOfWeek:
        return byDate or byWeekday
    return ((byDate or not schedule.dayOfMonth)
            and (byWeekday or not schedule.dayOfWeek))


def _nextDate(schedule, start):
    """The first matching date on or after ``start``.

    The Gregorian calendar repeats every 400 years, so a schedule with no date
    in 401 years has none at all.
    """
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
        clock = _nextClock(hours, minutes, base.hour, base.minute)
        if clock:
            return datetime.combine(day, time(*clock, base.second))
    day = _nextDate(schedule, day + _ONE_DAY)
    return datetime.combine(day, time(hours[0], minutes[0], base.second))


def _nextClock(hours, minutes, hour, minute):
    """The first (hour, minute) of the grid after hour:minute the same day."""
    for h in hours[bisect_left(hours, hour):]:
        if h > hour:
            return h, minutes[0]
        later = bisect_right(minutes, minute)
        if later < len(minutes):
            return h, minutes[later]
    return None


def _instantsOf(wall, tz):
    """The instants showing ``wall`` on the clock: none, one, or two."""
    found = []
    for fold in (0, 1):
        instant = int(wall.replace(tzinfo=tz, fold=fold).timestamp())
        if instant not in found and _wallTime(instant, tz) == wall:
            found.append(instant)
    return sorted(found)


def _gapEnd(wall, tz):
    """The first instant after the gap that swallowed ``wall``."""
    low, high = sorted(int(wall.replace(tzinfo=tz, fold=fold).timestamp())
                       for fold in (0, 1))
    while high - low > 1:
        middle = (low + high) // 2
        if _wallTime(middle, tz) > wall:
            high = middle
        else:
            low = middle
    return high


def _resolve(wall, after, tz):
    """The instant a fixed-time candidate runs at, or None if all are past."""
    instants = _instantsOf(wall, tz) or [_gapEnd(wall, tz)]
    return next((i for i in instants if i > after), None)


def _startOfDay(day, tz):
    midnight = datetime.combine(day, time())
    return (_instantsOf(midnight, tz) or [_gapEnd(midnight, tz)])[0]


def _nextElapsed(schedule, after, tz):
    """Walk whole minutes of elapsed time, jumping to candidate minutes/days."""
    grid = after - _wallTime(after, tz).second if schedule.zeroSeconds \
        else after
    minutes, instant = schedule.minute, grid + 60
    while True:
        local = datetime.fromtimestamp(instant, tz)
        if not _dateMatches(schedule, local.date()):
            start = _startOfDay(
                _nextDate(schedule, local.date() + _ONE_DAY), tz)
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


def describe(schedule: Schedule) -> str:
    """The schedule in a few words, for a dashboard."""
    minutes, hours = schedule.minute, schedule.hour
    if minutes and hours and len(minutes) * len(hours) <= 4:
        words = ['at ' + _join(f'{h:02}:{m:02}' for h in hours
                               for m in minutes)]
    elif minutes:
        words = [_describeMinutes(minutes, bool(hours))]
        if hours:
            words.append(('during hour ' if len(hours) == 1 else
                          'during hours ') + _runs(hours))
    elif hours:
        words = [f'in hour{"s" * (len(hours) > 1)} {_runs(hours)} at the '
                 'minute it was scheduled']
    elif schedule.dayOfMonth or schedule.dayOfWeek:
        words = ['once a day at the time it was scheduled']
    elif schedule.month:
        words = ['once a month on the day and at the time it was scheduled']
    else:
        words = ['every minute']
    days, weekdays = schedule.dayOfMonth, schedule.dayOfWeek
    if days:
        words.append(f'on day {_runs(days)} of the month')
    if weekdays:
        names = _runs(weekdays, _DAY_NAMES)
        words.append(('or on ' if schedule.dayOr else 'if it is a ') + names
                     if days else 'on ' + names)
    if schedule.month:
        words.append('in ' + _runs(schedule.month, _MONTH_NAMES))
    return ' '.join(words)


def _describeMinutes(minutes, hoursGiven):
    step = minutes[1] - minutes[0] if len(minutes) > 1 else 60
    if minutes == tuple(range(0, 60, step)) and step < 60:
        return 'every minute' if step == 1 else f'every {step} minutes'
    return f'{"at" if hoursGiven else "every hour at"} minute {_runs(minutes)}'


def _runs(values, names=None):
    """'1, 3-5 and 9': runs of three or more collapse to a range."""
    label = (lambda v: names[v]) if names else str
    groups = []
    for value in values:
        if groups and value == groups[-1][-1] + 1:
            groups[-1].append(value)
        else:
            groups.append([value])
    texts = []
    for group in groups:
        if len(group) >= 3:
            texts.append(f'{label(group[0])}-{label(group[-1])}')
        else:
            texts.extend(label(v) for v in group)
    return _join(texts)


def _join(texts):
    texts = list(texts)
    return texts[0] if len(texts) == 1 else \
        ', '.join(texts[:-1]) + ' and ' + texts[-1]


def localZone(*, environ=None, localtime='/etc/localtime') -> tzinfo:
    """The process's zone, DST-aware, for schedules given in local time.

    TZ wins when it names a zone (':Europe/Berlin' and file paths too), then
    /etc/localtime, then UTC. Never a fixed offset: that would be wrong for
    half the year. The keywords exist so tests need not patch the process.
    """
    environ = os.environ if environ is None else environ
    name = environ.get('TZ', '').lstrip(':')
    if name:
        try:
            return _zoneFromFile(name) if name.startswith('/') \
                else ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    try:
        return _zoneFromFile(localtime)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    try:
        return ZoneInfo('UTC')
    except ZoneInfoNotFoundError:
        return timezone.utc


def _zoneFromFile(path):
    """Prefer the zone's name (from the symlink) so it reads well in logs."""
    real = os.path.realpath(path)
    if '/zoneinfo/' in real:
        try:
            return ZoneInfo(real.split('/zoneinfo/', 1)[1])
        except (ZoneInfoNotFoundError, ValueError):
            pass
    with open(path, 'rb') as data:
        return ZoneInfo.from_file(data, key=os.path.basename(path))

