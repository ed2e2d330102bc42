"""The zone cron schedules are read in when the operator names none: the
process's own, DST-aware. The only part of cron that reads the
environment; ``nextCallTime`` is given its zone."""

import os
from datetime import timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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
