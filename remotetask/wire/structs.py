"""Jobs as XML-RPC structs."""

import datetime

from remotetask.wire.checks import SCHEDULE_FIELDS


def iso(epoch):
    """``epoch`` seconds as ISO 8601 in UTC, or None: how both faces
    (XML-RPC and the JSON view) write a time given as a number."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(
        epoch, datetime.timezone.utc).isoformat()


def _datetime(epoch):
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch)


def _iso(moment):
    if moment is None:
        return None
    return moment.astimezone(datetime.timezone.utc).isoformat()


def _timed(entry):
    """A progress report or an event, its ``at`` an ISO 8601 string in
    UTC (None stays None)."""
    return None if entry is None else dict(entry, at=_iso(entry['at']))


def _attempt(entry):
    """A failed attempt of ``history``, its times ISO 8601 strings in UTC
    as every other time of the struct (the store keeps epoch seconds)."""
    return {name: _iso(_datetime(value)) if name in ('started', 'completed')
            and isinstance(value, (int, float)) else value
            for name, value in entry.items()}


def jobStruct(job):
    """A job as an XML-RPC struct (times as ISO 8601 strings in UTC).

    A member with no value (no output yet, no error, not a cron job, ...)
    is left out rather than sent as ``<nil/>``: that is how XML-RPC says
    "absent", and clients without the nil extension (Apache XML-RPC,
    Frontier, Ruby's and aXMLRPC's defaults) could not read the answer.
    """
    struct = dict(
        id=job.id, task=job.task, status=str(job.status), input=job.input,
        output=job.output, error=job.error, traceback=job.traceback,
        created=_iso(job.created), started=_iso(job.started),
        completed=_iso(job.completed), attempts=job.attempts,
        priority=job.priority, key=job.key, maxAttempts=job.maxAttempts,
        server=job.server, history=[_attempt(entry) for entry in
                                    job.history], schedule=None,
        nextRun=_iso(job.scheduledFor if hasattr(job, 'scheduledFor')
                     else _datetime(job.due)),
        progress=_timed(job.progress), notify=job.notify, owner=job.owner,
        events=[_timed(event) for event in job.events])
    if hasattr(job, 'timeOfNextCall'):
        schedule = {name: list(getattr(job, name)) for name in
                    SCHEDULE_FIELDS if getattr(job, name)}
        if job.crontab:
            schedule = dict(crontab=job.crontab)
        if job.delay is not None:
            schedule = dict(delay=job.delay)
        if job.misfire != 'once':
            schedule['misfire'] = job.misfire
        struct['schedule'] = schedule
        struct['missed'] = job.missed
    return {name: value for name, value in struct.items()
            if value is not None}
