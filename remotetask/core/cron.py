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

Crontab text is parsed by cronsim, which follows Debian's cron, and so is its
day rule: when neither day field starts with ``*``, either may match (dayOr).
"""

import calendar
import math
import os
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from itertools import groupby
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from remotetask.core.bounds import MAX_CRONTAB

__all__ = ['Schedule', 'makeSchedule', 'parseCrontab', 'nextCallTime',
           'describe', 'localZone']

_RANGES = {'minute': (0, 59), 'hour': (0, 23), 'dayOfMonth': (1, 31),
           'month': (1, 12), 'dayOfWeek': (0, 6)}
_LONGEST = (None, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_DAY_NAMES = ('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday',
              'Saturday', 'Sunday')
_MONTH_NAMES = (None, 'January', 'February', 'March', 'April', 'May', 'June',
                'July', 'August', 'September', 'October', 'November',
                'December')  # not calendar.month_name: that follows the locale
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
        named = [name for name, values in fields.items() if values]
        if named:
            raise ValueError('give either a crontab or fields, not both '
                             f'(crontab {crontab!r} with {", ".join(named)})')
        return parseCrontab(crontab)
    fields = {name: _normalise(name, values)
              for name, values in fields.items()}
    if fields['dayOfMonth'] and fields['month']:
        longest = max(_LONGEST[m] for m in fields['month'])
        if fields['dayOfMonth'][0] > longest:
            raise ValueError(
                f'dayOfMonth {_join(map(str, fields["dayOfMonth"]))} cannot '
                f'occur in month {_join(map(str, fields["month"]))} (at most '
                f'{longest} days), so this schedule would never run')
    return Schedule(**fields)


def _normalise(name, values):
    if values is None:
        return ()
    if isinstance(values, (str, bytes)) or not hasattr(values, '__iter__'):
        raise ValueError(f'{name} must be a collection of integers such as '
                         f'(0, 30), not {values!r}')
    low, high = _RANGES[name]
    values = list(values)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f'{name} {value!r} is not an integer')
        if not low <= value <= high:
            note = ' (0 = Monday)' if name == 'dayOfWeek' else ''
            raise ValueError(
                f'{name} {value} is out of range {low}-{high}{note}')
    return tuple(sorted(set(map(int, values))))


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
    if len(text) > MAX_CRONTAB:
        raise ValueError(f'crontab must be at most {MAX_CRONTAB} characters, '
                         f'not {len(text)}')
    line = _ALIASES.get(text.strip().lower(), text)
    if line.strip().startswith('@'):
        raise ValueError(f'crontab {text!r}: unknown shortcut; known are '
                         f'{", ".join(_ALIASES)}')
    parts = line.split()
    if len(parts) != 5:
        raise ValueError(f'crontab {text!r} has {len(parts)} field(s), not 5: '
                         'minute hour day-of-month month day-of-week')
    for name, part in zip(_CRON_FIELDS, parts, strict=True):
        words = ''.join(c if c.isalpha() else ' ' for c in part).split()
        for word in [c for c in '#?' if c in part] + words:
            if word.upper() not in _NAMES.get(name, ()):
                raise ValueError(
                    f'crontab {text!r}: {word!r} in {name} {part!r} is not '
                    'supported; use numbers, * , - / and, for month and day '
                    'of week, English three-letter names (no L W # ? H R)')
    try:
        parsed = CronSim(line, datetime(2000, 1, 1))
    except CronSimError as e:
        raise ValueError(f'crontab {text!r} is not valid: '
                         f'{str(e).lower()}') from None
    # cronsim's parsed sets are attributes its README does not list; the
    # crontab tests here (one against cronsim's own iteration) pin them.
    weekdays = {(day - 1) % 7 for day in parsed.weekdays}  # cron: 0, 7 = Sun
    sets = (parsed.minutes, parsed.hours, parsed.days, parsed.months, weekdays)
    fields = {}
    for name, part, values in zip(_CRON_FIELDS, parts, sets, strict=True):
        low, high = _RANGES[name]
        star = part.startswith('*') and len(values) == high - low + 1
        fields[name] = () if star and name != 'minute' else tuple(
            sorted(values))
    return Schedule(crontab=text.strip(), dayOr=not parsed.day_and,
                    zeroSeconds=True, **fields)


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


def describeRuns(schedule: Schedule, delay=None, skipMissed=False) -> str:
    """When a cron or delayed job runs, in words for a person: the
    dashboard's and the command line's."""
    words = (describe(schedule) if delay is None else
             f'once, {delay:g} s after it was first seen')
    return words + ('; missed runs are skipped' if skipMissed else '')


def describe(schedule: Schedule) -> str:
    """The schedule in a few words, for a dashboard."""
    minutes, hours = schedule.minute, schedule.hour
    days, weekdays = schedule.dayOfMonth, schedule.dayOfWeek
    if minutes and hours and len(minutes) * len(hours) <= 4:
        words = ['at ' + _join(f'{h:02}:{m:02}' for h in hours
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
        names = _runs(weekdays, _DAY_NAMES)
        if not days:
            words.append('on ' + names)
        elif schedule.dayOr:
            words.append('or on ' + names)
        else:
            words.append('if it is a ' + names.replace(' and ', ' or '))
    if schedule.month:
        words.append('in ' + _runs(schedule.month, _MONTH_NAMES))
    return ' '.join(words)


def _hours(hours):
    return f'hour{"s" * (len(hours) > 1)} {_runs(hours)}'


def _runs(values, names=None):
    """'1, 3-5 and 9': runs of three or more collapse to a range."""
    label = names.__getitem__ if names else str
    groups = [[value for _, value in run] for _, run in groupby(
        enumerate(values), lambda pair: pair[1] - pair[0])]
    return _join(text for group in groups for text in (
        [f'{label(group[0])}-{label(group[-1])}'] if len(group) >= 3
        else map(label, group)))


def _join(texts):
    *rest, last = texts
    return f'{", ".join(rest)} and {last}' if rest else last


def localZone(*, environ=None, localtime='/etc/localtime') -> tzinfo:
    """The process's zone, DST-aware (a fixed offset is wrong half the year).

    TZ when it names a zone (':Europe/Berlin' and paths too), else
    /etc/localtime, else UTC. Tests pass ``environ`` and ``localtime``.
    """
    environ = os.environ if environ is None else environ
    name = environ.get('TZ', '').lstrip(':')
    for source, isPath in ([(name, name.startswith('/'))] if name else []) \
            + [(localtime, True)]:
        try:
            return _zoneFromFile(source) if isPath else ZoneInfo(source)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    try:
        return ZoneInfo('UTC')
    except ZoneInfoNotFoundError:  # no tz database at all
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
