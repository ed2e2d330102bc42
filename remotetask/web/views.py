"""What the JSON view shows: store rows made into plain JSON values.

Every function here runs in a store thread (it reads the store, or works
on what was read), never on the reactor thread, and returns values that
``json.dumps`` takes as they are. Times are ISO 8601 strings in UTC, as on
the XML-RPC side; inputs and outputs are the JSON the store keeps, with
bytes and datetimes as the store tags them (``{"$bytes": base64}``,
``{"$datetime": iso}``).
"""

import json

from remotetask.core import cron
from remotetask.core import job as jobs
from remotetask.core.status import CRONJOB, DELAYED, PROCESSING, QUEUED, Status
from remotetask.wire.structs import iso

#: How many cron and delayed jobs the cron view lists, each.
CRON_LIMIT = 1000
#: How many running jobs the workers view lists.
RUNNING_LIMIT = 200


def stored(text):
    """The JSON value a store keeps as ``text``, or None."""
    return None if text is None else json.loads(text)


def timed(entry):
    """A progress report or an event (a dict with ``at`` in epoch
    seconds), its time as ISO 8601; None stays None."""
    return None if entry is None else dict(entry, at=iso(entry['at']))


def pageRow(row):
    """A job of a list: ``IJobStore.newest``'s preview row."""
    return dict(
        id=row['id'], task=row['task'], status=row['status'],
        created=iso(row['created']), started=iso(row['started']),
        completed=iso(row['completed']), due=iso(row['due']),
        attempts=row['attempts'], input=row['input'], error=row['error'],
        progress=timed(stored(row['progress'])))


def describeSchedule(job):
    """A cron or delayed job's schedule in words, for a person."""
    return cron.describeRuns(job.schedule, job.delay,
                             job.misfire == jobs.SKIP)


def _attempt(entry):
    return dict(entry, started=iso(entry.get('started')),
                completed=iso(entry.get('completed')))


def zoneName(timezone):
    """The name of a zone as browsers know it (``Europe/Berlin``, UTC)."""
    return getattr(timezone, 'key', None) or str(timezone)


def jobDetail(row, timezone, now):
    """Everything about one job (``row`` from ``IJobStore.get``): with
    its progress, its events (oldest first), the URL told of its end, and
    the zone its schedule is read in."""
    detail = dict(
        id=row['id'], task=row['task'], status=row['status'],
        input=stored(row['input']), output=stored(row['output']),
        error=row['error'], traceback=row['traceback'],
        created=iso(row['created']), started=iso(row['started']),
        completed=iso(row['completed']), due=iso(row['due']),
        attempts=row['attempts'], missed=row['missed'],
        priority=row['priority'], key=row['key'],
        maxAttempts=row['maxattempts'], server=row['server'],
        history=[_attempt(entry) for entry in stored(row['history']) or []],
        schedule=None, crontab=None, nextRun=None,
        progress=timed(stored(row['progress'])), notify=row['notify'],
        owner=row.get('addedby'),
        events=[timed(event) for event in stored(row['events']) or []],
        timezone=zoneName(timezone))
    if row['schedule'] is not None:
        job = jobs.fromRow(row, timezone=timezone)
        detail.update(schedule=describeSchedule(job), crontab=job.crontab)
        if row['status'] in (CRONJOB, DELAYED):
            detail['nextRun'] = iso(nextRun(job, row, now))
    return detail


def nextRun(job, row, now):
    """When a scheduled job runs next: its due time, or (not yet seen by a
    claim, which happens within a second) when it would be."""
    if row['due'] is not None:
        return row['due']
    return job.timeOfNextCall(now)


def cronRow(row, timezone, now):
    """A cron or delayed job in the cron view: schedule in words, next and
    last run, how the last run ended, missed runs."""
    job = jobs.fromRow(row, timezone=timezone)
    return dict(
        id=row['id'], task=row['task'], status=row['status'],
        schedule=describeSchedule(job), crontab=job.crontab,
        nextRun=iso(nextRun(job, row, now)), lastStarted=iso(row['started']),
        lastCompleted=iso(row['completed']), lastError=row['error'],
        running=row['token'] is not None, runs=row['attempts'],
        missed=row['missed'])


def cronView(service, now):
    """Every cron and delayed job (up to ``CRON_LIMIT`` of each), soonest
    first."""
    rows = []
    for status in (CRONJOB, DELAYED):
        rows += [cronRow(row, service.timezone, now) for row in
                 service.findRows(status=status, limit=CRON_LIMIT)]
    rows.sort(key=lambda row: (row['nextRun'] or '', row['id']))
    return dict(jobs=rows, timezone=zoneName(service.timezone))


def unserved(counts, served):
    """The tasks with queued jobs that no server alive serves (their jobs
    wait until one does), sorted: from ``counts`` and the ``served``
    task names."""
    return sorted({row['task'] for row in counts
                   if row['status'] == QUEUED and row['count']
                   and row['task'] not in served})


def summary(reads, routing, now):
    """Counts by status and by task, the queue's depth, the wait of the
    oldest queued job, and the tasks whose queued jobs no server serves
    (``reads``: a ``JobReads``; ``routing``: a ``TaskRouting``)."""
    counts = reads.counts()
    byStatus = {str(status): 0 for status in Status}
    byTask = {}
    for row in counts:
        byStatus[row['status']] = byStatus.get(row['status'], 0) + row['count']
        byTask[row['task']] = byTask.get(row['task'], 0) + row['count']
    since = reads.oldestQueued(now)
    return dict(
        counts=[dict(row) for row in counts], byStatus=byStatus,
        byTask=byTask, total=sum(byStatus.values()),
        queueDepth=byStatus[str(QUEUED)],
        oldestQueuedAge=None if since is None else max(0.0, now - since),
        unserved=unserved(counts, routing.describeTasks(now)),
        now=iso(now))


def limitText(limit):
    """A task's limits for a person: ``2 at once, 10/m``."""
    parts = []
    if limit.concurrency is not None:
        parts.append(f'{limit.concurrency} at once')
    if limit.rate is not None:
        parts.append(str(limit.rate))
    return ', '.join(parts)


#: The chart's spans: how far back each looks, in minutes.
CHART_SPANS = {'hour': 60, 'day': 1440}


def chart(service, span, now):
    """The dashboard's chart: per minute of the last hour or day, how
    many runs ended well (finished) and badly (failed), and the queue's
    depth sampled then (None where no server sampled it). Minutes without
    a row count zero. Read from the store's per-minute counters (at most
    a day of rows per server), never from the jobs."""
    minutes = CHART_SPANS[span]
    last = int(now // 60)
    first = last - minutes + 1
    found = {row['minute']: row for row in service.minutes(first)}
    points = []
    for minute in range(first, last + 1):
        row = found.get(minute)
        points.append(dict(
            minute=iso(minute * 60),
            finished=0 if row is None else row['finished'],
            failed=0 if row is None else row['failed'],
            queued=None if row is None else row['queued']))
    return dict(span=span, minutes=points, now=iso(now))


def workersView(service, routing, local, now):
    """This server's workers (``local``, read on the reactor thread), the
    tasks it serves and their limits, the jobs running anywhere, and, on a
    shared store, every server sharing it with the age of its heartbeat
    and the tasks it serves. ``service``: the reads of the jobs the
    caller may see; ``routing``: a ``TaskRouting``."""
    running, _ = service.newest(status=PROCESSING, limit=RUNNING_LIMIT)
    here = set(local['running'])
    servers = service.servers()
    if servers is not None:
        servers = [dict(id=row['id'], heartbeat=iso(row['heartbeat']),
                        age=max(0.0, now - row['heartbeat']),
                        running=row['running'], this=row['id'] == local['id'],
                        tasks=sorted(row['tasks']))
                   for row in servers]
    return dict(
        server=dict(id=local['id'], size=local['size'], busy=local['busy'],
                    free=local['size'] - local['busy'],
                    utilisation=local['busy'] / local['size']
                    if local['size'] else 0.0,
                    tasks=sorted(routing.getAvailableTasks()),
                    limits={name: limitText(limit) for name, limit in
                            sorted(routing.taskLimits().items())}),
        running=[dict(pageRow(row), here=row['id'] in here)
                 for row in running],
        servers=servers, now=iso(now))
