"""Jobs as callers see them: snapshots of a store's rows.

A ``Job`` is read from the store when asked for and does not change
afterwards; ask the service again for fresh state. The one exception kept
for legacy code is ``CronJob.update()`` on a job obtained from a service,
which writes the new schedule through to the store (then call the
service's ``reschedule(id)``, as with z3c.taskqueue).
"""

import datetime
import functools
import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zope.interface import implementer

from remotetask.core import cron
from remotetask.core import codec
from remotetask.core.clock import systemClock
from remotetask.errors import InvalidArgument
from remotetask.core.interfaces import ICronJob, IJob
from remotetask.core.status import Status

_FIELDS = ('minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek')

#: The longest delay accepted: 100 years, far within every store's range.
MAX_DELAY = 100 * 366 * 86400

#: Misfire policies: when a cron job's due times passed while no server
#: ran it, run it once (ONCE, the default) or wait for the next (SKIP).
ONCE, SKIP = 'once', 'skip'


def zoneOf(zone):
    """The ``tzinfo`` a zone setting names: a ``tzinfo`` as it is, a zone
    name (``'UTC'``, ``'Europe/Berlin'``), or None for the process's local
    zone, read when asked (TZ, /etc/localtime) so that it follows them."""
    if zone is None:
        return cron.localZone()
    if isinstance(zone, str):
        return _namedZone(zone)
    return zone


@functools.lru_cache(maxsize=64)
def _namedZone(name):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name.upper() in ('UTC', 'Z'):
            return datetime.timezone.utc  # no zone database installed
        raise InvalidArgument(f'There is no time zone {name!r}.') from None


def _datetime(epoch):
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch)


@implementer(IJob)
class Job:
    """A request to run a task, and what came of it."""

    traceback = None
    history = ()
    missed = 0
    due = None
    started = None
    completed = None
    output = None
    error = None
    attempts = 0
    priority = 0
    key = None
    maxAttempts = None
    server = None
    progress = None
    events = ()
    notify = None
    #: Who added the job (issue 22); None: no one (an open server, or
    #: added before owners were recorded).
    owner = None

    def __init__(self, id, task, input, status=Status.QUEUED):
        self.id = id
        self.task = task
        self.input = input
        self.status = Status(status)
        self.created = datetime.datetime.now()

    def __repr__(self):
        return f'<{type(self).__name__} {self.id!r}>'

    def _load(self, row):
        self.output = codec.decode(row['output'])
        self.error = row['error']
        self.traceback = row['traceback']
        self.created = _datetime(row['created'])
        self.started = _datetime(row['started'])
        self.completed = _datetime(row['completed'])
        self.attempts = row['attempts']
        self.missed = row['missed']
        self.history = json.loads(row['history'] or '[]')
        self.due = row['due']
        self.priority = row['priority']
        self.key = row['key']
        self.maxAttempts = row['maxattempts']
        self.server = row['server']
        # The latest progress report and the events, their times made
        # datetimes as the job's own are.
        report = json.loads(row.get('progress') or 'null')
        self.progress = None if report is None else dict(
            report, at=_datetime(report.get('at')))
        self.events = [dict(event, at=_datetime(event.get('at')))
                       for event in json.loads(row.get('events') or '[]')]
        self.notify = row.get('notify')
        self.owner = row.get('addedby')


@implementer(ICronJob)
class CronJob(Job):
    """A job that runs at given minutes/hours/days, or once after a delay.

    The schedule follows lovely.remotetask: the finest constrained field
    sets the step and finer fields keep the values of ``now``; see
    ``remotetask.core.cron`` for the details and the DST policy. ``timezone``
    is a ``tzinfo`` or a zone name (``'UTC'`` reads the fields as the
    originals did); the process's local zone when None.
    """

    def __init__(self, id, task, input, minute=(), hour=(), dayOfMonth=(),
                 month=(), dayOfWeek=(), delay=None, crontab=None,
                 timezone=None, status=None, misfire=ONCE):
        self._store = None
        # What ``timeOfNextCall()`` reads now from: the service's clock.
        self._clock = systemClock
        self.timezone = timezone
        self.due = None
        if misfire not in (ONCE, SKIP):
            raise InvalidArgument(
                f"misfire must be '{ONCE}' or '{SKIP}', not {misfire!r}.")
        self.misfire = misfire
        self._setSchedule(minute, hour, dayOfMonth, month, dayOfWeek,
                          delay, crontab)
        if status is None:
            status = Status.DELAYED if self.delay else Status.CRONJOB
        super().__init__(id, task, input, status)

    def _setSchedule(self, minute, hour, dayOfMonth, month, dayOfWeek,
                     delay, crontab):
        if delay == 0:
            delay = None  # as the original: no delay at all
        if delay is not None:
            if (type(delay) not in (int, float) or not 0 < delay
                    <= MAX_DELAY):
                raise InvalidArgument(
                    f'delay must be a number of seconds from 0 to '
                    f'{MAX_DELAY} (100 years), not {delay!r:.40}.')
            if crontab or any((minute, hour, dayOfMonth, month, dayOfWeek)):
                raise InvalidArgument(
                    'Give either a delay or a schedule, not both.')
            self.schedule = None
        else:
            try:
                self.schedule = cron.makeSchedule(
                    minute=minute, hour=hour, dayOfMonth=dayOfMonth,
                    month=month, dayOfWeek=dayOfWeek, crontab=crontab)
            except InvalidArgument:
                raise
            except (ValueError, TypeError) as error:
                raise InvalidArgument(str(error)) from None
        self.delay = delay
        source = self.schedule or cron.Schedule()
        for name in _FIELDS:
            setattr(self, name, getattr(source, name))
        self.crontab = source.crontab

    def update(self, minute=(), hour=(), dayOfMonth=(), month=(),
               dayOfWeek=(), delay=None, crontab=None):
        self._setSchedule(minute, hour, dayOfMonth, month, dayOfWeek,
                          delay, crontab)
        if self._store is not None:
            self._store.setSchedule(self.id, encodeSchedule(self))

    @property
    def scheduledFor(self):
        return _datetime(self.due)

    def timeOfNextCall(self, now=None):
        if now is None:
            now = self._clock.seconds()
        if self.delay is not None:
            return int(now + self.delay)
        return cron.nextCallTime(self.schedule, now, zoneOf(self.timezone))


def encodeSchedule(job):
    """The schedule of ``job`` as the JSON text stores keep."""
    if job.delay is not None:
        schedule = {'delay': job.delay}
    elif job.crontab:
        schedule = {'crontab': job.crontab}
    else:
        schedule = {name: list(getattr(job, name)) for name in _FIELDS
                    if getattr(job, name)}
    if job.misfire != ONCE:
        schedule['misfire'] = job.misfire
    return json.dumps(schedule)


def fromRow(row, store=None, timezone=None, clock=None):
    """Build the Job or CronJob a store row describes (a CronJob's
    ``timeOfNextCall()`` reads ``clock``, the system's when None)."""
    schedule = row['schedule']
    if schedule is None:
        job = Job(row['id'], row['task'], codec.decode(row['input']),
                  row['status'])
    else:
        job = CronJob(row['id'], row['task'], codec.decode(row['input']),
                      timezone=timezone, status=row['status'],
                      **json.loads(schedule))
        job._store = store
        job._clock = clock or systemClock
        job.due = row['due']
    job._load(row)
    return job
