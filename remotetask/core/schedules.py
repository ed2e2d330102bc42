"""Cron schedules: what a recurring job's schedule is, checked when it is
made, from fields or from crontab text.

Crontab text is parsed by cronsim, which follows Debian's cron, and so is its
day rule: when neither day field starts with ``*``, either may match (dayOr).
Forms a ``Schedule`` cannot hold are refused, never approximated. When a
schedule runs next is ``remotetask.core.cron``'s.
"""

from dataclasses import dataclass
from datetime import datetime

from cronsim import CronSim, CronSimError

from remotetask.core.bounds import MAX_CRONTAB
from remotetask.core.cronwords import DAY_NAMES, MONTH_NAMES, join

_RANGES = {'minute': (0, 59), 'hour': (0, 23), 'dayOfMonth': (1, 31),
           'month': (1, 12), 'dayOfWeek': (0, 6)}
_LONGEST = (None, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


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
                f'dayOfMonth {join(map(str, fields["dayOfMonth"]))} cannot '
                f'occur in month {join(map(str, fields["month"]))} (at most '
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
_NAMES = {'month': {m[:3].upper() for m in MONTH_NAMES[1:]},
          'dayOfWeek': {d[:3].upper() for d in DAY_NAMES}}


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
